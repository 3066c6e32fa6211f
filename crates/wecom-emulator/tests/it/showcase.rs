//! The real media samples and the opt-in showcase: every msgtype present, every showcase media
//! object a real sample whose bytes have the structure of their format and match what the message
//! states, the showcase group named by the directory APIs, its media served over HTTP, and all of
//! it deterministic.

use std::collections::{BTreeSet, HashMap};

use md5::{Digest, Md5};
use serde_json::{Value, json};
use wecom_emulator::{
    Corpus, CorpusGenerator, CorpusSpec, EmulatorConfig, MediaFormat, MediaKind, MediaSpec,
    PlainRecord, REAL_SHARE, SHOWCASE_FEATURES, SHOWCASE_KEYWORD_TEXT, SHOWCASE_ROOM,
    SHOWCASE_ROOM_NAME, SHOWCASE_UNKNOWN_MSGTYPE, SHOWCASE_URL_TEXT, SHOWCASE_XSS_TEXTS, Sample,
    generate, media_bytes,
};

use crate::media::vendor_download;
use crate::server::Server;

fn showcase_spec(seed: u64, messages: usize) -> CorpusSpec {
    CorpusSpec {
        showcase: true,
        ..CorpusSpec::new(seed, messages)
    }
}

fn json(record: &PlainRecord) -> Value {
    let escaped = wecom_model::escape_control_chars(record.plaintext.as_bytes());
    serde_json::from_slice(&escaped).expect("valid JSON after escaping")
}

/// Every object with an `sdkfileid`, including inside JSON-string `content` fields.
fn media_objects(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            if map.contains_key("sdkfileid") {
                out.push(v.clone());
            }
            for (key, child) in map {
                if key == "content"
                    && let Some(inner) = child
                        .as_str()
                        .and_then(|s| serde_json::from_str::<Value>(s).ok())
                {
                    media_objects(&inner, out);
                }
                media_objects(child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| media_objects(i, out)),
        _ => {}
    }
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

fn be16(b: &[u8], at: usize) -> usize {
    usize::from(b[at]) << 8 | usize::from(b[at + 1])
}

fn be32(b: &[u8], at: usize) -> usize {
    (be16(b, at) << 16) | be16(b, at + 2)
}

/// Checks that `bytes` have the structure of `format`, walking the container where there is one,
/// and returns what a player or viewer would read: (width, height) for pictures, the duration in
/// ms for voice.
fn check_structure(format: MediaFormat, bytes: &[u8]) -> (Option<(usize, usize)>, Option<u64>) {
    match format {
        MediaFormat::Jpeg => {
            assert!(bytes.starts_with(b"\xFF\xD8") && bytes.ends_with(b"\xFF\xD9"));
            // Walk the marker segments up to the frame header.
            let mut at = 2;
            loop {
                assert_eq!(bytes[at], 0xFF, "a marker at {at}");
                let marker = bytes[at + 1];
                let len = be16(bytes, at + 2);
                if (0xC0..=0xC2).contains(&marker) {
                    let (h, w) = (be16(bytes, at + 5), be16(bytes, at + 7));
                    return (Some((w, h)), None);
                }
                at += 2 + len;
            }
        }
        MediaFormat::Png => {
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1A\n"));
            let mut at = 8;
            let mut dims = None;
            let mut crc_ok = 0;
            loop {
                let len = be32(bytes, at);
                let kind = &bytes[at + 4..at + 8];
                let data = &bytes[at + 8..at + 8 + len];
                let crc = be32(bytes, at + 8 + len);
                assert_eq!(
                    crc as u32,
                    png_crc(&bytes[at + 4..at + 8 + len]),
                    "chunk CRC"
                );
                crc_ok += 1;
                if kind == b"IHDR" {
                    dims = Some((be32(data, 0), be32(data, 4)));
                }
                at += 12 + len;
                if kind == b"IEND" {
                    assert_eq!(at, bytes.len(), "IEND ends the file");
                    assert!(crc_ok >= 3);
                    return (dims, None);
                }
            }
        }
        MediaFormat::Gif => {
            assert!(bytes.starts_with(b"GIF89a") && bytes.ends_with(b"\x3B"));
            let w = usize::from(bytes[6]) | usize::from(bytes[7]) << 8;
            let h = usize::from(bytes[8]) | usize::from(bytes[9]) << 8;
            (Some((w, h)), None)
        }
        MediaFormat::Mp4 => {
            // Top-level boxes tile the file; ftyp first, moov before mdat (fast start), and the
            // movie has an H.264 and an AAC track.
            let mut at = 0;
            let mut kinds = Vec::new();
            while at < bytes.len() {
                let size = be32(bytes, at);
                assert!(size >= 8 && at + size <= bytes.len(), "box at {at}");
                kinds.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
                at += size;
            }
            assert_eq!(at, bytes.len());
            assert_eq!(kinds[0], "ftyp");
            let moov = kinds.iter().position(|k| k == "moov").expect("moov");
            let mdat = kinds.iter().position(|k| k == "mdat").expect("mdat");
            assert!(moov < mdat, "faststart: {kinds:?}");
            let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
            assert!(has(b"avc1") && has(b"avcC") && has(b"mp4a"));
            (None, None)
        }
        MediaFormat::Pdf => {
            assert!(bytes.starts_with(b"%PDF-1."));
            let tail = String::from_utf8_lossy(&bytes[bytes.len() - 32..]).into_owned();
            assert!(tail.trim_end().ends_with("%%EOF"), "{tail}");
            let text = String::from_utf8_lossy(bytes);
            assert!(text.contains("startxref") && text.contains("/Type /Pages"));
            (None, None)
        }
        MediaFormat::Amr => {
            // AMR-NB storage format: the magic, then frames whose size the TOC byte's mode gives.
            const SIZES: [usize; 16] = [12, 13, 15, 17, 19, 20, 26, 31, 5, 0, 0, 0, 0, 0, 0, 0];
            assert!(bytes.starts_with(b"#!AMR\n"));
            let mut at = 6;
            let mut frames = 0u64;
            while at < bytes.len() {
                let mode = usize::from(bytes[at] >> 3 & 0x0F);
                assert!(mode <= 8 || mode == 15, "mode {mode} at {at}");
                at += 1 + SIZES[mode];
                frames += 1;
            }
            assert_eq!(at, bytes.len(), "frames tile the file");
            (None, Some(frames * 20))
        }
        MediaFormat::Silk => {
            // SILK v3 as WeChat clients write it: 0x02, the magic, then u16-LE-length frames.
            assert!(bytes.starts_with(b"\x02#!SILK_V3"));
            let mut at = 10;
            let mut frames = 0u64;
            while at + 2 <= bytes.len() {
                let len = usize::from(bytes[at]) | usize::from(bytes[at + 1]) << 8;
                if len == 0xFFFF {
                    break;
                }
                assert!(len > 0 && at + 2 + len <= bytes.len(), "frame at {at}");
                at += 2 + len;
                frames += 1;
            }
            assert_eq!(at, bytes.len(), "frames tile the file");
            (None, Some(frames * 20))
        }
        other => panic!("no sample has format {other:?}"),
    }
}

fn png_crc(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                0xEDB8_8320 ^ (crc >> 1)
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn every_sample_is_a_well_formed_file_of_its_format() {
    for sample in Sample::ALL {
        let bytes = sample.bytes();
        assert_eq!(bytes.len() as u64, sample.size());
        assert!(
            !bytes.is_empty() && bytes.len() < 200_000,
            "{sample:?} is small"
        );
        let (dims, duration_ms) = check_structure(sample.format(), bytes);
        if let Some((w, h)) = dims {
            assert_eq!(
                Some((w as u32, h as u32)),
                sample.dimensions(),
                "{sample:?}"
            );
        }
        if let Some(ms) = duration_ms {
            assert_eq!((ms + 500) / 1000, sample.play_length(), "{sample:?}");
        }
        assert!(
            sample.file_name().ends_with(sample.format().extension()),
            "{sample:?}"
        );
    }
    let total: u64 = Sample::ALL.iter().map(|s| s.size()).sum();
    assert!(total < 400_000, "a few hundred KB in all: {total}");
}

/// A quarter of the drawn media objects are real samples; the message states their size, md5,
/// play length and dimensions; the edge sizes stay generated; switching real media off changes
/// only media fields (the same records, seqs, msgids, types and texts).
#[test]
fn a_share_of_corpus_media_is_real_and_the_messages_state_it() {
    let corpus = crate::corpus_5000();
    let mut real: HashMap<Sample, usize> = HashMap::new();
    let mut total = 0;
    for record in &corpus.records {
        let v = json(record);
        let mut found = Vec::new();
        media_objects(&v, &mut found);
        assert_eq!(found.len(), record.media.len(), "seq {}", record.seq);
        for (object, spec) in found.iter().zip(&record.media) {
            assert_eq!(object["sdkfileid"].as_str(), Some(spec.sdkfileid.as_str()));
            total += 1;
            let Some(sample) = spec.sample else {
                assert_ne!(
                    spec.content_seed % REAL_SHARE,
                    0,
                    "seq {}: a real seed left generated",
                    record.seq
                );
                continue;
            };
            *real.entry(sample).or_default() += 1;
            assert_eq!(spec.size, sample.size());
            assert_eq!(spec.format, sample.format());
            assert!(media_bytes(spec) == sample.bytes());
            if !spec.md5.is_empty() {
                assert_eq!(spec.md5, md5_hex(sample.bytes()));
            }
            for key in ["filesize", "voice_size", "imagesize"] {
                if let Some(n) = object.get(key) {
                    assert_eq!(n.as_u64(), Some(sample.size()), "{key} seq {}", record.seq);
                }
            }
            if let Some(n) = object.get("play_length") {
                assert_eq!(n.as_u64(), Some(sample.play_length()));
            }
            if let (Some(w), Some(h)) = (object.get("width"), object.get("height")) {
                let dims = sample
                    .dimensions()
                    .expect("emotion samples have dimensions");
                assert_eq!(
                    (w.as_u64(), h.as_u64()),
                    (Some(dims.0.into()), Some(dims.1.into()))
                );
                let ty = object["type"].as_u64();
                assert_eq!(ty, Some(if sample == Sample::Thumb { 1 } else { 2 }));
            }
            if let Some(ext) = object.get("fileext").and_then(Value::as_str) {
                assert_eq!(ext, sample.format().extension());
                let name = object["filename"].as_str().expect("filename");
                assert!(name.ends_with(&format!(".{ext}")), "{name}");
            }
            match spec.kind {
                MediaKind::Voice | MediaKind::MeetingVoiceCall => {
                    assert_eq!(sample, Sample::VoiceAmr);
                }
                MediaKind::Video => assert_eq!(sample, Sample::Clip),
                MediaKind::Emotion => assert!(matches!(sample, Sample::Thumb | Sample::Sticker)),
                MediaKind::Image => assert_eq!(sample, Sample::Photo),
                MediaKind::File | MediaKind::VoipDocShare => {}
            }
            if spec.kind != MediaKind::File && spec.kind != MediaKind::VoipDocShare {
                // The format the msgtype implies (reference §3.3), which consumers rely on.
                let implied = match spec.kind {
                    MediaKind::Image => MediaFormat::Jpeg,
                    MediaKind::Video => MediaFormat::Mp4,
                    MediaKind::Emotion if object["type"] == 1 => MediaFormat::Gif,
                    MediaKind::Emotion => MediaFormat::Png,
                    _ => MediaFormat::Amr,
                };
                assert_eq!(spec.format, implied);
            }
        }
    }
    let shared: usize = real.values().sum();
    assert!(
        shared * 100 > total * 18 && shared * 100 < total * 32,
        "about one in {REAL_SHARE}: {shared} of {total}"
    );
    // Only the showcase uses the PNG chart as an image and SILK as voice; the corpus keeps the
    // formats the messages imply.
    for sample in [
        Sample::Photo,
        Sample::Sticker,
        Sample::Thumb,
        Sample::Clip,
        Sample::Report,
        Sample::VoiceAmr,
    ] {
        assert!(
            real.contains_key(&sample),
            "{sample:?} never used: {real:?}"
        );
    }
    assert!(!real.contains_key(&Sample::VoiceSilk));
    for edge in [0, 524_288, 1_300_000] {
        assert!(
            corpus
                .records
                .iter()
                .flat_map(|r| &r.media)
                .any(|m| m.size == edge && m.sample.is_none()),
            "edge size {edge} stays generated"
        );
    }

    let generated = generate(&CorpusSpec {
        real_media: false,
        ..CorpusSpec::new(20231106, 5000)
    });
    assert_eq!(generated.directory, corpus.directory);
    let mut differ = 0;
    for (a, b) in generated.records.iter().zip(&corpus.records) {
        assert_eq!((a.seq, &a.msgid, &a.msgtype), (b.seq, &b.msgid, &b.msgtype));
        assert_eq!(a.media.len(), b.media.len());
        assert!(a.media.iter().all(|m| m.sample.is_none()));
        if a.plaintext != b.plaintext {
            differ += 1;
            assert!(b.media.iter().any(|m| m.sample.is_some()), "seq {}", a.seq);
        }
        for (x, y) in a.media.iter().zip(&b.media) {
            assert_eq!((&x.sdkfileid, x.kind), (&y.sdkfileid, y.kind));
        }
    }
    assert!(differ > 0);
}

/// The record of a showcase feature, found through the corpus' showcase index.
fn record<'a>(corpus: &'a Corpus, feature: &str) -> &'a PlainRecord {
    let m = corpus
        .showcase
        .iter()
        .find(|m| m.feature == feature)
        .unwrap_or_else(|| panic!("no showcase record for {feature}"));
    corpus
        .records
        .iter()
        .find(|r| r.seq == m.seq)
        .expect("showcase seq in the corpus")
}

#[test]
fn the_showcase_holds_every_msgtype_and_every_case_a_viewer_must_handle() {
    let corpus = generate(&showcase_spec(8, 300));
    let index = &corpus.showcase;
    assert_eq!(
        index.iter().map(|m| m.feature).collect::<Vec<_>>(),
        SHOWCASE_FEATURES,
        "features in order"
    );
    // The showcase comes first, seqs 1..=K, and the index names its records exactly.
    for (i, m) in index.iter().enumerate() {
        let record = &corpus.records[i];
        assert_eq!(m.seq, i as u64 + 1);
        assert_eq!((&m.msgid, &m.msgtype), (&record.msgid, &record.msgtype));
    }
    let showcase = &corpus.records[..index.len()];
    let types: BTreeSet<&str> = showcase
        .iter()
        .filter_map(|r| r.msgtype.as_deref())
        .collect();
    let missing: Vec<&&str> = wecom_model::MSGTYPES
        .iter()
        .filter(|t| !types.contains(**t))
        .collect();
    assert!(missing.is_empty(), "missing msgtypes: {missing:?}");
    assert!(types.contains(SHOWCASE_UNKNOWN_MSGTYPE));
    assert!(!wecom_model::MSGTYPES.contains(&SHOWCASE_UNKNOWN_MSGTYPE));
    assert!(showcase.iter().any(|r| r.action == "switch"));

    let d = &corpus.directory;
    let group = d
        .group(SHOWCASE_ROOM)
        .expect("the showcase group is in the directory");
    assert_eq!(group.name, SHOWCASE_ROOM_NAME);
    assert!(group.external && !group.from_wechat);
    let mut senders = BTreeSet::new();
    let mut last_time = i64::MIN;
    for record in showcase {
        let envelope = wecom_model::parse_envelope(record.plaintext.as_bytes())
            .unwrap_or_else(|e| panic!("seq {}: {e}: {}", record.seq, record.plaintext));
        assert_eq!(envelope.msgid, record.msgid);
        assert!(envelope.msgtime > last_time, "time increases");
        last_time = envelope.msgtime;
        let v = json(record);
        let Some(from) = v["from"].as_str() else {
            continue;
        };
        assert!(d.name_of(from).is_some(), "{from} has a name");
        senders.insert(if d.is_employee(from) {
            "employee"
        } else if d.robot(from).is_some() {
            assert!(from.starts_with("wb"));
            "robot"
        } else {
            assert!(d.external_contact(from).is_some());
            "customer"
        });
        match v["roomid"].as_str() {
            Some("") => {
                assert!(record.msgid.ends_with("_external"), "{}", record.msgid);
                assert_eq!(v["tolist"].as_array().map(Vec::len), Some(1));
            }
            Some(room) => {
                assert_eq!(room, SHOWCASE_ROOM);
                for member in v["tolist"].as_array().expect("tolist") {
                    let member = member.as_str().expect("id");
                    assert!(group.members.iter().any(|m| m == member));
                }
            }
            // meeting_voice_call / voip_doc_share carry no roomid, as in the official examples.
            None => assert!(record.msgid.ends_with("_external")),
        }
    }
    assert_eq!(
        senders,
        BTreeSet::from(["customer", "employee", "robot"]),
        "all kinds of senders"
    );

    let text = |feature: &str| {
        json(record(&corpus, feature))["text"]["content"]
            .as_str()
            .expect("a text")
            .to_owned()
    };
    assert_eq!(text("keyword"), SHOWCASE_KEYWORD_TEXT);
    assert!(SHOWCASE_KEYWORD_TEXT.contains("合同"));
    assert!(text("url").contains("https://example.com/合同?id=1"));
    assert_eq!(SHOWCASE_URL_TEXT, text("url"));
    assert_eq!(text("xss-script"), "<script>alert(1)</script>");
    assert_eq!(text("xss-img"), "<img src=x onerror=alert(1)>");
    assert_eq!(SHOWCASE_XSS_TEXTS, [text("xss-script"), text("xss-img")]);
    let quote = text("quote");
    assert!(quote.starts_with("这是一条引用/回复消息："), "{quote}");
    assert!(quote.contains(SHOWCASE_KEYWORD_TEXT));
    let recalled = record(&corpus, "recalled");
    let revoke = json(record(&corpus, "revoke"));
    assert_eq!(revoke["action"], "recall");
    assert_eq!(
        revoke["revoke"]["pre_msgid"].as_str(),
        Some(recalled.msgid.as_str())
    );
    let unknown = json(record(&corpus, "unknown-type"));
    assert_eq!(unknown["msgtype"], SHOWCASE_UNKNOWN_MSGTYPE);
    assert!(unknown[SHOWCASE_UNKNOWN_MSGTYPE].is_object());
    let vote = json(record(&corpus, "vote-answer"));
    assert_eq!(vote["votetype"], 102, "the top-level vote shape");
    let markdown = record(&corpus, "markdown");
    assert!(
        d.robot(json(markdown)["from"].as_str().expect("from"))
            .is_some()
    );

    // The records after the showcase are an ordinary corpus, going on from it.
    assert_eq!(corpus.records.len(), 300);
    assert!(corpus.records[index.len()..].iter().all(|r| {
        let v = json(r);
        v["roomid"].as_str() != Some(SHOWCASE_ROOM)
    }));
}

#[test]
fn every_showcase_media_object_is_a_real_sample_matching_its_message() {
    let corpus = generate(&showcase_spec(8, 60));
    let showcase = &corpus.records[..corpus.showcase.len()];
    let mut samples = BTreeSet::new();
    let mut media_records = BTreeSet::new();
    for record in showcase {
        let v = json(record);
        let mut found = Vec::new();
        media_objects(&v, &mut found);
        assert_eq!(found.len(), record.media.len(), "seq {}", record.seq);
        for object in &found {
            let id = object["sdkfileid"].as_str().expect("sdkfileid");
            let spec: &MediaSpec = record
                .media
                .iter()
                .find(|m| m.sdkfileid == id)
                .expect("every sdkfileid has its MediaSpec");
            let sample = spec.sample.expect("every showcase object is a real sample");
            samples.insert(format!("{sample:?}"));
            media_records.insert(record.msgtype.clone().unwrap_or_default());
            let bytes = media_bytes(spec);
            assert!(bytes == sample.bytes());
            let (dims, duration) = check_structure(spec.format, &bytes);
            if spec.kind == MediaKind::MeetingVoiceCall {
                assert!(object.get("md5sum").is_none());
            } else {
                assert_eq!(object["md5sum"].as_str(), Some(md5_hex(&bytes).as_str()));
                assert_eq!(spec.md5, md5_hex(&bytes));
            }
            for key in ["filesize", "voice_size", "imagesize"] {
                if let Some(n) = object.get(key) {
                    assert_eq!(n.as_u64(), Some(bytes.len() as u64), "{key}");
                }
            }
            if let Some(n) = object.get("play_length") {
                let ms = duration.unwrap_or(sample.play_length() * 1000);
                assert_eq!(n.as_u64(), Some((ms + 500) / 1000));
            }
            if let Some(w) = object.get("width") {
                let (dw, dh) = dims.expect("emotion dimensions");
                assert_eq!(
                    (w.as_u64(), object["height"].as_u64()),
                    (Some(dw as u64), Some(dh as u64))
                );
            }
            if let Some(ext) = object.get("fileext") {
                assert_eq!(ext.as_str(), Some(spec.format.extension()));
            }
            if let Some(name) = object.get("filename").and_then(Value::as_str) {
                assert!(name.ends_with(&format!(".{}", spec.format.extension())));
            }
        }
    }
    assert_eq!(
        samples.len(),
        Sample::ALL.len(),
        "every sample: {samples:?}"
    );
    for msgtype in [
        "image",
        "voice",
        "video",
        "emotion",
        "file",
        "chatrecord",
        "mixed",
        "meeting_voice_call",
        "voip_doc_share",
    ] {
        assert!(media_records.contains(msgtype), "{msgtype} has real media");
    }
    let silk = record(&corpus, "voice-silk");
    assert_eq!(silk.media[0].format, MediaFormat::Silk);
    let amr = record(&corpus, "voice");
    assert_eq!(amr.media[0].format, MediaFormat::Amr);
}

#[test]
fn the_showcase_is_deterministic_and_continues_like_any_corpus() {
    let a = generate(&showcase_spec(8, 120));
    assert_eq!(a, generate(&showcase_spec(8, 120)));
    let other = generate(&showcase_spec(9, 120));
    assert_ne!(a.showcase[0].msgid, other.showcase[0].msgid);
    let features = |c: &Corpus| c.showcase.iter().map(|m| m.feature).collect::<Vec<_>>();
    assert_eq!(features(&a), features(&other));
    // Cut inside the showcase and after it: the generator goes on exactly.
    for cut in [3, a.showcase.len(), 100] {
        let mut generator = CorpusGenerator::new(&showcase_spec(8, 0));
        let mut records = generator.next_records(cut);
        records.extend(generator.next_records(120 - cut));
        assert_eq!(records, a.records, "cut at {cut}");
    }
    // Without the showcase the corpus is the one the seed always had; with it, the same kinds of
    // records follow the showcase, seqs shifted by its length.
    let plain = generate(&CorpusSpec::new(8, 120 - a.showcase.len()));
    let after: Vec<(u64, Option<String>)> = a.records[a.showcase.len()..]
        .iter()
        .map(|r| (r.seq - a.showcase.len() as u64, r.msgtype.clone()))
        .collect();
    let before: Vec<(u64, Option<String>)> = plain
        .records
        .iter()
        .map(|r| (r.seq, r.msgtype.clone()))
        .collect();
    assert_eq!(after, before);
    assert!(plain.directory.group(SHOWCASE_ROOM).is_none());
    assert!(plain.showcase.is_empty());
}

/// Over HTTP: the showcase group is named by externalcontact/groupchat/get, its people by
/// user/get and externalcontact/get, and every showcase media object downloads (chunked,
/// encrypted) to the sample's exact bytes.
#[tokio::test]
async fn the_emulator_serves_the_showcase_names_and_real_media() {
    let (one, two) = crate::keys();
    let keys = std::collections::BTreeMap::from([(1, one.public_key()), (2, two.public_key())]);
    let server = Server::start(EmulatorConfig::new(showcase_spec(8, 80), keys)).await;
    let em = server.emulator.clone();
    assert_eq!(em.showcase().len(), SHOWCASE_FEATURES.len());

    let token = server.token().await;
    let records = em.records();
    let mut downloaded = 0;
    for m in em.showcase() {
        let record = records.iter().find(|r| r.msgid == m.msgid).expect("record");
        for spec in &record.media {
            let (bytes, _) = vendor_download(&server, &token, spec).await;
            let sample = spec.sample.expect("real");
            assert!(bytes == sample.bytes(), "{:?}", spec.kind);
            downloaded += 1;
        }
    }
    assert!(downloaded >= 17, "{downloaded}");

    let customer_secret = em.customer_secret().expect("customer secret");
    let v: Value = server
        .http
        .get(format!(
            "{}/cgi-bin/gettoken?corpid={}&corpsecret={customer_secret}",
            server.base,
            em.corp_id()
        ))
        .send()
        .await
        .expect("gettoken")
        .json()
        .await
        .expect("json");
    let customer_token = v["access_token"].as_str().expect("token");
    let group: Value = server
        .http
        .post(format!(
            "{}/cgi-bin/externalcontact/groupchat/get?access_token={customer_token}",
            server.base
        ))
        .json(&json!({"chat_id": SHOWCASE_ROOM, "need_name": 1}))
        .send()
        .await
        .expect("groupchat/get")
        .json()
        .await
        .expect("json");
    assert_eq!(group["errcode"], 0, "{group}");
    assert_eq!(group["group_chat"]["name"], SHOWCASE_ROOM_NAME);
    let d = em.directory();
    for member in group["group_chat"]["member_list"]
        .as_array()
        .expect("members")
    {
        let id = member["userid"].as_str().expect("userid");
        assert_eq!(member["name"].as_str(), d.name_of(id), "{id}");
    }
    server.stop().await;
}

/// The project's own reader understands every showcase record: the media it finds are the
/// showcase's objects with their sizes and md5s, the recall points at the recalled text, the
/// quote is recognised, and the unknown type stays unknown (kept whole, not dropped).
#[test]
fn the_project_reader_understands_the_showcase() {
    let corpus = generate(&showcase_spec(8, 50));
    for m in &corpus.showcase {
        let record = &corpus.records[(m.seq - 1) as usize];
        let envelope = wecom_model::parse_envelope(record.plaintext.as_bytes()).expect("envelope");
        let message = wecom_model::understand(&envelope);
        assert_eq!(message.to_value(), json(record), "{}", m.feature);
        assert_eq!(message.media.len(), record.media.len(), "{}", m.feature);
        for (got, spec) in message.media.iter().zip(&record.media) {
            assert_eq!(got.sdkfileid, spec.sdkfileid);
            assert_eq!(got.md5sum, spec.md5);
            if spec.kind != MediaKind::MeetingVoiceCall {
                assert_eq!(got.size, Some(spec.size), "{}", m.feature);
            }
        }
        match m.feature {
            "unknown-type" => {
                assert!(matches!(message.payload, wecom_model::Payload::Unknown(_)));
            }
            "revoke" => {
                let recalled = record_msgid(&corpus, "recalled");
                assert_eq!(message.recall_of.as_deref(), Some(recalled.as_str()));
            }
            "quote" => {
                let quote = message.quote.as_ref().expect("a quote");
                assert_eq!(quote.quoted_text, SHOWCASE_KEYWORD_TEXT);
            }
            _ => assert!(
                message.warnings.is_empty(),
                "{}: {:?}",
                m.feature,
                message.warnings
            ),
        }
        if m.feature == "keyword" {
            assert!(message.text.contains("合同"));
        }
    }
}

fn record_msgid(corpus: &Corpus, feature: &str) -> String {
    record(corpus, feature).msgid.clone()
}

#[test]
fn a_corpus_shorter_than_the_showcase_lists_what_it_holds() {
    let short = generate(&showcase_spec(8, 5));
    assert_eq!(short.records.len(), 5);
    assert_eq!(
        short.showcase.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let mut generator = CorpusGenerator::new(&showcase_spec(8, 0));
    assert_eq!(generator.last_seq(), 0);
    generator.next_records(7);
    assert_eq!(generator.last_seq(), 7);
    assert_eq!(generator.showcase().len(), SHOWCASE_FEATURES.len());
}
