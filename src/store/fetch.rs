//! One read of everything a command needs before it decides.

use std::borrow::Borrow;
use std::sync::Arc;

use super::{
    Bounds, CounterKey, Entity, IdempotencyEntry, IdempotencyScope, IndexTerm, Record, RecordKey,
    Versioned,
};
use crate::ids::{IdempotencyKey, Sku};
use crate::stock::StockLevel;

/// What a command asks for before it decides, read at once by [`Store::fetch`]:
/// records by key, the records some of them name ([`Prefetch::follow`]), the
/// records found under some index terms ([`Prefetch::found_under`]: the open
/// purchase orders and the suppliers of some SKUs), whole small kinds
/// (locations), the stock of some SKUs, bounded counters by key, and the
/// command's idempotency entry.
///
/// [`Store::fetch`]: super::Store::fetch
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefetch {
    /// Records by key. Ask for each once: a store may read a repeated key once per
    /// repeat.
    pub records: Vec<RecordKey>,
    /// Kinds ([`Entity::kind`]) read whole.
    pub kinds: Vec<&'static str>,
    /// Kinds and the terms ([`Record::index_terms`]) whose records are read:
    /// every record of the kind found under the term, each once however many of
    /// the terms find it.
    pub terms: Vec<(&'static str, IndexTerm)>,
    /// SKUs whose stock levels are read, every location of each.
    pub stock_of: Vec<Sku>,
    /// The command's idempotency key, looked up in its scope.
    pub idempotency: Option<(IdempotencyScope, IdempotencyKey)>,
    /// Records (each also in `records`) whose named records ([`Record::names`]) of
    /// the kinds listed are read too, in the same snapshot: one level deep.
    pub follows: Vec<(RecordKey, Vec<&'static str>)>,
    /// Bounded counters read by key (each once).
    pub counters: Vec<CounterKey>,
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

    /// Also reads the `E` at `key` and, in the same snapshot, the records it names
    /// ([`Record::names`]) of the kinds `E2` lists — an invoice with its order and
    /// customer, say. This is what lets a command whose record names the rest read
    /// everything at once: the store follows the references under the one read
    /// (a networked store in one round trip, by keeping the names beside the record).
    #[must_use]
    pub fn follow<E: Entity>(mut self, key: &E::Key, kinds: &[&'static str]) -> Self {
        let key = E::record_key(key);
        if !self.records.contains(&key) {
            self.records.push(key.clone());
        }
        match self.follows.iter_mut().find(|(from, _)| *from == key) {
            Some((_, listed)) => {
                for kind in kinds {
                    if !listed.contains(kind) {
                        listed.push(kind);
                    }
                }
            }
            None => self.follows.push((key, kinds.to_vec())),
        }
        self
    }

    /// The keys `records` (what the store found by key: records, or the
    /// `Arc<Record>`s a [`Fetched`] holds) name that this request follows, and
    /// `records` does not hold yet: what a store reads next, in the same snapshot.
    pub fn followed<R: Borrow<Record>>(&self, records: &[(u64, R)]) -> Vec<RecordKey> {
        let mut keys: Vec<RecordKey> = Vec::new();
        for (from, kinds) in &self.follows {
            let Some((_, record)) = records.iter().find(|(_, r)| r.borrow().has_key(from)) else {
                continue;
            };
            let record: &Record = record.borrow();
            let named = record.names_of(&|kind| kinds.contains(&kind));
            // One record's names are distinct already; only a second follow can
            // repeat one.
            let first = keys.is_empty();
            keys.reserve(named.len());
            for key in named {
                let repeated = !first && keys.contains(&key);
                if !repeated && !records.iter().any(|(_, r)| r.borrow().has_key(&key)) {
                    keys.push(key);
                }
            }
        }
        keys
    }

    /// Also reads every `E` found under `term` ([`Record::index_terms`]): the
    /// open purchase orders with a line for a SKU, the suppliers offering it —
    /// what a command about some SKUs needs, rather than the whole kind. A record
    /// found under several of the terms asked is read once.
    #[must_use]
    pub fn found_under<E: Entity>(mut self, term: &IndexTerm) -> Self {
        if !self
            .terms
            .iter()
            .any(|(kind, asked)| *kind == E::kind() && asked == term)
        {
            self.terms.push((E::kind(), term.clone()));
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

    /// Also reads the bounded counter at `key` (0/0 if no commit has moved it).
    #[must_use]
    pub fn counter(mut self, key: &CounterKey) -> Self {
        if !self.counters.contains(key) {
            self.counters.push(key.clone());
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

impl Record {
    /// The records this one names, which a [`Prefetch::follow`] can read with it:
    /// an order names its customer, invoices, shipments, the products, stock
    /// locations and back-order queues of its lines; an invoice, payment or credit
    /// note its order and customer (and the invoice it is against); a shipment its
    /// order and location; a return its order and customer; a purchase order its
    /// supplier, ship-to, products and queues; a queue the orders waiting in it.
    pub fn names(&self) -> Vec<RecordKey> {
        self.names_of(&|_| true)
    }

    /// The records this one names, of the kinds `wanted` accepts: what
    /// [`Prefetch::followed`] reads, without building the names it would drop.
    fn names_of(&self, wanted: &dyn Fn(&'static str) -> bool) -> Vec<RecordKey> {
        let mut keys = match self {
            Record::Order(o) => {
                let (products, queues, sites) = (
                    wanted("product"),
                    wanted("back_order_queue"),
                    wanted("location"),
                );
                // Each SKU once, found by sorting rather than by looking through
                // the keys so far for every line (a ship of ten lines compared
                // keys a few hundred times).
                let mut skus: Vec<&crate::ids::Sku> = Vec::new();
                if products || queues {
                    skus = o.lines.iter().map(|line| &line.sku).collect();
                    skus.sort_unstable();
                    skus.dedup();
                }
                let mut at: Vec<&crate::ids::LocationId> = Vec::new();
                if sites {
                    // A few sites at most: a list beats sorting.
                    for r in o.lines.iter().flat_map(|line| &line.reservations) {
                        if !at.contains(&&r.location) {
                            at.push(&r.location);
                        }
                    }
                }
                let mut keys = Vec::with_capacity(
                    1 + o.invoices.len() + o.shipments.len() + 2 * skus.len() + at.len(),
                );
                if wanted("customer") {
                    keys.push(RecordKey::Customer(o.customer));
                }
                if wanted("invoice") {
                    keys.extend(o.invoices.iter().map(|i| RecordKey::Invoice(*i)));
                }
                if wanted("shipment") {
                    keys.extend(o.shipments.iter().map(|s| RecordKey::Shipment(*s)));
                }
                for sku in skus {
                    if products {
                        keys.push(RecordKey::Product(sku.clone()));
                    }
                    if queues {
                        keys.push(RecordKey::BackOrderQueue(sku.clone()));
                    }
                }
                keys.extend(at.into_iter().map(|l| RecordKey::Location(l.clone())));
                return keys;
            }
            Record::Invoice(i) => vec![RecordKey::Order(i.order), RecordKey::Customer(i.customer)],
            Record::Payment(p) => vec![
                RecordKey::Invoice(p.invoice),
                RecordKey::Order(p.order),
                RecordKey::Customer(p.customer),
            ],
            Record::CreditNote(c) => vec![
                RecordKey::Invoice(c.invoice),
                RecordKey::Order(c.order),
                RecordKey::Customer(c.customer),
            ],
            Record::Shipment(s) => vec![
                RecordKey::Order(s.order),
                RecordKey::Location(s.location.clone()),
            ],
            Record::Return(r) => vec![RecordKey::Order(r.order), RecordKey::Customer(r.customer)],
            Record::ThirdPartyFeed(f) => vec![RecordKey::Location(f.location.clone())],
            Record::PurchaseOrder(po) => {
                let mut keys = vec![
                    RecordKey::Supplier(po.supplier),
                    RecordKey::Location(po.ship_to.clone()),
                ];
                // Each SKU once, however its lines repeat it.
                let mut skus: Vec<&crate::ids::Sku> = po.lines.iter().map(|l| &l.sku).collect();
                skus.sort_unstable();
                skus.dedup();
                for sku in skus {
                    keys.push(RecordKey::Product(sku.clone()));
                    keys.push(RecordKey::BackOrderQueue(sku.clone()));
                }
                keys
            }
            Record::BackOrderQueue(q) => {
                let mut keys: Vec<RecordKey> = Vec::new();
                for w in &q.waiting {
                    let key = RecordKey::Order(w.order);
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
                keys
            }
            Record::Customer(_)
            | Record::Product(_)
            | Record::Location(_)
            | Record::TaxTable(_)
            | Record::Counter(_)
            | Record::Settlement(_)
            | Record::Supplier(_)
            | Record::ReorderRule(_) => Vec::new(),
        };
        keys.retain(|key| wanted(key.kind()));
        keys
    }
}

/// What a [`Prefetch`] found, all from one snapshot.
///
/// A store shares its records with the fetch where it can (the memory store its
/// own, the SQLite store those in its decoded-record cache), so reading one costs
/// a reference count, not a copy. A command lends the records it only reads
/// ([`Fetched::lend`], [`Fetched::lend_each`], [`Fetched::lend_every`]) and takes
/// those it changes ([`Fetched::take`]): a record the fetch alone holds is moved
/// out, one still shared is copied then. A record lent keeps the value read, even
/// after a commit replaces it in the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Every record found: those asked for by key, those they name that were
    /// followed, those found under the terms asked (each once), then those of the
    /// kinds read whole, each with its version. A record reached two ways (by key
    /// and under a term, say) may be here twice: [`Fetched::take_every`] gives it
    /// once.
    pub records: Vec<(u64, Arc<Record>)>,
    /// The stock levels of the SKUs asked for, SKU by SKU in the order asked, each
    /// SKU's by location code.
    pub stock: Vec<StockLevel>,
    /// The idempotency entry, if the key was used.
    pub idempotency: Option<IdempotencyEntry>,
    /// The bounded counters asked for, in the order asked, each with its values
    /// ([`Bounds::ZERO`] for one no commit has moved).
    pub counters: Vec<(CounterKey, Bounds)>,
}

/// `record` lent as an `E` at `version`, if it is one.
fn lent<E: Entity>(version: u64, record: &Record) -> Option<Versioned<&E>> {
    E::from_record_ref(record).map(|value| Versioned { value, version })
}

impl Fetched {
    /// A copy of the `E` at `key`, if it was asked for and exists.
    pub fn get<E: Entity>(&self, key: &E::Key) -> Option<Versioned<E>> {
        self.lend::<E>(key).map(|lent| lent.cloned())
    }

    /// The `E` at `key` and its version, if it was asked for and exists: lent,
    /// not copied, for a command that only reads it.
    pub fn lend<E: Entity>(&self, key: &E::Key) -> Option<Versioned<&E>> {
        let key = E::record_key(key);
        self.records
            .iter()
            .find(|(_, record)| record.has_key(&key))
            .and_then(|(version, record)| lent(*version, record))
    }

    /// Every `E` found and its version, lent, in the order the store answered:
    /// for a command that reached each `E` one way only (see
    /// [`Fetched::take_each`]); [`Fetched::lend_every`] gives each once, in key
    /// order.
    pub fn lend_each<E: Entity>(&self) -> impl Iterator<Item = Versioned<&E>> {
        self.records
            .iter()
            .filter_map(|(version, record)| lent(*version, record))
    }

    /// Every `E` found and its version, lent, in key order, each once — whether
    /// it was read by key, followed, found under a term or with its whole kind.
    pub fn lend_every<E: Entity>(&self) -> Vec<Versioned<&E>> {
        let mut found: Vec<(RecordKey, Versioned<&E>)> = self
            .records
            .iter()
            .filter_map(|(version, record)| lent(*version, record).map(|v| (record.key(), v)))
            .collect();
        if found.len() > 1 {
            found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            found.dedup_by(|a, b| a.0 == b.0);
        }
        found.into_iter().map(|(_, lent)| lent).collect()
    }

    /// The values of the bounded counter at `key`, if it was asked for.
    pub fn counter(&self, key: &CounterKey) -> Option<Bounds> {
        self.counters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, bounds)| *bounds)
    }

    /// True if the `E` at `key` was asked for and exists.
    pub fn has<E: Entity>(&self, key: &E::Key) -> bool {
        let key = E::record_key(key);
        self.records.iter().any(|(_, record)| record.has_key(&key))
    }

    /// Takes the `E` at `key` out, if it was asked for and exists: moved out if
    /// the fetch alone held it, else copied.
    pub fn take<E: Entity>(&mut self, key: &E::Key) -> Option<Versioned<E>> {
        let key = E::record_key(key);
        let at = self
            .records
            .iter()
            .position(|(_, record)| record.has_key(&key))?;
        let (version, record) = self.records.swap_remove(at);
        E::from_record(Arc::unwrap_or_clone(record)).map(|value| Versioned { value, version })
    }

    /// Takes every `E` out, in key order, each once — whether it was read by key,
    /// followed, found under a term or with its whole kind. Each is moved out if
    /// the fetch alone held it, else copied: lend what is only read
    /// ([`Fetched::lend_every`]).
    pub fn take_every<E: Entity>(&mut self) -> Vec<Versioned<E>> {
        let mut found = self.drain::<E, _>(|version, record| {
            let key = record.key();
            E::from_record(record).map(|value| (key, Versioned { value, version }))
        });
        if found.len() > 1 {
            found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            // A record read by key and with its whole kind comes back once.
            found.dedup_by(|a, b| a.0 == b.0);
        }
        found.into_iter().map(|(_, v)| v).collect()
    }

    /// Takes every `E` out (moved if the fetch alone held it, else copied), in
    /// no particular order: for a command that reached each `E` one way only (by
    /// key, or by following one record — not also with its whole kind, under a
    /// term or by a second follow, any of which may bring it again) and looks
    /// them up by key itself, so [`Fetched::take_every`]'s sorting would be
    /// wasted.
    pub fn take_each<E: Entity>(&mut self) -> Vec<Versioned<E>> {
        #[cfg(debug_assertions)]
        {
            let mut keys: Vec<RecordKey> = self
                .records
                .iter()
                .filter(|(_, r)| E::from_record_ref(r).is_some())
                .map(|(_, r)| r.key())
                .collect();
            let found = keys.len();
            keys.sort();
            keys.dedup();
            debug_assert_eq!(keys.len(), found, "take_each: a record was read twice");
        }
        self.drain::<E, _>(|version, record| {
            E::from_record(record).map(|value| Versioned { value, version })
        })
    }

    /// Every `E` moved out through `each` (copied where the record is still
    /// shared), the rest left where it is but for the gaps (a prefetch reads a
    /// few hundred records at most, so moving the matches out one by one beats
    /// splitting the whole list in two).
    fn drain<E: Entity, T>(&mut self, mut each: impl FnMut(u64, Record) -> Option<T>) -> Vec<T> {
        let mut found = Vec::with_capacity(self.count::<E>());
        let mut at = 0;
        while let Some((_, record)) = self.records.get(at) {
            if E::from_record_ref(record).is_none() {
                at += 1;
                continue;
            }
            let (version, record) = self.records.swap_remove(at);
            found.extend(each(version, Arc::unwrap_or_clone(record)));
        }
        found
    }

    /// How many `E`s were found: counting first sizes a list of them once.
    fn count<E: Entity>(&self) -> usize {
        self.records
            .iter()
            .filter(|(_, record)| E::from_record_ref(record).is_some())
            .count()
    }

    /// A copy of every `E` found, in key order.
    pub fn every<E: Entity>(&self) -> Vec<Versioned<E>> {
        self.lend_every::<E>()
            .iter()
            .map(Versioned::cloned)
            .collect()
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
    fn counters_are_asked_once_and_found_by_key() {
        let run: CounterKey = "run_capacity/R1".parse().unwrap();
        let pay: CounterKey = "payment_authorisation/R1".parse().unwrap();
        let request = Prefetch::new().counter(&run).counter(&pay).counter(&run);
        assert_eq!(request.counters, [run.clone(), pay.clone()]);
        let fetched = Fetched {
            counters: vec![(run.clone(), Bounds { limit: 4, used: 1 })],
            ..Fetched::default()
        };
        assert_eq!(fetched.counter(&run), Some(Bounds { limit: 4, used: 1 }));
        assert_eq!(fetched.counter(&pay), None, "not asked for");
    }

    #[test]
    fn taking_moves_records_out_and_leaves_the_rest() {
        let mut fetched = Fetched {
            records: vec![
                (3, Arc::new(product("B"))),
                (1, Arc::new(location("WH-2"))),
                (2, Arc::new(product("A"))),
                (1, Arc::new(location("WH-1"))),
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

    /// B at version 3, two locations read by key and again with their kind, A
    /// at version 2, each held by the fetch alone.
    fn found() -> Fetched {
        Fetched {
            records: vec![
                (3, Arc::new(product("B"))),
                (1, Arc::new(location("WH-2"))),
                (1, Arc::new(location("WH-1"))),
                (2, Arc::new(product("A"))),
                (1, Arc::new(location("WH-1"))),
                (1, Arc::new(location("WH-2"))),
            ],
            ..Fetched::default()
        }
    }

    #[test]
    fn a_lent_record_is_the_one_fetched_and_stays_in_the_fetch() {
        let fetched = found();
        let a = Sku::new("A").unwrap();
        let Versioned {
            version,
            value: lent,
        } = fetched.lend::<Product>(&a).unwrap();
        assert_eq!(version, 2);
        assert_eq!(Record::Product(lent.clone()), product("A"));
        let Some((_, Record::Product(stored))) = fetched.records.get(3).map(|(v, r)| (v, &**r))
        else {
            panic!("A is fourth");
        };
        assert!(std::ptr::eq(lent, stored), "lent, not copied");
        assert_eq!(
            fetched.get::<Product>(&a).map(|p| p.value),
            Some(lent.clone())
        );
        assert!(
            fetched
                .lend::<Location>(&LocationId::new("A").unwrap())
                .is_none(),
            "not a product's kind"
        );
        assert!(
            fetched.lend::<Product>(&Sku::new("C").unwrap()).is_none(),
            "not read"
        );
        assert_eq!(fetched.records.len(), 6, "lending takes nothing out");
    }

    #[test]
    fn every_record_of_a_kind_is_lent_as_found_or_once_in_key_order() {
        let fetched = found();
        let each: Vec<(u64, &str)> = fetched
            .lend_each::<Product>()
            .map(|p| (p.version, p.value.sku.as_str()))
            .collect();
        assert_eq!(each, [(3, "B"), (2, "A")], "as the store answered");
        assert_eq!(
            fetched.lend_each::<Location>().count(),
            4,
            "read twice, lent twice"
        );
        let every: Vec<&str> = fetched
            .lend_every::<Location>()
            .into_iter()
            .map(|l| l.value.id.as_str())
            .collect();
        assert_eq!(every, ["WH-1", "WH-2"]);
        let copies: Vec<Location> = fetched
            .every::<Location>()
            .into_iter()
            .map(|l| l.value)
            .collect();
        let lent: Vec<Location> = fetched
            .lend_every::<Location>()
            .into_iter()
            .map(|l| l.value.clone())
            .collect();
        assert_eq!(copies, lent);
        assert!(Fetched::default().lend_every::<Location>().is_empty());
    }

    #[test]
    fn taking_a_record_only_the_fetch_holds_moves_it_and_a_shared_one_is_copied() {
        let wh = LocationId::new("WH-1").unwrap();
        let name_of = |record: &Arc<Record>| match &**record {
            Record::Location(l) => l.name.as_ptr(),
            _ => std::ptr::null(),
        };
        // A location's name is its own text: a copy of the location copies it.
        let alone = Arc::new(location("WH-1"));
        let name = name_of(&alone);
        let mut fetched = Fetched {
            records: vec![(1, alone)],
            ..Fetched::default()
        };
        let taken = fetched.take::<Location>(&wh).unwrap();
        assert_eq!(taken.value.name.as_ptr(), name, "moved, not copied");
        assert!(fetched.records.is_empty());

        // One the store still shares is copied, and the store's stays as it was.
        let mut fetched = found();
        let kept: Vec<Arc<Record>> = fetched.records.iter().map(|(_, r)| Arc::clone(r)).collect();
        let taken = fetched.take_every::<Location>();
        assert_eq!(taken.len(), 2, "each once");
        for site in &taken {
            let stored = kept
                .iter()
                .find(|r| r.has_key(&RecordKey::Location(site.value.id.clone())));
            let stored = stored.unwrap();
            assert_eq!(Record::Location(site.value.clone()), **stored);
            assert_ne!(site.value.name.as_ptr(), name_of(stored), "copied");
        }
        let a = fetched.take::<Product>(&Sku::new("A").unwrap()).unwrap();
        assert_eq!(Record::Product(a.value), product("A"));
        drop(fetched);
        assert!(
            kept.iter().all(|r| Arc::strong_count(r) == 1),
            "the fetch let go of everything it held"
        );
    }

    #[test]
    fn a_follow_reads_the_named_records_of_the_kinds_asked_once() {
        use crate::ledger::fixtures::given_invoiced;
        let (customer, order, invoice) = given_invoiced();
        let request = Prefetch::new()
            .follow::<crate::ledger::Invoice>(&invoice.id, &["order", "customer"])
            .record::<crate::customer::Customer>(&customer.id);
        assert_eq!(request.records.len(), 2, "the invoice and the customer");
        let found = vec![
            (1, Record::Invoice(invoice.clone())),
            (2, Record::Customer(customer)),
        ];
        // The customer was read already; only the order is left to read.
        assert_eq!(request.followed(&found), [RecordKey::Order(order.id)]);
        let only_orders = Prefetch::new().follow::<crate::ledger::Invoice>(&invoice.id, &["order"]);
        assert_eq!(
            only_orders.followed(&[(1, Record::Invoice(invoice))]),
            [RecordKey::Order(order.id)]
        );
        // Nothing found, nothing followed.
        assert!(request.followed::<Record>(&[]).is_empty());
        // What a fetch holds, shared, is followed alike.
        let shared: Vec<(u64, Arc<Record>)> =
            found.into_iter().map(|(v, r)| (v, Arc::new(r))).collect();
        assert_eq!(request.followed(&shared), [RecordKey::Order(order.id)]);
    }

    #[test]
    fn an_order_names_its_customer_invoices_products_queues_and_sites() {
        use crate::ledger::fixtures::given_invoiced;
        let (customer, mut order, invoice) = given_invoiced();
        order.lines[0]
            .reservations
            .push(crate::order::LineReservation::new(
                LocationId::new("WH").unwrap(),
                crate::quantity::Quantity::new(1),
            ));
        // A second line of the first line's SKU, reserved at the same site.
        let mut again = order.lines[0].clone();
        again.line_no += 100;
        order.lines.push(again);
        let names = Record::Order(order.clone()).names();
        for key in [
            RecordKey::Customer(customer.id),
            RecordKey::Invoice(invoice.id),
            RecordKey::Product(order.lines[0].sku.clone()),
            RecordKey::BackOrderQueue(order.lines[1].sku.clone()),
            RecordKey::Location(LocationId::new("WH").unwrap()),
        ] {
            assert!(names.contains(&key), "{key:?} in {names:?}");
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "each name once");
    }

    #[test]
    fn a_purchase_order_names_each_sku_once_however_its_lines_repeat_it() {
        use crate::purchasing::fixtures::{cup, mugs_on_order};
        let mut po = mugs_on_order(1, 5);
        let mug = po.lines[0].clone();
        let mut other = mug.clone();
        other.sku = cup().sku;
        // MUG, CUP, MUG: the repeat is not beside the first.
        po.lines.push(other);
        po.lines.push(mug);
        let names = Record::PurchaseOrder(po).names();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "each name once: {names:?}");
        // Supplier, ship-to, and a product and a queue per SKU.
        assert_eq!(names.len(), 6, "{names:?}");
    }
}
