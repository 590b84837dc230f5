//! Orders: place, list, look at, amend, hold and release, cancel, authorise.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use o2c::ids::{CustomerId, OrderId};
use o2c::order::{AmendOrder, Channel, Hold, OrderCursor, OrderQuery, OrderStatus, PlaceOrder};
use o2c::store::Store;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{Api, Op};
use crate::app::{Reply, Shared, applied, ok};
use crate::extract::{Body, Key, Params, Q};
use crate::problem::Problem;

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.add(
        |s| {
            Op::post("/orders", "placeOrder")
                .about(
                    "orders",
                    "Place an order: stock is reserved at once, never oversold",
                )
                .body(s.body_of::<PlaceOrder>(&["idempotency_key"]))
                .answers(201, "The order as placed", s.named("Order"))
        },
        post(place::<S>),
    );
    api.add(
        |s| {
            Op::get("/orders", "listOrders")
                .about("orders", "Orders, filtered, a page at a time")
                .query(s.query::<OrdersQuery>())
                .answers(200, "A page of orders", s.named("OrderPage"))
        },
        get(list::<S>),
    );
    api.add(
        |s| {
            Op::get("/orders/ready-to-ship", "ordersReadyToShip")
                .about("orders", "Orders that can ship now, oldest first")
                .query(s.query::<LimitQuery>())
                .answers(
                    200,
                    "At most `limit` orders",
                    s.of::<Vec<o2c::order::Order>>(),
                )
        },
        get(ready_to_ship::<S>),
    );
    api.add(
        |s| {
            Op::get("/orders/{id}", "getOrder")
                .about(
                    "orders",
                    "An order, with what it is worth, billed, paid and owed",
                )
                .path("id", s.of::<OrderId>())
                .answers(200, "The order's view", s.named("OrderView"))
        },
        get(view::<S>),
    );
    api.add(
        |s| {
            Op::post("/orders/{id}/amendments", "amendOrder")
                .about(
                    "orders",
                    "Amend an order: add, re-price or cut lines, change the ship-to",
                )
                .path("id", s.of::<OrderId>())
                .body(s.body_of::<AmendOrder>(&["idempotency_key", "order"]))
                .answers(200, "The order after the amendment", s.named("Order"))
        },
        post(amend::<S>),
    );
    api.add(
        |s| {
            Op::post("/orders/{id}/holds", "holdOrder")
                .about("orders", "Put an order on hold")
                .path("id", s.of::<OrderId>())
                .body(s.of::<HoldBody>())
                .answers(200, "The order on hold", s.named("Order"))
        },
        post(hold::<S>),
    );
    api.add(
        |s| {
            Op::post("/orders/{id}/hold-releases", "releaseHold")
                .about("orders", "Release one of an order's holds")
                .path("id", s.of::<OrderId>())
                .body(s.of::<HoldBody>())
                .answers(200, "The order", s.named("Order"))
        },
        post(release::<S>),
    );
    api.add(
        |s| {
            Op::post("/orders/{id}/cancellation", "cancelOrder")
                .about(
                    "orders",
                    "Cancel an order: reservations released, postings reversed",
                )
                .path("id", s.of::<OrderId>())
                .body(s.of::<CancelBody>())
                .answers(200, "The cancelled order", s.named("Order"))
        },
        post(cancel::<S>),
    );
    api.add(
        |s| {
            Op::post("/orders/{id}/authorisation", "authoriseOrder")
                .about(
                    "payments",
                    "Authorise an order's card payment again (after a decline)",
                )
                .path("id", s.of::<OrderId>())
                .answers(200, "The order", s.named("Order"))
        },
        post(authorise::<S>),
    );
    api.add(
        |s| {
            Op::post("/orders/{id}/payment-requests", "settlePayments")
                .about(
                    "payments",
                    "Ask the provider about an order's unanswered payment requests",
                )
                .path("id", s.of::<OrderId>())
                .answers(200, "What became of them", s.of::<Settled>())
        },
        post(settle::<S>),
    );
}

async fn place<S: Store>(State(app): State<Shared<S>>, key: Key, body: Body) -> Reply {
    let cmd: PlaceOrder = body.decode(&[("idempotency_key", key.json())])?;
    applied(StatusCode::CREATED, app.oms.place_order(cmd).await?)
}

/// Which orders, and where the page starts.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct OrdersQuery {
    /// Only orders in this status.
    status: Option<OrderStatus>,
    /// Only this customer's orders.
    customer: Option<CustomerId>,
    /// Only orders from this channel.
    channel: Option<Channel>,
    /// Only orders placed at or after this time.
    placed_from: Option<DateTime<Utc>>,
    /// Only orders placed before this time.
    placed_before: Option<DateTime<Utc>>,
    /// Newest first instead of oldest first.
    newest_first: Option<bool>,
    /// The `next` of the page before.
    after: Option<String>,
    /// Rows wanted, 1 to 100 (50 if absent).
    #[schemars(range(min = 1, max = 100))]
    limit: Option<usize>,
}

async fn list<S: Store>(State(app): State<Shared<S>>, Q(q): Q<OrdersQuery>) -> Reply {
    let limit = super::page_size(q.limit)?;
    let after = q
        .after
        .map(|a| a.parse::<OrderCursor>())
        .transpose()
        .map_err(Problem::from)?;
    let mut query = OrderQuery::all();
    query.status = q.status;
    query.customer = q.customer;
    query.channel = q.channel;
    query.placed_from = q.placed_from;
    query.placed_before = q.placed_before;
    query.newest_first = q.newest_first.unwrap_or(false);
    query.after = after;
    ok(&app.oms.list_orders(&query, limit).await?)
}

/// How many rows.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitQuery {
    /// Rows wanted, 1 to 100 (50 if absent).
    #[schemars(range(min = 1, max = 100))]
    pub limit: Option<usize>,
}

async fn ready_to_ship<S: Store>(State(app): State<Shared<S>>, Q(q): Q<LimitQuery>) -> Reply {
    let limit = super::page_size(q.limit)?;
    ok(&app.oms.orders_ready_to_ship(limit).await?)
}

async fn view<S: Store>(State(app): State<Shared<S>>, Params(id): Params<OrderId>) -> Reply {
    ok(&app.oms.order_view(id).await?)
}

async fn amend<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<OrderId>,
    key: Key,
    body: Body,
) -> Reply {
    let cmd: AmendOrder = body.decode(&[("idempotency_key", key.json()), ("order", json!(id))])?;
    applied(StatusCode::OK, app.oms.amend_order(cmd).await?)
}

/// Which hold.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct HoldBody {
    /// The hold.
    hold: Hold,
}

async fn hold<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<OrderId>,
    Key(key): Key,
    body: Body,
) -> Reply {
    let HoldBody { hold } = body.parse()?;
    applied(StatusCode::OK, app.oms.hold_order(id, hold, key).await?)
}

async fn release<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<OrderId>,
    Key(key): Key,
    body: Body,
) -> Reply {
    let HoldBody { hold } = body.parse()?;
    applied(StatusCode::OK, app.oms.release_hold(id, hold, key).await?)
}

/// Why the order is cancelled.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    /// The reason, kept on the order and in the event.
    #[schemars(length(max = 500))]
    reason: String,
}

async fn cancel<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<OrderId>,
    Key(key): Key,
    body: Body,
) -> Reply {
    let CancelBody { reason } = body.parse()?;
    applied(
        StatusCode::OK,
        app.oms.cancel_order(id, &reason, key).await?,
    )
}

async fn authorise<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<OrderId>,
    Key(key): Key,
) -> Reply {
    applied(StatusCode::OK, app.oms.authorise_order(id, key).await?)
}

/// What became of an order's open payment requests.
#[derive(Serialize, schemars::JsonSchema)]
struct Settled {
    /// Requests the provider answered, now recorded.
    answered: u32,
    /// Requests still waiting for an answer.
    open: u32,
}

async fn settle<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<OrderId>,
    _: Key,
) -> Reply {
    let settled = app.oms.settle_payments(id).await?;
    ok(&Settled {
        answered: settled.answered,
        open: settled.open,
    })
}
