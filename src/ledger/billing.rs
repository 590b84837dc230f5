//! Issuing an invoice for part or all of an order: the decision every command that
//! bills (placing, shipping, amending, exchanging) shares.

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
use crate::store::{Changeset, Put, RecordKey};

/// Bills `portions` (line index, units) of `order` — and its shipping, if
/// `with_shipping` — on a new invoice added to `changes`, keeping the order's and
/// the customer's totals in step. `None` if there is nothing to bill. The store
/// numbers the invoice in the commit.
///
/// # Errors
/// [`Error::Order`] for a portion beyond what is left to bill; [`Error::Invalid`] if
/// the due date falls beyond the calendar; [`Error::Money`] on overflow;
/// [`Error::Ledger`] if the posting rules are broken.
pub(crate) fn issue_invoice(
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
            .ok_or_else(|| Error::invalid("due date", "falls beyond the calendar's range"))?,
    };
    let mut invoice = Invoice {
        id: ctx.id(InvoiceId::from_uuid),
        number: InvoiceNumber::new(0),
        order: order.id,
        customer: order.customer,
        issued_at: now,
        due_at,
        lines,
        shipping,
        paid: Money::zero(order.currency),
        status: InvoiceStatus::Open,
        credited: None,
        shipping_credited: None,
    };
    let total = invoice.total()?;
    // Nothing to pay (a fully discounted order): settled the moment it is issued.
    if total.is_zero() {
        invoice.status = InvoiceStatus::Paid;
    }
    order.invoices.push(invoice.id);
    order.invoiced = order.invoiced.checked_add(total)?;
    let history = &mut customer.history;
    history.balance = history.balance.checked_add(total)?;
    history.uninvoiced = history.uninvoiced.checked_sub(total)?;
    changes.journal.extend(
        ctx.postings
            .invoice(&invoice, ctx.id(EntryId::from_uuid), now)?,
    );
    changes.events.push(Event::InvoiceIssued {
        invoice: invoice.id,
        number: invoice.number,
        order: order.id,
        total,
    });
    changes.puts.push(Put::insert(invoice.clone()));
    changes.number(RecordKey::Invoice(invoice.id));
    Ok(Some(invoice))
}
