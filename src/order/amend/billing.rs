//! An amendment's money: the customer's expected billing, credit notes for
//! invoiced units cut, an invoice for what was added (an order invoiced when
//! placed), paying it from what the credit notes freed, carrying a credit over to
//! moved lines, and the holds an amended order needs.

use crate::RecordPayment;
use crate::customer::{Customer, PaymentMethod, PaymentTerms};
use crate::decide::Context;
use crate::error::Error;
use crate::ids::{IdempotencyKey, InvoiceId};
use crate::ledger::{Invoice, credit_order_lines, issue_invoice, record_payment};
use crate::money::Money;
use crate::order::{Hold, Order, place_hold};
use crate::quantity::Quantity;
use crate::store::{Changeset, Record, RecordKey, Versioned};

/// What the amendment's stock and line changes leave billing to settle.
pub(super) struct Settled<'a> {
    /// Invoiced units cut, to credit: (line, units).
    pub credits: &'a [(u16, Quantity)],
    /// Lines whose open units moved to a line at another tax rate: (from, to,
    /// invoiced units moved).
    pub moved: &'a [(u16, u16, Quantity)],
    /// The order's invoices as read.
    pub invoices: &'a [Versioned<Invoice>],
    /// The invoice policy is `OnOrder`.
    pub bills_on_order: bool,
    /// The amendment's key, named by a payment from freed credit.
    pub key: &'a IdempotencyKey,
}

/// Bills the amended `order` (as it was: `stored`) for `buyer`: what was added or
/// re-priced and is not invoiced joins the expected billing; invoiced units cut
/// are credited (which takes them off the customer's lifetime value itself); an
/// order invoiced when placed is invoiced for the rest, paid first from the credit
/// the amendment freed; credits carry over to moved lines; and holds follow.
pub(super) fn bill(
    stored: &Order,
    order: &mut Order,
    buyer: &mut Customer,
    settled: &Settled<'_>,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    let unbilled_change = order
        .unbilled_value()?
        .checked_sub(stored.unbilled_value()?)?;
    let history = &mut buyer.history;
    history.uninvoiced = history.uninvoiced.checked_add(unbilled_change)?;
    history.lifetime_value = history.lifetime_value.checked_add(unbilled_change)?;

    let credit_before = buyer.history.credit;
    let credited = if settled.credits.is_empty() {
        Vec::new()
    } else {
        credit_order_lines(
            (order, buyer),
            settled.invoices.to_vec(),
            settled.credits,
            false,
            "order amended",
            ctx,
            changes,
        )?
    };
    // An order paid through the provider is invoiced as it ships, whatever
    // the policy: its authorisation is the prepayment.
    let prepaid = buyer.profile.terms == PaymentTerms::Prepaid;
    let invoiced_now =
        (settled.bills_on_order || prepaid) && !order.through_provider && !order.fully_billed();
    let mut new_invoice = None;
    if invoiced_now {
        let unbilled: Vec<(usize, Quantity)> = order
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.wanted().saturating_sub(l.invoiced)))
            .filter(|(_, units)| !units.is_zero())
            .collect();
        let with_shipping = order.shipping_unbilled();
        new_invoice = issue_invoice(order, buyer, &unbilled, with_shipping, ctx, changes)?
            .map(|invoice| invoice.id);
    }
    carry_credit_over(order, buyer, settled, &credited, ctx, changes)?;
    let new_invoice_owes = match new_invoice {
        Some(invoice) => {
            let freed = buyer.history.credit.checked_sub(credit_before)?;
            pay_from_freed_credit(order, buyer, invoice, freed, settled.key, ctx, changes)?
        }
        None => false,
    };
    let dearer = order.value()?.cmp_amount(stored.value()?)?.is_gt();
    hold_if_needed(order, buyer, dearer, new_invoice_owes, changes)
}

/// Holds an amended order: a prepaid one whose new invoice still owes until it
/// is paid, one on terms the amendment made dearer while its customer is over
/// their credit limit. (An older invoice still owing, whose hold an operator
/// released, is not the amendment's business.)
fn hold_if_needed(
    order: &mut Order,
    buyer: &Customer,
    dearer: bool,
    new_invoice_owes: bool,
    changes: &mut Changeset,
) -> Result<(), Error> {
    let hold = match buyer.profile.terms {
        PaymentTerms::Prepaid => new_invoice_owes.then_some(Hold::AwaitingPayment),
        PaymentTerms::Net { .. } => {
            (dearer && buyer.over_credit_limit()?).then_some(Hold::CreditLimit)
        }
    };
    if let Some(hold) = hold {
        place_hold(order, hold, changes)?;
    }
    Ok(())
}

/// Pays the amendment's new invoice from the customer credit the amendment
/// itself freed (money paid for units it credited): the customer's payment
/// follows their order, and only the difference is left to pay (or stays as
/// credit). Credit the customer had before is theirs to spend or not. Returns
/// whether the invoice still owes.
fn pay_from_freed_credit(
    order: &mut Order,
    buyer: &mut Customer,
    invoice: InvoiceId,
    freed: Money,
    key: &IdempotencyKey,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<bool, Error> {
    // The invoice as the commit holds it: a carried credit may have changed it.
    let Some(Record::Invoice(pending)) = changes.pending(&RecordKey::Invoice(invoice)) else {
        return Err(Error::inconsistent(
            "amendment",
            "its invoice was not in the commit",
        ));
    };
    let mut invoice = pending.clone();
    let pay = freed.min(invoice.outstanding()?)?;
    if !pay.is_positive() {
        return Ok(invoice.outstanding()?.is_positive());
    }
    let mut payment =
        RecordPayment::new(key.clone(), invoice.id, pay, PaymentMethod::CustomerCredit);
    payment.reference = Some(format!("credit freed by amendment {key}"));
    record_payment(&payment, &mut invoice, order, buyer, ctx, changes)?;
    let owes = invoice.outstanding()?.is_positive();
    if !changes.restate(invoice) {
        return Err(Error::inconsistent(
            "amendment",
            "its invoice left the commit",
        ));
    }
    Ok(owes)
}

/// Carries over to the lines moved to a new tax rate any credit their units
/// already had: units a credit note took back (a price adjustment, say) are
/// not credited again when they move, so the new line's invoice is credited
/// for them instead, at its own price, and the customer pays what they paid
/// before, taxed anew. `credited` is what crediting the cut units credited.
fn carry_credit_over(
    order: &mut Order,
    buyer: &mut Customer,
    settled: &Settled<'_>,
    credited: &[(u16, Quantity)],
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    let units = |list: &[(u16, Quantity)], line: u16| {
        list.iter()
            .filter(|(l, _)| *l == line)
            .map(|(_, u)| *u)
            .fold(Quantity::ZERO, Quantity::saturating_add)
    };
    let carried: Vec<(u16, Quantity)> = settled
        .moved
        .iter()
        .map(|(from, to, invoiced)| {
            let already = units(settled.credits, *from).saturating_sub(units(credited, *from));
            (*to, already.min(*invoiced))
        })
        .filter(|(_, units)| !units.is_zero())
        .collect();
    if !carried.is_empty() {
        credit_order_lines(
            (order, buyer),
            settled.invoices.to_vec(),
            &carried,
            false,
            "credit carried over to the line re-taxed",
            ctx,
            changes,
        )?;
    }
    Ok(())
}
