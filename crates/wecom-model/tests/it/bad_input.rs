//! Bad input is read as far as possible, with warnings, and never panics: wrong field types,
//! missing or misplaced payloads, control characters, invalid escapes, huge texts, deep nesting,
//! and arbitrary JSON.

use expect_test::{Expect, expect};
use proptest::prelude::*;
use serde_json::{Value, json};
use wecom_model::{Action, Envelope, MAX_DEPTH, Payload, parse_envelope, understand};

use crate::read;

/// A record around `payload_fields` (the text after `"msgtype":…,`).
fn record(msgtype: &str, payload_fields: &str) -> String {
    format!(
        r#"{{"msgid":"m1","action":"send","from":"a","tolist":["b"],"roomid":"","msgtime":1603875609704,"msgtype":"{msgtype}"{}{payload_fields}}}"#,
        if payload_fields.is_empty() { "" } else { "," }
    )
}

/// Payload and warnings only.
fn check(json: &str, expect: Expect) {
    let m = read(json);
    let original: Value = serde_json::from_str(json).expect("test input is JSON");
    assert_eq!(m.to_value(), original, "lossless even when bad");
    let mut out = format!("{:?}\n", m.payload);
    for w in &m.warnings {
        out.push_str(&format!("warning[{}]: {w}\n", w.code()));
    }
    expect.assert_eq(&out);
}

#[test]
fn wrong_field_types_are_defaulted_or_coerced() {
    check(
        &record(
            "image",
            r#""image":{"md5sum":{"x":1},"filesize":true,"sdkfileid":12345}"#,
        ),
        expect![[r#"
            Image(Image { sdkfileid: "12345", md5sum: "", filesize: None, extra: {} })
            warning[wrong_type]: field `image.md5sum` has wrong type (expected string)
            warning[wrong_type]: field `image.filesize` has wrong type (expected unsigned integer)
        "#]],
    );
    check(
        &record(
            "meeting",
            r#""meeting":{"topic":["x"],"starttime":"1603877400","endtime":1.6038810e9,"meetingid":"11101571002822706744","status":"soon","meetingtype":-1}"#,
        ),
        expect![[r#"
            Meeting(Meeting { topic: "", starttime: 1603877400, endtime: 1603881000, address: "", remarks: "", meetingtype: -1, meetingid: Some(11101571002822706744), status: Some(0), extra: {} })
            warning[wrong_type]: field `meeting.topic` has wrong type (expected string)
            warning[wrong_type]: field `meeting.status` has wrong type (expected integer)
        "#]],
    );
    check(
        &record(
            "voice",
            r#""voice":{"voice_size":-5,"play_length":1.5,"sdkfileid":"S"}"#,
        ),
        expect![[r#"
            Voice(Voice { sdkfileid: "S", md5sum: "", voice_size: None, play_length: 0, extra: {} })
            warning[wrong_type]: field `voice.voice_size` has wrong type (expected unsigned integer)
            warning[wrong_type]: field `voice.play_length` has wrong type (expected integer)
        "#]],
    );
    check(
        &record(
            "vote",
            r#""vote":{"votetitle":"t","voteitem":"only","votetype":"101","voteid":1603875610}"#,
        ),
        expect![[r#"
            Vote(Vote { votetitle: "t", voteitem: ["only"], votetype: 101, voteid: "1603875610", shape: Nested, extra: {} })
            warning[wrong_type]: field `vote.voteitem` has wrong type (expected array of strings)
        "#]],
    );
    check(
        &record(
            "chatrecord",
            r#""chatrecord":{"title":"t","item":[1,{"type":"ChatRecordText","msgtime":"x","content":"{\"content\":\"ok\"}","from_chatroom":"yes"}]}"#,
        ),
        expect![[r#"
            ChatRecord(ChatRecord { title: "t", items: [ChatRecordItem { item_type: "", msgtype: "", msgtime: 0, msgtime_ms: 0, from_chatroom: false, content: Unknown(Unknown { msgtype: "", raw: Number(1) }), extra: {} }, ChatRecordItem { item_type: "ChatRecordText", msgtype: "text", msgtime: 0, msgtime_ms: 0, from_chatroom: false, content: Text(Text { content: "ok", extra: {} }), extra: {} }], extra: {} })
            warning[wrong_type]: field `chatrecord.item[0]` has wrong type (expected object)
            warning[wrong_type]: field `chatrecord.item[1].msgtime` has wrong type (expected integer)
            warning[wrong_type]: field `chatrecord.item[1].from_chatroom` has wrong type (expected bool)
        "#]],
    );
}

#[test]
fn missing_and_misplaced_payloads() {
    check(
        &record("image", ""),
        expect![[r#"
        Image(Image { sdkfileid: "", md5sum: "", filesize: None, extra: {} })
        warning[payload_missing]: payload object `image` missing
    "#]],
    );
    check(
        &record("markdown", r#""markdown":{"content":"under its own name"}"#),
        expect![[r#"
            Markdown(Markdown { content: "under its own name", extra: {} })
            warning[payload_elsewhere]: payload expected under `info` found under `markdown`
        "#]],
    );
    check(
        &record("docmsg", r#""docmsg":{"title":"文档"}"#),
        expect![[r#"
            DocMsg(DocMsg { title: "文档", link_url: "", doc_creator: "", extra: {} })
            warning[payload_elsewhere]: payload expected under `doc` found under `docmsg`
        "#]],
    );
    check(
        &record("disagree", r#""agree":{"userid":"wm1","agree_time":5}"#),
        expect![[r#"
            Disagree(Disagree { userid: "wm1", disagree_time: 5, extra: {} })
            warning[payload_elsewhere]: payload expected under `disagree` found under `agree`
        "#]],
    );
    check(
        &record(
            "image",
            r#""image":"{\"sdkfileid\":\"AS_TEXT\",\"filesize\":3}""#,
        ),
        expect![[r#"
            Image(Image { sdkfileid: "AS_TEXT", md5sum: "", filesize: Some(3), extra: {} })
            warning[payload_not_object]: payload `image` is not an object
        "#]],
    );
    check(
        &record("text", r#""text":42"#),
        expect![[r#"
        Text(Text { content: "", extra: {} })
        warning[payload_not_object]: payload `text` is not an object
    "#]],
    );
    check(
        &record("external_redpacket", r#""external_redpacket":{"wish":"w"}"#),
        expect![[r#"
            ExternalRedPacket(RedPacket { kind: 0, wish: "w", totalcnt: 0, totalamount: 0, extra: {} })
        "#]],
    );
    check(
        &record("vote", ""),
        expect![[r#"
        Vote(Vote { votetitle: "", voteitem: [], votetype: 0, voteid: "", shape: Nested, extra: {} })
        warning[payload_missing]: payload object `vote` missing
    "#]],
    );
}

#[test]
fn unknown_types_actions_and_missing_msgtype_are_kept() {
    check(
        &record("hongbao_v2", r#""hongbao_v2":{"title":"新"},"more":[1]"#),
        expect![[r#"
            Unknown(Unknown { msgtype: "hongbao_v2", raw: Object {"hongbao_v2": Object {"title": String("新")}, "more": Array [Number(1)]} })
            warning[unknown_msgtype]: unknown msgtype `hongbao_v2`, kept raw
        "#]],
    );
    check(
        r#"{"msgid":"m","action":"send","from":"a","tolist":["b"],"msgtime":1,"text":{"content":"x"}}"#,
        expect![[r#"
            Unknown(Unknown { msgtype: "", raw: Object {"text": Object {"content": String("x")}} })
            warning[missing_msgtype]: record has no msgtype
        "#]],
    );
    check(
        r#"{"msgid":"m","action":"edit","from":"a","tolist":["b"],"msgtime":1,"msgtype":"text","text":{"content":"x"}}"#,
        expect![[r#"
            Text(Text { content: "x", extra: {} })
            warning[unknown_action]: unknown action `edit`
        "#]],
    );
    let m = read(&record(
        "hongbao_v2",
        r#""hongbao_v2":{"title":"可以搜索"}"#,
    ));
    assert_eq!(m.text, "可以搜索");
}

#[test]
fn control_characters_survive_at_every_level() {
    // Raw control bytes in the record and, once decoded, inside an item's JSON-string content.
    let raw = "{\"msgid\":\"m\",\"action\":\"send\",\"from\":\"a\",\"tolist\":[\"b\"],\"msgtime\":1,\"msgtype\":\"mixed\",\"mixed\":{\"item\":[{\"type\":\"text\",\"content\":\"{\\\"content\\\":\\\"a\u{11}b\\\\u0012c\\\"}\"}]},\"x\":\"\u{13}\"}";
    let e = parse_envelope(raw.as_bytes()).expect("envelope");
    let m = understand(&e);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let Payload::Mixed(mixed) = &m.payload else {
        panic!("{:?}", m.payload)
    };
    let Payload::Text(t) = &mixed.items[0].content else {
        panic!("{:?}", mixed.items[0])
    };
    assert_eq!(t.content, "a\u{11}b\u{12}c");
    assert_eq!(m.to_value()["x"], "\u{13}");
}

#[test]
fn invalid_escapes_in_content_are_repaired_in_the_view() {
    check(
        &record(
            "chatrecord",
            r#""chatrecord":{"title":"t","item":[{"type":"ChatRecordText","msgtime":1,"content":"{\"content\":\"cut \\ud83d and \\q\"}"},{"type":"ChatRecordText","msgtime":1,"content":"{not json"}]}"#,
        ),
        expect![[r#"
            ChatRecord(ChatRecord { title: "t", items: [ChatRecordItem { item_type: "ChatRecordText", msgtype: "text", msgtime: 1, msgtime_ms: 1000, from_chatroom: false, content: Text(Text { content: "cut \\ud83d and \\q", extra: {} }), extra: {} }, ChatRecordItem { item_type: "ChatRecordText", msgtype: "text", msgtime: 1, msgtime_ms: 1000, from_chatroom: false, content: Unknown(Unknown { msgtype: "text", raw: String("{not json") }), extra: {} }], extra: {} })
            warning[bad_content]: item content at `chatrecord.item[1]` is not valid JSON: key must be a string at line 1 column 2
        "#]],
    );
}

#[test]
fn hand_built_envelopes_with_bad_text() {
    let envelope = |json: &str| Envelope {
        msgid: "m".into(),
        action: Action::Send,
        from: "a".into(),
        tolist: vec!["b".into()],
        roomid: String::new(),
        msgtime: 1,
        msgtype: Some("text".into()),
        json: json.into(),
    };
    let m = understand(&envelope(
        r#"{"msgid":"m","action":"send","msgtype":"text","text":{"content":"emoji cut \ud83d"}}"#,
    ));
    let Payload::Text(t) = &m.payload else {
        panic!("{:?}", m.payload)
    };
    assert_eq!(t.content, "emoji cut \\ud83d");
    assert_eq!(m.warnings.len(), 1);
    assert_eq!(m.warnings[0].code(), "repaired_record");

    for garbage in ["", "not json", "[1,2]", "\"s\"", &"[".repeat(100_000)] {
        let m = understand(&envelope(garbage));
        assert!(matches!(m.payload, Payload::Unknown(_)), "{garbage:.20}");
        assert!(!m.warnings.is_empty());
    }
}

#[test]
fn a_megabyte_of_text_is_read_in_linear_time() {
    let line = "很长的一段话，用来测试性能。\n------\n「」- - -\n";
    let mut content = String::from("这是一条引用/回复消息：\n\"张伟：\n");
    while content.len() < 1 << 20 {
        content.push_str(line);
    }
    let json = record(
        "text",
        &format!(r#""text":{}"#, json!({ "content": content })),
    );
    let started = std::time::Instant::now();
    let m = read(&json);
    assert!(started.elapsed().as_secs() < 5);
    assert!(m.quote.is_some());
    assert!(m.text.len() > 1 << 19);
    assert!(m.warnings.is_empty());
}

/// A chatrecord forwarded `levels` times around a text, by bare `ChatRecord` items.
fn nested_chatrecord(levels: usize) -> String {
    let mut payload = json!({ "content": "最里层" });
    let mut item_type = "ChatRecordText";
    for _ in 0..levels {
        payload = json!({
            "title": "转发",
            "item": [{ "type": item_type, "msgtime": 1603875610, "content": payload.to_string(), "from_chatroom": false }],
        });
        item_type = "ChatRecord";
    }
    record("chatrecord", &format!(r#""chatrecord":{payload}"#))
}

fn innermost(mut p: &Payload) -> (&Payload, usize) {
    let mut levels = 0;
    while let Payload::ChatRecord(c) = p {
        let Some(item) = c.items.first() else { break };
        p = &item.content;
        levels += 1;
    }
    (p, levels)
}

#[test]
fn ten_levels_of_nesting_are_read_to_the_bottom() {
    let m = read(&nested_chatrecord(10));
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    let (inner, levels) = innermost(&m.payload);
    assert_eq!(levels, 10);
    assert!(matches!(inner, Payload::Text(t) if t.content == "最里层"));
    assert!(m.text.contains("最里层"));
}

#[test]
fn nesting_beyond_the_limit_is_kept_raw() {
    let m = read(&nested_chatrecord(MAX_DEPTH + 1));
    let (inner, levels) = innermost(&m.payload);
    assert_eq!(levels, MAX_DEPTH + 1);
    assert!(matches!(inner, Payload::Unknown(u) if u.raw.is_string()));
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    assert_eq!(m.warnings[0].code(), "too_deep");
}

// ---- never panics -------------------------------------------------------------------------

/// Every typed msgtype, an unknown one and an empty one.
fn msgtypes() -> Vec<&'static str> {
    wecom_model::MSGTYPES
        .iter()
        .copied()
        .chain(["unknown_x", ""])
        .collect()
}

const KEYS: &[&str] = &[
    "content",
    "sdkfileid",
    "md5sum",
    "filesize",
    "voice_size",
    "imagesize",
    "item",
    "type",
    "msgtime",
    "title",
    "votetitle",
    "voteitem",
    "votetype",
    "voteid",
    "details",
    "id",
    "meetingid",
    "meeting_id",
    "filename",
    "fileext",
    "info",
    "doc",
    "vote",
    "redpacket",
    "demofiledata",
    "sharescreendata",
    "attendeename",
    "pre_msgid",
    "from_chatroom",
    "x",
];

/// Arbitrary JSON that leans towards the shapes the reader looks at: known keys, item arrays,
/// and strings that hold JSON (item `content`), control characters and escapes.
fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        "[a-z0-9\u{0}-\u{1f}\"\\\\：:「」“”\n-]{0,16}".prop_map(Value::String),
        proptest::sample::select(msgtypes()).prop_map(|s| Value::String(s.to_owned())),
        proptest::sample::select(vec![
            "ChatRecordText",
            "ChatRecordMixed",
            "ChatRecordImage",
            "ChatRecord",
            "text",
            "image",
            "{\"content\":\"x\"}",
            "{\"item\":[{\"type\":\"text\",\"content\":\"{}\"}]}",
            "{bad",
            "\\ud83d",
            "这是一条引用/回复消息：\"\n------\n@n",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 96, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(proptest::sample::select(KEYS), inner.clone(), 0..6)
                .prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            // JSON text inside a string, as item content is.
            inner.prop_map(|v| Value::String(v.to_string())),
        ]
    })
}

fn arb_record() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(msgtypes()),
        proptest::sample::select(vec!["send", "recall", "switch", "other"]),
        proptest::sample::select(vec!["", "info", "doc", "redpacket", "vote", "agree"]),
        arb_json(),
        arb_json(),
    )
        .prop_map(|(msgtype, action, key, payload, extra)| {
            let key = if key.is_empty() { msgtype } else { key };
            let mut record = json!({
                "msgid": "m_external", "action": action, "from": "a", "tolist": ["b"],
                "roomid": "", "msgtime": 1, "msgtype": msgtype, "user": "u", "time": 2,
            });
            record[key] = payload;
            record["extra"] = extra;
            record
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_records_never_panic_and_stay_lossless(record in arb_record()) {
        let text = record.to_string();
        let envelope = parse_envelope(text.as_bytes()).expect("a JSON object with the envelope");
        let m = understand(&envelope);
        prop_assert_eq!(m.to_value(), record);
        let _ = (m.payload.media(), m.payload.search_text());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(envelope) = parse_envelope(&bytes) {
            let _ = understand(&envelope);
        }
        let envelope = Envelope {
            msgid: String::new(),
            action: Action::Send,
            from: String::new(),
            tolist: Vec::new(),
            roomid: String::new(),
            msgtime: 0,
            msgtype: None,
            json: String::from_utf8_lossy(&bytes).into_owned(),
        };
        let _ = understand(&envelope);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        name in proptest::sample::select(crate::fixtures::FIXTURES),
        cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = crate::fixture(name).into_bytes();
        for (at, b) in cuts {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        if let Ok(envelope) = parse_envelope(&bytes) {
            let m = understand(&envelope);
            let _ = m.to_value();
        }
    }
}
