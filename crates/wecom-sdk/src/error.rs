//! What can go wrong calling the vendor library through [`crate::SdkSource`]: the library's own
//! codes, the in-body errcode, and what the supervision adds (a crashed or hung worker, a crash
//! loop), each with the SDK code it stands for and whether a later attempt may succeed.

use std::fmt;

use wecom_wire::{MediaSinkError, SdkCode, SourceError, SourceErrorKind, errcode};

/// The kind of an [`SdkSourceError`], to match on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkErrorKind {
    /// The library returned this code (10000–10011). Retryable for 10001–10003.
    Sdk(SdkCode),
    /// GetChatData returned 0 but the body's `errcode` is not 0 (e.g. 48002: an app secret was
    /// configured instead of the 会话内容存档 secret). Retryable for -1 and 45009.
    Api { errcode: i64 },
    /// The library returned 0 with a body that is not the documented JSON, or a media chunk
    /// sequence that makes no progress. Retryable.
    InvalidResponse,
    /// Refused before reaching the library: a NUL byte, a non-ASCII sdkfileid, an sdkfileid the
    /// library would abort the process on, a `limit` outside 1..=1000.
    InvalidArgument,
    /// The library could not be loaded or initialised (the message says why in plain words).
    Library,
    /// The worker process died during the call (`signal` is the Unix signal that killed it, e.g.
    /// 6 for SIGABRT). Only this call failed; the next one starts a new worker. Retryable.
    WorkerCrashed { signal: Option<i32> },
    /// The call did not finish within the deadline; the worker was killed. Retryable.
    WorkerHung,
    /// Too many crashes and hangs recently: calls are refused until the oldest leave the window.
    CrashLoop,
    /// The worker could not be started, or broke the protocol.
    Worker,
    /// The media sink refused bytes; its error is [`SdkSourceError::into_sink_error`].
    Sink,
    /// The source was shut down.
    ShutDown,
}

/// An error of [`crate::SdkSource`].
#[derive(Debug)]
pub struct SdkSourceError {
    kind: SdkErrorKind,
    retryable: bool,
    message: String,
    /// Plaintext offset of the media chunk that failed (0 elsewhere).
    offset: u64,
    sink: Option<Box<MediaSinkError>>,
}

impl SdkSourceError {
    pub(crate) fn new(kind: SdkErrorKind, message: impl Into<String>) -> SdkSourceError {
        let retryable = match &kind {
            SdkErrorKind::Sdk(code) => code.is_retryable(),
            SdkErrorKind::Api { errcode } => {
                matches!(*errcode, errcode::SYSTEM_BUSY | errcode::RATE_LIMITED)
            }
            SdkErrorKind::InvalidResponse
            | SdkErrorKind::WorkerCrashed { .. }
            | SdkErrorKind::WorkerHung
            | SdkErrorKind::CrashLoop => true,
            SdkErrorKind::InvalidArgument
            | SdkErrorKind::Library
            | SdkErrorKind::Worker
            | SdkErrorKind::Sink
            | SdkErrorKind::ShutDown => false,
        };
        SdkSourceError {
            kind,
            retryable,
            message: message.into(),
            offset: 0,
            sink: None,
        }
    }

    pub(crate) fn with_retryable(mut self, retryable: bool) -> SdkSourceError {
        self.retryable = retryable;
        self
    }

    pub(crate) fn at(mut self, offset: u64) -> SdkSourceError {
        self.offset = offset;
        self
    }

    pub(crate) fn sink(error: MediaSinkError, offset: u64) -> SdkSourceError {
        let mut e = SdkSourceError::new(SdkErrorKind::Sink, error.to_string()).at(offset);
        e.sink = Some(Box::new(error));
        e
    }

    pub(crate) fn gave_up(mut self, attempts: u32) -> SdkSourceError {
        if self.retryable && attempts > 1 {
            self.message = format!("{} (gave up after {attempts} attempts)", self.message);
        }
        self
    }

    pub fn kind(&self) -> &SdkErrorKind {
        &self.kind
    }

    /// The SDK code this error stands for (a crash or hang is 10003 "system failure", a sink
    /// error `Other(0)`).
    pub fn sdk_code(&self) -> SdkCode {
        match &self.kind {
            SdkErrorKind::Sdk(code) => *code,
            SdkErrorKind::InvalidResponse => SdkCode::DataParse,
            SdkErrorKind::InvalidArgument => SdkCode::InvalidArgument,
            SdkErrorKind::WorkerHung => SdkCode::Network,
            SdkErrorKind::Api { .. }
            | SdkErrorKind::Library
            | SdkErrorKind::WorkerCrashed { .. }
            | SdkErrorKind::CrashLoop
            | SdkErrorKind::Worker
            | SdkErrorKind::ShutDown => SdkCode::System,
            SdkErrorKind::Sink => SdkCode::Other(0),
        }
    }

    /// Whether the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// For a media download: the plaintext offset of the chunk it stopped at.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The sink's own error, for [`SdkErrorKind::Sink`].
    pub fn into_sink_error(self) -> Option<MediaSinkError> {
        self.sink.map(|e| *e)
    }

    /// The error in the archive-source vocabulary.
    pub fn to_source_error(&self) -> SourceError {
        let kind = match &self.kind {
            SdkErrorKind::Sdk(code) => SourceErrorKind::Sdk(*code),
            SdkErrorKind::Api { errcode } => SourceErrorKind::Api { errcode: *errcode },
            SdkErrorKind::InvalidResponse => SourceErrorKind::InvalidResponse,
            SdkErrorKind::InvalidArgument => SourceErrorKind::InvalidArgument,
            SdkErrorKind::WorkerHung => SourceErrorKind::Timeout,
            SdkErrorKind::Library
            | SdkErrorKind::WorkerCrashed { .. }
            | SdkErrorKind::CrashLoop
            | SdkErrorKind::Worker
            | SdkErrorKind::Sink
            | SdkErrorKind::ShutDown => SourceErrorKind::Sdk(SdkCode::System),
        };
        SourceError::new(kind, self.retryable, self.to_string())
    }
}

impl From<SdkSourceError> for SourceError {
    fn from(e: SdkSourceError) -> SourceError {
        e.to_source_error()
    }
}

impl fmt::Display for SdkSourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            SdkErrorKind::Sdk(code) => format!("vendor library returned {code}"),
            SdkErrorKind::Api { errcode } => format!("wecom errcode {errcode}"),
            SdkErrorKind::InvalidResponse => "invalid response".to_owned(),
            SdkErrorKind::InvalidArgument => "invalid argument".to_owned(),
            SdkErrorKind::Library => "vendor library unusable".to_owned(),
            SdkErrorKind::WorkerCrashed { .. } => "vendor library worker crashed".to_owned(),
            SdkErrorKind::WorkerHung => "vendor library worker hung".to_owned(),
            SdkErrorKind::CrashLoop => "vendor library crash loop".to_owned(),
            SdkErrorKind::Worker => "vendor library worker failed".to_owned(),
            SdkErrorKind::Sink => "sink failed".to_owned(),
            SdkErrorKind::ShutDown => "sdk source shut down".to_owned(),
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl std::error::Error for SdkSourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.sink.as_deref().map(|s| s as _)
    }
}
