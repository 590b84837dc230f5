//! o2c as the system under test: set up from the world on any store (the in-memory
//! one, or SQLite with feature `sqlite`), the five transactions through its API, and
//! the o2c run (pass, audit, teardown).

use std::collections::{HashSet, VecDeque};
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
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

use crate::Res;
use crate::args::Config;
use crate::mix::NewOrder;
use crate::pass::{PassResult, run_pass};
use crate::workload::{Batch, Placed, Refusal, Workload};
use crate::world::{CARRIER, RATE_BANDS, UNKNOWN_SKU, World, reduced_rate, standard_rate};

/// Runs `future` to its end on this thread. A call on the memory store never
/// waits, so it is polled once with a waker that does nothing (what the
/// baseline's plain calls cost, and no executor's); one that does wait (SQLite's
/// commits, on a thread pool) is finished by `pollster`. Timing the harness's
/// executor is not the point: `pollster` allocates and frees a signal per call.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => pollster::block_on(future),
    }
}

/// The service under test, on store `S`.
type Shop<S> = Oms<S, TableRateCarrier>;

/// o2c on store `S`, set up with the world's master data.
struct O2cSystem<S: Store> {
    oms: Shop<S>,
    clock: Arc<ManualClock>,
    skus: Vec<Sku>,
    unknown: Sku,
    customers: Vec<CustomerId>,
}

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
    fn setup(store: S, world: &World, seed: u64) -> Res<Self> {
        let clock = Arc::new(ManualClock::new(start_time()));
        let carrier = RATE_BANDS.into_iter().fold(
            TableRateCarrier::new(CARRIER).zone("US", 0),
            |c, (grams, cents)| c.band(grams, vec![usd(cents)]),
        );
        let oms = Oms::new(store, carrier)
            .with_clock(clock.clone())
            .with_ids(Arc::new(SeededIds::new(seed)));
        block_on(
            oms.set_tax_table(
                TaxTable::new()
                    .with_rate(TaxClass::standard(), None, standard_rate())
                    .with_rate(TaxClass::new("reduced"), None, reduced_rate()),
            ),
        )?;
        let locations = save_locations(&oms, world)?;
        let skus = save_catalogue(&oms, world, &locations)?;
        let customers = register_customers(&oms, world.customers)?;
        Ok(Self {
            oms,
            clock,
            skus,
            unknown: Sku::new(UNKNOWN_SKU)?,
            customers,
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

fn save_locations<S: Store>(oms: &Shop<S>, world: &World) -> Res<Vec<LocationId>> {
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
        block_on(oms.save_location(site))?;
        ids.push(id);
    }
    Ok(ids)
}

fn save_catalogue<S: Store>(
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
        block_on(oms.save_product(product))?;
        for location in locations {
            block_on(
                oms.receive_stock(
                    ReceiveStock::new(
                        IdempotencyKey::new(format!("opening-{sku}-{location}"))?,
                        sku.clone(),
                        location.clone(),
                        i64::from(world.stock),
                    )
                    .with_reference("opening stock".into()),
                ),
            )?;
        }
        skus.push(sku);
    }
    Ok(skus)
}

fn register_customers<S: Store>(oms: &Shop<S>, count: usize) -> Res<Vec<CustomerId>> {
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
        ids.push(block_on(oms.register_customer(profile, IdempotencyKey::generate()))?.id);
    }
    Ok(ids)
}

impl<S: Store> Workload for O2cSystem<S> {
    type OrderRef = OrderId;
    type InvoiceRef = InvoiceId;

    fn tick(&mut self) {
        self.clock.advance(TimeDelta::milliseconds(1));
    }

    fn last_event(&mut self) -> Result<u64, String> {
        block_on(self.oms.store().last_event_sequence()).map_err(text)
    }

    fn journal_lines(&mut self) -> Result<u64, String> {
        const PAGE: usize = 4096;
        let (mut offset, mut lines) = (0, 0);
        loop {
            let page = block_on(self.oms.journal(offset, PAGE)).map_err(text)?;
            lines += page.iter().map(|e| e.lines().len() as u64).sum::<u64>();
            offset += page.len();
            if page.len() < PAGE {
                return Ok(lines);
            }
        }
    }

    fn place_order(
        &mut self,
        n: u64,
        order: &NewOrder,
    ) -> Result<Placed<OrderId, InvoiceId>, Refusal> {
        let cmd = self.command(n, order).map_err(Refusal::Failed)?;
        match block_on(self.oms.place_order(cmd)) {
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

    fn pay(&mut self, n: u64, invoice: InvoiceId, cents: i64) -> Result<(), String> {
        let key = IdempotencyKey::new(format!("pay-{n}")).map_err(text)?;
        let cmd = RecordPayment::new(key, invoice, usd(cents), PaymentMethod::BankTransfer);
        block_on(self.oms.record_payment(cmd))
            .map(drop)
            .map_err(text)
    }

    fn order_status(&mut self, customer: usize) -> Result<Option<usize>, String> {
        let id = *self.customers.get(customer).ok_or("no such customer")?;
        let orders = block_on(self.oms.store().orders_of_customer(id)).map_err(text)?;
        let Some(latest) = orders.last() else {
            return Ok(None);
        };
        let order = block_on(self.oms.order(*latest)).map_err(text)?;
        black_box((
            order.fulfilment_status(),
            order.payment_status(),
            &order.lines,
        ));
        Ok(Some(order.lines.len()))
    }

    fn ship_batch(&mut self, limit: usize) -> Result<Batch, String> {
        // The ids are all a shipping run needs, as the baseline's queue holds.
        let ready = block_on(self.oms.store().orders_ready_to_ship(limit)).map_err(text)?;
        let mut batch = Batch::default();
        for id in ready {
            match block_on(self.oms.ship(id, IdempotencyKey::generate())) {
                Ok(shipments) => {
                    batch.orders += 1;
                    batch.shipments += shipments.len() as u64;
                }
                Err(e) => batch.failed.push(e.to_string()),
            }
        }
        Ok(batch)
    }

    fn stock_level(&mut self, recent: &VecDeque<OrderId>) -> Result<(u64, u64), String> {
        // As a host would ask: the orders in one read, then their SKUs' stock and
        // reorder points in another.
        let ids: Vec<OrderId> = recent.iter().copied().collect();
        let orders = block_on(self.oms.orders(&ids)).map_err(text)?;
        let distinct: HashSet<&Sku> = orders
            .iter()
            .flat_map(|o| o.lines.iter().map(|l| &l.sku))
            .collect();
        let skus: Vec<Sku> = distinct.into_iter().cloned().collect();
        let availability = block_on(self.oms.availability(&skus)).map_err(text)?;
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
pub(crate) fn run_o2c(cfg: &Config, world: &World) -> Res<O2cRun> {
    run_o2c_on(MemoryStore::new(), cfg, world)
}

/// As [`run_o2c`], on `store` (opened, empty).
pub(crate) fn run_o2c_on<S: Store>(store: S, cfg: &Config, world: &World) -> Res<O2cRun> {
    let started = Instant::now();
    let mut system = O2cSystem::setup(store, world, cfg.seed)?;
    let setup_seconds = started.elapsed().as_secs_f64();
    let pass = run_pass(&mut system, cfg, cfg.limit, "o2c")?;
    let peak_rss_after_pass = peak_rss_bytes();
    let started = Instant::now();
    let report = block_on(system.oms.audit())?;
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
