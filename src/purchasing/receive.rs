//! Receiving goods against a purchase order, and the moving-average cost every
//! receipt into stock brings the SKU to.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Backlog, PurchaseOrder, PurchasingError, Supplier, Supply, lifecycle};
use crate::catalog::{Product, Products};
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{EntryId, IdempotencyKey, PurchaseOrderId, Sku};
use crate::money::{Money, Rounding};
use crate::quantity::Quantity;
use crate::stock::{Location, MovementReason, StockLevel, StockMovement};
use crate::store::{Changeset, Check, Entity, RecordKey, Versioned};

use super::PurchasingPolicy;

/// The command to receive goods against a purchase order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ReceivePurchaseOrder {
    /// Makes a retried receipt count once.
    pub idempotency_key: IdempotencyKey,
    /// The purchase order.
    pub purchase_order: PurchaseOrderId,
    /// Units received per SKU (each SKU once).
    pub lines: Vec<(Sku, Quantity)>,
}

crate::with_setters!(ReceivePurchaseOrder {
    with_idempotency_key => idempotency_key: IdempotencyKey,
    with_purchase_order => purchase_order: PurchaseOrderId,
    with_lines => lines: Vec<(Sku, Quantity)>,
});

impl ReceivePurchaseOrder {
    /// A receipt against `purchase_order`, with nothing on it yet: add
    /// [`ReceivePurchaseOrder::line`]s.
    pub fn new(key: IdempotencyKey, purchase_order: PurchaseOrderId) -> Self {
        Self {
            idempotency_key: key,
            purchase_order,
            lines: Vec::new(),
        }
    }

    /// `units` of `sku` arrived.
    #[must_use]
    pub fn line(mut self, sku: Sku, units: u32) -> Self {
        self.lines.push((sku, Quantity::new(units)));
        self
    }
}

/// What a receipt decides on besides the purchase order and the back-orders: the
/// products of the SKUs received (with their versions, for the new average cost),
/// their stock everywhere, the locations, and the supply of those SKUs — the
/// suppliers offering them and the purchase orders open for them (promise dates
/// come from the sent ones).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Receiving<'a> {
    /// The products of the SKUs the command names, as read.
    pub products: &'a [Versioned<Product>],
    /// Their stock at every location.
    pub stock: &'a [StockLevel],
    /// Every location.
    pub locations: &'a [Location],
    /// The suppliers, at least those offering the SKUs received.
    pub suppliers: &'a [Supplier],
    /// The purchase orders as read, at least those open for the SKUs received.
    pub purchase_orders: &'a [PurchaseOrder],
}

/// Receives `cmd` against `po` at its ship-to location: on-hand rises through a
/// receipt movement; inventory is debited and goods-received credited at the
/// order's cost; the SKU's cost becomes the moving average ([`average_in`]); the
/// lines waiting in `backlog` (which holds the queues of the SKUs received and
/// their orders) take the units first-come-first-served and the rest are
/// re-promised; what is on order for each SKU changes, so its queue is put. The
/// caller puts `po`.
///
/// # Errors
/// As [`crate::Oms::receive_purchase_order`], less the reads.
pub(crate) fn receive_purchase_order(
    cmd: &ReceivePurchaseOrder,
    po: &mut PurchaseOrder,
    read: Receiving<'_>,
    policy: &PurchasingPolicy,
    backlog: &mut Backlog,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    if cmd.lines.is_empty() {
        return Err(PurchasingError::EmptyReceipt.into());
    }
    let location = po.ship_to.clone();
    // A location nobody knows fulfils nothing: the units wait there, free.
    let fulfils = read
        .locations
        .iter()
        .find(|l| l.id == location)
        .is_some_and(|l| l.fulfils_orders);
    let mut received: Vec<Sku> = Vec::with_capacity(cmd.lines.len());
    for (sku, units) in &cmd.lines {
        if received.contains(sku) {
            return Err(Error::invalid("lines", format!("{sku} is received twice")));
        }
        received.push(sku.clone());
        let got = po.receive(sku, *units, policy.over_receipt)?;
        let product = read
            .products
            .iter()
            .find(|p| &p.value.sku == sku)
            .ok_or_else(|| Error::dangling(Product::kind(), sku))?;
        let carried = product.value.cost.currency();
        if carried != got.unit_cost.currency() {
            return Err(PurchasingError::CurrencyMismatch {
                sku: sku.clone(),
                expected: carried,
                found: got.unit_cost.currency(),
            }
            .into());
        }
        let value = got
            .unit_cost
            .checked_mul_qty(u64::from(got.units.units()))?;
        changes.journal.extend(ctx.postings.receipt(
            &format!("PO {}", po.id),
            value,
            ctx.id(EntryId::from_uuid),
            ctx.now,
        )?);
        let on_hand = on_hand_everywhere(read.stock, sku);
        let average = average_in(product, on_hand, got.units, value, ctx, changes)?;
        changes.movements.push(StockMovement {
            sku: sku.clone(),
            location: location.clone(),
            quantity: got.units.as_i64(),
            reason: MovementReason::PurchaseOrder {
                purchase_order: po.id,
            },
            at: ctx.now,
            value: Some(value),
        });
        changes.events.push(Event::GoodsReceived {
            purchase_order: po.id,
            sku: sku.clone(),
            location: location.clone(),
            quantity: got.units,
            unit_cost: got.unit_cost,
            average_cost: average,
        });
        backlog.fill(sku, &location, fulfils, got.units, changes)?;
        backlog.claim_on_order(sku)?;
    }
    // The lines still waiting moved up their queues, and this order owes less.
    let sent = lifecycle::sent_with(read.purchase_orders, po);
    let products: Products = read.products.iter().map(|p| p.value.clone()).collect();
    let supply = Supply {
        suppliers: read.suppliers,
        sent: &sent,
    };
    backlog.refresh_promises(&received, &products, supply, changes)
}

/// The SKU's on-hand summed over every location in `stock`.
pub(crate) fn on_hand_everywhere(stock: &[StockLevel], sku: &Sku) -> i64 {
    stock
        .iter()
        .filter(|l| &l.sku == sku)
        .map(|l| l.on_hand)
        .fold(0, i64::saturating_add)
}

/// Brings `units` worth `value` into the stock of `product` (read with `on_hand`
/// units in all) at moving-average cost: the cost becomes `(on hand × cost +
/// value) / (on hand + units)`, rounded half-even to the minor unit, and the
/// rounding is posted as an inventory adjustment so that inventory stays exactly
/// on hand × cost. Adds the product's new cost (or a check on its version) and a
/// check on the SKU's on-hand to `changes` — the average is over exactly the units
/// read — and returns the new cost. The caller posts `value` itself and moves the
/// stock.
///
/// # Errors
/// [`Error::Invalid`] for a negative on-hand (the stock guard never lets one be
/// stored) or an average that overflows; [`Error::Money`] on overflow;
/// [`Error::Ledger`] if the rounding cannot be posted.
pub fn average_in(
    product: &Versioned<Product>,
    on_hand: i64,
    units: Quantity,
    value: Money,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Money, Error> {
    let sku = &product.value.sku;
    changes.checks.push(Check::SkuOnHand {
        sku: sku.clone(),
        on_hand,
    });
    let held = u64::try_from(on_hand)
        .map_err(|_| Error::invalid("stock", format!("{sku} has {on_hand} on hand in all")))?;
    let units_after = held.saturating_add(u64::from(units.units()));
    let pooled = product
        .value
        .cost
        .checked_mul_qty(held)?
        .checked_add(value)?;
    let average = pooled
        .amount()
        .checked_div(Decimal::from(units_after))
        .map(|a| Money::new(a, pooled.currency()).round(Rounding::HalfEven))
        .ok_or_else(|| {
            Error::invalid(
                "cost",
                format!("the moving average of {sku} over {units_after} units overflows"),
            )
        })?;
    let rounding = average.checked_mul_qty(units_after)?.checked_sub(pooled)?;
    changes.journal.extend(ctx.postings.adjustment(
        &format!("moving-average rounding of {sku}"),
        rounding,
        ctx.id(EntryId::from_uuid),
        changes.at,
    )?);
    if product.value.cost == average {
        changes.check_version(RecordKey::Product(sku.clone()), product.version);
    } else {
        let mut costed = product.value.clone();
        costed.cost = average;
        changes.update(costed, product.version);
    }
    Ok(average)
}

#[cfg(test)]
mod tests {
    //! Receiving against a purchase order, given what the command read, with no
    //! store.
    use super::*;
    use crate::purchasing::fixtures::*;
    use crate::purchasing::{OverReceipt, PurchaseOrderStatus};
    use crate::store::Record;

    /// What a receipt reads, around a warehouse holding `on_hand` mugs costed at
    /// `cost`, with Mills as the only supplier.
    struct Given {
        products: Vec<Versioned<Product>>,
        stock: Vec<StockLevel>,
        locations: Vec<Location>,
        suppliers: Vec<Supplier>,
        purchase_orders: Vec<PurchaseOrder>,
        backlog: Backlog,
    }

    fn given(cost: Money, on_hand: i64, po: &PurchaseOrder) -> Given {
        let mut backlog = Backlog::default();
        backlog.adopt_queue(&sku("MUG"), None);
        Given {
            products: vec![mug(cost)],
            stock: vec![level("MUG", on_hand, 0)],
            locations: vec![warehouse()],
            suppliers: vec![mills()],
            purchase_orders: vec![po.clone()],
            backlog,
        }
    }

    fn when_received(
        given: &mut Given,
        po: &mut PurchaseOrder,
        lines: Vec<(Sku, u32)>,
        over_receipt: OverReceipt,
    ) -> (Result<(), Error>, Changeset) {
        let books = Books::new();
        let cmd = ReceivePurchaseOrder {
            idempotency_key: IdempotencyKey::new("grn-1").unwrap(),
            purchase_order: po.id,
            lines: lines
                .into_iter()
                .map(|(sku, units)| (sku, Quantity::new(units)))
                .collect(),
        };
        let policy = PurchasingPolicy {
            over_receipt,
            ..PurchasingPolicy::default()
        };
        let read = Receiving {
            products: &given.products,
            stock: &given.stock,
            locations: &given.locations,
            suppliers: &given.suppliers,
            purchase_orders: &given.purchase_orders,
        };
        let mut changes = Changeset::new(at());
        let received = receive_purchase_order(
            &cmd,
            po,
            read,
            &policy,
            &mut given.backlog,
            &books.ctx(),
            &mut changes,
        );
        (received, changes)
    }

    fn new_cost(changes: &Changeset) -> Option<Money> {
        changes.puts.iter().find_map(|p| match &p.record {
            Record::Product(product) => Some(product.cost),
            _ => None,
        })
    }

    #[test]
    fn a_receipt_brings_the_cost_to_the_moving_average_and_posts_the_rounding() {
        // Given 10 mugs on hand at 4.00 and 3 on order at 2.50,
        let mut po = mugs_on_order(10, 3);
        let mut world = given(usd(400), 10, &po);
        // when the 3 arrive,
        let (received, changes) = when_received(
            &mut world,
            &mut po,
            vec![(sku("MUG"), 3)],
            OverReceipt::Reject,
        );
        received.unwrap();
        // then (40.00 + 7.50) / 13 = 3.6538… is 3.65, and the 5 cents the rounding
        // lost are posted so that inventory is exactly 13 × 3.65.
        assert_eq!(new_cost(&changes), Some(usd(365)));
        assert_eq!(po.status, PurchaseOrderStatus::Received);
        assert_eq!(changes.journal.len(), 2, "the receipt and the rounding");
        let rounding = changes.journal.last().unwrap();
        let moved: Vec<Money> = rounding.lines().iter().map(|l| l.amount).collect();
        assert!(
            moved.contains(&usd(5)) && moved.contains(&usd(-5)),
            "{moved:?}"
        );
        assert!(changes.checks.contains(&Check::SkuOnHand {
            sku: sku("MUG"),
            on_hand: 10
        }));
        assert!(matches!(
            changes.movements.as_slice(),
            [StockMovement { quantity: 3, value: Some(v), .. }] if *v == usd(750)
        ));
        assert!(matches!(
            changes.events.as_slice(),
            [Event::GoodsReceived { quantity, average_cost, .. }]
                if *quantity == Quantity::new(3) && *average_cost == usd(365)
        ));
    }

    #[test]
    fn a_receipt_at_the_current_cost_checks_the_cost_instead_of_rewriting_it() {
        let mut po = draft(10, vec![(sku("MUG"), 4, usd(400))]);
        po.approve().unwrap();
        let mut world = given(usd(400), 0, &po);
        let (received, changes) = when_received(
            &mut world,
            &mut po,
            vec![(sku("MUG"), 4)],
            OverReceipt::Reject,
        );
        received.unwrap();
        assert_eq!(new_cost(&changes), None);
        assert!(changes.checks.contains(&Check::Version {
            key: RecordKey::Product(sku("MUG")),
            version: 3
        }));
        assert_eq!(changes.journal.len(), 1, "no rounding to post");
    }

    #[test]
    fn more_than_outstanding_is_refused_or_taken_in_as_the_policy_says() {
        let mut po = mugs_on_order(10, 10);
        let mut world = given(usd(400), 0, &po);
        let (refused, changes) = when_received(
            &mut world,
            &mut po,
            vec![(sku("MUG"), 12)],
            OverReceipt::Reject,
        );
        assert!(matches!(
            refused,
            Err(Error::Purchasing(PurchasingError::OverReceipt { outstanding, received, .. }))
                if outstanding == Quantity::new(10) && received == Quantity::new(12)
        ));
        assert!(changes.is_empty(), "a refusal decides nothing");
        assert_eq!(po.outstanding(&sku("MUG")), Quantity::new(10));

        let (accepted, changes) = when_received(
            &mut world,
            &mut po,
            vec![(sku("MUG"), 12)],
            OverReceipt::Accept,
        );
        accepted.unwrap();
        assert_eq!(po.status, PurchaseOrderStatus::Received);
        assert!(matches!(
            changes.movements.as_slice(),
            [StockMovement { quantity: 12, .. }]
        ));
    }

    #[test]
    fn waiting_back_orders_take_the_units_first_and_the_queue_is_claimed() {
        let mut po = mugs_on_order(10, 10);
        let mut world = given(usd(400), 0, &po);
        let (order, queue) = waiting_for_mugs(20, 4);
        world.backlog = Backlog::default();
        world.backlog.adopt_queue(&sku("MUG"), Some(queue));
        world.backlog.adopt(order.value, order.version);
        let (received, mut changes) = when_received(
            &mut world,
            &mut po,
            vec![(sku("MUG"), 10)],
            OverReceipt::Reject,
        );
        received.unwrap();
        assert!(matches!(
            changes.reservations.as_slice(),
            [r] if r.quantity == 4 && r.order == crate::ids::OrderId::from_uuid(uuid(20))
        ));
        std::mem::take(&mut world.backlog).put_into(&mut changes);
        let order = changes.puts.iter().find_map(|p| match &p.record {
            Record::Order(o) => Some((o.clone(), p.expected)),
            _ => None,
        });
        let (order, expected) = order.unwrap();
        assert_eq!(expected, Some(2));
        assert!(order.lines[0].backordered.is_zero());
        let queue = changes.puts.iter().find_map(|p| match &p.record {
            Record::BackOrderQueue(q) => Some((q.waiting.len(), p.expected)),
            _ => None,
        });
        assert_eq!(
            queue,
            Some((0, Some(7))),
            "emptied, put at the version read"
        );
    }

    #[test]
    fn refusals_say_why() {
        let mut po = mugs_on_order(10, 10);
        let mut world = given(usd(400), 0, &po);
        let (empty, _) = when_received(&mut world, &mut po, vec![], OverReceipt::Reject);
        assert!(matches!(
            empty,
            Err(Error::Purchasing(PurchasingError::EmptyReceipt))
        ));
        let (twice, _) = when_received(
            &mut world,
            &mut po,
            vec![(sku("MUG"), 1), (sku("MUG"), 1)],
            OverReceipt::Reject,
        );
        assert!(matches!(twice, Err(Error::Invalid { field: "lines", .. })));
        let (not_on_it, _) = when_received(
            &mut world,
            &mut po,
            vec![(sku("CUP"), 1)],
            OverReceipt::Reject,
        );
        assert!(matches!(
            not_on_it,
            Err(Error::Purchasing(PurchasingError::NotOnOrder { sku, .. })) if sku == self::sku("CUP")
        ));
        let mut unknown = draft(11, vec![(sku("MUG"), 1, usd(100))]);
        let (a_draft, _) = when_received(
            &mut world,
            &mut unknown,
            vec![(sku("MUG"), 1)],
            OverReceipt::Reject,
        );
        assert!(matches!(
            a_draft,
            Err(Error::Purchasing(PurchasingError::InvalidTransition {
                status: PurchaseOrderStatus::Draft,
                action: "receive",
                ..
            }))
        ));
        world.products.clear();
        let (no_product, _) = when_received(
            &mut world,
            &mut po,
            vec![(sku("MUG"), 1)],
            OverReceipt::Reject,
        );
        assert!(matches!(
            no_product,
            Err(Error::DanglingReference { entity: "product", id }) if id == "MUG"
        ));
    }

    #[test]
    fn a_negative_on_hand_is_an_error_not_a_zero() {
        let books = Books::new();
        let mut changes = Changeset::new(at());
        let averaged = average_in(
            &mug(usd(400)),
            -1,
            Quantity::new(1),
            usd(250),
            &books.ctx(),
            &mut changes,
        );
        assert!(matches!(
            averaged,
            Err(Error::Invalid { field: "stock", .. })
        ));
    }
}
