//! Time and identity as ports, so whole scenarios can be replayed from a seed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// Where the service reads the current time from.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to: for tests, simulations and replays.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward (or back, for a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock to `instant`.
    pub fn set(&self, instant: DateTime<Utc>) {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = instant;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Where the service gets fresh unique ids from.
pub trait IdGen: Send + Sync {
    /// A new, never-before-returned UUID.
    fn next_uuid(&self) -> Uuid;
}

/// Random time-ordered UUIDv7s: the production default.
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidV7;

impl IdGen for UuidV7 {
    fn next_uuid(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Deterministic ids from a seed: the same seed yields the same sequence, so a test
/// run can be replayed exactly. The ids are well-formed UUIDv7s whose timestamp is a
/// counter, which keeps them ordered by creation like real ones.
#[derive(Debug)]
pub struct SeededIds {
    seed: u64,
    counter: AtomicU64,
}

impl SeededIds {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: AtomicU64::new(0),
        }
    }
}

impl IdGen for SeededIds {
    fn next_uuid(&self) -> Uuid {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let hi = splitmix64(self.seed ^ n).to_be_bytes();
        let lo = splitmix64(self.seed.rotate_left(32) ^ !n).to_be_bytes();
        let mut random = [0u8; 10];
        for (slot, byte) in random.iter_mut().zip(hi.iter().chain(lo.iter())) {
            *slot = *byte;
        }
        // The counter stands in for the 48-bit timestamp so ids sort by creation.
        uuid::Builder::from_unix_timestamp_millis(n, &random).into_uuid()
    }
}

/// SplitMix64: a tiny, well-mixed deterministic generator; good enough for ids.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn seeded_ids_repeat_per_seed_and_never_collide() {
        let a = SeededIds::new(7);
        let b = SeededIds::new(7);
        let c = SeededIds::new(8);
        let xs: Vec<_> = (0..1000).map(|_| a.next_uuid()).collect();
        let ys: Vec<_> = (0..1000).map(|_| b.next_uuid()).collect();
        let zs: Vec<_> = (0..1000).map(|_| c.next_uuid()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs, zs);
        assert_eq!(xs.iter().collect::<HashSet<_>>().len(), 1000);
        assert!(
            xs.windows(2).all(|w| w[0] < w[1]),
            "ids are creation-ordered"
        );
        assert_eq!(xs[0].get_version_num(), 7);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::hours(2));
        assert_eq!(clock.now(), start + Duration::hours(2));
    }
}
