//! Reads that span records: the ledger, the event log, the shipping queue, the
//! inventory valuation.

use crate::payment::PaymentProvider;
use std::time::{Duration, Instant};

use super::Oms;
use crate::catalog::Product;
use crate::error::Error;
use crate::event::RecordedEvent;
use crate::fulfilment::Carrier;
use crate::ids::Sku;
use crate::ledger::{JournalEntry, TrialBalance};
use crate::order::Order;
use crate::sleep::{First, Sleep};
use crate::stock::Valuation;
use crate::store::{CommitSignal, Store};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Every account's balance; sums to zero per currency.
    ///
    /// # Errors
    /// [`Error::Read`] if the store fails.
    pub async fn trial_balance(&self) -> Result<TrialBalance, Error> {
        Ok(TrialBalance {
            balances: self.store.account_balances().await?,
        })
    }

    /// Up to `limit` journal entries after the first `offset`, in posting order.
    ///
    /// # Errors
    /// [`Error::Read`] if the store fails.
    pub async fn journal(&self, offset: usize, limit: usize) -> Result<Vec<JournalEntry>, Error> {
        Ok(self.store.journal(offset, limit).await?)
    }

    /// Up to `limit` events after `cursor` (0 for the start), in order. Keep the last
    /// event's `sequence` as the next cursor.
    ///
    /// # Errors
    /// [`Error::Read`] if the store fails.
    pub async fn events_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, Error> {
        Ok(self.store.events_after(cursor, limit).await?)
    }

    /// Up to `limit` events after `cursor`, as [`Oms::events_after`] — but when
    /// there are none yet, waits for them, up to `timeout`, and returns what came
    /// (nothing, if the time ran out: send a keep-alive and ask again).
    ///
    /// A commit through this store wakes the wait at once (see
    /// [`Store::commit_signal`]); commits it cannot see — another process writing
    /// the same SQLite file — are found by asking again every
    /// [`Oms::EVENT_POLL`]. Any executor can drive it; dropping the future stops
    /// the wait.
    ///
    /// ```
    /// # use o2c::prelude::*;
    /// # use std::time::Duration;
    /// # pollster::block_on(async {
    /// let oms = Oms::new(MemoryStore::new(), PickupCarrier::new());
    /// let none = oms.wait_for_events(0, 100, Duration::from_millis(10)).await?;
    /// assert!(none.is_empty());
    /// # Ok::<(), o2c::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Read`] if the store fails.
    pub async fn wait_for_events(
        &self,
        cursor: u64,
        limit: usize,
        timeout: Duration,
    ) -> Result<Vec<RecordedEvent>, Error> {
        // A timeout past what the clock can count waits without end.
        let deadline = Instant::now().checked_add(timeout);
        loop {
            // Looked at before the read, so a commit between the read and the
            // wait still wakes it.
            let seen = self.store.commit_signal().map(CommitSignal::commits);
            let events = self.events_after(cursor, limit).await?;
            let now = Instant::now();
            let left = deadline.map(|d| d.saturating_duration_since(now));
            if !events.is_empty() || limit == 0 || left.is_some_and(|l| l.is_zero()) {
                return Ok(events);
            }
            let nap = Sleep::new(left.map_or(Self::EVENT_POLL, |l| l.min(Self::EVENT_POLL)));
            match (self.store.commit_signal(), seen) {
                (Some(signal), Some(seen)) => First(signal.after(seen), nap).await,
                _ => nap.await,
            }
        }
    }

    /// How often [`Oms::wait_for_events`] asks the store again while it waits,
    /// for commits its signal cannot see.
    pub const EVENT_POLL: Duration = Duration::from_millis(250);

    /// Inventory at cost per SKU × location: on hand × the SKU's (moving-average)
    /// cost, by SKU then location. Its sum per currency always equals the inventory
    /// account's balance, which [`Oms::audit`] checks.
    ///
    /// # Errors
    /// [`Error::Read`] if the store fails; [`Error::Money`] on overflow;
    /// [`Error::NotFound`] for stock of a SKU with no product.
    pub async fn inventory_valuation(&self) -> Result<Vec<Valuation>, Error> {
        let levels = self.store.all_stock_levels().await?;
        let mut skus: Vec<Sku> = levels.iter().map(|l| l.sku.clone()).collect();
        skus.dedup();
        let products: Vec<Product> = self
            .store
            .load_many::<Product>(&skus)
            .await?
            .into_iter()
            .flatten()
            .map(|p| p.value)
            .collect();
        crate::stock::valuation(levels, &products)
    }

    /// Up to `limit` orders ready to ship (open, with reserved units), oldest first.
    ///
    /// # Errors
    /// [`Error::Read`] if the store fails.
    pub async fn orders_ready_to_ship(&self, limit: usize) -> Result<Vec<Order>, Error> {
        let ready = super::trace::store(
            "orders_ready_to_ship",
            self.store.orders_ready_to_ship(limit),
        )
        .await?;
        self.orders(&ready).await
    }
}
