//! A replayed write gets the first answer, even after the order moved on.

use reqwest::Method;
use serde_json::{Value, json};

use crate::http::{Http, register, start, usd};

#[tokio::test]
async fn replays_answer_the_first_result() {
    let server = start(&[]);
    let http = Http::new(&server);
    let customer = register(&http, "Retrying Buyer", "retry@buyer.example", false).await;
    let order = json!({
        "customer": customer["id"], "channel": "phone", "currency": "USD",
        "lines": [{"sku": "CAP-BLACK", "quantity": 2}],
    });
    let stock_before = http.level("CAP-BLACK", "WH-EAST").await;

    // A keyed command: the library keeps the key.
    let key = http.key();
    let first = http.send(Method::POST, "/orders", &key, Some(&order)).await;
    let placed = first.expect(201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = http.send(Method::POST, "/orders", &key, Some(&order)).await;
    assert_eq!(again.expect(201), placed);
    assert_eq!(
        again.body, first.body,
        "the replay is the first answer, byte for byte"
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let mut other = order.clone();
    other["lines"][0]["quantity"] = json!(3);
    let problem = http
        .send(Method::POST, "/orders", &key, Some(&other))
        .await
        .problem(409, "idempotency.key_reused");
    assert_eq!(problem["retryable"], false);
    let path = format!("/orders?customer={}", customer["id"].as_str().unwrap());
    let orders = http.read(&path).await;
    assert_eq!(orders["items"].as_array().unwrap().len(), 1, "{orders}");
    assert_eq!(orders["items"][0]["id"], placed["id"]);
    // Two units left the shelf's free stock, once.
    let (on_hand, reserved) = stock_before;
    assert_eq!(
        http.level("CAP-BLACK", "WH-EAST").await,
        (on_hand, reserved + 2)
    );

    // A keyed command whose key the body also carries must agree with it.
    let mut disagreeing = order.clone();
    disagreeing["idempotency_key"] = json!("another-key");
    http.post("/orders", &disagreeing)
        .await
        .problem(422, "request.invalid");

    // A write the server's cache keys: saving a product.
    let product = json!({
        "name": "Replayed mug", "price": usd("9.00"), "cost": usd("3.00"), "tax_class": "standard",
    });
    let key = http.key();
    let first = http
        .send(Method::PUT, "/products/REPLAY-MUG", &key, Some(&product))
        .await;
    let saved = first.expect(200);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = http
        .send(Method::PUT, "/products/REPLAY-MUG", &key, Some(&product))
        .await;
    assert_eq!(again.expect(200), saved);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let mut renamed = product.clone();
    renamed["name"] = json!("Renamed mug");
    let conflict = http
        .send(Method::PUT, "/products/REPLAY-MUG", &key, Some(&renamed))
        .await;
    let problem = conflict.problem(409, "idempotency.key_reused");
    // The same request with this key is refused every time: not retryable,
    // as the library says of its own `idempotency.key_reused` above.
    assert_eq!(problem["retryable"], false);
    assert_eq!(conflict.header("retry-after"), None);
    // The same key on another product is another request too.
    http.send(Method::PUT, "/products/REPLAY-MUG-2", &key, Some(&product))
        .await
        .problem(409, "idempotency.key_reused");
    assert_eq!(
        http.read("/products/REPLAY-MUG").await["name"],
        "Replayed mug"
    );
    http.get("/products/REPLAY-MUG-2")
        .await
        .problem(404, "record.not_found");

    // A replay is the first answer, not the state now.
    let renamed_saved = http.put("/products/REPLAY-MUG", &renamed).await.expect(200);
    assert_eq!(renamed_saved["name"], "Renamed mug");
    let replayed = http
        .send(Method::PUT, "/products/REPLAY-MUG", &key, Some(&product))
        .await;
    assert_eq!(replayed.expect(200)["name"], "Replayed mug");
    assert_eq!(
        http.read("/products/REPLAY-MUG").await["name"],
        "Renamed mug"
    );

    // A refused write keeps nothing: the key may be used again.
    let key = http.key();
    http.send(
        Method::PUT,
        "/products/REPLAY-CAP",
        &key,
        Some(&json!({"name": "no price"})),
    )
    .await
    .problem(422, "request.invalid");
    let saved = http
        .send(Method::PUT, "/products/REPLAY-CAP", &key, Some(&product))
        .await;
    assert_eq!(saved.expect(200)["sku"], "REPLAY-CAP");
    assert_eq!(saved.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn a_replay_after_the_order_moved_on_still_gets_the_first_answer() {
    let server = start(&[]);
    let client = reqwest::Client::new();
    let ada = server.seeded_customer("ada@example.com").await["id"].clone();
    let cart = json!({"customer": ada, "channel": "web", "currency": "USD",
                      "lines": [{"sku": "MUG-LOGO", "quantity": 1}]});
    let place = || {
        client
            .post(server.at("/orders"))
            .header("idempotency-key", "moved-on-cart")
            .json(&cart)
            .send()
    };
    let first = place().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let id = first["id"].as_str().unwrap();
    let shipped = client
        .post(server.at(&format!("/orders/{id}/shipments")))
        .header("idempotency-key", "moved-on-ship")
        .send()
        .await
        .unwrap();
    assert_eq!(shipped.status(), 201, "{}", shipped.text().await.unwrap());
    // The order has shipped since; its replay is still what placing it said.
    let again = place().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first);
    assert!(again["shipments"].as_array().unwrap().is_empty());
}
