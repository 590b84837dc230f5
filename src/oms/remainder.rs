//! Cancelling what has not shipped of a partly shipped order.

use super::Oms;
use super::credit::credit_lines;
use crate::customer::Customer;
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ledger::{Invoice, InvoiceStatus};
use crate::money::Money;
use crate::order::{Order, OrderAction, OrderError, transition};
use crate::store::{Changeset, Put, Record, RecordKey, Store, Versioned};

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
    /// Credits `units` (line number, units) of `order`'s lines, as far as they are
    /// still invoiced, on its invoices — those still owing first,
    /// then the newest — and, with `shipping`, every shipping charge not yet
    /// credited: one credit note per invoice touched, exact to the cent (see
    /// [`Oms::credit_invoice`]). Puts the invoices; the caller puts the order and
    /// the customer. Returns the units credited per line: those asked, less any a
    /// credit note had already taken back.
    pub(super) async fn credit_order_lines(
        &self,
        order: &mut Order,
        customer: &mut Customer,
        units: &[(u16, u32)],
        shipping: bool,
        reason: &str,
        changes: &mut Changeset,
    ) -> Result<Vec<(u16, u32)>, Error> {
        // (invoice, its stored version; `None` for one this commit already puts)
        let mut invoices: Vec<(Invoice, Option<u64>)> = Vec::new();
        for id in order.invoices.iter().rev() {
            let (invoice, version) = match changes.pending(&RecordKey::Invoice(*id)) {
                Some(Record::Invoice(pending)) => (pending.clone(), None),
                _ => {
                    let stored = self.must::<Invoice>(id).await?;
                    (stored.value, Some(stored.version))
                }
            };
            if invoice.status != InvoiceStatus::Void {
                invoices.push((invoice, version));
            }
        }
        // Invoices still owing first (newest first among equals): a credit should
        // settle what is owed before it becomes refundable customer credit.
        invoices.sort_by_key(|(inv, _)| inv.outstanding().map_or(true, |o| o.is_zero()));
        let still_invoiced = |line_no: u16| -> u32 {
            invoices
                .iter()
                .flat_map(|(inv, _)| inv.lines.iter())
                .filter(|l| l.line_no == line_no)
                .map(|l| l.quantity.saturating_sub(l.credited).units())
                .sum()
        };
        // As far as still invoiced: a return or a goodwill credit may have taken
        // some back already.
        let mut wanted: Vec<(u16, u32)> = units
            .iter()
            .map(|(line_no, units)| (*line_no, (*units).min(still_invoiced(*line_no))))
            .collect();
        let credited = wanted.clone();
        for (mut invoice, version) in invoices {
            let mut asked: Vec<(u16, u32)> = Vec::new();
            for (line_no, left) in &mut wanted {
                let Some(on_invoice) = invoice.lines.iter().find(|l| l.line_no == *line_no) else {
                    continue;
                };
                let open = on_invoice
                    .quantity
                    .saturating_sub(on_invoice.credited)
                    .units();
                let units = (*left).min(open);
                if units > 0 {
                    asked.push((*line_no, units));
                    *left -= units;
                }
            }
            let charge = if shipping {
                invoice.shipping.checked_sub(invoice.shipping_credit())?
            } else {
                Money::zero(order.currency)
            };
            if asked.is_empty() && !charge.is_positive() {
                continue;
            }
            let lines = credit_lines(&mut invoice, &asked)?;
            let worth = Money::sum(
                order.currency,
                lines
                    .iter()
                    .map(|l| l.net)
                    .chain(lines.iter().map(|l| l.tax)),
            )?
            .checked_add(charge)?;
            if !worth.is_positive() {
                // Free units (a gift, a line discounted to nothing): the invoice
                // counts them credited, and no credit note is worth issuing.
                put_invoice(changes, invoice, version)?;
                continue;
            }
            self.credit_invoice(
                &mut invoice,
                lines,
                charge,
                reason,
                (order, customer),
                changes,
            )
            .await?;
            put_invoice(changes, invoice, version)?;
        }
        Ok(credited)
    }
}

/// Puts an invoice as changed: an update of the stored one, or (`version` is
/// `None`) a restatement of the one this changeset already puts.
fn put_invoice(
    changes: &mut Changeset,
    invoice: Invoice,
    version: Option<u64>,
) -> Result<(), Error> {
    match version {
        Some(version) => changes.puts.push(Put::update(invoice, version)),
        None if changes.restate(invoice) => {}
        None => return Err(Error::invalid("credit", "its invoice left the commit")),
    }
    Ok(())
}
