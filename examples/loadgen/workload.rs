//! The system-under-test interface: the five transactions as a system offers them.

use std::collections::VecDeque;

use crate::mix::NewOrder;

/// An order accepted by a system.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placed<O, I> {
    pub(crate) order: O,
    pub(crate) invoice: I,
    pub(crate) total_cents: i64,
    pub(crate) lines: usize,
}

/// Why an order was not accepted.
#[derive(Debug, Clone)]
pub(crate) enum Refusal {
    UnknownSku,
    OutOfStock,
    Failed(String),
}

/// What one ship batch did.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) orders: u64,
    pub(crate) shipments: u64,
    pub(crate) failed: Vec<String>,
}

/// The five transactions, as a system under test offers them.
pub(crate) trait Workload {
    type OrderRef: Copy;
    type InvoiceRef: Copy;

    /// Advances the system's clock by one transaction (1 ms).
    fn tick(&mut self);
    /// The sequence number of the last event written.
    fn last_event(&mut self) -> Result<u64, String>;
    /// Journal lines written so far.
    fn journal_lines(&mut self) -> Result<u64, String>;
    fn place_order(
        &mut self,
        n: u64,
        order: &NewOrder,
    ) -> Result<Placed<Self::OrderRef, Self::InvoiceRef>, Refusal>;
    fn pay(&mut self, n: u64, invoice: Self::InvoiceRef, cents: i64) -> Result<(), String>;
    /// The number of lines of the customer's latest order, if they have one.
    fn order_status(&mut self, customer: usize) -> Result<Option<usize>, String>;
    fn ship_batch(&mut self, limit: usize) -> Result<Batch, String>;
    /// (distinct SKUs looked at, how many of them are below their reorder point)
    fn stock_level(&mut self, recent: &VecDeque<Self::OrderRef>) -> Result<(u64, u64), String>;
}
