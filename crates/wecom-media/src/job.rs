//! One job: stream the object from the source into a blob writer, verify it against the message,
//! publish it, and say what the store should record. Touches no store: the dispatcher records.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};
use wecom_blob::{Area, BlobError, BlobErrorKind, BlobStore, BlobWriter, Expectations, OnMismatch};
use wecom_store::{
    MediaArea, MediaJob, MediaJobError, MediaJobOutcome, MediaJobResult, MediaObject,
};
use wecom_wire::{
    BoxFuture, MediaChunkSink, MediaFetchError, MediaFetchErrorKind, MediaFetched, MediaSinkError,
    MediaSource, file_hint,
};

use crate::MediaOptions;
use crate::now_ms;

/// Stable error codes recorded with a failed job (`MediaJobError::code`).
pub mod code {
    /// The bytes never matched the message's md5sum; the last download is in quarantine.
    pub const MD5_MISMATCH: &str = "md5_mismatch";
    /// The bytes never matched the message's size field; the last download is in quarantine.
    pub const SIZE_MISMATCH: &str = "size_mismatch";
    /// WeCom answered 301048 (vendor SDK 10010): past its retention. The only way a job expires.
    pub const EXPIRED: &str = "expired";
    /// Recorded by earlier versions, which expired jobs by the clock without asking WeCom; such
    /// jobs are queued again when the workers start. Never recorded now.
    pub const RETENTION_WINDOW: &str = "retention_window";
    pub const INVALID_SDKFILEID: &str = "invalid_sdkfileid";
    pub const IP_NOT_ALLOWED: &str = "ip_not_allowed";
    pub const UNKNOWN_FILEID: &str = "unknown_fileid";
    pub const DISK_FULL: &str = "disk_full";
    /// The process or system had no file descriptor left (EMFILE/ENFILE); deferred, not charged.
    pub const NO_DESCRIPTORS: &str = "no_descriptors";
    pub const STORAGE_UNAVAILABLE: &str = "storage_unavailable";
    pub const STORAGE_ERROR: &str = "storage_error";
    pub const STORAGE_REJECTED: &str = "storage_rejected";
    /// The worker task died (a bug); retried.
    pub const INTERNAL: &str = "internal";
}

/// What the workers share.
pub(crate) struct Ctx {
    pub(crate) source: Arc<dyn MediaSource>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) opts: MediaOptions,
    pub(crate) backend: &'static str,
    /// Where the blob store keeps objects (folder or bucket), for operators.
    pub(crate) location: String,
}

/// A job's result plus what the report counts.
pub(crate) struct Processed {
    pub(crate) result: MediaJobResult,
    pub(crate) bytes: u64,
    pub(crate) deduplicated: bool,
    pub(crate) chunk_retries: u64,
    /// Why the storage could not take the job (disk full, no descriptors), when deferred.
    pub(crate) deferred: Option<MediaJobError>,
}

/// The sink the source writes into: the blob writer, keeping the blob error that stopped it.
struct BlobSink {
    writer: Option<Box<dyn BlobWriter>>,
    failed: Option<BlobError>,
    received: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
}

impl MediaChunkSink for BlobSink {
    fn write<'a>(&'a mut self, plaintext: &'a [u8]) -> BoxFuture<'a, Result<(), MediaSinkError>> {
        Box::pin(async move {
            let Some(writer) = self.writer.as_mut() else {
                return Err(MediaSinkError::new("the upload was already closed"));
            };
            match writer.write_chunk(plaintext).await {
                Ok(()) => {
                    if let Some(r) = &self.received {
                        r.fetch_add(plaintext.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(())
                }
                Err(e) => {
                    let message = e.to_string();
                    self.failed = Some(e);
                    Err(MediaSinkError::new(message))
                }
            }
        })
    }
}

impl BlobSink {
    /// Discards the upload (nothing is published); a writer that failed already cleaned up.
    async fn abort(&mut self) {
        if let Some(writer) = self.writer.take()
            && let Err(e) = writer.abort().await
            && self.failed.is_none()
        {
            warn!(error = %e, "discarding a partial upload failed");
        }
    }
}

/// How one whole-object attempt ended.
enum Attempt {
    Stored(wecom_blob::StoredObject, MediaFetched),
    /// Md5 or size differed; nothing was published (`Reject`).
    Mismatch(BlobError),
    Failed(Failure),
    Cancelled,
}

/// A failure classified for the record.
struct Failure {
    code: String,
    message: String,
    kind: FailureKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The media storage cannot take any object now (disk full, no descriptors): the job is
    /// deferred without an attempt counted, and the dispatcher stops starting downloads.
    Deferred,
    Transient,
    Permanent,
    Expired,
}

pub(crate) async fn process(ctx: Arc<Ctx>, job: MediaJob, cancel: CancellationToken) -> Processed {
    let hint = file_hint(&job.sdkfileid);
    let md5 = job.md5_expected.trim();
    let mut mismatches = 0u32;
    let mut chunk_retries = 0u64;
    let result = |outcome, mismatches| MediaJobResult {
        job_id: job.id,
        outcome,
        md5_mismatches: mismatches,
    };
    loop {
        let last = job.md5_mismatches + mismatches + 1 >= ctx.opts.max_md5_attempts;
        let expect = Expectations {
            size: job.size_expected,
            md5: (!md5.is_empty()).then(|| md5.to_owned()),
            on_mismatch: if last {
                OnMismatch::Quarantine
            } else {
                OnMismatch::Reject
            },
        };
        match attempt(&ctx, &job, expect, &cancel).await {
            Attempt::Stored(stored, fetched) => {
                chunk_retries += u64::from(fetched.retries);
                let object = MediaObject {
                    sha256: stored.sha256.to_string(),
                    size: stored.size,
                    md5: stored.md5.clone(),
                    content_type: stored.content_type.to_owned(),
                    backend: ctx.backend.to_owned(),
                    key: stored.key.clone(),
                    area: match stored.area {
                        Area::Objects => MediaArea::Objects,
                        Area::Quarantine => MediaArea::Quarantine,
                    },
                };
                let bytes = stored.size;
                let outcome = if stored.area == Area::Objects {
                    debug!(file = %hint, sha256 = %object.sha256,
                        size = bytes, content_type = %object.content_type, "media stored");
                    MediaJobOutcome::Done(object)
                } else {
                    mismatches += 1;
                    let error = mismatch_error(&job, &stored, mismatches + job.md5_mismatches);
                    error!(file = %hint, sha256 = %object.sha256,
                        error = %error.message, "media never matched its message; bytes kept in quarantine");
                    MediaJobOutcome::Permanent {
                        error,
                        quarantined: Some(object),
                    }
                };
                return Processed {
                    result: result(outcome, mismatches),
                    bytes,
                    deduplicated: stored.deduplicated,
                    chunk_retries,
                    deferred: None,
                };
            }
            Attempt::Mismatch(e) => {
                mismatches += 1;
                warn!(file = %hint, error = %e,
                    attempt = job.md5_mismatches + mismatches, "media differs from its message; downloading it again");
            }
            // A failure that ends while the run is being cancelled may be the cancellation's
            // doing (a source shut down, a connection closed): the job is given back, not charged.
            Attempt::Failed(_) if cancel.is_cancelled() => {
                debug!(file = %hint, "media download cancelled");
                return Processed {
                    result: result(MediaJobOutcome::Released, mismatches),
                    bytes: 0,
                    deduplicated: false,
                    chunk_retries,
                    deferred: None,
                };
            }
            Attempt::Failed(failure) if failure.kind == FailureKind::Deferred => {
                // One summary line per pass comes from the dispatcher, not one per job.
                debug!(file = %hint, code = %failure.code, error = %failure.message,
                    "media download deferred: the storage cannot take it now");
                let error = MediaJobError {
                    code: failure.code,
                    message: failure.message,
                };
                return Processed {
                    result: result(
                        MediaJobOutcome::Deferred {
                            next_attempt_at_ms: now_ms(),
                            error: error.clone(),
                        },
                        mismatches,
                    ),
                    bytes: 0,
                    deduplicated: false,
                    chunk_retries,
                    deferred: Some(error),
                };
            }
            Attempt::Failed(failure) => {
                let attempts = job.attempts + 1;
                let error = MediaJobError {
                    code: failure.code,
                    message: failure.message,
                };
                let outcome = match failure.kind {
                    FailureKind::Transient if attempts < ctx.opts.max_attempts => {
                        let delay = ctx.opts.backoff(attempts);
                        let next = now_ms()
                            .saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
                        warn!(file = %hint, code = %error.code,
                            error = %error.message, attempts, retry_in_ms = delay.as_millis() as u64,
                            "media download failed; will retry");
                        MediaJobOutcome::Retry {
                            next_attempt_at_ms: next,
                            error,
                        }
                    }
                    FailureKind::Transient => {
                        let error = MediaJobError {
                            message: format!(
                                "gave up after {attempts} attempts: {}",
                                error.message
                            ),
                            code: error.code,
                        };
                        error!(file = %hint, code = %error.code,
                            error = %error.message, "media download failed for good");
                        MediaJobOutcome::Permanent {
                            error,
                            quarantined: None,
                        }
                    }
                    FailureKind::Permanent => {
                        error!(file = %hint, code = %error.code,
                            error = %error.message, "media download failed for good");
                        MediaJobOutcome::Permanent {
                            error,
                            quarantined: None,
                        }
                    }
                    // Handled above with the dispatcher's summary; kept exact all the same.
                    FailureKind::Deferred => MediaJobOutcome::Deferred {
                        next_attempt_at_ms: now_ms(),
                        error,
                    },
                    FailureKind::Expired => {
                        warn!(file = %hint,
                            error = %error.message, "media expired before it was downloaded");
                        MediaJobOutcome::Expired { error }
                    }
                };
                return Processed {
                    result: result(outcome, mismatches),
                    bytes: 0,
                    deduplicated: false,
                    chunk_retries,
                    deferred: None,
                };
            }
            Attempt::Cancelled => {
                debug!(file = %hint, "media download cancelled");
                return Processed {
                    result: result(MediaJobOutcome::Released, mismatches),
                    bytes: 0,
                    deduplicated: false,
                    chunk_retries,
                    deferred: None,
                };
            }
        }
    }
}

/// One whole-object download into a fresh upload.
async fn attempt(
    ctx: &Ctx,
    job: &MediaJob,
    expect: Expectations,
    cancel: &CancellationToken,
) -> Attempt {
    let writer = tokio::select! {
        biased;
        () = cancel.cancelled() => return Attempt::Cancelled,
        w = ctx.blobs.begin() => w,
    };
    let writer = match writer {
        Ok(w) => w,
        Err(e) => return Attempt::Failed(blob_failure(&e)),
    };
    let mut sink = BlobSink {
        writer: Some(writer),
        failed: None,
        received: ctx.opts.received_bytes.clone(),
    };
    let fetched = {
        let download = ctx.source.download(&job.sdkfileid, &mut sink);
        tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            r = download => Some(r),
        }
    };
    let fetched = match fetched {
        None => {
            sink.abort().await;
            return Attempt::Cancelled;
        }
        Some(Ok(f)) => f,
        Some(Err(e)) => {
            sink.abort().await;
            return Attempt::Failed(match sink.failed.take() {
                Some(blob) if e.kind == MediaFetchErrorKind::Sink => blob_failure(&blob),
                _ => fetch_failure(&e),
            });
        }
    };
    let Some(writer) = sink.writer.take() else {
        return Attempt::Failed(Failure {
            code: code::INTERNAL.into(),
            message: "the upload was closed before it finished".into(),
            kind: FailureKind::Transient,
        });
    };
    // Publishing is short (a rename, or a copy on S3) and must not be cut in half by a
    // cancellation: a dropped finish publishes nothing, but the bytes would be downloaded again.
    match writer.finish(expect).await {
        Ok(stored) => Attempt::Stored(stored, fetched),
        Err(e)
            if matches!(
                e.kind(),
                BlobErrorKind::Md5Mismatch | BlobErrorKind::SizeMismatch
            ) =>
        {
            Attempt::Mismatch(e)
        }
        Err(e) => Attempt::Failed(blob_failure(&e)),
    }
}

fn fetch_failure(e: &MediaFetchError) -> Failure {
    let (code, kind) = match e.kind {
        MediaFetchErrorKind::Expired => (code::EXPIRED.to_owned(), FailureKind::Expired),
        MediaFetchErrorKind::InvalidFileId => {
            (code::INVALID_SDKFILEID.to_owned(), FailureKind::Permanent)
        }
        MediaFetchErrorKind::IpNotAllowed => {
            (code::IP_NOT_ALLOWED.to_owned(), FailureKind::Permanent)
        }
        MediaFetchErrorKind::UnknownFileId => {
            (code::UNKNOWN_FILEID.to_owned(), FailureKind::Permanent)
        }
        other => (
            other.label().to_owned(),
            if e.retryable {
                FailureKind::Transient
            } else {
                FailureKind::Permanent
            },
        ),
    };
    Failure {
        code,
        message: format!("{} [sdk code {}]", e.message, e.code.code()),
        kind,
    }
}

fn blob_failure(e: &BlobError) -> Failure {
    if matches!(
        e.kind(),
        BlobErrorKind::DiskFull | BlobErrorKind::NoDescriptors
    ) {
        return Failure {
            code: if e.kind() == BlobErrorKind::DiskFull {
                code::DISK_FULL
            } else {
                code::NO_DESCRIPTORS
            }
            .to_owned(),
            message: e.to_string(),
            kind: FailureKind::Deferred,
        };
    }
    let code = match e.kind() {
        BlobErrorKind::Unavailable => code::STORAGE_UNAVAILABLE,
        BlobErrorKind::Rejected | BlobErrorKind::Config => code::STORAGE_REJECTED,
        _ => code::STORAGE_ERROR,
    };
    Failure {
        code: code.to_owned(),
        message: e.to_string(),
        kind: if e.is_retryable() {
            FailureKind::Transient
        } else {
            FailureKind::Permanent
        },
    }
}

fn mismatch_error(
    job: &MediaJob,
    stored: &wecom_blob::StoredObject,
    downloads: u32,
) -> MediaJobError {
    match job.size_expected {
        Some(size) if size != stored.size => MediaJobError {
            code: code::SIZE_MISMATCH.into(),
            message: format!(
                "{downloads} downloads, none of the size the message states: {} bytes received, \
                 {size} expected; the last download is kept in quarantine as {}",
                stored.size, stored.key
            ),
        },
        _ => MediaJobError {
            code: code::MD5_MISMATCH.into(),
            message: format!(
                "{downloads} downloads, none with the md5 the message states: md5 as sent {}, as \
                 computed {}; the last download is kept in quarantine as {}",
                job.md5_expected.trim(),
                stored.md5,
                stored.key
            ),
        },
    }
}
