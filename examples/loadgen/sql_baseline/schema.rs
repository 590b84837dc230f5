//! The baseline's file: o2c's schema (version 1, `src/store/sqlite/schema.rs`) and
//! the same pragmas on the one connection it writes with.

use std::path::Path;

use rusqlite::Connection;

use crate::Res;
use crate::args::Durability;

/// The tables and indexes o2c's schema version 1 creates, column for column.
const TABLES: &str = "
CREATE TABLE records (
    record_key TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    body       TEXT NOT NULL
) STRICT;
CREATE INDEX records_by_kind ON records (kind);
CREATE TABLE stock (
    sku      TEXT NOT NULL,
    location TEXT NOT NULL,
    on_hand  INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    PRIMARY KEY (sku, location),
    CHECK (0 <= reserved AND reserved <= on_hand)
) STRICT, WITHOUT ROWID;
CREATE TABLE movements (
    seq      INTEGER PRIMARY KEY,
    sku      TEXT NOT NULL,
    location TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    body     TEXT NOT NULL
) STRICT;
CREATE INDEX movements_by_stock ON movements (sku, location, seq);
CREATE TABLE journal (
    seq  INTEGER PRIMARY KEY CHECK (seq >= 1),
    body TEXT NOT NULL
) STRICT;
CREATE TABLE balances (
    account  TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance  TEXT NOT NULL,
    PRIMARY KEY (account, currency)
) STRICT, WITHOUT ROWID;
CREATE TABLE events (
    sequence    INTEGER PRIMARY KEY CHECK (sequence >= 1),
    recorded_at TEXT NOT NULL,
    body        TEXT NOT NULL
) STRICT;
CREATE TABLE idempotency (
    scope           TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body            TEXT NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
) STRICT, WITHOUT ROWID;
CREATE TABLE customer_orders (
    seq      INTEGER PRIMARY KEY,
    customer TEXT NOT NULL,
    order_id TEXT NOT NULL
) STRICT;
CREATE INDEX customer_orders_by_customer ON customer_orders (customer, seq);
CREATE TABLE ready_to_ship (
    placed_secs  INTEGER NOT NULL,
    placed_nanos INTEGER NOT NULL,
    order_id     TEXT NOT NULL,
    PRIMARY KEY (placed_secs, placed_nanos, order_id)
) STRICT, WITHOUT ROWID;
";

/// Prepared statements kept on the connection (o2c keeps 64).
const STATEMENT_CACHE: usize = 64;

/// Creates the file at `path` with o2c's tables, in WAL mode at `durability`.
pub(super) fn create(path: &Path, durability: Durability) -> Res<Connection> {
    let conn = Connection::open(path)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(format!("journal mode is {mode}, not WAL").into());
    }
    conn.pragma_update(None, "synchronous", durability.name().to_uppercase())?;
    conn.execute_batch(TABLES)?;
    Ok(conn)
}
