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
    pub(crate) stock_level_skus: u64,
    pub(crate) below_reorder_point: u64,
    pub(crate) errors: u64,
    pub(crate) journal_lines: u64,
    pub(crate) events: u64,
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
}

/// Tally fields on which the two passes differ (empty when they did the same work).
pub(crate) fn disagreements(o2c: &Tally, baseline: &Tally) -> Res<Vec<String>> {
    let (Value::Object(a), Value::Object(b)) =
        (serde_json::to_value(o2c)?, serde_json::to_value(baseline)?)
    else {
        return Err("a tally is not a JSON object".into());
    };
    Ok(a.iter()
        .filter(|(field, value)| b.get(*field) != Some(*value))
        .map(|(field, value)| {
            let other = b.get(field).map_or_else(String::new, ToString::to_string);
            format!("{field}: o2c {value}, baseline {other}")
        })
        .collect())
}
