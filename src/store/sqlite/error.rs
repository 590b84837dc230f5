//! Why opening a SQLite file failed, and how driver errors become [`StoreError`] and
//! [`ReadError`] kinds.

use std::error::Error as StdError;

use rusqlite::ErrorCode;

use crate::store::{ReadError, StoreError};

/// A boxed error that keeps the driver's own error as the source.
type Source = Box<dyn StdError + Send + Sync>;

/// Why [`SqliteStore::open`](super::SqliteStore::open) failed.
///
/// None of these is worth retrying as is: each says what is wrong with the file or
/// its place on disk. Driver errors are kept as the [`source`](StdError::source), so
/// a host that needs the SQLite code can downcast it to `rusqlite::Error`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// The file could not be opened or created (a missing directory, no permission).
    #[error("cannot open the SQLite file")]
    CannotOpen {
        /// The driver's error.
        #[source]
        source: Source,
    },
    /// The file is not a SQLite database, or it is corrupt.
    #[error("the file is not a SQLite database, or it is corrupt")]
    NotADatabase {
        /// The driver's error.
        #[source]
        source: Source,
    },
    /// The file is a SQLite database that belongs to another application.
    #[error("the SQLite file belongs to another application (application_id {application_id})")]
    ForeignFile {
        /// The file's `PRAGMA application_id` (0 for a database with tables but no id).
        application_id: i32,
    },
    /// The file was written by a newer o2c whose schema this version does not know.
    /// Upgrade o2c; never downgrade a file.
    #[error(
        "the file has o2c schema version {found}, newer than the {supported} this build supports"
    )]
    NewerSchema {
        /// The file's schema version.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The file (or its directory, which holds the write-ahead log) cannot be written.
    #[error("the SQLite file is read-only")]
    ReadOnly,
    /// Upgrading the schema failed; the file was left at its old version.
    #[error("upgrading the schema to version {version} failed")]
    Migration {
        /// The version the failing step leads to.
        version: i64,
        /// The driver's error.
        #[source]
        source: Source,
    },
    /// Any other driver failure while opening (I/O, locking that outlived the busy
    /// timeout, a file system without write-ahead logging).
    #[error("the SQLite backend failed while opening")]
    Backend(#[source] Source),
}

impl From<SqliteError> for StoreError {
    fn from(e: SqliteError) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

impl SqliteError {
    /// Classifies a driver error raised while opening or inspecting a file.
    pub(super) fn from_open(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                SqliteError::NotADatabase {
                    source: Box::new(e),
                }
            }
            Some(ErrorCode::ReadOnly) => SqliteError::ReadOnly,
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => SqliteError::CannotOpen {
                source: Box::new(e),
            },
            _ => SqliteError::Backend(Box::new(e)),
        }
    }
}

/// Wraps a driver error raised in a commit as a backend failure, keeping it as the
/// source.
///
/// Busy and locked errors land here too: they mean the lock outlived the busy timeout,
/// and the caller decides whether to retry.
pub(super) fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// Wraps a driver error raised in a read as a backend failure, keeping it as the
/// source. A read that a commit makes inside its transaction becomes
/// [`StoreError::Read`] through `?`.
pub(super) fn read_db(e: rusqlite::Error) -> ReadError {
    ReadError::Backend(Box::new(e))
}

/// True for a uniqueness (or primary key) violation, which commit maps to the
/// contract's kinds instead of a backend failure.
pub(super) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    e.sqlite_error().is_some_and(|inner| {
        inner.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || inner.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    })
}

/// True when another connection holds the lock (and the busy timeout ran out).
pub(super) fn is_busy(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code().is_some_and(|code| {
        matches!(
            code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        )
    })
}

/// The file system refused write-ahead logging, which the store's concurrency rests on.
#[derive(Debug, thiserror::Error)]
#[error("the file system does not support write-ahead logging (journal mode stayed {mode:?})")]
pub(super) struct NoWal {
    /// The journal mode SQLite kept.
    pub(super) mode: String,
}
