//! Statements sent together: one round trip for all of them.
//!
//! Each statement goes as an unnamed extended-protocol query with its parameter
//! types given (`query_typed`), so nothing is prepared first, and the futures are
//! polled together, so the driver writes every statement before the first answer
//! comes back. Inside a transaction, the first statement that fails aborts it: the
//! ones after it fail too, and a `COMMIT` at the end becomes a rollback. The
//! caller reads the first failure, by position.

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::join_all;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row};

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

/// An array of text.
pub(super) fn texts(values: Vec<String>) -> Param {
    (Box::new(values), Type::TEXT_ARRAY)
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
    /// round trip.
    pub(super) async fn send(
        &self,
        client: &Client,
        round_trips: &AtomicU64,
    ) -> Vec<Result<Vec<Row>, tokio_postgres::Error>> {
        round_trips.fetch_add(1, Ordering::Relaxed);
        let params: Vec<Vec<(&(dyn ToSql + Sync), Type)>> = self
            .statements
            .iter()
            .map(|(_, params)| {
                params
                    .iter()
                    .map(|(value, ty)| (&**value as &(dyn ToSql + Sync), ty.clone()))
                    .collect()
            })
            .collect();
        join_all(
            self.statements
                .iter()
                .zip(&params)
                .map(|((sql, _), params)| client.query_typed(sql, params)),
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
