//! Card payments through the payment provider: authorising, sending the
//! requests an order records, applying the provider's answers and
//! notifications, and payouts ([`crate::payment`] says how the cycle goes).

use super::{Applied, Oms, fingerprint};
use crate::customer::{Customer, PaymentMethod};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{IdempotencyKey, InvoiceId, OrderId, PaymentId};
use crate::ledger::{
    Invoice, OverpaymentPolicy, Payment, PaymentError, RecordPayment, record_capture,
};
use crate::money::Money;
use crate::order::settle::lift_hold;
use crate::order::{Hold, Order, OrderStatus, place_hold};
use crate::payment::{
    self, Answered, Authorisation, AuthoriseRequest, Authorised, CaptureRequest, DeclinedPayment,
    ExpiredAuthorisation, PaymentNotification, PaymentProvider, ProviderError, ProviderEvent,
    ProviderStatus, RecordSettlement, RefundRequest, RequestKind, RequestOutcome, Settlement,
    VoidRequest,
};
use crate::store::{Changeset, Entity, IdempotencyScope, IdempotentOutcome, Prefetch, Store};

/// What became of an order's open payment requests after
/// [`Oms::settle_payments`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaymentsSettled {
    /// Requests the provider answered, now recorded.
    pub answered: u32,
    /// Requests still waiting for an answer (the provider could not say).
    pub open: u32,
}

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// True when the provider takes `buyer`'s payment method.
    pub(super) fn pays_through_provider(&self, buyer: &Customer) -> bool {
        self.payments.takes(buyer.profile.payment_method)
    }

    /// True when some method goes through the provider.
    pub(super) fn has_provider(&self) -> bool {
        [
            PaymentMethod::Card,
            PaymentMethod::BankTransfer,
            PaymentMethod::Cash,
        ]
        .into_iter()
        .any(|m| self.payments.takes(m))
    }

    /// Authorises the total of a just-decided order, keyed by its placement's
    /// key, into `changes`. Returns what the provider authorised (`None`: the
    /// card was declined and the order is held, or the order is free).
    ///
    /// # Errors
    /// [`Error::Payment`] with `Declined` when the policy refuses a declined
    /// order; [`Error::Provider`] with `Timeout` when the provider cannot say.
    pub(super) async fn authorise_placed(
        &self,
        order: &mut Order,
        buyer: &Customer,
        key: &IdempotencyKey,
        changes: &mut Changeset,
    ) -> Result<Option<Authorised>, Error> {
        let amount = order.total()?;
        if !amount.is_positive() {
            return Ok(None);
        }
        let refuse = self.config.payments.on_decline == DeclinedPayment::Refuse;
        // The card is part of the key: a placement refused for a declined card
        // may be sent again, with the same key, once the customer has a new
        // one, and is not declined by the provider's memory of the old.
        let card = buyer.profile.payment_token.as_deref().unwrap_or("");
        let key = format!(
            "place/{key}/{:08x}",
            crate::fingerprint::fnv1a(card.as_bytes()) & 0xffff_ffff
        );
        self.authorise_into(order, buyer, key, amount, refuse, changes)
            .await
    }

    /// After an amendment of an order paid through the provider: when what is
    /// left to capture is more than its authorisation still holds, what is left
    /// of that is released and the whole of it authorised afresh, keyed by the
    /// amendment (a decline holds the order, or refuses the amendment, as
    /// placing does). Returns the fresh authorisation, if one was made.
    ///
    /// # Errors
    /// As [`Oms::authorise_placed`].
    pub(super) async fn cover_amendment(
        &self,
        order: &mut Order,
        buyer: &Customer,
        key: &IdempotencyKey,
        changes: &mut Changeset,
    ) -> Result<Option<Authorised>, Error> {
        if !order.through_provider {
            return Ok(None);
        }
        let needed = still_to_capture(order)?;
        let held = match payment::active(order) {
            Some(auth) => auth.available()?,
            None => Money::zero(order.currency),
        };
        if needed.cmp_amount(held)?.is_le() {
            return Ok(None);
        }
        payment::request_void(order, changes)?;
        let refuse = self.config.payments.on_decline == DeclinedPayment::Refuse;
        let auth_key = format!("{}/amend/{key}", order.id);
        let made = self
            .authorise_into(order, buyer, auth_key, needed, refuse, changes)
            .await?;
        if made.is_some() && order.holds.contains(&Hold::PaymentDeclined) {
            lift_hold(order, Hold::PaymentDeclined, changes.at, changes)?;
        }
        Ok(made)
    }

    /// Asks the provider to hold `amount` for `order` under `key`; records the
    /// authorisation in `changes`, or the decline (holding the order, or refusing
    /// it when `refuse`).
    async fn authorise_into(
        &self,
        order: &mut Order,
        buyer: &Customer,
        key: String,
        amount: Money,
        refuse: bool,
        changes: &mut Changeset,
    ) -> Result<Option<Authorised>, Error> {
        let request = AuthoriseRequest {
            key: key.clone(),
            order: order.id,
            amount,
            method: buyer.profile.payment_method,
            token: buyer.profile.payment_token.clone(),
        };
        match self.ask_authorise(&request).await {
            Ok(made) => {
                let counter = format!("{}/{}", order.id, order.authorisations.len() + 1);
                let kept = Authorisation::new(
                    self.payments.name(),
                    key,
                    counter,
                    made.clone(),
                    changes.at,
                );
                payment::authorised(order, kept, changes)?;
                Ok(Some(made))
            }
            Err(e) => {
                let Some(reason) = e.reason() else {
                    return Err(e.into());
                };
                let reason = reason.to_owned();
                if refuse {
                    return Err(PaymentError::Declined { reason }.into());
                }
                changes.events.push(Event::PaymentDeclined {
                    order: order.id,
                    reason,
                });
                place_hold(order, Hold::PaymentDeclined, changes)?;
                Ok(None)
            }
        }
    }

    /// Authorises, resolving a timeout by asking the provider what became of the
    /// key, and sending again only if it never arrived.
    async fn ask_authorise(&self, request: &AuthoriseRequest) -> Result<Authorised, ProviderError> {
        match self.payments.authorise(request).await {
            Err(ProviderError::Timeout { .. }) => {}
            answered => return answered,
        }
        match self.payments.status(&request.key).await? {
            ProviderStatus::Authorised(made) => Ok(made),
            ProviderStatus::Failed { reason } => Err(ProviderError::Declined {
                provider: self.payments.name().to_owned(),
                reason,
            }),
            ProviderStatus::Unknown => self.payments.authorise(request).await,
            ProviderStatus::Done(_) => Err(ProviderError::Refused {
                provider: self.payments.name().to_owned(),
                reason: format!("key {} was used for another call", request.key),
            }),
        }
    }

    /// After a placement that failed for good, or lost to a twin: voids the
    /// authorisation it made unless the order committed under its key holds it.
    /// Best effort: an authorisation left behind lapses at the provider.
    pub(super) async fn void_unplaced(
        &self,
        made: &Authorised,
        order: OrderId,
        placed: Option<&Order>,
    ) {
        if placed.is_some_and(|o| o.authorisations.iter().any(|a| a.id == made.id)) {
            return;
        }
        let _voided = self
            .payments
            .void(&VoidRequest {
                key: format!("{}/void", made.id),
                order,
                authorisation: made.id.clone(),
            })
            .await;
    }

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
        super::retrying!(self, "release_authorisation", id = &id, {
            let stored = self.must::<Order>(&id).await?;
            let mut order = stored.value;
            let mut changes = Changeset::new(self.now());
            if payment::request_void(&mut order, &mut changes)?.is_none() {
                return Ok(());
            }
            changes.update(order, stored.version);
            super::trace::store("commit", self.store.commit(changes)).await?;
            Ok(())
        })
    }

    /// Records the provider's answer to the request `key` of order `id`, with
    /// what follows from it: a capture becomes a payment of its invoice; a failed
    /// capture holds the order; a failed refund is reversed into the customer's
    /// credit. An answer already recorded changes nothing.
    async fn record_answer(
        &self,
        id: OrderId,
        key: &str,
        outcome: RequestOutcome,
    ) -> Result<Applied<()>, Error> {
        super::retrying!(
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
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        let stored = super::found::<Order>(&mut fetched, &id)?;
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
                let stored_invoice = super::found::<Invoice>(&mut fetched, &invoice)
                    .map_err(Error::into_dangling)?;
                let customer = super::lent::<Customer>(&fetched, &order.customer)
                    .map_err(Error::into_dangling)?;
                let mut buyer = customer.clone();
                let mut bill = stored_invoice.value;
                let cmd = capture_payment(key, invoice, amount, reference)?;
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
                super::trace::store("commit", self.store.commit(changes)).await?;
                return Ok(Applied::fresh(()));
            }
            Answered::Done | Answered::VoidFailed => {}
        }
        changes.update(order, stored.version);
        drop(fetched);
        super::trace::store("commit", self.store.commit(changes)).await?;
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
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        let stored = super::found::<Payment>(&mut fetched, &id).map_err(Error::into_dangling)?;
        let mut paid = stored.value;
        let customer =
            super::lent::<Customer>(&fetched, &paid.customer).map_err(Error::into_dangling)?;
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

    /// Authorises an order's card again: one held because its card was declined
    /// or its authorisation lapsed (after the customer updated their card, say),
    /// for what is still to capture. Success releases
    /// [`Hold::PaymentDeclined`]; another decline leaves it held.
    ///
    /// Retrying with the same `key` returns the order (as it is now) as a replay.
    ///
    /// # Errors
    /// [`Error::Payment`] with `Declined` when the card is declined again, or
    /// `ThroughProvider`-less orders (`NotAuthorised`) that are not paid through
    /// the provider; [`Error::Provider`] with `Timeout`; [`Error::Order`] for a
    /// cancelled or completed order; [`Error::NotFound`];
    /// [`Error::IdempotencyKeyReused`].
    pub async fn authorise_order(
        &self,
        id: OrderId,
        key: IdempotencyKey,
    ) -> Result<Applied<Order>, Error> {
        let scope = IdempotencyScope::AuthoriseOrder;
        let print = fingerprint(&id)?;
        let mut made = None;
        let authorised = super::retrying!(
            self,
            "authorise_order",
            key = &key,
            id = &id,
            self.try_authorise_order(id, &key, &print, &mut made).await,
            twin = self.twin::<Order>(scope, &key, &print)
        );
        let fresh = matches!(&authorised, Ok(applied) if !applied.replayed);
        self.after_authorising(id, made, fresh, authorised.is_ok())
            .await;
        authorised
    }

    /// After a command that authorised afresh: voids the authorisation if no
    /// committed order holds it (the command failed, or a twin won), and sends
    /// what the order recorded (the void of the one replaced, captures of what
    /// is owed).
    async fn after_authorising(
        &self,
        id: OrderId,
        made: Option<Authorised>,
        committed: bool,
        succeeded: bool,
    ) {
        if let Some(made) = made.filter(|_| !committed)
            && let Ok(order) = self.order(id).await
        {
            self.void_unplaced(&made, id, Some(&order)).await;
        }
        if succeeded {
            let _sent = self.settle_payments(id).await;
        }
    }

    async fn try_authorise_order(
        &self,
        id: OrderId,
        key: &IdempotencyKey,
        print: &super::Fingerprint<'_>,
        made: &mut Option<Authorised>,
    ) -> Result<Applied<Order>, Error> {
        let scope = IdempotencyScope::AuthoriseOrder;
        let request = Prefetch::new()
            .key(scope, key)
            .follow::<Order>(&id, &[Customer::kind(), Invoice::kind()]);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        if let Some(outcome) = super::earlier(fetched.idempotency.as_ref(), scope, key, print)? {
            return self.replayed(&outcome).await;
        }
        let stored = super::found::<Order>(&mut fetched, &id)?;
        let mut order = stored.value;
        if !order.through_provider {
            return Err(PaymentError::NotAuthorised(id).into());
        }
        crate::order::transition(order.status, crate::order::OrderAction::Hold)?;
        let buyer = super::lent::<Customer>(&fetched, &order.customer)
            .map_err(Error::into_dangling)?
            .clone();
        let invoices: Vec<Invoice> = fetched
            .take_every::<Invoice>()
            .into_iter()
            .map(|v| v.value)
            .collect();
        drop(fetched);
        let mut changes = Changeset::new(self.now());
        let amount = still_to_capture(&order)?;
        // Whatever was held before is released first: the fresh authorisation
        // covers everything still to capture.
        payment::request_void(&mut order, &mut changes)?;
        if amount.is_positive() {
            let auth_key = format!("{}/{key}", order.id);
            *made = self
                .authorise_into(&mut order, &buyer, auth_key, amount, true, &mut changes)
                .await?;
            capture_owed(&mut order, &invoices, &mut changes)?;
        }
        if order.holds.contains(&Hold::PaymentDeclined) {
            lift_hold(&mut order, Hold::PaymentDeclined, changes.at, &mut changes)?;
        }
        changes.update(order.clone(), stored.version);
        self.commit_keyed(changes, scope, key, print, IdempotentOutcome::Order(id))
            .await?;
        Ok(Applied::fresh(order))
    }

    /// Renews or holds an order whose authorisation lapsed (at the provider, or
    /// past its expiry by the clock), as the policy says. Called by
    /// [`Oms::run_due`] and for the provider's notification.
    pub(super) async fn lapse(&self, id: OrderId, authorisation: &str) -> Result<bool, Error> {
        let mut made = None;
        let lapsed = super::retrying!(self, "lapse_authorisation", id = &id, {
            self.try_lapse(id, authorisation, &mut made).await
        });
        let renewed = lapsed.as_ref().is_ok_and(|done| *done);
        self.after_authorising(id, made, renewed, lapsed.is_ok())
            .await;
        lapsed
    }

    async fn try_lapse(
        &self,
        id: OrderId,
        authorisation: &str,
        made: &mut Option<Authorised>,
    ) -> Result<bool, Error> {
        let request = Prefetch::new().follow::<Order>(&id, &[Customer::kind(), Invoice::kind()]);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        let stored = super::found::<Order>(&mut fetched, &id)?;
        let mut order = stored.value;
        // Only the authorisation that lapsed, and only while it is the active
        // one: a second word of the same lapse (the webhook and run_due, or a
        // webhook twice) finds it released, or renewed, and does nothing.
        if payment::active(&order).is_none_or(|a| a.id != authorisation) {
            return Ok(false);
        }
        let buyer = super::lent::<Customer>(&fetched, &order.customer)
            .map_err(Error::into_dangling)?
            .clone();
        let invoices: Vec<Invoice> = fetched
            .take_every::<Invoice>()
            .into_iter()
            .map(|v| v.value)
            .collect();
        drop(fetched);
        let mut changes = Changeset::new(self.now());
        // Released, and voided at the provider too: voiding one that lapsed
        // succeeds, and one the provider still held (its clock behind ours)
        // must not stay held beside the renewal.
        payment::request_void(&mut order, &mut changes)?;
        let amount = still_to_capture(&order)?;
        let open = matches!(order.status, OrderStatus::Open | OrderStatus::OnHold);
        if open && amount.is_positive() {
            match self.config.payments.on_expiry {
                ExpiredAuthorisation::Reauthorise => {
                    let n = order.authorisations.len() + 1;
                    let key = format!("{}/renew/{n}", order.id);
                    *made = self
                        .authorise_into(&mut order, &buyer, key, amount, false, &mut changes)
                        .await?;
                    if made.is_some() {
                        capture_owed(&mut order, &invoices, &mut changes)?;
                    }
                }
                ExpiredAuthorisation::Hold => {
                    place_hold(&mut order, Hold::PaymentDeclined, &mut changes)?;
                }
            }
        }
        changes.update(order, stored.version);
        super::trace::store("commit", self.store.commit(changes)).await?;
        Ok(true)
    }

    /// Applies a notification from the payment provider (a webhook), once per
    /// (provider, notification id): the answer to a request whose reply was lost,
    /// an authorisation that lapsed, a payout. A notification delivered again
    /// answers as a replay and changes nothing.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown order; [`Error::Payment`] with
    /// `UnknownRequest` for a request the order never sent, or `OtherProvider`
    /// for another provider's notification; as [`Oms::record_settlement`] for a
    /// payout. Nothing is written on an error.
    pub async fn apply_payment_event(
        &self,
        note: &PaymentNotification,
    ) -> Result<Applied<()>, Error> {
        if note.provider != self.payments.name() {
            return Err(PaymentError::OtherProvider {
                expected: self.payments.name().to_owned(),
                found: note.provider.clone(),
            }
            .into());
        }
        let key = notification_key(note)?;
        let scope = IdempotencyScope::PaymentEvent;
        let print = fingerprint(note)?;
        if self.replay(scope, &key, &print).await?.is_some() {
            return Ok(Applied::replay(()));
        }
        let now = self.now();
        match &note.event {
            ProviderEvent::Settled { payout, gross, fee } => {
                self.record_settlement(RecordSettlement {
                    payout: payout.clone(),
                    gross: *gross,
                    fee: *fee,
                })
                .await?;
            }
            ProviderEvent::RequestDone {
                order,
                key: request,
                reference,
            } => {
                self.check_request(*order, request).await?;
                let outcome = RequestOutcome::Done {
                    reference: reference.clone(),
                    at: now,
                };
                self.record_answer(*order, request, outcome).await?;
                // What the answer lets go on (a void once captures are done) is
                // sent best effort: the answer is recorded either way, and
                // `run_due` sends what is left.
                let _sent = self.settle_payments(*order).await;
            }
            ProviderEvent::RequestFailed {
                order,
                key: request,
                reason,
            } => {
                self.check_request(*order, request).await?;
                let outcome = RequestOutcome::Failed {
                    reason: reason.clone(),
                    at: now,
                };
                self.record_answer(*order, request, outcome).await?;
            }
            ProviderEvent::AuthorisationExpired {
                order,
                authorisation,
            } => {
                let found = self.order(*order).await?;
                if !found.authorisations.iter().any(|a| &a.id == authorisation) {
                    return Err(PaymentError::UnknownRequest {
                        order: *order,
                        key: authorisation.clone(),
                    }
                    .into());
                }
                self.lapse(*order, authorisation).await?;
            }
        }
        // The effects above are idempotent of themselves; the key makes the
        // notification's second delivery a replay without reading them again.
        super::retrying!(
            self,
            "apply_payment_event",
            key = &key,
            async {
                if self.replay(scope, &key, &print).await?.is_some() {
                    return Ok(Applied::replay(()));
                }
                let changes = Changeset::new(self.now());
                self.commit_keyed(
                    changes,
                    scope,
                    &key,
                    &print,
                    IdempotentOutcome::PaymentEvent,
                )
                .await?;
                Ok(Applied::fresh(()))
            }
            .await,
            // The same notification delivered twice at once: the twin took the key.
            twin = async {
                Ok(self
                    .replay(scope, &key, &print)
                    .await?
                    .map(|_| Applied::replay(())))
            }
        )
    }

    /// Refuses a notification about a request the order never sent, before
    /// anything is written.
    async fn check_request(&self, id: OrderId, key: &str) -> Result<(), Error> {
        let order = self.order(id).await?;
        if payment::find(&order, key).is_none() {
            return Err(PaymentError::UnknownRequest {
                order: id,
                key: key.to_owned(),
            }
            .into());
        }
        Ok(())
    }

    /// Records a payout from the payment provider: what it settles leaves card
    /// clearing, the fee goes to provider fees, the rest reaches the bank.
    /// Recording one payout twice records it once (a replay).
    ///
    /// # Errors
    /// [`Error::Invalid`] or [`Error::Payment`] for a payout no provider could
    /// make (see [`RecordSettlement::check`]); [`Error::IdempotencyKeyReused`]
    /// for a payout id recorded with other amounts.
    pub async fn record_settlement(
        &self,
        cmd: RecordSettlement,
    ) -> Result<Applied<Settlement>, Error> {
        cmd.check()?;
        let key = IdempotencyKey::new(cmd.payout.clone())?;
        let print = fingerprint(&cmd)?;
        let scope = IdempotencyScope::RecordSettlement;
        super::retrying!(self, "record_settlement", key = &key, {
            if self.replay(scope, &key, &print).await?.is_some() {
                return Ok(Applied::replay(
                    self.must::<Settlement>(&cmd.payout).await?.value,
                ));
            }
            let now = self.now();
            let mut changes = Changeset::new(now);
            let settlement = Settlement {
                payout: cmd.payout.clone(),
                provider: self.payments.name().to_owned(),
                gross: cmd.gross,
                fee: cmd.fee,
                settled_at: now,
            };
            let ctx = self.context(now);
            changes.journal.extend(payment::post_settlement(
                &settlement,
                &ctx.postings,
                ctx.id(crate::ids::EntryId::from_uuid),
            )?);
            changes.events.push(Event::PaymentSettled {
                payout: settlement.payout.clone(),
                gross: settlement.gross,
                fee: settlement.fee,
            });
            changes.insert(settlement.clone());
            self.commit_keyed(
                changes,
                scope,
                &key,
                &print,
                IdempotentOutcome::Settlement(settlement.payout.clone()),
            )
            .await?;
            Ok(Applied::fresh(settlement))
        })
    }

    /// A payout.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn settlement(&self, payout: &str) -> Result<Settlement, Error> {
        Ok(self.must::<Settlement>(&payout.to_owned()).await?.value)
    }
}

/// Asks to capture, from the order's active authorisation, what each of its
/// open invoices still owes beyond the captures already sent for it: after a
/// capture failed, or after the authorisation that should have paid it lapsed.
fn capture_owed(
    order: &mut Order,
    invoices: &[Invoice],
    changes: &mut Changeset,
) -> Result<(), Error> {
    let id = order.id;
    for invoice in invoices.iter().filter(|i| i.order == id) {
        if invoice.status != crate::ledger::InvoiceStatus::Open {
            continue;
        }
        let mut owed = invoice.outstanding()?;
        let mut sent = 0usize;
        for auth in &order.authorisations {
            for r in &auth.requests {
                if matches!(r.kind, RequestKind::Capture { invoice: i } if i == invoice.id) {
                    sent += 1;
                    if r.is_open() {
                        owed = owed.checked_sub(r.amount)?;
                    }
                }
            }
        }
        if owed.is_positive() {
            let key = format!("{id}/capture/{}/{}", invoice.id, sent + 1);
            payment::request_capture(order, invoice.id, owed, key, changes)?;
        }
    }
    Ok(())
}

/// What an order still has to capture: its value less what its captures took
/// or are taking.
fn still_to_capture(order: &Order) -> Result<Money, Error> {
    let mut taken = Money::zero(order.currency);
    for auth in &order.authorisations {
        taken = taken
            .checked_add(auth.captured()?)?
            .checked_add(auth.capturing()?)?;
    }
    Ok(order
        .value()?
        .checked_sub(taken)?
        .max(Money::zero(order.currency))?)
}

/// The payment a capture becomes: a card payment of `invoice`, keyed by the
/// capture, whose excess (the invoice settled meanwhile) is the customer's
/// credit.
fn capture_payment(
    key: &str,
    invoice: InvoiceId,
    amount: Money,
    reference: String,
) -> Result<RecordPayment, Error> {
    // Not stored as a key (the capture's request is the record of it); named
    // after the invoice for the payment's own trace.
    let _ = key;
    Ok(RecordPayment::new(
        IdempotencyKey::new(format!("capture/{invoice}"))?,
        invoice,
        amount,
        PaymentMethod::Card,
    )
    .with_reference(Some(reference))
    .with_overpayment(OverpaymentPolicy::CreditCustomer))
}

/// A notification's idempotency key: `{provider}/{id}`, hashed when too long.
fn notification_key(note: &PaymentNotification) -> Result<IdempotencyKey, Error> {
    let text = format!("{}/{}", note.provider, note.id);
    Ok(IdempotencyKey::new(text.clone()).or_else(|_| {
        IdempotencyKey::new(format!(
            "pay-{:016x}",
            crate::fingerprint::fnv1a(text.as_bytes())
        ))
    })?)
}
