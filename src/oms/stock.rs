//! Receiving and correcting stock: the driver of [`crate::stock::change_stock`].

use super::{Applied, Fingerprint, Oms, fingerprint};
use crate::catalog::Product;
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::{LocationId, Sku};
use crate::payment::PaymentProvider;
use crate::purchasing::{BackOrderQueue, Backlog};
use crate::stock::{
    AdjustStock, Availability, Location, ReceiveStock, StockCommand, StockLevel, availability,
    change_stock,
};
use crate::store::{Changeset, IdempotentOutcome, Prefetch, Store};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Adds received goods to on-hand, and their cost to inventory (Dr inventory,
    /// Cr goods received not invoiced).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a quantity that is not positive or too large;
    /// [`Error::NotFound`] for an unknown SKU or location;
    /// [`Error::IdempotencyKeyReused`] for a key used with other content.
    pub async fn receive_stock(&self, cmd: ReceiveStock) -> Result<Applied<StockLevel>, Error> {
        self.change_stock(StockCommand::Receive(&cmd)).await
    }

    /// Corrects on-hand; the value difference is posted between inventory and
    /// inventory adjustments.
    ///
    /// # Errors
    /// [`Error::Stock`] with [`StockError::ZeroChange`](crate::stock::StockError::ZeroChange)
    /// for a zero delta, or
    /// [`StockError::BelowReserved`](crate::stock::StockError::BelowReserved) if
    /// on-hand would drop below what is reserved;
    /// [`Error::Invalid`] for a delta of more than `u32::MAX` units either way;
    /// [`Error::NotFound`] for an unknown SKU or location;
    /// [`Error::IdempotencyKeyReused`] for a key used with other content.
    pub async fn adjust_stock(&self, cmd: AdjustStock) -> Result<Applied<StockLevel>, Error> {
        self.change_stock(StockCommand::Adjust(&cmd)).await
    }

    async fn change_stock(&self, cmd: StockCommand<'_>) -> Result<Applied<StockLevel>, Error> {
        cmd.check()?;
        let print = match cmd {
            StockCommand::Receive(c) => fingerprint(c)?,
            StockCommand::Adjust(c) => fingerprint(c)?,
        };
        super::retrying!(
            self,
            cmd.name(),
            key = cmd.key().1,
            self.try_change_stock(cmd, &print).await,
            // A twin submission may have committed after this one checked its key.
            twin = async {
                let (scope, key) = cmd.key();
                if self.replay(scope, key, &print).await?.is_none() {
                    return Ok(None);
                }
                let (sku, location) = cmd.place();
                self.stock_level(sku, location)
                    .await
                    .map(|level| Some(Applied::replay(level)))
            }
        )
    }

    async fn try_change_stock(
        &self,
        cmd: StockCommand<'_>,
        print: &Fingerprint<'_>,
    ) -> Result<Applied<StockLevel>, Error> {
        let (scope, key) = cmd.key();
        let (sku, location) = cmd.place();
        // One read: the key, the product, the location, its stock, and the queue
        // arriving units go to first.
        let request = Prefetch::new()
            .key(scope, key)
            .record::<Product>(sku)
            .record::<Location>(location)
            .record::<BackOrderQueue>(sku)
            .stock(sku);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        if super::earlier(fetched.idempotency.as_ref(), scope, key, print)?.is_some() {
            return self.stock_level(sku, location).await.map(Applied::replay);
        }
        // Named in the command's body: a missing one is a wrong request.
        let product = super::found::<Product>(&mut fetched, sku).map_err(Error::into_reference)?;
        let site = super::found::<Location>(&mut fetched, location)
            .map_err(Error::into_reference)?
            .value;
        let level = fetched
            .stock
            .iter()
            .find(|l| &l.location == location)
            .cloned()
            .unwrap_or_else(|| StockLevel::empty(sku.clone(), location.clone()));
        let mut backlog = Backlog::default();
        if cmd.delta() > 0 {
            backlog.adopt_queue(sku, fetched.take::<BackOrderQueue>(sku));
            // The one dependent read: the orders waiting in the queue.
            self.read_waiting(&mut backlog).await?;
        }
        let mut changes = Changeset::new(self.now());
        change_stock(
            cmd,
            &product,
            &site,
            &level,
            &mut backlog,
            &self.context(changes.at),
            &mut changes,
        )?;
        backlog.put_into(&mut changes);
        self.commit_keyed(changes, scope, key, print, IdempotentOutcome::Stock)
            .await?;
        self.stock_level(sku, location).await.map(Applied::fresh)
    }

    /// Stock of `sku` at `location` (zero if it never held any).
    ///
    /// # Errors
    /// [`Error::Read`] if the store fails.
    pub async fn stock_level(&self, sku: &Sku, location: &LocationId) -> Result<StockLevel, Error> {
        let levels = super::trace::store("stock_levels", self.store.stock_levels(sku)).await?;
        Ok(levels
            .into_iter()
            .find(|l| &l.location == location)
            .unwrap_or_else(|| StockLevel::empty(sku.clone(), location.clone())))
    }

    /// Stock of `sku` at every location that has held it.
    ///
    /// # Errors
    /// [`Error::Read`] if the store fails.
    pub async fn stock(&self, sku: &Sku) -> Result<Vec<StockLevel>, Error> {
        Ok(super::trace::store("stock_levels", self.store.stock_levels(sku)).await?)
    }

    /// What each of `skus` has free to promise over every location, beside its
    /// reorder point, in the order asked (a SKU asked twice is answered twice):
    /// one read of their products and stock, from one snapshot.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown SKU; [`Error::Read`] if the store fails.
    pub async fn availability(&self, skus: &[Sku]) -> Result<Vec<Availability>, Error> {
        let asked = availability::prefetch(skus);
        let fetched = super::trace::store("fetch", self.store.fetch(&asked)).await?;
        availability::of(skus, &asked, &fetched)
    }
}
