//! The queue's behaviour: the retention window, the concurrency bound, deadline order,
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_of_messages_older_than_the_retention_window_expire_without_a_request() {
    let s = setup(0).await;
    let old = s.emulator.add_media(1000, MediaKind::Image);
    let recent = s.emulator.add_media(1000, MediaKind::Image);
    s.post_file(
        "old",
        now_ms() - 6 * DAY_MS,
        &old.sdkfileid,
        &old.md5,
        old.size,
    );
    s.post_file(
        "recent",
        now_ms() - 4 * DAY_MS,
        &recent.sdkfileid,
        &recent.md5,
        recent.size,
    );
    let report = s.drain(options()).await;
    assert_eq!((report.expired, report.done), (1, 1), "{report:?}");
    let job = s.job("old");
    assert_eq!(job.state, MediaJobState::Expired);
    assert_eq!(job.error_code.as_deref(), Some(code::RETENTION_WINDOW));
    assert_eq!(job.attempts, 0);
    let error = job.last_error.expect("explained");
    assert!(
        error.contains("older than the retention window (5 days)"),
        "{error}"
    );
    assert_eq!(
        s.emulator.media_request_count(),
        1,
        "only the recent object was asked for"
    );
    assert_eq!(s.job("recent").state, MediaJobState::Done);
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
        s.store.clone(),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_daemon_downloads_new_jobs_when_woken() {
    let s = setup(40).await;
    let mut opts = options();
    opts.poll = Duration::from_secs(3600);
    let workers = Arc::new(MediaWorkers::new(
        s.store.clone(),
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
            s.store.lock().expect("lock").media_stats(CORP)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    let report = daemon.await.expect("join").expect("daemon");
    assert_eq!(report.done as usize, total);
    s.shutdown().await;
}
