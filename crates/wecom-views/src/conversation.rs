//! Conversations and their messages: the list by recent activity, one page of a conversation
//! (with the consent statuses that explain a one-sided chat) and one message.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use wecom_store::names::{ConsentStatus, ConsentSubject, DisplayName, DisplaySource};
use wecom_store::{
    ArchiveReader, ConversationFilter, ConversationSummary, StoreError, StoredMessage,
};

use crate::directory::ConsentView;

/// One conversation of the list ([`conversation_list`], [`conversations`]), with its room's,
/// senders' and participants' names and its newest message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationItem {
    /// The conversation key (`room:…`, `pair:a|b`, `members:…`, `solo:…`, `switch:…`).
    pub key: String,
    /// Rooms and roomless multi-party conversations.
    pub is_group: bool,
    /// The group's roomid; empty for conversations without one.
    pub roomid: String,
    /// Decrypted records in the conversation, recall records included.
    pub messages: u64,
    /// The first and last message time (Unix ms).
    pub first_msgtime: i64,
    pub last_msgtime: i64,
    /// Distinct senders (at most 20), most active first.
    pub senders: Vec<String>,
    /// The room's name, when one is known (never the id's fallback label).
    pub room_name: Option<String>,
    /// How each of `senders` is shown, in the same order: a name, or the id itself when none is
    /// known.
    pub sender_names: Vec<String>,
    /// A message of it has the `_external` msgid flag, or a participant is an external contact
    /// or a robot.
    pub external: bool,
    /// Participants (every sender and recipient of its messages), ascending, at most 50.
    pub participants: Vec<String>,
    /// How each of `participants` is shown, in the same order (as `sender_names`).
    pub participant_names: Vec<String>,
    /// All participants, also those beyond the 50 listed.
    pub participant_count: u64,
    /// The newest message (by msgtime, then seq), its sender named.
    pub last_message: Option<MessageView>,
}

/// Up to `limit` conversations after skipping `offset`, most recent activity first, with every
/// room and sender named in one lookup. The CLI's list: [`conversation_list`] without filters.
pub fn conversations(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<ConversationItem>, StoreError> {
    conversation_list(
        reader,
        corp_id,
        &ConversationFilter::default(),
        limit,
        offset,
    )
}

/// Up to `limit` conversations that pass `filter`, after skipping `offset`, most recent
/// activity first (ties by key), each with its newest message (one read per conversation) and
/// every room, sender and participant named in one lookup.
pub fn conversation_list(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    filter: &ConversationFilter,
    limit: usize,
    offset: usize,
) -> Result<Vec<ConversationItem>, StoreError> {
    let list = reader.conversation_list(corp_id, filter, limit, offset)?;
    let mut last = Vec::with_capacity(list.len());
    for c in &list {
        let newest = reader.conversation_messages_before(corp_id, &c.key, NEWEST, 1)?;
        last.push(newest.into_iter().next());
    }
    let ids: Vec<String> = list
        .iter()
        .flat_map(|c| {
            std::iter::once(c.roomid.clone())
                .filter(|r| !r.is_empty())
                .chain(c.senders.iter().cloned())
                .chain(c.participants.iter().cloned())
        })
        .chain(last.iter().flatten().map(|m| m.from.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names: HashMap<String, DisplayName> = reader
        .display_names(corp_id, &ids, None)?
        .into_iter()
        .map(|d| (d.id.clone(), d))
        .collect();
    // A name, when one is known: the fallback label is not a name.
    let known = |id: &str| {
        names
            .get(id)
            .filter(|d| d.source != DisplaySource::Id)
            .map(|d| d.text.clone())
    };
    let shown = |ids: &[String]| -> Vec<String> {
        ids.iter()
            .map(|s| known(s).unwrap_or_else(|| s.clone()))
            .collect()
    };
    Ok(list
        .into_iter()
        .zip(last)
        .map(
            |(c, last): (ConversationSummary, Option<StoredMessage>)| ConversationItem {
                room_name: known(&c.roomid),
                sender_names: shown(&c.senders),
                participant_names: shown(&c.participants),
                last_message: last.map(|m| {
                    let name = names.get(&m.from).map(|d| d.text.clone());
                    MessageView::new(m, name)
                }),
                key: c.key,
                is_group: c.is_group,
                roomid: c.roomid,
                messages: c.messages,
                first_msgtime: c.first_msgtime,
                last_msgtime: c.last_msgtime,
                senders: c.senders,
                external: c.external,
                participants: c.participants,
                participant_count: c.participant_count,
            },
        )
        .collect())
}

/// A `(msgtime, seq)` cursor after every stored message: what is before it is the newest.
const NEWEST: (i64, u64) = (i64::MAX, i64::MAX as u64);

/// One decrypted message as a reader sees it: the envelope's fields, what the archive derived
/// (conversation, text, flags, warnings), its links (recall, quote) and its sender's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageView {
    pub seq: u64,
    pub msgid: String,
    pub action: String,
    pub from: String,
    pub tolist: Vec<String>,
    pub roomid: String,
    /// Unix ms.
    pub msgtime: i64,
    /// `None` for switch records.
    pub msgtype: Option<String>,
    /// The conversation key.
    pub conversation: String,
    /// The searchable text (empty for messages without human-written text).
    pub text: String,
    /// The msgid ends with `_external`.
    pub external: bool,
    /// The msgid ends with `_updown_stream`.
    pub updown_stream: bool,
    /// For recall records: the msgid they recall.
    pub recall_of: Option<String>,
    /// For a recalled message: the recall record's msgid, its sender and its time (ms). The
    /// message itself is kept.
    pub recalled_by: Option<String>,
    pub recalled_by_user: Option<String>,
    pub recalled_at: Option<i64>,
    /// For a quoted reply: the msgid of the message it quotes, when it was found.
    pub quote_of: Option<String>,
    /// What did not match the documented shapes, as sentences.
    pub warnings: Vec<String>,
    /// How the sender is shown (a name, a room nickname, or the id's fallback label).
    pub from_name: Option<String>,
}

impl MessageView {
    /// The view of a stored message whose sender is shown as `from_name`.
    pub fn new(m: StoredMessage, from_name: Option<String>) -> MessageView {
        MessageView {
            seq: m.seq,
            msgid: m.msgid,
            action: m.action,
            from: m.from,
            tolist: m.tolist,
            roomid: m.roomid,
            msgtime: m.msgtime,
            msgtype: m.msgtype,
            conversation: m.conversation,
            text: m.text,
            external: m.external,
            updown_stream: m.updown_stream,
            recall_of: m.recall_of,
            recalled_by: m.recalled_by,
            recalled_by_user: m.recalled_by_user,
            recalled_at: m.recalled_at,
            quote_of: m.quote_of,
            warnings: m.warnings,
            from_name,
        }
    }

    /// Where the next page starts when this is the last message of a page.
    pub fn cursor(&self) -> PageCursor {
        PageCursor {
            msgtime: self.msgtime,
            seq: self.seq,
        }
    }
}

/// A place in a conversation: strictly after the message with this `(msgtime, seq)`. Written
/// `MSGTIME:SEQ` ([`fmt::Display`], [`FromStr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PageCursor {
    pub msgtime: i64,
    pub seq: u64,
}

impl fmt::Display for PageCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.msgtime, self.seq)
    }
}

/// A page cursor that is not `MSGTIME:SEQ`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a page cursor is MSGTIME:SEQ as given at the end of a page, not `{0}`")]
pub struct PageCursorError(pub String);

impl FromStr for PageCursor {
    type Err = PageCursorError;

    fn from_str(s: &str) -> Result<PageCursor, PageCursorError> {
        s.split_once(':')
            .and_then(|(t, q)| {
                Some(PageCursor {
                    msgtime: t.parse().ok()?,
                    seq: q.parse().ok()?,
                })
            })
            .ok_or_else(|| PageCursorError(s.to_owned()))
    }
}

/// One page of a conversation ([`conversation_page`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationPage {
    /// The conversation key asked for.
    pub key: String,
    /// In ascending `(msgtime, seq)` order.
    pub messages: Vec<MessageView>,
    /// Where the next page starts; `None` when this page was not full (the end for now).
    pub next_after: Option<PageCursor>,
    /// For a one-to-one chat: the contacts of the pair who declined archiving. WeCom archives
    /// nothing of the chat while that stands, so it is one-sided or empty from then on.
    pub declined: Vec<ConsentView>,
}

/// Up to `limit` messages of conversation `key` strictly after `after`, each sender named (by
/// its nickname in the room, for a room) in one lookup.
pub fn conversation_page(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    key: &str,
    after: Option<PageCursor>,
    limit: usize,
) -> Result<ConversationPage, StoreError> {
    let page =
        reader.conversation_messages(corp_id, key, after.map(|a| (a.msgtime, a.seq)), limit)?;
    let names = sender_names(reader, corp_id, &page)?;
    let declined = match (key.starts_with("pair:"), page.first()) {
        (true, Some(first)) => declined(reader, corp_id, first)?,
        _ => Vec::new(),
    };
    let full = limit > 0 && page.len() == limit;
    let messages: Vec<MessageView> = page
        .into_iter()
        .map(|m| {
            let name = names.get(&m.from).cloned();
            MessageView::new(m, name)
        })
        .collect();
    Ok(ConversationPage {
        key: key.to_owned(),
        next_after: messages.last().filter(|_| full).map(MessageView::cursor),
        messages,
        declined,
    })
}

/// How each sender of `messages` is shown (by its nickname in the room, for a room's messages),
/// in one lookup.
pub(crate) fn sender_names(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    messages: &[StoredMessage],
) -> Result<HashMap<String, String>, StoreError> {
    let senders: Vec<String> = messages
        .iter()
        .map(|m| m.from.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let roomid = messages
        .iter()
        .map(|m| m.roomid.as_str())
        .find(|r| !r.is_empty());
    Ok(reader
        .display_names(corp_id, &senders, roomid)?
        .into_iter()
        .map(|d| (d.id, d.text))
        .collect())
}

/// The consent refusals of the pair `first` was sent between.
pub(crate) fn declined(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    first: &StoredMessage,
) -> Result<Vec<ConsentView>, StoreError> {
    let parties: BTreeSet<&str> = std::iter::once(first.from.as_str())
        .chain(first.tolist.iter().map(String::as_str))
        .collect();
    let mut declined = Vec::new();
    for id in &parties {
        for c in reader.consents(corp_id, id)? {
            let with_pair = matches!(&c.subject, ConsentSubject::Pair { userid, external_userid }
                if parties.contains(userid.as_str()) && external_userid == id);
            if with_pair && c.status == ConsentStatus::Disagree {
                declined.push(ConsentView::from(&c));
            }
        }
    }
    Ok(declined)
}

/// One message by msgid, its sender named; `None` if no such message is stored.
pub fn message(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    msgid: &str,
) -> Result<Option<MessageView>, StoreError> {
    let Some(m) = reader.message(corp_id, msgid)? else {
        return Ok(None);
    };
    let roomid = Some(m.roomid.as_str()).filter(|r| !r.is_empty());
    let name = reader
        .display_names(corp_id, std::slice::from_ref(&m.from), roomid)?
        .into_iter()
        .next()
        .map(|d| d.text);
    Ok(Some(MessageView::new(m, name)))
}
