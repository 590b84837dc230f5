//! Cancelling what has not shipped of a partly shipped order.

use super::Oms;
use crate::customer::Customer;
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::InvoiceId;
use crate::ledger::Invoice;
use crate::money::Money;
use crate::order::{Order, OrderAction, OrderError, transition};
use crate::store::{Changeset, Prefetch, Put, RecordKey, Store, Versioned};

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Keeps what has shipped of an order and cancels the rest, in one commit:
    /// reservations are released (to waiting back-orders first), back-ordered units
    /// leave their queues, units invoiced but not shipped are credited — one credit
    /// note per invoice, exact to the cent, anything already paid for them becoming
    /// customer credit — and units not yet invoiced leave the customer's expected
    /// billing. Shipping charged stays charged. The order stays open for what
    /// shipped, and completes if that is delivered and settled.
    pub(super) async fn cancel_remainder(
        &self,
        stored: Versioned<Order>,
        reason: &str,
    ) -> Result<Order, Error> {
        let mut order = stored.value;
        // Nothing shipped: the whole order goes, shipping charge included.
        let whole = order.lines.iter().all(|l| l.shipped.is_zero());
        let left: u64 = order
            .lines
            .iter()
            .map(|l| u64::from(l.wanted().saturating_sub(l.shipped).units()))
            .sum();
        if left == 0 {
            return Err(OrderError::NothingToCancel.into());
        }
        let customer_stored = self.must::<Customer>(&order.customer).await?;
        let mut customer = customer_stored.value.clone();
        let now = self.now();
        let mut changes = Changeset::new(now);
        changes.events.push(Event::OrderRemainderCancelled {
            order: order.id,
            reason: reason.to_owned(),
            units: left,
        });

        // Units neither shipped nor invoiced leave the expected billing.
        let mut not_invoiced = Money::zero(order.currency);
        for line in &order.lines {
            let wanted = line.wanted();
            let billed_up_to = line.invoiced.max(line.shipped).min(wanted);
            let dropped = line
                .billed(wanted)?
                .checked_sub(&line.billed(billed_up_to)?)?;
            not_invoiced = not_invoiced.checked_add(dropped.total()?)?;
        }
        // Units invoiced and still wanted but not shipped: what the credit notes take
        // back. Counted before the release marks them cancelled; units an amendment
        // cancelled were credited then.
        let unshipped_invoiced: Vec<(u16, u32)> = order
            .lines
            .iter()
            .map(|l| {
                let wanted = l.wanted();
                (
                    l.line_no,
                    l.invoiced.min(wanted).saturating_sub(l.shipped).units(),
                )
            })
            .filter(|(_, units)| *units > 0)
            .collect();
        let skus: Vec<crate::ids::Sku> = order.lines.iter().map(|l| l.sku.clone()).collect();
        let mut backlog = self.backlog(&skus).await?;
        let sites = self.all_locations().await?;
        backlog.release_unshipped(&mut order, &sites, &mut changes)?;
        backlog.put_into(&mut changes);
        let history = &mut customer.history;
        history.uninvoiced = history.uninvoiced.checked_sub(not_invoiced)?;
        history.lifetime_value = history.lifetime_value.checked_sub(not_invoiced)?;

        self.credit_order_lines(
            &mut order,
            &mut customer,
            &unshipped_invoiced,
            whole,
            &format!("not shipped, cancelled: {reason}"),
            &mut changes,
        )
        .await?;
        if whole {
            let status = transition(order.status, OrderAction::Cancel)?;
            order.status = status;
            order.holds.clear();
            order.closed_at = Some(now);
            customer.history.orders_cancelled = customer.history.orders_cancelled.saturating_add(1);
            changes.events.push(Event::OrderCancelled {
                order: order.id,
                reason: reason.to_owned(),
            });
        }

        if !whole {
            crate::order::settle::settle(&mut order, now, &mut changes)?;
        }
        changes
            .puts
            .push(Put::update(order.clone(), stored.version));
        changes.move_customer(&customer_stored.value, &customer)?;
        self.store.commit(changes).await?;
        Ok(order)
    }
}

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
