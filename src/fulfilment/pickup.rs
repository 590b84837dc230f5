//! In-store pickup as a carrier: free, no transit, a pickup code instead of a label.

use chrono::{DateTime, Utc};

use super::bookings::Bookings;
use super::{
    Booking, BookingRequest, Carrier, CarrierError, RateQuote, RateRequest, RequestedService,
    ShipmentStatus, TrackingEvent, TrackingNumber,
};
use crate::money::Money;

/// Customers collect their goods at the store that holds them.
///
/// Quotes only [`RequestedService::Pickup`], at no charge. The "tracking number" is the
/// pickup code; [`PickupCarrier::ready`] and [`PickupCarrier::collect`] are the store
/// staff's two scans.
#[derive(Debug, Default)]
pub struct PickupCarrier {
    bookings: Bookings,
}

/// The name pickup quotes carry.
const NAME: &str = "pickup";

impl PickupCarrier {
    /// A pickup desk.
    pub fn new() -> Self {
        Self::default()
    }

    /// The goods are packed and waiting at the counter.
    ///
    /// # Errors
    /// [`CarrierError::UnknownTracking`] for an unknown code.
    pub fn ready(&self, code: &TrackingNumber, at: DateTime<Utc>) -> Result<(), CarrierError> {
        self.scan(
            code,
            ShipmentStatus::OutForDelivery,
            at,
            "ready for collection",
        )
    }

    /// The customer collected the goods.
    ///
    /// # Errors
    /// [`CarrierError::UnknownTracking`] for an unknown code.
    pub fn collect(&self, code: &TrackingNumber, at: DateTime<Utc>) -> Result<(), CarrierError> {
        self.scan(code, ShipmentStatus::Delivered, at, "collected by customer")
    }

    fn scan(
        &self,
        code: &TrackingNumber,
        status: ShipmentStatus,
        at: DateTime<Utc>,
        text: &str,
    ) -> Result<(), CarrierError> {
        let event = TrackingEvent {
            at,
            status,
            description: text.to_owned(),
        };
        self.bookings.push_event(code, event)
    }
}

impl Carrier for PickupCarrier {
    fn name(&self) -> &str {
        NAME
    }

    async fn quote(&self, request: &RateRequest) -> Result<Vec<RateQuote>, CarrierError> {
        if request.service != RequestedService::Pickup {
            return Err(CarrierError::NoService {
                carrier: NAME.to_owned(),
                reason: "pickup only".to_owned(),
            });
        }
        Ok(vec![RateQuote {
            carrier: NAME.to_owned(),
            service: "in-store-pickup".to_owned(),
            price: Money::zero(request.currency),
            transit_days: 0,
        }])
    }

    async fn book(&self, request: &BookingRequest) -> Result<Booking, CarrierError> {
        if request.request.service != RequestedService::Pickup {
            return Err(CarrierError::Rejected {
                carrier: NAME.to_owned(),
                reason: "pickup only".to_owned(),
            });
        }
        Ok(self.bookings.book_once(&request.key, |serial| Booking {
            tracking: TrackingNumber::new(format!("PU-{serial:06}")),
            label: String::new(),
            price: Money::zero(request.request.currency),
        }))
    }

    async fn track(&self, tracking: &TrackingNumber) -> Result<Vec<TrackingEvent>, CarrierError> {
        self.bookings.events(tracking)
    }

    async fn cancel(&self, tracking: &TrackingNumber) -> Result<(), CarrierError> {
        self.bookings.cancel(tracking)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::customer::Address;
    use crate::ids::ShipmentId;
    use crate::money::Currency;
    use crate::order::ServiceLevel;
    use uuid::Uuid;

    fn request(service: RequestedService) -> RateRequest {
        RateRequest {
            origin: Address::default(),
            destination: Address::default(),
            parcels: vec![],
            service,
            currency: Currency::GBP,
        }
    }

    #[test]
    fn quotes_free_pickup_only_and_books_idempotently() {
        let desk = PickupCarrier::new();
        let quote = pollster::block_on(desk.quote(&request(RequestedService::Pickup)))
            .unwrap()
            .remove(0);
        assert!(quote.price.is_zero());
        assert!(
            pollster::block_on(
                desk.quote(&request(RequestedService::Delivery(ServiceLevel::Standard)))
            )
            .is_err()
        );
        let req = BookingRequest {
            key: "k".into(),
            shipment: ShipmentId::from_uuid(Uuid::nil()),
            quote,
            request: request(RequestedService::Pickup),
        };
        let a = pollster::block_on(desk.book(&req)).unwrap();
        assert_eq!(a, pollster::block_on(desk.book(&req)).unwrap());
        desk.ready(&a.tracking, Utc::now()).unwrap();
        desk.collect(&a.tracking, Utc::now()).unwrap();
        let events = pollster::block_on(desk.track(&a.tracking)).unwrap();
        assert_eq!(
            events.last().map(|e| e.status),
            Some(ShipmentStatus::Delivered)
        );
    }
}
