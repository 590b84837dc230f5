//! Booking bookkeeping shared by the reference carriers: idempotent bookings by key,
//! and the tracking events the carrier's network has produced.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Booking, CarrierError, TrackingEvent, TrackingNumber};

/// foldhash, as the memory store uses: a shipping run books once per shipment,
/// and SipHash on these short keys was most of a booking's cost.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
pub(crate) struct Bookings {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_key: Map<String, Booking>,
    events: Map<TrackingNumber, Vec<TrackingEvent>>,
    cancelled: Vec<TrackingNumber>,
    issued: u64,
}

impl Bookings {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere cannot leave the maps half-updated: every update below is
        // a single insert or push, so the data stays usable after poisoning.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The booking for `key`, made with `make(serial)` the first time only.
    pub(crate) fn book_once(&self, key: &str, make: impl FnOnce(u64) -> Booking) -> Booking {
        let mut inner = self.lock();
        if let Some(existing) = inner.by_key.get(key) {
            return existing.clone();
        }
        inner.issued += 1;
        let booking = make(inner.issued);
        inner.events.insert(booking.tracking.clone(), Vec::new());
        inner.by_key.insert(key.to_owned(), booking.clone());
        booking
    }

    pub(crate) fn push_event(
        &self,
        tracking: &TrackingNumber,
        event: TrackingEvent,
    ) -> Result<(), CarrierError> {
        let mut inner = self.lock();
        let events = inner
            .events
            .get_mut(tracking)
            .ok_or_else(|| CarrierError::UnknownTracking(tracking.clone()))?;
        events.push(event);
        Ok(())
    }

    pub(crate) fn events(
        &self,
        tracking: &TrackingNumber,
    ) -> Result<Vec<TrackingEvent>, CarrierError> {
        self.lock()
            .events
            .get(tracking)
            .cloned()
            .ok_or_else(|| CarrierError::UnknownTracking(tracking.clone()))
    }

    pub(crate) fn cancel(&self, tracking: &TrackingNumber) -> Result<(), CarrierError> {
        let mut inner = self.lock();
        if !inner.events.contains_key(tracking) {
            return Err(CarrierError::UnknownTracking(tracking.clone()));
        }
        if !inner.cancelled.contains(tracking) {
            inner.cancelled.push(tracking.clone());
        }
        Ok(())
    }

    pub(crate) fn is_cancelled(&self, tracking: &TrackingNumber) -> bool {
        self.lock().cancelled.contains(tracking)
    }
}
