//! How per-operation cost and memory grow with the number of orders resident in the
//! in-memory store.
//!
//! ```sh
//! cargo run --release --example scaling                       # 10k, 100k, 1M orders
//! cargo run --release --example scaling -- --orders 10000,100000 --ops 5000
//! ```
//!
//! For each size it fills a fresh store with that many 5-line orders (each invoiced on
//! placement: order, invoice, events and journal entries all resident), then times
//! `--ops` more of each operation and prints the median and p99 per operation, the
//! resident memory the filled orders take, per order, and the process's peak resident
//! memory so far (sizes run in the order given, smallest first by default, so the
//! last row's peak is what the largest needs).
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
use o2c::ids::{IdempotencyKey, OrderId};
use o2c::money::Currency;
use o2c::order::{Channel, PlaceOrder};
use o2c::store::MemoryStore;

/// One timed operation, given the run's random number source.
type Op<'a> = Box<dyn FnMut(&mut dyn FnMut() -> u64) + 'a>;

#[allow(dead_code)] // each example uses its own part of the shop
mod shop;

use shop::{CUSTOMERS, SKUS, flag, peak_rss_bytes, rss_bytes, run, setup, sku};

fn main() {
    let sizes: Vec<usize> = flag("--orders")
        .unwrap_or_else(|| "10000,100000,1000000".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("--orders takes numbers separated by commas")
        })
        .collect();
    let ops: usize = flag("--ops").map_or(2_000, |n| n.parse().expect("--ops takes a number"));

    println!(
        "{:>9}  {:>12} {:>12}  {:>12} {:>12}  {:>12} {:>12}  {:>12} {:>12}  {:>10}  {:>10}",
        "orders",
        "place p50",
        "place p99",
        "pay p50",
        "pay p99",
        "read p50",
        "read p99",
        "ship p50",
        "ship p99",
        "B/order",
        "peak MiB"
    );
    for size in sizes {
        let row = measure(size, ops);
        println!(
            "{:>9}  {:>10.2}µs {:>10.2}µs  {:>10.2}µs {:>10.2}µs  {:>10.2}µs {:>10.2}µs  {:>10.2}µs {:>10.2}µs  {:>10.0}  {:>10.0}",
            size,
            row.place.0,
            row.place.1,
            row.pay.0,
            row.pay.1,
            row.read.0,
            row.read.1,
            row.ship.0,
            row.ship.1,
            row.bytes_per_order,
            peak_rss_bytes() as f64 / (1024.0 * 1024.0)
        );
    }
}

struct Row {
    place: (f64, f64),
    pay: (f64, f64),
    read: (f64, f64),
    ship: (f64, f64),
    bytes_per_order: f64,
}

fn measure(size: usize, ops: usize) -> Row {
    let (oms, customers) = setup(MemoryStore::new());
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut serial = 0usize;
    let mut order_cmd = |next: &mut dyn FnMut() -> u64| {
        serial += 1;
        let customer = &customers[usize::try_from(next()).unwrap() % CUSTOMERS];
        let base = usize::try_from(next()).unwrap();
        (0..5).fold(
            PlaceOrder::new(
                IdempotencyKey::new(format!("o-{serial}")).unwrap(),
                customer.id,
                Channel::Web,
                Currency::USD,
            ),
            |cmd, i| cmd.line(sku((base + i * 131) % SKUS), 1),
        )
    };

    let before = rss_bytes();
    let mut ids: Vec<OrderId> = Vec::with_capacity(size);
    for _ in 0..size {
        ids.push(run(oms.place_order(order_cmd(&mut next))).id);
    }
    let bytes_per_order = (rss_bytes().saturating_sub(before)) as f64 / size as f64;

    let mut timings = |mut op: Op<'_>| {
        let mut samples: Vec<f64> = (0..ops)
            .map(|_| {
                let start = Instant::now();
                op(&mut next);
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        (
            samples[samples.len() / 2],
            samples[samples.len() * 99 / 100],
        )
    };
    let place = timings(Box::new(|next| {
        run(oms.place_order(order_cmd(next)));
    }));
    let mut paid = 0usize;
    let pay = timings(Box::new(|_| {
        let order = run(oms.order(ids[paid]));
        paid += 1;
        let invoice = order.invoices[0];
        let amount = order.total().unwrap();
        let key = IdempotencyKey::new(format!("pay-{paid}")).unwrap();
        run(oms.record_payment(RecordPayment::new(
            key,
            invoice,
            amount,
            PaymentMethod::BankTransfer,
        )));
    }));
    let read = timings(Box::new(|next| {
        let id = ids[usize::try_from(next()).unwrap() % ids.len()];
        run(oms.order(id));
    }));
    let ship = timings(Box::new(|_| {
        let order = run(oms.orders_ready_to_ship(1))
            .pop()
            .expect("an order to ship");
        run(oms.ship(order.id, IdempotencyKey::generate()));
    }));
    Row {
        place,
        pay,
        read,
        ship,
        bytes_per_order,
    }
}
