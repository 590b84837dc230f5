//! The demo server's request spans hold the library's command spans: a log
//! line for a command names the request it served (its route and request id).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server_support;

use std::time::{Duration, Instant};

use server_support::Server;

#[tokio::test]
async fn a_commands_span_sits_inside_its_requests_span() {
    let server = Server::start_logging(&[], "info");
    let http = reqwest::Client::new();
    let customer = server.seeded_customer("ada@example.com").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = http
        .post(server.at("/orders"))
        .header("idempotency-key", "traced-order-1")
        .header("x-request-id", "req-traced-1")
        .json(&serde_json::json!({
            "customer": customer, "channel": "web", "currency": "USD",
            "lines": [{"sku": "TEE-BLUE-M", "quantity": 1}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    assert_eq!(answer.headers()["x-request-id"], "req-traced-1");

    // The span closes just after the answer is sent: wait for its line.
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let log = server.log();
        if let Some(line) = log
            .lines()
            .find(|l| l.contains("o2c.command") && l.contains("req-traced-1"))
        {
            break line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no command span in the log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(line.contains(r#"route="/orders""#), "{line}");
    assert!(line.contains(r#"command="place_order""#), "{line}");
    assert!(line.contains("key=traced-order-1"), "{line}");
    assert!(line.contains(r#"outcome="ok""#), "{line}");
}
