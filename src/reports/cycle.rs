//! Order cycle times per channel: placed → paid, → shipped, → delivered.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::projector::OrderTrack;
use super::{DateRange, Page, PageRequest, Sketch, paged};
use crate::error::Error;
use crate::order::Channel;

/// Which span of an order's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CycleStage {
    /// Placed until its payments covered its value.
    PlacedToPaid,
    /// Placed until its first shipment was booked.
    PlacedToShipped,
    /// Placed until its first delivery.
    PlacedToDelivered,
    /// First shipment until first delivery.
    ShippedToDelivered,
}

/// How long one stage took for the orders of one channel placed in the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CycleRow {
    /// The channel.
    pub channel: Channel,
    /// The stage.
    pub stage: CycleStage,
    /// Orders that reached the stage's end.
    pub orders: u64,
    /// The median, in seconds (within [`super::RELATIVE_ERROR`]).
    pub p50_seconds: u64,
    /// The 90th percentile, in seconds (within [`super::RELATIVE_ERROR`]).
    pub p90_seconds: u64,
}

/// A sketch per channel, stage and day the orders were placed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cycles {
    sketches: BTreeMap<(Channel, CycleStage), BTreeMap<NaiveDate, Sketch>>,
}

impl Cycles {
    /// The order reached the end of `stage` at `at` (it started at placement).
    pub fn reached(&mut self, track: &OrderTrack, stage: CycleStage, at: DateTime<Utc>) {
        self.between(track, stage, track.placed_at, at);
    }

    pub fn between(
        &mut self,
        track: &OrderTrack,
        stage: CycleStage,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) {
        self.sketches
            .entry((track.channel, stage))
            .or_default()
            .entry(track.placed_at.date_naive())
            .or_default()
            .add((to - from).num_seconds());
    }

    /// Orders placed in `range`.
    pub fn query(&self, range: DateRange, page: &PageRequest) -> Result<Page<CycleRow>, Error> {
        range.check()?;
        let mut merged: BTreeMap<(Channel, CycleStage), Sketch> = BTreeMap::new();
        for (key, days) in &self.sketches {
            for (_, sketch) in days.range(range.from..=range.to) {
                merged.entry(*key).or_default().merge(sketch);
            }
        }
        paged(
            page,
            merged.into_iter().map(|((channel, stage), sketch)| {
                let row = CycleRow {
                    channel,
                    stage,
                    orders: sketch.count(),
                    p50_seconds: sketch.quantile(0.5).unwrap_or(0),
                    p90_seconds: sketch.quantile(0.9).unwrap_or(0),
                };
                ((channel, stage), row)
            }),
        )
    }
}
