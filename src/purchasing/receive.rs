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
use crate::stock::{Location, MovementReason, StockLevel, StockMovement};
use crate::store::{Changeset, Check, Entity, Put, RecordKey, Versioned};

use super::PurchasingPolicy;

/// The command to receive goods against a purchase order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReceivePurchaseOrder {
    /// Makes a retried receipt count once.
    pub idempotency_key: IdempotencyKey,
    /// The purchase order.
    pub purchase_order: PurchaseOrderId,
    /// Units received per SKU (each SKU once).
    pub lines: Vec<(Sku, u32)>,
}

/// What a receipt decides on besides the purchase order and the back-orders: the
/// products of the SKUs received (with their versions, for the new average cost),
/// their stock everywhere, the locations, the suppliers and every purchase order
/// (promise dates come from the sent ones).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Receiving<'a> {
    /// The products of the SKUs the command names, as read.
    pub products: &'a [Versioned<Product>],
    /// Their stock at every location.
    pub stock: &'a [StockLevel],
    /// Every location.
    pub locations: &'a [Location],
    /// Every supplier.
    pub suppliers: &'a [Supplier],
    /// Every purchase order, as read.
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
            .ok_or_else(|| Error::not_found(Product::kind(), sku))?;
        let carried = product.value.cost.currency();
        if carried != got.unit_cost.currency() {
            return Err(PurchasingError::CurrencyMismatch {
                sku: sku.clone(),
                expected: carried,
                found: got.unit_cost.currency(),
            }
            .into());
        }
        let value = got.unit_cost.checked_mul_qty(u64::from(got.units))?;
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
            quantity: i64::from(got.units),
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
    units: u32,
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
    let units_after = held.saturating_add(u64::from(units));
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
        changes.checks.push(Check::Version {
            key: RecordKey::Product(sku.clone()),
            version: product.version,
        });
    } else {
        let mut costed = product.value.clone();
        costed.cost = average;
        changes.puts.push(Put::update(costed, product.version));
    }
    Ok(average)
}
