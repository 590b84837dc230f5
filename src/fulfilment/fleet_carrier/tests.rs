#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use chrono::{NaiveDate, TimeZone};

use super::*;
use crate::catalog::Dimensions;
use crate::clock::ManualClock;
use crate::customer::Address;
use crate::fulfilment::fleet::tests::north;
use crate::fulfilment::{PalletRule, Parcel, Route, RouteId};
use crate::ids::ShipmentId;
use crate::money::Currency;
use crate::store::MemoryStore;

/// Monday 2026-12-07, 09:00.
fn monday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
}

fn carrier(
    store: &MemoryStore,
    routes: Vec<Route>,
) -> (FleetCarrier<&MemoryStore>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(monday_morning()));
    let fleet = Fleet::new(routes, PalletRule::default()).unwrap();
    (
        FleetCarrier::new("own-fleet", fleet, store, clock.clone()),
        clock,
    )
}

/// `pallets` pallets' worth of goods (a tonne each) to New York.
fn request(pallets: usize) -> RateRequest {
    let parcel = Parcel {
        weight_grams: 1_000_000,
        dimensions: Dimensions {
            length_mm: 1_000,
            width_mm: 800,
            height_mm: 1_000,
        },
    };
    RateRequest {
        origin: Address::new("Depot", "1 Dock Rd", "Newark", "07101", "US"),
        destination: Address::new("Buyer", "5 Main St", "New York", "10001", "US"),
        parcels: vec![parcel; pallets],
        service: RequestedService::Delivery(ServiceLevel::Freight),
        currency: Currency::USD,
    }
}

fn booking(key: &str, quote: &RateQuote, pallets: usize) -> BookingRequest {
    BookingRequest {
        key: key.to_owned(),
        shipment: ShipmentId::from_uuid(uuid::Uuid::from_u128(7)),
        quote: quote.clone(),
        request: request(pallets),
    }
}

fn first_quote(c: &FleetCarrier<&MemoryStore>, pallets: usize) -> RateQuote {
    pollster::block_on(c.quote(&request(pallets)))
        .unwrap()
        .remove(0)
}

#[test]
fn a_booking_takes_its_pallets_from_the_run_and_a_cancel_gives_them_back() {
    let store = MemoryStore::new();
    let (c, _) = carrier(&store, vec![north()]);
    let quote = first_quote(&c, 3);
    assert_eq!(quote.service, "ltl/NORTH/2026-12-09/am");
    assert_eq!(quote.transit_days, 2);
    let run = FreightService::parse(&quote.service).unwrap().run;
    assert_eq!(pollster::block_on(c.booked(&run)).unwrap(), Bounds::ZERO);

    let booked = pollster::block_on(c.book(&booking("k1", &quote, 3))).unwrap();
    assert_eq!(booked.tracking.as_str(), "LTL/NORTH/2026-12-09/am/3/k1");
    assert_eq!(
        booked.price,
        Money::from_minor(5_000 + 3 * 2_500, Currency::USD)
    );
    assert_eq!(
        pollster::block_on(c.booked(&run)).unwrap(),
        Bounds { limit: 10, used: 3 }
    );

    // A retry returns the booking and takes nothing more.
    let again = pollster::block_on(c.book(&booking("k1", &quote, 3))).unwrap();
    assert_eq!(again, booked);
    assert_eq!(pollster::block_on(c.booked(&run)).unwrap().used, 3);
    // The key for another booking is refused.
    assert!(matches!(
        pollster::block_on(c.book(&booking("k1", &quote, 2))),
        Err(CarrierError::Rejected { .. })
    ));

    let events = pollster::block_on(c.track(&booked.tracking)).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].status, ShipmentStatus::Booked);

    pollster::block_on(c.cancel(&booked.tracking)).unwrap();
    pollster::block_on(c.cancel(&booked.tracking)).unwrap();
    assert_eq!(
        pollster::block_on(c.booked(&run)).unwrap(),
        Bounds { limit: 10, used: 0 },
        "cancelled twice, freed once"
    );
    let events = pollster::block_on(c.track(&booked.tracking)).unwrap();
    assert_eq!(events.last().unwrap().status, ShipmentStatus::Exception);
    let unknown = TrackingNumber::new("LTL/NORTH/2026-12-09/am/3/nope");
    assert_eq!(
        pollster::block_on(c.cancel(&unknown)),
        Err(CarrierError::UnknownTracking(unknown.clone()))
    );
    assert!(pollster::block_on(c.track(&TrackingNumber::new("1Z999"))).is_err());
}

#[test]
fn a_full_run_is_refused_and_quotes_move_on_to_the_next() {
    let store = MemoryStore::new();
    let (c, _) = carrier(&store, vec![north()]);
    let quote = first_quote(&c, 6);
    pollster::block_on(c.book(&booking("first", &quote, 6))).unwrap();
    // Four pallets left on Wednesday's run: five do not fit, and nothing moves.
    let refused = pollster::block_on(c.book(&booking("second", &quote, 5)));
    assert!(
        matches!(refused, Err(CarrierError::NoService { .. })),
        "{refused:?}"
    );
    let run = FreightService::parse(&quote.service).unwrap().run;
    assert_eq!(pollster::block_on(c.booked(&run)).unwrap().used, 6);
    // Quotes for five offer Friday's run first now.
    assert_eq!(first_quote(&c, 5).service, "ltl/NORTH/2026-12-11/am");
    assert_eq!(first_quote(&c, 4).service, "ltl/NORTH/2026-12-09/am");
}

#[test]
fn what_no_truck_or_slot_can_take_is_refused_with_nothing_written() {
    let store = MemoryStore::new();
    let small = Route {
        kg_per_run: 2_500,
        ..north()
    };
    let (c, clock) = carrier(&store, vec![small]);
    let quote = first_quote(&c, 2);
    // Three tonnes on a truck of two and a half.
    assert!(matches!(
        pollster::block_on(c.quote(&request(3))),
        Err(CarrierError::NoService { .. })
    ));
    assert!(matches!(
        pollster::block_on(c.book(&booking("heavy", &quote, 3))),
        Err(CarrierError::NoService { .. })
    ));
    // Wednesday afternoon: the morning slot has closed.
    clock.set(Utc.with_ymd_and_hms(2026, 12, 9, 13, 0, 0).unwrap());
    assert!(matches!(
        pollster::block_on(c.book(&booking("late", &quote, 1))),
        Err(CarrierError::Rejected { .. })
    ));
    // Another carrier's service, a route or slot the fleet lacks, a day off.
    for service in [
        "parcel-standard",
        "ltl/SOUTH/2026-12-11/am",
        "ltl/NORTH/2026-12-11/night",
        "ltl/NORTH/2026-12-12/am",
    ] {
        let other = RateQuote {
            service: service.into(),
            ..quote.clone()
        };
        assert!(
            matches!(
                pollster::block_on(c.book(&booking(service, &other, 1))),
                Err(CarrierError::Rejected { .. })
            ),
            "{service}"
        );
    }
    let events = pollster::block_on(store.last_event_sequence()).unwrap();
    assert_eq!(events, 0);
    let run = Run {
        route: RouteId::new("NORTH").unwrap(),
        date: NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
    };
    assert_eq!(pollster::block_on(c.booked(&run)).unwrap(), Bounds::ZERO);
}

#[test]
fn a_key_too_long_to_keep_is_kept_as_its_digest() {
    let store = MemoryStore::new();
    let (c, _) = carrier(&store, vec![north()]);
    let quote = first_quote(&c, 1);
    let long = "k".repeat(200);
    let booked = pollster::block_on(c.book(&booking(&long, &quote, 1))).unwrap();
    assert!(booked.tracking.as_str().contains("/digest-"));
    assert_eq!(
        pollster::block_on(c.book(&booking(&long, &quote, 1))).unwrap(),
        booked
    );
    pollster::block_on(c.cancel(&booked.tracking)).unwrap();
}

#[test]
fn only_freight_is_quoted() {
    let store = MemoryStore::new();
    let (c, _) = carrier(&store, vec![north()]);
    let parcel = RateRequest {
        service: RequestedService::Delivery(ServiceLevel::Standard),
        ..request(1)
    };
    assert!(matches!(
        pollster::block_on(c.quote(&parcel)),
        Err(CarrierError::NoService { .. })
    ));
}
