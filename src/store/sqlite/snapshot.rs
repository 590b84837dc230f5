//! [`Snapshot`] over one read transaction: every statement in it sees the database
//! as of the transaction's first read, whatever commits meanwhile (WAL mode).

use rusqlite::{Connection, Row};

use super::error::read_db;
use super::{counters, reads};
use crate::event::RecordedEvent;
use crate::ledger::{AccountBalance, JournalEntry};
use crate::stock::{StockLevel, StockMovement};
use crate::store::codec::scope_text;
use crate::store::codec::{from_json, to_u64};
use crate::store::{
    Bounds, CounterKey, FREIGHT_SCOPES, IdempotencyEntry, ReadResult, Record, Snapshot,
};

/// The connection a read transaction is open on.
pub(super) struct InTransaction<'c>(pub(super) &'c Connection);

impl InTransaction<'_> {
    /// Runs `sql` and hands each row to `visit`, one at a time: a big table is
    /// streamed through SQLite's cursor, never loaded whole.
    fn each_row(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        mut visit: impl FnMut(&Row<'_>) -> ReadResult<()>,
    ) -> ReadResult<()> {
        let mut stmt = self.0.prepare_cached(sql).map_err(read_db)?;
        let mut rows = stmt.query(params).map_err(read_db)?;
        while let Some(row) = rows.next().map_err(read_db)? {
            visit(row)?;
        }
        Ok(())
    }
}

fn body<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    column: usize,
    what: impl std::fmt::Display,
) -> ReadResult<T> {
    let text: String = row.get(column).map_err(read_db)?;
    from_json(&text, what)
}

impl Snapshot for InTransaction<'_> {
    fn each_record(&self, kind: &'static str, visit: &mut dyn FnMut(&Record)) -> ReadResult<()> {
        self.each_row(
            "SELECT body, record_key FROM records WHERE kind = ?1",
            [kind],
            |row| {
                let key: String = row.get(1).map_err(read_db)?;
                visit(&body::<Record>(row, 0, format_args!("record {key}"))?);
                Ok(())
            },
        )
    }

    fn each_stock_level(&self, visit: &mut dyn FnMut(&StockLevel)) -> ReadResult<()> {
        self.each_row(
            "SELECT sku, location, on_hand, reserved FROM stock",
            [],
            |row| {
                visit(&reads::level(row)?);
                Ok(())
            },
        )
    }

    fn each_movement(&self, visit: &mut dyn FnMut(&StockMovement)) -> ReadResult<()> {
        self.each_row("SELECT body FROM movements ORDER BY seq", [], |row| {
            visit(&body::<StockMovement>(row, 0, "stock movement")?);
            Ok(())
        })
    }

    fn each_bounded_counter(&self, visit: &mut dyn FnMut(&CounterKey, Bounds)) -> ReadResult<()> {
        self.each_row(
            "SELECT kind, id, limit_value, used FROM bounded_counters",
            [],
            |row| {
                let (key, bounds) = counters::counter(row)?;
                visit(&key, bounds);
                Ok(())
            },
        )
    }

    fn each_journal_entry(&self, visit: &mut dyn FnMut(u64, &JournalEntry)) -> ReadResult<()> {
        self.each_row("SELECT seq, body FROM journal ORDER BY seq", [], |row| {
            let position = to_u64(row.get(0).map_err(read_db)?, "journal position")?;
            visit(
                position,
                &body::<JournalEntry>(row, 1, format_args!("journal entry {position}"))?,
            );
            Ok(())
        })
    }

    fn account_balances(&self) -> ReadResult<Vec<AccountBalance>> {
        reads::account_balances(self.0)
    }

    fn each_event(&self, visit: &mut dyn FnMut(&RecordedEvent)) -> ReadResult<()> {
        self.each_row(
            "SELECT sequence, recorded_at, body FROM events ORDER BY sequence",
            [],
            |row| {
                visit(&reads::event(row)?);
                Ok(())
            },
        )
    }

    fn each_freight_entry(&self, visit: &mut dyn FnMut(&IdempotencyEntry)) -> ReadResult<()> {
        // One indexed range per scope: the primary key starts with it.
        for scope in FREIGHT_SCOPES {
            self.each_row(
                "SELECT body, idempotency_key FROM idempotency WHERE scope = ?1",
                [scope_text(scope)],
                |row| {
                    let key: String = row.get(1).map_err(read_db)?;
                    visit(&body::<IdempotencyEntry>(
                        row,
                        0,
                        format_args!("idempotency entry {key}"),
                    )?);
                    Ok(())
                },
            )?;
        }
        Ok(())
    }
}
