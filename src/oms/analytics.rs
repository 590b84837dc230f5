//! The central view: each report folds the events since the read models' cursor,
//! then answers one page from memory (see [`crate::reports`]).

use std::sync::MutexGuard;

use chrono::NaiveDate;

use super::Oms;
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::{OrderId, OrderNumber};
use crate::payment::PaymentProvider;
use crate::reports::{
    AgeingReport, BackOrderRow, CycleRow, DateRange, Documents, FillRow, InventoryRow, OtifRow,
    Page, PageRequest, PaymentRow, PipelineRow, ReadModels, ReturnRow, SalesQuery, SalesRow,
    StaleStock, StockFilter, wanted_documents,
};
use crate::store::{Fetched, Prefetch, Store};

/// Events folded per read of the log: one batched read of their documents each.
const FOLD_BATCH: usize = 1_000;

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    fn models(&self) -> MutexGuard<'_, ReadModels> {
        // A panic while folding may leave a batch half applied: start again from
        // the log rather than answer from that.
        self.read_models.lock().unwrap_or_else(|poisoned| {
            let mut models = poisoned.into_inner();
            *models = ReadModels::new();
            self.read_models.clear_poison();
            models
        })
    }

    /// Folds every event committed since the read models' cursor into them, and
    /// returns the new cursor. Every report does this first, so a report sees every
    /// commit made before it was asked (read-your-writes); a host that wants
    /// reports to answer from memory alone calls this from a background task
    /// (`loop { oms.refresh_reports().await?; sleep(…) }`).
    ///
    /// Each batch of up to 1,000 events costs one read of the log and one batched
    /// read of the documents they name; the stock they moved is read by the
    /// inventory report when it is asked, once for all of them. Callers may
    /// refresh at once: a batch another caller folded first is read again from the
    /// new cursor, never folded twice. Nothing is written to the store.
    ///
    /// # Errors
    /// [`Error::Read`] if the store fails; the models keep every whole batch folded
    /// before the failure.
    pub async fn refresh_reports(&self) -> Result<u64, Error> {
        loop {
            let cursor = self.models().cursor();
            let events = self.store.events_after(cursor, FOLD_BATCH).await?;
            let Some(last) = events.last().map(|e| e.sequence) else {
                return Ok(cursor);
            };
            let request = wanted_documents(&self.models(), &events);
            let fetched = if request.records.is_empty() {
                Fetched::default()
            } else {
                self.store.fetch(&request).await?
            };
            let docs = Documents::new(&fetched);
            let mut models = self.models();
            // Another caller may have folded this batch meanwhile: then read on
            // from where it left the cursor.
            if models.cursor() == cursor {
                models.apply(&events, &docs);
            }
            if events.len() < FOLD_BATCH && models.cursor() >= last {
                return Ok(models.cursor());
            }
        }
    }

    /// A copy of the read models, brought up to date: what every report answers
    /// from. For tests and checks — a report is the way to ask a question.
    ///
    /// # Errors
    /// As [`Oms::refresh_reports`].
    pub async fn read_models(&self) -> Result<ReadModels, Error> {
        self.refresh_reports().await?;
        self.settle_stock().await?;
        Ok(self.models().clone())
    }

    /// Reads the stock the folded events moved, in one read, for the inventory
    /// report.
    async fn settle_stock(&self) -> Result<(), Error> {
        loop {
            let (cursor, stale) = {
                let models = self.models();
                (models.cursor(), models.stale_stock())
            };
            let Some(stale) = stale else {
                return Ok(());
            };
            let levels = match &stale {
                StaleStock::All => self.store.all_stock_levels().await?,
                StaleStock::Skus(skus) => {
                    let request = Prefetch {
                        stock_of: skus.clone(),
                        ..Prefetch::default()
                    };
                    self.store.fetch(&request).await?.stock
                }
            };
            let mut models = self.models();
            // Levels read while another batch was folded may predate it: read again.
            if models.cursor() == cursor {
                models.settle_stock(&stale, &levels);
                return Ok(());
            }
        }
    }

    /// Forgets the read models and folds the whole event log again: after a fix to
    /// a report, say. Reports asked meanwhile wait for nothing: they fold from the
    /// start themselves.
    ///
    /// # Errors
    /// As [`Oms::refresh_reports`].
    pub async fn rebuild_reports(&self) -> Result<u64, Error> {
        *self.models() = ReadModels::new();
        self.refresh_reports().await
    }

    /// Receivables ageing: what customers owe *now*, aged as of `as_of` (today,
    /// or a day ahead to see what will be late) — a page of customers (one row per
    /// customer and currency, by customer id) with what they owe not yet due,
    /// 1–30, 31–60, 61–90 and over 90 days past due; the totals per currency; and
    /// days sales outstanding over the 90 days to `as_of`. It is not a snapshot
    /// of the past: an `as_of` behind today still counts today's balances.
    ///
    /// ```
    /// # use o2c::prelude::*;
    /// # use o2c::reports::PageRequest;
    /// # pollster::block_on(async {
    /// let oms = Oms::new(MemoryStore::new(), PickupCarrier::new());
    /// let today = chrono::Utc::now().date_naive();
    /// let ageing = oms.receivables_ageing(today, &PageRequest::first(50)).await?;
    /// assert!(ageing.customers.items.is_empty() && ageing.totals.is_empty());
    /// # Ok::<(), o2c::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Invalid`] for a page of no rows or more than
    /// [`crate::reports::MAX_PAGE`], or a cursor this report did not hand out;
    /// [`Error::Read`] if the store fails.
    pub async fn receivables_ageing(
        &self,
        as_of: NaiveDate,
        page: &PageRequest,
    ) -> Result<AgeingReport, Error> {
        page.check()?;
        self.refresh_reports().await?;
        self.models().ageing(as_of, page)
    }

    /// Sales and gross margin per day, week or month × channel, product or
    /// customer ([`SalesQuery`]); credit notes and returns netted.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a range that ends before it starts, or a bad page;
    /// [`Error::Read`] if the store fails.
    pub async fn sales(&self, query: &SalesQuery) -> Result<Page<SalesRow>, Error> {
        query.range.check()?;
        query.page.check()?;
        self.refresh_reports().await?;
        self.models().sales(query)
    }

    /// Cycle times of the orders placed in `placed`, per channel and stage: how
    /// many reached it, and the p50 and p90 (a [`crate::reports::Sketch`], within
    /// 1 %).
    ///
    /// # Errors
    /// As [`Oms::sales`].
    pub async fn cycle_times(
        &self,
        placed: DateRange,
        page: &PageRequest,
    ) -> Result<Page<CycleRow>, Error> {
        placed.check()?;
        page.check()?;
        self.refresh_reports().await?;
        self.models().cycle_times(placed, page)
    }

    /// Fill rate per day placed and channel: how much of what was ordered stock
    /// covered at once, in units and in whole orders.
    ///
    /// # Errors
    /// As [`Oms::sales`].
    pub async fn fill_rate(
        &self,
        placed: DateRange,
        page: &PageRequest,
    ) -> Result<Page<FillRow>, Error> {
        placed.check()?;
        page.check()?;
        self.refresh_reports().await?;
        self.models().fill_rate(placed, page)
    }

    /// On-time-in-full per day completed and channel: an order is on time when its
    /// last shipment left by its promise (the day it was placed plus
    /// [`crate::reports::DISPATCH_PROMISE_DAYS`], or a back-ordered line's later
    /// promise date), in full when none of its units was cancelled.
    ///
    /// # Errors
    /// As [`Oms::sales`].
    pub async fn on_time_in_full(
        &self,
        completed: DateRange,
        page: &PageRequest,
    ) -> Result<Page<OtifRow>, Error> {
        completed.check()?;
        page.check()?;
        self.refresh_reports().await?;
        self.models().on_time_in_full(completed, page)
    }

    /// Back-ordered units per SKU now, by how long their orders have waited.
    ///
    /// # Errors
    /// As [`Oms::sales`].
    pub async fn back_order_ageing(&self, page: &PageRequest) -> Result<Page<BackOrderRow>, Error> {
        page.check()?;
        self.refresh_reports().await?;
        self.models().back_order_ageing(self.now(), page)
    }

    /// Inventory per SKU × location: stock and its value now; what shipped in
    /// `range`, turnover and days of cover; reorder points, units on order and the
    /// shortfall against open demand. `filter` picks every row, those at or below
    /// their reorder point, or those at risk of running out.
    ///
    /// # Errors
    /// As [`Oms::sales`].
    pub async fn inventory(
        &self,
        range: DateRange,
        filter: StockFilter,
        page: &PageRequest,
    ) -> Result<Page<InventoryRow>, Error> {
        range.check()?;
        page.check()?;
        self.refresh_reports().await?;
        self.settle_stock().await?;
        self.models().inventory(range, filter, page)
    }

    /// Payments per day and currency in `range`: authorised, declined, captured,
    /// other payments, refunds, payouts and fees.
    ///
    /// # Errors
    /// As [`Oms::sales`].
    pub async fn payment_figures(
        &self,
        range: DateRange,
        page: &PageRequest,
    ) -> Result<Page<PaymentRow>, Error> {
        range.check()?;
        page.check()?;
        self.refresh_reports().await?;
        self.models().payment_figures(range, page)
    }

    /// Returns per SKU in `range`: units sold and returned, the return rate, and
    /// the reasons customers gave.
    ///
    /// # Errors
    /// As [`Oms::sales`].
    pub async fn returns_by_product(
        &self,
        range: DateRange,
        page: &PageRequest,
    ) -> Result<Page<ReturnRow>, Error> {
        range.check()?;
        page.check()?;
        self.refresh_reports().await?;
        self.models().returns_by_product(range, page)
    }

    /// The order pipeline now: per stage ([`crate::reports::PipelineStage`], in
    /// pipeline order), channel and currency, how many orders stand there and
    /// what they are worth (as placed, as last amended, or as a cancelled
    /// remainder left them). Every row that has an order, in that order; there
    /// are at most stages × channels × currencies of them, so the report is not
    /// paged. The counts are kept as orders move,
    /// so asking costs no walk over the orders.
    ///
    /// ```
    /// # use o2c::prelude::*;
    /// # pollster::block_on(async {
    /// let oms = Oms::new(MemoryStore::new(), PickupCarrier::new());
    /// assert!(oms.order_pipeline().await?.is_empty());
    /// # Ok::<(), o2c::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Read`] if the store fails.
    pub async fn order_pipeline(&self) -> Result<Vec<PipelineRow>, Error> {
        self.refresh_reports().await?;
        Ok(self.models().order_pipeline())
    }

    /// The order placed with `number` (`SO-000042`, the number a customer
    /// quotes, say to a self-service page), or `None` if no order has it.
    /// Answered from the read models, which fold the commits made before it is
    /// asked first: an order just placed is found.
    ///
    /// ```
    /// # use o2c::prelude::*;
    /// # use o2c::ids::OrderNumber;
    /// # pollster::block_on(async {
    /// let oms = Oms::new(MemoryStore::new(), PickupCarrier::new());
    /// if let Some(id) = oms.order_by_number(&OrderNumber::new(42)).await? {
    ///     let _order = oms.order(id).await?;
    /// }
    /// assert_eq!(oms.order_by_number(&OrderNumber::new(42)).await?, None);
    /// # Ok::<(), o2c::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Read`] if the store fails.
    pub async fn order_by_number(&self, number: &OrderNumber) -> Result<Option<OrderId>, Error> {
        self.refresh_reports().await?;
        Ok(self.models().order_by_number(number))
    }
}
