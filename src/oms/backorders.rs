//! The reads back-orders need: the queues a command touches and the orders they
//! name, handed to a [`Backlog`] that decides with no store; and the suppliers and
//! purchase orders promise dates come from.

use super::Oms;
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::Sku;
use crate::order::Order;
use crate::purchasing::{BackOrderQueue, Backlog, PurchaseOrder, Supplier, Supply};
use crate::store::{Changeset, Fetched, Prefetch, Store};

impl<S: Store, C: Carrier> Oms<S, C> {
    /// A backlog holding the queues of `skus` and the orders waiting in them: one
    /// read for the queues, one for the orders they name.
    pub(super) async fn backlog(&self, skus: &[Sku]) -> Result<Backlog, Error> {
        let mut request = Prefetch::new();
        for sku in skus {
            request = request.record::<BackOrderQueue>(sku);
        }
        let mut fetched = self.store.fetch(&request).await?;
        let mut backlog = Backlog::default();
        adopt_queues(&mut backlog, skus, &mut fetched);
        self.read_waiting(&mut backlog).await?;
        Ok(backlog)
    }

    /// Reads the orders `backlog`'s queues name that it does not hold yet, in one
    /// read, and hands them over. An order a queue names and the store lacks is
    /// left out: a step that needs it reports it missing.
    pub(super) async fn read_waiting(&self, backlog: &mut Backlog) -> Result<(), Error> {
        let ids = backlog.orders_to_read();
        if ids.is_empty() {
            return Ok(());
        }
        let mut request = Prefetch::new();
        for id in &ids {
            request = request.record::<Order>(id);
        }
        let mut fetched = self.store.fetch(&request).await?;
        for id in &ids {
            if let Some(order) = fetched.take::<Order>(id) {
                backlog.adopt(order.value, order.version);
            }
        }
        Ok(())
    }

    /// Re-promises the lines waiting for `skus` in `backlog` (which holds their
    /// queues and orders), reading the suppliers and the SKUs' products.
    pub(super) async fn repromise(
        &self,
        backlog: &mut Backlog,
        skus: &[Sku],
        sent: &[PurchaseOrder],
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        let suppliers = self.all_suppliers().await?;
        let products = self.products_of(skus).await?;
        let supply = Supply {
            suppliers: &suppliers,
            sent,
        };
        backlog.refresh_promises(skus, &products, supply, changes)
    }

    /// Gives `units` of `sku` arriving at `location` to the lines waiting in
    /// `backlog`, reading whether the location fulfils orders.
    pub(super) async fn fill_at(
        &self,
        backlog: &mut Backlog,
        sku: &Sku,
        location: &crate::ids::LocationId,
        units: u32,
        changes: &mut Changeset,
    ) -> Result<u32, Error> {
        let fulfils = self
            .store
            .load::<crate::stock::Location>(location)
            .await?
            .is_some_and(|l| l.value.fulfils_orders);
        backlog.fill(sku, location, fulfils, units, changes)
    }

    /// Every supplier with its offers.
    pub(super) async fn all_suppliers(&self) -> Result<Vec<Supplier>, Error> {
        Ok(self
            .store
            .list::<Supplier>()
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }

    /// The stored purchase orders that `keep` keeps.
    pub(super) async fn purchase_orders(
        &self,
        keep: fn(&PurchaseOrder) -> bool,
    ) -> Result<Vec<PurchaseOrder>, Error> {
        Ok(self
            .store
            .list::<PurchaseOrder>()
            .await?
            .into_iter()
            .map(|v| v.value)
            .filter(keep)
            .collect())
    }

    /// The sent purchase orders as a command leaves them: the store's, with `po`
    /// in its new state (in if still sent, out if not).
    pub(super) async fn sent_purchase_orders_with(
        &self,
        po: &PurchaseOrder,
    ) -> Result<Vec<PurchaseOrder>, Error> {
        let mut sent = self.purchase_orders(PurchaseOrder::is_sent).await?;
        sent.retain(|other| other.id != po.id);
        if po.is_sent() {
            sent.push(po.clone());
        }
        Ok(sent)
    }
}

/// Hands the queues of `skus` a command fetched (absent ones as new, empty queues)
/// to `backlog`.
pub(super) fn adopt_queues(backlog: &mut Backlog, skus: &[Sku], fetched: &mut Fetched) {
    for sku in skus {
        backlog.adopt_queue(sku, fetched.take::<BackOrderQueue>(sku));
    }
}
