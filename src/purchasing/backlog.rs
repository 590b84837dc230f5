//! Back-orders as one command sees them: queueing a new order's shortfall, giving
//! units that arrive or come free to the lines waiting for them before anyone else,
//! and keeping promise dates.
//!
//! A command may touch the same order or queue in several steps (a receipt of two
//! SKUs for one order; a cancellation that leaves one queue and refills it), so the
//! steps share a [`Backlog`]: each record read once, changed in memory, and put once
//! when the command commits. A backlog never reads the store: the command reads the
//! queues it will touch and the orders they name first, and hands them over
//! ([`Backlog::adopt_queue`], [`Backlog::adopt`]). A step that needs a queue nobody
//! handed over fails with [`Error::NotPrefetched`] rather than guess.

use super::{BackOrderQueue, PurchaseOrder, QueueEntry, Supplier, Waiting};
use super::{promise_date, rank_offers};
use crate::catalog::Products;
use crate::error::Error;
use crate::event::Event;
use crate::ids::{LocationId, OrderId, Sku};
use crate::order::{LineReservation, Order, OrderLine};
use crate::quantity::Quantity;
use crate::stock::{Location, ReservationChange};
use crate::store::{
    Changeset, Check, Entity, IndexTerm, Merge, Prefetch, Put, RecordKey, StoreError, Versioned,
};

/// The orders and back-order queues one command works on.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    /// (order, stored version, changed)
    orders: Vec<(Order, u64, bool)>,
    /// (queue as this command sees it, stored version or `None` if new, what the
    /// command does with it)
    queues: Vec<(BackOrderQueue, Option<u64>, QueueUse)>,
}

/// What a command does with a back-order queue it touched.
#[derive(Debug)]
enum QueueUse {
    /// Handed over but not looked at yet (a placement reads the queue of every SKU
    /// it orders, in case one is short): nothing at commit, so a command never
    /// conflicts on a queue its decision did not use.
    Held,
    /// Decided on it: checked at commit.
    Read,
    /// Only added lines to it: the store adds them to the queue as it stands at
    /// commit, so back-orders placed at once on one SKU do not conflict.
    Joined(Vec<QueueEntry>),
    /// Changed it otherwise (filled, removed an order): put at the version read.
    Changed,
}

/// Where promise dates come from: the suppliers' offers (if ordered today) and the
/// sent purchase orders as the command leaves them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Supply<'a> {
    /// The suppliers, with their offers: at least those offering the SKUs
    /// decided on ([`supply_to_read`]).
    pub suppliers: &'a [Supplier],
    /// The purchase orders sent and not yet fully received: at least those with
    /// a line for a SKU decided on.
    pub sent: &'a [PurchaseOrder],
}

impl Supply<'_> {
    /// No suppliers and nothing on order: all a placement that is short of
    /// nothing needs.
    pub(crate) const NONE: Supply<'static> = Supply {
        suppliers: &[],
        sent: &[],
    };
}

/// Adds to `request` what the supply of `skus` is read from: the suppliers
/// offering each and the purchase orders open for it, found under its
/// [`IndexTerm::Sku`]. Every decision on a SKU's supply looks only at its own
/// offers and purchase order lines ([`rank_offers`], the arrivals of the sent
/// orders), so the rest of the two kinds is never read.
pub(crate) fn supply_to_read(request: Prefetch, skus: &[Sku]) -> Prefetch {
    skus.iter().fold(request, |request, sku| {
        let term = IndexTerm::Sku(sku.clone());
        request
            .found_under::<Supplier>(&term)
            .found_under::<PurchaseOrder>(&term)
    })
}

impl Backlog {
    /// Hands the queue of `sku` as read (`None`: there is none yet) to the backlog,
    /// unless it holds it already.
    pub(crate) fn adopt_queue(&mut self, sku: &Sku, stored: Option<Versioned<BackOrderQueue>>) {
        if self.queues.iter().any(|(q, _, _)| &q.sku == sku) {
            return;
        }
        let (queue, version) = match stored {
            Some(stored) => (stored.value, Some(stored.version)),
            None => (BackOrderQueue::new(sku.clone()), None),
        };
        self.queues.push((queue, version, QueueUse::Held));
    }

    /// Hands `order` (read at `version`) to the backlog, so that steps touching it
    /// (a fill) change this copy. A second copy of an order it holds is ignored.
    pub(crate) fn adopt(&mut self, order: Order, version: u64) {
        if !self.orders.iter().any(|(o, _, _)| o.id == order.id) {
            self.orders.push((order, version, false));
        }
    }

    /// The orders the adopted queues name that the backlog does not hold yet: what
    /// a command reads second, after the queues.
    pub(crate) fn orders_to_read(&self) -> Vec<OrderId> {
        let mut ids: Vec<OrderId> = Vec::new();
        for (queue, _, _) in &self.queues {
            for w in &queue.waiting {
                if !ids.contains(&w.order) && !self.orders.iter().any(|(o, _, _)| o.id == w.order) {
                    ids.push(w.order);
                }
            }
        }
        ids
    }

    /// Takes `id` back out, with whatever the steps changed.
    pub(crate) fn release(&mut self, id: OrderId) -> Option<Order> {
        let at = self.orders.iter().position(|(o, _, _)| o.id == id)?;
        Some(self.orders.remove(at).0)
    }

    fn entry(&mut self, sku: &Sku) -> Result<&mut (BackOrderQueue, Option<u64>, QueueUse), Error> {
        self.queues
            .iter_mut()
            .find(|(q, _, _)| &q.sku == sku)
            .ok_or_else(|| Error::NotPrefetched {
                key: RecordKey::BackOrderQueue(sku.clone()),
            })
    }

    /// The queue of `sku` as this command sees it, to decide on: checked at commit
    /// unless the command changes it.
    pub(crate) fn queue(&mut self, sku: &Sku) -> Result<&BackOrderQueue, Error> {
        let (queue, _, used) = self.entry(sku)?;
        if matches!(used, QueueUse::Held) {
            *used = QueueUse::Read;
        }
        Ok(queue)
    }

    /// The queue of `sku`, to change.
    pub(crate) fn queue_mut(&mut self, sku: &Sku) -> Result<&mut BackOrderQueue, Error> {
        let (queue, _, used) = self.entry(sku)?;
        // Lines it joined are in `queue` already, and are put with it.
        *used = QueueUse::Changed;
        Ok(queue)
    }

    /// Puts the queue of `sku` at the version read (new and empty if there was
    /// none) even if nothing in it changes. Every command that changes what is on
    /// order for `sku` — raising a purchase order, replenishing, receiving,
    /// cancelling, closing — does, so the queue is the one record they all rewrite:
    /// a replenishment that decided on the purchase orders open for `sku`
    /// conflicts with one raised for it meanwhile and decides again, and commands
    /// on different SKUs never meet.
    ///
    /// # Errors
    /// [`Error::NotPrefetched`] if the queue was not handed over.
    pub(crate) fn claim_on_order(&mut self, sku: &Sku) -> Result<(), Error> {
        self.queue_mut(sku).map(drop)
    }

    /// Adds `entry` to its SKU's queue as this command sees it, and to what the
    /// store adds at commit; returns the queue, `entry` in it.
    fn join(&mut self, entry: QueueEntry) -> Result<&BackOrderQueue, Error> {
        let (queue, _, used) = self.entry(&entry.sku)?;
        queue.join(entry.clone());
        match used {
            QueueUse::Held | QueueUse::Read => *used = QueueUse::Joined(vec![entry]),
            QueueUse::Joined(entries) => entries.push(entry),
            QueueUse::Changed => {}
        }
        Ok(queue)
    }

    fn order(&self, id: OrderId) -> Result<&Order, Error> {
        self.orders
            .iter()
            .find(|(o, _, _)| o.id == id)
            .map(|(o, _, _)| o)
            .ok_or_else(|| Error::dangling(Order::kind(), id))
    }

    fn order_mut(&mut self, id: OrderId) -> Result<&mut Order, Error> {
        let (order, _, changed) = self
            .orders
            .iter_mut()
            .find(|(o, _, _)| o.id == id)
            .ok_or_else(|| Error::dangling(Order::kind(), id))?;
        *changed = true;
        Ok(order)
    }

    /// Queues each short line of a new `order` for its SKU and promises it a date.
    /// `pin` keeps a pickup order's lines to the units arriving at its store.
    ///
    /// The promise counts the units queued ahead as this command read them: a
    /// back-order placed at the same moment may commit first and queue ahead, and
    /// the next re-promise (a purchase order sent or received) counts it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn queue_shortfalls(
        &mut self,
        order: &mut Order,
        shortfalls: &[Quantity],
        products: &Products,
        supply: Supply<'_>,
        pin: Option<&LocationId>,
        priority: u8,
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        if shortfalls.iter().all(|short| short.is_zero()) {
            return Ok(());
        }
        let now = changes.at;
        for (line, short) in order.lines.iter_mut().zip(shortfalls) {
            if short.is_zero() {
                continue;
            }
            let sku = line.sku.clone();
            let entry = QueueEntry {
                sku: sku.clone(),
                line: Waiting {
                    order: order.id,
                    line_no: line.line_no,
                    location: pin.cloned(),
                    quantity: *short,
                    since: now,
                    priority,
                    seq: 0,
                },
            };
            let up_to = self.join(entry)?.units_through(order.id, line.line_no);
            let fallback = products.cost_currency(&sku).and_then(|currency| {
                rank_offers(
                    supply.suppliers,
                    &sku,
                    *short,
                    currency,
                    now.date_naive(),
                    None,
                )
                .best()
                .map(|best| best.arrives_on)
            });
            // Behind whatever the line already waits for (an amendment adding units).
            line.backordered = line.backordered.saturating_add(*short);
            line.promised_on = promise_date(up_to, &arrivals(supply.sent, &sku), fallback);
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
    /// first (at `sites`, which must hold every location `order` reserves at) — and
    /// every line's unshipped units count as cancelled. The caller puts the order.
    pub(crate) fn release_unshipped(
        &mut self,
        order: &mut Order,
        sites: &[Location],
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        for line in order.lines.iter().filter(|l| !l.backordered.is_zero()) {
            self.queue_mut(&line.sku)?.remove_order(order.id);
        }
        let mut released: Vec<(Sku, LocationId, Quantity)> = Vec::new();
        for line in &mut order.lines {
            for r in line.reservations.drain() {
                released.push((line.sku.clone(), r.location.clone(), r.quantity));
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
                    quantity: r.quantity,
                });
            }
            line.cancelled = line.quantity.saturating_sub(line.shipped);
            line.backordered = Quantity::ZERO;
            line.promised_on = None;
        }
        for (sku, location, units) in &released {
            self.fill(sku, location, fulfils(sites, location)?, *units, changes)?;
        }
        Ok(())
    }

    /// Gives `units` of `sku` that arrived or came free at `location` (a site that
    /// `fulfils` orders, or not) to the lines waiting for it, in fill order, as
    /// reservations in the same commit; whatever is left stays free. Returns the
    /// units given.
    pub(crate) fn fill(
        &mut self,
        sku: &Sku,
        location: &LocationId,
        fulfils: bool,
        units: Quantity,
        changes: &mut Changeset,
    ) -> Result<Quantity, Error> {
        // Read (and so checked at commit) even when nothing waits: see `put_into`.
        if self.queue(sku)?.waiting.is_empty() {
            return Ok(Quantity::ZERO);
        }
        let fills = self.queue_mut(sku)?.fill(location, fulfils, units);
        let mut given = Quantity::ZERO;
        for fill in fills {
            let order = self.order_mut(fill.order)?;
            let Some(line) = order.lines.iter_mut().find(|l| l.line_no == fill.line_no) else {
                // The order was read before the amendment that added the line, the
                // queue after it: a lost race, so the command reads both again.
                return Err(Error::Store(StoreError::Conflict {
                    key: RecordKey::Order(fill.order),
                    expected: None,
                    actual: None,
                }));
            };
            let quantity = fill.quantity;
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
                quantity,
            });
            given = given.saturating_add(quantity);
        }
        Ok(given)
    }

    /// Re-promises every line waiting for any of `skus`: the expected date of the
    /// sent purchase order that covers its place in the queue, else the best offer's
    /// arrival if ordered today, else no date.
    pub(crate) fn refresh_promises(
        &mut self,
        skus: &[Sku],
        products: &Products,
        supply: Supply<'_>,
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        let today = changes.at.date_naive();
        for sku in skus {
            let waiting = self.queue(sku)?.waiting.clone();
            if waiting.is_empty() {
                continue;
            }
            let currency = products.cost_currency(sku);
            let arriving = arrivals(supply.sent, sku);
            let mut up_to = 0u64;
            for w in waiting {
                up_to = up_to.saturating_add(u64::from(w.quantity.units()));
                let fallback = currency.and_then(|c| {
                    rank_offers(supply.suppliers, sku, w.quantity, c, today, None)
                        .best()
                        .map(|best| best.arrives_on)
                });
                let date = promise_date(up_to, &arriving, fallback);
                let current = self
                    .order(w.order)?
                    .lines
                    .iter()
                    .find(|l| l.line_no == w.line_no)
                    .map(|l| l.promised_on);
                if current.is_none_or(|promised| promised == date) {
                    continue;
                }
                let order = self.order_mut(w.order)?;
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

    /// Adds everything to `changes`: changed records as puts at the version read;
    /// queues only read as checks, so a command that decided on a queue conflicts
    /// with one that changed it meanwhile (a queue read but absent is written empty
    /// for the same reason: a first back-order racing this command must conflict);
    /// lines only joined as merges, which the store adds to the queue as it stands.
    pub(crate) fn put_into(self, changes: &mut Changeset) {
        for (order, version, changed) in self.orders {
            if changed {
                changes.update(order, version);
            }
        }
        for (queue, version, used) in self.queues {
            match (used, version) {
                (QueueUse::Held, _) => {}
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

/// Whether `location`, one of `sites`, fulfils orders.
fn fulfils(sites: &[Location], location: &LocationId) -> Result<bool, Error> {
    sites
        .iter()
        .find(|l| &l.id == location)
        .map(|l| l.fulfils_orders)
        .ok_or_else(|| Error::NotPrefetched {
            key: RecordKey::Location(location.clone()),
        })
}

/// (expected date, units outstanding) of each sent purchase order for `sku`.
fn arrivals(sent: &[PurchaseOrder], sku: &Sku) -> Vec<(chrono::NaiveDate, Quantity)> {
    sent.iter()
        .map(|po| (po.expected_on, po.outstanding(sku)))
        .filter(|(_, units)| !units.is_zero())
        .collect()
}

/// Adds `quantity` at `location` to a line's reservations, merging with one there.
pub(crate) fn reserve(line: &mut OrderLine, location: &LocationId, quantity: Quantity) {
    match line
        .reservations
        .iter_mut()
        .find(|r| &r.location == location)
    {
        Some(r) => r.quantity = r.quantity.saturating_add(quantity),
        None => line
            .reservations
            .push(LineReservation::new(location.clone(), quantity)),
    }
}
