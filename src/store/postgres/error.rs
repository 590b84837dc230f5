//! Why connecting to PostgreSQL or opening a tenant failed, and how driver errors
//! become [`StoreError`] and [`ReadError`] kinds.

use std::error::Error as StdError;
use std::time::Duration;

use tokio_postgres::error::SqlState;

use crate::store::{ReadError, StoreError};

/// A boxed error that keeps the driver's own error as the source.
type Source = Box<dyn StdError + Send + Sync>;

/// Why the PostgreSQL store could not connect, open a tenant, or finish a call.
///
/// Opening ([`PostgresStore::connect`](super::PostgresStore::connect), the tenant
/// calls) fails with one of these directly. A store call that meets an outage
/// fails with [`StoreError::Backend`] or [`ReadError::Backend`] whose
/// [`source`](StdError::source) is one of these, so a host can downcast it; the
/// driver's own error (`tokio_postgres::Error`) is in turn its source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// The connection string does not parse.
    #[error("the PostgreSQL connection string is not valid")]
    InvalidUrl {
        /// The driver's error.
        #[source]
        source: Source,
    },
    /// The server could not be reached (refused, unreachable, or no answer within
    /// the connect timeout).
    #[error("the PostgreSQL server cannot be reached")]
    Unreachable {
        /// The driver's error.
        #[source]
        source: Source,
    },
    /// The server refused the credentials.
    #[error("PostgreSQL refused the credentials")]
    Authentication {
        /// The driver's error.
        #[source]
        source: Source,
    },
    /// The database named in the connection string does not exist.
    #[error("the PostgreSQL database does not exist")]
    NoDatabase {
        /// The driver's error.
        #[source]
        source: Source,
    },
    /// Every pooled connection stayed busy for the whole acquire timeout.
    #[error("no PostgreSQL connection became free within {waited:?}")]
    PoolExhausted {
        /// How long the call waited.
        waited: Duration,
    },
    /// A call did not finish within the call timeout; its connection was closed. A
    /// commit may or may not have happened: retry with the same idempotency key.
    #[error("the PostgreSQL call did not finish within {waited:?}")]
    Timeout {
        /// How long the call ran.
        waited: Duration,
    },
    /// The connection broke during the call (the server restarted, the backend was
    /// terminated, the network failed). A commit may or may not have happened:
    /// retry with the same idempotency key.
    #[error("the PostgreSQL connection was lost during the call")]
    ConnectionLost {
        /// The driver's error.
        #[source]
        source: Source,
    },
    /// The tenant's schema was written by a newer o2c. Upgrade o2c; never downgrade.
    #[error(
        "tenant {tenant} has o2c schema version {found}, newer than the {supported} this build supports"
    )]
    NewerSchema {
        /// The tenant.
        tenant: String,
        /// The schema's version.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A schema of that name exists but is not an o2c tenant (it has tables and no
    /// o2c marker, or another application's marker). Nothing was changed in it.
    #[error("schema {tenant} exists and is not an o2c tenant: {reason}")]
    ForeignSchema {
        /// The schema.
        tenant: String,
        /// What gave it away.
        reason: String,
    },
    /// The tenant name is not one o2c accepts as a schema name.
    #[error("{name:?} is not a valid tenant name: {reason}")]
    InvalidTenant {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No tenant of that name exists (open it with `create_tenant` first).
    #[error("tenant {tenant} does not exist")]
    NoSuchTenant {
        /// The tenant.
        tenant: String,
    },
    /// Upgrading a tenant's schema failed; it was left at its old version.
    #[error("upgrading tenant {tenant} to schema version {version} failed")]
    Migration {
        /// The tenant.
        tenant: String,
        /// The version the failing step leads to.
        version: i64,
        /// The driver's error.
        #[source]
        source: Source,
    },
    /// The runtime the store does its I/O on has shut down.
    #[error("the PostgreSQL store's runtime has shut down")]
    RuntimeGone,
    /// Any other driver failure.
    #[error("the PostgreSQL backend failed")]
    Backend(#[source] Source),
}

impl PostgresError {
    /// Classifies a driver error met while connecting.
    pub(super) fn from_connect(e: tokio_postgres::Error) -> Self {
        match e.code() {
            Some(c)
                if *c == SqlState::INVALID_PASSWORD
                    || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
            {
                PostgresError::Authentication {
                    source: Box::new(e),
                }
            }
            Some(c) if *c == SqlState::INVALID_CATALOG_NAME => PostgresError::NoDatabase {
                source: Box::new(e),
            },
            Some(_) => PostgresError::Backend(Box::new(e)),
            None => PostgresError::Unreachable {
                source: Box::new(e),
            },
        }
    }

    /// Classifies a driver error met during a call.
    pub(super) fn from_call(e: tokio_postgres::Error) -> Self {
        // Class 08 is a connection exception; 57P01–57P05 end the session (a
        // terminated backend, a server shutting down or not yet up, an idle
        // session timed out). A cancelled statement (57014) leaves the session,
        // and its transaction rolled back: an ordinary failure.
        let session_ended = e.code().is_some_and(|c| {
            c.code().starts_with("08") || (c.code().starts_with("57P") && c.code() != "57P04")
        });
        if e.is_closed() || session_ended || (e.code().is_none() && e.as_db_error().is_none()) {
            PostgresError::ConnectionLost {
                source: Box::new(e),
            }
        } else {
            PostgresError::Backend(Box::new(e))
        }
    }
}

/// Only a commit fails with a [`StoreError`]: a connection lost or a call timed
/// out during one leaves it done or not, [`StoreError::Interrupted`].
impl From<PostgresError> for StoreError {
    fn from(e: PostgresError) -> Self {
        match e {
            PostgresError::ConnectionLost { .. } | PostgresError::Timeout { .. } => {
                StoreError::Interrupted(Box::new(e))
            }
            other => StoreError::Backend(Box::new(other)),
        }
    }
}

impl From<PostgresError> for ReadError {
    fn from(e: PostgresError) -> Self {
        ReadError::Backend(Box::new(e))
    }
}

/// A driver error in a commit, as a backend failure.
pub(super) fn db(e: tokio_postgres::Error) -> StoreError {
    PostgresError::from_call(e).into()
}

/// A driver error in a read, as a backend failure.
pub(super) fn read_db(e: tokio_postgres::Error) -> ReadError {
    PostgresError::from_call(e).into()
}

/// The SQLSTATE of a driver error, if the server sent one.
pub(super) fn state(e: &tokio_postgres::Error) -> Option<&SqlState> {
    e.code()
}
