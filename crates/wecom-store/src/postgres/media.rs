//! MediaQueue on PostgreSQL, and the media reads of ArchiveReader.
//!
//! Several nodes share one queue. A claim locks the due jobs it takes (`FOR UPDATE SKIP LOCKED`:
//! two nodes claiming at once never take the same job and never wait on each other) and marks
//! them `downloading` with the claiming node and a deadline ([`CLAIM_MS`] ahead). A claim whose
//! deadline passed belongs to a node that died or stalled: any node may claim the job again.
//! Results other than `Done` apply only to a job this node still holds; `Done` completes any job
//! not done yet (verified bytes are the truth, whoever fetched them).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use postgres::{Row, Transaction};

use super::{PgStore, TxError, pg_text};
use crate::StoreError;
use crate::media::{
    MediaArea, MediaJob, MediaJobError, MediaJobOutcome, MediaJobResult, MediaJobState,
    MediaObject, MediaStats, MessageMedia,
};
use crate::store::MediaQueue;

/// How long a claim holds, in milliseconds: 30 minutes. A job claimed at `now_ms` is not handed
/// to another node before `now_ms + CLAIM_MS`; after that its claim has lapsed (the node died, or
/// stalled far longer than any download takes: WeCom serves files of at most a few hundred MB,
/// fetched in chunks within minutes) and any node's claim takes it again. A node whose claim
/// lapsed can still complete the job (`Done`), but its other results no longer apply.
pub const CLAIM_MS: i64 = 30 * 60 * 1000;

/// The columns [`job_from_row`] reads, in its order.
const JOB_COLUMNS: &str = "id, msgid, path, sdkfileid, kind, extension, md5_expected, \
     size_expected, msgtime_ms, state, attempts, md5_mismatches, error_code, last_error, \
     next_attempt_at_ms, created_at_ms, updated_at_ms, sha256";

/// Due jobs (`pending`, or `failed_retryable` and due) inside the retention window (message at or
/// after the edge `$3`), nearest to the edge first: the partial index `media_jobs_due` in order.
const SELECT_DUE_INSIDE: &str = "SELECT id, msgtime_ms FROM media_jobs \
     WHERE corp_id = $1 AND state IN ('pending', 'failed_retryable') AND next_attempt_at_ms <= $2 \
     AND msgtime_ms >= $3 ORDER BY msgtime_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED";
/// Due jobs past the window (message before the edge), nearest to the edge first: the same index
/// read backwards.
const SELECT_DUE_PAST: &str = "SELECT id, msgtime_ms FROM media_jobs \
     WHERE corp_id = $1 AND state IN ('pending', 'failed_retryable') AND next_attempt_at_ms <= $2 \
     AND msgtime_ms < $3 ORDER BY msgtime_ms DESC, id DESC LIMIT $4 FOR UPDATE SKIP LOCKED";
/// Jobs whose claim lapsed (or that have none), inside the window: found through the partial
/// index `media_jobs_claimed` (few rows: only the jobs of dead nodes).
const SELECT_LAPSED_INSIDE: &str = "SELECT id, msgtime_ms FROM media_jobs \
     WHERE corp_id = $1 AND state = 'downloading' \
     AND (claim_until_ms IS NULL OR claim_until_ms < $2) \
     AND msgtime_ms >= $3 ORDER BY msgtime_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED";
/// Jobs whose claim lapsed, past the window.
const SELECT_LAPSED_PAST: &str = "SELECT id, msgtime_ms FROM media_jobs \
     WHERE corp_id = $1 AND state = 'downloading' \
     AND (claim_until_ms IS NULL OR claim_until_ms < $2) \
     AND msgtime_ms < $3 ORDER BY msgtime_ms DESC, id DESC LIMIT $4 FOR UPDATE SKIP LOCKED";

const INSERT_OBJECT: &str = "INSERT INTO media_objects \
     (corp_id, area, sha256, size, md5, content_type, backend, key, first_stored_at_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING";

/// Jobs with their objects: the given `WHERE` text (over `j`, the jobs) follows.
macro_rules! select_jobs_with_objects {
    ($tail:literal) => {
        concat!(
            "SELECT j.id, j.msgid, j.path, j.sdkfileid, j.kind, j.extension, j.md5_expected, \
             j.size_expected, j.msgtime_ms, j.state, j.attempts, j.md5_mismatches, j.error_code, \
             j.last_error, j.next_attempt_at_ms, j.created_at_ms, j.updated_at_ms, j.sha256, \
             o.area, o.size, o.md5, o.content_type, o.backend, o.key \
             FROM media_jobs j LEFT JOIN media_objects o \
               ON o.corp_id = j.corp_id AND o.area = j.object_area AND o.sha256 = j.sha256 ",
            $tail
        )
    };
}

const SELECT_MESSAGE_MEDIA: &str =
    select_jobs_with_objects!("WHERE j.corp_id = $1 AND j.msgid = $2 ORDER BY j.id");
/// Msgids as one array, so every list has the same statement.
const SELECT_MESSAGES_MEDIA: &str =
    select_jobs_with_objects!("WHERE j.corp_id = $1 AND j.msgid = ANY($2) ORDER BY j.id");
/// Served by the partial index `media_jobs_sha256`.
const SELECT_MEDIA_BY_SHA256: &str =
    select_jobs_with_objects!("WHERE j.corp_id = $1 AND j.sha256 = $2 ORDER BY j.id");

/// A value read back that this build cannot understand (a damaged or foreign row).
fn unreadable(store_target: &str, op: &'static str, cause: String) -> TxError {
    TxError::Store(StoreError::Corrupt {
        path: PathBuf::from(store_target),
        op,
        cause,
    })
}

/// A count or size as stored (never negative) as the API's unsigned value.
fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

/// A small counter as stored as the API's `u32` (saturating).
fn small(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

fn sql_int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn state_from_sql(target: &str, op: &'static str, text: &str) -> Result<MediaJobState, TxError> {
    text.parse()
        .map_err(|e: crate::media::UnknownMediaJobState| unreadable(target, op, e.to_string()))
}

fn area_from_sql(target: &str, op: &'static str, text: &str) -> Result<MediaArea, TxError> {
    match text {
        "objects" => Ok(MediaArea::Objects),
        "quarantine" => Ok(MediaArea::Quarantine),
        other => Err(unreadable(
            target,
            op,
            format!(
                "unknown media area {:?}",
                other.chars().take(40).collect::<String>()
            ),
        )),
    }
}

/// A job from the first 18 columns of `row` ([`JOB_COLUMNS`]).
fn job_from_row(target: &str, op: &'static str, row: &Row) -> Result<MediaJob, TxError> {
    let state: String = row.try_get(9)?;
    Ok(MediaJob {
        id: row.try_get(0)?,
        msgid: row.try_get(1)?,
        path: row.try_get(2)?,
        sdkfileid: row.try_get(3)?,
        kind: row.try_get(4)?,
        extension: row.try_get(5)?,
        md5_expected: row.try_get(6)?,
        size_expected: row.try_get::<_, Option<i64>>(7)?.map(unsigned),
        msgtime_ms: row.try_get(8)?,
        state: state_from_sql(target, op, &state)?,
        attempts: small(row.try_get(10)?),
        md5_mismatches: small(row.try_get(11)?),
        error_code: row.try_get(12)?,
        last_error: row.try_get(13)?,
        next_attempt_at_ms: row.try_get(14)?,
        created_at_ms: row.try_get(15)?,
        updated_at_ms: row.try_get(16)?,
        sha256: row.try_get(17)?,
    })
}

/// A row of [`select_jobs_with_objects`].
fn job_with_object(target: &str, op: &'static str, row: &Row) -> Result<MessageMedia, TxError> {
    let job = job_from_row(target, op, row)?;
    let area: Option<String> = row.try_get(18)?;
    let object = match (area, &job.sha256) {
        (Some(area), Some(sha256)) => Some(MediaObject {
            sha256: sha256.clone(),
            area: area_from_sql(target, op, &area)?,
            size: unsigned(row.try_get(19)?),
            md5: row.try_get(20)?,
            content_type: row.try_get(21)?,
            backend: row.try_get(22)?,
            key: row.try_get(23)?,
        }),
        _ => None,
    };
    Ok(MessageMedia { job, object })
}

/// Takes up to `limit` jobs of one side of the retention edge: due ones and lapsed claims, each
/// query in that side's order, merged in it. Rows locked and not taken stay untouched (their
/// locks end with the transaction).
fn claim_side(
    tx: &mut Transaction<'_>,
    corp_id: &str,
    now_ms: i64,
    retention_edge_ms: i64,
    limit: usize,
    past: bool,
) -> Result<Vec<i64>, TxError> {
    let (due_sql, lapsed_sql) = if past {
        (SELECT_DUE_PAST, SELECT_LAPSED_PAST)
    } else {
        (SELECT_DUE_INSIDE, SELECT_LAPSED_INSIDE)
    };
    let mut found: Vec<(i64, i64)> = Vec::new();
    for sql in [due_sql, lapsed_sql] {
        let stmt = tx.prepare(sql)?;
        for row in tx.query(
            &stmt,
            &[&corp_id, &now_ms, &retention_edge_ms, &sql_int(limit)],
        )? {
            let id: i64 = row.try_get(0)?;
            let msgtime_ms: i64 = row.try_get(1)?;
            found.push((msgtime_ms, id));
        }
    }
    found.sort_unstable();
    if past {
        found.reverse();
    }
    found.truncate(limit);
    Ok(found.into_iter().map(|(_, id)| id).collect())
}

impl MediaQueue for PgStore {
    fn claim_media_jobs(
        &self,
        corp_id: &str,
        now_ms: i64,
        retention_edge_ms: i64,
        limit: usize,
    ) -> Result<Vec<MediaJob>, StoreError> {
        const OP: &str = "claiming media jobs";
        if limit == 0 {
            return Ok(Vec::new());
        }
        let corp_id = pg_text(corp_id);
        let corp_id = corp_id.as_ref();
        let node = self.node().to_owned();
        let target = self.target().to_owned();
        let until = now_ms.saturating_add(CLAIM_MS);
        self.write(OP, |tx| {
            let mut ids = claim_side(tx, corp_id, now_ms, retention_edge_ms, limit, false)?;
            let left = limit.saturating_sub(ids.len());
            if left > 0 {
                ids.extend(claim_side(
                    tx,
                    corp_id,
                    now_ms,
                    retention_edge_ms,
                    left,
                    true,
                )?);
            }
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let stmt = tx.prepare(&format!(
                "UPDATE media_jobs SET state = 'downloading', claimed_by = $3, \
                 claim_until_ms = $4, updated_at_ms = $5 \
                 WHERE corp_id = $1 AND id = ANY($2) RETURNING {JOB_COLUMNS}"
            ))?;
            let rows = tx.query(&stmt, &[&corp_id, &ids, &node, &until, &now_ms])?;
            let mut by_id: HashMap<i64, MediaJob> = HashMap::with_capacity(rows.len());
            for row in &rows {
                let job = job_from_row(&target, OP, row)?;
                by_id.insert(job.id, job);
            }
            // In claim order (RETURNING has none).
            Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
        })
    }

    fn record_media_results(
        &self,
        corp_id: &str,
        results: &[MediaJobResult],
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        const OP: &str = "recording media results";
        if results.is_empty() {
            return Ok(0);
        }
        let corp_id = pg_text(corp_id);
        let corp_id = corp_id.as_ref();
        let node = self.node().to_owned();
        self.write(OP, |tx| {
            let insert_object = tx.prepare(INSERT_OBJECT)?;
            // A verified object is the truth whatever the job's state or claim (a claim that
            // lapsed and finished late still stored the right bytes); every other result applies
            // only to the claim it belongs to: a job still downloading under this node's claim.
            let done = tx.prepare(
                "UPDATE media_jobs SET state = 'done', sha256 = $3, object_area = 'objects', \
                 attempts = attempts + 1, md5_mismatches = md5_mismatches + $4, \
                 error_code = NULL, last_error = NULL, claimed_by = NULL, \
                 claim_until_ms = NULL, updated_at_ms = $5 \
                 WHERE corp_id = $1 AND id = $2 AND state <> 'done'",
            )?;
            let failed = tx.prepare(
                "UPDATE media_jobs SET state = $3, attempts = attempts + 1, \
                 md5_mismatches = md5_mismatches + $4, error_code = $5, last_error = $6, \
                 next_attempt_at_ms = coalesce($7, next_attempt_at_ms), \
                 sha256 = coalesce($8, sha256), object_area = coalesce($9, object_area), \
                 claimed_by = NULL, claim_until_ms = NULL, updated_at_ms = $10 \
                 WHERE corp_id = $1 AND id = $2 AND state = 'downloading' AND claimed_by = $11",
            )?;
            let deferred = tx.prepare(
                "UPDATE media_jobs SET state = 'failed_retryable', \
                 md5_mismatches = md5_mismatches + $3, error_code = $4, last_error = $5, \
                 next_attempt_at_ms = $6, claimed_by = NULL, claim_until_ms = NULL, \
                 updated_at_ms = $7 \
                 WHERE corp_id = $1 AND id = $2 AND state = 'downloading' AND claimed_by = $8",
            )?;
            let released = tx.prepare(
                "UPDATE media_jobs SET state = 'pending', md5_mismatches = md5_mismatches + $3, \
                 claimed_by = NULL, claim_until_ms = NULL, updated_at_ms = $4 \
                 WHERE corp_id = $1 AND id = $2 AND state = 'downloading' AND claimed_by = $5",
            )?;
            let mut applied = 0u64;
            for r in results {
                let mismatches = i64::from(r.md5_mismatches);
                let store_object = |tx: &mut Transaction<'_>, o: &MediaObject| {
                    tx.execute(
                        &insert_object,
                        &[
                            &corp_id,
                            &o.area.as_str(),
                            &o.sha256,
                            &i64::try_from(o.size).unwrap_or(i64::MAX),
                            &o.md5,
                            &o.content_type,
                            &o.backend,
                            &o.key,
                            &now_ms,
                        ],
                    )
                };
                let fail = |tx: &mut Transaction<'_>,
                            state: MediaJobState,
                            error: &MediaJobError,
                            next: Option<i64>,
                            object: Option<&MediaObject>| {
                    tx.execute(
                        &failed,
                        &[
                            &corp_id,
                            &r.job_id,
                            &state.as_str(),
                            &mismatches,
                            &error.code,
                            &pg_text(&error.message).as_ref(),
                            &next,
                            &object.map(|o| o.sha256.as_str()),
                            &object.map(|o| o.area.as_str()),
                            &now_ms,
                            &node,
                        ],
                    )
                };
                let n = match &r.outcome {
                    MediaJobOutcome::Done(object) => {
                        store_object(tx, object)?;
                        tx.execute(
                            &done,
                            &[&corp_id, &r.job_id, &object.sha256, &mismatches, &now_ms],
                        )?
                    }
                    MediaJobOutcome::Retry {
                        next_attempt_at_ms,
                        error,
                    } => fail(
                        tx,
                        MediaJobState::FailedRetryable,
                        error,
                        Some(*next_attempt_at_ms),
                        None,
                    )?,
                    MediaJobOutcome::Permanent { error, quarantined } => {
                        if let Some(object) = quarantined {
                            store_object(tx, object)?;
                        }
                        fail(
                            tx,
                            MediaJobState::FailedPermanent,
                            error,
                            None,
                            quarantined.as_ref(),
                        )?
                    }
                    MediaJobOutcome::Expired { error } => {
                        fail(tx, MediaJobState::Expired, error, None, None)?
                    }
                    MediaJobOutcome::Deferred {
                        next_attempt_at_ms,
                        error,
                    } => tx.execute(
                        &deferred,
                        &[
                            &corp_id,
                            &r.job_id,
                            &mismatches,
                            &error.code,
                            &pg_text(&error.message).as_ref(),
                            next_attempt_at_ms,
                            &now_ms,
                            &node,
                        ],
                    )?,
                    MediaJobOutcome::Released => tx.execute(
                        &released,
                        &[&corp_id, &r.job_id, &mismatches, &now_ms, &node],
                    )?,
                };
                applied += n;
            }
            Ok(applied)
        })
    }

    fn requeue_interrupted_media_jobs(
        &self,
        corp_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let corp_id = pg_text(corp_id);
        let corp_id = corp_id.as_ref();
        let node = self.node().to_owned();
        self.write("requeueing interrupted media jobs", |tx| {
            // This node's own claims (it restarted), lapsed claims (their node died) and jobs
            // nobody claims; never a live claim of another node.
            let mine_or_lapsed = tx.prepare(
                "UPDATE media_jobs SET state = 'pending', claimed_by = NULL, \
                 claim_until_ms = NULL, updated_at_ms = $2 \
                 WHERE corp_id = $1 AND state = 'downloading' \
                 AND (claimed_by IS NULL OR claimed_by = $3 OR claim_until_ms IS NULL \
                      OR claim_until_ms < $2)",
            )?;
            let mut n = tx.execute(&mine_or_lapsed, &[&corp_id, &now_ms, &node])?;
            // Jobs that earlier versions expired by the clock, without ever asking WeCom.
            let clock_expired = tx.prepare(
                "UPDATE media_jobs SET state = 'pending', next_attempt_at_ms = 0, \
                 updated_at_ms = $2 \
                 WHERE corp_id = $1 AND state = 'expired' AND error_code = 'retention_window'",
            )?;
            n += tx.execute(&clock_expired, &[&corp_id, &now_ms])?;
            Ok(n)
        })
    }

    fn retry_media_jobs(
        &self,
        corp_id: &str,
        include_permanent: bool,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let corp_id = pg_text(corp_id);
        let corp_id = corp_id.as_ref();
        self.write("retrying media jobs", |tx| {
            let retryable = tx.prepare(
                "UPDATE media_jobs SET state = 'pending', next_attempt_at_ms = $2, \
                 updated_at_ms = $2 WHERE corp_id = $1 AND state = 'failed_retryable'",
            )?;
            let mut n = tx.execute(&retryable, &[&corp_id, &now_ms])?;
            if include_permanent {
                // A fresh budget: otherwise the first failure would end it again at once.
                let permanent = tx.prepare(
                    "UPDATE media_jobs SET state = 'pending', attempts = 0, md5_mismatches = 0, \
                     next_attempt_at_ms = $2, updated_at_ms = $2 \
                     WHERE corp_id = $1 AND state = 'failed_permanent'",
                )?;
                n += tx.execute(&permanent, &[&corp_id, &now_ms])?;
            }
            Ok(n)
        })
    }
}

/// Jobs with their objects, read by `sql` with `params`.
fn read_media(
    store: &PgStore,
    op: &'static str,
    sql: &'static str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Vec<MessageMedia>, StoreError> {
    let target = store.target().to_owned();
    store.read(op, |tx| {
        let stmt = tx.prepare(sql)?;
        tx.query(&stmt, params)?
            .iter()
            .map(|row| job_with_object(&target, op, row))
            .collect()
    })
}

pub(super) fn media_by_sha256(
    store: &PgStore,
    corp_id: &str,
    sha256: &str,
) -> Result<Vec<MessageMedia>, StoreError> {
    let (corp_id, sha256) = (pg_text(corp_id), pg_text(sha256));
    read_media(
        store,
        "finding media by content",
        SELECT_MEDIA_BY_SHA256,
        &[&corp_id.as_ref(), &sha256.as_ref()],
    )
}

pub(super) fn messages_media(
    store: &PgStore,
    corp_id: &str,
    msgids: &[String],
) -> Result<Vec<MessageMedia>, StoreError> {
    if msgids.is_empty() {
        return Ok(Vec::new());
    }
    let corp_id = pg_text(corp_id);
    let msgids: Vec<String> = msgids.iter().map(|m| pg_text(m).into_owned()).collect();
    read_media(
        store,
        "reading messages' media",
        SELECT_MESSAGES_MEDIA,
        &[&corp_id.as_ref(), &msgids],
    )
}

pub(super) fn media_stats(store: &PgStore, corp_id: &str) -> Result<MediaStats, StoreError> {
    const OP: &str = "reading media stats";
    let corp_id = pg_text(corp_id);
    let corp_id = corp_id.as_ref();
    let target = store.target().to_owned();
    store.read(OP, |tx| {
        let mut s = MediaStats::default();
        let by_state = tx.prepare(
            "SELECT state, count(*) FROM media_jobs WHERE corp_id = $1 GROUP BY state",
        )?;
        for row in tx.query(&by_state, &[&corp_id])? {
            let state: String = row.try_get(0)?;
            let n = unsigned(row.try_get(1)?);
            *match state_from_sql(&target, OP, &state)? {
                MediaJobState::Pending => &mut s.pending,
                MediaJobState::Downloading => &mut s.downloading,
                MediaJobState::Done => &mut s.done,
                MediaJobState::FailedRetryable => &mut s.failed_retryable,
                MediaJobState::FailedPermanent => &mut s.failed_permanent,
                MediaJobState::Expired => &mut s.expired,
            } = n;
            s.total += n;
        }
        let by_code = tx.prepare(
            "SELECT coalesce(error_code, 'unknown'), count(*) FROM media_jobs \
             WHERE corp_id = $1 AND state IN ('failed_retryable', 'failed_permanent', 'expired') \
             GROUP BY 1",
        )?;
        s.failed_by_code = tx
            .query(&by_code, &[&corp_id])?
            .iter()
            .map(|row| Ok((row.try_get(0)?, unsigned(row.try_get(1)?))))
            .collect::<Result<BTreeMap<String, u64>, TxError>>()?;
        let areas = tx.prepare(
            "SELECT area, count(*), coalesce(sum(size), 0)::bigint FROM media_objects \
             WHERE corp_id = $1 GROUP BY area",
        )?;
        for row in tx.query(&areas, &[&corp_id])? {
            let area: String = row.try_get(0)?;
            let n = unsigned(row.try_get(1)?);
            let bytes = unsigned(row.try_get(2)?);
            match area_from_sql(&target, OP, &area)? {
                MediaArea::Objects => (s.objects, s.bytes) = (n, bytes),
                MediaArea::Quarantine => (s.quarantined_objects, s.quarantined_bytes) = (n, bytes),
            }
        }
        let oldest = tx.prepare(
            "SELECT min(msgtime_ms) FROM media_jobs WHERE corp_id = $1 \
             AND state IN ('pending', 'downloading', 'failed_retryable')",
        )?;
        s.oldest_pending_msgtime_ms = tx.query_one(&oldest, &[&corp_id])?.try_get(0)?;
        let next = tx.prepare(
            "SELECT min(next_attempt_at_ms) FROM media_jobs \
             WHERE corp_id = $1 AND state = 'failed_retryable'",
        )?;
        s.next_attempt_at_ms = tx.query_one(&next, &[&corp_id])?.try_get(0)?;
        Ok(s)
    })
}

pub(super) fn media_jobs(
    store: &PgStore,
    corp_id: &str,
    state: Option<MediaJobState>,
    after_id: i64,
    limit: usize,
) -> Result<Vec<MediaJob>, StoreError> {
    const OP: &str = "listing media jobs";
    let corp_id = pg_text(corp_id);
    let corp_id = corp_id.as_ref();
    let target = store.target().to_owned();
    let state = state.map(MediaJobState::as_str);
    store.read(OP, |tx| {
        let stmt = tx.prepare(&format!(
            "SELECT {JOB_COLUMNS} FROM media_jobs WHERE corp_id = $1 AND id > $2 \
             AND ($3::text IS NULL OR state = $3) ORDER BY id LIMIT $4"
        ))?;
        tx.query(&stmt, &[&corp_id, &after_id, &state, &sql_int(limit)])?
            .iter()
            .map(|row| job_from_row(&target, OP, row))
            .collect()
    })
}

pub(super) fn message_media(
    store: &PgStore,
    corp_id: &str,
    msgid: &str,
) -> Result<Vec<MessageMedia>, StoreError> {
    let (corp_id, msgid) = (pg_text(corp_id), pg_text(msgid));
    read_media(
        store,
        "reading a message's media",
        SELECT_MESSAGE_MEDIA,
        &[&corp_id.as_ref(), &msgid.as_ref()],
    )
}
