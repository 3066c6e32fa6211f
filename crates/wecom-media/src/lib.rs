//! The media workers: every media object a message references ends up in the blob store,
//! verified, before WeCom's retention closes — or its job says why not.
//!
//! The queue lives in the archive store (`media_jobs`, one job per media reference, created in the
//! same transaction as its message). [`MediaWorkers`] claims due jobs at risk first (nearest to
//! the assumed retention edge first), runs at most `concurrency` downloads at once, each streamed
//! chunk by chunk from a [`MediaSource`](wecom_wire::MediaSource) into a
//! [`BlobWriter`](wecom_blob::BlobWriter), and records the results in batches.
//!
//! Invariants:
//! - nothing is published unverified: an object reaches `objects/` only when its size and md5
//!   match the message (an empty md5 is not checked); after `max_md5_attempts` mismatching
//!   downloads the last one goes to `quarantine/` and the job fails as `md5_mismatch` (or
//!   `size_mismatch`);
//! - every job ends in a recorded, explained state: done, failed-retryable with its next attempt,
//!   failed-permanent (an operator can retry), or expired — never dropped, never retried forever;
//! - media is given up only on WeCom's word: every job is attempted, whatever its age; only
//!   301048 (vendor SDK 10010) expires it. The retention window only orders the work;
//! - a storage that cannot take objects (disk full, no file descriptors) costs no attempt: the
//!   jobs are deferred, the pass stops starting downloads and logs one summary line;
//! - a cancelled or crashed download publishes nothing and logs no failure; its job is given back
//!   with its attempts unchanged and its `.part` removed (cancel) or queued again at the next
//!   start (crash);
//! - this crate knows no SQL, HTTP or file layout: it speaks the store, source and blob traits;
//! - store calls run on blocking threads; every task is owned by the dispatcher and joined.

mod job;
mod options;
mod workers;

pub use job::code;
pub use options::{DEFAULT_RETENTION, MediaOptions};
pub use workers::{
    MediaReport, MediaWorkerError, MediaWorkers, SharedStore, drain_media, run_media_workers,
};

/// Unix milliseconds now.
pub(crate) use wecom_wire::clock::now_ms;
