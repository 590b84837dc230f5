//! The service: the only place that does I/O.
//!
//! Every command follows one shape: load what it needs, let the domain decide,
//! commit the resulting [`Changeset`] in one atomic store call, and on a version
//! conflict or a lost stock race start again from fresh reads (up to
//! [`OmsConfig::max_attempts`], pausing as [`OmsConfig::backoff`] says). Carrier
//! calls happen outside the commit, and are idempotent by key so a retried command
//! never books twice.
//!
//! # Async and sync hosts
//! Every command is a plain `async fn` whose future is `Send`, so an `Oms` behind an
//! `Arc` can be shared by tasks on a multi-threaded tokio runtime. The in-memory store
//! and the reference carriers never wait on I/O, so sync code can drive a call with any
//! executor, e.g. `pollster::block_on(oms.place_order(cmd))` or a tokio runtime's
//! `block_on`. Do not call `block_on` from inside an async task.

mod amend;
mod analytics;
mod applied;
mod automation;
mod backorders;
mod billing;
mod catalog;
mod credit;
mod export;
mod orders;
mod payments;
mod purchasing;
mod replay;
mod reports;
mod retry;
mod returns;
mod shipping;
mod stock;
mod third_party;
mod trace;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use crate::config::{Backoff, OmsConfig};
pub use crate::ledger::RecordPayment;
pub use crate::ledger::{IssueCreditNote, RecordRefund};
pub use crate::purchasing::{PurchasingPolicy, ReceivePurchaseOrder};
pub use crate::returns::{ReceiveReturn, RequestExchange, RequestReturn};
pub use crate::stock::{AdjustStock, ReceiveStock, Valuation};
pub use applied::Applied;
pub use payments::PaymentsSettled;

use crate::clock::{Clock, IdGen, SystemClock, UuidV7};
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::IdempotencyKey;
use crate::ledger::Postings;
use crate::payment::{NoPaymentProvider, PaymentProvider};
use crate::store::{
    Changeset, Committed, Entity, Fetched, IdempotencyEntry, IdempotencyScope, IdempotentOutcome,
    Store, Versioned,
};

/// The order-to-cash service over a store `S`, a carrier `C` and a payment
/// provider `P` (none, by default: every payment is recorded by the host).
pub struct Oms<S, C, P = NoPaymentProvider> {
    store: S,
    carrier: C,
    payments: P,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    config: OmsConfig,
    /// The reports' read models, folded from the event log when a report is
    /// asked (see [`crate::reports`]). The lock is held to fold one batch or to
    /// answer one page, never across an `.await`.
    read_models: std::sync::Mutex<crate::reports::ReadModels>,
}

impl<S, C, P> fmt::Debug for Oms<S, C, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Oms")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: Store, C: Carrier> Oms<S, C> {
    /// A service with the system clock, UUIDv7 ids, the default configuration
    /// and no payment provider.
    pub fn new(store: S, carrier: C) -> Self {
        Self {
            store,
            carrier,
            payments: NoPaymentProvider,
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidV7),
            config: OmsConfig::default(),
            read_models: std::sync::Mutex::default(),
        }
    }
}

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Takes card payments through `provider` ([`crate::payment`]): orders of
    /// customers paying by a method it takes are authorised at checkout,
    /// captured as they ship, voided when cancelled and refunded through it.
    pub fn with_payments<Q: PaymentProvider>(self, provider: Q) -> Oms<S, C, Q> {
        Oms {
            store: self.store,
            carrier: self.carrier,
            payments: provider,
            clock: self.clock,
            ids: self.ids,
            config: self.config,
            read_models: self.read_models,
        }
    }

    /// The payment provider.
    pub fn payments(&self) -> &P {
        &self.payments
    }

    /// Uses `clock` for every timestamp (a [`crate::clock::ManualClock`] in tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses `ids` for every new id (a [`crate::clock::SeededIds`] in tests).
    #[must_use]
    pub fn with_ids(mut self, ids: Arc<dyn IdGen>) -> Self {
        self.ids = ids;
        self
    }

    /// Replaces the configuration.
    ///
    /// # Errors
    /// [`Error::Invalid`] if the account map names an account missing from the chart,
    /// or `max_attempts` is zero.
    pub fn with_config(mut self, config: OmsConfig) -> Result<Self, Error> {
        config.validate()?;
        self.config = config;
        Ok(self)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The carrier.
    pub fn carrier(&self) -> &C {
        &self.carrier
    }

    /// The configuration.
    pub fn config(&self) -> &OmsConfig {
        &self.config
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn new_id<T>(&self, wrap: fn(uuid::Uuid) -> T) -> T {
        wrap(self.ids.next_uuid())
    }

    /// Commits `changes` as the effect of the command keyed `key` in `scope` (with
    /// `fingerprint`): a retry with the same key and content returns `outcome`.
    async fn commit_keyed(
        &self,
        mut changes: Changeset,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint<'_>,
        outcome: IdempotentOutcome,
    ) -> Result<Committed, Error> {
        changes.idempotency = Some(IdempotencyEntry {
            scope,
            key: key.clone(),
            fingerprint: fingerprint.value(),
            fingerprint_version: fingerprint.version(),
            outcome,
        });
        Ok(trace::store("commit", self.store.commit(changes)).await?)
    }

    /// What a decision at `now` may use besides its reads.
    pub(crate) fn context(&self, now: DateTime<Utc>) -> crate::decide::Context<'_> {
        crate::decide::Context::new(now, self.ids.as_ref(), self.postings())
    }

    pub(crate) fn postings(&self) -> Postings<'_> {
        Postings::new(&self.config.chart, &self.config.accounts)
    }

    /// Loads a record that must exist: [`Error::NotFound`] names its kind
    /// ([`Entity::kind`]) otherwise.
    async fn must<E: Entity>(&self, key: &E::Key) -> Result<Versioned<E>, Error>
    where
        E::Key: fmt::Display,
    {
        trace::store("load", self.store.load::<E>(key))
            .await?
            .ok_or_else(|| Error::not_found(E::kind(), key))
    }

    /// What an earlier command with this key produced, if the key was used; an error
    /// if it was used for different content.
    async fn replay(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        fingerprint: &Fingerprint<'_>,
    ) -> Result<Option<IdempotentOutcome>, Error> {
        let entry = trace::store("idempotency", self.store.idempotency(scope, key)).await?;
        earlier(entry.as_ref(), scope, key, fingerprint)
    }
}

/// Takes a record that must exist out of what a command fetched:
/// [`Error::NotFound`] names its kind ([`Entity::kind`]) otherwise.
fn found<E: Entity>(fetched: &mut Fetched, key: &E::Key) -> Result<Versioned<E>, Error>
where
    E::Key: fmt::Display,
{
    fetched
        .take::<E>(key)
        .ok_or_else(|| Error::not_found(E::kind(), key))
}

/// The `E` at `key` in `fetched`, lent, or `NotFound`: for a record a command
/// only reads.
fn lent<'f, E: Entity>(fetched: &'f Fetched, key: &E::Key) -> Result<&'f E, Error>
where
    E::Key: fmt::Display,
{
    fetched
        .lend::<E>(key)
        .map(|lent| lent.value)
        .ok_or_else(|| Error::not_found(E::kind(), key))
}

/// What an earlier command with `key` produced, given the key's `entry` (`None`
/// if unused); an error if it was used for different content.
fn earlier(
    entry: Option<&IdempotencyEntry>,
    scope: IdempotencyScope,
    key: &IdempotencyKey,
    fingerprint: &Fingerprint<'_>,
) -> Result<Option<IdempotentOutcome>, Error> {
    match entry {
        None => Ok(None),
        Some(entry) if fingerprint.matches(entry)? => Ok(Some(entry.outcome.clone())),
        Some(_) => Err(Error::IdempotencyKeyReused {
            scope,
            key: key.clone(),
        }),
    }
}

use retry::retrying;

pub(crate) use crate::fingerprint::{Fingerprint, canonical_money, canonical_order, fingerprint};
