//! The SQLite run (feature `sqlite`): o2c on its `SqliteStore`, then a baseline that
//! does the same SQL writes with plain rusqlite and no o2c.
//!
//! # What the baseline mirrors
//!
//! The decisions (pricing, allocation, invoice totals, payments, shipments) are the
//! memory baseline's ([`Plain`]), kept in memory as a single writer's cache; every
//! transaction then persists exactly what o2c's `SqliteStore` writes for the same
//! command, into a file with o2c's schema ([`schema`]), in one `BEGIN IMMEDIATE`
//! transaction, with the same `journal_mode = WAL` and `synchronous` and cached
//! prepared statements ([`writes`]). Records are JSON text of the same shape as
//! o2c's ([`json`]) with a version column, written as `INSERT` or `UPDATE ... WHERE
//! version = ?`; stock as one guarded `UPDATE` per SKU × location; movements,
//! journal entries, events and idempotency keys appended; balances upserted as
//! decimal text; the order indexes (`customer_orders`, `ready_to_ship`) kept as
//! o2c keeps them. The read-only transactions (order status, stock level) read
//! SQLite, as o2c does. What it does not do is o2c's reads before and inside a
//! commit (records, stock levels, versions, balances, the last event and journal
//! positions): it knows them from memory.
//!
//! With several callers (`--clients N`) the baseline is shared behind one lock
//! ([`Locked`]): SQLite admits one writer at a time, and the baseline's in-memory
//! decisions must be taken in the order its commits land, so its callers take
//! turns on its one connection, reads included.

mod commands;
mod json;
mod logs;
mod schema;
mod setup;
mod system;
mod writes;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use o2c::store::sqlite::{Durability as StoreDurability, SqliteOptions, SqliteStore};
use tokio::runtime::Runtime;

use crate::Res;
use crate::args::{Config, Durability};
use crate::baseline::BaselineRun;
use crate::o2c_system::{O2cRun, run_o2c_on};
use crate::pass::{repeat, run_pass};
use crate::workload::Locked;
use crate::world::World;
use system::SqlPlain;

/// A fresh file name in the temp dir.
fn temp_path() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!(
        "o2c-loadgen-{}-{nanos}.sqlite3",
        std::process::id()
    ))
}

/// The baseline's file beside o2c's.
fn baseline_path(o2c: &Path) -> PathBuf {
    let mut name = o2c.as_os_str().to_owned();
    name.push(".baseline");
    PathBuf::from(name)
}

/// Refuses to reuse a file: each run starts from empty files.
fn ensure_fresh(path: &Path) -> Res<()> {
    if path.exists() {
        return Err(format!(
            "{} already exists; remove it or give another --db",
            path.display()
        )
        .into());
    }
    Ok(())
}

/// Deletes a database file and its WAL and shared-memory files, if present.
fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        // A file that is already gone is fine.
        let _removed = std::fs::remove_file(PathBuf::from(name));
    }
}

/// Runs o2c on SQLite, then the SQL baseline with o2c's transaction count; deletes
/// both files at the end unless `--keep`.
pub(crate) fn run_sqlite(
    cfg: &Config,
    world: &World,
    runtime: Option<&Runtime>,
) -> Res<(O2cRun, Option<BaselineRun>)> {
    let path = cfg.db.clone().unwrap_or_else(temp_path);
    let base = baseline_path(&path);
    ensure_fresh(&path)?;
    if cfg.baseline {
        ensure_fresh(&base)?;
    }
    let result = run_both(cfg, world, &path, &base, runtime);
    if cfg.keep {
        eprintln!("kept {} and {}", path.display(), base.display());
    } else {
        remove_db(&path);
        remove_db(&base);
    }
    result
}

fn run_both(
    cfg: &Config,
    world: &World,
    path: &Path,
    base: &Path,
    runtime: Option<&Runtime>,
) -> Res<(O2cRun, Option<BaselineRun>)> {
    let durability = match cfg.durability {
        Durability::Full => StoreDurability::Full,
        Durability::Normal => StoreDurability::Normal,
    };
    let store = SqliteStore::open(path, SqliteOptions::default().with_durability(durability))?;
    let o2c = run_o2c_on(store, cfg, world, runtime, None, None)?;
    if !cfg.baseline {
        return Ok((o2c, None));
    }
    let started = Instant::now();
    let system = Arc::new(Locked::new(SqlPlain::setup(base, cfg.durability, world)?));
    let setup_seconds = started.elapsed().as_secs_f64();
    let pass = run_pass(&system, cfg, &repeat(&o2c.pass), "sql baseline", runtime)?;
    Ok((
        o2c,
        Some(BaselineRun {
            setup_seconds,
            pass,
        }),
    ))
}
