//! Returns on the service: the reads and commits around the returns domain's
//! decisions ([`crate::returns`]) — asking for a return or an exchange,
//! authorising, receiving, rejecting and closing it.

use super::{Applied, Fingerprint, Oms, fingerprint};
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::{IdempotencyKey, ReturnId};
use crate::order::{LineRequest, Order, Placing};
use crate::payment::PaymentProvider;
use crate::returns::{
    ReceiptReads, ReceiveReturn, RequestExchange, RequestReturn, ReturnAuthorization, ReturnError,
};
use crate::store::{Changeset, Entity, IdempotencyScope, IdempotentOutcome, Prefetch, Store};

/// A step of a return's life that no goods move in.
#[derive(Debug, Clone, Copy)]
enum Step {
    Authorise,
    Reject,
    Close,
}

impl Step {
    fn scope(self) -> IdempotencyScope {
        match self {
            Step::Authorise => IdempotencyScope::AuthoriseReturn,
            Step::Reject => IdempotencyScope::RejectReturn,
            Step::Close => IdempotencyScope::CloseReturn,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Step::Authorise => "authorise_return",
            Step::Reject => "reject_return",
            Step::Close => "close_return",
        }
    }
}

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Asks for a return. Only delivered units can come back, and never more than
    /// were delivered less those already on a return that was not rejected.
    ///
    /// # Errors
    /// [`Error::Return`] with `Empty`, `NotOnOrder` or `NotReturnable`;
    /// [`Error::NotFound`]; [`Error::IdempotencyKeyReused`].
    pub async fn request_return(
        &self,
        cmd: RequestReturn,
    ) -> Result<Applied<ReturnAuthorization>, Error> {
        self.request_return_or_exchange(cmd, Vec::new()).await
    }

    /// Asks for an exchange: a return (as [`Oms::request_return`]) that, once
    /// authorised and received in full, places the replacement as a new order in
    /// the same commit as the last receipt. The replacement ships the way the
    /// original did, is invoiced at once, and is paid from the credit the return
    /// gave: a dearer replacement leaves the difference to pay on its invoice (a
    /// prepaid one is held until paid), a cheaper one leaves the difference as
    /// customer credit, refundable with [`Oms::record_refund`]. The replacement
    /// may take the very units the receipt restocked; one short of stock is
    /// back-ordered rather than refused, and one that can no longer be priced (its
    /// product withdrawn since) is not placed — [`Event::ExchangeNotPlaced`] says
    /// why and the credit stays with the customer — so the receipt is never
    /// blocked by it. A credit-limit hold is judged after the credit has paid.
    /// Closing a partly received exchange places no replacement: what came back
    /// stays credited.
    ///
    /// The replacement lines are priced now to check them, and again when placed.
    ///
    /// [`Event::ExchangeNotPlaced`]: crate::event::Event::ExchangeNotPlaced
    ///
    /// # Errors
    /// As [`Oms::request_return`], plus [`Error::Return`] with `NoReplacement`, and
    /// [`Error::Order`] for a replacement line that could not be priced (unknown or
    /// inactive SKU, bad quantity, another currency, ...).
    pub async fn request_exchange(
        &self,
        cmd: RequestExchange,
    ) -> Result<Applied<ReturnAuthorization>, Error> {
        if cmd.replacement.is_empty() {
            return Err(ReturnError::NoReplacement.into());
        }
        self.request_return_or_exchange(cmd.goods_back, cmd.replacement)
            .await
    }

    async fn request_return_or_exchange(
        &self,
        cmd: RequestReturn,
        replacement: Vec<LineRequest>,
    ) -> Result<Applied<ReturnAuthorization>, Error> {
        let with_replacement = (&cmd, crate::fingerprint::canonical_requests(&replacement));
        let print = if replacement.is_empty() {
            fingerprint(&cmd)?
        } else {
            fingerprint(&with_replacement)?
        };
        let scope = IdempotencyScope::RequestReturn;
        super::retrying!(
            self,
            "request_return",
            key = &cmd.idempotency_key,
            self.try_request_return(&cmd, &replacement, &print).await,
            twin = self.twin::<ReturnAuthorization>(scope, &cmd.idempotency_key, &print)
        )
    }

    /// One read — the key, the order and, for an exchange, what prices its
    /// replacement — then [`crate::returns::request`] and one commit.
    async fn try_request_return(
        &self,
        cmd: &RequestReturn,
        replacement: &[LineRequest],
        print: &Fingerprint<'_>,
    ) -> Result<Applied<ReturnAuthorization>, Error> {
        let scope = IdempotencyScope::RequestReturn;
        let request = crate::returns::RequestReads::prefetch(cmd, replacement)
            .key(scope, &cmd.idempotency_key);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        if let Some(outcome) = super::earlier(
            fetched.idempotency.as_ref(),
            scope,
            &cmd.idempotency_key,
            print,
        )? {
            return self.replayed(&outcome).await;
        }
        let order = super::found::<Order>(&mut fetched, &cmd.order)?;
        let prices = crate::returns::RequestReads::prices(replacement, fetched);
        let mut changes = Changeset::new(self.now());
        let rma = crate::returns::request(
            cmd,
            replacement,
            order,
            &prices,
            &self.context(changes.at),
            &mut changes,
        )?;
        let committed = self
            .commit_keyed(
                changes,
                scope,
                &cmd.idempotency_key,
                print,
                IdempotentOutcome::Return(rma.id),
            )
            .await?;
        Ok(Applied::fresh(committed.numbered(rma)?))
    }

    /// Authorises a requested return: the customer may send the goods.
    ///
    /// Retrying with the same `key` returns the return (as it is now) as a replay.
    ///
    /// # Errors
    /// [`Error::Return`] unless it is requested; [`Error::NotFound`];
    /// [`Error::IdempotencyKeyReused`].
    pub async fn authorise_return(
        &self,
        id: ReturnId,
        key: IdempotencyKey,
    ) -> Result<Applied<ReturnAuthorization>, Error> {
        self.step_return(id, key, Step::Authorise).await
    }

    /// Rejects a return before anything arrived; its units can be asked back again.
    ///
    /// Retrying with the same `key` returns the return (as it is now) as a replay.
    ///
    /// # Errors
    /// [`Error::Return`] once goods arrived; [`Error::NotFound`];
    /// [`Error::IdempotencyKeyReused`].
    pub async fn reject_return(
        &self,
        id: ReturnId,
        key: IdempotencyKey,
    ) -> Result<Applied<ReturnAuthorization>, Error> {
        self.step_return(id, key, Step::Reject).await
    }

    /// Receives returned goods, in one commit per receipt:
    /// - resellable units go back into stock at the chosen location, at the cost of
    ///   goods they shipped at (the SKU's cost moves to the moving average, as on any
    ///   receipt), and waiting back-orders take them first;
    /// - damaged units are written off (inventory adjustments);
    /// - either way cost of goods sold is reversed at what it was posted at;
    /// - the returned units are credited on the order's invoices (a credit note per
    ///   invoice, exact; what was paid for them becomes customer credit, refundable
    ///   with [`Oms::record_refund`]).
    ///
    /// # Errors
    /// [`Error::Return`] for a return not authorised, or units beyond what is
    /// expected; [`Error::NotFound`] for an unknown return or location;
    /// [`Error::IdempotencyKeyReused`].
    pub async fn receive_return(
        &self,
        cmd: ReceiveReturn,
    ) -> Result<Applied<ReturnAuthorization>, Error> {
        let print = fingerprint(&cmd)?;
        super::retrying!(
            self,
            "receive_return",
            key = &cmd.idempotency_key,
            self.try_receive_return(&cmd, &print).await,
            twin = async {
                let scope = IdempotencyScope::ReceiveReturn;
                if self
                    .replay(scope, &cmd.idempotency_key, &print)
                    .await?
                    .is_none()
                {
                    return Ok(None);
                }
                self.return_authorization(cmd.rma)
                    .await
                    .map(|rma| Some(Applied::replay(rma)))
            }
        )
    }

    /// The key and the return; then everything the return names
    /// ([`ReceiptReads::prefetch`]); then, if needed, the orders waiting for the
    /// restocked units, later invoices and a replacement's supply — and
    /// [`crate::returns::receive`], and one commit.
    async fn try_receive_return(
        &self,
        cmd: &ReceiveReturn,
        print: &Fingerprint<'_>,
    ) -> Result<Applied<ReturnAuthorization>, Error> {
        let scope = IdempotencyScope::ReceiveReturn;
        let first = Prefetch::new()
            .key(scope, &cmd.idempotency_key)
            .record::<ReturnAuthorization>(&cmd.rma);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&first)).await?;
        if super::earlier(
            fetched.idempotency.as_ref(),
            scope,
            &cmd.idempotency_key,
            print,
        )?
        .is_some()
        {
            return self
                .return_authorization(cmd.rma)
                .await
                .map(Applied::replay);
        }
        let rma = super::found::<ReturnAuthorization>(&mut fetched, &cmd.rma)?;
        let second = ReceiptReads::prefetch(&rma.value, cmd)?;
        let fetched = super::trace::store("fetch", self.store.fetch(&second)).await?;
        let mut reads = ReceiptReads::from_fetched(rma, cmd, fetched)?;
        if let Some((last, with_supply)) = reads.still_to_read(cmd) {
            reads.add(
                super::trace::store("fetch", self.store.fetch(&last)).await?,
                with_supply,
            );
        }
        let rules = Placing {
            allocation: self.config.allocation,
            invoice_policy: self.config.invoice_policy,
            invoice_now: true,
            through_provider: false,
        };
        let now = self.now();
        let mut changes = Changeset::new(now);
        let decided =
            crate::returns::receive(cmd, &reads, rules, &self.context(now), &mut changes)?;
        let received = match decided {
            Some(received) => received,
            None => {
                // The replacement is short: read its supply, and decide again.
                let request = reads.supply_to_read(Prefetch::new());
                reads.add(
                    super::trace::store("fetch", self.store.fetch(&request)).await?,
                    true,
                );
                changes = Changeset::new(now);
                crate::returns::receive(cmd, &reads, rules, &self.context(now), &mut changes)?
                    .ok_or_else(|| {
                        Error::inconsistent("exchange", "could not be placed with its supply read")
                    })?
            }
        };
        self.commit_keyed(
            changes,
            scope,
            &cmd.idempotency_key,
            print,
            IdempotentOutcome::Return(received.rma.id),
        )
        .await?;
        Ok(Applied::fresh(received.rma))
    }

    /// Closes a partly received return: what did not arrive will not be taken, and
    /// can be asked back again. An exchange closed this way places no replacement
    /// (its goods never all came back): the credit its receipts gave stays with the
    /// customer, to refund with [`Oms::record_refund`] or spend on the next order.
    ///
    /// Retrying with the same `key` returns the return (as it is now) as a replay.
    ///
    /// # Errors
    /// [`Error::Return`] unless partly received; [`Error::NotFound`];
    /// [`Error::IdempotencyKeyReused`].
    pub async fn close_return(
        &self,
        id: ReturnId,
        key: IdempotencyKey,
    ) -> Result<Applied<ReturnAuthorization>, Error> {
        self.step_return(id, key, Step::Close).await
    }

    /// One keyed step of a return's life that no goods move in, in one commit
    /// with the key, after one read: the key, the return and its order.
    async fn step_return(
        &self,
        id: ReturnId,
        key: IdempotencyKey,
        step: Step,
    ) -> Result<Applied<ReturnAuthorization>, Error> {
        let scope = step.scope();
        let print = fingerprint(&id)?;
        super::retrying!(
            self,
            step.name(),
            key = &key,
            id = &id,
            {
                let request = Prefetch::new()
                    .key(scope, &key)
                    .follow::<ReturnAuthorization>(&id, &[Order::kind()]);
                let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
                if let Some(outcome) =
                    super::earlier(fetched.idempotency.as_ref(), scope, &key, &print)?
                {
                    return self.replayed(&outcome).await;
                }
                let stored = super::found::<ReturnAuthorization>(&mut fetched, &id)?;
                let mut changes = Changeset::new(self.now());
                let rma = match step {
                    Step::Authorise => crate::returns::authorise(stored, &mut changes)?,
                    Step::Reject | Step::Close => {
                        let order = super::found::<Order>(&mut fetched, &stored.value.order)
                            .map_err(Error::into_dangling)?;
                        let end = match step {
                            Step::Reject => crate::returns::reject,
                            _ => crate::returns::close,
                        };
                        end(stored, order, &mut changes)?
                    }
                };
                self.commit_keyed(changes, scope, &key, &print, IdempotentOutcome::Return(id))
                    .await?;
                Ok::<_, Error>(Applied::fresh(rma))
            },
            twin = self.twin::<ReturnAuthorization>(scope, &key, &print)
        )
    }

    /// A return authorisation.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn return_authorization(&self, id: ReturnId) -> Result<ReturnAuthorization, Error> {
        Ok(self.must::<ReturnAuthorization>(&id).await?.value)
    }
}
