//! A purchase order's life as commands decide it: raised (and approved at once
//! within the policy), approved, cancelled, closed.
//!
//! Each step re-promises the back-orders waiting for its SKUs, and a step that
//! changes what is on order for a SKU puts that SKU's back-order queue
//! ([`Backlog::claim_on_order`]): the queue is the one record every change to a
//! SKU's supply rewrites, so replenishment — which decides on the set of purchase
//! orders open for a SKU — conflicts with a purchase order raised for it
//! meanwhile and decides again, while commands on different SKUs share nothing.

use chrono::NaiveDate;

use super::{
    Backlog, PurchaseOrder, PurchasingError, PurchasingPolicy, Supplier, Supply, order_quantity,
    rank_offers,
};
use crate::catalog::{Product, Products};
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{LocationId, PurchaseOrderId, Sku};
use crate::store::{Changeset, Entity, Put, RecordKey};

/// One step of a purchase order's life after it is raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Draft → approved (and sent): waiting lines are promised its date.
    Approve,
    /// Draft or approved → cancelled: nothing will arrive.
    Cancel,
    /// Partly or fully received → closed: nothing more will arrive.
    Close,
}

impl Step {
    fn apply(self, po: &mut PurchaseOrder) -> Result<(), PurchasingError> {
        match self {
            Step::Approve => po.approve(),
            Step::Cancel => po.cancel(),
            Step::Close => po.close(),
        }
    }

    fn event(self, purchase_order: PurchaseOrderId) -> Event {
        match self {
            Step::Approve => Event::PurchaseOrderApproved { purchase_order },
            Step::Cancel => Event::PurchaseOrderCancelled { purchase_order },
            Step::Close => Event::PurchaseOrderClosed { purchase_order },
        }
    }
}

/// Takes `po` one `step` on, with its event, and re-promises the lines it was
/// going to fill (an approved order promises its date; a cancelled or closed one
/// no longer does, and they fall back to other orders or the offers). `backlog`
/// holds the queues of `po`'s SKUs and their orders; `purchase_orders` are every
/// purchase order as read. The caller puts `po`.
///
/// # Errors
/// [`Error::Purchasing`] with `InvalidTransition` when the step does not apply.
pub(crate) fn move_purchase_order(
    po: &mut PurchaseOrder,
    step: Step,
    purchase_orders: &[PurchaseOrder],
    suppliers: &[Supplier],
    products: &Products,
    backlog: &mut Backlog,
    changes: &mut Changeset,
) -> Result<(), Error> {
    step.apply(po)?;
    changes.events.push(step.event(po.id));
    if step != Step::Approve {
        // What is on order falls: a replenishment deciding on it must decide again.
        for line in &po.lines {
            backlog.claim_on_order(&line.sku)?;
        }
    }
    promise_from(po, purchase_orders, suppliers, products, backlog, changes)
}

/// Raises one purchase order to `supplier` for `needs`, at the supplier's cheapest
/// valid offer for each SKU (needs raised to its minimum and whole packs),
/// expected when the slowest offer arrives, approved at once within `policy`.
/// `backlog` holds the queues of the SKUs needed (and, if it may be approved at
/// once, their orders); `supply` is every supplier and the purchase orders sent.
///
/// # Errors
/// [`Error::Purchasing`] with `EmptyOrder` (no needs, or a need of zero),
/// `CurrencyMismatch` (a SKU carried in another currency than the supplier's),
/// `NoOffer` (no valid offer from this supplier); [`Error::NotFound`] for an
/// unknown SKU.
#[allow(clippy::too_many_arguments)]
pub(crate) fn raise_purchase_order(
    supplier: &Supplier,
    ship_to: &LocationId,
    needs: &[(Sku, u32)],
    products: &Products,
    supply: Supply<'_>,
    policy: &PurchasingPolicy,
    backlog: &mut Backlog,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<PurchaseOrder, Error> {
    let today = ctx.now.date_naive();
    let mut lines = Vec::with_capacity(needs.len());
    let mut expected_on: NaiveDate = today;
    for (sku, needed) in needs {
        if *needed == 0 {
            return Err(PurchasingError::EmptyOrder.into());
        }
        // Goods are received at the inventory's cost currency: an order in any
        // other could never be received.
        let carried = products
            .cost_currency(sku)
            .ok_or_else(|| Error::not_found(Product::kind(), sku))?;
        if carried != supplier.currency {
            return Err(PurchasingError::CurrencyMismatch {
                sku: sku.clone(),
                expected: carried,
                found: supplier.currency,
            }
            .into());
        }
        let ranking = rank_offers(
            std::slice::from_ref(supplier),
            sku,
            *needed,
            supplier.currency,
            today,
            None,
        );
        let best = ranking
            .best()
            .ok_or_else(|| PurchasingError::NoOffer { sku: sku.clone() })?;
        let quantity = order_quantity(*needed, best.offer.minimum_quantity, best.offer.pack_size)
            .ok_or_else(|| PurchasingError::NoOffer { sku: sku.clone() })?;
        lines.push((sku.clone(), quantity, best.offer.unit_cost));
        expected_on = expected_on.max(best.arrives_on);
    }
    let po = PurchaseOrder::draft(
        ctx.id(PurchaseOrderId::from_uuid),
        supplier.id,
        supplier.currency,
        ship_to.clone(),
        lines,
        expected_on,
        ctx.now,
    )?;
    let po = raise(po, policy, changes)?;
    for line in &po.lines {
        backlog.claim_on_order(&line.sku)?;
    }
    if po.is_sent() {
        promise_from(
            &po,
            supply.sent,
            supply.suppliers,
            products,
            backlog,
            changes,
        )?;
    }
    Ok(po)
}

/// Adds a new purchase order to `changes` (the store numbers it in the commit),
/// approving it when `policy` allows.
///
/// # Errors
/// [`Error::Money`] if its total overflows.
pub(crate) fn raise(
    mut po: PurchaseOrder,
    policy: &PurchasingPolicy,
    changes: &mut Changeset,
) -> Result<PurchaseOrder, Error> {
    let total = po.total()?;
    changes.events.push(Event::PurchaseOrderRaised {
        purchase_order: po.id,
        // The store numbers it in the commit, here too.
        number: None,
        supplier: po.supplier,
        total,
    });
    if policy.approves_at_once(total) {
        po.approve()?;
        changes.events.push(Event::PurchaseOrderApproved {
            purchase_order: po.id,
        });
    }
    changes.puts.push(Put::insert(po.clone()));
    changes.number(RecordKey::PurchaseOrder(po.id));
    Ok(po)
}

/// Re-promises the lines waiting for each SKU of `po`, now that it is on its way
/// (or, cancelled or closed, no longer is), against the sent purchase orders as
/// the command leaves them.
fn promise_from(
    po: &PurchaseOrder,
    purchase_orders: &[PurchaseOrder],
    suppliers: &[Supplier],
    products: &Products,
    backlog: &mut Backlog,
    changes: &mut Changeset,
) -> Result<(), Error> {
    let sent = sent_with(purchase_orders, po);
    let skus: Vec<Sku> = po.lines.iter().map(|l| l.sku.clone()).collect();
    let supply = Supply {
        suppliers,
        sent: &sent,
    };
    backlog.refresh_promises(&skus, products, supply, changes)
}

/// The sent purchase orders as a command leaves them: those of `read`, with `po`
/// in its new state (in if still sent, out if not).
pub(crate) fn sent_with(read: &[PurchaseOrder], po: &PurchaseOrder) -> Vec<PurchaseOrder> {
    let mut sent: Vec<PurchaseOrder> = read
        .iter()
        .filter(|other| other.id != po.id && other.is_sent())
        .cloned()
        .collect();
    if po.is_sent() {
        sent.push(po.clone());
    }
    sent
}
