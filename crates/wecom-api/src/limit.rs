//! Sign-in attempts per key (a client address, a username) within a sliding window: beyond the
//! allowance, attempts are refused before any password is checked. Memory stays bounded: keys
//! whose attempts all left the window are dropped, and at most [`MAX_KEYS`] keys are kept (the
//! stalest go first), so a flood of addresses cannot grow it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Keys remembered at most.
const MAX_KEYS: usize = 100_000;

pub(crate) struct Limiter {
    allowance: u32,
    window: Duration,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    pub(crate) fn new(allowance: u32, window: Duration) -> Limiter {
        Limiter {
            allowance: allowance.max(1),
            window,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt under `key` now. `Err(wait)` when the allowance is used up: the attempt
    /// is not counted, and `wait` is how long until one leaves the window.
    pub(crate) fn attempt(&self, key: &str) -> Result<(), Duration> {
        self.attempt_at(key, Instant::now())
    }

    fn attempt_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            let window = self.window;
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
            if map.len() >= MAX_KEYS {
                // Still full of live keys: forget the one whose last attempt is oldest.
                if let Some(stalest) = map
                    .iter()
                    .min_by_key(|(_, q)| q.back().copied())
                    .map(|(k, _)| k.clone())
                {
                    map.remove(&stalest);
                }
            }
        }
        let queue = map.entry(key.to_owned()).or_default();
        while queue
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            queue.pop_front();
        }
        if queue.len() >= self.allowance as usize {
            let oldest = queue.front().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        queue.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_beyond_the_allowance_until_the_window_moves() {
        let limiter = Limiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(limiter.attempt_at("a", t0 + Duration::from_secs(i)).is_ok());
        }
        let wait = limiter
            .attempt_at("a", t0 + Duration::from_secs(10))
            .expect_err("a fourth attempt within the window is refused");
        assert_eq!(wait, Duration::from_secs(50));
        // Other keys are counted apart.
        assert!(
            limiter
                .attempt_at("b", t0 + Duration::from_secs(10))
                .is_ok()
        );
        // Once the first attempt left the window, one more is allowed.
        let later = t0 + Duration::from_millis(60_500);
        assert!(limiter.attempt_at("a", later).is_ok());
        assert!(limiter.attempt_at("a", later).is_err());
    }
}
