//! The shared loop: one measured pass of the mix against a system under test.

use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::Res;
use crate::args::{Config, Limit};
use crate::driver::Driver;
use crate::latency::{Latencies, Summary};
use crate::mix::{Kind, Mix, NewOrder, Op, SHIP_BATCH};
use crate::progress::Progress;
use crate::tally::{ErrorLog, Tally};
use crate::workload::{Refusal, Workload};

/// Everything one pass measured.
#[derive(Debug)]
pub(crate) struct PassResult {
    pub(crate) transactions: u64,
    pub(crate) seconds: f64,
    /// CPU time the process spent in the pass (user + system), where `/proc`
    /// tells it: on a shared machine, steadier than the wall time.
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) tally: Tally,
    pub(crate) types: Vec<(Kind, Summary)>,
    pub(crate) overall: Summary,
    pub(crate) errors: ErrorLog,
}

impl PassResult {
    /// Transactions per second over the transaction phase.
    pub(crate) fn tps(&self) -> f64 {
        self.transactions as f64 / self.seconds.max(1e-9)
    }

    /// Place-order transactions per second, the refused ones included (as tpmC).
    pub(crate) fn new_orders_per_s(&self) -> f64 {
        let placed = self
            .types
            .iter()
            .find(|(k, _)| *k == Kind::PlaceOrder)
            .map_or(0, |(_, s)| s.count);
        placed as f64 / self.seconds.max(1e-9)
    }

    /// Place-order transactions per second of time spent in `place_order` calls.
    pub(crate) fn place_order_per_s(&self) -> f64 {
        self.types
            .iter()
            .find(|(k, _)| *k == Kind::PlaceOrder)
            .map_or(0.0, |(_, s)| s.count as f64 / (s.total_us / 1e6).max(1e-9))
    }

    /// The per-type summaries as one JSON object keyed by type name.
    pub(crate) fn types_json(&self) -> Value {
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
    /// Runs transaction `n` and records what it did.
    fn step(&mut self, n: u64, op: &Op) {
        match op {
            Op::PlaceOrder(order) => self.place_order(n, order),
            Op::Payment { pick, half } => self.payment(n, *pick, *half),
            Op::OrderStatus { customer } => self.order_status(*customer),
            Op::ShipBatch => self.ship_batch(),
            Op::StockLevel => self.stock_level(),
        }
    }

    /// An order naming the unknown SKU must be refused and leave the store as it was.
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

    /// Pays the open invoice the driver picks; with none open, nothing is called.
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

/// The measured phase: transactions until `limit`, and the seconds they took. Kept
/// out of line so a profiler can count it alone
/// (`--toggle-collect='loadgen::pass::transactions*'`).
#[inline(never)]
fn transactions<W: Workload>(
    pass: &mut Pass<'_, W>,
    mix: &mut Mix,
    limit: Limit,
    label: &'static str,
) -> (u64, f64, Option<f64>) {
    let mut progress = Progress::new(label, limit);
    let cpu_before = cpu_seconds();
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
    let cpu = cpu_before.zip(cpu_seconds()).map(|(b, a)| a - b);
    progress.finish();
    (done, seconds, cpu)
}

/// This process's CPU time so far (user + system), from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    /// `USER_HZ`: Linux reports these times in hundredths of a second.
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after ") ";
    // utime and stime are the 14th and 15th fields, the 12th and 13th after it.
    let rest = stat.rsplit_once(") ")?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / TICKS_PER_SECOND)
}

/// Runs the mix against `system` until `limit`. The same `cfg.seed` always yields the
/// same operations, whatever the system.
pub(crate) fn run_pass<W: Workload>(
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
    let (done, seconds, cpu_seconds) = transactions(&mut pass, &mut mix, limit, label);

    let mut tally = pass.tally;
    tally.errors = pass.errors.count;
    tally.events = pass.system.last_event()? - events_before;
    tally.journal_lines = pass.system.journal_lines()? - journal_before;
    let (types, overall) = pass.latencies.summarize();
    Ok(PassResult {
        transactions: done,
        seconds,
        cpu_seconds,
        tally,
        types,
        overall,
        errors: pass.errors,
    })
}
