//! o2c as the system under test: set up from the world on any store (the in-memory
//! one, SQLite with feature `sqlite`, PostgreSQL with feature `postgres`), the five
//! transactions through its API, and the o2c run (pass, audit, teardown).

use std::collections::{HashSet, VecDeque};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use o2c::audit::AuditReport;
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::{ManualClock, SeededIds};
use o2c::customer::{Address, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::TableRateCarrier;
use o2c::ids::{CustomerId, IdempotencyKey, InvoiceId, LocationId, OrderId, Sku};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, OrderError, PlaceOrder};
use o2c::stock::{Location, LocationKind};
use o2c::store::{MemoryStore, Store};
use o2c::{Error, Oms, ReceiveStock, RecordPayment};
use tokio::runtime::Runtime;

use crate::Res;
use crate::args::Config;
use crate::exec::drive;
use crate::mix::NewOrder;
use crate::pass::{PassResult, run_pass, shares};
use crate::workload::{Batch, Placed, Refusal, System};
use crate::world::{CARRIER, RATE_BANDS, UNKNOWN_SKU, World, reduced_rate, standard_rate};

/// The service under test, on store `S`.
type Shop<S> = Oms<S, TableRateCarrier>;

/// o2c on store `S`, set up with the world's master data.
struct O2cSystem<S: Store> {
    oms: Shop<S>,
    clock: Arc<ManualClock>,
    skus: Vec<Sku>,
    unknown: Sku,
    customers: Vec<CustomerId>,
    /// The store's round-trip counter, where it has one.
    round_trips: Option<RoundTripCounter>,
}

/// Reads a store's count of round trips to its database.
pub(crate) type RoundTripCounter = Arc<dyn Fn() -> u64 + Send + Sync>;

/// What a store's database does once setup has loaded it, before the pass (part
/// of setup's time): PostgreSQL refreshes its statistics, as the baseline's
/// setup and `pgbench -i` do after loading.
pub(crate) type AfterSetup<'a> = Box<dyn FnOnce() -> Res<()> + 'a>;

/// An error as the driver logs it.
fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// `cents` US cents.
fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

/// 2026-01-01T00:00:00Z.
fn start_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default()
}

impl<S: Store> O2cSystem<S> {
    /// o2c on `store`, loaded with `world`: tax table, locations, catalogue with opening stock,
    /// customers on net-30 terms.
    async fn setup(store: S, world: &World, seed: u64) -> Res<Self> {
        let clock = Arc::new(ManualClock::new(start_time()));
        let carrier = RATE_BANDS.into_iter().fold(
            TableRateCarrier::new(CARRIER).zone("US", 0),
            |c, (grams, cents)| c.band(grams, vec![usd(cents)]),
        );
        let oms = Oms::new(store, carrier)
            .with_clock(clock.clone())
            .with_ids(Arc::new(SeededIds::new(seed)));
        oms.set_tax_table(
            TaxTable::new()
                .with_rate(TaxClass::standard(), None, standard_rate())
                .with_rate(TaxClass::new("reduced"), None, reduced_rate()),
        )
        .await?;
        let locations = save_locations(&oms, world).await?;
        let skus = save_catalogue(&oms, world, &locations).await?;
        let customers = register_customers(&oms, world.customers).await?;
        Ok(Self {
            oms,
            clock,
            skus,
            unknown: Sku::new(UNKNOWN_SKU)?,
            customers,
            round_trips: None,
        })
    }

    /// The `PlaceOrder` command for transaction `n`.
    fn command(&self, n: u64, order: &NewOrder) -> Result<PlaceOrder, String> {
        let key = IdempotencyKey::new(format!("order-{n}")).map_err(text)?;
        let customer = *self
            .customers
            .get(order.customer)
            .ok_or("no such customer")?;
        let mut cmd = PlaceOrder::new(key, customer, Channel::Web, Currency::USD);
        for line in &order.lines {
            let sku = match line.sku {
                Some(i) => self.skus.get(i).ok_or("no such SKU index")?,
                None => &self.unknown,
            };
            cmd = cmd.line(sku.clone(), i64::from(line.quantity));
        }
        Ok(cmd)
    }
}

async fn save_locations<S: Store>(oms: &Shop<S>, world: &World) -> Res<Vec<LocationId>> {
    let mut ids = Vec::new();
    for (priority, code) in (1..).zip(&world.locations) {
        let id = LocationId::new(code.as_str())?;
        let address = Address::new(code.as_str(), "1 Dock Rd", "Reno", "89501", "US");
        let site = Location::new(
            id.clone(),
            code.as_str(),
            LocationKind::Warehouse,
            address,
            priority,
        );
        oms.save_location(site).await?;
        ids.push(id);
    }
    Ok(ids)
}

async fn save_catalogue<S: Store>(
    oms: &Shop<S>,
    world: &World,
    locations: &[LocationId],
) -> Res<Vec<Sku>> {
    let mut skus = Vec::with_capacity(world.products.len());
    for spec in &world.products {
        let sku = Sku::new(spec.code.as_str())?;
        let class = if spec.reduced_tax {
            TaxClass::new("reduced")
        } else {
            TaxClass::standard()
        };
        let mut product = Product::new(
            sku.clone(),
            spec.name.as_str(),
            usd(spec.price_cents),
            usd(spec.cost_cents),
            class,
        );
        product.weight_grams = spec.weight_grams;
        product.reorder_point = spec.reorder_point;
        oms.save_product(product).await?;
        for location in locations {
            oms.receive_stock(
                ReceiveStock::new(
                    IdempotencyKey::new(format!("opening-{sku}-{location}"))?,
                    sku.clone(),
                    location.clone(),
                    i64::from(world.stock),
                )
                .with_reference("opening stock".into()),
            )
            .await?;
        }
        skus.push(sku);
    }
    Ok(skus)
}

async fn register_customers<S: Store>(oms: &Shop<S>, count: usize) -> Res<Vec<CustomerId>> {
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let name = format!("Customer {i}");
        let address = Address::new(name.as_str(), "12 Main St", "Boston", "02108", "US");
        let mut profile = NewCustomer::new(
            name.as_str(),
            format!("customer{i}@example.com"),
            address,
            Currency::USD,
        );
        profile.terms = PaymentTerms::Net { days: 30 };
        profile.payment_method = PaymentMethod::BankTransfer;
        ids.push(
            oms.register_customer(profile, IdempotencyKey::generate())
                .await?
                .id,
        );
    }
    Ok(ids)
}

impl<S: Store + Send + Sync + 'static> System for O2cSystem<S> {
    type OrderRef = OrderId;
    type InvoiceRef = InvoiceId;
    type Caller = ();

    async fn caller(&self) -> Result<(), String> {
        Ok(())
    }

    fn tick(&self) {
        self.clock.advance(TimeDelta::milliseconds(1));
    }

    async fn refresh_reports(&self) -> Result<u64, String> {
        self.oms.refresh_reports().await.map_err(text)
    }

    fn round_trips(&self) -> Option<u64> {
        self.round_trips.as_ref().map(|count| count())
    }

    async fn last_event(&self, _: &mut ()) -> Result<u64, String> {
        self.oms.store().last_event_sequence().await.map_err(text)
    }

    async fn journal_lines(&self, _: &mut ()) -> Result<u64, String> {
        const PAGE: usize = 4096;
        let (mut offset, mut lines) = (0, 0);
        loop {
            let page = self.oms.journal(offset, PAGE).await.map_err(text)?;
            lines += page.iter().map(|e| e.lines().len() as u64).sum::<u64>();
            offset += page.len();
            if page.len() < PAGE {
                return Ok(lines);
            }
        }
    }

    async fn place_order(
        &self,
        _: &mut (),
        n: u64,
        order: &NewOrder,
    ) -> Result<Placed<OrderId, InvoiceId>, Refusal> {
        let cmd = self.command(n, order).map_err(Refusal::Failed)?;
        match self.oms.place_order(cmd).await {
            Ok(placed) => {
                let invoice = *placed
                    .invoices
                    .first()
                    .ok_or_else(|| Refusal::Failed("placed without an invoice".into()))?;
                let total_cents = placed
                    .total()
                    .and_then(Money::to_minor)
                    .map_err(|e| Refusal::Failed(e.to_string()))?;
                Ok(Placed {
                    order: placed.id,
                    invoice,
                    total_cents,
                    lines: placed.lines.len(),
                })
            }
            Err(Error::Order(OrderError::UnknownSku(sku))) if sku == self.unknown => {
                Err(Refusal::UnknownSku)
            }
            Err(Error::Stock(_)) => Err(Refusal::OutOfStock),
            Err(e) => Err(Refusal::Failed(e.to_string())),
        }
    }

    async fn pay(&self, _: &mut (), n: u64, invoice: InvoiceId, cents: i64) -> Result<(), String> {
        let key = IdempotencyKey::new(format!("pay-{n}")).map_err(text)?;
        let cmd = RecordPayment::new(key, invoice, usd(cents), PaymentMethod::BankTransfer);
        self.oms.record_payment(cmd).await.map(drop).map_err(text)
    }

    async fn order_status(&self, _: &mut (), customer: usize) -> Result<Option<usize>, String> {
        let id = *self.customers.get(customer).ok_or("no such customer")?;
        let orders = self
            .oms
            .store()
            .orders_of_customer(id)
            .await
            .map_err(text)?;
        let Some(latest) = orders.last() else {
            return Ok(None);
        };
        let order = self.oms.order(*latest).await.map_err(text)?;
        black_box((
            order.fulfilment_status(),
            order.payment_status(),
            &order.lines,
        ));
        Ok(Some(order.lines.len()))
    }

    async fn ship_batch(&self, _: &mut (), limit: usize) -> Result<Batch, String> {
        // The ids are all a shipping run needs, as the baseline's queue holds.
        let ready = self
            .oms
            .store()
            .orders_ready_to_ship(limit)
            .await
            .map_err(text)?;
        let mut batch = Batch::default();
        for id in ready {
            match self.oms.ship(id, IdempotencyKey::generate()).await {
                Ok(shipments) => {
                    batch.orders += 1;
                    batch.shipments += shipments.len() as u64;
                }
                // Another caller shipped it after this one listed it.
                Err(Error::Order(OrderError::NothingToShip)) => batch.raced += 1,
                Err(e) => batch.failed.push(e.to_string()),
            }
        }
        Ok(batch)
    }

    async fn stock_level(
        &self,
        _: &mut (),
        recent: &VecDeque<OrderId>,
    ) -> Result<(u64, u64), String> {
        // As a host would ask: the orders in one read, then their SKUs' stock and
        // reorder points in another.
        let ids: Vec<OrderId> = recent.iter().copied().collect();
        let orders = self.oms.orders(&ids).await.map_err(text)?;
        let distinct: HashSet<&Sku> = orders
            .iter()
            .flat_map(|o| o.lines.iter().map(|l| &l.sku))
            .collect();
        let skus: Vec<Sku> = distinct.into_iter().cloned().collect();
        let availability = self.oms.availability(&skus).await.map_err(text)?;
        let low = availability
            .iter()
            .filter(|a| a.available() < i64::from(a.reorder_point))
            .count();
        Ok((skus.len() as u64, low as u64))
    }
}

/// Peak resident set size of this process so far (`VmHWM`), in bytes.
pub(crate) fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// What the audit after the o2c pass found.
#[derive(Debug)]
pub(crate) struct AuditSummary {
    pub(crate) violations: usize,
    pub(crate) samples: Vec<String>,
    pub(crate) seconds: f64,
    pub(crate) report: AuditReport,
}

/// The o2c run: setup, pass, audit and teardown, with peak memory after each phase.
#[derive(Debug)]
pub(crate) struct O2cRun {
    pub(crate) setup_seconds: f64,
    pub(crate) pass: PassResult,
    pub(crate) peak_rss_after_pass: Option<u64>,
    pub(crate) peak_rss_after_audit: Option<u64>,
    pub(crate) audit: AuditSummary,
    /// Time to drop the service and its store (not part of any measurement).
    pub(crate) teardown_seconds: f64,
}

/// Sets o2c up from `world` on the in-memory store, runs the mix until `cfg.limit`,
/// audits the store and drops it.
pub(crate) fn run_o2c(cfg: &Config, world: &World, runtime: Option<&Runtime>) -> Res<O2cRun> {
    run_o2c_on(MemoryStore::new(), cfg, world, runtime, None, None)
}

/// As [`run_o2c`], on `store` (opened, empty), counting its round trips with
/// `round_trips` if given and running `after_setup` between setup and the pass.
/// With a `runtime`, every call runs on it.
pub(crate) fn run_o2c_on<S: Store + Send + Sync + 'static>(
    store: S,
    cfg: &Config,
    world: &World,
    runtime: Option<&Runtime>,
    round_trips: Option<RoundTripCounter>,
    after_setup: Option<AfterSetup<'_>>,
) -> Res<O2cRun> {
    let started = Instant::now();
    let mut system = drive(runtime, O2cSystem::setup(store, world, cfg.seed))?;
    if let Some(after_setup) = after_setup {
        after_setup()?;
    }
    system.round_trips = round_trips;
    let system = Arc::new(system);
    let setup_seconds = started.elapsed().as_secs_f64();
    let limits = shares(cfg.limit, cfg.clients);
    let pass = run_pass(&system, cfg, &limits, "o2c", runtime)?;
    let peak_rss_after_pass = peak_rss_bytes();
    let started = Instant::now();
    let report = drive(runtime, system.oms.audit())?;
    let audit = AuditSummary {
        violations: report.violations.len(),
        samples: report
            .violations
            .iter()
            .take(5)
            .map(ToString::to_string)
            .collect(),
        seconds: started.elapsed().as_secs_f64(),
        report,
    };
    let peak_rss_after_audit = peak_rss_bytes();
    let started = Instant::now();
    drop(system);
    Ok(O2cRun {
        setup_seconds,
        pass,
        peak_rss_after_pass,
        peak_rss_after_audit,
        audit,
        teardown_seconds: started.elapsed().as_secs_f64(),
    })
}
