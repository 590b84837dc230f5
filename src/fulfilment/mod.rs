//! Fulfilment: shipments per location, and the carriers that move them — parcel
//! services, in-store pickup and the company's own fleet — and the warehouses
//! run by someone else, which ship what o2c releases to them.

mod bookings;
mod carrier;
mod fleet;
mod fleet_carrier;
mod pickup;
pub(crate) mod ship;
mod shipment;
mod split;
mod table_rate;
pub(crate) mod third_party;

pub use carrier::{
    Booking, BookingRequest, Carrier, CarrierError, Parcel, RateQuote, RateRequest,
    RequestedService, TrackingNumber,
};
pub use fleet::{
    Consignment, DeliverySlot, Fleet, FleetError, FreightClass, FreightRate, FreightService, Offer,
    PalletRule, RUN_CAPACITY, RUN_WEIGHT, Route, RouteId, Run, Zone,
};
pub use fleet_carrier::{FleetCarrier, FreightBooking, RunLoad};
pub use pickup::PickupCarrier;
pub use shipment::{Shipment, ShipmentLine, ShipmentStatus, TrackingEvent};
pub use split::FreightRule;
pub use table_rate::{TableRateCarrier, WeightBand};
pub use third_party::{
    CountDifference, CountPosition, CountResult, CountedStock, Release, ReleaseLine, ReportedMove,
    Shortfall, SimulatedThirdParty, ThirdPartyError, ThirdPartyFaults, ThirdPartyFeed,
    ThirdPartyMessage, ThirdPartyOutcome, ThirdPartyReport, ThirdPartyWarehouse,
};
