//! The event log: the exact events an order's life emits, gapless sequences, paging with a cursor, the JSON form with its "type" tag, and that rejected or replayed commands append nothing.
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
use o2c::event::{Event, RecordedEvent, ReservedStock};
use o2c::fulfilment::{ShipmentStatus, TrackingNumber};
use o2c::ledger::{InvoiceNumber, OverpaymentPolicy};
use o2c::money::Currency;
use o2c::order::{Channel, Hold, Order, PlaceOrder};
use o2c::quantity::Quantity;
use o2c::store::{IdempotencyScope, Store};
use o2c::{AdjustStock, Error, RecordPayment};
use rust_decimal_macros::dec;

async fn last_event(w: &World) -> u64 {
    w.oms.store().last_event_sequence().await.unwrap()
}

async fn recorded_since(w: &World, cursor: u64) -> Vec<RecordedEvent> {
    w.oms.events_after(cursor, usize::MAX).await.unwrap()
}

fn type_tag(event: &Event) -> String {
    serde_json::to_value(event).unwrap()["type"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// TEE 1 + MUG 1 from WH-EAST: 20.00 + 2.00, 12.50 + 1.25 → 35.75.
fn tee_and_mug(k: &str, who: o2c::ids::CustomerId) -> PlaceOrder {
    PlaceOrder::new(key(k), who, Channel::Web, Currency::USD)
        .line(sku("TEE"), 1)
        .line(sku("MUG"), 1)
}

/// Places, pays, ships and delivers (in two scans) one prepaid order, moving the
/// clock a minute before each step.
async fn full_flow(w: &World, k: &str, who: o2c::ids::CustomerId) -> Order {
    w.clock.advance(Duration::minutes(1));
    let order = w.oms.place_order(tee_and_mug(k, who)).await.unwrap();
    w.clock.advance(Duration::minutes(1));
    w.oms
        .record_payment(RecordPayment::new(
            key(&format!("{k}-pay")),
            order.invoices[0],
            usd(dec!(35.75)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    w.clock.advance(Duration::minutes(1));
    let shipment = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
        .remove(0);
    let parcels = &w.oms.carrier().0;
    for (hours, status) in [
        (2, ShipmentStatus::InTransit),
        (20, ShipmentStatus::Delivered),
    ] {
        w.clock.advance(Duration::minutes(1));
        parcels
            .scan(
                &shipment.tracking,
                status,
                start() + Duration::hours(hours),
                "scan",
            )
            .unwrap();
        w.oms.refresh_tracking(shipment.id).await.unwrap();
    }
    w.oms.order(order.id).await.unwrap()
}

#[tokio::test]
async fn an_order_emits_its_events_in_order_with_gapless_sequences() {
    let w = world().await;
    // The world's set-up is in the log too: tax table, 3 products, 3 locations,
    // 7 receipts.
    let setup = recorded_since(&w, 0).await;
    assert_eq!(setup.len(), 14);
    let tags: Vec<String> = setup.iter().map(|e| type_tag(&e.event)).collect();
    assert_eq!(tags[0], "tax_table_saved");
    assert_eq!(&tags[1..4], ["product_saved"; 3]);
    assert_eq!(&tags[4..7], ["location_saved"; 3]);
    assert_eq!(&tags[7..14], ["stock_received"; 7]);

    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    assert_eq!(
        recorded_since(&w, 14).await[0].event,
        Event::CustomerRegistered { customer: c.id }
    );
    let cursor = last_event(&w).await;
    assert_eq!(cursor, 15);

    let order = full_flow(&w, "flow", c.id).await;
    let log = recorded_since(&w, cursor).await;
    let invoice = order.invoices[0];
    let shipment = order.shipments[0];
    let payment = w
        .oms
        .store()
        .list::<o2c::ledger::Payment>()
        .await
        .unwrap()
        .remove(0)
        .value
        .id;
    let events: Vec<Event> = log.iter().map(|e| e.event.clone()).collect();
    assert_eq!(
        events,
        vec![
            Event::OrderPlaced {
                order: order.id,
                number: order.number,
                customer: c.id,
                channel: Channel::Web,
                total: usd(dec!(35.75)),
            },
            Event::StockReservedForOrder {
                order: order.id,
                reservations: vec![
                    ReservedStock {
                        sku: sku("TEE"),
                        location: loc(EAST),
                        quantity: Quantity::new(1),
                    },
                    ReservedStock {
                        sku: sku("MUG"),
                        location: loc(EAST),
                        quantity: Quantity::new(1),
                    },
                ],
            },
            Event::OrderHeld {
                order: order.id,
                hold: Hold::AwaitingPayment,
            },
            Event::InvoiceIssued {
                invoice,
                number: InvoiceNumber::new(1),
                order: order.id,
                total: usd(dec!(35.75)),
            },
            Event::PaymentRecorded {
                payment,
                invoice,
                order: order.id,
                amount: usd(dec!(35.75)),
                applied: usd(dec!(35.75)),
            },
            Event::HoldReleased {
                order: order.id,
                hold: Hold::AwaitingPayment,
            },
            Event::ShipmentBooked {
                shipment,
                order: order.id,
                location: loc(EAST),
                carrier: "Parcelly".into(),
                tracking: TrackingNumber::new("PARCELLY0000000001"),
            },
            Event::TrackingUpdated {
                shipment,
                status: ShipmentStatus::InTransit,
            },
            Event::TrackingUpdated {
                shipment,
                status: ShipmentStatus::Delivered,
            },
            Event::ShipmentDelivered {
                shipment,
                order: order.id,
            },
            Event::OrderCompleted { order: order.id },
        ]
    );
    // Gapless, starting right after the cursor.
    let sequences: Vec<u64> = log.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (16..=26).collect::<Vec<u64>>());
    // Each event carries its commit's time: one command per minute.
    let minutes: Vec<i64> = log
        .iter()
        .map(|e| (e.recorded_at - start()).num_minutes())
        .collect();
    assert_eq!(minutes, vec![1, 1, 1, 1, 2, 2, 3, 4, 5, 5, 5]);
    assert_eq!(last_event(&w).await, 26);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn paging_with_a_cursor_returns_each_event_exactly_once() {
    let w = world().await;
    let a = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let b = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    full_flow(&w, "one", a.id).await;
    let other = w.oms.place_order(tee_and_mug("two", b.id)).await.unwrap();
    w.oms
        .cancel_order(other.id, "duplicate", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;

    let everything = recorded_since(&w, 0).await;
    let total = everything.len();
    // 14 set-up + 2 customers + 11 for the full flow + 3 placing (placed, reserved,
    // invoice) + 4 cancelling (cancelled, 2 released, voided).
    assert_eq!(total, 34);
    assert_eq!(last_event(&w).await, 34);

    for page_size in [1, 4, 7, 34, 100] {
        let mut cursor = 0;
        let mut pages = Vec::new();
        let mut read = Vec::new();
        loop {
            let page = w.oms.events_after(cursor, page_size).await.unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= page_size);
            cursor = page.last().unwrap().sequence;
            pages.push(page.len());
            read.extend(page);
        }
        assert_eq!(read, everything, "page size {page_size}");
        assert_eq!(pages.len(), total.div_ceil(page_size));
        assert_eq!(cursor, 34);
    }

    // Reading from the middle starts right after the cursor.
    let tail = w.oms.events_after(30, 3).await.unwrap();
    assert_eq!(
        tail.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        vec![31, 32, 33]
    );
    assert!(w.oms.events_after(34, 10).await.unwrap().is_empty());
    assert!(w.oms.events_after(1000, 10).await.unwrap().is_empty());
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn events_serialise_with_a_type_tag_and_round_trip() {
    let w = world().await;
    let a = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = full_flow(&w, "json", a.id).await;
    // More kinds: a credited overpayment, an adjustment, a cancellation.
    let second = w
        .oms
        .place_order(tee_and_mug("json-2", a.id))
        .await
        .unwrap();
    let mut over = RecordPayment::new(
        key("json-2-pay"),
        second.invoices[0],
        usd(dec!(40.00)),
        PaymentMethod::Card,
    );
    over.overpayment = OverpaymentPolicy::CreditCustomer;
    w.oms.record_payment(over).await.unwrap();
    w.oms
        .cancel_order(second.id, "json", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .adjust_stock(AdjustStock::new(
            key("count-1"),
            sku("BOOK"),
            loc(WEST),
            -1,
            "cycle count",
        ))
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;

    let log = recorded_since(&w, 0).await;
    let mut tags: Vec<String> = Vec::new();
    for recorded in &log {
        let json = serde_json::to_value(&recorded.event).unwrap();
        let tag = json["type"].as_str().unwrap().to_owned();
        assert!(
            tag.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "snake_case tag {tag}"
        );
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, recorded.event);
        let text = serde_json::to_string(recorded).unwrap();
        let again: RecordedEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(&again, recorded);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags.sort();
    assert_eq!(
        tags,
        vec![
            "customer_credited",
            "customer_registered",
            "hold_released",
            "invoice_issued",
            "invoice_voided",
            "location_saved",
            "order_cancelled",
            "order_completed",
            "order_held",
            "order_placed",
            "payment_recorded",
            "product_saved",
            "shipment_booked",
            "shipment_delivered",
            "stock_adjusted",
            "stock_received",
            "stock_released",
            "stock_reserved_for_order",
            "tax_table_saved",
            "tracking_updated",
        ]
    );

    // The wire form integrations see, field by field, of the first event `is` picks.
    let wire = |is: fn(&Event) -> bool| {
        let first = log.iter().find(|e| is(&e.event)).unwrap();
        serde_json::to_value(&first.event).unwrap()
    };
    assert_eq!(
        wire(|e| matches!(e, Event::OrderPlaced { .. })),
        serde_json::json!({
            "type": "order_placed",
            "order": order.id.to_string(),
            "number": 1,
            "customer": a.id.to_string(),
            "channel": "web",
            "total": { "amount": "35.75", "currency": "USD" },
        })
    );
    // One event for everything a placement reserved, its lines in order.
    assert_eq!(
        wire(|e| matches!(e, Event::StockReservedForOrder { .. })),
        serde_json::json!({
            "type": "stock_reserved_for_order",
            "order": order.id.to_string(),
            "reservations": [
                { "sku": "TEE", "location": EAST, "quantity": 1 },
                { "sku": "MUG", "location": EAST, "quantity": 1 },
            ],
        })
    );
    // The per-line event o2c recorded before 0.2 still reads back.
    let old: Event = serde_json::from_value(serde_json::json!({
        "type": "stock_reserved",
        "order": order.id.to_string(),
        "sku": "TEE",
        "location": EAST,
        "quantity": 1,
    }))
    .unwrap();
    assert!(matches!(old, Event::StockReserved { .. }));
    // 40.00 offered against 35.75: 4.25 credited.
    assert_eq!(
        wire(|e| matches!(e, Event::CustomerCredited { .. })),
        serde_json::json!({
            "type": "customer_credited",
            "customer": a.id.to_string(),
            "amount": { "amount": "4.25", "currency": "USD" },
        })
    );
    assert_eq!(
        serde_json::to_value(Event::TaxTableSaved).unwrap(),
        serde_json::json!({ "type": "tax_table_saved" })
    );
}

#[tokio::test]
async fn rejected_commands_append_no_events() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = w.oms.place_order(tee_and_mug("held", c.id)).await.unwrap();
    let before = snapshot(&w.oms).await;
    let last = last_event(&w).await;

    // Not enough TEE at the warehouses (20).
    let short = w
        .oms
        .place_order(
            PlaceOrder::new(key("short"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 21),
        )
        .await;
    assert!(matches!(short, Err(Error::Stock(_))), "{short:?}");
    // Shipping an unpaid prepaid order.
    assert!(matches!(
        w.oms
            .ship(order.id, o2c::ids::IdempotencyKey::generate())
            .await,
        Err(Error::Order(_))
    ));
    // Overpaying.
    let over = w
        .oms
        .record_payment(RecordPayment::new(
            key("over"),
            order.invoices[0],
            usd(dec!(99.00)),
            PaymentMethod::Card,
        ))
        .await;
    assert!(matches!(over, Err(Error::Payment(_))), "{over:?}");
    // Releasing a hold it does not have.
    assert!(matches!(
        w.oms
            .release_hold(
                order.id,
                Hold::ManualReview,
                o2c::ids::IdempotencyKey::generate()
            )
            .await,
        Err(Error::Order(_))
    ));
    // Adjusting on-hand below what is reserved: EAST has 10 TEE, 1 reserved.
    let below = w
        .oms
        .adjust_stock(AdjustStock::new(
            key("shrink"),
            sku("TEE"),
            loc(EAST),
            -10,
            "count",
        ))
        .await;
    assert!(matches!(below, Err(Error::Stock(_))), "{below:?}");

    assert_eq!(last_event(&w).await, last);
    assert_eq!(snapshot(&w.oms).await, before);

    // Cancel, then the second cancel is rejected without an event.
    w.oms
        .cancel_order(order.id, "first", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let last = last_event(&w).await;
    assert!(matches!(
        w.oms
            .cancel_order(order.id, "second", o2c::ids::IdempotencyKey::generate())
            .await,
        Err(Error::Order(_))
    ));
    assert_eq!(last_event(&w).await, last);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn retrying_place_order_with_the_same_key_returns_the_same_order_and_appends_nothing() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let cmd = tee_and_mug("double-click", c.id);
    let first = w.oms.place_order(cmd.clone()).await.unwrap();
    assert_audit_clean(&w.oms).await;
    let before = snapshot(&w.oms).await;
    let last = last_event(&w).await;

    w.clock.advance(Duration::seconds(1));
    let second = w.oms.place_order(cmd.clone()).await.unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(second.value, first.value);
    assert!(second.replayed && !first.replayed);
    assert_eq!(last_event(&w).await, last, "no events appended");
    assert_eq!(snapshot(&w.oms).await, before, "nothing written");
    let stock = w.oms.stock_level(&sku("TEE"), &loc(EAST)).await.unwrap();
    assert_eq!((stock.on_hand, stock.reserved), (10, 1), "reserved once");
    assert_eq!(w.oms.customer_orders(c.id).await.unwrap().len(), 1);
    assert_eq!(w.oms.customer(c.id).await.unwrap().history.orders_placed, 1);

    // Later retries still find it, as it is now.
    w.oms
        .record_payment(RecordPayment::new(
            key("double-click-pay"),
            first.invoices[0],
            usd(dec!(35.75)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    let last = last_event(&w).await;
    let third = w.oms.place_order(cmd).await.unwrap();
    assert_eq!(third.id, first.id);
    assert_eq!(third.paid, usd(dec!(35.75)));
    assert_eq!(last_event(&w).await, last);

    // The same key with other content is refused, and appends nothing either.
    let before = snapshot(&w.oms).await;
    match w
        .oms
        .place_order(
            PlaceOrder::new(key("double-click"), c.id, Channel::Web, Currency::USD)
                .line(sku("TEE"), 2),
        )
        .await
    {
        Err(Error::IdempotencyKeyReused { scope, key: k }) => {
            assert_eq!(scope, IdempotencyScope::PlaceOrder);
            assert_eq!(k, key("double-click"));
        }
        other => panic!("expected IdempotencyKeyReused, got {other:?}"),
    }
    assert_eq!(snapshot(&w.oms).await, before);
    assert_audit_clean(&w.oms).await;
}
