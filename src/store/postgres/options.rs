//! How to connect: the tenant, the pool, the timeouts, the runtime.

use std::time::Duration;

/// How to connect to PostgreSQL.
///
/// ```
/// use std::time::Duration;
/// use o2c::store::postgres::PostgresOptions;
///
/// let options = PostgresOptions::default()
///     .with_tenant("shop_eu")
///     .with_max_connections(32)
///     .with_call_timeout(Duration::from_secs(10));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// The tenant (a schema of that name) [`PostgresStore::connect`] opens, created
    /// if missing; `"o2c"` by default. Other tenants share the pool through
    /// [`PostgresStore::tenant`].
    ///
    /// [`PostgresStore::connect`]: super::PostgresStore::connect
    /// [`PostgresStore::tenant`]: super::PostgresStore::tenant
    pub tenant: String,
    /// Connections the pool keeps at most, shared by every tenant; 16 by default.
    /// One more is kept for change notifications.
    pub max_connections: usize,
    /// How long a call waits for a free connection before failing with
    /// [`PostgresError::PoolExhausted`](super::PostgresError::PoolExhausted); 5 s.
    pub acquire_timeout: Duration,
    /// How long opening a connection may take before failing with
    /// [`PostgresError::Unreachable`](super::PostgresError::Unreachable); 5 s.
    pub connect_timeout: Duration,
    /// How long one store call may run, connection included, before failing with
    /// [`PostgresError::Timeout`](super::PostgresError::Timeout) (its connection is
    /// closed, so a statement in flight is abandoned); 30 s.
    pub call_timeout: Duration,
    /// The tokio runtime the store does its I/O on. `None` (the default): the
    /// multi-threaded runtime the store is connected from, if any, else a runtime
    /// of two worker threads the store starts and stops with its last handle.
    pub runtime: Option<tokio::runtime::Handle>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            tenant: "o2c".to_owned(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            call_timeout: Duration::from_secs(30),
            runtime: None,
        }
    }
}

impl PostgresOptions {
    /// The same options with the tenant [`PostgresStore::connect`](super::PostgresStore::connect) opens.
    #[must_use]
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }

    /// The same options with another pool size (at least 1).
    #[must_use]
    pub fn with_max_connections(mut self, max_connections: usize) -> Self {
        self.max_connections = max_connections.max(1);
        self
    }

    /// The same options with another acquire timeout.
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// The same options with another connect timeout.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The same options with another call timeout.
    #[must_use]
    pub fn with_call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The same options with the runtime to do I/O on.
    #[must_use]
    pub fn with_runtime(mut self, runtime: tokio::runtime::Handle) -> Self {
        self.runtime = Some(runtime);
        self
    }
}
