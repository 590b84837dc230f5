//! Property tests of bounded counters: whatever moves are committed, a stored
//! counter is the sum of the moves its accepted commits made, always within
//! `0 ≤ used ≤ limit`, and a refused commit says which counter, as it stood.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use o2c::store::{Bounds, Changeset, CounterKey, MemoryStore, Prefetch, Store, StoreError};
use proptest::prelude::*;

/// The counters moved: listed out of key order, so a store that applied them in
/// changeset order instead would report another counter when several break.
const KEYS: [&str; 3] = [
    "run_capacity/B",
    "payment_authorisation/Z",
    "run_capacity/A",
];

fn keys() -> Vec<CounterKey> {
    KEYS.iter().map(|k| k.parse().unwrap()).collect()
}

/// Mostly small moves in `small`, now and then one that overflows whatever it
/// meets.
fn delta(small: std::ops::RangeInclusive<i64>) -> impl Strategy<Value = i64> {
    prop_oneof![
        60 => small,
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX / 2 + 1),
    ]
}

/// Commits of one to four moves each, as `(counter, limit delta, used delta)`:
/// limits grow more often than they shrink, so many uses fit.
fn commits() -> impl Strategy<Value = Vec<Vec<(usize, i64, i64)>>> {
    prop::collection::vec(
        prop::collection::vec((0..KEYS.len(), delta(-3..=8), delta(-3..=4)), 1..5),
        1..40,
    )
}

fn at() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// What the contract says a commit of `moves` does to the counters in `model`
/// (every counter an accepted commit moved, at the sum of the moves accepted):
/// the counters afterwards, or the error.
fn expected(
    model: &BTreeMap<CounterKey, Bounds>,
    keys: &[CounterKey],
    moves: &[(usize, i64, i64)],
) -> Result<BTreeMap<CounterKey, Bounds>, StoreError> {
    let mut sums: BTreeMap<CounterKey, (i64, i64)> = BTreeMap::new();
    for (k, limit, used) in moves {
        let sum = sums.entry(keys[*k].clone()).or_insert((0, 0));
        match (sum.0.checked_add(*limit), sum.1.checked_add(*used)) {
            (Some(l), Some(u)) => *sum = (l, u),
            _ => {
                return Err(StoreError::Invalid {
                    reason: String::new(),
                });
            }
        }
    }
    let mut after = model.clone();
    // A BTreeMap walks in key order: the order the contract applies them in.
    for (key, (limit_delta, used_delta)) in sums {
        let before = model.get(&key).copied().unwrap_or(Bounds::ZERO);
        let moved = before
            .limit
            .checked_add(limit_delta)
            .zip(before.used.checked_add(used_delta))
            .map(|(limit, used)| Bounds { limit, used })
            .filter(|b| 0 <= b.used && b.used <= b.limit);
        let Some(moved) = moved else {
            return Err(StoreError::OutOfBounds {
                key,
                limit: before.limit,
                used: before.used,
                limit_delta,
                used_delta,
            });
        };
        after.insert(key, moved);
    }
    Ok(after)
}

/// Commits `commits` to `store`, checking every outcome against the model, and
/// after each the stored counters (by fetch and by snapshot) against it.
fn run<S: Store>(store: &S, commits: &[Vec<(usize, i64, i64)>]) -> Result<(), TestCaseError> {
    let keys = keys();
    let mut model: BTreeMap<CounterKey, Bounds> = BTreeMap::new();
    for moves in commits {
        let mut c = Changeset::new(at());
        for (k, limit, used) in moves {
            c.move_counter(keys[*k].clone(), *limit, *used);
        }
        let outcome = pollster::block_on(store.commit(c));
        match (expected(&model, &keys, moves), outcome) {
            (Ok(after), Ok(_)) => model = after,
            (Err(StoreError::Invalid { .. }), Err(StoreError::Invalid { .. })) => {}
            (
                Err(StoreError::OutOfBounds {
                    key,
                    limit,
                    used,
                    limit_delta,
                    used_delta,
                }),
                Err(StoreError::OutOfBounds {
                    key: k,
                    limit: l,
                    used: u,
                    limit_delta: ld,
                    used_delta: ud,
                }),
            ) => prop_assert_eq!(
                (key, limit, used, limit_delta, used_delta),
                (k, l, u, ld, ud)
            ),
            (want, got) => prop_assert!(false, "{moves:?}: expected {want:?}, got {got:?}"),
        }

        let request = keys.iter().fold(Prefetch::new(), |r, key| r.counter(key));
        let fetched = pollster::block_on(store.fetch(&request)).unwrap();
        for key in &keys {
            let stored = fetched.counter(key).unwrap();
            prop_assert!(stored.hold(), "{key} broke the guard: {stored:?}");
            let sum = model.get(key).copied().unwrap_or(Bounds::ZERO);
            prop_assert_eq!(stored, sum, "{}", key);
        }
        let mut visited: BTreeMap<CounterKey, Bounds> = BTreeMap::new();
        pollster::block_on(store.read_snapshot(|s| {
            s.each_bounded_counter(&mut |key, bounds| {
                visited.insert(key.clone(), bounds);
            })
        }))
        .unwrap()
        .unwrap();
        prop_assert_eq!(&visited, &model);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn memory_counters_are_the_sum_of_accepted_moves(commits in commits()) {
        run(&MemoryStore::new(), &commits)?;
    }
}

#[cfg(feature = "sqlite")]
proptest! {
    // A store per case is a file per case: fewer cases, the same model.
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn sqlite_counters_are_the_sum_of_accepted_moves(commits in commits()) {
        let store = o2c::store::sqlite::SqliteStore::in_memory().unwrap();
        run(&store, &commits)?;
    }
}
