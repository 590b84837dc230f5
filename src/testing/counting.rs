//! A store wrapper that counts what a command asks of its store.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::event::RecordedEvent;
use crate::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use crate::ledger::{AccountBalance, JournalEntry};
use crate::stock::{StockLevel, StockMovement};
use crate::store::{
    Changeset, Committed, DueCursor, DueKind, DueWork, Entity, Fetched, IdempotencyEntry,
    IdempotencyScope, Prefetch, ReadResult, Snapshot, Store, StoreError, StoreResult, StoreWrapper,
    Versioned,
};

/// What a [`Counting`] store was asked, since it was made or last [`Counting::take`]n.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    /// Read calls: one per `Store` method call other than `commit` (a batched read
    /// of many keys counts once: it is one query, one round trip).
    pub reads: u64,
    /// Commits tried.
    pub commits: u64,
    /// Commits that lost a race (a version, check, stock or other bounded
    /// counter's guard, or idempotency key another writer got to first) and so sent their command back to read again.
    pub lost_races: u64,
}

/// Wraps a store and counts its calls: how many reads and commits a command costs,
/// and how often concurrent commands collide.
#[derive(Debug, Default)]
pub struct Counting<S> {
    inner: S,
    reads: AtomicU64,
    commits: AtomicU64,
    lost_races: AtomicU64,
}

impl<S: Store> Counting<S> {
    /// Counts the calls made of `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            reads: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            lost_races: AtomicU64::new(0),
        }
    }

    /// The counts so far, starting again from zero.
    pub fn take(&self) -> Calls {
        Calls {
            reads: self.reads.swap(0, Ordering::Relaxed),
            commits: self.commits.swap(0, Ordering::Relaxed),
            lost_races: self.lost_races.swap(0, Ordering::Relaxed),
        }
    }

    fn read(&self) -> &S {
        self.reads.fetch_add(1, Ordering::Relaxed);
        &self.inner
    }
}

impl<S: Store> StoreWrapper for Counting<S> {
    type Inner = S;

    fn inner(&self) -> &S {
        &self.inner
    }

    async fn commit(&self, changes: Changeset) -> StoreResult<Committed> {
        self.commits.fetch_add(1, Ordering::Relaxed);
        let result = self.inner.commit(changes).await;
        if matches!(
            result,
            Err(StoreError::Conflict { .. }
                | StoreError::StockChanged { .. }
                | StoreError::InsufficientStock { .. }
                | StoreError::OutOfBounds { .. }
                | StoreError::DuplicateKey { .. })
        ) {
            self.lost_races.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
    fn fetch(&self, request: &Prefetch) -> impl Future<Output = ReadResult<Fetched>> + Send {
        self.read().fetch(request)
    }
    fn load<E: Entity>(
        &self,
        key: &E::Key,
    ) -> impl Future<Output = ReadResult<Option<Versioned<E>>>> + Send {
        self.read().load::<E>(key)
    }
    fn load_many<E: Entity>(
        &self,
        keys: &[E::Key],
    ) -> impl Future<Output = ReadResult<Vec<Option<Versioned<E>>>>> + Send {
        self.read().load_many::<E>(keys)
    }
    fn list<E: Entity>(&self) -> impl Future<Output = ReadResult<Vec<Versioned<E>>>> + Send {
        self.read().list::<E>()
    }
    fn stock_levels(&self, sku: &Sku) -> impl Future<Output = ReadResult<Vec<StockLevel>>> + Send {
        self.read().stock_levels(sku)
    }
    fn stock_levels_of(
        &self,
        skus: &[Sku],
    ) -> impl Future<Output = ReadResult<Vec<StockLevel>>> + Send {
        self.read().stock_levels_of(skus)
    }
    fn all_stock_levels(&self) -> impl Future<Output = ReadResult<Vec<StockLevel>>> + Send {
        self.read().all_stock_levels()
    }
    fn stock_movements(
        &self,
        sku: &Sku,
        location: &LocationId,
    ) -> impl Future<Output = ReadResult<Vec<StockMovement>>> + Send {
        self.read().stock_movements(sku, location)
    }
    fn journal(
        &self,
        offset: usize,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<JournalEntry>>> + Send {
        self.read().journal(offset, limit)
    }
    fn account_balances(&self) -> impl Future<Output = ReadResult<Vec<AccountBalance>>> + Send {
        self.read().account_balances()
    }
    fn orders_of_customer(
        &self,
        customer: CustomerId,
    ) -> impl Future<Output = ReadResult<Vec<OrderId>>> + Send {
        self.read().orders_of_customer(customer)
    }
    fn due(
        &self,
        kind: DueKind,
        until: i64,
        after: Option<&DueCursor>,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<DueWork>>> + Send {
        self.read().due(kind, until, after, limit)
    }
    fn orders_ready_to_ship(
        &self,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<OrderId>>> + Send {
        self.read().orders_ready_to_ship(limit)
    }
    fn idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
    ) -> impl Future<Output = ReadResult<Option<IdempotencyEntry>>> + Send {
        self.read().idempotency(scope, key)
    }
    fn events_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<RecordedEvent>>> + Send {
        self.read().events_after(cursor, limit)
    }
    fn last_event_sequence(&self) -> impl Future<Output = ReadResult<u64>> + Send {
        self.read().last_event_sequence()
    }
    fn read_snapshot<T, F>(&self, read: F) -> impl Future<Output = ReadResult<T>> + Send
    where
        F: FnOnce(&dyn Snapshot) -> T + Send,
        T: Send,
    {
        self.read().read_snapshot(read)
    }
}
