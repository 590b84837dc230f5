//! Exchanges: a return whose replacement is placed as a new order in the same commit
//! as the last receipt, paid from the credit the return gave; the price difference is
//! left to pay or left as customer credit.
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
use o2c::ids::CustomerId;
use o2c::money::Currency;
use o2c::order::{Channel, Hold, LineRequest, Order, OrderError, OrderStatus, PlaceOrder};
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReturnError, ReturnReason, ReturnStatus};
use o2c::store::Store;
use o2c::{Error, ReceiveReturn, RecordPayment, RecordRefund, RequestExchange, RequestReturn};
use rust_decimal_macros::dec;

/// A prepaid customer's TEE 1 + MUG 1 (22.00 + 13.75), paid, shipped and delivered.
async fn delivered(w: &World, who: CustomerId) -> Order {
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), who, Channel::Web, Currency::USD)
                .line(sku("TEE"), 1)
                .line(sku("MUG"), 1),
        )
        .await
        .unwrap();
    w.oms
        .record_payment(RecordPayment::new(
            key("pay"),
            order.invoices[0],
            usd(dec!(35.75)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    for s in w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
    {
        w.oms
            .record_tracking(
                s.id,
                TrackingEvent {
                    at: start() + Duration::hours(24),
                    status: ShipmentStatus::Delivered,
                    description: "delivered".into(),
                },
            )
            .await
            .unwrap();
    }
    w.oms.order(order.id).await.unwrap()
}

fn exchange(k: &str, order: &Order, line_no: u16, for_sku: &str) -> RequestExchange {
    RequestReturn::new(key(k), order.id)
        .with_lines(vec![(line_no, Quantity::new(1), ReturnReason::WrongItem)])
        .exchange()
        .with_replacement(vec![LineRequest::new(sku(for_sku), 1)])
}

/// Authorises `rma_of` and receives its one line, one unit, in `condition`.
async fn swap(w: &World, cmd: RequestExchange, condition: Condition) -> Order {
    let line_no = cmd.goods_back.lines[0].0;
    let rma = w.oms.request_exchange(cmd).await.unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let rma = w
        .oms
        .receive_return(
            ReceiveReturn::new(key(&format!("in-{}", rma.id)), rma.id).with_lines(vec![(
                line_no,
                Quantity::new(1),
                condition,
            )]),
        )
        .await
        .unwrap();
    assert_eq!(rma.status, ReturnStatus::Received);
    w.oms.order(rma.replacement_order.unwrap()).await.unwrap()
}

#[tokio::test]
async fn a_like_for_like_exchange_is_paid_by_the_return_and_ready_to_ship() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = delivered(&w, c.id).await;
    let replacement = swap(&w, exchange("x", &order, 1, "TEE"), Condition::Damaged).await;

    assert_eq!(replacement.lines[0].sku, sku("TEE"));
    assert_eq!(replacement.invoiced, usd(dec!(22.00)));
    assert_eq!(replacement.paid, usd(dec!(22.00)));
    assert_eq!(replacement.status, OrderStatus::Open);
    assert!(replacement.holds.is_empty());
    assert!(replacement.is_ready_to_ship());
    assert!(replacement.shipping_charge.is_zero());
    let history = w.oms.customer(c.id).await.unwrap().history;
    assert!(history.credit.is_zero());
    assert!(history.balance.is_zero());
    assert_audit_clean(&w.oms).await;
    w.oms
        .ship(replacement.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_dearer_replacement_leaves_the_difference_to_pay() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = delivered(&w, c.id).await;
    // MUG 13.75 back, TEE 22.00 out: 8.25 to pay.
    let east = Condition::Resellable {
        location: loc(EAST),
    };
    let replacement = swap(&w, exchange("x", &order, 2, "TEE"), east).await;
    assert_eq!(replacement.paid, usd(dec!(13.75)));
    let invoice = w.oms.invoice(replacement.invoices[0]).await.unwrap();
    assert_eq!(invoice.outstanding().unwrap(), usd(dec!(8.25)));
    assert_eq!(replacement.holds, vec![Hold::AwaitingPayment]);
    assert_audit_clean(&w.oms).await;

    w.oms
        .record_payment(RecordPayment::new(
            key("top-up"),
            invoice.id,
            usd(dec!(8.25)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    let replacement = w.oms.order(replacement.id).await.unwrap();
    assert!(replacement.holds.is_empty());
    assert!(replacement.is_ready_to_ship());
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_cheaper_replacement_leaves_the_difference_as_refundable_credit() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = delivered(&w, c.id).await;
    // TEE 22.00 back, MUG 13.75 out: 8.25 credit.
    let replacement = swap(&w, exchange("x", &order, 1, "MUG"), Condition::Damaged).await;
    assert_eq!(replacement.paid, usd(dec!(13.75)));
    assert!(replacement.holds.is_empty());
    let history = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(history.credit, usd(dec!(8.25)));

    let payment = w.oms.store().list::<o2c::ledger::Payment>().await.unwrap();
    let card = payment
        .iter()
        .find(|p| p.value.method == PaymentMethod::Card)
        .unwrap();
    w.oms
        .record_refund(RecordRefund::new(
            key("refund"),
            card.value.id,
            usd(dec!(8.25)),
        ))
        .await
        .unwrap();
    assert!(w.oms.customer(c.id).await.unwrap().history.credit.is_zero());
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn the_replacement_waits_for_the_whole_return_and_is_placed_once() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 2),
        )
        .await
        .unwrap();
    w.oms
        .record_payment(RecordPayment::new(
            key("pay"),
            order.invoices[0],
            usd(dec!(44.00)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    for s in w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
    {
        w.oms
            .record_tracking(
                s.id,
                TrackingEvent {
                    at: start() + Duration::hours(24),
                    status: ShipmentStatus::Delivered,
                    description: "delivered".into(),
                },
            )
            .await
            .unwrap();
    }
    let mut cmd = exchange("x", &order, 1, "MUG");
    cmd.goods_back.lines[0].1 = Quantity::new(2);
    cmd.replacement[0].quantity = 2;
    let rma = w.oms.request_exchange(cmd).await.unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let first = ReceiveReturn::new(key("in-1"), rma.id).with_lines(vec![(
        1,
        Quantity::new(1),
        Condition::Damaged,
    )]);
    let part = w.oms.receive_return(first.clone()).await.unwrap();
    assert_eq!(part.status, ReturnStatus::PartiallyReceived);
    assert!(part.replacement_order.is_none());
    let rest = ReceiveReturn::new(key("in-2"), rma.id).with_lines(vec![(
        1,
        Quantity::new(1),
        Condition::Damaged,
    )]);
    let done = w.oms.receive_return(rest.clone()).await.unwrap();
    let again = w.oms.receive_return(rest).await.unwrap();
    assert_eq!(done.replacement_order, again.replacement_order);
    assert_eq!(w.oms.customer_orders(c.id).await.unwrap().len(), 2);
    // Two MUG (27.50) from 44.00 of credit: 16.50 left.
    let history = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(history.credit, usd(dec!(16.50)));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn an_exchange_closed_short_places_no_replacement_and_leaves_the_credit() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = delivered(&w, c.id).await;
    let mut cmd = exchange("x", &order, 1, "MUG");
    cmd.goods_back
        .lines
        .push((2, Quantity::new(1), ReturnReason::WrongItem));
    cmd.replacement[0].quantity = 2;
    let rma = w.oms.request_exchange(cmd).await.unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    // Only the TEE (22.00) comes back; the MUG never does.
    w.oms
        .receive_return(ReceiveReturn::new(key("in-1"), rma.id).with_lines(vec![(
            1,
            Quantity::new(1),
            Condition::Damaged,
        )]))
        .await
        .unwrap();
    let closed = w
        .oms
        .close_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(closed.status, ReturnStatus::Closed);
    assert!(closed.replacement_order.is_none());
    assert_eq!(w.oms.customer_orders(c.id).await.unwrap().len(), 1);
    let history = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(history.credit, usd(dec!(22.00)));
    let line = &w.oms.order(order.id).await.unwrap().lines[1];
    assert!(
        line.return_requested.is_zero(),
        "the MUG can be asked back again"
    );

    let payments = w.oms.store().list::<o2c::ledger::Payment>().await.unwrap();
    let card = payments
        .iter()
        .find(|p| p.value.method == PaymentMethod::Card)
        .unwrap();
    w.oms
        .record_refund(RecordRefund::new(
            key("refund"),
            card.value.id,
            usd(dec!(22.00)),
        ))
        .await
        .unwrap();
    assert!(w.oms.customer(c.id).await.unwrap().history.credit.is_zero());
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_replacement_short_of_stock_is_back_ordered_not_refused() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = delivered(&w, c.id).await;
    let mut cmd = exchange("x", &order, 1, "BOOK");
    cmd.replacement[0].quantity = 9;
    let replacement = swap(&w, cmd, Condition::Damaged).await;
    assert_eq!(replacement.lines[0].backordered, Quantity::new(1));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn bad_exchanges_are_refused_with_nothing_written() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = delivered(&w, c.id).await;
    let before = snapshot(&w.oms).await;

    let mut empty = exchange("e", &order, 1, "TEE");
    empty.replacement.clear();
    let got = w.oms.request_exchange(empty).await;
    assert!(
        matches!(got, Err(Error::Return(ReturnError::NoReplacement))),
        "{got:?}"
    );

    let got = w
        .oms
        .request_exchange(exchange("u", &order, 1, "NOPE"))
        .await;
    assert!(
        matches!(got, Err(Error::Order(OrderError::UnknownSku(ref s))) if *s == sku("NOPE")),
        "{got:?}"
    );

    let mut euros = exchange("c", &order, 1, "TEE");
    euros.replacement[0].unit_price = Some(o2c::money::Money::new(dec!(1), Currency::EUR));
    let got = w.oms.request_exchange(euros).await;
    assert!(
        matches!(got, Err(Error::Order(OrderError::CurrencyMismatch { .. }))),
        "{got:?}"
    );

    let mut too_many = exchange("m", &order, 1, "TEE");
    too_many.goods_back.lines[0].1 = Quantity::new(2);
    let got = w.oms.request_exchange(too_many).await;
    assert!(
        matches!(got, Err(Error::Return(ReturnError::NotReturnable { .. }))),
        "{got:?}"
    );
    assert_eq!(snapshot(&w.oms).await, before);
}
