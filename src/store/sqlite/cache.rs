//! Decoded records, keyed by record key and version, so a read whose row has not
//! changed skips decoding its JSON.
//!
//! Safe across processes without any invalidation: every read still fetches the row,
//! and the cached value is used only when its version is the row's version. Versions
//! only ever grow (records are never deleted), so a key and a version name one
//! content for ever — unless the file is replaced under an open store (a backup
//! copied over it, say): close every store on a file before restoring it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::Record;

/// A bounded map from (key, version) to the decoded record, shared with the
/// fetches that read it: a hit is a reference count, not a copy.
#[derive(Debug)]
pub(super) struct RecordCache {
    entries: Mutex<HashMap<String, (u64, Arc<Record>)>>,
    capacity: usize,
}

impl RecordCache {
    /// A cache of at most `capacity` records (0 disables it).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The record stored under `key` at `version`, if cached.
    pub(super) fn get(&self, key: &str, version: u64) -> Option<Arc<Record>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(key) {
            Some((cached, record)) if *cached == version => Some(Arc::clone(record)),
            _ => None,
        }
    }

    /// Remembers `record` as `key` at `version`. When full it starts afresh: simpler
    /// than tracking recency, and it keeps memory bounded by the capacity.
    pub(super) fn put(&self, key: String, version: u64, record: Arc<Record>) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (version, record));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::store::Counter;

    fn record(value: u64) -> Arc<Record> {
        Arc::new(Record::Counter(Counter {
            name: "n".into(),
            value,
        }))
    }

    #[test]
    fn answers_only_for_the_version_it_holds_and_stays_bounded() {
        let cache = RecordCache::new(2);
        cache.put("a".into(), 1, record(1));
        assert_eq!(cache.get("a", 1), Some(record(1)));
        assert_eq!(cache.get("a", 2), None, "a newer row is decoded afresh");
        cache.put("a".into(), 2, record(2));
        cache.put("b".into(), 1, record(3));
        assert_eq!(cache.get("a", 2), Some(record(2)));
        cache.put("c".into(), 1, record(4));
        assert_eq!(cache.get("a", 2), None, "full: started afresh");
        assert_eq!(cache.get("c", 1), Some(record(4)));
        let off = RecordCache::new(0);
        off.put("a".into(), 1, record(1));
        assert_eq!(off.get("a", 1), None);
    }
}
