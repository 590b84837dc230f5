//! Regressions from review of credits and returns: a return then cancelling the rest,
//! credit notes and returns that settle an order, cancelling an order that carries
//! credit notes, a return on an order still waiting for the same SKU, and one
//! receipt naming a line twice.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use chrono::Duration;
use common::*;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::ids::ShipmentId;
use o2c::money::Currency;
use o2c::order::{Channel, Order, OrderStatus, PlaceOrder};
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReturnReason};
use o2c::{IssueCreditNote, ReceiveReturn, RecordPayment, RequestReturn};
use rust_decimal_macros::dec;

async fn deliver(w: &World, shipments: &[ShipmentId]) {
    for id in shipments {
        w.oms
            .record_tracking(
                *id,
                TrackingEvent {
                    at: start() + Duration::hours(24),
                    status: ShipmentStatus::Delivered,
                    description: "delivered".into(),
                },
            )
            .await
            .unwrap();
    }
}

/// 25 TEE, 20 ship (ShipAvailable), 5 back-ordered; invoiced on order (550.00).
async fn partly_shipped_delivered(w: &World, who: o2c::ids::CustomerId) -> Order {
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("big"), who, Channel::B2b, Currency::USD)
                .line(sku("TEE"), 25)
                .back_order(o2c::purchasing::BackOrderPolicy::ShipAvailable),
        )
        .await
        .unwrap();
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let order = w.oms.order(order.id).await.unwrap();
    deliver(w, &order.shipments).await;
    w.oms.order(order.id).await.unwrap()
}

async fn return_units(
    w: &World,
    order: &Order,
    k: &str,
    units: u32,
    cond: Condition,
) -> Result<(), o2c::Error> {
    let rma = w
        .oms
        .request_return(
            RequestReturn::new(key(&format!("{k}-ask")), order.id).with_lines(vec![(
                1,
                Quantity::new(units),
                ReturnReason::Defective,
            )]),
        )
        .await?;
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await?;
    w.oms
        .receive_return(
            ReceiveReturn::new(key(&format!("{k}-in")), rma.id).with_lines(vec![(
                1,
                Quantity::new(units),
                cond,
            )]),
        )
        .await?;
    Ok(())
}

/// Return 5 delivered units, then cancel the 5 never shipped: all 10 must be credited.
#[tokio::test]
async fn return_then_cancel_rest_credits_the_unshipped_units() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = partly_shipped_delivered(&w, c.id).await;
    assert_eq!(order.lines[0].shipped.units(), 20);
    return_units(&w, &order, "r", 5, Condition::Damaged)
        .await
        .unwrap();
    assert_eq!(
        w.oms.order(order.id).await.unwrap().credit_total(),
        usd(dec!(110.00))
    );
    w.oms
        .cancel_order(
            order.id,
            "rest not wanted",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    let after = w.oms.order(order.id).await.unwrap();
    assert_audit_clean(&w.oms).await;
    // 15 kept × 22.00 = 330.00 owed; 550 − 330 = 220 must be credited.
    let inv = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(
        inv.outstanding().unwrap(),
        usd(dec!(330.00)),
        "customer billed for units never shipped"
    );
    assert_eq!(after.credit_total(), usd(dec!(220.00)));
}

/// A goodwill credit note that settles the last of a delivered order completes it.
#[tokio::test]
async fn a_credit_note_settling_a_delivered_order_completes_it() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 2),
        )
        .await
        .unwrap();
    let shipments: Vec<_> = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    deliver(&w, &shipments).await;
    // 44.00 invoiced; pay 22.00, credit one unit.
    w.oms
        .record_payment(RecordPayment::new(
            key("p"),
            order.invoices[0],
            usd(dec!(22.00)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    w.oms
        .issue_credit_note(
            IssueCreditNote::new(key("cn"), order.invoices[0], "goodwill")
                .with_lines(vec![(1, Quantity::new(1))]),
        )
        .await
        .unwrap();
    let after = w.oms.order(order.id).await.unwrap();
    assert!(
        after.is_complete() || after.status == OrderStatus::Completed,
        "delivered and settled but status {:?}",
        after.status
    );
    assert_eq!(
        after.status,
        OrderStatus::Completed,
        "stuck open: nothing can complete it now"
    );
}

/// Returning every unit of an unpaid delivered order settles it by credit: it must complete.
#[tokio::test]
async fn a_full_return_of_an_unpaid_order_completes_it() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 2),
        )
        .await
        .unwrap();
    let shipments: Vec<_> = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    deliver(&w, &shipments).await;
    let order = w.oms.order(order.id).await.unwrap();
    return_units(&w, &order, "r", 2, Condition::Damaged)
        .await
        .unwrap();
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Completed
    );
}

/// Cancelling (whole, nothing shipped) an order whose invoice carries a credit note.
#[tokio::test]
async fn cancelling_an_order_after_a_credit_note_keeps_the_books() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 2),
        )
        .await
        .unwrap();
    w.oms
        .issue_credit_note(
            IssueCreditNote::new(key("cn"), order.invoices[0], "price adjustment")
                .with_lines(vec![(1, Quantity::new(1))]),
        )
        .await
        .unwrap();
    w.oms
        .cancel_order(
            order.id,
            "changed mind",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    let buyer = w.oms.customer(c.id).await.unwrap();
    assert!(
        buyer.history.balance.is_zero(),
        "balance {}",
        buyer.history.balance
    );
    assert_audit_clean(&w.oms).await;
}

/// A resellable return on an order that itself waits for the same SKU.
#[tokio::test]
async fn a_resellable_return_on_an_order_waiting_for_its_sku() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = partly_shipped_delivered(&w, c.id).await;
    assert_eq!(order.lines[0].backordered.units(), 5);
    let r = return_units(
        &w,
        &order,
        "r",
        1,
        Condition::Resellable {
            location: loc(EAST),
        },
    )
    .await;
    r.unwrap();
    assert_audit_clean(&w.oms).await;
}

/// One receipt naming the same line twice (1 resellable, 1 damaged) after a goodwill
/// credit left one unit invoiced: credit what is still invoiced, don't refuse.
#[tokio::test]
async fn one_receipt_with_a_line_twice_after_a_goodwill_credit() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 2),
        )
        .await
        .unwrap();
    let shipments: Vec<_> = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    deliver(&w, &shipments).await;
    w.oms
        .issue_credit_note(
            IssueCreditNote::new(key("cn"), order.invoices[0], "goodwill")
                .with_lines(vec![(1, Quantity::new(1))]),
        )
        .await
        .unwrap();
    let rma = w
        .oms
        .request_return(RequestReturn::new(key("ask"), order.id).with_lines(vec![(
            1,
            Quantity::new(2),
            ReturnReason::Defective,
        )]))
        .await
        .unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .receive_return(ReceiveReturn::new(key("in"), rma.id).with_lines(vec![
            (
                1,
                Quantity::new(1),
                Condition::Resellable {
                    location: loc(EAST),
                },
            ),
            (1, Quantity::new(1), Condition::Damaged),
        ]))
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
}

/// A return on an order invoiced per shipment credits the invoice still owing
/// before a paid one: the credit settles a debt rather than becoming refundable
/// credit while the customer still owes.
#[tokio::test]
async fn a_return_credits_the_invoice_still_owing_first() {
    let w = world_with(
        o2c::OmsConfig::default().with_invoice_policy(o2c::ledger::InvoicePolicy::OnShipment),
    )
    .await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::B2b, Currency::USD)
                .line(sku("TEE"), 25)
                .back_order(o2c::purchasing::BackOrderPolicy::ShipAvailable),
        )
        .await
        .unwrap();
    let first = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .receive_stock(
            o2c::ReceiveStock::new(key("restock"), sku("TEE"), loc(EAST), 5)
                .with_reference("restock".into()),
        )
        .await
        .unwrap();
    let second = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let ids: Vec<ShipmentId> = first.iter().chain(&second).map(|s| s.id).collect();
    deliver(&w, &ids).await;
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.invoices.len(), 2);
    // The newer invoice (5 units, 110.00) paid; the older (20 units) still open.
    w.oms
        .record_payment(RecordPayment::new(
            key("pay"),
            order.invoices[1],
            usd(dec!(110.00)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    return_units(&w, &order, "r", 5, Condition::Damaged)
        .await
        .unwrap();
    let buyer = w.oms.customer(c.id).await.unwrap();
    assert!(
        buyer.history.credit.is_zero(),
        "no refundable credit while owing"
    );
    assert_eq!(buyer.history.balance, usd(dec!(330.00)), "440.00 − 110.00");
    assert_audit_clean(&w.oms).await;
}
