//! What the dashboard shows, in one answer: the pipeline, today's sales by
//! channel, receivables ageing, low stock and back orders. Each part is one of
//! the library's reports, answered from its read models.

use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use o2c::money::Money;
use o2c::reports::{
    AgeingRow, DateRange, Dimension, Granularity, Member, PageRequest, SalesQuery, StockFilter,
};
use o2c::store::Store;
use serde::Serialize;

use crate::api::{Api, Op};
use crate::app::{Reply, Shared, ok};

/// Rows of each list the dashboard shows.
const ROWS: usize = 8;

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.add(
        |s| {
            Op::get("/api/dashboard", "dashboard")
                .about("reports", "The dashboard's figures, all at once")
                .answers(200, "The figures", s.of::<Dashboard>())
        },
        get(dashboard::<S>),
    );
}

/// The dashboard's figures.
#[derive(Serialize, schemars::JsonSchema)]
struct Dashboard {
    as_of: DateTime<Utc>,
    today: NaiveDate,
    pipeline: Vec<Stage>,
    sales_today: Vec<ChannelSales>,
    ageing: Vec<Ageing>,
    ageing_totals: Vec<Ageing>,
    low_stock: Vec<LowStock>,
    back_orders: Vec<BackOrders>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct Stage {
    stage: o2c::reports::PipelineStage,
    channel: o2c::order::Channel,
    orders: u64,
    value: Money,
}

#[derive(Serialize, schemars::JsonSchema)]
struct ChannelSales {
    channel: String,
    currency: String,
    units_sold: i64,
    net_revenue: String,
    gross_margin: String,
}

#[derive(Serialize, schemars::JsonSchema)]
struct Ageing {
    /// The customer's name (absent on the totals).
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<String>,
    currency: String,
    current: String,
    days_1_30: String,
    days_31_60: String,
    days_61_90: String,
    over_90: String,
    total: String,
}

#[derive(Serialize, schemars::JsonSchema)]
struct LowStock {
    sku: String,
    location: String,
    on_hand: i64,
    available: i64,
    reorder_point: Option<i64>,
    on_order: i64,
    back_ordered: i64,
    shortfall: i64,
}

#[derive(Serialize, schemars::JsonSchema)]
struct BackOrders {
    sku: String,
    units: i64,
    orders: u64,
    oldest_days: i64,
}

/// An amount as the JSON of money writes it: at least the currency's scale.
fn amount(money: &Money) -> String {
    serde_json::to_value(money)
        .ok()
        .and_then(|v| v.get("amount").and_then(|a| a.as_str()).map(str::to_owned))
        .unwrap_or_else(|| money.amount().to_string())
}

fn ageing(row: &AgeingRow, customer: Option<String>) -> Ageing {
    Ageing {
        customer,
        currency: row.total.currency().to_string(),
        current: amount(&row.current),
        days_1_30: amount(&row.days_1_30),
        days_31_60: amount(&row.days_31_60),
        days_61_90: amount(&row.days_61_90),
        over_90: amount(&row.over_90),
        total: amount(&row.total),
    }
}

async fn dashboard<S: Store>(State(app): State<Shared<S>>) -> Reply {
    let now = app.clock.now();
    let today = now.date_naive();
    let oms = &app.oms;
    let first = PageRequest::first(ROWS);

    let pipeline = oms
        .order_pipeline()
        .await?
        .into_iter()
        .map(|row| Stage {
            stage: row.stage,
            channel: row.channel,
            orders: row.orders,
            value: row.value,
        })
        .collect();

    let sales = oms
        .sales(&SalesQuery {
            range: DateRange {
                from: today,
                to: today,
            },
            granularity: Granularity::Day,
            dimension: Dimension::Channel,
            page: PageRequest::first(crate::app::MAX_PAGE),
        })
        .await?;
    let sales_today = sales
        .items
        .iter()
        .filter_map(|row| match &row.member {
            Member::Channel(channel) => Some(ChannelSales {
                channel: serde_json::to_value(channel)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                currency: row.net_revenue.currency().to_string(),
                units_sold: row.units_sold,
                net_revenue: amount(&row.net_revenue),
                gross_margin: amount(&row.gross_margin),
            }),
            _ => None,
        })
        .collect();

    let report = oms.receivables_ageing(today, &first).await?;
    let mut customers = Vec::new();
    for row in &report.customers.items {
        let name = match row.customer {
            Some(id) => oms.customer(id).await.ok().map(|c| c.profile.name.clone()),
            None => None,
        };
        customers.push(ageing(row, name));
    }
    let ageing_totals = report.totals.iter().map(|row| ageing(row, None)).collect();

    let month = DateRange {
        from: today - Duration::days(29),
        to: today,
    };
    let low_stock = oms
        .inventory(month, StockFilter::AtOrBelowReorderPoint, &first)
        .await?
        .items
        .into_iter()
        .map(|row| LowStock {
            sku: row.sku.to_string(),
            location: row.location.to_string(),
            on_hand: row.on_hand,
            available: row.available,
            reorder_point: row.reorder_point,
            on_order: row.on_order,
            back_ordered: row.back_ordered,
            shortfall: row.shortfall,
        })
        .collect();
    let back_orders = oms
        .back_order_ageing(&first)
        .await?
        .items
        .into_iter()
        .map(|row| BackOrders {
            sku: row.sku.to_string(),
            units: row.units,
            orders: row.orders,
            oldest_days: (now - row.oldest).num_days().max(0),
        })
        .collect();

    ok(&Dashboard {
        as_of: now,
        today,
        pipeline,
        sales_today,
        ageing: customers,
        ageing_totals,
        low_stock,
        back_orders,
    })
}
