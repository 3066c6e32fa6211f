//! The genuine library leaks two descriptors and ~70 KB on every non-2xx answer. 300 HTTP 500s
//! in a row leave the parent's descriptors where they were: workers are recycled, once by their
//! count of 10001 answers, once by their measured descriptor count. Also the other triggers:
//! calls served and resident memory.

use wecom_emulator::Fault;
use wecom_sdk::{SdkErrorKind, SdkSource};
use wecom_wire::{ArchiveSource, SdkCode};

use crate::support::{Fixture, own_fds, real_sdk};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_http_500s_are_contained_by_recycling() {
    let Some(library) = real_sdk("three_hundred_http_500s_are_contained_by_recycling") else {
        return;
    };
    let fx = Fixture::start(20).await;

    // First source: recycled by its count of 10001s.
    let mut config = fx.sdk_config(&library);
    config.retry.max_attempts = 1;
    config.limits.max_network_failures = 40;
    let by_count = SdkSource::new(config).expect("source");
    // Second source: no failure budget, recycled when its descriptors pass 64.
    let mut config = fx.sdk_config(&library);
    config.retry.max_attempts = 1;
    config.limits.max_network_failures = u32::MAX;
    config.limits.max_fds = 64;
    let by_fds = SdkSource::new(config).expect("source");
    by_count.start().await.expect("start");
    by_fds.start().await.expect("start");
    // Let the first token fetches happen before the faults (gettoken is never faulted anyway).
    by_count.fetch_page(0, 1).await.expect("warm");
    by_fds.fetch_page(0, 1).await.expect("warm");

    let fds_before = own_fds();
    fx.emulator.inject(Fault::Http500, 300);
    for i in 0..300 {
        let source = if i < 150 { &by_count } else { &by_fds };
        let e = source.fetch_chat_data(0, 5).await.expect_err("500");
        assert_eq!(e.kind(), &SdkErrorKind::Sdk(SdkCode::Network), "{e}");
    }
    let fds_after = own_fds();
    let (a, b) = (by_count.stats(), by_fds.stats());
    println!(
        "300 HTTP 500s: parent descriptors {fds_before} -> {fds_after}; recycled for 10001s {} times, for descriptors {} times; {a:?} / {b:?}",
        a.recycled_for_network_failures, b.recycled_for_fds
    );
    assert!(fds_after <= fds_before + 4, "{fds_before} -> {fds_after}");
    assert_eq!(a.recycled_for_network_failures, 3, "150 / 40");
    assert!(b.recycled_for_fds >= 2, "{b:?}");
    assert_eq!(a.crashes + b.crashes + a.hangs + b.hangs, 0);

    // Both still serve.
    assert_eq!(
        by_count.fetch_page(0, 5).await.expect("page").items.len(),
        5
    );
    assert_eq!(by_fds.fetch_page(0, 5).await.expect("page").items.len(), 5);
    by_count.shutdown().await;
    by_fds.shutdown().await;
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_are_recycled_after_their_calls_and_on_memory() {
    let Some(library) = real_sdk("workers_are_recycled_after_their_calls_and_on_memory") else {
        return;
    };
    let fx = Fixture::start(30).await;
    let mut config = fx.sdk_config(&library);
    config.limits.max_calls = 3;
    let by_calls = SdkSource::new(config).expect("source");
    let mut config = fx.sdk_config(&library);
    // Far below what a worker with the library mapped occupies: replaced after every call.
    config.limits.max_rss_bytes = 1 << 20;
    let by_memory = SdkSource::new(config).expect("source");
    for i in 0..7 {
        let page = by_calls.fetch_page(i, 1).await.expect("page");
        assert_eq!(page.items[0].seq, i + 1);
    }
    for i in 0..3 {
        by_memory.fetch_page(i, 1).await.expect("page");
    }
    let (a, b) = (by_calls.stats(), by_memory.stats());
    assert_eq!(
        (a.calls, a.recycled_for_calls, a.workers_started),
        (7, 2, 3),
        "{a:?}"
    );
    assert_eq!((b.recycled_for_memory, b.workers_started), (3, 3), "{b:?}");
    by_calls.shutdown().await;
    by_memory.shutdown().await;
    fx.stop().await;
}
