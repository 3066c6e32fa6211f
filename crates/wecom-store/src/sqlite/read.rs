//! Reading the archive by conversation and by message: the queries behind
//! [`ArchiveReader::conversations`](crate::ArchiveReader::conversations) and
//! [`conversation_list`](crate::ArchiveReader::conversation_list) (filtered by participant
//! through `conversation_participants`, 0009),
//! [`conversation_messages_before`](crate::ArchiveReader::conversation_messages_before),
//! [`conversation_messages`](crate::ArchiveReader::conversation_messages),
//! [`message`](crate::ArchiveReader::message) and [`feed`](crate::ArchiveReader::feed).

use std::collections::BTreeSet;

use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};
use wecom_model::ConversationKey;

use super::{count, seq_from_sql, seq_to_sql, sql_int};
use crate::store::{
    ConversationFilter, ConversationSummary, MAX_LISTED_PARTICIPANTS, StoredMessage,
};

/// Senders listed per conversation.
const MAX_SENDERS: i64 = 20;

/// The list and its senders come from the conversation summaries kept with every stored message
/// (0007_conversation_summaries.sql), so listing never reads message rows.
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

/// The first participants of a conversation, ascending (the primary key's order).
pub(super) const SELECT_PARTICIPANTS: &str = "SELECT participant FROM conversation_participants \
     WHERE corp_id = ?1 AND conversation = ?2 ORDER BY participant LIMIT ?3";
pub(super) const COUNT_PARTICIPANTS: &str = "SELECT count(*) FROM conversation_participants \
     WHERE corp_id = ?1 AND conversation = ?2";
/// The messages immediately before a cursor: the index walked backwards from it.
pub(super) const SELECT_PAGE_BEFORE: &str = select_messages!(
    "WHERE m.corp_id = ?1 AND m.conversation = ?2 AND (m.msgtime, m.seq) < (?3, ?4) ",
    "ORDER BY m.msgtime DESC, m.seq DESC LIMIT ?5"
);
/// Ids are passed as one JSON array (`json_each`), so every list has the same statement.
pub(super) const SELECT_INVOLVES: &str = "SELECT 1 FROM conversation_participants \
     WHERE corp_id = ?1 AND conversation = ?2 \
     AND participant IN (SELECT value FROM json_each(?3)) LIMIT 1";
/// One lookup per id (deduplicated and ordered in Rust: sorting in SQL makes SQLite walk every
/// participant of the corp in key order instead).
pub(super) const SELECT_INVOLVING: &str = "SELECT conversation \
     FROM conversation_participants INDEXED BY conversation_participants_by_participant \
     WHERE corp_id = ?1 AND participant IN (SELECT value FROM json_each(?2))";
/// One lookup per department, ordered and deduplicated in Rust (as [`SELECT_INVOLVING`]).
pub(super) const SELECT_DEPARTMENT_MEMBERS: &str = "SELECT id FROM person_departments \
     INDEXED BY sqlite_autoindex_person_departments_1 \
     WHERE corp_id = ?1 AND department IN (SELECT value FROM json_each(?2))";

/// The conversation list's `SELECT` and `WHERE` head; filters add `AND` terms.
const LIST_HEAD: &str = "SELECT conversation, messages, first_msgtime, last_msgtime, external \
     FROM conversations WHERE corp_id = :corp";
const LIST_TAIL: &str = " ORDER BY last_msgtime DESC, conversation LIMIT :limit OFFSET :offset";
/// The conversation list with every filter set, for the query-plan test.
#[cfg(test)]
pub(super) fn select_filtered_conversations() -> String {
    list_sql(&ConversationFilter {
        any_participant: Some(vec!["a".to_owned()]),
        person: Some("b".to_owned()),
        roomid: Some("r".to_owned()),
        external: Some(true),
        active_since_ms: Some(0),
        active_until_ms: Some(1),
    })
}

/// The conversation list of a reviewer's scope (participants, and a time range), for the
/// query-plan test.
#[cfg(test)]
pub(super) fn select_scoped_conversations() -> String {
    list_sql(&ConversationFilter {
        any_participant: Some(vec!["a".to_owned()]),
        active_since_ms: Some(0),
        ..ConversationFilter::default()
    })
}

/// The list's SQL for the filters that are set.
pub(super) fn list_sql(filter: &ConversationFilter) -> String {
    let mut sql = String::from(LIST_HEAD);
    if filter.any_participant.is_some() {
        sql.push_str(
            " AND conversation IN (SELECT conversation FROM conversation_participants \
             WHERE corp_id = :corp AND participant IN (SELECT value FROM json_each(:any)))",
        );
    }
    if filter.person.is_some() {
        sql.push_str(
            " AND conversation IN (SELECT conversation FROM conversation_participants \
             WHERE corp_id = :corp AND participant = :person)",
        );
    }
    if filter.roomid.is_some() {
        sql.push_str(" AND conversation = :key");
    }
    if filter.external.is_some() {
        sql.push_str(" AND external = :external");
    }
    if filter.active_since_ms.is_some() {
        sql.push_str(" AND last_msgtime >= :since");
    }
    if filter.active_until_ms.is_some() {
        sql.push_str(" AND first_msgtime < :until");
    }
    sql.push_str(LIST_TAIL);
    sql
}

/// Ids as the JSON array the `json_each` statements take.
pub(super) fn id_array(ids: &[String]) -> String {
    serde_json::Value::from(ids.to_vec()).to_string()
}

pub(super) fn conversation_list(
    conn: &Connection,
    corp_id: &str,
    filter: &ConversationFilter,
    limit: usize,
    offset: usize,
) -> rusqlite::Result<Vec<ConversationSummary>> {
    if filter.any_participant.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Vec::new());
    }
    let sql = list_sql(filter);
    let any = filter.any_participant.as_deref().map(id_array);
    let key = filter
        .roomid
        .as_ref()
        .map(|r| ConversationKey::Room(r.clone()).to_string());
    let (limit, offset) = (sql_int(limit), sql_int(offset));
    let mut args: Vec<(&str, &dyn ToSql)> = vec![
        (":corp", &corp_id),
        (":limit", &limit),
        (":offset", &offset),
    ];
    if let Some(any) = &any {
        args.push((":any", any));
    }
    if let Some(person) = &filter.person {
        args.push((":person", person));
    }
    if let Some(key) = &key {
        args.push((":key", key));
    }
    if let Some(external) = &filter.external {
        args.push((":external", external));
    }
    if let Some(since) = &filter.active_since_ms {
        args.push((":since", since));
    }
    if let Some(until) = &filter.active_until_ms {
        args.push((":until", until));
    }
    // The unfiltered list is the hot one; filtered ones are prepared per call rather than
    // crowding the statement cache with every combination.
    let (mut cached, mut uncached);
    let stmt: &mut rusqlite::Statement<'_> = if *filter == ConversationFilter::default() {
        cached = conn.prepare_cached(&sql)?;
        &mut cached
    } else {
        uncached = conn.prepare(&sql)?;
        &mut uncached
    };
    let mut list: Vec<ConversationSummary> = stmt
        .query_map(args.as_slice(), |row| {
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
                external: row.get(4)?,
                senders: Vec::new(),
                participants: Vec::new(),
                participant_count: 0,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut senders = conn.prepare_cached(SELECT_SENDERS)?;
    let mut participants = conn.prepare_cached(SELECT_PARTICIPANTS)?;
    let mut participant_count = conn.prepare_cached(COUNT_PARTICIPANTS)?;
    for c in &mut list {
        c.senders = senders
            .query_map(params![corp_id, c.key, MAX_SENDERS], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        c.participants = participants
            .query_map(
                params![corp_id, c.key, sql_int(MAX_LISTED_PARTICIPANTS)],
                |row| row.get(0),
            )?
            .collect::<rusqlite::Result<_>>()?;
        c.participant_count =
            count(participant_count.query_row(params![corp_id, c.key], |row| row.get(0))?);
    }
    Ok(list)
}

pub(super) fn conversation_messages_before(
    conn: &Connection,
    corp_id: &str,
    key: &str,
    (msgtime, seq): (i64, u64),
    limit: usize,
) -> rusqlite::Result<Vec<StoredMessage>> {
    let mut page: Vec<StoredMessage> = conn
        .prepare_cached(SELECT_PAGE_BEFORE)?
        .query_map(
            params![corp_id, key, msgtime, seq_to_sql(seq), sql_int(limit)],
            stored_message,
        )?
        .collect::<rusqlite::Result<_>>()?;
    page.reverse();
    Ok(page)
}

pub(super) fn conversation_involves(
    conn: &Connection,
    corp_id: &str,
    key: &str,
    ids: &[String],
) -> rusqlite::Result<bool> {
    if ids.is_empty() {
        return Ok(false);
    }
    Ok(conn
        .prepare_cached(SELECT_INVOLVES)?
        .query_row(params![corp_id, key, id_array(ids)], |_| Ok(()))
        .optional()?
        .is_some())
}

pub(super) fn conversations_involving(
    conn: &Connection,
    corp_id: &str,
    ids: &[String],
) -> rusqlite::Result<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: BTreeSet<String> = conn
        .prepare_cached(SELECT_INVOLVING)?
        .query_map(params![corp_id, id_array(ids)], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(keys.into_iter().collect())
}

pub(super) fn department_members(
    conn: &Connection,
    corp_id: &str,
    departments: &[u64],
) -> rusqlite::Result<Vec<String>> {
    if departments.is_empty() {
        return Ok(Vec::new());
    }
    let list = serde_json::Value::from(departments.to_vec()).to_string();
    let ids: BTreeSet<String> = conn
        .prepare_cached(SELECT_DEPARTMENT_MEMBERS)?
        .query_map(params![corp_id, list], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(ids.into_iter().collect())
}
