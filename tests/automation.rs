//! `run_due`: what a scheduler's call does — unpaid prepaid orders cancelled
//! (their stock to waiting back-orders), reminders once per level, credit holds
//! released when the credit is back, late purchase orders re-promised — found by
//! the due-work index in batches, once however many instances call at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::Arc;

use chrono::{Days, Duration};
use common::*;
use o2c::clock::{Clock, ManualClock, SeededIds};
use o2c::customer::PaymentTerms;
use o2c::event::Event;
use o2c::fulfilment::PickupCarrier;
use o2c::ids::SupplierId;
use o2c::order::{Channel, Hold, OrderStatus, PlaceOrder};
use o2c::purchasing::{BackOrderPolicy, Offer, Supplier};
use o2c::quantity::Quantity;
use o2c::store::{MemoryStore, Store};
use o2c::{AutomationPolicy, Oms, OmsConfig, RecordPayment};
use rust_decimal_macros::dec;

fn mugs(k: &str, who: o2c::ids::CustomerId, units: i64) -> PlaceOrder {
    PlaceOrder::new(key(k), who, Channel::Web, o2c::money::Currency::USD).line(sku("MUG"), units)
}

/// Pays what is still owed on `invoice`.
async fn pay_in_full(w: &World, invoice: o2c::ids::InvoiceId, k: &str) {
    let invoice = w.oms.invoice(invoice).await.unwrap();
    w.oms
        .record_payment(RecordPayment::new(
            key(k),
            invoice.id,
            invoice.outstanding().unwrap(),
            o2c::customer::PaymentMethod::BankTransfer,
        ))
        .await
        .unwrap();
}

async fn events(w: &World) -> Vec<Event> {
    w.oms
        .events_after(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

#[tokio::test]
async fn an_unpaid_prepaid_order_is_cancelled_after_a_week_and_its_stock_goes_to_the_queue() {
    let w = world().await;
    let prepaid = customer(&w, "Cash", PaymentTerms::Prepaid, None).await;
    let net = customer(&w, "Trade", PaymentTerms::Net { days: 30 }, None).await;
    // All 25 mugs that ship taken: 20 by an unpaid prepaid order, 2 by a paid
    // one, 3 by a trade order; a second trade order waits for 5.
    let unpaid = w
        .oms
        .place_order(mugs("unpaid", prepaid.id, 20))
        .await
        .unwrap();
    assert_eq!(unpaid.holds, vec![Hold::AwaitingPayment]);
    let paid = w
        .oms
        .place_order(mugs("paid", prepaid.id, 2))
        .await
        .unwrap();
    pay_in_full(&w, paid.invoices[0], "pay").await;
    w.oms.place_order(mugs("trade", net.id, 3)).await.unwrap();
    let waiting = w
        .oms
        .place_order(mugs("waiting", net.id, 5).back_order(BackOrderPolicy::BackOrder))
        .await
        .unwrap();
    assert_eq!(waiting.lines[0].backordered.units(), 5);

    // Six days: not yet.
    let report = w.oms.run_due(start() + Duration::days(6)).await.unwrap();
    assert!(report.cancelled.is_empty(), "{report:?}");
    let report = w.oms.run_due(start() + Duration::days(8)).await.unwrap();
    assert_eq!(report.cancelled, vec![unpaid.id]);
    assert!(!report.more);
    let cancelled = w.oms.order(unpaid.id).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(
        w.oms.order(paid.id).await.unwrap().status,
        OrderStatus::Open
    );
    // Its units went to the order waiting for them.
    let waiting = w.oms.order(waiting.id).await.unwrap();
    assert_eq!(waiting.lines[0].backordered.units(), 0);
    // A second call finds nothing more to do.
    let again = w.oms.run_due(start() + Duration::days(9)).await.unwrap();
    assert!(again.cancelled.is_empty() && again.taken_by_others == 0);
    assert_eq!(
        events(&w)
            .await
            .iter()
            .filter(|e| matches!(e, Event::OrderCancelled { .. }))
            .count(),
        1
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn an_order_amended_to_owe_more_has_its_week_from_the_amendment() {
    let w = world().await;
    let prepaid = customer(&w, "Cash", PaymentTerms::Prepaid, None).await;
    let order = w.oms.place_order(mugs("o1", prepaid.id, 1)).await.unwrap();
    pay_in_full(&w, order.invoices[0], "pay").await;
    // Ten days on, one more mug: it owes again, from today.
    w.clock.set(start() + Duration::days(10));
    let amended = w
        .oms
        .amend_order(
            o2c::order::AmendOrder::new(key("more"), order.id).with_changes(vec![
                o2c::order::Amendment::AddLine(o2c::order::LineRequest::new(sku("MUG"), 1)),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(amended.holds, vec![Hold::AwaitingPayment]);
    let report = w.oms.run_due(start() + Duration::days(12)).await.unwrap();
    assert!(report.cancelled.is_empty(), "{report:?}");
    let report = w.oms.run_due(start() + Duration::days(18)).await.unwrap();
    assert_eq!(report.cancelled, vec![order.id]);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn each_reminder_level_goes_out_once_whatever_the_call_times() {
    let w = world().await;
    let trade = customer(&w, "Trade", PaymentTerms::Net { days: 30 }, None).await;
    let order = w.oms.place_order(mugs("o1", trade.id, 2)).await.unwrap();
    let invoice = order.invoices[0];
    let paid_order = w.oms.place_order(mugs("o2", trade.id, 1)).await.unwrap();
    pay_in_full(&w, paid_order.invoices[0], "pay").await;
    let day = |n: u64| start() + Days::new(n);
    // Due on day 30: nothing before day 37.
    for n in [10, 30, 31, 36] {
        let report = w.oms.run_due(day(n)).await.unwrap();
        assert!(report.reminded.is_empty(), "day {n}: {report:?}");
    }
    assert_eq!(
        w.oms.run_due(day(38)).await.unwrap().reminded,
        vec![(invoice, 1)]
    );
    assert!(w.oms.run_due(day(38)).await.unwrap().reminded.is_empty());
    assert!(w.oms.run_due(day(40)).await.unwrap().reminded.is_empty());
    // The 14-day run missed: at day 61 the 30-day reminder goes out alone.
    assert_eq!(
        w.oms.run_due(day(61)).await.unwrap().reminded,
        vec![(invoice, 3)]
    );
    assert!(w.oms.run_due(day(90)).await.unwrap().reminded.is_empty());
    let levels: Vec<u8> = events(&w)
        .await
        .iter()
        .filter_map(|e| match e {
            Event::PaymentReminder {
                level,
                invoice: i,
                days_overdue,
                ..
            } => {
                assert_eq!(*i, invoice);
                assert!(*days_overdue >= 7);
                Some(*level)
            }
            _ => None,
        })
        .collect();
    assert_eq!(levels, vec![1, 3]);
    let stored = w.oms.invoice(invoice).await.unwrap();
    assert_eq!((stored.reminders, stored.next_reminder_at), (3, None));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_credit_hold_is_released_once_the_customer_is_within_the_limit_again() {
    let w = world().await;
    let limited = customer(
        &w,
        "Limited",
        PaymentTerms::Net { days: 30 },
        Some(usd(dec!(100.00))),
    )
    .await;
    // 5 mugs (68.75 with tax) fit the limit; 4 more (55.00) do not.
    let first = w
        .oms
        .place_order(mugs("first", limited.id, 5))
        .await
        .unwrap();
    let held = w
        .oms
        .place_order(mugs("second", limited.id, 4))
        .await
        .unwrap();
    assert_eq!(held.holds, vec![Hold::CreditLimit]);
    let report = w.oms.run_due(start() + Duration::hours(1)).await.unwrap();
    assert!(report.released.is_empty(), "still over: {report:?}");
    pay_in_full(&w, first.invoices[0], "pay").await;
    let report = w.oms.run_due(start() + Duration::hours(2)).await.unwrap();
    assert_eq!(report.released, vec![held.id]);
    assert!(w.oms.order(held.id).await.unwrap().holds.is_empty());
    assert!(
        w.oms
            .run_due(start() + Duration::hours(3))
            .await
            .unwrap()
            .released
            .is_empty()
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn an_invoice_past_the_hold_level_holds_the_customers_orders_until_it_is_paid() {
    let w = world_with(
        OmsConfig::default().with_automation(
            AutomationPolicy::default()
                .with_reminder_days(vec![7, 14])
                .with_hold_at_reminder(Some(2)),
        ),
    )
    .await;
    let trade = customer(&w, "Trade", PaymentTerms::Net { days: 30 }, None).await;
    let first = w.oms.place_order(mugs("first", trade.id, 1)).await.unwrap();
    let waiting = w
        .oms
        .place_order(mugs("waiting", trade.id, 2))
        .await
        .unwrap();
    let day = |n: u64| start() + Days::new(n);
    // Day 37: the first reminders only.
    let report = w.oms.run_due(day(37)).await.unwrap();
    assert_eq!(report.reminded.len(), 2, "{report:?}");
    assert!(report.held.is_empty());
    // Day 44: the second level holds what the customer has left to ship.
    w.clock.set(day(44));
    let report = w.oms.run_due(day(44)).await.unwrap();
    assert_eq!(report.reminded.len(), 2);
    let sorted = |mut ids: Vec<o2c::ids::OrderId>| {
        ids.sort();
        ids
    };
    assert_eq!(
        sorted(report.held.clone()),
        sorted(vec![first.id, waiting.id])
    );
    assert!(
        w.oms
            .customer(trade.id)
            .await
            .unwrap()
            .overdue_since
            .is_some()
    );
    // What they order now is held too, and does not ship.
    let later = w.oms.place_order(mugs("later", trade.id, 1)).await.unwrap();
    assert_eq!(later.holds, vec![Hold::Overdue]);
    assert!(matches!(
        w.oms.ship(later.id, key("ship-later")).await,
        Err(o2c::Error::Order(o2c::order::OrderError::OnHold { .. }))
    ));
    // One invoice paid: the other is still past the level, nothing is released.
    pay_in_full(&w, first.invoices[0], "pay-first").await;
    assert!(w.oms.run_due(day(45)).await.unwrap().released.is_empty());
    pay_in_full(&w, waiting.invoices[0], "pay-waiting").await;
    let report = w.oms.run_due(day(46)).await.unwrap();
    assert_eq!(
        sorted(report.released.clone()),
        sorted(vec![first.id, waiting.id, later.id]),
        "{report:?}"
    );
    assert!(
        w.oms
            .customer(trade.id)
            .await
            .unwrap()
            .overdue_since
            .is_none()
    );
    let events = events(&w).await;
    let count = |pick: fn(&Event) -> bool| events.iter().filter(|e| pick(e)).count();
    assert_eq!(count(|e| matches!(e, Event::CustomerOverdue { .. })), 1);
    assert_eq!(
        count(|e| matches!(e, Event::CustomerOverdueCleared { .. })),
        1
    );
    w.oms.ship(later.id, key("ship-later-2")).await.unwrap();
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_late_purchase_order_is_expected_later_and_its_waiting_lines_are_promised_again() {
    let w = world().await;
    let trade = customer(&w, "Trade", PaymentTerms::Net { days: 30 }, None).await;
    let today = start().date_naive();
    let mut acme = Supplier::new(
        SupplierId::from_uuid(uuid::Uuid::from_u128(1)),
        "Acme",
        o2c::money::Currency::USD,
    );
    acme.offers = vec![Offer::new(
        sku("BOOK"),
        usd(dec!(5.00)),
        4,
        today,
        today + Days::new(60),
    )];
    w.oms.save_supplier(acme.clone()).await.unwrap();
    // 12 books wanted, 8 there: 4 wait for the purchase order due on day 4.
    let waiting = w
        .oms
        .place_order(
            PlaceOrder::new(
                key("books"),
                trade.id,
                Channel::B2b,
                o2c::money::Currency::USD,
            )
            .line(sku("BOOK"), 12)
            .back_order(BackOrderPolicy::ShipAvailable),
        )
        .await
        .unwrap();
    let po = w
        .oms
        .raise_purchase_order(
            acme.id,
            &loc(WEST),
            &[(sku("BOOK"), Quantity::new(4))],
            key("po"),
        )
        .await
        .unwrap();
    w.oms
        .approve_purchase_order(po.id, key("approve"))
        .await
        .unwrap();
    let promised = |o: &o2c::order::Order| o.lines[0].promised_on;
    let before = w.oms.order(waiting.id).await.unwrap();
    assert_eq!(promised(&before), Some(today + Days::new(4)));
    // Day 4 itself: not late yet.
    let report = w.oms.run_due(start() + Days::new(4)).await.unwrap();
    assert!(report.rescheduled.is_empty());
    let late = start() + Days::new(5);
    let report = w.oms.run_due(late).await.unwrap();
    assert_eq!(report.rescheduled, vec![po.id]);
    let moved = w
        .oms
        .store()
        .load::<o2c::purchasing::PurchaseOrder>(&po.id)
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(moved.expected_on, late.date_naive() + Days::new(3));
    let after = w.oms.order(waiting.id).await.unwrap();
    assert_eq!(promised(&after), Some(moved.expected_on));
    let all = events(&w).await;
    assert!(all.iter().any(|e| matches!(
        e,
        Event::PurchaseOrderLate { was_expected_on, expected_on, .. }
            if *was_expected_on == today + Days::new(4) && *expected_on == moved.expected_on
    )));
    assert!(all.iter().any(|e| matches!(
        e,
        Event::PromiseDateChanged { order, promised_on: Some(d), .. }
            if *order == waiting.id && *d == moved.expected_on
    )));
    // Not late again until the new day has passed.
    assert!(
        w.oms
            .run_due(late + Days::new(1))
            .await
            .unwrap()
            .rescheduled
            .is_empty()
    );
    assert_audit_clean(&w.oms).await;
}

/// A shop on `store` with `n` prepaid orders left unpaid, each of one mug.
async fn unpaid_shop<S: Store>(
    store: S,
    n: usize,
    policy: AutomationPolicy,
) -> (Oms<S, PickupCarrier>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start()));
    let oms = Oms::new(store, PickupCarrier::new())
        .with_clock(clock.clone())
        .with_ids(Arc::new(SeededIds::new(3)))
        .with_config(OmsConfig::default().with_automation(policy))
        .unwrap();
    let customers = common_shop(&oms, n).await;
    for (i, who) in customers.iter().enumerate() {
        let cart = PlaceOrder::new(
            key(&format!("cart-{i}")),
            *who,
            Channel::Store,
            o2c::money::Currency::USD,
        )
        .line(sku("HOT"), 1)
        .deliver(o2c::order::Delivery::Pickup {
            location: loc("SHOP"),
        });
        let order = oms.place_order(cart).await.unwrap();
        assert_eq!(order.holds, vec![Hold::AwaitingPayment]);
    }
    (oms, clock)
}

/// One SKU at one pickup desk, and `n` prepaid customers.
async fn common_shop<S: Store>(oms: &Oms<S, PickupCarrier>, n: usize) -> Vec<o2c::ids::CustomerId> {
    use o2c::catalog::{Product, TaxClass, TaxTable};
    use o2c::customer::NewCustomer;
    use o2c::stock::{Location, LocationKind};
    oms.set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, dec!(0.10)))
        .await
        .unwrap();
    oms.save_product(Product::new(
        sku("HOT"),
        "hot",
        usd(dec!(10.00)),
        usd(dec!(4.00)),
        TaxClass::standard(),
    ))
    .await
    .unwrap();
    oms.save_location(Location::new(
        loc("SHOP"),
        "Shop",
        LocationKind::Store,
        us_address("Shop"),
        1,
    ))
    .await
    .unwrap();
    oms.receive_stock(o2c::ReceiveStock::new(
        key("stock"),
        sku("HOT"),
        loc("SHOP"),
        1_000,
    ))
    .await
    .unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let mut profile = NewCustomer::new(
            format!("C{i}"),
            format!("c{i}@example.com"),
            us_address("C"),
            o2c::money::Currency::USD,
        );
        profile.terms = PaymentTerms::Prepaid;
        ids.push(
            oms.register_customer(profile, key(&format!("signup-{i}")))
                .await
                .unwrap()
                .id,
        );
    }
    ids
}

#[tokio::test]
async fn due_work_comes_in_batches_and_a_call_says_when_there_is_more() {
    let policy = AutomationPolicy::default().with_batch(2);
    let (oms, clock) = unpaid_shop(MemoryStore::new(), 5, policy).await;
    let later = clock.now() + Duration::days(8);
    let mut calls = Vec::new();
    loop {
        let report = oms.run_due(later).await.unwrap();
        calls.push(report.cancelled.len());
        if !report.more {
            break;
        }
    }
    assert_eq!(calls, vec![2, 2, 1]);
    let report = oms.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
}

/// Two instances on one store call `run_due` at once, over and over: every
/// order is cancelled once, and the events say so.
async fn two_instances_take_each_action_once<S: Store + Clone + 'static>(store: S) {
    let (first, clock) = unpaid_shop(store.clone(), 12, AutomationPolicy::default()).await;
    let second = Oms::new(store, PickupCarrier::new())
        .with_clock(clock.clone())
        .with_ids(Arc::new(SeededIds::new(4)));
    let later = clock.now() + Duration::days(8);
    let (a, b) = tokio::join!(first.run_due(later), second.run_due(later));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.cancelled.len() + b.cancelled.len(), 12, "{a:?} {b:?}");
    let events = first.events_after(0, 100_000).await.unwrap();
    let cancellations = events
        .iter()
        .filter(|e| matches!(e.event, Event::OrderCancelled { .. }))
        .count();
    assert_eq!(cancellations, 12);
    let report = first.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_take_each_action_once_in_memory() {
    two_instances_take_each_action_once(Arc::new(MemoryStore::new())).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_take_each_action_once_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("o2c-due-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shop.db");
    let _ = std::fs::remove_file(&path);
    let store = o2c::store::sqlite::SqliteStore::open(&path, Default::default()).unwrap();
    two_instances_take_each_action_once(Arc::new(store)).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_take_each_action_once_on_postgres() {
    let store = common::postgres::connect("run_due").await;
    let tenant = store.tenant_name().as_str().to_owned();
    two_instances_take_each_action_once(store.clone()).await;
    store.drop_tenant(&tenant).await.unwrap();
}
