//! The JSON the baseline writes: the same shapes (field for field) as o2c's records,
//! events, journal entries, movements and idempotency entries, serialised with
//! derived `Serialize` as o2c's are. Identifiers are 36-character UUID-like text,
//! as long as o2c's.

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

/// 2026-01-01T00:00:00Z, where o2c's clock starts.
pub(super) fn at(ms: u64) -> DateTime<Utc> {
    let start = DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    start + TimeDelta::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// The id of the `n`th entity of kind `kind`, as long as a UUID.
pub(super) fn uid(kind: u16, n: usize) -> String {
    format!("00000000-{kind:04x}-7000-8000-{n:012x}")
}

pub(super) const CUSTOMER: u16 = 1;
pub(super) const ORDER: u16 = 2;
pub(super) const INVOICE: u16 = 3;
pub(super) const PAYMENT: u16 = 4;
pub(super) const SHIPMENT: u16 = 5;
pub(super) const ENTRY: u16 = 6;
pub(super) const PRODUCT: u16 = 7;

#[derive(Serialize, Clone, Copy)]
pub(super) struct Money {
    pub(super) amount: Decimal,
    pub(super) currency: &'static str,
}

pub(super) fn usd(amount: Decimal) -> Money {
    Money {
        amount,
        currency: "USD",
    }
}

/// `{"kind": ..., "value": ...}`, as o2c's `Record`.
#[derive(Serialize)]
pub(super) struct Rec<T> {
    pub(super) kind: &'static str,
    pub(super) value: T,
}

#[derive(Serialize)]
pub(super) struct Address<'a> {
    pub(super) name: &'a str,
    pub(super) lines: [&'a str; 1],
    pub(super) city: &'a str,
    pub(super) postal_code: &'a str,
    pub(super) country: &'a str,
}

#[derive(Serialize)]
pub(super) struct Delivery<'a> {
    pub(super) kind: &'static str,
    pub(super) address: Address<'a>,
    pub(super) service: &'static str,
}

#[derive(Serialize)]
pub(super) struct Amounts {
    pub(super) gross: Money,
    pub(super) discount: Money,
    pub(super) net: Money,
    pub(super) tax: Money,
}

#[derive(Serialize)]
pub(super) struct Reservation<'a> {
    pub(super) location: &'a str,
    pub(super) quantity: u32,
}

#[derive(Serialize)]
pub(super) struct OrderLine<'a> {
    pub(super) line_no: u16,
    pub(super) sku: &'a str,
    pub(super) description: &'a str,
    pub(super) quantity: u32,
    pub(super) unit_price: Money,
    pub(super) amounts: Amounts,
    pub(super) tax_rate: Decimal,
    pub(super) reservations: Vec<Reservation<'a>>,
    pub(super) shipped: u32,
    pub(super) delivered: u32,
    pub(super) cancelled: u32,
    pub(super) invoiced: u32,
}

#[derive(Serialize)]
pub(super) struct Order<'a> {
    pub(super) id: &'a str,
    pub(super) customer: &'a str,
    pub(super) channel: &'static str,
    pub(super) currency: &'static str,
    pub(super) lines: Vec<OrderLine<'a>>,
    pub(super) delivery: Delivery<'a>,
    pub(super) shipping_charge: Money,
    pub(super) status: &'static str,
    pub(super) holds: [u8; 0],
    pub(super) invoices: Vec<String>,
    pub(super) shipments: Vec<String>,
    pub(super) invoiced: Money,
    pub(super) paid: Money,
    pub(super) placed_at: DateTime<Utc>,
    pub(super) closed_at: Option<DateTime<Utc>>,
    pub(super) idempotency_key: &'a str,
    pub(super) note: Option<&'a str>,
}

#[derive(Serialize)]
pub(super) struct InvoiceLine<'a> {
    pub(super) line_no: u16,
    pub(super) sku: &'a str,
    pub(super) description: &'a str,
    pub(super) quantity: u32,
    pub(super) gross: Money,
    pub(super) discount: Money,
    pub(super) net: Money,
    pub(super) tax_rate: Decimal,
    pub(super) tax: Money,
}

#[derive(Serialize)]
pub(super) struct Invoice<'a> {
    pub(super) id: &'a str,
    pub(super) number: u64,
    pub(super) order: &'a str,
    pub(super) customer: &'a str,
    pub(super) issued_at: DateTime<Utc>,
    pub(super) due_at: DateTime<Utc>,
    pub(super) lines: Vec<InvoiceLine<'a>>,
    pub(super) shipping: Money,
    pub(super) paid: Money,
    pub(super) status: &'static str,
}

#[derive(Serialize)]
pub(super) struct Profile<'a> {
    pub(super) name: &'a str,
    pub(super) email: &'a str,
    pub(super) phone: Option<&'a str>,
    pub(super) addresses: [Address<'a>; 1],
    pub(super) currency: &'static str,
    pub(super) payment_method: &'static str,
    pub(super) terms: Terms,
    pub(super) credit_limit: Option<Money>,
}

#[derive(Serialize)]
pub(super) enum Terms {
    Net { days: u16 },
}

#[derive(Serialize)]
pub(super) struct History {
    pub(super) orders_placed: u32,
    pub(super) orders_cancelled: u32,
    pub(super) lifetime_value: Money,
    pub(super) last_order_at: Option<DateTime<Utc>>,
    pub(super) balance: Money,
    pub(super) credit: Money,
    pub(super) uninvoiced: Money,
}

#[derive(Serialize)]
pub(super) struct Customer<'a> {
    pub(super) id: &'a str,
    pub(super) profile: Profile<'a>,
    pub(super) history: History,
    pub(super) registered_at: DateTime<Utc>,
}

#[derive(Serialize)]
pub(super) struct Counter {
    pub(super) name: &'static str,
    pub(super) value: u64,
}

#[derive(Serialize)]
pub(super) struct Payment<'a> {
    pub(super) id: &'a str,
    pub(super) invoice: &'a str,
    pub(super) order: &'a str,
    pub(super) customer: &'a str,
    pub(super) method: &'static str,
    pub(super) amount: Money,
    pub(super) applied: Money,
    pub(super) credited: Money,
    pub(super) received_at: DateTime<Utc>,
    pub(super) reference: Option<&'a str>,
}

#[derive(Serialize)]
pub(super) struct ShipmentLine<'a> {
    pub(super) line_no: u16,
    pub(super) sku: &'a str,
    pub(super) quantity: u32,
}

#[derive(Serialize)]
pub(super) struct Shipment<'a> {
    pub(super) id: &'a str,
    pub(super) order: &'a str,
    pub(super) location: &'a str,
    pub(super) lines: Vec<ShipmentLine<'a>>,
    pub(super) carrier: &'a str,
    pub(super) service: &'static str,
    pub(super) tracking: &'a str,
    pub(super) label: &'a str,
    pub(super) carrier_charge: Money,
    pub(super) cost_of_goods: Money,
    pub(super) status: &'static str,
    pub(super) tracking_events: [u8; 0],
    pub(super) booked_at: DateTime<Utc>,
    pub(super) delivered_at: Option<DateTime<Utc>>,
    pub(super) booking_key: &'a str,
}

/// Units reserved at a location, in a `stock_reserved_for_order` event.
#[derive(Serialize)]
pub(super) struct Reserved<'a> {
    pub(super) sku: &'a str,
    pub(super) location: &'a str,
    pub(super) quantity: u32,
}

/// A domain event, tagged `type` as o2c's.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum Event<'a> {
    OrderPlaced {
        order: &'a str,
        customer: &'a str,
        channel: &'static str,
        total: Money,
    },
    StockReservedForOrder {
        order: &'a str,
        reservations: Vec<Reserved<'a>>,
    },
    InvoiceIssued {
        invoice: &'a str,
        number: u64,
        order: &'a str,
        total: Money,
    },
    PaymentRecorded {
        payment: &'a str,
        invoice: &'a str,
        order: &'a str,
        amount: Money,
        applied: Money,
    },
    ShipmentBooked {
        shipment: &'a str,
        order: &'a str,
        location: &'a str,
        carrier: &'a str,
        tracking: &'a str,
    },
}

#[derive(Serialize)]
pub(super) struct Source<'a> {
    pub(super) kind: &'static str,
    #[serde(flatten)]
    pub(super) of: SourceOf<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum SourceOf<'a> {
    Invoice(&'a str),
    Payment(&'a str),
    Shipment(&'a str),
}

#[derive(Serialize)]
pub(super) struct EntryLine<'a> {
    pub(super) account: &'a str,
    pub(super) amount: Money,
}

#[derive(Serialize)]
pub(super) struct Entry<'a> {
    pub(super) id: &'a str,
    pub(super) posted_at: DateTime<Utc>,
    pub(super) memo: String,
    pub(super) source: Source<'a>,
    pub(super) lines: Vec<EntryLine<'a>>,
}

#[derive(Serialize)]
pub(super) struct MovementReason<'a> {
    pub(super) kind: &'static str,
    pub(super) shipment: &'a str,
}

#[derive(Serialize)]
pub(super) struct Movement<'a> {
    pub(super) sku: &'a str,
    pub(super) location: &'a str,
    pub(super) quantity: i64,
    pub(super) reason: MovementReason<'a>,
    pub(super) at: DateTime<Utc>,
}

#[derive(Serialize)]
pub(super) enum Outcome<'a> {
    Order(&'a str),
    Payment(&'a str),
}

#[derive(Serialize)]
pub(super) struct Idempotency<'a> {
    pub(super) scope: &'static str,
    pub(super) key: &'a str,
    pub(super) fingerprint: u64,
    pub(super) outcome: Outcome<'a>,
}
