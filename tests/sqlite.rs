//! The SQLite store: a whole order flow on a file that is closed and reopened, one
//! history read back identically from the memory store and from SQLite, the
//! contract's errors for hand-made changesets, two handles on one file, the busy
//! timeout, schema migrations, and the files `open` refuses.
#![cfg(feature = "sqlite")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{key, loc, parcel_carrier, sku, start, us_address, usd};
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::{ManualClock, SeededIds};
use o2c::customer::{Customer, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::event::{Event, RecordedEvent};
use o2c::fulfilment::{PickupCarrier, Shipment, ShipmentStatus, TableRateCarrier, TrackingEvent};
use o2c::ids::{EntryId, OrderId};
use o2c::ledger::{AccountBalance, AccountCode, EntryBuilder, EntrySource, Invoice, JournalEntry};
use o2c::ledger::{ChartOfAccounts, Payment};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Hold, Order, PlaceOrder};
use o2c::purchasing::{Offer, PurchaseOrder, Supplier};
use o2c::quantity::Quantity;
use o2c::stock::StockMovement;
use o2c::stock::{Location, LocationKind, MovementReason, ReservationChange, StockLevel};
use o2c::store::sqlite::{
    APPLICATION_ID, Durability, SCHEMA_VERSION, SqliteError, SqliteOptions, SqliteStore,
};
use o2c::store::{
    Changeset, Check, Counter, IdempotencyEntry, IdempotencyScope, IdempotentOutcome, IndexTerm,
    MemoryStore, Prefetch, Put, RecordKey, Store, StoreError, Versioned,
};
use o2c::{AdjustStock, Oms, ReceiveStock, RecordPayment};
use rusqlite::Connection;
use rust_decimal_macros::dec;

type Carriers = (TableRateCarrier, PickupCarrier);

/// A database path in the temp directory, removed (with its WAL files) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "o2c-test-{name}-{}-{n}.sqlite3",
            std::process::id()
        ));
        let db = Self(path);
        db.remove();
        db
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A service over `store` on a manual clock, with seeded ids.
fn service<S: Store>(store: S, seed: u64) -> (Oms<S, Carriers>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start()));
    let oms = Oms::new(store, (parcel_carrier(), PickupCarrier::new()))
        .with_clock(clock.clone())
        .with_ids(Arc::new(SeededIds::new(seed)));
    (oms, clock)
}

/// A tax table, three products, two warehouses and opening stock.
async fn stock_up<S: Store>(oms: &Oms<S, Carriers>) {
    oms.set_tax_table(
        TaxTable::new()
            .with_rate(TaxClass::standard(), None, dec!(0.10))
            .with_rate(TaxClass::new("reduced"), None, dec!(0.05)),
    )
    .await
    .unwrap();
    for (code, price, cost, class) in [
        ("TEE", dec!(20.00), dec!(8.00), TaxClass::standard()),
        ("MUG", dec!(12.50), dec!(4.00), TaxClass::standard()),
        ("BOOK", dec!(15.99), dec!(6.50), TaxClass::new("reduced")),
    ] {
        let p = Product::new(sku(code), code, usd(price), usd(cost), class);
        oms.save_product(p).await.unwrap();
    }
    for (code, priority) in [("WH-EAST", 1), ("WH-WEST", 2)] {
        let l = Location::new(
            loc(code),
            code,
            LocationKind::Warehouse,
            us_address(code),
            priority,
        );
        oms.save_location(l).await.unwrap();
    }
    for (code, at, quantity) in [
        ("TEE", "WH-EAST", 10),
        ("TEE", "WH-WEST", 4),
        ("MUG", "WH-WEST", 6),
        ("BOOK", "WH-EAST", 8),
    ] {
        let idempotency_key = key(&format!("open-{code}-{at}"));
        let reference = "opening".to_owned();
        let (sku, location) = (sku(code), loc(at));
        oms.receive_stock(
            ReceiveStock::new(idempotency_key, sku, location, quantity).with_reference(reference),
        )
        .await
        .unwrap();
    }
}

async fn customer<S: Store>(oms: &Oms<S, Carriers>, name: &str, terms: PaymentTerms) -> Customer {
    let mut profile = NewCustomer::new(
        name,
        format!("{name}@example.com"),
        us_address(name),
        Currency::USD,
    );
    profile.terms = terms;
    oms.register_customer(profile, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
        .into_inner()
}

/// Paid, shipped and delivered; placed and waiting; cancelled; held; adjusted stock.
async fn history<S: Store>(oms: &Oms<S, Carriers>, clock: &ManualClock) {
    stock_up(oms).await;
    let ada = customer(oms, "Ada", PaymentTerms::Prepaid).await;
    let bob = customer(oms, "Bob", PaymentTerms::Net { days: 30 }).await;
    let place = |k: &str, who: o2c::ids::CustomerId, lines: &[(&str, i64)]| {
        let mut cmd = PlaceOrder::new(key(k), who, Channel::Web, Currency::USD);
        for (s, n) in lines {
            cmd = cmd.line(sku(s), *n);
        }
        oms.place_order(cmd)
    };
    let o1 = place("o1", ada.id, &[("TEE", 12), ("MUG", 1)])
        .await
        .unwrap();
    clock.advance(chrono::Duration::minutes(5));
    let invoice = oms.invoice(o1.invoices[0]).await.unwrap();
    let pay = RecordPayment::new(
        key("p1"),
        invoice.id,
        invoice.total().unwrap(),
        PaymentMethod::Card,
    );
    oms.record_payment(pay).await.unwrap();
    for s in oms
        .ship(o1.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
    {
        let delivered = TrackingEvent {
            at: clock_now(clock),
            status: ShipmentStatus::Delivered,
            description: "ok".into(),
        };
        oms.record_tracking(s.id, delivered).await.unwrap();
    }
    clock.advance(chrono::Duration::minutes(5));
    let o2 = place("o2", bob.id, &[("BOOK", 3)]).await.unwrap();
    let twin = place("o2", bob.id, &[("BOOK", 3)]).await.unwrap();
    let o3 = place("o3", bob.id, &[("MUG", 2)]).await.unwrap();
    oms.cancel_order(o3.id, "changed mind", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let o4 = place("o4", bob.id, &[("TEE", 1)]).await.unwrap();
    oms.hold_order(
        o4.id,
        Hold::ManualReview,
        o2c::ids::IdempotencyKey::generate(),
    )
    .await
    .unwrap();
    place("o5", bob.id, &[("MUG", 1), ("BOOK", 1)])
        .await
        .unwrap();
    let adjust = AdjustStock::new(key("count-1"), sku("MUG"), loc("WH-WEST"), -1, "damaged");
    oms.adjust_stock(adjust).await.unwrap();
    assert_eq!(twin.id, o2.id, "a retried key returns the first order");
}

fn clock_now(clock: &ManualClock) -> chrono::DateTime<chrono::Utc> {
    use o2c::clock::Clock;
    clock.now()
}

/// Every read the store offers, over everything in it.
#[derive(Debug, PartialEq)]
struct Everything {
    customers: Vec<Versioned<Customer>>,
    products: Vec<Versioned<Product>>,
    locations: Vec<Versioned<Location>>,
    tax: Vec<Versioned<TaxTable>>,
    orders: Vec<Versioned<Order>>,
    invoices: Vec<Versioned<Invoice>>,
    payments: Vec<Versioned<Payment>>,
    shipments: Vec<Versioned<Shipment>>,
    counters: Vec<Versioned<Counter>>,
    loaded: Vec<Option<Versioned<Order>>>,
    stock: Vec<StockLevel>,
    per_sku: Vec<Vec<StockLevel>>,
    movements: Vec<Vec<StockMovement>>,
    journal: Vec<JournalEntry>,
    journal_pages: Vec<Vec<JournalEntry>>,
    balances: Vec<AccountBalance>,
    orders_of: Vec<Vec<OrderId>>,
    ready: Vec<Vec<OrderId>>,
    keys: Vec<Option<IdempotencyEntry>>,
    events: Vec<RecordedEvent>,
    event_pages: Vec<Vec<RecordedEvent>>,
    last: u64,
}

async fn everything<S: Store>(s: &S) -> Everything {
    let stock = s.all_stock_levels().await.unwrap();
    let orders: Vec<Versioned<Order>> = s.list().await.unwrap();
    let customers: Vec<Versioned<Customer>> = s.list().await.unwrap();
    let (mut per_sku, mut movements, mut loaded, mut orders_of, mut keys) =
        (vec![], vec![], vec![], vec![], vec![]);
    for l in &stock {
        per_sku.push(s.stock_levels(&l.sku).await.unwrap());
        movements.push(s.stock_movements(&l.sku, &l.location).await.unwrap());
    }
    for o in &orders {
        loaded.push(s.load::<Order>(&o.value.id).await.unwrap());
    }
    for c in &customers {
        orders_of.push(s.orders_of_customer(c.value.id).await.unwrap());
    }
    for (scope, k) in [
        (IdempotencyScope::PlaceOrder, "o2"),
        (IdempotencyScope::RecordPayment, "p1"),
        (IdempotencyScope::AdjustStock, "count-1"),
        (IdempotencyScope::PlaceOrder, "p1"),
        (IdempotencyScope::ReceiveStock, "k1"),
    ] {
        keys.push(s.idempotency(scope, &key(k)).await.unwrap());
    }
    let mut journal_pages = vec![];
    let mut event_pages = vec![];
    for (from, n) in [(0, 0), (0, 2), (3, 4), (1_000, 5), (usize::MAX, usize::MAX)] {
        journal_pages.push(s.journal(from, n).await.unwrap());
        event_pages.push(s.events_after(from as u64, n).await.unwrap());
    }
    event_pages.push(s.events_after(u64::MAX, 3).await.unwrap());
    Everything {
        customers,
        products: s.list().await.unwrap(),
        locations: s.list().await.unwrap(),
        tax: s.list().await.unwrap(),
        orders,
        invoices: s.list().await.unwrap(),
        payments: s.list().await.unwrap(),
        shipments: s.list().await.unwrap(),
        counters: s.list().await.unwrap(),
        loaded,
        stock,
        per_sku,
        movements,
        journal: s.journal(0, usize::MAX).await.unwrap(),
        journal_pages,
        balances: s.account_balances().await.unwrap(),
        orders_of,
        ready: vec![
            s.orders_ready_to_ship(usize::MAX).await.unwrap(),
            s.orders_ready_to_ship(1).await.unwrap(),
        ],
        keys,
        events: s.events_after(0, usize::MAX).await.unwrap(),
        event_pages,
        last: s.last_event_sequence().await.unwrap(),
    }
}

async fn assert_audit_clean<S: Store>(oms: &Oms<S, Carriers>) {
    let report = oms.audit().await.unwrap();
    assert!(report.is_clean(), "audit: {:?}", report.violations);
}

#[tokio::test]
async fn the_same_history_reads_back_the_same_as_from_memory() {
    let (memory, clock) = service(MemoryStore::new(), 7);
    history(&memory, &clock).await;
    let (sqlite, clock) = service(SqliteStore::in_memory().unwrap(), 7);
    history(&sqlite, &clock).await;
    let want = everything(memory.store()).await;
    // Document numbers come from the store's series: no command writes a counter.
    assert!(want.orders.len() >= 5 && want.shipments.len() >= 2 && want.counters.is_empty());
    assert_eq!(everything(sqlite.store()).await, want);
    assert_audit_clean(&sqlite).await;
}

#[tokio::test]
async fn an_order_flow_survives_closing_and_reopening_the_file() {
    let db = TempDb::new("reopen");
    let before = {
        let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
        let (oms, clock) = service(store, 11);
        history(&oms, &clock).await;
        assert_audit_clean(&oms).await;
        everything(oms.store()).await
    };
    let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
    assert_eq!(everything(&store).await, before);
    let (oms, _clock) = service(store, 12);
    assert_audit_clean(&oms).await;

    // The reopened file takes new work, and its event numbers go on without a gap.
    let bob = &before.customers[1].value;
    let cmd =
        PlaceOrder::new(key("after"), bob.id, Channel::Phone, Currency::USD).line(sku("TEE"), 1);
    oms.place_order(cmd).await.unwrap();
    let events = oms.store().events_after(0, usize::MAX).await.unwrap();
    assert!(events.len() > before.events.len());
    assert!(
        events
            .iter()
            .enumerate()
            .all(|(i, e)| e.sequence == i as u64 + 1)
    );
    assert_audit_clean(&oms).await;
}

// ---- hand-made changesets, against the memory store ----------------------------

fn location(code: &str) -> Location {
    Location::new(
        loc(code),
        code,
        LocationKind::Warehouse,
        us_address(code),
        1,
    )
}

fn counter(value: u64) -> Counter {
    let name = "invoice".to_owned();
    Counter { name, value }
}

fn counter_key() -> RecordKey {
    RecordKey::Counter("invoice".into())
}

fn eur(x: rust_decimal::Decimal) -> Money {
    Money::new(x, Currency::EUR)
}

/// A balanced entry debiting each `(account, amount)` (negative amounts credit).
fn entry(id: u128, lines: &[(&str, Money)]) -> JournalEntry {
    use o2c::ledger::AccountKind::{Asset, Revenue};
    let chart = ChartOfAccounts::empty()
        .with("1000", "Cash", Asset)
        .with("4000", "Sales", Revenue);
    let source = EntrySource::StockAdjustment { reason: "t".into() };
    let mut b = EntryBuilder::new("test", source);
    for (account, amount) in lines {
        b = b.debit(&AccountCode::new(*account), *amount);
    }
    let id = EntryId::from_uuid(uuid::Uuid::from_u128(id));
    b.build(id, start(), &chart).unwrap()
}

/// A changeset, built up one part at a time.
#[derive(Clone)]
struct Cs(Changeset);

fn cs() -> Cs {
    Cs(Changeset::new(start()))
}

impl Cs {
    fn put(mut self, put: Put) -> Self {
        self.0.puts.push(put);
        self
    }
    fn moved(mut self, s: &str, at: &str, quantity: i64) -> Self {
        let reason = MovementReason::Adjustment {
            reason: "test".into(),
        };
        let (sku, location, at) = (sku(s), loc(at), start());
        self.0.movements.push(StockMovement {
            sku,
            location,
            quantity,
            reason,
            at,
            value: None,
        });
        self
    }
    fn reserved(mut self, s: &str, at: &str, quantity: i64) -> Self {
        let order = OrderId::from_uuid(uuid::Uuid::nil());
        let (sku, location) = (sku(s), loc(at));
        self.0.reservations.push(ReservationChange {
            sku,
            location,
            order,
            quantity,
        });
        self
    }
    fn posted(mut self, entry: JournalEntry) -> Self {
        self.0.journal.push(entry);
        self
    }
    fn event(mut self, quantity: u32) -> Self {
        let (sku, location, reference) = (sku("A"), loc("L1"), "r".to_owned());
        self.0.events.push(Event::StockReceived {
            sku,
            location,
            quantity: Quantity::new(quantity),
            reference,
        });
        self
    }
    fn keyed(mut self, k: &str) -> Self {
        let (scope, key, outcome) = (
            IdempotencyScope::ReceiveStock,
            key(k),
            IdempotentOutcome::Stock,
        );
        self.0.idempotency = Some(IdempotencyEntry {
            scope,
            key,
            fingerprint: u64::MAX,
            fingerprint_version: 2,
            outcome,
        });
        self
    }
    fn check(mut self, check: Check) -> Self {
        self.0.checks.push(check);
        self
    }
}

/// Each commit's outcome, as text: `Ok(sequence)` or the error's `Debug`.
fn outcome(result: Result<o2c::store::Committed, StoreError>) -> String {
    match result {
        Ok(c) => format!("Ok({}, {:?})", c.last_event, c.numbers),
        Err(StoreError::Backend(e)) => panic!("backend failure: {e:?}"),
        Err(e) => format!("{e:?}"),
    }
}

#[tokio::test]
async fn every_outcome_matches_the_memory_store() {
    let unbalanced: JournalEntry = {
        let whole = entry(9, &[("1000", usd(dec!(1))), ("4000", usd(dec!(-1)))]);
        let mut json = serde_json::to_value(whole).unwrap();
        json["lines"].as_array_mut().unwrap().pop();
        serde_json::from_value(json).unwrap()
    };
    let received = entry(
        1,
        &[
            ("1000", usd(dec!(10.50))),
            ("4000", usd(dec!(-10.50))),
            ("4000", eur(dec!(3.00))),
            ("1000", eur(dec!(-3.00))),
        ],
    );
    let on_hand = |n| Check::SkuOnHand {
        sku: sku("A"),
        on_hand: n,
    };
    let version = |v| Check::Version {
        key: counter_key(),
        version: v,
    };
    let script = [
        (
            "Ok",
            cs().put(Put::insert(location("L1")))
                .put(Put::insert(counter(0)))
                .event(0),
        ),
        ("Conflict", cs().put(Put::insert(location("L1")))),
        ("Conflict", cs().put(Put::update(counter(1), 5))),
        ("NotFound", cs().put(Put::update(location("L9"), 1))),
        (
            "Invalid",
            cs().put(Put::update(counter(1), 1))
                .put(Put::update(counter(2), 1)),
        ),
        (
            "Ok",
            cs().put(Put::update(counter(1), 1))
                .moved("A", "L1", 5)
                .posted(received)
                .event(1)
                .event(2)
                .keyed("k1"),
        ),
        (
            "DuplicateKey",
            cs().put(Put::insert(location("L1"))).keyed("k1"),
        ),
        ("InsufficientStock", cs().reserved("A", "L1", 6)),
        ("Ok", cs().reserved("A", "L1", 3).event(3)),
        ("InsufficientStock", cs().reserved("A", "L1", 3).event(4)),
        (
            "InsufficientStock",
            cs().moved("A", "L1", -5).moved("A", "L1", 2),
        ),
        ("InsufficientStock", cs().reserved("A", "L1", -4)),
        ("InsufficientStock", cs().moved("A", "L1", i64::MAX)),
        (
            "Invalid",
            cs().moved("B", "L1", i64::MAX).moved("B", "L1", 1),
        ),
        ("Conflict", cs().check(version(1))),
        ("StockChanged", cs().check(on_hand(4))),
        ("Ok", cs().check(on_hand(5)).check(version(2))),
        ("Invalid", cs().posted(unbalanced).event(5)),
        (
            "Ok",
            cs().reserved("Z", "L2", 0)
                .moved("A", "L2", 2)
                .posted(entry(
                    2,
                    &[("4000", eur(dec!(-1.25))), ("1000", eur(dec!(1.25)))],
                )),
        ),
        ("Ok", cs()),
    ];
    let memory = MemoryStore::new();
    let sqlite = SqliteStore::in_memory().unwrap();
    for (i, (kind, changes)) in script.into_iter().enumerate() {
        let want = outcome(memory.commit(changes.0.clone()).await);
        let got = outcome(sqlite.commit(changes.0).await);
        assert!(want.starts_with(kind), "step {i}: memory gave {want}");
        assert_eq!(got, want, "step {i}");
    }
    let want = everything(&memory).await;
    let currencies: Vec<Currency> = want.balances.iter().map(|b| b.balance.currency()).collect();
    // By account, then by the currency's enum order (USD before EUR), as memory sorts.
    assert_eq!(
        currencies,
        [Currency::USD, Currency::EUR, Currency::USD, Currency::EUR]
    );
    assert_eq!(everything(&sqlite).await, want);
}

#[tokio::test]
async fn two_handles_on_one_file_never_oversell_and_number_events_without_gaps() {
    let db = TempDb::new("two-handles");
    let a = SqliteStore::open(
        &db.0,
        SqliteOptions::default().with_durability(Durability::Normal),
    )
    .unwrap();
    let b = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
    a.commit(cs().moved("A", "L1", 10).event(10).0)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..30u32 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            store.commit(cs().reserved("A", "L1", 1).event(i).0).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::InsufficientStock {
                on_hand: 10,
                reserved: 10,
                ..
            }) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(won, 10);
    for store in [&a, &b] {
        assert_eq!(store.stock_levels(&sku("A")).await.unwrap()[0].reserved, 10);
        let events = store.events_after(0, usize::MAX).await.unwrap();
        assert_eq!(
            events.iter().map(|e| e.sequence).collect::<Vec<_>>(),
            (1..=11).collect::<Vec<u64>>()
        );
    }
}

#[tokio::test]
async fn a_writer_held_past_the_busy_timeout_is_a_backend_error_and_readers_carry_on() {
    let db = TempDb::new("busy");
    let store = SqliteStore::open(
        &db.0,
        SqliteOptions::default().with_busy_timeout(Duration::from_millis(50)),
    )
    .unwrap();
    store.commit(cs().event(1).0).await.unwrap();
    let other = Connection::open(&db.0).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = store.commit(cs().event(2).0).await.unwrap_err();
    let StoreError::Backend(source) = err else {
        panic!("{err:?}")
    };
    let driver = source
        .downcast_ref::<rusqlite::Error>()
        .expect("the driver's error is the source");
    assert_eq!(
        driver.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy)
    );
    assert_eq!(
        store.last_event_sequence().await.unwrap(),
        1,
        "WAL readers do not wait"
    );
    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(store.commit(cs().event(2).0).await.unwrap().last_event, 2);
}

#[test]
fn runs_without_any_async_runtime() {
    let store = SqliteStore::in_memory().unwrap();
    let path = store.path().to_path_buf();
    let seq = pollster::block_on(store.commit(cs().event(1).0)).unwrap();
    assert_eq!(seq.last_event, 1);
    assert_eq!(
        pollster::block_on(store.events_after(0, 10)).unwrap().len(),
        1
    );
    assert!(path.exists());
    drop(store);
    assert!(!path.exists(), "in_memory removes its file");
}

#[tokio::test]
async fn normal_durability_keeps_commits_across_reopening() {
    let db = TempDb::new("normal");
    let normal = SqliteOptions::default().with_durability(Durability::Normal);
    {
        let store = SqliteStore::open(&db.0, normal.clone()).unwrap();
        store
            .commit(cs().moved("A", "L1", 3).event(1).0)
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
    assert_eq!(store.stock_levels(&sku("A")).await.unwrap()[0].on_hand, 3);
    assert_eq!(store.last_event_sequence().await.unwrap(), 1);
}

/// The write-ahead log must start again from its beginning now and then, or it grows
/// with every commit (checkpoints racing the commits never catch up). Past about
/// 8,000 pages (32 MB) a checkpoint holds the writer so it can; without that, these
/// 6,000 commits (about five pages each) would leave a log of over 100 MB.
#[tokio::test]
async fn the_log_stays_bounded_under_a_steady_stream_of_commits() {
    let db = TempDb::new("bounded-log");
    let normal = SqliteOptions::default().with_durability(Durability::Normal);
    let store = SqliteStore::open(&db.0, normal).unwrap();
    for n in 0..6_000u64 {
        store.commit(small_commit(n)).await.unwrap();
    }
    let wal = wal_bytes(&db.0);
    assert!(wal < 48 << 20, "the log grew to {wal} bytes");
}

/// The log's size counts every handle's commits: handles that each commit a little
/// and go, beside one that keeps the file open, still keep it bounded.
#[tokio::test]
async fn the_log_stays_bounded_with_many_short_lived_writers() {
    let db = TempDb::new("bounded-log-many");
    let normal = SqliteOptions::default().with_durability(Durability::Normal);
    let keeps_it_open = SqliteStore::open(&db.0, normal.clone()).unwrap();
    let mut n = 0;
    for _ in 0..250 {
        let store = SqliteStore::open(&db.0, normal.clone()).unwrap();
        for _ in 0..20 {
            store.commit(small_commit(n)).await.unwrap();
            n += 1;
        }
    }
    let wal = wal_bytes(&db.0);
    assert!(wal < 48 << 20, "the log grew to {wal} bytes");
    assert_eq!(keeps_it_open.last_event_sequence().await.unwrap(), n);
}

/// Commit `n` of a stream: bumps a counter, moves a unit, records an event.
fn small_commit(n: u64) -> Changeset {
    let version = (n > 0).then_some(n);
    cs().put(Put::upsert(counter(n + 1), version))
        .moved("A", "L1", 1)
        .event(1)
        .0
}

fn wal_bytes(db: &std::path::Path) -> u64 {
    std::fs::metadata(format!("{}-wal", db.display()))
        .map(|m| m.len())
        .unwrap_or(0)
}

// ---- migrations and refused files ----------------------------------------------

fn header(path: &std::path::Path) -> (i32, i64, String) {
    let conn = Connection::open(path).unwrap();
    let app: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    (app, version, mode)
}

#[test]
fn a_new_file_gets_the_current_schema() {
    let db = TempDb::new("fresh");
    drop(SqliteStore::open(&db.0, SqliteOptions::default()).unwrap());
    assert_eq!(
        header(&db.0),
        (APPLICATION_ID, SCHEMA_VERSION, "wal".to_owned())
    );
    const { assert!(SCHEMA_VERSION >= 1) };
}

#[test]
fn version_zero_files_are_upgraded() {
    let makers: [fn(&std::path::Path); 2] = [
        |p| std::fs::write(p, b"").unwrap(),
        |p| {
            Connection::open(p)
                .unwrap()
                .pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap()
        },
    ];
    for make in makers {
        let db = TempDb::new("v0");
        make(&db.0);
        let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
        assert_eq!(
            pollster::block_on(store.commit(cs().event(1).0))
                .unwrap()
                .last_event,
            1
        );
        drop(store);
        assert_eq!(header(&db.0).1, SCHEMA_VERSION);
    }
}

#[test]
fn a_newer_schema_is_refused() {
    let db = TempDb::new("newer");
    drop(SqliteStore::open(&db.0, SqliteOptions::default()).unwrap());
    Connection::open(&db.0)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    let err = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap_err();
    assert!(
        matches!(err, SqliteError::NewerSchema { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err:?}"
    );
}

#[test]
fn foreign_files_are_refused_and_left_untouched() {
    let db = TempDb::new("foreign");
    let conn = Connection::open(&db.0).unwrap();
    conn.execute_batch("CREATE TABLE theirs (x); PRAGMA application_id = 1234;")
        .unwrap();
    drop(conn);
    let err = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            SqliteError::ForeignFile {
                application_id: 1234
            }
        ),
        "{err:?}"
    );
    assert_eq!(header(&db.0), (1234, 0, "delete".to_owned()));

    let db = TempDb::new("foreign-no-id");
    Connection::open(&db.0)
        .unwrap()
        .execute_batch("CREATE TABLE theirs (x)")
        .unwrap();
    let err = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap_err();
    assert!(
        matches!(err, SqliteError::ForeignFile { application_id: 0 }),
        "{err:?}"
    );
}

#[test]
fn files_that_are_not_databases_are_refused() {
    for contents in [&b"order,customer\n1,ada\n"[..], &[0xA5; 8192][..]] {
        let db = TempDb::new("text");
        std::fs::write(&db.0, contents).unwrap();
        let err = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap_err();
        assert!(matches!(err, SqliteError::NotADatabase { .. }), "{err:?}");
        assert_eq!(std::fs::read(&db.0).unwrap(), contents, "left untouched");
    }
    let missing = std::env::temp_dir()
        .join("o2c-no-such-dir")
        .join("x.sqlite3");
    let err = SqliteStore::open(&missing, SqliteOptions::default()).unwrap_err();
    assert!(matches!(err, SqliteError::CannotOpen { .. }), "{err:?}");
}

/// Makes a file unwritable even for root (who ignores permission bits) with the
/// immutable attribute, and takes the attribute off again on drop.
struct Immutable<'a>(&'a std::path::Path, bool);

impl Drop for Immutable<'_> {
    fn drop(&mut self) {
        if self.1 {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(self.0)
                .status();
        }
    }
}

#[test]
fn a_read_only_file_is_refused_for_writing() {
    use std::os::unix::fs::PermissionsExt;
    let db = TempDb::new("read-only");
    drop(SqliteStore::open(&db.0, SqliteOptions::default()).unwrap());
    std::fs::set_permissions(&db.0, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut guard = Immutable(&db.0, false);
    if std::fs::OpenOptions::new().append(true).open(&db.0).is_ok() {
        guard.1 = std::process::Command::new("chattr")
            .arg("+i")
            .arg(&db.0)
            .status()
            .is_ok_and(|s| s.success());
        if !guard.1 {
            eprintln!("skipped: running as root without chattr, the file stays writable");
            return;
        }
    }
    let err = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap_err();
    assert!(matches!(err, SqliteError::ReadOnly), "{err:?}");
    drop(guard);
    std::fs::set_permissions(&db.0, std::fs::Permissions::from_mode(0o644)).unwrap();
}

/// Each handle caches decoded records, but only ever at the version the row has: a
/// record another handle (or process) changed reads back changed.
#[tokio::test]
async fn a_cached_record_is_never_read_stale() {
    let db = TempDb::new("cache");
    let a = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
    let b = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
    let uncached =
        SqliteStore::open(&db.0, SqliteOptions::default().with_cache_records(0)).unwrap();
    a.commit(cs().put(Put::insert(counter(1))).0).await.unwrap();
    for _ in 0..2 {
        // Twice: the second read is served from the cache.
        let seen = a
            .load::<Counter>(&"invoice".to_owned())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((seen.version, seen.value.value), (1, 1));
    }
    b.commit(cs().put(Put::update(counter(7), 1)).0)
        .await
        .unwrap();
    for store in [&a, &b, &uncached] {
        let seen = store
            .load::<Counter>(&"invoice".to_owned())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((seen.version, seen.value.value), (2, 7));
        let many = store
            .load_many::<Counter>(&["invoice".to_owned(), "missing".to_owned()])
            .await
            .unwrap();
        assert_eq!(many[0].as_ref().map(|v| v.value.value), Some(7));
        assert!(many[1].is_none());
    }
}

/// Dropping the last handle closes the file then and there, even with a checkpoint
/// in flight: a private store's files are gone when the drop returns.
#[tokio::test]
async fn dropping_the_last_handle_closes_and_deletes_a_private_store() {
    for commits in [10u64, 400] {
        let store = SqliteStore::in_memory().unwrap();
        let path = store.path().to_path_buf();
        for n in 0..commits {
            store.commit(small_commit(n)).await.unwrap();
        }
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            assert!(
                !file.exists(),
                "{} outlived the store ({commits} commits)",
                file.display()
            );
        }
    }
}

/// Back-orders and purchasing on the durable store: an order beyond stock waits,
/// replenishment raises a purchase order, the receipt (at a new cost) fills the
/// waiting order first, and everything — queue, purchase order, moving-average cost —
/// survives closing and reopening the file, with the audit clean.
#[tokio::test]
async fn back_orders_and_purchasing_survive_reopening_the_file() {
    use o2c::purchasing::{BackOrderPolicy, BackOrderQueue, Offer, PurchaseOrderStatus, Supplier};
    use o2c::{OmsConfig, PurchasingPolicy, ReceivePurchaseOrder};

    let db = TempDb::new("purchasing");
    let config = OmsConfig::default().with_purchasing(
        PurchasingPolicy::default().with_auto_approve_up_to(Some(usd(dec!(1000)))),
    );
    let (order, po) = {
        let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
        let (oms, _clock) = service(store, 11);
        let oms = oms.with_config(config.clone()).unwrap();
        stock_up(&oms).await;
        let today = start().date_naive();
        let until = today + chrono::Duration::days(30);
        oms.save_supplier(
            Supplier::new(
                o2c::ids::SupplierId::from_uuid(uuid::Uuid::from_u128(1)),
                "S",
                Currency::USD,
            )
            .offer(
                Offer::new(sku("TEE"), usd(dec!(7.00)), 5, today, until)
                    .packs_of(Quantity::new(10)),
            ),
        )
        .await
        .unwrap();
        let buyer = customer(&oms, "Acme", PaymentTerms::Net { days: 30 }).await;
        let order = oms
            .place_order(
                PlaceOrder::new(key("big"), buyer.id, Channel::B2b, Currency::USD)
                    .line(sku("TEE"), 20)
                    .back_order(BackOrderPolicy::BackOrder),
            )
            .await
            .unwrap();
        assert_eq!(order.backordered_units(), 6);
        let raised = oms
            .replenish(&loc("WH-EAST"), o2c::ids::IdempotencyKey::generate())
            .await
            .unwrap();
        assert_eq!(raised.len(), 1);
        assert_eq!(raised[0].status, PurchaseOrderStatus::Approved);
        (order.id, raised[0].id)
    };

    let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
    let (oms, _clock) = service(store, 12);
    let oms = oms.with_config(config).unwrap();
    let waiting = oms
        .store()
        .load::<BackOrderQueue>(&sku("TEE"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(waiting.value.waiting_units(), 6);
    oms.receive_purchase_order(
        ReceivePurchaseOrder::new(key("grn"), po).with_lines(vec![(sku("TEE"), Quantity::new(10))]),
    )
    .await
    .unwrap();
    let filled = oms.order(order).await.unwrap();
    assert_eq!(filled.backordered_units(), 0);
    assert!(filled.is_ready_to_ship());
    // 14 on hand at 8.00 (all reserved), 10 arrive at 7.00: (112 + 70) / 24 = 7.58.
    let tee = oms.product(&sku("TEE")).await.unwrap();
    assert_eq!(tee.cost, usd(dec!(7.58)));
    oms.ship(order, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&oms).await;
}

// ---------------------------------------------------------------------------
// Damage done to the file behind the store's back: the audit adds up the journal
// itself instead of trusting the balances table.
// ---------------------------------------------------------------------------

/// A file with some history, then edited with plain SQL by `damage`, reopened and
/// audited.
async fn audit_after(name: &str, damage: impl FnOnce(&Connection)) -> Vec<o2c::audit::Violation> {
    let db = TempDb::new(name);
    {
        let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
        let (oms, clock) = service(store, 21);
        history(&oms, &clock).await;
        assert_audit_clean(&oms).await;
    }
    damage(&Connection::open(&db.0).unwrap());
    let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
    let (oms, _clock) = service(store, 22);
    oms.audit().await.unwrap().violations
}

#[tokio::test]
async fn a_journal_entry_deleted_from_the_file_is_reported() {
    let found = audit_after("journal-deleted", |conn| {
        assert_eq!(
            conn.execute("DELETE FROM journal WHERE seq = 2", [])
                .unwrap(),
            1
        );
    })
    .await;
    assert!(
        found.iter().any(|v| matches!(
            v,
            o2c::audit::Violation::JournalGap {
                expected: 2,
                found: 3
            }
        )),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|v| matches!(v, o2c::audit::Violation::BalanceNotJournal { .. })),
        "the stored balances still hold the lost entry: {found:?}"
    );
}

#[tokio::test]
async fn the_last_journal_entry_deleted_from_the_file_is_reported() {
    // No gap shows after the last position: the balances give it away.
    let found = audit_after("journal-last-deleted", |conn| {
        let deleted = conn
            .execute(
                "DELETE FROM journal WHERE seq = (SELECT MAX(seq) FROM journal)",
                [],
            )
            .unwrap();
        assert_eq!(deleted, 1);
    })
    .await;
    assert!(
        found
            .iter()
            .any(|v| matches!(v, o2c::audit::Violation::BalanceNotJournal { .. })),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_zero_sum_edit_of_stored_balances_is_reported() {
    let found = audit_after("balances-edited", |conn| {
        let shift = |account: &str, by: rust_decimal::Decimal| {
            let old: String = conn
                .query_row(
                    "SELECT balance FROM balances WHERE account = ?1 AND currency = 'USD'",
                    [account],
                    |row| row.get(0),
                )
                .unwrap_or_else(|_| "0".to_owned());
            let new = old.parse::<rust_decimal::Decimal>().unwrap() + by;
            conn.execute(
                "INSERT INTO balances (account, currency, balance) VALUES (?1, 'USD', ?2)
                 ON CONFLICT (account, currency) DO UPDATE SET balance = excluded.balance",
                [account, &new.to_string()],
            )
            .unwrap();
        };
        // Revenue −100.00 (a credit balance grows more negative), bank +100.00: the
        // trial balance still sums to zero.
        shift("4000", dec!(-100.00));
        shift("1010", dec!(100.00));
    })
    .await;
    for code in ["4000", "1010"] {
        assert!(
            found.iter().any(|v| matches!(v,
                o2c::audit::Violation::BalanceNotJournal { account, .. } if account.as_str() == code)),
            "{code}: {found:?}"
        );
    }
    assert!(
        !found
            .iter()
            .any(|v| matches!(v, o2c::audit::Violation::TrialBalanceNotZero { .. })),
        "{found:?}"
    );
}

/// A fresh copy of the file o2c 0.1 wrote (the quickstart, kept in
/// `tests/fixtures`), to open and upgrade.
fn copy_of_0_1(name: &str) -> TempDb {
    let db = TempDb::new(name);
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/o2c-0.1.sqlite3"
        ),
        &db.0,
    )
    .unwrap();
    db
}

/// A key a 0.1 process used, retried after the upgrade: its entry carries the first
/// fingerprint scheme, under which the retry is compared, so the same command
/// replays (nothing received twice) and other content under the key is refused.
#[tokio::test]
async fn a_key_used_before_the_upgrade_still_replays_after_it() {
    let db = copy_of_0_1("replay-0.1");
    let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
    let (oms, _clock) = service(store, 31);
    let first_run = || {
        ReceiveStock::new(
            key("opening-TEE-BLUE-M-WH-EAST-run1"),
            sku("TEE-BLUE-M"),
            loc("WH-EAST"),
            3,
        )
        .with_reference("opening stock".into())
    };
    let entry = oms
        .store()
        .idempotency(
            IdempotencyScope::ReceiveStock,
            &key("opening-TEE-BLUE-M-WH-EAST-run1"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.fingerprint_version, 1, "stored by 0.1");
    let before = oms.stock(&sku("TEE-BLUE-M")).await.unwrap();
    oms.receive_stock(first_run()).await.unwrap();
    assert_eq!(oms.stock(&sku("TEE-BLUE-M")).await.unwrap(), before);
    let other = first_run().with_quantity(4);
    let err = oms.receive_stock(other).await.unwrap_err();
    assert!(
        matches!(err, o2c::Error::IdempotencyKeyReused { .. }),
        "{err:?}"
    );
    assert_eq!(oms.stock(&sku("TEE-BLUE-M")).await.unwrap(), before);
}

/// The 0.1 quickstart's own order and payment, retried after the upgrade: 0.1
/// fingerprinted their JSON with `"channel":"Web"`, `"method":"Card"` and the
/// amounts as the command carried them, and 0.2 writes `"web"`, `"card"` and
/// amounts at their currency's scale — the retry is still recognised as the same
/// command (o2c hashes it as 0.1 wrote it) and replays, writing nothing.
#[tokio::test]
async fn the_0_1_quickstart_retried_after_the_upgrade_replays_its_order_and_payment() {
    let db = copy_of_0_1("quickstart-0.1");
    let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
    let (oms, _clock) = service(store, 31);
    let orders: Vec<Order> = oms
        .store()
        .list::<Order>()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.value)
        .collect();
    let first = orders
        .iter()
        .find(|o| o.idempotency_key == key("web-cart-7f3a-run1"))
        .expect("the quickstart's web order");
    let events = oms.store().last_event_sequence().await.unwrap();
    let web = PlaceOrder::new(
        key("web-cart-7f3a-run1"),
        first.customer,
        Channel::Web,
        Currency::USD,
    )
    .line(sku("TEE-BLUE-M"), 4)
    .line(sku("MUG-LOGO"), 1)
    .shipping(Money::from_minor(595, Currency::USD));
    let again = oms.place_order(web.clone()).await.unwrap();
    assert!(again.replayed && again.id == first.id);
    let invoice = oms.invoice(first.invoices[0]).await.unwrap();
    let paid = oms
        .record_payment(RecordPayment::new(
            key("psp-charge-1-run1"),
            invoice.id,
            invoice.total().unwrap(),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    assert!(paid.replayed);
    assert_eq!(oms.store().last_event_sequence().await.unwrap(), events);
    // Other content under the same key is still refused.
    let err = oms
        .place_order(web.line(sku("MUG-LOGO"), 1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, o2c::Error::IdempotencyKeyReused { .. }),
        "{err:?}"
    );
}

/// A file written by 0.1 (the quickstart, kept in `tests/fixtures`): its receipts
/// carry no value, so the audit says which accounts it cannot compare instead of
/// reporting them broken; everything else checks, before and after new work.
#[tokio::test]
async fn a_file_written_by_0_1_audits_clean_and_says_what_it_could_not_check() {
    let db = copy_of_0_1("from-0.1");
    let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
    let (oms, _clock) = service(store, 31);
    let report = oms.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    assert_eq!(
        (report.orders, report.journal_entries, report.events),
        (2, 11, 34)
    );
    let skipped = report.not_checked.join("; ");
    assert!(
        skipped.contains("account 2000")
            && skipped.contains("account 5100")
            && skipped.contains("3 receipts"),
        "{skipped}"
    );
    // New receipts carry their value; the old ones still keep those two accounts
    // out of the comparison, and the rest of the books still check.
    let customers = oms.store().list::<Customer>().await.unwrap();
    let products = oms.store().list::<Product>().await.unwrap();
    let locations = oms.store().list::<Location>().await.unwrap();
    oms.receive_stock(
        ReceiveStock::new(
            key("after-upgrade"),
            products[0].value.sku.clone(),
            locations[0].value.id.clone(),
            5,
        )
        .with_reference("first 0.2 receipt".into()),
    )
    .await
    .unwrap();
    let cmd = PlaceOrder::new(
        key("after-upgrade-order"),
        customers[0].value.id,
        Channel::Web,
        Currency::USD,
    )
    .line(products[0].value.sku.clone(), 1);
    let order = oms.place_order(cmd).await.unwrap();
    // The 0.1 invoice counter moved into its series at open: numbering carries on
    // after the two invoices the file had, and orders start their own series.
    let invoice = oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(invoice.number.value(), 3);
    assert_eq!(order.number.map(|n| n.value()), Some(1));
    let counters = oms.store().list::<o2c::store::Counter>().await.unwrap();
    assert!(counters.is_empty(), "{counters:?}");
    let report = oms.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    assert_eq!(report.not_checked.len(), 2, "{:?}", report.not_checked);

    // 0.1 had no purchasing, so the terms step found nothing to fill (its
    // backfill is tested on purchase orders and suppliers of every state beside
    // the schema); the upgraded file keeps the terms of what comes after.
    let product = &products[0].value;
    let term = IndexTerm::Sku(product.sku.clone());
    let supply = Prefetch::new()
        .found_under::<Supplier>(&term)
        .found_under::<PurchaseOrder>(&term);
    let found = oms.store().fetch(&supply).await.unwrap();
    assert!(found.records.is_empty(), "{:?}", found.records);
    let today = start().date_naive();
    let supplier = Supplier::new(
        o2c::ids::SupplierId::from_uuid(uuid::Uuid::from_u128(7)),
        "After the upgrade",
        product.cost.currency(),
    )
    .offer(Offer::new(
        product.sku.clone(),
        product.cost,
        5,
        today,
        today + chrono::Duration::days(30),
    ));
    oms.save_supplier(supplier.clone()).await.unwrap();
    let po = oms
        .raise_purchase_order(
            supplier.id,
            &locations[0].value.id,
            &[(product.sku.clone(), Quantity::new(3))],
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    let mut found = oms.store().fetch(&supply).await.unwrap();
    let suppliers: Vec<_> = found
        .take_every::<Supplier>()
        .into_iter()
        .map(|v| v.value.id)
        .collect();
    let pos: Vec<_> = found
        .take_every::<PurchaseOrder>()
        .into_iter()
        .map(|v| v.value.id)
        .collect();
    assert_eq!((suppliers, pos), (vec![supplier.id], vec![po.id]));
    oms.cancel_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let mut found = oms.store().fetch(&supply).await.unwrap();
    assert!(
        found.take_every::<PurchaseOrder>().is_empty(),
        "cancelled: found under none"
    );
}

/// A 0.1 file gains the table of bounded counters when opened; a counter moved
/// there survives reopening, and the table refuses, as a constraint, a row that
/// breaks the guard even when written by hand.
#[tokio::test]
async fn bounded_counters_survive_reopening_a_file_upgraded_from_0_1() {
    use o2c::store::{Bounds, CounterKey, Prefetch};
    let db = copy_of_0_1("counters-from-0.1");
    let run: CounterKey = "run_capacity/R1".parse().unwrap();
    {
        let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
        let mut c = Changeset::new(start());
        c.move_counter(run.clone(), 12, 5);
        store.commit(c).await.unwrap();
    }
    assert_eq!(header(&db.0).1, SCHEMA_VERSION);
    let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
    let fetched = store.fetch(&Prefetch::new().counter(&run)).await.unwrap();
    assert_eq!(fetched.counter(&run), Some(Bounds { limit: 12, used: 5 }));
    drop(store);

    let conn = Connection::open(&db.0).unwrap();
    for broken in [
        "UPDATE bounded_counters SET used = 13",
        "UPDATE bounded_counters SET used = -1",
        "INSERT INTO bounded_counters (kind, id, limit_value, used) VALUES ('a', 'b', -1, -1)",
    ] {
        let err = conn.execute(broken, []).unwrap_err();
        assert!(err.to_string().contains("CHECK"), "{broken}: {err}");
    }
}

/// Orders a 0.1 file holds are in the listing index the upgrade builds: paged
/// from it, they come as the records themselves say, under every status.
#[tokio::test]
async fn orders_stored_before_the_upgrade_are_listed_after_it() {
    use o2c::order::{OrderQuery, OrderStatus};
    let db = copy_of_0_1("listing-0.1");
    let store = SqliteStore::open(&db.0, SqliteOptions::default()).unwrap();
    let mut all: Vec<Order> = store
        .list::<Order>()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.value)
        .collect();
    assert!(!all.is_empty(), "the fixture has orders");
    all.sort_by_key(|o| (o.placed_at, o.id));
    let ids = |orders: &[Order]| orders.iter().map(|o| o.id).collect::<Vec<_>>();
    let listed: Vec<Order> = store
        .orders_page(&OrderQuery::all(), 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.value)
        .collect();
    assert_eq!(ids(&listed), ids(&all));
    for status in [
        OrderStatus::Open,
        OrderStatus::OnHold,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ] {
        let expected: Vec<Order> = all.iter().filter(|o| o.status == status).cloned().collect();
        let listed: Vec<Order> = store
            .orders_page(&OrderQuery::all().status(status), 10_000)
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.value)
            .collect();
        assert_eq!(ids(&listed), ids(&expected), "{status:?}");
    }
}
