use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::TrackingNumber;
use crate::ids::{LocationId, OrderId, ShipmentId, Sku};
use crate::money::Money;
use crate::quantity::Quantity;

/// Where a shipment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    /// Booked with the carrier; goods have left our stock.
    #[serde(alias = "Booked")]
    Booked,
    /// Moving.
    #[serde(alias = "InTransit")]
    InTransit,
    /// On the last leg (or ready for collection, for pickup).
    #[serde(alias = "OutForDelivery")]
    OutForDelivery,
    /// Handed to the customer. Terminal.
    #[serde(alias = "Delivered")]
    Delivered,
    /// Something went wrong (failed delivery, damage); may recover.
    #[serde(alias = "Exception")]
    Exception,
}

/// A status report from a carrier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TrackingEvent {
    /// When it happened (carrier's time).
    pub at: DateTime<Utc>,
    /// The status it reports.
    pub status: ShipmentStatus,
    /// The carrier's description.
    pub description: String,
}

/// Units of one order line on a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ShipmentLine {
    /// The order line.
    pub line_no: u16,
    /// The SKU.
    pub sku: Sku,
    /// Units shipped.
    pub quantity: Quantity,
    /// What they cost: the product's cost (its moving average) when they
    /// shipped (absent from shipments recorded before o2c 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Money>,
}

/// Goods of one order leaving one location with one carrier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Shipment {
    /// Identity.
    pub id: ShipmentId,
    /// The order.
    pub order: OrderId,
    /// Where it leaves from.
    pub location: LocationId,
    /// What it carries.
    pub lines: Vec<ShipmentLine>,
    /// The carrier's name.
    pub carrier: String,
    /// The carrier's service name.
    pub service: String,
    /// Tracking number.
    pub tracking: TrackingNumber,
    /// Label (a URL or printer data, as the carrier returns it).
    pub label: String,
    /// What the carrier charges us.
    pub carrier_charge: Money,
    /// Cost of the goods on it, posted to cost of goods sold.
    pub cost_of_goods: Money,
    /// Current status.
    pub status: ShipmentStatus,
    /// Every distinct tracking event received, in time order.
    pub tracking_events: Vec<TrackingEvent>,
    /// When booked.
    pub booked_at: DateTime<Utc>,
    /// When delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The key the booking was made with; a retry books with the same key.
    pub booking_key: String,
}

impl Shipment {
    /// Records a tracking event and returns whether anything changed.
    ///
    /// Carriers repeat events and deliver them out of order: a duplicate is ignored,
    /// events are kept sorted by time, and the status is that of the latest event,
    /// except that `Delivered` is terminal once seen.
    pub fn record_tracking(&mut self, event: TrackingEvent) -> bool {
        if self.tracking_events.contains(&event) {
            return false;
        }
        let at = self.tracking_events.partition_point(|e| e.at <= event.at);
        self.tracking_events.insert(at, event);
        let delivered = self
            .tracking_events
            .iter()
            .find(|e| e.status == ShipmentStatus::Delivered);
        let (status, delivered_at) = match delivered {
            Some(d) => (ShipmentStatus::Delivered, Some(d.at)),
            None => (
                self.tracking_events
                    .last()
                    .map_or(ShipmentStatus::Booked, |e| e.status),
                None,
            ),
        };
        self.status = status;
        self.delivered_at = delivered_at;
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use chrono::Duration;
    use uuid::Uuid;

    fn shipment() -> Shipment {
        Shipment {
            id: ShipmentId::from_uuid(Uuid::nil()),
            order: OrderId::from_uuid(Uuid::nil()),
            location: LocationId::new("A").unwrap(),
            lines: vec![],
            carrier: "c".into(),
            service: "s".into(),
            tracking: TrackingNumber::new("T1"),
            label: String::new(),
            carrier_charge: Money::zero(Currency::USD),
            cost_of_goods: Money::zero(Currency::USD),
            status: ShipmentStatus::Booked,
            tracking_events: vec![],
            booked_at: Utc::now(),
            delivered_at: None,
            booking_key: "k".into(),
        }
    }

    #[test]
    fn duplicates_and_out_of_order_events_settle_on_the_truth() {
        let t0 = Utc::now();
        let ev = |mins, status| TrackingEvent {
            at: t0 + Duration::minutes(mins),
            status,
            description: String::new(),
        };
        let mut s = shipment();
        assert!(s.record_tracking(ev(30, ShipmentStatus::Delivered)));
        assert!(s.record_tracking(ev(10, ShipmentStatus::InTransit)));
        assert!(!s.record_tracking(ev(10, ShipmentStatus::InTransit)));
        assert_eq!(s.status, ShipmentStatus::Delivered);
        assert_eq!(s.delivered_at, Some(t0 + Duration::minutes(30)));
        assert_eq!(s.tracking_events.len(), 2);
        assert!(s.tracking_events[0].at < s.tracking_events[1].at);

        let mut s = shipment();
        s.record_tracking(ev(20, ShipmentStatus::Exception));
        s.record_tracking(ev(10, ShipmentStatus::InTransit));
        assert_eq!(s.status, ShipmentStatus::Exception, "latest event wins");
    }
}
