//! Stock: receipts, adjustments, levels and availability.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use o2c::ids::{LocationId, Sku};
use o2c::stock::{Availability, StockLevel};
use o2c::store::Store;
use o2c::{AdjustStock, ReceiveStock};
use serde::Deserialize;

use crate::api::{Api, Op};
use crate::app::{MAX_PAGE, Reply, Shared, applied, ok};
use crate::extract::{Body, Key, Params, Q};
use crate::problem::Problem;

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.add(
        |s| {
            Op::post("/stock/receipts", "receiveStock")
                .about("stock", "Receive units into a location")
                .body(s.body_of::<ReceiveStock>(&["idempotency_key"]))
                .answers(201, "The level after the receipt", s.named("StockLevel"))
        },
        post(receive::<S>),
    );
    api.add(
        |s| {
            Op::post("/stock/adjustments", "adjustStock")
                .about("stock", "Correct a level after a count, damage or loss")
                .body(s.body_of::<AdjustStock>(&["idempotency_key"]))
                .answers(201, "The level after the adjustment", s.named("StockLevel"))
        },
        post(adjust::<S>),
    );
    api.add(
        |s| {
            Op::get("/stock/{sku}", "getStock")
                .about("stock", "A SKU's level at every location")
                .path("sku", s.of::<Sku>())
                .answers(200, "One level per location", s.of::<Vec<StockLevel>>())
        },
        get(levels::<S>),
    );
    api.add(
        |s| {
            Op::get("/stock/{sku}/{location}", "getStockLevel")
                .about("stock", "A SKU's level at one location")
                .path("sku", s.of::<Sku>())
                .path("location", s.of::<LocationId>())
                .answers(200, "The level", s.named("StockLevel"))
        },
        get(level::<S>),
    );
    api.add(
        |s| {
            Op::get("/availability", "getAvailability")
                .about("stock", "What can be promised, per SKU, over all locations")
                .query(s.query::<AvailabilityQuery>())
                .answers(200, "One row per SKU asked", s.of::<Vec<Availability>>())
        },
        get(availability::<S>),
    );
}

async fn receive<S: Store>(State(app): State<Shared<S>>, key: Key, body: Body) -> Reply {
    let cmd: ReceiveStock = body.decode(&[("idempotency_key", key.json())])?;
    applied(StatusCode::CREATED, app.oms.receive_stock(cmd).await?)
}

async fn adjust<S: Store>(State(app): State<Shared<S>>, key: Key, body: Body) -> Reply {
    let cmd: AdjustStock = body.decode(&[("idempotency_key", key.json())])?;
    applied(StatusCode::CREATED, app.oms.adjust_stock(cmd).await?)
}

async fn levels<S: Store>(State(app): State<Shared<S>>, Params(sku): Params<Sku>) -> Reply {
    ok(&app.oms.stock(&sku).await?)
}

async fn level<S: Store>(
    State(app): State<Shared<S>>,
    Params((sku, location)): Params<(Sku, LocationId)>,
) -> Reply {
    ok(&app.oms.stock_level(&sku, &location).await?)
}

/// The SKUs to look at.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AvailabilityQuery {
    /// SKUs, comma-separated, at most 100.
    #[schemars(length(min = 1))]
    skus: String,
}

async fn availability<S: Store>(
    State(app): State<Shared<S>>,
    Q(query): Q<AvailabilityQuery>,
) -> Reply {
    let skus = query
        .skus
        .split(',')
        .map(|s| Sku::new(s.trim()).map_err(|e| Problem::invalid(format!("skus: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    if skus.len() > MAX_PAGE {
        return Err(Problem::invalid(format!(
            "skus: {} asked, at most {MAX_PAGE} at once",
            skus.len()
        )));
    }
    ok(&app.oms.availability(&skus).await?)
}
