//! The PostgreSQL run (feature `postgres`): o2c on its `PostgresStore` in a fresh
//! tenant, then a baseline that does the same writes by hand with tokio-postgres,
//! in a fresh schema of its own, on the same server.
//!
//! # What the baseline writes
//!
//! The decisions (pricing, allocation, invoice totals, payments, shipments) are
//! the memory baseline's ([`Plain`](crate::baseline::Plain)), taken under one
//! lock shared by the callers; each caller then writes its command, outside the
//! lock, as **one transaction in one round trip** on its own connection: every
//! statement prepared once per connection, `BEGIN`, the statements and `COMMIT`
//! sent together (tokio-postgres pipelines futures polled together), guards that
//! abort the transaction on the server when they match no row. Per command:
//!
//! - **place order**: the idempotency key row (`INSERT`, first); one guarded
//!   stock update per SKU × location (`UPDATE stock SET reserved = reserved + Δ
//!   WHERE … AND reserved + Δ <= on_hand`), in key order; the customer row
//!   (orders placed, lifetime value, balance); the order row, its gapless number
//!   from the `order` series row; its lines (one `INSERT … SELECT FROM unnest`);
//!   the invoice row, its gapless number from the `invoice` series row; the
//!   customer's order index and the ready-to-ship index; the balances the
//!   journal lines move (one additive upsert, in account order); the journal
//!   lines, their entry numbers from the `journal` position row; the events,
//!   their gapless sequence from the `events` position row, taken last (the
//!   invoice event carries the number the invoice got).
//! - **payment**: the key row; the customer's balance; the order's paid amount;
//!   the invoice's, guarded never to pass its total; the payment row; balances,
//!   journal lines and events as above.
//! - **ship** (one transaction per order of a batch): the key row; one guarded
//!   update per SKU × location taking units off hand and reservation; the
//!   order's shipment count and its lines' shipped units and reservations; the
//!   ready index; the shipment rows and their stock movements; balances,
//!   journal lines and events.
//! - **order status** and **stock level** read the database, one statement
//!   (one round trip) each.
//!
//! Every row update is additive or guarded, so concurrent callers' transactions
//! may land in any order; an order is shipped only once its placement has
//! committed. Row locks are taken in one order (stock, customers, orders, their
//! lines, invoices, the series rows, balances, the journal position, the event
//! position), so the callers do not deadlock. What it leaves out is what o2c
//! does to be a library rather than one program: no reads before or inside a
//! command (it knows every record from memory), versioned JSON records, the
//! order listing and index terms, change notifications.

mod ids;
mod schema;
mod statements;
mod system;
mod writes;

use std::sync::Arc;
use std::time::Instant;

use o2c::store::postgres::{PostgresOptions, PostgresStore};
use tokio::runtime::Runtime;

use crate::Res;
use crate::args::Config;
use crate::baseline::{BaselineRun, Plain};
use crate::o2c_system::{AfterSetup, O2cRun, RoundTripCounter, run_o2c_on};
use crate::pass::{repeat, run_pass};
use crate::world::World;
use system::PgPlain;

/// Runs o2c on PostgreSQL in tenant `loadgen_o2c_<pid>`, then the baseline with
/// o2c's transaction counts in schema `loadgen_sql_<pid>`; drops both at the end
/// unless `--keep`.
pub(crate) fn run_postgres(
    cfg: &Config,
    world: &World,
    rt: &Runtime,
) -> Res<(O2cRun, Option<BaselineRun>)> {
    let url = cfg.postgres_url();
    let pid = std::process::id();
    let (tenant, schema) = (format!("loadgen_o2c_{pid}"), format!("loadgen_sql_{pid}"));
    let options = PostgresOptions::default()
        .with_tenant(tenant.as_str())
        .with_max_connections(cfg.clients);
    let first = rt.block_on(PostgresStore::connect(&url, options))?;
    // A tenant of the same name left by an earlier run starts over.
    rt.block_on(first.drop_tenant(&tenant))?;
    let store = rt.block_on(first.create_tenant(&tenant))?;
    drop(first);
    let handle = store.clone();
    let counter = store.clone();
    let round_trips: RoundTripCounter = Arc::new(move || counter.round_trips());
    let analyzed = store.clone();
    // As the baseline's setup does (and `pgbench -i`): plans made on the tables
    // while setup was filling them would otherwise scan them whole (see
    // `PostgresStore::analyze`).
    let analyze: AfterSetup<'_> = Box::new(move || Ok(rt.block_on(analyzed.analyze())?));
    let o2c = run_o2c_on(
        store,
        cfg,
        world,
        Some(rt),
        Some(round_trips),
        Some(analyze),
    );
    // Not counted in the round trips: each statement's first use on a
    // connection; it stays flat once every caller's connection has met them all.
    eprintln!(
        "prepared     {} round trips prepared statements new to their connection",
        handle.preparations()
    );
    if cfg.keep {
        eprintln!("kept tenant {tenant}");
    } else {
        rt.block_on(handle.drop_tenant(&tenant))?;
    }
    drop(handle);
    let o2c = o2c?;
    if !cfg.baseline {
        return Ok((o2c, None));
    }
    let baseline = run_baseline(cfg, world, rt, &url, &schema, &o2c);
    if cfg.keep {
        eprintln!("kept schema {schema}");
    } else {
        rt.block_on(async {
            let admin = statements::PgCaller::connect_plain(&url).await?;
            schema::drop(&admin, &schema).await
        })?;
    }
    Ok((o2c, Some(baseline?)))
}

fn run_baseline(
    cfg: &Config,
    world: &World,
    rt: &Runtime,
    url: &str,
    schema: &str,
    o2c: &O2cRun,
) -> Res<BaselineRun> {
    let started = Instant::now();
    rt.block_on(async {
        let admin = statements::PgCaller::connect_plain(url).await?;
        schema::create(&admin, schema, world).await
    })?;
    let system = Arc::new(PgPlain::new(
        url.to_owned(),
        schema.to_owned(),
        Plain::setup(world),
    ));
    let setup_seconds = started.elapsed().as_secs_f64();
    let pass = run_pass(&system, cfg, &repeat(&o2c.pass), "pg baseline", Some(rt))?;
    Ok(BaselineRun {
        setup_seconds,
        pass,
    })
}
