//! Malformed input: random bytes, broken JSON and JSON with extreme or wrong fields, for
//! every command and master-data input the crate deserialises, never panic. Whatever
//! does deserialise is run against a seeded world: it succeeds or fails with a typed
//! error, a failure leaves the store exactly as it was, and the audit stays clean.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::fmt::Debug;
use std::panic::AssertUnwindSafe;

use chrono::{Duration, NaiveDate};
use common::*;
use o2c::catalog::{Product, TaxTable};
use o2c::customer::{NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::ids::{InvoiceId, LocationId, OrderId, PaymentId, ShipmentId, Sku, SupplierId};
use o2c::ledger::{CreditNote, OverpaymentPolicy};
use o2c::money::{Currency, Money};
use o2c::order::{AmendOrder, Channel, Delivery, Discount, Hold, PlaceOrder, ServiceLevel};
use o2c::purchasing::{BackOrderPolicy, Offer, ReorderRule, Supplier};
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReturnAuthorization, ReturnReason};
use o2c::stock::Location;
use o2c::store::{Store, Versioned};
use o2c::{
    AdjustStock, Error, IssueCreditNote, ReceivePurchaseOrder, ReceiveReturn, ReceiveStock,
    RecordPayment, RecordRefund, RequestExchange, RequestReturn,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rust_decimal_macros::dec;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// `default` cases per property, or `PROPTEST_CASES` when set (for long runs).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------
// Panics are test failures with the input, not crashes
// ---------------------------------------------------------------------------

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic".to_owned())
}

/// Runs `f`, turning a panic into a failed test case that names `what`.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        TestCaseError::fail(format!("{what} panicked: {}", panic_text(&*payload)))
    })
}

// ---------------------------------------------------------------------------
// Every input type the crate deserialises
// ---------------------------------------------------------------------------

/// Decodes `bytes` as `T`; if that succeeds, the value must survive a round trip
/// through JSON unchanged (what a host stores or forwards must read back the same).
fn decode_as<T: DeserializeOwned + Serialize + PartialEq + Debug>(
    bytes: &[u8],
) -> Result<(), String> {
    let Ok(value) = serde_json::from_slice::<T>(bytes) else {
        return Ok(());
    };
    let again = serde_json::to_vec(&value).map_err(|e| format!("re-encoding failed: {e}"))?;
    match serde_json::from_slice::<T>(&again) {
        Ok(back) if back == value => Ok(()),
        Ok(back) => Err(format!("round trip changed {value:?} into {back:?}")),
        Err(e) => Err(format!("{value:?} re-encoded does not decode: {e}")),
    }
}

type Decoder = (&'static str, fn(&[u8]) -> Result<(), String>);

macro_rules! decoders {
    ($($ty:ty),* $(,)?) => {
        &[$((stringify!($ty), decode_as::<$ty> as fn(&[u8]) -> Result<(), String>)),*]
    };
}

/// Every command, master-data record and argument a host may build from JSON.
const DECODERS: &[Decoder] = decoders![
    PlaceOrder,
    AmendOrder,
    RequestExchange,
    RecordPayment,
    ReceiveStock,
    AdjustStock,
    IssueCreditNote,
    RecordRefund,
    RequestReturn,
    ReceiveReturn,
    ReceivePurchaseOrder,
    NewCustomer,
    Product,
    Location,
    Supplier,
    Offer,
    ReorderRule,
    TaxTable,
    TrackingEvent,
    Hold,
    Discount,
    Delivery,
    Money,
    Currency,
    Sku,
    LocationId,
    OrderId,
    (SupplierId, LocationId, Vec<(Sku, u32)>),
];

/// Feeds `bytes` to every decoder: each must return, never panic, and what decodes
/// must round-trip.
fn decode_with_every_type(bytes: &[u8]) -> Result<(), TestCaseError> {
    for (name, decode) in DECODERS {
        let outcome = no_panic(&format!("decoding {name}"), || decode(bytes))?;
        if let Err(problem) = outcome {
            return Err(TestCaseError::fail(format!("{name}: {problem}")));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Nasty values
// ---------------------------------------------------------------------------

/// Strings that have broken parsers before: empty, blank, direction overrides,
/// zero-width and combining characters, emoji, NaN-likes, near-miss currency codes,
/// codes of things that exist and do not.
const NASTY_STRINGS: &[&str] = &[
    "",
    " ",
    "\t",
    "\u{202E}TEE",
    "TE\u{200B}E",
    "\u{FEFF}",
    "e\u{301}",
    "👕🧾",
    "👨‍👩‍👧",
    "\u{0}",
    "NaN",
    "Infinity",
    "null",
    "12.34 USD",
    "USD",
    "usd",
    "EUR",
    "JPY",
    "XXX",
    "US",
    "us",
    "ÜS",
    "TEE",
    "MUG",
    "BOOK",
    "GHOST",
    "WH-EAST",
    "WH-WEST",
    "STORE-NYC",
    "NOWHERE",
    "standard",
    "reduced",
    "Card",
    "CustomerCredit",
    "Delivered",
    "Damaged",
    "ManualReview",
    "BackOrder",
];

/// Amounts and rates: negative, zero, sub-cent, at and beyond `Decimal`'s range.
const NASTY_DECIMALS: &[&str] = &[
    "0",
    "-0",
    "0.00",
    "-5.00",
    "-0.01",
    "0.001",
    "1.005",
    "0.99",
    "1",
    "100",
    "0.0000000000000000000000000001",
    "1e3",
    "1e400",
    "NaN",
    "-Infinity",
    "",
    "79228162514337593543950335",
    "-79228162514337593543950335",
    "79228162514337593543950336",
    "7922816251426433759354395033.5",
    "99999999999999999999999999999999999",
];

/// Dates and times at and beyond the calendar's ends, and impossible ones.
const NASTY_DATES: &[&str] = &[
    "2026-03-02",
    "2026-02-30",
    "-9999-01-01",
    "+9999-12-31",
    "+262143-12-31",
    "-262144-01-01",
    "+262144-01-01",
    "2026-03-02T10:00:00Z",
    "-9999-01-01T00:00:00Z",
    "+262143-12-31T23:59:59Z",
    "+262143-12-31T23:59:59.999999999Z",
    "9999-12-31T23:59:59.999999999Z",
    "1970-01-01T00:00:00Z",
    "2026-03-02T25:61:61Z",
    "2026-03-02T10:00:00+14:00",
    "",
];

/// Ids nobody issued, and ids that are not ids.
const FOREIGN_IDS: &[&str] = &[
    "00000000-0000-0000-0000-000000000000",
    "00000000-0000-7000-8000-00000000beef",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "not-a-uuid",
];

/// The strings a string field may be replaced with, chosen by what it held: ids by
/// ids (the fixture's own, so a command may name another record), amounts by
/// amounts, dates by dates, anything else by anything.
fn string_pool(original: &str, ids: &[String]) -> Vec<String> {
    let owned = |pool: &[&str]| pool.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    if uuid::Uuid::parse_str(original).is_ok() {
        let mut pool = ids.to_vec();
        pool.extend(owned(FOREIGN_IDS));
        pool
    } else if original.parse::<rust_decimal::Decimal>().is_ok() {
        owned(NASTY_DECIMALS)
    } else if original.parse::<NaiveDate>().is_ok()
        || original.parse::<chrono::DateTime<chrono::Utc>>().is_ok()
    {
        owned(NASTY_DATES)
    } else {
        let mut pool = owned(NASTY_STRINGS);
        pool.extend(["X".repeat(64), "X".repeat(65), "€".repeat(20_000)]);
        pool
    }
}

fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select([NASTY_STRINGS, NASTY_DECIMALS, NASTY_DATES, FOREIGN_IDS].concat())
            .prop_map(str::to_owned),
        1 => (1usize..=70).prop_map(|n| "X".repeat(n)),
        1 => Just("€".repeat(20_000)),
        2 => "\\PC{0,12}",
        1 => any::<String>(),
    ]
}

fn nasty_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            json!(0),
            json!(1),
            json!(-1),
            json!(2),
            json!(255),
            json!(256),
            json!(u16::MAX),
            json!(u32::from(u16::MAX) + 1),
            json!(i32::MAX),
            json!(u32::MAX),
            json!(u64::from(u32::MAX) + 1),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(0.5),
            json!(-0.0),
            json!(1e308),
            json!(-1e308),
        ]),
        any::<i64>().prop_map(|n| json!(n)),
        (-10i64..=30).prop_map(|n| json!(n)),
    ]
}

/// Any JSON value, nested a few levels, built from the nasty leaves.
fn nasty_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => nasty_number(),
        4 => nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((nasty_string(), inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

// ---------------------------------------------------------------------------
// Property 1: no decoder panics, whatever the bytes
// ---------------------------------------------------------------------------

/// How a valid document is broken.
#[derive(Debug, Clone)]
enum Break {
    /// Cut after this many bytes (modulo the length).
    Truncate(usize),
    /// XOR one byte.
    Flip(usize, u8),
    /// Insert bytes at a position.
    Insert(usize, Vec<u8>),
}

fn break_gen() -> impl Strategy<Value = Break> {
    prop_oneof![
        any::<usize>().prop_map(Break::Truncate),
        (any::<usize>(), 1u8..=255).prop_map(|(at, x)| Break::Flip(at, x)),
        (
            any::<usize>(),
            prop_oneof![
                prop::collection::vec(any::<u8>(), 1..8),
                prop::sample::select(vec![
                    b"\\ud800".to_vec(),
                    b"\"".to_vec(),
                    b",".to_vec(),
                    b"]]]".to_vec(),
                    b"{\"x\":".to_vec(),
                    b"1e99999".to_vec(),
                ]),
            ]
        )
            .prop_map(|(at, bytes)| Break::Insert(at, bytes)),
    ]
}

fn apply_break(mut doc: Vec<u8>, how: &Break) -> Vec<u8> {
    let len = doc.len().max(1);
    match how {
        Break::Truncate(at) => doc.truncate(at % len),
        Break::Flip(at, x) => {
            if let Some(b) = doc.get_mut(at % len) {
                *b ^= x;
            }
        }
        Break::Insert(at, bytes) => {
            let at = at % (doc.len() + 1);
            doc.splice(at..at, bytes.iter().copied());
        }
    }
    doc
}

thread_local! {
    /// Built once per test thread: the fixture takes a few dozen commits.
    static VALID_DOCUMENTS: Vec<Vec<u8>> = valid_documents();
}

/// Valid documents of every command, from the fixture (ids are deterministic).
fn valid_documents() -> Vec<Vec<u8>> {
    let fx = pollster::block_on(fixture());
    templates(&fx)
        .into_iter()
        .map(|(_, v)| serde_json::to_vec(&v).unwrap())
        .collect()
}

fn deeply_nested(depth: usize, object: bool, closed: bool) -> Vec<u8> {
    let (open, close): (&[u8], &[u8]) = if object {
        (b"{\"a\":", b"}")
    } else {
        (b"[", b"]")
    };
    let mut doc = open.repeat(depth);
    doc.extend_from_slice(b"1");
    if closed {
        doc.extend_from_slice(&close.repeat(depth));
    }
    doc
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random bytes never panic a decoder.
    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        decode_with_every_type(&bytes)?;
    }

    /// Arbitrary JSON (wrong types, odd keys, nasty strings and numbers) never panics.
    #[test]
    fn arbitrary_json_never_panics(value in nasty_value()) {
        decode_with_every_type(&serde_json::to_vec(&value).unwrap())?;
    }

    /// Valid command documents, truncated, with a byte flipped or junk inserted,
    /// never panic.
    #[test]
    fn broken_valid_json_never_panics(doc in any::<prop::sample::Index>(), how in break_gen()) {
        let broken = VALID_DOCUMENTS.with(|docs| apply_break(doc.get(docs).clone(), &how));
        decode_with_every_type(&broken)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(32),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Nesting far past any sane depth is refused, not a stack overflow.
    #[test]
    fn deep_nesting_never_panics(depth in 1usize..100_000, object: bool, closed: bool) {
        decode_with_every_type(&deeply_nested(depth, object, closed))?;
    }
}

// ---------------------------------------------------------------------------
// The seeded world commands run against
// ---------------------------------------------------------------------------

/// The default world plus a record of every kind a command can name: a delivered
/// order on terms, paid in part and credited, with an authorised return; an open
/// order on terms, overpaid (so its customer has refundable credit); an unpaid
/// prepaid order; a supplier and an approved purchase order.
struct Fixture {
    w: World,
    delivered_order: OrderId,
    prepaid_order: OrderId,
    open_order: OrderId,
    terms_invoice: InvoiceId,
    prepaid_invoice: InvoiceId,
    payment: PaymentId,
    shipment: ShipmentId,
    rma: o2c::ids::ReturnId,
    supplier: SupplierId,
    purchase_order: o2c::ids::PurchaseOrderId,
    customer: o2c::ids::CustomerId,
}

impl Fixture {
    /// Every id of the fixture's records, as text.
    fn ids(&self) -> Vec<String> {
        [
            self.delivered_order.to_string(),
            self.prepaid_order.to_string(),
            self.open_order.to_string(),
            self.terms_invoice.to_string(),
            self.prepaid_invoice.to_string(),
            self.payment.to_string(),
            self.shipment.to_string(),
            self.rma.to_string(),
            self.supplier.to_string(),
            self.purchase_order.to_string(),
            self.customer.to_string(),
        ]
        .into()
    }
}

fn usd_cents(c: i64) -> Money {
    Money::from_minor(c, Currency::USD)
}

fn today() -> NaiveDate {
    start().date_naive()
}

async fn fixture() -> Fixture {
    let w = world().await;
    let bea = customer(&w, "Bea", PaymentTerms::Net { days: 30 }, None).await;
    let pat = customer(&w, "Pat", PaymentTerms::Prepaid, None).await;
    let oms = &w.oms;

    let order = oms
        .place_order(
            PlaceOrder::new(key("fx-terms"), bea.id, Channel::B2b, Currency::USD)
                .line(sku("TEE"), 3)
                .line(sku("MUG"), 1),
        )
        .await
        .unwrap();
    let shipment = oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
        .remove(0);
    oms.record_tracking(
        shipment.id,
        TrackingEvent {
            at: start() + Duration::hours(20),
            status: ShipmentStatus::Delivered,
            description: "delivered".into(),
        },
    )
    .await
    .unwrap();
    let terms_invoice = order.invoices[0];
    // Paid in part, so that the goodwill credit below and the template's lower what
    // is owed (mutated credits then reach past it, into what was paid).
    oms.record_payment(RecordPayment::new(
        key("fx-pay-part"),
        terms_invoice,
        usd_cents(2_000),
        PaymentMethod::BankTransfer,
    ))
    .await
    .unwrap();
    oms.issue_credit_note(
        IssueCreditNote::new(key("fx-credit"), terms_invoice, "goodwill")
            .with_lines(vec![(1, Quantity::new(1))]),
    )
    .await
    .unwrap();
    let open_order = oms
        .place_order(
            PlaceOrder::new(key("fx-open"), bea.id, Channel::Phone, Currency::USD)
                .line(sku("BOOK"), 2),
        )
        .await
        .unwrap();
    // 2 × 15.99 + 5 %, and 5.00 too much: the excess becomes refundable credit.
    let mut pay = RecordPayment::new(
        key("fx-pay"),
        open_order.invoices[0],
        usd_cents(3_358 + 500),
        PaymentMethod::BankTransfer,
    );
    pay.overpayment = OverpaymentPolicy::CreditCustomer;
    let payment = oms.record_payment(pay).await.unwrap();
    let rma = oms
        .request_return(
            RequestReturn::new(key("fx-rma"), order.id).with_lines(vec![(
                1,
                Quantity::new(1),
                ReturnReason::Defective,
            )]),
        )
        .await
        .unwrap();
    oms.authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();

    let prepaid = oms
        .place_order(
            PlaceOrder::new(key("fx-prepaid"), pat.id, Channel::Web, Currency::USD)
                .line(sku("MUG"), 2),
        )
        .await
        .unwrap();

    let supplier = SupplierId::from_uuid(uuid::Uuid::from_u128(7));
    oms.save_supplier(
        Supplier::new(supplier, "Supplyco", Currency::USD).offer(Offer::new(
            sku("TEE"),
            usd(dec!(7.00)),
            5,
            today(),
            today() + Duration::days(90),
        )),
    )
    .await
    .unwrap();
    let po = oms
        .raise_purchase_order(
            supplier,
            &loc(EAST),
            &[(sku("TEE"), Quantity::new(6))],
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    oms.approve_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(oms).await;

    Fixture {
        delivered_order: order.id,
        prepaid_order: prepaid.id,
        open_order: open_order.id,
        terms_invoice,
        prepaid_invoice: prepaid.invoices[0],
        payment: payment.id,
        shipment: shipment.id,
        rma: rma.id,
        supplier,
        purchase_order: po.id,
        customer: bea.id,
        w,
    }
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

/// A valid document for every command, naming the fixture's records, with every
/// optional field filled so that mutations can reach it.
fn templates(fx: &Fixture) -> Vec<(Kind, Value)> {
    let mut full_order =
        PlaceOrder::new(key("t-order"), fx.customer, Channel::Phone, Currency::USD)
            .priced_line(sku("TEE"), 2, usd(dec!(19.00)))
            .line(sku("BOOK"), 1)
            .discount(Discount::Amount(usd(dec!(1.00))))
            .shipping(usd(dec!(4.95)))
            .back_order(BackOrderPolicy::ShipAvailable)
            .back_order_priority(3)
            .deliver(Delivery::Ship {
                address: us_address("Bea").into(),
                service: ServiceLevel::Express,
            });
    full_order.lines[1].discount = Some(Discount::Percent(dec!(10)));
    full_order.note = Some("gift".into());
    let pickup_order = PlaceOrder::new(key("t-pickup"), fx.customer, Channel::Store, Currency::USD)
        .line(sku("MUG"), 1)
        .deliver(Delivery::Pickup {
            location: loc(STORE),
        });
    let mut payment = RecordPayment::new(
        key("t-pay"),
        fx.prepaid_invoice,
        usd(dec!(27.50)),
        PaymentMethod::Card,
    );
    payment.reference = Some("gw-1".into());
    let mut profile = NewCustomer::new("Zoe", "zoe@example.com", us_address("Zoe"), Currency::USD);
    profile.terms = PaymentTerms::Net { days: 30 };
    profile.credit_limit = Some(usd(dec!(500.00)));
    profile.phone = Some("+1 555".into());
    let mut product = Product::new(
        sku("HAT"),
        "hat",
        usd(dec!(9.99)),
        usd(dec!(3.00)),
        o2c::catalog::TaxClass::standard(),
    );
    product.weight_grams = 100;
    let location = Location::new(
        loc("WH-NORTH"),
        "North",
        o2c::stock::LocationKind::Warehouse,
        us_address("North"),
        4,
    );
    let supplier = Supplier::new(fx.supplier, "Supplyco", Currency::USD).offer(
        Offer::new(
            sku("MUG"),
            usd(dec!(3.00)),
            3,
            today(),
            today() + Duration::days(30),
        )
        .minimum(Quantity::new(6))
        .packs_of(Quantity::new(3)),
    );
    vec![
        (Kind::PlaceOrder, to_json(&full_order)),
        (Kind::PlaceOrder, to_json(&pickup_order)),
        (Kind::RecordPayment, to_json(&payment)),
        (
            Kind::ReceiveStock,
            to_json(
                &ReceiveStock::new(key("t-recv"), sku("MUG"), loc(WEST), 4)
                    .with_reference("grn".into()),
            ),
        ),
        (
            Kind::AdjustStock,
            to_json(&AdjustStock::new(
                key("t-adj"),
                sku("TEE"),
                loc(EAST),
                -2,
                "count",
            )),
        ),
        (
            Kind::IssueCreditNote,
            to_json(
                &IssueCreditNote::new(key("t-cn"), fx.terms_invoice, "price")
                    .with_lines(vec![(1, Quantity::new(1)), (2, Quantity::new(1))])
                    .with_shipping(Some(usd(dec!(0.00)))),
            ),
        ),
        (
            Kind::RecordRefund,
            to_json(&RecordRefund::new(
                key("t-refund"),
                fx.payment,
                usd(dec!(1.00)),
            )),
        ),
        (
            Kind::AmendOrder,
            to_json(
                &AmendOrder::new(key("t-amend"), fx.open_order)
                    .set_quantity(1, 3)
                    .remove_line(2)
                    .ship_to(us_address("Bea"))
                    .add_line(sku("MUG"), 1),
            ),
        ),
        (
            Kind::RequestExchange,
            to_json(
                &RequestReturn::new(key("t-exchange"), fx.delivered_order)
                    .with_lines(vec![(1, Quantity::new(1), ReturnReason::WrongItem)])
                    .exchange()
                    .with_replacement(vec![
                        o2c::order::LineRequest::new(sku("MUG"), 1)
                            .with_unit_price(Some(usd(dec!(12.00))))
                            .with_discount(Some(Discount::Percent(dec!(10)))),
                    ]),
            ),
        ),
        (
            Kind::RequestReturn,
            to_json(
                &RequestReturn::new(key("t-rma"), fx.delivered_order).with_lines(vec![
                    (1, Quantity::new(1), ReturnReason::NoLongerWanted),
                    (2, Quantity::new(1), ReturnReason::Damaged),
                ]),
            ),
        ),
        (
            Kind::ReceiveReturn,
            to_json(&ReceiveReturn::new(key("t-rr"), fx.rma).with_lines(vec![(
                1,
                Quantity::new(1),
                Condition::Resellable {
                    location: loc(WEST),
                },
            )])),
        ),
        (
            Kind::ReceivePurchaseOrder,
            to_json(
                &ReceivePurchaseOrder::new(key("t-grn"), fx.purchase_order)
                    .with_lines(vec![(sku("TEE"), Quantity::new(4))]),
            ),
        ),
        (Kind::RegisterCustomer, to_json(&profile)),
        (Kind::SaveProduct, to_json(&product)),
        (Kind::SaveLocation, to_json(&location)),
        (Kind::SaveSupplier, to_json(&supplier)),
        (
            Kind::SetReorderRule,
            to_json(&ReorderRule {
                sku: sku("MUG"),
                location: loc(EAST),
                min: Quantity::new(2),
                max: Quantity::new(9),
            }),
        ),
        (
            Kind::SetTaxTable,
            to_json(&TaxTable::new().with_rate(
                o2c::catalog::TaxClass::standard(),
                Some("US"),
                dec!(0.07),
            )),
        ),
        (
            Kind::RecordTracking,
            json!([
                fx.shipment,
                TrackingEvent {
                    at: start(),
                    status: ShipmentStatus::InTransit,
                    description: "hub".into(),
                }
            ]),
        ),
        (
            Kind::RaisePurchaseOrder,
            json!([fx.supplier, WEST, [["TEE", 12]]]),
        ),
        (Kind::HoldOrder, json!([fx.prepaid_order, "ManualReview"])),
        (
            Kind::ReleaseHold,
            json!([fx.prepaid_order, "AwaitingPayment"]),
        ),
        (Kind::CancelOrder, json!([fx.open_order, "changed mind"])),
        (Kind::Ship, json!(fx.open_order)),
    ]
}

// ---------------------------------------------------------------------------
// Mutating a valid command
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PlaceOrder,
    AmendOrder,
    RequestExchange,
    RecordPayment,
    ReceiveStock,
    AdjustStock,
    IssueCreditNote,
    RecordRefund,
    RequestReturn,
    ReceiveReturn,
    ReceivePurchaseOrder,
    RegisterCustomer,
    SaveProduct,
    SaveLocation,
    SaveSupplier,
    SetReorderRule,
    SetTaxTable,
    RecordTracking,
    RaisePurchaseOrder,
    HoldOrder,
    ReleaseHold,
    CancelOrder,
    Ship,
}

/// One change to a document: at the `at`-th node (depth first, modulo the count).
#[derive(Debug, Clone)]
enum Mutation {
    /// Mostly a leaf of the same JSON kind (a number for a number, a string for a
    /// string: so the document still decodes and reaches the service's checks),
    /// sometimes any value at all.
    Replace {
        at: usize,
        number: Value,
        /// Which string of the field's pool (see [`string_pool`]).
        string: usize,
        other: Value,
        keep_kind: bool,
    },
    Remove {
        at: usize,
    },
    AddField {
        at: usize,
        name: String,
        with: Value,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        8 => (
            any::<usize>(),
            nasty_number(),
            any::<usize>(),
            nasty_value(),
            prop::bool::weighted(0.9),
        )
            .prop_map(|(at, number, string, other, keep_kind)| Mutation::Replace {
                at,
                number,
                string,
                other,
                keep_kind,
            }),
        1 => any::<usize>().prop_map(|at| Mutation::Remove { at }),
        1 => (any::<usize>(), nasty_string(), nasty_value())
            .prop_map(|(at, name, with)| Mutation::AddField { at, name, with }),
    ]
}

/// Every node of `v` as a JSON pointer, depth first, and whether it is a leaf.
fn pointers(v: &Value, here: String, out: &mut Vec<(String, bool)>) {
    out.push((here.clone(), !(v.is_array() || v.is_object())));
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, format!("{here}/{i}"), out);
            }
        }
        Value::Object(fields) => {
            for (name, item) in fields {
                let escaped = name.replace('~', "~0").replace('/', "~1");
                pointers(item, format!("{here}/{escaped}"), out);
            }
        }
        _ => {}
    }
}

fn parent_and_last(pointer: &str) -> Option<(&str, String)> {
    let (parent, last) = pointer.rsplit_once('/')?;
    Some((parent, last.replace("~1", "/").replace("~0", "~")))
}

fn mutate(mut doc: Value, m: &Mutation, ids: &[String]) -> Value {
    let mut all = Vec::new();
    pointers(&doc, String::new(), &mut all);
    let leaves: Vec<String> = all
        .iter()
        .filter(|(_, leaf)| *leaf)
        .map(|(p, _)| p.clone())
        .collect();
    let pick = |at: usize| all[at % all.len()].0.clone();
    match m {
        Mutation::Replace {
            at,
            number,
            string,
            other,
            keep_kind,
        } => {
            let at = match leaves.len() {
                0 => pick(*at),
                n if *keep_kind => leaves[at % n].clone(),
                _ => pick(*at),
            };
            if let Some(node) = doc.pointer_mut(&at) {
                *node = match node {
                    Value::Number(_) if *keep_kind => number.clone(),
                    Value::String(s) if *keep_kind => {
                        let pool = string_pool(s, ids);
                        Value::String(pool[string % pool.len()].clone())
                    }
                    _ => other.clone(),
                };
            }
        }
        Mutation::Remove { at } => {
            if let Some((parent, last)) = parent_and_last(&pick(*at)) {
                match doc.pointer_mut(parent) {
                    Some(Value::Object(fields)) => {
                        fields.remove(&last);
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = last.parse::<usize>()
                            && i < items.len()
                        {
                            items.remove(i);
                        }
                    }
                    _ => {}
                }
            }
        }
        Mutation::AddField { at, name, with } => match doc.pointer_mut(&pick(*at)) {
            Some(Value::Object(fields)) => {
                fields.insert(name.clone(), with.clone());
            }
            Some(Value::Array(items)) => items.push(with.clone()),
            _ => {}
        },
    }
    doc
}

// ---------------------------------------------------------------------------
// Running what decodes
// ---------------------------------------------------------------------------

fn decode<T: DeserializeOwned>(v: &Value) -> Option<T> {
    serde_json::from_value(v.clone()).ok()
}

/// Decodes `doc` as the command `kind` and runs it; `None` if it does not decode.
async fn run(oms: &TestOms, kind: Kind, doc: &Value) -> Option<Result<String, Error>> {
    fn shown<T: Debug>(r: Result<T, Error>) -> Result<String, Error> {
        r.map(|v| format!("{v:?}"))
    }
    Some(match kind {
        Kind::PlaceOrder => shown(oms.place_order(decode(doc)?).await),
        Kind::AmendOrder => shown(oms.amend_order(decode(doc)?).await),
        Kind::RequestExchange => shown(oms.request_exchange(decode(doc)?).await),
        Kind::RecordPayment => shown(oms.record_payment(decode(doc)?).await),
        Kind::ReceiveStock => shown(oms.receive_stock(decode(doc)?).await),
        Kind::AdjustStock => shown(oms.adjust_stock(decode(doc)?).await),
        Kind::IssueCreditNote => shown(oms.issue_credit_note(decode(doc)?).await),
        Kind::RecordRefund => shown(oms.record_refund(decode(doc)?).await),
        Kind::RequestReturn => shown(oms.request_return(decode(doc)?).await),
        Kind::ReceiveReturn => shown(oms.receive_return(decode(doc)?).await),
        Kind::ReceivePurchaseOrder => shown(oms.receive_purchase_order(decode(doc)?).await),
        Kind::RegisterCustomer => shown(
            oms.register_customer(decode(doc)?, o2c::ids::IdempotencyKey::generate())
                .await,
        ),
        Kind::SaveProduct => shown(oms.save_product(decode(doc)?).await),
        Kind::SaveLocation => shown(oms.save_location(decode(doc)?).await),
        Kind::SaveSupplier => shown(oms.save_supplier(decode(doc)?).await),
        Kind::SetReorderRule => shown(oms.set_reorder_rule(decode(doc)?).await),
        Kind::SetTaxTable => shown(oms.set_tax_table(decode(doc)?).await),
        Kind::RecordTracking => {
            let (shipment, event): (ShipmentId, TrackingEvent) = decode(doc)?;
            shown(oms.record_tracking(shipment, event).await)
        }
        Kind::RaisePurchaseOrder => {
            let (supplier, ship_to, needs): (SupplierId, LocationId, Vec<(Sku, Quantity)>) =
                decode(doc)?;
            shown(
                oms.raise_purchase_order(
                    supplier,
                    &ship_to,
                    &needs,
                    o2c::ids::IdempotencyKey::generate(),
                )
                .await,
            )
        }
        Kind::HoldOrder => {
            let (order, hold): (OrderId, Hold) = decode(doc)?;
            shown(
                oms.hold_order(order, hold, o2c::ids::IdempotencyKey::generate())
                    .await,
            )
        }
        Kind::ReleaseHold => {
            let (order, hold): (OrderId, Hold) = decode(doc)?;
            shown(
                oms.release_hold(order, hold, o2c::ids::IdempotencyKey::generate())
                    .await,
            )
        }
        Kind::CancelOrder => {
            let (order, reason): (OrderId, String) = decode(doc)?;
            shown(
                oms.cancel_order(order, &reason, o2c::ids::IdempotencyKey::generate())
                    .await,
            )
        }
        Kind::Ship => shown(
            oms.ship(decode(doc)?, o2c::ids::IdempotencyKey::generate())
                .await,
        ),
    })
}

/// Errors that mean a bug rather than bad input when one caller works alone: a
/// refused ledger posting (the service built an entry it should not have), a store
/// failure, or contention without any concurrency.
fn is_a_bug(e: &Error) -> bool {
    matches!(
        e,
        Error::Ledger(_) | Error::Store(_) | Error::Contention { .. }
    )
}

/// Everything in the store, `common::snapshot` plus the kinds it leaves out.
#[derive(Debug, PartialEq)]
struct Everything {
    common: Snapshot,
    returns: Vec<Versioned<ReturnAuthorization>>,
    credit_notes: Vec<Versioned<CreditNote>>,
    reorder_rules: Vec<Versioned<ReorderRule>>,
    tax: Option<Versioned<TaxTable>>,
}

async fn everything(oms: &TestOms) -> Everything {
    let s = oms.store();
    Everything {
        common: snapshot(oms).await,
        returns: s.list().await.unwrap(),
        credit_notes: s.list().await.unwrap(),
        reorder_rules: s.list().await.unwrap(),
        tax: s.load::<TaxTable>(&()).await.unwrap(),
    }
}

/// Applies `mutations` to template `pick`, and if the result decodes, runs it and
/// checks the outcome. Returns a description of a violated expectation.
async fn check_mutated(
    fx: &Fixture,
    pick: prop::sample::Index,
    mutations: &[Mutation],
) -> Result<(), String> {
    let all = templates(fx);
    let (kind, template) = pick.get(&all).clone();
    let ids = fx.ids();
    let doc = mutations
        .iter()
        .fold(template, |doc, m| mutate(doc, m, &ids));
    let oms = &fx.w.oms;
    let before = everything(oms).await;
    let Some(outcome) = run(oms, kind, &doc).await else {
        return Ok(());
    };
    if let Err(e) = &outcome {
        if is_a_bug(e) {
            return Err(format!("{kind:?} {doc}: unexpected kind of error {e:?}"));
        }
        let after = everything(oms).await;
        if before != after {
            return Err(format!(
                "{kind:?} {doc}: failed with {e:?} but changed the store"
            ));
        }
    }
    let report = oms.audit().await.unwrap();
    if !report.is_clean() {
        return Err(format!(
            "{kind:?} {doc} → {outcome:?}: audit violations {:?}",
            report.violations
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Valid commands with a few fields replaced by extreme or wrong values (zero,
    /// negative and huge quantities; huge, negative, sub-cent and foreign money;
    /// unicode and empty codes; unknown ids; dates at the calendar's ends), removed,
    /// or extra fields added: each either decodes or not, and what decodes succeeds
    /// or fails with a typed error that changed nothing. A few commands run in a row
    /// on one world, so later ones meet what earlier ones did.
    #[test]
    fn mutated_commands_succeed_or_change_nothing(
        steps in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::collection::vec(mutation(), 0..=3)),
            1..=4,
        ),
    ) {
        let fx = pollster::block_on(fixture());
        for (pick, mutations) in &steps {
            let checked = no_panic("running a mutated command", || {
                pollster::block_on(check_mutated(&fx, *pick, mutations))
            })?;
            prop_assert!(checked.is_ok(), "{}", checked.unwrap_err());
        }
    }
}

/// The templates themselves are valid: each succeeds on a fresh fixture, so mutations
/// start from commands that reach the service's real checks, not ones refused at the
/// door.
#[tokio::test]
async fn every_template_succeeds_as_it_is() {
    let count = templates(&fixture().await).len();
    for n in 0..count {
        let fx = fixture().await;
        let (kind, doc) = templates(&fx).swap_remove(n);
        let outcome = run(&fx.w.oms, kind, &doc).await;
        let outcome = outcome.unwrap_or_else(|| panic!("{kind:?} template does not decode"));
        assert!(outcome.is_ok(), "{kind:?} {doc}: {outcome:?}");
        assert_audit_clean(&fx.w.oms).await;
    }
}
