//! Payments against invoices: partial payments, overpayment refused or credited to the customer, paying a paid invoice, and idempotent retries by key.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use chrono::Duration;
use common::*;
use o2c::customer::{NewCustomer, PaymentMethod, PaymentTerms};
use o2c::event::Event;
use o2c::ids::CustomerId;
use o2c::ledger::{
    AccountCode, EntrySource, InvoiceStatus, OverpaymentPolicy, Payment, PaymentError,
};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Hold, Order, OrderStatus, PaymentStatus, PlaceOrder};
use o2c::store::{IdempotencyScope, Store};
use o2c::{Error, RecordPayment};
use rust_decimal_macros::dec;

async fn balance(w: &World, code: &str) -> Money {
    w.oms
        .trial_balance()
        .await
        .unwrap()
        .balance(&AccountCode::new(code), Currency::USD)
}

async fn last_event(w: &World) -> u64 {
    w.oms.store().last_event_sequence().await.unwrap()
}

async fn events_since(w: &World, cursor: u64) -> Vec<Event> {
    w.oms
        .events_after(cursor, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

async fn all_payments(w: &World) -> Vec<Payment> {
    w.oms
        .store()
        .list::<Payment>()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.value)
        .collect()
}

fn payment_error<T: std::fmt::Debug>(result: Result<T, Error>) -> PaymentError {
    match result {
        Err(Error::Payment(e)) => e,
        other => panic!("expected a payment error, got {other:?}"),
    }
}

/// TEE 2 + BOOK 1 + 5.00 shipping: 40.00 + 4.00 tax, 15.99 + 0.80 tax → 65.79.
async fn order_65_79(w: &World, k: &str, who: CustomerId) -> Order {
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key(k), who, Channel::Web, Currency::USD)
                .line(sku("TEE"), 2)
                .line(sku("BOOK"), 1)
                .shipping(usd(dec!(5.00))),
        )
        .await
        .unwrap();
    assert_eq!(order.total().unwrap(), usd(dec!(65.79)));
    order.into_inner()
}

fn card(k: &str, order: &Order, amount: Money) -> RecordPayment {
    RecordPayment::new(key(k), order.invoices[0], amount, PaymentMethod::Card)
}

#[tokio::test]
async fn partial_payments_add_up_to_the_invoice_total() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = order_65_79(&w, "partial", c.id).await;
    let invoice = order.invoices[0];
    assert_eq!(balance(&w, "1100").await, usd(dec!(65.79)));

    // 30.00 + 20.00 + 15.79 = 65.79.
    let steps = [
        ("p1", dec!(30.00), dec!(35.79), InvoiceStatus::Open),
        ("p2", dec!(20.00), dec!(15.79), InvoiceStatus::Open),
        ("p3", dec!(15.79), dec!(0.00), InvoiceStatus::Paid),
    ];
    let mut received = usd(dec!(0.00));
    for (k, amount, outstanding, status) in steps {
        w.clock.advance(Duration::days(3));
        let cursor = last_event(&w).await;
        let p = w
            .oms
            .record_payment(RecordPayment::new(
                key(k),
                invoice,
                usd(amount),
                PaymentMethod::BankTransfer,
            ))
            .await
            .unwrap();
        assert_audit_clean(&w.oms).await;
        received = received.checked_add(usd(amount)).unwrap();
        assert_eq!(p.amount, usd(amount));
        assert_eq!(p.applied, usd(amount));
        assert!(p.credited.is_zero());
        assert_eq!(p.invoice, invoice);
        assert_eq!(p.order, order.id);
        assert_eq!(p.customer, c.id);
        assert_eq!(w.oms.payment(p.id).await.unwrap(), *p);

        let inv = w.oms.invoice(invoice).await.unwrap();
        assert_eq!(inv.paid, received);
        assert_eq!(inv.outstanding().unwrap(), usd(outstanding));
        assert_eq!(inv.status, status);
        assert_eq!(w.oms.order(order.id).await.unwrap().paid, received);
        assert_eq!(
            w.oms.customer(c.id).await.unwrap().history.balance,
            usd(outstanding)
        );
        assert_eq!(balance(&w, "1100").await, usd(outstanding));
        assert_eq!(balance(&w, "1010").await, received);
        assert_eq!(
            events_since(&w, cursor).await,
            vec![Event::PaymentRecorded {
                payment: p.id,
                invoice,
                order: order.id,
                amount: usd(amount),
                applied: usd(amount),
            }]
        );
        let entry = w.oms.journal(0, usize::MAX).await.unwrap().pop().unwrap();
        assert_eq!(entry.source(), &EntrySource::Payment { payment: p.id });
    }
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.payment_status(), PaymentStatus::Paid);
    assert_eq!(all_payments(&w).await.len(), 3);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn order_payment_status_moves_from_unpaid_to_partially_paid_to_paid() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = order_65_79(&w, "status", c.id).await;
    assert_eq!(order.payment_status(), PaymentStatus::Unpaid);
    w.oms
        .record_payment(card("s1", &order, usd(dec!(0.79))))
        .await
        .unwrap();
    assert_eq!(
        w.oms.order(order.id).await.unwrap().payment_status(),
        PaymentStatus::PartiallyPaid
    );
    w.oms
        .record_payment(card("s2", &order, usd(dec!(65.00))))
        .await
        .unwrap();
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.payment_status(), PaymentStatus::Paid);
    assert_eq!(order.status, OrderStatus::Open);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn overpayment_is_rejected_by_default() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = order_65_79(&w, "over", c.id).await;

    let before = snapshot(&w.oms).await;
    assert_eq!(
        payment_error(
            w.oms
                .record_payment(card("too-much", &order, usd(dec!(70.00))))
                .await
        ),
        PaymentError::Overpayment {
            outstanding: usd(dec!(65.79)),
            offered: usd(dec!(70.00)),
        }
    );
    assert_eq!(
        snapshot(&w.oms).await,
        before,
        "a refused payment leaves no trace"
    );

    // After 60.00, only 5.79 is outstanding: 10.00 is too much.
    w.oms
        .record_payment(card("sixty", &order, usd(dec!(60.00))))
        .await
        .unwrap();
    let before = snapshot(&w.oms).await;
    assert_eq!(
        payment_error(
            w.oms
                .record_payment(card("ten", &order, usd(dec!(10.00))))
                .await
        ),
        PaymentError::Overpayment {
            outstanding: usd(dec!(5.79)),
            offered: usd(dec!(10.00)),
        }
    );
    assert_eq!(snapshot(&w.oms).await, before);
    // The refused key was not consumed: it can carry the right amount.
    let p = w
        .oms
        .record_payment(card("too-much", &order, usd(dec!(5.79))))
        .await
        .unwrap();
    assert_eq!(p.applied, usd(dec!(5.79)));
    assert_eq!(balance(&w, "1020").await, usd(dec!(65.79)));
    assert!(balance(&w, "1100").await.is_zero());
    assert!(balance(&w, "2200").await.is_zero());
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn overpayment_becomes_customer_credit_when_the_policy_says_so() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = order_65_79(&w, "credit", c.id).await;
    let cursor = last_event(&w).await;
    let mut cmd = card("credit-pay", &order, usd(dec!(70.00)));
    cmd.overpayment = OverpaymentPolicy::CreditCustomer;
    let p = w.oms.record_payment(cmd).await.unwrap();
    assert_audit_clean(&w.oms).await;

    // 70.00 received: 65.79 settles the invoice, 4.21 is held for the customer.
    assert_eq!(p.amount, usd(dec!(70.00)));
    assert_eq!(p.applied, usd(dec!(65.79)));
    assert_eq!(p.credited, usd(dec!(4.21)));
    let inv = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(inv.status, InvoiceStatus::Paid);
    assert_eq!(inv.paid, usd(dec!(65.79)));
    let buyer = w.oms.customer(c.id).await.unwrap();
    assert_eq!(buyer.history.credit, usd(dec!(4.21)));
    assert!(buyer.history.balance.is_zero());
    assert_eq!(balance(&w, "1020").await, usd(dec!(70.00)));
    assert!(balance(&w, "1100").await.is_zero());
    assert_eq!(balance(&w, "2200").await, usd(dec!(-4.21)));
    let order = w.oms.order(order.id).await.unwrap();
    assert_eq!(order.paid, usd(dec!(65.79)));
    assert_eq!(order.status, OrderStatus::Open, "prepayment hold released");

    assert_eq!(
        events_since(&w, cursor).await,
        vec![
            Event::PaymentRecorded {
                payment: p.id,
                invoice: inv.id,
                order: order.id,
                amount: usd(dec!(70.00)),
                applied: usd(dec!(65.79)),
            },
            Event::CustomerCredited {
                customer: c.id,
                amount: usd(dec!(4.21)),
            },
            Event::HoldReleased {
                order: order.id,
                hold: Hold::AwaitingPayment,
            },
        ]
    );
    let entry = w.oms.journal(0, usize::MAX).await.unwrap().pop().unwrap();
    let lines: Vec<(&str, Money)> = entry
        .lines()
        .iter()
        .map(|l| (l.account.as_str(), l.amount))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("1020", usd(dec!(70.00))),
            ("1100", usd(dec!(-65.79))),
            ("2200", usd(dec!(-4.21))),
        ]
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn paying_a_fully_paid_invoice_is_already_paid() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = order_65_79(&w, "paid", c.id).await;
    w.oms
        .record_payment(card("full", &order, usd(dec!(65.79))))
        .await
        .unwrap();
    let before = snapshot(&w.oms).await;
    assert_eq!(
        payment_error(
            w.oms
                .record_payment(card("again", &order, usd(dec!(1.00))))
                .await
        ),
        PaymentError::AlreadyPaid(order.invoices[0])
    );
    // Even a policy that would credit the excess does not accept money for nothing.
    let mut cmd = card("again-credit", &order, usd(dec!(1.00)));
    cmd.overpayment = OverpaymentPolicy::CreditCustomer;
    assert_eq!(
        payment_error(w.oms.record_payment(cmd).await),
        PaymentError::AlreadyPaid(order.invoices[0])
    );
    assert_eq!(snapshot(&w.oms).await, before);
    assert_eq!(balance(&w, "1020").await, usd(dec!(65.79)));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn retrying_a_payment_with_the_same_key_records_it_once() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = order_65_79(&w, "retry", c.id).await;
    let mut cmd = card("gateway-evt-1", &order, usd(dec!(65.79)));
    cmd.reference = Some("ch_123".into());
    let first = w.oms.record_payment(cmd.clone()).await.unwrap();
    assert_audit_clean(&w.oms).await;
    let before = snapshot(&w.oms).await;

    // The gateway retries its webhook, later: same key, same content.
    w.clock.advance(Duration::minutes(2));
    let second = w.oms.record_payment(cmd.clone()).await.unwrap();
    assert_eq!(second.value, first.value);
    assert!(second.replayed && !first.replayed);
    assert_eq!(
        second.received_at,
        start(),
        "the original payment, not a new one"
    );
    assert_eq!(snapshot(&w.oms).await, before, "recorded once");
    assert_eq!(all_payments(&w).await, vec![first.value.clone()]);
    assert_eq!(
        w.oms.invoice(order.invoices[0]).await.unwrap().paid,
        usd(dec!(65.79))
    );
    assert_eq!(balance(&w, "1020").await, usd(dec!(65.79)));
    let payment_entries = w
        .oms
        .journal(0, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.source(), EntrySource::Payment { .. }))
        .count();
    assert_eq!(payment_entries, 1);

    // A third retry after the order moved on still answers with the same payment.
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let third = w.oms.record_payment(cmd).await.unwrap();
    assert_eq!(third.value, first.value);
    assert!(third.replayed);
    assert_eq!(all_payments(&w).await.len(), 1);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn reusing_a_payment_key_for_different_content_is_refused() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = order_65_79(&w, "reuse", c.id).await;
    w.oms
        .record_payment(card("k-1", &order, usd(dec!(30.00))))
        .await
        .unwrap();
    let before = snapshot(&w.oms).await;

    for cmd in [
        card("k-1", &order, usd(dec!(35.79))),
        RecordPayment::new(
            key("k-1"),
            order.invoices[0],
            usd(dec!(30.00)),
            PaymentMethod::Cash,
        ),
    ] {
        match w.oms.record_payment(cmd).await {
            Err(Error::IdempotencyKeyReused { scope, key: k }) => {
                assert_eq!(scope, IdempotencyScope::RecordPayment);
                assert_eq!(k, key("k-1"));
            }
            other => panic!("expected IdempotencyKeyReused, got {other:?}"),
        }
    }
    assert_eq!(snapshot(&w.oms).await, before);
    assert_eq!(
        w.oms.invoice(order.invoices[0]).await.unwrap().paid,
        usd(dec!(30.00))
    );

    // Keys are scoped per command kind: an order key may equal a payment key.
    let shared = w
        .oms
        .place_order(
            PlaceOrder::new(key("k-1"), c.id, Channel::Web, Currency::USD).line(sku("MUG"), 1),
        )
        .await
        .unwrap();
    assert_eq!(shared.total().unwrap(), usd(dec!(13.75)));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn on_account_is_refused_as_a_payment_with_nothing_written_and_the_key_free() {
    let w = world().await;
    // On account is how this customer prefers to pay: a term, still not money.
    let mut profile = NewCustomer::new(
        "Acme",
        "acme@example.com",
        us_address("Acme"),
        Currency::USD,
    );
    profile.terms = PaymentTerms::Net { days: 30 };
    profile.payment_method = PaymentMethod::OnAccount;
    let c = w
        .oms
        .register_customer(profile, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let order = order_65_79(&w, "o", c.id).await;
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    let books = w.oms.trial_balance().await.unwrap();
    let before = snapshot(&w.oms).await;

    for overpayment in [OverpaymentPolicy::Reject, OverpaymentPolicy::CreditCustomer] {
        let mut cmd = RecordPayment::new(
            key("pay"),
            invoice.id,
            usd(dec!(65.79)),
            PaymentMethod::OnAccount,
        );
        cmd.overpayment = overpayment;
        assert_eq!(
            payment_error(w.oms.record_payment(cmd).await),
            PaymentError::OnAccountIsNotAPayment
        );
        assert_eq!(last_event(&w).await, before.last_event, "an event written");
        assert_eq!(w.oms.invoice(invoice.id).await.unwrap(), invoice);
        assert_eq!(w.oms.trial_balance().await.unwrap(), books);
        assert!(
            balance(&w, "1010").await.is_zero(),
            "no money reached the bank"
        );
        assert_eq!(balance(&w, "1100").await, usd(dec!(65.79)));
        assert!(all_payments(&w).await.is_empty());
        assert_eq!(snapshot(&w.oms).await, before);
        assert!(
            w.oms
                .store()
                .idempotency(IdempotencyScope::RecordPayment, &key("pay"))
                .await
                .unwrap()
                .is_none(),
            "the key was used up"
        );
    }

    // The money arrives by transfer: recorded under the same key.
    let paid = w
        .oms
        .record_payment(RecordPayment::new(
            key("pay"),
            invoice.id,
            usd(dec!(65.79)),
            PaymentMethod::BankTransfer,
        ))
        .await
        .unwrap();
    assert_eq!(paid.method, PaymentMethod::BankTransfer);
    assert_eq!(
        w.oms.invoice(invoice.id).await.unwrap().status,
        InvoiceStatus::Paid
    );
    assert_eq!(balance(&w, "1010").await, usd(dec!(65.79)));
    assert_audit_clean(&w.oms).await;
}
