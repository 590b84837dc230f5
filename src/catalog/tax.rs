use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A tax class: products in one class share a rate (`"standard"`, `"reduced"`, `"zero"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct TaxClass(Arc<str>);

impl TaxClass {
    /// A tax class by name.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self(name.into())
    }

    /// The usual class for most goods.
    pub fn standard() -> Self {
        Self::new("standard")
    }

    /// The class name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaxClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One configured rate: a class, optionally narrowed to a destination country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TaxRate {
    /// The class it applies to.
    pub class: TaxClass,
    /// ISO 3166 alpha-2 destination country, or `None` for the default rate of the class.
    pub country: Option<String>,
    /// The rate as a fraction: `0.20` for 20 %.
    #[serde(deserialize_with = "crate::money::exact::decimal")]
    pub rate: Decimal,
}

/// The configured tax rates. Tax law is data the host configures, not code.
///
/// Lookup prefers a rate for the destination country and falls back to the class's
/// default rate; a class with neither is an error at pricing time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TaxTable {
    /// Shared: the service reads the table for every order, and a clone should not copy it.
    rates: Arc<[TaxRate]>,
}

impl TaxTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the rate for `class` (in `country`, or by default).
    #[must_use]
    pub fn with_rate(self, class: TaxClass, country: Option<&str>, rate: Decimal) -> Self {
        let country = country.map(str::to_owned);
        let mut rates: Vec<TaxRate> = self
            .rates
            .iter()
            .filter(|r| !(r.class == class && r.country == country))
            .cloned()
            .collect();
        rates.push(TaxRate {
            class,
            country,
            rate,
        });
        Self {
            rates: rates.into(),
        }
    }

    /// The rate for `class` shipped to `country`, if one is configured.
    pub fn rate_for(&self, class: &TaxClass, country: &str) -> Option<Decimal> {
        let exact = self
            .rates
            .iter()
            .find(|r| &r.class == class && r.country.as_deref() == Some(country));
        exact
            .or_else(|| {
                self.rates
                    .iter()
                    .find(|r| &r.class == class && r.country.is_none())
            })
            .map(|r| r.rate)
    }

    /// All configured rates.
    pub fn rates(&self) -> &[TaxRate] {
        &self.rates
    }

    /// Refuses a table with a rate that is not a fraction in [0, 1): a negative
    /// rate would pay the customer, and one of 100 % or more is a typo for a
    /// percentage (`20` for `0.20`).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the first such rate.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(bad) = self
            .rates
            .iter()
            .find(|r| r.rate.is_sign_negative() || r.rate >= Decimal::ONE)
        {
            return Err(Error::invalid(
                "tax rate",
                format!("{} for {} is not a fraction in [0, 1)", bad.rate, bad.class),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn country_rate_wins_over_default() {
        let table = TaxTable::new()
            .with_rate(TaxClass::standard(), None, dec!(0.20))
            .with_rate(TaxClass::standard(), Some("DE"), dec!(0.19))
            .with_rate(TaxClass::standard(), Some("DE"), dec!(0.19));
        assert_eq!(table.rates().len(), 2);
        assert_eq!(
            table.rate_for(&TaxClass::standard(), "DE"),
            Some(dec!(0.19))
        );
        assert_eq!(
            table.rate_for(&TaxClass::standard(), "GB"),
            Some(dec!(0.20))
        );
        assert_eq!(table.rate_for(&TaxClass::new("reduced"), "GB"), None);
    }

    #[test]
    fn only_fractions_below_one_are_rates() {
        let zero = TaxTable::new().with_rate(TaxClass::new("zero"), None, dec!(0));
        assert!(zero.validate().is_ok());
        assert!(
            zero.with_rate(TaxClass::standard(), None, dec!(0.9999))
                .validate()
                .is_ok()
        );
        for bad in [dec!(-0.01), dec!(1), dec!(20)] {
            let table = TaxTable::new()
                .with_rate(TaxClass::new("zero"), None, dec!(0))
                .with_rate(TaxClass::standard(), Some("GB"), bad);
            match table.validate() {
                Err(Error::Invalid { field, reason }) => {
                    assert_eq!(field, "tax rate");
                    assert!(
                        reason.starts_with(&format!("{bad} for standard")),
                        "{reason}"
                    );
                }
                other => panic!("{bad} accepted: {other:?}"),
            }
        }
    }
}
