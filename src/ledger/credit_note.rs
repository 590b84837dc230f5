//! Credit notes: money an invoice no longer asks for — returned or cancelled goods,
//! a price adjustment, shipping refunded — with their own gapless numbers.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::InvoiceLine;
use crate::ids::{CreditNoteId, CustomerId, InvoiceId, OrderId};
use crate::money::{Money, MoneyError};

crate::ids::document_number!(
    /// The gapless, human-facing credit-note number (`CN-000042`).
    CreditNoteNumber,
    "CN"
);

/// A credit against one invoice: the lines (or parts of lines) and shipping it
/// takes back, with their tax, to the cent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreditNote {
    /// Its identity.
    pub id: CreditNoteId,
    /// Its number.
    pub number: CreditNoteNumber,
    /// The invoice credited.
    pub invoice: InvoiceId,
    /// The invoice's order.
    pub order: OrderId,
    /// The customer.
    pub customer: CustomerId,
    /// When issued.
    pub issued_at: DateTime<Utc>,
    /// Units credited per invoice line, with their exact share of its money.
    pub lines: Vec<InvoiceLine>,
    /// Shipping credited.
    pub shipping: Money,
    /// Why, in words.
    pub reason: String,
    /// The part that reduced what the invoice still owed.
    pub applied: Money,
    /// The part the invoice had already been paid: it became customer credit.
    pub to_customer_credit: Money,
}

impl CreditNote {
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

    /// Σ line tax.
    ///
    /// # Errors
    /// On overflow.
    pub fn tax_total(&self) -> Result<Money, MoneyError> {
        Money::sum(self.shipping.currency(), self.lines.iter().map(|l| l.tax))
    }

    /// Net + tax + shipping: what the customer is credited.
    ///
    /// # Errors
    /// On overflow.
    pub fn total(&self) -> Result<Money, MoneyError> {
        Money::sum(self.shipping.currency(), self.lines.iter().map(|l| l.net))?
            .checked_add(self.tax_total()?)?
            .checked_add(self.shipping)
    }
}
