//! Concurrency on the SQLite store (issue 7, item 5): a flash sale of one hot SKU
//! from many OS threads sells exactly the stock there is — through one handle, and
//! through two handles on one file, as two processes would — never more, with
//! reserved ≤ on hand and a clean audit.
#![cfg(feature = "sqlite")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::customer::{Customer, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::PickupCarrier;
use o2c::ids::OrderId;
use o2c::money::Currency;
use o2c::order::{Channel, PlaceOrder};
use o2c::stock::{Location, LocationKind, StockError};
use o2c::store::sqlite::{Durability, SqliteOptions, SqliteStore};
use o2c::{Error, Oms, ReceiveStock};
use rust_decimal_macros::dec;

type SqliteOms = Oms<SqliteStore, Carriers>;

const THREADS: usize = 8;
const ORDERS_PER_THREAD: usize = 10;
const HOT_UNITS: i64 = 25;
/// A race that goes right once may not the next time.
const ROUNDS: usize = 3;

/// Units the `n`-th order of thread `t` asks for: 1 to 3, so demand (≈160) far
/// exceeds supply. Every thread's last order asks for one unit after all the others
/// are done, mopping up the at most 2 units a larger order could not take: so
/// exactly all 25 must sell.
fn quantity(t: usize, n: usize) -> i64 {
    if n + 1 == ORDERS_PER_THREAD {
        1
    } else {
        i64::try_from(1 + (t * 7 + n * 3) % 3).unwrap()
    }
}

fn service(store: SqliteStore) -> SqliteOms {
    Oms::new(store, (parcel_carrier(), PickupCarrier::new()))
}

/// A fresh file with a `HOT` SKU stocked with exactly 25 units at WH-EAST, and one
/// customer per thread.
fn hot_shop(path: &std::path::Path) -> (SqliteOms, Vec<Customer>) {
    hot_shop_with(
        path,
        SqliteOptions::default().with_durability(Durability::Normal),
    )
}

/// [`hot_shop`] on a store opened with `options`.
fn hot_shop_with(path: &std::path::Path, options: SqliteOptions) -> (SqliteOms, Vec<Customer>) {
    let oms = service(SqliteStore::open(path, options).unwrap());
    pollster::block_on(async {
        oms.set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, dec!(0.10)))
            .await
            .unwrap();
        oms.save_product(Product::new(
            sku("HOT"),
            "flash sale",
            usd(dec!(9.99)),
            usd(dec!(3.00)),
            TaxClass::standard(),
        ))
        .await
        .unwrap();
        let east = Location::new(
            loc(EAST),
            EAST,
            LocationKind::Warehouse,
            us_address(EAST),
            1,
        );
        oms.save_location(east).await.unwrap();
        oms.receive_stock(
            ReceiveStock::new(key("hot-in"), sku("HOT"), loc(EAST), HOT_UNITS)
                .with_reference("flash sale stock".into()),
        )
        .await
        .unwrap();
        let mut customers = Vec::new();
        for t in 0..THREADS {
            let name = format!("Buyer{t}");
            let mut profile = NewCustomer::new(
                name.as_str(),
                format!("buyer{t}@example.com"),
                us_address(&name),
                Currency::USD,
            );
            (profile.terms, profile.payment_method) = if t % 2 == 0 {
                (PaymentTerms::Prepaid, PaymentMethod::Card)
            } else {
                (PaymentTerms::Net { days: 30 }, PaymentMethod::BankTransfer)
            };
            customers.push(
                oms.register_customer(profile, o2c::ids::IdempotencyKey::generate())
                    .await
                    .unwrap()
                    .into_inner(),
            );
        }
        (oms, customers)
    })
}

fn hot_order(round: usize, t: usize, n: usize, c: &Customer) -> PlaceOrder {
    PlaceOrder::new(
        key(&format!("hot-{round}-{t}-{n}")),
        c.id,
        Channel::Web,
        Currency::USD,
    )
    .line(sku("HOT"), quantity(t, n))
}

/// What one thread saw: units it got, its orders, and every refusal.
#[derive(Debug, Default)]
struct Tally {
    sold: i64,
    orders: Vec<OrderId>,
    refused: usize,
}

fn record(tally: &mut Tally, units: i64, result: Result<o2c::Applied<o2c::order::Order>, Error>) {
    match result {
        Ok(order) => {
            tally.sold += units;
            tally.orders.push(order.id);
        }
        Err(Error::Stock(StockError::Insufficient {
            requested,
            available,
            ..
        })) => {
            assert_eq!(requested, u64::try_from(units).unwrap());
            assert!(available < requested);
            tally.refused += 1;
        }
        Err(Error::Contention { .. }) => {
            panic!("BUG: an order for {units} HOT gave up on contention")
        }
        Err(other) => panic!("an order for {units} HOT failed with {other:?}"),
    }
}

/// Runs the sale from `THREADS` threads, thread `t` on `shops[t % shops.len()]`.
fn flash_sale(round: usize, shops: &[Arc<SqliteOms>], customers: &[Customer]) -> Vec<Tally> {
    let barrier = Arc::new(std::sync::Barrier::new(THREADS));
    let handles: Vec<_> = customers
        .iter()
        .cloned()
        .enumerate()
        .map(|(t, c)| {
            let oms = Arc::clone(&shops[t % shops.len()]);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut tally = Tally::default();
                barrier.wait();
                for n in 0..ORDERS_PER_THREAD - 1 {
                    let result = pollster::block_on(oms.place_order(hot_order(round, t, n, &c)));
                    record(&mut tally, quantity(t, n), result);
                }
                // The one-unit mop-up starts only when every larger order is done.
                barrier.wait();
                let n = ORDERS_PER_THREAD - 1;
                let result = pollster::block_on(oms.place_order(hot_order(round, t, n, &c)));
                record(&mut tally, quantity(t, n), result);
                tally
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Exactly the stock sold, reserved = on hand = what the orders hold, and the audit
/// clean.
fn check_sold_out(oms: &SqliteOms, tallies: &[Tally]) {
    let sold: i64 = tallies.iter().map(|t| t.sold).sum();
    assert_eq!(sold, HOT_UNITS, "every unit sold, none twice");
    let placed: usize = tallies.iter().map(|t| t.orders.len()).sum();
    let refused: usize = tallies.iter().map(|t| t.refused).sum();
    assert_eq!(placed + refused, THREADS * ORDERS_PER_THREAD);
    pollster::block_on(async {
        let level = oms.stock_level(&sku("HOT"), &loc(EAST)).await.unwrap();
        assert_eq!((level.on_hand, level.reserved), (HOT_UNITS, HOT_UNITS));
        assert!(level.reserved <= level.on_hand);
        let mut held = 0;
        for id in tallies.iter().flat_map(|t| &t.orders) {
            let order = oms.order(*id).await.unwrap();
            held += order.lines.iter().map(|l| l.open().as_i64()).sum::<i64>();
        }
        assert_eq!(
            held, HOT_UNITS,
            "the orders hold what the store says is reserved"
        );
        let report = oms.audit().await.unwrap();
        assert!(
            report.is_clean(),
            "audit violations: {:?}",
            report.violations
        );
    });
}

/// A database path in the temp directory, removed (with its WAL files) on drop.
struct TempDb(std::path::PathBuf);

impl TempDb {
    fn new(name: &str, round: usize) -> Self {
        let path = std::env::temp_dir().join(format!(
            "o2c-flash-{name}-{}-{round}.sqlite3",
            std::process::id()
        ));
        let db = Self(path);
        db.remove();
        db
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

#[test]
fn flash_sale_on_one_sqlite_handle_never_oversells() {
    for round in 0..ROUNDS {
        let db = TempDb::new("one", round);
        let (oms, customers) = hot_shop(&db.0);
        let oms = Arc::new(oms);
        let tallies = flash_sale(round, &[Arc::clone(&oms)], &customers);
        check_sold_out(&oms, &tallies);
    }
}

/// Two handles on one file share nothing in memory: only SQLite's lock and the
/// guard in the `UPDATE` keep them from selling a unit twice.
#[test]
fn flash_sale_through_two_handles_on_one_file_never_oversells() {
    for round in 0..ROUNDS {
        let db = TempDb::new("two", round);
        let (first, customers) = hot_shop(&db.0);
        let options = SqliteOptions::default().with_durability(Durability::Normal);
        let second = service(SqliteStore::open(&db.0, options).unwrap());
        let shops = [Arc::new(first), Arc::new(second)];
        let tallies = flash_sale(round, &shops, &customers);
        for shop in &shops {
            check_sold_out(shop, &tallies);
        }
    }
}

/// Group commit: under FULL durability, with a leader that waits a little for more,
/// the sale's commits meet in shared transactions, where a loser's refused stock
/// guard rolls back to its savepoint alone. Still exactly the stock sells, and the
/// event log has no gap where a refused changeset took its sequences back.
#[test]
fn flash_sale_in_shared_transactions_never_oversells_and_leaves_no_gap() {
    for round in 0..ROUNDS {
        let db = TempDb::new("grouped", round);
        let options = SqliteOptions::default()
            .with_durability(Durability::Full)
            .with_batching(THREADS, Duration::from_millis(2));
        let (oms, customers) = hot_shop_with(&db.0, options);
        let oms = Arc::new(oms);
        let tallies = flash_sale(round, &[Arc::clone(&oms)], &customers);
        check_sold_out(&oms, &tallies);
        pollster::block_on(async {
            let events = oms.events_after(0, 10_000).await.unwrap();
            let sequences: Vec<u64> = events.iter().map(|e| e.sequence).collect();
            let expected: Vec<u64> = (1..=u64::try_from(events.len()).unwrap()).collect();
            assert_eq!(sequences, expected, "event sequences run without a gap");
        });
    }
}
