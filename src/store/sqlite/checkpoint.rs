//! When to copy the write-ahead log back into the file, and on which connection.
//!
//! SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 pages of
//! log, fsyncs included. The store instead watches the log's size after every commit
//! (through SQLite's WAL hook, which counts every process's frames) and runs
//! checkpoints on the thread pool:
//!
//! - every [`PASSIVE_EVERY`] new frames, a `PASSIVE` checkpoint on a connection of its
//!   own, which copies the log while commits carry on;
//! - past [`RESTART_AT`] frames, one on the writer connection, holding it. A
//!   checkpoint racing the commits never catches up with the end of the log, and the
//!   log only starts again from its beginning once one has (measured: with only
//!   the first kind it grew past a gigabyte in seconds). With most pages already
//!   copied, this one is short; commits arriving meanwhile wait on the pool, as they
//!   would for SQLite's own checkpoint.
//!
//! Measured on the loadgen (NORMAL, 10,000 SKUs): checkpointing on the writer every
//! 32 commits gave 1,120 tx/s and a place-order p99 of 8.7 ms; this scheme gave
//! 1,740 tx/s and 0.9 ms, with the log bounded near 30 MB.

use std::cell::Cell;
use std::ffi::c_int;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rusqlite::hooks::Wal;

/// New log frames (pages) between two background checkpoints: SQLite's default.
pub(super) const PASSIVE_EVERY: u32 = 1_000;

/// Log frames past which a checkpoint holds the writer so the log can restart:
/// about 32 MB of 4 KiB pages.
pub(super) const RESTART_AT: u32 = 8_000;

thread_local! {
    /// Frames in the log after the last commit on this thread, from the WAL hook.
    static WAL_FRAMES: Cell<u32> = const { Cell::new(0) };
}

/// The WAL hook: SQLite calls it on the committing thread, inside `COMMIT`, with
/// the number of frames now in the log.
#[allow(clippy::unnecessary_wraps)] // the hook's signature is fixed
pub(super) fn note_wal_frames(_: &Wal, frames: c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(u32::try_from(frames).unwrap_or(0));
    Ok(())
}

/// The frames the last commit on this thread left in the log (0 if none noted).
pub(super) fn take_wal_frames() -> u32 {
    WAL_FRAMES.replace(0)
}

/// Which connection a checkpoint runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The checkpointer connection; commits carry on.
    Background,
    /// The writer, held, so the log can restart.
    Restart,
}

/// The state the decisions rest on.
#[derive(Debug, Default)]
pub(super) struct Checkpoints {
    /// True while a checkpoint is scheduled or running; one at a time.
    running: Arc<AtomicBool>,
    /// Log frames when the last checkpoint was scheduled.
    scheduled_at: AtomicU32,
    /// Set by a restart checkpoint: the commit after it writes the log's first frame,
    /// which syncs the log header even under NORMAL, so it must not run inline.
    restarted: AtomicBool,
}

impl Checkpoints {
    /// Whether a commit that left `frames` in the log should start a checkpoint, and
    /// which; marks one as running if so.
    pub(super) fn plan(&self, frames: u32) -> Option<Kind> {
        let last = self.scheduled_at.load(Ordering::Relaxed);
        // Fewer frames than last time: the log started again.
        let since = if frames < last { frames } else { frames - last };
        let kind = if frames >= RESTART_AT {
            Kind::Restart
        } else if since >= PASSIVE_EVERY {
            Kind::Background
        } else {
            return None;
        };
        if self.running.swap(true, Ordering::Acquire) {
            return None;
        }
        self.scheduled_at.store(frames, Ordering::Relaxed);
        Some(kind)
    }

    /// A guard that marks the checkpoint finished when dropped, even by a panic.
    pub(super) fn finish_guard(&self) -> Finished {
        Finished(Arc::clone(&self.running))
    }

    /// Notes that a restart checkpoint ran (see [`Checkpoints::take_restarted`]).
    pub(super) fn note_restart(&self) {
        self.restarted.store(true, Ordering::Release);
    }

    /// True once after a restart checkpoint: the next commit belongs on the pool.
    pub(super) fn take_restarted(&self) -> bool {
        self.restarted.swap(false, Ordering::AcqRel)
    }

    /// Waits (up to `limit`) until no checkpoint is scheduled or running.
    pub(super) fn wait_idle(&self, limit: Duration) {
        let started = Instant::now();
        while self.running.load(Ordering::Acquire) && started.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Clears the running mark when dropped.
#[derive(Debug)]
pub(super) struct Finished(Arc<AtomicBool>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_background_checkpoints_then_a_restart_one_at_a_time() {
        let c = Checkpoints::default();
        assert_eq!(c.plan(999), None);
        assert_eq!(c.plan(1_000), Some(Kind::Background));
        assert_eq!(c.plan(2_500), None, "one at a time");
        drop(c.finish_guard());
        assert_eq!(c.plan(1_900), None, "not 1,000 frames since the last");
        assert_eq!(c.plan(2_000), Some(Kind::Background));
        drop(c.finish_guard());
        assert_eq!(c.plan(8_000), Some(Kind::Restart));
        drop(c.finish_guard());
        assert_eq!(c.plan(30), None, "the log restarted");
        assert_eq!(c.plan(1_030), Some(Kind::Background));
    }
}
