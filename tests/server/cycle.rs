//! The whole order-to-cash cycle over HTTP, phase by phase: master data,
//! sales and shipping here; the after-sale, purchasing and the books in the
//! modules below.

mod after_sale;
mod books;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::http::{Http, address, delivered, place, query, register, start, today, usd};

use after_sale::{after_sale, cancel_and_run_due, purchase};
use books::{books, documented_statuses, reports};

/// The SKUs, the warehouse and the supplier the whole cycle sets up.
pub(crate) const WIDGET: &str = "HT-WIDGET";
pub(crate) const GADGET: &str = "HT-GADGET";
pub(crate) const DC: &str = "HT-DC";
pub(crate) const SUPPLIER: &str = "0190a0b0-0000-7000-8000-00000000f00d";

/// What the sales phase of the cycle made, for the phases after it.
pub(crate) struct Trade {
    /// The customer on net-30 terms.
    pub(crate) terms: Value,
    /// The customer with a card on file.
    pub(crate) card: Value,
    /// The terms customer's first order, as placed.
    pub(crate) first: Value,
    /// The card customer's order.
    pub(crate) card_order: String,
    /// The terms customer's second order, cancelled later.
    pub(crate) doomed: String,
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
