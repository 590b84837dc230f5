//! Quantities of stock, in whole units.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A positive or zero number of units of one SKU.
///
/// Unit-of-measure conversions are out of scope: one unit is whatever the SKU counts.
/// Stock *changes* are signed (`i64`); quantities on documents never are.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Quantity(u32);

impl Quantity {
    /// No units.
    pub const ZERO: Quantity = Quantity(0);

    /// `units` units.
    pub const fn new(units: u32) -> Self {
        Self(units)
    }

    /// The number of units.
    pub const fn units(self) -> u32 {
        self.0
    }

    /// The number of units as a signed stock delta.
    pub const fn as_i64(self) -> i64 {
        self.0 as i64
    }

    /// True for zero units.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + rhs`, or `None` on overflow.
    pub const fn checked_add(self, rhs: Quantity) -> Option<Quantity> {
        match self.0.checked_add(rhs.0) {
            Some(q) => Some(Quantity(q)),
            None => None,
        }
    }

    /// `self - rhs`, or `None` if it would go below zero.
    pub const fn checked_sub(self, rhs: Quantity) -> Option<Quantity> {
        match self.0.checked_sub(rhs.0) {
            Some(q) => Some(Quantity(q)),
            None => None,
        }
    }

    /// `self + rhs`, stopping at `u32::MAX` units.
    #[must_use]
    pub const fn saturating_add(self, rhs: Quantity) -> Quantity {
        Quantity(self.0.saturating_add(rhs.0))
    }

    /// `self - rhs`, floored at zero.
    pub const fn saturating_sub(self, rhs: Quantity) -> Quantity {
        Quantity(self.0.saturating_sub(rhs.0))
    }

    /// The smaller of two quantities.
    pub fn min(self, rhs: Quantity) -> Quantity {
        Quantity(self.0.min(rhs.0))
    }

    /// The least multiple of `pack` at or above `self`: `self` rounded up to whole
    /// packs. `None` for a pack of zero units, or if the result overflows.
    ///
    /// ```
    /// use o2c::quantity::Quantity;
    /// let packs_of_12 = Quantity::new(12);
    /// assert_eq!(Quantity::new(13).checked_next_multiple_of(packs_of_12), Some(Quantity::new(24)));
    /// assert_eq!(Quantity::new(24).checked_next_multiple_of(packs_of_12), Some(Quantity::new(24)));
    /// assert_eq!(Quantity::new(5).checked_next_multiple_of(Quantity::ZERO), None);
    /// ```
    pub const fn checked_next_multiple_of(self, pack: Quantity) -> Option<Quantity> {
        match self.0.checked_next_multiple_of(pack.0) {
            Some(q) => Some(Quantity(q)),
            None => None,
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<u32> for Quantity {
    fn from(units: u32) -> Self {
        Self(units)
    }
}

#[cfg(test)]
mod stored_json;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_checked() {
        let q = Quantity::new(3);
        assert_eq!(q.checked_add(Quantity::new(2)), Some(Quantity::new(5)));
        assert_eq!(q.checked_sub(Quantity::new(4)), None);
        assert_eq!(q.saturating_sub(Quantity::new(4)), Quantity::ZERO);
        assert_eq!(Quantity::new(u32::MAX).checked_add(q), None);
        assert_eq!(q.as_i64(), 3);
    }

    #[test]
    fn rounds_up_to_whole_packs_or_says_it_cannot() {
        let six = Quantity::new(6);
        assert_eq!(
            Quantity::ZERO.checked_next_multiple_of(six),
            Some(Quantity::ZERO)
        );
        assert_eq!(Quantity::new(1).checked_next_multiple_of(six), Some(six));
        assert_eq!(
            Quantity::new(7).checked_next_multiple_of(six),
            Some(Quantity::new(12))
        );
        assert_eq!(
            Quantity::new(7).checked_next_multiple_of(Quantity::ZERO),
            None
        );
        assert_eq!(
            Quantity::new(u32::MAX).checked_next_multiple_of(Quantity::new(2)),
            None,
            "no wraparound"
        );
        assert_eq!(
            Quantity::new(u32::MAX).checked_next_multiple_of(Quantity::new(1)),
            Some(Quantity::new(u32::MAX))
        );
    }
}
