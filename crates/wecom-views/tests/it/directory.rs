//! Rooms and people.

use wecom_store::conformance::CORP;
use wecom_views::{people, person, room, rooms};

use crate::{EXT, NOW, ROOM, chats, consents, fields, name_room, sorted};

#[test]
fn a_room_in_detail_with_member_names_history_and_consent() {
    let store = chats();
    consents(&store);
    name_room(&store, "新项目群", NOW + 10);

    let detail = room(&*store.reader, CORP, ROOM)
        .expect("read")
        .expect("known");
    let r = &detail.room;
    assert_eq!(
        (
            r.roomid.as_str(),
            r.state.as_str(),
            r.kind.as_deref(),
            r.name.as_deref()
        ),
        (ROOM, "named", Some("customer"), Some("新项目群"))
    );
    assert_eq!((r.members, r.messages, r.owner.as_str()), (3, 4, "alice"));
    let members: Vec<(&str, &str, &str, bool)> = detail
        .members
        .iter()
        .map(|m| {
            (
                m.id.as_str(),
                m.kind.as_str(),
                m.display_name.as_str(),
                m.is_admin,
            )
        })
        .collect();
    assert_eq!(
        members,
        vec![
            ("alice", "internal", "Alice Wang", true),
            ("bob", "internal", "小波", false),
            (EXT, "external", "客户王", false),
        ]
    );
    let history: Vec<(&str, i64)> = detail
        .name_history
        .iter()
        .map(|h| (h.name.as_str(), h.observed_at_ms))
        .collect();
    assert_eq!(history, vec![("项目群", NOW), ("新项目群", NOW + 10)]);
    assert_eq!(detail.consent.len(), 1);
    let c = &detail.consent[0];
    assert_eq!(
        (
            c.subject.as_str(),
            c.roomid.as_str(),
            c.userid.as_str(),
            c.status.as_str()
        ),
        ("room", ROOM, "", "Agree")
    );

    assert_eq!(
        fields(&detail),
        sorted(&["room", "members", "name_history", "consent"])
    );
    assert_eq!(
        fields(r),
        sorted(&[
            "roomid",
            "state",
            "kind",
            "name",
            "owner",
            "created_at",
            "notice",
            "members",
            "messages",
            "errcode",
            "error",
            "checked_at_ms",
            "next_check_ms",
        ])
    );
    assert_eq!(
        fields(&detail.members[0]),
        sorted(&[
            "id",
            "kind",
            "display_name",
            "join_time",
            "join_scene",
            "inviter",
            "group_nickname",
            "is_admin",
        ])
    );
    assert_eq!(
        fields(&detail.name_history[0]),
        sorted(&["name", "observed_at_ms"])
    );
    assert_eq!(
        fields(c),
        sorted(&[
            "subject",
            "userid",
            "roomid",
            "external_userid",
            "status",
            "status_change_time",
            "checked_at_ms",
        ])
    );

    assert_eq!(
        room(&*store.reader, CORP, "wrnotaroom").expect("read"),
        None
    );
    let listed = rooms(&*store.reader, CORP, 10, 0).expect("rooms");
    assert_eq!(listed, vec![detail.room.clone()]);
    assert!(
        rooms(&*store.reader, CORP, 10, 1)
            .expect("rooms")
            .is_empty()
    );
}

#[test]
fn a_person_with_their_scope_and_consent() {
    let store = chats();
    consents(&store);
    let detail = person(&*store.reader, CORP, "alice")
        .expect("read")
        .expect("known");
    // The permit list was never fetched: the scope is unknown.
    assert_eq!(
        (detail.in_archive_scope, detail.scope_checked_at_ms),
        (None, None)
    );
    assert_eq!(
        (
            detail.person.name.as_deref(),
            detail.person.kind.as_str(),
            detail.person.state.as_str(),
            detail.person.position.as_str()
        ),
        (Some("Alice Wang"), "internal", "named", "sales")
    );
    // alice is the employee of the pair the contact declined.
    assert_eq!(detail.consent.len(), 1);
    assert_eq!(
        (
            detail.consent[0].subject.as_str(),
            detail.consent[0].status.as_str()
        ),
        ("pair", "Disagree")
    );

    store
        .directory
        .record_permit_users(CORP, &["alice".to_owned()], NOW + 5)
        .expect("permit");
    let detail = person(&*store.reader, CORP, "alice")
        .expect("read")
        .expect("known");
    assert_eq!(
        (detail.in_archive_scope, detail.scope_checked_at_ms),
        (Some(true), Some(NOW + 5))
    );
    store
        .directory
        .record_permit_users(CORP, &[], NOW + 6)
        .expect("permit");
    let detail = person(&*store.reader, CORP, "alice")
        .expect("read")
        .expect("known");
    assert_eq!(detail.in_archive_scope, Some(false));

    assert_eq!(
        fields(&detail),
        sorted(&[
            "person",
            "in_archive_scope",
            "scope_checked_at_ms",
            "consent"
        ])
    );
    assert_eq!(
        fields(&detail.person),
        sorted(&[
            "id",
            "kind",
            "state",
            "name",
            "corp_name",
            "position",
            "external_type",
            "creator",
            "errcode",
            "error",
            "checked_at_ms",
            "next_check_ms",
        ])
    );
    assert_eq!(person(&*store.reader, CORP, "nobody").expect("read"), None);
    let listed = people(&*store.reader, CORP, 10, 0).expect("people");
    assert_eq!(listed, vec![detail.person.clone()]);
}
