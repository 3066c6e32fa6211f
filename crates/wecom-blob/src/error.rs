//! Blob errors: one enum for every backend, with a [`BlobErrorKind`] callers can match on.
//!
//! Causes are kept as text so the trait stays backend-neutral; every message names the path, key or
//! endpoint it is about (never a credential) and includes the cause, because callers log errors with
//! `%error`, which prints only this message.

use std::io;
use std::path::Path;

/// What kind of failure a [`BlobError`] is, for callers that decide what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlobErrorKind {
    /// No space left on the device (or quota exceeded, or the object store says it is full).
    DiskFull,
    /// The process (EMFILE) or the system (ENFILE) has no file descriptor left: not the object's
    /// fault, and gone once descriptors are released or the limit is raised.
    NoDescriptors,
    /// Any other I/O failure of the local file system, or bytes damaged in transfer.
    Io,
    /// The bytes written were not as many as the caller expected; nothing was published.
    SizeMismatch,
    /// The MD5 of the bytes written differs from the one the caller expected; nothing was published
    /// under `objects/` (see [`OnMismatch::Quarantine`](crate::OnMismatch)).
    Md5Mismatch,
    /// The backend could not be reached or answered with a server-side or throttling error.
    Unavailable,
    /// The backend refused the request: credentials, permissions, missing bucket, bad request.
    /// Retrying will not help until an operator changes something.
    Rejected,
    /// No object under that address.
    NotFound,
    /// Stored data does not match its address, or the backend answered something unintelligible.
    Corrupt,
    /// The backend's configuration is invalid (endpoint, part size, root directory).
    Config,
}

/// An error of a [`BlobStore`](crate::BlobStore) or [`BlobWriter`](crate::BlobWriter) operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    #[error("disk full while {op} {location}: free space, then retry ({cause})")]
    DiskFull {
        location: String,
        op: &'static str,
        cause: String,
    },
    #[error(
        "no file descriptor left while {op} {location}: raise the open-files limit (`ulimit -n`, \
         LimitNOFILE=) or lower [media] concurrency, then retry ({cause})"
    )]
    NoDescriptors {
        location: String,
        op: &'static str,
        cause: String,
    },
    #[error("i/o error while {op} {location}: {cause}")]
    Io {
        location: String,
        op: &'static str,
        cause: String,
    },
    #[error("size mismatch: expected {expected} bytes, received {actual}; nothing was published")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error(
        "md5 mismatch: expected {expected}, computed {computed} (sha256 {sha256}); nothing was \
         published"
    )]
    Md5Mismatch {
        expected: String,
        computed: String,
        sha256: String,
    },
    #[error("{target} is unavailable while {op}: {cause}")]
    Unavailable {
        target: String,
        op: &'static str,
        cause: String,
    },
    #[error("{target} rejected {op}: {cause}")]
    Rejected {
        target: String,
        op: &'static str,
        cause: String,
    },
    #[error("no object {key}")]
    NotFound { key: String },
    #[error("{key} is corrupt: {cause}")]
    Corrupt { key: String, cause: String },
    #[error("invalid blob store configuration: {cause}")]
    Config { cause: String },
    /// A writer was used again after one of its operations had failed (and cleaned up).
    #[error("upload already failed and was cleaned up: {cause}")]
    AlreadyFailed { kind: BlobErrorKind, cause: String },
}

impl BlobError {
    pub fn kind(&self) -> BlobErrorKind {
        match self {
            BlobError::DiskFull { .. } => BlobErrorKind::DiskFull,
            BlobError::NoDescriptors { .. } => BlobErrorKind::NoDescriptors,
            BlobError::Io { .. } => BlobErrorKind::Io,
            BlobError::SizeMismatch { .. } => BlobErrorKind::SizeMismatch,
            BlobError::Md5Mismatch { .. } => BlobErrorKind::Md5Mismatch,
            BlobError::Unavailable { .. } => BlobErrorKind::Unavailable,
            BlobError::Rejected { .. } => BlobErrorKind::Rejected,
            BlobError::NotFound { .. } => BlobErrorKind::NotFound,
            BlobError::Corrupt { .. } => BlobErrorKind::Corrupt,
            BlobError::Config { .. } => BlobErrorKind::Config,
            BlobError::AlreadyFailed { kind, .. } => *kind,
        }
    }

    /// Whether the same upload, started again later, may succeed without an operator's help:
    /// a full disk frees up, a server comes back, a re-download gets intact bytes.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind(),
            BlobErrorKind::DiskFull
                | BlobErrorKind::NoDescriptors
                | BlobErrorKind::Io
                | BlobErrorKind::SizeMismatch
                | BlobErrorKind::Md5Mismatch
                | BlobErrorKind::Unavailable
        )
    }

    /// Maps a file-system error: `ENOSPC` and `EDQUOT` become [`BlobErrorKind::DiskFull`],
    /// `EMFILE` and `ENFILE` [`BlobErrorKind::NoDescriptors`], `ENOENT` on a read becomes [`BlobErrorKind::NotFound`] only where the caller says so.
    pub(crate) fn io(op: &'static str, path: &Path, error: &io::Error) -> BlobError {
        const ENOSPC: i32 = 28;
        const EDQUOT: i32 = 122;
        const ENFILE: i32 = 23;
        const EMFILE: i32 = 24;
        let full = error.kind() == io::ErrorKind::StorageFull
            || error.kind() == io::ErrorKind::QuotaExceeded
            || matches!(error.raw_os_error(), Some(ENOSPC | EDQUOT));
        if matches!(error.raw_os_error(), Some(EMFILE | ENFILE)) {
            BlobError::NoDescriptors {
                location: path.display().to_string(),
                op,
                cause: error.to_string(),
            }
        } else if full {
            BlobError::DiskFull {
                location: path.display().to_string(),
                op,
                cause: error.to_string(),
            }
        } else {
            BlobError::Io {
                location: path.display().to_string(),
                op,
                cause: error.to_string(),
            }
        }
    }

    /// The error to return from a writer that already failed with `self`.
    pub(crate) fn again(&self) -> BlobError {
        match self {
            BlobError::AlreadyFailed { kind, cause } => BlobError::AlreadyFailed {
                kind: *kind,
                cause: cause.clone(),
            },
            other => BlobError::AlreadyFailed {
                kind: other.kind(),
                cause: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_is_disk_full_and_retryable() {
        let e = BlobError::io(
            "writing",
            Path::new("/x/tmp/a.part"),
            &io::Error::from_raw_os_error(28),
        );
        assert_eq!(e.kind(), BlobErrorKind::DiskFull);
        assert!(e.is_retryable());
        assert!(
            e.to_string()
                .starts_with("disk full while writing /x/tmp/a.part")
        );
    }

    #[test]
    fn emfile_and_enfile_are_descriptor_exhaustion_and_retryable() {
        for errno in [23, 24] {
            let e = BlobError::io(
                "creating",
                Path::new("/x/tmp/a.part"),
                &io::Error::from_raw_os_error(errno),
            );
            assert_eq!(e.kind(), BlobErrorKind::NoDescriptors, "{errno}");
            assert!(e.is_retryable());
            assert!(e.to_string().contains("raise the open-files limit"), "{e}");
        }
    }

    #[test]
    fn rejected_is_not_retryable() {
        let e = BlobError::Rejected {
            target: "s3://b/p".into(),
            op: "uploading",
            cause: "access denied".into(),
        };
        assert!(!e.is_retryable());
        assert_eq!(e.again().kind(), BlobErrorKind::Rejected);
        assert_eq!(e.again().again().to_string(), e.again().to_string());
    }
}
