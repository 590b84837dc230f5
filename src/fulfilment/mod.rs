//! Fulfilment: shipments per location, and the carriers that move them.

mod bookings;
mod carrier;
mod pickup;
pub(crate) mod ship;
mod shipment;
mod table_rate;

pub use carrier::{
    Booking, BookingRequest, Carrier, CarrierError, Parcel, RateQuote, RateRequest,
    RequestedService, TrackingNumber,
};
pub use pickup::PickupCarrier;
pub use shipment::{Shipment, ShipmentLine, ShipmentStatus, TrackingEvent};
pub use table_rate::{TableRateCarrier, WeightBand};
