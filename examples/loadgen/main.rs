//! A load generator for `o2c`: TPC-C's order-entry mix mapped onto order-to-cash,
//! run against the library and, in the same process, against a hand-written baseline.
//!
//! ```text
//! cargo run --release --example loadgen -- [flags]
//!
//!   --store memory      the store to drive (only `memory` so far)
//!   --transactions N    transactions to run (default 200000)
//!   --seconds T         or run the o2c pass for T seconds (the baseline repeats its count)
//!   --seed S            seed for every random choice (default 42)
//!   --skus N            catalogue size (default 10000)
//!   --customers N       customers (default 3000)
//!   --locations N       stock locations, 1 to 99 (default 4)
//!   --stock N           opening units per SKU per location (default 1000000)
//!   --json              print exactly one JSON object instead of the report
//!   --no-baseline       skip the baseline pass
//! ```
//!
//! # The mix
//!
//! | share | transaction  | what it does                                                        |
//! |------:|--------------|---------------------------------------------------------------------|
//! | 45 %  | place order  | `place_order`: 5–15 lines of 1–10 units, SKUs and customer drawn uniformly; 1 % name an unknown SKU on their last line and must fail with `OrderError::UnknownSku` leaving the store as it was (its `last_event_sequence` unchanged) |
//! | 43 %  | payment      | `record_payment` against an open invoice picked at random from the driver's list: the whole outstanding amount, or 1 time in 5 half of it (the invoice stays open) |
//! | 4 %   | order status | `store().orders_of_customer` → the latest → `order`, reading its lines, `fulfilment_status` and `payment_status` |
//! | 4 %   | ship batch   | `orders_ready_to_ship(10)`, then `ship` each: quote, book with the carrier, move stock, post cost of goods sold |
//! | 4 %   | stock level  | how many distinct SKUs of the last 20 placed orders have available stock, summed over locations, below their reorder point |
//!
//! Customers are on net-30 terms and invoiced on order (`InvoicePolicy::OnOrder`), so
//! each placed order opens one invoice and is ready to ship at once. A seeded SplitMix64
//! draws the operations; the service runs on a `ManualClock` advanced 1 ms per
//! transaction and `SeededIds`, so a whole run is reproducible from `--seed`.
//! `new_orders_per_s` counts every place-order transaction, the 1 % refused by design
//! included, as TPC-C's tpmC does. Latencies time each call (building its request
//! included); a payment drawn while no invoice is open is counted but makes no call
//! and is not timed. Throughput is the wall time of the transaction phase, setup
//! excluded.
//!
//! # The baseline
//!
//! Module [`baseline`] does the same work by hand with `HashMap`s, `Vec`s and
//! `rust_decimal`, and no o2c type on its hot path: stock on hand and reserved per
//! SKU × location with the same availability check and allocation (one location if
//! one covers the order, else split by priority) and a reservation per line; orders
//! with their lines; an invoice per order with totals and tax rounded the same way;
//! payments applied to invoices; journal lines appended to a `Vec` (as many as o2c
//! posts) with running account balances; events appended to a `Vec`; idempotency keys
//! in a `HashMap`; shipments booked with an idempotent table-rate carrier, moving
//! on-hand and reserved and recording stock movements. Both passes are driven by one
//! generic loop ([`run_pass`]) over the same generator ([`Mix`]) and driver state
//! ([`Driver`]), so the same seed gives the same operations and the same choices. The
//! o2c pass runs first (then the audit), the baseline second; the report checks that
//! both passes produced identical outcome tallies (orders, amounts invoiced and paid,
//! shipments, journal lines, events, ...) and gives `ratio_vs_baseline` = o2c time ÷
//! baseline time over the transaction phase.

use std::collections::{HashSet, VecDeque};
use std::error::Error as StdError;
use std::future::Future;
use std::hint::black_box;
use std::io::IsTerminal;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value, json};

type Res<T> = Result<T, Box<dyn StdError>>;

// ------------------------------------------------------------------------ flags

const USAGE: &str = "\
usage: cargo run --release --example loadgen -- [flags]
  --store memory      the store to drive (supported: memory)
  --transactions N    transactions to run (default 200000)
  --seconds T         or run the o2c pass for T seconds (the baseline repeats its count)
  --seed S            seed for every random choice (default 42)
  --skus N            catalogue size (default 10000)
  --customers N       customers (default 3000)
  --locations N       stock locations, 1 to 99 (default 4)
  --stock N           opening units per SKU per location (default 1000000)
  --json              print exactly one JSON object instead of the report
  --no-baseline       skip the baseline pass";

const SUPPORTED_STORES: &[&str] = &["memory"];

/// When a pass stops.
#[derive(Debug, Clone, Copy)]
enum Limit {
    Transactions(u64),
    Seconds(f64),
}

impl Limit {
    fn reached(self, done: u64, elapsed: Duration) -> bool {
        match self {
            Limit::Transactions(n) => done >= n,
            Limit::Seconds(s) => elapsed.as_secs_f64() >= s,
        }
    }

    fn fraction(self, done: u64, elapsed: Duration) -> f64 {
        match self {
            Limit::Transactions(n) => done as f64 / n.max(1) as f64,
            Limit::Seconds(s) => elapsed.as_secs_f64() / s,
        }
    }
}

#[derive(Debug, Clone)]
struct Config {
    store: String,
    limit: Limit,
    seed: u64,
    skus: usize,
    customers: usize,
    locations: usize,
    stock: u32,
    json: bool,
    baseline: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            store: "memory".to_owned(),
            limit: Limit::Transactions(200_000),
            seed: 42,
            skus: 10_000,
            customers: 3_000,
            locations: 4,
            stock: 1_000_000,
            json: false,
            baseline: true,
        }
    }
}

/// The configuration, or `None` when help was asked for.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Config>, String> {
    let mut cfg = Config::default();
    let (mut transactions, mut seconds) = (None, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let rest = &mut args;
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--store" => cfg.store = value(&flag, inline, rest)?,
            "--transactions" => transactions = Some(value::<u64>(&flag, inline, rest)?),
            "--seconds" => seconds = Some(value::<f64>(&flag, inline, rest)?),
            "--seed" => cfg.seed = value(&flag, inline, rest)?,
            "--skus" => cfg.skus = value(&flag, inline, rest)?,
            "--customers" => cfg.customers = value(&flag, inline, rest)?,
            "--locations" => cfg.locations = value(&flag, inline, rest)?,
            "--stock" => cfg.stock = value(&flag, inline, rest)?,
            "--json" => cfg.json = true,
            "--no-baseline" => cfg.baseline = false,
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    cfg.limit = match (transactions, seconds) {
        (Some(_), Some(_)) => return Err("give --transactions or --seconds, not both".into()),
        (Some(0), None) => return Err("--transactions must be at least 1".into()),
        (Some(n), None) => Limit::Transactions(n),
        (None, Some(s)) if !(s.is_finite() && s > 0.0) => {
            return Err("--seconds must be a positive number".into());
        }
        (None, Some(s)) => Limit::Seconds(s),
        (None, None) => cfg.limit,
    };
    validate(&cfg)?;
    Ok(Some(cfg))
}

fn value<T: FromStr>(
    flag: &str,
    inline: Option<String>,
    rest: &mut impl Iterator<Item = String>,
) -> Result<T, String> {
    let text = inline
        .or_else(|| rest.next())
        .ok_or_else(|| format!("{flag} needs a value"))?;
    text.parse()
        .map_err(|_| format!("{flag}: cannot read {text:?}"))
}

fn validate(cfg: &Config) -> Result<(), String> {
    if !SUPPORTED_STORES.contains(&cfg.store.as_str()) {
        return Err(format!(
            "store {:?} is not supported; supported stores: {}",
            cfg.store,
            SUPPORTED_STORES.join(", ")
        ));
    }
    if cfg.skus == 0 || cfg.customers == 0 || cfg.stock == 0 {
        return Err("--skus, --customers and --stock must be at least 1".into());
    }
    if !(1..=99).contains(&cfg.locations) {
        return Err("--locations must be between 1 and 99".into());
    }
    Ok(())
}

// ------------------------------------------------------------------ randomness

/// SplitMix64: small, fast, well mixed, and the same on every platform.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; the bias is far below anything measurable).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

// ----------------------------------------------------------- the shared world

/// The code no product has: the 1 % of orders that name it must be refused.
const UNKNOWN_SKU: &str = "SKU-UNKNOWN";
const CARRIER: &str = "Parcelly";
/// The carrier's rate card: parcels up to this many grams cost this many cents.
const RATE_BANDS: [(u64, i64); 4] = [
    (1_000, 495),
    (5_000, 895),
    (20_000, 1_495),
    (u64::MAX, 4_995),
];
const SHIP_BATCH: usize = 10;
const RECENT_ORDERS: usize = 20;

fn standard_rate() -> Decimal {
    Decimal::new(825, 4)
}

fn reduced_rate() -> Decimal {
    Decimal::new(5, 2)
}

#[derive(Debug, Clone)]
struct ProductSpec {
    code: String,
    name: String,
    price_cents: i64,
    cost_cents: i64,
    weight_grams: u32,
    reorder_point: u32,
    reduced_tax: bool,
}

/// Master data both passes start from, generated from the seed.
#[derive(Debug, Clone)]
struct World {
    products: Vec<ProductSpec>,
    /// Location codes `WH-01`, `WH-02`, ...: code order is index order, and the
    /// priority is the index + 1.
    locations: Vec<String>,
    customers: usize,
    stock: u32,
}

impl World {
    fn generate(cfg: &Config) -> World {
        let mut rng = SplitMix64(cfg.seed ^ 0x5EED_F00D_CA7A_1065);
        let products = (0..cfg.skus)
            .map(|i| {
                let price_cents = rng.between(100, 50_000) as i64;
                let margin = rng.between(40, 70) as i64;
                ProductSpec {
                    code: format!("SKU-{i:06}"),
                    name: format!("Product {i}"),
                    price_cents,
                    cost_cents: (price_cents * margin / 100).max(1),
                    weight_grams: rng.between(50, 2_000) as u32,
                    reorder_point: rng.between(0, 50) as u32,
                    reduced_tax: rng.one_in(4),
                }
            })
            .collect();
        World {
            products,
            locations: (1..=cfg.locations).map(|i| format!("WH-{i:02}")).collect(),
            customers: cfg.customers,
            stock: cfg.stock,
        }
    }
}

// -------------------------------------------------------------- the operations

/// One requested line: `sku` indexes the catalogue; `None` is the unknown SKU.
#[derive(Debug, Clone)]
struct Line {
    sku: Option<usize>,
    quantity: u32,
}

#[derive(Debug, Clone)]
struct NewOrder {
    customer: usize,
    lines: Vec<Line>,
}

impl NewOrder {
    fn names_unknown_sku(&self) -> bool {
        self.lines.iter().any(|l| l.sku.is_none())
    }
}

#[derive(Debug, Clone)]
enum Op {
    PlaceOrder(NewOrder),
    /// `pick` chooses among the open invoices; `half` pays half of one.
    Payment {
        pick: u64,
        half: bool,
    },
    OrderStatus {
        customer: usize,
    },
    ShipBatch,
    StockLevel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PlaceOrder,
    Payment,
    OrderStatus,
    ShipBatch,
    StockLevel,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::PlaceOrder,
        Kind::Payment,
        Kind::OrderStatus,
        Kind::ShipBatch,
        Kind::StockLevel,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::PlaceOrder => "place_order",
            Kind::Payment => "payment",
            Kind::OrderStatus => "order_status",
            Kind::ShipBatch => "ship_batch",
            Kind::StockLevel => "stock_level",
        }
    }
}

/// The generator both passes draw from: the mix depends on the seed alone, never on
/// the system under test.
#[derive(Debug, Clone)]
struct Mix {
    rng: SplitMix64,
    skus: usize,
    customers: usize,
}

impl Mix {
    fn new(cfg: &Config) -> Self {
        Self {
            rng: SplitMix64(cfg.seed),
            skus: cfg.skus,
            customers: cfg.customers,
        }
    }

    fn next_op(&mut self) -> Op {
        match self.rng.below(100) {
            0..45 => Op::PlaceOrder(self.new_order()),
            45..88 => Op::Payment {
                pick: self.rng.next_u64(),
                half: self.rng.one_in(5),
            },
            88..92 => Op::OrderStatus {
                customer: self.rng.index(self.customers),
            },
            92..96 => Op::ShipBatch,
            _ => Op::StockLevel,
        }
    }

    fn new_order(&mut self) -> NewOrder {
        let customer = self.rng.index(self.customers);
        let count = self.rng.between(5, 15) as usize;
        let unknown = self.rng.one_in(100);
        let lines = (0..count)
            .map(|i| Line {
                sku: if unknown && i + 1 == count {
                    None
                } else {
                    Some(self.rng.index(self.skus))
                },
                quantity: self.rng.between(1, 10) as u32,
            })
            .collect();
        NewOrder { customer, lines }
    }
}

// ------------------------------------------------------- driver-side state

#[derive(Debug, Clone)]
struct OpenInvoice<I> {
    invoice: I,
    outstanding_cents: i64,
}

#[derive(Debug, Clone, Copy)]
struct PaymentChoice<I> {
    index: usize,
    invoice: I,
    cents: i64,
    partial: bool,
}

/// What the terminal operator remembers: open invoices with what is still owed, and
/// the latest orders. The same code serves both passes, so their choices agree.
#[derive(Debug)]
struct Driver<O, I> {
    open: Vec<OpenInvoice<I>>,
    recent: VecDeque<O>,
}

impl<O, I: Copy> Driver<O, I> {
    fn new() -> Self {
        Self {
            open: Vec::new(),
            recent: VecDeque::with_capacity(RECENT_ORDERS + 1),
        }
    }

    fn placed(&mut self, order: O, invoice: I, total_cents: i64) {
        if total_cents > 0 {
            self.open.push(OpenInvoice {
                invoice,
                outstanding_cents: total_cents,
            });
        }
        self.recent.push_back(order);
        while self.recent.len() > RECENT_ORDERS {
            self.recent.pop_front();
        }
    }

    fn choose(&self, pick: u64, half: bool) -> Option<PaymentChoice<I>> {
        let len = self.open.len() as u64;
        if len == 0 {
            return None;
        }
        let index = (pick % len) as usize;
        let open = self.open.get(index)?;
        let partial = half && open.outstanding_cents >= 2;
        Some(PaymentChoice {
            index,
            invoice: open.invoice,
            cents: if partial {
                open.outstanding_cents / 2
            } else {
                open.outstanding_cents
            },
            partial,
        })
    }

    fn settled(&mut self, choice: &PaymentChoice<I>) {
        if let Some(open) = self.open.get_mut(choice.index) {
            open.outstanding_cents -= choice.cents;
            if open.outstanding_cents <= 0 {
                self.open.swap_remove(choice.index);
            }
        }
    }

    fn forget(&mut self, index: usize) {
        if index < self.open.len() {
            self.open.swap_remove(index);
        }
    }
}

// -------------------------------------------------------- the system under test

/// An order accepted by a system.
#[derive(Debug, Clone, Copy)]
struct Placed<O, I> {
    order: O,
    invoice: I,
    total_cents: i64,
    lines: usize,
}

/// Why an order was not accepted.
#[derive(Debug, Clone)]
enum Refusal {
    UnknownSku,
    OutOfStock,
    Failed(String),
}

/// What one ship batch did.
#[derive(Debug, Default)]
struct Batch {
    orders: u64,
    shipments: u64,
    failed: Vec<String>,
}

/// The five transactions, as a system under test offers them.
trait Workload {
    type OrderRef: Copy;
    type InvoiceRef: Copy;

    /// Advances the system's clock by one transaction (1 ms).
    fn tick(&mut self);
    /// The sequence number of the last event written.
    fn last_event(&mut self) -> Result<u64, String>;
    /// Journal lines written so far.
    fn journal_lines(&mut self) -> Result<u64, String>;
    fn place_order(
        &mut self,
        n: u64,
        order: &NewOrder,
    ) -> Result<Placed<Self::OrderRef, Self::InvoiceRef>, Refusal>;
    fn pay(&mut self, n: u64, invoice: Self::InvoiceRef, cents: i64) -> Result<(), String>;
    /// The number of lines of the customer's latest order, if they have one.
    fn order_status(&mut self, customer: usize) -> Result<Option<usize>, String>;
    fn ship_batch(&mut self, limit: usize) -> Result<Batch, String>;
    /// (distinct SKUs looked at, how many of them are below their reorder point)
    fn stock_level(&mut self, recent: &VecDeque<Self::OrderRef>) -> Result<(u64, u64), String>;
}

// ------------------------------------------------------------ measurements

/// Outcomes of a pass. Two passes over the same operations must produce equal tallies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
struct Tally {
    orders_placed: u64,
    order_lines: u64,
    invoiced_cents: i64,
    unknown_sku_refused: u64,
    unknown_sku_left_store_unchanged: u64,
    unknown_sku_deviations: u64,
    out_of_stock: u64,
    payments_full: u64,
    payments_partial: u64,
    payments_without_open_invoice: u64,
    paid_cents: i64,
    status_reads: u64,
    status_found: u64,
    status_lines: u64,
    ship_batches: u64,
    orders_shipped: u64,
    shipments: u64,
    stock_level_skus: u64,
    below_reorder_point: u64,
    errors: u64,
    journal_lines: u64,
    events: u64,
}

#[derive(Debug, Default)]
struct Latencies([Vec<u32>; 5]);

impl Latencies {
    fn record(&mut self, kind: Kind, elapsed: Duration) {
        let nanos = u32::try_from(elapsed.as_nanos()).unwrap_or(u32::MAX);
        if let Some(samples) = self.0.get_mut(kind as usize) {
            samples.push(nanos);
        }
    }

    /// Per-type summaries and the summary over all transactions.
    fn summarize(mut self) -> (Vec<(Kind, Summary)>, Summary) {
        let all: Vec<u32> = self.0.iter().flatten().copied().collect();
        let types = Kind::ALL
            .into_iter()
            .zip(self.0.iter_mut())
            .map(|(kind, samples)| (kind, Summary::of(samples)))
            .collect();
        (types, Summary::of(&mut { all }))
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
struct Summary {
    count: usize,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
}

impl Summary {
    fn of(samples: &mut [u32]) -> Summary {
        samples.sort_unstable();
        let micros = |ns: u32| f64::from(ns) / 1_000.0;
        Summary {
            count: samples.len(),
            p50_us: micros(percentile(samples, 0.50)),
            p99_us: micros(percentile(samples, 0.99)),
            max_us: micros(samples.last().copied().unwrap_or(0)),
        }
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[u32], p: f64) -> u32 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1))
        .or(sorted.last())
        .copied()
        .unwrap_or(0)
}

#[derive(Debug, Default)]
struct ErrorLog {
    count: u64,
    samples: Vec<String>,
}

impl ErrorLog {
    fn push(&mut self, kind: Kind, message: &str) {
        self.count += 1;
        if self.samples.len() < 5 {
            self.samples.push(format!("{}: {message}", kind.name()));
        }
    }
}

/// A progress bar on stderr, only when stderr is a terminal, redrawn ≤ 10 times a second.
struct Progress {
    enabled: bool,
    label: &'static str,
    limit: Limit,
    drawn_at: Option<Duration>,
}

impl Progress {
    fn new(label: &'static str, limit: Limit) -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
            label,
            limit,
            drawn_at: None,
        }
    }

    fn show(&mut self, done: u64, elapsed: Duration) {
        if !self.enabled
            || self
                .drawn_at
                .is_some_and(|at| elapsed.saturating_sub(at) < Duration::from_millis(100))
        {
            return;
        }
        self.drawn_at = Some(elapsed);
        let fraction = self.limit.fraction(done, elapsed).clamp(0.0, 1.0);
        let filled = ((fraction * 30.0) as usize).min(30);
        let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
        eprint!(
            "\r{:<8} [{}{}] {:>5.1}% {done:>9} tx {rate:>9.0} tx/s",
            self.label,
            "#".repeat(filled),
            "-".repeat(30 - filled),
            fraction * 100.0
        );
    }

    fn finish(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
    }
}

// ------------------------------------------------------------ the shared loop

/// Everything one pass measured.
#[derive(Debug)]
struct PassResult {
    transactions: u64,
    seconds: f64,
    tally: Tally,
    types: Vec<(Kind, Summary)>,
    overall: Summary,
    errors: ErrorLog,
}

impl PassResult {
    fn tps(&self) -> f64 {
        self.transactions as f64 / self.seconds.max(1e-9)
    }

    fn new_orders_per_s(&self) -> f64 {
        let placed = self
            .types
            .iter()
            .find(|(k, _)| *k == Kind::PlaceOrder)
            .map_or(0, |(_, s)| s.count);
        placed as f64 / self.seconds.max(1e-9)
    }

    fn types_json(&self) -> Value {
        let map: Map<String, Value> = self
            .types
            .iter()
            .map(|(kind, s)| (kind.name().to_owned(), json!(s)))
            .collect();
        Value::Object(map)
    }
}

/// One pass in progress: the system, the driver's memory and the measurements.
struct Pass<'w, W: Workload> {
    system: &'w mut W,
    driver: Driver<W::OrderRef, W::InvoiceRef>,
    tally: Tally,
    latencies: Latencies,
    errors: ErrorLog,
}

impl<W: Workload> Pass<'_, W> {
    fn step(&mut self, n: u64, op: &Op) {
        match op {
            Op::PlaceOrder(order) => self.place_order(n, order),
            Op::Payment { pick, half } => self.payment(n, *pick, *half),
            Op::OrderStatus { customer } => self.order_status(*customer),
            Op::ShipBatch => self.ship_batch(),
            Op::StockLevel => self.stock_level(),
        }
    }

    fn place_order(&mut self, n: u64, order: &NewOrder) {
        let expect_refusal = order.names_unknown_sku();
        let before = expect_refusal.then(|| self.system.last_event());
        let started = Instant::now();
        let result = self.system.place_order(n, order);
        self.latencies.record(Kind::PlaceOrder, started.elapsed());
        match result {
            Ok(placed) => {
                if expect_refusal {
                    self.tally.unknown_sku_deviations += 1;
                    self.errors.push(
                        Kind::PlaceOrder,
                        "an order naming an unknown SKU was accepted",
                    );
                }
                self.tally.orders_placed += 1;
                self.tally.order_lines += placed.lines as u64;
                self.tally.invoiced_cents += placed.total_cents;
                self.driver
                    .placed(placed.order, placed.invoice, placed.total_cents);
            }
            Err(Refusal::UnknownSku) if expect_refusal => {
                self.tally.unknown_sku_refused += 1;
                let after = self.system.last_event();
                if matches!((&before, &after), (Some(Ok(b)), Ok(a)) if a == b) {
                    self.tally.unknown_sku_left_store_unchanged += 1;
                } else {
                    self.tally.unknown_sku_deviations += 1;
                    let message =
                        format!("refused order changed the store: {before:?} → {after:?}");
                    self.errors.push(Kind::PlaceOrder, &message);
                }
            }
            Err(Refusal::OutOfStock) if !expect_refusal => self.tally.out_of_stock += 1,
            Err(refusal) => {
                if expect_refusal {
                    self.tally.unknown_sku_deviations += 1;
                }
                let message = match refusal {
                    Refusal::Failed(message) => message,
                    other => format!("unexpected refusal {other:?}"),
                };
                self.errors.push(Kind::PlaceOrder, &message);
            }
        }
    }

    fn payment(&mut self, n: u64, pick: u64, half: bool) {
        let Some(choice) = self.driver.choose(pick, half) else {
            self.tally.payments_without_open_invoice += 1;
            return;
        };
        let started = Instant::now();
        let result = self.system.pay(n, choice.invoice, choice.cents);
        self.latencies.record(Kind::Payment, started.elapsed());
        match result {
            Ok(()) => {
                if choice.partial {
                    self.tally.payments_partial += 1;
                } else {
                    self.tally.payments_full += 1;
                }
                self.tally.paid_cents += choice.cents;
                self.driver.settled(&choice);
            }
            Err(e) => {
                self.errors.push(Kind::Payment, &e);
                self.driver.forget(choice.index);
            }
        }
    }

    fn order_status(&mut self, customer: usize) {
        let started = Instant::now();
        let result = self.system.order_status(customer);
        self.latencies.record(Kind::OrderStatus, started.elapsed());
        self.tally.status_reads += 1;
        match result {
            Ok(Some(lines)) => {
                self.tally.status_found += 1;
                self.tally.status_lines += lines as u64;
            }
            Ok(None) => {}
            Err(e) => self.errors.push(Kind::OrderStatus, &e),
        }
    }

    fn ship_batch(&mut self) {
        let started = Instant::now();
        let result = self.system.ship_batch(SHIP_BATCH);
        self.latencies.record(Kind::ShipBatch, started.elapsed());
        match result {
            Ok(batch) => {
                self.tally.ship_batches += 1;
                self.tally.orders_shipped += batch.orders;
                self.tally.shipments += batch.shipments;
                for e in &batch.failed {
                    self.errors.push(Kind::ShipBatch, e);
                }
            }
            Err(e) => self.errors.push(Kind::ShipBatch, &e),
        }
    }

    fn stock_level(&mut self) {
        let started = Instant::now();
        let result = self.system.stock_level(&self.driver.recent);
        self.latencies.record(Kind::StockLevel, started.elapsed());
        match result {
            Ok((skus, low)) => {
                self.tally.stock_level_skus += skus;
                self.tally.below_reorder_point += low;
            }
            Err(e) => self.errors.push(Kind::StockLevel, &e),
        }
    }
}

/// Runs the mix against `system` until `limit`. The same `cfg.seed` always yields the
/// same operations, whatever the system.
fn run_pass<W: Workload>(
    system: &mut W,
    cfg: &Config,
    limit: Limit,
    label: &'static str,
) -> Res<PassResult> {
    let (events_before, journal_before) = (system.last_event()?, system.journal_lines()?);
    let mut mix = Mix::new(cfg);
    let mut pass = Pass {
        system,
        driver: Driver::new(),
        tally: Tally::default(),
        latencies: Latencies::default(),
        errors: ErrorLog::default(),
    };
    let mut progress = Progress::new(label, limit);
    let started = Instant::now();
    let mut done = 0;
    loop {
        let elapsed = started.elapsed();
        if limit.reached(done, elapsed) {
            break;
        }
        progress.show(done, elapsed);
        pass.system.tick();
        let op = mix.next_op();
        pass.step(done, &op);
        done += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    progress.finish();

    let mut tally = pass.tally;
    tally.errors = pass.errors.count;
    tally.events = pass.system.last_event()? - events_before;
    tally.journal_lines = pass.system.journal_lines()? - journal_before;
    let (types, overall) = pass.latencies.summarize();
    Ok(PassResult {
        transactions: done,
        seconds,
        tally,
        types,
        overall,
        errors: pass.errors,
    })
}

// ------------------------------------------------------------------ o2c pass

type Shop = Oms<MemoryStore, TableRateCarrier>;

/// o2c on the in-memory store, set up with the world's master data.
struct O2cSystem {
    oms: Shop,
    clock: Arc<ManualClock>,
    skus: Vec<Sku>,
    unknown: Sku,
    customers: Vec<CustomerId>,
}

fn block_on<T>(future: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    pollster::block_on(future)
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

/// 2026-01-01T00:00:00Z.
fn start_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default()
}

impl O2cSystem {
    fn setup(world: &World, seed: u64) -> Res<Self> {
        let clock = Arc::new(ManualClock::new(start_time()));
        let carrier = RATE_BANDS.into_iter().fold(
            TableRateCarrier::new(CARRIER).zone("US", 0),
            |c, (grams, cents)| c.band(grams, vec![usd(cents)]),
        );
        let oms = Oms::new(MemoryStore::new(), carrier)
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
}

fn save_locations(oms: &Shop, world: &World) -> Res<Vec<LocationId>> {
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

fn save_catalogue(oms: &Shop, world: &World, locations: &[LocationId]) -> Res<Vec<Sku>> {
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
            block_on(oms.receive_stock(ReceiveStock {
                idempotency_key: IdempotencyKey::new(format!("opening-{sku}-{location}"))?,
                sku: sku.clone(),
                location: location.clone(),
                quantity: i64::from(world.stock),
                reference: "opening stock".into(),
            }))?;
        }
        skus.push(sku);
    }
    Ok(skus)
}

fn register_customers(oms: &Shop, count: usize) -> Res<Vec<CustomerId>> {
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
        ids.push(block_on(oms.register_customer(profile))?.id);
    }
    Ok(ids)
}

impl O2cSystem {
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

impl Workload for O2cSystem {
    type OrderRef = OrderId;
    type InvoiceRef = InvoiceId;

    fn tick(&mut self) {
        self.clock.advance(TimeDelta::milliseconds(1));
    }

    fn last_event(&mut self) -> Result<u64, String> {
        pollster::block_on(self.oms.store().last_event_sequence()).map_err(text)
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
        let orders = pollster::block_on(self.oms.store().orders_of_customer(id)).map_err(text)?;
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
        let ready = block_on(self.oms.orders_ready_to_ship(limit)).map_err(text)?;
        let mut batch = Batch::default();
        for order in &ready {
            match block_on(self.oms.ship(order.id)) {
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
        let mut orders = Vec::with_capacity(recent.len());
        for id in recent {
            orders.push(block_on(self.oms.order(*id)).map_err(text)?);
        }
        let skus: HashSet<&Sku> = orders
            .iter()
            .flat_map(|o| o.lines.iter().map(|l| &l.sku))
            .collect();
        let mut low = 0;
        for sku in &skus {
            let levels = block_on(self.oms.stock(sku)).map_err(text)?;
            let available: i64 = levels.iter().map(|l| l.available()).sum();
            let product = block_on(self.oms.product(sku)).map_err(text)?;
            if available < i64::from(product.reorder_point) {
                low += 1;
            }
        }
        Ok((skus.len() as u64, low))
    }
}

// ---------------------------------------------------------------- baseline

/// The same order-to-cash bookkeeping written by hand over plain collections.
///
/// Most records are written and never read back by the benchmark, exactly like the
/// records o2c keeps; hence the `dead_code` allowance.
#[allow(dead_code)]
mod baseline {
    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
    use std::hint::black_box;

    use rust_decimal::{Decimal, RoundingStrategy};

    use super::{
        Batch, CARRIER, NewOrder, Placed, RATE_BANDS, Refusal, UNKNOWN_SKU, Workload, World,
        reduced_rate, standard_rate,
    };

    const RECEIVABLES: &str = "1100";
    const BANK: &str = "1010";
    const INVENTORY: &str = "1200";
    const TAX_PAYABLE: &str = "2100";
    const CUSTOMER_CREDIT: &str = "2200";
    const CARRIER_PAYABLE: &str = "2300";
    const REVENUE: &str = "4000";
    const SHIPPING_REVENUE: &str = "4100";
    const DISCOUNTS: &str = "4500";
    const COGS: &str = "5000";
    const SHIPPING_COSTS: &str = "5200";

    type Money = Result<Decimal, String>;

    fn overflow() -> String {
        "amount overflows".to_owned()
    }
    fn add(a: Decimal, b: Decimal) -> Money {
        a.checked_add(b).ok_or_else(overflow)
    }
    fn sub(a: Decimal, b: Decimal) -> Money {
        a.checked_sub(b).ok_or_else(overflow)
    }
    fn sum(values: impl IntoIterator<Item = Decimal>) -> Money {
        values.into_iter().try_fold(Decimal::ZERO, add)
    }
    /// Commercial rounding to cents, as o2c's `Rounding::HalfUp`.
    fn round(d: Decimal) -> Decimal {
        d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
    }
    fn cents(d: Decimal) -> Result<i64, String> {
        let mut d = d;
        d.rescale(2);
        i64::try_from(d.mantissa()).map_err(|_| overflow())
    }

    struct PlainProduct {
        name: String,
        price: Decimal,
        cost: Decimal,
        tax_rate: Decimal,
        weight_grams: u32,
        reorder_point: u32,
    }

    #[derive(Clone, Copy)]
    struct Level {
        on_hand: i64,
        reserved: i64,
    }

    impl Level {
        fn available(self) -> i64 {
            self.on_hand.saturating_sub(self.reserved)
        }
    }

    enum MovementReason {
        Receipt,
        Shipment(usize),
    }

    struct Movement {
        quantity: i64,
        reason: MovementReason,
        at_ms: u64,
    }

    struct PlainCustomer {
        orders_placed: u32,
        lifetime_value: Decimal,
        last_order_ms: Option<u64>,
        balance: Decimal,
        credit: Decimal,
        uninvoiced: Decimal,
    }

    #[derive(Clone, Copy, Default)]
    struct Amounts {
        gross: Decimal,
        discount: Decimal,
        net: Decimal,
        tax: Decimal,
    }

    struct PlainLine {
        line_no: u16,
        sku: String,
        description: String,
        quantity: u32,
        unit_price: Decimal,
        amounts: Amounts,
        tax_rate: Decimal,
        /// (location, units still reserved)
        reservations: Vec<(usize, u32)>,
        shipped: u32,
        delivered: u32,
        invoiced: u32,
        invoiced_amounts: Amounts,
    }

    impl PlainLine {
        fn open(&self) -> u32 {
            self.reservations.iter().map(|r| r.1).sum()
        }
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Status {
        Open,
        Completed,
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Fulfilment {
        Unshipped,
        PartiallyShipped,
        Shipped,
        Delivered,
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum PaymentStatus {
        NotInvoiced,
        Unpaid,
        PartiallyPaid,
        Paid,
    }

    struct PlainOrder {
        customer: usize,
        key: String,
        lines: Vec<PlainLine>,
        status: Status,
        invoices: Vec<usize>,
        shipments: Vec<usize>,
        total: Decimal,
        invoiced: Decimal,
        paid: Decimal,
        placed_ms: u64,
        closed_ms: Option<u64>,
    }

    impl PlainOrder {
        fn fulfilment(&self) -> Fulfilment {
            let (mut wanted, mut shipped, mut delivered) = (0u64, 0u64, 0u64);
            for l in &self.lines {
                wanted += u64::from(l.quantity);
                shipped += u64::from(l.shipped);
                delivered += u64::from(l.delivered);
            }
            match () {
                () if shipped == 0 => Fulfilment::Unshipped,
                () if shipped < wanted => Fulfilment::PartiallyShipped,
                () if delivered < wanted => Fulfilment::Shipped,
                () => Fulfilment::Delivered,
            }
        }

        fn payment_status(&self) -> PaymentStatus {
            if self.invoiced.is_zero() {
                PaymentStatus::NotInvoiced
            } else if self.paid.is_zero() {
                PaymentStatus::Unpaid
            } else if self.paid < self.invoiced {
                PaymentStatus::PartiallyPaid
            } else {
                PaymentStatus::Paid
            }
        }

        fn is_complete(&self) -> bool {
            self.status == Status::Open
                && self.fulfilment() == Fulfilment::Delivered
                && self.total == self.invoiced
                && self.paid == self.invoiced
        }

        fn has_open_reservations(&self) -> bool {
            self.lines.iter().any(|l| l.open() > 0)
        }
    }

    struct InvoiceLine {
        line_no: u16,
        sku: String,
        description: String,
        quantity: u32,
        amounts: Amounts,
        tax_rate: Decimal,
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum InvoiceStatus {
        Open,
        Paid,
    }

    struct PlainInvoice {
        number: u64,
        order: usize,
        customer: usize,
        issued_ms: u64,
        due_ms: u64,
        lines: Vec<InvoiceLine>,
        shipping: Decimal,
        total: Decimal,
        paid: Decimal,
        status: InvoiceStatus,
    }

    struct PlainPayment {
        invoice: usize,
        order: usize,
        customer: usize,
        amount: Decimal,
        applied: Decimal,
        credited: Decimal,
        received_ms: u64,
        key: String,
    }

    struct PlainShipment {
        order: usize,
        location: usize,
        /// (line number, SKU, units)
        lines: Vec<(u16, String, u32)>,
        carrier: String,
        tracking: String,
        label: String,
        carrier_charge: Decimal,
        cost_of_goods: Decimal,
        booked_ms: u64,
        booking_key: String,
    }

    #[derive(Clone)]
    struct Booking {
        tracking: String,
        label: String,
        price: Decimal,
    }

    struct JournalLine {
        entry: u64,
        account: &'static str,
        amount: Decimal,
        posted_ms: u64,
    }

    enum Event {
        OrderPlaced {
            order: usize,
            customer: usize,
            total: Decimal,
        },
        StockReserved {
            order: usize,
            sku: String,
            location: usize,
            quantity: u32,
        },
        InvoiceIssued {
            invoice: usize,
            number: u64,
            order: usize,
            total: Decimal,
        },
        PaymentRecorded {
            payment: usize,
            invoice: usize,
            order: usize,
            amount: Decimal,
            applied: Decimal,
        },
        ShipmentBooked {
            shipment: usize,
            order: usize,
            location: usize,
            carrier: String,
            tracking: String,
        },
    }

    struct RecordedEvent {
        sequence: u64,
        at_ms: u64,
        event: Event,
    }

    /// Units of one line promised from one location.
    struct Allocation {
        line: usize,
        location: usize,
        quantity: u32,
    }

    /// The hand-written order-to-cash system.
    pub(super) struct Plain {
        now_ms: u64,
        /// Catalogue codes by index: the generated inputs, converted up front.
        codes: Vec<String>,
        products: HashMap<String, PlainProduct>,
        location_codes: Vec<String>,
        /// Location indexes by priority (then code).
        by_priority: Vec<usize>,
        stock: HashMap<String, Vec<Level>>,
        movements: HashMap<(String, usize), Vec<Movement>>,
        customers: Vec<PlainCustomer>,
        orders: Vec<PlainOrder>,
        orders_by_customer: HashMap<usize, Vec<usize>>,
        ready_to_ship: BTreeSet<(u64, usize)>,
        invoices: Vec<PlainInvoice>,
        invoice_counter: u64,
        payments: Vec<PlainPayment>,
        shipments: Vec<PlainShipment>,
        bookings: HashMap<String, Booking>,
        tracking_events: HashMap<String, Vec<String>>,
        booking_serial: u64,
        journal: Vec<JournalLine>,
        entries: u64,
        balances: HashMap<&'static str, Decimal>,
        events: Vec<RecordedEvent>,
        order_keys: HashMap<String, usize>,
        payment_keys: HashMap<String, usize>,
    }

    impl Plain {
        pub(super) fn setup(world: &World) -> Plain {
            let locations = world.locations.len();
            let mut plain = Plain {
                now_ms: 0,
                codes: world.products.iter().map(|p| p.code.clone()).collect(),
                products: HashMap::with_capacity(world.products.len()),
                location_codes: world.locations.clone(),
                by_priority: (0..locations).collect(),
                stock: HashMap::with_capacity(world.products.len()),
                movements: HashMap::new(),
                customers: Vec::new(),
                orders: Vec::new(),
                orders_by_customer: HashMap::new(),
                ready_to_ship: BTreeSet::new(),
                invoices: Vec::new(),
                invoice_counter: 0,
                payments: Vec::new(),
                shipments: Vec::new(),
                bookings: HashMap::new(),
                tracking_events: HashMap::new(),
                booking_serial: 0,
                journal: Vec::new(),
                entries: 0,
                balances: HashMap::new(),
                events: Vec::new(),
                order_keys: HashMap::new(),
                payment_keys: HashMap::new(),
            };
            let on_hand = i64::from(world.stock);
            for spec in &world.products {
                let product = PlainProduct {
                    name: spec.name.clone(),
                    price: Decimal::new(spec.price_cents, 2),
                    cost: Decimal::new(spec.cost_cents, 2),
                    tax_rate: if spec.reduced_tax {
                        reduced_rate()
                    } else {
                        standard_rate()
                    },
                    weight_grams: spec.weight_grams,
                    reorder_point: spec.reorder_point,
                };
                plain.products.insert(spec.code.clone(), product);
                let level = Level {
                    on_hand,
                    reserved: 0,
                };
                plain
                    .stock
                    .insert(spec.code.clone(), vec![level; locations]);
                for location in 0..locations {
                    let opening = Movement {
                        quantity: on_hand,
                        reason: MovementReason::Receipt,
                        at_ms: 0,
                    };
                    plain
                        .movements
                        .insert((spec.code.clone(), location), vec![opening]);
                }
            }
            plain.customers = (0..world.customers)
                .map(|_| PlainCustomer {
                    orders_placed: 0,
                    lifetime_value: Decimal::ZERO,
                    last_order_ms: None,
                    balance: Decimal::ZERO,
                    credit: Decimal::ZERO,
                    uninvoiced: Decimal::ZERO,
                })
                .collect();
            plain
        }

        fn level(&self, sku: &str, location: usize) -> Option<Level> {
            self.stock.get(sku)?.get(location).copied()
        }

        fn level_mut(&mut self, sku: &str, location: usize) -> Result<&mut Level, String> {
            self.stock
                .get_mut(sku)
                .and_then(|at| at.get_mut(location))
                .ok_or_else(|| format!("no stock record for {sku} at {location}"))
        }

        fn emit(&mut self, events: Vec<Event>) {
            for event in events {
                let sequence = self.events.len() as u64 + 1;
                self.events.push(RecordedEvent {
                    sequence,
                    at_ms: self.now_ms,
                    event,
                });
            }
        }

        /// Appends one balanced journal entry; zero lines are dropped, as o2c does.
        fn post(&mut self, lines: &[(&'static str, Decimal)]) -> Result<(), String> {
            if !sum(lines.iter().map(|l| l.1))?.is_zero() {
                return Err("unbalanced entry".to_owned());
            }
            self.entries += 1;
            for &(account, amount) in lines.iter().filter(|l| !l.1.is_zero()) {
                let balance = self.balances.entry(account).or_insert(Decimal::ZERO);
                *balance = add(*balance, amount)?;
                self.journal.push(JournalLine {
                    entry: self.entries,
                    account,
                    amount,
                    posted_ms: self.now_ms,
                });
            }
            Ok(())
        }

        // ------------------------------------------------------------ ordering

        fn place(
            &mut self,
            key: String,
            customer: usize,
            requested: Vec<(String, u32)>,
        ) -> Result<(usize, usize), Refusal> {
            if let Some(&id) = self.order_keys.get(&key) {
                let invoice = self
                    .orders
                    .get(id)
                    .and_then(|o| o.invoices.first().copied());
                return invoice
                    .map(|i| (id, i))
                    .ok_or_else(|| Refusal::Failed("replayed order has no invoice".into()));
            }
            if customer >= self.customers.len() {
                return Err(Refusal::Failed("unknown customer".into()));
            }
            let mut lines = self.price(requested)?;
            let allocations = self.allocate(&lines)?;
            self.check_reservations(&lines, &allocations)?;
            // Everything is checked: from here on the order is written.
            let id = self.orders.len();
            let mut events = Vec::with_capacity(allocations.len() + 2);
            for a in &allocations {
                let line = lines
                    .get_mut(a.line)
                    .ok_or_else(|| Refusal::Failed("bad allocation".into()))?;
                line.reservations.push((a.location, a.quantity));
                self.level_mut(&line.sku, a.location)
                    .map_err(Refusal::Failed)?
                    .reserved += i64::from(a.quantity);
                events.push(Event::StockReserved {
                    order: id,
                    sku: line.sku.clone(),
                    location: a.location,
                    quantity: a.quantity,
                });
            }
            self.record_order(id, key, customer, lines, events)
                .map_err(Refusal::Failed)
        }

        fn record_order(
            &mut self,
            id: usize,
            key: String,
            customer: usize,
            lines: Vec<PlainLine>,
            mut events: Vec<Event>,
        ) -> Result<(usize, usize), String> {
            let now = self.now_ms;
            let net = sum(lines.iter().map(|l| l.amounts.net))?;
            let total = add(net, sum(lines.iter().map(|l| l.amounts.tax))?)?;
            events.insert(
                0,
                Event::OrderPlaced {
                    order: id,
                    customer,
                    total,
                },
            );
            let buyer = self.customers.get_mut(customer).ok_or("unknown customer")?;
            buyer.orders_placed += 1;
            buyer.lifetime_value = add(buyer.lifetime_value, total)?;
            buyer.uninvoiced = add(buyer.uninvoiced, total)?;
            buyer.last_order_ms = Some(now);
            let mut order = PlainOrder {
                customer,
                key: key.clone(),
                lines,
                status: Status::Open,
                invoices: Vec::new(),
                shipments: Vec::new(),
                total,
                invoiced: Decimal::ZERO,
                paid: Decimal::ZERO,
                placed_ms: now,
                closed_ms: None,
            };
            let invoice = self.issue_invoice(id, &mut order, &mut events)?;
            if order.has_open_reservations() {
                self.ready_to_ship.insert((now, id));
            }
            self.orders.push(order);
            self.orders_by_customer
                .entry(customer)
                .or_default()
                .push(id);
            self.order_keys.insert(key, id);
            self.emit(events);
            Ok((id, invoice))
        }

        /// Prices every line from the catalogue: gross rounded, tax per line rounded.
        fn price(&self, requested: Vec<(String, u32)>) -> Result<Vec<PlainLine>, Refusal> {
            if requested.is_empty() {
                return Err(Refusal::Failed("an order needs at least one line".into()));
            }
            let mut lines = Vec::with_capacity(requested.len());
            for ((sku, quantity), line_no) in requested.into_iter().zip(1u16..) {
                if quantity == 0 {
                    return Err(Refusal::Failed(format!("line {line_no}: zero quantity")));
                }
                let product = self.products.get(&sku).ok_or(Refusal::UnknownSku)?;
                let gross = product
                    .price
                    .checked_mul(Decimal::from(quantity))
                    .map(round)
                    .ok_or_else(|| Refusal::Failed(overflow()))?;
                let tax = gross
                    .checked_mul(product.tax_rate)
                    .map(round)
                    .ok_or_else(|| Refusal::Failed(overflow()))?;
                lines.push(PlainLine {
                    line_no,
                    description: product.name.clone(),
                    sku,
                    quantity,
                    unit_price: product.price,
                    amounts: Amounts {
                        gross,
                        discount: Decimal::ZERO,
                        net: gross,
                        tax,
                    },
                    tax_rate: product.tax_rate,
                    reservations: Vec::new(),
                    shipped: 0,
                    delivered: 0,
                    invoiced: 0,
                    invoiced_amounts: Amounts::default(),
                });
            }
            Ok(lines)
        }

        /// One location if one covers every line (by priority), otherwise each line
        /// takes what it can from locations in priority order.
        fn allocate(&self, lines: &[PlainLine]) -> Result<Vec<Allocation>, Refusal> {
            // Each SKU's levels are read once, with its total demand over the lines.
            let mut demand: Vec<(&str, u64, &[Level])> = Vec::new();
            for l in lines {
                match demand.iter_mut().find(|(sku, ..)| *sku == l.sku) {
                    Some((_, total, _)) => *total += u64::from(l.quantity),
                    None => {
                        let levels = self.stock.get(&l.sku).map_or(&[][..], Vec::as_slice);
                        demand.push((&l.sku, u64::from(l.quantity), levels));
                    }
                }
            }
            let available = |levels: &[Level], location: usize| -> u64 {
                levels
                    .get(location)
                    .map_or(0, |l| u64::try_from(l.available()).unwrap_or(0))
            };
            for (_, wanted, levels) in &demand {
                let total: u64 = self
                    .by_priority
                    .iter()
                    .map(|&at| available(levels, at))
                    .sum();
                if total < *wanted {
                    return Err(Refusal::OutOfStock);
                }
            }
            let single = self.by_priority.iter().find(|&&at| {
                demand
                    .iter()
                    .all(|(_, wanted, levels)| available(levels, at) >= *wanted)
            });
            if let Some(&location) = single {
                return Ok(lines
                    .iter()
                    .enumerate()
                    .map(|(line, l)| Allocation {
                        line,
                        location,
                        quantity: l.quantity,
                    })
                    .collect());
            }
            Ok(self.split(lines, &demand))
        }

        /// Each line takes what it can from locations in priority order; lines of the
        /// same SKU draw on the same availability.
        fn split(&self, lines: &[PlainLine], demand: &[(&str, u64, &[Level])]) -> Vec<Allocation> {
            let mut left: HashMap<(&str, usize), u64> = HashMap::new();
            let mut allocations = Vec::new();
            for (line, l) in lines.iter().enumerate() {
                let levels = demand
                    .iter()
                    .find(|(sku, ..)| *sku == l.sku)
                    .map_or(&[][..], |d| d.2);
                let mut needed = u64::from(l.quantity);
                for &location in &self.by_priority {
                    if needed == 0 {
                        break;
                    }
                    let units = left.entry((l.sku.as_str(), location)).or_insert_with(|| {
                        levels
                            .get(location)
                            .map_or(0, |v| u64::try_from(v.available()).unwrap_or(0))
                    });
                    let take = needed.min(*units);
                    if take == 0 {
                        continue;
                    }
                    *units -= take;
                    needed -= take;
                    allocations.push(Allocation {
                        line,
                        location,
                        quantity: u32::try_from(take).unwrap_or(u32::MAX),
                    });
                }
            }
            allocations
        }

        /// The stock guard: after the reservations, `reserved ≤ on_hand` everywhere.
        fn check_reservations(
            &self,
            lines: &[PlainLine],
            allocations: &[Allocation],
        ) -> Result<(), Refusal> {
            let mut pending: HashMap<(&str, usize), i64> = HashMap::new();
            for a in allocations {
                let sku = lines
                    .get(a.line)
                    .map(|l| l.sku.as_str())
                    .ok_or_else(|| Refusal::Failed("bad allocation".into()))?;
                let level = self.level(sku, a.location).ok_or(Refusal::OutOfStock)?;
                let extra = pending.entry((sku, a.location)).or_insert(0);
                *extra += i64::from(a.quantity);
                if level.reserved + *extra > level.on_hand {
                    return Err(Refusal::OutOfStock);
                }
            }
            Ok(())
        }

        /// Bills the whole order on one invoice and posts it: Dr receivables; Cr
        /// revenue, Dr discounts, Cr tax, Cr shipping.
        fn issue_invoice(
            &mut self,
            order_id: usize,
            order: &mut PlainOrder,
            events: &mut Vec<Event>,
        ) -> Result<usize, String> {
            let now = self.now_ms;
            self.invoice_counter += 1;
            let number = self.invoice_counter;
            let lines: Vec<InvoiceLine> = order
                .lines
                .iter_mut()
                .map(|l| {
                    l.invoiced = l.quantity;
                    l.invoiced_amounts = l.amounts;
                    InvoiceLine {
                        line_no: l.line_no,
                        sku: l.sku.clone(),
                        description: l.description.clone(),
                        quantity: l.quantity,
                        amounts: l.amounts,
                        tax_rate: l.tax_rate,
                    }
                })
                .collect();
            let gross = sum(lines.iter().map(|l| l.amounts.gross))?;
            let discount = sum(lines.iter().map(|l| l.amounts.discount))?;
            let tax = sum(lines.iter().map(|l| l.amounts.tax))?;
            let shipping = Decimal::ZERO;
            let total = add(
                add(sum(lines.iter().map(|l| l.amounts.net))?, tax)?,
                shipping,
            )?;
            let id = self.invoices.len();
            order.invoices.push(id);
            order.invoiced = add(order.invoiced, total)?;
            let buyer = self
                .customers
                .get_mut(order.customer)
                .ok_or("unknown customer")?;
            buyer.balance = add(buyer.balance, total)?;
            buyer.uninvoiced = sub(buyer.uninvoiced, total)?;
            self.post(&[
                (RECEIVABLES, total),
                (REVENUE, -gross),
                (DISCOUNTS, discount),
                (TAX_PAYABLE, -tax),
                (SHIPPING_REVENUE, -shipping),
            ])?;
            events.push(Event::InvoiceIssued {
                invoice: id,
                number,
                order: order_id,
                total,
            });
            self.invoices.push(PlainInvoice {
                number,
                order: order_id,
                customer: order.customer,
                issued_ms: now,
                due_ms: now + 30 * 86_400_000,
                lines,
                shipping,
                total,
                paid: Decimal::ZERO,
                status: InvoiceStatus::Open,
            });
            Ok(id)
        }

        // ------------------------------------------------------------ payments

        fn pay(
            &mut self,
            key: String,
            invoice_id: usize,
            amount: Decimal,
        ) -> Result<usize, String> {
            if amount <= Decimal::ZERO || amount.normalize().scale() > 2 {
                return Err(format!("invalid payment amount {amount}"));
            }
            if let Some(&payment) = self.payment_keys.get(&key) {
                return Ok(payment);
            }
            let invoice = self.invoices.get(invoice_id).ok_or("unknown invoice")?;
            let (order_id, customer) = (invoice.order, invoice.customer);
            let order = self.orders.get(order_id).ok_or("unknown order")?;
            if order.status != Status::Open {
                return Err("order is closed".to_owned());
            }
            let outstanding = sub(invoice.total, invoice.paid)?;
            if outstanding <= Decimal::ZERO {
                return Err("invoice already paid".to_owned());
            }
            let applied = amount.min(outstanding);
            let credited = sub(amount, applied)?;
            if credited > Decimal::ZERO {
                return Err(format!(
                    "overpayment: {amount} offered, {outstanding} outstanding"
                ));
            }
            self.apply_payment(PlainPayment {
                invoice: invoice_id,
                order: order_id,
                customer,
                amount,
                applied,
                credited,
                received_ms: self.now_ms,
                key,
            })
        }

        /// Records a checked payment against its invoice, order and customer.
        fn apply_payment(&mut self, payment: PlainPayment) -> Result<usize, String> {
            let now = self.now_ms;
            let id = self.payments.len();
            let PlainPayment {
                invoice: invoice_id,
                order: order_id,
                customer,
                amount,
                applied,
                credited,
                ..
            } = payment;
            let invoice = self.invoices.get_mut(invoice_id).ok_or("unknown invoice")?;
            invoice.paid = add(invoice.paid, applied)?;
            if invoice.paid == invoice.total {
                invoice.status = InvoiceStatus::Paid;
            }
            let order = self.orders.get_mut(order_id).ok_or("unknown order")?;
            order.paid = add(order.paid, applied)?;
            if order.is_complete() {
                order.status = Status::Completed;
                order.closed_ms = Some(now);
            }
            let buyer = self.customers.get_mut(customer).ok_or("unknown customer")?;
            buyer.balance = sub(buyer.balance, applied)?;
            buyer.credit = add(buyer.credit, credited)?;
            self.post(&[
                (BANK, amount),
                (RECEIVABLES, -applied),
                (CUSTOMER_CREDIT, -credited),
            ])?;
            self.emit(vec![Event::PaymentRecorded {
                payment: id,
                invoice: invoice_id,
                order: order_id,
                amount,
                applied,
            }]);
            self.payment_keys.insert(payment.key.clone(), id);
            self.payments.push(payment);
            Ok(id)
        }

        // ------------------------------------------------------------ shipping

        fn ship_ready(&mut self, limit: usize) -> Batch {
            let ready: Vec<usize> = self
                .ready_to_ship
                .iter()
                .take(limit)
                .map(|&(_, id)| id)
                .collect();
            let mut batch = Batch::default();
            for id in ready {
                match self.ship(id) {
                    Ok(shipments) => {
                        batch.orders += 1;
                        batch.shipments += shipments;
                    }
                    Err(e) => batch.failed.push(e),
                }
            }
            batch
        }

        /// Ships everything reserved on the order: one shipment per location, each
        /// quoted and booked, moving stock and posting COGS and the carrier's charge.
        fn ship(&mut self, id: usize) -> Result<u64, String> {
            let order = self.orders.get(id).ok_or("unknown order")?;
            if order.status != Status::Open {
                return Err("order is closed".to_owned());
            }
            let mut picks: BTreeMap<usize, Vec<(usize, u32)>> = BTreeMap::new();
            for (index, line) in order.lines.iter().enumerate() {
                for &(location, units) in line.reservations.iter().filter(|r| r.1 > 0) {
                    picks.entry(location).or_default().push((index, units));
                }
            }
            if picks.is_empty() {
                return Err("nothing to ship".to_owned());
            }
            self.check_shipment_stock(id, &picks)?;
            let shipped_before = order.shipments.len();
            for (n, (location, lines)) in picks.into_iter().enumerate() {
                self.ship_pick(id, location, &lines, shipped_before + n)?;
            }
            let order = self.orders.get(id).ok_or("unknown order")?;
            if !order.has_open_reservations() {
                let slot = (order.placed_ms, id);
                self.ready_to_ship.remove(&slot);
            }
            Ok(self
                .orders
                .get(id)
                .map_or(0, |o| (o.shipments.len() - shipped_before) as u64))
        }

        /// The stock guard for a shipment: every unit leaving is on hand and reserved.
        fn check_shipment_stock(
            &self,
            id: usize,
            picks: &BTreeMap<usize, Vec<(usize, u32)>>,
        ) -> Result<(), String> {
            let order = self.orders.get(id).ok_or("unknown order")?;
            let mut pending: HashMap<(&str, usize), i64> = HashMap::new();
            for (&location, lines) in picks {
                for &(index, units) in lines {
                    let sku = order
                        .lines
                        .get(index)
                        .map(|l| l.sku.as_str())
                        .ok_or("bad line")?;
                    let level = self.level(sku, location).ok_or("no stock record")?;
                    let out = pending.entry((sku, location)).or_insert(0);
                    *out += i64::from(units);
                    if level.reserved < *out || level.on_hand < *out {
                        return Err(format!("insufficient stock of {sku} at {location}"));
                    }
                }
            }
            Ok(())
        }

        fn ship_pick(
            &mut self,
            id: usize,
            location: usize,
            lines: &[(usize, u32)],
            n: usize,
        ) -> Result<(), String> {
            let now = self.now_ms;
            let shipment_id = self.shipments.len();
            let order = self.orders.get(id).ok_or("unknown order")?;
            let mut weight: u64 = 0;
            let mut cost_of_goods = Decimal::ZERO;
            let mut shipped = Vec::with_capacity(lines.len());
            for &(index, units) in lines {
                let line = order.lines.get(index).ok_or("bad line")?;
                let product = self.products.get(&line.sku).ok_or("unknown product")?;
                weight = weight.saturating_add(u64::from(product.weight_grams) * u64::from(units));
                let value = product
                    .cost
                    .checked_mul(Decimal::from(units))
                    .ok_or_else(overflow)?;
                cost_of_goods = add(cost_of_goods, value)?;
                shipped.push((line.line_no, line.sku.clone(), units));
            }
            let location_code = self
                .location_codes
                .get(location)
                .ok_or("unknown location")?;
            let key = format!("{id}/{location_code}/{n}");
            let booking = self.book(&key, quote(weight)?);
            for ((index, units), (_, sku, _)) in lines.iter().zip(&shipped) {
                let level = self.level_mut(sku, location)?;
                level.on_hand -= i64::from(*units);
                level.reserved -= i64::from(*units);
                self.movements
                    .entry((sku.clone(), location))
                    .or_default()
                    .push(Movement {
                        quantity: -i64::from(*units),
                        reason: MovementReason::Shipment(shipment_id),
                        at_ms: now,
                    });
                let line = self
                    .orders
                    .get_mut(id)
                    .and_then(|o| o.lines.get_mut(*index))
                    .ok_or("bad line")?;
                if let Some(r) = line.reservations.iter_mut().find(|r| r.0 == location) {
                    r.1 = r.1.saturating_sub(*units);
                }
                line.reservations.retain(|r| r.1 > 0);
                line.shipped += units;
            }
            self.post(&[
                (COGS, cost_of_goods),
                (INVENTORY, -cost_of_goods),
                (SHIPPING_COSTS, booking.price),
                (CARRIER_PAYABLE, -booking.price),
            ])?;
            self.emit(vec![Event::ShipmentBooked {
                shipment: shipment_id,
                order: id,
                location,
                carrier: CARRIER.to_owned(),
                tracking: booking.tracking.clone(),
            }]);
            if let Some(order) = self.orders.get_mut(id) {
                order.shipments.push(shipment_id);
            }
            self.shipments.push(PlainShipment {
                order: id,
                location,
                lines: shipped,
                carrier: CARRIER.to_owned(),
                tracking: booking.tracking,
                label: booking.label,
                carrier_charge: booking.price,
                cost_of_goods,
                booked_ms: now,
                booking_key: key,
            });
            Ok(())
        }

        /// The carrier's idempotent booking: the same key returns the same booking.
        fn book(&mut self, key: &str, price: Decimal) -> Booking {
            if let Some(existing) = self.bookings.get(key) {
                return existing.clone();
            }
            self.booking_serial += 1;
            let tracking = format!("PAR{:010}", self.booking_serial);
            let booking = Booking {
                label: format!("label://{CARRIER}/{tracking}"),
                tracking: tracking.clone(),
                price,
            };
            self.tracking_events.insert(tracking, Vec::new());
            self.bookings.insert(key.to_owned(), booking.clone());
            booking
        }

        // ------------------------------------------------------------ reads

        fn order_status(&self, customer: usize) -> Option<usize> {
            let id = *self.orders_by_customer.get(&customer)?.last()?;
            let order = self.orders.get(id)?;
            // What the caller gets back: the order's lines and its two statuses.
            let lines: Vec<(String, u32, u32, Decimal)> = order
                .lines
                .iter()
                .map(|l| (l.sku.clone(), l.quantity, l.shipped, l.amounts.net))
                .collect();
            let count = lines.len();
            black_box((order.fulfilment(), order.payment_status(), lines));
            Some(count)
        }

        fn stock_level(&self, recent: &VecDeque<usize>) -> (u64, u64) {
            let skus: HashSet<&str> = recent
                .iter()
                .filter_map(|&id| self.orders.get(id))
                .flat_map(|o| o.lines.iter().map(|l| l.sku.as_str()))
                .collect();
            let mut low = 0;
            for sku in &skus {
                let available: i64 = self
                    .stock
                    .get(*sku)
                    .map_or(0, |at| at.iter().map(|l| l.available()).sum());
                let reorder_point = self.products.get(*sku).map_or(0, |p| p.reorder_point);
                if available < i64::from(reorder_point) {
                    low += 1;
                }
            }
            (skus.len() as u64, low)
        }
    }

    /// The table-rate price of one standard parcel of `grams`.
    fn quote(grams: u64) -> Result<Decimal, String> {
        RATE_BANDS
            .iter()
            .find(|(max, _)| grams <= *max)
            .map(|(_, cents)| Decimal::new(*cents, 2))
            .ok_or_else(|| format!("parcel of {grams} g is too heavy"))
    }

    impl Workload for Plain {
        type OrderRef = usize;
        type InvoiceRef = usize;

        fn tick(&mut self) {
            self.now_ms += 1;
        }

        fn last_event(&mut self) -> Result<u64, String> {
            Ok(self.events.len() as u64)
        }

        fn journal_lines(&mut self) -> Result<u64, String> {
            Ok(self.journal.len() as u64)
        }

        fn place_order(
            &mut self,
            n: u64,
            order: &NewOrder,
        ) -> Result<Placed<usize, usize>, Refusal> {
            let requested: Vec<(String, u32)> = order
                .lines
                .iter()
                .map(|l| {
                    let code = l
                        .sku
                        .and_then(|i| self.codes.get(i))
                        .map_or(UNKNOWN_SKU, String::as_str);
                    (code.to_owned(), l.quantity)
                })
                .collect();
            let lines = requested.len();
            let (id, invoice) = self.place(format!("order-{n}"), order.customer, requested)?;
            let total = self
                .invoices
                .get(invoice)
                .ok_or_else(|| Refusal::Failed("no invoice".into()))?
                .total;
            Ok(Placed {
                order: id,
                invoice,
                total_cents: cents(total).map_err(Refusal::Failed)?,
                lines,
            })
        }

        fn pay(&mut self, n: u64, invoice: usize, cents: i64) -> Result<(), String> {
            self.pay(format!("pay-{n}"), invoice, Decimal::new(cents, 2))
                .map(drop)
        }

        fn order_status(&mut self, customer: usize) -> Result<Option<usize>, String> {
            Ok(Plain::order_status(self, customer))
        }

        fn ship_batch(&mut self, limit: usize) -> Result<Batch, String> {
            Ok(self.ship_ready(limit))
        }

        fn stock_level(&mut self, recent: &VecDeque<usize>) -> Result<(u64, u64), String> {
            Ok(Plain::stock_level(self, recent))
        }
    }
}

// ------------------------------------------------------------------ running

/// Peak resident set size of this process so far (`VmHWM`), in bytes.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[derive(Debug)]
struct AuditSummary {
    violations: usize,
    samples: Vec<String>,
    seconds: f64,
    report: AuditReport,
}

#[derive(Debug)]
struct O2cRun {
    setup_seconds: f64,
    pass: PassResult,
    peak_rss_after_pass: Option<u64>,
    peak_rss_after_audit: Option<u64>,
    audit: AuditSummary,
    /// Time to drop the service and its store (not part of any measurement).
    teardown_seconds: f64,
}

#[derive(Debug)]
struct BaselineRun {
    setup_seconds: f64,
    pass: PassResult,
}

fn run_o2c(cfg: &Config, world: &World) -> Res<O2cRun> {
    let started = Instant::now();
    let mut system = O2cSystem::setup(world, cfg.seed)?;
    let setup_seconds = started.elapsed().as_secs_f64();
    let pass = run_pass(&mut system, cfg, cfg.limit, "o2c")?;
    let peak_rss_after_pass = peak_rss_bytes();
    let started = Instant::now();
    let report = pollster::block_on(system.oms.audit())?;
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

fn run_baseline(cfg: &Config, world: &World, transactions: u64) -> Res<BaselineRun> {
    let started = Instant::now();
    let mut system = baseline::Plain::setup(world);
    let setup_seconds = started.elapsed().as_secs_f64();
    let pass = run_pass(
        &mut system,
        cfg,
        Limit::Transactions(transactions),
        "baseline",
    )?;
    Ok(BaselineRun {
        setup_seconds,
        pass,
    })
}

/// Tally fields on which the two passes differ (empty when they did the same work).
fn disagreements(a: &Tally, b: &Tally) -> Res<Vec<String>> {
    let (Value::Object(a), Value::Object(b)) = (serde_json::to_value(a)?, serde_json::to_value(b)?)
    else {
        return Err("a tally is not a JSON object".into());
    };
    Ok(a.iter()
        .filter(|(field, value)| b.get(*field) != Some(*value))
        .map(|(field, value)| {
            let other = b.get(field).map_or_else(String::new, ToString::to_string);
            format!("{field}: o2c {value}, baseline {other}")
        })
        .collect())
}

// ------------------------------------------------------------------ reporting

struct Outcome<'a> {
    cfg: &'a Config,
    o2c: &'a O2cRun,
    baseline: Option<&'a BaselineRun>,
    disagreements: Vec<String>,
}

impl Outcome<'_> {
    fn ratio(&self) -> Option<f64> {
        self.baseline
            .map(|b| self.o2c.pass.seconds / b.pass.seconds.max(1e-9))
    }

    fn json(&self) -> Value {
        let (cfg, o2c, pass) = (self.cfg, self.o2c, &self.o2c.pass);
        let tally = &pass.tally;
        json!({
            "store": cfg.store,
            "seed": cfg.seed,
            "skus": cfg.skus,
            "customers": cfg.customers,
            "locations": cfg.locations,
            "stock_per_location": cfg.stock,
            "setup_seconds": o2c.setup_seconds,
            "transactions": pass.transactions,
            "seconds": pass.seconds,
            "tps": pass.tps(),
            "new_orders_per_s": pass.new_orders_per_s(),
            "p50_us": pass.overall.p50_us,
            "p99_us": pass.overall.p99_us,
            "max_us": pass.overall.max_us,
            "types": pass.types_json(),
            "peak_rss_bytes": o2c.peak_rss_after_pass,
            "peak_rss_after_audit_bytes": o2c.peak_rss_after_audit,
            "audit_violations": o2c.audit.violations,
            "audit_samples": o2c.audit.samples,
            "audit_seconds": o2c.audit.seconds,
            "teardown_seconds": o2c.teardown_seconds,
            "unknown_sku": {
                "refused": tally.unknown_sku_refused,
                "left_store_unchanged": tally.unknown_sku_left_store_unchanged,
                "deviations": tally.unknown_sku_deviations,
            },
            "errors": pass.errors.count,
            "error_samples": pass.errors.samples,
            "tally": tally,
            "baseline_tps": self.baseline.map(|b| b.pass.tps()),
            "ratio_vs_baseline": self.ratio(),
            "baseline": self.baseline.map(|b| json!({
                "runs": "second, after the o2c pass and its audit",
                "setup_seconds": b.setup_seconds,
                "transactions": b.pass.transactions,
                "seconds": b.pass.seconds,
                "tps": b.pass.tps(),
                "new_orders_per_s": b.pass.new_orders_per_s(),
                "p99_us": b.pass.overall.p99_us,
                "types": b.pass.types_json(),
                "errors": b.pass.errors.count,
                "agrees_with_o2c": self.disagreements.is_empty(),
                "disagreements": self.disagreements,
            })),
        })
    }

    fn print(&self) {
        let (cfg, o2c, pass) = (self.cfg, self.o2c, &self.o2c.pass);
        println!(
            "o2c loadgen: store {}, seed {}, {} SKUs × {} locations ({} units each), {} customers",
            cfg.store, cfg.seed, cfg.skus, cfg.locations, cfg.stock, cfg.customers
        );
        println!();
        println!("setup        {:.2} s", o2c.setup_seconds);
        print_pass("o2c", pass);
        print_rss(o2c);
        let a = &o2c.audit;
        println!(
            "audit        {} violations ({} stock levels, {} journal entries, {} orders, {} events checked in {:.2} s)",
            a.violations,
            a.report.stock_levels,
            a.report.journal_entries,
            a.report.orders,
            a.report.events,
            a.seconds
        );
        for v in &a.samples {
            println!("               {v}");
        }
        println!(
            "teardown     {:.2} s to drop the service and its store (not measured above)",
            o2c.teardown_seconds
        );
        let t = &pass.tally;
        println!(
            "unknown SKU  {} orders refused with UnknownSku, {} of them left the store unchanged; {} deviations",
            t.unknown_sku_refused, t.unknown_sku_left_store_unchanged, t.unknown_sku_deviations
        );
        print_outcomes(t);
        println!("errors       {}", pass.errors.count);
        for e in &pass.errors.samples {
            println!("               {e}");
        }
        self.print_baseline();
    }

    fn print_baseline(&self) {
        let Some(b) = self.baseline else {
            println!("baseline     skipped (--no-baseline)");
            return;
        };
        println!();
        println!(
            "baseline     hand-written, run second with the same {} operations; setup {:.2} s",
            b.pass.transactions, b.setup_seconds
        );
        print_pass("baseline", &b.pass);
        if let Some(ratio) = self.ratio() {
            println!(
                "ratio        o2c time / baseline time = {ratio:.1}× (transaction phase only)"
            );
        }
        if self.disagreements.is_empty() {
            println!("agreement    both passes produced identical outcome tallies");
        } else {
            println!("agreement    THE PASSES DISAGREE:");
            for d in &self.disagreements {
                println!("               {d}");
            }
        }
    }
}

fn print_pass(label: &str, pass: &PassResult) {
    println!(
        "{label:<12} {} transactions in {:.2} s: {:.0} tx/s, {:.0} new orders/s",
        pass.transactions,
        pass.seconds,
        pass.tps(),
        pass.new_orders_per_s()
    );
    println!(
        "             {:<14} {:>8} {:>10} {:>10} {:>10}",
        "type", "count", "p50 µs", "p99 µs", "max µs"
    );
    let rows = pass.types.iter().map(|(k, s)| (k.name(), s));
    for (name, s) in rows.chain([("all", &pass.overall)]) {
        println!(
            "             {name:<14} {:>8} {:>10.1} {:>10.1} {:>10.1}",
            s.count, s.p50_us, s.p99_us, s.max_us
        );
    }
}

fn print_rss(o2c: &O2cRun) {
    let show = |bytes: Option<u64>| {
        bytes.map_or_else(
            || "unavailable".to_owned(),
            |b| format!("{b} bytes ({:.1} MiB)", b as f64 / 1_048_576.0),
        )
    };
    println!(
        "peak RSS     {} after the pass; {} after the audit",
        show(o2c.peak_rss_after_pass),
        show(o2c.peak_rss_after_audit)
    );
}

fn print_outcomes(t: &Tally) {
    println!(
        "outcomes     {} orders placed ({} lines, {:.2} USD invoiced), {} out of stock",
        t.orders_placed,
        t.order_lines,
        t.invoiced_cents as f64 / 100.0,
        t.out_of_stock
    );
    println!(
        "             {} payments in full, {} partial ({:.2} USD), {} with no open invoice to pay",
        t.payments_full,
        t.payments_partial,
        t.paid_cents as f64 / 100.0,
        t.payments_without_open_invoice
    );
    println!(
        "             {} ship batches shipped {} orders in {} shipments; {} status reads; {} of {} SKUs checked below reorder point",
        t.ship_batches,
        t.orders_shipped,
        t.shipments,
        t.status_reads,
        t.below_reorder_point,
        t.stock_level_skus
    );
    println!(
        "             {} journal lines and {} events written",
        t.journal_lines, t.events
    );
}

fn main() -> Res<()> {
    let cfg = match parse_args(std::env::args().skip(1)) {
        Ok(Some(cfg)) => cfg,
        Ok(None) => {
            println!("{USAGE}");
            return Ok(());
        }
        Err(message) => {
            eprintln!("loadgen: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let world = World::generate(&cfg);
    let o2c = run_o2c(&cfg, &world)?;
    let baseline = if cfg.baseline {
        Some(run_baseline(&cfg, &world, o2c.pass.transactions)?)
    } else {
        None
    };
    let disagreements = match &baseline {
        Some(b) => disagreements(&o2c.pass.tally, &b.pass.tally)?,
        None => Vec::new(),
    };
    let outcome = Outcome {
        cfg: &cfg,
        o2c: &o2c,
        baseline: baseline.as_ref(),
        disagreements,
    };
    if cfg.json {
        println!("{}", outcome.json());
    } else {
        outcome.print();
    }
    Ok(())
}
