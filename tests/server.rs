//! The demo server (`examples/server`) over HTTP, as a host drives it: the whole
//! order-to-cash cycle, the problems bad input gets, replays, the event stream,
//! the self-service page, and the durable stores across a restart.
//!
//! Each test starts its own server (the example binary, on a free port) and
//! talks to it with `reqwest`; nothing here calls the library directly but the
//! PostgreSQL test's clean-up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod server_support;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use server_support::Server;

/// What a request got back, read whole.
struct Answer {
    method: Method,
    path: String,
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    fn text(&self) -> String {
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
    fn expect(&self, status: u16) -> Value {
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
    fn problem(&self, status: u16, code: &str) -> Value {
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
struct Http {
    client: reqwest::Client,
    base: String,
    run: String,
    keys: AtomicU64,
}

impl Http {
    fn new(server: &Server) -> Self {
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
    fn key(&self) -> String {
        format!("{}-{}", self.run, self.keys.fetch_add(1, Ordering::Relaxed))
    }

    /// Sends `body` (raw bytes, with `headers`) and reads the answer whole.
    async fn raw(
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
    async fn send(&self, method: Method, path: &str, key: &str, body: Option<&Value>) -> Answer {
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

    async fn get(&self, path: &str) -> Answer {
        self.raw(Method::GET, path, &[], None).await
    }

    /// A POST with a JSON body and a fresh key.
    async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::POST, path, &self.key(), Some(body)).await
    }

    /// A POST without a body, with a fresh key.
    async fn post_empty(&self, path: &str) -> Answer {
        self.send(Method::POST, path, &self.key(), None).await
    }

    /// A PUT with a JSON body and a fresh key.
    async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(Method::PUT, path, &self.key(), Some(body)).await
    }

    /// `GET path`, which must answer 200 with JSON.
    async fn read(&self, path: &str) -> Value {
        self.get(path).await.expect(200)
    }

    /// A SKU's level at one location: (on hand, reserved).
    async fn level(&self, sku: &str, location: &str) -> (i64, i64) {
        let level = self.read(&format!("/stock/{sku}/{location}")).await;
        (
            level["on_hand"].as_i64().unwrap(),
            level["reserved"].as_i64().unwrap(),
        )
    }

    /// Every event in the log, paged through 100 at a time.
    async fn event_log(&self) -> Vec<Value> {
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
    async fn last_event(&self) -> u64 {
        self.event_log()
            .await
            .last()
            .map_or(0, |e| e["sequence"].as_u64().unwrap())
    }
}

/// A name no other run of these tests uses: the process and the time.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{nanos}", std::process::id())
}

/// Text fit for a query string: everything but the unreserved characters
/// percent-encoded.
fn query(text: &str) -> String {
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
fn amount(money: &Value) -> Decimal {
    Decimal::from_str(
        money["amount"]
            .as_str()
            .unwrap_or_else(|| panic!("no amount in {money}")),
    )
    .unwrap()
}

/// Dollars as the server writes them.
fn usd(amount: &str) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

fn address(name: &str) -> Value {
    json!({"name": name, "lines": ["1 Test Way"], "city": "Austin", "postal_code": "73301", "country": "US"})
}

/// Today on the server's clock, which runs with real time once seeded.
fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// A server on `args` (none: the memory store), seeded and listening.
fn start(args: &[&str]) -> Server {
    Server::start(args)
}

/// Registers a customer; `card` gives them a card on file, else bank
/// transfers on net-30 terms.
async fn register(http: &Http, name: &str, email: &str, card: bool) -> Value {
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
async fn place(http: &Http, customer: &Value, channel: &str, lines: &[(&str, i64)]) -> Value {
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
fn delivered() -> Value {
    json!({"at": Utc::now().to_rfc3339(), "status": "delivered", "description": "left at the door"})
}

/// Every row of a paged report, following `next` (at most `pages` pages).
async fn report_rows(http: &Http, path: &str, pages: usize) -> Vec<Value> {
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

/// The SKUs, the warehouse and the supplier the whole cycle sets up.
const WIDGET: &str = "HT-WIDGET";
const GADGET: &str = "HT-GADGET";
const DC: &str = "HT-DC";
const SUPPLIER: &str = "0190a0b0-0000-7000-8000-00000000f00d";

/// What the sales phase of the cycle made, for the phases after it.
struct Trade {
    /// The customer on net-30 terms.
    terms: Value,
    /// The customer with a card on file.
    card: Value,
    /// The terms customer's first order, as placed.
    first: Value,
    /// The card customer's order.
    card_order: String,
    /// The terms customer's second order, cancelled later.
    doomed: String,
}

#[tokio::test]
async fn whole_cycle_over_http() {
    let server = start(&[]);
    let http = Http::new(&server);
    master_data(&http).await;
    let trade = sell_and_ship(&http).await;
    let invoice = after_sale(&http, &trade).await;
    purchase(&http).await;
    cancel_and_run_due(&http, &trade).await;
    reports(&http).await;
    books(&http, &trade, &invoice).await;
    documented_statuses(&http).await;
}

/// The tax table, products, a warehouse, a supplier and a reorder rule.
async fn master_data(http: &Http) {
    // The table keeps the demo shop's standard rate.
    let table = json!({"rates": [
        {"class": "standard", "country": null, "rate": "0.08"},
        {"class": "reduced", "country": null, "rate": "0.05"},
    ]});
    assert_eq!(http.put("/tax-table", &table).await.expect(200), table);
    for (sku, name, price, cost) in [
        (WIDGET, "Test widget", "10.00", "4.00"),
        (GADGET, "Test gadget", "25.00", "10.00"),
    ] {
        let product = json!({
            "name": name, "price": usd(price), "cost": usd(cost),
            "tax_class": "standard", "weight_grams": 300,
        });
        let saved = http
            .put(&format!("/products/{sku}"), &product)
            .await
            .expect(200);
        assert_eq!(saved["sku"], sku);
        assert_eq!(saved["price"], usd(price));
        assert_eq!(saved["active"], true);
        assert_eq!(http.read(&format!("/products/{sku}")).await, saved);
    }
    let location = json!({
        "name": "Test DC", "kind": "warehouse", "address": address("Test DC"),
        "priority": 0, "fulfils_orders": true,
    });
    let saved = http
        .put(&format!("/locations/{DC}"), &location)
        .await
        .expect(200);
    assert_eq!(saved["id"], DC);
    assert_eq!(http.read(&format!("/locations/{DC}")).await, saved);
    let supplier = http
        .put(
            &format!("/suppliers/{SUPPLIER}"),
            &json!({"name": "Widget Works", "currency": "USD", "offers": [{
                "sku": WIDGET, "unit_cost": usd("3.50"), "lead_time_days": 5,
                "minimum_quantity": 1, "pack_size": 1,
                "valid_from": (today() - chrono::Duration::days(30)).to_string(),
                "valid_until": (today() + chrono::Duration::days(365)).to_string(),
            }]}),
        )
        .await
        .expect(200);
    assert_eq!(supplier["id"], SUPPLIER);
    let rule = json!({"sku": WIDGET, "location": DC, "min": 60, "max": 80});
    assert_eq!(http.put("/reorder-rules", &rule).await.expect(200), rule);
}

/// Customers, stock, orders placed, listed, amended, held, shipped, delivered.
async fn sell_and_ship(http: &Http) -> Trade {
    // Customers, and stock to sell them.
    let terms = register(http, "Terms Buyer", "ap@terms-buyer.example", false).await;
    assert_eq!(terms["profile"]["terms"], json!({"net": {"days": 30}}));
    let card = register(http, "Card Buyer", "card@buyer.example", true).await;
    assert_eq!(card["profile"]["payment_method"], "card");
    assert_eq!(card["profile"]["payment_token"], "tok_card_buyer");
    assert_eq!(
        http.read(&format!("/customers/{}", terms["id"].as_str().unwrap()))
            .await["id"],
        terms["id"]
    );
    for (sku, units) in [(WIDGET, 60), (GADGET, 10)] {
        let level = http
            .post(
                "/stock/receipts",
                &json!({"sku": sku, "location": DC, "quantity": units, "reference": "opening"}),
            )
            .await
            .expect(201);
        assert_eq!(
            (level["on_hand"].as_i64(), level["reserved"].as_i64()),
            (Some(units), Some(0))
        );
    }

    // Orders: reserved at once, the card authorised.
    let first = place(http, &terms, "b2b", &[(WIDGET, 3)]).await;
    let line = &first["lines"][0];
    assert_eq!(line["amounts"]["net"], usd("30.00"));
    assert_eq!(line["amounts"]["tax"], usd("2.40"));
    assert_eq!(
        line["reservations"],
        json!([{"location": DC, "quantity": 3}])
    );
    let first_id = first["id"].as_str().unwrap().to_owned();
    let paid_by_card = place(http, &card, "web", &[(WIDGET, 2)]).await;
    let card_id = paid_by_card["id"].as_str().unwrap().to_owned();
    let authorisation = &paid_by_card["authorisations"][0];
    assert_eq!(authorisation["state"], "active");
    assert_eq!(authorisation["amount"], usd("21.60"));
    let doomed = place(http, &terms, "b2b", &[(GADGET, 2)]).await;
    let doomed_id = doomed["id"].as_str().unwrap().to_owned();
    assert_eq!(http.level(WIDGET, DC).await, (60, 5));
    assert_eq!(http.level(GADGET, DC).await, (10, 2));
    let availability = http
        .read(&format!("/availability?skus={WIDGET},{GADGET}"))
        .await;
    assert_eq!(availability.as_array().unwrap().len(), 2);

    let view = http.read(&format!("/orders/{first_id}")).await;
    assert_eq!(view["order"]["id"], first_id.as_str());
    assert_eq!(view["total"], usd("32.40"));
    assert_eq!(view["fulfilment"], "unshipped");

    // The terms customer's orders, one a page, oldest first.
    let mut listed = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..5 {
        let mut url = format!("/orders?customer={}&limit=1", terms["id"].as_str().unwrap());
        if let Some(after) = &next {
            url.push_str(&format!("&after={}", query(after)));
        }
        let page = http.read(&url).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 1, "{page}");
        listed.extend(items.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(after) => next = Some(after.to_owned()),
            None => break,
        }
    }
    assert_eq!(listed, [first_id.clone(), doomed_id.clone()]);

    // An amendment adds a line: reserved, and billed.
    let amended = http
        .post(
            &format!("/orders/{first_id}/amendments"),
            &json!({"changes": [{"kind": "add_line", "sku": GADGET, "quantity": 1}]}),
        )
        .await
        .expect(200);
    let lines = amended["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (&lines[1]["sku"], &lines[1]["quantity"]),
        (&json!(GADGET), &json!(1))
    );
    assert_eq!(http.level(GADGET, DC).await, (10, 3));
    let view = http.read(&format!("/orders/{first_id}")).await;
    assert_eq!(view["total"], usd("59.40"));

    // A hold stops shipping until released.
    let held = http
        .post(
            &format!("/orders/{first_id}/holds"),
            &json!({"hold": "manual_review"}),
        )
        .await
        .expect(200);
    assert_eq!(held["holds"], json!(["manual_review"]));
    http.post_empty(&format!("/orders/{first_id}/shipments"))
        .await
        .problem(409, "order.on_hold");
    assert_eq!(http.level(WIDGET, DC).await, (60, 5));
    let released = http
        .post(
            &format!("/orders/{first_id}/hold-releases"),
            &json!({"hold": "manual_review"}),
        )
        .await
        .expect(200);
    assert_eq!(released["holds"], json!([]));

    // Shipping takes exactly the units sold off the shelf.
    let ready = http.read("/orders/ready-to-ship?limit=100").await;
    assert!(
        ready
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == first_id.as_str()),
        "{ready}"
    );
    let mut shipment_of = BTreeMap::new();
    for id in [&first_id, &card_id] {
        let shipments = http
            .post_empty(&format!("/orders/{id}/shipments"))
            .await
            .expect(201);
        let shipments = shipments.as_array().unwrap();
        assert_eq!(shipments.len(), 1);
        assert_eq!(shipments[0]["order"], id.as_str());
        assert_eq!(shipments[0]["location"], DC);
        assert_eq!(shipments[0]["status"], "booked");
        shipment_of.insert(id.clone(), shipments[0]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(http.level(WIDGET, DC).await, (55, 0));
    assert_eq!(http.level(GADGET, DC).await, (9, 2));
    for shipment in shipment_of.values() {
        let booked = http.read(&format!("/shipments/{shipment}")).await;
        assert_eq!(booked["status"], "booked");
        let event = delivered();
        let tracked = http
            .post(&format!("/shipments/{shipment}/tracking"), &event)
            .await
            .expect(200);
        assert_eq!(tracked["status"], "delivered");
        assert_eq!(
            tracked["tracking_events"][0]["description"],
            "left at the door"
        );
        assert_eq!(
            http.read(&format!("/shipments/{shipment}")).await["status"],
            "delivered"
        );
    }
    // The card was captured when the goods shipped.
    let view = http.read(&format!("/orders/{card_id}")).await;
    assert_eq!(
        (&view["paid"], &view["payment"]),
        (&usd("21.60"), &json!("paid"))
    );

    Trade {
        terms,
        card,
        first,
        card_order: card_id,
        doomed: doomed_id,
    }
}

/// A payment, a return, a credit note, a refund and an exchange; the paid
/// invoice.
async fn after_sale(http: &Http, trade: &Trade) -> Value {
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
async fn purchase(http: &Http) {
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
async fn cancel_and_run_due(http: &Http, trade: &Trade) {
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

/// Every report, with the figures the cycle left in them.
async fn reports(http: &Http) {
    // Every report, on the month behind us.
    let (from, to) = (
        today() - chrono::Duration::days(30),
        today() + chrono::Duration::days(1),
    );
    let range = format!("from={from}&to={to}");
    let pipeline = http.read("/reports/pipeline").await;
    let stage = |stage: &str, channel: &str| {
        pipeline
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["stage"] == stage && r["channel"] == channel)
            .map(|r| r["orders"].as_u64().unwrap())
            .unwrap_or(0)
    };
    assert!(stage("delivered", "b2b") >= 1, "{pipeline}");
    assert!(stage("cancelled", "b2b") >= 1, "{pipeline}");
    let ageing = http
        .read(&format!(
            "/reports/receivables-ageing?as_of={}&limit=5",
            today()
        ))
        .await;
    assert!(ageing["customers"]["items"].is_array(), "{ageing}");
    assert!(ageing["totals"].is_array(), "{ageing}");
    let sales = report_rows(
        http,
        &format!("/reports/sales?{range}&granularity=day&dimension=product&limit=20"),
        50,
    )
    .await;
    let widget_sales: Vec<&Value> = sales
        .iter()
        .filter(|r| r["member"]["product"] == WIDGET)
        .collect();
    let total = |field: &str| -> Decimal { widget_sales.iter().map(|r| amount(&r[field])).sum() };
    let units = |field: &str| -> i64 {
        widget_sales
            .iter()
            .map(|r| r[field].as_i64().unwrap())
            .sum()
    };
    // Invoiced: 3 and 2 when placed or shipped, and the replacement's 1.
    // Credited: the 2 returned, 1 of goodwill, the 1 exchanged. Cost: 5
    // shipped less 3 back.
    assert_eq!(
        (units("units_sold"), units("units_returned")),
        (6, 3),
        "{widget_sales:?}"
    );
    assert_eq!(total("invoiced"), Decimal::new(6000, 2), "{widget_sales:?}");
    assert_eq!(total("credited"), Decimal::new(4000, 2), "{widget_sales:?}");
    assert_eq!(
        total("cost_of_goods"),
        Decimal::new(800, 2),
        "{widget_sales:?}"
    );
    let by_channel = report_rows(
        http,
        &format!("/reports/sales?{range}&granularity=week&dimension=channel&limit=3"),
        50,
    )
    .await;
    assert!(by_channel.len() > 3, "paged through more than one page");
    for path in ["cycle-times", "fill-rate", "on-time-in-full", "payments"] {
        let rows = report_rows(http, &format!("/reports/{path}?{range}&limit=50"), 50).await;
        assert!(
            !rows.is_empty(),
            "/reports/{path} is empty after a month of trading"
        );
    }
    let returns = report_rows(http, &format!("/reports/returns?{range}"), 10).await;
    let row = returns.iter().find(|r| r["sku"] == WIDGET).unwrap();
    assert_eq!(row["units_returned"], 3, "{row}");
    let back_orders = http.read("/reports/back-orders?limit=10").await;
    assert!(back_orders["items"].is_array());
    let inventory = report_rows(
        http,
        &format!("/reports/inventory?{range}&filter=all&limit=100"),
        10,
    )
    .await;
    let row = inventory
        .iter()
        .find(|r| r["sku"] == WIDGET && r["location"] == DC)
        .unwrap();
    assert_eq!((&row["on_hand"], &row["reserved"]), (&json!(81), &json!(1)));
}

/// The books, the audit, the event log and the dashboard.
async fn books(http: &Http, trade: &Trade, invoice: &Value) {
    let first = &trade.first;
    let first_id = first["id"].as_str().unwrap().to_owned();
    let from = today() - chrono::Duration::days(30);

    // The books balance, entry by entry and in total.
    let balance = http.read("/ledger/trial-balance").await;
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in balance["balances"].as_array().unwrap() {
        *totals
            .entry(row["balance"]["currency"].as_str().unwrap().to_owned())
            .or_default() += amount(&row["balance"]);
    }
    assert!(!totals.is_empty());
    assert!(
        totals.values().all(Decimal::is_zero),
        "debits ≠ credits: {totals:?}"
    );
    let mut entries = 0;
    let mut after: Option<String> = None;
    loop {
        let url = match &after {
            Some(cursor) => format!("/ledger/journal?limit=100&after={}", query(cursor)),
            None => "/ledger/journal?limit=100".to_owned(),
        };
        let page = http.read(&url).await;
        for entry in page["items"].as_array().unwrap() {
            let sum: Decimal = entry["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| amount(&l["amount"]))
                .sum();
            assert!(sum.is_zero(), "an unbalanced entry: {entry}");
            entries += 1;
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    let export = http.get("/ledger/export?format=hledger").await;
    assert_eq!(export.status, 200);
    assert!(
        export.content_type().starts_with("text/plain"),
        "{}",
        export.content_type()
    );
    let journal = export.text();
    assert!(journal.contains("account Assets:1000-Cash"), "{journal}");
    let paid = format!(
        "payment on invoice INV-{:06}, order SO-{:06}",
        invoice["number"].as_u64().unwrap(),
        first["number"].as_u64().unwrap()
    );
    assert!(journal.contains(&paid), "the export lacks `{paid}`");
    let beancount = http
        .get(&format!("/ledger/export?format=beancount&from={from}"))
        .await;
    assert_eq!(beancount.status, 200);
    assert!(!beancount.body.is_empty());

    // The audit finds nothing wrong and counts what the pages showed.
    let audit = http.read("/audit").await;
    assert_eq!(audit["violations"], json!([]), "{audit}");
    assert_eq!(audit["journal_entries"], entries);
    let events = http.event_log().await;
    assert_eq!(audit["events"], events.len());
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event["sequence"], n + 1, "the log has no gaps");
    }
    assert!(
        events
            .iter()
            .any(|e| e["event"]["type"] == "order_placed"
                && e["event"]["order"] == first_id.as_str()),
        "the log holds the order placed"
    );

    let dashboard = http.read("/api/dashboard").await;
    assert_eq!(dashboard["today"], today().to_string());
    for part in [
        "pipeline",
        "sales_today",
        "ageing",
        "ageing_totals",
        "low_stock",
        "back_orders",
    ] {
        assert!(dashboard[part].is_array(), "{part}: {dashboard}");
    }
    assert!(
        dashboard["sales_today"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["channel"] == "b2b"),
        "{dashboard}"
    );
}

/// Every status the cycle saw for a write is the one the document gives.
async fn documented_statuses(http: &Http) {
    let openapi = http.read("/openapi.json").await;
    assert_eq!(openapi["openapi"], "3.1.0");
    for (method, path, status) in [
        ("put", "/tax-table", "200"),
        ("put", "/products/{sku}", "200"),
        ("post", "/customers", "201"),
        ("post", "/stock/receipts", "201"),
        ("post", "/orders", "201"),
        ("post", "/orders/{id}/amendments", "200"),
        ("post", "/orders/{id}/shipments", "201"),
        ("post", "/payments", "201"),
        ("post", "/returns", "201"),
        ("post", "/exchanges", "201"),
        ("post", "/credit-notes", "201"),
        ("post", "/refunds", "201"),
        ("post", "/purchase-orders", "201"),
        ("post", "/purchase-orders/{id}/receipts", "200"),
        ("post", "/automation/run-due", "200"),
        ("get", "/ledger/export", "200"),
    ] {
        let responses = &openapi["paths"][path][method]["responses"];
        assert!(
            responses.get(status).is_some(),
            "{method} {path} is documented without {status}: {responses}"
        );
    }
}

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

/// A Server-Sent Events stream, read message by message.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(http: &Http, path: &str, last_event_id: Option<u64>) -> Self {
        let mut request = http.client.get(format!("{}{path}", http.base));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next message with an id (comments and keep-alives skipped), or
    /// `None` if none comes within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<(u64, Value)> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let message: String = self.buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut data = String::new();
                for line in message.lines() {
                    if let Some(value) = line.strip_prefix("id:") {
                        id = Some(value.trim().parse::<u64>().unwrap());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if let Some(id) = id {
                    let event: Value = serde_json::from_str(&data).unwrap();
                    assert_eq!(
                        event["sequence"], id,
                        "a message's id is its event's sequence"
                    );
                    return Some((id, event));
                }
                continue;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Ok(None)) => panic!("the event stream ended"),
                Ok(Err(e)) => panic!("the event stream failed: {e}"),
                Err(_) => return None,
            }
        }
    }
}

#[tokio::test]
async fn events_stream_resumes_with_last_event_id() {
    let server = start(&[]);
    let http = Http::new(&server);
    let customer = register(&http, "Streaming Buyer", "stream@buyer.example", false).await;
    let newest = http.last_event().await;

    // A new stream starts with the last few events, in order, with no gaps.
    let mut stream = EventStream::open(&http, "/events", None).await;
    let mut seen = Vec::new();
    while let Some((id, event)) = stream.next(Duration::from_millis(500)).await {
        seen.push((id, event));
        if id == newest {
            break;
        }
    }
    assert!(seen.len() >= 3, "the backlog: {seen:?}");
    assert_eq!(seen.last().unwrap().0, newest);
    for pair in seen.windows(2) {
        assert_eq!(pair[1].0, pair[0].0 + 1);
    }

    // What happens now arrives on the open stream.
    let order = place(&http, &customer, "web", &[("SOCKS-3PK", 1)]).await;
    let mut last = newest;
    let mut placed_at = None;
    while placed_at.is_none() {
        let (id, event) = stream
            .next(Duration::from_secs(10))
            .await
            .expect("the order's events arrive on the stream");
        assert_eq!(id, last + 1, "no gap, no repeat");
        last = id;
        if event["event"]["type"] == "order_placed" {
            assert_eq!(event["event"]["order"], order["id"]);
            assert_eq!(event["event"]["number"], order["number"]);
            placed_at = Some(id);
        }
    }
    let placed_at = placed_at.unwrap();
    drop(stream);

    // Reconnecting with Last-Event-ID goes on from the next event.
    let resume_from = placed_at - 1;
    let mut resumed = EventStream::open(&http, "/events", Some(resume_from)).await;
    let (id, event) = resumed.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(id, placed_at);
    assert_eq!(event["event"]["type"], "order_placed");
    assert_eq!(event["event"]["order"], order["id"]);
    let (id, _) = resumed.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(id, placed_at + 1);
    drop(resumed);

    // `after` starts there too; the header wins over it.
    let mut after = EventStream::open(&http, "/events?after=10", None).await;
    assert_eq!(after.next(Duration::from_secs(5)).await.unwrap().0, 11);
    drop(after);
    let mut both = EventStream::open(&http, "/events?after=10", Some(20)).await;
    assert_eq!(both.next(Duration::from_secs(5)).await.unwrap().0, 21);
    drop(both);

    // The event log says the same as the stream.
    let page = http
        .read(&format!("/events/log?after={resume_from}&limit=1"))
        .await;
    assert_eq!(page["items"][0]["sequence"], placed_at);
    assert_eq!(page["items"][0]["event"]["type"], "order_placed");
    assert_eq!(page["next"], placed_at);

    let bad = http
        .raw(
            Method::GET,
            "/events",
            &[("last-event-id", "yesterday")],
            None,
        )
        .await;
    bad.problem(422, "request.invalid");
    http.get("/events?after=-1")
        .await
        .problem(422, "request.invalid");
}

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

/// Starts a durable store (`args`), places an order, stops, starts again on
/// the same store and finds the order, a clean audit, and the shop going on.
async fn survives_a_restart(args: &[&str]) {
    let server = start(args);
    assert!(
        server.log().contains("seeded the demo shop"),
        "{}",
        server.log()
    );
    let http = Http::new(&server);
    let customer = register(&http, "Durable Buyer", "durable@buyer.example", false).await;
    let order = place(&http, &customer, "phone", &[("TEE-BLUE-M", 1)]).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let before = http.read(&format!("/orders/{id}")).await;
    let stock = http.read("/stock/TEE-BLUE-M").await;
    let events = http.last_event().await;
    drop(server);

    let server = start(args);
    assert!(
        server.log().contains("holds the demo shop already"),
        "{}",
        server.log()
    );
    let http = Http::new(&server);
    assert_eq!(http.read(&format!("/orders/{id}")).await, before);
    assert_eq!(http.read("/stock/TEE-BLUE-M").await, stock);
    assert_eq!(http.last_event().await, events);
    let audit = http.read("/audit").await;
    assert_eq!(audit["violations"], json!([]), "{audit}");
    assert_eq!(audit["events"], events);

    // The shop goes on from where it stopped.
    let next = place(&http, &customer, "phone", &[("TEE-BLUE-M", 1)]).await;
    assert!(next["number"].as_u64() > order["number"].as_u64());
    let shipments = http
        .post_empty(&format!("/orders/{id}/shipments"))
        .await
        .expect(201);
    assert_eq!(shipments[0]["order"], id.as_str());
    assert_eq!(http.read("/audit").await["violations"], json!([]));
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn durable_stores_serve_and_continue_on_sqlite() {
    /// A directory of its own, removed when the test ends.
    struct TempDir(std::path::PathBuf);
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let dir = TempDir(std::env::temp_dir().join(format!("o2c-server-{}", unique())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let file = dir.0.join("shop.db");
    survives_a_restart(&["--sqlite", file.to_str().unwrap()]).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread")]
async fn durable_stores_serve_and_continue_on_postgres() {
    use o2c::store::postgres::{PostgresOptions, PostgresStore};

    let url = std::env::var("O2C_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let tenant = format!("srv_{}", unique());
    let args = ["--postgres", url.as_str(), "--tenant", tenant.as_str()];
    let run = {
        let args: Vec<String> = args.iter().map(|&a| a.to_owned()).collect();
        tokio::spawn(async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            survives_a_restart(&args).await;
        })
        .await
    };
    // The tenant goes whatever became of the test.
    let store =
        PostgresStore::connect(&url, PostgresOptions::default().with_tenant(tenant.clone()))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} (set O2C_POSTGRES_URL): {e}"));
    store.drop_tenant(&tenant).await.unwrap();
    if let Err(failed) = run {
        std::panic::resume_unwind(failed.into_panic());
    }
}

#[tokio::test]
async fn event_streams_are_capped() {
    let server = start(&[]);
    let client = reqwest::Client::new();
    // Every stream the server allows, held open at once...
    let mut open = Vec::new();
    for _ in 0..64 {
        let stream = client.get(server.at("/events")).send().await.unwrap();
        assert_eq!(stream.status(), 200, "{}", server.log());
        open.push(stream);
    }
    // ...and one more is turned away with a problem, not left hanging.
    let refused = client.get(server.at("/events")).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "events.too_many_streams");
    assert_eq!(problem["retryable"], true);
    // A stream closed gives its place back.
    open.pop();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let again = client.get(server.at("/events")).send().await.unwrap();
        if again.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a closed stream's place never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_bounded_load_sells_exactly_the_stock() {
    // The load example over real HTTP: a quarter of its checkouts find no
    // stock; it fails unless exactly the stocked units were sold and the audit
    // is clean afterwards.
    server_support::binary();
    let load = server_support::example("server_load");
    let out = std::process::Command::new(load)
        .args(["--checkouts", "400", "--clients", "8"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("accepted 300, refused for stock 100, failed 0"),
        "{report}"
    );
    assert!(
        report.contains("exact") && report.contains("audit: clean"),
        "{report}"
    );
}

#[tokio::test]
async fn a_replay_after_the_order_moved_on_still_gets_the_first_answer() {
    let server = start(&[]);
    let client = reqwest::Client::new();
    let customers: Value = client
        .get(server.at("/customers?limit=100"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ada = customers["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["profile"]["email"] == "ada@example.com")
        .unwrap()["id"]
        .clone();
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
