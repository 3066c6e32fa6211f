//! The media download queue in our own terms: one job per media reference of a stored message,
//! and the objects the workers stored. Backend-neutral, like the rest of the trait.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Where a media job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaJobState {
    /// Waiting for a worker (new, given back, or queued again by an operator).
    Pending,
    /// Claimed by a worker. Left so by a crash until the next start requeues it.
    Downloading,
    /// Verified and stored.
    Done,
    /// Failed transiently; due again at `next_attempt_at_ms`.
    FailedRetryable,
    /// Failed for good until an operator retries it; `last_error` says why.
    FailedPermanent,
    /// WeCom answered that it no longer serves the object (301048, vendor SDK 10010). Never set
    /// by the clock.
    Expired,
}

impl MediaJobState {
    pub const ALL: [MediaJobState; 6] = [
        MediaJobState::Pending,
        MediaJobState::Downloading,
        MediaJobState::Done,
        MediaJobState::FailedRetryable,
        MediaJobState::FailedPermanent,
        MediaJobState::Expired,
    ];

    /// A stable lowercase name, for storage and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaJobState::Pending => "pending",
            MediaJobState::Downloading => "downloading",
            MediaJobState::Done => "done",
            MediaJobState::FailedRetryable => "failed_retryable",
            MediaJobState::FailedPermanent => "failed_permanent",
            MediaJobState::Expired => "expired",
        }
    }
}

impl fmt::Display for MediaJobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of the [`MediaJobState`] names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown media job state {0:?}")]
pub struct UnknownMediaJobState(pub String);

impl FromStr for MediaJobState {
    type Err = UnknownMediaJobState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MediaJobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownMediaJobState(s.chars().take(40).collect()))
    }
}

/// One media reference of a stored message, and how its download stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaJob {
    pub id: i64,
    pub msgid: String,
    /// Where in the message ([`wecom_model::MediaRef::path`]): `image`, `chatrecord.item[2]`, …
    pub path: String,
    pub sdkfileid: String,
    /// [`wecom_model::MediaKind::as_str`].
    pub kind: String,
    pub extension: String,
    /// The md5sum as the message states it; empty when it has none (not checked).
    pub md5_expected: String,
    /// The message's size field, when it has one.
    pub size_expected: Option<u64>,
    /// The message's time: the deadline basis (WeCom keeps media for a few days).
    pub msgtime_ms: i64,
    pub state: MediaJobState,
    /// Attempts that ended with a result (a cancelled attempt does not count).
    pub attempts: u32,
    /// Whole-object downloads whose md5 or size differed from the message's.
    pub md5_mismatches: u32,
    /// A stable code for the last failure (`md5_mismatch`, `disk_full`, `expired`, …).
    pub error_code: Option<String>,
    /// The last failure, explained.
    pub last_error: Option<String>,
    pub next_attempt_at_ms: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The stored object: in `objects` when done, in `quarantine` after a final mismatch.
    pub sha256: Option<String>,
}

/// Where an object is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaArea {
    /// Verified media.
    Objects,
    /// Bytes that never matched their message, kept for inspection.
    Quarantine,
}

impl MediaArea {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaArea::Objects => "objects",
            MediaArea::Quarantine => "quarantine",
        }
    }
}

/// A stored object, as the archive records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaObject {
    /// Lowercase hex.
    pub sha256: String,
    pub size: u64,
    /// Lowercase hex md5 of the bytes, as computed (the job keeps the one the message sent).
    pub md5: String,
    /// Sniffed from the first bytes (`image/jpeg`, …, `application/octet-stream`).
    pub content_type: String,
    /// The blob backend: `fs` or `s3`.
    pub backend: String,
    /// The backend's key (path below the root, or S3 object key).
    pub key: String,
    pub area: MediaArea,
}

/// A job's failure: a stable code and an explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaJobError {
    pub code: String,
    pub message: String,
}

/// How one claimed job ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaJobOutcome {
    /// Verified and stored: the job is done and the object recorded.
    Done(MediaObject),
    /// Failed transiently; due again at `next_attempt_at_ms`.
    Retry {
        next_attempt_at_ms: i64,
        error: MediaJobError,
    },
    /// Failed for good (until an operator retries). `quarantined` is the bytes kept for inspection
    /// after a final mismatch; they are recorded too.
    Permanent {
        error: MediaJobError,
        quarantined: Option<MediaObject>,
    },
    /// Not the job's fault: the media storage could not take it (disk full, no file descriptor
    /// left). `failed_retryable`, due again at `next_attempt_at_ms`, and no attempt counted, so
    /// a long storage outage never uses up a job's budget.
    Deferred {
        next_attempt_at_ms: i64,
        error: MediaJobError,
    },
    /// WeCom no longer serves the object (its own answer: 301048 / SDK 10010).
    Expired { error: MediaJobError },
    /// Given back unattempted (a cancelled download): pending again, no attempt counted.
    Released,
}

/// The result of one claimed job, for [`MediaQueue::record_media_results`](crate::MediaQueue::record_media_results).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaJobResult {
    pub job_id: i64,
    pub outcome: MediaJobOutcome,
    /// Mismatching whole-object downloads during this attempt, added to the job's count.
    pub md5_mismatches: u32,
}

/// A message's media: each job with its stored object, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMedia {
    pub job: MediaJob,
    /// The object the job's `sha256` names (in `objects` or `quarantine`).
    pub object: Option<MediaObject>,
}

/// Counts over one corp's media queue and objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaStats {
    /// Jobs in all.
    pub total: u64,
    pub pending: u64,
    pub downloading: u64,
    pub done: u64,
    pub failed_retryable: u64,
    pub failed_permanent: u64,
    pub expired: u64,
    /// Failed and expired jobs by error code.
    pub failed_by_code: BTreeMap<String, u64>,
    /// Distinct verified objects and their bytes.
    pub objects: u64,
    pub bytes: u64,
    /// Distinct quarantined objects and their bytes.
    pub quarantined_objects: u64,
    pub quarantined_bytes: u64,
    /// The oldest message time among jobs not finished (pending, downloading, failed-retryable):
    /// how close the queue is to the retention deadline.
    pub oldest_pending_msgtime_ms: Option<i64>,
    /// When the next failed-retryable job is due.
    pub next_attempt_at_ms: Option<i64>,
}

impl MediaStats {
    /// The count of jobs in `state`.
    pub fn count(&self, state: MediaJobState) -> u64 {
        match state {
            MediaJobState::Pending => self.pending,
            MediaJobState::Downloading => self.downloading,
            MediaJobState::Done => self.done,
            MediaJobState::FailedRetryable => self.failed_retryable,
            MediaJobState::FailedPermanent => self.failed_permanent,
            MediaJobState::Expired => self.expired,
        }
    }
}
