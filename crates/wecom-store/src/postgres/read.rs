//! ArchiveReader on PostgreSQL: every read one REPEATABLE READ snapshot. The name and media
//! reads are in `names.rs` and `media.rs`.
//!
//! Ids given to a read (msgids, conversation keys, participant ids) are looked up in their stored
//! form ([`pg_text`]), so a value with a NUL finds what was stored for it.

use std::collections::{BTreeMap, BTreeSet};

use ::postgres::Transaction;
use ::postgres::types::ToSql;
use wecom_model::ConversationKey;
use wecom_wire::ChatDataItem;

use super::writer::{U64_ORDER, count, damaged, read_cursor};
use super::{PgStore, TxError, pg_text, seq_from_sql, seq_to_sql};
use crate::names::*;
use crate::store::MAX_LISTED_PARTICIPANTS;
use crate::*;

/// Key for decrypted non-switch records that carry no msgtype, in [`Stats::by_msgtype`].
const NO_MSGTYPE: &str = "(none)";

/// Senders listed per conversation.
const MAX_SENDERS: i64 = 20;

/// `usize` limits and offsets as SQL integers (anything beyond `i64::MAX` means "all").
fn sql_int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

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

const SELECT_MESSAGE: &str = select_messages!("WHERE m.corp_id = $1 AND m.msgid = $2");
const SELECT_PAGE: &str = select_messages!(
    "WHERE m.corp_id = $1 AND m.conversation = $2 ORDER BY m.msgtime, m.seq LIMIT $3"
);
const SELECT_PAGE_AFTER: &str = select_messages!(
    "WHERE m.corp_id = $1 AND m.conversation = $2 AND (m.msgtime, m.seq) > ($3, $4) ",
    "ORDER BY m.msgtime, m.seq LIMIT $5"
);
const SELECT_PAGE_BEFORE: &str = select_messages!(
    "WHERE m.corp_id = $1 AND m.conversation = $2 AND (m.msgtime, m.seq) < ($3, $4) ",
    "ORDER BY m.msgtime DESC, m.seq DESC LIMIT $5"
);
const SELECT_FEED: &str =
    select_messages!("WHERE m.corp_id = $1 AND m.feed_pos > $2 ORDER BY m.feed_pos LIMIT $3");

/// A JSON array of strings written by this store (tolist, warnings); anything else is damage.
fn json_strings(text: &str, what: &str) -> Result<Vec<String>, TxError> {
    serde_json::from_str(text).map_err(|e| {
        TxError::Store(StoreError::Backend {
            op: "reading a message",
            cause: format!("stored {what} is not a JSON array of strings: {e}"),
        })
    })
}

fn stored_message(row: &::postgres::Row) -> Result<StoredMessage, TxError> {
    Ok(StoredMessage {
        seq: seq_from_sql(row.try_get(0)?),
        msgid: row.try_get(1)?,
        action: row.try_get(2)?,
        from: row.try_get(3)?,
        tolist: json_strings(row.try_get(4)?, "tolist")?,
        roomid: row.try_get(5)?,
        msgtime: row.try_get(6)?,
        msgtype: row.try_get(7)?,
        conversation: row.try_get::<_, Option<String>>(8)?.unwrap_or_default(),
        text: row.try_get::<_, Option<String>>(9)?.unwrap_or_default(),
        external: row.try_get::<_, Option<bool>>(10)?.unwrap_or_default(),
        updown_stream: row.try_get::<_, Option<bool>>(11)?.unwrap_or_default(),
        recall_of: row.try_get(12)?,
        recalled_by: row.try_get(13)?,
        recalled_by_user: row.try_get(14)?,
        recalled_at: row.try_get(15)?,
        quote_of: row.try_get(16)?,
        warnings: match row.try_get::<_, Option<&str>>(17)? {
            None => Vec::new(),
            Some(text) => json_strings(text, "warnings")?,
        },
        json: row.try_get(18)?,
        feed_pos: count(row.try_get(19)?),
    })
}

fn messages(
    tx: &mut Transaction<'_>,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<StoredMessage>, TxError> {
    tx.query(sql, params)?.iter().map(stored_message).collect()
}

fn read_stats(tx: &mut Transaction<'_>, corp_id: &str) -> Result<Stats, TxError> {
    let count_of = |tx: &mut Transaction<'_>, sql: &str| -> Result<u64, TxError> {
        let n: i64 = tx.query_one(sql, &[&corp_id])?.try_get(0)?;
        Ok(count(n))
    };
    let records = count_of(tx, "SELECT count(*) FROM records WHERE corp_id = $1")?;
    let distinct_msgids = count_of(
        tx,
        "SELECT count(DISTINCT msgid) FROM records WHERE corp_id = $1",
    )?;
    let decrypted = count_of(tx, "SELECT count(*) FROM messages WHERE corp_id = $1")?;
    let mut failed_by_code: BTreeMap<i32, u64> = BTreeMap::new();
    for row in tx.query(
        "SELECT code, count(*) FROM failures WHERE corp_id = $1 GROUP BY code",
        &[&corp_id],
    )? {
        let code: i64 = row.try_get(0)?;
        let code = i32::try_from(code).map_err(|_| damaged("reading stats", "failure code"))?;
        failed_by_code.insert(code, count(row.try_get(1)?));
    }
    let mut by_msgtype: BTreeMap<String, u64> = BTreeMap::new();
    for row in tx.query(
        "SELECT msgtype, action = 'switch', count(*) FROM messages WHERE corp_id = $1 \
         GROUP BY 1, 2",
        &[&corp_id],
    )? {
        let msgtype: Option<String> = row.try_get(0)?;
        let switch: bool = row.try_get(1)?;
        let key = match msgtype {
            Some(t) => t,
            None if switch => "switch".to_owned(),
            None => NO_MSGTYPE.to_owned(),
        };
        *by_msgtype.entry(key).or_default() += count(row.try_get(2)?);
    }
    let mut by_action = BTreeMap::new();
    for row in tx.query(
        "SELECT action, count(*) FROM messages WHERE corp_id = $1 GROUP BY action",
        &[&corp_id],
    )? {
        by_action.insert(row.try_get(0)?, count(row.try_get(1)?));
    }
    let times = tx.query_one(
        "SELECT min(msgtime), max(msgtime) FROM messages WHERE corp_id = $1 AND msgtime <> 0",
        &[&corp_id],
    )?;
    let conversations = count_of(
        tx,
        "SELECT count(DISTINCT conversation) FROM messages WHERE corp_id = $1",
    )?;
    let recalled = count_of(
        tx,
        "SELECT count(*) FROM messages WHERE corp_id = $1 AND recalled_by IS NOT NULL",
    )?;
    let with_warnings = count_of(
        tx,
        "SELECT count(*) FROM messages WHERE corp_id = $1 AND warnings IS NOT NULL",
    )?;
    let mut quarantined_by_kind = BTreeMap::new();
    for row in tx.query(
        "SELECT kind, count(*) FROM quarantined_items WHERE corp_id = $1 GROUP BY kind",
        &[&corp_id],
    )? {
        quarantined_by_kind.insert(row.try_get(0)?, count(row.try_get(1)?));
    }
    Ok(Stats {
        records,
        decrypted,
        failed: failed_by_code.values().sum(),
        failed_by_code,
        quarantined_by_kind,
        distinct_msgids,
        cursor_seq: read_cursor(tx, corp_id, false)?,
        by_msgtype,
        by_action,
        first_msgtime: times.try_get(0)?,
        last_msgtime: times.try_get(1)?,
        conversations,
        recalled,
        with_warnings,
    })
}

/// The conversation list: the filters that are set become `AND` terms of one query; senders and
/// participants of the listed conversations are read in one query each.
fn conversation_list(
    tx: &mut Transaction<'_>,
    corp_id: &str,
    filter: &ConversationFilter,
    limit: usize,
    offset: usize,
) -> Result<Vec<ConversationSummary>, TxError> {
    if filter.any_participant.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Vec::new());
    }
    let any: Option<Vec<String>> = filter
        .any_participant
        .as_ref()
        .map(|ids| ids.iter().map(|id| pg_text(id).into_owned()).collect());
    let person = filter.person.as_deref().map(|p| pg_text(p).into_owned());
    let key = filter
        .roomid
        .as_ref()
        .map(|r| pg_text(&ConversationKey::Room(r.clone()).to_string()).into_owned());
    let (limit, offset) = (sql_int(limit), sql_int(offset));
    let mut sql = String::from(
        "SELECT conversation, messages, first_msgtime, last_msgtime, external \
         FROM conversations WHERE corp_id = $1",
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&corp_id, &limit, &offset];
    if let Some(any) = &any {
        params.push(any);
        sql.push_str(&format!(
            " AND conversation IN (SELECT conversation FROM conversation_participants \
             WHERE corp_id = $1 AND participant = ANY(${}))",
            params.len()
        ));
    }
    if let Some(person) = &person {
        params.push(person);
        sql.push_str(&format!(
            " AND conversation IN (SELECT conversation FROM conversation_participants \
             WHERE corp_id = $1 AND participant = ${})",
            params.len()
        ));
    }
    if let Some(key) = &key {
        params.push(key);
        sql.push_str(&format!(" AND conversation = ${}", params.len()));
    }
    if let Some(external) = &filter.external {
        params.push(external);
        sql.push_str(&format!(" AND external = ${}", params.len()));
    }
    if let Some(since) = &filter.active_since_ms {
        params.push(since);
        sql.push_str(&format!(" AND last_msgtime >= ${}", params.len()));
    }
    if let Some(until) = &filter.active_until_ms {
        params.push(until);
        sql.push_str(&format!(" AND first_msgtime < ${}", params.len()));
    }
    sql.push_str(" ORDER BY last_msgtime DESC, conversation LIMIT $2 OFFSET $3");
    let mut list = Vec::new();
    for row in tx.query(&sql, &params)? {
        let key: String = row.try_get(0)?;
        let parsed = ConversationKey::parse(&key);
        list.push(ConversationSummary {
            is_group: parsed.as_ref().is_some_and(ConversationKey::is_group),
            roomid: match parsed {
                Some(ConversationKey::Room(roomid)) => roomid,
                _ => String::new(),
            },
            key,
            messages: count(row.try_get(1)?),
            first_msgtime: row.try_get(2)?,
            last_msgtime: row.try_get(3)?,
            external: row.try_get(4)?,
            senders: Vec::new(),
            participants: Vec::new(),
            participant_count: 0,
        });
    }
    if list.is_empty() {
        return Ok(list);
    }
    // Senders, participants and their counts of every listed conversation in three queries.
    let keys: Vec<&str> = list.iter().map(|c| c.key.as_str()).collect();
    let mut senders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in tx.query(
        "SELECT k.key, s.from_id FROM unnest($2::text[]) AS k(key) \
         CROSS JOIN LATERAL (SELECT from_id FROM conversation_senders \
           WHERE corp_id = $1 AND conversation = k.key \
           ORDER BY messages DESC, from_id LIMIT $3) s",
        &[&corp_id, &keys, &MAX_SENDERS],
    )? {
        senders
            .entry(row.try_get(0)?)
            .or_default()
            .push(row.try_get(1)?);
    }
    let mut participants: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in tx.query(
        "SELECT k.key, p.participant FROM unnest($2::text[]) AS k(key) \
         CROSS JOIN LATERAL (SELECT participant FROM conversation_participants \
           WHERE corp_id = $1 AND conversation = k.key ORDER BY participant LIMIT $3) p",
        &[&corp_id, &keys, &sql_int(MAX_LISTED_PARTICIPANTS)],
    )? {
        participants
            .entry(row.try_get(0)?)
            .or_default()
            .push(row.try_get(1)?);
    }
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for row in tx.query(
        "SELECT conversation, count(*) FROM conversation_participants \
         WHERE corp_id = $1 AND conversation = ANY($2) GROUP BY conversation",
        &[&corp_id, &keys],
    )? {
        counts.insert(row.try_get(0)?, count(row.try_get(1)?));
    }
    for c in &mut list {
        c.senders = senders.remove(&c.key).unwrap_or_default();
        c.participants = participants.remove(&c.key).unwrap_or_default();
        c.participant_count = counts.get(&c.key).copied().unwrap_or_default();
    }
    Ok(list)
}

impl ArchiveReader for PgStore {
    fn cursor(&self, corp_id: &str) -> Result<u64, StoreError> {
        self.read("reading the cursor", |tx| read_cursor(tx, corp_id, false))
    }

    fn feed(
        &self,
        corp_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.read("reading the change feed", |tx| {
            let after = i64::try_from(after).unwrap_or(i64::MAX);
            messages(tx, SELECT_FEED, &[&corp_id, &after, &sql_int(limit)])
        })
    }

    fn feed_head(&self, corp_id: &str) -> Result<u64, StoreError> {
        self.read("reading the feed head", |tx| {
            let row = tx.query_opt(
                "SELECT last_pos FROM feed_heads WHERE corp_id = $1",
                &[&corp_id],
            )?;
            Ok(match row {
                Some(row) => count(row.try_get(0)?),
                None => 0,
            })
        })
    }

    fn follower_position(&self, corp_id: &str, follower: &str) -> Result<u64, StoreError> {
        self.read("reading a follower's position", |tx| {
            let row = tx.query_opt(
                "SELECT pos FROM follower_positions WHERE corp_id = $1 AND follower = $2",
                &[&corp_id, &follower],
            )?;
            Ok(match row {
                Some(row) => count(row.try_get(0)?),
                None => 0,
            })
        })
    }

    fn stats(&self, corp_id: &str) -> Result<Stats, StoreError> {
        self.read("reading stats", |tx| read_stats(tx, corp_id))
    }

    fn quarantined_items(
        &self,
        corp_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredQuarantine>, StoreError> {
        self.read("reading quarantined items", |tx| {
            const COLUMNS: &str = "seq, kind, reason, length(raw), cursor_seq, \
                 first_seen_at_ms, last_seen_at_ms, times_seen";
            let mut rows = Vec::new();
            for (lo, hi) in U64_ORDER {
                let remaining = sql_int(limit.saturating_sub(rows.len()));
                rows.extend(tx.query(
                    &format!(
                        "SELECT {COLUMNS} FROM quarantined_items WHERE corp_id = $1 \
                         AND seq BETWEEN $2 AND $3 ORDER BY seq, id LIMIT $4"
                    ),
                    &[&corp_id, &lo, &hi, &remaining],
                )?);
            }
            let remaining = sql_int(limit.saturating_sub(rows.len()));
            rows.extend(tx.query(
                &format!(
                    "SELECT {COLUMNS} FROM quarantined_items WHERE corp_id = $1 \
                     AND seq IS NULL ORDER BY id LIMIT $2"
                ),
                &[&corp_id, &remaining],
            )?);
            rows.iter()
                .map(|r| {
                    Ok(StoredQuarantine {
                        seq: r.try_get::<_, Option<i64>>(0)?.map(seq_from_sql),
                        kind: r.try_get(1)?,
                        reason: r.try_get(2)?,
                        raw_len: count(i64::from(r.try_get::<_, i32>(3)?)),
                        cursor_seq: seq_from_sql(r.try_get(4)?),
                        first_seen_at_ms: r.try_get(5)?,
                        last_seen_at_ms: r.try_get(6)?,
                        times_seen: count(r.try_get(7)?),
                    })
                })
                .collect()
        })
    }

    fn max_record_seq(&self, corp_id: &str) -> Result<Option<u64>, StoreError> {
        self.read("reading the largest seq", |tx| {
            let mut best = None;
            for (lo, hi) in U64_ORDER {
                let max: Option<i64> = tx
                    .query_one(
                        "SELECT max(seq) FROM records WHERE corp_id = $1 AND seq BETWEEN $2 AND $3",
                        &[&corp_id, &lo, &hi],
                    )?
                    .try_get(0)?;
                if let Some(m) = max {
                    best = Some(seq_from_sql(m));
                }
            }
            Ok(best)
        })
    }

    fn sample_records(
        &self,
        corp_id: &str,
        newest: usize,
    ) -> Result<Vec<ChatDataItem>, StoreError> {
        const OP: &str = "reading a sample of the stored records";
        self.read(OP, |tx| {
            // `id` is the order records were stored in.
            let rows = tx.query(
                "SELECT seq, msgid, publickey_ver, encrypt_random_key, encrypt_chat_msg \
                 FROM records WHERE corp_id = $1 AND (id IN ( \
                   SELECT id FROM records WHERE corp_id = $1 ORDER BY id DESC LIMIT $2) \
                 OR id IN ( \
                   SELECT max(id) FROM (SELECT id, publickey_ver FROM records \
                     WHERE corp_id = $1 ORDER BY id DESC LIMIT 10000) AS recent \
                   GROUP BY publickey_ver)) \
                 ORDER BY id DESC",
                &[&corp_id, &sql_int(newest)],
            )?;
            rows.iter()
                .map(|row| {
                    let ver: i64 = row.try_get(2)?;
                    Ok(ChatDataItem {
                        seq: seq_from_sql(row.try_get(0)?),
                        msgid: row.try_get(1)?,
                        publickey_ver: u32::try_from(ver)
                            .map_err(|_| damaged(OP, "publickey_ver"))?,
                        encrypt_random_key: row.try_get(3)?,
                        encrypt_chat_msg: row.try_get(4)?,
                    })
                })
                .collect()
        })
    }

    fn record_ids(&self, corp_id: &str) -> Result<Vec<(u64, String)>, StoreError> {
        self.read("reading record ids", |tx| {
            let mut out = Vec::new();
            for (lo, hi) in U64_ORDER {
                for row in tx.query(
                    "SELECT seq, msgid FROM records WHERE corp_id = $1 AND seq BETWEEN $2 AND $3 \
                     ORDER BY seq",
                    &[&corp_id, &lo, &hi],
                )? {
                    out.push((seq_from_sql(row.try_get(0)?), row.try_get(1)?));
                }
            }
            Ok(out)
        })
    }

    fn plaintext(&self, corp_id: &str, msgid: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let msgid = pg_text(msgid);
        self.read("reading a plaintext", |tx| {
            let message = tx.query_opt(
                "SELECT plaintext FROM messages WHERE corp_id = $1 AND msgid = $2",
                &[&corp_id, &msgid],
            )?;
            if let Some(row) = message {
                return Ok(Some(row.try_get(0)?));
            }
            let failure = tx.query_opt(
                "SELECT plaintext FROM failures WHERE corp_id = $1 AND msgid = $2",
                &[&corp_id, &msgid],
            )?;
            Ok(match failure {
                Some(row) => row.try_get(0)?,
                None => None,
            })
        })
    }

    fn conversations(
        &self,
        corp_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        self.conversation_list(corp_id, &ConversationFilter::default(), limit, offset)
    }

    fn conversation_list(
        &self,
        corp_id: &str,
        filter: &ConversationFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        self.read("listing conversations", |tx| {
            conversation_list(tx, corp_id, filter, limit, offset)
        })
    }

    fn conversation_messages_before(
        &self,
        corp_id: &str,
        key: &str,
        before: (i64, u64),
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let key = pg_text(key);
        self.read("reading a conversation", |tx| {
            let (msgtime, seq) = before;
            let mut page = messages(
                tx,
                SELECT_PAGE_BEFORE,
                &[&corp_id, &key, &msgtime, &seq_to_sql(seq), &sql_int(limit)],
            )?;
            page.reverse();
            Ok(page)
        })
    }

    fn conversation_involves(
        &self,
        corp_id: &str,
        key: &str,
        ids: &[String],
    ) -> Result<bool, StoreError> {
        if ids.is_empty() {
            return Ok(false);
        }
        let key = pg_text(key);
        let ids: Vec<String> = ids.iter().map(|id| pg_text(id).into_owned()).collect();
        self.read("reading a conversation's participants", |tx| {
            Ok(tx
                .query_opt(
                    "SELECT 1 FROM conversation_participants WHERE corp_id = $1 \
                     AND conversation = $2 AND participant = ANY($3) LIMIT 1",
                    &[&corp_id, &key, &ids],
                )?
                .is_some())
        })
    }

    fn conversations_involving(
        &self,
        corp_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(|id| pg_text(id).into_owned()).collect();
        self.read("finding conversations by participant", |tx| {
            let keys: BTreeSet<String> = tx
                .query(
                    "SELECT conversation FROM conversation_participants \
                     WHERE corp_id = $1 AND participant = ANY($2)",
                    &[&corp_id, &ids],
                )?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            Ok(keys.into_iter().collect())
        })
    }

    fn media_by_sha256(
        &self,
        corp_id: &str,
        sha256: &str,
    ) -> Result<Vec<MessageMedia>, StoreError> {
        super::media::media_by_sha256(self, corp_id, sha256)
    }

    fn messages_media(
        &self,
        corp_id: &str,
        msgids: &[String],
    ) -> Result<Vec<MessageMedia>, StoreError> {
        super::media::messages_media(self, corp_id, msgids)
    }

    fn department_members(
        &self,
        corp_id: &str,
        departments: &[u64],
    ) -> Result<Vec<String>, StoreError> {
        super::names::department_members(self, corp_id, departments)
    }

    fn conversation_messages(
        &self,
        corp_id: &str,
        key: &str,
        after: Option<(i64, u64)>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let key = pg_text(key);
        self.read("reading a conversation", |tx| match after {
            None => messages(tx, SELECT_PAGE, &[&corp_id, &key, &sql_int(limit)]),
            Some((msgtime, seq)) => messages(
                tx,
                SELECT_PAGE_AFTER,
                &[&corp_id, &key, &msgtime, &seq_to_sql(seq), &sql_int(limit)],
            ),
        })
    }

    fn message(&self, corp_id: &str, msgid: &str) -> Result<Option<StoredMessage>, StoreError> {
        let msgid = pg_text(msgid);
        self.read("reading a message", |tx| {
            Ok(messages(tx, SELECT_MESSAGE, &[&corp_id, &msgid])?
                .into_iter()
                .next())
        })
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.read("answering a ping", |tx| {
            tx.query_one("SELECT 1", &[])?;
            Ok(())
        })
    }

    fn seq_gaps(&self, corp_id: &str, limit: usize) -> Result<Vec<(u64, u64)>, StoreError> {
        // Seqs are stored as the i64 of the same bits, so u64 order is the non-negative range
        // followed by the negative one: gaps inside each, plus the one between them.
        self.read("reading seq gaps", |tx| {
            let mut out = Vec::new();
            let mut last_below: Option<u64> = None;
            for (lo, hi) in U64_ORDER {
                let bounds = tx.query_one(
                    "SELECT min(seq), max(seq) FROM records \
                     WHERE corp_id = $1 AND seq BETWEEN $2 AND $3",
                    &[&corp_id, &lo, &hi],
                )?;
                let (Some(min), Some(max)) = (
                    bounds.try_get::<_, Option<i64>>(0)?,
                    bounds.try_get::<_, Option<i64>>(1)?,
                ) else {
                    continue;
                };
                if let Some(below) = last_below {
                    let min = seq_from_sql(min);
                    if min > below + 1 && out.len() < limit {
                        out.push((below + 1, min - 1));
                    }
                }
                let remaining = sql_int(limit.saturating_sub(out.len()));
                for row in tx.query(
                    "SELECT prev, seq FROM ( \
                       SELECT seq, lag(seq) OVER (ORDER BY seq) AS prev \
                       FROM records WHERE corp_id = $1 AND seq BETWEEN $2 AND $3) AS s \
                     WHERE prev IS NOT NULL AND seq > prev + 1 ORDER BY seq LIMIT $4",
                    &[&corp_id, &lo, &hi, &remaining],
                )? {
                    let prev = seq_from_sql(row.try_get(0)?);
                    let seq = seq_from_sql(row.try_get(1)?);
                    out.push((prev + 1, seq - 1));
                }
                last_below = Some(seq_from_sql(max));
            }
            out.truncate(limit);
            Ok(out)
        })
    }

    fn daily_counts(&self, corp_id: &str) -> Result<Vec<(String, u64)>, StoreError> {
        // China time (UTC+8); times past year 9999 have no calendar day and are left out.
        self.read("counting messages per day", |tx| {
            tx.query(
                "SELECT to_char(timestamp '1970-01-01' \
                   + (msgtime / 1000 + 8 * 3600) * interval '1 second', 'YYYY-MM-DD') AS day, \
                   count(*) \
                 FROM messages WHERE corp_id = $1 AND msgtime > 0 AND msgtime < 253402272000000 \
                 GROUP BY day ORDER BY day",
                &[&corp_id],
            )?
            .iter()
            .map(|row| Ok((row.try_get(0)?, count(row.try_get(1)?))))
            .collect()
        })
    }

    fn media_stats(&self, corp_id: &str) -> Result<MediaStats, StoreError> {
        super::media::media_stats(self, corp_id)
    }

    fn media_jobs(
        &self,
        corp_id: &str,
        state: Option<MediaJobState>,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<MediaJob>, StoreError> {
        super::media::media_jobs(self, corp_id, state, after_id, limit)
    }

    fn message_media(&self, corp_id: &str, msgid: &str) -> Result<Vec<MessageMedia>, StoreError> {
        super::media::message_media(self, corp_id, msgid)
    }

    fn rooms(
        &self,
        corp_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<RoomEntry>, StoreError> {
        super::names::rooms(self, corp_id, limit, offset)
    }

    fn room(&self, corp_id: &str, roomid: &str) -> Result<Option<RoomDetail>, StoreError> {
        super::names::room(self, corp_id, roomid)
    }

    fn people(
        &self,
        corp_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<PersonEntry>, StoreError> {
        super::names::people(self, corp_id, limit, offset)
    }

    fn person(&self, corp_id: &str, id: &str) -> Result<Option<PersonEntry>, StoreError> {
        super::names::person(self, corp_id, id)
    }

    fn name_stats(&self, corp_id: &str) -> Result<NameStats, StoreError> {
        super::names::name_stats(self, corp_id)
    }

    fn display_names(
        &self,
        corp_id: &str,
        ids: &[String],
        roomid: Option<&str>,
    ) -> Result<Vec<DisplayName>, StoreError> {
        super::names::display_names(self, corp_id, ids, roomid)
    }

    fn permit_users(&self, corp_id: &str) -> Result<Vec<PermitUser>, StoreError> {
        super::names::permit_users(self, corp_id)
    }

    fn permit_checked_at(&self, corp_id: &str) -> Result<Option<i64>, StoreError> {
        super::names::permit_checked_at(self, corp_id)
    }

    fn consents(&self, corp_id: &str, id: &str) -> Result<Vec<Consent>, StoreError> {
        super::names::consents(self, corp_id, id)
    }
}
