//! Mixed shipments: one warehouse's parcel-sized and pallet-sized goods leave as
//! two shipments, the parcels with the parcel carrier and the pallets on the
//! company's own truck, whose run counts them; the books balance and the audit is
//! clean.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use chrono::{TimeZone, Utc, Weekday};
use o2c::catalog::{Dimensions, Product, TaxClass, TaxTable};
use o2c::clock::{ManualClock, SeededIds};
use o2c::customer::{Address, NewCustomer, PaymentTerms};
use o2c::fulfilment::{
    Carrier, DeliverySlot, Fleet, FleetCarrier, FreightRate, FreightRule, FreightService,
    PalletRule, Route, RouteId, TableRateCarrier, Zone,
};
use o2c::ids::{IdempotencyKey, LocationId, Sku};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Delivery, PlaceOrder, ServiceLevel};
use o2c::stock::{Location, LocationKind};
use o2c::store::{Bounds, MemoryStore};
use o2c::{Oms, OmsConfig, ReceiveStock};

type Carriers = (TableRateCarrier, FleetCarrier<Arc<MemoryStore>>);

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}

/// A shop whose Newark warehouse holds cups (300 g) and stoves (45 kg, 600 mm
/// a side); parcels by Parcelly, freight by the own fleet's route to New York
/// postcodes, Monday to Friday, eight pallets a run.
async fn shop() -> (Oms<Arc<MemoryStore>, Carriers>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap(),
    ));
    let store = Arc::new(MemoryStore::new());
    let route = Route {
        id: RouteId::new("NYC").unwrap(),
        zones: vec![Zone::postcodes("US", &["10"])],
        days: vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ],
        slots: vec![DeliverySlot::new("am", 8, 12).unwrap()],
        pallets_per_run: 8,
        kg_per_run: 6_000,
        lead_days: 1,
        rate: FreightRate {
            base: usd(6_000),
            per_pallet: usd(3_000),
        },
    };
    let fleet = Fleet::new(vec![route], PalletRule::default()).unwrap();
    let parcels = TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .band(5_000, vec![usd(800)])
        .band(30_000, vec![usd(2_000)]);
    let carriers = (
        parcels,
        FleetCarrier::new("own-fleet", fleet, store.clone(), clock.clone()),
    );
    let oms = Oms::new(store, carriers)
        .with_clock(clock.clone())
        .with_ids(Arc::new(SeededIds::new(7)))
        .with_config(OmsConfig::default().with_freight(FreightRule::default()))
        .unwrap();
    oms.set_tax_table(TaxTable::new().with_rate(
        TaxClass::standard(),
        None,
        "0.08".parse().unwrap(),
    ))
    .await
    .unwrap();
    let mut cup = Product::new(
        Sku::new("CUP").unwrap(),
        "Cup",
        usd(900),
        usd(300),
        TaxClass::standard(),
    );
    cup.weight_grams = 300;
    let mut stove = Product::new(
        Sku::new("STOVE").unwrap(),
        "Stove",
        usd(120_000),
        usd(60_000),
        TaxClass::standard(),
    );
    stove.weight_grams = 45_000;
    stove.dimensions = Dimensions {
        length_mm: 600,
        width_mm: 600,
        height_mm: 600,
    };
    oms.save_product(cup).await.unwrap();
    oms.save_product(stove).await.unwrap();
    let newark = Address::new("Warehouse", "1 Dock Rd", "Newark", "07101", "US");
    let wh = LocationId::new("WH-NJ").unwrap();
    oms.save_location(Location::new(
        wh.clone(),
        "Newark",
        LocationKind::Warehouse,
        newark,
        1,
    ))
    .await
    .unwrap();
    for (sku, units) in [("CUP", 100), ("STOVE", 40)] {
        oms.receive_stock(ReceiveStock::new(
            key(&format!("opening-{sku}")),
            Sku::new(sku).unwrap(),
            wh.clone(),
            units,
        ))
        .await
        .unwrap();
    }
    (oms, clock)
}

#[tokio::test]
async fn a_warehouse_ships_parcels_and_pallets_apart_and_the_truck_counts_the_pallets() {
    let (oms, _) = shop().await;
    let mut profile = NewCustomer::new(
        "Diner",
        "chef@diner.example",
        Address::new("Diner", "5 Main St", "New York", "10001", "US"),
        Currency::USD,
    );
    profile.terms = PaymentTerms::Net { days: 30 };
    let diner = oms
        .register_customer(profile, key("signup-diner"))
        .await
        .unwrap();
    let address = Address::new("Diner", "5 Main St", "New York", "10001", "US");
    // Six cups (1.8 kg), and twenty-five stoves: 1,125 kg, two pallets by weight,
    // but 5.4 m³, four pallets by volume.
    let cart = PlaceOrder::new(key("cart-1"), diner.id, Channel::B2b, Currency::USD)
        .with_delivery(Some(Delivery::Ship {
            address: Arc::new(address),
            service: ServiceLevel::Standard,
        }))
        .line(Sku::new("CUP").unwrap(), 6)
        .line(Sku::new("STOVE").unwrap(), 25);
    let order = oms.place_order(cart).await.unwrap();

    let shipments = oms.ship(order.id, key("ship-1")).await.unwrap();
    assert_eq!(shipments.len(), 2, "{shipments:?}");
    let (parcel, freight) = (&shipments[0], &shipments[1]);
    assert_eq!(parcel.carrier, "Parcelly");
    assert_eq!(parcel.lines.len(), 1);
    assert_eq!(parcel.lines[0].line_no, 1);
    assert_eq!(freight.carrier, "own-fleet");
    assert_eq!(freight.lines[0].line_no, 2);
    assert!(
        freight
            .tracking
            .as_str()
            .starts_with("LTL/NYC/2026-12-08/am/4/")
    );

    // The truck's run counts the four pallets.
    let run = FreightService::parse("ltl/NYC/2026-12-08/am").unwrap().run;
    let load = oms.carrier().1.booked(&run).await.unwrap();
    assert_eq!(load.pallets, Bounds { limit: 8, used: 4 });
    assert_eq!(
        load.kg,
        Bounds {
            limit: 6_000,
            used: 1_125
        }
    );
    // A retry of the same ship call books nothing more.
    let again = oms.ship(order.id, key("ship-1")).await.unwrap();
    assert!(again.replayed);
    assert_eq!(
        oms.carrier().1.booked(&run).await.unwrap().pallets.used,
        4,
        "a replay takes no pallets"
    );
    assert!(oms.trial_balance().await.unwrap().is_balanced());
    let report = oms.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    let events = oms.carrier().1.track(&freight.tracking).await.unwrap();
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn the_audit_checks_each_run_against_its_bookings() {
    use o2c::fulfilment::{BookingRequest, RateRequest, RequestedService};
    use o2c::ids::ShipmentId;
    use o2c::store::{Changeset, Store};

    let (oms, clock) = shop().await;
    let fleet = &oms.carrier().1;
    let request = RateRequest {
        origin: Address::new("Warehouse", "1 Dock Rd", "Newark", "07101", "US"),
        destination: Address::new("Diner", "5 Main St", "New York", "10001", "US"),
        parcels: vec![
            o2c::fulfilment::Parcel {
                weight_grams: 300_000,
                dimensions: Dimensions {
                    length_mm: 1_000,
                    width_mm: 800,
                    height_mm: 800,
                },
            };
            2
        ],
        service: RequestedService::Delivery(ServiceLevel::Freight),
        currency: Currency::USD,
    };
    let quote = fleet.quote(&request).await.unwrap().remove(0);
    let book = |key: &str| BookingRequest {
        key: key.into(),
        shipment: ShipmentId::from_uuid(uuid::Uuid::from_u128(9)),
        quote: quote.clone(),
        request: request.clone(),
    };
    fleet.book(&book("b1")).await.unwrap();
    let second = fleet.book(&book("b2")).await.unwrap();
    fleet.cancel(&second.tracking).await.unwrap();
    let report = oms.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);

    // Pallets taken off a run behind the fleet's back: the audit names the run.
    let run = FreightService::parse(&quote.service).unwrap().run;
    let mut stray = Changeset::new(o2c::clock::Clock::now(&*clock));
    stray.move_counter(run.capacity_key().unwrap(), 0, 1);
    oms.store().commit(stray).await.unwrap();
    let report = oms.audit().await.unwrap();
    assert_eq!(
        report.violations,
        [o2c::audit::Violation::FreightRunMismatch {
            counter: format!("run_capacity/{run}"),
            used: 2,
            booked: 1,
            limit: 8,
            opened: 8,
        }]
    );

    // A truck's payload raised behind its back: named with both capacities.
    let mut raised = Changeset::new(o2c::clock::Clock::now(&*clock));
    raised.move_counter(run.capacity_key().unwrap(), 0, -1);
    raised.move_counter(run.weight_key().unwrap(), 1_000, 0);
    oms.store().commit(raised).await.unwrap();
    let report = oms.audit().await.unwrap();
    assert_eq!(
        report.violations,
        [o2c::audit::Violation::FreightRunMismatch {
            counter: format!("run_weight/{run}"),
            used: 600,
            booked: 600,
            limit: 7_000,
            opened: 6_000,
        }]
    );
}
