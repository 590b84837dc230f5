//! The company's own trucks: less-than-truckload (LTL) freight on fixed routes.
//!
//! A [`Fleet`] is configuration the host gives: its [`Route`]s, each serving some
//! destination [`Zone`]s on some weekdays, with a truck's capacity per run (in
//! pallets and in kilograms), the delivery slots of a run's day, and a rate by
//! pallet count. Goods are loaded as pallets by a [`PalletRule`] (weight and
//! volume per pallet), priced by zone and pallet count, and classed by density
//! ([`FreightClass`]). A *run* is one route on one date ([`Run`]); what is booked
//! on it is kept in the store by [`FleetCarrier`](super::FleetCarrier), as two
//! bounded counters (pallets and kilograms), so no run is ever booked past its
//! truck.
//!
//! Everything here is pure: no store, no clock.

use std::fmt;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use super::carrier::{CarrierError, Parcel};
use crate::ids::{InvalidCode, validate_code};
use crate::money::{Currency, Money};
use crate::store::{CounterKey, CounterKind};

/// The bounded counter kind a run's booked pallets are kept under. Reserved for
/// the fleet: the audit checks every counter of this kind against its bookings.
pub const RUN_CAPACITY: &str = "run_capacity";
/// The bounded counter kind a run's booked kilograms are kept under (reserved,
/// as [`RUN_CAPACITY`]).
pub const RUN_WEIGHT: &str = "run_weight";

/// Why a fleet's configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// A route, slot or code is malformed.
    #[error("invalid fleet: {0}")]
    Invalid(String),
    /// A code (route id, slot name) breaks the rules of codes.
    #[error(transparent)]
    Code(#[from] InvalidCode),
}

/// The longest route id: a run's counter id is the route's id, `@` and a date,
/// and a counter id is at most 64 bytes.
const MAX_ROUTE_ID: usize = 48;

/// A route's identifier: the rules of other codes, at most 48 bytes, and no `/`
/// or `@` (they separate the parts of a service name and of a run's counter).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String", into = "String")]
pub struct RouteId(String);

impl RouteId {
    /// Validates a route's id.
    ///
    /// # Errors
    /// [`FleetError`] when it is not a code, or holds `/` or `@`.
    pub fn new(id: impl Into<String>) -> Result<Self, FleetError> {
        let id = id.into();
        validate_code(&id, "route id")?;
        if id.len() > MAX_ROUTE_ID {
            return Err(FleetError::Invalid(format!(
                "route id {id:?} is longer than {MAX_ROUTE_ID} bytes"
            )));
        }
        if id.contains(['/', '@']) || id.contains(char::is_whitespace) {
            return Err(FleetError::Invalid(format!(
                "route id {id:?} may not hold '/', '@' or spaces"
            )));
        }
        Ok(Self(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RouteId {
    type Error = FleetError;
    fn try_from(id: String) -> Result<Self, FleetError> {
        Self::new(id)
    }
}

impl From<RouteId> for String {
    fn from(id: RouteId) -> String {
        id.0
    }
}

impl fmt::Display for RouteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Destinations a route serves: a country, all of it or the postal codes that
/// start with one of some prefixes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Zone {
    /// ISO 3166 alpha-2 country code, as addresses hold it.
    pub country: String,
    /// Postal code prefixes (compared without spaces, ignoring case); empty: the
    /// whole country.
    #[serde(default)]
    pub postcode_prefixes: Vec<String>,
}

impl Zone {
    /// The whole of `country`.
    pub fn country(country: impl Into<String>) -> Self {
        Self {
            country: country.into(),
            postcode_prefixes: Vec::new(),
        }
    }

    /// The postal codes of `country` starting with one of `prefixes`.
    pub fn postcodes(country: impl Into<String>, prefixes: &[&str]) -> Self {
        Self {
            country: country.into(),
            postcode_prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    /// Whether an address in `country` at `postal_code` is in the zone.
    pub fn contains(&self, country: &str, postal_code: &str) -> bool {
        if !self.country.eq_ignore_ascii_case(country) {
            return false;
        }
        let code = squeezed(postal_code);
        self.postcode_prefixes.is_empty()
            || self
                .postcode_prefixes
                .iter()
                .any(|prefix| code.starts_with(&squeezed(prefix)))
    }
}

/// A postal code without spaces, in upper case, for comparing prefixes.
fn squeezed(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A window of a delivery day the customer is promised (`am`: 08:00–12:00).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeliverySlot {
    /// The slot's name in service names: a code without `/`.
    pub name: String,
    /// When it opens.
    pub from: NaiveTime,
    /// When it closes (after `from`).
    pub to: NaiveTime,
}

impl DeliverySlot {
    /// A slot from `from` to `to` (hours of the day).
    ///
    /// # Errors
    /// [`FleetError`] for a bad name or hours, or `to` not after `from`.
    pub fn new(name: impl Into<String>, from: u32, to: u32) -> Result<Self, FleetError> {
        let name = name.into();
        validate_code(&name, "delivery slot")?;
        let hour = |h| {
            NaiveTime::from_hms_opt(h, 0, 0)
                .ok_or_else(|| FleetError::Invalid(format!("slot {name}: no hour {h}")))
        };
        let slot = Self {
            from: hour(from)?,
            to: hour(to)?,
            name,
        };
        slot.check()?;
        Ok(slot)
    }

    /// When the slot closes on `date`.
    pub fn closes_on(&self, date: NaiveDate) -> DateTime<Utc> {
        date.and_time(self.to).and_utc()
    }

    fn check(&self) -> Result<(), FleetError> {
        validate_code(&self.name, "delivery slot")?;
        if self.name.contains(['/', '@']) || self.name.contains(char::is_whitespace) {
            return Err(FleetError::Invalid(format!(
                "slot name {:?} may not hold '/', '@' or spaces",
                self.name
            )));
        }
        if self.to <= self.from {
            return Err(FleetError::Invalid(format!(
                "slot {} closes at {} before it opens at {}",
                self.name, self.to, self.from
            )));
        }
        Ok(())
    }
}

/// What a route charges: a price per run stop plus a price per pallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FreightRate {
    /// Per consignment.
    pub base: Money,
    /// Per pallet.
    pub per_pallet: Money,
}

/// One of the company's routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Route {
    /// Its id.
    pub id: RouteId,
    /// Where it delivers.
    pub zones: Vec<Zone>,
    /// The weekdays it runs (delivers).
    pub days: Vec<Weekday>,
    /// The windows of a run's day a consignment can be promised.
    pub slots: Vec<DeliverySlot>,
    /// Pallets one run's truck carries.
    pub pallets_per_run: u32,
    /// Kilograms one run's truck carries.
    pub kg_per_run: u32,
    /// Days between booking and the earliest run that can take it (loading,
    /// planning): 1 books tomorrow's run at the earliest.
    pub lead_days: u16,
    /// Its prices.
    pub rate: FreightRate,
}

impl Route {
    /// Whether it delivers to `country` at `postal_code`.
    pub fn serves(&self, country: &str, postal_code: &str) -> bool {
        self.zones.iter().any(|z| z.contains(country, postal_code))
    }

    /// The slot named `name`.
    pub fn slot(&self, name: &str) -> Option<&DeliverySlot> {
        self.slots.iter().find(|s| s.name == name)
    }

    /// The first date a booking made on `today` can go out on: after the lead
    /// time.
    pub fn earliest_run(&self, today: NaiveDate) -> NaiveDate {
        today
            .checked_add_days(Days::new(u64::from(self.lead_days)))
            .unwrap_or(today)
    }

    /// The dates of its next `count` runs on or after `from`.
    pub fn runs_from(&self, from: NaiveDate, count: usize) -> Vec<NaiveDate> {
        let mut dates = Vec::with_capacity(count);
        let mut day = from;
        // A route with days runs at least once a week: seven days per run found.
        for _ in 0..count.saturating_mul(7) {
            if dates.len() == count {
                break;
            }
            if self.days.contains(&day.weekday()) {
                dates.push(day);
            }
            match day.checked_add_days(Days::new(1)) {
                Some(next) => day = next,
                None => break,
            }
        }
        dates
    }

    /// What `consignment` costs on this route.
    ///
    /// # Errors
    /// [`CarrierError::NoService`] on overflow (a price past `Money`'s range).
    pub fn price(&self, carrier: &str, pallets: u32) -> Result<Money, CarrierError> {
        self.rate
            .per_pallet
            .checked_mul_qty(u64::from(pallets))
            .and_then(|p| p.checked_add(self.rate.base))
            .map_err(|e| CarrierError::NoService {
                carrier: carrier.to_owned(),
                reason: format!("route {}: {e}", self.id),
            })
    }

    fn check(&self) -> Result<(), FleetError> {
        let fail = |why: String| Err(FleetError::Invalid(format!("route {}: {why}", self.id)));
        if self.zones.is_empty() {
            return fail("serves no zone".into());
        }
        if self.days.is_empty() {
            return fail("runs on no day".into());
        }
        if self.slots.is_empty() {
            return fail("has no delivery slot".into());
        }
        for slot in &self.slots {
            slot.check()?;
        }
        if self.pallets_per_run == 0 || self.kg_per_run == 0 {
            return fail("a run must carry something".into());
        }
        if self.rate.base.currency() != self.rate.per_pallet.currency() {
            return fail("its rate mixes currencies".into());
        }
        if self.rate.base.is_negative() || self.rate.per_pallet.is_negative() {
            return fail("its rate is negative".into());
        }
        Ok(())
    }
}

/// How goods become pallets: each pallet carries at most `max_kg` and
/// `max_volume_mm3`; a consignment takes as many as the heavier of the two asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PalletRule {
    /// Kilograms per pallet.
    pub max_kg: u32,
    /// Cubic millimetres of goods per pallet.
    pub max_volume_mm3: u64,
}

impl Default for PalletRule {
    /// A Euro pallet (1200 × 800 mm) loaded to 1.65 m and one tonne.
    fn default() -> Self {
        Self {
            max_kg: 1_000,
            max_volume_mm3: 1_200 * 800 * 1_650,
        }
    }
}

/// A freight class by density, as the NMFC's density scale sets it (converted
/// to kg/m³): 50 for the densest goods up to 500 for the lightest. Carriers
/// price by it; the fleet reports it on each booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct FreightClass(u16);

impl FreightClass {
    /// Densities (kg/m³, at least) and their classes, densest first.
    const SCALE: [(u64, u16); 17] = [
        (801, 50),
        (561, 55),
        (481, 60),
        (360, 65),
        (240, 70),
        (216, 77),
        (192, 85),
        (168, 92),
        (144, 100),
        (128, 110),
        (112, 125),
        (96, 150),
        (80, 175),
        (64, 200),
        (48, 250),
        (32, 300),
        (16, 400),
    ];

    /// The class of goods weighing `grams` in `volume_mm3`.
    pub fn of(grams: u64, volume_mm3: u64) -> Self {
        // kg/m³ = g × 10⁶ / mm³; no volume is as dense as can be.
        let density = match volume_mm3 {
            0 => u64::MAX,
            v => u64::try_from(u128::from(grams) * 1_000_000 / u128::from(v)).unwrap_or(u64::MAX),
        };
        let class = Self::SCALE
            .iter()
            .find(|(at_least, _)| density >= *at_least)
            .map_or(500, |(_, class)| *class);
        Self(class)
    }

    /// The class's number (50 to 500).
    pub fn number(self) -> u16 {
        self.0
    }
}

/// Goods loaded as pallets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Consignment {
    /// Pallets it takes.
    pub pallets: u32,
    /// Its weight, in whole kilograms, rounded up.
    pub kg: u32,
    /// Its density class.
    pub class: FreightClass,
}

impl Consignment {
    /// `parcels` loaded by `rule`.
    ///
    /// # Errors
    /// [`CarrierError::NoService`] for nothing to load, or one parcel heavier or
    /// bigger than a pallet takes.
    pub fn of(carrier: &str, parcels: &[Parcel], rule: &PalletRule) -> Result<Self, CarrierError> {
        let refuse = |reason: String| CarrierError::NoService {
            carrier: carrier.to_owned(),
            reason,
        };
        if parcels.is_empty() {
            return Err(refuse("nothing to carry".into()));
        }
        let per_pallet_g = u64::from(rule.max_kg) * 1_000;
        let (mut grams, mut volume) = (0_u64, 0_u64);
        for parcel in parcels {
            let d = parcel.dimensions;
            let size = u64::from(d.length_mm) * u64::from(d.width_mm) * u64::from(d.height_mm);
            if parcel.weight_grams > per_pallet_g || size > rule.max_volume_mm3 {
                return Err(refuse(format!(
                    "a parcel of {} g and {size} mm³ does not fit a pallet of {} kg and {} mm³",
                    parcel.weight_grams, rule.max_kg, rule.max_volume_mm3
                )));
            }
            grams = grams.saturating_add(parcel.weight_grams);
            volume = volume.saturating_add(size);
        }
        let by_weight = grams.div_ceil(per_pallet_g.max(1));
        let by_volume = volume.div_ceil(rule.max_volume_mm3.max(1));
        let pallets = u32::try_from(by_weight.max(by_volume).max(1))
            .map_err(|_| refuse("too many pallets".into()))?;
        let kg = u32::try_from(grams.div_ceil(1_000)).map_err(|_| refuse("too heavy".into()))?;
        Ok(Self {
            pallets,
            kg,
            class: FreightClass::of(grams, volume),
        })
    }
}

/// One route's truck on one date.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Run {
    /// The route.
    pub route: RouteId,
    /// The delivery date.
    pub date: NaiveDate,
}

impl Run {
    /// The bounded counter holding the run's pallets: the truck's pallets as its
    /// limit, pallets booked as what is used (`run_capacity/R1@2026-12-08`).
    ///
    /// # Errors
    /// [`InvalidCode`] never for a route made by [`RouteId::new`] (its id is
    /// short enough for the date beside it); kept typed rather than assumed.
    pub fn capacity_key(&self) -> Result<CounterKey, InvalidCode> {
        CounterKey::new(CounterKind::new(RUN_CAPACITY)?, self.to_string())
    }

    /// The bounded counter holding the run's kilograms, the truck's payload as
    /// its limit (`run_weight/R1@2026-12-08`).
    ///
    /// # Errors
    /// As [`Run::capacity_key`].
    pub fn weight_key(&self) -> Result<CounterKey, InvalidCode> {
        CounterKey::new(CounterKind::new(RUN_WEIGHT)?, self.to_string())
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.route, self.date)
    }
}

/// A bookable service: a run and a slot of its day. Its name, in quotes and
/// bookings, is `ltl/ROUTE/DATE/SLOT` (`ltl/NORTH/2026-12-08/am`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreightService {
    /// The run.
    pub run: Run,
    /// The slot's name.
    pub slot: String,
}

impl FreightService {
    const PREFIX: &'static str = "ltl";

    /// Reads a service name.
    pub fn parse(name: &str) -> Option<Self> {
        let mut parts = name.split('/');
        let (prefix, route, date, slot) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if prefix != Self::PREFIX || parts.next().is_some() {
            return None;
        }
        Self::from_parts(route, date, slot)
    }

    /// The service of `route` on `date` (`YYYY-MM-DD`) in `slot`, from text.
    pub(crate) fn from_parts(route: &str, date: &str, slot: &str) -> Option<Self> {
        Some(Self {
            run: Run {
                route: RouteId::new(route).ok()?,
                date: date.parse().ok()?,
            },
            slot: slot.to_owned(),
        })
    }
}

impl fmt::Display for FreightService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            Self::PREFIX,
            self.run.route,
            self.run.date,
            self.slot
        )
    }
}

/// One run and slot a consignment could go on, with its price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The service.
    pub service: FreightService,
    /// What it costs.
    pub price: Money,
    /// The route's capacity per run, in pallets.
    pub capacity: u32,
}

/// The company's fleet: its routes and how it loads pallets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Fleet {
    routes: Vec<Route>,
    rule: PalletRule,
    /// How many runs of each route a quote offers.
    runs_offered: usize,
}

impl Fleet {
    /// A fleet of `routes`, loading by `rule`, quoting each route's next three runs.
    ///
    /// # Errors
    /// [`FleetError`] for no route, two routes with one id, a route serving no
    /// zone, running on no day, with no slot or a bad one, carrying nothing, or
    /// with a rate in two currencies or below zero.
    pub fn new(routes: Vec<Route>, rule: PalletRule) -> Result<Self, FleetError> {
        if routes.is_empty() {
            return Err(FleetError::Invalid("a fleet needs a route".into()));
        }
        for (i, route) in routes.iter().enumerate() {
            route.check()?;
            if routes.iter().skip(i + 1).any(|other| other.id == route.id) {
                return Err(FleetError::Invalid(format!("route {} twice", route.id)));
            }
        }
        if rule.max_kg == 0 || rule.max_volume_mm3 == 0 {
            return Err(FleetError::Invalid("a pallet must carry something".into()));
        }
        Ok(Self {
            routes,
            rule,
            runs_offered: 3,
        })
    }

    /// Offers `count` runs of each route instead of three (at least one).
    #[must_use]
    pub fn offering_runs(mut self, count: usize) -> Self {
        self.runs_offered = count.max(1);
        self
    }

    /// The route with `id`.
    pub fn route(&self, id: &RouteId) -> Option<&Route> {
        self.routes.iter().find(|r| &r.id == id)
    }

    /// The routes.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// How goods become pallets.
    pub fn rule(&self) -> &PalletRule {
        &self.rule
    }

    /// Every run and slot that could take `parcels` to `country`/`postal_code`,
    /// priced in `currency`, from `today` on (each route's next runs after its
    /// lead time), with the consignment they make; not yet checked against what
    /// is booked.
    ///
    /// # Errors
    /// [`CarrierError::NoService`] when nothing fits a pallet, no route serves
    /// the destination, in the currency, with a truck that can carry the
    /// consignment.
    pub fn offers(
        &self,
        carrier: &str,
        parcels: &[Parcel],
        (country, postal_code): (&str, &str),
        currency: Currency,
        today: NaiveDate,
    ) -> Result<(Consignment, Vec<Offer>), CarrierError> {
        let consignment = Consignment::of(carrier, parcels, &self.rule)?;
        let refuse = |reason: String| CarrierError::NoService {
            carrier: carrier.to_owned(),
            reason,
        };
        let serving: Vec<&Route> = self
            .routes
            .iter()
            .filter(|r| r.serves(country, postal_code))
            .collect();
        if serving.is_empty() {
            return Err(refuse(format!(
                "no route delivers to {country} {postal_code}"
            )));
        }
        let mut offers = Vec::new();
        let mut heaviest = 0;
        for route in serving {
            heaviest = heaviest.max(route.kg_per_run);
            if route.rate.base.currency() != currency
                || consignment.pallets > route.pallets_per_run
                || consignment.kg > route.kg_per_run
            {
                continue;
            }
            let price = route.price(carrier, consignment.pallets)?;
            for date in route.runs_from(route.earliest_run(today), self.runs_offered) {
                for slot in &route.slots {
                    offers.push(Offer {
                        service: FreightService {
                            run: Run {
                                route: route.id.clone(),
                                date,
                            },
                            slot: slot.name.clone(),
                        },
                        price,
                        capacity: route.pallets_per_run,
                    });
                }
            }
        }
        if offers.is_empty() {
            return Err(refuse(format!(
                "{} pallets of {} kg fit no truck serving {country} in {} (the heaviest load carried there is {heaviest} kg)",
                consignment.pallets,
                consignment.kg,
                currency.code()
            )));
        }
        Ok((consignment, offers))
    }
}

#[cfg(test)]
pub(crate) mod tests;
