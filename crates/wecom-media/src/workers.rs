//! The dispatcher: claims due jobs (at risk first: nearest to the retention edge), runs at most
//! `concurrency` of them at once, records their results in batches, pauses with one summary line
//! while the media storage cannot take objects, and gives back what it holds when cancelled. It
//! never expires a job by the clock: only WeCom's answer does.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::{Id, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, error, info, info_span, warn};
use wecom_blob::BlobStore;
use wecom_store::{
    Follower, FollowerWaker, MediaJob, MediaJobError, MediaJobOutcome, MediaJobResult, MediaQueue,
    StoreError,
};
use wecom_wire::MediaSource;

use crate::job::{self, Ctx, Processed, code};
use crate::{MediaOptions, now_ms};

/// The archive's media queue, as the workers share it.
pub type SharedStore = Arc<dyn MediaQueue>;

/// How long a daemon waits after the store failed before trying again.
const STORE_RETRY: Duration = Duration::from_secs(5);

/// Why the workers stopped. Jobs are never lost: a result that could not be recorded leaves its
/// job `downloading`, and the next start puts it back in the queue.
#[derive(Debug, thiserror::Error)]
pub enum MediaWorkerError {
    #[error("archive store: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaReport {
    /// Jobs started (claimed and handed to a worker).
    pub started: u64,
    /// Objects verified and stored.
    pub done: u64,
    /// Of those, already stored by an earlier message: the bytes were discarded.
    pub deduplicated: u64,
    /// Bytes of the stored objects.
    pub bytes: u64,
    /// Failed transiently; due again later.
    pub retry_later: u64,
    /// Failed for good (an operator can retry them).
    pub failed: u64,
    /// WeCom answered that the object is past its retention (301048 / SDK 10010).
    pub expired: u64,
    /// Not downloaded because the media storage could not take objects (disk full, no file
    /// descriptors): due again at once, no attempt counted. Includes jobs claimed but not started.
    pub deferred: u64,
    /// Why the storage could not take objects, when `deferred > 0`: the error, naming the folder
    /// (or bucket) and the fix.
    pub storage_blocked: Option<String>,
    /// Handed back unattempted on cancellation.
    pub released: u64,
    /// Whole-object downloads that did not match their message.
    pub md5_mismatches: u64,
    /// Chunk requests the source repeated.
    pub chunk_retries: u64,
    /// Jobs put back in the queue at start because a previous run stopped mid-download.
    pub requeued: u64,
    pub elapsed: Duration,
}

/// One corp's media workers: a bounded pool downloading through `source` into `blobs`, with the
/// queue in the archive store.
pub struct MediaWorkers {
    store: SharedStore,
    ctx: Arc<Ctx>,
    wake: FollowerWaker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Until no job is due.
    Drain,
    /// Until cancelled.
    Daemon,
}

impl MediaWorkers {
    pub fn new(
        store: SharedStore,
        source: Arc<dyn MediaSource>,
        blobs: Arc<dyn BlobStore>,
        mut opts: MediaOptions,
    ) -> MediaWorkers {
        opts.concurrency = opts.concurrency.max(1);
        opts.max_md5_attempts = opts.max_md5_attempts.max(1);
        opts.max_attempts = opts.max_attempts.max(1);
        let described = blobs.describe();
        MediaWorkers {
            store,
            ctx: Arc::new(Ctx {
                source,
                blobs,
                opts,
                backend: described.kind,
                location: described.location,
            }),
            wake: FollowerWaker::new(),
        }
    }

    pub fn options(&self) -> &MediaOptions {
        &self.ctx.opts
    }

    /// Wakes idle workers at once (after a sync committed new messages) instead of at the next
    /// poll.
    pub fn waker(&self) -> FollowerWaker {
        self.wake.clone()
    }

    /// Processes every due job until none is left (jobs rescheduled for later stay queued), then
    /// returns. Cancelling stops at once: running downloads are discarded (nothing is published)
    /// and their jobs given back.
    pub async fn drain(&self, cancel: &CancellationToken) -> Result<MediaReport, MediaWorkerError> {
        self.run_mode(Mode::Drain, cancel).await
    }

    /// Keeps downloading until cancelled: due jobs at once, then whatever becomes due, polling
    /// every `poll` and woken by [`MediaWorkers::waker`]. Store failures are logged and retried; the
    /// workers never stop on their own.
    pub async fn run(&self, cancel: &CancellationToken) -> Result<MediaReport, MediaWorkerError> {
        self.run_mode(Mode::Daemon, cancel).await
    }

    async fn run_mode(
        &self,
        mode: Mode,
        cancel: &CancellationToken,
    ) -> Result<MediaReport, MediaWorkerError> {
        let started = Instant::now();
        let mut d = Dispatcher {
            w: self,
            mode,
            cancel: cancel.child_token(),
            tasks: JoinSet::new(),
            running: HashMap::new(),
            ready: VecDeque::new(),
            unrecorded: Vec::new(),
            report: MediaReport::default(),
            blocked: None,
            logged_deferred: 0,
            requeued: false,
        };
        let result = d.run().await;
        let mut report = d.shutdown().await;
        report.elapsed = started.elapsed();
        match result {
            Ok(()) => Ok(report),
            Err(e) => Err(e),
        }
    }

    /// Runs `f` on the store on a blocking thread.
    async fn store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn MediaQueue, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, MediaWorkerError> {
        let store = Arc::clone(&self.store);
        let corp = self.ctx.opts.corp_id.clone();
        wecom_store::blocking(move || f(&*store, &corp))
            .await
            .map_err(MediaWorkerError::Store)
    }
}

struct Dispatcher<'a> {
    w: &'a MediaWorkers,
    mode: Mode,
    /// The caller's token's child, so the dispatcher can stop its tasks on an error too.
    cancel: CancellationToken,
    tasks: JoinSet<Processed>,
    /// Task id → job id, to record a job whose task died.
    running: HashMap<Id, i64>,
    /// Claimed, not started yet.
    ready: VecDeque<MediaJob>,
    /// Results waiting to be recorded (kept across store failures).
    unrecorded: Vec<MediaJobResult>,
    report: MediaReport,
    /// Set when a job found the storage unable to take objects: nothing new is started until the
    /// running jobs ended and (daemon) a pause passed.
    blocked: Option<MediaJobError>,
    /// `report.deferred` as of the last summary line.
    logged_deferred: u64,
    requeued: bool,
}

impl Dispatcher<'_> {
    fn opts(&self) -> &MediaOptions {
        &self.w.ctx.opts
    }

    async fn run(&mut self) -> Result<(), MediaWorkerError> {
        loop {
            if self.cancel.is_cancelled() {
                return Ok(());
            }
            match self.step().await {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) if self.mode == Mode::Drain => return Err(e),
                Err(e) => {
                    error!(error = %e, corp_id = %self.opts().corp_id, "media queue unavailable; retrying");
                    self.wait(STORE_RETRY).await;
                }
            }
        }
    }

    /// One round: record, requeue/expire, claim, start, wait. `false` when a drain is done.
    async fn step(&mut self) -> Result<bool, MediaWorkerError> {
        self.record().await?;
        if !self.requeued {
            let now = now_ms();
            let n = self
                .w
                .store(move |s, corp| s.requeue_interrupted_media_jobs(corp, now))
                .await?;
            if n > 0 {
                info!(
                    jobs = n,
                    "media downloads interrupted by a previous run queued again"
                );
            }
            self.report.requeued = n;
            self.requeued = true;
        }
        if self.blocked.is_some() {
            return self.step_blocked().await;
        }
        let concurrency = self.opts().concurrency;
        if self.ready.is_empty() && self.tasks.len() < concurrency {
            // A few jobs ahead, so a worker rarely waits for a claim; all of them are given back
            // (or requeued at the next start) if the run stops.
            let limit = concurrency * 2;
            let now = now_ms();
            // At risk first: the retention window only orders the work, it never skips a job.
            let edge = now.saturating_sub(
                i64::try_from(self.opts().retention.as_millis()).unwrap_or(i64::MAX),
            );
            let jobs = self
                .w
                .store(move |s, corp| s.claim_media_jobs(corp, now, edge, limit))
                .await?;
            self.ready.extend(jobs);
        }
        while self.tasks.len() < concurrency
            && let Some(job) = self.ready.pop_front()
        {
            self.start(job);
        }
        if self.tasks.is_empty() {
            if self.mode == Mode::Drain {
                self.record().await?;
                return Ok(false);
            }
            let poll = self.opts().poll;
            self.wait(poll).await;
            return Ok(true);
        }
        // A daemon with a free worker also looks for new jobs when woken or polled.
        let idle_worker = self.mode == Mode::Daemon && self.tasks.len() < concurrency;
        let poll = self.opts().poll;
        tokio::select! {
            () = self.cancel.cancelled() => {}
            () = self.w.wake.woken(), if idle_worker => {}
            () = tokio::time::sleep(poll), if idle_worker => {}
            joined = self.tasks.join_next_with_id() => {
                if let Some(joined) = joined {
                    self.collect(joined);
                }
                while let Some(joined) = self.tasks.try_join_next_with_id() {
                    self.collect(joined);
                }
            }
        }
        Ok(true)
    }

    async fn wait(&self, d: Duration) {
        tokio::select! {
            () = self.cancel.cancelled() => {}
            () = self.w.wake.woken() => {}
            () = tokio::time::sleep(d) => {}
        }
    }

    /// The storage cannot take objects: start nothing, give the claimed jobs back, let the running
    /// ones end, then log one summary line for the pass. A drain ends there; a daemon pauses
    /// (`retry_base`) and tries again.
    async fn step_blocked(&mut self) -> Result<bool, MediaWorkerError> {
        for job in std::mem::take(&mut self.ready) {
            self.unrecorded.push(MediaJobResult {
                job_id: job.id,
                outcome: MediaJobOutcome::Released,
                md5_mismatches: 0,
            });
            self.report.deferred += 1;
        }
        if !self.tasks.is_empty() {
            tokio::select! {
                () = self.cancel.cancelled() => {}
                joined = self.tasks.join_next_with_id() => {
                    if let Some(joined) = joined {
                        self.collect(joined);
                    }
                }
            }
            return Ok(true);
        }
        self.record().await?;
        let Some(reason) = self.blocked.take() else {
            return Ok(true);
        };
        let pause = self.opts().retry_base;
        let location = &self.w.ctx.location;
        let fix = if reason.code == code::DISK_FULL {
            "free space there"
        } else {
            "raise the open-files limit (`ulimit -n`, LimitNOFILE=) or lower [media] concurrency"
        };
        let what = if reason.code == code::DISK_FULL {
            "the media storage is full"
        } else {
            "no file descriptor left for the media storage"
        };
        let deferred = self.report.deferred - self.logged_deferred;
        self.logged_deferred = self.report.deferred;
        if self.mode == Mode::Drain {
            warn!(corp_id = %self.opts().corp_id, jobs = deferred, location = %location, error = %reason.message,
                "{what}: media downloads deferred without counting an attempt; {fix}, then run `sync` again (a running daemon retries by itself)");
            self.report.storage_blocked = Some(reason.message);
            return Ok(false);
        }
        warn!(corp_id = %self.opts().corp_id, jobs = deferred, location = %location, error = %reason.message,
            retry_in_secs = pause.as_secs(),
            "{what}: media downloads deferred without counting an attempt; {fix} — retrying after the pause");
        self.report.storage_blocked = Some(reason.message);
        tokio::select! {
            () = self.cancel.cancelled() => {}
            () = tokio::time::sleep(pause) => {}
        }
        Ok(true)
    }

    fn start(&mut self, job: MediaJob) {
        let id = job.id;
        let span = info_span!("media_job", corp_id = %self.opts().corp_id, job_id = id, msgid = %job.msgid, path = %job.path);
        let handle = self.tasks.spawn(
            job::process(Arc::clone(&self.w.ctx), job, self.cancel.clone()).instrument(span),
        );
        self.running.insert(handle.id(), id);
        self.report.started += 1;
    }

    fn collect(&mut self, joined: Result<(Id, Processed), tokio::task::JoinError>) {
        let processed = match joined {
            Ok((id, p)) => {
                self.running.remove(&id);
                p
            }
            Err(e) => {
                let Some(job_id) = self.running.remove(&e.id()) else {
                    return;
                };
                error!(job_id, error = %e, "media worker task died; the job will be retried");
                let next = now_ms().saturating_add(
                    i64::try_from(self.opts().backoff(1).as_millis()).unwrap_or(i64::MAX),
                );
                Processed {
                    result: MediaJobResult {
                        job_id,
                        outcome: MediaJobOutcome::Retry {
                            next_attempt_at_ms: next,
                            error: MediaJobError {
                                code: code::INTERNAL.to_owned(),
                                message: format!("the worker task died: {e}"),
                            },
                        },
                        md5_mismatches: 0,
                    },
                    bytes: 0,
                    deduplicated: false,
                    chunk_retries: 0,
                    deferred: None,
                }
            }
        };
        if let Some(reason) = processed.deferred.clone() {
            self.blocked = Some(reason);
        }
        let r = &mut self.report;
        r.md5_mismatches += u64::from(processed.result.md5_mismatches);
        r.chunk_retries += processed.chunk_retries;
        match &processed.result.outcome {
            MediaJobOutcome::Done(_) => {
                r.done += 1;
                r.bytes += processed.bytes;
                r.deduplicated += u64::from(processed.deduplicated);
            }
            MediaJobOutcome::Retry { .. } => r.retry_later += 1,
            MediaJobOutcome::Permanent { .. } => r.failed += 1,
            MediaJobOutcome::Expired { .. } => r.expired += 1,
            MediaJobOutcome::Deferred { .. } => r.deferred += 1,
            MediaJobOutcome::Released => r.released += 1,
        }
        self.unrecorded.push(processed.result);
    }

    /// Records every finished job in one transaction. On failure they stay queued here.
    async fn record(&mut self) -> Result<(), MediaWorkerError> {
        if self.unrecorded.is_empty() {
            return Ok(());
        }
        let results = std::mem::take(&mut self.unrecorded);
        let now = now_ms();
        let shared = Arc::new(results);
        let batch = Arc::clone(&shared);
        let outcome = self
            .w
            .store(move |s, corp| s.record_media_results(corp, &batch, now))
            .await;
        match outcome {
            Ok(applied) => {
                debug!(results = shared.len(), applied, "media results recorded");
                for after in &self.w.options().after_record {
                    after.notify_one();
                }
                Ok(())
            }
            Err(e) => {
                self.unrecorded = Arc::try_unwrap(shared).unwrap_or_else(|a| (*a).clone());
                Err(e)
            }
        }
    }

    /// Stops every task (they give their jobs back), hands back the jobs claimed but not started,
    /// and records everything it can.
    async fn shutdown(mut self) -> MediaReport {
        self.cancel.cancel();
        while let Some(joined) = self.tasks.join_next_with_id().await {
            self.collect(joined);
        }
        for job in std::mem::take(&mut self.ready) {
            self.unrecorded.push(MediaJobResult {
                job_id: job.id,
                outcome: MediaJobOutcome::Released,
                md5_mismatches: 0,
            });
        }
        if let Err(e) = self.record().await {
            // The jobs stay `downloading`; the next start queues them again.
            error!(error = %e, jobs = self.unrecorded.len(),
                "recording media results failed; those jobs are queued again at the next start");
        }
        self.report
    }
}

/// Processes every due job of `opts.corp_id` until none is left; see [`MediaWorkers::drain`].
pub async fn drain_media(
    store: SharedStore,
    source: Arc<dyn MediaSource>,
    blobs: Arc<dyn BlobStore>,
    opts: MediaOptions,
    cancel: &CancellationToken,
) -> Result<MediaReport, MediaWorkerError> {
    MediaWorkers::new(store, source, blobs, opts)
        .drain(cancel)
        .await
}

/// Downloads until cancelled; see [`MediaWorkers::run`].
pub async fn run_media_workers(
    store: SharedStore,
    source: Arc<dyn MediaSource>,
    blobs: Arc<dyn BlobStore>,
    opts: MediaOptions,
    cancel: &CancellationToken,
) -> Result<MediaReport, MediaWorkerError> {
    MediaWorkers::new(store, source, blobs, opts)
        .run(cancel)
        .await
}

/// The media workers follow the archive through its job queue: jobs are created with their
/// messages, so a pass is "until no job is due".
impl Follower for MediaWorkers {
    type Report = MediaReport;
    type Error = MediaWorkerError;

    fn name(&self) -> &'static str {
        "media"
    }

    async fn pass(&self, cancel: &CancellationToken) -> Result<MediaReport, MediaWorkerError> {
        self.drain(cancel).await
    }

    async fn run(&self, cancel: &CancellationToken) {
        if let Err(e) = MediaWorkers::run(self, cancel).await {
            error!(corp_id = %self.ctx.opts.corp_id, error = %e, "media workers stopped");
        }
    }

    fn waker(&self) -> FollowerWaker {
        MediaWorkers::waker(self)
    }
}
