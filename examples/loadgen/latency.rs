//! Call latencies per transaction kind and their nearest-rank percentiles.

use std::time::Duration;

use serde::Serialize;

use crate::mix::Kind;

/// Call latencies in nanoseconds, one list per [`Kind`] (indexed by `kind as usize`).
#[derive(Debug, Default)]
pub(crate) struct Latencies([Vec<u32>; 5]);

impl Latencies {
    /// Adds one call of `kind` (saturating at about 4.3 s).
    pub(crate) fn record(&mut self, kind: Kind, elapsed: Duration) {
        let nanos = u32::try_from(elapsed.as_nanos()).unwrap_or(u32::MAX);
        if let Some(samples) = self.0.get_mut(kind as usize) {
            samples.push(nanos);
        }
    }

    /// Adds another caller's samples to these.
    pub(crate) fn merge(&mut self, other: Latencies) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            mine.extend(theirs);
        }
    }

    /// Per-type summaries and the summary over all transactions.
    pub(crate) fn summarize(mut self) -> (Vec<(Kind, Summary)>, Summary) {
        let all: Vec<u32> = self.0.iter().flatten().copied().collect();
        let types = Kind::ALL
            .into_iter()
            .zip(self.0.iter_mut())
            .map(|(kind, samples)| (kind, Summary::of(samples)))
            .collect();
        (types, Summary::of(&mut { all }))
    }
}

/// How many calls, and their latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Summary {
    pub(crate) count: usize,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) max_us: f64,
    /// The calls' summed time, in microseconds (not in the JSON of each type).
    #[serde(skip)]
    pub(crate) total_us: f64,
}

impl Summary {
    /// The summary of `samples` (sorted in place).
    pub(crate) fn of(samples: &mut [u32]) -> Summary {
        samples.sort_unstable();
        let micros = |ns: u32| f64::from(ns) / 1_000.0;
        Summary {
            count: samples.len(),
            p50_us: micros(percentile(samples, 0.50)),
            p99_us: micros(percentile(samples, 0.99)),
            max_us: micros(samples.last().copied().unwrap_or(0)),
            total_us: samples.iter().map(|&ns| f64::from(ns)).sum::<f64>() / 1_000.0,
        }
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[u32], p: f64) -> u32 {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1))
        .or(sorted.last())
        .copied()
        .unwrap_or(0)
}
