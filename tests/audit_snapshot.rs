//! The audit reads one snapshot: run again and again while 16 callers place, pay
//! and ship, it never reports a violation that is not there. Read piece by piece,
//! an order read before its shipment committed and the shipment read after would
//! disagree, and so would a balance read before a payment and its invoice after.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::customer::{Customer, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::PickupCarrier;
use o2c::money::Currency;
use o2c::order::{Channel, PlaceOrder};
use o2c::stock::{Location, LocationKind};
use o2c::store::{MemoryStore, Store};
use o2c::{Error, Oms, ReceiveStock, RecordPayment};
use rust_decimal_macros::dec;

/// Callers and orders per caller; `O2C_AUDIT_CALLERS` and `O2C_AUDIT_ORDERS`
/// raise them for a longer run (`cargo test --release --all-features --test
/// audit_snapshot -- --nocapture`).
fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn callers() -> usize {
    knob("O2C_AUDIT_CALLERS", 16)
}

fn orders_per_caller() -> usize {
    knob("O2C_AUDIT_ORDERS", 12)
}

type Shop<S> = Oms<S, Carriers>;

/// TEE and MUG with plenty of stock in one warehouse, and one card customer per caller.
async fn shop<S: Store>(store: S) -> (Arc<Shop<S>>, Vec<Customer>) {
    let oms = Oms::new(store, (parcel_carrier(), PickupCarrier::new()));
    oms.set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, dec!(0.10)))
        .await
        .unwrap();
    oms.save_location(Location::new(
        loc(EAST),
        EAST,
        LocationKind::Warehouse,
        us_address(EAST),
        1,
    ))
    .await
    .unwrap();
    for (code, price, cost) in [
        ("TEE", dec!(20.00), dec!(8.00)),
        ("MUG", dec!(12.50), dec!(4.00)),
    ] {
        let p = Product::new(sku(code), code, usd(price), usd(cost), TaxClass::standard());
        oms.save_product(p).await.unwrap();
        oms.receive_stock(
            ReceiveStock::new(key(&format!("in-{code}")), sku(code), loc(EAST), 10_000)
                .with_reference("opening".into()),
        )
        .await
        .unwrap();
    }
    let mut customers = Vec::new();
    for n in 0..callers() {
        let name = format!("Buyer{n}");
        let mut profile = NewCustomer::new(
            name.as_str(),
            format!("buyer{n}@example.com"),
            us_address(&name),
            Currency::USD,
        );
        profile.terms = PaymentTerms::Prepaid;
        profile.payment_method = PaymentMethod::Card;
        customers.push(
            oms.register_customer(profile, o2c::ids::IdempotencyKey::generate())
                .await
                .unwrap()
                .into_inner(),
        );
    }
    (Arc::new(oms), customers)
}

/// One caller's work: place, pay and ship, one order after another. A command
/// that loses too many races gives up with `Contention`; that is the pipeline's
/// business, not the audit's, so it is counted and the caller goes on.
async fn sell<S: Store + 'static>(oms: Arc<Shop<S>>, who: Customer, caller: usize) -> usize {
    let mut gave_up = 0;
    for n in 0..orders_per_caller() {
        let cmd = PlaceOrder::new(
            key(&format!("o-{caller}-{n}")),
            who.id,
            Channel::Web,
            Currency::USD,
        )
        .line(sku("TEE"), 1 + (n % 2) as i64)
        .line(sku("MUG"), 1);
        let order = match oms.place_order(cmd).await {
            Ok(order) => order,
            Err(Error::Contention { .. }) => {
                gave_up += 1;
                continue;
            }
            Err(e) => panic!("place: {e}"),
        };
        let invoice = oms.invoice(order.invoices[0]).await.unwrap();
        let pay = RecordPayment::new(
            key(&format!("p-{caller}-{n}")),
            invoice.id,
            invoice.total().unwrap(),
            PaymentMethod::Card,
        );
        match oms.record_payment(pay).await {
            Ok(_) => {}
            Err(Error::Contention { .. }) => {
                gave_up += 1;
                continue;
            }
            Err(e) => panic!("pay: {e}"),
        }
        match oms
            .ship(order.id, o2c::ids::IdempotencyKey::generate())
            .await
        {
            Ok(_) | Err(Error::Contention { .. }) => {}
            Err(e) => panic!("ship: {e}"),
        }
    }
    gave_up
}

/// Audits until the callers are done; every report must be clean.
async fn audit_while_selling<S: Store + 'static>(name: &str, store: S) {
    let (oms, customers) = shop(store).await;
    let done = Arc::new(AtomicBool::new(false));
    let audits = Arc::new(AtomicUsize::new(0));
    let auditor = {
        let (oms, done, audits) = (oms.clone(), done.clone(), audits.clone());
        tokio::spawn(async move {
            loop {
                let finished = done.load(Ordering::Acquire);
                let report = oms.audit().await.unwrap();
                assert!(
                    report.is_clean(),
                    "audit under load: {:?}",
                    report.violations
                );
                audits.fetch_add(1, Ordering::Relaxed);
                if finished {
                    break;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let sellers: Vec<_> = customers
        .into_iter()
        .enumerate()
        .map(|(n, who)| tokio::spawn(sell(oms.clone(), who, n)))
        .collect();
    let mut gave_up = 0;
    for seller in sellers {
        gave_up += seller.await.unwrap();
    }
    done.store(true, Ordering::Release);
    auditor.await.unwrap();
    assert!(
        audits.load(Ordering::Relaxed) >= 2,
        "the audit ran while orders came in"
    );
    let report = oms.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    assert!(report.orders > callers(), "{report:?}");
    eprintln!(
        "{name}: {} callers × {} orders: {} orders placed, {} audits while selling, {gave_up} commands gave up with Contention",
        callers(),
        orders_per_caller(),
        report.orders,
        audits.load(Ordering::Relaxed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_audit_sees_one_snapshot_of_a_busy_memory_store() {
    audit_while_selling("memory", MemoryStore::new()).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_audit_sees_one_snapshot_of_a_busy_sqlite_file() {
    use o2c::store::sqlite::{Durability, SqliteOptions, SqliteStore};
    let path =
        std::env::temp_dir().join(format!("o2c-audit-snapshot-{}.sqlite3", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let options = SqliteOptions::default().with_durability(Durability::Normal);
    audit_while_selling("sqlite", SqliteStore::open(&path, options).unwrap()).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
