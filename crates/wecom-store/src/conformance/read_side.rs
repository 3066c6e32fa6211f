//! The read side of the HTTP API: conversations filtered by participant, room, external flag and
//! activity; participants and the external flag kept with every stored message (across pages,
//! and for messages stored by resolving a failure); paging backwards; who a conversation
//! involves; media by content and by several messages; members by department.

use super::media::{error, object, result};
use super::{CORP, Make, T0, chat, failed};
use crate::names::{PersonInfo, Resolution};
use crate::{
    ConversationFilter, ConversationSummary, MAX_LISTED_PARTICIPANTS, MediaArea, MediaJobOutcome,
    PageCommit, Roles,
};

/// An external contact, by the shape of its id.
pub const EXT: &str = "wmExternalContact00001";
/// A group robot, by the shape of its id.
pub const ROBOT: &str = "wbGroupRobot0000000001";

fn commit(store: &Roles, records: Vec<crate::IngestedRecord>) {
    let cursor = records.iter().map(|r| r.item.seq).max().unwrap_or_default();
    store
        .writer
        .commit_page(
            CORP,
            &PageCommit {
                records,
                cursor,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
}

fn keys(list: &[ConversationSummary]) -> Vec<&str> {
    list.iter().map(|c| c.key.as_str()).collect()
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// Five conversations, newest activity first:
/// - `room:wrBot` (T0+60): carol and a robot — external by its robot;
/// - `pair:erin|frank` (T0+50): an `_external` msgid — external by its flag;
/// - `room:wrA` (T0+30..T0+40): carol, dave and an external contact — external;
/// - `members:alice|bob|carol` (T0+25): roomless group, internal;
/// - `pair:alice|bob` (T0+10..T0+20): internal.
fn five(store: &Roles) {
    commit(
        store,
        vec![
            chat(1, "p1", "alice", &["bob"], "", T0 + 10, "a"),
            chat(2, "p2", "bob", &["alice"], "", T0 + 20, "b"),
            chat(3, "g0", "alice", &["bob", "carol", ""], "", T0 + 25, "c"),
            chat(4, "r1", "carol", &["dave"], "wrA", T0 + 30, "d"),
            chat(5, "r2", "dave", &["carol", EXT], "wrA", T0 + 40, "e"),
            chat(6, "x1_external", "erin", &["frank"], "", T0 + 50, "f"),
            chat(7, "b1", "carol", &[ROBOT], "wrBot", T0 + 60, "g"),
        ],
    );
}

#[doc(hidden)]
pub fn conversations_are_filtered_by_participant_room_and_activity(make: Make<'_>) {
    let store = make();
    five(&store);
    let list = |filter: &ConversationFilter, limit, offset| {
        store
            .reader
            .conversation_list(CORP, filter, limit, offset)
            .expect("list")
    };
    let all = list(&ConversationFilter::default(), 100, 0);
    assert_eq!(
        keys(&all),
        [
            "room:wrBot",
            "pair:erin|frank",
            "room:wrA",
            "members:alice|bob|carol",
            "pair:alice|bob"
        ]
    );
    assert_eq!(
        store.reader.conversations(CORP, 100, 0).expect("list"),
        all,
        "the unfiltered list is conversations()"
    );
    assert_eq!(
        all.iter().map(|c| c.external).collect::<Vec<_>>(),
        [true, true, true, false, false]
    );
    // Participants: senders and recipients, ascending, empty ids skipped.
    assert_eq!(all[2].participants, strings(&["carol", "dave", EXT]));
    assert_eq!(all[2].participant_count, 3);
    assert_eq!(all[3].participants, strings(&["alice", "bob", "carol"]));
    assert_eq!(all[0].participants, strings(&["carol", ROBOT]));

    let by = |ids: &[&str]| ConversationFilter {
        any_participant: Some(strings(ids)),
        ..ConversationFilter::default()
    };
    assert_eq!(
        keys(&list(&by(&["alice"]), 100, 0)),
        ["members:alice|bob|carol", "pair:alice|bob"]
    );
    assert_eq!(
        keys(&list(&by(&["frank", "dave", "nobody"]), 100, 0)),
        ["pair:erin|frank", "room:wrA"]
    );
    assert!(
        list(&by(&[]), 100, 0).is_empty(),
        "an empty scope sees nothing"
    );
    assert!(list(&by(&["nobody"]), 100, 0).is_empty());
    // A recipient counts as much as a sender.
    assert_eq!(keys(&list(&by(&[EXT]), 100, 0)), ["room:wrA"]);

    let person = |id: &str| ConversationFilter {
        person: Some(id.to_owned()),
        ..ConversationFilter::default()
    };
    assert_eq!(
        keys(&list(&person("carol"), 100, 0)),
        ["room:wrBot", "room:wrA", "members:alice|bob|carol"]
    );
    assert!(
        list(&person(""), 100, 0).is_empty(),
        "empty ids take no part"
    );

    let room = |id: &str| ConversationFilter {
        roomid: Some(id.to_owned()),
        ..ConversationFilter::default()
    };
    assert_eq!(keys(&list(&room("wrA"), 100, 0)), ["room:wrA"]);
    assert!(list(&room("wrNone"), 100, 0).is_empty());

    let external = |e| ConversationFilter {
        external: Some(e),
        ..ConversationFilter::default()
    };
    assert_eq!(
        keys(&list(&external(true), 100, 0)),
        ["room:wrBot", "pair:erin|frank", "room:wrA"]
    );
    assert_eq!(
        keys(&list(&external(false), 100, 0)),
        ["members:alice|bob|carol", "pair:alice|bob"]
    );

    // Activity in [since, until): last >= since and first < until.
    let active = |since: Option<i64>, until: Option<i64>| ConversationFilter {
        active_since_ms: since.map(|t| T0 + t),
        active_until_ms: until.map(|t| T0 + t),
        ..ConversationFilter::default()
    };
    assert_eq!(
        keys(&list(&active(Some(40), None), 100, 0)),
        ["room:wrBot", "pair:erin|frank", "room:wrA"]
    );
    assert_eq!(
        keys(&list(&active(None, Some(30)), 100, 0)),
        ["members:alice|bob|carol", "pair:alice|bob"]
    );
    // room:wrA (30..40) overlaps [35, 50); erin|frank (50) starts at the open end.
    assert_eq!(
        keys(&list(&active(Some(35), Some(50)), 100, 0)),
        ["room:wrA"]
    );
    assert_eq!(
        keys(&list(&active(Some(20), Some(21)), 100, 0)),
        ["pair:alice|bob"]
    );

    // Filters combine (AND).
    let combined = ConversationFilter {
        any_participant: Some(strings(&["carol", "alice"])),
        external: Some(true),
        active_since_ms: Some(T0 + 35),
        ..ConversationFilter::default()
    };
    assert_eq!(keys(&list(&combined, 100, 0)), ["room:wrBot", "room:wrA"]);
    let nothing = ConversationFilter {
        roomid: Some("wrA".to_owned()),
        person: Some("alice".to_owned()),
        ..ConversationFilter::default()
    };
    assert!(list(&nothing, 100, 0).is_empty());

    // Paging keeps the order.
    let carol = person("carol");
    assert_eq!(keys(&list(&carol, 2, 0)), ["room:wrBot", "room:wrA"]);
    assert_eq!(keys(&list(&carol, 2, 2)), ["members:alice|bob|carol"]);
    assert!(list(&carol, 2, 4).is_empty());
    assert!(list(&carol, 0, 0).is_empty());

    // Corps are apart.
    assert!(
        store
            .reader
            .conversation_list("wwother", &by(&["alice"]), 100, 0)
            .expect("list")
            .is_empty()
    );
}

#[doc(hidden)]
pub fn participants_and_the_external_flag_follow_every_page(make: Make<'_>) {
    let store = make();
    // A room of 60 members: 50 listed, all counted.
    let members: Vec<String> = (0..60).map(|i| format!("member{i:02}")).collect();
    let member_refs: Vec<&str> = members.iter().map(String::as_str).collect();
    commit(
        &store,
        vec![
            chat(1, "big1", "boss", &member_refs, "wrBig", T0, "hello all"),
            chat(
                2,
                "big2",
                "member07",
                &member_refs[..3],
                "wrBig",
                T0 + 1,
                "hi",
            ),
            chat(3, "pa", "alice", &["bob"], "", T0 + 2, "a"),
        ],
    );
    let room = |store: &Roles, key: &str| -> ConversationSummary {
        store
            .reader
            .conversation_list(CORP, &ConversationFilter::default(), 100, 0)
            .expect("list")
            .into_iter()
            .find(|c| c.key == key)
            .unwrap_or_else(|| panic!("{key} listed"))
    };
    let big = room(&store, "room:wrBig");
    assert_eq!(big.participant_count, 61);
    assert_eq!(big.participants.len(), MAX_LISTED_PARTICIPANTS);
    let mut expected: Vec<String> = members.clone();
    expected.push("boss".to_owned());
    expected.sort();
    expected.truncate(MAX_LISTED_PARTICIPANTS);
    assert_eq!(big.participants, expected);
    assert!(!big.external);
    assert!(!room(&store, "pair:alice|bob").external);

    // A later page adds a participant, and an external one makes the room external.
    commit(
        &store,
        vec![chat(4, "big3", "boss", &[EXT], "wrBig", T0 + 3, "welcome")],
    );
    let big = room(&store, "room:wrBig");
    assert_eq!(big.participant_count, 62);
    assert!(big.external);
    assert!(
        store
            .reader
            .conversation_involves(CORP, "room:wrBig", &strings(&[EXT]))
            .expect("involves")
    );

    // A message stored by resolving a failure counts like any other.
    commit(&store, vec![failed(5, "late_external", "no_key", 10007)]);
    let record = chat(
        5,
        "late_external",
        "alice",
        &["bob", "carol"],
        "",
        T0 + 4,
        "x",
    );
    store
        .writer
        .resolve_failures(CORP, &[("late_external".to_owned(), record.outcome)], T0)
        .expect("resolve");
    let group = room(&store, "members:alice|bob|carol");
    assert_eq!(group.participants, strings(&["alice", "bob", "carol"]));
    assert!(group.external, "the msgid's _external flag");

    // A replayed page changes nothing.
    let before = store
        .reader
        .conversation_list(CORP, &ConversationFilter::default(), 100, 0)
        .expect("list");
    commit(
        &store,
        vec![chat(
            4,
            "big3",
            "boss",
            &[EXT, "newcomer"],
            "wrBig",
            T0 + 3,
            "welcome",
        )],
    );
    assert_eq!(
        store
            .reader
            .conversation_list(CORP, &ConversationFilter::default(), 100, 0)
            .expect("list"),
        before
    );
}

#[doc(hidden)]
pub fn paging_backwards_through_a_conversation(make: Make<'_>) {
    let store = make();
    let key = "pair:alice|bob";
    let m = |seq, t| chat(seq, &format!("m{seq}"), "alice", &["bob"], "", T0 + t, "x");
    commit(
        &store,
        vec![
            m(1, 100),
            m(2, 100),
            chat(3, "other", "alice", &["carol"], "", T0 + 100, "y"),
            m(4, 200),
        ],
    );
    commit(&store, vec![m(5, 50), m(6, 100), m(7, 200)]);
    let order: Vec<(i64, u64)> = [(50, 5), (100, 1), (100, 2), (100, 6), (200, 4), (200, 7)]
        .iter()
        .map(|&(t, seq)| (T0 + t, seq))
        .collect();
    let before = |c: (i64, u64), limit| -> Vec<(i64, u64)> {
        store
            .reader
            .conversation_messages_before(CORP, key, c, limit)
            .expect("page")
            .iter()
            .map(|m| (m.msgtime, m.seq))
            .collect()
    };
    let end = (i64::MAX, i64::MAX as u64);
    assert_eq!(before(end, 100), order);
    // The ones immediately before, ascending.
    assert_eq!(before(end, 2), order[4..]);
    assert_eq!(before(order[3], 2), order[1..3]);
    // Two at a time backwards walks the whole conversation once.
    let mut walked = Vec::new();
    let mut cursor = end;
    loop {
        let got = before(cursor, 2);
        let Some(&first) = got.first() else { break };
        assert!(got.len() <= 2);
        walked.splice(0..0, got);
        cursor = first;
    }
    assert_eq!(walked, order);
    // A cursor between stored messages (same msgtime, a seq in between).
    assert_eq!(before((T0 + 100, 3), 100), order[..3]);
    assert!(before(order[0], 10).is_empty());
    assert!(before(end, 0).is_empty());
    assert!(
        store
            .reader
            .conversation_messages_before(CORP, "pair:nobody|else", end, 10)
            .expect("page")
            .is_empty()
    );
    assert!(
        store
            .reader
            .conversation_messages_before("wwother", key, end, 10)
            .expect("page")
            .is_empty()
    );
    // The same messages as the forward read.
    assert_eq!(
        store
            .reader
            .conversation_messages_before(CORP, key, end, 100)
            .expect("page"),
        store
            .reader
            .conversation_messages(CORP, key, None, 100)
            .expect("page")
    );
}

#[doc(hidden)]
pub fn who_a_conversation_involves(make: Make<'_>) {
    let store = make();
    five(&store);
    let involves = |key: &str, ids: &[&str]| {
        store
            .reader
            .conversation_involves(CORP, key, &strings(ids))
            .expect("involves")
    };
    assert!(involves("pair:alice|bob", &["bob"]));
    assert!(involves("pair:alice|bob", &["nobody", "alice"]));
    assert!(!involves("pair:alice|bob", &["carol"]));
    assert!(involves("room:wrA", &[EXT]));
    assert!(!involves("pair:alice|bob", &[]));
    assert!(!involves("pair:nobody|else", &["alice"]));
    assert!(!involves("members:alice|bob|carol", &[""]));
    assert!(
        !store
            .reader
            .conversation_involves("wwother", "pair:alice|bob", &strings(&["alice"]))
            .expect("involves")
    );

    let involving = |ids: &[&str]| {
        store
            .reader
            .conversations_involving(CORP, &strings(ids))
            .expect("involving")
    };
    assert_eq!(
        involving(&["carol", "alice", "carol"]),
        strings(&[
            "members:alice|bob|carol",
            "pair:alice|bob",
            "room:wrA",
            "room:wrBot"
        ])
    );
    assert_eq!(involving(&[ROBOT]), strings(&["room:wrBot"]));
    assert!(involving(&[]).is_empty());
    assert!(involving(&["nobody"]).is_empty());
    assert!(
        store
            .reader
            .conversations_involving("wwother", &strings(&["alice"]))
            .expect("involving")
            .is_empty()
    );
}

#[doc(hidden)]
pub fn media_is_found_by_content_and_by_message(make: Make<'_>) {
    let store = make();
    let t = super::media::T;
    commit(
        &store,
        vec![
            super::media::image(1, "i1", t, "f1"),
            super::media::image(2, "i2", t + 1, "f2"),
            super::media::image(3, "i3", t + 2, "f3"),
            super::media::mixed(4, "mx", t + 3),
            chat(5, "plain", "ken", &["icef"], "", t + 4, "no media"),
        ],
    );
    let jobs = store
        .media
        .claim_media_jobs(CORP, t + 10, i64::MIN, 10)
        .expect("claim");
    assert_eq!(jobs.len(), 5);
    let job = |msgid: &str| {
        jobs.iter()
            .find(|j| j.msgid == msgid)
            .unwrap_or_else(|| panic!("a job of {msgid}"))
    };
    // i1 and i3 stored the same verified bytes; i2's bytes went to quarantine.
    let results = vec![
        result(
            job("i1"),
            MediaJobOutcome::Done(object('a', MediaArea::Objects)),
        ),
        result(
            job("i3"),
            MediaJobOutcome::Done(object('a', MediaArea::Objects)),
        ),
        result(
            job("i2"),
            MediaJobOutcome::Permanent {
                error: error("md5_mismatch"),
                quarantined: Some(object('b', MediaArea::Quarantine)),
            },
        ),
    ];
    store
        .media
        .record_media_results(CORP, &results, t + 20)
        .expect("record");

    let by_sha = |sha: char| {
        store
            .reader
            .media_by_sha256(CORP, &sha.to_string().repeat(64))
            .expect("by sha256")
    };
    let a = by_sha('a');
    assert_eq!(
        a.iter().map(|m| m.job.msgid.as_str()).collect::<Vec<_>>(),
        ["i1", "i3"]
    );
    assert!(a.windows(2).all(|w| w[0].job.id < w[1].job.id));
    assert!(
        a.iter()
            .all(|m| m.object == Some(object('a', MediaArea::Objects)))
    );
    let b = by_sha('b');
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].job.msgid, "i2");
    assert_eq!(b[0].object, Some(object('b', MediaArea::Quarantine)));
    assert!(by_sha('c').is_empty());
    assert!(
        store
            .reader
            .media_by_sha256("wwother", &"a".repeat(64))
            .expect("by sha256")
            .is_empty()
    );

    // Several messages at once: the same as one by one, ascending job id.
    let several = store
        .reader
        .messages_media(CORP, &strings(&["mx", "i1", "plain", "nope", "i2"]))
        .expect("media");
    let mut one_by_one = Vec::new();
    for msgid in ["i1", "i2", "mx"] {
        one_by_one.extend(store.reader.message_media(CORP, msgid).expect("media"));
    }
    one_by_one.sort_by_key(|m| m.job.id);
    assert_eq!(several, one_by_one);
    assert_eq!(several.len(), 4, "one image each, two nested in mx");
    assert!(
        store
            .reader
            .messages_media(CORP, &[])
            .expect("media")
            .is_empty()
    );
    assert!(
        store
            .reader
            .messages_media("wwother", &strings(&["i1"]))
            .expect("media")
            .is_empty()
    );
}

#[doc(hidden)]
pub fn members_are_found_by_department(make: Make<'_>) {
    let store = make();
    let named = |departments: &[u64]| {
        Resolution::Named(PersonInfo {
            name: "someone".to_owned(),
            departments: departments.to_vec(),
            ..PersonInfo::default()
        })
    };
    let record = |id: &str, resolution: &Resolution<PersonInfo>| {
        store
            .directory
            .record_person(CORP, id, resolution, T0, T0 + 1)
            .expect("record person");
    };
    record("alice", &named(&[2, 1, 2]));
    record("bob", &named(&[2]));
    record("carol", &named(&[3]));
    record(EXT, &named(&[]));
    let members = |departments: &[u64]| {
        store
            .reader
            .department_members(CORP, departments)
            .expect("members")
    };
    assert_eq!(members(&[2]), strings(&["alice", "bob"]));
    assert_eq!(members(&[3, 1]), strings(&["alice", "carol"]));
    assert_eq!(members(&[1, 2, 3]), strings(&["alice", "bob", "carol"]));
    assert!(members(&[]).is_empty());
    assert!(members(&[99]).is_empty());
    let person = |id: &str| {
        store
            .reader
            .person(CORP, id)
            .expect("person")
            .unwrap_or_else(|| panic!("{id} known"))
    };
    assert_eq!(person("alice").departments, [1, 2], "sorted, each once");
    assert!(person(EXT).departments.is_empty());

    // Named again: the list is replaced. A failed check keeps it.
    record("alice", &named(&[3]));
    assert_eq!(members(&[2]), strings(&["bob"]));
    assert_eq!(members(&[3]), strings(&["alice", "carol"]));
    record(
        "bob",
        &Resolution::Failed {
            errcode: Some(45009),
            reason: "rate limited".to_owned(),
        },
    );
    assert_eq!(members(&[2]), strings(&["bob"]));
    assert_eq!(person("bob").departments, [2]);

    assert!(
        store
            .reader
            .department_members("wwother", &[2])
            .expect("members")
            .is_empty()
    );
}
