//! Receiving returned goods, decided, in one commit per receipt: resellable units
//! back into stock (waiting back-orders take them first), damaged ones written off,
//! cost of goods reversed at what it shipped at, the order's invoices credited,
//! and — once an exchange's goods are all back — its replacement placed and paid
//! from the credit.

use serde::{Deserialize, Serialize};

use super::exchange::place_replacement;
use super::receipt::{ReceiptReads, restocking};
use super::request::price_replacement;
use super::{Condition, ReturnError, ReturnStatus};
use crate::catalog::{Product, Products};
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{EntryId, IdempotencyKey, ReturnId, Sku};
use crate::ledger::credit_order_lines;
use crate::money::{Money, MoneyError};
use crate::order::{OrderLine, Placing};
use crate::purchasing::{Backlog, average_in, on_hand_everywhere};
use crate::quantity::Quantity;
use crate::stock::{Location, MovementReason, StockMovement};
use crate::store::{Changeset, Entity, Versioned};

/// The command to receive returned goods.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ReceiveReturn {
    /// Same key, same receipt.
    pub idempotency_key: IdempotencyKey,
    /// The return authorisation.
    pub rma: ReturnId,
    /// Units per order line, and the state they arrived in.
    pub lines: Vec<(u16, Quantity, Condition)>,
}

crate::with_setters!(ReceiveReturn {
    with_idempotency_key => idempotency_key: IdempotencyKey,
    with_rma => rma: ReturnId,
    with_lines => lines: Vec<(u16, Quantity, Condition)>,
});

impl ReceiveReturn {
    /// A receipt against return `rma`, with nothing on it yet: add
    /// [`ReceiveReturn::line`]s.
    pub fn new(key: IdempotencyKey, rma: ReturnId) -> Self {
        Self {
            idempotency_key: key,
            rma,
            lines: Vec::new(),
        }
    }

    /// `units` of order line `line_no` arrived, in `condition`.
    #[must_use]
    pub fn line(mut self, line_no: u16, units: u32, condition: Condition) -> Self {
        self.lines.push((line_no, Quantity::new(units), condition));
        self
    }
}

/// What a receipt decided, besides the changes.
#[derive(Debug)]
pub(crate) struct Received {
    /// The return as the receipt leaves it.
    pub rma: super::ReturnAuthorization,
}

/// Decides the receipt of `cmd` from `reads`, into `changes`:
/// - resellable units go back into stock at the chosen location (which must
///   exist) at the cost of goods they shipped at, and waiting back-orders take
///   them first;
/// - damaged units are written off (inventory adjustments);
/// - either way cost of goods sold is reversed at what it was posted at
///   ([`returned_cost`]);
/// - the returned units are credited on the order's invoices (what was paid for
///   them becomes customer credit);
/// - the receipt that brings an exchange's goods all back places its
///   replacement ([`place_replacement`]), or, if the replacement can no longer be
///   priced, records [`Event::ExchangeNotPlaced`] and leaves the credit with the
///   customer.
///
/// Returns `None`, having decided nothing worth keeping, when the replacement is
/// short of stock and `reads` holds no supply: read it and decide again with a
/// fresh changeset.
///
/// # Errors
/// [`ReturnError::Empty`]; [`ReturnError::InvalidTransition`] for a return not
/// authorised; [`ReturnError::BeyondAuthorised`] for units beyond what is
/// expected; [`Error::NotFound`] for an unknown location or a product the cost
/// must come from; [`Error::NotPrefetched`] for a queue `reads` lacks; as
/// [`credit_order_lines`] and [`place_replacement`].
pub(crate) fn receive(
    cmd: &ReceiveReturn,
    reads: &ReceiptReads,
    rules: Placing,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Option<Received>, Error> {
    let mut rma = reads.rma.value.clone();
    if cmd.lines.is_empty() {
        return Err(ReturnError::Empty.into());
    }
    let (mut order, version) = (reads.order.value.clone(), reads.order.version);
    let mut customer = reads.customer.value.clone();
    let now = changes.at;
    // The queues restocked units may fill, with the orders waiting in them (this
    // order aside: the fills work on our copy of it).
    let mut backlog = Backlog::default();
    for sku in restocking(&rma, cmd) {
        backlog.adopt_queue(&sku, reads.queue(&sku)?);
    }
    for waiting in reads.waiting.iter().filter(|w| w.value.id != order.id) {
        backlog.adopt(waiting.value.clone(), waiting.version);
    }
    // Resellable value per SKU, so each SKU's average moves once.
    let mut restocked: Vec<(Sku, Quantity, Money)> = Vec::new();
    let mut credited: Vec<(u16, Quantity)> = Vec::new();
    for (line_no, units, condition) in &cmd.lines {
        rma.receive(*line_no, *units)?;
        let line = order
            .lines
            .iter_mut()
            .find(|l| l.line_no == *line_no)
            .ok_or(ReturnError::NotOnOrder { line_no: *line_no })?;
        let cost = returned_cost(line, *units, &reads.catalogue.products)?;
        // The return took no more than was asked back, itself no more than was
        // delivered: the sum stays within the line.
        line.returned = line.returned.saturating_add(*units);
        let sku = line.sku.clone();
        let restock_at = match condition {
            Condition::Resellable { location } => Some(location),
            Condition::Damaged => None,
        };
        rma.lines
            .iter_mut()
            .find(|l| l.line_no == *line_no)
            .ok_or(ReturnError::BeyondAuthorised {
                line_no: *line_no,
                outstanding: Quantity::ZERO,
                received: *units,
            })?
            .book_cost(*units, cost, restock_at.is_some())?;
        changes.journal.extend(ctx.postings.returned(
            &sku,
            cost,
            restock_at.is_some(),
            ctx.id(EntryId::from_uuid),
            now,
        )?);
        if let Some(location) = restock_at {
            let site = reads
                .catalogue
                .locations
                .iter()
                .find(|l| &l.id == location)
                .ok_or_else(|| Error::unknown_reference(Location::kind(), location))?;
            changes.movements.push(StockMovement {
                sku: sku.clone(),
                location: location.clone(),
                quantity: units.as_i64(),
                reason: MovementReason::Return { rma: rma.id },
                at: now,
                value: None,
            });
            match restocked.iter_mut().find(|(s, _, _)| *s == sku) {
                Some((_, n, value)) => {
                    *n = n.saturating_add(*units);
                    *value = value.checked_add(cost)?;
                }
                None => restocked.push((sku.clone(), *units, cost)),
            }
            // The order may itself wait for this SKU: the fill works on our copy.
            let id = order.id;
            backlog.adopt(order, version);
            backlog.fill(&sku, location, site.fulfils_orders, *units, changes)?;
            order = backlog
                .release(id)
                .ok_or_else(|| Error::inconsistent("return", "lost its order"))?;
        }
        changes.events.push(Event::ReturnReceived {
            rma: rma.id,
            order: order.id,
            sku,
            quantity: *units,
            restocked_at: restock_at.cloned(),
            cost: Some(cost),
        });
        match credited.iter_mut().find(|(l, _)| l == line_no) {
            Some((_, n)) => *n = n.saturating_add(*units),
            None => credited.push((*line_no, *units)),
        }
    }
    // Each SKU's cost takes in what came back at what it cost, over the units read.
    for (sku, units, value) in &restocked {
        let product = reads
            .catalogue
            .products
            .get(sku)
            .zip(reads.product_versions.iter().find(|(s, _)| s == sku))
            .map(|(value, (_, version))| Versioned {
                value: value.clone(),
                version: *version,
            })
            .ok_or_else(|| Error::dangling(Product::kind(), sku))?;
        let on_hand = on_hand_everywhere(&reads.catalogue.levels, sku);
        average_in(&product, on_hand, *units, *value, ctx, changes)?;
    }
    let credit_before = customer.history.credit;
    credit_order_lines(
        (&mut order, &mut customer),
        reads.invoices.clone(),
        &credited,
        false,
        &format!("returned on {}", rma.id),
        ctx,
        changes,
    )?;
    crate::order::settle::settle(&mut order, now, changes)?;
    let gained = customer.history.credit.checked_sub(credit_before)?;
    if gained.is_positive() {
        let given = rma.credit_given.unwrap_or(Money::zero(order.currency));
        rma.credit_given = Some(given.checked_add(gained)?);
    }
    let exchange_due = rma.status == ReturnStatus::Received
        && !rma.replacement.is_empty()
        && rma.replacement_order.is_none();
    if exchange_due {
        let credit = rma
            .credit_given
            .unwrap_or(Money::zero(order.currency))
            .min(customer.history.credit)?;
        // The goods are back whatever happens to the replacement: one that can no
        // longer be priced (its product withdrawn since) leaves the credit with
        // the customer, and the receipt stands.
        match price_replacement(&order, &rma.replacement, &reads.catalogue) {
            Ok(_) => {
                let placed = place_replacement(
                    &rma,
                    &order,
                    &mut customer,
                    credit,
                    reads,
                    rules,
                    &mut backlog,
                    ctx,
                    changes,
                )?;
                let Some(replacement) = placed else {
                    return Ok(None);
                };
                rma.replacement_order = Some(replacement);
            }
            Err(Error::Order(why)) => changes.events.push(Event::ExchangeNotPlaced {
                rma: rma.id,
                order: order.id,
                reason: why.to_string(),
            }),
            Err(other) => return Err(other),
        }
    }
    backlog.put_into(changes);
    changes.update(rma.clone(), reads.rma.version);
    changes.update(order, version);
    changes.move_customer(&reads.customer.value, &customer)?;
    Ok(Some(Received { rma }))
}

/// What `units` more returned units of `line` cost when they shipped: the exact
/// share of the line's posted cost of goods, so returning every shipped unit, in
/// any steps, reverses it to the cent. Lines shipped before costs were recorded
/// cost what their product costs now.
///
/// # Errors
/// [`Error::NotFound`] for a line with no recorded cost whose product `products`
/// lacks; [`Error::Money`] on overflow.
pub(crate) fn returned_cost(
    line: &OrderLine,
    units: Quantity,
    products: &Products,
) -> Result<Money, Error> {
    let shipped = line.shipped;
    let Some(total) = line.shipped_cost.filter(|_| !shipped.is_zero()) else {
        let product = products
            .get(&line.sku)
            .ok_or_else(|| Error::dangling(Product::kind(), &line.sku))?;
        return Ok(product.cost.checked_mul_qty(u64::from(units.units()))?);
    };
    let share = |n: Quantity| -> Result<Money, MoneyError> {
        let n = n.min(shipped);
        let weights = [
            rust_decimal::Decimal::from(n.units()),
            rust_decimal::Decimal::from(shipped.saturating_sub(n).units()),
        ];
        total
            .allocate(&weights)?
            .into_iter()
            .next()
            .ok_or(MoneyError::EmptyAllocation)
    };
    let before = line.returned;
    // Past `shipped` every share is the whole: a sum that would not fit is too.
    Ok(share(before.saturating_add(units))?.checked_sub(share(before)?)?)
}

#[cfg(test)]
mod tests {
    //! Receiving a return, given what the receipt read, with no store.
    use super::super::fixtures::{
        Books, at, receipt, receipt_reads, resellable, rules, sku, usd, warehouse,
    };
    use super::super::receipt::ReplacementSupply;
    use super::*;
    use crate::ids::OrderId;
    use crate::ledger::AccountMap;
    use crate::order::LineRequest;
    use crate::order::Order;
    use crate::purchasing::BackOrderQueue;
    use crate::store::Record;
    use crate::store::{Prefetch, RecordKey, Versioned};

    fn decide(
        cmd: &ReceiveReturn,
        reads: &ReceiptReads,
    ) -> (Result<Option<Received>, Error>, Changeset) {
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let decided = receive(cmd, reads, rules(), &books.ctx(), &mut changes);
        (decided, changes)
    }

    fn received(cmd: &ReceiveReturn, reads: &ReceiptReads) -> (Received, Changeset) {
        let (decided, changes) = decide(cmd, reads);
        (decided.unwrap().unwrap(), changes)
    }

    fn put_orders(changes: &Changeset) -> Vec<(Order, Option<u64>)> {
        changes
            .puts
            .iter()
            .filter_map(|p| match &p.record {
                Record::Order(o) => Some((o.clone(), p.expected)),
                _ => None,
            })
            .collect()
    }

    /// The account an entry debits.
    fn debited(changes: &Changeset) -> Vec<crate::ledger::AccountCode> {
        changes
            .journal
            .iter()
            .flat_map(|e| e.lines())
            .filter(|l| l.amount.is_positive())
            .map(|l| l.account.clone())
            .collect()
    }

    #[test]
    fn a_resellable_unit_goes_back_on_the_shelf_at_what_it_shipped_at() {
        // Given an authorised return of one of two mugs that shipped at 8.00
        let reads = receipt_reads(0);
        // When it comes back fit to sell
        let (done, changes) = received(&receipt(1, resellable()), &reads);
        // Then it is received, restocked at half the posted cost
        assert_eq!(done.rma.status, ReturnStatus::Received);
        assert_eq!(done.rma.lines[0].restocked, Quantity::new(1));
        assert_eq!(done.rma.lines[0].cost_returned, Some(usd(400)));
        assert_eq!(done.rma.lines[0].cost_written_off, Some(usd(0)));
        // the mug's moving-average cost takes it in, over the on-hand read
        assert!(changes.checks.iter().any(|c| matches!(
            c,
            crate::store::Check::SkuOnHand { sku: s, .. } if *s == sku("MUG")
        )));
        // one unit into stock at the warehouse, for this return
        assert_eq!(changes.movements.len(), 1);
        let movement = &changes.movements[0];
        assert_eq!(
            (&movement.sku, &movement.location, movement.quantity),
            (&sku("MUG"), &warehouse(), 1)
        );
        assert_eq!(movement.reason, MovementReason::Return { rma: done.rma.id });
        // its cost back into inventory
        assert!(debited(&changes).contains(&AccountMap::default().inventory));
        assert!(changes.events.contains(&Event::ReturnReceived {
            rma: done.rma.id,
            order: reads.order.value.id,
            sku: sku("MUG"),
            quantity: Quantity::new(1),
            restocked_at: Some(warehouse()),
            cost: Some(usd(400)),
        }));
        // and the order counts it returned, put at the version read
        let orders = put_orders(&changes);
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].0.lines[0].returned, Quantity::new(1));
        assert_eq!(orders[0].1, Some(5));
    }

    #[test]
    fn a_damaged_unit_is_written_off() {
        let reads = receipt_reads(0);
        let (done, changes) = received(&receipt(1, Condition::Damaged), &reads);
        assert!(
            changes.movements.is_empty(),
            "nothing goes back on the shelf"
        );
        assert!(
            !changes
                .checks
                .iter()
                .any(|c| matches!(c, crate::store::Check::SkuOnHand { .. })),
            "no cost moves"
        );
        assert_eq!(done.rma.lines[0].restocked, Quantity::ZERO);
        assert_eq!(done.rma.lines[0].cost_written_off, Some(usd(400)));
        assert!(debited(&changes).contains(&AccountMap::default().inventory_adjustments));
        assert!(changes.events.iter().any(|e| matches!(
            e,
            Event::ReturnReceived {
                restocked_at: None,
                ..
            }
        )));
    }

    #[test]
    fn what_was_paid_for_the_unit_becomes_customer_credit() {
        // Given the order paid in full
        let reads = receipt_reads(0);
        let (done, changes) = received(&receipt(1, resellable()), &reads);
        // Then the mug (10.00 + 10 % tax) is credited on the invoice and to Ada
        assert_eq!(done.rma.credit_given, Some(usd(1100)));
        assert!(changes.events.contains(&Event::CustomerCredited {
            customer: reads.customer.value.id,
            amount: usd(1100),
        }));
        assert!(
            changes
                .puts
                .iter()
                .any(|p| matches!(&p.record, Record::Invoice(i) if i.credited.is_some())),
            "the invoice carries the credit"
        );
        assert!(!changes.merges.is_empty(), "Ada's credit moves");
    }

    #[test]
    fn restocked_units_fill_a_waiting_back_order_first() {
        // Given another order waiting for one mug at any site
        let mut reads = receipt_reads(0);
        let (mut waiting, _, _) = super::super::fixtures::delivered_and_billed();
        waiting.id = OrderId::from_uuid(uuid::Uuid::from_u128(99));
        waiting.lines[0].backordered = Quantity::new(1);
        let mut queue = BackOrderQueue::new(sku("MUG"));
        queue.push(waiting.id, 1, None, Quantity::new(1), at(), 0);
        reads.queues = vec![(
            sku("MUG"),
            Some(Versioned {
                value: queue,
                version: 6,
            }),
        )];
        // the receipt reads it last
        let cmd = receipt(1, resellable());
        let (last, supply) = reads.still_to_read(&cmd).unwrap();
        assert_eq!(last.records, vec![RecordKey::Order(waiting.id)]);
        assert!(!supply);
        reads.waiting = vec![Versioned {
            value: waiting.clone(),
            version: 8,
        }];
        assert!(reads.still_to_read(&cmd).is_none());
        // When the mug comes back
        let (_, changes) = received(&cmd, &reads);
        // Then the waiting order takes it, as a reservation in the same commit
        assert!(changes.events.contains(&Event::BackOrderAllocated {
            order: waiting.id,
            sku: sku("MUG"),
            location: warehouse(),
            quantity: Quantity::new(1),
        }));
        assert_eq!(changes.reservations.len(), 1);
        assert_eq!(changes.reservations[0].order, waiting.id);
        let filled = put_orders(&changes)
            .into_iter()
            .find(|(o, _)| o.id == waiting.id)
            .unwrap();
        assert_eq!(filled.0.lines[0].backordered, Quantity::ZERO);
        assert_eq!(filled.1, Some(8));
    }

    /// `reads` as an exchange of the mug for `replacement`.
    fn exchange(mut reads: ReceiptReads, replacement: Vec<LineRequest>) -> ReceiptReads {
        reads.rma.value.replacement = replacement;
        reads
    }

    #[test]
    fn the_last_receipt_of_an_exchange_places_the_replacement_paid_from_credit() {
        // Given an exchange of the mug for a cup (5.00 + 10 % tax), cups in stock
        let reads = exchange(receipt_reads(5), vec![LineRequest::new(sku("CUP"), 1)]);
        // When the mug comes back
        let (done, changes) = received(&receipt(1, resellable()), &reads);
        // Then the replacement is placed, and 5.50 of the 11.00 credit pays it
        let replacement = done.rma.replacement_order.unwrap();
        assert!(changes.events.contains(&Event::ExchangePlaced {
            rma: done.rma.id,
            order: reads.order.value.id,
            replacement,
            paid_from_credit: usd(550),
        }));
        let placed = changes
            .puts
            .iter()
            .find_map(|p| match &p.record {
                Record::Order(o) if o.id == replacement => Some((o.clone(), p.expected)),
                _ => None,
            })
            .unwrap();
        assert_eq!(placed.1, None, "inserted");
        assert_eq!(placed.0.paid, usd(550));
        assert_eq!(placed.0.lines[0].sku, sku("CUP"));
    }

    #[test]
    fn a_replacement_that_can_no_longer_be_priced_leaves_the_credit() {
        // Given an exchange for a hat the catalogue no longer has
        let reads = exchange(receipt_reads(5), vec![LineRequest::new(sku("HAT"), 1)]);
        // When the mug comes back
        let (done, changes) = received(&receipt(1, resellable()), &reads);
        // Then the receipt stands, nothing is placed, and Ada keeps the credit
        assert_eq!(done.rma.status, ReturnStatus::Received);
        assert_eq!(done.rma.replacement_order, None);
        assert_eq!(done.rma.credit_given, Some(usd(1100)));
        assert!(changes.events.iter().any(|e| matches!(
            e,
            Event::ExchangeNotPlaced { reason, .. } if reason.contains("HAT")
        )));
        assert_eq!(put_orders(&changes).len(), 1, "only the original order");
    }

    #[test]
    fn a_replacement_short_of_stock_asks_for_its_supply_then_waits_for_it() {
        // Given an exchange for a cup when none are in stock, the supply unread
        let mut reads = exchange(receipt_reads(0), vec![LineRequest::new(sku("CUP"), 1)]);
        let cmd = receipt(1, resellable());
        // When the mug comes back, the decision asks for the supply
        let (decided, _) = decide(&cmd, &reads);
        assert!(decided.unwrap().is_none());
        // and given it (no suppliers, no purchase orders, no queue for cups)
        let request = reads.supply_to_read(Prefetch::new());
        assert!(
            request
                .records
                .contains(&RecordKey::BackOrderQueue(sku("CUP")))
        );
        reads.supply = Some(ReplacementSupply {
            suppliers: Vec::new(),
            sent: Vec::new(),
            queues: vec![(sku("CUP"), None)],
        });
        // the replacement is placed back-ordered
        let (done, changes) = received(&cmd, &reads);
        assert!(done.rma.replacement_order.is_some());
        assert!(changes.events.iter().any(|e| matches!(
            e,
            Event::BackOrderCreated { sku: s, quantity, .. }
                if *s == sku("CUP") && *quantity == Quantity::new(1)
        )));
    }

    fn refused(cmd: &ReceiveReturn, reads: &ReceiptReads) -> Error {
        let (decided, _) = decide(cmd, reads);
        decided.unwrap_err()
    }

    #[test]
    fn a_receipt_of_nothing_is_empty() {
        let mut cmd = receipt(1, resellable());
        cmd.lines.clear();
        assert!(matches!(
            refused(&cmd, &receipt_reads(0)),
            Error::Return(ReturnError::Empty)
        ));
    }

    #[test]
    fn a_return_not_authorised_receives_nothing() {
        let mut reads = receipt_reads(0);
        reads.rma.value.status = ReturnStatus::Requested;
        assert!(matches!(
            refused(&receipt(1, resellable()), &reads),
            Error::Return(ReturnError::InvalidTransition {
                status: ReturnStatus::Requested,
                action: "receive",
                ..
            })
        ));
    }

    #[test]
    fn more_than_expected_is_refused() {
        assert_eq!(
            match refused(&receipt(2, Condition::Damaged), &receipt_reads(0)) {
                Error::Return(e) => e,
                other => panic!("{other}"),
            },
            ReturnError::BeyondAuthorised {
                line_no: 1,
                outstanding: Quantity::new(1),
                received: Quantity::new(2)
            }
        );
    }

    #[test]
    fn an_unknown_location_is_not_found() {
        let cmd = receipt(
            1,
            Condition::Resellable {
                location: crate::ids::LocationId::new("NOWHERE").unwrap(),
            },
        );
        assert!(matches!(
            refused(&cmd, &receipt_reads(0)),
            Error::NotFound { entity, id, addressed: false } if entity == Location::kind() && id == "NOWHERE"
        ));
    }

    #[test]
    fn a_queue_not_read_is_a_bug_not_a_guess() {
        let mut reads = receipt_reads(0);
        reads.queues.clear();
        assert!(matches!(
            refused(&receipt(1, resellable()), &reads),
            Error::NotPrefetched {
                key: RecordKey::BackOrderQueue(s)
            } if s == sku("MUG")
        ));
    }

    #[test]
    fn returned_cost_shares_the_posted_cost_to_the_cent() {
        // Given three units shipped at 10.00 in all
        let mut line = receipt_reads(0).order.value.lines[0].clone();
        line.shipped = Quantity::new(3);
        line.shipped_cost = Some(usd(1000));
        let products = Products::default();
        // When they come back one at a time, the shares sum to the cost exactly
        let mut total = usd(0);
        for _ in 0..3 {
            let cost = returned_cost(&line, Quantity::new(1), &products).unwrap();
            total = total.checked_add(cost).unwrap();
            line.returned = Quantity::new(line.returned.units() + 1);
        }
        assert_eq!(total, usd(1000));
    }

    #[test]
    fn a_line_with_no_recorded_cost_costs_its_product_or_is_refused() {
        let mut line = receipt_reads(0).order.value.lines[0].clone();
        line.shipped_cost = None;
        let reads = receipt_reads(0);
        assert_eq!(
            returned_cost(&line, Quantity::new(2), &reads.catalogue.products).unwrap(),
            usd(800)
        );
        assert!(matches!(
            returned_cost(&line, Quantity::new(2), &Products::default()),
            Err(Error::DanglingReference { entity, .. }) if entity == Product::kind()
        ));
    }
}
