//! Inventory at cost: what the stock on hand is worth, per SKU × location.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::StockLevel;
use crate::catalog::Product;
use crate::error::Error;
use crate::ids::{LocationId, Sku};
use crate::money::Money;
use crate::store::Entity;

/// The value of one SKU's stock at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Valuation {
    /// The SKU.
    pub sku: Sku,
    /// The location.
    pub location: LocationId,
    /// Units on hand.
    pub on_hand: i64,
    /// The SKU's cost per unit.
    pub unit_cost: Money,
    /// `on_hand × unit_cost`.
    pub value: Money,
}

/// Values `levels` at their products' (moving-average) cost, in the order given.
/// Their sum per currency equals the inventory account's balance.
///
/// # Errors
/// [`Error::NotFound`] for a level whose SKU has no product (stock the catalogue
/// lost: never valued at zero silently); [`Error::Money`] on overflow.
pub fn valuation(levels: Vec<StockLevel>, products: &[Product]) -> Result<Vec<Valuation>, Error> {
    let mut out = Vec::with_capacity(levels.len());
    for level in levels {
        let cost = products
            .iter()
            .find(|p| p.sku == level.sku)
            .map(|p| p.cost)
            .ok_or_else(|| Error::dangling(Product::kind(), &level.sku))?;
        out.push(Valuation {
            value: cost.checked_mul(Decimal::from(level.on_hand))?,
            unit_cost: cost,
            sku: level.sku,
            location: level.location,
            on_hand: level.on_hand,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::TaxClass;
    use crate::money::Currency;

    fn usd(cents: i64) -> Money {
        Money::from_minor(cents, Currency::USD)
    }

    fn level(sku: &str, at: &str, on_hand: i64) -> StockLevel {
        StockLevel {
            on_hand,
            ..StockLevel::empty(Sku::new(sku).unwrap(), LocationId::new(at).unwrap())
        }
    }

    #[test]
    fn stock_is_worth_its_units_at_cost_and_unknown_stock_is_reported() {
        let mug = Product::new(
            Sku::new("MUG").unwrap(),
            "Mug",
            usd(1000),
            usd(425),
            TaxClass::standard(),
        );
        let valued = valuation(
            vec![level("MUG", "A", 3), level("MUG", "B", 0)],
            std::slice::from_ref(&mug),
        )
        .unwrap();
        assert_eq!(valued[0].value, usd(1275));
        assert_eq!(valued[1].value, usd(0));
        assert_eq!(valued[0].unit_cost, usd(425));
        let lost = valuation(vec![level("CUP", "A", 1)], &[mug]);
        assert!(matches!(
            lost,
            Err(Error::DanglingReference {
                entity: "product",
                ..
            })
        ));
    }
}
