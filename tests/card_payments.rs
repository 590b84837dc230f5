//! Card payments through a payment provider: authorised at checkout, captured
//! as goods ship (in parts), voided on cancellation, refunded through the
//! provider, resolved by asking it when a reply is lost, paid out to the bank —
//! with the simulated provider's faults, and the audit clean after each story.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use o2c::Error;
use o2c::clock::Clock;
use o2c::customer::{NewCustomer, PaymentMethod, PaymentTerms};
use o2c::event::Event;
use o2c::ids::{CustomerId, IdempotencyKey};
use o2c::ledger::{AccountCode, IssueCreditNote, PaymentError};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Hold, OrderStatus, PlaceOrder};
use o2c::payment::{
    CardFaults, DECLINED_CARD, DeclinedPayment, PaymentNotification, PaymentPolicy, ProviderEvent,
    SimulatedCardProvider,
};
use o2c::purchasing::BackOrderPolicy;
use o2c::store::MemoryStore;
use o2c::{Oms, OmsConfig, RecordPayment, RecordRefund};
use rust_decimal_macros::dec;

type CardOms = Oms<MemoryStore, Carriers, Arc<SimulatedCardProvider>>;

struct Shop {
    oms: CardOms,
    cards: Arc<SimulatedCardProvider>,
    clock: Arc<o2c::clock::ManualClock>,
}

async fn shop_with(config: OmsConfig, faults: CardFaults) -> Shop {
    let w = world_with(config).await;
    let cards = Arc::new(SimulatedCardProvider::new(
        "cards",
        w.clock.clone(),
        7,
        faults,
        11,
    ));
    Shop {
        oms: w.oms.with_payments(cards.clone()),
        cards,
        clock: w.clock,
    }
}

async fn shop() -> Shop {
    shop_with(OmsConfig::default(), CardFaults::default()).await
}

async fn card_customer(s: &Shop, name: &str, token: Option<&str>) -> CustomerId {
    let profile = NewCustomer::new(
        name,
        format!("{name}@example.com"),
        us_address(name),
        Currency::USD,
    )
    .with_payment_method(PaymentMethod::Card)
    .with_terms(PaymentTerms::Prepaid)
    .with_payment_token(token.map(str::to_owned));
    s.oms
        .register_customer(profile, IdempotencyKey::generate())
        .await
        .unwrap()
        .id
}

fn mugs(k: &str, who: CustomerId, units: i64) -> PlaceOrder {
    PlaceOrder::new(key(k), who, Channel::Web, Currency::USD).line(sku("MUG"), units)
}

async fn clean(s: &Shop) {
    let report = s.oms.audit().await.unwrap();
    assert!(report.is_clean(), "audit: {:#?}", report.violations);
}

async fn balance(s: &Shop, code: &str) -> Money {
    let tb = s.oms.trial_balance().await.unwrap();
    tb.balances
        .iter()
        .find(|b| b.account == AccountCode::new(code))
        .map_or(usd(dec!(0)), |b| b.balance)
}

/// Mugs reserved, all locations.
async fn mugs_reserved(s: &Shop) -> i64 {
    s.oms
        .stock(&sku("MUG"))
        .await
        .unwrap()
        .iter()
        .map(|l| l.reserved)
        .sum()
}

/// The payment recorded against `invoice` (its capture).
async fn payment_of(s: &Shop, invoice: o2c::ids::InvoiceId) -> o2c::ids::PaymentId {
    events(s)
        .await
        .into_iter()
        .find_map(|e| match e {
            Event::PaymentRecorded {
                payment,
                invoice: i,
                ..
            } if i == invoice => Some(payment),
            _ => None,
        })
        .expect("the capture's payment")
}

async fn events(s: &Shop) -> Vec<Event> {
    s.oms
        .events_after(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

#[tokio::test]
async fn authorised_at_checkout_captured_per_shipment_and_the_rest_voided() {
    let s = shop().await;
    let ada = card_customer(&s, "Ada", Some("tok_visa")).await;
    // 25 mugs can ship (EAST 5, WEST 20): 2 more wait as a back-order.
    let order = s
        .oms
        .place_order(mugs("o-1", ada, 27).back_order(BackOrderPolicy::ShipAvailable))
        .await
        .unwrap();
    assert!(
        order.holds.is_empty(),
        "the authorisation stands for prepayment"
    );
    assert!(order.invoices.is_empty(), "invoiced as it ships");
    let auth = &order.authorisations[0];
    assert_eq!(auth.amount, order.total().unwrap());

    let shipped = s.oms.ship(order.id, key("ship-1")).await.unwrap();
    assert_eq!(shipped.len(), 2);
    let order = s.oms.order(order.id).await.unwrap();
    let invoice = s.oms.invoice(order.invoices[0]).await.unwrap();
    let captured = order.authorisations[0].captured().unwrap();
    assert_eq!(captured, invoice.total().unwrap());
    assert_eq!(order.paid, captured, "the capture paid the invoice");
    assert!(
        captured
            .cmp_amount(order.authorisations[0].amount)
            .unwrap()
            .is_lt()
    );
    assert_eq!(
        balance(&s, "1020").await,
        captured,
        "card clearing holds it"
    );

    // The back-ordered rest is cancelled: what is left of the hold is voided.
    s.oms
        .cancel_order(order.id, "customer changed mind", key("cancel"))
        .await
        .unwrap();
    let order = s.oms.order(order.id).await.unwrap();
    assert!(o2c::payment::active(&order).is_none());
    assert!(
        order.authorisations[0]
            .requests
            .iter()
            .all(|r| !r.is_open())
    );
    assert!(
        events(&s)
            .await
            .iter()
            .any(|e| matches!(e, Event::AuthorisationReleased { .. }))
    );
    let totals = s.cards.totals(Currency::USD);
    assert_eq!(totals.captured, captured);
    clean(&s).await;
}

#[tokio::test]
async fn a_declined_card_holds_the_order_or_refuses_it_by_policy() {
    let s = shop().await;
    let bob = card_customer(&s, "Bob", Some(DECLINED_CARD)).await;
    let held = s.oms.place_order(mugs("o-1", bob, 2)).await.unwrap();
    assert_eq!(held.holds, vec![Hold::PaymentDeclined]);
    assert!(held.authorisations.is_empty(), "nothing is taken");
    assert!(matches!(
        s.oms.ship(held.id, key("ship")).await,
        Err(Error::Order(_))
    ));
    // Asking again with the same card is declined again, and changes nothing.
    let again = s.oms.authorise_order(held.id, key("retry")).await;
    assert!(matches!(
        again,
        Err(Error::Payment(PaymentError::Declined { .. }))
    ));
    assert_eq!(
        s.oms.order(held.id).await.unwrap().holds,
        vec![Hold::PaymentDeclined]
    );
    clean(&s).await;

    let strict = shop_with(
        OmsConfig::default()
            .with_payments(PaymentPolicy::new().with_on_decline(DeclinedPayment::Refuse)),
        CardFaults::default(),
    )
    .await;
    let bob = card_customer(&strict, "Bob", None).await;
    let before = strict.oms.events_after(0, 100_000).await.unwrap().len();
    let refused = strict.oms.place_order(mugs("o-1", bob, 2)).await;
    assert!(matches!(
        refused,
        Err(Error::Payment(PaymentError::Declined { .. }))
    ));
    assert_eq!(
        strict.oms.events_after(0, 100_000).await.unwrap().len(),
        before,
        "a refused order writes nothing"
    );
}

#[tokio::test]
async fn a_lost_capture_reply_is_resolved_by_asking_the_provider_never_by_capturing_twice() {
    let s = shop().await;
    let ada = card_customer(&s, "Ada", Some("tok_visa")).await;
    let order = s.oms.place_order(mugs("o-1", ada, 2)).await.unwrap();
    s.cards.set_faults(CardFaults {
        lost_reply_percent: 100,
        ..CardFaults::default()
    });
    s.oms.ship(order.id, key("ship")).await.unwrap();
    let open = s.oms.order(order.id).await.unwrap();
    let request = open.authorisations[0].requests[0].clone();
    assert!(request.is_open(), "the reply was lost: still open");
    assert_eq!(open.paid, usd(dec!(0)));
    clean(&s).await;

    s.cards.set_faults(CardFaults::default());
    let report = s
        .oms
        .run_due(s.clock.now() + Duration::minutes(5))
        .await
        .unwrap();
    assert!(
        report.payments_resolved >= 1,
        "the capture (and the void after it)"
    );
    let done = s.oms.order(order.id).await.unwrap();
    assert!(done.authorisations[0].requests[0].is_done());
    assert_eq!(done.paid, request.amount);
    assert_eq!(
        s.cards.totals(Currency::USD).captured,
        request.amount,
        "taken once"
    );
    // The provider's webhook for it arrives later, twice: nothing more happens.
    let notes = s.cards.notifications();
    for note in notes.iter().chain(notes.iter()) {
        s.oms.apply_payment_event(note).await.unwrap();
    }
    assert_eq!(s.oms.order(order.id).await.unwrap().paid, request.amount);
    clean(&s).await;
}

#[tokio::test]
async fn refunds_go_back_through_the_provider_never_beyond_the_capture() {
    let s = shop().await;
    let ada = card_customer(&s, "Ada", Some("tok_visa")).await;
    let order = s.oms.place_order(mugs("o-1", ada, 2)).await.unwrap();
    s.oms.ship(order.id, key("ship")).await.unwrap();
    let order = s.oms.order(order.id).await.unwrap();
    let invoice = s.oms.invoice(order.invoices[0]).await.unwrap();
    let payment = payment_of(&s, invoice.id).await;
    // Credit one mug, then refund it to the card.
    s.oms
        .issue_credit_note(IssueCreditNote::new(key("credit"), invoice.id, "damaged").line(1, 1))
        .await
        .unwrap();
    let credit = s.oms.customer(ada).await.unwrap().history.credit;
    assert!(credit.is_positive());
    s.oms
        .record_refund(RecordRefund::new(key("refund"), payment, credit))
        .await
        .unwrap();
    assert_eq!(s.cards.totals(Currency::USD).refunded, credit);
    let order = s.oms.order(order.id).await.unwrap();
    assert_eq!(order.authorisations[0].refunded().unwrap(), credit);
    // More than the capture took is refused, and writes nothing.
    let too_much = s
        .oms
        .record_refund(RecordRefund::new(key("refund-2"), payment, usd(dec!(1000))))
        .await;
    assert!(too_much.is_err());
    clean(&s).await;
}

#[tokio::test]
async fn a_refund_the_provider_refuses_is_reversed_into_credit() {
    let s = shop().await;
    let ada = card_customer(&s, "Ada", Some("tok_visa")).await;
    let order = s.oms.place_order(mugs("o-1", ada, 2)).await.unwrap();
    s.oms.ship(order.id, key("ship")).await.unwrap();
    let order = s.oms.order(order.id).await.unwrap();
    let invoice = s.oms.invoice(order.invoices[0]).await.unwrap();
    let payment = payment_of(&s, invoice.id).await;
    s.oms
        .issue_credit_note(IssueCreditNote::new(key("credit"), invoice.id, "damaged").line(1, 1))
        .await
        .unwrap();
    let credit = s.oms.customer(ada).await.unwrap().history.credit;
    // The provider's answer comes back refused (by its notification).
    s.cards.set_faults(CardFaults {
        timeout_percent: 100,
        ..CardFaults::default()
    });
    s.oms
        .record_refund(RecordRefund::new(key("refund"), payment, credit))
        .await
        .unwrap();
    assert_eq!(
        s.oms.customer(ada).await.unwrap().history.credit,
        usd(dec!(0))
    );
    let order = s.oms.order(order.id).await.unwrap();
    let refund = order.authorisations[0]
        .requests
        .iter()
        .find(|r| r.is_open())
        .unwrap()
        .clone();
    s.oms
        .apply_payment_event(&PaymentNotification {
            id: "evt_refused".into(),
            provider: "cards".into(),
            event: ProviderEvent::RequestFailed {
                order: order.id,
                key: refund.key.clone(),
                reason: "card closed".into(),
            },
        })
        .await
        .unwrap();
    assert_eq!(s.oms.customer(ada).await.unwrap().history.credit, credit);
    assert_eq!(
        s.oms.payment(payment).await.unwrap().refund_total(),
        usd(dec!(0))
    );
    assert!(
        events(&s)
            .await
            .iter()
            .any(|e| matches!(e, Event::RefundFailed { .. }))
    );
    clean(&s).await;
}

#[tokio::test]
async fn payouts_move_clearing_to_the_bank_less_the_fee() {
    let s = shop().await;
    let ada = card_customer(&s, "Ada", Some("tok_visa")).await;
    let order = s.oms.place_order(mugs("o-1", ada, 4)).await.unwrap();
    s.oms.ship(order.id, key("ship")).await.unwrap();
    let captured = balance(&s, "1020").await;
    assert!(captured.is_positive());
    s.cards.notifications();
    s.cards.pay_out();
    let notes = s.cards.notifications();
    let Some(ProviderEvent::Settled { gross, fee, .. }) = notes.last().map(|n| n.event.clone())
    else {
        panic!("no payout: {notes:?}");
    };
    for note in &notes {
        s.oms.apply_payment_event(note).await.unwrap();
    }
    // Delivered twice: recorded once.
    s.oms
        .apply_payment_event(&notes[notes.len() - 1])
        .await
        .unwrap();
    assert_eq!(gross, captured);
    assert_eq!(balance(&s, "1020").await, usd(dec!(0)));
    assert_eq!(balance(&s, "5300").await, fee);
    assert_eq!(balance(&s, "1010").await, gross.checked_sub(fee).unwrap());
    clean(&s).await;
}

#[tokio::test]
async fn bad_notifications_and_hand_recorded_card_payments_are_refused_writing_nothing() {
    let s = shop().await;
    let ada = card_customer(&s, "Ada", Some("tok_visa")).await;
    let order = s.oms.place_order(mugs("o-1", ada, 2)).await.unwrap();
    let before = s.oms.events_after(0, 100_000).await.unwrap().len();
    let unknown_order = PaymentNotification {
        id: "evt_1".into(),
        provider: "cards".into(),
        event: ProviderEvent::RequestDone {
            order: o2c::ids::OrderId::from_uuid(uuid::Uuid::nil()),
            key: "x".into(),
            reference: "cap_1".into(),
        },
    };
    assert!(matches!(
        s.oms.apply_payment_event(&unknown_order).await,
        Err(Error::NotFound { .. })
    ));
    let unknown_request = PaymentNotification {
        event: ProviderEvent::RequestDone {
            order: order.id,
            key: "never-sent".into(),
            reference: "cap_1".into(),
        },
        ..unknown_order.clone()
    };
    assert!(matches!(
        s.oms.apply_payment_event(&unknown_request).await,
        Err(Error::Payment(PaymentError::UnknownRequest { .. }))
    ));
    let elsewhere = PaymentNotification {
        provider: "wallet".into(),
        ..unknown_request.clone()
    };
    assert!(matches!(
        s.oms.apply_payment_event(&elsewhere).await,
        Err(Error::Payment(PaymentError::OtherProvider { .. }))
    ));
    let by_hand = s
        .oms
        .record_payment(RecordPayment::new(
            key("pay"),
            o2c::ids::InvoiceId::from_uuid(uuid::Uuid::nil()),
            usd(dec!(1)),
            PaymentMethod::Card,
        ))
        .await;
    assert!(by_hand.is_err());
    assert_eq!(s.oms.events_after(0, 100_000).await.unwrap().len(), before);
    clean(&s).await;
}

#[tokio::test]
async fn a_lapsed_authorisation_is_renewed_for_what_is_left_by_run_due() {
    let s = shop().await;
    let ada = card_customer(&s, "Ada", Some("tok_visa")).await;
    let order = s
        .oms
        .place_order(mugs("o-1", ada, 27).back_order(BackOrderPolicy::ShipAvailable))
        .await
        .unwrap();
    s.oms.ship(order.id, key("ship")).await.unwrap();
    s.clock.advance(Duration::days(8));
    s.cards.expire();
    let report = s.oms.run_due(s.clock.now()).await.unwrap();
    assert_eq!(report.authorisations_lapsed, vec![order.id]);
    let order = s.oms.order(order.id).await.unwrap();
    assert_eq!(order.authorisations.len(), 2);
    let fresh = o2c::payment::active(&order).unwrap();
    assert_eq!(fresh.amount.currency(), Currency::USD);
    assert!(fresh.amount.is_positive());
    assert_eq!(order.status, OrderStatus::Open);
    // The provider's own word of the lapse, after the fact, changes nothing.
    for note in s.cards.notifications() {
        let _ = s.oms.apply_payment_event(&note).await;
    }
    assert_eq!(s.oms.order(order.id).await.unwrap().authorisations.len(), 2);
    clean(&s).await;
}

#[tokio::test]
async fn an_amendment_dearer_than_the_authorisation_is_authorised_afresh() {
    let s = shop().await;
    let ada = card_customer(&s, "Ada", Some("tok_visa")).await;
    let order = s.oms.place_order(mugs("o-1", ada, 2)).await.unwrap();
    let first = order.authorisations[0].clone();
    let amended = s
        .oms
        .amend_order(o2c::order::AmendOrder::new(key("a-1"), order.id).set_quantity(1, 6))
        .await
        .unwrap();
    assert!(amended.invoices.is_empty(), "still invoiced as it ships");
    let order = s.oms.order(order.id).await.unwrap();
    assert_eq!(order.authorisations.len(), 2);
    let fresh = o2c::payment::active(&order).unwrap();
    assert_eq!(fresh.amount, order.value().unwrap());
    assert_ne!(fresh.id, first.id);
    // The old one was voided at the provider.
    assert!(
        s.cards
            .log()
            .iter()
            .any(|l| l.contains("void") && l.contains("done"))
    );
    s.oms.ship(order.id, key("ship")).await.unwrap();
    let order = s.oms.order(order.id).await.unwrap();
    assert_eq!(
        order.paid, order.invoiced,
        "captured in full from the fresh one"
    );
    clean(&s).await;
}

#[tokio::test]
async fn a_capture_refused_holds_the_order_until_the_card_is_authorised_again() {
    let s = shop().await;
    let ada = card_customer(&s, "Ada", Some("tok_visa")).await;
    let order = s
        .oms
        .place_order(mugs("o-1", ada, 27).back_order(BackOrderPolicy::ShipAvailable))
        .await
        .unwrap();
    // The hold lapses at the provider before anyone renews it: the shipment's
    // capture is turned down.
    s.clock.advance(Duration::days(8));
    s.cards.expire();
    s.oms.ship(order.id, key("ship")).await.unwrap();
    let held = s.oms.order(order.id).await.unwrap();
    assert_eq!(held.holds, vec![Hold::PaymentDeclined]);
    assert_eq!(held.paid, usd(dec!(0)));
    assert!(
        events(&s)
            .await
            .iter()
            .any(|e| matches!(e, Event::CaptureFailed { .. }))
    );
    clean(&s).await;
    // Authorised again: the invoice that shipped is captured from the fresh
    // authorisation, and the hold goes.
    let renewed = s.oms.authorise_order(order.id, key("again")).await.unwrap();
    assert!(renewed.holds.is_empty());
    let order = s.oms.order(order.id).await.unwrap();
    assert_eq!(order.paid, order.invoiced, "what shipped is paid");
    clean(&s).await;
}

#[tokio::test]
async fn nothing_ships_unpaid_once_a_declined_hold_is_lifted_by_hand() {
    let s = shop().await;
    let bob = card_customer(&s, "Bob", Some(DECLINED_CARD)).await;
    let held = s.oms.place_order(mugs("o-1", bob, 2)).await.unwrap();
    s.oms
        .release_hold(held.id, Hold::PaymentDeclined, key("lift"))
        .await
        .unwrap();
    let before = s.oms.events_after(0, 100_000).await.unwrap().len();
    assert!(matches!(
        s.oms.ship(held.id, key("ship")).await,
        Err(Error::Payment(PaymentError::NotAuthorised(_)))
    ));
    assert_eq!(s.oms.events_after(0, 100_000).await.unwrap().len(), before);
    clean(&s).await;
}

#[tokio::test]
async fn a_declined_order_nobody_authorises_is_cancelled_by_run_due_and_frees_its_stock() {
    let s = shop().await;
    let bob = card_customer(&s, "Bob", Some(DECLINED_CARD)).await;
    let held = s.oms.place_order(mugs("o-1", bob, 4)).await.unwrap();
    assert_eq!(held.holds, vec![Hold::PaymentDeclined]);
    assert_eq!(mugs_reserved(&s).await, 4);
    // A week is the default: not yet after six days, cancelled after eight.
    s.clock.advance(Duration::days(6));
    assert!(
        s.oms
            .run_due(s.clock.now())
            .await
            .unwrap()
            .cancelled
            .is_empty()
    );
    s.clock.advance(Duration::days(2));
    let report = s.oms.run_due(s.clock.now()).await.unwrap();
    assert_eq!(report.cancelled, vec![held.id]);
    assert_eq!(
        s.oms.order(held.id).await.unwrap().status,
        OrderStatus::Cancelled
    );
    assert_eq!(mugs_reserved(&s).await, 0);
    clean(&s).await;
}

mod properties {
    //! Whatever the provider does — declines, calls lost before or after they
    //! take effect, webhooks twice — and in whatever order orders are placed,
    //! shipped, cancelled and refunded: captured ≤ authorised, refunded ≤
    //! captured, clearing equals captures less refunds less payouts, the audit
    //! is clean after every step, and once every request is resolved the
    //! provider's books and o2c's agree to the cent.
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Place { units: i64, declined: bool },
        Ship(usize),
        Cancel(usize),
        Refund(usize),
        Webhooks,
        PayOut,
        Later { days: i64 },
        Amend { order: usize, units: i64 },
        Authorise(usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => (1i64..8, proptest::bool::weighted(0.15))
                .prop_map(|(units, declined)| Step::Place { units, declined }),
            3 => (0usize..8).prop_map(Step::Ship),
            1 => (0usize..8).prop_map(Step::Cancel),
            1 => (0usize..8).prop_map(Step::Refund),
            2 => Just(Step::Webhooks),
            1 => Just(Step::PayOut),
            1 => (1i64..10).prop_map(|days| Step::Later { days }),
            1 => (0usize..8, 1i64..9).prop_map(|(order, units)| Step::Amend { order, units }),
            1 => (0usize..8).prop_map(Step::Authorise),
        ]
    }

    async fn run(faults: CardFaults, steps: Vec<Step>) {
        let s = shop_with(OmsConfig::default(), faults).await;
        let good = card_customer(&s, "Good", Some("tok_visa")).await;
        let bad = card_customer(&s, "Bad", Some(DECLINED_CARD)).await;
        let mut orders = Vec::new();
        for (n, step) in steps.into_iter().enumerate() {
            let k = |what: &str| key(&format!("{what}-{n}"));
            match step {
                Step::Place { units, declined } => {
                    let who = if declined { bad } else { good };
                    let cmd = mugs(&format!("o-{n}"), who, units)
                        .back_order(BackOrderPolicy::ShipAvailable);
                    if let Ok(o) = s.oms.place_order(cmd).await {
                        orders.push(o.id);
                    }
                }
                Step::Ship(i) => {
                    if let Some(id) = orders.get(i % orders.len().max(1)) {
                        let _ = s.oms.ship(*id, k("ship")).await;
                    }
                }
                Step::Cancel(i) => {
                    if let Some(id) = orders.get(i % orders.len().max(1)) {
                        let _ = s.oms.cancel_order(*id, "changed mind", k("cancel")).await;
                    }
                }
                Step::Refund(i) => {
                    let Some(id) = orders.get(i % orders.len().max(1)) else {
                        continue;
                    };
                    let order = s.oms.order(*id).await.unwrap();
                    let Some(invoice) = order.invoices.first() else {
                        continue;
                    };
                    let note = IssueCreditNote::new(k("credit"), *invoice, "returned").line(1, 1);
                    if s.oms.issue_credit_note(note).await.is_err() {
                        continue;
                    }
                    let credit = s.oms.customer(good).await.unwrap().history.credit;
                    let paid = events(&s).await.into_iter().find_map(|e| match e {
                        Event::PaymentRecorded {
                            payment,
                            invoice: i,
                            ..
                        } if i == *invoice => Some(payment),
                        _ => None,
                    });
                    if let (Some(payment), true) = (paid, credit.is_positive()) {
                        let amount = credit
                            .min(s.oms.payment(payment).await.unwrap().amount)
                            .unwrap();
                        let _ = s
                            .oms
                            .record_refund(RecordRefund::new(k("refund"), payment, amount))
                            .await;
                    }
                }
                Step::Webhooks => {
                    for note in s.cards.notifications() {
                        match s.oms.apply_payment_event(&note).await {
                            Ok(_) | Err(Error::Provider(_)) => {}
                            // A lapse of an authorisation already replaced.
                            Err(Error::Payment(PaymentError::UnknownRequest { .. })) => {}
                            // A lapse of one made for a placement that never
                            // committed (its reply lost, the call given up).
                            Err(Error::NotFound { .. })
                                if matches!(
                                    note.event,
                                    ProviderEvent::AuthorisationExpired { .. }
                                ) => {}
                            Err(e) => panic!("{note:?}: {e}"),
                        }
                    }
                }
                Step::PayOut => s.cards.pay_out(),
                Step::Amend { order, units } => {
                    if let Some(id) = orders.get(order % orders.len().max(1)) {
                        let amend =
                            o2c::order::AmendOrder::new(k("amend"), *id).set_quantity(1, units);
                        let _ = s.oms.amend_order(amend).await;
                    }
                }
                Step::Authorise(i) => {
                    if let Some(id) = orders.get(i % orders.len().max(1)) {
                        let _ = s.oms.authorise_order(*id, k("authorise")).await;
                    }
                }
                Step::Later { days } => {
                    s.clock.advance(Duration::days(days));
                    s.cards.expire();
                    let _ = s.oms.run_due(s.clock.now()).await;
                }
            }
            clean(&s).await;
        }
        // Quiet now: every open request is resolved, every webhook delivered.
        s.cards.set_faults(CardFaults::default());
        for id in &orders {
            s.oms.settle_payments(*id).await.unwrap();
        }
        for note in s.cards.notifications() {
            let _ = s.oms.apply_payment_event(&note).await;
        }
        clean(&s).await;
        let (mut captured, mut refunded) = (usd(dec!(0)), usd(dec!(0)));
        for id in &orders {
            let order = s.oms.order(*id).await.unwrap();
            for auth in &order.authorisations {
                assert!(auth.requests.iter().all(|r| !r.is_open()), "{auth:?}");
                captured = captured.checked_add(auth.captured().unwrap()).unwrap();
                refunded = refunded.checked_add(auth.refunded().unwrap()).unwrap();
            }
        }
        let theirs = s.cards.totals(Currency::USD);
        assert_eq!(theirs.captured, captured, "captures agree");
        assert_eq!(theirs.refunded, refunded, "refunds agree");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn the_provider_and_the_books_agree_whatever_the_faults(
            timeout in 0u8..30,
            lost in 0u8..30,
            duplicate in 0u8..50,
            steps in proptest::collection::vec(step(), 1..40),
        ) {
            let faults = CardFaults {
                decline_percent: 5,
                timeout_percent: timeout,
                lost_reply_percent: lost,
                duplicate_percent: duplicate,
            };
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(run(faults, steps));
        }
    }
}
