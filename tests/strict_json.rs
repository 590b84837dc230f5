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
use o2c::returns::{Condition, ReceiveReturn, RequestReturn, ReturnReason};
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
    strict(
        ReceiveStock::new(key("rcv-1"), sku("TEE"), location.clone(), 5)
            .with_reference("PO-1".into()),
    );
    strict(AdjustStock::new(
        key("adj-1"),
        sku("TEE"),
        location.clone(),
        -1,
        "count",
    ));
    strict(
        IssueCreditNote::new(key("cn-1"), InvoiceId::from_uuid(Uuid::nil()), "damaged")
            .with_lines(vec![(1, Quantity::new(1))]),
    );
    strict(RecordRefund::new(
        key("refund-1"),
        PaymentId::from_uuid(Uuid::nil()),
        usd(100),
    ));
    let goods_back = RequestReturn::new(key("rma-1"), order_id).with_lines(vec![(
        1,
        Quantity::new(1),
        ReturnReason::Damaged,
    )]);
    strict(goods_back.clone());
    strict(
        goods_back
            .exchange()
            .with_replacement(vec![LineRequest::new(sku("TEE"), 1)]),
    );
    strict(
        ReceiveReturn::new(key("back-1"), ReturnId::from_uuid(Uuid::nil())).with_lines(vec![(
            1,
            Quantity::new(1),
            Condition::Resellable { location },
        )]),
    );
    strict(
        ReceivePurchaseOrder::new(key("po-rcv-1"), PurchaseOrderId::from_uuid(Uuid::nil()))
            .with_lines(vec![(sku("TEE"), Quantity::new(3))]),
    );
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
/// the rest (its fields cannot be written out whole: it is `#[non_exhaustive]`):
/// what they build is, field for field, the command JSON describes.
#[test]
fn constructors_build_the_commands_their_json_describes() {
    let id = |n: u128| Uuid::from_u128(n).to_string();
    let east = LocationId::new("WH-EAST").unwrap();
    let same = |built: Value, json: Value| assert_eq!(built, json);
    same(
        serde_json::to_value(
            ReceiveStock::new(key("k"), sku("MUG"), east.clone(), 4).reference("DN-1"),
        )
        .unwrap(),
        json!({"idempotency_key": "k", "sku": "MUG", "location": "WH-EAST",
               "quantity": 4, "reference": "DN-1"}),
    );
    same(
        serde_json::to_value(AdjustStock::new(key("k"), sku("MUG"), east, -1, "broken")).unwrap(),
        json!({"idempotency_key": "k", "sku": "MUG", "location": "WH-EAST",
               "delta": -1, "reason": "broken"}),
    );
    let invoice = InvoiceId::from_uuid(Uuid::from_u128(3));
    same(
        serde_json::to_value(
            IssueCreditNote::new(key("k"), invoice, "goodwill")
                .line(1, 2)
                .shipping(usd(500)),
        )
        .unwrap(),
        json!({"idempotency_key": "k", "invoice": id(3), "lines": [[1, 2]],
               "shipping": {"amount": "5.00", "currency": "USD"}, "reason": "goodwill"}),
    );
    same(
        serde_json::to_value(RecordRefund::new(
            key("k"),
            PaymentId::from_uuid(Uuid::from_u128(4)),
            usd(100),
        ))
        .unwrap(),
        json!({"idempotency_key": "k", "payment": id(4),
               "amount": {"amount": "1.00", "currency": "USD"}}),
    );
    let ask = RequestReturn::new(key("k"), OrderId::from_uuid(Uuid::from_u128(5))).line(
        1,
        1,
        ReturnReason::Damaged,
    );
    let asked = json!({"idempotency_key": "k", "order": id(5), "lines": [[1, 1, "damaged"]]});
    same(serde_json::to_value(&ask).unwrap(), asked.clone());
    same(
        serde_json::to_value(ask.exchange().replacement(sku("TEE"), 1)).unwrap(),
        json!({"goods_back": asked, "replacement": [
            {"sku": "TEE", "quantity": 1, "unit_price": null, "discount": null}]}),
    );
    same(
        serde_json::to_value(
            ReceiveReturn::new(key("k"), ReturnId::from_uuid(Uuid::from_u128(2))).line(
                1,
                1,
                Condition::Damaged,
            ),
        )
        .unwrap(),
        json!({"idempotency_key": "k", "rma": id(2), "lines": [[1, 1, "damaged"]]}),
    );
    same(
        serde_json::to_value(
            ReceivePurchaseOrder::new(key("k"), PurchaseOrderId::from_uuid(Uuid::from_u128(1)))
                .line(sku("MUG"), 6),
        )
        .unwrap(),
        json!({"idempotency_key": "k", "purchase_order": id(1), "lines": [["MUG", 6]]}),
    );
    // A `with_` method per field, for what the constructor leaves at its default.
    same(
        serde_json::to_value(
            ReceiveStock::new(key("k"), sku("MUG"), LocationId::new("WH-EAST").unwrap(), 4)
                .with_quantity(5)
                .with_idempotency_key(key("k2")),
        )
        .unwrap(),
        json!({"idempotency_key": "k2", "sku": "MUG", "location": "WH-EAST",
               "quantity": 5, "reference": ""}),
    );
}
