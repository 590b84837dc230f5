//! A tenant's schema, as an ordered list of migration steps, and the upgrade that
//! applies them.
//!
//! Every tenant is one PostgreSQL schema holding the tables below; `{s}` in the
//! SQL is the schema's quoted name. Step `i` (0-based) takes a tenant from version
//! `i` to `i + 1`; the version sits in the tenant's `o2c_meta` table beside the
//! marker `application = o2c`, which tells an o2c tenant from a foreign schema of
//! the same name. To change the schema, append a step: never edit one that has
//! shipped.
//!
//! Money is `numeric` (exact, any scale) or JSON text, quantities and versions
//! `bigint`: never a float. Keys, SKUs and locations compare with `COLLATE "C"`,
//! bytewise as Rust orders `str`, whatever the database's locale.

use tokio_postgres::Client;

use super::error::PostgresError;
use super::tenant::TenantName;

/// The migration steps, oldest first.
const MIGRATIONS: &[&str] = &[V1, DUE_WORK];

/// The schema version this build writes: the number of steps.
pub(super) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// The marker table, made before any step.
const META: &str = "CREATE TABLE {s}.o2c_meta (
    key   text COLLATE \"C\" PRIMARY KEY,
    value text NOT NULL
);
INSERT INTO {s}.o2c_meta (key, value) VALUES ('application', 'o2c'), ('schema_version', '0');";

/// Version 1 (o2c 0.2): every table the `Store` contract needs.
const V1: &str = r#"
-- Entities: the serde_json of `Record`, its version beside it so optimistic checks
-- never parse JSON, and the keys of the records it names (`Record::names`), so a
-- fetch follows them on the server, in the same statement.
CREATE TABLE {s}.records (
    record_key text COLLATE "C" PRIMARY KEY,
    kind       text COLLATE "C" NOT NULL,
    version    bigint NOT NULL CHECK (version >= 1),
    body       text NOT NULL,
    names      text[] COLLATE "C" NOT NULL DEFAULT '{}'
);
CREATE INDEX records_by_kind ON {s}.records (kind, record_key);

-- Stock per SKU x location: the guard holds as a constraint too.
CREATE TABLE {s}.stock (
    sku      text COLLATE "C" NOT NULL,
    location text COLLATE "C" NOT NULL,
    on_hand  bigint NOT NULL,
    reserved bigint NOT NULL,
    PRIMARY KEY (sku, location),
    CHECK (0 <= reserved AND reserved <= on_hand)
);

-- Append-only movement journal; writers of one SKU x location take turns on its
-- stock row, so `seq` orders each one's movements as they committed.
CREATE TABLE {s}.movements (
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku      text COLLATE "C" NOT NULL,
    location text COLLATE "C" NOT NULL,
    quantity bigint NOT NULL,
    body     text NOT NULL
);
CREATE INDEX movements_by_stock ON {s}.movements (sku, location, seq);

-- The ledger, gapless from 1 in posting order.
CREATE TABLE {s}.journal (
    seq  bigint PRIMARY KEY CHECK (seq >= 1),
    body text NOT NULL
);

-- Balances per account and currency, exact.
CREATE TABLE {s}.balances (
    account  text COLLATE "C" NOT NULL,
    currency text COLLATE "C" NOT NULL,
    balance  numeric NOT NULL,
    PRIMARY KEY (account, currency)
);

-- Domain events, gapless from 1 in commit order.
CREATE TABLE {s}.events (
    sequence    bigint PRIMARY KEY CHECK (sequence >= 1),
    recorded_at text NOT NULL,
    body        text NOT NULL
);

-- Where the journal and the event log end: one row each, moved last in a commit.
CREATE TABLE {s}.positions (
    name text COLLATE "C" PRIMARY KEY,
    last bigint NOT NULL CHECK (last >= 0)
);
INSERT INTO {s}.positions (name, last) VALUES ('events', 0), ('journal', 0);

-- Document numbers: one row per series, gapless from 1.
CREATE TABLE {s}.series (
    name text COLLATE "C" PRIMARY KEY,
    last bigint NOT NULL CHECK (last >= 1)
);

-- Used idempotency keys; the primary key is the uniqueness the contract asks for.
CREATE TABLE {s}.idempotency (
    scope           text COLLATE "C" NOT NULL,
    idempotency_key text COLLATE "C" NOT NULL,
    body            text NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);

-- A customer's orders in commit order.
CREATE TABLE {s}.customer_orders (
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer text COLLATE "C" NOT NULL,
    order_id text COLLATE "C" NOT NULL
);
CREATE INDEX customer_orders_by_customer ON {s}.customer_orders (customer, seq);

-- Orders ready to ship, by placement time (seconds, then nanoseconds) and id.
CREATE TABLE {s}.ready_to_ship (
    placed_secs  bigint NOT NULL,
    placed_nanos bigint NOT NULL,
    order_id     text COLLATE "C" NOT NULL,
    PRIMARY KEY (placed_secs, placed_nanos, order_id)
);

-- Every order by placement time, with what a listing filters on.
CREATE TABLE {s}.order_list (
    placed_secs  bigint NOT NULL,
    placed_nanos bigint NOT NULL,
    order_id     text COLLATE "C" NOT NULL,
    customer     text COLLATE "C" NOT NULL,
    channel      text COLLATE "C" NOT NULL,
    status       text COLLATE "C" NOT NULL,
    PRIMARY KEY (placed_secs, placed_nanos, order_id)
);
CREATE INDEX order_list_by_customer ON {s}.order_list (customer, placed_secs, placed_nanos, order_id);
CREATE INDEX order_list_by_status ON {s}.order_list (status, placed_secs, placed_nanos, order_id);

-- The index terms of each record (`Record::index_terms`).
CREATE TABLE {s}.record_terms (
    kind       text COLLATE "C" NOT NULL,
    term       text COLLATE "C" NOT NULL,
    record_key text COLLATE "C" NOT NULL,
    PRIMARY KEY (kind, term, record_key)
);
CREATE INDEX record_terms_by_record ON {s}.record_terms (record_key);

-- Bounded counters other than stock.
CREATE TABLE {s}.bounded_counters (
    kind        text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    limit_value bigint NOT NULL,
    used        bigint NOT NULL,
    PRIMARY KEY (kind, id),
    CHECK (0 <= used AND used <= limit_value)
);
"#;

/// Due work (`Record::due_work`): what each order, invoice and purchase order
/// falls due for and the second it does, rewritten with every put of the record:
/// what `Oms::run_due` finds its work by. Filled from the records already stored
/// by the same rule as the SQLite store's step (an order under its holds at its
/// placement, an open invoice at its due time, a sent purchase order at midnight
/// UTC after its expected day), times cut to the second as written. A leap
/// second (`:60`) reads as the next minute's first here; chrono never writes
/// one for a time o2c stamps.
const DUE_WORK: &str = r#"
CREATE TABLE {s}.due_work (
    kind       text COLLATE "C" NOT NULL,
    due_secs   bigint NOT NULL,
    record_key text COLLATE "C" NOT NULL,
    PRIMARY KEY (kind, due_secs, record_key)
);
CREATE INDEX due_work_by_record ON {s}.due_work (record_key);
INSERT INTO {s}.due_work (kind, due_secs, record_key)
    SELECT DISTINCT CASE WHEN hold IN ('awaiting_payment', 'AwaitingPayment')
                         THEN 'awaiting_payment' ELSE 'credit_hold' END,
           extract(epoch FROM (left(r.body::jsonb #>> '{value,placed_at}', 19) || 'Z')::timestamptz)::bigint,
           r.record_key
    FROM {s}.records AS r,
         jsonb_array_elements_text(COALESCE(r.body::jsonb #> '{value,holds}', '[]'::jsonb)) AS hold
    WHERE r.kind = 'order'
      AND hold IN ('awaiting_payment', 'AwaitingPayment', 'credit_limit', 'CreditLimit')
    ON CONFLICT DO NOTHING;
INSERT INTO {s}.due_work (kind, due_secs, record_key)
    SELECT 'reminder',
           extract(epoch FROM (left(body::jsonb #>> '{value,due_at}', 19) || 'Z')::timestamptz)::bigint,
           record_key
    FROM {s}.records
    WHERE kind = 'invoice' AND body::jsonb #>> '{value,status}' IN ('open', 'Open')
    ON CONFLICT DO NOTHING;
INSERT INTO {s}.due_work (kind, due_secs, record_key)
    SELECT 'delivery',
           extract(epoch FROM (((body::jsonb #>> '{value,expected_on}')::date + 1)::timestamp
                               AT TIME ZONE 'UTC'))::bigint,
           record_key
    FROM {s}.records
    WHERE kind = 'purchase_order'
      AND body::jsonb #>> '{value,status}'
          IN ('approved', 'partially_received', 'Approved', 'PartiallyReceived')
    ON CONFLICT DO NOTHING;
"#;

/// The key of the advisory lock that upgrades of one tenant take in turn.
const LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('o2c schema ' || $1)::bigint)";

/// Brings `tenant`'s schema to [`CURRENT_VERSION`] in one transaction, under an
/// advisory lock, so processes opening it at once take turns and each finds the
/// work done or does it whole. With `create`, a missing schema is created;
/// without, it is [`PostgresError::NoSuchTenant`]. A foreign schema or a newer
/// one is refused before anything in it changes. On an error the transaction is
/// left for the caller to roll back.
pub(super) async fn migrate(
    client: &Client,
    tenant: &TenantName,
    create: bool,
) -> Result<(), PostgresError> {
    client.batch_execute("BEGIN").await.map_err(backend)?;
    client
        .execute(LOCK, &[&tenant.as_str()])
        .await
        .map_err(backend)?;
    let s = tenant.quoted();
    let version = match state(client, tenant).await? {
        Found::Ours(version) => version,
        Found::Empty | Found::Missing if !create => {
            return Err(PostgresError::NoSuchTenant {
                tenant: tenant.as_str().to_owned(),
            });
        }
        Found::Empty => {
            client
                .batch_execute(&META.replace("{s}", &s))
                .await
                .map_err(backend)?;
            0
        }
        Found::Missing => {
            client
                .batch_execute(&format!("CREATE SCHEMA {s};{}", META.replace("{s}", &s)))
                .await
                .map_err(backend)?;
            0
        }
    };
    if version < 0 {
        return Err(PostgresError::ForeignSchema {
            tenant: tenant.as_str().to_owned(),
            reason: format!("its o2c_meta gives schema version {version}"),
        });
    }
    if version > CURRENT_VERSION {
        return Err(PostgresError::NewerSchema {
            tenant: tenant.as_str().to_owned(),
            found: version,
            supported: CURRENT_VERSION,
        });
    }
    let start = usize::try_from(version).unwrap_or(usize::MAX);
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        let to = i64::try_from(step).map_or(i64::MAX, |s| s.saturating_add(1));
        let failed = |e: tokio_postgres::Error| PostgresError::Migration {
            tenant: tenant.as_str().to_owned(),
            version: to,
            source: Box::new(e),
        };
        client
            .batch_execute(&sql.replace("{s}", &s))
            .await
            .map_err(failed)?;
        client
            .execute(
                &format!("UPDATE {s}.o2c_meta SET value = $1 WHERE key = 'schema_version'"),
                &[&to.to_string()],
            )
            .await
            .map_err(failed)?;
    }
    client.batch_execute("COMMIT").await.map_err(backend)
}

/// Refreshes the planner's statistics for every table of `tenant` (`ANALYZE`).
/// Its tables are listed from the catalogue, so a table a later migration adds
/// is included without a list to keep in step. Each `ANALYZE` changes the
/// table's statistics, which makes every connection plan its statements on the
/// table again.
pub(super) async fn analyze(client: &Client, tenant: &TenantName) -> Result<(), PostgresError> {
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relkind = 'r'
             ORDER BY 1",
            &[&tenant.as_str()],
        )
        .await
        .map_err(backend)?;
    let tables = rows
        .iter()
        .map(|row| row.try_get::<_, String>(0))
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    if tables.is_empty() {
        return Err(PostgresError::NoSuchTenant {
            tenant: tenant.as_str().to_owned(),
        });
    }
    let s = tenant.quoted();
    // The names are PostgreSQL's own; a `"` in one is doubled to quote it.
    let list = tables
        .iter()
        .map(|table| format!("{s}.\"{}\"", table.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(", ");
    client
        .batch_execute(&format!("ANALYZE {list}"))
        .await
        .map_err(backend)
}

/// Drops `tenant`'s schema, in one transaction, only if it is an o2c tenant.
pub(super) async fn drop(client: &Client, tenant: &TenantName) -> Result<(), PostgresError> {
    client.batch_execute("BEGIN").await.map_err(backend)?;
    client
        .execute(LOCK, &[&tenant.as_str()])
        .await
        .map_err(backend)?;
    match state(client, tenant).await? {
        Found::Ours(_) => {}
        Found::Missing => {
            return Err(PostgresError::NoSuchTenant {
                tenant: tenant.as_str().to_owned(),
            });
        }
        Found::Empty => {
            return Err(PostgresError::ForeignSchema {
                tenant: tenant.as_str().to_owned(),
                reason: "it has no o2c marker".to_owned(),
            });
        }
    }
    client
        .batch_execute(&format!("DROP SCHEMA {} CASCADE; COMMIT", tenant.quoted()))
        .await
        .map_err(backend)
}

fn backend(e: tokio_postgres::Error) -> PostgresError {
    PostgresError::from_call(e)
}

/// What a schema of the tenant's name is.
enum Found {
    /// No such schema.
    Missing,
    /// A schema with nothing in it, which o2c may take.
    Empty,
    /// An o2c tenant at this version.
    Ours(i64),
}

/// What the schema named `tenant` is: missing, empty, ours (at a version), or
/// foreign ([`PostgresError::ForeignSchema`]: relations and no o2c marker, or a
/// marker that names another application or no version).
async fn state(client: &Client, tenant: &TenantName) -> Result<Found, PostgresError> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
                    (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $1),
                    EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE n.nspname = $1 AND c.relname = 'o2c_meta' AND c.relkind = 'r')",
            &[&tenant.as_str()],
        )
        .await
        .map_err(backend)?;
    let exists: bool = row.try_get(0).map_err(backend)?;
    let relations: i64 = row.try_get(1).map_err(backend)?;
    let has_meta: bool = row.try_get(2).map_err(backend)?;
    let foreign = |reason: String| PostgresError::ForeignSchema {
        tenant: tenant.as_str().to_owned(),
        reason,
    };
    if !exists {
        return Ok(Found::Missing);
    }
    if !has_meta {
        if relations > 0 {
            return Err(foreign(format!(
                "it holds {relations} relations and no o2c marker"
            )));
        }
        return Ok(Found::Empty);
    }
    // Read as text whatever the columns are, so a foreign table of the same name
    // is reported, not a decode failure.
    let rows = client
        .query(
            &format!(
                "SELECT key::text, value::text FROM {}.o2c_meta",
                tenant.quoted()
            ),
            &[],
        )
        .await
        .map_err(|e| foreign(format!("its o2c_meta table does not read as o2c's: {e}")))?;
    let mut application = None;
    let mut version = None;
    for row in rows {
        let key: Option<String> = row.try_get(0).map_err(backend)?;
        let value: Option<String> = row.try_get(1).map_err(backend)?;
        match key.as_deref() {
            Some("application") => application = value,
            Some("schema_version") => version = value,
            _ => {}
        }
    }
    if application.as_deref() != Some("o2c") {
        return Err(foreign(format!(
            "its o2c_meta names application {application:?}"
        )));
    }
    version
        .and_then(|v| v.parse::<i64>().ok())
        .map(Found::Ours)
        .ok_or_else(|| foreign("its o2c_meta has no schema version".to_owned()))
}
