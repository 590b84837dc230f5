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
    assert!(!pollster::block_on(c.booked(&run)).unwrap().is_open());

    let booked = pollster::block_on(c.book(&booking("k1", &quote, 3))).unwrap();
    assert_eq!(booked.tracking.as_str(), "LTL/NORTH/2026-12-09/am/3/k1");
    assert_eq!(
        booked.price,
        Money::from_minor(5_000 + 3 * 2_500, Currency::USD)
    );
    assert_eq!(
        pollster::block_on(c.booked(&run)).unwrap(),
        RunLoad {
            pallets: Bounds { limit: 10, used: 3 },
            kg: Bounds {
                limit: 8_000,
                used: 3_000
            },
        }
    );

    // A retry returns the booking and takes nothing more, whatever it asks now
    // (a `ship` retried after a lost race may have quoted again).
    let again = pollster::block_on(c.book(&booking("k1", &quote, 3))).unwrap();
    assert_eq!(again, booked);
    let later = first_quote(&c, 2);
    assert_eq!(
        pollster::block_on(c.book(&booking("k1", &later, 2))).unwrap(),
        booked
    );
    assert_eq!(pollster::block_on(c.booked(&run)).unwrap().pallets.used, 3);

    let events = pollster::block_on(c.track(&booked.tracking)).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].status, ShipmentStatus::Booked);

    pollster::block_on(c.cancel(&booked.tracking)).unwrap();
    pollster::block_on(c.cancel(&booked.tracking)).unwrap();
    assert_eq!(
        pollster::block_on(c.booked(&run)).unwrap(),
        RunLoad {
            pallets: Bounds { limit: 10, used: 0 },
            kg: Bounds {
                limit: 8_000,
                used: 0
            },
        },
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
    assert_eq!(pollster::block_on(c.booked(&run)).unwrap().pallets.used, 6);
    // Quotes for five offer Friday's run first now.
    assert_eq!(first_quote(&c, 5).service, "ltl/NORTH/2026-12-11/am");
    // Four pallets would fit, but not four more tonnes (two are left); two do.
    assert_eq!(first_quote(&c, 4).service, "ltl/NORTH/2026-12-11/am");
    assert_eq!(first_quote(&c, 2).service, "ltl/NORTH/2026-12-09/am");
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
    assert!(!pollster::block_on(c.booked(&run)).unwrap().is_open());
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

#[test]
fn a_run_is_never_loaded_past_its_trucks_payload() {
    let store = MemoryStore::new();
    // Ten pallets but only 1.5 tonnes: the weight binds first.
    let light_truck = Route {
        kg_per_run: 1_500,
        ..north()
    };
    let (c, _) = carrier(&store, vec![light_truck]);
    let quote = first_quote(&c, 1);
    pollster::block_on(c.book(&booking("one-tonne", &quote, 1))).unwrap();
    let refused = pollster::block_on(c.book(&booking("another-tonne", &quote, 1)));
    assert!(
        matches!(refused, Err(CarrierError::NoService { .. })),
        "{refused:?}"
    );
    let run = FreightService::parse(&quote.service).unwrap().run;
    let load = pollster::block_on(c.booked(&run)).unwrap();
    assert_eq!((load.pallets.used, load.kg.used), (1, 1_000));
    // Quotes for another tonne move on to the next run.
    assert_ne!(first_quote(&c, 1).service, quote.service);
}

#[test]
fn a_booking_the_route_does_not_serve_is_refused() {
    let store = MemoryStore::new();
    let (c, _) = carrier(&store, vec![north()]);
    let quote = first_quote(&c, 1);
    let mut elsewhere = booking("elsewhere", &quote, 1);
    elsewhere.request.destination = Address::new("B", "1 Rd", "Boston", "02108", "US");
    let mut in_euros = booking("in-euros", &quote, 1);
    in_euros.request.currency = Currency::EUR;
    // Tomorrow is Tuesday, and Monday's run is inside the lead time.
    let today = RateQuote {
        service: "ltl/NORTH/2026-12-07/pm".into(),
        ..quote.clone()
    };
    for refused in [elsewhere, in_euros, booking("today", &today, 1)] {
        assert!(
            matches!(
                pollster::block_on(c.book(&refused)),
                Err(CarrierError::Rejected { .. })
            ),
            "{}",
            refused.key
        );
    }
    assert!(
        !pollster::block_on(c.booked(&FreightService::parse(&quote.service).unwrap().run))
            .unwrap()
            .is_open()
    );
}

#[test]
fn a_slot_that_has_closed_is_not_offered() {
    let store = MemoryStore::new();
    let same_day = Route {
        lead_days: 0,
        ..north()
    };
    let (c, clock) = carrier(&store, vec![same_day]);
    assert_eq!(first_quote(&c, 1).service, "ltl/NORTH/2026-12-07/am");
    // One o'clock: the morning slot has closed, the afternoon's is open.
    clock.set(Utc.with_ymd_and_hms(2026, 12, 7, 13, 0, 0).unwrap());
    let quote = first_quote(&c, 1);
    assert_eq!(quote.service, "ltl/NORTH/2026-12-07/pm");
    assert_eq!(quote.transit_days, 0);
    pollster::block_on(c.book(&booking("same-day", &quote, 1))).unwrap();
}

#[test]
fn a_cancelled_booking_is_not_handed_back_as_live() {
    let store = MemoryStore::new();
    let (c, _) = carrier(&store, vec![north()]);
    let quote = first_quote(&c, 1);
    let booked = pollster::block_on(c.book(&booking("k", &quote, 1))).unwrap();
    pollster::block_on(c.cancel(&booked.tracking)).unwrap();
    assert!(matches!(
        pollster::block_on(c.book(&booking("k", &quote, 1))),
        Err(CarrierError::Rejected { .. })
    ));
    let run = FreightService::parse(&quote.service).unwrap().run;
    assert_eq!(pollster::block_on(c.booked(&run)).unwrap().pallets.used, 0);
}
