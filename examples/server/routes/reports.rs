//! The central view: every report of `o2c::reports`, paged by cursor.

use axum::extract::State;
use axum::routing::get;
use chrono::NaiveDate;
use o2c::reports::{DateRange, Dimension, Granularity, PageRequest, SalesQuery, StockFilter};
use o2c::store::Store;
use serde::Deserialize;
use serde_json::json;

use crate::api::{Api, Op};
use crate::app::{Reply, Shared, ok};
use crate::extract::Q;
use crate::problem::Problem;

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.add(
        |s| {
            Op::get("/reports/pipeline", "orderPipeline")
                .about("reports", "Orders by stage and channel, with their value")
                .answers(
                    200,
                    "One row per stage, channel and currency",
                    s.named("PipelineRows"),
                )
        },
        get(pipeline::<S>),
    );
    api.add(
        |s| {
            Op::get("/reports/receivables-ageing", "receivablesAgeing")
                .about(
                    "reports",
                    "What customers owe, by how overdue, with days sales outstanding",
                )
                .query(s.query::<AgeingQuery>())
                .answers(200, "The ageing", s.named("AgeingReport"))
        },
        get(ageing::<S>),
    );
    api.add(
        |s| {
            Op::get("/reports/sales", "sales")
                .about(
                    "reports",
                    "Sales and margin by day, week or month and by channel, product or customer",
                )
                .query(s.query::<SalesParams>())
                .answers(200, "A page of rows", s.named("SalesPage"))
        },
        get(sales::<S>),
    );
    api.add(
        |s| {
            Op::get("/reports/cycle-times", "cycleTimes")
                .about(
                    "reports",
                    "Placed to paid, shipped and delivered: p50 and p90 per channel",
                )
                .query(s.query::<RangeParams>())
                .answers(200, "A page of rows", s.named("CyclePage"))
        },
        get(cycle_times::<S>),
    );
    api.add(
        |s| {
            Op::get("/reports/fill-rate", "fillRate")
                .about(
                    "reports",
                    "How much of what was ordered stock covered at once",
                )
                .query(s.query::<RangeParams>())
                .answers(200, "A page of rows", s.named("FillPage"))
        },
        get(fill_rate::<S>),
    );
    api.add(
        |s| {
            Op::get("/reports/on-time-in-full", "onTimeInFull")
                .about("reports", "Orders shipped by their promise and in full")
                .query(s.query::<RangeParams>())
                .answers(200, "A page of rows", s.named("OtifPage"))
        },
        get(on_time_in_full::<S>),
    );
    api.add(
        |s| {
            Op::get("/reports/back-orders", "backOrderAgeing")
                .about("reports", "Units waiting for stock, per SKU, by age")
                .query(s.query::<PageParams>())
                .answers(200, "A page of rows", s.named("BackOrderPage"))
        },
        get(back_orders::<S>),
    );
    api.add(
        |s| {
            Op::get("/reports/inventory", "inventory")
                .about(
                    "reports",
                    "Stock, value, turnover, cover and shortfall per SKU and location",
                )
                .query(s.query::<InventoryParams>())
                .answers(200, "A page of rows", s.named("InventoryPage"))
        },
        get(inventory::<S>),
    );
    api.add(
        |s| {
            Op::get("/reports/payments", "paymentFigures")
                .about(
                    "reports",
                    "Authorisations, captures, refunds, payouts and fees per day",
                )
                .query(s.query::<RangeParams>())
                .answers(200, "A page of rows", s.named("PaymentPage"))
        },
        get(payments::<S>),
    );
    api.add(
        |s| {
            Op::get("/reports/returns", "returnsByProduct")
                .about(
                    "reports",
                    "Units sold and returned per product, with the reasons",
                )
                .query(s.query::<RangeParams>())
                .answers(200, "A page of rows", s.named("ReturnPage"))
        },
        get(returns::<S>),
    );
}

/// A page: where it starts and how long it is.
fn page(after: Option<String>, limit: Option<usize>) -> Result<PageRequest, Problem> {
    let limit = super::page_size(limit)?;
    serde_json::from_value(json!({"after": after, "limit": limit}))
        .map_err(|e| Problem::invalid(format!("after: {e}")))
}

fn range(from: NaiveDate, to: NaiveDate) -> DateRange {
    DateRange { from, to }
}

async fn pipeline<S: Store>(State(app): State<Shared<S>>) -> Reply {
    ok(&app.oms.order_pipeline().await?)
}

/// The day to age at, and a page of customers.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AgeingQuery {
    /// The day to age invoices at (today if absent).
    as_of: Option<NaiveDate>,
    /// The `next` of the page before.
    after: Option<String>,
    /// Rows wanted, 1 to 100 (50 if absent).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<usize>,
}

async fn ageing<S: Store>(State(app): State<Shared<S>>, Q(q): Q<AgeingQuery>) -> Reply {
    let as_of = q.as_of.unwrap_or_else(|| app.clock.now().date_naive());
    let page = page(q.after, q.limit)?;
    ok(&app.oms.receivables_ageing(as_of, &page).await?)
}

/// Which sales rows.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SalesParams {
    /// The first day.
    from: NaiveDate,
    /// The last day (included).
    to: NaiveDate,
    /// `day`, `week` or `month`.
    granularity: Granularity,
    /// `channel`, `product` or `customer`.
    dimension: Dimension,
    /// The `next` of the page before.
    after: Option<String>,
    /// Rows wanted, 1 to 100 (50 if absent).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<usize>,
}

async fn sales<S: Store>(State(app): State<Shared<S>>, Q(q): Q<SalesParams>) -> Reply {
    let query = SalesQuery {
        range: range(q.from, q.to),
        granularity: q.granularity,
        dimension: q.dimension,
        page: page(q.after, q.limit)?,
    };
    ok(&app.oms.sales(&query).await?)
}

/// Days, and a page.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RangeParams {
    /// The first day.
    from: NaiveDate,
    /// The last day (included).
    to: NaiveDate,
    /// The `next` of the page before.
    after: Option<String>,
    /// Rows wanted, 1 to 100 (50 if absent).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<usize>,
}

async fn cycle_times<S: Store>(State(app): State<Shared<S>>, Q(q): Q<RangeParams>) -> Reply {
    let page = page(q.after, q.limit)?;
    ok(&app.oms.cycle_times(range(q.from, q.to), &page).await?)
}

async fn fill_rate<S: Store>(State(app): State<Shared<S>>, Q(q): Q<RangeParams>) -> Reply {
    let page = page(q.after, q.limit)?;
    ok(&app.oms.fill_rate(range(q.from, q.to), &page).await?)
}

async fn on_time_in_full<S: Store>(State(app): State<Shared<S>>, Q(q): Q<RangeParams>) -> Reply {
    let page = page(q.after, q.limit)?;
    ok(&app.oms.on_time_in_full(range(q.from, q.to), &page).await?)
}

async fn payments<S: Store>(State(app): State<Shared<S>>, Q(q): Q<RangeParams>) -> Reply {
    let page = page(q.after, q.limit)?;
    ok(&app.oms.payment_figures(range(q.from, q.to), &page).await?)
}

async fn returns<S: Store>(State(app): State<Shared<S>>, Q(q): Q<RangeParams>) -> Reply {
    let page = page(q.after, q.limit)?;
    ok(&app
        .oms
        .returns_by_product(range(q.from, q.to), &page)
        .await?)
}

/// A page.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct PageParams {
    /// The `next` of the page before.
    after: Option<String>,
    /// Rows wanted, 1 to 100 (50 if absent).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<usize>,
}

async fn back_orders<S: Store>(State(app): State<Shared<S>>, Q(q): Q<PageParams>) -> Reply {
    let page = page(q.after, q.limit)?;
    ok(&app.oms.back_order_ageing(&page).await?)
}

/// Days, which rows, and a page.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct InventoryParams {
    /// The first day of the movements counted.
    from: NaiveDate,
    /// The last day (included).
    to: NaiveDate,
    /// `all`, `at_or_below_reorder_point` or `at_risk` (all if absent).
    filter: Option<StockFilter>,
    /// The `next` of the page before.
    after: Option<String>,
    /// Rows wanted, 1 to 100 (50 if absent).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<usize>,
}

async fn inventory<S: Store>(State(app): State<Shared<S>>, Q(q): Q<InventoryParams>) -> Reply {
    let page = page(q.after, q.limit)?;
    let filter = q.filter.unwrap_or_default();
    ok(&app
        .oms
        .inventory(range(q.from, q.to), filter, &page)
        .await?)
}
