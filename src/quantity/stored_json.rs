//! What was stored while unit counts were plain `u32`s — events, purchase orders,
//! return authorisations, back-order queues, reorder rules, offers, and the
//! commands whose JSON idempotency fingerprints are taken from — decodes into
//! [`Quantity`] unchanged and encodes back to the same content; a command also
//! writes, for its first-scheme fingerprint, the very same bytes
//! ([`crate::fingerprint`]'s legacy JSON).
#![allow(clippy::unwrap_used)]

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Quantity;
use crate::event::Event;
use crate::ledger::IssueCreditNote;
use crate::purchasing::{
    BackOrderQueue, PurchaseOrder, ReceivePurchaseOrder, ReorderRule, Supplier,
};
use crate::returns::{ReceiveReturn, RequestReturn, ReturnAuthorization};

/// Decodes `json`, and checks that what the value encodes to (in 0.2's
/// spelling: snake_case variants, amounts at their currency's scale) decodes to
/// the same content, and that o2c 0.1's JSON of it is `json` byte for byte.
fn round_trip<T: Serialize + DeserializeOwned>(json: &str) -> T {
    let value: T = serde_json::from_str(json).unwrap();
    let again: T = serde_json::from_str(&serde_json::to_string(&value).unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        serde_json::to_value(&value).unwrap()
    );
    let mut legacy = Vec::new();
    crate::fingerprint::legacy_json(&mut legacy, &value).unwrap();
    assert_eq!(String::from_utf8(legacy).unwrap(), json);
    value
}

fn q(units: u32) -> Quantity {
    Quantity::new(units)
}

/// The units an event counts, for the events that count any.
fn units(event: &Event) -> Option<Quantity> {
    match event {
        Event::BackOrderCreated { quantity, .. }
        | Event::BackOrderAllocated { quantity, .. }
        | Event::ReturnReceived { quantity, .. }
        | Event::RequisitionRaised { quantity, .. }
        | Event::GoodsReceived { quantity, .. }
        | Event::StockReceived { quantity, .. }
        | Event::StockReserved { quantity, .. }
        | Event::StockReleased { quantity, .. } => Some(*quantity),
        _ => None,
    }
}

const ORDER: &str = "01a242d1-3c1d-7656-a3a0-af0c06e6714d";
const SUPPLIER: &str = "00000000-0000-0000-0000-000000000007";
const PURCHASE_ORDER: &str = "00000000-0000-0000-0000-000000000008";
const RMA: &str = "00000000-0000-0000-0000-000000000009";

#[test]
fn events_keep_their_plain_unit_counts() {
    let events = [
        // As the 0.1 SQLite fixture holds them.
        (
            r#"{"type":"stock_received","sku":"TEE-BLUE-M","location":"WH-EAST","quantity":3,"reference":"opening stock"}"#.to_owned(),
            3,
        ),
        (
            format!(
                r#"{{"type":"stock_reserved","order":"{ORDER}","sku":"TEE-BLUE-M","location":"WH-EAST","quantity":3}}"#
            ),
            3,
        ),
        (
            format!(
                r#"{{"type":"stock_released","order":"{ORDER}","sku":"TEE-BLUE-M","location":"WH-WEST","quantity":1}}"#
            ),
            1,
        ),
        (
            format!(
                r#"{{"type":"back_order_created","order":"{ORDER}","sku":"MUG-LOGO","quantity":2,"promised_on":"2026-12-04"}}"#
            ),
            2,
        ),
        (
            format!(
                r#"{{"type":"back_order_allocated","order":"{ORDER}","sku":"MUG-LOGO","location":"WH-EAST","quantity":2}}"#
            ),
            2,
        ),
        (
            format!(
                r#"{{"type":"requisition_raised","sku":"MUG-LOGO","location":"WH-EAST","quantity":30,"supplier":"{SUPPLIER}"}}"#
            ),
            30,
        ),
        (
            format!(
                r#"{{"type":"goods_received","purchase_order":"{PURCHASE_ORDER}","sku":"MUG-LOGO","location":"WH-EAST","quantity":10,"unit_cost":{{"amount":"3.75","currency":"USD"}},"average_cost":{{"amount":"3.90","currency":"USD"}}}}"#
            ),
            10,
        ),
        (
            format!(
                r#"{{"type":"return_received","rma":"{RMA}","order":"{ORDER}","sku":"MUG-LOGO","quantity":4294967295,"restocked_at":null}}"#
            ),
            u32::MAX,
        ),
    ];
    for (json, n) in &events {
        let event: Event = round_trip(json);
        assert_eq!(units(&event), Some(q(*n)), "{json}");
    }
}

#[test]
fn a_purchase_order_keeps_its_plain_unit_counts() {
    let json = format!(
        r#"{{"id":"{PURCHASE_ORDER}","number":3,"supplier":"{SUPPLIER}","currency":"USD","ship_to":"WH-EAST","lines":[{{"sku":"MUG-LOGO","quantity":24,"unit_cost":{{"amount":"3.75","currency":"USD"}},"received":10}}],"status":"PartiallyReceived","expected_on":"2026-12-02","created_at":"2026-11-27T09:00:00Z"}}"#
    );
    let po: PurchaseOrder = round_trip(&json);
    let line = &po.lines[0];
    assert_eq!((line.quantity, line.received), (q(24), q(10)));
    assert_eq!(line.outstanding(), q(14));
}

#[test]
fn a_return_authorisation_keeps_its_plain_unit_counts() {
    let json = format!(
        r#"{{"id":"{RMA}","order":"{ORDER}","customer":"01a242d1-3c19-77a5-83d7-c3d52fe46db5","lines":[{{"line_no":1,"sku":"MUG-LOGO","quantity":2,"received":1,"reason":"NotAsDescribed","restocked":1,"cost_returned":{{"amount":"4.00","currency":"USD"}},"cost_written_off":{{"amount":"0.00","currency":"USD"}}}}],"status":"PartiallyReceived","requested_at":"2026-11-28T10:30:00Z"}}"#
    );
    let rma: ReturnAuthorization = round_trip(&json);
    let line = &rma.lines[0];
    assert_eq!(
        (line.quantity, line.received, line.restocked),
        (q(2), q(1), q(1))
    );
    // A line stored before `restocked` was recorded restocked nothing.
    let before_0_2 = json.replace(r#""restocked":1,"#, "");
    let rma: ReturnAuthorization = serde_json::from_str(&before_0_2).unwrap();
    assert_eq!(rma.lines[0].restocked, Quantity::ZERO);
}

#[test]
fn queues_rules_and_offers_keep_their_plain_unit_counts() {
    let queue: BackOrderQueue = round_trip(&format!(
        r#"{{"sku":"MUG-LOGO","waiting":[{{"order":"{ORDER}","line_no":1,"location":null,"quantity":4,"since":"2026-11-27T09:00:00Z","priority":0,"seq":0}}],"next_seq":1}}"#
    ));
    assert_eq!(queue.waiting[0].quantity, q(4));
    let rule: ReorderRule =
        round_trip(r#"{"sku":"MUG-LOGO","location":"WH-EAST","min":5,"max":40}"#);
    assert_eq!((rule.min, rule.max), (q(5), q(40)));
    let supplier: Supplier = round_trip(&format!(
        r#"{{"id":"{SUPPLIER}","name":"Supplies Ltd","currency":"USD","offers":[{{"sku":"MUG-LOGO","unit_cost":{{"amount":"3.75","currency":"USD"}},"lead_time_days":5,"minimum_quantity":24,"pack_size":12,"valid_from":"2026-11-27","valid_until":"2026-12-27"}}]}}"#
    ));
    let offer = &supplier.offers[0];
    assert_eq!((offer.minimum_quantity, offer.pack_size), (q(24), q(12)));
}

/// A retried command must fingerprint as it did when first sent: its JSON is what
/// the fingerprint is taken from.
#[test]
fn commands_keep_their_plain_unit_counts() {
    let receipt: ReceivePurchaseOrder = round_trip(&format!(
        r#"{{"idempotency_key":"grn-1","purchase_order":"{PURCHASE_ORDER}","lines":[["MUG-LOGO",10]]}}"#
    ));
    assert_eq!(receipt.lines[0].1, q(10));
    let ask: RequestReturn = round_trip(&format!(
        r#"{{"idempotency_key":"rma-1","order":"{ORDER}","lines":[[1,2,"Defective"]]}}"#
    ));
    assert_eq!(ask.lines[0].1, q(2));
    let back: ReceiveReturn = round_trip(&format!(
        r#"{{"idempotency_key":"rma-in-1","rma":"{RMA}","lines":[[1,1,{{"Resellable":{{"location":"WH-EAST"}}}}],[2,3,"Damaged"]]}}"#
    ));
    assert_eq!((back.lines[0].1, back.lines[1].1), (q(1), q(3)));
    let credit: IssueCreditNote = round_trip(&format!(
        r#"{{"idempotency_key":"cn-1","invoice":"{ORDER}","lines":[[1,1]],"shipping":null,"reason":"goodwill"}}"#
    ));
    assert_eq!(credit.lines[0].1, q(1));
}

/// Counts no `u32` held are refused as they were, not clamped.
#[test]
fn counts_out_of_range_are_refused_as_before() {
    for json in ["-1", "4294967296", "1.5"] {
        assert!(serde_json::from_str::<Quantity>(json).is_err(), "{json}");
    }
}
