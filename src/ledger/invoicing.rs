//! Issuing an invoice: billing units of an order (and its shipping) when the
//! invoice policy says they are due — on order, on shipment, or at once for a
//! prepaid customer.

use chrono::Duration;

use super::{Invoice, InvoiceNumber, InvoiceStatus};
use crate::customer::{Customer, PaymentTerms};
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{EntryId, InvoiceId};
use crate::money::Money;
use crate::order::Order;
use crate::quantity::Quantity;
use crate::store::{Changeset, RecordKey};

/// Bills `portions` (line index, units) of `order` (and its shipping, if
/// `with_shipping`) on a new invoice added to `changes` with its posting and event,
/// keeping the order's and `customer`'s totals in step in memory. The store numbers
/// the invoice in the commit; the caller puts the order and moves the customer's
/// figures. Returns `None`, deciding nothing, when there is nothing left to bill.
///
/// The invoice falls due at once on prepaid terms, after the customer's days on
/// net terms; one worth nothing (a fully discounted order) is paid the moment it
/// is issued.
///
/// # Errors
/// [`Error::Invalid`] for a due date beyond the calendar; [`Error::Order`],
/// [`Error::Money`] or [`Error::Ledger`] if the amounts or the posting cannot be
/// computed.
pub fn issue_invoice(
    order: &mut Order,
    customer: &mut Customer,
    portions: &[(usize, Quantity)],
    with_shipping: bool,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Option<Invoice>, Error> {
    let now = ctx.now;
    let (lines, shipping) = order.bill(portions, with_shipping)?;
    if lines.is_empty() && shipping.is_zero() {
        return Ok(None);
    }
    let due_at = match customer.profile.terms {
        PaymentTerms::Prepaid => now,
        PaymentTerms::Net { days } => now
            .checked_add_signed(Duration::days(i64::from(days)))
            .ok_or_else(|| Error::inconsistent("due date", "falls beyond the calendar's range"))?,
    };
    let mut invoice = Invoice {
        id: ctx.id(InvoiceId::from_uuid),
        // The store numbers it in the commit.
        number: InvoiceNumber::new(0),
        order: order.id,
        customer: order.customer,
        issued_at: now,
        due_at,
        lines: lines.into(),
        shipping,
        paid: Money::zero(order.currency),
        status: InvoiceStatus::Open,
        credited: None,
        shipping_credited: None,
        reminders: 0,
        next_reminder_at: None,
    };
    let totals = invoice.totals()?;
    let total = totals.total;
    // Nothing to pay (a fully discounted order): settled the moment it is issued.
    if total.is_zero() {
        invoice.status = InvoiceStatus::Paid;
    }
    order.invoices.push(invoice.id);
    order.invoiced = order.invoiced.checked_add(total)?;
    let history = &mut customer.history;
    history.balance = history.balance.checked_add(total)?;
    history.uninvoiced = history.uninvoiced.checked_sub(total)?;
    changes.journal.extend(ctx.postings.invoice_totalled(
        &invoice,
        &totals,
        ctx.id(EntryId::from_uuid),
        now,
    )?);
    changes.events.push(Event::InvoiceIssued {
        invoice: invoice.id,
        number: invoice.number,
        order: order.id,
        total,
    });
    changes.insert(invoice.clone());
    changes.number(RecordKey::Invoice(invoice.id));
    Ok(Some(invoice))
}

#[cfg(test)]
mod tests {
    //! The invoicing decision, given an order and its customer, with no store.
    use super::super::fixtures::{Books, at, given_order, usd};
    use super::*;
    use crate::order::LineAmounts;

    fn when_invoiced(
        portions: &[(usize, u32)],
        with_shipping: bool,
        (customer, order): &mut (Customer, Order),
    ) -> (Option<Invoice>, Changeset) {
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let portions: Vec<(usize, Quantity)> = portions
            .iter()
            .map(|(i, u)| (*i, Quantity::new(*u)))
            .collect();
        let invoice = issue_invoice(
            order,
            customer,
            &portions,
            with_shipping,
            &books.ctx(),
            &mut changes,
        )
        .unwrap();
        (invoice, changes)
    }

    #[test]
    fn billing_units_issues_an_invoice_due_on_the_customers_terms() {
        let mut world = given_order();
        // One mug (11.00 with tax) and the 4.00 shipping.
        let (invoice, changes) = when_invoiced(&[(0, 1)], true, &mut world);
        let invoice = invoice.unwrap();
        let (customer, order) = world;
        assert_eq!(invoice.total().unwrap(), usd(1500));
        assert_eq!(invoice.status, InvoiceStatus::Open);
        assert_eq!(invoice.due_at, at() + Duration::days(30));
        assert_eq!(order.invoices, vec![invoice.id]);
        assert_eq!(order.invoiced, usd(1500));
        assert_eq!(order.lines[0].invoiced, Quantity::new(1));
        assert_eq!(customer.history.balance, usd(1500));
        assert_eq!(customer.history.uninvoiced, usd(2200));
        assert_eq!(
            changes.puts.len(),
            1,
            "the invoice; the caller puts the rest"
        );
        assert_eq!(changes.journal.len(), 1);
        assert_eq!(changes.numbered, vec![RecordKey::Invoice(invoice.id)]);
        assert!(matches!(
            changes.events.as_slice(),
            [Event::InvoiceIssued { total, .. }] if *total == usd(1500)
        ));
    }

    #[test]
    fn a_prepaid_customer_owes_at_once() {
        let mut world = given_order();
        let mut profile = (*world.0.profile).clone();
        profile.terms = PaymentTerms::Prepaid;
        world.0.profile = profile.into();
        let (invoice, _) = when_invoiced(&[(0, 2), (1, 2)], true, &mut world);
        let invoice = invoice.unwrap();
        assert_eq!(invoice.due_at, at());
        assert_eq!(invoice.total().unwrap(), usd(3700));
        assert_eq!(world.0.history.uninvoiced, usd(0));
    }

    #[test]
    fn one_line_shipped_from_two_places_is_one_invoice_line() {
        // Two picks of line 0 (one mug from each warehouse) in one shipping run:
        // crediting finds an invoice line by its order line, so it must be one.
        let mut world = given_order();
        let (invoice, _) = when_invoiced(&[(0, 1), (0, 1)], false, &mut world);
        let invoice = invoice.unwrap();
        assert_eq!(invoice.lines.len(), 1);
        assert_eq!(invoice.lines[0].quantity, Quantity::new(2));
        assert_eq!(world.1.lines[0].invoiced, Quantity::new(2));
    }

    #[test]
    fn nothing_left_to_bill_issues_nothing() {
        let mut world = given_order();
        when_invoiced(&[(0, 2)], false, &mut world).0.unwrap();
        let before = world.clone();
        let (again, changes) = when_invoiced(&[(0, 2)], false, &mut world);
        assert_eq!(again, None);
        assert!(changes.is_empty());
        assert_eq!(world, before);
    }

    #[test]
    fn an_invoice_worth_nothing_is_paid_when_issued() {
        let mut world = given_order();
        world.1.shipping_charge = usd(0);
        // Discounted to nothing.
        for line in &mut world.1.lines {
            let gross = line.amounts.gross;
            line.amounts = LineAmounts {
                gross,
                discount: gross,
                net: usd(0),
                tax: usd(0),
            };
        }
        let (invoice, _) = when_invoiced(&[(0, 2), (1, 2)], false, &mut world);
        let invoice = invoice.unwrap();
        assert_eq!(invoice.total().unwrap(), usd(0));
        assert_eq!(invoice.status, InvoiceStatus::Paid);
        assert_eq!(world.0.history.balance, usd(0), "nothing is owed");
    }
}
