//! Real crashes and hangs of the genuine library, isolated in its worker: the parent survives,
//! reports the signal, starts a new worker and carries on; a crash loop stops new workers.

use std::time::{Duration, Instant};

use wecom_emulator::{Fault, MediaFault, MediaFaultRule, MediaKind};
use wecom_sdk::{SdkErrorKind, SdkSource};
use wecom_wire::{ArchiveSource, SdkCode};

use crate::support::{Fixture, real_sdk};

fn crashed_by_abort(kind: &SdkErrorKind) -> bool {
    kind == &SdkErrorKind::WorkerCrashed {
        signal: Some(libc::SIGABRT),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_of_the_genuine_library_fail_only_the_call_in_flight() {
    let Some(library) = real_sdk("crashes_of_the_genuine_library_fail_only_the_call_in_flight")
    else {
        return;
    };
    let fx = Fixture::start(40).await;
    let mut config = fx.sdk_config(&library);
    config.limits.crash_limit = 10;
    let source = SdkSource::new(config).expect("source");
    assert_eq!(
        source.fetch_page(0, 10).await.expect("page").items.len(),
        10
    );

    // 1. The server answers a media chunk with `"content":"="`: the library aborts.
    let spec = fx.emulator.add_media(1_000, MediaKind::Image);
    fx.emulator.inject_media(
        MediaFaultRule::new(MediaFault::AbortingContent, 1).for_fileid(spec.fileid.clone()),
    );
    let mut sink = Vec::new();
    let e = source
        .download_media(&spec.sdkfileid, &mut sink)
        .await
        .expect_err("the worker aborts");
    println!("content \"=\": {e}");
    assert!(crashed_by_abort(e.kind()), "{e}");
    assert!(
        e.message().contains("SIGABRT") && e.message().contains("GetMediaData"),
        "{e}"
    );
    assert!(e.is_retryable());
    let mut sink = Vec::new();
    let done = source
        .download_media(&spec.sdkfileid, &mut sink)
        .await
        .expect("a new worker downloads it");
    assert_eq!(done.md5, spec.md5);

    // 2. An sdkfileid of "=": refused by download_media, fatal to the library when sent raw.
    let e = source
        .download_media("=", &mut Vec::new())
        .await
        .expect_err("refused");
    assert_eq!(e.kind(), &SdkErrorKind::InvalidArgument, "{e}");
    let e = source.get_media_chunk("=", "").await.expect_err("aborts");
    println!("sdkfileid \"=\": {e}");
    assert!(crashed_by_abort(e.kind()), "{e}");
    assert_eq!(
        source.fetch_page(10, 10).await.expect("page").items.len(),
        10
    );

    // 3. DecryptData with an encrypt_msg under 13 characters: std::out_of_range, abort.
    let e = source
        .decrypt_data_batch(vec![(b"AAAA".to_vec(), b"short".to_vec())])
        .await
        .expect_err("aborts");
    println!("short encrypt_msg: {e}");
    assert!(crashed_by_abort(e.kind()), "{e}");
    // The library aborts silently (no `terminate called…` line): the signal and the function
    // are all there is to report.
    assert!(e.message().contains("DecryptData"), "{e}");

    // The parent is untouched and the next calls run on new workers.
    assert_eq!(
        source.fetch_page(20, 10).await.expect("page").items.len(),
        10
    );
    let stats = source.stats();
    assert_eq!(stats.crashes, 3);
    assert_eq!(stats.workers_started, 4);
    source.shutdown().await;
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_call_is_cut_at_its_deadline() {
    let Some(library) = real_sdk("a_hung_call_is_cut_at_its_deadline") else {
        return;
    };
    let fx = Fixture::start(20).await;
    let mut config = fx.sdk_config(&library);
    // The library's own timeout (30 s) is longer than the delay; only our deadline can help.
    config.net.timeout = Duration::from_secs(30);
    config.limits.call_deadline = Some(Duration::from_millis(1500));
    let source = SdkSource::new(config).expect("source");
    source.start().await.expect("start");
    fx.emulator.inject(Fault::Delay(Duration::from_secs(8)), 1);
    let started = Instant::now();
    let e = source.fetch_page(0, 5).await.expect_err("hangs");
    let took = started.elapsed();
    println!("hung server: {e} (after {:.2} s)", took.as_secs_f64());
    assert_eq!(e.kind, wecom_wire::SourceErrorKind::Timeout, "{e}");
    assert!(e.retryable);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        e.message.contains("GetChatData") && e.message.contains("1.5 s"),
        "{e}"
    );
    assert_eq!(
        source
            .fetch_page(0, 5)
            .await
            .expect("next call")
            .items
            .len(),
        5
    );
    let stats = source.stats();
    assert_eq!(
        (stats.hangs, stats.crashes, stats.workers_started),
        (1, 0, 2)
    );
    source.shutdown().await;
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loop_stops_new_workers_and_names_the_last_crash() {
    let Some(library) = real_sdk("a_crash_loop_stops_new_workers_and_names_the_last_crash") else {
        return;
    };
    let fx = Fixture::start(20).await;
    let mut config = fx.sdk_config(&library);
    config.limits.crash_limit = 3;
    config.limits.crash_window = Duration::from_secs(600);
    let source = SdkSource::new(config).expect("source");
    for _ in 0..3 {
        let e = source.get_media_chunk("A=", "").await.expect_err("aborts");
        assert!(crashed_by_abort(e.kind()), "{e}");
    }
    let e = source.fetch_page(0, 5).await.expect_err("refused");
    println!("crash loop: {e}");
    assert_eq!(e.sdk_code(), SdkCode::System);
    assert!(
        e.message.contains("3 worker crashes or hangs within 600 s"),
        "{e}"
    );
    assert!(
        e.message.contains("SIGABRT"),
        "the last crash is named: {e}"
    );
    assert_eq!(source.stats().workers_started, 3, "no fourth worker");
    source.shutdown().await;
    fx.stop().await;
}
