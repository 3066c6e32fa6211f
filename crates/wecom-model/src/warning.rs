//! What [`crate::understand`] noticed while reading a record it could still read. Warnings never
//! stop the parse: the record's JSON is kept whole, so a warning only says that a typed view is
//! partial.

/// One thing that did not match the documented shape. `path` values name JSON locations with dots
/// and `[index]`, e.g. `chatrecord.item[2].filesize`; the hop through an item's JSON-string
/// `content` is implicit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseWarning {
    /// Only possible for a hand-built [`crate::Envelope`]: `parse_envelope` rejects such text.
    #[error("record is not valid JSON: {error}")]
    InvalidRecord { error: String },
    /// The record was read after repairing invalid escapes (the envelope text is unchanged).
    #[error("record JSON needed its escapes repaired")]
    RepairedRecord,
    #[error("unknown action `{action}`")]
    UnknownAction { action: String },
    #[error("record has no msgtype")]
    MissingMsgType,
    #[error("unknown msgtype `{msgtype}`, kept raw")]
    UnknownMsgType { msgtype: String },
    #[error("payload object `{key}` missing")]
    PayloadMissing { key: String },
    #[error("payload `{key}` is not an object")]
    PayloadNotObject { key: String },
    #[error("payload expected under `{expected}` found under `{found}`")]
    PayloadElsewhere { expected: String, found: String },
    #[error("field `{path}` has wrong type (expected {expected})")]
    WrongType {
        path: String,
        expected: &'static str,
    },
    #[error("item content at `{path}` is not valid JSON: {error}")]
    BadContent { path: String, error: String },
    #[error("nesting deeper than {limit} levels at `{path}`, kept raw")]
    TooDeep { path: String, limit: usize },
    #[error("media at `{path}` has no sdkfileid")]
    MediaWithoutId { path: String },
}

impl ParseWarning {
    /// A stable short code, for storing and counting warnings without parsing their text.
    pub fn code(&self) -> &'static str {
        match self {
            ParseWarning::InvalidRecord { .. } => "invalid_record",
            ParseWarning::RepairedRecord => "repaired_record",
            ParseWarning::UnknownAction { .. } => "unknown_action",
            ParseWarning::MissingMsgType => "missing_msgtype",
            ParseWarning::UnknownMsgType { .. } => "unknown_msgtype",
            ParseWarning::PayloadMissing { .. } => "payload_missing",
            ParseWarning::PayloadNotObject { .. } => "payload_not_object",
            ParseWarning::PayloadElsewhere { .. } => "payload_elsewhere",
            ParseWarning::WrongType { .. } => "wrong_type",
            ParseWarning::BadContent { .. } => "bad_content",
            ParseWarning::TooDeep { .. } => "too_deep",
            ParseWarning::MediaWithoutId { .. } => "media_without_id",
        }
    }
}
