//! Waking whoever waits for the next commit: what lets a host `await` new events
//! instead of polling the log ([`crate::Oms::wait_for_events`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// A store's commit signal: a count of commits, and the tasks waiting for it to
/// move. A store calls [`CommitSignal::notify`] after each commit and hands the
/// signal out through [`Store::commit_signal`](crate::store::Store::commit_signal).
/// It works under any executor.
///
/// It sees the commits made through this store value only: another process
/// writing the same SQLite file does not wake it (a waiter also polls, for those).
#[derive(Debug, Default)]
pub struct CommitSignal {
    commits: AtomicU64,
    /// Set while any waker is registered, so a commit nobody waits for takes no
    /// lock.
    waiting: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl CommitSignal {
    /// A signal no commit has moved.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a commit and wakes every waiter.
    pub fn notify(&self) {
        self.commits.fetch_add(1, Ordering::SeqCst);
        if self.waiting.swap(false, Ordering::SeqCst) {
            let wakers =
                std::mem::take(&mut *self.wakers.lock().unwrap_or_else(PoisonError::into_inner));
            for waker in wakers {
                waker.wake();
            }
        }
    }

    /// How many commits it has seen: what [`CommitSignal::after`] compares with.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    /// Ready once a commit follows the `seen`th (at once if one already has).
    pub fn after(&self, seen: u64) -> NextCommit<'_> {
        NextCommit { signal: self, seen }
    }
}

/// The future of [`CommitSignal::after`].
#[derive(Debug)]
#[must_use = "a future does nothing unless awaited"]
pub struct NextCommit<'a> {
    signal: &'a CommitSignal,
    seen: u64,
}

impl Future for NextCommit<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.commits() != self.seen {
            return Poll::Ready(());
        }
        {
            let mut wakers = self
                .signal
                .wakers
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
            self.signal.waiting.store(true, Ordering::SeqCst);
        }
        // A commit between the first look and the registration would otherwise
        // go unseen until the next one.
        if self.signal.commits() != self.seen {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::CommitSignal;

    #[test]
    fn a_waiter_wakes_on_the_next_commit_and_not_before() {
        let signal = Arc::new(CommitSignal::new());
        let seen = signal.commits();
        let notifier = {
            let signal = signal.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                signal.notify();
            })
        };
        pollster::block_on(signal.after(seen));
        assert_eq!(signal.commits(), seen + 1);
        assert!(notifier.join().is_ok());
    }

    #[test]
    fn a_commit_already_made_is_ready_at_once() {
        let signal = CommitSignal::new();
        let seen = signal.commits();
        signal.notify();
        pollster::block_on(signal.after(seen));
        assert_eq!(signal.commits(), 1);
    }
}
