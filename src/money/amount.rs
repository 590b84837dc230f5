//! [`Money`], the [`Rounding`] strategies it can be rounded with, and
//! [`MoneyError`].

use crate::error::ErrorKind;
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use super::currency::Currency;

/// Why a money operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// Two amounts of different currencies were combined or compared.
    #[error("currency mismatch: expected {expected}, found {found}")]
    CurrencyMismatch {
        /// The currency of the left-hand operand (or the requested currency).
        expected: Currency,
        /// The currency that did not match it.
        found: Currency,
    },
    /// The exact result does not fit in a [`Decimal`] (or, for minor units,
    /// in the requested integer type).
    #[error("arithmetic overflow in {operation}")]
    Overflow {
        /// The name of the operation that overflowed, e.g. `"add"`.
        operation: &'static str,
    },
    /// The text is not the code of a supported currency.
    #[error("unknown currency code {0:?}")]
    UnknownCurrency(String),
    /// The amount has digits below the currency's minor unit.
    #[error("{amount} has more decimal places than {currency} minor units allow; round it first")]
    NotInMinorUnits {
        /// The offending amount.
        amount: Decimal,
        /// Its currency.
        currency: Currency,
    },
    /// An allocation or split into zero parts was requested.
    #[error("cannot allocate into zero parts")]
    EmptyAllocation,
    /// Allocation weights were negative or all zero.
    #[error("allocation weights must be non-negative with at least one positive")]
    InvalidWeights,
    /// The text is not of the form `"<amount> <CODE>"`.
    #[error("cannot parse money from {0:?}")]
    Parse(String),
}

impl MoneyError {
    /// This error's stable code ([`Error::code`](crate::Error::code)).
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::CurrencyMismatch { .. } => "money.currency_mismatch",
            MoneyError::Overflow { .. } => "money.overflow",
            MoneyError::UnknownCurrency(..) => "money.unknown_currency",
            MoneyError::NotInMinorUnits { .. } => "money.not_in_minor_units",
            MoneyError::EmptyAllocation => "money.empty_allocation",
            MoneyError::InvalidWeights => "money.invalid_weights",
            MoneyError::Parse(..) => "money.parse",
        }
    }

    /// What sort of failure this is ([`Error::kind`](crate::Error::kind)).
    pub fn kind(&self) -> ErrorKind {
        match self {
            MoneyError::CurrencyMismatch { .. } => ErrorKind::InvalidInput,
            MoneyError::Overflow { .. } => ErrorKind::InvalidInput,
            MoneyError::UnknownCurrency(..) => ErrorKind::InvalidInput,
            MoneyError::NotInMinorUnits { .. } => ErrorKind::InvalidInput,
            MoneyError::EmptyAllocation => ErrorKind::Internal,
            MoneyError::InvalidWeights => ErrorKind::Internal,
            MoneyError::Parse(..) => ErrorKind::InvalidInput,
        }
    }
}

/// A rounding strategy, always named at the point of rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Midpoint to the even neighbour (banker's rounding): 2.345 → 2.34, 2.355 → 2.36.
    #[serde(alias = "HalfEven")]
    HalfEven,
    /// Midpoint away from zero (commercial rounding): 2.345 → 2.35, -2.345 → -2.35.
    #[serde(alias = "HalfUp")]
    HalfUp,
    /// Midpoint toward zero: 2.345 → 2.34, -2.345 → -2.34.
    #[serde(alias = "HalfDown")]
    HalfDown,
    /// Truncate: 2.349 → 2.34, -2.349 → -2.34.
    #[serde(alias = "TowardZero")]
    TowardZero,
    /// Any discarded digit bumps the magnitude: 2.341 → 2.35, -2.341 → -2.35.
    #[serde(alias = "AwayFromZero")]
    AwayFromZero,
    /// Toward negative infinity: 2.349 → 2.34, -2.341 → -2.35.
    #[serde(alias = "Floor")]
    Floor,
    /// Toward positive infinity: 2.341 → 2.35, -2.349 → -2.34.
    #[serde(alias = "Ceiling")]
    Ceiling,
}

impl Rounding {
    const fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfDown => RoundingStrategy::MidpointTowardZero,
            Rounding::TowardZero => RoundingStrategy::ToZero,
            Rounding::AwayFromZero => RoundingStrategy::AwayFromZero,
            Rounding::Floor => RoundingStrategy::ToNegativeInfinity,
            Rounding::Ceiling => RoundingStrategy::ToPositiveInfinity,
        }
    }
}

/// An exact amount of one currency.
///
/// Equality and hashing compare the numeric value, so `12.3 USD == 12.30 USD`.
/// There is deliberately no `PartialOrd` and no `+`/`-`/`*` operators: mixing
/// currencies or overflowing must be reported, not panic, so use
/// [`Money::cmp_amount`] and the `checked_*` methods instead.
///
/// Serialises as `{"amount":"12.34","currency":"USD"}`, the amount written at
/// least at the currency's scale (`"0.00"`, `"12.50"`; `"0.125"` keeps its
/// digits), and reads back from any scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Money {
    #[serde(deserialize_with = "super::exact::decimal")]
    amount: Decimal,
    currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A command hashed as o2c 0.1 wrote it keeps the amount it carries.
        let amount = if crate::fingerprint::writing_legacy() {
            self.amount
        } else {
            at_scale(self.amount, self.currency.minor_units())
        };
        let mut money = serializer.serialize_struct("Money", 2)?;
        money.serialize_field("amount", &amount)?;
        money.serialize_field("currency", &self.currency)?;
        money.end()
    }
}

/// `amount` with at least `scale` decimal places: trailing zeros added, never a
/// digit taken away.
fn at_scale(amount: Decimal, scale: u32) -> Decimal {
    if amount.scale() >= scale {
        return amount;
    }
    let mut padded = amount;
    padded.rescale(scale);
    // Rescaling only adds zeros, unless the digits would not fit: then keep it.
    if padded == amount { padded } else { amount }
}

const fn overflow(operation: &'static str) -> MoneyError {
    MoneyError::Overflow { operation }
}

/// A [`Decimal`] negation cannot overflow (its sign is one bit), so neither can
/// this.
impl std::ops::Neg for Money {
    type Output = Money;

    fn neg(self) -> Money {
        Money::new(-self.amount, self.currency)
    }
}

impl Money {
    /// An amount of `currency`, kept at whatever scale `amount` has.
    #[must_use]
    pub const fn new(amount: Decimal, currency: Currency) -> Money {
        Money { amount, currency }
    }

    /// Zero of `currency`.
    #[must_use]
    pub const fn zero(currency: Currency) -> Money {
        Money::new(Decimal::ZERO, currency)
    }

    /// An amount given as a count of minor units: `from_minor(1234, USD)` is 12.34 USD.
    #[must_use]
    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        // `Decimal::new` only rejects scales above 28; ISO minor units are at most 3.
        Money::new(Decimal::new(minor, currency.minor_units()), currency)
    }

    /// The amount as a count of minor units: 12.34 USD is 1234.
    ///
    /// # Errors
    ///
    /// [`MoneyError::NotInMinorUnits`] if the amount has digits below the
    /// minor unit (round it first); [`MoneyError::Overflow`] if the count does
    /// not fit in an `i64`.
    pub fn to_minor(self) -> Result<i64, MoneyError> {
        let minor = self.minor_total()?;
        i64::try_from(minor).map_err(|_| overflow("to_minor"))
    }

    /// The amount.
    pub const fn amount(self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub const fn currency(self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub fn is_zero(self) -> bool {
        self.amount.is_zero()
    }

    /// Whether the amount is strictly greater than zero.
    pub fn is_positive(self) -> bool {
        self.amount > Decimal::ZERO
    }

    /// Whether the amount is strictly less than zero.
    pub fn is_negative(self) -> bool {
        self.amount < Decimal::ZERO
    }

    /// `self + rhs`, exactly.
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`] if the currencies differ;
    /// [`MoneyError::Overflow`] if the exact sum cannot be represented.
    #[inline]
    pub fn checked_add(self, rhs: Money) -> Result<Money, MoneyError> {
        self.same_currency(rhs)?;
        self.amount
            .checked_add(rhs.amount)
            .filter(|sum| is_exact_sum(*sum, self.amount, rhs.amount))
            .map(|sum| Money::new(sum, self.currency))
            .ok_or(overflow("add"))
    }

    /// `self - rhs`, exactly.
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`] if the currencies differ;
    /// [`MoneyError::Overflow`] if the exact difference cannot be represented.
    #[inline]
    pub fn checked_sub(self, rhs: Money) -> Result<Money, MoneyError> {
        self.same_currency(rhs)?;
        self.amount
            .checked_sub(rhs.amount)
            .filter(|difference| is_exact_sum(*difference, self.amount, -rhs.amount))
            .map(|difference| Money::new(difference, self.currency))
            .ok_or(overflow("sub"))
    }

    /// `-self`.
    #[must_use]
    #[deprecated(since = "0.2.0", note = "negation cannot fail: write `-money`")]
    pub fn checked_neg(self) -> Money {
        -self
    }

    /// `self * factor`, not rounded to minor units (round the result with
    /// [`Money::round`] when it is to be charged).
    ///
    /// The product keeps every digit [`Decimal`] can hold; only a product
    /// needing more than 28 decimal places or 96 bits of mantissa has its
    /// least significant digits rounded by `rust_decimal`.
    ///
    /// # Errors
    ///
    /// [`MoneyError::Overflow`] if the product's magnitude is out of range.
    pub fn checked_mul(self, factor: Decimal) -> Result<Money, MoneyError> {
        self.amount
            .checked_mul(factor)
            .map(|product| Money::new(product, self.currency))
            .ok_or(overflow("mul"))
    }

    /// `self * quantity`, exactly: the price of `quantity` units.
    ///
    /// # Errors
    ///
    /// [`MoneyError::Overflow`] if the exact product cannot be represented.
    pub fn checked_mul_qty(self, quantity: u64) -> Result<Money, MoneyError> {
        self.amount
            .checked_mul(Decimal::from(quantity))
            .filter(|product| is_exact_product(*product, self.amount, quantity))
            .map(|product| Money::new(product, self.currency))
            .ok_or(overflow("mul_qty"))
    }

    /// Rounds to the currency's minor units with `strategy`.
    #[must_use]
    pub fn round(self, strategy: Rounding) -> Money {
        self.round_dp(self.currency.minor_units(), strategy)
    }

    /// Rounds to `decimal_places` with `strategy`. An amount that already has
    /// no more digits than that is returned unchanged.
    #[must_use]
    pub fn round_dp(self, decimal_places: u32, strategy: Rounding) -> Money {
        Money::new(
            self.amount
                .round_dp_with_strategy(decimal_places, strategy.strategy()),
            self.currency,
        )
    }

    /// Whether the amount has no digits below the minor unit, ignoring
    /// trailing zeros (12.3400 USD is in minor units, 12.345 USD is not).
    pub fn is_in_minor_units(self) -> bool {
        self.amount.normalize().scale() <= self.currency.minor_units()
    }

    /// The smaller of the two amounts (`self` when they are equal).
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`] if the currencies differ.
    pub fn min(self, rhs: Money) -> Result<Money, MoneyError> {
        Ok(match self.cmp_amount(rhs)? {
            Ordering::Greater => rhs,
            Ordering::Less | Ordering::Equal => self,
        })
    }

    /// The larger of the two amounts (`rhs` when they are equal, as in [`Ord::max`]).
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`] if the currencies differ.
    pub fn max(self, rhs: Money) -> Result<Money, MoneyError> {
        Ok(match self.cmp_amount(rhs)? {
            Ordering::Greater => self,
            Ordering::Less | Ordering::Equal => rhs,
        })
    }

    /// Compares the amounts of two sums of the same currency.
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`] if the currencies differ.
    pub fn cmp_amount(self, rhs: Money) -> Result<Ordering, MoneyError> {
        self.same_currency(rhs)?;
        Ok(self.amount.cmp(&rhs.amount))
    }

    /// Splits into parts proportional to `weights` (non-negative, at least
    /// one positive), in minor units, by the largest-remainder method: each
    /// part first gets the floor of its exact share, then the leftover minor
    /// units go one each to the parts with the largest remainders, ties to
    /// the earlier part.
    ///
    /// The parts sum to `self` exactly and each differs from its exact
    /// proportional share by less than one minor unit, so a zero weight gets
    /// zero. A negative amount gives negative parts (split by magnitude);
    /// a zero amount gives zero parts.
    ///
    /// # Errors
    ///
    /// - [`MoneyError::EmptyAllocation`] if `weights` is empty;
    /// - [`MoneyError::InvalidWeights`] if a weight is negative or all are zero;
    /// - [`MoneyError::NotInMinorUnits`] if `self` has sub-minor digits;
    /// - [`MoneyError::Overflow`] if the weights span too many orders of
    ///   magnitude to be brought to a common integer scale, or if a part of an
    ///   amount near [`Decimal::MAX`] would need more digits than fit.
    pub fn allocate(self, weights: &[Decimal]) -> Result<Vec<Money>, MoneyError> {
        if weights.is_empty() {
            return Err(MoneyError::EmptyAllocation);
        }
        if weights.iter().any(|weight| *weight < Decimal::ZERO)
            || weights.iter().all(|weight| weight.is_zero())
        {
            return Err(MoneyError::InvalidWeights);
        }
        let total = self.minor_total()?;
        let magnitude = total.unsigned_abs();
        let weights = integer_weights(weights).ok_or(overflow("allocate"))?;
        let weight_sum = weights
            .iter()
            .try_fold(0_u128, |sum, weight| sum.checked_add(*weight))
            .ok_or(overflow("allocate"))?;

        let mut shares = Vec::with_capacity(weights.len());
        let mut remainders = Vec::with_capacity(weights.len());
        for (index, weight) in weights.iter().enumerate() {
            let (high, low) = widening_mul(magnitude, *weight);
            let (share, remainder) =
                wide_div_rem(high, low, weight_sum).ok_or(overflow("allocate"))?;
            shares.push(share);
            remainders.push((index, remainder));
        }

        let handed_out = shares
            .iter()
            .try_fold(0_u128, |sum, share| sum.checked_add(*share))
            .ok_or(overflow("allocate"))?;
        // The floors undershoot by the sum of the fractional parts, which is
        // below the part count; anything else would create or lose units.
        let leftover = magnitude
            .checked_sub(handed_out)
            .and_then(|leftover| usize::try_from(leftover).ok())
            .filter(|leftover| *leftover <= shares.len())
            .ok_or(overflow("allocate"))?;
        remainders.sort_by(|(index_a, rem_a), (index_b, rem_b)| {
            rem_b.cmp(rem_a).then(index_a.cmp(index_b))
        });
        for (index, _) in remainders.into_iter().take(leftover) {
            if let Some(share) = shares.get_mut(index) {
                *share = share.checked_add(1).ok_or(overflow("allocate"))?;
            }
        }

        let negative = total < 0;
        shares
            .into_iter()
            .map(|share| self.part(share, negative, "allocate"))
            .collect()
    }

    /// Splits into `parts` near-equal parts in minor units; the first ones
    /// get the extra minor unit, so 100.00 in 3 is 33.34, 33.33, 33.33.
    ///
    /// Same result as [`Money::allocate`] with `parts` equal weights.
    ///
    /// # Errors
    ///
    /// - [`MoneyError::EmptyAllocation`] if `parts` is zero;
    /// - [`MoneyError::NotInMinorUnits`] if `self` has sub-minor digits;
    /// - [`MoneyError::Overflow`] if a vector of `parts` amounts cannot be
    ///   allocated, or if a part of an amount near [`Decimal::MAX`] would
    ///   need more digits than fit.
    pub fn split(self, parts: usize) -> Result<Vec<Money>, MoneyError> {
        if parts == 0 {
            return Err(MoneyError::EmptyAllocation);
        }
        let total = self.minor_total()?;
        let magnitude = total.unsigned_abs();
        let count = u128::try_from(parts).map_err(|_| overflow("split"))?;
        let base = magnitude.checked_div(count).ok_or(overflow("split"))?;
        let extra = magnitude
            .checked_rem(count)
            .and_then(|extra| usize::try_from(extra).ok())
            .ok_or(overflow("split"))?;
        let negative = total < 0;
        let small = self.part(base, negative, "split")?;
        let large = if extra > 0 {
            self.part(base.saturating_add(1), negative, "split")?
        } else {
            small
        };

        let mut result = Vec::new();
        result
            .try_reserve_exact(parts)
            .map_err(|_| overflow("split"))?;
        result.extend((0..parts).map(|index| if index < extra { large } else { small }));
        Ok(result)
    }

    /// Sums money of one currency; empty -> zero of `currency`.
    ///
    /// # Errors
    ///
    /// [`MoneyError::CurrencyMismatch`] if an item is not in `currency`;
    /// [`MoneyError::Overflow`] if a running total cannot be represented.
    pub fn sum<I: IntoIterator<Item = Money>>(
        currency: Currency,
        items: I,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    #[inline]
    fn same_currency(self, rhs: Money) -> Result<(), MoneyError> {
        if self.currency == rhs.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                expected: self.currency,
                found: rhs.currency,
            })
        }
    }

    /// The amount as an exact count of minor units. Always fits: a
    /// [`Decimal`] mantissa is 96 bits and the scale-up factor at most 10^3.
    fn minor_total(self) -> Result<i128, MoneyError> {
        let not_in_minor_units = MoneyError::NotInMinorUnits {
            amount: self.amount,
            currency: self.currency,
        };
        let normalized = self.amount.normalize();
        let missing_places = self
            .currency
            .minor_units()
            .checked_sub(normalized.scale())
            .ok_or(not_in_minor_units)?;
        pow10(missing_places)
            .and_then(|factor| normalized.mantissa().checked_mul(factor))
            .ok_or(overflow("to_minor"))
    }

    /// A part of `self` given as a magnitude in minor units, at the
    /// currency's scale where the 96-bit mantissa allows it.
    fn part(
        self,
        magnitude: u128,
        negative: bool,
        operation: &'static str,
    ) -> Result<Money, MoneyError> {
        let magnitude = i128::try_from(magnitude).map_err(|_| overflow(operation))?;
        let mut minor = if negative { -magnitude } else { magnitude };
        let mut scale = self.currency.minor_units();
        loop {
            if let Ok(amount) = Decimal::try_from_i128_with_scale(minor, scale) {
                return Ok(Money::new(amount, self.currency));
            }
            // A part of an amount near Decimal::MAX held at a lower scale than
            // the currency's may still fit once its trailing zeros are dropped.
            if scale == 0 || minor.checked_rem(10) != Some(0) {
                return Err(overflow(operation));
            }
            minor = minor.checked_div(10).ok_or_else(|| overflow(operation))?;
            scale -= 1;
        }
    }
}

/// Formats as `"<amount> <CODE>"`, padding the amount with zeros to the
/// currency's minor units ("12.30 USD", "5 JPY", "1.500 BHD") and keeping
/// any further digits ("0.125 USD").
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Negating zero leaves a sign bit that would print as "-0.00".
        let amount = if self.amount.is_zero() {
            self.amount.abs()
        } else {
            self.amount
        };
        let digits = amount.to_string();
        let places = digits
            .split_once('.')
            .map_or(0, |(_, fraction)| fraction.len());
        let minor_units = self.currency.minor_units() as usize;
        f.write_str(&digits)?;
        if places == 0 && minor_units > 0 {
            f.write_str(".")?;
        }
        for _ in places..minor_units {
            f.write_str("0")?;
        }
        write!(f, " {}", self.currency.code())
    }
}

/// Parses the [`Display`](fmt::Display) form: an amount (optional `-`,
/// digits, optional `.` and digits), one space, and an exact ISO code.
impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || MoneyError::Parse(s.to_owned());
        let (amount, code) = s.split_once(' ').ok_or_else(error)?;
        if !is_plain_decimal(amount) {
            return Err(error());
        }
        // `from_str_exact` refuses to round digits beyond Decimal's precision.
        // Display pads to minor units even where the padded mantissa would not
        // fit in 96 bits, so padding zeros are dropped if they are the problem.
        let amount = Decimal::from_str_exact(amount)
            .or_else(|_| Decimal::from_str_exact(without_fraction_zeros(amount)))
            .map_err(|_| error())?;
        let currency = Currency::from_code(code).map_err(|_| error())?;
        Ok(Money::new(amount, currency))
    }
}

/// Whether `text` is `-?[0-9]+(\.[0-9]+)?`; `Decimal`'s own parser also
/// takes forms such as `1_000` and `.5` that `Display` never produces.
fn is_plain_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    match unsigned.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(unsigned),
    }
}

/// `text` with trailing zeros after the decimal point (and then a bare
/// point) removed: `"12.500"` → `"12.5"`, `"7.00"` → `"7"`, `"100"` unchanged.
fn without_fraction_zeros(text: &str) -> &str {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        text
    }
}

fn pow10(exponent: u32) -> Option<i128> {
    10_i128.checked_pow(exponent)
}

/// Splits `value` into its integer part and its fraction in units of
/// 10^-28, both with the sign of `value`. Neither can overflow an `i128`.
fn integer_and_fraction(value: Decimal) -> Option<(i128, i128)> {
    let mantissa = value.mantissa();
    let unit = pow10(value.scale())?;
    let fraction_factor = pow10(Decimal::MAX_SCALE.checked_sub(value.scale())?)?;
    let integer = mantissa.checked_div(unit)?;
    let fraction = mantissa.checked_rem(unit)?.checked_mul(fraction_factor)?;
    Some((integer, fraction))
}

/// Whether `result == a + b` exactly. `rust_decimal` rounds a sum whose
/// digits do not fit, and money must never change silently.
#[inline]
fn is_exact_sum(result: Decimal, a: Decimal, b: Decimal) -> bool {
    // rust_decimal adds at the larger scale and only ever rounds by giving up
    // scale, so a sum that kept it is exact: the common case, and a cheap one
    // (inlined into every addition; the rest is not).
    result.scale() == a.scale().max(b.scale()) || is_exact_rounded_sum(result, a, b)
}

/// [`is_exact_sum`] for a sum that gave up scale: exact only if the digits it
/// dropped were zeros.
#[cold]
fn is_exact_rounded_sum(result: Decimal, a: Decimal, b: Decimal) -> bool {
    let residual = || {
        let (result_int, result_frac) = integer_and_fraction(result)?;
        let (a_int, a_frac) = integer_and_fraction(a)?;
        let (b_int, b_frac) = integer_and_fraction(b)?;
        let int_diff = result_int.checked_sub(a_int)?.checked_sub(b_int)?;
        let frac_diff = result_frac.checked_sub(a_frac)?.checked_sub(b_frac)?;
        // |frac_diff| < 3 * 10^28, so an int_diff too large to scale cannot be cancelled.
        int_diff
            .checked_mul(pow10(Decimal::MAX_SCALE)?)?
            .checked_add(frac_diff)
    };
    residual() == Some(0)
}

/// Whether `result == amount * quantity` exactly, without forming the
/// product, which can need up to 160 bits.
fn is_exact_product(result: Decimal, amount: Decimal, quantity: u64) -> bool {
    let quantity = i128::from(quantity);
    let (result_mantissa, result_scale) = (result.mantissa(), result.scale());
    let (amount_mantissa, amount_scale) = (amount.mantissa(), amount.scale());
    if quantity == 0 {
        return result_mantissa == 0;
    }
    if let Some(extra_places) = result_scale.checked_sub(amount_scale) {
        // The product fitted with all its digits: compare at the result's scale.
        return pow10(extra_places)
            .and_then(|factor| amount_mantissa.checked_mul(quantity)?.checked_mul(factor))
            == Some(result_mantissa);
    }
    // rust_decimal dropped d trailing digits to fit, which is exact only if
    // they were zeros: result_mantissa * 10^d == amount_mantissa * quantity.
    // Cancelling gcd(10^d, quantity) leaves coprime factors, so each must
    // divide the opposite mantissa and the two quotients must agree.
    let check = || {
        let power = pow10(amount_scale.checked_sub(result_scale)?)?;
        let common = gcd(power, quantity);
        let power_part = power.checked_div(common)?;
        let quantity_part = quantity.checked_div(common)?;
        Some(
            result_mantissa.checked_rem(quantity_part)? == 0
                && amount_mantissa.checked_rem(power_part)? == 0
                && result_mantissa.checked_div(quantity_part)?
                    == amount_mantissa.checked_div(power_part)?,
        )
    };
    check() == Some(true)
}

/// Greatest common divisor of two positive numbers.
fn gcd(mut a: i128, mut b: i128) -> i128 {
    while let Some(remainder) = a.checked_rem(b) {
        a = b;
        b = remainder;
    }
    a
}

/// The weights as integers at their common scale, trailing zeros dropped
/// first so the common scale is as small as possible.
fn integer_weights(weights: &[Decimal]) -> Option<Vec<u128>> {
    let weights: Vec<Decimal> = weights.iter().map(Decimal::normalize).collect();
    let scale = weights.iter().map(Decimal::scale).max()?;
    weights
        .iter()
        .map(|weight| {
            let factor = 10_u128.checked_pow(scale.checked_sub(weight.scale())?)?;
            weight.mantissa().unsigned_abs().checked_mul(factor)
        })
        .collect()
}

/// The full 256-bit product `a * b` as `(high, low)` halves.
fn widening_mul(a: u128, b: u128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a_high, a_low) = (a >> 64, a & MASK);
    let (b_high, b_low) = (b >> 64, b & MASK);
    // Each partial product of two 64-bit halves fits in 128 bits, and the
    // column sums below stay under 3 * 2^64, so nothing here can overflow.
    let low_low = a_low * b_low;
    let low_high = a_low * b_high;
    let high_low = a_high * b_low;
    let high_high = a_high * b_high;
    let middle = (low_low >> 64) + (low_high & MASK) + (high_low & MASK);
    let low = (low_low & MASK) | (middle << 64);
    let high = high_high + (low_high >> 64) + (high_low >> 64) + (middle >> 64);
    (high, low)
}

/// `(high * 2^128 + low) / divisor` and the remainder, or `None` if the
/// divisor is zero or the quotient would not fit in 128 bits.
fn wide_div_rem(high: u128, low: u128, divisor: u128) -> Option<(u128, u128)> {
    if divisor == 0 || high >= divisor {
        return None;
    }
    if high == 0 {
        // The usual case (amounts and weights of everyday size): native division.
        return Some((low / divisor, low % divisor));
    }
    let mut remainder = high;
    let mut quotient = 0_u128;
    for bit in (0..128).rev() {
        // The remainder stays below the divisor, so after the shift it is
        // below twice the divisor: one conditional subtraction suffices.
        let carry = remainder >> 127 == 1;
        remainder = (remainder << 1) | ((low >> bit) & 1);
        quotient <<= 1;
        if carry || remainder >= divisor {
            remainder = remainder.wrapping_sub(divisor);
            quotient |= 1;
        }
    }
    Some((quotient, remainder))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests;
