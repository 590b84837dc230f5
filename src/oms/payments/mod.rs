//! Card payments through the payment provider: authorising at placement,
//! amendment and renewal here; sending the requests an order records and
//! recording the answers in `requests`; the provider's notifications and
//! payouts in `notifications` ([`crate::payment`] says how the cycle goes).

mod notifications;
mod requests;

use super::{Applied, Oms, fingerprint};
use crate::customer::{Customer, PaymentMethod};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{IdempotencyKey, OrderId};
use crate::ledger::{Invoice, PaymentError};
use crate::money::Money;
use crate::order::settle::lift_hold;
use crate::order::{Hold, Order, OrderStatus, place_hold};
use crate::payment::{
    self, Authorisation, AuthoriseRequest, Authorised, DeclinedPayment, ExpiredAuthorisation,
    PaymentProvider, ProviderError, ProviderStatus, RequestKind, VoidRequest,
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

    /// Authorises an order's card again: one held because its card was declined
    /// or its authorisation lapsed (after the customer updated their card, say),
    /// for what is still to capture. Success releases
    /// [`Hold::PaymentDeclined`]; another decline leaves it held.
    ///
    /// Retrying with the same `key` returns the order (as it is now) as a replay.
    ///
    /// # Errors
    /// [`Error::Payment`] with `Declined` when the card is declined again, or
    /// `NotAuthorised` for an order not paid through the provider;
    /// [`Error::Provider`] with `Timeout`; [`Error::Order`] for a
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
