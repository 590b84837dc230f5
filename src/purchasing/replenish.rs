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
use crate::quantity::Quantity;
use crate::stock::StockLevel;
use crate::store::{Changeset, Entity, Fetched, Prefetch, Versioned};

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
                need.back_ordered = need
                    .back_ordered
                    .saturating_add(u64::from(w.quantity.units()));
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
        crate::ids::distinct(self.0.keys().map(|(sku, _)| sku))
    }

    /// The SKUs with a reorder rule somewhere: whose stock the decision reads.
    pub(crate) fn ruled_skus(&self) -> Vec<Sku> {
        crate::ids::distinct(
            self.0
                .iter()
                .filter(|(_, need)| need.rule.is_some())
                .map(|((sku, _), _)| sku),
        )
    }
}

/// What replenishment decides on after [`Needs`]: the open purchase orders, the
/// suppliers, the products of the SKUs needed and the stock of those with a rule.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Position<'a> {
    /// The open purchase orders (draft, approved, partly received), at least
    /// those of the SKUs needed.
    pub open: &'a [PurchaseOrder],
    /// The suppliers with their offers, at least those offering the SKUs
    /// needed.
    pub suppliers: &'a [Supplier],
    /// The products of the SKUs needed.
    pub products: &'a Products<'a>,
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
            .map(|po| po.outstanding(&sku).as_i64())
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
                u32::try_from(short)
                    .map(Quantity::new)
                    .map_err(|_| too_many(short.unsigned_abs()))?
            }
        };
        if quantity.is_zero() {
            continue;
        }
        let wanted_by = (n.back_ordered > 0).then_some(wanted_by).flatten();
        let currency = read
            .products
            .cost_currency(&sku)
            .ok_or_else(|| Error::dangling(Product::kind(), &sku))?;
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
    lines: Vec<(Sku, Quantity, Money)>,
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
    let lines_of = |sent_only: bool| {
        raised
            .iter()
            .filter(move |po| !sent_only || po.is_sent())
            .flat_map(|po| po.lines.iter().map(|line| &line.sku))
    };
    let (ordered, approved) = (
        crate::ids::distinct(lines_of(false)),
        crate::ids::distinct(lines_of(true)),
    );
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

/// The values of what was read, without their versions.
fn values<E>(read: Vec<Versioned<E>>) -> impl Iterator<Item = E> {
    read.into_iter().map(|v| v.value)
}

/// What replenishment read: the requirements' queues, and the position they are
/// met from.
pub(crate) struct Replenishing {
    pub(crate) open: Vec<PurchaseOrder>,
    pub(crate) suppliers: Vec<Supplier>,
    pub(crate) products: Products<'static>,
    pub(crate) stock: Vec<StockLevel>,
    pub(crate) queues: Vec<Versioned<BackOrderQueue>>,
    pub(crate) orders: Vec<Versioned<Order>>,
}

impl Replenishing {
    /// The second read, once the queues and rules are in: for each SKU `needs`
    /// names, its product and its supply (each requisition counts what is on order
    /// and ranks offers for its own SKU only), the stock of the SKUs a rule
    /// watches and, `with_orders`, the orders waiting in their queues. Returns it
    /// with the queues of those SKUs, the rest dropped.
    pub(crate) fn prefetch(
        needs: &Needs,
        queues: Vec<Versioned<BackOrderQueue>>,
        with_orders: bool,
    ) -> (Prefetch, Vec<Versioned<BackOrderQueue>>) {
        let skus = needs.skus();
        let mut second = super::supply_to_read(Prefetch::new(), &skus);
        for sku in &skus {
            second = second.record::<Product>(sku);
        }
        for sku in needs.ruled_skus() {
            second = second.stock(&sku);
        }
        let queues: Vec<Versioned<BackOrderQueue>> = queues
            .into_iter()
            .filter(|q| skus.contains(&q.value.sku))
            .collect();
        if with_orders {
            for w in queues.iter().flat_map(|q| &q.value.waiting) {
                second = second.record::<Order>(&w.order);
            }
        }
        (second, queues)
    }

    /// What [`Replenishing::prefetch`] read, taken out of `fetched`.
    pub(crate) fn taking(mut fetched: Fetched, queues: Vec<Versioned<BackOrderQueue>>) -> Self {
        Self {
            products: values(fetched.take_every::<Product>()).collect(),
            open: values(fetched.take_every::<PurchaseOrder>())
                .filter(PurchaseOrder::is_open)
                .collect(),
            suppliers: values(fetched.take_every::<Supplier>()).collect(),
            orders: fetched.take_every::<Order>(),
            stock: std::mem::take(&mut fetched.stock),
            queues,
        }
    }

    /// The position the requirements are met from.
    pub(crate) fn position(&self) -> Position<'_> {
        Position {
            open: &self.open,
            suppliers: &self.suppliers,
            products: &self.products,
            stock: &self.stock,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Requisitions and replenishment, given what the command read, with no store.
    use super::*;
    use crate::purchasing::PurchaseOrderStatus;
    use crate::purchasing::fixtures::*;
    use crate::store::{Record, RecordKey};

    fn rule(sku_code: &str, min: u32, max: u32) -> ReorderRule {
        ReorderRule {
            sku: sku(sku_code),
            location: dc(),
            min: Quantity::new(min),
            max: Quantity::new(max),
        }
    }

    /// The mug queue with `units` waiting for delivery from anywhere.
    fn mugs_waiting(units: u32) -> Versioned<BackOrderQueue> {
        waiting_for_mugs(20, units).1
    }

    struct Given {
        queues: Vec<Versioned<BackOrderQueue>>,
        rules: Vec<ReorderRule>,
        open: Vec<PurchaseOrder>,
        stock: Vec<StockLevel>,
        products: Products<'static>,
        suppliers: Vec<Supplier>,
    }

    impl Given {
        fn new() -> Self {
            Self {
                queues: Vec::new(),
                rules: Vec::new(),
                open: Vec::new(),
                stock: Vec::new(),
                products: [mug(usd(400)).value, cup()].into_iter().collect(),
                suppliers: vec![mills()],
            }
        }

        fn position(&self) -> Position<'_> {
            Position {
                open: &self.open,
                suppliers: &self.suppliers,
                products: &self.products,
                stock: &self.stock,
            }
        }

        fn requisitions(&self) -> Result<Vec<Requisition>, Error> {
            let queues: Vec<BackOrderQueue> = self.queues.iter().map(|q| q.value.clone()).collect();
            let needs = Needs::new(&queues, &self.rules, &dc());
            requisitions(
                needs,
                self.position(),
                &PurchasingPolicy::default(),
                today(),
            )
        }

        fn wanted(&self) -> Vec<(Sku, u32)> {
            self.requisitions()
                .unwrap()
                .into_iter()
                .map(|r| (r.sku, r.quantity.units()))
                .collect()
        }

        fn replenish(
            &self,
            policy: &PurchasingPolicy,
        ) -> (Result<Vec<PurchaseOrder>, Error>, Changeset) {
            let books = Books::new();
            let mut changes = Changeset::new(at());
            let orders = vec![waiting_for_mugs(20, 1).0];
            let waiting = Waiting {
                queues: &self.queues,
                orders: &orders,
            };
            let raised = self.requisitions().and_then(|r| {
                replenish(
                    r,
                    self.position(),
                    waiting,
                    policy,
                    &books.ctx(),
                    &mut changes,
                )
            });
            (raised, changes)
        }
    }

    #[test]
    fn back_orders_not_on_order_are_requisitioned() {
        let mut given = Given::new();
        given.queues.push(mugs_waiting(7));
        assert_eq!(given.wanted(), [(sku("MUG"), 7)]);
        given.open.push(mugs_on_order(10, 5));
        assert_eq!(given.wanted(), [(sku("MUG"), 2)], "5 are on their way");
        given.open.push(mugs_on_order(11, 5));
        assert!(given.wanted().is_empty(), "more on order than waiting");
        let requisition = Given {
            open: Vec::new(),
            ..given
        }
        .requisitions()
        .unwrap()
        .remove(0);
        assert_eq!(requisition.back_ordered, 7);
        assert_eq!(
            requisition.wanted_by,
            Some(in_days(14)),
            "the policy's deadline"
        );
        assert_eq!(requisition.offer.map(|o| o.supplier), Some(mills().id));
    }

    #[test]
    fn a_reorder_rule_below_its_minimum_orders_up_to_its_maximum() {
        let mut given = Given::new();
        given.rules.push(rule("CUP", 10, 40));
        given.stock.push(level("CUP", 3, 0));
        assert_eq!(given.wanted(), [(sku("CUP"), 37)]);
        given.open.push(draft(10, vec![(sku("CUP"), 5, usd(100))]));
        assert_eq!(
            given.wanted(),
            [(sku("CUP"), 32)],
            "a draft is on order too"
        );
        given.stock = vec![level("CUP", 12, 2)];
        assert!(given.wanted().is_empty(), "10 available and 5 on order");
    }

    #[test]
    fn one_purchase_covers_the_back_orders_and_the_rule() {
        let mut given = Given::new();
        given.queues.push(mugs_waiting(3));
        given.rules.push(rule("MUG", 10, 40));
        // Position: nothing available, nothing on order, 3 waiting: −3.
        assert_eq!(given.wanted(), [(sku("MUG"), 43)]);
    }

    #[test]
    fn requisitions_for_one_supplier_become_one_order_in_whole_packs() {
        let mut given = Given::new();
        given.queues.push(mugs_waiting(3));
        given.rules.push(rule("CUP", 1, 7));
        let (raised, changes) = given.replenish(&PurchasingPolicy::default());
        let raised = raised.unwrap();
        assert_eq!(raised.len(), 1);
        let po = &raised[0];
        assert_eq!(po.status, PurchaseOrderStatus::Draft);
        let lines: Vec<(Sku, u32)> = po
            .lines
            .iter()
            .map(|l| (l.sku.clone(), l.quantity.units()))
            .collect();
        assert_eq!(lines, [(sku("CUP"), 12), (sku("MUG"), 3)]);
        assert_eq!(po.expected_on, in_days(10));
        assert!(matches!(
            changes.events.as_slice(),
            [
                Event::RequisitionRaised { .. },
                Event::RequisitionRaised { .. },
                Event::PurchaseOrderRaised { .. }
            ]
        ));
        // Each SKU ordered claims its queue: a purchase order raised for it
        // meanwhile sends this replenishment back.
        let queues: Vec<(Sku, Option<u64>)> = changes
            .puts
            .iter()
            .filter_map(|p| match &p.record {
                Record::BackOrderQueue(q) => Some((q.sku.clone(), p.expected)),
                _ => None,
            })
            .collect();
        assert_eq!(queues, [(sku("CUP"), None), (sku("MUG"), Some(7))]);
        assert_eq!(changes.numbered, [RecordKey::PurchaseOrder(po.id)]);
    }

    #[test]
    fn an_order_approved_at_once_re_promises_the_waiting_lines() {
        let mut given = Given::new();
        given.queues.push(mugs_waiting(1));
        let policy = PurchasingPolicy {
            auto_approve_up_to: Some(usd(10_000)),
            ..PurchasingPolicy::default()
        };
        let (raised, changes) = given.replenish(&policy);
        assert_eq!(raised.unwrap()[0].status, PurchaseOrderStatus::Approved);
        let promised = changes.puts.iter().find_map(|p| match &p.record {
            Record::Order(o) => Some(o.lines[0].promised_on),
            _ => None,
        });
        assert_eq!(promised, Some(Some(in_days(5))));
    }

    #[test]
    fn nothing_short_raises_nothing() {
        let (raised, changes) = Given::new().replenish(&PurchasingPolicy::default());
        assert!(raised.unwrap().is_empty());
        assert!(changes.is_empty());
    }

    #[test]
    fn refusals_say_why() {
        let mut given = Given::new();
        given.queues.push(mugs_waiting(3));
        given.suppliers.clear();
        let (no_offer, _) = given.replenish(&PurchasingPolicy::default());
        assert!(matches!(
            no_offer,
            Err(Error::Purchasing(PurchasingError::NoOffer { sku })) if sku == self::sku("MUG")
        ));
        given.products = Products::default();
        assert!(matches!(
            given.requisitions(),
            Err(Error::DanglingReference { entity: "product", id }) if id == "MUG"
        ));
        let mut huge = Given::new();
        let mut queue = mugs_waiting(u32::MAX);
        queue.value.push(
            crate::ids::OrderId::from_uuid(uuid(21)),
            1,
            None,
            Quantity::new(u32::MAX),
            at(),
            0,
        );
        huge.queues.push(queue);
        assert!(
            matches!(
                huge.requisitions(),
                Err(Error::Purchasing(PurchasingError::TooManyUnits { units, .. }))
                    if units == 2 * u64::from(u32::MAX)
            ),
            "never a silent u32::MAX"
        );
    }

    #[test]
    fn back_orders_for_a_store_pickup_are_wanted_at_that_store() {
        let shop = LocationId::new("SHOP").unwrap();
        let mut queue = BackOrderQueue::new(sku("MUG"));
        queue.push(
            crate::ids::OrderId::from_uuid(uuid(1)),
            1,
            Some(shop.clone()),
            Quantity::new(2),
            at(),
            0,
        );
        queue.push(
            crate::ids::OrderId::from_uuid(uuid(2)),
            1,
            None,
            Quantity::new(5),
            at(),
            0,
        );
        let needs = Needs::new(&[queue], &[rule("CUP", 1, 2)], &dc());
        let at_: Vec<(Sku, LocationId, u64)> = needs
            .0
            .iter()
            .map(|((s, l), n)| (s.clone(), l.clone(), n.back_ordered))
            .collect();
        assert_eq!(
            at_,
            [
                (sku("CUP"), dc(), 0),
                (sku("MUG"), dc(), 5),
                (sku("MUG"), shop, 2)
            ]
        );
        assert_eq!(needs.skus(), [sku("CUP"), sku("MUG")]);
        assert_eq!(needs.ruled_skus(), [sku("CUP")]);
    }

    #[test]
    fn the_second_read_asks_for_what_the_needs_name_and_drops_other_queues() {
        let (order, mugs) = waiting_for_mugs(3, 4);
        let mut cups = mugs.clone();
        cups.value.sku = sku("CUP");
        cups.value.waiting.clear();
        // MUG is needed (an order waits); CUP has an empty queue and no rule.
        let plain = [mugs.value.clone(), cups.value.clone()];
        let needs = Needs::new(&plain, &[], &dc());
        let (second, kept) = Replenishing::prefetch(&needs, vec![mugs.clone(), cups], true);
        assert_eq!(kept.len(), 1, "only MUG's queue is kept");
        assert!(second.records.contains(&RecordKey::Product(sku("MUG"))));
        assert!(second.records.contains(&RecordKey::Order(order.value.id)));
        assert!(!second.records.contains(&RecordKey::Product(sku("CUP"))));
        assert!(second.stock_of.is_empty(), "no rule watches stock");
        let (without_orders, _) = Replenishing::prefetch(&needs, vec![mugs], false);
        assert!(
            !without_orders
                .records
                .contains(&RecordKey::Order(order.value.id))
        );
        // Nothing read: an empty position.
        let none = Replenishing::taking(Fetched::default(), kept);
        assert!(none.open.is_empty() && none.suppliers.is_empty() && none.orders.is_empty());
    }
}
