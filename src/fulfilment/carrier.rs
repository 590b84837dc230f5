//! The carrier port.

use crate::error::ErrorKind;
use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};

use super::TrackingEvent;
use crate::catalog::Dimensions;
use crate::customer::Address;
use crate::ids::ShipmentId;
use crate::money::{Currency, Money};
use crate::order::ServiceLevel;

/// A carrier's tracking number (or pickup code).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct TrackingNumber(String);

impl TrackingNumber {
    /// Wraps a carrier's tracking number.
    pub fn new(number: impl Into<String>) -> Self {
        Self(number.into())
    }
    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Parcel {
    /// Weight in grams.
    pub weight_grams: u64,
    /// Outer size.
    pub dimensions: Dimensions,
}

/// What the customer asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestedService {
    /// Carried to the customer's address.
    #[serde(alias = "Delivery")]
    Delivery(ServiceLevel),
    /// Collected by the customer at the origin location.
    #[serde(alias = "Pickup")]
    Pickup,
}

/// A request for prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RateRequest {
    /// Where goods leave from.
    pub origin: Address,
    /// Where they go (the origin again, for pickup).
    pub destination: Address,
    /// The packages.
    pub parcels: Vec<Parcel>,
    /// The service wanted.
    pub service: RequestedService,
    /// The currency prices must be in.
    pub currency: Currency,
}

/// A carrier's offer for one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RateQuote {
    /// The carrier's name (as [`Carrier::name`]).
    pub carrier: String,
    /// The carrier's service name (`"parcel-standard"`).
    pub service: String,
    /// Price for the whole request.
    pub price: Money,
    /// Promised days in transit.
    pub transit_days: u16,
}

/// A request to book a quoted service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BookingRequest {
    /// Idempotency key: booking twice with one key returns the first booking.
    pub key: String,
    /// Our shipment.
    pub shipment: ShipmentId,
    /// The accepted quote.
    pub quote: RateQuote,
    /// The rate request the quote answered.
    pub request: RateRequest,
}

/// A confirmed booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Booking {
    /// Tracking number or pickup code.
    pub tracking: TrackingNumber,
    /// Label data or URL.
    pub label: String,
    /// What the carrier will charge.
    pub price: Money,
}

/// Why a carrier call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CarrierError {
    /// The carrier did not answer in time; the call may or may not have taken effect,
    /// so retry with the same key.
    #[error("carrier {carrier} timed out")]
    Timeout {
        /// The carrier.
        carrier: String,
    },
    /// No offered service fits (destination, weight, service level).
    #[error("carrier {carrier} offers no service for this request: {reason}")]
    NoService {
        /// The carrier.
        carrier: String,
        /// Why.
        reason: String,
    },
    /// The carrier refused the call.
    #[error("carrier {carrier} rejected the request: {reason}")]
    Rejected {
        /// The carrier.
        carrier: String,
        /// Why.
        reason: String,
    },
    /// The tracking number is not one of this carrier's.
    #[error("unknown tracking number {0}")]
    UnknownTracking(TrackingNumber),
}

impl CarrierError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            CarrierError::Timeout { .. } => "carrier.timeout",
            CarrierError::NoService { .. } => "carrier.no_service",
            CarrierError::Rejected { .. } => "carrier.rejected",
            CarrierError::UnknownTracking(..) => "carrier.unknown_tracking",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            CarrierError::Timeout { .. } => ErrorKind::Unavailable,
            CarrierError::NoService { .. } => ErrorKind::Refused,
            CarrierError::Rejected { .. } => ErrorKind::Refused,
            CarrierError::UnknownTracking(..) => ErrorKind::Internal,
        }
    }
}

/// A way of moving goods: a parcel 3PL, an LTL freight line, in-store pickup.
///
/// # Contract
/// - `quote` has no side effects and may return several services, or
///   [`CarrierError::NoService`] when it can carry nothing of the request.
/// - `book` is **idempotent by [`BookingRequest::key`]**: a second call with the same
///   key returns the first booking, never a second one. The service relies on this:
///   it books, then commits; if the commit fails, the retry books again with the same
///   key and gets the same tracking number.
/// - `track` returns every event known for the number; events may repeat between
///   calls and may arrive out of time order.
/// - `cancel` voids an unshipped booking; cancelling twice succeeds.
/// - All methods are `Send` futures so an `Oms` can be shared across a multi-threaded
///   runtime; implementations must not hold locks across `.await`.
pub trait Carrier: Send + Sync {
    /// The carrier's name, as quotes carry it.
    fn name(&self) -> &str;

    /// Prices the request.
    ///
    /// # Errors
    /// [`CarrierError`] as the contract says.
    fn quote(
        &self,
        request: &RateRequest,
    ) -> impl Future<Output = Result<Vec<RateQuote>, CarrierError>> + Send;

    /// Books a quoted service.
    ///
    /// # Errors
    /// [`CarrierError`] as the contract says.
    fn book(
        &self,
        request: &BookingRequest,
    ) -> impl Future<Output = Result<Booking, CarrierError>> + Send;

    /// Reads tracking events.
    ///
    /// # Errors
    /// [`CarrierError::UnknownTracking`] for a number the carrier never issued.
    fn track(
        &self,
        tracking: &TrackingNumber,
    ) -> impl Future<Output = Result<Vec<TrackingEvent>, CarrierError>> + Send;

    /// Cancels a booking.
    ///
    /// # Errors
    /// [`CarrierError`] as the contract says.
    fn cancel(
        &self,
        tracking: &TrackingNumber,
    ) -> impl Future<Output = Result<(), CarrierError>> + Send;
}

/// Two carriers as one: quotes from both, bookings routed by the quote's carrier name,
/// tracking routed to whichever issued the number. Nest pairs for more carriers.
impl<A: Carrier, B: Carrier> Carrier for (A, B) {
    fn name(&self) -> &str {
        self.0.name()
    }

    async fn quote(&self, request: &RateRequest) -> Result<Vec<RateQuote>, CarrierError> {
        match (self.0.quote(request).await, self.1.quote(request).await) {
            (Ok(mut a), Ok(b)) => {
                a.extend(b);
                Ok(a)
            }
            (Ok(a), Err(_)) => Ok(a),
            (Err(_), Ok(b)) => Ok(b),
            (Err(e), Err(_)) => Err(e),
        }
    }

    async fn book(&self, request: &BookingRequest) -> Result<Booking, CarrierError> {
        if request.quote.carrier == self.0.name() {
            self.0.book(request).await
        } else {
            self.1.book(request).await
        }
    }

    async fn track(&self, tracking: &TrackingNumber) -> Result<Vec<TrackingEvent>, CarrierError> {
        match self.0.track(tracking).await {
            Err(CarrierError::UnknownTracking(_)) => self.1.track(tracking).await,
            other => other,
        }
    }

    async fn cancel(&self, tracking: &TrackingNumber) -> Result<(), CarrierError> {
        match self.0.cancel(tracking).await {
            Err(CarrierError::UnknownTracking(_)) => self.1.cancel(tracking).await,
            other => other,
        }
    }
}
