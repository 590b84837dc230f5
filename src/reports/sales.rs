//! Sales and gross margin by day, week or month × channel, product or customer.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Bound;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::projector::OrderTrack;
use super::{DateRange, Page, PageRequest, Pager, add};
use crate::error::Error;
use crate::fulfilment::Shipment;
use crate::ids::{CustomerId, Sku};
use crate::ledger::{CreditNote, Invoice};
use crate::money::{Currency, Money};
use crate::order::Channel;

/// How long each row's period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One calendar day (UTC).
    Day,
    /// An ISO week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
}

/// What each row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Where the orders came from.
    Channel,
    /// Which SKU was sold.
    Product,
    /// Who bought.
    Customer,
}

/// The channel, product or customer a row is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Member {
    /// A channel.
    Channel(Channel),
    /// A SKU.
    Product(Sku),
    /// A customer.
    Customer(CustomerId),
}

/// What [`crate::Oms::sales`] is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SalesQuery {
    /// The days whose documents count.
    pub range: DateRange,
    /// Rows per day, week or month.
    pub granularity: Granularity,
    /// Rows per channel, product or customer.
    pub dimension: Dimension,
    /// Which page.
    pub page: PageRequest,
}

/// One period × member: what was sold, credited and returned, and what the goods
/// cost.
///
/// Revenue is goods net of discounts, before tax and shipping. Credit notes net
/// it on the day they are issued; returned units are counted on the day they
/// arrive; cost of goods is taken on the day the goods ship, at the cost they
/// shipped at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SalesRow {
    /// The period's first day (a Monday for weeks, the 1st for months), clipped
    /// to the range asked for.
    pub period: NaiveDate,
    /// The channel, product or customer.
    pub member: Member,
    /// Units invoiced.
    pub units_sold: i64,
    /// Units returned.
    pub units_returned: i64,
    /// Goods invoiced, net.
    pub invoiced: Money,
    /// Goods credited back, net.
    pub credited: Money,
    /// `invoiced − credited`.
    pub net_revenue: Money,
    /// Cost of the goods shipped.
    pub cost_of_goods: Money,
    /// `net_revenue − cost_of_goods`.
    pub gross_margin: Money,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Figures {
    pub units_sold: i64,
    pub units_returned: i64,
    pub invoiced: Decimal,
    pub credited: Decimal,
    pub cost: Decimal,
}

impl Figures {
    fn merge(&mut self, other: &Figures) {
        self.units_sold = self.units_sold.saturating_add(other.units_sold);
        self.units_returned = self.units_returned.saturating_add(other.units_returned);
        add(&mut self.invoiced, other.invoiced);
        add(&mut self.credited, other.credited);
        add(&mut self.cost, other.cost);
    }
}

type Cells = BTreeMap<(Member, Currency), Figures>;

/// Figures per dimension, per day and per month (weeks are summed from days: a
/// week is seven of them at most).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Sales {
    days: BTreeMap<(Dimension, NaiveDate), Cells>,
    months: BTreeMap<(Dimension, NaiveDate), Cells>,
}

fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

fn week_of(day: NaiveDate) -> NaiveDate {
    day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
        .unwrap_or(day)
}

impl Sales {
    fn count(
        &mut self,
        track: &OrderTrack,
        sku: &Sku,
        currency: Currency,
        at: DateTime<Utc>,
        figures: &Figures,
    ) {
        let day = at.date_naive();
        for member in [
            Member::Channel(track.channel),
            Member::Product(sku.clone()),
            Member::Customer(track.customer),
        ] {
            let dimension = match member {
                Member::Channel(_) => Dimension::Channel,
                Member::Product(_) => Dimension::Product,
                Member::Customer(_) => Dimension::Customer,
            };
            for (period, cells) in [(day, &mut self.days), (month_of(day), &mut self.months)] {
                cells
                    .entry((dimension, period))
                    .or_default()
                    .entry((member.clone(), currency))
                    .or_default()
                    .merge(figures);
            }
        }
    }

    pub fn invoiced(&mut self, track: &OrderTrack, invoice: &Invoice) {
        for line in &invoice.lines {
            let figures = Figures {
                units_sold: line.quantity.as_i64(),
                invoiced: line.net.amount(),
                ..Figures::default()
            };
            self.count(
                track,
                &line.sku,
                line.net.currency(),
                invoice.issued_at,
                &figures,
            );
        }
    }

    pub fn credited(&mut self, track: &OrderTrack, note: &CreditNote) {
        for line in &note.lines {
            let figures = Figures {
                credited: line.net.amount(),
                ..Figures::default()
            };
            self.count(
                track,
                &line.sku,
                line.net.currency(),
                note.issued_at,
                &figures,
            );
        }
    }

    /// Returned units, and the cost of goods they take back (in the cost's
    /// currency, as shipping booked it).
    pub fn returned(
        &mut self,
        track: &OrderTrack,
        sku: &Sku,
        units: i64,
        cost: Option<Money>,
        at: DateTime<Utc>,
    ) {
        let figures = Figures {
            units_returned: units,
            ..Figures::default()
        };
        self.count(track, sku, track.currency, at, &figures);
        if let Some(cost) = cost.filter(|c| !c.is_zero()) {
            let figures = Figures {
                cost: -cost.amount(),
                ..Figures::default()
            };
            self.count(track, sku, cost.currency(), at, &figures);
        }
    }

    /// A voided invoice takes its lines back out, on the day it was voided.
    pub fn voided(&mut self, track: &OrderTrack, invoice: &Invoice, at: DateTime<Utc>) {
        for line in &invoice.lines {
            let figures = Figures {
                units_sold: -line.quantity.as_i64(),
                invoiced: -line.net.amount(),
                ..Figures::default()
            };
            self.count(track, &line.sku, line.net.currency(), at, &figures);
        }
    }

    pub fn shipped(&mut self, track: &OrderTrack, shipment: &Shipment) {
        let currency = shipment.cost_of_goods.currency();
        for (line, cost) in shipment.lines.iter().zip(line_costs(shipment)) {
            let figures = Figures {
                cost,
                ..Figures::default()
            };
            self.count(track, &line.sku, currency, shipment.booked_at, &figures);
        }
    }

    pub fn query(&self, query: &SalesQuery) -> Result<Page<SalesRow>, Error> {
        query.range.check()?;
        let mut pager = Pager::<(NaiveDate, Member, Currency), SalesRow>::new(&query.page)?;
        let after = pager.start().cloned();
        for (start, end) in periods(query.range, query.granularity) {
            if after.as_ref().is_some_and(|(p, _, _)| start < *p) {
                continue;
            }
            let cells = self.cells(query.dimension, query.granularity, start, end);
            let from = match &after {
                Some((p, member, currency)) if *p == start => {
                    Bound::Excluded((member.clone(), *currency))
                }
                _ => Bound::Unbounded,
            };
            for ((member, currency), f) in cells.range((from, Bound::Unbounded)) {
                let row = row(start, member.clone(), *currency, f);
                if !pager.push((start, member.clone(), *currency), row) {
                    return pager.finish();
                }
            }
        }
        pager.finish()
    }

    /// The figures of one period, `start` to `end` (both within the range).
    fn cells(
        &self,
        dimension: Dimension,
        granularity: Granularity,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Cow<'_, Cells> {
        let whole_month = granularity == Granularity::Month
            && start == month_of(start)
            && end.checked_add_days(Days::new(1)).map(month_of) != Some(month_of(start));
        let stored = if whole_month {
            Some(self.months.get(&(dimension, start)))
        } else if start == end {
            Some(self.days.get(&(dimension, start)))
        } else {
            None
        };
        if let Some(stored) = stored {
            return stored.map_or_else(|| Cow::Owned(Cells::new()), Cow::Borrowed);
        }
        let mut sum = Cells::new();
        for (_, cells) in self.days.range((dimension, start)..=(dimension, end)) {
            for (key, figures) in cells {
                sum.entry(key.clone()).or_default().merge(figures);
            }
        }
        Cow::Owned(sum)
    }
}

/// The periods of `range`, each clipped to it.
fn periods(range: DateRange, granularity: Granularity) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = range.from;
    while start <= range.to {
        let next = match granularity {
            Granularity::Day => start.checked_add_days(Days::new(1)),
            Granularity::Week => week_of(start).checked_add_days(Days::new(7)),
            Granularity::Month => month_of(start).checked_add_months(Months::new(1)),
        };
        let end = next
            .and_then(|n| n.pred_opt())
            .map_or(range.to, |e| e.min(range.to));
        out.push((start, end));
        match next {
            Some(n) => start = n,
            None => break,
        }
    }
    out
}

fn row(period: NaiveDate, member: Member, currency: Currency, f: &Figures) -> SalesRow {
    let net = f.invoiced.saturating_sub(f.credited);
    SalesRow {
        period,
        member,
        units_sold: f.units_sold,
        units_returned: f.units_returned,
        invoiced: Money::new(f.invoiced, currency),
        credited: Money::new(f.credited, currency),
        net_revenue: Money::new(net, currency),
        cost_of_goods: Money::new(f.cost, currency),
        gross_margin: Money::new(net.saturating_sub(f.cost), currency),
    }
}

/// Each shipment line's cost: as it shipped, or — for shipments recorded before
/// o2c 0.2 kept it — the shipment's cost shared by units.
pub(super) fn line_costs(shipment: &Shipment) -> Vec<Decimal> {
    if shipment.lines.iter().all(|l| l.cost.is_some()) {
        return shipment
            .lines
            .iter()
            .map(|l| l.cost.map_or(Decimal::ZERO, Money::amount))
            .collect();
    }
    let weights: Vec<Decimal> = shipment
        .lines
        .iter()
        .map(|l| Decimal::from(l.quantity.units()))
        .collect();
    match shipment.cost_of_goods.allocate(&weights) {
        Ok(parts) => parts.into_iter().map(Money::amount).collect(),
        Err(_) => vec![Decimal::ZERO; shipment.lines.len()],
    }
}
