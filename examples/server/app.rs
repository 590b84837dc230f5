//! The server's state, its limits, and the router with every layer.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use o2c::fulfilment::{PickupCarrier, TableRateCarrier};
use o2c::payment::SimulatedCardProvider;
use o2c::store::Store;
use o2c::{Applied, Oms};
use serde::Serialize;
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::problem::Problem;
use crate::replay::Replays;

/// The largest request body taken, in bytes.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// How long a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Event streams open at once; one more is refused with 503.
pub const MAX_STREAMS: usize = 64;
/// Rows a page holds at most (the library's own bound for reports).
pub const MAX_PAGE: usize = 100;
/// The header a replayed answer carries.
pub const REPLAYED: &str = "idempotent-replayed";

/// Parcels by table rate, and pickup in store.
pub type Carriers = (TableRateCarrier, PickupCarrier);
/// The service the server drives.
pub type Shop<S> = Oms<S, Carriers, Arc<SimulatedCardProvider>>;

/// What every handler shares.
pub struct App<S> {
    pub oms: Shop<S>,
    /// Permits for event streams.
    pub streams: Arc<Semaphore>,
    /// The OpenAPI document, serialised once.
    pub openapi: Bytes,
    /// The service's clock: "today" for the dashboard and `run_due`.
    pub clock: Arc<dyn o2c::clock::Clock>,
}

/// The handlers' state: the app behind an `Arc`.
pub type Shared<S> = Arc<App<S>>;

/// A handler's answer.
pub type Reply = Result<Response, Problem>;

/// 200 with `value` as JSON.
pub fn ok<T: Serialize>(value: &T) -> Reply {
    json(StatusCode::OK, value)
}

/// `status` with `value` as JSON.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Reply {
    let body = serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "an answer did not serialise");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server.internal",
            "the answer could not be written",
        )
    })?;
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

/// A keyed command's answer: `status` the first time, and the same answer,
/// marked, when the library says it replayed an earlier command with this key.
pub fn applied<T: Serialize>(status: StatusCode, outcome: Applied<T>) -> Reply {
    let replay = outcome.is_replay();
    let mut response = json(status, &outcome.into_inner())?;
    if replay {
        mark_replayed(&mut response);
    }
    Ok(response)
}

/// An answer kept by the replay cache, sent again.
pub fn replayed(status: StatusCode, content_type: Option<HeaderValue>, body: Bytes) -> Response {
    let mut response = (status, body).into_response();
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, content_type);
    }
    mark_replayed(&mut response);
    response
}

fn mark_replayed(response: &mut Response) {
    response.headers_mut().insert(
        HeaderName::from_static(REPLAYED),
        HeaderValue::from_static("true"),
    );
}

/// The whole server: the routes of [`crate::routes`], the pages, and the layers
/// every request passes: a request id, a span, the body limit and the timeout.
pub fn router<S: Store + 'static>(
    oms: Shop<S>,
    clock: Arc<dyn o2c::clock::Clock>,
) -> Result<Router, String> {
    let replays = Arc::new(Replays::default());
    let (routes, document) = crate::routes::all::<S>(replays)?;
    let openapi = Bytes::from(serde_json::to_vec_pretty(&document).unwrap_or_default());
    let app = Arc::new(App {
        oms,
        streams: Arc::new(Semaphore::new(MAX_STREAMS)),
        openapi,
        clock,
    });
    let request_id = HeaderName::from_static("x-request-id");
    Ok(routes
        .fallback(|| async {
            Problem::not_found("route.not_found", "no such route: see /openapi.json")
        })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "route.method_not_allowed",
                "this route does not take that method: see /openapi.json",
            )
        })
        .with_state(app)
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    // One span per request; the library's command spans (its
                    // `tracing` feature) open inside it, so a command's log lines
                    // carry the request's method, route and id.
                    TraceLayer::new_for_http().make_span_with(|request: &Request| {
                        let route = request
                            .extensions()
                            .get::<MatchedPath>()
                            .map_or("-", MatchedPath::as_str);
                        let id = request
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!("http", method = %request.method(), route, request_id = id)
                    }),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "request.timeout",
                        format!(
                            "the request took longer than {} s; try again",
                            REQUEST_TIMEOUT.as_secs()
                        ),
                    )
                }))
                .timeout(REQUEST_TIMEOUT),
        ))
}
