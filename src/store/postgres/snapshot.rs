//! One consistent read of a whole tenant: every table read in one read-only
//! `REPEATABLE READ` transaction (one snapshot, one round trip), kept as the rows
//! the server sent, and decoded as the reader visits them.
//!
//! [`Snapshot`] is synchronous and a network read is not, so the rows are read
//! first and the reader walks them after: the whole tenant is held in memory for
//! as long as the reader runs (the audit of a loadgen run of 20,000 transactions
//! holds some tens of megabytes).

use tokio_postgres::Row;

use super::pool::Conn;

use super::batch::Batch;
use super::commit::Target;
use super::reads::{self, BALANCES};
use crate::event::RecordedEvent;
use crate::ledger::{AccountBalance, JournalEntry};
use crate::stock::{StockLevel, StockMovement};
use crate::store::codec::scope_text;
use crate::store::codec::{from_json, to_u64};
use crate::store::{
    Bounds, CounterKey, FREIGHT_SCOPES, IdempotencyEntry, ReadResult, Record, Snapshot,
};

/// The rows of every table, as of one moment.
pub(super) struct Rows {
    records: Vec<Row>,
    stock: Vec<Row>,
    movements: Vec<Row>,
    counters: Vec<Row>,
    journal: Vec<Row>,
    balances: Vec<Row>,
    events: Vec<Row>,
    freight: Vec<Row>,
}

/// Reads every table of the tenant in one snapshot.
pub(super) async fn read(client: &Conn, target: &Target<'_>) -> ReadResult<Rows> {
    let mut batch = Batch::new();
    for template in [
        "SELECT record_key, version, body, kind FROM {s}.records",
        "SELECT sku, location, on_hand, reserved FROM {s}.stock",
        "SELECT body FROM {s}.movements ORDER BY sku, location, seq",
        "SELECT kind, id, limit_value, used FROM {s}.bounded_counters",
        "SELECT seq, body FROM {s}.journal ORDER BY seq",
        BALANCES,
        "SELECT sequence, recorded_at, body FROM {s}.events ORDER BY sequence",
    ] {
        batch.push(template.replace("{s}", target.schema), Vec::new());
    }
    let scopes: Vec<String> = FREIGHT_SCOPES
        .iter()
        .map(|s| scope_text(*s).to_owned())
        .collect();
    batch.push(
        "SELECT body FROM {s}.idempotency WHERE scope = ANY($1)".replace("{s}", target.schema),
        vec![super::batch::texts(scopes)],
    );
    let mut answers = reads::snapshot_of(client, target, batch).await?.into_iter();
    let mut next = || answers.next().unwrap_or_default();
    Ok(Rows {
        records: next(),
        stock: next(),
        movements: next(),
        counters: next(),
        journal: next(),
        balances: next(),
        events: next(),
        freight: next(),
    })
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, at: usize) -> ReadResult<T> {
    row.try_get(at).map_err(super::error::read_db)
}

impl Snapshot for Rows {
    fn each_record(&self, kind: &'static str, visit: &mut dyn FnMut(&Record)) -> ReadResult<()> {
        for row in &self.records {
            if get::<&str>(row, 3)? == kind {
                visit(&reads::record_row(row)?.1);
            }
        }
        Ok(())
    }

    fn each_stock_level(&self, visit: &mut dyn FnMut(&StockLevel)) -> ReadResult<()> {
        for row in &self.stock {
            visit(&reads::level(row)?);
        }
        Ok(())
    }

    fn each_movement(&self, visit: &mut dyn FnMut(&StockMovement)) -> ReadResult<()> {
        for row in &self.movements {
            visit(&from_json(get(row, 0)?, "stock movement")?);
        }
        Ok(())
    }

    fn each_bounded_counter(&self, visit: &mut dyn FnMut(&CounterKey, Bounds)) -> ReadResult<()> {
        for row in &self.counters {
            let (key, bounds) = reads::counter_row(row)?;
            visit(&key, bounds);
        }
        Ok(())
    }

    fn each_journal_entry(&self, visit: &mut dyn FnMut(u64, &JournalEntry)) -> ReadResult<()> {
        for row in &self.journal {
            let position = to_u64(get(row, 0)?, "journal position")?;
            let entry: JournalEntry =
                from_json(get(row, 1)?, format_args!("journal entry {position}"))?;
            visit(position, &entry);
        }
        Ok(())
    }

    fn account_balances(&self) -> ReadResult<Vec<AccountBalance>> {
        Ok(reads::sorted_balances(
            self.balances
                .iter()
                .map(reads::balance_row)
                .collect::<ReadResult<_>>()?,
        ))
    }

    fn each_event(&self, visit: &mut dyn FnMut(&RecordedEvent)) -> ReadResult<()> {
        for row in &self.events {
            visit(&reads::event_row(row)?);
        }
        Ok(())
    }

    fn each_freight_entry(&self, visit: &mut dyn FnMut(&IdempotencyEntry)) -> ReadResult<()> {
        for row in &self.freight {
            visit(&from_json(get(row, 0)?, "idempotency entry")?);
        }
        Ok(())
    }
}
