//! What a SKU has to sell, summed over its locations, beside its reorder point: the
//! low-stock view a replenishment screen or a storefront's "only 3 left" reads.

use serde::{Deserialize, Serialize};

use super::StockLevel;
use crate::catalog::Product;
use crate::ids::Sku;

/// One SKU's stock over every location, and whether it has fallen to its reorder
/// point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    /// The SKU.
    pub sku: Sku,
    /// Units physically held, over every location.
    pub on_hand: i64,
    /// Units promised to open orders, over every location.
    pub reserved: i64,
    /// The product's reorder point ([`Product::reorder_point`]).
    pub reorder_point: u32,
}

impl Availability {
    /// Units free to promise: on hand less reserved.
    pub fn available(&self) -> i64 {
        self.on_hand.saturating_sub(self.reserved)
    }

    /// True when what is free to promise is below the reorder point: time to
    /// order more.
    pub fn is_low(&self) -> bool {
        self.available() < i64::from(self.reorder_point)
    }
}

/// The availability of `product` from its `levels` (those of other SKUs are
/// ignored, so a caller can pass every level it read).
pub fn availability(product: &Product, levels: &[StockLevel]) -> Availability {
    let (on_hand, reserved) = levels.iter().filter(|level| level.sku == product.sku).fold(
        (0i64, 0i64),
        |(on_hand, reserved), level| {
            (
                on_hand.saturating_add(level.on_hand),
                reserved.saturating_add(level.reserved),
            )
        },
    );
    Availability {
        sku: product.sku.clone(),
        on_hand,
        reserved,
        reorder_point: product.reorder_point,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::catalog::TaxClass;
    use crate::ids::LocationId;
    use crate::money::{Currency, Money};

    fn product(sku: &str, reorder_point: u32) -> Product {
        let usd = |c| Money::from_minor(c, Currency::USD);
        let mut p = Product::new(
            Sku::new(sku).unwrap(),
            sku,
            usd(1000),
            usd(400),
            TaxClass::standard(),
        );
        p.reorder_point = reorder_point;
        p
    }

    fn level(sku: &str, at: &str, on_hand: i64, reserved: i64) -> StockLevel {
        StockLevel {
            sku: Sku::new(sku).unwrap(),
            location: LocationId::new(at).unwrap(),
            on_hand,
            reserved,
        }
    }

    #[test]
    fn sums_every_location_of_its_own_sku_only() {
        let levels = [
            level("TEE", "A", 10, 4),
            level("MUG", "A", 99, 0),
            level("TEE", "B", 5, 1),
        ];
        let seen = availability(&product("TEE", 10), &levels);
        assert_eq!((seen.on_hand, seen.reserved, seen.available()), (15, 5, 10));
        assert!(!seen.is_low(), "10 free against a reorder point of 10");
        let seen = availability(&product("TEE", 11), &levels);
        assert!(seen.is_low());
    }

    #[test]
    fn a_sku_never_stocked_has_nothing_and_is_low_if_it_has_a_reorder_point() {
        let seen = availability(&product("NEW", 1), &[]);
        assert_eq!((seen.on_hand, seen.reserved), (0, 0));
        assert!(seen.is_low());
        assert!(!availability(&product("NEW", 0), &[]).is_low());
    }
}
