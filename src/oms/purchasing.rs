//! Purchasing on the service: reads what each purchasing decision in
//! [`crate::purchasing`] needs (one batch, and at most one dependent read second:
//! the orders waiting in the back-order queues, and the supply of SKUs the first
//! read named), lets it decide, and commits. Purchase orders and suppliers are
//! read by the SKUs a command concerns ([`supply_to_read`]), never whole.
//!
//! No purchasing command takes a turn on a shared record: each puts or checks
//! what its decision rests on, and every change to what is on order for a SKU
//! puts that SKU's back-order queue ([`Backlog::claim_on_order`]), so a
//! replenishment and a purchase order raised for the same SKU meanwhile conflict,
//! and commands on different SKUs never do.

use crate::payment::PaymentProvider;
use chrono::NaiveDate;

use super::{Applied, Fingerprint, Oms, fingerprint};
use crate::catalog::{Product, Products};
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::{IdempotencyKey, LocationId, PurchaseOrderId, Sku, SupplierId};
use crate::order::Order;
use crate::purchasing::lifecycle::{self, Step};
use crate::purchasing::replenish::{self, Needs, Replenishing, Waiting};
use crate::purchasing::{
    BackOrderQueue, Backlog, OfferRanking, PurchaseOrder, ReceivePurchaseOrder, Receiving,
    ReorderRule, Requisition, Supplier, Supply, rank_offers, save_supplier, set_reorder_rule,
    supply_to_read,
};
use crate::quantity::Quantity;
use crate::stock::Location;
use crate::store::{
    Changeset, Entity, Fetched, IdempotencyScope, IdempotentOutcome, IndexTerm, Prefetch, Store,
    Versioned,
};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Adds or replaces a supplier and its offers.
    ///
    /// # Errors
    /// [`Error::Purchasing`] for a bad offer (zero lead time or pack size, a cost
    /// finer than a cent or negative, an empty validity window, another currency).
    pub async fn save_supplier(&self, supplier: Supplier) -> Result<(), Error> {
        supplier.validate()?;
        super::retrying!(self, "save_supplier", id = &supplier.id, {
            let existing =
                super::trace::store("load", self.store.load::<Supplier>(&supplier.id)).await?;
            let mut changes = Changeset::new(self.now());
            save_supplier(supplier.clone(), existing.map(|v| v.version), &mut changes)?;
            super::trace::store("commit", self.store.commit(changes))
                .await
                .map_err(Error::from)
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
        needed: Quantity,
        needed_by: Option<NaiveDate>,
    ) -> Result<OfferRanking, Error> {
        let request = Prefetch::new()
            .record::<Product>(sku)
            .found_under::<Supplier>(&IndexTerm::Sku(sku.clone()));
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        let product = super::found::<Product>(&mut fetched, sku)?.value;
        let suppliers = values(fetched.take_every::<Supplier>());
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
    /// Two runs at once never order the same shortfall twice: each puts the
    /// back-order queue of every SKU it orders, as raising a purchase order by hand
    /// does, so the later of two that order one SKU reads again and decides again.
    ///
    /// [`PurchasingPolicy::back_orders_wanted_within_days`]: crate::PurchasingPolicy::back_orders_wanted_within_days
    /// [`PurchasingPolicy::auto_approve_up_to`]: crate::PurchasingPolicy::auto_approve_up_to
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown location; [`Error::Purchasing`] with
    /// `NoOffer` when a short SKU has no valid offer, `TooManyUnits` for a
    /// requirement no purchase order line holds; [`Error::Store`].
    pub async fn replenish(
        &self,
        ship_to: &LocationId,
        key: IdempotencyKey,
    ) -> Result<Applied<Vec<PurchaseOrder>>, Error> {
        let scope = IdempotencyScope::Replenish;
        let print = fingerprint(ship_to)?;
        super::retrying!(
            self,
            "replenish",
            key = &key,
            id = ship_to,
            self.try_replenish(ship_to, &key, &print).await,
            twin = self.twin_all::<PurchaseOrder>(scope, &key, &print)
        )
    }

    async fn try_replenish(
        &self,
        ship_to: &LocationId,
        key: &IdempotencyKey,
        print: &Fingerprint<'_>,
    ) -> Result<Applied<Vec<PurchaseOrder>>, Error> {
        let scope = IdempotencyScope::Replenish;
        let policy = &self.config.purchasing;
        let with_orders = policy.auto_approve_up_to.is_some();
        let (needs, read) = match self
            .read_replenishing(ship_to, with_orders, Some((key, print)))
            .await?
        {
            Replenish::Replay(outcome) => return self.replayed_all(&outcome).await,
            Replenish::Read(needs, read) => (needs, read),
        };
        let mut changes = Changeset::new(self.now());
        let ctx = self.context(changes.at);
        let requisitions =
            replenish::requisitions(needs, read.position(), policy, changes.at.date_naive())?;
        let raised = replenish::replenish(
            requisitions,
            read.position(),
            Waiting {
                queues: &read.queues,
                orders: &read.orders,
            },
            policy,
            &ctx,
            &mut changes,
        )?;
        // A run that raises nothing still spends its key: its replay raises
        // nothing either, however the stock has moved since.
        let outcome = IdempotentOutcome::PurchaseOrders(raised.iter().map(|po| po.id).collect());
        let committed = self
            .commit_keyed(changes, scope, key, print, outcome)
            .await?;
        let numbered = raised
            .into_iter()
            .map(|po| committed.numbered(po))
            .collect::<Result<_, _>>()?;
        Ok(Applied::fresh(numbered))
    }

    /// Sets (or replaces) the min/max rule of one SKU at one location.
    ///
    /// # Errors
    /// [`Error::Purchasing`] for max < min or max = 0; [`Error::NotFound`] for an
    /// unknown SKU or location.
    pub async fn set_reorder_rule(&self, rule: ReorderRule) -> Result<(), Error> {
        rule.validate()?;
        super::retrying!(self, "set_reorder_rule", id = &rule.sku, {
            let key = (rule.sku.clone(), rule.location.clone());
            let request = Prefetch::new()
                .record::<Product>(&rule.sku)
                .record::<Location>(&rule.location)
                .record::<ReorderRule>(&key);
            let fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
            let mut changes = Changeset::new(self.now());
            set_reorder_rule(
                rule.clone(),
                fetched.has::<Product>(&rule.sku),
                fetched.has::<Location>(&rule.location),
                fetched.get::<ReorderRule>(&key).map(|v| v.version),
                &mut changes,
            )?;
            super::trace::store("commit", self.store.commit(changes))
                .await
                .map_err(Error::from)
        })?;
        Ok(())
    }

    /// What replenishment would ask for now, without raising anything: one
    /// requisition per SKU × location short of back-ordered units or below its
    /// reorder point, each with the offer the best-offer rule picks and its reasons
    /// (`None` when no offer qualifies). See [`Oms::replenish`] for the rules.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown location or product; [`Error::Purchasing`]
    /// with `TooManyUnits`; [`Error::Store`].
    pub async fn requisitions(&self, ship_to: &LocationId) -> Result<Vec<Requisition>, Error> {
        let Replenish::Read(needs, read) = self.read_replenishing(ship_to, false, None).await?
        else {
            return Err(Error::inconsistent("requisitions", "read as a replay"));
        };
        replenish::requisitions(
            needs,
            read.position(),
            &self.config.purchasing,
            self.now().date_naive(),
        )
    }

    /// Reads what replenishment at `ship_to` decides on, in two reads: the
    /// run's key (when `keyed`: a key used before ends the read with its outcome),
    /// the location, every back-order queue and every reorder rule (which SKUs need
    /// anything follows from all of them: these two kinds stay whole); then, for
    /// the SKUs needed, the purchase orders open for them, the suppliers offering
    /// them, their products, the stock of those with a rule and (`with_orders`,
    /// when purchase orders may be approved as they are raised) the orders
    /// waiting for them.
    ///
    /// The purchase orders read second may be newer than the queues read first;
    /// a raise that changed what is on order for a SKU meanwhile put its queue
    /// ([`Backlog::claim_on_order`]), so this command's claim on it conflicts and
    /// it decides again.
    async fn read_replenishing(
        &self,
        ship_to: &LocationId,
        with_orders: bool,
        keyed: Option<(&IdempotencyKey, &Fingerprint<'_>)>,
    ) -> Result<Replenish, Error> {
        let scope = IdempotencyScope::Replenish;
        let mut first = Prefetch::new()
            .record::<Location>(ship_to)
            .every::<BackOrderQueue>()
            .every::<ReorderRule>();
        if let Some((key, _)) = keyed {
            first = first.key(scope, key);
        }
        let mut fetched = super::trace::store("fetch", self.store.fetch(&first)).await?;
        if let Some((key, print)) = keyed
            && let Some(outcome) = super::earlier(fetched.idempotency.as_ref(), scope, key, print)?
        {
            return Ok(Replenish::Replay(outcome));
        }
        super::found::<Location>(&mut fetched, ship_to).map_err(Error::into_reference)?;
        let queues = fetched.take_every::<BackOrderQueue>();
        let rules = values(fetched.take_every::<ReorderRule>());
        let plain: Vec<BackOrderQueue> = queues.iter().map(|q| q.value.clone()).collect();
        let needs = Needs::new(&plain, &rules, ship_to);
        let (second, queues) = Replenishing::prefetch(&needs, queues, with_orders);
        let fetched = if second == Prefetch::new() {
            Fetched::default()
        } else {
            super::trace::store("fetch", self.store.fetch(&second)).await?
        };
        Ok(Replenish::Read(
            needs,
            Replenishing::taking(fetched, queues),
        ))
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
        needs: &[(Sku, Quantity)],
        key: IdempotencyKey,
    ) -> Result<Applied<PurchaseOrder>, Error> {
        let scope = IdempotencyScope::RaisePurchaseOrder;
        let command = (supplier, ship_to, needs);
        let print = fingerprint(&command)?;
        super::retrying!(
            self,
            "raise_purchase_order",
            key = &key,
            id = &supplier,
            self.try_raise(supplier, ship_to, needs, &key, &print).await,
            twin = self.twin::<PurchaseOrder>(scope, &key, &print)
        )
    }

    async fn try_raise(
        &self,
        supplier: SupplierId,
        ship_to: &LocationId,
        needs: &[(Sku, Quantity)],
        key: &IdempotencyKey,
        print: &Fingerprint<'_>,
    ) -> Result<Applied<PurchaseOrder>, Error> {
        let scope = IdempotencyScope::RaisePurchaseOrder;
        let skus = crate::ids::distinct(needs.iter().map(|(sku, _)| sku));
        // The key, the supplier ordered from by key; the supply of the SKUs
        // ordered for the promises an approval at once makes.
        let mut request = supply_to_read(Prefetch::new(), &skus)
            .key(scope, key)
            .record::<Location>(ship_to)
            .record::<Supplier>(&supplier);
        for sku in &skus {
            request = request.record::<Product>(sku).record::<BackOrderQueue>(sku);
        }
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        if let Some(outcome) = super::earlier(fetched.idempotency.as_ref(), scope, key, print)? {
            return self.replayed(&outcome).await;
        }
        let suppliers = values(fetched.take_every::<Supplier>());
        let found = suppliers
            .iter()
            .find(|s| s.id == supplier)
            .ok_or_else(|| Error::unknown_reference(<Supplier as Entity>::kind(), supplier))?;
        super::found::<Location>(&mut fetched, ship_to).map_err(Error::into_reference)?;
        let sent: Vec<PurchaseOrder> = values(fetched.take_every::<PurchaseOrder>())
            .into_iter()
            .filter(PurchaseOrder::is_sent)
            .collect();
        let products = products_in(&mut fetched, &skus);
        let mut backlog = self
            .backlog_of(
                &skus,
                &mut fetched,
                self.config.purchasing.auto_approve_up_to.is_some(),
            )
            .await?;
        let mut changes = Changeset::new(self.now());
        let supply = Supply {
            suppliers: &suppliers,
            sent: &sent,
        };
        let po = lifecycle::raise_purchase_order(
            found,
            ship_to,
            needs,
            &products,
            supply,
            &self.config.purchasing,
            &mut backlog,
            &self.context(changes.at),
            &mut changes,
        )?;
        backlog.put_into(&mut changes);
        let outcome = IdempotentOutcome::PurchaseOrders(vec![po.id]);
        let committed = self
            .commit_keyed(changes, scope, key, print, outcome)
            .await?;
        Ok(Applied::fresh(committed.numbered(po)?))
    }

    /// Approves (and sends) a draft; waiting back-orders are promised its date.
    ///
    /// Retrying with the same `key` returns the purchase order (as it is now) as a
    /// replay.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Purchasing`] unless it is a draft;
    /// [`Error::IdempotencyKeyReused`].
    pub async fn approve_purchase_order(
        &self,
        id: PurchaseOrderId,
        key: IdempotencyKey,
    ) -> Result<Applied<PurchaseOrder>, Error> {
        self.move_purchase_order(id, Step::Approve, key).await
    }

    /// Cancels a purchase order before anything arrived.
    ///
    /// Retrying with the same `key` returns the purchase order (as it is now) as a
    /// replay.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Purchasing`] once goods arrived;
    /// [`Error::IdempotencyKeyReused`].
    pub async fn cancel_purchase_order(
        &self,
        id: PurchaseOrderId,
        key: IdempotencyKey,
    ) -> Result<Applied<PurchaseOrder>, Error> {
        self.move_purchase_order(id, Step::Cancel, key).await
    }

    /// Closes a partly or fully received purchase order: nothing more is expected.
    ///
    /// Retrying with the same `key` returns the purchase order (as it is now) as a
    /// replay.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Purchasing`] for any other status;
    /// [`Error::IdempotencyKeyReused`].
    pub async fn close_purchase_order(
        &self,
        id: PurchaseOrderId,
        key: IdempotencyKey,
    ) -> Result<Applied<PurchaseOrder>, Error> {
        self.move_purchase_order(id, Step::Close, key).await
    }

    /// Expects a sent purchase order on another day (the supplier said so, or
    /// [`Oms::run_due`] found it late): the lines waiting for it are promised
    /// again, each whose date changes with a `PromiseDateChanged` event, and the
    /// order's `PurchaseOrderLate` event says from when to when.
    ///
    /// Retrying with the same `key` returns the purchase order (as it is now) as a
    /// replay.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Purchasing`] unless it is approved or partly
    /// received, or for the day it is expected already;
    /// [`Error::IdempotencyKeyReused`].
    pub async fn reschedule_purchase_order(
        &self,
        id: PurchaseOrderId,
        expected_on: chrono::NaiveDate,
        key: IdempotencyKey,
    ) -> Result<Applied<PurchaseOrder>, Error> {
        self.move_purchase_order(id, Step::Reschedule(expected_on), key)
            .await
    }

    /// One step of a purchase order's life, in one commit, after two reads: the
    /// purchase order with the products and back-order queues of its SKUs; then
    /// the orders waiting in those queues and the supply of its SKUs (the
    /// purchase orders open for them, the suppliers offering them), which is all
    /// the promises it re-makes look at.
    ///
    /// The supply read second may be newer than the order and queues read
    /// first: a step that changed what is on order for one of its SKUs put the
    /// SKU's queue meanwhile, so this command's claim on it conflicts.
    async fn move_purchase_order(
        &self,
        id: PurchaseOrderId,
        step: Step,
        key: IdempotencyKey,
    ) -> Result<Applied<PurchaseOrder>, Error> {
        let scope = match step {
            Step::Approve => IdempotencyScope::ApprovePurchaseOrder,
            Step::Cancel => IdempotencyScope::CancelPurchaseOrder,
            Step::Close => IdempotencyScope::ClosePurchaseOrder,
            Step::Reschedule(_) => IdempotencyScope::ReschedulePurchaseOrder,
        };
        let rescheduled = match step {
            Step::Reschedule(day) => Some((id, day)),
            _ => None,
        };
        let print = match &rescheduled {
            Some(command) => fingerprint(command)?,
            None => fingerprint(&id)?,
        };
        super::retrying!(
            self,
            "purchase_order_step",
            key = &key,
            id = &id,
            {
                let kinds = [Product::kind(), BackOrderQueue::kind()];
                let request = Prefetch::new()
                    .key(scope, &key)
                    .follow::<PurchaseOrder>(&id, &kinds);
                let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
                if let Some(outcome) =
                    super::earlier(fetched.idempotency.as_ref(), scope, &key, &print)?
                {
                    return self.replayed(&outcome).await;
                }
                let stored = super::found::<PurchaseOrder>(&mut fetched, &id)?;
                let mut po = stored.value;
                let skus: Vec<Sku> = po.lines.iter().map(|l| l.sku.clone()).collect();
                let products = products_in(&mut fetched, &skus);
                let mut backlog = Backlog::default();
                super::backorders::adopt_queues(&mut backlog, &skus, &mut fetched);
                // The one dependent read: the orders waiting and the SKUs' supply.
                let mut second = supply_to_read(Prefetch::new(), &skus);
                for order in backlog.orders_to_read() {
                    second = second.record::<Order>(&order);
                }
                let mut fetched = super::trace::store("fetch", self.store.fetch(&second)).await?;
                let purchase_orders = values(fetched.take_every::<PurchaseOrder>());
                let suppliers = values(fetched.take_every::<Supplier>());
                for order in fetched.take_every::<Order>() {
                    backlog.adopt(order.value, order.version);
                }
                let mut changes = Changeset::new(self.now());
                lifecycle::move_purchase_order(
                    &mut po,
                    step,
                    &purchase_orders,
                    &suppliers,
                    &products,
                    &mut backlog,
                    &mut changes,
                )?;
                backlog.put_into(&mut changes);
                changes.update(po.clone(), stored.version);
                let outcome = IdempotentOutcome::PurchaseOrders(vec![id]);
                self.commit_keyed(changes, scope, &key, &print, outcome)
                    .await?;
                Ok::<_, Error>(Applied::fresh(po))
            },
            twin = self.twin::<PurchaseOrder>(scope, &key, &print)
        )
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
    /// [`OverReceipt::Reject`](crate::purchasing::OverReceipt::Reject), a cost
    /// currency differing from the product's;
    /// [`Error::NotFound`]; [`Error::IdempotencyKeyReused`].
    pub async fn receive_purchase_order(
        &self,
        cmd: ReceivePurchaseOrder,
    ) -> Result<Applied<PurchaseOrder>, Error> {
        let print = fingerprint(&cmd)?;
        super::retrying!(
            self,
            "receive_purchase_order",
            key = &cmd.idempotency_key,
            self.try_receive(&cmd, &print).await,
            twin = async {
                let scope = IdempotencyScope::ReceivePurchaseOrder;
                if self
                    .replay(scope, &cmd.idempotency_key, &print)
                    .await?
                    .is_none()
                {
                    return Ok(None);
                }
                Ok(Some(Applied::replay(
                    self.must::<PurchaseOrder>(&cmd.purchase_order).await?.value,
                )))
            }
        )
    }

    /// A receipt in two reads: the key, the purchase order, the supply of the
    /// SKUs received (the purchase orders open for them, the suppliers offering
    /// them: the lines still waiting are re-promised from these alone), every
    /// location, and the products, stock and queues of the SKUs received; then
    /// the orders waiting in those queues.
    async fn try_receive(
        &self,
        cmd: &ReceivePurchaseOrder,
        print: &Fingerprint<'_>,
    ) -> Result<Applied<PurchaseOrder>, Error> {
        let scope = IdempotencyScope::ReceivePurchaseOrder;
        let skus = crate::ids::distinct(cmd.lines.iter().map(|(sku, _)| sku));
        let mut request = supply_to_read(Prefetch::new(), &skus)
            .key(scope, &cmd.idempotency_key)
            .record::<PurchaseOrder>(&cmd.purchase_order)
            .every::<Location>();
        for (sku, _) in &cmd.lines {
            request = request
                .record::<Product>(sku)
                .record::<BackOrderQueue>(sku)
                .stock(sku);
        }
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        let every = fetched.take_every::<PurchaseOrder>();
        let stored = one_of(&every, cmd.purchase_order);
        let replayed = super::earlier(
            fetched.idempotency.as_ref(),
            scope,
            &cmd.idempotency_key,
            print,
        )?;
        let stored = stored?;
        if replayed.is_some() {
            return Ok(Applied::replay(stored.value));
        }
        let purchase_orders = values(every);
        let suppliers = values(fetched.take_every::<Supplier>());
        let locations = values(fetched.take_every::<Location>());
        let products: Vec<Versioned<Product>> = skus
            .iter()
            .filter_map(|sku| fetched.take::<Product>(sku))
            .collect();
        let mut backlog = self.backlog_of(&skus, &mut fetched, true).await?;
        let mut po = stored.value;
        let mut changes = Changeset::new(self.now());
        let read = Receiving {
            products: &products,
            stock: &fetched.stock,
            locations: &locations,
            suppliers: &suppliers,
            purchase_orders: &purchase_orders,
        };
        crate::purchasing::receive_purchase_order(
            cmd,
            &mut po,
            read,
            &self.config.purchasing,
            &mut backlog,
            &self.context(changes.at),
            &mut changes,
        )?;
        backlog.put_into(&mut changes);
        changes.update(po.clone(), stored.version);
        self.commit_keyed(
            changes,
            scope,
            &cmd.idempotency_key,
            print,
            IdempotentOutcome::Stock,
        )
        .await?;
        Ok(Applied::fresh(po))
    }

    /// A backlog of the queues of `skus` the command fetched and, `with_orders`,
    /// the orders waiting in them (the one dependent read).
    async fn backlog_of(
        &self,
        skus: &[Sku],
        fetched: &mut Fetched,
        with_orders: bool,
    ) -> Result<Backlog, Error> {
        let mut backlog = Backlog::default();
        super::backorders::adopt_queues(&mut backlog, skus, fetched);
        if with_orders {
            self.read_waiting(&mut backlog).await?;
        }
        Ok(backlog)
    }
}

/// What a replenishing run read: what it needs to decide, or its key's earlier
/// outcome.
enum Replenish {
    Read(Needs, Replenishing),
    Replay(IdempotentOutcome),
}

/// The purchase order `id` among those one read (by key, and under its SKUs),
/// with its version.
fn one_of(
    every: &[Versioned<PurchaseOrder>],
    id: PurchaseOrderId,
) -> Result<Versioned<PurchaseOrder>, Error> {
    every
        .iter()
        .find(|v| v.value.id == id)
        .cloned()
        .ok_or_else(|| Error::not_found(<PurchaseOrder as Entity>::kind(), id))
}

/// The values of what was read, without their versions.
fn values<E>(read: Vec<Versioned<E>>) -> Vec<E> {
    read.into_iter().map(|v| v.value).collect()
}

/// The products of `skus` that were fetched, taken out.
fn products_in(fetched: &mut Fetched, skus: &[Sku]) -> Products<'static> {
    let mut products = Products::default();
    for sku in skus {
        if let Some(p) = fetched.take::<Product>(sku) {
            products.insert(p.value);
        }
    }
    products
}
