//! The order pipeline: how many orders stand at each stage of their life now, and
//! what they are worth, per channel.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::add;
use super::projector::OrderTrack;
use crate::event::Event;
use crate::ids::OrderId;
use crate::money::{Currency, Money};
use crate::order::Channel;

/// Where an order stands now. An order is at exactly one stage: the first of
/// cancelled, completed, on hold, delivered, shipped that holds for it, else
/// placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum PipelineStage {
    /// Accepted; nothing shipped yet and nothing holding it.
    Placed,
    /// At least one hold not yet released, whatever has shipped.
    OnHold,
    /// A shipment booked, none delivered yet.
    Shipped,
    /// A shipment delivered, the order not yet completed (more to ship or to be
    /// paid).
    Delivered,
    /// Delivered and paid in full.
    Completed,
    /// Cancelled whole. An order whose unshipped remainder was cancelled stays
    /// at the stage of what shipped.
    Cancelled,
}

impl PipelineStage {
    /// Every stage, in pipeline order (the order the report's rows come in).
    pub const ALL: [PipelineStage; 6] = [
        PipelineStage::Placed,
        PipelineStage::OnHold,
        PipelineStage::Shipped,
        PipelineStage::Delivered,
        PipelineStage::Completed,
        PipelineStage::Cancelled,
    ];
}

/// The orders of one channel and currency at one stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PipelineRow {
    /// The stage.
    pub stage: PipelineStage,
    /// Their channel.
    pub channel: Channel,
    /// Orders at the stage.
    pub orders: u64,
    /// What they are worth now (as placed, as last amended, or as a cancelled
    /// remainder left them); its currency tells rows of one stage and channel
    /// apart.
    pub value: Money,
}

/// Which row an order counts in, and what it adds to the row's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Standing {
    key: (PipelineStage, Channel, Currency),
    value: Decimal,
}

impl Standing {
    pub fn of(track: &OrderTrack) -> Self {
        Self {
            key: (track.stage(), track.channel, track.currency),
            value: track.total,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Tally {
    orders: u64,
    value: Decimal,
}

/// The orders at each stage, kept as they move: never counted by walking every
/// order when asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Pipeline {
    rows: BTreeMap<(PipelineStage, Channel, Currency), Tally>,
}

impl Pipeline {
    /// An order's standing changed from `before` to `after` (`None`: it did not
    /// count): its old contribution leaves its row, the new one joins its row.
    pub fn moved(&mut self, before: Option<Standing>, after: Option<Standing>) {
        if before == after {
            return;
        }
        if let Some(old) = before
            && let Some(tally) = self.rows.get_mut(&old.key)
        {
            tally.orders = tally.orders.saturating_sub(1);
            tally.value = tally.value.saturating_sub(old.value);
            // A row left empty goes, so the models equal a rebuild that never
            // saw it.
            if tally.orders == 0 {
                self.rows.remove(&old.key);
            }
        }
        if let Some(new) = after {
            let tally = self.rows.entry(new.key).or_default();
            tally.orders = tally.orders.saturating_add(1);
            add(&mut tally.value, new.value);
        }
    }

    /// Every row, by stage in pipeline order, then channel, then currency.
    pub fn rows(&self) -> Vec<PipelineRow> {
        self.rows
            .iter()
            .map(|((stage, channel, currency), tally)| PipelineRow {
                stage: *stage,
                channel: *channel,
                orders: tally.orders,
                value: Money::new(tally.value, *currency),
            })
            .collect()
    }
}

/// The order whose stage or worth `event` may change.
pub(crate) fn restaged_order(event: &Event) -> Option<OrderId> {
    match event {
        Event::OrderPlaced { order, .. }
        | Event::OrderAmended { order, .. }
        | Event::OrderRemainderCancelled { order, .. }
        | Event::OrderHeld { order, .. }
        | Event::HoldReleased { order, .. }
        | Event::ShipmentBooked { order, .. }
        | Event::ShipmentDelivered { order, .. }
        | Event::OrderCompleted { order }
        | Event::OrderCancelled { order, .. } => Some(*order),
        _ => None,
    }
}

impl OrderTrack {
    /// Where the order stands now.
    pub(crate) fn stage(&self) -> PipelineStage {
        if self.cancelled {
            PipelineStage::Cancelled
        } else if self.completed {
            PipelineStage::Completed
        } else if !self.holds.is_empty() {
            PipelineStage::OnHold
        } else if self.delivered_at.is_some() {
            PipelineStage::Delivered
        } else if self.first_shipped_at.is_some() {
            PipelineStage::Shipped
        } else {
            PipelineStage::Placed
        }
    }

    /// Takes what `event` says of the order's holds and whether it closed; the
    /// fold records its shipments and deliveries itself.
    pub(crate) fn note_stage(&mut self, event: &Event) {
        match event {
            Event::OrderHeld { hold, .. } if !self.holds.contains(hold) => self.holds.push(*hold),
            Event::HoldReleased { hold, .. } => self.holds.retain(|h| h != hold),
            Event::OrderCompleted { .. } => self.completed = true,
            // Cancelling lifts every hold without an event of its own, as the
            // order does.
            Event::OrderCancelled { .. } => {
                self.cancelled = true;
                self.holds.clear();
            }
            _ => {}
        }
    }
}
