//! The reads back-orders need: the queues a command touches and the orders they
//! name, handed to a [`Backlog`] that decides with no store; and the suppliers and
//! purchase orders promise dates come from.

use super::Oms;
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::Sku;
use crate::order::Order;
use crate::purchasing::{BackOrderQueue, Backlog, PurchaseOrder, Supplier};
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

    /// A backlog holding the queues of `skus` and the orders waiting in them, all
    /// but `own` (the order the command changes itself, whose steps work on the
    /// command's copy): one read for the queues, one for the orders.
    pub(super) async fn backlog_around(&self, skus: &[Sku], own: &Order) -> Result<Backlog, Error> {
        let mut request = Prefetch::new();
        for sku in skus {
            request = request.record::<BackOrderQueue>(sku);
        }
        let mut fetched = self.store.fetch(&request).await?;
        let mut backlog = Backlog::default();
        adopt_queues(&mut backlog, skus, &mut fetched);
        backlog.adopt(own.clone(), 0);
        self.read_waiting(&mut backlog).await?;
        backlog.release(own.id);
        Ok(backlog)
    }

    /// The suppliers and the sent purchase orders, in one read: what promise dates
    /// come from.
    pub(super) async fn supply(&self) -> Result<(Vec<Supplier>, Vec<PurchaseOrder>), Error> {
        let request = Prefetch::new().every::<Supplier>().every::<PurchaseOrder>();
        let mut fetched = self.store.fetch(&request).await?;
        let suppliers = fetched.take_every().into_iter().map(|v| v.value).collect();
        let sent = fetched
            .take_every()
            .into_iter()
            .map(|v: crate::store::Versioned<PurchaseOrder>| v.value)
            .filter(PurchaseOrder::is_sent)
            .collect();
        Ok((suppliers, sent))
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

    /// Every location.
    pub(super) async fn all_locations(&self) -> Result<Vec<crate::stock::Location>, Error> {
        Ok(self
            .store
            .list::<crate::stock::Location>()
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }
}

/// Hands the queues of `skus` a command fetched (absent ones as new, empty queues)
/// to `backlog`.
pub(super) fn adopt_queues(backlog: &mut Backlog, skus: &[Sku], fetched: &mut Fetched) {
    for sku in skus {
        backlog.adopt_queue(sku, fetched.take::<BackOrderQueue>(sku));
    }
}
