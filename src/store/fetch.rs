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
            .find(|(_, record)| record.has_key(&key))
            .and_then(|(version, record)| {
                E::from_record_ref(record).map(|value| Versioned {
                    value: value.clone(),
                    version: *version,
                })
            })
    }

    /// True if the `E` at `key` was asked for and exists.
    pub fn has<E: Entity>(&self, key: &E::Key) -> bool {
        let key = E::record_key(key);
        self.records.iter().any(|(_, record)| record.has_key(&key))
    }

    /// Takes the `E` at `key` out, if it was asked for and exists: no copy.
    pub fn take<E: Entity>(&mut self, key: &E::Key) -> Option<Versioned<E>> {
        let key = E::record_key(key);
        let at = self
            .records
            .iter()
            .position(|(_, record)| record.has_key(&key))?;
        let (version, record) = self.records.swap_remove(at);
        E::from_record(record).map(|value| Versioned { value, version })
    }

    /// Takes every `E` out, in key order: no copies.
    pub fn take_every<E: Entity>(&mut self) -> Vec<Versioned<E>> {
        let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.records)
            .into_iter()
            .partition(|(_, record)| E::from_record_ref(record).is_some());
        self.records = rest;
        let mut found: Vec<(RecordKey, Versioned<E>)> = mine
            .into_iter()
            .filter_map(|(version, record)| {
                let key = record.key();
                E::from_record(record).map(|value| (key, Versioned { value, version }))
            })
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.dedup_by(|a, b| a.0 == b.0);
        found.into_iter().map(|(_, v)| v).collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Product, TaxClass};
    use crate::ids::LocationId;
    use crate::money::{Currency, Money};
    use crate::stock::{Location, LocationKind};

    fn product(sku: &str) -> Record {
        let usd = Money::from_minor(100, Currency::USD);
        Record::Product(Product::new(
            Sku::new(sku).unwrap(),
            sku,
            usd,
            usd,
            TaxClass::standard(),
        ))
    }

    fn location(code: &str) -> Record {
        let address = crate::customer::Address::new(code, "1 Dock Rd", "Reno", "89501", "US");
        Record::Location(Location::new(
            LocationId::new(code).unwrap(),
            code,
            LocationKind::Warehouse,
            address,
            1,
        ))
    }

    #[test]
    fn a_record_has_its_own_key_and_no_other() {
        let records = [product("A"), product("B"), location("A"), location("WH-1")];
        for (i, record) in records.iter().enumerate() {
            for (j, other) in records.iter().enumerate() {
                assert_eq!(record.has_key(&other.key()), i == j, "{i} {j}");
            }
        }
    }

    #[test]
    fn taking_moves_records_out_and_leaves_the_rest() {
        let mut fetched = Fetched {
            records: vec![
                (3, product("B")),
                (1, location("WH-2")),
                (2, product("A")),
                (1, location("WH-1")),
            ],
            ..Fetched::default()
        };
        let a = Sku::new("A").unwrap();
        assert!(fetched.has::<Product>(&a));
        assert_eq!(fetched.get::<Product>(&a).map(|p| p.version), Some(2));
        assert_eq!(fetched.take::<Product>(&a).map(|p| p.version), Some(2));
        assert!(!fetched.has::<Product>(&a));
        assert!(fetched.take::<Product>(&a).is_none());
        let sites: Vec<String> = fetched
            .take_every::<Location>()
            .into_iter()
            .map(|l| l.value.id.to_string())
            .collect();
        assert_eq!(sites, ["WH-1", "WH-2"]);
        assert_eq!(fetched.records.len(), 1, "only B is left");
        assert!(fetched.take_every::<Location>().is_empty());
    }
}
