//! The last version seen of each record a commit may merge into (customers,
//! back-order queues), so a commit can merge into it without first reading it
//! under a lock.
//!
//! A merge changes a record as stored at commit time. Reading it `FOR UPDATE`
//! costs a round trip before the rest of the commit can be sent. Instead, when
//! this store has seen the record's latest version (a command has just fetched
//! it, or this store committed it), the commit applies the merge to that copy and
//! writes it as an ordinary version-checked put, in the same single round trip.
//! If another writer moved the record meanwhile, the version check fails, the
//! transaction rolls back, and the commit runs again the locking way. A stale
//! copy therefore costs a round trip, never a wrong result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::store::{Record, RecordKey};

/// Records kept at most; past it the map is cleared (the next commits lock).
const CAPACITY: usize = 65_536;

#[derive(Default)]
pub(super) struct Known {
    records: Mutex<HashMap<String, (u64, Arc<Record>)>>,
}

impl Known {
    /// Whether records of `key`'s kind are kept: those merges change.
    pub(super) fn keeps(key: &RecordKey) -> bool {
        matches!(key, RecordKey::Customer(_) | RecordKey::BackOrderQueue(_))
    }

    /// Notes `record` at `version`, unless an older one is noted over a newer.
    pub(super) fn note(&self, version: u64, record: &Arc<Record>) {
        let key = record.key();
        if !Self::keeps(&key) {
            return;
        }
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if records.len() >= CAPACITY {
            records.clear();
        }
        let slot = records
            .entry(key.describe())
            .or_insert_with(|| (version, Arc::clone(record)));
        if slot.0 <= version {
            *slot = (version, Arc::clone(record));
        }
    }

    /// The last version noted of the record at `key`.
    pub(super) fn get(&self, key: &RecordKey) -> Option<(u64, Record)> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key.describe())
            .map(|(version, record)| (*version, Record::clone(record)))
    }
}
