//! The names contract: discovery of rooms and people from the stored messages (late ones
//! included, once each, in batches), the check schedule, the state rules of recorded checks, room
//! members and name history, listings and counts, display names, the permit list and consent.

use super::{CORP, T0, chat, failed};
use crate::names::{
    Consent, ConsentStatus, ConsentSubject, DiscoverStats, Discovery, DisplayName, DisplaySource,
    NameState, NameStats, PartyKind, PermitChange, PermitUser, PersonEntry, PersonInfo, Resolution,
    RoomEntry, RoomInfo, RoomKind, RoomMember, RoomNameChange, fallback_label,
};
use crate::{ArchiveReader, Directory, IngestedRecord, PageCommit, Roles, StoreErrorKind, stage};

/// When the checks discover and check names (ms).
const NOW: i64 = T0 + 1_000_000;

// Ids by shape (reference §3.1): external ones are generated (20–64 characters) and start with
// wm/wo, robots with wb; anything else is internal.
const EXT1: &str = "wmExternalContact00001";
const EXT2: &str = "woExternalContact00002";
const ROBOT: &str = "wbGroupRobot0000000001";
const ROOM_A: &str = "wrRoomA000000000000001";
const ROOM_B: &str = "wrRoomB000000000000002";
const ROOM_C: &str = "wrRoomC000000000000003";

fn commit(store: &Roles, corp: &str, records: Vec<IngestedRecord>) {
    let cursor = records.iter().map(|r| r.item.seq).max().unwrap_or_default();
    store
        .writer
        .commit_page(
            corp,
            &PageCommit {
                records,
                cursor,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
}

fn discover(store: &Roles, corp: &str, now: i64, limit: usize) -> DiscoverStats {
    discover_step(&*store.reader, &*store.directory, corp, now, limit)
}

/// One discovery step as the name resolver takes it: the feed after the `names` position, up to
/// `limit` messages, recorded with the position of the last.
pub fn discover_step(
    reader: &dyn ArchiveReader,
    directory: &dyn Directory,
    corp: &str,
    now: i64,
    limit: usize,
) -> DiscoverStats {
    let after = reader.follower_position(corp, "names").expect("position");
    let messages = reader.feed(corp, after, limit).expect("feed");
    let Some(last) = messages.last() else {
        return DiscoverStats::default();
    };
    let found = Discovery::from_messages(&messages);
    directory
        .record_discovered(corp, &found, last.feed_pos, now)
        .expect("discover")
}

fn discovered(scanned: u64, rooms_new: u64, people_new: u64) -> DiscoverStats {
    DiscoverStats {
        scanned,
        rooms_new,
        people_new,
    }
}

fn member(id: &str, nickname: &str, name: &str, is_admin: bool) -> RoomMember {
    RoomMember {
        id: id.to_owned(),
        kind: PartyKind::of(id).expect("fixture id is not empty"),
        join_time: Some(1_700_000_000),
        join_scene: Some(1),
        inviter: Some("alice".to_owned()),
        group_nickname: nickname.to_owned(),
        name: name.to_owned(),
        is_admin,
    }
}

fn room_info(name: &str, members: Vec<RoomMember>) -> Resolution<RoomInfo> {
    Resolution::Named(RoomInfo {
        kind: RoomKind::Customer,
        name: name.to_owned(),
        owner: "alice".to_owned(),
        created_at: Some(1_690_000_000),
        notice: "welcome".to_owned(),
        members,
    })
}

fn person_info(name: &str) -> Resolution<PersonInfo> {
    Resolution::Named(PersonInfo {
        name: name.to_owned(),
        corp_name: "Other Corp".to_owned(),
        position: "sales".to_owned(),
        external_type: Some(2),
        creator: String::new(),
        departments: Vec::new(),
    })
}

fn failing<T>(errcode: i64, reason: &str) -> Resolution<T> {
    Resolution::Failed {
        errcode: Some(errcode),
        reason: reason.to_owned(),
    }
}

fn unresolvable<T>(errcode: i64, reason: &str) -> Resolution<T> {
    Resolution::Unresolvable {
        errcode: Some(errcode),
        reason: reason.to_owned(),
    }
}

fn room_entry(store: &Roles, corp: &str, roomid: &str) -> RoomEntry {
    store
        .reader
        .room(corp, roomid)
        .expect("room")
        .unwrap_or_else(|| panic!("room {roomid} is known"))
        .entry
}

fn person_entry(store: &Roles, corp: &str, id: &str) -> PersonEntry {
    store
        .reader
        .person(corp, id)
        .expect("person")
        .unwrap_or_else(|| panic!("person {id} is known"))
}

fn roomids(rooms: &[RoomEntry]) -> Vec<&str> {
    rooms.iter().map(|r| r.roomid.as_str()).collect()
}

fn person_ids(people: &[PersonEntry]) -> Vec<&str> {
    people.iter().map(|p| p.id.as_str()).collect()
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn pair(userid: &str, external_userid: &str) -> ConsentSubject {
    ConsentSubject::Pair {
        userid: userid.to_owned(),
        external_userid: external_userid.to_owned(),
    }
}

fn room_subject(roomid: &str) -> ConsentSubject {
    ConsentSubject::Room {
        roomid: roomid.to_owned(),
    }
}

fn consent(subject: &ConsentSubject, contact: &str, status: ConsentStatus, at: i64) -> Consent {
    Consent {
        subject: subject.clone(),
        external_userid: contact.to_owned(),
        status,
        status_change_time: 1_700_000_000,
        checked_at_ms: at,
    }
}

fn due_consent(store: &Roles, before: i64, limit: usize) -> Vec<ConsentSubject> {
    store
        .directory
        .due_consent_checks(CORP, before, limit)
        .expect("due consent")
        .subjects
}

// ---------------------------------------------------------------------------------------------
// Checks

pub fn discovery_finds_rooms_and_people(make: super::Make<'_>) {
    let store = make();
    assert_eq!(discover(&store, CORP, NOW, 100), discovered(0, 0, 0));
    commit(
        &store,
        CORP,
        vec![
            chat(1, "d1", "alice", &["bob"], "", T0, "hi"),
            chat(2, "d2", "alice", &["bob", EXT1, ""], ROOM_A, T0 + 1, "x"),
            chat(3, "d3", ROBOT, &["alice"], ROOM_B, T0 + 2, "x"),
            failed(4, "d4", stage::NO_KEY, 10007),
            chat(5, "d5", "", &["carol"], "", T0 + 3, "x"),
            chat(6, "d6", "bob", &["alice"], ROOM_A, T0 + 4, "x"),
        ],
    );
    // Five decrypted messages; the failure has nothing to read yet. Empty ids are skipped.
    assert_eq!(discover(&store, CORP, NOW, 100), discovered(5, 2, 5));
    assert_eq!(discover(&store, CORP, NOW + 1, 100), discovered(0, 0, 0));

    let due = store.directory.due_rooms(CORP, NOW, 10).expect("due rooms");
    assert_eq!(roomids(&due), [ROOM_A, ROOM_B]);
    assert_eq!(
        due[0],
        RoomEntry {
            roomid: ROOM_A.to_owned(),
            state: NameState::Pending,
            kind: None,
            name: None,
            owner: String::new(),
            created_at: None,
            notice: String::new(),
            member_count: 0,
            errcode: None,
            error: None,
            attempts: 0,
            first_seen_ms: NOW,
            checked_at_ms: None,
            next_check_ms: NOW,
            messages: 2,
        }
    );
    assert_eq!(due[1].messages, 1);
    assert!(
        store
            .directory
            .due_rooms(CORP, NOW - 1, 10)
            .expect("due")
            .is_empty()
    );

    let people = store
        .directory
        .due_people(CORP, NOW, 10)
        .expect("due people");
    assert_eq!(person_ids(&people), ["alice", "bob", "carol", ROBOT, EXT1]);
    assert_eq!(
        person_entry(&store, CORP, EXT1),
        PersonEntry {
            id: EXT1.to_owned(),
            kind: PartyKind::External,
            state: NameState::Pending,
            name: None,
            corp_name: String::new(),
            position: String::new(),
            external_type: None,
            creator: String::new(),
            errcode: None,
            error: None,
            attempts: 0,
            first_seen_ms: NOW,
            checked_at_ms: None,
            next_check_ms: NOW,
            departments: Vec::new(),
        }
    );
    assert_eq!(person_entry(&store, CORP, ROBOT).kind, PartyKind::Robot);
    assert_eq!(
        person_entry(&store, CORP, "alice").kind,
        PartyKind::Internal
    );
    assert_eq!(store.reader.person(CORP, "").expect("person"), None);
    assert_eq!(store.reader.person(CORP, ROOM_A).expect("person"), None);

    // A message stored late (a failure decrypted now, under its old seq) is found too; ids
    // already known are not new and keep when they were first seen.
    let late = chat(4, "d4", "dave", &[EXT2, "alice"], "", T0 + 5, "late").outcome;
    let resolved = store
        .writer
        .resolve_failures(CORP, &[("d4".to_owned(), late)], NOW)
        .expect("resolve");
    assert_eq!(resolved.resolved, 1);
    assert_eq!(discover(&store, CORP, NOW + 10, 100), discovered(1, 0, 2));
    assert_eq!(person_entry(&store, CORP, "dave").first_seen_ms, NOW + 10);
    assert_eq!(person_entry(&store, CORP, "dave").next_check_ms, NOW + 10);
    assert_eq!(person_entry(&store, CORP, "alice").first_seen_ms, NOW);

    commit(
        &store,
        CORP,
        vec![
            chat(7, "d7", "alice", &["bob", EXT1], ROOM_A, T0 + 6, "x"),
            chat(8, "d8", "erin", &["alice"], ROOM_C, T0 + 7, "x"),
        ],
    );
    assert_eq!(discover(&store, CORP, NOW + 20, 100), discovered(2, 1, 1));
    assert_eq!(room_entry(&store, CORP, ROOM_A).first_seen_ms, NOW);
    assert_eq!(room_entry(&store, CORP, ROOM_A).messages, 3);
    assert_eq!(room_entry(&store, CORP, ROOM_C).first_seen_ms, NOW + 20);
    assert_eq!(discover(&store, CORP, NOW + 30, 100), discovered(0, 0, 0));
}

pub fn discovery_works_in_batches(make: super::Make<'_>) {
    let records = || {
        (1..=7)
            .map(|i| {
                let from = format!("user{i}");
                let to = format!("peer{}", i % 3);
                let room = if i % 2 == 0 {
                    format!("wrBatchRoom{i}")
                } else {
                    String::new()
                };
                chat(
                    i,
                    &format!("b{i}"),
                    &from,
                    &[to.as_str()],
                    &room,
                    T0 + i as i64,
                    "x",
                )
            })
            .collect::<Vec<_>>()
    };
    let whole = make();
    commit(&whole, CORP, records());
    let all = discover(&whole, CORP, NOW, 1000);
    assert_eq!(all, discovered(7, 3, 10));

    let batched = make();
    commit(&batched, CORP, records());
    let mut total = DiscoverStats::default();
    let mut calls = Vec::new();
    loop {
        let got = discover(&batched, CORP, NOW, 3);
        calls.push(got.scanned);
        if got.scanned == 0 {
            break;
        }
        total.scanned += got.scanned;
        total.rooms_new += got.rooms_new;
        total.people_new += got.people_new;
    }
    assert_eq!(calls, [3, 3, 1, 0]);
    assert_eq!(total, all);
    assert_eq!(
        batched.reader.people(CORP, 100, 0).expect("people"),
        whole.reader.people(CORP, 100, 0).expect("people")
    );
    assert_eq!(
        batched.reader.rooms(CORP, 100, 0).expect("rooms"),
        whole.reader.rooms(CORP, 100, 0).expect("rooms")
    );
    // A limit of 0 looks at nothing and loses nothing.
    commit(
        &batched,
        CORP,
        vec![chat(8, "b8", "frank", &["user1"], "", T0 + 8, "x")],
    );
    assert_eq!(discover(&batched, CORP, NOW, 0), discovered(0, 0, 0));
    assert_eq!(discover(&batched, CORP, NOW, 10), discovered(1, 0, 1));
}

pub fn a_roomid_is_never_a_person(make: super::Make<'_>) {
    let store = make();
    // Seen in a tolist first, in an earlier batch: a person until its room shows up.
    commit(
        &store,
        CORP,
        vec![chat(1, "r1", "alice", &[ROOM_A], "", T0, "x")],
    );
    assert_eq!(discover(&store, CORP, NOW, 10), discovered(1, 0, 2));
    assert!(store.reader.person(CORP, ROOM_A).expect("person").is_some());
    commit(
        &store,
        CORP,
        vec![
            chat(2, "r2", "alice", &["bob"], ROOM_A, T0 + 1, "x"),
            // Both in one batch.
            chat(3, "r3", "alice", &[ROOM_B], "", T0 + 2, "x"),
            chat(4, "r4", "alice", &["bob"], ROOM_B, T0 + 3, "x"),
        ],
    );
    assert_eq!(discover(&store, CORP, NOW, 10), discovered(3, 2, 1));
    assert_eq!(store.reader.person(CORP, ROOM_A).expect("person"), None);
    assert_eq!(store.reader.person(CORP, ROOM_B).expect("person"), None);
    // Known as a room already.
    commit(
        &store,
        CORP,
        vec![chat(5, "r5", "alice", &[ROOM_A], "", T0 + 4, "x")],
    );
    assert_eq!(discover(&store, CORP, NOW, 10), discovered(1, 0, 0));
    assert_eq!(
        person_ids(&store.reader.people(CORP, 10, 0).expect("people")),
        ["alice", "bob"]
    );
    assert_eq!(
        roomids(&store.reader.rooms(CORP, 10, 0).expect("rooms")),
        [ROOM_A, ROOM_B]
    );
}

pub fn due_entries_never_checked_first(make: super::Make<'_>) {
    let store = make();
    let room = |i: u64, roomid: &str| chat(i, &format!("m{i}"), "alice", &["bob"], roomid, T0, "x");
    commit(
        &store,
        CORP,
        vec![
            room(1, "wrA"),
            room(2, "wrB"),
            room(3, "wrC"),
            room(4, "wrE"),
        ],
    );
    discover(&store, CORP, NOW, 100);
    commit(&store, CORP, vec![room(5, "wrD")]);
    discover(&store, CORP, NOW + 3, 100);
    store
        .directory
        .record_room(CORP, "wrA", &failing(45009, "busy"), NOW, NOW + 5)
        .expect("record");
    store
        .directory
        .record_room(CORP, "wrB", &room_info("B", vec![]), NOW, NOW + 1)
        .expect("record");
    // Checked, due again at the same time as wrB: ties by roomid.
    store
        .directory
        .record_room(CORP, "wrE", &unresolvable(86001, "gone"), NOW, NOW + 1)
        .expect("record");

    let due =
        |now, limit| roomids(&store.directory.due_rooms(CORP, now, limit).expect("due")).join(",");
    assert_eq!(due(NOW + 10, 10), "wrC,wrD,wrB,wrE,wrA");
    assert_eq!(due(NOW + 2, 10), "wrC,wrB,wrE");
    assert_eq!(due(NOW + 10, 2), "wrC,wrD");
    assert_eq!(due(NOW - 1, 10), "");

    // People follow the same order.
    store
        .directory
        .record_person(CORP, "alice", &failing(45009, "busy"), NOW, NOW + 5)
        .expect("record");
    store
        .directory
        .record_person(CORP, "carol", &person_info("Carol"), NOW, NOW + 1)
        .expect("record");
    commit(
        &store,
        CORP,
        vec![chat(6, "m6", "dave", &["erin"], "", T0, "x")],
    );
    discover(&store, CORP, NOW + 3, 100);
    let due = |now, limit| {
        person_ids(&store.directory.due_people(CORP, now, limit).expect("due")).join(",")
    };
    assert_eq!(due(NOW + 10, 10), "bob,dave,erin,carol,alice");
    assert_eq!(due(NOW + 2, 10), "bob,carol");
    assert_eq!(due(NOW + 10, 1), "bob");
}

pub fn recorded_room_checks_follow_the_state_rules(make: super::Make<'_>) {
    let store = make();
    let t = |i: i64| NOW + i * 1000;
    let two = vec![
        member("alice", "", "", true),
        member(EXT1, "Cust", "Customer One", false),
    ];
    // An unknown room is added first.
    store
        .directory
        .record_room(CORP, ROOM_A, &room_info("A", two.clone()), t(1), t(100))
        .expect("record");
    let detail = store
        .reader
        .room(CORP, ROOM_A)
        .expect("room")
        .expect("known");
    assert_eq!(
        detail.entry,
        RoomEntry {
            roomid: ROOM_A.to_owned(),
            state: NameState::Named,
            kind: Some(RoomKind::Customer),
            name: Some("A".to_owned()),
            owner: "alice".to_owned(),
            created_at: Some(1_690_000_000),
            notice: "welcome".to_owned(),
            member_count: 2,
            errcode: None,
            error: None,
            attempts: 0,
            first_seen_ms: t(1),
            checked_at_ms: Some(t(1)),
            next_check_ms: t(100),
            messages: 0,
        }
    );
    let mut members = detail.members.clone();
    members.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(members, two);
    let change = |name: &str, at| RoomNameChange {
        name: name.to_owned(),
        observed_at_ms: at,
    };
    assert_eq!(detail.history, [change("A", t(1))]);

    // A passing failure does not unname the room.
    store
        .directory
        .record_room(CORP, ROOM_A, &failing(45009, "rate limited"), t(2), t(3))
        .expect("record");
    store
        .directory
        .record_room(CORP, ROOM_A, &failing(-1, "busy"), t(3), t(4))
        .expect("record");
    let detail = store
        .reader
        .room(CORP, ROOM_A)
        .expect("room")
        .expect("known");
    assert_eq!(detail.entry.state, NameState::Named);
    assert_eq!(detail.entry.name.as_deref(), Some("A"));
    assert_eq!(detail.entry.attempts, 2);
    assert_eq!(detail.entry.errcode, Some(-1));
    assert_eq!(detail.entry.error.as_deref(), Some("busy"));
    assert_eq!(
        (detail.entry.checked_at_ms, detail.entry.next_check_ms),
        (Some(t(3)), t(4))
    );
    assert_eq!(detail.members.len(), 2);
    assert_eq!(detail.history.len(), 1);

    // Renamed A → B → B → A: three names on record. Members are replaced.
    let one = vec![member("bob", "Bobby", "", false)];
    store
        .directory
        .record_room(CORP, ROOM_A, &room_info("B", one.clone()), t(4), t(5))
        .expect("record");
    let entry = room_entry(&store, CORP, ROOM_A);
    assert_eq!(
        (
            entry.attempts,
            entry.errcode,
            entry.error,
            entry.member_count
        ),
        (0, None, None, 1)
    );
    store
        .directory
        .record_room(CORP, ROOM_A, &room_info("B", one.clone()), t(5), t(6))
        .expect("record");
    store
        .directory
        .record_room(CORP, ROOM_A, &room_info("A", one.clone()), t(6), t(7))
        .expect("record");
    let detail = store
        .reader
        .room(CORP, ROOM_A)
        .expect("room")
        .expect("known");
    assert_eq!(detail.members, one);
    assert_eq!(
        detail.history,
        [change("A", t(1)), change("B", t(4)), change("A", t(6))]
    );
    assert_eq!(detail.entry.first_seen_ms, t(1));

    // Unresolvable keeps what was known; a later failure keeps it unresolvable.
    store
        .directory
        .record_room(
            CORP,
            ROOM_A,
            &unresolvable(86001, "not a customer group"),
            t(7),
            t(8),
        )
        .expect("record");
    let detail = store
        .reader
        .room(CORP, ROOM_A)
        .expect("room")
        .expect("known");
    assert_eq!(detail.entry.state, NameState::Unresolvable);
    assert_eq!(detail.entry.name.as_deref(), Some("A"));
    assert_eq!(detail.entry.kind, Some(RoomKind::Customer));
    assert_eq!(
        (detail.entry.attempts, detail.entry.errcode),
        (1, Some(86001))
    );
    assert_eq!(detail.members, one);
    assert_eq!(detail.history.len(), 3);
    store
        .directory
        .record_room(CORP, ROOM_A, &failing(45009, "rate limited"), t(8), t(9))
        .expect("record");
    let entry = room_entry(&store, CORP, ROOM_A);
    assert_eq!(entry.state, NameState::Unresolvable);
    assert_eq!(
        (entry.attempts, entry.error.as_deref()),
        (2, Some("rate limited"))
    );

    // Never named: failed, then unresolvable, then named.
    store
        .directory
        .record_room(CORP, ROOM_B, &failing(45009, "rate limited"), t(1), t(2))
        .expect("record");
    let entry = room_entry(&store, CORP, ROOM_B);
    assert_eq!(
        (entry.state, entry.attempts, entry.name, entry.kind),
        (NameState::Failed, 1, None, None)
    );
    assert_eq!(entry.first_seen_ms, t(1));
    store
        .directory
        .record_room(CORP, ROOM_B, &failing(45009, "rate limited"), t(2), t(3))
        .expect("record");
    assert_eq!(room_entry(&store, CORP, ROOM_B).state, NameState::Failed);
    store
        .directory
        .record_room(CORP, ROOM_B, &unresolvable(86001, "gone"), t(3), t(4))
        .expect("record");
    let entry = room_entry(&store, CORP, ROOM_B);
    assert_eq!((entry.state, entry.attempts), (NameState::Unresolvable, 3));
    assert!(
        store
            .reader
            .room(CORP, ROOM_B)
            .expect("room")
            .expect("known")
            .history
            .is_empty()
    );
    store
        .directory
        .record_room(CORP, ROOM_B, &room_info("Bee", vec![]), t(4), t(5))
        .expect("record");
    let entry = room_entry(&store, CORP, ROOM_B);
    assert_eq!(
        (entry.state, entry.attempts, entry.name.as_deref()),
        (NameState::Named, 0, Some("Bee"))
    );

    // A discovered room keeps when it was first seen.
    commit(
        &store,
        CORP,
        vec![chat(1, "c1", "alice", &["bob"], ROOM_C, T0, "x")],
    );
    discover(&store, CORP, t(1), 10);
    store
        .directory
        .record_room(CORP, ROOM_C, &unresolvable(86001, "gone"), t(2), t(3))
        .expect("record");
    let entry = room_entry(&store, CORP, ROOM_C);
    assert_eq!(
        (entry.state, entry.first_seen_ms, entry.messages),
        (NameState::Unresolvable, t(1), 1)
    );
    assert_eq!(store.reader.room(CORP, "wrUnknown").expect("room"), None);
}

pub fn recorded_person_checks_follow_the_state_rules(make: super::Make<'_>) {
    let store = make();
    let t = |i: i64| NOW + i * 1000;
    // Unknown ids are added with their kind by shape.
    store
        .directory
        .record_person(CORP, EXT1, &person_info("Wang"), t(1), t(100))
        .expect("record");
    assert_eq!(
        person_entry(&store, CORP, EXT1),
        PersonEntry {
            id: EXT1.to_owned(),
            kind: PartyKind::External,
            state: NameState::Named,
            name: Some("Wang".to_owned()),
            corp_name: "Other Corp".to_owned(),
            position: "sales".to_owned(),
            external_type: Some(2),
            creator: String::new(),
            errcode: None,
            error: None,
            attempts: 0,
            first_seen_ms: t(1),
            checked_at_ms: Some(t(1)),
            next_check_ms: t(100),
            departments: Vec::new(),
        }
    );
    store
        .directory
        .record_person(CORP, EXT1, &failing(45009, "rate limited"), t(2), t(3))
        .expect("record");
    let p = person_entry(&store, CORP, EXT1);
    assert_eq!(
        (p.state, p.name.as_deref(), p.attempts, p.errcode),
        (NameState::Named, Some("Wang"), 1, Some(45009))
    );
    assert_eq!(p.corp_name, "Other Corp");
    store
        .directory
        .record_person(CORP, EXT1, &unresolvable(84061, "no relation"), t(3), t(4))
        .expect("record");
    store
        .directory
        .record_person(CORP, EXT1, &failing(-1, "busy"), t(4), t(5))
        .expect("record");
    let p = person_entry(&store, CORP, EXT1);
    assert_eq!(
        (p.state, p.name.as_deref(), p.attempts, p.error.as_deref()),
        (NameState::Unresolvable, Some("Wang"), 3, Some("busy"))
    );
    assert_eq!((p.checked_at_ms, p.next_check_ms), (Some(t(4)), t(5)));
    store
        .directory
        .record_person(CORP, EXT1, &person_info("Wang Wei"), t(5), t(6))
        .expect("record");
    let p = person_entry(&store, CORP, EXT1);
    assert_eq!(
        (p.state, p.name.as_deref(), p.attempts, p.errcode, p.error),
        (NameState::Named, Some("Wang Wei"), 0, None, None)
    );
    assert_eq!(p.first_seen_ms, t(1));

    store
        .directory
        .record_person(CORP, ROBOT, &failing(45009, "rate limited"), t(1), t(2))
        .expect("record");
    let p = person_entry(&store, CORP, ROBOT);
    assert_eq!(
        (p.kind, p.state, p.attempts, p.name),
        (PartyKind::Robot, NameState::Failed, 1, None)
    );
    store
        .directory
        .record_person(
            CORP,
            "alice",
            &unresolvable(60111, "no such user"),
            t(1),
            t(2),
        )
        .expect("record");
    let p = person_entry(&store, CORP, "alice");
    assert_eq!(
        (p.kind, p.state, p.attempts),
        (PartyKind::Internal, NameState::Unresolvable, 1)
    );

    let error = store
        .directory
        .record_person(CORP, "", &person_info("Nobody"), t(1), t(2))
        .expect_err("an empty id is refused");
    assert_eq!(error.kind(), StoreErrorKind::InvalidInput);
    assert_eq!(store.reader.person(CORP, "").expect("person"), None);
    assert_eq!(store.reader.person(CORP, "zed").expect("person"), None);
}

pub fn rooms_and_people_are_listed_by_name(make: super::Make<'_>) {
    let store = make();
    commit(
        &store,
        CORP,
        vec![
            chat(1, "m1", "zoe", &["yan"], "wrZ", T0, "x"),
            chat(2, "m2", "xia", &["yan"], "wrA", T0, "x"),
            chat(3, "m3", "xia", &["yan"], "wrA", T0, "x"),
        ],
    );
    discover(&store, CORP, NOW, 100);
    for (roomid, resolution) in [
        ("wrM", room_info("Beta", vec![])),
        ("wrN", room_info("Alpha", vec![])),
        ("wrY", unresolvable(86001, "gone")),
        ("wrB", failing(-1, "busy")),
    ] {
        store
            .directory
            .record_room(CORP, roomid, &resolution, NOW, NOW + 1)
            .expect("record");
    }
    // Named, then unresolvable: still listed by its name.
    store
        .directory
        .record_room(CORP, "wrK", &room_info("Gamma", vec![]), NOW, NOW + 1)
        .expect("record");
    store
        .directory
        .record_room(CORP, "wrK", &unresolvable(86001, "gone"), NOW, NOW + 1)
        .expect("record");
    let list =
        |limit, offset| roomids(&store.reader.rooms(CORP, limit, offset).expect("rooms")).join(",");
    assert_eq!(list(100, 0), "wrN,wrM,wrK,wrA,wrB,wrY,wrZ");
    assert_eq!(list(3, 0), "wrN,wrM,wrK");
    assert_eq!(list(3, 3), "wrA,wrB,wrY");
    assert_eq!(list(3, 6), "wrZ");
    assert_eq!(list(3, 7), "");
    let rooms = store.reader.rooms(CORP, 100, 0).expect("rooms");
    let messages: Vec<u64> = rooms.iter().map(|r| r.messages).collect();
    assert_eq!(messages, [0, 0, 0, 2, 0, 0, 1]);

    store
        .directory
        .record_person(CORP, "yan", &person_info("Zhang"), NOW, NOW + 1)
        .expect("record");
    store
        .directory
        .record_person(CORP, "zoe", &person_info("Li"), NOW, NOW + 1)
        .expect("record");
    let list = |limit, offset| {
        person_ids(&store.reader.people(CORP, limit, offset).expect("people")).join(",")
    };
    assert_eq!(list(100, 0), "zoe,yan,xia");
    assert_eq!(list(1, 1), "yan");
    assert_eq!(list(5, 2), "xia");
}

pub fn name_stats_count_every_state(make: super::Make<'_>) {
    let store = make();
    assert_eq!(
        store.reader.name_stats(CORP).expect("stats"),
        NameStats::default()
    );
    commit(
        &store,
        CORP,
        vec![
            chat(1, "m1", "alice", &["bob"], "wrP", T0, "x"),
            chat(2, "m2", "carol", &[EXT1], "", T0, "x"),
        ],
    );
    discover(&store, CORP, NOW, 100);
    for (roomid, resolution) in [
        ("wrN1", room_info("One", vec![])),
        ("wrN2", room_info("Two", vec![])),
        ("wrU", unresolvable(86001, "gone")),
        ("wrF", failing(-1, "busy")),
    ] {
        store
            .directory
            .record_room(CORP, roomid, &resolution, NOW, NOW + 1)
            .expect("record");
    }
    store
        .directory
        .record_person(CORP, "alice", &person_info("Alice"), NOW, NOW + 1)
        .expect("record");
    store
        .directory
        .record_person(CORP, "bob", &unresolvable(60111, "gone"), NOW, NOW + 1)
        .expect("record");
    store
        .directory
        .record_person(CORP, "carol", &failing(-1, "busy"), NOW, NOW + 1)
        .expect("record");
    store
        .directory
        .record_permit_users(CORP, &ids(&["alice", "bob", "carol"]), NOW)
        .expect("permit");
    store
        .directory
        .record_permit_users(CORP, &ids(&["alice", "bob"]), NOW + 1)
        .expect("permit");
    let room = room_subject("wrP");
    let p = pair("carol", EXT1);
    store
        .directory
        .record_consent(
            CORP,
            &[room.clone(), p.clone()],
            &[
                consent(&room, EXT1, ConsentStatus::Agree, NOW),
                consent(&room, EXT2, ConsentStatus::Disagree, NOW),
                consent(&p, EXT1, ConsentStatus::Agree, NOW),
            ],
            NOW,
        )
        .expect("consent");
    assert_eq!(
        store.reader.name_stats(CORP).expect("stats"),
        NameStats {
            rooms_total: 5,
            rooms_named: 2,
            rooms_unresolvable: 1,
            rooms_unchecked: 2,
            people_total: 4,
            people_named: 1,
            people_unresolvable: 1,
            people_unchecked: 2,
            permit_users: 2,
            consent_agree: 2,
            consent_disagree: 1,
        }
    );
}

pub fn display_names_take_the_best_source(make: super::Make<'_>) {
    let store = make();
    commit(
        &store,
        CORP,
        vec![chat(
            1,
            "m1",
            "alice",
            &["bob", EXT1, "carol", EXT2],
            ROOM_A,
            T0,
            "x",
        )],
    );
    discover(&store, CORP, NOW, 100);
    store
        .directory
        .record_person(CORP, "alice", &person_info("Alice Wang"), NOW, NOW + 1)
        .expect("record");
    // Named once, failing since: the name still shows.
    store
        .directory
        .record_person(CORP, EXT2, &person_info("Zhao"), NOW, NOW + 1)
        .expect("record");
    store
        .directory
        .record_person(CORP, EXT2, &failing(-1, "busy"), NOW + 1, NOW + 2)
        .expect("record");
    store
        .directory
        .record_room(
            CORP,
            ROOM_A,
            &room_info(
                "Team",
                vec![
                    member("alice", "Ali", "Alice from the room", true),
                    member("bob", "Bobby", "Bob B", false),
                    member(EXT1, "", "Customer One", false),
                    member("carol", "", "", false),
                ],
            ),
            NOW,
            NOW + 1,
        )
        .expect("record");

    let shown = |list: &[&str], roomid| -> Vec<(String, DisplaySource)> {
        store
            .reader
            .display_names(CORP, &ids(list), roomid)
            .expect("display names")
            .into_iter()
            .map(|d| (d.text, d.source))
            .collect()
    };
    let all = [
        "alice", "bob", EXT1, "carol", ROOM_A, "alice", "", EXT2, ROBOT,
    ];
    let got = store
        .reader
        .display_names(CORP, &ids(&all), Some(ROOM_A))
        .expect("display names");
    assert_eq!(
        got.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        all,
        "input order, duplicates kept"
    );
    let expected = |text: &str, source| (text.to_owned(), source);
    assert_eq!(
        shown(&all, Some(ROOM_A)),
        [
            expected("Alice Wang", DisplaySource::Directory),
            expected("Bobby", DisplaySource::RoomNickname),
            expected("Customer One", DisplaySource::RoomMemberName),
            expected("carol (internal)", DisplaySource::Id),
            expected("Team", DisplaySource::Directory),
            expected("Alice Wang", DisplaySource::Directory),
            expected("(empty id)", DisplaySource::Id),
            expected("Zhao", DisplaySource::Directory),
            expected(&format!("{ROBOT} (robot)"), DisplaySource::Id),
        ]
    );
    // Without the room (or in another one) only the directory and the id are left.
    for roomid in [None, Some(ROOM_B)] {
        assert_eq!(
            shown(&["alice", "bob", EXT1], roomid),
            [
                expected("Alice Wang", DisplaySource::Directory),
                expected(&fallback_label("bob"), DisplaySource::Id),
                expected(&format!("{EXT1} (external)"), DisplaySource::Id),
            ]
        );
    }
    assert_eq!(
        store
            .reader
            .display_names(CORP, &[], Some(ROOM_A))
            .expect("empty"),
        Vec::<DisplayName>::new()
    );
}

pub fn the_permit_list_is_kept_with_its_history(make: super::Make<'_>) {
    let store = make();
    let t = |i: i64| NOW + i * 1000;
    assert_eq!(store.reader.permit_checked_at(CORP).expect("checked"), None);
    assert!(store.reader.permit_users(CORP).expect("users").is_empty());
    let user = |userid: &str, in_scope, first_seen_ms, last_seen_ms| PermitUser {
        userid: userid.to_owned(),
        in_scope,
        first_seen_ms,
        last_seen_ms,
    };
    let change = |added, removed| PermitChange { added, removed };

    let got = store
        .directory
        .record_permit_users(CORP, &ids(&["u2", "u1", "u2", "u3"]), t(1))
        .expect("permit");
    assert_eq!(got, change(3, 0));
    assert_eq!(
        store.reader.permit_users(CORP).expect("users"),
        [
            user("u1", true, t(1), t(1)),
            user("u2", true, t(1), t(1)),
            user("u3", true, t(1), t(1)),
        ]
    );
    assert_eq!(
        store.reader.permit_checked_at(CORP).expect("checked"),
        Some(t(1))
    );

    let got = store
        .directory
        .record_permit_users(CORP, &ids(&["u1", "u3"]), t(2))
        .expect("permit");
    assert_eq!(got, change(0, 1));
    assert_eq!(
        store.reader.permit_users(CORP).expect("users"),
        [
            user("u1", true, t(1), t(2)),
            user("u2", false, t(1), t(1)),
            user("u3", true, t(1), t(2)),
        ]
    );

    // Back in scope: first seen again now.
    let got = store
        .directory
        .record_permit_users(CORP, &ids(&["u3", "u2", "u1", "u4"]), t(3))
        .expect("permit");
    assert_eq!(got, change(2, 0));
    assert_eq!(
        store.reader.permit_users(CORP).expect("users"),
        [
            user("u1", true, t(1), t(3)),
            user("u2", true, t(3), t(3)),
            user("u3", true, t(1), t(3)),
            user("u4", true, t(3), t(3)),
        ]
    );
    assert_eq!(
        store.reader.name_stats(CORP).expect("stats").permit_users,
        4
    );

    // The same list again changes only the times.
    let got = store
        .directory
        .record_permit_users(CORP, &ids(&["u1", "u2", "u3", "u4"]), t(4))
        .expect("permit");
    assert_eq!(got, change(0, 0));

    let got = store
        .directory
        .record_permit_users(CORP, &[], t(5))
        .expect("permit");
    assert_eq!(got, change(0, 4));
    assert!(
        store
            .reader
            .permit_users(CORP)
            .expect("users")
            .iter()
            .all(|u| !u.in_scope && u.last_seen_ms == t(4))
    );
    assert_eq!(
        store.reader.permit_checked_at(CORP).expect("checked"),
        Some(t(5))
    );
    assert_eq!(
        store.reader.name_stats(CORP).expect("stats").permit_users,
        0
    );
}

/// The conversations and rooms of the consent checks: see [`consent_subjects_are_due_in_order`].
fn consent_fixture() -> Vec<IngestedRecord> {
    vec![
        // Pairs: internal–external qualifies, whichever side sent.
        chat(1, "p1", "alice", &[EXT1], "", T0, "x"),
        chat(2, "p2", EXT2, &["bob"], "", T0 + 1, "x"),
        chat(3, "p3", "bob", &[EXT2], "", T0 + 2, "x"),
        // Not: two internal ids, a robot, two external ids, a roomless group.
        chat(4, "p4", "alice", &["bob"], "", T0 + 3, "x"),
        chat(5, "p5", ROBOT, &[EXT1], "", T0 + 4, "x"),
        chat(6, "p6", EXT1, &[EXT2], "", T0 + 5, "x"),
        chat(7, "p7", "alice", &["bob", EXT1], "", T0 + 6, "x"),
        // Rooms: internal only (no); an external sender; an external recipient who never spoke.
        chat(8, "r1", "alice", &["bob"], "wrInternalOnly", T0 + 7, "x"),
        chat(9, "r2", EXT1, &["alice"], "wrExtSender", T0 + 8, "x"),
        chat(10, "r3", "alice", &["bob"], "wrExtRecipient", T0 + 9, "x"),
        chat(
            11,
            "r4",
            "bob",
            &["alice", EXT2],
            "wrExtRecipient",
            T0 + 10,
            "x",
        ),
    ]
}

pub fn consent_subjects_are_due_in_order(make: super::Make<'_>) {
    let store = make();
    assert!(due_consent(&store, NOW, 100).is_empty());
    commit(&store, CORP, consent_fixture());
    // An external member on record qualifies a room without messages; internal members do not.
    store
        .directory
        .record_room(
            CORP,
            "wrMemberOnly",
            &room_info(
                "M",
                vec![member("alice", "", "", true), member(EXT2, "", "", false)],
            ),
            NOW,
            NOW + 1,
        )
        .expect("record");
    store
        .directory
        .record_room(
            CORP,
            "wrInternalMembers",
            &room_info("I", vec![member("alice", "", "", true)]),
            NOW,
            NOW + 1,
        )
        .expect("record");
    let all = vec![
        pair("alice", EXT1),
        pair("bob", EXT2),
        room_subject("wrExtRecipient"),
        room_subject("wrExtSender"),
        room_subject("wrMemberOnly"),
    ];
    // The same subjects whether or not names were discovered yet, or only in part.
    assert_eq!(due_consent(&store, NOW, 100), all);
    discover(&store, CORP, NOW, 9);
    assert_eq!(due_consent(&store, NOW, 100), all);
    discover(&store, CORP, NOW, 100);
    assert_eq!(due_consent(&store, NOW, 100), all);
    assert_eq!(due_consent(&store, NOW, 2), all[..2]);

    store
        .directory
        .record_consent(
            CORP,
            &[pair("alice", EXT1), room_subject("wrExtRecipient")],
            &[],
            NOW,
        )
        .expect("consent");
    store
        .directory
        .record_consent(CORP, &[room_subject("wrExtSender")], &[], NOW - 10)
        .expect("consent");
    // Checked at or after `checked_before_ms`: not due.
    assert_eq!(
        due_consent(&store, NOW - 10, 100),
        [pair("bob", EXT2), room_subject("wrMemberOnly")]
    );
    assert_eq!(
        due_consent(&store, NOW, 100),
        [
            pair("bob", EXT2),
            room_subject("wrMemberOnly"),
            room_subject("wrExtSender"),
        ]
    );
    // Never checked, then the oldest check, then by subject.
    assert_eq!(
        due_consent(&store, NOW + 1, 100),
        [
            pair("bob", EXT2),
            room_subject("wrMemberOnly"),
            room_subject("wrExtSender"),
            pair("alice", EXT1),
            room_subject("wrExtRecipient"),
        ]
    );
    assert_eq!(
        due_consent(&store, NOW + 1, 3),
        [
            pair("bob", EXT2),
            room_subject("wrMemberOnly"),
            room_subject("wrExtSender"),
        ]
    );
}

pub fn consent_statuses_are_replaced_per_subject(make: super::Make<'_>) {
    let store = make();
    let t = |i: i64| NOW + i * 1000;
    let p = pair("alice", EXT1);
    let room = room_subject(ROOM_A);
    store
        .directory
        .record_consent(
            CORP,
            &[p.clone(), room.clone()],
            &[
                // A pair's contact is the pair's external side.
                consent(&p, "", ConsentStatus::Agree, t(1)),
                consent(&room, EXT2, ConsentStatus::Disagree, t(1)),
                consent(&room, EXT1, ConsentStatus::Agree, t(1)),
            ],
            t(1),
        )
        .expect("consent");
    let pair_agree = consent(&p, EXT1, ConsentStatus::Agree, t(1));
    let room_ext1 = consent(&room, EXT1, ConsentStatus::Agree, t(1));
    let room_ext2 = consent(&room, EXT2, ConsentStatus::Disagree, t(1));
    assert_eq!(
        store.reader.consents(CORP, EXT1).expect("consents"),
        [pair_agree.clone(), room_ext1.clone()]
    );
    assert_eq!(
        store.reader.consents(CORP, "alice").expect("consents"),
        std::slice::from_ref(&pair_agree)
    );
    assert_eq!(
        store.reader.consents(CORP, ROOM_A).expect("consents"),
        [room_ext1.clone(), room_ext2.clone()]
    );
    assert_eq!(
        store.reader.consents(CORP, EXT2).expect("consents"),
        std::slice::from_ref(&room_ext2)
    );
    assert!(
        store
            .reader
            .consents(CORP, "nobody")
            .expect("consents")
            .is_empty()
    );

    // A checked subject keeps only the statuses reported for it now.
    let room_ext1_changed = Consent {
        status_change_time: 1_700_000_500,
        ..consent(&room, EXT1, ConsentStatus::Disagree, t(2))
    };
    store
        .directory
        .record_consent(
            CORP,
            std::slice::from_ref(&room),
            std::slice::from_ref(&room_ext1_changed),
            t(2),
        )
        .expect("consent");
    assert_eq!(
        store.reader.consents(CORP, ROOM_A).expect("consents"),
        std::slice::from_ref(&room_ext1_changed)
    );
    assert_eq!(
        store.reader.consents(CORP, "alice").expect("consents"),
        std::slice::from_ref(&pair_agree)
    );

    // A status of a subject not checked in the same call replaces only its own contact's.
    let room_ext2_agree = consent(&room, EXT2, ConsentStatus::Agree, t(3));
    let pair_disagree = consent(&p, EXT1, ConsentStatus::Disagree, t(3));
    store
        .directory
        .record_consent(
            CORP,
            &[],
            &[room_ext2_agree.clone(), pair_disagree.clone()],
            t(3),
        )
        .expect("consent");
    assert_eq!(
        store.reader.consents(CORP, ROOM_A).expect("consents"),
        [room_ext1_changed.clone(), room_ext2_agree.clone()]
    );
    assert_eq!(
        store.reader.consents(CORP, EXT1).expect("consents"),
        [pair_disagree.clone(), room_ext1_changed.clone()]
    );
    let stats = store.reader.name_stats(CORP).expect("stats");
    assert_eq!((stats.consent_agree, stats.consent_disagree), (1, 2));

    // Checked and nothing reported: nothing kept.
    store
        .directory
        .record_consent(CORP, std::slice::from_ref(&p), &[], t(4))
        .expect("consent");
    assert!(
        store
            .reader
            .consents(CORP, "alice")
            .expect("consents")
            .is_empty()
    );
    assert_eq!(
        store.reader.consents(CORP, EXT1).expect("consents"),
        [room_ext1_changed]
    );
}

pub fn names_are_per_corp(make: super::Make<'_>) {
    let store = make();
    let other = "wwotherco";
    commit(
        &store,
        CORP,
        vec![chat(1, "m1", "alice", &[EXT1], ROOM_A, T0, "x")],
    );
    commit(
        &store,
        other,
        vec![
            chat(1, "m1", "zed", &[EXT2], ROOM_B, T0, "x"),
            chat(2, "m2", "zed", &[EXT2], "", T0, "x"),
        ],
    );
    assert_eq!(discover(&store, other, NOW, 100), discovered(2, 1, 2));
    // Messages of the corp stored after another corp's were discovered are still found.
    commit(
        &store,
        CORP,
        vec![chat(2, "m2", "bob", &["alice"], "", T0, "x")],
    );
    assert_eq!(discover(&store, CORP, NOW, 100), discovered(2, 1, 3));
    commit(
        &store,
        other,
        vec![chat(3, "m3", "yan", &["zed"], "", T0, "x")],
    );
    commit(
        &store,
        CORP,
        vec![chat(3, "m3", "carol", &["alice"], "", T0, "x")],
    );
    assert_eq!(discover(&store, CORP, NOW, 1), discovered(1, 0, 1));
    assert_eq!(discover(&store, CORP, NOW, 1), discovered(0, 0, 0));
    assert_eq!(discover(&store, other, NOW, 100), discovered(1, 0, 1));

    assert_eq!(
        roomids(&store.reader.rooms(CORP, 10, 0).expect("rooms")),
        [ROOM_A]
    );
    assert_eq!(
        roomids(&store.directory.due_rooms(other, NOW, 10).expect("rooms")),
        [ROOM_B]
    );
    assert_eq!(
        person_ids(&store.reader.people(other, 10, 0).expect("people")),
        [EXT2, "yan", "zed"]
    );

    store
        .directory
        .record_room(CORP, ROOM_B, &room_info("Mine", vec![]), NOW, NOW + 1)
        .expect("record");
    store
        .directory
        .record_person(other, "alice", &person_info("Theirs"), NOW, NOW + 1)
        .expect("record");
    assert_eq!(room_entry(&store, other, ROOM_B).state, NameState::Pending);
    assert_eq!(person_entry(&store, CORP, "alice").name, None);
    assert_eq!(
        store
            .reader
            .display_names(other, &ids(&[ROOM_B]), None)
            .expect("names")[0]
            .source,
        DisplaySource::Id
    );
    store
        .directory
        .record_permit_users(other, &ids(&["zed"]), NOW)
        .expect("permit");
    assert!(store.reader.permit_users(CORP).expect("permit").is_empty());
    assert_eq!(store.reader.permit_checked_at(CORP).expect("checked"), None);
    // A pair of the corp checked in another corp is still due in the corp.
    commit(
        &store,
        CORP,
        vec![chat(4, "m4", "alice", &[EXT1], "", T0, "x")],
    );
    let p = pair("alice", EXT1);
    store
        .directory
        .record_consent(
            other,
            std::slice::from_ref(&p),
            &[consent(&p, EXT1, ConsentStatus::Agree, NOW)],
            NOW,
        )
        .expect("consent");
    assert!(
        store
            .reader
            .consents(CORP, EXT1)
            .expect("consents")
            .is_empty()
    );
    assert_eq!(
        store
            .directory
            .due_consent_checks(CORP, NOW + 1, 10)
            .expect("due")
            .subjects,
        [pair("alice", EXT1), room_subject(ROOM_A)]
    );
    assert_eq!(
        store
            .directory
            .due_consent_checks(other, NOW + 1, 10)
            .expect("due")
            .subjects,
        [pair("zed", EXT2), room_subject(ROOM_B)]
    );
    let stats = store.reader.name_stats("wwnobody").expect("stats");
    assert_eq!(stats, NameStats::default());
}

pub fn rechecking_makes_entries_due_now(make: super::Make<'_>) {
    let store = make();
    let later = NOW + 1_000_000;
    store
        .directory
        .record_room(CORP, ROOM_A, &room_info("A", Vec::new()), NOW, later)
        .expect("named room");
    store
        .directory
        .record_room(
            CORP,
            ROOM_B,
            &Resolution::Unresolvable {
                errcode: Some(40050),
                reason: "unknown".into(),
            },
            NOW,
            later,
        )
        .expect("unresolvable room");
    store
        .directory
        .record_person(CORP, EXT1, &failing(-1, "busy"), NOW, later)
        .expect("failed person");
    store
        .directory
        .record_person(CORP, EXT2, &person_info("B"), NOW, later)
        .expect("named person");
    store
        .directory
        .record_room(CORP, ROOM_C, &room_info("C", Vec::new()), NOW, NOW + 10)
        .expect("room due soon");
    let due_rooms = |s: &Roles| -> Vec<String> {
        s.directory
            .due_rooms(CORP, NOW + 20, 100)
            .expect("due rooms")
            .into_iter()
            .map(|r| r.roomid)
            .collect()
    };
    let due_people = |s: &Roles| -> Vec<String> {
        s.directory
            .due_people(CORP, NOW + 20, 100)
            .expect("due people")
            .into_iter()
            .map(|p| p.id)
            .collect()
    };
    assert_eq!(due_rooms(&store), vec![ROOM_C.to_owned()]);
    assert!(due_people(&store).is_empty());

    // Only what is not named, and never later than it already was.
    let changed = store
        .directory
        .recheck_names(CORP, false, NOW + 20)
        .expect("recheck");
    assert_eq!(changed, 2);
    assert_eq!(
        due_rooms(&store),
        vec![ROOM_C.to_owned(), ROOM_B.to_owned()]
    );
    assert_eq!(due_people(&store), vec![EXT1.to_owned()]);
    let b = store
        .reader
        .room(CORP, ROOM_B)
        .expect("room")
        .expect("known")
        .entry;
    assert_eq!(b.state, NameState::Unresolvable, "state is kept");

    let changed = store
        .directory
        .recheck_names(CORP, true, NOW + 20)
        .expect("recheck all");
    assert_eq!(changed, 2, "the named room A and person B");
    assert_eq!(due_rooms(&store).len(), 3);
    assert_eq!(due_people(&store).len(), 2);
    // Other corps are untouched.
    assert_eq!(
        store
            .directory
            .recheck_names("wwsomeoneelse", true, NOW + 20)
            .expect("other"),
        0
    );
}
