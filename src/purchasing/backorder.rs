//! Back-orders: what an order does about a shortfall, and the queue per SKU that
//! receipts fill before any stock becomes free.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{LocationId, OrderId, Sku};
use crate::quantity::Quantity;

/// What an order does when stock cannot cover a line. Set per product, overridable
/// per order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum BackOrderPolicy {
    /// Refuse the order.
    #[default]
    #[serde(alias = "Reject")]
    Reject,
    /// Reserve what is there, back-order the rest, and ship the order complete once
    /// the back-order is filled.
    #[serde(alias = "BackOrder")]
    BackOrder,
    /// Ship what is there now, and the back-ordered rest when it arrives.
    #[serde(alias = "ShipAvailable")]
    ShipAvailable,
}

impl BackOrderPolicy {
    /// How strict the policy is: when an order's short lines disagree, the strictest
    /// wins (reject, then back-order complete, then ship what is there).
    pub fn strictness(self) -> u8 {
        match self {
            BackOrderPolicy::Reject => 2,
            BackOrderPolicy::BackOrder => 1,
            BackOrderPolicy::ShipAvailable => 0,
        }
    }
}

/// One back-ordered line waiting for stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Waiting {
    /// The order.
    pub order: OrderId,
    /// The order line's number.
    pub line_no: u16,
    /// The only location that may fill it (a pickup order), or any.
    pub location: Option<LocationId>,
    /// Units still waiting.
    pub quantity: Quantity,
    /// When it started waiting.
    pub since: DateTime<Utc>,
    /// Higher goes first; equal priorities go first-come-first-served.
    pub priority: u8,
    /// Arrival order in the queue, the first-come-first-served tiebreak.
    pub seq: u64,
}

/// A back-ordered line joining its SKU's queue. The store adds it to the queue as
/// it stands at commit ([`BackOrderQueue::join`]), so back-orders placed at once on
/// one SKU never conflict: each joins behind whatever committed before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct QueueEntry {
    /// The SKU whose queue it joins.
    pub sku: Sku,
    /// The line; its `seq` is given by the queue it joins.
    pub line: Waiting,
}

/// Units a receipt gave one waiting line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Fill {
    /// The order.
    pub order: OrderId,
    /// The order line's number.
    pub line_no: u16,
    /// Units reserved for it.
    pub quantity: Quantity,
}

/// Every line waiting for one SKU, in the order they will be filled.
///
/// One record per SKU, versioned like any other: two commands changing the queue of
/// one SKU conflict and one retries, so no received unit is ever given twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BackOrderQueue {
    /// The SKU.
    pub sku: Sku,
    /// Waiting lines, in fill order: priority (highest first), then arrival.
    pub waiting: Vec<Waiting>,
    /// The next arrival number.
    pub next_seq: u64,
}

impl BackOrderQueue {
    /// An empty queue.
    pub fn new(sku: Sku) -> Self {
        Self {
            sku,
            waiting: Vec::new(),
            next_seq: 0,
        }
    }

    /// Queues a line, behind every line of its priority or higher.
    pub fn push(
        &mut self,
        order: OrderId,
        line_no: u16,
        location: Option<LocationId>,
        quantity: Quantity,
        since: DateTime<Utc>,
        priority: u8,
    ) {
        self.join(QueueEntry {
            sku: self.sku.clone(),
            line: Waiting {
                order,
                line_no,
                location,
                quantity,
                since,
                priority,
                seq: 0,
            },
        });
    }

    /// Adds `entry`'s line (for this queue's SKU) behind every line of its priority
    /// or higher, numbering its arrival.
    pub fn join(&mut self, entry: QueueEntry) {
        let mut line = entry.line;
        line.seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        let at = self
            .waiting
            .iter()
            .position(|w| w.priority < line.priority)
            .unwrap_or(self.waiting.len());
        self.waiting.insert(at, line);
    }

    /// Units waiting in all.
    pub fn waiting_units(&self) -> u64 {
        self.waiting
            .iter()
            .map(|w| u64::from(w.quantity.units()))
            .sum()
    }

    /// Units waiting up to and including the given line, in fill order: how much
    /// must arrive before it is served.
    pub fn units_through(&self, order: OrderId, line_no: u16) -> u64 {
        let mut sum = 0u64;
        for w in &self.waiting {
            sum = sum.saturating_add(u64::from(w.quantity.units()));
            if w.order == order && w.line_no == line_no {
                break;
            }
        }
        sum
    }

    /// True when units arriving at `location` may fill `w`: a pinned line only
    /// from its own location, any other line from a location that fulfils orders.
    fn may_fill(w: &Waiting, location: &LocationId, fulfils_orders: bool) -> bool {
        match &w.location {
            Some(only) => only == location,
            None => fulfils_orders,
        }
    }

    /// Gives up to `units` arriving at `location` to the waiting lines in fill order,
    /// skipping lines that location may not serve (see `fulfils_orders`: a pickup
    /// store's receipts fill only its own pickup lines); returns what each got.
    /// Units left over are `units − Σ fills`.
    pub fn fill(
        &mut self,
        location: &LocationId,
        fulfils_orders: bool,
        units: Quantity,
    ) -> Vec<Fill> {
        let mut left = units;
        let mut fills = Vec::new();
        for w in &mut self.waiting {
            if left.is_zero() {
                break;
            }
            if !Self::may_fill(w, location, fulfils_orders) {
                continue;
            }
            // `take` is at most either, so neither subtraction floors.
            let take = w.quantity.min(left);
            w.quantity = w.quantity.saturating_sub(take);
            left = left.saturating_sub(take);
            fills.push(Fill {
                order: w.order,
                line_no: w.line_no,
                quantity: take,
            });
        }
        self.waiting.retain(|w| !w.quantity.is_zero());
        fills
    }

    /// Takes up to `units` of one order line out of the queue, its latest entries
    /// first (the line wants fewer units); returns the units taken.
    pub fn shorten(&mut self, order: OrderId, line_no: u16, units: Quantity) -> Quantity {
        let mut left = units;
        for w in self.waiting.iter_mut().rev() {
            if left.is_zero() {
                break;
            }
            if w.order == order && w.line_no == line_no {
                // `take` is at most either, so neither subtraction floors.
                let take = w.quantity.min(left);
                w.quantity = w.quantity.saturating_sub(take);
                left = left.saturating_sub(take);
            }
        }
        self.waiting.retain(|w| !w.quantity.is_zero());
        units.saturating_sub(left)
    }

    /// Hands a line's place in the queue to another line of the same order (its
    /// open units moved there), keeping its priority and arrival order.
    pub fn move_line(&mut self, order: OrderId, from: u16, to: u16) {
        for w in &mut self.waiting {
            if w.order == order && w.line_no == from {
                w.line_no = to;
            }
        }
    }

    /// Takes an order's lines out of the queue (it was cancelled); returns the units
    /// that were waiting.
    pub fn remove_order(&mut self, order: OrderId) -> u64 {
        let before = self.waiting_units();
        self.waiting.retain(|w| w.order != order);
        before.saturating_sub(self.waiting_units())
    }
}

/// The date a back-ordered line can be promised for: the expected date of the open
/// purchase order whose arrival, counting arrivals in date order, first covers the
/// `units_up_to` waiting units up to and including this line; else `fallback` (the
/// best offer's arrival if ordered today). `open_orders` are (expected date, units
/// outstanding).
pub fn promise_date(
    units_up_to: u64,
    open_orders: &[(chrono::NaiveDate, Quantity)],
    fallback: Option<chrono::NaiveDate>,
) -> Option<chrono::NaiveDate> {
    let mut arrivals = open_orders.to_vec();
    arrivals.sort();
    let mut covered = 0u64;
    for (date, units) in arrivals {
        covered = covered.saturating_add(u64::from(units.units()));
        if covered >= units_up_to {
            return Some(date);
        }
    }
    fallback
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use proptest::prelude::*;

    fn order(n: u128) -> OrderId {
        OrderId::from_uuid(uuid::Uuid::from_u128(n))
    }
    fn qty(units: u32) -> Quantity {
        Quantity::new(units)
    }
    fn dc() -> LocationId {
        LocationId::new("DC").unwrap()
    }

    #[test]
    fn fills_first_come_first_served_unless_a_priority_says_otherwise() {
        let mut q = BackOrderQueue::new(Sku::new("A").unwrap());
        let t = DateTime::UNIX_EPOCH;
        q.push(order(1), 1, None, qty(5), t, 0);
        q.push(order(2), 1, None, qty(5), t, 0);
        q.push(order(3), 1, None, qty(2), t, 9); // urgent: jumps the queue
        q.push(
            order(4),
            1,
            Some(LocationId::new("SHOP").unwrap()),
            qty(1),
            t,
            9,
        );
        let fills = q.fill(&dc(), true, qty(8));
        assert!(
            q.clone().fill(&dc(), false, qty(8)).is_empty(),
            "a store that does not fulfil orders serves only its own pickups"
        );
        let got: Vec<(OrderId, u32)> = fills
            .iter()
            .map(|f| (f.order, f.quantity.units()))
            .collect();
        assert_eq!(got, vec![(order(3), 2), (order(1), 5), (order(2), 1)]);
        assert_eq!(
            q.waiting_units(),
            5,
            "order 2 keeps waiting for 4, order 4 for 1"
        );
        assert_eq!(q.remove_order(order(2)), 4);
        assert_eq!(q.waiting.len(), 1);
    }

    #[test]
    fn a_moved_line_keeps_its_place_in_the_queue() {
        let mut q = BackOrderQueue::new(Sku::new("A").unwrap());
        let t = DateTime::UNIX_EPOCH;
        q.push(order(1), 1, None, qty(3), t, 0);
        q.push(order(2), 1, None, qty(3), t, 0);
        q.push(order(1), 2, None, qty(1), t, 0);
        q.move_line(order(1), 1, 7);
        let fills = q.fill(&dc(), true, qty(4));
        let got: Vec<(OrderId, u16, u32)> = fills
            .iter()
            .map(|f| (f.order, f.line_no, f.quantity.units()))
            .collect();
        assert_eq!(got, vec![(order(1), 7, 3), (order(2), 1, 1)]);
        assert_eq!(q.units_through(order(1), 2), 3, "line 2 still waits last");
    }

    proptest! {
        /// A receipt gives out no more than it brought, no line more than it waits
        /// for, and the queue shrinks by exactly what was given.
        #[test]
        fn fills_conserve_units(
            lines in proptest::collection::vec((1u32..50, 0u8..3), 0..20),
            receipts in proptest::collection::vec(0u32..80, 1..6),
        ) {
            let mut q = BackOrderQueue::new(Sku::new("A").unwrap());
            for (n, (units, priority)) in lines.iter().enumerate() {
                q.push(order(n as u128), 1, None, qty(*units), DateTime::UNIX_EPOCH, *priority);
            }
            for units in receipts {
                let before = q.clone();
                let fills = q.fill(&dc(), true, Quantity::new(units));
                let given: u64 = fills.iter().map(|f| u64::from(f.quantity.units())).sum();
                prop_assert!(given <= u64::from(units));
                prop_assert_eq!(before.waiting_units() - given, q.waiting_units());
                // Everything went, or the queue is empty: stock never sits free while
                // someone waits.
                prop_assert!(given == u64::from(units) || q.waiting.is_empty());
                // Fill order: nobody served while someone ahead of them still waits.
                let served: Vec<usize> = fills.iter().filter_map(|f| before.waiting.iter().position(|w| w.order == f.order)).collect();
                prop_assert!(served.windows(2).all(|w| w[0] < w[1]));
                if let (Some(last), Some(first_left)) = (served.last(), q.waiting.first()) {
                    let pos = before.waiting.iter().position(|w| w.order == first_left.order).unwrap();
                    prop_assert!(pos >= *last);
                }
            }
        }
    }
}
