//! The PostgreSQL baseline as a system under test: each command decided by
//! [`Plain`] in memory under one lock, then written by the caller, outside the
//! lock, in one pipelined transaction on its own connection.

use std::collections::{HashSet, VecDeque};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::ids::{CUSTOMER, ORDER, uid};
use super::statements::{PgCaller, Stmt, Write, send};
use super::writes;
use crate::baseline::Plain;
use crate::mix::NewOrder;
use crate::workload::{Batch, Placed, Refusal, System, Workload};

/// What the callers share: the decisions, and which placed orders have committed.
struct State {
    plain: Plain,
    /// Orders whose placement committed: only these may be shipped, so a ship
    /// never overtakes the reservation it picks.
    committed: HashSet<usize>,
}

/// The hand-written system on PostgreSQL.
pub(crate) struct PgPlain {
    url: String,
    schema: String,
    state: Mutex<State>,
    round_trips: AtomicU64,
}

impl PgPlain {
    pub(super) fn new(url: String, schema: String, plain: Plain) -> Self {
        Self {
            url,
            schema,
            state: Mutex::new(State {
                plain,
                committed: HashSet::new(),
            }),
            round_trips: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, String> {
        self.state
            .lock()
            .map_err(|_| "a caller panicked holding the baseline".to_owned())
    }

    /// One read statement's rows, in one round trip.
    async fn read(
        &self,
        caller: &PgCaller,
        stmt: Stmt,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, String> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        caller
            .client
            .query(caller.statement(stmt)?, params)
            .await
            .map_err(|e| format!("{stmt:?}: {e}"))
    }

    async fn count(&self, caller: &PgCaller, stmt: Stmt) -> Result<u64, String> {
        let rows = self.read(caller, stmt, &[]).await?;
        let n: i64 = rows
            .first()
            .ok_or("no row")?
            .try_get(0)
            .map_err(|e| e.to_string())?;
        u64::try_from(n).map_err(|e| e.to_string())
    }
}

impl System for PgPlain {
    type OrderRef = usize;
    type InvoiceRef = usize;
    type Caller = PgCaller;

    async fn caller(&self) -> Result<PgCaller, String> {
        PgCaller::connect(&self.url, &self.schema).await
    }

    fn tick(&self) {
        if let Ok(mut state) = self.lock() {
            state.plain.tick();
        }
    }

    fn round_trips(&self) -> Option<u64> {
        Some(self.round_trips.load(Ordering::Relaxed))
    }

    async fn last_event(&self, caller: &mut PgCaller) -> Result<u64, String> {
        self.count(caller, Stmt::LastEvent).await
    }

    async fn journal_lines(&self, caller: &mut PgCaller) -> Result<u64, String> {
        self.count(caller, Stmt::JournalLines).await
    }

    async fn place_order(
        &self,
        caller: &mut PgCaller,
        n: u64,
        order: &NewOrder,
    ) -> Result<Placed<usize, usize>, Refusal> {
        let (placed, writes) = {
            let mut state = self.lock().map_err(Refusal::Failed)?;
            let m = writes::marks(&state.plain);
            let placed = state.plain.place_order(n, order)?;
            let writes = writes::placed(&state.plain, n, placed.order, placed.invoice, m)
                .map_err(Refusal::Failed)?;
            (placed, writes)
        };
        send(caller, &writes, &self.round_trips)
            .await
            .map_err(Refusal::Failed)?;
        self.lock()
            .map_err(Refusal::Failed)?
            .committed
            .insert(placed.order);
        Ok(placed)
    }

    async fn pay(
        &self,
        caller: &mut PgCaller,
        n: u64,
        invoice: usize,
        cents: i64,
    ) -> Result<(), String> {
        let writes = {
            let mut state = self.lock()?;
            let m = writes::marks(&state.plain);
            state.plain.pay(n, invoice, cents)?;
            writes::payment(&state.plain, n, m)?
        };
        send(caller, &writes, &self.round_trips).await
    }

    async fn order_status(
        &self,
        caller: &mut PgCaller,
        customer: usize,
    ) -> Result<Option<usize>, String> {
        let id = uid(CUSTOMER, customer);
        let rows = self.read(caller, Stmt::LatestOrder, &[&id]).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        // What the caller gets back: the order's statuses and its lines.
        for row in &rows {
            let line: (String, String, String, i32, i32, String, i32, i32, String) = (
                row.try_get(0).map_err(|e| e.to_string())?,
                row.try_get(1).map_err(|e| e.to_string())?,
                row.try_get(2).map_err(|e| e.to_string())?,
                row.try_get(3).map_err(|e| e.to_string())?,
                row.try_get(4).map_err(|e| e.to_string())?,
                row.try_get(5).map_err(|e| e.to_string())?,
                row.try_get(6).map_err(|e| e.to_string())?,
                row.try_get(7).map_err(|e| e.to_string())?,
                row.try_get(8).map_err(|e| e.to_string())?,
            );
            black_box(line);
        }
        Ok(Some(rows.len()))
    }

    async fn ship_batch(&self, caller: &mut PgCaller, limit: usize) -> Result<Batch, String> {
        let mut batch = Batch::default();
        let mut plans: Vec<Vec<Write>> = Vec::new();
        {
            let mut state = self.lock()?;
            let ready: Vec<usize> = state
                .plain
                .ready_to_ship
                .iter()
                .map(|&(_, id)| id)
                .filter(|id| state.committed.contains(id))
                .take(limit)
                .collect();
            for id in ready {
                let (m, first) = (writes::marks(&state.plain), state.plain.shipments.len());
                match state.plain.ship(id) {
                    Ok(shipments) => {
                        plans.push(writes::shipped(&state.plain, id, first, m)?);
                        batch.shipments += shipments;
                        state.committed.remove(&id);
                    }
                    Err(e) => batch.failed.push(e),
                }
            }
        }
        // One transaction per order, as o2c ships each in a command of its own.
        for plan in plans {
            match send(caller, &plan, &self.round_trips).await {
                Ok(()) => batch.orders += 1,
                Err(e) => batch.failed.push(e),
            }
        }
        Ok(batch)
    }

    async fn stock_level(
        &self,
        caller: &mut PgCaller,
        recent: &VecDeque<usize>,
    ) -> Result<(u64, u64), String> {
        let ids: Vec<String> = recent.iter().map(|&id| uid(ORDER, id)).collect();
        let rows = self.read(caller, Stmt::StockLevel, &[&ids]).await?;
        let row = rows.first().ok_or("no row")?;
        let skus: i64 = row.try_get(0).map_err(|e| e.to_string())?;
        let low: i64 = row.try_get(1).map_err(|e| e.to_string())?;
        Ok((
            u64::try_from(skus).map_err(|e| e.to_string())?,
            u64::try_from(low).map_err(|e| e.to_string())?,
        ))
    }
}
