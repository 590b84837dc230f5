//! Illegal order transitions through the public API: every command on cancelled and completed orders, shipping held orders, and shipping with nothing left; each refused with its exact error and no change to the store.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use chrono::Duration;
use common::*;
use o2c::RecordPayment;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::ledger::InvoiceStatus;
use o2c::money::Currency;
use o2c::order::{Channel, Hold, Order, OrderAction, OrderError, OrderStatus, PlaceOrder};
use rust_decimal_macros::dec;

fn invalid(from: OrderStatus, action: OrderAction) -> OrderError {
    OrderError::InvalidTransition { from, action }
}

async fn level(w: &World, s: &str, at: &str) -> (i64, i64) {
    let l = w.oms.stock_level(&sku(s), &loc(at)).await.unwrap();
    (l.on_hand, l.reserved)
}

/// A prepaid order for TEE 1 + MUG 1: 20.00 + 2.00, 12.50 + 1.25 → 35.75, from WH-EAST.
async fn prepaid_order(w: &World, k: &str) -> Order {
    let c = customer(w, &format!("Buyer-{k}"), PaymentTerms::Prepaid, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key(k), c.id, Channel::Web, Currency::USD)
                .line(sku("TEE"), 1)
                .line(sku("MUG"), 1),
        )
        .await
        .unwrap();
    assert_eq!(order.total().unwrap(), usd(dec!(35.75)));
    order.into_inner()
}

fn card(k: &str, order: &Order, amount: rust_decimal::Decimal) -> RecordPayment {
    RecordPayment::new(key(k), order.invoices[0], usd(amount), PaymentMethod::Card)
}

/// Runs every command against `order` and checks each refusal leaves the store as it was.
async fn assert_all_refused(w: &World, order: &Order, expected: Vec<(&str, OrderError)>) {
    let before = snapshot(&w.oms).await;
    for (what, want) in expected {
        let got = match what {
            "pay" => order_error(
                w.oms
                    .record_payment(card(&format!("late-{}", order.id), order, dec!(1.00)))
                    .await,
            ),
            "ship" => order_error(
                w.oms
                    .ship(order.id, o2c::ids::IdempotencyKey::generate())
                    .await,
            ),
            "hold" => order_error(
                w.oms
                    .hold_order(
                        order.id,
                        Hold::ManualReview,
                        o2c::ids::IdempotencyKey::generate(),
                    )
                    .await,
            ),
            "release" => order_error(
                w.oms
                    .release_hold(
                        order.id,
                        Hold::AwaitingPayment,
                        o2c::ids::IdempotencyKey::generate(),
                    )
                    .await,
            ),
            "cancel" => order_error(
                w.oms
                    .cancel_order(order.id, "again", o2c::ids::IdempotencyKey::generate())
                    .await,
            ),
            other => panic!("unknown command {other}"),
        };
        assert_eq!(got, want, "{what}");
        assert_eq!(snapshot(&w.oms).await, before, "{what} changed the store");
    }
}

#[tokio::test]
async fn a_cancelled_order_refuses_every_command() {
    let w = world().await;
    let order = prepaid_order(&w, "gone").await;
    let cancelled = w
        .oms
        .cancel_order(
            order.id,
            "changed mind",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(
        w.oms.invoice(order.invoices[0]).await.unwrap().status,
        InvoiceStatus::Void
    );
    assert_eq!(level(&w, "TEE", EAST).await, (10, 0));
    assert_audit_clean(&w.oms).await;

    use OrderAction as A;
    use OrderStatus::Cancelled;
    assert_all_refused(
        &w,
        &cancelled,
        vec![
            // The status check comes first: the void invoice is not even looked at.
            ("pay", invalid(Cancelled, A::RecordPayment)),
            ("ship", invalid(Cancelled, A::Ship)),
            ("hold", invalid(Cancelled, A::Hold)),
            ("cancel", invalid(Cancelled, A::Cancel)),
            // Cancelling cleared the prepayment hold, so there is none to release.
            ("release", OrderError::HoldNotFound(Hold::AwaitingPayment)),
        ],
    )
    .await;
    assert_eq!(w.oms.order(order.id).await.unwrap(), cancelled.into_inner());
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_completed_order_refuses_every_command() {
    let w = world().await;
    let order = prepaid_order(&w, "done").await;
    w.oms
        .record_payment(card("done-pay", &order, dec!(35.75)))
        .await
        .unwrap();
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .record_tracking(
            shipments[0].id,
            TrackingEvent {
                at: start() + Duration::hours(26),
                status: ShipmentStatus::Delivered,
                description: "delivered".into(),
            },
        )
        .await
        .unwrap();
    let completed = w.oms.order(order.id).await.unwrap();
    assert_eq!(completed.status, OrderStatus::Completed);
    assert_eq!(level(&w, "TEE", EAST).await, (9, 0));
    assert_eq!(level(&w, "MUG", EAST).await, (4, 0));
    assert_audit_clean(&w.oms).await;

    use OrderAction as A;
    use OrderStatus::Completed;
    assert_all_refused(
        &w,
        &completed,
        vec![
            ("pay", invalid(Completed, A::RecordPayment)),
            ("cancel", invalid(Completed, A::Cancel)),
            ("ship", invalid(Completed, A::Ship)),
            ("hold", invalid(Completed, A::Hold)),
            ("release", OrderError::HoldNotFound(Hold::AwaitingPayment)),
        ],
    )
    .await;

    // A late duplicate of the delivery scan changes nothing either.
    let before = snapshot(&w.oms).await;
    let again = w
        .oms
        .record_tracking(
            shipments[0].id,
            TrackingEvent {
                at: start() + Duration::hours(26),
                status: ShipmentStatus::Delivered,
                description: "delivered".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(again.status, ShipmentStatus::Delivered);
    assert_eq!(snapshot(&w.oms).await, before);
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Completed
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn shipping_an_order_on_hold_is_refused_with_its_holds() {
    let w = world().await;
    // Prepaid and unpaid.
    let unpaid = prepaid_order(&w, "unpaid").await;
    let before = snapshot(&w.oms).await;
    assert_eq!(
        order_error(
            w.oms
                .ship(unpaid.id, o2c::ids::IdempotencyKey::generate())
                .await
        ),
        OrderError::OnHold {
            holds: vec![Hold::AwaitingPayment]
        }
    );
    assert_eq!(snapshot(&w.oms).await, before);

    // On terms, put under manual review.
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("review"), c.id, Channel::B2b, Currency::USD).line(sku("TEE"), 2),
        )
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
        .hold_order(
            unpaid.id,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    let before = snapshot(&w.oms).await;
    assert_eq!(
        order_error(
            w.oms
                .ship(order.id, o2c::ids::IdempotencyKey::generate())
                .await
        ),
        OrderError::OnHold {
            holds: vec![Hold::ManualReview]
        }
    );
    assert_eq!(
        order_error(
            w.oms
                .ship(unpaid.id, o2c::ids::IdempotencyKey::generate())
                .await
        ),
        OrderError::OnHold {
            holds: vec![Hold::AwaitingPayment, Hold::ManualReview]
        }
    );
    assert_eq!(snapshot(&w.oms).await, before);
    // TEE 1 + TEE 2 still reserved at WH-EAST, nothing shipped.
    assert_eq!(level(&w, "TEE", EAST).await, (10, 3));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn shipping_with_nothing_left_is_nothing_to_ship() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("once"), c.id, Channel::B2b, Currency::USD).line(sku("MUG"), 2),
        )
        .await
        .unwrap();
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(shipments.len(), 1);
    assert_eq!(level(&w, "MUG", EAST).await, (3, 0));
    assert_audit_clean(&w.oms).await;

    let before = snapshot(&w.oms).await;
    assert_eq!(
        order_error(
            w.oms
                .ship(order.id, o2c::ids::IdempotencyKey::generate())
                .await
        ),
        OrderError::NothingToShip
    );
    assert_eq!(snapshot(&w.oms).await, before);

    // Delivered but unpaid: the order is still open, and still has nothing to ship.
    w.oms
        .record_tracking(
            shipments[0].id,
            TrackingEvent {
                at: start() + Duration::hours(12),
                status: ShipmentStatus::Delivered,
                description: "delivered".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Open
    );
    let before = snapshot(&w.oms).await;
    assert_eq!(
        order_error(
            w.oms
                .ship(order.id, o2c::ids::IdempotencyKey::generate())
                .await
        ),
        OrderError::NothingToShip
    );
    assert_eq!(snapshot(&w.oms).await, before);
    assert_eq!(level(&w, "MUG", EAST).await, (3, 0));
    assert_audit_clean(&w.oms).await;
}
