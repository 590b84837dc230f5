//! Guarded stock deltas and the movement journal, in SQL.
//!
//! A commit's movements and reservation changes are summed per SKU × location
//! ([`Changeset::stock_deltas`], as the memory store sums them), then each sum is one guarded `UPDATE`: the row changes
//! only if afterwards `0 ≤ reserved ≤ on_hand`. Deltas add to whatever is stored, so
//! two commits on one SKU never conflict; only a failing guard stops a commit.

use rusqlite::{Transaction, named_params, params};

use super::codec::to_json;
use super::error::db;
use crate::stock::StockMovement;
use crate::store::{Changeset, StockDelta, StoreError, StoreResult};

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

/// Adds `delta` to one level, or leaves it untouched when the result would break
/// `0 ≤ reserved ≤ on_hand` (or overflow). One statement: the guard and the write
/// are a single step, as they would be in a database without a global write lock.
const GUARDED_UPDATE: &str = "
UPDATE stock SET on_hand = on_hand + :on_hand_delta, reserved = reserved + :reserved_delta
 WHERE sku = :sku AND location = :location
   AND on_hand BETWEEN :on_hand_min AND :on_hand_max
   AND reserved BETWEEN :reserved_min AND :reserved_max
   AND reserved + :reserved_delta >= 0
   AND reserved + :reserved_delta <= on_hand + :on_hand_delta";

/// Applies the changeset's stock deltas under the guard.
///
/// # Errors
/// [`StoreError::Invalid`] when a sum overflows, [`StoreError::InsufficientStock`] with
/// the level as it was when a guard fails, [`StoreError::Backend`].
pub(super) fn apply_guarded(tx: &Transaction<'_>, changes: &Changeset) -> StoreResult<()> {
    for StockDelta {
        sku,
        location,
        on_hand: on_hand_delta,
        reserved: reserved_delta,
    } in changes.stock_deltas()?
    {
        // A SKU × location that has never held stock starts at zero; like the memory
        // store, it is listed from now on even if this commit adds nothing to it.
        tx.prepare_cached(
            "INSERT INTO stock (sku, location, on_hand, reserved) VALUES (?1, ?2, 0, 0)
             ON CONFLICT (sku, location) DO NOTHING",
        )
        .and_then(|mut stmt| stmt.execute(params![sku.as_str(), location.as_str()]))
        .map_err(db)?;
        let (on_hand_min, on_hand_max) = no_overflow(on_hand_delta);
        let (reserved_min, reserved_max) = no_overflow(reserved_delta);
        let changed = tx
            .prepare_cached(GUARDED_UPDATE)
            .and_then(|mut stmt| {
                stmt.execute(named_params! {
                    ":on_hand_delta": on_hand_delta,
                    ":reserved_delta": reserved_delta,
                    ":sku": sku.as_str(),
                    ":location": location.as_str(),
                    ":on_hand_min": on_hand_min,
                    ":on_hand_max": on_hand_max,
                    ":reserved_min": reserved_min,
                    ":reserved_max": reserved_max,
                })
            })
            .map_err(db)?;
        if changed == 0 {
            let (on_hand, reserved) = tx
                .query_row(
                    "SELECT on_hand, reserved FROM stock WHERE sku = ?1 AND location = ?2",
                    params![sku.as_str(), location.as_str()],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .map_err(db)?;
            return Err(StoreError::InsufficientStock {
                sku,
                location,
                on_hand,
                reserved,
                on_hand_delta,
                reserved_delta,
            });
        }
    }
    Ok(())
}

/// Appends movements to the journal, in changeset order.
pub(super) fn append_movements(
    tx: &Transaction<'_>,
    movements: &[StockMovement],
) -> StoreResult<()> {
    if movements.is_empty() {
        return Ok(());
    }
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO movements (sku, location, quantity, body) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(db)?;
    for m in movements {
        stmt.execute(params![
            m.sku.as_str(),
            m.location.as_str(),
            m.quantity,
            to_json(m)?
        ])
        .map_err(db)?;
    }
    Ok(())
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
}
