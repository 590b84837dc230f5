//! One full order-to-cash flow per sales channel (web, store/POS pickup, phone, B2B on terms, marketplace): pricing and tax per line, invoices, ledger balances, stock movements, shipping and completion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use chrono::Duration;
use common::*;
use o2c::customer::{Address, PaymentMethod, PaymentTerms};
use o2c::event::Event;
use o2c::fulfilment::{Shipment, ShipmentStatus, TrackingEvent};
use o2c::ledger::{AccountCode, EntrySource, InvoicePolicy, InvoiceStatus};
use o2c::money::{Currency, Money};
use o2c::order::{
    Channel, Delivery, Discount, FulfilmentStatus, Hold, Order, OrderStatus, PaymentStatus,
    PlaceOrder, ServiceLevel,
};
use o2c::stock::MovementReason;
use o2c::store::Store;
use o2c::{OmsConfig, RecordPayment};
use rust_decimal_macros::dec;

/// Balance of `code` in USD, debit-positive.
async fn balance(w: &World, code: &str) -> Money {
    w.oms
        .trial_balance()
        .await
        .unwrap()
        .balance(&AccountCode::new(code), Currency::USD)
}

/// (on_hand, reserved) of `s` at `at`.
async fn level(w: &World, s: &str, at: &str) -> (i64, i64) {
    let l = w.oms.stock_level(&sku(s), &loc(at)).await.unwrap();
    (l.on_hand, l.reserved)
}

/// The `"type"` tags of every event after `cursor`.
async fn event_types(w: &World, cursor: u64) -> Vec<String> {
    w.oms
        .events_after(cursor, usize::MAX)
        .await
        .unwrap()
        .iter()
        .map(|e| {
            serde_json::to_value(&e.event).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn last_event(w: &World) -> u64 {
    w.oms.store().last_event_sequence().await.unwrap()
}

fn tracking(hours: i64, status: ShipmentStatus) -> TrackingEvent {
    TrackingEvent {
        at: start() + Duration::hours(hours),
        status,
        description: format!("{status:?}"),
    }
}

async fn pay(w: &World, k: &str, order: &Order, amount: Money, method: PaymentMethod) {
    let invoice = *order.invoices.last().unwrap();
    let p = w
        .oms
        .record_payment(RecordPayment::new(key(k), invoice, amount, method))
        .await
        .unwrap();
    assert_eq!(p.applied, amount);
    assert!(p.credited.is_zero());
}

/// The opening books of `world()`: inventory at cost against goods received.
/// TEE 25 × 8.00 = 200.00, MUG 27 × 4.00 = 108.00, BOOK 8 × 6.50 = 52.00 → 360.00.
async fn assert_opening_books(w: &World) {
    assert_eq!(balance(w, "1200").await, usd(dec!(360.00)));
    assert_eq!(balance(w, "2000").await, usd(dec!(-360.00)));
    for code in ["1100", "4000", "2100", "5000"] {
        assert!(balance(w, code).await.is_zero(), "{code} starts at zero");
    }
}

/// The last stock movement of `s` at `at` is `-units` for `shipment`.
async fn assert_shipped_movement(w: &World, s: &str, at: &str, units: i64, shipment: &Shipment) {
    let moves = w
        .oms
        .store()
        .stock_movements(&sku(s), &loc(at))
        .await
        .unwrap();
    let last = moves.last().unwrap();
    assert_eq!(last.quantity, -units);
    assert_eq!(
        last.reason,
        MovementReason::Shipment {
            shipment: shipment.id
        }
    );
    let sum: i64 = moves.iter().map(|m| m.quantity).sum();
    assert_eq!(sum, level(w, s, at).await.0, "on-hand = Σ movements");
}

#[tokio::test]
async fn web_order_prepaid_by_card_ships_by_parcel() {
    let w = world().await;
    assert_opening_books(&w).await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let cursor = last_event(&w).await;

    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("web-1"), c.id, Channel::Web, Currency::USD)
                .line(sku("TEE"), 2)
                .line(sku("BOOK"), 1)
                .shipping(usd(dec!(5.00))),
        )
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;

    // TEE: 2 × 20.00 = 40.00, standard 10 % → 4.00.
    // BOOK: 1 × 15.99 = 15.99, reduced 5 % → 0.7995 → 0.80 (half up).
    // Net 55.99 + tax 4.80 + shipping 5.00 = 65.79.
    assert_eq!(order.channel, Channel::Web);
    assert_eq!(order.lines[0].amounts.gross, usd(dec!(40.00)));
    assert_eq!(order.lines[0].amounts.tax, usd(dec!(4.00)));
    assert_eq!(order.lines[0].tax_rate, dec!(0.10));
    assert_eq!(order.lines[1].amounts.gross, usd(dec!(15.99)));
    assert_eq!(order.lines[1].amounts.tax, usd(dec!(0.80)));
    assert_eq!(order.lines[1].tax_rate, dec!(0.05));
    assert_eq!(order.net_total().unwrap(), usd(dec!(55.99)));
    assert_eq!(order.tax_total().unwrap(), usd(dec!(4.80)));
    assert_eq!(order.total().unwrap(), usd(dec!(65.79)));
    // Prepaid: held until paid, invoiced at once.
    assert_eq!(order.status, OrderStatus::OnHold);
    assert_eq!(order.holds, vec![Hold::AwaitingPayment]);
    assert_eq!(order.payment_status(), PaymentStatus::Unpaid);

    // WH-EAST has no BOOK, so WH-WEST (which has both) takes the whole order.
    for line in &order.lines {
        assert_eq!(line.reservations.len(), 1);
        assert_eq!(line.reservations[0].location, loc(WEST));
    }
    assert_eq!(level(&w, "TEE", WEST).await, (10, 2));
    assert_eq!(level(&w, "BOOK", WEST).await, (8, 1));
    assert_eq!(level(&w, "TEE", EAST).await, (10, 0));

    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(invoice.number.to_string(), "INV-000001");
    assert_eq!(invoice.total().unwrap(), usd(dec!(65.79)));
    assert_eq!(invoice.tax_total().unwrap(), usd(dec!(4.80)));
    assert_eq!(invoice.shipping, usd(dec!(5.00)));
    assert_eq!(invoice.due_at, invoice.issued_at, "prepaid: due at once");
    assert_eq!(invoice.status, InvoiceStatus::Open);
    assert_eq!(
        invoice.lines.iter().map(|l| l.tax).collect::<Vec<_>>(),
        vec![usd(dec!(4.00)), usd(dec!(0.80))]
    );

    // Dr AR 65.79; Cr revenue 55.99, tax 4.80, shipping revenue 5.00.
    assert_eq!(balance(&w, "1100").await, usd(dec!(65.79)));
    assert_eq!(balance(&w, "4000").await, usd(dec!(-55.99)));
    assert_eq!(balance(&w, "2100").await, usd(dec!(-4.80)));
    assert_eq!(balance(&w, "4100").await, usd(dec!(-5.00)));
    let buyer = w.oms.customer(c.id).await.unwrap();
    assert_eq!(buyer.history.balance, usd(dec!(65.79)));
    assert_eq!(buyer.history.orders_placed, 1);
    assert_eq!(buyer.history.lifetime_value, usd(dec!(65.79)));
    assert!(buyer.history.uninvoiced.is_zero());

    w.clock.advance(Duration::minutes(5));
    pay(&w, "web-pay", &order, usd(dec!(65.79)), PaymentMethod::Card).await;
    assert_audit_clean(&w.oms).await;
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.status, OrderStatus::Open);
    assert!(order.holds.is_empty());
    assert_eq!(order.payment_status(), PaymentStatus::Paid);
    assert_eq!(
        w.oms.invoice(order.invoices[0]).await.unwrap().status,
        InvoiceStatus::Paid
    );
    assert_eq!(balance(&w, "1020").await, usd(dec!(65.79)));
    assert!(balance(&w, "1100").await.is_zero());

    w.clock.advance(Duration::hours(1));
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    assert_eq!(shipments.len(), 1);
    let s = &shipments[0];
    // 2 × 200 g + 600 g = 1000 g: the 1 kg band, US zone, standard → 5.00.
    assert_eq!(s.location, loc(WEST));
    assert_eq!(s.carrier, "Parcelly");
    assert_eq!(s.service, "parcel-standard");
    assert_eq!(s.carrier_charge, usd(dec!(5.00)));
    assert_eq!(s.tracking.as_str(), "PARCELLY0000000001");
    assert_eq!(s.status, ShipmentStatus::Booked);
    // COGS: 2 × 8.00 + 6.50 = 22.50.
    assert_eq!(s.cost_of_goods, usd(dec!(22.50)));
    assert_eq!(level(&w, "TEE", WEST).await, (8, 0));
    assert_eq!(level(&w, "BOOK", WEST).await, (7, 0));
    assert_shipped_movement(&w, "TEE", WEST, 2, s).await;
    assert_shipped_movement(&w, "BOOK", WEST, 1, s).await;
    assert_eq!(balance(&w, "5000").await, usd(dec!(22.50)));
    assert_eq!(balance(&w, "1200").await, usd(dec!(337.50)));
    assert_eq!(balance(&w, "5200").await, usd(dec!(5.00)));
    assert_eq!(balance(&w, "2300").await, usd(dec!(-5.00)));
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.fulfilment_status(), FulfilmentStatus::Shipped);
    assert_eq!(order.status, OrderStatus::Open);

    let parcels = &w.oms.carrier().0;
    parcels
        .scan(
            &s.tracking,
            ShipmentStatus::InTransit,
            start() + Duration::hours(3),
            "left depot",
        )
        .unwrap();
    let moving = w.oms.refresh_tracking(s.id).await.unwrap();
    assert_eq!(moving.status, ShipmentStatus::InTransit);
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Open
    );
    parcels
        .scan(
            &s.tracking,
            ShipmentStatus::Delivered,
            start() + Duration::hours(30),
            "on porch",
        )
        .unwrap();
    let delivered = w.oms.refresh_tracking(s.id).await.unwrap();
    assert_eq!(delivered.status, ShipmentStatus::Delivered);
    assert_eq!(delivered.delivered_at, Some(start() + Duration::hours(30)));
    assert_eq!(delivered.tracking_events.len(), 2);
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.status, OrderStatus::Completed);
    assert_eq!(order.fulfilment_status(), FulfilmentStatus::Delivered);
    assert!(order.closed_at.is_some());

    assert_eq!(
        event_types(&w, cursor).await,
        vec![
            "order_placed",
            "stock_reserved_for_order",
            "order_held",
            "invoice_issued",
            "payment_recorded",
            "hold_released",
            "shipment_booked",
            "tracking_updated",
            "tracking_updated",
            "shipment_delivered",
            "order_completed",
        ]
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn store_pos_pickup_paid_in_cash_and_collected() {
    let w = world().await;
    assert_opening_books(&w).await;
    let c = customer(&w, "Bo", PaymentTerms::Prepaid, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("pos-1"), c.id, Channel::Store, Currency::USD)
                .line(sku("TEE"), 1)
                .line(sku("MUG"), 2)
                .deliver(Delivery::Pickup {
                    location: loc(STORE),
                }),
        )
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    // TEE 20.00 + tax 2.00; MUG 2 × 12.50 = 25.00 + tax 2.50 → 45.00 + 4.50 = 49.50.
    assert_eq!(order.total().unwrap(), usd(dec!(49.50)));
    assert_eq!(order.tax_total().unwrap(), usd(dec!(4.50)));
    assert!(order.shipping_charge.is_zero());
    // Pickup reserves at the store only, though WH-EAST could cover it and the store
    // does not fulfil shipped orders.
    assert!(
        order
            .lines
            .iter()
            .all(|l| l.reservations.len() == 1 && l.reservations[0].location == loc(STORE))
    );
    assert_eq!(level(&w, "TEE", STORE).await, (5, 1));
    assert_eq!(level(&w, "MUG", STORE).await, (2, 2));
    assert_eq!(level(&w, "TEE", EAST).await, (10, 0));
    assert_eq!(level(&w, "MUG", EAST).await, (5, 0));
    assert_eq!(balance(&w, "1100").await, usd(dec!(49.50)));
    assert_eq!(balance(&w, "4000").await, usd(dec!(-45.00)));
    assert_eq!(balance(&w, "2100").await, usd(dec!(-4.50)));

    pay(
        &w,
        "pos-cash",
        &order,
        usd(dec!(49.50)),
        PaymentMethod::Cash,
    )
    .await;
    assert_audit_clean(&w.oms).await;
    assert_eq!(balance(&w, "1000").await, usd(dec!(49.50)), "cash drawer");
    assert!(balance(&w, "1020").await.is_zero());
    assert!(balance(&w, "1100").await.is_zero());

    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    assert_eq!(shipments.len(), 1);
    let s = &shipments[0];
    assert_eq!(s.location, loc(STORE));
    assert_eq!(s.carrier, "pickup");
    assert_eq!(s.service, "in-store-pickup");
    assert!(s.carrier_charge.is_zero());
    assert_eq!(s.tracking.as_str(), "PU-000001");
    // COGS: 8.00 + 2 × 4.00 = 16.00; no carrier charge is posted.
    assert_eq!(s.cost_of_goods, usd(dec!(16.00)));
    assert_eq!(balance(&w, "5000").await, usd(dec!(16.00)));
    assert_eq!(balance(&w, "1200").await, usd(dec!(344.00)));
    assert!(balance(&w, "5200").await.is_zero());
    assert!(balance(&w, "2300").await.is_zero());
    let entry = w.oms.journal(0, usize::MAX).await.unwrap().pop().unwrap();
    assert_eq!(entry.source(), &EntrySource::Shipment { shipment: s.id });
    assert_eq!(entry.lines().len(), 2, "COGS only: Dr 5000, Cr 1200");
    assert_eq!(level(&w, "TEE", STORE).await, (4, 0));
    assert_eq!(level(&w, "MUG", STORE).await, (0, 0));
    assert_shipped_movement(&w, "MUG", STORE, 2, s).await;

    let desk = &w.oms.carrier().1;
    desk.ready(&s.tracking, start() + Duration::hours(1))
        .unwrap();
    let ready = w.oms.refresh_tracking(s.id).await.unwrap();
    assert_eq!(ready.status, ShipmentStatus::OutForDelivery);
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Open
    );
    desk.collect(&s.tracking, start() + Duration::hours(4))
        .unwrap();
    let collected = w.oms.refresh_tracking(s.id).await.unwrap();
    assert_eq!(collected.status, ShipmentStatus::Delivered);
    assert_eq!(collected.tracking_events.len(), 2, "ready scan not doubled");
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.status, OrderStatus::Completed);
    assert_eq!(order.channel, Channel::Store);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn phone_order_with_shipping_charge_and_order_discount_ships_express() {
    let w = world().await;
    let c = customer(&w, "Cy", PaymentTerms::Prepaid, None).await;
    let office = Address::new(
        "Cy at the office",
        "9 Side St",
        "Shelbyville",
        "54321",
        "US",
    );
    let mut cmd = PlaceOrder::new(key("phone-1"), c.id, Channel::Phone, Currency::USD)
        .line(sku("TEE"), 3)
        .line(sku("MUG"), 2)
        .discount(Discount::Amount(usd(dec!(5.00))))
        .shipping(usd(dec!(7.50)))
        .deliver(Delivery::Ship {
            address: office.clone().into(),
            service: ServiceLevel::Express,
        });
    cmd.note = Some("taken by agent 7".into());
    let order = w.oms.place_order(cmd).await.unwrap();
    assert_audit_clean(&w.oms).await;

    // Gross TEE 60.00, MUG 25.00. The 5.00 order discount is split 60 : 25 in cents:
    // 352.94¢ / 147.06¢ → floors 352 + 147 = 499, the spare cent to the larger
    // remainder → 3.53 / 1.47. Net 56.47 / 23.53; tax 5.647 → 5.65, 2.353 → 2.35.
    // Net 80.00 + tax 8.00 + shipping 7.50 = 95.50.
    let (tee, mug) = (&order.lines[0], &order.lines[1]);
    assert_eq!(tee.amounts.discount, usd(dec!(3.53)));
    assert_eq!(mug.amounts.discount, usd(dec!(1.47)));
    assert_eq!(tee.amounts.net, usd(dec!(56.47)));
    assert_eq!(mug.amounts.net, usd(dec!(23.53)));
    assert_eq!(tee.amounts.tax, usd(dec!(5.65)));
    assert_eq!(mug.amounts.tax, usd(dec!(2.35)));
    assert_eq!(order.discount_total().unwrap(), usd(dec!(5.00)));
    assert_eq!(order.net_total().unwrap(), usd(dec!(80.00)));
    assert_eq!(order.tax_total().unwrap(), usd(dec!(8.00)));
    assert_eq!(order.shipping_charge, usd(dec!(7.50)));
    assert_eq!(order.total().unwrap(), usd(dec!(95.50)));
    assert_eq!(order.note.as_deref(), Some("taken by agent 7"));
    assert_eq!(
        order.delivery,
        Delivery::Ship {
            address: office.into(),
            service: ServiceLevel::Express
        }
    );

    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(invoice.gross_total().unwrap(), usd(dec!(85.00)));
    assert_eq!(invoice.discount_total().unwrap(), usd(dec!(5.00)));
    assert_eq!(invoice.total().unwrap(), usd(dec!(95.50)));
    // Dr AR 95.50, Dr discounts 5.00; Cr revenue 85.00 (gross), tax 8.00, shipping 7.50.
    assert_eq!(balance(&w, "1100").await, usd(dec!(95.50)));
    assert_eq!(balance(&w, "4500").await, usd(dec!(5.00)));
    assert_eq!(balance(&w, "4000").await, usd(dec!(-85.00)));
    assert_eq!(balance(&w, "2100").await, usd(dec!(-8.00)));
    assert_eq!(balance(&w, "4100").await, usd(dec!(-7.50)));

    // WH-EAST covers TEE 3 and MUG 2 on its own.
    assert_eq!(level(&w, "TEE", EAST).await, (10, 3));
    assert_eq!(level(&w, "MUG", EAST).await, (5, 2));

    pay(
        &w,
        "phone-card",
        &order,
        usd(dec!(95.50)),
        PaymentMethod::Card,
    )
    .await;
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    let s = &shipments[0];
    // 3 × 200 g + 2 × 400 g = 1400 g: the 5 kg band, 8.00 × 1.8 express = 14.40.
    assert_eq!(s.service, "parcel-express");
    assert_eq!(s.carrier_charge, usd(dec!(14.40)));
    // COGS 3 × 8.00 + 2 × 4.00 = 32.00.
    assert_eq!(s.cost_of_goods, usd(dec!(32.00)));
    assert_eq!(balance(&w, "5000").await, usd(dec!(32.00)));
    assert_eq!(balance(&w, "5200").await, usd(dec!(14.40)));
    assert_eq!(balance(&w, "1200").await, usd(dec!(328.00)));
    assert_eq!(level(&w, "TEE", EAST).await, (7, 0));
    assert_eq!(level(&w, "MUG", EAST).await, (3, 0));

    // The carrier's webhook reports delivery directly.
    let done = w
        .oms
        .record_tracking(s.id, tracking(20, ShipmentStatus::Delivered))
        .await
        .unwrap();
    assert_eq!(done.status, ShipmentStatus::Delivered);
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Completed
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn b2b_order_on_net_30_is_invoiced_at_shipment_and_paid_by_transfer() {
    let w = world_with(OmsConfig::default().with_invoice_policy(InvoicePolicy::OnShipment)).await;
    assert_opening_books(&w).await;
    let c = customer(
        &w,
        "Acme",
        PaymentTerms::Net { days: 30 },
        Some(usd(dec!(1000.00))),
    )
    .await;
    let cursor = last_event(&w).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("b2b-1"), c.id, Channel::B2b, Currency::USD)
                .line(sku("TEE"), 5)
                .line(sku("MUG"), 10)
                .shipping(usd(dec!(10.00))),
        )
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    // TEE 100.00 + 10.00 tax; MUG 125.00 + 12.50 tax; shipping 10.00 → 257.50,
    // within the 1000.00 limit: no hold, and no invoice until it ships.
    assert_eq!(order.total().unwrap(), usd(dec!(257.50)));
    assert_eq!(order.status, OrderStatus::Open);
    assert!(order.holds.is_empty());
    assert!(order.invoices.is_empty());
    assert_eq!(order.payment_status(), PaymentStatus::NotInvoiced);
    let buyer = w.oms.customer(c.id).await.unwrap();
    assert_eq!(buyer.history.uninvoiced, usd(dec!(257.50)));
    assert!(buyer.history.balance.is_zero());
    assert!(balance(&w, "1100").await.is_zero());
    assert!(balance(&w, "4000").await.is_zero());
    // WH-EAST has only 5 MUG; WH-WEST covers everything.
    assert_eq!(level(&w, "TEE", WEST).await, (10, 5));
    assert_eq!(level(&w, "MUG", WEST).await, (20, 10));
    let ready: Vec<_> = w
        .oms
        .orders_ready_to_ship(10)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(ready, vec![order.id]);

    w.clock.advance(Duration::days(1));
    let shipped_at = start() + Duration::days(1);
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    let s = &shipments[0];
    // 5 × 200 g + 10 × 400 g = 5000 g: the 5 kg band → 8.00. COGS 40.00 + 40.00.
    assert_eq!(s.carrier_charge, usd(dec!(8.00)));
    assert_eq!(s.cost_of_goods, usd(dec!(80.00)));
    assert_eq!(level(&w, "TEE", WEST).await, (5, 0));
    assert_eq!(level(&w, "MUG", WEST).await, (10, 0));
    assert!(w.oms.orders_ready_to_ship(10).await.unwrap().is_empty());

    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.invoices.len(), 1);
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(invoice.number.to_string(), "INV-000001");
    assert_eq!(invoice.issued_at, shipped_at);
    assert_eq!(invoice.due_at, shipped_at + Duration::days(30));
    assert_eq!(invoice.shipping, usd(dec!(10.00)));
    assert_eq!(invoice.total().unwrap(), usd(dec!(257.50)));
    assert_eq!(order.invoiced, usd(dec!(257.50)));
    let buyer = w.oms.customer(c.id).await.unwrap();
    assert_eq!(buyer.history.balance, usd(dec!(257.50)));
    assert!(buyer.history.uninvoiced.is_zero());
    assert_eq!(balance(&w, "1100").await, usd(dec!(257.50)));
    assert_eq!(balance(&w, "4000").await, usd(dec!(-225.00)));
    assert_eq!(balance(&w, "2100").await, usd(dec!(-22.50)));
    assert_eq!(balance(&w, "4100").await, usd(dec!(-10.00)));
    assert_eq!(balance(&w, "5000").await, usd(dec!(80.00)));
    assert_eq!(balance(&w, "1200").await, usd(dec!(280.00)));

    // Delivered but unpaid: stays open.
    w.oms
        .record_tracking(s.id, tracking(48, ShipmentStatus::Delivered))
        .await
        .unwrap();
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.status, OrderStatus::Open);
    assert_eq!(order.fulfilment_status(), FulfilmentStatus::Delivered);
    assert_eq!(order.payment_status(), PaymentStatus::Unpaid);
    assert_audit_clean(&w.oms).await;

    w.clock.advance(Duration::days(20));
    let mut transfer = RecordPayment::new(
        key("b2b-transfer"),
        order.invoices[0],
        usd(dec!(257.50)),
        PaymentMethod::BankTransfer,
    );
    transfer.reference = Some("BACS-2026-0042".into());
    let payment = w.oms.record_payment(transfer).await.unwrap();
    assert_eq!(payment.reference.as_deref(), Some("BACS-2026-0042"));
    assert_eq!(balance(&w, "1010").await, usd(dec!(257.50)), "bank");
    assert!(balance(&w, "1100").await.is_zero());
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.status, OrderStatus::Completed);
    assert_eq!(order.closed_at, Some(start() + Duration::days(21)));
    assert!(
        w.oms
            .customer(c.id)
            .await
            .unwrap()
            .history
            .balance
            .is_zero()
    );

    assert_eq!(
        event_types(&w, cursor).await,
        vec![
            "order_placed",
            "stock_reserved_for_order",
            "shipment_booked",
            "invoice_issued",
            "tracking_updated",
            "shipment_delivered",
            "payment_recorded",
            "order_completed",
        ]
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn marketplace_order_at_explicit_unit_prices() {
    let w = world().await;
    let c = customer(&w, "Mo", PaymentTerms::Prepaid, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("mkt-1"), c.id, Channel::Marketplace, Currency::USD)
                .priced_line(sku("TEE"), 3, usd(dec!(18.75)))
                .priced_line(sku("BOOK"), 2, usd(dec!(14.99))),
        )
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    // TEE 3 × 18.75 = 56.25, tax 5.625 → 5.63; BOOK 2 × 14.99 = 29.98, tax 1.499 → 1.50.
    // Net 86.23 + tax 7.13 = 93.36 (the catalogue's 20.00 / 15.99 are not used).
    assert_eq!(order.lines[0].unit_price, usd(dec!(18.75)));
    assert_eq!(order.lines[1].unit_price, usd(dec!(14.99)));
    assert_eq!(order.lines[0].amounts.gross, usd(dec!(56.25)));
    assert_eq!(order.lines[0].amounts.tax, usd(dec!(5.63)));
    assert_eq!(order.lines[1].amounts.gross, usd(dec!(29.98)));
    assert_eq!(order.lines[1].amounts.tax, usd(dec!(1.50)));
    assert_eq!(order.total().unwrap(), usd(dec!(93.36)));
    assert_eq!(balance(&w, "4000").await, usd(dec!(-86.23)));
    assert_eq!(balance(&w, "2100").await, usd(dec!(-7.13)));
    assert_eq!(balance(&w, "1100").await, usd(dec!(93.36)));
    assert_eq!(level(&w, "TEE", WEST).await, (10, 3));
    assert_eq!(level(&w, "BOOK", WEST).await, (8, 2));

    pay(&w, "mkt-pay", &order, usd(dec!(93.36)), PaymentMethod::Card).await;
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    let s = &shipments[0];
    // 3 × 200 g + 2 × 600 g = 1800 g → 8.00; COGS 3 × 8.00 + 2 × 6.50 = 37.00.
    assert_eq!(s.carrier_charge, usd(dec!(8.00)));
    assert_eq!(s.cost_of_goods, usd(dec!(37.00)));
    assert_eq!(balance(&w, "5000").await, usd(dec!(37.00)));
    assert_eq!(balance(&w, "1200").await, usd(dec!(323.00)));
    assert_eq!(level(&w, "TEE", WEST).await, (7, 0));
    assert_eq!(level(&w, "BOOK", WEST).await, (6, 0));
    w.oms
        .record_tracking(s.id, tracking(5, ShipmentStatus::InTransit))
        .await
        .unwrap();
    w.oms
        .record_tracking(s.id, tracking(29, ShipmentStatus::Delivered))
        .await
        .unwrap();
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.status, OrderStatus::Completed);
    assert_eq!(order.channel, Channel::Marketplace);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn invoice_numbers_run_gapless_across_channels_and_cancellations() {
    let w = world().await;
    let prepaid = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let net = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let cursor = last_event(&w).await;
    let mut numbers = Vec::new();
    for (k, who, channel) in [
        ("n-web", prepaid.id, Channel::Web),
        ("n-phone", prepaid.id, Channel::Phone),
        ("n-b2b", net.id, Channel::B2b),
        ("n-mkt", prepaid.id, Channel::Marketplace),
    ] {
        let order = w
            .oms
            .place_order(PlaceOrder::new(key(k), who, channel, Currency::USD).line(sku("MUG"), 1))
            .await
            .unwrap();
        if k == "n-phone" {
            w.oms
                .cancel_order(
                    order.id,
                    "duplicate call",
                    o2c::ids::IdempotencyKey::generate(),
                )
                .await
                .unwrap();
        }
        numbers.push(
            w.oms
                .invoice(order.invoices[0])
                .await
                .unwrap()
                .number
                .to_string(),
        );
    }
    // A voided invoice keeps its number; the next one does not reuse it.
    assert_eq!(
        numbers,
        vec!["INV-000001", "INV-000002", "INV-000003", "INV-000004"]
    );
    let issued: Vec<u64> = w
        .oms
        .events_after(cursor, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            Event::InvoiceIssued { number, total, .. } => {
                // MUG 12.50 + 1.25 tax.
                assert_eq!(total, usd(dec!(13.75)));
                Some(number.value())
            }
            _ => None,
        })
        .collect();
    assert_eq!(issued, vec![1, 2, 3, 4]);
    // Three live invoices of 13.75 each are receivable.
    assert_eq!(balance(&w, "1100").await, usd(dec!(41.25)));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn prepaid_customers_are_invoiced_on_order_even_when_invoicing_on_shipment() {
    let w = world_with(OmsConfig::default().with_invoice_policy(InvoicePolicy::OnShipment)).await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("pre-ship"), c.id, Channel::Web, Currency::USD)
                .line(sku("MUG"), 2)
                .shipping(usd(dec!(5.00))),
        )
        .await
        .unwrap();
    // MUG 25.00 + 2.50 tax + 5.00 shipping = 32.50, invoiced now so it can be paid.
    assert_eq!(order.invoices.len(), 1);
    assert_eq!(order.invoiced, usd(dec!(32.50)));
    assert_eq!(order.holds, vec![Hold::AwaitingPayment]);
    assert_eq!(balance(&w, "1100").await, usd(dec!(32.50)));
    pay(
        &w,
        "pre-ship-pay",
        &order,
        usd(dec!(32.50)),
        PaymentMethod::Card,
    )
    .await;

    // Shipping bills nothing more: no second invoice, no second shipping charge.
    let cursor = last_event(&w).await;
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.invoices.len(), 1);
    assert_eq!(order.invoiced, usd(dec!(32.50)));
    assert_eq!(balance(&w, "4100").await, usd(dec!(-5.00)));
    assert!(balance(&w, "1100").await.is_zero());
    assert_eq!(event_types(&w, cursor).await, vec!["shipment_booked"]);
    // 2 × 400 g = 800 g → 5.00; COGS 2 × 4.00 = 8.00.
    assert_eq!(shipments[0].carrier_charge, usd(dec!(5.00)));
    assert_eq!(balance(&w, "5000").await, usd(dec!(8.00)));
    w.oms
        .record_tracking(shipments[0].id, tracking(24, ShipmentStatus::Delivered))
        .await
        .unwrap();
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Completed
    );
    assert_audit_clean(&w.oms).await;
}
