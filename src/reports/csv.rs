//! Every report's rows as CSV (RFC 4180): a header, then one line per row.
//! Amounts are written exactly, without thousands separators; each row's currency
//! has a column of its own.

use std::io::{self, Write};

use super::{
    AgeingRow, BackOrderRow, CycleRow, FillRow, InventoryRow, OtifRow, PaymentRow, PipelineRow,
    ReturnRow, SalesRow,
};
use crate::money::Money;

/// A report row that can be written as a CSV line.
pub trait CsvRow {
    /// The column names.
    fn header() -> &'static [&'static str];
    /// The row's fields, in the header's order.
    fn fields(&self) -> Vec<String>;
}

/// Writes `rows` under their header to `out`.
///
/// ```
/// use o2c::reports::{CsvRow, PaymentRow, write_csv};
/// let mut out = Vec::new();
/// write_csv(&mut out, &Vec::<PaymentRow>::new()).unwrap();
/// assert!(String::from_utf8(out).unwrap().starts_with("day,currency,"));
/// ```
///
/// # Errors
/// What writing to `out` fails with.
pub fn write_csv<T: CsvRow>(out: &mut impl Write, rows: &[T]) -> io::Result<()> {
    line(out, T::header().iter().map(|h| (*h).to_owned()))?;
    for row in rows {
        line(out, row.fields())?;
    }
    Ok(())
}

fn line(out: &mut impl Write, fields: impl IntoIterator<Item = String>) -> io::Result<()> {
    let mut first = true;
    for field in fields {
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        if field.contains([',', '"', '\n', '\r']) {
            write!(out, "\"{}\"", field.replace('"', "\"\""))?;
        } else {
            out.write_all(field.as_bytes())?;
        }
    }
    out.write_all(b"\r\n")
}

/// The amount with at least its currency's minor units (`0.00`, `12.50`), and
/// more where an average or a rate has them.
fn money(m: Money) -> String {
    let places = m.currency().minor_units() as usize;
    let amount = m.amount();
    if amount.scale() as usize >= places {
        amount.to_string()
    } else {
        format!("{amount:.places$}")
    }
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn label<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

impl CsvRow for AgeingRow {
    fn header() -> &'static [&'static str] {
        &[
            "customer",
            "currency",
            "current",
            "days_1_30",
            "days_31_60",
            "days_61_90",
            "over_90",
            "total",
            "open_invoices",
        ]
    }
    fn fields(&self) -> Vec<String> {
        vec![
            opt(self.customer),
            self.total.currency().to_string(),
            money(self.current),
            money(self.days_1_30),
            money(self.days_31_60),
            money(self.days_61_90),
            money(self.over_90),
            money(self.total),
            self.open_invoices.to_string(),
        ]
    }
}

impl CsvRow for SalesRow {
    fn header() -> &'static [&'static str] {
        &[
            "period",
            "member",
            "currency",
            "units_sold",
            "units_returned",
            "invoiced",
            "credited",
            "net_revenue",
            "cost_of_goods",
            "gross_margin",
        ]
    }
    fn fields(&self) -> Vec<String> {
        let member = match &self.member {
            super::Member::Channel(c) => label(c),
            super::Member::Product(sku) => sku.to_string(),
            super::Member::Customer(c) => c.to_string(),
        };
        vec![
            self.period.to_string(),
            member,
            self.invoiced.currency().to_string(),
            self.units_sold.to_string(),
            self.units_returned.to_string(),
            money(self.invoiced),
            money(self.credited),
            money(self.net_revenue),
            money(self.cost_of_goods),
            money(self.gross_margin),
        ]
    }
}

impl CsvRow for CycleRow {
    fn header() -> &'static [&'static str] {
        &["channel", "stage", "orders", "p50_seconds", "p90_seconds"]
    }
    fn fields(&self) -> Vec<String> {
        vec![
            label(&self.channel),
            label(&self.stage),
            self.orders.to_string(),
            self.p50_seconds.to_string(),
            self.p90_seconds.to_string(),
        ]
    }
}

impl CsvRow for FillRow {
    fn header() -> &'static [&'static str] {
        &[
            "day",
            "channel",
            "orders",
            "orders_filled",
            "units_ordered",
            "units_filled",
            "fill_rate_percent",
        ]
    }
    fn fields(&self) -> Vec<String> {
        vec![
            self.day.to_string(),
            label(&self.channel),
            self.orders.to_string(),
            self.orders_filled.to_string(),
            self.units_ordered.to_string(),
            self.units_filled.to_string(),
            opt(self.fill_rate_percent),
        ]
    }
}

impl CsvRow for OtifRow {
    fn header() -> &'static [&'static str] {
        &[
            "day",
            "channel",
            "orders",
            "on_time",
            "in_full",
            "on_time_in_full",
            "otif_percent",
        ]
    }
    fn fields(&self) -> Vec<String> {
        vec![
            self.day.to_string(),
            label(&self.channel),
            self.orders.to_string(),
            self.on_time.to_string(),
            self.in_full.to_string(),
            self.on_time_in_full.to_string(),
            opt(self.otif_percent),
        ]
    }
}

impl CsvRow for BackOrderRow {
    fn header() -> &'static [&'static str] {
        &[
            "sku",
            "orders",
            "units",
            "days_0_7",
            "days_8_30",
            "days_31_60",
            "over_60",
            "oldest",
        ]
    }
    fn fields(&self) -> Vec<String> {
        vec![
            self.sku.to_string(),
            self.orders.to_string(),
            self.units.to_string(),
            self.days_0_7.to_string(),
            self.days_8_30.to_string(),
            self.days_31_60.to_string(),
            self.over_60.to_string(),
            self.oldest.to_rfc3339(),
        ]
    }
}

impl CsvRow for InventoryRow {
    fn header() -> &'static [&'static str] {
        &[
            "sku",
            "location",
            "on_hand",
            "reserved",
            "available",
            "currency",
            "value",
            "shipped",
            "cost_of_goods",
            "turnover",
            "days_of_cover",
            "reorder_point",
            "at_or_below_reorder_point",
            "on_order",
            "back_ordered",
            "shortfall",
        ]
    }
    fn fields(&self) -> Vec<String> {
        let currency = self.value.or(self.cost_of_goods).map(|m| m.currency());
        vec![
            self.sku.to_string(),
            self.location.to_string(),
            self.on_hand.to_string(),
            self.reserved.to_string(),
            self.available.to_string(),
            opt(currency),
            opt(self.value.map(money)),
            self.shipped.to_string(),
            opt(self.cost_of_goods.map(money)),
            opt(self.turnover),
            opt(self.days_of_cover),
            opt(self.reorder_point),
            self.at_or_below_reorder_point.to_string(),
            self.on_order.to_string(),
            self.back_ordered.to_string(),
            self.shortfall.to_string(),
        ]
    }
}

impl CsvRow for PaymentRow {
    fn header() -> &'static [&'static str] {
        &[
            "day",
            "currency",
            "authorisations",
            "authorised",
            "declines",
            "captures",
            "captured",
            "failed_captures",
            "other_payments",
            "other_received",
            "credit_applied",
            "refunded",
            "refunds_failed",
            "settled",
            "fees",
        ]
    }
    fn fields(&self) -> Vec<String> {
        vec![
            self.day.to_string(),
            self.currency.to_string(),
            self.authorisations.to_string(),
            money(self.authorised),
            self.declines.to_string(),
            self.captures.to_string(),
            money(self.captured),
            self.failed_captures.to_string(),
            self.other_payments.to_string(),
            money(self.other_received),
            money(self.credit_applied),
            money(self.refunded),
            money(self.refunds_failed),
            money(self.settled),
            money(self.fees),
        ]
    }
}

impl CsvRow for ReturnRow {
    fn header() -> &'static [&'static str] {
        &[
            "sku",
            "units_sold",
            "units_returned",
            "return_rate_percent",
            "reasons",
        ]
    }
    fn fields(&self) -> Vec<String> {
        let reasons: Vec<String> = self
            .reasons
            .iter()
            .map(|(reason, units)| format!("{}:{units}", label(reason)))
            .collect();
        vec![
            self.sku.to_string(),
            self.units_sold.to_string(),
            self.units_returned.to_string(),
            opt(self.return_rate_percent),
            reasons.join(";"),
        ]
    }
}

impl CsvRow for PipelineRow {
    fn header() -> &'static [&'static str] {
        &["stage", "channel", "currency", "orders", "value"]
    }
    fn fields(&self) -> Vec<String> {
        vec![
            label(&self.stage),
            label(&self.channel),
            self.value.currency().to_string(),
            self.orders.to_string(),
            money(self.value),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn a_field_with_a_comma_or_a_quote_is_quoted() {
        let mut out = Vec::new();
        line(
            &mut out,
            ["a,b".to_owned(), "say \"hi\"".to_owned(), "c".to_owned()],
        )
        .unwrap();
        assert_eq!(out, b"\"a,b\",\"say \"\"hi\"\"\",c\r\n");
    }

    #[test]
    fn amounts_are_written_exactly() {
        let m = Money::new(
            Decimal::new(123_456_789_012_345, 2),
            crate::money::Currency::EUR,
        );
        assert_eq!(money(m), "1234567890123.45");
    }
}
