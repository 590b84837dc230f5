//! Regressions found by the malformed-input and model-based property tests
//! (`tests/malformed_input.rs`, `tests/model.rs`), each reduced to its smallest
//! reproduction, so a failure names the bug rather than a long random sequence.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::money::Currency;
use o2c::order::{Channel, PlaceOrder};
use o2c::quantity::Quantity;
use o2c::{IssueCreditNote, RecordPayment};

/// A credit note on an invoice that was paid turns the paid part into customer
/// credit: `credit_invoice` (src/ledger/credit.rs) lowers the invoice's `paid` by the
/// note's `to_customer_credit`, so the audit's check of an invoice's `paid` against
/// the payments applied to it (src/audit.rs) must allow for that part.
///
/// Found by `model.rs` as: place 6 × A (prepaid), pay a tenth, credit all 6 units.
#[tokio::test]
async fn crediting_a_paid_invoice_keeps_the_audit_clean() {
    let w = world().await;
    let c = customer(&w, "Pat", PaymentTerms::Prepaid, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 1),
        )
        .await
        .unwrap();
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    w.oms
        .record_payment(RecordPayment::new(
            key("pay"),
            invoice.id,
            invoice.total().unwrap(),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;

    let note = w
        .oms
        .issue_credit_note(
            IssueCreditNote::new(key("cn"), invoice.id, "goodwill")
                .with_lines(vec![(1, Quantity::new(1))]),
        )
        .await
        .unwrap();
    assert!(note.to_customer_credit.is_positive(), "{note:?}");
    assert_audit_clean(&w.oms).await;
}
