//! The read back-orders depend on: the orders waiting in the queues a command
//! read, handed to a [`Backlog`] that decides with no store.

use super::Oms;
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::Sku;
use crate::order::Order;
use crate::payment::PaymentProvider;
use crate::purchasing::{BackOrderQueue, Backlog};
use crate::store::{Fetched, Prefetch, Store};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
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
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        for id in &ids {
            if let Some(order) = fetched.take::<Order>(id) {
                backlog.adopt(order.value, order.version);
            }
        }
        Ok(())
    }
}

/// Hands the queues of `skus` a command fetched (absent ones as new, empty queues)
/// to `backlog`.
pub(super) fn adopt_queues(backlog: &mut Backlog, skus: &[Sku], fetched: &mut Fetched) {
    for sku in skus {
        backlog.adopt_queue(sku, fetched.take::<BackOrderQueue>(sku));
    }
}
