//! Conversations, pages and messages.

use wecom_store::conformance::{CORP, T0};
use wecom_views::{PageCursor, conversation_page, conversations, message};

use crate::{EXT, ROOM, chats, consents, fields, sorted};

#[test]
fn the_list_names_rooms_and_senders_and_keeps_the_cli_fields() {
    let store = chats();
    let list = conversations(&*store.reader, CORP, 10, 0).expect("list");
    // Most recent activity first: the pair (T0 + 20 s), then the room.
    assert_eq!(list.len(), 2);
    let (pair, room) = (&list[0], &list[1]);

    assert_eq!(pair.key, format!("pair:alice|{EXT}"));
    assert!(!pair.is_group);
    assert_eq!(
        (pair.roomid.as_str(), pair.room_name.as_deref()),
        ("", None)
    );
    assert_eq!(
        (pair.messages, pair.first_msgtime, pair.last_msgtime),
        (2, T0 + 10_000, T0 + 20_000)
    );

    assert!(room.is_group);
    assert_eq!(room.roomid, ROOM);
    assert_eq!(room.room_name.as_deref(), Some("项目群"));
    assert_eq!(room.messages, 4);
    // Senders most active first (bob sent a message and its recall); names beside them, the id
    // itself where no name is known (outside the room, bob has none).
    let shown: Vec<(&str, &str)> = room
        .senders
        .iter()
        .map(String::as_str)
        .zip(room.sender_names.iter().map(String::as_str))
        .collect();
    assert_eq!(
        shown,
        vec![("bob", "bob"), ("alice", "Alice Wang"), (EXT, EXT)]
    );

    assert_eq!(
        fields(room),
        sorted(&[
            "key",
            "is_group",
            "roomid",
            "messages",
            "first_msgtime",
            "last_msgtime",
            "senders",
            "room_name",
            "sender_names",
            "external",
            "participants",
            "participant_names",
            "participant_count",
            "last_message",
        ])
    );
    let json = serde_json::to_value(pair).expect("json");
    assert_eq!(json["room_name"], serde_json::Value::Null);
    assert_eq!(json["sender_names"][0], "Alice Wang");

    // Paging by offset.
    let rest = conversations(&*store.reader, CORP, 10, 1).expect("list");
    assert_eq!(
        rest.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        vec![room.key.as_str()]
    );
}

#[test]
fn a_page_carries_names_links_and_the_cursor_of_the_next() {
    let store = chats();
    let key = format!("room:{ROOM}");
    let first = conversation_page(&*store.reader, CORP, &key, None, 2).expect("page");
    assert_eq!(first.key, key);
    let ids: Vec<&str> = first.messages.iter().map(|m| m.msgid.as_str()).collect();
    assert_eq!(ids, vec!["m1", "m2"]);
    // A person's name first, else the nickname in the room.
    assert_eq!(first.messages[0].from_name.as_deref(), Some("Alice Wang"));
    assert_eq!(first.messages[1].from_name.as_deref(), Some("小波"));
    // The recalled message is kept and marked.
    let recalled = &first.messages[1];
    assert_eq!(
        (
            recalled.recalled_by.as_deref(),
            recalled.recalled_by_user.as_deref(),
            recalled.recalled_at
        ),
        (Some("r1"), Some("bob"), Some(T0 + 3000))
    );
    assert_eq!(
        first.next_after,
        Some(PageCursor {
            msgtime: T0 + 1000,
            seq: 2
        })
    );
    assert!(first.declined.is_empty(), "a room has no pair consent");

    let second = conversation_page(&*store.reader, CORP, &key, first.next_after, 2).expect("page");
    let ids: Vec<&str> = second.messages.iter().map(|m| m.msgid.as_str()).collect();
    assert_eq!(ids, vec!["m3", "r1"]);
    let (quote, recall) = (&second.messages[0], &second.messages[1]);
    assert_eq!(quote.quote_of.as_deref(), Some("m1"));
    assert_eq!(quote.from_name.as_deref(), Some("客户王"));
    assert_eq!(recall.recall_of.as_deref(), Some("m2"));
    assert_eq!(recall.action, "recall");

    // A page that is not full is the end for now.
    let last = conversation_page(&*store.reader, CORP, &key, second.next_after, 2).expect("page");
    assert!(last.messages.is_empty());
    assert_eq!(last.next_after, None);
    let short = conversation_page(&*store.reader, CORP, &key, None, 10).expect("page");
    assert_eq!((short.messages.len(), short.next_after), (4, None));

    assert_eq!(
        fields(&first.messages[0]),
        sorted(&[
            "seq",
            "msgid",
            "action",
            "from",
            "tolist",
            "roomid",
            "msgtime",
            "msgtype",
            "conversation",
            "text",
            "external",
            "updown_stream",
            "recall_of",
            "recalled_by",
            "recalled_by_user",
            "recalled_at",
            "quote_of",
            "warnings",
            "from_name",
        ])
    );
    assert_eq!(
        fields(&first),
        sorted(&["key", "messages", "next_after", "declined"])
    );
    let json = serde_json::to_value(&first).expect("json");
    assert_eq!(
        json["next_after"],
        serde_json::json!({"msgtime": T0 + 1000, "seq": 2})
    );
    assert_eq!(json["messages"][1]["recalled_by"], "r1");
    assert_eq!(json["messages"][0]["msgtype"], "text");
}

#[test]
fn a_pair_page_says_who_declined_archiving() {
    let store = chats();
    consents(&store);
    let page = conversation_page(&*store.reader, CORP, &format!("pair:alice|{EXT}"), None, 10)
        .expect("page");
    assert_eq!(page.messages.len(), 2);
    assert_eq!(page.declined.len(), 1, "{:?}", page.declined);
    let declined = &page.declined[0];
    assert_eq!(
        (
            declined.subject.as_str(),
            declined.userid.as_str(),
            declined.external_userid.as_str(),
            declined.status.as_str()
        ),
        ("pair", "alice", EXT, "Disagree")
    );
    // The room's consent (agreed) is not the pair's.
    let room =
        conversation_page(&*store.reader, CORP, &format!("room:{ROOM}"), None, 10).expect("page");
    assert!(room.declined.is_empty());
}

#[test]
fn one_message_by_msgid() {
    let store = chats();
    let m = message(&*store.reader, CORP, "m2")
        .expect("read")
        .expect("stored");
    assert_eq!((m.seq, m.text.as_str()), (2, "收到"));
    // Named as in its room.
    assert_eq!(m.from_name.as_deref(), Some("小波"));
    assert_eq!(m.recalled_by.as_deref(), Some("r1"));
    let p = message(&*store.reader, CORP, "p1")
        .expect("read")
        .expect("stored");
    assert_eq!(p.from_name.as_deref(), Some("Alice Wang"));
    assert_eq!(message(&*store.reader, CORP, "nope").expect("read"), None);
    assert_eq!(
        message(&*store.reader, "wwothercorp", "m2").expect("read"),
        None
    );
}

#[test]
fn page_cursors_read_back_what_they_print() {
    let cursor = PageCursor {
        msgtime: 1_700_000_000_000,
        seq: 42,
    };
    assert_eq!(cursor.to_string(), "1700000000000:42");
    assert_eq!("1700000000000:42".parse::<PageCursor>(), Ok(cursor));
    for bad in ["yesterday", "1:", ":2", "1:-2", "1:2:3", ""] {
        let err = bad.parse::<PageCursor>().expect_err(bad);
        assert!(err.to_string().contains("MSGTIME:SEQ"), "{err}");
    }
}
