//! The records the baseline keeps: products, stock levels and movements, customers,
//! orders, invoices, payments, shipments, journal lines and events.
//!
//! Most are written and never read back by the benchmark, exactly like the records
//! o2c keeps; hence the `dead_code` allowance.

#![allow(dead_code)]

use rust_decimal::Decimal;

pub(super) struct PlainProduct {
    pub(super) name: String,
    pub(super) price: Decimal,
    pub(super) cost: Decimal,
    pub(super) tax_rate: Decimal,
    pub(super) weight_grams: u32,
    pub(super) reorder_point: u32,
}

#[derive(Clone, Copy)]
pub(super) struct Level {
    pub(super) on_hand: i64,
    pub(super) reserved: i64,
}

impl Level {
    pub(super) fn available(self) -> i64 {
        self.on_hand.saturating_sub(self.reserved)
    }
}

pub(super) enum MovementReason {
    Receipt,
    Shipment(usize),
}

pub(super) struct Movement {
    pub(super) quantity: i64,
    pub(super) reason: MovementReason,
    pub(super) at_ms: u64,
}

pub(super) struct PlainCustomer {
    pub(super) orders_placed: u32,
    pub(super) lifetime_value: Decimal,
    pub(super) last_order_ms: Option<u64>,
    pub(super) balance: Decimal,
    pub(super) credit: Decimal,
    pub(super) uninvoiced: Decimal,
}

#[derive(Clone, Copy, Default)]
pub(super) struct Amounts {
    pub(super) gross: Decimal,
    pub(super) discount: Decimal,
    pub(super) net: Decimal,
    pub(super) tax: Decimal,
}

pub(super) struct PlainLine {
    pub(super) line_no: u16,
    pub(super) sku: String,
    pub(super) description: String,
    pub(super) quantity: u32,
    pub(super) unit_price: Decimal,
    pub(super) amounts: Amounts,
    pub(super) tax_rate: Decimal,
    /// (location, units still reserved)
    pub(super) reservations: Vec<(usize, u32)>,
    pub(super) shipped: u32,
    pub(super) delivered: u32,
    pub(super) invoiced: u32,
    pub(super) invoiced_amounts: Amounts,
}

impl PlainLine {
    pub(super) fn open(&self) -> u32 {
        self.reservations.iter().map(|r| r.1).sum()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Open,
    Completed,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Fulfilment {
    Unshipped,
    PartiallyShipped,
    Shipped,
    Delivered,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum PaymentStatus {
    NotInvoiced,
    Unpaid,
    PartiallyPaid,
    Paid,
}

pub(super) struct PlainOrder {
    pub(super) customer: usize,
    pub(super) key: String,
    pub(super) lines: Vec<PlainLine>,
    pub(super) status: Status,
    pub(super) invoices: Vec<usize>,
    pub(super) shipments: Vec<usize>,
    pub(super) total: Decimal,
    pub(super) invoiced: Decimal,
    pub(super) paid: Decimal,
    pub(super) placed_ms: u64,
    pub(super) closed_ms: Option<u64>,
}

impl PlainOrder {
    pub(super) fn fulfilment(&self) -> Fulfilment {
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

    pub(super) fn payment_status(&self) -> PaymentStatus {
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

    pub(super) fn is_complete(&self) -> bool {
        self.status == Status::Open
            && self.fulfilment() == Fulfilment::Delivered
            && self.total == self.invoiced
            && self.paid == self.invoiced
    }

    pub(super) fn has_open_reservations(&self) -> bool {
        self.lines.iter().any(|l| l.open() > 0)
    }
}

pub(super) struct InvoiceLine {
    pub(super) line_no: u16,
    pub(super) sku: String,
    pub(super) description: String,
    pub(super) quantity: u32,
    pub(super) amounts: Amounts,
    pub(super) tax_rate: Decimal,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum InvoiceStatus {
    Open,
    Paid,
}

pub(super) struct PlainInvoice {
    pub(super) number: u64,
    pub(super) order: usize,
    pub(super) customer: usize,
    pub(super) issued_ms: u64,
    pub(super) due_ms: u64,
    pub(super) lines: Vec<InvoiceLine>,
    pub(super) shipping: Decimal,
    pub(super) total: Decimal,
    pub(super) paid: Decimal,
    pub(super) status: InvoiceStatus,
}

pub(super) struct PlainPayment {
    pub(super) invoice: usize,
    pub(super) order: usize,
    pub(super) customer: usize,
    pub(super) amount: Decimal,
    pub(super) applied: Decimal,
    pub(super) credited: Decimal,
    pub(super) received_ms: u64,
    pub(super) key: String,
}

pub(super) struct PlainShipment {
    pub(super) order: usize,
    pub(super) location: usize,
    /// (line number, SKU, units)
    pub(super) lines: Vec<(u16, String, u32)>,
    pub(super) carrier: String,
    pub(super) tracking: String,
    pub(super) label: String,
    pub(super) carrier_charge: Decimal,
    pub(super) cost_of_goods: Decimal,
    pub(super) booked_ms: u64,
    pub(super) booking_key: String,
}

pub(super) struct JournalLine {
    pub(super) entry: u64,
    pub(super) account: &'static str,
    pub(super) amount: Decimal,
    pub(super) posted_ms: u64,
}

pub(super) enum Event {
    OrderPlaced {
        order: usize,
        customer: usize,
        total: Decimal,
    },
    StockReserved {
        order: usize,
        sku: String,
        location: usize,
        quantity: u32,
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

pub(super) struct RecordedEvent {
    pub(super) sequence: u64,
    pub(super) at_ms: u64,
    pub(super) event: Event,
}
