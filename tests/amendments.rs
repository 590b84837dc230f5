//! Amending orders before they ship: stock re-reserved, the order re-priced, the
//! invoice adjusted or credited, all in one commit; only the unshipped part changes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::event::Event;
use o2c::ledger::{AccountCode, InvoicePolicy};
use o2c::money::{Currency, Money};
use o2c::order::{
    AmendOrder, Amendment, Channel, Hold, LineRequest, Order, OrderError, OrderStatus, PlaceOrder,
};
use o2c::purchasing::BackOrderPolicy;
use o2c::quantity::Quantity;
use o2c::store::Store;
use o2c::{Error, OmsConfig, RecordPayment};
use rust_decimal_macros::dec;

async fn balance(w: &World, code: &str) -> Money {
    w.oms
        .trial_balance()
        .await
        .unwrap()
        .balance(&AccountCode::new(code), Currency::USD)
}

async fn level(w: &World, s: &str, at: &str) -> (i64, i64) {
    let l = w.oms.stock_level(&sku(s), &loc(at)).await.unwrap();
    (l.on_hand, l.reserved)
}

#[tokio::test]
async fn before_invoicing_lines_are_repriced_in_place_and_stock_follows() {
    let w = on_shipment().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    assert_eq!(level(&w, "TEE", EAST).await, (10, 2));
    assert_eq!(
        w.oms.customer(c.id).await.unwrap().history.uninvoiced,
        usd(dec!(57.75))
    );
    let cursor = w.oms.store().last_event_sequence().await.unwrap();

    let amended = w
        .oms
        .amend_order(
            AmendOrder::new(key("a"), order.id)
                .set_quantity(1, 5)
                .remove_line(2)
                .add_line(sku("BOOK"), 2),
        )
        .await
        .unwrap();

    // TEE 5 × 20.00 + 10 % = 110.00; MUG gone; BOOK 2 × 15.99 + 5 % = 33.58.
    let tee = &amended.lines[0];
    assert_eq!(tee.quantity, Quantity::new(5));
    assert_eq!(tee.amounts.gross, usd(dec!(100.00)));
    assert_eq!(tee.amounts.tax, usd(dec!(10.00)));
    assert_eq!(amended.lines[1].cancelled, Quantity::new(1));
    assert_eq!(amended.lines[2].line_no, 3);
    assert_eq!(amended.lines[2].amounts.gross, usd(dec!(31.98)));
    assert_eq!(amended.value().unwrap(), usd(dec!(143.58)));
    assert!(amended.lines.iter().all(|l| l.quantities_add_up()));
    // The three TEE added ship with the BOOKs from WH-WEST, the only site with both.
    assert_eq!(level(&w, "TEE", EAST).await, (10, 2));
    assert_eq!(level(&w, "TEE", WEST).await, (10, 3));
    assert_eq!(level(&w, "MUG", EAST).await, (5, 0));
    assert_eq!(level(&w, "BOOK", WEST).await, (8, 2));
    let history = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(history.uninvoiced, usd(dec!(143.58)));
    assert_eq!(history.lifetime_value, usd(dec!(143.58)));
    let events: Vec<Event> = w
        .oms
        .events_after(cursor, usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(matches!(
        &events[0],
        Event::OrderAmended { lines, ship_to_changed: false, value, .. }
            if lines == &vec![1, 2, 3] && *value == usd(dec!(143.58))
    ));
    assert_audit_clean(&w.oms).await;

    // Shipping and invoicing bill exactly the amended order.
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let shipped = w.oms.order(order.id).await.unwrap();
    assert_eq!(shipped.invoiced, usd(dec!(143.58)));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_paid_prepaid_order_is_credited_for_units_cut_and_invoiced_for_units_added() {
    let w = world().await;
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
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Open
    );

    // One TEE fewer: 22.00 back as customer credit, by a credit note.
    let cut = w
        .oms
        .amend_order(AmendOrder::new(key("cut"), order.id).set_quantity(1, 1))
        .await
        .unwrap();
    assert_eq!(cut.lines[0].cancelled, Quantity::new(1));
    assert_eq!(cut.credit_total(), usd(dec!(22.00)));
    assert_eq!(cut.status, OrderStatus::Open);
    assert_eq!(level(&w, "TEE", EAST).await, (10, 1));
    let history = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(history.credit, usd(dec!(22.00)));
    assert_eq!(balance(&w, "1100").await, usd(dec!(0)));

    // Two more MUG: a new line at the same price, a new invoice, held until paid.
    let grown = w
        .oms
        .amend_order(AmendOrder::new(key("grow"), order.id).set_quantity(2, 3))
        .await
        .unwrap();
    assert_eq!(grown.lines.len(), 3);
    assert_eq!(grown.lines[2].sku, sku("MUG"));
    assert_eq!(grown.lines[2].quantity, Quantity::new(2));
    assert_eq!(grown.invoices.len(), 2);
    assert_eq!(grown.status, OrderStatus::OnHold);
    assert_eq!(grown.holds, vec![Hold::AwaitingPayment]);
    let invoice = w.oms.invoice(grown.invoices[1]).await.unwrap();
    // 2 × 12.50 + 10 % = 27.50; no second shipping charge.
    assert_eq!(invoice.total().unwrap(), usd(dec!(27.50)));
    assert_eq!(level(&w, "MUG", EAST).await, (5, 3));
    assert_audit_clean(&w.oms).await;

    // The customer's credit pays it; the hold goes.
    w.oms
        .record_payment(RecordPayment::new(
            key("pay2"),
            grown.invoices[1],
            usd(dec!(22.00)),
            PaymentMethod::CustomerCredit,
        ))
        .await
        .unwrap();
    w.oms
        .record_payment(RecordPayment::new(
            key("pay3"),
            grown.invoices[1],
            usd(dec!(5.50)),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    let paid = w.oms.order(order.id).await.unwrap();
    assert_eq!(paid.status, OrderStatus::Open);
    assert!(paid.holds.is_empty());
    assert_audit_clean(&w.oms).await;
}

/// One amendment that swaps a paid TEE for two MUG: the TEE's payment, freed by
/// its credit note, pays the new invoice as far as it goes.
#[tokio::test]
async fn a_swap_on_a_paid_prepaid_order_is_paid_from_what_the_cut_freed() {
    let w = world().await;
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
    let swapped = w
        .oms
        .amend_order(
            AmendOrder::new(key("swap"), order.id)
                .set_quantity(1, 1)
                .set_quantity(2, 3),
        )
        .await
        .unwrap();
    assert_eq!(swapped.credit_total(), usd(dec!(22.00)));
    let invoice = w.oms.invoice(swapped.invoices[1]).await.unwrap();
    // 2 × 12.50 + 10 % = 27.50, of which the TEE's 22.00 is paid.
    assert_eq!(invoice.total().unwrap(), usd(dec!(27.50)));
    assert_eq!(invoice.outstanding().unwrap(), usd(dec!(5.50)));
    assert_eq!(swapped.holds, vec![Hold::AwaitingPayment]);
    let history = w.oms.customer(c.id).await.unwrap().history;
    assert!(history.credit.is_zero());
    assert_eq!(history.balance, usd(dec!(5.50)));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn after_a_partial_shipment_only_the_unshipped_part_changes() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    // BOOK: 8 in stock, 10 wanted; ship what is there.
    let order = ten_books(&w, "o", c.id).await;
    assert_eq!(order.lines[0].backordered, Quantity::new(2));
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();

    let before = snapshot(&w.oms).await;
    let refused = w
        .oms
        .amend_order(AmendOrder::new(key("below"), order.id).set_quantity(1, 5))
        .await;
    assert_eq!(
        order_error(refused),
        OrderError::AmendsShippedUnits {
            line: 1,
            shipped: Quantity::new(8),
            asked: 5
        }
    );
    assert_eq!(snapshot(&w.oms).await, before);

    // Dropping the two back-ordered units takes them out of the queue and credits
    // the two units invoiced on order.
    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("drop"), order.id).remove_line(1))
        .await
        .unwrap();
    let line = &amended.lines[0];
    assert_eq!(line.backordered, Quantity::ZERO);
    assert_eq!(line.cancelled, Quantity::new(2));
    assert!(line.quantities_add_up());
    // 2 × 15.99 + 5 % = 33.58.
    assert_eq!(amended.credit_total(), usd(dec!(33.58)));
    let queue = w
        .oms
        .store()
        .load::<o2c::purchasing::BackOrderQueue>(&sku("BOOK"))
        .await
        .unwrap();
    assert!(queue.is_none_or(|q| q.value.waiting.is_empty()));

    // Everything left has shipped: no new address.
    let before = snapshot(&w.oms).await;
    let late = w
        .oms
        .amend_order(AmendOrder::new(key("addr"), order.id).ship_to(us_address("Elsewhere")))
        .await;
    assert_eq!(order_error(late), OrderError::EverythingShipped);
    assert_eq!(snapshot(&w.oms).await, before);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn units_freed_by_an_amendment_go_to_the_back_orders_waiting_for_them() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let first = w
        .oms
        .place_order(
            PlaceOrder::new(key("first"), c.id, Channel::B2b, Currency::USD).line(sku("BOOK"), 8),
        )
        .await
        .unwrap();
    let waiting = w
        .oms
        .place_order(
            PlaceOrder::new(key("second"), c.id, Channel::B2b, Currency::USD)
                .line(sku("BOOK"), 3)
                .back_order(BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    assert_eq!(waiting.lines[0].backordered, Quantity::new(3));

    w.oms
        .amend_order(AmendOrder::new(key("a"), first.id).set_quantity(1, 6))
        .await
        .unwrap();
    let waiting = w.oms.order(waiting.id).await.unwrap();
    assert_eq!(waiting.lines[0].backordered, Quantity::new(1));
    assert_eq!(waiting.lines[0].open(), Quantity::new(2));
    assert_eq!(level(&w, "BOOK", WEST).await, (8, 8));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn added_units_short_of_stock_follow_the_back_order_policy() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let before = snapshot(&w.oms).await;
    let short = w
        .oms
        .amend_order(AmendOrder::new(key("a"), order.id).add_line(sku("BOOK"), 9))
        .await;
    assert!(matches!(short, Err(Error::Stock(_))), "{short:?}");
    assert_eq!(snapshot(&w.oms).await, before);

    let b2b = w
        .oms
        .place_order(
            PlaceOrder::new(key("b2b"), c.id, Channel::B2b, Currency::USD)
                .line(sku("TEE"), 1)
                .back_order(BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("b"), b2b.id).add_line(sku("BOOK"), 9))
        .await
        .unwrap();
    assert_eq!(amended.lines[1].open(), Quantity::new(8));
    assert_eq!(amended.lines[1].backordered, Quantity::new(1));
    assert!(!amended.is_ready_to_ship());
    assert_audit_clean(&w.oms).await;
}

/// Short units are decided as placement decided them: by the policy the order
/// named (an explicit `Reject` included), else by the short products' strictest.
#[tokio::test]
async fn added_units_short_of_stock_follow_the_policy_the_order_was_placed_with() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let mut book = w.oms.product(&sku("BOOK")).await.unwrap();
    book.back_order = BackOrderPolicy::BackOrder;
    w.oms.save_product(book).await.unwrap();

    // The order said Reject: the book's own policy does not override it.
    let strict = w
        .oms
        .place_order(
            PlaceOrder::new(key("strict"), c.id, Channel::B2b, Currency::USD)
                .line(sku("TEE"), 1)
                .back_order(BackOrderPolicy::Reject),
        )
        .await
        .unwrap();
    let before = snapshot(&w.oms).await;
    let refused = w
        .oms
        .amend_order(AmendOrder::new(key("a"), strict.id).add_line(sku("BOOK"), 9))
        .await;
    assert!(matches!(refused, Err(Error::Stock(_))), "{refused:?}");
    assert_eq!(snapshot(&w.oms).await, before);

    // Named nothing: the book's policy back-orders the short unit.
    let open = tee2_mug1(&w, "open", c.id).await;
    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("b"), open.id).add_line(sku("BOOK"), 9))
        .await
        .unwrap();
    assert_eq!(amended.lines[2].backordered, Quantity::new(1));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_new_ship_to_address_applies_to_what_has_not_shipped() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let mut address = us_address("Acme");
    address.lines = ["1 New Road".into()].into();
    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("a"), order.id).ship_to(address.clone()))
        .await
        .unwrap();
    match &amended.delivery {
        o2c::order::Delivery::Ship { address: now, .. } => assert_eq!(**now, address),
        other => panic!("{other:?}"),
    }
    // The carrier is booked for the address the order now has.
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(shipments.len(), 1);
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_new_ship_to_abroad_retaxes_lines_nothing_of_which_is_billed_in_place() {
    let w = on_shipment().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    assert_eq!(order.value().unwrap(), usd(dec!(57.75)));

    // At home a new address changes no price.
    let local = w
        .oms
        .amend_order(AmendOrder::new(key("local"), order.id).ship_to(us_address("Acme 2")))
        .await
        .unwrap();
    assert_eq!(local.lines, order.lines);

    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    assert_eq!(amended.lines.len(), 2, "re-taxed in place, no new lines");
    let (tee, mug) = (&amended.lines[0], &amended.lines[1]);
    assert_eq!((tee.tax_rate, mug.tax_rate), (dec!(0.13), dec!(0.13)));
    assert_eq!(tee.amounts.net, usd(dec!(40.00)));
    assert_eq!(tee.amounts.tax, usd(dec!(5.20)));
    assert_eq!(
        tee.reservations, order.lines[0].reservations,
        "stock stays where it was reserved"
    );
    let tax = tee.amounts.tax.checked_add(mug.amounts.tax).unwrap();
    assert_eq!(
        amended.value().unwrap(),
        usd(dec!(52.50)).checked_add(tax).unwrap()
    );
    let buyer = w.oms.customer(c.id).await.unwrap();
    assert_eq!(buyer.history.uninvoiced, amended.value().unwrap());

    // Shipping invoices at the Canadian rate.
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let shipped = w.oms.order(order.id).await.unwrap();
    assert_eq!(shipped.invoiced, amended.value().unwrap());
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_new_ship_to_abroad_moves_a_billed_lines_open_units_to_a_line_at_the_new_rate() {
    let w = world().await; // invoiced on order
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    // BOOK: 8 in stock, 10 wanted; 8 ship, 2 wait, and another order waits behind.
    let order = ten_books(&w, "o", c.id).await;
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let behind = w
        .oms
        .place_order(
            PlaceOrder::new(key("behind"), c.id, Channel::B2b, Currency::USD)
                .line(sku("BOOK"), 1)
                .back_order(BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    // 10 × 15.99 + 5 % = 167.90, and 15.99 + 5 % = 16.79.
    assert_eq!(
        w.oms.customer(c.id).await.unwrap().history.balance,
        usd(dec!(184.69))
    );

    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("ca"), order.id).ship_to(canadian_address("Acme")))
        .await
        .unwrap();
    let (old, moved) = (&amended.lines[0], &amended.lines[1]);
    assert_eq!(old.tax_rate, dec!(0.05), "what shipped keeps its price");
    assert_eq!(
        (old.shipped, old.cancelled),
        (Quantity::new(8), Quantity::new(2))
    );
    assert_eq!(old.backordered, Quantity::ZERO);
    assert_eq!(moved.grown_from, Some(1));
    assert_eq!(moved.tax_rate, dec!(0));
    assert_eq!(moved.quantity, Quantity::new(2));
    assert_eq!(moved.backordered, Quantity::new(2));
    assert!(old.quantities_add_up() && moved.quantities_add_up());
    // The two waiting units were invoiced at 5 % (33.58): credited, and invoiced
    // again zero-rated (31.98).
    assert_eq!(amended.credit_total(), usd(dec!(33.58)));
    assert_eq!(amended.invoices.len(), 2);
    assert_eq!(
        w.oms.customer(c.id).await.unwrap().history.balance,
        usd(dec!(183.09))
    );

    // The moved line keeps its place in the queue: the next two books are its own.
    w.oms
        .receive_stock(
            o2c::ReceiveStock::new(key("books"), sku("BOOK"), loc(WEST), 3)
                .with_reference("restock".into()),
        )
        .await
        .unwrap();
    let filled = w.oms.order(order.id).await.unwrap();
    assert_eq!(filled.lines[1].backordered, Quantity::ZERO);
    assert_eq!(filled.lines[1].open(), Quantity::new(2));
    let behind = w.oms.order(behind.id).await.unwrap();
    assert_eq!(behind.lines[0].backordered, Quantity::ZERO);
    let shipments = w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_eq!(shipments.len(), 1);
    let done = w.oms.order(order.id).await.unwrap();
    assert_eq!(done.lines[1].shipped, Quantity::new(2));
    assert!(done.lines.iter().all(|l| l.open().is_zero()));
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_new_ship_to_where_a_line_has_no_tax_rate_is_refused() {
    let w = world().await;
    cross_border_tax(&w).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let before = snapshot(&w.oms).await;
    let mut london = us_address("Acme");
    london.country = "GB".into();
    let refused = w
        .oms
        .amend_order(AmendOrder::new(key("gb"), order.id).ship_to(london))
        .await;
    assert!(
        matches!(
            order_error(refused),
            OrderError::NoTaxRate { ref country, .. } if country == "GB"
        ),
        "standard goods have no rate in GB"
    );
    assert_eq!(snapshot(&w.oms).await, before);
}

/// Re-pricing in place always scales the discount from the line as placed, never
/// from an already rounded re-pricing: 3 → 2 → 3 units gives back the line as
/// placed, to the cent (scaling 0.67 back up would make 1.01).
#[tokio::test]
async fn repricing_there_and_back_gives_back_the_line_as_placed() {
    let w = on_shipment().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let mut tee = LineRequest::new(sku("TEE"), 3);
    tee.discount = Some(o2c::order::Discount::Amount(usd(dec!(1.00))));
    let mut cmd = PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD);
    cmd.lines = vec![tee];
    let order = w.oms.place_order(cmd).await.unwrap();
    let placed = order.lines[0].amounts;
    for (n, units) in [2, 3].into_iter().enumerate() {
        w.oms
            .amend_order(AmendOrder::new(key(&format!("a{n}")), order.id).set_quantity(1, units))
            .await
            .unwrap();
    }
    assert_eq!(
        w.oms.order(order.id).await.unwrap().lines[0].amounts,
        placed
    );
    // Both in one amendment come back to the line as it is: nothing to amend.
    let both = w
        .oms
        .amend_order(
            AmendOrder::new(key("both"), order.id)
                .set_quantity(1, 2)
                .set_quantity(1, 3),
        )
        .await;
    assert_eq!(order_error(both), OrderError::NothingToAmend);
    assert_eq!(
        w.oms.order(order.id).await.unwrap().lines[0].amounts,
        placed
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn a_retried_amendment_applies_once_and_a_reused_key_is_refused() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let cmd = AmendOrder::new(key("a"), order.id).add_line(sku("BOOK"), 1);
    let first = w.oms.amend_order(cmd.clone()).await.unwrap();
    let again = w.oms.amend_order(cmd).await.unwrap();
    assert_eq!(first.value, again.value);
    assert!(again.replayed && !first.replayed);
    assert_eq!(again.lines.len(), 3);
    let reused = w
        .oms
        .amend_order(AmendOrder::new(key("a"), order.id).add_line(sku("BOOK"), 2))
        .await;
    assert!(
        matches!(reused, Err(Error::IdempotencyKeyReused { .. })),
        "{reused:?}"
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn bad_amendments_are_refused_with_nothing_written() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = tee2_mug1(&w, "o", c.id).await;
    let pickup = w
        .oms
        .place_order(
            PlaceOrder::new(key("p"), c.id, Channel::Store, Currency::USD)
                .line(sku("TEE"), 1)
                .deliver(o2c::order::Delivery::Pickup {
                    location: loc(STORE),
                }),
        )
        .await
        .unwrap();
    let cancelled = tee2_mug1(&w, "gone", c.id).await;
    w.oms
        .cancel_order(
            cancelled.id,
            "changed mind",
            o2c::ids::IdempotencyKey::generate(),
        )
        .await
        .unwrap();
    let before = snapshot(&w.oms).await;

    let cases: Vec<(AmendOrder, OrderError)> = vec![
        (
            AmendOrder::new(key("e"), order.id),
            OrderError::NothingToAmend,
        ),
        (
            AmendOrder::new(key("u"), order.id).set_quantity(9, 1),
            OrderError::UnknownLine(9),
        ),
        (
            AmendOrder::new(key("n"), order.id).set_quantity(1, -1),
            OrderError::InvalidQuantity {
                line: 1,
                quantity: -1,
            },
        ),
        (
            AmendOrder::new(key("z"), order.id).add_line(sku("TEE"), 0),
            OrderError::InvalidQuantity {
                line: 3,
                quantity: 0,
            },
        ),
        (
            AmendOrder::new(key("x"), order.id).add_line(sku("NOPE"), 1),
            OrderError::UnknownSku(sku("NOPE")),
        ),
        (
            AmendOrder::new(key("c"), order.id).with_changes(vec![Amendment::AddLine(
                LineRequest::new(sku("TEE"), 1)
                    .with_unit_price(Some(Money::new(dec!(5), Currency::EUR))),
            )]),
            OrderError::CurrencyMismatch {
                expected: Currency::USD,
                found: Currency::EUR,
            },
        ),
        (
            AmendOrder::new(key("all"), order.id)
                .remove_line(1)
                .remove_line(2),
            OrderError::AmendmentEmptiesOrder,
        ),
        (
            AmendOrder::new(key("pk"), pickup.id).ship_to(us_address("Acme")),
            OrderError::PickupHasNoAddress,
        ),
        (
            AmendOrder::new(key("cx"), cancelled.id).set_quantity(1, 1),
            OrderError::InvalidTransition {
                from: OrderStatus::Cancelled,
                action: o2c::order::OrderAction::Amend,
            },
        ),
    ];
    for (cmd, expected) in cases {
        let got = w.oms.amend_order(cmd.clone()).await;
        assert_eq!(order_error(got), expected, "{cmd:?}");
        assert_eq!(snapshot(&w.oms).await, before, "{cmd:?} wrote something");
    }
    let mut bad_country = us_address("Acme");
    bad_country.country = "USA".into();
    let got = w
        .oms
        .amend_order(AmendOrder::new(key("bc"), order.id).ship_to(bad_country))
        .await;
    assert_eq!(order_error(got), OrderError::InvalidCountry("USA".into()));
    assert_eq!(snapshot(&w.oms).await, before);
    assert_audit_clean(&w.oms).await;
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Step {
        Set { line: u16, quantity: i64 },
        Remove { line: u16 },
        Add { sku: usize, quantity: i64 },
        Ship,
        Pay { cents: i64 },
        CancelRest,
        Move { abroad: bool },
    }

    const SKUS: [&str; 3] = ["TEE", "MUG", "BOOK"];

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => (1u16..5, -1i64..8).prop_map(|(line, quantity)| Step::Set { line, quantity }),
            1 => (1u16..5).prop_map(|line| Step::Remove { line }),
            2 => (0usize..3, 0i64..6).prop_map(|(sku, quantity)| Step::Add { sku, quantity }),
            1 => Just(Step::Ship),
            1 => (1i64..6_000).prop_map(|cents| Step::Pay { cents }),
            1 => Just(Step::CancelRest),
            2 => any::<bool>().prop_map(|abroad| Step::Move { abroad }),
        ]
    }

    /// Units wanted and shipped per line, and the line each was grown from, as a
    /// plain model.
    #[derive(Debug, Default)]
    struct Model {
        wanted: Vec<u32>,
        shipped: Vec<u32>,
        grown_from: Vec<Option<usize>>,
    }

    impl Model {
        fn push(&mut self, wanted: u32, grown_from: Option<usize>) {
            self.wanted.push(wanted);
            self.shipped.push(0);
            self.grown_from.push(grown_from);
        }

        /// The line at `at` and the lines grown from it, oldest first.
        fn family(&self, at: usize) -> Vec<usize> {
            (0..self.wanted.len())
                .filter(|i| *i == at || self.grown_from[*i] == Some(at))
                .collect()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Any mix of amendments, shipments, payments, cancellation and new ship-to
        /// addresses at home and abroad, under both invoice policies and both
        /// payment terms: every line's units are what the model says, never below
        /// what shipped, everything open taxed for where it goes, the customer's
        /// expected billing and the books exact (the audit, after every step),
        /// stock conserved.
        #[test]
        fn amendments_keep_every_invariant(
            on_order in any::<bool>(),
            prepaid in any::<bool>(),
            steps in proptest::collection::vec(step(), 1..20),
        ) {
            pollster::block_on(async {
                let policy = if on_order { InvoicePolicy::OnOrder } else { InvoicePolicy::OnShipment };
                let w = world_with(OmsConfig::default().with_invoice_policy(policy)).await;
                cross_border_tax(&w).await;
                let mut abroad_now = false;
                let terms = if prepaid { PaymentTerms::Prepaid } else { PaymentTerms::Net { days: 30 } };
                let c = customer(&w, "Acme", terms, None).await;
                let order = w.oms.place_order(
                    PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD)
                        .line(sku("TEE"), 2)
                        .line(sku("MUG"), 1)
                        .back_order(BackOrderPolicy::ShipAvailable),
                ).await.unwrap();
                let mut model = Model::default();
                model.push(2, None);
                model.push(1, None);
                for (n, step) in steps.iter().enumerate() {
                    let k = key(&format!("k-{n}"));
                    let before = w.oms.order(order.id).await.unwrap();
                    let amend = |cmd: AmendOrder| w.oms.amend_order(cmd);
                    match step {
                        Step::Set { line, quantity } => {
                            let got = amend(AmendOrder::new(k, order.id).set_quantity(*line, *quantity)).await;
                            apply_set(&mut model, &before, *line, *quantity, got.is_ok());
                        }
                        Step::Remove { line } => {
                            let got = amend(AmendOrder::new(k, order.id).remove_line(*line)).await;
                            let shipped = usize::from(*line)
                                .checked_sub(1)
                                .filter(|at| *at < model.wanted.len())
                                .map_or(0, |at| model.family(at).iter().map(|i| model.shipped[*i]).sum::<u32>());
                            apply_set(&mut model, &before, *line, i64::from(shipped), got.is_ok());
                        }
                        Step::Add { sku: s, quantity } => {
                            let got = amend(AmendOrder::new(k, order.id).add_line(sku(SKUS[*s]), *quantity)).await;
                            prop_assert_eq!(got.is_ok(), *quantity > 0 && before.status != OrderStatus::Completed && before.status != OrderStatus::Cancelled, "{:?}", got);
                            if got.is_ok() {
                                model.push(u32::try_from(*quantity).unwrap(), None);
                            }
                        }
                        Step::Ship => {
                            if w.oms.ship(order.id, o2c::ids::IdempotencyKey::generate()).await.is_ok() {
                                let after = w.oms.order(order.id).await.unwrap();
                                for (m, l) in model.shipped.iter_mut().zip(&after.lines) {
                                    *m = l.shipped.units();
                                }
                            }
                        }
                        Step::Pay { cents } => {
                            if let Some(invoice) = before.invoices.last() {
                                let mut cmd = RecordPayment::new(k, *invoice, Money::from_minor(*cents, Currency::USD), PaymentMethod::Card);
                                cmd.overpayment = o2c::ledger::OverpaymentPolicy::CreditCustomer;
                                let _ = w.oms.record_payment(cmd).await;
                            }
                        }
                        Step::CancelRest => {
                            if w.oms.cancel_order(order.id, "test", o2c::ids::IdempotencyKey::generate()).await.is_ok() {
                                model.wanted.clone_from(&model.shipped);
                            }
                        }
                        Step::Move { abroad } => {
                            let address = if *abroad { canadian_address("Acme") } else { us_address("Acme") };
                            let got = amend(AmendOrder::new(k, order.id).ship_to(address.clone())).await;
                            let open = matches!(before.status, OrderStatus::Open | OrderStatus::OnHold);
                            let unshipped = (0..model.wanted.len()).any(|i| model.wanted[i] > model.shipped[i]);
                            // The address it already ships to changes nothing.
                            let moves = !matches!(&before.delivery, o2c::order::Delivery::Ship { address: now, .. } if **now == address);
                            prop_assert_eq!(got.is_ok(), open && unshipped && moves, "{:?}", got);
                            if got.is_ok() && *abroad != abroad_now {
                                apply_move(&mut model, &before);
                            }
                            if got.is_ok() {
                                abroad_now = *abroad;
                            }
                        }
                    }
                    assert_audit_clean(&w.oms).await;
                    let now = w.oms.order(order.id).await.unwrap();
                    prop_assert_eq!(now.lines.len(), model.wanted.len());
                    for (line, (wanted, shipped)) in now.lines.iter().zip(model.wanted.iter().zip(&model.shipped)) {
                        prop_assert!(line.quantities_add_up(), "{:?}", line);
                        prop_assert_eq!(line.quantity.saturating_sub(line.cancelled).units(), *wanted, "line {}", line.line_no);
                        prop_assert_eq!(line.shipped.units(), *shipped);
                        prop_assert!(line.shipped.units() <= *wanted);
                        if line.shipped.units() < *wanted {
                            let home = if line.sku.as_str() == "BOOK" { dec!(0.05) } else { dec!(0.10) };
                            let away = if line.sku.as_str() == "BOOK" { dec!(0) } else { dec!(0.13) };
                            let rate = if abroad_now { away } else { home };
                            prop_assert_eq!(line.tax_rate, rate, "line {} is open", line.line_no);
                        }
                    }
                }
                Ok(())
            })?;
        }
    }

    /// The model's view of a new ship-to in another country: a line with units to
    /// ship is re-taxed in place if nothing of it is invoiced or shipped, else its
    /// open units move to a new line grown from the same line.
    fn apply_move(model: &mut Model, before: &Order) {
        for i in 0..model.wanted.len() {
            let open = model.wanted[i] - model.shipped[i];
            let l = &before.lines[i];
            let untouched = l.invoiced.is_zero() && l.shipped.is_zero() && l.cancelled.is_zero();
            if open > 0 && !untouched {
                model.wanted[i] = model.shipped[i];
                let root = model.grown_from[i].unwrap_or(i);
                model.push(open, Some(root));
            }
        }
    }

    /// The model's view of `SetQuantity` on a line and the lines grown from it:
    /// refused below what they shipped, for an unknown line, for a closed order,
    /// when nothing would be left, or when it is what they are for already;
    /// otherwise growth goes to the newest member nothing of which is invoiced or
    /// shipped (else to a new grown line), and cuts come off the newest members
    /// first.
    fn apply_set(model: &mut Model, before: &Order, line: u16, quantity: i64, accepted: bool) {
        let Some(at) = usize::from(line)
            .checked_sub(1)
            .filter(|at| *at < model.wanted.len())
        else {
            assert!(!accepted, "line {line} does not exist");
            return;
        };
        let open = matches!(before.status, OrderStatus::Open | OrderStatus::OnHold);
        let Ok(asked) = u32::try_from(quantity) else {
            assert!(!accepted, "negative quantity accepted");
            return;
        };
        let family = model.family(at);
        let shipped: u32 = family.iter().map(|i| model.shipped[*i]).sum();
        let wanted: u32 = family.iter().map(|i| model.wanted[*i]).sum();
        let others: u32 = (0..model.wanted.len())
            .filter(|i| !family.contains(i))
            .map(|i| model.wanted[i])
            .sum();
        let expect = open && asked >= shipped && others + asked > 0 && asked != wanted;
        assert_eq!(
            accepted, expect,
            "set line {line} to {quantity}: {before:?}"
        );
        if !accepted {
            return;
        }
        if asked > wanted {
            let untouched = |i: &usize| {
                let l = &before.lines[*i];
                l.invoiced.is_zero()
                    && l.shipped.is_zero()
                    && l.cancelled.is_zero()
                    && !l.quantity.is_zero()
            };
            match family.iter().rev().find(|i| untouched(i)) {
                Some(i) => model.wanted[*i] += asked - wanted,
                None => model.push(asked - wanted, Some(at)),
            }
        } else {
            let mut left = wanted - asked;
            for i in family.iter().rev() {
                let cut = left.min(model.wanted[*i] - model.shipped[*i]);
                model.wanted[*i] -= cut;
                left -= cut;
            }
        }
    }
}
