//! The sync cursor's status (`cursor show`): where it stands against the archived records and
//! what lies in quarantine that it cannot move past by itself.

use serde::Serialize;
use wecom_store::{ArchiveReader, StoreError, StoredQuarantine};

/// How many quarantined items are read to count those above the cursor, and how many are listed.
const QUARANTINE_READ: usize = 10_000;
const QUARANTINE_LISTED: usize = 20;

/// The cursor of a corp and the quarantine around it ([`cursor_status`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CursorStatus {
    pub corp_id: String,
    /// The stored cursor: the next sync fetches the records after it.
    pub cursor: u64,
    /// The largest archived seq, if any record is stored.
    pub max_archived_seq: Option<u64>,
    /// Items kept raw in quarantine.
    pub quarantined: u64,
    /// Of those (among the first 10,000 by seq), the ones above the cursor or without a seq.
    pub quarantined_above_cursor: usize,
    /// The first 20 quarantined items by seq.
    pub quarantined_items: Vec<QuarantinedItemView>,
}

/// An item kept raw in quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuarantinedItemView {
    pub seq: Option<u64>,
    /// `unparseable`, `implausible_seq` or `seq_jump`.
    pub kind: String,
    /// Why, in words; server-provided text may be inside (escape it for a terminal).
    pub reason: String,
    /// Size of the kept bytes.
    pub bytes: u64,
    /// The cursor when the item was first seen.
    pub cursor_when_seen: u64,
    /// How many pages brought it.
    pub times_seen: u64,
    /// When it was first and last seen (Unix ms).
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}

impl From<&StoredQuarantine> for QuarantinedItemView {
    fn from(q: &StoredQuarantine) -> QuarantinedItemView {
        QuarantinedItemView {
            seq: q.seq,
            kind: q.kind.clone(),
            reason: q.reason.clone(),
            bytes: q.raw_len,
            cursor_when_seen: q.cursor_seq,
            times_seen: q.times_seen,
            first_seen_ms: q.first_seen_at_ms,
            last_seen_ms: q.last_seen_at_ms,
        }
    }
}

/// The cursor status of a corp.
pub fn cursor_status(
    reader: &dyn ArchiveReader,
    corp_id: &str,
) -> Result<CursorStatus, StoreError> {
    let cursor = reader.cursor(corp_id)?;
    let max_archived_seq = reader.max_record_seq(corp_id)?;
    let stats = reader.stats(corp_id)?;
    let items = reader.quarantined_items(corp_id, QUARANTINE_READ)?;
    Ok(CursorStatus {
        corp_id: corp_id.to_owned(),
        cursor,
        max_archived_seq,
        quarantined: stats.quarantined_by_kind.values().sum(),
        quarantined_above_cursor: items
            .iter()
            .filter(|q| q.seq.is_none_or(|s| s > cursor))
            .count(),
        quarantined_items: items
            .iter()
            .take(QUARANTINE_LISTED)
            .map(QuarantinedItemView::from)
            .collect(),
    })
}
