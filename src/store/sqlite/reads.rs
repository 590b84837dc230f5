//! The read side: each read is one statement, so it sees one committed snapshot.
//!
//! Orders match the memory store exactly. Text columns compare bytewise in SQLite
//! (the `BINARY` collation), which is how Rust orders `str`, so SKU and location order
//! come from `ORDER BY`. Records and balances are sorted after decoding, by
//! [`RecordKey`] and by (account, [`Currency`]) — the currency's enum order, which is
//! not its code's alphabetical order.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::cache::RecordCache;
use super::commit::enum_text;
use super::counters;
use super::error::read_db;
use super::terms;
use crate::store::codec::{
    all_of_kind, clamp_i64, from_json, parse, record_from_json, record_version, scope_text,
    time_from_text, to_u64,
};
use crate::store::{DueCursor, DueKind, DueWork};
use chrono::{DateTime, Utc};

use crate::customer::Customer;
use crate::event::RecordedEvent;
use crate::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use crate::ledger::{AccountBalance, AccountCode, JournalEntry};
use crate::money::{Currency, Money};
use crate::order::{Order, OrderQuery};
use crate::stock::{StockLevel, StockMovement};
use crate::store::{
    Entity, Fetched, IdempotencyEntry, IdempotencyScope, Prefetch, ReadResult, Record, RecordKey,
    Versioned,
};

/// Runs a query and maps each row, passing decode errors through unchanged.
fn rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    mut map: impl FnMut(&Row<'_>) -> ReadResult<T>,
) -> ReadResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(read_db)?;
    let mut rows = stmt.query(params).map_err(read_db)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(read_db)? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// Runs several reads as one read transaction: one snapshot, and one round of
/// SQLite's read locks instead of one per statement.
pub(super) fn in_snapshot<T>(
    conn: &Connection,
    read: impl FnOnce(&Connection) -> ReadResult<T>,
) -> ReadResult<T> {
    let tx = conn.unchecked_transaction().map_err(read_db)?;
    let out = read(&tx)?;
    // Ends the read transaction; dropping it on an error above does the same.
    tx.commit().map_err(read_db)?;
    Ok(out)
}

/// A record from a `version, body, record_key` row of a scan, which has the key
/// only as text: an error names it by that.
fn versioned_record(row: &Row<'_>) -> ReadResult<(u64, Record)> {
    let key: String = row.get(2).map_err(read_db)?;
    let version = to_u64(
        row.get(0).map_err(read_db)?,
        format_args!("version of {key}"),
    )?;
    let body: String = row.get(1).map_err(read_db)?;
    Ok((version, from_json(&body, format_args!("record {key}"))?))
}

pub(super) fn load<E: Entity>(
    conn: &Connection,
    cache: &RecordCache,
    key: &RecordKey,
) -> ReadResult<Option<Versioned<E>>> {
    Ok(
        load_record(conn, cache, key)?.and_then(|(version, record)| {
            E::from_record(Arc::unwrap_or_clone(record)).map(|value| Versioned { value, version })
        }),
    )
}

/// A record of any kind, with its version, shared with the cache.
pub(super) fn load_record(
    conn: &Connection,
    cache: &RecordCache,
    key: &RecordKey,
) -> ReadResult<Option<(u64, Arc<Record>)>> {
    let described = key.describe();
    // The body is decoded only when the cache lacks this version of the record.
    let found = conn
        .prepare_cached("SELECT version, body FROM records WHERE record_key = ?1 AND kind = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![described, key.kind()], |row| {
                let version: i64 = row.get(0)?;
                let cached = u64::try_from(version)
                    .ok()
                    .and_then(|v| cache.get(&described, v));
                let body = match cached {
                    Some(_) => None,
                    None => Some(row.get::<_, String>(1)?),
                };
                Ok((version, cached, body))
            })
            .optional()
        })
        .map_err(read_db)?;
    let Some((version, cached, body)) = found else {
        return Ok(None);
    };
    let version = record_version(version, key)?;
    let record = match (cached, body) {
        (Some(record), _) => record,
        (None, Some(body)) => {
            let record = Arc::new(record_from_json(&body, key)?);
            cache.put(described, version, Arc::clone(&record));
            record
        }
        (None, None) => return Ok(None),
    };
    Ok(Some((version, record)))
}

/// Everything `request` asks for, in one read transaction.
pub(super) fn fetch(
    conn: &Connection,
    cache: &RecordCache,
    request: &Prefetch,
) -> ReadResult<Fetched> {
    in_snapshot(conn, |conn| {
        let mut records = Vec::new();
        for key in &request.records {
            records.extend(load_record(conn, cache, key)?);
        }
        for key in request.followed(&records) {
            records.extend(load_record(conn, cache, &key)?);
        }
        records.extend(terms::found_under(conn, cache, &request.terms)?);
        for kind in &request.kinds {
            records.extend(
                rows(
                    conn,
                    "SELECT version, body, record_key FROM records WHERE kind = ?1",
                    [kind],
                    versioned_record,
                )?
                .into_iter()
                .map(|(version, record)| (version, Arc::new(record))),
            );
        }
        let mut stock = Vec::new();
        for sku in &request.stock_of {
            stock.extend(stock_levels(conn, sku)?);
        }
        let idempotency = match &request.idempotency {
            Some((scope, key)) => idempotency(conn, *scope, key)?,
            None => None,
        };
        let mut found = Vec::with_capacity(request.counters.len());
        for key in &request.counters {
            found.push((key.clone(), counters::value(conn, key)?));
        }
        Ok(Fetched {
            records,
            stock,
            idempotency,
            counters: found,
        })
    })
}

pub(super) fn list<E: Entity>(conn: &Connection) -> ReadResult<Vec<Versioned<E>>> {
    let mut found: Vec<(RecordKey, Versioned<E>)> = Vec::new();
    for (version, record) in rows(
        conn,
        "SELECT version, body, record_key FROM records WHERE kind = ?1",
        [E::kind()],
        versioned_record,
    )? {
        let key = record.key();
        if let Some(value) = E::from_record(record) {
            found.push((key, Versioned { value, version }));
        }
    }
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(found.into_iter().map(|(_, v)| v).collect())
}

pub(super) fn level(row: &Row<'_>) -> ReadResult<StockLevel> {
    let sku: String = row.get(0).map_err(read_db)?;
    let location: String = row.get(1).map_err(read_db)?;
    Ok(StockLevel {
        sku: parse::<Sku>(&sku, "SKU")?,
        location: parse::<LocationId>(&location, "location")?,
        on_hand: row.get(2).map_err(read_db)?,
        reserved: row.get(3).map_err(read_db)?,
    })
}

pub(super) fn stock_levels(conn: &Connection, sku: &Sku) -> ReadResult<Vec<StockLevel>> {
    rows(
        conn,
        "SELECT sku, location, on_hand, reserved FROM stock WHERE sku = ?1 ORDER BY location",
        [sku.as_str()],
        level,
    )
}

pub(super) fn all_stock_levels(conn: &Connection) -> ReadResult<Vec<StockLevel>> {
    rows(
        conn,
        "SELECT sku, location, on_hand, reserved FROM stock ORDER BY sku, location",
        [],
        level,
    )
}

fn json_column<T: serde::de::DeserializeOwned>(
    what: &'static str,
) -> impl FnMut(&Row<'_>) -> ReadResult<T> {
    move |row| {
        let body: String = row.get(0).map_err(read_db)?;
        from_json(&body, what)
    }
}

pub(super) fn stock_movements(
    conn: &Connection,
    sku: &Sku,
    location: &LocationId,
) -> ReadResult<Vec<StockMovement>> {
    rows(
        conn,
        "SELECT body FROM movements WHERE sku = ?1 AND location = ?2 ORDER BY seq",
        params![sku.as_str(), location.as_str()],
        json_column("stock movement"),
    )
}

pub(super) fn journal(
    conn: &Connection,
    offset: usize,
    limit: usize,
) -> ReadResult<Vec<JournalEntry>> {
    // Positions are gapless from 1, so skipping `offset` entries is a key range, not a
    // scan of everything before it.
    rows(
        conn,
        "SELECT body FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        params![clamp_i64(offset), clamp_i64(limit)],
        json_column("journal entry"),
    )
}

pub(super) fn account_balances(conn: &Connection) -> ReadResult<Vec<AccountBalance>> {
    let mut found = rows(
        conn,
        "SELECT account, currency, balance FROM balances",
        [],
        |row| {
            let account: String = row.get(0).map_err(read_db)?;
            let currency: String = row.get(1).map_err(read_db)?;
            let balance: String = row.get(2).map_err(read_db)?;
            let currency: Currency = parse(&currency, format_args!("currency of {account}"))?;
            let balance = parse(&balance, format_args!("balance of {account} in {currency}"))?;
            Ok((
                (AccountCode::new(account), currency),
                Money::new(balance, currency),
            ))
        },
    )?;
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(found
        .into_iter()
        .map(|((account, _), balance)| AccountBalance { account, balance })
        .collect())
}

fn order_id(row: &Row<'_>) -> ReadResult<OrderId> {
    let id: String = row.get(0).map_err(read_db)?;
    parse(&id, "order id")
}

pub(super) fn orders_of_customer(
    conn: &Connection,
    customer: CustomerId,
) -> ReadResult<Vec<OrderId>> {
    rows(
        conn,
        "SELECT order_id FROM customer_orders WHERE customer = ?1 ORDER BY seq",
        [customer.to_string()],
        order_id,
    )
}

pub(super) fn orders_ready_to_ship(conn: &Connection, limit: usize) -> ReadResult<Vec<OrderId>> {
    // Hyphenated lower-case UUID text sorts as the UUID's bytes do, so the id breaks
    // ties exactly as `OrderId`'s `Ord` does.
    rows(
        conn,
        "SELECT order_id FROM ready_to_ship
         ORDER BY placed_secs, placed_nanos, order_id LIMIT ?1",
        [clamp_i64(limit)],
        order_id,
    )
}

/// The page [`Store::orders_page`](crate::store::Store::orders_page) asks for,
/// from the listing index. Only the filters given are in the SQL, so a customer's
/// or a status's orders are read through that column's index; the window and the
/// cursor are row-value bounds, so the scan starts where the page does.
pub(super) fn orders_page(
    conn: &Connection,
    query: &OrderQuery,
    limit: usize,
) -> ReadResult<Vec<Versioned<Order>>> {
    let split = |at: DateTime<Utc>| (at.timestamp(), i64::from(at.timestamp_subsec_nanos()));
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    let mut bind = |condition: &str, value: rusqlite::types::Value| {
        values.push(value);
        conditions.push(condition.replace('?', &format!("?{}", values.len())));
    };
    if let Some(customer) = query.customer {
        bind("l.customer = ?", customer.to_string().into());
    }
    if let Some(status) = query.status {
        bind("l.status = ?", enum_text(&status).map_err(read_db)?.into());
    }
    if let Some(channel) = query.channel {
        bind(
            "l.channel = ?",
            enum_text(&channel).map_err(read_db)?.into(),
        );
    }
    let mut bound = |op: &str, at: DateTime<Utc>, id: Option<String>| {
        let (secs, nanos) = split(at);
        values.push(secs.into());
        values.push(nanos.into());
        let n = values.len();
        match id {
            None => conditions.push(format!(
                "(l.placed_secs, l.placed_nanos) {op} (?{}, ?{n})",
                n - 1
            )),
            Some(id) => {
                values.push(id.into());
                conditions.push(format!(
                    "(l.placed_secs, l.placed_nanos, l.order_id) {op} (?{}, ?{n}, ?{})",
                    n - 1,
                    n + 1
                ));
            }
        }
    };
    if let Some(from) = query.placed_from {
        bound(">=", from, None);
    }
    if let Some(before) = query.placed_before {
        bound("<", before, None);
    }
    if let Some(cursor) = query.after {
        let op = if query.newest_first { "<" } else { ">" };
        bound(op, cursor.placed_at, Some(cursor.order.to_string()));
    }
    let order = if query.newest_first { "DESC" } else { "ASC" };
    values.push(clamp_i64(limit).into());
    let sql = format!(
        "SELECT r.version, r.body, r.record_key FROM order_list AS l
         JOIN records AS r ON r.record_key = 'order/' || l.order_id
         {where_} {conditions}
         ORDER BY l.placed_secs {order}, l.placed_nanos {order}, l.order_id {order}
         LIMIT ?{limit}",
        where_ = if conditions.is_empty() { "" } else { "WHERE" },
        conditions = conditions.join(" AND "),
        limit = values.len(),
    );
    rows(
        conn,
        &sql,
        rusqlite::params_from_iter(values),
        versioned_record,
    )
    .and_then(all_of_kind)
}

/// Up to `limit` records due for `kind` by `until`, after `after`, in due order,
/// from the due-work index.
pub(super) fn due(
    conn: &Connection,
    kind: DueKind,
    until: i64,
    after: Option<&DueCursor>,
    limit: usize,
) -> ReadResult<Vec<DueWork>> {
    let (at, key) = after.map_or((i64::MIN, ""), |c| (c.at, c.key.as_str()));
    rows(
        conn,
        "SELECT r.version, r.body, r.record_key, d.due_secs FROM due_work AS d
         JOIN records AS r ON r.record_key = d.record_key
         WHERE d.kind = ?1 AND d.due_secs <= ?2 AND (d.due_secs, d.record_key) > (?3, ?4)
         ORDER BY d.due_secs, d.record_key LIMIT ?5",
        params![kind.describe(), until, at, key, clamp_i64(limit)],
        |row| {
            let (version, record) = versioned_record(row)?;
            Ok(DueWork {
                kind,
                at: row.get(3).map_err(read_db)?,
                record: Versioned {
                    value: record,
                    version,
                },
            })
        },
    )
}

/// Customers by id after `after`, from the records' key order: a customer's key
/// is `customer/` and its id, hyphenated UUID text sorts as the id does, and
/// every such key sorts below `customer0` (`0` follows `/`), so the page is a
/// range of the primary key.
pub(super) fn customers_page(
    conn: &Connection,
    after: Option<CustomerId>,
    limit: usize,
) -> ReadResult<Vec<Versioned<Customer>>> {
    let from = after.map_or_else(
        || "customer/".to_owned(),
        |id| RecordKey::Customer(id).describe(),
    );
    rows(
        conn,
        "SELECT version, body, record_key FROM records
         WHERE record_key > ?1 AND record_key < 'customer0' AND kind = 'customer'
         ORDER BY record_key LIMIT ?2",
        params![from, clamp_i64(limit)],
        versioned_record,
    )
    .and_then(all_of_kind)
}

pub(super) fn idempotency(
    conn: &Connection,
    scope: IdempotencyScope,
    key: &IdempotencyKey,
) -> ReadResult<Option<IdempotencyEntry>> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM idempotency WHERE scope = ?1 AND idempotency_key = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![scope_text(scope), key.as_str()], |row| row.get(0))
                .optional()
        })
        .map_err(read_db)?;
    body.map(|body| from_json(&body, "idempotency entry"))
        .transpose()
}

pub(super) fn events_after(
    conn: &Connection,
    cursor: u64,
    limit: usize,
) -> ReadResult<Vec<RecordedEvent>> {
    rows(
        conn,
        "SELECT sequence, recorded_at, body FROM events WHERE sequence > ?1
         ORDER BY sequence LIMIT ?2",
        params![clamp_i64(cursor), clamp_i64(limit)],
        event,
    )
}

/// An event from a `sequence, recorded_at, body` row.
pub(super) fn event(row: &Row<'_>) -> ReadResult<RecordedEvent> {
    let sequence = to_u64(row.get(0).map_err(read_db)?, "event sequence")?;
    let body: String = row.get(2).map_err(read_db)?;
    Ok(RecordedEvent {
        sequence,
        recorded_at: time_from_text(
            row.get(1).map_err(read_db)?,
            format_args!("event {sequence}"),
        )?,
        event: from_json(&body, format_args!("event {sequence}"))?,
    })
}

pub(super) fn last_event_sequence(conn: &Connection) -> ReadResult<u64> {
    let last: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(sequence), 0) FROM events")
        .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
        .map_err(read_db)?;
    to_u64(last, "event sequence")
}
