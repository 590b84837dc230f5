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
use o2c::quantity::Quantity;
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
        .record_refund(RecordRefund::new(
            key("refund"),
            payment.id,
            usd(dec!(5.00)),
        ))
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
    (w, paid.into_inner(), waiting.into_inner())
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

/// Asserts that one of `found` matches the pattern (and its guard), printing them
/// all if none does.
macro_rules! assert_reported {
    ($found:expr, $($pattern:tt)+) => {
        assert!($found.iter().any(|v| matches!(v, $($pattern)+)), "{:?}", $found)
    };
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
    assert_reported!(
        found,
        Violation::ReservedNotSumOfReservations { sku: s, reserved: 2, reservations: 0, .. } if *s == sku("MUG")
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
    assert_reported!(
        found,
        Violation::ControlAccountMismatch { account, .. } if account.as_str() == "1100"
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
    assert_reported!(
        found,
        Violation::CustomerBalanceMismatch { customer, .. } if *customer == paid.customer
    );
    assert_reported!(
        found,
        Violation::ExpectedBillingMismatch { customer, .. } if *customer == waiting.customer
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
        assert_reported!(
            found,
            Violation::CustomerCreditMismatch { customer, .. } if *customer == who
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
    assert_reported!(
        found,
        Violation::InvoiceInconsistent { invoice, .. } if *invoice == paid.invoices[0]
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
    assert_reported!(
        found,
        Violation::PaymentInconsistent { payment: id, .. } if *id == payment.id
    );
}

#[tokio::test]
async fn order_lines_that_do_not_add_up_are_reported() {
    let (w, paid, _) = busy().await;
    tamper::<Order>(&w, &paid.id, |o| {
        o.lines[0].cancelled = Quantity::new(1);
    })
    .await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::OrderInconsistent { order, .. } if *order == paid.id
    );
}

#[tokio::test]
async fn more_units_released_to_a_warehouse_than_are_reserved_there_is_reported() {
    let (w, _, waiting) = busy().await;
    let line = waiting
        .lines
        .iter()
        .position(|l| !l.reservations.is_empty())
        .unwrap();
    tamper::<Order>(&w, &waiting.id, |o| {
        let held = &mut o.lines.to_mut()[line].reservations[0];
        held.released = Quantity::new(held.quantity.units() + 1);
    })
    .await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::OrderInconsistent { order, reason } if *order == waiting.id && reason.contains("released")
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
    assert_reported!(
        found,
        Violation::BackOrderMismatch { order, queued: 0, backordered: 2, .. } if *order == waiting.id
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
    assert_reported!(
        found,
        Violation::OrderInconsistent { order, reason } if *order == paid.id && reason.contains("its invoices say")
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
    assert_reported!(
        found,
        Violation::OrderInconsistent { order, reason } if *order == paid.id && reason.contains("its invoices bill")
    );
}

// ---------------------------------------------------------------------------
// Damage that passed the audit before 0.2: each is now reported by name.
// ---------------------------------------------------------------------------

/// A balanced entry between two accounts, posted with no document behind it.
async fn stray_entry(
    w: &World,
    from: &AccountCode,
    to: &AccountCode,
    amount: rust_decimal::Decimal,
) {
    let entry = EntryBuilder::new(
        "stray",
        EntrySource::StockAdjustment {
            reason: "nobody's".into(),
        },
    )
    .debit(to, usd(amount))
    .credit(from, usd(amount))
    .build(
        EntryId::from_uuid(uuid::Uuid::from_u128(99)),
        start(),
        &ChartOfAccounts::default(),
    )
    .unwrap();
    let mut changes = Changeset::new(start());
    changes.journal.push(entry);
    w.oms.store().commit(changes).await.unwrap();
}

fn mismatched(found: &[Violation], code: &str) -> bool {
    found.iter().any(
        |v| matches!(v, Violation::AccountMismatch { account, .. } if account.as_str() == code),
    )
}

#[tokio::test]
async fn a_balanced_stray_entry_from_revenue_to_tax_is_reported_on_both_accounts() {
    let (w, _, _) = busy().await;
    assert!(w.oms.audit().await.unwrap().is_clean());
    stray_entry(
        &w,
        &AccountCode::new("2100"),
        &AccountCode::new("4000"),
        dec!(10.00),
    )
    .await;
    let found = violations(&w).await;
    assert!(mismatched(&found, "4000"), "{found:?}");
    assert!(mismatched(&found, "2100"), "{found:?}");
    // The ledger itself is sound: it is the documents that do not explain it.
    assert!(
        !found.iter().any(|v| matches!(
            v,
            Violation::BalanceNotJournal { .. } | Violation::TrialBalanceNotZero { .. }
        )),
        "{found:?}"
    );
}

/// If an account joins the map without a document check, a posting on it that no
/// document explains would pass: every account in the map is tried.
#[tokio::test]
async fn every_account_in_the_map_is_checked_against_its_documents() {
    let accounts = o2c::ledger::AccountMap::default();
    for account in accounts.all() {
        let (w, _, _) = busy().await;
        let other = if *account == accounts.revenue {
            &accounts.bank
        } else {
            &accounts.revenue
        };
        stray_entry(&w, other, account, dec!(1.23)).await;
        let found = violations(&w).await;
        assert!(mismatched(&found, account.as_str()), "{account}: {found:?}");
    }
}

#[tokio::test]
async fn an_invoice_line_with_gross_and_discount_both_raised_is_reported() {
    let (w, paid, _) = busy().await;
    tamper::<Invoice>(&w, &paid.invoices[0], |i| {
        let line = &mut i.lines[0];
        line.gross = line.gross.checked_add(usd(dec!(15.00))).unwrap();
        line.discount = line.discount.checked_add(usd(dec!(15.00))).unwrap();
    })
    .await;
    let found = violations(&w).await;
    // Net, tax and total are unchanged; the line no longer bills its share...
    assert_reported!(
        found,
        Violation::OrderInconsistent { order, reason } if *order == paid.id && reason.contains("share")
    );
    // ...and the revenue and discounts the invoice implies are not what was posted.
    assert!(mismatched(&found, "4000"), "{found:?}");
    assert!(mismatched(&found, "4500"), "{found:?}");
}

#[tokio::test]
async fn an_invoice_line_whose_net_is_not_gross_less_discount_is_reported() {
    let (w, paid, _) = busy().await;
    tamper::<Invoice>(&w, &paid.invoices[0], |i| {
        i.lines[0].discount = usd(dec!(0.50));
    })
    .await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::InvoiceInconsistent { invoice, reason } if *invoice == paid.invoices[0] && reason.contains("≠ net")
    );
}

#[tokio::test]
async fn an_invoice_line_at_another_tax_rate_or_for_another_sku_is_reported() {
    // The money stays as it was: only the rate, or the SKU, names something else.
    for (what, change) in [
        (
            "taxed at",
            Box::new(|i: &mut Invoice| i.lines[0].tax_rate = dec!(0.25))
                as Box<dyn Fn(&mut Invoice)>,
        ),
        (
            "another SKU",
            Box::new(|i: &mut Invoice| i.lines[0].sku = sku("MUG")),
        ),
    ] {
        let (w, paid, _) = busy().await;
        tamper::<Invoice>(&w, &paid.invoices[0], |i| change(i)).await;
        let found = violations(&w).await;
        assert!(
            found.iter().any(|v| matches!(v,
                Violation::OrderInconsistent { order, reason } if *order == paid.id && reason.contains(what))),
            "{what}: {found:?}"
        );
    }
}

#[tokio::test]
async fn a_shipment_whose_lines_were_cleared_is_reported() {
    let (w, paid, _) = busy().await;
    let shipments = w
        .oms
        .ship(paid.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert!(w.oms.audit().await.unwrap().is_clean());
    tamper::<o2c::fulfilment::Shipment>(&w, &shipments[0].id, |s| s.lines.clear()).await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::ShipmentInconsistent { shipment, .. } if *shipment == shipments[0].id
    );
    assert_reported!(
        found,
        Violation::OrderInconsistent { order, reason } if *order == paid.id && reason.contains("shipments carry")
    );
}

#[tokio::test]
async fn a_shipment_that_moved_to_another_order_is_reported() {
    let (w, paid, waiting) = busy().await;
    let shipments = w
        .oms
        .ship(paid.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    tamper::<o2c::fulfilment::Shipment>(&w, &shipments[0].id, |s| s.order = waiting.id).await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::OrderInconsistent { order, .. } if *order == paid.id
    );
}

#[tokio::test]
async fn a_shipment_cost_of_goods_changed_after_posting_is_reported() {
    // With a matching stray entry, so the ledger agrees with the changed shipment:
    // cost of goods must still agree with what the order's lines remember.
    let (w, paid, _) = busy().await;
    let shipments = w
        .oms
        .ship(paid.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    tamper::<o2c::fulfilment::Shipment>(&w, &shipments[0].id, |s| {
        s.cost_of_goods = s.cost_of_goods.checked_add(usd(dec!(3.00))).unwrap();
    })
    .await;
    stray_entry(
        &w,
        &AccountCode::new("5100"),
        &AccountCode::new("5000"),
        dec!(3.00),
    )
    .await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::OrderInconsistent { order, reason } if *order == paid.id && reason.contains("costing")
    );
}

#[tokio::test]
async fn a_shipment_charge_changed_after_posting_is_reported() {
    let (w, paid, _) = busy().await;
    let shipments = w
        .oms
        .ship(paid.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    tamper::<o2c::fulfilment::Shipment>(&w, &shipments[0].id, |s| {
        s.carrier_charge = s.carrier_charge.checked_add(usd(dec!(2.00))).unwrap();
    })
    .await;
    let found = violations(&w).await;
    assert!(mismatched(&found, "5200"), "{found:?}");
    assert!(mismatched(&found, "2300"), "{found:?}");
}

#[tokio::test]
async fn purchase_order_receipts_are_typed_and_checked_against_the_order() {
    let w = world_with(o2c::OmsConfig::default().with_purchasing(
        o2c::PurchasingPolicy::default().with_auto_approve_up_to(Some(usd(dec!(1000.00)))),
    ))
    .await;
    let today = start().date_naive();
    let mut supplier = o2c::purchasing::Supplier::new(
        o2c::ids::SupplierId::from_uuid(uuid::Uuid::from_u128(5)),
        "Cheap",
        Currency::USD,
    );
    supplier.offers = vec![o2c::purchasing::Offer::new(
        sku("TEE"),
        usd(dec!(7.00)),
        10,
        today,
        today + chrono::Days::new(60),
    )];
    w.oms.save_supplier(supplier.clone()).await.unwrap();
    let po = w
        .oms
        .raise_purchase_order(
            supplier.id,
            &loc(EAST),
            &[(sku("TEE"), Quantity::new(5))],
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    w.oms
        .receive_purchase_order(
            o2c::ReceivePurchaseOrder::new(key("grn"), po.id)
                .with_lines(vec![(sku("TEE"), Quantity::new(5))]),
        )
        .await
        .unwrap();
    let moves = w
        .oms
        .store()
        .stock_movements(&sku("TEE"), &loc(EAST))
        .await
        .unwrap();
    let last = moves.last().unwrap();
    assert_eq!(
        (&last.reason, last.value),
        (
            &o2c::stock::MovementReason::PurchaseOrder {
                purchase_order: po.id
            },
            Some(usd(dec!(35.00)))
        ),
        "typed, and valued at what goods received was credited"
    );
    assert!(w.oms.audit().await.unwrap().is_clean());

    // The unit cost changed after receiving: its receipts no longer agree.
    tamper::<o2c::purchasing::PurchaseOrder>(&w, &po.id, |po| {
        po.lines[0].unit_cost = usd(dec!(8.00));
    })
    .await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::PurchaseOrderInconsistent { purchase_order, reason } if *purchase_order == po.id && reason.contains("valued")
    );
    tamper::<o2c::purchasing::PurchaseOrder>(&w, &po.id, |po| {
        po.lines[0].received = Quantity::new(4)
    })
    .await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::PurchaseOrderInconsistent { purchase_order, reason } if *purchase_order == po.id && reason.contains("came into stock")
    );
}

#[tokio::test]
async fn a_return_that_forgot_what_it_restocked_is_reported() {
    let (w, paid, _) = busy().await;
    w.oms
        .ship(paid.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    deliver_all(&w, paid.id).await;
    let rma = w
        .oms
        .request_return(
            o2c::RequestReturn::new(key("rma"), paid.id).with_lines(vec![(
                1,
                Quantity::new(1),
                o2c::returns::ReturnReason::NotAsDescribed,
            )]),
        )
        .await
        .unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .receive_return(
            o2c::ReceiveReturn::new(key("rma-in"), rma.id).with_lines(vec![(
                1,
                Quantity::new(1),
                o2c::returns::Condition::Resellable {
                    location: loc(EAST),
                },
            )]),
        )
        .await
        .unwrap();
    assert!(w.oms.audit().await.unwrap().is_clean());
    tamper::<o2c::returns::ReturnAuthorization>(&w, &rma.id, |r| {
        r.lines[0].cost_written_off = Some(usd(dec!(100.00)));
    })
    .await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::ReturnInconsistent { rma: id, reason } if *id == rma.id && reason.contains("wrote off")
    );
    tamper::<o2c::returns::ReturnAuthorization>(&w, &rma.id, |r| {
        r.lines[0].cost_written_off = Some(usd(dec!(0.00)));
        r.lines[0].restocked = Quantity::new(0);
    })
    .await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::ReturnInconsistent { rma: id, .. } if *id == rma.id
    );
}

#[tokio::test]
async fn a_host_receipt_whose_reference_looks_like_a_purchase_order_is_not_one() {
    let (w, _, _) = busy().await;
    for (n, reference) in [
        "PO 550e8400-e29b-41d4-a716-446655440000".to_owned(),
        format!(
            "PO {}",
            o2c::ids::PurchaseOrderId::from_uuid(uuid::Uuid::from_u128(3))
        ),
    ]
    .into_iter()
    .enumerate()
    {
        w.oms
            .receive_stock(
                o2c::ReceiveStock::new(key(&format!("erp-{n}")), sku("MUG"), loc(EAST), 2)
                    .with_reference(reference),
            )
            .await
            .unwrap();
    }
    let report = w.oms.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
}

#[tokio::test]
async fn an_invoice_or_payment_moved_to_another_customer_is_reported() {
    // The invoice moves: the order no longer bills the customer who placed it.
    let (w, paid, waiting) = busy().await;
    tamper::<Invoice>(&w, &paid.invoices[0], |i| i.customer = waiting.customer).await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::OrderInconsistent { order, reason } if *order == paid.id && reason.contains("placed by")
    );
    // The payment moves: it names another customer than the invoice it paid.
    let (w, _, waiting) = busy().await;
    let payment = w.oms.store().list::<Payment>().await.unwrap()[0]
        .value
        .clone();
    tamper::<Payment>(&w, &payment.id, |p| p.customer = waiting.customer).await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::PaymentInconsistent { payment: id, .. } if *id == payment.id
    );
}

#[tokio::test]
async fn a_shipment_line_naming_another_sku_is_reported() {
    let (w, paid, _) = busy().await;
    let shipments = w
        .oms
        .ship(paid.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    tamper::<o2c::fulfilment::Shipment>(&w, &shipments[0].id, |s| s.lines[0].sku = sku("MUG"))
        .await;
    let found = violations(&w).await;
    assert_reported!(
        found,
        Violation::OrderInconsistent { order, reason } if *order == paid.id && reason.contains("another SKU")
    );
}
