//! The audit finds what it claims to: a healthy store reports nothing, and each kind
//! of damage a bug (or a hand edit of the database) could do is reported as its own
//! violation, naming the record.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use o2c::audit::Violation;
use o2c::customer::{Customer, PaymentMethod, PaymentTerms};
use o2c::ids::EntryId;
use o2c::ledger::{AccountCode, ChartOfAccounts, EntryBuilder, EntrySource, Invoice, Payment};
use o2c::money::Currency;
use o2c::order::{Channel, Order, PlaceOrder};
use o2c::purchasing::{BackOrderPolicy, BackOrderQueue};
use o2c::stock::ReservationChange;
use o2c::store::{Changeset, Entity, Put, Store};
use o2c::{RecordPayment, RecordRefund};
use rust_decimal_macros::dec;

/// A small busy store: a paid prepaid order with a partial refund of an
/// overpayment, and an order on terms waiting for a back-ordered BOOK.
async fn busy() -> (World, Order, Order) {
    let w = world().await;
    let ada = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let acme = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let paid = w
        .oms
        .place_order(
            PlaceOrder::new(key("paid"), ada.id, Channel::Web, Currency::USD).line(sku("TEE"), 1),
        )
        .await
        .unwrap();
    let mut pay = RecordPayment::new(
        key("pay"),
        paid.invoices[0],
        usd(dec!(30.00)),
        PaymentMethod::Card,
    );
    pay.overpayment = o2c::ledger::OverpaymentPolicy::CreditCustomer;
    let payment = w.oms.record_payment(pay).await.unwrap();
    w.oms
        .record_refund(RecordRefund {
            idempotency_key: key("refund"),
            payment: payment.id,
            amount: usd(dec!(5.00)),
        })
        .await
        .unwrap();
    let waiting = w
        .oms
        .place_order(
            PlaceOrder::new(key("waiting"), acme.id, Channel::B2b, Currency::USD)
                .line(sku("BOOK"), 10)
                .back_order(BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    (w, paid, waiting)
}

/// Rewrites one stored record behind the service's back.
async fn tamper<E: Entity>(w: &World, key: &E::Key, change: impl FnOnce(&mut E)) {
    let stored = w.oms.store().load::<E>(key).await.unwrap().unwrap();
    let mut value = stored.value;
    change(&mut value);
    let mut changes = Changeset::new(start());
    changes.puts.push(Put::update(value, stored.version));
    w.oms.store().commit(changes).await.unwrap();
}

async fn violations(w: &World) -> Vec<Violation> {
    w.oms.audit().await.unwrap().violations
}

#[tokio::test]
async fn a_healthy_store_is_clean_and_the_report_says_what_was_checked() {
    let (w, _, _) = busy().await;
    let report = w.oms.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    assert_eq!(report.orders, 2);
    assert!(report.journal_entries > 0);
    assert!(report.stock_levels >= 7);
    assert_eq!(
        report.events,
        w.oms.store().last_event_sequence().await.unwrap()
    );
}

#[tokio::test]
async fn a_reservation_no_order_holds_is_reported() {
    let (w, _, _) = busy().await;
    let mut changes = Changeset::new(start());
    changes.reservations.push(ReservationChange {
        sku: sku("MUG"),
        location: loc(WEST),
        order: o2c::ids::OrderId::from_uuid(uuid::Uuid::from_u128(7)),
        quantity: 2,
    });
    w.oms.store().commit(changes).await.unwrap();
    let found = violations(&w).await;
    assert!(
        found.iter().any(|v| matches!(v,
            Violation::ReservedNotSumOfReservations { sku: s, reserved: 2, reservations: 0, .. }
                if *s == sku("MUG"))),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_posting_without_a_document_breaks_the_receivables_control() {
    let (w, _, _) = busy().await;
    let entry = EntryBuilder::new(
        "stray",
        EntrySource::Cancellation {
            order: o2c::ids::OrderId::from_uuid(uuid::Uuid::from_u128(8)),
        },
    )
    .debit(&AccountCode::new("1100"), usd(dec!(1.00)))
    .credit(&AccountCode::new("4000"), usd(dec!(1.00)))
    .build(
        EntryId::from_uuid(uuid::Uuid::from_u128(9)),
        start(),
        &ChartOfAccounts::default(),
    )
    .unwrap();
    let mut changes = Changeset::new(start());
    changes.journal.push(entry);
    w.oms.store().commit(changes).await.unwrap();
    let found = violations(&w).await;
    assert!(
        found.iter().any(|v| matches!(v,
            Violation::ControlAccountMismatch { account, .. } if account.as_str() == "1100")),
        "{found:?}"
    );
}

#[tokio::test]
async fn customer_figures_that_disagree_with_their_documents_are_reported() {
    let (w, paid, waiting) = busy().await;
    tamper::<Customer>(&w, &paid.customer, |c| {
        c.history.balance = usd(dec!(3.00));
    })
    .await;
    tamper::<Customer>(&w, &waiting.customer, |c| {
        c.history.uninvoiced = usd(dec!(1.00));
    })
    .await;
    let found = violations(&w).await;
    assert!(
        found.iter().any(|v| matches!(v,
            Violation::CustomerBalanceMismatch { customer, .. } if *customer == paid.customer)),
        "{found:?}"
    );
    assert!(
        found.iter().any(|v| matches!(v,
            Violation::ExpectedBillingMismatch { customer, .. } if *customer == waiting.customer)),
        "{found:?}"
    );
}

#[tokio::test]
async fn customer_credit_moved_between_customers_is_reported() {
    let (w, paid, waiting) = busy().await;
    // Ada overpaid 8.00 and had 5.00 refunded: 3.00 of credit. Moving 1.00 of it
    // to Acme keeps the customer-credit account's total, so only the check per
    // customer sees it.
    let ada = w.oms.customer(paid.customer).await.unwrap();
    assert_eq!(ada.history.credit, usd(dec!(3.00)));
    tamper::<Customer>(&w, &paid.customer, |c| {
        c.history.credit = usd(dec!(2.00));
    })
    .await;
    tamper::<Customer>(&w, &waiting.customer, |c| {
        c.history.credit = usd(dec!(1.00));
    })
    .await;
    let found = violations(&w).await;
    for who in [paid.customer, waiting.customer] {
        assert!(
            found.iter().any(|v| matches!(v,
                Violation::CustomerCreditMismatch { customer, .. } if *customer == who)),
            "{found:?}"
        );
    }
    assert!(
        !found
            .iter()
            .any(|v| matches!(v, Violation::ControlAccountMismatch { .. })),
        "the total is unchanged: {found:?}"
    );
}

#[tokio::test]
async fn an_invoice_paid_beyond_its_payments_is_reported() {
    let (w, paid, _) = busy().await;
    tamper::<Invoice>(&w, &paid.invoices[0], |i| {
        i.paid = usd(dec!(1.00));
    })
    .await;
    let found = violations(&w).await;
    assert!(
        found.iter().any(|v| matches!(v,
            Violation::InvoiceInconsistent { invoice, .. } if *invoice == paid.invoices[0])),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_payment_refunded_beyond_what_was_paid_is_reported() {
    let (w, _, _) = busy().await;
    let payment = w
        .oms
        .store()
        .list::<Payment>()
        .await
        .unwrap()
        .remove(0)
        .value;
    tamper::<Payment>(&w, &payment.id, |p| {
        p.refunded = Some(usd(dec!(31.00)));
    })
    .await;
    let found = violations(&w).await;
    assert!(
        found.iter().any(|v| matches!(v,
            Violation::PaymentInconsistent { payment: id, .. } if *id == payment.id)),
        "{found:?}"
    );
}

#[tokio::test]
async fn order_lines_that_do_not_add_up_are_reported() {
    let (w, paid, _) = busy().await;
    tamper::<Order>(&w, &paid.id, |o| {
        o.lines[0].cancelled = o2c::quantity::Quantity::new(1);
    })
    .await;
    let found = violations(&w).await;
    assert!(
        found.iter().any(|v| matches!(v,
            Violation::OrderInconsistent { order, .. } if *order == paid.id)),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_back_order_queue_that_forgot_a_line_is_reported() {
    let (w, _, waiting) = busy().await;
    tamper::<BackOrderQueue>(&w, &sku("BOOK"), |q| {
        q.waiting.clear();
    })
    .await;
    let found = violations(&w).await;
    assert!(
        found.iter().any(|v| matches!(v,
            Violation::BackOrderMismatch { order, queued: 0, backordered: 2, .. }
                if *order == waiting.id)),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_queue_entry_naming_the_wrong_line_is_reported() {
    // Same order, same SKU, same units: only the line is wrong, so a fill would
    // serve a line that is not waiting.
    let (w, _, waiting) = busy().await;
    tamper::<BackOrderQueue>(&w, &sku("BOOK"), |q| {
        q.waiting[0].line_no = 2;
    })
    .await;
    let found = violations(&w).await;
    for (line, queued, backordered) in [(1, 0, 2), (2, 2, 0)] {
        assert!(
            found.iter().any(|v| *v
                == Violation::BackOrderMismatch {
                    order: waiting.id,
                    sku: sku("BOOK"),
                    line,
                    queued,
                    backordered,
                }),
            "{found:?}"
        );
    }
}

#[tokio::test]
async fn order_totals_that_disagree_with_its_invoices_are_reported() {
    let (w, paid, _) = busy().await;
    tamper::<Order>(&w, &paid.id, |o| {
        o.paid = usd(dec!(0.00));
    })
    .await;
    let found = violations(&w).await;
    assert!(
        found.iter().any(|v| matches!(v,
            Violation::OrderInconsistent { order, reason }
                if *order == paid.id && reason.contains("its invoices say"))),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_line_repriced_after_it_was_invoiced_is_reported() {
    let (w, paid, _) = busy().await;
    tamper::<Order>(&w, &paid.id, |o| {
        let amounts = &mut o.lines[0].amounts;
        amounts.gross = amounts.gross.checked_add(usd(dec!(1.00))).unwrap();
        amounts.net = amounts.net.checked_add(usd(dec!(1.00))).unwrap();
    })
    .await;
    let found = violations(&w).await;
    assert!(
        found.iter().any(|v| matches!(v,
            Violation::OrderInconsistent { order, reason }
                if *order == paid.id && reason.contains("its invoices bill"))),
        "{found:?}"
    );
}
