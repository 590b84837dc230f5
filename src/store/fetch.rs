//! One read of everything a command needs before it decides.

use super::{Entity, IdempotencyEntry, IdempotencyScope, Record, RecordKey, Versioned};
use crate::ids::{IdempotencyKey, Sku};
use crate::stock::StockLevel;

/// What a command asks for before it decides, read at once by [`Store::fetch`]:
/// records by key, whole small kinds (locations, suppliers), the stock of some
/// SKUs, and the command's idempotency entry.
///
/// [`Store::fetch`]: super::Store::fetch
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefetch {
    /// Records by key (each at most once is enough; repeats are read once).
    pub records: Vec<RecordKey>,
    /// Kinds ([`Entity::kind`]) read whole.
    pub kinds: Vec<&'static str>,
    /// SKUs whose stock levels are read, every location of each.
    pub stock_of: Vec<Sku>,
    /// The command's idempotency key, looked up in its scope.
    pub idempotency: Option<(IdempotencyScope, IdempotencyKey)>,
}

impl Prefetch {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also reads the `E` at `key`.
    #[must_use]
    pub fn record<E: Entity>(mut self, key: &E::Key) -> Self {
        let key = E::record_key(key);
        if !self.records.contains(&key) {
            self.records.push(key);
        }
        self
    }

    /// Also reads every `E`.
    #[must_use]
    pub fn every<E: Entity>(mut self) -> Self {
        if !self.kinds.contains(&E::kind()) {
            self.kinds.push(E::kind());
        }
        self
    }

    /// Also reads the stock of `sku` at every location.
    #[must_use]
    pub fn stock(mut self, sku: &Sku) -> Self {
        if !self.stock_of.contains(sku) {
            self.stock_of.push(sku.clone());
        }
        self
    }

    /// Also looks `key` up in `scope`.
    #[must_use]
    pub fn key(mut self, scope: IdempotencyScope, key: &IdempotencyKey) -> Self {
        self.idempotency = Some((scope, key.clone()));
        self
    }
}

/// What a [`Prefetch`] found, all from one snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Every record found: those asked for by key, then those of the kinds read
    /// whole, each with its version.
    pub records: Vec<(u64, Record)>,
    /// The stock levels of the SKUs asked for, SKU by SKU in the order asked, each
    /// SKU's by location code.
    pub stock: Vec<StockLevel>,
    /// The idempotency entry, if the key was used.
    pub idempotency: Option<IdempotencyEntry>,
}

impl Fetched {
    /// The `E` at `key`, if it was asked for and exists.
    pub fn get<E: Entity>(&self, key: &E::Key) -> Option<Versioned<E>> {
        let key = E::record_key(key);
        self.records
            .iter()
            .find(|(_, record)| record.key() == key)
            .and_then(|(version, record)| {
                E::from_record_ref(record).map(|value| Versioned {
                    value: value.clone(),
                    version: *version,
                })
            })
    }

    /// Every `E` found, in key order.
    pub fn every<E: Entity>(&self) -> Vec<Versioned<E>> {
        let mut found: Vec<(RecordKey, Versioned<E>)> = self
            .records
            .iter()
            .filter_map(|(version, record)| {
                E::from_record_ref(record).map(|value| {
                    (
                        record.key(),
                        Versioned {
                            value: value.clone(),
                            version: *version,
                        },
                    )
                })
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.dedup_by(|a, b| a.0 == b.0);
        found.into_iter().map(|(_, v)| v).collect()
    }
}
