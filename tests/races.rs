//! Races forced deterministically: idempotency twins, carrier bookings that outlive or mismatch their shipment, cost changes racing stock commands, and a due date past the calendar's end.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, Utc};
use common::{EAST, WEST, key, loc, parcel_carrier, sku, start, us_address, usd};
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::{ManualClock, SeededIds};
use o2c::customer::{Customer, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::{
    Booking, BookingRequest, Carrier, CarrierError, PickupCarrier, RateQuote, RateRequest,
    Shipment, TableRateCarrier, TrackingEvent, TrackingNumber,
};
use o2c::ids::IdempotencyKey;
use o2c::ledger::{AccountCode, InvoiceStatus, Payment};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Hold, OrderAction, OrderError, OrderStatus, PlaceOrder};
use o2c::stock::{Location, LocationKind};
use o2c::store::{
    Changeset, Committed, IdempotencyEntry, IdempotencyScope, MemoryStore, ReadResult, Store,
    StoreResult,
};
use o2c::{Error, Oms, OmsConfig, ReceiveStock};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tokio::sync::oneshot;

// ---------------------------------------------------------------------------
// A store that lets a test cut in

/// A store call at which [`Hooked`] can run an armed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// Just before a commit reaches the store: the action's own commit lands between
    /// everything the command read and its commit.
    Commit,
    /// Just after an idempotency key was looked up (alone, or in a prefetch): the
    /// action's commit lands between the command's key check and everything it
    /// does next.
    Idempotency,
}

/// An action waiting for its call.
type Action = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A [`MemoryStore`] that runs one armed action at a chosen call, so a test can force
/// an interleaving instead of hoping for it. The action is typically a command of a
/// second service over [`Hooked::plain`], a view of the same store without hooks.
#[derive(Clone)]
struct Hooked {
    inner: Arc<MemoryStore>,
    armed: Arc<Mutex<Option<(Call, Action)>>>,
}

impl Hooked {
    /// An empty store with nothing armed.
    fn new() -> Self {
        Self {
            inner: Arc::new(MemoryStore::new()),
            armed: Arc::default(),
        }
    }

    /// Another view of the same store, with no hook of its own.
    fn plain(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            armed: Arc::default(),
        }
    }

    /// Runs `action` once, the next time this view makes `call`; its output can be
    /// taken with [`Hooked::outcome`] afterwards.
    fn arm<T: Send + 'static>(
        &self,
        call: Call,
        action: impl Future<Output = T> + Send + 'static,
    ) -> oneshot::Receiver<T> {
        let (tx, rx) = oneshot::channel();
        let action = async move {
            // The test may have stopped listening; nothing else cares.
            let _unheard = tx.send(action.await);
        };
        *self.slot() = Some((call, Box::pin(action)));
        rx
    }

    /// What the armed action produced. Panics if it never ran.
    fn outcome<T>(&self, mut rx: oneshot::Receiver<T>) -> T {
        if let Some((call, _)) = self.slot().take() {
            panic!("the action armed for {call:?} never ran");
        }
        rx.try_recv().expect("the armed action ran to completion")
    }

    fn slot(&self) -> MutexGuard<'_, Option<(Call, Action)>> {
        self.armed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs the armed action if it waits for `call`. No lock is held while it runs,
    /// so it may use this store freely.
    async fn reached(&self, call: Call) {
        let action = {
            let mut slot = self.slot();
            if slot.as_ref().is_some_and(|(at, _)| *at == call) {
                slot.take()
            } else {
                None
            }
        };
        if let Some((_, action)) = action {
            action.await;
        }
    }
}

impl o2c::store::StoreWrapper for Hooked {
    type Inner = MemoryStore;

    fn inner(&self) -> &MemoryStore {
        &self.inner
    }

    async fn commit(&self, changes: Changeset) -> StoreResult<Committed> {
        self.reached(Call::Commit).await;
        (*self.inner).commit(changes).await
    }

    async fn idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
    ) -> ReadResult<Option<IdempotencyEntry>> {
        let found = (*self.inner).idempotency(scope, key).await;
        self.reached(Call::Idempotency).await;
        found
    }

    async fn fetch(&self, request: &o2c::store::Prefetch) -> ReadResult<o2c::store::Fetched> {
        let found = (*self.inner).fetch(request).await;
        if request.idempotency.is_some() {
            self.reached(Call::Idempotency).await;
        }
        found
    }
}

// ---------------------------------------------------------------------------
// A carrier that remembers what it was asked to book

/// One `book` call: what was asked, and what the carrier answered.
type BookingCall = (BookingRequest, Result<Booking, CarrierError>);

/// The parcel carrier and the pickup desk, shared by both services, recording every
/// booking request in call order.
#[derive(Clone)]
struct Carriers {
    inner: Arc<(TableRateCarrier, PickupCarrier)>,
    calls: Arc<Mutex<Vec<BookingCall>>>,
}

impl Carriers {
    fn new() -> Self {
        Self {
            inner: Arc::new((parcel_carrier(), PickupCarrier::new())),
            calls: Arc::default(),
        }
    }

    /// The parcel carrier, to ask which bookings were cancelled.
    fn parcel(&self) -> &TableRateCarrier {
        &self.inner.0
    }

    /// Every `book` call so far.
    fn bookings(&self) -> Vec<BookingCall> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Carrier for Carriers {
    fn name(&self) -> &str {
        self.inner.name()
    }

    async fn quote(&self, request: &RateRequest) -> Result<Vec<RateQuote>, CarrierError> {
        self.inner.quote(request).await
    }

    async fn book(&self, request: &BookingRequest) -> Result<Booking, CarrierError> {
        let booked = self.inner.book(request).await;
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((request.clone(), booked.clone()));
        booked
    }

    async fn track(&self, tracking: &TrackingNumber) -> Result<Vec<TrackingEvent>, CarrierError> {
        self.inner.track(tracking).await
    }

    async fn cancel(&self, tracking: &TrackingNumber) -> Result<(), CarrierError> {
        self.inner.cancel(tracking).await
    }
}

// ---------------------------------------------------------------------------
// The world

type Service = Oms<Hooked, Carriers>;

/// Two services sharing one store, carrier, clock and id source: `oms` is the one
/// under test and its store view runs the armed action; `other` is the concurrent
/// writer the action uses.
struct Race {
    oms: Service,
    other: Arc<Service>,
    store: Hooked,
    carriers: Carriers,
    clock: Arc<ManualClock>,
}

async fn race() -> Race {
    race_with(OmsConfig::default()).await
}

/// Catalogue: TEE (20.00, cost 8.00, 200 g) and ANVIL (20.00, cost 8.00, 50 kg: too
/// heavy for any parcel band). Tax 10 %. Warehouses EAST (priority 1) and WEST (2).
/// No stock.
async fn race_with(config: OmsConfig) -> Race {
    let store = Hooked::new();
    let carriers = Carriers::new();
    let clock = Arc::new(ManualClock::new(start()));
    let ids = Arc::new(SeededIds::new(7));
    let service = |store: Hooked| {
        Oms::new(store, carriers.clone())
            .with_clock(clock.clone())
            .with_ids(ids.clone())
            .with_config(config.clone())
            .unwrap()
    };
    let oms = service(store.clone());
    let other = Arc::new(service(store.plain()));
    oms.set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, dec!(0.10)))
        .await
        .unwrap();
    for (code, grams) in [("TEE", 200), ("ANVIL", 50_000)] {
        let mut p = Product::new(
            sku(code),
            code.to_lowercase(),
            usd(dec!(20.00)),
            usd(dec!(8.00)),
            TaxClass::standard(),
        );
        p.weight_grams = grams;
        oms.save_product(p).await.unwrap();
    }
    for (code, priority) in [(EAST, 1), (WEST, 2)] {
        let l = Location::new(
            loc(code),
            code,
            LocationKind::Warehouse,
            us_address(code),
            priority,
        );
        oms.save_location(l).await.unwrap();
    }
    Race {
        oms,
        other,
        store,
        carriers,
        clock,
    }
}

fn receipt(code: &str, at: &str, units: i64, idempotency_key: &str) -> ReceiveStock {
    ReceiveStock::new(key(idempotency_key), sku(code), loc(at), units)
        .with_reference(format!("receipt {idempotency_key}"))
}

async fn receive(oms: &Service, code: &str, at: &str, units: i64, idempotency_key: &str) {
    oms.receive_stock(receipt(code, at, units, idempotency_key))
        .await
        .unwrap();
}

async fn customer(oms: &Service, name: &str, terms: PaymentTerms) -> Customer {
    let mut profile = NewCustomer::new(
        name,
        format!("{}@example.com", name.to_lowercase()),
        us_address(name),
        Currency::USD,
    );
    profile.terms = terms;
    profile.payment_method = match terms {
        PaymentTerms::Prepaid => PaymentMethod::Card,
        PaymentTerms::Net { .. } => PaymentMethod::BankTransfer,
    };
    oms.register_customer(profile, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
        .into_inner()
}

fn net30() -> PaymentTerms {
    PaymentTerms::Net { days: 30 }
}

async fn level(oms: &Service, code: &str, at: &str) -> (i64, i64) {
    let l = oms.stock_level(&sku(code), &loc(at)).await.unwrap();
    (l.on_hand, l.reserved)
}

/// The inventory account's balance.
async fn inventory(oms: &Service) -> Money {
    oms.trial_balance()
        .await
        .unwrap()
        .balance(&AccountCode::new("1200"), Currency::USD)
}

/// Sets a product's standard cost through `oms`.
async fn set_cost(oms: &Service, code: &str, cost: Decimal) {
    let mut p = oms.product(&sku(code)).await.unwrap();
    p.cost = usd(cost);
    oms.save_product(p).await.unwrap();
}

/// Fails the test with every violation if the audit finds any.
async fn assert_audit_clean(oms: &Service) {
    let report = oms.audit().await.unwrap();
    assert!(
        report.is_clean(),
        "audit violations:\n{}",
        report
            .violations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ---------------------------------------------------------------------------
// Idempotency twins: a second submission of one command that passed the key check
// before the first committed must answer with the first one's result.

#[tokio::test]
async fn place_order_twin_committing_after_the_key_check_returns_the_same_order() {
    let r = race().await;
    // Just enough for one order: the twin's reservation leaves this call nothing.
    receive(&r.oms, "TEE", EAST, 2, "in-1").await;
    let ann = customer(&r.oms, "Ann", net30()).await;
    let cmd =
        PlaceOrder::new(key("cart-1"), ann.id, Channel::Web, Currency::USD).line(sku("TEE"), 2);

    let (other, twin_cmd) = (Arc::clone(&r.other), cmd.clone());
    let twin = r.store.arm(Call::Idempotency, async move {
        other.place_order(twin_cmd).await
    });
    let placed = r.oms.place_order(cmd).await;
    let twin = r.store.outcome(twin).unwrap();

    let placed = placed.unwrap_or_else(|e| panic!("expected the twin's order, got {e:?}"));
    assert_eq!(placed.id, twin.id);
    assert_eq!(placed.invoices, twin.invoices);
    assert_eq!(placed.invoices.len(), 1);
    let orders = r.oms.customer_orders(ann.id).await.unwrap();
    assert_eq!(orders.len(), 1, "placed once");
    assert_eq!(level(&r.oms, "TEE", EAST).await, (2, 2));
    assert_audit_clean(&r.oms).await;
}

#[tokio::test]
async fn record_payment_twin_committing_after_the_key_check_returns_the_same_payment() {
    let r = race().await;
    receive(&r.oms, "TEE", EAST, 2, "in-1").await;
    let ann = customer(&r.oms, "Ann", PaymentTerms::Prepaid).await;
    let order = r
        .oms
        .place_order(
            PlaceOrder::new(key("cart-1"), ann.id, Channel::Web, Currency::USD).line(sku("TEE"), 1),
        )
        .await
        .unwrap();
    assert_eq!(order.holds, vec![Hold::AwaitingPayment]);
    let invoice = r.oms.invoice(order.invoices[0]).await.unwrap();
    let cmd = o2c::RecordPayment::new(
        key("pay-1"),
        invoice.id,
        invoice.total().unwrap(),
        PaymentMethod::Card,
    );

    let (other, twin_cmd) = (Arc::clone(&r.other), cmd.clone());
    let twin = r.store.arm(Call::Idempotency, async move {
        other.record_payment(twin_cmd).await
    });
    let paid = r.oms.record_payment(cmd).await;
    let twin = r.store.outcome(twin).unwrap();

    let paid = paid.unwrap_or_else(|e| panic!("expected the twin's payment, got {e:?}"));
    assert_eq!(paid.id, twin.id);
    assert_eq!(paid.value, twin.value);
    assert!(!twin.replayed, "the twin ran first");
    assert!(
        paid.replayed,
        "the twin's payment is a replay to this caller"
    );
    let payments = r.oms.store().list::<Payment>().await.unwrap();
    assert_eq!(payments.len(), 1, "paid once");
    let invoice = r.oms.invoice(invoice.id).await.unwrap();
    assert_eq!(invoice.status, InvoiceStatus::Paid);
    assert!(r.oms.order(order.id).await.unwrap().holds.is_empty());
    assert_audit_clean(&r.oms).await;
}

/// The twin receipt lands after this call's key check; this call's commit then hits
/// the used key. It must answer with the stock level, counting the units once.
async fn receive_stock_twin(config: OmsConfig) {
    let r = race_with(config).await;
    receive(&r.oms, "TEE", EAST, 3, "in-1").await;
    let cmd = receipt("TEE", EAST, 5, "in-2");

    let (other, twin_cmd) = (Arc::clone(&r.other), cmd.clone());
    let twin = r.store.arm(Call::Idempotency, async move {
        other.receive_stock(twin_cmd).await
    });
    let received = r.oms.receive_stock(cmd).await;
    let twin = r.store.outcome(twin).unwrap();

    let received = received.unwrap_or_else(|e| panic!("expected the stock level, got {e:?}"));
    assert_eq!((twin.on_hand, twin.reserved), (8, 0));
    assert_eq!(
        (received.on_hand, received.reserved),
        (8, 0),
        "counted once"
    );
    let movements = r
        .oms
        .store()
        .stock_movements(&sku("TEE"), &loc(EAST))
        .await
        .unwrap();
    assert_eq!(movements.len(), 2);
    assert_eq!(inventory(&r.oms).await, usd(dec!(64.00)));
    assert_audit_clean(&r.oms).await;
}

#[tokio::test]
async fn receive_stock_twin_committing_after_the_key_check_is_counted_once() {
    receive_stock_twin(OmsConfig::default()).await;
}

/// With a single attempt the used key is not retried past, so only looking the key
/// up again after the failure can find the twin.
#[tokio::test]
async fn receive_stock_twin_is_counted_once_even_without_retries() {
    receive_stock_twin(OmsConfig::default().with_max_attempts(1)).await;
}

// ---------------------------------------------------------------------------
// Bookings: a ship that fails must not leave a live booking at the carrier, and a
// ship that retries must commit the shipment its booking was made for.

#[tokio::test]
async fn ship_whose_second_pick_cannot_be_quoted_books_nothing() {
    let r = race().await;
    receive(&r.oms, "TEE", EAST, 5, "in-1").await;
    receive(&r.oms, "ANVIL", WEST, 5, "in-2").await;
    let net = customer(&r.oms, "Net", net30()).await;
    let order = r
        .oms
        .place_order(
            PlaceOrder::new(key("o-1"), net.id, Channel::Web, Currency::USD)
                .line(sku("TEE"), 1)
                .line(sku("ANVIL"), 1),
        )
        .await
        .unwrap();

    let err = r
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Carrier(CarrierError::NoService { carrier, .. }) if carrier == "Parcelly"
        ),
        "{err:?}"
    );
    // Every pick is quoted before the first booking: EAST's pick was not booked.
    assert_eq!(r.carriers.bookings(), Vec::new());
    assert!(r.oms.store().list::<Shipment>().await.unwrap().is_empty());
    let order = r.oms.order(order.id).await.unwrap();
    assert_eq!(order.status, OrderStatus::Open);
    assert!(order.shipments.is_empty());
    assert_eq!(level(&r.oms, "TEE", EAST).await, (5, 1));
    assert_eq!(level(&r.oms, "ANVIL", WEST).await, (5, 1));
    assert_audit_clean(&r.oms).await;
}

#[tokio::test]
async fn ship_losing_to_a_cancel_cancels_its_booking() {
    let r = race().await;
    receive(&r.oms, "TEE", EAST, 5, "in-1").await;
    let net = customer(&r.oms, "Net", net30()).await;
    let order = r
        .oms
        .place_order(
            PlaceOrder::new(key("o-1"), net.id, Channel::Web, Currency::USD).line(sku("TEE"), 1),
        )
        .await
        .unwrap();

    // The cancel commits after ship booked and before ship commits.
    let (other, id) = (Arc::clone(&r.other), order.id);
    let cancelled = r.store.arm(Call::Commit, async move {
        other
            .cancel_order(
                id,
                "customer changed their mind",
                o2c::ids::IdempotencyKey::generate(),
            )
            .await
    });
    let err = r
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap_err();
    let cancelled = r.store.outcome(cancelled).unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);

    assert!(
        matches!(
            err,
            Error::Order(OrderError::InvalidTransition {
                from: OrderStatus::Cancelled,
                action: OrderAction::Ship,
            })
        ),
        "{err:?}"
    );
    let bookings = r.carriers.bookings();
    assert_eq!(
        bookings.len(),
        1,
        "booked once, before the cancel: {bookings:?}"
    );
    let (_, booked) = &bookings[0];
    let tracking = &booked.as_ref().unwrap().tracking;
    assert!(
        r.carriers.parcel().is_cancelled(tracking),
        "booking {tracking} is still live at the carrier"
    );
    assert!(r.oms.store().list::<Shipment>().await.unwrap().is_empty());
    assert_eq!(level(&r.oms, "TEE", EAST).await, (5, 0));
    assert_audit_clean(&r.oms).await;
}

#[tokio::test]
async fn ship_retried_after_a_lost_race_commits_the_shipment_it_booked_for() {
    let r = race().await;
    receive(&r.oms, "TEE", EAST, 5, "in-1").await;
    let net = customer(&r.oms, "Net", net30()).await;
    let order = r
        .oms
        .place_order(
            PlaceOrder::new(key("o-1"), net.id, Channel::Web, Currency::USD).line(sku("TEE"), 2),
        )
        .await
        .unwrap();

    // A hold placed and released between booking and commit: the order changed, so
    // ship's commit conflicts and ship tries again, rebooking with the same key.
    let (other, id) = (Arc::clone(&r.other), order.id);
    let touched = r.store.arm(Call::Commit, async move {
        other
            .hold_order(id, Hold::ManualReview, o2c::ids::IdempotencyKey::generate())
            .await?;
        other
            .release_hold(id, Hold::ManualReview, o2c::ids::IdempotencyKey::generate())
            .await
    });
    let shipped = r
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let touched = r.store.outcome(touched).unwrap();
    assert!(touched.holds.is_empty());

    assert_eq!(shipped.len(), 1);
    let shipment = &shipped[0];
    let bookings = r.carriers.bookings();
    assert_eq!(
        bookings.len(),
        2,
        "booked, then rebooked on retry: {bookings:?}"
    );
    for (request, booked) in &bookings {
        assert_eq!(request.key, shipment.booking_key);
        assert_eq!(
            request.shipment, shipment.id,
            "the carrier's booking is for another shipment than the one committed"
        );
        assert_eq!(booked.as_ref().unwrap().tracking, shipment.tracking);
    }
    assert!(!r.carriers.parcel().is_cancelled(&shipment.tracking));
    assert_eq!(r.oms.shipment(shipment.id).await.unwrap(), *shipment);
    assert_eq!(
        r.oms.order(order.id).await.unwrap().shipments,
        vec![shipment.id]
    );
    assert_eq!(level(&r.oms, "TEE", EAST).await, (3, 0));
    assert_audit_clean(&r.oms).await;
}

// ---------------------------------------------------------------------------
// Cost changes racing stock commands: the inventory account must keep equalling
// Σ on-hand × cost whichever commits first.

#[tokio::test]
async fn receive_stock_racing_a_cost_change_values_at_the_new_cost() {
    let r = race().await;
    receive(&r.oms, "TEE", EAST, 10, "in-1").await;
    assert_eq!(inventory(&r.oms).await, usd(dec!(80.00)));

    // The revaluation commits after the receipt read the cost, before it commits.
    let other = Arc::clone(&r.other);
    let revalued = r.store.arm(Call::Commit, async move {
        set_cost(&other, "TEE", dec!(9.00)).await;
    });
    receive(&r.oms, "TEE", EAST, 5, "in-2").await;
    r.store.outcome(revalued);

    assert_eq!(level(&r.oms, "TEE", EAST).await, (15, 0));
    assert_eq!(inventory(&r.oms).await, usd(dec!(135.00)));
    assert_audit_clean(&r.oms).await;
}

#[tokio::test]
async fn ship_racing_a_cost_change_posts_cost_of_goods_at_the_new_cost() {
    let r = race().await;
    receive(&r.oms, "TEE", EAST, 10, "in-1").await;
    let net = customer(&r.oms, "Net", net30()).await;
    let order = r
        .oms
        .place_order(
            PlaceOrder::new(key("o-1"), net.id, Channel::Web, Currency::USD).line(sku("TEE"), 4),
        )
        .await
        .unwrap();

    // The revaluation commits after ship read the cost, before it commits.
    let other = Arc::clone(&r.other);
    let revalued = r.store.arm(Call::Commit, async move {
        set_cost(&other, "TEE", dec!(9.00)).await;
    });
    let shipped = r
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    r.store.outcome(revalued);

    assert_eq!(shipped.len(), 1);
    assert_eq!(shipped[0].cost_of_goods, usd(dec!(36.00)));
    assert_eq!(level(&r.oms, "TEE", EAST).await, (6, 0));
    assert_eq!(inventory(&r.oms).await, usd(dec!(54.00)));
    assert_audit_clean(&r.oms).await;
}

#[tokio::test]
async fn cost_change_racing_a_receipt_revalues_what_is_on_hand_at_commit() {
    let r = race().await;
    receive(&r.oms, "TEE", EAST, 10, "in-1").await;

    // The receipt commits after the cost change counted on-hand, before it commits.
    let other = Arc::clone(&r.other);
    let received = r.store.arm(Call::Commit, async move {
        other.receive_stock(receipt("TEE", EAST, 5, "in-2")).await
    });
    set_cost(&r.oms, "TEE", dec!(9.00)).await;
    r.store.outcome(received).unwrap();

    assert_eq!(level(&r.oms, "TEE", EAST).await, (15, 0));
    assert_eq!(
        r.oms.product(&sku("TEE")).await.unwrap().cost,
        usd(dec!(9.00))
    );
    assert_eq!(inventory(&r.oms).await, usd(dec!(135.00)));
    assert_audit_clean(&r.oms).await;
}

// ---------------------------------------------------------------------------
// The end of time

#[tokio::test]
async fn net_terms_due_date_past_the_end_of_the_calendar_is_refused_not_a_panic() {
    let r = race().await;
    receive(&r.oms, "TEE", EAST, 5, "in-1").await;
    let net = customer(&r.oms, "Net", net30()).await;
    r.clock.set(DateTime::<Utc>::MAX_UTC - Duration::days(1));

    let err = r
        .oms
        .place_order(
            PlaceOrder::new(key("o-1"), net.id, Channel::Web, Currency::USD).line(sku("TEE"), 1),
        )
        .await
        .unwrap_err();

    assert!(
        matches!(
            &err,
            Error::Inconsistent {
                what: "due date",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(r.oms.customer_orders(net.id).await.unwrap().is_empty());
    assert_eq!(level(&r.oms, "TEE", EAST).await, (5, 0));
    assert_audit_clean(&r.oms).await;
}

// ---------------------------------------------------------------------------
// Back-orders: a decision to wait, or to leave units free, rests on stock and on a
// queue that another command may change before the commit.

/// Units arriving while an order decides to back-order: the order must take them
/// instead of waiting beside them.
#[tokio::test]
async fn back_order_placed_while_a_receipt_commits_takes_the_units() {
    let r = race().await;
    let buyer = customer(&r.oms, "Acme", net30()).await;
    // A queue for TEE exists already (a back-order since filled), so the receipt
    // below only reads it: the order must notice the stock itself.
    let earlier = r
        .oms
        .place_order(
            PlaceOrder::new(key("earlier"), buyer.id, Channel::Web, Currency::USD)
                .line(sku("TEE"), 1)
                .back_order(o2c::purchasing::BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    assert_eq!(earlier.lines[0].backordered.units(), 1);
    receive(&r.oms, "TEE", EAST, 1, "in-0").await;
    let other = Arc::clone(&r.other);
    let received = r.store.arm(Call::Commit, async move {
        receive(&other, "TEE", EAST, 5, "in-1").await;
    });
    let order = r
        .oms
        .place_order(
            PlaceOrder::new(key("o"), buyer.id, Channel::Web, Currency::USD)
                .line(sku("TEE"), 5)
                .back_order(o2c::purchasing::BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    r.store.outcome(received);
    assert_eq!(order.lines[0].backordered.units(), 0);
    assert_eq!(level(&r.oms, "TEE", EAST).await, (6, 6));
    assert_audit_clean(&r.oms).await;
}

/// An order back-ordering while a receipt decides nothing waits: the receipt must
/// see the new line and fill it, not leave its units free.
#[tokio::test]
async fn receipt_committing_after_a_first_back_order_fills_it() {
    let r = race().await;
    let buyer = customer(&r.oms, "Acme", net30()).await;
    let other = Arc::clone(&r.other);
    let placed = r.store.arm(Call::Commit, async move {
        other
            .place_order(
                PlaceOrder::new(key("o"), buyer.id, Channel::Web, Currency::USD)
                    .line(sku("TEE"), 3)
                    .back_order(o2c::purchasing::BackOrderPolicy::BackOrder),
            )
            .await
            .unwrap()
    });
    receive(&r.oms, "TEE", EAST, 5, "in-1").await;
    let order = r.store.outcome(placed);
    assert_eq!(
        order.lines[0].backordered.units(),
        3,
        "placed before the units arrived"
    );
    let now = r.oms.order(order.id).await.unwrap();
    assert_eq!(now.lines[0].backordered.units(), 0, "the receipt filled it");
    assert_eq!(level(&r.oms, "TEE", EAST).await, (5, 3));
    assert_audit_clean(&r.oms).await;
}

// ---------------------------------------------------------------------------
// One customer's figures: commands that share no record but the customer

/// A prepaid customer with 15.00 of credit, left by overpaying two orders by 7.50
/// each: two payments that can each be refunded 10.00 on their own.
async fn customer_with_credit(r: &Race) -> (Customer, Vec<o2c::ids::PaymentId>) {
    receive(&r.oms, "TEE", EAST, 10, "in-credit").await;
    let ann = customer(&r.oms, "Ann", PaymentTerms::Prepaid).await;
    let mut payments = Vec::new();
    for n in 0..2 {
        let cmd = PlaceOrder::new(key(&format!("o-{n}")), ann.id, Channel::Web, Currency::USD)
            .line(sku("TEE"), 1);
        let order = r.oms.place_order(cmd).await.unwrap();
        let invoice = r.oms.invoice(order.invoices[0]).await.unwrap();
        let mut pay = o2c::RecordPayment::new(
            key(&format!("p-{n}")),
            invoice.id,
            invoice
                .total()
                .unwrap()
                .checked_add(usd(dec!(7.50)))
                .unwrap(),
            PaymentMethod::Card,
        );
        pay.overpayment = o2c::ledger::OverpaymentPolicy::CreditCustomer;
        payments.push(r.oms.record_payment(pay).await.unwrap().id);
    }
    let credit = r.oms.customer(ann.id).await.unwrap().history.credit;
    assert_eq!(credit, usd(dec!(15.00)));
    (ann, payments)
}

/// Two refunds of 10.00 against different payments, each deciding on the same
/// 15.00 of credit: the second to commit finds the credit spent (the store keeps
/// it at or above zero), decides again, and is refused with `ExceedsCredit`.
#[tokio::test]
async fn refunds_through_two_payments_never_spend_the_same_credit() {
    let r = race().await;
    let (ann, payments) = customer_with_credit(&r).await;
    let refund = |payment, k: &str| o2c::RecordRefund::new(key(k), payment, usd(dec!(10.00)));
    let (other, first) = (Arc::clone(&r.other), refund(payments[0], "r-1"));
    let cutting_in = r.store.arm(
        Call::Commit,
        async move { other.record_refund(first).await },
    );
    let late = r.oms.record_refund(refund(payments[1], "r-2")).await;
    r.store.outcome(cutting_in).unwrap();
    assert!(
        matches!(
            late,
            Err(Error::Credit(
                o2c::ledger::CreditError::ExceedsCredit { .. }
            ))
        ),
        "{late:?}"
    );
    let credit = r.oms.customer(ann.id).await.unwrap().history.credit;
    assert_eq!(credit, usd(dec!(5.00)));
    assert_audit_clean(&r.oms).await;
}

/// Two orders that each fit a customer's credit limit, deciding on the same
/// figures: the second to commit would pass the limit the first left room for, so
/// it decides again and is held for the credit limit.
#[tokio::test]
async fn two_orders_that_each_fit_a_credit_limit_do_not_pass_it_together() {
    let r = race().await;
    receive(&r.oms, "TEE", EAST, 10, "in-limit").await;
    let mut profile = NewCustomer::new("Bo", "bo@example.com", us_address("Bo"), Currency::USD);
    profile.terms = net30();
    profile.payment_method = PaymentMethod::BankTransfer;
    // One TEE order is 22.00 with tax: the limit fits one, not two.
    profile.credit_limit = Some(usd(dec!(30.00)));
    let bo = r
        .oms
        .register_customer(profile, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let order =
        |k: &str| PlaceOrder::new(key(k), bo.id, Channel::B2b, Currency::USD).line(sku("TEE"), 1);
    let (other, first) = (Arc::clone(&r.other), order("first"));
    let cutting_in = r
        .store
        .arm(Call::Commit, async move { other.place_order(first).await });
    let late = r.oms.place_order(order("second")).await.unwrap();
    let first = r.store.outcome(cutting_in).unwrap();
    assert!(
        !first.holds.contains(&Hold::CreditLimit),
        "{:?}",
        first.holds
    );
    assert!(late.holds.contains(&Hold::CreditLimit), "{:?}", late.holds);
    assert_audit_clean(&r.oms).await;
}

/// Two `ship` calls with one key at once: the twin books and commits first; the
/// other, which had booked too, answers with the twin's shipments as a replay
/// and cancels its own booking, so no label is left live without a shipment.
#[tokio::test]
async fn ship_twice_at_once_with_one_key_answers_with_the_first_and_cancels_the_other_booking() {
    let r = race().await;
    receive(&r.oms, "TEE", EAST, 5, "in-1").await;
    let net = customer(&r.oms, "Net", net30()).await;
    let order = r
        .oms
        .place_order(
            PlaceOrder::new(key("o-1"), net.id, Channel::Web, Currency::USD).line(sku("TEE"), 2),
        )
        .await
        .unwrap();
    let (other, id) = (Arc::clone(&r.other), order.id);
    let twin = r.store.arm(Call::Commit, async move {
        other.ship(id, key("ship-o-1")).await
    });
    let shipped = r.oms.ship(order.id, key("ship-o-1")).await.unwrap();
    let twin = r.store.outcome(twin).unwrap();
    assert!(!twin.replayed && shipped.replayed);
    assert_eq!(shipped.value, twin.value);
    let bookings = r.carriers.bookings();
    assert_eq!(bookings.len(), 2, "each call booked: {bookings:?}");
    let committed = &twin[0];
    for (_, booked) in &bookings {
        let tracking = &booked.as_ref().unwrap().tracking;
        assert_eq!(
            r.carriers.parcel().is_cancelled(tracking),
            *tracking != committed.tracking,
            "{tracking}: only the committed shipment's booking stays live"
        );
    }
    assert_eq!(r.oms.store().list::<Shipment>().await.unwrap().len(), 1);
    assert_audit_clean(&r.oms).await;
}
