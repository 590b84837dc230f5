//! Domain events: one for every state change, stored in the same commit as the change
//! and readable in order from a cursor ([`crate::store::Store::events_after`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::fulfilment::{ShipmentStatus, TrackingNumber};
use crate::ids::{
    CustomerId, InvoiceId, LocationId, OrderId, PaymentId, PurchaseOrderId, ShipmentId, Sku,
    SupplierId,
};
use crate::ledger::InvoiceNumber;
use crate::money::Money;
use crate::order::{Channel, Hold};
use crate::quantity::Quantity;

/// Something that happened. Serialises with a `"type"` tag, for integrations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// A reorder rule was set (or changed) for a SKU at a location.
    ReorderRuleSaved {
        /// The SKU.
        sku: Sku,
        /// The location.
        location: LocationId,
    },
    /// A line could not be covered and waits for stock.
    BackOrderCreated {
        /// The order.
        order: OrderId,
        /// The SKU.
        sku: Sku,
        /// Units waiting.
        quantity: Quantity,
        /// When they are expected, if anyone knows.
        promised_on: Option<NaiveDate>,
    },
    /// Received stock was reserved for a waiting line.
    BackOrderAllocated {
        /// The order.
        order: OrderId,
        /// The SKU.
        sku: Sku,
        /// Where the units were received.
        location: LocationId,
        /// Units reserved.
        quantity: Quantity,
    },
    /// The date a back-ordered line is expected moved.
    PromiseDateChanged {
        /// The order.
        order: OrderId,
        /// The SKU.
        sku: Sku,
        /// The new date, or none when nothing on order or on offer covers it.
        promised_on: Option<NaiveDate>,
    },
    /// A customer asked to return goods.
    ReturnRequested {
        /// The return authorisation.
        rma: crate::ids::ReturnId,
        /// Its number (absent from events recorded before o2c 0.2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<crate::ids::ReturnNumber>,
        /// The order.
        order: OrderId,
    },
    /// A return was received in full and its replacement order placed.
    ExchangePlaced {
        /// The return authorisation.
        rma: crate::ids::ReturnId,
        /// The order the goods came back from.
        order: OrderId,
        /// The replacement order.
        replacement: OrderId,
        /// What the return's credit paid of the replacement.
        paid_from_credit: Money,
    },
    /// An exchange's goods came back but its replacement could not be placed (a
    /// product withdrawn since it was asked for, say): the return's credit stays
    /// with the customer.
    ExchangeNotPlaced {
        /// The return authorisation.
        rma: crate::ids::ReturnId,
        /// The order the goods came back from.
        order: OrderId,
        /// Why.
        reason: String,
    },
    /// A return was authorised.
    ReturnAuthorised {
        /// The return authorisation.
        rma: crate::ids::ReturnId,
    },
    /// A return was refused.
    ReturnRejected {
        /// The return authorisation.
        rma: crate::ids::ReturnId,
    },
    /// A partly received return was closed: the rest will not be taken.
    ReturnClosed {
        /// The return authorisation.
        rma: crate::ids::ReturnId,
    },
    /// Returned goods arrived.
    ReturnReceived {
        /// The return authorisation.
        rma: crate::ids::ReturnId,
        /// The order.
        order: OrderId,
        /// The SKU.
        sku: Sku,
        /// Units.
        quantity: Quantity,
        /// Where they went back into stock (`None`: written off as damaged).
        restocked_at: Option<LocationId>,
        /// What the units cost when they shipped: the cost of goods the return
        /// took back (absent from events recorded before o2c 0.2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost: Option<Money>,
    },
    /// A credit note was issued against an invoice.
    CreditNoteIssued {
        /// The credit note.
        credit_note: crate::ids::CreditNoteId,
        /// Its number.
        number: crate::ledger::CreditNoteNumber,
        /// The invoice credited.
        invoice: InvoiceId,
        /// Its order.
        order: OrderId,
        /// What it credits.
        total: Money,
    },
    /// Money was paid back to a customer against one of their payments.
    RefundIssued {
        /// The payment refunded.
        payment: PaymentId,
        /// The customer.
        customer: CustomerId,
        /// How much.
        amount: Money,
    },
    /// A supplier, or its offers, were added or changed.
    SupplierSaved {
        /// The supplier.
        supplier: SupplierId,
    },
    /// A shortfall or a reorder point asked purchasing for units.
    RequisitionRaised {
        /// The SKU.
        sku: Sku,
        /// Where the units are wanted.
        location: LocationId,
        /// Units needed (before rounding to the supplier's packs).
        quantity: Quantity,
        /// The supplier chosen by the best-offer rule.
        supplier: SupplierId,
    },
    /// A purchase order was raised (as a draft, or approved at once).
    PurchaseOrderRaised {
        /// The purchase order.
        purchase_order: PurchaseOrderId,
        /// Its number (absent from events recorded before o2c 0.2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<crate::ids::PurchaseOrderNumber>,
        /// The supplier.
        supplier: SupplierId,
        /// Its value.
        total: Money,
    },
    /// A purchase order was approved and sent.
    PurchaseOrderApproved {
        /// The purchase order.
        purchase_order: PurchaseOrderId,
    },
    /// A purchase order was cancelled.
    PurchaseOrderCancelled {
        /// The purchase order.
        purchase_order: PurchaseOrderId,
    },
    /// A purchase order was closed: nothing more will be received on it.
    PurchaseOrderClosed {
        /// The purchase order.
        purchase_order: PurchaseOrderId,
    },
    /// Goods arrived against a purchase order.
    GoodsReceived {
        /// The purchase order.
        purchase_order: PurchaseOrderId,
        /// The SKU.
        sku: Sku,
        /// Where.
        location: LocationId,
        /// Units.
        quantity: Quantity,
        /// Their cost per unit.
        unit_cost: Money,
        /// The SKU's moving-average cost after the receipt.
        average_cost: Money,
    },
    /// Goods arrived at a location.
    StockReceived {
        /// The SKU.
        sku: Sku,
        /// Where.
        location: LocationId,
        /// Units.
        quantity: Quantity,
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
        /// Its number (absent from events recorded before o2c 0.2).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<crate::ids::OrderNumber>,
        /// The buyer.
        customer: CustomerId,
        /// Where it came from.
        channel: Channel,
        /// Its value.
        total: Money,
    },
    /// Units were reserved for one line of an order: what o2c recorded before 0.2,
    /// one event per line. Logs written then still read back; o2c now records
    /// [`Event::StockReservedForOrder`], one per command.
    StockReserved {
        /// The order.
        order: OrderId,
        /// The SKU.
        sku: Sku,
        /// Where.
        location: LocationId,
        /// Units.
        quantity: Quantity,
    },
    /// Units were reserved for an order: everything a placement, an amendment or
    /// an exchange reserved, in one event (a ten-line order logged ten events
    /// before 0.2). Releases are still one [`Event::StockReleased`] per line, so
    /// a projection of reserved units reads both.
    StockReservedForOrder {
        /// The order.
        order: OrderId,
        /// What was reserved where, in line order.
        reservations: Vec<ReservedStock>,
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
        quantity: Quantity,
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
    /// An open invoice is past due: a payment reminder of this level went out
    /// ([`Oms::run_due`](crate::Oms::run_due)); each level once per invoice.
    PaymentReminder {
        /// The invoice.
        invoice: InvoiceId,
        /// Its order.
        order: OrderId,
        /// Who owes it.
        customer: CustomerId,
        /// The level: 1 for the first reminder.
        level: u8,
        /// Whole days past due.
        days_overdue: u32,
        /// What is still owed on it.
        outstanding: Money,
    },
    /// A customer's invoice passed the reminder level that stops shipping: their
    /// open orders, and those they place, are held until none is left open.
    CustomerOverdue {
        /// The customer.
        customer: CustomerId,
        /// The invoice.
        invoice: InvoiceId,
    },
    /// A customer has no invoice past that level left open: shipping to them
    /// resumes.
    CustomerOverdueCleared {
        /// The customer.
        customer: CustomerId,
    },
    /// A purchase order did not arrive when expected: it is now expected on a
    /// later day, and the lines waiting for it are promised again.
    PurchaseOrderLate {
        /// The purchase order.
        purchase_order: PurchaseOrderId,
        /// The day it was expected.
        was_expected_on: NaiveDate,
        /// The day it is expected now.
        expected_on: NaiveDate,
    },
    /// An order's lines were released to a third-party warehouse to ship.
    OrderReleased {
        /// The order.
        order: OrderId,
        /// The warehouse.
        location: LocationId,
        /// The release's key.
        release: crate::ids::IdempotencyKey,
        /// What was released.
        lines: Vec<crate::fulfilment::ReleaseLine>,
    },
    /// A third-party warehouse gave released units back: they are o2c's again.
    ReleaseRejected {
        /// The order.
        order: OrderId,
        /// The warehouse.
        location: LocationId,
        /// The release.
        release: crate::ids::IdempotencyKey,
        /// The units given back.
        lines: Vec<crate::fulfilment::ReleaseLine>,
        /// The warehouse's reason.
        reason: String,
    },
    /// A third-party warehouse's stock count was compared with o2c's on-hand;
    /// each difference is a [`Event::StockAdjusted`] of its own.
    StockCounted {
        /// The warehouse.
        location: LocationId,
        /// The count's position in the warehouse's stream.
        as_of: u64,
        /// False for a stale count (at or before the last one applied), which
        /// changed nothing.
        applied: bool,
        /// SKUs whose count differed.
        differences: u32,
    },
    /// The payment provider holds money on the customer's card for an order.
    PaymentAuthorised {
        /// The order.
        order: OrderId,
        /// The provider's id for the authorisation.
        authorisation: String,
        /// How much is held.
        amount: Money,
        /// When the hold lapses.
        expires_at: DateTime<Utc>,
    },
    /// The customer's card was declined for an order.
    PaymentDeclined {
        /// The order.
        order: OrderId,
        /// Why, as the provider said.
        reason: String,
    },
    /// What was left of an authorisation was released (voided when the order
    /// was cancelled or fully captured, or lapsed).
    AuthorisationReleased {
        /// The order.
        order: OrderId,
        /// The provider's id for the authorisation.
        authorisation: String,
        /// What was left and is no longer held.
        released: Money,
    },
    /// The provider would not capture what a shipment invoiced: the invoice
    /// stays open, and the order is held.
    CaptureFailed {
        /// The order.
        order: OrderId,
        /// The capture's key.
        key: String,
        /// What it would have taken.
        amount: Money,
        /// Why.
        reason: String,
    },
    /// The provider would not refund: the refund is reversed and the money is
    /// the customer's credit again.
    RefundFailed {
        /// The payment the refund was against.
        payment: PaymentId,
        /// How much.
        amount: Money,
        /// Why.
        reason: String,
    },
    /// The provider paid captured money out to the bank.
    PaymentSettled {
        /// The provider's id for the payout.
        payout: String,
        /// What left card clearing.
        gross: Money,
        /// The provider's fee.
        fee: Money,
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
    /// The part of an order that had not shipped was cancelled; what shipped stands.
    OrderRemainderCancelled {
        /// The order.
        order: OrderId,
        /// Why.
        reason: String,
        /// Units cancelled (back-ordered ones included).
        units: u64,
        /// What the order is worth now (see [`Order::value`](crate::order::Order::value));
        /// absent when the whole order was cancelled ([`Event::OrderCancelled`]
        /// follows) and from events recorded before o2c 0.2.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<Money>,
    },
    /// An order was amended: lines added, re-priced or cut, or a new ship-to.
    OrderAmended {
        /// The order.
        order: OrderId,
        /// The lines added or changed.
        lines: Vec<u16>,
        /// True when the ship-to address changed.
        ship_to_changed: bool,
        /// What the order is worth now (see [`Order::value`](crate::order::Order::value)).
        value: Money,
    },
    /// An order was cancelled.
    OrderCancelled {
        /// The order.
        order: OrderId,
        /// Why.
        reason: String,
    },
}

impl Event {
    /// Gives the document `key` its number where this event names it: the store
    /// numbers documents in the commit (see [`crate::store::Series`]).
    pub(crate) fn set_document_number(&mut self, key: &crate::store::RecordKey, n: u64) {
        use crate::store::RecordKey;
        match (self, key) {
            (
                Event::InvoiceIssued {
                    invoice, number, ..
                },
                RecordKey::Invoice(id),
            ) if invoice == id => {
                *number = InvoiceNumber::new(n);
            }
            (
                Event::CreditNoteIssued {
                    credit_note,
                    number,
                    ..
                },
                RecordKey::CreditNote(id),
            ) if credit_note == id => {
                *number = crate::ledger::CreditNoteNumber::new(n);
            }
            (Event::OrderPlaced { order, number, .. }, RecordKey::Order(id)) if order == id => {
                *number = Some(crate::ids::OrderNumber::new(n));
            }
            (
                Event::PurchaseOrderRaised {
                    purchase_order,
                    number,
                    ..
                },
                RecordKey::PurchaseOrder(id),
            ) if purchase_order == id => {
                *number = Some(crate::ids::PurchaseOrderNumber::new(n));
            }
            (Event::ReturnRequested { rma, number, .. }, RecordKey::Return(id)) if rma == id => {
                *number = Some(crate::ids::ReturnNumber::new(n));
            }
            _ => {}
        }
    }
}

impl Event {
    /// The one event for what a command reserved for `order`, if it reserved
    /// anything.
    pub(crate) fn stock_reserved(
        order: OrderId,
        reservations: Vec<ReservedStock>,
    ) -> Option<Event> {
        (!reservations.is_empty()).then_some(Event::StockReservedForOrder {
            order,
            reservations,
        })
    }
}

/// Units of a SKU reserved at a location, in [`Event::StockReservedForOrder`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReservedStock {
    /// The SKU.
    pub sku: Sku,
    /// Where.
    pub location: LocationId,
    /// Units.
    pub quantity: Quantity,
}

/// An event as stored: with its gapless sequence number and commit time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RecordedEvent {
    /// Position in the log: 1, 2, 3, ... with no gaps. Read on with `events_after(sequence)`.
    pub sequence: u64,
    /// When the commit that stored it happened.
    pub recorded_at: DateTime<Utc>,
    /// What happened.
    pub event: Event,
}
