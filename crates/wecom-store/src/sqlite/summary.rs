//! The conversation summaries (`conversations`, `conversation_senders`; 0007) and participants
//! (`conversation_participants`, `conversations.external`; 0009): kept in the same transaction
//! as every stored message, so listing conversations reads no message rows and a reviewer's
//! scope is one index lookup.
//!
//! Participants are gathered per transaction and written once each when it finishes
//! ([`Summaries::finish`]): a room message lists its whole membership in `tolist`, so writing
//! them per message would cost a statement per member per message.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rusqlite::{CachedStatement, Connection, OptionalExtension, TransactionBehavior, params};

use super::err;
use crate::StoreError;
use crate::rules;

/// The schema version that added the summaries.
pub(super) const SINCE_VERSION: i64 = 7;

/// The schema version that added participants and the external flag.
pub(super) const PARTICIPANTS_SINCE_VERSION: i64 = 9;

const UPSERT_CONVERSATION: &str = "INSERT INTO conversations \
     (corp_id, conversation, messages, first_msgtime, last_msgtime) VALUES (?1, ?2, 1, ?3, ?3) \
     ON CONFLICT (corp_id, conversation) DO UPDATE SET messages = messages + 1, \
     first_msgtime = min(first_msgtime, excluded.first_msgtime), \
     last_msgtime = max(last_msgtime, excluded.last_msgtime)";
const UPSERT_SENDER: &str = "INSERT INTO conversation_senders \
     (corp_id, conversation, from_id, messages) VALUES (?1, ?2, ?3, 1) \
     ON CONFLICT (corp_id, conversation, from_id) DO UPDATE SET messages = messages + 1";
const INSERT_PARTICIPANT: &str = "INSERT OR IGNORE INTO conversation_participants \
     (corp_id, conversation, participant) VALUES (?1, ?2, ?3)";
pub(super) const MARK_EXTERNAL: &str = "UPDATE conversations SET external = 1 \
     WHERE corp_id = ?1 AND conversation = ?2 AND external = 0";

/// What one transaction found about a conversation's participants.
#[derive(Default)]
struct Seen {
    participants: BTreeSet<String>,
    external: bool,
}

/// The summary statements of one write transaction.
pub(super) struct Summaries<'c> {
    path: &'c Path,
    conversation: CachedStatement<'c>,
    sender: CachedStatement<'c>,
    /// `None` on a schema before [`PARTICIPANTS_SINCE_VERSION`] (tests of old archives).
    participants: Option<(CachedStatement<'c>, CachedStatement<'c>)>,
    /// Per corp, per conversation: the participants and external flag seen in this transaction.
    seen: BTreeMap<String, BTreeMap<String, Seen>>,
}

impl<'c> Summaries<'c> {
    /// The statements of an archive at the newest schema.
    pub(super) fn new(conn: &'c Connection, path: &'c Path) -> Result<Summaries<'c>, StoreError> {
        Summaries::for_schema(conn, path, super::migrate::latest_version())
    }

    /// The statements of an archive at schema `schema` (at least [`SINCE_VERSION`]).
    pub(super) fn for_schema(
        conn: &'c Connection,
        path: &'c Path,
        schema: i64,
    ) -> Result<Summaries<'c>, StoreError> {
        const OP: &str = "updating conversation summaries";
        let participants = if schema >= PARTICIPANTS_SINCE_VERSION {
            Some((
                conn.prepare_cached(INSERT_PARTICIPANT)
                    .map_err(err(path, OP))?,
                conn.prepare_cached(MARK_EXTERNAL).map_err(err(path, OP))?,
            ))
        } else {
            None
        };
        Ok(Summaries {
            path,
            conversation: conn
                .prepare_cached(UPSERT_CONVERSATION)
                .map_err(err(path, OP))?,
            sender: conn.prepare_cached(UPSERT_SENDER).map_err(err(path, OP))?,
            participants,
            seen: BTreeMap::new(),
        })
    }

    /// Counts one newly stored (or newly derived) message into its conversation's summary and
    /// notes its participants (`from` and `tolist`) and whether it makes the conversation
    /// external (`external_msgid`: the `_external` msgid flag), for [`Self::finish`].
    pub(super) fn count(
        &mut self,
        corp_id: &str,
        conversation: &str,
        from: &str,
        tolist: &[String],
        external_msgid: bool,
        msgtime: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "updating conversation summaries";
        self.conversation
            .execute(params![corp_id, conversation, msgtime])
            .map_err(err(self.path, OP))?;
        self.sender
            .execute(params![corp_id, conversation, from])
            .map_err(err(self.path, OP))?;
        if self.participants.is_none() {
            return Ok(());
        }
        let corp = match self.seen.get_mut(corp_id) {
            Some(corp) => corp,
            None => self.seen.entry(corp_id.to_owned()).or_default(),
        };
        let seen = match corp.get_mut(conversation) {
            Some(seen) => seen,
            None => corp.entry(conversation.to_owned()).or_default(),
        };
        seen.external |= external_msgid;
        for id in rules::participants(from, tolist) {
            // Each id is judged once per transaction: one seen before was judged then.
            if !seen.participants.contains(id) {
                seen.external |= rules::makes_external(id);
                seen.participants.insert(id.to_owned());
            }
        }
        Ok(())
    }

    /// Writes the participants and external flags gathered since the last call: each
    /// (conversation, participant) pair once. Call it before the transaction commits.
    pub(super) fn finish(&mut self) -> Result<(), StoreError> {
        const OP: &str = "recording conversation participants";
        let Some((insert, mark)) = &mut self.participants else {
            return Ok(());
        };
        for (corp_id, conversations) in std::mem::take(&mut self.seen) {
            for (conversation, seen) in conversations {
                for participant in &seen.participants {
                    insert
                        .execute(params![corp_id, conversation, participant])
                        .map_err(err(self.path, OP))?;
                }
                if seen.external {
                    mark.execute(params![corp_id, conversation])
                        .map_err(err(self.path, OP))?;
                }
            }
        }
        Ok(())
    }
}

/// Every distinct (corp, participant) pair, for the external backfill.
pub(super) const SELECT_ALL_PARTICIPANTS: &str = "SELECT DISTINCT corp_id, participant \
     FROM conversation_participants ORDER BY corp_id, participant";
/// Marks every conversation of a participant external.
pub(super) const MARK_EXTERNAL_OF_PARTICIPANT: &str = "UPDATE conversations SET external = 1 \
     WHERE corp_id = ?1 AND external = 0 AND conversation IN (SELECT conversation \
     FROM conversation_participants WHERE corp_id = ?1 AND participant = ?2)";

/// After migration 0009: marks external every conversation with a participant that is an
/// external contact or a robot by shape ([`rules::makes_external`], which SQL cannot say
/// exactly), in one transaction that also deletes the `external_backfill` row, so an
/// interrupted pass runs again on the next open and a finished one never does. Returns how many
/// participants were found external.
pub(super) fn backfill_external(conn: &mut Connection, path: &Path) -> Result<u64, StoreError> {
    const OP: &str = "marking external conversations";
    let pending = conn
        .query_row("SELECT 1 FROM external_backfill WHERE id = 1", [], |_| {
            Ok(())
        })
        .optional()
        .map_err(err(path, OP))?;
    if pending.is_none() {
        return Ok(0);
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err(path, OP))?;
    let mut found = 0;
    {
        let external: Vec<(String, String)> = tx
            .prepare(SELECT_ALL_PARTICIPANTS)
            .and_then(|mut stmt| {
                stmt.query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })?
                .filter(|r| r.as_ref().map_or(true, |(_, id)| rules::makes_external(id)))
                .collect()
            })
            .map_err(err(path, OP))?;
        let mut mark = tx
            .prepare(MARK_EXTERNAL_OF_PARTICIPANT)
            .map_err(err(path, OP))?;
        for (corp_id, participant) in &external {
            mark.execute(params![corp_id, participant])
                .map_err(err(path, OP))?;
            found += 1;
        }
        tx.execute("DELETE FROM external_backfill", [])
            .map_err(err(path, OP))?;
    }
    tx.commit().map_err(err(path, OP))?;
    Ok(found)
}
