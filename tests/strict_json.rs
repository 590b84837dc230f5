//! Commands from JSON: a misspelled field is refused with an error naming it, and
//! fields a constructor defaults may be left out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use o2c::catalog::{Dimensions, Product, TaxClass};
use o2c::customer::{Address, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::ids::{CustomerId, LocationId};
use o2c::ids::{IdempotencyKey, InvoiceId, OrderId, PaymentId, PurchaseOrderId, ReturnId, Sku};
use o2c::ledger::{IssueCreditNote, OverpaymentPolicy, RecordPayment, RecordRefund};
use o2c::money::{Currency, Money};
use o2c::order::{AmendOrder, Channel, LineRequest, PlaceOrder};
use o2c::purchasing::ReceivePurchaseOrder;
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReceiveReturn, RequestExchange, RequestReturn, ReturnReason};
use o2c::stock::{AdjustStock, ReceiveStock};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}

fn sku(s: &str) -> Sku {
    Sku::new(s).unwrap()
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn address() -> Address {
    Address::new("Ada", "1 Main St", "Springfield", "12345", "US")
}

/// `value`'s JSON with `field` added at the top level.
fn with_field<T: Serialize>(value: &T, field: &str) -> Value {
    let mut json = serde_json::to_value(value).unwrap();
    json.as_object_mut()
        .expect("a command is a JSON object")
        .insert(field.to_owned(), json!(1));
    json
}

/// `value` round-trips through JSON, and the same JSON with one misspelled
/// field more is refused with an error that names the field.
fn strict<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: T) {
    let json = serde_json::to_value(&value).unwrap();
    assert_eq!(serde_json::from_value::<T>(json).unwrap(), value);
    let err = serde_json::from_value::<T>(with_field(&value, "refrence")).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `refrence`"),
        "{}: {err}",
        std::any::type_name::<T>()
    );
}

fn order() -> PlaceOrder {
    PlaceOrder::new(
        key("order-1"),
        CustomerId::from_uuid(Uuid::nil()),
        Channel::Web,
        Currency::USD,
    )
    .line(sku("TEE"), 2)
}

#[test]
fn a_misspelled_shipping_charge_is_refused_by_name() {
    // The typo that once placed an order with no shipping charge and succeeded.
    let mut json = serde_json::to_value(order()).unwrap();
    json.as_object_mut()
        .unwrap()
        .insert("shiping_charge".into(), json!("4.95 USD"));
    let err = serde_json::from_value::<PlaceOrder>(json).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("unknown field `shiping_charge`"), "{text}");
    assert!(
        text.contains("`shipping_charge`"),
        "names what was meant: {text}"
    );
}

#[test]
fn every_command_refuses_a_field_it_does_not_have() {
    let order_id = OrderId::from_uuid(Uuid::nil());
    let location = LocationId::new("WH").unwrap();
    strict(order());
    strict(LineRequest::new(sku("TEE"), 1));
    strict(AmendOrder::new(key("amend-1"), order_id).add_line(sku("MUG"), 1));
    strict(RecordPayment::new(
        key("pay-1"),
        InvoiceId::from_uuid(Uuid::nil()),
        usd(500),
        PaymentMethod::Card,
    ));
    strict(NewCustomer::new(
        "Ada",
        "ada@example.com",
        address(),
        Currency::USD,
    ));
    strict(ReceiveStock {
        idempotency_key: key("rcv-1"),
        sku: sku("TEE"),
        location: location.clone(),
        quantity: 5,
        reference: "PO-1".into(),
    });
    strict(AdjustStock {
        idempotency_key: key("adj-1"),
        sku: sku("TEE"),
        location: location.clone(),
        delta: -1,
        reason: "count".into(),
    });
    strict(IssueCreditNote {
        idempotency_key: key("cn-1"),
        invoice: InvoiceId::from_uuid(Uuid::nil()),
        lines: vec![(1, Quantity::new(1))],
        shipping: None,
        reason: "damaged".into(),
    });
    strict(RecordRefund {
        idempotency_key: key("refund-1"),
        payment: PaymentId::from_uuid(Uuid::nil()),
        amount: usd(100),
    });
    let goods_back = RequestReturn {
        idempotency_key: key("rma-1"),
        order: order_id,
        lines: vec![(1, Quantity::new(1), ReturnReason::Damaged)],
    };
    strict(goods_back.clone());
    strict(RequestExchange {
        goods_back,
        replacement: vec![LineRequest::new(sku("TEE"), 1)],
    });
    strict(ReceiveReturn {
        idempotency_key: key("back-1"),
        rma: ReturnId::from_uuid(Uuid::nil()),
        lines: vec![(1, Quantity::new(1), Condition::Resellable { location })],
    });
    strict(ReceivePurchaseOrder {
        idempotency_key: key("po-rcv-1"),
        purchase_order: PurchaseOrderId::from_uuid(Uuid::nil()),
        lines: vec![(sku("TEE"), Quantity::new(3))],
    });
    strict(product());
}

#[test]
fn a_misspelled_field_inside_a_line_or_an_amendment_is_refused_too() {
    let mut json = serde_json::to_value(order()).unwrap();
    json["lines"][0]
        .as_object_mut()
        .unwrap()
        .insert("quantiy".into(), json!(3));
    let err = serde_json::from_value::<PlaceOrder>(json).unwrap_err();
    assert!(err.to_string().contains("unknown field `quantiy`"), "{err}");

    let amend = AmendOrder::new(key("amend-1"), OrderId::from_uuid(Uuid::nil())).set_quantity(1, 3);
    let mut json = serde_json::to_value(&amend).unwrap();
    json["changes"][0]
        .as_object_mut()
        .unwrap()
        .insert("qty".into(), json!(3));
    let err = serde_json::from_value::<AmendOrder>(json).unwrap_err();
    assert!(err.to_string().contains("unknown field `qty`"), "{err}");
}

fn product() -> Product {
    Product::new(
        sku("TEE"),
        "T-shirt",
        usd(1500),
        usd(600),
        TaxClass::standard(),
    )
}

#[test]
fn fields_a_constructor_defaults_may_be_left_out() {
    let minimal = json!({
        "sku": "TEE", "name": "T-shirt", "price": usd(1500), "cost": usd(600),
        "tax_class": "standard"
    });
    let decoded: Product = serde_json::from_value(minimal).unwrap();
    assert_eq!(decoded, product());
    assert!(decoded.active);
    assert_eq!(
        (decoded.weight_grams, decoded.reorder_point),
        (0, 0),
        "{decoded:?}"
    );
    assert_eq!(decoded.dimensions, Dimensions::default());

    let mut payment = serde_json::to_value(RecordPayment::new(
        key("pay-1"),
        InvoiceId::from_uuid(Uuid::nil()),
        usd(500),
        PaymentMethod::Card,
    ))
    .unwrap();
    payment.as_object_mut().unwrap().remove("overpayment");
    payment.as_object_mut().unwrap().remove("reference");
    let decoded: RecordPayment = serde_json::from_value(payment).unwrap();
    assert_eq!(decoded.overpayment, OverpaymentPolicy::Reject);

    let mut customer = serde_json::to_value(NewCustomer::new(
        "Ada",
        "ada@example.com",
        address(),
        Currency::USD,
    ))
    .unwrap();
    for field in ["payment_method", "terms", "phone", "credit_limit"] {
        customer.as_object_mut().unwrap().remove(field);
    }
    let decoded: NewCustomer = serde_json::from_value(customer).unwrap();
    assert_eq!(decoded.payment_method, PaymentMethod::Card);
    assert_eq!(decoded.terms, PaymentTerms::Prepaid);
    assert_eq!(
        decoded,
        NewCustomer::new("Ada", "ada@example.com", address(), Currency::USD)
    );
}

/// Amounts come as strings, or as integers, exactly; a fractional JSON number
/// is read from its literal text with feature `json-numbers` and refused, with
/// the way out, without it — never rounded through `f64`.
#[test]
fn amounts_are_read_exactly_as_strings_integers_or_numbers() {
    let pay = |amount: &str| {
        serde_json::from_str::<RecordPayment>(&format!(
            r#"{{"idempotency_key":"p-1","invoice":"{}","amount":{{"amount":{amount},"currency":"USD"}},"method":"Card"}}"#,
            Uuid::from_u128(1)
        ))
        .map(|p| p.amount)
        .map_err(|e| e.to_string())
    };
    assert_eq!(pay(r#""12.50""#), Ok(usd(1250)));
    assert_eq!(pay("12"), Ok(usd(1200)));
    assert!(pay(r#""12.5.0""#).unwrap_err().contains("12.5.0"));
    let number = pay("0.10");
    if cfg!(feature = "json-numbers") {
        assert_eq!(number, Ok(usd(10)));
        // 0.1 + 0.2 as text, not as a float's neighbour of it.
        assert_eq!(
            pay("0.30000000000000004"),
            Ok(Money::new(
                "0.30000000000000004".parse().unwrap(),
                Currency::USD
            ))
        );
    } else {
        assert!(number.unwrap_err().contains("json-numbers"));
    }
}

/// Every command has a constructor for what it needs and chainable methods for
/// the rest: what they build is what the fields say.
#[test]
fn constructors_build_the_commands_their_fields_describe() {
    let (po, rma, inv, pay, order) = (
        PurchaseOrderId::from_uuid(Uuid::from_u128(1)),
        ReturnId::from_uuid(Uuid::from_u128(2)),
        InvoiceId::from_uuid(Uuid::from_u128(3)),
        PaymentId::from_uuid(Uuid::from_u128(4)),
        OrderId::from_uuid(Uuid::from_u128(5)),
    );
    let east = LocationId::new("WH-EAST").unwrap();
    assert_eq!(
        ReceiveStock::new(key("k"), sku("MUG"), east.clone(), 4).reference("DN-1"),
        ReceiveStock {
            idempotency_key: key("k"),
            sku: sku("MUG"),
            location: east.clone(),
            quantity: 4,
            reference: "DN-1".into(),
        }
    );
    assert_eq!(
        AdjustStock::new(key("k"), sku("MUG"), east.clone(), -1, "broken"),
        AdjustStock {
            idempotency_key: key("k"),
            sku: sku("MUG"),
            location: east.clone(),
            delta: -1,
            reason: "broken".into(),
        }
    );
    assert_eq!(
        IssueCreditNote::new(key("k"), inv, "goodwill")
            .line(1, 2)
            .shipping(usd(500)),
        IssueCreditNote {
            idempotency_key: key("k"),
            invoice: inv,
            lines: vec![(1, Quantity::new(2))],
            shipping: Some(usd(500)),
            reason: "goodwill".into(),
        }
    );
    assert_eq!(
        RecordRefund::new(key("k"), pay, usd(100)),
        RecordRefund {
            idempotency_key: key("k"),
            payment: pay,
            amount: usd(100),
        }
    );
    let ask = RequestReturn::new(key("k"), order).line(1, 1, ReturnReason::Damaged);
    assert_eq!(
        ask,
        RequestReturn {
            idempotency_key: key("k"),
            order,
            lines: vec![(1, Quantity::new(1), ReturnReason::Damaged)],
        }
    );
    assert_eq!(
        ask.clone().exchange().replacement(sku("TEE"), 1),
        RequestExchange {
            goods_back: ask,
            replacement: vec![LineRequest::new(sku("TEE"), 1)],
        }
    );
    assert_eq!(
        ReceiveReturn::new(key("k"), rma).line(1, 1, Condition::Damaged),
        ReceiveReturn {
            idempotency_key: key("k"),
            rma,
            lines: vec![(1, Quantity::new(1), Condition::Damaged)],
        }
    );
    assert_eq!(
        ReceivePurchaseOrder::new(key("k"), po).line(sku("MUG"), 6),
        ReceivePurchaseOrder {
            idempotency_key: key("k"),
            purchase_order: po,
            lines: vec![(sku("MUG"), Quantity::new(6))],
        }
    );
}
