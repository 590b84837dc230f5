//! The amendment decision, given what a command read, with no store.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::fixtures::{address, at, given, given_invoiced, key, order_id, sku, usd, warehouse};
use super::{AmendOrder, Amendment, Decided, Needs};
use crate::customer::PaymentTerms;
use crate::error::Error;
use crate::event::{Event, ReservedStock};
use crate::ledger::{Invoice, InvoicePolicy, InvoiceStatus};
use crate::order::{
    Delivery, Hold, LineRequest, Order, OrderAction, OrderError, OrderStatus, ServiceLevel,
};
use crate::purchasing::{BackOrderPolicy, BackOrderQueue};
use crate::quantity::Quantity;
use crate::stock::{ReservationChange, StockError};
use crate::store::{Check, Merge, Record, Versioned};

fn amend(changes: Vec<Amendment>) -> AmendOrder {
    AmendOrder {
        idempotency_key: key("amend-1"),
        order: order_id(2),
        changes,
    }
}

fn order_error(result: Result<impl std::fmt::Debug, Error>) -> OrderError {
    match result {
        Err(Error::Order(e)) => e,
        other => panic!("expected an order error, got {other:?}"),
    }
}

fn reservation(code: &str, order: u128, quantity: i64) -> ReservationChange {
    ReservationChange {
        sku: sku(code),
        location: warehouse(),
        order: order_id(order),
        quantity,
    }
}

/// The record of kind `E` the changes put, if any.
fn put_of<E: crate::store::Entity>(changes: &crate::store::Changeset, key: &E::Key) -> Option<E> {
    let key = E::record_key(key);
    changes
        .puts
        .iter()
        .find(|p| p.record.key() == key)
        .and_then(|p| E::from_record(p.record.clone()))
}

#[test]
fn adding_a_line_prices_and_reserves_it() {
    let given = given();
    let cmd = amend(vec![Amendment::AddLine(LineRequest::new(sku("POT"), 1))]);

    let (order, buyer, changes) = given.amend(&cmd).unwrap();

    let pot = order.lines.last().unwrap();
    assert_eq!((pot.line_no, pot.quantity), (3, Quantity::new(1)));
    assert_eq!(pot.amounts.net, usd(3000));
    assert_eq!(pot.amounts.tax, usd(300));
    assert_eq!(pot.reservations.len(), 1);
    assert_eq!(changes.reservations, vec![reservation("POT", 2, 1)]);
    // One event for what the amendment reserved.
    assert!(changes.events.contains(&Event::StockReservedForOrder {
        order: order.id,
        reservations: vec![ReservedStock {
            sku: sku("POT"),
            location: pot.reservations[0].location.clone(),
            quantity: Quantity::new(1),
        }],
    }));
    assert_eq!(
        changes.events.first(),
        Some(&Event::OrderAmended {
            order: order.id,
            lines: vec![3],
            ship_to_changed: false,
            value: usd(7000),
        })
    );
    // Not invoiced on terms: expected billing grows by the new line.
    assert_eq!(buyer.history.uninvoiced, usd(7000));
    assert_eq!(buyer.history.lifetime_value, usd(7000));
}

#[test]
fn setting_a_quantity_reprices_an_untouched_line_and_releases_what_it_cut() {
    let given = given();
    let cmd = amend(vec![Amendment::SetQuantity {
        line_no: 1,
        quantity: 1,
    }]);

    let (order, buyer, changes) = given.amend(&cmd).unwrap();

    let mug = order.lines.first().unwrap();
    assert_eq!(mug.quantity, Quantity::new(1));
    assert!(mug.cancelled.is_zero());
    assert_eq!(mug.amounts.net, usd(1000));
    assert_eq!(changes.reservations, vec![reservation("MUG", 2, -1)]);
    assert!(changes.events.contains(&Event::StockReleased {
        order: order.id,
        sku: sku("MUG"),
        location: warehouse(),
        quantity: Quantity::new(1),
    }));
    assert_eq!(buyer.history.uninvoiced, usd(2600));
}

#[test]
fn removing_a_line_cancels_what_has_not_shipped() {
    let given = given();
    let cmd = amend(vec![Amendment::RemoveLine { line_no: 2 }]);

    let (order, _, changes) = given.amend(&cmd).unwrap();

    let cup = order.lines.get(1).unwrap();
    assert_eq!(cup.cancelled, Quantity::new(2));
    assert!(cup.wanted().is_zero());
    assert!(cup.reservations.is_empty());
    assert_eq!(changes.reservations, vec![reservation("CUP", 2, -2)]);
}

#[test]
fn a_new_ship_to_at_home_changes_the_address_and_not_the_tax() {
    let given = given();
    let mut elsewhere = address("GB");
    elsewhere.lines = ["2 Low St".into()].into();
    let cmd = amend(vec![Amendment::ShipTo {
        address: elsewhere.clone(),
    }]);

    let (order, _, changes) = given.amend(&cmd).unwrap();

    assert_eq!(
        order.delivery,
        Delivery::Ship {
            address: Arc::new(elsewhere),
            service: ServiceLevel::Standard,
        }
    );
    assert_eq!(order.lines, given.order.lines);
    assert!(matches!(
        changes.events.first(),
        Some(Event::OrderAmended {
            ship_to_changed: true,
            ..
        })
    ));
}

#[test]
fn a_ship_to_abroad_retaxes_lines_nothing_of_which_is_invoiced() {
    let given = given();
    let cmd = amend(vec![Amendment::ShipTo {
        address: address("FR"),
    }]);

    let (order, _, _) = given.amend(&cmd).unwrap();

    assert_eq!(order.lines.len(), 2, "re-taxed in place");
    let mug = order.lines.first().unwrap();
    assert_eq!(mug.tax_rate, Decimal::new(20, 2));
    assert_eq!(mug.amounts.tax, usd(400));
    assert_eq!(mug.amounts.net, usd(2000));
}

#[test]
fn a_ship_to_abroad_moves_invoiced_open_units_to_a_line_at_the_new_rate() {
    let given = given_invoiced();
    let cmd = amend(vec![Amendment::ShipTo {
        address: address("FR"),
    }]);

    let (order, _, changes) = given.amend(&cmd).unwrap();

    // Both lines' units move, with their reservations, to lines 3 and 4.
    let moved: Vec<_> = order.lines.iter().skip(2).collect();
    assert_eq!(moved.len(), 2);
    let mugs = moved.first().unwrap();
    assert_eq!(mugs.grown_from, Some(1));
    assert_eq!(mugs.tax_rate, Decimal::new(20, 2));
    assert_eq!(
        mugs.reservations.first().map(|r| r.quantity),
        Some(Quantity::new(2))
    );
    assert_eq!(order.lines.first().unwrap().cancelled, Quantity::new(2));
    // The invoiced units that moved are credited: one credit note.
    let credited = changes
        .events
        .iter()
        .filter(|e| matches!(e, Event::CreditNoteIssued { .. }))
        .count();
    assert_eq!(credited, 1);
    assert!(changes.reservations.is_empty(), "reservations stay put");
}

#[test]
fn cutting_invoiced_units_credits_them_on_their_invoice() {
    let given = given_invoiced();
    let cmd = amend(vec![Amendment::SetQuantity {
        line_no: 1,
        quantity: 1,
    }]);

    let (order, buyer, changes) = given.amend(&cmd).unwrap();

    let mug = order.lines.first().unwrap();
    assert_eq!(mug.cancelled, Quantity::new(1));
    let invoice_id = order.invoices.first().copied().unwrap();
    let invoice = put_of::<Invoice>(&changes, &invoice_id).expect("the invoice is credited");
    let line = invoice.lines.iter().find(|l| l.line_no == 1).unwrap();
    assert_eq!(line.credited, Quantity::new(1));
    assert!(changes.events.iter().any(|e| matches!(
        e,
        Event::CreditNoteIssued { total, .. } if *total == usd(1100)
    )));
    // Ada owes 11.00 less.
    assert_eq!(buyer.history.balance, usd(2600));
}

#[test]
fn a_shortfall_asks_for_the_supply_then_is_back_ordered() {
    let mut given = given();
    given.order.back_order_requested = Some(BackOrderPolicy::BackOrder);
    let cmd = amend(vec![Amendment::AddLine(LineRequest::new(sku("POT"), 3))]);
    let mut inputs = given.inputs(&cmd);

    let (decided, ..) = given.decide_on(&cmd, &inputs).unwrap();
    let Decided::Needs(needs) = decided else {
        panic!("decided with no supply: {decided:?}");
    };
    assert_eq!(
        needs,
        Needs {
            supply: true,
            orders: Vec::new()
        }
    );

    inputs.supply = Some((Vec::new(), Vec::new()));
    let (decided, _, changes) = given.decide_on(&cmd, &inputs).unwrap();
    let Decided::Amended(order) = decided else {
        panic!("still undecided");
    };
    let pot = order.lines.last().unwrap();
    assert_eq!(
        pot.reservations.first().map(|r| r.quantity),
        Some(Quantity::new(1))
    );
    assert_eq!(pot.backordered, Quantity::new(2));
    assert_eq!(order.back_order, BackOrderPolicy::BackOrder);
    assert!(changes.events.contains(&Event::BackOrderCreated {
        order: order.id,
        sku: sku("POT"),
        quantity: Quantity::new(2),
        promised_on: None,
    }));
    assert!(
        changes.merges.iter().any(
            |m| matches!(m, Merge::BackOrder(e) if e.sku == sku("POT") && e.line.quantity == Quantity::new(2))
        )
    );
    assert!(changes.checks.contains(&Check::SkuOnHand {
        sku: sku("POT"),
        on_hand: 1,
    }));
}

#[test]
fn a_shortfall_the_policy_rejects_is_refused() {
    let given = given();
    let cmd = amend(vec![Amendment::AddLine(LineRequest::new(sku("POT"), 3))]);

    let got = given.amend(&cmd);

    assert!(matches!(
        got,
        Err(Error::Stock(StockError::Insufficient { ref sku, requested: 3, available: 1 }))
            if *sku == self::sku("POT")
    ));
}

#[test]
fn units_cut_go_to_a_line_waiting_for_them() {
    let mut given = given();
    // Every mug is reserved: 2 for this order, 3 for another, and a third order
    // waits for one.
    given.levels.first_mut().unwrap().reserved = 5;
    let mut waiting = given.order.clone();
    waiting.id = order_id(7);
    for line in &mut waiting.lines {
        line.reservations.clear();
        line.backordered = line.quantity;
    }
    let mut queue = BackOrderQueue::new(sku("MUG"));
    queue.push(waiting.id, 1, None, Quantity::new(2), at(), 0);
    given.queues.push(queue);
    let cmd = amend(vec![Amendment::SetQuantity {
        line_no: 1,
        quantity: 1,
    }]);
    let mut inputs = given.inputs(&cmd);

    let (decided, ..) = given.decide_on(&cmd, &inputs).unwrap();
    let Decided::Needs(needs) = decided else {
        panic!("decided without the waiting order: {decided:?}");
    };
    assert_eq!(
        needs,
        Needs {
            supply: false,
            orders: vec![waiting.id]
        }
    );

    inputs.waiting = Some(vec![Versioned {
        value: waiting.clone(),
        version: 4,
    }]);
    let (decided, _, changes) = given.decide_on(&cmd, &inputs).unwrap();
    assert!(matches!(decided, Decided::Amended(_)));
    assert_eq!(
        changes.reservations,
        vec![reservation("MUG", 2, -1), reservation("MUG", 7, 1)]
    );
    assert!(changes.events.contains(&Event::BackOrderAllocated {
        order: waiting.id,
        sku: sku("MUG"),
        location: warehouse(),
        quantity: Quantity::new(1),
    }));
    let put = changes
        .puts
        .iter()
        .find(|p| matches!(&p.record, Record::Order(o) if o.id == waiting.id))
        .expect("the waiting order is put");
    assert_eq!(put.expected, Some(4));
    let Record::Order(filled) = &put.record else {
        unreachable!()
    };
    assert_eq!(filled.lines.first().unwrap().backordered, Quantity::new(1));
    let queue = put_of::<BackOrderQueue>(&changes, &sku("MUG")).expect("the queue is put");
    assert_eq!(
        queue.waiting.first().map(|w| w.quantity),
        Some(Quantity::new(1))
    );
}

#[test]
fn an_amendment_with_no_changes_is_refused() {
    let given = given();
    assert_eq!(
        order_error(given.amend(&amend(Vec::new()))),
        OrderError::NothingToAmend
    );
}

#[test]
fn an_amendment_that_changes_nothing_is_refused() {
    let given = given();
    let same = amend(vec![Amendment::SetQuantity {
        line_no: 1,
        quantity: 2,
    }]);
    assert_eq!(order_error(given.amend(&same)), OrderError::NothingToAmend);
    let undone = amend(vec![
        Amendment::SetQuantity {
            line_no: 2,
            quantity: 1,
        },
        Amendment::SetQuantity {
            line_no: 2,
            quantity: 2,
        },
    ]);
    assert_eq!(
        order_error(given.amend(&undone)),
        OrderError::NothingToAmend
    );
    let home = amend(vec![Amendment::ShipTo {
        address: address("GB"),
    }]);
    assert_eq!(order_error(given.amend(&home)), OrderError::NothingToAmend);
}

#[test]
fn an_amendment_that_empties_the_order_is_refused() {
    let given = given();
    let cmd = amend(vec![
        Amendment::RemoveLine { line_no: 1 },
        Amendment::RemoveLine { line_no: 2 },
    ]);
    assert_eq!(
        order_error(given.amend(&cmd)),
        OrderError::AmendmentEmptiesOrder
    );
}

#[test]
fn a_closed_order_cannot_be_amended() {
    for status in [OrderStatus::Cancelled, OrderStatus::Completed] {
        let mut given = given();
        given.order.status = status;
        let cmd = amend(vec![Amendment::RemoveLine { line_no: 1 }]);
        assert_eq!(
            order_error(given.amend(&cmd)),
            OrderError::InvalidTransition {
                from: status,
                action: OrderAction::Amend,
            }
        );
    }
}

#[test]
fn an_amendment_is_admitted_only_for_an_order_that_exists() {
    let cmd = amend(vec![Amendment::RemoveLine { line_no: 1 }]);
    assert!(matches!(
        super::admit(&cmd, None),
        Err(Error::NotFound {
            entity: "order",
            ..
        })
    ));
    // No changes is refused before the order is looked for.
    assert_eq!(
        order_error(super::admit(&amend(Vec::new()), None)),
        OrderError::NothingToAmend
    );
}

#[test]
fn changes_a_line_cannot_take_are_refused() {
    let given = given();
    let set = |line_no, quantity| amend(vec![Amendment::SetQuantity { line_no, quantity }]);
    assert_eq!(
        order_error(given.amend(&set(9, 1))),
        OrderError::UnknownLine(9)
    );
    assert_eq!(
        order_error(given.amend(&set(1, -1))),
        OrderError::InvalidQuantity {
            line: 1,
            quantity: -1
        }
    );
    let mut shipped = given;
    shipped.order.lines.first_mut().unwrap().shipped = Quantity::new(1);
    assert_eq!(
        order_error(shipped.amend(&set(1, 0))),
        OrderError::AmendsShippedUnits {
            line: 1,
            shipped: Quantity::new(1),
            asked: 0
        }
    );
}

#[test]
fn ship_to_changes_that_cannot_apply_are_refused() {
    let given = given();
    let nowhere = amend(vec![Amendment::ShipTo {
        address: address("XX1"),
    }]);
    assert_eq!(
        order_error(given.amend(&nowhere)),
        OrderError::InvalidCountry("XX1".into())
    );

    let mut untaxed = self::given();
    untaxed.tax = crate::catalog::TaxTable::new().with_rate(
        crate::catalog::TaxClass::standard(),
        Some("GB"),
        Decimal::new(10, 2),
    );
    let abroad = amend(vec![Amendment::ShipTo {
        address: address("FR"),
    }]);
    assert_eq!(
        order_error(untaxed.amend(&abroad)),
        OrderError::NoTaxRate {
            class: crate::catalog::TaxClass::standard(),
            country: "FR".into(),
        }
    );

    let mut pickup = self::given();
    pickup.order.delivery = Delivery::Pickup {
        location: warehouse(),
    };
    assert_eq!(
        order_error(pickup.amend(&abroad)),
        OrderError::PickupHasNoAddress
    );

    let mut shipped: Order = self::given().order;
    for line in &mut shipped.lines {
        line.shipped = line.quantity;
        line.reservations.clear();
    }
    let mut everything_shipped = self::given();
    everything_shipped.order = shipped;
    assert_eq!(
        order_error(everything_shipped.amend(&abroad)),
        OrderError::EverythingShipped
    );
}

#[test]
fn an_order_invoiced_when_placed_is_invoiced_for_what_was_added() {
    let mut given = given_invoiced();
    given.rules.invoice_policy = InvoicePolicy::OnOrder;
    let cmd = amend(vec![Amendment::AddLine(LineRequest::new(sku("POT"), 1))]);

    let (order, buyer, changes) = given.amend(&cmd).unwrap();

    assert_eq!(order.invoices.len(), 2);
    let new = order.invoices.last().copied().unwrap();
    let invoice = put_of::<Invoice>(&changes, &new).expect("a new invoice");
    assert_eq!(invoice.total().unwrap(), usd(3300));
    assert!(order.fully_billed());
    assert_eq!(buyer.history.uninvoiced, usd(0));
    assert_eq!(buyer.history.balance, usd(7000));
    assert!(order.holds.is_empty(), "on terms, within the limit");
}

#[test]
fn a_prepaid_swap_pays_the_new_invoice_from_the_credit_it_freed_and_holds_the_rest() {
    let mut given = given_invoiced();
    let mut profile = (*given.customer.profile).clone();
    profile.terms = PaymentTerms::Prepaid;
    given.customer.profile = Arc::new(profile);
    let paid = given.invoices.first_mut().unwrap();
    let total = paid.value.total().unwrap();
    paid.value.paid = total;
    paid.value.status = InvoiceStatus::Paid;
    given.order.paid = total;
    given.customer.history.balance = usd(0);
    // One mug fewer (11.00 paid for it), a teapot more (33.00).
    let cmd = amend(vec![
        Amendment::SetQuantity {
            line_no: 1,
            quantity: 1,
        },
        Amendment::AddLine(LineRequest::new(sku("POT"), 1)),
    ]);

    let (order, buyer, changes) = given.amend(&cmd).unwrap();

    let new = order.invoices.last().copied().unwrap();
    let invoice = put_of::<Invoice>(&changes, &new).expect("a new invoice");
    assert_eq!(invoice.total().unwrap(), usd(3300));
    assert_eq!(
        invoice.paid,
        usd(1100),
        "paid from the credit the cut freed"
    );
    assert_eq!(buyer.history.credit, usd(0));
    assert_eq!(order.holds, vec![Hold::AwaitingPayment]);
    assert_eq!(order.status, OrderStatus::OnHold);
    assert!(changes.events.contains(&Event::OrderHeld {
        order: order.id,
        hold: Hold::AwaitingPayment,
    }));
}
