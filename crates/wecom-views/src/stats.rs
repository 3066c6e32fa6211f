//! What an archive holds: the `stats` document (records, decryption, quarantine, media, names,
//! completeness) and the media queue's status.

use std::collections::BTreeMap;

use serde::Serialize;
use wecom_store::names::NameStats;
use wecom_store::{ArchiveReader, MediaStats, Stats, StoreError};

/// How many seq holes [`archive_stats`] reads, and how many of them it lists.
const GAPS_READ: usize = 1000;
const GAPS_LISTED: usize = 20;

/// One corp's archive in figures ([`archive_stats`]): the `stats` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArchiveStats {
    #[serde(flatten)]
    pub counts: ArchiveCounts,
    pub media: MediaView,
    pub names: NamesView,
    pub seq_gaps: SeqGapsView,
    /// Decrypted messages per day (China time, `YYYY-MM-DD`), oldest first.
    pub per_day: BTreeMap<String, u64>,
    /// The search index's figures; `None` (null) when the index does not exist or cannot be
    /// read. Views do not read the index: the caller that can fills it in.
    pub search: Option<SearchFigures>,
}

/// The search index of a corp in figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchFigures {
    /// Messages in the index.
    pub indexed: u64,
    /// Messages stored but not indexed yet.
    pub lag: u64,
}

/// Records, decryption and quarantine in figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArchiveCounts {
    pub corp_id: String,
    /// Encrypted records stored.
    pub records: u64,
    /// Records stored as decrypted messages.
    pub decrypted: u64,
    /// Records with a pending failure, and those by SDK-style code.
    pub failed: u64,
    pub failed_by_code: BTreeMap<i32, u64>,
    pub distinct_msgids: u64,
    /// The stored cursor (0 if none).
    pub cursor_seq: u64,
    /// Decrypted messages per msgtype (`switch`, `(none)` for other records without one).
    pub by_msgtype: BTreeMap<String, u64>,
    /// Decrypted messages per action.
    pub by_action: BTreeMap<String, u64>,
    /// The first and last message time among decrypted messages (Unix ms).
    pub first_msgtime: Option<i64>,
    pub last_msgtime: Option<i64>,
    /// Items kept raw in quarantine, in all and by kind.
    pub quarantined: u64,
    pub quarantined_by_kind: BTreeMap<String, u64>,
}

impl ArchiveCounts {
    /// The counts of `s`, the figures of `corp_id`.
    pub fn new(corp_id: &str, s: &Stats) -> ArchiveCounts {
        ArchiveCounts {
            corp_id: corp_id.to_owned(),
            records: s.records,
            decrypted: s.decrypted,
            failed: s.failed,
            failed_by_code: s.failed_by_code.clone(),
            distinct_msgids: s.distinct_msgids,
            cursor_seq: s.cursor_seq,
            by_msgtype: s.by_msgtype.clone(),
            by_action: s.by_action.clone(),
            first_msgtime: s.first_msgtime,
            last_msgtime: s.last_msgtime,
            quarantined: s
                .quarantined_by_kind
                .values()
                .fold(0, |a, n| a.saturating_add(*n)),
            quarantined_by_kind: s.quarantined_by_kind.clone(),
        }
    }
}

/// The media queue and the stored objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaView {
    /// Jobs in all.
    pub total: u64,
    pub done: u64,
    /// Not finished yet: waiting and downloading.
    pub pending: u64,
    pub downloading: u64,
    /// Failed jobs, to retry and given up.
    pub failed: u64,
    pub failed_retryable: u64,
    pub failed_permanent: u64,
    /// Expired on WeCom's word.
    pub expired: u64,
    /// Failed and expired jobs by error code.
    pub failed_by_code: BTreeMap<String, u64>,
    /// Distinct verified objects and their bytes.
    pub objects: u64,
    pub bytes: u64,
    pub quarantined_objects: u64,
    /// The oldest message time (Unix ms) among unfinished jobs.
    pub oldest_pending_msgtime: Option<i64>,
    /// Where the objects are kept, as configured (a folder, or `s3://bucket/prefix`).
    pub media_dir: String,
}

impl MediaView {
    /// The figures of `m`, stored at `media_dir`.
    pub fn new(m: &MediaStats, media_dir: &str) -> MediaView {
        MediaView {
            total: m.total,
            done: m.done,
            pending: m.pending.saturating_add(m.downloading),
            downloading: m.downloading,
            failed: m.failed_retryable.saturating_add(m.failed_permanent),
            failed_retryable: m.failed_retryable,
            failed_permanent: m.failed_permanent,
            expired: m.expired,
            failed_by_code: m.failed_by_code.clone(),
            objects: m.objects,
            bytes: m.bytes,
            quarantined_objects: m.quarantined_objects,
            oldest_pending_msgtime: m.oldest_pending_msgtime_ms,
            media_dir: media_dir.to_owned(),
        }
    }
}

/// Names, scope and consent in figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamesView {
    pub rooms_total: u64,
    pub rooms_named: u64,
    pub rooms_unresolvable: u64,
    pub rooms_unchecked: u64,
    pub people_total: u64,
    pub people_named: u64,
    pub people_unresolvable: u64,
    pub people_unchecked: u64,
    /// Userids in the archive scope.
    pub permit_users: u64,
    pub consent_agree: u64,
    pub consent_disagree: u64,
}

impl From<&NameStats> for NamesView {
    fn from(n: &NameStats) -> NamesView {
        NamesView {
            rooms_total: n.rooms_total,
            rooms_named: n.rooms_named,
            rooms_unresolvable: n.rooms_unresolvable,
            rooms_unchecked: n.rooms_unchecked,
            people_total: n.people_total,
            people_named: n.people_named,
            people_unresolvable: n.people_unresolvable,
            people_unchecked: n.people_unchecked,
            permit_users: n.permit_users,
            consent_agree: n.consent_agree,
            consent_disagree: n.consent_disagree,
        }
    }
}

/// Completeness: the holes between the lowest and the highest archived seq (normal for records
/// of members outside the archive scope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeqGapsView {
    /// Holes found (at most 1000 are read).
    pub count: usize,
    /// Seqs missing in those holes.
    pub missing_seqs: u64,
    /// The first 20 holes, as inclusive `[first, last]` pairs.
    pub ranges: Vec<(u64, u64)>,
}

impl SeqGapsView {
    fn new(gaps: &[(u64, u64)]) -> SeqGapsView {
        SeqGapsView {
            count: gaps.len(),
            missing_seqs: gaps
                .iter()
                .map(|(a, b)| b.saturating_sub(*a).saturating_add(1))
                .fold(0, u64::saturating_add),
            ranges: gaps.iter().take(GAPS_LISTED).copied().collect(),
        }
    }
}

/// The `stats` document of a corp; `media_dir` is where its media objects are kept, as
/// configured.
pub fn archive_stats(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    media_dir: &str,
) -> Result<ArchiveStats, StoreError> {
    let counts = ArchiveCounts::new(corp_id, &reader.stats(corp_id)?);
    let media = reader.media_stats(corp_id)?;
    let gaps = reader.seq_gaps(corp_id, GAPS_READ)?;
    let days = reader.daily_counts(corp_id)?;
    let names = reader.name_stats(corp_id)?;
    Ok(ArchiveStats {
        counts,
        media: MediaView::new(&media, media_dir),
        names: NamesView::from(&names),
        seq_gaps: SeqGapsView::new(&gaps),
        per_day: days.into_iter().collect(),
        search: None,
    })
}

/// The media queue now (`media status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MediaStatus {
    #[serde(flatten)]
    pub media: MediaView,
    /// How old the oldest unfinished job's message is (seconds), measured at `now_ms`.
    pub oldest_pending_age_seconds: Option<i64>,
}

/// The media queue of a corp at `now_ms` (Unix ms), its objects kept at `media_dir`.
pub fn media_status(
    reader: &dyn ArchiveReader,
    corp_id: &str,
    media_dir: &str,
    now_ms: i64,
) -> Result<MediaStatus, StoreError> {
    let m = reader.media_stats(corp_id)?;
    Ok(MediaStatus {
        oldest_pending_age_seconds: m
            .oldest_pending_msgtime_ms
            .map(|t| now_ms.saturating_sub(t).max(0) / 1000),
        media: MediaView::new(&m, media_dir),
    })
}
