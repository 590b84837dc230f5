//! Purchasing on the service: suppliers, replenishment of back-orders, purchase
//! orders and receiving against them at moving-average cost.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Oms, fingerprint};
use crate::catalog::Product;
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{EntryId, IdempotencyKey, LocationId, PurchaseOrderId, Sku, SupplierId};
use crate::money::{Money, Rounding};
use crate::purchasing::{
    BackOrderQueue, OfferRanking, OverReceipt, PurchaseOrder, PurchasingError, ReorderRule,
    Requisition, Supplier, order_quantity, rank_offers,
};
use crate::stock::{Location, MovementReason, StockMovement};
use crate::store::{Changeset, Check, IdempotencyScope, IdempotentOutcome, Put, RecordKey, Store};

/// The counter record purchasing commands take turns on (see `Oms::take_turn`).
const PURCHASING_TURNS: &str = "purchasing_turns";

/// What one SKU needs at one location: units back-ordered there, and its rule.
#[derive(Default)]
struct Need {
    back_ordered: u64,
    rule: Option<ReorderRule>,
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

/// How purchasing behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchasingPolicy {
    /// Back-ordered units are wanted within this many days: offers arriving later
    /// rank behind those in time ([`rank_offers`]). 14 by default. Reorder-point
    /// requisitions have no deadline, so the cheapest offer wins.
    pub back_orders_wanted_within_days: u16,
    /// Purchase orders worth at most this (in its currency) are approved as they are
    /// raised; the rest, and any in another currency, wait for
    /// [`Oms::approve_purchase_order`]. `None`: everything waits.
    pub auto_approve_up_to: Option<Money>,
    /// What a receipt of more than is outstanding does.
    pub over_receipt: OverReceipt,
}

impl Default for PurchasingPolicy {
    fn default() -> Self {
        Self {
            back_orders_wanted_within_days: 14,
            auto_approve_up_to: None,
            over_receipt: OverReceipt::Reject,
        }
    }
}

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

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Adds or replaces a supplier and its offers.
    ///
    /// # Errors
    /// [`Error::Purchasing`] for a bad offer (zero lead time or pack size, a cost
    /// finer than a cent or negative, an empty validity window, another currency).
    pub async fn save_supplier(&self, supplier: Supplier) -> Result<(), Error> {
        supplier.validate()?;
        super::retrying!(self, {
            let existing = self.store.load::<Supplier>(&supplier.id).await?;
            let mut changes = Changeset::new(self.now());
            changes.events.push(Event::SupplierSaved {
                supplier: supplier.id,
            });
            changes
                .puts
                .push(Put::upsert(supplier.clone(), existing.map(|v| v.version)));
            self.store.commit(changes).await.map_err(Error::from)
        })?;
        Ok(())
    }

    /// Every supplier's offers for `needed` units of `sku`, best first, by the rule
    /// of [`rank_offers`], with the reasons.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown SKU; [`Error::Store`].
    pub async fn rank_offers(
        &self,
        sku: &Sku,
        needed: u32,
        needed_by: Option<NaiveDate>,
    ) -> Result<OfferRanking, Error> {
        let product = self.must::<Product>(sku).await?.value;
        let suppliers = self.all_suppliers().await?;
        Ok(rank_offers(
            &suppliers,
            sku,
            needed,
            product.cost.currency(),
            self.now().date_naive(),
            needed_by,
        ))
    }

    /// Raises the purchase orders that back-orders and reorder points call for.
    ///
    /// Requisitions: each SKU with back-ordered units not already on order (to any
    /// location) asks for the difference, delivered to `ship_to`, wanted within
    /// [`PurchasingPolicy::back_orders_wanted_within_days`]; each
    /// [`ReorderRule`] whose location's position (available there plus on order to
    /// it) is below its minimum asks for enough to reach its maximum. Each goes to
    /// the supplier of the best offer ([`rank_offers`]), and the requisitions for
    /// one supplier and one location become one purchase order, each SKU raised to
    /// the offer's minimum and whole packs. Orders within
    /// [`PurchasingPolicy::auto_approve_up_to`] are approved at once, which
    /// re-promises the waiting lines. Returns the purchase orders raised.
    ///
    /// Runs serialise on a counter record, so two at once never order the same
    /// shortfall twice.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown location; [`Error::Purchasing`] with
    /// `NoOffer` when a short SKU has no valid offer; [`Error::Store`].
    pub async fn replenish(&self, ship_to: &LocationId) -> Result<Vec<PurchaseOrder>, Error> {
        super::retrying!(self, self.try_replenish(ship_to).await)
    }

    /// Sets (or replaces) the min/max rule of one SKU at one location.
    ///
    /// # Errors
    /// [`Error::Purchasing`] for max < min or max = 0; [`Error::NotFound`] for an
    /// unknown SKU or location.
    pub async fn set_reorder_rule(&self, rule: ReorderRule) -> Result<(), Error> {
        rule.validate()?;
        self.must::<Product>(&rule.sku).await?;
        self.must::<Location>(&rule.location).await?;
        super::retrying!(self, {
            let key = (rule.sku.clone(), rule.location.clone());
            let existing = self.store.load::<ReorderRule>(&key).await?;
            let mut changes = Changeset::new(self.now());
            changes
                .puts
                .push(Put::upsert(rule.clone(), existing.map(|v| v.version)));
            self.store.commit(changes).await.map_err(Error::from)
        })?;
        Ok(())
    }

    /// What replenishment would ask for now, without raising anything: one
    /// requisition per SKU × location short of back-ordered units or below its
    /// reorder point, each with the offer the best-offer rule picks and its reasons
    /// (`None` when no offer qualifies). See [`Oms::replenish`] for the rules.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown location or product; [`Error::Store`].
    pub async fn requisitions(&self, ship_to: &LocationId) -> Result<Vec<Requisition>, Error> {
        let open = self.purchase_orders(PurchaseOrder::is_open).await?;
        self.requisitions_against(ship_to, &open).await
    }

    async fn requisitions_against(
        &self,
        ship_to: &LocationId,
        open: &[PurchaseOrder],
    ) -> Result<Vec<Requisition>, Error> {
        self.must::<Location>(ship_to).await?;
        let today = self.now().date_naive();
        let suppliers = self.all_suppliers().await?;
        let wanted_by = today.checked_add_days(chrono::Days::new(u64::from(
            self.config.purchasing.back_orders_wanted_within_days,
        )));
        // Net requirement per SKU × location: back-ordered units waiting for it (a
        // pickup line at its store, any other at `ship_to`), and its reorder rule.
        let mut needs: BTreeMap<(Sku, LocationId), Need> = BTreeMap::new();
        for queue in self.store.list::<BackOrderQueue>().await? {
            for w in &queue.value.waiting {
                let at = w.location.clone().unwrap_or_else(|| ship_to.clone());
                let need = needs.entry((queue.value.sku.clone(), at)).or_default();
                need.back_ordered = need.back_ordered.saturating_add(u64::from(w.quantity));
            }
        }
        for rule in self.store.list::<ReorderRule>().await? {
            let rule = rule.value;
            let key = (rule.sku.clone(), rule.location.clone());
            needs.entry(key).or_default().rule = Some(rule);
        }
        let mut requisitions = Vec::new();
        for ((sku, location), n) in needs {
            let on_order: i64 = open
                .iter()
                .filter(|po| po.ship_to == location)
                .map(|po| i64::from(po.outstanding(&sku)))
                .sum();
            let back_ordered = i64::try_from(n.back_ordered).unwrap_or(i64::MAX);
            let quantity = match &n.rule {
                // One purchase covers both: the back-orders, then the rule's level.
                Some(rule) => {
                    let available = self.stock_level(&sku, &location).await?.available();
                    rule.shortfall(
                        available
                            .saturating_add(on_order)
                            .saturating_sub(back_ordered),
                    )
                }
                None => {
                    u32::try_from(back_ordered.saturating_sub(on_order).max(0)).unwrap_or(u32::MAX)
                }
            };
            if quantity == 0 {
                continue;
            }
            let wanted_by = (n.back_ordered > 0).then_some(wanted_by).flatten();
            let product = self.must::<Product>(&sku).await?.value;
            let offer = rank_offers(
                &suppliers,
                &sku,
                quantity,
                product.cost.currency(),
                today,
                wanted_by,
            )
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

    async fn try_replenish(&self, ship_to: &LocationId) -> Result<Vec<PurchaseOrder>, Error> {
        let now = self.now();
        let mut changes = Changeset::new(now);
        self.take_turn(&mut changes).await?;
        let mut open = self.purchase_orders(PurchaseOrder::is_open).await?;
        let mut drafts: Vec<Draft> = Vec::new();
        for requisition in self.requisitions_against(ship_to, &open).await? {
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
                self.new_id(PurchaseOrderId::from_uuid),
                draft.supplier,
                currency,
                draft.ship_to,
                draft.lines,
                draft.arrives,
                now,
            )?;
            raised.push(self.raise(po, &mut changes)?);
        }
        open.extend(raised.iter().filter(|po| po.is_open()).cloned());
        let sent: Vec<PurchaseOrder> = open.into_iter().filter(PurchaseOrder::is_sent).collect();
        let mut approved: Vec<Sku> = Vec::new();
        for po in raised.iter().filter(|po| po.is_sent()) {
            for line in &po.lines {
                if !approved.contains(&line.sku) {
                    approved.push(line.sku.clone());
                }
            }
        }
        let mut backlog = self.backlog(&approved).await?;
        self.repromise(&mut backlog, &approved, &sent, &mut changes)
            .await?;
        backlog.put_into(&mut changes);
        if !raised.is_empty() {
            let committed = self.store.commit(changes).await?;
            raised = raised
                .into_iter()
                .map(|po| committed.numbered(po))
                .collect::<Result<_, _>>()?;
        }
        Ok(raised)
    }

    /// Adds a new purchase order to `changes`, approving it when the policy allows.
    fn raise(
        &self,
        mut po: PurchaseOrder,
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
        let within = self
            .config
            .purchasing
            .auto_approve_up_to
            .is_some_and(|limit| total.cmp_amount(limit).is_ok_and(|o| o.is_le()));
        if within {
            po.approve()?;
            changes.events.push(Event::PurchaseOrderApproved {
                purchase_order: po.id,
            });
        }
        changes.puts.push(Put::insert(po.clone()));
        changes.number(RecordKey::PurchaseOrder(po.id));
        Ok(po)
    }

    /// Raises one purchase order to `supplier` for the given SKUs and needs, at the
    /// supplier's cheapest valid offer for each (needs raised to its minimum and
    /// whole packs), expected when the slowest offer arrives.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown supplier or location;
    /// [`Error::Purchasing`] with `NoOffer` (no valid offer from this supplier),
    /// `EmptyOrder`; [`Error::Store`].
    pub async fn raise_purchase_order(
        &self,
        supplier: SupplierId,
        ship_to: &LocationId,
        needs: &[(Sku, u32)],
    ) -> Result<PurchaseOrder, Error> {
        super::retrying!(self, self.try_raise(supplier, ship_to, needs).await)
    }

    async fn try_raise(
        &self,
        supplier: SupplierId,
        ship_to: &LocationId,
        needs: &[(Sku, u32)],
    ) -> Result<PurchaseOrder, Error> {
        let found = self.must::<Supplier>(&supplier).await?.value;
        self.must::<Location>(ship_to).await?;
        let today = self.now().date_naive();
        let mut lines = Vec::with_capacity(needs.len());
        let mut expected_on = today;
        for (sku, needed) in needs {
            if *needed == 0 {
                return Err(PurchasingError::EmptyOrder.into());
            }
            // Goods are received at the inventory's cost currency: an order in any
            // other could never be received.
            let carried = self.must::<Product>(sku).await?.value.cost.currency();
            if carried != found.currency {
                return Err(PurchasingError::CurrencyMismatch {
                    sku: sku.clone(),
                    expected: carried,
                    found: found.currency,
                }
                .into());
            }
            let ranking = rank_offers(
                std::slice::from_ref(&found),
                sku,
                *needed,
                found.currency,
                today,
                None,
            );
            let best = ranking
                .best()
                .ok_or_else(|| PurchasingError::NoOffer { sku: sku.clone() })?;
            let quantity =
                order_quantity(*needed, best.offer.minimum_quantity, best.offer.pack_size)
                    .ok_or_else(|| PurchasingError::NoOffer { sku: sku.clone() })?;
            lines.push((sku.clone(), quantity, best.offer.unit_cost));
            expected_on = expected_on.max(best.arrives_on);
        }
        let now = self.now();
        let po = PurchaseOrder::draft(
            self.new_id(PurchaseOrderId::from_uuid),
            supplier,
            found.currency,
            ship_to.clone(),
            lines,
            expected_on,
            now,
        )?;
        let mut changes = Changeset::new(now);
        self.take_turn(&mut changes).await?;
        let po = self.raise(po, &mut changes)?;
        if po.is_sent() {
            self.promise_from(&po, &mut changes).await?;
        }
        let committed = self.store.commit(changes).await?;
        Ok(committed.numbered(po)?)
    }

    /// Re-promises the lines waiting for each SKU of `po`, now that it is on its way
    /// (or, cancelled, no longer is).
    async fn promise_from(&self, po: &PurchaseOrder, changes: &mut Changeset) -> Result<(), Error> {
        let sent = self.sent_purchase_orders_with(po).await?;
        let skus: Vec<Sku> = po.lines.iter().map(|l| l.sku.clone()).collect();
        let mut backlog = self.backlog(&skus).await?;
        self.repromise(&mut backlog, &skus, &sent, changes).await?;
        backlog.put_into(changes);
        Ok(())
    }

    /// Brings `units` worth `value` into the SKU's stock at moving-average cost:
    /// the cost becomes `(on hand × cost + value) / (on hand + units)`, rounded
    /// half-even to the minor unit, and the rounding is posted as an inventory
    /// adjustment so that inventory stays exactly on hand × cost. Adds the product's
    /// new cost (or a check on its version) and a check on the SKU's on-hand to
    /// `changes` — the average is over exactly the units read — and returns the
    /// new cost. The caller posts `value` itself and moves the stock.
    pub(super) async fn average_in(
        &self,
        sku: &Sku,
        units: u32,
        value: Money,
        changes: &mut Changeset,
    ) -> Result<Money, Error> {
        let stored = self.must::<Product>(sku).await?;
        let (mut product, version) = (stored.value, stored.version);
        let on_hand: i64 = self
            .store
            .stock_levels(sku)
            .await?
            .iter()
            .map(|l| l.on_hand)
            .fold(0, i64::saturating_add);
        changes.checks.push(Check::SkuOnHand {
            sku: sku.clone(),
            on_hand,
        });
        // The stock guard keeps every location's on-hand at or above zero.
        let held = u64::try_from(on_hand)
            .map_err(|_| Error::invalid("stock", format!("{sku} has {on_hand} on hand in all")))?;
        let units_after = held.saturating_add(u64::from(units));
        let pooled = product.cost.checked_mul_qty(held)?.checked_add(value)?;
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
        changes.journal.extend(self.postings().adjustment(
            &format!("moving-average rounding of {sku}"),
            rounding,
            self.new_id(EntryId::from_uuid),
            changes.at,
        )?);
        if product.cost == average {
            changes.checks.push(Check::Version {
                key: crate::store::RecordKey::Product(sku.clone()),
                version,
            });
        } else {
            product.cost = average;
            changes.puts.push(Put::update(product, version));
        }
        Ok(average)
    }

    /// Puts the next value of the purchasing counter into `changes`. Every purchasing
    /// command does, so they take turns: replenishment decides on the purchase orders
    /// and queues it read, and a purchase order raised, approved, cancelled or
    /// received meanwhile must send it back to read again, never let it order the
    /// same units twice.
    async fn take_turn(&self, changes: &mut Changeset) -> Result<(), Error> {
        self.next_number(PURCHASING_TURNS, changes).await?;
        Ok(())
    }

    /// Approves (and sends) a draft; waiting back-orders are promised its date.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Purchasing`] unless it is a draft.
    pub async fn approve_purchase_order(
        &self,
        id: PurchaseOrderId,
    ) -> Result<PurchaseOrder, Error> {
        self.move_purchase_order(id, PurchaseOrder::approve, |purchase_order| {
            Event::PurchaseOrderApproved { purchase_order }
        })
        .await
    }

    /// Cancels a purchase order before anything arrived.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Purchasing`] once goods arrived.
    pub async fn cancel_purchase_order(&self, id: PurchaseOrderId) -> Result<PurchaseOrder, Error> {
        self.move_purchase_order(id, PurchaseOrder::cancel, |purchase_order| {
            Event::PurchaseOrderCancelled { purchase_order }
        })
        .await
    }

    /// Receives goods against a purchase order at its ship-to location, in one
    /// commit per receipt: on-hand rises through a receipt movement; inventory is
    /// debited and goods-received credited at the order's cost; the SKU's cost
    /// becomes the moving average, `(on hand × cost + received × unit cost) / (on
    /// hand + received)` rounded half-even to the minor unit, with the rounding
    /// posted as an inventory adjustment so that inventory stays exactly on hand ×
    /// cost; and waiting back-orders take the units first-come-first-served.
    ///
    /// # Errors
    /// [`Error::Purchasing`]: the order is not approved (a draft, cancelled,
    /// closed), a SKU not on it or twice, zero units, more than outstanding under
    /// [`OverReceipt::Reject`], a cost currency differing from the product's;
    /// [`Error::NotFound`]; [`Error::IdempotencyKeyReused`].
    pub async fn receive_purchase_order(
        &self,
        cmd: ReceivePurchaseOrder,
    ) -> Result<PurchaseOrder, Error> {
        let print = fingerprint(&cmd)?;
        let received = super::retrying!(self, self.try_receive(&cmd, print).await);
        if received.is_err()
            && self
                .replay(
                    IdempotencyScope::ReceivePurchaseOrder,
                    &cmd.idempotency_key,
                    print,
                )
                .await?
                .is_some()
        {
            return Ok(self.must::<PurchaseOrder>(&cmd.purchase_order).await?.value);
        }
        received
    }

    async fn try_receive(
        &self,
        cmd: &ReceivePurchaseOrder,
        print: u64,
    ) -> Result<PurchaseOrder, Error> {
        let scope = IdempotencyScope::ReceivePurchaseOrder;
        if self
            .replay(scope, &cmd.idempotency_key, print)
            .await?
            .is_some()
        {
            return Ok(self.must::<PurchaseOrder>(&cmd.purchase_order).await?.value);
        }
        let stored = self.must::<PurchaseOrder>(&cmd.purchase_order).await?;
        let mut po = stored.value;
        if cmd.lines.is_empty() {
            return Err(PurchasingError::EmptyReceipt.into());
        }
        let now = self.now();
        let mut changes = Changeset::new(now);
        let received: Vec<Sku> = cmd.lines.iter().map(|(sku, _)| sku.clone()).collect();
        let mut backlog = self.backlog(&received).await?;
        let location = po.ship_to.clone();
        for (n, (sku, units)) in cmd.lines.iter().enumerate() {
            if cmd.lines.iter().take(n).any(|(s, _)| s == sku) {
                return Err(Error::invalid("lines", format!("{sku} is received twice")));
            }
            let got = po.receive(sku, *units, self.config.purchasing.over_receipt)?;
            let carried = self.must::<Product>(sku).await?.value.cost.currency();
            if carried != got.unit_cost.currency() {
                return Err(PurchasingError::CurrencyMismatch {
                    sku: sku.clone(),
                    expected: carried,
                    found: got.unit_cost.currency(),
                }
                .into());
            }
            let value = got.unit_cost.checked_mul_qty(u64::from(got.units))?;
            changes.journal.extend(self.postings().receipt(
                &format!("PO {}", po.id),
                value,
                self.new_id(EntryId::from_uuid),
                now,
            )?);
            let average = self.average_in(sku, got.units, value, &mut changes).await?;
            changes.movements.push(StockMovement {
                sku: sku.clone(),
                location: location.clone(),
                quantity: i64::from(got.units),
                reason: MovementReason::PurchaseOrder {
                    purchase_order: po.id,
                },
                at: now,
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
            self.fill_at(&mut backlog, sku, &location, got.units, &mut changes)
                .await?;
        }
        // The lines still waiting moved up their queues, and this order owes less.
        let sent = self.sent_purchase_orders_with(&po).await?;
        self.repromise(&mut backlog, &received, &sent, &mut changes)
            .await?;
        backlog.put_into(&mut changes);
        self.take_turn(&mut changes).await?;
        changes.puts.push(Put::update(po.clone(), stored.version));
        self.commit_keyed(
            changes,
            scope,
            &cmd.idempotency_key,
            print,
            IdempotentOutcome::Stock,
        )
        .await?;
        Ok(po)
    }

    /// Closes a partly or fully received purchase order: nothing more is expected.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Purchasing`] for any other status.
    pub async fn close_purchase_order(&self, id: PurchaseOrderId) -> Result<PurchaseOrder, Error> {
        self.move_purchase_order(id, PurchaseOrder::close, |purchase_order| {
            Event::PurchaseOrderClosed { purchase_order }
        })
        .await
    }

    /// One step of a purchase order's life (approve, cancel, close), in one commit:
    /// the step, its event, and the promise dates of the lines it was going to fill
    /// (an approved order promises its date; a cancelled or closed one no longer
    /// does, and they fall back to other orders or the offers).
    async fn move_purchase_order(
        &self,
        id: PurchaseOrderId,
        step: fn(&mut PurchaseOrder) -> Result<(), PurchasingError>,
        event: fn(PurchaseOrderId) -> Event,
    ) -> Result<PurchaseOrder, Error> {
        super::retrying!(self, {
            let stored = self.must::<PurchaseOrder>(&id).await?;
            let mut po = stored.value;
            step(&mut po)?;
            let mut changes = Changeset::new(self.now());
            self.take_turn(&mut changes).await?;
            changes.events.push(event(id));
            self.promise_from(&po, &mut changes).await?;
            changes.puts.push(Put::update(po.clone(), stored.version));
            self.store.commit(changes).await?;
            Ok::<_, Error>(po)
        })
    }
}
