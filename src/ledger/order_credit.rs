//! Crediting an order's lines over its invoices: which invoices take back the
//! units an order no longer bills (cancelled, amended away or returned), and how
//! many each.

use super::{Invoice, InvoiceStatus, credit_invoice, credit_lines};
use crate::customer::Customer;
use crate::decide::Context;
use crate::error::Error;
use crate::money::Money;
use crate::order::Order;
use crate::quantity::Quantity;
use crate::store::{Changeset, Entity, Record, RecordKey, Versioned};

/// Credits `units` (line number, units) of `order`'s lines, as far as they are
/// still invoiced, on its invoices — those still owing first, then the newest —
/// and, with `shipping`, every shipping charge not yet credited: one credit note
/// per invoice touched, exact to the cent (see [`credit_invoice`]). Returns the
/// units credited per line: those asked, less any a credit note had already taken
/// back.
///
/// `read` holds the order's invoices as read, except those `changes` already puts
/// (an invoice issued or credited earlier in the same command), which are taken
/// from `changes`. Puts the invoices; the caller puts the order and moves the
/// customer's figures.
///
/// # Errors
/// [`Error::NotFound`] for an invoice of the order neither read nor in `changes`;
/// [`Error::Invalid`] if an invoice `changes` put has left it; as
/// [`credit_invoice`] otherwise.
pub fn credit_order_lines(
    (order, customer): (&mut Order, &mut Customer),
    read: Vec<Versioned<Invoice>>,
    units: &[(u16, Quantity)],
    shipping: bool,
    reason: &str,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Vec<(u16, Quantity)>, Error> {
    let mut invoices = held_invoices(order, read, changes)?;
    // Invoices still owing first (newest first among equals): a credit should
    // settle what is owed before it becomes refundable customer credit.
    invoices.sort_by_key(|(inv, _)| inv.outstanding().map_or(true, |o| o.is_zero()));
    let still_invoiced = |line_no: u16| -> Quantity {
        invoices
            .iter()
            .flat_map(|(inv, _)| inv.lines.iter())
            .filter(|l| l.line_no == line_no)
            .map(|l| l.quantity.saturating_sub(l.credited))
            .fold(Quantity::ZERO, Quantity::saturating_add)
    };
    // As far as still invoiced: a return or a goodwill credit may have taken
    // some back already.
    let mut wanted: Vec<(u16, Quantity)> = units
        .iter()
        .map(|(line_no, units)| (*line_no, (*units).min(still_invoiced(*line_no))))
        .collect();
    let credited = wanted.clone();
    for (mut invoice, version) in invoices {
        let mut asked: Vec<(u16, Quantity)> = Vec::new();
        for (line_no, left) in &mut wanted {
            let Some(on_invoice) = invoice.lines.iter().find(|l| l.line_no == *line_no) else {
                continue;
            };
            let open = on_invoice.quantity.saturating_sub(on_invoice.credited);
            let units = (*left).min(open);
            if !units.is_zero() {
                asked.push((*line_no, units));
                *left = left.saturating_sub(units);
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
        if worth.is_positive() {
            credit_invoice(
                &mut invoice,
                lines,
                charge,
                reason,
                (order, customer),
                ctx,
                changes,
            )?;
        }
        // Free units (a gift, a line discounted to nothing) are counted credited
        // on the invoice all the same; no credit note is worth issuing for them.
        put_invoice(changes, invoice, version)?;
    }
    Ok(credited)
}

/// The order's invoices that are not void, newest first, each with the version
/// it was read at (`None` for one `changes` already puts).
fn held_invoices(
    order: &Order,
    mut read: Vec<Versioned<Invoice>>,
    changes: &Changeset,
) -> Result<Vec<(Invoice, Option<u64>)>, Error> {
    let mut invoices = Vec::with_capacity(order.invoices.len());
    for id in order.invoices.iter().rev() {
        let (invoice, version) = match changes.pending(&RecordKey::Invoice(*id)) {
            Some(Record::Invoice(pending)) => (pending.clone(), None),
            _ => {
                let at = read
                    .iter()
                    .position(|v| v.value.id == *id)
                    .ok_or_else(|| Error::dangling(Invoice::kind(), id))?;
                let stored = read.swap_remove(at);
                (stored.value, Some(stored.version))
            }
        };
        if invoice.status != InvoiceStatus::Void {
            invoices.push((invoice, version));
        }
    }
    Ok(invoices)
}

/// Puts an invoice as changed: an update of the stored one, or (`version` is
/// `None`) a restatement of the one this changeset already puts.
fn put_invoice(
    changes: &mut Changeset,
    invoice: Invoice,
    version: Option<u64>,
) -> Result<(), Error> {
    match version {
        Some(version) => changes.update(invoice, version),
        None if changes.restate(invoice) => {}
        None => return Err(Error::inconsistent("credit", "its invoice left the commit")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Which invoices take back an order's lines, given the order, its customer
    //! and its invoices, with no store.
    use super::super::fixtures::{Books, at, bill, given_order, pay, usd};
    use super::super::{CreditError, CreditNote};
    use super::*;
    use crate::event::Event;
    use crate::quantity::Quantity;

    /// Ada's order billed on two invoices: the mugs with the shipping (26.00,
    /// paid), then the cups (11.00, owing).
    struct Given {
        customer: Customer,
        order: Order,
        mugs: Invoice,
        cups: Invoice,
    }

    fn given() -> Given {
        let (mut customer, mut order) = given_order();
        let mut mugs = bill(&mut order, &[0], true, 3);
        let cups = bill(&mut order, &[1], false, 4);
        customer.history.uninvoiced = usd(0);
        customer.history.balance = order.invoiced;
        pay(&mut mugs, &mut order, &mut customer);
        Given {
            customer,
            order,
            mugs,
            cups,
        }
    }

    impl Given {
        /// Both invoices, as the store returned them.
        fn read(&self) -> Vec<Versioned<Invoice>> {
            [&self.mugs, &self.cups]
                .into_iter()
                .map(|i| Versioned {
                    value: i.clone(),
                    version: 1,
                })
                .collect()
        }

        fn when_credited(
            &mut self,
            read: Vec<Versioned<Invoice>>,
            units: &[(u16, u32)],
            shipping: bool,
            changes: &mut Changeset,
        ) -> Result<Vec<(u16, u32)>, Error> {
            let books = Books::new();
            let units: Vec<(u16, Quantity)> = units
                .iter()
                .map(|(line_no, n)| (*line_no, Quantity::new(*n)))
                .collect();
            let credited = credit_order_lines(
                (&mut self.order, &mut self.customer),
                read,
                &units,
                shipping,
                "cancelled",
                &books.ctx(),
                changes,
            )?;
            Ok(credited
                .into_iter()
                .map(|(line_no, n)| (line_no, n.units()))
                .collect())
        }
    }

    fn notes(changes: &Changeset) -> Vec<CreditNote> {
        changes
            .puts
            .iter()
            .filter_map(|p| match &p.record {
                Record::CreditNote(n) => Some(n.clone()),
                _ => None,
            })
            .collect()
    }

    fn invoice(changes: &Changeset, id: crate::ids::InvoiceId) -> Invoice {
        match changes.pending(&RecordKey::Invoice(id)) {
            Some(Record::Invoice(i)) => i.clone(),
            other => panic!("invoice {id} not put: {other:?}"),
        }
    }

    #[test]
    fn each_invoice_credits_its_own_lines_the_owing_one_first() {
        let mut world = given();
        let read = world.read();
        let mut changes = Changeset::new(at());
        let credited = world
            .when_credited(read, &[(1, 1), (2, 2)], false, &mut changes)
            .unwrap();
        assert_eq!(credited, vec![(1, 1), (2, 2)]);
        let notes = notes(&changes);
        assert_eq!(notes.len(), 2, "one note per invoice touched");
        // The owing invoice (cups) first: its credit cancels what it owed.
        assert_eq!(notes[0].invoice, world.cups.id);
        assert_eq!(
            (notes[0].applied, notes[0].to_customer_credit),
            (usd(1100), usd(0))
        );
        // The paid one (mugs): its credit becomes customer credit.
        assert_eq!(notes[1].invoice, world.mugs.id);
        assert_eq!(
            (notes[1].applied, notes[1].to_customer_credit),
            (usd(0), usd(1100))
        );
        assert_eq!(world.customer.history.credit, usd(1100));
        assert_eq!(world.customer.history.balance, usd(0));
        assert_eq!(invoice(&changes, world.cups.id).status, InvoiceStatus::Paid);
        assert_eq!(
            invoice(&changes, world.mugs.id).lines[0].credited,
            Quantity::new(1)
        );
        assert_eq!(
            changes
                .events
                .iter()
                .filter(|e| matches!(e, Event::CreditNoteIssued { .. }))
                .count(),
            2
        );
    }

    #[test]
    fn only_units_still_invoiced_are_credited_and_shipping_on_request() {
        let mut world = given();
        // A goodwill note already took one cup back.
        credit_lines(&mut world.cups, &[(2, Quantity::new(1))]).unwrap();
        let read = world.read();
        let mut changes = Changeset::new(at());
        let credited = world
            .when_credited(read, &[(2, 2)], true, &mut changes)
            .unwrap();
        assert_eq!(credited, vec![(2, 1)]);
        let notes = notes(&changes);
        assert_eq!(notes.len(), 2);
        assert_eq!(notes[0].lines[0].quantity, Quantity::new(1));
        // The mugs' invoice gives back only its shipping.
        assert!(notes[1].lines.is_empty());
        assert_eq!(notes[1].shipping, usd(400));
    }

    #[test]
    fn free_units_are_marked_credited_with_no_note() {
        let mut world = given();
        for line in &mut world.cups.lines {
            line.net = usd(0);
            line.tax = usd(0);
        }
        let read = world.read();
        let mut changes = Changeset::new(at());
        world
            .when_credited(read, &[(2, 2)], false, &mut changes)
            .unwrap();
        assert!(notes(&changes).is_empty());
        assert!(changes.events.is_empty());
        assert_eq!(
            invoice(&changes, world.cups.id).lines[0].credited,
            Quantity::new(2)
        );
    }

    #[test]
    fn an_invoice_already_in_the_changeset_is_restated_and_a_void_one_skipped() {
        let mut world = given();
        let mut changes = Changeset::new(at());
        // The cups were invoiced by this same command; the mugs' invoice is void.
        changes.insert(world.cups.clone());
        world.mugs.status = InvoiceStatus::Void;
        let read = vec![Versioned {
            value: world.mugs.clone(),
            version: 1,
        }];
        let credited = world
            .when_credited(read, &[(1, 2), (2, 2)], true, &mut changes)
            .unwrap();
        assert_eq!(credited, vec![(1, 0), (2, 2)]);
        let cups: Vec<_> = changes
            .puts
            .iter()
            .filter(|p| p.record.key() == RecordKey::Invoice(world.cups.id))
            .collect();
        assert_eq!(cups.len(), 1, "restated, not put twice");
        assert_eq!(invoice(&changes, world.cups.id).credit_total(), usd(1100));
        assert_eq!(notes(&changes).len(), 1);
    }

    #[test]
    fn an_invoice_neither_read_nor_pending_is_not_found() {
        let mut world = given();
        let mut changes = Changeset::new(at());
        let missing = world
            .when_credited(Vec::new(), &[(1, 1)], false, &mut changes)
            .unwrap_err();
        assert!(
            matches!(missing, Error::DanglingReference { entity, .. } if entity == Invoice::kind())
        );
        assert!(changes.is_empty());
        assert!(matches!(
            credit_lines(&mut world.cups, &[(1, Quantity::new(1))]),
            Err(Error::Credit(CreditError::NotOnInvoice { line_no: 1 }))
        ));
    }
}
