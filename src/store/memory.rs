//! The in-memory store: the default, for tests, demos and single-process hosts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound::{Excluded, Included, Unbounded};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use chrono::{DateTime, Utc};

use self::terms::TermIndex;
use super::changeset::{KINDS, kind_index};
use super::log::Log;
use super::{
    BalanceKey, Bounds, Changeset, CommitSignal, Committed, CounterKey, DueCursor, DueKind,
    DueWork, Entity, Fetched, IdempotencyEntry, IdempotencyScope, IndexTerm, Prefetch, ReadResult,
    Record, RecordKey, Series, Snapshot, Store, StoreError, StoreResult, Versioned,
};
use crate::customer::Customer;
use crate::event::RecordedEvent;
use crate::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use crate::ledger::{AccountBalance, JournalEntry};
use crate::money::Money;
use crate::order::{Order, OrderQuery};
use crate::stock::{StockLevel, StockMovement};

mod commit;
mod terms;
#[cfg(test)]
mod tests;

/// The store's maps use foldhash: several times faster than SipHash on short keys,
/// and still seeded per map, so crafted keys cannot be aimed at one bucket.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Everything in one process's memory, behind one `RwLock`.
///
/// A commit validates the whole changeset under the write lock before changing
/// anything, then applies it; so it is atomic, and readers (who take the read lock)
/// never see half of one. What needs no state (summing its stock and counter
/// changes, balancing its journal entries) it does before taking the lock, and the
/// records it replaced it frees after letting go: every other caller waits while
/// the lock is held. The lock is a `std` lock held only for the duration of a
/// synchronous critical section, never across an `.await`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RwLock<State>,
    signal: CommitSignal,
}

#[derive(Debug, Default)]
struct State {
    /// One map per kind, at the kind's [`RecordKey::kind_index`], so `list` reads
    /// one kind without scanning the rest and a lookup hashes only the key.
    /// Records are shared: a fetch hands out another reference to each, not a
    /// copy, and a commit replaces one (or writes over it, when no fetch holds it
    /// any more), so what a reader holds never changes under it. Growing a map
    /// moves pointers, not whole records.
    records: [Map<RecordKey, (u64, Arc<Record>)>; KINDS.len()],
    /// Each SKU's locations, in location-code order: a SKU is stocked at a few, so
    /// a short list finds one faster than a tree, and one lookup reaches both the
    /// level and its movements.
    stock: Map<Sku, Vec<Site>>,
    /// Bounded counters other than stock, by key.
    counters: Map<CounterKey, Bounds>,
    journal: Log<JournalEntry>,
    /// Sorted only when listed (reports); a commit looks its accounts up by hash.
    balances: Map<BalanceKey, Money>,
    events: Log<RecordedEvent>,
    idempotency: Map<(IdempotencyScope, IdempotencyKey), IdempotencyEntry>,
    orders_by_customer: Map<CustomerId, Vec<OrderId>>,
    ready_to_ship: BTreeSet<(DateTime<Utc>, OrderId)>,
    /// Every order by placement time, for listings ([`Store::orders_page`]).
    placed: BTreeSet<(DateTime<Utc>, OrderId)>,
    /// The records found under each index term ([`Record::index_terms`]).
    terms: TermIndex,
    /// What falls due when ([`Record::due_work`]): kind, second, key — the
    /// order [`Store::due`] lists in, since the records of one kind of due work
    /// are all of one kind, whose ids sort as their keys' text does.
    due: BTreeSet<(DueKind, i64, RecordKey)>,
    /// The last number of each document series.
    series: BTreeMap<Series, u64>,
}

/// One SKU at one location: its level, and the movements that made its on-hand.
#[derive(Debug)]
struct Site {
    level: StockLevel,
    movements: Vec<StockMovement>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // Commits validate before they mutate and never panic in between, so a
        // poisoned lock still guards consistent data.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    /// A copy of a record of any kind, with its version: for a commit's merge,
    /// which changes it.
    fn record(&self, key: &RecordKey) -> Option<(u64, Record)> {
        self.stored(key)
            .map(|(version, record)| (*version, Record::clone(record)))
    }

    /// A record of any kind, with its version, shared with the store.
    fn shared(&self, key: &RecordKey) -> Option<(u64, Arc<Record>)> {
        self.stored(key)
            .map(|(version, record)| (*version, Arc::clone(record)))
    }

    /// The record at `key` as stored, with its version.
    fn stored(&self, key: &RecordKey) -> Option<&(u64, Arc<Record>)> {
        self.records
            .get(key.kind_index())
            .and_then(|kind| kind.get(key))
    }

    /// Every record of the kind named `kind`.
    fn kind(&self, kind: &str) -> Option<&Map<RecordKey, (u64, Arc<Record>)>> {
        kind_index(kind).and_then(|i| self.records.get(i))
    }

    /// The `E` at `key`, copied, if `keep` says so of it.
    fn versioned_if<E: Entity>(
        &self,
        key: &E::Key,
        keep: impl Fn(&E) -> bool,
    ) -> Option<Versioned<E>> {
        let (version, record) = self.stored(&E::record_key(key))?;
        let value = E::from_record_ref(record).filter(|value| keep(value))?;
        Some(Versioned {
            value: value.clone(),
            version: *version,
        })
    }

    fn versioned<E: Entity>(&self, key: &E::Key) -> Option<Versioned<E>> {
        self.stored(&E::record_key(key))
            .and_then(|(version, record)| {
                E::from_record_ref(record).map(|value| Versioned {
                    value: value.clone(),
                    version: *version,
                })
            })
    }

    /// The stock of `sku` at every location, by location code.
    fn levels(&self, sku: &Sku) -> impl Iterator<Item = StockLevel> + '_ {
        self.stock
            .get(sku)
            .into_iter()
            .flatten()
            .map(|site| site.level.clone())
    }

    /// `sku` at `location`, if it was ever stocked there.
    fn site(&self, sku: &Sku, location: &LocationId) -> Option<&Site> {
        self.stock
            .get(sku)?
            .iter()
            .find(|site| &site.level.location == location)
    }

    /// `sku` at `location`, created empty (in location-code order) if new.
    fn site_mut(&mut self, sku: &Sku, location: &LocationId) -> Option<&mut Site> {
        if !self.stock.contains_key(sku) {
            self.stock.insert(sku.clone(), Vec::new());
        }
        let sites = self.stock.get_mut(sku)?;
        let at = match sites.iter().position(|s| &s.level.location == location) {
            Some(at) => at,
            None => {
                let at = sites.partition_point(|s| &s.level.location < location);
                let level = StockLevel::empty(sku.clone(), location.clone());
                sites.insert(
                    at,
                    Site {
                        level,
                        movements: Vec::new(),
                    },
                );
                at
            }
        };
        sites.get_mut(at)
    }

    fn last_sequence(&self) -> u64 {
        self.events.last().map_or(0, |e| e.sequence)
    }
}

impl Store for MemoryStore {
    async fn commit(&self, mut changes: Changeset) -> StoreResult<Committed> {
        // What needs no state is done before the lock every other caller waits on,
        // and what the commit replaces is freed after it.
        let sums = commit::Sums::of(&changes)?;
        let replaced = commit::Replaced::room(&changes);
        let mut state = self.write();
        changes.apply_merges(|key| Ok(state.record(key)))?;
        let validated = state.validate(&changes, sums)?;
        let mut numbers = Vec::new();
        if !changes.numbered.is_empty() {
            // Numbered on a copy of the series, kept only once numbering succeeded.
            let mut series = state.series.clone();
            numbers = changes.assign_numbers(|s| {
                let last = series.entry(s).or_insert(0);
                *last = last.checked_add(1).ok_or_else(|| StoreError::Invalid {
                    reason: format!("the {} series is exhausted", s.name()),
                })?;
                Ok(*last)
            })?;
            state.series = series;
        }
        let (last, replaced) = state.apply(changes, validated, replaced);
        drop(state);
        replaced.free();
        self.signal.notify();
        Ok(Committed::new(last, numbers))
    }

    async fn fetch(&self, request: &Prefetch) -> ReadResult<Fetched> {
        // One lock for everything: one snapshot.
        let state = self.read();
        // Sized up front: a command reads a dozen records and forty levels, and
        // growing the lists as they fill copied them several times over.
        let kinds: Vec<_> = request.kinds.iter().filter_map(|k| state.kind(k)).collect();
        let asked: Vec<(usize, &IndexTerm)> = request
            .terms
            .iter()
            .filter_map(|(kind, term)| kind_index(kind).map(|at| (at, term)))
            .collect();
        let under = state.terms.found(&asked);
        let mut records: Vec<(u64, Arc<Record>)> = Vec::with_capacity(
            request.records.len() + under.len() + kinds.iter().map(|all| all.len()).sum::<usize>(),
        );
        // Each record shared, not copied: a reference count, whatever its size.
        records.extend(request.records.iter().filter_map(|key| state.shared(key)));
        let followed = request.followed(&records);
        records.extend(followed.iter().filter_map(|key| state.shared(key)));
        records.extend(under.into_iter().filter_map(|key| state.shared(key)));
        for all in kinds {
            records.extend(all.values().map(|(v, r)| (*v, Arc::clone(r))));
        }
        // The stock: every SKU's sites found first, so its list is sized once,
        // then each level copied (a few words).
        let sites: Vec<&[Site]> = request
            .stock_of
            .iter()
            .map(|sku| state.stock.get(sku).map_or(&[][..], Vec::as_slice))
            .collect();
        let mut stock = Vec::with_capacity(sites.iter().map(|at| at.len()).sum());
        stock.extend(sites.into_iter().flatten().map(|site| site.level.clone()));
        Ok(Fetched {
            records,
            stock,
            idempotency: request
                .idempotency
                .as_ref()
                .and_then(|(scope, key)| state.idempotency.get(&(*scope, key.clone())).cloned()),
            counters: request
                .counters
                .iter()
                .map(|key| {
                    let bounds = state.counters.get(key).copied().unwrap_or(Bounds::ZERO);
                    (key.clone(), bounds)
                })
                .collect(),
        })
    }

    async fn load<E: Entity>(&self, key: &E::Key) -> ReadResult<Option<Versioned<E>>> {
        Ok(self.read().versioned::<E>(key))
    }

    async fn load_many<E: Entity>(&self, keys: &[E::Key]) -> ReadResult<Vec<Option<Versioned<E>>>> {
        // One lock for all of them: one snapshot, as the contract prefers.
        let state = self.read();
        Ok(keys.iter().map(|key| state.versioned::<E>(key)).collect())
    }

    async fn list<E: Entity>(&self) -> ReadResult<Vec<Versioned<E>>> {
        let state = self.read();
        let Some(kind) = state.kind(E::kind()) else {
            return Ok(Vec::new());
        };
        // Listing is for small kinds and reports: sorting on demand is cheaper than
        // keeping every key twice.
        let mut found: Vec<(&RecordKey, Versioned<E>)> = kind
            .iter()
            .filter_map(|(key, (version, record))| {
                E::from_record_ref(record).map(|value| {
                    let value = value.clone();
                    (
                        key,
                        Versioned {
                            value,
                            version: *version,
                        },
                    )
                })
            })
            .collect();
        found.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Ok(found.into_iter().map(|(_, v)| v).collect())
    }

    async fn stock_levels(&self, sku: &Sku) -> ReadResult<Vec<StockLevel>> {
        let state = self.read();
        let mut levels = Vec::with_capacity(state.stock.get(sku).map_or(0, Vec::len));
        levels.extend(state.levels(sku));
        Ok(levels)
    }

    async fn stock_levels_of(&self, skus: &[Sku]) -> ReadResult<Vec<StockLevel>> {
        let state = self.read();
        let sites = |sku: &Sku| state.stock.get(sku).map_or(0, Vec::len);
        let mut levels = Vec::with_capacity(skus.iter().map(sites).sum());
        levels.extend(skus.iter().flat_map(|sku| state.levels(sku)));
        Ok(levels)
    }

    async fn all_stock_levels(&self) -> ReadResult<Vec<StockLevel>> {
        let state = self.read();
        let mut skus: Vec<&Sku> = state.stock.keys().collect();
        skus.sort();
        Ok(skus
            .into_iter()
            .filter_map(|sku| state.stock.get(sku))
            .flatten()
            .map(|site| site.level.clone())
            .collect())
    }

    async fn stock_movements(
        &self,
        sku: &Sku,
        location: &LocationId,
    ) -> ReadResult<Vec<StockMovement>> {
        let state = self.read();
        Ok(state
            .site(sku, location)
            .map(|site| site.movements.clone())
            .unwrap_or_default())
    }

    async fn journal(&self, offset: usize, limit: usize) -> ReadResult<Vec<JournalEntry>> {
        let state = self.read();
        Ok(state
            .journal
            .iter_from(offset)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn account_balances(&self) -> ReadResult<Vec<AccountBalance>> {
        Snapshot::account_balances(&*self.read())
    }

    async fn orders_of_customer(&self, customer: CustomerId) -> ReadResult<Vec<OrderId>> {
        Ok(self
            .read()
            .orders_by_customer
            .get(&customer)
            .cloned()
            .unwrap_or_default())
    }

    async fn orders_page(
        &self,
        query: &OrderQuery,
        limit: usize,
    ) -> ReadResult<Vec<Versioned<Order>>> {
        let state = self.read();
        // Walks the placement index from where the page starts — the cursor, or
        // the window's near end if that comes later — in the listing's
        // direction, and stops at the window's far end.
        let cursor = query.after.map(|c| (c.placed_at, c.order));
        let first = OrderId::from_uuid(uuid::Uuid::nil());
        let slots: Box<dyn Iterator<Item = &(DateTime<Utc>, OrderId)>> = if query.newest_first {
            let window = query.placed_before.map(|end| (end, first));
            let end = match (cursor, window) {
                (Some(c), Some(w)) => Excluded(c.min(w)),
                (Some(c), None) => Excluded(c),
                (None, Some(w)) => Excluded(w),
                (None, None) => Unbounded,
            };
            Box::new(state.placed.range((Unbounded, end)).rev())
        } else {
            let window = query.placed_from.map(|start| (start, first));
            let start = match (cursor, window) {
                (Some(c), Some(w)) if w > c => Included(w),
                (Some(c), _) => Excluded(c),
                (None, Some(w)) => Included(w),
                (None, None) => Unbounded,
            };
            Box::new(state.placed.range((start, Unbounded)))
        };
        let within = |at: &DateTime<Utc>| match query.newest_first {
            false => query.placed_before.is_none_or(|end| *at < end),
            true => query.placed_from.is_none_or(|start| *at >= start),
        };
        Ok(slots
            .take_while(|(at, _)| within(at))
            .filter_map(|(_, id)| state.versioned_if::<Order>(id, |o| query.matches(o)))
            .take(limit)
            .collect())
    }

    async fn customers_page(
        &self,
        after: Option<CustomerId>,
        limit: usize,
    ) -> ReadResult<Vec<Versioned<Customer>>> {
        let state = self.read();
        let Some(kind) = state.kind(Customer::kind()) else {
            return Ok(Vec::new());
        };
        // Customers are kept by hash: the ids past the cursor, sorted, then the
        // page's records copied.
        let mut ids: Vec<CustomerId> = kind
            .keys()
            .filter_map(|key| match key {
                RecordKey::Customer(id) if after.is_none_or(|after| *id > after) => Some(*id),
                _ => None,
            })
            .collect();
        ids.sort_unstable();
        Ok(ids
            .into_iter()
            .take(limit)
            .filter_map(|id| state.versioned::<Customer>(&id))
            .collect())
    }

    async fn due(
        &self,
        kind: DueKind,
        until: i64,
        after: Option<&DueCursor>,
        limit: usize,
    ) -> ReadResult<Vec<DueWork>> {
        let state = self.read();
        // Every key of a kind that falls due sorts after the tax table's.
        let from = (kind, after.map_or(i64::MIN, |c| c.at), RecordKey::TaxTable);
        Ok(state
            .due
            .range((Included(from), Unbounded))
            // Within the cursor's second, by the key's text, as the cursor has it.
            .filter(|(_, at, key)| after.is_none_or(|c| *at > c.at || key.describe() > c.key))
            .take_while(|(k, at, _)| *k == kind && *at <= until)
            .take(limit)
            .filter_map(|(_, at, key)| {
                state.stored(key).map(|(version, record)| DueWork {
                    kind,
                    at: *at,
                    record: Versioned {
                        value: Record::clone(record),
                        version: *version,
                    },
                })
            })
            .collect())
    }

    async fn orders_ready_to_ship(&self, limit: usize) -> ReadResult<Vec<OrderId>> {
        Ok(self
            .read()
            .ready_to_ship
            .iter()
            .take(limit)
            .map(|(_, id)| *id)
            .collect())
    }

    async fn idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
    ) -> ReadResult<Option<IdempotencyEntry>> {
        Ok(self.read().idempotency.get(&(scope, key.clone())).cloned())
    }

    async fn events_after(&self, cursor: u64, limit: usize) -> ReadResult<Vec<RecordedEvent>> {
        let state = self.read();
        // Sequences are 1-based and gapless, so the event after `cursor` sits at index `cursor`.
        let start = usize::try_from(cursor).unwrap_or(usize::MAX);
        Ok(state.events.iter_from(start).take(limit).cloned().collect())
    }

    fn commit_signal(&self) -> Option<&CommitSignal> {
        Some(&self.signal)
    }

    async fn last_event_sequence(&self) -> ReadResult<u64> {
        Ok(self.read().last_sequence())
    }

    async fn read_snapshot<T, F>(&self, read: F) -> ReadResult<T>
    where
        F: FnOnce(&dyn Snapshot) -> T + Send,
        T: Send,
    {
        // The read lock is the snapshot: commits wait until `read` is done.
        let state = self.read();
        Ok(read(&*state))
    }
}

impl Snapshot for State {
    fn each_record(&self, kind: &'static str, visit: &mut dyn FnMut(&Record)) -> ReadResult<()> {
        for (_, record) in self.kind(kind).into_iter().flat_map(|k| k.values()) {
            visit(record);
        }
        Ok(())
    }

    fn each_stock_level(&self, visit: &mut dyn FnMut(&StockLevel)) -> ReadResult<()> {
        self.stock
            .values()
            .flatten()
            .map(|site| &site.level)
            .for_each(visit);
        Ok(())
    }

    fn each_movement(&self, visit: &mut dyn FnMut(&StockMovement)) -> ReadResult<()> {
        self.stock
            .values()
            .flatten()
            .flat_map(|site| &site.movements)
            .for_each(visit);
        Ok(())
    }

    fn each_bounded_counter(&self, visit: &mut dyn FnMut(&CounterKey, Bounds)) -> ReadResult<()> {
        for (key, bounds) in &self.counters {
            visit(key, *bounds);
        }
        Ok(())
    }

    fn each_freight_entry(&self, visit: &mut dyn FnMut(&IdempotencyEntry)) -> ReadResult<()> {
        // The map is keyed by (scope, key) but hashed: walked whole, which in
        // memory is a pass over pointers.
        for entry in self.idempotency.values() {
            if super::FREIGHT_SCOPES.contains(&entry.scope) {
                visit(entry);
            }
        }
        Ok(())
    }

    fn each_journal_entry(&self, visit: &mut dyn FnMut(u64, &JournalEntry)) -> ReadResult<()> {
        for (position, entry) in (1..).zip(self.journal.iter_from(0)) {
            visit(position, entry);
        }
        Ok(())
    }

    fn account_balances(&self) -> ReadResult<Vec<AccountBalance>> {
        // By account, then currency.
        let mut balances: Vec<(&BalanceKey, &Money)> = self.balances.iter().collect();
        balances.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Ok(balances
            .into_iter()
            .map(|((account, _), balance)| AccountBalance {
                account: account.clone(),
                balance: *balance,
            })
            .collect())
    }

    fn each_event(&self, visit: &mut dyn FnMut(&RecordedEvent)) -> ReadResult<()> {
        self.events.iter_from(0).for_each(visit);
        Ok(())
    }
}
