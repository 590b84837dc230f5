//! The simulation's shared script: its random streams, the fault tally, the step
//! budget and the trace printed when an invariant breaks.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::rng::SimRng;

/// How many trace lines a failure prints, unless `O2C_SIM_TRACE` says otherwise.
const TRACE_SHOWN: usize = 50;
/// Out of 100 store calls, how many let other tasks run first.
const GIVE_WAY: u64 = 35;

/// Every kind of fault the simulation injects, for the tally and the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// A commit refused before applying anything (a backend error).
    CommitFailsBefore,
    /// A commit applied, then reported a backend error (a lost reply).
    CommitFailsAfter,
    /// A commit refused with a version conflict (the service retries those).
    CommitConflict,
    /// A commit that took several polls.
    SlowCommit,
    /// A read that took several polls.
    SlowRead,
    /// A carrier quote timed out.
    QuoteTimeout,
    /// A booking timed out before the carrier saw it.
    BookTimeout,
    /// A booking the carrier made, whose reply was lost.
    BookReplyLost,
    /// Tracking timed out.
    TrackTimeout,
    /// Tracking returned every event twice.
    TrackDuplicates,
    /// Tracking returned its events out of time order.
    TrackOutOfOrder,
    /// A cancellation timed out (the booking stays live).
    CancelTimeout,
    /// The process died and the store was reopened from its file.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Crash,
}

/// The error an injected store fault returns, so verdicts can tell it from a real one.
#[derive(Debug)]
pub struct InjectedFault(pub Fault);

impl fmt::Display for InjectedFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "injected fault: {:?}", self.0)
    }
}

impl std::error::Error for InjectedFault {}

/// The shared script. Every method locks briefly and never across an `.await`.
#[derive(Debug)]
pub struct Plan {
    pub seed: u64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    faults: SimRng,
    choices: SimRng,
    injecting: bool,
    task: String,
    trace: VecDeque<String>,
    trace_shown: usize,
    lines: u64,
    tally: BTreeMap<Fault, u64>,
    commands: u64,
    turns: u64,
    steps_left: u64,
    crash_requested: bool,
    crash_testing: bool,
    /// How often each kind of amendment and exchange was exercised, for the summary.
    exercised: BTreeMap<&'static str, u64>,
    /// Amendments that might apply, sent per order (by its id): an upper bound on
    /// the order's `OrderAmended` events.
    amendments_sent: BTreeMap<String, u64>,
    /// Amendments seen applied (their key stored), per order: a lower bound.
    amendments_applied: BTreeMap<String, u64>,
}

impl Plan {
    /// A script for `seed` allowing `steps` commands; faults start switched off.
    pub fn new(seed: u64, steps: u64) -> Self {
        Self {
            seed,
            state: Mutex::new(State {
                faults: SimRng::new(seed, 1),
                choices: SimRng::new(seed, 2),
                injecting: false,
                task: "setup".into(),
                trace: VecDeque::new(),
                trace_shown: std::env::var("O2C_SIM_TRACE")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(TRACE_SHOWN),
                lines: 0,
                tally: BTreeMap::new(),
                commands: 0,
                turns: 0,
                steps_left: steps,
                crash_requested: false,
                crash_testing: false,
                exercised: BTreeMap::new(),
                amendments_sent: BTreeMap::new(),
                amendments_applied: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A failed assertion inside a task must not hide the trace behind a poison.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Draws a fault with `pick` (from the fault stream) if faults are on; tallies
    /// and traces it.
    pub fn fault(
        &self,
        site: &str,
        pick: impl FnOnce(&mut SimRng) -> Option<Fault>,
    ) -> Option<Fault> {
        let mut s = self.lock();
        if !s.injecting {
            return None;
        }
        let fault = pick(&mut s.faults)?;
        *s.tally.entry(fault).or_default() += 1;
        let line = format!("    ! {site}: {fault:?}");
        push(&mut s, line);
        Some(fault)
    }

    /// A number from the fault stream (how slow a slow call is), if faults are on.
    pub fn fault_amount(&self, low: i64, high: i64) -> i64 {
        self.lock().faults.between(low, high)
    }

    /// Whether a store call should give way to other tasks first (not a fault: the
    /// ordinary interleaving of concurrent callers). Never while faults are off.
    pub fn give_way(&self) -> bool {
        let mut s = self.lock();
        s.injecting && s.faults.chance(GIVE_WAY)
    }

    /// Counts one delivery of a command.
    pub fn count_command(&self) {
        self.lock().commands += 1;
    }

    /// Counts a fault decided elsewhere (a crash: only the SQLite run has them).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub fn tally(&self, fault: Fault, detail: &str) {
        let mut s = self.lock();
        *s.tally.entry(fault).or_default() += 1;
        push(&mut s, format!("    ! {fault:?}: {detail}"));
    }

    /// A choice made by an actor or the scheduler.
    pub fn choose<T>(&self, f: impl FnOnce(&mut SimRng) -> T) -> T {
        f(&mut self.lock().choices)
    }

    pub fn set_injecting(&self, on: bool) -> bool {
        std::mem::replace(&mut self.lock().injecting, on)
    }

    /// Runs `f` with faults off: audits and checks must see the store as it is.
    pub fn quietly<T>(&self, f: impl FnOnce() -> T) -> T {
        let was = self.set_injecting(false);
        let out = f();
        self.set_injecting(was);
        out
    }

    /// Names the task about to be polled, for the trace.
    pub fn set_task(&self, name: &str) {
        let mut s = self.lock();
        if s.task != name {
            s.task.clear();
            s.task.push_str(name);
        }
    }

    /// Adds a line to the trace, under the current task's name.
    pub fn note(&self, text: impl fmt::Display) {
        let mut s = self.lock();
        let line = format!("{:<12} {text}", s.task);
        push(&mut s, line);
    }

    /// Claims the next turn from the budget: its number, or `None` when spent.
    pub fn take_step(&self) -> Option<u64> {
        let mut s = self.lock();
        if s.steps_left == 0 {
            return None;
        }
        s.steps_left -= 1;
        s.turns += 1;
        Some(s.turns)
    }

    pub fn turns(&self) -> u64 {
        self.lock().turns
    }

    pub fn commands(&self) -> u64 {
        self.lock().commands
    }

    pub fn tallies(&self) -> BTreeMap<Fault, u64> {
        self.lock().tally.clone()
    }

    /// Counts one more `what` (an amendment or exchange outcome) for the summary.
    pub fn exercised(&self, what: &'static str) {
        *self.lock().exercised.entry(what).or_default() += 1;
    }

    pub fn exercise_tally(&self) -> BTreeMap<&'static str, u64> {
        self.lock().exercised.clone()
    }

    /// Notes an amendment of `order` that might apply, before it is first sent.
    pub fn amendment_sent(&self, order: String) {
        *self.lock().amendments_sent.entry(order).or_default() += 1;
    }

    /// Notes an amendment of `order` whose key the store holds.
    pub fn amendment_applied(&self, order: String) {
        *self.lock().amendments_applied.entry(order).or_default() += 1;
    }

    /// Per order: (amendments that might have applied, amendments seen applied).
    pub fn amendments(&self) -> BTreeMap<String, (u64, u64)> {
        let s = self.lock();
        s.amendments_sent
            .iter()
            .map(|(order, sent)| {
                let applied = s.amendments_applied.get(order).copied().unwrap_or(0);
                (order.clone(), (*sent, applied))
            })
            .collect()
    }

    /// Lets [`Plan::request_crash`] and lost replies ask for crashes.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub fn enable_crash_testing(&self) {
        self.lock().crash_testing = true;
    }

    /// Asks the crash-testing driver to kill the process at the next opportunity.
    pub fn request_crash(&self) {
        let mut s = self.lock();
        s.crash_requested = s.crash_testing;
    }

    /// After a commit whose reply was lost, crashes half the time: the worst moment,
    /// when the store holds a commit its caller never learned about.
    pub fn request_crash_after_lost_reply(&self) {
        let mut s = self.lock();
        if s.crash_testing && s.faults.chance(50) {
            s.crash_requested = true;
        }
    }

    /// True once after a crash was requested.
    pub fn take_crash_request(&self) -> bool {
        std::mem::take(&mut self.lock().crash_requested)
    }

    /// The seed, how to rerun it, and the last lines of the trace.
    pub fn report(&self) -> String {
        let s = self.lock();
        let skipped = s.lines.saturating_sub(s.trace.len() as u64);
        let mut out = format!(
            "seed {seed} (rerun: O2C_SIM_SEED={seed} cargo test --all-features --test simulation)\n\
             last {} of {} trace lines ({skipped} earlier omitted):\n",
            s.trace.len(),
            s.lines,
            seed = self.seed,
        );
        for line in &s.trace {
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

fn push(s: &mut State, line: String) {
    s.lines += 1;
    if s.trace.len() >= s.trace_shown {
        s.trace.pop_front();
    }
    s.trace.push_back(line);
}
