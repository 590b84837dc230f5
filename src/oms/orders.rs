//! Placing, holding and cancelling orders.

use crate::payment::PaymentProvider;
use chrono::{DateTime, Utc};

use super::{Applied, Fingerprint, Oms, fingerprint};
use crate::customer::Customer;
use crate::error::Error;
use crate::fulfilment::Carrier;
use crate::ids::{CustomerId, IdempotencyKey, OrderId};
use crate::ledger::Invoice;
use crate::order::settle::lift_hold;
use crate::order::{
    CancelInputs, Hold, Order, OrderCursor, OrderInputs, OrderQuery, OrderView, Page, PlaceOrder,
    Placing, cancel_order, compose, distinct_skus, place_hold, queues_touched,
};
use crate::purchasing::{BackOrderQueue, Backlog, PurchaseOrder, Supplier, Supply, supply_to_read};
use crate::stock::Location;
use crate::store::{
    Changeset, Entity, IdempotencyScope, IdempotentOutcome, Prefetch, Store, Versioned,
};

impl<S: Store, C: Carrier, P: PaymentProvider> Oms<S, C, P> {
    /// Places an order: prices it, reserves every line atomically, applies holds,
    /// invoices it if the policy says so, and records it all in one commit.
    ///
    /// Retrying with the same idempotency key returns the order the first call placed.
    /// Prepaid customers get [`Hold::AwaitingPayment`] (unless the order is free: its
    /// zero invoice is issued paid); customers on terms whose
    /// receivable balance plus uninvoiced orders plus this order exceed their credit
    /// limit get [`Hold::CreditLimit`].
    ///
    /// # Errors
    /// [`Error::Order`] for anything wrong with the order itself (see [`OrderError`](crate::order::OrderError));
    /// [`Error::Stock`] when stock cannot cover it; [`Error::NotFound`] for an unknown
    /// customer or pickup location; [`Error::IdempotencyKeyReused`] when the key was
    /// used for a different order; [`Error::Contention`] if other writers kept winning.
    pub async fn place_order(&self, cmd: PlaceOrder) -> Result<Applied<Order>, Error> {
        let canonical = super::canonical_order(&cmd);
        let print = fingerprint(&canonical)?;
        let mut authorised = None;
        let placed = super::retrying!(
            self,
            "place_order",
            key = &cmd.idempotency_key,
            self.try_place_order(&cmd, &print, &mut authorised).await,
            // A twin submission may have committed after this one checked its key,
            // making this one fail on the twin's effects (its stock, its invoice):
            // the caller must still get the order, not that error.
            twin = async {
                self.twin::<Order>(IdempotencyScope::PlaceOrder, &cmd.idempotency_key, &print)
                    .await
            }
        );
        // A card authorised for an attempt no committed order holds is voided,
        // as `ship` cancels the bookings it did not use.
        if let Some((made, order)) = authorised {
            match &placed {
                Ok(applied) if !applied.replayed => {}
                Ok(applied) => self.void_unplaced(&made, order, Some(&applied.value)).await,
                Err(_) => {
                    let committed = self
                        .twin::<Order>(IdempotencyScope::PlaceOrder, &cmd.idempotency_key, &print)
                        .await;
                    // Whether it committed cannot be told when the read fails:
                    // leave the authorisation to lapse rather than void a paid
                    // order's.
                    if let Ok(found) = committed {
                        let found = found.map(Applied::into_inner);
                        self.void_unplaced(&made, order, found.as_ref()).await;
                    }
                }
            }
        }
        placed
    }

    async fn try_place_order(
        &self,
        cmd: &PlaceOrder,
        print: &Fingerprint<'_>,
        authorised: &mut Option<(crate::payment::Authorised, OrderId)>,
    ) -> Result<Applied<Order>, Error> {
        let scope = IdempotencyScope::PlaceOrder;
        let request = OrderInputs::prefetch(cmd)
            .key(scope, &cmd.idempotency_key)
            .record::<Customer>(&cmd.customer);
        let fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        if let Some(outcome) = super::earlier(
            fetched.idempotency.as_ref(),
            scope,
            &cmd.idempotency_key,
            print,
        )? {
            return self.replayed(&outcome).await;
        }
        // Everything read is only read: the customer's figures move by a merge
        // from a copy, and the products, tax table, locations and stock are lent.
        let customer =
            super::lent::<Customer>(&fetched, &cmd.customer).map_err(Error::into_reference)?;
        let inputs = OrderInputs::lent(&fetched);
        let mut buyer = customer.clone();
        let mut changes = Changeset::new(self.now());
        let mut backlog = Backlog::default();
        let (mut order, _) = self
            .place_into(cmd, &mut buyer, false, &inputs, &mut backlog, &mut changes)
            .await?;
        if order.through_provider {
            let made = self
                .authorise_placed(&mut order, &buyer, &cmd.idempotency_key, &mut changes)
                .await?;
            if let Some(made) = made {
                *authorised = Some((made, order.id));
            }
        }
        backlog.put_into(&mut changes);
        changes.insert(order.clone());
        changes.move_customer(customer, &buyer)?;
        // Let go of what was read before committing: a record no reader holds
        // (the customer the merge changes) is written over where it lies.
        drop(fetched);
        let committed = self
            .commit_keyed(
                changes,
                IdempotencyScope::PlaceOrder,
                &cmd.idempotency_key,
                print,
                IdempotentOutcome::Order(order.id),
            )
            .await?;
        Ok(Applied::fresh(committed.numbered(order)?))
    }

    /// Decides a new order for `buyer` into `changes` from `inputs`
    /// ([`compose`]); when a line is short, reads the queues of its SKUs, the
    /// suppliers offering them and the purchase orders open for them (the one
    /// dependent read) and decides again.
    /// Returns the order, which the caller puts, and its invoice if one was issued.
    pub(super) async fn place_into(
        &self,
        cmd: &PlaceOrder,
        buyer: &mut Customer,
        invoice_now: bool,
        inputs: &OrderInputs<'_>,
        backlog: &mut Backlog,
        changes: &mut Changeset,
    ) -> Result<(Order, Option<Invoice>), Error> {
        let rules = Placing {
            allocation: self.config.allocation,
            invoice_policy: self.config.invoice_policy,
            invoice_now,
            through_provider: !invoice_now && self.pays_through_provider(buyer),
        };
        let ctx = self.context(changes.at);
        if let Some(placed) = compose(cmd, buyer, inputs, rules, backlog, None, &ctx, changes)? {
            return Ok(placed);
        }
        let skus = distinct_skus(cmd);
        // A short line is promised from its own SKU's offers and purchase
        // orders: those of the order's SKUs are all the decision looks at.
        let mut request = supply_to_read(Prefetch::new(), &skus);
        for sku in &skus {
            request = request.record::<BackOrderQueue>(sku);
        }
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        super::backorders::adopt_queues(backlog, &skus, &mut fetched);
        let suppliers: Vec<Supplier> = fetched.take_every().into_iter().map(|v| v.value).collect();
        let sent: Vec<PurchaseOrder> = fetched
            .take_every()
            .into_iter()
            .map(|v: Versioned<PurchaseOrder>| v.value)
            .filter(PurchaseOrder::is_sent)
            .collect();
        let supply = Supply {
            suppliers: &suppliers,
            sent: &sent,
        };
        compose(
            cmd,
            buyer,
            inputs,
            rules,
            backlog,
            Some(supply),
            &ctx,
            changes,
        )?
        .ok_or_else(|| Error::inconsistent("order", "could not be placed with its supply read"))
    }

    /// Puts an order on hold; it cannot ship until every hold is released. Placing a
    /// hold the order already has changes nothing.
    ///
    /// Retrying with the same `key` returns the order (as it is now) as a replay.
    ///
    /// # Errors
    /// [`Error::Order`] with `InvalidTransition` for a completed or cancelled order;
    /// [`Error::NotFound`] for an unknown order; [`Error::IdempotencyKeyReused`]
    /// when the key was used for another command.
    pub async fn hold_order(
        &self,
        id: OrderId,
        hold: Hold,
        key: IdempotencyKey,
    ) -> Result<Applied<Order>, Error> {
        let scope = IdempotencyScope::HoldOrder;
        let command = (id, &hold);
        let print = fingerprint(&command)?;
        super::retrying!(
            self,
            "hold_order",
            key = &key,
            id = &id,
            self.step_order(id, scope, &key, &print, |order, changes| {
                place_hold(order, hold, changes)
            })
            .await,
            twin = self.twin::<Order>(scope, &key, &print)
        )
    }

    /// Releases a hold (a person approving a credit limit or a review, or overriding
    /// a prepayment requirement).
    ///
    /// Retrying with the same `key` returns the order (as it is now) as a replay.
    ///
    /// # Errors
    /// [`Error::Order`] with `HoldNotFound` if the order does not have that hold;
    /// [`Error::NotFound`] for an unknown order; [`Error::IdempotencyKeyReused`].
    pub async fn release_hold(
        &self,
        id: OrderId,
        hold: Hold,
        key: IdempotencyKey,
    ) -> Result<Applied<Order>, Error> {
        let scope = IdempotencyScope::ReleaseHold;
        let command = (id, &hold);
        let print = fingerprint(&command)?;
        super::retrying!(
            self,
            "release_hold",
            key = &key,
            id = &id,
            self.step_order(id, scope, &key, &print, |order, changes| {
                lift_hold(order, hold, changes.at, changes)
            })
            .await,
            twin = self.twin::<Order>(scope, &key, &print)
        )
    }

    /// One keyed step on one order alone (a hold placed or lifted), in one
    /// commit with the key; a step that records nothing still spends the key.
    async fn step_order(
        &self,
        id: OrderId,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
        print: &Fingerprint<'_>,
        step: impl Fn(&mut Order, &mut Changeset) -> Result<(), Error>,
    ) -> Result<Applied<Order>, Error> {
        let request = Prefetch::new().key(scope, key).record::<Order>(&id);
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        if let Some(outcome) = super::earlier(fetched.idempotency.as_ref(), scope, key, print)? {
            return self.replayed(&outcome).await;
        }
        let stored = super::found::<Order>(&mut fetched, &id)?;
        let mut order = stored.value;
        let mut changes = Changeset::new(self.now());
        step(&mut order, &mut changes)?;
        if !changes.events.is_empty() {
            changes.update(order.clone(), stored.version);
        }
        self.commit_keyed(changes, scope, key, print, IdempotentOutcome::Order(id))
            .await?;
        Ok(Applied::fresh(order))
    }

    /// Cancels an order. One that has not shipped is cancelled whole: its
    /// reservations released, its invoices voided (reversing their postings) and
    /// anything paid moved to the customer's credit. One that has shipped in part
    /// keeps what shipped and cancels the rest, in one commit: its reservations are
    /// released (to waiting back-orders first), back-ordered units leave their
    /// queues, units invoiced but not shipped are credited (a credit note per
    /// invoice, exact to the cent; what was paid for them becomes customer credit),
    /// and shipping stays charged. It stays open for what shipped, and completes
    /// once that is delivered and settled.
    ///
    /// Retrying with the same `key` returns the order (as it is now) as a replay.
    ///
    /// # Errors
    /// [`Error::Order`] with `InvalidTransition` for a completed or cancelled order,
    /// or `NothingToCancel` when everything has shipped; [`Error::NotFound`];
    /// [`Error::IdempotencyKeyReused`].
    pub async fn cancel_order(
        &self,
        id: OrderId,
        reason: &str,
        key: IdempotencyKey,
    ) -> Result<Applied<Order>, Error> {
        let scope = IdempotencyScope::CancelOrder;
        let command = (id, reason);
        let print = fingerprint(&command)?;
        let cancelled = super::retrying!(
            self,
            "cancel_order",
            key = &key,
            id = &id,
            self.try_cancel_order(id, reason, &key, &print, None).await,
            twin = self.twin::<Order>(scope, &key, &print)
        );
        if cancelled.is_ok() && self.has_provider() {
            // What is still authorised is voided; if the provider is silent,
            // `run_due` sends the void later.
            let _voided = self.settle_payments(id).await;
        }
        cancelled
    }

    /// Cancels the order, or — given `unpaid_since` — only an order still held
    /// awaiting prepayment since then or before, answering with the order as
    /// read (a replay, nothing written) for any other.
    pub(super) async fn try_cancel_order(
        &self,
        id: OrderId,
        reason: &str,
        key: &IdempotencyKey,
        print: &Fingerprint<'_>,
        unpaid_since: Option<DateTime<Utc>>,
    ) -> Result<Applied<Order>, Error> {
        // One read: the key, the order with its customer, invoices and the queues
        // of its SKUs, and every location (where released units go back to).
        let scope = IdempotencyScope::CancelOrder;
        let kinds = [Customer::kind(), Invoice::kind(), BackOrderQueue::kind()];
        let request = Prefetch::new()
            .key(scope, key)
            .follow::<Order>(&id, &kinds)
            .every::<Location>();
        let mut fetched = super::trace::store("fetch", self.store.fetch(&request)).await?;
        if let Some(outcome) = super::earlier(fetched.idempotency.as_ref(), scope, key, print)? {
            return self.replayed(&outcome).await;
        }
        let stored = super::found::<Order>(&mut fetched, &id)?;
        let mut order = stored.value;
        if let Some(cutoff) = unpaid_since {
            // Paid (or released by a person), or placed since: not due. A payment
            // committing after this read moves the order, so the commit conflicts
            // and the next attempt sees it.
            let since = order.awaiting_payment_since.unwrap_or(order.placed_at);
            if !order.holds.iter().any(|h| h.waits_for_payment()) || since > cutoff {
                return Ok(Applied::replay(order));
            }
        }
        let skus = queues_touched(&order);
        let customer = super::found::<Customer>(&mut fetched, &order.customer)
            .map_err(Error::into_dangling)?;
        let sites: Vec<Location> = fetched.take_every().into_iter().map(|v| v.value).collect();
        let invoices = fetched.take_every::<Invoice>();
        let mut backlog = Backlog::default();
        super::backorders::adopt_queues(&mut backlog, &skus, &mut fetched);
        // The orders waiting where its units go back (this one aside: the
        // decision works on our copy).
        backlog.adopt(order.clone(), stored.version);
        self.read_waiting(&mut backlog).await?;
        backlog.release(id);

        let mut buyer = customer.value.clone();
        let mut changes = Changeset::new(self.now());
        let inputs = CancelInputs {
            invoices,
            sites: &sites,
            backlog: &mut backlog,
        };
        cancel_order(
            &mut order,
            &mut buyer,
            reason,
            inputs,
            &self.context(changes.at),
            &mut changes,
        )?;
        backlog.put_into(&mut changes);
        changes.update(order.clone(), stored.version);
        changes.move_customer(&customer.value, &buyer)?;
        self.commit_keyed(changes, scope, key, print, IdempotentOutcome::Order(id))
            .await?;
        Ok(Applied::fresh(order))
    }

    /// An order with its money and progress worked out: total, invoiced, paid,
    /// credited, due and unbilled, and its fulfilment and payment status — what a
    /// host's order screen or API response shows.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn order_view(&self, id: OrderId) -> Result<OrderView, Error> {
        Ok(OrderView::of(self.order(id).await?)?)
    }

    /// An order.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub async fn order(&self, id: OrderId) -> Result<Order, Error> {
        Ok(self.must::<Order>(&id).await?.value)
    }

    /// The orders `ids` name, in that order, read together from one snapshot.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown order; [`Error::Read`] if the store fails.
    pub async fn orders(&self, ids: &[OrderId]) -> Result<Vec<Order>, Error> {
        let found = super::trace::store("load_many", self.store.load_many::<Order>(ids)).await?;
        ids.iter()
            .zip(found)
            .map(|(id, order)| {
                order
                    .map(|stored| stored.value)
                    .ok_or_else(|| Error::not_found(Order::kind(), id))
            })
            .collect()
    }

    /// A page of the orders `query` lists — by status, customer, channel and
    /// placement window, oldest or newest first — at most `limit` of them (at
    /// least one). The memory and SQLite stores read an index by placement time
    /// from where the page starts; SQLite filters a customer or a status through
    /// that column's index. `next` is the cursor to pass back
    /// ([`OrderQuery::after`]) for the page after; `None` on the last page.
    ///
    /// ```
    /// # use o2c::prelude::*;
    /// # use o2c::order::OrderQuery;
    /// # pollster::block_on(async {
    /// # let oms = Oms::new(MemoryStore::new(), PickupCarrier::new());
    /// let mut query = OrderQuery::all().status(OrderStatus::Open).newest_first();
    /// loop {
    ///     let page = oms.list_orders(&query, 50).await?;
    ///     for order in &page.items { /* … */ }
    ///     match page.next {
    ///         Some(cursor) => query = query.after(cursor),
    ///         None => break,
    ///     }
    /// }
    /// # Ok::<(), o2c::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`Error::Invalid`] for a `limit` of 0; [`Error::Read`] if the store fails.
    pub async fn list_orders(
        &self,
        query: &OrderQuery,
        limit: usize,
    ) -> Result<Page<Order, OrderCursor>, Error> {
        if limit == 0 {
            return Err(Error::invalid("limit", "a page holds at least one order"));
        }
        // One more than asked: whether there is a next page.
        let asked = limit.saturating_add(1);
        let found =
            super::trace::store("orders_page", self.store.orders_page(query, asked)).await?;
        Ok(Page::of(found, limit, |v| v.value, OrderCursor::at))
    }

    /// A customer's orders, oldest first: every one, for a customer with a few
    /// ([`Oms::list_orders`] with [`OrderQuery::customer`] pages them).
    ///
    /// # Errors
    /// [`Error::Read`] if the store fails.
    pub async fn customer_orders(&self, customer: CustomerId) -> Result<Vec<Order>, Error> {
        let ids = super::trace::store(
            "orders_of_customer",
            self.store.orders_of_customer(customer),
        )
        .await?;
        // One read for them all, not one per order.
        let found = super::trace::store("load_many", self.store.load_many::<Order>(&ids)).await?;
        ids.iter()
            .zip(found)
            .map(|(id, order)| {
                order
                    .map(|o| o.value)
                    .ok_or_else(|| Error::dangling(Order::kind(), id))
            })
            .collect()
    }
}
