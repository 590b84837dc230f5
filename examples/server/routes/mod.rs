//! Every operation, by area: each module adds its routes and their description
//! to the one [`Api`] table.

mod catalog;
mod dashboard;
mod events;
mod ledger;
mod orders;
mod pages;
mod payments;
mod purchasing;
mod reports;
mod returns;
mod shipping;
mod stock;
mod track;

use std::sync::Arc;

use axum::Router;
use o2c::store::Store;
use serde_json::{Value, json};

use crate::api::Api;
use crate::app::Shared;
use crate::replay::Replays;

/// The router with every operation, and its OpenAPI document.
pub fn all<S: Store + 'static>(
    replays: Arc<Replays>,
) -> Result<(Router<Shared<S>>, Value), String> {
    let mut api = Api::new(replays);
    catalog::add::<S>(&mut api);
    stock::add::<S>(&mut api);
    orders::add::<S>(&mut api);
    shipping::add::<S>(&mut api);
    payments::add::<S>(&mut api);
    returns::add::<S>(&mut api);
    purchasing::add::<S>(&mut api);
    ledger::add::<S>(&mut api);
    reports::add::<S>(&mut api);
    events::add::<S>(&mut api);
    dashboard::add::<S>(&mut api);
    track::add::<S>(&mut api);
    pages::add::<S>(&mut api);
    api.finish(json!({
        "title": "o2c demo server",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Order-to-cash over HTTP: every command and view of the o2c library. \
            Every write takes an `Idempotency-Key` header; errors are `application/problem+json` \
            carrying the library's error code; lists are pages of at most 100, continued by cursor.",
    }))
}

/// A page size given by a caller: 1 to [`crate::app::MAX_PAGE`], 50 if absent.
pub fn page_size(limit: Option<usize>) -> Result<usize, crate::problem::Problem> {
    match limit.unwrap_or(50) {
        n @ 1..=crate::app::MAX_PAGE => Ok(n),
        n => Err(crate::problem::Problem::invalid(format!(
            "limit: {n} is not between 1 and {}",
            crate::app::MAX_PAGE
        ))),
    }
}
