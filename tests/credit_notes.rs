//! Credit notes and refunds: exact partial credits against an invoice, credit on a
//! paid invoice becoming customer credit, refunds out of that credit back the way a
//! payment came, and bad input refused with nothing written.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::ids::{CustomerId, InvoiceId};
use o2c::ledger::{AccountCode, CreditError, InvoiceStatus, PaymentError};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Discount, PlaceOrder};
use o2c::quantity::Quantity;
use o2c::{Error, IssueCreditNote, RecordPayment, RecordRefund};
use rust_decimal_macros::dec;

async fn balance(w: &World, code: &str) -> Money {
    w.oms
        .trial_balance()
        .await
        .unwrap()
        .balance(&AccountCode::new(code), Currency::USD)
}

/// An order of 3 TEE (20.00, 10 % off the line) and 2 MUG (12.50), invoiced on
/// order: TEE net 54.00 + tax 5.40, MUG 25.00 + 2.50, total 86.90.
async fn invoiced(w: &World, customer: CustomerId) -> InvoiceId {
    let mut cmd = PlaceOrder::new(key("o-1"), customer, Channel::Web, Currency::USD)
        .line(sku("TEE"), 3)
        .line(sku("MUG"), 2);
    cmd.lines[0].discount = Some(Discount::Percent(dec!(10)));
    let order = w.oms.place_order(cmd).await.unwrap();
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(invoice.total().unwrap(), usd(dec!(86.90)));
    invoice.id
}

fn credit(k: &str, invoice: InvoiceId, lines: Vec<(u16, u32)>) -> IssueCreditNote {
    IssueCreditNote::new(key(k), invoice, "returned").with_lines(
        lines
            .into_iter()
            .map(|(line_no, units)| (line_no, Quantity::new(units)))
            .collect(),
    )
}

#[tokio::test]
async fn a_partial_credit_reduces_what_an_open_invoice_owes() {
    let w = world().await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let invoice = invoiced(&w, buyer.id).await;
    let note = w
        .oms
        .issue_credit_note(credit("cn-1", invoice, vec![(1, 1)]))
        .await
        .unwrap();
    // One TEE of three: 18.00 net, 1.80 tax.
    assert_eq!(note.number.to_string(), "CN-000001");
    assert_eq!(note.total().unwrap(), usd(dec!(19.80)));
    assert_eq!(
        (note.applied, note.to_customer_credit),
        (usd(dec!(19.80)), usd(dec!(0)))
    );
    let after = w.oms.invoice(invoice).await.unwrap();
    assert_eq!(after.outstanding().unwrap(), usd(dec!(67.10)));
    assert_eq!(after.lines[0].credited.units(), 1);
    let acme = w.oms.customer(buyer.id).await.unwrap();
    assert_eq!(acme.history.balance, usd(dec!(67.10)));
    assert_eq!(balance(&w, "1100").await, usd(dec!(67.10)));
    assert_eq!(
        balance(&w, "2100").await,
        usd(dec!(-6.10)),
        "tax 7.90 − 1.80"
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn crediting_a_line_in_parts_adds_up_to_it_exactly() {
    let w = world().await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let invoice = invoiced(&w, buyer.id).await;
    let mut total = usd(dec!(0));
    for n in 0..3 {
        let note = w
            .oms
            .issue_credit_note(credit(&format!("cn-{n}"), invoice, vec![(1, 1)]))
            .await
            .unwrap();
        total = total.checked_add(note.total().unwrap()).unwrap();
    }
    assert_eq!(total, usd(dec!(59.40)), "the whole TEE line: 54.00 + 5.40");
    let more = w
        .oms
        .issue_credit_note(credit("cn-3", invoice, vec![(1, 1)]))
        .await;
    assert!(matches!(
        more,
        Err(Error::Credit(CreditError::MoreThanInvoiced {
            invoiced,
            credited,
            requested,
            ..
        })) if (invoiced, credited, requested)
            == (Quantity::new(3), Quantity::new(3), Quantity::new(1))
    ));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn credit_on_a_paid_invoice_becomes_customer_credit_and_can_be_refunded() {
    let w = world().await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let invoice = invoiced(&w, buyer.id).await;
    let payment = w
        .oms
        .record_payment(RecordPayment::new(
            key("pay"),
            invoice,
            usd(dec!(86.90)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    let note = w
        .oms
        .issue_credit_note(credit("cn", invoice, vec![(2, 2)]))
        .await
        .unwrap();
    assert_eq!(note.to_customer_credit, usd(dec!(27.50)));
    let paid = w.oms.invoice(invoice).await.unwrap();
    assert_eq!(paid.status, InvoiceStatus::Paid);
    assert_eq!(paid.outstanding().unwrap(), usd(dec!(0)));
    assert_eq!(
        w.oms.customer(buyer.id).await.unwrap().history.credit,
        usd(dec!(27.50))
    );

    let refund = |k: &str, amount| RecordRefund::new(key(k), payment.id, amount);
    let before = snapshot(&w.oms).await;
    assert!(matches!(
        w.oms
            .record_refund(refund("too-much", usd(dec!(30.00))))
            .await,
        Err(Error::Credit(CreditError::ExceedsCredit { .. }))
    ));
    assert_eq!(snapshot(&w.oms).await, before);
    let card_before = balance(&w, "1020").await;
    let refunded = w
        .oms
        .record_refund(refund("r-1", usd(dec!(27.50))))
        .await
        .unwrap();
    assert_eq!(refunded.refund_total(), usd(dec!(27.50)));
    assert_eq!(
        balance(&w, "1020").await,
        card_before.checked_sub(usd(dec!(27.50))).unwrap(),
        "back the way it came: the card"
    );
    assert_eq!(
        w.oms.customer(buyer.id).await.unwrap().history.credit,
        usd(dec!(0))
    );
    // A retry of the same refund is the same refund.
    let again = w
        .oms
        .record_refund(refund("r-1", usd(dec!(27.50))))
        .await
        .unwrap();
    assert_eq!(again.refund_total(), usd(dec!(27.50)));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn never_refunds_more_than_the_payment_brought() {
    let w = world().await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let invoice = invoiced(&w, buyer.id).await;
    // Paid in two parts, then the whole invoice credited: 86.90 of customer credit.
    let pay = |k: &str, amount, method| RecordPayment::new(key(k), invoice, amount, method);
    let small = w
        .oms
        .record_payment(pay("p-1", usd(dec!(10.00)), PaymentMethod::BankTransfer))
        .await
        .unwrap();
    w.oms
        .record_payment(pay("p-2", usd(dec!(76.90)), PaymentMethod::Card))
        .await
        .unwrap();
    w.oms
        .issue_credit_note(credit("cn", invoice, vec![(1, 3), (2, 2)]))
        .await
        .unwrap();
    let credit_now = w.oms.customer(buyer.id).await.unwrap().history.credit;
    assert_eq!(credit_now, usd(dec!(86.90)));
    let before = snapshot(&w.oms).await;
    assert!(matches!(
        w.oms
            .record_refund(RecordRefund::new(key("r"), small.id, usd(dec!(10.01))))
            .await,
        Err(Error::Credit(CreditError::BeyondPayment { .. }))
    ));
    assert_eq!(snapshot(&w.oms).await, before);
    w.oms
        .record_refund(RecordRefund::new(key("r"), small.id, usd(dec!(10.00))))
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn bad_credit_notes_are_refused_and_write_nothing() {
    let w = world().await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let invoice = invoiced(&w, buyer.id).await;
    let before = snapshot(&w.oms).await;
    for (what, cmd, check) in [
        (
            "a line not on the invoice",
            credit("a", invoice, vec![(9, 1)]),
            (|e: &Error| matches!(e, Error::Credit(CreditError::NotOnInvoice { line_no: 9 })))
                as fn(&Error) -> bool,
        ),
        (
            "more units than invoiced",
            credit("b", invoice, vec![(2, 3)]),
            |e| matches!(e, Error::Credit(CreditError::MoreThanInvoiced { .. })),
        ),
        ("zero units", credit("c", invoice, vec![(2, 0)]), |e| {
            matches!(e, Error::Credit(CreditError::MoreThanInvoiced { .. }))
        }),
        ("nothing at all", credit("d", invoice, vec![]), |e| {
            matches!(e, Error::Credit(CreditError::NothingToCredit))
        }),
        (
            "shipping that was never charged",
            credit("e", invoice, vec![]).with_shipping(Some(usd(dec!(5.00)))),
            |e| matches!(e, Error::Credit(CreditError::ShippingBeyondCharged { .. })),
        ),
        (
            "shipping in another currency",
            credit("f", invoice, vec![(2, 1)])
                .with_shipping(Some(Money::new(dec!(0), Currency::EUR))),
            |e| matches!(e, Error::Payment(PaymentError::CurrencyMismatch { .. })),
        ),
        (
            "an unknown invoice",
            credit("g", InvoiceId::from_uuid(uuid::Uuid::nil()), vec![(1, 1)]),
            |e| matches!(e, Error::NotFound { .. }),
        ),
    ] {
        let refused = w.oms.issue_credit_note(cmd).await;
        match refused {
            Err(e) => assert!(check(&e), "{what}: {e:?}"),
            Ok(note) => panic!("{what}: issued {note:?}"),
        }
        assert_eq!(snapshot(&w.oms).await, before, "{what} wrote something");
    }

    // A void invoice (its order cancelled) has nothing left to credit.
    let order = w.oms.invoice(invoice).await.unwrap().order;
    w.oms
        .cancel_order(order, "changed mind", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert!(matches!(
        w.oms
            .issue_credit_note(credit("h", invoice, vec![(1, 1)]))
            .await,
        Err(Error::Credit(CreditError::InvoiceVoid(_)))
    ));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_retried_credit_note_is_issued_once() {
    let w = world().await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let invoice = invoiced(&w, buyer.id).await;
    let first = w
        .oms
        .issue_credit_note(credit("cn", invoice, vec![(2, 1)]))
        .await
        .unwrap();
    let once = snapshot(&w.oms).await;
    let again = w
        .oms
        .issue_credit_note(credit("cn", invoice, vec![(2, 1)]))
        .await
        .unwrap();
    assert_eq!(again.value, first.value);
    assert!(again.replayed && !first.replayed);
    assert_eq!(snapshot(&w.oms).await, once);
    assert!(matches!(
        w.oms
            .issue_credit_note(credit("cn", invoice, vec![(2, 2)]))
            .await,
        Err(Error::IdempotencyKeyReused { .. })
    ));
}

#[tokio::test]
async fn customer_credit_pays_the_next_order() {
    let w = world().await;
    let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let first = invoiced(&w, buyer.id).await;
    w.oms
        .record_payment(RecordPayment::new(
            key("pay-1"),
            first,
            usd(dec!(86.90)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    // Both MUGs credited back: 27.50 of store credit.
    w.oms
        .issue_credit_note(credit("cn", first, vec![(2, 2)]))
        .await
        .unwrap();
    let next = w
        .oms
        .place_order(
            PlaceOrder::new(key("o-2"), buyer.id, Channel::Web, Currency::USD).line(sku("BOOK"), 1),
        )
        .await
        .unwrap();
    let second = next.invoices[0];
    let with_credit =
        |k: &str, amount| RecordPayment::new(key(k), second, amount, PaymentMethod::CustomerCredit);
    let before = snapshot(&w.oms).await;
    assert!(matches!(
        w.oms
            .record_payment(with_credit("too-much", usd(dec!(27.51))))
            .await,
        Err(Error::Credit(CreditError::ExceedsCredit { .. }))
    ));
    assert_eq!(snapshot(&w.oms).await, before);
    // BOOK: 15.99 + 5 % = 16.79; paid entirely from credit, 10.71 left.
    let paid = w
        .oms
        .record_payment(with_credit("credit", usd(dec!(16.79))))
        .await
        .unwrap();
    assert_eq!(
        w.oms.invoice(second).await.unwrap().status,
        InvoiceStatus::Paid
    );
    assert_eq!(
        w.oms.customer(buyer.id).await.unwrap().history.credit,
        usd(dec!(10.71))
    );
    assert!(matches!(
        w.oms
            .record_refund(RecordRefund::new(key("r"), paid.id, usd(dec!(1.00))))
            .await,
        Err(Error::Credit(CreditError::PaidFromCredit(_)))
    ));
    assert_audit_clean(&w.oms).await;
}

mod properties {
    use super::*;
    use o2c::ids::PaymentId;
    use o2c::ledger::OverpaymentPolicy;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Pay {
            cents: i64,
            method: u8,
        },
        Credit {
            line: u16,
            units: u32,
            shipping: bool,
        },
        Refund {
            payment: usize,
            cents: i64,
        },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1i64..9_000, 0u8..4).prop_map(|(cents, method)| Step::Pay { cents, method }),
            (1u16..4, 0u32..3, any::<bool>()).prop_map(|(line, units, shipping)| Step::Credit {
                line,
                units,
                shipping
            }),
            (0usize..6, 1i64..9_000).prop_map(|(payment, cents)| Step::Refund { payment, cents }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Payments, credit notes and refunds in any order: refunded ≤ paid per
        /// payment, credit never negative, receivables = Σ balances = Σ what the
        /// invoices still owe (the audit), every entry balanced.
        #[test]
        fn credits_and_refunds_keep_the_books(steps in proptest::collection::vec(step(), 1..25)) {
            pollster::block_on(async {
                let w = world().await;
                let buyer = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
                let invoice = invoiced(&w, buyer.id).await;
                let mut payments: Vec<PaymentId> = Vec::new();
                for (n, step) in steps.iter().enumerate() {
                    let k = key(&format!("k-{n}"));
                    match step {
                        Step::Pay { cents, method } => {
                            let method = [PaymentMethod::Card, PaymentMethod::BankTransfer, PaymentMethod::Cash, PaymentMethod::CustomerCredit][*method as usize];
                            let mut cmd = RecordPayment::new(k, invoice, Money::from_minor(*cents, Currency::USD), method);
                            cmd.overpayment = OverpaymentPolicy::CreditCustomer;
                            if let Ok(p) = w.oms.record_payment(cmd).await {
                                payments.push(p.id);
                            }
                        }
                        Step::Credit { line, units, shipping } => {
                            let _ = w.oms.issue_credit_note(IssueCreditNote::new(k, invoice, "prop").with_lines(if *units > 0 { vec![(*line, Quantity::new(*units))] } else { vec![] }).with_shipping(shipping.then(|| usd(dec!(0))))).await;
                        }
                        Step::Refund { payment, cents } => {
                            if let Some(id) = payments.get(*payment) {
                                let _ = w.oms.record_refund(RecordRefund::new(k, *id, Money::from_minor(*cents, Currency::USD))).await;
                            }
                        }
                    }
                    assert_audit_clean(&w.oms).await;
                    for id in &payments {
                        let p = w.oms.payment(*id).await.unwrap();
                        assert!(p.refund_total().cmp_amount(p.amount).unwrap().is_le());
                    }
                    let history = w.oms.customer(buyer.id).await.unwrap().history;
                    assert!(!history.credit.is_negative() && !history.balance.is_negative());
                    let inv = w.oms.invoice(invoice).await.unwrap();
                    assert!(inv.paid.checked_add(inv.credit_total()).unwrap().cmp_amount(inv.total().unwrap()).unwrap().is_le());
                }
            });
        }
    }
}
