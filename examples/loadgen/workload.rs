//! The system-under-test interface: the five transactions as a system offers them,
//! to one caller ([`Workload`]) or to many at once ([`System`]).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

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
    /// Orders another caller shipped between this one's listing and its `ship`.
    pub(crate) raced: u64,
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

/// The five transactions as a system shared by concurrent callers offers them:
/// every call takes `&self`, and each caller brings its own [`System::Caller`]
/// (a connection of its own, or nothing when the system needs none).
pub(crate) trait System: Send + Sync + 'static {
    type OrderRef: Copy + Send + Sync + 'static;
    type InvoiceRef: Copy + Send + Sync + 'static;
    /// What one caller holds for its whole pass.
    type Caller: Send + 'static;

    /// A new caller's resources.
    fn caller(&self) -> impl Future<Output = Result<Self::Caller, String>> + Send;
    /// Advances the system's clock by one transaction (1 ms).
    fn tick(&self);
    /// The sequence number of the last event written.
    fn last_event(
        &self,
        caller: &mut Self::Caller,
    ) -> impl Future<Output = Result<u64, String>> + Send;
    /// Journal lines written so far.
    fn journal_lines(
        &self,
        caller: &mut Self::Caller,
    ) -> impl Future<Output = Result<u64, String>> + Send;
    fn place_order(
        &self,
        caller: &mut Self::Caller,
        n: u64,
        order: &NewOrder,
    ) -> impl Future<Output = Result<Placed<Self::OrderRef, Self::InvoiceRef>, Refusal>> + Send;
    fn pay(
        &self,
        caller: &mut Self::Caller,
        n: u64,
        invoice: Self::InvoiceRef,
        cents: i64,
    ) -> impl Future<Output = Result<(), String>> + Send;
    /// The number of lines of the customer's latest order, if they have one.
    fn order_status(
        &self,
        caller: &mut Self::Caller,
        customer: usize,
    ) -> impl Future<Output = Result<Option<usize>, String>> + Send;
    fn ship_batch(
        &self,
        caller: &mut Self::Caller,
        limit: usize,
    ) -> impl Future<Output = Result<Batch, String>> + Send;
    /// (distinct SKUs looked at, how many of them are below their reorder point)
    fn stock_level(
        &self,
        caller: &mut Self::Caller,
        recent: &VecDeque<Self::OrderRef>,
    ) -> impl Future<Output = Result<(u64, u64), String>> + Send;
    /// Folds what was committed since into the reports' read models; the cursor
    /// after. Systems without read models (the baseline) have nothing to fold.
    fn refresh_reports(&self) -> impl Future<Output = Result<u64, String>> + Send {
        async { Ok(0) }
    }
    /// Round trips to the database so far, where the system counts them.
    fn round_trips(&self) -> Option<u64> {
        None
    }
}

/// A single-writer [`Workload`] shared by concurrent callers: each call holds the
/// lock for its whole length, as one mutex around a hand-written in-memory system
/// would. With one caller the lock is never contended.
pub(crate) struct Locked<W>(Mutex<W>);

impl<W> Locked<W> {
    pub(crate) fn new(system: W) -> Self {
        Self(Mutex::new(system))
    }

    fn lock(&self) -> Result<MutexGuard<'_, W>, String> {
        self.0
            .lock()
            .map_err(|_| "a caller panicked holding the system".to_owned())
    }
}

impl<W> System for Locked<W>
where
    W: Workload + Send + 'static,
    W::OrderRef: Send + Sync + 'static,
    W::InvoiceRef: Send + Sync + 'static,
{
    type OrderRef = W::OrderRef;
    type InvoiceRef = W::InvoiceRef;
    type Caller = ();

    async fn caller(&self) -> Result<(), String> {
        Ok(())
    }

    fn tick(&self) {
        if let Ok(mut system) = self.lock() {
            system.tick();
        }
    }

    async fn last_event(&self, _: &mut ()) -> Result<u64, String> {
        self.lock()?.last_event()
    }

    async fn journal_lines(&self, _: &mut ()) -> Result<u64, String> {
        self.lock()?.journal_lines()
    }

    async fn place_order(
        &self,
        _: &mut (),
        n: u64,
        order: &NewOrder,
    ) -> Result<Placed<W::OrderRef, W::InvoiceRef>, Refusal> {
        self.lock().map_err(Refusal::Failed)?.place_order(n, order)
    }

    async fn pay(
        &self,
        _: &mut (),
        n: u64,
        invoice: W::InvoiceRef,
        cents: i64,
    ) -> Result<(), String> {
        self.lock()?.pay(n, invoice, cents)
    }

    async fn order_status(&self, _: &mut (), customer: usize) -> Result<Option<usize>, String> {
        self.lock()?.order_status(customer)
    }

    async fn ship_batch(&self, _: &mut (), limit: usize) -> Result<Batch, String> {
        self.lock()?.ship_batch(limit)
    }

    async fn stock_level(
        &self,
        _: &mut (),
        recent: &VecDeque<W::OrderRef>,
    ) -> Result<(u64, u64), String> {
        self.lock()?.stock_level(recent)
    }
}
