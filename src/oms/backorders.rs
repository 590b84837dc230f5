//! Back-orders on the order side: queueing a new order's shortfall, giving units that
//! arrive or come free to the queue before anyone else, and keeping promise dates.
//!
//! A command may touch the same order or queue in several steps (a receipt of two
//! SKUs for one order; a cancellation that leaves one queue and refills it), so the
//! steps share a [`Touched`] working set: each record is loaded once, changed in
//! memory, and put once when the command commits.

use super::{Oms, Products};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{LocationId, OrderId, Sku};
use crate::order::{LineReservation, Order, OrderLine};
use crate::purchasing::{
    BackOrderQueue, PurchaseOrder, QueueEntry, Supplier, Waiting, promise_date, rank_offers,
};
use crate::quantity::Quantity;
use crate::stock::{Location, ReservationChange};
use crate::store::{
    Changeset, Check, Merge, Prefetch, Put, RecordKey, Store, StoreError, Versioned,
};

/// The orders and back-order queues one command works on.
#[derive(Debug, Default)]
pub(super) struct Touched {
    /// (order, stored version, changed)
    orders: Vec<(Order, u64, bool)>,
    /// (queue as this command sees it, stored version or `None` if new, what the
    /// command does with it)
    queues: Vec<(BackOrderQueue, Option<u64>, QueueUse)>,
}

/// What a command does with a back-order queue it touched.
#[derive(Debug)]
enum QueueUse {
    /// Decided on it: checked at commit.
    Read,
    /// Only added lines to it: the store adds them to the queue as it stands at
    /// commit, so back-orders placed at once on one SKU do not conflict.
    Joined(Vec<QueueEntry>),
    /// Changed it otherwise (filled, removed an order): put at the version read.
    Changed,
}

impl Touched {
    async fn order_at<S: Store>(&mut self, store: &S, id: OrderId) -> Result<usize, Error> {
        if let Some(at) = self.orders.iter().position(|(o, _, _)| o.id == id) {
            return Ok(at);
        }
        let stored = store
            .load::<Order>(&id)
            .await?
            .ok_or_else(|| Error::not_found(<Order as crate::store::Entity>::kind(), id))?;
        self.orders.push((stored.value, stored.version, false));
        Ok(self.orders.len() - 1)
    }

    async fn queue_at<S: Store>(&mut self, store: &S, sku: &Sku) -> Result<usize, Error> {
        if let Some(at) = self.queues.iter().position(|(q, _, _)| &q.sku == sku) {
            return Ok(at);
        }
        let stored = store.load::<BackOrderQueue>(sku).await?;
        self.adopt_queue(sku, stored);
        Ok(self.queues.len() - 1)
    }

    /// The queue of `sku` as this command sees it, for reading.
    pub(super) async fn queue<S: Store>(
        &mut self,
        store: &S,
        sku: &Sku,
    ) -> Result<&BackOrderQueue, Error> {
        let at = self.queue_at(store, sku).await?;
        self.queues
            .get(at)
            .map(|(q, _, _)| q)
            .ok_or_else(|| Error::invalid("back-order queue", "lost its place"))
    }

    /// The queue of `sku`, to change.
    pub(super) async fn queue_mut<S: Store>(
        &mut self,
        store: &S,
        sku: &Sku,
    ) -> Result<&mut BackOrderQueue, Error> {
        let at = self.queue_at(store, sku).await?;
        let (queue, _, used) = self
            .queues
            .get_mut(at)
            .ok_or_else(|| Error::invalid("back-order queue", "lost its place"))?;
        // Lines it joined are in `queue` already, and are put with it.
        *used = QueueUse::Changed;
        Ok(queue)
    }

    /// Adds `entry` to its SKU's queue as this command sees it, and to what the
    /// store adds at commit; returns the queue, `entry` in it.
    pub(super) async fn join<S: Store>(
        &mut self,
        store: &S,
        entry: QueueEntry,
    ) -> Result<&BackOrderQueue, Error> {
        let at = self.queue_at(store, &entry.sku).await?;
        let (queue, _, used) = self
            .queues
            .get_mut(at)
            .ok_or_else(|| Error::invalid("back-order queue", "lost its place"))?;
        queue.join(entry.clone());
        match used {
            QueueUse::Read => *used = QueueUse::Joined(vec![entry]),
            QueueUse::Joined(entries) => entries.push(entry),
            QueueUse::Changed => {}
        }
        Ok(queue)
    }

    async fn order_mut<S: Store>(&mut self, store: &S, id: OrderId) -> Result<&mut Order, Error> {
        let at = self.order_at(store, id).await?;
        let (order, _, changed) = self
            .orders
            .get_mut(at)
            .ok_or_else(|| Error::invalid("order", "lost its place"))?;
        *changed = true;
        Ok(order)
    }

    /// Hands the queue of `sku` as read (`None`: there is none yet) to the working
    /// set, unless the command already holds it.
    pub(super) fn adopt_queue(&mut self, sku: &Sku, stored: Option<Versioned<BackOrderQueue>>) {
        if self.queues.iter().any(|(q, _, _)| &q.sku == sku) {
            return;
        }
        let (queue, version) = match stored {
            Some(stored) => (stored.value, Some(stored.version)),
            None => (BackOrderQueue::new(sku.clone()), None),
        };
        self.queues.push((queue, version, QueueUse::Read));
    }

    /// Hands `order` (read at `version`) to the working set, so that steps touching
    /// it (a fill) change this copy rather than load another.
    pub(super) fn adopt(&mut self, order: Order, version: u64) {
        self.orders.push((order, version, false));
    }

    /// Takes `id` back out of the working set, with whatever the steps changed.
    pub(super) fn release(&mut self, id: OrderId) -> Option<Order> {
        let at = self.orders.iter().position(|(o, _, _)| o.id == id)?;
        Some(self.orders.remove(at).0)
    }

    /// Adds everything to `changes`: changed records as puts at the version read;
    /// queues only read as checks, so a command that decided on a queue conflicts
    /// with one that changed it meanwhile (a queue read but absent is written empty
    /// for the same reason: a first back-order racing this command must conflict);
    /// lines only joined as merges, which the store adds to the queue as it stands.
    pub(super) fn put_into(self, changes: &mut Changeset) {
        for (order, version, changed) in self.orders {
            if changed {
                changes.puts.push(Put::update(order, version));
            }
        }
        for (queue, version, used) in self.queues {
            match (used, version) {
                (QueueUse::Read, Some(version)) => changes.checks.push(Check::Version {
                    key: RecordKey::BackOrderQueue(queue.sku),
                    version,
                }),
                (QueueUse::Joined(entries), _) => {
                    changes
                        .merges
                        .extend(entries.into_iter().map(Merge::BackOrder));
                }
                (QueueUse::Read | QueueUse::Changed, version) => {
                    changes.puts.push(Put::upsert(queue, version));
                }
            }
        }
    }
}

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Queues each short line of a new order for its SKU and promises it a date.
    /// `pin` keeps a pickup order's lines to the units arriving at its store.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn queue_shortfalls(
        &self,
        order: &mut Order,
        shortfalls: &[u32],
        products: &Products,
        pin: Option<LocationId>,
        priority: u8,
        touched: &mut Touched,
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        if shortfalls.iter().all(|short| *short == 0) {
            return Ok(());
        }
        // One read for everything a back-order decides on: the queues it joins,
        // and the suppliers and purchase orders its promise dates come from.
        let mut request = Prefetch::new().every::<Supplier>().every::<PurchaseOrder>();
        for (line, short) in order.lines.iter().zip(shortfalls) {
            if *short > 0 {
                request = request.record::<BackOrderQueue>(&line.sku);
            }
        }
        let mut fetched = self.store.fetch(&request).await?;
        for key in &request.records {
            if let RecordKey::BackOrderQueue(sku) = key {
                touched.adopt_queue(sku, fetched.take::<BackOrderQueue>(sku));
            }
        }
        let suppliers: Vec<Supplier> = fetched.take_every().into_iter().map(|v| v.value).collect();
        let open: Vec<PurchaseOrder> = fetched
            .take_every()
            .into_iter()
            .map(|v: Versioned<PurchaseOrder>| v.value)
            .filter(PurchaseOrder::is_sent)
            .collect();
        let now = changes.at;
        for (line, short) in order.lines.iter_mut().zip(shortfalls) {
            if *short == 0 {
                continue;
            }
            let sku = line.sku.clone();
            // The promise counts the units queued ahead as this command read them: a
            // back-order placed at the same moment may commit first and queue ahead,
            // and the next re-promise (a purchase order sent or received) counts it.
            let entry = QueueEntry {
                sku: sku.clone(),
                line: Waiting {
                    order: order.id,
                    line_no: line.line_no,
                    location: pin.clone(),
                    quantity: *short,
                    since: now,
                    priority,
                    seq: 0,
                },
            };
            let queue = touched.join(&self.store, entry).await?;
            let fallback = products.get(&sku).and_then(|p| {
                rank_offers(
                    &suppliers,
                    &sku,
                    *short,
                    p.cost.currency(),
                    now.date_naive(),
                    None,
                )
                .best()
                .map(|best| best.arrives_on)
            });
            let up_to = queue.units_through(order.id, line.line_no);
            // Behind whatever the line already waits for (an amendment adding units).
            line.backordered = line.backordered.saturating_add(Quantity::new(*short));
            line.promised_on = promise_date(up_to, &arrivals(&open, &sku), fallback);
            changes.events.push(Event::BackOrderCreated {
                order: order.id,
                sku,
                quantity: *short,
                promised_on: line.promised_on,
            });
        }
        Ok(())
    }

    /// Gives up everything of `order` not shipped: its back-ordered units leave
    /// their queues, its reservations are released — to the lines waiting for them
    /// first — and every line's unshipped units count as cancelled. All in
    /// `changes`; the caller puts the order. `touched` holds whatever queues the
    /// caller already read.
    pub(super) async fn release_unshipped(
        &self,
        order: &mut Order,
        mut touched: Touched,
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        for line in order.lines.iter().filter(|l| !l.backordered.is_zero()) {
            touched
                .queue_mut(&self.store, &line.sku)
                .await?
                .remove_order(order.id);
        }
        let mut released: Vec<(Sku, LocationId, u32)> = Vec::new();
        for line in &mut order.lines {
            for r in line.reservations.drain(..) {
                released.push((line.sku.clone(), r.location.clone(), r.quantity.units()));
                changes.reservations.push(ReservationChange {
                    sku: line.sku.clone(),
                    location: r.location.clone(),
                    order: order.id,
                    quantity: -r.quantity.as_i64(),
                });
                changes.events.push(Event::StockReleased {
                    order: order.id,
                    sku: line.sku.clone(),
                    location: r.location,
                    quantity: r.quantity.units(),
                });
            }
            line.cancelled = line.quantity.saturating_sub(line.shipped);
            line.backordered = Quantity::ZERO;
            line.promised_on = None;
        }
        for (sku, location, units) in &released {
            self.fill_back_orders(sku, location, *units, &mut touched, changes)
                .await?;
        }
        touched.put_into(changes);
        Ok(())
    }

    /// Every supplier with its offers.
    pub(super) async fn all_suppliers(&self) -> Result<Vec<Supplier>, Error> {
        Ok(self
            .store
            .list::<Supplier>()
            .await?
            .into_iter()
            .map(|v| v.value)
            .collect())
    }

    /// The stored purchase orders that `keep` keeps.
    pub(super) async fn purchase_orders(
        &self,
        keep: fn(&PurchaseOrder) -> bool,
    ) -> Result<Vec<PurchaseOrder>, Error> {
        Ok(self
            .store
            .list::<PurchaseOrder>()
            .await?
            .into_iter()
            .map(|v| v.value)
            .filter(keep)
            .collect())
    }

    /// The sent purchase orders as a command leaves them: the store's, with `po`
    /// in its new state (in if still sent, out if not).
    pub(super) async fn sent_purchase_orders_with(
        &self,
        po: &PurchaseOrder,
    ) -> Result<Vec<PurchaseOrder>, Error> {
        let mut sent = self.purchase_orders(PurchaseOrder::is_sent).await?;
        sent.retain(|other| other.id != po.id);
        if po.is_sent() {
            sent.push(po.clone());
        }
        Ok(sent)
    }

    /// Gives `units` of `sku` that arrived or came free at `location` to the lines
    /// waiting for it, in fill order, as reservations in the same commit; whatever is
    /// left stays free. Returns the units given.
    pub(super) async fn fill_back_orders(
        &self,
        sku: &Sku,
        location: &LocationId,
        units: u32,
        touched: &mut Touched,
        changes: &mut Changeset,
    ) -> Result<u32, Error> {
        // Read (and so checked at commit) even when nothing waits: see `put_into`.
        if touched.queue(&self.store, sku).await?.waiting.is_empty() {
            return Ok(0);
        }
        let fulfils = self
            .store
            .load::<Location>(location)
            .await?
            .is_some_and(|l| l.value.fulfils_orders);
        let fills = touched
            .queue_mut(&self.store, sku)
            .await?
            .fill(location, fulfils, units);
        let mut given = 0u32;
        for fill in fills {
            let order = touched.order_mut(&self.store, fill.order).await?;
            let Some(line) = order.lines.iter_mut().find(|l| l.line_no == fill.line_no) else {
                // The order was read before the amendment that added the line, the
                // queue after it: a lost race, so the command reads both again.
                return Err(Error::Store(StoreError::Conflict {
                    key: RecordKey::Order(fill.order),
                    expected: None,
                    actual: None,
                }));
            };
            let quantity = Quantity::new(fill.quantity);
            line.backordered = line.backordered.saturating_sub(quantity);
            if line.backordered.is_zero() {
                line.promised_on = None;
            }
            reserve(line, location, quantity);
            changes.reservations.push(ReservationChange {
                sku: sku.clone(),
                location: location.clone(),
                order: fill.order,
                quantity: quantity.as_i64(),
            });
            changes.events.push(Event::BackOrderAllocated {
                order: fill.order,
                sku: sku.clone(),
                location: location.clone(),
                quantity: fill.quantity,
            });
            given = given.saturating_add(fill.quantity);
        }
        Ok(given)
    }

    /// Re-promises every line waiting for any of `skus`: the expected date of the
    /// open purchase order that covers its place in the queue (`open`: the sent
    /// orders as this command leaves them), else the best offer's arrival if ordered
    /// today, else no date.
    pub(super) async fn refresh_promises(
        &self,
        skus: &[Sku],
        open: &[PurchaseOrder],
        touched: &mut Touched,
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        let suppliers = self.all_suppliers().await?;
        let today = changes.at.date_naive();
        for sku in skus {
            let waiting = touched.queue(&self.store, sku).await?.waiting.clone();
            if waiting.is_empty() {
                continue;
            }
            let currency = self
                .store
                .load::<crate::catalog::Product>(sku)
                .await?
                .map(|p| p.value.cost.currency());
            let arriving = arrivals(open, sku);
            let mut up_to = 0u64;
            for w in waiting {
                up_to = up_to.saturating_add(u64::from(w.quantity));
                let fallback = currency.and_then(|c| {
                    rank_offers(&suppliers, sku, w.quantity, c, today, None)
                        .best()
                        .map(|best| best.arrives_on)
                });
                let date = promise_date(up_to, &arriving, fallback);
                let at = touched.order_at(&self.store, w.order).await?;
                let current = touched
                    .orders
                    .get(at)
                    .and_then(|(o, _, _)| o.lines.iter().find(|l| l.line_no == w.line_no))
                    .map(|l| l.promised_on);
                if current.is_none_or(|promised| promised == date) {
                    continue;
                }
                let order = touched.order_mut(&self.store, w.order).await?;
                if let Some(line) = order.lines.iter_mut().find(|l| l.line_no == w.line_no) {
                    line.promised_on = date;
                }
                changes.events.push(Event::PromiseDateChanged {
                    order: w.order,
                    sku: sku.clone(),
                    promised_on: date,
                });
            }
        }
        Ok(())
    }
}

/// (expected date, units outstanding) of each open purchase order for `sku`.
fn arrivals(open: &[PurchaseOrder], sku: &Sku) -> Vec<(chrono::NaiveDate, u32)> {
    open.iter()
        .map(|po| (po.expected_on, po.outstanding(sku)))
        .filter(|(_, units)| *units > 0)
        .collect()
}

/// Adds `quantity` at `location` to a line's reservations, merging with one there.
pub(super) fn reserve(line: &mut OrderLine, location: &LocationId, quantity: Quantity) {
    match line
        .reservations
        .iter_mut()
        .find(|r| &r.location == location)
    {
        Some(r) => r.quantity = Quantity::new(r.quantity.units().saturating_add(quantity.units())),
        None => line.reservations.push(LineReservation {
            location: location.clone(),
            quantity,
        }),
    }
}
