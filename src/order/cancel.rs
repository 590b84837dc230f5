//! Cancelling an order, decided: a whole order that has not shipped is voided; one
//! that shipped in part (or has credit notes against it) keeps what shipped and
//! credits the rest.

use super::settle::settle;
use super::{Order, OrderAction, OrderError, transition};
use crate::customer::Customer;
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{EntryId, Sku};
use crate::ledger::{Invoice, InvoiceStatus, credit_order_lines};
use crate::money::Money;
use crate::purchasing::Backlog;
use crate::quantity::Quantity;
use crate::stock::Location;
use crate::store::{Changeset, Entity, Versioned};

/// What cancelling an order rests on besides the order and its customer: its
/// invoices, the locations its reservations are at, and a [`Backlog`] holding the
/// queues of its SKUs (see [`queues_touched`]) with the orders waiting in them.
#[derive(Debug)]
pub(crate) struct CancelInputs<'a> {
    /// The order's invoices, as read.
    pub invoices: Vec<Versioned<Invoice>>,
    /// Every location.
    pub sites: &'a [Location],
    /// The queues released units go back to, and those its back-orders leave.
    pub backlog: &'a mut Backlog,
}

/// The SKUs whose back-order queues cancelling `order` touches: those of lines
/// still waiting or holding reservations.
pub(crate) fn queues_touched(order: &Order) -> Vec<Sku> {
    crate::ids::distinct(
        order
            .lines
            .iter()
            .filter(|line| !line.backordered.is_zero() || !line.reservations.is_empty())
            .map(|line| &line.sku),
    )
}

/// Cancels `order` for `reason`, into `changes`. One that has not shipped and has
/// no credit notes is cancelled whole: its reservations released (to waiting
/// back-orders first), its invoices voided (their postings reversed) and anything
/// paid moved to the customer's credit. Otherwise see [`cancel_remainder`]. The
/// caller puts the order and moves the customer's figures; the invoices and the
/// backlog's records are in `changes`.
///
/// # Errors
/// [`Error::Order`] with `InvalidTransition` for a completed or cancelled order, or
/// `NothingToCancel` when everything has shipped; [`Error::NotFound`] for an
/// invoice of the order that was not read.
pub(crate) fn cancel_order(
    order: &mut Order,
    customer: &mut Customer,
    reason: &str,
    inputs: CancelInputs<'_>,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    let status = transition(order.status, OrderAction::Cancel)?;
    order.ensure_not_released()?;
    // Once goods shipped, or credit notes stand against its invoices (voiding
    // would reverse the credited part twice), cancelling goes by credit notes.
    if order.lines.iter().any(|l| !l.shipped.is_zero()) || order.credit_total().is_positive() {
        return cancel_remainder(order, customer, reason, inputs, ctx, changes);
    }
    let CancelInputs {
        invoices,
        sites,
        backlog,
    } = inputs;
    let now = ctx.now;
    changes.events.push(Event::OrderCancelled {
        order: order.id,
        reason: reason.to_owned(),
    });
    // Worked out before the release marks every unshipped unit cancelled.
    let value = order.value()?;
    let unbilled = order.unbilled_value()?;
    backlog.release_unshipped(order, sites, changes)?;

    let history = &mut customer.history;
    history.uninvoiced = history.uninvoiced.checked_sub(unbilled)?;
    history.lifetime_value = history.lifetime_value.checked_sub(value)?;
    history.orders_cancelled = history.orders_cancelled.saturating_add(1);

    let mut refunded_to_credit = Money::zero(order.currency);
    for id in &order.invoices {
        let stored = invoices
            .iter()
            .find(|i| i.value.id == *id)
            .ok_or_else(|| Error::dangling(Invoice::kind(), id))?;
        let mut invoice = stored.value.clone();
        if invoice.status == InvoiceStatus::Void {
            continue;
        }
        let total = invoice.total()?;
        changes.journal.extend(
            ctx.postings
                .void(&invoice, ctx.id(EntryId::from_uuid), now)?,
        );
        history.balance = history
            .balance
            .checked_sub(total.checked_sub(invoice.paid)?)?;
        refunded_to_credit = refunded_to_credit.checked_add(invoice.paid)?;
        order.invoiced = order.invoiced.checked_sub(total)?;
        order.paid = order.paid.checked_sub(invoice.paid)?;
        invoice.status = InvoiceStatus::Void;
        changes.events.push(Event::InvoiceVoided {
            invoice: invoice.id,
            order: order.id,
        });
        changes.update(invoice, stored.version);
    }
    if refunded_to_credit.is_positive() {
        changes.journal.extend(ctx.postings.credit_on_cancel(
            order.id,
            refunded_to_credit,
            ctx.id(EntryId::from_uuid),
            now,
        )?);
        history.credit = history.credit.checked_add(refunded_to_credit)?;
        changes.events.push(Event::CustomerCredited {
            customer: customer.id,
            amount: refunded_to_credit,
        });
    }
    order.status = status;
    order.holds.clear();
    order.awaiting_payment_since = None;
    order.closed_at = Some(now);
    Ok(())
}

/// Keeps what has shipped of an order and cancels the rest: reservations are
/// released (to waiting back-orders first), back-ordered units leave their queues,
/// units invoiced but not shipped are credited — one credit note per invoice, exact
/// to the cent, anything already paid for them becoming customer credit — and
/// units not yet invoiced leave the customer's expected billing. Shipping charged
/// stays charged. The order stays open for what shipped, and completes if that is
/// delivered and settled. An order with credit notes but nothing shipped is
/// cancelled whole this way, shipping included.
///
/// # Errors
/// [`Error::Order`] with `NothingToCancel` when everything has shipped.
pub(crate) fn cancel_remainder(
    order: &mut Order,
    customer: &mut Customer,
    reason: &str,
    inputs: CancelInputs<'_>,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    let CancelInputs {
        invoices,
        sites,
        backlog,
    } = inputs;
    let now = ctx.now;
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
    let remainder_event = changes.events.len();
    changes.events.push(Event::OrderRemainderCancelled {
        order: order.id,
        reason: reason.to_owned(),
        units: left,
        value: None,
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
    let unshipped_invoiced: Vec<(u16, Quantity)> = order
        .lines
        .iter()
        .map(|l| {
            let wanted = l.wanted();
            (l.line_no, l.invoiced.min(wanted).saturating_sub(l.shipped))
        })
        .filter(|(_, units)| !units.is_zero())
        .collect();
    backlog.release_unshipped(order, sites, changes)?;
    let history = &mut customer.history;
    history.uninvoiced = history.uninvoiced.checked_sub(not_invoiced)?;
    history.lifetime_value = history.lifetime_value.checked_sub(not_invoiced)?;

    credit_order_lines(
        (order, customer),
        invoices,
        &unshipped_invoiced,
        whole,
        &format!("not shipped, cancelled: {reason}"),
        ctx,
        changes,
    )?;
    if whole {
        order.status = transition(order.status, OrderAction::Cancel)?;
        order.holds.clear();
        order.awaiting_payment_since = None;
        order.closed_at = Some(now);
        customer.history.orders_cancelled = customer.history.orders_cancelled.saturating_add(1);
        changes.events.push(Event::OrderCancelled {
            order: order.id,
            reason: reason.to_owned(),
        });
    } else {
        // What the order is worth now its remainder is gone (the release above
        // marked those units cancelled), for those who follow the log.
        let now_worth = order.value()?;
        if let Some(Event::OrderRemainderCancelled { value, .. }) =
            changes.events.get_mut(remainder_event)
        {
            *value = Some(now_worth);
        }
        settle(order, now, changes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::Address;
    use crate::ids::LocationId;
    use crate::ledger::fixtures::{Books, at, given_invoiced, given_order, pay, usd};
    use crate::order::{LineReservation, OrderStatus};
    use crate::quantity::Quantity;
    use crate::stock::LocationKind;
    use crate::store::Put;

    fn shop() -> Location {
        let address = Address::new("Shop", "2 Low St", "Leeds", "LS1 2AB", "GB");
        Location::new(
            LocationId::new("SHOP").unwrap(),
            "Shop",
            LocationKind::Store,
            address,
            1,
        )
    }

    /// `order` with its mugs reserved at the shop, and a backlog holding the
    /// (empty) queues cancelling it touches.
    fn reserved(order: &mut Order) -> Backlog {
        order.lines[0]
            .reservations
            .push(LineReservation::new(shop().id, Quantity::new(2)));
        let mut backlog = Backlog::default();
        for sku in queues_touched(order) {
            backlog.adopt_queue(&sku, None);
        }
        backlog
    }

    #[test]
    fn a_paid_order_not_shipped_is_voided_and_its_money_becomes_credit() {
        let (mut ada, mut order, mut invoice) = given_invoiced();
        pay(&mut invoice, &mut order, &mut ada);
        let mut backlog = reserved(&mut order);
        let sites = [shop()];
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let inputs = CancelInputs {
            invoices: vec![Versioned {
                value: invoice,
                version: 4,
            }],
            sites: &sites,
            backlog: &mut backlog,
        };
        cancel_order(
            &mut order,
            &mut ada,
            "changed mind",
            inputs,
            &books.ctx(),
            &mut changes,
        )
        .unwrap();
        assert_eq!(order.status, OrderStatus::Cancelled);
        assert_eq!(order.invoiced, usd(0));
        assert_eq!(ada.history.credit, usd(3700), "what was paid is credit");
        assert_eq!(ada.history.orders_cancelled, 1);
        assert_eq!(ada.history.balance, usd(0));
        assert!(matches!(
            changes.puts.as_slice(),
            [Put {
                expected: Some(4),
                ..
            }]
        ));
        assert_eq!(changes.reservations.len(), 1);
        assert_eq!(changes.reservations[0].quantity, -2);
        assert!(
            changes
                .events
                .iter()
                .any(|e| matches!(e, Event::InvoiceVoided { .. }))
        );
        assert!(
            changes.events.iter().any(
                |e| matches!(e, Event::CustomerCredited { amount, .. } if *amount == usd(3700))
            )
        );
        // The void and the credit, each balanced.
        assert_eq!(changes.journal.len(), 2);
    }

    #[test]
    fn a_partly_shipped_order_keeps_what_shipped_and_credits_the_rest() {
        let (mut ada, mut order, invoice) = given_invoiced();
        order.lines[0].shipped = Quantity::new(2);
        let mut backlog = Backlog::default();
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let inputs = CancelInputs {
            invoices: vec![Versioned {
                value: invoice,
                version: 1,
            }],
            sites: &[],
            backlog: &mut backlog,
        };
        cancel_order(
            &mut order,
            &mut ada,
            "out of cups",
            inputs,
            &books.ctx(),
            &mut changes,
        )
        .unwrap();
        assert_ne!(order.status, OrderStatus::Cancelled, "the mugs shipped");
        assert_eq!(order.lines[1].cancelled.units(), 2);
        assert!(
            changes
                .events
                .iter()
                .any(|e| matches!(e, Event::OrderRemainderCancelled { units: 2, .. }))
        );
        assert!(
            changes
                .events
                .iter()
                .any(|e| matches!(e, Event::CreditNoteIssued { .. }))
        );
        // Two cups at 5.00 with 10 % tax, off what Ada owes.
        assert_eq!(ada.history.balance, usd(3700 - 1100));
    }

    #[test]
    fn nothing_is_left_to_cancel_once_everything_shipped() {
        let (mut ada, mut order, invoice) = given_invoiced();
        for line in &mut order.lines {
            line.shipped = line.quantity;
        }
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let inputs = CancelInputs {
            invoices: vec![Versioned {
                value: invoice,
                version: 1,
            }],
            sites: &[],
            backlog: &mut Backlog::default(),
        };
        let refused = cancel_order(
            &mut order,
            &mut ada,
            "late",
            inputs,
            &books.ctx(),
            &mut changes,
        );
        assert!(matches!(
            refused,
            Err(Error::Order(OrderError::NothingToCancel))
        ));
    }

    #[test]
    fn a_cancelled_order_cannot_be_cancelled_again() {
        let (mut ada, mut order) = given_order();
        order.status = OrderStatus::Cancelled;
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let inputs = CancelInputs {
            invoices: Vec::new(),
            sites: &[],
            backlog: &mut Backlog::default(),
        };
        let refused = cancel_order(
            &mut order,
            &mut ada,
            "twice",
            inputs,
            &books.ctx(),
            &mut changes,
        );
        assert!(matches!(
            refused,
            Err(Error::Order(OrderError::InvalidTransition { .. }))
        ));
        assert_eq!(changes, Changeset::new(at()));
    }
}
