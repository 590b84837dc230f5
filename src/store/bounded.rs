//! Bounded counters: a limit and what is used of it, moved by additive deltas and
//! kept within `0 ≤ used ≤ limit` inside the commit.
//!
//! Stock is the first kind: per SKU × location, on-hand is the limit and reserved
//! is what is used of it, moved by a changeset's movements and reservation changes
//! (and kept in its own tables, beside the movement journal). Every other kind — a
//! truck run's booked capacity against its capacity, a payment's captured amount
//! against what was authorised — is a [`CounterKey`] of a [`CounterKind`] the
//! caller names, moved with [`Changeset::move_counter`]. Stores keep the kind and
//! id as text, so a new kind needs no change in any store; both kinds of counter
//! pass the same guard, [`Bounds::after`].
//!
//! The deltas commute: concurrent commits moving one counter never conflict with
//! each other, and only a commit that would break the guard fails
//! ([`StoreError::OutOfBounds`]).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize, Serializer};

use super::{Changeset, StoreError};
use crate::ids::{InvalidCode, MAX_CODE_LEN, validate_code};

/// The kind a stock level would have: stock moves by movements and reservation
/// changes only, so no other counter may take its name.
const STOCK: &str = "stock";

/// What a bounded counter counts, as a name (`payment_authorisation`,
/// `dock_slots`): lower-case ASCII letters, digits and `_`, starting with a
/// letter, at most 64 characters. Stores keep it as text. `run_capacity` and
/// `run_weight` are the own fleet's ([`FleetCarrier`](crate::fulfilment::FleetCarrier)),
/// and the audit checks them against its bookings: move them only through it.
///
/// `stock` is not a kind one can name: stock's counters are moved by a changeset's
/// movements and reservation changes, which also keep its movement journal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String")]
pub struct CounterKind(Arc<str>);

impl CounterKind {
    /// Validates and wraps a kind's name.
    ///
    /// # Errors
    /// [`InvalidCode`] when the name is empty, too long, has other characters than
    /// `a`–`z`, `0`–`9` and `_`, does not start with a letter, or is `stock`.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidCode> {
        let name = name.into();
        let reject = |reason| {
            Err(InvalidCode {
                what: "counter kind",
                code: name.clone(),
                reason,
            })
        };
        if name.is_empty() {
            return reject("must not be empty");
        }
        if name.len() > MAX_CODE_LEN {
            return reject("longer than 64 characters");
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return reject("must start with a lower-case letter");
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return reject("may hold only a-z, 0-9 and _");
        }
        if name == STOCK {
            return reject("is stock's: move stock by movements and reservations");
        }
        Ok(Self(Arc::from(name)))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CounterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CounterKind {
    type Err = InvalidCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for CounterKind {
    type Error = InvalidCode;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl Serialize for CounterKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Which bounded counter: its kind and the id of what it bounds within the kind
/// (a run's id, a payment's id). Not to be confused with the key of a
/// [`Counter`](super::Counter) record, a named gapless number.
///
/// The id follows the rules of other codes (1 to 64 characters, no control
/// characters, no leading or trailing whitespace); a UUID fits. As text a key is
/// `kind/id` (`run_capacity/0190f…`): a kind has no `/`, so the first one
/// splits it. Keys order by kind, then id: the order a commit moves them in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(try_from = "String")]
pub struct CounterKey {
    kind: CounterKind,
    id: Arc<str>,
}

impl CounterKey {
    /// The counter of `kind` for `id`.
    ///
    /// # Errors
    /// [`InvalidCode`] when `id` is empty, longer than 64 characters, has control
    /// characters or leading or trailing whitespace.
    pub fn new(kind: CounterKind, id: impl Into<String>) -> Result<Self, InvalidCode> {
        let id = id.into();
        validate_code(&id, "counter id")?;
        Ok(Self {
            kind,
            id: Arc::from(id),
        })
    }

    /// What it counts.
    pub fn kind(&self) -> &CounterKind {
        &self.kind
    }

    /// What it bounds, within its kind.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for CounterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind, self.id)
    }
}

impl FromStr for CounterKey {
    type Err = InvalidCode;

    /// Parses `kind/id`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((kind, id)) = s.split_once('/') else {
            return Err(InvalidCode {
                what: "counter key",
                code: s.to_owned(),
                reason: "must be kind/id",
            });
        };
        Self::new(CounterKind::new(kind)?, id)
    }
}

impl TryFrom<String> for CounterKey {
    type Error = InvalidCode;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl Serialize for CounterKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A bounded counter's values: a `limit` and what is `used` of it, which a commit
/// keeps within `0 ≤ used ≤ limit` (so the limit is never negative either). A
/// counter no commit has moved is at [`Bounds::ZERO`].
///
/// For stock, `limit` is on-hand and `used` is reserved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Bounds {
    /// How much there is to use: a run's capacity, an authorised amount, on-hand.
    pub limit: i64,
    /// How much of it is used: booked, captured, reserved.
    pub used: i64,
}

impl Bounds {
    /// Where every counter starts.
    pub const ZERO: Bounds = Bounds { limit: 0, used: 0 };

    /// Whether `0 ≤ used ≤ limit`.
    pub fn hold(self) -> bool {
        0 <= self.used && self.used <= self.limit
    }

    /// What is left to use: `limit − used`.
    pub fn available(self) -> i64 {
        self.limit.saturating_sub(self.used)
    }

    /// The values after adding `limit_delta` and `used_delta`, if they keep
    /// `0 ≤ used ≤ limit`; `None` if they break it or overflow. The one guard of
    /// every bounded counter, stock's included: a store runs it (or the same test
    /// in SQL) inside the commit, on the values stored then.
    pub fn after(self, limit_delta: i64, used_delta: i64) -> Option<Bounds> {
        let after = Bounds {
            limit: self.limit.checked_add(limit_delta)?,
            used: self.used.checked_add(used_delta)?,
        };
        after.hold().then_some(after)
    }
}

/// What a changeset adds to one bounded counter: raw as
/// [`Changeset::move_counter`] pushed it, or summed per counter by
/// [`Changeset::counter_deltas`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CounterDelta {
    /// The counter.
    pub key: CounterKey,
    /// Added to its limit.
    pub limit: i64,
    /// Added to what is used of it.
    pub used: i64,
}

impl CounterDelta {
    /// The error of this move refused from `before`, for a store whose guard
    /// failed.
    pub fn refused(self, before: Bounds) -> StoreError {
        StoreError::OutOfBounds {
            key: self.key,
            limit: before.limit,
            used: before.used,
            limit_delta: self.limit,
            used_delta: self.used,
        }
    }
}

impl Changeset {
    /// Adds `limit_delta` to the counter's limit and `used_delta` to what is used
    /// of it, under the guard `0 ≤ used ≤ limit` checked inside the commit: a
    /// capacity raised (`+slots, 0`), some of it taken (`0, +slots`), an
    /// authorisation captured (`0, +amount`). Several moves of one counter add up.
    pub fn move_counter(&mut self, key: CounterKey, limit_delta: i64, used_delta: i64) {
        self.counters.push(CounterDelta {
            key,
            limit: limit_delta,
            used: used_delta,
        });
    }

    /// The changeset's counter moves summed per counter, in key order: what a
    /// store applies under [`Bounds::after`], in the order a shared store locks
    /// their rows (so two commits never wait for each other in a cycle, and every
    /// store reports the same counter when several would break).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] if a sum overflows.
    pub fn counter_deltas(&self) -> Result<Vec<CounterDelta>, StoreError> {
        // A command moves a few counters, so a list beats a map.
        let mut sums: Vec<CounterDelta> = Vec::with_capacity(self.counters.len());
        for delta in &self.counters {
            let Some(sum) = sums.iter_mut().find(|s| s.key == delta.key) else {
                sums.push(delta.clone());
                continue;
            };
            let overflow = || StoreError::Invalid {
                reason: format!("the moves of bounded counter {} overflow", delta.key),
            };
            sum.limit = sum.limit.checked_add(delta.limit).ok_or_else(overflow)?;
            sum.used = sum.used.checked_add(delta.used).ok_or_else(overflow)?;
        }
        sums.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Ok(sums)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: &str, id: &str) -> CounterKey {
        CounterKey::new(CounterKind::new(kind).unwrap(), id).unwrap()
    }

    fn changes() -> Changeset {
        Changeset::new(chrono::DateTime::UNIX_EPOCH)
    }

    #[test]
    fn kinds_are_names() {
        for good in ["run_capacity", "payment_authorisation", "a", "v2"] {
            assert_eq!(CounterKind::new(good).unwrap().as_str(), good);
        }
        for (bad, reason) in [
            ("", "must not be empty"),
            ("Run", "must start with a lower-case letter"),
            ("_run", "must start with a lower-case letter"),
            ("9lives", "must start with a lower-case letter"),
            ("run/capacity", "may hold only a-z, 0-9 and _"),
            ("run capacity", "may hold only a-z, 0-9 and _"),
            ("run-capacity", "may hold only a-z, 0-9 and _"),
        ] {
            assert_eq!(CounterKind::new(bad).unwrap_err().reason, reason, "{bad}");
        }
        assert!(CounterKind::new("x".repeat(65)).is_err());
        assert!(CounterKind::new("x".repeat(64)).is_ok());
    }

    #[test]
    fn stock_is_not_a_kind_one_can_name() {
        let refused = CounterKind::new("stock").unwrap_err();
        assert_eq!(refused.what, "counter kind");
        assert!(refused.reason.contains("movements"), "{refused}");
        assert!(CounterKind::new("stock_count").is_ok());
    }

    #[test]
    fn keys_round_trip_through_text_and_json() {
        let k = key("run_capacity", "R/7 è");
        assert_eq!(k.to_string(), "run_capacity/R/7 è");
        assert_eq!(k.to_string().parse::<CounterKey>().unwrap(), k);
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, "\"run_capacity/R/7 è\"");
        assert_eq!(serde_json::from_str::<CounterKey>(&json).unwrap(), k);
        for bad in [
            "run_capacity",
            "run_capacity/",
            "Run/1",
            "stock/A",
            "run/ x",
        ] {
            assert!(bad.parse::<CounterKey>().is_err(), "{bad}");
            assert!(
                serde_json::from_str::<CounterKey>(&format!("{bad:?}")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn keys_order_by_kind_then_id() {
        let mut keys = [key("b", "1"), key("a", "2"), key("ab", "0"), key("a", "10")];
        keys.sort();
        let text: Vec<String> = keys.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["a/10", "a/2", "ab/0", "b/1"]);
    }

    #[test]
    fn the_guard_is_zero_at_most_used_at_most_limit() {
        let b = Bounds { limit: 5, used: 3 };
        assert_eq!(b.after(0, 2), Some(Bounds { limit: 5, used: 5 }));
        assert_eq!(b.after(0, 3), None, "used past the limit");
        assert_eq!(b.after(-3, 0), None, "limit below used");
        assert_eq!(b.after(0, -4), None, "used below zero");
        assert_eq!(b.after(-5, -3), Some(Bounds::ZERO));
        assert_eq!(b.after(i64::MAX, 0), None, "overflow");
        assert_eq!(b.after(0, i64::MIN), None, "overflow");
        assert_eq!(Bounds::ZERO.after(-1, -1), None, "a negative limit");
        assert_eq!(Bounds::ZERO.after(0, 0), Some(Bounds::ZERO));
        assert!(Bounds::ZERO.hold());
        assert!(
            !Bounds {
                limit: -1,
                used: -2
            }
            .hold()
        );
        assert_eq!(b.available(), 2);
    }

    #[test]
    fn moves_sum_per_counter_in_key_order() {
        let (run, pay) = (
            key("run_capacity", "R1"),
            key("payment_authorisation", "P1"),
        );
        let mut c = changes();
        c.move_counter(run.clone(), 10, 0);
        c.move_counter(pay.clone(), 500, 0);
        c.move_counter(run.clone(), 0, 4);
        c.move_counter(run.clone(), -2, -1);
        c.move_counter(pay.clone(), 0, 120);
        assert!(!c.is_empty());
        assert_eq!(
            c.counter_deltas().unwrap(),
            [
                CounterDelta {
                    key: pay,
                    limit: 500,
                    used: 120
                },
                CounterDelta {
                    key: run,
                    limit: 8,
                    used: 3
                },
            ]
        );
        assert!(changes().counter_deltas().unwrap().is_empty());
    }

    #[test]
    fn an_overflowing_sum_is_invalid() {
        let run = key("run_capacity", "R1");
        for (first, second) in [
            ((i64::MAX, 0), (1, 0)),
            ((0, i64::MIN), (0, -1)),
            ((i64::MIN, 0), (-1, 0)),
        ] {
            let mut c = changes();
            c.move_counter(run.clone(), first.0, first.1);
            c.move_counter(run.clone(), second.0, second.1);
            let err = c.counter_deltas().unwrap_err();
            assert!(
                matches!(&err, StoreError::Invalid { reason } if reason.contains("run_capacity/R1")),
                "{err:?}"
            );
        }
        // Big moves that cancel out are fine.
        let mut c = changes();
        c.move_counter(run.clone(), i64::MAX, 0);
        c.move_counter(run.clone(), -i64::MAX, 0);
        assert_eq!(c.counter_deltas().unwrap()[0].limit, 0);
    }

    #[test]
    fn changesets_keep_their_moves_through_json() {
        let mut c = changes();
        c.move_counter(key("run_capacity", "R1"), 3, 1);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Changeset>(&json).unwrap(), c);
        // A changeset without moves says nothing of them, and reads back empty.
        let plain = serde_json::to_string(&changes()).unwrap();
        assert!(!plain.contains("counters"), "{plain}");
        let back: Changeset = serde_json::from_str(&plain).unwrap();
        assert!(back.counters.is_empty());
    }
}
