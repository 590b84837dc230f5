use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, InvoiceId, OrderId, Sku};
use crate::money::{Money, MoneyError};
use crate::quantity::Quantity;

crate::ids::document_number!(
    /// The gapless, human-facing invoice number (`INV-000042`).
    InvoiceNumber,
    "INV"
);

/// When invoices are issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoicePolicy {
    /// One invoice for the whole order when it is placed.
    #[default]
    #[serde(alias = "OnOrder")]
    OnOrder,
    /// One invoice per `ship` call, for what its shipments carry. Prepaid customers are
    /// still invoiced on order: they need something to pay before anything ships.
    #[serde(alias = "OnShipment")]
    OnShipment,
}

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Issued, something outstanding.
    #[serde(alias = "Open")]
    Open,
    /// Fully paid.
    #[serde(alias = "Paid")]
    Paid,
    /// Cancelled with its order; reversed in the ledger.
    #[serde(alias = "Void")]
    Void,
}

/// One invoiced order line (or part of one, for a partial shipment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InvoiceLine {
    /// The order line it bills.
    pub line_no: u16,
    /// The SKU.
    pub sku: Sku,
    /// Product name.
    pub description: std::sync::Arc<str>,
    /// Units billed.
    pub quantity: Quantity,
    /// Price before discounts.
    pub gross: Money,
    /// Discount given.
    pub discount: Money,
    /// `gross − discount`.
    pub net: Money,
    /// Rate applied.
    pub tax_rate: Decimal,
    /// Tax on `net`.
    pub tax: Money,
    /// Units of this line credited back so far (see [`crate::ledger::CreditNote`]).
    #[serde(default)]
    pub credited: Quantity,
}

/// A bill to a customer for goods of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Invoice {
    /// Identity.
    pub id: InvoiceId,
    /// Gapless number.
    pub number: InvoiceNumber,
    /// The order billed.
    pub order: OrderId,
    /// The buyer.
    pub customer: CustomerId,
    /// When issued.
    pub issued_at: DateTime<Utc>,
    /// When payment falls due.
    pub due_at: DateTime<Utc>,
    /// Lines billed.
    pub lines: crate::lines::Lines<InvoiceLine>,
    /// Shipping charged on this invoice.
    pub shipping: Money,
    /// Amount paid so far.
    pub paid: Money,
    /// Status.
    pub status: InvoiceStatus,
    /// Σ of its credit notes (`None`: none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credited: Option<Money>,
    /// Shipping credited back so far (`None`: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_credited: Option<Money>,
    /// Payment reminders sent ([`Oms::run_due`](crate::Oms::run_due)): how many
    /// of the policy's reminder levels are done.
    #[serde(default, skip_serializing_if = "no_reminders")]
    pub reminders: u8,
    /// When `run_due` looks at the invoice next for a reminder: `None` at
    /// `due_at` before the first reminder, and never again once the last is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_reminder_at: Option<DateTime<Utc>>,
}

/// Whether no reminder was sent: the field is left out then, so an invoice's
/// JSON reads as it did before reminders.
fn no_reminders(sent: &u8) -> bool {
    *sent == 0
}

/// An invoice's sums, taken in one pass over its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceTotals {
    /// Σ line gross.
    pub gross: Money,
    /// Σ line discounts.
    pub discount: Money,
    /// Σ line tax.
    pub tax: Money,
    /// Net + tax + shipping.
    pub total: Money,
}

impl Invoice {
    /// When `run_due` looks at the open invoice next for a payment reminder
    /// (see [`Invoice::next_reminder_at`]); `None` for one paid, void, or
    /// reminded of every level.
    pub fn reminder_due_at(&self) -> Option<DateTime<Utc>> {
        if self.status != InvoiceStatus::Open {
            return None;
        }
        match (self.reminders, self.next_reminder_at) {
            (_, Some(at)) => Some(at),
            (0, None) => Some(self.due_at),
            (_, None) => None,
        }
    }

    /// Every sum of the invoice at once (what posting it needs), equal to
    /// [`Invoice::gross_total`], [`Invoice::discount_total`], [`Invoice::tax_total`]
    /// and [`Invoice::total`].
    ///
    /// # Errors
    /// On overflow.
    pub fn totals(&self) -> Result<InvoiceTotals, MoneyError> {
        let zero = Money::zero(self.shipping.currency());
        let (mut gross, mut discount, mut net, mut tax) = (zero, zero, zero, zero);
        for line in &self.lines {
            gross = gross.checked_add(line.gross)?;
            discount = discount.checked_add(line.discount)?;
            net = net.checked_add(line.net)?;
            tax = tax.checked_add(line.tax)?;
        }
        Ok(InvoiceTotals {
            gross,
            discount,
            tax,
            total: net.checked_add(tax)?.checked_add(self.shipping)?,
        })
    }

    /// Σ line gross.
    ///
    /// # Errors
    /// On overflow.
    pub fn gross_total(&self) -> Result<Money, MoneyError> {
        Money::sum(self.shipping.currency(), self.lines.iter().map(|l| l.gross))
    }
    /// Σ line discounts.
    ///
    /// # Errors
    /// On overflow.
    pub fn discount_total(&self) -> Result<Money, MoneyError> {
        Money::sum(
            self.shipping.currency(),
            self.lines.iter().map(|l| l.discount),
        )
    }
    /// Σ line net.
    ///
    /// # Errors
    /// On overflow.
    pub fn net_total(&self) -> Result<Money, MoneyError> {
        Money::sum(self.shipping.currency(), self.lines.iter().map(|l| l.net))
    }
    /// Σ line tax.
    ///
    /// # Errors
    /// On overflow.
    pub fn tax_total(&self) -> Result<Money, MoneyError> {
        Money::sum(self.shipping.currency(), self.lines.iter().map(|l| l.tax))
    }
    /// Net + tax + shipping: what the customer owes for this invoice.
    ///
    /// # Errors
    /// On overflow.
    pub fn total(&self) -> Result<Money, MoneyError> {
        self.net_total()?
            .checked_add(self.tax_total()?)?
            .checked_add(self.shipping)
    }
    /// Total minus credited minus paid (zero for a void invoice).
    ///
    /// # Errors
    /// On overflow.
    pub fn outstanding(&self) -> Result<Money, MoneyError> {
        if self.status == InvoiceStatus::Void {
            return Ok(Money::zero(self.shipping.currency()));
        }
        self.total()?
            .checked_sub(self.credit_total())?
            .checked_sub(self.paid)
    }

    /// Σ of its credit notes.
    pub fn credit_total(&self) -> Money {
        self.credited
            .unwrap_or_else(|| Money::zero(self.shipping.currency()))
    }

    /// Shipping credited back so far.
    pub fn shipping_credit(&self) -> Money {
        self.shipping_credited
            .unwrap_or_else(|| Money::zero(self.shipping.currency()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_totals_in_one_pass_equal_each_sum() {
        let (_, _, invoice) = crate::ledger::fixtures::given_invoiced();
        let totals = invoice.totals().unwrap();
        assert_eq!(totals.gross, invoice.gross_total().unwrap());
        assert_eq!(totals.discount, invoice.discount_total().unwrap());
        assert_eq!(totals.tax, invoice.tax_total().unwrap());
        assert_eq!(totals.total, invoice.total().unwrap());
        assert!(totals.total.is_positive());
    }
}
