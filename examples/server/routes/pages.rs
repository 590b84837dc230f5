//! The pages a browser opens, the files they load, and the OpenAPI document.
//! Everything is compiled into the binary: no build step, nothing to fetch.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use o2c::store::Store;

use crate::api::Api;
use crate::app::Shared;
use crate::extract::Params;
use crate::problem::Problem;

/// The static files, by name: (content type, text).
const FILES: &[(&str, &str, &str)] = &[
    (
        "dashboard.html",
        "text/html; charset=utf-8",
        include_str!("../static/dashboard.html"),
    ),
    (
        "track.html",
        "text/html; charset=utf-8",
        include_str!("../static/track.html"),
    ),
    (
        "docs.html",
        "text/html; charset=utf-8",
        include_str!("../static/docs.html"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/dom.js"),
    ),
    (
        "dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/dashboard.js"),
    ),
    (
        "track.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/track.js"),
    ),
    (
        "docs.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/docs.js"),
    ),
    (
        "charts.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/charts.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../static/style.css"),
    ),
];

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.page("/", get(|| async { file("dashboard.html") }));
    api.page("/track", get(|| async { file("track.html") }));
    api.page("/docs", get(|| async { file("docs.html") }));
    api.page(
        "/static/{name}",
        get(|Params(name): Params<String>| async move { file(&name) }),
    );
    api.page("/openapi.json", get(openapi::<S>));
    api.page("/healthz", get(|| async { "ok" }));
}

fn file(name: &str) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, text)) => {
            let mut response = (StatusCode::OK, *text).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
        }
        None => Problem::not_found("route.not_found", format!("no file `{name}`")).into_response(),
    }
}

async fn openapi<S: Store>(State(app): State<Shared<S>>) -> Response {
    let mut response = (StatusCode::OK, app.openapi.clone()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
