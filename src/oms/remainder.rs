//! Crediting an order's lines: reading the invoices the decision needs.

use super::Oms;
use crate::customer::Customer;
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::InvoiceId;
use crate::ledger::Invoice;
use crate::order::Order;
use crate::store::{Changeset, Prefetch, RecordKey, Store};

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Credits `units` (line number, units) of `order`'s lines on its invoices, as
    /// [`crate::ledger::credit_order_lines`] decides, reading in one batch the
    /// invoices `changes` does not already put. Puts the invoices; the caller puts
    /// the order and the customer. Returns the units credited per line.
    pub(super) async fn credit_order_lines(
        &self,
        order: &mut Order,
        customer: &mut Customer,
        units: &[(u16, u32)],
        shipping: bool,
        reason: &str,
        changes: &mut Changeset,
    ) -> Result<Vec<(u16, u32)>, Error> {
        let unread: Vec<InvoiceId> = order
            .invoices
            .iter()
            .filter(|id| changes.pending(&RecordKey::Invoice(**id)).is_none())
            .copied()
            .collect();
        let mut read = Vec::with_capacity(unread.len());
        if !unread.is_empty() {
            let request = unread
                .iter()
                .fold(Prefetch::new(), |request, id| request.record::<Invoice>(id));
            let mut fetched = self.store.fetch(&request).await?;
            for id in &unread {
                read.push(super::found::<Invoice>(&mut fetched, id)?);
            }
        }
        crate::ledger::credit_order_lines(
            (order, customer),
            read,
            units,
            shipping,
            reason,
            &self.context(changes.at),
            changes,
        )
    }
}
