//! The API's reads: the filtered conversation list, windows paged both ways, messages in full
//! (payload without download handles, media) and media objects by content.

use wecom_store::conformance::{self, CORP, T0};
use wecom_store::{
    ConversationFilter, MediaArea, MediaJobError, MediaJobOutcome, MediaJobResult, MediaObject,
    Roles,
};
use wecom_views::{
    PageAt, PageCursor, conversation_list, media_object, message_detail, message_window,
};

use crate::{EXT, ROOM, archive, chats, commit, fields, sorted};

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn the_filtered_list_names_participants_and_shows_the_newest_message() {
    let store = chats();
    let all = conversation_list(&*store.reader, CORP, &ConversationFilter::default(), 10, 0)
        .expect("list");
    assert_eq!(all.len(), 2);
    let (pair, room) = (&all[0], &all[1]);
    // Both have the external contact: both external.
    assert!(pair.external && room.external);
    assert_eq!(room.participants, strings(&["alice", "bob", EXT]));
    assert_eq!(room.participant_count, 3);
    // Names as in the sender list: the directory's, else the id (no room context here).
    assert_eq!(room.participant_names, strings(&["Alice Wang", "bob", EXT]));
    // The newest message, its sender named.
    let last = room.last_message.as_ref().expect("a last message");
    assert_eq!(
        (last.msgid.as_str(), last.action.as_str()),
        ("r1", "recall")
    );
    assert_eq!(last.from_name.as_deref(), Some("bob (internal)"));
    assert_eq!(
        pair.last_message.as_ref().map(|m| m.msgid.as_str()),
        Some("p2")
    );

    let scoped = |ids: &[&str]| {
        conversation_list(
            &*store.reader,
            CORP,
            &ConversationFilter {
                any_participant: Some(strings(ids)),
                ..ConversationFilter::default()
            },
            10,
            0,
        )
        .expect("list")
        .into_iter()
        .map(|c| c.key)
        .collect::<Vec<_>>()
    };
    assert_eq!(scoped(&["bob"]), [format!("room:{ROOM}")]);
    assert_eq!(scoped(&["alice"]).len(), 2);
    assert!(scoped(&[]).is_empty());
    let internal_only = conversation_list(
        &*store.reader,
        CORP,
        &ConversationFilter {
            external: Some(false),
            ..ConversationFilter::default()
        },
        10,
        0,
    )
    .expect("list");
    assert!(internal_only.is_empty());

    let json = serde_json::to_value(room).expect("json");
    assert_eq!(json["participant_count"], 3);
    assert_eq!(json["last_message"]["msgid"], "r1");
    assert_eq!(json["external"], true);
}

/// A pair conversation of ten messages m0..m9, a second apart.
fn ten() -> Roles {
    let store = archive();
    commit(
        &store,
        (0..10u64)
            .map(|i| {
                conformance::chat(
                    i + 1,
                    &format!("m{i}"),
                    if i % 2 == 0 { "alice" } else { "bob" },
                    &[if i % 2 == 0 { "bob" } else { "alice" }],
                    "",
                    T0 + i as i64 * 1000,
                    &format!("line {i}"),
                )
            })
            .collect(),
        Vec::new(),
    );
    store
}

const PAIR: &str = "pair:alice|bob";

fn ids(w: &wecom_views::MessageWindow) -> Vec<&str> {
    w.messages.iter().map(|m| m.view.msgid.as_str()).collect()
}

fn at(i: u64) -> PageCursor {
    PageCursor {
        msgtime: T0 + i as i64 * 1000,
        seq: i + 1,
    }
}

#[test]
fn windows_page_both_ways_with_exact_cursors() {
    let store = ten();
    let window = |place: PageAt, limit| {
        message_window(&*store.reader, CORP, PAIR, place, limit)
            .expect("window")
            .expect("a known conversation")
    };
    let start = window(PageAt::Start, 4);
    assert_eq!(ids(&start), ["m0", "m1", "m2", "m3"]);
    assert_eq!((start.before, start.after), (None, Some(at(3))));

    let next = window(PageAt::After(at(3)), 4);
    assert_eq!(ids(&next), ["m4", "m5", "m6", "m7"]);
    assert_eq!((next.before, next.after), (Some(at(4)), Some(at(7))));
    let last = window(PageAt::After(at(7)), 4);
    assert_eq!(ids(&last), ["m8", "m9"]);
    assert_eq!((last.before, last.after), (Some(at(8)), None));
    // Exactly full at the end: no more after.
    let exact = window(PageAt::After(at(5)), 4);
    assert_eq!(ids(&exact), ["m6", "m7", "m8", "m9"]);
    assert_eq!(exact.after, None);
    let past = window(PageAt::After(at(9)), 4);
    assert!(past.messages.is_empty());
    assert_eq!((past.before, past.after), (Some(at(9)), None));

    let end = window(PageAt::End, 3);
    assert_eq!(ids(&end), ["m7", "m8", "m9"]);
    assert_eq!((end.before, end.after), (Some(at(7)), None));
    let older = window(PageAt::Before(at(7)), 3);
    assert_eq!(ids(&older), ["m4", "m5", "m6"]);
    assert_eq!((older.before, older.after), (Some(at(4)), Some(at(6))));
    let oldest = window(PageAt::Before(at(4)), 10);
    assert_eq!(ids(&oldest), ["m0", "m1", "m2", "m3"]);
    assert_eq!((oldest.before, oldest.after), (None, Some(at(3))));
    let before_all = window(PageAt::Before(at(0)), 10);
    assert!(before_all.messages.is_empty());
    assert_eq!((before_all.before, before_all.after), (None, Some(at(0))));
    let whole = window(PageAt::End, 10);
    assert_eq!(whole.messages.len(), 10);
    assert_eq!((whole.before, whole.after), (None, None));

    let around = window(PageAt::Around("m5".to_owned()), 5);
    assert_eq!(ids(&around), ["m3", "m4", "m5", "m6", "m7"]);
    assert_eq!((around.before, around.after), (Some(at(3)), Some(at(7))));
    let near_start = window(PageAt::Around("m1".to_owned()), 6);
    // Up to half before (only one exists), the message, the rest after.
    assert_eq!(ids(&near_start), ["m0", "m1", "m2", "m3"]);
    assert_eq!((near_start.before, near_start.after), (None, Some(at(3))));
    let alone = window(PageAt::Around("m9".to_owned()), 0);
    assert_eq!(ids(&alone), ["m9"]);
    assert_eq!((alone.before, alone.after), (Some(at(9)), None));

    let none = window(PageAt::Start, 0);
    assert!(none.messages.is_empty());
    assert_eq!(none.key, PAIR);

    // Unknown conversations and msgids of other conversations are no window.
    let missing = |key: &str, place: PageAt| {
        message_window(&*store.reader, CORP, key, place, 5).expect("window")
    };
    assert_eq!(missing("pair:nobody|else", PageAt::Start), None);
    assert_eq!(missing("pair:nobody|else", PageAt::End), None);
    assert_eq!(missing("pair:nobody|else", PageAt::After(at(1))), None);
    assert_eq!(missing(PAIR, PageAt::Around("nope".to_owned())), None);
    let store_b = chats();
    assert_eq!(
        message_window(
            &*store_b.reader,
            CORP,
            &format!("room:{ROOM}"),
            PageAt::Around("p1".to_owned()),
            5
        )
        .expect("window"),
        None,
        "p1 is a message of the pair, not of the room"
    );
    assert_eq!(
        message_window(&*store.reader, "wwother", PAIR, PageAt::Start, 5).expect("window"),
        None
    );

    let json = serde_json::to_value(&around).expect("json");
    assert_eq!(
        fields(&around),
        sorted(&["key", "messages", "before", "after", "declined"])
    );
    // Cursors are written as a query parameter takes them.
    assert_eq!(json["before"], format!("{}:4", T0 + 3000));
    // The detail flattens the message view beside its payload and media.
    assert_eq!(json["messages"][0]["msgid"], "m3");
    assert_eq!(
        json["messages"][0]["payload"],
        serde_json::json!({"content": "line 3"})
    );
    assert_eq!(json["messages"][0]["media"], serde_json::json!([]));
}

#[test]
fn a_pair_window_says_who_declined_archiving() {
    let store = chats();
    crate::consents(&store);
    let w = message_window(
        &*store.reader,
        CORP,
        &format!("pair:alice|{EXT}"),
        PageAt::End,
        10,
    )
    .expect("window")
    .expect("known");
    assert_eq!(w.declined.len(), 1);
    assert_eq!(w.declined[0].status, "Disagree");
    // Names as in a page: the directory's, else the room's.
    assert_eq!(w.messages[0].view.from_name.as_deref(), Some("Alice Wang"));
}

fn object(sha: char, area: MediaArea, content_type: &str) -> MediaObject {
    MediaObject {
        sha256: sha.to_string().repeat(64),
        size: 4321,
        md5: "0".repeat(32),
        content_type: content_type.to_owned(),
        backend: "fs".to_owned(),
        key: format!("{}/{}", area.as_str(), sha.to_string().repeat(64)),
        area,
    }
}

/// A file message, a forward with a file and an image inside, and an image whose download failed
/// for good; the file's bytes and the forwarded file's are the same object.
fn media() -> Roles {
    let store = archive();
    let file = serde_json::json!({
        "msgid": "f1", "action": "send", "from": "alice", "tolist": ["bob"], "roomid": "",
        "msgtime": T0, "msgtype": "file",
        "file": {"md5sum": "0".repeat(32), "filename": "合同.pdf", "fileext": "pdf",
                 "filesize": 4321, "sdkfileid": "SECRET-FILE-HANDLE"},
    });
    let inner_file = serde_json::json!({"md5sum": "", "filename": "报价.pdf", "fileext": "pdf",
        "filesize": 4321, "sdkfileid": "SECRET-NESTED-FILE"});
    let inner_image = serde_json::json!({"md5sum": "", "filesize": 10,
        "sdkfileid": "SECRET-NESTED-IMAGE"});
    let forward = serde_json::json!({
        "msgid": "fw", "action": "send", "from": "bob", "tolist": ["alice"], "roomid": "",
        "msgtime": T0 + 1000, "msgtype": "chatrecord",
        "chatrecord": {"title": "聊天记录", "item": [
            {"type": "ChatRecordText", "msgtime": 1_700_000_000, "from_chatroom": false,
             "content": serde_json::json!({"content": "see attached"}).to_string()},
            {"type": "ChatRecordFile", "msgtime": 1_700_000_001, "from_chatroom": false,
             "content": inner_file.to_string()},
            {"type": "ChatRecordImage", "msgtime": 1_700_000_002, "from_chatroom": false,
             "content": inner_image.to_string()},
        ]},
    });
    commit(
        &store,
        vec![
            conformance::decrypted(1, "f1", file.to_string().as_bytes()),
            conformance::decrypted(2, "fw", forward.to_string().as_bytes()),
            conformance::media_image(3, "img", T0 + 2000, "SECRET-IMAGE"),
        ],
        Vec::new(),
    );
    let jobs = store
        .media
        .claim_media_jobs(CORP, T0 + 10_000, i64::MIN, 10)
        .expect("claim");
    assert_eq!(jobs.len(), 4);
    let job = |msgid: &str, path: &str| {
        jobs.iter()
            .find(|j| j.msgid == msgid && j.path == path)
            .unwrap_or_else(|| panic!("a job at {msgid} {path}"))
            .id
    };
    let done = |id, o: MediaObject| MediaJobResult {
        job_id: id,
        outcome: MediaJobOutcome::Done(o),
        md5_mismatches: 0,
    };
    let results = vec![
        done(
            job("f1", "file"),
            object('a', MediaArea::Objects, "application/pdf"),
        ),
        done(
            job("fw", "chatrecord.item[1]"),
            object('a', MediaArea::Objects, "application/pdf"),
        ),
        MediaJobResult {
            job_id: job("img", "image"),
            outcome: MediaJobOutcome::Permanent {
                error: MediaJobError {
                    code: "md5_mismatch".to_owned(),
                    message: "never matched".to_owned(),
                },
                quarantined: Some(object('b', MediaArea::Quarantine, "image/jpeg")),
            },
            md5_mismatches: 3,
        },
    ];
    store
        .media
        .record_media_results(CORP, &results, T0 + 20_000)
        .expect("record");
    store
}

#[test]
fn a_message_in_full_hides_download_handles_and_shows_its_media() {
    let store = media();
    let detail = |msgid: &str| {
        message_detail(&*store.reader, CORP, msgid)
            .expect("detail")
            .unwrap_or_else(|| panic!("{msgid} stored"))
    };
    let file = detail("f1");
    assert_eq!(file.view.msgid, "f1");
    assert_eq!(
        file.payload,
        serde_json::json!({"md5sum": "0".repeat(32), "filename": "合同.pdf", "fileext": "pdf",
                           "filesize": 4321})
    );
    assert_eq!(file.media.len(), 1);
    let m = &file.media[0];
    assert_eq!(
        (
            m.path.as_str(),
            m.kind.as_str(),
            m.extension.as_str(),
            m.state.as_str()
        ),
        ("file", "file", "pdf", "done")
    );
    assert_eq!(m.sha256.as_deref(), Some("a".repeat(64).as_str()));
    assert_eq!(
        (m.size, m.content_type.as_deref()),
        (Some(4321), Some("application/pdf"))
    );
    assert_eq!(m.file_name.as_deref(), Some("合同.pdf"));
    assert_eq!(m.error_code, None);

    let forward = detail("fw");
    let text = forward.payload.to_string();
    assert!(!text.contains("SECRET"), "{text}");
    assert!(!text.contains("sdkfileid"), "{text}");
    // The nested item keeps its other fields, still as a JSON string.
    let item: serde_json::Value = serde_json::from_str(
        forward.payload["item"][1]["content"]
            .as_str()
            .expect("a JSON string"),
    )
    .expect("JSON");
    assert_eq!(item["filename"], "报价.pdf");
    let paths: Vec<(&str, &str, Option<&str>)> = forward
        .media
        .iter()
        .map(|m| (m.path.as_str(), m.state.as_str(), m.file_name.as_deref()))
        .collect();
    assert_eq!(
        paths,
        [
            ("chatrecord.item[1]", "done", Some("报价.pdf")),
            ("chatrecord.item[2]", "downloading", None),
        ]
    );

    let image = detail("img");
    assert!(!image.payload.to_string().contains("SECRET"));
    let m = &image.media[0];
    assert_eq!(m.state, "failed_permanent");
    assert_eq!(m.error_code.as_deref(), Some("md5_mismatch"));
    // Quarantined bytes are not the message's media.
    assert_eq!((m.sha256.as_deref(), m.size), (None, None));

    assert_eq!(
        message_detail(&*store.reader, CORP, "nope").expect("detail"),
        None
    );
    // In a window the same.
    let w = message_window(&*store.reader, CORP, "pair:alice|bob", PageAt::Start, 10)
        .expect("window")
        .expect("known");
    assert_eq!(w.messages.len(), 2, "the image is another pair's");
    assert_eq!(w.messages[1], forward);
    assert_eq!(
        fields(m),
        sorted(&[
            "path",
            "kind",
            "extension",
            "state",
            "sha256",
            "size",
            "content_type",
            "file_name",
            "error_code"
        ])
    );
}

#[test]
fn switch_and_unknown_records_have_their_own_payloads() {
    let store = archive();
    let switch =
        serde_json::json!({"msgid": "s1", "action": "switch", "time": T0, "user": "alice"});
    let unknown = serde_json::json!({
        "msgid": "u1", "action": "send", "from": "alice", "tolist": ["bob"], "roomid": "",
        "msgtime": T0, "msgtype": "hologram",
        "hologram": {"sdkfileid": "SECRET", "depth": 3}, "extra": [{"sdkfileid": "SECRET2"}],
    });
    commit(
        &store,
        vec![
            conformance::decrypted(1, "s1", switch.to_string().as_bytes()),
            conformance::decrypted(2, "u1", unknown.to_string().as_bytes()),
        ],
        Vec::new(),
    );
    let s = message_detail(&*store.reader, CORP, "s1")
        .expect("detail")
        .expect("stored");
    assert_eq!(s.payload, serde_json::json!({}));
    let u = message_detail(&*store.reader, CORP, "u1")
        .expect("detail")
        .expect("stored");
    assert_eq!(
        u.payload,
        serde_json::json!({"hologram": {"depth": 3}, "extra": [{}]})
    );
}

#[test]
fn media_objects_are_served_only_from_verified_storage() {
    let store = media();
    let a = media_object(&*store.reader, CORP, &"a".repeat(64))
        .expect("object")
        .expect("stored");
    assert_eq!(a.msgids, strings(&["f1", "fw"]));
    assert_eq!((a.size, a.content_type.as_str()), (4321, "application/pdf"));
    assert_eq!(a.file_name.as_deref(), Some("合同.pdf"));
    assert_eq!(a.area, "objects");
    assert_eq!(
        (a.backend.as_str(), a.key.as_str()),
        ("fs", format!("objects/{}", "a".repeat(64)).as_str())
    );
    // The storage key never reaches JSON.
    assert_eq!(
        fields(&a),
        sorted(&[
            "sha256",
            "size",
            "content_type",
            "file_name",
            "msgids",
            "area"
        ])
    );
    assert_eq!(
        media_object(&*store.reader, CORP, &"b".repeat(64)).expect("object"),
        None,
        "quarantined bytes are not served"
    );
    assert_eq!(
        media_object(&*store.reader, CORP, &"c".repeat(64)).expect("object"),
        None
    );
    assert_eq!(
        media_object(&*store.reader, "wwother", &"a".repeat(64)).expect("object"),
        None
    );
}

#[cfg(feature = "openapi")]
#[test]
fn every_view_has_a_schema() {
    use utoipa::PartialSchema;
    let schema = serde_json::to_value(wecom_views::MessageWindow::schema()).expect("json");
    let text = schema.to_string();
    for field in ["messages", "before", "after", "declined"] {
        assert!(text.contains(field), "{field} in {text}");
    }
    let item = serde_json::to_value(wecom_views::ConversationItem::schema()).expect("json");
    assert!(item.to_string().contains("participant_names"), "{item}");
}
