//! The vocabulary every other crate speaks: WeCom's wire shapes, the vendor SDK's return codes, the
//! archive-source seam, the media-source seam and the one backoff computation every retry waits
//! by. No I/O and no policy live here.

pub mod backoff;
pub mod clock;
mod code;
pub mod directory;
mod json;
mod media;
mod page;
mod source;
pub mod text;

pub use backoff::Backoff;
pub use code::SdkCode;
pub use json::{
    ChatDataItem, ChatDataRequest, ChatDataResponse, TokenResponse, encrypt_sign, errcode,
};
pub use media::{
    BoxFuture, MediaChunkSink, MediaFetchError, MediaFetchErrorKind, MediaFetched, MediaSinkError,
    MediaSource, file_hint,
};
pub use page::{
    ChatDataReply, QuarantineReason, QuarantinedItem, ReplyParseError, parse_chat_data_reply,
};
pub use source::{ArchiveSource, ChatPage, SourceError, SourceErrorKind};

/// Largest `limit` GetChatData accepts (larger values are rejected with 10000 before any I/O).
pub const MAX_LIMIT: u32 = 1000;

/// The `version` field every captured getchatdata/getchatmediadata request carries.
pub const PROTOCOL_VERSION: u32 = 3;
