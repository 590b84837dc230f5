//! Reorder points: replenish a SKU at a location before it runs out.

use serde::{Deserialize, Serialize};

use super::PurchasingError;
use crate::ids::{LocationId, Sku};

/// Min/max replenishment of one SKU at one location: when what is available there
/// plus what is on order to it falls below `min`, order up to `max`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReorderRule {
    /// The SKU.
    pub sku: Sku,
    /// The location.
    pub location: LocationId,
    /// The reorder point.
    pub min: u32,
    /// The level to order up to; at least `min` and at least 1.
    pub max: u32,
}

impl ReorderRule {
    /// Checks `min ≤ max` and `max ≥ 1`.
    ///
    /// # Errors
    /// [`PurchasingError::InvalidReorderRule`].
    pub fn validate(&self) -> Result<(), PurchasingError> {
        if self.max == 0 || self.max < self.min {
            return Err(PurchasingError::InvalidReorderRule {
                sku: self.sku.clone(),
                min: self.min,
                max: self.max,
            });
        }
        Ok(())
    }

    /// Units to order given the position (available plus on order), or 0.
    pub fn shortfall(&self, position: i64) -> u32 {
        if position >= i64::from(self.min) {
            return 0;
        }
        let wanted = i64::from(self.max).saturating_sub(position);
        u32::try_from(wanted).unwrap_or(u32::MAX)
    }
}

/// A need purchasing should cover: units of one SKU wanted at one location, and the
/// offer the best-offer rule picks for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requisition {
    /// The SKU.
    pub sku: Sku,
    /// Where the units are wanted.
    pub location: LocationId,
    /// Units wanted, before rounding to the offer's minimum and packs.
    pub quantity: u32,
    /// Units of it back-ordered by customers (the rest tops up a reorder rule).
    pub back_ordered: u64,
    /// The reorder rule that applies there, if any.
    pub reorder_rule: Option<ReorderRule>,
    /// When the units are wanted by (back-orders have a deadline, top-ups none).
    pub wanted_by: Option<chrono::NaiveDate>,
    /// The best offer with its reasons; `None` when no offer qualifies.
    pub offer: Option<super::RankedOffer>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn orders_up_to_max_below_min() {
        let rule = ReorderRule {
            sku: Sku::new("A").unwrap(),
            location: LocationId::new("DC").unwrap(),
            min: 10,
            max: 50,
        };
        assert_eq!(rule.shortfall(10), 0);
        assert_eq!(rule.shortfall(9), 41);
        assert_eq!(rule.shortfall(-5), 55);
        assert!(rule.validate().is_ok());
        assert!(
            ReorderRule {
                max: 5,
                ..rule.clone()
            }
            .validate()
            .is_err()
        );
        assert!(
            ReorderRule {
                min: 0,
                max: 0,
                ..rule
            }
            .validate()
            .is_err()
        );
    }
}
