//! The storage port and the stores we ship.
//!
//! [`Store`] is the one trait a persistence backend implements; [`MemoryStore`] is
//! always compiled and is the default.

mod bounded;
mod changeset;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod codec;
mod due;
mod fetch;
mod log;
mod memory;
mod merge;
mod numbering;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
mod signal;
mod snapshot;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub mod sqlite;
mod terms;
mod wrapper;

use crate::error::ErrorKind;
use std::error::Error as StdError;
use std::future::Future;

pub use bounded::{Bounds, CounterDelta, CounterKey, CounterKind};
pub use changeset::{
    BalanceKey, Changeset, Check, Counter, Entity, IdempotencyEntry, IdempotencyScope,
    IdempotentOutcome, Put, Record, RecordKey, StockDelta, Versioned,
};
pub use due::{DueCursor, DueKind, DueWork, due_time};
pub use fetch::{Fetched, Prefetch};
pub use memory::MemoryStore;
pub use merge::Merge;
pub use numbering::{Committed, Series};
pub use signal::{CommitSignal, NextCommit};
pub use snapshot::{FREIGHT_SCOPES, Snapshot, each};
pub use terms::IndexTerm;
pub use wrapper::StoreWrapper;

use crate::customer::Customer;
use crate::event::RecordedEvent;
use crate::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use crate::ledger::{AccountBalance, JournalEntry};
use crate::order::{Order, OrderQuery};
use crate::stock::{StockLevel, StockMovement};

/// Why a commit failed. Backends map their driver errors into these kinds; reads
/// fail with a [`ReadError`] instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An update named a record that does not exist.
    #[error("{} does not exist", key.describe())]
    NotFound {
        /// The record.
        key: RecordKey,
    },
    /// Another writer changed (or created) the record first, or a
    /// [`Check::Version`] no longer holds. Reload and retry.
    #[error(
        "{} changed concurrently: expected version {expected:?}, found {actual:?}",
        key.describe()
    )]
    Conflict {
        /// The record.
        key: RecordKey,
        /// The version the commit expected (`None`: must not exist, or not a version check).
        expected: Option<u64>,
        /// The version found (`None`: does not exist, or not a version check).
        actual: Option<u64>,
    },
    /// A [`Check::SkuOnHand`] no longer holds: another writer moved the SKU's stock
    /// first. Reload and retry.
    #[error("the stock of {sku} changed concurrently: {expected} on hand read, {actual} now")]
    StockChanged {
        /// The SKU.
        sku: Sku,
        /// The total on hand the command read.
        expected: i64,
        /// The total on hand at commit.
        actual: i64,
    },
    /// A stock guard failed: the commit would have made on-hand or reserved negative,
    /// or reserved more than on-hand.
    #[error(
        "insufficient stock of {sku} at {location}: on hand {on_hand}, reserved {reserved}, change {on_hand_delta:+}/{reserved_delta:+}"
    )]
    InsufficientStock {
        /// The SKU.
        sku: Sku,
        /// The location.
        location: LocationId,
        /// On-hand before the commit.
        on_hand: i64,
        /// Reserved before the commit.
        reserved: i64,
        /// The commit's net change of on-hand.
        on_hand_delta: i64,
        /// The commit's net change of reserved.
        reserved_delta: i64,
    },
    /// A bounded counter's guard failed: the commit would have made its limit or
    /// what is used of it negative, or used more than the limit (or overflowed).
    /// Like [`StoreError::InsufficientStock`], a race another writer may have won:
    /// read the counter again and decide again.
    #[error(
        "bounded counter {key} out of bounds: limit {limit}, used {used}, change {limit_delta:+}/{used_delta:+}"
    )]
    OutOfBounds {
        /// The counter.
        key: CounterKey,
        /// Its limit before the commit.
        limit: i64,
        /// What was used of it before the commit.
        used: i64,
        /// The commit's net change of the limit.
        limit_delta: i64,
        /// The commit's net change of what is used.
        used_delta: i64,
    },
    /// The database broke a lock cycle between this commit and a concurrent one
    /// (a deadlock, or a serialisation failure), rolling this one back whole: a
    /// shared SQL store reports it. Reload and retry.
    #[error("the commit was rolled back to break a lock cycle with a concurrent commit")]
    Deadlock,
    /// The idempotency key was already used in its scope.
    #[error("idempotency key {key} already used")]
    DuplicateKey {
        /// The key.
        key: IdempotencyKey,
    },
    /// The changeset is malformed (the same record twice, an overflowing total).
    #[error("invalid changeset: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// A read the commit made inside its transaction failed (a store that reads
    /// the records it merges, or a stored version or balance, as it commits).
    /// Nothing was written. [`Error`](crate::Error) reports it as
    /// [`Error::Read`](crate::Error::Read), like a failed read outside a commit.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The connection to a networked store broke, or the call ran out of time,
    /// while the commit was in flight: it may have committed or not, and only the
    /// store knows. Retrying the command with the same idempotency key is safe and
    /// returns the first result if it did commit.
    #[error("the commit was interrupted; whether it took effect is unknown")]
    Interrupted(#[source] Box<dyn StdError + Send + Sync>),
    /// The backend failed while committing (I/O, driver, connection, a lock that
    /// outlived its timeout). Nothing was written, unless the failure came after
    /// the commit point (see the contract).
    #[error("store backend failed")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
}

impl StoreError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound { .. } => "store.record_gone",
            StoreError::Conflict { .. } => "store.conflict",
            StoreError::StockChanged { .. } => "store.stock_changed",
            StoreError::InsufficientStock { .. } => "store.insufficient_stock",
            StoreError::OutOfBounds { .. } => "store.out_of_bounds",
            StoreError::DuplicateKey { .. } => "store.duplicate_key",
            StoreError::Deadlock => "store.deadlock",
            StoreError::Interrupted(..) => "store.interrupted",
            StoreError::Invalid { .. } => "store.invalid_changeset",
            StoreError::Read(e) => e.code(),
            StoreError::Backend(..) => "store.unavailable",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::NotFound { .. } => ErrorKind::Internal,
            StoreError::Conflict { .. } => ErrorKind::Conflict,
            StoreError::StockChanged { .. } => ErrorKind::Conflict,
            StoreError::InsufficientStock { .. } => ErrorKind::Conflict,
            StoreError::OutOfBounds { .. } => ErrorKind::Conflict,
            StoreError::DuplicateKey { .. } => ErrorKind::Conflict,
            StoreError::Deadlock => ErrorKind::Conflict,
            StoreError::Interrupted(..) => ErrorKind::Unavailable,
            StoreError::Invalid { .. } => ErrorKind::Internal,
            StoreError::Read(e) => e.kind(),
            StoreError::Backend(..) => ErrorKind::Unavailable,
        }
    }
}

impl StoreError {
    /// True when another writer got there first (a version, an on-hand total, a
    /// bounded counter or an idempotency key moved under the commit): reading
    /// again and deciding again may succeed. The one list both `Oms`'s retry loop
    /// and [`crate::Error::is_retryable`] go by.
    pub fn is_lost_race(&self) -> bool {
        matches!(
            self,
            StoreError::Conflict { .. }
                | StoreError::StockChanged { .. }
                | StoreError::InsufficientStock { .. }
                | StoreError::OutOfBounds { .. }
                | StoreError::DuplicateKey { .. }
                | StoreError::Deadlock
        )
    }
}

/// What a commit returns.
pub type StoreResult<T> = Result<T, StoreError>;

/// Why a read failed: every [`Store`] method but [`Store::commit`], and every
/// [`Snapshot`] method, fails with one of these and nothing else.
///
/// Neither kind is a lost race, so reading again at once does not get past
/// either. A host serving o2c over HTTP would answer an outage with 503 and
/// corruption with 500, never 409.
///
/// A store keeps the driver's error as the [`source`](StdError::source) of
/// [`ReadError::Backend`], so a host that needs it can downcast it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The backend failed (I/O, driver, connection, a lock that outlived its
    /// timeout). The data may be fine: try again later, and page an operator if
    /// it persists.
    #[error("store backend failed")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
    /// A stored value does not decode: the store was edited by hand, damaged, or
    /// written by something other than o2c. Retrying does not help; an operator
    /// must repair or restore it. A store reports it rather than guess at a value.
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt {
        /// The record, when the value is one read by its key (`None` for an
        /// event, a journal entry, a stock level, a balance, and for a record met
        /// in a scan, whose key a store may hold only as text: `what` names it).
        key: Option<RecordKey>,
        /// What was being read, for people: `record order/0190…`, `event 12`,
        /// `balance of 1100`.
        what: String,
        /// Why it does not decode (the decoder's message).
        reason: String,
    },
}

impl ReadError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            ReadError::Backend(..) => "store.unavailable",
            ReadError::Corrupt { .. } => "store.corrupt",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ReadError::Backend(..) => ErrorKind::Unavailable,
            ReadError::Corrupt { .. } => ErrorKind::Internal,
        }
    }
}

impl ReadError {
    /// A record's stored value that does not decode, for `reason`.
    pub fn corrupt_record(key: RecordKey, reason: impl ToString) -> Self {
        ReadError::Corrupt {
            what: format!("record {}", key.describe()),
            key: Some(key),
            reason: reason.to_string(),
        }
    }

    /// A stored value other than a record (`what`: an event, a journal entry,
    /// a stock level) that does not decode, for `reason`.
    pub fn corrupt(what: impl Into<String>, reason: impl ToString) -> Self {
        ReadError::Corrupt {
            key: None,
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// What a read returns.
pub type ReadResult<T> = Result<T, ReadError>;

/// Where o2c keeps its state.
///
/// # Contract
/// - **Atomic commits.** [`Store::commit`] applies a whole [`Changeset`] or nothing. If
///   it returns an error (other than [`StoreError::Backend`] raised after the commit
///   point, which a backend must avoid where it can), no reader ever sees any part of it.
/// - **Optimistic versions.** Each [`Put`] names the version it expects: `None` means
///   the record must not exist, `Some(v)` that it is at version `v`. Any mismatch fails
///   the whole commit with [`StoreError::Conflict`] ([`StoreError::NotFound`] when an
///   update names a record that does not exist at all). A successful put stores the
///   record at `expected + 1` (or 1 for an insert). A changeset may not put one record
///   twice ([`StoreError::Invalid`]).
/// - **Checks.** Every [`Check`] must still hold at commit time — a record still at
///   the version read, a SKU's total on-hand still what was read — or the commit fails
///   with [`StoreError::Conflict`] (a version) or [`StoreError::StockChanged`] (an
///   on-hand total). Checks let a command depend on a record it does not
///   write without serialising with every other command that reads it.
/// - **Bounded counters.** A bounded counter is a limit and what is used of it,
///   moved by additive deltas and kept within `0 ≤ used ≤ limit` by a guard the
///   commit checks on the values stored then ([`Bounds::after`]). A counter no
///   commit has moved is at 0/0. Deltas commute, so concurrent commits moving one
///   counter never conflict with each other; only a commit that would break the
///   guard fails, and then wholly.
///   - *Stock* is the first kind: per SKU × location, on-hand is the limit and
///     reserved what is used. The commit adds the sum of the changeset's movements
///     to on-hand and of its reservation changes to reserved
///     ([`Changeset::stock_deltas`]), and fails with
///     [`StoreError::InsufficientStock`] if the guard breaks. Movements are appended
///     to the movement journal, so on-hand always equals the sum of the movements.
///   - *Every other kind* (a run's capacity, a payment's authorisation) is keyed by
///     a [`CounterKey`], a [`CounterKind`] and an id that a store keeps as text, so
///     a new kind needs no change in any store. The commit adds the changeset's
///     moves summed per counter ([`Changeset::counter_deltas`]) and fails with
///     [`StoreError::OutOfBounds`] if the guard breaks. [`Store::fetch`] reads
///     counters by key ([`Prefetch::counter`]) and [`Snapshot`] visits them all.
/// - **Journal and balances.** Journal entries are appended in commit order and the
///   per-account, per-currency balances move by exactly their lines.
/// - **Document numbers.** Each document of [`Changeset::numbered`] gets the next
///   number of its [`Series`]: gapless from 1 per series, in commit order, taken
///   inside the commit once every check has passed (a failed commit takes none).
///   The store gets them with [`Changeset::assign_numbers`], which writes them into
///   the document, its events and its journal entries, and returns them in
///   [`Committed::numbers`]. A shared SQL store keeps one row per series and
///   takes it last in the transaction (`UPDATE … RETURNING`), so the lock it holds
///   on it is as short as the commit's end.
/// - **Merges.** [`Changeset::merges`] (a customer's figures moving, a line joining
///   a back-order queue) are applied first in the commit, under the commit's lock,
///   with [`Changeset::apply_merges`]: each changes the record as stored then (and
///   bumps its version), so concurrent commands merging into one record never
///   conflict with each other, while a command that read the record and puts it
///   does; a guard that no longer holds fails the commit with
///   [`StoreError::Conflict`].
/// - **Events.** Events get sequence numbers from the store: gapless, starting at 1,
///   strictly increasing in commit order. `events_after(c, n)` returns up to `n`
///   events with sequence `> c`, ascending. A committed event is never renumbered.
/// - **Idempotency.** A changeset's idempotency key is unique per scope; a second
///   commit with the same scope and key fails with [`StoreError::DuplicateKey`] and
///   changes nothing.
/// - **Reads** see only committed state. A read taken after a commit returned sees it.
///   A record a read handed out is never changed afterwards: a later commit
///   replaces it in the store, and the holder keeps the value it read (a store
///   that shares records with a [`Fetched`] hands out an `Arc` it never writes
///   through while anyone else holds it).
/// - **Errors.** A read (every method but `commit`, and every [`Snapshot`]
///   method) fails only with a [`ReadError`]: [`ReadError::Backend`] for an
///   outage, [`ReadError::Corrupt`] for a stored value that does not decode —
///   never with a conflict, which only a commit can meet. A commit fails with a
///   [`StoreError`]: the kinds above, [`StoreError::Backend`] when the backend
///   fails as it commits, and [`StoreError::Read`] when a read it makes inside
///   its transaction does (`?` converts a [`ReadError`] into it).
/// - **Snapshots.** [`Store::read_snapshot`] hands its closure one [`Snapshot`]: every
///   read through it sees the same committed state, each commit wholly or not at
///   all, however many commit meanwhile. The journal is visited with the positions
///   it was stored at (gapless from 1): a store that can lose an entry must store
///   them, not count them as it reads, or the loss goes unseen.
/// - **Indexes.** `orders_of_customer` lists a customer's orders in the order they
///   were committed;
///   `orders_ready_to_ship` lists orders that are `Open` with units reserved and not
///   shipped, oldest placement first.
/// - **Index terms.** A record is found under the terms [`Record::index_terms`]
///   gives for it as stored (an open purchase order under each SKU on its lines, a
///   supplier under each SKU it offers). Every put rewrites its record's terms in
///   the same commit, merges included: a term the new value lacks (a purchase
///   order closed, an offer withdrawn) no longer finds it, and a failed commit
///   changes none. [`Store::fetch`] reads the records of each
///   [`Prefetch::terms`] kind found under its term from the same snapshot as the
///   rest, each record once however many of the terms asked find it, without
///   reading the kind's other records.
/// - Stores that several processes share must keep all of this across processes:
///   correctness may not rest on an in-process lock.
///
/// # A shared SQL store
/// What a store on a networked database (several application instances, one
/// database) must lock, in one transaction per commit, under `READ COMMITTED`:
/// 1. **Idempotency**: insert the key first; a unique violation is
///    [`StoreError::DuplicateKey`].
/// 2. **Merges** ([`Changeset::apply_merges`]): read each merged record
///    `FOR UPDATE`, so two commits merging into one customer or queue take turns
///    on that row only, for as long as their transactions last.
/// 3. **Puts**: an update is `UPDATE … SET version = version + 1 WHERE key = ? AND
///    version = ?` (zero rows: [`StoreError::Conflict`], or
///    [`StoreError::NotFound`] if the row is gone); an insert relies on the
///    primary key (a unique violation is a conflict).
/// 4. **Checks**: a [`Check::Version`] reads the row `FOR SHARE` (a writer that
///    changed it first shows as another version; one that would change it after
///    waits for this commit); a [`Check::SkuOnHand`] reads the SKU's stock rows
///    `FOR SHARE`.
/// 5. **Bounded counters**: one row per counter, moved by one statement with the
///    guard in SQL — for stock `UPDATE stock SET on_hand = on_hand + ?, reserved =
///    reserved + ? WHERE sku = ? AND location = ? AND …`, for the other kinds
///    `UPDATE bounded_counters SET limit_value = limit_value + ?, used = used + ?
///    WHERE kind = ? AND id = ? AND used + ? BETWEEN 0 AND limit_value + ?` (a
///    counter not there yet is inserted at 0/0 first, `ON CONFLICT DO NOTHING`),
///    with `CHECK (0 <= used AND used <= limit_value)` on the table besides. No
///    row changed is a failed guard. The row lock serialises writers of one
///    counter only, for the rest of their transactions, and never across a read.
/// 6. **Balances, journal, events**: balances by additive `UPDATE`; journal and
///    event positions, like document numbers, from one counter row each, taken
///    **last** in the transaction (`UPDATE … RETURNING`), so the lock every commit
///    shares is held only from there to `COMMIT`.
/// 7. **Document numbers** ([`Changeset::assign_numbers`]): one row per
///    [`Series`], taken last with the counters above.
/// 8. **Index terms**: a `record_terms (kind, term, record_key)` table, keyed on
///    all three and indexed by `record_key`. Each put of a kind that has terms
///    deletes its record's rows and inserts those of the new value
///    ([`Record::index_terms`], [`IndexTerm::describe`]) in the commit's
///    transaction, after its `UPDATE` or `INSERT` of the record: the lock on the
///    record's row already serialises every writer of those rows, so the terms
///    add no lock another commit waits for, and they commit (or roll back) with
///    the record. An indexed read is one join of the terms with the records in
///    the fetch's snapshot (`SELECT DISTINCT … WHERE kind = ? AND term IN (…)`),
///    never a scan of the kind.
///
/// Taking row locks in a fixed order (merged records, then puts and checks by
/// key, then stock by SKU and location, then bounded counters by kind and id,
/// then the position and number rows of steps 6 and 7) keeps two commits from
/// deadlocking; a deadlock or serialisation failure the database reports anyway
/// is [`StoreError::Deadlock`], a lost race: the command reads and decides again.
pub trait Store: Send + Sync {
    /// Applies a changeset atomically; returns the sequence of its last event (or the
    /// current last sequence if it had none) and the numbers its documents got.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] (a version or a check failed),
    /// [`StoreError::NotFound`] (an update of a record that does not exist),
    /// [`StoreError::InsufficientStock`], [`StoreError::OutOfBounds`],
    /// [`StoreError::DuplicateKey`], [`StoreError::Invalid`],
    /// [`StoreError::Deadlock`] (a networked store's database broke a lock cycle),
    /// [`StoreError::Interrupted`] (the commit's outcome is unknown),
    /// [`StoreError::Backend`], [`StoreError::Read`] (a read inside the commit
    /// failed).
    fn commit(&self, changes: Changeset) -> impl Future<Output = StoreResult<Committed>> + Send;

    /// Reads everything `request` asks for — records by key, the records they name
    /// that it follows ([`Prefetch::followed`] lists those still to read once the
    /// keyed ones are in), the records found under index terms, whole kinds, stock
    /// levels, bounded counters by key, an idempotency entry — from one snapshot,
    /// in one call: what a command reads before it decides. One read
    /// transaction on SQLite; one round trip on a networked store (which follows
    /// the names server-side, e.g. from a column of names kept beside each record).
    ///
    /// The records come as `Arc`s, so a store that keeps decoded records (in
    /// memory, in a cache) hands out another reference to each instead of a copy.
    /// A record handed out is never changed: a later commit replaces it, and the
    /// reader keeps the value it read.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn fetch(&self, request: &Prefetch) -> impl Future<Output = ReadResult<Fetched>> + Send;

    /// Reads one entity.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn load<E: Entity>(
        &self,
        key: &E::Key,
    ) -> impl Future<Output = ReadResult<Option<Versioned<E>>>> + Send;

    /// Reads several entities of one kind: one answer per key, in the order of `keys`
    /// (`None` where there is none).
    ///
    /// The default reads them one by one. A store with a cost per read (a query, a
    /// round trip, a read transaction) should override it to read them together, from
    /// one snapshot; a command reads its order's products this way.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn load_many<E: Entity>(
        &self,
        keys: &[E::Key],
    ) -> impl Future<Output = ReadResult<Vec<Option<Versioned<E>>>>> + Send {
        async move {
            let mut found = Vec::with_capacity(keys.len());
            for key in keys {
                found.push(self.load::<E>(key).await?);
            }
            Ok(found)
        }
    }

    /// Reads every entity of a kind, in key order. For small kinds (locations) and reports.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn list<E: Entity>(&self) -> impl Future<Output = ReadResult<Vec<Versioned<E>>>> + Send;

    /// Stock of `sku` at every location that has ever held it, by location code.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn stock_levels(&self, sku: &Sku) -> impl Future<Output = ReadResult<Vec<StockLevel>>> + Send;

    /// [`Store::stock_levels`] of each of `skus`, one after another in the order given.
    ///
    /// The default asks for each SKU in turn; as with [`Store::load_many`], a store
    /// with a cost per read should override it.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn stock_levels_of(
        &self,
        skus: &[Sku],
    ) -> impl Future<Output = ReadResult<Vec<StockLevel>>> + Send {
        async move {
            let mut levels = Vec::new();
            for sku in skus {
                levels.extend(self.stock_levels(sku).await?);
            }
            Ok(levels)
        }
    }

    /// Every stock level, by SKU then location.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn all_stock_levels(&self) -> impl Future<Output = ReadResult<Vec<StockLevel>>> + Send;

    /// Every movement of `sku` at `location`, oldest first.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn stock_movements(
        &self,
        sku: &Sku,
        location: &LocationId,
    ) -> impl Future<Output = ReadResult<Vec<StockMovement>>> + Send;

    /// Up to `limit` journal entries after the first `offset`, in posting order.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn journal(
        &self,
        offset: usize,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<JournalEntry>>> + Send;

    /// Every account's balance per currency, by account code.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn account_balances(&self) -> impl Future<Output = ReadResult<Vec<AccountBalance>>> + Send;

    /// A customer's orders, in the order they were committed.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn orders_of_customer(
        &self,
        customer: CustomerId,
    ) -> impl Future<Output = ReadResult<Vec<OrderId>>> + Send;

    /// Up to `limit` of the orders `query` lists, in its order (placement time,
    /// then id; newest first if it says so), after its cursor.
    ///
    /// The default reads every order ([`Store::list`]) and sorts them: right, and
    /// fine for a few thousand. A store that keeps many should override it with an
    /// index (the memory and SQLite stores keep one by placement time).
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn orders_page(
        &self,
        query: &OrderQuery,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<Versioned<Order>>>> + Send {
        async move {
            let mut orders: Vec<Versioned<Order>> = self
                .list::<Order>()
                .await?
                .into_iter()
                .filter(|o| query.matches(&o.value) && query.is_past_cursor(&o.value))
                .collect();
            orders.sort_unstable_by_key(|o| (o.value.placed_at, o.value.id));
            if query.newest_first {
                orders.reverse();
            }
            orders.truncate(limit);
            Ok(orders)
        }
    }

    /// Up to `limit` customers after `after` (from the first when `None`), by id.
    ///
    /// The default reads every customer ([`Store::list`]); a store that keeps many
    /// should override it.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn customers_page(
        &self,
        after: Option<CustomerId>,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<Versioned<Customer>>>> + Send {
        async move {
            Ok(self
                .list::<Customer>()
                .await?
                .into_iter()
                .filter(|c| after.is_none_or(|after| c.value.id > after))
                .take(limit)
                .collect())
        }
    }

    /// Up to `limit` records that fall due for `kind` at or before `until`
    /// (seconds since the Unix epoch), after `after`: earliest first, then by
    /// key ([`RecordKey::describe`]), each with the time it falls due
    /// ([`Record::due_work`]) — what [`Oms::run_due`](crate::Oms::run_due)
    /// works through in batches.
    ///
    /// The default reads every order, invoice and purchase order
    /// ([`Store::list`]) and sorts what is due: right, and fine for a few
    /// thousand. A store that keeps many should override it with an index kept
    /// in the commit, as it keeps index terms (the stores o2c ships do).
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn due(
        &self,
        kind: DueKind,
        until: i64,
        after: Option<&DueCursor>,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<DueWork>>> + Send {
        async move {
            let mut records: Vec<Versioned<Record>> = Vec::new();
            let orders = self.list::<Order>().await?;
            let invoices = self.list::<crate::ledger::Invoice>().await?;
            let purchases = self.list::<crate::purchasing::PurchaseOrder>().await?;
            records.extend(orders.into_iter().map(due::boxed));
            records.extend(invoices.into_iter().map(due::boxed));
            records.extend(purchases.into_iter().map(due::boxed));
            Ok(due::select(records, kind, until, after, limit))
        }
    }

    /// Up to `limit` orders ready to ship, oldest first.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn orders_ready_to_ship(
        &self,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<OrderId>>> + Send;

    /// A used idempotency key.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
    ) -> impl Future<Output = ReadResult<Option<IdempotencyEntry>>> + Send;

    /// Up to `limit` events with sequence greater than `cursor`, ascending.
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn events_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> impl Future<Output = ReadResult<Vec<RecordedEvent>>> + Send;

    /// The sequence of the last committed event (0 when there are none).
    ///
    /// # Errors
    /// [`ReadError::Backend`], [`ReadError::Corrupt`].
    fn last_event_sequence(&self) -> impl Future<Output = ReadResult<u64>> + Send;

    /// The signal this store moves after each commit, if it keeps one: what
    /// [`Oms::wait_for_events`](crate::Oms::wait_for_events) waits on. The default
    /// keeps none, and a waiter falls back to polling.
    fn commit_signal(&self) -> Option<&CommitSignal> {
        None
    }

    /// Runs `read` over one consistent [`Snapshot`] of the whole store and returns
    /// what it returns.
    ///
    /// `read` is synchronous: a store may hold a lock or a read transaction while it
    /// runs (the memory store holds its read lock, so commits wait, and on Linux
    /// other reads too once a commit is waiting; SQLite holds a read transaction on
    /// one of its read connections, so commits go on but the write-ahead log cannot
    /// be checkpointed past it). `read` must not call the store: on the memory
    /// store that deadlocks.
    ///
    /// # Errors
    /// [`ReadError::Backend`] if the snapshot cannot be opened or closed; errors of
    /// the reads themselves ([`ReadResult`]s from the [`Snapshot`]) are `read`'s
    /// to return in `T`.
    fn read_snapshot<T, F>(&self, read: F) -> impl Future<Output = ReadResult<T>> + Send
    where
        F: FnOnce(&dyn Snapshot) -> T + Send,
        T: Send;
}
