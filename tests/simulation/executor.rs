//! A deterministic executor: tasks are polled one at a time, in an order drawn from
//! the seed, with a waker that does nothing. Nothing in the simulation waits on a
//! real event — a task that is "slow" returns `Pending` a counted number of times —
//! so polling whichever task the seed names next is all the scheduling there is.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use chrono::Duration;
use o2c::clock::ManualClock;

use crate::plan::Plan;
use crate::rng::SimRng;

type Task<'a> = (String, Pin<Box<dyn Future<Output = ()> + 'a>>);

/// Holds the tasks of one run and polls them in seeded order.
pub struct Executor<'a> {
    tasks: Vec<Task<'a>>,
    schedule: SimRng,
    /// Polls so far, for the summary.
    pub polls: u64,
    /// Chance per poll, in thousandths, that the process dies right after it.
    crash_per_mille: usize,
}

/// Why [`Executor::run`] returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// Every task finished.
    AllDone,
    /// The plan asked for a crash; the remaining tasks were dropped mid-command.
    Crashed,
}

impl<'a> Executor<'a> {
    pub fn new(seed: u64, epoch: u64) -> Self {
        Self {
            tasks: Vec::new(),
            schedule: SimRng::new(seed ^ epoch.rotate_left(17), 3),
            polls: 0,
            crash_per_mille: 0,
        }
    }

    /// Kills the process after a poll now and then (see [`Plan::request_crash`]).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub fn with_random_crashes(mut self, per_mille: usize) -> Self {
        self.crash_per_mille = per_mille;
        self
    }

    pub fn spawn(&mut self, name: String, task: impl Future<Output = ()> + 'a) {
        self.tasks.push((name, Box::pin(task)));
    }

    /// Polls a task the seed picks until every task is done, moving the clock on a
    /// little each time; stops early (dropping the rest) when a crash is requested.
    pub fn run(&mut self, plan: &Plan, clock: &ManualClock) -> Stopped {
        let mut cx = Context::from_waker(Waker::noop());
        while !self.tasks.is_empty() {
            let n = self.schedule.below(self.tasks.len());
            let seconds = self.schedule.between(0, 90);
            clock.advance(Duration::seconds(seconds));
            self.polls += 1;
            let Some((name, task)) = self.tasks.get_mut(n) else {
                continue;
            };
            plan.set_task(name);
            if task.as_mut().poll(&mut cx).is_ready() {
                // `remove`, not `swap_remove`: the survivors keep their order.
                drop(self.tasks.remove(n));
            }
            if self.crash_per_mille > 0 && self.schedule.below(1000) < self.crash_per_mille {
                plan.request_crash();
            }
            if plan.take_crash_request() {
                self.tasks.clear();
                return Stopped::Crashed;
            }
        }
        Stopped::AllDone
    }
}

/// Returns `Pending` `polls` times, then `Ready`: a call that takes a while.
pub async fn pause(polls: i64) {
    struct Pause(i64);
    impl Future for Pause {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if self.0 <= 0 {
                return Poll::Ready(());
            }
            self.0 -= 1;
            Poll::Pending
        }
    }
    Pause(polls).await;
}

/// Runs two futures at once, polling them in an order the plan draws each time:
/// the same command delivered twice, concurrently.
pub async fn both<A: Future, B: Future>(plan: &Plan, a: A, b: B) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        let a_first = plan.choose(|r| r.chance(50));
        for turn in [a_first, !a_first] {
            if turn && ra.is_none() {
                if let Poll::Ready(v) = a.as_mut().poll(cx) {
                    ra = Some(v);
                }
            } else if !turn
                && rb.is_none()
                && let Poll::Ready(v) = b.as_mut().poll(cx)
            {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    match (ra, rb) {
        (Some(a), Some(b)) => (a, b),
        _ => unreachable!("poll_fn returned Ready only with both results"),
    }
}
