//! Returns: authorised for delivered goods only, received back into stock (or
//! written off) with cost of goods reversed at what it shipped at, and the invoice
//! credited in the same commit; refunds from the resulting credit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use chrono::Duration;
use common::*;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::ids::ReturnId;
use o2c::ledger::AccountCode;
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Order, PlaceOrder};
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReturnError, ReturnReason, ReturnStatus};
use o2c::{Error, ReceiveReturn, RecordPayment, RecordRefund, RequestReturn};
use rust_decimal_macros::dec;

async fn balance(w: &World, code: &str) -> Money {
    w.oms
        .trial_balance()
        .await
        .unwrap()
        .balance(&AccountCode::new(code), Currency::USD)
}

/// 3 TEE (20.00, cost 8.00) shipped from EAST; delivered if `deliver`.
async fn shipped(w: &World, who: o2c::ids::CustomerId, deliver: bool) -> Order {
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), who, Channel::Web, Currency::USD).line(sku("TEE"), 3),
        )
        .await
        .unwrap();
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    if deliver {
        for s in shipments {
            w.oms
                .record_tracking(
                    s.id,
                    TrackingEvent {
                        at: start() + Duration::hours(24),
                        status: ShipmentStatus::Delivered,
                        description: "delivered".into(),
                    },
                )
                .await
                .unwrap();
        }
    }
    w.oms.order(order.id).await.unwrap()
}

fn ask(k: &str, order: &Order, units: u32) -> RequestReturn {
    RequestReturn::new(key(k), order.id).with_lines(vec![(
        1,
        Quantity::new(units),
        ReturnReason::Defective,
    )])
}

fn receipt(k: &str, rma: ReturnId, units: u32, condition: Condition) -> ReceiveReturn {
    ReceiveReturn::new(key(k), rma).with_lines(vec![(1, Quantity::new(units), condition)])
}

#[tokio::test]
async fn a_resellable_return_goes_back_into_stock_and_credits_the_invoice() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = shipped(&w, c.id, true).await;
    let cogs_before = balance(&w, "5000").await;
    assert_eq!(cogs_before, usd(dec!(24.00)));

    let rma = w.oms.request_return(ask("r", &order, 2)).await.unwrap();
    assert_eq!(rma.status, ReturnStatus::Requested);
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let east = Condition::Resellable {
        location: loc(EAST),
    };
    let rma = w
        .oms
        .receive_return(receipt("in", rma.id, 2, east))
        .await
        .unwrap();
    assert_eq!(rma.status, ReturnStatus::Received);

    // 7 on hand after shipping 3 from 10; 2 back.
    let level = w.oms.stock_level(&sku("TEE"), &loc(EAST)).await.unwrap();
    assert_eq!(level.on_hand, 9);
    assert_eq!(
        balance(&w, "5000").await,
        usd(dec!(8.00)),
        "COGS reversed at 8.00 each"
    );
    let after = w.oms.order(order.id).await.unwrap();
    assert_eq!(after.lines[0].returned.units(), 2);
    assert_eq!(after.credit_total(), usd(dec!(44.00)), "2 × (20.00 + 10 %)");
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(invoice.outstanding().unwrap(), usd(dec!(22.00)));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_damaged_return_is_written_off_and_a_paid_one_becomes_refundable_credit() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = shipped(&w, c.id, true).await;
    let payment = w
        .oms
        .record_payment(RecordPayment::new(
            key("pay"),
            order.invoices[0],
            usd(dec!(66.00)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    let rma = w.oms.request_return(ask("r", &order, 1)).await.unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let stock_before = w.oms.stock(&sku("TEE")).await.unwrap();
    w.oms
        .receive_return(receipt("in", rma.id, 1, Condition::Damaged))
        .await
        .unwrap();
    assert_eq!(
        w.oms.stock(&sku("TEE")).await.unwrap(),
        stock_before,
        "not restocked"
    );
    assert_eq!(
        balance(&w, "5100").await,
        usd(dec!(8.00)),
        "written off at 8.00"
    );
    let credit = w.oms.customer(c.id).await.unwrap().history.credit;
    assert_eq!(credit, usd(dec!(22.00)));
    w.oms
        .record_refund(RecordRefund::new(key("refund"), payment.id, credit))
        .await
        .unwrap();
    assert!(w.oms.customer(c.id).await.unwrap().history.credit.is_zero());
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn only_delivered_units_come_back_and_never_twice() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let in_transit = shipped(&w, c.id, false).await;
    let before = snapshot(&w.oms).await;
    assert!(matches!(
        w.oms.request_return(ask("a", &in_transit, 1)).await,
        Err(Error::Return(ReturnError::NotReturnable {
            returnable: Quantity::ZERO,
            ..
        }))
    ));
    assert_eq!(snapshot(&w.oms).await, before);

    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = shipped(&w, c.id, true).await;
    let first = w.oms.request_return(ask("a", &order, 2)).await.unwrap();
    let before = snapshot(&w.oms).await;
    for (what, cmd) in [
        ("more than delivered less asked back", ask("b", &order, 2)),
        (
            "a line the order does not have",
            ask("c", &order, 1).with_lines(vec![(7, Quantity::new(1), ReturnReason::WrongItem)]),
        ),
        ("zero units", ask("d", &order, 0)),
    ] {
        let refused = w.oms.request_return(cmd).await;
        assert!(
            matches!(refused, Err(Error::Return(_))),
            "{what}: {refused:?}"
        );
        assert_eq!(snapshot(&w.oms).await, before, "{what} wrote something");
    }
    // Not authorised yet, then beyond what was authorised.
    let east = || Condition::Resellable {
        location: loc(EAST),
    };
    assert!(matches!(
        w.oms
            .receive_return(receipt("x", first.id, 1, east()))
            .await,
        Err(Error::Return(ReturnError::InvalidTransition { .. }))
    ));
    w.oms
        .authorise_return(first.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let before = snapshot(&w.oms).await;
    assert!(matches!(
        w.oms
            .receive_return(receipt("y", first.id, 3, east()))
            .await,
        Err(Error::Return(ReturnError::BeyondAuthorised { outstanding, .. }))
            if outstanding == Quantity::new(2)
    ));
    assert_eq!(snapshot(&w.oms).await, before);
    // Rejected, its units may be asked back again.
    w.oms
        .reject_return(first.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let again = w.oms.request_return(ask("e", &order, 3)).await.unwrap();
    assert_eq!(again.lines[0].quantity, Quantity::new(3));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn returning_every_unit_in_steps_reverses_cost_of_goods_exactly() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = shipped(&w, c.id, true).await;
    let rma = w.oms.request_return(ask("r", &order, 3)).await.unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    for (n, units) in [1, 2].into_iter().enumerate() {
        w.oms
            .receive_return(receipt(
                &format!("in-{n}"),
                rma.id,
                units,
                Condition::Resellable {
                    location: loc(WEST),
                },
            ))
            .await
            .unwrap();
    }
    assert!(balance(&w, "5000").await.is_zero());
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert!(invoice.outstanding().unwrap().is_zero(), "all credited");
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn closing_a_partly_received_return_frees_the_rest() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = shipped(&w, c.id, true).await;
    let rma = w.oms.request_return(ask("r", &order, 3)).await.unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .receive_return(receipt("in", rma.id, 1, Condition::Damaged))
        .await
        .unwrap();
    assert!(matches!(
        w.oms.request_return(ask("more", &order, 1)).await,
        Err(Error::Return(ReturnError::NotReturnable {
            returnable: Quantity::ZERO,
            ..
        }))
    ));
    let closed = w
        .oms
        .close_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(closed.status, ReturnStatus::Closed);
    let line = &w.oms.order(order.id).await.unwrap().lines[0];
    assert_eq!(
        (line.returned.units(), line.return_requested.units()),
        (1, 1)
    );
    let again = w.oms.request_return(ask("again", &order, 2)).await.unwrap();
    assert_eq!(again.lines[0].quantity, Quantity::new(2));
    let events = w.oms.events_after(0, usize::MAX).await.unwrap();
    assert!(
        events.iter().any(
            |e| matches!(e.event, o2c::event::Event::ReturnClosed { rma: id } if id == rma.id)
        )
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_retried_return_request_or_receipt_counts_once() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = shipped(&w, c.id, true).await;
    let first = w.oms.request_return(ask("r", &order, 1)).await.unwrap();
    let again = w.oms.request_return(ask("r", &order, 1)).await.unwrap();
    assert_eq!(again.id, first.id);
    w.oms
        .authorise_return(first.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let east = || Condition::Resellable {
        location: loc(EAST),
    };
    w.oms
        .receive_return(receipt("in", first.id, 1, east()))
        .await
        .unwrap();
    let once = snapshot(&w.oms).await;
    w.oms
        .receive_return(receipt("in", first.id, 1, east()))
        .await
        .unwrap();
    assert_eq!(snapshot(&w.oms).await, once);
    let line = &w.oms.order(order.id).await.unwrap().lines[0];
    assert_eq!(
        (line.return_requested.units(), line.returned.units()),
        (1, 1)
    );
    assert_audit_clean(&w.oms).await;
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Ask {
            units: u32,
        },
        Authorise {
            rma: usize,
        },
        Reject {
            rma: usize,
        },
        Receive {
            rma: usize,
            units: u32,
            resellable: bool,
        },
        Pay {
            cents: i64,
        },
        Refund {
            cents: i64,
        },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1u32..4).prop_map(|units| Step::Ask { units }),
            (0usize..4).prop_map(|rma| Step::Authorise { rma }),
            (0usize..4).prop_map(|rma| Step::Reject { rma }),
            (0usize..4, 1u32..4, any::<bool>()).prop_map(|(rma, units, resellable)| {
                Step::Receive {
                    rma,
                    units,
                    resellable,
                }
            }),
            (1i64..7_000).prop_map(|cents| Step::Pay { cents }),
            (1i64..7_000).prop_map(|cents| Step::Refund { cents }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Any mix of returns, receipts, payments and refunds: returned ≤ asked back
        /// ≤ delivered, refunded ≤ paid, stock conserved and the books exact (the
        /// audit, after every step).
        #[test]
        fn returns_keep_every_invariant(steps in proptest::collection::vec(step(), 1..25)) {
            pollster::block_on(async {
                let w = world().await;
                let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
                let order = shipped(&w, c.id, true).await;
                let mut rmas: Vec<ReturnId> = Vec::new();
                let mut payments = Vec::new();
                for (n, step) in steps.iter().enumerate() {
                    let k = format!("k-{n}");
                    match step {
                        Step::Ask { units } => {
                            if let Ok(r) = w.oms.request_return(ask(&k, &order, *units)).await {
                                rmas.push(r.id);
                            }
                        }
                        Step::Authorise { rma } => {
                            if let Some(id) = rmas.get(*rma) {
                                let _ = w.oms.authorise_return(*id, o2c::ids::IdempotencyKey::generate()).await;
                            }
                        }
                        Step::Reject { rma } => {
                            if let Some(id) = rmas.get(*rma) {
                                let _ = w.oms.reject_return(*id, o2c::ids::IdempotencyKey::generate()).await;
                            }
                        }
                        Step::Receive { rma, units, resellable } => {
                            if let Some(id) = rmas.get(*rma) {
                                let condition = if *resellable {
                                    Condition::Resellable { location: loc(WEST) }
                                } else {
                                    Condition::Damaged
                                };
                                let _ = w.oms.receive_return(receipt(&k, *id, *units, condition)).await;
                            }
                        }
                        Step::Pay { cents } => {
                            let mut cmd = RecordPayment::new(key(&k), order.invoices[0], Money::from_minor(*cents, Currency::USD), PaymentMethod::Card);
                            cmd.overpayment = o2c::ledger::OverpaymentPolicy::CreditCustomer;
                            if let Ok(p) = w.oms.record_payment(cmd).await {
                                payments.push(p.id);
                            }
                        }
                        Step::Refund { cents } => {
                            if let Some(id) = payments.first() {
                                let _ = w.oms.record_refund(RecordRefund::new(key(&k), *id, Money::from_minor(*cents, Currency::USD))).await;
                            }
                        }
                    }
                    assert_audit_clean(&w.oms).await;
                    let line = &w.oms.order(order.id).await.unwrap().lines[0];
                    assert!(line.returned <= line.return_requested && line.return_requested <= line.delivered);
                    for id in &payments {
                        let p = w.oms.payment(*id).await.unwrap();
                        assert!(p.refund_total().cmp_amount(p.amount).unwrap().is_le());
                    }
                }
            });
        }
    }
}
