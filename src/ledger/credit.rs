//! Issuing a credit note: taking back (part of) an invoice — units of its lines
//! with their exact share of price, discount and tax, and shipping. What the
//! invoice still owed shrinks first; anything it had already been paid becomes the
//! customer's credit.

use serde::{Deserialize, Serialize};

use super::PaymentError;
use super::{CreditError, CreditNote, CreditNoteNumber, Invoice, InvoiceLine, InvoiceStatus};
use crate::customer::Customer;
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{CreditNoteId, EntryId, IdempotencyKey, InvoiceId};
use crate::money::Money;
use crate::order::settle::settle;
use crate::order::{LineAmounts, Order};
use crate::quantity::Quantity;
use crate::store::{Changeset, RecordKey};

/// The command to credit (part of) an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IssueCreditNote {
    /// Same key, same credit note.
    pub idempotency_key: IdempotencyKey,
    /// The invoice credited.
    pub invoice: InvoiceId,
    /// Units to credit per invoice line (by the order line number it bills).
    pub lines: Vec<(u16, Quantity)>,
    /// Shipping to credit, if agreed.
    pub shipping: Option<Money>,
    /// Why, in words (goodwill, price adjustment, returned goods, ...).
    pub reason: String,
}

crate::with_setters!(IssueCreditNote {
    with_idempotency_key => idempotency_key: IdempotencyKey,
    with_invoice => invoice: InvoiceId,
    with_lines => lines: Vec<(u16, Quantity)>,
    with_shipping => shipping: Option<Money>,
    with_reason => reason: String,
});

impl IssueCreditNote {
    /// A credit of `invoice` for `reason`, with nothing on it yet: add
    /// [`IssueCreditNote::line`]s and, if agreed, [`IssueCreditNote::shipping`].
    pub fn new(key: IdempotencyKey, invoice: InvoiceId, reason: impl Into<String>) -> Self {
        Self {
            idempotency_key: key,
            invoice,
            lines: Vec::new(),
            shipping: None,
            reason: reason.into(),
        }
    }

    /// Credits `units` of the invoice line that bills order line `line_no`.
    #[must_use]
    pub fn line(mut self, line_no: u16, units: u32) -> Self {
        self.lines.push((line_no, Quantity::new(units)));
        self
    }

    /// Credits `amount` of shipping.
    #[must_use]
    pub fn shipping(mut self, amount: Money) -> Self {
        self.shipping = Some(amount);
        self
    }
}

/// Credits what `cmd` asks of `invoice`, of `order`, from `customer`: updates all
/// three in memory and adds the note (numbered by the store in the commit), its
/// posting and its events to `changes`, then settles the order (a credit may
/// release its payment hold or complete it). The caller puts the invoice and the
/// order, and moves the customer's figures.
///
/// # Errors
/// [`Error::Credit`]: a void invoice, a line not on it, more units than invoiced
/// less credited, shipping beyond what was charged, nothing to credit;
/// [`Error::Payment`] for a shipping amount in another currency, negative or finer
/// than a cent. Nothing is added to `changes` on a refusal.
pub fn issue_credit_note(
    cmd: &IssueCreditNote,
    invoice: &mut Invoice,
    order: &mut Order,
    customer: &mut Customer,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<CreditNote, Error> {
    let (lines, shipping) = credit_note_lines(cmd, invoice)?;
    let note = credit_invoice(
        invoice,
        lines,
        shipping,
        &cmd.reason,
        (order, customer),
        ctx,
        changes,
    )?;
    settle(order, ctx.now, changes)?;
    Ok(note)
}

/// The lines and shipping `cmd` credits, its units marked credited on `invoice`.
fn credit_note_lines(
    cmd: &IssueCreditNote,
    invoice: &mut Invoice,
) -> Result<(Vec<InvoiceLine>, Money), Error> {
    if invoice.status == InvoiceStatus::Void {
        return Err(CreditError::InvoiceVoid(invoice.id).into());
    }
    let currency = invoice.shipping.currency();
    let lines = credit_lines(invoice, &cmd.lines)?;
    let shipping = cmd.shipping.unwrap_or(Money::zero(currency));
    if shipping.currency() != currency {
        return Err(PaymentError::CurrencyMismatch {
            expected: currency,
            found: shipping.currency(),
        }
        .into());
    }
    if shipping.is_negative() || !shipping.is_in_minor_units() {
        return Err(PaymentError::NotInMinorUnits(shipping).into());
    }
    let remaining = invoice.shipping.checked_sub(invoice.shipping_credit())?;
    if shipping.cmp_amount(remaining)?.is_gt() {
        return Err(CreditError::ShippingBeyondCharged {
            remaining,
            requested: shipping,
        }
        .into());
    }
    Ok((lines, shipping))
}

/// Issues a credit note for `lines` (already marked on `invoice`, see
/// [`credit_lines`]) and `shipping`, updating the invoice, its order and its
/// customer in memory and adding the note, its posting and its events to
/// `changes`. The caller puts the invoice, order and customer.
///
/// # Errors
/// [`CreditError::NothingToCredit`] if the note would be worth nothing (then
/// nothing is added to `changes`); [`Error::Money`] or [`Error::Ledger`] if the
/// amounts or the posting cannot be computed.
pub fn credit_invoice(
    invoice: &mut Invoice,
    lines: Vec<InvoiceLine>,
    shipping: Money,
    reason: &str,
    (order, customer): (&mut Order, &mut Customer),
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<CreditNote, Error> {
    let currency = invoice.shipping.currency();
    let now = ctx.now;
    let mut note = CreditNote {
        id: ctx.id(CreditNoteId::from_uuid),
        // The store numbers it in the commit.
        number: CreditNoteNumber::new(0),
        invoice: invoice.id,
        order: order.id,
        customer: customer.id,
        issued_at: now,
        lines,
        shipping,
        reason: reason.to_owned(),
        applied: Money::zero(currency),
        to_customer_credit: Money::zero(currency),
    };
    let total = note.total()?;
    if !total.is_positive() {
        return Err(CreditError::NothingToCredit.into());
    }
    // What the invoice still owed shrinks first; the rest had been paid.
    let owed = invoice.outstanding()?;
    note.applied = total.min(owed.max(Money::zero(currency))?)?;
    note.to_customer_credit = total.checked_sub(note.applied)?;
    changes.number(RecordKey::CreditNote(note.id));
    invoice.credited = Some(invoice.credit_total().checked_add(total)?);
    invoice.shipping_credited = Some(invoice.shipping_credit().checked_add(shipping)?);
    invoice.paid = invoice.paid.checked_sub(note.to_customer_credit)?;
    if invoice.outstanding()?.is_zero() {
        invoice.status = InvoiceStatus::Paid;
    }
    order.credited = Some(order.credit_total().checked_add(total)?);
    order.paid = order.paid.checked_sub(note.to_customer_credit)?;
    let history = &mut customer.history;
    history.balance = history.balance.checked_sub(note.applied)?;
    history.credit = history.credit.checked_add(note.to_customer_credit)?;
    history.lifetime_value = history.lifetime_value.checked_sub(total)?;

    changes.journal.extend(
        ctx.postings
            .credit_note(&note, ctx.id(EntryId::from_uuid), now)?,
    );
    changes.events.push(Event::CreditNoteIssued {
        credit_note: note.id,
        number: note.number,
        invoice: invoice.id,
        order: order.id,
        total,
    });
    if note.to_customer_credit.is_positive() {
        changes.events.push(Event::CustomerCredited {
            customer: customer.id,
            amount: note.to_customer_credit,
        });
    }
    changes.insert(note.clone());
    Ok(note)
}

/// The credit-note lines for `asked` (line number, units), each the exact share of
/// its invoice line, marking the units credited on the invoice.
///
/// # Errors
/// [`CreditError::NotOnInvoice`] for a line the invoice does not bill;
/// [`CreditError::MoreThanInvoiced`] for zero units or more than the line bills
/// less what was credited before.
pub fn credit_lines(
    invoice: &mut Invoice,
    asked: &[(u16, Quantity)],
) -> Result<Vec<InvoiceLine>, Error> {
    let mut lines = Vec::with_capacity(asked.len());
    for (line_no, units) in asked {
        let Some(line) = invoice.lines.iter_mut().find(|l| l.line_no == *line_no) else {
            return Err(CreditError::NotOnInvoice { line_no: *line_no }.into());
        };
        let before = line.credited;
        let after = before
            .checked_add(*units)
            .filter(|after| *after <= line.quantity && !units.is_zero())
            .ok_or(CreditError::MoreThanInvoiced {
                line_no: *line_no,
                invoiced: line.quantity,
                credited: before,
                requested: *units,
            })?;
        let amounts = LineAmounts {
            gross: line.gross,
            discount: line.discount,
            net: line.net,
            tax: line.tax,
        };
        // Cumulative shares, so several notes on one line add up to it exactly.
        let share = amounts
            .portion(after, line.quantity)?
            .checked_sub(&amounts.portion(before, line.quantity)?)?;
        line.credited = after;
        lines.push(InvoiceLine {
            line_no: line.line_no,
            sku: line.sku.clone(),
            description: line.description.clone(),
            quantity: *units,
            gross: share.gross,
            discount: share.discount,
            net: share.net,
            tax_rate: line.tax_rate,
            tax: share.tax,
            credited: Quantity::ZERO,
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    //! The credit-note decision, given an invoice, its order and its customer, with
    //! no store.
    use super::super::fixtures::{Books, at, given_invoiced, pay, usd};
    use super::*;
    use crate::money::Currency;
    use crate::order::{Hold, OrderStatus};

    type World = (Customer, Order, Invoice);

    fn credit(lines: Vec<(u16, u32)>, shipping: Option<Money>) -> IssueCreditNote {
        IssueCreditNote {
            idempotency_key: IdempotencyKey::new("cn-1").unwrap(),
            invoice: given_invoiced().2.id,
            lines: lines
                .into_iter()
                .map(|(line_no, units)| (line_no, Quantity::new(units)))
                .collect(),
            shipping,
            reason: "goodwill".into(),
        }
    }

    fn when_credited(
        cmd: &IssueCreditNote,
        (customer, order, invoice): &mut World,
    ) -> (Result<CreditNote, Error>, Changeset) {
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let note = issue_credit_note(cmd, invoice, order, customer, &books.ctx(), &mut changes);
        (note, changes)
    }

    /// The refusal `cmd` meets, asserting it decided nothing.
    fn refusal(cmd: &IssueCreditNote, world: &mut World) -> Error {
        let (refused, changes) = when_credited(cmd, world);
        let refused = refused.unwrap_err();
        assert!(changes.is_empty(), "a refusal decides nothing");
        refused
    }

    fn credit_error(e: Error) -> CreditError {
        match e {
            Error::Credit(e) => e,
            other => panic!("not a credit error: {other:?}"),
        }
    }

    fn payment_error(e: Error) -> PaymentError {
        match e {
            Error::Payment(e) => e,
            other => panic!("not a payment error: {other:?}"),
        }
    }

    #[test]
    fn crediting_an_unpaid_invoice_lowers_what_it_owes() {
        let mut world = given_invoiced();
        // One mug: 10.00 + 1.00 tax.
        let (note, changes) = when_credited(&credit(vec![(1, 1)], None), &mut world);
        let note = note.unwrap();
        let (customer, order, invoice) = world;
        assert_eq!(note.total().unwrap(), usd(1100));
        assert_eq!((note.applied, note.to_customer_credit), (usd(1100), usd(0)));
        assert_eq!(note.lines.len(), 1);
        assert_eq!(invoice.lines[0].credited, Quantity::new(1));
        assert_eq!(invoice.outstanding().unwrap(), usd(2600));
        assert_eq!(invoice.status, InvoiceStatus::Open);
        assert_eq!(order.credit_total(), usd(1100));
        assert_eq!(customer.history.balance, usd(2600));
        assert_eq!(customer.history.credit, usd(0));
        assert_eq!(customer.history.lifetime_value, usd(2600));
        assert_eq!(changes.puts.len(), 1, "the note; the caller puts the rest");
        assert_eq!(changes.journal.len(), 1);
        assert_eq!(changes.numbered, vec![RecordKey::CreditNote(note.id)]);
        assert!(matches!(
            changes.events.as_slice(),
            [Event::CreditNoteIssued { total, .. }] if *total == usd(1100)
        ));
    }

    #[test]
    fn crediting_a_paid_invoice_gives_the_customer_credit() {
        let mut world = given_invoiced();
        let (customer, order, invoice) = &mut world;
        pay(invoice, order, customer);
        let (note, changes) = when_credited(&credit(vec![(2, 2)], Some(usd(400))), &mut world);
        let note = note.unwrap();
        let (customer, order, invoice) = world;
        // Two cups (10.00 + 1.00 tax) and the 4.00 shipping.
        assert_eq!((note.applied, note.to_customer_credit), (usd(0), usd(1500)));
        assert_eq!(invoice.paid, usd(2200));
        assert_eq!(invoice.status, InvoiceStatus::Paid);
        assert_eq!(invoice.shipping_credit(), usd(400));
        assert_eq!(order.paid, usd(2200));
        assert_eq!(customer.history.credit, usd(1500));
        assert!(matches!(
            changes.events.as_slice(),
            [
                Event::CreditNoteIssued { .. },
                Event::CustomerCredited { amount, .. }
            ] if *amount == usd(1500)
        ));
    }

    #[test]
    fn crediting_what_a_prepaid_order_still_owed_releases_its_hold() {
        let mut world = given_invoiced();
        let (_, order, invoice) = &mut world;
        order.status = OrderStatus::OnHold;
        order.holds = vec![Hold::AwaitingPayment];
        // Everything but one cup paid: crediting that cup settles the order.
        invoice.paid = usd(3150);
        order.paid = usd(3150);
        let (note, changes) = when_credited(&credit(vec![(2, 1)], None), &mut world);
        assert_eq!(note.unwrap().applied, usd(550));
        assert_eq!(world.2.status, InvoiceStatus::Paid);
        assert_eq!(world.1.status, OrderStatus::Open);
        assert!(world.1.holds.is_empty());
        assert!(changes.events.iter().any(|e| matches!(
            e,
            Event::HoldReleased {
                hold: Hold::AwaitingPayment,
                ..
            }
        )));
    }

    #[test]
    fn notes_on_one_line_add_up_to_it_to_the_cent() {
        let mut world = given_invoiced();
        let first = when_credited(&credit(vec![(1, 1)], None), &mut world)
            .0
            .unwrap();
        let second = when_credited(&credit(vec![(1, 1)], None), &mut world)
            .0
            .unwrap();
        let line = &world.2.lines[0];
        assert_eq!(
            first
                .total()
                .unwrap()
                .checked_add(second.total().unwrap())
                .unwrap(),
            line.net.checked_add(line.tax).unwrap()
        );
        let more = refusal(&credit(vec![(1, 1)], None), &mut world);
        assert_eq!(
            credit_error(more),
            CreditError::MoreThanInvoiced {
                line_no: 1,
                invoiced: Quantity::new(2),
                credited: Quantity::new(2),
                requested: Quantity::new(1),
            }
        );
    }

    #[test]
    fn refusals_say_why_and_decide_nothing() {
        let mut world = given_invoiced();
        assert_eq!(
            credit_error(refusal(&credit(vec![(9, 1)], None), &mut world)),
            CreditError::NotOnInvoice { line_no: 9 }
        );
        assert_eq!(
            credit_error(refusal(&credit(vec![(1, 0)], None), &mut world)),
            CreditError::MoreThanInvoiced {
                line_no: 1,
                invoiced: Quantity::new(2),
                credited: Quantity::ZERO,
                requested: Quantity::ZERO,
            }
        );
        assert_eq!(
            credit_error(refusal(&credit(vec![], Some(usd(401))), &mut world)),
            CreditError::ShippingBeyondCharged {
                remaining: usd(400),
                requested: usd(401),
            }
        );
        let euros = Money::from_minor(100, Currency::EUR);
        assert_eq!(
            payment_error(refusal(&credit(vec![], Some(euros)), &mut world)),
            PaymentError::CurrencyMismatch {
                expected: Currency::USD,
                found: Currency::EUR,
            }
        );
        assert_eq!(
            payment_error(refusal(&credit(vec![], Some(usd(-1))), &mut world)),
            PaymentError::NotInMinorUnits(usd(-1))
        );
        let (nothing, changes) = when_credited(&credit(vec![], None), &mut world);
        assert_eq!(
            credit_error(nothing.unwrap_err()),
            CreditError::NothingToCredit
        );
        assert!(changes.is_empty());
        world.2.status = InvoiceStatus::Void;
        let void = world.2.id;
        assert_eq!(
            credit_error(refusal(&credit(vec![(1, 1)], None), &mut world)),
            CreditError::InvoiceVoid(void)
        );
        assert_eq!(world.2.credit_total(), usd(0), "nothing was credited");
    }
}
