//! Statements sent together: one round trip for all of them.
//!
//! Each statement runs prepared on its connection (prepared the first time the
//! connection meets it, in a round trip of its own, then kept: see `Conn`), and
//! the futures are polled together, so the driver writes every statement before
//! the first answer comes back. Inside a transaction, the first statement that fails aborts it: the
//! ones after it fail too, and a `COMMIT` at the end becomes a rollback. The
//! caller reads the first failure, by position.

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::join_all;
use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use super::pool::Conn;

/// A statement's parameter with its PostgreSQL type.
pub(super) type Param = (Box<dyn ToSql + Sync + Send>, Type);

/// Text.
pub(super) fn text(value: impl Into<String>) -> Param {
    (Box::new(value.into()), Type::TEXT)
}

/// A 64-bit integer.
pub(super) fn int(value: i64) -> Param {
    (Box::new(value), Type::INT8)
}

/// An array of 64-bit integers.
pub(super) fn ints(values: Vec<i64>) -> Param {
    (Box::new(values), Type::INT8_ARRAY)
}

/// An array of text.
pub(super) fn texts(values: Vec<String>) -> Param {
    (Box::new(values), Type::TEXT_ARRAY)
}

/// What a store counts of its traffic.
#[derive(Debug, Default)]
pub(super) struct Counters {
    /// Round trips that ran statements.
    pub(super) round_trips: AtomicU64,
    /// Round trips that prepared statements new to their connection: once per
    /// statement per connection, then never again.
    pub(super) preparations: AtomicU64,
}

/// Statements to send in one round trip.
#[derive(Default)]
pub(super) struct Batch {
    statements: Vec<(String, Vec<Param>)>,
}

impl Batch {
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Adds a statement; returns its position among the answers.
    pub(super) fn push(&mut self, sql: String, params: Vec<Param>) -> usize {
        self.statements.push((sql, params));
        self.statements.len() - 1
    }

    pub(super) fn len(&self) -> usize {
        self.statements.len()
    }

    /// Sends every statement, then reads every answer, in order. Counts one
    /// round trip — two when some statement is new to this connection: those are
    /// prepared first, together, and kept (see [`Conn`]).
    pub(super) async fn send(
        &self,
        conn: &Conn,
        counters: &Counters,
    ) -> Vec<Result<Vec<Row>, tokio_postgres::Error>> {
        let mut fresh: Vec<&(String, Vec<Param>)> = Vec::new();
        for statement in &self.statements {
            if conn.prepared(&statement.0).is_none() && !fresh.iter().any(|f| f.0 == statement.0) {
                fresh.push(statement);
            }
        }
        if !fresh.is_empty() {
            counters.preparations.fetch_add(1, Ordering::Relaxed);
            let prepared = join_all(fresh.iter().map(|(sql, params)| {
                let types: Vec<Type> = params.iter().map(|(_, ty)| ty.clone()).collect();
                async move { (sql, conn.prepare_typed(sql, &types).await) }
            }))
            .await;
            // One that fails to prepare is sent unprepared below, where its error
            // surfaces in its place.
            for (sql, statement) in prepared {
                if let Ok(statement) = statement {
                    conn.keep(sql.clone(), statement);
                }
            }
        }
        counters.round_trips.fetch_add(1, Ordering::Relaxed);
        let params: Vec<Vec<&(dyn ToSql + Sync)>> = self
            .statements
            .iter()
            .map(|(_, params)| {
                params
                    .iter()
                    .map(|(value, _)| &**value as &(dyn ToSql + Sync))
                    .collect()
            })
            .collect();
        join_all(
            self.statements
                .iter()
                .zip(&params)
                .map(|((sql, typed), params)| {
                    let prepared = conn.prepared(sql);
                    async move {
                        match prepared {
                            Some(statement) => conn.query(&statement, params).await,
                            None => {
                                let typed: Vec<(&(dyn ToSql + Sync), Type)> = typed
                                    .iter()
                                    .map(|(value, ty)| {
                                        (&**value as &(dyn ToSql + Sync), ty.clone())
                                    })
                                    .collect();
                                conn.query_typed(sql, &typed).await
                            }
                        }
                    }
                }),
        )
        .await
    }
}

impl Batch {
    /// The same statements inside a read-only `REPEATABLE READ` transaction: one
    /// snapshot for all of them, still one round trip.
    pub(super) fn wrapped(self) -> Self {
        let mut statements = Vec::with_capacity(self.statements.len() + 2);
        statements.push((
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".to_owned(),
            Vec::new(),
        ));
        statements.extend(self.statements);
        statements.push(("COMMIT".to_owned(), Vec::new()));
        Self { statements }
    }
}
