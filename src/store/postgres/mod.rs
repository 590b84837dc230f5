//! The shared-database store: PostgreSQL, for many application instances on one
//! database, a schema per tenant (feature `postgres`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use o2c::store::Store;
//! use o2c::store::postgres::{PostgresOptions, PostgresStore};
//!
//! let shop = PostgresStore::connect(
//!     "postgres://o2c@db.internal/o2c",
//!     PostgresOptions::default().with_tenant("shop_eu"),
//! )
//! .await?;
//! let other = shop.create_tenant("shop_us").await?; // same pool, its own schema
//! let last = other.last_event_sequence().await?;
//! # let _ = last;
//! # Ok(())
//! # }
//! ```
//!
//! # Driver and runtime
//! [`tokio_postgres`], with a small pool of its connections (see `pool.rs`). A
//! command's prefetch is one statement whatever it reads (one round trip), and
//! its commit is pipelined, usually into one round trip (see below), where a
//! driver that waits for each statement's answer would pay one per statement. Each connection prepares a
//! statement the first time it meets it (one extra round trip, counted apart by
//! [`PostgresStore::preparations`]) and keeps it, and the store's sessions use
//! generic plans, so the server neither parses nor plans a statement again
//! (`benches/postgres_driver.rs` measures what pipelining and preparing buy).
//! A plan is made for the table as it is then, and made again when the table's
//! statistics change: after a bulk import into a new tenant, call
//! [`PostgresStore::analyze`] rather than wait for autovacuum.
//!
//! The store's I/O runs on a tokio runtime: the host's, if it connects from a
//! multi-threaded tokio runtime (or passes one in [`PostgresOptions::runtime`]),
//! else two worker threads the store starts itself. A call from elsewhere runs
//! as a task there and the caller awaits its result, so **any executor can
//! drive the store's futures** (tokio, `pollster::block_on`, a plain thread). A
//! call from inside that runtime (its tasks, or `block_on` on it) runs in the
//! caller's task, sparing the hand-over. Either way a caller that stops waiting never cuts a commit off
//! half-way: what is left of the call runs on as a task.
//!
//! # Transactions and isolation
//! A commit is one `READ COMMITTED` transaction that takes the row locks the
//! [`Store`] contract's "A shared SQL store" section names: the idempotency key
//! inserted first; merged records read `FOR UPDATE`; puts as version-checked
//! `UPDATE`s (or `INSERT`s that must not find the key); checks reading their row
//! `FOR SHARE` (a SKU's stock `FOR UPDATE`); stock and other bounded counters
//! moved by one guarded `UPDATE` per row; balances by additive upsert; the journal
//! and event positions and the document numbers from one row each, taken last.
//! `READ COMMITTED` is enough because no decision inside the commit rests on a
//! value read without a lock: every value a guard compares is the row's latest
//! committed one, re-read by PostgreSQL after waiting for a concurrent writer.
//! `SERIALIZABLE` would add predicate locks and retries and protect nothing more.
//!
//! Round trips per commit: **one** in the usual case. Document numbers are
//! taken on the server at the end of it and written into the bodies there (see
//! `numbers.rs`: the client serialises with verified stand-ins); merges are
//! applied to the copy of the record this store saw last and written as
//! version-checked puts (see `known.rs`). A commit takes one round trip more
//! for numbers when a stand-in's digits occur in what a user wrote, and two
//! more for merges when its copy is missing or stale (it then reads the records
//! `FOR UPDATE` and merges under the lock). [`PostgresStore::round_trips`]
//! counts them: placing an order and recording a payment each take two, the
//! prefetch and the commit.
//!
//! Reads see committed data only. A fetch is one statement, its parts joined by
//! `UNION ALL`, so it reads one snapshot; [`Store::read_snapshot`] reads every
//! table in one read-only `REPEATABLE READ` transaction and then hands the rows
//! to the reader, so it holds the tenant in memory while the reader runs.
//!
//! # Numbers
//! Event sequences, journal positions and document numbers are gapless per
//! series: each comes from one row, updated in the commit (a rolled-back commit
//! gives its numbers back). That row is a serialisation point: every commit with
//! events holds the event position's row lock from its last statement to the end
//! of `COMMIT`, its WAL flush included. The README's PostgreSQL figures show what
//! it costs at 16 clients.
//!
//! # Tenants
//! A tenant is a schema ([`TenantName`]: lower-case letters, digits and `_`,
//! always quoted in SQL). Every tenant opened from one store shares its pool and
//! its notification connection. [`PostgresStore::create_tenant`],
//! [`PostgresStore::tenant`], [`PostgresStore::tenants`] and
//! [`PostgresStore::drop_tenant`] manage them.
//!
//! # Schema
//! Versioned per tenant (its `o2c_meta` table), upgraded in one transaction under
//! an advisory lock when a tenant is opened, so two processes upgrading at once
//! take turns. A newer schema, or a foreign schema of the same name, is refused
//! with a [`PostgresError`] before anything in it changes. Records are the JSON
//! of [`Record`], balances `numeric`, quantities `bigint`.
//!
//! # Failures
//! Every call is bounded: waiting for a pooled connection by
//! [`PostgresOptions::acquire_timeout`] ([`PostgresError::PoolExhausted`]),
//! opening one by [`PostgresOptions::connect_timeout`]
//! ([`PostgresError::Unreachable`]), the whole call by
//! [`PostgresOptions::call_timeout`] ([`PostgresError::Timeout`]). A read
//! reports them as [`ReadError::Backend`](crate::store::ReadError::Backend), a
//! commit as [`StoreError::Backend`](crate::store::StoreError::Backend), with the
//! [`PostgresError`] as the source. A commit whose connection broke
//! ([`PostgresError::ConnectionLost`]) or whose call timed out may have committed
//! or not: it fails with
//! [`StoreError::Interrupted`](crate::store::StoreError::Interrupted), and the
//! command retried with the same idempotency key returns the first result if it
//! was done. A deadlock or serialisation failure is
//! [`StoreError::Deadlock`](crate::store::StoreError::Deadlock), a lost race.

mod batch;
mod commit;
mod error;
mod known;
mod listen;
mod numbers;
mod options;
mod pool;
mod reads;
mod schema;
mod snapshot;
mod tenant;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::store::{DueCursor, DueKind, DueWork};

use tokio::sync::oneshot;
use tokio_postgres::Config;

pub use error::PostgresError;
pub use options::PostgresOptions;
pub use tenant::TenantName;

use self::batch::Counters;
use self::commit::Target;
use self::known::{Decoded, Known};
use self::listen::Listeners;
use self::pool::{Conn, Driver, Pool, Pooled};
use super::{
    Changeset, CommitSignal, Committed, Entity, Fetched, IdempotencyEntry, IdempotencyScope,
    Prefetch, ReadResult, Record, Snapshot, Store, StoreResult, Versioned,
};
use crate::customer::Customer;
use crate::event::RecordedEvent;
use crate::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use crate::ledger::{AccountBalance, JournalEntry};
use crate::order::{Order, OrderQuery};
use crate::stock::{StockLevel, StockMovement};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = schema::CURRENT_VERSION;

/// A [`Store`] on one tenant of a PostgreSQL database. Cloning is cheap and
/// shares the pool; handles on other tenants ([`PostgresStore::tenant`]) share it
/// too.
#[derive(Clone)]
pub struct PostgresStore {
    shared: Arc<Shared>,
    tenant: Arc<Tenant>,
}

/// What every tenant of one store shares. Fields drop in order: the listener
/// stops first, the runtime goes last.
struct Shared {
    _stop_listening: oneshot::Sender<()>,
    pool: Arc<Pool>,
    listeners: Arc<Listeners>,
    counters: Counters,
    call_timeout: Duration,
    driver: Driver,
}

struct Tenant {
    name: TenantName,
    quoted: String,
    signal: Arc<CommitSignal>,
    /// The last versions seen of records commits merge into.
    known: Known,
    /// Records fetches decoded, by version.
    decoded: Decoded,
}

/// One call's connection and tenant, owned by the task that runs it.
struct Session {
    pooled: Pooled,
    shared: Arc<Shared>,
    tenant: Arc<Tenant>,
}

impl Session {
    fn client(&self) -> Result<&Conn, PostgresError> {
        self.pooled.client()
    }

    fn target(&self) -> Target<'_> {
        Target {
            schema: &self.tenant.quoted,
            tenant: self.tenant.name.as_str(),
            counters: &self.shared.counters,
            decoded: &self.tenant.decoded,
        }
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("tenant", &self.tenant.name)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://user:password@host:port/db`
    /// or `host=… user=… dbname=…`) and opens the tenant of
    /// [`PostgresOptions::tenant`], creating or upgrading its schema.
    ///
    /// # Errors
    /// [`PostgresError::InvalidUrl`], [`PostgresError::Unreachable`],
    /// [`PostgresError::Authentication`], [`PostgresError::NoDatabase`],
    /// [`PostgresError::InvalidTenant`], [`PostgresError::ForeignSchema`],
    /// [`PostgresError::NewerSchema`], [`PostgresError::Migration`],
    /// [`PostgresError::Backend`].
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<Self, PostgresError> {
        let mut config: Config = url.parse().map_err(|e| PostgresError::InvalidUrl {
            source: Box::new(e),
        })?;
        if config.get_application_name().is_none() {
            config.application_name("o2c");
        }
        config
            .connect_timeout(options.connect_timeout)
            .keepalives_idle(Duration::from_secs(30));
        // Statements are prepared once per connection (see `pool.rs`), and each
        // is an index lookup whose plan does not depend on its parameters: a
        // generic plan spares planning it again on every call (measured: a
        // fetch about 40 % faster). Only this store's sessions are affected.
        let session = match config.get_options() {
            Some(given) => format!("{given} -c plan_cache_mode=force_generic_plan"),
            None => "-c plan_cache_mode=force_generic_plan".to_owned(),
        };
        config.options(session);
        let tenant = TenantName::new(options.tenant.clone())?;
        let driver = Driver::new(options.runtime.clone())?;
        let listeners = Arc::new(Listeners::default());
        let (stop, stopped) = oneshot::channel();
        driver.spawn(listen::listen(
            config.clone(),
            Arc::clone(&listeners),
            stopped,
        ));
        let shared = Arc::new(Shared {
            _stop_listening: stop,
            pool: Arc::new(Pool::new(
                config,
                options.max_connections,
                options.acquire_timeout,
            )),
            listeners,
            counters: Counters::default(),
            call_timeout: options.call_timeout,
            driver,
        });
        open(&shared, tenant, true).await
    }

    /// This handle's tenant.
    pub fn tenant_name(&self) -> &TenantName {
        &self.tenant.name
    }

    /// A handle on the existing tenant `name`, sharing this store's pool; its
    /// schema is upgraded if older.
    ///
    /// # Errors
    /// [`PostgresError::InvalidTenant`], [`PostgresError::NoSuchTenant`],
    /// [`PostgresError::ForeignSchema`], [`PostgresError::NewerSchema`],
    /// [`PostgresError::Migration`], and the outages of any call.
    pub async fn tenant(&self, name: &str) -> Result<Self, PostgresError> {
        open(&self.shared, TenantName::new(name)?, false).await
    }

    /// Creates the tenant `name` (its schema and tables) if it does not exist, and
    /// returns a handle on it sharing this store's pool. Creating one that exists
    /// opens it.
    ///
    /// # Errors
    /// As [`PostgresStore::tenant`], but never [`PostgresError::NoSuchTenant`].
    pub async fn create_tenant(&self, name: &str) -> Result<Self, PostgresError> {
        open(&self.shared, TenantName::new(name)?, true).await
    }

    /// Every tenant in the database, by name: each schema with an `o2c_meta`
    /// table and a name o2c would give (opening one still checks its marker).
    ///
    /// # Errors
    /// The outages of any call.
    pub async fn tenants(&self) -> Result<Vec<TenantName>, PostgresError> {
        let rows = run(&self.shared, &self.tenant, |s| async move {
            s.client()?
                .query(
                    "SELECT n.nspname::text FROM pg_namespace n
                     JOIN pg_class c ON c.relnamespace = n.oid
                     WHERE c.relname = 'o2c_meta' AND c.relkind = 'r'
                     ORDER BY 1",
                    &[],
                )
                .await
                .map_err(PostgresError::from_call)
        })
        .await?;
        // A schema with an o2c_meta table but a name o2c would not give is not
        // one of ours.
        Ok(rows
            .iter()
            .filter_map(|row| row.try_get::<_, String>(0).ok())
            .filter_map(|name| TenantName::new(name).ok())
            .collect())
    }

    /// Drops the tenant `name` and everything in it. Refuses a schema that is not
    /// an o2c tenant.
    ///
    /// # Errors
    /// [`PostgresError::InvalidTenant`], [`PostgresError::NoSuchTenant`],
    /// [`PostgresError::ForeignSchema`], and the outages of any call.
    pub async fn drop_tenant(&self, name: &str) -> Result<(), PostgresError> {
        let name = TenantName::new(name)?;
        run(&self.shared, &self.tenant, move |s| async move {
            schema::drop(s.client()?, &name).await
        })
        .await
    }

    /// Refreshes the planner's statistics for this tenant's tables (`ANALYZE`).
    ///
    /// Each connection plans a statement once and keeps the plan (see "Driver
    /// and runtime") until a table's statistics change. On a new tenant the
    /// tables are empty when the first plans are made, so until autovacuum first
    /// analyzes them (within about a minute of the first writes, on the server's
    /// defaults) a statement that joins a list to a table may scan the whole
    /// table where it would look each row up by its index: measured, moving a
    /// placement's stock after 8,000 levels were received took 0.9 ms instead
    /// of 0.05 ms. Call this after a bulk import through commands (catalogue,
    /// opening stock), as `pgbench -i` does after loading; every connection then
    /// plans its statements again.
    ///
    /// # Errors
    /// [`PostgresError::NoSuchTenant`] if the tenant has been dropped, and the
    /// outages of any call.
    pub async fn analyze(&self) -> Result<(), PostgresError> {
        let name = self.tenant.name.clone();
        self.call(move |s| async move { schema::analyze(s.client()?, &name).await })
            .await
    }

    /// Round trips to the server so far, by every tenant of this store: what the
    /// loadgen divides by the commands it ran.
    pub fn round_trips(&self) -> u64 {
        self.shared.counters.round_trips.load(Ordering::Relaxed)
    }

    /// Round trips that prepared statements new to a connection, so far (not in
    /// [`PostgresStore::round_trips`]). Each statement is prepared once per
    /// connection and tenant, so they stop once every connection has run every
    /// statement. A fetch's statement has one text per set of parts a command
    /// reads (records, terms, whole kinds by name, stock, key, counters): a few
    /// per kind of command.
    pub fn preparations(&self) -> u64 {
        self.shared.counters.preparations.load(Ordering::Relaxed)
    }

    /// Runs `work` with a pooled connection on this tenant, on the
    /// store's runtime, within the call timeout.
    async fn call<T, E, F, Fut>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(Arc<Session>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<PostgresError> + Send + 'static,
    {
        run(&self.shared, &self.tenant, work).await
    }
}

/// Runs `work` on a pooled connection on the store's runtime (in the caller's
/// task when the caller is already there: see `Driver::run`), within
/// the call timeout. The connection goes back to the pool when the work ends:
/// after an error, only once a `ROLLBACK` has made sure no transaction is left
/// open on it; after a timeout, never (it is closed, whatever it was doing).
async fn run<T, E, F, Fut>(shared: &Arc<Shared>, tenant: &Arc<Tenant>, work: F) -> Result<T, E>
where
    F: FnOnce(Arc<Session>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: From<PostgresError> + Send + 'static,
{
    let (shared, tenant) = (Arc::clone(shared), Arc::clone(tenant));
    let timeout = shared.call_timeout;
    let runner = Arc::clone(&shared);
    let task = async move {
        let pooled = shared.pool.get().await?;
        let session = Arc::new(Session {
            pooled,
            shared,
            tenant,
        });
        let outcome = work(Arc::clone(&session)).await;
        let clean = match (outcome.is_ok(), session.client()) {
            (true, _) => true,
            (false, Ok(client)) => client.batch_execute("ROLLBACK").await.is_ok(),
            (false, Err(_)) => false,
        };
        if clean {
            session.pooled.reusable();
        }
        outcome
    };
    runner
        .driver
        .run(async move {
            tokio::time::timeout(timeout, task)
                .await
                .unwrap_or_else(|_| Err(PostgresError::Timeout { waited: timeout }.into()))
        })
        .await
        .unwrap_or_else(|e| Err(e.into()))
}

/// Opens (or with `create`, creates) `name` on `shared`'s pool.
async fn open(
    shared: &Arc<Shared>,
    name: TenantName,
    create: bool,
) -> Result<PostgresStore, PostgresError> {
    let signal = shared.listeners.signal(name.as_str());
    let tenant = Arc::new(Tenant {
        quoted: name.quoted(),
        name,
        signal,
        known: Known::default(),
        decoded: Decoded::default(),
    });
    let upgraded = Arc::clone(&tenant);
    run(shared, &tenant, move |s| async move {
        schema::migrate(s.client()?, &upgraded.name, create).await
    })
    .await?;
    Ok(PostgresStore {
        shared: Arc::clone(shared),
        tenant,
    })
}

/// Records of one kind, read on the store's runtime, converted on the caller's side.
fn of_kind<E: Entity>(found: Vec<(u64, Record)>) -> Vec<Versioned<E>> {
    found
        .into_iter()
        .filter_map(|(version, record)| {
            E::from_record(record).map(|value| Versioned { value, version })
        })
        .collect()
}

impl Store for PostgresStore {
    fn commit_signal(&self) -> Option<&CommitSignal> {
        Some(&self.tenant.signal)
    }

    async fn commit(&self, changes: Changeset) -> StoreResult<Committed> {
        let has_events = !changes.events.is_empty();
        let committed = self
            .call(move |s| async move {
                commit::commit(s.client()?, &s.target(), changes, &s.tenant.known).await
            })
            .await?;
        if has_events {
            // This process's waiters need not wait for the notification's trip.
            self.tenant.signal.notify();
        }
        Ok(committed)
    }

    async fn fetch(&self, request: &Prefetch) -> ReadResult<Fetched> {
        let request = request.clone();
        let fetched = self
            .call(move |s| async move { reads::fetch(s.client()?, &s.target(), &request).await })
            .await?;
        for (version, record) in &fetched.records {
            self.tenant.known.note(*version, record);
        }
        Ok(fetched)
    }

    async fn load<E: Entity>(&self, key: &E::Key) -> ReadResult<Option<Versioned<E>>> {
        let key = E::record_key(key);
        let found = self
            .call(move |s| async move {
                reads::load_many(s.client()?, &s.target(), std::slice::from_ref(&key)).await
            })
            .await?;
        Ok(of_kind(found.into_iter().flatten().collect()).pop())
    }

    async fn load_many<E: Entity>(&self, keys: &[E::Key]) -> ReadResult<Vec<Option<Versioned<E>>>> {
        let keys: Vec<_> = keys.iter().map(E::record_key).collect();
        let found = self
            .call(move |s| async move { reads::load_many(s.client()?, &s.target(), &keys).await })
            .await?;
        Ok(found
            .into_iter()
            .map(|found| found.and_then(|found| of_kind(vec![found]).pop()))
            .collect())
    }

    async fn list<E: Entity>(&self) -> ReadResult<Vec<Versioned<E>>> {
        let kind = E::kind();
        let found = self
            .call(move |s| async move { reads::list(s.client()?, &s.target(), kind).await })
            .await?;
        Ok(of_kind(found))
    }

    async fn stock_levels(&self, sku: &Sku) -> ReadResult<Vec<StockLevel>> {
        self.stock_levels_of(std::slice::from_ref(sku)).await
    }

    async fn stock_levels_of(&self, skus: &[Sku]) -> ReadResult<Vec<StockLevel>> {
        let skus = skus.to_vec();
        self.call(
            move |s| async move { reads::stock_levels_of(s.client()?, &s.target(), &skus).await },
        )
        .await
    }

    async fn all_stock_levels(&self) -> ReadResult<Vec<StockLevel>> {
        self.call(|s| async move { reads::all_stock_levels(s.client()?, &s.target()).await })
            .await
    }

    async fn stock_movements(
        &self,
        sku: &Sku,
        location: &LocationId,
    ) -> ReadResult<Vec<StockMovement>> {
        let (sku, location) = (sku.clone(), location.clone());
        self.call(move |s| async move {
            reads::stock_movements(s.client()?, &s.target(), &sku, &location).await
        })
        .await
    }

    async fn journal(&self, offset: usize, limit: usize) -> ReadResult<Vec<JournalEntry>> {
        self.call(
            move |s| async move { reads::journal(s.client()?, &s.target(), offset, limit).await },
        )
        .await
    }

    async fn account_balances(&self) -> ReadResult<Vec<AccountBalance>> {
        self.call(|s| async move { reads::account_balances(s.client()?, &s.target()).await })
            .await
    }

    async fn orders_of_customer(&self, customer: CustomerId) -> ReadResult<Vec<OrderId>> {
        self.call(move |s| async move {
            reads::orders_of_customer(s.client()?, &s.target(), customer).await
        })
        .await
    }

    async fn orders_page(
        &self,
        query: &OrderQuery,
        limit: usize,
    ) -> ReadResult<Vec<Versioned<Order>>> {
        let query = query.clone();
        let found = self
            .call(move |s| async move {
                reads::orders_page(s.client()?, &s.target(), &query, limit).await
            })
            .await?;
        super::codec::all_of_kind(found)
    }

    async fn customers_page(
        &self,
        after: Option<CustomerId>,
        limit: usize,
    ) -> ReadResult<Vec<Versioned<Customer>>> {
        let found = self
            .call(move |s| async move {
                reads::customers_page(s.client()?, &s.target(), after, limit).await
            })
            .await?;
        super::codec::all_of_kind(found)
    }

    async fn due(
        &self,
        kind: DueKind,
        until: i64,
        after: Option<&DueCursor>,
        limit: usize,
    ) -> ReadResult<Vec<DueWork>> {
        let after = after.cloned();
        let found = self
            .call(move |s| async move {
                reads::due(s.client()?, &s.target(), kind, until, after, limit).await
            })
            .await?;
        Ok(found
            .into_iter()
            .map(|(at, (version, value))| DueWork {
                kind,
                at,
                record: Versioned { value, version },
            })
            .collect())
    }

    async fn orders_ready_to_ship(&self, limit: usize) -> ReadResult<Vec<OrderId>> {
        self.call(move |s| async move {
            reads::orders_ready_to_ship(s.client()?, &s.target(), limit).await
        })
        .await
    }

    async fn idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
    ) -> ReadResult<Option<IdempotencyEntry>> {
        let key = key.clone();
        self.call(move |s| async move {
            reads::idempotency(s.client()?, &s.target(), scope, &key).await
        })
        .await
    }

    async fn events_after(&self, cursor: u64, limit: usize) -> ReadResult<Vec<RecordedEvent>> {
        self.call(move |s| async move {
            reads::events_after(s.client()?, &s.target(), cursor, limit).await
        })
        .await
    }

    async fn last_event_sequence(&self) -> ReadResult<u64> {
        self.call(|s| async move { reads::last_event_sequence(s.client()?, &s.target()).await })
            .await
    }

    async fn read_snapshot<T, F>(&self, read: F) -> ReadResult<T>
    where
        F: FnOnce(&dyn Snapshot) -> T + Send,
        T: Send,
    {
        let rows = self
            .call(|s| async move { snapshot::read(s.client()?, &s.target()).await })
            .await?;
        Ok(read(&rows))
    }
}
