//! Domain events: one for every state change, stored in the same commit as the change
//! and readable in order from a cursor ([`crate::store::Store::events_after`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fulfilment::{ShipmentStatus, TrackingNumber};
use crate::ids::{CustomerId, InvoiceId, LocationId, OrderId, PaymentId, ShipmentId, Sku};
use crate::ledger::InvoiceNumber;
use crate::money::Money;
use crate::order::{Channel, Hold};

/// Something that happened. Serialises with a `"type"` tag, for integrations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A customer was registered.
    CustomerRegistered {
        /// The customer.
        customer: CustomerId,
    },
    /// A product was added or changed.
    ProductSaved {
        /// The SKU.
        sku: Sku,
    },
    /// A location was added or changed.
    LocationSaved {
        /// The location.
        location: LocationId,
    },
    /// The tax table was replaced.
    TaxTableSaved,
    /// Goods arrived at a location.
    StockReceived {
        /// The SKU.
        sku: Sku,
        /// Where.
        location: LocationId,
        /// Units.
        quantity: u32,
        /// The host's reference.
        reference: String,
    },
    /// On-hand was corrected.
    StockAdjusted {
        /// The SKU.
        sku: Sku,
        /// Where.
        location: LocationId,
        /// Signed change.
        delta: i64,
        /// Why.
        reason: String,
    },
    /// An order was accepted.
    OrderPlaced {
        /// The order.
        order: OrderId,
        /// The buyer.
        customer: CustomerId,
        /// Where it came from.
        channel: Channel,
        /// Its value.
        total: Money,
    },
    /// Units were reserved for an order.
    StockReserved {
        /// The order.
        order: OrderId,
        /// The SKU.
        sku: Sku,
        /// Where.
        location: LocationId,
        /// Units.
        quantity: u32,
    },
    /// Units reserved for an order were released without shipping.
    StockReleased {
        /// The order.
        order: OrderId,
        /// The SKU.
        sku: Sku,
        /// Where.
        location: LocationId,
        /// Units.
        quantity: u32,
    },
    /// An order was put on hold.
    OrderHeld {
        /// The order.
        order: OrderId,
        /// Why.
        hold: Hold,
    },
    /// A hold was released.
    HoldReleased {
        /// The order.
        order: OrderId,
        /// Which hold.
        hold: Hold,
    },
    /// An invoice was issued.
    InvoiceIssued {
        /// The invoice.
        invoice: InvoiceId,
        /// Its number.
        number: InvoiceNumber,
        /// The order.
        order: OrderId,
        /// Its total.
        total: Money,
    },
    /// An invoice was voided with its order.
    InvoiceVoided {
        /// The invoice.
        invoice: InvoiceId,
        /// The order.
        order: OrderId,
    },
    /// A payment was recorded.
    PaymentRecorded {
        /// The payment.
        payment: PaymentId,
        /// The invoice paid.
        invoice: InvoiceId,
        /// The order.
        order: OrderId,
        /// Received.
        amount: Money,
        /// Applied to the invoice.
        applied: Money,
    },
    /// Money was put on a customer's credit (overpayment, cancelled paid order).
    CustomerCredited {
        /// The customer.
        customer: CustomerId,
        /// How much.
        amount: Money,
    },
    /// A shipment was booked and its goods left stock.
    ShipmentBooked {
        /// The shipment.
        shipment: ShipmentId,
        /// The order.
        order: OrderId,
        /// From where.
        location: LocationId,
        /// The carrier.
        carrier: String,
        /// Tracking number.
        tracking: TrackingNumber,
    },
    /// A carrier reported progress.
    TrackingUpdated {
        /// The shipment.
        shipment: ShipmentId,
        /// The new status.
        status: ShipmentStatus,
    },
    /// A shipment reached the customer.
    ShipmentDelivered {
        /// The shipment.
        shipment: ShipmentId,
        /// The order.
        order: OrderId,
    },
    /// An order was delivered and paid in full.
    OrderCompleted {
        /// The order.
        order: OrderId,
    },
    /// An order was cancelled.
    OrderCancelled {
        /// The order.
        order: OrderId,
        /// Why.
        reason: String,
    },
}

/// An event as stored: with its gapless sequence number and commit time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Position in the log: 1, 2, 3, ... with no gaps. Read on with `events_after(sequence)`.
    pub sequence: u64,
    /// When the commit that stored it happened.
    pub recorded_at: DateTime<Utc>,
    /// What happened.
    pub event: Event,
}
