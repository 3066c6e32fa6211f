//! What can go wrong downloading a media object, with the vendor SDK code each case corresponds to
//! and whether trying again later may help.

use std::fmt;

use wecom_wire::{MediaSinkError, SdkCode, SourceError, SourceErrorKind};

/// The kind of a [`MediaError`], to match on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaErrorKind {
    /// The sdkfileid is empty (10000), not base64 or not the protobuf (10005), or its aeskey is
    /// missing or not hex (10006). Refused before any request.
    InvalidFileId,
    /// errcode 301042: this machine's IP is not in the archive's trusted IP list (10009).
    IpNotAllowed,
    /// errcode 301048: the object is past its retention (10010).
    Expired,
    /// Any other errcode (10002), e.g. 301010 unknown fileid, 40001 wrong secret while fetching
    /// the token. Retryable only for -1 (system busy) and 45009 (rate limited).
    Api { errcode: i64 },
    /// A non-2xx HTTP status (10001); retryable for 5xx, 408 and 429.
    HttpStatus(u16),
    /// The answer is not what the protocol promises (10003): body not JSON or too large,
    /// `content` missing or not base64, CONTENT-RANGE missing, malformed or not the range asked
    /// for, a content length that disagrees with it. Retryable.
    BadResponse,
    /// The object cannot be decrypted (10006): a total ciphertext length that is not a positive
    /// multiple of 16, or bad PKCS#7 padding on the last block (usually a wrong aeskey).
    Decrypt,
    /// Connection refused or reset, DNS, TLS, a truncated body (10001). Retryable.
    Network,
    /// The request did not complete in time (10001). Retryable.
    Timeout,
    /// The sink refused the bytes; the download stopped there. The sink's error is the
    /// [`std::error::Error::source`] of the [`MediaError`].
    Sink,
}

/// A failed media download. Whatever the error, the sink may already hold a prefix of the object
/// and must be discarded.
#[derive(Debug)]
pub struct MediaError {
    kind: MediaErrorKind,
    code: SdkCode,
    retryable: bool,
    message: String,
    /// Ciphertext offset of the chunk being fetched.
    offset: u64,
    /// How the object is named in messages: never the whole sdkfileid.
    file: String,
    sink: Option<Box<MediaSinkError>>,
}

impl MediaError {
    pub(crate) fn new(kind: MediaErrorKind, message: impl Into<String>) -> MediaError {
        let (code, retryable) = match &kind {
            MediaErrorKind::InvalidFileId => (SdkCode::FileId, false),
            MediaErrorKind::IpNotAllowed => (SdkCode::IpNotAllowed, false),
            MediaErrorKind::Expired => (SdkCode::Expired, false),
            MediaErrorKind::Api { errcode } => (
                SdkCode::DataParse,
                matches!(
                    *errcode,
                    wecom_wire::errcode::SYSTEM_BUSY | wecom_wire::errcode::RATE_LIMITED
                ),
            ),
            MediaErrorKind::HttpStatus(status) => (
                SdkCode::Network,
                *status >= 500 || *status == 408 || *status == 429,
            ),
            MediaErrorKind::BadResponse => (SdkCode::System, true),
            MediaErrorKind::Decrypt => (SdkCode::Decrypt, false),
            MediaErrorKind::Network | MediaErrorKind::Timeout => (SdkCode::Network, true),
            MediaErrorKind::Sink => (SdkCode::Other(0), false),
        };
        MediaError {
            kind,
            code,
            retryable,
            // Often WeCom's errmsg: shown in logs and stored with the job.
            message: wecom_wire::text::escape_controls(&message.into()).into_owned(),
            offset: 0,
            file: String::new(),
            sink: None,
        }
    }

    pub(crate) fn with_code(mut self, code: SdkCode) -> MediaError {
        self.code = code;
        self
    }

    pub(crate) fn with_retryable(mut self, retryable: bool) -> MediaError {
        self.retryable = retryable;
        self
    }

    pub(crate) fn at(mut self, file: &str, offset: u64) -> MediaError {
        file.clone_into(&mut self.file);
        self.offset = offset;
        self
    }

    pub(crate) fn sink(error: MediaSinkError) -> MediaError {
        let mut e = MediaError::new(MediaErrorKind::Sink, error.to_string());
        e.sink = Some(Box::new(error));
        e
    }

    /// An error of the token exchange, seen while fetching a chunk.
    pub(crate) fn from_source(e: SourceError) -> MediaError {
        let kind = match e.kind {
            SourceErrorKind::Network => MediaErrorKind::Network,
            SourceErrorKind::Timeout => MediaErrorKind::Timeout,
            SourceErrorKind::HttpStatus(s) => MediaErrorKind::HttpStatus(s),
            SourceErrorKind::InvalidResponse => MediaErrorKind::BadResponse,
            SourceErrorKind::Api { errcode } => MediaErrorKind::Api { errcode },
            // Not produced by the token exchange; keep the source's code and retry verdict.
            SourceErrorKind::Sdk(_)
            | SourceErrorKind::InvalidArgument
            | SourceErrorKind::TooManyItems { .. }
            | SourceErrorKind::TooLarge { .. } => MediaErrorKind::BadResponse,
        };
        let code = e.sdk_code();
        MediaError::new(kind, e.message)
            .with_code(code)
            .with_retryable(e.retryable)
    }

    pub(crate) fn gave_up(mut self, attempts: u32) -> MediaError {
        if self.retryable && attempts > 1 {
            self.message = format!("{} (gave up after {attempts} attempts)", self.message);
        }
        self
    }

    pub fn kind(&self) -> &MediaErrorKind {
        &self.kind
    }

    /// The code the vendor library returns for the same situation (10000–10010). A sink error has
    /// no such code and reports `Other(0)`.
    pub fn sdk_code(&self) -> SdkCode {
        self.code
    }

    /// Whether downloading again later may succeed. Decided from what the server said, so it is
    /// finer than [`SdkCode::is_retryable`]: errcode 301010 is 10002 for the vendor library (which
    /// says retry) but not retryable here.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }

    /// Ciphertext offset of the chunk the download stopped at.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The sink's own error, for a [`MediaErrorKind::Sink`].
    pub fn into_sink_error(self) -> Option<MediaSinkError> {
        self.sink.map(|e| *e)
    }
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            MediaErrorKind::InvalidFileId => "invalid sdkfileid".to_owned(),
            MediaErrorKind::IpNotAllowed => "ip not allowed".to_owned(),
            MediaErrorKind::Expired => "media expired".to_owned(),
            MediaErrorKind::Api { errcode } => format!("wecom errcode {errcode}"),
            MediaErrorKind::HttpStatus(s) => format!("http status {s}"),
            MediaErrorKind::BadResponse => "bad response".to_owned(),
            MediaErrorKind::Decrypt => "decryption failed".to_owned(),
            MediaErrorKind::Network => "network error".to_owned(),
            MediaErrorKind::Timeout => "timed out".to_owned(),
            MediaErrorKind::Sink => "sink failed".to_owned(),
        };
        write!(f, "{what}: {}", wecom_wire::text::Escaped(&self.message))?;
        if !self.file.is_empty() {
            write!(f, " (media {}, chunk at byte {})", self.file, self.offset)?;
        }
        Ok(())
    }
}

impl std::error::Error for MediaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.sink.as_deref().map(|s| s as _)
    }
}
