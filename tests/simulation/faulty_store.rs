//! A store that fails the way real ones do: commits refused before or after they
//! apply, spurious conflicts, and calls that take several polls.

use std::sync::Arc;

use o2c::event::RecordedEvent;
use o2c::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use o2c::ledger::{AccountBalance, JournalEntry};
use o2c::stock::{StockLevel, StockMovement};
use o2c::store::{
    Changeset, Committed, Entity, IdempotencyEntry, IdempotencyScope, ReadResult, Store,
    StoreError, StoreResult, Versioned,
};

use crate::executor::pause;
use crate::plan::{Fault, InjectedFault, Plan};

/// Out of 100 commits: how many fail before applying, after applying, conflict, are slow.
const FAIL_BEFORE: u64 = 3;
const FAIL_AFTER: u64 = 3;
const CONFLICT: u64 = 5;
const SLOW_COMMIT: u64 = 15;
/// Out of 100 reads, how many are slow.
const SLOW_READ: u64 = 8;

/// Delegates to `S`, injecting faults drawn from the plan.
///
/// The inner store's calls are driven to completion on the spot (`block_on`), so the
/// only `Pending` a caller ever sees is an injected one: SQLite's thread pool would
/// otherwise make the number of polls, and with it the whole schedule, depend on
/// the machine.
pub struct FaultyStore<S> {
    pub inner: S,
    pub plan: Arc<Plan>,
}

impl<S: Store> FaultyStore<S> {
    fn injected(fault: Fault) -> StoreError {
        StoreError::Backend(Box::new(InjectedFault(fault)))
    }

    async fn maybe_slow_read(&self, what: &str) {
        if self.plan.give_way() {
            pause(1).await;
        }
        if self
            .plan
            .fault(what, |r| r.chance(SLOW_READ).then_some(Fault::SlowRead))
            .is_some()
        {
            pause(self.plan.fault_amount(1, 3)).await;
        }
    }
}

impl<S: Store> o2c::store::StoreWrapper for FaultyStore<S> {
    type Inner = S;

    fn inner(&self) -> &S {
        &self.inner
    }

    async fn commit(&self, changes: Changeset) -> StoreResult<Committed> {
        if self.plan.give_way() {
            pause(1).await;
        }
        let fault = self.plan.fault("commit", |r| {
            let roll = r.below(100) as u64;
            let mut bound = 0;
            for (fault, share) in [
                (Fault::CommitFailsBefore, FAIL_BEFORE),
                (Fault::CommitFailsAfter, FAIL_AFTER),
                (Fault::CommitConflict, CONFLICT),
                (Fault::SlowCommit, SLOW_COMMIT),
            ] {
                bound += share;
                if roll < bound {
                    return Some(fault);
                }
            }
            None
        });
        match fault {
            Some(Fault::CommitFailsBefore) => Err(Self::injected(Fault::CommitFailsBefore)),
            Some(Fault::CommitConflict) => Err(StoreError::Conflict {
                key: o2c::store::RecordKey::Counter("injected conflict".into()),
                expected: None,
                actual: None,
            }),
            Some(Fault::CommitFailsAfter) => {
                // A real error from the commit itself wins: then nothing was applied.
                pollster::block_on(self.inner.commit(changes))?;
                // Crash-testing drivers take this as their cue: a commit applied
                // whose caller never heard so.
                self.plan.request_crash_after_lost_reply();
                Err(Self::injected(Fault::CommitFailsAfter))
            }
            Some(_) => {
                pause(self.plan.fault_amount(1, 5)).await;
                pollster::block_on(self.inner.commit(changes))
            }
            None => pollster::block_on(self.inner.commit(changes)),
        }
    }

    async fn fetch(&self, request: &o2c::store::Prefetch) -> ReadResult<o2c::store::Fetched> {
        self.maybe_slow_read("fetch").await;
        pollster::block_on(self.inner.fetch(request))
    }

    async fn load<E: Entity>(&self, key: &E::Key) -> ReadResult<Option<Versioned<E>>> {
        self.maybe_slow_read("load").await;
        pollster::block_on(self.inner.load::<E>(key))
    }

    async fn load_many<E: Entity>(&self, keys: &[E::Key]) -> ReadResult<Vec<Option<Versioned<E>>>> {
        self.maybe_slow_read("load_many").await;
        pollster::block_on(self.inner.load_many::<E>(keys))
    }

    async fn list<E: Entity>(&self) -> ReadResult<Vec<Versioned<E>>> {
        self.maybe_slow_read("list").await;
        pollster::block_on(self.inner.list::<E>())
    }

    async fn stock_levels(&self, sku: &Sku) -> ReadResult<Vec<StockLevel>> {
        self.maybe_slow_read("stock_levels").await;
        pollster::block_on(self.inner.stock_levels(sku))
    }

    async fn stock_levels_of(&self, skus: &[Sku]) -> ReadResult<Vec<StockLevel>> {
        self.maybe_slow_read("stock_levels_of").await;
        pollster::block_on(self.inner.stock_levels_of(skus))
    }

    async fn all_stock_levels(&self) -> ReadResult<Vec<StockLevel>> {
        pollster::block_on(self.inner.all_stock_levels())
    }

    async fn stock_movements(
        &self,
        sku: &Sku,
        location: &LocationId,
    ) -> ReadResult<Vec<StockMovement>> {
        pollster::block_on(self.inner.stock_movements(sku, location))
    }

    async fn journal(&self, offset: usize, limit: usize) -> ReadResult<Vec<JournalEntry>> {
        pollster::block_on(self.inner.journal(offset, limit))
    }

    async fn account_balances(&self) -> ReadResult<Vec<AccountBalance>> {
        pollster::block_on(self.inner.account_balances())
    }

    async fn orders_of_customer(&self, customer: CustomerId) -> ReadResult<Vec<OrderId>> {
        self.maybe_slow_read("orders_of_customer").await;
        pollster::block_on(self.inner.orders_of_customer(customer))
    }

    async fn orders_ready_to_ship(&self, limit: usize) -> ReadResult<Vec<OrderId>> {
        pollster::block_on(self.inner.orders_ready_to_ship(limit))
    }

    async fn idempotency(
        &self,
        scope: IdempotencyScope,
        key: &IdempotencyKey,
    ) -> ReadResult<Option<IdempotencyEntry>> {
        // The read a twin delivery races on: slowing it widens the window.
        self.maybe_slow_read("idempotency").await;
        pollster::block_on(self.inner.idempotency(scope, key))
    }

    async fn events_after(&self, cursor: u64, limit: usize) -> ReadResult<Vec<RecordedEvent>> {
        pollster::block_on(self.inner.events_after(cursor, limit))
    }

    async fn last_event_sequence(&self) -> ReadResult<u64> {
        pollster::block_on(self.inner.last_event_sequence())
    }

    async fn read_snapshot<T, F>(&self, read: F) -> ReadResult<T>
    where
        F: FnOnce(&dyn o2c::store::Snapshot) -> T + Send,
        T: Send,
    {
        pollster::block_on(self.inner.read_snapshot(read))
    }
}
