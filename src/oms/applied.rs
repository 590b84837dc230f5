//! What a write command returns: its result, and whether that result is a replay.

use std::ops::{Deref, DerefMut};

use serde::Serialize;

/// The result of a write command, and whether the command had already been
/// applied: a call with an idempotency key used before (or, for tracking, an event
/// already recorded) changes nothing and returns what the first call produced, as
/// it stands now, with [`Applied::replayed`] set.
///
/// A host answering over HTTP can tell `201 Created` from `200 OK` (or set an
/// `Idempotent-Replayed` header) by it. It dereferences to the value, so
/// `placed.id` reads the order's id; [`Applied::into_inner`] takes the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Applied<T> {
    /// What the command produced (a replay reads it again: an order that has
    /// shipped since is returned shipped).
    pub value: T,
    /// True if an earlier call had already done this, and this one changed nothing.
    pub replayed: bool,
}

impl<T> Applied<T> {
    /// A first run's result.
    pub fn fresh(value: T) -> Self {
        Self {
            value,
            replayed: false,
        }
    }

    /// A replay's result.
    pub fn replay(value: T) -> Self {
        Self {
            value,
            replayed: true,
        }
    }

    /// True if an earlier call had already done this.
    pub fn is_replay(&self) -> bool {
        self.replayed
    }

    /// The value.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The value mapped by `f`, with the same flag.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Applied<U> {
        Applied {
            value: f(self.value),
            replayed: self.replayed,
        }
    }
}

impl<T> Deref for Applied<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Applied<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

/// Iterates the value: `for shipment in oms.ship(id, key).await? { … }`.
impl<T: IntoIterator> IntoIterator for Applied<T> {
    type Item = T::Item;
    type IntoIter = T::IntoIter;

    fn into_iter(self) -> T::IntoIter {
        self.value.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Applied<T>
where
    &'a T: IntoIterator,
{
    type Item = <&'a T as IntoIterator>::Item;
    type IntoIter = <&'a T as IntoIterator>::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        (&self.value).into_iter()
    }
}

impl<T> AsRef<T> for Applied<T> {
    fn as_ref(&self) -> &T {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::Applied;

    #[test]
    fn a_replay_says_so_and_keeps_its_value() {
        let first = Applied::fresh(vec![1, 2]);
        let again = Applied::replay(vec![1, 2]);
        assert!(!first.is_replay());
        assert!(again.is_replay());
        assert_eq!(first.len(), 2, "derefs to the value");
        assert_eq!(again.map(|v| v.len()), Applied::replay(2));
        assert_eq!(
            first.clone().into_iter().sum::<i32>(),
            3,
            "iterates the value"
        );
        assert_eq!(first.into_inner(), vec![1, 2]);
    }

    #[test]
    fn serialises_the_value_beside_the_flag() {
        let json = serde_json::to_value(Applied::replay(7)).ok();
        assert_eq!(
            json,
            Some(serde_json::json!({"value": 7, "replayed": true}))
        );
    }
}
