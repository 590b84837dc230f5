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
use crate::quantity::Quantity;
use crate::store::{Changeset, Entity, RecordKey};

/// One step of a purchase order's life after it is raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Draft → approved (and sent): waiting lines are promised its date.
    Approve,
    /// Draft or approved → cancelled: nothing will arrive.
    Cancel,
    /// Partly or fully received → closed: nothing more will arrive.
    Close,
    /// Sent, and expected on another day: waiting lines are promised the new one.
    Reschedule(NaiveDate),
}

impl Step {
    fn apply(self, po: &mut PurchaseOrder) -> Result<(), PurchasingError> {
        match self {
            Step::Approve => po.approve(),
            Step::Cancel => po.cancel(),
            Step::Close => po.close(),
            Step::Reschedule(day) => po.reschedule(day),
        }
    }

    /// The step's event, for `po` as it moved on from being expected on `was`.
    fn event(self, po: &PurchaseOrder, was: NaiveDate) -> Event {
        let purchase_order = po.id;
        match self {
            Step::Approve => Event::PurchaseOrderApproved { purchase_order },
            Step::Cancel => Event::PurchaseOrderCancelled { purchase_order },
            Step::Close => Event::PurchaseOrderClosed { purchase_order },
            Step::Reschedule(_) => Event::PurchaseOrderLate {
                purchase_order,
                was_expected_on: was,
                expected_on: po.expected_on,
            },
        }
    }
}

/// Takes `po` one `step` on, with its event, and re-promises the lines it was
/// going to fill (an approved order promises its date; a cancelled or closed one
/// no longer does, and they fall back to other orders or the offers). `backlog`
/// holds the queues of `po`'s SKUs and their orders; `purchase_orders` and
/// `suppliers` are at least those open for and offering `po`'s SKUs, as read.
/// The caller puts `po`.
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
    let was = po.expected_on;
    step.apply(po)?;
    changes.events.push(step.event(po, was));
    // What is on order, or when it arrives, changes: a replenishment or another
    // step deciding on the SKU's purchase orders meanwhile must decide again.
    for line in &po.lines {
        backlog.claim_on_order(&line.sku)?;
    }
    promise_from(po, purchase_orders, suppliers, products, backlog, changes)
}

/// Raises one purchase order to `supplier` for `needs`, at the supplier's cheapest
/// valid offer for each SKU (needs raised to its minimum and whole packs),
/// expected when the slowest offer arrives, approved at once within `policy`.
/// `backlog` holds the queues of the SKUs needed (and, if it may be approved at
/// once, their orders); `supply` holds at least the suppliers offering those
/// SKUs and the purchase orders sent for them.
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
    needs: &[(Sku, Quantity)],
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
        if needed.is_zero() {
            return Err(PurchasingError::EmptyOrder.into());
        }
        // Goods are received at the inventory's cost currency: an order in any
        // other could never be received.
        let carried = products
            .cost_currency(sku)
            .ok_or_else(|| Error::unknown_reference(Product::kind(), sku))?;
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
    changes.insert(po.clone());
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

#[cfg(test)]
mod tests {
    //! Raising a purchase order and each step of its life, given what the command
    //! read, with no store.
    use super::*;
    use crate::money::{Currency, Money};
    use crate::purchasing::PurchaseOrderStatus;
    use crate::purchasing::fixtures::*;
    use crate::store::Record;

    fn products() -> Products<'static> {
        [mug(usd(400)).value, cup()].into_iter().collect()
    }

    /// A backlog holding the mug queue with an order of 4 waiting, and the cup
    /// queue (absent: nobody waits for cups).
    fn backlog() -> Backlog {
        let (order, queue) = waiting_for_mugs(20, 4);
        let mut backlog = Backlog::default();
        backlog.adopt_queue(&sku("MUG"), Some(queue));
        backlog.adopt_queue(&sku("CUP"), None);
        backlog.adopt(order.value, order.version);
        backlog
    }

    fn when_moved(po: &mut PurchaseOrder, step: Step) -> (Result<(), Error>, Changeset) {
        let mut backlog = backlog();
        let mut changes = Changeset::new(at());
        let read = vec![po.clone()];
        let moved = move_purchase_order(
            po,
            step,
            &read,
            &[mills()],
            &products(),
            &mut backlog,
            &mut changes,
        );
        if moved.is_ok() {
            backlog.put_into(&mut changes);
        }
        (moved, changes)
    }

    fn promised(changes: &Changeset) -> Option<Option<NaiveDate>> {
        changes.puts.iter().find_map(|p| match &p.record {
            Record::Order(o) => Some(o.lines[0].promised_on),
            _ => None,
        })
    }

    fn queue_put(changes: &Changeset) -> bool {
        changes
            .puts
            .iter()
            .any(|p| matches!(&p.record, Record::BackOrderQueue(q) if q.sku == sku("MUG")))
    }

    #[test]
    fn approving_a_draft_sends_it_and_promises_its_date() {
        let mut po = draft(10, vec![(sku("MUG"), 10, usd(250))]);
        po.expected_on = in_days(3);
        let (moved, changes) = when_moved(&mut po, Step::Approve);
        moved.unwrap();
        assert_eq!(po.status, PurchaseOrderStatus::Approved);
        assert_eq!(promised(&changes), Some(Some(in_days(3))));
        assert!(matches!(
            changes.events.as_slice(),
            [
                Event::PurchaseOrderApproved { .. },
                Event::PromiseDateChanged { .. }
            ]
        ));
        // What is sent changes the promises others make: the queue is claimed, so
        // a replenishment or another approval deciding meanwhile decides again.
        assert!(queue_put(&changes), "approving claims the SKU's queue");
        assert!(changes.puts.iter().any(|p| matches!(
            (&p.record, p.expected),
            (Record::BackOrderQueue(q), Some(7)) if q.sku == sku("MUG")
        )));
    }

    #[test]
    fn cancelling_falls_back_to_the_offer_and_claims_the_queue() {
        let mut po = mugs_on_order(10, 10);
        po.expected_on = in_days(3);
        let (moved, changes) = when_moved(&mut po, Step::Cancel);
        moved.unwrap();
        assert_eq!(po.status, PurchaseOrderStatus::Cancelled);
        // Mills' mug offer arrives in 5 days if ordered today.
        assert_eq!(promised(&changes), Some(Some(in_days(5))));
        assert!(queue_put(&changes), "what is on order fell");
    }

    #[test]
    fn closing_a_partly_received_order_claims_the_queue() {
        let mut po = mugs_on_order(10, 10);
        po.receive(
            &sku("MUG"),
            Quantity::new(4),
            crate::purchasing::OverReceipt::Reject,
        )
        .unwrap();
        let (moved, changes) = when_moved(&mut po, Step::Close);
        moved.unwrap();
        assert_eq!(po.status, PurchaseOrderStatus::Closed);
        assert!(matches!(
            changes.events.first(),
            Some(Event::PurchaseOrderClosed { .. })
        ));
        assert!(queue_put(&changes));
    }

    #[test]
    fn steps_that_do_not_apply_are_refused_and_decide_nothing() {
        for (status, step, action) in [
            (PurchaseOrderStatus::Approved, Step::Approve, "approve"),
            (
                PurchaseOrderStatus::PartiallyReceived,
                Step::Cancel,
                "cancel",
            ),
            (PurchaseOrderStatus::Draft, Step::Close, "close"),
            (PurchaseOrderStatus::Cancelled, Step::Approve, "approve"),
        ] {
            let mut po = draft(10, vec![(sku("MUG"), 10, usd(250))]);
            po.status = status;
            let (moved, changes) = when_moved(&mut po, step);
            assert!(
                matches!(
                    moved,
                    Err(Error::Purchasing(PurchasingError::InvalidTransition { status: s, action: a, .. }))
                        if s == status && a == action
                ),
                "{step:?} from {status:?}: {moved:?}"
            );
            assert!(changes.is_empty());
            assert_eq!(po.status, status);
        }
    }

    fn when_raised(
        needs: &[(Sku, u32)],
        auto_approve_up_to: Option<Money>,
    ) -> (Result<PurchaseOrder, Error>, Changeset) {
        when_raised_by(&mills(), needs, auto_approve_up_to)
    }

    /// Raises `needs` from `supplier`, with no supply on order.
    fn when_raised_by(
        supplier: &Supplier,
        needs: &[(Sku, u32)],
        auto_approve_up_to: Option<Money>,
    ) -> (Result<PurchaseOrder, Error>, Changeset) {
        let needs: Vec<(Sku, Quantity)> = needs
            .iter()
            .map(|(sku, units)| (sku.clone(), Quantity::new(*units)))
            .collect();
        let books = Books::new();
        let policy = PurchasingPolicy {
            auto_approve_up_to,
            ..PurchasingPolicy::default()
        };
        let mut backlog = backlog();
        let mut changes = Changeset::new(at());
        let suppliers = [mills()];
        let supply = Supply {
            suppliers: &suppliers,
            sent: &[],
        };
        let raised = raise_purchase_order(
            supplier,
            &dc(),
            &needs,
            &products(),
            supply,
            &policy,
            &mut backlog,
            &books.ctx(),
            &mut changes,
        );
        if raised.is_ok() {
            backlog.put_into(&mut changes);
        }
        (raised, changes)
    }

    #[test]
    fn a_raised_order_rounds_to_packs_waits_as_a_draft_and_claims_its_queues() {
        let (raised, changes) = when_raised(&[(sku("MUG"), 3), (sku("CUP"), 7)], None);
        let po = raised.unwrap();
        assert_eq!(po.status, PurchaseOrderStatus::Draft);
        let lines: Vec<(Sku, u32)> = po
            .lines
            .iter()
            .map(|l| (l.sku.clone(), l.quantity.units()))
            .collect();
        assert_eq!(
            lines,
            [(sku("MUG"), 3), (sku("CUP"), 12)],
            "cups in packs of 6"
        );
        assert_eq!(po.expected_on, in_days(10), "when the slowest line arrives");
        assert_eq!(changes.numbered, [RecordKey::PurchaseOrder(po.id)]);
        assert!(matches!(
            changes.events.as_slice(),
            [Event::PurchaseOrderRaised { .. }]
        ));
        let queues: Vec<(Sku, Option<u64>)> = changes
            .puts
            .iter()
            .filter_map(|p| match &p.record {
                Record::BackOrderQueue(q) => Some((q.sku.clone(), p.expected)),
                _ => None,
            })
            .collect();
        assert_eq!(
            queues,
            [(sku("MUG"), Some(7)), (sku("CUP"), None)],
            "each SKU's queue put at the version read (new if there was none)"
        );
        assert_eq!(promised(&changes), None, "a draft promises nothing");
    }

    #[test]
    fn an_order_within_the_limit_is_approved_at_once_and_promises_its_date() {
        let (raised, changes) = when_raised(&[(sku("MUG"), 10)], Some(usd(2500)));
        let po = raised.unwrap();
        assert_eq!(po.status, PurchaseOrderStatus::Approved);
        assert_eq!(promised(&changes), Some(Some(in_days(5))));
        let (over, _) = when_raised(&[(sku("MUG"), 11)], Some(usd(2500)));
        assert_eq!(over.unwrap().status, PurchaseOrderStatus::Draft);
    }

    #[test]
    fn raising_refuses_what_could_never_be_received() {
        let (zero, changes) = when_raised(&[(sku("MUG"), 0)], None);
        assert!(matches!(
            zero,
            Err(Error::Purchasing(PurchasingError::EmptyOrder))
        ));
        assert!(changes.is_empty(), "a refused order leaves nothing");
        let (unknown, changes) = when_raised(&[(sku("BOWL"), 1)], None);
        assert!(changes.is_empty(), "a refused order leaves nothing");
        assert!(matches!(
            unknown,
            Err(Error::NotFound { entity: "product", id, addressed: false }) if id == "BOWL"
        ));
        let mut euro_mills = mills();
        euro_mills.currency = Currency::EUR;
        let (mismatch, changes) = when_raised_by(&euro_mills, &[(sku("MUG"), 1)], None);
        assert!(matches!(
            mismatch,
            Err(Error::Purchasing(PurchasingError::CurrencyMismatch {
                expected: Currency::USD,
                found: Currency::EUR,
                ..
            }))
        ));
        assert!(changes.is_empty(), "a refused order leaves nothing");
        let mut no_cups = mills();
        no_cups.offers.retain(|o| o.sku != sku("CUP"));
        let (none, changes) = when_raised_by(&no_cups, &[(sku("CUP"), 1)], None);
        assert!(matches!(
            none,
            Err(Error::Purchasing(PurchasingError::NoOffer { sku })) if sku == self::sku("CUP")
        ));
        assert!(changes.is_empty(), "a refused order leaves nothing");
    }
}
