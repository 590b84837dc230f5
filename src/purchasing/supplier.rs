//! Suppliers and what they offer.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::PurchasingError;
use crate::event::Event;
use crate::ids::{Sku, SupplierId};
use crate::money::{Currency, Money};
use crate::quantity::Quantity;
use crate::store::{Changeset, Put};

/// A supplier: who we buy from, in one currency, with its current offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Supplier {
    /// Its identity.
    pub id: SupplierId,
    /// Its name.
    pub name: String,
    /// The currency it invoices in; every offer and purchase order uses it.
    pub currency: Currency,
    /// Its offers, any number per SKU (different packs, validity windows).
    pub offers: Vec<Offer>,
}

impl Supplier {
    /// A supplier with no offers yet.
    pub fn new(id: SupplierId, name: impl Into<String>, currency: Currency) -> Self {
        Self {
            id,
            name: name.into(),
            currency,
            offers: Vec::new(),
        }
    }

    /// Adds an offer (checked by [`Supplier::validate`] when saved).
    #[must_use]
    pub fn offer(mut self, offer: Offer) -> Self {
        self.offers.push(offer);
        self
    }

    /// Checks every offer.
    ///
    /// # Errors
    /// The first offer's [`Offer::validate`] error, or
    /// [`PurchasingError::CurrencyMismatch`] for an offer in another currency.
    pub fn validate(&self) -> Result<(), PurchasingError> {
        for offer in &self.offers {
            offer.validate()?;
            if offer.unit_cost.currency() != self.currency {
                return Err(PurchasingError::CurrencyMismatch {
                    sku: offer.sku.clone(),
                    expected: self.currency,
                    found: offer.unit_cost.currency(),
                });
            }
        }
        Ok(())
    }
}

/// Adds or replaces `supplier` (stored at `existing`, `None` if new) in
/// `changes`, with its event, once every offer checks out.
///
/// # Errors
/// As [`Supplier::validate`].
pub fn save_supplier(
    supplier: Supplier,
    existing: Option<u64>,
    changes: &mut Changeset,
) -> Result<(), PurchasingError> {
    supplier.validate()?;
    changes.events.push(Event::SupplierSaved {
        supplier: supplier.id,
    });
    changes.puts.push(Put::upsert(supplier, existing));
    Ok(())
}

/// A supplier's terms for one SKU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Offer {
    /// The SKU offered.
    pub sku: Sku,
    /// Cost per unit, in the supplier's currency, in minor units.
    pub unit_cost: Money,
    /// Days from ordering to arrival; at least 1.
    pub lead_time_days: u16,
    /// The fewest units the supplier accepts on one order (0 or 1: no minimum).
    pub minimum_quantity: Quantity,
    /// Units per pack: orders are whole packs. At least 1.
    pub pack_size: Quantity,
    /// First day the offer may be ordered on.
    pub valid_from: NaiveDate,
    /// Last day the offer may be ordered on.
    pub valid_until: NaiveDate,
}

impl Offer {
    /// An offer of single units with no minimum, valid over the given days.
    pub fn new(
        sku: Sku,
        unit_cost: Money,
        lead_time_days: u16,
        valid_from: NaiveDate,
        valid_until: NaiveDate,
    ) -> Self {
        Self {
            sku,
            unit_cost,
            lead_time_days,
            minimum_quantity: Quantity::new(1),
            pack_size: Quantity::new(1),
            valid_from,
            valid_until,
        }
    }

    /// Sets the minimum order quantity.
    #[must_use]
    pub fn minimum(mut self, units: Quantity) -> Self {
        self.minimum_quantity = units;
        self
    }

    /// Sets the pack size.
    #[must_use]
    pub fn packs_of(mut self, units: Quantity) -> Self {
        self.pack_size = units;
        self
    }

    /// True when the offer may be ordered on `day`.
    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && day <= self.valid_until
    }

    /// Checks the offer's own terms.
    ///
    /// # Errors
    /// [`PurchasingError::ZeroLeadTime`], [`PurchasingError::ZeroPackSize`],
    /// [`PurchasingError::InvalidCost`], [`PurchasingError::EmptyValidity`].
    pub fn validate(&self) -> Result<(), PurchasingError> {
        let sku = || self.sku.clone();
        if self.lead_time_days == 0 {
            return Err(PurchasingError::ZeroLeadTime { sku: sku() });
        }
        if self.pack_size.is_zero() {
            return Err(PurchasingError::ZeroPackSize { sku: sku() });
        }
        if self.unit_cost.is_negative() {
            return Err(PurchasingError::InvalidCost {
                sku: sku(),
                reason: "negative",
            });
        }
        if !self.unit_cost.is_in_minor_units() {
            return Err(PurchasingError::InvalidCost {
                sku: sku(),
                reason: "finer than the currency's minor unit",
            });
        }
        if self.valid_until < self.valid_from {
            return Err(PurchasingError::EmptyValidity { sku: sku() });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::purchasing::fixtures::{mills, usd};

    #[test]
    fn saving_a_supplier_checks_its_offers_first() {
        let mut changes = Changeset::new(chrono::DateTime::UNIX_EPOCH);
        save_supplier(mills(), Some(4), &mut changes).unwrap();
        assert_eq!(changes.puts.len(), 1);
        assert_eq!(changes.puts[0].expected, Some(4));
        assert!(matches!(
            changes.events.as_slice(),
            [Event::SupplierSaved { .. }]
        ));
        let mut bad = mills();
        bad.offers[0].unit_cost = usd(-1);
        let mut changes = Changeset::new(chrono::DateTime::UNIX_EPOCH);
        assert!(matches!(
            save_supplier(bad, None, &mut changes),
            Err(PurchasingError::InvalidCost { .. })
        ));
        assert!(changes.is_empty());
    }
}
