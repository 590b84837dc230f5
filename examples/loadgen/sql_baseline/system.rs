//! The SQL baseline as a system under test: each transaction decided by [`Plain`]
//! in memory, then written, in one `BEGIN IMMEDIATE` transaction, as o2c writes it.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;

use super::json::{CUSTOMER, ORDER, uid};
use crate::baseline::Plain;
use crate::mix::NewOrder;
use crate::workload::{Batch, Placed, Refusal, Workload};

/// The hand-written system on SQLite. Its one connection sits behind a mutex so
/// that the system can move between the threads concurrent callers run on; the
/// callers take turns on the whole system anyway ([`Locked`](crate::workload::Locked)),
/// as SQLite's single writer makes them.
pub(super) struct SqlPlain {
    pub(super) conn: Arc<Mutex<Connection>>,
    pub(super) plain: Plain,
    pub(super) names: Vec<(String, String)>,
    pub(super) customer_ids: Vec<String>,
    pub(super) customer_versions: Vec<i64>,
    pub(super) order_versions: Vec<i64>,
    pub(super) invoice_versions: Vec<i64>,
    pub(super) counter_version: Option<i64>,
    pub(super) last_event: i64,
    pub(super) last_entry: i64,
}

/// Where each write of one transaction starts in the in-memory logs.
#[derive(Clone, Copy)]
pub(super) struct Marks {
    pub(super) events: usize,
    pub(super) journal: usize,
}

/// What the read transactions need of a stored order.
#[derive(Deserialize)]
struct StoredOrder {
    value: StoredOrderValue,
}

#[derive(Deserialize)]
struct StoredOrderValue {
    lines: Vec<StoredLine>,
}

#[derive(Deserialize)]
struct StoredLine {
    sku: String,
}

/// The connection, for one statement or one transaction.
pub(super) fn lock(conn: &Mutex<Connection>) -> Result<MutexGuard<'_, Connection>, String> {
    conn.lock()
        .map_err(|_| "a caller panicked holding the connection".to_owned())
}

fn failed(e: impl std::fmt::Display) -> Refusal {
    Refusal::Failed(e.to_string())
}

impl SqlPlain {
    pub(super) fn new(
        conn: Arc<Mutex<Connection>>,
        plain: Plain,
        names: Vec<(String, String)>,
    ) -> Self {
        let customer_ids = (0..names.len()).map(|i| uid(CUSTOMER, i)).collect();
        Self {
            conn,
            plain,
            names,
            customer_ids,
            customer_versions: Vec::new(),
            order_versions: Vec::new(),
            invoice_versions: Vec::new(),
            counter_version: None,
            last_event: 0,
            last_entry: 0,
        }
    }

    pub(super) fn marks(&self) -> Marks {
        Marks {
            events: self.plain.events.len(),
            journal: self.plain.journal.len(),
        }
    }
}

impl Workload for SqlPlain {
    type OrderRef = usize;
    type InvoiceRef = usize;

    fn tick(&mut self) {
        self.plain.tick();
    }

    fn last_event(&mut self) -> Result<u64, String> {
        u64::try_from(self.last_event).map_err(|e| e.to_string())
    }

    fn journal_lines(&mut self) -> Result<u64, String> {
        self.plain.journal_lines()
    }

    fn place_order(&mut self, n: u64, order: &NewOrder) -> Result<Placed<usize, usize>, Refusal> {
        let m = self.marks();
        let placed = self.plain.place_order(n, order)?;
        self.write_placed(n, placed.order, placed.invoice, m, order)
            .map_err(failed)?;
        Ok(placed)
    }

    fn pay(&mut self, n: u64, invoice: usize, cents: i64) -> Result<(), String> {
        let m = self.marks();
        self.plain.pay(n, invoice, cents)?;
        self.write_payment(n, m).map_err(|e| e.to_string())
    }

    fn order_status(&mut self, customer: usize) -> Result<Option<usize>, String> {
        let id = self.customer_ids.get(customer).ok_or("unknown customer")?;
        let latest: Option<String> = lock(&self.conn)?
            .prepare_cached("SELECT order_id FROM customer_orders WHERE customer = ?1 ORDER BY seq DESC LIMIT 1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
            .map_err(|e| e.to_string())?;
        let Some(order) = latest else { return Ok(None) };
        Ok(Some(self.load_order(&order)?.value.lines.len()))
    }

    fn ship_batch(&mut self, limit: usize) -> Result<Batch, String> {
        let ready: Vec<usize> = self
            .plain
            .ready_to_ship
            .iter()
            .take(limit)
            .map(|&(_, id)| id)
            .collect();
        let mut batch = Batch::default();
        for id in ready {
            let (m, first) = (self.marks(), self.plain.shipments.len());
            match self.plain.ship(id) {
                Ok(shipments) => {
                    self.write_shipped(id, first, m)
                        .map_err(|e| e.to_string())?;
                    batch.orders += 1;
                    batch.shipments += shipments;
                }
                Err(e) => batch.failed.push(e),
            }
        }
        Ok(batch)
    }

    fn stock_level(&mut self, recent: &VecDeque<usize>) -> Result<(u64, u64), String> {
        let mut skus: HashSet<String> = HashSet::new();
        for &id in recent {
            skus.extend(
                self.load_order(&uid(ORDER, id))?
                    .value
                    .lines
                    .into_iter()
                    .map(|l| l.sku),
            );
        }
        let mut low = 0;
        for sku in &skus {
            let available: i64 = lock(&self.conn)?
                .prepare_cached("SELECT on_hand, reserved FROM stock WHERE sku = ?1")
                .and_then(|mut s| {
                    s.query_map([sku], |r| Ok(r.get::<_, i64>(0)? - r.get::<_, i64>(1)?))?
                        .sum()
                })
                .map_err(|e| e.to_string())?;
            let reorder = self.plain.products.get(sku).map_or(0, |p| p.reorder_point);
            if available < i64::from(reorder) {
                low += 1;
            }
        }
        Ok((skus.len() as u64, low))
    }
}

impl SqlPlain {
    fn load_order(&self, id: &str) -> Result<StoredOrder, String> {
        let body: String = lock(&self.conn)?
            .prepare_cached("SELECT body FROM records WHERE record_key = ?1")
            .and_then(|mut s| s.query_row([format!("order/{id}")], |r| r.get(0)))
            .map_err(|e| e.to_string())?;
        serde_json::from_str(&body).map_err(|e| e.to_string())
    }
}
