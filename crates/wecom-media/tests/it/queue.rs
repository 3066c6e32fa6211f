//! The queue's behaviour: nothing expired by the clock, at-risk order, the concurrency bound,
//! cancellation, and a daemon picking up new jobs.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wecom_emulator::{MediaFault, MediaFaultRule, MediaKind};
use wecom_media::{MediaWorkers, code};
use wecom_store::MediaJobState;

use crate::{CORP, Counting, count, files_below, now_ms, options, setup};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Issue 11 item 15: no job is given up by the clock. Media of messages months past the default
/// 5-day window are all asked for (and stored); only WeCom's own 301048 expires a job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_of_months_old_messages_is_fetched_and_only_wecoms_answer_expires_a_job() {
    let s = setup(0).await;
    let old = s.emulator.add_media(1000, MediaKind::Image);
    let older = s.emulator.add_media(2000, MediaKind::File);
    let gone = s.emulator.add_media(1000, MediaKind::Image);
    s.emulator
        .inject_media(MediaFaultRule::new(MediaFault::Expired, 1000).for_fileid(&gone.fileid));
    s.post_file(
        "old",
        now_ms() - 90 * DAY_MS,
        &old.sdkfileid,
        &old.md5,
        old.size,
    );
    s.post_file(
        "older",
        now_ms() - 200 * DAY_MS,
        &older.sdkfileid,
        &older.md5,
        older.size,
    );
    s.post_file(
        "gone",
        now_ms() - 6 * DAY_MS,
        &gone.sdkfileid,
        &gone.md5,
        gone.size,
    );
    // The default options: a 5-day window.
    let mut opts = options();
    opts.retention = wecom_media::DEFAULT_RETENTION;
    let report = s.drain(opts).await;
    assert_eq!((report.done, report.expired), (2, 1), "{report:?}");
    for msgid in ["old", "older"] {
        let job = s.job(msgid);
        assert_eq!(
            (job.state, job.attempts),
            (MediaJobState::Done, 1),
            "{msgid}"
        );
    }
    let job = s.job("gone");
    assert_eq!((job.state, job.attempts), (MediaJobState::Expired, 1));
    assert_eq!(job.error_code.as_deref(), Some(code::EXPIRED));
    assert!(
        job.last_error
            .as_deref()
            .is_some_and(|e| e.contains("10010")),
        "{job:?}"
    );
    // Every object was asked for: two downloads and the one WeCom refused.
    assert_eq!(s.emulator.media_request_count(), 3);
    s.shutdown().await;
}

/// The retention window orders the work: inside it, oldest (nearest the edge) first; then the
/// jobs past it, newest (nearest the edge) first — none skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_nearest_the_retention_edge_are_downloaded_first() {
    let s = setup(0).await;
    let mut posted = Vec::new();
    for (i, age_days) in [1i64, 30, 4, 6, 2].into_iter().enumerate() {
        let spec = s.emulator.add_media(500, MediaKind::Image);
        s.post_file(
            &format!("m{i}"),
            now_ms() - age_days * DAY_MS,
            &spec.sdkfileid,
            &spec.md5,
            spec.size,
        );
        posted.push((age_days, spec.sdkfileid));
    }
    let counting = Counting::new(s.client.clone());
    let mut opts = options();
    opts.concurrency = 1;
    opts.retention = Duration::from_secs(5 * 86_400);
    let report = s.drain_with(counting.clone(), s.blobs.clone(), opts).await;
    assert_eq!(report.done, 5, "{report:?}");
    let started = counting.started.lock().expect("lock").clone();
    let by_age = |age: i64| {
        posted
            .iter()
            .find(|(a, _)| *a == age)
            .expect("posted")
            .1
            .clone()
    };
    assert_eq!(
        started,
        [4, 2, 1, 6, 30].map(by_age).to_vec(),
        "inside the 5-day window oldest first, then past it newest first"
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_are_bounded_by_the_concurrency_and_run_in_parallel() {
    let s = setup(0).await;
    for i in 0..12 {
        let spec = s.emulator.add_media(20_000, MediaKind::Image);
        s.emulator.inject_media(
            MediaFaultRule::new(MediaFault::Delay(Duration::from_millis(60)), 1)
                .for_fileid(&spec.fileid),
        );
        s.post_spec(&format!("m{i}"), &spec);
    }
    let counting = Counting::new(s.client.clone());
    let mut opts = options();
    opts.concurrency = 3;
    let report = s.drain_with(counting.clone(), s.blobs.clone(), opts).await;
    assert_eq!(report.done, 12);
    assert_eq!(counting.max.load(Ordering::SeqCst), 3);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_message_is_downloaded_first() {
    let s = setup(0).await;
    let mut expected = Vec::new();
    for (i, age_hours) in [3i64, 40, 1, 90, 20].into_iter().enumerate() {
        let spec = s.emulator.add_media(500, MediaKind::Image);
        let msgtime = now_ms() - age_hours * 3_600_000;
        s.post_file(
            &format!("m{i}"),
            msgtime,
            &spec.sdkfileid,
            &spec.md5,
            spec.size,
        );
        expected.push((msgtime, spec.sdkfileid));
    }
    expected.sort();
    let counting = Counting::new(s.client.clone());
    let mut opts = options();
    opts.concurrency = 1;
    s.drain_with(counting.clone(), s.blobs.clone(), opts).await;
    let started = counting.started.lock().expect("lock").clone();
    assert_eq!(
        started,
        expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_gives_the_jobs_back_and_publishes_nothing() {
    let s = setup(0).await;
    let spec = s.emulator.add_media(3_000_000, MediaKind::Video);
    s.post_spec("slow", &spec);
    s.emulator.inject_media(
        MediaFaultRule::new(MediaFault::Delay(Duration::from_millis(100)), 1000)
            .for_fileid(&spec.fileid),
    );
    let workers = MediaWorkers::new(
        s.store.media.clone(),
        s.client.clone(),
        s.blobs.clone(),
        options(),
    );
    let cancel = CancellationToken::new();
    let run = {
        let cancel = cancel.clone();
        async move { workers.drain(&cancel).await }
    };
    let emulator = s.emulator.clone();
    let stopper = async {
        // Cancel once the download is under way.
        while emulator.media_request_count() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cancel.cancel();
    };
    let (report, ()) = tokio::join!(run, stopper);
    let report = report.expect("drain");
    assert_eq!((report.released, report.done), (1, 0), "{report:?}");
    let job = s.job("slow");
    assert_eq!((job.state, job.attempts), (MediaJobState::Pending, 0));
    let root = s.blob_root();
    assert_eq!(files_below(&root, &root), Vec::<String>::new());

    s.emulator.clear_media_faults();
    assert_eq!(s.drain(options()).await.done, 1);
    s.shutdown().await;
}

/// Issue 11 item 12: a drain cancelled mid-download (a signal in `sync`) gives the job back with
/// the attempts it had, records no failure and leaves no `.part`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_download_keeps_the_jobs_attempts_and_records_no_failure() {
    let s = setup(0).await;
    let spec = s.emulator.add_media(3_000_000, MediaKind::Video);
    s.post_spec("slow", &spec);
    // A first attempt fails (server error), so the job has a count and an error to keep.
    s.emulator
        .inject_media(MediaFaultRule::new(MediaFault::Http500, 100).for_fileid(&spec.fileid));
    let report = s.drain(options()).await;
    assert_eq!(report.retry_later, 1, "{report:?}");
    let before = s.job("slow");
    assert_eq!(
        (before.state, before.attempts),
        (MediaJobState::FailedRetryable, 1)
    );
    s.emulator.clear_media_faults();
    s.store
        .media
        .retry_media_jobs(CORP, false, now_ms())
        .expect("retry");
    // Slow chunks: the cancellation lands mid-download.
    s.emulator.inject_media(
        MediaFaultRule::new(MediaFault::Delay(Duration::from_millis(100)), 1000)
            .for_fileid(&spec.fileid),
    );
    let requests = s.emulator.media_request_count();
    let workers = MediaWorkers::new(
        s.store.media.clone(),
        s.client.clone(),
        s.blobs.clone(),
        options(),
    );
    let cancel = CancellationToken::new();
    let run = {
        let cancel = cancel.clone();
        async move { workers.drain(&cancel).await }
    };
    let emulator = s.emulator.clone();
    let root = s.blob_root();
    let stopper = async {
        // Cancel once a chunk was written and the next one is on its way.
        while emulator.media_request_count() < requests + 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cancel.cancel();
    };
    let (report, ()) = tokio::join!(run, stopper);
    let report = report.expect("drain");
    assert_eq!(
        (
            report.released,
            report.failed,
            report.retry_later,
            report.done
        ),
        (1, 0, 0, 0),
        "{report:?}"
    );
    let job = s.job("slow");
    assert_eq!(
        (job.state, job.attempts),
        (MediaJobState::Pending, before.attempts)
    );
    assert_eq!(job.error_code, before.error_code, "no new failure recorded");
    assert_eq!(job.last_error, before.last_error, "no new failure recorded");
    assert_eq!(
        files_below(&root, &root),
        Vec::<String>::new(),
        "no .part left"
    );
    s.shutdown().await;
}

/// A source that fails because the run is being stopped (a signal that also tears the source
/// down): the cancellation is seen first, so the failure is not recorded against the job.
struct FailsOnStop {
    inner: Arc<dyn wecom_wire::MediaSource>,
    stop: CancellationToken,
}

impl wecom_wire::MediaSource for FailsOnStop {
    fn download<'a>(
        &'a self,
        sdkfileid: &'a str,
        sink: &'a mut dyn wecom_wire::MediaChunkSink,
    ) -> wecom_wire::BoxFuture<'a, Result<wecom_wire::MediaFetched, wecom_wire::MediaFetchError>>
    {
        Box::pin(async move {
            let mut first = Vec::new();
            let _ = self.inner.download(sdkfileid, &mut first).await;
            let _ = sink.write(&first[..first.len().min(1000)]).await;
            // The signal: the run is cancelled and, in the same instant, the source fails.
            self.stop.cancel();
            Err(wecom_wire::MediaFetchError::new(
                wecom_wire::MediaFetchErrorKind::Decrypt,
                false,
                wecom_wire::SdkCode::Decrypt,
                "decryption failed: the worker was stopped",
            ))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_caused_by_the_cancellation_gives_the_job_back() {
    let s = setup(0).await;
    let spec = s.emulator.add_media(100_000, MediaKind::File);
    s.post_spec("stopped", &spec);
    let cancel = CancellationToken::new();
    let source = Arc::new(FailsOnStop {
        inner: s.client.clone(),
        stop: cancel.clone(),
    });
    let workers = MediaWorkers::new(s.store.media.clone(), source, s.blobs.clone(), options());
    let report = workers.drain(&cancel).await.expect("drain");
    assert_eq!((report.released, report.failed), (1, 0), "{report:?}");
    let job = s.job("stopped");
    assert_eq!((job.state, job.attempts), (MediaJobState::Pending, 0));
    assert_eq!((job.error_code, job.last_error), (None, None));
    let root = s.blob_root();
    assert_eq!(files_below(&root, &root), Vec::<String>::new());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_daemon_downloads_new_jobs_when_woken() {
    let s = setup(40).await;
    let mut opts = options();
    opts.poll = Duration::from_secs(3600);
    let workers = Arc::new(MediaWorkers::new(
        s.store.media.clone(),
        s.client.clone(),
        s.blobs.clone(),
        opts,
    ));
    let waker = workers.waker();
    let cancel = CancellationToken::new();
    let daemon = tokio::spawn({
        let workers = workers.clone();
        let cancel = cancel.clone();
        async move { workers.run(&cancel).await }
    });
    s.sync().await;
    waker.wake();
    let total: usize = s.emulator.records().iter().map(|r| r.media.len()).sum();
    assert!(total > 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while count(&s.jobs(), MediaJobState::Done) < total {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the daemon did not finish: {:?}",
            s.store.reader.media_stats(CORP)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    let report = daemon.await.expect("join").expect("daemon");
    assert_eq!(report.done as usize, total);
    s.shutdown().await;
}
