//! The memory store's index of terms: for each kind and term, the keys of the
//! records found under it, kept by every commit so that a read looks terms up
//! and never scans a kind.

use std::collections::BTreeSet;

use super::Map;
use crate::store::{IndexTerm, RecordKey};

/// Keys by (kind index, term), each set in key order.
///
/// A term nothing is found under any more is dropped, so the index holds only
/// what is open now: a shop's closed purchase orders cost it nothing.
#[derive(Debug, Default)]
pub(super) struct TermIndex {
    keys: Map<(usize, IndexTerm), BTreeSet<RecordKey>>,
}

impl TermIndex {
    /// Moves `key` from the terms it was found under, `was`, to those of its new
    /// value, `now`.
    pub(super) fn replace(&mut self, key: &RecordKey, was: &[IndexTerm], now: &[IndexTerm]) {
        let kind = key.kind_index();
        for term in was.iter().filter(|term| !now.contains(term)) {
            let slot = (kind, term.clone());
            let emptied = self.keys.get_mut(&slot).is_some_and(|keys| {
                keys.remove(key);
                keys.is_empty()
            });
            if emptied {
                self.keys.remove(&slot);
            }
        }
        for term in now.iter().filter(|term| !was.contains(term)) {
            self.keys
                .entry((kind, term.clone()))
                .or_default()
                .insert(key.clone());
        }
    }

    /// The keys of the records of each kind found under its term in `asked`
    /// (kinds by their index), each once, in key order.
    pub(super) fn found<'a>(&'a self, asked: &[(usize, &IndexTerm)]) -> Vec<&'a RecordKey> {
        let mut found: Vec<&RecordKey> = Vec::new();
        for (kind, term) in asked {
            if let Some(keys) = self.keys.get(&(*kind, IndexTerm::clone(term))) {
                found.extend(keys);
            }
        }
        if asked.len() > 1 {
            found.sort_unstable();
            found.dedup();
        }
        found
    }

    /// How many (kind, term) entries the index holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{PurchaseOrderId, Sku, SupplierId};

    fn sku(code: &str) -> IndexTerm {
        IndexTerm::Sku(Sku::new(code).unwrap())
    }

    fn po(n: u128) -> RecordKey {
        RecordKey::PurchaseOrder(PurchaseOrderId::from_uuid(uuid::Uuid::from_u128(n)))
    }

    fn supplier(n: u128) -> RecordKey {
        RecordKey::Supplier(SupplierId::from_uuid(uuid::Uuid::from_u128(n)))
    }

    fn under<'a>(index: &'a TermIndex, key: &RecordKey, terms: &[&str]) -> Vec<&'a RecordKey> {
        let terms: Vec<IndexTerm> = terms.iter().map(|t| sku(t)).collect();
        let asked: Vec<(usize, &IndexTerm)> = terms.iter().map(|t| (key.kind_index(), t)).collect();
        index.found(&asked)
    }

    #[test]
    fn a_record_is_found_under_each_term_it_has_and_once_under_several() {
        let mut index = TermIndex::default();
        index.replace(&po(2), &[], &[sku("MUG"), sku("CUP")]);
        index.replace(&po(1), &[], &[sku("MUG")]);
        assert_eq!(under(&index, &po(0), &["MUG"]), [&po(1), &po(2)]);
        assert_eq!(under(&index, &po(0), &["CUP"]), [&po(2)]);
        assert_eq!(
            under(&index, &po(0), &["CUP", "MUG"]),
            [&po(1), &po(2)],
            "po 2 once"
        );
        assert!(under(&index, &po(0), &["TEA"]).is_empty());
    }

    #[test]
    fn kinds_do_not_share_a_term() {
        let mut index = TermIndex::default();
        index.replace(&po(1), &[], &[sku("MUG")]);
        index.replace(&supplier(1), &[], &[sku("MUG")]);
        assert_eq!(under(&index, &po(0), &["MUG"]), [&po(1)]);
        assert_eq!(under(&index, &supplier(0), &["MUG"]), [&supplier(1)]);
    }

    #[test]
    fn an_update_moves_a_record_between_terms_and_drops_what_empties() {
        let mut index = TermIndex::default();
        index.replace(&po(1), &[], &[sku("MUG"), sku("CUP")]);
        index.replace(&po(2), &[], &[sku("MUG")]);
        // A line for cups becomes one for tea.
        index.replace(&po(1), &[sku("MUG"), sku("CUP")], &[sku("MUG"), sku("TEA")]);
        assert!(under(&index, &po(0), &["CUP"]).is_empty());
        assert_eq!(under(&index, &po(0), &["TEA"]), [&po(1)]);
        assert_eq!(index.len(), 2, "MUG and TEA: the emptied CUP is gone");
        // Closed: found under nothing.
        index.replace(&po(1), &[sku("MUG"), sku("TEA")], &[]);
        assert_eq!(under(&index, &po(0), &["MUG", "TEA"]), [&po(2)]);
        index.replace(&po(2), &[sku("MUG")], &[]);
        assert_eq!(index.len(), 0);
    }

    /// Through the store: commits keep the index, a failed one leaves it as it was.
    #[test]
    fn the_store_keeps_its_index_at_commit() {
        use crate::purchasing::PurchaseOrder;
        use crate::purchasing::PurchaseOrderStatus;
        use crate::purchasing::fixtures::{at, draft, sku as code, usd};
        use crate::store::{Changeset, MemoryStore, Prefetch, Put, Store};

        let store = MemoryStore::new();
        let commit = |put: Vec<Put>| {
            let mut changes = Changeset::new(at());
            changes.puts = put;
            pollster::block_on(store.commit(changes))
        };
        let found = |term: &str| {
            let request = Prefetch::new().found_under::<PurchaseOrder>(&sku(term));
            let fetched = pollster::block_on(store.fetch(&request)).unwrap();
            fetched
                .records
                .iter()
                .map(|(_, r)| r.key())
                .collect::<Vec<_>>()
        };
        let mut order = draft(
            1,
            vec![(code("MUG"), 10, usd(250)), (code("CUP"), 6, usd(100))],
        );
        commit(vec![Put::insert(order.clone())]).unwrap();
        assert_eq!(found("MUG"), [po(1)]);
        assert_eq!(found("CUP"), [po(1)]);

        // Closed in a commit that fails on another record: still found.
        order.status = PurchaseOrderStatus::Closed;
        let stale = draft(2, vec![(code("TEA"), 1, usd(1))]);
        let failed = commit(vec![Put::update(order.clone(), 1), Put::update(stale, 4)]);
        assert!(failed.is_err());
        assert_eq!(found("MUG"), [po(1)]);

        commit(vec![Put::update(order, 1)]).unwrap();
        assert!(found("MUG").is_empty() && found("CUP").is_empty());
        assert_eq!(store.read().terms.len(), 0, "nothing left behind");
    }
}
