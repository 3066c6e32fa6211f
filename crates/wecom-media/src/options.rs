//! How the media workers behave: concurrency, retry budgets and backoff, the retention window.

use std::time::Duration;

use wecom_wire::Backoff;

/// The retention window assumed by default: five days, a guess the reference itself calls
/// unconfirmed (数据与智能专区 data lives 90 days). It orders the work and drives the time-to-loss
/// figure; it never expires a job — only WeCom's 301048 does.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(5 * 24 * 60 * 60);

/// Options of one corp's media workers.
#[derive(Debug, Clone)]
pub struct MediaOptions {
    pub corp_id: String,
    /// Objects downloaded at once (at least 1).
    pub concurrency: usize,
    /// Whole-object downloads whose md5 (or size) differs from the message's, before the job is
    /// recorded as `md5_mismatch` with the last bytes kept in quarantine. WeCom's md5sum is
    /// sometimes wrong; a second or third download usually settles it.
    pub max_md5_attempts: u32,
    /// Attempts of a job failing transiently (network, bad answers, storage unavailable; a full
    /// disk or descriptor exhaustion defers the job without counting one) before it is failed for good, to be retried by an operator
    /// (`retry_media_jobs`). Chunk retries inside the source do not count.
    pub max_attempts: u32,
    /// Delay before the second attempt of a transiently failing job; doubles per attempt, capped
    /// at `retry_max`, with jitter (drawn from the upper half). Also the pause of a daemon whose
    /// media storage is full before it tries again.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How long WeCom is assumed to keep media after the message. Orders the work at risk first
    /// (jobs nearest to this edge first: inside the window oldest first, then past it newest
    /// first); no job is skipped or expired because of it.
    pub retention: Duration,
    /// How often an idle daemon looks for due jobs (new jobs also wake it through
    /// [`MediaWorkers::waker`](crate::MediaWorkers::waker)).
    pub poll: Duration,
    /// Counts every plaintext byte received, across objects, as it arrives: lets a caller show
    /// progress while a large object downloads.
    pub received_bytes: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
    /// Each notified after job results are recorded (the daemon refreshes its metrics figures).
    pub after_record: Vec<std::sync::Arc<tokio::sync::Notify>>,
}

impl MediaOptions {
    /// Defaults: 4 at once, 5 md5 attempts, 8 attempts with 30 s…1 h backoff, 5 days' retention,
    /// polled every 30 s.
    pub fn new(corp_id: impl Into<String>) -> MediaOptions {
        MediaOptions {
            corp_id: corp_id.into(),
            concurrency: 4,
            max_md5_attempts: 5,
            max_attempts: 8,
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(60 * 60),
            retention: DEFAULT_RETENTION,
            poll: Duration::from_secs(30),
            received_bytes: None,
            after_record: Vec::new(),
        }
    }

    /// The delay after failed attempt number `attempt` (1-based): `retry_base * 2^(attempt-1)`,
    /// capped at `retry_max`, drawn uniformly from its upper half so that jobs failing together
    /// do not retry in lockstep ([`Backoff`]).
    pub fn backoff(&self, attempt: u32) -> Duration {
        Backoff::new(self.retry_base, self.retry_max).delay(attempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_stays_capped() {
        let mut o = MediaOptions::new("ww");
        o.retry_base = Duration::from_secs(10);
        o.retry_max = Duration::from_secs(60);
        for _ in 0..100 {
            let first = o.backoff(1);
            assert!((Duration::from_secs(5)..=Duration::from_secs(10)).contains(&first));
            let third = o.backoff(3);
            assert!((Duration::from_secs(20)..=Duration::from_secs(40)).contains(&third));
            let late = o.backoff(40);
            assert!((Duration::from_secs(30)..=Duration::from_secs(60)).contains(&late));
        }
        o.retry_base = Duration::ZERO;
        assert_eq!(o.backoff(3), Duration::ZERO);
    }
}
