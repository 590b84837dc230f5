//! Purchasing: suppliers, reorder rules, requisitions, offers, purchase orders.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use chrono::NaiveDate;
use o2c::ReceivePurchaseOrder;
use o2c::ids::{LocationId, PurchaseOrderId, Sku, SupplierId};
use o2c::purchasing::{PurchaseOrder, ReorderRule, Supplier};
use o2c::quantity::Quantity;
use o2c::store::Store;
use serde::Deserialize;
use serde_json::json;

use crate::api::{Api, Op};
use crate::app::{MAX_PAGE, Reply, Shared, applied, ok};
use crate::extract::{Body, Key, Params, Q};
use crate::problem::Problem;

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.add(
        |s| {
            Op::put("/suppliers/{id}", "saveSupplier")
                .about("purchasing", "Create or replace a supplier and its offers")
                .path("id", s.of::<SupplierId>())
                .body(s.body_of::<Supplier>(&["id"]))
                .answers(200, "The supplier as saved", s.named("Supplier"))
        },
        put(save_supplier::<S>),
    );
    api.add(
        |s| {
            Op::put("/reorder-rules", "setReorderRule")
                .about("purchasing", "Set a SKU's min/max rule at a location")
                .body(s.named("ReorderRule"))
                .answers(200, "The rule now in force", s.named("ReorderRule"))
        },
        put(set_reorder_rule::<S>),
    );
    api.add(
        |s| {
            Op::get("/requisitions", "listRequisitions")
                .about(
                    "purchasing",
                    "What to order: stock below its reorder rules, and back orders to ship to `ship_to`",
                )
                .query(s.query::<ShipToQuery>())
                .answers(
                    200,
                    "One per SKU to order",
                    s.of::<Vec<o2c::purchasing::Requisition>>(),
                )
        },
        get(requisitions::<S>),
    );
    api.add(
        |s| {
            Op::get("/offers", "rankOffers")
                .about("purchasing", "Suppliers' offers for a need, best first")
                .query(s.query::<OfferQuery>())
                .answers(200, "The ranking", s.named("OfferRanking"))
        },
        get(rank_offers::<S>),
    );
    api.add(
        |s| {
            Op::post("/replenishments", "replenish")
                .about(
                    "purchasing",
                    "Raise purchase orders for everything a location should order",
                )
                .body(s.of::<ShipToBody>())
                .answers(
                    201,
                    "The purchase orders raised",
                    s.of::<Vec<PurchaseOrder>>(),
                )
        },
        post(replenish::<S>),
    );
    api.add(
        |s| {
            Op::post("/purchase-orders", "raisePurchaseOrder")
                .about("purchasing", "Raise a purchase order with a supplier")
                .body(s.of::<RaiseBody>())
                .answers(201, "The purchase order", s.named("PurchaseOrder"))
        },
        post(raise::<S>),
    );
    for (path, id, summary, step) in [
        (
            "/purchase-orders/{id}/approval",
            "approvePurchaseOrder",
            "Approve a purchase order",
            Step::Approve,
        ),
        (
            "/purchase-orders/{id}/cancellation",
            "cancelPurchaseOrder",
            "Cancel a purchase order",
            Step::Cancel,
        ),
        (
            "/purchase-orders/{id}/closure",
            "closePurchaseOrder",
            "Close a purchase order short",
            Step::Close,
        ),
    ] {
        api.add(
            |s| {
                Op::post(path, id)
                    .about("purchasing", summary)
                    .path("id", s.of::<PurchaseOrderId>())
                    .answers(200, "The purchase order", s.named("PurchaseOrder"))
            },
            post(
                move |state: State<Shared<S>>, params: Params<PurchaseOrderId>, key: Key| {
                    take_step::<S>(state, params, key, step)
                },
            ),
        );
    }
    api.add(
        |s| {
            Op::post(
                "/purchase-orders/{id}/rescheduling",
                "reschedulePurchaseOrder",
            )
            .about("purchasing", "Move a purchase order's expected date")
            .path("id", s.of::<PurchaseOrderId>())
            .body(s.of::<RescheduleBody>())
            .answers(200, "The purchase order", s.named("PurchaseOrder"))
        },
        post(reschedule::<S>),
    );
    api.add(
        |s| {
            Op::post("/purchase-orders/{id}/receipts", "receivePurchaseOrder")
                .about(
                    "purchasing",
                    "Receive goods on a purchase order: stock, cost, back orders filled",
                )
                .path("id", s.of::<PurchaseOrderId>())
                .body(s.body_of::<ReceivePurchaseOrder>(&["idempotency_key", "purchase_order"]))
                .answers(200, "The purchase order", s.named("PurchaseOrder"))
        },
        post(receive::<S>),
    );
}

async fn save_supplier<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<SupplierId>,
    _: Key,
    body: Body,
) -> Reply {
    let supplier: Supplier = body.decode(&[("id", json!(id))])?;
    app.oms.save_supplier(supplier.clone()).await?;
    ok(&supplier)
}

async fn set_reorder_rule<S: Store>(State(app): State<Shared<S>>, _: Key, body: Body) -> Reply {
    let rule: ReorderRule = body.parse()?;
    app.oms.set_reorder_rule(rule.clone()).await?;
    ok(&rule)
}

/// The location to order for.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ShipToQuery {
    /// The location goods are to arrive at.
    ship_to: LocationId,
}

async fn requisitions<S: Store>(State(app): State<Shared<S>>, Q(q): Q<ShipToQuery>) -> Reply {
    // One row per SKU that location should order: bounded by its catalogue.
    ok(&app.oms.requisitions(&q.ship_to).await?)
}

/// A need to buy for.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct OfferQuery {
    /// The SKU.
    sku: Sku,
    /// Units needed.
    quantity: u32,
    /// The day they are needed by, if any.
    needed_by: Option<NaiveDate>,
}

async fn rank_offers<S: Store>(State(app): State<Shared<S>>, Q(q): Q<OfferQuery>) -> Reply {
    let needed = Quantity::new(q.quantity);
    ok(&app.oms.rank_offers(&q.sku, needed, q.needed_by).await?)
}

/// The location to replenish.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ShipToBody {
    /// The location goods are to arrive at.
    ship_to: LocationId,
}

async fn replenish<S: Store>(State(app): State<Shared<S>>, Key(key): Key, body: Body) -> Reply {
    let ShipToBody { ship_to } = body.parse()?;
    applied(StatusCode::CREATED, app.oms.replenish(&ship_to, key).await?)
}

/// A purchase order to raise.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RaiseBody {
    /// The supplier.
    supplier: SupplierId,
    /// Where the goods go.
    ship_to: LocationId,
    /// What to buy: SKUs and units.
    #[schemars(length(min = 1, max = 100))]
    lines: Vec<NeedLine>,
}

/// One SKU to buy.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct NeedLine {
    sku: Sku,
    quantity: Quantity,
}

async fn raise<S: Store>(State(app): State<Shared<S>>, Key(key): Key, body: Body) -> Reply {
    let raise: RaiseBody = body.parse()?;
    if raise.lines.len() > MAX_PAGE {
        return Err(Problem::invalid("lines: at most 100 on one purchase order"));
    }
    let needs: Vec<(Sku, Quantity)> = raise
        .lines
        .into_iter()
        .map(|l| (l.sku, l.quantity))
        .collect();
    applied(
        StatusCode::CREATED,
        app.oms
            .raise_purchase_order(raise.supplier, &raise.ship_to, &needs, key)
            .await?,
    )
}

/// A step in a purchase order's life that needs nothing but its id.
#[derive(Clone, Copy)]
enum Step {
    Approve,
    Cancel,
    Close,
}

async fn take_step<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<PurchaseOrderId>,
    Key(key): Key,
    step: Step,
) -> Reply {
    let outcome = match step {
        Step::Approve => app.oms.approve_purchase_order(id, key).await?,
        Step::Cancel => app.oms.cancel_purchase_order(id, key).await?,
        Step::Close => app.oms.close_purchase_order(id, key).await?,
    };
    applied(StatusCode::OK, outcome)
}

/// The new expected date.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RescheduleBody {
    /// When the goods are now expected.
    expected_on: NaiveDate,
}

async fn reschedule<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<PurchaseOrderId>,
    Key(key): Key,
    body: Body,
) -> Reply {
    let RescheduleBody { expected_on } = body.parse()?;
    applied(
        StatusCode::OK,
        app.oms
            .reschedule_purchase_order(id, expected_on, key)
            .await?,
    )
}

async fn receive<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<PurchaseOrderId>,
    key: Key,
    body: Body,
) -> Reply {
    let cmd: ReceivePurchaseOrder = body.decode(&[
        ("idempotency_key", key.json()),
        ("purchase_order", json!(id)),
    ])?;
    applied(StatusCode::OK, app.oms.receive_purchase_order(cmd).await?)
}
