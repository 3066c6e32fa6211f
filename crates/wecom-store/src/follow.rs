//! The one shape of everything that follows what the archive committed: the media workers, the
//! name resolver, and later search and rules. A follower keeps its own position (a queue's state,
//! a change-feed position stored with its output), so it can be stopped anywhere — a kill
//! included — and resumed without skipping or repeating work in effect.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Wakes a follower's [`Follower::run`] early (after a sync stored something) instead of at its
/// next poll. Cheap to clone; a wake while the follower is busy is kept for when it next waits.
#[derive(Debug, Clone, Default)]
pub struct FollowerWaker(Arc<Notify>);

impl FollowerWaker {
    pub fn new() -> FollowerWaker {
        FollowerWaker::default()
    }

    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Completes at the next wake (or at once for one that came while nobody waited).
    pub async fn woken(&self) {
        self.0.notified().await;
    }

    /// The underlying notification, for lists of things to notify (`wecom_sync::RunnerOptions`).
    pub fn notify(&self) -> Arc<Notify> {
        Arc::clone(&self.0)
    }
}

/// A follower of one corp's archive.
pub trait Follower: Send + Sync {
    /// What one pass did.
    type Report: Send;
    /// Why a pass could not go on (the store failed; a follower's own faults are its report's).
    type Error: std::error::Error + Send + Sync + 'static;

    /// A short name for logs (`media`, `names`).
    fn name(&self) -> &'static str;

    /// Works until caught up (nothing left to do now) or cancelled, then returns what it did.
    /// `sync` and `demo` drain every follower with it.
    fn pass(
        &self,
        cancel: &CancellationToken,
    ) -> impl Future<Output = Result<Self::Report, Self::Error>> + Send;

    /// Works until cancelled: a pass at once, then whenever woken ([`Follower::waker`]) or its
    /// poll interval passes. Failures are logged and retried; it never stops on its own. The
    /// daemon keeps every follower running with it.
    fn run(&self, cancel: &CancellationToken) -> impl Future<Output = ()> + Send;

    /// What wakes [`Follower::run`] early.
    fn waker(&self) -> FollowerWaker;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wake_while_busy_is_kept_for_the_next_wait() {
        let waker = FollowerWaker::new();
        waker.wake();
        // Nobody was waiting: the next wait completes at once.
        tokio::time::timeout(std::time::Duration::from_secs(30), waker.clone().woken())
            .await
            .expect("the kept wake");
    }
}
