//! The schema, as an ordered list of migration steps.
//!
//! Step `i` (0-based) takes a file from version `i` to version `i + 1`; the file's
//! version is `PRAGMA user_version`. To change the schema, append a step: never edit
//! one that has shipped, because files out there are already past it.
//!
//! Tables are `STRICT`, so a column declared `INTEGER` can never quietly hold a float:
//! money is `TEXT` decimals (or JSON), quantities and versions `INTEGER`.

/// `PRAGMA application_id` of every o2c file: the bytes `o2c\0`, so a foreign SQLite
/// file is recognised before anything touches it.
pub(super) const APPLICATION_ID: i32 = 0x6f32_6300;

/// The migration steps, oldest first.
pub(super) const MIGRATIONS: &[&str] =
    &[V1, V2, RECORD_TERMS, BOUNDED_COUNTERS, ORDER_LIST, DUE_WORK];

/// The schema version this build writes: the number of steps.
pub(super) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: every table the `Store` contract needs.
const V1: &str = "
-- Entities, one row each: the serde_json of `Record`, with the version beside it so
-- optimistic checks never parse JSON. `record_key` is `RecordKey::describe()`.
CREATE TABLE records (
    record_key TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    body       TEXT NOT NULL
) STRICT;
CREATE INDEX records_by_kind ON records (kind);

-- Stock per SKU x location; the guard also holds as a constraint, belt and braces.
CREATE TABLE stock (
    sku      TEXT NOT NULL,
    location TEXT NOT NULL,
    on_hand  INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    PRIMARY KEY (sku, location),
    CHECK (0 <= reserved AND reserved <= on_hand)
) STRICT, WITHOUT ROWID;

-- Append-only movement journal: on-hand is the sum of `quantity` per SKU x location.
CREATE TABLE movements (
    seq      INTEGER PRIMARY KEY,
    sku      TEXT NOT NULL,
    location TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    body     TEXT NOT NULL
) STRICT;
CREATE INDEX movements_by_stock ON movements (sku, location, seq);

-- Append-only ledger, gapless from 1 in posting order.
CREATE TABLE journal (
    seq  INTEGER PRIMARY KEY CHECK (seq >= 1),
    body TEXT NOT NULL
) STRICT;

-- Balances per account and currency, as exact decimal text.
CREATE TABLE balances (
    account  TEXT NOT NULL,
    currency TEXT NOT NULL,
    balance  TEXT NOT NULL,
    PRIMARY KEY (account, currency)
) STRICT, WITHOUT ROWID;

-- Domain events, gapless from 1 in commit order.
CREATE TABLE events (
    sequence    INTEGER PRIMARY KEY CHECK (sequence >= 1),
    recorded_at TEXT NOT NULL,
    body        TEXT NOT NULL
) STRICT;

-- Used idempotency keys: the primary key is the uniqueness the contract asks for.
CREATE TABLE idempotency (
    scope           TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body            TEXT NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
) STRICT, WITHOUT ROWID;

-- Index: a customer's orders in commit order.
CREATE TABLE customer_orders (
    seq      INTEGER PRIMARY KEY,
    customer TEXT NOT NULL,
    order_id TEXT NOT NULL
) STRICT;
CREATE INDEX customer_orders_by_customer ON customer_orders (customer, seq);

-- Index: orders ready to ship, by placement time (seconds, then nanoseconds) and id.
CREATE TABLE ready_to_ship (
    placed_secs  INTEGER NOT NULL,
    placed_nanos INTEGER NOT NULL,
    order_id     TEXT NOT NULL,
    PRIMARY KEY (placed_secs, placed_nanos, order_id)
) STRICT, WITHOUT ROWID;
";

/// Version 2 (o2c 0.2): document numbers come from one row per series, taken inside
/// the commit, instead of counter records every invoicing command rewrote. The
/// invoice and credit-note counters move over with their last numbers.
const V2: &str = "
CREATE TABLE series (
    name TEXT PRIMARY KEY,
    last INTEGER NOT NULL CHECK (last >= 1)
) STRICT, WITHOUT ROWID;
INSERT INTO series (name, last)
    SELECT json_extract(body, '$.value.name'), json_extract(body, '$.value.value')
    FROM records
    WHERE record_key IN ('counter/invoice', 'counter/credit_note')
      AND json_extract(body, '$.value.value') >= 1;
DELETE FROM records WHERE record_key IN ('counter/invoice', 'counter/credit_note');
";

/// The index terms of each record (`Record::index_terms`), in a table of their own
/// that every commit keeps beside the records it puts: a command reads the open
/// purchase orders and the suppliers of its SKUs through it instead of every one.
/// Filled here from the records already stored, with the same text
/// (`IndexTerm::describe`) and the same rule: an open purchase order (draft,
/// approved, partly received) under each SKU on its lines, a supplier under each
/// SKU it offers (statuses as 0.1 spelled them, or as 0.2 does). It reads only `records` as version 1 made it, so it does not
/// depend on any other step.
pub(super) const RECORD_TERMS: &str = "
CREATE TABLE record_terms (
    kind       TEXT NOT NULL,
    term       TEXT NOT NULL,
    record_key TEXT NOT NULL,
    PRIMARY KEY (kind, term, record_key)
) STRICT, WITHOUT ROWID;
-- A put rewrites its record's terms: found by key, not by term.
CREATE INDEX record_terms_by_record ON record_terms (record_key);
INSERT OR IGNORE INTO record_terms (kind, term, record_key)
    SELECT 'purchase_order', 'sku/' || json_extract(line.value, '$.sku'), records.record_key
    FROM records, json_each(records.body, '$.value.lines') AS line
    WHERE records.kind = 'purchase_order'
      AND json_extract(records.body, '$.value.status')
          IN ('Draft', 'Approved', 'PartiallyReceived', 'draft', 'approved', 'partially_received');
INSERT OR IGNORE INTO record_terms (kind, term, record_key)
    SELECT 'supplier', 'sku/' || json_extract(offer.value, '$.sku'), records.record_key
    FROM records, json_each(records.body, '$.value.offers') AS offer
    WHERE records.kind = 'supplier';
";

/// Bounded counters other than stock (o2c 0.2): a limit and what is used of it per
/// kind and id, moved by additive deltas under the guard `0 ≤ used ≤ limit`, which
/// also holds as a constraint. Stock keeps its own table. The step only creates a
/// table no other step touches, so it applies whatever steps come before it.
const BOUNDED_COUNTERS: &str = "
CREATE TABLE bounded_counters (
    kind        TEXT NOT NULL,
    id          TEXT NOT NULL,
    limit_value INTEGER NOT NULL,
    used        INTEGER NOT NULL,
    PRIMARY KEY (kind, id),
    CHECK (0 <= used AND used <= limit_value)
) STRICT, WITHOUT ROWID;
";

/// Every order by placement time, with what a listing filters on (o2c 0.2): the
/// index `Store::orders_page` reads. Status and channel are kept as the order's
/// JSON writes them (snake_case since 0.2), and a put rewrites the row. Filled
/// from the orders already stored: seconds from the placement time's text,
/// nanoseconds from its fraction (chrono writes 0 to 9 digits, then `Z`; a leap
/// second, `:60`, is the 59th with a billion nanoseconds more, as chrono keeps
/// it; a year past 9999, which SQLite cannot read, sorts last), and
/// the names 0.1 wrote (`"OnHold"`, `"B2b"`) spelled as 0.2 writes them.
const ORDER_LIST: &str = "
CREATE TABLE order_list (
    placed_secs  INTEGER NOT NULL,
    placed_nanos INTEGER NOT NULL,
    order_id     TEXT NOT NULL,
    customer     TEXT NOT NULL,
    channel      TEXT NOT NULL,
    status       TEXT NOT NULL,
    PRIMARY KEY (placed_secs, placed_nanos, order_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX order_list_by_customer
    ON order_list (customer, placed_secs, placed_nanos, order_id);
CREATE INDEX order_list_by_status ON order_list (status, placed_secs, placed_nanos, order_id);
INSERT INTO order_list (placed_secs, placed_nanos, order_id, customer, channel, status)
    SELECT COALESCE(unixepoch(replace(placed, ':60', ':59')), 9223372036854775807),
           CASE WHEN substr(placed, 20, 1) = '.'
                THEN CAST(substr(rtrim(substr(placed, 21), 'Z') || '000000000', 1, 9) AS INTEGER)
                ELSE 0 END
           + CASE WHEN substr(placed, 18, 2) = '60' THEN 1000000000 ELSE 0 END,
           id, customer,
           CASE channel WHEN 'Web' THEN 'web' WHEN 'Store' THEN 'store'
                        WHEN 'Phone' THEN 'phone' WHEN 'B2b' THEN 'b2b'
                        WHEN 'Marketplace' THEN 'marketplace' ELSE channel END,
           CASE status WHEN 'Open' THEN 'open' WHEN 'OnHold' THEN 'on_hold'
                       WHEN 'Completed' THEN 'completed' WHEN 'Cancelled' THEN 'cancelled'
                       ELSE status END
    FROM (SELECT json_extract(body, '$.value.placed_at') AS placed,
                 json_extract(body, '$.value.id') AS id,
                 json_extract(body, '$.value.customer') AS customer,
                 json_extract(body, '$.value.channel') AS channel,
                 json_extract(body, '$.value.status') AS status
          FROM records WHERE kind = 'order');
";

/// Due work (o2c 0.2): what each order, invoice and purchase order falls due
/// for, and the second it does (`Record::due_work`, `DueKind::describe`), which a
/// put rewrites as it does the record's index terms: what `Oms::run_due` finds
/// its work by. Filled here from the records already stored, by the same rule:
/// an order under each of its holds `awaiting_payment` and `credit_limit` at its
/// placement; an open invoice at its due time (no invoice stored before this step
/// has been reminded); a sent purchase order at midnight after its expected day.
/// Times are cut to the second as written (`Record::due_work` floors them), a
/// leap second (`:60`, which SQLite cannot read) counting as the second before.
const DUE_WORK: &str = "
CREATE TABLE due_work (
    kind       TEXT NOT NULL,
    due_secs   INTEGER NOT NULL,
    record_key TEXT NOT NULL,
    PRIMARY KEY (kind, due_secs, record_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX due_work_by_record ON due_work (record_key);
INSERT OR IGNORE INTO due_work (kind, due_secs, record_key)
    SELECT CASE hold.value WHEN 'awaiting_payment' THEN 'awaiting_payment'
                           WHEN 'AwaitingPayment' THEN 'awaiting_payment'
                           ELSE 'credit_hold' END,
           unixepoch(substr(replace(json_extract(records.body, '$.value.placed_at'), ':60', ':59'), 1, 19)),
           records.record_key
    FROM records, json_each(records.body, '$.value.holds') AS hold
    WHERE records.kind = 'order'
      AND hold.value IN ('awaiting_payment', 'AwaitingPayment', 'credit_limit', 'CreditLimit');
INSERT OR IGNORE INTO due_work (kind, due_secs, record_key)
    SELECT 'reminder',
           unixepoch(substr(replace(json_extract(body, '$.value.due_at'), ':60', ':59'), 1, 19)),
           record_key
    FROM records
    WHERE kind = 'invoice' AND json_extract(body, '$.value.status') IN ('open', 'Open');
INSERT OR IGNORE INTO due_work (kind, due_secs, record_key)
    SELECT 'delivery', unixepoch(json_extract(body, '$.value.expected_on'), '+1 day'), record_key
    FROM records
    WHERE kind = 'purchase_order'
      AND json_extract(body, '$.value.status')
          IN ('approved', 'partially_received', 'Approved', 'PartiallyReceived');
";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use chrono::Duration;
    use rusqlite::{Connection, params};

    use super::{DUE_WORK, MIGRATIONS, ORDER_LIST};
    use crate::ledger::fixtures::{at, given_order};
    use crate::order::{Channel, Order, OrderQuery, OrderStatus};
    use crate::store::Record;
    use crate::store::sqlite::migrations::migrate_with;
    use crate::store::sqlite::reads::orders_page;

    /// Orders stored as o2c 0.1 wrote them (`"OnHold"`, `"B2b"`), placed at
    /// whole seconds, thirds of a second, a nanosecond and a leap second, are
    /// listed after the listing step exactly as the orders themselves say.
    #[test]
    fn the_listing_step_indexes_orders_stored_in_0_1_spelling() {
        let before = MIGRATIONS.iter().position(|s| *s == ORDER_LIST).unwrap();
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, &MIGRATIONS[..before]).unwrap();
        let (_, template) = given_order();
        let statuses = [
            OrderStatus::Open,
            OrderStatus::OnHold,
            OrderStatus::Completed,
            OrderStatus::Cancelled,
        ];
        let channels = [
            Channel::Web,
            Channel::B2b,
            Channel::Phone,
            Channel::Marketplace,
        ];
        let offsets = [
            Duration::zero(),
            Duration::nanoseconds(333_333_333),
            Duration::nanoseconds(1),
            Duration::seconds(1),
        ];
        let mut orders = Vec::new();
        for n in 0..12u32 {
            let i = n as usize;
            let mut o: Order = template.clone();
            o.id = crate::ids::OrderId::from_uuid(uuid::Uuid::from_u128(100 - u128::from(n)));
            o.placed_at = at() + Duration::minutes(i64::from(n / 4)) + offsets[i % 4];
            o.status = statuses[i % 4];
            o.channel = channels[(i / 2) % 4];
            orders.push(o);
        }
        // A leap second, as chrono keeps it: second 59 with a billion nanoseconds more.
        let mut leap = template.clone();
        leap.id = crate::ids::OrderId::from_uuid(uuid::Uuid::from_u128(7));
        leap.placed_at = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .unwrap()
            .and_utc();
        orders.push(leap);
        for o in &orders {
            let record = Record::Order(o.clone());
            let mut body = Vec::new();
            crate::fingerprint::legacy_json(&mut body, &record).unwrap();
            let body = String::from_utf8(body).unwrap();
            assert!(body.contains(r#""status":""#) && !body.contains(r#""status":"open""#));
            let key = record.key();
            conn.execute(
                "INSERT INTO records (record_key, kind, version, body) VALUES (?1, ?2, 1, ?3)",
                params![key.describe(), key.kind(), body],
            )
            .unwrap();
        }
        migrate_with(&mut conn, MIGRATIONS).unwrap();

        let mut queries = vec![OrderQuery::all(), OrderQuery::all().newest_first()];
        queries.extend(statuses.iter().map(|s| OrderQuery::all().status(*s)));
        queries.extend(channels.iter().map(|c| OrderQuery::all().channel(*c)));
        for query in queries {
            let mut want: Vec<&Order> = orders.iter().filter(|o| query.matches(o)).collect();
            want.sort_by_key(|o| (o.placed_at, o.id));
            if query.newest_first {
                want.reverse();
            }
            let got: Vec<_> = orders_page(&conn, &query, 100)
                .unwrap()
                .into_iter()
                .map(|v| v.value.id)
                .collect();
            let want: Vec<_> = want.iter().map(|o| o.id).collect();
            assert_eq!(got, want, "{query:?}");
        }
    }

    /// Orders held in o2c 0.1's spelling, invoices open and paid, purchase
    /// orders sent and not — at whole seconds, a hair before the next, and a
    /// leap second — are indexed by the due-work step exactly as
    /// `Record::due_work` says.
    #[test]
    fn the_due_work_step_indexes_stored_records_as_they_say() {
        use crate::ledger::InvoiceStatus;
        use crate::order::Hold;
        let before = MIGRATIONS.iter().position(|s| *s == DUE_WORK).unwrap();
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, &MIGRATIONS[..before]).unwrap();
        let (_, template, invoice) = crate::ledger::fixtures::given_invoiced();
        let hair = Duration::nanoseconds(999_999_999);
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .unwrap()
            .and_utc();
        let mut records = Vec::new();
        let holds = [
            vec![Hold::AwaitingPayment],
            vec![Hold::CreditLimit, Hold::ManualReview],
            vec![],
        ];
        for (n, holds) in holds.into_iter().enumerate() {
            let mut o: Order = template.clone();
            o.id = crate::ids::OrderId::from_uuid(uuid::Uuid::from_u128(50 + n as u128));
            o.holds = holds;
            o.placed_at = [at() + hair, leap, at()][n];
            records.push(Record::Order(o));
        }
        for (n, status) in [InvoiceStatus::Open, InvoiceStatus::Paid]
            .into_iter()
            .enumerate()
        {
            let mut i = invoice.clone();
            i.id = crate::ids::InvoiceId::from_uuid(uuid::Uuid::from_u128(60 + n as u128));
            i.status = status;
            i.due_at = at() + Duration::days(30) + hair;
            records.push(Record::Invoice(i));
        }
        let mut sent = crate::purchasing::PurchaseOrder::draft(
            crate::ids::PurchaseOrderId::from_uuid(uuid::Uuid::from_u128(70)),
            crate::ids::SupplierId::from_uuid(uuid::Uuid::from_u128(1)),
            crate::money::Currency::USD,
            crate::ids::LocationId::new("WH").unwrap(),
            vec![(
                crate::ids::Sku::new("MUG").unwrap(),
                crate::quantity::Quantity::new(5),
                crate::money::Money::from_minor(100, crate::money::Currency::USD),
            )],
            at().date_naive() + Duration::days(5),
            at(),
        )
        .unwrap();
        let draft = {
            let mut d = sent.clone();
            d.id = crate::ids::PurchaseOrderId::from_uuid(uuid::Uuid::from_u128(71));
            d
        };
        sent.approve().unwrap();
        records.push(Record::PurchaseOrder(sent));
        records.push(Record::PurchaseOrder(draft));
        let mut want = Vec::new();
        for record in &records {
            let mut body = Vec::new();
            crate::fingerprint::legacy_json(&mut body, record).unwrap();
            let key = record.key();
            conn.execute(
                "INSERT INTO records (record_key, kind, version, body) VALUES (?1, ?2, 1, ?3)",
                params![key.describe(), key.kind(), String::from_utf8(body).unwrap()],
            )
            .unwrap();
            for (kind, at) in record.due_work() {
                want.push((kind.describe().to_owned(), at, key.describe()));
            }
        }
        migrate_with(&mut conn, MIGRATIONS).unwrap();
        let mut got: Vec<(String, i64, String)> = conn
            .prepare("SELECT kind, due_secs, record_key FROM due_work")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        got.sort();
        want.sort();
        assert_eq!(want.len(), 4, "{want:?}");
        assert_eq!(got, want);
    }
}
