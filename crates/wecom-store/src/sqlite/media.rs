//! The media queue on SQLite: jobs inserted with their messages, claims at risk first, results
//! recorded in batches, requeue after a crash, operator retries, counts, and the
//! backfill that gives archives written before the queue their jobs.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use rusqlite::{CachedStatement, Connection, Row, TransactionBehavior, params};
use wecom_model::{MediaRef, parse_envelope};

use super::{count, err, sql_int};
use crate::StoreError;
use crate::media::{
    MediaArea, MediaJob, MediaJobError, MediaJobOutcome, MediaJobResult, MediaJobState,
    MediaObject, MediaStats, MessageMedia,
};

/// The schema version that added the queue.
pub(super) const SINCE_VERSION: i64 = 3;

/// Messages given their jobs per backfill transaction.
const BACKFILL_BATCH: i64 = 1000;

pub(super) const INSERT_JOB: &str = "INSERT INTO media_jobs \
     (corp_id, msgid, path, sdkfileid, kind, extension, md5_expected, size_expected, msgtime_ms, \
      state, attempts, md5_mismatches, next_attempt_at_ms, created_at_ms, updated_at_ms) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', 0, 0, 0, ?10, ?10) \
     ON CONFLICT (corp_id, msgid, path) DO NOTHING";

/// Due jobs inside the retention window (message at or after the edge `?3`), nearest to the edge
/// first: served by the partial index `media_jobs_due` in order.
pub(super) const SELECT_DUE_INSIDE: &str = "SELECT id FROM media_jobs \
     WHERE corp_id = ?1 AND state IN ('pending', 'failed_retryable') AND next_attempt_at_ms <= ?2 \
     AND msgtime_ms >= ?3 ORDER BY msgtime_ms, id LIMIT ?4";
/// Due jobs past the window (message before the edge `?3`), nearest to the edge first: the same
/// index read backwards.
pub(super) const SELECT_DUE_PAST: &str = "SELECT id FROM media_jobs \
     WHERE corp_id = ?1 AND state IN ('pending', 'failed_retryable') AND next_attempt_at_ms <= ?2 \
     AND msgtime_ms < ?3 ORDER BY msgtime_ms DESC, id DESC LIMIT ?4";
pub(super) const REQUEUE: &str = "UPDATE media_jobs SET state = 'pending', updated_at_ms = ?2 \
     WHERE corp_id = ?1 AND state = 'downloading'";
/// Jobs that earlier versions expired by the clock, without ever asking WeCom: tried again.
pub(super) const REQUEUE_CLOCK_EXPIRED: &str = "UPDATE media_jobs SET state = 'pending', \
     next_attempt_at_ms = 0, updated_at_ms = ?2 \
     WHERE corp_id = ?1 AND state = 'expired' AND error_code = 'retention_window'";
pub(super) const STATE_COUNTS: &str =
    "SELECT state, count(*) FROM media_jobs WHERE corp_id = ?1 GROUP BY state";

const JOB_COLUMNS: &str = "id, msgid, path, sdkfileid, kind, extension, md5_expected, \
     size_expected, msgtime_ms, state, attempts, md5_mismatches, error_code, last_error, \
     next_attempt_at_ms, created_at_ms, updated_at_ms, sha256";

const INSERT_OBJECT: &str = "INSERT INTO media_objects \
     (corp_id, area, sha256, size, md5, content_type, backend, key, first_stored_at_ms) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING";

/// Inserts the jobs of one message (nothing for a reference already queued).
pub(super) fn insert_jobs(
    insert: &mut CachedStatement<'_>,
    path: &Path,
    corp_id: &str,
    msgid: &str,
    msgtime_ms: i64,
    media: &[MediaRef],
    now_ms: i64,
) -> Result<(), StoreError> {
    for m in media {
        insert
            .execute(params![
                corp_id,
                msgid,
                m.path,
                m.sdkfileid,
                m.kind.as_str(),
                m.extension,
                m.md5sum.trim(),
                m.size.and_then(|s| i64::try_from(s).ok()),
                // A message without a time (never seen) is due by when it was stored.
                if msgtime_ms > 0 { msgtime_ms } else { now_ms },
                now_ms,
            ])
            .map_err(err(path, "inserting into media_jobs"))?;
    }
    Ok(())
}

impl FromSql for MediaJobState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

fn area_from_sql(text: &str) -> rusqlite::Result<MediaArea> {
    match text {
        "objects" => Ok(MediaArea::Objects),
        "quarantine" => Ok(MediaArea::Quarantine),
        other => Err(rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown media area {other:?}").into(),
        )),
    }
}

fn size_from_sql(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

/// A job from the first 18 columns of `row` ([`JOB_COLUMNS`]).
fn job_from_row(row: &Row<'_>) -> rusqlite::Result<MediaJob> {
    Ok(MediaJob {
        id: row.get(0)?,
        msgid: row.get(1)?,
        path: row.get(2)?,
        sdkfileid: row.get(3)?,
        kind: row.get(4)?,
        extension: row.get(5)?,
        md5_expected: row.get(6)?,
        size_expected: row.get::<_, Option<i64>>(7)?.map(size_from_sql),
        msgtime_ms: row.get(8)?,
        state: row.get(9)?,
        attempts: row.get(10)?,
        md5_mismatches: row.get(11)?,
        error_code: row.get(12)?,
        last_error: row.get(13)?,
        next_attempt_at_ms: row.get(14)?,
        created_at_ms: row.get(15)?,
        updated_at_ms: row.get(16)?,
        sha256: row.get(17)?,
    })
}

pub(super) fn claim(
    conn: &mut Connection,
    path: &Path,
    corp_id: &str,
    now_ms: i64,
    retention_edge_ms: i64,
    limit: usize,
) -> Result<Vec<MediaJob>, StoreError> {
    const OP: &str = "claiming media jobs";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err(path, OP))?;
    let mut jobs = Vec::new();
    {
        let mut ids: Vec<i64> = Vec::new();
        for query in [SELECT_DUE_INSIDE, SELECT_DUE_PAST] {
            let left = limit.saturating_sub(ids.len());
            if left == 0 {
                break;
            }
            let left = sql_int(left);
            let mut stmt = tx.prepare_cached(query).map_err(err(path, OP))?;
            let found = stmt
                .query_map(params![corp_id, now_ms, retention_edge_ms, left], |row| {
                    row.get::<_, i64>(0)
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(err(path, OP))?;
            ids.extend(found);
        }
        let mut stmt = tx
            .prepare_cached(&format!(
                "UPDATE media_jobs SET state = 'downloading', updated_at_ms = ?2 \
                 WHERE id = ?1 RETURNING {JOB_COLUMNS}"
            ))
            .map_err(err(path, OP))?;
        for id in ids {
            let job = stmt
                .query_row(params![id, now_ms], job_from_row)
                .map_err(err(path, OP))?;
            jobs.push(job);
        }
    }
    tx.commit().map_err(err(path, OP))?;
    Ok(jobs)
}

pub(super) fn record(
    conn: &mut Connection,
    path: &Path,
    corp_id: &str,
    results: &[MediaJobResult],
    now_ms: i64,
) -> Result<u64, StoreError> {
    const OP: &str = "recording media results";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err(path, OP))?;
    let mut applied = 0;
    {
        let mut insert_object = tx.prepare_cached(INSERT_OBJECT).map_err(err(path, OP))?;
        let mut store_object = |o: &MediaObject| {
            insert_object
                .execute(params![
                    corp_id,
                    o.area.as_str(),
                    o.sha256,
                    i64::try_from(o.size).unwrap_or(i64::MAX),
                    o.md5,
                    o.content_type,
                    o.backend,
                    o.key,
                    now_ms,
                ])
                .map_err(err(path, OP))
        };
        // A verified object is the truth whatever the job's state (a stale claim that finished
        // after a requeue still stored the right bytes); every other result applies only to the
        // claim it belongs to, so it never overwrites a job done or re-claimed elsewhere.
        let mut done = tx
            .prepare_cached(
                "UPDATE media_jobs SET state = 'done', sha256 = ?3, object_area = 'objects', \
                 attempts = attempts + 1, md5_mismatches = md5_mismatches + ?4, \
                 error_code = NULL, last_error = NULL, updated_at_ms = ?5 \
                 WHERE corp_id = ?1 AND id = ?2 AND state <> 'done'",
            )
            .map_err(err(path, OP))?;
        let mut failed = tx
            .prepare_cached(
                "UPDATE media_jobs SET state = ?3, attempts = attempts + 1, \
                 md5_mismatches = md5_mismatches + ?4, error_code = ?5, last_error = ?6, \
                 next_attempt_at_ms = coalesce(?7, next_attempt_at_ms), \
                 sha256 = coalesce(?8, sha256), object_area = coalesce(?9, object_area), \
                 updated_at_ms = ?10 \
                 WHERE corp_id = ?1 AND id = ?2 AND state = 'downloading'",
            )
            .map_err(err(path, OP))?;
        let mut deferred = tx
            .prepare_cached(
                "UPDATE media_jobs SET state = 'failed_retryable', \
                 md5_mismatches = md5_mismatches + ?3, error_code = ?4, last_error = ?5, \
                 next_attempt_at_ms = ?6, updated_at_ms = ?7 \
                 WHERE corp_id = ?1 AND id = ?2 AND state = 'downloading'",
            )
            .map_err(err(path, OP))?;
        let mut released = tx
            .prepare_cached(
                "UPDATE media_jobs SET state = 'pending', md5_mismatches = md5_mismatches + ?3, \
                 updated_at_ms = ?4 WHERE corp_id = ?1 AND id = ?2 AND state = 'downloading'",
            )
            .map_err(err(path, OP))?;
        for r in results {
            let n = match &r.outcome {
                MediaJobOutcome::Done(object) => {
                    store_object(object)?;
                    done.execute(params![
                        corp_id,
                        r.job_id,
                        object.sha256,
                        r.md5_mismatches,
                        now_ms
                    ])
                }
                MediaJobOutcome::Retry {
                    next_attempt_at_ms,
                    error,
                } => failed.execute(fail_params(
                    corp_id,
                    r,
                    MediaJobState::FailedRetryable,
                    error,
                    Some(*next_attempt_at_ms),
                    None,
                    now_ms,
                )),
                MediaJobOutcome::Permanent { error, quarantined } => {
                    if let Some(object) = quarantined {
                        store_object(object)?;
                    }
                    failed.execute(fail_params(
                        corp_id,
                        r,
                        MediaJobState::FailedPermanent,
                        error,
                        None,
                        quarantined.as_ref(),
                        now_ms,
                    ))
                }
                MediaJobOutcome::Expired { error } => failed.execute(fail_params(
                    corp_id,
                    r,
                    MediaJobState::Expired,
                    error,
                    None,
                    None,
                    now_ms,
                )),
                MediaJobOutcome::Deferred {
                    next_attempt_at_ms,
                    error,
                } => deferred.execute(params![
                    corp_id,
                    r.job_id,
                    r.md5_mismatches,
                    error.code,
                    error.message,
                    next_attempt_at_ms,
                    now_ms
                ]),
                MediaJobOutcome::Released => {
                    released.execute(params![corp_id, r.job_id, r.md5_mismatches, now_ms])
                }
            }
            .map_err(err(path, OP))?;
            applied += n as u64;
        }
    }
    tx.commit().map_err(err(path, OP))?;
    Ok(applied)
}

type FailParams<'a> = (
    &'a str,
    i64,
    &'static str,
    u32,
    &'a str,
    &'a str,
    Option<i64>,
    Option<&'a str>,
    Option<&'static str>,
    i64,
);

fn fail_params<'a>(
    corp_id: &'a str,
    r: &'a MediaJobResult,
    state: MediaJobState,
    error: &'a MediaJobError,
    next_attempt_at_ms: Option<i64>,
    object: Option<&'a MediaObject>,
    now_ms: i64,
) -> FailParams<'a> {
    (
        corp_id,
        r.job_id,
        state.as_str(),
        r.md5_mismatches,
        &error.code,
        &error.message,
        next_attempt_at_ms,
        object.map(|o| o.sha256.as_str()),
        object.map(|o| o.area.as_str()),
        now_ms,
    )
}

pub(super) fn requeue_interrupted(
    conn: &Connection,
    path: &Path,
    corp_id: &str,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let mut n = 0;
    for sql in [REQUEUE, REQUEUE_CLOCK_EXPIRED] {
        n += conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params![corp_id, now_ms]))
            .map(|n| n as u64)
            .map_err(err(path, "requeueing interrupted media jobs"))?;
    }
    Ok(n)
}

pub(super) fn retry(
    conn: &mut Connection,
    path: &Path,
    corp_id: &str,
    include_permanent: bool,
    now_ms: i64,
) -> Result<u64, StoreError> {
    const OP: &str = "retrying media jobs";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err(path, OP))?;
    let mut n = tx
        .prepare_cached(
            "UPDATE media_jobs SET state = 'pending', next_attempt_at_ms = ?2, updated_at_ms = ?2 \
             WHERE corp_id = ?1 AND state = 'failed_retryable'",
        )
        .and_then(|mut s| s.execute(params![corp_id, now_ms]))
        .map_err(err(path, OP))?;
    if include_permanent {
        // A fresh budget: otherwise the first failure would end it again at once.
        n += tx
            .prepare_cached(
                "UPDATE media_jobs SET state = 'pending', attempts = 0, md5_mismatches = 0, \
                 next_attempt_at_ms = ?2, updated_at_ms = ?2 \
                 WHERE corp_id = ?1 AND state = 'failed_permanent'",
            )
            .and_then(|mut s| s.execute(params![corp_id, now_ms]))
            .map_err(err(path, OP))?;
    }
    tx.commit().map_err(err(path, OP))?;
    Ok(n as u64)
}

pub(super) fn stats(conn: &Connection, corp_id: &str) -> rusqlite::Result<MediaStats> {
    let mut s = MediaStats::default();
    let mut by_state = conn.prepare_cached(STATE_COUNTS)?;
    for row in by_state.query_map([corp_id], |row| {
        Ok((row.get::<_, MediaJobState>(0)?, count(row.get(1)?)))
    })? {
        let (state, n) = row?;
        *match state {
            MediaJobState::Pending => &mut s.pending,
            MediaJobState::Downloading => &mut s.downloading,
            MediaJobState::Done => &mut s.done,
            MediaJobState::FailedRetryable => &mut s.failed_retryable,
            MediaJobState::FailedPermanent => &mut s.failed_permanent,
            MediaJobState::Expired => &mut s.expired,
        } = n;
        s.total += n;
    }
    s.failed_by_code = conn
        .prepare_cached(
            "SELECT coalesce(error_code, 'unknown'), count(*) FROM media_jobs \
             WHERE corp_id = ?1 AND state IN ('failed_retryable', 'failed_permanent', 'expired') \
             GROUP BY 1",
        )?
        .query_map([corp_id], |row| Ok((row.get(0)?, count(row.get(1)?))))?
        .collect::<rusqlite::Result<BTreeMap<String, u64>>>()?;
    let mut areas = conn.prepare_cached(
        "SELECT area, count(*), coalesce(sum(size), 0) FROM media_objects \
         WHERE corp_id = ?1 GROUP BY area",
    )?;
    for row in areas.query_map([corp_id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            count(row.get(1)?),
            count(row.get(2)?),
        ))
    })? {
        let (area, n, bytes) = row?;
        match area_from_sql(&area)? {
            MediaArea::Objects => (s.objects, s.bytes) = (n, bytes),
            MediaArea::Quarantine => (s.quarantined_objects, s.quarantined_bytes) = (n, bytes),
        }
    }
    s.oldest_pending_msgtime_ms = conn
        .prepare_cached(
            "SELECT min(msgtime_ms) FROM media_jobs WHERE corp_id = ?1 \
             AND state IN ('pending', 'downloading', 'failed_retryable')",
        )?
        .query_row([corp_id], |row| row.get(0))?;
    s.next_attempt_at_ms = conn
        .prepare_cached(
            "SELECT min(next_attempt_at_ms) FROM media_jobs \
             WHERE corp_id = ?1 AND state = 'failed_retryable'",
        )?
        .query_row([corp_id], |row| row.get(0))?;
    Ok(s)
}

pub(super) fn jobs(
    conn: &Connection,
    corp_id: &str,
    state: Option<MediaJobState>,
    after_id: i64,
    limit: usize,
) -> rusqlite::Result<Vec<MediaJob>> {
    let limit = sql_int(limit);
    conn.prepare_cached(&format!(
        "SELECT {JOB_COLUMNS} FROM media_jobs WHERE corp_id = ?1 AND id > ?2 \
         AND (?3 IS NULL OR state = ?3) ORDER BY id LIMIT ?4"
    ))?
    .query_map(
        params![corp_id, after_id, state.map(MediaJobState::as_str), limit],
        job_from_row,
    )?
    .collect()
}

/// Jobs with their objects, as [`message_media`] and friends read them: the given `WHERE`
/// text (over `j`, the jobs) follows.
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

pub(super) const SELECT_MESSAGE_MEDIA: &str =
    select_jobs_with_objects!("WHERE j.corp_id = ?1 AND j.msgid = ?2 ORDER BY j.id");
/// Msgids as one JSON array (`json_each`), so every list has the same statement.
pub(super) const SELECT_MESSAGES_MEDIA: &str = select_jobs_with_objects!(
    "WHERE j.corp_id = ?1 AND j.msgid IN (SELECT value FROM json_each(?2)) ORDER BY j.id"
);
/// Served by the partial index `media_jobs_sha256` (0009).
pub(super) const SELECT_MEDIA_BY_SHA256: &str =
    select_jobs_with_objects!("WHERE j.corp_id = ?1 AND j.sha256 = ?2 ORDER BY j.id");

/// A row of [`select_jobs_with_objects`].
fn job_with_object(row: &Row<'_>) -> rusqlite::Result<MessageMedia> {
    let job = job_from_row(row)?;
    let area: Option<String> = row.get(18)?;
    let object = match (area, &job.sha256) {
        (Some(area), Some(sha256)) => Some(MediaObject {
            sha256: sha256.clone(),
            area: area_from_sql(&area)?,
            size: size_from_sql(row.get(19)?),
            md5: row.get(20)?,
            content_type: row.get(21)?,
            backend: row.get(22)?,
            key: row.get(23)?,
        }),
        _ => None,
    };
    Ok(MessageMedia { job, object })
}

pub(super) fn message_media(
    conn: &Connection,
    corp_id: &str,
    msgid: &str,
) -> rusqlite::Result<Vec<MessageMedia>> {
    conn.prepare_cached(SELECT_MESSAGE_MEDIA)?
        .query_map(params![corp_id, msgid], job_with_object)?
        .collect()
}

pub(super) fn messages_media(
    conn: &Connection,
    corp_id: &str,
    msgids: &[String],
) -> rusqlite::Result<Vec<MessageMedia>> {
    if msgids.is_empty() {
        return Ok(Vec::new());
    }
    conn.prepare_cached(SELECT_MESSAGES_MEDIA)?
        .query_map(
            params![corp_id, super::read::id_array(msgids)],
            job_with_object,
        )?
        .collect()
}

pub(super) fn media_by_sha256(
    conn: &Connection,
    corp_id: &str,
    sha256: &str,
) -> rusqlite::Result<Vec<MessageMedia>> {
    conn.prepare_cached(SELECT_MEDIA_BY_SHA256)?
        .query_map(params![corp_id, sha256], job_with_object)?
        .collect()
}

/// Gives every message stored before the queue existed its jobs, in batches of one transaction
/// each; an interrupted backfill resumes on the next open. Returns the messages read.
pub(super) fn backfill(conn: &mut Connection, path: &Path, now_ms: i64) -> Result<u64, StoreError> {
    const OP: &str = "creating media jobs for stored messages";
    let mut total = 0;
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err(path, OP))?;
        let after: Option<i64> = tx
            .query_row(
                "SELECT after_rowid FROM media_backfill WHERE id = 1",
                [],
                |row| row.get(0),
            )
            .map_or_else(
                |e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                },
                |v| Ok(Some(v)),
            )
            .map_err(err(path, OP))?;
        let Some(after) = after else {
            return Ok(total);
        };
        let rows: Vec<(i64, String, String, i64, String)> = tx
            .prepare_cached(
                "SELECT rowid, corp_id, msgid, msgtime, json FROM messages \
                 WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![after, BACKFILL_BATCH], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                })?
                .collect()
            })
            .map_err(err(path, OP))?;
        let Some(last) = rows.last().map(|r| r.0) else {
            tx.execute("DELETE FROM media_backfill", [])
                .map_err(err(path, OP))?;
            tx.commit().map_err(err(path, OP))?;
            return Ok(total);
        };
        {
            let mut insert = tx.prepare_cached(INSERT_JOB).map_err(err(path, OP))?;
            for (_, corp_id, msgid, msgtime, json) in &rows {
                // JSON that no longer parses has no readable references; its warning is the
                // message's own (derived columns), not the queue's.
                let Ok(envelope) = parse_envelope(json.as_bytes()) else {
                    continue;
                };
                let media = wecom_model::understand(&envelope).media;
                insert_jobs(&mut insert, path, corp_id, msgid, *msgtime, &media, now_ms)?;
            }
        }
        tx.execute(
            "UPDATE media_backfill SET after_rowid = ?1 WHERE id = 1",
            [last],
        )
        .map_err(err(path, OP))?;
        tx.commit().map_err(err(path, OP))?;
        total += rows.len() as u64;
    }
}
