//! The media queue's contract: jobs created with their messages (nested references included, once
//! each), claims at risk first (nothing expired by the clock), results recorded only against
//! their claim, requeue after a crash, operator retries and counts.

use super::{CORP, FETCHED_AT, decrypted, record, text};
use crate::{
    Failure, MediaArea, MediaJob, MediaJobError, MediaJobOutcome, MediaJobResult, MediaJobState,
    MediaObject, Outcome, PageCommit, Roles, stage,
};

const HOUR: i64 = 3_600_000;
/// Message times of the fixtures: an hour apart.
pub(super) const T: i64 = 1_750_000_000_000;

/// A decrypted image message (md5 `368b6c18…`, 13,177 bytes) referencing `sdkfileid`.
pub fn image(seq: u64, msgid: &str, msgtime: i64, sdkfileid: &str) -> crate::IngestedRecord {
    let json = serde_json::json!({
        "msgid": msgid, "action": "send", "from": "ken", "tolist": ["icef"], "roomid": "",
        "msgtime": msgtime, "msgtype": "image",
        "image": {"md5sum": "368b6c18c82e6441bfd89b343e9d2429", "filesize": 13177,
                  "sdkfileid": sdkfileid},
    });
    decrypted(seq, msgid, json.to_string().as_bytes())
}

/// A mixed message with a text and two images (nested references).
pub(super) fn mixed(seq: u64, msgid: &str, msgtime: i64) -> crate::IngestedRecord {
    let item = |sdkfileid: &str| {
        serde_json::json!({"type": "image", "content": serde_json::json!({
            "md5sum": "", "filesize": 10, "sdkfileid": sdkfileid}).to_string()})
    };
    let json = serde_json::json!({
        "msgid": msgid, "action": "send", "from": "ken", "tolist": ["icef"], "roomid": "",
        "msgtime": msgtime, "msgtype": "mixed",
        "mixed": {"item": [
            {"type": "text", "content": "{\"content\":\"hi\"}"}, item("nested-a"), item("nested-b")]},
    });
    decrypted(seq, msgid, json.to_string().as_bytes())
}

fn commit(store: &Roles, records: Vec<crate::IngestedRecord>, cursor: u64) {
    store
        .writer
        .commit_page(
            CORP,
            &PageCommit {
                records,
                cursor,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
}

fn all_jobs(store: &Roles, corp: &str) -> Vec<MediaJob> {
    store.reader.media_jobs(corp, None, 0, 1000).expect("jobs")
}

/// The one media reference of `msgid`.
fn one(store: &Roles, msgid: &str) -> crate::MessageMedia {
    let mut media = store.reader.message_media(CORP, msgid).expect("media");
    assert_eq!(media.len(), 1, "{msgid}");
    media.remove(0)
}

pub(super) fn object(sha: char, area: MediaArea) -> MediaObject {
    MediaObject {
        sha256: sha.to_string().repeat(64),
        size: 13177,
        md5: "368b6c18c82e6441bfd89b343e9d2429".into(),
        content_type: "image/jpeg".into(),
        backend: "fs".into(),
        key: format!("{}/{}", area.as_str(), sha.to_string().repeat(64)),
        area,
    }
}

pub(super) fn error(code: &str) -> MediaJobError {
    MediaJobError {
        code: code.into(),
        message: format!("{code}, explained"),
    }
}

pub(super) fn result(job: &MediaJob, outcome: MediaJobOutcome) -> MediaJobResult {
    MediaJobResult {
        job_id: job.id,
        outcome,
        md5_mismatches: 0,
    }
}

pub fn jobs_are_created_with_their_messages(make: super::Make<'_>) {
    let store = make();
    let page = vec![
        image(1, "img", T, "file-1"),
        text(2, "txt", T + 1, "no media"),
        mixed(3, "mix", T + 2),
        record(
            4,
            "bad",
            Outcome::Failed(Failure {
                stage: stage::NO_KEY.into(),
                code: 10007,
                reason: "no key".into(),
                plaintext: None,
            }),
        ),
    ];
    commit(&store, page.clone(), 4);
    let jobs = all_jobs(&store, CORP);
    let refs: Vec<(&str, &str, &str)> = jobs
        .iter()
        .map(|j| (j.msgid.as_str(), j.path.as_str(), j.sdkfileid.as_str()))
        .collect();
    assert_eq!(
        refs,
        [
            ("img", "image", "file-1"),
            ("mix", "mixed.item[1]", "nested-a"),
            ("mix", "mixed.item[2]", "nested-b"),
        ]
    );
    let img = &jobs[0];
    assert_eq!(img.state, MediaJobState::Pending);
    assert_eq!(
        (img.kind.as_str(), img.extension.as_str()),
        ("image", "jpg")
    );
    assert_eq!(img.md5_expected, "368b6c18c82e6441bfd89b343e9d2429");
    assert_eq!(img.size_expected, Some(13177));
    assert_eq!(img.msgtime_ms, T);
    assert_eq!((img.attempts, img.md5_mismatches), (0, 0));
    assert_eq!(
        (&img.error_code, &img.last_error, &img.sha256),
        (&None, &None, &None)
    );
    assert_eq!(jobs[1].md5_expected, "", "an empty md5sum is kept empty");

    // A replayed page queues nothing twice.
    commit(&store, page, 4);
    assert_eq!(all_jobs(&store, CORP).len(), 3);
    let stats = store.reader.media_stats(CORP).expect("stats");
    assert_eq!((stats.total, stats.pending), (3, 3));
    assert_eq!(stats.oldest_pending_msgtime_ms, Some(T));
    let listed = store
        .reader
        .message_media(CORP, "mix")
        .expect("message media");
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|m| m.object.is_none()));
    assert!(
        store
            .reader
            .message_media(CORP, "txt")
            .expect("none")
            .is_empty()
    );
}

pub fn resolved_failures_get_their_jobs(make: super::Make<'_>) {
    let store = make();
    let failed = record(
        1,
        "late",
        Outcome::Failed(Failure {
            stage: stage::NO_KEY.into(),
            code: 10007,
            reason: "no key".into(),
            plaintext: None,
        }),
    );
    commit(&store, vec![failed], 1);
    assert!(all_jobs(&store, CORP).is_empty());
    let outcome = image(1, "late", T, "file-late").outcome;
    store
        .writer
        .resolve_failures(CORP, &[("late".to_owned(), outcome)], FETCHED_AT)
        .expect("resolve");
    let jobs = all_jobs(&store, CORP);
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].msgid.as_str(), jobs[0].sdkfileid.as_str()),
        ("late", "file-late")
    );
}

pub fn claims_take_due_jobs_oldest_message_first(make: super::Make<'_>) {
    let store = make();
    // Stored out of time order.
    commit(
        &store,
        vec![
            image(1, "m3", T + 3 * HOUR, "f3"),
            image(2, "m1", T + HOUR, "f1"),
            image(3, "m4", T + 4 * HOUR, "f4"),
            image(4, "m2", T + 2 * HOUR, "f2"),
        ],
        4,
    );
    commit(&store, vec![image(1, "other", T, "fo")], 1);
    let now = T + 10 * HOUR;
    let first = store
        .media
        .claim_media_jobs(CORP, now, i64::MIN, 2)
        .expect("claim");
    let ids: Vec<&str> = first.iter().map(|j| j.msgid.as_str()).collect();
    assert_eq!(ids, ["m1", "m2"]);
    assert!(first.iter().all(|j| j.state == MediaJobState::Downloading));
    // Claimed jobs are not handed out twice.
    let second = store
        .media
        .claim_media_jobs(CORP, now, i64::MIN, 10)
        .expect("claim");
    let ids: Vec<&str> = second.iter().map(|j| j.msgid.as_str()).collect();
    assert_eq!(ids, ["m3", "m4"]);
    assert!(
        store
            .media
            .claim_media_jobs(CORP, now, i64::MIN, 10)
            .expect("claim")
            .is_empty()
    );
    assert_eq!(
        store.reader.media_stats(CORP).expect("stats").downloading,
        4
    );

    // A job failed for later is not due before its time, then is.
    let retry_at = now + HOUR;
    let applied = store
        .media
        .record_media_results(
            CORP,
            &[result(
                &first[0],
                MediaJobOutcome::Retry {
                    next_attempt_at_ms: retry_at,
                    error: error("network"),
                },
            )],
            now,
        )
        .expect("record");
    assert_eq!(applied, 1);
    assert!(
        store
            .media
            .claim_media_jobs(CORP, retry_at - 1, i64::MIN, 10)
            .expect("claim")
            .is_empty()
    );
    let again = store
        .media
        .claim_media_jobs(CORP, retry_at, i64::MIN, 10)
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].msgid.as_str(), again[0].attempts), ("m1", 1));
    assert_eq!(again[0].error_code.as_deref(), Some("network"));
}

/// With a retention edge, jobs still inside the window go first, nearest to the edge (oldest)
/// first; then the jobs past it, nearest to the edge (newest) first. None is skipped.
pub fn claims_take_jobs_at_risk_first(make: super::Make<'_>) {
    let store = make();
    // Message times T + 1 h … T + 6 h, stored out of order; the edge at T + 3.5 h.
    commit(
        &store,
        [5, 2, 6, 1, 4, 3]
            .into_iter()
            .map(|i| image(i, &format!("m{i}"), T + i as i64 * HOUR, &format!("f{i}")))
            .collect(),
        6,
    );
    let now = T + 100 * HOUR;
    let edge = T + 3 * HOUR + HOUR / 2;
    let first = store
        .media
        .claim_media_jobs(CORP, now, edge, 4)
        .expect("claim");
    let ids: Vec<&str> = first.iter().map(|j| j.msgid.as_str()).collect();
    assert_eq!(ids, ["m4", "m5", "m6", "m3"]);
    let rest = store
        .media
        .claim_media_jobs(CORP, now, edge, 10)
        .expect("claim");
    let ids: Vec<&str> = rest.iter().map(|j| j.msgid.as_str()).collect();
    assert_eq!(ids, ["m2", "m1"]);
    assert_eq!(
        store.reader.media_stats(CORP).expect("stats").downloading,
        6
    );

    // A job the storage could not take is due again without an attempt counted.
    let deferred = result(
        &rest[0],
        MediaJobOutcome::Deferred {
            next_attempt_at_ms: now + 5,
            error: error("disk_full"),
        },
    );
    let applied = store
        .media
        .record_media_results(CORP, &[deferred], now)
        .expect("record");
    assert_eq!(applied, 1);
    let m2 = one(&store, "m2").job;
    assert_eq!(
        (m2.state, m2.attempts, m2.next_attempt_at_ms),
        (MediaJobState::FailedRetryable, 0, now + 5)
    );
    assert_eq!(m2.error_code.as_deref(), Some("disk_full"));
    let again = store
        .media
        .claim_media_jobs(CORP, now + 5, edge, 10)
        .expect("claim");
    assert_eq!((again.len(), again[0].attempts), (1, 0));
}

pub fn results_are_recorded_against_their_claim(make: super::Make<'_>) {
    let store = make();
    commit(
        &store,
        (1..=6)
            .map(|i| image(i, &format!("m{i}"), T + i as i64, &format!("f{i}")))
            .collect(),
        6,
    );
    let now = T + HOUR;
    let jobs = store
        .media
        .claim_media_jobs(CORP, now, i64::MIN, 6)
        .expect("claim");
    assert_eq!(jobs.len(), 6);
    let results = vec![
        MediaJobResult {
            md5_mismatches: 1,
            ..result(
                &jobs[0],
                MediaJobOutcome::Done(object('a', MediaArea::Objects)),
            )
        },
        result(
            &jobs[1],
            MediaJobOutcome::Retry {
                next_attempt_at_ms: now + 1000,
                error: error("disk_full"),
            },
        ),
        MediaJobResult {
            md5_mismatches: 5,
            ..result(
                &jobs[2],
                MediaJobOutcome::Permanent {
                    error: error("md5_mismatch"),
                    quarantined: Some(object('b', MediaArea::Quarantine)),
                },
            )
        },
        result(
            &jobs[3],
            MediaJobOutcome::Expired {
                error: error("expired"),
            },
        ),
        result(&jobs[4], MediaJobOutcome::Released),
        // The same verified bytes for another message: one object.
        result(
            &jobs[5],
            MediaJobOutcome::Done(object('a', MediaArea::Objects)),
        ),
    ];
    assert_eq!(
        store
            .media
            .record_media_results(CORP, &results, now)
            .expect("record"),
        6
    );

    let done = one(&store, "m1");
    assert_eq!(done.job.state, MediaJobState::Done);
    assert_eq!((done.job.attempts, done.job.md5_mismatches), (1, 1));
    assert_eq!(done.object, Some(object('a', MediaArea::Objects)));
    assert_eq!(done.job.sha256.as_deref(), Some(&*"a".repeat(64)));

    let retry = one(&store, "m2").job;
    assert_eq!(retry.state, MediaJobState::FailedRetryable);
    assert_eq!(retry.next_attempt_at_ms, now + 1000);
    assert_eq!(retry.last_error.as_deref(), Some("disk_full, explained"));

    let quarantined = one(&store, "m3");
    assert_eq!(quarantined.job.state, MediaJobState::FailedPermanent);
    assert_eq!(quarantined.job.md5_mismatches, 5);
    assert_eq!(quarantined.job.error_code.as_deref(), Some("md5_mismatch"));
    assert_eq!(quarantined.object, Some(object('b', MediaArea::Quarantine)));

    let expired = one(&store, "m4").job;
    assert_eq!(
        (expired.state, expired.attempts),
        (MediaJobState::Expired, 1)
    );

    let released = one(&store, "m5").job;
    assert_eq!(
        (released.state, released.attempts),
        (MediaJobState::Pending, 0)
    );

    let stats = store.reader.media_stats(CORP).expect("stats");
    assert_eq!(
        (
            stats.total,
            stats.done,
            stats.failed_retryable,
            stats.failed_permanent,
            stats.expired,
            stats.pending,
            stats.downloading
        ),
        (6, 2, 1, 1, 1, 1, 0)
    );
    assert_eq!((stats.objects, stats.bytes), (1, 13177));
    assert_eq!(
        (stats.quarantined_objects, stats.quarantined_bytes),
        (1, 13177)
    );
    assert_eq!(stats.next_attempt_at_ms, Some(now + 1000));
    assert_eq!(stats.oldest_pending_msgtime_ms, Some(T + 2));
    assert_eq!(
        stats.failed_by_code.into_iter().collect::<Vec<_>>(),
        [
            ("disk_full".to_owned(), 1),
            ("expired".to_owned(), 1),
            ("md5_mismatch".to_owned(), 1)
        ]
    );

    // A stale result (its job is no longer claimed) changes nothing…
    let stale = [
        result(
            &jobs[0],
            MediaJobOutcome::Permanent {
                error: error("late"),
                quarantined: None,
            },
        ),
        result(
            &jobs[4],
            MediaJobOutcome::Retry {
                next_attempt_at_ms: 0,
                error: error("late"),
            },
        ),
    ];
    assert_eq!(
        store
            .media
            .record_media_results(CORP, &stale, now)
            .expect("record"),
        0
    );
    assert_eq!(one(&store, "m1").job.state, MediaJobState::Done);
    assert_eq!(one(&store, "m5").job.state, MediaJobState::Pending);
    // …but verified bytes always complete a job that is not done yet.
    let late = [result(
        &jobs[1],
        MediaJobOutcome::Done(object('c', MediaArea::Objects)),
    )];
    assert_eq!(
        store
            .media
            .record_media_results(CORP, &late, now)
            .expect("record"),
        1
    );
    assert_eq!(one(&store, "m2").job.state, MediaJobState::Done);
    // Unknown ids and other corps' jobs are not touched.
    let foreign = [MediaJobResult {
        job_id: i64::MAX,
        outcome: MediaJobOutcome::Released,
        md5_mismatches: 0,
    }];
    assert_eq!(
        store
            .media
            .record_media_results(CORP, &foreign, now)
            .expect("record"),
        0
    );
    assert_eq!(
        store
            .media
            .record_media_results("wwother", &results, now)
            .expect("record"),
        0
    );
}

pub fn interrupted_jobs_are_queued_again(make: super::Make<'_>) {
    const OTHER: &str = "wwconformance0002";
    let store = make();
    commit(
        &store,
        vec![image(1, "m1", T, "f1"), image(2, "m2", T + 1, "f2")],
        2,
    );
    store
        .writer
        .commit_page(
            OTHER,
            &PageCommit {
                records: vec![image(1, "x", T, "fx")],
                cursor: 1,
                quarantined: Vec::new(),
            },
        )
        .expect("commit other");
    let now = T + HOUR;
    assert_eq!(
        store
            .media
            .claim_media_jobs(CORP, now, i64::MIN, 10)
            .expect("claim")
            .len(),
        2
    );
    assert_eq!(
        store
            .media
            .claim_media_jobs(OTHER, now, i64::MIN, 10)
            .expect("claim")
            .len(),
        1
    );
    assert_eq!(
        store
            .media
            .requeue_interrupted_media_jobs(CORP, now)
            .expect("requeue"),
        2
    );
    let jobs = all_jobs(&store, CORP);
    assert!(
        jobs.iter()
            .all(|j| j.state == MediaJobState::Pending && j.attempts == 0)
    );
    assert_eq!(
        store
            .media
            .claim_media_jobs(CORP, now, i64::MIN, 10)
            .expect("claim")
            .len(),
        2
    );
    // The other corp's claim is its own.
    assert_eq!(
        store.reader.media_stats(OTHER).expect("stats").downloading,
        1
    );
}

pub fn expiry_only_on_wecom_word_and_retries(make: super::Make<'_>) {
    let store = make();
    commit(
        &store,
        (1..=5)
            .map(|i| image(i, &format!("m{i}"), T + i as i64 * HOUR, &format!("f{i}")))
            .collect(),
        5,
    );
    let now = T + 100 * HOUR;
    let claimed = store
        .media
        .claim_media_jobs(CORP, now, i64::MIN, 3)
        .expect("claim"); // m1, m2, m3
    let results = [
        result(
            &claimed[0],
            MediaJobOutcome::Done(object('a', MediaArea::Objects)),
        ),
        result(
            &claimed[1],
            MediaJobOutcome::Retry {
                next_attempt_at_ms: now + HOUR,
                error: error("network"),
            },
        ),
    ];
    store
        .media
        .record_media_results(CORP, &results, now)
        .expect("record");
    // m3 stays downloading. Nothing is ever expired by the clock: m4 and m5 are claimed (and
    // asked for) however old; only WeCom's answer expires m4.
    let m4 = store
        .media
        .claim_media_jobs(CORP, now, i64::MIN, 1)
        .expect("claim");
    assert_eq!(m4[0].msgid, "m4");
    let why = error("expired");
    store
        .media
        .record_media_results(
            CORP,
            &[result(&m4[0], MediaJobOutcome::Expired { error: why })],
            now,
        )
        .expect("record");
    let states: Vec<(String, MediaJobState)> = all_jobs(&store, CORP)
        .into_iter()
        .map(|j| (j.msgid, j.state))
        .collect();
    assert_eq!(
        states,
        [
            ("m1".to_owned(), MediaJobState::Done),
            ("m2".to_owned(), MediaJobState::FailedRetryable),
            ("m3".to_owned(), MediaJobState::Downloading),
            ("m4".to_owned(), MediaJobState::Expired),
            ("m5".to_owned(), MediaJobState::Pending),
        ]
    );
    let m4 = store
        .reader
        .message_media(CORP, "m4")
        .expect("m4")
        .remove(0)
        .job;
    assert_eq!(m4.error_code.as_deref(), Some("expired"));
    assert_eq!(m4.last_error.as_deref(), Some("expired, explained"));
    assert_eq!(m4.attempts, 1);

    // Retries: failed-retryable only, or failed-permanent too (with a fresh budget).
    let m5 = store
        .media
        .claim_media_jobs(CORP, now, i64::MIN, 10)
        .expect("claim");
    assert_eq!(m5.len(), 1);
    let m5 = MediaJobResult {
        md5_mismatches: 5,
        ..result(
            &m5[0],
            MediaJobOutcome::Permanent {
                error: error("md5_mismatch"),
                quarantined: None,
            },
        )
    };
    let m3 = result(
        &claimed[2],
        MediaJobOutcome::Retry {
            next_attempt_at_ms: now + HOUR,
            error: error("network"),
        },
    );
    store
        .media
        .record_media_results(CORP, &[m5, m3], now)
        .expect("record");
    assert_eq!(
        store
            .media
            .retry_media_jobs(CORP, false, now)
            .expect("retry"),
        2
    );
    let m3 = store
        .reader
        .message_media(CORP, "m3")
        .expect("m3")
        .remove(0)
        .job;
    assert_eq!(
        (m3.state, m3.next_attempt_at_ms, m3.attempts),
        (MediaJobState::Pending, now, 1)
    );
    assert_eq!(
        store
            .media
            .retry_media_jobs(CORP, true, now)
            .expect("retry"),
        1
    );
    let m5 = store
        .reader
        .message_media(CORP, "m5")
        .expect("m5")
        .remove(0)
        .job;
    assert_eq!(
        (m5.state, m5.attempts, m5.md5_mismatches),
        (MediaJobState::Pending, 0, 0)
    );
    assert_eq!(
        store
            .media
            .claim_media_jobs(CORP, now, i64::MIN, 10)
            .expect("claim")
            .len(),
        3
    );
    let listed = store
        .reader
        .media_jobs(CORP, Some(MediaJobState::Expired), 0, 10)
        .expect("list");
    assert_eq!(listed.len(), 1);
    let page = store
        .reader
        .media_jobs(CORP, None, listed[0].id, 1)
        .expect("page");
    assert_eq!(page.len(), 1);
    assert!(page[0].id > listed[0].id);

    // A job an earlier version expired by the clock (code `retention_window`, never asked for) is
    // tried again at the next start, with the jobs left downloading; WeCom's own expiry stays.
    let claimed = store
        .media
        .claim_media_jobs(CORP, now, i64::MIN, 10)
        .expect("claim");
    assert_eq!(claimed.len(), 0, "m2, m3 and m5 are still claimed");
    let m5 = store
        .reader
        .message_media(CORP, "m5")
        .expect("m5")
        .remove(0)
        .job;
    store
        .media
        .record_media_results(
            CORP,
            &[result(
                &m5,
                MediaJobOutcome::Expired {
                    error: error("retention_window"),
                },
            )],
            now,
        )
        .expect("record");
    assert_eq!(
        store
            .media
            .requeue_interrupted_media_jobs(CORP, now)
            .expect("requeue"),
        3
    );
    let states: Vec<(String, MediaJobState)> = all_jobs(&store, CORP)
        .into_iter()
        .map(|j| (j.msgid, j.state))
        .collect();
    assert_eq!(
        states,
        [
            ("m1".to_owned(), MediaJobState::Done),
            ("m2".to_owned(), MediaJobState::Pending),
            ("m3".to_owned(), MediaJobState::Pending),
            ("m4".to_owned(), MediaJobState::Expired),
            ("m5".to_owned(), MediaJobState::Pending),
        ]
    );
}

pub fn media_queues_are_per_corp(make: super::Make<'_>) {
    let store = make();
    commit(&store, vec![image(1, "m1", T, "f1")], 1);
    store
        .writer
        .commit_page(
            "wwother",
            &PageCommit {
                records: vec![image(1, "m1", T, "f1")],
                cursor: 1,
                quarantined: Vec::new(),
            },
        )
        .expect("commit other");
    let claimed = store
        .media
        .claim_media_jobs(CORP, T + HOUR, i64::MIN, 10)
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let done = [result(
        &claimed[0],
        MediaJobOutcome::Done(object('a', MediaArea::Objects)),
    )];
    store
        .media
        .record_media_results(CORP, &done, T + HOUR)
        .expect("record");
    let other = store.reader.media_stats("wwother").expect("stats");
    assert_eq!(
        (other.total, other.pending, other.done, other.objects),
        (1, 1, 0, 0)
    );
    assert_eq!(
        store
            .media
            .claim_media_jobs("wwother", T + HOUR, i64::MIN, 10)
            .expect("claim other")
            .len(),
        1
    );
    assert_eq!(store.reader.media_stats(CORP).expect("stats").done, 1);
    assert_eq!(
        store
            .reader
            .media_stats("wwother")
            .expect("stats")
            .downloading,
        1
    );
}

/// A store that fails mid-page (or mid-resolve) keeps no job of the page: jobs are created in the
/// same transaction as their messages.
pub fn jobs_are_all_or_nothing((store, fail_on): super::Faulty) {
    fail_on("m3");
    let page = PageCommit {
        records: vec![
            image(1, "m1", T, "f1"),
            mixed(2, "m2", T + 1),
            text(3, "m3", T + 2, "x"),
        ],
        cursor: 3,
        quarantined: Vec::new(),
    };
    store
        .writer
        .commit_page(CORP, &page)
        .expect_err("the backend fails on m3");
    assert!(all_jobs(&store, CORP).is_empty());
    assert_eq!(store.reader.media_stats(CORP).expect("stats").total, 0);

    let failed = |seq, msgid| {
        record(
            seq,
            msgid,
            Outcome::Failed(Failure {
                stage: stage::NO_KEY.into(),
                code: 10007,
                reason: "no key".into(),
                plaintext: None,
            }),
        )
    };
    commit(&store, vec![failed(10, "r1"), failed(11, "m3")], 11);
    let results = [
        ("r1".to_owned(), image(10, "r1", T, "fr").outcome),
        ("m3".to_owned(), text(11, "m3", T, "x").outcome),
    ];
    store
        .writer
        .resolve_failures(CORP, &results, FETCHED_AT)
        .expect_err("the backend fails on m3");
    assert!(all_jobs(&store, CORP).is_empty());
}

/// Durability of the queue: jobs and results survive a reopen, and a job claimed when the process
/// died stays claimed (a reopen by another process must not steal it) until the corp's workers
/// requeue it.
pub fn queue_survives_a_reopen(open: super::Make<'_>) {
    const CORP: &str = "wwconformancemedia";
    let now = T + HOUR;
    let (claimed, stats) = {
        let store = open();
        store
            .writer
            .commit_page(
                CORP,
                &PageCommit {
                    records: vec![image(1, "m1", T, "f1"), image(2, "m2", T + 1, "f2")],
                    cursor: 2,
                    quarantined: Vec::new(),
                },
            )
            .expect("commit");
        let claimed = store
            .media
            .claim_media_jobs(CORP, now, i64::MIN, 10)
            .expect("claim");
        assert_eq!(claimed.len(), 2);
        let done = [result(
            &claimed[0],
            MediaJobOutcome::Done(object('a', MediaArea::Objects)),
        )];
        store
            .media
            .record_media_results(CORP, &done, now)
            .expect("record");
        // The process dies with m2 mid-download.
        (claimed, store.reader.media_stats(CORP).expect("stats"))
    };
    let store = open();
    assert_eq!(store.reader.media_stats(CORP).expect("stats"), stats);
    assert_eq!((stats.done, stats.downloading), (1, 1));
    assert!(
        store
            .media
            .claim_media_jobs(CORP, now, i64::MIN, 10)
            .expect("claim")
            .is_empty()
    );
    assert_eq!(
        store
            .media
            .requeue_interrupted_media_jobs(CORP, now)
            .expect("requeue"),
        1
    );
    let again = store
        .media
        .claim_media_jobs(CORP, now, i64::MIN, 10)
        .expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (claimed[1].id, 0));
    let media = store.reader.message_media(CORP, "m1").expect("media");
    assert_eq!(media[0].object, Some(object('a', MediaArea::Objects)));
}
