//! The own fleet as a [`Carrier`]: quotes from the [`Fleet`]'s routes, bookings
//! kept in the store beside everything else.
//!
//! A run's booked pallets are a bounded counter ([`Run::capacity_key`]): its
//! limit is the truck's capacity, set once by the run's first booking (a commit
//! keyed by the run, so two first bookings at once set it once), and each
//! booking adds its pallets to what is used, under the guard every store keeps
//! inside its commit. So however many callers, processes or application
//! instances book at once, no run is ever booked past its truck; cancelling
//! gives the pallets back. A booking is a keyed commit: booking again with its
//! key returns it, and cancelling twice is cancelling once.
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
use super::fleet::{Consignment, Fleet, FreightClass, FreightService, Run};
use super::{ShipmentStatus, TrackingEvent};
use crate::clock::Clock;
use crate::ids::IdempotencyKey;
use crate::money::Money;
use crate::order::ServiceLevel;
use crate::store::{
    Bounds, Changeset, IdempotencyEntry, IdempotencyScope, IdempotentOutcome, Prefetch, Store,
    StoreError,
};

/// Commits a booking tries before it gives up on lost races.
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
    /// A fingerprint of the request, so a key used for another booking is told
    /// apart from a retry.
    pub request: u64,
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

    /// What is booked on `run` against its capacity: zero over zero before its
    /// first booking.
    ///
    /// # Errors
    /// [`CarrierError::Rejected`] if the store cannot be read.
    pub async fn booked(&self, run: &Run) -> Result<Bounds, CarrierError> {
        let key = run.capacity_key().map_err(|e| self.rejected(e))?;
        let fetched = self
            .store
            .fetch(&Prefetch::new().counter(&key))
            .await
            .map_err(|e| self.rejected(e))?;
        Ok(fetched.counter(&key).unwrap_or(Bounds::ZERO))
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

    /// Sets `run`'s capacity, once: a second opening (another booker's, at the
    /// same moment) is a used key, and changes nothing.
    async fn open(&self, run: &Run, capacity: u32) -> Result<(), CarrierError> {
        let key = run.capacity_key().map_err(|e| self.rejected(e))?;
        let opening = IdempotencyKey::new(run.to_string()).map_err(|e| self.rejected(e))?;
        let mut changes = Changeset::new(self.clock.now());
        changes.move_counter(key, i64::from(capacity), 0);
        changes.idempotency = Some(IdempotencyEntry {
            scope: IdempotencyScope::OpenFreightRun,
            key: opening,
            fingerprint: u64::from(capacity),
            fingerprint_version: crate::fingerprint::CURRENT_VERSION,
            outcome: IdempotentOutcome::FreightRunOpened(capacity),
        });
        match self.store.commit(changes).await {
            Ok(_) | Err(StoreError::DuplicateKey { .. }) => Ok(()),
            Err(e) => Err(self.rejected(e)),
        }
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
            service: FreightService::parse(&format!("ltl/{route}/{date}/{slot}"))?,
            key: IdempotencyKey::new(key).ok()?,
        })
    }
}

/// The key a booking is kept under: the request's own key when it is a valid
/// idempotency key, else a digest of it (a key past 64 characters).
fn booking_key(key: &str) -> Result<IdempotencyKey, CarrierError> {
    if let Ok(valid) = IdempotencyKey::new(key) {
        return Ok(valid);
    }
    let digest = crate::fingerprint::fingerprint(&key)
        .map(|f| f.value())
        .map_err(|e| CarrierError::Rejected {
            carrier: "fleet".into(),
            reason: e.to_string(),
        })?;
    IdempotencyKey::new(format!("digest-{digest:016x}")).map_err(|e| CarrierError::Rejected {
        carrier: "fleet".into(),
        reason: e.to_string(),
    })
}

impl<S: Store> Carrier for FleetCarrier<S> {
    fn name(&self) -> &str {
        &self.name
    }

    /// Every run and slot of the routes serving the destination, from today
    /// plus each route's lead time, that still has room for the consignment.
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
        let keys = offers
            .iter()
            .map(|o| o.service.run.capacity_key())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.rejected(e))?;
        let asked = keys.iter().fold(Prefetch::new(), |r, key| r.counter(key));
        let fetched = self
            .store
            .fetch(&asked)
            .await
            .map_err(|e| self.rejected(e))?;
        let mut quotes = Vec::with_capacity(offers.len());
        for (offer, key) in offers.into_iter().zip(&keys) {
            let booked = fetched.counter(key).unwrap_or(Bounds::ZERO);
            // A run not opened yet has the whole truck free.
            let capacity = match booked.limit {
                0 => i64::from(offer.capacity),
                limit => limit,
            };
            if capacity - booked.used < i64::from(consignment.pallets) {
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
                "every run offered is full for {} pallets",
                consignment.pallets
            )));
        }
        Ok(quotes)
    }

    /// Books the quoted run and slot: the pallets counted against the run's
    /// truck in one keyed commit. Refused, with nothing written, for a service
    /// that is not the fleet's, a slot already past, a consignment the route's
    /// truck cannot carry, or a run without room for it.
    async fn book(&self, request: &BookingRequest) -> Result<Booking, CarrierError> {
        let key = booking_key(&request.key)?;
        let fingerprint = crate::fingerprint::fingerprint(request)
            .map(|f| f.value())
            .map_err(|e| self.rejected(e))?;
        if let Some(booking) = self.stored(&key).await? {
            return match booking.request == fingerprint {
                true => Ok(self.answer(booking)),
                false => Err(self.rejected(format!(
                    "booking key {} was used for another booking",
                    request.key
                ))),
            };
        }
        let service = FreightService::parse(&request.quote.service)
            .filter(|_| request.quote.carrier == self.name)
            .ok_or_else(|| {
                self.rejected(format!(
                    "{} {} is not one of this fleet's services",
                    request.quote.carrier, request.quote.service
                ))
            })?;
        let route = self
            .fleet
            .route(&service.run.route)
            .ok_or_else(|| self.rejected(format!("no route {} in the fleet", service.run.route)))?;
        let slot = route.slot(&service.slot).ok_or_else(|| {
            self.rejected(format!("route {} has no slot {}", route.id, service.slot))
        })?;
        let now = self.clock.now();
        let closes = service.run.date.and_time(slot.to).and_utc();
        if closes <= now {
            return Err(self.rejected(format!(
                "slot {} of {} closed at {closes}, before now ({now})",
                slot.name, service.run.date
            )));
        }
        if !route
            .days
            .contains(&chrono::Datelike::weekday(&service.run.date))
        {
            return Err(self.rejected(format!(
                "route {} does not run on {}",
                route.id, service.run.date
            )));
        }
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
        let counter = service.run.capacity_key().map_err(|e| self.rejected(e))?;
        let booking = FreightBooking {
            tracking: Tracking::number(&service, consignment.pallets, &key),
            service: service.to_string(),
            pallets: consignment.pallets,
            kg: consignment.kg,
            class: consignment.class,
            price,
            booked_at: now,
            request: fingerprint,
        };
        for _ in 0..ATTEMPTS {
            if self.booked(&service.run).await?.limit == 0 {
                self.open(&service.run, route.pallets_per_run).await?;
            }
            let mut changes = Changeset::new(now);
            changes.move_counter(counter.clone(), 0, i64::from(consignment.pallets));
            changes.idempotency = Some(IdempotencyEntry {
                scope: IdempotencyScope::BookFreight,
                key: key.clone(),
                fingerprint,
                fingerprint_version: crate::fingerprint::CURRENT_VERSION,
                outcome: IdempotentOutcome::FreightBooking(booking.clone()),
            });
            match self.store.commit(changes).await {
                Ok(_) => return Ok(self.answer(booking)),
                Err(StoreError::OutOfBounds { .. }) => {
                    return Err(self.no_service(format!(
                        "run {} has no room left for {} pallets",
                        service.run, consignment.pallets
                    )));
                }
                // The same key booked at the same moment: that booking is this one.
                Err(StoreError::DuplicateKey { .. }) => {
                    if let Some(first) = self.stored(&key).await? {
                        return Ok(self.answer(first));
                    }
                }
                Err(e) if e.is_lost_race() || matches!(e, StoreError::Interrupted(..)) => {}
                Err(e) => return Err(self.rejected(e)),
            }
        }
        Err(CarrierError::Timeout {
            carrier: self.name.clone(),
        })
    }

    /// The booking, and its cancellation if it was cancelled. Deliveries by the
    /// company's drivers are the host's to record (`record_tracking`).
    async fn track(&self, tracking: &TrackingNumber) -> Result<Vec<TrackingEvent>, CarrierError> {
        let (key, run, booking) = self.tracked(tracking).await?;
        let mut events = vec![TrackingEvent {
            at: booking.booked_at,
            status: ShipmentStatus::Booked,
            description: format!(
                "booked on run {run}: {}",
                self.answer(booking.clone()).label
            ),
        }];
        let cancelled = self
            .store
            .idempotency(IdempotencyScope::CancelFreight, &key)
            .await
            .map_err(|e| self.rejected(e))?;
        if cancelled.is_some() {
            events.push(TrackingEvent {
                at: booking.booked_at,
                status: ShipmentStatus::Exception,
                description: format!(
                    "booking cancelled: {} pallets freed on run {run}",
                    booking.pallets
                ),
            });
        }
        Ok(events)
    }

    /// Gives the booking's pallets back to its run, once.
    async fn cancel(&self, tracking: &TrackingNumber) -> Result<(), CarrierError> {
        let (key, run, booking) = self.tracked(tracking).await?;
        let counter = run.capacity_key().map_err(|e| self.rejected(e))?;
        for _ in 0..ATTEMPTS {
            let mut changes = Changeset::new(self.clock.now());
            changes.move_counter(counter.clone(), 0, -i64::from(booking.pallets));
            changes.idempotency = Some(IdempotencyEntry {
                scope: IdempotencyScope::CancelFreight,
                key: key.clone(),
                fingerprint: booking.request,
                fingerprint_version: crate::fingerprint::CURRENT_VERSION,
                outcome: IdempotentOutcome::FreightCancelled,
            });
            match self.store.commit(changes).await {
                Ok(_) | Err(StoreError::DuplicateKey { .. }) => return Ok(()),
                Err(e) if e.is_lost_race() || matches!(e, StoreError::Interrupted(..)) => {}
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
