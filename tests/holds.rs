//! Holds: the prepayment hold and its automatic release, credit-limit holds from customer exposure, manual review holds, and releasing holds an order does not have.
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
use o2c::event::Event;
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::ids::{CustomerId, OrderId};
use o2c::ledger::{AccountCode, InvoicePolicy, InvoiceStatus};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Hold, Order, OrderError, OrderStatus, PlaceOrder};
use o2c::store::Store;
use o2c::{OmsConfig, RecordPayment};
use rust_decimal_macros::dec;

async fn balance(w: &World, code: &str) -> Money {
    w.oms
        .trial_balance()
        .await
        .unwrap()
        .balance(&AccountCode::new(code), Currency::USD)
}

async fn last_event(w: &World) -> u64 {
    w.oms.store().last_event_sequence().await.unwrap()
}

async fn events_since(w: &World, cursor: u64) -> Vec<Event> {
    w.oms
        .events_after(cursor, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

async fn level(w: &World, s: &str, at: &str) -> (i64, i64) {
    let l = w.oms.stock_level(&sku(s), &loc(at)).await.unwrap();
    (l.on_hand, l.reserved)
}

/// `n` TEE at 20.00 + 10 % tax: 22.00 each.
async fn order_tees(w: &World, k: &str, who: CustomerId, n: i64) -> Order {
    w.oms
        .place_order(PlaceOrder::new(key(k), who, Channel::Web, Currency::USD).line(sku("TEE"), n))
        .await
        .unwrap()
        .into_inner()
}

async fn pay(w: &World, k: &str, order: &Order, amount: Money) {
    w.oms
        .record_payment(RecordPayment::new(
            key(k),
            order.invoices[0],
            amount,
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
}

async fn ready_ids(w: &World) -> Vec<OrderId> {
    w.oms
        .orders_ready_to_ship(100)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect()
}

/// Asserts `ship` is refused for exactly `holds` and changes nothing.
async fn assert_ship_blocked(w: &World, order: OrderId, holds: Vec<Hold>) {
    let before = snapshot(&w.oms).await;
    assert_eq!(
        order_error(
            w.oms
                .ship(order, o2c::ids::IdempotencyKey::generate())
                .await
        ),
        OrderError::OnHold { holds }
    );
    assert_eq!(snapshot(&w.oms).await, before);
}

#[tokio::test]
async fn prepayment_hold_blocks_shipping_until_paid_in_full() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    // TEE 3: 60.00 + 6.00 tax = 66.00.
    let order = order_tees(&w, "pre", c.id, 3).await;
    assert_eq!(order.total().unwrap(), usd(dec!(66.00)));
    assert_eq!(order.status, OrderStatus::OnHold);
    assert_eq!(order.holds, vec![Hold::AwaitingPayment]);
    assert!(ready_ids(&w).await.is_empty(), "held orders are not ready");
    assert_ship_blocked(&w, order.id, vec![Hold::AwaitingPayment]).await;
    assert_eq!(level(&w, "TEE", EAST).await, (10, 3), "still reserved");
    assert_audit_clean(&w.oms).await;

    // 40.00 of 66.00: the hold stays.
    let cursor = last_event(&w).await;
    pay(&w, "pre-1", &order, usd(dec!(40.00))).await;
    assert_audit_clean(&w.oms).await;
    let after_partial = w.oms.order(order.id).await.unwrap();
    assert_eq!(after_partial.status, OrderStatus::OnHold);
    assert_eq!(after_partial.holds, vec![Hold::AwaitingPayment]);
    assert_eq!(after_partial.paid, usd(dec!(40.00)));
    assert_eq!(balance(&w, "1100").await, usd(dec!(26.00)));
    let events = events_since(&w, cursor).await;
    assert_eq!(events.len(), 1);
    assert!(matches!(events[0], Event::PaymentRecorded { .. }));
    assert_ship_blocked(&w, order.id, vec![Hold::AwaitingPayment]).await;

    // The remaining 26.00 releases it automatically.
    let cursor = last_event(&w).await;
    pay(&w, "pre-2", &order, usd(dec!(26.00))).await;
    assert_audit_clean(&w.oms).await;
    let paid = w.oms.order(order.id).await.unwrap();
    assert_eq!(paid.status, OrderStatus::Open);
    assert!(paid.holds.is_empty());
    assert!(balance(&w, "1100").await.is_zero());
    assert_eq!(balance(&w, "1020").await, usd(dec!(66.00)));
    let events = events_since(&w, cursor).await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1],
        Event::HoldReleased {
            order: order.id,
            hold: Hold::AwaitingPayment
        }
    );
    assert_eq!(ready_ids(&w).await, vec![order.id]);

    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(shipments.len(), 1);
    assert_eq!(level(&w, "TEE", EAST).await, (7, 0));
    assert!(ready_ids(&w).await.is_empty());
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn credit_limit_hold_when_exposure_exceeds_the_limit() {
    let w = world().await;
    let c = customer(
        &w,
        "Acme",
        PaymentTerms::Net { days: 30 },
        Some(usd(dec!(100.00))),
    )
    .await;
    let cursor = last_event(&w).await;
    // TEE 5: 100.00 + 10.00 tax = 110.00 > 100.00.
    let order = order_tees(&w, "over", c.id, 5).await;
    assert_audit_clean(&w.oms).await;
    assert_eq!(order.total().unwrap(), usd(dec!(110.00)));
    assert_eq!(order.status, OrderStatus::OnHold);
    assert_eq!(order.holds, vec![Hold::CreditLimit]);
    assert!(events_since(&w, cursor).await.contains(&Event::OrderHeld {
        order: order.id,
        hold: Hold::CreditLimit
    }));
    // Held, but still invoiced on order (terms customer, default policy).
    assert_eq!(balance(&w, "1100").await, usd(dec!(110.00)));
    assert_ship_blocked(&w, order.id, vec![Hold::CreditLimit]).await;

    // Paying does not lift a credit hold: only a person does.
    pay(&w, "over-pay", &order, usd(dec!(110.00))).await;
    let paid = w.oms.order(order.id).await.unwrap();
    assert_eq!(paid.status, OrderStatus::OnHold);
    assert_eq!(paid.holds, vec![Hold::CreditLimit]);
    assert_eq!(
        w.oms.invoice(order.invoices[0]).await.unwrap().status,
        InvoiceStatus::Paid
    );
    assert_ship_blocked(&w, order.id, vec![Hold::CreditLimit]).await;

    let released = w
        .oms
        .release_hold(
            order.id,
            Hold::CreditLimit,
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_eq!(released.status, OrderStatus::Open);
    assert!(released.holds.is_empty());
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(level(&w, "TEE", EAST).await, (5, 0));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn no_credit_hold_within_the_limit_or_exactly_at_it() {
    let w = world().await;
    let c = customer(
        &w,
        "Acme",
        PaymentTerms::Net { days: 30 },
        Some(usd(dec!(100.00))),
    )
    .await;
    // TEE 4: 88.00 ≤ 100.00.
    let order = order_tees(&w, "within", c.id, 4).await;
    assert_eq!(order.total().unwrap(), usd(dec!(88.00)));
    assert_eq!(order.status, OrderStatus::Open);
    assert!(order.holds.is_empty());
    assert_eq!(ready_ids(&w).await, vec![order.id]);

    // A limit of exactly 88.00 is reached, not exceeded.
    let exact = customer(
        &w,
        "Exact",
        PaymentTerms::Net { days: 30 },
        Some(usd(dec!(88.00))),
    )
    .await;
    let at_limit = order_tees(&w, "exact", exact.id, 4).await;
    assert_eq!(at_limit.status, OrderStatus::Open);
    assert!(at_limit.holds.is_empty());

    // No limit at all: never a credit hold.
    let unlimited = customer(&w, "Big", PaymentTerms::Net { days: 60 }, None).await;
    let big = order_tees(&w, "big", unlimited.id, 10).await;
    assert_eq!(big.total().unwrap(), usd(dec!(220.00)));
    assert_eq!(big.status, OrderStatus::Open);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn exposure_includes_the_open_balance() {
    let w = world().await;
    let c = customer(
        &w,
        "Acme",
        PaymentTerms::Net { days: 30 },
        Some(usd(dec!(100.00))),
    )
    .await;
    // 88.00 invoiced and unpaid.
    let first = order_tees(&w, "first", c.id, 4).await;
    assert_eq!(first.status, OrderStatus::Open);
    assert_eq!(
        w.oms.customer(c.id).await.unwrap().history.balance,
        usd(dec!(88.00))
    );
    // 88.00 owed + 22.00 new = 110.00 > 100.00.
    let second = order_tees(&w, "second", c.id, 1).await;
    assert_eq!(second.holds, vec![Hold::CreditLimit]);
    assert_eq!(
        w.oms.customer(c.id).await.unwrap().history.balance,
        usd(dec!(110.00))
    );

    // Paying the first leaves 22.00 owed: 22.00 + 22.00 = 44.00 fits again.
    pay(&w, "first-pay", &first, usd(dec!(88.00))).await;
    let third = order_tees(&w, "third", c.id, 1).await;
    assert_eq!(third.status, OrderStatus::Open);
    assert!(third.holds.is_empty());
    // The second order's hold is not lifted by the payment.
    assert_eq!(
        w.oms.order(second.id).await.unwrap().holds,
        vec![Hold::CreditLimit]
    );
    assert_eq!(balance(&w, "1100").await, usd(dec!(44.00)));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn exposure_includes_orders_not_yet_invoiced() {
    let w = world_with(OmsConfig::default().with_invoice_policy(InvoicePolicy::OnShipment)).await;
    let c = customer(
        &w,
        "Acme",
        PaymentTerms::Net { days: 30 },
        Some(usd(dec!(100.00))),
    )
    .await;
    let first = order_tees(&w, "first", c.id, 4).await;
    assert_eq!(first.status, OrderStatus::Open);
    let h = w.oms.customer(c.id).await.unwrap().history;
    assert!(h.balance.is_zero());
    assert_eq!(h.uninvoiced, usd(dec!(88.00)));
    // 0.00 owed + 88.00 uninvoiced + 22.00 = 110.00 > 100.00.
    let second = order_tees(&w, "second", c.id, 1).await;
    assert_eq!(second.status, OrderStatus::OnHold);
    assert_eq!(second.holds, vec![Hold::CreditLimit]);
    assert_eq!(
        w.oms.customer(c.id).await.unwrap().history.uninvoiced,
        usd(dec!(110.00))
    );
    assert!(balance(&w, "1100").await.is_zero());
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn manual_review_hold_and_release() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = order_tees(&w, "review", c.id, 2).await;
    assert_eq!(order.status, OrderStatus::Open);

    let cursor = last_event(&w).await;
    let held = w
        .oms
        .hold_order(
            order.id,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_eq!(held.status, OrderStatus::OnHold);
    assert_eq!(held.holds, vec![Hold::ManualReview]);
    assert_eq!(w.oms.order(order.id).await.unwrap(), held.into_inner());
    assert_eq!(
        events_since(&w, cursor).await,
        vec![Event::OrderHeld {
            order: order.id,
            hold: Hold::ManualReview
        }]
    );
    assert!(ready_ids(&w).await.is_empty());
    assert_ship_blocked(&w, order.id, vec![Hold::ManualReview]).await;
    assert_audit_clean(&w.oms).await;

    // Holding again for the same reason keeps one hold and says nothing new.
    let cursor = last_event(&w).await;
    let again = w
        .oms
        .hold_order(
            order.id,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_eq!(again.holds, vec![Hold::ManualReview]);
    assert!(events_since(&w, cursor).await.is_empty());

    let cursor = last_event(&w).await;
    let released = w
        .oms
        .release_hold(
            order.id,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_eq!(released.status, OrderStatus::Open);
    assert!(released.holds.is_empty());
    assert_eq!(
        events_since(&w, cursor).await,
        vec![Event::HoldReleased {
            order: order.id,
            hold: Hold::ManualReview
        }]
    );
    assert_eq!(ready_ids(&w).await, vec![order.id]);
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(level(&w, "TEE", EAST).await, (8, 0));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn payment_lifts_only_the_prepayment_hold_when_a_review_is_pending() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = order_tees(&w, "both", c.id, 1).await;
    let held = w
        .oms
        .hold_order(
            order.id,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_eq!(held.holds, vec![Hold::AwaitingPayment, Hold::ManualReview]);

    pay(&w, "both-pay", &order, usd(dec!(22.00))).await;
    let paid = w.oms.order(order.id).await.unwrap();
    assert_eq!(paid.status, OrderStatus::OnHold);
    assert_eq!(paid.holds, vec![Hold::ManualReview]);
    assert_ship_blocked(&w, order.id, vec![Hold::ManualReview]).await;
    assert_audit_clean(&w.oms).await;

    let released = w
        .oms
        .release_hold(
            order.id,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_eq!(released.status, OrderStatus::Open);
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_hold_placed_after_shipping_delays_completion_until_released() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = order_tees(&w, "late", c.id, 1).await;
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .hold_order(
            order.id,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    w.oms
        .record_tracking(
            shipments[0].id,
            TrackingEvent {
                at: start() + Duration::hours(30),
                status: ShipmentStatus::Delivered,
                description: "delivered".into(),
            },
        )
        .await
        .unwrap();
    pay(&w, "late-pay", &order, usd(dec!(22.00))).await;
    let waiting = w.oms.order(order.id).await.unwrap();
    assert_eq!(
        waiting.status,
        OrderStatus::OnHold,
        "delivered and paid, but held"
    );
    assert!(waiting.closed_at.is_none());
    assert_audit_clean(&w.oms).await;

    let cursor = last_event(&w).await;
    let done = w
        .oms
        .release_hold(
            order.id,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_eq!(done.status, OrderStatus::Completed);
    assert!(done.closed_at.is_some());
    assert_eq!(
        events_since(&w, cursor).await,
        vec![
            Event::HoldReleased {
                order: order.id,
                hold: Hold::ManualReview
            },
            Event::OrderCompleted { order: order.id },
        ]
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn releasing_a_hold_the_order_lacks_is_hold_not_found() {
    let w = world().await;
    let prepaid = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let held = order_tees(&w, "held", prepaid.id, 1).await;
    assert_eq!(held.holds, vec![Hold::AwaitingPayment]);
    let before = snapshot(&w.oms).await;
    assert_eq!(
        order_error(
            w.oms
                .release_hold(
                    held.id,
                    Hold::CreditLimit,
                    o2c::ids::IdempotencyKey::generate()
                )
                .await
        ),
        OrderError::HoldNotFound(Hold::CreditLimit)
    );
    assert_eq!(snapshot(&w.oms).await, before);

    let net = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let open = order_tees(&w, "open", net.id, 1).await;
    let before = snapshot(&w.oms).await;
    assert_eq!(
        order_error(
            w.oms
                .release_hold(
                    open.id,
                    Hold::ManualReview,
                    o2c::ids::IdempotencyKey::generate()
                )
                .await
        ),
        OrderError::HoldNotFound(Hold::ManualReview)
    );
    assert_eq!(snapshot(&w.oms).await, before);
    assert_eq!(
        w.oms.order(open.id).await.unwrap().status,
        OrderStatus::Open
    );
    assert_audit_clean(&w.oms).await;
}
