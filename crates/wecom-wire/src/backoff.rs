//! The one backoff every retry in the project waits by: capped exponential growth with jitter.
//! A pure computation (no clock, no sleeping); the callers decide what to wait for.

use std::time::Duration;

use rand::Rng;

/// Capped exponential backoff: the delay after failed attempt `n` (1-based) grows as
/// `base * 2^(n-1)` up to `max`, and is drawn uniformly from the upper half of that ceiling so
/// that clients or jobs failing together do not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay ceiling after the first failure.
    pub base: Duration,
    /// Upper bound of any delay.
    pub max: Duration,
}

impl Backoff {
    /// A backoff from `base`, doubling per attempt, never above `max`.
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff { base, max }
    }

    /// The largest delay after failed attempt `attempt` (1-based): `base * 2^(attempt-1)`, capped
    /// at `max`. Attempt 0 counts as 1.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        self.base
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The delay after failed attempt `attempt` (1-based): drawn uniformly from
    /// `ceiling/2 ..= ceiling` (a ceiling under 2 ns is returned as is).
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos < 2 {
            return ceiling;
        }
        Duration::from_nanos(rand::rng().random_range(nanos / 2..=nanos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_with_jitter_and_stay_capped() {
        let b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(1), Duration::from_millis(100));
        assert_eq!(b.ceiling(3), Duration::from_millis(400));
        assert_eq!(b.ceiling(20), Duration::from_secs(2));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(2));
        for _ in 0..50 {
            let d3 = b.delay(3);
            assert!(
                (Duration::from_millis(200)..=Duration::from_millis(400)).contains(&d3),
                "{d3:?}"
            );
            let late = b.delay(u32::MAX);
            assert!(
                (Duration::from_secs(1)..=Duration::from_secs(2)).contains(&late),
                "{late:?}"
            );
        }
    }

    #[test]
    fn huge_bases_saturate_at_the_cap_and_zero_stays_zero() {
        let b = Backoff::new(Duration::MAX, Duration::from_secs(60));
        assert_eq!(b.ceiling(5), Duration::from_secs(60));
        let zero = Backoff::new(Duration::ZERO, Duration::from_secs(60));
        assert_eq!(zero.delay(7), Duration::ZERO);
    }
}
