//! The own fleet as a [`Carrier`]: quotes from the [`Fleet`]'s routes, bookings
//! kept in the store beside everything else.
//!
//! A run's booked pallets and kilograms are two bounded counters
//! ([`Run::capacity_key`], [`Run::weight_key`]): their limits are the truck's
//! pallets and payload, set once by the run's first booking (a commit keyed by
//! the run, so two first bookings at once set them once), and each booking adds
//! its pallets and kilograms to what is used, under the guard every store keeps
//! inside its commit. So however many callers, processes or application
//! instances book at once, no run is ever booked past its truck; cancelling
//! gives both back. A booking is a keyed commit: booking again with its key
//! returns the first booking whatever the request (the carrier contract; a
//! `ship` retried after a lost race may quote again and land on another run),
//! and cancelling twice is cancelling once.
//!
//! The tracking number names the run, the slot, the pallets and the booking's
//! key (`LTL/NORTH/2026-12-08/am/3/KEY`), so tracking and cancelling read one
//! entry, never a scan.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::carrier::{
    Booking, BookingRequest, Carrier, CarrierError, RateQuote, RateRequest, RequestedService,
    TrackingNumber,
};
use super::fleet::{Consignment, Fleet, FreightClass, FreightService, Route, Run};
use super::{ShipmentStatus, TrackingEvent};
use crate::clock::Clock;
use crate::ids::IdempotencyKey;
use crate::money::Money;
use crate::order::ServiceLevel;
use crate::store::{
    Bounds, Changeset, IdempotencyEntry, IdempotencyScope, IdempotentOutcome, Prefetch, Store,
    StoreError,
};

/// Commits a booking (or a cancel) tries before it gives up on lost races.
const ATTEMPTS: usize = 8;

/// A booking on the own fleet, as the store keeps it (the outcome of its keyed
/// commit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FreightBooking {
    /// Its tracking number.
    pub tracking: TrackingNumber,
    /// The service booked (`ltl/NORTH/2026-12-08/am`).
    pub service: String,
    /// Pallets it takes on the run.
    pub pallets: u32,
    /// Its weight, in kilograms.
    pub kg: u32,
    /// Its density class.
    pub class: FreightClass,
    /// What it costs.
    pub price: Money,
    /// When it was booked.
    pub booked_at: DateTime<Utc>,
}

/// What is booked on a run: pallets and kilograms, each against the truck's.
/// Zero over zero before the run's first booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLoad {
    /// Pallets booked, of the truck's pallets.
    pub pallets: Bounds,
    /// Kilograms booked, of the truck's payload.
    pub kg: Bounds,
}

impl RunLoad {
    /// A run nothing has been booked on, not opened yet.
    pub const EMPTY: RunLoad = RunLoad {
        pallets: Bounds::ZERO,
        kg: Bounds::ZERO,
    };

    /// Whether the run has been opened (its truck's capacity set).
    pub fn is_open(&self) -> bool {
        self.pallets.limit > 0
    }

    /// Whether `consignment` fits what is left, counting a run not opened yet
    /// as the whole of `route`'s truck.
    fn fits(&self, consignment: &Consignment, route: &Route) -> bool {
        let (pallets, kg) = match self.is_open() {
            true => (self.pallets, self.kg),
            false => (
                Bounds {
                    limit: i64::from(route.pallets_per_run),
                    used: 0,
                },
                Bounds {
                    limit: i64::from(route.kg_per_run),
                    used: 0,
                },
            ),
        };
        pallets.limit - pallets.used >= i64::from(consignment.pallets)
            && kg.limit - kg.used >= i64::from(consignment.kg)
    }
}

/// A stable 64-bit hash of `text` (FNV-1a, frozen): of a key too long to keep,
/// and of a booking's tracking number for its entries.
fn fnv1a(text: &str) -> u64 {
    crate::fingerprint::fnv1a(text.as_bytes())
}

/// Whether a commit may simply be tried again: a lost race, or a connection
/// that broke with the outcome unknown (the commit is keyed, so a second try
/// cannot do it twice).
fn retryable(e: &StoreError) -> bool {
    e.is_lost_race() || matches!(e, StoreError::Interrupted(..))
}

/// The company's own trucks as a carrier, booking runs in `store`.
///
/// Give it the same store the [`Oms`](crate::Oms) uses (an `Arc` of it, or a
/// reference), and a clock: quotes offer runs from today on, and a slot already
/// past is refused.
pub struct FleetCarrier<S> {
    name: String,
    fleet: Fleet,
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S: Store> FleetCarrier<S> {
    /// The fleet `fleet`, named `name` in quotes, booking in `store`.
    pub fn new(name: impl Into<String>, fleet: Fleet, store: S, clock: Arc<dyn Clock>) -> Self {
        Self {
            name: name.into(),
            fleet,
            store,
            clock,
        }
    }

    /// The fleet.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// What is booked on `run`.
    ///
    /// # Errors
    /// [`CarrierError::Rejected`] if the store cannot be read.
    pub async fn booked(&self, run: &Run) -> Result<RunLoad, CarrierError> {
        let loads = self.loads(std::slice::from_ref(run)).await?;
        Ok(loads.into_iter().next().unwrap_or(RunLoad::EMPTY))
    }

    /// What is booked on each of `runs`, from one read.
    async fn loads(&self, runs: &[Run]) -> Result<Vec<RunLoad>, CarrierError> {
        let mut keys = Vec::with_capacity(runs.len());
        for run in runs {
            let pallets = run.capacity_key().map_err(|e| self.rejected(e))?;
            let kg = run.weight_key().map_err(|e| self.rejected(e))?;
            keys.push((pallets, kg));
        }
        let asked = keys.iter().fold(Prefetch::new(), |r, (pallets, kg)| {
            r.counter(pallets).counter(kg)
        });
        let fetched = self
            .store
            .fetch(&asked)
            .await
            .map_err(|e| self.rejected(e))?;
        let read = |key| fetched.counter(key).unwrap_or(Bounds::ZERO);
        Ok(keys
            .iter()
            .map(|(pallets, kg)| RunLoad {
                pallets: read(pallets),
                kg: read(kg),
            })
            .collect())
    }

    fn rejected(&self, why: impl std::fmt::Display) -> CarrierError {
        CarrierError::Rejected {
            carrier: self.name.clone(),
            reason: why.to_string(),
        }
    }

    fn no_service(&self, why: impl std::fmt::Display) -> CarrierError {
        CarrierError::NoService {
            carrier: self.name.clone(),
            reason: why.to_string(),
        }
    }

    /// The key a booking is kept under: the request's own key when it is a
    /// valid idempotency key, else a digest of it (a key past 64 characters).
    fn booking_key(&self, key: &str) -> Result<IdempotencyKey, CarrierError> {
        IdempotencyKey::new(key)
            .or_else(|_| IdempotencyKey::new(format!("digest-{:016x}", fnv1a(key))))
            .map_err(|e| self.rejected(e))
    }

    /// Sets `run`'s truck (pallets and kilograms), once: a second opening
    /// (another booker's, at the same moment) is a used key and changes nothing.
    async fn open(&self, run: &Run, route: &Route) -> Result<(), StoreError> {
        let invalid = |e: crate::ids::InvalidCode| StoreError::Invalid {
            reason: e.to_string(),
        };
        let opening = IdempotencyKey::new(run.to_string()).map_err(invalid)?;
        let mut changes = Changeset::new(self.clock.now());
        changes.move_counter(
            run.capacity_key().map_err(invalid)?,
            i64::from(route.pallets_per_run),
            0,
        );
        changes.move_counter(
            run.weight_key().map_err(invalid)?,
            i64::from(route.kg_per_run),
            0,
        );
        changes.idempotency = Some(IdempotencyEntry {
            scope: IdempotencyScope::OpenFreightRun,
            key: opening,
            fingerprint: fnv1a(&run.to_string()),
            fingerprint_version: crate::fingerprint::CURRENT_VERSION,
            outcome: IdempotentOutcome::FreightRunOpened {
                pallets: route.pallets_per_run,
                kg: route.kg_per_run,
            },
        });
        match self.store.commit(changes).await {
            Ok(_) | Err(StoreError::DuplicateKey { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The cancellation of the booking under `key`, if it was cancelled.
    async fn cancelled(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotencyEntry>, CarrierError> {
        self.store
            .idempotency(IdempotencyScope::CancelFreight, key)
            .await
            .map_err(|e| self.rejected(e))
    }

    /// The booking stored under `key`, if any.
    async fn stored(&self, key: &IdempotencyKey) -> Result<Option<FreightBooking>, CarrierError> {
        let entry = self
            .store
            .idempotency(IdempotencyScope::BookFreight, key)
            .await
            .map_err(|e| self.rejected(e))?;
        match entry.map(|e| e.outcome) {
            None => Ok(None),
            Some(IdempotentOutcome::FreightBooking(booking)) => Ok(Some(booking)),
            Some(other) => Err(self.rejected(format!(
                "booking key {key} holds {other:?}, not a freight booking"
            ))),
        }
    }

    fn answer(&self, booking: FreightBooking) -> Booking {
        Booking {
            label: format!(
                "{} · {} pallets, {} kg, class {}",
                booking.service,
                booking.pallets,
                booking.kg,
                booking.class.number()
            ),
            tracking: booking.tracking,
            price: booking.price,
        }
    }

    /// The booking a tracking number names, with its key and run.
    async fn tracked(
        &self,
        tracking: &TrackingNumber,
    ) -> Result<(IdempotencyKey, Run, FreightBooking), CarrierError> {
        let unknown = || CarrierError::UnknownTracking(tracking.clone());
        let parsed = Tracking::parse(tracking.as_str()).ok_or_else(unknown)?;
        let booking = self.stored(&parsed.key).await?.ok_or_else(unknown)?;
        if &booking.tracking != tracking {
            return Err(unknown());
        }
        Ok((parsed.key, parsed.service.run, booking))
    }

    /// The route and slot `request` books, checked against the request and the
    /// clock: the fleet's, serving the destination in the currency, on a day
    /// the route runs, after its lead time, in a slot not yet closed.
    fn checked<'f>(
        &'f self,
        request: &BookingRequest,
        service: &FreightService,
    ) -> Result<&'f Route, CarrierError> {
        let route = self
            .fleet
            .route(&service.run.route)
            .ok_or_else(|| self.rejected(format!("no route {} in the fleet", service.run.route)))?;
        let slot = route.slot(&service.slot).ok_or_else(|| {
            self.rejected(format!("route {} has no slot {}", route.id, service.slot))
        })?;
        let destination = &request.request.destination;
        if !route.serves(&destination.country, &destination.postal_code) {
            return Err(self.rejected(format!(
                "route {} does not deliver to {} {}",
                route.id, destination.country, destination.postal_code
            )));
        }
        if route.rate.base.currency() != request.request.currency {
            return Err(self.rejected(format!(
                "route {} charges in {}, not {}",
                route.id,
                route.rate.base.currency().code(),
                request.request.currency.code()
            )));
        }
        let date = service.run.date;
        if !route.days.contains(&chrono::Datelike::weekday(&date)) {
            return Err(self.rejected(format!("route {} does not run on {date}", route.id)));
        }
        let now = self.clock.now();
        if slot.closes_on(date) <= now || date < route.earliest_run(now.date_naive()) {
            return Err(self.rejected(format!(
                "slot {} of {date} is past or inside route {}'s lead time of {} days (now {now})",
                slot.name, route.id, route.lead_days
            )));
        }
        Ok(route)
    }
}

/// What a tracking number names: `LTL/ROUTE/DATE/SLOT/PALLETS/KEY`.
struct Tracking {
    service: FreightService,
    key: IdempotencyKey,
}

impl Tracking {
    fn number(service: &FreightService, pallets: u32, key: &IdempotencyKey) -> TrackingNumber {
        let run = &service.run;
        TrackingNumber::new(format!(
            "LTL/{}/{}/{}/{pallets}/{key}",
            run.route, run.date, service.slot
        ))
    }

    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(6, '/');
        let (prefix, route, date, slot) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let (pallets, key) = (parts.next()?, parts.next()?);
        if prefix != "LTL" || pallets.parse::<u32>().is_err() {
            return None;
        }
        Some(Self {
            service: FreightService::from_parts(route, date, slot)?,
            key: IdempotencyKey::new(key).ok()?,
        })
    }
}

impl<S: Store> Carrier for FleetCarrier<S> {
    fn name(&self) -> &str {
        &self.name
    }

    /// Every run and slot of the routes serving the destination, from today
    /// plus each route's lead time, that still has room for the consignment's
    /// pallets and kilograms.
    async fn quote(&self, request: &RateRequest) -> Result<Vec<RateQuote>, CarrierError> {
        if request.service != RequestedService::Delivery(ServiceLevel::Freight) {
            return Err(self.no_service("the fleet carries freight (pallets) only"));
        }
        let today = self.clock.now().date_naive();
        let destination = &request.destination;
        let (consignment, offers) = self.fleet.offers(
            &self.name,
            &request.parcels,
            (&destination.country, &destination.postal_code),
            request.currency,
            today,
        )?;
        let runs: Vec<Run> = offers.iter().map(|o| o.service.run.clone()).collect();
        let loads = self.loads(&runs).await?;
        let mut quotes = Vec::with_capacity(offers.len());
        let now = self.clock.now();
        for (offer, load) in offers.into_iter().zip(loads) {
            let Some(route) = self.fleet.route(&offer.service.run.route) else {
                continue;
            };
            // A slot that has closed (today's, on a route with no lead time) is
            // not offered: `book` would refuse it.
            let closed = route
                .slot(&offer.service.slot)
                .is_none_or(|slot| slot.closes_on(offer.service.run.date) <= now);
            if closed || !load.fits(&consignment, route) {
                continue;
            }
            let days = (offer.service.run.date - today).num_days();
            quotes.push(RateQuote {
                carrier: self.name.clone(),
                service: offer.service.to_string(),
                price: offer.price,
                transit_days: u16::try_from(days).unwrap_or(u16::MAX),
            });
        }
        if quotes.is_empty() {
            return Err(self.no_service(format!(
                "every run offered is full for {} pallets of {} kg",
                consignment.pallets, consignment.kg
            )));
        }
        Ok(quotes)
    }

    /// Books the quoted run and slot: the pallets and kilograms counted against
    /// the run's truck in one keyed commit. A key already used returns its
    /// booking. Refused, with nothing written, for a service that is not the
    /// fleet's or does not serve the request, a slot already past, a
    /// consignment the route's truck cannot carry, or a run without room for it.
    async fn book(&self, request: &BookingRequest) -> Result<Booking, CarrierError> {
        let key = self.booking_key(&request.key)?;
        if let Some(booking) = self.stored(&key).await? {
            // A cancelled booking is not handed back as if it still held its run.
            if self.cancelled(&key).await?.is_some() {
                return Err(self.rejected(format!(
                    "booking {} under key {} was cancelled",
                    booking.tracking, request.key
                )));
            }
            return Ok(self.answer(booking));
        }
        let service = FreightService::parse(&request.quote.service)
            .filter(|_| request.quote.carrier == self.name)
            .ok_or_else(|| {
                self.rejected(format!(
                    "{} {} is not one of this fleet's services",
                    request.quote.carrier, request.quote.service
                ))
            })?;
        let route = self.checked(request, &service)?;
        let consignment = Consignment::of(&self.name, &request.request.parcels, self.fleet.rule())?;
        if consignment.kg > route.kg_per_run || consignment.pallets > route.pallets_per_run {
            return Err(self.no_service(format!(
                "{} pallets of {} kg are more than route {}'s truck carries ({} pallets, {} kg)",
                consignment.pallets,
                consignment.kg,
                route.id,
                route.pallets_per_run,
                route.kg_per_run
            )));
        }
        let price = route.price(&self.name, consignment.pallets)?;
        let run = &service.run;
        let pallets_key = run.capacity_key().map_err(|e| self.rejected(e))?;
        let kg_key = run.weight_key().map_err(|e| self.rejected(e))?;
        let now = self.clock.now();
        let tracking = Tracking::number(&service, consignment.pallets, &key);
        let booking = FreightBooking {
            tracking: tracking.clone(),
            service: service.to_string(),
            pallets: consignment.pallets,
            kg: consignment.kg,
            class: consignment.class,
            price,
            booked_at: now,
        };
        // Booked straight away: a run already open (the usual case) costs no
        // read first. A run not opened yet has no room, so its first booking
        // finds out, opens it, and tries again.
        for _ in 0..ATTEMPTS {
            let mut changes = Changeset::new(now);
            changes.move_counter(pallets_key.clone(), 0, i64::from(consignment.pallets));
            changes.move_counter(kg_key.clone(), 0, i64::from(consignment.kg));
            changes.idempotency = Some(IdempotencyEntry {
                scope: IdempotencyScope::BookFreight,
                key: key.clone(),
                fingerprint: fnv1a(tracking.as_str()),
                fingerprint_version: crate::fingerprint::CURRENT_VERSION,
                outcome: IdempotentOutcome::FreightBooking(booking.clone()),
            });
            match self.store.commit(changes).await {
                Ok(_) => return Ok(self.answer(booking)),
                Err(StoreError::OutOfBounds { .. }) => {
                    let load = self.booked(run).await?;
                    if !load.is_open() {
                        match self.open(run, route).await {
                            Ok(()) => {}
                            Err(e) if retryable(&e) => {}
                            Err(e) => return Err(self.rejected(e)),
                        }
                    } else if !load.fits(&consignment, route) {
                        return Err(self.no_service(format!(
                            "run {run} has no room left for {} pallets of {} kg",
                            consignment.pallets, consignment.kg
                        )));
                    }
                    // Opened, or freed, since the commit was refused: try again.
                }
                // The same key booked at the same moment: that booking is this one.
                Err(StoreError::DuplicateKey { .. }) => {
                    if let Some(first) = self.stored(&key).await? {
                        return Ok(self.answer(first));
                    }
                }
                Err(e) if retryable(&e) => {}
                Err(e) => return Err(self.rejected(e)),
            }
        }
        // Outcome unknown (the last try may have committed): a retry with the
        // same key finds the booking if it did.
        Err(CarrierError::Timeout {
            carrier: self.name.clone(),
        })
    }

    /// The booking, and its cancellation if it was cancelled. Deliveries by the
    /// company's drivers are the host's to record (`record_tracking`).
    async fn track(&self, tracking: &TrackingNumber) -> Result<Vec<TrackingEvent>, CarrierError> {
        let (key, run, booking) = self.tracked(tracking).await?;
        let pallets = booking.pallets;
        let booked_at = booking.booked_at;
        let mut events = vec![TrackingEvent {
            at: booked_at,
            status: ShipmentStatus::Booked,
            description: format!("booked on run {run}: {}", self.answer(booking).label),
        }];
        if let Some(entry) = self.cancelled(&key).await? {
            let at = match entry.outcome {
                IdempotentOutcome::FreightCancelled(at) => at,
                _ => booked_at,
            };
            events.push(TrackingEvent {
                at,
                status: ShipmentStatus::Exception,
                description: format!("booking cancelled: {pallets} pallets freed on run {run}"),
            });
        }
        Ok(events)
    }

    /// Gives the booking's pallets and kilograms back to its run, once.
    async fn cancel(&self, tracking: &TrackingNumber) -> Result<(), CarrierError> {
        let (key, run, booking) = self.tracked(tracking).await?;
        let pallets_key = run.capacity_key().map_err(|e| self.rejected(e))?;
        let kg_key = run.weight_key().map_err(|e| self.rejected(e))?;
        for _ in 0..ATTEMPTS {
            let now = self.clock.now();
            let mut changes = Changeset::new(now);
            changes.move_counter(pallets_key.clone(), 0, -i64::from(booking.pallets));
            changes.move_counter(kg_key.clone(), 0, -i64::from(booking.kg));
            changes.idempotency = Some(IdempotencyEntry {
                scope: IdempotencyScope::CancelFreight,
                key: key.clone(),
                fingerprint: fnv1a(tracking.as_str()),
                fingerprint_version: crate::fingerprint::CURRENT_VERSION,
                outcome: IdempotentOutcome::FreightCancelled(now),
            });
            match self.store.commit(changes).await {
                Ok(_) | Err(StoreError::DuplicateKey { .. }) => return Ok(()),
                Err(e) if retryable(&e) => {}
                Err(e) => return Err(self.rejected(e)),
            }
        }
        Err(CarrierError::Timeout {
            carrier: self.name.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
