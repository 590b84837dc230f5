//! The self-service tracking page: one answer for the buyer, one for everyone
//! else.

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::json;

use crate::http::{Http, amount, delivered, place, register, start};

#[tokio::test]
async fn self_service_gives_one_answer_to_strangers() {
    let server = start(&[]);
    let http = Http::new(&server);
    let customer = register(&http, "Tracking Buyer", "Track.Me@buyer.example", false).await;
    let order = place(
        &http,
        &customer,
        "web",
        &[("HOODIE-GREY", 1), ("MUG-LOGO", 2)],
    )
    .await;
    let id = order["id"].as_str().unwrap();
    let shipments = http
        .post_empty(&format!("/orders/{id}/shipments"))
        .await
        .expect(201);
    let shipment = shipments[0]["id"].as_str().unwrap();
    http.post(&format!("/shipments/{shipment}/tracking"), &delivered())
        .await
        .expect(200);
    let number = format!("SO-{:06}", order["number"].as_u64().unwrap());
    let track = |number: &str, email: &str| json!({"order_number": number, "email": email});

    // The buyer, quoting the number as printed and their e-mail in any case.
    let view = http
        .raw(
            Method::POST,
            "/api/track",
            &[("content-type", "application/json")],
            Some(serde_json::to_vec(&track(&number, " track.me@BUYER.example ")).unwrap()),
        )
        .await
        .expect(200);
    assert_eq!(view["order_number"], number);
    assert_eq!(view["fulfilment"], "delivered");
    let lines = view["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (&lines[1]["sku"], &lines[1]["ordered"], &lines[1]["shipped"]),
        (&json!("MUG-LOGO"), &json!(2), &json!(2))
    );
    assert_eq!(view["shipments"][0]["id"], shipment);
    assert_eq!(view["shipments"][0]["status"], "delivered");
    assert!(view["shipments"][0]["tracking_number"].is_string());
    assert_eq!(view["shipments"][0]["tracking"][0]["status"], "delivered");
    let invoices = view["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0]["due"], view["due"]);
    assert!(amount(&view["due"]) > Decimal::ZERO);
    // The buyer sees no costs.
    assert!(!view.to_string().contains("cost"), "{view}");
    // The bare number works too.
    let bare = order["number"].as_u64().unwrap().to_string();
    let again = http
        .raw(
            Method::POST,
            "/api/track",
            &[("content-type", "application/json")],
            Some(serde_json::to_vec(&track(&bare, "track.me@buyer.example")).unwrap()),
        )
        .await
        .expect(200);
    assert_eq!(again, view);

    // A wrong e-mail and an unknown number get the same answer, byte for byte.
    let mut answers = Vec::new();
    for (number, email) in [
        (number.as_str(), "someone.else@buyer.example"),
        ("SO-999999", "track.me@buyer.example"),
        ("SO-0", "track.me@buyer.example"),
        ("not a number", "track.me@buyer.example"),
    ] {
        let answer = http
            .raw(
                Method::POST,
                "/api/track",
                &[("content-type", "application/json")],
                Some(serde_json::to_vec(&track(number, email)).unwrap()),
            )
            .await;
        answer.problem(404, "track.not_found");
        answers.push(answer);
    }
    for answer in &answers[1..] {
        assert_eq!(answer.body, answers[0].body, "{}", answer.text());
        assert_eq!(answer.content_type(), answers[0].content_type());
    }
    assert!(!answers[0].text().contains(id));
}
