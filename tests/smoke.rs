//! Smoke test: one web order through capture, payment, shipping and delivery.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod common;

use common::*;
use o2c::RecordPayment;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::money::Currency;
use o2c::order::{Channel, PlaceOrder};

#[tokio::test]
async fn web_order_walks_all_four_steps() {
    let w = world().await;
    assert_audit_clean(&w.oms).await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o1"), c.id, Channel::Web, Currency::USD)
                .line(sku("TEE"), 2)
                .line(sku("MUG"), 1),
        )
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    let invoice = order.invoices[0];
    let inv = w.oms.invoice(invoice).await.unwrap();
    w.oms
        .record_payment(RecordPayment::new(
            key("p1"),
            invoice,
            inv.total().unwrap(),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    for s in &shipments {
        w.oms
            .record_tracking(
                s.id,
                TrackingEvent {
                    at: start(),
                    status: ShipmentStatus::Delivered,
                    description: "ok".into(),
                },
            )
            .await
            .unwrap();
    }
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.status, o2c::order::OrderStatus::Completed);
    assert_audit_clean(&w.oms).await;
}
