//! getchatmediadata on the real server: every corpus object downloaded the way the vendor library
//! does it (raw HTTP/1.0, `Range:bytes=A-B`, the literal `CONTENT-RANGE` header) and decrypted with
//! its own AES key; range rules, request errors, injected faults, objects added on demand.

use std::time::{Duration, Instant};

use aes::Aes128;
use aes::cipher::{BlockDecrypt, KeyInit};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use serde_json::Value;
use wecom_emulator::{
    MEDIA_CHUNK, MediaFault, MediaFaultRule, MediaKind, MediaSpec, media_bytes, stored_range,
};

use crate::config;
use crate::server::{Server, raw_request};

/// One answer, split the way the vendor library reads it.
struct RawAnswer {
    status_line: String,
    head: String,
    body: Vec<u8>,
}

impl RawAnswer {
    fn parse(bytes: &[u8]) -> RawAnswer {
        let split = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head");
        let head = String::from_utf8(bytes[..split].to_vec()).expect("ascii head");
        let status_line = head.lines().next().unwrap_or_default().to_owned();
        RawAnswer {
            status_line,
            head,
            body: bytes[split + 4..].to_vec(),
        }
    }

    /// What the vendor library does: the text after `CONTENT-RANGE:` (case-sensitive) read as
    /// ` BYTES%llu-%llu/%llu`.
    fn vendor_content_range(&self) -> Option<(u64, u64, u64)> {
        let at = self.head.find("CONTENT-RANGE")?;
        let rest = &self.head[at..];
        let line = rest.lines().next()?;
        let value = line.split_once(':')?.1.strip_prefix(" BYTES ")?;
        let (range, total) = value.split_once('/')?;
        let (a, b) = range.split_once('-')?;
        Some((a.parse().ok()?, b.parse().ok()?, total.trim().parse().ok()?))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

fn body_for(spec: &MediaSpec) -> String {
    format!(
        r#"{{"fileid":"{}","authkey":"{}","version":3}}"#,
        spec.fileid, spec.authkey
    )
}

/// One request exactly as the vendor library writes it; `index` is its indexbuf (`""` for the
/// first chunk, which sends the first 512 KiB range).
async fn vendor_request(server: &Server, token: &str, body: &str, index: &str) -> RawAnswer {
    let range_line = if index.is_empty() {
        "Range:bytes=0-524287".to_owned()
    } else {
        index.to_owned()
    };
    let request = format!(
        "POST /cgi-bin/message/getchatmediadata?access_token={token} HTTP/1.0\r\nHost: qyapi.weixin.qq.com\r\nAccept: */*\r\n{range_line}\r\nContent-Length: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n{body}",
        body.len()
    );
    RawAnswer::parse(&raw_request(server.addr, &request).await)
}

fn aes_decrypt(aeskey: &str, data: &mut [u8]) {
    let mut key = [0u8; 16];
    let bytes = hex::decode(aeskey).expect("hex aeskey");
    key.copy_from_slice(&bytes[..16]);
    let cipher = Aes128::new(&key.into());
    for block in data.chunks_exact_mut(16) {
        cipher.decrypt_block(aes::Block::from_mut_slice(block));
    }
}

/// The vendor library's media loop (reference §1.6 and sdk-wire-protocol.md §4): returns the
/// plaintext and the number of calls.
pub(crate) async fn vendor_download(
    server: &Server,
    token: &str,
    spec: &MediaSpec,
) -> (Vec<u8>, usize) {
    let body = body_for(spec);
    let mut index = String::new();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        calls += 1;
        let answer = vendor_request(server, token, &body, &index).await;
        assert_eq!(answer.status_line, "HTTP/1.1 200 OK", "{}", answer.head);
        let v = answer.json();
        assert_eq!(v["errcode"], 0, "{v}");
        let (a, b, total) = answer
            .vendor_content_range()
            .unwrap_or_else(|| panic!("no CONTENT-RANGE literal in {}", answer.head));
        assert_eq!(total, spec.stored_len());
        let mut data = STANDARD
            .decode(v["content"].as_str().expect("content"))
            .expect("base64");
        assert_eq!(data.len() as u64, b - a + 1);
        assert_eq!(data.len() % 16, 0);
        aes_decrypt(&spec.aeskey, &mut data);
        if b + 1 == total {
            let pad = *data.last().expect("a block") as usize;
            assert!((1..=16).contains(&pad));
            assert!(data[data.len() - pad..].iter().all(|&p| p as usize == pad));
            data.truncate(data.len() - pad);
            out.extend_from_slice(&data);
            return (out, calls);
        }
        out.extend_from_slice(&data);
        index = format!("Range:bytes={}-{}", b + 1, (b + MEDIA_CHUNK).min(total - 1));
    }
}

fn corpus_media(server: &Server) -> Vec<MediaSpec> {
    server
        .emulator
        .records()
        .into_iter()
        .flat_map(|r| r.media)
        .collect()
}

#[tokio::test]
async fn every_corpus_object_downloads_like_the_vendor_library_and_decrypts_to_its_bytes() {
    let server = Server::start(config(21, 250)).await;
    let token = server.token().await;
    let media = corpus_media(&server);
    let sizes: Vec<u64> = media.iter().map(|m| m.size).collect();
    for edge in [0, 524_288, 1_300_000] {
        assert!(sizes.contains(&edge), "{edge} missing from {sizes:?}");
    }
    let mut requests = 0;
    for spec in &media {
        let (bytes, calls) = vendor_download(&server, &token, spec).await;
        assert_eq!(bytes.len() as u64, spec.size);
        assert!(bytes == media_bytes(spec), "{:?} {}", spec.kind, spec.size);
        if !spec.md5.is_empty() {
            assert_eq!(hex::encode(Md5::digest(&bytes)), spec.md5);
        }
        // 1,300,000 bytes take the reference's three calls; exactly 512 KiB takes two (the
        // padding block comes alone); an empty file one.
        assert_eq!(
            calls as u64,
            spec.stored_len().div_ceil(MEDIA_CHUNK),
            "{}",
            spec.size
        );
        requests += calls as u64;
    }
    assert_eq!(server.emulator.media_request_count(), requests);
    server.stop().await;
}

/// A request through reqwest with an optional Range header; the status, the content-range value
/// and the JSON (or `Null`).
async fn media_post(
    server: &Server,
    token: &str,
    body: &str,
    range: Option<&str>,
) -> (u16, Option<String>, Value) {
    let mut request = server
        .http
        .post(format!(
            "{}/cgi-bin/message/getchatmediadata?access_token={token}",
            server.base
        ))
        .body(body.to_owned());
    if let Some(range) = range {
        request = request.header("range", range);
    }
    let response = request.send().await.expect("answer");
    let status = response.status().as_u16();
    let range = response
        .headers()
        .get("content-range")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let bytes = response.bytes().await.expect("body");
    (
        status,
        range,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn content(v: &Value) -> Vec<u8> {
    STANDARD
        .decode(v["content"].as_str().expect("content"))
        .expect("base64")
}

#[tokio::test]
async fn ranges_are_read_leniently_checked_and_clipped_to_one_chunk() {
    let server = Server::start(config(22, 20)).await;
    let token = server.token().await;
    let spec = server.emulator.add_media(1_300_000, MediaKind::Video);
    let body = body_for(&spec);
    let total = spec.stored_len();
    assert_eq!(total, 1_300_016);

    let (status, range, v) = media_post(&server, &token, &body, None).await;
    assert_eq!((status, v["errcode"].as_i64()), (200, Some(0)));
    assert_eq!(range.as_deref(), Some("BYTES 0-524287/1300016"));
    assert_eq!(content(&v), stored_range(&spec, 0, 524_288));

    for (header, want) in [
        ("bytes=0-15", (0, 15)),
        (" Bytes = 16 - 47 ", (16, 47)),
        ("bytes=1048576-1310719", (1_048_576, 1_300_015)),
        ("bytes=0-1048575", (0, 524_287)),
        ("bytes=32-", (32, 32 + 524_287)),
        ("bytes=8-23", (8, 23)),
        ("bytes=0-18446744073709551615", (0, 524_287)),
    ] {
        let (status, range, v) = media_post(&server, &token, &body, Some(header)).await;
        assert_eq!((status, v["errcode"].as_i64()), (200, Some(0)), "{header}");
        assert_eq!(
            range,
            Some(format!("BYTES {}-{}/{total}", want.0, want.1)),
            "{header}"
        );
        assert_eq!(
            content(&v),
            stored_range(&spec, want.0, (want.1 - want.0 + 1) as usize),
            "{header}"
        );
    }

    for header in [
        "bytes=16-15",
        "bytes=0-14",
        "bytes=1300016-1300031",
        "bytes=abc",
        "items=0-15",
        "bytes=0-15,32-47",
        "bytes=-16",
        "bytes=1-18446744073709551615",
        "bytes=99999999999999999999-99999999999999999999",
        "",
    ] {
        let (status, range, v) = media_post(&server, &token, &body, Some(header)).await;
        assert_eq!(status, 200, "{header}");
        assert_eq!(v["errcode"], 40058, "{header}: {v}");
        assert_eq!(range, None);
    }

    // An empty object is one padding block.
    let empty = server.emulator.add_media(0, MediaKind::File);
    let (_, range, v) = media_post(&server, &token, &body_for(&empty), None).await;
    assert_eq!(range.as_deref(), Some("BYTES 0-15/16"));
    let mut block = content(&v);
    aes_decrypt(&empty.aeskey, &mut block);
    assert_eq!(block, [16u8; 16]);
    server.stop().await;
}

#[tokio::test]
async fn media_requests_need_a_token_a_body_a_known_fileid_and_its_authkey() {
    let server = Server::start(config(23, 20)).await;
    let token = server.token().await;
    let spec = server.emulator.add_media(100, MediaKind::Image);
    let body = body_for(&spec);

    let errcode = |v: Value| v["errcode"].as_i64().expect("errcode");
    assert_eq!(errcode(media_post(&server, "", &body, None).await.2), 41001);
    assert_eq!(
        errcode(media_post(&server, "nope", &body, None).await.2),
        40014
    );
    assert_eq!(
        errcode(media_post(&server, &token, " ", None).await.2),
        44002
    );
    assert_eq!(
        errcode(media_post(&server, &token, "{\"fileid\":1}", None).await.2),
        47001
    );
    let unknown = r#"{"fileid":"3069nope","authkey":"x","version":3}"#;
    assert_eq!(
        errcode(media_post(&server, &token, unknown, None).await.2),
        301010
    );
    let wrong_authkey = format!(
        r#"{{"fileid":"{}","authkey":"wrong","version":3}}"#,
        spec.fileid
    );
    assert_eq!(
        errcode(media_post(&server, &token, &wrong_authkey, None).await.2),
        301010
    );
    // Extra fields and any content type are fine.
    let extra = format!(
        r#"{{"fileid":"{}","authkey":"{}","version":3,"x":[1]}}"#,
        spec.fileid, spec.authkey
    );
    assert_eq!(
        errcode(media_post(&server, &token, &extra, None).await.2),
        0
    );

    server
        .emulator
        .inject_media(MediaFaultRule::new(MediaFault::ExpireTokens, 1));
    assert_eq!(
        errcode(media_post(&server, &token, &body, None).await.2),
        42001
    );
    assert_eq!(
        errcode(media_post(&server, &token, &body, None).await.2),
        42001,
        "the old token stays expired"
    );
    let fresh = server.token().await;
    assert_eq!(errcode(media_post(&server, &fresh, &body, None).await.2), 0);
    server.stop().await;
}

#[tokio::test]
async fn media_faults_hit_the_next_matching_requests_with_the_promised_shape() {
    let server = Server::start(config(24, 20)).await;
    let token = server.token().await;
    let emulator = &server.emulator;
    let spec = emulator.add_media(100_000, MediaKind::File);
    let other = emulator.add_media(100, MediaKind::Image);
    let body = body_for(&spec);
    let inject = |fault| emulator.inject_media(MediaFaultRule::new(fault, 1));

    inject(MediaFault::Http500);
    assert_eq!(media_post(&server, &token, &body, None).await.0, 500);
    for (fault, code) in [
        (MediaFault::SystemBusy, -1),
        (MediaFault::Errcode(45009), 45009),
        (MediaFault::Expired, 301_048),
        (MediaFault::IpNotAllowed, 301_042),
    ] {
        inject(fault);
        let (status, range, v) = media_post(&server, &token, &body, None).await;
        assert_eq!(
            (status, v["errcode"].as_i64(), range),
            (200, Some(code), None)
        );
    }

    inject(MediaFault::Delay(Duration::from_millis(150)));
    let started = Instant::now();
    assert_eq!(
        media_post(&server, &token, &body, None).await.2["errcode"],
        0
    );
    assert!(started.elapsed() >= Duration::from_millis(150));

    let good = stored_range(&spec, 0, 1 << 20);
    inject(MediaFault::CorruptChunk);
    let corrupt = content(&media_post(&server, &token, &body, None).await.2);
    assert_eq!(corrupt.len(), good.len());
    assert_ne!(corrupt[0], good[0]);
    assert_eq!(corrupt[1..], good[1..]);

    inject(MediaFault::ShortContent);
    let (_, range, v) = media_post(&server, &token, &body, None).await;
    assert_eq!(
        range,
        Some(format!("BYTES 0-{}/{}", good.len() - 1, good.len()))
    );
    assert_eq!(content(&v), good[..good.len() - 16]);

    inject(MediaFault::WrongContentRange);
    let (_, range, v) = media_post(&server, &token, &body, None).await;
    assert_eq!(
        range,
        Some(format!("BYTES 16-{}/{}", good.len() + 15, good.len()))
    );
    assert_eq!(content(&v), good);

    inject(MediaFault::MissingContentRange);
    let (status, range, v) = media_post(&server, &token, &body, None).await;
    assert_eq!((status, range, content(&v)), (200, None, good.clone()));

    inject(MediaFault::NotJson);
    let (status, _, v) = media_post(&server, &token, &body, None).await;
    assert_eq!((status, v), (200, Value::Null));

    // The standard header: the vendor library's literal is absent.
    inject(MediaFault::StandardContentRange);
    let answer = vendor_request(&server, &token, &body, "").await;
    assert!(
        answer.head.contains(&format!(
            "\r\nContent-Range: bytes 0-{}/{}",
            good.len() - 1,
            good.len()
        )),
        "{}",
        answer.head
    );
    assert_eq!(answer.vendor_content_range(), None);
    let answer = vendor_request(&server, &token, &body, "").await;
    assert!(
        answer.head.contains("\r\nCONTENT-RANGE: BYTES 0-"),
        "{}",
        answer.head
    );

    for fault in [MediaFault::DropConnection, MediaFault::TruncatedBody] {
        inject(fault);
        let response = server
            .http
            .post(format!(
                "{}/cgi-bin/message/getchatmediadata?access_token={token}",
                server.base
            ))
            .body(body.clone())
            .send()
            .await;
        let failed = match response {
            Err(_) => true,
            Ok(r) => r.bytes().await.is_err(),
        };
        assert!(failed, "{fault:?} must fail the exchange");
    }

    // Rules restricted to a fileid or a range start skip other requests.
    emulator.inject_media(
        MediaFaultRule::new(MediaFault::Expired, 2)
            .for_fileid(&spec.fileid)
            .at_range_start(16),
    );
    assert_eq!(
        media_post(&server, &token, &body_for(&other), None).await.2["errcode"],
        0
    );
    assert_eq!(
        media_post(&server, &token, &body, None).await.2["errcode"],
        0
    );
    let at_16 = Some("bytes=16-31");
    assert_eq!(
        media_post(&server, &token, &body, at_16).await.2["errcode"],
        301_048
    );
    assert_eq!(
        media_post(&server, &token, &body, at_16).await.2["errcode"],
        301_048
    );
    assert_eq!(
        media_post(&server, &token, &body, at_16).await.2["errcode"],
        0
    );

    let log = emulator.media_requests();
    assert_eq!(log.len() as u64, emulator.media_request_count());
    let faulted: Vec<_> = log.iter().filter_map(|r| r.fault).collect();
    assert_eq!(faulted.len(), 16);
    let last = log.last().expect("logged");
    assert_eq!(last.fileid.as_deref(), Some(spec.fileid.as_str()));
    assert_eq!(last.range, Some((16, 31)));
    assert_eq!(last.fault, None);

    emulator.inject_media(MediaFaultRule::new(MediaFault::Http500, 5));
    emulator.clear_media_faults();
    assert_eq!(media_post(&server, &token, &body, None).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn objects_added_on_demand_and_live_appended_ones_are_served() {
    let server = Server::start(config(25, 20)).await;
    let token = server.token().await;
    // Several chunks of an object that is never materialised by the server.
    let big = server
        .emulator
        .add_media(5 * 1024 * 1024 + 5, MediaKind::Video);
    assert_eq!(server.emulator.media(&big.fileid), Some(big.clone()));
    let body = body_for(&big);
    let mut md5 = Md5::new();
    let mut start = 0u64;
    loop {
        let range = format!("bytes={start}-{}", start + MEDIA_CHUNK - 1);
        let (_, header, v) = media_post(&server, &token, &body, Some(&range)).await;
        let mut data = content(&v);
        let total = big.stored_len();
        let end = (start + MEDIA_CHUNK).min(total) - 1;
        assert_eq!(header, Some(format!("BYTES {start}-{end}/{total}")));
        aes_decrypt(&big.aeskey, &mut data);
        if end + 1 == total {
            let pad = *data.last().expect("block") as usize;
            data.truncate(data.len() - pad);
            md5.update(&data);
            break;
        }
        md5.update(&data);
        start = end + 1;
    }
    assert_eq!(hex::encode(md5.finalize()), big.md5);
    assert_eq!(big.md5, big.actual_md5());

    let before = server.emulator.len();
    server.emulator.append(300);
    let fresh: Vec<MediaSpec> = server.emulator.records()[before..]
        .iter()
        .flat_map(|r| r.media.clone())
        .take(3)
        .collect();
    assert!(!fresh.is_empty());
    for spec in &fresh {
        let (bytes, _) = vendor_download(&server, &token, spec).await;
        assert!(bytes == media_bytes(spec));
    }
    server.stop().await;
}
