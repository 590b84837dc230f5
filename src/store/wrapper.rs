//! Stores that wrap another store: count its calls, inject faults, share it.

use std::future::Future;

use super::{
    Changeset, CommitSignal, Committed, DueCursor, DueKind, DueWork, Entity, Fetched,
    IdempotencyEntry, IdempotencyScope, Prefetch, ReadResult, Snapshot, Store, StoreResult,
    Versioned,
};
use crate::customer::Customer;
use crate::event::RecordedEvent;
use crate::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use crate::ledger::{AccountBalance, JournalEntry};
use crate::order::{Order, OrderQuery};
use crate::stock::{StockLevel, StockMovement};

/// A store built around another one. Implement [`StoreWrapper::inner`] and override
/// only the calls you want to change; every other call goes to the inner store, and
/// the wrapper is a [`Store`] itself.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use o2c::store::{Changeset, Committed, MemoryStore, Store, StoreResult, StoreWrapper};
///
/// /// Counts commits, forwards everything.
/// struct Commits { inner: MemoryStore, seen: AtomicU64 }
///
/// impl StoreWrapper for Commits {
///     type Inner = MemoryStore;
///     fn inner(&self) -> &MemoryStore { &self.inner }
///     async fn commit(&self, changes: Changeset) -> StoreResult<Committed> {
///         self.seen.fetch_add(1, Ordering::Relaxed);
///         self.inner.commit(changes).await
///     }
/// }
///
/// # pollster::block_on(async {
/// let store = Commits { inner: MemoryStore::new(), seen: AtomicU64::new(0) };
/// Store::commit(&store, Changeset::new(chrono::Utc::now())).await.unwrap();
/// assert_eq!(store.seen.load(Ordering::Relaxed), 1);
/// # });
/// ```
///
/// The reads return [`ReadResult`] and `commit` [`StoreResult`], as in [`Store`]: a
/// read the wrapper fails on its own account (an injected fault, a lost
/// connection of its own) is [`ReadError::Backend`](super::ReadError::Backend).
///
/// The two traits share their method names, so where both apply, say which you
/// mean: call a wrapper through [`Store`] (as the example does), and a store held
/// behind a pointer through the store itself (`(*self.inner).commit(..)` for an
/// `Arc<MemoryStore>` field). Shared pointers to a store (`&S`, `Arc<S>`) are
/// wrappers that change nothing.
#[allow(missing_docs)] // each method is the `Store` method of the same name
pub trait StoreWrapper: Send + Sync {
    /// The store wrapped.
    type Inner: Store;

    /// The store wrapped.
    fn inner(&self) -> &Self::Inner;

    fn commit(&self, changes: Changeset) -> impl Future<Output = StoreResult<Committed>> + Send {
        self.inner().commit(changes)
    }
    fn fetch(&self, request: &Prefetch) -> impl Future<Output = ReadResult<Fetched>> + Send {
        self.inner().fetch(request)
    }
    fn load<E: Entity>(
        &self,
        key: &E::Key,
    ) -> impl Future<Output = ReadResult<Option<Versioned<E>>>> + Send {
        self.inner().load::<E>(key)
    }
    fn load_many<E: Entity>(
        &self,
        keys: &[E::Key],
    ) -> impl Future<Output = ReadResult<Vec<Option<Versioned<E>>>>> + Send {
        self.inner().load_many::<E>(keys)
    }
    fn list<E: Entity>(&self) -> impl Future<Output = ReadResult<Vec<Versioned<E>>>> + Send {
        self.inner().list::<E>()
    }
    fn stock_levels(&self, sku: &Sku) -> impl Future<Output = ReadResult<Vec<StockLevel>>> + Send {
        self.inner().stock_levels(sku)
    }
    fn stock_levels_of(
        &self,
        skus: &[Sku],
    ) -> impl Future<Output = ReadResult<Vec<StockLevel>>> + Send {
        self.inner().stock_levels_of(skus)
    }
    fn all_stock_levels(&self) -> impl Future<Output = ReadResult<Vec<StockLevel>>> + Send {
        self.inner().all_stock_levels()
    }
    fn stock_movements(
        &self,
        sku: &Sku,
        location: &LocationId,
    ) -> impl Future<Output = ReadResult<Vec<StockMovement>>> + Send {
        self.inner().stock_movements(sku, location)
    }
    fn journal(
        &self,
        offset: usize,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<JournalEntry>>> + Send {
        self.inner().journal(offset, limit)
    }
    fn account_balances(&self) -> impl Future<Output = ReadResult<Vec<AccountBalance>>> + Send {
        self.inner().account_balances()
    }
    fn orders_of_customer(
        &self,
        customer: CustomerId,
    ) -> impl Future<Output = ReadResult<Vec<OrderId>>> + Send {
        self.inner().orders_of_customer(customer)
    }
    fn orders_page(
        &self,
        query: &OrderQuery,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<Versioned<Order>>>> + Send {
        self.inner().orders_page(query, limit)
    }
    fn customers_page(
        &self,
        after: Option<CustomerId>,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<Versioned<Customer>>>> + Send {
        self.inner().customers_page(after, limit)
    }
    fn due(
        &self,
        kind: DueKind,
        until: i64,
        after: Option<&DueCursor>,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<DueWork>>> + Send {
        self.inner().due(kind, until, after, limit)
    }
    fn orders_ready_to_ship(
        &self,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<OrderId>>> + Send {
        self.inner().orders_ready_to_ship(limit)
    }
    fn idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
    ) -> impl Future<Output = ReadResult<Option<IdempotencyEntry>>> + Send {
        self.inner().idempotency(scope, key)
    }
    fn events_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<RecordedEvent>>> + Send {
        self.inner().events_after(cursor, limit)
    }
    fn last_event_sequence(&self) -> impl Future<Output = ReadResult<u64>> + Send {
        self.inner().last_event_sequence()
    }
    fn commit_signal(&self) -> Option<&CommitSignal> {
        self.inner().commit_signal()
    }
    fn read_snapshot<T, F>(&self, read: F) -> impl Future<Output = ReadResult<T>> + Send
    where
        F: FnOnce(&dyn Snapshot) -> T + Send,
        T: Send,
    {
        self.inner().read_snapshot(read)
    }
}

impl<W: StoreWrapper> Store for W {
    fn commit(&self, changes: Changeset) -> impl Future<Output = StoreResult<Committed>> + Send {
        StoreWrapper::commit(self, changes)
    }
    fn fetch(&self, request: &Prefetch) -> impl Future<Output = ReadResult<Fetched>> + Send {
        StoreWrapper::fetch(self, request)
    }
    fn load<E: Entity>(
        &self,
        key: &E::Key,
    ) -> impl Future<Output = ReadResult<Option<Versioned<E>>>> + Send {
        StoreWrapper::load::<E>(self, key)
    }
    fn load_many<E: Entity>(
        &self,
        keys: &[E::Key],
    ) -> impl Future<Output = ReadResult<Vec<Option<Versioned<E>>>>> + Send {
        StoreWrapper::load_many::<E>(self, keys)
    }
    fn list<E: Entity>(&self) -> impl Future<Output = ReadResult<Vec<Versioned<E>>>> + Send {
        StoreWrapper::list::<E>(self)
    }
    fn stock_levels(&self, sku: &Sku) -> impl Future<Output = ReadResult<Vec<StockLevel>>> + Send {
        StoreWrapper::stock_levels(self, sku)
    }
    fn stock_levels_of(
        &self,
        skus: &[Sku],
    ) -> impl Future<Output = ReadResult<Vec<StockLevel>>> + Send {
        StoreWrapper::stock_levels_of(self, skus)
    }
    fn all_stock_levels(&self) -> impl Future<Output = ReadResult<Vec<StockLevel>>> + Send {
        StoreWrapper::all_stock_levels(self)
    }
    fn stock_movements(
        &self,
        sku: &Sku,
        location: &LocationId,
    ) -> impl Future<Output = ReadResult<Vec<StockMovement>>> + Send {
        StoreWrapper::stock_movements(self, sku, location)
    }
    fn journal(
        &self,
        offset: usize,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<JournalEntry>>> + Send {
        StoreWrapper::journal(self, offset, limit)
    }
    fn account_balances(&self) -> impl Future<Output = ReadResult<Vec<AccountBalance>>> + Send {
        StoreWrapper::account_balances(self)
    }
    fn orders_of_customer(
        &self,
        customer: CustomerId,
    ) -> impl Future<Output = ReadResult<Vec<OrderId>>> + Send {
        StoreWrapper::orders_of_customer(self, customer)
    }
    fn orders_page(
        &self,
        query: &OrderQuery,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<Versioned<Order>>>> + Send {
        StoreWrapper::orders_page(self, query, limit)
    }
    fn customers_page(
        &self,
        after: Option<CustomerId>,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<Versioned<Customer>>>> + Send {
        StoreWrapper::customers_page(self, after, limit)
    }
    fn due(
        &self,
        kind: DueKind,
        until: i64,
        after: Option<&DueCursor>,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<DueWork>>> + Send {
        StoreWrapper::due(self, kind, until, after, limit)
    }
    fn orders_ready_to_ship(
        &self,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<OrderId>>> + Send {
        StoreWrapper::orders_ready_to_ship(self, limit)
    }
    fn idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
    ) -> impl Future<Output = ReadResult<Option<IdempotencyEntry>>> + Send {
        StoreWrapper::idempotency(self, scope, key)
    }
    fn events_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<RecordedEvent>>> + Send {
        StoreWrapper::events_after(self, cursor, limit)
    }
    fn last_event_sequence(&self) -> impl Future<Output = ReadResult<u64>> + Send {
        StoreWrapper::last_event_sequence(self)
    }
    fn commit_signal(&self) -> Option<&CommitSignal> {
        StoreWrapper::commit_signal(self)
    }
    fn read_snapshot<T, F>(&self, read: F) -> impl Future<Output = ReadResult<T>> + Send
    where
        F: FnOnce(&dyn Snapshot) -> T + Send,
        T: Send,
    {
        StoreWrapper::read_snapshot(self, read)
    }
}

impl<S: Store> StoreWrapper for &S {
    type Inner = S;
    fn inner(&self) -> &S {
        self
    }
}

impl<S: Store> StoreWrapper for std::sync::Arc<S> {
    type Inner = S;
    fn inner(&self) -> &S {
        self
    }
}
