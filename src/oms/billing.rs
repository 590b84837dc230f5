//! Invoices and payments.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Oms, fingerprint};
use crate::customer::{Customer, PaymentMethod, PaymentTerms};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{EntryId, IdempotencyKey, InvoiceId, PaymentId};
use crate::ledger::{
    Invoice, InvoiceNumber, InvoiceStatus, OverpaymentPolicy, Payment, PaymentError,
};
use crate::money::Money;
use crate::order::{Hold, Order, OrderAction, OrderStatus, transition};
use crate::quantity::Quantity;
use crate::store::{
    Changeset, IdempotencyScope, IdempotentOutcome, Prefetch, Put, RecordKey, Store,
};

/// Money received against an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordPayment {
    /// Same key, same payment: a gateway's retried webhook is recorded once.
    pub idempotency_key: IdempotencyKey,
    /// The invoice paid.
    pub invoice: InvoiceId,
    /// Amount received.
    pub amount: Money,
    /// How.
    pub method: PaymentMethod,
    /// The gateway's or bank's reference.
    pub reference: Option<String>,
    /// What to do with an excess.
    pub overpayment: OverpaymentPolicy,
}

impl RecordPayment {
    /// A payment that refuses overpayment.
    pub fn new(
        idempotency_key: IdempotencyKey,
        invoice: InvoiceId,
        amount: Money,
        method: PaymentMethod,
    ) -> Self {
        Self {
            idempotency_key,
            invoice,
            amount,
            method,
            reference: None,
            overpayment: OverpaymentPolicy::Reject,
        }
    }
}

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Bills `portions` of `order` (and its shipping, if `with_shipping`) on a new
    /// invoice added to `changes`, keeping order and customer totals in step.
    pub(super) async fn issue_invoice(
        &self,
        order: &mut Order,
        customer: &mut Customer,
        portions: &[(usize, Quantity)],
        with_shipping: bool,
        changes: &mut Changeset,
        now: DateTime<Utc>,
    ) -> Result<Option<Invoice>, Error> {
        let (lines, shipping) = order.bill(portions, with_shipping)?;
        if lines.is_empty() && shipping.is_zero() {
            return Ok(None);
        }
        let due_at = match customer.profile.terms {
            PaymentTerms::Prepaid => now,
            PaymentTerms::Net { days } => now
                .checked_add_signed(Duration::days(i64::from(days)))
                .ok_or_else(|| {
                Error::invalid("due date", "falls beyond the calendar's range")
            })?,
        };
        let mut invoice = Invoice {
            id: self.new_id(InvoiceId::from_uuid),
            // The store numbers it in the commit.
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
        changes.journal.extend(self.postings().invoice(
            &invoice,
            self.new_id(EntryId::from_uuid),
            now,
        )?);
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

    /// Records money received against an invoice.
    ///
    /// A payment that settles the last open invoice of a prepaid order releases its
    /// [`Hold::AwaitingPayment`]; one that leaves the order delivered and paid
    /// completes it — unless another hold (a manual review) is still in force, in
    /// which case releasing that hold completes it.
    ///
    /// # Errors
    /// [`Error::Payment`] for a non-positive amount, a currency mismatch, sub-cent
    /// digits, a void or fully paid invoice, an overpayment the policy refuses, or
    /// `OnAccountIsNotAPayment` for the method [`PaymentMethod::OnAccount`] (a
    /// payment term: no money came in; nothing is written and the key stays free);
    /// [`Error::Order`] with `InvalidTransition` if the order is cancelled or completed;
    /// [`Error::NotFound`] for an unknown invoice;
    /// [`Error::IdempotencyKeyReused`] for a key used with other content.
    pub async fn record_payment(&self, cmd: RecordPayment) -> Result<Payment, Error> {
        if !cmd.amount.is_positive() {
            return Err(PaymentError::NotPositive(cmd.amount).into());
        }
        if !cmd.amount.is_in_minor_units() {
            return Err(PaymentError::NotInMinorUnits(cmd.amount).into());
        }
        let print = fingerprint(&RecordPayment {
            amount: super::canonical_money(cmd.amount),
            ..cmd.clone()
        })?;
        let recorded = super::retrying!(self, self.try_record_payment(&cmd, print).await);
        if recorded.is_err() {
            // A twin webhook may have committed after this one checked its key (see
            // `place_order`): return its payment rather than "already paid".
            let key = &cmd.idempotency_key;
            if let Some(IdempotentOutcome::Payment(id)) = self
                .replay(IdempotencyScope::RecordPayment, key, print)
                .await?
            {
                return self.payment(id).await;
            }
        }
        recorded
    }

    async fn try_record_payment(&self, cmd: &RecordPayment, print: u64) -> Result<Payment, Error> {
        let scope = IdempotencyScope::RecordPayment;
        let first = Prefetch::new()
            .key(scope, &cmd.idempotency_key)
            .record::<Invoice>(&cmd.invoice);
        let mut fetched = self.store.fetch(&first).await?;
        if let Some(IdempotentOutcome::Payment(id)) = super::replayed(
            fetched.idempotency.as_ref(),
            scope,
            &cmd.idempotency_key,
            print,
        )? {
            return Ok(self.must::<Payment>("payment", &id).await?.value);
        }
        let invoice = fetched
            .take::<Invoice>(&cmd.invoice)
            .ok_or_else(|| Error::not_found("invoice", cmd.invoice))?;
        // The one read that depends on another: the records the invoice names.
        let (order_id, customer_id) = (invoice.value.order, invoice.value.customer);
        let second = Prefetch::new()
            .record::<Order>(&order_id)
            .record::<Customer>(&customer_id);
        let mut fetched = self.store.fetch(&second).await?;
        let order = fetched
            .take::<Order>(&order_id)
            .ok_or_else(|| Error::not_found("order", order_id))?;
        let customer = fetched
            .take::<Customer>(&customer_id)
            .ok_or_else(|| Error::not_found("customer", customer_id))?;
        let (mut invoice_now, mut order_now, mut customer_now) =
            (invoice.value, order.value, customer.value.clone());
        let mut changes = Changeset::new(self.now());
        let payment = self.apply_payment(
            cmd,
            &mut invoice_now,
            &mut order_now,
            &mut customer_now,
            &mut changes,
        )?;
        changes.puts.push(Put::update(invoice_now, invoice.version));
        changes.puts.push(Put::update(order_now, order.version));
        changes.move_customer(&customer.value, &customer_now)?;
        self.commit_keyed(
            changes,
            IdempotencyScope::RecordPayment,
            &cmd.idempotency_key,
            print,
            IdempotentOutcome::Payment(payment.id),
        )
        .await?;
        Ok(payment)
    }

    /// Applies a payment to `invoice` of `order` from `customer`, in memory and in
    /// `changes` (the payment record, its posting and events); the caller puts the
    /// invoice, the order and the customer.
    pub(super) fn apply_payment(
        &self,
        cmd: &RecordPayment,
        invoice: &mut Invoice,
        order: &mut Order,
        customer: &mut Customer,
        changes: &mut Changeset,
    ) -> Result<Payment, Error> {
        // Checked here, after the key's replay, so that every path recording a
        // payment refuses it and a retry of one stored before this rule still
        // returns the stored payment.
        if cmd.method == PaymentMethod::OnAccount {
            return Err(PaymentError::OnAccountIsNotAPayment.into());
        }
        let status = transition(order.status, OrderAction::RecordPayment)?;
        if invoice.status == InvoiceStatus::Void {
            return Err(PaymentError::InvoiceVoid(invoice.id).into());
        }
        if cmd.amount.currency() != order.currency {
            return Err(PaymentError::CurrencyMismatch {
                expected: order.currency,
                found: cmd.amount.currency(),
            }
            .into());
        }
        let outstanding = invoice.outstanding()?;
        if !outstanding.is_positive() {
            return Err(PaymentError::AlreadyPaid(invoice.id).into());
        }
        if cmd.method == PaymentMethod::CustomerCredit {
            let available = customer.history.credit;
            if cmd.amount.cmp_amount(available)?.is_gt() {
                return Err(crate::ledger::CreditError::ExceedsCredit {
                    available,
                    requested: cmd.amount,
                }
                .into());
            }
        }
        let applied = cmd.amount.min(outstanding)?;
        let credited = cmd.amount.checked_sub(applied)?;
        if credited.is_positive() && cmd.overpayment == OverpaymentPolicy::Reject {
            return Err(PaymentError::Overpayment {
                outstanding,
                offered: cmd.amount,
            }
            .into());
        }

        let now = changes.at;
        let payment = Payment {
            id: self.new_id(PaymentId::from_uuid),
            invoice: invoice.id,
            order: order.id,
            customer: customer.id,
            method: cmd.method,
            amount: cmd.amount,
            applied,
            credited,
            received_at: now,
            reference: cmd.reference.clone(),
            refunded: None,
        };
        invoice.paid = invoice.paid.checked_add(applied)?;
        if invoice.outstanding()?.is_zero() {
            invoice.status = InvoiceStatus::Paid;
        }
        order.status = status;
        order.paid = order.paid.checked_add(applied)?;
        customer.history.balance = customer.history.balance.checked_sub(applied)?;
        customer.history.credit = customer.history.credit.checked_add(credited)?;
        if cmd.method == PaymentMethod::CustomerCredit {
            // Drawn from the credit (an excess, if allowed, returns to it above).
            customer.history.credit = customer.history.credit.checked_sub(cmd.amount)?;
        }

        changes.events.push(Event::PaymentRecorded {
            payment: payment.id,
            invoice: invoice.id,
            order: order.id,
            amount: payment.amount,
            applied,
        });
        if credited.is_positive() {
            changes.events.push(Event::CustomerCredited {
                customer: customer.id,
                amount: credited,
            });
        }
        settle(order, now, changes)?;
        changes.journal.extend(self.postings().payment(
            &payment,
            self.new_id(EntryId::from_uuid),
            now,
        )?);
        changes.puts.push(Put::insert(payment.clone()));
        Ok(payment)
    }

    /// An invoice.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn invoice(&self, id: InvoiceId) -> Result<Invoice, Error> {
        Ok(self.must::<Invoice>("invoice", &id).await?.value)
    }

    /// A payment.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn payment(&self, id: PaymentId) -> Result<Payment, Error> {
        Ok(self.must::<Payment>("payment", &id).await?.value)
    }
}

/// Removes `hold` from the order, reopening it if it was the last.
pub(super) fn release(order: &mut Order, hold: Hold, changes: &mut Changeset) -> Result<(), Error> {
    order.holds.retain(|h| *h != hold);
    if order.holds.is_empty() && order.status == OrderStatus::OnHold {
        order.status = transition(order.status, OrderAction::ReleaseHold)?;
    }
    changes.events.push(Event::HoldReleased {
        order: order.id,
        hold,
    });
    Ok(())
}

/// After money or a credit note settled part of an order: releases its
/// [`Hold::AwaitingPayment`] once everything billed is settled (paid or credited),
/// and completes it if it is also delivered.
pub(super) fn settle(
    order: &mut Order,
    now: DateTime<Utc>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    let settled = order.settled() == order.invoiced && order.fully_billed();
    if settled && order.holds.contains(&Hold::AwaitingPayment) {
        release(order, Hold::AwaitingPayment, changes)?;
    }
    complete_if_done(order, now, changes)
}

/// Completes the order if it is delivered and paid in full.
pub(super) fn complete_if_done(
    order: &mut Order,
    now: DateTime<Utc>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    if order.is_complete() {
        order.status = transition(order.status, OrderAction::Complete)?;
        order.closed_at = Some(now);
        changes
            .events
            .push(Event::OrderCompleted { order: order.id });
    }
    Ok(())
}
