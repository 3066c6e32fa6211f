//! The decrypted record: the lossless envelope every record has ([`parse_envelope`]), and
//! [`understand`], which reads any record into a typed [`Payload`] plus the facts the archive
//! needs — media to download, recalls, quoted replies, identity flags, the conversation, the
//! searchable text — without ever failing on input. Pure code, no I/O.
//!
//! Invariant: nothing read here is lost. The envelope keeps the exact text; a [`Message`] keeps the
//! record's JSON value and serialises back to it; typed payloads are views (see [`Message`] for
//! why this design rather than self-serialising structs).

mod conversation;
mod envelope;
mod fields;
mod identity;
mod media;
mod message;
pub mod payload;
mod quote;
mod read;
mod sanitize;
mod search;
mod warning;

pub use conversation::ConversationKey;
pub use envelope::{Action, Envelope, ParseError, parse_envelope};
pub use identity::{IdKind, MessageFlags, classify_id};
pub use media::{MediaKind, MediaRef};
pub use message::{Message, understand};
pub use payload::Payload;
pub use quote::{Quote, QuoteFormat, parse_quote, quote_matches};
pub use read::{MAX_DEPTH, MSGTYPES, item_msgtype, item_time_ms};
pub use sanitize::{escape_control_chars, repair_json_escapes};
pub use warning::ParseWarning;
