//! Several processes on one SQLite file, and writers killed mid-load: no oversell,
//! nothing committed lost, nothing half-committed, the invariants intact.
//!
//! The test binary re-invokes itself as the writer processes: a test run with
//! `O2C_WRITER_FILE` set acts as a writer instead of a test.
#![cfg(feature = "sqlite")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::customer::{Address, NewCustomer, PaymentTerms};
use o2c::fulfilment::PickupCarrier;
use o2c::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Delivery, PlaceOrder};
use o2c::stock::{Location, LocationKind, StockError};
use o2c::store::sqlite::{Durability, SqliteOptions, SqliteStore};
use o2c::{Error, Oms, ReceiveStock};

type Shop = Oms<SqliteStore, PickupCarrier>;

const STOCK: i64 = 300;

fn open(path: &Path) -> Shop {
    open_with(path, Durability::Full)
}

fn open_with(path: &Path, durability: Durability) -> Shop {
    let options = SqliteOptions::default().with_durability(durability);
    let store = SqliteStore::open(path, options).unwrap();
    Oms::new(store, PickupCarrier::new())
}

fn sku() -> Sku {
    Sku::new("HOT").unwrap()
}
fn shop() -> LocationId {
    LocationId::new("SHOP").unwrap()
}

/// A fresh file with one SKU of `STOCK` units at one shop, and one customer per writer.
fn prepare(name: &str, writers: usize) -> (PathBuf, Vec<CustomerId>) {
    let path = std::env::temp_dir().join(format!("o2c-{name}-{}.sqlite", std::process::id()));
    remove(&path);
    let oms = open(&path);
    let customers = pollster::block_on(async {
        oms.set_tax_table(TaxTable::new().with_rate(
            TaxClass::standard(),
            None,
            "0.1".parse().unwrap(),
        ))
        .await
        .unwrap();
        let usd = |c| Money::from_minor(c, Currency::USD);
        oms.save_product(Product::new(
            sku(),
            "Hot item",
            usd(1000),
            usd(400),
            TaxClass::standard(),
        ))
        .await
        .unwrap();
        let address = Address::new("Shop", "1 High St", "York", "YO1", "GB");
        oms.save_location(Location::new(
            shop(),
            "Shop",
            LocationKind::Store,
            address.clone(),
            1,
        ))
        .await
        .unwrap();
        oms.receive_stock(
            ReceiveStock::new(
                IdempotencyKey::new("opening").unwrap(),
                sku(),
                shop(),
                STOCK,
            )
            .with_reference("opening".into()),
        )
        .await
        .unwrap();
        let mut customers = Vec::new();
        for n in 0..writers {
            let mut profile = NewCustomer::new(
                format!("W{n}"),
                "w@example.com",
                address.clone(),
                Currency::USD,
            );
            profile.terms = PaymentTerms::Net { days: 30 };
            customers.push(
                oms.register_customer(profile, o2c::ids::IdempotencyKey::generate())
                    .await
                    .unwrap()
                    .id,
            );
        }
        customers
    });
    (path, customers)
}

/// Deletes the file and everything beside it that SQLite or the writers made.
fn remove(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    for stage in ["ready", "sold"] {
        for tag in ["a", "b", "w"] {
            let _ = std::fs::remove_file(format!("{}.{stage}-{tag}", path.display()));
        }
    }
}

/// Runs as a writer when the test binary is re-invoked with `O2C_WRITER_FILE`:
/// places orders of 1–3 units until stock runs out, printing each committed one.
#[test]
fn writer_process() {
    let Ok(file) = std::env::var("O2C_WRITER_FILE") else {
        return; // an ordinary test run: nothing to do
    };
    let customer: CustomerId = std::env::var("O2C_WRITER_CUSTOMER")
        .unwrap()
        .parse()
        .unwrap();
    let tag = std::env::var("O2C_WRITER_TAG").unwrap();
    let writers: usize = std::env::var("O2C_WRITERS").unwrap().parse().unwrap();
    // Under NORMAL a commit finding the lock free runs on the caller's thread, and
    // one finding it taken falls back to waiting on the pool: both paths meet here.
    let durability = match std::env::var("O2C_WRITER_DURABILITY").as_deref() {
        Ok("normal") => Durability::Normal,
        _ => Durability::Full,
    };
    let oms = open_with(Path::new(&file), durability);
    wait_for_all(&file, "ready", &tag, writers);
    let mut out = std::io::stdout().lock();
    let mut refused_in_a_row = 0;
    for n in 0.. {
        let units = 1 + n % 3;
        let cmd = PlaceOrder::new(
            IdempotencyKey::new(format!("{tag}-{n}")).unwrap(),
            customer,
            Channel::Web,
            Currency::USD,
        )
        .line(sku(), units)
        .deliver(Delivery::Pickup { location: shop() });
        match pollster::block_on(oms.place_order(cmd)) {
            Ok(order) => {
                refused_in_a_row = 0;
                writeln!(out, "COMMITTED {} {units}", order.id).unwrap();
                out.flush().unwrap();
                if n == 0 {
                    wait_for_all(&file, "sold", &tag, writers);
                }
                // A pause between orders, as a real client has. SQLite's lock is not
                // fair: a writer committing back to back can keep the other waiting
                // in its busy handler for a whole run (correct, but then the test
                // would prove nothing about two writers interleaving).
                std::thread::sleep(std::time::Duration::from_micros(500));
            }
            Err(Error::Stock(StockError::Insufficient { .. })) => {
                refused_in_a_row += 1;
                if refused_in_a_row > 3 {
                    break;
                }
            }
            Err(e) => panic!("writer {tag}: unexpected error {e}"),
        }
    }
    writeln!(out, "DONE").unwrap();
}

/// Marks this writer as past `stage` and waits until all `writers` are, so they
/// really run side by side. Two stages: "ready" (the file is open; a fast writer
/// could otherwise sell everything before a slow one has started) and "sold" (the
/// first order committed). SQLite's lock is not fair: a writer waiting in its busy
/// handler sleeps in growing steps and, on a loaded machine, can miss every gap the
/// other leaves, so each writer holds back after its first sale until the others
/// have made theirs. After that they race freely.
fn wait_for_all(file: &str, stage: &str, tag: &str, writers: usize) {
    std::fs::write(format!("{file}.{stage}-{tag}"), "").unwrap();
    let dir = Path::new(file).parent().unwrap();
    let prefix = format!(
        "{}.{stage}-",
        Path::new(file).file_name().unwrap().to_string_lossy()
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let ready = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .count();
        if ready >= writers || std::time::Instant::now() > deadline {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

fn spawn_writer(
    path: &Path,
    customer: CustomerId,
    tag: &str,
    writers: usize,
    durability: &str,
) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "writer_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("O2C_WRITER_FILE", path)
        .env("O2C_WRITER_CUSTOMER", customer.to_string())
        .env("O2C_WRITER_TAG", tag)
        .env("O2C_WRITERS", writers.to_string())
        .env("O2C_WRITER_DURABILITY", durability)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The orders a writer reported as committed, read until it ends or `stop_after` lines.
fn committed(child: &mut Child, stop_after: Option<usize>) -> Vec<(OrderId, i64)> {
    let stdout = child.stdout.take().unwrap();
    let mut orders = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // libtest may print "test writer_process ... " on the same line first.
        if let Some(rest) = line.split_once("COMMITTED ").map(|(_, rest)| rest) {
            let (id, units) = rest.split_once(' ').unwrap();
            orders.push((id.parse().unwrap(), units.parse().unwrap()));
            if stop_after.is_some_and(|n| orders.len() >= n) {
                child.kill().unwrap(); // SIGKILL: no chance to clean up
                break;
            }
        }
    }
    child.wait().unwrap();
    orders
}

fn assert_file_consistent(path: &Path, reported: &[(OrderId, i64)]) {
    let oms = open(path);
    pollster::block_on(async {
        for (id, units) in reported {
            let order = oms
                .order(*id)
                .await
                .unwrap_or_else(|e| panic!("reported order {id} is missing: {e}"));
            assert_eq!(i64::from(order.lines[0].quantity.units()), *units);
        }
        let report = oms.audit().await.unwrap();
        assert!(
            report.is_clean(),
            "audit after reopening: {:?}",
            report.violations
        );
        let level = oms.stock_level(&sku(), &shop()).await.unwrap();
        assert!(
            level.reserved <= level.on_hand && level.on_hand == STOCK,
            "{level:?}"
        );
    });
}

#[test]
fn two_processes_sell_exactly_the_stock() {
    two_processes_sell_exactly_the_stock_at("full");
}

#[test]
fn two_processes_sell_exactly_the_stock_under_normal_durability() {
    two_processes_sell_exactly_the_stock_at("normal");
}

fn two_processes_sell_exactly_the_stock_at(durability: &str) {
    let (path, customers) = prepare(&format!("two-writers-{durability}"), 2);
    let mut a = spawn_writer(&path, customers[0], "a", 2, durability);
    let mut b = spawn_writer(&path, customers[1], "b", 2, durability);
    let (from_a, from_b) = std::thread::scope(|s| {
        let a = s.spawn(|| committed(&mut a, None));
        let b = s.spawn(|| committed(&mut b, None));
        (a.join().unwrap(), b.join().unwrap())
    });
    let sold: i64 = from_a.iter().chain(&from_b).map(|(_, units)| units).sum();
    assert!(
        !from_a.is_empty() && !from_b.is_empty(),
        "both writers sold something: {} / {}",
        from_a.len(),
        from_b.len()
    );
    assert_eq!(sold, STOCK, "exactly the stock was sold, never more");
    let all: Vec<_> = from_a.into_iter().chain(from_b).collect();
    assert_file_consistent(&path, &all);
    let oms = open(&path);
    let reserved = pollster::block_on(oms.stock_level(&sku(), &shop()))
        .unwrap()
        .reserved;
    assert_eq!(reserved, STOCK);
    drop(oms);
    remove(&path);
}

#[test]
fn a_writer_killed_mid_load_loses_nothing_it_reported() {
    // A killed process is an application crash, which NORMAL survives as FULL does.
    for durability in ["full", "normal"] {
        // Ten kill points per durability: early, late, and between.
        for kill_after in [1, 2, 3, 5, 7, 11, 13, 17, 23, 29] {
            let (path, customers) = prepare(&format!("crash-{durability}-{kill_after}"), 1);
            let mut writer = spawn_writer(&path, customers[0], "w", 1, durability);
            let reported = committed(&mut writer, Some(kill_after));
            assert_eq!(reported.len(), kill_after);
            assert_file_consistent(&path, &reported);
            remove(&path);
        }
    }
}
