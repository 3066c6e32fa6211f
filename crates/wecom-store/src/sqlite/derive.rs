//! Upgrading archives written before the message model (schema 1): every message whose derived
//! columns are still NULL is derived again from its kept JSON and linked, exactly as a page commit
//! would have. Batches of one transaction each, oldest first, so quoted replies find what they
//! quote, and an interrupted upgrade resumes where it stopped on the next open.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::links::Links;
use super::summary::Summaries;
use super::{err, warnings_to_sql};
use crate::StoreError;
use crate::rules::{self, LinkLookup, NewLinks, StoredEnvelope};

/// The schema version that added the derived columns.
pub(super) const SINCE_VERSION: i64 = 2;

/// Messages derived per transaction: small enough to keep a transaction short, large enough that
/// commits do not dominate.
const BATCH: i64 = 500;

/// Both served by the partial index `messages_underived`, which holds exactly these rows.
/// (The order makes SQLite pick that index; `EXISTS` alone would scan another one.)
pub(super) const SELECT_ANY_UNDERIVED: &str =
    "SELECT 1 FROM messages WHERE conversation IS NULL ORDER BY corp_id, msgtime LIMIT 1";
pub(super) const SELECT_UNDERIVED: &str = "SELECT corp_id, msgid, action, from_id, tolist, roomid, msgtime, \
     msgtype, json FROM messages WHERE conversation IS NULL ORDER BY corp_id, msgtime LIMIT ?1";
const UPDATE_DERIVED: &str = "UPDATE messages SET conversation = ?3, is_group = ?4, \
     external = ?5, updown_stream = ?6, recall_of = ?7, quote_user = ?8, quote_text = ?9, \
     quote_reply = ?10, quote_of = ?11, text = ?12, warnings = ?13 \
     WHERE corp_id = ?1 AND msgid = ?2";

/// A stored message without derived columns: its corp and envelope.
struct Underived {
    corp_id: String,
    envelope: StoredEnvelope,
}

/// Derives and links every message that has no derived columns yet; returns how many there were.
/// `schema` is the version the archive was migrated to: from [`super::summary::SINCE_VERSION`] on,
/// each derived message is counted into its conversation's summary too (and from
/// [`super::summary::PARTICIPANTS_SINCE_VERSION`] on, its participants).
pub(super) fn derive_pending(
    conn: &mut Connection,
    path: &Path,
    schema: i64,
) -> Result<u64, StoreError> {
    const OP: &str = "deriving stored messages";
    // A read first, so opening an upgraded archive takes no write lock for this.
    let pending = conn
        .query_row(SELECT_ANY_UNDERIVED, [], |_| Ok(()))
        .optional()
        .map_err(err(path, OP))?;
    if pending.is_none() {
        return Ok(0);
    }
    let mut total = 0;
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err(path, OP))?;
        let rows: Vec<Underived> = tx
            .prepare_cached(SELECT_UNDERIVED)
            .and_then(|mut stmt| {
                stmt.query_map([BATCH], |row| {
                    Ok(Underived {
                        corp_id: row.get(0)?,
                        envelope: StoredEnvelope {
                            msgid: row.get(1)?,
                            action: row.get(2)?,
                            from: row.get(3)?,
                            tolist: row.get(4)?,
                            roomid: row.get(5)?,
                            msgtime: row.get(6)?,
                            msgtype: row.get(7)?,
                            json: row.get(8)?,
                        },
                    })
                })?
                .collect()
            })
            .map_err(err(path, OP))?;
        if rows.is_empty() {
            return Ok(total);
        }
        {
            let mut update = tx.prepare_cached(UPDATE_DERIVED).map_err(err(path, OP))?;
            let mut links = Links::new(&tx, path)?;
            let mut summaries = if schema >= super::summary::SINCE_VERSION {
                Some(Summaries::for_schema(&tx, path, schema)?)
            } else {
                None
            };
            for row in &rows {
                let derived = rules::derive_again(&row.envelope);
                let (corp_id, msgid) = (row.corp_id.as_str(), row.envelope.msgid.as_str());
                let msgtime = row.envelope.msgtime;
                let NewLinks {
                    recalled_by,
                    quote_of,
                } = rules::links_for(&mut links, corp_id, msgid, msgtime, &derived)?;
                let quote = derived.quote.as_ref();
                update
                    .execute(params![
                        corp_id,
                        msgid,
                        derived.conversation,
                        derived.is_group,
                        derived.external,
                        derived.updown_stream,
                        derived.recall_of,
                        quote.map(|q| &q.user),
                        quote.map(|q| &q.text),
                        quote.map(|q| &q.reply),
                        quote_of,
                        derived.text,
                        warnings_to_sql(&derived.warnings),
                    ])
                    .map_err(err(path, OP))?;
                // Both directions, as in a commit: a recall derived in an earlier batch waits
                // for this message, and this recall marks a message derived or not.
                if let Some((by, at)) = recalled_by {
                    links.mark_recalled(corp_id, msgid, &by, at)?;
                }
                rules::mark_what_it_recalls(&mut links, corp_id, msgid, msgtime, &derived)?;
                if let Some(summaries) = &mut summaries {
                    // Unreadable stored tolists count as empty, as in the names' consent check.
                    let tolist: Vec<String> =
                        serde_json::from_str(&row.envelope.tolist).unwrap_or_default();
                    summaries.count(
                        corp_id,
                        &derived.conversation,
                        &row.envelope.from,
                        &tolist,
                        derived.external,
                        msgtime,
                    )?;
                }
            }
            if let Some(summaries) = &mut summaries {
                summaries.finish()?;
            }
        }
        tx.commit().map_err(err(path, OP))?;
        total += rows.len() as u64;
    }
}
