use serde::{Deserialize, Serialize};

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Address {
    /// Recipient name.
    pub name: String,
    /// Street lines.
    pub lines: Vec<String>,
    /// City or town.
    pub city: String,
    /// Postal or ZIP code.
    pub postal_code: String,
    /// ISO 3166 alpha-2 country code (`"GB"`, `"US"`): drives tax and shipping zones.
    pub country: String,
}

impl Address {
    /// A one-line address.
    pub fn new(
        name: impl Into<String>,
        line: impl Into<String>,
        city: impl Into<String>,
        postal_code: impl Into<String>,
        country: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            lines: vec![line.into()],
            city: city.into(),
            postal_code: postal_code.into(),
            country: country.into(),
        }
    }

    /// True when the country is two ASCII capital letters, as ISO 3166 alpha-2 codes are.
    pub fn has_valid_country(&self) -> bool {
        self.country.len() == 2 && self.country.bytes().all(|b| b.is_ascii_uppercase())
    }
}
