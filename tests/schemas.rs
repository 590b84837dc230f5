//! The JSON Schemas (`o2c::schema`, feature `schema`): each is kept in
//! `tests/schemas/`, so a change to what a command accepts or a view writes shows in
//! review (`O2C_BLESS=1 cargo test --all-features --test schemas` rewrites them);
//! and what o2c really writes for a whole order cycle validates against them, while
//! a misspelled field does not.
#![cfg(feature = "schema")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod common;

use std::path::PathBuf;

use common::*;
use o2c::customer::{NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::ledger::RecordPayment;
use o2c::money::Currency;
use o2c::order::{Channel, OrderQuery, PlaceOrder};
use o2c::schema;
use serde::Serialize;
use serde_json::Value;

fn kept(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(format!("{name}.json"))
}

#[test]
fn every_schema_is_the_one_kept() {
    let bless = std::env::var_os("O2C_BLESS").is_some();
    let mut changed = Vec::new();
    for (name, schema) in schema::commands().into_iter().chain(schema::views()) {
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        let path = kept(name);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            changed.push(name);
        }
    }
    assert!(
        changed.is_empty(),
        "schemas changed: {changed:?} (review, then rerun with O2C_BLESS=1)"
    );
}

fn validates(schema_name: &str, value: &impl Serialize) {
    let schemas = schema::commands().into_iter().chain(schema::views());
    let (_, schema) = schemas
        .into_iter()
        .find(|(n, _)| *n == schema_name)
        .unwrap();
    let schema = serde_json::to_value(schema).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let json = serde_json::to_value(value).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{schema_name}: {errors:?}\n{json:#}");
}

#[tokio::test]
async fn what_o2c_writes_for_a_whole_cycle_validates() {
    let w = world().await;
    let mut profile = NewCustomer::new("Ada", "ada@example.com", us_address("Ada"), Currency::USD);
    profile.terms = PaymentTerms::Net { days: 30 };
    validates("NewCustomer", &profile);
    let ada = w.oms.register_customer(profile, key("ada")).await.unwrap();
    validates("Customer", &ada.value);
    let cmd = PlaceOrder::new(key("o"), ada.id, Channel::Web, Currency::USD)
        .line(sku("TEE"), 2)
        .line(sku("MUG"), 1);
    validates("PlaceOrder", &cmd);
    let order = w.oms.place_order(cmd).await.unwrap();
    validates("AppliedOrder", &order);
    validates("Order", &order.value);
    validates("OrderView", &w.oms.order_view(order.id).await.unwrap());
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    validates("Invoice", &invoice);
    let pay = RecordPayment::new(
        key("p"),
        invoice.id,
        invoice.total().unwrap(),
        PaymentMethod::Card,
    );
    validates("RecordPayment", &pay);
    validates("Payment", &w.oms.record_payment(pay).await.unwrap().value);
    for s in w.oms.ship(order.id, key("ship")).await.unwrap() {
        validates("Shipment", &s);
        let event = TrackingEvent {
            at: start() + chrono::Duration::hours(30),
            status: ShipmentStatus::Delivered,
            description: "delivered".into(),
        };
        validates("TrackingEvent", &event);
        validates(
            "Shipment",
            &w.oms.record_tracking(s.id, event).await.unwrap().value,
        );
    }
    let query = OrderQuery::all().customer(ada.id).newest_first();
    validates("OrderQuery", &query);
    validates("OrderPage", &w.oms.list_orders(&query, 1).await.unwrap());
    validates(
        "CustomerPage",
        &w.oms.list_customers(None, 10).await.unwrap(),
    );
    validates(
        "StockLevel",
        &w.oms
            .stock_level(&sku("TEE"), &loc("WH-EAST"))
            .await
            .unwrap(),
    );
    validates("TrialBalance", &w.oms.trial_balance().await.unwrap());
    for e in w.oms.journal(0, 100).await.unwrap() {
        validates("JournalEntry", &e);
    }
    for e in w.oms.events_after(0, 1000).await.unwrap() {
        validates("RecordedEvent", &e);
    }
    validates("AuditReport", &w.oms.audit().await.unwrap());
    let gone = w
        .oms
        .order(o2c::ids::OrderId::from_uuid(uuid::Uuid::from_u128(9)))
        .await;
    validates("Error", &gone.unwrap_err());
    validates("Error", &o2c::Error::Contention { attempts: 3 });
}

#[test]
fn a_misspelled_field_fails_the_schema_as_it_fails_the_decoder() {
    let schema = serde_json::to_value(&schema::commands()["PlaceOrder"]).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut json = serde_json::to_value(
        PlaceOrder::new(
            key("o"),
            o2c::ids::CustomerId::from_uuid(uuid::Uuid::from_u128(1)),
            Channel::Web,
            Currency::USD,
        )
        .line(sku("TEE"), 1),
    )
    .unwrap();
    assert!(validator.is_valid(&json));
    json.as_object_mut()
        .unwrap()
        .insert("shiping_charge".into(), Value::Null);
    assert!(!validator.is_valid(&json));
}
