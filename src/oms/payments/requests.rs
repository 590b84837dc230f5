//! Sending the requests an order recorded (captures, voids, refunds) and
//! recording the provider's answers, with what follows from each.

use super::PaymentsSettled;
use crate::customer::{Customer, PaymentMethod};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{IdempotencyKey, InvoiceId, OrderId, PaymentId};
use crate::ledger::{Invoice, OverpaymentPolicy, Payment, RecordPayment, record_capture};
use crate::money::Money;
use crate::oms::{Applied, Oms};
use crate::order::{Hold, Order, OrderStatus, place_hold};
use crate::payment::{
    self, Answered, Authorisation, CaptureRequest, PaymentProvider, ProviderStatus, RefundRequest,
    RequestKind, RequestOutcome, VoidRequest,
};
use crate::store::{Changeset, Entity, Prefetch, Store};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Sends every request `order` recorded and has no answer to (captures,
    /// voids, refunds), records each answer, and — once nothing is left to ship
    /// — voids what is left of its authorisation. Called by the commands that
    /// record requests, by [`Oms::run_due`] for requests whose answer was lost,
    /// and safe to call at any time: a request the provider already saw is
    /// resolved by asking it ([`PaymentProvider::status`]), never sent twice blind.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown order; store errors. A provider that
    /// cannot answer is not an error: its requests stay open, counted in
    /// [`PaymentsSettled::open`].
    pub async fn settle_payments(&self, id: OrderId) -> Result<PaymentsSettled, Error> {
        let mut settled = PaymentsSettled::default();
        // The requests found open first, then — once none is — the void a
        // finished order needs, then sending that void.
        for _ in 0..5 {
            let order = self.order(id).await?;
            let open: Vec<(Authorisation, payment::PaymentRequest)> =
                payment::open_requests(&order)
                    .map(|(a, r)| (a.clone(), r.clone()))
                    .collect();
            if open.is_empty() {
                let finished =
                    payment::nothing_left_to_ship(&order) || order.status == OrderStatus::Cancelled;
                if payment::active(&order).is_some() && finished {
                    self.release_authorisation(id).await?;
                    continue;
                }
                break;
            }
            settled.open = 0;
            let mut answered = 0u32;
            for (auth, request) in open {
                // A void waits for the captures sent before it: sent first, it
                // would turn them down.
                let capturing = auth.requests.iter().any(|r| r.is_capture() && r.is_open());
                if matches!(request.kind, RequestKind::Void) && capturing {
                    settled.open = settled.open.saturating_add(1);
                    continue;
                }
                match self.send(&order, &auth, &request).await {
                    Some(outcome) => {
                        self.record_answer(id, &request.key, outcome).await?;
                        answered = answered.saturating_add(1);
                    }
                    None => settled.open = settled.open.saturating_add(1),
                }
            }
            settled.answered = settled.answered.saturating_add(answered);
            // Another round only if this one got somewhere: a void that waited
            // for captures now answered goes out next.
            if answered == 0 {
                break;
            }
        }
        Ok(settled)
    }

    /// Asks the provider what became of `request`, then sends it if the provider
    /// never saw it. `None` when the provider cannot say now.
    async fn send(
        &self,
        order: &Order,
        auth: &Authorisation,
        request: &payment::PaymentRequest,
    ) -> Option<RequestOutcome> {
        let now = self.now();
        match self.payments.status(&request.key).await {
            Ok(ProviderStatus::Done(receipt)) => {
                return Some(RequestOutcome::Done {
                    reference: receipt.reference,
                    at: now,
                });
            }
            Ok(ProviderStatus::Failed { reason }) => {
                return Some(RequestOutcome::Failed { reason, at: now });
            }
            Ok(ProviderStatus::Unknown) => {}
            Ok(ProviderStatus::Authorised(_)) => {
                return Some(RequestOutcome::Failed {
                    reason: "the key was used for an authorisation".to_owned(),
                    at: now,
                });
            }
            Err(_) => return None,
        }
        let answer = match &request.kind {
            RequestKind::Capture { .. } => {
                self.payments
                    .capture(&CaptureRequest {
                        key: request.key.clone(),
                        order: order.id,
                        authorisation: auth.id.clone(),
                        amount: request.amount,
                    })
                    .await
            }
            RequestKind::Void => {
                self.payments
                    .void(&VoidRequest {
                        key: request.key.clone(),
                        order: order.id,
                        authorisation: auth.id.clone(),
                    })
                    .await
            }
            RequestKind::Refund { capture, .. } => {
                self.payments
                    .refund(&RefundRequest {
                        key: request.key.clone(),
                        order: order.id,
                        authorisation: auth.id.clone(),
                        capture: capture.clone(),
                        amount: request.amount,
                    })
                    .await
            }
        };
        match answer {
            Ok(receipt) => Some(RequestOutcome::Done {
                reference: receipt.reference,
                at: now,
            }),
            Err(e) => e.reason().map(|reason| RequestOutcome::Failed {
                reason: reason.to_owned(),
                at: now,
            }),
        }
    }

    /// Commits a void of what is left of `id`'s active authorisation; the next
    /// round of [`Oms::settle_payments`] sends it.
    async fn release_authorisation(&self, id: OrderId) -> Result<(), Error> {
        crate::oms::retrying!(self, "release_authorisation", id = &id, {
            let stored = self.must::<Order>(&id).await?;
            let mut order = stored.value;
            let mut changes = Changeset::new(self.now());
            if payment::request_void(&mut order, &mut changes)?.is_none() {
                return Ok(());
            }
            changes.update(order, stored.version);
            crate::oms::trace::store("commit", self.store.commit(changes)).await?;
            Ok(())
        })
    }

    /// Records the provider's answer to the request `key` of order `id`, with
    /// what follows from it: a capture becomes a payment of its invoice; a failed
    /// capture holds the order; a failed refund is reversed into the customer's
    /// credit. An answer already recorded changes nothing.
    pub(super) async fn record_answer(
        &self,
        id: OrderId,
        key: &str,
        outcome: RequestOutcome,
    ) -> Result<Applied<()>, Error> {
        crate::oms::retrying!(
            self,
            "record_payment_answer",
            id = &id,
            self.try_record_answer(id, key, outcome.clone()).await
        )
    }

    async fn try_record_answer(
        &self,
        id: OrderId,
        key: &str,
        outcome: RequestOutcome,
    ) -> Result<Applied<()>, Error> {
        let request = Prefetch::new().follow::<Order>(&id, &[Invoice::kind(), Customer::kind()]);
        let mut fetched = crate::oms::trace::store("fetch", self.store.fetch(&request)).await?;
        let stored = crate::oms::found::<Order>(&mut fetched, &id)?;
        let mut order = stored.value;
        let mut changes = Changeset::new(self.now());
        let answered = payment::answer(&mut order, key, outcome, &mut changes)?;
        match answered {
            Answered::Known => return Ok(Applied::replay(())),
            Answered::Captured {
                invoice,
                amount,
                reference,
            } => {
                let stored_invoice = crate::oms::found::<Invoice>(&mut fetched, &invoice)
                    .map_err(Error::into_dangling)?;
                let customer = crate::oms::lent::<Customer>(&fetched, &order.customer)
                    .map_err(Error::into_dangling)?;
                let mut buyer = customer.clone();
                let mut bill = stored_invoice.value;
                let cmd = capture_payment(invoice, amount, reference)?;
                record_capture(
                    &cmd,
                    &mut bill,
                    &mut order,
                    &mut buyer,
                    &self.context(changes.at),
                    &mut changes,
                )?;
                changes.update(bill, stored_invoice.version);
                changes.move_customer(customer, &buyer)?;
            }
            Answered::CaptureFailed { amount, reason } => {
                changes.events.push(Event::CaptureFailed {
                    order: id,
                    key: key.to_owned(),
                    amount,
                    reason,
                });
                if !payment::nothing_left_to_ship(&order)
                    && matches!(order.status, OrderStatus::Open | OrderStatus::OnHold)
                {
                    place_hold(&mut order, Hold::PaymentDeclined, &mut changes)?;
                }
            }
            Answered::RefundFailed {
                payment,
                amount,
                reason,
            } => {
                drop(fetched);
                self.reverse_refund(payment, amount, reason, &mut changes)
                    .await?;
                changes.update(order, stored.version);
                crate::oms::trace::store("commit", self.store.commit(changes)).await?;
                return Ok(Applied::fresh(()));
            }
            Answered::Done | Answered::VoidFailed => {}
        }
        changes.update(order, stored.version);
        drop(fetched);
        crate::oms::trace::store("commit", self.store.commit(changes)).await?;
        Ok(Applied::fresh(()))
    }

    /// Takes a refund the provider would not make back out of the books: the
    /// payment is refunded that much less and the customer's credit is theirs
    /// again.
    async fn reverse_refund(
        &self,
        id: PaymentId,
        amount: Money,
        reason: String,
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        let request = Prefetch::new().follow::<Payment>(&id, &[Customer::kind()]);
        let mut fetched = crate::oms::trace::store("fetch", self.store.fetch(&request)).await?;
        let stored =
            crate::oms::found::<Payment>(&mut fetched, &id).map_err(Error::into_dangling)?;
        let mut paid = stored.value;
        let customer =
            crate::oms::lent::<Customer>(&fetched, &paid.customer).map_err(Error::into_dangling)?;
        let mut buyer = customer.clone();
        let refunded = paid.refund_total().checked_sub(amount)?;
        paid.refunded = (!refunded.is_zero()).then_some(refunded);
        buyer.history.credit = buyer.history.credit.checked_add(amount)?;
        let ctx = self.context(changes.at);
        changes.journal.extend(ctx.postings.refund_reversed(
            &paid,
            amount,
            ctx.id(crate::ids::EntryId::from_uuid),
            changes.at,
        )?);
        changes.events.push(Event::RefundFailed {
            payment: id,
            amount,
            reason,
        });
        changes.move_customer(customer, &buyer)?;
        changes.update(paid, stored.version);
        Ok(())
    }
}

/// The payment a capture becomes: a card payment of `invoice` carrying the
/// provider's id for the capture, whose excess (the invoice settled meanwhile)
/// is the customer's credit. Its key is never stored (the capture's request is
/// the record of it); it names the invoice for the payment's own trace.
fn capture_payment(
    invoice: InvoiceId,
    amount: Money,
    reference: String,
) -> Result<RecordPayment, Error> {
    Ok(RecordPayment::new(
        IdempotencyKey::new(format!("capture/{invoice}"))?,
        invoice,
        amount,
        PaymentMethod::Card,
    )
    .with_reference(Some(reference))
    .with_overpayment(OverpaymentPolicy::CreditCustomer))
}
