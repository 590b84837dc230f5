//! One consistent read of a whole store, for the audit and other reconciliations.

use super::{Bounds, CounterKey, Entity, IdempotencyEntry, IdempotencyScope, ReadResult, Record};
use crate::event::RecordedEvent;
use crate::ledger::{AccountBalance, JournalEntry};
use crate::stock::{StockLevel, StockMovement};

/// A read-only view of a whole store as of one moment, walked item by item.
///
/// Every method of one snapshot sees the same committed state: no commit that
/// finishes while the snapshot is open shows up in it, even partly. That is what
/// lets a reconciliation compare records with each other on a store that is being
/// written — reading the same things one query at a time, it would report as
/// broken whatever a commit changed between two of its reads.
///
/// The methods visit instead of returning lists, so a store streams a big table
/// (a database cursor, a map walked under its lock) and the reader keeps only what
/// it needs of each item. Visiting order is given per method.
///
/// Get one from [`Store::read_snapshot`](super::Store::read_snapshot).
pub trait Snapshot {
    /// Visits every record of one kind ([`Entity::kind`]), in no particular order.
    ///
    /// # Errors
    /// [`ReadError::Backend`](super::ReadError::Backend) if reading fails,
    /// [`ReadError::Corrupt`](super::ReadError::Corrupt) if a stored value does
    /// not decode. A snapshot only reads, so it never fails any other way.
    fn each_record(&self, kind: &'static str, visit: &mut dyn FnMut(&Record)) -> ReadResult<()>;

    /// Visits every stock level, in no particular order.
    ///
    /// # Errors
    /// As [`Snapshot::each_record`].
    fn each_stock_level(&self, visit: &mut dyn FnMut(&StockLevel)) -> ReadResult<()>;

    /// Visits every stock movement: oldest first within one SKU × location, in no
    /// particular order across them.
    ///
    /// # Errors
    /// As [`Snapshot::each_record`].
    fn each_movement(&self, visit: &mut dyn FnMut(&StockMovement)) -> ReadResult<()>;

    /// Visits every bounded counter other than stock that a commit has moved, with
    /// its values, in no particular order (stock's are
    /// [`Snapshot::each_stock_level`]).
    ///
    /// # Errors
    /// As [`Snapshot::each_record`].
    fn each_bounded_counter(&self, visit: &mut dyn FnMut(&CounterKey, Bounds)) -> ReadResult<()>;

    /// Visits every journal entry in posting order, with its position: positions
    /// start at 1 and have no gaps, so a missing one means an entry was lost.
    ///
    /// # Errors
    /// As [`Snapshot::each_record`].
    fn each_journal_entry(&self, visit: &mut dyn FnMut(u64, &JournalEntry)) -> ReadResult<()>;

    /// Every account's stored balance per currency.
    ///
    /// # Errors
    /// As [`Snapshot::each_record`].
    fn account_balances(&self) -> ReadResult<Vec<AccountBalance>>;

    /// Visits every event in sequence order.
    ///
    /// # Errors
    /// As [`Snapshot::each_record`].
    fn each_event(&self, visit: &mut dyn FnMut(&RecordedEvent)) -> ReadResult<()>;

    /// Visits every idempotency entry of the own fleet's scopes
    /// ([`FREIGHT_SCOPES`]: runs opened, bookings, cancellations), in no
    /// particular order: what the audit checks each run's counters against. A
    /// store reads them by scope, never every entry it keeps.
    ///
    /// # Errors
    /// As [`Snapshot::each_record`].
    fn each_freight_entry(&self, visit: &mut dyn FnMut(&IdempotencyEntry)) -> ReadResult<()>;
}

/// The scopes [`Snapshot::each_freight_entry`] visits.
pub const FREIGHT_SCOPES: [IdempotencyScope; 3] = [
    IdempotencyScope::OpenFreightRun,
    IdempotencyScope::BookFreight,
    IdempotencyScope::CancelFreight,
];

/// Visits every entity of type `E` in `snapshot`.
///
/// # Errors
/// As [`Snapshot::each_record`].
pub fn each<E: Entity>(snapshot: &dyn Snapshot, mut visit: impl FnMut(&E)) -> ReadResult<()> {
    snapshot.each_record(E::kind(), &mut |record| {
        if let Some(entity) = E::from_record_ref(record) {
            visit(entity);
        }
    })
}
