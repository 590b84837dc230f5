//! Carriers that time out, lose booking replies, and report tracking twice or out of
//! order. The carriers themselves (and what they remember) outlive any crash of ours.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use o2c::fulfilment::{
    Booking, BookingRequest, Carrier, CarrierError, PickupCarrier, RateQuote, RateRequest,
    TableRateCarrier, TrackingEvent, TrackingNumber,
};

use crate::common::parcel_carrier;
use crate::plan::{Fault, Plan};

/// Out of 100 calls of each kind.
const QUOTE_TIMEOUT: u64 = 4;
const BOOK_TIMEOUT: u64 = 4;
const BOOK_REPLY_LOST: u64 = 5;
const TRACK_TIMEOUT: u64 = 5;
const TRACK_DUPLICATES: u64 = 20;
const TRACK_OUT_OF_ORDER: u64 = 20;
const CANCEL_TIMEOUT: u64 = 10;

/// The outside world's carriers: the parcel 3PL and the pickup desk, and which of
/// their bookings we cancelled.
#[derive(Debug)]
pub struct Carriers {
    pub parcel: TableRateCarrier,
    pub pickup: PickupCarrier,
    cancelled: Mutex<BTreeSet<TrackingNumber>>,
}

impl Carriers {
    pub fn new() -> Self {
        Self {
            parcel: parcel_carrier(),
            pickup: PickupCarrier::new(),
            cancelled: Mutex::new(BTreeSet::new()),
        }
    }

    /// True if we told the carrier to void this booking (and did not book it again).
    pub fn is_cancelled(&self, tracking: &TrackingNumber) -> bool {
        self.cancelled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(tracking)
    }

    /// Quotes from both, as the library's carrier pair does.
    async fn quote(&self, request: &RateRequest) -> Result<Vec<RateQuote>, CarrierError> {
        match (
            self.parcel.quote(request).await,
            self.pickup.quote(request).await,
        ) {
            (Ok(mut a), Ok(b)) => {
                a.extend(b);
                Ok(a)
            }
            (Ok(a), Err(_)) | (Err(_), Ok(a)) => Ok(a),
            (Err(e), Err(_)) => Err(e),
        }
    }

    async fn book(&self, request: &BookingRequest) -> Result<Booking, CarrierError> {
        if request.quote.carrier == self.parcel.name() {
            self.parcel.book(request).await
        } else {
            self.pickup.book(request).await
        }
    }

    async fn track(&self, tracking: &TrackingNumber) -> Result<Vec<TrackingEvent>, CarrierError> {
        match self.parcel.track(tracking).await {
            Err(CarrierError::UnknownTracking(_)) => self.pickup.track(tracking).await,
            other => other,
        }
    }

    async fn cancel(&self, tracking: &TrackingNumber) -> Result<(), CarrierError> {
        match self.parcel.cancel(tracking).await {
            Err(CarrierError::UnknownTracking(_)) => self.pickup.cancel(tracking).await,
            other => other,
        }
    }

    fn note_cancellation(&self, tracking: &TrackingNumber) {
        self.cancelled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tracking.clone());
    }
}

/// The `Carrier` the service talks to: the pair, behind a faulty network.
pub struct FaultyCarrier {
    pub carriers: Arc<Carriers>,
    pub plan: Arc<Plan>,
}

impl FaultyCarrier {
    fn timeout(&self) -> CarrierError {
        CarrierError::Timeout {
            carrier: self.name().to_owned(),
        }
    }

    fn roll(&self, site: &str, fault: Fault, percent: u64) -> bool {
        self.plan
            .fault(site, |r| r.chance(percent).then_some(fault))
            .is_some()
    }

    async fn book_for_real(&self, request: &BookingRequest) -> Result<Booking, CarrierError> {
        self.carriers.book(request).await
    }
}

impl Carrier for FaultyCarrier {
    fn name(&self) -> &str {
        self.carriers.parcel.name()
    }

    async fn quote(&self, request: &RateRequest) -> Result<Vec<RateQuote>, CarrierError> {
        if self.roll("quote", Fault::QuoteTimeout, QUOTE_TIMEOUT) {
            return Err(self.timeout());
        }
        self.carriers.quote(request).await
    }

    async fn book(&self, request: &BookingRequest) -> Result<Booking, CarrierError> {
        if self.roll("book", Fault::BookTimeout, BOOK_TIMEOUT) {
            return Err(self.timeout());
        }
        let booking = self.book_for_real(request).await?;
        if self.roll("book", Fault::BookReplyLost, BOOK_REPLY_LOST) {
            return Err(self.timeout());
        }
        Ok(booking)
    }

    async fn track(&self, tracking: &TrackingNumber) -> Result<Vec<TrackingEvent>, CarrierError> {
        if self.roll("track", Fault::TrackTimeout, TRACK_TIMEOUT) {
            return Err(self.timeout());
        }
        let mut events = self.carriers.track(tracking).await?;
        if self.roll("track", Fault::TrackDuplicates, TRACK_DUPLICATES) {
            events.extend(events.clone());
        }
        if self.roll("track", Fault::TrackOutOfOrder, TRACK_OUT_OF_ORDER) {
            events.reverse();
        }
        Ok(events)
    }

    async fn cancel(&self, tracking: &TrackingNumber) -> Result<(), CarrierError> {
        if self.roll("cancel", Fault::CancelTimeout, CANCEL_TIMEOUT) {
            return Err(self.timeout());
        }
        self.carriers.cancel(tracking).await?;
        self.carriers.note_cancellation(tracking);
        self.plan
            .note(format!("    carrier voided booking {tracking}"));
        Ok(())
    }
}
