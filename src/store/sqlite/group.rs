//! Group commit: commits that wait for the writer at the same time share one
//! SQLite transaction, and so one sync of the log.
//!
//! Under [`Durability::Full`](super::Durability::Full) a transaction's cost is
//! mostly the sync of the log at `COMMIT` (milliseconds), not its writes (a few
//! hundred microseconds); with one write lock, callers taking turns each paid a
//! whole sync, so sixteen requests in flight ran little faster than one.
//!
//! # How a batch forms
//! A commit that cannot run on its caller's thread joins the [`Queue`]. If
//! nobody is leading, its caller leads: it takes the writer connection and the
//! queued changesets (at most [`SqliteOptions::batch_changesets`], waiting up to
//! [`SqliteOptions::batch_linger`] for more when fewer are queued), runs them in
//! one `BEGIN IMMEDIATE` transaction, each in a savepoint of its own, commits
//! once, and wakes every caller of the batch with its outcome. Then it lets the
//! writer go and appoints the caller of the oldest changeset still queued to lead
//! the next batch (or, if none is, leaves nobody leading). The others wait on
//! their own ticket, so a batch's callers all wake at once; waiting in turn for
//! the writer's lock just to read an outcome cost about a quarter of the
//! throughput at sixteen callers. So a batch closes when the last one is done (or
//! full, or the linger is over): while one batch syncs, the next one gathers,
//! and no caller waits for a timer unless the host asked for one.
//!
//! # What each caller hears
//! - A changeset refused inside the batch (a lost stock guard, a version
//!   conflict, a used idempotency key, any error of its own) is rolled back to its
//!   savepoint alone: its caller gets its error, the others commit. Numbers and
//!   event sequences are taken inside the savepoint, so a changeset rolled back
//!   gives them back and every series stays gapless.
//! - No caller hears "committed" before the shared `COMMIT` returned, synced as
//!   the store's durability says.
//! - If the transaction as a whole fails (`BEGIN` or `COMMIT` refused, or an
//!   error after which SQLite rolled the whole transaction back, such as a full
//!   disk), every changeset of the batch that had not failed on its own gets a copy
//!   of that error, and none of them was written.
//!
//! [`SqliteOptions::batch_changesets`]: super::SqliteOptions::batch_changesets
//! [`SqliteOptions::batch_linger`]: super::SqliteOptions::batch_linger

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior, ffi};

use super::cache::RecordCache;
use super::checkpoint;
use super::commit;
use super::error::db;
use crate::store::{Changeset, Committed, StoreError, StoreResult};

/// A changeset on its way to the writer, and, once a leader has run it, its
/// outcome.
pub(super) struct Ticket {
    slot: Mutex<Slot>,
    /// Woken when the outcome is in, or when this ticket is to lead.
    ready: Condvar,
}

struct Slot {
    /// Taken by the leader while it runs the changeset, then given back (the
    /// caller caches the records it put).
    changes: Option<Changeset>,
    outcome: Option<StoreResult<Committed>>,
    /// Set once an outcome was given, so it is given once.
    done: bool,
    /// Set when the last leader passed leadership to this ticket's caller.
    leads: bool,
}

impl Ticket {
    pub(super) fn new(changes: Changeset) -> Arc<Self> {
        Arc::new(Self {
            slot: Mutex::new(Slot {
                changes: Some(changes),
                outcome: None,
                done: false,
                leads: false,
            }),
            ready: Condvar::new(),
        })
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives the caller its outcome (and changeset) and wakes it.
    fn finish(&self, outcome: StoreResult<Committed>, changes: Option<Changeset>) {
        let mut slot = self.slot();
        if std::mem::replace(&mut slot.done, true) {
            return;
        }
        slot.outcome = Some(outcome);
        if changes.is_some() {
            slot.changes = changes;
        }
        self.ready.notify_one();
    }

    /// Makes the caller the next leader and wakes it.
    fn appoint(&self) {
        self.slot().leads = true;
        self.ready.notify_one();
    }

    /// Waits until a leader has run the changeset (its outcome and the changeset
    /// back), or has passed leadership here (`None`).
    fn wait(&self) -> Option<(StoreResult<Committed>, Option<Changeset>)> {
        let mut slot = self.slot();
        loop {
            if let Some(outcome) = slot.outcome.take() {
                return Some((outcome, slot.changes.take()));
            }
            if slot.leads {
                slot.leads = false;
                return None;
            }
            slot = self
                .ready
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The outcome and the changeset, if a leader has run it.
    fn finished(&self) -> Option<(StoreResult<Committed>, Option<Changeset>)> {
        let mut slot = self.slot();
        let outcome = slot.outcome.take()?;
        Some((outcome, slot.changes.take()))
    }
}

/// The changesets waiting for a leader, oldest first, and whether a caller is
/// leading. At most one leads at a time; the others wait on their own ticket, so
/// a batch's callers all wake at once when it is done rather than one after the
/// other through the writer's lock.
#[derive(Default)]
pub(super) struct Queue {
    state: Mutex<Waiting>,
    /// Woken when a changeset joins, for a leader that lingers.
    joined: Condvar,
}

#[derive(Default)]
struct Waiting {
    tickets: VecDeque<Arc<Ticket>>,
    leading: bool,
}

/// How a leader closes its batch.
#[derive(Debug, Clone, Copy)]
pub(super) struct Batching {
    pub(super) max_changesets: usize,
    pub(super) linger: Duration,
}

impl Queue {
    fn state(&self) -> MutexGuard<'_, Waiting> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `ticket`; true when its caller is to lead (nobody else is).
    fn join(&self, ticket: Arc<Ticket>) -> bool {
        let mut state = self.state();
        state.tickets.push_back(ticket);
        self.joined.notify_one();
        !std::mem::replace(&mut state.leading, true)
    }

    /// Up to `batching.max_changesets` waiting changesets, after lingering for
    /// more if fewer wait.
    fn take(&self, batching: Batching) -> Vec<Arc<Ticket>> {
        let max = batching.max_changesets.max(1);
        let mut state = self.state();
        if !batching.linger.is_zero() {
            let until = Instant::now() + batching.linger;
            while state.tickets.len() < max {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                state = self
                    .joined
                    .wait_timeout(state, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
        let n = state.tickets.len().min(max);
        state.tickets.drain(..n).collect()
    }

    /// After a batch: the oldest waiting caller leads next, or nobody leads.
    fn pass_on(&self) {
        let mut state = self.state();
        match state.tickets.front() {
            Some(next) => next.appoint(),
            None => state.leading = false,
        }
    }
}

/// Leadership held: passed on when dropped, however the leader stops, so the
/// queue never waits for a leader that is gone.
struct Leading<'q>(&'q Queue);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        self.0.pass_on();
    }
}

/// Commits `changes` with whatever else waits for the writer: queues them, and
/// either waits for a leader to run them or leads a batch itself, taking the
/// writer from `writer`. Returns the outcome, the changeset back, and the log
/// frames the commit left (0 when another caller led).
pub(super) fn commit(
    writer: &Mutex<Connection>,
    cache: &RecordCache,
    queue: &Queue,
    batching: Batching,
    changes: Changeset,
) -> (StoreResult<Committed>, Option<Changeset>, u32) {
    let ticket = Ticket::new(changes);
    if !queue.join(Arc::clone(&ticket))
        && let Some((outcome, changes)) = ticket.wait()
    {
        return (outcome, changes, 0);
    }
    let leading = Leading(queue);
    // A panic under the lock leaves nothing half-done: the transaction it was in
    // rolls back when dropped. So a poisoned lock still guards a good connection.
    let mut conn = writer.lock().unwrap_or_else(PoisonError::into_inner);
    // This ticket is the oldest queued: a caller leads when it finds nobody
    // leading (so nothing queued) or when the last leader appoints the oldest.
    // So the first batch holds it.
    let batch = queue.take(batching);
    lead(&mut conn, cache, &batch);
    let frames = checkpoint::take_wal_frames();
    drop(conn);
    drop(leading);
    match ticket.finished() {
        Some((outcome, changes)) => (outcome, changes, frames),
        // Unreachable while the reasoning above holds; never a panic, though.
        None => (
            Err(StoreError::Invalid {
                reason: "a grouped commit was left out of its own batch".to_owned(),
            }),
            None,
            frames,
        ),
    }
}

/// Runs `batch` in one transaction, a savepoint each, and fills every outcome.
fn lead(conn: &mut Connection, cache: &RecordCache, batch: &[Arc<Ticket>]) {
    let _unfinished = Unfinished(batch);
    let (tickets, mut changesets): (Vec<&Arc<Ticket>>, Vec<Changeset>) = batch
        .iter()
        .filter_map(|ticket| {
            ticket
                .slot()
                .changes
                .take()
                .map(|changes| (ticket, changes))
        })
        .unzip();
    let mut outcomes: Vec<Option<StoreResult<Committed>>> = Vec::with_capacity(tickets.len());
    let whole = run(conn, cache, &mut changesets, &mut outcomes);
    // A batch cut short leaves the rest unrun: they share its failure.
    outcomes.resize_with(tickets.len(), || None);
    for ((ticket, changes), outcome) in tickets.into_iter().zip(changesets).zip(outcomes) {
        let outcome = match (&whole, outcome) {
            // Refused on its own: its error, whatever happened to the others.
            (_, Some(Err(own))) => Err(own),
            (Ok(()), Some(Ok(committed))) => Ok(committed),
            (Err(failure), _) => Err(copy(failure)),
            (Ok(()), None) => Err(StoreError::Invalid {
                reason: "a grouped commit was not run".to_owned(),
            }),
        };
        ticket.finish(outcome, Some(changes));
    }
}

/// Gives, when dropped, every ticket of a batch still without an outcome (its
/// leader stopped half-way, which only a panic could do) an error, so no caller
/// waits for ever.
struct Unfinished<'b>(&'b [Arc<Ticket>]);

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        for ticket in self.0 {
            let cut_off =
                StoreError::Interrupted("the batch committing it stopped half-way".into());
            ticket.finish(Err(cut_off), None);
        }
    }
}

/// The batch's transaction: `Err` when it failed as a whole.
fn run(
    conn: &mut Connection,
    cache: &RecordCache,
    changesets: &mut [Changeset],
    outcomes: &mut Vec<Option<StoreResult<Committed>>>,
) -> Result<(), rusqlite::Error> {
    // IMMEDIATE: see `commit::commit_if_unlocked`.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let [changes] = changesets {
        // Alone, it needs no savepoint: refused, the whole transaction goes.
        let outcome = commit::apply(&tx, cache, changes);
        let refused = outcome.is_err();
        outcomes.push(Some(outcome));
        return if refused { tx.rollback() } else { tx.commit() };
    }
    for changes in changesets.iter_mut() {
        tx.execute_batch("SAVEPOINT changeset")?;
        match commit::apply(&tx, cache, changes) {
            Ok(committed) => {
                tx.execute_batch("RELEASE changeset")?;
                outcomes.push(Some(Ok(committed)));
            }
            Err(refused) => {
                // Some errors (a full disk, an I/O error) make SQLite roll the
                // whole transaction back: nothing of the batch is left to commit.
                if tx.is_autocommit() {
                    let whole = backend_error(&refused);
                    outcomes.push(Some(Err(refused)));
                    return Err(whole);
                }
                tx.execute_batch("ROLLBACK TO changeset; RELEASE changeset")?;
                outcomes.push(Some(Err(refused)));
            }
        }
    }
    tx.commit()
}

/// The driver error inside `error`, copied, for the rest of a batch it sank.
fn backend_error(error: &StoreError) -> rusqlite::Error {
    let source = match error {
        StoreError::Backend(source) => source.downcast_ref::<rusqlite::Error>(),
        _ => None,
    };
    match source {
        Some(e) => copy_error(e),
        None => rusqlite::Error::SqliteFailure(
            ffi::Error::new(ffi::SQLITE_ABORT),
            Some(format!("the shared transaction was rolled back: {error}")),
        ),
    }
}

/// A copy of a driver error for each caller of a failed batch (the driver's
/// errors are not `Clone`); SQLite's own code and message are kept.
fn copy_error(error: &rusqlite::Error) -> rusqlite::Error {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            ffi::Error::new(ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

fn copy(error: &rusqlite::Error) -> StoreError {
    db(copy_error(error))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::ids::InvoiceId;
    use crate::ledger::Invoice;
    use crate::ledger::fixtures::given_invoiced;
    use crate::purchasing::fixtures::{at, sku, uuid};
    use crate::store::sqlite::SqliteStore;
    use crate::store::{Put, RecordKey, Store};

    /// Makes any event naming a SKU with `POISON` in it fail to insert: a
    /// changeset refused after it took its numbers and wrote its records.
    const POISON: &str = "CREATE TEMP TRIGGER poison BEFORE INSERT ON events
        WHEN NEW.body LIKE '%POISON%'
        BEGIN SELECT RAISE(ABORT, 'poisoned event'); END";

    /// Inserts invoice `n` for the store to number, with an event about `code`.
    fn issuing(template: &Invoice, n: u128, code: &str) -> Changeset {
        let mut invoice = template.clone();
        invoice.id = InvoiceId::from_uuid(uuid(n));
        let mut changes = Changeset::new(at());
        changes.puts.push(Put::insert(invoice.clone()));
        changes.events.push(Event::ProductSaved { sku: sku(code) });
        changes.number(RecordKey::Invoice(invoice.id));
        changes
    }

    #[test]
    fn a_changeset_refused_in_a_batch_rolls_back_alone_and_takes_no_number() {
        pollster::block_on(async {
            let store = SqliteStore::in_memory().unwrap();
            let (_, _, invoice) = given_invoiced();
            let batch = [
                Ticket::new(issuing(&invoice, 1, "FIRST")),
                Ticket::new(issuing(&invoice, 2, "POISON")),
                Ticket::new(issuing(&invoice, 3, "THIRD")),
            ];
            {
                let mut conn = store.inner.writer.lock().unwrap();
                conn.execute_batch(POISON).unwrap();
                lead(&mut conn, &store.inner.cache, &batch);
            }
            let [first, poisoned, third] = batch.map(|t| t.finished().unwrap());
            let number = |n: u128| RecordKey::Invoice(InvoiceId::from_uuid(uuid(n)));
            assert_eq!(first.0.unwrap().number_of(&number(1)), Some(1));
            let refused = poisoned.0.unwrap_err();
            assert!(
                format!("{refused:?}").contains("poisoned event"),
                "{refused:?}"
            );
            // The third takes the number the refused one gave back.
            assert_eq!(third.0.unwrap().number_of(&number(3)), Some(2));
            // Each caller gets its changeset back.
            assert!(first.1.is_some() && poisoned.1.is_some() && third.1.is_some());

            let events = store.events_after(0, 10).await.unwrap();
            let got: Vec<(u64, String)> = events
                .iter()
                .map(|e| match &e.event {
                    Event::ProductSaved { sku } => (e.sequence, sku.as_str().to_owned()),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(got, [(1, "FIRST".to_owned()), (2, "THIRD".to_owned())]);
            assert!(
                store
                    .load::<Invoice>(&InvoiceId::from_uuid(uuid(2)))
                    .await
                    .unwrap()
                    .is_none()
            );
            let third = store
                .load::<Invoice>(&InvoiceId::from_uuid(uuid(3)))
                .await
                .unwrap();
            assert_eq!(third.unwrap().value.number.value(), 2);
        });
    }

    #[test]
    fn a_batch_that_fails_as_a_whole_fails_every_caller_and_writes_nothing() {
        pollster::block_on(async {
            let store = SqliteStore::in_memory().unwrap();
            let (_, _, invoice) = given_invoiced();
            let batch = [
                Ticket::new(issuing(&invoice, 1, "FIRST")),
                Ticket::new(issuing(&invoice, 2, "SECOND")),
            ];
            {
                let mut conn = store.inner.writer.lock().unwrap();
                // A transaction left open on the writer: the batch's BEGIN fails.
                conn.execute_batch("BEGIN").unwrap();
                lead(&mut conn, &store.inner.cache, &batch);
                conn.execute_batch("ROLLBACK").unwrap();
            }
            for ticket in &batch {
                let (outcome, changes) = ticket.finished().unwrap();
                let e = outcome.unwrap_err();
                assert!(matches!(e, StoreError::Backend(_)), "{e:?}");
                assert!(changes.is_some());
            }
            assert!(store.events_after(0, 10).await.unwrap().is_empty());
        });
    }

    #[test]
    fn a_leader_takes_at_most_the_batch_size_and_lingers_only_when_asked() {
        let queue = Queue::default();
        let (_, _, invoice) = given_invoiced();
        for n in 0..5 {
            queue.join(Ticket::new(issuing(&invoice, n, "ANY")));
        }
        let sized = Batching {
            max_changesets: 2,
            linger: Duration::ZERO,
        };
        assert_eq!(queue.take(sized).len(), 2);
        let unbounded = Batching {
            max_changesets: 0,
            linger: Duration::ZERO,
        };
        assert_eq!(queue.take(unbounded).len(), 1, "0 counts as 1");
        let lingering = Batching {
            max_changesets: 10,
            linger: Duration::from_millis(20),
        };
        let started = Instant::now();
        assert_eq!(queue.take(lingering).len(), 2);
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert!(queue.take(sized).is_empty());
    }

    /// Sixteen callers at once, three to a batch: each hears back with its own
    /// outcome, every invoice gets one number of 1 to 16, and the last leader
    /// lets leadership go.
    #[test]
    fn callers_at_once_all_hear_back_and_the_last_leader_lets_go() {
        let store = SqliteStore::in_memory().unwrap();
        let (_, _, invoice) = given_invoiced();
        let batching = Batching {
            max_changesets: 3,
            linger: Duration::from_millis(1),
        };
        let inner = &store.inner;
        std::thread::scope(|threads| {
            for n in 1..=16 {
                let changes = issuing(&invoice, n, "ANY");
                threads.spawn(move || {
                    let (outcome, changes, _) =
                        commit(&inner.writer, &inner.cache, &inner.queue, batching, changes);
                    let key = RecordKey::Invoice(InvoiceId::from_uuid(uuid(n)));
                    assert!(outcome.unwrap().number_of(&key).is_some());
                    assert!(changes.unwrap().puts[0].record.has_key(&key));
                });
            }
        });
        let state = inner.queue.state();
        assert!(!state.leading && state.tickets.is_empty());
        drop(state);
        let mut numbers: Vec<u64> = pollster::block_on(async {
            let mut numbers = Vec::new();
            for n in 1..=16 {
                let id = InvoiceId::from_uuid(uuid(n));
                let stored = store.load::<Invoice>(&id).await.unwrap().unwrap();
                numbers.push(stored.value.number.value());
            }
            numbers
        });
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=16).collect::<Vec<u64>>());
    }
}
