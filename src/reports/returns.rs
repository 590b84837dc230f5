//! Returns per product: how many of the units sold came back, and why customers
//! asked to return them.

use std::collections::BTreeMap;
use std::ops::Bound;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{DateRange, Page, PageRequest, paged};
use crate::error::Error;
use crate::ids::Sku;
use crate::ledger::Invoice;
use crate::returns::{ReturnAuthorization, ReturnReason};

/// One SKU over a range of days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReturnRow {
    /// The SKU.
    pub sku: Sku,
    /// Units invoiced in the range.
    pub units_sold: i64,
    /// Units that came back in the range.
    pub units_returned: i64,
    /// `units_returned ÷ units_sold`, as a percentage to one decimal place.
    pub return_rate_percent: Option<Decimal>,
    /// Units customers asked to return in the range, by the reason they gave.
    pub reasons: Vec<(ReturnReason, i64)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Day {
    sold: i64,
    returned: i64,
    reasons: Vec<(ReturnReason, i64)>,
}

fn count_reason(reasons: &mut Vec<(ReturnReason, i64)>, reason: ReturnReason, units: i64) {
    match reasons.iter_mut().find(|(r, _)| *r == reason) {
        Some((_, n)) => *n = n.saturating_add(units),
        None => reasons.push((reason, units)),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Returns {
    skus: BTreeMap<Sku, BTreeMap<NaiveDate, Day>>,
}

impl Returns {
    fn day(&mut self, sku: &Sku, at: DateTime<Utc>) -> &mut Day {
        self.skus
            .entry(sku.clone())
            .or_default()
            .entry(at.date_naive())
            .or_default()
    }

    pub fn invoiced(&mut self, invoice: &Invoice) {
        for line in &invoice.lines {
            let day = self.day(&line.sku, invoice.issued_at);
            day.sold = day.sold.saturating_add(line.quantity.as_i64());
        }
    }

    /// A voided invoice's units were never sold.
    pub fn voided(&mut self, invoice: &Invoice, at: DateTime<Utc>) {
        for line in &invoice.lines {
            let day = self.day(&line.sku, at);
            day.sold = day.sold.saturating_sub(line.quantity.as_i64());
        }
    }

    pub fn requested(&mut self, rma: &ReturnAuthorization, at: DateTime<Utc>) {
        for line in &rma.lines {
            let day = self.day(&line.sku, at);
            count_reason(&mut day.reasons, line.reason, line.quantity.as_i64());
        }
    }

    pub fn received(&mut self, sku: &Sku, units: i64, at: DateTime<Utc>) {
        let day = self.day(sku, at);
        day.returned = day.returned.saturating_add(units);
    }

    pub fn query(&self, range: DateRange, page: &PageRequest) -> Result<Page<ReturnRow>, Error> {
        range.check()?;
        let after: Option<Sku> = page.start()?;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        paged(
            page,
            self.skus
                .range((from, Bound::Unbounded))
                .filter_map(|(sku, days)| {
                    let mut row = ReturnRow {
                        sku: sku.clone(),
                        units_sold: 0,
                        units_returned: 0,
                        return_rate_percent: None,
                        reasons: Vec::new(),
                    };
                    let mut any = false;
                    for day in days.range(range.from..=range.to).map(|(_, d)| d) {
                        any = true;
                        row.units_sold = row.units_sold.saturating_add(day.sold);
                        row.units_returned = row.units_returned.saturating_add(day.returned);
                        for (reason, units) in &day.reasons {
                            count_reason(&mut row.reasons, *reason, *units);
                        }
                    }
                    row.return_rate_percent = super::percent(row.units_returned, row.units_sold);
                    any.then(|| (sku.clone(), row))
                }),
        )
    }
}
