//! The media-source seam: where a media object's plaintext comes from, one chunk at a time. The
//! native HTTP client implements it today and the vendor-library worker can tomorrow; the media
//! workers only see this trait.
//!
//! The trait returns boxed futures rather than using `async fn` so that it stays dyn-compatible:
//! the binary picks a source from its configuration and hands the workers one
//! `Arc<dyn MediaSource>`. One allocation per object or chunk is negligible next to the network
//! round trip behind it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::SdkCode;

/// A boxed, sendable future, as the media traits return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Receives an object's plaintext in order, one chunk (at most 512 KiB) at a time: the one media
/// sink of the project, used by every source (the native client, the vendor library) and handed
/// in by every caller (the media workers' blob sink, tests, tools). An error stops the download;
/// whatever the sink already holds is then a prefix to discard.
pub trait MediaChunkSink: Send {
    fn write<'a>(&'a mut self, plaintext: &'a [u8]) -> BoxFuture<'a, Result<(), MediaSinkError>>;
}

/// Why a [`MediaChunkSink`] refused a chunk: a message, and the sink's own error when it gave
/// one ([`MediaSinkError::from_error`]), for the caller to read back (downcast) after the
/// download failed.
#[derive(Debug)]
pub struct MediaSinkError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl MediaSinkError {
    /// A refusal that carries only its text.
    pub fn new(message: impl Into<String>) -> MediaSinkError {
        MediaSinkError {
            message: message.into(),
            source: None,
        }
    }

    /// A refusal carrying the sink's own error (its text is the message).
    pub fn from_error(
        error: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> MediaSinkError {
        let error = error.into();
        MediaSinkError {
            message: error.to_string(),
            source: Some(error),
        }
    }

    /// What the sink said.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The sink's own error, when it gave one.
    pub fn into_source(self) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        self.source
    }
}

impl From<std::io::Error> for MediaSinkError {
    fn from(e: std::io::Error) -> MediaSinkError {
        MediaSinkError::from_error(e)
    }
}

impl fmt::Display for MediaSinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MediaSinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|s| &**s as _)
    }
}

/// Collects the object in memory (small objects, tests).
impl MediaChunkSink for Vec<u8> {
    fn write<'a>(&'a mut self, plaintext: &'a [u8]) -> BoxFuture<'a, Result<(), MediaSinkError>> {
        self.extend_from_slice(plaintext);
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A finished download, as the source saw it. Comparing it with the message is the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFetched {
    /// Bytes handed to the sink: the object's size.
    pub plaintext_len: u64,
    /// Lowercase hex md5 of the plaintext.
    pub md5: String,
    /// Chunks received.
    pub chunks: u32,
    /// Chunk requests that failed and were repeated inside the source.
    pub retries: u32,
}

/// What went wrong downloading an object, in terms the media workers act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaFetchErrorKind {
    /// The sdkfileid is empty, not base64, not the protobuf, or its aeskey is missing or not hex.
    /// Refused before any request.
    InvalidFileId,
    /// errcode 301042: this machine's IP is not in the archive's trusted IP list.
    IpNotAllowed,
    /// errcode 301048: the object is past WeCom's retention.
    Expired,
    /// errcode 301010: no such fileid, or its authkey is wrong.
    UnknownFileId,
    /// Any other WeCom errcode (e.g. -1 busy, 45009 rate limited, 40001 wrong secret).
    Api { errcode: i64 },
    /// A non-2xx HTTP status.
    HttpStatus(u16),
    /// The answer breaks the protocol: body not JSON, content missing, a wrong CONTENT-RANGE.
    BadResponse,
    /// The object cannot be decrypted (bad padding: usually a wrong aeskey).
    Decrypt,
    /// Connection refused or reset, DNS, TLS, a truncated body.
    Network,
    /// The request did not complete in time.
    Timeout,
    /// The sink refused the bytes; the sink knows why.
    Sink,
}

impl MediaFetchErrorKind {
    /// A stable lowercase label, for records, metrics and reports.
    pub fn label(self) -> &'static str {
        match self {
            MediaFetchErrorKind::InvalidFileId => "invalid_sdkfileid",
            MediaFetchErrorKind::IpNotAllowed => "ip_not_allowed",
            MediaFetchErrorKind::Expired => "expired",
            MediaFetchErrorKind::UnknownFileId => "unknown_fileid",
            MediaFetchErrorKind::Api { .. } => "api_error",
            MediaFetchErrorKind::HttpStatus(_) => "http_status",
            MediaFetchErrorKind::BadResponse => "bad_response",
            MediaFetchErrorKind::Decrypt => "decrypt",
            MediaFetchErrorKind::Network => "network",
            MediaFetchErrorKind::Timeout => "timeout",
            MediaFetchErrorKind::Sink => "sink",
        }
    }
}

/// An error from a [`MediaSource`]. `retryable` says whether downloading the object again later
/// may succeed; the source has already spent its own per-chunk retries. The message names the
/// object only by a short hint, never by its whole sdkfileid (which grants access to it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", crate::text::Escaped(message))]
pub struct MediaFetchError {
    pub kind: MediaFetchErrorKind,
    pub retryable: bool,
    /// The vendor library's code for the same situation (10000–10010), `Other(0)` for a sink
    /// error.
    pub code: SdkCode,
    pub message: String,
}

impl MediaFetchError {
    pub fn new(
        kind: MediaFetchErrorKind,
        retryable: bool,
        code: SdkCode,
        message: impl Into<String>,
    ) -> MediaFetchError {
        MediaFetchError {
            kind,
            retryable,
            code,
            // Stored with the job and shown by `media`: keep terminals safe.
            message: crate::text::escape_controls(&message.into()).into_owned(),
        }
    }
}

/// Where media objects come from. Implementations stream the plaintext into the sink chunk by
/// chunk (memory: one chunk), retry a failed chunk themselves, and return an error only when that
/// budget is spent or the failure is final.
pub trait MediaSource: Send + Sync {
    /// Downloads the object named by `sdkfileid` into `sink`. On error the sink may hold a prefix
    /// of the object: discard it.
    fn download<'a>(
        &'a self,
        sdkfileid: &'a str,
        sink: &'a mut dyn MediaChunkSink,
    ) -> BoxFuture<'a, Result<MediaFetched, MediaFetchError>>;
}

impl<T: MediaSource + ?Sized> MediaSource for std::sync::Arc<T> {
    fn download<'a>(
        &'a self,
        sdkfileid: &'a str,
        sink: &'a mut dyn MediaChunkSink,
    ) -> BoxFuture<'a, Result<MediaFetched, MediaFetchError>> {
        (**self).download(sdkfileid, sink)
    }
}

/// How an sdkfileid appears in messages and logs: a short prefix and the length, never the whole
/// handle.
pub fn file_hint(sdkfileid: &str) -> String {
    let prefix: String = sdkfileid.chars().take(8).collect();
    format!("{prefix}…({} chars)", sdkfileid.len())
}

impl fmt::Display for MediaFetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes in {} chunks (md5 {}, {} chunk retries)",
            self.plaintext_len, self.chunks, self.md5, self.retries
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_never_show_the_whole_sdkfileid() {
        let id = "CiwzMDY5MDIwMTAyMDQ2MjMwNjAyMDEwMDAyMDQ0ZmZmZmZm";
        assert_eq!(file_hint(id), format!("CiwzMDY5…({} chars)", id.len()));
        assert_eq!(file_hint("数据"), "数据…(6 chars)");
    }

    /// The workers hold `Arc<dyn MediaSource>` and hand out `&mut dyn MediaChunkSink`.
    #[test]
    fn the_traits_are_dyn_compatible() {
        fn takes(_: Option<&dyn MediaSource>, _: Option<&mut dyn MediaChunkSink>) {}
        takes(None, None);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("disk full")]
    struct DiskFull;

    #[test]
    fn a_sink_error_keeps_the_sinks_own_error() {
        let e = MediaSinkError::from_error(DiskFull);
        assert_eq!(e.to_string(), "disk full");
        assert!(std::error::Error::source(&e).is_some());
        let own = e.into_source().expect("source");
        assert!(own.downcast::<DiskFull>().is_ok());
        let text = MediaSinkError::new("closed");
        assert_eq!(text.message(), "closed");
        assert!(text.into_source().is_none());
    }

    #[test]
    fn labels_are_stable() {
        assert_eq!(MediaFetchErrorKind::Expired.label(), "expired");
        assert_eq!(
            MediaFetchErrorKind::Api { errcode: -1 }.label(),
            "api_error"
        );
    }
}
