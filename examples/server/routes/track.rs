//! Customer self-service: an order's status, shipments with tracking, and
//! invoices with what is due, found by the order number and the buyer's e-mail.
//!
//! An unknown number and a wrong e-mail get the same answer, so the page cannot
//! be used to learn which order numbers exist.

use axum::extract::State;
use axum::routing::post;
use chrono::{DateTime, NaiveDate, Utc};
use o2c::fulfilment::ShipmentStatus;
use o2c::ids::{OrderNumber, ShipmentId};
use o2c::money::Money;
use o2c::order::{FulfilmentStatus, OrderStatus, PaymentStatus};
use o2c::store::Store;
use serde::{Deserialize, Serialize};

use crate::api::{Api, Op};
use crate::app::{Reply, Shared, ok};
use crate::extract::Body;
use crate::problem::Problem;

pub fn add<S: Store + 'static>(api: &mut Api<Shared<S>>) {
    api.add(
        |s| {
            Op::post("/api/track", "trackOrder")
                .about(
                    "self-service",
                    "A customer's view of an order, by its number and their e-mail",
                )
                .read_only()
                .body(s.of::<TrackRequest>())
                .answers(200, "The order as its buyer sees it", s.of::<TrackView>())
        },
        post(track::<S>),
    );
}

/// What the customer quotes.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct TrackRequest {
    /// The order number, `SO-000042` (or just `42`).
    #[schemars(length(min = 1, max = 40))]
    order_number: String,
    /// The e-mail the order was placed with.
    #[schemars(length(min = 3, max = 254))]
    email: String,
}

/// An order as its buyer sees it: no costs, no internal ids beyond the
/// shipments'.
#[derive(Serialize, schemars::JsonSchema)]
struct TrackView {
    order_number: String,
    placed_at: DateTime<Utc>,
    status: OrderStatus,
    fulfilment: FulfilmentStatus,
    payment: PaymentStatus,
    total: Money,
    invoiced: Money,
    paid: Money,
    due: Money,
    lines: Vec<TrackLine>,
    shipments: Vec<TrackShipment>,
    invoices: Vec<TrackInvoice>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct TrackLine {
    sku: String,
    description: String,
    ordered: u32,
    shipped: u32,
}

#[derive(Serialize, schemars::JsonSchema)]
struct TrackShipment {
    id: ShipmentId,
    status: ShipmentStatus,
    carrier: String,
    service: Option<String>,
    tracking_number: Option<String>,
    tracking: Vec<TrackEvent>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct TrackEvent {
    at: DateTime<Utc>,
    status: ShipmentStatus,
    description: Option<String>,
}

#[derive(Serialize, schemars::JsonSchema)]
struct TrackInvoice {
    number: String,
    issued_on: NaiveDate,
    total: Money,
    due: Money,
    due_on: Option<NaiveDate>,
}

/// The one answer for "no such order" and "not your order".
fn unknown() -> Problem {
    Problem::not_found("track.not_found", "no order with that number and e-mail")
}

/// `SO-000042`, `so-42` or `42`.
fn order_number(text: &str) -> Option<OrderNumber> {
    let text = text.trim();
    let digits = match text.get(..3) {
        Some(prefix) if prefix.eq_ignore_ascii_case("SO-") => text.get(3..)?,
        _ => text,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(OrderNumber::new)
}

async fn track<S: Store>(State(app): State<Shared<S>>, body: Body) -> Reply {
    let request: TrackRequest = body.parse()?;
    let number = order_number(&request.order_number).ok_or_else(unknown)?;
    let id = app
        .oms
        .order_by_number(&number)
        .await?
        .ok_or_else(unknown)?;
    let view = app.oms.order_view(id).await?;
    let buyer = app.oms.customer(view.order.customer).await?;
    if !buyer
        .profile
        .email
        .trim()
        .eq_ignore_ascii_case(request.email.trim())
    {
        return Err(unknown());
    }
    let order = &view.order;
    let mut shipments = Vec::with_capacity(order.shipments.len());
    for id in &order.shipments {
        let shipment = app.oms.shipment(*id).await?;
        let tracking_number = shipment.tracking.as_str().to_owned();
        shipments.push(TrackShipment {
            id: shipment.id,
            status: shipment.status,
            carrier: shipment.carrier.clone(),
            service: (!shipment.service.is_empty()).then(|| shipment.service.clone()),
            tracking_number: (!tracking_number.is_empty()).then_some(tracking_number),
            tracking: shipment
                .tracking_events
                .iter()
                .map(|e| TrackEvent {
                    at: e.at,
                    status: e.status,
                    description: (!e.description.is_empty()).then(|| e.description.clone()),
                })
                .collect(),
        });
    }
    let mut invoices = Vec::with_capacity(order.invoices.len());
    for id in &order.invoices {
        let invoice = app.oms.invoice(*id).await?;
        invoices.push(TrackInvoice {
            number: invoice.number.to_string(),
            issued_on: invoice.issued_at.date_naive(),
            total: invoice.total().map_err(o2c::Error::from)?,
            due: invoice.outstanding().map_err(o2c::Error::from)?,
            due_on: Some(invoice.due_at.date_naive()),
        });
    }
    ok(&TrackView {
        order_number: number.to_string(),
        placed_at: order.placed_at,
        status: order.status,
        fulfilment: view.fulfilment,
        payment: view.payment,
        total: view.total,
        invoiced: view.invoiced,
        paid: view.paid,
        due: view.due,
        lines: order
            .lines
            .iter()
            .map(|line| TrackLine {
                sku: line.sku.to_string(),
                description: line.description.to_string(),
                ordered: line.quantity.units(),
                shipped: line.shipped.units(),
            })
            .collect(),
        shipments,
        invoices,
    })
}

#[cfg(test)]
mod tests {
    use super::order_number;

    #[test]
    fn order_numbers_read_as_customers_write_them() {
        assert_eq!(order_number("SO-000042").map(|n| n.value()), Some(42));
        assert_eq!(order_number(" so-7 ").map(|n| n.value()), Some(7));
        assert_eq!(order_number("42").map(|n| n.value()), Some(42));
        assert_eq!(order_number("SO-"), None);
        assert_eq!(order_number("SO-4x"), None);
        assert_eq!(order_number("PO-000001"), None);
    }
}
