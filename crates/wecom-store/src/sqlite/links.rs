//! Links between stored messages: a recall record marks the message it recalls, a quoted reply
//! points at the message it quotes. Every path that stores a message (page commits, resolved
//! failures, the upgrade of older archives) links through here, so they all link alike.

use std::path::Path;

use rusqlite::{CachedStatement, Connection, OptionalExtension, params};

use super::err;
use crate::StoreError;
use crate::store::{QUOTE_WINDOW_MS, QuoteParts};

/// The first stored recall record of a msgid (earliest msgtime): a message stored after its
/// recall is marked on insert.
pub(super) const SELECT_RECALL_OF: &str = "SELECT msgid, msgtime FROM messages \
     WHERE corp_id = ?1 AND recall_of = ?2 ORDER BY msgtime, seq LIMIT 1";
/// A message keeps its first mark: a second recall of it changes nothing.
const MARK_RECALLED: &str = "UPDATE messages SET recalled_by = ?3, recalled_at_ms = ?4 \
     WHERE corp_id = ?1 AND msgid = ?2 AND recalled_by IS NULL";
/// Quote candidates, newest first: derived text messages of the conversation within the window.
/// A candidate that is itself a quoted reply is judged by its reply, which is what a quote of it
/// shows; its own quoted part would otherwise match quotes of the original.
pub(super) const SELECT_QUOTE_CANDIDATES: &str = "SELECT msgid, from_id, coalesce(quote_reply, text) \
     FROM messages \
     WHERE corp_id = ?1 AND conversation = ?2 AND msgtime BETWEEN ?3 AND ?4 \
       AND msgtype = 'text' AND msgid <> ?5 \
     ORDER BY msgtime DESC, seq DESC LIMIT ?6";

/// How many candidates one quote looks at, newest first. Replies quote recent messages, usually
/// among the last few; the cap bounds what a quote costs whose original is not in the archive,
/// which would otherwise read a whole busy week of a group (measured: ~2.6 µs per candidate, so
/// at most ~1.3 ms per unmatched quote).
const MAX_QUOTE_CANDIDATES: i64 = 500;

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

    /// The stored recall record of `msgid`, if one arrived before it: `(its msgid, its msgtime)`.
    pub(super) fn recall_waiting_for(
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

    /// Marks `target` as recalled by the record `by` at `at_ms`. Nothing happens if `target` is
    /// not stored (it is marked when it arrives) or is already marked.
    pub(super) fn mark_recalled(
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

    /// The msgid of the message `quote` quotes: the newest matching text message of
    /// `conversation` sent at most [`QUOTE_WINDOW_MS`] before `msgtime`, other than `msgid`.
    pub(super) fn find_quoted(
        &self,
        corp_id: &str,
        msgid: &str,
        conversation: &str,
        msgtime: i64,
        quote: &QuoteParts,
    ) -> Result<Option<String>, StoreError> {
        const OP: &str = "looking up a quoted message";
        let quote = quote.to_quote();
        let mut stmt = self
            .conn
            .prepare_cached(SELECT_QUOTE_CANDIDATES)
            .map_err(err(self.path, OP))?;
        let mut rows = stmt
            .query(params![
                corp_id,
                conversation,
                msgtime.saturating_sub(QUOTE_WINDOW_MS),
                msgtime,
                msgid,
                MAX_QUOTE_CANDIDATES,
            ])
            .map_err(err(self.path, OP))?;
        while let Some(row) = rows.next().map_err(err(self.path, OP))? {
            let from: String = row.get(1).map_err(err(self.path, OP))?;
            let text: Option<String> = row.get(2).map_err(err(self.path, OP))?;
            if wecom_model::quote_matches(&quote, &from, text.as_deref().unwrap_or_default()) {
                return row.get(0).map(Some).map_err(err(self.path, OP));
            }
        }
        Ok(None)
    }
}
