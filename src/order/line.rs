use super::Reservations;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{LocationId, Sku};
use crate::money::{Money, MoneyError};
use crate::quantity::Quantity;

/// The money on a line (or on a part of one): gross − discount = net; tax on net.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
        if part.is_zero() {
            let zero = Money::zero(self.gross.currency());
            return Ok(LineAmounts {
                gross: zero,
                discount: zero,
                net: zero,
                tax: zero,
            });
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LineReservation {
    /// Where.
    pub location: LocationId,
    /// Units still reserved (not yet shipped).
    pub quantity: Quantity,
    /// Of `quantity`, the units released to the third-party warehouse at
    /// `location` ([`Oms::release_to_third_party`](crate::Oms::release_to_third_party)):
    /// theirs to ship, so `ship` leaves them alone, and the order can be neither
    /// cancelled nor amended until the warehouse reports them shipped or
    /// rejected. Never more than `quantity`.
    #[serde(default, skip_serializing_if = "none_released")]
    pub released: Quantity,
}

/// Whether nothing of a reservation is released: the field is left out then, so
/// an order's JSON reads as it did before releases existed.
fn none_released(released: &Quantity) -> bool {
    released.is_zero()
}

impl LineReservation {
    /// `quantity` units held at `location`, none of them released.
    pub fn new(location: LocationId, quantity: Quantity) -> Self {
        Self {
            location,
            quantity,
            released: Quantity::ZERO,
        }
    }

    /// Units held here that o2c may still ship itself: not released to a
    /// third-party warehouse.
    pub fn unreleased(&self) -> Quantity {
        self.quantity.saturating_sub(self.released)
    }
}

/// One line of an order.
///
/// Quantities always add up: `quantity = shipped + open + cancelled`, where `open` is
/// the sum of the line's reservations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    pub reservations: Reservations,
    /// Units shipped.
    pub shipped: Quantity,
    /// Units delivered.
    pub delivered: Quantity,
    /// Units cancelled.
    pub cancelled: Quantity,
    /// Units invoiced.
    pub invoiced: Quantity,
    /// Units waiting for stock (see [`crate::purchasing::BackOrderQueue`]).
    #[serde(default)]
    pub backordered: Quantity,
    /// When back-ordered units are expected, as the customer is told.
    #[serde(default)]
    pub promised_on: Option<chrono::NaiveDate>,
    /// Cost of goods posted for the units shipped (`None`: nothing shipped yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_cost: Option<Money>,
    /// Units asked back on return authorisations not rejected (received or not).
    #[serde(default)]
    pub return_requested: Quantity,
    /// Units received back.
    #[serde(default)]
    pub returned: Quantity,
    /// The line an amendment grew this one from: once part of a line is invoiced or
    /// shipped its price stays as billed, so more units of it become a line of their
    /// own, at the same unit price, that amendments treat as part of the original.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grown_from: Option<u16>,
    /// The discount per unit as the line was priced, unrounded: re-pricing scales
    /// from it, never from an already rounded re-pricing, so a line cut and grown
    /// back is priced as placed, to the cent. `None` on lines stored before it
    /// was kept: their discount per unit is worked out from their amounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_discount: Option<Decimal>,
}

impl OrderLine {
    /// A line for `quantity` units of `sku` at `amounts`, nothing of it reserved,
    /// shipped, invoiced or cancelled yet.
    pub fn new(
        line_no: u16,
        sku: Sku,
        description: std::sync::Arc<str>,
        quantity: Quantity,
        unit_price: Money,
        amounts: LineAmounts,
        tax_rate: Decimal,
    ) -> Self {
        Self {
            line_no,
            sku,
            description,
            quantity,
            unit_price,
            amounts,
            tax_rate,
            reservations: Reservations::new(),
            shipped: Quantity::ZERO,
            delivered: Quantity::ZERO,
            cancelled: Quantity::ZERO,
            invoiced: Quantity::ZERO,
            backordered: Quantity::ZERO,
            promised_on: None,
            shipped_cost: None,
            return_requested: Quantity::ZERO,
            returned: Quantity::ZERO,
            grown_from: None,
            unit_discount: None,
        }
    }

    /// The discount per unit re-pricing scales: as priced, or (for lines stored
    /// before it was kept) the line's discount over its units.
    pub fn discount_per_unit(&self) -> Decimal {
        self.unit_discount.unwrap_or_else(|| {
            if self.quantity.is_zero() {
                Decimal::ZERO
            } else {
                self.amounts.discount.amount() / Decimal::from(self.quantity.units())
            }
        })
    }

    /// Units the line is for from now on: ordered less cancelled.
    pub fn wanted(&self) -> Quantity {
        self.quantity.saturating_sub(self.cancelled)
    }

    /// Units reserved and not yet shipped.
    pub fn open(&self) -> Quantity {
        let units = self
            .reservations
            .iter()
            .map(|r| r.quantity.units())
            .fold(0u32, u32::saturating_add);
        Quantity::new(units)
    }

    /// The money billed for the first `units` units of the line:
    /// `amounts.portion(units, quantity)`, rounded half up per unit count.
    ///
    /// It depends only on the unit count, never on how earlier invoices were split,
    /// and never decreases as `units` grows; so an invoice for units `a..b` bills
    /// `billed(b) − billed(a)`, and however a line is split over invoices they add up
    /// to the line exactly.
    ///
    /// # Errors
    /// On overflow.
    pub fn billed(&self, units: Quantity) -> Result<LineAmounts, MoneyError> {
        self.amounts
            .portion(units.min(self.quantity), self.quantity)
    }

    /// True when `quantity = shipped + open + cancelled`.
    pub fn quantities_add_up(&self) -> bool {
        self.shipped
            .checked_add(self.open())
            .and_then(|q| q.checked_add(self.backordered))
            .and_then(|q| q.checked_add(self.cancelled))
            == Some(self.quantity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    fn line(quantity: u32, gross_cents: i64, discount_cents: i64, tax_cents: i64) -> OrderLine {
        let m = |c| Money::from_minor(c, Currency::EUR);
        let amounts = LineAmounts {
            gross: m(gross_cents),
            discount: m(discount_cents),
            net: m(gross_cents - discount_cents),
            tax: m(tax_cents),
        };
        let sku = crate::ids::Sku::new("X").unwrap_or_else(|_| unreachable!());
        OrderLine::new(
            1,
            sku,
            "x".into(),
            Quantity::new(quantity),
            m(0),
            amounts,
            Decimal::ZERO,
        )
    }

    proptest! {
        /// Any split of a line into invoices bills exactly the line, in parts that
        /// never go negative.
        #[test]
        fn billing_in_parts_adds_up_exactly(
            quantity in 1u32..40,
            gross in 0i64..1_000_000,
            discount_share in 0u8..=100,
            tax in 0i64..200_000,
            cuts in proptest::collection::vec(1u32..40, 0..6),
        ) {
            let discount = gross * i64::from(discount_share) / 100;
            let l = line(quantity, gross, discount, tax);
            let mut points: Vec<u32> = cuts.into_iter().map(|c| c % quantity).collect();
            points.push(0);
            points.push(quantity);
            points.sort_unstable();
            let mut total = LineAmounts {
                gross: Money::zero(Currency::EUR),
                discount: Money::zero(Currency::EUR),
                net: Money::zero(Currency::EUR),
                tax: Money::zero(Currency::EUR),
            };
            for pair in points.windows(2) {
                let (a, b) = (Quantity::new(pair[0]), Quantity::new(pair[1]));
                let part = l.billed(b).unwrap().checked_sub(&l.billed(a).unwrap()).unwrap();
                prop_assert!(!part.gross.is_negative() && !part.tax.is_negative() && !part.discount.is_negative());
                prop_assert_eq!(part.net, part.gross.checked_sub(part.discount).unwrap());
                total = total.checked_add(&part).unwrap();
            }
            prop_assert_eq!(total, l.amounts);
        }
    }
}
