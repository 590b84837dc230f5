//! One commit: one `READ COMMITTED` transaction, sent in as few round trips as the
//! changeset allows.
//!
//! - **One round trip** when nothing in the changeset needs an answer before the
//!   rest can be written: `BEGIN`, every statement, `COMMIT`, sent together.
//! - **A round trip first** for a changeset with merges: they change each record
//!   as stored, read `FOR UPDATE`, in Rust.
//! - **A round trip before the last** for a changeset with numbered documents: a
//!   document's number is in its body, its events and its journal entries, so it
//!   must be known before they are written. The numbers are taken at the end of
//!   that round trip, after every guard, so a series row is locked from there to
//!   `COMMIT` only.
//!
//! Every guard is one statement that fails (a division by zero the SQL makes on
//! purpose when no row changed) instead of reporting zero rows, so the transaction
//! aborts on the server and the `COMMIT` sent after it becomes a rollback without
//! waiting for the client to look. The statement that failed first tells which
//! guard it was; its error is then built from a fresh read (the version or the
//! level found), after the rollback.
//!
//! Row locks are taken in one order — merged records by key; puts and checks by
//! key; stock by SKU and location; bounded counters by kind and id; balances;
//! then the journal and event positions and the numbers' series, last — so two
//! commits do not deadlock over them. One that PostgreSQL reports anyway becomes
//! [`StoreError::Deadlock`], a lost race.

use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;

use super::pool::Conn;

use super::batch::{Batch, Counters, Param, int, ints, text, texts};
use super::error::{db, state};
use super::known::Known;
use super::numbers::{self, StandIn};
use super::reads;
use crate::money::Money;
use crate::order::Order;
use crate::store::codec::{enum_text, scope_text, time_to_text, to_json, to_u64};
use crate::store::{
    Changeset, Check, Committed, CounterDelta, Put, Record, RecordKey, Series, StockDelta,
    StoreError, StoreResult,
};

/// The tenant a commit writes to, and where it counts its round trips.
pub(super) struct Target<'a> {
    /// The tenant's schema, quoted.
    pub(super) schema: &'a str,
    /// The tenant's name, the payload of its change notifications.
    pub(super) tenant: &'a str,
    pub(super) counters: &'a Counters,
    /// Records the tenant's fetches decoded, by version.
    pub(super) decoded: &'a super::known::Decoded,
}

impl Target<'_> {
    fn sql(&self, template: &str) -> String {
        template.replace("{s}", self.schema)
    }
}

/// What a statement of the batch is for: which guard failed, when one does.
#[derive(Debug, Clone, Copy)]
enum Step {
    Plain,
    Key,
    Put(usize),
    Check(usize),
    Stock,
    Counter(usize),
    Balance,
    /// After the commit: its failure changes nothing and is not the commit's.
    Notify,
}

/// A batch with the purpose of each statement.
struct Round<'a> {
    target: &'a Target<'a>,
    batch: Batch,
    steps: Vec<Step>,
}

impl<'a> Round<'a> {
    fn new(target: &'a Target<'a>) -> Self {
        Self {
            target,
            batch: Batch::new(),
            steps: Vec::new(),
        }
    }

    fn push(&mut self, step: Step, template: &str, params: Vec<Param>) -> usize {
        self.steps.push(step);
        self.batch.push(self.target.sql(template), params)
    }

    /// Sends the round; the rows of each statement, or the first failure with the
    /// step that failed.
    async fn send(self, client: &Conn) -> Result<Vec<Vec<Row>>, (Step, tokio_postgres::Error)> {
        let answers = self.batch.send(client, self.target.counters).await;
        let mut rows = Vec::with_capacity(answers.len());
        for (answer, step) in answers.into_iter().zip(self.steps) {
            match (answer, step) {
                (Ok(found), _) => rows.push(found),
                (Err(_), Step::Notify) => rows.push(Vec::new()),
                (Err(e), _) => return Err((step, e)),
            }
        }
        Ok(rows)
    }
}

/// Turns "no row" into an error that aborts the transaction: the guard shape.
const GUARD: &str = "SELECT 1 / count(*)::int FROM guarded";

/// Why an attempt at a commit did not commit.
enum Attempt {
    /// The commit failed: this is its error.
    Failed(StoreError),
    /// A record merged into without a lock had moved: try again, locking it.
    Stale,
}

impl From<StoreError> for Attempt {
    fn from(e: StoreError) -> Self {
        Attempt::Failed(e)
    }
}

impl From<crate::store::ReadError> for Attempt {
    fn from(e: crate::store::ReadError) -> Self {
        Attempt::Failed(e.into())
    }
}

/// Applies `changes` in one transaction. Merges go into the copies `known` has
/// of their records when it has them all (see `known.rs`), else into the records
/// as stored, read under a lock. Leaves the connection outside any transaction
/// whatever happens, unless the connection itself broke.
pub(super) async fn commit(
    client: &Conn,
    target: &Target<'_>,
    changes: Changeset,
    known: &Known,
) -> StoreResult<Committed> {
    validate(&changes)?;
    if let Some(Speculated {
        changes: merged,
        first_merged,
        merged_from,
    }) = speculate(&changes, known)
    {
        let first = Some(first_merged);
        match attempt(client, target, merged, first, &merged_from, known).await {
            Ok(committed) => return Ok(committed),
            Err(Attempt::Failed(e)) => return Err(e),
            Err(Attempt::Stale) => {}
        }
    }
    match attempt(client, target, changes, None, &[], known).await {
        Ok(committed) => Ok(committed),
        Err(Attempt::Failed(e)) => Err(e),
        Err(Attempt::Stale) => Err(StoreError::Invalid {
            reason: "a locked merge reported a stale copy".to_owned(),
        }),
    }
}

/// `changes` with its merges applied to the copies `known` has, and where the
/// merged puts start; `None` when it has none to merge, or lacks a copy, or a
/// merge's guard fails on the copy (the locking way then decides).
fn speculate(changes: &Changeset, known: &Known) -> Option<Speculated> {
    if changes.merges.is_empty() {
        return None;
    }
    // Each copy once, with the text it is stored as (what its put must still find).
    let mut copies: Vec<(u64, Record)> = Vec::new();
    for merge in &changes.merges {
        let key = merge.key();
        if !copies.iter().any(|(_, record)| record.has_key(&key)) {
            copies.push(known.get(&key)?);
        }
    }
    let texts = copies
        .iter()
        .map(|(_, record)| Some((record.key(), to_json(record).ok()?)))
        .collect::<Option<Vec<_>>>()?;
    let mut changes = changes.clone();
    let first_merged = changes.puts.len();
    changes
        .apply_merges(|key| {
            Ok(copies
                .iter()
                .position(|(_, record)| record.has_key(key))
                .map(|at| copies.swap_remove(at)))
        })
        .ok()?;
    let merged_from = changes
        .puts
        .iter()
        .enumerate()
        .skip(first_merged)
        .map(|(at, put)| {
            texts
                .iter()
                .find(|(key, _)| put.record.has_key(key))
                .map(|(_, text)| (at, text.clone()))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Speculated {
        changes,
        first_merged,
        merged_from,
    })
}

/// A changeset merged into the copies `known` kept.
struct Speculated {
    changes: Changeset,
    /// Where the puts made from the copies start.
    first_merged: usize,
    /// The stored text of each copy, by put position.
    merged_from: Vec<(usize, String)>,
}

/// One try at the commit. `speculated` gives where the puts made from `known`'s
/// copies start, when they are (a failed version check there is
/// [`Attempt::Stale`]).
async fn attempt(
    client: &Conn,
    target: &Target<'_>,
    mut changes: Changeset,
    speculated: Option<usize>,
    speculated_bodies: &[(usize, String)],
    known: &Known,
) -> Result<Committed, Attempt> {
    let balances = changes.balances_after(|_, currency| Ok(Money::zero(currency)))?;
    let mut round = Round::new(target);
    round.push(Step::Plain, "BEGIN ISOLATION LEVEL READ COMMITTED", vec![]);
    if let Some(entry) = &changes.idempotency {
        round.push(
            Step::Key,
            "INSERT INTO {s}.idempotency (scope, idempotency_key, body) VALUES ($1, $2, $3)",
            vec![
                text(scope_text(entry.scope)),
                text(entry.key.as_str()),
                text(to_json(entry)?),
            ],
        );
    }
    if !changes.merges.is_empty() {
        let mut keys: Vec<String> = changes.merges.iter().map(|m| m.key().describe()).collect();
        keys.sort_unstable();
        keys.dedup();
        // A merge into a record not stored yet (the first line of a back-order
        // queue) has no row to lock: an advisory lock on its key stands in, taken
        // for every merged key, in key order, before the rows are read.
        round.push(
            Step::Plain,
            "SELECT pg_advisory_xact_lock(hashtext($1), hashtext(k))
             FROM unnest($2::text[]) AS k ORDER BY k",
            vec![text(target.schema), texts(keys.clone())],
        );
        let at = round.push(
            Step::Plain,
            "SELECT record_key, version, body FROM {s}.records
             WHERE record_key = ANY($1) ORDER BY record_key FOR UPDATE",
            vec![texts(keys)],
        );
        let rows = match round.send(client).await {
            Ok(rows) => rows,
            Err(failed) => {
                rollback(client).await?;
                return Err(failure(client, target, &changes, failed).await.into());
            }
        };
        let mut stored = Vec::new();
        for row in rows.get(at).into_iter().flatten() {
            stored.push(reads::record_row(row)?);
        }
        let merged = changes.apply_merges(|key| {
            Ok(stored
                .iter()
                .position(|(_, record)| record.has_key(key))
                .map(|at| stored.swap_remove(at)))
        });
        if let Err(e) = merged {
            rollback(client).await?;
            return Err(e.into());
        }
        round = Round::new(target);
    }

    // Puts and checks by key; numbered documents wait for their numbers.
    let deferred: Vec<bool> = changes
        .puts
        .iter()
        .map(|put| put.expected.is_none() && changes.numbered.iter().any(|k| put.record.has_key(k)))
        .collect();
    // Records merged into come first, by key, as the locking way reads them
    // first; then the other puts and version checks, by key. A SKU's total is
    // checked with the stock, whose rows are locked in one order.
    let mut by_key: Vec<(bool, String, Step)> = Vec::new();
    for (i, put) in changes.puts.iter().enumerate() {
        if deferred.get(i) != Some(&true) {
            let merged = speculated.is_some_and(|first| i >= first);
            by_key.push((!merged, put.record.key().describe(), Step::Put(i)));
        }
    }
    for (i, check) in changes.checks.iter().enumerate() {
        if let Check::Version { key, .. } = check {
            by_key.push((true, key.describe(), Step::Check(i)));
        }
    }
    by_key.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (_, _, step) in &by_key {
        match *step {
            Step::Put(i) => push_put(&mut round, &changes.puts, i, speculated_bodies)?,
            Step::Check(i) => push_check(&mut round, &changes.checks, i),
            _ => {}
        }
    }
    push_stock(&mut round, &sorted_stock(&changes)?, &changes.checks);
    let mut counters = changes.counter_deltas()?;
    counters.sort_by(|a, b| {
        (a.key.kind().as_str(), a.key.id()).cmp(&(b.key.kind().as_str(), b.key.id()))
    });
    for (i, delta) in counters.iter().enumerate() {
        push_counter(&mut round, delta, i);
    }

    // Numbers taken on the server, in this same round trip, where the stand-ins
    // allow (see `numbers`); else in a round trip of their own first.
    let stand_ins = if changes.numbered.is_empty() {
        Vec::new()
    } else {
        numbers::stand_ins(&mut changes)?.unwrap_or_default()
    };
    for (put, numbered) in changes.puts.iter().zip(&deferred) {
        if !numbered {
            push_indexes(&mut round, put)?;
        }
    }
    push_movements(&mut round, &changes)?;
    push_balances(&mut round, &balances);
    // From here on, rows every commit shares: the series, then the journal and
    // event positions, each held from its statement to the end of COMMIT only
    // (when the numbers need a round trip of their own, across it too).
    let mut numbers = Vec::new();
    if !changes.numbered.is_empty() && stand_ins.is_empty() {
        let first = round.batch.len();
        for key in &changes.numbered {
            // `validate` made sure each is a numbered kind.
            let series = Series::of(key).map_or("", Series::name);
            round.push(Step::Plain, NEXT_NUMBER, vec![text(series)]);
        }
        let rows = match round.send(client).await {
            Ok(rows) => rows,
            Err(failed) => {
                rollback(client).await?;
                if stale(speculated, &failed) {
                    return Err(Attempt::Stale);
                }
                return Err(failure(client, target, &changes, failed).await.into());
            }
        };
        let mut next = numbers_in(rows.iter().skip(first))?.into_iter();
        let assigned = changes.assign_numbers(|series| {
            next.next().ok_or_else(|| StoreError::Invalid {
                reason: format!("no number taken for series {}", series.name()),
            })
        });
        numbers = match assigned {
            Ok(numbers) => numbers,
            Err(e) => {
                rollback(client).await?;
                return Err(e.into());
            }
        };
        round = Round::new(target);
    }

    let taken_at: Vec<usize> = stand_ins
        .iter()
        .map(|stand_in| {
            round.push(
                Step::Plain,
                "WITH n AS (INSERT INTO {s}.series (name, last) VALUES ($1, 1)
                            ON CONFLICT (name) DO UPDATE SET last = {s}.series.last + 1
                            RETURNING last)
                 SELECT last, set_config($2, last::text, true) FROM n",
                vec![text(stand_in.series.name()), text(stand_in.setting.clone())],
            )
        })
        .collect();
    for (i, numbered) in deferred.iter().enumerate() {
        if *numbered {
            push_put_rendered(&mut round, &changes.puts, i, &stand_ins, speculated_bodies)?;
            if let Some(put) = changes.puts.get(i) {
                push_indexes(&mut round, put)?;
            }
        }
    }
    push_journal(&mut round, &changes, &stand_ins)?;
    let last = push_events(&mut round, &changes, &stand_ins)?;
    round.push(Step::Plain, "COMMIT", vec![]);
    // After COMMIT, in a transaction of its own: a NOTIFY inside the commit
    // would hold PostgreSQL's database-wide notification lock through its WAL
    // flush, making every tenant's commits take turns. Sent in the same round
    // trip; if the commit rolled back, a waiter wakes for nothing and reads.
    if !changes.events.is_empty() {
        round.push(
            Step::Notify,
            "SELECT pg_notify('o2c_commit', $1)",
            vec![text(target.tenant)],
        );
    }
    let rows = match round.send(client).await {
        Ok(rows) => rows,
        Err(failed) if stale(speculated, &failed) => return Err(Attempt::Stale),
        Err(failed) => return Err(failure(client, target, &changes, failed).await.into()),
    };
    if !stand_ins.is_empty() {
        let taken = numbers_in(taken_at.iter().filter_map(|at| rows.get(*at)))?;
        numbers = changes.numbered.iter().cloned().zip(taken).collect();
    }
    let last: i64 = rows
        .get(last)
        .and_then(|found| found.first())
        .ok_or_else(|| StoreError::Invalid {
            reason: "the event log gave no position".to_owned(),
        })?
        .try_get(0)
        .map_err(db)?;
    for put in changes.puts {
        if Known::keeps(&put.record.key()) {
            let version = put.expected.map_or(1, |v| v.saturating_add(1));
            known.note(version, &std::sync::Arc::new(put.record));
        }
    }
    Ok(Committed::new(to_u64(last, "event sequence")?, numbers))
}

/// Whether `failed` is the version check of a put merged into a copy (the
/// puts from `speculated` on) that had moved.
fn stale(speculated: Option<usize>, (step, e): &(Step, tokio_postgres::Error)) -> bool {
    matches!(step, Step::Put(i) if speculated.is_some_and(|first| *i >= first))
        && state(e) == Some(&SqlState::DIVISION_BY_ZERO)
}

/// Takes the next number of a series (`$1`), inserting its row at 1.
const NEXT_NUMBER: &str = "INSERT INTO {s}.series (name, last) VALUES ($1, 1)
     ON CONFLICT (name) DO UPDATE SET last = {s}.series.last + 1 RETURNING last";

/// The number each answer's first row holds in its first column.
fn numbers_in<'r>(answers: impl Iterator<Item = &'r Vec<Row>>) -> StoreResult<Vec<u64>> {
    answers
        .map(|found| {
            let last: i64 = found
                .first()
                .ok_or_else(|| StoreError::Invalid {
                    reason: "a series gave no number".to_owned(),
                })?
                .try_get(0)
                .map_err(db)?;
            Ok(to_u64(last, "document number")?)
        })
        .collect()
}

/// What the store refuses before sending anything: a record put twice, sums that
/// overflow, journal entries that do not balance.
fn validate(changes: &Changeset) -> StoreResult<()> {
    let mut seen: Vec<RecordKey> = Vec::with_capacity(changes.puts.len());
    for put in &changes.puts {
        let key = put.record.key();
        if seen.contains(&key) {
            return Err(StoreError::Invalid {
                reason: format!("{} is put twice", key.describe()),
            });
        }
        seen.push(key);
    }
    for key in &changes.numbered {
        if Series::of(key).is_none() {
            return Err(StoreError::Invalid {
                reason: format!("{} is not a numbered document", key.describe()),
            });
        }
        if !changes
            .puts
            .iter()
            .any(|p| p.expected.is_none() && p.record.has_key(key))
        {
            return Err(StoreError::Invalid {
                reason: format!(
                    "{} is numbered but not inserted by the commit",
                    key.describe()
                ),
            });
        }
    }
    for entry in &changes.journal {
        entry.validate().map_err(|e| StoreError::Invalid {
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

async fn rollback(client: &Conn) -> StoreResult<()> {
    client.batch_execute("ROLLBACK").await.map_err(db)
}

/// `merged_from`: for a put merged into a copy `known` kept, the stored text of
/// that copy by put position; the update then also needs the stored body to be
/// that text, so a copy of an older incarnation at the same version (a tenant
/// dropped and made again, a database restored) never passes for the record.
fn push_put(
    round: &mut Round<'_>,
    puts: &[Put],
    i: usize,
    merged_from: &[(usize, String)],
) -> StoreResult<()> {
    push_put_rendered(round, puts, i, &[], merged_from)
}

/// A put whose body's stand-ins (if any) become the numbers taken before it.
fn push_put_rendered(
    round: &mut Round<'_>,
    puts: &[Put],
    i: usize,
    stand_ins: &[StandIn],
    merged_from: &[(usize, String)],
) -> StoreResult<()> {
    let Some(put) = puts.get(i) else {
        return Ok(());
    };
    let key = put.record.key();
    let names: Vec<String> = put.record.names().iter().map(RecordKey::describe).collect();
    let body = to_json(&put.record)?;
    match put.expected {
        None => {
            let (body_sql, rendering) = numbers::render(stand_ins, "$3", 5);
            let mut params = vec![
                text(key.describe()),
                text(key.kind()),
                text(body),
                texts(names),
            ];
            params.extend(rendering);
            round.push(
                Step::Put(i),
                &format!(
                    "WITH guarded AS (
                        INSERT INTO {{s}}.records (record_key, kind, version, body, names)
                        VALUES ($1, $2, 1, {body_sql}, $4) ON CONFLICT DO NOTHING RETURNING 1)
                     SELECT 1 / count(*)::int FROM guarded"
                ),
                params,
            )
        }
        Some(expected) => {
            let expected = i64::try_from(expected).map_err(|_| StoreError::Invalid {
                reason: format!("the version of {} overflows", key.describe()),
            })?;
            let mut params = vec![
                text(key.describe()),
                int(expected),
                text(body),
                texts(names),
            ];
            let from = match merged_from.iter().find(|(at, _)| *at == i) {
                Some((_, stored)) => {
                    params.push(text(stored.clone()));
                    " AND body = $5"
                }
                None => "",
            };
            round.push(
                Step::Put(i),
                &format!(
                    "WITH guarded AS (
                        UPDATE {{s}}.records SET version = version + 1, body = $3, names = $4
                        WHERE record_key = $1 AND version = $2{from} RETURNING 1)
                     SELECT 1 / count(*)::int FROM guarded"
                ),
                params,
            )
        }
    };
    Ok(())
}

fn push_check(round: &mut Round<'_>, checks: &[Check], i: usize) {
    match checks.get(i) {
        Some(Check::Version { key, version }) => {
            let version = i64::try_from(*version).unwrap_or(-1);
            round.push(
                Step::Check(i),
                "WITH guarded AS (
                    SELECT 1 FROM {s}.records WHERE record_key = $1 AND version = $2 FOR SHARE)
                 SELECT 1 / count(*)::int FROM guarded",
                vec![text(key.describe()), int(version)],
            );
        }
        // Checked with the stock (`push_stock`), once its rows are locked.
        Some(Check::SkuOnHand { .. }) | None => {}
    }
}

/// The range a column may hold so that adding `delta` cannot overflow `i64`:
/// PostgreSQL would fail the statement, the memory store refuses the move.
fn no_overflow(delta: i64) -> (i64, i64) {
    if delta < 0 {
        (i64::MIN.saturating_sub(delta), i64::MAX)
    } else {
        (i64::MIN, i64::MAX.saturating_sub(delta))
    }
}

/// The guard of a bounded counter over a table's limit and used columns, after
/// the row's key (`$1`, `$2`): deltas `$3` (limit) and `$4` (used), bounds `$5`..`$8`.
const WITHIN_BOUNDS: &str = "LIMIT_COL BETWEEN $5 AND $6 AND USED_COL BETWEEN $7 AND $8
    AND USED_COL + $4 >= 0 AND USED_COL + $4 <= LIMIT_COL + $3";

fn bounded(limit_delta: i64, used_delta: i64) -> Vec<Param> {
    let (limit_min, limit_max) = no_overflow(limit_delta);
    let (used_min, used_max) = no_overflow(used_delta);
    vec![
        int(limit_delta),
        int(used_delta),
        int(limit_min),
        int(limit_max),
        int(used_min),
        int(used_max),
    ]
}

/// The changeset's stock deltas by SKU and location: the order rows are locked in.
fn sorted_stock(changes: &Changeset) -> StoreResult<Vec<StockDelta>> {
    let mut stock = changes.stock_deltas()?;
    stock.sort_by(|a, b| (&a.sku, &a.location).cmp(&(&b.sku, &b.location)));
    Ok(stock)
}

/// Every stock delta in three statements, whatever their number: the levels not
/// there yet made at zero (as in the memory store, a SKU × location is listed
/// from its first commit on, even one that adds nothing), the rows locked by SKU
/// and location, then one guarded update of them all. The guard is summed in
/// `numeric`, so a sum past `i64` is a failed guard, as the memory store's
/// checked sum is, not an error; the update must change every row.
fn push_stock(round: &mut Round<'_>, stock: &[StockDelta], checks: &[Check]) {
    let checked: Vec<(usize, &crate::ids::Sku, i64)> = checks
        .iter()
        .enumerate()
        .filter_map(|(i, check)| match check {
            Check::SkuOnHand { sku, on_hand } => Some((i, sku, *on_hand)),
            Check::Version { .. } => None,
        })
        .collect();
    if stock.is_empty() && checked.is_empty() {
        return;
    }
    // What is locked, in one order: each level moved, and every level of each
    // SKU whose total is checked (an empty location locks all of the SKU's),
    // by SKU, then location (the SKU's whole set first).
    let mut targets: Vec<(&str, &str)> = stock
        .iter()
        .map(|d| (d.sku.as_str(), d.location.as_str()))
        .chain(checked.iter().map(|(_, sku, _)| (sku.as_str(), "")))
        .collect();
    targets.sort_unstable();
    targets.dedup();
    let skus = || texts(stock.iter().map(|d| d.sku.as_str().to_owned()).collect());
    let locations = || {
        texts(
            stock
                .iter()
                .map(|d| d.location.as_str().to_owned())
                .collect(),
        )
    };
    round.push(
        Step::Plain,
        "INSERT INTO {s}.stock (sku, location, on_hand, reserved)
         SELECT d.sku, d.location, 0, 0 FROM unnest($1::text[], $2::text[]) AS d(sku, location)
         ORDER BY d.sku, d.location
         ON CONFLICT DO NOTHING",
        vec![skus(), locations()],
    );
    round.push(
        Step::Plain,
        // Index lookups, locked in the order given.
        "SELECT 1 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS d(sku, location, n)
         CROSS JOIN LATERAL (
            SELECT 1 FROM {s}.stock AS s
            WHERE s.sku = d.sku AND (d.location = '' OR s.location = d.location)
            ORDER BY s.location FOR UPDATE) AS locked
         ORDER BY d.n",
        vec![
            texts(targets.iter().map(|(sku, _)| (*sku).to_owned()).collect()),
            texts(targets.iter().map(|(_, at)| (*at).to_owned()).collect()),
        ],
    );
    // Summed as the memory store sums, saturating.
    for (i, sku, on_hand) in &checked {
        round.push(
            Step::Check(*i),
            "WITH guarded AS (
                SELECT 1 FROM {s}.stock WHERE sku = $1
                HAVING LEAST(GREATEST(COALESCE(sum(on_hand), 0),
                    -9223372036854775808), 9223372036854775807) = $2)
             SELECT 1 / count(*)::int FROM guarded",
            vec![text(sku.as_str()), int(*on_hand)],
        );
    }
    if stock.is_empty() {
        return;
    }
    let count = i64::try_from(stock.len()).unwrap_or(i64::MAX);
    round.push(
        Step::Stock,
        "WITH guarded AS (
            UPDATE {s}.stock AS s
            SET on_hand = s.on_hand + d.on_hand, reserved = s.reserved + d.reserved
            FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[])
                 AS d(sku, location, on_hand, reserved)
            WHERE s.sku = d.sku AND s.location = d.location
              AND s.reserved::numeric + d.reserved >= 0
              AND s.reserved::numeric + d.reserved <= s.on_hand::numeric + d.on_hand
              AND s.on_hand::numeric + d.on_hand <= 9223372036854775807
            RETURNING 1)
         SELECT 1 / (count(*) = $5)::int FROM guarded",
        vec![
            skus(),
            locations(),
            (
                Box::new(stock.iter().map(|d| d.on_hand).collect::<Vec<i64>>()),
                Type::INT8_ARRAY,
            ),
            (
                Box::new(stock.iter().map(|d| d.reserved).collect::<Vec<i64>>()),
                Type::INT8_ARRAY,
            ),
            int(count),
        ],
    );
}

fn push_counter(round: &mut Round<'_>, delta: &CounterDelta, i: usize) {
    let (kind, id) = (delta.key.kind().as_str(), delta.key.id());
    round.push(
        Step::Plain,
        "INSERT INTO {s}.bounded_counters (kind, id, limit_value, used) VALUES ($1, $2, 0, 0)
         ON CONFLICT DO NOTHING",
        vec![text(kind), text(id)],
    );
    let guard = WITHIN_BOUNDS
        .replace("LIMIT_COL", "limit_value")
        .replace("USED_COL", "used");
    let mut params = vec![text(kind), text(id)];
    params.extend(bounded(delta.limit, delta.used));
    round.push(
        Step::Counter(i),
        &format!(
            "WITH guarded AS (
                UPDATE {{s}}.bounded_counters
                SET limit_value = limit_value + $3, used = used + $4
                WHERE kind = $1 AND id = $2 AND {guard} RETURNING 1)
             {GUARD}"
        ),
        params,
    );
}

/// The order indexes and the index terms of a put, rewritten with it.
fn push_indexes(round: &mut Round<'_>, put: &Put) -> StoreResult<()> {
    let key = put.record.key();
    if let Record::Order(order) = &put.record {
        push_order_indexes(round, order, put.expected.is_none())?;
    }
    if key.may_fall_due() {
        push_due_work(round, &key, &put.record, put.expected.is_none());
    }
    if !key.may_have_terms() {
        return Ok(());
    }
    let described = key.describe();
    let terms: Vec<String> = put
        .record
        .index_terms()
        .iter()
        .map(|t| t.describe())
        .collect();
    // Two statements: a delete in a `WITH` runs beside the insert, which would
    // still meet the rows it deletes.
    round.push(
        Step::Plain,
        "DELETE FROM {s}.record_terms WHERE record_key = $1",
        vec![text(described.clone())],
    );
    if !terms.is_empty() {
        round.push(
            Step::Plain,
            "INSERT INTO {s}.record_terms (kind, term, record_key)
             SELECT DISTINCT $2, term, $1 FROM unnest($3::text[]) AS term",
            vec![text(described), text(key.kind()), texts(terms)],
        );
    }
    Ok(())
}

/// What a put record falls due for ([`Record::due_work`]), rewritten with it:
/// a delete (but for a record just `inserted`, which has no rows yet), then an
/// insert (two statements, as for the index terms).
fn push_due_work(round: &mut Round<'_>, key: &RecordKey, record: &Record, inserted: bool) {
    let described = key.describe();
    if !inserted {
        round.push(
            Step::Plain,
            "DELETE FROM {s}.due_work WHERE record_key = $1",
            vec![text(described.clone())],
        );
    }
    let due = record.due_work();
    if due.is_empty() {
        return;
    }
    let kinds: Vec<String> = due.iter().map(|(k, _)| k.describe().to_owned()).collect();
    let times: Vec<i64> = due.iter().map(|(_, at)| *at).collect();
    round.push(
        Step::Plain,
        "INSERT INTO {s}.due_work (kind, due_secs, record_key)
         SELECT kind, at, $1 FROM unnest($2::text[], $3::int8[]) AS due (kind, at)",
        vec![text(described), texts(kinds), ints(times)],
    );
}

fn push_order_indexes(round: &mut Round<'_>, order: &Order, inserted: bool) -> StoreResult<()> {
    let id = order.id.to_string();
    if inserted {
        round.push(
            Step::Plain,
            "INSERT INTO {s}.customer_orders (customer, order_id) VALUES ($1, $2)",
            vec![text(order.customer.to_string()), text(id.clone())],
        );
    }
    let secs = order.placed_at.timestamp();
    let nanos = i64::from(order.placed_at.timestamp_subsec_nanos());
    let sql = if order.is_ready_to_ship() {
        "INSERT INTO {s}.ready_to_ship (placed_secs, placed_nanos, order_id) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM {s}.ready_to_ship WHERE placed_secs = $1 AND placed_nanos = $2 AND order_id = $3"
    };
    round.push(
        Step::Plain,
        sql,
        vec![int(secs), int(nanos), text(id.clone())],
    );
    let unit = |e| StoreError::Backend(e);
    round.push(
        Step::Plain,
        "INSERT INTO {s}.order_list (placed_secs, placed_nanos, order_id, customer, channel, status)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (placed_secs, placed_nanos, order_id) DO UPDATE SET status = excluded.status",
        vec![
            int(secs),
            int(nanos),
            text(id),
            text(order.customer.to_string()),
            text(enum_text(&order.channel).map_err(unit)?),
            text(enum_text(&order.status).map_err(unit)?),
        ],
    );
    Ok(())
}

fn push_movements(round: &mut Round<'_>, changes: &Changeset) -> StoreResult<()> {
    if changes.movements.is_empty() {
        return Ok(());
    }
    let mut skus = Vec::with_capacity(changes.movements.len());
    let mut locations = Vec::with_capacity(changes.movements.len());
    let mut quantities: Vec<i64> = Vec::with_capacity(changes.movements.len());
    let mut bodies = Vec::with_capacity(changes.movements.len());
    for m in &changes.movements {
        skus.push(m.sku.as_str().to_owned());
        locations.push(m.location.as_str().to_owned());
        quantities.push(m.quantity);
        bodies.push(to_json(m)?);
    }
    round.push(
        Step::Plain,
        "INSERT INTO {s}.movements (sku, location, quantity, body)
         SELECT m.sku, m.location, m.quantity, m.body
         FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[])
              WITH ORDINALITY AS m(sku, location, quantity, body, n)
         ORDER BY m.n",
        vec![
            texts(skus),
            texts(locations),
            (Box::new(quantities), Type::INT8_ARRAY),
            texts(bodies),
        ],
    );
    Ok(())
}

/// Adds each balance's change to what is stored (exact `numeric` arithmetic), by
/// account and currency so concurrent commits lock the rows in one order.
fn push_balances(round: &mut Round<'_>, balances: &[(crate::store::BalanceKey, Money)]) {
    if balances.is_empty() {
        return;
    }
    let mut sorted: Vec<_> = balances.iter().collect();
    sorted.sort_by(|a, b| (a.0.0.as_str(), a.0.1.code()).cmp(&(b.0.0.as_str(), b.0.1.code())));
    let accounts = sorted
        .iter()
        .map(|((a, _), _)| a.as_str().to_owned())
        .collect();
    let currencies = sorted
        .iter()
        .map(|((_, c), _)| c.code().to_owned())
        .collect();
    let amounts = sorted.iter().map(|(_, m)| m.amount().to_string()).collect();
    // `numeric` never overflows, but a balance past `Decimal::MAX` could not be
    // read back: the guard refuses it, as the memory store's checked sum does.
    round.push(
        Step::Balance,
        "WITH moved AS (
            INSERT INTO {s}.balances (account, currency, balance)
            SELECT b.account, b.currency, b.amount::numeric
            FROM unnest($1::text[], $2::text[], $3::text[]) AS b(account, currency, amount)
            ON CONFLICT (account, currency)
            DO UPDATE SET balance = {s}.balances.balance + excluded.balance
            RETURNING balance),
              guarded AS (
            SELECT 1 FROM moved HAVING bool_and(abs(balance) <= $4::numeric))
         SELECT 1 / count(*)::int FROM guarded",
        vec![
            texts(accounts),
            texts(currencies),
            texts(amounts),
            text(rust_decimal::Decimal::MAX.to_string()),
        ],
    );
}

fn push_journal(
    round: &mut Round<'_>,
    changes: &Changeset,
    stand_ins: &[StandIn],
) -> StoreResult<()> {
    if changes.journal.is_empty() {
        return Ok(());
    }
    let bodies = changes
        .journal
        .iter()
        .map(to_json)
        .collect::<StoreResult<Vec<_>>>()?;
    let count = i64::try_from(bodies.len()).unwrap_or(i64::MAX);
    let (body_sql, rendering) = numbers::render(stand_ins, "e.body", 3);
    let mut params = vec![int(count), texts(bodies)];
    params.extend(rendering);
    round.push(
        Step::Plain,
        &format!(
            "WITH p AS (UPDATE {{s}}.positions SET last = last + $1 WHERE name = 'journal' RETURNING last)
             INSERT INTO {{s}}.journal (seq, body)
             SELECT p.last - $1 + e.n, {body_sql}
             FROM p, unnest($2::text[]) WITH ORDINALITY AS e(body, n)"
        ),
        params,
    );
    Ok(())
}

/// Appends the events after the last one (the position row, taken last); returns
/// the position of the statement that answers with the log's last sequence.
fn push_events(
    round: &mut Round<'_>,
    changes: &Changeset,
    stand_ins: &[StandIn],
) -> StoreResult<usize> {
    if changes.events.is_empty() {
        return Ok(round.push(
            Step::Plain,
            "SELECT last FROM {s}.positions WHERE name = 'events'",
            vec![],
        ));
    }
    let bodies = changes
        .events
        .iter()
        .map(to_json)
        .collect::<StoreResult<Vec<_>>>()?;
    let count = i64::try_from(bodies.len()).unwrap_or(i64::MAX);
    let (body_sql, rendering) = numbers::render(stand_ins, "e.body", 4);
    let mut params = vec![int(count), text(time_to_text(changes.at)?), texts(bodies)];
    params.extend(rendering);
    Ok(round.push(
        Step::Plain,
        &format!(
            "WITH p AS (UPDATE {{s}}.positions SET last = last + $1 WHERE name = 'events' RETURNING last),
                  appended AS (
                    INSERT INTO {{s}}.events (sequence, recorded_at, body)
                    SELECT p.last - $1 + e.n, $2, {body_sql}
                    FROM p, unnest($3::text[]) WITH ORDINALITY AS e(body, n))
             SELECT last FROM p"
        ),
        params,
    ))
}

/// The error for the first statement that failed, read after the transaction
/// ended: a guard's (from the version or level found now), a used key's, a
/// deadlock's, or the driver's.
async fn failure(
    client: &Conn,
    target: &Target<'_>,
    changes: &Changeset,
    (step, e): (Step, tokio_postgres::Error),
) -> StoreError {
    let code = state(&e).cloned();

    if code == Some(SqlState::T_R_DEADLOCK_DETECTED)
        || code == Some(SqlState::T_R_SERIALIZATION_FAILURE)
    {
        return StoreError::Deadlock;
    }
    let guard_failed = code == Some(SqlState::DIVISION_BY_ZERO);
    let explained = match step {
        Step::Key if code == Some(SqlState::UNIQUE_VIOLATION) => {
            return match &changes.idempotency {
                Some(entry) => StoreError::DuplicateKey {
                    key: entry.key.clone(),
                },
                None => db(e),
            };
        }
        Step::Put(i) if guard_failed => match changes.puts.get(i) {
            Some(put) => {
                let key = put.record.key();
                reads::version_of(client, target, &key)
                    .await
                    .map(|actual| mismatch(&key, put.expected, actual))
            }
            None => return db(e),
        },
        Step::Check(i) if guard_failed => match changes.checks.get(i) {
            Some(Check::Version { key, version }) => reads::version_of(client, target, key)
                .await
                .map(|actual| StoreError::Conflict {
                    key: key.clone(),
                    expected: Some(*version),
                    actual,
                }),
            Some(Check::SkuOnHand { sku, on_hand }) => reads::stock_levels(client, target, sku)
                .await
                .map(|levels| StoreError::StockChanged {
                    sku: sku.clone(),
                    expected: *on_hand,
                    actual: levels
                        .iter()
                        .fold(0_i64, |sum, l| sum.saturating_add(l.on_hand)),
                }),
            None => return db(e),
        },
        Step::Stock if guard_failed => {
            let stock = match sorted_stock(changes) {
                Ok(stock) => stock,
                Err(e) => return e,
            };
            let skus: Vec<_> = stock.iter().map(|d| d.sku.clone()).collect();
            reads::stock_levels_of(client, target, &skus)
                .await
                .map(|levels| insufficient(&stock, &levels))
        }
        Step::Counter(i) if guard_failed => {
            let mut counters = match changes.counter_deltas() {
                Ok(counters) => counters,
                Err(e) => return e,
            };
            counters.sort_by(|a, b| {
                (a.key.kind().as_str(), a.key.id()).cmp(&(b.key.kind().as_str(), b.key.id()))
            });
            let Some(delta) = counters.get(i) else {
                return db(e);
            };
            reads::counter(client, target, &delta.key)
                .await
                .map(|before| delta.clone().refused(before))
        }
        Step::Balance if guard_failed => {
            return StoreError::Invalid {
                reason: "an account balance would overflow".to_owned(),
            };
        }
        _ => return db(e),
    };
    explained.unwrap_or_else(StoreError::Read)
}

/// The first of `stock` (in locking order) whose guard fails on `levels`, as
/// [`StoreError::InsufficientStock`] with the level found; the first of all if
/// every guard holds now (the level moved again since the commit failed).
fn insufficient(stock: &[StockDelta], levels: &[crate::stock::StockLevel]) -> StoreError {
    let level = |d: &StockDelta| {
        levels
            .iter()
            .find(|l| l.sku == d.sku && l.location == d.location)
            .map_or((0, 0), |l| (l.on_hand, l.reserved))
    };
    let fails = |d: &&StockDelta| {
        let (on_hand, reserved) = level(d);
        let (on_hand, reserved) = (
            i128::from(on_hand) + i128::from(d.on_hand),
            i128::from(reserved) + i128::from(d.reserved),
        );
        reserved < 0 || reserved > on_hand || on_hand > i128::from(i64::MAX)
    };
    match stock.iter().find(fails).or_else(|| stock.first()) {
        Some(d) => {
            let (on_hand, reserved) = level(d);
            StoreError::InsufficientStock {
                sku: d.sku.clone(),
                location: d.location.clone(),
                on_hand,
                reserved,
                on_hand_delta: d.on_hand,
                reserved_delta: d.reserved,
            }
        }
        None => StoreError::Invalid {
            reason: "a stock guard failed with no stock moved".to_owned(),
        },
    }
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
