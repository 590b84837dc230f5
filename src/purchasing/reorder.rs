//! Reorder points: replenish a SKU at a location before it runs out.

use serde::{Deserialize, Serialize};

use super::PurchasingError;
use crate::catalog::Product;
use crate::error::Error;
use crate::ids::{LocationId, Sku};
use crate::quantity::Quantity;
use crate::stock::Location;
use crate::store::{Changeset, Entity, Put};

/// Min/max replenishment of one SKU at one location: when what is available there
/// plus what is on order to it falls below `min`, order up to `max`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReorderRule {
    /// The SKU.
    pub sku: Sku,
    /// The location.
    pub location: LocationId,
    /// The reorder point.
    pub min: Quantity,
    /// The level to order up to; at least `min` and at least 1.
    pub max: Quantity,
}

impl ReorderRule {
    /// Checks `min ≤ max` and `max ≥ 1`.
    ///
    /// # Errors
    /// [`PurchasingError::InvalidReorderRule`].
    pub fn validate(&self) -> Result<(), PurchasingError> {
        if self.max.is_zero() || self.max < self.min {
            return Err(PurchasingError::InvalidReorderRule {
                sku: self.sku.clone(),
                min: self.min,
                max: self.max,
            });
        }
        Ok(())
    }

    /// Units to order given the position (available plus on order, less
    /// back-ordered), or 0.
    ///
    /// # Errors
    /// [`PurchasingError::TooManyUnits`] when the units wanted do not fit a
    /// purchase order line (a [`Quantity`]): a position that far below zero is a
    /// data problem to look at, not an order to place.
    pub fn shortfall(&self, position: i64) -> Result<Quantity, PurchasingError> {
        if position >= self.min.as_i64() {
            return Ok(Quantity::ZERO);
        }
        let wanted = self.max.as_i64().saturating_sub(position);
        u32::try_from(wanted)
            .map(Quantity::new)
            .map_err(|_| PurchasingError::TooManyUnits {
                sku: self.sku.clone(),
                units: wanted.unsigned_abs(),
            })
    }
}

/// Sets (or replaces) `rule`, stored at `existing` (`None` if new), in `changes`:
/// for a SKU the catalogue `has_product` and a location that `has_location`.
///
/// # Errors
/// [`PurchasingError::InvalidReorderRule`] for max < min or max = 0;
/// [`Error::NotFound`] for an unknown SKU or location.
pub fn set_reorder_rule(
    rule: ReorderRule,
    has_product: bool,
    has_location: bool,
    existing: Option<u64>,
    changes: &mut Changeset,
) -> Result<(), Error> {
    rule.validate()?;
    if !has_product {
        return Err(Error::unknown_reference(Product::kind(), &rule.sku));
    }
    if !has_location {
        return Err(Error::unknown_reference(Location::kind(), &rule.location));
    }
    changes.events.push(crate::event::Event::ReorderRuleSaved {
        sku: rule.sku.clone(),
        location: rule.location.clone(),
    });
    changes.puts.push(Put::upsert(rule, existing));
    Ok(())
}

/// A need purchasing should cover: units of one SKU wanted at one location, and the
/// offer the best-offer rule picks for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Requisition {
    /// The SKU.
    pub sku: Sku,
    /// Where the units are wanted.
    pub location: LocationId,
    /// Units wanted, before rounding to the offer's minimum and packs.
    pub quantity: Quantity,
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
    use crate::ids::{LocationId, Sku};

    #[test]
    fn a_rule_is_set_for_a_known_sku_and_location_only() {
        let rule = ReorderRule {
            sku: Sku::new("A").unwrap(),
            location: LocationId::new("DC").unwrap(),
            min: Quantity::new(1),
            max: Quantity::new(5),
        };
        let mut changes = Changeset::new(chrono::DateTime::UNIX_EPOCH);
        set_reorder_rule(rule.clone(), true, true, Some(2), &mut changes).unwrap();
        assert_eq!(changes.puts[0].expected, Some(2));
        let mut changes = Changeset::new(chrono::DateTime::UNIX_EPOCH);
        assert!(matches!(
            set_reorder_rule(rule.clone(), false, true, None, &mut changes),
            Err(Error::NotFound {
                entity: "product",
                ..
            })
        ));
        assert!(matches!(
            set_reorder_rule(rule.clone(), true, false, None, &mut changes),
            Err(Error::NotFound {
                entity: "location",
                ..
            })
        ));
        let bad = ReorderRule {
            max: Quantity::ZERO,
            ..rule
        };
        assert!(
            matches!(
                set_reorder_rule(bad, false, false, None, &mut changes),
                Err(Error::Purchasing(
                    PurchasingError::InvalidReorderRule { .. }
                )),
            ),
            "the rule is checked before the reads"
        );
        assert!(changes.is_empty());
    }

    #[test]
    fn orders_up_to_max_below_min() {
        let rule = ReorderRule {
            sku: Sku::new("A").unwrap(),
            location: LocationId::new("DC").unwrap(),
            min: Quantity::new(10),
            max: Quantity::new(50),
        };
        assert_eq!(rule.shortfall(10), Ok(Quantity::ZERO));
        assert_eq!(rule.shortfall(9), Ok(Quantity::new(41)));
        assert_eq!(rule.shortfall(-5), Ok(Quantity::new(55)));
        assert_eq!(
            rule.shortfall(i64::MIN),
            Err(PurchasingError::TooManyUnits {
                sku: rule.sku.clone(),
                units: i64::MAX.unsigned_abs(),
            }),
            "never a silent u32::MAX"
        );
        assert!(rule.validate().is_ok());
        assert!(
            ReorderRule {
                max: Quantity::new(5),
                ..rule.clone()
            }
            .validate()
            .is_err()
        );
        assert!(
            ReorderRule {
                min: Quantity::ZERO,
                max: Quantity::ZERO,
                ..rule
            }
            .validate()
            .is_err()
        );
    }
}
