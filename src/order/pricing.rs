//! Turning requested lines into priced order lines.
//!
//! The rounding points, in order: line gross (`quantity × unit price`) and percentage
//! discounts round to the currency's minor units with [`PRICE_ROUNDING`]; an order
//! discount is spread over the lines with [`Money::allocate`] (exact, no rounding);
//! tax rounds per line with [`TAX_ROUNDING`]. Totals are plain sums of the lines, so
//! an invoice always equals its lines plus tax.

use rust_decimal::Decimal;

use super::{Discount, LineAmounts, OrderError, OrderLine, PlaceOrder};
use crate::catalog::{Product, TaxTable};
use crate::ids::Sku;
use crate::money::{Money, Rounding};
use crate::quantity::Quantity;

/// Rounding for prices and discounts: commercial (half away from zero).
pub const PRICE_ROUNDING: Rounding = Rounding::HalfUp;
/// Rounding for tax on each line: commercial (half away from zero).
pub const TAX_ROUNDING: Rounding = Rounding::HalfUp;
/// Most lines one order may have.
pub const MAX_LINES: usize = 1000;

/// Prices every line of `cmd`: catalogue or explicit price, discounts, tax for `country`.
///
/// # Errors
/// Any [`OrderError`] about the lines: empty, too many, bad quantity, unknown or
/// inactive SKU, currency mismatch, negative price, bad discount, missing tax rate,
/// or overflow.
pub fn price_lines<'a>(
    cmd: &PlaceOrder,
    product: impl Fn(&Sku) -> Option<&'a Product>,
    tax: &TaxTable,
    country: &str,
) -> Result<Vec<OrderLine>, OrderError> {
    if cmd.lines.is_empty() {
        return Err(OrderError::Empty);
    }
    if cmd.lines.len() > MAX_LINES {
        return Err(OrderError::TooManyLines {
            max: MAX_LINES,
            got: cmd.lines.len(),
        });
    }
    let currency = cmd.currency;
    let same_currency = |m: Money| {
        if m.currency() == currency {
            Ok(m)
        } else {
            Err(OrderError::CurrencyMismatch {
                expected: currency,
                found: m.currency(),
            })
        }
    };

    let mut lines = Vec::with_capacity(cmd.lines.len());
    for (req, line_no) in cmd.lines.iter().zip(1u16..) {
        let quantity = u32::try_from(req.quantity)
            .ok()
            .filter(|q| *q > 0)
            .map(Quantity::new)
            .ok_or(OrderError::InvalidQuantity {
                line: line_no,
                quantity: req.quantity,
            })?;
        let product = product(&req.sku).ok_or_else(|| OrderError::UnknownSku(req.sku.clone()))?;
        if !product.active {
            return Err(OrderError::InactiveSku(req.sku.clone()));
        }
        let unit_price = same_currency(req.unit_price.unwrap_or(product.price))?;
        if unit_price.is_negative() {
            return Err(OrderError::NegativePrice { line: line_no });
        }
        let gross = unit_price
            .checked_mul_qty(u64::from(quantity.units()))?
            .round(PRICE_ROUNDING);
        let discount = match req.discount {
            None => Money::zero(currency),
            Some(d) => discount_amount(d, gross, Some(line_no), &same_currency)?,
        };
        let tax_rate =
            tax.rate_for(&product.tax_class, country)
                .ok_or_else(|| OrderError::NoTaxRate {
                    class: product.tax_class.clone(),
                    country: country.to_owned(),
                })?;
        let amounts = LineAmounts {
            gross,
            discount,
            net: gross.checked_sub(discount)?,
            tax: Money::zero(currency),
        };
        lines.push(OrderLine::new(
            line_no,
            // The product's own text, not the command's copy of it: the line then
            // shares it with the catalogue (no allocation per line), and a lookup
            // by the line's SKU meets the store's key as the same pointer, without
            // reading either text.
            product.sku.clone(),
            product.name.clone(),
            quantity,
            unit_price,
            amounts,
            tax_rate,
        ));
    }

    if let Some(d) = cmd.order_discount {
        let net = Money::sum(currency, lines.iter().map(|l| l.amounts.net))?;
        let total = discount_amount(d, net, None, &same_currency)?;
        if !total.is_zero() {
            let weights: Vec<Decimal> = lines.iter().map(|l| l.amounts.net.amount()).collect();
            let shares = total
                .allocate(&weights)
                .map_err(|_| OrderError::InvalidDiscount {
                    line: None,
                    reason: "nothing to discount",
                })?;
            for (line, share) in lines.iter_mut().zip(shares) {
                line.amounts.discount = line.amounts.discount.checked_add(share)?;
                line.amounts.net = line.amounts.net.checked_sub(share)?;
            }
        }
    }

    for line in &mut lines {
        line.amounts.tax = line
            .amounts
            .net
            .checked_mul(line.tax_rate)?
            .round(TAX_ROUNDING);
    }
    Ok(lines)
}

/// The amount a discount takes off `base`, checked to lie within `0..=base`.
fn discount_amount(
    discount: Discount,
    base: Money,
    line: Option<u16>,
    same_currency: &impl Fn(Money) -> Result<Money, OrderError>,
) -> Result<Money, OrderError> {
    let invalid = |reason| OrderError::InvalidDiscount { line, reason };
    let amount = match discount {
        Discount::Percent(p) => {
            if p.is_sign_negative() || p > Decimal::ONE_HUNDRED {
                return Err(invalid("percentage must be between 0 and 100"));
            }
            base.checked_mul(p / Decimal::ONE_HUNDRED)?
                .round(PRICE_ROUNDING)
        }
        Discount::Amount(m) => {
            let m = same_currency(m)?;
            if m.is_negative() {
                return Err(invalid("amount must not be negative"));
            }
            if !m.is_in_minor_units() {
                return Err(invalid("amount has more decimals than the currency allows"));
            }
            m
        }
    };
    if amount.cmp_amount(base)?.is_gt() {
        return Err(invalid("larger than the amount it discounts"));
    }
    Ok(amount)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::catalog::TaxClass;
    use crate::ids::{CustomerId, IdempotencyKey};
    use crate::money::Currency;
    use crate::order::Channel;
    use rust_decimal_macros::dec;
    use std::collections::HashMap;
    use uuid::Uuid;

    fn usd(x: Decimal) -> Money {
        Money::new(x, Currency::USD)
    }
    fn catalogue() -> HashMap<Sku, Product> {
        let mut m = HashMap::new();
        for (sku, price) in [("A", dec!(10.00)), ("B", dec!(3.33)), ("C", dec!(0.10))] {
            let sku = Sku::new(sku).unwrap();
            m.insert(
                sku.clone(),
                Product::new(sku, "thing", usd(price), usd(dec!(1)), TaxClass::standard()),
            );
        }
        m
    }
    fn cmd() -> PlaceOrder {
        PlaceOrder::new(
            IdempotencyKey::new("k").unwrap(),
            CustomerId::from_uuid(Uuid::nil()),
            Channel::Web,
            Currency::USD,
        )
    }
    fn taxes() -> TaxTable {
        TaxTable::new().with_rate(TaxClass::standard(), None, dec!(0.2))
    }
    fn sku(s: &str) -> Sku {
        Sku::new(s).unwrap()
    }

    #[test]
    fn prices_from_catalogue_with_discounts_and_tax() {
        let cat = catalogue();
        let mut c = cmd()
            .line(sku("A"), 3)
            .line(sku("B"), 1)
            .discount(Discount::Amount(usd(dec!(1.00))));
        c.lines[0].discount = Some(Discount::Percent(dec!(10)));
        let lines = price_lines(&c, |s| cat.get(s), &taxes(), "GB").unwrap();
        // A: 30.00 − 3.00 = 27.00; B: 3.33. Order discount 1.00 split 27.00 : 3.33.
        assert_eq!(lines[0].amounts.gross, usd(dec!(30.00)));
        let discounts: Money =
            Money::sum(Currency::USD, lines.iter().map(|l| l.amounts.discount)).unwrap();
        assert_eq!(discounts, usd(dec!(4.00)));
        let net = Money::sum(Currency::USD, lines.iter().map(|l| l.amounts.net)).unwrap();
        assert_eq!(net, usd(dec!(29.33)));
        for l in &lines {
            assert_eq!(
                l.amounts.net,
                l.amounts.gross.checked_sub(l.amounts.discount).unwrap()
            );
            assert_eq!(
                l.amounts.tax,
                l.amounts
                    .net
                    .checked_mul(dec!(0.2))
                    .unwrap()
                    .round(TAX_ROUNDING)
            );
        }
    }

    #[test]
    fn rejects_bad_lines() {
        let cat = catalogue();
        let price = |c: &PlaceOrder| price_lines(c, |s| cat.get(s), &taxes(), "GB");
        assert_eq!(price(&cmd()).unwrap_err(), OrderError::Empty);
        assert_eq!(
            price(&cmd().line(sku("A"), 0)).unwrap_err(),
            OrderError::InvalidQuantity {
                line: 1,
                quantity: 0
            }
        );
        assert_eq!(
            price(&cmd().line(sku("A"), 1).line(sku("A"), -2)).unwrap_err(),
            OrderError::InvalidQuantity {
                line: 2,
                quantity: -2
            }
        );
        assert!(matches!(
            price(&cmd().line(sku("A"), i64::from(u32::MAX) + 1)).unwrap_err(),
            OrderError::InvalidQuantity { .. }
        ));
        assert_eq!(
            price(&cmd().line(sku("Z"), 1)).unwrap_err(),
            OrderError::UnknownSku(sku("Z"))
        );
        assert_eq!(
            price(&cmd().priced_line(sku("A"), 1, Money::new(dec!(1), Currency::EUR))).unwrap_err(),
            OrderError::CurrencyMismatch {
                expected: Currency::USD,
                found: Currency::EUR
            }
        );
        assert_eq!(
            price(&cmd().priced_line(sku("A"), 1, usd(dec!(-1)))).unwrap_err(),
            OrderError::NegativePrice { line: 1 }
        );
        assert!(matches!(
            price(
                &cmd()
                    .line(sku("C"), 1)
                    .discount(Discount::Amount(usd(dec!(0.11))))
            )
            .unwrap_err(),
            OrderError::InvalidDiscount { line: None, .. }
        ));
        assert!(matches!(
            price(
                &cmd()
                    .line(sku("C"), 1)
                    .discount(Discount::Percent(dec!(101)))
            )
            .unwrap_err(),
            OrderError::InvalidDiscount { .. }
        ));
        let no_rate = TaxTable::new();
        assert!(matches!(
            price_lines(&cmd().line(sku("A"), 1), |s| cat.get(s), &no_rate, "GB").unwrap_err(),
            OrderError::NoTaxRate { .. }
        ));
    }

    #[test]
    fn huge_amounts_overflow_into_an_error() {
        let cat = catalogue();
        let c = cmd().priced_line(sku("A"), i64::from(u32::MAX), usd(Decimal::MAX));
        assert!(matches!(
            price_lines(&c, |s| cat.get(s), &taxes(), "GB").unwrap_err(),
            OrderError::Money(_)
        ));
    }
}
