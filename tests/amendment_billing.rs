//! Billing around amendments: money freed by an amendment's credit notes paying
//! its new invoice, holds, and the cancels, returns and refunds that come after;
//! free lines credited without a credit note worth nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::ledger::Payment;
use o2c::money::Currency;
use o2c::order::{AmendOrder, Channel, Hold, OrderStatus, PlaceOrder};
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReturnReason};
use o2c::store::Store;
use o2c::{ReceiveReturn, RecordPayment, RecordRefund, RequestReturn};
use rust_decimal_macros::dec;

async fn pay(
    w: &World,
    k: &str,
    invoice: o2c::ids::InvoiceId,
    amount: rust_decimal::Decimal,
) -> Payment {
    w.oms
        .record_payment(RecordPayment::new(
            key(k),
            invoice,
            usd(amount),
            PaymentMethod::Card,
        ))
        .await
        .unwrap()
        .into_inner()
}

async fn payments(w: &World) -> Vec<Payment> {
    w.oms
        .store()
        .list::<Payment>()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.value)
        .collect()
}

/// Prepaid, paid; a swap (TEE cut, MUG grown) is paid from the freed 22.00. The
/// amendment's key is then used for a real card payment: it is a different scope
/// and must be recorded, not replayed as the amendment's internal payment.
#[tokio::test]
async fn the_amendments_key_is_free_for_a_real_payment() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    pay(&w, "pay", order.invoices[0], dec!(57.75)).await;
    let swapped = w
        .oms
        .amend_order(
            AmendOrder::new(key("swap"), order.id)
                .set_quantity(1, 1)
                .set_quantity(2, 3),
        )
        .await
        .unwrap();
    let new_invoice = swapped.invoices[1];
    assert_eq!(payments(&w).await.len(), 2);
    // The same key string as the amendment, for the rest of the new invoice.
    let p = pay(&w, "swap", new_invoice, dec!(5.50)).await;
    assert_eq!(p.method, PaymentMethod::Card);
    assert_eq!(p.applied, usd(dec!(5.50)));
    assert_eq!(payments(&w).await.len(), 3);
    let paid = w.oms.order(order.id).await.unwrap();
    assert!(paid.holds.is_empty(), "{:?}", paid.holds);
    // A retried amendment applies nothing again.
    let again = w
        .oms
        .amend_order(
            AmendOrder::new(key("swap"), order.id)
                .set_quantity(1, 1)
                .set_quantity(2, 3),
        )
        .await
        .unwrap();
    assert_eq!(again.invoices.len(), 2);
    assert_eq!(payments(&w).await.len(), 3);
    assert_audit_clean(&w.oms).await;
}

/// After a swap paid from freed credit, cancelling the order gives back exactly
/// what the card paid, as refundable credit against the card payments.
#[tokio::test]
async fn cancelling_after_a_swap_paid_from_freed_credit_gives_back_the_card_payments() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let p1 = pay(&w, "pay", order.invoices[0], dec!(57.75)).await;
    let swapped = w
        .oms
        .amend_order(
            AmendOrder::new(key("swap"), order.id)
                .set_quantity(1, 1)
                .set_quantity(2, 3),
        )
        .await
        .unwrap();
    let p2 = pay(&w, "pay2", swapped.invoices[1], dec!(5.50)).await;
    let cancelled = w
        .oms
        .cancel_order(
            order.id,
            "changed my mind",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    let h = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(h.credit, usd(dec!(63.25)), "57.75 + 5.50 paid by card");
    assert!(h.balance.is_zero());
    assert_audit_clean(&w.oms).await;
    for (k, p, amount) in [("r1", &p1, dec!(57.75)), ("r2", &p2, dec!(5.50))] {
        w.oms
            .record_refund(RecordRefund::new(key(k), p.id, usd(amount)))
            .await
            .unwrap();
    }
    assert!(w.oms.customer(c.id).await.unwrap().history.credit.is_zero());
    assert_audit_clean(&w.oms).await;
}

/// Prepaid, only partly paid (held AwaitingPayment): a swap's credit note first
/// shrinks what is owed, so nothing is freed and the old credit is untouched; the
/// new invoice is owed in full and the hold stays.
#[tokio::test]
async fn a_swap_on_a_partly_paid_prepaid_order_frees_nothing_and_stays_held() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    pay(&w, "pay", order.invoices[0], dec!(30.00)).await;
    assert_eq!(
        w.oms.order(order.id).await.unwrap().holds,
        vec![Hold::AwaitingPayment]
    );
    let swapped = w
        .oms
        .amend_order(
            AmendOrder::new(key("swap"), order.id)
                .set_quantity(1, 1)
                .set_quantity(2, 3),
        )
        .await
        .unwrap();
    assert_eq!(swapped.holds, vec![Hold::AwaitingPayment]);
    assert_eq!(swapped.status, OrderStatus::OnHold);
    let new = w.oms.invoice(swapped.invoices[1]).await.unwrap();
    assert_eq!(new.outstanding().unwrap(), usd(dec!(27.50)));
    let h = w.oms.customer(c.id).await.unwrap().history;
    assert!(h.credit.is_zero());
    // 57.75 − 30.00 − 22.00 + 27.50
    assert_eq!(h.balance, usd(dec!(33.25)));
    assert_eq!(payments(&w).await.len(), 1, "no credit payment");
    assert_audit_clean(&w.oms).await;
}

/// Prepaid, paid, part shipped, moved where books are zero-rated: the moved
/// line's invoice is paid in full from the freed payment; the rest of the order is
/// cancelled afterwards; every cent the card paid for unshipped books ends as
/// refundable credit; the books shipped stay paid.
#[tokio::test]
async fn a_part_shipped_prepaid_move_then_cancel_the_rest() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = ten_books(&w, "o", c.id).await;
    let total = w
        .oms
        .invoice(order.invoices[0])
        .await
        .unwrap()
        .total()
        .unwrap();
    let p = pay(&w, "pay", order.invoices[0], total.amount()).await;
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let moved = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Ada")))
        .await
        .unwrap();
    assert!(moved.holds.is_empty(), "{:?}", moved.holds);
    let new = w
        .oms
        .invoice(*moved.invoices.last().unwrap())
        .await
        .unwrap();
    assert!(new.outstanding().unwrap().is_zero());
    // 2 × 15.99 × 1.05 = 33.58 freed, 31.98 pays the new invoice.
    assert_eq!(
        w.oms.customer(c.id).await.unwrap().history.credit,
        usd(dec!(1.60))
    );
    assert_audit_clean(&w.oms).await;
    let rest = w
        .oms
        .cancel_order(order.id, "rest", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(rest.status, OrderStatus::Open);
    let h = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(h.credit, usd(dec!(33.58)));
    assert!(h.balance.is_zero());
    assert_audit_clean(&w.oms).await;
    w.oms
        .record_refund(RecordRefund::new(key("r"), p.id, usd(dec!(33.58))))
        .await
        .unwrap();
    deliver_all(&w, order.id).await;
    let done = w.oms.order(order.id).await.unwrap();
    assert_eq!(done.status, OrderStatus::Completed);
    assert_audit_clean(&w.oms).await;
}

/// Prepaid, paid, moved abroad (auto-paid, 1.58 left), paid, shipped, delivered:
/// completes. A TEE of the moved line then comes back: 22.60 credit, refundable
/// against the first card payment.
#[tokio::test]
async fn a_return_from_a_moved_line_after_an_auto_paid_move() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let p1 = pay(&w, "pay", order.invoices[0], dec!(57.75)).await;
    let moved = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Ada")))
        .await
        .unwrap();
    pay(&w, "pay2", *moved.invoices.last().unwrap(), dec!(1.58)).await;
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    deliver_all(&w, order.id).await;
    let done = w.oms.order(order.id).await.unwrap();
    assert_eq!(done.status, OrderStatus::Completed);
    let tee = done
        .lines
        .iter()
        .find(|l| l.sku == sku("TEE") && !l.delivered.is_zero())
        .unwrap()
        .line_no;
    let rma = w
        .oms
        .request_return(RequestReturn::new(key("ret"), order.id).with_lines(vec![(
            tee,
            Quantity::new(1),
            ReturnReason::Damaged,
        )]))
        .await
        .unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .receive_return(ReceiveReturn::new(key("in"), rma.id).with_lines(vec![(
            tee,
            Quantity::new(1),
            Condition::Damaged,
        )]))
        .await
        .unwrap();
    let h = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(h.credit, usd(dec!(22.60)));
    w.oms
        .record_refund(RecordRefund::new(key("r"), p1.id, usd(dec!(22.60))))
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
}

/// Net terms over their limit (because of another order): a swap that makes the
/// order cheaper is not held, one that makes it dearer is.
#[tokio::test]
async fn on_terms_only_a_dearer_amendment_is_held_for_the_credit_limit() {
    let w = world().await;
    let c = customer(
        &w,
        "Acme",
        PaymentTerms::Net { days: 30 },
        Some(usd(dec!(60.00))),
    )
    .await;
    let order = tee2_mug1(&w, "o", c.id).await;
    assert!(order.holds.is_empty());
    let other = w
        .oms
        .place_order(
            PlaceOrder::new(key("o2"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 1),
        )
        .await
        .unwrap();
    assert_eq!(other.holds, vec![Hold::CreditLimit]);
    let cheaper = w
        .oms
        .amend_order(
            AmendOrder::new(key("cheap"), order.id)
                .set_quantity(1, 1)
                .set_quantity(2, 2),
        )
        .await
        .unwrap();
    assert!(cheaper.holds.is_empty(), "{:?}", cheaper.holds);
    let dearer = w
        .oms
        .amend_order(AmendOrder::new(key("dear"), order.id).set_quantity(2, 3))
        .await
        .unwrap();
    assert_eq!(dearer.holds, vec![Hold::CreditLimit]);
    assert_audit_clean(&w.oms).await;
}

fn free_mug() -> o2c::order::Amendment {
    o2c::order::Amendment::AddLine(
        o2c::order::LineRequest::new(sku("MUG"), 1).with_unit_price(Some(usd(dec!(0)))),
    )
}

/// A free gift (a MUG at 0.00) added to an order invoiced on order, then the
/// order moves to Canada. The free line is invoiced, so its open unit moves and is
/// credited: the invoice counts it credited, and no 0.00 credit note is issued
/// (one used to be asked for, refused with `NothingToCredit`, failing the move).
#[tokio::test]
async fn a_move_abroad_credits_an_invoiced_free_line_without_a_note() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let mut gift = AmendOrder::new(key("gift"), order.id);
    gift.changes.push(free_mug());
    let gifted = w.oms.amend_order(gift).await.unwrap();
    assert_eq!(gifted.invoices.len(), 2);
    assert_audit_clean(&w.oms).await;
    let moved = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme")))
        .await;
    let moved = moved.expect("moving an order with a free gift abroad");
    assert!(
        moved.lines.iter().all(|l| {
            l.quantity.saturating_sub(l.cancelled).is_zero() || l.tax_rate == dec!(0.13)
        })
    );
    assert_audit_clean(&w.oms).await;
}

/// Abroad (auto-paid, 1.58 left, held) and home again: the second move frees all
/// 57.75 (C's 1.58 owed is credited first) and pays the home invoice in full, so
/// the order is not held and nothing is left over.
#[tokio::test]
async fn abroad_and_back_on_a_paid_prepaid_order_ends_square() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    pay(&w, "pay", order.invoices[0], dec!(57.75)).await;
    let abroad = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Ada")))
        .await
        .unwrap();
    assert_eq!(abroad.holds, vec![Hold::AwaitingPayment]);
    let home = w
        .oms
        .amend_order(AmendOrder::new(key("us"), order.id).ship_to(us_address("Ada")))
        .await
        .unwrap();
    assert!(home.holds.is_empty(), "{:?}", home.holds);
    assert_eq!(home.status, OrderStatus::Open);
    let h = w.oms.customer(c.id).await.unwrap().history;
    assert!(h.credit.is_zero(), "{h:?}");
    assert!(h.balance.is_zero(), "{h:?}");
    assert_audit_clean(&w.oms).await;
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    deliver_all(&w, order.id).await;
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Completed
    );
    assert_audit_clean(&w.oms).await;
}

/// Prepaid: A paid; an amendment adds a BOOK (B owed, held); the operator
/// overrides the prepayment hold. A swap then frees 22.00 on A and adds a MUG whose
/// invoice C (13.75) the freed credit pays in full. The amendment's new invoice is
/// not owing, so (rule 3: "a prepaid order with a new invoice still owing is
/// held") the amendment does not hold the order again: the older invoice the
/// operator chose to let ship unpaid is not the amendment's business.
#[tokio::test]
async fn a_swap_whose_new_invoice_is_paid_in_full_does_not_undo_a_hold_override() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    pay(&w, "pay", order.invoices[0], dec!(57.75)).await;
    let book = w
        .oms
        .amend_order(AmendOrder::new(key("book"), order.id).add_line(sku("BOOK"), 1))
        .await
        .unwrap();
    assert_eq!(book.holds, vec![Hold::AwaitingPayment]);
    w.oms
        .release_hold(
            order.id,
            Hold::AwaitingPayment,
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    let swapped = w
        .oms
        .amend_order(
            AmendOrder::new(key("swap"), order.id)
                .set_quantity(1, 1)
                .set_quantity(2, 2),
        )
        .await
        .unwrap();
    let new = w
        .oms
        .invoice(*swapped.invoices.last().unwrap())
        .await
        .unwrap();
    assert_eq!(new.total().unwrap(), usd(dec!(13.75)));
    assert!(
        new.outstanding().unwrap().is_zero(),
        "paid from the freed 22.00"
    );
    assert_audit_clean(&w.oms).await;
    assert!(
        swapped.holds.is_empty(),
        "the amendment's own invoice is paid, yet the order was held again: {:?}",
        swapped.holds
    );
}

/// Prepaid with a 10.00 shipping charge and a fixed order discount, paid, moved
/// abroad (auto-paid), then cancelled whole: the shipping charged on the first
/// invoice is credited too, and every cent the card paid ends as credit.
#[tokio::test]
async fn a_moved_order_with_shipping_and_an_order_discount_cancels_square() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD)
                .line(sku("TEE"), 3)
                .line(sku("MUG"), 1)
                .discount(o2c::order::Discount::Amount(usd(dec!(7.01))))
                .shipping(usd(dec!(10.00))),
        )
        .await
        .unwrap();
    let total = w
        .oms
        .invoice(order.invoices[0])
        .await
        .unwrap()
        .total()
        .unwrap();
    pay(&w, "pay", order.invoices[0], total.amount()).await;
    let moved = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Ada")))
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    let new = w
        .oms
        .invoice(*moved.invoices.last().unwrap())
        .await
        .unwrap();
    assert!(new.shipping.is_zero());
    let h = w.oms.customer(c.id).await.unwrap().history;
    assert!(h.credit.is_zero(), "{h:?}");
    let cancelled = w
        .oms
        .cancel_order(order.id, "gone", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    let h = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(
        h.credit, total,
        "everything the card paid, shipping included"
    );
    assert!(h.balance.is_zero());
    assert_audit_clean(&w.oms).await;
}

/// Invoiced on shipment, prepaid (so invoiced on order all the same): part
/// shipped, paid, moved; the moved line is invoiced now and paid from the freed
/// payment; shipping the rest invoices nothing again.
#[tokio::test]
async fn on_shipment_a_prepaid_part_shipped_move_is_paid_from_the_freed_payment() {
    let w = on_shipment().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = ten_books(&w, "o", c.id).await;
    assert_eq!(order.invoices.len(), 1);
    let total = w
        .oms
        .invoice(order.invoices[0])
        .await
        .unwrap()
        .total()
        .unwrap();
    pay(&w, "pay", order.invoices[0], total.amount()).await;
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let moved = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Ada")))
        .await
        .unwrap();
    assert!(moved.holds.is_empty(), "{:?}", moved.holds);
    assert_eq!(moved.invoices.len(), 2);
    assert_audit_clean(&w.oms).await;
    w.oms
        .receive_stock(
            o2c::ReceiveStock::new(key("restock"), sku("BOOK"), loc(WEST), 5)
                .with_reference("restock".into()),
        )
        .await
        .unwrap();
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let shipped = w.oms.order(order.id).await.unwrap();
    assert_eq!(shipped.invoices.len(), 2, "nothing invoiced twice");
    deliver_all(&w, order.id).await;
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Completed
    );
    assert_eq!(
        w.oms.customer(c.id).await.unwrap().history.credit,
        usd(dec!(1.60))
    );
    assert_audit_clean(&w.oms).await;
}

/// The same free gift, removed again before it ships: its invoiced unit is cut
/// and credited without a 0.00 credit note (it used to be refused with
/// `NothingToCredit`).
#[tokio::test]
async fn removing_an_invoiced_free_line_needs_no_credit_note() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let mut gift = AmendOrder::new(key("gift"), order.id);
    gift.changes.push(free_mug());
    w.oms.amend_order(gift).await.unwrap();
    let removed = w
        .oms
        .amend_order(AmendOrder::new(key("rm"), order.id).remove_line(3))
        .await;
    removed.expect("removing a free gift");
    assert_audit_clean(&w.oms).await;
}
