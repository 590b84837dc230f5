//! Batched reads a host builds its screens from: several orders at once, and what
//! each SKU has free to promise beside its reorder point.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod common;

use common::*;
use o2c::Error;
use o2c::customer::PaymentTerms;
use o2c::ids::OrderId;

#[tokio::test]
async fn orders_are_read_together_in_the_order_asked() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Net { days: 30 }, None).await;
    let first = tee2_mug1(&w, "o1", c.id).await;
    let second = tee2_mug1(&w, "o2", c.id).await;
    let read = w
        .oms
        .orders(&[second.id, first.id, second.id])
        .await
        .unwrap();
    assert_eq!(read, vec![second.clone(), first, second]);
    assert!(w.oms.orders(&[]).await.unwrap().is_empty());

    let unknown = OrderId::from_uuid(uuid::Uuid::from_u128(7));
    let err = w.oms.orders(&[unknown]).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn availability_sums_every_location_against_the_reorder_point() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Net { days: 30 }, None).await;
    // TEE 10/10/5, MUG 5/20/2, BOOK 0/8/0; every reorder point is 3.
    tee2_mug1(&w, "o1", c.id).await;
    let seen = w
        .oms
        .availability(&[sku("MUG"), sku("TEE"), sku("BOOK")])
        .await
        .unwrap();
    let summary: Vec<(&str, i64, i64, bool)> = seen
        .iter()
        .map(|a| (a.sku.as_str(), a.on_hand, a.reserved, a.is_low()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("MUG", 27, 1, false),
            ("TEE", 25, 2, false),
            ("BOOK", 8, 0, false)
        ]
    );

    // Asked twice, side by side or apart: each answer is the SKU's own, never doubled.
    let twice = w
        .oms
        .availability(&[sku("TEE"), sku("TEE"), sku("MUG"), sku("TEE")])
        .await
        .unwrap();
    let on_hand: Vec<i64> = twice.iter().map(|a| a.on_hand).collect();
    assert_eq!(on_hand, vec![25, 25, 27, 25]);
}

#[tokio::test]
async fn availability_of_an_unknown_sku_is_not_found() {
    let w = world().await;
    let err = w
        .oms
        .availability(&[sku("TEE"), sku("NOPE")])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn an_order_view_carries_its_money_and_progress() {
    use o2c::RecordPayment;
    use o2c::customer::PaymentMethod;
    use o2c::order::{FulfilmentStatus, PaymentStatus};
    use rust_decimal_macros::dec;

    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o1", c.id).await;
    let view = w.oms.order_view(order.id).await.unwrap();
    assert_eq!(view.order, order);
    assert_eq!(view.total, usd(dec!(57.75)));
    assert_eq!(view.invoiced, usd(dec!(57.75)), "invoiced on order");
    assert_eq!(view.due, usd(dec!(57.75)));
    assert_eq!(view.unbilled, usd(dec!(0)));
    assert_eq!(view.payment, PaymentStatus::Unpaid);
    assert_eq!(view.fulfilment, FulfilmentStatus::Unshipped);

    let pay = RecordPayment::new(
        key("p1"),
        order.invoices[0],
        usd(dec!(20.00)),
        PaymentMethod::Card,
    );
    w.oms.record_payment(pay).await.unwrap();
    let view = w.oms.order_view(order.id).await.unwrap();
    assert_eq!((view.paid, view.due), (usd(dec!(20.00)), usd(dec!(37.75))));
    assert_eq!(view.payment, PaymentStatus::PartiallyPaid);

    // The view's JSON carries the figures beside the order.
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["due"], serde_json::to_value(usd(dec!(37.75))).unwrap());
    assert_eq!(json["order"]["id"], serde_json::to_value(order.id).unwrap());

    let unknown = OrderId::from_uuid(uuid::Uuid::from_u128(7));
    let err = w.oms.order_view(unknown).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                addressed: true,
                ..
            }
        ),
        "{err:?}"
    );
}
