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

#[tokio::test]
async fn orders_and_customers_come_a_page_at_a_time_with_a_cursor_to_the_next() {
    use o2c::order::{Channel, OrderQuery, OrderStatus};
    let w = world().await;
    let ada = customer(&w, "Ada", PaymentTerms::Net { days: 30 }, None).await;
    let bo = customer(&w, "Bo", PaymentTerms::Net { days: 30 }, None).await;
    let mut placed = Vec::new();
    for n in 0..5 {
        w.clock.advance(chrono::Duration::minutes(1));
        let who = if n % 2 == 0 { ada.id } else { bo.id };
        placed.push(tee2_mug1(&w, &format!("o{n}"), who).await.id);
    }
    w.oms
        .cancel_order(placed[4], "changed mind", key("cancel-4"))
        .await
        .unwrap();

    // Everything, newest first, two at a time.
    let mut query = OrderQuery::all().newest_first();
    let mut pages = Vec::new();
    loop {
        let page = w.oms.list_orders(&query, 2).await.unwrap();
        pages.push(page.items.iter().map(|o| o.id).collect::<Vec<_>>());
        match page.next {
            // The cursor is a plain token a client sends back as it came.
            Some(cursor) => query = query.after(cursor.to_string().parse().unwrap()),
            None => break,
        }
    }
    let mut newest_first = placed.clone();
    newest_first.reverse();
    assert_eq!(pages.concat(), newest_first);
    assert_eq!(
        pages.len(),
        3,
        "2 + 2 + 1, and the last page says it is the last"
    );

    // Filtered: Ada's open web orders.
    let ada_open = OrderQuery::all()
        .customer(ada.id)
        .status(OrderStatus::Open)
        .channel(Channel::Web);
    let page = w.oms.list_orders(&ada_open, 10).await.unwrap();
    assert_eq!(
        page.items.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![placed[0], placed[2]]
    );
    assert!(page.next.is_none());
    let cancelled = OrderQuery::all().status(OrderStatus::Cancelled);
    assert_eq!(
        w.oms.list_orders(&cancelled, 10).await.unwrap().items.len(),
        1
    );

    // Customers by id, one at a time.
    let first = w.oms.list_customers(None, 1).await.unwrap();
    let second = w.oms.list_customers(first.next, 1).await.unwrap();
    assert!(second.next.is_none());
    let mut both = vec![first.items[0].id, second.items[0].id];
    both.sort();
    let mut expected = vec![ada.id, bo.id];
    expected.sort();
    assert_eq!(both, expected);
}
