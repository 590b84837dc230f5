//! A load generator for `o2c`: TPC-C's order-entry mix mapped onto order-to-cash,
//! run against the library and, in the same process, against a hand-written baseline.
//!
//! ```text
//! cargo run --release --example loadgen -- [flags]
//!
//!   --store S           the store to drive: memory (default), sqlite (feature
//!                       `sqlite`) or postgres (feature `postgres`)
//!   --clients N[,N...]  concurrent callers (default 1); a list runs once per count
//!   --durability D      sqlite only: full (default) or normal (`PRAGMA synchronous`)
//!   --db PATH           sqlite only: o2c's file (default: a fresh one in the temp dir);
//!                       the SQL baseline writes PATH.baseline
//!   --postgres-url URL  postgres only: the database (default: $O2C_POSTGRES_URL, else
//!                       postgres://postgres@127.0.0.1:5432/test)
//!   --pgbench           postgres only: run pgbench (TPC-B, scale 10) first with the
//!                       same number of clients, and print its tps beside o2c's
//!   --pgbench-seconds T postgres only: how long pgbench measures (default 30)
//!   --keep              sqlite: keep both files; postgres: keep the o2c tenant and
//!                       the baseline's schema (default: deleted at the end)
//!   --transactions N    transactions to run, shared by the callers (default 200000)
//!   --seconds T         or run the o2c pass for T seconds (the baseline repeats the
//!                       count of every caller)
//!   --seed S            seed for every random choice (default 42)
//!   --skus N            catalogue size (default 10000)
//!   --customers N       customers (default 3000)
//!   --locations N       stock locations, 1 to 99 (default 4)
//!   --stock N           opening units per SKU per location (default 1000000)
//!   --json              print one JSON object instead of the report (one line
//!                       per count of a --clients list)
//!   --no-baseline       skip the baseline pass
//!   --follow-reports    keep o2c's read models (`o2c::reports`) folding the event
//!                       log on a thread of their own during the pass, as a live
//!                       dashboard would: what they cost is the drop in throughput
//!   --follow-every-ms T the follower's pause between folds (default 100)
//!   --baseline-only     run the memory baseline alone, one caller (for a profiler;
//!                       see below)
//!   --compare N         o2c and the baseline N times each, each pass in a fresh
//!                       process, alternating; medians and their ratio (one caller)
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
//! gives the same operations and the same choices; with one caller the baseline
//! sits behind an uncontended lock, a few nanoseconds a call. The o2c pass runs first (then the
//! audit), the baseline second; the report checks that both passes produced identical
//! outcome tallies (orders, amounts invoiced and paid, shipments, journal lines,
//! events, ...) and gives `ratio_vs_baseline` = o2c time ÷ baseline time over the
//! transaction phase.
//!
//! # Concurrent callers (`--clients N`)
//!
//! With one caller (the default) a pass runs on the main thread, as it always
//! did: on the memory store every call is polled once with a no-op waker, on
//! SQLite a call that waits is finished by `pollster`. With N > 1 (and always on
//! PostgreSQL) the N callers are tasks on a tokio multi-threaded runtime of two
//! worker threads ([`exec`]), all calling one shared system. The transaction
//! count is split between them (the first ones take the remainder); `--seconds`
//! gives each the same time, and the baseline repeats each caller's count.
//! Caller 0 draws exactly the operations a single caller draws from `--seed`;
//! caller `i` its own stream from the seed and `i`, and its own driver memory
//! (the invoices it may pay, its latest orders), so what each caller asks is the
//! same in both passes whatever the interleaving. Transaction numbers, and so
//! idempotency keys, are `local index × N + i`. The memory and SQLite baselines
//! are shared behind one lock ([`Locked`](workload::Locked)); the PostgreSQL
//! baseline decides under one lock and writes on a connection per caller.
//!
//! What is compared with N > 1: every tally field a caller decides alone must be
//! equal in both passes: orders placed, their lines and amounts, unknown-SKU
//! refusals, out-of-stock refusals, payments in full and in part and their
//! amounts, payments with nothing to pay, status reads, ship batches and stock
//! levels run, SKUs looked at, and errors (none expected in either). What
//! depends on the interleaving is reported but not compared: which orders a ship
//! batch finds (and so shipments, journal lines and events), whether a
//! customer's latest order exists yet, stock read below reorder point, and ship
//! races (an order listed as ready that another caller shipped first, o2c's
//! `NothingToShip`, counted apart rather than as an error). A refused order's
//! "store left unchanged" check needs the store to itself, so it runs with one
//! caller only. The audit runs after o2c's pass and must be clean. Throughput is
//! all callers' transactions over the wall time of the phase; latencies are every
//! call of every caller.
//!
//! # PostgreSQL (`--store postgres`)
//!
//! Build with `--features postgres`. o2c runs on `PostgresStore` in a fresh
//! tenant `loadgen_o2c_<pid>` (a pool of N connections, its I/O on the loadgen's
//! runtime); the baseline ([`pg_baseline`]) writes the same rows by hand with
//! tokio-postgres in a fresh schema `loadgen_sql_<pid>`, one pipelined round trip
//! per command, a connection per caller. Both are dropped at the end unless
//! `--keep`. The report adds o2c's round trips to the server (`round_trips()`
//! before and after the pass): in all, per command (place orders, payments, and
//! one per order shipped) and per transaction; with one caller, per transaction
//! kind too, counted around each call. The baseline's are counted the same way.
//! `--pgbench` runs `pgbench -i -s 10` and `pgbench -c N -j 2 -T 30` on the same
//! server first ([`pgbench`]), drops its tables, and prints its tps and o2c's
//! ratio to it:
//!
//! ```text
//! cargo run --release --features postgres --example loadgen -- \
//!     --store postgres --clients 16 --transactions 8000 --pgbench
//! ```
//!
//! # Layout
//!
//! `args` reads the flags; `world` generates the master data and `mix` the
//! operations, both from the seed (`rng`); `pass` runs one measured pass through the
//! `workload::Workload` trait, keeping its state in `driver`, `tally`, `latency` and
//! `progress`, one task per caller on the runtime `exec` makes when there are
//! several; `o2c_system` and `baseline` are the two systems under test (with
//! `sql_baseline` and `pg_baseline` writing the baseline's work to SQLite and
//! PostgreSQL); `pgbench` runs the yardstick; `report` prints the outcome.

// The report's JSON object is deeper than `serde_json::json!`'s default allows.
#![recursion_limit = "256"]

mod args;
mod baseline;
mod compare;
mod driver;
mod exec;
mod latency;
mod mix;
mod o2c_system;
mod pass;
#[cfg(feature = "postgres")]
mod pg_baseline;
#[cfg(feature = "postgres")]
mod pgbench;
mod progress;
mod report;
// Shared with the other examples: not every draw is used here.
#[allow(dead_code)]
#[path = "../shop/rng.rs"]
mod rng;
#[cfg(feature = "sqlite")]
mod sql_baseline;
mod tally;
mod workload;
mod world;

use std::error::Error as StdError;

use args::{Limit, USAGE, parse_args};
use baseline::{BaselineRun, run_baseline};
use o2c_system::{O2cRun, run_o2c};
use pass::repeat;
use report::{Outcome, Yardstick};
use tally::disagreements;
use tokio::runtime::Runtime;
use world::World;

type Res<T> = Result<T, Box<dyn StdError>>;

/// What one run of a store produced: o2c's pass, the baseline's, and pgbench's
/// figure when it ran.
type Runs = (O2cRun, Option<BaselineRun>, Option<Yardstick>);

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
    for (i, &clients) in cfg.client_counts.iter().enumerate() {
        if i > 0 && !cfg.json {
            println!();
        }
        let cfg = args::Config {
            clients,
            ..cfg.clone()
        };
        run_once(&cfg, &world)?;
    }
    Ok(())
}

/// Both passes with `cfg.clients` callers, and their report.
fn run_once(cfg: &args::Config, world: &World) -> Res<()> {
    // One caller on a store that never waits runs on this thread, as it always
    // did; several callers, and PostgreSQL's I/O, need the runtime.
    let runtime = if cfg.clients > 1 || cfg.store == "postgres" {
        Some(exec::runtime()?)
    } else {
        None
    };
    let rt = runtime.as_ref();
    let (o2c, baseline, pgbench) = match cfg.store.as_str() {
        "sqlite" => run_sqlite(cfg, world, rt)?,
        "postgres" => run_postgres(cfg, world, rt)?,
        _ => {
            let o2c = run_o2c(cfg, world, rt)?;
            let baseline = if cfg.baseline {
                Some(run_baseline(cfg, world, &repeat(&o2c.pass), rt)?)
            } else {
                None
            };
            (o2c, baseline, None)
        }
    };
    let disagreements = match &baseline {
        Some(b) => disagreements(&o2c.pass.tally, &b.pass.tally, cfg.clients > 1)?,
        None => Vec::new(),
    };
    let outcome = Outcome {
        cfg,
        o2c: &o2c,
        baseline: baseline.as_ref(),
        disagreements,
        pgbench: pgbench.as_ref(),
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
    let Limit::Transactions(transactions) = cfg.limit else {
        return Err("--baseline-only needs --transactions".into());
    };
    let run = run_baseline(cfg, world, &[Limit::Transactions(transactions)], None)?;
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
fn run_sqlite(cfg: &args::Config, world: &World, rt: Option<&Runtime>) -> Res<Runs> {
    let (o2c, baseline) = sql_baseline::run_sqlite(cfg, world, rt)?;
    Ok((o2c, baseline, None))
}

/// Without the feature there is no SQLite store to drive.
#[cfg(not(feature = "sqlite"))]
fn run_sqlite(_cfg: &args::Config, _world: &World, _rt: Option<&Runtime>) -> Res<Runs> {
    Err("--store sqlite needs the sqlite feature: rebuild with --features sqlite".into())
}

/// pgbench if asked, then both passes on PostgreSQL: o2c's `PostgresStore`, then
/// the tokio-postgres baseline.
#[cfg(feature = "postgres")]
fn run_postgres(cfg: &args::Config, world: &World, rt: Option<&Runtime>) -> Res<Runs> {
    let yardstick = match cfg.pgbench {
        Some(seconds) => Some(pgbench::run(&cfg.postgres_url(), cfg.clients, seconds)?),
        None => None,
    };
    let rt = rt.ok_or("PostgreSQL needs the runtime")?;
    let (o2c, baseline) = pg_baseline::run_postgres(cfg, world, rt)?;
    Ok((o2c, baseline, yardstick))
}

/// Without the feature there is no PostgreSQL store to drive.
#[cfg(not(feature = "postgres"))]
fn run_postgres(_cfg: &args::Config, _world: &World, _rt: Option<&Runtime>) -> Res<Runs> {
    Err("--store postgres needs the postgres feature: rebuild with --features postgres".into())
}
