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

/// Records a fetch decoded, by key: a record read again as it was (a product,
/// a customer, read by every command about it) is handed out again instead of
/// decoded from its JSON again. A copy is handed out only if the row's version
/// and its whole text are the ones it was decoded from — comparing the text
/// costs far less than decoding it, and a tenant dropped and made again, whose
/// versions start over, can never hand out a record of its earlier life.
#[derive(Default)]
pub(super) struct Decoded {
    records: Mutex<HashMap<String, Kept>>,
}

/// A decoded record: the version and text it was decoded from, and itself.
type Kept = (u64, Arc<str>, Arc<Record>);

impl Decoded {
    /// The record of the row at `key`, `version`, `body`: the kept copy if it
    /// was decoded from exactly that, else `decode`d (and kept).
    pub(super) fn get_or_decode<E>(
        &self,
        key: &str,
        version: u64,
        body: &str,
        decode: impl FnOnce() -> Result<Record, E>,
    ) -> Result<Arc<Record>, E> {
        let kept = self
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .filter(|(v, text, _)| *v == version && **text == *body)
            .map(|(_, _, record)| Arc::clone(record));
        if let Some(record) = kept {
            return Ok(record);
        }
        let record = Arc::new(decode()?);
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if records.len() >= CAPACITY {
            records.clear();
        }
        records.insert(
            key.to_owned(),
            (version, Arc::from(body), Arc::clone(&record)),
        );
        Ok(record)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::Counter;

    fn counter(value: u64) -> Record {
        Record::Counter(Counter {
            name: "c".to_owned(),
            value,
        })
    }

    /// A row read again as it was hands out the copy decoded before; the same
    /// version with another text (a tenant made again) is decoded anew.
    #[test]
    fn a_copy_is_handed_out_only_for_the_same_version_and_text() {
        let decoded = Decoded::default();
        let first = decoded
            .get_or_decode::<()>("counter/c", 1, "one", || Ok(counter(1)))
            .unwrap();
        let again = decoded
            .get_or_decode::<()>("counter/c", 1, "one", || Ok(counter(99)))
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let other_life = decoded
            .get_or_decode::<()>("counter/c", 1, "uno", || Ok(counter(2)))
            .unwrap();
        assert_eq!(*other_life, counter(2));
        let newer = decoded
            .get_or_decode::<()>("counter/c", 2, "uno", || Ok(counter(3)))
            .unwrap();
        assert_eq!(*newer, counter(3));
    }
}
