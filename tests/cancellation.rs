//! Cancelling orders: reservations released, invoices voided and their postings reversed, paid money turned into customer credit, and the cases where cancelling is refused.
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
use o2c::ledger::{AccountBalance, AccountCode, EntrySource, InvoicePolicy, InvoiceStatus};
use o2c::money::{Currency, Money};
use o2c::order::{
    Channel, FulfilmentStatus, Order, OrderAction, OrderError, OrderStatus, PaymentStatus,
    PlaceOrder,
};
use o2c::quantity::Quantity;
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

/// The trial balance without accounts that sit at zero.
async fn nonzero_balances(w: &World) -> Vec<AccountBalance> {
    w.oms
        .trial_balance()
        .await
        .unwrap()
        .balances
        .into_iter()
        .filter(|b| !b.balance.is_zero())
        .collect()
}

/// The last event sequence, for reading only what a step appended.
async fn last_event(w: &World) -> u64 {
    w.oms.store().last_event_sequence().await.unwrap()
}

async fn level(w: &World, s: &str, at: &str) -> (i64, i64) {
    let l = w.oms.stock_level(&sku(s), &loc(at)).await.unwrap();
    (l.on_hand, l.reserved)
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

/// TEE 2 + MUG 1 from the catalogue: 40.00 + 4.00 tax, 12.50 + 1.25 tax = 57.75.
fn tee2_mug1(k: &str, who: o2c::ids::CustomerId) -> PlaceOrder {
    PlaceOrder::new(key(k), who, Channel::Web, Currency::USD)
        .line(sku("TEE"), 2)
        .line(sku("MUG"), 1)
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

/// Everything a cancelled order must look like.
fn assert_cancelled_shape(order: &Order) {
    assert_eq!(order.status, OrderStatus::Cancelled);
    assert!(order.holds.is_empty());
    assert!(order.closed_at.is_some());
    for line in &order.lines {
        assert!(line.reservations.is_empty());
        assert_eq!(line.cancelled, line.quantity);
        assert_eq!(line.shipped, Quantity::ZERO);
        assert!(line.quantities_add_up());
    }
    assert!(order.invoiced.is_zero());
    assert!(order.paid.is_zero());
    assert_eq!(order.payment_status(), PaymentStatus::NotInvoiced);
    assert_eq!(order.fulfilment_status(), FulfilmentStatus::Unshipped);
}

#[tokio::test]
async fn cancelling_an_unpaid_order_releases_stock_and_reverses_the_invoice() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    // An earlier order of the same customer stays open: the books must return to
    // exactly what they were with it alone, not to zero.
    let keep = w
        .oms
        .place_order(
            PlaceOrder::new(key("keep"), c.id, Channel::Web, Currency::USD).line(sku("BOOK"), 1),
        )
        .await
        .unwrap();
    // BOOK 15.99 + 0.80 tax = 16.79.
    assert_eq!(keep.total().unwrap(), usd(dec!(16.79)));
    let books_before = nonzero_balances(&w).await;
    let history_before = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(balance(&w, "1100").await, usd(dec!(16.79)));
    assert_eq!(balance(&w, "4000").await, usd(dec!(-15.99)));

    let order = w.oms.place_order(tee2_mug1("gone", c.id)).await.unwrap();
    assert_eq!(order.total().unwrap(), usd(dec!(57.75)));
    assert_eq!(order.status, OrderStatus::OnHold);
    // WH-EAST covers TEE 2 + MUG 1.
    assert_eq!(level(&w, "TEE", EAST).await, (10, 2));
    assert_eq!(level(&w, "MUG", EAST).await, (5, 1));
    // 16.79 + 57.75 = 74.54 receivable; revenue 15.99 + 52.50 = 68.49; tax 0.80 + 5.25.
    assert_eq!(balance(&w, "1100").await, usd(dec!(74.54)));
    assert_eq!(balance(&w, "4000").await, usd(dec!(-68.49)));
    assert_eq!(balance(&w, "2100").await, usd(dec!(-6.05)));
    assert_audit_clean(&w.oms).await;

    let cursor = last_event(&w).await;
    w.clock.advance(Duration::minutes(10));
    let cancelled = w
        .oms
        .cancel_order(
            order.id,
            "customer changed their mind",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    assert_cancelled_shape(&cancelled);
    assert_eq!(cancelled.closed_at, Some(start() + Duration::minutes(10)));
    assert_eq!(w.oms.order(order.id).await.unwrap(), cancelled.into_inner());

    // Reservations released.
    assert_eq!(level(&w, "TEE", EAST).await, (10, 0));
    assert_eq!(level(&w, "MUG", EAST).await, (5, 0));
    // Invoice voided; AR, revenue and tax back to the earlier order's figures.
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(invoice.status, InvoiceStatus::Void);
    assert!(invoice.outstanding().unwrap().is_zero());
    assert_eq!(nonzero_balances(&w).await, books_before);
    assert_eq!(balance(&w, "1100").await, usd(dec!(16.79)));
    assert_eq!(balance(&w, "4000").await, usd(dec!(-15.99)));
    assert_eq!(balance(&w, "2100").await, usd(dec!(-0.80)));
    let void = w.oms.journal(0, usize::MAX).await.unwrap().pop().unwrap();
    assert_eq!(
        void.source(),
        &EntrySource::InvoiceVoid {
            invoice: invoice.id
        }
    );
    let ar_line = void
        .lines()
        .iter()
        .find(|l| l.account.as_str() == "1100")
        .unwrap();
    assert_eq!(ar_line.amount, usd(dec!(-57.75)));

    let buyer = w.oms.customer(c.id).await.unwrap();
    assert_eq!(buyer.history.balance, history_before.balance);
    assert_eq!(buyer.history.lifetime_value, usd(dec!(16.79)));
    assert_eq!(buyer.history.orders_placed, 2);
    assert_eq!(buyer.history.orders_cancelled, 1);
    assert!(buyer.history.credit.is_zero());
    assert!(buyer.history.uninvoiced.is_zero());

    assert_eq!(
        events_since(&w, cursor).await,
        vec![
            Event::OrderCancelled {
                order: order.id,
                reason: "customer changed their mind".into()
            },
            Event::StockReleased {
                order: order.id,
                sku: sku("TEE"),
                location: loc(EAST),
                quantity: Quantity::new(2)
            },
            Event::StockReleased {
                order: order.id,
                sku: sku("MUG"),
                location: loc(EAST),
                quantity: Quantity::new(1)
            },
            Event::InvoiceVoided {
                invoice: invoice.id,
                order: order.id
            },
        ]
    );

    // The released units can be sold again: all 20 TEE at the warehouses.
    let big = w
        .oms
        .place_order(
            PlaceOrder::new(key("all-tee"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 20),
        )
        .await
        .unwrap();
    assert_eq!(big.lines[0].open(), Quantity::new(20));
    assert_eq!(level(&w, "TEE", EAST).await, (10, 10));
    assert_eq!(level(&w, "TEE", WEST).await, (10, 10));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn cancelling_an_uninvoiced_order_on_terms_restores_exposure() {
    let w = world_with(OmsConfig::default().with_invoice_policy(InvoicePolicy::OnShipment)).await;
    let c = customer(
        &w,
        "Acme",
        PaymentTerms::Net { days: 30 },
        Some(usd(dec!(500.00))),
    )
    .await;
    let order = w.oms.place_order(tee2_mug1("b2b", c.id)).await.unwrap();
    assert!(order.invoices.is_empty());
    assert_eq!(
        w.oms.customer(c.id).await.unwrap().history.uninvoiced,
        usd(dec!(57.75))
    );
    let journal_before = w.oms.journal(0, usize::MAX).await.unwrap().len();

    let cancelled = w
        .oms
        .cancel_order(order.id, "budget cut", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    assert_cancelled_shape(&cancelled);
    let h = w.oms.customer(c.id).await.unwrap().history;
    assert!(h.uninvoiced.is_zero());
    assert!(h.balance.is_zero());
    assert!(h.lifetime_value.is_zero());
    assert_eq!(h.orders_cancelled, 1);
    // Nothing was posted, so nothing is reversed.
    assert_eq!(
        w.oms.journal(0, usize::MAX).await.unwrap().len(),
        journal_before
    );
    assert!(balance(&w, "1100").await.is_zero());
    assert_eq!(level(&w, "TEE", EAST).await, (10, 0));
    assert_eq!(level(&w, "MUG", EAST).await, (5, 0));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn cancelling_a_paid_prepaid_order_turns_the_money_into_customer_credit() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = w.oms.place_order(tee2_mug1("paid", c.id)).await.unwrap();
    pay(&w, "paid-card", &order, usd(dec!(57.75))).await;
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Open
    );
    assert_eq!(balance(&w, "1020").await, usd(dec!(57.75)));
    assert!(balance(&w, "1100").await.is_zero());
    assert_audit_clean(&w.oms).await;

    let cursor = last_event(&w).await;
    let cancelled = w
        .oms
        .cancel_order(
            order.id,
            "out of time",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    assert_cancelled_shape(&cancelled);
    assert_eq!(level(&w, "TEE", EAST).await, (10, 0));
    assert_eq!(level(&w, "MUG", EAST).await, (5, 0));

    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(invoice.status, InvoiceStatus::Void);
    assert_eq!(
        invoice.paid,
        usd(dec!(57.75)),
        "history of the payment kept"
    );

    // The card money stays with us and is owed to the customer as credit.
    let buyer = w.oms.customer(c.id).await.unwrap();
    assert_eq!(buyer.history.credit, usd(dec!(57.75)));
    assert!(buyer.history.balance.is_zero());
    assert!(buyer.history.lifetime_value.is_zero());
    assert_eq!(balance(&w, "2200").await, usd(dec!(-57.75)));
    assert_eq!(balance(&w, "1020").await, usd(dec!(57.75)));
    assert!(balance(&w, "1100").await.is_zero());
    assert!(balance(&w, "4000").await.is_zero());
    assert!(balance(&w, "2100").await.is_zero());

    let journal = w.oms.journal(0, usize::MAX).await.unwrap();
    let n = journal.len();
    assert_eq!(
        journal[n - 2].source(),
        &EntrySource::InvoiceVoid {
            invoice: invoice.id
        }
    );
    assert_eq!(
        journal[n - 1].source(),
        &EntrySource::Cancellation { order: order.id }
    );

    let events = events_since(&w, cursor).await;
    assert_eq!(events.len(), 5);
    assert!(matches!(events[0], Event::OrderCancelled { .. }));
    assert!(matches!(events[3], Event::InvoiceVoided { .. }));
    assert_eq!(
        events[4],
        Event::CustomerCredited {
            customer: c.id,
            amount: usd(dec!(57.75))
        }
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn cancelling_a_partly_paid_order_credits_only_what_was_paid() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = w.oms.place_order(tee2_mug1("part", c.id)).await.unwrap();
    pay(&w, "part-1", &order, usd(dec!(20.00))).await;
    assert_eq!(balance(&w, "1100").await, usd(dec!(37.75)));
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::OnHold,
        "a partial payment does not release the prepayment hold"
    );

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
    assert_eq!(buyer.history.credit, usd(dec!(20.00)));
    assert!(buyer.history.balance.is_zero());
    assert_eq!(balance(&w, "2200").await, usd(dec!(-20.00)));
    assert_eq!(balance(&w, "1020").await, usd(dec!(20.00)));
    assert!(balance(&w, "1100").await.is_zero());
    assert!(balance(&w, "4000").await.is_zero());
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn cancelling_a_fully_shipped_order_leaves_nothing_to_cancel() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w.oms.place_order(tee2_mug1("ship", c.id)).await.unwrap();
    assert_eq!(order.status, OrderStatus::Open);
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;

    let before = snapshot(&w.oms).await;
    assert_eq!(
        order_error(
            w.oms
                .cancel_order(order.id, "too late", o2c::ids::IdempotencyKey::generate())
                .await
        ),
        OrderError::NothingToCancel
    );
    assert_eq!(
        snapshot(&w.oms).await,
        before,
        "a refused cancel changes nothing"
    );

    // Still refused once delivered (and unpaid, so the order is still open).
    w.oms
        .record_tracking(
            shipments[0].id,
            TrackingEvent {
                at: start() + Duration::hours(20),
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
                .cancel_order(order.id, "too late", o2c::ids::IdempotencyKey::generate())
                .await
        ),
        OrderError::NothingToCancel
    );
    assert_eq!(snapshot(&w.oms).await, before);
    // The shipped goods stay shipped: EAST had 10 TEE and 5 MUG.
    assert_eq!(level(&w, "TEE", EAST).await, (8, 0));
    assert_eq!(level(&w, "MUG", EAST).await, (4, 0));
    assert_eq!(balance(&w, "1100").await, usd(dec!(57.75)));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn cancelling_twice_is_an_invalid_transition() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = w.oms.place_order(tee2_mug1("twice", c.id)).await.unwrap();
    w.oms
        .cancel_order(order.id, "first", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    let before = snapshot(&w.oms).await;
    assert_eq!(
        order_error(
            w.oms
                .cancel_order(order.id, "second", o2c::ids::IdempotencyKey::generate())
                .await
        ),
        OrderError::InvalidTransition {
            from: OrderStatus::Cancelled,
            action: OrderAction::Cancel
        }
    );
    assert_eq!(snapshot(&w.oms).await, before);
    let buyer = w.oms.customer(c.id).await.unwrap();
    assert_eq!(buyer.history.orders_cancelled, 1, "counted once");
    assert_eq!(level(&w, "TEE", EAST).await, (10, 0));
    assert_audit_clean(&w.oms).await;
}

// ---- The rest of a partly shipped order ----------------------------------------

/// 25 TEE shipping what is there (20 at the warehouses), invoiced on order.
async fn partly_shipped(w: &World, k: &str, who: o2c::ids::CustomerId) -> Order {
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key(k), who, Channel::B2b, Currency::USD)
                .line(sku("TEE"), 25)
                .back_order(o2c::purchasing::BackOrderPolicy::ShipAvailable),
        )
        .await
        .unwrap();
    assert_eq!(order.lines[0].backordered.units(), 5);
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms.order(order.id).await.unwrap()
}

#[tokio::test]
async fn cancelling_the_rest_credits_what_was_invoiced_but_not_shipped() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = partly_shipped(&w, "big", c.id).await;
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(
        invoice.total().unwrap(),
        usd(dec!(550.00)),
        "25 × 20.00 + 10 %"
    );

    let after = w
        .oms
        .cancel_order(
            order.id,
            "no longer needed",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_eq!(after.status, OrderStatus::Open, "what shipped stands");
    let line = &after.lines[0];
    assert_eq!(
        (
            line.shipped.units(),
            line.cancelled.units(),
            line.backordered.units()
        ),
        (20, 5, 0)
    );
    assert_eq!(after.credit_total(), usd(dec!(110.00)), "5 × 22.00");
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(invoice.outstanding().unwrap(), usd(dec!(440.00)));
    let queue = w
        .oms
        .store()
        .load::<o2c::purchasing::BackOrderQueue>(&sku("TEE"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        queue.value.waiting.is_empty(),
        "the back-order left its queue"
    );
    assert!(
        events_since(&w, 0)
            .await
            .iter()
            .any(|e| matches!(e, Event::OrderRemainderCancelled { units: 5, .. }))
    );
    assert_audit_clean(&w.oms).await;

    // Paying what is left and delivering completes the order.
    pay(&w, "p", &after, usd(dec!(440.00))).await;
    for id in &after.shipments {
        w.oms
            .record_tracking(
                *id,
                TrackingEvent {
                    at: start() + Duration::hours(30),
                    status: ShipmentStatus::Delivered,
                    description: "delivered".into(),
                },
            )
            .await
            .unwrap();
    }
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Completed
    );
    assert_eq!(
        order_error(
            w.oms
                .cancel_order(order.id, "late", o2c::ids::IdempotencyKey::generate())
                .await
        ),
        OrderError::InvalidTransition {
            from: OrderStatus::Completed,
            action: OrderAction::Cancel
        }
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn cancelling_the_rest_of_a_paid_order_credits_the_customer() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = partly_shipped(&w, "big", c.id).await;
    pay(&w, "p", &order, usd(dec!(550.00))).await;
    w.oms
        .cancel_order(
            order.id,
            "no longer needed",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    let buyer = w.oms.customer(c.id).await.unwrap();
    assert_eq!(buyer.history.credit, usd(dec!(110.00)));
    assert!(buyer.history.balance.is_zero());
    assert_eq!(balance(&w, "2200").await, usd(dec!(-110.00)));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn cancelling_the_rest_of_an_order_invoiced_on_shipment_credits_nothing() {
    let w = world_with(OmsConfig::default().with_invoice_policy(InvoicePolicy::OnShipment)).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = partly_shipped(&w, "big", c.id).await;
    let before = w.oms.customer(c.id).await.unwrap().history;
    let after = w
        .oms
        .cancel_order(
            order.id,
            "no longer needed",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert!(
        after.credit_total().is_zero(),
        "the rest was never invoiced"
    );
    let now = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(
        before.uninvoiced.checked_sub(now.uninvoiced).unwrap(),
        usd(dec!(110.00)),
        "the rest leaves what is still to bill"
    );
    assert!(after.fully_billed());
    assert_audit_clean(&w.oms).await;
}
