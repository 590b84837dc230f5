//! Bounded counters other than stock, in the `bounded_counters` table: one row per
//! kind and id, moved by the guard every bounded counter shares
//! ([`bounds`](super::bounds)). Kind and id are text, so a new kind of counter
//! needs no change here.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::bounds::{add_within_bounds, within_bounds};
use super::error::{db, read_db};
use crate::store::codec::parse;
use crate::store::{
    Bounds, Changeset, CounterKey, CounterKind, ReadError, ReadResult, StoreResult,
};

/// Adds the deltas to one counter, or leaves it untouched when the result would
/// break `0 ≤ used ≤ limit` (or overflow).
const GUARDED_UPDATE: &str = concat!(
    "UPDATE bounded_counters SET limit_value = limit_value + :limit_delta, used = used + :used_delta
 WHERE kind = :kind AND id = :id AND ",
    within_bounds!("limit_value", "used")
);

/// Applies the changeset's counter moves, summed per counter, under the guard.
///
/// # Errors
/// [`StoreError::Invalid`] when a sum overflows, [`StoreError::OutOfBounds`] with
/// the counter as it was when a guard fails, [`StoreError::Backend`].
pub(super) fn apply_guarded(tx: &Transaction<'_>, changes: &Changeset) -> StoreResult<()> {
    for delta in changes.counter_deltas()? {
        let (kind, id) = (delta.key.kind().as_str(), delta.key.id());
        // A counter no commit has moved starts at 0/0, as in the memory store.
        tx.prepare_cached(
            "INSERT INTO bounded_counters (kind, id, limit_value, used) VALUES (?1, ?2, 0, 0)
             ON CONFLICT (kind, id) DO NOTHING",
        )
        .and_then(|mut stmt| stmt.execute(params![kind, id]))
        .map_err(db)?;
        let moved = add_within_bounds(
            tx,
            GUARDED_UPDATE,
            &[(":kind", &kind), (":id", &id)],
            delta.limit,
            delta.used,
        )?;
        if !moved {
            let before = value(tx, &delta.key)?;
            return Err(delta.refused(before));
        }
    }
    Ok(())
}

/// The counter at `key`: [`Bounds::ZERO`] if no commit has moved it.
pub(super) fn value(conn: &Connection, key: &CounterKey) -> ReadResult<Bounds> {
    let found = conn
        .prepare_cached(
            "SELECT limit_value, used FROM bounded_counters WHERE kind = ?1 AND id = ?2",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![key.kind().as_str(), key.id()], |row| {
                Ok(Bounds {
                    limit: row.get(0)?,
                    used: row.get(1)?,
                })
            })
            .optional()
        })
        .map_err(read_db)?;
    Ok(found.unwrap_or(Bounds::ZERO))
}

/// A counter from a `kind, id, limit_value, used` row.
pub(super) fn counter(row: &Row<'_>) -> ReadResult<(CounterKey, Bounds)> {
    let kind: String = row.get(0).map_err(read_db)?;
    let id: String = row.get(1).map_err(read_db)?;
    let kind = parse::<CounterKind>(&kind, "counter kind")?;
    let described = format!("counter id {id:?}");
    let key = CounterKey::new(kind, id).map_err(|e| ReadError::corrupt(described, e))?;
    Ok((
        key,
        Bounds {
            limit: row.get(2).map_err(read_db)?,
            used: row.get(3).map_err(read_db)?,
        },
    ))
}
