//! The store conformance suite: the [`Store`] contract as test functions any backend
//! can run.
//!
//! Every store shipped with o2c runs it, and a third-party store proves itself with
//! one call. Give the suite a [`StoreBuilder`] that makes a fresh, empty store per
//! case (any `Fn() -> S` closure is one), and check the report:
//!
//! ```
//! use o2c::store::MemoryStore;
//!
//! # pollster::block_on(async {
//! let report = o2c::testing::test_all(&MemoryStore::new).await;
//! assert!(report.is_success(), "{report}");
//! # });
//! ```
//!
//! A store that needs a temporary directory implements [`StoreBuilder`] itself and
//! returns the directory's guard beside the store, so it lives as long as the case.
//! Each case is also a public function taking a fresh store, for running one alone.
//!
//! The cases cover every clause of the contract: round-trips of every entity kind
//! with edge values (long and unicode text, the largest decimals); versions and
//! conflicts; guarded stock deltas, including many concurrent writers on one SKU;
//! bounded counters of other kinds under the same guard, also raced;
//! atomicity (a commit failing part-way changes nothing); idempotency keys; checks;
//! the event log gapless and ordered; every index read the service uses, and the
//! records found under index terms (open purchase orders and suppliers by SKU)
//! while, and only while, they have them; batched reads agreeing with single
//! ones; snapshots that see whole commits only, under concurrent writers; and a
//! whole order flow through [`Oms`] ending in a clean [`Oms::audit`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use crate::IssueCreditNote;
use crate::catalog::{Product, TaxClass, TaxTable};
use crate::customer::{Address, Customer, NewCustomer, PaymentMethod, PaymentTerms};
use crate::event::Event;
use crate::fulfilment::{PickupCarrier, ShipmentStatus, TrackingEvent};
use crate::ids::{EntryId, IdempotencyKey, LocationId, OrderId, PurchaseOrderId, Sku, SupplierId};
use crate::ledger::CreditNote;
use crate::ledger::{AccountCode, ChartOfAccounts, EntryBuilder, EntrySource, Invoice, Payment};
use crate::money::{Currency, Money};
use crate::order::{Channel, Delivery, Order, PlaceOrder};
use crate::purchasing::{BackOrderQueue, Offer, OverReceipt, PurchaseOrder, ReorderRule, Supplier};
use crate::quantity::Quantity;
use crate::stock::{Location, LocationKind, MovementReason, ReservationChange, StockMovement};
use crate::store::{
    Changeset, Check, Counter, Entity, IdempotencyEntry, IdempotencyScope, IdempotentOutcome,
    MemoryStore, Put, RecordKey, Store, StoreError, Versioned,
};
use crate::{Oms, ReceiveStock, RecordPayment};

/// Makes a fresh, empty store for each case.
pub trait StoreBuilder: Send + Sync {
    /// The store under test.
    type Store: Store;
    /// Whatever must outlive the store (a temporary directory); `()` if nothing.
    type Guard: Send;

    /// A new, empty store.
    ///
    /// # Errors
    /// Whatever stopped the store from being made; the case is reported failed.
    fn build(&self)
    -> Result<(Self::Store, Self::Guard), Box<dyn std::error::Error + Send + Sync>>;
}

impl<S: Store, F: Fn() -> S + Send + Sync> StoreBuilder for F {
    type Store = S;
    type Guard = ();

    fn build(&self) -> Result<(S, ()), Box<dyn std::error::Error + Send + Sync>> {
        Ok((self(), ()))
    }
}

/// One failed expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The case.
    pub case: &'static str,
    /// What was expected and what happened.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.case, self.message)
    }
}

/// What [`test_all`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Cases that passed.
    pub passed: Vec<&'static str>,
    /// Cases that failed, with why.
    pub failed: Vec<Failure>,
}

impl Report {
    /// True when every case passed.
    pub fn is_success(&self) -> bool {
        self.failed.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} passed, {} failed",
            self.passed.len(),
            self.failed.len()
        )?;
        for failure in &self.failed {
            writeln!(f, "  FAILED {failure}")?;
        }
        Ok(())
    }
}

/// A case's outcome.
pub type CaseResult = Result<(), Failure>;

/// Runs every case, each on a fresh store from `builder`.
pub async fn test_all<B: StoreBuilder>(builder: &B) -> Report {
    let mut report = Report::default();
    macro_rules! run {
        ($($case:ident),* $(,)?) => {$(
            let outcome = match builder.build() {
                // Each case's future on the heap: all of them inline would make
                // one future too big for a test thread's stack.
                Ok((store, _guard)) => Box::pin($case(&store)).await,
                Err(e) => Err(Failure { case: stringify!($case), message: format!("could not build a store: {e}") }),
            };
            match outcome {
                Ok(()) => report.passed.push(stringify!($case)),
                Err(failure) => report.failed.push(failure),
            }
        )*};
    }
    run!(
        round_trip_every_entity,
        edge_values_round_trip,
        versions_and_conflicts,
        guarded_stock_deltas,
        concurrent_writers_on_one_sku,
        failed_commit_changes_nothing,
        idempotency_keys,
        checks_hold_or_conflict,
        events_are_gapless_and_ordered,
        document_numbers_are_gapless,
        index_reads,
        index_terms,
        batched_reads,
        snapshots_are_consistent,
        order_flow_audits_clean,
        checkouts_never_contend,
        back_orders_on_one_sku_never_contend,
        one_busy_customer_never_contends,
        one_key_from_many_callers_places_one_order,
        back_orders_racing_receipts_give_each_unit_once,
        replenishing_one_sku_orders_it_once,
        purchasing_different_skus_never_contends,
        bounded_counters,
        freight_runs_are_never_overbooked,
        due_work_is_listed_in_time_order,
        fetched_records_never_change,
        listings_page_exactly,
    );
    report
}

/// Fails the case with a message unless `cond` holds.
macro_rules! ensure {
    ($case:expr, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(Failure { case: $case, message: format!($($msg)+) });
        }
    };
}

// After `ensure!`, which the cases there use.
mod bounded;
mod contention;
mod counting;
mod due;
pub mod fleet;
mod lending;
mod listing;
mod numbers;
mod purchasing;
pub use bounded::bounded_counters;
pub use fleet::freight_runs_are_never_overbooked;
mod terms;
pub use contention::{
    back_orders_on_one_sku_never_contend, back_orders_racing_receipts_give_each_unit_once,
    checkouts_never_contend, one_busy_customer_never_contends,
    one_key_from_many_callers_places_one_order,
};
pub use counting::{Calls, Counting};
pub use due::due_work_is_listed_in_time_order;
pub use lending::fetched_records_never_change;
pub use listing::listings_page_exactly;
pub use numbers::document_numbers_are_gapless;
pub use purchasing::{
    purchasing_different_skus_never_contends, replenishing_one_sku_orders_it_once,
};
pub use terms::index_terms;

/// Turns any error into a failure of `case`, saying what was being done.
trait OrFail<T> {
    fn or_fail(self, case: &'static str, doing: &str) -> Result<T, Failure>;
}

impl<T, E: fmt::Display> OrFail<T> for Result<T, E> {
    fn or_fail(self, case: &'static str, doing: &str) -> Result<T, Failure> {
        self.map_err(|e| Failure {
            case,
            message: format!("{doing}: {e}"),
        })
    }
}

fn at() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000)
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn code<T: std::str::FromStr>(case: &'static str, text: &str) -> Result<T, Failure>
where
    T::Err: fmt::Display,
{
    text.parse().or_fail(case, "making a code")
}

/// Every kind of record, as a whole order flow on an in-memory store produces them.
struct Fixtures {
    customer: Customer,
    product: Product,
    location: Location,
    tax: TaxTable,
    order: Order,
    invoice: Invoice,
    payment: Payment,
    shipment: crate::fulfilment::Shipment,
    counter: Counter,
    supplier: Supplier,
    purchase_order: PurchaseOrder,
    queue: BackOrderQueue,
    rule: ReorderRule,
    credit_note: CreditNote,
    rma: crate::returns::ReturnAuthorization,
}

/// A pickup shop: the tax table, one product with `units` in stock at one store, and
/// a customer on `terms`.
struct Shop {
    tax: TaxTable,
    product: Product,
    location: Location,
    customer: Customer,
}

async fn open_shop<S: Store>(
    case: &'static str,
    oms: &Oms<S, PickupCarrier>,
    units: i64,
    terms: PaymentTerms,
) -> Result<Shop, Failure> {
    let tax = TaxTable::new().with_rate(TaxClass::standard(), None, Decimal::new(8, 2));
    oms.set_tax_table(tax.clone())
        .await
        .or_fail(case, "setting tax")?;
    let sku: Sku = code(case, "SKU-1")?;
    let mut product = Product::new(
        sku.clone(),
        "Mug",
        usd(1250),
        usd(400),
        TaxClass::standard(),
    );
    product.weight_grams = 450;
    oms.save_product(product.clone())
        .await
        .or_fail(case, "saving a product")?;
    let store_id: LocationId = code(case, "STORE-1")?;
    let address = Address::new("Shop", "1 High St", "Leeds", "LS1 1AA", "GB");
    let location = Location::new(
        store_id.clone(),
        "Shop",
        LocationKind::Store,
        address.clone(),
        1,
    );
    oms.save_location(location.clone())
        .await
        .or_fail(case, "saving a location")?;
    let receipt = ReceiveStock {
        idempotency_key: code(case, "grn-1")?,
        sku,
        location: store_id,
        quantity: units,
        reference: "opening".into(),
    };
    if units > 0 {
        oms.receive_stock(receipt)
            .await
            .or_fail(case, "receiving")?;
    }
    let mut profile = NewCustomer::new("Ada", "ada@example.com", address, Currency::USD);
    profile.terms = terms;
    let customer = oms
        .register_customer(profile, code(case, "ada")?)
        .await
        .or_fail(case, "registering")?
        .into_inner();
    Ok(Shop {
        tax,
        product,
        location,
        customer,
    })
}

async fn fixtures(case: &'static str) -> Result<Fixtures, Failure> {
    let oms = Oms::new(MemoryStore::new(), PickupCarrier::new());
    let Shop {
        tax,
        product,
        location,
        customer,
    } = open_shop(case, &oms, 10, PaymentTerms::Net { days: 30 }).await?;
    let day = at().date_naive();
    let (sku, store_id) = (product.sku.clone(), location.id.clone());
    let cmd = PlaceOrder::new(
        code(case, "order-1")?,
        customer.id,
        Channel::Store,
        Currency::USD,
    )
    .line(sku, 3)
    .deliver(Delivery::Pickup { location: store_id });
    let order = oms.place_order(cmd).await.or_fail(case, "placing")?;
    let invoice_id = *order.invoices.first().ok_or_else(|| Failure {
        case,
        message: "no invoice issued on order".into(),
    })?;
    let invoice = oms
        .invoice(invoice_id)
        .await
        .or_fail(case, "reading the invoice")?;
    let total = invoice.total().or_fail(case, "totalling")?;
    let pay = RecordPayment::new(code(case, "pay-1")?, invoice_id, total, PaymentMethod::Cash);
    let payment = oms
        .record_payment(pay)
        .await
        .or_fail(case, "paying")?
        .into_inner();
    let shipment = oms
        .ship(order.id, code(case, "ship-1")?)
        .await
        .or_fail(case, "shipping")?;
    let shipment = shipment
        .into_inner()
        .into_iter()
        .next()
        .ok_or_else(|| Failure {
            case,
            message: "no shipment".into(),
        })?;
    let event = TrackingEvent {
        at: at(),
        status: ShipmentStatus::Delivered,
        description: "collected".into(),
    };
    let shipment = oms
        .record_tracking(shipment.id, event)
        .await
        .or_fail(case, "delivering")?
        .into_inner();
    let credit_note = oms
        .issue_credit_note(IssueCreditNote {
            idempotency_key: code(case, "credit-1")?,
            invoice: invoice_id,
            lines: vec![(1, Quantity::new(1))],
            shipping: None,
            reason: "goodwill, «unicode» too".into(),
        })
        .await
        .or_fail(case, "crediting")?
        .into_inner();
    let (sku, site) = (product.sku.clone(), location.id.clone());
    Ok(Fixtures {
        customer: oms.customer(customer.id).await.or_fail(case, "reading")?,
        product,
        location,
        tax,
        order: oms.order(order.id).await.or_fail(case, "reading")?,
        invoice: oms.invoice(invoice_id).await.or_fail(case, "reading")?,
        payment,
        shipment,
        counter: Counter {
            name: "invoice".into(),
            value: 1,
        },
        supplier: Supplier::new(
            SupplierId::from_uuid(uuid::Uuid::from_u128(7)),
            "Supplies Ltd",
            Currency::USD,
        )
        .offer(
            Offer::new(sku.clone(), usd(375), 5, day, day + Duration::days(30))
                .minimum(Quantity::new(24))
                .packs_of(Quantity::new(12)),
        ),
        purchase_order: {
            let mut po = PurchaseOrder::draft(
                PurchaseOrderId::from_uuid(uuid::Uuid::from_u128(8)),
                SupplierId::from_uuid(uuid::Uuid::from_u128(7)),
                Currency::USD,
                site.clone(),
                vec![(sku.clone(), Quantity::new(24), usd(375))],
                day + Duration::days(5),
                at(),
            )
            .or_fail(case, "drafting a purchase order")?;
            po.approve().or_fail(case, "approving")?;
            po.receive(&sku, Quantity::new(10), OverReceipt::Reject)
                .or_fail(case, "receiving")?;
            po
        },
        queue: {
            let mut queue = BackOrderQueue::new(sku.clone());
            queue.push(order.id, 1, Some(site.clone()), Quantity::new(4), at(), 0);
            queue.push(order.id, 2, None, Quantity::new(1), at(), 9);
            queue
        },
        rule: ReorderRule {
            sku: sku.clone(),
            location: site.clone(),
            min: Quantity::new(5),
            max: Quantity::new(40),
        },
        credit_note,
        rma: crate::returns::ReturnAuthorization {
            id: crate::ids::ReturnId::from_uuid(uuid::Uuid::from_u128(9)),
            number: Some(crate::ids::ReturnNumber::new(7)),
            order: order.id,
            customer: customer.id,
            invoices: vec![crate::ids::InvoiceId::from_uuid(uuid::Uuid::from_u128(10))],
            lines: vec![crate::returns::ReturnLine {
                line_no: 1,
                sku: sku.clone(),
                quantity: Quantity::new(2),
                received: Quantity::new(1),
                reason: crate::returns::ReturnReason::NotAsDescribed,
                restocked: Quantity::ZERO,
                cost_returned: None,
                cost_written_off: None,
            }],
            status: crate::returns::ReturnStatus::PartiallyReceived,
            requested_at: at(),
            replacement: vec![crate::order::LineRequest::new(sku.clone(), 1)],
            replacement_order: Some(order.id),
            credit_given: Some(Money::new(rust_decimal::Decimal::ONE, order.currency)),
        },
    })
}

/// Inserts `value`, then checks it loads back equal at version 1.
async fn round_trip<S: Store, E: Entity + PartialEq + fmt::Debug>(
    case: &'static str,
    store: &S,
    key: &E::Key,
    value: E,
) -> CaseResult {
    let mut changes = Changeset::new(at());
    changes.insert(value.clone());
    store.commit(changes).await.or_fail(case, "inserting")?;
    let loaded = store.load::<E>(key).await.or_fail(case, "loading")?;
    ensure!(
        case,
        loaded.as_ref().map(|v| v.version) == Some(1),
        "version after insert: {:?}",
        loaded.map(|v| v.version)
    );
    ensure!(
        case,
        loaded.as_ref().map(|v| &v.value) == Some(&value),
        "loaded {:?}, stored {value:?}",
        loaded
    );
    Ok(())
}

/// Every entity kind survives a store round-trip unchanged, and `list` returns it.
pub async fn round_trip_every_entity<S: Store>(store: &S) -> CaseResult {
    let case = "round_trip_every_entity";
    let f = fixtures(case).await?;
    round_trip(case, store, &f.customer.id, f.customer.clone()).await?;
    round_trip(case, store, &f.product.sku, f.product.clone()).await?;
    round_trip(case, store, &f.location.id, f.location.clone()).await?;
    round_trip(case, store, &(), f.tax.clone()).await?;
    round_trip(case, store, &f.order.id, f.order.clone()).await?;
    round_trip(case, store, &f.invoice.id, f.invoice.clone()).await?;
    round_trip(case, store, &f.payment.id, f.payment.clone()).await?;
    round_trip(case, store, &f.shipment.id, f.shipment.clone()).await?;
    round_trip(case, store, &f.counter.name, f.counter.clone()).await?;
    round_trip(case, store, &f.supplier.id, f.supplier.clone()).await?;
    round_trip(case, store, &f.credit_note.id, f.credit_note.clone()).await?;
    round_trip(case, store, &f.rma.id, f.rma.clone()).await?;
    round_trip(case, store, &f.purchase_order.id, f.purchase_order.clone()).await?;
    round_trip(case, store, &f.queue.sku, f.queue.clone()).await?;
    let rule_key = (f.rule.sku.clone(), f.rule.location.clone());
    round_trip(case, store, &rule_key, f.rule.clone()).await?;
    let orders = store
        .list::<Order>()
        .await
        .or_fail(case, "listing orders")?;
    ensure!(
        case,
        orders.len() == 1 && orders.first().map(|o| o.value.id) == Some(f.order.id),
        "list::<Order> = {orders:?}"
    );
    let missing = store
        .load::<Order>(&OrderId::from_uuid(uuid::Uuid::nil()))
        .await
        .or_fail(case, "loading")?;
    ensure!(
        case,
        missing.is_none(),
        "a missing order loaded as {missing:?}"
    );
    Ok(())
}

/// `load_many` and `stock_levels_of` answer exactly as the single reads do, in the
/// order asked, repeats and missing keys included.
pub async fn batched_reads<S: Store>(store: &S) -> CaseResult {
    let case = "batched_reads";
    let f = fixtures(case).await?;
    let mut second = f.product.clone();
    second.sku = code(case, "SECOND")?;
    second.name = "Second".into();
    let missing: Sku = code(case, "MISSING")?;
    let (a, b): (LocationId, LocationId) = (code(case, "A")?, code(case, "B")?);
    let mut c = Changeset::new(at());
    c.puts.push(Put::insert(f.product.clone()));
    c.puts.push(Put::insert(second.clone()));
    c.movements.push(movement(&f.product.sku, &b, 3));
    c.movements.push(movement(&f.product.sku, &a, 2));
    c.movements.push(movement(&second.sku, &a, 7));
    store
        .commit(c)
        .await
        .or_fail(case, "saving products and stock")?;
    let mut c = Changeset::new(at());
    c.puts.push(Put::update(second.clone(), 1));
    store.commit(c).await.or_fail(case, "updating a product")?;

    let skus = [
        second.sku.clone(),
        missing,
        f.product.sku.clone(),
        second.sku,
    ];
    let batched = store
        .load_many::<Product>(&skus)
        .await
        .or_fail(case, "loading many")?;
    let mut single = Vec::new();
    for sku in &skus {
        single.push(
            store
                .load::<Product>(sku)
                .await
                .or_fail(case, "loading one")?,
        );
    }
    let versions: Vec<Option<u64>> = batched
        .iter()
        .map(|p| p.as_ref().map(|p| p.version))
        .collect();
    ensure!(
        case,
        batched == single && versions == [Some(2), None, Some(1), Some(2)],
        "load_many {batched:?}, one by one {single:?}"
    );

    let levels = store
        .stock_levels_of(&skus)
        .await
        .or_fail(case, "stock of many")?;
    let mut one_by_one = Vec::new();
    for sku in &skus {
        one_by_one.extend(
            store
                .stock_levels(sku)
                .await
                .or_fail(case, "stock of one")?,
        );
    }
    ensure!(
        case,
        levels == one_by_one && levels.len() == 4,
        "stock_levels_of {levels:?}, one by one {one_by_one:?}"
    );
    let none = store
        .load_many::<Product>(&[])
        .await
        .or_fail(case, "loading none")?;
    ensure!(case, none.is_empty(), "load_many of nothing gave {none:?}");

    // `fetch` reads the same, all at once: records by key (found or not), whole
    // kinds, stock levels in the order asked, and an idempotency entry.
    let mut keyed = Changeset::new(at());
    keyed.idempotency = Some(IdempotencyEntry {
        scope: IdempotencyScope::ReceiveStock,
        key: code(case, "fetched-key")?,
        fingerprint: 11,
        fingerprint_version: 2,
        outcome: IdempotentOutcome::Stock,
    });
    keyed.puts.push(Put::insert(f.location.clone()));
    store.commit(keyed).await.or_fail(case, "a keyed commit")?;
    let request = crate::store::Prefetch::new()
        .record::<Product>(&skus[0])
        .record::<Product>(&skus[1])
        .record::<Product>(&skus[2])
        .every::<Location>()
        .stock(&skus[0])
        .stock(&skus[1])
        .stock(&skus[2])
        .key(IdempotencyScope::ReceiveStock, &code(case, "fetched-key")?);
    let fetched = store.fetch(&request).await.or_fail(case, "fetching")?;
    let products: Vec<Option<Versioned<Product>>> = skus[..3]
        .iter()
        .map(|sku| fetched.get::<Product>(sku))
        .collect();
    let locations = store.list::<Location>().await.or_fail(case, "listing")?;
    ensure!(
        case,
        Some(products.as_slice()) == single.get(..3) && fetched.every::<Location>() == locations,
        "fetch found {:?}, one by one {single:?}",
        fetched.records
    );
    ensure!(
        case,
        Some(fetched.stock.as_slice()) == one_by_one.get(..3) && fetched.stock.len() == 3,
        "fetched stock {:?}, one by one {one_by_one:?}",
        fetched.stock
    );
    ensure!(
        case,
        fetched
            .idempotency
            .as_ref()
            .map(|e| (e.fingerprint, e.fingerprint_version))
            == Some((11, 2)),
        "fetched key {:?}",
        fetched.idempotency
    );
    // A follow reads the records a record names, of the kinds asked, in the same
    // call: an invoice with its order and customer.
    let mut named = Changeset::new(at());
    named.puts.push(Put::insert(f.customer.clone()));
    named.puts.push(Put::insert(f.order.clone()));
    named.puts.push(Put::insert(f.invoice.clone()));
    store
        .commit(named)
        .await
        .or_fail(case, "saving an invoice")?;
    let request = crate::store::Prefetch::new().follow::<Invoice>(
        &f.invoice.id,
        &[<Order as Entity>::kind(), <Customer as Entity>::kind()],
    );
    let fetched = store.fetch(&request).await.or_fail(case, "following")?;
    ensure!(
        case,
        fetched.has::<Invoice>(&f.invoice.id)
            && fetched.get::<Order>(&f.invoice.order).map(|o| o.value) == Some(f.order.clone())
            && fetched.has::<Customer>(&f.invoice.customer)
            && fetched.records.len() == 3,
        "following an invoice found {:?}",
        fetched.records
    );
    let request = crate::store::Prefetch::new()
        .follow::<Invoice>(&f.invoice.id, &[<Order as Entity>::kind()]);
    let fetched = store.fetch(&request).await.or_fail(case, "following")?;
    ensure!(
        case,
        fetched.has::<Order>(&f.invoice.order) && !fetched.has::<Customer>(&f.invoice.customer),
        "following an invoice to its order only found {:?}",
        fetched.records
    );
    let nothing = store
        .fetch(&crate::store::Prefetch::new())
        .await
        .or_fail(case, "fetching nothing")?;
    ensure!(
        case,
        nothing == crate::store::Fetched::default(),
        "fetching nothing gave {nothing:?}"
    );
    Ok(())
}

/// Long unicode text, 64-character unicode codes and the largest decimals come back exact.
pub async fn edge_values_round_trip<S: Store>(store: &S) -> CaseResult {
    let case = "edge_values_round_trip";
    let f = fixtures(case).await?;
    let long = "Ünïcødé ✓ 日本語 🚚 ".repeat(600);
    let mut customer = f.customer;
    let mut profile = NewCustomer::clone(&customer.profile);
    profile.name = long.clone();
    if let Some(address) = profile.addresses.first_mut() {
        address.lines = [long.as_str(), "\"quotes\" 'and' \\backslashes\\ \n newline"]
            .into_iter()
            .map(Into::into)
            .collect();
    }
    customer.profile = profile.into();
    customer.history.balance = Money::new(Decimal::MAX, Currency::USD);
    customer.history.credit = Money::new(Decimal::MIN, Currency::USD);
    customer.history.lifetime_value = Money::new(Decimal::new(1, 28), Currency::USD);
    let id = customer.id;
    round_trip(case, store, &id, customer).await?;
    let sku: Sku = code(case, &"語".repeat(64))?;
    let product = Product::new(
        sku.clone(),
        long,
        Money::new(Decimal::MAX, Currency::KWD),
        usd(0),
        TaxClass::new("zéro"),
    );
    round_trip(case, store, &sku, product).await?;

    let chart = ChartOfAccounts::default();
    let (cash, revenue) = (AccountCode::new("1000"), AccountCode::new("4000"));
    let entry = EntryBuilder::new(
        "max",
        EntrySource::StockAdjustment {
            reason: "edge".into(),
        },
    )
    .debit(&cash, Money::new(Decimal::MAX, Currency::JPY))
    .credit(&revenue, Money::new(Decimal::MAX, Currency::JPY))
    .build(EntryId::from_uuid(uuid::Uuid::nil()), at(), &chart)
    .or_fail(case, "building an entry")?;
    let mut changes = Changeset::new(at());
    changes.journal.push(entry.clone());
    store
        .commit(changes)
        .await
        .or_fail(case, "posting the largest amounts")?;
    let balances = store
        .account_balances()
        .await
        .or_fail(case, "reading balances")?;
    let cash_balance = balances
        .iter()
        .find(|b| b.account == cash)
        .map(|b| b.balance);
    ensure!(
        case,
        cash_balance == Some(Money::new(Decimal::MAX, Currency::JPY)),
        "cash balance {cash_balance:?}"
    );
    let journal = store
        .journal(0, 10)
        .await
        .or_fail(case, "reading the journal")?;
    ensure!(
        case,
        journal == vec![entry.clone()],
        "journal read back as {journal:?}"
    );

    // One more yen would overflow the balance: refused, nothing written.
    let more = EntryBuilder::new(
        "over",
        EntrySource::StockAdjustment {
            reason: "edge".into(),
        },
    )
    .debit(&cash, Money::new(Decimal::ONE, Currency::JPY))
    .credit(&revenue, Money::new(Decimal::ONE, Currency::JPY))
    .build(EntryId::from_uuid(uuid::Uuid::nil()), at(), &chart)
    .or_fail(case, "building an entry")?;
    let mut changes = Changeset::new(at());
    changes.journal.push(more);
    let outcome = store.commit(changes).await;
    ensure!(
        case,
        outcome.is_err(),
        "a balance past Decimal::MAX was accepted"
    );
    let journal = store
        .journal(0, 10)
        .await
        .or_fail(case, "reading the journal")?;
    ensure!(
        case,
        journal.len() == 1,
        "an overflowing entry was appended"
    );
    Ok(())
}

/// Inserts need an absent record, updates the version read; mismatches conflict.
pub async fn versions_and_conflicts<S: Store>(store: &S) -> CaseResult {
    let case = "versions_and_conflicts";
    let f = fixtures(case).await?;
    let commit = |put: Put| {
        let mut changes = Changeset::new(at());
        changes.puts.push(put);
        store.commit(changes)
    };
    commit(Put::insert(f.product.clone()))
        .await
        .or_fail(case, "inserting")?;
    let again = commit(Put::insert(f.product.clone())).await;
    ensure!(
        case,
        matches!(again, Err(StoreError::Conflict { .. })),
        "second insert: {again:?}"
    );
    let mut renamed = f.product.clone();
    renamed.name = "Renamed".into();
    commit(Put::update(renamed.clone(), 1))
        .await
        .or_fail(case, "updating at version 1")?;
    let stale = commit(Put::update(f.product.clone(), 1)).await;
    ensure!(
        case,
        matches!(
            stale,
            Err(StoreError::Conflict {
                expected: Some(1),
                actual: Some(2),
                ..
            })
        ),
        "stale update: {stale:?}"
    );
    let loaded = store
        .load::<Product>(&f.product.sku)
        .await
        .or_fail(case, "loading")?;
    ensure!(
        case,
        loaded.as_ref().map(|v| (v.version, &v.value)) == Some((2, &renamed)),
        "after update: {loaded:?}"
    );
    let missing = commit(Put::update(f.location.clone(), 1)).await;
    ensure!(
        case,
        matches!(missing, Err(StoreError::NotFound { .. })),
        "update of a missing record: {missing:?}"
    );
    let mut twice = Changeset::new(at());
    twice.puts.push(Put::insert(f.location.clone()));
    twice.puts.push(Put::insert(f.location.clone()));
    let twice = store.commit(twice).await;
    ensure!(
        case,
        matches!(twice, Err(StoreError::Invalid { .. })),
        "one record put twice: {twice:?}"
    );
    let location = store
        .load::<Location>(&f.location.id)
        .await
        .or_fail(case, "loading")?;
    ensure!(
        case,
        location.is_none(),
        "a refused commit wrote {location:?}"
    );
    Ok(())
}

fn movement(sku: &Sku, location: &LocationId, quantity: i64) -> StockMovement {
    StockMovement {
        sku: sku.clone(),
        location: location.clone(),
        quantity,
        reason: MovementReason::Adjustment {
            reason: "test".into(),
        },
        at: at(),
        value: None,
    }
}

fn reservation(sku: &Sku, location: &LocationId, quantity: i64) -> ReservationChange {
    ReservationChange {
        sku: sku.clone(),
        location: location.clone(),
        order: OrderId::from_uuid(uuid::Uuid::nil()),
        quantity,
    }
}

/// Deltas add up, the guard `0 ≤ reserved ≤ on_hand` holds, movements are journaled.
pub async fn guarded_stock_deltas<S: Store>(store: &S) -> CaseResult {
    let case = "guarded_stock_deltas";
    let (sku, a, b): (Sku, LocationId, LocationId) =
        (code(case, "S")?, code(case, "A")?, code(case, "B")?);
    let mut changes = Changeset::new(at());
    changes.movements.push(movement(&sku, &a, 5));
    changes.movements.push(movement(&sku, &a, 2));
    changes.movements.push(movement(&sku, &b, 1));
    changes.reservations.push(reservation(&sku, &a, 6));
    store
        .commit(changes)
        .await
        .or_fail(case, "receiving and reserving")?;
    let levels = store
        .stock_levels(&sku)
        .await
        .or_fail(case, "reading levels")?;
    let got: Vec<(&str, i64, i64)> = levels
        .iter()
        .map(|l| (l.location.as_str(), l.on_hand, l.reserved))
        .collect();
    ensure!(
        case,
        got == vec![("A", 7, 6), ("B", 1, 0)],
        "levels {got:?}"
    );

    for (what, changes) in [
        ("reserving past on-hand", vec![(0, 2)]),
        ("taking on-hand below reserved", vec![(-2, 0)]),
        ("releasing more than reserved", vec![(0, -7)]),
    ] {
        let mut c = Changeset::new(at());
        for (on_hand, reserved) in changes {
            if on_hand != 0 {
                c.movements.push(movement(&sku, &a, on_hand));
            }
            if reserved != 0 {
                c.reservations.push(reservation(&sku, &a, reserved));
            }
        }
        let outcome = store.commit(c).await;
        ensure!(
            case,
            matches!(
                outcome,
                Err(StoreError::InsufficientStock {
                    on_hand: 7,
                    reserved: 6,
                    ..
                })
            ),
            "{what}: {outcome:?}"
        );
    }
    // Shipping reserved units moves both at once and is fine.
    let mut ship = Changeset::new(at());
    ship.movements.push(movement(&sku, &a, -6));
    ship.reservations.push(reservation(&sku, &a, -6));
    store
        .commit(ship)
        .await
        .or_fail(case, "shipping reserved units")?;
    let movements = store
        .stock_movements(&sku, &a)
        .await
        .or_fail(case, "reading movements")?;
    let sum: i64 = movements.iter().map(|m| m.quantity).sum();
    let quantities: Vec<i64> = movements.iter().map(|m| m.quantity).collect();
    ensure!(
        case,
        quantities == vec![5, 2, -6] && sum == 1,
        "movements {quantities:?}"
    );
    let levels = store
        .stock_levels(&sku)
        .await
        .or_fail(case, "reading levels")?;
    ensure!(
        case,
        levels.first().map(|l| (l.on_hand, l.reserved)) == Some((1, 0)),
        "after shipping {levels:?}"
    );
    Ok(())
}

/// Runs a future to completion on this thread (the suite must not depend on a runtime).
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

/// Eight threads reserving one unit at a time from 100 units sell exactly 100.
pub async fn concurrent_writers_on_one_sku<S: Store>(store: &S) -> CaseResult {
    let case = "concurrent_writers_on_one_sku";
    let (sku, a): (Sku, LocationId) = (code(case, "HOT")?, code(case, "A")?);
    let mut opening = Changeset::new(at());
    opening.movements.push(movement(&sku, &a, 100));
    store.commit(opening).await.or_fail(case, "receiving")?;
    let sold: Vec<Result<u64, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    let mut sold = 0u64;
                    for _ in 0..20 {
                        let mut c = Changeset::new(at());
                        c.reservations.push(reservation(&sku, &a, 1));
                        match block_on(store.commit(c)) {
                            Ok(_) => sold += 1,
                            Err(StoreError::InsufficientStock { .. }) => {}
                            Err(e) => return Err(e.to_string()),
                        }
                    }
                    Ok(sold)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a writer thread panicked".into()))
            })
            .collect()
    });
    let mut total = 0;
    for outcome in sold {
        total += outcome.or_fail(case, "a concurrent commit failed unexpectedly")?;
    }
    let levels = store.stock_levels(&sku).await.or_fail(case, "reading")?;
    ensure!(case, total == 100, "{total} units reserved from 100");
    ensure!(
        case,
        levels.first().map(|l| (l.on_hand, l.reserved)) == Some((100, 100)),
        "levels {levels:?}"
    );
    Ok(())
}

/// A commit that fails on its last part leaves no trace of its first parts.
pub async fn failed_commit_changes_nothing<S: Store>(store: &S) -> CaseResult {
    let case = "failed_commit_changes_nothing";
    let key: IdempotencyKey = code(case, "k")?;
    let f = fixtures(case).await?;
    let (sku, a): (Sku, LocationId) = (code(case, "S")?, code(case, "A")?);
    let chart = ChartOfAccounts::default();
    let entry = EntryBuilder::new("x", EntrySource::StockAdjustment { reason: "x".into() })
        .debit(&AccountCode::new("1200"), usd(100))
        .credit(&AccountCode::new("5100"), usd(100))
        .build(EntryId::from_uuid(uuid::Uuid::nil()), at(), &chart)
        .or_fail(case, "building")?;
    let everything = |tail: Option<Put>, reserve: i64| {
        let mut c = Changeset::new(at());
        c.puts.push(Put::insert(f.customer.clone()));
        c.movements.push(movement(&sku, &a, 3));
        c.reservations.push(reservation(&sku, &a, reserve));
        c.journal.push(entry.clone());
        c.events.push(Event::TaxTableSaved);
        c.idempotency = Some(IdempotencyEntry {
            scope: IdempotencyScope::AdjustStock,
            key: key.clone(),
            fingerprint: 1,
            fingerprint_version: 2,
            outcome: IdempotentOutcome::Stock,
        });
        c.puts.extend(tail);
        c
    };
    for (what, changes) in [
        (
            "a conflicting put at the end",
            everything(Some(Put::update(f.product.clone(), 7)), 1),
        ),
        ("a failed stock guard", everything(None, 4)),
    ] {
        let outcome = store.commit(changes).await;
        ensure!(case, outcome.is_err(), "{what}: the commit succeeded");
        let customer = store
            .load::<Customer>(&f.customer.id)
            .await
            .or_fail(case, "loading")?;
        let stock = store
            .all_stock_levels()
            .await
            .or_fail(case, "reading stock")?;
        let journal = store
            .journal(0, 10)
            .await
            .or_fail(case, "reading the journal")?;
        let balances = store
            .account_balances()
            .await
            .or_fail(case, "reading balances")?;
        let events = store
            .last_event_sequence()
            .await
            .or_fail(case, "reading events")?;
        let used = store
            .idempotency(IdempotencyScope::AdjustStock, &key)
            .await
            .or_fail(case, "reading keys")?;
        ensure!(
            case,
            customer.is_none()
                && stock.iter().all(|l| l.on_hand == 0 && l.reserved == 0)
                && journal.is_empty()
                && balances.iter().all(|b| b.balance.is_zero())
                && events == 0
                && used.is_none(),
            "{what} left: customer {customer:?}, stock {stock:?}, {} entries, balances {balances:?}, {events} events, key {used:?}",
            journal.len()
        );
    }
    store
        .commit(everything(None, 1))
        .await
        .or_fail(case, "the same commit, valid")?;
    Ok(())
}

/// A key is unique per scope; a reused one is refused and changes nothing.
pub async fn idempotency_keys<S: Store>(store: &S) -> CaseResult {
    let case = "idempotency_keys";
    let key: IdempotencyKey = code(case, "order-42")?;
    // A store keeps the fingerprint's scheme as given: 2 is not what an entry
    // without one reads as, so a store that drops it fails the comparison below.
    let entry = |scope, fingerprint| IdempotencyEntry {
        scope,
        key: key.clone(),
        fingerprint,
        fingerprint_version: 2,
        outcome: IdempotentOutcome::Order(OrderId::from_uuid(uuid::Uuid::nil())),
    };
    let keyed = |scope, fingerprint| {
        let mut c = Changeset::new(at());
        c.events.push(Event::TaxTableSaved);
        c.idempotency = Some(entry(scope, fingerprint));
        store.commit(c)
    };
    keyed(IdempotencyScope::PlaceOrder, 7)
        .await
        .or_fail(case, "first use")?;
    let again = keyed(IdempotencyScope::PlaceOrder, 8).await;
    ensure!(
        case,
        matches!(again, Err(StoreError::DuplicateKey { .. })),
        "reuse: {again:?}"
    );
    keyed(IdempotencyScope::RecordPayment, 9)
        .await
        .or_fail(case, "the same key in another scope")?;
    let stored = store
        .idempotency(IdempotencyScope::PlaceOrder, &key)
        .await
        .or_fail(case, "reading")?;
    ensure!(
        case,
        stored == Some(entry(IdempotencyScope::PlaceOrder, 7)),
        "stored {stored:?}"
    );
    let events = store
        .last_event_sequence()
        .await
        .or_fail(case, "reading events")?;
    ensure!(
        case,
        events == 2,
        "{events} events after two successful commits"
    );
    Ok(())
}

/// Version and on-hand checks pass when they hold and conflict when they do not.
pub async fn checks_hold_or_conflict<S: Store>(store: &S) -> CaseResult {
    let case = "checks_hold_or_conflict";
    let f = fixtures(case).await?;
    let (sku, a, b): (Sku, LocationId, LocationId) =
        (code(case, "S")?, code(case, "A")?, code(case, "B")?);
    let mut c = Changeset::new(at());
    c.puts.push(Put::insert(f.product.clone()));
    c.movements.push(movement(&sku, &a, 4));
    c.movements.push(movement(&sku, &b, 3));
    store.commit(c).await.or_fail(case, "setting up")?;
    let checked = |check: Check| {
        let mut c = Changeset::new(at());
        c.checks.push(check);
        c.events.push(Event::TaxTableSaved);
        store.commit(c)
    };
    let product = RecordKey::Product(f.product.sku.clone());
    checked(Check::Version {
        key: product.clone(),
        version: 1,
    })
    .await
    .or_fail(case, "a holding version check")?;
    let stale = checked(Check::Version {
        key: product,
        version: 2,
    })
    .await;
    ensure!(
        case,
        matches!(
            stale,
            Err(StoreError::Conflict {
                key: RecordKey::Product(_),
                expected: Some(2),
                ..
            })
        ),
        "a failing version check: {stale:?}"
    );
    checked(Check::SkuOnHand {
        sku: sku.clone(),
        on_hand: 7,
    })
    .await
    .or_fail(case, "a holding on-hand check")?;
    let off = checked(Check::SkuOnHand { sku, on_hand: 4 }).await;
    ensure!(
        case,
        matches!(
            off,
            Err(StoreError::StockChanged {
                expected: 4,
                actual: 7,
                ..
            })
        ),
        "a failing on-hand check: {off:?}"
    );
    let events = store
        .last_event_sequence()
        .await
        .or_fail(case, "reading events")?;
    ensure!(
        case,
        events == 2,
        "{events} events: failed checks must write nothing"
    );
    Ok(())
}

/// Sequences are 1, 2, 3, ... in commit order; reading from a cursor pages exactly;
/// a store with a [`CommitSignal`](crate::store::CommitSignal) moves it on every commit.
pub async fn events_are_gapless_and_ordered<S: Store>(store: &S) -> CaseResult {
    let case = "events_are_gapless_and_ordered";
    ensure!(
        case,
        store.last_event_sequence().await.or_fail(case, "reading")? == 0,
        "a fresh store has events"
    );
    let signalled = store
        .commit_signal()
        .map(crate::store::CommitSignal::commits);
    let empty = store
        .commit(Changeset::new(at()))
        .await
        .or_fail(case, "an empty commit")?;
    ensure!(
        case,
        empty.last_event == 0,
        "an empty commit returned {}",
        empty.last_event
    );
    for n in 0..7u32 {
        let mut c = Changeset::new(at() + Duration::seconds(i64::from(n)));
        for _ in 0..=n % 3 {
            c.events.push(Event::TaxTableSaved);
        }
        let last = store
            .commit(c)
            .await
            .or_fail(case, "committing events")?
            .last_event;
        let expected = store.last_event_sequence().await.or_fail(case, "reading")?;
        ensure!(
            case,
            last == expected,
            "commit returned {last}, last sequence is {expected}"
        );
    }
    // A store that keeps a commit signal moves it on every commit (eight so far).
    if let (Some(before), Some(signal)) = (signalled, store.commit_signal()) {
        ensure!(
            case,
            signal.commits() >= before + 8,
            "eight commits moved the commit signal by {}",
            signal.commits() - before
        );
    }
    let all = store
        .events_after(0, 1000)
        .await
        .or_fail(case, "reading all")?;
    let sequences: Vec<u64> = all.iter().map(|e| e.sequence).collect();
    // 1 + 2 + 3 + 1 + 2 + 3 + 1 events.
    let expected: Vec<u64> = (1..=13).collect();
    ensure!(case, sequences == expected, "sequences {sequences:?}");
    ensure!(
        case,
        all.first().map(|e| e.recorded_at) == Some(at()),
        "recorded_at is the changeset's time"
    );
    let mut paged = Vec::new();
    let mut cursor = 0;
    loop {
        let page = store
            .events_after(cursor, 4)
            .await
            .or_fail(case, "paging")?;
        let Some(last) = page.last() else { break };
        cursor = last.sequence;
        paged.extend(page);
    }
    ensure!(
        case,
        paged == all,
        "paging by 4 read {} events",
        paged.len()
    );
    let tail = store
        .events_after(12, 10)
        .await
        .or_fail(case, "reading the tail")?;
    let past = store
        .events_after(13, 10)
        .await
        .or_fail(case, "reading past the end")?;
    ensure!(
        case,
        tail.len() == 1 && past.is_empty(),
        "tail {tail:?}, past the end {past:?}"
    );
    Ok(())
}

/// What one snapshot saw of the commits [`snapshots_are_consistent`] makes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    events: u64,
    journal: u64,
    positions_gapless: bool,
    moved: i64,
    on_hand: i64,
    cash: Option<Money>,
    records: u64,
}

/// Reads everything a [`snapshots_are_consistent`] commit touches, in one snapshot.
fn look(
    snapshot: &dyn crate::store::Snapshot,
    sku: &Sku,
    cash: &AccountCode,
) -> Result<Seen, StoreError> {
    let mut seen = Seen {
        positions_gapless: true,
        ..Seen::default()
    };
    snapshot.each_event(&mut |_| seen.events += 1)?;
    snapshot.each_journal_entry(&mut |position, _| {
        seen.journal += 1;
        seen.positions_gapless &= position == seen.journal;
    })?;
    snapshot.each_movement(&mut |m| {
        if &m.sku == sku {
            seen.moved += m.quantity;
        }
    })?;
    snapshot.each_stock_level(&mut |l| {
        if &l.sku == sku {
            seen.on_hand += l.on_hand;
        }
    })?;
    seen.cash = snapshot
        .account_balances()?
        .into_iter()
        .find(|b| &b.account == cash)
        .map(|b| b.balance);
    crate::store::each::<Counter>(snapshot, |_| seen.records += 1)?;
    Ok(seen)
}

/// A snapshot sees whole commits only: while four threads commit changesets that
/// each add an event, a journal entry, a stock movement and a record, every
/// snapshot counts as many of each (and the balance they move), and at rest it
/// agrees with the plain reads.
pub async fn snapshots_are_consistent<S: Store>(store: &S) -> CaseResult {
    let case = "snapshots_are_consistent";
    let (sku, a): (Sku, LocationId) = (code(case, "SNAP")?, code(case, "A")?);
    let (cash, revenue) = (AccountCode::new("1000"), AccountCode::new("4000"));
    let chart = ChartOfAccounts::default();
    let commit_one = |n: u64| -> Result<Changeset, Failure> {
        let mut c = Changeset::new(at());
        c.movements.push(movement(&sku, &a, 1));
        c.events.push(Event::TaxTableSaved);
        c.journal.push(
            EntryBuilder::new(
                "snapshot",
                EntrySource::StockAdjustment {
                    reason: "snapshot".into(),
                },
            )
            .debit(&cash, usd(100))
            .credit(&revenue, usd(100))
            .build(
                EntryId::from_uuid(uuid::Uuid::from_u128(u128::from(n))),
                at(),
                &chart,
            )
            .or_fail(case, "building an entry")?,
        );
        c.puts.push(Put::insert(Counter {
            name: format!("snapshot-{n}"),
            value: n,
        }));
        Ok(c)
    };
    const WRITERS: u64 = 4;
    const EACH: u64 = 25;
    let seen: Result<Vec<Seen>, Failure> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let commit_one = &commit_one;
                scope.spawn(move || -> Result<(), Failure> {
                    for n in 0..EACH {
                        let changes = commit_one(w * EACH + n + 1)?;
                        block_on(store.commit(changes)).or_fail(case, "committing")?;
                    }
                    Ok(())
                })
            })
            .collect();
        let mut seen = Vec::new();
        while writers.iter().any(|w| !w.is_finished()) {
            let snap = block_on(store.read_snapshot(|s| look(s, &sku, &cash)))
                .or_fail(case, "opening a snapshot")?
                .or_fail(case, "reading a snapshot")?;
            seen.push(snap);
        }
        for w in writers {
            w.join().unwrap_or_else(|_| {
                Err(Failure {
                    case,
                    message: "a writer panicked".into(),
                })
            })?;
        }
        Ok(seen)
    });
    let mut seen = seen?;
    let at_rest = store
        .read_snapshot(|s| look(s, &sku, &cash))
        .await
        .or_fail(case, "opening a snapshot")?
        .or_fail(case, "reading a snapshot")?;
    let total = WRITERS * EACH;
    ensure!(
        case,
        at_rest.events == total && at_rest.records == total,
        "after the writers: {at_rest:?}"
    );
    let plain_events = store.last_event_sequence().await.or_fail(case, "reading")?;
    let plain_journal = store.journal(0, 1000).await.or_fail(case, "reading")?.len();
    ensure!(
        case,
        plain_events == at_rest.events
            && u64::try_from(plain_journal).ok() == Some(at_rest.journal),
        "plain reads see {plain_events} events and {plain_journal} entries, the snapshot {at_rest:?}"
    );
    seen.push(at_rest);
    for s in &seen {
        let n = i64::try_from(s.events).unwrap_or(i64::MAX);
        let cents = i64::try_from(s.journal)
            .unwrap_or(i64::MAX)
            .saturating_mul(100);
        let whole = s.journal == s.events
            && s.records == s.events
            && s.moved == n
            && s.on_hand == n
            && s.positions_gapless
            && s.cash.unwrap_or(usd(0)) == usd(cents);
        ensure!(case, whole, "a snapshot saw part of a commit: {s:?}");
    }
    Ok(())
}

/// The index reads the service relies on return what the contract says, in order.
pub async fn index_reads<S: Store>(store: &S) -> CaseResult {
    let case = "index_reads";
    let f = fixtures(case).await?;
    // Three orders for one customer, committed out of placement order; the second is
    // not ready to ship (nothing reserved).
    let mut orders = Vec::new();
    for (n, minutes) in [(1u128, 30), (2, 10), (3, 20)] {
        let mut o = f.order.clone();
        o.id = OrderId::from_uuid(uuid::Uuid::from_u128(n));
        o.placed_at = at() + Duration::minutes(minutes);
        if n == 2 {
            for line in &mut o.lines {
                line.reservations.clear();
            }
        } else {
            for line in &mut o.lines {
                line.reservations = vec![crate::order::LineReservation::new(
                    f.location.id.clone(),
                    line.quantity,
                )]
                .into();
            }
            o.status = crate::order::OrderStatus::Open;
        }
        let mut c = Changeset::new(at());
        c.puts.push(Put::insert(o.clone()));
        store.commit(c).await.or_fail(case, "inserting an order")?;
        orders.push(o);
    }
    let ids: Vec<OrderId> = orders.iter().map(|o| o.id).collect();
    let of_customer = store
        .orders_of_customer(f.order.customer)
        .await
        .or_fail(case, "orders of customer")?;
    ensure!(
        case,
        of_customer == ids,
        "orders_of_customer {of_customer:?}, committed {ids:?}"
    );
    let ready = store
        .orders_ready_to_ship(10)
        .await
        .or_fail(case, "ready to ship")?;
    let want: Vec<OrderId> = [3u128, 1]
        .iter()
        .map(|n| OrderId::from_uuid(uuid::Uuid::from_u128(*n)))
        .collect();
    ensure!(
        case,
        ready == want,
        "ready to ship {ready:?}, want oldest placed first {want:?}"
    );
    let one = store
        .orders_ready_to_ship(1)
        .await
        .or_fail(case, "ready to ship, limit 1")?;
    ensure!(case, one.len() == 1, "limit 1 gave {one:?}");
    // Shipping everything on order 3 takes it off the list.
    if let Some(mut third) = orders.pop() {
        for line in &mut third.lines {
            line.reservations.clear();
        }
        let mut c = Changeset::new(at());
        c.puts.push(Put::update(third, 1));
        store.commit(c).await.or_fail(case, "updating an order")?;
    }
    let ready = store
        .orders_ready_to_ship(10)
        .await
        .or_fail(case, "ready to ship")?;
    ensure!(
        case,
        ready == want.get(1..).map(<[OrderId]>::to_vec).unwrap_or_default(),
        "after shipping: {ready:?}"
    );

    let (x, y): (Sku, Sku) = (code(case, "X")?, code(case, "Y")?);
    let (a, b): (LocationId, LocationId) = (code(case, "A")?, code(case, "B")?);
    let mut c = Changeset::new(at());
    for (sku, location) in [(&y, &b), (&x, &b), (&y, &a), (&x, &a)] {
        c.movements.push(movement(sku, location, 1));
    }
    store.commit(c).await.or_fail(case, "receiving")?;
    let all = store.all_stock_levels().await.or_fail(case, "all stock")?;
    let keys: Vec<(&str, &str)> = all
        .iter()
        .map(|l| (l.sku.as_str(), l.location.as_str()))
        .collect();
    ensure!(
        case,
        keys == vec![("X", "A"), ("X", "B"), ("Y", "A"), ("Y", "B")],
        "all_stock_levels order {keys:?}"
    );

    let chart = ChartOfAccounts::default();
    for (n, currency) in [
        (1i64, Currency::USD),
        (2, Currency::EUR),
        (3, Currency::USD),
    ] {
        let entry = EntryBuilder::new(
            format!("e{n}"),
            EntrySource::StockAdjustment { reason: "x".into() },
        )
        .debit(
            &AccountCode::new("1200"),
            Money::from_minor(n * 100, currency),
        )
        .credit(
            &AccountCode::new("5100"),
            Money::from_minor(n * 100, currency),
        )
        .build(
            EntryId::from_uuid(uuid::Uuid::from_u128(n.unsigned_abs().into())),
            at(),
            &chart,
        )
        .or_fail(case, "building")?;
        let mut c = Changeset::new(at());
        c.journal.push(entry);
        store.commit(c).await.or_fail(case, "posting")?;
    }
    let page = store.journal(1, 1).await.or_fail(case, "journal page")?;
    ensure!(
        case,
        page.first().map(|e| e.memo()) == Some("e2") && page.len() == 1,
        "journal(1, 1) = {page:?}"
    );
    let balances = store.account_balances().await.or_fail(case, "balances")?;
    let got: Vec<(&str, String)> = balances
        .iter()
        .map(|b| (b.account.as_str(), b.balance.to_string()))
        .collect();
    let expected = [
        ("1200", "2.00 EUR"),
        ("1200", "4.00 USD"),
        ("5100", "-2.00 EUR"),
        ("5100", "-4.00 USD"),
    ];
    let ok = got.len() == 4
        && expected
            .iter()
            .all(|(a, m)| got.iter().any(|(ga, gm)| ga == a && gm == m));
    let sorted = got.windows(2).all(|w| matches!(w, [p, q] if p.0 <= q.0));
    ensure!(case, ok && sorted, "account_balances {got:?}");
    Ok(())
}

/// A whole order flow through [`Oms`] on the store leaves a clean audit.
pub async fn order_flow_audits_clean<S: Store>(store: &S) -> CaseResult {
    let case = "order_flow_audits_clean";
    let oms = Oms::new(store, PickupCarrier::new());
    let shop = open_shop(case, &oms, 5, PaymentTerms::Prepaid).await?;
    let (sku, shop, buyer) = (shop.product.sku, shop.location.id, shop.customer);
    let (o1, o2, o3): (IdempotencyKey, IdempotencyKey, IdempotencyKey) =
        (code(case, "o1")?, code(case, "o2")?, code(case, "o3")?);
    let place = |key: &IdempotencyKey, units| {
        PlaceOrder::new(key.clone(), buyer.id, Channel::Web, Currency::USD)
            .line(sku.clone(), units)
            .deliver(Delivery::Pickup {
                location: shop.clone(),
            })
    };
    let kept = oms
        .place_order(place(&o1, 2))
        .await
        .or_fail(case, "placing")?;
    let dropped = oms
        .place_order(place(&o2, 3))
        .await
        .or_fail(case, "placing")?;
    let again = oms
        .place_order(place(&o1, 2))
        .await
        .or_fail(case, "retrying")?;
    ensure!(case, again.id == kept.id, "a retried order got a new id");
    let over = oms.place_order(place(&o3, 1)).await;
    ensure!(case, over.is_err(), "a sixth unit was sold from five");
    oms.cancel_order(dropped.id, "changed mind", code(case, "cancel-1")?)
        .await
        .or_fail(case, "cancelling")?;
    let invoice = kept.invoices.first().copied().ok_or_else(|| Failure {
        case,
        message: "no invoice".into(),
    })?;
    let total = oms
        .invoice(invoice)
        .await
        .or_fail(case, "invoice")?
        .total()
        .or_fail(case, "total")?;
    oms.record_payment(RecordPayment::new(
        code(case, "p1")?,
        invoice,
        total,
        PaymentMethod::Card,
    ))
    .await
    .or_fail(case, "paying")?;
    let shipments = oms
        .ship(kept.id, code(case, "ship-1")?)
        .await
        .or_fail(case, "shipping")?;
    for s in shipments.into_inner() {
        let event = TrackingEvent {
            at: at(),
            status: ShipmentStatus::Delivered,
            description: "collected".into(),
        };
        oms.record_tracking(s.id, event)
            .await
            .or_fail(case, "delivering")?;
    }
    let done = oms.order(kept.id).await.or_fail(case, "reading")?;
    ensure!(
        case,
        done.status == crate::order::OrderStatus::Completed,
        "order is {:?}",
        done.status
    );
    let report = oms.audit().await.or_fail(case, "auditing")?;
    ensure!(case, report.is_clean(), "audit: {:?}", report.violations);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_store_conforms() {
        let report = block_on(test_all(&MemoryStore::new));
        assert!(report.is_success(), "{report}");
        assert_eq!(report.passed.len(), 27);
    }
}
