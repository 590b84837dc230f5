//! A warehouse run by a third party: o2c releases orders to it, and it reports
//! back shipments (in parts), rejections and stock counts — some late, some
//! twice, some out of order. Whatever the feed does, every unit it ships is on
//! exactly one shipment, counts become adjustments posted to the ledger, and
//! in the end o2c's stock is what is on the shelves, with the audit clean.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[cfg(feature = "postgres")]
mod common;

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::{Clock, ManualClock, SeededIds};
use o2c::customer::{Address, NewCustomer, PaymentTerms};
use o2c::event::Event;
use o2c::fulfilment::{
    CountDifference, SimulatedThirdParty, TableRateCarrier, ThirdPartyError, ThirdPartyFaults,
    ThirdPartyMessage, ThirdPartyOutcome, ThirdPartyReport,
};
use o2c::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Delivery, OrderError, PlaceOrder, ServiceLevel};
use o2c::stock::{Location, LocationKind, MovementReason};
use o2c::store::{MemoryStore, Store};
use o2c::{Error, Oms, ReceiveStock};

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}

fn site() -> LocationId {
    LocationId::new("3PL-EAST").unwrap()
}

fn mug() -> Sku {
    Sku::new("MUG").unwrap()
}

fn tee() -> Sku {
    Sku::new("TEE").unwrap()
}

struct Shop<S: Store> {
    oms: Oms<S, TableRateCarrier>,
    clock: Arc<ManualClock>,
    buyer: CustomerId,
}

/// A shop whose only warehouse is run by a third party: 40 mugs (cost 4.00)
/// and 30 tees (cost 8.00) there, and one customer on 30 days' terms.
async fn shop<S: Store>(store: S) -> Shop<S> {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap(),
    ));
    let parcels = TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .band(50_000, vec![usd(800)]);
    let oms = Oms::new(store, parcels)
        .with_clock(clock.clone())
        .with_ids(Arc::new(SeededIds::new(17)));
    oms.set_tax_table(TaxTable::new().with_rate(
        TaxClass::standard(),
        None,
        "0.08".parse().unwrap(),
    ))
    .await
    .unwrap();
    for (sku, price, cost) in [(mug(), 1_250, 400), (tee(), 2_000, 800)] {
        let mut p = Product::new(sku, "goods", usd(price), usd(cost), TaxClass::standard());
        p.weight_grams = 400;
        oms.save_product(p).await.unwrap();
    }
    oms.save_location(Location::new(
        site(),
        "East fulfilment centre",
        LocationKind::ThirdParty,
        Address::new("FulfilCo", "9 Dock Rd", "Newark", "07101", "US"),
        1,
    ))
    .await
    .unwrap();
    for (sku, units) in [(mug(), 40), (tee(), 30)] {
        oms.receive_stock(ReceiveStock::new(
            key(&format!("opening-{sku}")),
            sku,
            site(),
            units,
        ))
        .await
        .unwrap();
    }
    let mut profile = NewCustomer::new(
        "Diner",
        "chef@diner.example",
        Address::new("Diner", "5 Main St", "New York", "10001", "US"),
        Currency::USD,
    );
    profile.terms = PaymentTerms::Net { days: 30 };
    let buyer = oms
        .register_customer(profile, key("signup-diner"))
        .await
        .unwrap()
        .id;
    Shop { oms, clock, buyer }
}

/// The warehouse, its shelves as o2c's books say.
fn warehouse(faults: ThirdPartyFaults, seed: u64) -> SimulatedThirdParty {
    let w = SimulatedThirdParty::new("FulfilCo", site(), usd(350), faults, seed);
    w.stock(&mug(), 40);
    w.stock(&tee(), 30);
    w
}

async fn order<S: Store>(shop: &Shop<S>, k: &str, mugs: u32, tees: u32) -> OrderId {
    let mut cart = PlaceOrder::new(key(k), shop.buyer, Channel::Web, Currency::USD).with_delivery(
        Some(Delivery::Ship {
            address: Arc::new(Address::new(
                "Diner",
                "5 Main St",
                "New York",
                "10001",
                "US",
            )),
            service: ServiceLevel::Standard,
        }),
    );
    if mugs > 0 {
        cart = cart.line(mug(), i64::from(mugs));
    }
    if tees > 0 {
        cart = cart.line(tee(), i64::from(tees));
    }
    shop.oms.place_order(cart).await.unwrap().id
}

/// Releases what `id` holds at the warehouse to `w`, under the key `k`.
async fn release<S: Store>(shop: &Shop<S>, w: &SimulatedThirdParty, id: OrderId, k: &str) {
    shop.oms
        .release_to_third_party(w, id, &site(), key(k))
        .await
        .unwrap();
}

/// Applies every message, returning what each did.
async fn apply<S: Store>(
    shop: &Shop<S>,
    messages: Vec<ThirdPartyMessage>,
) -> Vec<o2c::Applied<ThirdPartyOutcome>> {
    let mut applied = Vec::new();
    for m in messages {
        applied.push(shop.oms.apply_third_party_message(&m).await.unwrap());
    }
    applied
}

async fn on_hand<S: Store>(shop: &Shop<S>, sku: &Sku) -> (i64, i64) {
    let level = shop.oms.stock_level(sku, &site()).await.unwrap();
    (level.on_hand, level.reserved)
}

async fn assert_clean<S: Store>(shop: &Shop<S>) {
    assert!(shop.oms.trial_balance().await.unwrap().is_balanced());
    let report = shop.oms.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
}

#[tokio::test]
async fn a_release_ships_in_parts_and_a_count_writes_off_what_went_missing() {
    let shop = shop(MemoryStore::new()).await;
    let w = warehouse(ThirdPartyFaults::default(), 1);
    let id = order(&shop, "cart-1", 5, 0).await;

    let release = shop
        .oms
        .release_to_third_party(&w, id, &site(), key("release-1"))
        .await
        .unwrap();
    assert!(!release.replayed);
    assert_eq!(release.lines.len(), 1);
    assert_eq!(release.lines[0].quantity.units(), 5);
    // Released units are the warehouse's: o2c neither ships nor cancels them,
    // nor lists the order as ready for it to ship.
    assert!(
        !shop
            .oms
            .store()
            .orders_ready_to_ship(100)
            .await
            .unwrap()
            .contains(&id)
    );
    assert!(matches!(
        shop.oms.ship(id, key("ship-1")).await,
        Err(Error::Order(OrderError::NothingToShip))
    ));
    assert!(matches!(
        shop.oms
            .cancel_order(id, "changed my mind", key("cancel-1"))
            .await,
        Err(Error::Order(OrderError::AtThirdParty { units: 5, .. }))
    ));
    // A second release of the same order has nothing left; a retried one is a
    // replay, and the warehouse takes it once.
    assert!(matches!(
        shop.oms
            .release_to_third_party(&w, id, &site(), key("release-2"))
            .await,
        Err(Error::ThirdParty(ThirdPartyError::NothingToRelease { .. }))
    ));
    let again = shop
        .oms
        .release_to_third_party(&w, id, &site(), key("release-1"))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(w.open_units(), 5);

    // Damage leaves 3 mugs on the shelf: 3 ship, 2 wait.
    assert_eq!(w.lose(&mug(), 37), 37);
    shop.clock.advance(Duration::hours(2));
    assert_eq!(w.work(shop.clock.now()), 1);
    let applied = apply(&shop, w.deliver()).await;
    let ThirdPartyOutcome::Shipped(shipment) = &applied[0].value else {
        panic!("{applied:?}")
    };
    assert_eq!(shipment.lines[0].quantity.units(), 3);
    assert_eq!(shipment.carrier, "FulfilCo");
    assert_eq!(shipment.tracking.as_str(), "FulfilCo-1");
    assert_eq!(shipment.carrier_charge, usd(350));
    assert_eq!(on_hand(&shop, &mug()).await, (37, 2));
    let placed = shop.oms.order(id).await.unwrap();
    assert_eq!(placed.lines[0].shipped.units(), 3);
    assert_eq!(placed.lines[0].reservations[0].released.units(), 2);

    // The count finds 37 missing; 2 of them are reserved, so 35 are written off.
    w.count(shop.clock.now());
    let applied = apply(&shop, w.deliver()).await;
    let ThirdPartyOutcome::Counted(counted) = &applied[0].value else {
        panic!("{applied:?}")
    };
    assert!(counted.applied);
    assert_eq!(
        counted.differences,
        vec![CountDifference {
            sku: mug(),
            expected: 37,
            counted: 0,
            adjusted: -35,
            unresolved: 2,
        }]
    );
    assert_eq!(on_hand(&shop, &mug()).await, (2, 2));
    let movements = shop
        .oms
        .store()
        .stock_movements(&mug(), &site())
        .await
        .unwrap();
    let last = movements.last().unwrap();
    assert_eq!(last.quantity, -35);
    assert!(
        matches!(&last.reason, MovementReason::Adjustment { reason } if reason.contains("m2")),
        "{last:?}"
    );

    // The warehouse gives the last 2 back; o2c may cancel them now, and the
    // next count writes them off.
    assert_eq!(w.reject_open("out of stock"), 1);
    let applied = apply(&shop, w.deliver()).await;
    assert!(matches!(&applied[0].value, ThirdPartyOutcome::Rejected(o) if o.id == id));
    shop.oms
        .cancel_order(id, "out of stock", key("cancel-2"))
        .await
        .unwrap();
    w.count(shop.clock.now());
    apply(&shop, w.deliver()).await;
    assert_eq!(on_hand(&shop, &mug()).await, (0, 0));
    assert_clean(&shop).await;
}

/// A warehouse that takes nothing.
struct Full;

impl o2c::fulfilment::ThirdPartyWarehouse for Full {
    fn name(&self) -> &str {
        "Full"
    }

    async fn release(&self, _: &o2c::fulfilment::Release) -> Result<(), ThirdPartyError> {
        Err(ThirdPartyError::Refused {
            site: "Full".into(),
            reason: "no room for new orders".into(),
        })
    }
}

#[tokio::test]
async fn units_at_the_warehouse_go_only_by_release_whatever_happens_to_them() {
    let shop = shop(MemoryStore::new()).await;
    let w = warehouse(ThirdPartyFaults::default(), 6);
    let id = order(&shop, "cart-1", 3, 0).await;
    // Not released yet: `ship` does not send them by o2c's carrier.
    assert!(matches!(
        shop.oms.ship(id, key("ship-1")).await,
        Err(Error::Order(OrderError::NothingToShip))
    ));
    // A warehouse that refuses: the units are o2c's again at once.
    assert!(matches!(
        shop.oms
            .release_to_third_party(&Full, id, &site(), key("release-full"))
            .await,
        Err(Error::ThirdParty(ThirdPartyError::Refused { .. }))
    ));
    let refused = shop.oms.order(id).await.unwrap();
    assert!(refused.lines[0].reservations[0].released.is_zero());
    // Released, then held for review: what the warehouse ships still lands.
    release(&shop, &w, id, "release-1").await;
    shop.oms
        .hold_order(id, o2c::order::Hold::ManualReview, key("hold-1"))
        .await
        .unwrap();
    w.work(shop.clock.now());
    let applied = apply(&shop, w.deliver()).await;
    assert!(matches!(applied[0].value, ThirdPartyOutcome::Shipped(_)));
    let held = shop.oms.order(id).await.unwrap();
    assert_eq!(held.lines[0].shipped.units(), 3);
    assert_eq!(held.holds, vec![o2c::order::Hold::ManualReview]);
    // Rejected units stay reserved there, and still do not go by `ship`.
    let again = order(&shop, "cart-2", 2, 0).await;
    shop.oms
        .release_to_third_party(&w, again, &site(), key("release-2"))
        .await
        .unwrap();
    w.reject_open("damaged");
    apply(&shop, w.deliver()).await;
    assert!(matches!(
        shop.oms.ship(again, key("ship-2")).await,
        Err(Error::Order(OrderError::NothingToShip))
    ));
    shop.oms
        .cancel_order(again, "damaged", key("cancel-2"))
        .await
        .unwrap();
    assert_eq!(on_hand(&shop, &mug()).await, (37, 0));
    assert_clean(&shop).await;
}

#[tokio::test]
async fn a_count_of_some_skus_leaves_the_others_to_their_own_counts() {
    let shop = shop(MemoryStore::new()).await;
    let w = warehouse(ThirdPartyFaults::default(), 7);
    let id = order(&shop, "cart-1", 0, 3).await;
    release(&shop, &w, id, "release-1").await;
    w.work(shop.clock.now());
    let [shipped] = <[_; 1]>::try_from(w.deliver()).unwrap();
    // A count of mugs alone, after the tee shipment it does not cover.
    let mugs_only = ThirdPartyMessage {
        id: "cycle-1".into(),
        location: site(),
        report: ThirdPartyReport::Counted {
            as_of: 2,
            counts: vec![o2c::fulfilment::CountedStock {
                sku: mug(),
                on_hand: 40,
            }],
            counted_at: shop.clock.now(),
        },
    };
    apply(&shop, vec![mugs_only, shipped]).await;
    assert_eq!(on_hand(&shop, &tee()).await, (27, 0));
    assert_eq!(i64::from(w.on_hand(&tee())), 27);
    assert_clean(&shop).await;
}

#[tokio::test]
async fn a_message_delivered_twice_is_applied_once_and_a_stale_count_changes_nothing() {
    let shop = shop(MemoryStore::new()).await;
    let w = warehouse(ThirdPartyFaults::default(), 2);
    let id = order(&shop, "cart-1", 4, 2).await;
    release(&shop, &w, id, "release-1").await;
    w.work(shop.clock.now());
    w.count(shop.clock.now());
    w.lose(&tee(), 1);
    w.count(shop.clock.now());
    let [shipped, first_count, second_count] = <[_; 3]>::try_from(w.deliver()).unwrap();

    let fresh = shop.oms.apply_third_party_message(&shipped).await.unwrap();
    let again = shop.oms.apply_third_party_message(&shipped).await.unwrap();
    assert!(!fresh.replayed && again.replayed);
    assert_eq!(fresh.value, again.value);
    assert_eq!(on_hand(&shop, &mug()).await, (36, 0));

    // The later count first: it finds the lost tee; the earlier one, after
    // it, is stale.
    let later = shop
        .oms
        .apply_third_party_message(&second_count)
        .await
        .unwrap();
    let ThirdPartyOutcome::Counted(later) = later.value else {
        panic!()
    };
    assert_eq!(later.differences.len(), 1);
    assert_eq!(later.differences[0].adjusted, -1);
    let events_before = shop.oms.store().last_event_sequence().await.unwrap();
    let stale = shop
        .oms
        .apply_third_party_message(&first_count)
        .await
        .unwrap();
    let ThirdPartyOutcome::Counted(stale) = stale.value else {
        panic!()
    };
    assert!(!stale.applied && stale.differences.is_empty());
    assert_eq!(on_hand(&shop, &tee()).await, (27, 0));
    // The stale count leaves one event saying so, and nothing else.
    let events = shop.oms.events_after(events_before, 10).await.unwrap();
    assert!(matches!(
        events.as_slice(),
        [e] if matches!(e.event, Event::StockCounted { applied: false, .. })
    ));

    // The same id with other content is refused, and changes nothing.
    let mut forged = shipped.clone();
    if let ThirdPartyReport::Shipped { tracking, .. } = &mut forged.report {
        *tracking = o2c::fulfilment::TrackingNumber::new("forged");
    }
    assert!(matches!(
        shop.oms.apply_third_party_message(&forged).await,
        Err(Error::IdempotencyKeyReused { .. })
    ));
    assert_clean(&shop).await;
}

#[tokio::test]
async fn a_shipment_reported_after_a_count_that_saw_it_is_not_taken_twice() {
    let shop = shop(MemoryStore::new()).await;
    let w = warehouse(ThirdPartyFaults::default(), 3);
    let first = order(&shop, "cart-1", 6, 0).await;
    let second = order(&shop, "cart-2", 4, 0).await;
    for (id, k) in [(first, "release-1"), (second, "release-2")] {
        shop.oms
            .release_to_third_party(&w, id, &site(), key(k))
            .await
            .unwrap();
    }
    w.work(shop.clock.now());
    w.count(shop.clock.now());
    let [ship_first, ship_second, count] = <[_; 3]>::try_from(w.deliver()).unwrap();
    // The count arrives before the second shipment's report: it finds the 4
    // mugs missing and writes them off (free stock covers them).
    apply(&shop, vec![ship_first, count]).await;
    assert_eq!(on_hand(&shop, &mug()).await, (30, 4));
    // The report, late, puts them back as it takes them: on hand stays 30.
    let late = shop
        .oms
        .apply_third_party_message(&ship_second)
        .await
        .unwrap();
    assert!(matches!(late.value, ThirdPartyOutcome::Shipped(_)));
    assert_eq!(on_hand(&shop, &mug()).await, (30, 0));
    assert_eq!(w.on_hand(&mug()), 30);
    assert_clean(&shop).await;
}

#[tokio::test]
async fn reports_the_warehouse_was_never_given_are_refused_and_change_nothing() {
    let shop = shop(MemoryStore::new()).await;
    let w = warehouse(ThirdPartyFaults::default(), 4);
    let id = order(&shop, "cart-1", 2, 0).await;
    let message = |report| ThirdPartyMessage {
        id: "x1".into(),
        location: site(),
        report,
    };
    let shipped = |units: u32| {
        message(ThirdPartyReport::Shipped {
            sequence: 1,
            order: id,
            release: key("release-1"),
            lines: vec![o2c::fulfilment::ReleaseLine {
                line_no: 1,
                sku: mug(),
                quantity: o2c::quantity::Quantity::new(units),
            }],
            carrier: "FulfilCo".into(),
            service: "ground".into(),
            tracking: o2c::fulfilment::TrackingNumber::new("T1"),
            charge: usd(0),
            shipped_at: shop.clock.now(),
        })
    };
    let events = shop.oms.store().last_event_sequence().await.unwrap();
    // Nothing released yet.
    assert!(matches!(
        shop.oms.apply_third_party_message(&shipped(2)).await,
        Err(Error::ThirdParty(ThirdPartyError::NotReleased {
            released: 0,
            reported: 2,
            ..
        }))
    ));
    release(&shop, &w, id, "release-1").await;
    let events = events + 1;
    // More than released.
    assert!(matches!(
        shop.oms.apply_third_party_message(&shipped(3)).await,
        Err(Error::ThirdParty(ThirdPartyError::NotReleased {
            released: 2,
            reported: 3,
            ..
        }))
    ));
    // Malformed: a sequence of 0, no lines, a SKU counted twice.
    let mut zero = shipped(1);
    if let ThirdPartyReport::Shipped { sequence, .. } = &mut zero.report {
        *sequence = 0;
    }
    let twice = message(ThirdPartyReport::Counted {
        as_of: 1,
        counts: vec![
            o2c::fulfilment::CountedStock {
                sku: mug(),
                on_hand: 1,
            },
            o2c::fulfilment::CountedStock {
                sku: mug(),
                on_hand: 2,
            },
        ],
        counted_at: shop.clock.now(),
    });
    let no_lines = message(ThirdPartyReport::Rejected {
        order: id,
        release: key("release-1"),
        lines: Vec::new(),
        reason: "none".into(),
    });
    for bad in [zero, twice, no_lines] {
        assert!(matches!(
            shop.oms.apply_third_party_message(&bad).await,
            Err(Error::ThirdParty(ThirdPartyError::Malformed { .. }))
        ));
    }
    // A report from a warehouse o2c runs itself.
    shop.oms
        .save_location(Location::new(
            LocationId::new("WH").unwrap(),
            "Own",
            LocationKind::Warehouse,
            Address::new("Us", "1 Main", "Newark", "07101", "US"),
            2,
        ))
        .await
        .unwrap();
    let mut own = shipped(1);
    own.location = LocationId::new("WH").unwrap();
    assert!(matches!(
        shop.oms.apply_third_party_message(&own).await,
        Err(Error::ThirdParty(ThirdPartyError::NotThirdParty { .. }))
    ));
    assert!(matches!(
        shop.oms
            .release_to_third_party(&w, id, &LocationId::new("WH").unwrap(), key("r-wh"))
            .await,
        Err(Error::ThirdParty(ThirdPartyError::NotThirdParty { .. }))
    ));
    // Only the release and the saved location left events.
    assert_eq!(
        shop.oms.store().last_event_sequence().await.unwrap(),
        events + 1
    );
    assert_eq!(on_hand(&shop, &mug()).await, (40, 2));
    assert_clean(&shop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_taking_the_same_feed_at_once_apply_each_message_once() {
    let shop = Arc::new(shop(MemoryStore::new()).await);
    let w = warehouse(ThirdPartyFaults::default(), 5);
    for n in 0..8 {
        let id = order(&shop, &format!("cart-{n}"), 2, 1).await;
        shop.oms
            .release_to_third_party(&w, id, &site(), key(&format!("release-{n}")))
            .await
            .unwrap();
    }
    w.work(shop.clock.now());
    w.lose(&mug(), 3);
    w.count(shop.clock.now());
    let messages = w.deliver();
    assert_eq!(messages.len(), 9);
    let mut reversed = messages.clone();
    reversed.reverse();
    let instances = [messages, reversed].map(|feed| {
        let shop = shop.clone();
        tokio::spawn(async move {
            let mut fresh = 0;
            for m in feed {
                let applied = shop.oms.apply_third_party_message(&m).await.unwrap();
                fresh += usize::from(!applied.replayed);
            }
            fresh
        })
    });
    let mut fresh = 0;
    for instance in instances {
        fresh += instance.await.unwrap();
    }
    assert_eq!(fresh, 9, "each message takes effect once");
    assert_eq!(on_hand(&shop, &mug()).await, (21, 0));
    assert_eq!(on_hand(&shop, &tee()).await, (22, 0));
    assert_clean(&shop).await;
}

/// A month of trading through a warehouse whose feed is late, repeats itself and
/// times out, with damage on the shelves: at the end every unit shipped is on
/// one shipment, and o2c's stock is what is on the shelves.
/// Returns how many late reports put stock back, and how many releases the
/// warehouse gave back.
async fn a_faulty_feed_ends_where_the_shelves_are<S: Store>(store: S, seed: u64) -> (usize, usize) {
    let shop = shop(store).await;
    let faults = ThirdPartyFaults {
        late_percent: 30,
        repeat_percent: 20,
        timeout_percent: 20,
    };
    let w = warehouse(faults, seed);
    let mut orders = Vec::new();
    let mut replays = 0;
    for day in 0..30_u32 {
        shop.clock.advance(Duration::hours(24));
        // Mugs run short towards the end of the month: o2c refuses what its
        // stock (as counted) cannot cover.
        let mut cart = PlaceOrder::new(
            key(&format!("cart-{day}")),
            shop.buyer,
            Channel::Web,
            Currency::USD,
        )
        .line(mug(), i64::from(1 + day % 3));
        if day % 2 == 1 {
            cart = cart.line(tee(), 1);
        }
        let cart = cart.with_delivery(Some(Delivery::Ship {
            address: Arc::new(Address::new(
                "Diner",
                "5 Main St",
                "New York",
                "10001",
                "US",
            )),
            service: ServiceLevel::Standard,
        }));
        let id = match shop.oms.place_order(cart).await {
            Ok(placed) => placed.id,
            Err(Error::Stock(_)) => continue,
            Err(e) => panic!("{e}"),
        };
        orders.push(id);
        // A release that times out is sent again with the same key.
        let k = key(&format!("release-{day}"));
        loop {
            match shop
                .oms
                .release_to_third_party(&w, id, &site(), k.clone())
                .await
            {
                Ok(_) => break,
                Err(e) if e.is_retryable() => continue,
                Err(e) => panic!("{e}"),
            }
        }
        if day % 7 == 3 {
            w.lose(&tee(), 1);
            w.lose(&mug(), 2);
        }
        w.work(shop.clock.now());
        if day % 5 == 4 {
            w.count(shop.clock.now());
        }
        for applied in apply(&shop, w.deliver()).await {
            replays += usize::from(applied.replayed);
        }
    }
    apply(&shop, w.deliver_all()).await;
    // What the shelves could not cover goes back, and is cancelled.
    w.reject_open("out of stock");
    apply(&shop, w.deliver_all()).await;
    for (day, id) in orders.iter().enumerate() {
        let o = shop.oms.order(*id).await.unwrap();
        if o.lines.iter().any(|l| !l.reservations.is_empty()) {
            shop.oms
                .cancel_order(*id, "short", key(&format!("cancel-{day}")))
                .await
                .unwrap();
        }
    }
    w.count(shop.clock.now());
    apply(&shop, w.deliver_all()).await;

    for sku in [mug(), tee()] {
        let (units, reserved) = on_hand(&shop, &sku).await;
        assert_eq!(units, i64::from(w.on_hand(&sku)), "{sku}");
        assert_eq!(reserved, 0);
    }
    // Every unit that left the shelves is on exactly one shipment.
    let mut shipped = 0_u64;
    for id in &orders {
        let o = shop.oms.order(*id).await.unwrap();
        shipped += o
            .lines
            .iter()
            .map(|l| u64::from(l.shipped.units()))
            .sum::<u64>();
    }
    let shipments: Vec<o2c::store::Versioned<o2c::fulfilment::Shipment>> =
        shop.oms.store().list().await.unwrap();
    let on_shipments: u64 = shipments
        .iter()
        .flat_map(|s| &s.value.lines)
        .map(|l| u64::from(l.quantity.units()))
        .sum();
    assert_eq!(shipped, on_shipments);
    assert!(shipped > 0);
    assert!(replays > 0, "the faults repeated nothing");
    assert_clean(&shop).await;
    let events = shop.oms.events_after(0, 100_000).await.unwrap();
    let put_back = events
        .iter()
        .filter(|e| {
            matches!(&e.event, Event::StockAdjusted { reason, .. } if reason.contains("already counted"))
        })
        .count();
    let rejected = events
        .iter()
        .filter(|e| matches!(e.event, Event::ReleaseRejected { .. }))
        .count();
    (put_back, rejected)
}

#[tokio::test]
async fn a_faulty_feed_ends_where_the_shelves_are_in_memory() {
    let (mut put_back, mut rejected) = (0, 0);
    for seed in 0..8 {
        let (p, r) = a_faulty_feed_ends_where_the_shelves_are(MemoryStore::new(), seed).await;
        put_back += p;
        rejected += r;
    }
    // The seeds reach the paths that matter.
    assert!(put_back > 0 && rejected > 0, "{put_back} {rejected}");
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_faulty_feed_ends_where_the_shelves_are_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("o2c-3pl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shop.db");
    let _ = std::fs::remove_file(&path);
    let store = o2c::store::sqlite::SqliteStore::open(&path, Default::default()).unwrap();
    a_faulty_feed_ends_where_the_shelves_are(store, 99).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_faulty_feed_ends_where_the_shelves_are_on_postgres() {
    let store = common::postgres::connect("third_party").await;
    let tenant = store.tenant_name().as_str().to_owned();
    a_faulty_feed_ends_where_the_shelves_are(store.clone(), 7).await;
    store.drop_tenant(&tenant).await.unwrap();
}
