//! Back-orders on the order side: queueing a new order's shortfall, and giving
//! received units to the queue before they become free stock.

use super::{Oms, Products};
use crate::error::Error;
use crate::event::Event;
use crate::fulfilment::Carrier;
use crate::ids::{LocationId, Sku};
use crate::order::{LineReservation, Order};
use crate::purchasing::{
    BackOrderQueue, PurchaseOrder, PurchaseOrderStatus, Supplier, promise_date, rank_offers,
};
use crate::quantity::Quantity;
use crate::stock::ReservationChange;
use crate::store::{Changeset, Put, Store};

impl<S: Store, C: Carrier> Oms<S, C> {
    /// Queues each short line of a new order for its SKU and promises it a date.
    /// `pin` keeps a pickup order's lines to the units received at its store.
    pub(super) async fn queue_shortfalls(
        &self,
        order: &mut Order,
        shortfalls: &[u32],
        products: &Products,
        pin: Option<LocationId>,
        priority: u8,
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        let mut skus: Vec<Sku> = Vec::new();
        for (line, short) in order.lines.iter().zip(shortfalls) {
            if *short > 0 && !skus.contains(&line.sku) {
                skus.push(line.sku.clone());
            }
        }
        if skus.is_empty() {
            return Ok(());
        }
        let queues = self.store.load_many::<BackOrderQueue>(&skus).await?;
        let suppliers: Vec<Supplier> = self
            .store
            .list::<Supplier>()
            .await?
            .into_iter()
            .map(|s| s.value)
            .collect();
        let open = self.open_purchase_orders().await?;
        let now = changes.at;
        for (sku, stored) in skus.iter().zip(queues) {
            let version = stored.as_ref().map(|v| v.version);
            let mut queue = stored.map_or_else(|| BackOrderQueue::new(sku.clone()), |v| v.value);
            let arriving = arrivals(&open, sku);
            for (line, short) in order.lines.iter_mut().zip(shortfalls) {
                if *short == 0 || &line.sku != sku {
                    continue;
                }
                let fallback = products.get(sku).and_then(|p| {
                    rank_offers(
                        &suppliers,
                        sku,
                        *short,
                        p.cost.currency(),
                        now.date_naive(),
                        None,
                    )
                    .best()
                    .map(|best| best.arrives_on)
                });
                let up_to = queue.waiting_units().saturating_add(u64::from(*short));
                line.backordered = Quantity::new(*short);
                line.promised_on = promise_date(up_to, &arriving, fallback);
                queue.push(order.id, line.line_no, pin.clone(), *short, now, priority);
                changes.events.push(Event::BackOrderCreated {
                    order: order.id,
                    sku: sku.clone(),
                    quantity: *short,
                    promised_on: line.promised_on,
                });
            }
            changes.puts.push(Put::upsert(queue, version));
        }
        Ok(())
    }

    /// Approved (sent) and partly received purchase orders: the ones whose goods are
    /// on their way.
    pub(super) async fn open_purchase_orders(&self) -> Result<Vec<PurchaseOrder>, Error> {
        Ok(self
            .store
            .list::<PurchaseOrder>()
            .await?
            .into_iter()
            .map(|v| v.value)
            .filter(|po| {
                matches!(
                    po.status,
                    PurchaseOrderStatus::Approved | PurchaseOrderStatus::PartiallyReceived
                )
            })
            .collect())
    }

    /// Gives `units` of `sku` received at `location` to the lines waiting for it, in
    /// fill order, as reservations in the same commit; whatever is left stays free.
    /// Returns the units given.
    pub(super) async fn fill_back_orders(
        &self,
        sku: &Sku,
        location: &LocationId,
        units: u32,
        changes: &mut Changeset,
    ) -> Result<u32, Error> {
        let Some(stored) = self.store.load::<BackOrderQueue>(sku).await? else {
            return Ok(0);
        };
        let mut queue = stored.value;
        let fills = queue.fill(location, units);
        if fills.is_empty() {
            return Ok(0);
        }
        let mut given = 0u32;
        let mut orders: Vec<(Order, u64)> = Vec::new();
        for fill in &fills {
            if !orders.iter().any(|(o, _)| o.id == fill.order) {
                let stored = self.must::<Order>("order", &fill.order).await?;
                orders.push((stored.value, stored.version));
            }
            let Some((order, _)) = orders.iter_mut().find(|(o, _)| o.id == fill.order) else {
                continue;
            };
            let Some(line) = order.lines.iter_mut().find(|l| l.line_no == fill.line_no) else {
                return Err(Error::invalid(
                    "back-order queue",
                    format!("order {} has no line {}", fill.order, fill.line_no),
                ));
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
        for (order, version) in orders {
            changes.puts.push(Put::update(order, version));
        }
        changes.puts.push(Put::update(queue, stored.version));
        Ok(given)
    }

    /// Re-promises every line waiting for any of `skus`: the expected date of the
    /// open purchase order that covers its place in the queue (`open`: the store's
    /// sent orders, as this command leaves them), else the best offer's arrival if
    /// ordered today, else no date. Orders whose dates moved are put once each.
    pub(super) async fn refresh_promises(
        &self,
        skus: &[Sku],
        open: &[PurchaseOrder],
        changes: &mut Changeset,
    ) -> Result<(), Error> {
        let suppliers: Vec<Supplier> = self
            .store
            .list::<Supplier>()
            .await?
            .into_iter()
            .map(|s| s.value)
            .collect();
        let today = changes.at.date_naive();
        // (order, version, changed)
        let mut orders: Vec<(Order, u64, bool)> = Vec::new();
        for (sku, queue) in skus
            .iter()
            .zip(self.store.load_many::<BackOrderQueue>(skus).await?)
        {
            let Some(queue) = queue else { continue };
            let currency = self
                .store
                .load::<crate::catalog::Product>(sku)
                .await?
                .map(|p| p.value.cost.currency());
            let arriving = arrivals(open, sku);
            let mut up_to = 0u64;
            for waiting in &queue.value.waiting {
                up_to = up_to.saturating_add(u64::from(waiting.quantity));
                let fallback = currency.and_then(|c| {
                    rank_offers(&suppliers, sku, waiting.quantity, c, today, None)
                        .best()
                        .map(|best| best.arrives_on)
                });
                let date = promise_date(up_to, &arriving, fallback);
                if !orders.iter().any(|(o, _, _)| o.id == waiting.order) {
                    let stored = self.must::<Order>("order", &waiting.order).await?;
                    orders.push((stored.value, stored.version, false));
                }
                let Some((order, _, changed)) =
                    orders.iter_mut().find(|(o, _, _)| o.id == waiting.order)
                else {
                    continue;
                };
                let Some(line) = order
                    .lines
                    .iter_mut()
                    .find(|l| l.line_no == waiting.line_no)
                else {
                    continue;
                };
                if line.promised_on != date {
                    line.promised_on = date;
                    *changed = true;
                    changes.events.push(Event::PromiseDateChanged {
                        order: order.id,
                        sku: sku.clone(),
                        promised_on: date,
                    });
                }
            }
        }
        for (order, version, changed) in orders {
            if changed {
                changes.puts.push(Put::update(order, version));
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
fn reserve(line: &mut crate::order::OrderLine, location: &LocationId, quantity: Quantity) {
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
