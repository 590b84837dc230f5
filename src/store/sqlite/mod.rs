//! The durable embedded store: one SQLite file, for a single node (feature `sqlite`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use o2c::store::Store;
//! use o2c::store::sqlite::{Durability, SqliteOptions, SqliteStore};
//!
//! let store = SqliteStore::open("o2c.sqlite3", SqliteOptions::default())?;
//! let last = store.last_event_sequence().await?;
//! # let _ = (last, Durability::Full);
//! # Ok(())
//! # }
//! ```
//!
//! # Where the work runs
//! rusqlite is a blocking driver, so the store decides per call where a call may
//! block:
//!
//! - **Commits that may wait** — for another connection's lock, or for the fsync of
//!   [`Durability::Full`] — run on the [`blocking`] crate's thread pool
//!   (`blocking::unblock`); the async caller only awaits a handle that the pool
//!   thread wakes, so no executor thread blocks on disk or on a lock.
//! - **Commits that cannot wait** run on the caller's thread: under
//!   [`Durability::Normal`] a commit syncs nothing (it writes the log into the OS
//!   cache), so when the writer connection and SQLite's write lock are both free at
//!   that instant (tried with a zero busy timeout) it is CPU work of a few hundred
//!   microseconds. Anything else falls back to the pool, and so does the first
//!   commit after the log restarts, which syncs the log's header. (Measured on the
//!   loadgen: place-order p50 from about 640 µs to about 400 µs.)
//! - **Checkpoints** (copying the write-ahead log back into the file, which syncs)
//!   never run inside a caller's commit: the store watches the log's size after each
//!   commit and runs them on the pool — mostly on a connection of their own, so
//!   commits carry on, and past about 32 MB on the writer so the log can start again
//!   from its beginning. The log's size counts every process's commits, so it stays
//!   bounded however many handles write. See `checkpoint.rs` for the measurements.
//! - **Point reads** (a record, a few SKUs' stock, an idempotency key) run on the
//!   calling thread: in WAL mode a reader never waits for a writer, and a point read
//!   is far shorter than the two thread switches a trip through the pool costs
//!   (measured: routing reads through the pool made `place_order` about 1.7×
//!   slower). They use the writer connection when it is free, because its page
//!   cache survives its own commits, where a separate read connection must drop its
//!   whole cache after every commit. Decoded records are cached by version
//!   ([`SqliteOptions::cache_records`]).
//! - **Scans** (lists, reports, pages of the event log or the journal) run on the
//!   calling thread too, but only on the read connections: a long scan on the writer
//!   would keep commits waiting for as long as it runs.
//!
//! Nothing here needs a particular runtime: tokio, async-std, smol or
//! `pollster::block_on` all drive the same futures. [`SqliteStore::open`] itself
//! blocks (it may create and migrate the file); call it at start-up, or inside
//! `unblock` / `spawn_blocking`. Dropping the last handle waits for a checkpoint in
//! flight (milliseconds), so the file is closed when the drop returns.
//!
//! Connections: one writer connection behind a `std::sync::Mutex`, used by commits
//! (and by point reads when free), a few read connections (see
//! [`SqliteOptions::read_connections`]) and one for checkpoints, each behind its own
//! mutex. The mutexes are never held across an `.await`. The file is in WAL mode, so
//! readers on the read connections see the last committed snapshot while a commit is
//! writing, and never make it wait; a point read on the writer holds it for the
//! length of one lookup.
//!
//! # Transactions
//! A commit runs in a `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock
//! before its first read — its own, or one it shares with the other commits that
//! waited for the writer at the same time (see [Group commit](#group-commit)).
//! Inside it the store checks, in the memory store's order:
//! the idempotency key (a `SELECT`, plus the table's primary key as the uniqueness
//! constraint), each put's expected version against the stored `version` column,
//! each [`Check`](crate::store::Check), then the stock guards, the balances and the
//! journal entries. Stock deltas are summed per SKU × location and applied with one
//! guarded `UPDATE ... SET on_hand = on_hand + Δ, reserved = reserved + Δ WHERE ...
//! AND 0 <= reserved + Δ <= on_hand + Δ` each; a row left unchanged is a failed guard
//! and becomes [`StoreError::InsufficientStock`](crate::store::StoreError) with the
//! level as it was. Other bounded counters pass the same guard, in the same kind of
//! statement, on their rows of `bounded_counters` (kind and id as text), after the
//! stock; a failed one is [`StoreError::OutOfBounds`](crate::store::StoreError).
//! Any error drops the transaction (or rolls back to the command's savepoint),
//! which undoes everything the command wrote.
//!
//! # Group commit
//! Under [`Durability::Full`] a transaction costs mostly the sync of the log at
//! `COMMIT`, and one write lock makes commits take turns: sixteen requests in
//! flight paid sixteen syncs. So commits that cannot run on their caller's thread
//! queue for the writer, and whoever gets it first commits every queued changeset
//! (up to [`SqliteOptions::batch_changesets`], 64 by default) in one transaction,
//! each in a savepoint of its own. A changeset refused there (a lost guard, a
//! version conflict, a used key) rolls back to its savepoint alone, giving back
//! the numbers and event sequences it took, and its caller gets its error while
//! the others commit; no caller hears "committed" before the shared `COMMIT` has
//! returned, synced as the durability says. A batch closes when the writer is
//! free, so no commit waits for a timer, unless [`SqliteOptions::batch_linger`]
//! asks the leader to wait a little for more. An error that undoes the whole
//! transaction (a full disk) fails every changeset of the batch, none written.
//!
//! # Several processes
//! Several processes may open one file. Nothing the contract promises rests on
//! process memory: versions, guards, balances and event sequences are all read and
//! written inside the write transaction. A writer that finds another holding the
//! lock waits up to [`SqliteOptions::busy_timeout`] and then fails with
//! [`StoreError::Backend`](crate::store::StoreError) (the source is the driver's
//! busy error); nothing was written, so the command can be retried. SQLite's lock
//! is not fair: a waiting process polls with growing sleeps, so one that commits
//! back to back can hold the other off for a while — never past the timeout
//! without an error, and never at the cost of correctness.
//!
//! # Durability
//! [`Durability::Full`] (the default) syncs the write-ahead log on every commit: a
//! commit that returned survives power loss. [`Durability::Normal`] syncs only at
//! checkpoints: commits are faster, the file is never corrupted, but the last commits
//! before a power cut or OS crash may be lost (an application crash loses nothing).
//! Choose `Normal` only when the host can re-create those commits.
//!
//! # Schema
//! Versioned by `PRAGMA user_version` and recognised by `PRAGMA application_id`
//! ([`APPLICATION_ID`]). Opening a file at an older version upgrades it in one
//! transaction; a newer, foreign, read-only or non-SQLite file is refused with a
//! [`SqliteError`]. Entities are stored as the JSON of [`Record`](crate::store::Record)
//! with the version in its own column, balances as decimal text, stock and
//! movements as integers. Each record's index terms
//! ([`Record::index_terms`](crate::store::Record::index_terms)) sit in a
//! `record_terms` table, rewritten by the commit that puts the record and read
//! in the fetch's read transaction. A stored value that does not decode (a file
//! edited by hand or damaged) is never guessed at: a read reports it as
//! [`ReadError::Corrupt`](crate::store::ReadError::Corrupt), naming the record
//! (its key, when read by key) or what else it was, and a commit that meets it
//! fails with [`StoreError::Read`](crate::store::StoreError::Read), writing
//! nothing.

mod bounds;
mod cache;
mod checkpoint;
mod commit;
#[cfg(test)]
mod corrupt;
mod counters;
mod error;
mod group;
mod ledger;
mod migrations;
mod options;
mod reads;
mod schema;
mod snapshot;
mod stock;
mod temp;
mod terms;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

pub use error::SqliteError;
pub use options::{Durability, SqliteOptions};

use self::cache::RecordCache;
use self::checkpoint::{Checkpoints, Kind};
use self::error::NoWal;
use self::temp::TempFile;
use super::{
    Changeset, CommitSignal, Committed, Entity, Fetched, IdempotencyEntry, IdempotencyScope,
    Prefetch, ReadResult, Snapshot, Store, StoreResult, Versioned,
};
use crate::customer::Customer;
use crate::event::RecordedEvent;
use crate::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use crate::ledger::{AccountBalance, JournalEntry};
use crate::order::{Order, OrderQuery};
use crate::stock::{StockLevel, StockMovement};
use crate::store::{DueCursor, DueKind, DueWork};

/// `PRAGMA application_id` of every o2c file.
pub const APPLICATION_ID: i32 = schema::APPLICATION_ID;

/// The schema version (`PRAGMA user_version`) this build writes and reads.
pub const SCHEMA_VERSION: i64 = schema::CURRENT_VERSION;

/// A [`Store`] in one SQLite file. Cloning is cheap and shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Moved after each commit made through this store (see [`CommitSignal`]).
    signal: CommitSignal,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// When to checkpoint, and whether one is running (see [`checkpoint`]).
    checkpoints: Checkpoints,
    /// True under [`Durability::Normal`], where a commit syncs nothing and so may run
    /// on the caller's thread.
    commit_inline: bool,
    busy_timeout: Duration,
    /// Runs the checkpoints that do not hold the writer (see [`Inner::committed`]).
    checkpointer: Mutex<Connection>,
    /// Decoded records by version (see [`SqliteOptions::cache_records`]).
    cache: RecordCache,
    /// Commits waiting for the writer, committed together (see [`group`]).
    queue: group::Queue,
    batching: group::Batching,
    path: PathBuf,
    /// Declared last so it is dropped last: the file goes only after its connections.
    _temp: Option<TempFile>,
}

impl Drop for SqliteStore {
    /// The last handle (or the last but a checkpoint task) waits for a checkpoint in
    /// flight, so that when it returns the file is closed — and a temporary one
    /// deleted — rather than some time later on a pool thread, or never if the
    /// process exits first.
    fn drop(&mut self) {
        if Arc::strong_count(&self.inner) <= 2 {
            self.inner.checkpoints.wait_idle(self.inner.busy_timeout);
        }
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("read_connections", &self.inner.readers.len())
            .finish_non_exhaustive()
    }
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

fn connect(
    path: &Path,
    options: &SqliteOptions,
    flags: OpenFlags,
) -> Result<Connection, SqliteError> {
    // No `SQLITE_OPEN_URI`: a path is always a path. No SQLite mutex: each connection
    // is used by one thread at a time, behind our own `Mutex`.
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(SqliteError::from_open)?;
    conn.busy_timeout(options.busy_timeout)
        .map_err(SqliteError::from_open)?;
    // A commit runs about twenty distinct statements; the default cache of 16 would
    // evict and re-prepare some of them on every commit.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (or creates) the store in the file at `path`, upgrading an older schema.
    ///
    /// Blocks on file I/O and, when another process holds the file's lock, for up to
    /// the busy timeout.
    ///
    /// # Errors
    /// [`SqliteError::NotADatabase`], [`SqliteError::ForeignFile`],
    /// [`SqliteError::NewerSchema`], [`SqliteError::ReadOnly`],
    /// [`SqliteError::CannotOpen`], [`SqliteError::Migration`],
    /// [`SqliteError::Backend`].
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, SqliteError> {
        Self::open_file(path.as_ref().to_path_buf(), &options, None)
    }

    /// A private, throwaway store for tests and demos.
    ///
    /// It lives in a new file in the system's temporary directory, deleted when the
    /// last clone of the store is dropped. A real file rather than SQLite's
    /// `:memory:`, so that it runs exactly what a file store runs (WAL, separate read
    /// connections, the same locking) and a test of it is a test of the real thing.
    /// Durability is [`Durability::Normal`]: the file does not outlive the process.
    ///
    /// # Errors
    /// [`SqliteError::CannotOpen`] when the temporary file cannot be created, or as
    /// [`SqliteStore::open`].
    pub fn in_memory() -> Result<Self, SqliteError> {
        let temp = TempFile::new().map_err(|e| SqliteError::CannotOpen {
            source: Box::new(e),
        })?;
        let options = SqliteOptions::default().with_durability(Durability::Normal);
        Self::open_file(temp.path.clone(), &options, Some(temp))
    }

    fn open_file(
        path: PathBuf,
        options: &SqliteOptions,
        temp: Option<TempFile>,
    ) -> Result<Self, SqliteError> {
        let read_write = OpenFlags::SQLITE_OPEN_READ_WRITE;
        let mut writer = connect(&path, options, read_write | OpenFlags::SQLITE_OPEN_CREATE)?;
        // Refuse a file that is not ours before changing anything in it, even its
        // journal mode.
        migrations::check(&writer)?;
        // SQLite quietly opens a write-protected file read-only; say so now rather
        // than at the first commit.
        if writer.is_readonly("main").map_err(SqliteError::from_open)? {
            return Err(SqliteError::ReadOnly);
        }
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(SqliteError::from_open)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(SqliteError::Backend(Box::new(NoWal { mode })));
        }
        writer
            .pragma_update(None, "synchronous", options.durability.pragma())
            .map_err(SqliteError::from_open)?;
        migrations::migrate(&mut writer)?;
        // Checkpoints run on the pool, after the commit (see `checkpoint`), rather
        // than inside whichever commit crosses the threshold. Registering the hook
        // replaces SQLite's automatic checkpoint.
        writer.wal_hook(Some(checkpoint::note_wal_frames));
        if let Some(bytes) = options.max_bytes {
            let page_size: u64 = writer
                .pragma_query_value(None, "page_size", |row| row.get(0))
                .map_err(SqliteError::from_open)?;
            let pages = bytes.checked_div(page_size).unwrap_or(0).max(1);
            writer
                .pragma_update(None, "max_page_count", pages)
                .map_err(SqliteError::from_open)?;
        }

        let mut readers = Vec::with_capacity(options.read_connections.max(1));
        for _ in 0..options.read_connections.max(1) {
            let reader = connect(&path, options, read_write)?;
            // Belt and braces: a read path that tried to write would fail loudly.
            reader
                .pragma_update(None, "query_only", true)
                .map_err(SqliteError::from_open)?;
            readers.push(Mutex::new(reader));
        }
        let checkpointer = connect(&path, options, read_write)?;
        Ok(Self {
            inner: Arc::new(Inner {
                signal: CommitSignal::new(),
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                checkpoints: Checkpoints::default(),
                commit_inline: options.durability == Durability::Normal,
                busy_timeout: options.busy_timeout,
                checkpointer: Mutex::new(checkpointer),
                cache: RecordCache::new(options.cache_records),
                queue: group::Queue::default(),
                batching: group::Batching {
                    max_changesets: options.batch_changesets,
                    linger: options.batch_linger,
                },
                path,
                _temp: temp,
            }),
        })
    }

    /// The file the store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Commits `changes` on the blocking pool, in a batch with whatever else waits
    /// for the writer (see [`group`]): the outcome, the changeset back, and the log
    /// frames the batch left if this call led it.
    async fn commit_grouped(
        &self,
        changes: Changeset,
    ) -> (StoreResult<Committed>, Option<Changeset>, u32) {
        let inner = Arc::clone(&self.inner);
        blocking::unblock(move || {
            // Queued here, on the pool, rather than before: a caller that drops its
            // future before the pool runs this leaves nothing behind to commit.
            group::commit(
                &inner.writer,
                &inner.cache,
                &inner.queue,
                inner.batching,
                changes,
            )
        })
        .await
    }

    /// Runs a point read (a few indexed lookups) on the calling thread, on the
    /// writer connection when it is free.
    async fn read<T, F>(&self, f: F) -> ReadResult<T>
    where
        F: FnOnce(&Connection) -> ReadResult<T>,
    {
        // Reads run here, on the caller's thread: a WAL reader never waits for a
        // writer, and a point read is far shorter than the two thread switches a
        // trip through the pool would cost.
        f(&self.inner.reader(true))
    }

    /// Runs a scan (a list, a report, a page of the log) on the calling thread, on
    /// a read connection: never on the writer, which it would keep from commits for
    /// as long as it runs.
    async fn scan<T, F>(&self, f: F) -> ReadResult<T>
    where
        F: FnOnce(&Connection) -> ReadResult<T>,
    {
        f(&self.inner.reader(false))
    }
}

impl Inner {
    /// Commits on the calling thread when that cannot stall it: under
    /// [`Durability::Normal`] (a commit writes to the OS cache and syncs nothing) and
    /// only when the writer connection and SQLite's write lock are both free at once.
    /// `None` means nothing was done and the commit belongs on the pool.
    fn commit_here(&self, changes: &mut Changeset) -> Option<StoreResult<(Committed, u32)>> {
        // Right after a restart the next commit writes the log's first frame, which
        // syncs the log header even under NORMAL.
        if !self.commit_inline || self.checkpoints.take_restarted() {
            return None;
        }
        let mut conn = match self.writer.try_lock() {
            Ok(conn) => conn,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        commit::commit_if_unlocked(&mut conn, &self.cache, changes, self.busy_timeout)
            .map(|outcome| outcome.map(|last| (last, checkpoint::take_wal_frames())))
    }

    /// Starts the checkpoint a commit that left `frames` in the log calls for, if
    /// any, on the pool (see [`checkpoint`]). The task holds the store only weakly:
    /// a store dropped meanwhile is not kept open by it, and the last handle waits
    /// for a task already running (see the `Drop` of [`SqliteStore`]).
    fn committed(self: &Arc<Self>, frames: u32) {
        let Some(kind) = self.checkpoints.plan(frames) else {
            return;
        };
        let done = self.checkpoints.finish_guard();
        let store = Arc::downgrade(self);
        blocking::unblock(move || {
            // Declared before `inner`, so dropped after it: the store is let go
            // before the checkpoint counts as finished.
            let _done = done;
            let Some(inner) = store.upgrade() else {
                return;
            };
            let slot = match kind {
                Kind::Background => &inner.checkpointer,
                Kind::Restart => &inner.writer,
            };
            let conn = slot.lock().unwrap_or_else(PoisonError::into_inner);
            // A checkpoint that fails or stops short only leaves pages in the log,
            // where they are just as durable; the next one carries on.
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            if kind == Kind::Restart {
                inner.checkpoints.note_restart();
            }
        })
        .detach();
    }

    /// For a point read the writer connection if it is free (its page cache is warm:
    /// see the module docs); else a free read connection, else the next one in turn,
    /// waited for.
    fn reader(&self, point: bool) -> MutexGuard<'_, Connection> {
        if point {
            match self.writer.try_lock() {
                Ok(conn) => return conn,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let count = self.readers.len();
        for i in 0..count {
            let Some(slot) = start
                .wrapping_add(i)
                .checked_rem(count)
                .and_then(|at| self.readers.get(at))
            else {
                continue;
            };
            match slot.try_lock() {
                Ok(conn) => return conn,
                Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        let slot = start
            .checked_rem(count)
            .and_then(|at| self.readers.get(at))
            .unwrap_or(&self.writer);
        slot.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for SqliteStore {
    fn commit_signal(&self) -> Option<&CommitSignal> {
        Some(&self.inner.signal)
    }

    async fn commit(&self, mut changes: Changeset) -> StoreResult<Committed> {
        let (committed, changes) = match self.inner.commit_here(&mut changes) {
            Some(outcome) => {
                let (committed, frames) = outcome?;
                self.inner.committed(frames);
                (committed, Some(changes))
            }
            None => {
                let (outcome, changes, frames) = self.commit_grouped(changes).await;
                // Others' changesets may have committed in this batch even if
                // this one was refused: the log grew all the same.
                self.inner.committed(frames);
                (outcome?, changes)
            }
        };
        self.inner.signal.notify();
        // What was just written is what the next reads will most likely ask for.
        for put in changes.into_iter().flat_map(|changes| changes.puts) {
            let version = put.expected.map_or(1, |v| v.saturating_add(1));
            let key = put.record.key().describe();
            self.inner.cache.put(key, version, Arc::new(put.record));
        }
        Ok(committed)
    }

    async fn fetch(&self, request: &Prefetch) -> ReadResult<Fetched> {
        self.read(|conn| reads::fetch(conn, &self.inner.cache, request))
            .await
    }

    async fn load<E: Entity>(&self, key: &E::Key) -> ReadResult<Option<Versioned<E>>> {
        let key = E::record_key(key);
        self.read(move |conn| reads::load::<E>(conn, &self.inner.cache, &key))
            .await
    }

    async fn load_many<E: Entity>(&self, keys: &[E::Key]) -> ReadResult<Vec<Option<Versioned<E>>>> {
        let keys: Vec<_> = keys.iter().map(E::record_key).collect();
        self.read(move |conn| {
            reads::in_snapshot(conn, |conn| {
                keys.iter()
                    .map(|key| reads::load::<E>(conn, &self.inner.cache, key))
                    .collect()
            })
        })
        .await
    }

    async fn list<E: Entity>(&self) -> ReadResult<Vec<Versioned<E>>> {
        self.scan(reads::list::<E>).await
    }

    async fn stock_levels(&self, sku: &Sku) -> ReadResult<Vec<StockLevel>> {
        let sku = sku.clone();
        self.read(move |conn| reads::stock_levels(conn, &sku)).await
    }

    async fn stock_levels_of(&self, skus: &[Sku]) -> ReadResult<Vec<StockLevel>> {
        let skus = skus.to_vec();
        self.read(move |conn| {
            reads::in_snapshot(conn, |conn| {
                let mut levels = Vec::new();
                for sku in &skus {
                    levels.extend(reads::stock_levels(conn, sku)?);
                }
                Ok(levels)
            })
        })
        .await
    }

    async fn all_stock_levels(&self) -> ReadResult<Vec<StockLevel>> {
        self.scan(reads::all_stock_levels).await
    }

    async fn stock_movements(
        &self,
        sku: &Sku,
        location: &LocationId,
    ) -> ReadResult<Vec<StockMovement>> {
        let (sku, location) = (sku.clone(), location.clone());
        self.scan(move |conn| reads::stock_movements(conn, &sku, &location))
            .await
    }

    async fn journal(&self, offset: usize, limit: usize) -> ReadResult<Vec<JournalEntry>> {
        self.scan(move |conn| reads::journal(conn, offset, limit))
            .await
    }

    async fn account_balances(&self) -> ReadResult<Vec<AccountBalance>> {
        self.scan(reads::account_balances).await
    }

    async fn orders_of_customer(&self, customer: CustomerId) -> ReadResult<Vec<OrderId>> {
        self.read(move |conn| reads::orders_of_customer(conn, customer))
            .await
    }

    async fn orders_page(
        &self,
        query: &OrderQuery,
        limit: usize,
    ) -> ReadResult<Vec<Versioned<Order>>> {
        self.scan(|conn| reads::orders_page(conn, query, limit))
            .await
    }

    async fn customers_page(
        &self,
        after: Option<CustomerId>,
        limit: usize,
    ) -> ReadResult<Vec<Versioned<Customer>>> {
        self.scan(move |conn| reads::customers_page(conn, after, limit))
            .await
    }

    async fn due(
        &self,
        kind: DueKind,
        until: i64,
        after: Option<&DueCursor>,
        limit: usize,
    ) -> ReadResult<Vec<DueWork>> {
        self.scan(move |conn| reads::due(conn, kind, until, after, limit))
            .await
    }

    async fn orders_ready_to_ship(&self, limit: usize) -> ReadResult<Vec<OrderId>> {
        self.scan(move |conn| reads::orders_ready_to_ship(conn, limit))
            .await
    }

    async fn idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
    ) -> ReadResult<Option<IdempotencyEntry>> {
        let key = key.clone();
        self.read(move |conn| reads::idempotency(conn, scope, &key))
            .await
    }

    async fn events_after(&self, cursor: u64, limit: usize) -> ReadResult<Vec<RecordedEvent>> {
        self.scan(move |conn| reads::events_after(conn, cursor, limit))
            .await
    }

    async fn last_event_sequence(&self) -> ReadResult<u64> {
        self.read(reads::last_event_sequence).await
    }

    async fn read_snapshot<T, F>(&self, read: F) -> ReadResult<T>
    where
        F: FnOnce(&dyn Snapshot) -> T + Send,
        T: Send,
    {
        // On a read connection, never the writer: a whole-store read would keep
        // commits waiting for as long as it runs.
        self.scan(move |conn| reads::in_snapshot(conn, |tx| Ok(read(&snapshot::InTransaction(tx)))))
            .await
    }
}
