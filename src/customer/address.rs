use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A postal address.
///
/// Shared, immutable text: an address is copied onto every order, shipment and
/// carrier request that goes to it, and cloning one is five reference-count
/// increments rather than six allocations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Address {
    /// Recipient name.
    pub name: Arc<str>,
    /// Street lines.
    pub lines: Arc<[Arc<str>]>,
    /// City or town.
    pub city: Arc<str>,
    /// Postal or ZIP code.
    pub postal_code: Arc<str>,
    /// ISO 3166 alpha-2 country code (`"GB"`, `"US"`): drives tax and shipping zones.
    pub country: Arc<str>,
}

impl Address {
    /// A one-line address.
    pub fn new(
        name: impl Into<Arc<str>>,
        line: impl Into<Arc<str>>,
        city: impl Into<Arc<str>>,
        postal_code: impl Into<Arc<str>>,
        country: impl Into<Arc<str>>,
    ) -> Self {
        Self {
            name: name.into(),
            lines: Arc::from([line.into()]),
            city: city.into(),
            postal_code: postal_code.into(),
            country: country.into(),
        }
    }

    /// The same address with its street `lines`.
    #[must_use]
    pub fn with_lines<L: Into<Arc<str>>>(mut self, lines: impl IntoIterator<Item = L>) -> Self {
        self.lines = lines.into_iter().map(Into::into).collect();
        self
    }

    /// True when the country is two ASCII capital letters, as ISO 3166 alpha-2 codes are.
    pub fn has_valid_country(&self) -> bool {
        self.country.len() == 2 && self.country.bytes().all(|b| b.is_ascii_uppercase())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_address_reads_and_writes_the_json_it_always_did() {
        let address = Address::new("Ada", "1 High St", "London", "N1 9GU", "GB")
            .with_lines(["Flat 2", "1 High St"]);
        let json = serde_json::to_string(&address).unwrap();
        assert_eq!(
            json,
            r#"{"name":"Ada","lines":["Flat 2","1 High St"],"city":"London","postal_code":"N1 9GU","country":"GB"}"#
        );
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), address);
        // A copy shares the text instead of copying it.
        let copy = address.clone();
        assert!(Arc::ptr_eq(&copy.city, &address.city));
        assert!(Arc::ptr_eq(&copy.lines, &address.lines));
        assert!(address.has_valid_country());
    }
}
