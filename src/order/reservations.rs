//! A line's open reservations.

use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::LineReservation;

/// A line's open reservations, by location: a list that keeps its first entry in
/// place. Nearly every line is served from one site, so an order — copied on
/// every read of it — costs no allocation per line for them. Reads and writes as
/// a slice (it derefs to one); its JSON is the plain list it always was.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Reservations(SmallVec<[LineReservation; 1]>);

impl Reservations {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `reservation` at the end.
    pub fn push(&mut self, reservation: LineReservation) {
        self.0.push(reservation);
    }

    /// Removes and returns the last reservation.
    pub fn pop(&mut self) -> Option<LineReservation> {
        self.0.pop()
    }

    /// Keeps only the reservations `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&LineReservation) -> bool) {
        self.0.retain(|r| keep(r));
    }

    /// Removes every reservation.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Takes every reservation out, leaving none.
    pub fn drain(&mut self) -> impl Iterator<Item = LineReservation> + '_ {
        self.0.drain(..)
    }
}

impl Deref for Reservations {
    type Target = [LineReservation];

    fn deref(&self) -> &[LineReservation] {
        &self.0
    }
}

impl DerefMut for Reservations {
    fn deref_mut(&mut self) -> &mut [LineReservation] {
        &mut self.0
    }
}

impl FromIterator<LineReservation> for Reservations {
    fn from_iter<I: IntoIterator<Item = LineReservation>>(reservations: I) -> Self {
        Self(reservations.into_iter().collect())
    }
}

impl From<Vec<LineReservation>> for Reservations {
    fn from(reservations: Vec<LineReservation>) -> Self {
        Self(SmallVec::from_vec(reservations))
    }
}

impl<'a> IntoIterator for &'a Reservations {
    type Item = &'a LineReservation;
    type IntoIter = std::slice::Iter<'a, LineReservation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a mut Reservations {
    type Item = &'a mut LineReservation;
    type IntoIter = std::slice::IterMut<'a, LineReservation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter_mut()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::ids::LocationId;
    use crate::quantity::Quantity;

    fn at(code: &str, units: u32) -> LineReservation {
        LineReservation::new(LocationId::new(code).unwrap(), Quantity::new(units))
    }

    #[test]
    fn reads_and_writes_the_list_it_always_was() {
        let mut held = Reservations::new();
        held.push(at("EAST", 2));
        held.push(at("WEST", 1));
        let json = serde_json::to_string(&held).unwrap();
        assert_eq!(
            json,
            r#"[{"location":"EAST","quantity":2},{"location":"WEST","quantity":1}]"#
        );
        assert_eq!(serde_json::from_str::<Reservations>(&json).unwrap(), held);
        assert_eq!(
            serde_json::from_str::<Reservations>("[]").unwrap(),
            Reservations::new()
        );
    }

    #[test]
    fn behaves_as_a_list() {
        let mut held: Reservations = vec![at("EAST", 2), at("WEST", 0), at("NORTH", 1)].into();
        held.retain(|r| !r.quantity.is_zero());
        assert_eq!(held.len(), 2);
        held[0].quantity = Quantity::new(5);
        assert_eq!(held.iter().map(|r| r.quantity.units()).sum::<u32>(), 6);
        assert_eq!(held.pop().map(|r| r.quantity), Some(Quantity::new(1)));
        let taken: Vec<LineReservation> = held.drain().collect();
        assert_eq!((taken.len(), held.is_empty()), (1, true));
    }
}
