//! Why the PostgreSQL store pipelines: a command's prefetch — five reads from
//! one snapshot — sent five ways to the same server.
//!
//! - `pipelined_unprepared`: every statement written before the first answer is
//!   read, each with its parameter types (`query_typed`): one round trip.
//! - `one_by_one_unprepared`: the same statements, each awaited before the next is
//!   sent (what a driver without pipelining does): seven round trips.
//! - `one_by_one_prepared`: as above with statements prepared once and reused
//!   (a statement cache, as most pools keep): seven round trips, less parsing.
//! - `pipelined_prepared`: prepared and pipelined: one round trip, no parsing.
//! - `one_statement_prepared`: the five reads as one prepared statement, their
//!   rows in one shape joined by `UNION ALL`: one round trip, one snapshot
//!   without a transaction around it, one answer to read (the shape the store
//!   sends a fetch in; the store writes whole kinds by name, where this
//!   passes one as a parameter).
//!
//! Run with `cargo bench --features postgres --bench postgres_driver` (the server
//! is `O2C_POSTGRES_URL`, else `postgres://postgres@127.0.0.1:5432/test`; the
//! bench makes and drops a schema of its own).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::expect_used
)]

use std::sync::LazyLock;

use divan::Bencher;
use futures_util::future::join_all;
use tokio::runtime::Runtime;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Statement};

fn main() {
    divan::main();
    RUNTIME.block_on(async {
        SERVER
            .client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            .await
            .unwrap();
    });
}

const SCHEMA: &str = "o2c_bench_driver";

static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
});

struct Server {
    client: Client,
    prepared: Vec<Statement>,
    one: Statement,
}

/// [`READS`] as one statement, each row tagged with the read it answers.
const ONE: &str = "SELECT 0, record_key, NULL::text, version, NULL::int8, body
     FROM o2c_bench_driver.records WHERE record_key = ANY($1)
     UNION ALL
     SELECT 1, sku, location, on_hand, reserved, NULL::text
     FROM o2c_bench_driver.stock WHERE sku = ANY($2)
     UNION ALL
     SELECT 2, NULL::text, NULL::text, NULL::int8, NULL::int8, body
     FROM o2c_bench_driver.idempotency WHERE scope = $3 AND idempotency_key = $4
     UNION ALL
     (SELECT 3, record_key, NULL::text, version, NULL::int8, body
      FROM o2c_bench_driver.records WHERE kind = $5 LIMIT 0)
     UNION ALL
     SELECT 4, record_key, NULL::text, version, NULL::int8, body
     FROM o2c_bench_driver.records WHERE record_key = ANY($6) AND kind = 'product'";

/// The reads a placement's prefetch makes: the customer with what it names, the
/// stock of its SKUs, the idempotency key, two bounded counters, the open
/// purchase orders of its SKUs.
const READS: [(&str, &[Type]); 5] = [
    (
        "SELECT record_key, version, body FROM o2c_bench_driver.records WHERE record_key = ANY($1)",
        &[Type::TEXT_ARRAY],
    ),
    (
        "SELECT sku, location, on_hand, reserved FROM o2c_bench_driver.stock
         WHERE sku = ANY($1) ORDER BY sku, location",
        &[Type::TEXT_ARRAY],
    ),
    (
        "SELECT body FROM o2c_bench_driver.idempotency WHERE scope = $1 AND idempotency_key = $2",
        &[Type::TEXT, Type::TEXT],
    ),
    (
        "SELECT record_key, version, body FROM o2c_bench_driver.records WHERE kind = $1 LIMIT 0",
        &[Type::TEXT],
    ),
    (
        "SELECT record_key, version, body FROM o2c_bench_driver.records
         WHERE record_key = ANY($1) AND kind = 'product'",
        &[Type::TEXT_ARRAY],
    ),
];

static SERVER: LazyLock<Server> = LazyLock::new(|| {
    RUNTIME.block_on(async {
        let url = std::env::var("O2C_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let (client, connection) = tokio_postgres::connect(&url, NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} (set O2C_POSTGRES_URL): {e}"));
        tokio::spawn(connection);
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA};
                 CREATE TABLE {SCHEMA}.records (record_key text COLLATE \"C\" PRIMARY KEY,
                     kind text NOT NULL, version bigint NOT NULL, body text NOT NULL);
                 CREATE TABLE {SCHEMA}.stock (sku text, location text, on_hand bigint,
                     reserved bigint, PRIMARY KEY (sku, location));
                 CREATE TABLE {SCHEMA}.idempotency (scope text, idempotency_key text,
                     body text, PRIMARY KEY (scope, idempotency_key));
                 INSERT INTO {SCHEMA}.records
                     SELECT 'product/SKU-' || n, 'product', 1, repeat('x', 400)
                     FROM generate_series(1, 1000) n;
                 INSERT INTO {SCHEMA}.records
                     SELECT 'customer/' || n, 'customer', 1, repeat('y', 600)
                     FROM generate_series(1, 1000) n;
                 INSERT INTO {SCHEMA}.stock
                     SELECT 'SKU-' || n, 'WH-' || w, 1000, 10
                     FROM generate_series(1, 1000) n, generate_series(1, 2) w;"
            ))
            .await
            .unwrap();
        let mut prepared = Vec::new();
        for (sql, types) in READS {
            prepared.push(client.prepare_typed(sql, types).await.unwrap());
        }
        let one = client
            .prepare_typed(
                ONE,
                &[
                    Type::TEXT_ARRAY,
                    Type::TEXT_ARRAY,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT_ARRAY,
                ],
            )
            .await
            .unwrap();
        Server {
            client,
            prepared,
            one,
        }
    })
});

fn params() -> Vec<Box<dyn ToSql + Sync + Send>> {
    let skus: Vec<String> = (1..=8).map(|n| format!("SKU-{}", n * 97)).collect();
    let products: Vec<String> = skus.iter().map(|s| format!("product/{s}")).collect();
    vec![
        Box::new(vec!["customer/17".to_owned()]),
        Box::new(skus),
        Box::new("place_order".to_owned()),
        Box::new("key-1".to_owned()),
        Box::new("purchase_order".to_owned()),
        Box::new(products),
    ]
}

/// The parameters of read `i`.
fn of(p: &[Box<dyn ToSql + Sync + Send>], i: usize) -> Vec<&(dyn ToSql + Sync)> {
    let pick = |at: usize| &*p[at] as &(dyn ToSql + Sync);
    match i {
        0 => vec![pick(0)],
        1 => vec![pick(1)],
        2 => vec![pick(2), pick(3)],
        3 => vec![pick(4)],
        _ => vec![pick(5)],
    }
}

#[divan::bench(sample_count = 400)]
fn pipelined_unprepared(b: Bencher) {
    let server = &*SERVER;
    let p = params();
    b.bench_local(|| {
        RUNTIME.block_on(async {
            let typed: Vec<Vec<(&(dyn ToSql + Sync), Type)>> = (0..READS.len())
                .map(|i| {
                    of(&p, i)
                        .into_iter()
                        .zip(READS[i].1.iter().cloned())
                        .collect()
                })
                .collect();
            let begin = server
                .client
                .query_typed("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &[]);
            let reads = join_all(
                typed
                    .iter()
                    .enumerate()
                    .map(|(i, params)| server.client.query_typed(READS[i].0, params)),
            );
            let commit = server.client.query_typed("COMMIT", &[]);
            let (b, r, c) = futures_util::join!(begin, reads, commit);
            b.unwrap();
            c.unwrap();
            r.into_iter()
                .map(Result::unwrap)
                .map(|rows| rows.len())
                .sum::<usize>()
        })
    });
}

#[divan::bench(sample_count = 400)]
fn one_by_one_unprepared(b: Bencher) {
    let server = &*SERVER;
    let p = params();
    b.bench_local(|| {
        RUNTIME.block_on(async {
            server
                .client
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
                .unwrap();
            let mut n = 0;
            for (i, (sql, types)) in READS.iter().enumerate() {
                let typed: Vec<(&(dyn ToSql + Sync), Type)> =
                    of(&p, i).into_iter().zip(types.iter().cloned()).collect();
                n += server.client.query_typed(sql, &typed).await.unwrap().len();
            }
            server.client.batch_execute("COMMIT").await.unwrap();
            n
        })
    });
}

#[divan::bench(sample_count = 400)]
fn one_by_one_prepared(b: Bencher) {
    let server = &*SERVER;
    let p = params();
    b.bench_local(|| {
        RUNTIME.block_on(async {
            server
                .client
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
                .unwrap();
            let mut n = 0;
            for (i, statement) in server.prepared.iter().enumerate() {
                n += server
                    .client
                    .query(statement, &of(&p, i))
                    .await
                    .unwrap()
                    .len();
            }
            server.client.batch_execute("COMMIT").await.unwrap();
            n
        })
    });
}

#[divan::bench(sample_count = 400)]
fn pipelined_prepared(b: Bencher) {
    let server = &*SERVER;
    let p = params();
    b.bench_local(|| {
        RUNTIME.block_on(async {
            let begin = server
                .client
                .query_typed("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &[]);
            let each: Vec<Vec<&(dyn ToSql + Sync)>> = (0..READS.len()).map(|i| of(&p, i)).collect();
            let reads = join_all(
                server
                    .prepared
                    .iter()
                    .zip(&each)
                    .map(|(statement, params)| server.client.query(statement, params)),
            );
            let commit = server.client.query_typed("COMMIT", &[]);
            let (b, r, c) = futures_util::join!(begin, reads, commit);
            b.unwrap();
            c.unwrap();
            r.into_iter()
                .map(Result::unwrap)
                .map(|rows| rows.len())
                .sum::<usize>()
        })
    });
}

#[divan::bench(sample_count = 400)]
fn one_statement_prepared(b: Bencher) {
    let server = &*SERVER;
    let p = params();
    let all: Vec<&(dyn ToSql + Sync)> = p.iter().map(|v| &**v as &(dyn ToSql + Sync)).collect();
    b.bench_local(|| {
        RUNTIME.block_on(async { server.client.query(&server.one, &all).await.unwrap().len() })
    });
}
