//! Shipping: book what can ship, follow it, hear from a third-party warehouse.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use o2c::fulfilment::{Shipment, ThirdPartyMessage, TrackingEvent};
use o2c::ids::{OrderId, ShipmentId};
use o2c::store::Store;

use crate::api::{Api, Op};
use crate::app::{Reply, Shared, applied, ok};
use crate::extract::{Body, Key, Params};

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.add(
        |s| {
            Op::post("/orders/{id}/shipments", "shipOrder")
                .about(
                    "shipping",
                    "Ship what is reserved and released: book the carrier, invoice as policy says",
                )
                .path("id", s.of::<OrderId>())
                .answers(201, "The shipments booked", s.of::<Vec<Shipment>>())
        },
        post(ship::<S>),
    );
    api.add(
        |s| {
            Op::get("/shipments/{id}", "getShipment")
                .about("shipping", "A shipment, with its tracking")
                .path("id", s.of::<ShipmentId>())
                .answers(200, "The shipment", s.named("Shipment"))
        },
        get(shipment::<S>),
    );
    api.add(
        |s| {
            Op::post("/shipments/{id}/tracking", "recordTracking")
                .about("shipping", "Record a carrier's tracking event (a webhook)")
                .path("id", s.of::<ShipmentId>())
                .body(s.named("TrackingEvent"))
                .answers(200, "The shipment", s.named("Shipment"))
        },
        post(record_tracking::<S>),
    );
    api.add(
        |s| {
            Op::post("/shipments/{id}/tracking-refresh", "refreshTracking")
                .about(
                    "shipping",
                    "Ask the carrier for the shipment's latest tracking",
                )
                .path("id", s.of::<ShipmentId>())
                .answers(200, "The shipment", s.named("Shipment"))
        },
        post(refresh_tracking::<S>),
    );
    api.add(
        |s| {
            Op::post("/third-party/messages", "applyThirdPartyMessage")
                .about(
                    "shipping",
                    "Apply a third-party warehouse's message: shipped, rejected, counted",
                )
                .body(s.named("ThirdPartyMessage"))
                .answers(200, "What it did", s.named("ThirdPartyOutcome"))
        },
        post(third_party::<S>),
    );
}

async fn ship<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<OrderId>,
    Key(key): Key,
) -> Reply {
    applied(StatusCode::CREATED, app.oms.ship(id, key).await?)
}

async fn shipment<S: Store>(State(app): State<Shared<S>>, Params(id): Params<ShipmentId>) -> Reply {
    ok(&app.oms.shipment(id).await?)
}

async fn record_tracking<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<ShipmentId>,
    _: Key,
    body: Body,
) -> Reply {
    let event: TrackingEvent = body.parse()?;
    applied(StatusCode::OK, app.oms.record_tracking(id, event).await?)
}

async fn refresh_tracking<S: Store>(
    State(app): State<Shared<S>>,
    Params(id): Params<ShipmentId>,
    _: Key,
) -> Reply {
    applied(StatusCode::OK, app.oms.refresh_tracking(id).await?)
}

async fn third_party<S: Store>(State(app): State<Shared<S>>, _: Key, body: Body) -> Reply {
    let message: ThirdPartyMessage = body.parse()?;
    let outcome = app.oms.apply_third_party_message(&message).await?;
    // The outcome's schema is `Applied<ThirdPartyOutcome>`: sent whole.
    ok(&outcome)
}
