use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::customer::Address;
use crate::error::Error;
use crate::ids::LocationId;

/// What kind of place holds stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    /// A warehouse or distribution centre.
    #[serde(alias = "Warehouse")]
    Warehouse,
    /// A retail store: can ship, and can hand goods over for in-store pickup.
    #[serde(alias = "Store")]
    Store,
    /// A third-party logistics provider's site.
    #[serde(alias = "ThirdParty")]
    ThirdParty,
}

/// A place that holds stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Location {
    /// Code.
    pub id: LocationId,
    /// Display name.
    pub name: String,
    /// Kind of site.
    pub kind: LocationKind,
    /// Where shipments leave from (and where pickup customers come to). Shared: the
    /// service reads every location for every order.
    pub address: Arc<Address>,
    /// Allocation priority: lower numbers are tried first.
    pub priority: u32,
    /// Whether orders may be allocated here at all.
    pub fulfils_orders: bool,
}

impl Location {
    /// A location that fulfils orders.
    pub fn new(
        id: LocationId,
        name: impl Into<String>,
        kind: LocationKind,
        address: Address,
        priority: u32,
    ) -> Self {
        Self {
            id,
            name: name.into(),
            kind,
            address: Arc::new(address),
            priority,
            fulfils_orders: true,
        }
    }

    /// Refuses a location shipments could not leave from: carriers rate and
    /// customs forms name the origin by its ISO country code.
    ///
    /// # Errors
    /// [`Error::Invalid`] if its address has no valid country.
    pub fn validate(&self) -> Result<(), Error> {
        if !self.address.has_valid_country() {
            return Err(Error::invalid(
                "location.address.country",
                "must be an ISO 3166 alpha-2 code",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_needs_a_country_code() {
        let address = Address::new("Depot", "1 Dock Rd", "Hull", "HU1 1AA", "GB");
        let mut east = Location::new(
            LocationId::new("EAST").unwrap(),
            "East",
            LocationKind::Warehouse,
            address,
            1,
        );
        assert!(east.validate().is_ok());
        Arc::make_mut(&mut east.address).country = "UK-ish".into();
        assert!(matches!(
            east.validate(),
            Err(Error::Invalid {
                field: "location.address.country",
                ..
            })
        ));
    }
}
