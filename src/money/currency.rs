//! The [`Currency`] enum and its ISO 4217 data.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::amount::MoneyError;

/// ISO 4217 currency. Serialises as its 3-letter code string ("USD").
// The variant names are the ISO codes so that serde and `Debug` show the code itself.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum Currency {
    /// United States dollar.
    USD,
    /// Euro.
    EUR,
    /// Pound sterling.
    GBP,
    /// Japanese yen.
    JPY,
    /// Swiss franc.
    CHF,
    /// Canadian dollar.
    CAD,
    /// Australian dollar.
    AUD,
    /// New Zealand dollar.
    NZD,
    /// Swedish krona.
    SEK,
    /// Norwegian krone.
    NOK,
    /// Danish krone.
    DKK,
    /// Polish złoty.
    PLN,
    /// Czech koruna.
    CZK,
    /// Hungarian forint.
    HUF,
    /// Chinese yuan renminbi.
    CNY,
    /// Hong Kong dollar.
    HKD,
    /// Singapore dollar.
    SGD,
    /// Indian rupee.
    INR,
    /// Brazilian real.
    BRL,
    /// Mexican peso.
    MXN,
    /// South African rand.
    ZAR,
    /// South Korean won.
    KRW,
    /// Turkish lira.
    TRY,
    /// Israeli new shekel.
    ILS,
    /// United Arab Emirates dirham.
    AED,
    /// Saudi riyal.
    SAR,
    /// Thai baht.
    THB,
    /// Indonesian rupiah.
    IDR,
    /// Malaysian ringgit.
    MYR,
    /// Philippine peso.
    PHP,
    /// New Taiwan dollar.
    TWD,
    /// Chilean peso.
    CLP,
    /// Icelandic króna.
    ISK,
    /// Bahraini dinar.
    BHD,
    /// Kuwaiti dinar.
    KWD,
    /// Jordanian dinar.
    JOD,
    /// Omani rial.
    OMR,
    /// Tunisian dinar.
    TND,
}

impl Currency {
    /// Every supported currency, in declaration order.
    pub const ALL: &'static [Currency] = &[
        Currency::USD,
        Currency::EUR,
        Currency::GBP,
        Currency::JPY,
        Currency::CHF,
        Currency::CAD,
        Currency::AUD,
        Currency::NZD,
        Currency::SEK,
        Currency::NOK,
        Currency::DKK,
        Currency::PLN,
        Currency::CZK,
        Currency::HUF,
        Currency::CNY,
        Currency::HKD,
        Currency::SGD,
        Currency::INR,
        Currency::BRL,
        Currency::MXN,
        Currency::ZAR,
        Currency::KRW,
        Currency::TRY,
        Currency::ILS,
        Currency::AED,
        Currency::SAR,
        Currency::THB,
        Currency::IDR,
        Currency::MYR,
        Currency::PHP,
        Currency::TWD,
        Currency::CLP,
        Currency::ISK,
        Currency::BHD,
        Currency::KWD,
        Currency::JOD,
        Currency::OMR,
        Currency::TND,
    ];

    /// The ISO 4217 alphabetic code, e.g. `"USD"`.
    pub const fn code(self) -> &'static str {
        match self {
            Currency::USD => "USD",
            Currency::EUR => "EUR",
            Currency::GBP => "GBP",
            Currency::JPY => "JPY",
            Currency::CHF => "CHF",
            Currency::CAD => "CAD",
            Currency::AUD => "AUD",
            Currency::NZD => "NZD",
            Currency::SEK => "SEK",
            Currency::NOK => "NOK",
            Currency::DKK => "DKK",
            Currency::PLN => "PLN",
            Currency::CZK => "CZK",
            Currency::HUF => "HUF",
            Currency::CNY => "CNY",
            Currency::HKD => "HKD",
            Currency::SGD => "SGD",
            Currency::INR => "INR",
            Currency::BRL => "BRL",
            Currency::MXN => "MXN",
            Currency::ZAR => "ZAR",
            Currency::KRW => "KRW",
            Currency::TRY => "TRY",
            Currency::ILS => "ILS",
            Currency::AED => "AED",
            Currency::SAR => "SAR",
            Currency::THB => "THB",
            Currency::IDR => "IDR",
            Currency::MYR => "MYR",
            Currency::PHP => "PHP",
            Currency::TWD => "TWD",
            Currency::CLP => "CLP",
            Currency::ISK => "ISK",
            Currency::BHD => "BHD",
            Currency::KWD => "KWD",
            Currency::JOD => "JOD",
            Currency::OMR => "OMR",
            Currency::TND => "TND",
        }
    }

    /// The ISO 4217 minor-unit exponent: the number of decimal places in
    /// the smallest unit (2 for USD cents, 0 for JPY, 3 for BHD fils).
    pub const fn minor_units(self) -> u32 {
        match self {
            Currency::JPY | Currency::KRW | Currency::CLP | Currency::ISK => 0,
            Currency::BHD | Currency::KWD | Currency::JOD | Currency::OMR | Currency::TND => 3,
            Currency::USD
            | Currency::EUR
            | Currency::GBP
            | Currency::CHF
            | Currency::CAD
            | Currency::AUD
            | Currency::NZD
            | Currency::SEK
            | Currency::NOK
            | Currency::DKK
            | Currency::PLN
            | Currency::CZK
            | Currency::HUF
            | Currency::CNY
            | Currency::HKD
            | Currency::SGD
            | Currency::INR
            | Currency::BRL
            | Currency::MXN
            | Currency::ZAR
            | Currency::TRY
            | Currency::ILS
            | Currency::AED
            | Currency::SAR
            | Currency::THB
            | Currency::IDR
            | Currency::MYR
            | Currency::PHP
            | Currency::TWD => 2,
        }
    }

    /// Looks a currency up by its exact upper-case ISO 4217 code.
    ///
    /// # Errors
    ///
    /// [`MoneyError::UnknownCurrency`] if `code` is not the code of a
    /// supported currency (lower-case and padded codes are rejected too).
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        Self::ALL
            .iter()
            .copied()
            .find(|currency| currency.code() == code)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    /// Fails to compile when a variant is added, as a reminder to extend `ALL`.
    fn declaration_index(currency: Currency) -> usize {
        match currency {
            Currency::USD => 0,
            Currency::EUR => 1,
            Currency::GBP => 2,
            Currency::JPY => 3,
            Currency::CHF => 4,
            Currency::CAD => 5,
            Currency::AUD => 6,
            Currency::NZD => 7,
            Currency::SEK => 8,
            Currency::NOK => 9,
            Currency::DKK => 10,
            Currency::PLN => 11,
            Currency::CZK => 12,
            Currency::HUF => 13,
            Currency::CNY => 14,
            Currency::HKD => 15,
            Currency::SGD => 16,
            Currency::INR => 17,
            Currency::BRL => 18,
            Currency::MXN => 19,
            Currency::ZAR => 20,
            Currency::KRW => 21,
            Currency::TRY => 22,
            Currency::ILS => 23,
            Currency::AED => 24,
            Currency::SAR => 25,
            Currency::THB => 26,
            Currency::IDR => 27,
            Currency::MYR => 28,
            Currency::PHP => 29,
            Currency::TWD => 30,
            Currency::CLP => 31,
            Currency::ISK => 32,
            Currency::BHD => 33,
            Currency::KWD => 34,
            Currency::JOD => 35,
            Currency::OMR => 36,
            Currency::TND => 37,
        }
    }

    #[test]
    fn all_lists_every_variant_once_in_order() {
        assert_eq!(Currency::ALL.len(), 38);
        for (index, currency) in Currency::ALL.iter().enumerate() {
            assert_eq!(declaration_index(*currency), index, "{currency:?}");
        }
        let mut sorted = Currency::ALL.to_vec();
        sorted.sort();
        assert_eq!(sorted, Currency::ALL);
    }

    #[test]
    fn codes_are_unique_three_upper_case_letters_matching_debug() {
        let codes: HashSet<&str> = Currency::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes.len(), Currency::ALL.len());
        for currency in Currency::ALL {
            let code = currency.code();
            assert_eq!(code.len(), 3);
            assert!(code.bytes().all(|b| b.is_ascii_uppercase()));
            assert_eq!(format!("{currency:?}"), code);
        }
    }

    #[test]
    fn minor_units_match_iso_4217() {
        let zero = [Currency::JPY, Currency::KRW, Currency::CLP, Currency::ISK];
        let three = [
            Currency::BHD,
            Currency::KWD,
            Currency::JOD,
            Currency::OMR,
            Currency::TND,
        ];
        for currency in Currency::ALL.iter().copied() {
            let expected = if zero.contains(&currency) {
                0
            } else if three.contains(&currency) {
                3
            } else {
                2
            };
            assert_eq!(currency.minor_units(), expected, "{currency}");
        }
        // Commonly mistaken ones: ISO keeps two decimals for these.
        assert_eq!(Currency::IDR.minor_units(), 2);
        assert_eq!(Currency::HUF.minor_units(), 2);
        assert_eq!(Currency::TWD.minor_units(), 2);
    }

    #[test]
    fn from_code_round_trips_every_currency() {
        for currency in Currency::ALL.iter().copied() {
            assert_eq!(Currency::from_code(currency.code()), Ok(currency));
            assert_eq!(currency.code().parse::<Currency>(), Ok(currency));
            assert_eq!(currency.to_string(), currency.code());
        }
    }

    #[test]
    fn from_code_rejects_unknown_and_non_exact_codes() {
        for bad in ["", "usd", "Usd", " USD", "USD ", "US", "USDD", "XXX", "€"] {
            assert_eq!(
                Currency::from_code(bad),
                Err(MoneyError::UnknownCurrency(bad.to_owned())),
                "{bad:?}"
            );
            assert_eq!(
                bad.parse::<Currency>(),
                Err(MoneyError::UnknownCurrency(bad.to_owned()))
            );
        }
        assert_eq!(
            Currency::from_code("usd").unwrap_err().to_string(),
            "unknown currency code \"usd\""
        );
    }

    #[test]
    fn display_honours_width() {
        assert_eq!(format!("[{:<5}]", Currency::EUR), "[EUR  ]");
    }

    #[test]
    fn serde_uses_the_code_string() {
        assert_eq!(serde_json::to_string(&Currency::USD).unwrap(), "\"USD\"");
        for currency in Currency::ALL.iter().copied() {
            let json = serde_json::to_string(&currency).unwrap();
            assert_eq!(json, format!("\"{}\"", currency.code()));
            assert_eq!(serde_json::from_str::<Currency>(&json).unwrap(), currency);
        }
        assert!(serde_json::from_str::<Currency>("\"usd\"").is_err());
        assert!(serde_json::from_str::<Currency>("\"XXX\"").is_err());
    }

    proptest! {
        #[test]
        fn from_code_accepts_exactly_the_known_codes(
            code in prop_oneof![
                prop::sample::select(Currency::ALL).prop_map(|c| c.code().to_owned()),
                "[A-Z]{3}",
                "\\PC{0,4}",
            ]
        ) {
            let known = Currency::ALL.iter().find(|c| c.code() == code).copied();
            match Currency::from_code(&code) {
                Ok(currency) => prop_assert_eq!(Some(currency), known),
                Err(error) => {
                    prop_assert!(known.is_none());
                    prop_assert_eq!(error, MoneyError::UnknownCurrency(code.clone()));
                }
            }
        }
    }
}
