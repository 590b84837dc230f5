//! The guard of every bounded counter, stock's included, in SQL: one `UPDATE` that
//! adds the deltas to a row only if afterwards `0 ≤ used ≤ limit`
//! ([`Bounds::after`](crate::store::Bounds::after) in the memory store).
//!
//! The guard and the write are a single statement, as they would be in a database
//! without a global write lock, and the deltas add to whatever is stored, so two
//! commits moving one counter never conflict: only a failing guard stops a commit.

use rusqlite::{ToSql, Transaction};

use super::error::db;
use crate::store::StoreResult;

/// The guard as the tail of a `WHERE` clause, over a table's limit and used
/// columns. Its parameters are bound by [`add_within_bounds`]; the statement adds
/// `:limit_delta` and `:used_delta`.
macro_rules! within_bounds {
    ($limit:literal, $used:literal) => {
        concat!(
            $limit,
            " BETWEEN :limit_min AND :limit_max AND ",
            $used,
            " BETWEEN :used_min AND :used_max AND ",
            $used,
            " + :used_delta >= 0 AND ",
            $used,
            " + :used_delta <= ",
            $limit,
            " + :limit_delta"
        )
    };
}
pub(super) use within_bounds;

/// The range a column may hold so that adding `delta` cannot overflow `i64`. SQLite
/// would turn an overflowing sum into a float rather than fail, so the guard keeps
/// such rows out instead; the memory store's `checked_add` refuses the same ones.
fn no_overflow(delta: i64) -> (i64, i64) {
    if delta < 0 {
        (i64::MIN.saturating_sub(delta), i64::MAX)
    } else {
        (i64::MIN, i64::MAX.saturating_sub(delta))
    }
}

/// Runs `update`, a guarded `UPDATE` ending in [`within_bounds!`], on the row
/// `key` names (its named parameters), adding `limit_delta` and `used_delta`.
/// Returns whether the row changed: `false` is a failed guard (or no such row).
pub(super) fn add_within_bounds(
    tx: &Transaction<'_>,
    update: &str,
    key: &[(&str, &dyn ToSql)],
    limit_delta: i64,
    used_delta: i64,
) -> StoreResult<bool> {
    let (limit_min, limit_max) = no_overflow(limit_delta);
    let (used_min, used_max) = no_overflow(used_delta);
    let bounds: [(&str, &dyn ToSql); 6] = [
        (":limit_delta", &limit_delta),
        (":used_delta", &used_delta),
        (":limit_min", &limit_min),
        (":limit_max", &limit_max),
        (":used_min", &used_min),
        (":used_max", &used_max),
    ];
    let mut params: Vec<(&str, &dyn ToSql)> = Vec::with_capacity(key.len() + bounds.len());
    params.extend_from_slice(key);
    params.extend_from_slice(&bounds);
    let changed = tx
        .prepare_cached(update)
        .and_then(|mut stmt| stmt.execute(params.as_slice()))
        .map_err(db)?;
    Ok(changed == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_bounds_are_exact() {
        assert_eq!(no_overflow(0), (i64::MIN, i64::MAX));
        assert_eq!(no_overflow(5), (i64::MIN, i64::MAX - 5));
        assert_eq!(no_overflow(-5), (i64::MIN + 5, i64::MAX));
        assert_eq!(no_overflow(i64::MIN), (0, i64::MAX));
        assert_eq!(no_overflow(i64::MAX), (i64::MIN, 0));
    }

    #[test]
    fn the_guard_names_both_columns() {
        assert_eq!(
            within_bounds!("l", "u"),
            "l BETWEEN :limit_min AND :limit_max AND u BETWEEN :used_min AND :used_max \
             AND u + :used_delta >= 0 AND u + :used_delta <= l + :limit_delta"
        );
    }
}
