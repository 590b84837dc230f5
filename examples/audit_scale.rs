//! How long the audit takes, and how much memory it needs, on a big store.
//!
//! ```sh
//! cargo run --release --example audit_scale                          # 1,000,000 orders in memory
//! cargo run --release --example audit_scale -- --orders 100000
//! cargo run --release --features sqlite --example audit_scale -- --orders 100000 --sqlite /tmp/audit.sqlite3
//! ```
//!
//! It fills a fresh store with `--orders` 5-line orders, each invoiced on placement;
//! every second one is paid and every fourth shipped (so invoices, payments,
//! shipments, stock movements, events and journal entries are all there), then runs
//! the audit and prints its time, the violations it found (there should be none),
//! and the process's peak resident memory before and after it.
// An example has nothing to recover from: a failure should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::customer::{Address, Customer, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::TableRateCarrier;
use o2c::ids::{IdempotencyKey, LocationId, Sku};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, PlaceOrder};
use o2c::stock::{Location, LocationKind};
use o2c::store::{MemoryStore, Store};
use o2c::{Oms, ReceiveStock, RecordPayment};

const SKUS: usize = 1_000;
const CUSTOMERS: usize = 3_000;
const WAREHOUSES: [&str; 4] = ["WH-1", "WH-2", "WH-3", "WH-4"];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let orders: usize =
        flag("--orders").map_or(1_000_000, |n| n.parse().expect("--orders takes a number"));
    match flag("--sqlite") {
        Some(path) => on_sqlite(&path, orders),
        None => audit_after_filling(MemoryStore::new(), "memory", orders),
    }
}

#[cfg(feature = "sqlite")]
fn on_sqlite(path: &str, orders: usize) {
    use o2c::store::sqlite::{Durability, SqliteOptions, SqliteStore};
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    // NORMAL only makes the filling faster; the audit reads the same either way.
    let options = SqliteOptions::default().with_durability(Durability::Normal);
    audit_after_filling(SqliteStore::open(path, options).unwrap(), "sqlite", orders);
}

#[cfg(not(feature = "sqlite"))]
fn on_sqlite(_path: &str, _orders: usize) {
    panic!("--sqlite needs the example built with --features sqlite");
}

fn audit_after_filling<S: Store>(store: S, name: &str, orders: usize) {
    let (oms, customers) = setup(store);
    let filling = Instant::now();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        usize::try_from(rng).unwrap()
    };
    for n in 0..orders {
        let customer = &customers[next() % CUSTOMERS];
        let base = next();
        let cmd = (0..5).fold(
            PlaceOrder::new(
                key(&format!("o-{n}")),
                customer.id,
                Channel::Web,
                Currency::USD,
            ),
            |cmd, i| cmd.line(sku((base + i * 131) % SKUS), 1),
        );
        let order = run(oms.place_order(cmd));
        if n % 2 == 0 {
            let amount = order.total().unwrap();
            run(oms.record_payment(RecordPayment::new(
                key(&format!("pay-{n}")),
                order.invoices[0],
                amount,
                PaymentMethod::BankTransfer,
            )));
        }
        if n % 4 == 0 {
            run(oms.ship(order.id));
        }
        if (n + 1) % 100_000 == 0 {
            eprintln!("{name}: {} orders in {:.0?}", n + 1, filling.elapsed());
        }
    }
    let filled = filling.elapsed();
    let peak_before = peak_rss_mib();
    let rss_before = rss_mib();
    let start = Instant::now();
    let report = run(oms.audit());
    let took = start.elapsed();
    println!(
        "{name}: {orders} orders filled in {filled:.1?}; audit {took:.2?}, {} violations, {} not checked; \
         {} journal entries, {} events, {} stock levels; RSS before the audit {rss_before} MiB, \
         peak before {peak_before} MiB, peak after {} MiB",
        report.violations.len(),
        report.not_checked.len(),
        report.journal_entries,
        report.events,
        report.stock_levels,
        peak_rss_mib()
    );
    for v in report.violations.iter().take(10) {
        println!("  {v}");
    }
}

fn run<T>(future: impl Future<Output = Result<T, o2c::Error>>) -> T {
    pollster::block_on(future).unwrap_or_else(|e| panic!("{e}"))
}

fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::new(s).unwrap()
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn sku(n: usize) -> Sku {
    Sku::new(format!("SKU-{n:05}")).unwrap()
}

fn setup<S: Store>(store: S) -> (Oms<S, TableRateCarrier>, Vec<Customer>) {
    let carrier = TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .band(u64::MAX, vec![usd(500)]);
    let oms = Oms::new(store, carrier);
    run(oms.set_tax_table(TaxTable::new().with_rate(
        TaxClass::standard(),
        None,
        rust_decimal::Decimal::new(8, 2),
    )));
    for (i, code) in WAREHOUSES.into_iter().enumerate() {
        let address = Address::new(code, "1 Dock Rd", "Reno", "89501", "US");
        run(oms.save_location(Location::new(
            LocationId::new(code).unwrap(),
            code,
            LocationKind::Warehouse,
            address,
            u32::try_from(i).unwrap(),
        )));
    }
    for n in 0..SKUS {
        let mut product = Product::new(
            sku(n),
            format!("Product {n}"),
            usd(500 + i64::try_from(n).unwrap()),
            usd(200),
            TaxClass::standard(),
        );
        product.weight_grams = 300;
        run(oms.save_product(product));
        for code in WAREHOUSES {
            run(oms.receive_stock(ReceiveStock {
                idempotency_key: key(&format!("open-{n}-{code}")),
                sku: sku(n),
                location: LocationId::new(code).unwrap(),
                quantity: 100_000_000,
                reference: "opening".into(),
            }));
        }
    }
    let customers = (0..CUSTOMERS)
        .map(|n| {
            let address = Address::new(
                format!("Customer {n}"),
                "1 Main St",
                "Boston",
                "02108",
                "US",
            );
            let mut profile = NewCustomer::new(
                format!("Customer {n}"),
                format!("c{n}@example.com"),
                address,
                Currency::USD,
            );
            profile.terms = PaymentTerms::Net { days: 30 };
            run(oms.register_customer(profile))
        })
        .collect();
    (oms, customers)
}

fn status_mib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// Resident memory now.
fn rss_mib() -> u64 {
    status_mib("VmRSS:")
}

/// The most resident memory the process has had.
fn peak_rss_mib() -> u64 {
    status_mib("VmHWM:")
}
