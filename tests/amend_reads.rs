//! What an amendment reads: the order (with its key), then everything the order
//! names in one read, and one more read only when the decision needs it — the
//! supply for a short line, the orders waiting for units it frees.
#![cfg(feature = "testing")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::order::{AmendOrder, Channel, PlaceOrder};
use o2c::purchasing::BackOrderPolicy;
use o2c::store::{MemoryStore, Store};
use o2c::testing::Counting;
use o2c::{Oms, ReceiveStock};

#[tokio::test]
async fn an_amendment_reads_twice_and_once_more_only_for_what_it_needs() {
    let w = world().await;
    let counted = Counting::new(MemoryStore::new());
    let oms = Oms::new(&counted, parcel_carrier())
        .with_clock(w.clock.clone())
        .with_config(w.oms.config().clone())
        .unwrap();
    for p in w.oms.store().list::<o2c::catalog::Product>().await.unwrap() {
        oms.save_product(p.value).await.unwrap();
    }
    for l in w.oms.store().list::<o2c::stock::Location>().await.unwrap() {
        oms.save_location(l.value).await.unwrap();
    }
    let tax = w.oms.store().load::<o2c::catalog::TaxTable>(&()).await;
    oms.set_tax_table(tax.unwrap().unwrap().value)
        .await
        .unwrap();
    let mut profile = o2c::customer::NewCustomer::new(
        "Ann",
        "ann@example.com",
        us_address("Ann"),
        o2c::money::Currency::USD,
    );
    profile.terms = PaymentTerms::Net { days: 30 };
    profile.payment_method = PaymentMethod::BankTransfer;
    let ann = oms
        .register_customer(profile, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    oms.receive_stock(
        ReceiveStock::new(key("in-1"), sku("TEE"), loc(EAST), 2).with_reference("opening".into()),
    )
    .await
    .unwrap();
    let place = |k: &str, units: i64| {
        PlaceOrder::new(key(k), ann.id, Channel::Web, o2c::money::Currency::USD)
            .line(sku("TEE"), units)
            .back_order(BackOrderPolicy::BackOrder)
    };
    let first = oms.place_order(place("o-1", 2)).await.unwrap();
    let waiting = oms.place_order(place("o-2", 1)).await.unwrap();
    assert_eq!(waiting.lines[0].backordered.units(), 1);

    // A unit added that is short waits for the supply's promise: read once more.
    counted.take();
    oms.amend_order(AmendOrder::new(key("a-1"), waiting.id).set_quantity(1, 2))
        .await
        .unwrap();
    assert_eq!(counted.take().reads, 3, "short: the supply read");

    // A unit freed goes to the order waiting for it: read once more.
    oms.amend_order(AmendOrder::new(key("a-2"), first.id).set_quantity(1, 1))
        .await
        .unwrap();
    assert_eq!(counted.take().reads, 3, "freed: the waiting orders read");
    let filled = oms.order(waiting.id).await.unwrap();
    // (Invoiced when placed, so the unit added went to a line grown from it.)
    let backordered: u32 = filled.lines.iter().map(|l| l.backordered.units()).sum();
    assert_eq!(filled.lines[0].reservations[0].quantity.units(), 1);
    assert_eq!(backordered, 1);

    // Nothing short, nothing freed to anyone: two reads.
    counted.take();
    oms.amend_order(AmendOrder::new(key("a-3"), filled.id).remove_line(2))
        .await
        .unwrap();
    let calls = counted.take();
    assert_eq!(calls.reads, 2, "the order, then what it names: {calls:?}");
}
