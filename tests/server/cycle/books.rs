//! The cycle's end: the reports, the books, the audit, the event log and the
//! statuses the document promises.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{DC, Trade, WIDGET};
use crate::http::{Http, amount, query, report_rows, today};

/// Every report, with the figures the cycle left in them.
pub(crate) async fn reports(http: &Http) {
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
pub(crate) async fn books(http: &Http, trade: &Trade, invoice: &Value) {
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
pub(crate) async fn documented_statuses(http: &Http) {
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
