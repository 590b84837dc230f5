//! The progress bar on stderr.

use std::io::IsTerminal;
use std::time::Duration;

use crate::args::Limit;

/// A progress bar on stderr, only when stderr is a terminal, redrawn ≤ 10 times a second.
pub(crate) struct Progress {
    enabled: bool,
    label: &'static str,
    limit: Limit,
    drawn_at: Option<Duration>,
}

impl Progress {
    /// A bar labelled `label`, full when `limit` is reached.
    pub(crate) fn new(label: &'static str, limit: Limit) -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
            label,
            limit,
            drawn_at: None,
        }
    }

    /// Redraws the bar, unless it was drawn less than 100 ms ago.
    pub(crate) fn show(&mut self, done: u64, elapsed: Duration) {
        if !self.enabled
            || self
                .drawn_at
                .is_some_and(|at| elapsed.saturating_sub(at) < Duration::from_millis(100))
        {
            return;
        }
        self.drawn_at = Some(elapsed);
        let fraction = self.limit.fraction(done, elapsed).clamp(0.0, 1.0);
        let filled = ((fraction * 30.0) as usize).min(30);
        let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
        eprint!(
            "\r{:<8} [{}{}] {:>5.1}% {done:>9} tx {rate:>9.0} tx/s",
            self.label,
            "#".repeat(filled),
            "-".repeat(30 - filled),
            fraction * 100.0
        );
    }

    /// Clears the bar.
    pub(crate) fn finish(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
    }
}
