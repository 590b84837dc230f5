//! The connections every tenant shares, and the runtime their I/O runs on.
//!
//! A small pool of our own rather than a pool crate: it hands out a connection
//! only for one call, takes it back only when the call finished its protocol
//! cleanly (a call cut off by its timeout, or by a broken connection, leaves
//! its connection to be closed, never reused mid-transaction), and needs no
//! runtime of the caller's — every call already runs on the store's runtime
//! ([`Driver::run`]).

use std::collections::HashMap;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::runtime::{Handle, Runtime, RuntimeFlavor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::error::PostgresError;

/// Where the store's I/O runs: the host's multi-threaded tokio runtime, or one of
/// its own.
pub(super) struct Driver {
    handle: Handle,
    /// A runtime the store started, shut down (without blocking, so a store may be
    /// dropped inside async code) when the last handle goes.
    owned: Option<Runtime>,
}

impl Driver {
    /// The runtime `given`, else the current multi-threaded one, else a new one.
    pub(super) fn new(given: Option<Handle>) -> Result<Self, PostgresError> {
        if let Some(handle) = given {
            return Ok(Self {
                handle,
                owned: None,
            });
        }
        // A current-thread runtime runs tasks only while its one thread is inside
        // `block_on`: a caller that blocks that thread on a store call (a test
        // running callers on plain threads) would wait forever.
        if let Ok(handle) = Handle::try_current()
            && handle.runtime_flavor() == RuntimeFlavor::MultiThread
        {
            return Ok(Self {
                handle,
                owned: None,
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("o2c-postgres")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| PostgresError::Backend(Box::new(e)))?;
        Ok(Self {
            handle: runtime.handle().clone(),
            owned: Some(runtime),
        })
    }

    /// Runs `work` to completion on the store's runtime, and waits for it from
    /// whatever executor the caller uses. It finishes even if the caller stops
    /// waiting, so a commit is never cut off half-way by a dropped future.
    ///
    /// A caller already inside the store's runtime (a task of a host serving
    /// requests on the runtime it connected from, or `block_on` on it) runs
    /// `work` itself: a task of its own would cost a hand-over to it and back,
    /// each waking another worker thread (measured at one caller: 8 % more
    /// transactions per second without). Should the caller stop waiting, what is
    /// left of `work` goes on as a task. Two things differ from a task: `work`
    /// moves on only while the caller polls it (the call timeout still bounds
    /// it), and a panic in it, which the library's code never raises, unwinds
    /// the caller rather than coming back as [`PostgresError::RuntimeGone`].
    pub(super) async fn run<T, F>(&self, work: F) -> Result<T, PostgresError>
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let here = Handle::try_current().is_ok_and(|current| current.id() == self.handle.id());
        if here {
            return Ok(Finish {
                work: Some(Box::pin(work)),
                handle: &self.handle,
            }
            .await);
        }
        self.handle
            .spawn(work)
            .await
            .map_err(|_| PostgresError::RuntimeGone)
    }

    /// Starts `work` on the store's runtime and lets it run on its own.
    pub(super) fn spawn<F>(&self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.handle.spawn(work));
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(runtime) = self.owned.take() {
            runtime.shutdown_background();
        }
    }
}

/// Opens one connection and starts the task that drives it. Runs on the store's
/// runtime.
pub(super) async fn connect(config: &Config) -> Result<Client, PostgresError> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(PostgresError::from_connect)?;
    tokio::spawn(async move {
        // Ends when the client is dropped or the server goes; the client then
        // reports itself closed and is never reused.
        let _ = connection.await;
    });
    Ok(client)
}

/// A connection and the statements prepared on it, by their SQL text: each is
/// parsed and planned by the server once per connection, not once per call.
pub(super) struct Conn {
    client: Client,
    statements: Mutex<HashMap<String, Statement>>,
}

/// Statements kept prepared per connection at most; past it they are all let go
/// (a store serving many tenants prepares each statement once per tenant).
const PREPARED: usize = 2_048;

impl Conn {
    fn new(client: Client) -> Self {
        Self {
            client,
            statements: Mutex::new(HashMap::new()),
        }
    }

    /// The statement prepared for `sql`, if it has been.
    pub(super) fn prepared(&self, sql: &str) -> Option<Statement> {
        self.statements
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sql)
            .cloned()
    }

    /// Keeps `statement`, prepared for `sql`.
    pub(super) fn keep(&self, sql: String, statement: Statement) {
        let mut statements = self
            .statements
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if statements.len() >= PREPARED {
            statements.clear();
        }
        statements.insert(sql, statement);
    }
}

impl Deref for Conn {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// Work polled in the caller's task that, dropped before it is done, finishes
/// as a task of its own on `handle`'s runtime.
struct Finish<'a, F: Future + Send + 'static>
where
    F::Output: Send + 'static,
{
    work: Option<Pin<Box<F>>>,
    handle: &'a Handle,
}

impl<F: Future + Send + 'static> Future for Finish<'_, F>
where
    F::Output: Send + 'static,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // Out while it is polled: should it panic, the unwinding drop finds
        // nothing to finish, rather than a future that cannot be resumed.
        // Polled again after it is done (which `await` never does), it waits.
        let Some(mut work) = self.work.take() else {
            return Poll::Pending;
        };
        match work.as_mut().poll(cx) {
            Poll::Ready(done) => Poll::Ready(done),
            Poll::Pending => {
                self.work = Some(work);
                Poll::Pending
            }
        }
    }
}

impl<F: Future + Send + 'static> Drop for Finish<'_, F>
where
    F::Output: Send + 'static,
{
    fn drop(&mut self) {
        if let Some(work) = self.work.take() {
            drop(self.handle.spawn(work));
        }
    }
}

/// Connections kept open between calls, at most `size` in use at once.
pub(super) struct Pool {
    config: Config,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
}

impl Pool {
    pub(super) fn new(config: Config, size: usize, acquire_timeout: Duration) -> Self {
        Self {
            config,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Arc::new(Semaphore::new(size.max(1))),
            acquire_timeout,
        }
    }

    /// A connection for one call: an idle one, or a new one while fewer than the
    /// pool's size are in use. Runs on the store's runtime.
    pub(super) async fn get(self: &Arc<Self>) -> Result<Pooled, PostgresError> {
        let permit = tokio::time::timeout(
            self.acquire_timeout,
            Arc::clone(&self.permits).acquire_owned(),
        )
        .await
        .map_err(|_| PostgresError::PoolExhausted {
            waited: self.acquire_timeout,
        })?
        .map_err(|_| PostgresError::RuntimeGone)?;
        let reused = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            let mut found = None;
            while let Some(client) = idle.pop() {
                if !client.is_closed() {
                    found = Some(client);
                    break;
                }
            }
            found
        };
        let client = match reused {
            Some(client) => client,
            None => Conn::new(connect(&self.config).await?),
        };
        Ok(Pooled {
            client: Some(client),
            pool: Arc::clone(self),
            reusable: AtomicBool::new(false),
            _permit: permit,
        })
    }
}

/// A connection lent for one call. It goes back to the pool only if the call marked
/// it [`Pooled::reusable`]; otherwise dropping it closes it.
pub(super) struct Pooled {
    client: Option<Conn>,
    pool: Arc<Pool>,
    reusable: AtomicBool,
    _permit: OwnedSemaphorePermit,
}

impl Pooled {
    pub(super) fn client(&self) -> Result<&Conn, PostgresError> {
        self.client.as_ref().ok_or(PostgresError::RuntimeGone)
    }

    /// Marks the connection as idle again (no transaction open, nothing in flight):
    /// it returns to the pool when dropped.
    pub(super) fn reusable(&self) {
        self.reusable.store(true, Ordering::Relaxed);
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(client) = self.client.take()
            && self.reusable.load(Ordering::Relaxed)
            && !client.is_closed()
        {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(client);
        }
    }
}
