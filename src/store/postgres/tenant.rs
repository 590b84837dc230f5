//! Tenant names: one PostgreSQL schema per tenant.

use std::fmt;

use super::error::PostgresError;

/// A tenant's name, which is its schema's name: 1 to 63 characters of lower-case
/// ASCII letters, digits and `_`, starting with a letter or `_`, not starting with
/// `pg_` (PostgreSQL keeps those). Lower case only, so the name means the same
/// quoted or not; it is quoted as an identifier in every statement all the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantName(String);

impl TenantName {
    /// Checks `name`.
    ///
    /// # Errors
    /// [`PostgresError::InvalidTenant`] saying what is wrong.
    pub fn new(name: impl Into<String>) -> Result<Self, PostgresError> {
        let name = name.into();
        let invalid = |reason| PostgresError::InvalidTenant {
            name: name.clone(),
            reason,
        };
        let Some(first) = name.chars().next() else {
            return Err(invalid("it is empty"));
        };
        if name.len() > 63 {
            return Err(invalid("it is longer than 63 bytes"));
        }
        if !(first.is_ascii_lowercase() || first == '_') {
            return Err(invalid("it must start with a lower-case letter or _"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(invalid("it may hold only a-z, 0-9 and _"));
        }
        if name.starts_with("pg_") {
            return Err(invalid("names starting with pg_ belong to PostgreSQL"));
        }
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name quoted as an SQL identifier (`"shop_eu"`). The name holds no `"`,
    /// so nothing needs escaping; quoting keeps a name that is also a keyword
    /// (`user`, `order`) a name.
    pub(super) fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

impl fmt::Display for TenantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for TenantName {
    type Err = PostgresError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_quoted() {
        for good in ["o2c", "shop_eu", "_x", "order", "t1", &"a".repeat(63)] {
            let name = TenantName::new(good).unwrap();
            assert_eq!(name.quoted(), format!("\"{good}\""));
        }
        for bad in [
            "",
            "Shop",
            "1shop",
            "shop-eu",
            "a\"; DROP SCHEMA public; --",
            "pg_catalog",
            "schön",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(
                    TenantName::new(bad),
                    Err(PostgresError::InvalidTenant { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
