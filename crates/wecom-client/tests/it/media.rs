//! Media downloads against the real emulator: every corpus object, the edge sizes, retries of one
//! chunk at a time, final errors, checks on broken answers, sinks, and a 20 MB object streamed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use wecom_client::{
    ClientConfig, FnSink, MEDIA_CHUNK, MediaErrorKind, MediaMismatch, NativeClient, RetryPolicy,
    WriteSink,
};
use wecom_crypto::SdkFileId;
use wecom_emulator::{Emulator, MediaFault, MediaFaultRule, MediaKind, MediaSpec, media_bytes};
use wecom_wire::{MediaSinkError, SdkCode};

use crate::{CORP, SECRET, client, emulator};

/// The range starts the emulator saw for `fileid`, from log position `from` on.
fn starts(emu: &Emulator, fileid: &str, from: usize) -> Vec<u64> {
    emu.media_requests()[from..]
        .iter()
        .filter(|r| r.fileid.as_deref() == Some(fileid))
        .filter_map(|r| r.range.map(|(a, _)| a))
        .collect()
}

/// Every object referenced by `json`, as (sdkfileid, md5sum) pairs, chatrecord and mixed items
/// included.
fn referenced(json: &Value, out: &mut Vec<(String, String)>) {
    match json {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.get("sdkfileid") {
                let md5 = map.get("md5sum").and_then(Value::as_str).unwrap_or("");
                out.push((id.clone(), md5.to_owned()));
            }
            for (key, child) in map {
                // chatrecord/mixed items carry their payload as a JSON string.
                if key == "content"
                    && let Value::String(text) = child
                    && let Ok(inner) = serde_json::from_str::<Value>(text)
                {
                    referenced(&inner, out);
                }
                referenced(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| referenced(i, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_corpus_object_downloads_and_matches_its_message() {
    let (emu, base, _key, stop) = emulator(250).await;
    let c = client(&base, None);
    let mut nested = 0;
    let mut edge_sizes = Vec::new();
    for record in emu.records() {
        let json: Value = serde_json::from_str(&record.plaintext).expect("record json");
        let mut objects = Vec::new();
        referenced(&json, &mut objects);
        assert_eq!(objects.len(), record.media.len());
        for (sdkfileid, md5sum) in objects {
            let spec = record
                .media
                .iter()
                .find(|m| m.sdkfileid == sdkfileid)
                .expect("spec");
            let from = emu.media_requests().len();
            let mut bytes = Vec::new();
            let done = c
                .download_media(&sdkfileid, &mut bytes)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(done.verify(&md5sum, Some(spec.size)), Ok(()));
            assert!(bytes == media_bytes(spec));
            assert_eq!(done.plaintext_len, spec.size);
            assert_eq!(done.ciphertext_len, spec.stored_len());
            assert_eq!(done.retries, 0);
            if !md5sum.is_empty() {
                assert_eq!(done.md5, md5sum);
            }
            let expected_starts: Vec<u64> = (0..spec.stored_len())
                .step_by(MEDIA_CHUNK as usize)
                .collect();
            assert_eq!(starts(&emu, &spec.fileid, from), expected_starts);
            assert_eq!(done.chunks as usize, expected_starts.len());
            if matches!(record.msgtype.as_deref(), Some("chatrecord" | "mixed")) {
                nested += 1;
            }
            if [0, 524_288, 1_300_000].contains(&spec.size) {
                edge_sizes.push((spec.size, done.chunks));
            }
        }
    }
    assert!(nested > 0, "no media inside a chatrecord or mixed message");
    edge_sizes.sort_unstable();
    edge_sizes.dedup();
    // Empty: one padding block; exactly 512 KiB: the padding block needs a second chunk;
    // 1,300,000 bytes: the reference's three chunks.
    assert_eq!(edge_sizes, [(0, 1), (524_288, 2), (1_300_000, 3)]);
    stop.cancel();
}

/// An emulator with one 1.3 MB object (three chunks) and a client.
async fn three_chunks() -> (
    Emulator,
    NativeClient,
    MediaSpec,
    tokio_util::sync::CancellationToken,
) {
    let (emu, base, _key, stop) = emulator(5).await;
    let spec = emu.add_media(1_300_000, MediaKind::File);
    (emu, client(&base, None), spec, stop)
}

#[tokio::test]
async fn a_transient_chunk_failure_retries_that_chunk_only() {
    let (emu, c, spec, stop) = three_chunks().await;
    for fault in [
        MediaFault::Http500,
        MediaFault::DropConnection,
        MediaFault::SystemBusy,
        MediaFault::Errcode(45009),
        MediaFault::TruncatedBody,
        MediaFault::ShortContent,
        MediaFault::NotJson,
        MediaFault::WrongContentRange,
        MediaFault::MissingContentRange,
    ] {
        emu.inject_media(
            MediaFaultRule::new(fault, 1)
                .for_fileid(&spec.fileid)
                .at_range_start(MEDIA_CHUNK),
        );
        let from = emu.media_requests().len();
        let mut bytes = Vec::new();
        let done = c
            .download_media(&spec.sdkfileid, &mut bytes)
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(done.verify(&spec.md5, Some(spec.size)), Ok(()), "{fault:?}");
        assert_eq!(done.retries, 1, "{fault:?}");
        assert_eq!(
            starts(&emu, &spec.fileid, from),
            [0, MEDIA_CHUNK, MEDIA_CHUNK, 2 * MEDIA_CHUNK],
            "{fault:?}: only the failed chunk is asked again"
        );
    }

    // A rejected token is replaced without spending an attempt.
    let tokens = emu.token_issued_count();
    emu.inject_media(MediaFaultRule::new(MediaFault::ExpireTokens, 1).at_range_start(MEDIA_CHUNK));
    let from = emu.media_requests().len();
    let done = c
        .download_media(&spec.sdkfileid, &mut Vec::new())
        .await
        .expect("download after token expiry");
    assert_eq!(done.retries, 0);
    assert_eq!(emu.token_issued_count(), tokens + 1);
    assert_eq!(
        starts(&emu, &spec.fileid, from),
        [0, MEDIA_CHUNK, MEDIA_CHUNK, 2 * MEDIA_CHUNK]
    );
    stop.cancel();
}

#[tokio::test]
async fn a_slow_chunk_times_out_and_is_asked_again() {
    let (emu, base, _key, stop) = emulator(5).await;
    let spec = emu.add_media(600_000, MediaKind::Video);
    let mut config = ClientConfig::new(&base, CORP, SECRET);
    config.timeout = Duration::from_millis(300);
    config.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(10),
    };
    let c = NativeClient::new(config).expect("client");
    emu.inject_media(
        MediaFaultRule::new(MediaFault::Delay(Duration::from_millis(1200)), 1)
            .at_range_start(MEDIA_CHUNK),
    );
    let from = emu.media_requests().len();
    let done = c
        .download_media(&spec.sdkfileid, &mut Vec::new())
        .await
        .expect("download");
    assert_eq!(done.verify(&spec.md5, Some(spec.size)), Ok(()));
    assert_eq!(done.retries, 1);
    assert_eq!(
        starts(&emu, &spec.fileid, from),
        [0, MEDIA_CHUNK, MEDIA_CHUNK]
    );

    // Every attempt slow: a Timeout after max_attempts.
    emu.inject_media(MediaFaultRule::new(
        MediaFault::Delay(Duration::from_millis(1200)),
        3,
    ));
    let e = c
        .download_media(&spec.sdkfileid, &mut Vec::new())
        .await
        .expect_err("always slow");
    assert_eq!(e.kind(), &MediaErrorKind::Timeout);
    assert_eq!(e.sdk_code(), SdkCode::Network);
    assert!(e.is_retryable());
    assert!(e.message().contains("gave up after 3 attempts"), "{e}");
    stop.cancel();
}

#[tokio::test]
async fn final_errors_stop_at_once_and_never_show_the_sdkfileid() {
    let (emu, c, spec, stop) = three_chunks().await;
    for (fault, kind, code) in [
        (
            MediaFault::Expired,
            MediaErrorKind::Expired,
            SdkCode::Expired,
        ),
        (
            MediaFault::IpNotAllowed,
            MediaErrorKind::IpNotAllowed,
            SdkCode::IpNotAllowed,
        ),
        (
            MediaFault::Errcode(40058),
            MediaErrorKind::Api { errcode: 40058 },
            SdkCode::DataParse,
        ),
    ] {
        emu.inject_media(MediaFaultRule::new(fault, 1).at_range_start(MEDIA_CHUNK));
        let before = emu.media_request_count();
        let mut bytes = Vec::new();
        let e = c
            .download_media(&spec.sdkfileid, &mut bytes)
            .await
            .expect_err("final");
        assert_eq!(e.kind(), &kind);
        assert_eq!(e.sdk_code(), code);
        assert!(!e.is_retryable());
        assert_eq!(e.offset(), MEDIA_CHUNK);
        assert_eq!(
            emu.media_request_count() - before,
            2,
            "no retry of {fault:?}"
        );
        assert_eq!(
            bytes.len() as u64,
            MEDIA_CHUNK,
            "the prefix before the failure"
        );
        let text = e.to_string();
        assert!(!text.contains(&spec.sdkfileid), "{text}");
        assert!(
            text.contains(&format!("({} chars)", spec.sdkfileid.len())),
            "{text}"
        );
    }

    // A fileid the server does not know: 301010, which the vendor library reports as 10002.
    let unknown = SdkFileId {
        fileid: "3069020102nope".into(),
        authkey: spec.authkey.clone(),
        aeskey: spec.aeskey.clone(),
    }
    .encode();
    let before = emu.media_request_count();
    let e = c
        .download_media(&unknown, &mut Vec::new())
        .await
        .expect_err("unknown fileid");
    assert_eq!(e.kind(), &MediaErrorKind::Api { errcode: 301_010 });
    assert_eq!(e.sdk_code(), SdkCode::DataParse);
    assert!(!e.is_retryable());
    assert_eq!(emu.media_request_count() - before, 1);
    stop.cancel();
}

#[tokio::test]
async fn malformed_sdkfileids_and_missing_keys_make_no_request_at_all() {
    let (emu, c, spec, stop) = three_chunks().await;
    let no_key = SdkFileId {
        fileid: spec.fileid.clone(),
        authkey: spec.authkey.clone(),
        aeskey: String::new(),
    }
    .encode();
    for (id, code) in [
        ("", SdkCode::InvalidArgument),
        ("=", SdkCode::FileId),
        ("not//a protobuf", SdkCode::FileId),
        (no_key.as_str(), SdkCode::Decrypt),
    ] {
        let e = c
            .download_media(id, &mut Vec::new())
            .await
            .expect_err("invalid");
        assert_eq!(e.kind(), &MediaErrorKind::InvalidFileId, "{id:?}: {e}");
        assert_eq!(e.sdk_code(), code, "{id:?}");
    }
    assert_eq!(emu.media_request_count(), 0);
    assert_eq!(emu.token_issued_count(), 0, "not even a token");
    stop.cancel();
}

#[tokio::test]
async fn broken_answers_are_bad_responses_retried_then_reported() {
    let (emu, c, spec, stop) = three_chunks().await;
    for fault in [
        MediaFault::WrongContentRange,
        MediaFault::MissingContentRange,
        MediaFault::NotJson,
        MediaFault::ShortContent,
    ] {
        emu.inject_media(MediaFaultRule::new(fault, 3).for_fileid(&spec.fileid));
        let before = emu.media_request_count();
        let e = c
            .download_media(&spec.sdkfileid, &mut Vec::new())
            .await
            .expect_err("always broken");
        assert_eq!(e.kind(), &MediaErrorKind::BadResponse, "{fault:?}: {e}");
        assert_eq!(e.sdk_code(), SdkCode::System);
        assert!(e.is_retryable(), "10003 is worth another try later");
        assert_eq!(emu.media_request_count() - before, 3, "{fault:?}");
        assert_eq!(e.offset(), 0);
    }

    // The standard header carries the same information, so our client accepts it (the vendor
    // library would take the first chunk for the last one and fail with 10006).
    emu.inject_media(MediaFaultRule::new(MediaFault::StandardContentRange, 3));
    let done = c
        .download_media(&spec.sdkfileid, &mut Vec::new())
        .await
        .expect("standard Content-Range");
    assert_eq!(done.verify(&spec.md5, Some(spec.size)), Ok(()));
    assert_eq!(done.retries, 0);
    stop.cancel();
}

#[tokio::test]
async fn corrupt_bytes_fail_verification_and_bad_padding_fails_decryption() {
    let (emu, c, spec, stop) = three_chunks().await;
    // Wrong bytes once: the md5 check catches it; the next whole download is right.
    emu.inject_media(MediaFaultRule::new(MediaFault::CorruptChunk, 1).at_range_start(MEDIA_CHUNK));
    let first = c
        .download_media(&spec.sdkfileid, &mut Vec::new())
        .await
        .expect("download");
    assert!(matches!(
        first.verify(&spec.md5, Some(spec.size)),
        Err(MediaMismatch::Md5 { .. })
    ));
    let second = c
        .download_media(&spec.sdkfileid, &mut Vec::new())
        .await
        .expect("download");
    assert_eq!(second.verify(&spec.md5, Some(spec.size)), Ok(()));

    // An object whose message states another md5: a mismatch every time.
    let mut lying = emu.add_media(40_000, MediaKind::Image);
    lying.md5 = "0123456789abcdef0123456789abcdef".into();
    emu.register_media(lying.clone());
    for _ in 0..2 {
        let done = c
            .download_media(&lying.sdkfileid, &mut Vec::new())
            .await
            .expect("download");
        assert_eq!(
            done.verify(&lying.md5, Some(lying.size)),
            Err(MediaMismatch::Md5 {
                expected: lying.md5.clone(),
                actual: lying.actual_md5()
            })
        );
    }

    // An empty file is a single padding block: corrupting it breaks the padding (10006).
    let empty = emu.add_media(0, MediaKind::File);
    let done = c
        .download_media(&empty.sdkfileid, &mut Vec::new())
        .await
        .expect("empty file");
    assert_eq!(
        (done.plaintext_len, done.ciphertext_len, done.chunks),
        (0, 16, 1)
    );
    assert_eq!(done.md5, "d41d8cd98f00b204e9800998ecf8427e");
    emu.inject_media(MediaFaultRule::new(MediaFault::CorruptChunk, 1));
    let e = c
        .download_media(&empty.sdkfileid, &mut Vec::new())
        .await
        .expect_err("bad padding");
    assert_eq!(e.kind(), &MediaErrorKind::Decrypt);
    assert_eq!(e.sdk_code(), SdkCode::Decrypt);
    assert!(!e.is_retryable());

    // A wrong (but well-formed) aeskey: the same.
    let wrong_key = SdkFileId {
        fileid: spec.fileid.clone(),
        authkey: spec.authkey.clone(),
        aeskey: "00".repeat(16),
    }
    .encode();
    let e = c
        .download_media(&wrong_key, &mut Vec::new())
        .await
        .expect_err("wrong key");
    assert_eq!(e.kind(), &MediaErrorKind::Decrypt, "{e}");
    stop.cancel();
}

#[derive(Debug, thiserror::Error)]
#[error("disk full")]
struct DiskFull;

#[tokio::test]
async fn a_sink_error_stops_the_download_cleanly() {
    let (emu, c, spec, stop) = three_chunks().await;
    let mut calls = 0;
    let mut sink = FnSink(|_: &[u8]| {
        calls += 1;
        if calls == 2 {
            Err(MediaSinkError::from_error(DiskFull))
        } else {
            Ok(())
        }
    });
    let e = c
        .download_media(&spec.sdkfileid, &mut sink)
        .await
        .expect_err("sink fails");
    assert_eq!(e.kind(), &MediaErrorKind::Sink);
    assert!(!e.is_retryable());
    assert_eq!(e.offset(), MEDIA_CHUNK);
    assert!(e.to_string().contains("disk full"), "{e}");
    assert!(
        e.into_sink_error()
            .expect("sink error")
            .into_source()
            .expect("the sink's own error")
            .downcast::<DiskFull>()
            .is_ok()
    );
    assert_eq!(
        emu.media_request_count(),
        2,
        "nothing fetched after the failure"
    );

    // Any AsyncWrite works as a sink.
    let mut writer = WriteSink(Vec::new());
    let done = c
        .download_media(&spec.sdkfileid, &mut writer)
        .await
        .expect("download");
    assert_eq!(done.verify(&spec.md5, Some(spec.size)), Ok(()));
    assert_eq!(writer.0.len() as u64, spec.size);
    stop.cancel();
}

#[tokio::test]
async fn a_20_mb_object_streams_one_chunk_at_a_time() {
    let (emu, base, _key, stop) = emulator(5).await;
    let size = 20 * 1024 * 1024 + 123;
    let spec = emu.add_media(size, MediaKind::Video);
    let c = client(&base, None);
    let seen = Arc::new(Mutex::new((0usize, 0usize, 0u64)));
    let tally = seen.clone();
    let mut sink = FnSink(move |plain: &[u8]| {
        let mut t = tally.lock().expect("lock");
        t.0 += 1;
        t.1 = t.1.max(plain.len());
        t.2 += plain.len() as u64;
        Ok(())
    });
    let done = c
        .download_media(&spec.sdkfileid, &mut sink)
        .await
        .expect("download");
    assert_eq!(done.verify(&spec.md5, Some(size)), Ok(()));
    let (writes, largest, total) = *seen.lock().expect("lock");
    assert_eq!(total, size);
    assert_eq!(writes as u64, size.div_ceil(MEDIA_CHUNK));
    assert!(largest as u64 <= MEDIA_CHUNK);
    assert_eq!(done.chunks as u64, spec.stored_len().div_ceil(MEDIA_CHUNK));
    stop.cancel();
}

/// The media workers' seam over the native client: the same bytes through a `dyn` sink, and
/// errors in the seam's terms (kind, retryability, SDK code, a message without the sdkfileid).
#[tokio::test]
async fn the_media_source_seam_streams_and_classifies() {
    use wecom_wire::{MediaFetchErrorKind, MediaSource};
    let (emu, c, spec, stop) = three_chunks().await;
    let source: &dyn MediaSource = &c;
    let mut bytes = Vec::new();
    let done = source
        .download(&spec.sdkfileid, &mut bytes)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((done.plaintext_len, done.chunks), (1_300_000, 3));
    assert_eq!(done.md5, spec.md5);
    assert!(bytes == media_bytes(&spec));

    let unknown = SdkFileId {
        fileid: "no-such-fileid".into(),
        authkey: "a".into(),
        aeskey: "00112233445566778899aabbccddeeff".into(),
    }
    .encode();
    let e = source
        .download(&unknown, &mut Vec::new())
        .await
        .expect_err("unknown fileid");
    assert_eq!(e.kind, MediaFetchErrorKind::UnknownFileId);
    assert!(!e.retryable);
    assert!(!e.message.contains(&unknown), "{e}");

    for (fault, kind, retryable) in [
        (MediaFault::Expired, MediaFetchErrorKind::Expired, false),
        (
            MediaFault::IpNotAllowed,
            MediaFetchErrorKind::IpNotAllowed,
            false,
        ),
        (MediaFault::NotJson, MediaFetchErrorKind::BadResponse, true),
    ] {
        emu.inject_media(MediaFaultRule::new(fault, 10).for_fileid(&spec.fileid));
        let e = source
            .download(&spec.sdkfileid, &mut Vec::new())
            .await
            .expect_err("fault");
        assert_eq!((e.kind, e.retryable), (kind, retryable), "{fault:?}: {e}");
        emu.clear_media_faults();
    }
    stop.cancel();
}
