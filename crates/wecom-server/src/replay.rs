//! Callbacks already acted on, remembered for as long as their timestamp is accepted, so a replay
//! (same corp, `msg_signature`, `timestamp` and `nonce`) is answered without acting again. Bounded:
//! at capacity the oldest entry is forgotten (a replay of it would only cost one extra sync).

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};

type Key = (String, String, String, String);

pub(crate) struct ReplayCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    seen: HashSet<Key>,
    /// Insertion order with each entry's expiry (unix seconds).
    order: VecDeque<(i64, Key)>,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize) -> ReplayCache {
        ReplayCache {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Records the callback; false when it was already recorded and has not expired.
    /// `expires` (unix seconds) is when its timestamp leaves the accepted window.
    pub(crate) fn first_time(
        &self,
        corp: &str,
        signature: &str,
        timestamp: &str,
        nonce: &str,
        now: i64,
        expires: i64,
    ) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        // Entries are roughly in expiry order (timestamps are close to now): drop the expired ones
        // at the front; any expired one further back goes when it reaches the front or at capacity.
        while let Some((at, _)) = inner.order.front() {
            if *at >= now {
                break;
            }
            if let Some((_, key)) = inner.order.pop_front() {
                inner.seen.remove(&key);
            }
        }
        let key = (
            corp.to_owned(),
            signature.to_owned(),
            timestamp.to_owned(),
            nonce.to_owned(),
        );
        if inner.seen.contains(&key) {
            return false;
        }
        while inner.order.len() >= self.capacity {
            if let Some((_, old)) = inner.order.pop_front() {
                inner.seen.remove(&old);
            }
        }
        inner.seen.insert(key.clone());
        inner.order.push_back((expires, key));
        true
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .order
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_is_recognised_until_it_expires() {
        let c = ReplayCache::new(10);
        assert!(c.first_time("c", "s", "100", "n", 100, 400));
        assert!(!c.first_time("c", "s", "100", "n", 399, 400));
        assert!(c.first_time("c", "s", "100", "other", 399, 400));
        assert!(c.first_time("c", "s", "100", "n", 401, 700), "expired");
    }

    #[test]
    fn a_flood_cannot_grow_it_past_its_capacity() {
        let c = ReplayCache::new(100);
        for i in 0..10_000 {
            assert!(c.first_time("c", &i.to_string(), "1", "n", 1, 1000));
        }
        assert_eq!(c.len(), 100);
        assert!(!c.first_time("c", "9999", "1", "n", 1, 1000));
    }
}
