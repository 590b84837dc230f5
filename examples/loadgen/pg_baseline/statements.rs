//! Every statement the baseline runs, prepared once per connection, and the
//! pipelined send of one transaction.
//!
//! A transaction is `BEGIN`, its statements and `COMMIT`, all prepared, their
//! futures polled together: tokio-postgres writes every one before the first
//! answer comes back, so a command is one round trip. Guards that must stop the
//! transaction when no row matched divide by the count of rows they changed, so
//! the failure aborts the transaction on the server and the `COMMIT` behind it
//! becomes a rollback without waiting for the client to look.

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::join_all;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Statement};

use super::schema::quoted;

/// A statement's parameter.
pub(super) type Param = Box<dyn ToSql + Sync + Send>;

/// A statement of the baseline, by what it does.
#[derive(Debug, Clone, Copy)]
pub(super) enum Stmt {
    Begin,
    Commit,
    /// The command's idempotency key: inserted first, a used key fails here.
    Key,
    /// Reserve units at a location, only while they are on hand.
    Reserve,
    /// Ship reserved units: on hand and reserved both fall, only if reserved.
    Pick,
    /// A placed order on its customer: counts, lifetime value, balance.
    Buyer,
    /// The order row, its number taken from the `order` series row.
    Order,
    Lines,
    /// The invoice row, its number taken from the `invoice` series row.
    Invoice,
    CustomerOrder,
    Ready,
    Unready,
    /// Balances moved by the journal lines, summed per account, in account order.
    Balances,
    /// Journal lines, their entries numbered from the `journal` position row.
    Journal,
    /// Events, numbered from the `events` position row: taken last.
    Events,
    PayBuyer,
    PayOrder,
    /// The payment on its invoice, never past its total.
    PayInvoice,
    Payment,
    ShipOrder,
    ShipLines,
    Shipments,
    Movements,
    LatestOrder,
    StockLevel,
    LastEvent,
    JournalLines,
}

/// Guard: a division by zero when the `g` step changed no row.
macro_rules! guarded {
    ($update:literal) => {
        concat!(
            "WITH g AS (",
            $update,
            " RETURNING 1) SELECT 1 / count(*)::int FROM g"
        )
    };
}

impl Stmt {
    const ALL: [Stmt; 27] = [
        Stmt::Begin,
        Stmt::Commit,
        Stmt::Key,
        Stmt::Reserve,
        Stmt::Pick,
        Stmt::Buyer,
        Stmt::Order,
        Stmt::Lines,
        Stmt::Invoice,
        Stmt::CustomerOrder,
        Stmt::Ready,
        Stmt::Unready,
        Stmt::Balances,
        Stmt::Journal,
        Stmt::Events,
        Stmt::PayBuyer,
        Stmt::PayOrder,
        Stmt::PayInvoice,
        Stmt::Payment,
        Stmt::ShipOrder,
        Stmt::ShipLines,
        Stmt::Shipments,
        Stmt::Movements,
        Stmt::LatestOrder,
        Stmt::StockLevel,
        Stmt::LastEvent,
        Stmt::JournalLines,
    ];

    fn sql(self) -> &'static str {
        match self {
            Stmt::Begin => "BEGIN ISOLATION LEVEL READ COMMITTED",
            Stmt::Commit => "COMMIT",
            Stmt::Key => "INSERT INTO idempotency (scope, key, result) VALUES ($1, $2, $3)",
            Stmt::Reserve => guarded!(
                "UPDATE stock SET reserved = reserved + $3
                 WHERE sku = $1 AND location = $2 AND reserved + $3 <= on_hand"
            ),
            Stmt::Pick => guarded!(
                "UPDATE stock SET on_hand = on_hand - $3, reserved = reserved - $3
                 WHERE sku = $1 AND location = $2 AND reserved >= $3"
            ),
            Stmt::Buyer => {
                "UPDATE customers SET orders_placed = orders_placed + 1,
                    lifetime_value = lifetime_value + $2::text::numeric,
                    balance = balance + $2::text::numeric, last_order_ms = $3
                 WHERE id = $1"
            }
            Stmt::Order => {
                "WITH n AS (UPDATE series SET last = last + 1 WHERE name = 'order' RETURNING last)
                 INSERT INTO orders (id, number, customer, status, total, invoiced, paid, placed_ms,
                                     idempotency_key)
                 SELECT $1::text, n.last, $2::text, 'open', $3::text::numeric, $3::text::numeric, 0, $4::int8, $5::text
                 FROM n"
            }
            Stmt::Lines => {
                "INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price, net, tax,
                                          tax_rate, reservations)
                 SELECT $1::text, l.line_no, l.sku, l.quantity, l.unit_price::numeric, l.net::numeric,
                        l.tax::numeric, l.tax_rate::numeric, l.reservations
                 FROM unnest($2::int4[], $3::text[], $4::int4[], $5::text[], $6::text[],
                             $7::text[], $8::text[], $9::text[])
                      AS l(line_no, sku, quantity, unit_price, net, tax, tax_rate, reservations)"
            }
            Stmt::Invoice => {
                "WITH n AS (UPDATE series SET last = last + 1 WHERE name = 'invoice' RETURNING last)
                 INSERT INTO invoices (id, number, order_id, customer, issued_ms, due_ms, total, tax,
                                       status, lines)
                 SELECT $1::text, n.last, $2::text, $3::text, $4::int8, $5::int8, $6::text::numeric,
                        $7::text::numeric, 'open', $8::text
                 FROM n"
            }
            Stmt::CustomerOrder => {
                "INSERT INTO customer_orders (customer, order_id) VALUES ($1, $2)"
            }
            Stmt::Ready => "INSERT INTO ready_to_ship (placed_ms, order_id) VALUES ($1, $2)",
            Stmt::Unready => "DELETE FROM ready_to_ship WHERE placed_ms = $1 AND order_id = $2",
            Stmt::Balances => {
                "INSERT INTO balances (account, balance)
                 SELECT b.account, b.amount::numeric
                 FROM unnest($1::text[], $2::text[]) AS b(account, amount)
                 ORDER BY b.account
                 ON CONFLICT (account) DO UPDATE SET balance = balances.balance + excluded.balance"
            }
            Stmt::Journal => {
                "WITH p AS (UPDATE positions SET last = last + $1::int8 WHERE name = 'journal'
                            RETURNING last)
                 INSERT INTO journal_lines (entry, line_no, account, amount, source, posted_ms)
                 SELECT p.last - $1 + l.entry, l.line_no, l.account, l.amount::numeric, l.source, $2::int8
                 FROM p, unnest($3::int8[], $4::int4[], $5::text[], $6::text[], $7::text[])
                         AS l(entry, line_no, account, amount, source)"
            }
            // An invoice's number is known only once its row is in: the event
            // that announces it reads it back, in the same statement.
            Stmt::Events => {
                "WITH p AS (UPDATE positions SET last = last + $1::int8 WHERE name = 'events'
                            RETURNING last),
                      i AS (SELECT COALESCE((SELECT number FROM invoices WHERE id = $5::text), 0)::text
                                   AS number)
                 INSERT INTO events (sequence, recorded_ms, kind, body)
                 SELECT p.last - $1 + e.n, $2::int8, e.kind,
                        replace(e.body, '\"number\":0', '\"number\":' || i.number)
                 FROM p, i, unnest($3::text[], $4::text[]) WITH ORDINALITY AS e(kind, body, n)"
            }
            Stmt::PayBuyer => {
                "UPDATE customers SET balance = balance - $2::text::numeric WHERE id = $1"
            }
            Stmt::PayOrder => {
                "UPDATE orders SET paid = paid + $2::text::numeric, status = $3 WHERE id = $1"
            }
            Stmt::PayInvoice => guarded!(
                "UPDATE invoices SET paid = paid + $2::text::numeric,
                    status = CASE WHEN paid + $2::text::numeric = total THEN 'paid' ELSE 'open' END
                 WHERE id = $1 AND paid + $2::text::numeric <= total"
            ),
            Stmt::Payment => {
                "INSERT INTO payments (id, invoice, order_id, customer, amount, applied,
                                       received_ms, idempotency_key)
                 VALUES ($1, $2, $3, $4, $5::text::numeric, $6::text::numeric, $7, $8)"
            }
            Stmt::ShipOrder => {
                "UPDATE orders SET shipments = shipments + $2::int8 WHERE id = $1"
            }
            Stmt::ShipLines => {
                "UPDATE order_lines SET shipped = shipped + s.units, reservations = s.reservations
                 FROM unnest($2::int4[], $3::int4[], $4::text[]) AS s(line_no, units, reservations)
                 WHERE order_id = $1 AND order_lines.line_no = s.line_no"
            }
            Stmt::Shipments => {
                "INSERT INTO shipments (id, order_id, location, carrier, tracking, label,
                                        carrier_charge, cost_of_goods, booked_ms, lines)
                 SELECT s.id, $1::text, s.location, s.carrier, s.tracking, s.label, s.charge::numeric,
                        s.cogs::numeric, $2::int8, s.lines
                 FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                             $8::text[], $9::text[], $10::text[])
                      AS s(id, location, carrier, tracking, label, charge, cogs, lines)"
            }
            Stmt::Movements => {
                "INSERT INTO movements (sku, location, quantity, reason, at_ms)
                 SELECT m.sku, m.location, m.quantity, m.reason, $1::int8
                 FROM unnest($2::text[], $3::text[], $4::int8[], $5::text[]) WITH ORDINALITY
                      AS m(sku, location, quantity, reason, n)
                 ORDER BY m.n"
            }
            Stmt::LatestOrder => {
                "SELECT o.status, o.paid::text, o.invoiced::text, o.shipments,
                        l.line_no, l.sku, l.quantity, l.shipped, l.net::text
                 FROM orders o JOIN order_lines l ON l.order_id = o.id
                 WHERE o.id = (SELECT order_id FROM customer_orders WHERE customer = $1
                               ORDER BY seq DESC LIMIT 1)
                 ORDER BY l.line_no"
            }
            Stmt::StockLevel => {
                "SELECT count(*), count(*) FILTER (WHERE t.available < t.reorder_point)
                 FROM (SELECT p.reorder_point, sum(s.on_hand - s.reserved) AS available
                       FROM products p JOIN stock s ON s.sku = p.sku
                       WHERE p.sku IN (SELECT l.sku FROM order_lines l WHERE l.order_id = ANY($1))
                       GROUP BY p.sku, p.reorder_point) t"
            }
            Stmt::LastEvent => "SELECT last FROM positions WHERE name = 'events'",
            Stmt::JournalLines => "SELECT count(*) FROM journal_lines",
        }
    }
}

/// One caller's connection, with every statement prepared on it.
pub(crate) struct PgCaller {
    pub(super) client: Client,
    statements: Vec<Statement>,
}

impl PgCaller {
    /// A plain connection to `url`, its I/O a task on the current runtime: for
    /// creating and dropping the schema.
    pub(super) async fn connect_plain(url: &str) -> Result<Client, String> {
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("pg baseline: connection closed: {e}");
            }
        });
        Ok(client)
    }

    /// Opens a connection to `url` working in `schema`, its I/O a task on the
    /// current runtime, and prepares every statement.
    pub(super) async fn connect(url: &str, schema: &str) -> Result<PgCaller, String> {
        let client = Self::connect_plain(url).await?;
        client
            .batch_execute(&format!("SET search_path TO {}", quoted(schema)))
            .await
            .map_err(|e| e.to_string())?;
        let mut statements = Vec::with_capacity(Stmt::ALL.len());
        for stmt in Stmt::ALL {
            let prepared = client
                .prepare(stmt.sql())
                .await
                .map_err(|e| format!("preparing {stmt:?}: {e}"))?;
            statements.push(prepared);
        }
        Ok(PgCaller { client, statements })
    }

    pub(super) fn statement(&self, stmt: Stmt) -> Result<&Statement, String> {
        self.statements
            .get(stmt as usize)
            .ok_or_else(|| format!("{stmt:?} is not prepared"))
    }
}

/// One statement of a transaction with its parameters.
pub(super) type Write = (Stmt, Vec<Param>);

/// Sends `writes` as one transaction in one round trip (`BEGIN` and `COMMIT`
/// around them), counting it in `round_trips`; the first failure, if any.
pub(super) async fn send(
    caller: &PgCaller,
    writes: &[Write],
    round_trips: &AtomicU64,
) -> Result<(), String> {
    round_trips.fetch_add(1, Ordering::Relaxed);
    let begin = caller.statement(Stmt::Begin)?;
    let commit = caller.statement(Stmt::Commit)?;
    let mut prepared = Vec::with_capacity(writes.len() + 2);
    prepared.push((begin, Vec::new()));
    for (stmt, params) in writes {
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
        prepared.push((caller.statement(*stmt)?, refs));
    }
    prepared.push((commit, Vec::new()));
    let answers = join_all(
        prepared
            .iter()
            .map(|(statement, params)| caller.client.execute(*statement, params)),
    )
    .await;
    let stmts = std::iter::once(Stmt::Begin)
        .chain(writes.iter().map(|w| w.0))
        .chain(std::iter::once(Stmt::Commit));
    for (answer, stmt) in answers.into_iter().zip(stmts) {
        if let Err(e) = answer {
            return Err(format!("{stmt:?}: {e}"));
        }
    }
    Ok(())
}
