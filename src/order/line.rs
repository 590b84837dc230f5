use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{LocationId, Sku};
use crate::money::{Money, MoneyError};
use crate::quantity::Quantity;

/// The money on a line (or on a part of one): gross − discount = net; tax on net.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmounts {
    /// Quantity × unit price.
    pub gross: Money,
    /// Line and order discounts given.
    pub discount: Money,
    /// `gross − discount`.
    pub net: Money,
    /// Tax on `net`.
    pub tax: Money,
}

impl LineAmounts {
    /// All zero in the currency of `like`.
    pub fn zero_like(like: Money) -> Self {
        let zero = Money::zero(like.currency());
        Self {
            gross: zero,
            discount: zero,
            net: zero,
            tax: zero,
        }
    }

    /// `net + tax`.
    ///
    /// # Errors
    /// On overflow.
    pub fn total(&self) -> Result<Money, MoneyError> {
        self.net.checked_add(self.tax)
    }

    /// The share of `self` for `part` of `whole` units, exact: the shares for a sequence
    /// of parts adding up to `whole`, each taken from what remains, sum to `self`.
    ///
    /// # Errors
    /// On overflow or if `whole` is zero.
    pub fn portion(&self, part: Quantity, whole: Quantity) -> Result<LineAmounts, MoneyError> {
        if part == whole {
            return Ok(*self);
        }
        let weights = [
            Decimal::from(part.units()),
            Decimal::from(whole.saturating_sub(part).units()),
        ];
        let first = |m: Money| -> Result<Money, MoneyError> {
            m.allocate(&weights)?
                .into_iter()
                .next()
                .ok_or(MoneyError::EmptyAllocation)
        };
        let gross = first(self.gross)?;
        let discount = first(self.discount)?;
        Ok(LineAmounts {
            gross,
            discount,
            net: gross.checked_sub(discount)?,
            tax: first(self.tax)?,
        })
    }

    /// `self − rhs`, field by field.
    ///
    /// # Errors
    /// On overflow or currency mismatch.
    pub fn checked_sub(&self, rhs: &LineAmounts) -> Result<LineAmounts, MoneyError> {
        Ok(LineAmounts {
            gross: self.gross.checked_sub(rhs.gross)?,
            discount: self.discount.checked_sub(rhs.discount)?,
            net: self.net.checked_sub(rhs.net)?,
            tax: self.tax.checked_sub(rhs.tax)?,
        })
    }

    /// `self + rhs`, field by field.
    ///
    /// # Errors
    /// On overflow or currency mismatch.
    pub fn checked_add(&self, rhs: &LineAmounts) -> Result<LineAmounts, MoneyError> {
        Ok(LineAmounts {
            gross: self.gross.checked_add(rhs.gross)?,
            discount: self.discount.checked_add(rhs.discount)?,
            net: self.net.checked_add(rhs.net)?,
            tax: self.tax.checked_add(rhs.tax)?,
        })
    }
}

/// Units of a line held at one location for this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineReservation {
    /// Where.
    pub location: LocationId,
    /// Units still reserved (not yet shipped).
    pub quantity: Quantity,
}

/// One line of an order.
///
/// Quantities always add up: `quantity = shipped + open + cancelled`, where `open` is
/// the sum of the line's reservations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// 1-based line number.
    pub line_no: u16,
    /// The SKU.
    pub sku: Sku,
    /// Product name at the time of ordering.
    pub description: std::sync::Arc<str>,
    /// Units ordered.
    pub quantity: Quantity,
    /// Price per unit before discounts.
    pub unit_price: Money,
    /// The line's money.
    pub amounts: LineAmounts,
    /// The tax rate applied.
    pub tax_rate: Decimal,
    /// Open reservations by location.
    pub reservations: Vec<LineReservation>,
    /// Units shipped.
    pub shipped: Quantity,
    /// Units delivered.
    pub delivered: Quantity,
    /// Units cancelled.
    pub cancelled: Quantity,
    /// Units invoiced.
    pub invoiced: Quantity,
    /// Money invoiced so far (a part of `amounts`).
    pub invoiced_amounts: LineAmounts,
}

impl OrderLine {
    /// Units reserved and not yet shipped.
    pub fn open(&self) -> Quantity {
        let units = self
            .reservations
            .iter()
            .map(|r| r.quantity.units())
            .fold(0u32, u32::saturating_add);
        Quantity::new(units)
    }

    /// True when `quantity = shipped + open + cancelled`.
    pub fn quantities_add_up(&self) -> bool {
        self.shipped
            .checked_add(self.open())
            .and_then(|q| q.checked_add(self.cancelled))
            == Some(self.quantity)
    }
}
