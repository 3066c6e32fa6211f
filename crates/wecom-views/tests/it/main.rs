//! The views against a real (in-memory SQLite) archive: what each view holds, and its JSON field
//! names, which are the public shapes of the CLI's `--json` outputs and of the HTTP API.

mod conversations;
mod directory;
mod figures;
mod window;

use std::sync::Arc;

use wecom_store::conformance::{self, CORP, T0};
use wecom_store::names::{
    Consent, ConsentStatus, ConsentSubject, PartyKind, PersonInfo, Resolution, RoomInfo, RoomKind,
    RoomMember,
};
use wecom_store::{IngestedRecord, PageCommit, Roles, SqliteStore};
use wecom_wire::QuarantinedItem;

const ROOM: &str = "wrRoomA000000000000001";
const EXT: &str = "wmExternalContact00001";
/// When names and consent were checked (ms).
const NOW: i64 = T0 + 1_000_000;

/// An empty in-memory archive by role.
fn archive() -> Roles {
    Arc::new(SqliteStore::open_in_memory().expect("in-memory archive")).roles()
}

/// Commits `records` and `quarantined` as one page; the cursor is the largest record seq.
fn commit(store: &Roles, records: Vec<IngestedRecord>, quarantined: Vec<QuarantinedItem>) {
    let cursor = records.iter().map(|r| r.item.seq).max().unwrap_or_default();
    store
        .writer
        .commit_page(
            CORP,
            &PageCommit {
                records,
                quarantined,
                cursor,
            },
        )
        .expect("commit");
}

/// A room conversation (alice, bob, an external contact; a recall and a quoted reply) and a
/// one-to-one chat of alice with the contact; the room and alice named, bob only by his
/// nickname in the room, the contact by the member name the room API reported.
fn chats() -> Roles {
    let store = archive();
    commit(
        &store,
        vec![
            conformance::chat(1, "m1", "alice", &[], ROOM, T0, "明天下午三点开会"),
            conformance::chat(2, "m2", "bob", &[], ROOM, T0 + 1000, "收到"),
            conformance::chat(
                3,
                "m3",
                EXT,
                &[],
                ROOM,
                T0 + 2000,
                &conformance::archive_quote("alice", "明天下午三点开会", "好的"),
            ),
            conformance::recall(4, "r1", "bob", &[], ROOM, T0 + 3000, "m2"),
            conformance::chat(5, "p1", "alice", &[EXT], "", T0 + 10_000, "您好"),
            conformance::chat(6, "p2", EXT, &["alice"], "", T0 + 20_000, "你好"),
        ],
        Vec::new(),
    );
    name_room(&store, "项目群", NOW);
    store
        .directory
        .record_person(
            CORP,
            "alice",
            &Resolution::Named(PersonInfo {
                name: "Alice Wang".to_owned(),
                position: "sales".to_owned(),
                ..PersonInfo::default()
            }),
            NOW,
            NOW + 1,
        )
        .expect("record alice");
    store
}

/// Records `name` for the room, with its three members.
fn name_room(store: &Roles, name: &str, now: i64) {
    let member = |id: &str, nickname: &str, member_name: &str, is_admin| RoomMember {
        id: id.to_owned(),
        kind: PartyKind::of(id).expect("an id"),
        join_time: Some(1_700_000_000),
        join_scene: Some(1),
        inviter: Some("alice".to_owned()),
        group_nickname: nickname.to_owned(),
        name: member_name.to_owned(),
        is_admin,
    };
    store
        .directory
        .record_room(
            CORP,
            ROOM,
            &Resolution::Named(RoomInfo {
                kind: RoomKind::Customer,
                name: name.to_owned(),
                owner: "alice".to_owned(),
                created_at: Some(1_690_000_000),
                notice: "welcome".to_owned(),
                members: vec![
                    member("alice", "", "", true),
                    member("bob", "小波", "", false),
                    member(EXT, "", "客户王", false),
                ],
            }),
            now,
            now + 1,
        )
        .expect("record room");
}

/// Records that the contact declined archiving their chat with alice, and agreed in the room.
fn consents(store: &Roles) {
    let pair = ConsentSubject::Pair {
        userid: "alice".to_owned(),
        external_userid: EXT.to_owned(),
    };
    let room = ConsentSubject::Room {
        roomid: ROOM.to_owned(),
    };
    let consent = |subject: &ConsentSubject, status| Consent {
        subject: subject.clone(),
        external_userid: EXT.to_owned(),
        status,
        status_change_time: 1_700_000_500,
        checked_at_ms: NOW,
    };
    store
        .directory
        .record_consent(
            CORP,
            &[pair.clone(), room.clone()],
            &[
                consent(&pair, ConsentStatus::Disagree),
                consent(&room, ConsentStatus::Agree),
            ],
            NOW,
        )
        .expect("record consent");
}

/// The field names of a serialized view, sorted.
fn fields(view: &impl serde::Serialize) -> Vec<String> {
    let value = serde_json::to_value(view).expect("serializes");
    let mut keys: Vec<String> = value
        .as_object()
        .expect("a JSON object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// `names` sorted, as owned strings.
fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    names.sort();
    names
}
