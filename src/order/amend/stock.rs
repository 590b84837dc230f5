//! An amendment's stock: units taken off a line (out of its queue, then its
//! reservations), units added reserved or back-ordered, freed units handed to the
//! lines waiting for them.

use super::{Amending, Needs};
use crate::error::Error;
use crate::event::{Event, ReservedStock};
use crate::ids::{LocationId, OrderId, Sku};
use crate::order::{Delivery, back_order_policy, sites_among};
use crate::purchasing::{BackOrderPolicy, Supply, reserve};
use crate::quantity::Quantity;
use crate::stock::{
    Allocation, AllocationStrategy, LineDemand, ReservationChange, StockError, allocate,
    allocate_available,
};
use crate::store::StoreError;

/// Takes `units` unshipped units off line `at`: those this amendment has yet to
/// reserve first, then back-ordered ones (out of their queue), then reserved
/// ones (released, latest reservation first).
pub(super) fn take_units(work: &mut Amending<'_>, at: usize, units: u32) -> Result<(), Error> {
    let order_id = work.order.id;
    let Some(line) = work.order.lines.get_mut(at) else {
        return Ok(());
    };
    let mut left = units;
    for (_, pending) in work.demand.iter_mut().rev().filter(|(i, _)| *i == at) {
        let take = left.min(*pending);
        *pending -= take;
        left -= take;
    }
    work.demand.retain(|(_, pending)| *pending > 0);
    let from_queue = left.min(line.backordered.units());
    if from_queue > 0 {
        let taken = work.touched.queue_mut(&line.sku)?.shorten(
            order_id,
            line.line_no,
            Quantity::new(from_queue),
        );
        line.backordered = line.backordered.saturating_sub(taken);
        if line.backordered.is_zero() {
            line.promised_on = None;
        }
        left -= taken.units();
    }
    while left > 0 {
        let Some(last) = line.reservations.last_mut() else {
            break;
        };
        let take = left.min(last.quantity.units());
        last.quantity = last.quantity.saturating_sub(Quantity::new(take));
        let location = last.location.clone();
        if last.quantity.is_zero() {
            line.reservations.pop();
        }
        left -= take;
        work.changes.reservations.push(ReservationChange {
            sku: line.sku.clone(),
            location: location.clone(),
            order: order_id,
            quantity: -i64::from(take),
        });
        work.changes.events.push(Event::StockReleased {
            order: order_id,
            sku: line.sku.clone(),
            location: location.clone(),
            quantity: Quantity::new(take),
        });
        if let Some(level) = work
            .levels
            .iter_mut()
            .find(|l| l.sku == line.sku && l.location == location)
        {
            level.reserved = level.reserved.saturating_sub(i64::from(take));
        }
        work.released.push((line.sku.clone(), location, take));
    }
    if left > 0 {
        // The order was read before a back-order fill the queue has seen: a
        // lost race, so the command reads both again.
        return Err(Error::Store(StoreError::Conflict {
            key: crate::store::RecordKey::Order(order_id),
            expected: None,
            actual: None,
        }));
    }
    Ok(())
}

/// Reserves the units added, back-ordering what is short if the policy allows —
/// or, when a line is short and the supply was not read, says so (with the
/// waiting orders too if units were freed and they were not read either).
pub(super) fn reserve_added(
    work: &mut Amending<'_>,
    strategy: AllocationStrategy,
) -> Result<Option<Needs>, Error> {
    if work.demand.is_empty() {
        return Ok(None);
    }
    let products = &work.inputs.products;
    let demand: Vec<LineDemand> = work
        .demand
        .iter()
        .filter_map(|(at, units)| {
            let line = work.order.lines.get(*at)?;
            Some(LineDemand {
                sku: line.sku.clone(),
                quantity: Quantity::new(*units),
            })
        })
        .collect();
    let sites = sites_among(&work.order.delivery, &work.inputs.locations)?;
    let (allocations, shortfalls) = match allocate(&demand, &work.levels, &sites, strategy) {
        Ok(allocations) => (allocations, Vec::new()),
        Err(short @ StockError::Insufficient { .. }) => {
            let (allocations, shortfalls) =
                allocate_available(&demand, &work.levels, &sites, strategy)?;
            let short_lines = demand.iter().map(|d| &d.sku).zip(&shortfalls);
            let policy = back_order_policy(work.order.back_order_requested, short_lines, products);
            if policy == BackOrderPolicy::Reject {
                return Err(short.into());
            }
            work.order.back_order = policy;
            (allocations, shortfalls)
        }
        Err(e) => return Err(e.into()),
    };
    // A short line waits in its SKU's queue, promised a date from the supply.
    let Some(supply) = work.inputs.supply() else {
        if shortfalls.iter().any(|short| !short.is_zero()) {
            let orders = if work.released.is_empty() {
                Vec::new()
            } else {
                waiting_to_read(work)
            };
            return Ok(Some(Needs {
                supply: true,
                orders,
            }));
        }
        return reserve_allocated(work, &allocations).map(|()| None);
    };
    reserve_allocated(work, &allocations)?;
    back_order(work, &shortfalls, supply)?;
    Ok(None)
}

/// Reserves what `allocations` found for the units added.
fn reserve_allocated(work: &mut Amending<'_>, allocations: &[Allocation]) -> Result<(), Error> {
    let order_id = work.order.id;
    let mut reserved = Vec::with_capacity(allocations.len());
    for a in allocations {
        let Some((at, _)) = work.demand.get(a.line) else {
            continue;
        };
        let Some(line) = work.order.lines.get_mut(*at) else {
            continue;
        };
        reserve(line, &a.location, a.quantity);
        if let Some(level) = work
            .levels
            .iter_mut()
            .find(|l| l.sku == line.sku && l.location == a.location)
        {
            level.reserved = level.reserved.saturating_add(a.quantity.as_i64());
        }
        work.changes.reservations.push(ReservationChange {
            sku: line.sku.clone(),
            location: a.location.clone(),
            order: order_id,
            quantity: a.quantity.as_i64(),
        });
        reserved.push(ReservedStock {
            sku: line.sku.clone(),
            location: a.location.clone(),
            quantity: a.quantity,
        });
    }
    work.changes
        .events
        .extend(Event::stock_reserved(order_id, reserved));

    Ok(())
}

/// Queues the units added that are short, each behind its line's own earlier
/// back-order if it has one, promised a date from `supply`.
fn back_order(
    work: &mut Amending<'_>,
    shortfalls: &[Quantity],
    supply: Supply<'_>,
) -> Result<(), Error> {
    let order_id = work.order.id;
    let mut short_per_line = vec![Quantity::ZERO; work.order.lines.len()];
    for ((at, _), short) in work.demand.iter().zip(shortfalls) {
        if let Some(slot) = short_per_line.get_mut(*at) {
            *slot = slot.saturating_add(*short);
        }
    }
    if short_per_line.iter().all(|s| s.is_zero()) {
        return Ok(());
    }
    // The order waits in a queue only for lines with back-ordered units.
    let mut priority = 0u8;
    for line in work.order.lines.iter().filter(|l| !l.backordered.is_zero()) {
        let queue = work.touched.queue(&line.sku)?;
        if let Some(w) = queue.waiting.iter().find(|w| w.order == order_id) {
            priority = priority.max(w.priority);
        }
    }
    let pin = match &work.order.delivery {
        Delivery::Pickup { location } => Some(location.clone()),
        Delivery::Ship { .. } => None,
    };
    work.touched.queue_shortfalls(
        &mut work.order,
        &short_per_line,
        &work.inputs.products,
        supply,
        pin.as_ref(),
        priority,
        work.changes,
    )?;
    for (line, short) in work.order.lines.iter().zip(&short_per_line) {
        if !short.is_zero() {
            let on_hand = work
                .levels
                .iter()
                .filter(|l| l.sku == line.sku)
                .map(|l| l.on_hand)
                .fold(0, i64::saturating_add);
            let check = crate::store::Check::SkuOnHand {
                sku: line.sku.clone(),
                on_hand,
            };
            if !work.changes.checks.contains(&check) {
                work.changes.checks.push(check);
            }
        }
    }
    Ok(())
}

/// Gives units the amendment freed, and did not take back itself, to the lines
/// waiting for them — or, when other orders wait for them and were not read, says
/// which.
pub(super) fn free_released(work: &mut Amending<'_>) -> Result<Option<Needs>, Error> {
    if work.released.is_empty() {
        return Ok(None);
    }
    if work.inputs.waiting.is_none() {
        let orders = waiting_to_read(work);
        if !orders.is_empty() {
            return Ok(Some(Needs {
                supply: false,
                orders,
            }));
        }
    }
    let mut released: Vec<(Sku, LocationId, u32)> = Vec::new();
    for (sku, location, units) in work.released.drain(..) {
        match released
            .iter_mut()
            .find(|(s, l, _)| *s == sku && *l == location)
        {
            Some((_, _, sum)) => *sum = sum.saturating_add(units),
            None => released.push((sku, location, units)),
        }
    }
    // Waiting lines of this very order may take the units: the fills must
    // change this copy, which the caller puts.
    let id = work.order.id;
    work.touched.adopt(work.order.clone(), 0);
    for (sku, location, units) in &released {
        // Free now: what the release gave back, less what the additions took.
        let free = work
            .levels
            .iter()
            .find(|l| &l.sku == sku && &l.location == location)
            .map_or(0, |l| l.on_hand.saturating_sub(l.reserved).max(0));
        let units = (*units).min(u32::try_from(free).unwrap_or(u32::MAX));
        if units > 0 {
            let fulfils = work.inputs.fulfils(location);
            work.touched
                .fill(sku, location, fulfils, Quantity::new(units), work.changes)?;
        }
    }
    if let Some(order) = work.touched.release(id) {
        work.order = order;
    }
    Ok(None)
}

/// The orders waiting in the queues read, other than the one amended: those a
/// fill may give freed units to.
fn waiting_to_read(work: &Amending<'_>) -> Vec<OrderId> {
    let own = work.order.id;
    let mut orders = work.touched.orders_to_read();
    orders.retain(|id| *id != own);
    orders
}
