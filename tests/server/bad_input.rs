//! Bad input gets problems, and changes nothing.

use reqwest::Method;
use serde_json::json;

use crate::http::{Http, register, start};

#[tokio::test]
async fn bad_input_gets_problems() {
    let server = start(&[]);
    let http = Http::new(&server);
    let customer = register(&http, "Careful Buyer", "careful@buyer.example", false).await;
    let order = json!({
        "customer": customer["id"], "channel": "web", "currency": "USD",
        "lines": [{"sku": "MUG-LOGO", "quantity": 1}],
    });
    let stock_before = http.level("MUG-LOGO", "WH-EAST").await;
    let events_before = http.last_event().await;
    let json_headers = |key: &'static str| {
        [
            ("idempotency-key", key),
            ("content-type", "application/json"),
        ]
    };

    http.raw(
        Method::POST,
        "/orders",
        &json_headers("bad-1"),
        Some(b"{\"customer\":".to_vec()),
    )
    .await
    .problem(400, "request.malformed");
    http.raw(
        Method::POST,
        "/orders",
        &json_headers("bad-2"),
        Some(b"[1, 2]".to_vec()),
    )
    .await
    .problem(422, "request.invalid");
    let mut unknown = order.clone();
    unknown["colour"] = json!("blue");
    let problem = http
        .post("/orders", &unknown)
        .await
        .problem(422, "request.invalid");
    assert!(
        problem["detail"].as_str().unwrap().contains("colour"),
        "{problem}"
    );
    http.raw(
        Method::POST,
        "/orders",
        &[("idempotency-key", "bad-3"), ("content-type", "text/plain")],
        Some(serde_json::to_vec(&order).unwrap()),
    )
    .await
    .problem(415, "request.content_type");
    http.raw(
        Method::POST,
        "/orders",
        &[("content-type", "application/json")],
        Some(serde_json::to_vec(&order).unwrap()),
    )
    .await
    .problem(400, "request.idempotency_key");
    let mut unknown_sku = order.clone();
    unknown_sku["lines"] =
        json!([{"sku": "MUG-LOGO", "quantity": 1}, {"sku": "NO-SUCH-SKU", "quantity": 1}]);
    let problem = http
        .post("/orders", &unknown_sku)
        .await
        .problem(422, "order.unknown_sku");
    assert!(problem["detail"].as_str().unwrap().contains("NO-SUCH-SKU"));
    let mut oversold = order.clone();
    oversold["lines"] = json!([{"sku": "MUG-LOGO", "quantity": 1_000_000}]);
    http.post("/orders", &oversold)
        .await
        .problem(409, "stock.insufficient");
    let big = format!("{{\"note\": \"{}\"}}", "x".repeat(1024 * 1024 + 1));
    http.raw(
        Method::POST,
        "/orders",
        &json_headers("bad-4"),
        Some(big.clone().into_bytes()),
    )
    .await
    .problem(413, "request.too_large");
    // The routes the replay cache covers read the body first: the same limit.
    http.raw(
        Method::PUT,
        "/products/MUG-LOGO",
        &json_headers("bad-5"),
        Some(big.into_bytes()),
    )
    .await
    .problem(413, "request.too_large");

    // Nothing refused above changed anything.
    assert_eq!(http.level("MUG-LOGO", "WH-EAST").await, stock_before);
    assert_eq!(http.last_event().await, events_before);
    let path = format!("/orders?customer={}", customer["id"].as_str().unwrap());
    assert_eq!(http.read(&path).await["items"], json!([]));

    // Reads: unknown records, bad ids, bad queries.
    let missing = "01a24e7b-0000-7000-8000-000000000000";
    let problem = http
        .get(&format!("/orders/{missing}"))
        .await
        .problem(404, "record.not_found");
    assert_eq!(problem["id"], missing);
    http.get("/products/NO-SUCH-SKU")
        .await
        .problem(404, "record.not_found");
    let problem = http
        .get("/orders/not-an-id")
        .await
        .problem(422, "request.invalid");
    assert!(
        problem["detail"].as_str().unwrap().contains("id"),
        "{problem}"
    );
    http.get(&format!("/stock/{}", "A".repeat(300)))
        .await
        .problem(422, "request.invalid");
    // The streamed export refuses a backwards range before it sends a byte.
    http.get("/ledger/export?format=hledger&from=2026-12-10&to=2026-12-01")
        .await
        .problem(422, "ledger.export_range");
    for limit in ["0", "101", "-1", "many"] {
        http.get(&format!("/orders?limit={limit}"))
            .await
            .problem(422, "request.invalid");
    }
    http.get("/events/log?limit=101")
        .await
        .problem(422, "request.invalid");
    http.get("/orders?colour=blue")
        .await
        .problem(422, "request.invalid");
    http.get("/reports/sales?from=2026-01-01")
        .await
        .problem(422, "request.invalid");
    http.get("/reports/back-orders?after=not-a-cursor")
        .await
        .problem(422, "request.invalid");
    http.get("/ledger/journal?after=xyz")
        .await
        .problem(422, "request.invalid");
    http.get("/ledger/export?format=csv")
        .await
        .problem(422, "request.invalid");

    // Routes and methods that do not exist.
    http.get("/no/such/route")
        .await
        .problem(404, "route.not_found");
    http.get("/static/no-such-file.js")
        .await
        .problem(404, "route.not_found");
    http.raw(Method::DELETE, "/orders", &[], None)
        .await
        .problem(405, "route.method_not_allowed");
    http.raw(
        Method::PUT,
        "/orders",
        &[("idempotency-key", "bad-6")],
        None,
    )
    .await
    .problem(405, "route.method_not_allowed");

    // The pages the server serves are what they say they are.
    let health = http.get("/healthz").await;
    assert_eq!((health.status, health.text().as_str()), (200, "ok"));
    let page = http.get("/track").await;
    assert_eq!(page.status, 200);
    assert!(page.content_type().starts_with("text/html"));
}
