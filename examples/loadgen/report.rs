//! The report: one JSON object (`--json`) or the human-readable summary.

use serde::Serialize;
use serde_json::{Value, json};

use crate::args::Config;
use crate::baseline::BaselineRun;
use crate::mix::Kind;
use crate::o2c_system::O2cRun;
use crate::pass::{PassResult, RoundTrips};
use crate::tally::Tally;

/// pgbench's TPC-B run on the same server: the hardware's yardstick.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Yardstick {
    pub(crate) scale: u32,
    pub(crate) clients: usize,
    pub(crate) threads: usize,
    pub(crate) seconds: u64,
    /// Transactions per second, initial connection time excluded.
    pub(crate) tps: f64,
}

/// Everything the report shows.
pub(crate) struct Outcome<'a> {
    pub(crate) cfg: &'a Config,
    pub(crate) o2c: &'a O2cRun,
    pub(crate) baseline: Option<&'a BaselineRun>,
    pub(crate) disagreements: Vec<String>,
    pub(crate) pgbench: Option<&'a Yardstick>,
}

impl Outcome<'_> {
    /// o2c's time over the baseline's, for the same transactions.
    fn ratio(&self) -> Option<f64> {
        self.baseline
            .map(|b| self.o2c.pass.seconds / b.pass.seconds.max(1e-9))
    }

    /// o2c's throughput over the baseline's.
    fn throughput_ratio(&self) -> Option<f64> {
        self.baseline
            .map(|b| self.o2c.pass.tps() / b.pass.tps().max(1e-9))
    }

    /// o2c's throughput over pgbench's.
    fn pgbench_ratio(&self) -> Option<f64> {
        self.pgbench.map(|p| self.o2c.pass.tps() / p.tps.max(1e-9))
    }

    /// The `--json` object.
    pub(crate) fn json(&self) -> Value {
        let (cfg, o2c, pass) = (self.cfg, self.o2c, &self.o2c.pass);
        let tally = &pass.tally;
        let sqlite = cfg.store == "sqlite";
        let mut out = json!({
            "store": cfg.store,
            "clients": cfg.clients,
            "worker_threads": (cfg.clients > 1 || cfg.store == "postgres")
                .then_some(crate::exec::WORKER_THREADS),
            "durability": sqlite.then(|| cfg.durability.name()),
            "seed": cfg.seed,
            "skus": cfg.skus,
            "customers": cfg.customers,
            "locations": cfg.locations,
            "stock_per_location": cfg.stock,
            "setup_seconds": o2c.setup_seconds,
            "transactions": pass.transactions,
            "seconds": pass.seconds,
            "cpu_seconds": pass.cpu_seconds,
            "tps": pass.tps(),
            "new_orders_per_s": pass.new_orders_per_s(),
            "p50_us": pass.overall.p50_us,
            "p99_us": pass.overall.p99_us,
            "max_us": pass.overall.max_us,
            "types": pass.types_json(),
            "round_trips": pass.round_trips,
            "pgbench": self.pgbench,
            "ratio_vs_pgbench": self.pgbench_ratio(),
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
            "throughput_vs_baseline": self.throughput_ratio(),
            "baseline": self.baseline.map(|b| json!({
                "runs": "second, after the o2c pass and its audit",
                "setup_seconds": b.setup_seconds,
                "transactions": b.pass.transactions,
                "seconds": b.pass.seconds,
                "cpu_seconds": b.pass.cpu_seconds,
                "tps": b.pass.tps(),
                "new_orders_per_s": b.pass.new_orders_per_s(),
                "p99_us": b.pass.overall.p99_us,
                "types": b.pass.types_json(),
                "round_trips": b.pass.round_trips,
                "errors": b.pass.errors.count,
                "error_samples": b.pass.errors.samples,
                "compared": if cfg.clients > 1 { "caller-decided tally fields" } else { "every tally field" },
                "agrees_with_o2c": self.disagreements.is_empty(),
                "disagreements": self.disagreements,
            })),
        });
        if let (true, Some(map)) = (sqlite, out.as_object_mut()) {
            map.insert(
                "place_order_per_s".to_owned(),
                json!({
                    "o2c": pass.place_order_per_s(),
                    "o2c_new_orders_per_wall_s": pass.new_orders_per_s(),
                    "baseline": self.baseline.map(|b| b.pass.place_order_per_s()),
                    "baseline_new_orders_per_wall_s": self.baseline.map(|b| b.pass.new_orders_per_s()),
                }),
            );
        }
        out
    }

    /// The human-readable report.
    pub(crate) fn print(&self) {
        let (cfg, o2c, pass) = (self.cfg, self.o2c, &self.o2c.pass);
        let store = if cfg.store == "sqlite" {
            format!("sqlite (synchronous={})", cfg.durability.name())
        } else {
            cfg.store.clone()
        };
        let callers = if cfg.clients > 1 || cfg.store == "postgres" {
            format!(
                "{} callers on a runtime of {} worker threads",
                cfg.clients,
                crate::exec::WORKER_THREADS
            )
        } else {
            "1 caller".to_owned()
        };
        println!(
            "o2c loadgen: store {store}, {callers}, seed {}, {} SKUs × {} locations ({} units each), {} customers",
            cfg.seed, cfg.skus, cfg.locations, cfg.stock, cfg.customers
        );
        println!();
        if let Some(p) = self.pgbench {
            println!(
                "pgbench      TPC-B, scale {}, {} clients, {} threads, {} s: {:.0} tps (the hardware's yardstick)",
                p.scale, p.clients, p.threads, p.seconds, p.tps
            );
        }
        println!("setup        {:.2} s", o2c.setup_seconds);
        print_pass("o2c", pass);
        self.print_place_order("o2c", pass);
        if let Some(trips) = &pass.round_trips {
            print_round_trips(trips);
        }
        if let Some(ratio) = self.pgbench_ratio() {
            println!(
                "vs pgbench   o2c tx/s / pgbench tps = {ratio:.2} (different transactions: a yardstick, not a race)"
            );
        }
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
            "baseline     {}, run second with the same {} operations; setup {:.2} s",
            match self.cfg.store.as_str() {
                "sqlite" => "plain rusqlite, the same SQL writes",
                "postgres" =>
                    "tokio-postgres by hand, the same writes, one pipelined round trip per command",
                _ => "hand-written",
            },
            b.pass.transactions,
            b.setup_seconds
        );
        print_pass("baseline", &b.pass);
        self.print_place_order("baseline", &b.pass);
        if let Some(trips) = &b.pass.round_trips {
            print_round_trips(trips);
        }
        println!("errors       {}", b.pass.errors.count);
        for e in &b.pass.errors.samples {
            println!("               {e}");
        }
        if let Some(ratio) = self.ratio() {
            println!(
                "ratio        o2c time / baseline time = {ratio:.2}× (transaction phase only; o2c at {:.0} % of the baseline's tx/s)",
                100.0 / ratio.max(1e-9)
            );
        }
        for kind in [Kind::PlaceOrder, Kind::Payment] {
            let (a, b) = (self.o2c.pass.summary(kind), b.pass.summary(kind));
            println!(
                "{:<12} p50 o2c {:.0} µs / baseline {:.0} µs = {:.2}×; p99 {:.0} / {:.0} µs = {:.2}×",
                kind.name(),
                a.p50_us,
                b.p50_us,
                a.p50_us / b.p50_us.max(1e-9),
                a.p99_us,
                b.p99_us,
                a.p99_us / b.p99_us.max(1e-9)
            );
        }
        if self.disagreements.is_empty() && self.cfg.clients > 1 {
            println!(
                "agreement    the tallies every caller decides alone (orders, lines, amounts invoiced and paid, \
                 refusals, reads and batches run, errors) are identical"
            );
        } else if self.disagreements.is_empty() {
            println!("agreement    both passes produced identical outcome tallies");
        } else {
            println!("agreement    THE PASSES DISAGREE:");
            for d in &self.disagreements {
                println!("               {d}");
            }
        }
    }
}

impl Outcome<'_> {
    /// SQLite only: the place-order transaction rate.
    fn print_place_order(&self, label: &str, pass: &PassResult) {
        if self.cfg.store == "sqlite" {
            println!(
                "{:<12} {:.0} place-order tx/s (count ÷ time in place_order); {:.0} new orders per wall second",
                format!("{label} p/o"),
                pass.place_order_per_s(),
                pass.new_orders_per_s()
            );
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

fn print_round_trips(trips: &RoundTrips) {
    println!(
        "round trips  {} in all: {:.2} per command ({} commands: orders, payments, shipments), {:.2} per transaction",
        trips.total, trips.per_command, trips.commands, trips.per_transaction
    );
    for t in trips.per_kind.iter().flatten() {
        if t.calls > 0 {
            println!(
                "             {:<14} {:.2} per call{}",
                t.kind,
                t.per_call(),
                if t.commands > 0 && t.commands != t.calls {
                    format!(", {:.2} per command", t.per_command())
                } else {
                    String::new()
                }
            );
        }
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
        "             {} ship batches shipped {} orders in {} shipments ({} shipped first by another caller); {} status reads; {} of {} SKUs checked below reorder point",
        t.ship_batches,
        t.orders_shipped,
        t.shipments,
        t.ship_races,
        t.status_reads,
        t.below_reorder_point,
        t.stock_level_skus
    );
    println!(
        "             {} journal lines and {} events written",
        t.journal_lines, t.events
    );
}
