//! The conversation summaries (`conversations`, `conversation_senders`; 0007): kept in the same
//! transaction as every stored message, so listing conversations reads no message rows.

use std::path::Path;

use rusqlite::{CachedStatement, Connection, params};

use super::err;
use crate::StoreError;

/// The schema version that added the summaries.
pub(super) const SINCE_VERSION: i64 = 7;

const UPSERT_CONVERSATION: &str = "INSERT INTO conversations \
     (corp_id, conversation, messages, first_msgtime, last_msgtime) VALUES (?1, ?2, 1, ?3, ?3) \
     ON CONFLICT (corp_id, conversation) DO UPDATE SET messages = messages + 1, \
     first_msgtime = min(first_msgtime, excluded.first_msgtime), \
     last_msgtime = max(last_msgtime, excluded.last_msgtime)";
const UPSERT_SENDER: &str = "INSERT INTO conversation_senders \
     (corp_id, conversation, from_id, messages) VALUES (?1, ?2, ?3, 1) \
     ON CONFLICT (corp_id, conversation, from_id) DO UPDATE SET messages = messages + 1";

/// The summary statements of one write transaction.
pub(super) struct Summaries<'c> {
    path: &'c Path,
    conversation: CachedStatement<'c>,
    sender: CachedStatement<'c>,
}

impl<'c> Summaries<'c> {
    pub(super) fn new(conn: &'c Connection, path: &'c Path) -> Result<Summaries<'c>, StoreError> {
        const OP: &str = "updating conversation summaries";
        Ok(Summaries {
            path,
            conversation: conn
                .prepare_cached(UPSERT_CONVERSATION)
                .map_err(err(path, OP))?,
            sender: conn.prepare_cached(UPSERT_SENDER).map_err(err(path, OP))?,
        })
    }

    /// Counts one newly stored (or newly derived) message into its conversation's summary.
    pub(super) fn count(
        &mut self,
        corp_id: &str,
        conversation: &str,
        from: &str,
        msgtime: i64,
    ) -> Result<(), StoreError> {
        const OP: &str = "updating conversation summaries";
        self.conversation
            .execute(params![corp_id, conversation, msgtime])
            .map_err(err(self.path, OP))?;
        self.sender
            .execute(params![corp_id, conversation, from])
            .map_err(err(self.path, OP))?;
        Ok(())
    }
}
