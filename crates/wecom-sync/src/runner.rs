//! Keeping one corp in sync for as long as the process runs: a sync on every trigger (the callback)
//! and on a reconciliation timer, with coalescing — at most one sync in flight and one queued — and
//! a backoff after failures so a source that is down is not hammered.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use wecom_crypto::KeyRing;
use wecom_wire::ArchiveSource;

use crate::decrypt::now_ms;
use crate::engine::{SharedStore, SyncError, SyncOptions, sync_until_caught_up};

/// How a corp's runner paces itself.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// Reconciliation interval: a sync happens at least this often even without callbacks.
    pub poll_interval: Duration,
    /// Shortest gap between two syncs, however many triggers arrive.
    pub min_gap: Duration,
    /// Longest wait after failures (the backoff doubles from `min_gap` up to this).
    pub max_backoff: Duration,
    /// Each notified after every sync that stored new records, so work that follows the messages
    /// (each follower's `wecom_store::FollowerWaker::notify`) starts at once
    /// instead of at its poll.
    pub after_sync: Vec<Arc<Notify>>,
    /// With several nodes on one archive: whether this node holds the corp's lease. The runner
    /// syncs only while it does, and waits (in standby) otherwise. `None`: always (one node).
    pub lease: Option<watch::Receiver<bool>>,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            poll_interval: Duration::from_secs(180),
            min_gap: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            after_sync: Vec::new(),
            lease: None,
        }
    }
}

/// What the runner last did, for metrics and readiness.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunnerStatus {
    pub syncs_ok: u64,
    pub syncs_failed: u64,
    pub consecutive_failures: u32,
    pub records_synced: u64,
    /// Records pulled by the last successful sync: how far behind it was when it started.
    pub last_backlog: u64,
    pub cursor: u64,
    pub last_attempt_ms: Option<i64>,
    /// When the corp was last caught up (a sync ended on an empty page).
    pub last_caught_up_ms: Option<i64>,
    pub last_error: Option<String>,
    /// The last sync failed because the archive could not store (disk full, locked, damaged,
    /// no permission): not network noise, so the corp is not ready until a sync succeeds.
    pub store_failing: bool,
    pub triggers: u64,
    pub in_flight: bool,
    /// Several nodes: another node holds the corp's lease, so this one waits.
    pub standby: bool,
}

/// The handle other parts of the process hold: wake the runner, read its status.
#[derive(Debug, Default)]
pub struct RunnerHandle {
    wake: Notify,
    status: Mutex<RunnerStatus>,
}

impl RunnerHandle {
    pub fn new() -> Arc<RunnerHandle> {
        Arc::new(RunnerHandle::default())
    }

    /// Asks for a sync. Triggers coalesce: during a sync, any number of them queue exactly one more.
    pub fn trigger(&self) {
        if let Ok(mut s) = self.status.lock() {
            s.triggers += 1;
        }
        self.wake.notify_one();
    }

    pub fn status(&self) -> RunnerStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut RunnerStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }
}

/// Runs until `cancel` fires: sync, then wait for a trigger, the poll timer or the backoff.
pub async fn run_corp<S: ArchiveSource>(
    source: &S,
    store: SharedStore,
    keys: Arc<KeyRing>,
    opts: &SyncOptions,
    pacing: &RunnerOptions,
    handle: &RunnerHandle,
    cancel: &CancellationToken,
) {
    let corp = opts.corp_id.as_str();
    let mut lease = pacing.lease.clone();
    loop {
        if let Some(lease) = lease.as_mut()
            && !*lease.borrow_and_update()
        {
            handle.update(|s| s.standby = true);
            tokio::select! {
                () = cancel.cancelled() => return,
                held = lease.wait_for(|held| *held) => {
                    if held.is_err() {
                        // The lease keeper is gone: the process is shutting down.
                        return;
                    }
                }
            }
            handle.update(|s| s.standby = false);
        }
        let started = Instant::now();
        handle.update(|s| {
            s.in_flight = true;
            s.last_attempt_ms = Some(now_ms());
        });
        let result =
            sync_until_caught_up(source, store.clone(), keys.clone(), opts, cancel, &|_| {}).await;
        let failures = match result {
            Ok(report) => {
                let caught_up = !cancel.is_cancelled();
                handle.update(|s| {
                    s.in_flight = false;
                    s.syncs_ok += 1;
                    s.consecutive_failures = 0;
                    s.records_synced += report.records;
                    s.last_backlog = report.records;
                    s.cursor = report.cursor_after;
                    s.last_error = None;
                    s.store_failing = false;
                    if caught_up {
                        s.last_caught_up_ms = Some(now_ms());
                    }
                });
                if report.inserted > 0 {
                    for after in &pacing.after_sync {
                        after.notify_one();
                    }
                }
                if report.records > 0 {
                    info!(
                        corp_id = corp,
                        records = report.records,
                        cursor = report.cursor_after,
                        "synced"
                    );
                }
                0
            }
            Err(SyncError::Commit { error, cursor, .. })
                if error.kind() == wecom_store::StoreErrorKind::LeaseLost =>
            {
                // Not a failure: another node took the corp over (this one was paused or cut
                // off past its lease). Nothing was written; wait for the lease again.
                warn!(
                    corp_id = corp,
                    cursor, "another node took this corp over; standing by"
                );
                handle.update(|s| {
                    s.in_flight = false;
                    s.cursor = cursor;
                });
                // The lease keeper learns of it at its next renewal (a third of the lease); until
                // then the gate above may still be open, so pace the retries.
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep(pacing.min_gap) => {}
                }
                continue;
            }
            Err(e) => {
                let (message, cursor) = match &e {
                    SyncError::Source { cursor, .. }
                    | SyncError::Commit { cursor, .. }
                    | SyncError::ReplayOnly { cursor, .. } => (e.to_string(), Some(*cursor)),
                    other => (other.to_string(), None),
                };
                let store_failing = matches!(e, SyncError::Commit { .. } | SyncError::Store(_));
                let mut failures = 0;
                handle.update(|s| {
                    s.store_failing = store_failing;
                    s.in_flight = false;
                    s.syncs_failed += 1;
                    s.consecutive_failures += 1;
                    failures = s.consecutive_failures;
                    if let Some(c) = cursor {
                        s.cursor = c;
                    }
                    s.last_error = Some(message.clone());
                });
                if failures >= 3 {
                    error!(corp_id = corp, error = %message, failures, "sync keeps failing; operator action may be needed");
                } else {
                    warn!(corp_id = corp, error = %message, failures, "sync failed; will retry");
                }
                failures
            }
        };
        if cancel.is_cancelled() {
            return;
        }
        let wait = if failures == 0 {
            pacing.poll_interval
        } else {
            let exp = (failures - 1).min(16);
            pacing
                .min_gap
                .saturating_mul(1u32 << exp)
                .min(pacing.max_backoff)
                .min(pacing.poll_interval)
        };
        // Triggers wake the runner early, but never closer than `min_gap` to the last start, and not
        // during a failure backoff (a callback storm must not hammer a source that is down).
        let earliest = started + if failures == 0 { pacing.min_gap } else { wait };
        let deadline = started + wait.max(pacing.min_gap);
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep_until(deadline.into()) => {}
            () = handle.wake.notified() => {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = tokio::time::sleep_until(earliest.into()) => {}
                }
            }
        }
    }
}
