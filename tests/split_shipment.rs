//! Allocation and split shipments: orders no single location can cover are split over WH-EAST and WH-WEST and ship as one parcel per location; orders one location covers ship once; several lines of one SKU share availability.
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
use o2c::fulfilment::{Shipment, ShipmentStatus, TrackingEvent};
use o2c::ids::CustomerId;
use o2c::ledger::{AccountCode, InvoicePolicy};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, FulfilmentStatus, Order, OrderStatus, PlaceOrder};
use o2c::quantity::Quantity;
use o2c::stock::{AllocationStrategy, StockError};
use o2c::{Error, OmsConfig, RecordPayment};
use rust_decimal_macros::dec;

async fn balance(w: &World, code: &str) -> Money {
    w.oms
        .trial_balance()
        .await
        .unwrap()
        .balance(&AccountCode::new(code), Currency::USD)
}

async fn level(w: &World, s: &str, at: &str) -> (i64, i64) {
    let l = w.oms.stock_level(&sku(s), &loc(at)).await.unwrap();
    (l.on_hand, l.reserved)
}

/// (location, units) of each reservation of line `i`.
fn reservations(order: &Order, i: usize) -> Vec<(String, u32)> {
    order.lines[i]
        .reservations
        .iter()
        .map(|r| (r.location.as_str().to_owned(), r.quantity.units()))
        .collect()
}

/// (line number, units) carried by a shipment.
fn carried(s: &Shipment) -> Vec<(u16, u32)> {
    s.lines
        .iter()
        .map(|l| (l.line_no, l.quantity.units()))
        .collect()
}

async fn pay_in_full(w: &World, k: &str, order: &Order) {
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    w.oms
        .record_payment(RecordPayment::new(
            key(k),
            invoice.id,
            invoice.total().unwrap(),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
}

async fn deliver(w: &World, s: &Shipment, hours: i64) {
    w.oms
        .record_tracking(
            s.id,
            TrackingEvent {
                at: start() + Duration::hours(hours),
                status: ShipmentStatus::Delivered,
                description: "delivered".into(),
            },
        )
        .await
        .unwrap();
}

async fn place(w: &World, cmd: PlaceOrder) -> Order {
    let order = w.oms.place_order(cmd).await.unwrap();
    assert_audit_clean(&w.oms).await;
    order.into_inner()
}

fn web(k: &str, who: CustomerId) -> PlaceOrder {
    PlaceOrder::new(key(k), who, Channel::Web, Currency::USD)
}

#[tokio::test]
async fn an_order_no_single_location_covers_is_split_and_ships_twice() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    // 15 TEE: WH-EAST and WH-WEST have 10 each; STORE-NYC's 5 do not count (it does
    // not fulfil shipped orders).
    let order = place(
        &w,
        web("split", c.id).line(sku("TEE"), 15).line(sku("MUG"), 3),
    )
    .await;
    // TEE 300.00 + 30.00 tax; MUG 37.50 + 3.75 tax → 371.25.
    assert_eq!(order.total().unwrap(), usd(dec!(371.25)));
    // No site covers everything, so each line takes from sites in priority order.
    assert_eq!(
        reservations(&order, 0),
        vec![(EAST.to_owned(), 10), (WEST.to_owned(), 5)]
    );
    assert_eq!(reservations(&order, 1), vec![(EAST.to_owned(), 3)]);
    assert_eq!(level(&w, "TEE", EAST).await, (10, 10));
    assert_eq!(level(&w, "TEE", WEST).await, (10, 5));
    assert_eq!(level(&w, "TEE", STORE).await, (5, 0));
    assert_eq!(level(&w, "MUG", EAST).await, (5, 3));
    assert_eq!(level(&w, "MUG", WEST).await, (20, 0));

    pay_in_full(&w, "split-pay", &order).await;
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    assert_eq!(shipments.len(), 2);
    let (east, west) = (&shipments[0], &shipments[1]);
    assert_eq!(east.location, loc(EAST));
    assert_eq!(west.location, loc(WEST));
    assert_eq!(carried(east), vec![(1, 10), (2, 3)]);
    assert_eq!(carried(west), vec![(1, 5)]);
    assert_ne!(east.tracking, west.tracking);
    assert_eq!(east.tracking.as_str(), "PARCELLY0000000001");
    assert_eq!(west.tracking.as_str(), "PARCELLY0000000002");
    assert_ne!(east.booking_key, west.booking_key);
    // EAST: 10 × 200 g + 3 × 400 g = 3200 g → 8.00; WEST: 5 × 200 g = 1000 g → 5.00.
    assert_eq!(east.carrier_charge, usd(dec!(8.00)));
    assert_eq!(west.carrier_charge, usd(dec!(5.00)));
    // COGS: EAST 10 × 8.00 + 3 × 4.00 = 92.00; WEST 5 × 8.00 = 40.00.
    assert_eq!(east.cost_of_goods, usd(dec!(92.00)));
    assert_eq!(west.cost_of_goods, usd(dec!(40.00)));
    assert_eq!(balance(&w, "5000").await, usd(dec!(132.00)));
    assert_eq!(
        balance(&w, "1200").await,
        usd(dec!(228.00)),
        "360.00 − 132.00"
    );
    assert_eq!(balance(&w, "5200").await, usd(dec!(13.00)));
    assert_eq!(balance(&w, "2300").await, usd(dec!(-13.00)));

    assert_eq!(level(&w, "TEE", EAST).await, (0, 0));
    assert_eq!(level(&w, "TEE", WEST).await, (5, 0));
    assert_eq!(level(&w, "TEE", STORE).await, (5, 0));
    assert_eq!(level(&w, "MUG", EAST).await, (2, 0));
    assert_eq!(level(&w, "MUG", WEST).await, (20, 0));

    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.shipments, vec![east.id, west.id]);
    assert_eq!(order.lines[0].shipped, Quantity::new(15));
    assert_eq!(order.lines[1].shipped, Quantity::new(3));
    assert_eq!(order.fulfilment_status(), FulfilmentStatus::Shipped);

    // One parcel delivered is not the order delivered.
    deliver(&w, east, 24).await;
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.status, OrderStatus::Open);
    assert_eq!(order.lines[0].delivered, Quantity::new(10));
    assert_eq!(order.fulfilment_status(), FulfilmentStatus::Shipped);
    assert_audit_clean(&w.oms).await;
    deliver(&w, west, 30).await;
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.lines[0].delivered, Quantity::new(15));
    assert_eq!(order.status, OrderStatus::Completed);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_split_shipment_on_terms_is_invoiced_once_to_the_cent() {
    let w = world_with(OmsConfig::default().with_invoice_policy(InvoicePolicy::OnShipment)).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = place(
        &w,
        PlaceOrder::new(key("b2b-split"), c.id, Channel::B2b, Currency::USD).priced_line(
            sku("TEE"),
            15,
            usd(dec!(19.99)),
        ),
    )
    .await;
    // 15 × 19.99 = 299.85; tax 29.985 → 29.99; total 329.84.
    assert_eq!(order.total().unwrap(), usd(dec!(329.84)));
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    assert_eq!(shipments.len(), 2);

    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(
        order.invoices.len(),
        1,
        "one invoice for the whole ship call"
    );
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    // The line left from two warehouses in one call, and is billed as one
    // invoice line of its 15 units (a credit note finds a line by its number,
    // so a second line for it could never be credited).
    let parts: Vec<(u32, Money, Money)> = invoice
        .lines
        .iter()
        .map(|l| (l.quantity.units(), l.gross, l.tax))
        .collect();
    assert_eq!(parts, vec![(15, usd(dec!(299.85)), usd(dec!(29.99)))]);
    assert_eq!(invoice.total().unwrap(), usd(dec!(329.84)));
    assert_eq!(order.invoiced, order.total().unwrap());
    assert_eq!(balance(&w, "1100").await, usd(dec!(329.84)));
    assert_eq!(balance(&w, "2100").await, usd(dec!(-29.99)));
    // COGS at standard cost regardless of the contract price: 15 × 8.00.
    assert_eq!(balance(&w, "5000").await, usd(dec!(120.00)));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn an_order_one_location_covers_ships_once() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    // WH-EAST (priority 1) has TEE 10 and MUG 5: it covers TEE 4 + MUG 3.
    let order = place(&w, web("one", c.id).line(sku("TEE"), 4).line(sku("MUG"), 3)).await;
    assert_eq!(reservations(&order, 0), vec![(EAST.to_owned(), 4)]);
    assert_eq!(reservations(&order, 1), vec![(EAST.to_owned(), 3)]);
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    assert_eq!(shipments.len(), 1);
    let s = &shipments[0];
    assert_eq!(s.location, loc(EAST));
    assert_eq!(carried(s), vec![(1, 4), (2, 3)]);
    // 4 × 200 g + 3 × 400 g = 2000 g → 8.00; COGS 4 × 8.00 + 3 × 4.00 = 44.00.
    assert_eq!(s.carrier_charge, usd(dec!(8.00)));
    assert_eq!(s.cost_of_goods, usd(dec!(44.00)));
    assert_eq!(level(&w, "TEE", EAST).await, (6, 0));
    assert_eq!(level(&w, "MUG", EAST).await, (2, 0));
    assert_eq!(level(&w, "TEE", WEST).await, (10, 0));
    assert_eq!(level(&w, "MUG", WEST).await, (20, 0));
    assert_eq!(balance(&w, "5000").await, usd(dec!(44.00)));

    // MUG 8: WH-EAST (5) cannot, WH-WEST (20) can alone, so it wins over priority.
    let order = place(&w, web("west", c.id).line(sku("MUG"), 8)).await;
    assert_eq!(reservations(&order, 0), vec![(WEST.to_owned(), 8)]);
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(shipments.len(), 1);
    assert_eq!(shipments[0].location, loc(WEST));
    assert_eq!(level(&w, "MUG", WEST).await, (12, 0));
    assert_eq!(level(&w, "MUG", EAST).await, (2, 0));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn priority_order_strategy_drains_the_first_site_even_if_another_could_cover() {
    let w =
        world_with(OmsConfig::default().with_allocation(AllocationStrategy::PriorityOrder)).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = place(&w, web("prio", c.id).line(sku("MUG"), 8)).await;
    assert_eq!(
        reservations(&order, 0),
        vec![(EAST.to_owned(), 5), (WEST.to_owned(), 3)]
    );
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(shipments.len(), 2);
    assert_eq!(level(&w, "MUG", EAST).await, (0, 0));
    assert_eq!(level(&w, "MUG", WEST).await, (17, 0));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn two_lines_of_one_sku_reserve_from_shared_availability() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;

    // 4 + 5 = 9 ≤ 10 at WH-EAST: both lines there.
    let fits = place(
        &w,
        web("fits", c.id).line(sku("TEE"), 4).line(sku("TEE"), 5),
    )
    .await;
    assert_eq!(reservations(&fits, 0), vec![(EAST.to_owned(), 4)]);
    assert_eq!(reservations(&fits, 1), vec![(EAST.to_owned(), 5)]);
    assert_eq!(level(&w, "TEE", EAST).await, (10, 9));
    // Each line is priced and taxed on its own: 80.00 + 8.00, 100.00 + 10.00.
    assert_eq!(fits.lines[0].amounts.tax, usd(dec!(8.00)));
    assert_eq!(fits.lines[1].amounts.tax, usd(dec!(10.00)));
    assert_eq!(fits.total().unwrap(), usd(dec!(198.00)));
    w.oms
        .cancel_order(fits.id, "re-entered", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(level(&w, "TEE", EAST).await, (10, 0));

    // 6 + 7 = 13 > 10: line 1 takes 6 at EAST, line 2 the last 4 there and 3 at WEST.
    let split = place(
        &w,
        web("split", c.id).line(sku("TEE"), 6).line(sku("TEE"), 7),
    )
    .await;
    assert_eq!(reservations(&split, 0), vec![(EAST.to_owned(), 6)]);
    assert_eq!(
        reservations(&split, 1),
        vec![(EAST.to_owned(), 4), (WEST.to_owned(), 3)]
    );
    assert_eq!(level(&w, "TEE", EAST).await, (10, 10));
    assert_eq!(level(&w, "TEE", WEST).await, (10, 3));

    let shipments = w
        .oms
        .ship(split.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    assert_eq!(shipments.len(), 2);
    assert_eq!(carried(&shipments[0]), vec![(1, 6), (2, 4)]);
    assert_eq!(carried(&shipments[1]), vec![(2, 3)]);
    // COGS 10 × 8.00 + 3 × 8.00.
    assert_eq!(shipments[0].cost_of_goods, usd(dec!(80.00)));
    assert_eq!(shipments[1].cost_of_goods, usd(dec!(24.00)));
    assert_eq!(level(&w, "TEE", EAST).await, (0, 0));
    assert_eq!(level(&w, "TEE", WEST).await, (7, 0));
    let split = w.oms.order(split.id).await.unwrap();
    assert!(split.lines.iter().all(|l| l.shipped == l.quantity));

    // 11 + 10 = 21 > 20 at the warehouses: refused whole, though each line alone fits.
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let before = snapshot(&w.oms).await;
    match w
        .oms
        .place_order(web("short", c.id).line(sku("TEE"), 11).line(sku("TEE"), 10))
        .await
    {
        Err(Error::Stock(e)) => assert_eq!(
            e,
            StockError::Insufficient {
                sku: sku("TEE"),
                requested: 21,
                available: 20,
            }
        ),
        other => panic!("expected insufficient stock, got {other:?}"),
    }
    assert_eq!(snapshot(&w.oms).await, before);
    assert_audit_clean(&w.oms).await;
}
