//! What a pass counted: the outcome tally both passes must agree on, and its errors.

use serde::Serialize;
use serde_json::Value;

use crate::Res;
use crate::mix::Kind;

/// Outcomes of a pass. Two passes over the same operations must produce equal tallies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Tally {
    pub(crate) orders_placed: u64,
    pub(crate) order_lines: u64,
    pub(crate) invoiced_cents: i64,
    pub(crate) unknown_sku_refused: u64,
    pub(crate) unknown_sku_left_store_unchanged: u64,
    pub(crate) unknown_sku_deviations: u64,
    pub(crate) out_of_stock: u64,
    pub(crate) payments_full: u64,
    pub(crate) payments_partial: u64,
    pub(crate) payments_without_open_invoice: u64,
    pub(crate) paid_cents: i64,
    pub(crate) status_reads: u64,
    pub(crate) status_found: u64,
    pub(crate) status_lines: u64,
    pub(crate) ship_batches: u64,
    pub(crate) orders_shipped: u64,
    pub(crate) shipments: u64,
    /// Orders listed as ready that another caller shipped first.
    pub(crate) ship_races: u64,
    pub(crate) stock_level_skus: u64,
    pub(crate) below_reorder_point: u64,
    pub(crate) errors: u64,
    pub(crate) journal_lines: u64,
    pub(crate) events: u64,
}

/// Tally fields that depend on how concurrent callers interleave: who shipped
/// which order, which order was a customer's latest when read, the stock a read
/// saw, and so the events and journal lines the shipments wrote.
const INTERLEAVED: &[&str] = &[
    "status_found",
    "status_lines",
    "orders_shipped",
    "shipments",
    "ship_races",
    "below_reorder_point",
    "journal_lines",
    "events",
];

impl Tally {
    /// Adds another caller's counts to these.
    pub(crate) fn add(&mut self, other: &Tally) {
        self.orders_placed += other.orders_placed;
        self.order_lines += other.order_lines;
        self.invoiced_cents += other.invoiced_cents;
        self.unknown_sku_refused += other.unknown_sku_refused;
        self.unknown_sku_left_store_unchanged += other.unknown_sku_left_store_unchanged;
        self.unknown_sku_deviations += other.unknown_sku_deviations;
        self.out_of_stock += other.out_of_stock;
        self.payments_full += other.payments_full;
        self.payments_partial += other.payments_partial;
        self.payments_without_open_invoice += other.payments_without_open_invoice;
        self.paid_cents += other.paid_cents;
        self.status_reads += other.status_reads;
        self.status_found += other.status_found;
        self.status_lines += other.status_lines;
        self.ship_batches += other.ship_batches;
        self.orders_shipped += other.orders_shipped;
        self.shipments += other.shipments;
        self.ship_races += other.ship_races;
        self.stock_level_skus += other.stock_level_skus;
        self.below_reorder_point += other.below_reorder_point;
        self.errors += other.errors;
        self.journal_lines += other.journal_lines;
        self.events += other.events;
    }
}

/// Errors of a pass: how many, and the first five.
#[derive(Debug, Default)]
pub(crate) struct ErrorLog {
    pub(crate) count: u64,
    pub(crate) samples: Vec<String>,
}

impl ErrorLog {
    pub(crate) fn push(&mut self, kind: Kind, message: &str) {
        self.count += 1;
        if self.samples.len() < 5 {
            self.samples.push(format!("{}: {message}", kind.name()));
        }
    }

    /// Adds another caller's errors to these.
    pub(crate) fn merge(&mut self, other: ErrorLog) {
        self.count += other.count;
        let room = 5usize.saturating_sub(self.samples.len());
        self.samples.extend(other.samples.into_iter().take(room));
    }
}

/// Tally fields on which the two passes differ (empty when they did the same work).
/// With several callers (`concurrent`), only the fields every caller decides
/// alone are compared: each caller's operations, the orders it places and the
/// invoices it pays come from its own stream, whatever the interleaving; the
/// [`INTERLEAVED`] fields are not.
pub(crate) fn disagreements(o2c: &Tally, baseline: &Tally, concurrent: bool) -> Res<Vec<String>> {
    let (Value::Object(a), Value::Object(b)) =
        (serde_json::to_value(o2c)?, serde_json::to_value(baseline)?)
    else {
        return Err("a tally is not a JSON object".into());
    };
    Ok(a.iter()
        .filter(|(field, _)| !(concurrent && INTERLEAVED.contains(&field.as_str())))
        .filter(|(field, value)| b.get(*field) != Some(*value))
        .map(|(field, value)| {
            let other = b.get(field).map_or_else(String::new, ToString::to_string);
            format!("{field}: o2c {value}, baseline {other}")
        })
        .collect())
}
