//! Every write command is safe to retry: sent again with its key, it gets the
//! first result back, says it is a replay, and writes nothing; a key sent again
//! with other content is refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::fmt::Debug;
use std::future::Future;

use chrono::{Days, Duration};
use common::*;
use o2c::customer::{NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::ids::{IdempotencyKey, SupplierId};
use o2c::ledger::IssueCreditNote;
use o2c::money::Currency;
use o2c::order::{AmendOrder, Channel, Hold, PlaceOrder};
use o2c::purchasing::{Offer, ReorderRule, Supplier};
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReturnReason};
use o2c::store::IdempotencyScope;
use o2c::{
    AdjustStock, Applied, Error, ReceivePurchaseOrder, ReceiveReturn, ReceiveStock, RecordPayment,
    RecordRefund, RequestReturn,
};
use rust_decimal_macros::dec;

/// Sends a command twice: the first run is no replay; the second is, returns the
/// same value, and leaves the store (records, stock, books, events) as it was.
async fn twice<T, F, Fut>(w: &World, what: &str, send: F) -> T
where
    T: PartialEq + Debug,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Applied<T>, Error>>,
{
    let first = send()
        .await
        .unwrap_or_else(|e| panic!("{what}: first run failed: {e:?}"));
    assert!(!first.replayed, "{what}: a first run said it was a replay");
    let before = snapshot(&w.oms).await;
    w.clock.advance(Duration::minutes(1));
    let again = send()
        .await
        .unwrap_or_else(|e| panic!("{what}: replay failed: {e:?}"));
    assert!(again.replayed, "{what}: a replay did not say so");
    assert_eq!(
        again.value, first.value,
        "{what}: a replay gave another result"
    );
    assert_eq!(snapshot(&w.oms).await, before, "{what}: a replay wrote");
    first.into_inner()
}

/// The key was spent on other content.
fn reused<T: Debug>(result: Result<T, Error>, scope: IdempotencyScope) {
    match result {
        Err(Error::IdempotencyKeyReused { scope: s, .. }) if s == scope => {}
        other => panic!("expected the key to be refused in {scope:?}, got {other:?}"),
    }
}

fn delivered_event() -> TrackingEvent {
    TrackingEvent {
        at: start() + Duration::hours(24),
        status: ShipmentStatus::Delivered,
        description: "delivered".into(),
    }
}

#[tokio::test]
async fn every_order_to_cash_command_replays_its_first_result() {
    let w = world().await;

    // Master data.
    let mut profile = NewCustomer::new("Acme", "ap@acme.test", us_address("Acme"), Currency::USD);
    profile.terms = PaymentTerms::Net { days: 30 };
    let acme = twice(&w, "register_customer", || {
        w.oms.register_customer(profile.clone(), key("signup-acme"))
    })
    .await;
    let mut other = profile.clone();
    other.email = "other@acme.test".into();
    reused(
        w.oms.register_customer(other, key("signup-acme")).await,
        IdempotencyScope::RegisterCustomer,
    );

    // Stock.
    let receipt = ReceiveStock::new(key("grn-9"), sku("TEE"), loc("WH-EAST"), 5)
        .with_reference("dock 2".into());
    twice(&w, "receive_stock", || w.oms.receive_stock(receipt.clone())).await;
    let count = AdjustStock::new(key("count-9"), sku("MUG"), loc("WH-WEST"), -1, "broken");
    twice(&w, "adjust_stock", || w.oms.adjust_stock(count.clone())).await;

    // An order: placed, amended, held and released, paid, shipped, delivered.
    let cart = PlaceOrder::new(key("cart"), acme.id, Channel::B2b, Currency::USD)
        .line(sku("TEE"), 2)
        .line(sku("MUG"), 1);
    let order = twice(&w, "place_order", || w.oms.place_order(cart.clone())).await;
    let amend = AmendOrder::new(key("amend"), order.id).add_line(sku("BOOK"), 1);
    twice(&w, "amend_order", || w.oms.amend_order(amend.clone())).await;
    twice(&w, "hold_order", || {
        w.oms.hold_order(order.id, Hold::ManualReview, key("hold"))
    })
    .await;
    reused(
        w.oms
            .hold_order(order.id, Hold::CreditLimit, key("hold"))
            .await,
        IdempotencyScope::HoldOrder,
    );
    twice(&w, "release_hold", || {
        w.oms
            .release_hold(order.id, Hold::ManualReview, key("release"))
    })
    .await;
    let invoice = w.oms.order(order.id).await.unwrap().invoices[0];
    let total = w.oms.invoice(invoice).await.unwrap().total().unwrap();
    let pay = RecordPayment::new(key("pay"), invoice, total, PaymentMethod::BankTransfer);
    let payment = twice(&w, "record_payment", || w.oms.record_payment(pay.clone())).await;
    let shipments = twice(&w, "ship", || w.oms.ship(order.id, key("ship"))).await;
    assert!(!shipments.is_empty());
    reused(
        w.oms.ship(acme_order(&w, &acme).await, key("ship")).await,
        IdempotencyScope::Ship,
    );
    for s in &shipments {
        twice(&w, "record_tracking", || {
            w.oms.record_tracking(s.id, delivered_event())
        })
        .await;
        // Asking the carrier again brings nothing new: a replay as well.
        let refreshed = w.oms.refresh_tracking(s.id).await.unwrap();
        assert!(refreshed.replayed, "a refresh with nothing new is a replay");
    }

    // After the sale: a credit note, a refund of the credit, a return.
    let credit = IssueCreditNote::new(key("credit"), invoice, "goodwill")
        .with_lines(vec![(1, Quantity::new(1))]);
    let note = twice(&w, "issue_credit_note", || {
        w.oms.issue_credit_note(credit.clone())
    })
    .await;
    let refund = RecordRefund::new(key("refund"), payment.id, note.total().unwrap());
    twice(&w, "record_refund", || w.oms.record_refund(refund.clone())).await;

    let ask = RequestReturn::new(key("rma"), order.id).with_lines(vec![(
        2,
        Quantity::new(1),
        ReturnReason::NoLongerWanted,
    )]);
    let rma = twice(&w, "request_return", || w.oms.request_return(ask.clone())).await;
    twice(&w, "authorise_return", || {
        w.oms.authorise_return(rma.id, key("rma-ok"))
    })
    .await;
    let back = ReceiveReturn::new(key("rma-in"), rma.id).with_lines(vec![(
        2,
        Quantity::new(1),
        Condition::Resellable {
            location: loc("WH-EAST"),
        },
    )]);
    twice(&w, "receive_return", || w.oms.receive_return(back.clone())).await;

    // Another order: cancelled.
    let second = acme_order(&w, &acme).await;
    twice(&w, "cancel_order", || {
        w.oms.cancel_order(second, "changed mind", key("cancel"))
    })
    .await;
    reused(
        w.oms
            .cancel_order(second, "another reason", key("cancel"))
            .await,
        IdempotencyScope::CancelOrder,
    );
    assert_audit_clean(&w.oms).await;
}

/// A TEE for Acme, on a fresh key.
async fn acme_order(w: &World, acme: &o2c::customer::Customer) -> o2c::ids::OrderId {
    w.oms
        .place_order(
            PlaceOrder::new(
                IdempotencyKey::generate(),
                acme.id,
                Channel::Phone,
                Currency::USD,
            )
            .line(sku("TEE"), 1),
        )
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn returns_rejected_closed_and_exchanged_replay() {
    let w = world().await;
    let acme = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), acme.id, Channel::B2b, Currency::USD)
                .line(sku("TEE"), 3)
                .line(sku("MUG"), 2),
        )
        .await
        .unwrap();
    for s in w.oms.ship(order.id, key("ship")).await.unwrap() {
        w.oms
            .record_tracking(s.id, delivered_event())
            .await
            .unwrap();
    }
    let ask = |k: &str, line: u16, units: u32| {
        RequestReturn::new(key(k), order.id).with_lines(vec![(
            line,
            Quantity::new(units),
            ReturnReason::Damaged,
        )])
    };

    // Rejected.
    let rejected = w.oms.request_return(ask("r1", 1, 1)).await.unwrap();
    twice(&w, "reject_return", || {
        w.oms.reject_return(rejected.id, key("no"))
    })
    .await;

    // Partly received, then closed.
    let partial = w.oms.request_return(ask("r2", 1, 2)).await.unwrap();
    w.oms
        .authorise_return(partial.id, key("ok-2"))
        .await
        .unwrap();
    w.oms
        .receive_return(
            ReceiveReturn::new(key("in-2"), partial.id).with_lines(vec![(
                1,
                Quantity::new(1),
                Condition::Damaged,
            )]),
        )
        .await
        .unwrap();
    twice(&w, "close_return", || {
        w.oms.close_return(partial.id, key("close-2"))
    })
    .await;
    reused(
        w.oms.close_return(rejected.id, key("close-2")).await,
        IdempotencyScope::CloseReturn,
    );

    // An exchange.
    let exchange = ask("x", 2, 1)
        .exchange()
        .with_replacement(vec![o2c::order::LineRequest::new(sku("BOOK"), 1)]);
    twice(&w, "request_exchange", || {
        w.oms.request_exchange(exchange.clone())
    })
    .await;
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn purchasing_commands_replay() {
    let w = world().await;
    let today = start().date_naive();
    let mut seatwell = Supplier::new(
        SupplierId::from_uuid(uuid::Uuid::from_u128(7)),
        "Seatwell",
        Currency::USD,
    );
    seatwell.offers = vec![Offer::new(
        sku("BOOK"),
        usd(dec!(5.00)),
        5,
        today,
        today.checked_add_days(Days::new(60)).unwrap(),
    )];
    w.oms.save_supplier(seatwell.clone()).await.unwrap();
    let east = loc("WH-EAST");
    let needs = [(sku("BOOK"), Quantity::new(10))];

    // Raised, approved, received in part, closed.
    let po = twice(&w, "raise_purchase_order", || {
        w.oms
            .raise_purchase_order(seatwell.id, &east, &needs, key("po-1"))
    })
    .await;
    let more = [(sku("BOOK"), Quantity::new(11))];
    reused(
        w.oms
            .raise_purchase_order(seatwell.id, &east, &more, key("po-1"))
            .await,
        IdempotencyScope::RaisePurchaseOrder,
    );
    twice(&w, "approve_purchase_order", || {
        w.oms.approve_purchase_order(po.id, key("po-1-ok"))
    })
    .await;
    let grn = ReceivePurchaseOrder::new(key("po-1-in"), po.id)
        .with_lines(vec![(sku("BOOK"), Quantity::new(4))]);
    twice(&w, "receive_purchase_order", || {
        w.oms.receive_purchase_order(grn.clone())
    })
    .await;
    twice(&w, "close_purchase_order", || {
        w.oms.close_purchase_order(po.id, key("po-1-end"))
    })
    .await;

    // Raised and cancelled.
    let po2 = w
        .oms
        .raise_purchase_order(seatwell.id, &east, &needs, key("po-2"))
        .await
        .unwrap();
    twice(&w, "cancel_purchase_order", || {
        w.oms.cancel_purchase_order(po2.id, key("po-2-off"))
    })
    .await;

    // Replenished by a min/max rule: the replay returns the same orders, not a
    // second set and not an empty run.
    w.oms
        .set_reorder_rule(ReorderRule {
            sku: sku("BOOK"),
            location: east.clone(),
            min: Quantity::new(20),
            max: Quantity::new(40),
        })
        .await
        .unwrap();
    let raised = twice(&w, "replenish", || w.oms.replenish(&east, key("monday"))).await;
    assert!(!raised.is_empty(), "the rule wants books");
    reused(
        w.oms.replenish(&loc("WH-WEST"), key("monday")).await,
        IdempotencyScope::Replenish,
    );
    // A run that raises nothing spends its key too.
    let idle = twice(&w, "replenish (nothing short)", || {
        w.oms.replenish(&east, key("tuesday"))
    })
    .await;
    assert!(idle.is_empty());
    assert_audit_clean(&w.oms).await;
}
