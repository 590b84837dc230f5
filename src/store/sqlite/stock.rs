//! Guarded stock deltas and the movement journal, in SQL.
//!
//! A commit's movements and reservation changes are summed per SKU × location
//! ([`Changeset::stock_deltas`], as the memory store sums them), then each sum is
//! one guarded `UPDATE` of the SKU × location's row: stock is a bounded counter
//! (on-hand the limit, reserved what is used), moved under the guard every bounded
//! counter shares ([`bounds`](super::bounds)).

use rusqlite::{Transaction, params};

use super::bounds::{add_within_bounds, within_bounds};
use super::error::db;
use crate::stock::StockMovement;
use crate::store::codec::to_json;
use crate::store::{Changeset, StockDelta, StoreError, StoreResult};

/// Adds the deltas to one level, or leaves it untouched when the result would break
/// `0 ≤ reserved ≤ on_hand` (or overflow).
const GUARDED_UPDATE: &str = concat!(
    "UPDATE stock SET on_hand = on_hand + :limit_delta, reserved = reserved + :used_delta
 WHERE sku = :sku AND location = :location AND ",
    within_bounds!("on_hand", "reserved")
);

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
        let moved = add_within_bounds(
            tx,
            GUARDED_UPDATE,
            &[(":sku", &sku.as_str()), (":location", &location.as_str())],
            on_hand_delta,
            reserved_delta,
        )?;
        if !moved {
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
