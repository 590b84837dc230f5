//! The PostgreSQL store against a real server: the conformance suite, tenants,
//! bad input, schema versions, notifications across connections, faults.
//!
//! The server is `O2C_POSTGRES_URL` (`.ci/run` sets it to a fresh database it
//! drops afterwards), else the machine's `postgres://postgres@127.0.0.1:5432/test`.
//! Each test works in tenants (schemas) of its own, named after it and the
//! process, and drops them when done.
#![cfg(all(feature = "postgres", feature = "testing"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use o2c::fulfilment::PickupCarrier;
use o2c::ids::OrderNumber;
use o2c::order::Order;
use o2c::store::postgres::{PostgresError, PostgresOptions, PostgresStore};
use o2c::store::{ReadError, Store, StoreError};
use o2c::testing::{StoreBuilder, test_all};
use o2c::{Error, Oms};
use tokio_postgres::NoTls;

use common::postgres::{connect, connect_with, desk, hot, order, shop, tenant_name, url};

type Shop = Oms<PostgresStore, PickupCarrier>;

/// A plain connection to the test database, for what o2c would not do.
async fn raw() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&url(), NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// The source of a store error that carries a [`PostgresError`].
fn postgres_source<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a PostgresError> {
    let mut at = Some(e);
    while let Some(e) = at {
        if let Some(found) = e.downcast_ref::<PostgresError>() {
            return Some(found);
        }
        at = e.source();
    }
    None
}

/// A fresh tenant per case, dropped when the case ends.
struct FreshTenant {
    base: PostgresStore,
    prefix: String,
    made: std::sync::atomic::AtomicUsize,
}

struct Dropped {
    base: PostgresStore,
    name: String,
}

impl Drop for Dropped {
    fn drop(&mut self) {
        let _ = pollster::block_on(self.base.drop_tenant(&self.name));
    }
}

impl StoreBuilder for FreshTenant {
    type Store = PostgresStore;
    type Guard = Dropped;

    fn build(&self) -> Result<(PostgresStore, Dropped), Box<dyn std::error::Error + Send + Sync>> {
        let n = self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{}_{n}", self.prefix);
        let _ = pollster::block_on(self.base.drop_tenant(&name));
        let store = pollster::block_on(self.base.create_tenant(&name))?;
        Ok((
            store,
            Dropped {
                base: self.base.clone(),
                name,
            },
        ))
    }
}

#[tokio::test]
async fn postgres_store_conforms() {
    let base = connect("conform").await;
    let builder = FreshTenant {
        prefix: tenant_name("conform"),
        base: base.clone(),
        made: Default::default(),
    };
    let report = test_all(&builder).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(report.passed.len(), 27, "{report}");
    base.drop_tenant(base.tenant_name().as_str()).await.unwrap();
}

#[tokio::test]
async fn a_bad_url_wrong_password_or_missing_database_is_a_typed_error() {
    let bad = PostgresStore::connect("postgres://nobody@[", PostgresOptions::default()).await;
    assert!(
        matches!(bad, Err(PostgresError::InvalidUrl { .. })),
        "{bad:?}"
    );

    let base = url();
    let (server, _) = base.rsplit_once('/').unwrap();
    let missing = format!("{server}/o2c_no_such_database");
    let no_db = PostgresStore::connect(&missing, PostgresOptions::default()).await;
    assert!(
        matches!(no_db, Err(PostgresError::NoDatabase { .. })),
        "{no_db:?}"
    );

    let nobody = PostgresStore::connect(
        &format!("{}?user=o2c_no_such_role", url()),
        PostgresOptions::default(),
    )
    .await;
    assert!(
        matches!(nobody, Err(PostgresError::Authentication { .. })),
        "{nobody:?}"
    );

    let closed = PostgresStore::connect(
        "postgres://postgres@127.0.0.1:1/test",
        PostgresOptions::default().with_connect_timeout(std::time::Duration::from_secs(2)),
    )
    .await;
    assert!(
        matches!(closed, Err(PostgresError::Unreachable { .. })),
        "{closed:?}"
    );
}

#[tokio::test]
async fn a_bad_tenant_name_is_refused_before_anything_is_written() {
    let base = connect("names").await;
    for bad in ["Shop", "x\"; DROP SCHEMA public; --", "pg_toast", ""] {
        let opened = base.create_tenant(bad).await;
        assert!(
            matches!(opened, Err(PostgresError::InvalidTenant { .. })),
            "{bad:?}: {opened:?}"
        );
    }
    let listed = base.tenants().await.unwrap();
    assert!(listed.iter().all(|t| t.as_str() != "shop"), "{listed:?}");
    base.drop_tenant(base.tenant_name().as_str()).await.unwrap();
}

/// Two tenants on one pool, with the same SKU, keys and customers' names: each
/// sees only its own records, stock and events, and numbers its orders from 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tenants_never_see_each_other() {
    let base = connect("tenants").await;
    let (a_name, b_name) = (tenant_name("tenant_a"), tenant_name("tenant_b"));
    for name in [&a_name, &b_name] {
        let _ = base.drop_tenant(name).await;
    }
    let a = base.create_tenant(&a_name).await.unwrap();
    let b = base.create_tenant(&b_name).await.unwrap();
    let (shop_a, shop_b): (Shop, Shop) = (
        Oms::new(a.clone(), PickupCarrier::new()),
        Oms::new(b.clone(), PickupCarrier::new()),
    );
    let customers_a = shop(&shop_a, 10, 1).await;
    let customers_b = shop(&shop_b, 50, 1).await;
    let in_a = shop_a
        .place_order(order("same-key", customers_a[0], 3))
        .await
        .unwrap();
    let in_b = shop_b
        .place_order(order("same-key", customers_b[0], 5))
        .await
        .unwrap();
    assert!(
        !in_a.replayed && !in_b.replayed,
        "one tenant's key replayed in the other"
    );
    assert_eq!(in_a.number, Some(OrderNumber::new(1)));
    assert_eq!(in_b.number, Some(OrderNumber::new(1)));

    let level = |levels: Vec<o2c::stock::StockLevel>| {
        let l = levels.into_iter().find(|l| l.location == desk()).unwrap();
        (l.on_hand, l.reserved)
    };
    assert_eq!(level(a.stock_levels(&hot()).await.unwrap()), (10, 3));
    assert_eq!(level(b.stock_levels(&hot()).await.unwrap()), (50, 5));
    assert!(b.load::<Order>(&in_a.id).await.unwrap().is_none());
    assert!(a.load::<Order>(&in_b.id).await.unwrap().is_none());
    let mentions = |events: &[o2c::event::RecordedEvent], order: &Order| {
        events.iter().any(|e| {
            serde_json::to_string(&e.event)
                .unwrap()
                .contains(&order.id.to_string())
        })
    };
    let events_a = a.events_after(0, 1000).await.unwrap();
    let events_b = b.events_after(0, 1000).await.unwrap();
    assert!(mentions(&events_a, &in_a) && !mentions(&events_a, &in_b));
    assert!(mentions(&events_b, &in_b) && !mentions(&events_b, &in_a));
    assert_eq!(events_a.first().map(|e| e.sequence), Some(1));
    assert_eq!(events_b.first().map(|e| e.sequence), Some(1));
    assert!(shop_a.audit().await.unwrap().is_clean());
    assert!(shop_b.audit().await.unwrap().is_clean());

    let listed: Vec<String> = base
        .tenants()
        .await
        .unwrap()
        .iter()
        .map(|t| t.to_string())
        .collect();
    assert!(
        listed.contains(&a_name) && listed.contains(&b_name),
        "{listed:?}"
    );
    base.drop_tenant(&a_name).await.unwrap();
    let listed: Vec<String> = base
        .tenants()
        .await
        .unwrap()
        .iter()
        .map(|t| t.to_string())
        .collect();
    assert!(
        !listed.contains(&a_name) && listed.contains(&b_name),
        "{listed:?}"
    );
    assert!(matches!(
        base.tenant(&a_name).await,
        Err(PostgresError::NoSuchTenant { .. })
    ));
    // The other tenant carries on.
    assert_eq!(level(b.stock_levels(&hot()).await.unwrap()), (50, 5));
    base.drop_tenant(&b_name).await.unwrap();
    base.drop_tenant(base.tenant_name().as_str()).await.unwrap();
}

/// A tenant at a newer schema version, a foreign schema of the same name, and
/// a foreign marker table are refused, and nothing in them changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newer_and_foreign_schemas_are_refused_untouched() {
    let base = connect("schemas").await;
    let sql = raw().await;
    let newer = tenant_name("newer");
    let _ = base.drop_tenant(&newer).await;
    base.create_tenant(&newer).await.unwrap();
    sql.batch_execute(&format!(
        "UPDATE \"{newer}\".o2c_meta SET value = '99' WHERE key = 'schema_version'"
    ))
    .await
    .unwrap();
    match base.tenant(&newer).await {
        Err(PostgresError::NewerSchema {
            found: 99,
            supported,
            ..
        }) => {
            assert_eq!(supported, o2c::store::postgres::SCHEMA_VERSION);
        }
        other => panic!("a newer schema opened: {other:?}"),
    }

    let foreign = tenant_name("foreign");
    let marked = tenant_name("marked");
    sql.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS \"{foreign}\" CASCADE; DROP SCHEMA IF EXISTS \"{marked}\" CASCADE;
         CREATE SCHEMA \"{foreign}\"; CREATE TABLE \"{foreign}\".customers (id int);
         CREATE SCHEMA \"{marked}\"; CREATE TABLE \"{marked}\".o2c_meta (key text, value text);
         INSERT INTO \"{marked}\".o2c_meta VALUES ('application', 'other'), ('schema_version', '1');"
    ))
    .await
    .unwrap();
    for name in [&foreign, &marked] {
        let opened = base.create_tenant(name).await;
        assert!(
            matches!(opened, Err(PostgresError::ForeignSchema { .. })),
            "{name}: {opened:?}"
        );
        let dropped = base.drop_tenant(name).await;
        assert!(
            matches!(dropped, Err(PostgresError::ForeignSchema { .. })),
            "{name}: {dropped:?}"
        );
    }
    let tables: i64 = sql
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = $1",
            &[&foreign],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "o2c wrote into a foreign schema");
    assert!(matches!(
        base.tenant(&tenant_name("absent")).await,
        Err(PostgresError::NoSuchTenant { .. })
    ));
    sql.batch_execute(&format!(
        "DROP SCHEMA \"{foreign}\" CASCADE; DROP SCHEMA \"{marked}\" CASCADE; DROP SCHEMA \"{newer}\" CASCADE"
    ))
    .await
    .unwrap();
    base.drop_tenant(base.tenant_name().as_str()).await.unwrap();
}

/// Four processes' worth of stores (each its own pool) creating one new tenant
/// at once: the advisory lock makes them take turns, and all open it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_upgrades_take_turns() {
    let name = tenant_name("upgrade");
    let base = connect("upgrade_base").await;
    let _ = base.drop_tenant(&name).await;
    let opened = futures_join(
        (0..4)
            .map(|_| {
                let name = name.clone();
                tokio::spawn(async move {
                    PostgresStore::connect(&url(), PostgresOptions::default().with_tenant(name))
                        .await
                })
            })
            .collect(),
    )
    .await;
    for store in &opened {
        assert_eq!(
            store.as_ref().unwrap().last_event_sequence().await.unwrap(),
            0
        );
    }
    let version: String = raw()
        .await
        .query_one(
            &format!("SELECT value FROM \"{name}\".o2c_meta WHERE key = 'schema_version'"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, o2c::store::postgres::SCHEMA_VERSION.to_string());
    base.drop_tenant(&name).await.unwrap();
    base.drop_tenant(base.tenant_name().as_str()).await.unwrap();
}

async fn futures_join<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// Holds the tenant's event position row locked from a plain connection, so a
/// commit that appends events waits at its last statement; returns that
/// connection (roll it back to let go).
async fn hold_the_event_log(tenant: &str) -> tokio_postgres::Client {
    let holder = raw().await;
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT last FROM \"{tenant}\".positions WHERE name = 'events' FOR UPDATE"
        ))
        .await
        .unwrap();
    holder
}

/// The backend of an o2c connection waiting for a lock that `holder` holds:
/// tests in this file run side by side, so another test's waiting commit must
/// not be taken for this one's.
async fn waiting_backend(sql: &tokio_postgres::Client, holder: &tokio_postgres::Client) -> i32 {
    let holder: i32 = holder
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = sql
            .query_opt(
                "SELECT pid FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name = 'o2c'
                   AND $1 = ANY(pg_blocking_pids(pid)) LIMIT 1",
                &[&holder],
            )
            .await
            .unwrap();
        if let Some(row) = found {
            return row.get(0);
        }
        assert!(
            Instant::now() < deadline,
            "no o2c commit came to wait on the lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A connection killed while its commit waits (`pg_terminate_backend` from a
/// second connection): the command fails with a retryable error, nothing of it
/// is stored, and the retry with the same key places the order once — a second
/// retry replays it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_killed_mid_commit_leaves_all_or_nothing_and_a_retry_replays() {
    let store = connect("killed").await;
    let oms: Arc<Shop> = Arc::new(Oms::new(store.clone(), PickupCarrier::new()));
    let customers = shop(&oms, 10, 1).await;
    let holder = hold_the_event_log(store.tenant_name().as_str()).await;
    let placing = {
        let (oms, customer) = (Arc::clone(&oms), customers[0]);
        tokio::spawn(async move { oms.place_order(order("killed-1", customer, 2)).await })
    };
    let killer = raw().await;
    let pid = waiting_backend(&killer, &holder).await;
    killer
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    let outcome = placing.await.unwrap();
    holder.batch_execute("ROLLBACK").await.unwrap();
    let e = outcome.expect_err("a commit whose connection died succeeded");
    assert!(e.is_retryable(), "{e:?}");
    assert!(
        matches!(e, Error::Store(StoreError::Interrupted(_))),
        "{e:?}"
    );
    assert!(
        store
            .orders_of_customer(customers[0])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(oms.audit().await.unwrap().is_clean());

    let retried = oms
        .place_order(order("killed-1", customers[0], 2))
        .await
        .unwrap();
    assert!(!retried.replayed);
    let again = oms
        .place_order(order("killed-1", customers[0], 2))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.id, retried.id);
    assert_eq!(
        store.orders_of_customer(customers[0]).await.unwrap(),
        vec![retried.id]
    );
    assert!(oms.audit().await.unwrap().is_clean());
    store
        .drop_tenant(store.tenant_name().as_str())
        .await
        .unwrap();
}

/// Every pooled connection busy: the next call fails with
/// `PoolExhausted` after the acquire timeout, not later, and the store works
/// again once the connection is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_is_a_typed_error_within_its_timeout() {
    let options = PostgresOptions::default()
        .with_max_connections(1)
        .with_acquire_timeout(Duration::from_millis(300));
    let store = connect_with("exhausted", options).await;
    let oms: Arc<Shop> = Arc::new(Oms::new(store.clone(), PickupCarrier::new()));
    let customers = shop(&oms, 10, 1).await;
    let holder = hold_the_event_log(store.tenant_name().as_str()).await;
    let placing = {
        let (oms, customer) = (Arc::clone(&oms), customers[0]);
        tokio::spawn(async move { oms.place_order(order("busy-1", customer, 1)).await })
    };
    waiting_backend(&raw().await, &holder).await;
    let started = Instant::now();
    let read = store.last_event_sequence().await;
    let waited = started.elapsed();
    match &read {
        Err(ReadError::Backend(source)) => assert!(
            matches!(
                postgres_source(source.as_ref()),
                Some(PostgresError::PoolExhausted { .. })
            ),
            "{read:?}"
        ),
        other => panic!("a call past an exhausted pool: {other:?}"),
    }
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    holder.batch_execute("ROLLBACK").await.unwrap();
    placing.await.unwrap().unwrap();
    assert!(store.last_event_sequence().await.unwrap() > 0);
    store
        .drop_tenant(store.tenant_name().as_str())
        .await
        .unwrap();
}

/// A TCP proxy to the server that the test can kill, closing every connection
/// through it and its port.
struct Proxy {
    port: u16,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let spawned = Arc::clone(&tasks);
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                spawned.lock().unwrap().push(relay);
            }
        });
        tasks.lock().unwrap().push(accept);
        Self { port, tasks }
    }

    fn kill(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// The server gone from under a connected store (a proxy killed, never the
/// machine's PostgreSQL stopped): reads and commits fail with typed errors
/// within the documented timeouts instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_gives_typed_errors_in_time() {
    let proxy = Proxy::start().await;
    let through = url().replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    assert_ne!(
        through,
        url(),
        "O2C_POSTGRES_URL must name 127.0.0.1:5432 for this test"
    );
    let name = tenant_name("unreachable");
    let options = PostgresOptions::default()
        .with_tenant(name.clone())
        .with_connect_timeout(Duration::from_secs(1))
        .with_call_timeout(Duration::from_secs(3));
    let store = PostgresStore::connect(&through, options).await.unwrap();
    let oms: Shop = Oms::new(store.clone(), PickupCarrier::new());
    let customers = shop(&oms, 10, 1).await;
    proxy.kill();
    // Give the closed sockets a moment to be noticed.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    let read = store.last_event_sequence().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    match &read {
        Err(ReadError::Backend(source)) => assert!(
            matches!(
                postgres_source(source.as_ref()),
                Some(
                    PostgresError::Unreachable { .. }
                        | PostgresError::ConnectionLost { .. }
                        | PostgresError::Timeout { .. }
                )
            ),
            "{read:?}"
        ),
        other => panic!("a read with the server gone: {other:?}"),
    }
    let started = Instant::now();
    let placed = oms.place_order(order("gone-1", customers[0], 1)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let e = placed.expect_err("an order placed with the server gone");
    assert_eq!(e.kind(), o2c::ErrorKind::Unavailable, "{e:?}");

    let direct = connect("unreachable_cleanup").await;
    direct.drop_tenant(&name).await.unwrap();
    direct
        .drop_tenant(direct.tenant_name().as_str())
        .await
        .unwrap();
}

/// A commit through one store wakes the commit signal of another store on the
/// same tenant (its own pool and its own listening connection), as a commit from
/// another process does: the notification comes through the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_through_another_pool_wakes_the_signal() {
    let writer = connect("notify").await;
    let name = writer.tenant_name().to_string();
    let reader = PostgresStore::connect(&url(), PostgresOptions::default().with_tenant(name))
        .await
        .unwrap();
    let signal = reader.commit_signal().unwrap();
    let seen = signal.commits();
    // Let the listener start listening (it wakes every waiter once when it does).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = seen.max(signal.commits());
    let oms: Shop = Oms::new(writer.clone(), PickupCarrier::new());
    shop(&oms, 5, 0).await;
    tokio::time::timeout(Duration::from_secs(10), signal.after(seen))
        .await
        .expect("the other pool's commit never woke this one");
    writer
        .drop_tenant(writer.tenant_name().as_str())
        .await
        .unwrap();
}

/// The hot paths take two round trips: the prefetch and the commit — the
/// numbers of the order and its invoice taken on the server inside the commit.
/// A note that happens to hold a stand-in's digits makes the commit take its
/// numbers first (one round trip more) and stores the note as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placing_and_paying_take_two_round_trips() {
    use o2c::ledger::InvoicePolicy;
    use o2c::{OmsConfig, RecordPayment};

    let store = connect("round_trips").await;
    let oms: Shop = Oms::new(store.clone(), PickupCarrier::new())
        .with_config(OmsConfig::default().with_invoice_policy(InvoicePolicy::OnOrder))
        .unwrap();
    let customers = shop(&oms, 100, 1).await;
    let before = store.round_trips();
    let first = oms
        .place_order(order("trips-1", customers[0], 1))
        .await
        .unwrap();
    assert_eq!(store.round_trips() - before, 2, "placing an order");
    assert_eq!(first.number, Some(OrderNumber::new(1)));
    let invoice = oms.invoice(first.invoices[0]).await.unwrap();
    assert_eq!(invoice.number.to_string(), "INV-000001");
    let entries = store.journal(0, 100).await.unwrap();
    assert!(
        entries.iter().any(|e| e.memo() == "invoice INV-000001"),
        "{:?}",
        entries.iter().map(|e| e.memo()).collect::<Vec<_>>()
    );

    let before = store.round_trips();
    let due = invoice.total().unwrap();
    oms.record_payment(RecordPayment::new(
        o2c::ids::IdempotencyKey::new("pay-1").unwrap(),
        invoice.id,
        due,
        o2c::customer::PaymentMethod::BankTransfer,
    ))
    .await
    .unwrap();
    assert_eq!(store.round_trips() - before, 2, "recording a payment");

    let mut noted = order("trips-2", customers[0], 1);
    noted.note = Some("ring 9137451209000000000 before noon".to_owned());
    let before = store.round_trips();
    let second = oms.place_order(noted).await.unwrap();
    assert_eq!(
        store.round_trips() - before,
        3,
        "the note holds a stand-in's digits"
    );
    assert_eq!(second.number, Some(OrderNumber::new(2)));
    let stored = store
        .load::<Order>(&second.id)
        .await
        .unwrap()
        .unwrap()
        .value;
    assert_eq!(
        stored.note.as_deref(),
        Some("ring 9137451209000000000 before noon")
    );
    assert_eq!(stored.number, Some(OrderNumber::new(2)));
    assert!(oms.audit().await.unwrap().is_clean());
    store
        .drop_tenant(store.tenant_name().as_str())
        .await
        .unwrap();
}

/// Two stores (two application instances) placing orders for one customer in
/// turn: each merges into the customer from the copy it saw last, finds it moved
/// by the other, and merges again under a lock — every order lands, the
/// customer's figures add up (the audit is clean), nothing surfaces as a
/// conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_copy_of_a_merged_record_costs_a_round_trip_not_a_conflict() {
    let first = connect("stale_copy").await;
    let name = first.tenant_name().to_string();
    let second = PostgresStore::connect(&url(), PostgresOptions::default().with_tenant(name))
        .await
        .unwrap();
    let (a, b): (Shop, Shop) = (
        Oms::new(first.clone(), PickupCarrier::new()),
        Oms::new(second.clone(), PickupCarrier::new()),
    );
    let customers = shop(&a, 50, 1).await;
    let mut placed = Vec::new();
    for n in 0..6 {
        let oms = if n % 2 == 0 { &a } else { &b };
        let order = oms
            .place_order(order(&format!("turn-{n}"), customers[0], 1))
            .await
            .unwrap();
        assert!(!order.replayed);
        placed.push(order.id);
    }
    let listed = first.orders_of_customer(customers[0]).await.unwrap();
    assert_eq!(listed, placed);
    let report = a.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    first
        .drop_tenant(first.tenant_name().as_str())
        .await
        .unwrap();
}

/// A caller on the store's own runtime (this test connects from its runtime, so
/// the store's calls run in the caller's task) that stops waiting half-way does
/// not cut the commit off: the rest runs on as a task, the order lands once,
/// and the same key then replays it. The note holds a stand-in's digits, so the
/// commit takes its numbers in a round trip of its own before the last; the
/// test holds the number series, so the caller stops waiting inside that first
/// round trip, with the rest of the commit unsent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_stops_waiting_does_not_cut_its_commit_off() {
    let store = connect("abandoned").await;
    let oms: Shop = Oms::new(store.clone(), PickupCarrier::new());
    let customers = shop(&oms, 10, 1).await;
    let first = oms
        .place_order(order("abandoned-0", customers[0], 1))
        .await
        .unwrap();
    let holder = raw().await;
    holder
        .batch_execute(&format!(
            "BEGIN; SELECT name FROM \"{}\".series FOR UPDATE",
            store.tenant_name()
        ))
        .await
        .unwrap();
    let watcher = raw().await;
    let mut noted = order("abandoned-1", customers[0], 2);
    noted.note = Some("ring 9137451209000000000 before noon".to_owned());
    tokio::select! {
        placed = oms.place_order(noted.clone()) => {
            panic!("the commit went past a held lock: {placed:?}");
        }
        _ = waiting_backend(&watcher, &holder) => {}
    }
    // The placing future is gone, with its commit waiting on the lock.
    holder.batch_execute("ROLLBACK").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let placed = loop {
        let placed = store.orders_of_customer(customers[0]).await.unwrap();
        if placed.len() > 1 {
            break placed;
        }
        assert!(
            Instant::now() < deadline,
            "the abandoned commit never landed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(placed.len(), 2);
    let again = oms.place_order(noted).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.number, Some(OrderNumber::new(2)));
    assert!(placed.contains(&again.id) && placed.contains(&first.id));
    assert!(oms.audit().await.unwrap().is_clean());
    store
        .drop_tenant(store.tenant_name().as_str())
        .await
        .unwrap();
}

/// `analyze` gives every table of the tenant statistics (a fresh tenant's have
/// none: since PostgreSQL 14, `reltuples` is -1 until a table is first vacuumed
/// or analyzed), and refuses a tenant that is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_gives_every_table_of_the_tenant_statistics() {
    let store = connect("analyze").await;
    let oms: Shop = Oms::new(store.clone(), PickupCarrier::new());
    shop(&oms, 10, 3).await;
    let tenant = store.tenant_name().to_string();
    let sql = raw().await;
    let tables = || async {
        sql.query(
            "SELECT c.relname::text, c.reltuples::float8 FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1",
            &[&tenant],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get::<_, String>(0), row.get::<_, f64>(1)))
        .collect::<Vec<_>>()
    };
    let before = tables().await;
    assert!(before.len() >= 10, "{before:?}");
    assert!(
        before.iter().any(|(_, tuples)| *tuples < 0.0),
        "a fresh tenant has a table never analyzed: {before:?}"
    );
    store.analyze().await.unwrap();
    let after = tables().await;
    assert_eq!(after.len(), before.len());
    assert!(after.iter().all(|(_, tuples)| *tuples >= 0.0), "{after:?}");
    // Three customers, a product, a location and the tax table at least.
    let records = after.iter().find(|(name, _)| name == "records").unwrap();
    assert!(records.1 >= 6.0, "{after:?}");

    store.drop_tenant(&tenant).await.unwrap();
    let gone = store.analyze().await.unwrap_err();
    assert!(
        matches!(gone, PostgresError::NoSuchTenant { .. }),
        "{gone:?}"
    );
}

/// Kinds read whole are written into the statement by name (see `reads.rs`;
/// its unit tests check every kind's name is safe to write): a name that is no
/// kind of record, quotes and all, reads nothing and never reaches the SQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_read_whole_that_is_no_kind_reads_nothing() {
    use o2c::stock::Location;
    use o2c::store::Prefetch;

    let store = connect("kinds").await;
    let oms: Shop = Oms::new(store.clone(), PickupCarrier::new());
    shop(&oms, 10, 1).await;
    let mut request = Prefetch::default().every::<Location>();
    request.kinds.push("location'); DROP TABLE records; --");
    request.kinds.push("location");
    let mut fetched = store.fetch(&request).await.unwrap();
    let locations = fetched.take_every::<Location>();
    assert_eq!(locations.len(), 1);
    assert_eq!(locations[0].value.id, desk());

    let request = Prefetch {
        kinds: vec!["no_such_kind"],
        ..Prefetch::default()
    };
    assert!(store.fetch(&request).await.unwrap().records.is_empty());
    assert!(oms.audit().await.unwrap().is_clean());
    store
        .drop_tenant(store.tenant_name().as_str())
        .await
        .unwrap();
}
