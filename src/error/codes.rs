//! Every error's code and kind, kept in `codes.txt` so that a code never changes
//! silently: a change to a code or a kind fails here until the file is updated
//! on purpose (`O2C_BLESS=1 cargo test --lib error::codes` rewrites it).

use std::collections::BTreeSet;
use std::io;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::{Error, ErrorKind};
use crate::fulfilment::{CarrierError, ThirdPartyError, TrackingNumber};
use crate::ids::{
    IdempotencyKey, InvoiceId, LocationId, OrderId, PaymentId, PurchaseOrderId, ReturnId, Sku,
};
use crate::ledger::{AccountCode, CreditError, ExportError, LedgerError, PaymentError};
use crate::money::{Currency, Money, MoneyError};
use crate::order::{Hold, OrderAction, OrderError, OrderStatus};
use crate::purchasing::{PurchaseOrderStatus, PurchasingError};
use crate::quantity::Quantity;
use crate::returns::{ReturnError, ReturnStatus};
use crate::stock::StockError;
use crate::store::{CounterKey, CounterKind, IdempotencyScope, ReadError, RecordKey, StoreError};

/// The file of record: one `code kind status` line per code, sorted.
const CODES: &str = include_str!("codes.txt");

/// The sources whose `code` functions name codes, to check that every code
/// written there has an example below.
const SOURCES: [&str; 13] = [
    include_str!("mod.rs"),
    include_str!("../order/mod.rs"),
    include_str!("../money/amount.rs"),
    include_str!("../fulfilment/carrier.rs"),
    include_str!("../fulfilment/third_party.rs"),
    include_str!("../ledger/mod.rs"),
    include_str!("../ledger/export.rs"),
    include_str!("../returns/error.rs"),
    include_str!("../store/mod.rs"),
    include_str!("../stock/mod.rs"),
    include_str!("../purchasing/mod.rs"),
    include_str!("../catalog/tax.rs"),
    include_str!("../payment/provider.rs"),
];

fn sku() -> Sku {
    Sku::new("MUG").unwrap_or_else(|e| unreachable!("{e}"))
}

fn location() -> LocationId {
    LocationId::new("WH").unwrap_or_else(|e| unreachable!("{e}"))
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn units(n: u32) -> Quantity {
    Quantity::new(n)
}

fn outage() -> Box<dyn std::error::Error + Send + Sync> {
    Box::new(io::Error::new(io::ErrorKind::ConnectionReset, "reset"))
}

fn order_key() -> RecordKey {
    RecordKey::Order(OrderId::from_uuid(Uuid::nil()))
}

fn money_errors() -> Vec<MoneyError> {
    vec![
        MoneyError::CurrencyMismatch {
            expected: Currency::USD,
            found: Currency::EUR,
        },
        MoneyError::Overflow { operation: "add" },
        MoneyError::UnknownCurrency("XXX".into()),
        MoneyError::NotInMinorUnits {
            amount: Decimal::new(1, 3),
            currency: Currency::USD,
        },
        MoneyError::EmptyAllocation,
        MoneyError::InvalidWeights,
        MoneyError::Parse("one dollar".into()),
    ]
}

fn order_errors() -> Vec<OrderError> {
    vec![
        OrderError::Empty,
        OrderError::TooManyLines { max: 1, got: 2 },
        OrderError::InvalidQuantity {
            line: 1,
            quantity: 0,
        },
        OrderError::UnknownSku(sku()),
        OrderError::InactiveSku(sku()),
        OrderError::CurrencyMismatch {
            expected: Currency::USD,
            found: Currency::EUR,
        },
        OrderError::NegativePrice { line: 1 },
        OrderError::InvalidDiscount {
            line: None,
            reason: "over 100 %",
        },
        OrderError::NoTaxRate {
            class: crate::catalog::TaxClass::standard(),
            country: "US".into(),
        },
        OrderError::NoShipToAddress,
        OrderError::InvalidCountry("USA".into()),
        OrderError::NegativeShipping,
        OrderError::InvalidTransition {
            from: OrderStatus::Cancelled,
            action: OrderAction::Ship,
        },
        OrderError::OnHold {
            holds: vec![Hold::ManualReview],
        },
        OrderError::NothingToCancel,
        OrderError::NothingToShip,
        OrderError::AwaitingBackOrder { units: 1 },
        OrderError::NothingToAmend,
        OrderError::UnknownLine(9),
        OrderError::AmendsShippedUnits {
            line: 1,
            shipped: units(2),
            asked: 1,
        },
        OrderError::AmendmentEmptiesOrder,
        OrderError::PickupHasNoAddress,
        OrderError::EverythingShipped,
        OrderError::HoldNotFound(Hold::CreditLimit),
        OrderError::UnitsOverflow {
            line: 1,
            what: "shipped",
        },
        OrderError::AtThirdParty {
            location: location(),
            units: 1,
        },
    ]
}

fn store_errors() -> Vec<StoreError> {
    let counter = CounterKey::new(
        CounterKind::new("truck_run").unwrap_or_else(|e| unreachable!("{e}")),
        "run-1",
    )
    .unwrap_or_else(|e| unreachable!("{e}"));
    vec![
        StoreError::NotFound { key: order_key() },
        StoreError::Conflict {
            key: order_key(),
            expected: Some(1),
            actual: Some(2),
        },
        StoreError::StockChanged {
            sku: sku(),
            expected: 1,
            actual: 2,
        },
        StoreError::InsufficientStock {
            sku: sku(),
            location: location(),
            on_hand: 0,
            reserved: 0,
            on_hand_delta: 0,
            reserved_delta: 1,
        },
        StoreError::OutOfBounds {
            key: counter,
            limit: 1,
            used: 1,
            limit_delta: 0,
            used_delta: 1,
        },
        StoreError::DuplicateKey {
            key: IdempotencyKey::new("k").unwrap_or_else(|e| unreachable!("{e}")),
        },
        StoreError::Invalid {
            reason: "put twice".into(),
        },
        StoreError::Deadlock,
        StoreError::Interrupted(outage()),
        StoreError::Backend(outage()),
    ]
}

fn read_errors() -> Vec<ReadError> {
    vec![
        ReadError::Backend(outage()),
        ReadError::corrupt_record(order_key(), "bad JSON"),
    ]
}

/// One error of every kind there is, wrapped as the service returns it.
fn every_error() -> Vec<Error> {
    let po = PurchaseOrderId::from_uuid(Uuid::nil());
    let invoice = InvoiceId::from_uuid(Uuid::nil());
    let mut all: Vec<Error> = Vec::new();
    all.extend(order_errors().into_iter().map(Error::from));
    all.extend(money_errors().into_iter().map(Error::from));
    all.extend(store_errors().into_iter().map(Error::from));
    all.extend(read_errors().into_iter().map(Error::from));
    all.extend(
        [
            StockError::Insufficient {
                sku: sku(),
                requested: 2,
                available: 1,
            },
            StockError::BelowReserved {
                sku: sku(),
                location: location(),
                on_hand: 1,
                reserved: 1,
                delta: -1,
            },
            StockError::ZeroChange,
            StockError::BrokenGuard {
                sku: sku(),
                location: location(),
                on_hand: 0,
                reserved: 1,
            },
        ]
        .into_iter()
        .map(Error::from),
    );
    all.extend(
        [
            PaymentError::NotPositive(usd(0)),
            PaymentError::Overpayment {
                outstanding: usd(1),
                offered: usd(2),
            },
            PaymentError::InvoiceVoid(invoice),
            PaymentError::AlreadyPaid(invoice),
            PaymentError::CurrencyMismatch {
                expected: Currency::USD,
                found: Currency::EUR,
            },
            PaymentError::NotInMinorUnits(usd(1)),
            PaymentError::OnAccountIsNotAPayment,
            PaymentError::ThroughProvider {
                method: crate::customer::PaymentMethod::Card,
            },
            PaymentError::Declined {
                reason: "insufficient funds".into(),
            },
            PaymentError::UnknownRequest {
                order: OrderId::from_uuid(Uuid::nil()),
                key: "capture".into(),
            },
            PaymentError::NotAuthorised(OrderId::from_uuid(Uuid::nil())),
            PaymentError::ExceedsAuthorisation {
                available: usd(100),
                requested: usd(200),
            },
            PaymentError::OtherProvider {
                expected: "cards".into(),
                found: "wallet".into(),
            },
        ]
        .into_iter()
        .map(Error::from),
    );
    all.extend(
        [
            crate::payment::ProviderError::Timeout {
                provider: "cards".into(),
            },
            crate::payment::ProviderError::Declined {
                provider: "cards".into(),
                reason: "insufficient funds".into(),
            },
            crate::payment::ProviderError::Refused {
                provider: "cards".into(),
                reason: "capture after void".into(),
            },
        ]
        .into_iter()
        .map(Error::from),
    );
    all.extend(
        [
            LedgerError::Unbalanced {
                currency: Currency::USD,
                imbalance: usd(1),
            },
            LedgerError::TooFewLines,
            LedgerError::NotInMinorUnits(usd(1)),
            LedgerError::UnknownAccount(AccountCode::new("9999")),
            LedgerError::Money(MoneyError::Overflow { operation: "add" }),
        ]
        .into_iter()
        .map(Error::from),
    );
    let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 1, d).unwrap_or_default();
    all.extend(
        [
            ExportError::BadRange {
                from: day(2),
                to: day(1),
            },
            ExportError::UnknownAccount {
                entry: crate::ids::EntryId::from_uuid(Uuid::nil()),
                account: AccountCode::new("9999"),
            },
            ExportError::Write(io::Error::new(io::ErrorKind::StorageFull, "disk full")),
        ]
        .into_iter()
        .map(Error::from),
    );
    all.extend(
        [
            CreditError::InvoiceVoid(invoice),
            CreditError::NothingToCredit,
            CreditError::NotOnInvoice { line_no: 9 },
            CreditError::MoreThanInvoiced {
                line_no: 1,
                invoiced: units(1),
                credited: units(1),
                requested: units(1),
            },
            CreditError::ShippingBeyondCharged {
                remaining: usd(0),
                requested: usd(1),
            },
            CreditError::ExceedsCredit {
                available: usd(0),
                requested: usd(1),
            },
            CreditError::PaidFromCredit(PaymentId::from_uuid(Uuid::nil())),
            CreditError::BeyondPayment {
                paid: usd(1),
                refunded: usd(1),
                requested: usd(1),
            },
        ]
        .into_iter()
        .map(Error::from),
    );
    all.extend(
        [
            CarrierError::Timeout {
                carrier: "parcel".into(),
            },
            CarrierError::NoService {
                carrier: "parcel".into(),
                reason: "too heavy".into(),
            },
            CarrierError::Rejected {
                carrier: "parcel".into(),
                reason: "bad address".into(),
            },
            CarrierError::UnknownTracking(TrackingNumber::new("1Z")),
        ]
        .into_iter()
        .map(Error::from),
    );
    let order = OrderId::from_uuid(Uuid::nil());
    all.extend(
        [
            ThirdPartyError::Unavailable { site: "3pl".into() },
            ThirdPartyError::Refused {
                site: "3pl".into(),
                reason: "closed".into(),
            },
            ThirdPartyError::NotThirdParty {
                location: location(),
            },
            ThirdPartyError::NothingToRelease {
                order,
                location: location(),
            },
            ThirdPartyError::NotReleased {
                order,
                location: location(),
                line_no: 1,
                released: 0,
                reported: 1,
            },
            ThirdPartyError::Malformed {
                reason: "no lines".into(),
            },
        ]
        .into_iter()
        .map(Error::from),
    );
    let rma = ReturnId::from_uuid(Uuid::nil());
    all.extend(
        [
            ReturnError::Empty,
            ReturnError::NoReplacement,
            ReturnError::NotOnOrder { line_no: 9 },
            ReturnError::NotReturnable {
                line_no: 1,
                returnable: units(0),
                requested: units(1),
            },
            ReturnError::InvalidTransition {
                id: rma,
                status: ReturnStatus::Requested,
                action: "receive",
            },
            ReturnError::BeyondAuthorised {
                line_no: 1,
                outstanding: units(0),
                received: units(1),
            },
        ]
        .into_iter()
        .map(Error::from),
    );
    all.extend(
        [
            PurchasingError::ZeroLeadTime { sku: sku() },
            PurchasingError::ZeroPackSize { sku: sku() },
            PurchasingError::InvalidCost {
                sku: sku(),
                reason: "negative",
            },
            PurchasingError::EmptyValidity { sku: sku() },
            PurchasingError::CurrencyMismatch {
                sku: sku(),
                expected: Currency::USD,
                found: Currency::EUR,
            },
            PurchasingError::NoOffer { sku: sku() },
            PurchasingError::EmptyOrder,
            PurchasingError::InvalidTransition {
                id: po,
                status: PurchaseOrderStatus::Draft,
                action: "receive",
            },
            PurchasingError::NotOnOrder { id: po, sku: sku() },
            PurchasingError::OverReceipt {
                id: po,
                sku: sku(),
                outstanding: units(0),
                received: units(1),
            },
            PurchasingError::InvalidReorderRule {
                sku: sku(),
                min: units(2),
                max: units(1),
            },
            PurchasingError::EmptyReceipt,
            PurchasingError::TooManyUnits {
                sku: sku(),
                units: u64::MAX,
            },
        ]
        .into_iter()
        .map(Error::from),
    );
    all.extend([
        Error::InvalidCode(Sku::new("").err().unwrap_or_else(|| unreachable!())),
        Error::not_found("order", "0190"),
        Error::unknown_reference("product", "MUG"),
        Error::invalid("amount", "must be positive"),
        Error::IdempotencyKeyReused {
            scope: IdempotencyScope::PlaceOrder,
            key: IdempotencyKey::new("k").unwrap_or_else(|e| unreachable!("{e}")),
        },
        Error::NotPrefetched { key: order_key() },
        Error::dangling("product", "MUG"),
        Error::inconsistent("amendment", "its invoice left the commit"),
        Error::Contention { attempts: 32 },
    ]);
    all
}

/// The `code kind status` lines of `errors`, each code once, sorted.
fn lines(errors: &[Error]) -> Vec<String> {
    let listed: BTreeSet<String> = errors
        .iter()
        .map(|e| {
            let kind = e.kind();
            format!("{} {} {}", e.code(), kind, kind.http_status())
        })
        .collect();
    listed.into_iter().collect()
}

/// Every quoted `area.what` literal inside the `code` functions of `source`.
fn codes_named_in(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("pub fn code(&self) -> &'static str {") {
        let body = rest.get(at..).unwrap_or_default();
        let end = body.find("\n    }\n").unwrap_or(body.len());
        let body = body.get(..end).unwrap_or_default();
        for (i, piece) in body.split('"').enumerate() {
            let quoted = i % 2 == 1;
            if quoted && piece.contains('.') && !piece.contains(' ') {
                found.push(piece.to_owned());
            }
        }
        rest = rest.get(at + end..).unwrap_or_default();
    }
    found
}

#[test]
fn every_error_has_the_code_and_kind_on_file() {
    let now = lines(&every_error()).join("\n") + "\n";
    if std::env::var_os("O2C_BLESS").is_some() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/error/codes.txt");
        std::fs::write(path, &now).unwrap_or_else(|e| unreachable!("{e}"));
        return;
    }
    assert_eq!(
        now, CODES,
        "an error's code or kind changed: if that is meant, rerun with O2C_BLESS=1 \
         and say so in CHANGELOG.md"
    );
}

#[test]
fn every_code_written_has_an_example() {
    let examples: BTreeSet<&'static str> = every_error().iter().map(Error::code).collect();
    let written: BTreeSet<String> = SOURCES.iter().flat_map(|s| codes_named_in(s)).collect();
    assert!(written.len() > 90, "found only {} codes", written.len());
    let missing: Vec<&String> = written
        .iter()
        .filter(|c| !examples.contains(c.as_str()))
        .collect();
    assert!(missing.is_empty(), "codes with no example: {missing:?}");
}

#[test]
fn codes_are_distinct_snake_case_and_areas_are_few() {
    let all = every_error();
    for e in &all {
        let code = e.code();
        let (area, what) = code.split_once('.').unwrap_or(("", ""));
        assert!(!area.is_empty() && !what.is_empty(), "{code}");
        assert!(
            code.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'),
            "{code}"
        );
    }
    // Two errors share a code only when they are the same failure seen from two
    // places (a money error inside an order, a read inside a commit).
    let areas: BTreeSet<&str> = all
        .iter()
        .filter_map(|e| e.code().split_once('.').map(|(a, _)| a))
        .collect();
    assert!(areas.len() <= 16, "{areas:?}");
}

#[test]
fn every_kind_is_used_and_suggests_a_status() {
    let used: BTreeSet<&'static str> = every_error().iter().map(|e| e.kind().as_str()).collect();
    for kind in ErrorKind::ALL {
        assert!(used.contains(kind.as_str()), "{kind} is never used");
        assert!((400..600).contains(&kind.http_status()));
        let json = serde_json::to_string(&kind).unwrap_or_default();
        assert_eq!(json, format!("\"{}\"", kind.as_str()));
    }
}

#[test]
fn an_error_serializes_as_a_body_a_client_can_read() {
    let on_hold = Error::from(OrderError::OnHold {
        holds: vec![Hold::ManualReview],
    });
    let body = serde_json::to_value(&on_hold).unwrap_or_default();
    assert_eq!(body["code"], "order.on_hold");
    assert_eq!(body["kind"], "refused");
    assert_eq!(body["retryable"], false);
    assert_eq!(body["message"], on_hold.to_string());
    assert!(body.get("entity").is_none());

    let missing = Error::not_found("order", "0190");
    let body = serde_json::to_value(&missing).unwrap_or_default();
    assert_eq!(body["code"], "record.not_found");
    assert_eq!(body["kind"], "not_found");
    assert_eq!(
        (&body["entity"], &body["id"]),
        (&"order".into(), &"0190".into())
    );

    let body = serde_json::to_value(&missing).unwrap_or_default();
    assert_eq!(body["addressed"], true);
    let named = Error::unknown_reference("product", "MUG");
    let body = serde_json::to_value(&named).unwrap_or_default();
    assert_eq!(body["code"], "request.unknown_reference");
    assert_eq!(
        (&body["kind"], &body["addressed"]),
        (&"invalid_input".into(), &false.into())
    );
    assert_eq!(named.kind().http_status(), 422);

    let raced = Error::Contention { attempts: 32 };
    let body = serde_json::to_value(&raced).unwrap_or_default();
    assert_eq!(
        (&body["kind"], &body["retryable"]),
        (&"conflict".into(), &true.into())
    );
}

#[test]
fn operator_text_stays_out_of_the_body() {
    let corrupt = Error::from(ReadError::corrupt_record(
        order_key(),
        "expected `,` at 1:17",
    ));
    let outage = Error::from(StoreError::Backend(outage()));
    let posting = Error::from(LedgerError::UnknownAccount(AccountCode::new("9999")));
    for e in [corrupt, outage, posting] {
        let body = serde_json::to_string(&e).unwrap_or_default();
        assert!(!body.contains("1:17") && !body.contains("9999"), "{body}");
        assert_ne!(e.public_message(), e.to_string(), "{e}");
    }
}
