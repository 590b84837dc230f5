//! Amendments whose changes leave the order as it was: refused with
//! `NothingToAmend`, nothing written, and the key left free for a real amendment.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use o2c::customer::{Address, PaymentTerms};
use o2c::event::Event;
use o2c::ids::OrderId;
use o2c::ledger::TrialBalance;
use o2c::money::Currency;
use o2c::order::{
    AmendOrder, Channel, Delivery, Discount, Hold, LineRequest, Order, OrderError, PlaceOrder,
};
use o2c::purchasing::BackOrderPolicy;
use o2c::quantity::Quantity;
use o2c::store::{IdempotencyScope, Store, Versioned};
use rust_decimal_macros::dec;

/// What a refused amendment must leave alone, read three ways: the whole store,
/// the order's record with its version, and the books.
struct Before {
    store: Snapshot,
    order: Versioned<Order>,
    books: TrialBalance,
}

async fn before(w: &World, order: OrderId) -> Before {
    Before {
        store: snapshot(&w.oms).await,
        order: w.oms.store().load::<Order>(&order).await.unwrap().unwrap(),
        books: w.oms.trial_balance().await.unwrap(),
    }
}

/// Sends `cmd`, which changes nothing, and checks it is refused with nothing
/// written and its key unused.
async fn assert_refused_unwritten(w: &World, cmd: AmendOrder) {
    let was = before(w, cmd.order).await;
    let got = w.oms.amend_order(cmd.clone()).await;
    assert_eq!(order_error(got), OrderError::NothingToAmend, "{cmd:?}");
    let store = w.oms.store();
    assert_eq!(
        store.last_event_sequence().await.unwrap(),
        was.store.last_event,
        "{cmd:?} wrote an event"
    );
    assert_eq!(
        store.load::<Order>(&cmd.order).await.unwrap().unwrap(),
        was.order,
        "{cmd:?} changed the order or its version"
    );
    assert_eq!(w.oms.trial_balance().await.unwrap(), was.books);
    assert_eq!(snapshot(&w.oms).await, was.store, "{cmd:?} wrote something");
    assert!(
        store
            .idempotency(IdempotencyScope::AmendOrder, &cmd.idempotency_key)
            .await
            .unwrap()
            .is_none(),
        "{cmd:?} used up its key"
    );
    assert_audit_clean(&w.oms).await;
}

/// Amends with the key a refused amendment was sent with: it is still free.
async fn amend_with_the_same_key(w: &World, cmd: AmendOrder) -> Order {
    let amended = w.oms.amend_order(cmd.clone()).await.unwrap();
    assert!(
        w.oms
            .store()
            .idempotency(IdempotencyScope::AmendOrder, &cmd.idempotency_key)
            .await
            .unwrap()
            .is_some()
    );
    assert_audit_clean(&w.oms).await;
    amended.into_inner()
}

#[tokio::test]
async fn setting_a_line_to_its_quantity_is_refused_and_the_key_stays_free() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;

    assert_refused_unwritten(&w, AmendOrder::new(key("a"), order.id).set_quantity(1, 2)).await;
    assert_refused_unwritten(
        &w,
        AmendOrder::new(key("a"), order.id)
            .set_quantity(1, 2)
            .set_quantity(2, 1),
    )
    .await;

    let amended =
        amend_with_the_same_key(&w, AmendOrder::new(key("a"), order.id).set_quantity(1, 3)).await;
    // Line 1 is invoiced, so the third TEE is a line grown from it.
    let tees: u32 = amended
        .lines
        .iter()
        .filter(|l| l.sku == sku("TEE"))
        .map(|l| l.wanted().units())
        .sum();
    assert_eq!(tees, 3);
}

#[tokio::test]
async fn removing_a_line_that_has_all_shipped_is_refused_and_the_key_stays_free() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    // TEE 2 ships in full; BOOK 8 of 10 ship, 2 wait for stock.
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::B2b, Currency::USD)
                .line(sku("TEE"), 2)
                .line(sku("BOOK"), 10)
                .back_order(BackOrderPolicy::ShipAvailable),
        )
        .await
        .unwrap();
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let shipped = w.oms.order(order.id).await.unwrap();
    assert_eq!(shipped.lines[0].shipped, Quantity::new(2));
    assert_eq!(shipped.lines[1].backordered, Quantity::new(2));

    assert_refused_unwritten(&w, AmendOrder::new(key("r"), order.id).remove_line(1)).await;
    // The back-ordered line at what it is, too: 8 shipped and 2 waiting.
    assert_refused_unwritten(
        &w,
        AmendOrder::new(key("r"), order.id)
            .remove_line(1)
            .set_quantity(2, 10),
    )
    .await;

    let amended =
        amend_with_the_same_key(&w, AmendOrder::new(key("r"), order.id).remove_line(2)).await;
    assert_eq!(amended.lines[1].wanted(), Quantity::new(8));
    assert!(amended.lines[1].backordered.is_zero());
}

#[tokio::test]
async fn changes_that_cancel_out_are_refused_and_the_key_stays_free() {
    // Invoiced on shipment, so the lines are re-priced in place.
    let w = on_shipment().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let mut place = PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD)
        .line(sku("MUG"), 1)
        .back_order(BackOrderPolicy::ShipAvailable);
    // 1.00 off 3 TEE: 0.33⅓ a unit, which a cut and a growth must not round away.
    place.lines.insert(
        0,
        LineRequest::new(sku("TEE"), 3).with_discount(Some(Discount::Amount(usd(dec!(1.00))))),
    );
    let order = w.oms.place_order(place).await.unwrap();
    let books = ten_books(&w, "b", c.id).await;
    let home = match &order.delivery {
        Delivery::Ship { address, .. } => Address::clone(address),
        Delivery::Pickup { .. } => panic!("ships"),
    };

    let cases = [
        AmendOrder::new(key("n"), order.id)
            .set_quantity(1, 1)
            .set_quantity(1, 3),
        // Grown, then cut back before anything was reserved for the growth.
        AmendOrder::new(key("n"), order.id)
            .set_quantity(2, 2)
            .set_quantity(2, 1),
        AmendOrder::new(key("n"), order.id).ship_to(home.clone()),
        // Abroad and back: no re-taxing, the same address in the end.
        AmendOrder::new(key("n"), order.id)
            .ship_to(Address::new("Acme", "1 Bay St", "Toronto", "M5J 2N8", "CA"))
            .ship_to(home.clone())
            .set_quantity(1, 3),
    ];
    for cmd in cases {
        assert_refused_unwritten(&w, cmd).await;
    }
    // Back-ordered units cut and asked for again keep their place in the queue.
    assert_refused_unwritten(
        &w,
        AmendOrder::new(key("n"), books.id)
            .set_quantity(1, 8)
            .set_quantity(1, 10),
    )
    .await;

    let amended =
        amend_with_the_same_key(&w, AmendOrder::new(key("n"), order.id).set_quantity(1, 2)).await;
    // 2 × 20.00 less 2 × 0.33⅓.
    assert_eq!(amended.lines[0].amounts.net, usd(dec!(39.33)));
}

#[tokio::test]
async fn a_new_address_in_the_same_country_is_a_change() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let invoiced = w.oms.order(order.id).await.unwrap().invoiced;
    let cursor = w.oms.store().last_event_sequence().await.unwrap();
    let moved = us_address("Acme's new office");

    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("m"), order.id).ship_to(moved.clone()))
        .await
        .unwrap();

    assert!(matches!(&amended.delivery, Delivery::Ship { address, .. } if **address == moved));
    assert_eq!(amended.lines, order.lines, "same country, same prices");
    assert_eq!(amended.invoiced, invoiced);
    let events: Vec<Event> = w
        .oms
        .events_after(cursor, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(matches!(
        events.as_slice(),
        [Event::OrderAmended { ship_to_changed: true, lines, .. }] if lines.is_empty()
    ));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_held_order_that_changes_nothing_keeps_its_hold() {
    // A prepaid order still owing is held; changing nothing leaves the hold.
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    assert_eq!(order.holds, vec![Hold::AwaitingPayment]);
    assert_refused_unwritten(&w, AmendOrder::new(key("h"), order.id).set_quantity(2, 1)).await;
    assert_eq!(
        w.oms.order(order.id).await.unwrap().holds,
        vec![Hold::AwaitingPayment]
    );
}
