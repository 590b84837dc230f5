//! How fast the central view answers with many orders resident: fills a store with
//! a year of trading, times a rebuild of the read models from the whole event log,
//! then times every report asked for one page (≤ 100 rows) of a random date range
//! of up to a year — refresh included, as a host asking it would pay.
//!
//! ```sh
//! cargo run --release --example reports_bench                          # memory, 1,000,000 orders
//! cargo run --release --features sqlite --example reports_bench -- --store sqlite --orders 100000
//! cargo run --release --features postgres --example reports_bench -- --store postgres --orders 100000
//!
//!   --store S      memory (default), sqlite (a fresh file in the temp dir) or
//!                  postgres ($O2C_POSTGRES_URL, a fresh tenant dropped at the end)
//!   --orders N     orders placed over the year (default 1,000,000)
//!   --callers N    concurrent callers filling the store (default 2)
//!   --queries N    pages timed per report (default 300)
//!   --seed S       the random choices (default 7)
//! ```
//!
//! Each order has 1–4 lines of 1–5 units of 1,000 SKUs in two warehouses, from one
//! of 5,000 customers on 30-day terms, over one of four channels; 70 % are paid,
//! 85 % shipped, 60 % of those delivered and 2 % of the delivered returned in part.
//! The clock moves a year's worth over the orders, so every day of the year has
//! trade. A page is the first, or (one ask in three) the one after it through
//! the first's cursor; each report's p50, p99 and worst are printed.
// An example has nothing to recover from: a failure should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// The examples' shared seeded generator (loadgen's too).
#[allow(dead_code)]
#[path = "shop/rng.rs"]
mod rng;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration as Elapsed, Instant};

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::{Clock, ManualClock, SeededIds};
use o2c::customer::{Address, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TableRateCarrier, TrackingEvent};
use o2c::ids::{CustomerId, IdempotencyKey, LocationId, Sku};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, PlaceOrder};
use o2c::reports::{DateRange, Dimension, Granularity, PageRequest, SalesQuery, StockFilter};
use o2c::returns::{Condition, ReceiveReturn, RequestReturn, ReturnReason};
use o2c::stock::{Location, LocationKind};
use o2c::store::Store;
use o2c::{Oms, ReceiveStock, RecordPayment};
use rng::SplitMix64;

const SKUS: usize = 1_000;
const CUSTOMERS: usize = 5_000;
const WAREHOUSES: [&str; 2] = ["WH-1", "WH-2"];
const CHANNELS: [Channel; 4] = [Channel::Web, Channel::Store, Channel::Phone, Channel::B2b];

type Shop<S> = Oms<S, TableRateCarrier>;
type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn number(name: &str, default: u64) -> u64 {
    flag(name).map_or(default, |v| {
        v.replace(',', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name} takes a number"))
    })
}

fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::new(s).unwrap()
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn sku(n: u64) -> Sku {
    Sku::new(format!("SKU-{n:04}")).unwrap()
}

fn year_start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn main() -> Res<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match flag("--store").as_deref().unwrap_or("memory") {
            "memory" => {
                let store = Arc::new(o2c::store::MemoryStore::new());
                bench(Arc::clone(&store), || Arc::clone(&store)).await
            }
            "sqlite" => sqlite().await,
            "postgres" => postgres().await,
            other => Err(format!("--store {other}: memory, sqlite or postgres").into()),
        }
    })
}

#[cfg(feature = "sqlite")]
async fn sqlite() -> Res<()> {
    use o2c::store::sqlite::{SqliteOptions, SqliteStore};
    let path = std::env::temp_dir().join(format!("o2c-reports-bench-{}.db", std::process::id()));
    let store = SqliteStore::open(&path, SqliteOptions::default())?;
    println!("store: SQLite at {}", path.display());
    let opened = path.clone();
    let result = bench(store, move || {
        SqliteStore::open(&opened, SqliteOptions::default()).expect("open the file again")
    })
    .await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    result
}

#[cfg(not(feature = "sqlite"))]
async fn sqlite() -> Res<()> {
    Err("--store sqlite needs --features sqlite".into())
}

#[cfg(feature = "postgres")]
async fn postgres() -> Res<()> {
    use o2c::store::postgres::{PostgresOptions, PostgresStore};
    let url = std::env::var("O2C_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let tenant = format!("reports_bench_{}", std::process::id());
    let options = PostgresOptions::default().with_tenant(&tenant);
    let store = PostgresStore::connect(&url, options.clone()).await?;
    println!("store: PostgreSQL at {url}, tenant {tenant}");
    let again = PostgresStore::connect(&url, options).await?;
    let result = bench(store, move || again.clone()).await;
    let admin = PostgresStore::connect(&url, PostgresOptions::default()).await?;
    admin.drop_tenant(&tenant).await?;
    result
}

#[cfg(not(feature = "postgres"))]
async fn postgres() -> Res<()> {
    Err("--store postgres needs --features postgres".into())
}

async fn bench<S, T>(store: S, reopen: impl FnOnce() -> T) -> Res<()>
where
    S: Store + 'static,
    T: Store + 'static,
{
    let orders = number("--orders", 1_000_000);
    let callers = number("--callers", 2).max(1);
    let queries = number("--queries", 300).max(1);
    let seed = number("--seed", 7);
    let clock = Arc::new(ManualClock::new(year_start()));
    let oms = Arc::new(setup(store, &clock, seed).await?);

    // A year of trading, the clock moving a year's worth over the orders.
    let step = Duration::milliseconds(365 * 24 * 3_600 * 1_000 / orders.max(1) as i64);
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for caller in 0..callers {
        let (oms, clock, next) = (Arc::clone(&oms), Arc::clone(&clock), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut rng = SplitMix64::new(seed ^ (caller + 1).wrapping_mul(0x5851_f42d));
            let customers = customers(&oms).await?;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= orders {
                    return Ok::<(), o2c::Error>(());
                }
                clock.advance(step);
                trade(&oms, &customers, &mut rng, n, clock.now()).await?;
                if (n + 1) % 100_000 == 0 {
                    eprintln!(
                        "  {} orders, {:.0} s",
                        n + 1,
                        started.elapsed().as_secs_f64()
                    );
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let events = oms.store().last_event_sequence().await?;
    println!(
        "filled: {orders} orders, {events} events in {:.0} s ({callers} callers)",
        started.elapsed().as_secs_f64()
    );

    // A process starting on the filled store folds the whole log.
    let fresh = Oms::new(reopen(), TableRateCarrier::new("Parcelly")).with_clock(clock.clone());
    let before = resident_bytes();
    let t = Instant::now();
    fresh.refresh_reports().await?;
    let seconds = t.elapsed().as_secs_f64();
    let grew = resident_bytes().saturating_sub(before);
    println!(
        "rebuild: {events} events in {seconds:.1} s ({:.0} events/s); the models take about {} bytes an order",
        events as f64 / seconds,
        grew / orders.max(1)
    );

    let today = clock.now().date_naive();
    let first_day = year_start().date_naive();
    let mut rng = SplitMix64::new(seed);
    println!(
        "\n{:<34} {:>10} {:>10} {:>10} {:>8}",
        "report (one page of ≤ 100 rows)", "p50 ms", "p99 ms", "max ms", "rows"
    );
    for report in REPORTS {
        let mut times = Vec::with_capacity(queries as usize);
        let mut rows = 0usize;
        for _ in 0..queries {
            let range = random_range(&mut rng, first_day, today);
            let ask = Ask::draw(&mut rng);
            let page = PageRequest::first(100);
            let (first, _) = report.ask(&fresh, range, ask, &page).await?;
            let (elapsed, count) = match (rng.below(3), first) {
                (0, Some(next)) => {
                    let t = Instant::now();
                    let (_, count) = report.ask(&fresh, range, ask, &next).await?;
                    (t.elapsed(), count)
                }
                _ => {
                    let t = Instant::now();
                    let (_, count) = report.ask(&fresh, range, ask, &page).await?;
                    (t.elapsed(), count)
                }
            };
            times.push(elapsed);
            rows = rows.max(count);
        }
        times.sort_unstable();
        let at = |q: f64| ms(times[((times.len() - 1) as f64 * q).round() as usize]);
        println!(
            "{:<34} {:>10.3} {:>10.3} {:>10.3} {:>8}",
            report.name(),
            at(0.5),
            at(0.99),
            ms(*times.last().unwrap()),
            rows
        );
    }
    Ok(())
}

/// This process's resident memory (0 where /proc is missing).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn ms(d: Elapsed) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// A range of 1 to 365 days inside the year traded.
fn random_range(rng: &mut SplitMix64, first: NaiveDate, last: NaiveDate) -> DateRange {
    let span = (last - first).num_days().max(0) as u64;
    let length = 1 + rng.below(365);
    let from = first + Days::new(rng.below(span + 1));
    let to = (from + Days::new(length - 1)).min(last).max(from);
    DateRange::new(from, to).unwrap()
}

#[derive(Clone, Copy)]
struct Ask {
    granularity: Granularity,
    dimension: Dimension,
    filter: StockFilter,
}

impl Ask {
    fn draw(rng: &mut SplitMix64) -> Self {
        Self {
            granularity: [Granularity::Day, Granularity::Week, Granularity::Month]
                [rng.below(3) as usize],
            dimension: [Dimension::Channel, Dimension::Product, Dimension::Customer]
                [rng.below(3) as usize],
            filter: [
                StockFilter::All,
                StockFilter::AtOrBelowReorderPoint,
                StockFilter::AtRisk,
            ][rng.below(3) as usize],
        }
    }
}

#[derive(Clone, Copy)]
enum Report {
    Ageing,
    Sales,
    Cycles,
    Fill,
    Otif,
    BackOrders,
    Inventory,
    Payments,
    Returns,
}

const REPORTS: [Report; 9] = [
    Report::Ageing,
    Report::Sales,
    Report::Cycles,
    Report::Fill,
    Report::Otif,
    Report::BackOrders,
    Report::Inventory,
    Report::Payments,
    Report::Returns,
];

impl Report {
    fn name(self) -> &'static str {
        match self {
            Report::Ageing => "receivables ageing + DSO",
            Report::Sales => "sales (any period × dimension)",
            Report::Cycles => "cycle times p50/p90",
            Report::Fill => "fill rate",
            Report::Otif => "on-time-in-full",
            Report::BackOrders => "back-order ageing",
            Report::Inventory => "inventory (any filter)",
            Report::Payments => "payments",
            Report::Returns => "returns by product",
        }
    }

    /// One page: the next page's request, and the rows.
    async fn ask<S: Store>(
        self,
        oms: &Shop<S>,
        range: DateRange,
        ask: Ask,
        page: &PageRequest,
    ) -> Result<(Option<PageRequest>, usize), o2c::Error> {
        macro_rules! paged {
            ($page:expr) => {{
                let p = $page;
                (page.next(&p), p.items.len())
            }};
        }
        Ok(match self {
            Report::Ageing => {
                let a = oms.receivables_ageing(range.to, page).await?;
                paged!(a.customers)
            }
            Report::Sales => paged!(
                oms.sales(&SalesQuery {
                    range,
                    granularity: ask.granularity,
                    dimension: ask.dimension,
                    page: page.clone(),
                })
                .await?
            ),
            Report::Cycles => paged!(oms.cycle_times(range, page).await?),
            Report::Fill => paged!(oms.fill_rate(range, page).await?),
            Report::Otif => paged!(oms.on_time_in_full(range, page).await?),
            Report::BackOrders => paged!(oms.back_order_ageing(page).await?),
            Report::Inventory => paged!(oms.inventory(range, ask.filter, page).await?),
            Report::Payments => paged!(oms.payment_figures(range, page).await?),
            Report::Returns => paged!(oms.returns_by_product(range, page).await?),
        })
    }
}

async fn setup<S: Store>(store: S, clock: &Arc<ManualClock>, seed: u64) -> Res<Shop<S>> {
    let carrier = TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .band(u64::MAX, vec![usd(500)]);
    let oms = Oms::new(store, carrier)
        .with_clock(clock.clone())
        .with_ids(Arc::new(SeededIds::new(seed)));
    oms.set_tax_table(TaxTable::new().with_rate(
        TaxClass::standard(),
        None,
        rust_decimal::Decimal::new(8, 2),
    ))
    .await?;
    for (i, code) in WAREHOUSES.into_iter().enumerate() {
        let address = Address::new(code, "1 Dock Rd", "Reno", "89501", "US");
        oms.save_location(Location::new(
            LocationId::new(code)?,
            code,
            LocationKind::Warehouse,
            address,
            u32::try_from(i)?,
        ))
        .await?;
    }
    for n in 0..SKUS as u64 {
        let mut product = Product::new(
            sku(n),
            format!("Product {n}"),
            usd(500 + i64::try_from(n)?),
            usd(200),
            TaxClass::standard(),
        );
        product.weight_grams = 300;
        oms.save_product(product).await?;
        for code in WAREHOUSES {
            // A few SKUs run short, so some lines wait for stock.
            let units = if n % 100 == 0 { 500 } else { 100_000_000 };
            oms.receive_stock(
                ReceiveStock::new(
                    key(&format!("open-{n}-{code}")),
                    sku(n),
                    LocationId::new(code)?,
                    units,
                )
                .with_reference("opening".into()),
            )
            .await?;
        }
    }
    for n in 0..CUSTOMERS {
        let address = Address::new(
            format!("Customer {n}"),
            "1 Main St",
            "Boston",
            "02108",
            "US",
        );
        let mut profile = NewCustomer::new(
            format!("Customer {n}"),
            format!("c{n}@example.com"),
            address,
            Currency::USD,
        );
        profile.terms = PaymentTerms::Net { days: 30 };
        oms.register_customer(profile, key(&format!("customer-{n}")))
            .await?;
    }
    Ok(oms)
}

async fn customers<S: Store>(oms: &Shop<S>) -> Result<Vec<CustomerId>, o2c::Error> {
    Ok(oms
        .store()
        .list::<o2c::customer::Customer>()
        .await?
        .into_iter()
        .map(|c| c.value.id)
        .collect())
}

/// Order `n`: placed, then perhaps paid, shipped, delivered and partly returned.
async fn trade<S: Store>(
    oms: &Shop<S>,
    customers: &[CustomerId],
    rng: &mut SplitMix64,
    n: u64,
    now: DateTime<Utc>,
) -> Result<(), o2c::Error> {
    let who = customers[rng.below(customers.len() as u64) as usize];
    let channel = CHANNELS[rng.below(4) as usize];
    let mut cmd = PlaceOrder::new(key(&format!("order-{n}")), who, channel, Currency::USD)
        .back_order(o2c::purchasing::BackOrderPolicy::ShipAvailable);
    let mut skus: Vec<u64> = (0..1 + rng.below(4))
        .map(|_| rng.below(SKUS as u64))
        .collect();
    skus.sort_unstable();
    skus.dedup();
    for s in skus {
        cmd = cmd.line(sku(s), 1 + rng.below(5) as i64);
    }
    let order = oms.place_order(cmd).await?.into_inner();
    if rng.chance(70) {
        for invoice in &order.invoices {
            let owed = oms.invoice(*invoice).await?.outstanding()?;
            if owed.is_positive() {
                oms.record_payment(RecordPayment::new(
                    key(&format!("pay-{n}")),
                    *invoice,
                    owed,
                    PaymentMethod::BankTransfer,
                ))
                .await?;
            }
        }
    }
    if !rng.chance(85) {
        return Ok(());
    }
    let Ok(shipments) = oms.ship(order.id, key(&format!("ship-{n}"))).await else {
        return Ok(());
    };
    if !rng.chance(60) {
        return Ok(());
    }
    for shipment in &shipments {
        oms.record_tracking(
            shipment.id,
            TrackingEvent {
                at: now,
                status: ShipmentStatus::Delivered,
                description: "delivered".into(),
            },
        )
        .await?;
    }
    if rng.chance(2)
        && let Some(line) = shipments.first().and_then(|s| s.lines.first())
    {
        let reason = [
            ReturnReason::Damaged,
            ReturnReason::Defective,
            ReturnReason::NoLongerWanted,
        ][rng.below(3) as usize];
        let rma = oms
            .request_return(RequestReturn::new(key(&format!("rma-{n}")), order.id).line(
                line.line_no,
                1,
                reason,
            ))
            .await?;
        oms.authorise_return(rma.id, key(&format!("rma-ok-{n}")))
            .await?;
        oms.receive_return(
            ReceiveReturn::new(key(&format!("rma-in-{n}")), rma.id).line(
                line.line_no,
                1,
                Condition::Resellable {
                    location: LocationId::new(WAREHOUSES[0]).unwrap(),
                },
            ),
        )
        .await?;
    }
    Ok(())
}
