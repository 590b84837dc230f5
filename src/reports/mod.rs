//! The central view: read models kept up to date from the event log, and the
//! reports they answer — receivables ageing, sales and margin, cycle times, fill
//! rate and on-time-in-full, back-order ageing, inventory, payments, returns and
//! the order pipeline (orders and their worth at each stage now) — and the
//! lookup of an order by the number a customer quotes.
//!
//! # How the read models stay current: a projector, not deltas in the commit
//! [`ReadModels`] folds the event log in order from a cursor (the sequence of the
//! last event folded). For each batch of events it reads, in one batched store
//! read, the documents the events name, and then, in a second, the stock of the
//! SKUs they moved. Facts that happen once (an invoice's lines, a shipment's cost,
//! the moment an order was paid) are taken from the events and from documents
//! that never change after they are issued; figures that change (what an invoice
//! still owes, what an order still waits for, the stock at a location) are
//! *re-read* whenever an event names their record, and replace that record's
//! earlier contribution.
//!
//! Why a projector rather than commuting deltas written in each command's commit:
//! - **No new hot spot.** A sales-by-day-and-channel row would be written by every
//!   checkout; on PostgreSQL that is a row lock every checkout waits for. The
//!   projector writes nothing to the store, so commands commit exactly as before
//!   and the checkout path pays nothing at all.
//! - **Rebuildable.** The event log is the durable source: [`ReadModels::new`]
//!   folded from sequence 0 gives the same figures as the one kept up to date
//!   batch by batch (a property test proves it, `tests/reports.rs`), so a new
//!   report or a fixed bug is a rebuild, never a migration.
//! - **Every process its own.** Each application instance folds the shared log
//!   into its own models; nothing about them needs to be agreed between
//!   processes.
//!
//! The price: a report asked right after a commit first folds the events since the
//! cursor (one read of the log, one or two batched reads of records), so it is
//! current — read-your-writes — but it costs that catch-up. A host that wants
//! reports to answer from memory alone calls [`crate::Oms::refresh_reports`] from a
//! background task.
//!
//! Amounts are exact (`Decimal`, per currency); only durations' quantiles are
//! estimated, by a [`Sketch`] with a stated relative error of 1 %.

mod csv;
mod cycle;
mod fulfilment;
mod inventory;
mod payments;
mod pipeline;
mod projector;
mod receivables;
mod returns;
mod sales;
mod sketch;

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use csv::{CsvRow, write_csv};
pub use cycle::{CycleRow, CycleStage};
pub use fulfilment::{BackOrderRow, DISPATCH_PROMISE_DAYS, FillRow, OtifRow};
pub use inventory::{DEMAND_WINDOW_DAYS, InventoryRow, RISK_HORIZON_DAYS, StockFilter};
pub use payments::PaymentRow;
pub use pipeline::{PipelineRow, PipelineStage};
pub use projector::ReadModels;
pub(crate) use projector::{Documents, StaleStock, wanted_documents};
pub use receivables::{AgeingReport, AgeingRow, DSO_WINDOW_DAYS, DaysSalesOutstanding};
pub use returns::ReturnRow;
pub use sales::{Dimension, Granularity, Member, SalesQuery, SalesRow};
pub use sketch::{RELATIVE_ERROR, Sketch};

use crate::error::Error;

/// The most rows one page of a report holds.
pub const MAX_PAGE: usize = 100;

/// The longest [`DateRange`] a report takes: ten years of days, so a page of
/// daily rows never walks more periods than that.
pub const MAX_RANGE_DAYS: i64 = 3_660;

/// Where a page of a report starts: the [`Page::next`] of the page before.
/// Opaque: a report hands it out and takes it back, and refuses one that is not
/// a cursor of its kind of rows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// The cursor as text, to hand to a client.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for Cursor {
    /// A cursor a client handed back (a report checks it when asked).
    fn from(text: String) -> Self {
        Self(text)
    }
}

/// One page of a report's rows, in the report's order, and the cursor of the next
/// page (`None` on the last): the same shape as every listing's.
pub type Page<T> = crate::order::Page<T, Cursor>;

/// Which page of a report: up to `limit` rows (at most [`MAX_PAGE`]) after the
/// row `after` names — the [`Page::next`] of the page before, or `None` for the
/// first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PageRequest {
    /// The cursor from the page before, or `None` for the first page.
    #[serde(default)]
    pub after: Option<Cursor>,
    /// Rows wanted, 1 to [`MAX_PAGE`].
    pub limit: usize,
}

impl PageRequest {
    /// The first `limit` rows.
    pub fn first(limit: usize) -> Self {
        Self { after: None, limit }
    }

    /// The page after `page`, of the same size; `None` after the last.
    pub fn next<T>(&self, page: &Page<T>) -> Option<Self> {
        page.next.clone().map(|after| Self {
            after: Some(after),
            limit: self.limit,
        })
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.limit == 0 || self.limit > MAX_PAGE {
            return Err(Error::invalid(
                "limit",
                format!("a page holds 1 to {MAX_PAGE} rows, not {}", self.limit),
            ));
        }
        Ok(())
    }

    /// The row key the page starts after.
    pub(crate) fn start<K: DeserializeOwned>(&self) -> Result<Option<K>, Error> {
        self.check()?;
        match &self.after {
            None => Ok(None),
            Some(cursor) => serde_json::from_str(&cursor.0).map(Some).map_err(|_| {
                Error::invalid("after", "not a cursor this report handed out".to_owned())
            }),
        }
    }
}

/// Gathers one page: rows pushed in key order, those at or before the request's
/// cursor skipped, until the page is full and one more row shows a next page.
pub(crate) struct Pager<K, T> {
    start: Option<K>,
    limit: usize,
    rows: Vec<T>,
    last: Option<K>,
    more: bool,
}

impl<K: Ord + Serialize + DeserializeOwned, T> Pager<K, T> {
    pub(crate) fn new(request: &PageRequest) -> Result<Self, Error> {
        Ok(Self {
            start: request.start()?,
            limit: request.limit,
            rows: Vec::with_capacity(request.limit),
            last: None,
            more: false,
        })
    }

    /// The key the page starts after.
    pub(crate) fn start(&self) -> Option<&K> {
        self.start.as_ref()
    }

    /// Takes the row keyed `key` if it is after the cursor; false once the page is
    /// full (stop pushing).
    pub(crate) fn push(&mut self, key: K, row: T) -> bool {
        if self.start.as_ref().is_some_and(|s| &key <= s) {
            return true;
        }
        if self.rows.len() == self.limit {
            self.more = true;
            return false;
        }
        self.rows.push(row);
        self.last = Some(key);
        true
    }

    pub(crate) fn finish(self) -> Result<Page<T>, Error> {
        let next = match (self.more, self.last) {
            (true, Some(key)) => {
                Some(Cursor(serde_json::to_string(&key).map_err(|e| {
                    Error::inconsistent("report cursor", e.to_string())
                })?))
            }
            _ => None,
        };
        Ok(Page {
            items: self.rows,
            next,
        })
    }
}

/// One page of `keyed` (rows in key order).
fn paged<K, T>(request: &PageRequest, keyed: impl Iterator<Item = (K, T)>) -> Result<Page<T>, Error>
where
    K: Ord + Serialize + DeserializeOwned,
{
    let mut pager = Pager::new(request)?;
    for (key, row) in keyed {
        if !pager.push(key, row) {
            break;
        }
    }
    pager.finish()
}

/// A span of days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    /// The first day.
    pub from: NaiveDate,
    /// The last day.
    pub to: NaiveDate,
}

impl DateRange {
    /// From `from` to `to`, both included.
    ///
    /// # Errors
    /// [`Error::Invalid`] when `to` is before `from`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, Error> {
        let range = Self { from, to };
        range.check()?;
        Ok(range)
    }

    /// The `days` days up to and including `last` (from the first day there is,
    /// if that is fewer).
    pub fn days_up_to(last: NaiveDate, days: u32) -> Self {
        let from = last
            .checked_sub_days(chrono::Days::new(u64::from(days.saturating_sub(1))))
            .unwrap_or(NaiveDate::MIN);
        Self { from, to: last }
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.to < self.from {
            return Err(Error::invalid(
                "range",
                format!("{} is before {}", self.to, self.from),
            ));
        }
        if self.days() > MAX_RANGE_DAYS {
            return Err(Error::invalid(
                "range",
                format!(
                    "{} days from {} to {}: a report covers at most {MAX_RANGE_DAYS}",
                    self.days(),
                    self.from,
                    self.to
                ),
            ));
        }
        Ok(())
    }

    /// How many days it spans.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

/// `a + b`, held at the largest value instead of overflowing: a report's sum of a
/// billion orders fits many times over, and a report must not panic.
fn add(a: &mut rust_decimal::Decimal, b: rust_decimal::Decimal) {
    *a = a.saturating_add(b);
}

impl ReadModels {
    pub(crate) fn ageing(
        &self,
        as_of: NaiveDate,
        page: &PageRequest,
    ) -> Result<AgeingReport, Error> {
        self.receivables.ageing(as_of, page)
    }

    pub(crate) fn sales(&self, query: &SalesQuery) -> Result<Page<SalesRow>, Error> {
        self.sales.query(query)
    }

    pub(crate) fn cycle_times(
        &self,
        placed: DateRange,
        page: &PageRequest,
    ) -> Result<Page<CycleRow>, Error> {
        self.cycles.query(placed, page)
    }

    pub(crate) fn fill_rate(
        &self,
        placed: DateRange,
        page: &PageRequest,
    ) -> Result<Page<FillRow>, Error> {
        self.fulfilment.fill_rate(placed, page)
    }

    pub(crate) fn on_time_in_full(
        &self,
        completed: DateRange,
        page: &PageRequest,
    ) -> Result<Page<OtifRow>, Error> {
        self.fulfilment.on_time_in_full(completed, page)
    }

    pub(crate) fn back_order_ageing(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        page: &PageRequest,
    ) -> Result<Page<BackOrderRow>, Error> {
        self.fulfilment.back_orders(now, page)
    }

    pub(crate) fn inventory(
        &self,
        range: DateRange,
        filter: StockFilter,
        page: &PageRequest,
    ) -> Result<Page<InventoryRow>, Error> {
        self.inventory.query(&self.fulfilment, range, filter, page)
    }

    pub(crate) fn payment_figures(
        &self,
        range: DateRange,
        page: &PageRequest,
    ) -> Result<Page<PaymentRow>, Error> {
        self.payments.query(range, page)
    }

    pub(crate) fn returns_by_product(
        &self,
        range: DateRange,
        page: &PageRequest,
    ) -> Result<Page<ReturnRow>, Error> {
        self.returns.query(range, page)
    }

    pub(crate) fn order_pipeline(&self) -> Vec<PipelineRow> {
        self.pipeline.rows()
    }
}

/// `part ÷ whole` as a percentage to one decimal place; `None` of nothing.
fn percent(part: i64, whole: i64) -> Option<rust_decimal::Decimal> {
    let hundred = rust_decimal::Decimal::ONE_HUNDRED;
    rust_decimal::Decimal::from(part)
        .checked_mul(hundred)
        .and_then(|p| p.checked_div(rust_decimal::Decimal::from(whole)))
        .map(|p| p.round_dp(1))
}
