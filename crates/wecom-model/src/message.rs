//! One entry point, [`understand`]: everything this crate can say about a record, derived from its
//! envelope without ever failing.

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::conversation::ConversationKey;
use crate::envelope::Envelope;
use crate::identity::MessageFlags;
use crate::media::MediaRef;
use crate::payload::Payload;
use crate::quote::{Quote, parse_quote};
use crate::read::read_record;
use crate::sanitize::{escape_control_chars, repair_json_escapes};
use crate::warning::ParseWarning;

/// A record understood: its typed payload and what follows from it.
///
/// # Losslessness by construction
///
/// A message keeps the record's JSON value (`raw`) and serialises as exactly that value; the typed
/// [`Payload`] and the derived facts are read-only views of it. We chose this over typed structs
/// with `#[serde(flatten)] extra` that serialise themselves because a round trip through typed
/// fields cannot be lossless in general: a number-or-string field read tolerantly writes back as
/// a number, a `longitude` sent as `116` writes back as `116.0`, a defaulted field that was absent
/// (or `null`) writes back as present, a field of the wrong type has nowhere to go, and the
/// JSON-string `content` of chatrecord/mixed items would be re-encoded with other escapes and key
/// order. With the value kept, no code path exists that could drop or reshape a field, and the
/// views can be as forgiving as the data needs. (The envelope keeps the exact text besides.)
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub payload: Payload,
    /// Every downloadable media object, nested ones included.
    pub media: Vec<MediaRef>,
    /// For recalls: the msgid of the recalled message (`revoke.pre_msgid`), which stays in the
    /// archive and is only marked.
    pub recall_of: Option<String>,
    /// For text messages that are quoted replies.
    pub quote: Option<Quote>,
    pub flags: MessageFlags,
    pub conversation: ConversationKey,
    /// Searchable text (see [`Payload::search_text`]).
    pub text: String,
    /// What did not match the documented shapes; empty for well-formed records.
    pub warnings: Vec<ParseWarning>,
    /// The record as parsed: the source of truth the views above are derived from. `Null` only for
    /// a hand-built envelope whose text is not JSON even after repair.
    pub raw: Value,
}

impl Message {
    /// The record as JSON: equal to the parsed original, every field and value kept.
    pub fn to_value(&self) -> Value {
        self.raw.clone()
    }
}

/// A message serialises as the record it was read from.
impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

/// Understands a record. Never fails and never panics: whatever does not match the documented
/// shapes is read as far as possible and reported in `warnings`.
pub fn understand(envelope: &Envelope) -> Message {
    let mut warnings = Vec::new();
    let raw = record_value(&envelope.json, &mut warnings);
    let payload = match &raw {
        Value::Object(record) => read_record(record, &envelope.action, &mut warnings),
        _ => {
            if !raw.is_null() {
                warnings.push(ParseWarning::InvalidRecord {
                    error: "not a JSON object".to_owned(),
                });
            }
            Payload::Unknown(crate::payload::Unknown {
                msgtype: envelope.msgtype.clone().unwrap_or_default(),
                raw: raw.clone(),
            })
        }
    };
    let recall_of = match &payload {
        Payload::Revoke(r) if !r.pre_msgid.is_empty() => Some(r.pre_msgid.clone()),
        _ => None,
    };
    let quote = match &payload {
        Payload::Text(t) => parse_quote(&t.content),
        _ => None,
    };
    Message {
        media: payload.media(),
        text: payload.search_text(),
        recall_of,
        quote,
        flags: MessageFlags::from_msgid(&envelope.msgid),
        conversation: ConversationKey::of(envelope),
        warnings,
        payload,
        raw,
    }
}

/// The envelope's text as a value. `parse_envelope` only builds envelopes from valid JSON, but the
/// struct is public, so other text gets the same escaping and repair as nested content.
fn record_value(json: &str, warnings: &mut Vec<ParseWarning>) -> Value {
    let error = match serde_json::from_str(json) {
        Ok(v) => return v,
        Err(e) => e.to_string(),
    };
    let escaped = escape_control_chars(json.as_bytes());
    if let Ok(text) = std::str::from_utf8(&escaped)
        && let Ok(v) = serde_json::from_str(&repair_json_escapes(text))
    {
        warnings.push(ParseWarning::RepairedRecord);
        return v;
    }
    warnings.push(ParseWarning::InvalidRecord { error });
    Value::Null
}
