//! Replenishment: what back-orders and reorder points call for, as requisitions,
//! and the purchase orders that cover them.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{
    BackOrderQueue, Backlog, PurchaseOrder, PurchasingError, PurchasingPolicy, ReorderRule,
    Requisition, Supplier, Supply, lifecycle, rank_offers,
};
use crate::catalog::{Product, Products};
use crate::decide::Context;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{LocationId, PurchaseOrderId, Sku, SupplierId};
use crate::money::Money;
use crate::order::Order;
use crate::stock::StockLevel;
use crate::store::{Changeset, Entity, Versioned};

/// What one SKU needs at one location: units back-ordered there, and its rule.
#[derive(Debug, Default)]
struct Need {
    back_ordered: u64,
    rule: Option<ReorderRule>,
}

/// The net requirements replenishment starts from, per SKU × location: the units
/// back-ordered there (a pickup line at its store, any other at the ship-to
/// location) and the reorder rule that applies there.
#[derive(Debug, Default)]
pub(crate) struct Needs(BTreeMap<(Sku, LocationId), Need>);

impl Needs {
    /// The requirements the back-order `queues` and reorder `rules` make, the
    /// back-orders not pinned to a store wanted at `ship_to`.
    pub(crate) fn new(
        queues: &[BackOrderQueue],
        rules: &[ReorderRule],
        ship_to: &LocationId,
    ) -> Self {
        let mut needs: BTreeMap<(Sku, LocationId), Need> = BTreeMap::new();
        for queue in queues {
            for w in &queue.waiting {
                let at = w.location.clone().unwrap_or_else(|| ship_to.clone());
                let need = needs.entry((queue.sku.clone(), at)).or_default();
                need.back_ordered = need.back_ordered.saturating_add(u64::from(w.quantity));
            }
        }
        for rule in rules {
            let key = (rule.sku.clone(), rule.location.clone());
            needs.entry(key).or_default().rule = Some(rule.clone());
        }
        Self(needs)
    }

    /// Every SKU with a requirement, once each: whose products (and, with a rule,
    /// stock) the decision reads next.
    pub(crate) fn skus(&self) -> Vec<Sku> {
        let mut skus: Vec<Sku> = Vec::new();
        for (sku, _) in self.0.keys() {
            if !skus.contains(sku) {
                skus.push(sku.clone());
            }
        }
        skus
    }

    /// The SKUs with a reorder rule somewhere: whose stock the decision reads.
    pub(crate) fn ruled_skus(&self) -> Vec<Sku> {
        let mut skus: Vec<Sku> = Vec::new();
        for ((sku, _), need) in &self.0 {
            if need.rule.is_some() && !skus.contains(sku) {
                skus.push(sku.clone());
            }
        }
        skus
    }
}

/// What replenishment decides on after [`Needs`]: the open purchase orders, the
/// suppliers, the products of the SKUs needed and the stock of those with a rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Position<'a> {
    /// Every open purchase order (draft, approved, partly received).
    pub open: &'a [PurchaseOrder],
    /// Every supplier with its offers.
    pub suppliers: &'a [Supplier],
    /// The products of the SKUs needed.
    pub products: &'a Products,
    /// The stock of the SKUs with a reorder rule, every location.
    pub stock: &'a [StockLevel],
}

/// One requisition per SKU × location short of back-ordered units or below its
/// reorder point, each with the offer the best-offer rule picks (`None` when none
/// qualifies): see [`crate::Oms::replenish`] for the rules.
///
/// # Errors
/// [`Error::NotFound`] for a short SKU with no product; [`Error::Purchasing`]
/// with `TooManyUnits` when a requirement does not fit a purchase order line.
pub(crate) fn requisitions(
    needs: Needs,
    read: Position<'_>,
    policy: &PurchasingPolicy,
    today: NaiveDate,
) -> Result<Vec<Requisition>, Error> {
    let wanted_by = today.checked_add_days(chrono::Days::new(u64::from(
        policy.back_orders_wanted_within_days,
    )));
    let mut requisitions = Vec::new();
    for ((sku, location), n) in needs.0 {
        let on_order: i64 = read
            .open
            .iter()
            .filter(|po| po.ship_to == location)
            .map(|po| i64::from(po.outstanding(&sku)))
            .sum();
        let too_many = |units: u64| PurchasingError::TooManyUnits {
            sku: sku.clone(),
            units,
        };
        let back_ordered = i64::try_from(n.back_ordered).map_err(|_| too_many(n.back_ordered))?;
        let quantity = match &n.rule {
            // One purchase covers both: the back-orders, then the rule's level.
            Some(rule) => {
                let available = read
                    .stock
                    .iter()
                    .find(|l| l.sku == sku && l.location == location)
                    .map_or(0, StockLevel::available);
                rule.shortfall(
                    available
                        .saturating_add(on_order)
                        .saturating_sub(back_ordered),
                )?
            }
            None => {
                let short = back_ordered.saturating_sub(on_order).max(0);
                u32::try_from(short).map_err(|_| too_many(short.unsigned_abs()))?
            }
        };
        if quantity == 0 {
            continue;
        }
        let wanted_by = (n.back_ordered > 0).then_some(wanted_by).flatten();
        let currency = read
            .products
            .cost_currency(&sku)
            .ok_or_else(|| Error::not_found(Product::kind(), &sku))?;
        let offer = rank_offers(read.suppliers, &sku, quantity, currency, today, wanted_by)
            .ranked
            .into_iter()
            .next();
        requisitions.push(Requisition {
            sku,
            location,
            quantity,
            back_ordered: n.back_ordered,
            reorder_rule: n.rule,
            wanted_by,
            offer,
        });
    }
    Ok(requisitions)
}

/// Requisitions consolidated for one supplier and one location.
struct Draft {
    supplier: SupplierId,
    ship_to: LocationId,
    /// (SKU, units, unit cost).
    lines: Vec<(Sku, u32, Money)>,
    /// When the slowest line arrives.
    arrives: NaiveDate,
}

/// The back-orders replenishment may touch: the queues of the SKUs needed, as
/// read (absent ones are new), and the orders waiting in them (needed only when
/// a purchase order may be approved as it is raised).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Waiting<'a> {
    /// The queues read.
    pub queues: &'a [Versioned<BackOrderQueue>],
    /// The orders they name.
    pub orders: &'a [Versioned<Order>],
}

/// Raises the purchase orders `requisitions` call for: each goes to the supplier
/// of its best offer, and the requisitions for one supplier and one location
/// become one purchase order, each SKU raised to the offer's minimum and whole
/// packs. Orders within [`PurchasingPolicy::auto_approve_up_to`] are approved at
/// once, which re-promises the waiting lines. The queue of every SKU ordered is
/// put ([`Backlog::claim_on_order`]): a purchase order raised for it meanwhile,
/// by hand or by another replenishment, sends this one back to decide again.
/// Returns the purchase orders raised (none: nothing to commit).
///
/// # Errors
/// [`Error::Purchasing`] with `NoOffer` when a requisition has no valid offer.
pub(crate) fn replenish(
    requisitions: Vec<Requisition>,
    read: Position<'_>,
    waiting: Waiting<'_>,
    policy: &PurchasingPolicy,
    ctx: &Context<'_>,
    changes: &mut Changeset,
) -> Result<Vec<PurchaseOrder>, Error> {
    let mut drafts: Vec<Draft> = Vec::new();
    for requisition in requisitions {
        let Requisition {
            sku,
            location,
            quantity,
            offer,
            ..
        } = requisition;
        let best = offer.ok_or_else(|| PurchasingError::NoOffer { sku: sku.clone() })?;
        changes.events.push(Event::RequisitionRaised {
            sku: sku.clone(),
            location: location.clone(),
            quantity,
            supplier: best.supplier,
        });
        let draft = match drafts
            .iter_mut()
            .position(|d| d.supplier == best.supplier && d.ship_to == location)
        {
            Some(at) => drafts.get_mut(at),
            None => {
                drafts.push(Draft {
                    supplier: best.supplier,
                    ship_to: location,
                    lines: Vec::new(),
                    arrives: best.arrives_on,
                });
                drafts.last_mut()
            }
        };
        let Some(draft) = draft else { continue };
        draft.arrives = draft.arrives.max(best.arrives_on);
        match draft.lines.iter_mut().find(|(s, _, _)| *s == sku) {
            // Both requisitions were rounded to whole packs: so is their sum.
            Some((_, units, _)) => *units = units.saturating_add(best.order_quantity),
            None => draft
                .lines
                .push((sku, best.order_quantity, best.offer.unit_cost)),
        }
    }
    let mut raised = Vec::new();
    for draft in drafts {
        let currency = draft
            .lines
            .first()
            .map(|(_, _, cost)| cost.currency())
            .ok_or(PurchasingError::EmptyOrder)?;
        let po = PurchaseOrder::draft(
            ctx.id(PurchaseOrderId::from_uuid),
            draft.supplier,
            currency,
            draft.ship_to,
            draft.lines,
            draft.arrives,
            ctx.now,
        )?;
        raised.push(lifecycle::raise(po, policy, changes)?);
    }
    let mut ordered: Vec<Sku> = Vec::new();
    let mut approved: Vec<Sku> = Vec::new();
    for po in &raised {
        for line in &po.lines {
            if !ordered.contains(&line.sku) {
                ordered.push(line.sku.clone());
            }
            if po.is_sent() && !approved.contains(&line.sku) {
                approved.push(line.sku.clone());
            }
        }
    }
    let mut backlog = Backlog::default();
    for sku in &ordered {
        let queue = waiting.queues.iter().find(|q| &q.value.sku == sku).cloned();
        backlog.adopt_queue(sku, queue);
        backlog.claim_on_order(sku)?;
    }
    if !approved.is_empty() {
        for order in waiting.orders {
            backlog.adopt(order.value.clone(), order.version);
        }
        let sent: Vec<PurchaseOrder> = read
            .open
            .iter()
            .chain(raised.iter())
            .filter(|po| po.is_sent())
            .cloned()
            .collect();
        let supply = Supply {
            suppliers: read.suppliers,
            sent: &sent,
        };
        backlog.refresh_promises(&approved, read.products, supply, changes)?;
    }
    backlog.put_into(changes);
    Ok(raised)
}
