//! Every download fault of the issue ends in a recorded, explained job state: retried and done,
//! quarantined, expired, or failed (permanently or for a later attempt) — never a partial object.

use std::time::Duration;

use wecom_crypto::SdkFileId;
use wecom_emulator::{MediaFault, MediaFaultRule, MediaKind};
use wecom_media::code;
use wecom_store::{MediaArea, MediaJobState};

use crate::{CORP, files_below, now_ms, options, setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_chunk_is_downloaded_again_then_verified() {
    let s = setup(0).await;
    let spec = s.emulator.add_media(1_300_000, MediaKind::File);
    s.post_spec("corrupt-once", &spec);
    s.emulator.inject_media(
        MediaFaultRule::new(MediaFault::CorruptChunk, 1)
            .for_fileid(&spec.fileid)
            .at_range_start(524_288),
    );
    let report = s.drain(options()).await;
    assert_eq!((report.done, report.md5_mismatches), (1, 1), "{report:?}");
    let job = s.job("corrupt-once");
    assert_eq!(job.state, MediaJobState::Done);
    assert_eq!((job.attempts, job.md5_mismatches), (1, 1));
    assert_eq!(job.error_code, None);
    // Two whole downloads of three chunks each.
    assert_eq!(s.emulator.media_request_count(), 6);
    let root = s.blob_root();
    assert_eq!(
        files_below(&root, &root.join("quarantine")),
        Vec::<String>::new()
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_md5_that_never_matches_is_recorded_with_the_bytes_in_quarantine() {
    let s = setup(0).await;
    let spec = s.emulator.add_media(700_000, MediaKind::Image);
    let wrong = "0123456789abcdef0123456789abcdef";
    s.post_file(
        "bad-md5",
        now_ms() - 60_000,
        &spec.sdkfileid,
        wrong,
        spec.size,
    );
    let report = s.drain(options()).await;
    assert_eq!(
        (report.done, report.failed, report.md5_mismatches),
        (0, 1, 5)
    );

    let job = s.job("bad-md5");
    assert_eq!(job.state, MediaJobState::FailedPermanent);
    assert_eq!(job.error_code.as_deref(), Some(code::MD5_MISMATCH));
    assert_eq!((job.attempts, job.md5_mismatches), (1, 5));
    let error = job.last_error.as_deref().expect("explained");
    assert!(
        error.contains(wrong) && error.contains(&spec.actual_md5()),
        "{error}"
    );
    assert!(error.contains("quarantine"), "{error}");
    // Five whole downloads of two chunks each.
    assert_eq!(s.emulator.media_request_count(), 10);

    let media = s
        .store
        .reader
        .message_media(CORP, "bad-md5")
        .expect("media");
    let object = media[0]
        .object
        .clone()
        .expect("quarantined object recorded");
    assert_eq!(object.area, MediaArea::Quarantine);
    assert_eq!(object.md5, spec.actual_md5());
    assert_eq!(Some(&object.sha256), job.sha256.as_ref());
    let root = s.blob_root();
    assert_eq!(
        files_below(&root, &root.join("objects")),
        Vec::<String>::new()
    );
    assert_eq!(
        files_below(&root, &root.join("quarantine")),
        std::slice::from_ref(&object.key)
    );
    let bytes = std::fs::read(root.join(&object.key)).expect("kept for inspection");
    assert!(bytes == wecom_emulator::media_bytes(&spec));

    let stats = s.store.reader.media_stats(CORP).expect("stats");
    assert_eq!(
        (
            stats.failed_permanent,
            stats.objects,
            stats.quarantined_objects
        ),
        (1, 0, 1)
    );
    assert_eq!(stats.failed_by_code.get(code::MD5_MISMATCH), Some(&1));

    // An operator retry starts the md5 budget afresh.
    let n = s
        .store
        .media
        .retry_media_jobs(CORP, true, now_ms())
        .expect("retry");
    assert_eq!(n, 1);
    let job = s.job("bad-md5");
    assert_eq!(
        (job.state, job.attempts, job.md5_mismatches),
        (MediaJobState::Pending, 0, 0)
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_size_that_never_matches_is_recorded_as_size_mismatch() {
    let s = setup(0).await;
    let spec = s.emulator.add_media(1000, MediaKind::File);
    s.post_file("bad-size", now_ms() - 60_000, &spec.sdkfileid, "", 999);
    let mut opts = options();
    opts.max_md5_attempts = 2;
    let report = s.drain(opts).await;
    assert_eq!((report.failed, report.md5_mismatches), (1, 2));
    let job = s.job("bad-size");
    assert_eq!(job.state, MediaJobState::FailedPermanent);
    assert_eq!(job.error_code.as_deref(), Some(code::SIZE_MISMATCH));
    let error = job.last_error.expect("explained");
    assert!(
        error.contains("1000 bytes received, 999 expected"),
        "{error}"
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_answers_of_the_server_are_recorded_and_explained() {
    let s = setup(0).await;
    let expired = s.emulator.add_media(10_000, MediaKind::Voice);
    let ip = s.emulator.add_media(10_000, MediaKind::Video);
    s.post_spec("expired", &expired);
    s.post_spec("ip", &ip);
    s.emulator
        .inject_media(MediaFaultRule::new(MediaFault::Expired, 1).for_fileid(&expired.fileid));
    s.emulator
        .inject_media(MediaFaultRule::new(MediaFault::IpNotAllowed, 1).for_fileid(&ip.fileid));
    let unknown = SdkFileId {
        fileid: "no-such-fileid".into(),
        authkey: "x".into(),
        aeskey: "00112233445566778899aabbccddeeff".into(),
    }
    .encode();
    s.post_file("unknown", now_ms() - 60_000, &unknown, "", 10);

    let report = s.drain(options()).await;
    assert_eq!(
        (report.done, report.expired, report.failed),
        (0, 1, 2),
        "{report:?}"
    );
    // One request each: nothing final is retried.
    assert_eq!(s.emulator.media_request_count(), 3);

    let job = s.job("expired");
    assert_eq!(job.state, MediaJobState::Expired);
    assert_eq!(job.error_code.as_deref(), Some(code::EXPIRED));
    assert!(job.last_error.expect("explained").contains("10010"));

    let job = s.job("ip");
    assert_eq!(job.state, MediaJobState::FailedPermanent);
    assert_eq!(job.error_code.as_deref(), Some(code::IP_NOT_ALLOWED));
    assert!(job.last_error.expect("explained").contains("trusted IPs"));

    let job = s.job("unknown");
    assert_eq!(job.state, MediaJobState::FailedPermanent);
    assert_eq!(job.error_code.as_deref(), Some(code::UNKNOWN_FILEID));
    let error = job.last_error.expect("explained");
    assert!(error.contains("301010"), "{error}");
    assert!(
        !error.contains(&unknown),
        "the whole sdkfileid is never shown: {error}"
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sdkfileids_fail_for_good_without_a_request() {
    let s = setup(0).await;
    let no_key = SdkFileId {
        fileid: "f".into(),
        authkey: "a".into(),
        aeskey: String::new(),
    }
    .encode();
    s.post_file("malformed", now_ms() - 60_000, "////", "", 10);
    s.post_file("no-aeskey", now_ms() - 60_000, &no_key, "", 10);
    let report = s.drain(options()).await;
    assert_eq!(report.failed, 2);
    assert_eq!(s.emulator.media_request_count(), 0);
    for (msgid, needle) in [("malformed", "10005"), ("no-aeskey", "aeskey")] {
        let job = s.job(msgid);
        assert_eq!(job.state, MediaJobState::FailedPermanent);
        assert_eq!(job.error_code.as_deref(), Some(code::INVALID_SDKFILEID));
        let error = job.last_error.expect("explained");
        assert!(error.contains(needle), "{msgid}: {error}");
    }
    let root = s.blob_root();
    assert_eq!(files_below(&root, &root), Vec::<String>::new());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_answers_fail_the_job_for_a_later_attempt_then_it_completes() {
    let s = setup(0).await;
    let range = s.emulator.add_media(600_000, MediaKind::File);
    let html = s.emulator.add_media(600_000, MediaKind::File);
    s.post_spec("wrong-range", &range);
    s.post_spec("not-json", &html);
    s.emulator.inject_media(
        MediaFaultRule::new(MediaFault::WrongContentRange, 1000)
            .for_fileid(&range.fileid)
            .at_range_start(524_288),
    );
    s.emulator
        .inject_media(MediaFaultRule::new(MediaFault::NotJson, 1000).for_fileid(&html.fileid));
    let before = now_ms();
    let report = s.drain(options()).await;
    assert_eq!(report.retry_later, 2, "{report:?}");
    // The client retried the failing chunk (3 attempts) before the job failed.
    let requests = |fileid: &str| {
        s.emulator
            .media_requests()
            .iter()
            .filter(|r| r.fileid.as_deref() == Some(fileid))
            .count()
    };
    assert_eq!((requests(&range.fileid), requests(&html.fileid)), (4, 3));
    let root = s.blob_root();
    for msgid in ["wrong-range", "not-json"] {
        let job = s.job(msgid);
        assert_eq!(job.state, MediaJobState::FailedRetryable, "{msgid}");
        assert_eq!(job.attempts, 1);
        assert_eq!(job.error_code.as_deref(), Some("bad_response"));
        let error = job.last_error.expect("explained");
        assert!(error.contains("gave up after 3 attempts"), "{error}");
        // Not before half the base delay (jitter), not after it.
        assert!(job.next_attempt_at_ms >= before + 1_800_000, "{msgid}");
        assert!(job.next_attempt_at_ms <= now_ms() + 3_600_000, "{msgid}");
    }
    assert_eq!(files_below(&root, &root), Vec::<String>::new());
    let stats = s.store.reader.media_stats(CORP).expect("stats");
    assert_eq!(stats.failed_retryable, 2);
    assert!(stats.next_attempt_at_ms.is_some_and(|t| t > now_ms()));

    // Not due yet: a drain leaves them alone. Made due (an operator's `media retry`), they finish.
    assert_eq!(s.drain(options()).await.started, 0);
    s.emulator.clear_media_faults();
    let n = s
        .store
        .media
        .retry_media_jobs(CORP, false, now_ms())
        .expect("retry");
    assert_eq!(n, 2);
    let report = s.drain(options()).await;
    assert_eq!(report.done, 2);
    assert_eq!(s.job("not-json").attempts, 2);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_failing_transiently_past_its_budget_is_failed_for_good() {
    let s = setup(0).await;
    let spec = s.emulator.add_media(1000, MediaKind::File);
    s.post_spec("flaky", &spec);
    s.emulator
        .inject_media(MediaFaultRule::new(MediaFault::Http500, 1000).for_fileid(&spec.fileid));
    let mut opts = options();
    opts.max_attempts = 3;
    opts.retry_base = Duration::ZERO;
    opts.retry_max = Duration::ZERO;
    let report = s.drain(opts).await;
    assert_eq!((report.retry_later, report.failed), (2, 1), "{report:?}");
    let job = s.job("flaky");
    assert_eq!(job.state, MediaJobState::FailedPermanent);
    assert_eq!(job.attempts, 3);
    assert_eq!(job.error_code.as_deref(), Some("http_status"));
    let error = job.last_error.expect("explained");
    assert!(
        error.starts_with("gave up after 3 attempts: http status 500"),
        "{error}"
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_md5sum_is_not_checked_but_the_size_is() {
    let s = setup(0).await;
    let spec = s.emulator.add_media(2000, MediaKind::Emotion);
    s.post_file("no-md5", now_ms() - 60_000, &spec.sdkfileid, "", spec.size);
    let report = s.drain(options()).await;
    assert_eq!((report.done, report.md5_mismatches), (1, 0), "{report:?}");
    let job = s.job("no-md5");
    assert_eq!(
        (job.state, job.md5_expected.as_str()),
        (MediaJobState::Done, "")
    );
    let media = s.store.reader.message_media(CORP, "no-md5").expect("media");
    let object = media[0].object.clone().expect("object");
    assert_eq!((object.md5, object.size), (spec.actual_md5(), 2000));
    assert_eq!(object.content_type, "image/gif");
    s.shutdown().await;
}
