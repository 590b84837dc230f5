//! The baseline's own schema: plain relational tables, money as `numeric`, times
//! as milliseconds since the run's clock started, loaded with the world.

use rust_decimal::Decimal;
use tokio_postgres::Client;

use crate::Res;
use crate::world::{World, reduced_rate, standard_rate};

use super::ids::{CUSTOMER, uid};

/// The tables, in the schema the connection's `search_path` names. Keys compare
/// bytewise (`COLLATE "C"`), as o2c's do.
const TABLES: &str = r#"
CREATE TABLE products (
    sku           text COLLATE "C" PRIMARY KEY,
    name          text NOT NULL,
    price         numeric NOT NULL,
    cost          numeric NOT NULL,
    tax_rate      numeric NOT NULL,
    weight_grams  int NOT NULL,
    reorder_point int NOT NULL
);
CREATE TABLE stock (
    sku      text COLLATE "C" NOT NULL,
    location text COLLATE "C" NOT NULL,
    on_hand  bigint NOT NULL,
    reserved bigint NOT NULL,
    PRIMARY KEY (sku, location),
    CHECK (0 <= reserved AND reserved <= on_hand)
);
CREATE TABLE movements (
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku      text COLLATE "C" NOT NULL,
    location text COLLATE "C" NOT NULL,
    quantity bigint NOT NULL,
    reason   text NOT NULL,
    at_ms    bigint NOT NULL
);
CREATE INDEX movements_by_stock ON movements (sku, location, seq);
CREATE TABLE customers (
    id             text COLLATE "C" PRIMARY KEY,
    name           text NOT NULL,
    email          text NOT NULL,
    orders_placed  int NOT NULL DEFAULT 0,
    lifetime_value numeric NOT NULL DEFAULT 0,
    balance        numeric NOT NULL DEFAULT 0,
    last_order_ms  bigint
);
CREATE TABLE orders (
    id              text COLLATE "C" PRIMARY KEY,
    number          bigint NOT NULL UNIQUE,
    customer        text COLLATE "C" NOT NULL,
    status          text NOT NULL,
    total           numeric NOT NULL,
    invoiced        numeric NOT NULL,
    paid            numeric NOT NULL,
    shipments       int NOT NULL DEFAULT 0,
    placed_ms       bigint NOT NULL,
    idempotency_key text NOT NULL
);
CREATE TABLE order_lines (
    order_id     text COLLATE "C" NOT NULL,
    line_no      int NOT NULL,
    sku          text COLLATE "C" NOT NULL,
    quantity     int NOT NULL,
    unit_price   numeric NOT NULL,
    net          numeric NOT NULL,
    tax          numeric NOT NULL,
    tax_rate     numeric NOT NULL,
    reservations text NOT NULL,
    shipped      int NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, line_no)
);
CREATE TABLE invoices (
    id        text COLLATE "C" PRIMARY KEY,
    number    bigint NOT NULL UNIQUE,
    order_id  text COLLATE "C" NOT NULL,
    customer  text COLLATE "C" NOT NULL,
    issued_ms bigint NOT NULL,
    due_ms    bigint NOT NULL,
    total     numeric NOT NULL,
    tax       numeric NOT NULL,
    paid      numeric NOT NULL DEFAULT 0,
    status    text NOT NULL,
    lines     text NOT NULL,
    CHECK (paid <= total)
);
CREATE TABLE payments (
    id              text COLLATE "C" PRIMARY KEY,
    invoice         text COLLATE "C" NOT NULL,
    order_id        text COLLATE "C" NOT NULL,
    customer        text COLLATE "C" NOT NULL,
    amount          numeric NOT NULL,
    applied         numeric NOT NULL,
    received_ms     bigint NOT NULL,
    idempotency_key text NOT NULL
);
CREATE TABLE shipments (
    id             text COLLATE "C" PRIMARY KEY,
    order_id       text COLLATE "C" NOT NULL,
    location       text COLLATE "C" NOT NULL,
    carrier        text NOT NULL,
    tracking       text NOT NULL,
    label          text NOT NULL,
    carrier_charge numeric NOT NULL,
    cost_of_goods  numeric NOT NULL,
    booked_ms      bigint NOT NULL,
    lines          text NOT NULL
);
CREATE TABLE series (
    name text COLLATE "C" PRIMARY KEY,
    last bigint NOT NULL
);
INSERT INTO series (name, last) VALUES ('order', 0), ('invoice', 0);
CREATE TABLE positions (
    name text COLLATE "C" PRIMARY KEY,
    last bigint NOT NULL
);
INSERT INTO positions (name, last) VALUES ('journal', 0), ('events', 0);
CREATE TABLE journal_lines (
    entry     bigint NOT NULL,
    line_no   int NOT NULL,
    account   text COLLATE "C" NOT NULL,
    amount    numeric NOT NULL,
    source    text NOT NULL,
    posted_ms bigint NOT NULL,
    PRIMARY KEY (entry, line_no)
);
CREATE TABLE balances (
    account text COLLATE "C" PRIMARY KEY,
    balance numeric NOT NULL
);
CREATE TABLE events (
    sequence    bigint PRIMARY KEY,
    recorded_ms bigint NOT NULL,
    kind        text NOT NULL,
    body        text NOT NULL
);
CREATE TABLE idempotency (
    scope  text COLLATE "C" NOT NULL,
    key    text COLLATE "C" NOT NULL,
    result text NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE customer_orders (
    seq      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer text COLLATE "C" NOT NULL,
    order_id text COLLATE "C" NOT NULL
);
CREATE INDEX customer_orders_by_customer ON customer_orders (customer, seq);
CREATE TABLE ready_to_ship (
    placed_ms bigint NOT NULL,
    order_id  text COLLATE "C" NOT NULL,
    PRIMARY KEY (placed_ms, order_id)
);
"#;

/// `schema` quoted: the name is made by the loadgen from its pid, letters,
/// digits and `_` only.
pub(super) fn quoted(schema: &str) -> String {
    format!("\"{schema}\"")
}

/// Creates `schema` afresh (dropping one left by an earlier run of the same
/// name) with the tables, and loads the world: catalogue, opening stock and its
/// movements, customers.
pub(super) async fn create(client: &Client, schema: &str, world: &World) -> Res<()> {
    let s = quoted(schema);
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {s} CASCADE; CREATE SCHEMA {s}; SET search_path TO {s};"
        ))
        .await?;
    client.batch_execute(TABLES).await?;
    let products = &world.products;
    let column = |f: fn(&crate::world::ProductSpec) -> String| -> Vec<String> {
        products.iter().map(f).collect()
    };
    let skus = column(|p| p.code.clone());
    let names = column(|p| p.name.clone());
    let prices = column(|p| Decimal::new(p.price_cents, 2).to_string());
    let costs = column(|p| Decimal::new(p.cost_cents, 2).to_string());
    let rates = column(|p| {
        if p.reduced_tax {
            reduced_rate().to_string()
        } else {
            standard_rate().to_string()
        }
    });
    let weights: Vec<i32> = products
        .iter()
        .map(|p| i32::try_from(p.weight_grams).unwrap_or(i32::MAX))
        .collect();
    let reorder: Vec<i32> = products
        .iter()
        .map(|p| i32::try_from(p.reorder_point).unwrap_or(i32::MAX))
        .collect();
    client
        .execute(
            "INSERT INTO products (sku, name, price, cost, tax_rate, weight_grams, reorder_point)
             SELECT p.sku, p.name, p.price::numeric, p.cost::numeric, p.rate::numeric, p.weight, p.reorder
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int4[], $7::int4[])
                  AS p(sku, name, price, cost, rate, weight, reorder)",
            &[&skus, &names, &prices, &costs, &rates, &weights, &reorder],
        )
        .await?;
    let stock = i64::from(world.stock);
    client
        .execute(
            "INSERT INTO stock (sku, location, on_hand, reserved)
             SELECT p.sku, l.location, $3, 0
             FROM unnest($1::text[]) AS p(sku), unnest($2::text[]) AS l(location)",
            &[&skus, &world.locations, &stock],
        )
        .await?;
    client
        .execute(
            "INSERT INTO movements (sku, location, quantity, reason, at_ms)
             SELECT p.sku, l.location, $3, 'receipt: opening stock', 0
             FROM unnest($1::text[]) AS p(sku), unnest($2::text[]) AS l(location)",
            &[&skus, &world.locations, &stock],
        )
        .await?;
    let ids: Vec<String> = (0..world.customers).map(|i| uid(CUSTOMER, i)).collect();
    let names: Vec<String> = (0..world.customers)
        .map(|i| format!("Customer {i}"))
        .collect();
    let emails: Vec<String> = (0..world.customers)
        .map(|i| format!("customer{i}@example.com"))
        .collect();
    client
        .execute(
            "INSERT INTO customers (id, name, email)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[])",
            &[&ids, &names, &emails],
        )
        .await?;
    client.batch_execute("ANALYZE").await?;
    Ok(())
}

/// Drops `schema` and everything in it.
pub(super) async fn drop(client: &Client, schema: &str) -> Res<()> {
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", quoted(schema)))
        .await?;
    Ok(())
}
