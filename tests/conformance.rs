//! The store conformance suite (`o2c::testing`) run against every store we ship, and
//! against deliberately broken stores to show it catches what it claims to.
#![cfg(feature = "testing")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use o2c::event::RecordedEvent;
use o2c::ledger::{AccountBalance, JournalEntry};
use o2c::stock::{StockLevel, StockMovement};
use o2c::store::{
    Changeset, Committed, Fetched, MemoryStore, Prefetch, ReadResult, Store, StoreResult,
};
use o2c::testing::test_all;

#[tokio::test]
async fn memory_store_conforms() {
    let report = test_all(&MemoryStore::new).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(report.passed.len(), 27, "{report}");
}

/// The SQLite store, on a throwaway file per case (`in_memory` keeps the file in the
/// temporary directory, deleted with the store).
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_store_conforms() {
    use o2c::store::sqlite::SqliteStore;
    struct Throwaway;
    impl o2c::testing::StoreBuilder for Throwaway {
        type Store = SqliteStore;
        type Guard = ();
        fn build(&self) -> Result<(SqliteStore, ()), Box<dyn std::error::Error + Send + Sync>> {
            Ok((SqliteStore::in_memory()?, ()))
        }
    }
    let report = test_all(&Throwaway).await;
    assert!(report.is_success(), "{report}");
    assert_eq!(report.passed.len(), 27, "{report}");
}

/// A memory store with one clause of the contract broken.
#[derive(Default)]
struct Broken {
    inner: MemoryStore,
    forget_checks: bool,
    forget_keys: bool,
    torn_snapshots: bool,
    forget_counters: bool,
    /// Answers a read under index terms with the whole kind, as a store would
    /// that kept no terms (or never dropped one).
    whole_kinds_for_terms: bool,
}

/// A snapshot that misses the journal's last entry, as a store would that read the
/// journal before a commit and the rest after it.
struct Torn<'a>(&'a dyn o2c::store::Snapshot);

impl o2c::store::Snapshot for Torn<'_> {
    fn each_record(
        &self,
        kind: &'static str,
        visit: &mut dyn FnMut(&o2c::store::Record),
    ) -> ReadResult<()> {
        self.0.each_record(kind, visit)
    }
    fn each_stock_level(&self, visit: &mut dyn FnMut(&StockLevel)) -> ReadResult<()> {
        self.0.each_stock_level(visit)
    }
    fn each_movement(&self, visit: &mut dyn FnMut(&StockMovement)) -> ReadResult<()> {
        self.0.each_movement(visit)
    }
    fn each_bounded_counter(
        &self,
        visit: &mut dyn FnMut(&o2c::store::CounterKey, o2c::store::Bounds),
    ) -> ReadResult<()> {
        self.0.each_bounded_counter(visit)
    }
    fn each_freight_entry(
        &self,
        visit: &mut dyn FnMut(&o2c::store::IdempotencyEntry),
    ) -> ReadResult<()> {
        self.0.each_freight_entry(visit)
    }
    fn each_journal_entry(&self, visit: &mut dyn FnMut(u64, &JournalEntry)) -> ReadResult<()> {
        let mut entries = Vec::new();
        self.0
            .each_journal_entry(&mut |position, entry| entries.push((position, entry.clone())))?;
        entries.pop();
        for (position, entry) in &entries {
            visit(*position, entry);
        }
        Ok(())
    }
    fn account_balances(&self) -> ReadResult<Vec<AccountBalance>> {
        self.0.account_balances()
    }
    fn each_event(&self, visit: &mut dyn FnMut(&RecordedEvent)) -> ReadResult<()> {
        self.0.each_event(visit)
    }
}

impl o2c::store::StoreWrapper for Broken {
    type Inner = MemoryStore;

    fn inner(&self) -> &MemoryStore {
        &self.inner
    }

    async fn commit(&self, mut changes: Changeset) -> StoreResult<Committed> {
        if self.forget_checks {
            changes.checks.clear();
        }
        if self.forget_keys {
            changes.idempotency = None;
        }
        if self.forget_counters {
            changes.counters.clear();
        }
        self.inner.commit(changes).await
    }

    async fn fetch(&self, request: &Prefetch) -> ReadResult<Fetched> {
        if !self.whole_kinds_for_terms {
            return self.inner.fetch(request).await;
        }
        let mut request = request.clone();
        for (kind, _) in std::mem::take(&mut request.terms) {
            if !request.kinds.contains(&kind) {
                request.kinds.push(kind);
            }
        }
        self.inner.fetch(&request).await
    }

    async fn read_snapshot<T, F>(&self, read: F) -> ReadResult<T>
    where
        F: FnOnce(&dyn o2c::store::Snapshot) -> T + Send,
        T: Send,
    {
        if self.torn_snapshots {
            return self.inner.read_snapshot(|s| read(&Torn(s))).await;
        }
        self.inner.read_snapshot(read).await
    }
}

#[tokio::test]
async fn a_store_ignoring_checks_fails_the_suite() {
    let report = test_all(&|| Broken {
        forget_checks: true,
        ..Broken::default()
    })
    .await;
    let failed: Vec<&str> = report.failed.iter().map(|f| f.case).collect();
    assert_eq!(failed, vec!["checks_hold_or_conflict"], "{report}");
}

#[tokio::test]
async fn a_store_ignoring_idempotency_keys_fails_the_suite() {
    let report = test_all(&|| Broken {
        forget_keys: true,
        ..Broken::default()
    })
    .await;
    let failed: Vec<&str> = report.failed.iter().map(|f| f.case).collect();
    assert!(failed.contains(&"idempotency_keys"), "{report}");
}

#[tokio::test]
async fn a_store_with_torn_snapshots_fails_the_suite() {
    let report = test_all(&|| Broken {
        torn_snapshots: true,
        ..Broken::default()
    })
    .await;
    let failed: Vec<&str> = report.failed.iter().map(|f| f.case).collect();
    assert!(failed.contains(&"snapshots_are_consistent"), "{report}");
}

#[tokio::test]
async fn a_store_ignoring_bounded_counters_fails_the_suite() {
    let report = test_all(&|| Broken {
        forget_counters: true,
        ..Broken::default()
    })
    .await;
    let failed: Vec<&str> = report.failed.iter().map(|f| f.case).collect();
    // The fleet books its runs on bounded counters: ignored, it over-books.
    assert_eq!(
        failed,
        vec!["bounded_counters", "freight_runs_are_never_overbooked"],
        "{report}"
    );
}

#[tokio::test]
async fn a_store_answering_index_terms_with_whole_kinds_fails_the_suite() {
    let report = test_all(&|| Broken {
        whole_kinds_for_terms: true,
        ..Broken::default()
    })
    .await;
    let failed: Vec<&str> = report.failed.iter().map(|f| f.case).collect();
    assert_eq!(failed, vec!["index_terms"], "{report}");
}
