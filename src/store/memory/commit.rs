//! The memory store's commit: every guard checked on the state as it is, then the
//! whole changeset applied — validation first, so a refused commit changes nothing.

use std::collections::hash_map::Entry;
use std::sync::Arc;

use super::State;
use crate::event::RecordedEvent;
use crate::money::Money;
use crate::stock::StockLevel;
use crate::store::{
    BalanceKey, Bounds, Changeset, Check, CounterDelta, CounterKey, Record, RecordKey, StockDelta,
    StoreError, StoreResult,
};

impl State {
    fn version(&self, key: &RecordKey) -> Option<u64> {
        self.stored(key).map(|(v, _)| *v)
    }

    pub(super) fn check(&self, check: &Check) -> StoreResult<()> {
        match check {
            Check::Version { key, version } => {
                let actual = self.version(key);
                if actual == Some(*version) {
                    return Ok(());
                }
                Err(StoreError::Conflict {
                    key: key.clone(),
                    expected: Some(*version),
                    actual,
                })
            }
            Check::SkuOnHand { sku, on_hand } => {
                let actual: i64 = self.stock.get(sku).map_or(0, |sites| {
                    sites
                        .iter()
                        .map(|s| s.level.on_hand)
                        .fold(0, i64::saturating_add)
                });
                if actual == *on_hand {
                    return Ok(());
                }
                Err(StoreError::StockChanged {
                    sku: sku.clone(),
                    expected: *on_hand,
                    actual,
                })
            }
        }
    }

    /// Checks everything against the state and returns what to write; changes
    /// nothing. `sums` is what [`Sums::of`] found before the lock was taken.
    pub(super) fn validate(&self, changes: &Changeset, sums: Sums) -> StoreResult<Validated> {
        if let Some(entry) = &changes.idempotency
            && self
                .idempotency
                .contains_key(&(entry.scope, entry.key.clone()))
        {
            return Err(StoreError::DuplicateKey {
                key: entry.key.clone(),
            });
        }

        // A command puts a handful of records: a list beats a hash set here.
        let mut seen: Vec<RecordKey> = Vec::with_capacity(changes.puts.len());
        for put in &changes.puts {
            let key = put.record.key();
            let actual = self.version(&key);
            if seen.contains(&key) {
                return Err(StoreError::Invalid {
                    reason: format!("{} is put twice", key.describe()),
                });
            }
            if actual != put.expected {
                return Err(match (put.expected, actual) {
                    (Some(_), None) => StoreError::NotFound { key },
                    _ => StoreError::Conflict {
                        key,
                        expected: put.expected,
                        actual,
                    },
                });
            }
            seen.push(key);
        }

        for check in &changes.checks {
            self.check(check)?;
        }

        let Sums { deltas, moves } = sums;
        let mut stock = Vec::with_capacity(deltas.len());
        for StockDelta {
            sku,
            location,
            on_hand: on_hand_delta,
            reserved: reserved_delta,
        } in deltas
        {
            // Stock is a bounded counter: on-hand the limit, reserved what is used.
            let before = self.site(&sku, &location).map_or(Bounds::ZERO, |s| Bounds {
                limit: s.level.on_hand,
                used: s.level.reserved,
            });
            let Some(after) = before.after(on_hand_delta, reserved_delta) else {
                return Err(StoreError::InsufficientStock {
                    sku,
                    location,
                    on_hand: before.limit,
                    reserved: before.used,
                    on_hand_delta,
                    reserved_delta,
                });
            };
            stock.push(StockLevel {
                sku,
                location,
                on_hand: after.limit,
                reserved: after.used,
            });
        }

        let mut counters = Vec::with_capacity(moves.len());
        for delta in moves {
            let before = self
                .counters
                .get(&delta.key)
                .copied()
                .unwrap_or(Bounds::ZERO);
            let Some(after) = before.after(delta.limit, delta.used) else {
                return Err(delta.refused(before));
            };
            counters.push((delta.key, after));
        }

        let balances = changes.balances_after(|account, currency| {
            Ok(self
                .balances
                .get(&(account.clone(), currency))
                .copied()
                .unwrap_or(Money::zero(currency)))
        })?;

        Ok(Validated {
            stock,
            counters,
            balances,
        })
    }

    /// Applies a validated changeset; returns the last event's sequence, and the
    /// records it replaced, for the caller to drop once it has let go of the lock
    /// (an order's lines, strings and lists freed one by one are time every other
    /// caller would wait).
    pub(super) fn apply(
        &mut self,
        changes: Changeset,
        validated: Validated,
        mut replaced: Replaced,
    ) -> (u64, Replaced) {
        for put in changes.puts {
            let key = put.record.key();
            if let Record::Order(order) = &put.record {
                if put.expected.is_none() {
                    self.orders_by_customer
                        .entry(order.customer)
                        .or_default()
                        .push(order.id);
                }
                let slot = (order.placed_at, order.id);
                if put.expected.is_none() {
                    self.placed.insert(slot);
                }
                if order.is_ready_to_ship() {
                    self.ready_to_ship.insert(slot);
                } else {
                    self.ready_to_ship.remove(&slot);
                }
            }
            if key.may_fall_due() {
                let was = self
                    .stored(&key)
                    .map(|(_, stored)| stored.due_entries())
                    .unwrap_or_default();
                let now = put.record.due_entries();
                // Most puts (an order shipped, an invoice part paid) leave it as
                // it was: nothing to move.
                if was != now {
                    for (kind, at) in was {
                        self.due.remove(&(kind, at, key.clone()));
                    }
                    for (kind, at) in now {
                        self.due.insert((kind, at, key.clone()));
                    }
                }
            }
            if key.may_have_terms() {
                let was = self
                    .stored(&key)
                    .map(|(_, stored)| stored.index_terms())
                    .unwrap_or_default();
                self.terms.replace(&key, &was, &put.record.index_terms());
            }
            let version = put.expected.map_or(1, |v| v.saturating_add(1));
            if let Some(kind) = self.records.get_mut(key.kind_index()) {
                // An update writes over the record where it lies when no fetch
                // still holds it (no new allocation), keeping the old value to
                // drop later; else it replaces it, and the reader keeps the value
                // it read. Either way the key is hashed once.
                match kind.entry(key) {
                    Entry::Occupied(mut stored) => {
                        let (at, record) = stored.get_mut();
                        *at = version;
                        match Arc::get_mut(record) {
                            Some(alone) => {
                                replaced.values.push(std::mem::replace(alone, put.record));
                            }
                            None => {
                                let new = Arc::new(put.record);
                                replaced.shared.push(std::mem::replace(record, new));
                            }
                        }
                    }
                    Entry::Vacant(slot) => {
                        slot.insert((version, Arc::new(put.record)));
                    }
                }
            }
        }
        for level in validated.stock {
            if let Some(site) = self.site_mut(&level.sku, &level.location) {
                site.level.on_hand = level.on_hand;
                site.level.reserved = level.reserved;
            }
        }
        // Every movement's SKU × location got its level just above.
        for movement in changes.movements {
            if let Some(site) = self.site_mut(&movement.sku, &movement.location) {
                site.movements.push(movement);
            }
        }
        self.counters.extend(validated.counters);
        self.balances.extend(validated.balances);
        self.journal.extend(changes.journal);
        for event in changes.events {
            let sequence = self.last_sequence() + 1;
            self.events.push(RecordedEvent {
                sequence,
                recorded_at: changes.at,
                event,
            });
        }
        if let Some(entry) = changes.idempotency {
            self.idempotency
                .insert((entry.scope, entry.key.clone()), entry);
        }
        (self.last_sequence(), replaced)
    }
}

/// What a commit wrote over, to free after the store's lock is released.
pub(super) struct Replaced {
    /// Values moved out of the slots written over.
    values: Vec<Record>,
    /// The store's references to records a reader still holds.
    shared: Vec<Arc<Record>>,
}

impl Replaced {
    /// Room for every record `changes` can replace (its updates and merges; an
    /// insert replaces nothing), made before the lock is taken: a commit that
    /// only inserts allocates nothing here.
    pub(super) fn room(changes: &Changeset) -> Self {
        let updates = changes.puts.iter().filter(|p| p.expected.is_some()).count();
        Self {
            values: Vec::with_capacity(updates + changes.merges.len()),
            shared: Vec::new(),
        }
    }

    /// Frees them (or lets go of the store's share): call it without the lock.
    pub(super) fn free(self) {
        drop(self.values);
        drop(self.shared);
    }
}

/// What a commit can work out from its changeset alone, before it takes the lock
/// that every other caller waits on: the stock and counter changes summed, and
/// every journal entry checked to balance. Merges, applied under the lock, change
/// records only, so none of this moves after it.
pub(super) struct Sums {
    deltas: Vec<StockDelta>,
    moves: Vec<CounterDelta>,
}

impl Sums {
    /// # Errors
    /// [`StoreError::Invalid`]: a sum overflows, or a journal entry does not
    /// balance.
    pub(super) fn of(changes: &Changeset) -> StoreResult<Self> {
        for entry in &changes.journal {
            entry.validate().map_err(|e| StoreError::Invalid {
                reason: e.to_string(),
            })?;
        }
        Ok(Self {
            deltas: changes.stock_deltas()?,
            moves: changes.counter_deltas()?,
        })
    }
}

pub(super) struct Validated {
    stock: Vec<StockLevel>,
    /// Each counter moved, with its values after the commit.
    counters: Vec<(CounterKey, Bounds)>,
    balances: Vec<(BalanceKey, Money)>,
}
