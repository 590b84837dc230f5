//! A wait that any executor can drive: one shared timer thread wakes every sleeper
//! at its deadline, so a command can pause between retries under tokio, under
//! `pollster::block_on`, or under anything else, without depending on a runtime.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A wait that any executor can drive: one shared timer thread wakes it.
#[derive(Debug)]
pub(crate) struct Sleep {
    deadline: Option<Instant>,
    registered: bool,
}

impl Sleep {
    /// Ready after `wait` (at once for zero).
    pub(crate) fn new(wait: Duration) -> Self {
        Self {
            deadline: (!wait.is_zero()).then(|| Instant::now() + wait),
            registered: false,
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline else {
            return Poll::Ready(());
        };
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        if !self.registered {
            // Woken once at the deadline; a spurious poll before it just waits on.
            timer().wake_at(deadline, cx.waker().clone());
            self.registered = true;
        }
        Poll::Pending
    }
}

/// Ready as soon as either of two futures is; the other is dropped with it.
pub(crate) struct First<A, B>(pub(crate) A, pub(crate) B);

impl<A, B> Future for First<A, B>
where
    A: Future<Output = ()> + Unpin,
    B: Future<Output = ()> + Unpin,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Pin::new(&mut self.0).poll(cx).is_ready() {
            return Poll::Ready(());
        }
        Pin::new(&mut self.1).poll(cx)
    }
}

/// Wakers due at their deadlines, earliest first.
#[derive(Default)]
struct Timer {
    due: Mutex<BinaryHeap<Reverse<Due>>>,
    changed: Condvar,
}

struct Due {
    at: Instant,
    waker: Waker,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.at.cmp(&other.at)
    }
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<&'static Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::default());
        // If the thread cannot start, sleeps fall back to waking at once: a retry
        // without its pause, never a hang.
        let started = std::thread::Builder::new()
            .name("o2c-retry-timer".into())
            .spawn(move || timer.run());
        if started.is_err() {
            timer.disabled();
        }
        timer
    })
}

impl Timer {
    fn wake_at(&self, at: Instant, waker: Waker) {
        let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
        due.push(Reverse(Due { at, waker }));
        self.changed.notify_one();
    }

    /// The timer thread: wakes every waker whose deadline has come, and sleeps
    /// until the next one (or until a new, earlier one arrives).
    fn run(&self) {
        let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            let now = Instant::now();
            while due.peek().is_some_and(|Reverse(d)| d.at <= now) {
                if let Some(Reverse(d)) = due.pop() {
                    d.waker.wake();
                }
            }
            due = match due.peek().map(|Reverse(d)| d.at) {
                Some(next) => {
                    let wait = next.saturating_duration_since(now);
                    self.changed
                        .wait_timeout(due, wait)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .changed
                    .wait(due)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }

    /// No timer thread: wake everything already waiting, and every newcomer.
    fn disabled(&self) {
        let mut due = self.due.lock().unwrap_or_else(PoisonError::into_inner);
        for Reverse(d) in due.drain() {
            d.waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_wakes_under_a_plain_block_on() {
        let start = Instant::now();
        pollster::block_on(Sleep::new(Duration::from_millis(20)));
        assert!(start.elapsed() >= Duration::from_millis(20));
        // Sleeps from many threads at once all wake.
        std::thread::scope(|s| {
            for n in 0..8u64 {
                s.spawn(move || pollster::block_on(Sleep::new(Duration::from_millis(1 + n))));
            }
        });
        pollster::block_on(Sleep::new(Duration::ZERO));
    }
}
