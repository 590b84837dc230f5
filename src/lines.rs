//! A document's lines, shared between its versions: an order or an invoice is
//! copied out of the store whole every time a command changes it (a payment
//! changes two totals), and its lines are most of it. Copying one shares them;
//! the first change to them copies them once.

use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Lines shared between copies of a document until one of them changes them.
/// Reads and changes like a `Vec` (it derefs to one): a mutable borrow
/// ([`Lines::to_mut`], `iter_mut`, `push`, ...) first copies the lines if
/// another copy of the document still shares them. The JSON is the list's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Lines<T>(Arc<Vec<T>>);

impl<T> Lines<T> {
    /// No lines.
    pub fn new() -> Self {
        Self(Arc::new(Vec::new()))
    }
}

impl<T: Clone> Lines<T> {
    /// The lines, to change: copied first if another copy of the document
    /// still shares them.
    pub fn to_mut(&mut self) -> &mut Vec<T> {
        Arc::make_mut(&mut self.0)
    }
}

impl<T> Default for Lines<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Deref for Lines<T> {
    type Target = Vec<T>;

    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

/// Copy on write: borrowing the lines mutably gives this copy its own.
impl<T: Clone> std::ops::DerefMut for Lines<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        self.to_mut()
    }
}

impl<T> From<Vec<T>> for Lines<T> {
    fn from(lines: Vec<T>) -> Self {
        Self(Arc::new(lines))
    }
}

impl<T> FromIterator<T> for Lines<T> {
    fn from_iter<I: IntoIterator<Item = T>>(lines: I) -> Self {
        Self(Arc::new(lines.into_iter().collect()))
    }
}

/// The lines themselves: moved out if no other copy shares them, else copied.
impl<T: Clone> IntoIterator for Lines<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        Arc::unwrap_or_clone(self.0).into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Lines<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a, T: Clone> IntoIterator for &'a mut Lines<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.to_mut().iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_share_lines_until_one_changes_them() {
        let mut a: Lines<u32> = vec![1, 2].into();
        let b = a.clone();
        assert!(std::ptr::eq(a.as_ptr(), b.as_ptr()), "a copy shares");
        a.to_mut().push(3);
        assert_eq!((a.as_slice(), b.as_slice()), (&[1, 2, 3][..], &[1, 2][..]));
        let json = serde_json::to_string(&a).unwrap_or_default();
        assert_eq!(json, "[1,2,3]");
        let back: Lines<u32> = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, a);
        // A mutable borrow of a shared copy copies; of a lone one, does not.
        let mut c = b.clone();
        let before = c.as_ptr();
        c[0] = 9;
        assert!(!std::ptr::eq(c.as_ptr(), before), "copied on write");
        assert_eq!(b.as_slice(), &[1, 2][..], "the other copy is untouched");
        let lone = c.as_ptr();
        c[1] = 8;
        assert!(
            std::ptr::eq(c.as_ptr(), lone),
            "changed in place when alone"
        );
        assert_eq!(c.into_iter().collect::<Vec<_>>(), vec![9, 8]);
    }
}
