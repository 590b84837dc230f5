//! Credit notes and refunds.
//!
//! A credit note takes back (part of) an invoice — units of its lines with their
//! exact share of price, discount and tax, and shipping — in one commit. What the
//! invoice still owed shrinks first; anything it had already been paid becomes the
//! customer's credit. A refund pays customer credit back the way a payment came.

use serde::{Deserialize, Serialize};

use super::{Oms, fingerprint};
use crate::customer::{Customer, PaymentMethod};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{CreditNoteId, EntryId, IdempotencyKey, InvoiceId, PaymentId};
use crate::ledger::{
    CreditError, CreditNote, CreditNoteNumber, Invoice, InvoiceLine, InvoiceStatus, Payment,
    PaymentError,
};
use crate::money::Money;
use crate::order::{LineAmounts, Order};
use crate::quantity::Quantity;
use crate::store::{Changeset, IdempotencyScope, IdempotentOutcome, Prefetch, Put, Store};

/// The command to credit (part of) an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IssueCreditNote {
    /// Same key, same credit note.
    pub idempotency_key: IdempotencyKey,
    /// The invoice credited.
    pub invoice: InvoiceId,
    /// Units to credit per invoice line (by the order line number it bills).
    pub lines: Vec<(u16, u32)>,
    /// Shipping to credit, if agreed.
    pub shipping: Option<Money>,
    /// Why, in words (goodwill, price adjustment, returned goods, ...).
    pub reason: String,
}

/// The command to refund customer credit against one of their payments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordRefund {
    /// Same key, same refund.
    pub idempotency_key: IdempotencyKey,
    /// The payment refunded (the money goes back the way it came).
    pub payment: PaymentId,
    /// How much.
    pub amount: Money,
}

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Credits units of an invoice's lines and, if agreed, shipping.
    ///
    /// Each line's share is exact: crediting a line's units in several notes adds up
    /// to the line to the cent, as invoicing it in parts does. The invoice's
    /// outstanding amount falls by the credit; whatever it had already been paid
    /// beyond its new total becomes customer credit (refund it with
    /// [`Oms::record_refund`]).
    ///
    /// # Errors
    /// [`Error::Credit`]: a void invoice, a line not on it, more units than invoiced
    /// less credited, shipping beyond what was charged, nothing to credit;
    /// [`Error::Payment`] for a shipping amount in another currency, negative or
    /// finer than a cent; [`Error::NotFound`]; [`Error::IdempotencyKeyReused`].
    pub async fn issue_credit_note(&self, cmd: IssueCreditNote) -> Result<CreditNote, Error> {
        let print = fingerprint(&IssueCreditNote {
            shipping: cmd.shipping.map(super::canonical_money),
            ..cmd.clone()
        })?;
        let issued = super::retrying!(self, self.try_issue_credit_note(&cmd, print).await);
        if issued.is_err() {
            // A twin committed after this one checked its key: answer with its note.
            if let Some(IdempotentOutcome::CreditNote(id)) = self
                .replay(
                    IdempotencyScope::IssueCreditNote,
                    &cmd.idempotency_key,
                    print,
                )
                .await?
            {
                return Ok(self.must::<CreditNote>(&id).await?.value);
            }
        }
        issued
    }

    async fn try_issue_credit_note(
        &self,
        cmd: &IssueCreditNote,
        print: u64,
    ) -> Result<CreditNote, Error> {
        let scope = IdempotencyScope::IssueCreditNote;
        let first = Prefetch::new()
            .key(scope, &cmd.idempotency_key)
            .record::<Invoice>(&cmd.invoice);
        let mut fetched = self.store.fetch(&first).await?;
        if let Some(IdempotentOutcome::CreditNote(id)) = super::replayed(
            fetched.idempotency.as_ref(),
            scope,
            &cmd.idempotency_key,
            print,
        )? {
            return Ok(self.must::<CreditNote>(&id).await?.value);
        }
        let stored = super::found::<Invoice>(&mut fetched, &cmd.invoice)?;
        let mut invoice = stored.value;
        if invoice.status == InvoiceStatus::Void {
            return Err(CreditError::InvoiceVoid(invoice.id).into());
        }
        let currency = invoice.shipping.currency();
        let lines = credit_lines(&mut invoice, &cmd.lines)?;
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

        // The one read that depends on another: the records the invoice names.
        let second = Prefetch::new()
            .record::<Order>(&invoice.order)
            .record::<Customer>(&invoice.customer);
        let mut fetched = self.store.fetch(&second).await?;
        let order_stored = super::found::<Order>(&mut fetched, &invoice.order)?;
        let mut order = order_stored.value;
        let customer_stored = super::found::<Customer>(&mut fetched, &invoice.customer)?;
        let mut customer = customer_stored.value.clone();
        let now = self.now();
        let mut changes = Changeset::new(now);
        let note = self
            .credit_invoice(
                &mut invoice,
                lines,
                shipping,
                &cmd.reason,
                (&mut order, &mut customer),
                &mut changes,
            )
            .await?;
        crate::order::settle::settle(&mut order, now, &mut changes)?;
        changes.puts.push(Put::update(invoice, stored.version));
        changes.puts.push(Put::update(order, order_stored.version));
        changes.move_customer(&customer_stored.value, &customer)?;
        let committed = self
            .commit_keyed(
                changes,
                scope,
                &cmd.idempotency_key,
                print,
                IdempotentOutcome::CreditNote(note.id),
            )
            .await?;
        Ok(committed.numbered(note)?)
    }

    /// Issues a credit note for `lines` (already marked on `invoice`, see
    /// [`credit_lines`]) and `shipping`, updating the invoice, its order and its
    /// customer in memory and adding the note, its posting and its events to
    /// `changes`. The caller puts the invoice, order and customer.
    pub(super) async fn credit_invoice(
        &self,
        invoice: &mut Invoice,
        lines: Vec<InvoiceLine>,
        shipping: Money,
        reason: &str,
        (order, customer): (&mut Order, &mut Customer),
        changes: &mut Changeset,
    ) -> Result<CreditNote, Error> {
        let currency = invoice.shipping.currency();
        let now = changes.at;
        let mut note = CreditNote {
            id: self.new_id(CreditNoteId::from_uuid),
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
        changes.number(crate::store::RecordKey::CreditNote(note.id));
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

        changes.journal.extend(self.postings().credit_note(
            &note,
            self.new_id(EntryId::from_uuid),
            now,
        )?);
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
        changes.puts.push(Put::insert(note.clone()));
        Ok(note)
    }

    /// Pays customer credit back against one of their payments, the way it came
    /// (card to card, bank to bank). Only credit can be refunded — credit a
    /// returned or cancelled part first ([`Oms::issue_credit_note`]) — and never
    /// more than the payment brought in.
    ///
    /// # Errors
    /// [`Error::Credit`] with `ExceedsCredit` or `BeyondPayment`;
    /// [`Error::Payment`] for a non-positive amount, another currency or sub-cent
    /// digits; [`Error::NotFound`]; [`Error::IdempotencyKeyReused`].
    pub async fn record_refund(&self, cmd: RecordRefund) -> Result<Payment, Error> {
        if !cmd.amount.is_positive() {
            return Err(PaymentError::NotPositive(cmd.amount).into());
        }
        if !cmd.amount.is_in_minor_units() {
            return Err(PaymentError::NotInMinorUnits(cmd.amount).into());
        }
        let print = fingerprint(&RecordRefund {
            amount: super::canonical_money(cmd.amount),
            ..cmd.clone()
        })?;
        let refunded = super::retrying!(self, self.try_record_refund(&cmd, print).await);
        if refunded.is_err()
            && self
                .replay(IdempotencyScope::RecordRefund, &cmd.idempotency_key, print)
                .await?
                .is_some()
        {
            return self.payment(cmd.payment).await;
        }
        refunded
    }

    async fn try_record_refund(&self, cmd: &RecordRefund, print: u64) -> Result<Payment, Error> {
        let scope = IdempotencyScope::RecordRefund;
        let first = Prefetch::new()
            .key(scope, &cmd.idempotency_key)
            .record::<Payment>(&cmd.payment);
        let mut fetched = self.store.fetch(&first).await?;
        let stored = super::found::<Payment>(&mut fetched, &cmd.payment)?;
        if super::replayed(
            fetched.idempotency.as_ref(),
            scope,
            &cmd.idempotency_key,
            print,
        )?
        .is_some()
        {
            return Ok(stored.value);
        }
        let mut payment = stored.value;
        if cmd.amount.currency() != payment.amount.currency() {
            return Err(PaymentError::CurrencyMismatch {
                expected: payment.amount.currency(),
                found: cmd.amount.currency(),
            }
            .into());
        }
        if payment.method == PaymentMethod::CustomerCredit {
            return Err(CreditError::PaidFromCredit(payment.id).into());
        }
        let refunded = payment.refund_total();
        if refunded
            .checked_add(cmd.amount)?
            .cmp_amount(payment.amount)?
            .is_gt()
        {
            return Err(CreditError::BeyondPayment {
                paid: payment.amount,
                refunded,
                requested: cmd.amount,
            }
            .into());
        }
        // The one read that depends on another: the payer.
        let customer_stored = self.must::<Customer>(&payment.customer).await?;
        let mut customer = customer_stored.value.clone();
        let available = customer.history.credit;
        if cmd.amount.cmp_amount(available)?.is_gt() {
            return Err(CreditError::ExceedsCredit {
                available,
                requested: cmd.amount,
            }
            .into());
        }
        let now = self.now();
        let mut changes = Changeset::new(now);
        changes.journal.extend(self.postings().refund(
            &payment,
            cmd.amount,
            self.new_id(EntryId::from_uuid),
            now,
        )?);
        payment.refunded = Some(refunded.checked_add(cmd.amount)?);
        customer.history.credit = available.checked_sub(cmd.amount)?;
        changes.events.push(Event::RefundIssued {
            payment: payment.id,
            customer: customer.id,
            amount: cmd.amount,
        });
        changes
            .puts
            .push(Put::update(payment.clone(), stored.version));
        changes.move_customer(&customer_stored.value, &customer)?;
        self.commit_keyed(
            changes,
            scope,
            &cmd.idempotency_key,
            print,
            IdempotentOutcome::Payment(payment.id),
        )
        .await?;
        Ok(payment)
    }

    /// A credit note.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn credit_note(&self, id: CreditNoteId) -> Result<CreditNote, Error> {
        Ok(self.must::<CreditNote>(&id).await?.value)
    }
}

/// The credit-note lines for `asked` (line number, units), each the exact share of
/// its invoice line, marking the units credited on the invoice.
pub(super) fn credit_lines(
    invoice: &mut Invoice,
    asked: &[(u16, u32)],
) -> Result<Vec<InvoiceLine>, Error> {
    let mut lines = Vec::with_capacity(asked.len());
    for (line_no, units) in asked {
        let Some(line) = invoice.lines.iter_mut().find(|l| l.line_no == *line_no) else {
            return Err(CreditError::NotOnInvoice { line_no: *line_no }.into());
        };
        let before = line.credited;
        let after = before
            .checked_add(Quantity::new(*units))
            .filter(|after| *after <= line.quantity && *units > 0)
            .ok_or(CreditError::MoreThanInvoiced {
                line_no: *line_no,
                invoiced: line.quantity.units(),
                credited: before.units(),
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
            quantity: Quantity::new(*units),
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
