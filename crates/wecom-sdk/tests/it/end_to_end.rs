//! The genuine library pulls a corpus and media through the emulator's CONNECT proxy; the result
//! equals what the native client gets from the same emulator. Also: proxy credentials, SOCKS5h,
//! the in-body errcode check, the token the library never refreshes, and the in-process mode.

use std::time::Instant;

use md5::{Digest, Md5};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wecom_client::NativeClient;
use wecom_emulator::{
    Fault, MediaFault, MediaFaultRule, MediaKind, MediaSpec, ProxyOptions, TlsIdentity, media_bytes,
};
use wecom_sdk::{SdkErrorKind, SdkSource, WorkerMode};
use wecom_wire::{ArchiveSource, ChatDataItem, MediaFetchErrorKind, MediaSource, SdkCode, errcode};

use crate::support::{Fixture, real_sdk};

async fn pull_all(source: &impl ArchiveSource, limit: u32) -> Vec<ChatDataItem> {
    let mut items = Vec::new();
    let mut cursor = 0;
    loop {
        let page = source.fetch_page(cursor, limit).await.expect("page");
        let Some(last) = page.items.last() else {
            return items;
        };
        cursor = last.seq;
        items.extend(page.items);
    }
}

/// Downloads through both sources; returns (sdk bytes, native bytes).
async fn both(source: &SdkSource, native: &NativeClient, spec: &MediaSpec) -> (Vec<u8>, Vec<u8>) {
    let mut from_sdk = Vec::new();
    let done = source
        .download_media(&spec.sdkfileid, &mut from_sdk)
        .await
        .unwrap_or_else(|e| panic!("sdk download of {} bytes: {e}", spec.size));
    let mut from_native = Vec::new();
    let native_done = native
        .download_media(&spec.sdkfileid, &mut from_native)
        .await
        .unwrap_or_else(|e| panic!("native download of {} bytes: {e}", spec.size));
    assert_eq!(done.plaintext_len, spec.size);
    assert_eq!(done.md5, spec.actual_md5(), "md5 of {} bytes", spec.size);
    assert_eq!(done.md5, native_done.md5);
    assert_eq!(done.ciphertext_len, native_done.ciphertext_len);
    assert_eq!(
        done.chunks, native_done.chunks,
        "chunks of {} bytes",
        spec.size
    );
    assert_eq!(done.verify(&spec.md5, Some(spec.size)), Ok(()));
    (from_sdk, from_native)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_genuine_library_pulls_what_the_native_client_pulls() {
    let Some(library) = real_sdk("the_genuine_library_pulls_what_the_native_client_pulls") else {
        return;
    };
    let fx = Fixture::start(2_100).await;
    let source = SdkSource::new(fx.sdk_config(&library)).expect("source");
    source.start().await.expect("start");
    let native = fx.native_client();

    let started = Instant::now();
    let from_sdk = pull_all(&source, 1000).await;
    let sdk_time = started.elapsed();
    let from_native = pull_all(&native, 1000).await;
    assert_eq!(from_sdk.len(), fx.emulator.len());
    assert!(from_sdk.len() >= 2_000);
    assert_eq!(from_sdk, from_native, "the same records, in the same order");

    // Objects of the sizes that matter: empty, one byte, exactly one chunk, three chunks, 39.
    let started = Instant::now();
    let mut chunks = 0;
    for size in [0u64, 1, 512 * 1024, 1_300_000, 20_000_000] {
        let spec = fx.emulator.add_media(size, MediaKind::File);
        let (a, b) = both(&source, &native, &spec).await;
        assert_eq!(a.len() as u64, size);
        assert!(a == b, "the same bytes for {size}");
        if size <= 1_300_000 {
            assert!(a == media_bytes(&spec), "the emulator's bytes for {size}");
        }
        chunks += size.div_ceil(512 * 1024).max(1);
    }
    // And a dozen objects that messages of the corpus reference.
    let corpus_media: Vec<MediaSpec> = fx
        .emulator
        .records()
        .into_iter()
        .flat_map(|r| r.media)
        .take(12)
        .collect();
    assert_eq!(corpus_media.len(), 12);
    for spec in &corpus_media {
        let (a, b) = both(&source, &native, spec).await;
        assert!(a == b);
        assert_eq!(hex::encode(Md5::digest(&a)), spec.actual_md5());
    }
    // The media workers' seam, as the binary will use it.
    let seam: std::sync::Arc<dyn MediaSource> = std::sync::Arc::new(source.clone());
    let spec = &corpus_media[0];
    let mut bytes = Vec::new();
    let fetched = seam
        .download(&spec.sdkfileid, &mut bytes)
        .await
        .expect("seam download");
    assert_eq!(
        (fetched.plaintext_len, fetched.md5),
        (spec.size, spec.actual_md5())
    );
    let e = seam
        .download("=", &mut Vec::new())
        .await
        .expect_err("refused before the library");
    assert_eq!(e.kind, MediaFetchErrorKind::InvalidFileId);

    let stats = source.stats();
    println!(
        "end to end: {} records in {:.2} s through the genuine library; 5 sized objects ({chunks} chunks, 21.8 MB) and 12 corpus objects in {:.2} s; {stats:?}",
        from_sdk.len(),
        sdk_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(stats.crashes + stats.hangs, 0);
    assert_eq!(stats.workers_started, 1, "one worker served everything");
    source.shutdown().await;
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_credentials_socks5h_and_errcodes_inside_a_zero_return_code() {
    let Some(library) =
        real_sdk("proxy_credentials_socks5h_and_errcodes_inside_a_zero_return_code")
    else {
        return;
    };
    let fx = Fixture::start(30).await;

    // A proxy that insists on credentials: the library's `passwd` becomes Proxy-Authorization.
    let strict = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let strict_addr = strict.local_addr().expect("addr");
    let stop = CancellationToken::new();
    let server = tokio::spawn(wecom_emulator::serve_proxy_with(
        fx.emulator.clone(),
        strict,
        TlsIdentity::generate().expect("tls"),
        ProxyOptions {
            credentials: Some(("archive".to_owned(), "s3cret:x".to_owned())),
        },
        stop.clone().cancelled_owned(),
    ));
    for (proxy, passwd, ok) in [
        (format!("http://{strict_addr}"), "archive:s3cret:x", true),
        (format!("socks5h://{strict_addr}"), "archive:s3cret:x", true),
        (format!("http://{strict_addr}"), "archive:wrong", false),
        (format!("http://{strict_addr}"), "", false),
        (format!("socks5h://{}", fx.proxy), "", true),
    ] {
        let mut config = fx.sdk_config(&library);
        config.net.proxy = proxy.clone();
        config.net.passwd = passwd.to_owned();
        config.retry.max_attempts = 1;
        let source = SdkSource::new(config).expect("source");
        let page = source.fetch_page(0, 5).await;
        match (ok, page) {
            (true, Ok(page)) => assert_eq!(page.items.len(), 5, "{proxy}"),
            (false, Err(e)) => assert_eq!(e.sdk_code(), SdkCode::Network, "{proxy} {passwd}: {e}"),
            (_, other) => panic!("{proxy} with {passwd:?}: {other:?}"),
        }
        source.shutdown().await;
    }
    stop.cancel();
    server.await.expect("join").expect("proxy");

    let source = SdkSource::new(fx.sdk_config(&library)).expect("source");
    // errcode -1 with return code 0: the body is checked, and -1 is retried.
    fx.emulator.inject(Fault::ErrcodeSystemBusy, 1);
    let e = source.fetch_chat_data(0, 5).await.expect_err("busy");
    assert_eq!(e.kind(), &SdkErrorKind::Api { errcode: -1 }, "{e}");
    assert!(e.is_retryable());
    fx.emulator.inject(Fault::ErrcodeSystemBusy, 1);
    assert_eq!(
        source.fetch_page(0, 5).await.expect("retried").items.len(),
        5
    );

    // The library never refreshes its token (42001 comes back with return code 0): the source
    // starts a fresh handle, which fetches a new one.
    let tokens = fx.emulator.token_issued_count();
    fx.emulator.inject(Fault::ExpireTokens, 1);
    let page = source.fetch_page(5, 5).await.expect("after expiry");
    assert_eq!(page.items.first().map(|i| i.seq), Some(6));
    assert_eq!(source.stats().recycled_for_token, 1);
    assert_eq!(fx.emulator.token_issued_count(), tokens + 1);
    assert_eq!(errcode::ACCESS_TOKEN_EXPIRED, 42001);

    // A limit outside 1..=1000 is refused before the library (which would say 10000).
    let e = source.fetch_page(0, 1001).await.expect_err("limit");
    assert!(!e.retryable);
    source.shutdown().await;
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_process_mode_runs_the_same_calls() {
    let Some(library) = real_sdk("the_in_process_mode_runs_the_same_calls") else {
        return;
    };
    let fx = Fixture::start(40).await;
    let mut config = fx.sdk_config(&library);
    config.mode = WorkerMode::InProcess;
    config.limits.workers = 2;
    let source = SdkSource::new(config).expect("source");
    source.start().await.expect("start");
    let pages = futures_pages(&source).await;
    assert_eq!(pages, vec![20, 20]);
    let spec = fx.emulator.add_media(700_000, MediaKind::Video);
    let mut bytes = Vec::new();
    let done = source
        .download_media(&spec.sdkfileid, &mut bytes)
        .await
        .expect("download");
    assert_eq!(done.md5, spec.md5);
    assert_eq!(done.chunks, 2);
    assert_eq!(source.stats().workers_started, 2, "one handle per slot");
    source.shutdown().await;
    fx.stop().await;
}

/// Two pages fetched at once: each slot has its own handle, so they may overlap.
async fn futures_pages(source: &SdkSource) -> Vec<usize> {
    let (a, b) = tokio::join!(source.fetch_page(0, 20), source.fetch_page(20, 20));
    vec![
        a.expect("page a").items.len(),
        b.expect("page b").items.len(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_faults_come_back_as_the_library_codes() {
    let Some(library) = real_sdk("media_faults_come_back_as_the_library_codes") else {
        return;
    };
    let fx = Fixture::start(10).await;
    let source = SdkSource::new(fx.sdk_config(&library)).expect("source");
    let spec = fx.emulator.add_media(1_300_000, MediaKind::Video);
    let rule = |fault| MediaFaultRule::new(fault, 1).for_fileid(spec.fileid.clone());

    // Retried in place: a busy server (10002, on a fresh handle) and an HTTP 500 (10001).
    for (fault, recycled) in [(MediaFault::SystemBusy, 1), (MediaFault::Http500, 0)] {
        let before = source.stats().recycled_for_token;
        fx.emulator
            .inject_media(rule(fault).at_range_start(524_288));
        let done = source
            .download_media(&spec.sdkfileid, &mut Vec::new())
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(
            (done.md5.as_str(), done.retries),
            (spec.md5.as_str(), 1),
            "{fault:?}"
        );
        assert_eq!(
            source.stats().recycled_for_token - before,
            recycled,
            "{fault:?}"
        );
    }
    // Final: the library's own codes. A standard `Content-Range` header is not recognised, so
    // the first chunk is taken for the last and its "padding" stripped: 10006.
    for (fault, code) in [
        (MediaFault::Expired, SdkCode::Expired),
        (MediaFault::IpNotAllowed, SdkCode::IpNotAllowed),
        (MediaFault::StandardContentRange, SdkCode::Decrypt),
    ] {
        fx.emulator.inject_media(rule(fault));
        let e = source
            .download_media(&spec.sdkfileid, &mut Vec::new())
            .await
            .expect_err("fails");
        assert_eq!(e.kind(), &SdkErrorKind::Sdk(code), "{fault:?}: {e}");
        assert!(!e.is_retryable(), "{fault:?}");
        fx.emulator.clear_media_faults();
    }
    // An object the server does not know: errcode 301010, which the library reports as 10002
    // (retryable to it); the retry budget runs out.
    let mut unknown = spec.clone();
    unknown.fileid.push('x');
    let unknown_id = wecom_crypto::SdkFileId {
        fileid: unknown.fileid.clone(),
        authkey: unknown.authkey.clone(),
        aeskey: unknown.aeskey.clone(),
    }
    .encode();
    let e = source
        .download_media(&unknown_id, &mut Vec::new())
        .await
        .expect_err("unknown");
    assert_eq!(e.kind(), &SdkErrorKind::Sdk(SdkCode::DataParse), "{e}");
    assert!(e.message().contains("gave up after 3 attempts"), "{e}");
    assert_eq!(source.stats().crashes, 0);
    source.shutdown().await;
    fx.stop().await;
}
