//! An order moved to another country: what has not shipped is re-taxed at that
//! country's rate, in place or on a line grown from a billed one, with its
//! reservations, its back-order place and its billing (credits included) following.
//! The first five tests are regressions found in review.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::ids::{CustomerId, OrderId};
use o2c::money::Currency;
use o2c::order::{AmendOrder, Channel, Delivery, Hold, Order, OrderError, OrderStatus, PlaceOrder};
use o2c::purchasing::{BackOrderPolicy, BackOrderQueue};
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReturnReason};
use o2c::store::Store;
use o2c::{ReceiveReturn, RecordPayment, RequestReturn};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

// ---- helpers (copied from tests/amendments.rs, private there) ----

fn home_rate(s: &str) -> Decimal {
    if s == "BOOK" { dec!(0.05) } else { dec!(0.10) }
}

fn ca_rate(s: &str) -> Decimal {
    if s == "BOOK" { dec!(0) } else { dec!(0.13) }
}

/// Every line with units still to ship is taxed at `rate(sku)`.
fn assert_open_lines_taxed(order: &Order, rate: fn(&str) -> Decimal) {
    for l in &order.lines {
        let wanted = l.quantity.saturating_sub(l.cancelled);
        if l.shipped < wanted {
            assert_eq!(
                l.tax_rate,
                rate(l.sku.as_str()),
                "line {} ({}) is open and taxed at {}",
                l.line_no,
                l.sku.as_str(),
                l.tax_rate
            );
        }
    }
}

/// BOOK 10 with 8 in stock, ship-available: 8 ship, 2 back-ordered.
async fn books_part_shipped(w: &World, k: &str, who: CustomerId) -> Order {
    let order = ten_books(w, k, who).await;
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms.order(order.id).await.unwrap()
}

async fn restock_books(w: &World, k: &str, units: i64) {
    w.oms
        .receive_stock(
            o2c::ReceiveStock::new(key(k), sku("BOOK"), loc(WEST), units)
                .with_reference("restock".into()),
        )
        .await
        .unwrap();
}

async fn book_queue(w: &World) -> Vec<(OrderId, u16, u32)> {
    w.oms
        .store()
        .load::<BackOrderQueue>(&sku("BOOK"))
        .await
        .unwrap()
        .map(|q| {
            q.value
                .waiting
                .iter()
                .map(|x| (x.order, x.line_no, x.quantity.units()))
                .collect()
        })
        .unwrap_or_default()
}

// ---- regressions ----

/// Abroad and home again in one amendment, growing a billed line in between: the
/// grown units ship home, so they are taxed at the home rate (new units are taxed
/// for where the order finally goes, not where it pointed mid-amendment).
#[tokio::test]
async fn abroad_and_home_in_one_amendment_taxes_grown_units_for_home() {
    let w = world().await; // invoiced on order: lines are billed
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let amended = w
        .oms
        .amend_order(
            AmendOrder::new(key("a"), order.id)
                .ship_to(canadian_address("Acme"))
                .set_quantity(1, 3)
                .ship_to(us_address("Acme")),
        )
        .await
        .unwrap();
    assert_eq!(amended.lines.len(), 3);
    assert_audit_clean(&w.oms).await;
    assert_open_lines_taxed(&amended, home_rate);
}

/// Same with a line added while the order pointed at Canada.
#[tokio::test]
async fn abroad_and_home_in_one_amendment_taxes_an_added_line_for_home() {
    let w = on_shipment().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let amended = w
        .oms
        .amend_order(
            AmendOrder::new(key("a"), order.id)
                .ship_to(canadian_address("Acme"))
                .add_line(sku("TEE"), 1)
                .ship_to(us_address("Acme")),
        )
        .await
        .unwrap();
    assert_open_lines_taxed(&amended, home_rate);
}

/// Growing a billed line while the order points at a country with no rate for
/// it, before moving on to one that has a rate, is accepted: only the final
/// destination's rate counts.
#[tokio::test]
async fn growing_while_passing_through_a_country_without_a_rate_is_accepted() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let mut london = us_address("Acme");
    london.country = "GB".into();
    let got = w
        .oms
        .amend_order(
            AmendOrder::new(key("a"), order.id)
                .ship_to(london)
                .set_quantity(1, 3)
                .ship_to(canadian_address("Acme")),
        )
        .await;
    let amended = got.expect("the order ends up going to Canada, which taxes TEE");
    assert_open_lines_taxed(&amended, ca_rate);
}

/// A move to where the goods are taxed less makes the order cheaper: though its
/// units are credited and invoiced again, a customer already over their limit
/// (because of another order) does not get this order held.
#[tokio::test]
async fn a_move_that_lowers_the_tax_puts_no_credit_limit_hold() {
    let w = world().await; // invoiced on order
    cross_border_tax(&w).await;
    let c = customer(
        &w,
        "Acme",
        PaymentTerms::Net { days: 30 },
        Some(usd(dec!(200.00))),
    )
    .await;
    // BOOK 8: 8 × 15.99 + 5 % = 134.32 (+ shipping).
    let books = w
        .oms
        .place_order(
            PlaceOrder::new(key("books"), c.id, Channel::B2b, Currency::USD).line(sku("BOOK"), 8),
        )
        .await
        .unwrap();
    assert!(books.holds.is_empty(), "{:?}", books.holds);
    // Another order takes the customer over the limit (and is held itself).
    let tees = w
        .oms
        .place_order(
            PlaceOrder::new(key("tees"), c.id, Channel::B2b, Currency::USD).line(sku("TEE"), 4),
        )
        .await
        .unwrap();
    assert_eq!(tees.holds, vec![Hold::CreditLimit]);
    let exposure_before = {
        let h = w.oms.customer(c.id).await.unwrap().history;
        h.balance.checked_add(h.uninvoiced).unwrap()
    };

    let moved = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), books.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    let exposure_after = {
        let h = w.oms.customer(c.id).await.unwrap().history;
        h.balance.checked_add(h.uninvoiced).unwrap()
    };
    assert!(
        exposure_after.cmp_amount(exposure_before).unwrap().is_lt(),
        "zero-rated in Canada: the customer owes less ({exposure_before} → {exposure_after})"
    );
    assert_audit_clean(&w.oms).await;
    assert!(
        moved.holds.is_empty(),
        "an amendment that made the order cheaper put it on hold: {:?}",
        moved.holds
    );
}

/// A price adjustment credited one unshipped TEE before the move. The move
/// credits only the TEE still invoiced, bills both anew at 13 %, and carries the
/// adjustment over as a credit of one TEE on the new invoice: the customer pays
/// for one TEE, as before, taxed anew, and is never billed again for the unit
/// the credit note took back.
#[tokio::test]
async fn a_move_carries_a_credit_already_given_over_to_the_new_line() {
    let w = world().await; // invoiced on order
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    w.oms
        .issue_credit_note(
            o2c::IssueCreditNote::new(key("goodwill"), order.invoices[0], "price adjustment")
                .with_lines(vec![(1, Quantity::new(1))]),
        )
        .await
        .unwrap();
    let owed_before = w.oms.customer(c.id).await.unwrap().history.balance;
    assert_eq!(owed_before, usd(dec!(35.75)));
    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    let mug = amended
        .lines
        .iter()
        .find(|l| l.sku == sku("MUG") && l.grown_from.is_some())
        .unwrap();
    // One TEE at 22.60 (20.00 + 13 %) and the MUG at its Canadian price.
    let expected = usd(dec!(22.60))
        .checked_add(mug.amounts.net)
        .unwrap()
        .checked_add(mug.amounts.tax)
        .unwrap();
    let owed_after = w.oms.customer(c.id).await.unwrap().history.balance;
    assert_eq!(owed_after, expected, "owed {owed_before} before the move");
    let new_invoice = w
        .oms
        .invoice(*amended.invoices.last().unwrap())
        .await
        .unwrap();
    assert_eq!(new_invoice.credit_total(), usd(dec!(22.60)));
}

// ---- the paths a move takes ----

/// SetQuantity before and after ShipTo in one amendment, on a billed line: every
/// open unit ends at the Canadian rate, cut units credited once, audit clean.
#[tokio::test]
async fn set_quantity_around_ship_to_in_one_amendment() {
    for before_move in [true, false] {
        let w = world().await;
        cross_border_tax(&w).await;
        let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
        let order = tee2_mug1(&w, "o", c.id).await;
        let cmd = AmendOrder::new(key("a"), order.id);
        let cmd = if before_move {
            cmd.set_quantity(1, 5)
                .set_quantity(2, 0)
                .add_line(sku("BOOK"), 1)
                .ship_to(canadian_address("Acme"))
        } else {
            cmd.ship_to(canadian_address("Acme"))
                .set_quantity(1, 5)
                .set_quantity(2, 0)
                .add_line(sku("BOOK"), 1)
        };
        let amended = w.oms.amend_order(cmd).await.unwrap();
        assert_open_lines_taxed(&amended, ca_rate);
        let tee_wanted: u32 = amended
            .lines
            .iter()
            .filter(|l| l.sku == sku("TEE"))
            .map(|l| l.quantity.saturating_sub(l.cancelled).units())
            .sum();
        assert_eq!(tee_wanted, 5, "before_move={before_move}");
        // Mug cut and both tees moved: 2 × 22.00 + 13.75 credited, once.
        assert_eq!(
            amended.credit_total(),
            usd(dec!(57.75)),
            "before_move={before_move}"
        );
        assert!(amended.lines.iter().all(|l| l.quantities_add_up()));
        assert_audit_clean(&w.oms).await;
        w.oms
            .ship(order.id, o2c::ids::IdempotencyKey::generate())
            .await
            .unwrap();
        assert_audit_clean(&w.oms).await;
    }
}

/// A line billed on two invoices (grown after invoicing): both parts move, each
/// credited on its own invoice, and a third invoice bills them at the new rate.
#[tokio::test]
async fn a_family_billed_on_two_invoices_moves_whole() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let grown = w
        .oms
        .amend_order(AmendOrder::new(key("g"), order.id).set_quantity(1, 4))
        .await
        .unwrap();
    assert_eq!(grown.invoices.len(), 2);
    let moved = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    assert_eq!(moved.invoices.len(), 3);
    assert_open_lines_taxed(&moved, ca_rate);
    for id in &moved.invoices[..2] {
        let inv = w.oms.invoice(*id).await.unwrap();
        assert!(
            inv.lines.iter().all(|l| l.credited == l.quantity),
            "invoice {} not fully credited: {:?}",
            inv.number,
            inv.lines
        );
    }
    assert_audit_clean(&w.oms).await;
    // Later SetQuantity on line 1 counts the moved lines as its family.
    let cut = w
        .oms
        .amend_order(AmendOrder::new(key("cut"), order.id).set_quantity(1, 1))
        .await
        .unwrap();
    let tee: u32 = cut
        .lines
        .iter()
        .filter(|l| l.sku == sku("TEE"))
        .map(|l| l.quantity.saturating_sub(l.cancelled).units())
        .sum();
    assert_eq!(tee, 1);
    assert_audit_clean(&w.oms).await;
}

/// Part shipped and delivered, part returned, the rest back-ordered: the move
/// credits exactly the back-ordered units, and the queue follows the new line.
#[tokio::test]
async fn a_partly_returned_line_moves_its_back_ordered_units() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = books_part_shipped(&w, "o", c.id).await;
    deliver_all(&w, order.id).await;
    let rma = w
        .oms
        .request_return(RequestReturn::new(key("r"), order.id).with_lines(vec![(
            1,
            Quantity::new(2),
            ReturnReason::Defective,
        )]))
        .await
        .unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .receive_return(ReceiveReturn::new(key("rin"), rma.id).with_lines(vec![(
            1,
            Quantity::new(2),
            Condition::Damaged,
        )]))
        .await
        .unwrap();
    let credited_before = w.oms.order(order.id).await.unwrap().credit_total();
    let moved = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    // 2 × 15.99 + 5 % = 33.58 more credited.
    assert_eq!(
        moved.credit_total().checked_sub(credited_before).unwrap(),
        usd(dec!(33.58))
    );
    assert_eq!(moved.lines[1].backordered, Quantity::new(2));
    assert_eq!(book_queue(&w).await, vec![(order.id, 2, 2)]);
    assert_audit_clean(&w.oms).await;
    restock_books(&w, "in", 2).await;
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let done = w.oms.order(order.id).await.unwrap();
    assert_eq!(done.lines[1].shipped, Quantity::new(2));
    assert_audit_clean(&w.oms).await;
}

/// To Canada and back home: the moved line moves again (grown from the original),
/// its queue place follows twice, and a later fill and return on it work.
#[tokio::test]
async fn abroad_then_home_again_moves_twice_and_the_queue_follows() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = books_part_shipped(&w, "o", c.id).await;
    let behind = w
        .oms
        .place_order(
            PlaceOrder::new(key("behind"), c.id, Channel::B2b, Currency::USD)
                .line(sku("BOOK"), 1)
                .back_order(BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    w.oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    let home = w
        .oms
        .amend_order(AmendOrder::new(key("us"), order.id).ship_to(us_address("Acme")))
        .await
        .unwrap();
    assert_eq!(home.lines.len(), 3);
    assert_eq!(home.lines[2].grown_from, Some(1));
    assert_eq!(home.lines[2].tax_rate, dec!(0.05));
    assert_eq!(
        book_queue(&w).await,
        vec![(order.id, 3, 2), (behind.id, 1, 1)]
    );
    assert_audit_clean(&w.oms).await;
    restock_books(&w, "in", 2).await;
    assert_eq!(
        w.oms.order(behind.id).await.unwrap().lines[0].backordered,
        Quantity::new(1)
    );
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    deliver_all(&w, order.id).await;
    // Return a unit of the twice-moved line.
    let rma = w
        .oms
        .request_return(RequestReturn::new(key("r"), order.id).with_lines(vec![(
            3,
            Quantity::new(1),
            ReturnReason::Defective,
        )]))
        .await
        .unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .receive_return(ReceiveReturn::new(key("rin"), rma.id).with_lines(vec![(
            3,
            Quantity::new(1),
            Condition::Damaged,
        )]))
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
}

/// Units freed in the same amendment go to the moved line's back-order (the
/// queue entry already points at the new line when `free_released` fills it).
#[tokio::test]
async fn units_freed_in_the_moving_amendment_fill_the_moved_line() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::B2b, Currency::USD)
                .line(sku("BOOK"), 5)
                .line(sku("BOOK"), 5)
                .back_order(BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    assert_eq!(order.lines[1].backordered, Quantity::new(2));
    let amended = w
        .oms
        .amend_order(
            AmendOrder::new(key("a"), order.id)
                .remove_line(1)
                .ship_to(canadian_address("Acme")),
        )
        .await
        .unwrap();
    let moved = amended.lines.last().unwrap();
    assert_eq!(moved.grown_from, Some(2));
    assert_eq!(moved.backordered, Quantity::ZERO);
    assert_eq!(moved.open(), Quantity::new(5));
    assert!(book_queue(&w).await.is_empty());
    assert_open_lines_taxed(&amended, ca_rate);
    assert_audit_clean(&w.oms).await;
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
}

/// Invoiced on shipment: the part shipped stays invoiced at home, the moved
/// back-order is not credited (nothing of it invoiced), and is invoiced at the
/// Canadian rate when it ships after a restock.
#[tokio::test]
async fn on_shipment_a_part_shipped_line_moves_and_is_invoiced_abroad() {
    let w = on_shipment().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = books_part_shipped(&w, "o", c.id).await;
    assert_eq!(order.invoices.len(), 1);
    let moved = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    assert!(moved.credit_total().is_zero());
    assert_eq!(moved.invoices.len(), 1);
    assert_eq!(book_queue(&w).await, vec![(order.id, 2, 2)]);
    assert_audit_clean(&w.oms).await;
    restock_books(&w, "in", 2).await;
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let done = w.oms.order(order.id).await.unwrap();
    assert_eq!(done.invoices.len(), 2);
    let second = w.oms.invoice(done.invoices[1]).await.unwrap();
    assert_eq!(second.lines.len(), 1);
    assert_eq!(
        (second.lines[0].line_no, second.lines[0].tax_rate),
        (2, dec!(0))
    );
    assert_eq!(second.total().unwrap(), usd(dec!(31.98)));
    assert_audit_clean(&w.oms).await;
}

/// Removing the line after the move takes the moved line's units out of the queue.
#[tokio::test]
async fn removing_a_moved_line_takes_its_units_out_of_the_queue() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = books_part_shipped(&w, "o", c.id).await;
    w.oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    let removed = w
        .oms
        .amend_order(AmendOrder::new(key("rm"), order.id).remove_line(1))
        .await
        .unwrap();
    assert!(removed.lines.iter().all(|l| l.backordered.is_zero()));
    assert!(book_queue(&w).await.is_empty());
    assert_audit_clean(&w.oms).await;
}

/// Cancelling after a move (nothing shipped: whole; part shipped: the rest).
#[tokio::test]
async fn cancelling_after_a_move() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    w.oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    let cancelled = w
        .oms
        .cancel_order(order.id, "gone", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(cancelled.credit_total(), cancelled.invoiced);
    let h = w.oms.customer(c.id).await.unwrap().history;
    assert!(h.balance.is_zero() && h.uninvoiced.is_zero(), "{h:?}");
    assert_audit_clean(&w.oms).await;

    let part = books_part_shipped(&w, "p", c.id).await;
    w.oms
        .amend_order(AmendOrder::new(key("ca2"), part.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    let rest = w
        .oms
        .cancel_order(part.id, "rest", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert!(rest.lines.iter().all(|l| l.backordered.is_zero()));
    assert!(book_queue(&w).await.is_empty());
    assert_audit_clean(&w.oms).await;
}

/// A paid prepaid order moved abroad: its payment, freed by the credit note,
/// pays the new invoice at once; only the extra tax is left to pay, and the order
/// waits for it.
#[tokio::test]
async fn a_paid_prepaid_order_moved_abroad_owes_only_the_extra_tax() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    w.oms
        .record_payment(RecordPayment::new(
            key("pay"),
            order.invoices[0],
            usd(dec!(57.75)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    let moved = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    assert_open_lines_taxed(&moved, ca_rate);
    assert_eq!(moved.holds, vec![Hold::AwaitingPayment]);
    let h = w.oms.customer(c.id).await.unwrap().history;
    assert!(
        h.credit.is_zero(),
        "the freed payment went to the new invoice"
    );
    assert_audit_clean(&w.oms).await;
    let new_invoice = *moved.invoices.last().unwrap();
    let owed = w
        .oms
        .invoice(new_invoice)
        .await
        .unwrap()
        .outstanding()
        .unwrap();
    // 40.00 + 12.50 at 13 % = 59.33, of which 57.75 paid from the freed credit.
    assert_eq!(owed, usd(dec!(1.58)));
    w.oms
        .record_payment(RecordPayment::new(
            key("card"),
            new_invoice,
            owed,
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    let paid = w.oms.order(order.id).await.unwrap();
    assert!(paid.holds.is_empty(), "{:?}", paid.holds);
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
}

/// A paid prepaid order of books moved where books are zero-rated: the new invoice
/// is paid in full from the freed payment, the order is not held, and the tax
/// saved stays with the customer as credit.
#[tokio::test]
async fn a_paid_prepaid_order_moved_where_tax_is_lower_is_not_held() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD).line(sku("BOOK"), 2),
        )
        .await
        .unwrap();
    // 2 × 15.99 + 5 % = 33.58.
    w.oms
        .record_payment(RecordPayment::new(
            key("pay"),
            order.invoices[0],
            usd(dec!(33.58)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    let moved = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    assert!(moved.holds.is_empty(), "{:?}", moved.holds);
    assert_eq!(moved.status, OrderStatus::Open);
    let h = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(h.credit, usd(dec!(1.60)), "33.58 paid, 31.98 owed");
    assert!(h.balance.is_zero());
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
}

/// A retry with the same key applies nothing again; a second move to the same
/// country with another key changes nothing.
#[tokio::test]
async fn a_retried_move_applies_once() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let cmd = AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme"));
    let first = w.oms.amend_order(cmd.clone()).await.unwrap();
    let before = snapshot(&w.oms).await;
    let again = w.oms.amend_order(cmd).await.unwrap();
    assert_eq!(first.value, again.value);
    assert!(again.replayed && !first.replayed);
    assert_eq!(snapshot(&w.oms).await, before);
    let same = w
        .oms
        .amend_order(AmendOrder::new(key("ca2"), order.id).ship_to(canadian_address("Acme 2")))
        .await
        .unwrap();
    assert_eq!(same.lines, first.lines);
    assert_eq!(same.invoices, first.invoices);
    assert_audit_clean(&w.oms).await;
}

/// A refused move (no rate for a line) after changes that touched the back-order
/// queue writes nothing.
#[tokio::test]
async fn a_refused_move_after_queue_changes_writes_nothing() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = books_part_shipped(&w, "o", c.id).await;
    let add = w
        .oms
        .amend_order(AmendOrder::new(key("t"), order.id).add_line(sku("TEE"), 1))
        .await
        .unwrap();
    assert_eq!(add.lines.len(), 2);
    let before = snapshot(&w.oms).await;
    let mut london = us_address("Acme");
    london.country = "GB".into();
    let refused = w
        .oms
        .amend_order(
            AmendOrder::new(key("gb"), order.id)
                .set_quantity(1, 9)
                .ship_to(london),
        )
        .await;
    assert!(matches!(order_error(refused), OrderError::NoTaxRate { .. }));
    assert_eq!(snapshot(&w.oms).await, before);
}

/// An exchange on an order moved abroad: the replacement ships to Canada at the
/// Canadian rate.
#[tokio::test]
async fn an_exchange_on_an_order_moved_abroad() {
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
    w.oms
        .record_payment(RecordPayment::new(
            key("pay"),
            order.invoices[0],
            total,
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    w.oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Ada")))
        .await
        .unwrap();
    deliver_all(&w, order.id).await;
    let rma = w
        .oms
        .request_exchange(
            o2c::RequestReturn::new(key("x"), order.id)
                .with_lines(vec![(1, Quantity::new(1), ReturnReason::WrongItem)])
                .exchange()
                .with_replacement(vec![o2c::order::LineRequest::new(sku("TEE"), 1)]),
        )
        .await
        .unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let rma = w
        .oms
        .receive_return(ReceiveReturn::new(key("xin"), rma.id).with_lines(vec![(
            1,
            Quantity::new(1),
            Condition::Damaged,
        )]))
        .await
        .unwrap();
    let replacement = w.oms.order(rma.replacement_order.unwrap()).await.unwrap();
    assert!(
        matches!(&replacement.delivery, Delivery::Ship { address, .. } if &*address.country == "CA")
    );
    assert_eq!(replacement.lines[0].tax_rate, dec!(0.13));
    assert_audit_clean(&w.oms).await;
}

/// A pickup order cannot be moved, and nothing is written.
#[tokio::test]
async fn a_pickup_order_cannot_be_moved() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let pickup = w
        .oms
        .place_order(
            PlaceOrder::new(key("p"), c.id, Channel::Store, Currency::USD)
                .line(sku("TEE"), 1)
                .deliver(Delivery::Pickup {
                    location: loc(STORE),
                }),
        )
        .await
        .unwrap();
    let before = snapshot(&w.oms).await;
    let got = w
        .oms
        .amend_order(
            AmendOrder::new(key("pk"), pickup.id)
                .set_quantity(1, 2)
                .ship_to(canadian_address("Acme")),
        )
        .await;
    assert_eq!(order_error(got), OrderError::PickupHasNoAddress);
    assert_eq!(snapshot(&w.oms).await, before);
}
