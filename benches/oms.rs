//! Hot operations of the service on the in-memory store.
//!
//! Run with `cargo bench --bench oms`. Each benchmark works on a store already holding
//! a catalogue of 1,000 SKUs stocked at two warehouses.
// A benchmark has nothing to recover from: any failure should stop it loudly.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use divan::Bencher;
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::customer::{Address, Customer, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::TableRateCarrier;
use o2c::ids::OrderId;
use o2c::ids::{EntryId, IdempotencyKey, LocationId, Sku};
use o2c::ledger::{AccountCode, ChartOfAccounts, EntryBuilder, EntrySource};
use o2c::money::{Currency, Money};
use o2c::order::{AmendOrder, Channel, Order, PlaceOrder};
use o2c::quantity::Quantity;
use o2c::stock::{
    AllocationStrategy, LineDemand, Location, LocationKind, MovementReason, ReservationChange,
    StockLevel, StockMovement, allocate,
};
use o2c::store::{Changeset, MemoryStore, Store};
use o2c::{Oms, ReceiveStock, RecordPayment};
use uuid::Uuid;

type Bench = Oms<MemoryStore, TableRateCarrier>;

const SKUS: usize = 1_000;

fn main() {
    divan::main();
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn sku(n: usize) -> Sku {
    Sku::new(format!("SKU-{n:05}")).unwrap()
}

fn run<T>(future: impl Future<Output = Result<T, o2c::Error>>) -> T {
    pollster::block_on(future).unwrap()
}

/// A store with the catalogue, two stocked warehouses and one customer on terms.
fn setup() -> (Bench, Customer) {
    let carrier = TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .band(u64::MAX, vec![usd(500)]);
    let oms = Oms::new(MemoryStore::new(), carrier);
    run(oms.set_tax_table(TaxTable::new().with_rate(
        TaxClass::standard(),
        None,
        rust_decimal::Decimal::new(8, 2),
    )));
    for site in two_warehouses() {
        run(oms.save_location(site));
    }
    for n in 0..SKUS {
        let price = usd(500 + i64::try_from(n).unwrap_or(0));
        run(oms.save_product(Product::new(
            sku(n),
            "thing",
            price,
            usd(200),
            TaxClass::standard(),
        )));
        for code in ["WH-1", "WH-2"] {
            run(oms.receive_stock(
                ReceiveStock::new(
                    IdempotencyKey::new(format!("open-{n}-{code}")).unwrap(),
                    sku(n),
                    LocationId::new(code).unwrap(),
                    1_000_000_000,
                )
                .with_reference("opening".into()),
            ));
        }
    }
    let mut profile = NewCustomer::new(
        "Bench",
        "bench@example.com",
        Address::new("B", "1 St", "Boston", "02108", "US"),
        Currency::USD,
    );
    profile.terms = PaymentTerms::Net { days: 30 };
    let customer = run(oms.register_customer(profile, IdempotencyKey::generate()));
    (oms, customer.into_inner())
}

static NEXT: AtomicU64 = AtomicU64::new(0);

fn five_lines(customer: &Customer) -> PlaceOrder {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let key = IdempotencyKey::new(format!("order-{n}")).unwrap();
    let base = usize::try_from(n).unwrap_or(0).wrapping_mul(7);
    (0..5).fold(
        PlaceOrder::new(key, customer.id, Channel::Web, Currency::USD),
        |cmd, i| {
            cmd.line(
                sku((base + i * 131) % SKUS),
                1 + i64::try_from(i).unwrap_or(0),
            )
        },
    )
}

#[divan::bench(sample_count = 200)]
fn place_order_5_lines(bencher: Bencher) {
    let (oms, customer) = setup();
    bencher
        .with_inputs(|| five_lines(&customer))
        .bench_local_values(|cmd| run(oms.place_order(cmd)));
}

#[divan::bench(sample_count = 200)]
fn record_payment(bencher: Bencher) {
    let (oms, customer) = setup();
    bencher
        .with_inputs(|| {
            let order: Order = run(oms.place_order(five_lines(&customer))).into_inner();
            let invoice = order.invoices.first().copied().unwrap();
            let amount = order.total().unwrap();
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let key = IdempotencyKey::new(format!("pay-{n}")).unwrap();
            RecordPayment::new(key, invoice, amount, PaymentMethod::BankTransfer)
        })
        .bench_local_values(|cmd| run(oms.record_payment(cmd)));
}

/// An amendment of a freshly placed (and invoiced) five-line order: one line cut by
/// a unit, another grown by two, a line added. Credits the cut, invoices the rest.
#[divan::bench(sample_count = 200)]
fn amend_order(bencher: Bencher) {
    let (oms, customer) = setup();
    bencher
        .with_inputs(|| {
            let order: Order = run(oms.place_order(five_lines(&customer))).into_inner();
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let key = IdempotencyKey::new(format!("amend-{n}")).unwrap();
            let extra = sku(usize::try_from(n).unwrap_or(0) % SKUS);
            AmendOrder::new(key, order.id)
                .set_quantity(2, 1)
                .set_quantity(3, 5)
                .add_line(extra, 2)
        })
        .bench_local_values(|cmd| run(oms.amend_order(cmd)));
}

#[divan::bench(sample_count = 200)]
fn read_order(bencher: Bencher) {
    let (oms, customer) = setup();
    let order = run(oms.place_order(five_lines(&customer)));
    bencher.bench_local(|| run(oms.order(divan::black_box(order.id))));
}

/// WH-1 (first priority) and WH-2.
fn two_warehouses() -> Vec<Location> {
    ["WH-1", "WH-2"]
        .iter()
        .zip(0..)
        .map(|(code, priority)| {
            let id = LocationId::new(*code).unwrap();
            let address = Address::new(*code, "1 Dock Rd", "Reno", "89501", "US");
            Location::new(id, *code, LocationKind::Warehouse, address, priority)
        })
        .collect()
}

#[divan::bench]
fn reserve_5_lines_over_2_locations(bencher: Bencher) {
    let sites = two_warehouses();
    let demand: Vec<LineDemand> = (0..5)
        .map(|i| LineDemand {
            sku: sku(i),
            quantity: Quantity::new(3),
        })
        .collect();
    let stock: Vec<StockLevel> = (0..5)
        .flat_map(|i| {
            sites.iter().map(move |s| StockLevel {
                sku: sku(i),
                location: s.id.clone(),
                on_hand: 2 + i64::try_from(i).unwrap_or(0),
                reserved: 0,
            })
        })
        .collect();
    bencher.bench_local(|| {
        allocate(
            divan::black_box(&demand),
            &stock,
            &sites,
            AllocationStrategy::SingleLocationFirst,
        )
    });
}

#[divan::bench]
fn build_journal_entry(bencher: Bencher) {
    let chart = ChartOfAccounts::default();
    let (ar, revenue, tax) = (
        AccountCode::new("1100"),
        AccountCode::new("4000"),
        AccountCode::new("2100"),
    );
    bencher.bench_local(|| {
        EntryBuilder::new(
            "invoice",
            EntrySource::StockAdjustment {
                reason: String::new(),
            },
        )
        .debit(&ar, usd(10_800))
        .credit(&revenue, usd(10_000))
        .credit(&tax, usd(800))
        .build(EntryId::from_uuid(Uuid::nil()), Utc::now(), &chart)
    });
}

/// Reserving for real: choose locations, then commit the guarded reservation deltas
/// to the memory store (the path `place_order` takes for its stock).
#[divan::bench]
fn reserve_and_commit_5_lines(bencher: Bencher) {
    let store = MemoryStore::new();
    let sites = two_warehouses();
    let mut opening = Changeset::new(Utc::now());
    for i in 0..5 {
        for site in &sites {
            opening.movements.push(StockMovement {
                sku: sku(i),
                location: site.id.clone(),
                quantity: 1_000_000_000,
                reason: MovementReason::Adjustment {
                    reason: "opening".into(),
                },
                at: Utc::now(),
                value: None,
            });
        }
    }
    run_store(store.commit(opening));
    let demand: Vec<LineDemand> = (0..5)
        .map(|i| LineDemand {
            sku: sku(i),
            quantity: Quantity::new(3),
        })
        .collect();
    let order = OrderId::from_uuid(Uuid::nil());
    bencher.bench_local(|| {
        let mut levels = Vec::new();
        for d in &demand {
            levels.extend(run_store(store.stock_levels(&d.sku)));
        }
        let chosen = allocate(
            &demand,
            &levels,
            &sites,
            AllocationStrategy::SingleLocationFirst,
        )
        .unwrap();
        let mut changes = Changeset::new(Utc::now());
        for a in chosen {
            changes.reservations.push(ReservationChange {
                sku: demand[a.line].sku.clone(),
                location: a.location,
                order,
                quantity: a.quantity.as_i64(),
            });
        }
        run_store(store.commit(changes))
    });
}

/// Posting: build a balanced three-line entry and commit it to the memory store.
#[divan::bench]
fn post_journal_entry(bencher: Bencher) {
    let store = MemoryStore::new();
    let chart = ChartOfAccounts::default();
    let (ar, revenue, tax) = (
        AccountCode::new("1100"),
        AccountCode::new("4000"),
        AccountCode::new("2100"),
    );
    bencher.bench_local(|| {
        let entry = EntryBuilder::new(
            "invoice",
            EntrySource::StockAdjustment {
                reason: String::new(),
            },
        )
        .debit(&ar, usd(10_800))
        .credit(&revenue, usd(10_000))
        .credit(&tax, usd(800))
        .build(EntryId::from_uuid(Uuid::nil()), Utc::now(), &chart)
        .unwrap();
        let mut changes = Changeset::new(Utc::now());
        changes.journal.push(entry);
        run_store(store.commit(changes))
    });
}

fn run_store<T, E: std::fmt::Debug>(future: impl Future<Output = Result<T, E>>) -> T {
    pollster::block_on(future).unwrap()
}
