//! Decimal arithmetic for the baseline: checked sums, rounding to cents, cents out.

use rust_decimal::{Decimal, RoundingStrategy};

/// An amount, or why it could not be computed.
pub(super) type Money = Result<Decimal, String>;

pub(super) fn overflow() -> String {
    "amount overflows".to_owned()
}
pub(super) fn add(a: Decimal, b: Decimal) -> Money {
    a.checked_add(b).ok_or_else(overflow)
}
pub(super) fn sub(a: Decimal, b: Decimal) -> Money {
    a.checked_sub(b).ok_or_else(overflow)
}
pub(super) fn sum(values: impl IntoIterator<Item = Decimal>) -> Money {
    values.into_iter().try_fold(Decimal::ZERO, add)
}
/// Commercial rounding to cents, as o2c's `Rounding::HalfUp`.
pub(super) fn round(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}
/// A cent amount as whole cents.
pub(super) fn cents(mut d: Decimal) -> Result<i64, String> {
    d.rescale(2);
    i64::try_from(d.mantissa()).map_err(|_| overflow())
}
