//! What the provider reports on its own: notifications (webhooks) and payouts.

use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{IdempotencyKey, OrderId};
use crate::ledger::PaymentError;
use crate::oms::{Applied, Oms, fingerprint};
use crate::payment::{
    self, PaymentNotification, PaymentProvider, ProviderEvent, RecordSettlement, RequestOutcome,
    Settlement,
};
use crate::store::{Changeset, IdempotencyScope, IdempotentOutcome, Store};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
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
        crate::oms::retrying!(
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
        crate::oms::retrying!(self, "record_settlement", key = &key, {
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

/// A notification's idempotency key: `{provider}/{id}`, hashed when too long.
fn notification_key(note: &PaymentNotification) -> Result<IdempotencyKey, Error> {
    let text = format!("{}/{}", note.provider, note.id);
    Ok(IdempotencyKey::from_text_or_hash(&text, "pay")?)
}
