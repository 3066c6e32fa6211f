//! The archive-source seam: where encrypted chat-data pages come from. The native HTTP client and the
//! vendor-library worker both implement it; the sync engine only sees this trait.

use std::fmt;
use std::future::Future;

use crate::{ChatDataItem, SdkCode};

/// One page of encrypted records, in ascending `seq` order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatPage {
    pub items: Vec<ChatDataItem>,
}

/// What went wrong fetching from a source, in terms the sync engine can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceErrorKind {
    /// Connection refused/reset, DNS, TLS, truncated body.
    Network,
    /// The request did not complete in time.
    Timeout,
    /// A non-2xx HTTP status.
    HttpStatus(u16),
    /// The body was not the JSON shape expected.
    InvalidResponse,
    /// WeCom answered with a non-zero `errcode`.
    Api { errcode: i64 },
    /// A return code of the vendor library (or its native equivalent).
    Sdk(SdkCode),
    /// The caller asked for something the source refuses before any I/O (e.g. limit out of range).
    InvalidArgument,
    /// The answer (announced or read) is larger than the configured cap on response bodies; it
    /// was not read further. Nothing of it is used.
    TooLarge { limit_bytes: u64 },
}

/// An error from an [`ArchiveSource`]; `retryable` says whether a later attempt may succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SourceError {
    pub kind: SourceErrorKind,
    pub retryable: bool,
    pub message: String,
}

impl SourceError {
    pub fn new(kind: SourceErrorKind, retryable: bool, message: impl Into<String>) -> SourceError {
        SourceError {
            kind,
            retryable,
            // The message often quotes the server (errmsg): keep terminals and logs safe.
            message: crate::text::escape_controls(&message.into()).into_owned(),
        }
    }

    /// The SDK-style code closest to this error, for reports.
    pub fn sdk_code(&self) -> SdkCode {
        match &self.kind {
            SourceErrorKind::Network
            | SourceErrorKind::Timeout
            | SourceErrorKind::HttpStatus(_) => SdkCode::Network,
            SourceErrorKind::InvalidResponse | SourceErrorKind::TooLarge { .. } => {
                SdkCode::DataParse
            }
            SourceErrorKind::Api { .. } => SdkCode::System,
            SourceErrorKind::Sdk(code) => *code,
            SourceErrorKind::InvalidArgument => SdkCode::InvalidArgument,
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `message` is a public field: escape again in case it was set after `new`.
        let message = crate::text::Escaped(&self.message);
        match &self.kind {
            SourceErrorKind::Network => write!(f, "network error: {message}"),
            SourceErrorKind::Timeout => write!(f, "timed out: {message}"),
            SourceErrorKind::HttpStatus(s) => write!(f, "http status {s}: {message}"),
            SourceErrorKind::InvalidResponse => write!(f, "invalid response: {message}"),
            SourceErrorKind::Api { errcode } => {
                write!(f, "wecom errcode {errcode}: {message}")
            }
            SourceErrorKind::Sdk(code) => write!(f, "sdk error {code}: {message}"),
            SourceErrorKind::InvalidArgument => write!(f, "invalid argument: {message}"),
            SourceErrorKind::TooLarge { .. } => write!(f, "response too large: {message}"),
        }
    }
}

/// Where encrypted chat data comes from. Implementations retry transient failures themselves and
/// return an error only when their retry budget is spent or the failure is permanent.
pub trait ArchiveSource: Send + Sync {
    /// Records with `seq > after_seq`, at most `limit` (1..=1000) of them.
    fn fetch_page(
        &self,
        after_seq: u64,
        limit: u32,
    ) -> impl Future<Output = Result<ChatPage, SourceError>> + Send;
}
