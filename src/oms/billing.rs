//! Invoices and payments.

use super::{Applied, Fingerprint, Oms, fingerprint};
use crate::customer::Customer;
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::{InvoiceId, PaymentId};
use crate::ledger::{Invoice, Payment, PaymentError, RecordPayment, record_payment};
use crate::order::Order;
use crate::payment::PaymentProvider;
use crate::store::{Changeset, Entity, IdempotencyScope, IdempotentOutcome, Prefetch, Store};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
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
    /// `ThroughProvider` for a method the service's payment provider takes (a
    /// card, with a provider configured: such money comes in by captures);
    /// [`Error::Order`] with `InvalidTransition` if the order is cancelled or completed;
    /// [`Error::NotFound`] for an unknown invoice;
    /// [`Error::IdempotencyKeyReused`] for a key used with other content.
    pub async fn record_payment(&self, cmd: RecordPayment) -> Result<Applied<Payment>, Error> {
        if !cmd.amount.is_positive() {
            return Err(PaymentError::NotPositive(cmd.amount).into());
        }
        if !cmd.amount.is_in_minor_units() {
            return Err(PaymentError::NotInMinorUnits(cmd.amount).into());
        }
        let canonical = RecordPayment {
            amount: super::canonical_money(cmd.amount),
            ..cmd.clone()
        };
        let print = fingerprint(&canonical)?;
        super::retrying!(
            self,
            "record_payment",
            key = &cmd.idempotency_key,
            self.try_record_payment(&cmd, &print).await,
            // A twin webhook may have committed after this one checked its key (see
            // `place_order`): return its payment rather than "already paid".
            twin = self.twin::<Payment>(
                IdempotencyScope::RecordPayment,
                &cmd.idempotency_key,
                &print
            )
        )
    }

    async fn try_record_payment(
        &self,
        cmd: &RecordPayment,
        print: &Fingerprint<'_>,
    ) -> Result<Applied<Payment>, Error> {
        let scope = IdempotencyScope::RecordPayment;
        // One read: the key, the invoice, and the order and customer it names.
        let request = Prefetch::new()
            .key(scope, &cmd.idempotency_key)
            .follow::<Invoice>(&cmd.invoice, &[Order::kind(), Customer::kind()]);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        if let Some(outcome) = super::earlier(
            fetched.idempotency.as_ref(),
            scope,
            &cmd.idempotency_key,
            print,
        )? {
            return self.replayed(&outcome).await;
        }
        // Checked after the key's replay, as the method on account is: a
        // payment recorded before the provider was configured still replays.
        if self.payments.takes(cmd.method) {
            return Err(PaymentError::ThroughProvider { method: cmd.method }.into());
        }
        // The invoice and the order change, so they are taken; the customer's
        // figures move by a merge from a copy, so what was read is lent.
        let invoice = super::found::<Invoice>(&mut fetched, &cmd.invoice)?;
        let order = super::found::<Order>(&mut fetched, &invoice.value.order)
            .map_err(Error::into_dangling)?;
        let customer = super::lent::<Customer>(&fetched, &invoice.value.customer)
            .map_err(Error::into_dangling)?;
        let (mut invoice_now, mut order_now, mut customer_now) =
            (invoice.value, order.value, customer.clone());
        let mut changes = Changeset::new(self.now());
        let payment = record_payment(
            cmd,
            &mut invoice_now,
            &mut order_now,
            &mut customer_now,
            &self.context(changes.at),
            &mut changes,
        )?;
        changes.update(invoice_now, invoice.version);
        changes.update(order_now, order.version);
        changes.move_customer(customer, &customer_now)?;
        // Let go of what was read before committing: a record no reader holds
        // (the customer the merge changes) is written over where it lies.
        drop(fetched);
        self.commit_keyed(
            changes,
            IdempotencyScope::RecordPayment,
            &cmd.idempotency_key,
            print,
            IdempotentOutcome::Payment(payment.id),
        )
        .await?;
        Ok(Applied::fresh(payment))
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
