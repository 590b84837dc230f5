//! Back-orders and purchasing: an order beyond stock waits, purchasing raises a
//! purchase order from the best offer, the receipt fills the back-order first, the
//! order ships, and the books stay exact (moving-average cost, inventory = valuation).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use chrono::{Days, NaiveDate};
use common::*;
use o2c::customer::PaymentTerms;
use o2c::event::Event;
use o2c::ids::SupplierId;
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Delivery, PlaceOrder};
use o2c::purchasing::{
    BackOrderPolicy, BackOrderQueue, Offer, OverReceipt, PurchaseOrderStatus, PurchasingError,
    ReorderRule, Supplier,
};
use o2c::quantity::Quantity;
use o2c::stock::StockError;
use o2c::store::Store;
use o2c::{Error, OmsConfig, PurchasingPolicy, ReceivePurchaseOrder, ReceiveStock};
use rust_decimal_macros::dec;

/// Purchase orders up to `limit` approved as raised; over-receipts by `over`.
fn approving_up_to(limit: rust_decimal::Decimal, over: OverReceipt) -> OmsConfig {
    OmsConfig::default().with_purchasing(
        PurchasingPolicy::default()
            .with_auto_approve_up_to(Some(usd(limit)))
            .with_over_receipt(over),
    )
}

fn today() -> NaiveDate {
    start().date_naive()
}

fn supplier(n: u128, name: &str, offers: Vec<Offer>) -> Supplier {
    let mut s = Supplier::new(
        SupplierId::from_uuid(uuid::Uuid::from_u128(n)),
        name,
        Currency::USD,
    );
    s.offers = offers;
    s
}

fn offer(code: &str, cost: Money, lead: u16) -> Offer {
    Offer::new(
        sku(code),
        cost,
        lead,
        today(),
        today().checked_add_days(Days::new(60)).unwrap(),
    )
}

/// Two suppliers of TEE: Cheap (7.00, 10 days, packs of 12) and Quick (9.00, 2 days).
async fn suppliers(w: &World) -> (SupplierId, SupplierId) {
    let cheap = supplier(
        1,
        "Cheap",
        vec![offer("TEE", usd(dec!(7.00)), 10).packs_of(Quantity::new(12))],
    );
    let quick = supplier(2, "Quick", vec![offer("TEE", usd(dec!(9.00)), 2)]);
    w.oms.save_supplier(cheap.clone()).await.unwrap();
    w.oms.save_supplier(quick.clone()).await.unwrap();
    (cheap.id, quick.id)
}

fn tees(k: &str, customer: o2c::ids::CustomerId, units: i64) -> PlaceOrder {
    PlaceOrder::new(key(k), customer, Channel::B2b, Currency::USD)
        .line(sku("TEE"), units)
        .deliver(Delivery::Ship {
            address: us_address("Buyer").into(),
            service: o2c::order::ServiceLevel::Standard,
        })
}

async fn events(w: &World) -> Vec<Event> {
    w.oms
        .store()
        .events_after(0, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

#[tokio::test]
async fn an_order_beyond_stock_is_rejected_by_default() {
    let w = world().await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let before = snapshot(&w.oms).await;
    let refused = w.oms.place_order(tees("big", buyer.id, 50)).await;
    assert!(matches!(
        refused,
        Err(Error::Stock(StockError::Insufficient { .. }))
    ));
    assert_eq!(
        snapshot(&w.oms).await,
        before,
        "a refused order writes nothing"
    );
}

#[tokio::test]
async fn back_order_to_purchase_order_to_receipt_to_shipment() {
    let w = world_with(approving_up_to(dec!(1000.00), OverReceipt::Reject)).await;
    let (cheap, _) = suppliers(&w).await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;

    // 20 TEE on hand at the two warehouses; 50 wanted, shipped complete.
    let order = w
        .oms
        .place_order(tees("big", buyer.id, 50).back_order(BackOrderPolicy::BackOrder))
        .await
        .unwrap();
    let line = &order.lines[0];
    assert_eq!((line.open().units(), line.backordered.units()), (20, 30));
    assert_eq!(
        line.promised_on,
        today().checked_add_days(Days::new(10)),
        "promised from the best offer's lead time (Cheap, 10 days)"
    );
    assert!(
        !order.is_ready_to_ship(),
        "ships complete: waits for the rest"
    );
    assert!(matches!(
        w.oms
            .ship(order.id, o2c::ids::IdempotencyKey::generate())
            .await,
        Err(Error::Order(o2c::order::OrderError::AwaitingBackOrder {
            units: 30
        }))
    ));

    // Purchasing: 30 short, Cheap wins on cost; packs of 12 make it 36 = 252.00,
    // within the auto-approval limit.
    let raised = w
        .oms
        .replenish(&loc(EAST), o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(raised.len(), 1);
    let po = &raised[0];
    assert_eq!(
        (po.supplier, po.status),
        (cheap, PurchaseOrderStatus::Approved)
    );
    assert_eq!(po.lines[0].quantity, Quantity::new(36));
    assert_eq!(po.total().unwrap(), usd(dec!(252.00)));
    assert_eq!(
        w.oms.order(order.id).await.unwrap().lines[0].promised_on,
        Some(po.expected_on),
        "the purchase order confirms the promise (same day: no PromiseDateChanged)"
    );
    assert!(
        w.oms
            .replenish(&loc(EAST), o2c::ids::IdempotencyKey::generate())
            .await
            .unwrap()
            .is_empty(),
        "what is on order is not ordered again"
    );

    // Half arrives: all 18 go to the back-order, none become free.
    w.oms
        .receive_purchase_order(
            ReceivePurchaseOrder::new(key("grn-1"), po.id)
                .with_lines(vec![(sku("TEE"), Quantity::new(18))]),
        )
        .await
        .unwrap();
    let waiting = w.oms.order(order.id).await.unwrap();
    assert_eq!(waiting.lines[0].backordered.units(), 12);
    let east = w.oms.stock_level(&sku("TEE"), &loc(EAST)).await.unwrap();
    assert_eq!(
        east.available(),
        0,
        "received units went to the waiting order"
    );

    // The rest: 12 fill the order, 6 become free stock.
    let received = w
        .oms
        .receive_purchase_order(
            ReceivePurchaseOrder::new(key("grn-2"), po.id)
                .with_lines(vec![(sku("TEE"), Quantity::new(18))]),
        )
        .await
        .unwrap();
    assert_eq!(received.status, PurchaseOrderStatus::Received);
    let ready = w.oms.order(order.id).await.unwrap();
    assert_eq!(ready.lines[0].backordered.units(), 0);
    assert_eq!(ready.lines[0].promised_on, None);
    assert!(ready.is_ready_to_ship());
    let east = w.oms.stock_level(&sku("TEE"), &loc(EAST)).await.unwrap();
    assert_eq!(east.available(), 6);

    // Moving average between the old 8.00 and the new 7.00; the audit proves the
    // inventory account equals on hand × cost exactly, whatever the rounding.
    let tee = w
        .oms
        .store()
        .load::<o2c::catalog::Product>(&sku("TEE"))
        .await
        .unwrap()
        .unwrap();
    assert!(tee.value.cost.amount() < dec!(8.00) && tee.value.cost.amount() > dec!(7.00));

    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let shipped = w.oms.order(order.id).await.unwrap();
    assert_eq!(shipped.lines[0].shipped.units(), 50);
    assert_audit_clean(&w.oms).await;

    let kinds: Vec<&str> = events(&w)
        .await
        .iter()
        .filter_map(|e| match e {
            Event::BackOrderCreated { .. } => Some("created"),
            Event::RequisitionRaised { .. } => Some("requisition"),
            Event::PurchaseOrderRaised { .. } => Some("raised"),
            Event::PurchaseOrderApproved { .. } => Some("approved"),
            Event::GoodsReceived { .. } => Some("received"),
            Event::BackOrderAllocated { .. } => Some("allocated"),
            Event::PromiseDateChanged { .. } => Some("promised"),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "requisition",
            "raised",
            "approved",
            "received",
            "allocated",
            "received",
            "allocated"
        ]
    );
}

#[tokio::test]
async fn ship_available_ships_now_and_the_rest_later() {
    let w = world().await;
    suppliers(&w).await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(tees("part", buyer.id, 25).back_order(BackOrderPolicy::ShipAvailable))
        .await
        .unwrap();
    assert!(order.is_ready_to_ship());
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .receive_stock(
            ReceiveStock::new(key("restock"), sku("TEE"), loc(WEST), 10)
                .with_reference("restock".into()),
        )
        .await
        .unwrap();
    let rest = w.oms.order(order.id).await.unwrap();
    assert_eq!(rest.lines[0].backordered.units(), 0);
    assert_eq!(rest.lines[0].open().units(), 5);
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(
        w.oms.order(order.id).await.unwrap().lines[0]
            .shipped
            .units(),
        25
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn the_product_policy_applies_and_priority_jumps_the_queue() {
    let w = world().await;
    let mut tee = w
        .oms
        .store()
        .load::<o2c::catalog::Product>(&sku("TEE"))
        .await
        .unwrap()
        .unwrap()
        .value;
    tee.back_order = BackOrderPolicy::BackOrder;
    w.oms.save_product(tee).await.unwrap();
    let a = customer(&w, "First", PaymentTerms::Net { days: 30 }, None).await;
    let b = customer(&w, "Urgent", PaymentTerms::Net { days: 30 }, None).await;
    let first = w.oms.place_order(tees("a", a.id, 24)).await.unwrap();
    let urgent = w
        .oms
        .place_order(tees("b", b.id, 3).back_order_priority(5))
        .await
        .unwrap();
    assert_eq!(first.lines[0].backordered.units(), 4);
    assert_eq!(urgent.lines[0].backordered.units(), 3);
    w.oms
        .receive_stock(
            ReceiveStock::new(key("restock"), sku("TEE"), loc(EAST), 3)
                .with_reference("restock".into()),
        )
        .await
        .unwrap();
    assert_eq!(
        w.oms.order(urgent.id).await.unwrap().lines[0]
            .backordered
            .units(),
        0
    );
    assert_eq!(
        w.oms.order(first.id).await.unwrap().lines[0]
            .backordered
            .units(),
        4
    );

    // Cancelling a waiting order takes it out of the queue.
    w.oms
        .cancel_order(
            first.id,
            "changed mind",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    let queue = w
        .oms
        .store()
        .load::<BackOrderQueue>(&sku("TEE"))
        .await
        .unwrap()
        .unwrap();
    assert!(queue.value.waiting.is_empty());
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn offers_rank_with_reasons() {
    let w = world().await;
    let (cheap, quick) = suppliers(&w).await;
    let soon = today().checked_add_days(Days::new(5));
    let ranking = w
        .oms
        .rank_offers(&sku("TEE"), Quantity::new(30), soon)
        .await
        .unwrap();
    assert_eq!(
        ranking.best().unwrap().supplier,
        quick,
        "only Quick arrives in time"
    );
    assert_eq!(ranking.ranked[1].supplier, cheap);
    assert!(
        ranking.ranked[1]
            .reasons
            .iter()
            .any(|r| r.contains("after"))
    );
    let whenever = w
        .oms
        .rank_offers(&sku("TEE"), Quantity::new(30), None)
        .await
        .unwrap();
    assert_eq!(whenever.best().unwrap().supplier, cheap);
}

#[tokio::test]
async fn bad_purchasing_input_is_refused_and_writes_nothing() {
    let w = world().await;
    let (cheap, _) = suppliers(&w).await;

    let zero_lead = supplier(3, "Z", vec![offer("TEE", usd(dec!(1.00)), 0)]);
    let euro = supplier(
        4,
        "E",
        vec![offer("TEE", Money::new(dec!(1.00), Currency::EUR), 3)],
    );
    let expired = supplier(
        5,
        "Old",
        vec![Offer::new(
            sku("MUG"),
            usd(dec!(1.00)),
            3,
            today().checked_sub_days(Days::new(30)).unwrap(),
            today().checked_sub_days(Days::new(1)).unwrap(),
        )],
    );
    w.oms.save_supplier(expired.clone()).await.unwrap();

    let before = snapshot(&w.oms).await;
    assert!(matches!(
        w.oms.save_supplier(zero_lead).await,
        Err(Error::Purchasing(PurchasingError::ZeroLeadTime { .. }))
    ));
    assert!(matches!(
        w.oms.save_supplier(euro).await,
        Err(Error::Purchasing(PurchasingError::CurrencyMismatch { .. }))
    ));
    assert!(matches!(
        w.oms
            .raise_purchase_order(
                expired.id,
                &loc(EAST),
                &[(sku("MUG"), Quantity::new(5))],
                o2c::ids::IdempotencyKey::generate()
            )
            .await,
        Err(Error::Purchasing(PurchasingError::NoOffer { .. }))
    ));
    assert_eq!(snapshot(&w.oms).await, before);

    let po = w
        .oms
        .raise_purchase_order(
            cheap,
            &loc(EAST),
            &[(sku("TEE"), Quantity::new(5))],
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_eq!(
        (po.status, po.lines[0].quantity),
        (PurchaseOrderStatus::Draft, Quantity::new(12))
    );
    let receive = |k: &str, units| {
        ReceivePurchaseOrder::new(key(k), po.id).with_lines(vec![(sku("TEE"), units)])
    };
    let before = snapshot(&w.oms).await;
    assert!(matches!(
        w.oms
            .receive_purchase_order(receive("draft", Quantity::new(1)))
            .await,
        Err(Error::Purchasing(PurchasingError::InvalidTransition { .. }))
    ));
    w.oms
        .approve_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let before_receipts = snapshot(&w.oms).await;
    assert!(matches!(
        w.oms
            .receive_purchase_order(receive("over", Quantity::new(13)))
            .await,
        Err(Error::Purchasing(PurchasingError::OverReceipt { outstanding, received, .. }))
            if outstanding == Quantity::new(12) && received == Quantity::new(13)
    ));
    assert!(matches!(
        w.oms
            .receive_purchase_order(
                ReceivePurchaseOrder::new(key("mug"), po.id)
                    .with_lines(vec![(sku("MUG"), Quantity::new(1))])
            )
            .await,
        Err(Error::Purchasing(PurchasingError::NotOnOrder { .. }))
    ));
    assert_eq!(snapshot(&w.oms).await, before_receipts);
    assert_ne!(before, before_receipts, "the approval itself was written");

    w.oms
        .cancel_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let cancelled = snapshot(&w.oms).await;
    assert!(matches!(
        w.oms
            .receive_purchase_order(receive("late", Quantity::new(1)))
            .await,
        Err(Error::Purchasing(PurchasingError::InvalidTransition {
            status: PurchaseOrderStatus::Cancelled,
            ..
        }))
    ));
    assert_eq!(snapshot(&w.oms).await, cancelled);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_retried_receipt_counts_once() {
    let w = world().await;
    let (_, quick) = suppliers(&w).await;
    let po = w
        .oms
        .raise_purchase_order(
            quick,
            &loc(WEST),
            &[(sku("TEE"), Quantity::new(4))],
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    w.oms
        .approve_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let cmd = ReceivePurchaseOrder::new(key("grn"), po.id)
        .with_lines(vec![(sku("TEE"), Quantity::new(4))]);
    w.oms.receive_purchase_order(cmd.clone()).await.unwrap();
    let once = snapshot(&w.oms).await;
    w.oms.receive_purchase_order(cmd).await.unwrap();
    assert_eq!(snapshot(&w.oms).await, once);
    let west = w.oms.stock_level(&sku("TEE"), &loc(WEST)).await.unwrap();
    assert_eq!(west.on_hand, 14);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn reorder_points_and_back_orders_consolidate_per_supplier_and_location() {
    let w = world().await;
    let both = supplier(
        7,
        "Both",
        vec![
            offer("TEE", usd(dec!(6.00)), 4).minimum(Quantity::new(40)),
            offer("MUG", usd(dec!(3.00)), 6).packs_of(Quantity::new(6)),
        ],
    );
    w.oms.save_supplier(both.clone()).await.unwrap();
    let bad = ReorderRule {
        sku: sku("MUG"),
        location: loc(EAST),
        min: Quantity::new(10),
        max: Quantity::new(5),
    };
    assert!(matches!(
        w.oms.set_reorder_rule(bad).await,
        Err(Error::Purchasing(
            PurchasingError::InvalidReorderRule { .. }
        ))
    ));
    // MUG at EAST: 5 available, below 10: order up to 30 → 25, in packs of 6 → 30.
    w.oms
        .set_reorder_rule(ReorderRule {
            sku: sku("MUG"),
            location: loc(EAST),
            min: Quantity::new(10),
            max: Quantity::new(30),
        })
        .await
        .unwrap();
    // BOOK at WEST: 8 available, above its minimum of 2: nothing.
    w.oms
        .set_reorder_rule(ReorderRule {
            sku: sku("BOOK"),
            location: loc(WEST),
            min: Quantity::new(2),
            max: Quantity::new(10),
        })
        .await
        .unwrap();
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    w.oms
        .place_order(tees("big", buyer.id, 25).back_order(BackOrderPolicy::BackOrder))
        .await
        .unwrap();

    // The preview: what would be asked for, the offer chosen and why; nothing written.
    let before = snapshot(&w.oms).await;
    let wanted = w.oms.requisitions(&loc(EAST)).await.unwrap();
    assert_eq!(snapshot(&w.oms).await, before);
    let asked: Vec<(&str, u32, u64)> = wanted
        .iter()
        .map(|r| (r.sku.as_str(), r.quantity.units(), r.back_ordered))
        .collect();
    assert_eq!(asked, [("MUG", 25, 0), ("TEE", 5, 5)]);
    let tee = &wanted[1];
    assert_eq!(tee.wanted_by, today().checked_add_days(Days::new(14)));
    let offer = tee.offer.as_ref().unwrap();
    assert_eq!(
        (offer.supplier, offer.order_quantity),
        (both.id, Quantity::new(40))
    );
    assert!(offer.reasons.iter().any(|r| r.contains("minimum 40")));
    assert_eq!(
        wanted[0].reorder_rule.as_ref().map(|r| r.max),
        Some(Quantity::new(30))
    );

    let raised = w
        .oms
        .replenish(&loc(EAST), o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(
        raised.len(),
        1,
        "one supplier, one location: one purchase order"
    );
    let po = &raised[0];
    let lines: Vec<(&str, u32)> = po
        .lines
        .iter()
        .map(|l| (l.sku.as_str(), l.quantity.units()))
        .collect();
    assert_eq!(
        lines,
        [("MUG", 30), ("TEE", 40)],
        "TEE raised to the minimum of 40"
    );
    assert_eq!(
        po.status,
        PurchaseOrderStatus::Draft,
        "no auto-approval configured"
    );
    assert!(
        w.oms
            .replenish(&loc(EAST), o2c::ids::IdempotencyKey::generate())
            .await
            .unwrap()
            .is_empty(),
        "a draft on order counts: nothing raised twice"
    );
    let approved = w
        .oms
        .approve_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(approved.status, PurchaseOrderStatus::Approved);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn promise_dates_follow_the_purchase_orders() {
    let w = world().await;
    let (_, quick) = suppliers(&w).await;
    let mugs = supplier(9, "Mugs", vec![offer("MUG", usd(dec!(2.00)), 20)]);
    w.oms.save_supplier(mugs).await.unwrap();
    let quick_mugs = supplier(
        2,
        "Quick",
        vec![
            offer("TEE", usd(dec!(9.00)), 2),
            offer("MUG", usd(dec!(3.00)), 2),
        ],
    );
    w.oms.save_supplier(quick_mugs).await.unwrap();
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            tees("both", buyer.id, 22)
                .line(sku("MUG"), 30)
                .back_order(BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    let days = |n| today().checked_add_days(Days::new(n));
    let promised = |o: &o2c::order::Order| -> Vec<Option<NaiveDate>> {
        o.lines.iter().map(|l| l.promised_on).collect()
    };
    // From the offers: TEE cheapest is Cheap (10 days), MUG cheapest is Mugs (20).
    assert_eq!(promised(&order), [days(10), days(20)]);

    // One purchase order covering both lines moves both dates in one commit.
    let po = w
        .oms
        .raise_purchase_order(
            quick,
            &loc(EAST),
            &[
                (sku("TEE"), Quantity::new(2)),
                (sku("MUG"), Quantity::new(25)),
            ],
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    w.oms
        .approve_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let moved = w.oms.order(order.id).await.unwrap();
    assert_eq!(promised(&moved), [days(2), days(2)]);

    // Cancelled, the promises fall back to the offers.
    w.oms
        .cancel_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let back = w.oms.order(order.id).await.unwrap();
    assert_eq!(promised(&back), [days(10), days(20)]);
    let changes = events(&w)
        .await
        .iter()
        .filter(|e| matches!(e, Event::PromiseDateChanged { .. }))
        .count();
    assert_eq!(changes, 4);
    assert_audit_clean(&w.oms).await;
}

// ---- Regressions found in review ------------------------------------------------

/// Quick sells TEE at 9.00 and MUG at 3.00, both in 2 days.
async fn tee_and_mug_supplier(w: &World) -> SupplierId {
    let quick = supplier(
        2,
        "Quick",
        vec![
            offer("TEE", usd(dec!(9.00)), 2),
            offer("MUG", usd(dec!(3.00)), 2),
        ],
    );
    w.oms.save_supplier(quick.clone()).await.unwrap();
    quick.id
}

/// One receipt bringing two SKUs that one order waits for fills both lines (the
/// order used to be put twice, and the receipt failed).
#[tokio::test]
async fn one_receipt_fills_two_lines_of_one_order() {
    let w = world().await;
    let quick = tee_and_mug_supplier(&w).await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            tees("both", buyer.id, 22)
                .line(sku("MUG"), 30)
                .back_order(BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    assert_eq!(order.backordered_units(), 2 + 5);
    let po = w
        .oms
        .raise_purchase_order(
            quick,
            &loc(EAST),
            &[
                (sku("TEE"), Quantity::new(2)),
                (sku("MUG"), Quantity::new(5)),
            ],
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    w.oms
        .approve_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .receive_purchase_order(
            ReceivePurchaseOrder::new(key("grn"), po.id).with_lines(vec![
                (sku("TEE"), Quantity::new(2)),
                (sku("MUG"), Quantity::new(5)),
            ]),
        )
        .await
        .unwrap();
    let filled = w.oms.order(order.id).await.unwrap();
    assert_eq!(filled.backordered_units(), 0);
    assert!(filled.is_ready_to_ship());
    assert_audit_clean(&w.oms).await;
}

/// A receipt at a store that does not fulfil orders serves only its own pickup
/// lines: a shipped order keeps waiting for a warehouse.
#[tokio::test]
async fn a_pickup_store_does_not_fill_shipped_orders() {
    let w = world().await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(tees("o", buyer.id, 25).back_order(BackOrderPolicy::BackOrder))
        .await
        .unwrap();
    assert_eq!(order.backordered_units(), 5);
    w.oms
        .receive_stock(
            ReceiveStock::new(key("in"), sku("TEE"), loc(STORE), 5)
                .with_reference("store delivery".into()),
        )
        .await
        .unwrap();
    assert_eq!(w.oms.order(order.id).await.unwrap().backordered_units(), 5);
    let store = w.oms.stock_level(&sku("TEE"), &loc(STORE)).await.unwrap();
    assert_eq!(store.available(), 10, "the store's units stay the store's");
    assert_audit_clean(&w.oms).await;
}

/// Units an order gives up on cancellation go to the lines waiting for them before
/// anyone else can take them.
#[tokio::test]
async fn released_stock_goes_to_the_queue_first() {
    let w = world().await;
    let a = customer(&w, "A", PaymentTerms::Net { days: 30 }, None).await;
    let b = customer(&w, "B", PaymentTerms::Net { days: 30 }, None).await;
    let first = w.oms.place_order(tees("a", a.id, 20)).await.unwrap();
    let waiting = w
        .oms
        .place_order(tees("b", b.id, 5).back_order(BackOrderPolicy::BackOrder))
        .await
        .unwrap();
    assert_eq!(waiting.backordered_units(), 5);
    w.oms
        .cancel_order(
            first.id,
            "changed mind",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    let served = w.oms.order(waiting.id).await.unwrap();
    assert_eq!(served.backordered_units(), 0);
    assert!(served.is_ready_to_ship());
    let free: i64 = w
        .oms
        .stock(&sku("TEE"))
        .await
        .unwrap()
        .iter()
        .filter(|l| l.location != loc(STORE))
        .map(|l| l.available())
        .sum();
    assert_eq!(free, 15);
    assert_audit_clean(&w.oms).await;
}

/// A pickup line waits for its store: replenishment orders for the store, and the
/// receipt there fills it.
#[tokio::test]
async fn pickup_back_orders_are_replenished_to_their_store() {
    let w = world_with(approving_up_to(dec!(10000), OverReceipt::Reject)).await;
    tee_and_mug_supplier(&w).await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("p"), buyer.id, Channel::Web, Currency::USD)
                .line(sku("TEE"), 8)
                .deliver(Delivery::Pickup {
                    location: loc(STORE),
                })
                .back_order(BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    assert_eq!(order.backordered_units(), 3);
    let raised = w
        .oms
        .replenish(&loc(EAST), o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].ship_to, loc(STORE));
    w.oms
        .receive_purchase_order(
            ReceivePurchaseOrder::new(key("grn"), raised[0].id)
                .with_lines(vec![(sku("TEE"), raised[0].lines[0].quantity)]),
        )
        .await
        .unwrap();
    assert_eq!(w.oms.order(order.id).await.unwrap().backordered_units(), 0);
    assert!(
        w.oms
            .replenish(&loc(EAST), o2c::ids::IdempotencyKey::generate())
            .await
            .unwrap()
            .is_empty()
    );
    assert_audit_clean(&w.oms).await;
}

/// A purchase order in a currency other than the inventory's could never be
/// received: it is refused when raised.
#[tokio::test]
async fn a_purchase_order_in_a_foreign_currency_is_refused() {
    let w = world().await;
    let mut euro = Supplier::new(
        SupplierId::from_uuid(uuid::Uuid::from_u128(5)),
        "Euro",
        Currency::EUR,
    );
    euro.offers = vec![offer("TEE", Money::new(dec!(5), Currency::EUR), 3)];
    w.oms.save_supplier(euro.clone()).await.unwrap();
    let before = snapshot(&w.oms).await;
    assert!(matches!(
        w.oms
            .raise_purchase_order(
                euro.id,
                &loc(EAST),
                &[(sku("TEE"), Quantity::new(4))],
                o2c::ids::IdempotencyKey::generate()
            )
            .await,
        Err(Error::Purchasing(PurchasingError::CurrencyMismatch {
            expected: Currency::USD,
            found: Currency::EUR,
            ..
        }))
    ));
    assert_eq!(snapshot(&w.oms).await, before);
}

/// Many receipts at odd costs, over-receipts accepted: the moving average keeps
/// inventory = on hand × cost to the cent.
#[tokio::test]
async fn moving_average_stays_exact_over_odd_costs() {
    let w = world_with(approving_up_to(dec!(100000), OverReceipt::Accept)).await;
    let odd = supplier(
        2,
        "Odd",
        vec![
            offer("TEE", usd(dec!(7.33)), 2),
            offer("MUG", usd(dec!(0.01)), 2),
        ],
    );
    w.oms.save_supplier(odd.clone()).await.unwrap();
    for i in 0..5 {
        let po = w
            .oms
            .raise_purchase_order(
                odd.id,
                &loc(WEST),
                &[
                    (sku("TEE"), Quantity::new(3)),
                    (sku("MUG"), Quantity::new(7)),
                ],
                o2c::ids::IdempotencyKey::generate(),
            )
            .await
            .unwrap();
        w.oms
            .receive_purchase_order(
                ReceivePurchaseOrder::new(key(&format!("grn-{i}")), po.id).with_lines(vec![
                    (sku("TEE"), Quantity::new(1 + i)),
                    (sku("MUG"), Quantity::new(11)),
                ]),
            )
            .await
            .unwrap();
    }
    assert_audit_clean(&w.oms).await;
}
