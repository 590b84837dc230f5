//! Which of one location's goods go as parcels and which as freight.
//!
//! The rule, per location, for an order shipped to an address at a parcel service
//! level (an order that asks for
//! [`ServiceLevel::Freight`](crate::order::ServiceLevel::Freight) sends everything as
//! freight; a pickup is never split):
//! 1. a line whose unit weighs more than [`FreightRule::unit_grams`], or has a side
//!    longer than [`FreightRule::unit_side_mm`], goes as freight: no parcel
//!    service takes one such unit;
//! 2. the other lines go as one parcel shipment — unless together they weigh more
//!    than [`FreightRule::parcels_grams`] or take more room than
//!    [`FreightRule::parcels_mm3`], when they go as freight too (one consignment
//!    of pallets beats a stack of heavy or bulky parcels).
//!
//! A line is never split between the two: its units are one product.

use serde::{Deserialize, Serialize};

use crate::catalog::Products;
use crate::order::Order;
use crate::quantity::Quantity;

/// When goods go as freight rather than as parcels (see the module docs).
/// [`OmsConfig::with_freight`](crate::OmsConfig::with_freight) turns it on; without
/// it each location ships as one parcel shipment, as the order asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FreightRule {
    /// A unit heavier than this, in grams, goes as freight.
    pub unit_grams: u32,
    /// A unit with a side longer than this, in millimetres, goes as freight.
    pub unit_side_mm: u32,
    /// Parcels from one location weighing more than this in all, in grams, go as
    /// freight instead.
    pub parcels_grams: u64,
    /// Parcels from one location taking more room than this in all, in cubic
    /// millimetres, go as freight instead.
    pub parcels_mm3: u64,
}

impl Default for FreightRule {
    /// What parcel services commonly take: 31.5 kg and 1.2 m a package, and
    /// 150 kg or a cubic metre in all before pallets are cheaper.
    fn default() -> Self {
        Self {
            unit_grams: 31_500,
            unit_side_mm: 1_200,
            parcels_grams: 150_000,
            parcels_mm3: 1_000_000_000,
        }
    }
}

/// One location's (line index, units), as parcels and as freight.
pub(crate) type Split = (Vec<(usize, Quantity)>, Vec<(usize, Quantity)>);

impl FreightRule {
    /// Splits `lines` (indexes into `order.lines`, with units) by the rule.
    pub(crate) fn split(
        &self,
        order: &Order,
        lines: Vec<(usize, Quantity)>,
        products: &Products,
    ) -> Split {
        let (mut parcels, mut freight) = (Vec::new(), Vec::new());
        let (mut parcel_grams, mut parcel_mm3): (u64, u64) = (0, 0);
        for (index, units) in lines {
            let product = order
                .lines
                .get(index)
                .and_then(|line| products.get(&line.sku));
            let (grams, longest, mm3) = product.map_or((0, 0, 0), |p| {
                let d = p.dimensions;
                let mm3 = u64::from(d.length_mm)
                    .saturating_mul(u64::from(d.width_mm))
                    .saturating_mul(u64::from(d.height_mm));
                (
                    p.weight_grams,
                    d.length_mm.max(d.width_mm).max(d.height_mm),
                    mm3,
                )
            });
            if grams > self.unit_grams || longest > self.unit_side_mm {
                freight.push((index, units));
            } else {
                let count = u64::from(units.units());
                parcel_grams = parcel_grams.saturating_add(u64::from(grams).saturating_mul(count));
                parcel_mm3 = parcel_mm3.saturating_add(mm3.saturating_mul(count));
                parcels.push((index, units));
            }
        }
        if parcel_grams > self.parcels_grams || parcel_mm3 > self.parcels_mm3 {
            freight.append(&mut parcels);
            freight.sort_unstable_by_key(|(index, _)| *index);
        }
        (parcels, freight)
    }
}
