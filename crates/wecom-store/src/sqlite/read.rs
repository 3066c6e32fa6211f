//! Reading the archive by conversation and by message: the queries behind
//! [`ArchiveReader::conversations`](crate::ArchiveReader::conversations),
//! [`conversation_messages`](crate::ArchiveReader::conversation_messages),
//! [`message`](crate::ArchiveReader::message) and [`feed`](crate::ArchiveReader::feed).

use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, params};
use wecom_model::ConversationKey;

use super::{count, seq_from_sql, seq_to_sql, sql_int};
use crate::store::{ConversationSummary, StoredMessage};

/// Senders listed per conversation.
const MAX_SENDERS: i64 = 20;

/// The list and its senders come from the conversation summaries kept with every stored message
/// (0007_conversation_summaries.sql), so listing never reads message rows.
pub(super) const SELECT_CONVERSATIONS: &str = "SELECT conversation, messages, first_msgtime, \
     last_msgtime FROM conversations WHERE corp_id = ?1 \
     ORDER BY last_msgtime DESC, conversation LIMIT ?2 OFFSET ?3";
pub(super) const SELECT_SENDERS: &str = "SELECT from_id FROM conversation_senders \
     WHERE corp_id = ?1 AND conversation = ?2 ORDER BY messages DESC, from_id LIMIT ?3";

/// Stored messages with the sender of the recall record that marked them, as [`stored_message`]
/// reads them, followed by the given `WHERE`/`ORDER BY` text.
macro_rules! select_messages {
    ($($tail:literal),+) => {
        concat!(
            "SELECT m.seq, m.msgid, m.action, m.from_id, m.tolist, m.roomid, m.msgtime, \
             m.msgtype, m.conversation, m.text, m.external, m.updown_stream, m.recall_of, \
             m.recalled_by, r.from_id, m.recalled_at_ms, m.quote_of, m.warnings, m.json, \
             m.feed_pos \
             FROM messages m \
             LEFT JOIN messages r ON r.corp_id = m.corp_id AND r.msgid = m.recalled_by ",
            $($tail),+
        )
    };
}

pub(super) const SELECT_MESSAGE: &str = select_messages!("WHERE m.corp_id = ?1 AND m.msgid = ?2");
pub(super) const SELECT_PAGE: &str = select_messages!(
    "WHERE m.corp_id = ?1 AND m.conversation = ?2 ORDER BY m.msgtime, m.seq LIMIT ?3"
);
/// Row-value comparison in the index's own column order: one range scan from the cursor.
pub(super) const SELECT_PAGE_AFTER: &str = select_messages!(
    "WHERE m.corp_id = ?1 AND m.conversation = ?2 AND (m.msgtime, m.seq) > (?3, ?4) ",
    "ORDER BY m.msgtime, m.seq LIMIT ?5"
);

pub(super) fn conversations(
    conn: &Connection,
    corp_id: &str,
    limit: usize,
    offset: usize,
) -> rusqlite::Result<Vec<ConversationSummary>> {
    let mut list: Vec<ConversationSummary> = conn
        .prepare_cached(SELECT_CONVERSATIONS)?
        .query_map(params![corp_id, sql_int(limit), sql_int(offset)], |row| {
            let key: String = row.get(0)?;
            let parsed = ConversationKey::parse(&key);
            Ok(ConversationSummary {
                is_group: parsed.as_ref().is_some_and(ConversationKey::is_group),
                roomid: match parsed {
                    Some(ConversationKey::Room(roomid)) => roomid,
                    _ => String::new(),
                },
                key,
                messages: count(row.get(1)?),
                first_msgtime: row.get(2)?,
                last_msgtime: row.get(3)?,
                senders: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut senders = conn.prepare_cached(SELECT_SENDERS)?;
    for c in &mut list {
        c.senders = senders
            .query_map(params![corp_id, c.key, MAX_SENDERS], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(list)
}

/// The change feed: messages after a position, in position order (the `messages_feed` index).
pub(super) const SELECT_FEED: &str =
    select_messages!("WHERE m.corp_id = ?1 AND m.feed_pos > ?2 ORDER BY m.feed_pos LIMIT ?3");

pub(super) fn feed(
    conn: &Connection,
    corp_id: &str,
    after: u64,
    limit: usize,
) -> rusqlite::Result<Vec<StoredMessage>> {
    conn.prepare_cached(SELECT_FEED)?
        .query_map(
            params![
                corp_id,
                i64::try_from(after).unwrap_or(i64::MAX),
                sql_int(limit)
            ],
            stored_message,
        )?
        .collect()
}

pub(super) fn conversation_messages(
    conn: &Connection,
    corp_id: &str,
    key: &str,
    after: Option<(i64, u64)>,
    limit: usize,
) -> rusqlite::Result<Vec<StoredMessage>> {
    let limit = sql_int(limit);
    match after {
        None => conn
            .prepare_cached(SELECT_PAGE)?
            .query_map(params![corp_id, key, limit], stored_message)?
            .collect(),
        Some((msgtime, seq)) => conn
            .prepare_cached(SELECT_PAGE_AFTER)?
            .query_map(
                params![corp_id, key, msgtime, seq_to_sql(seq), limit],
                stored_message,
            )?
            .collect(),
    }
}

pub(super) fn message(
    conn: &Connection,
    corp_id: &str,
    msgid: &str,
) -> rusqlite::Result<Option<StoredMessage>> {
    conn.prepare_cached(SELECT_MESSAGE)?
        .query_row(params![corp_id, msgid], stored_message)
        .optional()
}

fn stored_message(row: &Row<'_>) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        seq: seq_from_sql(row.get(0)?),
        msgid: row.get(1)?,
        action: row.get(2)?,
        from: row.get(3)?,
        tolist: json_strings(&row.get::<_, String>(4)?, 4)?,
        roomid: row.get(5)?,
        msgtime: row.get(6)?,
        msgtype: row.get(7)?,
        // NULL only while an archive is being upgraded, never once it is open.
        conversation: row.get::<_, Option<String>>(8)?.unwrap_or_default(),
        text: row.get::<_, Option<String>>(9)?.unwrap_or_default(),
        external: row.get::<_, Option<bool>>(10)?.unwrap_or_default(),
        updown_stream: row.get::<_, Option<bool>>(11)?.unwrap_or_default(),
        recall_of: row.get(12)?,
        recalled_by: row.get(13)?,
        recalled_by_user: row.get(14)?,
        recalled_at: row.get(15)?,
        quote_of: row.get(16)?,
        warnings: match row.get::<_, Option<String>>(17)? {
            None => Vec::new(),
            Some(text) => json_strings(&text, 17)?,
        },
        json: row.get(18)?,
        // Set for every message since schema 6 (existing ones numbered by the migration).
        feed_pos: row.get::<_, Option<i64>>(19)?.map_or(0, count),
    })
}

/// A JSON array of strings written by this store (tolist, warnings) read from column `idx`;
/// anything else is damage.
pub(super) fn json_strings(text: &str, idx: usize) -> rusqlite::Result<Vec<String>> {
    serde_json::from_str(text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}
