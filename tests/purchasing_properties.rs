//! Property tests for back-orders and purchasing: random sequences of orders with
//! back-order policies, stock receipts, purchase-order receipts at varying costs,
//! shipments and cancellations. After every step: stock is conserved, the
//! inventory account equals the valuation (on hand × moving-average cost) exactly,
//! every back-ordered unit waits in its queue exactly once (so no received unit is
//! given twice), and each receipt served the queue in order — priority first, then
//! first-come-first-served — skipping only lines pinned to another location.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::HashMap;

use chrono::Days;
use common::*;
use o2c::clock::Clock;
use o2c::customer::PaymentTerms;
use o2c::ids::{CustomerId, LocationId, OrderId, SupplierId};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Delivery, Order, PlaceOrder, ServiceLevel};
use o2c::purchasing::{BackOrderPolicy, BackOrderQueue, Offer, Supplier};
use o2c::quantity::Quantity;
use o2c::store::Store;
use o2c::{ReceivePurchaseOrder, ReceiveStock};
use proptest::prelude::*;
use rust_decimal::Decimal;

const SKUS: [&str; 2] = ["TEE", "MUG"];
const SITES: [&str; 2] = [EAST, WEST];

#[derive(Debug, Clone)]
enum Step {
    Place {
        sku: usize,
        units: i64,
        policy: u8,
        priority: u8,
        pickup: bool,
    },
    Receive {
        sku: usize,
        site: usize,
        units: i64,
    },
    Purchase {
        sku: usize,
        units: u32,
        cents: i64,
        receive: u32,
    },
    Ship {
        order: usize,
    },
    Cancel {
        order: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..2usize, 1..30i64, 0..3u8, 0..3u8, any::<bool>()).prop_map(
            |(sku, units, policy, priority, pickup)| Step::Place { sku, units, policy, priority, pickup }
        ),
        2 => (0..2usize, 0..2usize, 1..25i64).prop_map(|(sku, site, units)| Step::Receive { sku, site, units }),
        2 => (0..2usize, 1..40u32, 100..1500i64, 1..40u32).prop_map(
            |(sku, units, cents, receive)| Step::Purchase { sku, units, cents, receive }
        ),
        2 => (0..40usize).prop_map(|order| Step::Ship { order }),
        1 => (0..40usize).prop_map(|order| Step::Cancel { order }),
    ]
}

struct Run {
    w: World,
    buyer: CustomerId,
    orders: Vec<OrderId>,
    n: usize,
}

async fn queue_of(w: &World, sku: &str) -> BackOrderQueue {
    w.oms
        .store()
        .load::<BackOrderQueue>(&common::sku(sku))
        .await
        .unwrap()
        .map_or_else(|| BackOrderQueue::new(common::sku(sku)), |v| v.value)
}

/// Back-ordered units per (order, line) of `sku`, read from the orders.
async fn waiting(w: &World, orders: &[OrderId], sku: &str) -> HashMap<(OrderId, u16), u32> {
    let mut out = HashMap::new();
    for id in orders {
        let order: Order = w.oms.order(*id).await.unwrap();
        for line in order.lines.iter().filter(|l| l.sku.as_str() == sku) {
            out.insert((order.id, line.line_no), line.backordered.units());
        }
    }
    out
}

/// Checks that a receipt of `units` at `site` took exactly what the queue order
/// says: walking the queue as it was, eligible lines get units in turn until the
/// receipt runs out.
fn assert_served_in_order(
    before: &BackOrderQueue,
    was: &HashMap<(OrderId, u16), u32>,
    now: &HashMap<(OrderId, u16), u32>,
    site: &LocationId,
    units: u32,
) {
    let mut left = units;
    for w in &before.waiting {
        let eligible = w.location.as_ref().is_none_or(|only| only == site);
        let expected = if eligible {
            w.quantity.units().min(left)
        } else {
            0
        };
        left -= expected;
        let key = (w.order, w.line_no);
        let got = was[&key] - now[&key];
        assert_eq!(got, expected, "{key:?} got {got}, its turn gave {expected}");
    }
}

async fn check(run: &Run) {
    assert_audit_clean(&run.w.oms).await;
    let valuation: Decimal = run
        .w
        .oms
        .inventory_valuation()
        .await
        .unwrap()
        .iter()
        .map(|v| v.value.amount())
        .sum();
    let inventory = run.w.oms.config().accounts.inventory.clone();
    let account: Decimal = run
        .w
        .oms
        .trial_balance()
        .await
        .unwrap()
        .balances
        .iter()
        .filter(|b| b.account == inventory)
        .map(|b| b.balance.amount())
        .sum();
    assert_eq!(valuation, account, "inventory account = Σ on hand × cost");
}

async fn apply(run: &mut Run, step: &Step) {
    run.n += 1;
    let n = run.n;
    let w = &run.w;
    match step {
        Step::Place {
            sku,
            units,
            policy,
            priority,
            pickup,
        } => {
            let policy = [
                BackOrderPolicy::Reject,
                BackOrderPolicy::BackOrder,
                BackOrderPolicy::ShipAvailable,
            ][*policy as usize];
            let delivery = if *pickup {
                Delivery::Pickup {
                    location: loc(EAST),
                }
            } else {
                Delivery::Ship {
                    address: us_address("Buyer").into(),
                    service: ServiceLevel::Standard,
                }
            };
            let cmd = PlaceOrder::new(
                key(&format!("order-{n}")),
                run.buyer,
                Channel::Web,
                Currency::USD,
            )
            .line(common::sku(SKUS[*sku]), *units)
            .deliver(delivery)
            .back_order(policy)
            .back_order_priority(*priority);
            if let Ok(order) = w.oms.place_order(cmd).await {
                run.orders.push(order.id);
            }
        }
        Step::Receive { sku, site, units } => {
            let before = queue_of(w, SKUS[*sku]).await;
            let was = waiting(w, &run.orders, SKUS[*sku]).await;
            w.oms
                .receive_stock(
                    ReceiveStock::new(
                        key(&format!("receipt-{n}")),
                        common::sku(SKUS[*sku]),
                        loc(SITES[*site]),
                        *units,
                    )
                    .with_reference("restock".into()),
                )
                .await
                .unwrap();
            let now = waiting(w, &run.orders, SKUS[*sku]).await;
            assert_served_in_order(&before, &was, &now, &loc(SITES[*site]), *units as u32);
        }
        Step::Purchase {
            sku,
            units,
            cents,
            receive,
        } => {
            let code = common::sku(SKUS[*sku]);
            let day = w.clock.now().date_naive();
            let supplier = Supplier::new(
                SupplierId::from_uuid(uuid::Uuid::from_u128(n as u128)),
                "S",
                Currency::USD,
            )
            .offer(Offer::new(
                code.clone(),
                Money::from_minor(*cents, Currency::USD),
                3,
                day,
                day.checked_add_days(Days::new(30)).unwrap(),
            ));
            w.oms.save_supplier(supplier.clone()).await.unwrap();
            let po = w
                .oms
                .raise_purchase_order(
                    supplier.id,
                    &loc(EAST),
                    &[(code.clone(), Quantity::new(*units))],
                    o2c::ids::IdempotencyKey::generate(),
                )
                .await
                .unwrap();
            w.oms
                .approve_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
                .await
                .unwrap();
            let take = (*receive).min(*units);
            let before = queue_of(w, SKUS[*sku]).await;
            let was = waiting(w, &run.orders, SKUS[*sku]).await;
            w.oms
                .receive_purchase_order(
                    ReceivePurchaseOrder::new(key(&format!("grn-{n}")), po.id)
                        .with_lines(vec![(code, Quantity::new(take))]),
                )
                .await
                .unwrap();
            let now = waiting(w, &run.orders, SKUS[*sku]).await;
            assert_served_in_order(&before, &was, &now, &loc(EAST), take);
        }
        Step::Ship { order } => {
            if let Some(id) = run.orders.get(*order) {
                let _ = w.oms.ship(*id, o2c::ids::IdempotencyKey::generate()).await;
            }
        }
        Step::Cancel { order } => {
            if let Some(id) = run.orders.get(*order) {
                let _ = w
                    .oms
                    .cancel_order(*id, "changed mind", o2c::ids::IdempotencyKey::generate())
                    .await;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn purchasing_keeps_every_invariant(steps in proptest::collection::vec(step(), 1..30)) {
        pollster::block_on(async {
            let w = world().await;
            let buyer = customer(&w, "Buyer", PaymentTerms::Net { days: 30 }, None).await.id;
            let mut run = Run { w, buyer, orders: Vec::new(), n: 0 };
            for step in &steps {
                apply(&mut run, step).await;
                check(&run).await;
            }
        });
    }
}
