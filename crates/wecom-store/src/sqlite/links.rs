//! The SQLite answers to [`LinkLookup`]: the lookups and marks that link stored messages. The
//! rules themselves (what links to what) are in [`crate::rules`]; every path that stores a message
//! (page commits, resolved failures, the upgrade of older archives) links through them.

use std::path::Path;

use rusqlite::{CachedStatement, Connection, OptionalExtension, params};

use super::{err, sql_int};
use crate::StoreError;
use crate::rules::LinkLookup;

/// The first stored recall record of a msgid (earliest msgtime): a message stored after its
/// recall is marked on insert.
pub(super) const SELECT_RECALL_OF: &str = "SELECT msgid, msgtime FROM messages \
     WHERE corp_id = ?1 AND recall_of = ?2 ORDER BY msgtime, seq LIMIT 1";
/// A message keeps its first mark: a second recall of it changes nothing.
const MARK_RECALLED: &str = "UPDATE messages SET recalled_by = ?3, recalled_at_ms = ?4 \
     WHERE corp_id = ?1 AND msgid = ?2 AND recalled_by IS NULL";
/// Quote candidates, newest first: derived text messages of the conversation within the window,
/// a quoted reply by its reply.
pub(super) const SELECT_QUOTE_CANDIDATES: &str = "SELECT msgid, from_id, coalesce(quote_reply, text) \
     FROM messages \
     WHERE corp_id = ?1 AND conversation = ?2 AND msgtime BETWEEN ?3 AND ?4 \
       AND msgtype = 'text' AND msgid <> ?5 \
     ORDER BY msgtime DESC, seq DESC LIMIT ?6";

/// The link statements of one write transaction.
pub(super) struct Links<'c> {
    conn: &'c Connection,
    path: &'c Path,
    recall_of: CachedStatement<'c>,
    mark_recalled: CachedStatement<'c>,
}

impl<'c> Links<'c> {
    pub(super) fn new(conn: &'c Connection, path: &'c Path) -> Result<Links<'c>, StoreError> {
        Ok(Links {
            conn,
            path,
            recall_of: conn
                .prepare_cached(SELECT_RECALL_OF)
                .map_err(err(path, "looking up recalls"))?,
            mark_recalled: conn
                .prepare_cached(MARK_RECALLED)
                .map_err(err(path, "marking a recalled message"))?,
        })
    }
}

impl LinkLookup for Links<'_> {
    fn recall_waiting_for(
        &mut self,
        corp_id: &str,
        msgid: &str,
    ) -> Result<Option<(String, i64)>, StoreError> {
        self.recall_of
            .query_row(params![corp_id, msgid], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
            .map_err(err(self.path, "looking up recalls"))
    }

    fn mark_recalled(
        &mut self,
        corp_id: &str,
        target: &str,
        by: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        self.mark_recalled
            .execute(params![corp_id, target, by, at_ms])
            .map_err(err(self.path, "marking a recalled message"))?;
        Ok(())
    }

    fn first_quote_candidate(
        &mut self,
        corp_id: &str,
        msgid: &str,
        conversation: &str,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
        matches: &mut dyn FnMut(&str, &str) -> bool,
    ) -> Result<Option<String>, StoreError> {
        const OP: &str = "looking up a quoted message";
        let mut stmt = self
            .conn
            .prepare_cached(SELECT_QUOTE_CANDIDATES)
            .map_err(err(self.path, OP))?;
        let mut rows = stmt
            .query(params![
                corp_id,
                conversation,
                from_ms,
                to_ms,
                msgid,
                sql_int(limit)
            ])
            .map_err(err(self.path, OP))?;
        while let Some(row) = rows.next().map_err(err(self.path, OP))? {
            let from: String = row.get(1).map_err(err(self.path, OP))?;
            let text: Option<String> = row.get(2).map_err(err(self.path, OP))?;
            if matches(&from, text.as_deref().unwrap_or_default()) {
                return row.get(0).map(Some).map_err(err(self.path, OP));
            }
        }
        Ok(None)
    }
}
