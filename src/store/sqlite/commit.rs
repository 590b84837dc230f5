//! One changeset's checks and writes, all or nothing: in a `BEGIN IMMEDIATE`
//! transaction of its own, or in a savepoint of one a batch shares (see
//! [`group`](super::group)).
//!
//! Everything is checked in the order the memory store checks it (idempotency key,
//! puts, checks, stock guards, other bounded counters' guards, balances, journal
//! entries), so both stores report the
//! same error for the same changeset. Any error returns before `COMMIT`, and dropping
//! the transaction (or rolling back to the savepoint) undoes whatever was already
//! written.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::cache::RecordCache;
use super::error::{db, is_busy, is_unique_violation};
use super::{counters, ledger, reads, stock, terms};
use crate::event::Event;
use crate::order::Order;
use crate::store::codec::{record_version, scope_text, time_to_text, to_json, to_u64};
use crate::store::{
    Changeset, Check, Committed, IdempotencyEntry, Put, Record, RecordKey, Series, StoreError,
    StoreResult,
};

/// Applies `changes` in one transaction of their own, but only if the write lock
/// is free right now: `None` (nothing done) when another connection holds it, and
/// the commit belongs with the others waiting for it (see [`group`](super::group)).
/// `busy_timeout` is the connection's usual timeout, restored once the lock is held.
pub(super) fn commit_if_unlocked(
    conn: &mut Connection,
    cache: &RecordCache,
    changes: &mut Changeset,
    busy_timeout: Duration,
) -> Option<StoreResult<Committed>> {
    if let Err(e) = conn.busy_timeout(Duration::ZERO) {
        return Some(Err(db(e)));
    }
    // IMMEDIATE takes the write lock before the first read, so every check in
    // `apply` sees the state the writes build on.
    let refused = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => {
            return Some(restored(&tx, busy_timeout).and_then(|()| {
                let committed = apply(&tx, cache, changes)?;
                tx.commit().map_err(db)?;
                Ok(committed)
            }));
        }
        Err(e) => e,
    };
    match restored(conn, busy_timeout) {
        // Another connection is writing: leave this to a batch, which waits.
        Ok(()) if is_busy(&refused) => None,
        Ok(()) => Some(Err(db(refused))),
        Err(e) => Some(Err(e)),
    }
}

fn restored(conn: &Connection, busy_timeout: Duration) -> StoreResult<()> {
    conn.busy_timeout(busy_timeout).map_err(db)
}

/// Checks and writes `changes` inside `tx`, numbering its documents. Any error
/// returns before the caller's `COMMIT` (or `RELEASE`).
pub(super) fn apply(
    tx: &Transaction<'_>,
    cache: &RecordCache,
    changes: &mut Changeset,
) -> StoreResult<Committed> {
    // Read under the write lock, so each is the version its update replaces; the
    // cache spares decoding a record the command has just read.
    changes.apply_merges(|key| {
        Ok(reads::load_record(tx, cache, key)?
            .map(|(version, record)| (version, Arc::unwrap_or_clone(record))))
    })?;
    if let Some(entry) = &changes.idempotency {
        refuse_used_key(tx, entry)?;
    }
    check_puts(tx, &changes.puts)?;
    for check in &changes.checks {
        check_holds(tx, check)?;
    }
    stock::apply_guarded(tx, changes)?;
    counters::apply_guarded(tx, changes)?;
    let balances = changes
        .balances_after(|account, currency| ledger::stored_balance(tx, account, currency))?;
    ledger::validate(&changes.journal)?;
    // Last before the writes, so the series rows are held no longer than they must
    // be (on a shared SQL store, the same order keeps their row locks short).
    let numbers = changes.assign_numbers(|series| next_number(tx, series))?;

    write_puts(tx, &changes.puts)?;
    stock::append_movements(tx, &changes.movements)?;
    ledger::append(tx, &changes.journal, &balances)?;
    let last = append_events(tx, changes.at, &changes.events)?;
    if let Some(entry) = &changes.idempotency {
        record_key(tx, entry)?;
    }
    Ok(Committed::new(last, numbers))
}

/// The next number of `series`, taken under the write lock: a rolled-back commit
/// gives it back, so every series stays gapless.
fn next_number(tx: &Transaction<'_>, series: Series) -> StoreResult<u64> {
    let n: i64 = tx
        .prepare_cached(
            "INSERT INTO series (name, last) VALUES (?1, 1)
             ON CONFLICT (name) DO UPDATE SET last = last + 1 RETURNING last",
        )
        .and_then(|mut stmt| stmt.query_row([series.name()], |row| row.get(0)))
        .map_err(db)?;
    Ok(to_u64(
        n,
        format_args!("last number of series {}", series.name()),
    )?)
}

/// The stored version of a record, if it exists.
pub(super) fn version_of(conn: &Connection, key: &RecordKey) -> StoreResult<Option<u64>> {
    let version: Option<i64> = conn
        .prepare_cached("SELECT version FROM records WHERE record_key = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([key.describe()], |row| row.get(0))
                .optional()
        })
        .map_err(db)?;
    Ok(version.map(|v| record_version(v, key)).transpose()?)
}

fn refuse_used_key(tx: &Transaction<'_>, entry: &IdempotencyEntry) -> StoreResult<()> {
    let used = tx
        .prepare_cached("SELECT 1 FROM idempotency WHERE scope = ?1 AND idempotency_key = ?2")
        .and_then(|mut stmt| stmt.exists(params![scope_text(entry.scope), entry.key.as_str()]))
        .map_err(db)?;
    if used {
        return Err(StoreError::DuplicateKey {
            key: entry.key.clone(),
        });
    }
    Ok(())
}

fn check_puts(tx: &Transaction<'_>, puts: &[Put]) -> StoreResult<()> {
    // A command puts a handful of records: a list beats a hash set here.
    let mut seen: Vec<RecordKey> = Vec::with_capacity(puts.len());
    for put in puts {
        let key = put.record.key();
        if seen.contains(&key) {
            return Err(StoreError::Invalid {
                reason: format!("{} is put twice", key.describe()),
            });
        }
        let actual = version_of(tx, &key)?;
        if actual != put.expected {
            return Err(mismatch(&key, put.expected, actual));
        }
        seen.push(key);
    }
    Ok(())
}

/// The error for a put whose expected version is not the stored one.
fn mismatch(key: &RecordKey, expected: Option<u64>, actual: Option<u64>) -> StoreError {
    match (expected, actual) {
        (Some(_), None) => StoreError::NotFound { key: key.clone() },
        _ => StoreError::Conflict {
            key: key.clone(),
            expected,
            actual,
        },
    }
}

fn check_holds(tx: &Transaction<'_>, check: &Check) -> StoreResult<()> {
    match check {
        Check::Version { key, version } => {
            let actual = version_of(tx, key)?;
            if actual == Some(*version) {
                return Ok(());
            }
            Err(StoreError::Conflict {
                key: key.clone(),
                expected: Some(*version),
                actual,
            })
        }
        Check::SkuOnHand { sku, on_hand } => {
            // Summed here rather than with SQL's SUM, which fails on overflow where
            // the memory store saturates.
            let actual = tx
                .prepare_cached("SELECT on_hand FROM stock WHERE sku = ?1")
                .and_then(|mut stmt| {
                    stmt.query_map([sku.as_str()], |row| row.get::<_, i64>(0))?
                        .try_fold(0_i64, |sum, on_hand| on_hand.map(|v| sum.saturating_add(v)))
                })
                .map_err(db)?;
            if actual == *on_hand {
                return Ok(());
            }
            Err(StoreError::StockChanged {
                sku: sku.clone(),
                expected: *on_hand,
                actual,
            })
        }
    }
}

/// Writes each put as a compare-and-set on the stored version. Under the write lock
/// the compare cannot fail after [`check_puts`]; it is there so the SQL alone keeps
/// the versioning rule.
fn write_puts(tx: &Transaction<'_>, puts: &[Put]) -> StoreResult<()> {
    for put in puts {
        let key = put.record.key();
        let body = to_json(&put.record)?;
        let written = match put.expected {
            None => tx
                .prepare_cached(
                    "INSERT INTO records (record_key, kind, version, body) VALUES (?1, ?2, 1, ?3)",
                )
                .and_then(|mut stmt| stmt.execute(params![key.describe(), key.kind(), body])),
            Some(expected) => {
                // The stored version was an i64 a moment ago, so only `+ 1` can overflow.
                let (expected, next) = i64::try_from(expected)
                    .ok()
                    .and_then(|v| v.checked_add(1).map(|next| (v, next)))
                    .ok_or_else(|| StoreError::Invalid {
                        reason: format!("the version of {} overflows", key.describe()),
                    })?;
                tx.prepare_cached(
                    "UPDATE records SET version = ?1, body = ?2 WHERE record_key = ?3 AND version = ?4",
                )
                .and_then(|mut stmt| stmt.execute(params![next, body, key.describe(), expected]))
            }
        };
        match written {
            Ok(1) => {}
            Ok(_) => return Err(mismatch(&key, put.expected, version_of(tx, &key)?)),
            Err(e) if is_unique_violation(&e) => {
                return Err(mismatch(&key, put.expected, version_of(tx, &key)?));
            }
            Err(e) => return Err(db(e)),
        }
        if let Record::Order(order) = &put.record {
            index_order(tx, order, put.expected.is_none())?;
        }
        terms::rewrite(tx, &key, &put.record)?;
        rewrite_due_work(tx, &key, &put.record, put.expected.is_none())?;
    }
    Ok(())
}

/// Rewrites what `record` falls due for ([`Record::due_work`]), as
/// [`terms::rewrite`] does its index terms; a record just `inserted` has no
/// rows to delete (placing an order saves the statement).
fn rewrite_due_work(
    tx: &Transaction<'_>,
    key: &RecordKey,
    record: &Record,
    inserted: bool,
) -> StoreResult<()> {
    if !key.may_fall_due() {
        return Ok(());
    }
    let described = key.describe();
    if !inserted {
        tx.prepare_cached("DELETE FROM due_work WHERE record_key = ?1")
            .and_then(|mut stmt| stmt.execute([&described]))
            .map_err(db)?;
    }
    for (kind, at) in record.due_work() {
        tx.prepare_cached("INSERT INTO due_work (kind, due_secs, record_key) VALUES (?1, ?2, ?3)")
            .and_then(|mut stmt| stmt.execute(params![kind.describe(), at, described]))
            .map_err(db)?;
    }
    Ok(())
}

/// Keeps the order indexes as the memory store does: a customer's orders gain an
/// order when it is inserted, and every put re-decides readiness to ship.
fn index_order(tx: &Transaction<'_>, order: &Order, inserted: bool) -> StoreResult<()> {
    let id = order.id.to_string();
    if inserted {
        tx.prepare_cached("INSERT INTO customer_orders (customer, order_id) VALUES (?1, ?2)")
            .and_then(|mut stmt| stmt.execute(params![order.customer.to_string(), id]))
            .map_err(db)?;
    }
    // Seconds then nanoseconds sort exactly as `DateTime` does, over chrono's whole
    // range (nanoseconds past 10⁹ mark a leap second, which sorts last in its second).
    let secs = order.placed_at.timestamp();
    let nanos = i64::from(order.placed_at.timestamp_subsec_nanos());
    let sql = if order.is_ready_to_ship() {
        "INSERT INTO ready_to_ship (placed_secs, placed_nanos, order_id) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM ready_to_ship WHERE placed_secs = ?1 AND placed_nanos = ?2 AND order_id = ?3"
    };
    tx.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute(params![secs, nanos, id]))
        .map_err(db)?;
    tx.prepare_cached(
        "INSERT INTO order_list (placed_secs, placed_nanos, order_id, customer, channel, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT DO UPDATE SET status = excluded.status",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            secs,
            nanos,
            id,
            order.customer.to_string(),
            enum_text(&order.channel)?,
            enum_text(&order.status)?,
        ])
    })
    .map_err(db)?;
    Ok(())
}

/// A unit enum value as its JSON writes it ([`codec::enum_text`]), as a bound value.
pub(super) fn enum_text<T: serde::Serialize>(value: &T) -> rusqlite::Result<String> {
    crate::store::codec::enum_text(value).map_err(rusqlite::Error::ToSqlConversionFailure)
}

/// Appends the events after the last one, numbering on from it. The numbers come
/// from the table under the write lock, so they stay gapless across processes, and a
/// rolled-back commit takes its numbers with it.
fn append_events(tx: &Transaction<'_>, at: DateTime<Utc>, events: &[Event]) -> StoreResult<u64> {
    let mut last: i64 = tx
        .prepare_cached("SELECT COALESCE(MAX(sequence), 0) FROM events")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
        .map_err(db)?;
    if !events.is_empty() {
        let at = time_to_text(at)?;
        let mut stmt = tx
            .prepare_cached("INSERT INTO events (sequence, recorded_at, body) VALUES (?1, ?2, ?3)")
            .map_err(db)?;
        for event in events {
            last = last.checked_add(1).ok_or_else(|| StoreError::Invalid {
                reason: "event sequence overflows".to_owned(),
            })?;
            stmt.execute(params![last, at, to_json(event)?])
                .map_err(db)?;
        }
    }
    Ok(to_u64(last, "event sequence")?)
}

fn record_key(tx: &Transaction<'_>, entry: &IdempotencyEntry) -> StoreResult<()> {
    let body = to_json(entry)?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO idempotency (scope, idempotency_key, body) VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![scope_text(entry.scope), entry.key.as_str(), body])
        });
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(StoreError::DuplicateKey {
            key: entry.key.clone(),
        }),
        Err(e) => Err(db(e)),
    }
}
