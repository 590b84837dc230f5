//! Receivables ageing and days sales outstanding.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{DateRange, Page, PageRequest, add, paged};
use crate::error::Error;
use crate::ids::{CustomerId, InvoiceId};
use crate::ledger::Invoice;
use crate::money::{Currency, Money};

/// What one customer owes in one currency, by how long past due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AgeingRow {
    /// The customer (`None` on a total row).
    pub customer: Option<CustomerId>,
    /// Not yet due.
    pub current: Money,
    /// 1 to 30 days past due.
    pub days_1_30: Money,
    /// 31 to 60 days past due.
    pub days_31_60: Money,
    /// 61 to 90 days past due.
    pub days_61_90: Money,
    /// More than 90 days past due.
    pub over_90: Money,
    /// All of it.
    pub total: Money,
    /// Invoices with something owed.
    pub open_invoices: u64,
}

/// Days sales outstanding in one currency: receivables ÷ what was invoiced over the
/// window × the window's days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DaysSalesOutstanding {
    /// The currency.
    pub currency: Currency,
    /// Receivables now.
    pub receivables: Money,
    /// Invoiced (tax and shipping included) over the window.
    pub invoiced: Money,
    /// The window's days.
    pub window_days: u32,
    /// The figure, to one decimal place; `None` when nothing was invoiced.
    pub days: Option<Decimal>,
}

/// The ageing on a day: a page of customers, the totals, and DSO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AgeingReport {
    /// The day the ages are counted to.
    pub as_of: NaiveDate,
    /// One row per customer and currency, by customer.
    pub customers: Page<AgeingRow>,
    /// One row per currency: every customer's.
    pub totals: Vec<AgeingRow>,
    /// Per currency, over the 90 days up to `as_of`.
    pub dso: Vec<DaysSalesOutstanding>,
}

/// The window DSO is counted over.
pub const DSO_WINDOW_DAYS: u32 = 90;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Open {
    customer: CustomerId,
    currency: Currency,
    due: NaiveDate,
    owed: Decimal,
}

/// Each open invoice's amount owed, by customer and by due date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Receivables {
    open: HashMap<InvoiceId, Open>,
    by_customer: BTreeMap<(CustomerId, Currency), BTreeMap<(NaiveDate, InvoiceId), Decimal>>,
    by_due: BTreeMap<(Currency, NaiveDate), (Decimal, u64)>,
    /// Invoice totals by the day they were issued, for DSO.
    invoiced: BTreeMap<(Currency, NaiveDate), Decimal>,
}

fn buckets(
    as_of: NaiveDate,
    currency: Currency,
    owed: impl Iterator<Item = (NaiveDate, Decimal, u64)>,
) -> AgeingRow {
    let [mut current, mut d30, mut d60, mut d90, mut over] = [Decimal::ZERO; 5];
    let mut count = 0u64;
    for (due, amount, n) in owed {
        let bucket = match (as_of - due).num_days() {
            ..=0 => &mut current,
            1..=30 => &mut d30,
            31..=60 => &mut d60,
            61..=90 => &mut d90,
            _ => &mut over,
        };
        add(bucket, amount);
        count += n;
    }
    let total = [current, d30, d60, d90, over]
        .iter()
        .fold(Decimal::ZERO, |a, b| a.saturating_add(*b));
    let m = |d: Decimal| Money::new(d, currency);
    AgeingRow {
        customer: None,
        current: m(current),
        days_1_30: m(d30),
        days_31_60: m(d60),
        days_61_90: m(d90),
        over_90: m(over),
        total: m(total),
        open_invoices: count,
    }
}

impl Receivables {
    pub fn issued(&mut self, invoice: &Invoice) {
        if let Ok(total) = invoice.total() {
            let day = invoice.issued_at.date_naive();
            add(
                self.invoiced.entry((total.currency(), day)).or_default(),
                total.amount(),
            );
        }
    }

    /// A voided invoice was never a sale: DSO's window loses it on the day of
    /// the void.
    pub fn voided(&mut self, invoice: &Invoice, at: DateTime<Utc>) {
        if let Ok(total) = invoice.total() {
            let day = self
                .invoiced
                .entry((total.currency(), at.date_naive()))
                .or_default();
            *day = day.saturating_sub(total.amount());
        }
    }

    /// Takes `invoice` as it stands now, replacing what it owed before.
    pub fn project(&mut self, invoice: &Invoice) {
        if let Some(old) = self.open.remove(&invoice.id) {
            let key = (old.customer, old.currency);
            if let Some(dues) = self.by_customer.get_mut(&key) {
                dues.remove(&(old.due, invoice.id));
                if dues.is_empty() {
                    self.by_customer.remove(&key);
                }
            }
            let due_key = (old.currency, old.due);
            if let Some((sum, n)) = self.by_due.get_mut(&due_key) {
                *sum = sum.saturating_sub(old.owed);
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.by_due.remove(&due_key);
                }
            }
        }
        let Ok(owed) = invoice.outstanding() else {
            return;
        };
        if !owed.is_positive() {
            return;
        }
        let open = Open {
            customer: invoice.customer,
            currency: owed.currency(),
            due: invoice.due_at.date_naive(),
            owed: owed.amount(),
        };
        self.by_customer
            .entry((open.customer, open.currency))
            .or_default()
            .insert((open.due, invoice.id), open.owed);
        let (sum, n) = self.by_due.entry((open.currency, open.due)).or_default();
        add(sum, open.owed);
        *n += 1;
        self.open.insert(invoice.id, open);
    }

    pub fn ageing(&self, as_of: NaiveDate, page: &PageRequest) -> Result<AgeingReport, Error> {
        // Straight to the cursor: the rows before it are never built.
        let after: Option<(CustomerId, Currency)> = page.start()?;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let customers = paged(
            page,
            self.by_customer
                .range((from, Bound::Unbounded))
                .map(|((customer, currency), dues)| {
                    let mut row = buckets(
                        as_of,
                        *currency,
                        dues.iter().map(|((due, _), owed)| (*due, *owed, 1)),
                    );
                    row.customer = Some(*customer);
                    ((*customer, *currency), row)
                }),
        )?;
        let mut currencies: Vec<Currency> = self.by_due.keys().map(|(c, _)| *c).collect();
        currencies.dedup();
        let totals: Vec<AgeingRow> = currencies
            .iter()
            .map(|currency| {
                buckets(
                    as_of,
                    *currency,
                    self.by_due
                        .range((*currency, NaiveDate::MIN)..=(*currency, NaiveDate::MAX))
                        .map(|((_, due), (owed, n))| (*due, *owed, *n)),
                )
            })
            .collect();
        let window = DateRange::days_up_to(as_of, DSO_WINDOW_DAYS);
        let dso = totals
            .iter()
            .map(|total| {
                let currency = total.total.currency();
                let invoiced = self
                    .invoiced
                    .range((currency, window.from)..=(currency, window.to))
                    .fold(Decimal::ZERO, |a, (_, d)| a.saturating_add(*d));
                let days = total
                    .total
                    .amount()
                    .checked_mul(Decimal::from(DSO_WINDOW_DAYS))
                    .and_then(|owed| owed.checked_div(invoiced))
                    .map(|d| d.round_dp(1));
                DaysSalesOutstanding {
                    currency,
                    receivables: total.total,
                    invoiced: Money::new(invoiced, currency),
                    window_days: DSO_WINDOW_DAYS,
                    days,
                }
            })
            .collect();
        Ok(AgeingReport {
            as_of,
            customers,
            totals,
            dso,
        })
    }
}
