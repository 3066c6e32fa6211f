//! A window of a conversation, paged both ways ([`message_window`]), one message in full
//! ([`message_detail`]) and one stored media object ([`media_object`]).
//!
//! Invariants:
//! - a [`MessageDetail`]'s payload never carries an `sdkfileid` (the download handle of a media
//!   object): every such field is removed, also inside the JSON-string `content` of forwarded
//!   (chatrecord) and mixed items;
//! - a window's cursors are exact: `before` is set only when a message exists before the first
//!   one shown, `after` only when one exists after the last one shown (as stored when read).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;
use wecom_model::{Action, Envelope, Payload};
use wecom_store::{
    ArchiveReader, MediaArea, MediaJobState, MessageMedia, StoreError, StoredMessage,
};

use crate::conversation::{MessageView, PageCursor, declined};
use crate::directory::ConsentView;

/// Where a [`message_window`] is placed in its conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageAt {
    /// The oldest messages.
    Start,
    /// The newest messages.
    End,
    /// The messages strictly after the cursor (the next page of a window's `after`).
    After(PageCursor),
    /// The messages strictly before the cursor (the previous page of a window's `before`).
    Before(PageCursor),
    /// The message with this msgid in the middle: up to `limit / 2` before it, then it, then the
    /// rest of `limit` after it.
    Around(String),
}

/// Messages of one conversation in full, with cursors both ways ([`message_window`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageWindow {
    /// The conversation key asked for.
    pub key: String,
    /// In ascending `(msgtime, seq)` order.
    pub messages: Vec<MessageDetail>,
    /// The first message's cursor when messages exist before it (page with
    /// [`PageAt::Before`]); `None` at the start. A window with no messages after
    /// [`PageAt::After`] gives back the cursor it was asked from when messages exist before it.
    /// Written `MSGTIME:SEQ`, as a query parameter takes it.
    #[serde(serialize_with = "as_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "1767225600000:42"))]
    pub before: Option<PageCursor>,
    /// The last message's cursor when messages exist after it (page with [`PageAt::After`]);
    /// `None` at the end (for now: the archive keeps growing). A window with no messages before
    /// [`PageAt::Before`] gives back the cursor it was asked from when messages exist after it.
    /// Written `MSGTIME:SEQ`.
    #[serde(serialize_with = "as_text")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "1767225600000:42"))]
    pub after: Option<PageCursor>,
    /// For a one-to-one chat: the contacts of the pair who declined archiving (see
    /// [`crate::ConversationPage::declined`]).
    pub declined: Vec<ConsentView>,
}

/// A cursor in its `MSGTIME:SEQ` form.
fn as_text<S: serde::Serializer>(cursor: &Option<PageCursor>, s: S) -> Result<S::Ok, S::Error> {
    match cursor {
        Some(c) => s.collect_str(c),
        None => s.serialize_none(),
    }
}

/// One message in full: its view, its payload (without download handles) and its media.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageDetail {
    #[serde(flatten)]
    pub view: MessageView,
    /// The record's payload object (`record[payload key]`, e.g. `record["doc"]` for a docmsg);
    /// for a msgtype this version does not know, or a payload found under another key, the
    /// record's fields other than the envelope's; `{}` for switch records. Every `sdkfileid`
    /// field is removed, nested ones included.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Value,
    /// The media objects the message references, in document order of their jobs.
    pub media: Vec<MediaRefView>,
}

/// One media reference of a message and how its download stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaRefView {
    /// Where in the message: `image`, `chatrecord.item[2]`, …
    pub path: String,
    /// `image`, `voice`, `video`, `emotion`, `file`, `meeting_voice_call`, `voip_doc_share` or
    /// `unknown`.
    pub kind: String,
    /// The extension the object is saved with (no dot; may be empty).
    pub extension: String,
    /// The job's state: `pending`, `downloading`, `done`, `failed_retryable`,
    /// `failed_permanent` or `expired`.
    pub state: String,
    /// The stored object's content hash, size and sniffed type: set once the job is done.
    pub sha256: Option<String>,
    pub size: Option<u64>,
    pub content_type: Option<String>,
    /// For files (and documents shared in a call): the file name the message gives.
    pub file_name: Option<String>,
    /// A stable code for the last failure (`md5_mismatch`, `expired`, …).
    pub error_code: Option<String>,
}

/// A verified media object of the archive ([`media_object`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaObjectView {
    /// Lowercase hex.
    pub sha256: String,
    pub size: u64,
    /// Sniffed from the first bytes.
    pub content_type: String,
    /// A file name a message gives it (the first, by job), when one is a file.
    pub file_name: Option<String>,
    /// The messages that carry it, ascending.
    pub msgids: Vec<String>,
    /// Always `objects`: only verified objects are served; quarantined bytes are not.
    pub area: String,
    /// The blob backend (`fs` or `s3`) and its key, for the server that streams the bytes;
    /// never serialized.
    #[serde(skip)]
    pub backend: String,
    #[serde(skip)]
    pub key: String,
}

/// The stored cursor past every message (`message_window` at [`PageAt::End`]).
const END: (i64, u64) = (i64::MAX, i64::MAX as u64);

/// Up to `limit` messages of conversation `key` placed by `at`, each in full. `None` when the
/// corp has no such conversation or, for [`PageAt::Around`], the msgid is not a message of it.
/// A `limit` of 0 shows no messages (at `Around`, the message itself is always shown).
pub fn message_window(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    key: &str,
    at: PageAt,
    limit: usize,
) -> Result<Option<MessageWindow>, StoreError> {
    let fetch = limit.saturating_add(1);
    let has_before = |c: (i64, u64)| -> Result<bool, StoreError> {
        Ok(!reader
            .conversation_messages_before(corp_id, key, c, 1)?
            .is_empty())
    };
    let has_after = |c: (i64, u64)| -> Result<bool, StoreError> {
        Ok(!reader
            .conversation_messages(corp_id, key, Some(c), 1)?
            .is_empty())
    };
    let (messages, before, after) = match at {
        PageAt::Start | PageAt::After(_) => {
            let from = match &at {
                PageAt::After(c) => Some((c.msgtime, c.seq)),
                _ => None,
            };
            let mut page = if limit == 0 {
                Vec::new()
            } else {
                reader.conversation_messages(corp_id, key, from, fetch)?
            };
            let more_after = page.len() > limit;
            page.truncate(limit);
            let before = match (from, page.first()) {
                (None, _) => None,
                (Some(_), Some(first)) => has_before(cursor(first))?.then(|| cursor(first)),
                (Some(c), None) => has_before(c)?.then_some(c),
            };
            let after = page.last().filter(|_| more_after).map(cursor);
            (page, before, after)
        }
        PageAt::End | PageAt::Before(_) => {
            let until = match &at {
                PageAt::Before(c) => Some((c.msgtime, c.seq)),
                _ => None,
            };
            let mut page = if limit == 0 {
                Vec::new()
            } else {
                reader.conversation_messages_before(corp_id, key, until.unwrap_or(END), fetch)?
            };
            let more_before = page.len() > limit;
            if more_before {
                page.drain(..page.len() - limit);
            }
            let after = match (until, page.last()) {
                (None, _) => None,
                (Some(_), Some(last)) => has_after(cursor(last))?.then(|| cursor(last)),
                (Some(c), None) => has_after(c)?.then_some(c),
            };
            let before = page.first().filter(|_| more_before).map(cursor);
            (page, before, after)
        }
        PageAt::Around(msgid) => {
            let Some(middle) = reader.message(corp_id, &msgid)? else {
                return Ok(None);
            };
            if middle.conversation != key {
                return Ok(None);
            }
            let half = limit / 2;
            let rest = limit.saturating_sub(half + 1);
            let c = cursor(&middle);
            let mut page = reader.conversation_messages_before(corp_id, key, c, half + 1)?;
            let more_before = page.len() > half;
            if more_before {
                page.drain(..page.len() - half);
            }
            let mut later = reader.conversation_messages(corp_id, key, Some(c), rest + 1)?;
            let more_after = later.len() > rest;
            later.truncate(rest);
            page.push(middle);
            page.extend(later);
            let before = page.first().filter(|_| more_before).map(cursor);
            let after = page.last().filter(|_| more_after).map(cursor);
            (page, before, after)
        }
    };
    if messages.is_empty()
        && reader
            .conversation_messages(corp_id, key, None, 1)?
            .is_empty()
    {
        return Ok(None);
    }
    let declined = match (key.starts_with("pair:"), messages.first()) {
        (true, Some(first)) => declined(reader, corp_id, first)?,
        _ => Vec::new(),
    };
    Ok(Some(MessageWindow {
        key: key.to_owned(),
        messages: details(reader, corp_id, messages)?,
        before: before.map(to_cursor),
        after: after.map(to_cursor),
        declined,
    }))
}

fn cursor(m: &StoredMessage) -> (i64, u64) {
    (m.msgtime, m.seq)
}

fn to_cursor((msgtime, seq): (i64, u64)) -> PageCursor {
    PageCursor { msgtime, seq }
}

/// One message in full by msgid; `None` if no such message is stored.
pub fn message_detail(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    msgid: &str,
) -> Result<Option<MessageDetail>, StoreError> {
    let Some(m) = reader.message(corp_id, msgid)? else {
        return Ok(None);
    };
    Ok(details(reader, corp_id, vec![m])?.pop())
}

/// The messages in full, their senders named (as in their room) in one lookup and their media
/// read in one call.
fn details(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    messages: Vec<StoredMessage>,
) -> Result<Vec<MessageDetail>, StoreError> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let names = crate::conversation::sender_names(reader, corp_id, &messages)?;
    let msgids: Vec<String> = messages.iter().map(|m| m.msgid.clone()).collect();
    let mut media: BTreeMap<String, Vec<MessageMedia>> = BTreeMap::new();
    for mm in reader.messages_media(corp_id, &msgids)? {
        media.entry(mm.job.msgid.clone()).or_default().push(mm);
    }
    Ok(messages
        .into_iter()
        .map(|m| {
            let jobs = media.remove(&m.msgid).unwrap_or_default();
            let name = names.get(&m.from).cloned();
            detail(m, name, jobs)
        })
        .collect())
}

/// The understood record of a stored message (never fails: see [`wecom_model::understand`]).
fn understood(m: &StoredMessage) -> wecom_model::Message {
    wecom_model::understand(&Envelope {
        msgid: m.msgid.clone(),
        action: Action::parse(&m.action),
        from: m.from.clone(),
        tolist: m.tolist.clone(),
        roomid: m.roomid.clone(),
        msgtime: m.msgtime,
        msgtype: m.msgtype.clone(),
        json: m.json.clone(),
    })
}

fn detail(m: StoredMessage, from_name: Option<String>, jobs: Vec<MessageMedia>) -> MessageDetail {
    let message = understood(&m);
    let mut payload = payload_of(&message);
    strip_sdkfileids(&mut payload, 0);
    let media = jobs
        .into_iter()
        .map(|mm| media_ref(&message.payload, mm))
        .collect();
    MessageDetail {
        view: MessageView::new(m, from_name),
        payload,
        media,
    }
}

/// The envelope fields of a record (reference §3.1).
const ENVELOPE_KEYS: [&str; 7] = [
    "msgid", "action", "from", "tolist", "roomid", "msgtime", "msgtype",
];

/// The payload object of an understood record (see [`MessageDetail::payload`]).
fn payload_of(message: &wecom_model::Message) -> Value {
    let non_envelope = |raw: &Value| match raw {
        Value::Object(record) => Value::Object(
            record
                .iter()
                .filter(|(k, _)| !ENVELOPE_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => Value::Object(serde_json::Map::new()),
    };
    match &message.payload {
        Payload::Switch(_) => Value::Object(serde_json::Map::new()),
        Payload::Unknown(_) => non_envelope(&message.raw),
        known => match message.raw.get(known.payload_key()) {
            Some(value) => value.clone(),
            None => non_envelope(&message.raw),
        },
    }
}

/// How deep [`strip_sdkfileids`] descends (JSON levels plus JSON-string contents), like the
/// model's own bound on nested items.
const MAX_STRIP_DEPTH: usize = 64;

/// Removes every `sdkfileid` field of `value`, also inside strings that hold JSON (the
/// `content` of chatrecord and mixed items), which are written back without it. Past
/// [`MAX_STRIP_DEPTH`] a value is replaced by `null` rather than shown unchecked.
fn strip_sdkfileids(value: &mut Value, depth: usize) {
    if depth > MAX_STRIP_DEPTH {
        *value = Value::Null;
        return;
    }
    match value {
        Value::Object(map) => {
            map.remove("sdkfileid");
            for child in map.values_mut() {
                strip_sdkfileids(child, depth + 1);
            }
        }
        Value::Array(items) => {
            for child in items {
                strip_sdkfileids(child, depth + 1);
            }
        }
        Value::String(text) if text.contains("sdkfileid") => {
            match serde_json::from_str::<Value>(text) {
                Ok(mut inner) if inner.is_object() || inner.is_array() => {
                    strip_sdkfileids(&mut inner, depth + 1);
                    *text = inner.to_string();
                }
                // Text that mentions the word but is not JSON holds no handle to remove.
                _ => {}
            }
        }
        _ => {}
    }
}

fn media_ref(payload: &Payload, mm: MessageMedia) -> MediaRefView {
    let MessageMedia { job, object } = mm;
    let done = job.state == MediaJobState::Done;
    let object = object.filter(|_| done);
    MediaRefView {
        file_name: file_name_at(payload, &job.path),
        state: job.state.as_str().to_owned(),
        sha256: object.as_ref().map(|o| o.sha256.clone()),
        size: object.as_ref().map(|o| o.size),
        content_type: object.map(|o| o.content_type),
        error_code: job.error_code,
        path: job.path,
        kind: job.kind,
        extension: job.extension,
    }
}

/// The file name the message gives the object at `path` (a media path: the payload key, then
/// `.item[i]` per forwarded or mixed level), for files and documents shared in a call.
fn file_name_at(payload: &Payload, path: &str) -> Option<String> {
    let root = match payload {
        Payload::Unknown(_) => "",
        known => known.payload_key(),
    };
    let mut rest = path.strip_prefix(root)?;
    let mut at = payload;
    while !rest.is_empty() {
        let inner = rest.strip_prefix(".item[")?;
        let (index, tail) = inner.split_once(']')?;
        let index: usize = index.parse().ok()?;
        at = match at {
            Payload::ChatRecord(c) => &c.items.get(index)?.content,
            Payload::Mixed(m) => &m.items.get(index)?.content,
            _ => return None,
        };
        rest = tail;
    }
    let name = match at {
        Payload::File(f) => &f.filename,
        Payload::VoipDocShare(d) => &d.filename,
        _ => return None,
    };
    Some(name.clone()).filter(|n| !n.is_empty())
}

/// The verified object with this sha256 and the messages that carry it; `None` when the corp
/// stored no such object in its verified area (quarantined bytes, kept only for inspection,
/// are never served).
pub fn media_object(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    sha256: &str,
) -> Result<Option<MediaObjectView>, StoreError> {
    let jobs: Vec<MessageMedia> = reader
        .media_by_sha256(corp_id, sha256)?
        .into_iter()
        .filter(|mm| {
            mm.object
                .as_ref()
                .is_some_and(|o| o.area == MediaArea::Objects)
        })
        .collect();
    let Some(object) = jobs.iter().find_map(|mm| mm.object.clone()) else {
        return Ok(None);
    };
    let mut file_name = None;
    for mm in &jobs {
        if !matches!(mm.job.kind.as_str(), "file" | "voip_doc_share" | "unknown") {
            continue;
        }
        if let Some(m) = reader.message(corp_id, &mm.job.msgid)? {
            file_name = file_name_at(&understood(&m).payload, &mm.job.path);
            if file_name.is_some() {
                break;
            }
        }
    }
    let msgids: BTreeSet<String> = jobs.iter().map(|mm| mm.job.msgid.clone()).collect();
    Ok(Some(MediaObjectView {
        sha256: object.sha256,
        size: object.size,
        content_type: object.content_type,
        file_name,
        msgids: msgids.into_iter().collect(),
        area: MediaArea::Objects.as_str().to_owned(),
        backend: object.backend,
        key: object.key,
    }))
}
