//! MediaQueue on PostgreSQL, and the media reads of ArchiveReader.
//!
//! Several nodes share one queue. A claim locks the due jobs it takes (`FOR UPDATE SKIP LOCKED`:
//! two nodes claiming at once never take the same job and never wait on each other) and marks
//! them `downloading` with the claiming node and a deadline ([`CLAIM_MS`] ahead). A claim whose
//! deadline passed belongs to a node that died or stalled: any node may claim the job again. So
//! does a claim of a node whose heartbeat lapsed (`cluster_nodes`: every node of a cluster beats
//! with each lease renewal, so a killed node's jobs return within its lease time, not
//! [`CLAIM_MS`]); a store that never beat (a single-node command) keeps its claims for
//! [`CLAIM_MS`].
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

/// How long a claim holds, in milliseconds: two hours. A job claimed at `now_ms` is not handed to
/// another node before `now_ms + CLAIM_MS`; after that its claim has lapsed (its node died, or
/// stalled far longer than any download takes: WeCom serves files of at most a few hundred MB,
/// fetched in chunks within minutes) and any node's claim takes it again. Two hours keeps a slow
/// download's claim safe and still returns a dead node's jobs long before WeCom's retention of a
/// few days runs out. A node whose claim lapsed can still complete the job (`Done`: verified
/// bytes are the truth), but its other results no longer apply.
pub const CLAIM_MS: i64 = 2 * 60 * 60 * 1000;

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
     AND (claim_until_ms IS NULL OR claim_until_ms < $2 OR claimed_by IN (SELECT node FROM cluster_nodes WHERE expires_at < now())) \
     AND msgtime_ms >= $3 ORDER BY msgtime_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED";
/// Jobs whose claim lapsed, past the window.
const SELECT_LAPSED_PAST: &str = "SELECT id, msgtime_ms FROM media_jobs \
     WHERE corp_id = $1 AND state = 'downloading' \
     AND (claim_until_ms IS NULL OR claim_until_ms < $2 OR claimed_by IN (SELECT node FROM cluster_nodes WHERE expires_at < now())) \
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
                      OR claim_until_ms < $2 \
                      OR claimed_by IN (SELECT node FROM cluster_nodes WHERE expires_at < now()))",
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
        let by_state =
            tx.prepare("SELECT state, count(*) FROM media_jobs WHERE corp_id = $1 GROUP BY state")?;
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Barrier};

    use super::super::tests::support::TestSchema;
    use super::super::{PgOptions, PgStore};
    use super::CLAIM_MS;
    use crate::MediaQueue;
    use crate::media::{
        MediaArea, MediaJobError, MediaJobOutcome, MediaJobResult, MediaJobState, MediaObject,
    };

    const CORP: &str = "wwpgmedia0001";
    const NOW: i64 = 1_700_000_100_000;
    const BASE: i64 = 1_700_000_000_000;

    fn node(schema: &TestSchema, name: &str) -> PgStore {
        let options = PgOptions {
            node: name.to_owned(),
            ..schema.options()
        };
        PgStore::open(&options).expect("open the PostgreSQL store")
    }

    /// `n` committed messages with one image each (message `i` at `BASE + i`), inserted with SQL
    /// as `commit_page` stores them; returns the job ids by message.
    fn seed(schema: &TestSchema, n: i64) -> Vec<i64> {
        let mut client = schema.client();
        client
            .execute(
                "INSERT INTO records (corp_id, seq, msgid, publickey_ver, encrypt_random_key, \
                 encrypt_chat_msg, fetched_at_ms) \
                 SELECT $1, i, 'm' || i, 1, '', '', $3 FROM generate_series(1, $2::bigint) AS i",
                &[&CORP, &n, &NOW],
            )
            .expect("records");
        client
            .execute(
                "INSERT INTO messages (corp_id, msgid, seq, action, from_id, tolist, roomid, \
                 msgtime, msgtype, json, plaintext, feed_pos) \
                 SELECT $1, 'm' || i, i, 'send', 'ken', '[\"icef\"]', '', $3 + i, 'image', '{}', \
                 '\\x7b7d'::bytea, i FROM generate_series(1, $2::bigint) AS i",
                &[&CORP, &n, &BASE],
            )
            .expect("messages");
        client
            .query(
                "INSERT INTO media_jobs (corp_id, msgid, path, sdkfileid, kind, extension, \
                 md5_expected, msgtime_ms, state, attempts, md5_mismatches, next_attempt_at_ms, \
                 created_at_ms, updated_at_ms) \
                 SELECT $1, 'm' || i, 'image', 'sdk' || i, 'image', 'jpg', '', $3 + i, \
                 'pending', 0, 0, 0, $4, $4 FROM generate_series(1, $2::bigint) AS i \
                 ORDER BY i RETURNING id",
                &[&CORP, &n, &BASE, &NOW],
            )
            .expect("jobs")
            .iter()
            .map(|row| row.get(0))
            .collect()
    }

    /// (state, claimed_by) of job `id`.
    fn claim_of(schema: &TestSchema, id: i64) -> (String, Option<String>) {
        let row = schema
            .client()
            .query_one(
                "SELECT state, claimed_by FROM media_jobs WHERE id = $1",
                &[&id],
            )
            .expect("job");
        (row.get(0), row.get(1))
    }

    fn retry(job_id: i64) -> MediaJobResult {
        MediaJobResult {
            job_id,
            outcome: MediaJobOutcome::Retry {
                next_attempt_at_ms: NOW + 60_000,
                error: MediaJobError {
                    code: "network".into(),
                    message: "connection reset".into(),
                },
            },
            md5_mismatches: 0,
        }
    }

    fn done(job_id: i64) -> MediaJobResult {
        let sha256 = "a".repeat(64);
        MediaJobResult {
            job_id,
            outcome: MediaJobOutcome::Done(MediaObject {
                key: format!("objects/{sha256}"),
                sha256,
                size: 10,
                md5: "0".repeat(32),
                content_type: "image/jpeg".into(),
                backend: "fs".into(),
                area: MediaArea::Objects,
            }),
            md5_mismatches: 0,
        }
    }

    #[test]
    fn two_nodes_claiming_at_once_get_disjoint_jobs_covering_the_queue() {
        let schema = TestSchema::new();
        let a = Arc::new(node(&schema, "node-a"));
        let b = Arc::new(node(&schema, "node-b"));
        let all: BTreeSet<i64> = seed(&schema, 60).into_iter().collect();
        let start = Arc::new(Barrier::new(2));
        let claimer = |store: Arc<PgStore>, start: Arc<Barrier>| {
            std::thread::spawn(move || {
                start.wait();
                let mut mine = Vec::new();
                loop {
                    let jobs = store
                        .claim_media_jobs(CORP, NOW, i64::MIN, 4)
                        .expect("claim");
                    if jobs.is_empty() {
                        return mine;
                    }
                    mine.extend(jobs.into_iter().map(|j| {
                        assert_eq!(j.state, MediaJobState::Downloading);
                        j.id
                    }));
                }
            })
        };
        let ta = claimer(Arc::clone(&a), Arc::clone(&start));
        let tb = claimer(Arc::clone(&b), start);
        let from_a = ta.join().expect("node a");
        let from_b = tb.join().expect("node b");
        let set_a: BTreeSet<i64> = from_a.iter().copied().collect();
        let set_b: BTreeSet<i64> = from_b.iter().copied().collect();
        assert_eq!(set_a.len(), from_a.len(), "node a got a job twice");
        assert_eq!(set_b.len(), from_b.len(), "node b got a job twice");
        assert!(
            set_a.is_disjoint(&set_b),
            "both nodes got {:?}",
            set_a.intersection(&set_b)
        );
        assert_eq!(&set_a | &set_b, all, "every due job was claimed");
        for id in &set_a {
            assert_eq!(
                claim_of(&schema, *id),
                ("downloading".into(), Some("node-a".into()))
            );
        }
        for id in &set_b {
            assert_eq!(
                claim_of(&schema, *id),
                ("downloading".into(), Some("node-b".into()))
            );
        }
        let claim_until: i64 = schema
            .client()
            .query_one("SELECT max(claim_until_ms) FROM media_jobs", &[])
            .expect("claims")
            .get(0);
        assert_eq!(claim_until, NOW + CLAIM_MS);
    }

    #[test]
    fn a_claim_skips_jobs_locked_by_another_claim_instead_of_waiting() {
        let schema = TestSchema::new();
        let b = node(&schema, "node-b");
        let ids = seed(&schema, 3);
        // Another node's claim transaction, still open, holding the oldest job.
        let mut other = schema.client();
        let mut held = other.transaction().expect("begin");
        held.query(
            "SELECT id FROM media_jobs WHERE id = $1 FOR UPDATE",
            &[&ids[0]],
        )
        .expect("lock");
        let claimed: Vec<i64> = b
            .claim_media_jobs(CORP, NOW, i64::MIN, 10)
            .expect("claim")
            .iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(claimed, ids[1..]);
        held.rollback().expect("rollback");
        let rest: Vec<i64> = b
            .claim_media_jobs(CORP, NOW, i64::MIN, 10)
            .expect("claim")
            .iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(rest, ids[..1]);
    }

    #[test]
    fn requeue_takes_own_lapsed_and_unclaimed_jobs_never_a_live_claim() {
        let schema = TestSchema::new();
        let a = node(&schema, "node-a");
        let b = node(&schema, "node-b");
        let ids = seed(&schema, 4);
        let claimed = a.claim_media_jobs(CORP, NOW, i64::MIN, 2).expect("claim");
        assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), ids[..2]);
        // A job left downloading without a claimant (nobody can finish it).
        schema
            .client()
            .execute(
                "UPDATE media_jobs SET state = 'downloading' WHERE id = $1",
                &[&ids[3]],
            )
            .expect("orphan");

        assert_eq!(
            b.requeue_interrupted_media_jobs(CORP, NOW + 1)
                .expect("requeue"),
            1
        );
        assert_eq!(claim_of(&schema, ids[3]), ("pending".into(), None));
        for id in &ids[..2] {
            assert_eq!(
                claim_of(&schema, *id),
                ("downloading".into(), Some("node-a".into()))
            );
        }
        // Node a restarting takes its own back.
        assert_eq!(
            a.requeue_interrupted_media_jobs(CORP, NOW + 2)
                .expect("requeue"),
            2
        );
        for id in &ids[..2] {
            assert_eq!(claim_of(&schema, *id), ("pending".into(), None));
        }
        // A claim that lapsed is anyone's to requeue.
        a.claim_media_jobs(CORP, NOW, i64::MIN, 1).expect("claim");
        assert_eq!(
            b.requeue_interrupted_media_jobs(CORP, NOW + CLAIM_MS)
                .expect("requeue"),
            0
        );
        assert_eq!(
            b.requeue_interrupted_media_jobs(CORP, NOW + CLAIM_MS + 1)
                .expect("requeue"),
            1
        );
        assert_eq!(claim_of(&schema, ids[0]), ("pending".into(), None));
    }

    #[test]
    fn a_dead_nodes_claims_return_when_its_heartbeat_lapses() {
        let schema = TestSchema::new();
        let a = node(&schema, "node-a");
        let b = node(&schema, "node-b");
        let ids = seed(&schema, 2);
        // Node a beats (as a cluster node does with every lease renewal), then claims.
        a.acquire_lease(CORP, std::time::Duration::from_secs(3600))
            .expect("lease");
        assert_eq!(
            a.claim_media_jobs(CORP, NOW, i64::MIN, 10)
                .expect("claim")
                .len(),
            2
        );
        assert!(
            b.claim_media_jobs(CORP, NOW, i64::MIN, 10)
                .expect("claim")
                .is_empty(),
            "a live node's claims are its own"
        );
        // Its heartbeat lapses (it died): the claims are anyone's long before CLAIM_MS.
        schema
            .client()
            .execute(
                "UPDATE cluster_nodes SET expires_at = now() - interval '1 second' \
                 WHERE node = 'node-a'",
                &[],
            )
            .expect("lapse");
        let taken = b.claim_media_jobs(CORP, NOW, i64::MIN, 10).expect("claim");
        assert_eq!(taken.iter().map(|j| j.id).collect::<Vec<_>>(), ids);
        for id in &ids {
            assert_eq!(
                claim_of(&schema, *id),
                ("downloading".into(), Some("node-b".into()))
            );
        }
        // And a requeue by a third node finds nothing of b's live claims to take.
        let c = node(&schema, "node-c");
        assert_eq!(
            c.requeue_interrupted_media_jobs(CORP, NOW)
                .expect("requeue"),
            0
        );
    }

    #[test]
    fn a_lapsed_claim_passes_to_another_node_and_only_done_still_applies() {
        let schema = TestSchema::new();
        let a = node(&schema, "node-a");
        let b = node(&schema, "node-b");
        let ids = seed(&schema, 2);
        assert_eq!(
            a.claim_media_jobs(CORP, NOW, i64::MIN, 10)
                .expect("claim")
                .len(),
            2
        );
        assert!(
            b.claim_media_jobs(CORP, NOW + CLAIM_MS, i64::MIN, 10)
                .expect("claim")
                .is_empty(),
            "a live claim is not taken"
        );
        let taken = b
            .claim_media_jobs(CORP, NOW + CLAIM_MS + 1, i64::MIN, 10)
            .expect("claim");
        assert_eq!(taken.iter().map(|j| j.id).collect::<Vec<_>>(), ids);
        assert!(taken.iter().all(|j| j.state == MediaJobState::Downloading));
        for id in &ids {
            assert_eq!(
                claim_of(&schema, *id),
                ("downloading".into(), Some("node-b".into()))
            );
        }

        // Node a finishes late: its failure and its release no longer apply...
        let late = NOW + CLAIM_MS + 2;
        assert_eq!(
            a.record_media_results(CORP, &[retry(ids[0])], late)
                .expect("record"),
            0
        );
        assert!(
            !a.release_media_job(CORP, ids[0], late).expect("release"),
            "a lapsed claim is not released by its old node"
        );
        assert_eq!(
            claim_of(&schema, ids[0]),
            ("downloading".into(), Some("node-b".into()))
        );
        // ...but verified bytes are the truth.
        assert_eq!(
            a.record_media_results(CORP, &[done(ids[1])], late)
                .expect("record"),
            1
        );
        assert_eq!(claim_of(&schema, ids[1]), ("done".into(), None));
        assert_eq!(
            b.record_media_results(CORP, &[retry(ids[1])], late)
                .expect("record"),
            0
        );
        assert_eq!(claim_of(&schema, ids[1]).0, "done");
        // The holder's own result applies.
        assert_eq!(
            b.record_media_results(CORP, &[retry(ids[0])], late)
                .expect("record"),
            1
        );
        assert_eq!(claim_of(&schema, ids[0]), ("failed_retryable".into(), None));
    }

    #[test]
    fn lapsed_claims_are_taken_in_the_at_risk_order() {
        let schema = TestSchema::new();
        let b = node(&schema, "node-b");
        let ids = seed(&schema, 4);
        // Jobs 0 and 2 were claimed by a node that died; 1 and 3 are pending.
        schema
            .client()
            .execute(
                "UPDATE media_jobs SET state = 'downloading', claimed_by = 'dead', \
                 claim_until_ms = $2 WHERE id = ANY($1)",
                &[&vec![ids[0], ids[2]], &(NOW - 1)],
            )
            .expect("dead claims");
        // The edge between messages 2 and 3 (msgtimes BASE+2, BASE+3): inside oldest first,
        // then past newest first.
        let order: Vec<i64> = b
            .claim_media_jobs(CORP, NOW, BASE + 3, 10)
            .expect("claim")
            .iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(order, vec![ids[2], ids[3], ids[1], ids[0]]);
        let limited: Vec<i64> = {
            b.requeue_interrupted_media_jobs(CORP, NOW)
                .expect("requeue");
            b.claim_media_jobs(CORP, NOW, BASE + 3, 3)
                .expect("claim")
                .iter()
                .map(|j| j.id)
                .collect()
        };
        assert_eq!(limited, vec![ids[2], ids[3], ids[1]]);
    }
}
