//! Exact money: ISO 4217 [`Currency`], [`Money`] amounts with checked
//! arithmetic, explicit [`Rounding`], and allocation that never loses or
//! creates a minor unit.

mod amount;
mod currency;
pub(crate) mod exact;

pub use amount::{Money, MoneyError, Rounding};
pub use currency::Currency;

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::{Currency, Money, MoneyError, Rounding};

    #[test]
    fn public_items_are_reachable_from_the_module_root() {
        let money: Money = "2.345 EUR".parse().unwrap();
        assert_eq!(money.currency(), Currency::EUR);
        assert_eq!(money.round(Rounding::HalfUp).to_string(), "2.35 EUR");
        assert_eq!(
            "EURO".parse::<Currency>(),
            Err(MoneyError::UnknownCurrency("EURO".to_owned()))
        );
    }
}
