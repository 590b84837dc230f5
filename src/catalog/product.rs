use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::TaxClass;
use crate::error::Error;
use crate::ids::Sku;
use crate::money::Money;

/// A sellable product, identified by its SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// The stock-keeping unit.
    pub sku: Sku,
    /// Human-facing name, printed on invoices (shared with the order lines that copy it).
    pub name: Arc<str>,
    /// List price per unit, before tax; the currency orders must use to price from the catalogue.
    pub price: Money,
    /// Standard cost per unit: what inventory is carried at and cost of goods sold is posted at.
    pub cost: Money,
    /// Which tax rate applies.
    pub tax_class: TaxClass,
    /// Shipping weight of one unit, in grams.
    #[serde(default)]
    pub weight_grams: u32,
    /// Packed size of one unit.
    #[serde(default)]
    pub dimensions: Dimensions,
    /// Available stock at or below which replenishment is due (0: not watched).
    /// [`Oms::availability`](crate::Oms::availability) holds it against what is
    /// free over every location; purchasing's min/max rules
    /// ([`crate::purchasing::ReorderRule`]) work per location.
    #[serde(default)]
    pub reorder_point: u32,
    /// Inactive products cannot be ordered but stay on old documents.
    #[serde(default = "active_by_default")]
    pub active: bool,
    /// What an order does when this product is short (an order may override it).
    #[serde(default)]
    pub back_order: crate::purchasing::BackOrderPolicy,
}

impl Product {
    /// An active product with no weight, no size and a reorder point of zero;
    /// set the rest with struct update syntax.
    pub fn new(
        sku: Sku,
        name: impl Into<Arc<str>>,
        price: Money,
        cost: Money,
        tax_class: TaxClass,
    ) -> Self {
        Self {
            sku,
            name: name.into(),
            price,
            cost,
            tax_class,
            weight_grams: 0,
            dimensions: Dimensions::default(),
            reorder_point: 0,
            active: true,
            back_order: crate::purchasing::BackOrderPolicy::Reject,
        }
    }

    /// Refuses a price or cost no order or posting could use: a negative price or
    /// cost, or a cost finer than a cent (inventory is posted at cost, and journal
    /// amounts are whole minor units).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `price` or `cost`.
    pub fn validate(&self) -> Result<(), Error> {
        if self.price.is_negative() {
            return Err(Error::invalid("price", "must not be negative"));
        }
        if self.cost.is_negative() || !self.cost.is_in_minor_units() {
            return Err(Error::invalid(
                "cost",
                "must be a non-negative amount in minor units",
            ));
        }
        Ok(())
    }

    /// True when saving `self` over `before` changes the cost stock is carried at,
    /// so the stock on hand must be counted and revalued.
    pub fn revalues(&self, before: &Product) -> bool {
        self.cost != before.cost
    }
}

/// Packed size in millimetres.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Dimensions {
    /// Length in mm.
    pub length_mm: u32,
    /// Width in mm.
    pub width_mm: u32,
    /// Height in mm.
    pub height_mm: u32,
}

/// A product put without `active` is on sale, as [`Product::new`] makes it.
fn active_by_default() -> bool {
    true
}
