//! A small world shared by the scenario, property and concurrency tests.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::{ManualClock, SeededIds};
use o2c::customer::{Address, Customer, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::{PickupCarrier, Shipment, TableRateCarrier};
use o2c::ids::{CustomerId, IdempotencyKey, LocationId, Sku};
use o2c::ledger::{AccountBalance, Invoice, InvoicePolicy, Payment};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Order, OrderError, PlaceOrder};
use o2c::purchasing::{BackOrderQueue, PurchaseOrder, Supplier};
use o2c::stock::{Location, LocationKind, StockLevel};
use o2c::store::{MemoryStore, Store, Versioned};
use o2c::{Error, Oms, OmsConfig, ReceiveStock};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// A parcel carrier and a pickup desk, as one carrier.
pub type Carriers = (TableRateCarrier, PickupCarrier);
/// The service under test.
pub type TestOms = Oms<MemoryStore, Carriers>;

/// The service and its manual clock.
pub struct World {
    pub oms: TestOms,
    pub clock: Arc<ManualClock>,
}

pub fn usd(x: Decimal) -> Money {
    Money::new(x, Currency::USD)
}
pub fn sku(s: &str) -> Sku {
    Sku::new(s).unwrap()
}
pub fn loc(s: &str) -> LocationId {
    LocationId::new(s).unwrap()
}
pub fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::new(s).unwrap()
}
pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}
pub fn us_address(name: &str) -> Address {
    Address::new(name, "1 Main St", "Springfield", "12345", "US")
}

pub const EAST: &str = "WH-EAST";
pub const WEST: &str = "WH-WEST";
pub const STORE: &str = "STORE-NYC";

/// The parcel carrier's rate card: US zone 0, CA zone 1.
pub fn parcel_carrier() -> TableRateCarrier {
    TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .zone("CA", 1)
        .band(1_000, vec![usd(dec!(5.00)), usd(dec!(9.00))])
        .band(5_000, vec![usd(dec!(8.00)), usd(dec!(14.00))])
        .band(30_000, vec![usd(dec!(20.00)), usd(dec!(35.00))])
}

/// A world with the default configuration.
pub async fn world() -> World {
    world_with(OmsConfig::default()).await
}

/// Catalogue: TEE 20.00 (cost 8.00), MUG 12.50 (cost 4.00), BOOK 15.99 at the
/// reduced rate (cost 6.50). Tax: standard 10 %, reduced 5 %.
/// Locations: WH-EAST (priority 1), WH-WEST (2) fulfil orders; STORE-NYC (3) only
/// serves pickup. Stock: TEE 10/10/5, MUG 5/20/2, BOOK 0/8/0 (EAST/WEST/STORE).
pub async fn world_with(config: OmsConfig) -> World {
    let clock = Arc::new(ManualClock::new(start()));
    let oms = Oms::new(MemoryStore::new(), (parcel_carrier(), PickupCarrier::new()))
        .with_clock(clock.clone())
        .with_ids(Arc::new(SeededIds::new(42)))
        .with_config(config)
        .unwrap();
    oms.set_tax_table(
        TaxTable::new()
            .with_rate(TaxClass::standard(), None, dec!(0.10))
            .with_rate(TaxClass::new("reduced"), None, dec!(0.05)),
    )
    .await
    .unwrap();
    for (code, price, cost, grams, class) in [
        ("TEE", dec!(20.00), dec!(8.00), 200, TaxClass::standard()),
        ("MUG", dec!(12.50), dec!(4.00), 400, TaxClass::standard()),
        (
            "BOOK",
            dec!(15.99),
            dec!(6.50),
            600,
            TaxClass::new("reduced"),
        ),
    ] {
        let mut p = Product::new(sku(code), code.to_lowercase(), usd(price), usd(cost), class);
        p.weight_grams = grams;
        p.reorder_point = 3;
        oms.save_product(p).await.unwrap();
    }
    for (code, kind, priority, fulfils) in [
        (EAST, LocationKind::Warehouse, 1, true),
        (WEST, LocationKind::Warehouse, 2, true),
        (STORE, LocationKind::Store, 3, false),
    ] {
        let mut l = Location::new(loc(code), code, kind, us_address(code), priority);
        l.fulfils_orders = fulfils;
        oms.save_location(l).await.unwrap();
    }
    for (code, at, units) in [
        ("TEE", EAST, 10),
        ("TEE", WEST, 10),
        ("TEE", STORE, 5),
        ("MUG", EAST, 5),
        ("MUG", WEST, 20),
        ("MUG", STORE, 2),
        ("BOOK", WEST, 8),
    ] {
        oms.receive_stock(
            ReceiveStock::new(
                key(&format!("opening-{code}-{at}")),
                sku(code),
                loc(at),
                units,
            )
            .with_reference("opening stock".into()),
        )
        .await
        .unwrap();
    }
    World { oms, clock }
}

/// Registers a US customer paying in USD.
pub async fn customer(
    w: &World,
    name: &str,
    terms: PaymentTerms,
    credit_limit: Option<Money>,
) -> Customer {
    let mut profile = NewCustomer::new(
        name,
        format!("{}@example.com", name.to_lowercase()),
        us_address(name),
        Currency::USD,
    );
    profile.terms = terms;
    profile.credit_limit = credit_limit;
    profile.payment_method = match terms {
        PaymentTerms::Prepaid => PaymentMethod::Card,
        PaymentTerms::Net { .. } => PaymentMethod::BankTransfer,
    };
    w.oms
        .register_customer(profile, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
        .into_inner()
}

/// Everything in the store, for "nothing changed" assertions.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    pub last_event: u64,
    pub stock: Vec<StockLevel>,
    pub balances: Vec<AccountBalance>,
    pub journal_len: usize,
    pub customers: Vec<Versioned<Customer>>,
    pub orders: Vec<Versioned<Order>>,
    pub invoices: Vec<Versioned<Invoice>>,
    pub payments: Vec<Versioned<Payment>>,
    pub shipments: Vec<Versioned<Shipment>>,
    pub products: Vec<Versioned<Product>>,
    pub locations: Vec<Versioned<Location>>,
    pub suppliers: Vec<Versioned<Supplier>>,
    pub purchase_orders: Vec<Versioned<PurchaseOrder>>,
    pub back_orders: Vec<Versioned<BackOrderQueue>>,
}

pub async fn snapshot(oms: &TestOms) -> Snapshot {
    let s = oms.store();
    Snapshot {
        last_event: s.last_event_sequence().await.unwrap(),
        stock: s.all_stock_levels().await.unwrap(),
        balances: s.account_balances().await.unwrap(),
        journal_len: s.journal(0, usize::MAX).await.unwrap().len(),
        customers: s.list().await.unwrap(),
        orders: s.list().await.unwrap(),
        invoices: s.list().await.unwrap(),
        payments: s.list().await.unwrap(),
        shipments: s.list().await.unwrap(),
        products: s.list().await.unwrap(),
        locations: s.list().await.unwrap(),
        suppliers: s.list().await.unwrap(),
        purchase_orders: s.list().await.unwrap(),
        back_orders: s.list().await.unwrap(),
    }
}

/// Fails the test with every violation if the audit finds any.
pub async fn assert_audit_clean(oms: &TestOms) {
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

/// The order error a command failed with.
pub fn order_error<T: std::fmt::Debug>(result: Result<T, Error>) -> OrderError {
    match result {
        Err(Error::Order(e)) => e,
        other => panic!("expected an order error, got {other:?}"),
    }
}

/// TEE 2 + MUG 1: 40.00 + 4.00 tax, 12.50 + 1.25 tax = 57.75.
pub async fn tee2_mug1(w: &World, k: &str, who: CustomerId) -> Order {
    w.oms
        .place_order(
            PlaceOrder::new(key(k), who, Channel::Web, Currency::USD)
                .line(sku("TEE"), 2)
                .line(sku("MUG"), 1),
        )
        .await
        .unwrap()
        .into_inner()
}

/// BOOK 10 on B2B, shipping what is there: 8 reserved at WH-WEST, 2 back-ordered.
pub async fn ten_books(w: &World, k: &str, who: CustomerId) -> Order {
    w.oms
        .place_order(
            PlaceOrder::new(key(k), who, Channel::B2b, Currency::USD)
                .line(sku("BOOK"), 10)
                .back_order(o2c::purchasing::BackOrderPolicy::ShipAvailable),
        )
        .await
        .unwrap()
        .into_inner()
}

/// The world, invoicing on shipment.
pub async fn on_shipment() -> World {
    world_with(OmsConfig::default().with_invoice_policy(InvoicePolicy::OnShipment)).await
}

/// Standard goods 10 % at home and 13 % in Canada; books 5 % at home, zero-rated in
/// Canada; no rates elsewhere.
pub async fn cross_border_tax(w: &World) {
    w.oms
        .set_tax_table(
            TaxTable::new()
                .with_rate(TaxClass::standard(), Some("US"), dec!(0.10))
                .with_rate(TaxClass::standard(), Some("CA"), dec!(0.13))
                .with_rate(TaxClass::new("reduced"), Some("US"), dec!(0.05))
                .with_rate(TaxClass::new("reduced"), Some("CA"), dec!(0))
                .with_rate(TaxClass::new("reduced"), Some("GB"), dec!(0)),
        )
        .await
        .unwrap();
}

/// An address in Toronto.
pub fn canadian_address(name: &str) -> o2c::customer::Address {
    o2c::customer::Address::new(name, "1 Bay St", "Toronto", "M5J 2N8", "CA")
}

/// Marks every shipment of the order not yet delivered as delivered, a day after
/// the start.
pub async fn deliver_all(w: &World, id: o2c::ids::OrderId) {
    let order = w.oms.order(id).await.unwrap();
    for s in &order.shipments {
        let shipment = w.oms.shipment(*s).await.unwrap();
        if shipment.status == o2c::fulfilment::ShipmentStatus::Delivered {
            continue;
        }
        w.oms
            .record_tracking(
                *s,
                o2c::fulfilment::TrackingEvent {
                    at: start() + chrono::Duration::hours(24),
                    status: o2c::fulfilment::ShipmentStatus::Delivered,
                    description: "delivered".into(),
                },
            )
            .await
            .unwrap();
    }
}

/// The PostgreSQL server the tests use, and tenants of their own on it.
#[cfg(feature = "postgres")]
pub mod postgres {
    use o2c::store::postgres::{PostgresOptions, PostgresStore};

    /// `O2C_POSTGRES_URL`, else the machine's test database.
    pub fn url() -> String {
        std::env::var("O2C_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    /// A tenant name for `test` in this process: runs side by side never share one.
    pub fn tenant_name(test: &str) -> String {
        format!("t_{test}_{}", std::process::id())
    }

    /// A store on a fresh tenant for `test` (dropped first if a crashed run left it).
    pub async fn connect(test: &str) -> PostgresStore {
        connect_with(test, PostgresOptions::default()).await
    }

    /// A shop on `oms`: one SKU (`HOT`) with `stock` units at one pickup desk
    /// (`SHOP`), and `customers` customers on net-30 terms.
    pub async fn shop<S: o2c::store::Store>(
        oms: &o2c::Oms<S, o2c::fulfilment::PickupCarrier>,
        stock: i64,
        customers: usize,
    ) -> Vec<o2c::ids::CustomerId> {
        use o2c::catalog::{Product, TaxClass, TaxTable};
        use o2c::customer::{Address, NewCustomer, PaymentTerms};
        use o2c::ids::IdempotencyKey;
        use o2c::money::{Currency, Money};
        use o2c::stock::{Location, LocationKind};

        oms.set_tax_table(TaxTable::new().with_rate(
            TaxClass::standard(),
            None,
            "0.1".parse().unwrap(),
        ))
        .await
        .unwrap();
        let usd = |c| Money::from_minor(c, Currency::USD);
        oms.save_product(Product::new(
            hot(),
            "Hot item",
            usd(1000),
            usd(400),
            TaxClass::standard(),
        ))
        .await
        .unwrap();
        let address = Address::new("Shop", "1 High St", "York", "YO1", "GB");
        oms.save_location(Location::new(
            desk(),
            "Shop",
            LocationKind::Store,
            address.clone(),
            1,
        ))
        .await
        .unwrap();
        oms.receive_stock(o2c::ReceiveStock::new(
            IdempotencyKey::new("opening").unwrap(),
            hot(),
            desk(),
            stock,
        ))
        .await
        .unwrap();
        let mut ids = Vec::new();
        for n in 0..customers {
            let mut profile = NewCustomer::new(
                format!("C{n}"),
                "c@example.com",
                address.clone(),
                Currency::USD,
            );
            profile.terms = PaymentTerms::Net { days: 30 };
            let key = IdempotencyKey::new(format!("customer-{n}")).unwrap();
            ids.push(oms.register_customer(profile, key).await.unwrap().id);
        }
        ids
    }

    /// The shop's one SKU.
    pub fn hot() -> o2c::ids::Sku {
        o2c::ids::Sku::new("HOT").unwrap()
    }

    /// The shop's pickup desk.
    pub fn desk() -> o2c::ids::LocationId {
        o2c::ids::LocationId::new("SHOP").unwrap()
    }

    /// An order of `units` of the hot item for pickup, under `key`.
    pub fn order(key: &str, customer: o2c::ids::CustomerId, units: i64) -> o2c::order::PlaceOrder {
        o2c::order::PlaceOrder::new(
            o2c::ids::IdempotencyKey::new(key).unwrap(),
            customer,
            o2c::order::Channel::Web,
            o2c::money::Currency::USD,
        )
        .line(hot(), units)
        .deliver(o2c::order::Delivery::Pickup { location: desk() })
    }

    /// As [`connect`], with options.
    pub async fn connect_with(test: &str, options: PostgresOptions) -> PostgresStore {
        let name = tenant_name(test);
        let store = PostgresStore::connect(&url(), options.with_tenant(name.clone()))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {} (set O2C_POSTGRES_URL): {e}", url()));
        store.drop_tenant(&name).await.unwrap();
        store.create_tenant(&name).await.unwrap()
    }
}
