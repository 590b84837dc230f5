//! The shared loop: one measured pass of the mix against a system under test, by
//! one caller or by several at once, each running its own share.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::runtime::Runtime;

use crate::Res;
use crate::args::{Config, Limit};
use crate::driver::Driver;
use crate::exec::{block_on, drive};
use crate::latency::{Latencies, Summary};
use crate::mix::{Kind, Mix, NewOrder, Op, SHIP_BATCH};
use crate::progress::Progress;
use crate::tally::{ErrorLog, Tally};
use crate::workload::{Refusal, System};

/// Everything one pass measured.
#[derive(Debug)]
pub(crate) struct PassResult {
    pub(crate) transactions: u64,
    /// Transactions each caller ran, by caller: what the baseline repeats.
    pub(crate) per_client: Vec<u64>,
    pub(crate) seconds: f64,
    /// CPU time the process spent in the pass (user + system), where `/proc`
    /// tells it: on a shared machine, steadier than the wall time.
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) tally: Tally,
    pub(crate) types: Vec<(Kind, Summary)>,
    pub(crate) overall: Summary,
    pub(crate) errors: ErrorLog,
    /// Database round trips, where the system counts them.
    pub(crate) round_trips: Option<RoundTrips>,
}

/// Database round trips of a pass: in all, per command, and (one caller only,
/// where the counter read around a call is that call's alone) per kind.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RoundTrips {
    pub(crate) total: u64,
    /// Commands run: place orders, payments and one per order a ship batch shipped
    /// (or tried to).
    pub(crate) commands: u64,
    pub(crate) per_command: f64,
    pub(crate) per_transaction: f64,
    pub(crate) per_kind: Option<Vec<KindTrips>>,
}

/// Round trips of one transaction kind's calls.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct KindTrips {
    pub(crate) kind: &'static str,
    pub(crate) calls: u64,
    pub(crate) commands: u64,
    pub(crate) trips: u64,
}

impl KindTrips {
    pub(crate) fn per_call(&self) -> f64 {
        self.trips as f64 / self.calls.max(1) as f64
    }

    pub(crate) fn per_command(&self) -> f64 {
        self.trips as f64 / self.commands.max(1) as f64
    }
}

impl PassResult {
    /// Transactions per second over the transaction phase.
    pub(crate) fn tps(&self) -> f64 {
        self.transactions as f64 / self.seconds.max(1e-9)
    }

    /// The summary of one transaction kind.
    pub(crate) fn summary(&self, kind: Kind) -> Summary {
        self.types
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, s)| *s)
            .unwrap_or_default()
    }

    /// Place-order transactions per second, the refused ones included (as tpmC).
    pub(crate) fn new_orders_per_s(&self) -> f64 {
        self.summary(Kind::PlaceOrder).count as f64 / self.seconds.max(1e-9)
    }

    /// Place-order transactions per second of time spent in `place_order` calls.
    pub(crate) fn place_order_per_s(&self) -> f64 {
        let s = self.summary(Kind::PlaceOrder);
        s.count as f64 / (s.total_us / 1e6).max(1e-9)
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

/// One caller in progress: its connection, its memory and its measurements.
struct Client<'s, W: System> {
    system: &'s W,
    caller: W::Caller,
    /// The only caller: nothing else writes between two of its calls, so a
    /// refused order can be checked to have left the store as it was.
    alone: bool,
    driver: Driver<W::OrderRef, W::InvoiceRef>,
    tally: Tally,
    latencies: Latencies,
    errors: ErrorLog,
    /// Round trips per kind, counted around each call when the caller is alone.
    trips: Option<[KindTrips; 5]>,
    commands: u64,
}

/// A call's start: its time and the round-trip counter.
struct Mark(Instant, Option<u64>);

impl<W: System> Client<'_, W> {
    fn mark(&self) -> Mark {
        let trips = self.trips.and_then(|_| self.system.round_trips());
        Mark(Instant::now(), trips)
    }

    /// Records a call of `kind` that ran `commands` commands.
    fn done(&mut self, kind: Kind, mark: Mark, commands: u64) {
        self.latencies.record(kind, mark.0.elapsed());
        self.commands += commands;
        let now = self.system.round_trips();
        if let (Some(per_kind), Some(before), Some(now)) = (&mut self.trips, mark.1, now)
            && let Some(t) = per_kind.get_mut(kind as usize)
        {
            t.calls += 1;
            t.commands += commands;
            t.trips += now.saturating_sub(before);
        }
    }

    /// Runs transaction `n` and records what it did.
    async fn step(&mut self, n: u64, op: &Op) {
        match op {
            Op::PlaceOrder(order) => self.place_order(n, order).await,
            Op::Payment { pick, half } => self.payment(n, *pick, *half).await,
            Op::OrderStatus { customer } => self.order_status(*customer).await,
            Op::ShipBatch => self.ship_batch().await,
            Op::StockLevel => self.stock_level().await,
        }
    }

    /// An order naming the unknown SKU must be refused and, when this caller is
    /// alone, leave the store as it was.
    async fn place_order(&mut self, n: u64, order: &NewOrder) {
        let expect_refusal = order.names_unknown_sku();
        let before = if expect_refusal && self.alone {
            Some(self.system.last_event(&mut self.caller).await)
        } else {
            None
        };
        let mark = self.mark();
        let result = self.system.place_order(&mut self.caller, n, order).await;
        self.done(Kind::PlaceOrder, mark, 1);
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
                let Some(before) = before else { return };
                let after = self.system.last_event(&mut self.caller).await;
                if matches!((&before, &after), (Ok(b), Ok(a)) if a == b) {
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
    async fn payment(&mut self, n: u64, pick: u64, half: bool) {
        let Some(choice) = self.driver.choose(pick, half) else {
            self.tally.payments_without_open_invoice += 1;
            return;
        };
        let mark = self.mark();
        let result = self
            .system
            .pay(&mut self.caller, n, choice.invoice, choice.cents)
            .await;
        self.done(Kind::Payment, mark, 1);
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

    async fn order_status(&mut self, customer: usize) {
        let mark = self.mark();
        let result = self.system.order_status(&mut self.caller, customer).await;
        self.done(Kind::OrderStatus, mark, 0);
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

    async fn ship_batch(&mut self) {
        let mark = self.mark();
        let result = self.system.ship_batch(&mut self.caller, SHIP_BATCH).await;
        let commands = result
            .as_ref()
            .map_or(0, |b| b.orders + b.raced + b.failed.len() as u64);
        self.done(Kind::ShipBatch, mark, commands);
        match result {
            Ok(batch) => {
                self.tally.ship_batches += 1;
                self.tally.orders_shipped += batch.orders;
                self.tally.shipments += batch.shipments;
                self.tally.ship_races += batch.raced;
                for e in &batch.failed {
                    self.errors.push(Kind::ShipBatch, e);
                }
            }
            Err(e) => self.errors.push(Kind::ShipBatch, &e),
        }
    }

    async fn stock_level(&mut self) {
        let mark = self.mark();
        let result = self
            .system
            .stock_level(&mut self.caller, &self.driver.recent)
            .await;
        self.done(Kind::StockLevel, mark, 0);
        match result {
            Ok((skus, low)) => {
                self.tally.stock_level_skus += skus;
                self.tally.below_reorder_point += low;
            }
            Err(e) => self.errors.push(Kind::StockLevel, &e),
        }
    }
}

/// What every caller of a pass shares: when it started and how far it got.
struct Shared {
    started: Instant,
    done: AtomicU64,
    clients: usize,
}

/// What one caller's share of the pass did.
struct ClientOutcome {
    transactions: u64,
    tally: Tally,
    latencies: Latencies,
    errors: ErrorLog,
    trips: Option<[KindTrips; 5]>,
    commands: u64,
}

/// Caller `index` runs its stream of the mix until `limit`; caller 0 draws the
/// progress bar.
async fn run_client<W: System>(
    system: &W,
    cfg: &Config,
    index: usize,
    limit: Limit,
    shared: &Shared,
    mut progress: Option<Progress>,
) -> Result<ClientOutcome, String> {
    let alone = shared.clients == 1;
    let per_kind = Kind::ALL.map(|k| KindTrips {
        kind: k.name(),
        ..KindTrips::default()
    });
    let mut client = Client {
        system,
        caller: system.caller().await?,
        alone,
        driver: Driver::new(),
        tally: Tally::default(),
        latencies: Latencies::default(),
        errors: ErrorLog::default(),
        trips: (alone && system.round_trips().is_some()).then_some(per_kind),
        commands: 0,
    };
    let mut mix = Mix::for_client(cfg, index);
    let mut done = 0;
    loop {
        let elapsed = shared.started.elapsed();
        if limit.reached(done, elapsed) {
            break;
        }
        if let Some(bar) = &mut progress {
            bar.show(shared.done.load(Ordering::Relaxed), elapsed);
        }
        system.tick();
        let op = mix.next_op();
        // Transaction numbers (and so idempotency keys) unique over all callers;
        // a single caller's are 0, 1, 2, ... as they always were.
        let n = done * shared.clients as u64 + index as u64;
        client.step(n, &op).await;
        done += 1;
        shared.done.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(bar) = &progress {
        bar.finish();
    }
    Ok(ClientOutcome {
        transactions: done,
        tally: client.tally,
        latencies: client.latencies,
        errors: client.errors,
        trips: client.trips,
        commands: client.commands,
    })
}

/// The measured phase: every caller until its limit, and the seconds they took.
/// Kept out of line so a profiler can count it alone
/// (`--toggle-collect='loadgen::pass::transactions*'`); one caller without a
/// runtime runs on this thread.
#[inline(never)]
fn transactions<W: System>(
    system: &Arc<W>,
    cfg: &Config,
    limits: &[Limit],
    label: &'static str,
    runtime: Option<&Runtime>,
) -> Res<(Vec<ClientOutcome>, f64, Option<f64>)> {
    let total = match limits.first() {
        Some(Limit::Seconds(s)) => Limit::Seconds(*s),
        _ => Limit::Transactions(
            limits
                .iter()
                .map(|l| match l {
                    Limit::Transactions(n) => *n,
                    Limit::Seconds(_) => 0,
                })
                .sum(),
        ),
    };
    let progress = Progress::new(label, total);
    let cpu_before = cpu_seconds();
    let shared = Arc::new(Shared {
        started: Instant::now(),
        done: AtomicU64::new(0),
        clients: limits.len(),
    });
    // With --follow-reports a thread of its own keeps the read models folding the
    // log as it grows, the way a dashboard refreshing all day would: what that
    // costs the callers is the difference to a run without.
    let following = AtomicBool::new(cfg.follow_reports);
    let outcomes = std::thread::scope(|scope| {
        let follower = cfg.follow_reports.then(|| {
            scope.spawn(|| {
                let mut refreshes = 0u64;
                while following.load(Ordering::Relaxed) {
                    drive(runtime, system.refresh_reports())?;
                    refreshes += 1;
                    std::thread::sleep(std::time::Duration::from_millis(cfg.follow_every_ms));
                }
                Ok::<u64, String>(refreshes)
            })
        });
        let outcomes = callers(system, cfg, limits, runtime, &shared, progress);
        following.store(false, Ordering::Relaxed);
        if let Some(follower) = follower {
            match follower.join() {
                Ok(Ok(refreshes)) => {
                    if !cfg.json {
                        eprintln!("read models followed the log: {refreshes} refreshes");
                    }
                }
                Ok(Err(e)) => return Err(format!("following the log failed: {e}")),
                Err(_) => return Err("the follower panicked".to_owned()),
            }
        }
        outcomes
    })?;
    let seconds = shared.started.elapsed().as_secs_f64();
    let cpu = cpu_before.zip(cpu_seconds()).map(|(b, a)| a - b);
    let outcomes = outcomes.into_iter().collect::<Result<Vec<_>, String>>()?;
    Ok((outcomes, seconds, cpu))
}

/// Runs every caller to its limit.
fn callers<W: System>(
    system: &Arc<W>,
    cfg: &Config,
    limits: &[Limit],
    runtime: Option<&Runtime>,
    shared: &Arc<Shared>,
    progress: Progress,
) -> Result<Vec<Result<ClientOutcome, String>>, String> {
    Ok(match (runtime, limits) {
        (None, [limit]) => vec![block_on(run_client(
            &**system,
            cfg,
            0,
            *limit,
            shared,
            Some(progress),
        ))],
        (None, _) => return Err("several callers need a runtime".into()),
        (Some(rt), _) => rt.block_on(async {
            let mut tasks = Vec::with_capacity(limits.len());
            let mut progress = Some(progress);
            for (index, limit) in limits.iter().copied().enumerate() {
                let (system, cfg, shared) = (Arc::clone(system), cfg.clone(), Arc::clone(shared));
                let bar = progress.take();
                tasks.push(tokio::spawn(async move {
                    run_client(&*system, &cfg, index, limit, &shared, bar).await
                }));
            }
            let mut outcomes = Vec::with_capacity(tasks.len());
            for task in tasks {
                outcomes.push(task.await.unwrap_or_else(|e| Err(e.to_string())));
            }
            outcomes
        }),
    })
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

/// Each caller's limit when `clients` callers share `limit`: a count is split as
/// evenly as it goes (the first ones take the remainder), a duration is
/// everyone's.
pub(crate) fn shares(limit: Limit, clients: usize) -> Vec<Limit> {
    let clients = clients.max(1);
    match limit {
        Limit::Seconds(s) => vec![Limit::Seconds(s); clients],
        Limit::Transactions(n) => {
            let (each, rest) = (n / clients as u64, n % clients as u64);
            (0..clients as u64)
                .map(|i| Limit::Transactions(each + u64::from(i < rest)))
                .collect()
        }
    }
}

/// The limits that repeat `done`'s counts, caller by caller.
pub(crate) fn repeat(done: &PassResult) -> Vec<Limit> {
    done.per_client
        .iter()
        .map(|&n| Limit::Transactions(n))
        .collect()
}

/// Runs the mix against `system` by one caller per limit in `limits`, each until
/// its limit. Caller `i` always draws the same operations from `cfg.seed`,
/// whatever the system. Several callers, or a `runtime`, run as tasks on it.
pub(crate) fn run_pass<W: System>(
    system: &Arc<W>,
    cfg: &Config,
    limits: &[Limit],
    label: &'static str,
    runtime: Option<&Runtime>,
) -> Res<PassResult> {
    let mut probe = drive(runtime, system.caller())?;
    let events_before = drive(runtime, system.last_event(&mut probe))?;
    let journal_before = drive(runtime, system.journal_lines(&mut probe))?;
    let trips_before = system.round_trips();
    let (outcomes, seconds, cpu_seconds) = transactions(system, cfg, limits, label, runtime)?;
    let trips_after = system.round_trips();

    let (mut tally, mut latencies, mut errors) =
        (Tally::default(), Latencies::default(), ErrorLog::default());
    let (mut per_client, mut commands, mut per_kind) = (Vec::new(), 0, None);
    for outcome in outcomes {
        per_client.push(outcome.transactions);
        tally.add(&outcome.tally);
        latencies.merge(outcome.latencies);
        errors.merge(outcome.errors);
        commands += outcome.commands;
        per_kind = per_kind.or(outcome.trips);
    }
    tally.errors = errors.count;
    tally.events = drive(runtime, system.last_event(&mut probe))? - events_before;
    tally.journal_lines = drive(runtime, system.journal_lines(&mut probe))? - journal_before;
    let transactions: u64 = per_client.iter().sum();
    let round_trips = trips_before.zip(trips_after).map(|(b, a)| {
        let total = a.saturating_sub(b);
        RoundTrips {
            total,
            commands,
            per_command: total as f64 / commands.max(1) as f64,
            per_transaction: total as f64 / transactions.max(1) as f64,
            per_kind: per_kind.map(Vec::from),
        }
    });
    let (types, overall) = latencies.summarize();
    Ok(PassResult {
        transactions,
        per_client,
        seconds,
        cpu_seconds,
        tally,
        types,
        overall,
        errors,
        round_trips,
    })
}

#[cfg(test)]
mod tests {
    use super::shares;
    use crate::args::Limit;

    fn counts(limits: &[Limit]) -> Vec<u64> {
        limits
            .iter()
            .map(|l| match l {
                Limit::Transactions(n) => *n,
                Limit::Seconds(_) => u64::MAX,
            })
            .collect()
    }

    #[test]
    fn a_count_is_split_evenly_and_wholly() {
        assert_eq!(counts(&shares(Limit::Transactions(10), 1)), [10]);
        assert_eq!(counts(&shares(Limit::Transactions(10), 4)), [3, 3, 2, 2]);
        assert_eq!(counts(&shares(Limit::Transactions(2), 3)), [1, 1, 0]);
    }

    #[test]
    fn a_duration_is_everyones() {
        assert!(
            shares(Limit::Seconds(2.0), 3)
                .iter()
                .all(|l| matches!(l, Limit::Seconds(s) if *s == 2.0))
        );
    }
}
