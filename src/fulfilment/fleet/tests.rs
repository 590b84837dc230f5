#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use chrono::{NaiveDate, Weekday};
use proptest::prelude::*;

use super::*;
use crate::catalog::Dimensions;

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn parcel(kg: u64, side_mm: u32) -> Parcel {
    Parcel {
        weight_grams: kg * 1_000,
        dimensions: Dimensions {
            length_mm: side_mm,
            width_mm: side_mm,
            height_mm: side_mm,
        },
    }
}

/// North: Monday, Wednesday and Friday to US postcodes 10 and 11, 10 pallets
/// and 8 tonnes a run, booked a day ahead.
pub(crate) fn north() -> Route {
    Route {
        id: RouteId::new("NORTH").unwrap(),
        zones: vec![Zone::postcodes("US", &["10", "11"])],
        days: vec![Weekday::Mon, Weekday::Wed, Weekday::Fri],
        slots: vec![
            DeliverySlot::new("am", 8, 12).unwrap(),
            DeliverySlot::new("pm", 13, 17).unwrap(),
        ],
        pallets_per_run: 10,
        kg_per_run: 8_000,
        lead_days: 1,
        rate: FreightRate {
            base: usd(5_000),
            per_pallet: usd(2_500),
        },
    }
}

fn monday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
}

#[test]
fn a_zone_matches_its_country_and_postcode_prefixes() {
    let zone = Zone::postcodes("US", &["10", "11"]);
    assert!(zone.contains("US", "10001"));
    assert!(zone.contains("us", "11 201"));
    assert!(!zone.contains("US", "20001"));
    assert!(!zone.contains("CA", "10001"));
    assert!(Zone::country("GB").contains("GB", "SW1A 1AA"));
}

#[test]
fn runs_fall_on_the_routes_days() {
    let dates = north().runs_from(monday(), 4);
    let days: Vec<_> = dates.iter().map(chrono::Datelike::weekday).collect();
    assert_eq!(
        days,
        [Weekday::Mon, Weekday::Wed, Weekday::Fri, Weekday::Mon]
    );
    assert_eq!(dates[0], monday());
}

#[test]
fn a_consignment_takes_the_pallets_its_weight_or_volume_needs() {
    let rule = PalletRule::default();
    // 2.5 tonnes of small parcels: three pallets by weight.
    let heavy = Consignment::of("fleet", &[parcel(250, 300); 10], &rule).unwrap();
    assert_eq!((heavy.pallets, heavy.kg), (3, 2_500));
    // Light but bulky: three cubic metres over pallets of 1.58: two by volume.
    let bulky = Consignment::of("fleet", &[parcel(20, 1_000); 3], &rule).unwrap();
    assert_eq!(bulky.pallets, 2);
    assert!(
        bulky.class.number() >= 400,
        "light goods class high: {bulky:?}"
    );
    assert!(
        heavy.class.number() <= 55,
        "dense goods class low: {heavy:?}"
    );
    // One parcel heavier than a pallet carries, or nothing at all: refused.
    assert!(matches!(
        Consignment::of("fleet", &[parcel(1_200, 300)], &rule),
        Err(CarrierError::NoService { .. })
    ));
    assert!(matches!(
        Consignment::of("fleet", &[], &rule),
        Err(CarrierError::NoService { .. })
    ));
}

#[test]
fn a_fleet_refuses_what_cannot_run() {
    let rule = PalletRule::default();
    assert!(Fleet::new(vec![], rule).is_err());
    assert!(
        Fleet::new(vec![north(), north()], rule).is_err(),
        "one id twice"
    );
    let broken = [
        Route {
            zones: vec![],
            ..north()
        },
        Route {
            days: vec![],
            ..north()
        },
        Route {
            slots: vec![],
            ..north()
        },
        Route {
            pallets_per_run: 0,
            ..north()
        },
        Route {
            rate: FreightRate {
                base: usd(100),
                per_pallet: Money::from_minor(100, Currency::EUR),
            },
            ..north()
        },
        Route {
            rate: FreightRate {
                base: usd(-100),
                per_pallet: usd(100),
            },
            ..north()
        },
    ];
    for route in broken {
        assert!(
            matches!(
                Fleet::new(vec![route.clone()], rule),
                Err(FleetError::Invalid(_))
            ),
            "{route:?}"
        );
    }
    assert!(DeliverySlot::new("late", 17, 8).is_err());
    assert!(DeliverySlot::new("a/b", 8, 12).is_err());
    assert!(RouteId::new("NO/RTH").is_err());
    assert!(
        RouteId::new("N".repeat(49)).is_err(),
        "no room for the date"
    );
    assert!(RouteId::new("N".repeat(48)).is_ok());
}

#[test]
fn offers_price_by_pallets_from_the_lead_time_on() {
    let fleet = Fleet::new(vec![north()], PalletRule::default())
        .unwrap()
        .offering_runs(2);
    let (consignment, offers) = fleet
        .offers(
            "fleet",
            &vec![parcel(250, 300); 10],
            ("US", "10001"),
            Currency::USD,
            monday(),
        )
        .unwrap();
    assert_eq!(consignment.pallets, 3);
    // Two runs (Wednesday, Friday: Monday is inside the lead time), two slots each.
    let names: Vec<String> = offers.iter().map(|o| o.service.to_string()).collect();
    assert_eq!(
        names,
        [
            "ltl/NORTH/2026-12-09/am",
            "ltl/NORTH/2026-12-09/pm",
            "ltl/NORTH/2026-12-11/am",
            "ltl/NORTH/2026-12-11/pm"
        ]
    );
    assert!(offers.iter().all(|o| o.price == usd(5_000 + 3 * 2_500)));
    let refused = |destination, currency, parcels: &[Parcel]| {
        fleet
            .offers("fleet", parcels, destination, currency, monday())
            .unwrap_err()
    };
    let small = [parcel(10, 300)];
    assert!(matches!(
        refused(("US", "90210"), Currency::USD, &small),
        CarrierError::NoService { .. }
    ));
    assert!(matches!(
        refused(("US", "10001"), Currency::EUR, &small),
        CarrierError::NoService { .. }
    ));
    // Eleven pallets: more than any truck on the route.
    let too_much = vec![parcel(1_000, 300); 11];
    assert!(matches!(
        refused(("US", "10001"), Currency::USD, &too_much),
        CarrierError::NoService { .. }
    ));
}

#[test]
fn service_names_and_run_counters_read_back() {
    let service = FreightService {
        run: Run {
            route: RouteId::new("NORTH").unwrap(),
            date: monday(),
        },
        slot: "am".into(),
    };
    assert_eq!(service.to_string(), "ltl/NORTH/2026-12-07/am");
    assert_eq!(
        FreightService::parse(&service.to_string()),
        Some(service.clone())
    );
    assert_eq!(FreightService::parse("ltl/NORTH/2026-12-07"), None);
    assert_eq!(FreightService::parse("parcel/NORTH/2026-12-07/am"), None);
    assert_eq!(FreightService::parse("ltl/NORTH/yesterday/am"), None);
    assert_eq!(
        service.run.capacity_key().unwrap().to_string(),
        "run_capacity/NORTH@2026-12-07"
    );
}

proptest! {
    /// However parcels are loaded, the pallets carry them: neither a pallet's
    /// weight nor its volume is exceeded, and one pallet fewer would not do.
    #[test]
    fn pallets_carry_exactly_what_they_must(
        parcels in prop::collection::vec((1_u64..1_000_000, 1_u32..1_000), 1..40),
    ) {
        let rule = PalletRule::default();
        let parcels: Vec<Parcel> = parcels
            .into_iter()
            .map(|(grams, side)| Parcel {
                weight_grams: grams,
                dimensions: Dimensions { length_mm: side, width_mm: side, height_mm: side },
            })
            .collect();
        let c = Consignment::of("fleet", &parcels, &rule).unwrap();
        let grams: u64 = parcels.iter().map(|p| p.weight_grams).sum();
        let volume: u64 = parcels
            .iter()
            .map(|p| u64::from(p.dimensions.length_mm).pow(3))
            .sum();
        let pallets = u64::from(c.pallets);
        prop_assert!(pallets * u64::from(rule.max_kg) * 1_000 >= grams);
        prop_assert!(pallets * rule.max_volume_mm3 >= volume);
        prop_assert!(
            pallets == 1
                || (pallets - 1) * u64::from(rule.max_kg) * 1_000 < grams
                || (pallets - 1) * rule.max_volume_mm3 < volume
        );
        prop_assert!(u64::from(c.kg) * 1_000 >= grams && u64::from(c.kg) * 1_000 < grams + 1_000);
    }

    /// Denser goods never get a higher class.
    #[test]
    fn freight_class_falls_as_density_rises(
        grams in 1_u64..10_000_000, volume in 1_u64..10_000_000_000, more in 1_u64..1_000_000,
    ) {
        prop_assert!(FreightClass::of(grams + more, volume) <= FreightClass::of(grams, volume));
    }
}
