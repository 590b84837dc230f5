//! Reads that span records: the ledger, the event log, the shipping queue, the
//! inventory valuation.

use super::Oms;
use crate::catalog::Product;
use crate::error::Error;
use crate::event::RecordedEvent;
use crate::fulfilment::Carrier;
use crate::ids::Sku;
use crate::ledger::{JournalEntry, TrialBalance};
use crate::order::Order;
use crate::stock::Valuation;
use crate::store::Store;

impl<S: Store, C: Carrier> Oms<S, C> {
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
