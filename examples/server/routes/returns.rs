//! Returns and exchanges: request, authorise or reject, receive, close.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use o2c::ids::ReturnId;
use o2c::returns::{ReceiveReturn, RequestExchange, RequestReturn};
use o2c::store::Store;
use serde_json::json;

use crate::api::{Api, Op};
use crate::app::{Reply, Shared, applied, ok};
use crate::extract::{Body, Key, Params};

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.add(
        |s| {
            Op::post("/returns", "requestReturn")
                .about("returns", "Ask to return shipped units")
                .body(s.body_of::<RequestReturn>(&["idempotency_key"]))
                .answers(
                    201,
                    "The return authorisation",
                    s.named("ReturnAuthorization"),
                )
        },
        post(request_return::<S>),
    );
    api.add(
        |s| {
            Op::post("/exchanges", "requestExchange")
                .about("returns", "Return units and order replacements in one step")
                .body({
                    let goods_back = s.body_of::<RequestReturn>(&["idempotency_key"]);
                    s.nested_body_of::<RequestExchange>("goods_back", goods_back)
                })
                .answers(
                    201,
                    "The return authorisation",
                    s.named("ReturnAuthorization"),
                )
        },
        post(request_exchange::<S>),
    );
    api.add(
        |s| {
            Op::get("/returns/{id}", "getReturn")
                .about("returns", "A return authorisation")
                .path("id", s.of::<ReturnId>())
                .answers(200, "The return", s.named("ReturnAuthorization"))
        },
        get(return_authorization::<S>),
    );
    for (path, id, summary, step) in [
        (
            "/returns/{id}/authorisation",
            "authoriseReturn",
            "Authorise a requested return",
            Step::Authorise,
        ),
        (
            "/returns/{id}/rejection",
            "rejectReturn",
            "Reject a requested return",
            Step::Reject,
        ),
        (
            "/returns/{id}/closure",
            "closeReturn",
            "Close a return: nothing more is expected",
            Step::Close,
        ),
    ] {
        api.add(
            |s| {
                Op::post(path, id)
                    .about("returns", summary)
                    .path("id", s.of::<ReturnId>())
                    .answers(200, "The return", s.named("ReturnAuthorization"))
            },
            post(
                move |state: State<Shared<S>>, params: Params<ReturnId>, key: Key| {
                    take_step::<S>(state, params, key, step)
                },
            ),
        );
    }
    api.add(
        |s| {
            Op::post("/returns/{id}/receipts", "receiveReturn")
                .about(
                    "returns",
                    "Receive returned units: restock, credit, exchange as decided",
                )
                .path("id", s.of::<ReturnId>())
                .body(s.body_of::<ReceiveReturn>(&["idempotency_key", "rma"]))
                .answers(200, "The return", s.named("ReturnAuthorization"))
        },
        post(receive::<S>),
    );
}

async fn request_return<S: Store>(State(app): State<Shared<S>>, key: Key, body: Body) -> Reply {
    let cmd: RequestReturn = body.decode(&[("idempotency_key", key.json())])?;
    applied(StatusCode::CREATED, app.oms.request_return(cmd).await?)
}

async fn request_exchange<S: Store>(State(app): State<Shared<S>>, key: Key, body: Body) -> Reply {
    // The key goes into the goods coming back, which is where the library keeps it.
    let cmd: RequestExchange = body.decode(&[("goods_back.idempotency_key", key.json())])?;
    applied(StatusCode::CREATED, app.oms.request_exchange(cmd).await?)
}

async fn return_authorization<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<ReturnId>,
) -> Reply {
    ok(&app.oms.return_authorization(id).await?)
}

/// A step in a return's life that needs nothing but its id.
#[derive(Clone, Copy)]
enum Step {
    Authorise,
    Reject,
    Close,
}

async fn take_step<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<ReturnId>,
    Key(key): Key,
    step: Step,
) -> Reply {
    let outcome = match step {
        Step::Authorise => app.oms.authorise_return(id, key).await?,
        Step::Reject => app.oms.reject_return(id, key).await?,
        Step::Close => app.oms.close_return(id, key).await?,
    };
    applied(StatusCode::OK, outcome)
}

async fn receive<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<ReturnId>,
    key: Key,
    body: Body,
) -> Reply {
    let cmd: ReceiveReturn = body.decode(&[("idempotency_key", key.json()), ("rma", json!(id))])?;
    applied(StatusCode::OK, app.oms.receive_return(cmd).await?)
}
