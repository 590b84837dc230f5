//! How to open a store: durability, the busy timeout, the read connections, group
//! commit.

use std::time::Duration;

/// How hard a commit works to survive a crash. See the [module docs](super#durability).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// `synchronous = FULL`: a returned commit survives power loss.
    #[default]
    Full,
    /// `synchronous = NORMAL`: faster; the last commits may be lost on power loss.
    Normal,
}

impl Durability {
    /// The `PRAGMA synchronous` value.
    pub(super) fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }
}

/// How to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Durability of commits; [`Durability::Full`] by default.
    pub durability: Durability,
    /// How long a call waits for another connection's lock (in this process or
    /// another) before failing; 5 s by default.
    pub busy_timeout: Duration,
    /// Read connections kept open, so reads run side by side; 4 by default, at least 1.
    pub read_connections: usize,
    /// A cap on the file's size in bytes, `None` (the default) for none. A commit that
    /// would grow the file past it fails as it would on a full disk
    /// ([`crate::store::StoreError::Backend`], SQLite's `SQLITE_FULL`), changing
    /// nothing; useful to keep one tenant's file bounded, and to test full disks.
    pub max_bytes: Option<u64>,
    /// Decoded records kept in memory, so reading a record whose row has not changed
    /// skips decoding it; 16,384 by default, 0 for none. Each read still fetches the
    /// row and uses a cached value only at the row's version, so it is never stale,
    /// even with other processes writing. When full, the cache starts afresh.
    pub cache_records: usize,
    /// Changesets committed together in one transaction at most (group commit:
    /// see the [module docs](super#group-commit)); 64 by default, 0 counts as 1.
    pub batch_changesets: usize,
    /// How long a batch's leader waits for more changesets to join when fewer than
    /// [`SqliteOptions::batch_changesets`] are waiting; zero (the default) closes
    /// a batch as soon as the one before it is done. A few hundred microseconds can
    /// gather larger batches under [`Durability::Full`] with many callers, at the
    /// price of that much latency on every commit that waits for the writer.
    pub batch_linger: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            read_connections: 4,
            max_bytes: None,
            cache_records: 16_384,
            batch_changesets: 64,
            batch_linger: Duration::ZERO,
        }
    }
}

impl SqliteOptions {
    /// Sets the durability.
    #[must_use]
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets the busy timeout.
    #[must_use]
    pub fn with_busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Caps the file's size (see [`SqliteOptions::max_bytes`]).
    #[must_use]
    pub fn with_max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes);
        self
    }

    /// Sets how many decoded records are kept (see [`SqliteOptions::cache_records`];
    /// 0 turns the cache off).
    #[must_use]
    pub fn with_cache_records(mut self, records: usize) -> Self {
        self.cache_records = records;
        self
    }

    /// Sets how commits are grouped: at most `changesets` to a transaction, and how
    /// long a batch may wait for more (see [`SqliteOptions::batch_changesets`] and
    /// [`SqliteOptions::batch_linger`]).
    #[must_use]
    pub fn with_batching(mut self, changesets: usize, linger: Duration) -> Self {
        self.batch_changesets = changesets;
        self.batch_linger = linger;
        self
    }

    /// Sets the number of read connections (0 counts as 1).
    #[must_use]
    pub fn with_read_connections(mut self, connections: usize) -> Self {
        self.read_connections = connections;
        self
    }
}
