//! The read side. A read of one statement sees one committed snapshot: a fetch
//! is one statement whatever it reads (see `Parts`); a read of several
//! statements sends them together inside one `REPEATABLE READ` transaction, so
//! they all see the same one — one round trip either way.
//!
//! Orders match the memory store: text columns are `COLLATE "C"`, bytewise as
//! Rust orders `str`, and records and balances are sorted after decoding, by
//! [`RecordKey`] and by (account, [`Currency`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio_postgres::Row;

use super::pool::Conn;

use super::batch::{Batch, Param, int, text, texts};
use super::commit::Target;
use super::error::read_db;
use crate::event::RecordedEvent;
use crate::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use crate::ledger::{AccountBalance, AccountCode, JournalEntry};
use crate::money::{Currency, Money};
use crate::order::OrderQuery;
use crate::stock::{StockLevel, StockMovement};
use crate::store::changeset::KINDS;
use crate::store::codec::{
    clamp_i64, enum_text, from_json, parse, scope_text, time_from_text, to_u64,
};
use crate::store::{
    Bounds, CounterKey, CounterKind, Fetched, IdempotencyEntry, IdempotencyScope, Prefetch,
    ReadError, ReadResult, Record, RecordKey,
};
use crate::store::{DueCursor, DueKind};

/// Runs one statement.
async fn query(
    client: &Conn,
    target: &Target<'_>,
    template: &str,
    params: Vec<Param>,
) -> ReadResult<Vec<Row>> {
    let mut batch = Batch::new();
    batch.push(template.replace("{s}", target.schema), params);
    batch
        .send(client, target.counters)
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| Ok(Vec::new()))
        .map_err(read_db)
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, at: usize) -> ReadResult<T> {
    row.try_get(at).map_err(read_db)
}

/// A record from a `record_key, version, body` row.
pub(super) fn record_row(row: &Row) -> ReadResult<(u64, Record)> {
    let key: &str = get(row, 0)?;
    let version = to_u64(get(row, 1)?, format_args!("version of {key}"))?;
    let body: &str = get(row, 2)?;
    Ok((version, from_json(body, format_args!("record {key}"))?))
}

/// A record from a fetch's row (`record_key` at `first`, the version two
/// columns on, the body four), decoded only if the tenant's fetches have not
/// decoded exactly this row already (see `Decoded`).
fn kept_row_at(row: &Row, target: &Target<'_>, first: usize) -> ReadResult<(u64, Arc<Record>)> {
    let key: &str = get(row, first)?;
    let version = to_u64(get(row, first + 2)?, format_args!("version of {key}"))?;
    let body: &str = get(row, first + 4)?;
    let record = target.decoded.get_or_decode(key, version, body, || {
        from_json::<Record>(body, format_args!("record {key}"))
    })?;
    Ok((version, record))
}

/// The stored version of a record, if it exists.
pub(super) async fn version_of(
    client: &Conn,
    target: &Target<'_>,
    key: &RecordKey,
) -> ReadResult<Option<u64>> {
    let rows = query(
        client,
        target,
        "SELECT version FROM {s}.records WHERE record_key = $1",
        vec![text(key.describe())],
    )
    .await?;
    rows.first()
        .map(|row| to_u64(get(row, 0)?, format_args!("version of {}", key.describe())))
        .transpose()
}

const LEVELS: &str = "SELECT sku, location, on_hand, reserved FROM {s}.stock";

pub(super) fn level(row: &Row) -> ReadResult<StockLevel> {
    level_at(row, 0)
}

/// A level from `sku, location, on_hand, reserved` columns from `first` on.
fn level_at(row: &Row, first: usize) -> ReadResult<StockLevel> {
    Ok(StockLevel {
        sku: parse::<Sku>(get(row, first)?, "SKU")?,
        location: parse::<LocationId>(get(row, first + 1)?, "location")?,
        on_hand: get(row, first + 2)?,
        reserved: get(row, first + 3)?,
    })
}

pub(super) async fn stock_levels(
    client: &Conn,
    target: &Target<'_>,
    sku: &Sku,
) -> ReadResult<Vec<StockLevel>> {
    stock_levels_of(client, target, std::slice::from_ref(sku)).await
}

/// The levels of each of `skus`, SKU by SKU in the order given, each by location.
pub(super) async fn stock_levels_of(
    client: &Conn,
    target: &Target<'_>,
    skus: &[Sku],
) -> ReadResult<Vec<StockLevel>> {
    let rows = query(
        client,
        target,
        &format!("{LEVELS} WHERE sku = ANY($1) ORDER BY sku, location"),
        vec![texts(skus.iter().map(|s| s.as_str().to_owned()).collect())],
    )
    .await?;
    in_order_asked(rows.iter().map(level).collect::<ReadResult<_>>()?, skus)
}

/// `levels` SKU by SKU in the order of `skus`, each by location: a SKU asked
/// twice gets its levels twice, as asking one by one would.
fn in_order_asked(levels: Vec<StockLevel>, skus: &[Sku]) -> ReadResult<Vec<StockLevel>> {
    if skus.len() == 1 {
        return Ok(levels);
    }
    Ok(skus
        .iter()
        .flat_map(|sku| levels.iter().filter(move |l| l.sku == *sku).cloned())
        .collect())
}

pub(super) async fn all_stock_levels(
    client: &Conn,
    target: &Target<'_>,
) -> ReadResult<Vec<StockLevel>> {
    let rows = query(
        client,
        target,
        &format!("{LEVELS} ORDER BY sku, location"),
        vec![],
    )
    .await?;
    rows.iter().map(level).collect()
}

/// A counter from a `limit_value, used` row.
fn bounds(row: &Row) -> ReadResult<Bounds> {
    Ok(Bounds {
        limit: get(row, 0)?,
        used: get(row, 1)?,
    })
}

/// The counter at `key`: [`Bounds::ZERO`] if no commit has moved it.
pub(super) async fn counter(
    client: &Conn,
    target: &Target<'_>,
    key: &CounterKey,
) -> ReadResult<Bounds> {
    let rows = query(
        client,
        target,
        "SELECT limit_value, used FROM {s}.bounded_counters WHERE kind = $1 AND id = $2",
        vec![text(key.kind().as_str()), text(key.id())],
    )
    .await?;
    rows.first().map_or(Ok(Bounds::ZERO), bounds)
}

/// A counter from a `kind, id, limit_value, used` row.
pub(super) fn counter_row(row: &Row) -> ReadResult<(CounterKey, Bounds)> {
    counter_row_at(row, 0)
}

/// A counter from `kind, id, limit_value, used` columns from `first` on.
fn counter_row_at(row: &Row, first: usize) -> ReadResult<(CounterKey, Bounds)> {
    let kind = parse::<CounterKind>(get(row, first)?, "counter kind")?;
    let id: &str = get(row, first + 1)?;
    let described = format!("counter id {id:?}");
    let key = CounterKey::new(kind, id.to_owned()).map_err(|e| ReadError::corrupt(described, e))?;
    Ok((
        key,
        Bounds {
            limit: get(row, first + 2)?,
            used: get(row, first + 3)?,
        },
    ))
}

/// What each row of a fetch's statement answers: its first column, the number
/// each part's `SELECT` in `fetch` writes first.
const RECORDS: i32 = 0;
const TERMS: i32 = 1;
const KINDS_WHOLE: i32 = 2;
const STOCK: i32 = 3;
const IDEMPOTENCY: i32 = 4;
const COUNTERS: i32 = 5;

/// A fetch's parts, each a `SELECT` of the same six columns — the part, two
/// texts, two integers and a body — joined by `UNION ALL` into one statement.
/// One statement reads one snapshot, so the parts agree with each other
/// without a transaction around them: the prefetch is one statement, where a
/// statement per part inside `BEGIN … COMMIT` cost the server a transaction
/// and the driver a message exchange per part.
#[derive(Default)]
struct Parts {
    sql: Vec<String>,
    params: Vec<Param>,
}

impl Parts {
    /// Adds a part whose text names its own parameters `{1}`, `{2}`, …,
    /// numbered here after the parts before it (the schema, `{s}`, is filled in
    /// when the statement is sent). The markers keep their braces, so `{1}`
    /// never matches inside `{11}`, and a `$n` written never matches a marker.
    fn add(&mut self, template: &str, params: Vec<Param>) {
        let mut sql = template.to_owned();
        for n in 1..=params.len() {
            sql = sql.replace(&format!("{{{n}}}"), &format!("${}", self.params.len() + n));
        }
        self.sql.push(sql);
        self.params.extend(params);
    }
}

/// Everything `request` asks for, in one round trip and one statement (see
/// [`Parts`]). The records the asked ones name are followed on the server,
/// from the `names` column beside each record.
pub(super) async fn fetch(
    client: &Conn,
    target: &Target<'_>,
    request: &Prefetch,
) -> ReadResult<Fetched> {
    let mut parts = Parts::default();
    if !request.records.is_empty() {
        let (mut from, mut allowed) = (Vec::new(), Vec::new());
        for (key, kinds) in &request.follows {
            let key = key.describe();
            allowed.extend(kinds.iter().map(|kind| format!("{key} {kind}")));
            from.push(key);
        }
        parts.add(
            // Two index lookups, not one scan: the keys asked, then the keys
            // they name of the kinds each follow allows, not asked already.
            "SELECT 0, record_key, NULL::text, version, NULL::int8, body
             FROM {s}.records WHERE record_key = ANY({1})
             UNION ALL
             SELECT 0, r.record_key, NULL::text, r.version, NULL::int8, r.body
             FROM {s}.records AS r
             WHERE r.record_key IN (
                SELECT n FROM {s}.records AS f, unnest(f.names) AS n
                WHERE f.record_key = ANY({2})
                  AND f.record_key || ' ' || split_part(n, '/', 1) = ANY({3}))
               AND r.record_key <> ALL({1})",
            vec![
                texts(request.records.iter().map(RecordKey::describe).collect()),
                texts(from),
                texts(allowed),
            ],
        );
    }
    if !request.terms.is_empty() {
        let kinds = request.terms.iter().map(|(k, _)| (*k).to_owned()).collect();
        let terms = request.terms.iter().map(|(_, t)| t.describe()).collect();
        parts.add(
            "SELECT 1, r.record_key, NULL::text, r.version, NULL::int8, r.body
             FROM {s}.records AS r
             WHERE r.record_key IN (
                SELECT t.record_key FROM {s}.record_terms AS t
                JOIN unnest({1}::text[], {2}::text[]) AS a(kind, term)
                  ON t.kind = a.kind AND t.term = a.term)",
            vec![texts(kinds), texts(terms)],
        );
    }
    // The kinds go into the text as literals, not as a parameter: a generic plan
    // for `kind = ANY($1)` must assume an average share of the records and
    // scanned them all (measured: 0.7 ms of each placement with 5,000 records,
    // growing with the books) to find the few locations a placement reads
    // whole. Given the names, the planner knows them rare and uses the index.
    // Only names from `KINDS` (lower-case letters and `_`) are written; no
    // record has any other kind, so an unknown one reads nothing.
    let mut whole: Vec<&str> = request
        .kinds
        .iter()
        .copied()
        .filter(|kind| KINDS.contains(kind))
        .collect();
    whole.sort_unstable();
    whole.dedup();
    if !whole.is_empty() {
        let listed = whole
            .iter()
            .map(|kind| format!("'{kind}'"))
            .collect::<Vec<_>>()
            .join(", ");
        parts.add(
            &format!(
                "SELECT 2, record_key, NULL::text, version, NULL::int8, body
                 FROM {{s}}.records WHERE kind IN ({listed})"
            ),
            Vec::new(),
        );
    }
    if !request.stock_of.is_empty() {
        parts.add(
            "SELECT 3, sku, location, on_hand, reserved, NULL::text
             FROM {s}.stock WHERE sku = ANY({1})",
            vec![texts(
                request
                    .stock_of
                    .iter()
                    .map(|s| s.as_str().to_owned())
                    .collect(),
            )],
        );
    }
    if let Some((scope, key)) = &request.idempotency {
        parts.add(
            "SELECT 4, NULL::text, NULL::text, NULL::int8, NULL::int8, body
             FROM {s}.idempotency WHERE scope = {1} AND idempotency_key = {2}",
            vec![text(scope_text(*scope)), text(key.as_str())],
        );
    }
    if !request.counters.is_empty() {
        let kinds = request
            .counters
            .iter()
            .map(|k| k.kind().as_str().to_owned())
            .collect();
        let ids = request.counters.iter().map(|k| k.id().to_owned()).collect();
        parts.add(
            "SELECT 5, c.kind, c.id, c.limit_value, c.used, NULL::text
             FROM {s}.bounded_counters AS c
             JOIN unnest({1}::text[], {2}::text[]) AS a(kind, id)
               ON c.kind = a.kind AND c.id = a.id",
            vec![texts(kinds), texts(ids)],
        );
    }
    if parts.sql.is_empty() {
        return Ok(Fetched::default());
    }
    let rows = query(
        client,
        target,
        &parts.sql.join("\nUNION ALL\n"),
        parts.params,
    )
    .await?;

    let (mut asked, mut found_by_term, mut found_whole) = (Vec::new(), Vec::new(), Vec::new());
    let (mut stock, mut idempotency, mut moved) = (Vec::new(), None, Vec::new());
    for row in &rows {
        match get::<i32>(row, 0)? {
            RECORDS => asked.push(kept_row_at(row, target, 1)?),
            TERMS => found_by_term.push(kept_row_at(row, target, 1)?),
            KINDS_WHOLE => found_whole.push(kept_row_at(row, target, 1)?),
            STOCK => stock.push(level_at(row, 1)?),
            IDEMPOTENCY => idempotency = Some(from_json(get(row, 5)?, "idempotency entry")?),
            COUNTERS => moved.push(counter_row_at(row, 1)?),
            other => {
                return Err(ReadError::corrupt(
                    "a fetch's row",
                    format!("part {other} was not asked for"),
                ));
            }
        }
    }
    // Asked-for records first, in the order asked, then the followed ones by
    // key, then those found under the terms, then those of the whole kinds.
    let mut found: Vec<(u64, Arc<Record>)> = Vec::with_capacity(rows.len());
    for key in &request.records {
        if let Some(at) = asked.iter().position(|(_, r)| r.has_key(key)) {
            found.push(asked.swap_remove(at));
        }
    }
    asked.sort_by_key(|(_, r)| r.key());
    found.extend(asked);
    found.extend(found_by_term);
    found.extend(found_whole);
    // `UNION ALL` promises no order, so the levels are put in order here: by
    // location within each SKU, in the bytes' order, as `COLLATE "C"` sorts.
    stock.sort_by(|a: &StockLevel, b: &StockLevel| {
        (a.sku.as_str(), a.location.as_str()).cmp(&(b.sku.as_str(), b.location.as_str()))
    });
    let stock = in_order_asked(stock, &request.stock_of)?;
    let counters = request
        .counters
        .iter()
        .map(|key| {
            let value = moved
                .iter()
                .find(|(k, _)| k == key)
                .map_or(Bounds::ZERO, |(_, b)| *b);
            (key.clone(), value)
        })
        .collect();
    Ok(Fetched {
        records: found,
        stock,
        idempotency,
        counters,
    })
}

/// Sends `batch` as it is when it has one statement, else wrapped in a read-only
/// `REPEATABLE READ` transaction so every statement sees the same snapshot; the
/// answers of `batch`'s own statements, in order.
pub(super) async fn snapshot_of(
    client: &Conn,
    target: &Target<'_>,
    batch: Batch,
) -> ReadResult<Vec<Vec<Row>>> {
    let wrapped = batch.len() > 1;
    let batch = if wrapped { batch.wrapped() } else { batch };
    let mut answers = Vec::with_capacity(batch.len());
    for answer in batch.send(client, target.counters).await {
        answers.push(answer.map_err(read_db)?);
    }
    if wrapped {
        // Drop the answers of BEGIN and COMMIT.
        answers.pop();
        answers.remove(0);
    }
    Ok(answers)
}

/// Records by key, one answer per key in the order given.
pub(super) async fn load_many(
    client: &Conn,
    target: &Target<'_>,
    keys: &[RecordKey],
) -> ReadResult<Vec<Option<(u64, Record)>>> {
    let rows = query(
        client,
        target,
        "SELECT record_key, version, body FROM {s}.records WHERE record_key = ANY($1)",
        vec![texts(keys.iter().map(RecordKey::describe).collect())],
    )
    .await?;
    let found: Vec<(u64, Record)> = rows.iter().map(record_row).collect::<ReadResult<_>>()?;
    // A key asked twice gets its record twice.
    Ok(keys
        .iter()
        .map(|key| found.iter().find(|(_, r)| r.has_key(key)).cloned())
        .collect())
}

/// Every record of `kind`, by key.
pub(super) async fn list(
    client: &Conn,
    target: &Target<'_>,
    kind: &'static str,
) -> ReadResult<Vec<(u64, Record)>> {
    let rows = query(
        client,
        target,
        "SELECT record_key, version, body FROM {s}.records WHERE kind = $1",
        vec![text(kind)],
    )
    .await?;
    let mut found: Vec<(RecordKey, (u64, Record))> = Vec::with_capacity(rows.len());
    for row in &rows {
        let (version, record) = record_row(row)?;
        found.push((record.key(), (version, record)));
    }
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(found.into_iter().map(|(_, v)| v).collect())
}

pub(super) async fn stock_movements(
    client: &Conn,
    target: &Target<'_>,
    sku: &Sku,
    location: &LocationId,
) -> ReadResult<Vec<StockMovement>> {
    let rows = query(
        client,
        target,
        "SELECT body FROM {s}.movements WHERE sku = $1 AND location = $2 ORDER BY seq",
        vec![text(sku.as_str()), text(location.as_str())],
    )
    .await?;
    rows.iter()
        .map(|row| from_json(get(row, 0)?, "stock movement"))
        .collect()
}

pub(super) async fn journal(
    client: &Conn,
    target: &Target<'_>,
    offset: usize,
    limit: usize,
) -> ReadResult<Vec<JournalEntry>> {
    // Positions are gapless from 1: skipping `offset` entries is a key range.
    let rows = query(
        client,
        target,
        "SELECT body FROM {s}.journal WHERE seq > $1 ORDER BY seq LIMIT $2",
        vec![int(clamp_i64(offset)), int(clamp_i64(limit))],
    )
    .await?;
    rows.iter()
        .map(|row| from_json(get(row, 0)?, "journal entry"))
        .collect()
}

/// A balance from an `account, currency, balance` row (the balance as text).
pub(super) fn balance_row(row: &Row) -> ReadResult<AccountBalance> {
    let account: &str = get(row, 0)?;
    let currency: Currency = parse(get(row, 1)?, format_args!("currency of {account}"))?;
    let balance = parse(
        get(row, 2)?,
        format_args!("balance of {account} in {currency}"),
    )?;
    Ok(AccountBalance {
        account: AccountCode::new(account.to_owned()),
        balance: Money::new(balance, currency),
    })
}

pub(super) const BALANCES: &str = "SELECT account, currency, balance::text FROM {s}.balances";

/// Balances by account, then by the currency's enum order.
pub(super) fn sorted_balances(mut found: Vec<AccountBalance>) -> Vec<AccountBalance> {
    found.sort_unstable_by(|a, b| {
        (&a.account, a.balance.currency()).cmp(&(&b.account, b.balance.currency()))
    });
    found
}

pub(super) async fn account_balances(
    client: &Conn,
    target: &Target<'_>,
) -> ReadResult<Vec<AccountBalance>> {
    let rows = query(client, target, BALANCES, vec![]).await?;
    Ok(sorted_balances(
        rows.iter().map(balance_row).collect::<ReadResult<_>>()?,
    ))
}

fn order_id(row: &Row) -> ReadResult<OrderId> {
    parse(get(row, 0)?, "order id")
}

pub(super) async fn orders_of_customer(
    client: &Conn,
    target: &Target<'_>,
    customer: CustomerId,
) -> ReadResult<Vec<OrderId>> {
    let rows = query(
        client,
        target,
        "SELECT order_id FROM {s}.customer_orders WHERE customer = $1 ORDER BY seq",
        vec![text(customer.to_string())],
    )
    .await?;
    rows.iter().map(order_id).collect()
}

pub(super) async fn orders_ready_to_ship(
    client: &Conn,
    target: &Target<'_>,
    limit: usize,
) -> ReadResult<Vec<OrderId>> {
    // Hyphenated lower-case UUID text sorts as the UUID's bytes do, so the id
    // breaks ties exactly as `OrderId`'s `Ord` does.
    let rows = query(
        client,
        target,
        "SELECT order_id FROM {s}.ready_to_ship
         ORDER BY placed_secs, placed_nanos, order_id LIMIT $1",
        vec![int(clamp_i64(limit))],
    )
    .await?;
    rows.iter().map(order_id).collect()
}

/// The page `Store::orders_page` asks for, from the listing index, with only the
/// filters given in the SQL and the window and cursor as row-value bounds.
pub(super) async fn orders_page(
    client: &Conn,
    target: &Target<'_>,
    query_: &OrderQuery,
    limit: usize,
) -> ReadResult<Vec<(u64, Record)>> {
    let split = |at: DateTime<Utc>| (at.timestamp(), i64::from(at.timestamp_subsec_nanos()));
    let mut conditions: Vec<String> = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    let unit = |e| ReadError::Backend(e);
    let mut bind = |condition: &str, value: Param, params: &mut Vec<Param>| {
        params.push(value);
        conditions.push(condition.replace('?', &format!("${}", params.len())));
    };
    if let Some(customer) = query_.customer {
        bind("l.customer = ?", text(customer.to_string()), &mut params);
    }
    if let Some(status) = query_.status {
        bind(
            "l.status = ?",
            text(enum_text(&status).map_err(unit)?),
            &mut params,
        );
    }
    if let Some(channel) = query_.channel {
        bind(
            "l.channel = ?",
            text(enum_text(&channel).map_err(unit)?),
            &mut params,
        );
    }
    let mut bound = |op: &str, at: DateTime<Utc>, id: Option<String>, params: &mut Vec<Param>| {
        let (secs, nanos) = split(at);
        params.push(int(secs));
        params.push(int(nanos));
        let n = params.len();
        match id {
            None => conditions.push(format!(
                "(l.placed_secs, l.placed_nanos) {op} (${}, ${n})",
                n - 1
            )),
            Some(id) => {
                params.push(text(id));
                conditions.push(format!(
                    "(l.placed_secs, l.placed_nanos, l.order_id) {op} (${}, ${n}, ${})",
                    n - 1,
                    n + 1
                ));
            }
        }
    };
    if let Some(from) = query_.placed_from {
        bound(">=", from, None, &mut params);
    }
    if let Some(before) = query_.placed_before {
        bound("<", before, None, &mut params);
    }
    if let Some(cursor) = query_.after {
        let op = if query_.newest_first { "<" } else { ">" };
        bound(
            op,
            cursor.placed_at,
            Some(cursor.order.to_string()),
            &mut params,
        );
    }
    let order = if query_.newest_first { "DESC" } else { "ASC" };
    params.push(int(clamp_i64(limit)));
    let sql = format!(
        "SELECT r.record_key, r.version, r.body FROM {{s}}.order_list AS l
         JOIN {{s}}.records AS r ON r.record_key = 'order/' || l.order_id
         {where_} {conditions}
         ORDER BY l.placed_secs {order}, l.placed_nanos {order}, l.order_id {order}
         LIMIT ${limit}",
        where_ = if conditions.is_empty() { "" } else { "WHERE" },
        conditions = conditions.join(" AND "),
        limit = params.len(),
    );
    let rows = query(client, target, &sql, params).await?;
    rows.iter().map(record_row).collect()
}

/// Up to `limit` records due for `kind` by `until`, after `after`, in due order,
/// from the due-work index, each with its due second.
pub(super) async fn due(
    client: &Conn,
    target: &Target<'_>,
    kind: DueKind,
    until: i64,
    after: Option<DueCursor>,
    limit: usize,
) -> ReadResult<Vec<(i64, (u64, Record))>> {
    let (at, key) = after.map_or((i64::MIN, String::new()), |c| (c.at, c.key));
    let rows = query(
        client,
        target,
        "SELECT r.record_key, r.version, r.body, d.due_secs FROM {s}.due_work AS d
         JOIN {s}.records AS r ON r.record_key = d.record_key
         WHERE d.kind = $1 AND d.due_secs <= $2 AND (d.due_secs, d.record_key) > ($3, $4)
         ORDER BY d.due_secs, d.record_key LIMIT $5",
        vec![
            text(kind.describe()),
            int(until),
            int(at),
            text(key),
            int(clamp_i64(limit)),
        ],
    )
    .await?;
    rows.iter()
        .map(|row| Ok((get::<i64>(row, 3)?, record_row(row)?)))
        .collect()
}

/// Customers by id after `after`: a range of the records' primary key (see the
/// SQLite store's note: `customer/` and hyphenated UUID text sort as the ids do).
pub(super) async fn customers_page(
    client: &Conn,
    target: &Target<'_>,
    after: Option<CustomerId>,
    limit: usize,
) -> ReadResult<Vec<(u64, Record)>> {
    let from = after.map_or_else(
        || "customer/".to_owned(),
        |id| RecordKey::Customer(id).describe(),
    );
    let rows = query(
        client,
        target,
        "SELECT record_key, version, body FROM {s}.records
         WHERE record_key > $1 AND record_key < 'customer0' AND kind = 'customer'
         ORDER BY record_key LIMIT $2",
        vec![text(from), int(clamp_i64(limit))],
    )
    .await?;
    rows.iter().map(record_row).collect()
}

pub(super) async fn idempotency(
    client: &Conn,
    target: &Target<'_>,
    scope: IdempotencyScope,
    key: &IdempotencyKey,
) -> ReadResult<Option<IdempotencyEntry>> {
    let rows = query(
        client,
        target,
        "SELECT body FROM {s}.idempotency WHERE scope = $1 AND idempotency_key = $2",
        vec![text(scope_text(scope)), text(key.as_str())],
    )
    .await?;
    rows.first()
        .map(|row| from_json(get(row, 0)?, "idempotency entry"))
        .transpose()
}

/// An event from a `sequence, recorded_at, body` row.
pub(super) fn event_row(row: &Row) -> ReadResult<RecordedEvent> {
    let sequence = to_u64(get(row, 0)?, "event sequence")?;
    let at: String = get(row, 1)?;
    Ok(RecordedEvent {
        sequence,
        recorded_at: time_from_text(at, format_args!("event {sequence}"))?,
        event: from_json(get(row, 2)?, format_args!("event {sequence}"))?,
    })
}

pub(super) async fn events_after(
    client: &Conn,
    target: &Target<'_>,
    cursor: u64,
    limit: usize,
) -> ReadResult<Vec<RecordedEvent>> {
    let rows = query(
        client,
        target,
        "SELECT sequence, recorded_at, body FROM {s}.events WHERE sequence > $1
         ORDER BY sequence LIMIT $2",
        vec![int(clamp_i64(cursor)), int(clamp_i64(limit))],
    )
    .await?;
    rows.iter().map(event_row).collect()
}

pub(super) async fn last_event_sequence(client: &Conn, target: &Target<'_>) -> ReadResult<u64> {
    let rows = query(
        client,
        target,
        "SELECT last FROM {s}.positions WHERE name = 'events'",
        vec![],
    )
    .await?;
    match rows.first() {
        Some(row) => to_u64(get(row, 0)?, "event sequence"),
        None => Ok(0),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parts_number_their_parameters_after_the_parts_before_them() {
        let mut parts = Parts::default();
        parts.add("SELECT {1}, {2}, {1}", vec![text("a"), text("b")]);
        parts.add("SELECT 0", Vec::new());
        let eleven: Vec<Param> = (0..11).map(|n| text(n.to_string())).collect();
        parts.add("SELECT {1}, {11}, {10}", eleven);
        parts.add("SELECT {1} FROM {s}.x", vec![text("c")]);
        assert_eq!(
            parts.sql,
            vec![
                "SELECT $1, $2, $1",
                "SELECT 0",
                "SELECT $3, $13, $12",
                "SELECT $14 FROM {s}.x",
            ]
        );
        assert_eq!(parts.params.len(), 14);
    }

    /// `fetch` writes kind names into its statement as literals: it may only
    /// because every kind is lower-case letters and `_`.
    #[test]
    fn every_kind_name_is_safe_to_write_as_a_literal() {
        for kind in KINDS {
            assert!(
                !kind.is_empty() && kind.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{kind:?}"
            );
        }
    }
}
