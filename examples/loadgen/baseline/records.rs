//! The records the baseline keeps: products, stock levels and movements, customers,
//! orders, invoices, payments, shipments, journal lines and events.
//!
//! Most are written and never read back by the benchmark, exactly like the records
//! o2c keeps; hence the `dead_code` allowance.

#![allow(dead_code)]

use rust_decimal::Decimal;

pub(crate) struct PlainProduct {
    pub(crate) name: String,
    pub(crate) price: Decimal,
    pub(crate) cost: Decimal,
    pub(crate) tax_rate: Decimal,
    pub(crate) weight_grams: u32,
    pub(crate) reorder_point: u32,
}

#[derive(Clone, Copy)]
pub(crate) struct Level {
    pub(crate) on_hand: i64,
    pub(crate) reserved: i64,
}

impl Level {
    pub(crate) fn available(self) -> i64 {
        self.on_hand.saturating_sub(self.reserved)
    }
}

pub(crate) enum MovementReason {
    Receipt,
    Shipment(usize),
}

pub(crate) struct Movement {
    pub(crate) quantity: i64,
    pub(crate) reason: MovementReason,
    pub(crate) at_ms: u64,
}

pub(crate) struct PlainCustomer {
    pub(crate) orders_placed: u32,
    pub(crate) lifetime_value: Decimal,
    pub(crate) last_order_ms: Option<u64>,
    pub(crate) balance: Decimal,
    pub(crate) credit: Decimal,
    pub(crate) uninvoiced: Decimal,
}

#[derive(Clone, Copy, Default)]
pub(crate) struct Amounts {
    pub(crate) gross: Decimal,
    pub(crate) discount: Decimal,
    pub(crate) net: Decimal,
    pub(crate) tax: Decimal,
}

pub(crate) struct PlainLine {
    pub(crate) line_no: u16,
    pub(crate) sku: String,
    pub(crate) description: String,
    pub(crate) quantity: u32,
    pub(crate) unit_price: Decimal,
    pub(crate) amounts: Amounts,
    pub(crate) tax_rate: Decimal,
    /// (location, units still reserved)
    pub(crate) reservations: Vec<(usize, u32)>,
    pub(crate) shipped: u32,
    pub(crate) delivered: u32,
    pub(crate) invoiced: u32,
    pub(crate) invoiced_amounts: Amounts,
}

impl PlainLine {
    pub(crate) fn open(&self) -> u32 {
        self.reservations.iter().map(|r| r.1).sum()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Open,
    Completed,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fulfilment {
    Unshipped,
    PartiallyShipped,
    Shipped,
    Delivered,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PaymentStatus {
    NotInvoiced,
    Unpaid,
    PartiallyPaid,
    Paid,
}

pub(crate) struct PlainOrder {
    pub(crate) customer: usize,
    pub(crate) key: String,
    pub(crate) lines: Vec<PlainLine>,
    pub(crate) status: Status,
    pub(crate) invoices: Vec<usize>,
    pub(crate) shipments: Vec<usize>,
    pub(crate) total: Decimal,
    pub(crate) invoiced: Decimal,
    pub(crate) paid: Decimal,
    pub(crate) placed_ms: u64,
    pub(crate) closed_ms: Option<u64>,
}

impl PlainOrder {
    pub(crate) fn fulfilment(&self) -> Fulfilment {
        let (mut wanted, mut shipped, mut delivered) = (0u64, 0u64, 0u64);
        for l in &self.lines {
            wanted += u64::from(l.quantity);
            shipped += u64::from(l.shipped);
            delivered += u64::from(l.delivered);
        }
        match () {
            () if shipped == 0 => Fulfilment::Unshipped,
            () if shipped < wanted => Fulfilment::PartiallyShipped,
            () if delivered < wanted => Fulfilment::Shipped,
            () => Fulfilment::Delivered,
        }
    }

    pub(crate) fn payment_status(&self) -> PaymentStatus {
        if self.invoiced.is_zero() {
            PaymentStatus::NotInvoiced
        } else if self.paid.is_zero() {
            PaymentStatus::Unpaid
        } else if self.paid < self.invoiced {
            PaymentStatus::PartiallyPaid
        } else {
            PaymentStatus::Paid
        }
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.status == Status::Open
            && self.fulfilment() == Fulfilment::Delivered
            && self.total == self.invoiced
            && self.paid == self.invoiced
    }

    pub(crate) fn has_open_reservations(&self) -> bool {
        self.lines.iter().any(|l| l.open() > 0)
    }
}

pub(crate) struct InvoiceLine {
    pub(crate) line_no: u16,
    pub(crate) sku: String,
    pub(crate) description: String,
    pub(crate) quantity: u32,
    pub(crate) amounts: Amounts,
    pub(crate) tax_rate: Decimal,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvoiceStatus {
    Open,
    Paid,
}

pub(crate) struct PlainInvoice {
    pub(crate) number: u64,
    pub(crate) order: usize,
    pub(crate) customer: usize,
    pub(crate) issued_ms: u64,
    pub(crate) due_ms: u64,
    pub(crate) lines: Vec<InvoiceLine>,
    pub(crate) shipping: Decimal,
    pub(crate) total: Decimal,
    pub(crate) paid: Decimal,
    pub(crate) status: InvoiceStatus,
}

pub(crate) struct PlainPayment {
    pub(crate) invoice: usize,
    pub(crate) order: usize,
    pub(crate) customer: usize,
    pub(crate) amount: Decimal,
    pub(crate) applied: Decimal,
    pub(crate) credited: Decimal,
    pub(crate) received_ms: u64,
    pub(crate) key: String,
}

pub(crate) struct PlainShipment {
    pub(crate) order: usize,
    pub(crate) location: usize,
    /// (line number, SKU, units)
    pub(crate) lines: Vec<(u16, String, u32)>,
    pub(crate) carrier: String,
    pub(crate) tracking: String,
    pub(crate) label: String,
    pub(crate) carrier_charge: Decimal,
    pub(crate) cost_of_goods: Decimal,
    pub(crate) booked_ms: u64,
    pub(crate) booking_key: String,
}

pub(crate) struct JournalLine {
    pub(crate) entry: u64,
    pub(crate) account: &'static str,
    pub(crate) amount: Decimal,
    pub(crate) posted_ms: u64,
}

pub(crate) enum Event {
    OrderPlaced {
        order: usize,
        customer: usize,
        total: Decimal,
    },
    StockReservedForOrder {
        order: usize,
        /// (SKU, location, units), in line order.
        reservations: Vec<(String, usize, u32)>,
    },
    InvoiceIssued {
        invoice: usize,
        number: u64,
        order: usize,
        total: Decimal,
    },
    PaymentRecorded {
        payment: usize,
        invoice: usize,
        order: usize,
        amount: Decimal,
        applied: Decimal,
    },
    ShipmentBooked {
        shipment: usize,
        order: usize,
        location: usize,
        carrier: String,
        tracking: String,
    },
}

pub(crate) struct RecordedEvent {
    pub(crate) sequence: u64,
    pub(crate) at_ms: u64,
    pub(crate) event: Event,
}
