//! A load generator for `o2c`: TPC-C's order-entry mix mapped onto order-to-cash,
//! run against the library and, in the same process, against a hand-written baseline.
//!
//! ```text
//! cargo run --release --example loadgen -- [flags]
//!
//!   --store S           the store to drive: memory (default) or sqlite (feature `sqlite`)
//!   --durability D      sqlite only: full (default) or normal (`PRAGMA synchronous`)
//!   --db PATH           sqlite only: o2c's file (default: a fresh one in the temp dir);
//!                       the SQL baseline writes PATH.baseline
//!   --keep              sqlite only: keep both files (default: deleted at the end)
//!   --transactions N    transactions to run (default 200000)
//!   --seconds T         or run the o2c pass for T seconds (the baseline repeats its count)
//!   --seed S            seed for every random choice (default 42)
//!   --skus N            catalogue size (default 10000)
//!   --customers N       customers (default 3000)
//!   --locations N       stock locations, 1 to 99 (default 4)
//!   --stock N           opening units per SKU per location (default 1000000)
//!   --json              print exactly one JSON object instead of the report
//!   --no-baseline       skip the baseline pass
//!   --baseline-only     run the memory baseline alone (for a profiler; see below)
//!   --compare N         o2c and the baseline N times each, each pass in a fresh
//!                       process, alternating; medians and their ratio
//! ```
//!
//! The comparison to quote is `--compare 5`: in a plain run the baseline's pass
//! goes second and reuses the heap o2c's pass grew and freed, so it skips the page
//! faults o2c paid for (see [`compare`]).
//!
//! To compare instruction counts, run each side in its own process and count only
//! the measured phase (`pass::transactions`), setup and audit excluded:
//!
//! ```text
//! valgrind --tool=callgrind --toggle-collect='loadgen::pass::transactions*' \
//!     target/release/examples/loadgen --transactions 5000 --no-baseline
//! valgrind --tool=callgrind --toggle-collect='loadgen::pass::transactions*' \
//!     target/release/examples/loadgen --transactions 5000 --baseline-only
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
//! generic loop ([`run_pass`](pass::run_pass)) over the same generator
//! ([`Mix`](mix::Mix)) and driver state ([`Driver`](driver::Driver)), so the same seed
//! gives the same operations and the same choices. The o2c pass runs first (then the
//! audit), the baseline second; the report checks that both passes produced identical
//! outcome tallies (orders, amounts invoiced and paid, shipments, journal lines,
//! events, ...) and gives `ratio_vs_baseline` = o2c time ÷ baseline time over the
//! transaction phase.
//!
//! # Layout
//!
//! `args` reads the flags; `world` generates the master data and `mix` the
//! operations, both from the seed (`rng`); `pass` runs one measured pass through the
//! `workload::Workload` trait, keeping its state in `driver`, `tally`, `latency` and
//! `progress`; `o2c_system` and `baseline` are the two systems under test; `report`
//! prints the outcome.

// The report's JSON object is deeper than `serde_json::json!`'s default allows.
#![recursion_limit = "256"]

mod args;
mod baseline;
mod compare;
mod driver;
mod latency;
mod mix;
mod o2c_system;
mod pass;
mod progress;
mod report;
mod rng;
#[cfg(feature = "sqlite")]
mod sql_baseline;
mod tally;
mod workload;
mod world;

use std::error::Error as StdError;

use args::{USAGE, parse_args};
use baseline::run_baseline;
use o2c_system::run_o2c;
use report::Outcome;
use tally::disagreements;
use world::World;

type Res<T> = Result<T, Box<dyn StdError>>;

fn main() -> Res<()> {
    let given: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match parse_args(given.iter().cloned()) {
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
    if let Some(rounds) = cfg.compare {
        return compare::compare(&compare::child_args(&given), rounds, cfg.json);
    }
    let world = World::generate(&cfg);
    if cfg.baseline_only {
        return baseline_only(&cfg, &world);
    }
    let (o2c, baseline) = if cfg.store == "sqlite" {
        run_sqlite(&cfg, &world)?
    } else {
        let o2c = run_o2c(&cfg, &world)?;
        let baseline = if cfg.baseline {
            Some(run_baseline(&cfg, &world, o2c.pass.transactions)?)
        } else {
            None
        };
        (o2c, baseline)
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

/// `--baseline-only`: the memory baseline's pass alone, for a profiler.
fn baseline_only(cfg: &args::Config, world: &World) -> Res<()> {
    let args::Limit::Transactions(transactions) = cfg.limit else {
        return Err("--baseline-only needs --transactions".into());
    };
    let run = run_baseline(cfg, world, transactions)?;
    let pass = &run.pass;
    if cfg.json {
        println!(
            "{}",
            serde_json::json!({
                "transactions": pass.transactions,
                "seconds": pass.seconds,
                "cpu_seconds": pass.cpu_seconds,
                "tps": pass.tps(),
                "types": pass.types_json(),
                "errors": pass.errors.count,
                "tally": pass.tally,
                "peak_rss_bytes": o2c_system::peak_rss_bytes(),
            })
        );
    } else {
        println!(
            "baseline     {} transactions in {:.2} s: {:.0} tx/s ({} errors)",
            pass.transactions,
            pass.seconds,
            pass.tps(),
            pass.errors.count
        );
    }
    Ok(())
}

/// Both passes on SQLite: o2c's `SqliteStore`, then the plain-rusqlite baseline.
#[cfg(feature = "sqlite")]
fn run_sqlite(
    cfg: &args::Config,
    world: &World,
) -> Res<(o2c_system::O2cRun, Option<baseline::BaselineRun>)> {
    sql_baseline::run_sqlite(cfg, world)
}

/// Without the feature there is no SQLite store to drive.
#[cfg(not(feature = "sqlite"))]
fn run_sqlite(
    _cfg: &args::Config,
    _world: &World,
) -> Res<(o2c_system::O2cRun, Option<baseline::BaselineRun>)> {
    Err("--store sqlite needs the sqlite feature: rebuild with --features sqlite".into())
}
