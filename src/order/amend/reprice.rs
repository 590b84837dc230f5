//! Re-pricing and re-taxing one line: what an amendment does to a line it grows, cuts
//! or sends abroad.

use rust_decimal::Decimal;

use crate::money::{Money, MoneyError};
use crate::order::{LineAmounts, OrderLine, PRICE_ROUNDING, TAX_ROUNDING};
use crate::quantity::Quantity;

impl OrderLine {
    /// The line's money for `units` units at the same unit price and the discount
    /// per unit it was priced at ([`OrderLine::discount_per_unit`]), tax at the
    /// line's rate: what the line would have cost had it been placed for `units`.
    /// Exact for the line's own quantity.
    ///
    /// # Errors
    /// On overflow.
    pub fn repriced(&self, units: Quantity) -> Result<LineAmounts, MoneyError> {
        if units == self.quantity {
            return Ok(self.amounts);
        }
        let gross = self
            .unit_price
            .checked_mul_qty(u64::from(units.units()))?
            .round(PRICE_ROUNDING);
        let discount = Money::new(self.discount_per_unit(), gross.currency())
            .checked_mul(Decimal::from(units.units()))?
            .round(PRICE_ROUNDING)
            .min(gross)?;
        let net = gross.checked_sub(discount)?;
        Ok(LineAmounts {
            gross,
            discount,
            net,
            tax: net.checked_mul(self.tax_rate)?.round(TAX_ROUNDING),
        })
    }

    /// Re-prices the line in place for `units` (see [`OrderLine::repriced`]),
    /// keeping the discount per unit it was priced at for every later re-pricing.
    ///
    /// # Errors
    /// On overflow; the line is unchanged.
    pub fn reprice(&mut self, units: Quantity) -> Result<(), MoneyError> {
        let amounts = self.repriced(units)?;
        self.unit_discount = Some(self.discount_per_unit());
        self.amounts = amounts;
        self.quantity = units;
        Ok(())
    }

    /// The line taxed at `rate` instead: the same units, unit price and discount,
    /// the tax worked out again from the net as pricing does (an order shipping to
    /// another country is taxed at that country's rate).
    ///
    /// # Errors
    /// On overflow.
    pub fn retaxed(&self, rate: Decimal) -> Result<OrderLine, MoneyError> {
        let mut line = self.clone();
        line.tax_rate = rate;
        line.amounts.tax = line.amounts.net.checked_mul(rate)?.round(TAX_ROUNDING);
        Ok(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Sku;
    use crate::money::Currency;
    use rust_decimal_macros::dec;

    fn line(quantity: u32, unit_cents: i64, discount_cents: i64) -> OrderLine {
        let m = |c| Money::from_minor(c, Currency::EUR);
        let gross = unit_cents * i64::from(quantity);
        let net = gross - discount_cents;
        let amounts = LineAmounts {
            gross: m(gross),
            discount: m(discount_cents),
            net: m(net),
            tax: m(net / 5),
        };
        let quantity = Quantity::new(quantity);
        OrderLine::new(
            1,
            Sku::new("X").unwrap(),
            "x".into(),
            quantity,
            m(unit_cents),
            amounts,
            dec!(0.2),
        )
    }

    #[test]
    fn repricing_keeps_the_unit_price_and_the_discount_per_unit() {
        let l = line(4, 1000, 400);
        let six = l.repriced(Quantity::new(6)).unwrap();
        assert_eq!(six.gross, Money::from_minor(6000, Currency::EUR));
        assert_eq!(six.discount, Money::from_minor(600, Currency::EUR));
        assert_eq!(six.net, Money::from_minor(5400, Currency::EUR));
        assert_eq!(six.tax, Money::from_minor(1080, Currency::EUR));
        assert_eq!(l.repriced(Quantity::new(4)).unwrap(), l.amounts);
    }

    #[test]
    fn retaxing_keeps_the_net_and_taxes_it_at_the_new_rate() {
        let l = line(4, 1000, 400);
        let zero_rated = l.retaxed(dec!(0)).unwrap();
        assert_eq!(zero_rated.amounts.net, l.amounts.net);
        assert_eq!(zero_rated.amounts.discount, l.amounts.discount);
        assert!(zero_rated.amounts.tax.is_zero());
        let reduced = l.retaxed(dec!(0.055)).unwrap();
        assert_eq!(reduced.tax_rate, dec!(0.055));
        // 36.00 × 5.5 % = 1.98
        assert_eq!(reduced.amounts.tax, Money::from_minor(198, Currency::EUR));
        // Repricing a retaxed line taxes the new units at the new rate.
        let two = reduced.repriced(Quantity::new(2)).unwrap();
        assert_eq!(two.tax, Money::from_minor(99, Currency::EUR));
    }

    #[test]
    fn repricing_in_place_there_and_back_gives_back_the_line() {
        // 1.00 off 3 units: 0.67 off 2, and 1.00 (not 0.67 × 3/2 = 1.01) off 3 again.
        let mut l = line(3, 1000, 100);
        let placed = l.amounts;
        l.reprice(Quantity::new(2)).unwrap();
        assert_eq!(l.amounts.discount, Money::from_minor(67, Currency::EUR));
        l.reprice(Quantity::new(3)).unwrap();
        assert_eq!(l.amounts.discount, placed.discount);
        assert_eq!(l.amounts.net, placed.net);
    }

    #[test]
    fn a_discount_never_exceeds_the_repriced_gross() {
        let l = line(3, 1, 3);
        let one = l.repriced(Quantity::new(1)).unwrap();
        assert!(!one.net.is_negative());
    }
}
