//! Where futures run: on this thread for one caller on a store that never waits
//! (what a plain call costs, no executor's), or on a tokio runtime of two worker
//! threads for several callers and for PostgreSQL.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use tokio::runtime::Runtime;

use crate::Res;

/// Worker threads of the runtime: the machine this was written for has two cores,
/// and the callers are tasks, not threads, however many there are.
pub(crate) const WORKER_THREADS: usize = 2;

/// The multi-threaded runtime concurrent callers (and the PostgreSQL store) run on.
pub(crate) fn runtime() -> Res<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .enable_all()
        .build()?)
}

/// Runs `future` to its end on this thread. A call on the memory store never
/// waits, so it is polled once with a waker that does nothing (what the
/// baseline's plain calls cost, and no executor's); one that does wait (SQLite's
/// commits, on a thread pool) is finished by `pollster`. Timing the harness's
/// executor is not the point: `pollster` allocates and frees a signal per call.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => pollster::block_on(future),
    }
}

/// Runs `future` on `runtime` if there is one, else on this thread.
pub(crate) fn drive<F: Future>(runtime: Option<&Runtime>, future: F) -> F::Output {
    match runtime {
        Some(rt) => rt.block_on(future),
        None => block_on(future),
    }
}
