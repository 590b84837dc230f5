//! Fill rate, on-time-in-full, and back-order ageing.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::projector::OrderTrack;
use super::{DateRange, Page, PageRequest, paged, percent};
use crate::error::Error;
use crate::ids::{OrderId, Sku};
use crate::order::{Channel, Order};

/// Days after placement a line filled from stock is promised to ship by: the
/// promise on-time-in-full measures it against (a back-ordered line's own
/// promise date, when later, counts instead).
pub const DISPATCH_PROMISE_DAYS: u64 = 2;

/// How much of what one channel's customers ordered on a day stock covered at
/// once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FillRow {
    /// The day the orders were placed.
    pub day: NaiveDate,
    /// Their channel.
    pub channel: Channel,
    /// Orders placed.
    pub orders: u64,
    /// Orders stock covered completely when placed.
    pub orders_filled: u64,
    /// Units ordered.
    pub units_ordered: i64,
    /// Units reserved from stock when placed (the rest were back-ordered).
    pub units_filled: i64,
    /// `units_filled ÷ units_ordered`, as a percentage to one decimal place.
    pub fill_rate_percent: Option<Decimal>,
}

/// How the orders of one channel completed on a day measured against their
/// promises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OtifRow {
    /// The day the orders completed (delivered and paid).
    pub day: NaiveDate,
    /// Their channel.
    pub channel: Channel,
    /// Orders completed.
    pub orders: u64,
    /// Orders whose last shipment left by their promise date.
    pub on_time: u64,
    /// Orders with no unit cancelled.
    pub in_full: u64,
    /// Both.
    pub on_time_in_full: u64,
    /// `on_time_in_full ÷ orders`, as a percentage to one decimal place.
    pub otif_percent: Option<Decimal>,
}

/// The units one SKU owes its customers, by how long they have waited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct BackOrderRow {
    /// The SKU.
    pub sku: Sku,
    /// Orders waiting.
    pub orders: u64,
    /// Units waiting.
    pub units: i64,
    /// Units of orders placed 0 to 7 days ago.
    pub days_0_7: i64,
    /// 8 to 30 days ago.
    pub days_8_30: i64,
    /// 31 to 60 days ago.
    pub days_31_60: i64,
    /// More than 60 days ago.
    pub over_60: i64,
    /// When the longest-waiting order was placed.
    pub oldest: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Fill {
    orders: u64,
    orders_short: u64,
    units_filled: i64,
    units_short: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Otif {
    orders: u64,
    on_time: u64,
    in_full: u64,
    both: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Fulfilment {
    fill: BTreeMap<(NaiveDate, Channel), Fill>,
    otif: BTreeMap<(NaiveDate, Channel), Otif>,
    /// Back-ordered units per SKU and order, with when the order was placed.
    waiting: BTreeMap<Sku, BTreeMap<OrderId, (i64, DateTime<Utc>)>>,
    /// The SKUs each order waits for.
    waits: HashMap<OrderId, Vec<Sku>>,
}

impl Fulfilment {
    pub fn placed(&mut self, track: &OrderTrack) {
        let fill = self
            .fill
            .entry((track.placed_at.date_naive(), track.channel))
            .or_default();
        fill.orders += 1;
    }

    pub fn filled_at_placement(&mut self, track: &OrderTrack, units: i64) {
        let fill = self
            .fill
            .entry((track.placed_at.date_naive(), track.channel))
            .or_default();
        fill.units_filled = fill.units_filled.saturating_add(units);
    }

    /// `first`: the order's first short line (the order counts once).
    pub fn short_at_placement(&mut self, track: &OrderTrack, units: i64, first: bool) {
        let fill = self
            .fill
            .entry((track.placed_at.date_naive(), track.channel))
            .or_default();
        fill.units_short = fill.units_short.saturating_add(units);
        fill.orders_short += u64::from(first);
    }

    pub fn completed(&mut self, track: &OrderTrack, at: DateTime<Utc>) {
        let dispatch = track
            .placed_at
            .date_naive()
            .checked_add_days(Days::new(DISPATCH_PROMISE_DAYS));
        let promise = match (dispatch, track.promised_on) {
            (Some(d), Some(p)) => Some(d.max(p)),
            (d, p) => d.or(p),
        };
        let on_time = !track.unpromised
            && match (track.last_shipped_at, promise) {
                (Some(shipped), Some(promise)) => shipped.date_naive() <= promise,
                _ => false,
            };
        let in_full = !track.cut_short;
        let otif = self
            .otif
            .entry((at.date_naive(), track.channel))
            .or_default();
        otif.orders += 1;
        otif.on_time += u64::from(on_time);
        otif.in_full += u64::from(in_full);
        otif.both += u64::from(on_time && in_full);
    }

    /// Takes `order`'s back-ordered units as they stand now.
    pub fn project(&mut self, order: &Order) {
        if let Some(skus) = self.waits.remove(&order.id) {
            for sku in skus {
                if let Some(orders) = self.waiting.get_mut(&sku) {
                    orders.remove(&order.id);
                    if orders.is_empty() {
                        self.waiting.remove(&sku);
                    }
                }
            }
        }
        let mut skus = Vec::new();
        for line in &order.lines {
            let units = line.backordered.as_i64();
            if units == 0 {
                continue;
            }
            let entry = self
                .waiting
                .entry(line.sku.clone())
                .or_default()
                .entry(order.id)
                .or_insert((0, order.placed_at));
            entry.0 = entry.0.saturating_add(units);
            if !skus.contains(&line.sku) {
                skus.push(line.sku.clone());
            }
        }
        if !skus.is_empty() {
            self.waits.insert(order.id, skus);
        }
    }

    /// Units back-ordered for `sku`, every order's.
    pub fn waiting_for(&self, sku: &Sku) -> i64 {
        self.waiting
            .get(sku)
            .map_or(0, |orders| orders.values().map(|(units, _)| *units).sum())
    }

    pub fn fill_rate(&self, range: DateRange, page: &PageRequest) -> Result<Page<FillRow>, Error> {
        range.check()?;
        paged(
            page,
            self.fill
                .range((range.from, Channel::Web)..)
                .take_while(|((day, _), _)| *day <= range.to)
                .map(|((day, channel), f)| {
                    let ordered = f.units_filled.saturating_add(f.units_short);
                    let row = FillRow {
                        day: *day,
                        channel: *channel,
                        orders: f.orders,
                        orders_filled: f.orders.saturating_sub(f.orders_short),
                        units_ordered: ordered,
                        units_filled: f.units_filled,
                        fill_rate_percent: percent(f.units_filled, ordered),
                    };
                    ((*day, *channel), row)
                }),
        )
    }

    pub fn on_time_in_full(
        &self,
        range: DateRange,
        page: &PageRequest,
    ) -> Result<Page<OtifRow>, Error> {
        range.check()?;
        paged(
            page,
            self.otif
                .range((range.from, Channel::Web)..)
                .take_while(|((day, _), _)| *day <= range.to)
                .map(|((day, channel), o)| {
                    let row = OtifRow {
                        day: *day,
                        channel: *channel,
                        orders: o.orders,
                        on_time: o.on_time,
                        in_full: o.in_full,
                        on_time_in_full: o.both,
                        otif_percent: percent(o.both as i64, o.orders as i64),
                    };
                    ((*day, *channel), row)
                }),
        )
    }

    pub fn back_orders(
        &self,
        as_of: DateTime<Utc>,
        page: &PageRequest,
    ) -> Result<Page<BackOrderRow>, Error> {
        let after: Option<Sku> = page.start()?;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        paged(
            page,
            self.waiting
                .range((from, Bound::Unbounded))
                .map(|(sku, orders)| {
                    let mut row = BackOrderRow {
                        sku: sku.clone(),
                        orders: orders.len() as u64,
                        units: 0,
                        days_0_7: 0,
                        days_8_30: 0,
                        days_31_60: 0,
                        over_60: 0,
                        oldest: as_of,
                    };
                    for (units, since) in orders.values() {
                        row.units = row.units.saturating_add(*units);
                        let bucket = match (as_of - *since).num_days() {
                            ..=7 => &mut row.days_0_7,
                            8..=30 => &mut row.days_8_30,
                            31..=60 => &mut row.days_31_60,
                            _ => &mut row.over_60,
                        };
                        *bucket = bucket.saturating_add(*units);
                        row.oldest = row.oldest.min(*since);
                    }
                    (sku.clone(), row)
                }),
        )
    }
}
