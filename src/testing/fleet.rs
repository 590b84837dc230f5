//! The own fleet's runs: booked through the store's bounded counters, never past
//! a truck's capacity however many book at once.

use std::sync::{Arc, Barrier};

use chrono::{TimeZone, Utc, Weekday};

use crate::catalog::Dimensions;
use crate::clock::ManualClock;
use crate::customer::Address;
use crate::fulfilment::{
    Booking, BookingRequest, Carrier, CarrierError, DeliverySlot, Fleet, FleetCarrier, FreightRate,
    FreightService, PalletRule, Parcel, RateQuote, RateRequest, RequestedService, Route, RouteId,
    Zone,
};
use crate::ids::ShipmentId;
use crate::money::{Currency, Money};
use crate::order::ServiceLevel;
use crate::store::{Bounds, Store};

use super::{CaseResult, Failure, OrFail, block_on};

/// Pallets one run of the case's route carries.
pub const RUN_PALLETS: u32 = 5;

/// A fleet of one route, `DAILY`, delivering every day to US postcodes 10…, a
/// run carrying [`RUN_PALLETS`] pallets, booked from the day after.
///
/// # Errors
/// Never, for this fixed route; reported as a [`Failure`] of `case` all the same.
pub fn daily_fleet(case: &'static str) -> Result<Fleet, Failure> {
    let route = Route {
        id: RouteId::new("DAILY").or_fail(case, "naming the route")?,
        zones: vec![Zone::postcodes("US", &["10"])],
        days: vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ],
        slots: vec![DeliverySlot::new("day", 8, 18).or_fail(case, "making a slot")?],
        pallets_per_run: RUN_PALLETS,
        kg_per_run: 10_000,
        lead_days: 1,
        rate: FreightRate {
            base: Money::from_minor(5_000, Currency::USD),
            per_pallet: Money::from_minor(2_000, Currency::USD),
        },
    };
    Fleet::new(vec![route], PalletRule::default()).or_fail(case, "making the fleet")
}

/// A request for one pallet (half a tonne) to New York.
pub fn one_pallet() -> RateRequest {
    RateRequest {
        origin: Address::new("Depot", "1 Dock Rd", "Newark", "07101", "US"),
        destination: Address::new("Buyer", "5 Main St", "New York", "10001", "US"),
        parcels: vec![Parcel {
            weight_grams: 500_000,
            dimensions: Dimensions {
                length_mm: 1_000,
                width_mm: 800,
                height_mm: 600,
            },
        }],
        service: RequestedService::Delivery(ServiceLevel::Freight),
        currency: Currency::USD,
    }
}

/// A booking of `quote` for one pallet under `key`.
pub fn booking(key: String, quote: &RateQuote) -> BookingRequest {
    BookingRequest {
        key,
        shipment: ShipmentId::from_uuid(uuid::Uuid::from_u128(1)),
        quote: quote.clone(),
        request: one_pallet(),
    }
}

/// The fleet carrier on `store`, its clock at Monday 2026-12-07, 09:00.
fn carrier<'s, S: Store>(case: &'static str, store: &'s S) -> Result<FleetCarrier<&'s S>, Failure> {
    let now = Utc
        .with_ymd_and_hms(2026, 12, 7, 9, 0, 0)
        .single()
        .ok_or_else(|| Failure {
            case,
            message: "no such time".into(),
        })?;
    Ok(FleetCarrier::new(
        "own-fleet",
        daily_fleet(case)?,
        store,
        Arc::new(ManualClock::new(now)),
    ))
}

/// Eight bookers, all let go at once, each book one pallet on one run of five:
/// exactly five get a booking and three are refused as out of room (never
/// another error); the run then reads five of five pallets and the kilograms of
/// five bookings. A retry of a booking
/// returns it and takes nothing; a cancel frees its pallet (twice, once), and
/// the freed pallet can be booked again; a booking the truck cannot carry
/// changes nothing.
pub async fn freight_runs_are_never_overbooked<S: Store>(store: &S) -> CaseResult {
    let case = "freight_runs_are_never_overbooked";
    let fleet = carrier(case, store)?;
    let quote = fleet
        .quote(&one_pallet())
        .await
        .or_fail(case, "quoting")?
        .into_iter()
        .next()
        .ok_or_else(|| Failure {
            case,
            message: "no run offered".into(),
        })?;
    let run = FreightService::parse(&quote.service)
        .ok_or_else(|| Failure {
            case,
            message: format!("{} is not a fleet service", quote.service),
        })?
        .run;

    const BOOKERS: usize = 8;
    let start = Barrier::new(BOOKERS);
    let outcomes: Vec<Result<Option<Booking>, String>> = std::thread::scope(|scope| {
        let bookers: Vec<_> = (0..BOOKERS)
            .map(|n| {
                let (start, fleet, quote) = (&start, &fleet, &quote);
                scope.spawn(move || {
                    start.wait();
                    match block_on(fleet.book(&booking(format!("booker-{n}"), quote))) {
                        Ok(booked) => Ok(Some(booked)),
                        Err(CarrierError::NoService { .. }) => Ok(None),
                        Err(e) => Err(e.to_string()),
                    }
                })
            })
            .collect();
        bookers
            .into_iter()
            .map(|b| b.join().unwrap_or_else(|_| Err("a booker panicked".into())))
            .collect()
    });
    let mut booked = Vec::new();
    for outcome in outcomes {
        if let Some(b) = outcome.or_fail(case, "a booking neither booked nor was refused")? {
            booked.push(b);
        }
    }
    ensure!(
        case,
        booked.len() == 5,
        "{} of {BOOKERS} one-pallet bookings went through on a run of {}",
        booked.len(),
        RUN_PALLETS
    );
    let full = Bounds { limit: 5, used: 5 };
    let now = fleet.booked(&run).await.or_fail(case, "reading the run")?;
    ensure!(
        case,
        now.pallets == full
            && now.kg
                == Bounds {
                    limit: 10_000,
                    used: 2_500
                },
        "after the rush the run reads {now:?}"
    );

    // A retry returns its booking and takes nothing.
    let first = booked.first().ok_or_else(|| Failure {
        case,
        message: "no booking".into(),
    })?;
    let key = first
        .tracking
        .as_str()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let again = fleet
        .book(&booking(key, &quote))
        .await
        .or_fail(case, "retrying a booking")?;
    ensure!(
        case,
        &again == first,
        "a retry booked {again:?}, not {first:?}"
    );

    // A cancel frees its pallet once; the pallet can be booked again.
    for _ in 0..2 {
        fleet
            .cancel(&first.tracking)
            .await
            .or_fail(case, "cancelling")?;
    }
    let now = fleet.booked(&run).await.or_fail(case, "reading the run")?;
    ensure!(
        case,
        now.pallets == Bounds { limit: 5, used: 4 } && now.kg.used == 2_000,
        "after cancelling one booking twice the run reads {now:?}"
    );
    fleet
        .book(&booking("after-cancel".into(), &quote))
        .await
        .or_fail(case, "booking the freed pallet")?;

    // Twelve tonnes fit no truck: refused, nothing moved.
    let mut heavy = booking("heavy".into(), &quote);
    heavy.request.parcels = vec![
        one_pallet()
            .parcels
            .first()
            .copied()
            .ok_or_else(|| Failure {
                case,
                message: "no parcel".into(),
            })?;
        24
    ];
    let refused = fleet.book(&heavy).await;
    ensure!(
        case,
        matches!(refused, Err(CarrierError::NoService { .. })),
        "twelve tonnes on a ten-tonne truck: {refused:?}"
    );
    let now = fleet.booked(&run).await.or_fail(case, "reading the run")?;
    ensure!(
        case,
        now.pallets == full,
        "at the end the run reads {now:?}"
    );
    Ok(())
}
