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

use o2c::RecordPayment;
use o2c::customer::PaymentMethod;
use o2c::money::Currency;
use o2c::order::{Channel, PlaceOrder};
use o2c::store::{MemoryStore, Store};

#[allow(dead_code)] // each example uses its own part of the shop
mod shop;

use shop::{CUSTOMERS, SKUS, flag, key, peak_rss_bytes, rss_bytes, run, setup, sku};

fn main() {
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
            run(oms.ship(order.id, o2c::ids::IdempotencyKey::generate()));
        }
        if (n + 1) % 100_000 == 0 {
            eprintln!("{name}: {} orders in {:.0?}", n + 1, filling.elapsed());
        }
    }
    let filled = filling.elapsed();
    let mib = |bytes: u64| bytes / (1024 * 1024);
    let peak_before = mib(peak_rss_bytes());
    let rss_before = mib(rss_bytes());
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
        mib(peak_rss_bytes())
    );
    for v in report.violations.iter().take(10) {
        println!("  {v}");
    }
}
