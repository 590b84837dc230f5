//! A parcel carrier priced from a table: destination zone × weight band.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::bookings::Bookings;
use super::{
    Booking, BookingRequest, Carrier, CarrierError, RateQuote, RateRequest, RequestedService,
    ShipmentStatus, TrackingEvent, TrackingNumber,
};
use crate::money::{Money, Rounding};
use crate::order::ServiceLevel;

/// Parcels up to `max_grams` cost `prices[zone]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightBand {
    /// Heaviest parcel in the band, inclusive.
    pub max_grams: u64,
    /// Price per parcel, indexed by zone.
    pub prices: Vec<Money>,
}

/// A reference parcel carrier (a 3PL's rate card): each parcel is priced by the
/// destination's zone and its weight band; express and economy scale the standard
/// price. Bookings are idempotent by key. [`TableRateCarrier::scan`] stands in for the
/// carrier's network reporting progress.
#[derive(Debug)]
pub struct TableRateCarrier {
    name: String,
    zones: HashMap<String, usize>,
    bands: Vec<WeightBand>,
    services: Vec<(ServiceLevel, &'static str, Decimal, u16)>,
    bookings: Bookings,
}

impl TableRateCarrier {
    /// A carrier with no zones or bands yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            zones: HashMap::new(),
            bands: Vec::new(),
            services: vec![
                (
                    ServiceLevel::Economy,
                    "parcel-economy",
                    Decimal::new(8, 1),
                    5,
                ),
                (ServiceLevel::Standard, "parcel-standard", Decimal::ONE, 3),
                (
                    ServiceLevel::Express,
                    "parcel-express",
                    Decimal::new(18, 1),
                    1,
                ),
            ],
            bookings: Bookings::default(),
        }
    }

    /// Puts destination `country` (ISO alpha-2) in `zone`.
    #[must_use]
    pub fn zone(mut self, country: &str, zone: usize) -> Self {
        self.zones.insert(country.to_owned(), zone);
        self
    }

    /// Adds a weight band (keep them in ascending order of weight).
    #[must_use]
    pub fn band(mut self, max_grams: u64, prices: Vec<Money>) -> Self {
        self.bands.push(WeightBand { max_grams, prices });
        self.bands.sort_by_key(|b| b.max_grams);
        self
    }

    /// Records that the carrier's network reported `status` for `tracking`.
    ///
    /// # Errors
    /// [`CarrierError::UnknownTracking`] for a number this carrier never issued.
    pub fn scan(
        &self,
        tracking: &TrackingNumber,
        status: ShipmentStatus,
        at: DateTime<Utc>,
        description: &str,
    ) -> Result<(), CarrierError> {
        self.bookings.push_event(
            tracking,
            TrackingEvent {
                at,
                status,
                description: description.to_owned(),
            },
        )
    }

    /// True if the booking behind `tracking` was cancelled.
    pub fn is_cancelled(&self, tracking: &TrackingNumber) -> bool {
        self.bookings.is_cancelled(tracking)
    }

    fn no_service(&self, reason: impl Into<String>) -> CarrierError {
        CarrierError::NoService {
            carrier: self.name.clone(),
            reason: reason.into(),
        }
    }

    fn price(&self, request: &RateRequest, factor: Decimal) -> Result<Money, CarrierError> {
        let zone = *self
            .zones
            .get(&*request.destination.country)
            .ok_or_else(|| {
                self.no_service(format!("no zone for {}", request.destination.country))
            })?;
        if request.parcels.is_empty() {
            return Err(self.no_service("no parcels"));
        }
        let mut total = Money::zero(request.currency);
        for parcel in &request.parcels {
            let band = self
                .bands
                .iter()
                .find(|b| parcel.weight_grams <= b.max_grams)
                .ok_or_else(|| {
                    self.no_service(format!("parcel of {} g is too heavy", parcel.weight_grams))
                })?;
            let base = band
                .prices
                .get(zone)
                .ok_or_else(|| self.no_service(format!("no price for zone {zone}")))?;
            let price = base
                .checked_mul(factor)
                .and_then(|p| total.checked_add(p.round(Rounding::HalfUp)))
                .map_err(|e| self.no_service(e.to_string()))?;
            total = price;
        }
        Ok(total)
    }
}

impl Carrier for TableRateCarrier {
    fn name(&self) -> &str {
        &self.name
    }

    async fn quote(&self, request: &RateRequest) -> Result<Vec<RateQuote>, CarrierError> {
        let RequestedService::Delivery(level) = request.service else {
            return Err(self.no_service("parcels are delivered, not collected"));
        };
        let (_, service, factor, days) = self
            .services
            .iter()
            .find(|(l, ..)| *l == level)
            .ok_or_else(|| self.no_service(format!("no {level:?} service")))?;
        Ok(vec![RateQuote {
            carrier: self.name.clone(),
            service: (*service).to_owned(),
            price: self.price(request, *factor)?,
            transit_days: *days,
        }])
    }

    async fn book(&self, request: &BookingRequest) -> Result<Booking, CarrierError> {
        if request.quote.carrier != self.name {
            return Err(CarrierError::Rejected {
                carrier: self.name.clone(),
                reason: format!("quote is from {}", request.quote.carrier),
            });
        }
        // The whole name, so two carriers (a pair, or a host's several) never issue
        // the same number.
        let prefix: String = self
            .name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        Ok(self.bookings.book_once(&request.key, |serial| {
            let tracking = TrackingNumber::new(format!("{}{serial:010}", prefix.to_uppercase()));
            Booking {
                label: format!("label://{}/{tracking}", self.name),
                tracking,
                price: request.quote.price,
            }
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
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::customer::Address;
    use crate::fulfilment::Parcel;
    use crate::ids::ShipmentId;
    use crate::money::Currency;
    use rust_decimal_macros::dec;
    use uuid::Uuid;

    fn usd(x: Decimal) -> Money {
        Money::new(x, Currency::USD)
    }
    fn carrier() -> TableRateCarrier {
        TableRateCarrier::new("Parcelly")
            .zone("US", 0)
            .zone("CA", 1)
            .band(1000, vec![usd(dec!(5.00)), usd(dec!(9.00))])
            .band(5000, vec![usd(dec!(8.00)), usd(dec!(15.00))])
    }
    fn request(country: &str, grams: &[u64], service: RequestedService) -> RateRequest {
        RateRequest {
            origin: Address::default(),
            destination: Address {
                country: country.into(),
                ..Address::default()
            },
            parcels: grams
                .iter()
                .map(|g| Parcel {
                    weight_grams: *g,
                    dimensions: Default::default(),
                })
                .collect(),
            service,
            currency: Currency::USD,
        }
    }

    #[test]
    fn prices_by_zone_weight_and_service() {
        let c = carrier();
        let std = RequestedService::Delivery(ServiceLevel::Standard);
        let q = pollster::block_on(c.quote(&request("US", &[800, 1200], std))).unwrap();
        assert_eq!(q[0].price, usd(dec!(13.00)));
        let q = pollster::block_on(c.quote(&request("CA", &[800], std))).unwrap();
        assert_eq!(q[0].price, usd(dec!(9.00)));
        let q = pollster::block_on(c.quote(&request(
            "CA",
            &[800],
            RequestedService::Delivery(ServiceLevel::Express),
        )))
        .unwrap();
        assert_eq!(q[0].price, usd(dec!(16.20)));
        assert_eq!(q[0].transit_days, 1);
    }

    #[test]
    fn refuses_what_it_cannot_carry() {
        let c = carrier();
        let std = RequestedService::Delivery(ServiceLevel::Standard);
        for req in [
            request("FR", &[800], std),
            request("US", &[6000], std),
            request("US", &[], std),
            request("US", &[800], RequestedService::Pickup),
            request(
                "US",
                &[800],
                RequestedService::Delivery(ServiceLevel::Freight),
            ),
        ] {
            assert!(matches!(
                pollster::block_on(c.quote(&req)),
                Err(CarrierError::NoService { .. })
            ));
        }
    }

    #[test]
    fn booking_is_idempotent_by_key_and_tracks() {
        let c = carrier();
        let req = request(
            "US",
            &[800],
            RequestedService::Delivery(ServiceLevel::Standard),
        );
        let quote = pollster::block_on(c.quote(&req)).unwrap().remove(0);
        let booking = |key: &str| BookingRequest {
            key: key.into(),
            shipment: ShipmentId::from_uuid(Uuid::nil()),
            quote: quote.clone(),
            request: req.clone(),
        };
        let a = pollster::block_on(c.book(&booking("k1"))).unwrap();
        let again = pollster::block_on(c.book(&booking("k1"))).unwrap();
        let b = pollster::block_on(c.book(&booking("k2"))).unwrap();
        assert_eq!(a, again);
        assert_ne!(a.tracking, b.tracking);
        c.scan(
            &a.tracking,
            ShipmentStatus::InTransit,
            Utc::now(),
            "left depot",
        )
        .unwrap();
        assert_eq!(pollster::block_on(c.track(&a.tracking)).unwrap().len(), 1);
        assert!(pollster::block_on(c.track(&TrackingNumber::new("nope"))).is_err());
        pollster::block_on(c.cancel(&b.tracking)).unwrap();
        pollster::block_on(c.cancel(&b.tracking)).unwrap();
        assert!(c.is_cancelled(&b.tracking));
    }
}
