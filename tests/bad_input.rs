//! Bad input: every refused command names exactly what was wrong and leaves the store untouched.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::fmt::Debug;
use std::future::Future;

use common::*;
use o2c::Applied;
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::customer::{Address, Customer, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::{CarrierError, ShipmentStatus, TrackingEvent};
use o2c::ids::{CustomerId, InvoiceId, OrderId, ShipmentId};
use o2c::ledger::{OverpaymentPolicy, PaymentError};
use o2c::money::{Currency, Money, MoneyError};
use o2c::order::{
    Delivery, Discount, Hold, MAX_LINES, Order, OrderAction, OrderError, OrderStatus, PlaceOrder,
    ServiceLevel,
};
use o2c::stock::{Location, LocationKind, StockError};
use o2c::store::IdempotencyScope;
use o2c::{AdjustStock, Error, OmsConfig, ReceiveStock, RecordPayment};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Runs `call` and insists it fails, leaves every record, balance, movement and event
/// exactly as it was, and leaves the books clean. Returns the error for inspection.
async fn refused<T: Debug>(w: &World, call: impl Future<Output = Result<T, Error>>) -> Error {
    let before = snapshot(&w.oms).await;
    let result = call.await;
    let after = snapshot(&w.oms).await;
    let err = match result {
        Ok(value) => panic!("expected an error, got Ok({value:?})"),
        Err(e) => e,
    };
    assert_eq!(
        before, after,
        "the store changed although the call failed with {err:?}"
    );
    assert_audit_clean(&w.oms).await;
    err
}

/// Runs `call`, insists it succeeds and writes nothing at all (a replay).
/// Runs a call that must be a replay: it succeeds, says so, and writes nothing.
async fn replayed<T: Debug>(
    w: &World,
    call: impl Future<Output = Result<Applied<T>, Error>>,
) -> Applied<T> {
    let before = snapshot(&w.oms).await;
    let answer = call.await.expect("replay must succeed");
    let after = snapshot(&w.oms).await;
    assert_eq!(before, after, "a replay wrote to the store");
    assert!(answer.replayed, "a replay did not say so");
    answer
}

fn order_error(e: Error) -> OrderError {
    match e {
        Error::Order(inner) => inner,
        other => panic!("expected Error::Order, got {other:?}"),
    }
}
fn stock_error(e: Error) -> StockError {
    match e {
        Error::Stock(inner) => inner,
        other => panic!("expected Error::Stock, got {other:?}"),
    }
}
fn payment_error(e: Error) -> PaymentError {
    match e {
        Error::Payment(inner) => inner,
        other => panic!("expected Error::Payment, got {other:?}"),
    }
}
/// `(entity, id, addressed)` of an [`Error::NotFound`].
fn not_found(e: Error) -> (&'static str, String, bool) {
    match e {
        Error::NotFound {
            entity,
            id,
            addressed,
        } => (entity, id, addressed),
        other => panic!("expected Error::NotFound, got {other:?}"),
    }
}
/// `field` of an [`Error::Invalid`].
fn invalid_field(e: Error) -> &'static str {
    match e {
        Error::Invalid { field, .. } => field,
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

fn eur(x: Decimal) -> Money {
    Money::new(x, Currency::EUR)
}

const NO_SUCH_ID: &str = "00000000-0000-7000-8000-00000000beef";

async fn prepaid(w: &World) -> Customer {
    customer(w, "Pat", PaymentTerms::Prepaid, None).await
}
async fn on_terms(w: &World) -> Customer {
    customer(w, "Bea", PaymentTerms::Net { days: 30 }, None).await
}

fn web(k: &str, c: &Customer) -> PlaceOrder {
    PlaceOrder::new(key(k), c.id, o2c::order::Channel::Web, Currency::USD)
}

/// A placed, invoiced (prepaid) order for 2 TEE: total 44.00 USD.
async fn prepaid_order(w: &World) -> Order {
    let c = prepaid(w).await;
    let order = w
        .oms
        .place_order(web("o-prepaid", &c).line(sku("TEE"), 2))
        .await
        .unwrap();
    assert_eq!(order.invoices.len(), 1);
    order.into_inner()
}

async fn pay_in_full(w: &World, order: &Order, k: &str) {
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    w.oms
        .record_payment(RecordPayment::new(
            key(k),
            invoice.id,
            invoice.total().unwrap(),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
}

fn delivered() -> TrackingEvent {
    TrackingEvent {
        at: start(),
        status: ShipmentStatus::Delivered,
        description: "delivered".into(),
    }
}

// ---------------------------------------------------------------------------
// place_order: quantities
// ---------------------------------------------------------------------------

#[tokio::test]
async fn place_order_zero_quantity() {
    let w = world().await;
    let c = on_terms(&w).await;
    let e = refused(&w, w.oms.place_order(web("k", &c).line(sku("TEE"), 0))).await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidQuantity {
            line: 1,
            quantity: 0
        }
    );
}

#[tokio::test]
async fn place_order_negative_quantity_names_its_line() {
    let w = world().await;
    let c = on_terms(&w).await;
    let cmd = web("k", &c).line(sku("TEE"), 1).line(sku("MUG"), -3);
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidQuantity {
            line: 2,
            quantity: -3
        }
    );
}

#[tokio::test]
async fn place_order_quantity_beyond_u32() {
    let w = world().await;
    let c = on_terms(&w).await;
    for q in [i64::from(u32::MAX) + 1, i64::MAX, i64::MIN] {
        let e = refused(&w, w.oms.place_order(web("k", &c).line(sku("TEE"), q))).await;
        assert_eq!(
            order_error(e),
            OrderError::InvalidQuantity {
                line: 1,
                quantity: q
            },
            "quantity {q}"
        );
    }
}

#[tokio::test]
async fn place_order_quantity_u32_max_is_valid_but_not_in_stock() {
    let w = world().await;
    let c = on_terms(&w).await;
    let q = i64::from(u32::MAX);
    let e = refused(&w, w.oms.place_order(web("k", &c).line(sku("TEE"), q))).await;
    assert_eq!(
        stock_error(e),
        StockError::Insufficient {
            sku: sku("TEE"),
            requested: u64::from(u32::MAX),
            available: 20
        }
    );
}

#[tokio::test]
async fn place_order_two_lines_of_u32_max_do_not_overflow() {
    let w = world().await;
    let c = on_terms(&w).await;
    let q = i64::from(u32::MAX);
    let cmd = web("k", &c).line(sku("TEE"), q).line(sku("TEE"), q);
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        stock_error(e),
        StockError::Insufficient {
            sku: sku("TEE"),
            requested: 2 * u64::from(u32::MAX),
            available: 20
        }
    );
}

// ---------------------------------------------------------------------------
// place_order: catalogue, customer, delivery
// ---------------------------------------------------------------------------

#[tokio::test]
async fn place_order_unknown_sku() {
    let w = world().await;
    let c = on_terms(&w).await;
    let cmd = web("k", &c).line(sku("TEE"), 1).line(sku("NOPE"), 1);
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(order_error(e), OrderError::UnknownSku(sku("NOPE")));
}

#[tokio::test]
async fn place_order_inactive_sku() {
    let w = world().await;
    let c = on_terms(&w).await;
    let mut p = Product::new(
        sku("RETIRED"),
        "retired",
        usd(dec!(3.00)),
        usd(dec!(1.00)),
        TaxClass::standard(),
    );
    p.active = false;
    w.oms.save_product(p).await.unwrap();
    w.oms
        .receive_stock(
            ReceiveStock::new(key("r-retired"), sku("RETIRED"), loc(EAST), 4)
                .with_reference("left over".into()),
        )
        .await
        .unwrap();
    let e = refused(&w, w.oms.place_order(web("k", &c).line(sku("RETIRED"), 1))).await;
    assert_eq!(order_error(e), OrderError::InactiveSku(sku("RETIRED")));
}

#[tokio::test]
async fn place_order_catalogue_price_in_another_currency() {
    let w = world().await;
    let c = on_terms(&w).await;
    w.oms
        .save_product(Product::new(
            sku("EUROTEE"),
            "euro tee",
            eur(dec!(18.00)),
            usd(dec!(7.00)),
            TaxClass::standard(),
        ))
        .await
        .unwrap();
    let e = refused(&w, w.oms.place_order(web("k", &c).line(sku("EUROTEE"), 1))).await;
    assert_eq!(
        order_error(e),
        OrderError::CurrencyMismatch {
            expected: Currency::USD,
            found: Currency::EUR
        }
    );
}

#[tokio::test]
async fn place_order_unknown_customer() {
    let w = world().await;
    let ghost: CustomerId = NO_SUCH_ID.parse().unwrap();
    let cmd = PlaceOrder::new(key("k"), ghost, o2c::order::Channel::Web, Currency::USD)
        .line(sku("TEE"), 1);
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(not_found(e), ("customer", NO_SUCH_ID.to_owned(), false));
}

#[tokio::test]
async fn place_order_unknown_pickup_location() {
    let w = world().await;
    let c = on_terms(&w).await;
    let cmd = web("k", &c).line(sku("TEE"), 1).deliver(Delivery::Pickup {
        location: loc("NOWHERE"),
    });
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(not_found(e), ("location", "NOWHERE".to_owned(), false));
}

#[tokio::test]
async fn place_order_in_another_currency_than_the_customer() {
    let w = world().await;
    let c = on_terms(&w).await;
    let cmd = PlaceOrder::new(key("k"), c.id, o2c::order::Channel::Web, Currency::EUR)
        .line(sku("TEE"), 1);
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::CurrencyMismatch {
            expected: Currency::USD,
            found: Currency::EUR
        }
    );
}

#[tokio::test]
async fn place_order_explicit_price_in_another_currency() {
    let w = world().await;
    let c = on_terms(&w).await;
    let cmd = web("k", &c).priced_line(sku("TEE"), 1, eur(dec!(19.00)));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::CurrencyMismatch {
            expected: Currency::USD,
            found: Currency::EUR
        }
    );
}

#[tokio::test]
async fn place_order_negative_explicit_price() {
    let w = world().await;
    let c = on_terms(&w).await;
    let cmd = web("k", &c)
        .line(sku("MUG"), 1)
        .priced_line(sku("TEE"), 1, usd(dec!(-0.01)));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(order_error(e), OrderError::NegativePrice { line: 2 });
}

#[tokio::test]
async fn place_order_line_amount_overflow() {
    let w = world().await;
    let c = on_terms(&w).await;
    let near_max = Decimal::MAX / Decimal::TWO;
    let cmd = web("k", &c).priced_line(sku("TEE"), 3, usd(near_max));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::Money(MoneyError::Overflow {
            operation: "mul_qty"
        })
    );
}

#[tokio::test]
async fn place_order_total_overflow() {
    // Each line fits; the order's total (net + tax, or the sum of the lines) does not.
    let w = world().await;
    let c = on_terms(&w).await;
    let cmd = web("k", &c).priced_line(sku("TEE"), 1, usd(Decimal::MAX));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert!(
        matches!(e, Error::Money(MoneyError::Overflow { operation: "add" })),
        "{e:?}"
    );
    let half = Decimal::MAX / Decimal::TWO + Decimal::ONE;
    let cmd = web("k", &c)
        .priced_line(sku("TEE"), 1, usd(half))
        .priced_line(sku("MUG"), 1, usd(half));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert!(
        matches!(e, Error::Money(MoneyError::Overflow { operation: "add" })),
        "{e:?}"
    );
}

#[tokio::test]
async fn place_order_empty() {
    let w = world().await;
    let c = on_terms(&w).await;
    let e = refused(&w, w.oms.place_order(web("k", &c))).await;
    assert_eq!(order_error(e), OrderError::Empty);
}

#[tokio::test]
async fn place_order_too_many_lines() {
    let w = world().await;
    let c = on_terms(&w).await;
    let mut cmd = web("k", &c);
    for _ in 0..=MAX_LINES {
        cmd = cmd.line(sku("TEE"), 1);
    }
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::TooManyLines {
            max: MAX_LINES,
            got: MAX_LINES + 1
        }
    );
}

#[tokio::test]
async fn place_order_no_ship_to_address() {
    let w = world().await;
    let mut profile = NewCustomer::new(
        "Homeless",
        "h@example.com",
        us_address("Homeless"),
        Currency::USD,
    );
    profile.addresses.clear();
    profile.terms = PaymentTerms::Net { days: 30 };
    let c = w
        .oms
        .register_customer(profile, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let e = refused(&w, w.oms.place_order(web("k", &c).line(sku("TEE"), 1))).await;
    assert_eq!(order_error(e), OrderError::NoShipToAddress);
}

#[tokio::test]
async fn place_order_invalid_ship_to_country() {
    let w = world().await;
    let c = on_terms(&w).await;
    for country in ["usa", "us", "", "U", "ÜS"] {
        let mut address = us_address("Bea");
        address.country = country.into();
        let cmd = web("k", &c).line(sku("TEE"), 1).deliver(Delivery::Ship {
            address: address.into(),
            service: ServiceLevel::Standard,
        });
        let e = refused(&w, w.oms.place_order(cmd)).await;
        assert_eq!(
            order_error(e),
            OrderError::InvalidCountry(country.to_owned()),
            "country {country:?}"
        );
    }
}

#[tokio::test]
async fn place_order_missing_tax_rate_for_a_class() {
    let w = world().await;
    let c = on_terms(&w).await;
    w.oms
        .set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, dec!(0.10)))
        .await
        .unwrap();
    let cmd = web("k", &c).line(sku("TEE"), 1).line(sku("BOOK"), 1);
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::NoTaxRate {
            class: TaxClass::new("reduced"),
            country: "US".to_owned()
        }
    );
}

// ---------------------------------------------------------------------------
// place_order: discounts and shipping
// ---------------------------------------------------------------------------

#[tokio::test]
async fn place_order_line_discount_over_100_percent() {
    let w = world().await;
    let c = on_terms(&w).await;
    let mut cmd = web("k", &c).line(sku("TEE"), 1);
    cmd.lines[0].discount = Some(Discount::Percent(dec!(100.01)));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidDiscount {
            line: Some(1),
            reason: "percentage must be between 0 and 100"
        }
    );
}

#[tokio::test]
async fn place_order_negative_line_discounts() {
    let w = world().await;
    let c = on_terms(&w).await;
    let mut cmd = web("k", &c).line(sku("TEE"), 1);
    cmd.lines[0].discount = Some(Discount::Percent(dec!(-5)));
    let e = refused(&w, w.oms.place_order(cmd.clone())).await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidDiscount {
            line: Some(1),
            reason: "percentage must be between 0 and 100"
        }
    );
    cmd.lines[0].discount = Some(Discount::Amount(usd(dec!(-1.00))));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidDiscount {
            line: Some(1),
            reason: "amount must not be negative"
        }
    );
}

#[tokio::test]
async fn place_order_line_discount_larger_than_line() {
    let w = world().await;
    let c = on_terms(&w).await;
    // 2 × 20.00 = 40.00; 40.01 off is too much.
    let mut cmd = web("k", &c).line(sku("MUG"), 1).line(sku("TEE"), 2);
    cmd.lines[1].discount = Some(Discount::Amount(usd(dec!(40.01))));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidDiscount {
            line: Some(2),
            reason: "larger than the amount it discounts"
        }
    );
}

#[tokio::test]
async fn place_order_discount_in_another_currency_or_sub_cent() {
    let w = world().await;
    let c = on_terms(&w).await;
    let mut cmd = web("k", &c).line(sku("TEE"), 1);
    cmd.lines[0].discount = Some(Discount::Amount(eur(dec!(1.00))));
    let e = refused(&w, w.oms.place_order(cmd.clone())).await;
    assert_eq!(
        order_error(e),
        OrderError::CurrencyMismatch {
            expected: Currency::USD,
            found: Currency::EUR
        }
    );
    cmd.lines[0].discount = Some(Discount::Amount(usd(dec!(1.005))));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidDiscount {
            line: Some(1),
            reason: "amount has more decimals than the currency allows"
        }
    );
}

#[tokio::test]
async fn place_order_order_discount_out_of_range() {
    let w = world().await;
    let c = on_terms(&w).await;
    let base = web("k", &c).line(sku("TEE"), 1).line(sku("MUG"), 1); // net 32.50
    let cases = [
        (
            Discount::Percent(dec!(101)),
            "percentage must be between 0 and 100",
        ),
        (
            Discount::Percent(dec!(-0.5)),
            "percentage must be between 0 and 100",
        ),
        (
            Discount::Amount(usd(dec!(-2))),
            "amount must not be negative",
        ),
        (
            Discount::Amount(usd(dec!(32.51))),
            "larger than the amount it discounts",
        ),
    ];
    for (discount, reason) in cases {
        let e = refused(&w, w.oms.place_order(base.clone().discount(discount))).await;
        assert_eq!(
            order_error(e),
            OrderError::InvalidDiscount { line: None, reason },
            "order discount {discount:?}"
        );
    }
}

#[tokio::test]
async fn place_order_order_discount_on_fully_discounted_lines() {
    // The lines are already free: any positive order discount exceeds what is left.
    let w = world().await;
    let c = on_terms(&w).await;
    let mut cmd = web("k", &c)
        .line(sku("TEE"), 1)
        .discount(Discount::Amount(usd(dec!(0.01))));
    cmd.lines[0].discount = Some(Discount::Percent(dec!(100)));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidDiscount {
            line: None,
            reason: "larger than the amount it discounts"
        }
    );
}

#[tokio::test]
async fn place_order_negative_shipping_charge() {
    let w = world().await;
    let c = on_terms(&w).await;
    let cmd = web("k", &c).line(sku("TEE"), 1).shipping(usd(dec!(-4.99)));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(order_error(e), OrderError::NegativeShipping);
}

#[tokio::test]
async fn place_order_shipping_charge_in_another_currency() {
    let w = world().await;
    let c = on_terms(&w).await;
    let cmd = web("k", &c).line(sku("TEE"), 1).shipping(eur(dec!(4.99)));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::CurrencyMismatch {
            expected: Currency::USD,
            found: Currency::EUR
        }
    );
}

#[tokio::test]
async fn place_order_sub_cent_shipping_charge_is_not_called_negative() {
    let w = world().await;
    let c = on_terms(&w).await;
    let cmd = web("k", &c).line(sku("TEE"), 1).shipping(usd(dec!(4.999)));
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        order_error(e),
        OrderError::Money(MoneyError::NotInMinorUnits {
            amount: dec!(4.999),
            currency: Currency::USD
        })
    );
}

// ---------------------------------------------------------------------------
// place_order: stock
// ---------------------------------------------------------------------------

#[tokio::test]
async fn place_order_insufficient_stock_over_all_fulfilling_locations() {
    // TEE: 10 EAST + 10 WEST; the store's 5 only serve pickup.
    let w = world().await;
    let c = on_terms(&w).await;
    let cmd = web("k", &c)
        .line(sku("MUG"), 1)
        .line(sku("TEE"), 15)
        .line(sku("TEE"), 6);
    let e = refused(&w, w.oms.place_order(cmd)).await;
    assert_eq!(
        stock_error(e),
        StockError::Insufficient {
            sku: sku("TEE"),
            requested: 21,
            available: 20
        }
    );
}

#[tokio::test]
async fn place_order_insufficient_counts_what_others_reserved() {
    let w = world().await;
    let c = on_terms(&w).await;
    w.oms
        .place_order(web("first", &c).line(sku("BOOK"), 5))
        .await
        .unwrap();
    let e = refused(
        &w,
        w.oms.place_order(web("second", &c).line(sku("BOOK"), 4)),
    )
    .await;
    assert_eq!(
        stock_error(e),
        StockError::Insufficient {
            sku: sku("BOOK"),
            requested: 4,
            available: 3
        }
    );
}

#[tokio::test]
async fn place_order_pickup_store_lacks_stock() {
    // The warehouses have plenty, but a pickup is served by its store alone.
    let w = world().await;
    let c = on_terms(&w).await;
    let pickup = Delivery::Pickup {
        location: loc(STORE),
    };
    let e = refused(
        &w,
        w.oms
            .place_order(web("k", &c).line(sku("TEE"), 6).deliver(pickup.clone())),
    )
    .await;
    assert_eq!(
        stock_error(e),
        StockError::Insufficient {
            sku: sku("TEE"),
            requested: 6,
            available: 5
        }
    );
    let e = refused(
        &w,
        w.oms
            .place_order(web("k", &c).line(sku("BOOK"), 1).deliver(pickup)),
    )
    .await;
    assert_eq!(
        stock_error(e),
        StockError::Insufficient {
            sku: sku("BOOK"),
            requested: 1,
            available: 0
        }
    );
}

// ---------------------------------------------------------------------------
// place_order: idempotency
// ---------------------------------------------------------------------------

#[tokio::test]
async fn place_order_same_key_other_content_is_refused() {
    let w = world().await;
    let c = on_terms(&w).await;
    let other = customer(&w, "Cy", PaymentTerms::Net { days: 30 }, None).await;
    w.oms
        .place_order(web("dup", &c).line(sku("TEE"), 1))
        .await
        .unwrap();
    let variants = [
        web("dup", &c).line(sku("TEE"), 2),
        web("dup", &c).line(sku("MUG"), 1),
        web("dup", &other).line(sku("TEE"), 1),
        web("dup", &c).line(sku("TEE"), 1).shipping(usd(dec!(1.00))),
    ];
    for cmd in variants {
        let e = refused(&w, w.oms.place_order(cmd.clone())).await;
        match e {
            Error::IdempotencyKeyReused { scope, key: k } => {
                assert_eq!(scope, IdempotencyScope::PlaceOrder, "{cmd:?}");
                assert_eq!(k, key("dup"));
            }
            other => panic!("expected IdempotencyKeyReused for {cmd:?}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn place_order_same_key_same_content_returns_the_same_order() {
    let w = world().await;
    let c = prepaid(&w).await;
    let cmd = web("same", &c).line(sku("TEE"), 2).line(sku("MUG"), 1);
    let first = w.oms.place_order(cmd.clone()).await.unwrap();
    for _ in 0..3 {
        let again = replayed(&w, w.oms.place_order(cmd.clone())).await;
        assert_eq!(again.value, first.value);
    }
    assert_eq!(w.oms.customer_orders(c.id).await.unwrap().len(), 1);
    assert_eq!(w.oms.customer(c.id).await.unwrap().history.orders_placed, 1);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn place_order_same_amounts_at_another_scale_are_the_same_content() {
    // 5.0 and 5.00 are the same money (`Money` and the commands compare equal), so the
    // retry is a replay, not a reused key.
    let w = world().await;
    let c = on_terms(&w).await;
    let mut first = web("scale", &c)
        .priced_line(sku("TEE"), 1, usd(dec!(19.9)))
        .shipping(usd(dec!(5.0)))
        .discount(Discount::Percent(dec!(10)));
    first.lines[0].discount = Some(Discount::Amount(usd(dec!(1.0))));
    let mut retry = web("scale", &c)
        .priced_line(sku("TEE"), 1, usd(dec!(19.900)))
        .shipping(usd(dec!(5.00)))
        .discount(Discount::Percent(dec!(10.0)));
    retry.lines[0].discount = Some(Discount::Amount(usd(dec!(1.00))));
    assert_eq!(first, retry);
    let order = w.oms.place_order(first).await.unwrap();
    let again = replayed(&w, w.oms.place_order(retry)).await;
    assert_eq!(again.id, order.id);
}

#[tokio::test]
async fn record_payment_same_amount_at_another_scale_is_the_same_content() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    let first = RecordPayment::new(
        key("p"),
        order.invoices[0],
        usd(dec!(10.5)),
        PaymentMethod::Card,
    );
    let retry = first.clone().with_amount(usd(dec!(10.50)));
    assert_eq!(first, retry);
    let payment = w.oms.record_payment(first).await.unwrap();
    let again = replayed(&w, w.oms.record_payment(retry)).await;
    assert_eq!(again.value, payment.value);
}

#[tokio::test]
async fn place_order_replay_after_the_order_moved_on_returns_its_current_state() {
    let w = world().await;
    let c = prepaid(&w).await;
    let cmd = web("same", &c).line(sku("TEE"), 1);
    let first = w.oms.place_order(cmd.clone()).await.unwrap();
    w.oms
        .cancel_order(
            first.id,
            "changed mind",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    let again = replayed(&w, w.oms.place_order(cmd)).await;
    assert_eq!(again.id, first.id);
    assert_eq!(again.status, OrderStatus::Cancelled);
}

// ---------------------------------------------------------------------------
// Payments
// ---------------------------------------------------------------------------

#[tokio::test]
async fn pay_a_cancelled_orders_invoice() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    w.oms
        .cancel_order(order.id, "oops", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let cmd = RecordPayment::new(
        key("p"),
        order.invoices[0],
        usd(dec!(44.00)),
        PaymentMethod::Card,
    );
    let e = refused(&w, w.oms.record_payment(cmd)).await;
    // The order's status is checked before the invoice's: a cancelled order takes no money.
    assert_eq!(
        order_error(e),
        OrderError::InvalidTransition {
            from: OrderStatus::Cancelled,
            action: OrderAction::RecordPayment
        }
    );
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(invoice.status, o2c::ledger::InvoiceStatus::Void);
}

#[tokio::test]
async fn pay_zero_or_negative() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    for amount in [dec!(0), dec!(0.00), dec!(-5.00)] {
        let cmd = RecordPayment::new(
            key("p"),
            order.invoices[0],
            usd(amount),
            PaymentMethod::Card,
        );
        let e = refused(&w, w.oms.record_payment(cmd)).await;
        assert_eq!(payment_error(e), PaymentError::NotPositive(usd(amount)));
    }
}

#[tokio::test]
async fn pay_in_the_wrong_currency() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    let cmd = RecordPayment::new(
        key("p"),
        order.invoices[0],
        eur(dec!(44.00)),
        PaymentMethod::Card,
    );
    let e = refused(&w, w.oms.record_payment(cmd)).await;
    assert_eq!(
        payment_error(e),
        PaymentError::CurrencyMismatch {
            expected: Currency::USD,
            found: Currency::EUR
        }
    );
}

#[tokio::test]
async fn pay_a_sub_cent_amount() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    let cmd = RecordPayment::new(
        key("p"),
        order.invoices[0],
        usd(dec!(1.001)),
        PaymentMethod::Card,
    );
    let e = refused(&w, w.oms.record_payment(cmd)).await;
    assert_eq!(
        payment_error(e),
        PaymentError::NotInMinorUnits(usd(dec!(1.001)))
    );
}

#[tokio::test]
async fn pay_an_unknown_invoice() {
    let w = world().await;
    prepaid_order(&w).await;
    let ghost: InvoiceId = NO_SUCH_ID.parse().unwrap();
    let cmd = RecordPayment::new(key("p"), ghost, usd(dec!(1.00)), PaymentMethod::Card);
    let e = refused(&w, w.oms.record_payment(cmd)).await;
    assert_eq!(not_found(e), ("invoice", NO_SUCH_ID.to_owned(), true));
}

#[tokio::test]
async fn pay_more_than_outstanding_under_reject() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    w.oms
        .record_payment(RecordPayment::new(
            key("p1"),
            order.invoices[0],
            usd(dec!(40.00)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    let cmd = RecordPayment::new(
        key("p2"),
        order.invoices[0],
        usd(dec!(4.01)),
        PaymentMethod::Card,
    );
    let e = refused(&w, w.oms.record_payment(cmd)).await;
    assert_eq!(
        payment_error(e),
        PaymentError::Overpayment {
            outstanding: usd(dec!(4.00)),
            offered: usd(dec!(4.01))
        }
    );
}

#[tokio::test]
async fn pay_an_invoice_already_paid() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    pay_in_full(&w, &order, "p1").await;
    let mut cmd = RecordPayment::new(
        key("p2"),
        order.invoices[0],
        usd(dec!(1.00)),
        PaymentMethod::Card,
    );
    cmd.overpayment = OverpaymentPolicy::CreditCustomer;
    let e = refused(&w, w.oms.record_payment(cmd)).await;
    assert_eq!(
        payment_error(e),
        PaymentError::AlreadyPaid(order.invoices[0])
    );
}

#[tokio::test]
async fn pay_with_a_reused_key_and_other_content() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    let first = RecordPayment::new(
        key("p"),
        order.invoices[0],
        usd(dec!(10.00)),
        PaymentMethod::Card,
    );
    let payment = w.oms.record_payment(first.clone()).await.unwrap();
    let mut other = first.clone();
    other.amount = usd(dec!(11.00));
    let e = refused(&w, w.oms.record_payment(other)).await;
    assert!(
        matches!(&e, Error::IdempotencyKeyReused { scope: IdempotencyScope::RecordPayment, key: k } if *k == key("p")),
        "{e:?}"
    );
    // The same payment again is recorded once.
    let again = replayed(&w, w.oms.record_payment(first)).await;
    assert_eq!(again.value, payment.value);
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(invoice.paid, usd(dec!(10.00)));
}

// ---------------------------------------------------------------------------
// Shipping and tracking
// ---------------------------------------------------------------------------

#[tokio::test]
async fn ship_an_unpaid_prepaid_order() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    let e = refused(
        &w,
        w.oms.ship(order.id, o2c::ids::IdempotencyKey::generate()),
    )
    .await;
    assert_eq!(
        order_error(e),
        OrderError::OnHold {
            holds: vec![Hold::AwaitingPayment]
        }
    );
}

#[tokio::test]
async fn ship_a_partly_paid_prepaid_order() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    w.oms
        .record_payment(RecordPayment::new(
            key("p1"),
            order.invoices[0],
            usd(dec!(43.99)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    let e = refused(
        &w,
        w.oms.ship(order.id, o2c::ids::IdempotencyKey::generate()),
    )
    .await;
    assert_eq!(
        order_error(e),
        OrderError::OnHold {
            holds: vec![Hold::AwaitingPayment]
        }
    );
}

#[tokio::test]
async fn ship_an_unknown_order() {
    let w = world().await;
    let ghost: OrderId = NO_SUCH_ID.parse().unwrap();
    let e = refused(&w, w.oms.ship(ghost, o2c::ids::IdempotencyKey::generate())).await;
    assert_eq!(not_found(e), ("order", NO_SUCH_ID.to_owned(), true));
}

#[tokio::test]
async fn ship_twice() {
    let w = world().await;
    let c = on_terms(&w).await;
    let order = w
        .oms
        .place_order(web("k", &c).line(sku("TEE"), 1))
        .await
        .unwrap();
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let e = refused(
        &w,
        w.oms.ship(order.id, o2c::ids::IdempotencyKey::generate()),
    )
    .await;
    assert_eq!(order_error(e), OrderError::NothingToShip);
}

#[tokio::test]
async fn ship_a_cancelled_order() {
    let w = world().await;
    let c = on_terms(&w).await;
    let order = w
        .oms
        .place_order(web("k", &c).line(sku("TEE"), 1))
        .await
        .unwrap();
    w.oms
        .cancel_order(order.id, "no", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let e = refused(
        &w,
        w.oms.ship(order.id, o2c::ids::IdempotencyKey::generate()),
    )
    .await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidTransition {
            from: OrderStatus::Cancelled,
            action: OrderAction::Ship
        }
    );
}

#[tokio::test]
async fn ship_a_manually_held_order() {
    let w = world().await;
    let c = on_terms(&w).await;
    let order = w
        .oms
        .place_order(web("k", &c).line(sku("TEE"), 1))
        .await
        .unwrap();
    w.oms
        .hold_order(
            order.id,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    let e = refused(
        &w,
        w.oms.ship(order.id, o2c::ids::IdempotencyKey::generate()),
    )
    .await;
    assert_eq!(
        order_error(e),
        OrderError::OnHold {
            holds: vec![Hold::ManualReview]
        }
    );
}

#[tokio::test]
async fn ship_too_heavy_for_any_carrier() {
    let w = world().await;
    let c = on_terms(&w).await;
    w.oms
        .receive_stock(
            ReceiveStock::new(key("r"), sku("TEE"), loc(EAST), 200)
                .with_reference("big delivery".into()),
        )
        .await
        .unwrap();
    // 160 × 200 g = 32 kg: above the heaviest band (30 kg).
    let order = w
        .oms
        .place_order(web("k", &c).line(sku("TEE"), 160))
        .await
        .unwrap();
    let e = refused(
        &w,
        w.oms.ship(order.id, o2c::ids::IdempotencyKey::generate()),
    )
    .await;
    assert!(
        matches!(e, Error::Carrier(CarrierError::NoService { .. })),
        "{e:?}"
    );
}

#[tokio::test]
async fn ship_fails_on_the_second_parcel_and_writes_nothing() {
    // EAST (first in code order) ships a light parcel that books fine; WEST's parcel
    // is too heavy. Nothing of the first parcel may reach the store.
    let w = world().await;
    let c = on_terms(&w).await;
    w.oms
        .receive_stock(
            ReceiveStock::new(key("r"), sku("TEE"), loc(WEST), 195)
                .with_reference("big delivery".into()),
        )
        .await
        .unwrap();
    // Neither site covers 215 alone: EAST 10 (2 kg), WEST 205 (41 kg).
    let order = w
        .oms
        .place_order(web("k", &c).line(sku("TEE"), 215))
        .await
        .unwrap();
    assert_eq!(order.lines[0].reservations.len(), 2, "{order:?}");
    let e = refused(
        &w,
        w.oms.ship(order.id, o2c::ids::IdempotencyKey::generate()),
    )
    .await;
    assert!(
        matches!(e, Error::Carrier(CarrierError::NoService { .. })),
        "{e:?}"
    );
}

#[tokio::test]
async fn record_tracking_for_an_unknown_shipment() {
    let w = world().await;
    let ghost: ShipmentId = NO_SUCH_ID.parse().unwrap();
    let e = refused(&w, w.oms.record_tracking(ghost, delivered())).await;
    assert_eq!(not_found(e), ("shipment", NO_SUCH_ID.to_owned(), true));
}

// ---------------------------------------------------------------------------
// Holds and cancellation
// ---------------------------------------------------------------------------

#[tokio::test]
async fn release_a_hold_the_order_does_not_have() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    let e = refused(
        &w,
        w.oms.release_hold(
            order.id,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        ),
    )
    .await;
    assert_eq!(order_error(e), OrderError::HoldNotFound(Hold::ManualReview));
}

#[tokio::test]
async fn hold_release_or_cancel_a_cancelled_order() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    w.oms
        .cancel_order(order.id, "no", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let e = refused(
        &w,
        w.oms.hold_order(
            order.id,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        ),
    )
    .await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidTransition {
            from: OrderStatus::Cancelled,
            action: OrderAction::Hold
        }
    );
    let e = refused(
        &w,
        w.oms.release_hold(
            order.id,
            Hold::AwaitingPayment,
            o2c::ids::IdempotencyKey::generate(),
        ),
    )
    .await;
    assert_eq!(
        order_error(e),
        OrderError::HoldNotFound(Hold::AwaitingPayment)
    );
    let e = refused(
        &w,
        w.oms
            .cancel_order(order.id, "again", o2c::ids::IdempotencyKey::generate()),
    )
    .await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidTransition {
            from: OrderStatus::Cancelled,
            action: OrderAction::Cancel
        }
    );
}

#[tokio::test]
async fn cancel_a_shipped_order() {
    let w = world().await;
    let c = on_terms(&w).await;
    let order = w
        .oms
        .place_order(web("k", &c).line(sku("TEE"), 1))
        .await
        .unwrap();
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    // Everything shipped: nothing is left to cancel.
    let e = refused(
        &w,
        w.oms
            .cancel_order(order.id, "too late", o2c::ids::IdempotencyKey::generate()),
    )
    .await;
    assert_eq!(order_error(e), OrderError::NothingToCancel);
}

#[tokio::test]
async fn cancel_or_hold_a_completed_order() {
    let w = world().await;
    let order = prepaid_order(&w).await;
    pay_in_full(&w, &order, "p").await;
    for s in w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
    {
        w.oms.record_tracking(s.id, delivered()).await.unwrap();
    }
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Completed
    );
    let e = refused(
        &w,
        w.oms
            .cancel_order(order.id, "no", o2c::ids::IdempotencyKey::generate()),
    )
    .await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidTransition {
            from: OrderStatus::Completed,
            action: OrderAction::Cancel
        }
    );
    let e = refused(
        &w,
        w.oms.hold_order(
            order.id,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        ),
    )
    .await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidTransition {
            from: OrderStatus::Completed,
            action: OrderAction::Hold
        }
    );
    let e = refused(
        &w,
        w.oms.ship(order.id, o2c::ids::IdempotencyKey::generate()),
    )
    .await;
    assert_eq!(
        order_error(e),
        OrderError::InvalidTransition {
            from: OrderStatus::Completed,
            action: OrderAction::Ship
        }
    );
}

#[tokio::test]
async fn cancel_an_unknown_order() {
    let w = world().await;
    let ghost: OrderId = NO_SUCH_ID.parse().unwrap();
    let e = refused(
        &w,
        w.oms
            .cancel_order(ghost, "?", o2c::ids::IdempotencyKey::generate()),
    )
    .await;
    assert_eq!(not_found(e), ("order", NO_SUCH_ID.to_owned(), true));
    let e = refused(
        &w,
        w.oms.hold_order(
            ghost,
            Hold::ManualReview,
            o2c::ids::IdempotencyKey::generate(),
        ),
    )
    .await;
    assert_eq!(not_found(e), ("order", NO_SUCH_ID.to_owned(), true));
}

// ---------------------------------------------------------------------------
// Stock
// ---------------------------------------------------------------------------

fn receipt(k: &str, code: &str, at: &str, quantity: i64) -> ReceiveStock {
    ReceiveStock::new(key(k), sku(code), loc(at), quantity).with_reference("delivery note".into())
}

fn adjustment(k: &str, code: &str, at: &str, delta: i64) -> AdjustStock {
    AdjustStock::new(key(k), sku(code), loc(at), delta, "count")
}

#[tokio::test]
async fn receive_stock_non_positive_or_huge_quantity() {
    let w = world().await;
    for q in [0, -1, i64::MIN, i64::from(u32::MAX) + 1, i64::MAX] {
        let e = refused(&w, w.oms.receive_stock(receipt("r", "TEE", EAST, q))).await;
        assert_eq!(invalid_field(e), "quantity", "quantity {q}");
    }
}

#[tokio::test]
async fn receive_stock_unknown_sku_or_location() {
    let w = world().await;
    let e = refused(&w, w.oms.receive_stock(receipt("r", "NOPE", EAST, 1))).await;
    assert_eq!(not_found(e), ("product", "NOPE".to_owned(), false));
    let e = refused(&w, w.oms.receive_stock(receipt("r", "TEE", "NOWHERE", 1))).await;
    assert_eq!(not_found(e), ("location", "NOWHERE".to_owned(), false));
}

#[tokio::test]
async fn receive_stock_key_reuse() {
    let w = world().await;
    let first = w
        .oms
        .receive_stock(receipt("r", "TEE", EAST, 3))
        .await
        .unwrap();
    assert_eq!(first.on_hand, 13);
    let e = refused(&w, w.oms.receive_stock(receipt("r", "TEE", EAST, 4))).await;
    assert!(
        matches!(&e, Error::IdempotencyKeyReused { scope: IdempotencyScope::ReceiveStock, key: k } if *k == key("r")),
        "{e:?}"
    );
    let again = replayed(&w, w.oms.receive_stock(receipt("r", "TEE", EAST, 3))).await;
    assert_eq!(again.on_hand, 13);
}

#[tokio::test]
async fn adjust_stock_below_reserved() {
    let w = world().await;
    let c = on_terms(&w).await;
    w.oms
        .place_order(web("k", &c).line(sku("TEE"), 2))
        .await
        .unwrap();
    let level = w.oms.stock_level(&sku("TEE"), &loc(EAST)).await.unwrap();
    assert_eq!((level.on_hand, level.reserved), (10, 2));
    let e = refused(&w, w.oms.adjust_stock(adjustment("a", "TEE", EAST, -9))).await;
    assert_eq!(
        stock_error(e),
        StockError::BelowReserved {
            sku: sku("TEE"),
            location: loc(EAST),
            on_hand: 10,
            reserved: 2,
            delta: -9
        }
    );
    // Exactly down to reserved is fine.
    w.oms
        .adjust_stock(adjustment("a", "TEE", EAST, -8))
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn adjust_stock_below_zero() {
    let w = world().await;
    let e = refused(&w, w.oms.adjust_stock(adjustment("a", "BOOK", EAST, -1))).await;
    assert_eq!(
        stock_error(e),
        StockError::BelowReserved {
            sku: sku("BOOK"),
            location: loc(EAST),
            on_hand: 0,
            reserved: 0,
            delta: -1
        }
    );
    let e = refused(
        &w,
        w.oms.adjust_stock(adjustment("a", "TEE", EAST, i64::MIN)),
    )
    .await;
    assert!(
        matches!(
            e,
            Error::Stock(StockError::BelowReserved { .. }) | Error::Invalid { field: "delta", .. }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn adjust_stock_zero_delta() {
    let w = world().await;
    let e = refused(&w, w.oms.adjust_stock(adjustment("a", "TEE", EAST, 0))).await;
    assert_eq!(stock_error(e), StockError::ZeroChange);
}

#[tokio::test]
async fn adjust_stock_huge_delta_is_refused_not_retried() {
    // On-hand would overflow: a request that can never succeed must not be reported as
    // contention ("retry later").
    let w = world().await;
    let e = refused(
        &w,
        w.oms.adjust_stock(adjustment("a", "TEE", EAST, i64::MAX)),
    )
    .await;
    assert!(matches!(e, Error::Invalid { field: "delta", .. }), "{e:?}");
}

#[tokio::test]
async fn adjust_stock_unknown_sku_or_location() {
    let w = world().await;
    let e = refused(&w, w.oms.adjust_stock(adjustment("a", "NOPE", EAST, 1))).await;
    assert_eq!(not_found(e), ("product", "NOPE".to_owned(), false));
    let e = refused(&w, w.oms.adjust_stock(adjustment("a", "TEE", "NOWHERE", 1))).await;
    assert_eq!(not_found(e), ("location", "NOWHERE".to_owned(), false));
}

#[tokio::test]
async fn adjust_stock_key_reuse() {
    let w = world().await;
    w.oms
        .adjust_stock(adjustment("a", "TEE", EAST, -1))
        .await
        .unwrap();
    let e = refused(&w, w.oms.adjust_stock(adjustment("a", "TEE", EAST, -2))).await;
    assert!(
        matches!(&e, Error::IdempotencyKeyReused { scope: IdempotencyScope::AdjustStock, key: k } if *k == key("a")),
        "{e:?}"
    );
    let level = replayed(&w, w.oms.adjust_stock(adjustment("a", "TEE", EAST, -1))).await;
    assert_eq!(level.on_hand, 9);
}

// ---------------------------------------------------------------------------
// Master data
// ---------------------------------------------------------------------------

fn profile(name: &str) -> NewCustomer {
    NewCustomer::new(
        name,
        "someone@example.com",
        us_address("someone"),
        Currency::USD,
    )
}

#[tokio::test]
async fn register_customer_bad_profiles() {
    let w = world().await;
    let mut cases: Vec<(&str, NewCustomer, &str)> = Vec::new();
    cases.push(("empty name", profile(""), "name"));
    cases.push(("blank name", profile("  \t"), "name"));
    let mut p = profile("Al");
    p.email = "al.example.com".into();
    cases.push(("email without @", p, "email"));
    let mut p = profile("Al");
    p.addresses[0].country = "Germany".into();
    cases.push(("bad country", p, "address.country"));
    let mut p = profile("Al");
    p.addresses.push(Address::new("Al", "x", "y", "z", "gb"));
    cases.push(("bad second address", p, "address.country"));
    let mut p = profile("Al");
    p.credit_limit = Some(eur(dec!(1000)));
    cases.push(("credit limit in EUR", p, "credit_limit"));
    let mut p = profile("Al");
    p.credit_limit = Some(usd(dec!(-1)));
    cases.push(("negative credit limit", p, "credit_limit"));
    for (case, p, field) in cases {
        let e = refused(
            &w,
            w.oms
                .register_customer(p, o2c::ids::IdempotencyKey::generate()),
        )
        .await;
        assert_eq!(invalid_field(e), field, "case {case}");
    }
}

#[tokio::test]
async fn save_product_bad_prices() {
    let w = world().await;
    let product = |price: Money, cost: Money| {
        Product::new(sku("NEW"), "new", price, cost, TaxClass::standard())
    };
    let cases = [
        (
            "negative price",
            product(usd(dec!(-1)), usd(dec!(1))),
            "price",
        ),
        (
            "negative cost",
            product(usd(dec!(1)), usd(dec!(-1))),
            "cost",
        ),
        (
            "sub-cent cost",
            product(usd(dec!(1)), usd(dec!(0.001))),
            "cost",
        ),
    ];
    for (case, p, field) in cases {
        let e = refused(&w, w.oms.save_product(p)).await;
        assert_eq!(invalid_field(e), field, "case {case}");
    }
}

#[tokio::test]
async fn save_product_cost_currency_change_with_stock_on_hand() {
    let w = world().await;
    let mut tee = w.oms.product(&sku("TEE")).await.unwrap();
    tee.cost = eur(dec!(7.00));
    let e = refused(&w, w.oms.save_product(tee)).await;
    assert_eq!(invalid_field(e), "cost");
}

#[tokio::test]
async fn save_location_bad_country() {
    let w = world().await;
    let mut address = us_address("x");
    address.country = "XXX".into();
    let l = Location::new(loc("WH-BAD"), "bad", LocationKind::Warehouse, address, 9);
    let e = refused(&w, w.oms.save_location(l)).await;
    assert_eq!(invalid_field(e), "location.address.country");
}

#[tokio::test]
async fn set_tax_table_bad_rates() {
    let w = world().await;
    for rate in [dec!(1), dec!(1.5), dec!(-0.01)] {
        let table = TaxTable::new().with_rate(TaxClass::standard(), None, rate);
        let e = refused(&w, w.oms.set_tax_table(table)).await;
        assert_eq!(invalid_field(e), "tax rate", "rate {rate}");
    }
}

#[tokio::test]
async fn config_with_zero_attempts_or_unknown_account() {
    let w = world().await;
    let bad = OmsConfig::default().with_max_attempts(0);
    let oms = o2c::Oms::new(o2c::store::MemoryStore::new(), parcel_carrier());
    let e = oms.with_config(bad).unwrap_err();
    assert_eq!(invalid_field(e), "config.max_attempts");
    let mut bad = OmsConfig::default();
    bad.accounts.receivables = o2c::ledger::AccountCode::new("9999");
    let oms = o2c::Oms::new(o2c::store::MemoryStore::new(), parcel_carrier());
    let e = oms.with_config(bad).unwrap_err();
    assert_eq!(invalid_field(e), "config.accounts");
    assert_audit_clean(&w.oms).await;
}
