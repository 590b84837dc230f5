//! The statements one commit runs, as o2c's `SqliteStore` runs them (`commit.rs`,
//! `stock.rs`, `ledger.rs`), through the connection's prepared-statement cache.

use rusqlite::{Transaction, params};
use serde::Serialize;

use crate::Res;

/// JSON text of a value.
pub(super) fn to_json<T: Serialize>(value: &T) -> Res<String> {
    Ok(serde_json::to_string(value)?)
}

/// Inserts a new record at version 1.
pub(super) fn insert_record(tx: &Transaction<'_>, key: &str, kind: &str, body: &str) -> Res<()> {
    tx.prepare_cached(
        "INSERT INTO records (record_key, kind, version, body) VALUES (?1, ?2, 1, ?3)",
    )?
    .execute(params![key, kind, body])?;
    Ok(())
}

/// Compare-and-set of a record at `version`; returns the new version.
pub(super) fn update_record(tx: &Transaction<'_>, key: &str, version: i64, body: &str) -> Res<i64> {
    let next = version + 1;
    let changed = tx
        .prepare_cached(
            "UPDATE records SET version = ?1, body = ?2 WHERE record_key = ?3 AND version = ?4",
        )?
        .execute(params![next, body, key, version])?;
    if changed != 1 {
        return Err(format!("{key}: not at version {version}").into());
    }
    Ok(next)
}

/// One guarded stock delta: the row changes only if `0 ≤ reserved ≤ on_hand` after.
pub(super) fn stock_delta(
    tx: &Transaction<'_>,
    sku: &str,
    location: &str,
    on_hand: i64,
    reserved: i64,
) -> Res<()> {
    let changed = tx
        .prepare_cached(
            "UPDATE stock SET on_hand = on_hand + ?1, reserved = reserved + ?2
              WHERE sku = ?3 AND location = ?4
                AND reserved + ?2 >= 0 AND reserved + ?2 <= on_hand + ?1",
        )?
        .execute(params![on_hand, reserved, sku, location])?;
    if changed != 1 {
        return Err(format!("insufficient stock of {sku} at {location}").into());
    }
    Ok(())
}

pub(super) fn movement(
    tx: &Transaction<'_>,
    sku: &str,
    location: &str,
    quantity: i64,
    body: &str,
) -> Res<()> {
    tx.prepare_cached(
        "INSERT INTO movements (sku, location, quantity, body) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![sku, location, quantity, body])?;
    Ok(())
}

pub(super) fn journal(tx: &Transaction<'_>, seq: i64, body: &str) -> Res<()> {
    tx.prepare_cached("INSERT INTO journal (seq, body) VALUES (?1, ?2)")?
        .execute(params![seq, body])?;
    Ok(())
}

pub(super) fn balance(tx: &Transaction<'_>, account: &str, balance: &str) -> Res<()> {
    tx.prepare_cached(
        "INSERT INTO balances (account, currency, balance) VALUES (?1, 'USD', ?2)
         ON CONFLICT (account, currency) DO UPDATE SET balance = excluded.balance",
    )?
    .execute(params![account, balance])?;
    Ok(())
}

pub(super) fn event(tx: &Transaction<'_>, sequence: i64, at: &str, body: &str) -> Res<()> {
    tx.prepare_cached("INSERT INTO events (sequence, recorded_at, body) VALUES (?1, ?2, ?3)")?
        .execute(params![sequence, at, body])?;
    Ok(())
}

pub(super) fn idempotency(tx: &Transaction<'_>, scope: &str, key: &str, body: &str) -> Res<()> {
    tx.prepare_cached(
        "INSERT INTO idempotency (scope, idempotency_key, body) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![scope, key, body])?;
    Ok(())
}

/// The order indexes, as o2c keeps them on every put of an order.
pub(super) fn index_order(
    tx: &Transaction<'_>,
    customer: Option<&str>,
    order: &str,
    placed: (i64, i64),
    ready: bool,
) -> Res<()> {
    if let Some(customer) = customer {
        tx.prepare_cached("INSERT INTO customer_orders (customer, order_id) VALUES (?1, ?2)")?
            .execute(params![customer, order])?;
    }
    let sql = if ready {
        "INSERT INTO ready_to_ship (placed_secs, placed_nanos, order_id) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM ready_to_ship WHERE placed_secs = ?1 AND placed_nanos = ?2 AND order_id = ?3"
    };
    tx.prepare_cached(sql)?
        .execute(params![placed.0, placed.1, order])?;
    Ok(())
}
