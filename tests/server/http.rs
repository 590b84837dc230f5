//! The client the tests drive the server with, and small helpers they share:
//! customers registered, orders placed, money read and written.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::server_support::Server;

/// What a request got back, read whole.
pub(crate) struct Answer {
    method: Method,
    path: String,
    pub(crate) status: u16,
    headers: reqwest::header::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {}: the body is not JSON ({e}): {}",
                self.method,
                self.path,
                self.text()
            )
        })
    }

    /// Every answer carries the request id the server gave the request.
    fn assert_request_id(&self) {
        let id = self.header("x-request-id").unwrap_or("");
        assert_eq!(
            id.len(),
            36,
            "{} {}: request id {id:?}",
            self.method,
            self.path
        );
    }

    /// The JSON body of an answer that must have `status`.
    pub(crate) fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "{} {} answered {}: {}",
            self.method,
            self.path,
            self.status,
            self.text()
        );
        assert_eq!(
            self.content_type(),
            "application/json",
            "{} {}",
            self.method,
            self.path
        );
        self.assert_request_id();
        self.json()
    }

    /// The problem of an answer that must be one, with `status` and `code`:
    /// RFC 9457 fields, the library's code, and no backend text.
    pub(crate) fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            (self.status, self.content_type()),
            (status, "application/problem+json"),
            "{} {}: {}",
            self.method,
            self.path,
            self.text()
        );
        self.assert_request_id();
        let problem = self.json();
        assert_eq!(problem["code"], code, "{problem}");
        assert_eq!(problem["type"], format!("urn:o2c:error:{code}"));
        assert_eq!(problem["status"], status);
        let title = problem["title"].as_str().unwrap();
        assert!(!title.is_empty(), "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(!detail.is_empty(), "{problem}");
        assert!(problem["kind"].is_string(), "{problem}");
        assert!(problem["retryable"].is_boolean(), "{problem}");
        let text = self.text().to_lowercase();
        for backend in [
            "select ",
            "insert ",
            "update ",
            "sqlite",
            "rusqlite",
            "postgres",
            "tokio_postgres",
            "sqlstate",
            "constraint",
            "syntax error",
            "panicked",
            "backtrace",
        ] {
            assert!(
                !text.contains(backend),
                "{} {}: the problem shows backend text `{backend}`: {text}",
                self.method,
                self.path
            );
        }
        problem
    }
}

/// A client on one server, handing out fresh idempotency keys.
pub(crate) struct Http {
    pub(crate) client: reqwest::Client,
    pub(crate) base: String,
    run: String,
    keys: AtomicU64,
}

impl Http {
    pub(crate) fn new(server: &Server) -> Self {
        Self {
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: server.url.clone(),
            run: unique(),
            keys: AtomicU64::new(0),
        }
    }

    /// A key no request of this run used.
    pub(crate) fn key(&self) -> String {
        format!("{}-{}", self.run, self.keys.fetch_add(1, Ordering::Relaxed))
    }

    /// Sends `body` (raw bytes, with `headers`) and reads the answer whole.
    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap().to_vec();
        Answer {
            method,
            path: path.to_owned(),
            status,
            headers,
            body,
        }
    }

    /// A write with `key` and a JSON `body` (none: an empty body).
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> Answer {
        match body {
            Some(body) => {
                self.raw(
                    method,
                    path,
                    &[
                        ("idempotency-key", key),
                        ("content-type", "application/json"),
                    ],
                    Some(serde_json::to_vec(body).unwrap()),
                )
                .await
            }
            None => {
                self.raw(method, path, &[("idempotency-key", key)], None)
                    .await
            }
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.raw(Method::GET, path, &[], None).await
    }

    /// A POST with a JSON body and a fresh key.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::POST, path, &self.key(), Some(body)).await
    }

    /// A POST without a body, with a fresh key.
    pub(crate) async fn post_empty(&self, path: &str) -> Answer {
        self.send(Method::POST, path, &self.key(), None).await
    }

    /// A PUT with a JSON body and a fresh key.
    pub(crate) async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::PUT, path, &self.key(), Some(body)).await
    }

    /// `GET path`, which must answer 200 with JSON.
    pub(crate) async fn read(&self, path: &str) -> Value {
        self.get(path).await.expect(200)
    }

    /// A SKU's level at one location: (on hand, reserved).
    pub(crate) async fn level(&self, sku: &str, location: &str) -> (i64, i64) {
        let level = self.read(&format!("/stock/{sku}/{location}")).await;
        (
            level["on_hand"].as_i64().unwrap(),
            level["reserved"].as_i64().unwrap(),
        )
    }

    /// Every event in the log, paged through 100 at a time.
    pub(crate) async fn event_log(&self) -> Vec<Value> {
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .read(&format!("/events/log?after={after}&limit=100"))
                .await;
            events.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next"].as_u64() {
                Some(next) => after = next,
                None => return events,
            }
        }
    }

    /// The sequence of the last event recorded.
    pub(crate) async fn last_event(&self) -> u64 {
        self.event_log()
            .await
            .last()
            .map_or(0, |e| e["sequence"].as_u64().unwrap())
    }
}

/// A name no other run of these tests uses: the process and the time.
pub(crate) fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{nanos}", std::process::id())
}

/// Text fit for a query string: everything but the unreserved characters
/// percent-encoded.
pub(crate) fn query(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The amount of a `{"amount": "12.34", "currency": "USD"}`.
pub(crate) fn amount(money: &Value) -> Decimal {
    Decimal::from_str(
        money["amount"]
            .as_str()
            .unwrap_or_else(|| panic!("no amount in {money}")),
    )
    .unwrap()
}

/// Dollars as the server writes them.
pub(crate) fn usd(amount: &str) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

pub(crate) fn address(name: &str) -> Value {
    json!({"name": name, "lines": ["1 Test Way"], "city": "Austin", "postal_code": "73301", "country": "US"})
}

/// Today on the server's clock, which runs with real time once seeded.
pub(crate) fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// A server on `args` (none: the memory store), seeded and listening.
pub(crate) fn start(args: &[&str]) -> Server {
    Server::start(args)
}

/// Registers a customer; `card` gives them a card on file, else bank
/// transfers on net-30 terms.
pub(crate) async fn register(http: &Http, name: &str, email: &str, card: bool) -> Value {
    let mut profile = json!({
        "name": name,
        "email": email,
        "addresses": [address(name)],
        "currency": "USD",
    });
    if card {
        profile["payment_method"] = json!("card");
        profile["payment_token"] = json!(format!("tok_{}", name.to_lowercase().replace(' ', "_")));
    } else {
        profile["payment_method"] = json!("bank_transfer");
        profile["terms"] = json!({"net": {"days": 30}});
    }
    let customer = http.post("/customers", &profile).await.expect(201);
    assert_eq!(customer["profile"]["email"], email);
    assert!(customer["id"].is_string());
    customer
}

/// Places an order of `lines` (SKU, units) for `customer`.
pub(crate) async fn place(
    http: &Http,
    customer: &Value,
    channel: &str,
    lines: &[(&str, i64)],
) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity}))
        .collect();
    let order = http
        .post(
            "/orders",
            &json!({"customer": customer["id"], "channel": channel, "currency": "USD", "lines": lines}),
        )
        .await
        .expect(201);
    assert_eq!(order["customer"], customer["id"]);
    assert_eq!(order["status"], "open");
    order
}

/// A tracking event saying the shipment was delivered now.
pub(crate) fn delivered() -> Value {
    json!({"at": Utc::now().to_rfc3339(), "status": "delivered", "description": "left at the door"})
}

/// Every row of a paged report, following `next` (at most `pages` pages).
pub(crate) async fn report_rows(http: &Http, path: &str, pages: usize) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..pages {
        let url = match &after {
            Some(cursor) => format!("{path}&after={}", query(cursor)),
            None => path.to_owned(),
        };
        let page = http.read(&url).await;
        rows.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return rows,
        }
    }
    panic!("{path}: more than {pages} pages");
}
