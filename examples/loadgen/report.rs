//! The report: one JSON object (`--json`) or the human-readable summary.

use serde_json::{Value, json};

use crate::args::Config;
use crate::baseline::BaselineRun;
use crate::o2c_system::O2cRun;
use crate::pass::PassResult;
use crate::tally::Tally;

/// Everything the report shows.
pub(crate) struct Outcome<'a> {
    pub(crate) cfg: &'a Config,
    pub(crate) o2c: &'a O2cRun,
    pub(crate) baseline: Option<&'a BaselineRun>,
    pub(crate) disagreements: Vec<String>,
}

impl Outcome<'_> {
    fn ratio(&self) -> Option<f64> {
        self.baseline
            .map(|b| self.o2c.pass.seconds / b.pass.seconds.max(1e-9))
    }

    /// The `--json` object.
    pub(crate) fn json(&self) -> Value {
        let (cfg, o2c, pass) = (self.cfg, self.o2c, &self.o2c.pass);
        let tally = &pass.tally;
        let sqlite = cfg.store == "sqlite";
        let mut out = json!({
            "store": cfg.store,
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
                "cpu_seconds": b.pass.cpu_seconds,
                "tps": b.pass.tps(),
                "new_orders_per_s": b.pass.new_orders_per_s(),
                "p99_us": b.pass.overall.p99_us,
                "types": b.pass.types_json(),
                "errors": b.pass.errors.count,
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
        println!(
            "o2c loadgen: store {store}, seed {}, {} SKUs × {} locations ({} units each), {} customers",
            cfg.seed, cfg.skus, cfg.locations, cfg.stock, cfg.customers
        );
        println!();
        println!("setup        {:.2} s", o2c.setup_seconds);
        print_pass("o2c", pass);
        self.print_place_order("o2c", pass);
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
            if self.cfg.store == "sqlite" {
                "plain rusqlite, the same SQL writes"
            } else {
                "hand-written"
            },
            b.pass.transactions,
            b.setup_seconds
        );
        print_pass("baseline", &b.pass);
        self.print_place_order("baseline", &b.pass);
        if let Some(ratio) = self.ratio() {
            println!(
                "ratio        o2c time / baseline time = {ratio:.2}× (transaction phase only; o2c at {:.0} % of the baseline's tx/s)",
                100.0 / ratio.max(1e-9)
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
