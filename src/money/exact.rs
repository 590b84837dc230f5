//! Reading a decimal from JSON exactly: from a string (`"12.50"`, what o2c
//! writes), from an integer, or — with feature `json-numbers` — from a JSON number
//! parsed from its literal text. A number that has already become an `f64` is
//! refused, never rounded into an amount.

use std::fmt;

use rust_decimal::Decimal;
use serde::Deserializer;
use serde::de::{self, MapAccess, Visitor};

/// The key under which serde_json's `arbitrary_precision` hands a number over as
/// its literal text.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// Deserializes a decimal exactly (see the module docs); for
/// `#[serde(deserialize_with = …)]`.
///
/// # Errors
/// The deserializer's error for text that is not a decimal, or for a
/// fractional JSON number without feature `json-numbers`.
pub(crate) fn decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    deserializer.deserialize_any(Exact)
}

struct Exact;

impl<'de> Visitor<'de> for Exact {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal amount as a string (\"12.50\") or a JSON number")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Decimal, E> {
        parse(text)
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Decimal, E> {
        Ok(Decimal::from(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Decimal, E> {
        Ok(Decimal::from(n))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Decimal, E> {
        Err(E::custom(format!(
            "the amount {n} came as a JSON number whose digits are already lost to \
             floating point: send it as a string (\"12.50\"), or build with the \
             feature `json-numbers`, which reads numbers from their text"
        )))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Decimal, A::Error> {
        // serde_json's `arbitrary_precision`: `{NUMBER_TOKEN: "12.50"}`.
        match map.next_key::<String>()? {
            Some(key) if key == NUMBER_TOKEN => {
                let text: String = map.next_value()?;
                parse(&text)
            }
            _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }
}

/// Plain or scientific notation, exactly; too many digits is an error, not a
/// rounding.
fn parse<E: de::Error>(text: &str) -> Result<Decimal, E> {
    let exact = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        Decimal::from_str_exact(text)
    };
    exact.map_err(|e| E::custom(format!("`{text}` is not an exact decimal amount: {e}")))
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
    struct Amount(#[serde(deserialize_with = "super::decimal")] Decimal);

    fn read(json: &str) -> Result<Decimal, String> {
        serde_json::from_str::<Amount>(json)
            .map(|a| a.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn strings_and_integers_read_exactly() {
        assert_eq!(read(r#""12.50""#).ok(), Some(Decimal::new(1250, 2)));
        assert_eq!(read(r#""-0.001""#).ok(), Some(Decimal::new(-1, 3)));
        assert_eq!(read("12").ok(), Some(Decimal::from(12)));
        assert!(read(r#""12,50""#).is_err());
        assert!(read(r#""""#).is_err());
        assert!(read(r#""1.0000000000000000000000000000001""#).is_err());
    }

    #[cfg(not(feature = "json-numbers"))]
    #[test]
    fn a_fractional_number_is_refused_with_the_way_out() {
        let err = read("12.5").err().unwrap_or_default();
        assert!(err.contains("json-numbers"), "{err}");
    }

    #[cfg(feature = "json-numbers")]
    #[test]
    fn a_number_reads_from_its_literal_text() {
        assert_eq!(read("12.50").ok(), Some(Decimal::new(1250, 2)));
        assert_eq!(read("0.1").ok(), Some(Decimal::new(1, 1)));
        // What f64 would have made of it is not what arrives.
        assert_eq!(
            read("9007199254740993.01").ok(),
            Some(Decimal::new(900_719_925_474_099_301, 2))
        );
        assert_eq!(read("1.5e2").ok(), Some(Decimal::new(150, 0)));
    }
}
