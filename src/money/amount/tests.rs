use proptest::prelude::*;
use rust_decimal_macros::dec;

use super::*;

const USD: Currency = Currency::USD;

fn usd(amount: Decimal) -> Money {
    Money::new(amount, USD)
}

fn amounts(parts: &[Money]) -> Vec<Decimal> {
    parts.iter().map(|part| part.amount()).collect()
}

fn overflow_in(operation: &'static str) -> MoneyError {
    MoneyError::Overflow { operation }
}

// ---- construction and accessors ----

#[test]
fn new_keeps_amount_scale_and_currency() {
    let money = Money::new(dec!(12.3400), Currency::EUR);
    assert_eq!(money.amount().scale(), 4);
    assert_eq!(money.currency(), Currency::EUR);
    assert_eq!(money, Money::new(dec!(12.34), Currency::EUR));
    assert_ne!(money, Money::new(dec!(12.34), USD));
}

#[test]
fn zero_and_sign_predicates() {
    let zero = Money::zero(Currency::JPY);
    assert!(zero.is_zero() && !zero.is_positive() && !zero.is_negative());
    assert!(usd(dec!(0.01)).is_positive());
    assert!(usd(dec!(-0.01)).is_negative());
    let negative_zero = -usd(dec!(0.00));
    assert!(negative_zero.is_zero() && !negative_zero.is_negative());
}

#[test]
fn from_minor_uses_currency_exponent() {
    assert_eq!(Money::from_minor(1234, USD).amount(), dec!(12.34));
    assert_eq!(Money::from_minor(1234, USD).amount().scale(), 2);
    assert_eq!(Money::from_minor(1234, Currency::JPY).amount(), dec!(1234));
    assert_eq!(Money::from_minor(1234, Currency::BHD).amount(), dec!(1.234));
    assert_eq!(Money::from_minor(-5, USD).amount(), dec!(-0.05));
    assert_eq!(Money::from_minor(i64::MIN, USD).to_minor(), Ok(i64::MIN));
}

#[test]
fn to_minor_converts_and_rejects() {
    assert_eq!(usd(dec!(12.34)).to_minor(), Ok(1234));
    assert_eq!(usd(dec!(12.3)).to_minor(), Ok(1230));
    assert_eq!(usd(dec!(12.340000)).to_minor(), Ok(1234));
    assert_eq!(usd(dec!(-7)).to_minor(), Ok(-700));
    assert_eq!(Money::new(dec!(1.5), Currency::BHD).to_minor(), Ok(1500));
    assert_eq!(Money::new(dec!(500), Currency::JPY).to_minor(), Ok(500));
    assert_eq!(
        usd(dec!(12.345)).to_minor(),
        Err(MoneyError::NotInMinorUnits {
            amount: dec!(12.345),
            currency: USD
        })
    );
    assert!(matches!(
        Money::new(dec!(0.5), Currency::JPY).to_minor(),
        Err(MoneyError::NotInMinorUnits { .. })
    ));
    assert_eq!(usd(Decimal::MAX).to_minor(), Err(overflow_in("to_minor")));
    assert_eq!(
        usd(Decimal::from(i64::MAX)).to_minor(),
        Err(overflow_in("to_minor"))
    );
}

#[test]
fn is_in_minor_units_ignores_trailing_zeros() {
    assert!(usd(dec!(12.3400)).is_in_minor_units());
    assert!(usd(dec!(12)).is_in_minor_units());
    assert!(!usd(dec!(12.345)).is_in_minor_units());
    assert!(Money::new(dec!(1.000), Currency::JPY).is_in_minor_units());
    assert!(!Money::new(dec!(1.1), Currency::JPY).is_in_minor_units());
    assert!(Money::new(dec!(1.234), Currency::BHD).is_in_minor_units());
    assert!(!Money::new(dec!(1.2345), Currency::BHD).is_in_minor_units());
    assert!(usd(Decimal::MAX).is_in_minor_units());
    assert!(!usd(Decimal::new(1, 28)).is_in_minor_units());
}

// ---- arithmetic ----

#[test]
fn add_and_sub_known_values() {
    assert_eq!(
        usd(dec!(12.34)).checked_add(usd(dec!(0.66))),
        Ok(usd(dec!(13.00)))
    );
    assert_eq!(
        usd(dec!(12.34)).checked_sub(usd(dec!(20))),
        Ok(usd(dec!(-7.66)))
    );
    assert_eq!(
        usd(dec!(0.001)).checked_add(usd(dec!(0.002))),
        Ok(usd(dec!(0.003)))
    );
}

#[test]
fn add_and_sub_reject_currency_mismatch() {
    let expected = Err(MoneyError::CurrencyMismatch {
        expected: USD,
        found: Currency::EUR,
    });
    let euro = Money::new(dec!(1), Currency::EUR);
    assert_eq!(usd(dec!(1)).checked_add(euro), expected);
    assert_eq!(usd(dec!(1)).checked_sub(euro), expected);
    assert_eq!(
        usd(dec!(1)).checked_add(euro).unwrap_err().to_string(),
        "currency mismatch: expected USD, found EUR"
    );
}

#[test]
fn add_and_sub_overflow_at_decimal_max() {
    assert_eq!(
        usd(Decimal::MAX).checked_add(usd(dec!(1))),
        Err(overflow_in("add"))
    );
    assert_eq!(
        usd(Decimal::MIN).checked_sub(usd(dec!(1))),
        Err(overflow_in("sub"))
    );
    assert_eq!(
        usd(Decimal::MAX).checked_sub(usd(Decimal::MAX)),
        Ok(usd(dec!(0)))
    );
    assert_eq!(
        usd(Decimal::MAX)
            .checked_add(usd(dec!(1)))
            .unwrap_err()
            .to_string(),
        "arithmetic overflow in add"
    );
}

#[test]
fn add_reports_overflow_instead_of_rounding() {
    // rust_decimal would round this to ...950334 or ...950335 and lose the half.
    let big = usd(dec!(79228162514264337593543950334));
    assert_eq!(big.checked_add(usd(dec!(0.5))), Err(overflow_in("add")));
    assert_eq!(big.checked_sub(usd(dec!(0.5))), Err(overflow_in("sub")));
    assert_eq!(
        usd(dec!(10)).checked_add(usd(Decimal::new(1, 28))),
        Err(overflow_in("add"))
    );
    // Digits that cancel out are fine even though the operands are huge.
    assert_eq!(big.checked_add(usd(dec!(1.0))), Ok(usd(Decimal::MAX)));
}

#[test]
fn neg_flips_sign() {
    assert_eq!(-usd(dec!(1.25)), usd(dec!(-1.25)));
    assert_eq!(-usd(Decimal::MIN), usd(Decimal::MAX));
}

#[test]
fn mul_is_unrounded() {
    assert_eq!(
        usd(dec!(19.99)).checked_mul(dec!(0.0825)),
        Ok(usd(dec!(1.649175)))
    );
    assert_eq!(usd(dec!(10)).checked_mul(dec!(-0.5)), Ok(usd(dec!(-5))));
    assert_eq!(
        usd(Decimal::MAX).checked_mul(dec!(2)),
        Err(overflow_in("mul"))
    );
    assert_eq!(
        usd(Decimal::MAX).checked_mul(dec!(1)),
        Ok(usd(Decimal::MAX))
    );
}

#[test]
fn mul_qty_known_values_and_overflow() {
    assert_eq!(usd(dec!(19.99)).checked_mul_qty(3), Ok(usd(dec!(59.97))));
    assert_eq!(usd(dec!(19.99)).checked_mul_qty(0), Ok(usd(dec!(0))));
    assert_eq!(usd(dec!(-0.125)).checked_mul_qty(8), Ok(usd(dec!(-1))));
    assert_eq!(
        usd(Decimal::MAX).checked_mul_qty(2),
        Err(overflow_in("mul_qty"))
    );
    assert_eq!(
        usd(dec!(1000000000)).checked_mul_qty(u64::MAX),
        Ok(usd(dec!(18446744073709551615000000000)))
    );
    assert_eq!(
        usd(dec!(10000000000)).checked_mul_qty(u64::MAX),
        Err(overflow_in("mul_qty"))
    );
}

#[test]
fn mul_qty_accepts_exact_products_that_lose_only_zeros() {
    // 2^95 / 10 * 5 needs a 97-bit mantissa at scale 1, but the dropped digit is 0.
    let amount = usd(dec!(3961408125713216879677197516.8));
    assert_eq!(
        amount.checked_mul_qty(5),
        Ok(usd(dec!(19807040628566084398385987584)))
    );
    // Here the dropped digit is not 0, so rust_decimal's rounded answer is refused.
    let amount = usd(dec!(3961408125713216879677197516.7));
    assert_eq!(amount.checked_mul_qty(3), Err(overflow_in("mul_qty")));
}

#[test]
fn sum_known_values() {
    let items = [usd(dec!(1.10)), usd(dec!(2.20)), usd(dec!(-0.30))];
    assert_eq!(Money::sum(USD, items), Ok(usd(dec!(3.00))));
    assert_eq!(
        Money::sum(Currency::JPY, Vec::new()),
        Ok(Money::zero(Currency::JPY))
    );
    assert_eq!(
        Money::sum(USD, [usd(dec!(1)), Money::new(dec!(1), Currency::GBP)]),
        Err(MoneyError::CurrencyMismatch {
            expected: USD,
            found: Currency::GBP
        })
    );
    assert_eq!(
        Money::sum(Currency::EUR, [usd(dec!(1))]),
        Err(MoneyError::CurrencyMismatch {
            expected: Currency::EUR,
            found: USD
        })
    );
    assert_eq!(
        Money::sum(USD, [usd(Decimal::MAX), usd(dec!(1))]),
        Err(overflow_in("add"))
    );
}

// ---- comparison ----

#[test]
fn min_max_and_cmp() {
    let (small, large) = (usd(dec!(1.5)), usd(dec!(2)));
    assert_eq!(small.cmp_amount(large), Ok(Ordering::Less));
    assert_eq!(large.cmp_amount(small), Ok(Ordering::Greater));
    assert_eq!(usd(dec!(1.50)).cmp_amount(small), Ok(Ordering::Equal));
    assert_eq!(small.min(large), Ok(small));
    assert_eq!(large.min(small), Ok(small));
    assert_eq!(small.max(large), Ok(large));
    assert_eq!(large.max(small), Ok(large));
    let (a, b) = (usd(dec!(1.5)), usd(dec!(1.50)));
    assert_eq!(a.min(b).unwrap().amount().scale(), 1);
    assert_eq!(a.max(b).unwrap().amount().scale(), 2);
    let euro = Money::new(dec!(1), Currency::EUR);
    let mismatch = Err(MoneyError::CurrencyMismatch {
        expected: USD,
        found: Currency::EUR,
    });
    assert_eq!(small.min(euro), mismatch);
    assert_eq!(small.max(euro), mismatch);
    assert_eq!(
        small.cmp_amount(euro),
        Err(MoneyError::CurrencyMismatch {
            expected: USD,
            found: Currency::EUR
        })
    );
}

// ---- rounding ----

#[test]
fn each_rounding_strategy_on_2_345() {
    let cases = [
        (Rounding::HalfEven, dec!(2.34), dec!(-2.34)),
        (Rounding::HalfUp, dec!(2.35), dec!(-2.35)),
        (Rounding::HalfDown, dec!(2.34), dec!(-2.34)),
        (Rounding::TowardZero, dec!(2.34), dec!(-2.34)),
        (Rounding::AwayFromZero, dec!(2.35), dec!(-2.35)),
        (Rounding::Floor, dec!(2.34), dec!(-2.35)),
        (Rounding::Ceiling, dec!(2.35), dec!(-2.34)),
    ];
    for (strategy, positive, negative) in cases {
        assert_eq!(
            usd(dec!(2.345)).round(strategy),
            usd(positive),
            "{strategy:?}"
        );
        assert_eq!(
            usd(dec!(-2.345)).round(strategy),
            usd(negative),
            "{strategy:?}"
        );
    }
}

#[test]
fn rounding_off_midpoint_and_even_cases() {
    assert_eq!(usd(dec!(2.355)).round(Rounding::HalfEven), usd(dec!(2.36)));
    assert_eq!(usd(dec!(2.355)).round(Rounding::HalfDown), usd(dec!(2.35)));
    assert_eq!(usd(dec!(2.3451)).round(Rounding::HalfDown), usd(dec!(2.35)));
    assert_eq!(
        usd(dec!(2.341)).round(Rounding::AwayFromZero),
        usd(dec!(2.35))
    );
    assert_eq!(
        usd(dec!(2.349)).round(Rounding::TowardZero),
        usd(dec!(2.34))
    );
    assert_eq!(usd(dec!(-2.341)).round(Rounding::Floor), usd(dec!(-2.35)));
    assert_eq!(usd(dec!(-2.349)).round(Rounding::Ceiling), usd(dec!(-2.34)));
}

#[test]
fn round_uses_currency_minor_units() {
    assert_eq!(
        Money::new(dec!(2.5), Currency::JPY).round(Rounding::HalfEven),
        Money::new(dec!(2), Currency::JPY)
    );
    assert_eq!(
        Money::new(dec!(2.5), Currency::JPY).round(Rounding::HalfUp),
        Money::new(dec!(3), Currency::JPY)
    );
    assert_eq!(
        Money::new(dec!(1.23456), Currency::BHD).round(Rounding::HalfUp),
        Money::new(dec!(1.235), Currency::BHD)
    );
    let rounded = usd(dec!(1.2)).round(Rounding::HalfUp);
    assert_eq!(rounded.amount().scale(), 1);
    assert!(usd(dec!(1.005)).round(Rounding::HalfUp).is_in_minor_units());
}

#[test]
fn round_dp_and_extremes() {
    assert_eq!(
        usd(dec!(1.23456)).round_dp(3, Rounding::Floor),
        usd(dec!(1.234))
    );
    assert_eq!(
        usd(dec!(1.23456)).round_dp(0, Rounding::Ceiling),
        usd(dec!(2))
    );
    assert_eq!(
        usd(dec!(1.5)).round_dp(40, Rounding::HalfUp),
        usd(dec!(1.5))
    );
    let max = Decimal::MAX;
    for strategy in [
        Rounding::HalfEven,
        Rounding::HalfUp,
        Rounding::HalfDown,
        Rounding::TowardZero,
        Rounding::AwayFromZero,
        Rounding::Floor,
        Rounding::Ceiling,
    ] {
        assert_eq!(usd(max).round(strategy), usd(max));
        assert_eq!(usd(Decimal::MIN).round(strategy), usd(Decimal::MIN));
        let tiny = Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX, false, 28);
        assert!(usd(tiny).round(strategy).is_in_minor_units());
    }
}

#[test]
fn rounding_serde_uses_snake_case_and_reads_the_old_names() {
    assert_eq!(
        serde_json::to_string(&Rounding::HalfEven).unwrap(),
        "\"half_even\""
    );
    let back: Rounding = serde_json::from_str("\"ceiling\"").unwrap();
    assert_eq!(back, Rounding::Ceiling);
    // As o2c 0.1 wrote it.
    let old: Rounding = serde_json::from_str("\"HalfEven\"").unwrap();
    assert_eq!(old, Rounding::HalfEven);
}

#[test]
fn amounts_are_written_at_the_currency_scale() {
    let text = |m: Money| serde_json::to_string(&m).unwrap();
    assert_eq!(
        text(Money::zero(Currency::USD)),
        r#"{"amount":"0.00","currency":"USD"}"#
    );
    assert_eq!(
        text(Money::new(Decimal::new(125, 1), Currency::EUR)),
        r#"{"amount":"12.50","currency":"EUR"}"#
    );
    assert_eq!(
        text(Money::new(Decimal::new(125, 3), Currency::USD)),
        r#"{"amount":"0.125","currency":"USD"}"#
    );
    assert_eq!(
        text(Money::new(Decimal::new(500, 0), Currency::JPY)),
        r#"{"amount":"500","currency":"JPY"}"#
    );
}

// ---- allocation ----

#[test]
fn split_100_into_3() {
    let parts = usd(dec!(100.00)).split(3).unwrap();
    assert_eq!(amounts(&parts), [dec!(33.34), dec!(33.33), dec!(33.33)]);
    assert!(parts.iter().all(|part| part.currency() == USD));
    assert!(parts.iter().all(|part| part.amount().scale() == 2));
}

#[test]
fn split_small_negative_zero_and_errors() {
    let parts = usd(dec!(0.02)).split(5).unwrap();
    assert_eq!(
        amounts(&parts),
        [dec!(0.01), dec!(0.01), dec!(0), dec!(0), dec!(0)]
    );
    let parts = usd(dec!(-100)).split(3).unwrap();
    assert_eq!(amounts(&parts), [dec!(-33.34), dec!(-33.33), dec!(-33.33)]);
    let parts = usd(dec!(0)).split(2).unwrap();
    assert_eq!(amounts(&parts), [dec!(0), dec!(0)]);
    assert_eq!(usd(dec!(0)).split(2).unwrap()[0].to_string(), "0.00 USD");
    assert_eq!(usd(dec!(1)).split(1).unwrap(), [usd(dec!(1))]);
    assert_eq!(usd(dec!(1)).split(0), Err(MoneyError::EmptyAllocation));
    assert_eq!(
        usd(dec!(1.001)).split(2),
        Err(MoneyError::NotInMinorUnits {
            amount: dec!(1.001),
            currency: USD
        })
    );
    assert_eq!(usd(dec!(1)).split(usize::MAX), Err(overflow_in("split")));
}

#[test]
fn split_jpy_and_bhd() {
    let parts = Money::new(dec!(1000), Currency::JPY).split(3).unwrap();
    assert_eq!(amounts(&parts), [dec!(334), dec!(333), dec!(333)]);
    let parts = Money::new(dec!(1), Currency::BHD).split(3).unwrap();
    assert_eq!(amounts(&parts), [dec!(0.334), dec!(0.333), dec!(0.333)]);
    assert_eq!(parts[0].to_string(), "0.334 BHD");
}

#[test]
fn split_decimal_max_and_min() {
    // Largest mantissa at the currency's own scale: every part fits.
    let max_cents = Decimal::from_i128_with_scale(Decimal::MAX.mantissa(), 2);
    for amount in [max_cents, -max_cents] {
        let parts = usd(amount).split(7).unwrap();
        assert_eq!(Money::sum(USD, parts.iter().copied()), Ok(usd(amount)));
        assert!(parts.iter().all(|part| part.amount().scale() == 2));
    }
    for amount in [Decimal::MAX, Decimal::MIN] {
        let jpy = Money::new(amount, Currency::JPY);
        let parts = jpy.split(7).unwrap();
        assert_eq!(Money::sum(Currency::JPY, parts.iter().copied()), Ok(jpy));
        // Whole dollars near Decimal::MAX split into whole dollars keep
        // fitting (2^96 - 1 is a multiple of 7)...
        assert_eq!(usd(amount).split(1), Ok(vec![usd(amount)]));
        let sevenths = usd(amount).split(7).unwrap();
        assert_eq!(Money::sum(USD, sevenths), Ok(usd(amount)));
        // ...but an eleventh of them needs cents that no Decimal can hold.
        assert_eq!(usd(amount).split(11), Err(overflow_in("split")));
    }
    let parts = usd(dec!(70000000000000000000000000000)).split(7).unwrap();
    assert_eq!(parts[0].amount(), dec!(10000000000000000000000000000));
    assert_eq!(parts[0].amount().scale(), 0);
}

#[test]
fn allocate_known_values() {
    let parts = usd(dec!(0.05)).allocate(&[dec!(1), dec!(1)]).unwrap();
    assert_eq!(amounts(&parts), [dec!(0.03), dec!(0.02)]);
    let parts = usd(dec!(100))
        .allocate(&[dec!(1), dec!(1), dec!(1)])
        .unwrap();
    assert_eq!(amounts(&parts), [dec!(33.34), dec!(33.33), dec!(33.33)]);
    let parts = usd(dec!(100))
        .allocate(&[dec!(70), dec!(20), dec!(10)])
        .unwrap();
    assert_eq!(amounts(&parts), [dec!(70), dec!(20), dec!(10)]);
    let parts = usd(dec!(10))
        .allocate(&[dec!(0.5), dec!(0.25), dec!(0.25)])
        .unwrap();
    assert_eq!(amounts(&parts), [dec!(5), dec!(2.5), dec!(2.5)]);
}

#[test]
fn allocate_gives_leftovers_to_largest_remainders() {
    // Exact shares 1.666.., 3.333..: the larger fraction (0.666) wins the cent.
    let parts = usd(dec!(0.05)).allocate(&[dec!(1), dec!(2)]).unwrap();
    assert_eq!(amounts(&parts), [dec!(0.02), dec!(0.03)]);
    // Exact shares 0.2857, 0.7142 (cents): 0 and 0 floors, one cent left for part 2.
    let parts = usd(dec!(0.01)).allocate(&[dec!(2), dec!(5)]).unwrap();
    assert_eq!(amounts(&parts), [dec!(0), dec!(0.01)]);
    // Three equal remainders, two leftover cents: the first two parts get them.
    let parts = usd(dec!(0.02))
        .allocate(&[dec!(1), dec!(1), dec!(1)])
        .unwrap();
    assert_eq!(amounts(&parts), [dec!(0.01), dec!(0.01), dec!(0)]);
}

#[test]
fn allocate_zero_weight_gets_nothing() {
    let parts = usd(dec!(0.05))
        .allocate(&[dec!(0), dec!(1), dec!(0)])
        .unwrap();
    assert_eq!(amounts(&parts), [dec!(0), dec!(0.05), dec!(0)]);
    let parts = usd(dec!(0.05)).allocate(&[dec!(-0), dec!(1)]).unwrap();
    assert_eq!(amounts(&parts), [dec!(0), dec!(0.05)]);
}

#[test]
fn allocate_jpy_bhd_and_negative() {
    let parts = Money::new(dec!(100), Currency::JPY)
        .allocate(&[dec!(1), dec!(1), dec!(1)])
        .unwrap();
    assert_eq!(amounts(&parts), [dec!(34), dec!(33), dec!(33)]);
    let parts = Money::new(dec!(0.010), Currency::BHD)
        .allocate(&[dec!(1), dec!(2)])
        .unwrap();
    assert_eq!(amounts(&parts), [dec!(0.003), dec!(0.007)]);
    assert!(parts.iter().all(|part| part.amount().scale() == 3));
    let parts = usd(dec!(-0.05)).allocate(&[dec!(1), dec!(1)]).unwrap();
    assert_eq!(amounts(&parts), [dec!(-0.03), dec!(-0.02)]);
    let parts = usd(dec!(0)).allocate(&[dec!(3), dec!(1)]).unwrap();
    assert_eq!(amounts(&parts), [dec!(0), dec!(0)]);
}

#[test]
fn allocate_errors() {
    assert_eq!(usd(dec!(1)).allocate(&[]), Err(MoneyError::EmptyAllocation));
    assert_eq!(
        usd(dec!(1)).allocate(&[dec!(1), dec!(-1)]),
        Err(MoneyError::InvalidWeights)
    );
    assert_eq!(
        usd(dec!(1)).allocate(&[dec!(0), dec!(0.00)]),
        Err(MoneyError::InvalidWeights)
    );
    // Weight errors come before the amount check.
    assert_eq!(
        usd(dec!(1.001)).allocate(&[dec!(-1)]),
        Err(MoneyError::InvalidWeights)
    );
    assert_eq!(
        usd(dec!(1.001)).allocate(&[dec!(1)]),
        Err(MoneyError::NotInMinorUnits {
            amount: dec!(1.001),
            currency: USD
        })
    );
    // 10^28 scaled by 10^28 to meet the other weight's scale exceeds u128.
    let far_apart = [Decimal::MAX, Decimal::new(1, 28)];
    assert_eq!(
        usd(dec!(1)).allocate(&far_apart),
        Err(overflow_in("allocate"))
    );
    assert_eq!(
        MoneyError::InvalidWeights.to_string(),
        "allocation weights must be non-negative with at least one positive"
    );
    assert_eq!(
        MoneyError::EmptyAllocation.to_string(),
        "cannot allocate into zero parts"
    );
}

#[test]
fn allocate_decimal_max_with_huge_weights() {
    let weights = [Decimal::MAX, Decimal::MAX, dec!(1)];
    let max_cents = Decimal::from_i128_with_scale(Decimal::MAX.mantissa(), 2);
    for money in [
        usd(max_cents),
        usd(-max_cents),
        usd(dec!(0.01)),
        Money::new(Decimal::MAX, Currency::JPY),
        Money::new(Decimal::MIN, Currency::JPY),
    ] {
        let parts = money.allocate(&weights).unwrap();
        assert_eq!(
            Money::sum(money.currency(), parts.iter().copied()),
            Ok(money)
        );
        assert!(parts.iter().all(|part| part.is_in_minor_units()));
    }
    let parts = usd(dec!(0.03)).allocate(&weights).unwrap();
    assert_eq!(amounts(&parts), [dec!(0.02), dec!(0.01), dec!(0)]);
    let tiny = Decimal::new(1, 28);
    let jpy = Money::new(Decimal::MAX, Currency::JPY);
    let parts = jpy.allocate(&[tiny, tiny, tiny]).unwrap();
    assert_eq!(Money::sum(Currency::JPY, parts), Ok(jpy));
    // Parts with cents beyond Decimal's range are reported, not rounded.
    assert_eq!(
        usd(Decimal::MAX).allocate(&weights),
        Err(overflow_in("allocate"))
    );
    assert_eq!(
        usd(Decimal::MAX).allocate(&[dec!(1), dec!(0)]),
        Ok(vec![usd(Decimal::MAX), usd(dec!(0))])
    );
}

#[test]
fn allocate_matches_split_for_equal_weights() {
    for minor in [-1001, -1, 0, 1, 2, 99, 100, 12345] {
        for count in 1..6 {
            let money = Money::from_minor(minor, USD);
            let weights = vec![dec!(2.5); count];
            assert_eq!(money.allocate(&weights), money.split(count));
        }
    }
}

#[test]
fn wide_arithmetic_helpers() {
    assert_eq!(widening_mul(0, u128::MAX), (0, 0));
    assert_eq!(widening_mul(3, 5), (0, 15));
    assert_eq!(widening_mul(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
    assert_eq!(widening_mul(1 << 64, 1 << 64), (1, 0));
    assert_eq!(wide_div_rem(0, 17, 5), Some((3, 2)));
    assert_eq!(wide_div_rem(1, 0, 2), Some((1 << 127, 0)));
    assert_eq!(
        wide_div_rem(u128::MAX - 1, 1, u128::MAX),
        Some((u128::MAX, 0))
    );
    assert_eq!(wide_div_rem(0, 1, 0), None);
    assert_eq!(wide_div_rem(5, 0, 5), None);
    assert_eq!(gcd(12, 18), 6);
    assert_eq!(gcd(7, 1), 1);
}

// ---- formatting, parsing, serde ----

#[test]
fn display_pads_to_minor_units() {
    assert_eq!(usd(dec!(12.34)).to_string(), "12.34 USD");
    assert_eq!(usd(dec!(12.3)).to_string(), "12.30 USD");
    assert_eq!(usd(dec!(12)).to_string(), "12.00 USD");
    assert_eq!(usd(dec!(0.125)).to_string(), "0.125 USD");
    assert_eq!(usd(dec!(-0.5)).to_string(), "-0.50 USD");
    assert_eq!(Money::new(dec!(5), Currency::JPY).to_string(), "5 JPY");
    assert_eq!(Money::new(dec!(5.5), Currency::JPY).to_string(), "5.5 JPY");
    assert_eq!(
        Money::new(dec!(1.5), Currency::BHD).to_string(),
        "1.500 BHD"
    );
    assert_eq!(Money::zero(Currency::EUR).to_string(), "0.00 EUR");
    assert_eq!((-usd(dec!(0.00))).to_string(), "0.00 USD");
    assert_eq!(
        usd(Decimal::MAX).to_string(),
        "79228162514264337593543950335.00 USD"
    );
    assert_eq!(
        usd(Decimal::new(1, 28)).to_string(),
        "0.0000000000000000000000000001 USD"
    );
    // Formatter precision is not applied to the amount.
    assert_eq!(format!("{:.1}", usd(dec!(12.34))), "12.34 USD");
}

#[test]
fn from_str_parses_display_form() {
    assert_eq!("12.34 USD".parse(), Ok(usd(dec!(12.34))));
    assert_eq!("-0.5 USD".parse(), Ok(usd(dec!(-0.5))));
    assert_eq!("5 JPY".parse(), Ok(Money::new(dec!(5), Currency::JPY)));
    let parsed: Money = "1.500 BHD".parse().unwrap();
    assert_eq!(parsed.amount().scale(), 3);
    assert_eq!(parsed.to_string(), "1.500 BHD");
    assert_eq!(
        "79228162514264337593543950335 USD".parse(),
        Ok(usd(Decimal::MAX))
    );
    // The padded Display form of Decimal::MAX has more digits than fit.
    assert_eq!(
        "79228162514264337593543950335.00 USD".parse(),
        Ok(usd(Decimal::MAX))
    );
    assert_eq!("-0.000 BHD".parse(), Ok(Money::zero(Currency::BHD)));
}

#[test]
fn from_str_rejects_malformed_input() {
    for bad in [
        "",
        "USD",
        "12.34",
        "12.34USD",
        "12.34  USD",
        " 12.34 USD",
        "12.34 USD ",
        "12.34 usd",
        "12.34 XXX",
        "USD 12.34",
        "+1 USD",
        "--1 USD",
        ".5 USD",
        "5. USD",
        "1.2.3 USD",
        "1_000 USD",
        "1e3 USD",
        "1,00 USD",
        "NaN USD",
        "79228162514264337593543950336 USD",
        "0.00000000000000000000000000001 USD",
    ] {
        assert_eq!(
            bad.parse::<Money>(),
            Err(MoneyError::Parse(bad.to_owned())),
            "{bad:?}"
        );
    }
    assert_eq!(
        "x".parse::<Money>().unwrap_err().to_string(),
        "cannot parse money from \"x\""
    );
}

#[test]
fn serde_shape_and_round_trip() {
    let money = usd(dec!(12.34));
    let json = serde_json::to_string(&money).unwrap();
    assert_eq!(json, r#"{"amount":"12.34","currency":"USD"}"#);
    assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), money);
    let bhd = Money::new(dec!(-1.500), Currency::BHD);
    let back: Money = serde_json::from_str(&serde_json::to_string(&bhd).unwrap()).unwrap();
    assert_eq!(back, bhd);
    assert_eq!(back.amount().scale(), 3);
    assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"usd"}"#).is_err());
}

#[test]
fn not_in_minor_units_message() {
    let error = usd(dec!(1.001)).to_minor().unwrap_err();
    assert_eq!(
        error.to_string(),
        "1.001 has more decimal places than USD minor units allow; round it first"
    );
}

// ---- properties ----

fn any_currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::ALL)
}

/// Any Decimal: full 96-bit mantissa, any sign, any scale.
fn any_decimal() -> impl Strategy<Value = Decimal> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<bool>(),
        0..=28_u32,
    )
        .prop_map(|(lo, mid, hi, negative, scale)| {
            Decimal::from_parts(lo, mid, hi, negative, scale)
        })
}

/// Decimals of everyday sizes, plus the full range.
fn decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (any::<i64>(), 0..=6_u32).prop_map(|(m, s)| Decimal::new(m, s)),
        (any::<i32>(), 0..=3_u32).prop_map(|(m, s)| Decimal::new(i64::from(m), s)),
        any_decimal(),
    ]
}

fn any_money() -> impl Strategy<Value = Money> {
    (decimal(), any_currency()).prop_map(|(amount, currency)| Money::new(amount, currency))
}

/// Amounts already in minor units, across the whole Decimal range.
fn money_in_minor_units() -> impl Strategy<Value = Money> {
    prop_oneof![
        (any::<i64>(), any_currency()).prop_map(|(m, c)| Money::from_minor(m, c)),
        (-10_000_i64..10_000, any_currency()).prop_map(|(m, c)| Money::from_minor(m, c)),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            any_currency()
        )
            .prop_map(|(lo, mid, hi, negative, c)| {
                Money::new(
                    Decimal::from_parts(lo, mid, hi, negative, c.minor_units()),
                    c,
                )
            }),
    ]
}

fn weight() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        3 => (0..=1_000_u32, 0..=2_u32).prop_map(|(m, s)| Decimal::new(i64::from(m), s)),
        1 => any_decimal().prop_map(|d| d.abs()),
    ]
}

/// `(part * sum_w - total * w) / sum_w` is the part's distance from its
/// exact share, so it is below one unit iff the numerator is below sum_w.
fn assert_near_exact_shares(total: i128, weights: &[i128], parts: &[i128]) {
    let sum: i128 = weights.iter().sum();
    for (weight, part) in weights.iter().zip(parts) {
        let distance = (part * sum - total * weight).abs();
        assert!(
            distance < sum,
            "total {total} weights {weights:?} parts {parts:?}"
        );
    }
}

proptest! {
    #[test]
    fn allocate_sum_is_exact_and_parts_are_minor_units(
        money in money_in_minor_units(),
        weights in prop::collection::vec(weight(), 1..8),
    ) {
        match money.allocate(&weights) {
            Ok(parts) => {
                prop_assert_eq!(parts.len(), weights.len());
                prop_assert!(parts.iter().all(|p| p.is_in_minor_units()));
                prop_assert!(parts.iter().all(|p| p.currency() == money.currency()));
                prop_assert!(parts.iter().all(|p| !(p.is_positive() && money.is_negative())));
                prop_assert_eq!(Money::sum(money.currency(), parts), Ok(money));
            }
            Err(MoneyError::InvalidWeights) => {
                prop_assert!(weights.iter().all(|w| w.is_zero()));
            }
            Err(error) => prop_assert_eq!(error, overflow_in("allocate")),
        }
    }

    #[test]
    fn allocate_parts_are_within_one_unit_of_exact_share(
        minor in any::<i64>(),
        currency in any_currency(),
        raw in prop::collection::vec((0..=u32::MAX, 0..=6_u32), 1..8),
    ) {
        prop_assume!(raw.iter().any(|(m, _)| *m > 0));
        let weights: Vec<Decimal> =
            raw.iter().map(|(m, s)| Decimal::new(i64::from(*m), *s)).collect();
        let money = Money::from_minor(minor, currency);
        let parts = money.allocate(&weights).unwrap();
        // Common scale 6 keeps every product below 2^120.
        let int_weights: Vec<i128> = raw
            .iter()
            .map(|(m, s)| i128::from(*m) * 10_i128.pow(6 - s))
            .collect();
        let int_parts: Vec<i128> =
            parts.iter().map(|p| i128::from(p.to_minor().unwrap())).collect();
        prop_assert_eq!(int_parts.iter().sum::<i128>(), i128::from(minor));
        assert_near_exact_shares(i128::from(minor), &int_weights, &int_parts);
    }

    #[test]
    fn split_sum_is_exact_and_parts_near_equal(
        money in money_in_minor_units(),
        count in 1..40_usize,
    ) {
        let parts = money.split(count).unwrap();
        prop_assert_eq!(parts.len(), count);
        prop_assert!(parts.iter().all(|p| p.is_in_minor_units()));
        prop_assert_eq!(Money::sum(money.currency(), parts.iter().copied()), Ok(money));
        let unit = Decimal::new(1, money.currency().minor_units());
        let first = parts[0].amount();
        for pair in parts.windows(2) {
            // Magnitudes never grow along the list and differ by at most one unit.
            prop_assert!(pair[0].amount().abs() >= pair[1].amount().abs());
            prop_assert!((first - pair[1].amount()).abs() <= unit);
        }
        if let Ok(minor) = money.to_minor() {
            let weights = vec![1_i128; count];
            let int_parts: Vec<i128> =
                parts.iter().map(|p| i128::from(p.to_minor().unwrap())).collect();
            assert_near_exact_shares(i128::from(minor), &weights, &int_parts);
        }
    }

    #[test]
    fn add_and_sub_never_panic_and_are_inverse(a in any_money(), b in any_money()) {
        let b = Money::new(b.amount(), a.currency());
        if let Ok(sum) = a.checked_add(b) {
            prop_assert_eq!(sum.checked_sub(b), Ok(a));
            prop_assert_eq!(sum.checked_sub(a), Ok(b));
            prop_assert_eq!(b.checked_add(a), Ok(sum));
        }
        if let Ok(difference) = a.checked_sub(b) {
            prop_assert_eq!(difference.checked_add(b), Ok(a));
            prop_assert_eq!(b.checked_add(difference), Ok(a));
        }
    }

    #[test]
    fn add_of_everyday_amounts_always_succeeds(
        x in any::<i64>(), y in any::<i64>(), currency in any_currency(),
    ) {
        let sum = Money::from_minor(x, currency)
            .checked_add(Money::from_minor(y, currency))
            .unwrap();
        let expected = i128::from(x) + i128::from(y);
        prop_assert_eq!(
            sum.amount(),
            Decimal::from_i128_with_scale(expected, currency.minor_units())
        );
    }

    #[test]
    fn add_and_sub_reject_mixed_currencies(
        a in any_money(),
        b in any_money(),
        offset in 1..Currency::ALL.len(),
    ) {
        let position = Currency::ALL.iter().position(|c| *c == a.currency()).unwrap();
        let other = Currency::ALL[(position + offset) % Currency::ALL.len()];
        let b = Money::new(b.amount(), other);
        let mismatch = MoneyError::CurrencyMismatch {
            expected: a.currency(),
            found: b.currency(),
        };
        prop_assert_eq!(a.checked_add(b), Err(mismatch.clone()));
        prop_assert_eq!(a.checked_sub(b), Err(mismatch));
    }

    #[test]
    fn mul_qty_is_exact_or_overflows(a in any_money(), quantity in any::<u64>()) {
        match a.checked_mul_qty(quantity) {
            Ok(product) => {
                if quantity > 0 {
                    // Exact, so dividing back recovers the amount.
                    let back = product.amount().checked_div(Decimal::from(quantity));
                    prop_assert_eq!(back, Some(a.amount()));
                } else {
                    prop_assert!(product.is_zero());
                }
            }
            Err(error) => prop_assert_eq!(error, overflow_in("mul_qty")),
        }
    }

    #[test]
    fn mul_qty_of_everyday_amounts_matches_integer_product(
        minor in any::<i64>(), quantity in any::<u32>(), currency in any_currency(),
    ) {
        let product = Money::from_minor(minor, currency)
            .checked_mul_qty(u64::from(quantity))
            .unwrap();
        let expected = i128::from(minor) * i128::from(quantity);
        prop_assert_eq!(
            product.amount(),
            Decimal::from_i128_with_scale(expected, currency.minor_units())
        );
    }

    #[test]
    fn display_from_str_round_trip(money in any_money()) {
        let text = money.to_string();
        let parsed: Money = text.parse().unwrap();
        prop_assert_eq!(parsed, money);
        prop_assert_eq!(parsed.to_string(), text);
    }

    #[test]
    fn serde_round_trip(money in any_money()) {
        let json = serde_json::to_string(&money).unwrap();
        let back: Money = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, money);
        // Never with a digit less; at the currency's scale at least, unless the
        // zeros would not fit (an amount near the largest decimal).
        prop_assert!(back.amount().scale() >= money.amount().scale());
        if money.amount().mantissa().abs() < 10_i128.pow(20) {
            prop_assert!(back.amount().scale() >= money.currency().minor_units());
        }
    }

    #[test]
    fn rounding_gives_minor_units_within_one_unit(
        money in any_money(),
        strategy in prop::sample::select(vec![
            Rounding::HalfEven, Rounding::HalfUp, Rounding::HalfDown,
            Rounding::TowardZero, Rounding::AwayFromZero, Rounding::Floor,
            Rounding::Ceiling,
        ]),
    ) {
        let rounded = money.round(strategy);
        prop_assert!(rounded.is_in_minor_units());
        prop_assert_eq!(rounded.currency(), money.currency());
        if let Ok(distance) = rounded.checked_sub(money) {
            let unit = Decimal::new(1, money.currency().minor_units());
            prop_assert!(distance.amount().abs() < unit);
        }
    }
}
