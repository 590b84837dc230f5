//! A quantile sketch with a stated relative error, for cycle times.
//!
//! Durations are counted in logarithmic buckets: bucket `i` holds the values in
//! `(γ^(i−1), γ^i]` seconds with `γ = (1 + α) / (1 − α)`, and a quantile answers
//! with its bucket's midpoint `2γ^i / (γ + 1)`, which is within `α` of every value in
//! the bucket. With `α` = 1 % a p90 of "two days" is right to within 29 minutes. The
//! scheme is DDSketch's (Masson, Rim and Lee, VLDB 2019); it is exact in its count,
//! merges by adding buckets (so days merge into any range), and a rebuild from the
//! same values gives the same buckets.

use std::collections::BTreeMap;

/// The relative error of every quantile the sketch answers.
pub const RELATIVE_ERROR: f64 = 0.01;

/// Counts of durations (seconds) by logarithmic bucket. Zero and negative
/// durations share bucket `i32::MIN`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sketch {
    buckets: BTreeMap<i32, u64>,
    count: u64,
}

fn gamma() -> f64 {
    (1.0 + RELATIVE_ERROR) / (1.0 - RELATIVE_ERROR)
}

impl Sketch {
    /// Counts one duration of `seconds`.
    pub fn add(&mut self, seconds: i64) {
        *self.buckets.entry(bucket(seconds)).or_insert(0) += 1;
        self.count += 1;
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Sketch) {
        for (bucket, n) in &other.buckets {
            *self.buckets.entry(*bucket).or_insert(0) += n;
        }
        self.count += other.count;
    }

    /// How many durations were counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The `q`-quantile (0 ≤ q ≤ 1) in seconds, within [`RELATIVE_ERROR`] of a value
    /// of that rank; `None` when nothing was counted.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        // The rank of the value asked for, 0-based, as "lower" quantiles count it.
        let q = q.clamp(0.0, 1.0);
        let rank = (q * (self.count - 1) as f64).floor() as u64;
        let mut seen = 0;
        for (bucket, n) in &self.buckets {
            seen += n;
            if seen > rank {
                return Some(value(*bucket));
            }
        }
        self.buckets.keys().next_back().map(|b| value(*b))
    }
}

fn bucket(seconds: i64) -> i32 {
    if seconds <= 0 {
        return i32::MIN;
    }
    // ln(i64::MAX) / ln(γ) is about 2,200: far inside i32. Floating point is
    // fine here: these are durations, never money.
    ((seconds as f64).ln() / gamma().ln()).ceil() as i32
}

fn value(bucket: i32) -> u64 {
    if bucket == i32::MIN {
        return 0;
    }
    let g = gamma();
    (2.0 * g.powi(bucket) / (g + 1.0)).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_empty_sketch_has_no_quantiles() {
        assert_eq!(Sketch::default().quantile(0.5), None);
    }

    #[test]
    fn zero_durations_answer_zero() {
        let mut s = Sketch::default();
        s.add(0);
        s.add(0);
        assert_eq!(s.quantile(0.9), Some(0));
        assert_eq!(s.count(), 2);
    }

    proptest! {
        #[test]
        fn every_quantile_is_within_the_stated_error(
            mut values in proptest::collection::vec(1i64..40_000_000, 1..300),
            q in 0.0f64..=1.0,
        ) {
            let mut s = Sketch::default();
            for v in &values {
                s.add(*v);
            }
            values.sort_unstable();
            let rank = (q * (values.len() - 1) as f64).floor() as usize;
            let exact = values[rank] as f64;
            let answer = s.quantile(q).unwrap() as f64;
            // The stated error, plus half a second for rounding to whole seconds.
            prop_assert!((answer - exact).abs() <= exact * RELATIVE_ERROR + 0.5,
                "q {q}: {answer} against {exact}");
        }

        #[test]
        fn merging_equals_counting_together(
            a in proptest::collection::vec(0i64..1_000_000, 0..50),
            b in proptest::collection::vec(0i64..1_000_000, 0..50),
        ) {
            let (mut left, mut right, mut both) = (Sketch::default(), Sketch::default(), Sketch::default());
            for v in &a { left.add(*v); both.add(*v); }
            for v in &b { right.add(*v); both.add(*v); }
            left.merge(&right);
            prop_assert_eq!(left, both);
        }
    }
}
