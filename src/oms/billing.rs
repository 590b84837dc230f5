//! Invoices and payments.

use chrono::{DateTime, Duration, Utc};

use super::{Oms, fingerprint};
use crate::customer::{Customer, PaymentTerms};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{EntryId, InvoiceId, PaymentId};
use crate::ledger::{
    Invoice, InvoiceNumber, InvoiceStatus, Payment, PaymentError, RecordPayment, record_payment,
};
use crate::money::Money;
use crate::order::Order;
use crate::quantity::Quantity;
use crate::store::{
    Changeset, IdempotencyScope, IdempotentOutcome, Prefetch, Put, RecordKey, Store,
};

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
    /// [`Hold::AwaitingPayment`](crate::order::Hold::AwaitingPayment); one that leaves the order delivered and paid
    /// completes it — unless another hold (a manual review) is still in force, in
    /// which case releasing that hold completes it.
    ///
    /// # Errors
    /// [`Error::Payment`] for a non-positive amount, a currency mismatch, sub-cent
    /// digits, a void or fully paid invoice, an overpayment the policy refuses, or
    /// `OnAccountIsNotAPayment` for the method [`PaymentMethod::OnAccount`](crate::customer::PaymentMethod::OnAccount) (a
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
            return Ok(self.must::<Payment>(&id).await?.value);
        }
        let invoice = super::found::<Invoice>(&mut fetched, &cmd.invoice)?;
        // The one read that depends on another: the records the invoice names.
        let (order_id, customer_id) = (invoice.value.order, invoice.value.customer);
        let second = Prefetch::new()
            .record::<Order>(&order_id)
            .record::<Customer>(&customer_id);
        let mut fetched = self.store.fetch(&second).await?;
        let order = super::found::<Order>(&mut fetched, &order_id)?;
        let customer = super::found::<Customer>(&mut fetched, &customer_id)?;
        let (mut invoice_now, mut order_now, mut customer_now) =
            (invoice.value, order.value, customer.value.clone());
        let mut changes = Changeset::new(self.now());
        let payment = record_payment(
            cmd,
            &mut invoice_now,
            &mut order_now,
            &mut customer_now,
            &self.context(changes.at),
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

    /// An invoice.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn invoice(&self, id: InvoiceId) -> Result<Invoice, Error> {
        Ok(self.must::<Invoice>(&id).await?.value)
    }

    /// A payment.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn payment(&self, id: PaymentId) -> Result<Payment, Error> {
        Ok(self.must::<Payment>(&id).await?.value)
    }
}
