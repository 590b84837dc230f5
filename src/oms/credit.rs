//! Credit notes and refunds: the drivers. The rules are the ledger's
//! ([`crate::ledger::issue_credit_note`], [`crate::ledger::record_refund`]).

use super::{Applied, Fingerprint, Oms, fingerprint};
use crate::customer::{Customer, PaymentMethod};
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::CreditNoteId;
use crate::ledger::{
    CreditNote, Invoice, IssueCreditNote, Payment, RecordRefund, issue_credit_note, record_refund,
};
use crate::order::Order;
use crate::payment::PaymentProvider;
use crate::store::{Changeset, Entity, IdempotencyScope, IdempotentOutcome, Prefetch, Store};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
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
    pub async fn issue_credit_note(
        &self,
        cmd: IssueCreditNote,
    ) -> Result<Applied<CreditNote>, Error> {
        let canonical = IssueCreditNote {
            shipping: cmd.shipping.map(super::canonical_money),
            ..cmd.clone()
        };
        let print = fingerprint(&canonical)?;
        super::retrying!(
            self,
            "issue_credit_note",
            key = &cmd.idempotency_key,
            self.try_issue_credit_note(&cmd, &print).await,
            // A twin committed after this one checked its key: answer with its note.
            twin = self.twin::<CreditNote>(
                IdempotencyScope::IssueCreditNote,
                &cmd.idempotency_key,
                &print
            )
        )
    }

    async fn try_issue_credit_note(
        &self,
        cmd: &IssueCreditNote,
        print: &Fingerprint<'_>,
    ) -> Result<Applied<CreditNote>, Error> {
        let scope = IdempotencyScope::IssueCreditNote;
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
        let stored = super::found::<Invoice>(&mut fetched, &cmd.invoice)?;
        let mut invoice = stored.value;
        let order_stored =
            super::found::<Order>(&mut fetched, &invoice.order).map_err(Error::into_dangling)?;
        let mut order = order_stored.value;
        let customer_stored = super::found::<Customer>(&mut fetched, &invoice.customer)
            .map_err(Error::into_dangling)?;
        let mut customer = customer_stored.value.clone();
        let mut changes = Changeset::new(self.now());
        let note = issue_credit_note(
            cmd,
            &mut invoice,
            &mut order,
            &mut customer,
            &self.context(changes.at),
            &mut changes,
        )?;
        changes.update(invoice, stored.version);
        changes.update(order, order_stored.version);
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
        Ok(Applied::fresh(committed.numbered(note)?))
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
    pub async fn record_refund(&self, cmd: RecordRefund) -> Result<Applied<Payment>, Error> {
        cmd.check_amount()?;
        let canonical = RecordRefund {
            amount: super::canonical_money(cmd.amount),
            ..cmd.clone()
        };
        let print = fingerprint(&canonical)?;
        let refunded = super::retrying!(
            self,
            "record_refund",
            key = &cmd.idempotency_key,
            self.try_record_refund(&cmd, &print).await,
            twin = async {
                let scope = IdempotencyScope::RecordRefund;
                if self
                    .replay(scope, &cmd.idempotency_key, &print)
                    .await?
                    .is_none()
                {
                    return Ok(None);
                }
                self.payment(cmd.payment)
                    .await
                    .map(|payment| Some(Applied::replay(payment)))
            }
        );
        if let (Ok(applied), true) = (&refunded, self.has_provider()) {
            // A refund of a capture goes back through the provider; if it is
            // silent, `run_due` asks it again later.
            let _sent = self.settle_payments(applied.order).await;
        }
        refunded
    }

    async fn try_record_refund(
        &self,
        cmd: &RecordRefund,
        print: &Fingerprint<'_>,
    ) -> Result<Applied<Payment>, Error> {
        let scope = IdempotencyScope::RecordRefund;
        // One read: the key, the payment, and the payer it names.
        let request = Prefetch::new()
            .key(scope, &cmd.idempotency_key)
            .follow::<Payment>(&cmd.payment, &[Customer::kind(), Order::kind()]);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        let stored = super::found::<Payment>(&mut fetched, &cmd.payment)?;
        if super::earlier(
            fetched.idempotency.as_ref(),
            scope,
            &cmd.idempotency_key,
            print,
        )?
        .is_some()
        {
            return Ok(Applied::replay(stored.value));
        }
        let mut payment = stored.value;
        let customer_stored = super::found::<Customer>(&mut fetched, &payment.customer)
            .map_err(Error::into_dangling)?;
        let mut customer = customer_stored.value.clone();
        let mut changes = Changeset::new(self.now());
        record_refund(
            cmd,
            &mut payment,
            &mut customer,
            &self.context(changes.at),
            &mut changes,
        )?;
        // A refund of money a capture took is sent back through the provider:
        // recorded on the order here, sent once this commits.
        let capture = payment
            .reference
            .as_deref()
            .filter(|_| payment.method == PaymentMethod::Card);
        if let Some(capture) = capture {
            let order = super::found::<Order>(&mut fetched, &payment.order)
                .map_err(Error::into_dangling)?;
            if order.value.through_provider {
                let mut order_now = order.value;
                let key = format!("{}/refund/{}", order_now.id, cmd.idempotency_key);
                crate::payment::request_refund(
                    &mut order_now,
                    payment.id,
                    capture,
                    cmd.amount,
                    key,
                    &mut changes,
                )?;
                changes.update(order_now, order.version);
            }
        }
        changes.update(payment.clone(), stored.version);
        changes.move_customer(&customer_stored.value, &customer)?;
        self.commit_keyed(
            changes,
            scope,
            &cmd.idempotency_key,
            print,
            IdempotentOutcome::Payment(payment.id),
        )
        .await?;
        Ok(Applied::fresh(payment))
    }

    /// A credit note.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn credit_note(&self, id: CreditNoteId) -> Result<CreditNote, Error> {
        Ok(self.must::<CreditNote>(&id).await?.value)
    }
}
