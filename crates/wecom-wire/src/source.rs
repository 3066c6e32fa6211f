//! The archive-source seam: where encrypted chat-data pages come from. The native HTTP client and the
//! vendor-library worker both implement it; the sync engine only sees this trait.

use std::fmt;
use std::future::Future;

use crate::{ChatDataItem, QuarantinedItem, SdkCode};

/// One page of encrypted records, in ascending `seq` order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatPage {
    pub items: Vec<ChatDataItem>,
    /// Items the server sent that could not be read; kept raw, they never fail the page.
    pub quarantined: Vec<QuarantinedItem>,
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
    /// The server answered more items than `limit` asked for: a protocol error, nothing of the
    /// page is kept.
    TooManyItems { limit: u32, got: usize },
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
            SourceErrorKind::InvalidResponse
            | SourceErrorKind::TooManyItems { .. }
            | SourceErrorKind::TooLarge { .. } => SdkCode::DataParse,
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
            SourceErrorKind::TooManyItems { limit, got } => write!(
                f,
                "the server answered {got} items for a limit of {limit}; the page was refused \
                 as a protocol error and nothing of it was stored: {message}"
            ),
        }
    }
}

impl ChatPage {
    /// The page of a split reply, refused when it holds more items than `limit` asked for.
    /// The error is retryable: a later answer may be well-formed.
    pub fn checked(reply: crate::ChatDataReply, limit: u32) -> Result<ChatPage, SourceError> {
        let got = reply.len();
        if got > limit as usize {
            return Err(SourceError::new(
                SourceErrorKind::TooManyItems { limit, got },
                true,
                "if it persists, report it to WeCom; the sync cannot go on past this page",
            ));
        }
        Ok(ChatPage {
            items: reply.items,
            quarantined: reply.quarantined,
        })
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
