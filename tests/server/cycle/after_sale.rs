//! The cycle after the sale: payments, returns, credit notes, refunds and
//! exchanges; a requisition bought in; an order cancelled and what falls due.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{DC, GADGET, SUPPLIER, Trade, WIDGET};
use crate::http::{Http, amount, usd};

/// A payment, a return, a credit note, a refund and an exchange; the paid
/// invoice.
pub(crate) async fn after_sale(http: &Http, trade: &Trade) -> Value {
    let (terms, card) = (&trade.terms, &trade.card);
    let first_id = trade.first["id"].as_str().unwrap().to_owned();
    let card_id = trade.card_order.clone();

    // The terms customer pays the first invoice by bank transfer.
    let view = http.read(&format!("/orders/{first_id}")).await;
    assert_eq!(view["fulfilment"], "delivered");
    let invoice_id = view["order"]["invoices"][0].as_str().unwrap().to_owned();
    let invoice = http.read(&format!("/invoices/{invoice_id}")).await;
    assert_eq!(invoice["status"], "open");
    let payment = http
        .post(
            "/payments",
            &json!({"invoice": invoice_id, "amount": usd("32.40"), "method": "bank_transfer", "reference": "BANK-1"}),
        )
        .await
        .expect(201);
    assert_eq!(payment["applied"], usd("32.40"));
    let payment_id = payment["id"].as_str().unwrap().to_owned();
    assert_eq!(
        http.read(&format!("/payments/{payment_id}")).await["amount"],
        usd("32.40")
    );
    let invoice = http.read(&format!("/invoices/{invoice_id}")).await;
    assert_eq!(
        (&invoice["status"], &invoice["paid"]),
        (&json!("paid"), &usd("32.40"))
    );

    // A return: requested, authorised, received back onto the shelf.
    let rma = http
        .post(
            "/returns",
            &json!({"order": first_id, "lines": [[1, 2, "damaged"]]}),
        )
        .await
        .expect(201);
    assert_eq!(rma["status"], "requested");
    let rma_id = rma["id"].as_str().unwrap().to_owned();
    let authorised = http
        .post_empty(&format!("/returns/{rma_id}/authorisation"))
        .await
        .expect(200);
    assert_eq!(authorised["status"], "authorised");
    let received = http
        .post(
            &format!("/returns/{rma_id}/receipts"),
            &json!({"lines": [[1, 2, {"resellable": {"location": DC}}]]}),
        )
        .await
        .expect(200);
    assert_eq!(received["status"], "received");
    assert_eq!(received["lines"][0]["restocked"], 2);
    assert_eq!(received["credit_given"], usd("21.60"));
    assert_eq!(http.read(&format!("/returns/{rma_id}")).await, received);
    assert_eq!(http.level(WIDGET, DC).await, (57, 0));

    // Goodwill on the paid invoice becomes credit; part of it is refunded.
    let credit = |c: &Value| amount(&c["history"]["credit"]);
    let terms_path = format!("/customers/{}", terms["id"].as_str().unwrap());
    let credit_before = credit(&http.read(&terms_path).await);
    let note = http
        .post(
            "/credit-notes",
            &json!({"invoice": invoice_id, "lines": [[1, 1]], "reason": "goodwill"}),
        )
        .await
        .expect(201);
    assert_eq!(note["to_customer_credit"], usd("10.80"));
    let note_id = note["id"].as_str().unwrap();
    assert_eq!(
        http.read(&format!("/credit-notes/{note_id}")).await["reason"],
        "goodwill"
    );
    let refunded = http
        .post(
            "/refunds",
            &json!({"payment": payment_id, "amount": usd("5.00")}),
        )
        .await
        .expect(201);
    assert_eq!(refunded["refunded"], usd("5.00"));
    assert_eq!(
        credit(&http.read(&terms_path).await),
        credit_before + Decimal::new(1080 - 500, 2)
    );

    // An exchange on the card order: the replacement is placed on receipt.
    let exchange = http
        .post(
            "/exchanges",
            &json!({
                "goods_back": {"order": card_id, "lines": [[1, 1, "wrong_item"]]},
                "replacement": [{"sku": WIDGET, "quantity": 1}],
            }),
        )
        .await
        .expect(201);
    assert_eq!(exchange["replacement"][0]["sku"], WIDGET);
    let exchange_id = exchange["id"].as_str().unwrap().to_owned();
    http.post_empty(&format!("/returns/{exchange_id}/authorisation"))
        .await
        .expect(200);
    let exchanged = http
        .post(
            &format!("/returns/{exchange_id}/receipts"),
            &json!({"lines": [[1, 1, "damaged"]]}),
        )
        .await
        .expect(200);
    let replacement_id = exchanged["replacement_order"].as_str().unwrap().to_owned();
    let replacement = http.read(&format!("/orders/{replacement_id}")).await;
    assert_eq!(replacement["order"]["customer"], card["id"]);
    assert_eq!(replacement["order"]["lines"][0]["sku"], WIDGET);
    // The damaged unit is written off; the replacement is reserved.
    assert_eq!(http.level(WIDGET, DC).await, (57, 1));

    invoice
}

/// A reorder rule's requisition, raised, approved and received.
pub(crate) async fn purchase(http: &Http) {
    // Purchasing: the rule asks for enough to reach its maximum.
    let wanted = |requisitions: &Value| {
        requisitions
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["sku"] == WIDGET && r["location"] == DC)
            .map(|r| r["quantity"].as_u64().unwrap())
    };
    let requisitions = http.read(&format!("/requisitions?ship_to={DC}")).await;
    assert_eq!(wanted(&requisitions), Some(80 - (57 - 1)), "{requisitions}");
    let ranking = http
        .read(&format!("/offers?sku={WIDGET}&quantity=24"))
        .await;
    assert!(ranking.to_string().contains(SUPPLIER), "{ranking}");
    let po = http
        .post(
            "/purchase-orders",
            &json!({"supplier": SUPPLIER, "ship_to": DC, "lines": [{"sku": WIDGET, "quantity": 24}]}),
        )
        .await
        .expect(201);
    assert_eq!(po["status"], "draft");
    assert_eq!(po["lines"][0]["unit_cost"], usd("3.50"));
    let po_id = po["id"].as_str().unwrap().to_owned();
    let approved = http
        .post_empty(&format!("/purchase-orders/{po_id}/approval"))
        .await
        .expect(200);
    assert_eq!(approved["status"], "approved");
    let received = http
        .post(
            &format!("/purchase-orders/{po_id}/receipts"),
            &json!({"lines": [[WIDGET, 24]]}),
        )
        .await
        .expect(200);
    assert_eq!(received["status"], "received");
    assert_eq!(http.level(WIDGET, DC).await, (81, 1));
    let requisitions = http.read(&format!("/requisitions?ship_to={DC}")).await;
    assert_eq!(wanted(&requisitions), None, "{requisitions}");
}

/// An order cancelled, and what falls due run.
pub(crate) async fn cancel_and_run_due(http: &Http, trade: &Trade) {
    // Cancelling releases what the order held.
    let doomed_id = &trade.doomed;
    let cancelled = http
        .post(
            &format!("/orders/{doomed_id}/cancellation"),
            &json!({"reason": "the buyer changed their mind"}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(http.level(GADGET, DC).await, (9, 0));
    http.post(
        &format!("/orders/{doomed_id}/cancellation"),
        &json!({"reason": "again"}),
    )
    .await
    .problem(409, "order.invalid_transition");

    let due = http.post_empty("/automation/run-due").await.expect(200);
    assert!(due["more"].is_boolean(), "{due}");
}
