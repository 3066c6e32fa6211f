//! The copy to PostgreSQL: every table copied exactly, resumable, a second pass writing only what
//! changed, refusals, identity sequences, and the table map's completeness.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::accounts::{NewSession, NewUser, Role, Scope};
use crate::audit::{AuditEntry, AuditOutcome};
use crate::conformance::{archive_quote, chat, failed, media_image, recall, unparsed};
use crate::media::{MediaArea, MediaJobError, MediaJobOutcome, MediaJobResult, MediaObject};
use crate::names::{
    Consent, ConsentStatus, ConsentSubject, Discovery, PartyKind, PersonInfo, Resolution, RoomInfo,
    RoomKind, RoomMember,
};
use crate::postgres::tests::support::TestSchema;
use crate::{PageCommit, Roles, SqliteStore, StoreErrorKind, stage};

const CORP: &str = "wwtransfer0000001";
const T0: i64 = 1_750_000_000_000;
const ROOM: &str = "wrRoomTransfer0000000001";
const EXT: &str = "wmExternalContact00001";

/// A SQLite archive in a temporary folder.
struct Source {
    _dir: tempfile::TempDir,
    path: PathBuf,
    roles: Roles,
}

fn source() -> Source {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("archive.db");
    let roles = Arc::new(SqliteStore::open(&path).expect("open sqlite")).roles();
    Source {
        _dir: dir,
        path,
        roles,
    }
}

fn commit(
    roles: &Roles,
    records: Vec<crate::IngestedRecord>,
    quarantined: Vec<wecom_wire::QuarantinedItem>,
) {
    let cursor = records
        .iter()
        .map(|r| r.item.seq)
        .max()
        .unwrap_or_default()
        .max(roles.writer.cursor(CORP).expect("cursor"));
    roles
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

fn discover(roles: &Roles, now: i64) {
    let after = roles
        .reader
        .follower_position(CORP, "names")
        .expect("position");
    let messages = roles.reader.feed(CORP, after, 1000).expect("feed");
    if let Some(last) = messages.last() {
        let found = Discovery::from_messages(&messages);
        roles
            .directory
            .record_discovered(CORP, &found, last.feed_pos, now)
            .expect("discover");
    }
}

fn member(id: &str, admin: bool) -> RoomMember {
    RoomMember {
        id: id.to_owned(),
        kind: PartyKind::of(id).expect("id"),
        join_time: Some(1_700_000_000),
        join_scene: None,
        inviter: Some("alice".to_owned()),
        group_nickname: String::new(),
        name: format!("name of {id}"),
        is_admin: admin,
    }
}

fn room(name: &str, members: Vec<RoomMember>) -> Resolution<RoomInfo> {
    Resolution::Named(RoomInfo {
        kind: RoomKind::Customer,
        name: name.to_owned(),
        owner: "alice".to_owned(),
        created_at: Some(1_690_000_000),
        notice: "welcome\0notice".to_owned(),
        members,
    })
}

fn person(name: &str, departments: Vec<u64>) -> Resolution<PersonInfo> {
    Resolution::Named(PersonInfo {
        name: name.to_owned(),
        corp_name: String::new(),
        position: "sales".to_owned(),
        external_type: None,
        creator: String::new(),
        departments,
    })
}

fn object(sha: char, area: MediaArea) -> MediaObject {
    MediaObject {
        sha256: sha.to_string().repeat(64),
        size: 13177,
        md5: "368b6c18c82e6441bfd89b343e9d2429".into(),
        content_type: "image/jpeg".into(),
        backend: "fs".into(),
        key: format!("{}/{}", area.as_str(), sha.to_string().repeat(64)),
        area,
    }
}

fn error(code: &str) -> MediaJobError {
    MediaJobError {
        code: code.into(),
        message: format!("{code}, explained"),
    }
}

fn audit(roles: &Roles, n: i64) {
    roles
        .audit
        .append(&AuditEntry {
            at_ms: T0 + n,
            username: "admin".into(),
            address: "127.0.0.1".into(),
            action: "message.raw".into(),
            corp_id: CORP.into(),
            target: format!("m{n}"),
            detail: "{}".into(),
            outcome: AuditOutcome::Ok,
        })
        .expect("audit");
}

/// The first state: data in every table.
fn fill_first(roles: &Roles) {
    let quarantined = vec![
        wecom_wire::QuarantinedItem {
            seq: Some(1 << 63),
            raw: b"{\"seq\":9223372036854775808,\"raw\":\"\0\"}".to_vec(),
            reason: wecom_wire::QuarantineReason::ImplausibleSeq,
        },
        wecom_wire::QuarantinedItem {
            seq: None,
            raw: vec![0xff, 0x00, 0xfe],
            reason: wecom_wire::QuarantineReason::Unparseable("not UTF-8".into()),
        },
    ];
    commit(
        roles,
        vec![
            chat(1, "m1", "alice", &["bob"], "", T0, "hello"),
            chat(2, "m2", "alice", &[EXT], ROOM, T0 + 1, "with a \0 NUL"),
            failed(3, "f3", stage::RSA, 10007),
            unparsed(4, "f4", b"{not json"),
            media_image(5, "i5", T0 + 5, "sdk-5"),
            media_image(6, "i6", T0 + 6, "sdk-6"),
            media_image(7, "i7", T0 + 7, "sdk-7"),
            chat(8, "m8", "bob", &["alice"], "", T0 + 8, "bye"),
        ],
        quarantined,
    );
    // Media jobs in several states, with objects in both areas.
    let jobs = roles
        .media
        .claim_media_jobs(CORP, T0 + 100, i64::MIN, 2)
        .expect("claim");
    assert_eq!(jobs.len(), 2);
    roles
        .media
        .record_media_results(
            CORP,
            &[
                MediaJobResult {
                    job_id: jobs[0].id,
                    outcome: MediaJobOutcome::Done(object('a', MediaArea::Objects)),
                    md5_mismatches: 0,
                },
                MediaJobResult {
                    job_id: jobs[1].id,
                    outcome: MediaJobOutcome::Permanent {
                        error: error("md5_mismatch"),
                        quarantined: Some(object('b', MediaArea::Quarantine)),
                    },
                    md5_mismatches: 3,
                },
            ],
            T0 + 101,
        )
        .expect("results");
    // Names.
    discover(roles, T0 + 200);
    roles
        .directory
        .record_room(
            CORP,
            ROOM,
            &room("Room one", vec![member("alice", true), member(EXT, false)]),
            T0 + 201,
            T0 + 10_000,
        )
        .expect("room");
    roles
        .directory
        .record_person(
            CORP,
            "alice",
            &person("Alice", vec![1, 2]),
            T0 + 202,
            T0 + 10_000,
        )
        .expect("person");
    roles
        .directory
        .record_permit_users(CORP, &["alice".to_owned(), "bob".to_owned()], T0 + 203)
        .expect("permit");
    let subject = ConsentSubject::Room {
        roomid: ROOM.to_owned(),
    };
    roles
        .directory
        .record_consent(
            CORP,
            std::slice::from_ref(&subject),
            &[Consent {
                subject: subject.clone(),
                external_userid: EXT.to_owned(),
                status: ConsentStatus::Agree,
                status_change_time: 1_700_000_000,
                checked_at_ms: T0 + 204,
            }],
            T0 + 204,
        )
        .expect("consent");
    // Accounts and audit.
    let user = roles
        .accounts
        .create_user(
            &NewUser {
                username: "Admin".into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                role: Role::Admin,
                corps: vec![CORP.into()],
                scope: Scope::default(),
            },
            T0 + 300,
        )
        .expect("user");
    roles
        .accounts
        .create_user(
            &NewUser {
                username: "reviewer".into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                role: Role::Reviewer,
                corps: vec![CORP.into()],
                scope: Scope {
                    userids: vec!["alice".into()],
                    departments: vec![2],
                },
            },
            T0 + 301,
        )
        .expect("user");
    for token in ['1', '2'] {
        roles
            .accounts
            .create_session(&NewSession {
                token_sha256: token.to_string().repeat(64),
                user_id: user.id,
                now_ms: T0 + 302,
                expires_at_ms: T0 + 1_000_000,
                address: "127.0.0.1".into(),
            })
            .expect("session");
    }
    for n in 0..3 {
        audit(roles, n);
    }
}

/// The second state: rows appended, changed and deleted in many tables.
fn fill_second(roles: &Roles) {
    commit(
        roles,
        vec![
            // m1 gains a recall mark, m8 is quoted.
            recall(9, "r9", "alice", &["bob"], "", T0 + 9, "m1"),
            chat(
                10,
                "m10",
                "alice",
                &["bob"],
                "",
                T0 + 10,
                &archive_quote("bob", "bye", "ok"),
            ),
            media_image(11, "i11", T0 + 11, "sdk-11"),
        ],
        vec![wecom_wire::QuarantinedItem {
            seq: Some(1 << 63),
            raw: b"{\"seq\":9223372036854775808,\"raw\":\"\0\"}".to_vec(),
            reason: wecom_wire::QuarantineReason::ImplausibleSeq,
        }],
    );
    // f3 resolves: its failure is deleted, its message stored.
    let outcome = chat(3, "f3", "bob", &["alice"], "", T0 + 3, "late").outcome;
    roles
        .writer
        .resolve_failures(CORP, &[("f3".to_owned(), outcome)], T0 + 400)
        .expect("resolve");
    // A pending job changes state.
    let jobs = roles
        .media
        .claim_media_jobs(CORP, T0 + 401, i64::MIN, 1)
        .expect("claim");
    roles
        .media
        .record_media_results(
            CORP,
            &[MediaJobResult {
                job_id: jobs[0].id,
                outcome: MediaJobOutcome::Retry {
                    next_attempt_at_ms: T0 + 5_000,
                    error: error("timeout"),
                },
                md5_mismatches: 0,
            }],
            T0 + 402,
        )
        .expect("results");
    // The room is renamed and loses a member; a person changes departments; scope and consent.
    discover(roles, T0 + 403);
    roles
        .directory
        .record_room(
            CORP,
            ROOM,
            &room("Room renamed", vec![member("alice", false)]),
            T0 + 404,
            T0 + 20_000,
        )
        .expect("room");
    roles
        .directory
        .record_person(
            CORP,
            "alice",
            &person("Alice B", vec![3]),
            T0 + 405,
            T0 + 20_000,
        )
        .expect("person");
    roles
        .directory
        .record_permit_users(CORP, &["alice".to_owned()], T0 + 406)
        .expect("permit");
    let subject = ConsentSubject::Room {
        roomid: ROOM.to_owned(),
    };
    roles
        .directory
        .record_consent(CORP, std::slice::from_ref(&subject), &[], T0 + 407)
        .expect("consent");
    roles.writer.set_cursor(CORP, 20, true).expect("cursor");
    roles
        .accounts
        .touch_session(&"1".repeat(64), T0 + 408)
        .expect("touch");
    roles
        .accounts
        .revoke_session(&"2".repeat(64))
        .expect("revoke");
    for n in 3..5 {
        audit(roles, n);
    }
}

fn copy_all(source: &Path, schema: &TestSchema, batch: usize) -> CopyReport {
    copy_sqlite_to_postgres(source, &schema.options(), batch, false, &mut |_| {
        ControlFlow::Continue(())
    })
    .expect("copy")
}

fn assert_verified(source: &Path, schema: &TestSchema) {
    let checks = verify(source, &schema.options()).expect("verify");
    assert_eq!(checks.len(), TABLES.len());
    let bad: Vec<&TableCheck> = checks.iter().filter(|c| !c.matches()).collect();
    assert!(bad.is_empty(), "tables differ: {bad:#?}");
}

/// Every row of every table of the source, by table, keyed by primary key (as the target holds
/// them).
fn snapshot(path: &Path) -> HashMap<&'static str, HashMap<Vec<Val>, Vec<Val>>> {
    let conn = crate::sqlite::open_source(path).expect("open source");
    TABLES
        .iter()
        .map(|table| {
            let mut stmt = conn
                .prepare(&source_select(table, false, false))
                .expect("prepare");
            let mut rows = stmt.query([]).expect("query");
            let mut out = HashMap::new();
            while let Some(row) = rows.next().expect("row") {
                let values = source_row(table, row, path).expect("values");
                out.insert(key_of(table, &values), values);
            }
            (table.name, out)
        })
        .collect()
}

/// Per table: (rows new or changed, rows deleted) from `before` to `after`.
fn delta(
    before: &HashMap<&'static str, HashMap<Vec<Val>, Vec<Val>>>,
    after: &HashMap<&'static str, HashMap<Vec<Val>, Vec<Val>>>,
) -> HashMap<&'static str, (u64, u64)> {
    TABLES
        .iter()
        .map(|table| {
            let old = &before[table.name];
            let new = &after[table.name];
            let changed = new.iter().filter(|(k, v)| old.get(*k) != Some(*v)).count() as u64;
            let deleted = old.keys().filter(|k| !new.contains_key(*k)).count() as u64;
            (table.name, (changed, deleted))
        })
        .collect()
}

fn written(report: &CopyReport) -> HashMap<&'static str, (u64, u64)> {
    report
        .tables
        .iter()
        .map(|t| (t.table, (t.rows_written, t.rows_deleted)))
        .collect()
}

#[test]
fn every_table_is_copied_exactly_and_a_second_pass_copies_only_the_delta() {
    let src = source();
    fill_first(&src.roles);
    let first = snapshot(&src.path);
    for table in TABLES {
        assert!(
            !first[table.name].is_empty(),
            "the fixture fills table {}",
            table.name
        );
    }
    let schema = TestSchema::new();

    let mut lines = Vec::new();
    let report = copy_sqlite_to_postgres(&src.path, &schema.options(), 3, false, &mut |p| {
        lines.push(p.clone());
        ControlFlow::Continue(())
    })
    .expect("copy");
    assert_eq!(
        (report.pass, report.resumed, report.stopped),
        (1, false, false)
    );
    for table in TABLES {
        let rows = first[table.name].len() as u64;
        let copy = report
            .tables
            .iter()
            .find(|t| t.table == table.name)
            .expect("table copied");
        assert_eq!(
            (copy.rows_read, copy.rows_written, copy.rows_deleted),
            (rows, rows, 0)
        );
        let last = lines
            .iter()
            .rfind(|p| p.table == table.name)
            .expect("progress");
        assert!(last.done);
        assert_eq!((last.rows_read, last.rows_total), (rows, rows));
    }
    assert_verified(&src.path, &schema);

    // The NUL of a message text is stored as U+2400 and the digest agrees.
    let mut client = schema.client();
    let text: String = client
        .query_one("SELECT text FROM messages WHERE msgid = 'm2'", &[])
        .expect("m2")
        .get(0);
    assert!(
        text.contains('\u{2400}') && !text.contains('\0'),
        "{text:?}"
    );
    let sha: Vec<u8> = client
        .query_one(
            "SELECT raw_sha256 FROM quarantined_items WHERE seq IS NULL",
            &[],
        )
        .expect("item")
        .get(0);
    assert_eq!(sha, Sha256::digest([0xff, 0x00, 0xfe]).to_vec());

    // Nothing changed: nothing written.
    let again = copy_all(&src.path, &schema, 3);
    assert_eq!((again.pass, again.rows_written()), (2, 0));
    assert_verified(&src.path, &schema);

    // Appends, updates and deletes: exactly those are written.
    fill_second(&src.roles);
    let second = snapshot(&src.path);
    let expected = delta(&first, &second);
    for table in [
        "messages",
        "records",
        "failures",
        "media_jobs",
        "room_members",
        "room_names",
        "people",
        "person_departments",
        "permit_users",
        "consents",
        "cursors",
        "sessions",
        "audit_log",
        "quarantined_items",
        "feed_heads",
        "follower_positions",
    ] {
        assert_ne!(expected[table], (0, 0), "the second fill changes {table}");
    }
    let report = copy_all(&src.path, &schema, 3);
    assert_eq!(report.pass, 3);
    assert_eq!(written(&report), expected);
    assert_verified(&src.path, &schema);
}

#[test]
fn a_stopped_copy_resumes_after_its_last_batch() {
    let src = source();
    fill_first(&src.roles);
    let total: u64 = snapshot(&src.path).values().map(|t| t.len() as u64).sum();
    let schema = TestSchema::new();
    let mut batches = 0;
    let stopped = copy_sqlite_to_postgres(&src.path, &schema.options(), 2, false, &mut |_| {
        batches += 1;
        if batches == 4 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .expect("copy");
    assert!(stopped.stopped);
    let checks = verify(&src.path, &schema.options()).expect("verify");
    assert!(
        checks.iter().any(|c| !c.matches()),
        "a stopped copy is not complete"
    );

    let resumed = copy_all(&src.path, &schema, 2);
    assert!(resumed.resumed && !resumed.stopped);
    assert_eq!(resumed.pass, stopped.pass);
    // Every row was written once: the resumed run starts after the last committed batch.
    assert_eq!(stopped.rows_written() + resumed.rows_written(), total);
    assert_verified(&src.path, &schema);
}

#[test]
fn a_pass_resumed_after_the_source_changed_asks_for_a_restart() {
    let src = source();
    fill_first(&src.roles);
    let schema = TestSchema::new();
    // Stopped right after the records table (one batch).
    let stopped = copy_sqlite_to_postgres(&src.path, &schema.options(), 100, false, &mut |p| {
        assert_eq!(p.table, "records", "stops after the first table");
        ControlFlow::Break(())
    })
    .expect("copy");
    assert!(stopped.stopped);
    assert_eq!(stopped.tables.len(), 1);
    // The daemon stores more meanwhile: the resumed pass meets messages without their records.
    commit(
        &src.roles,
        vec![chat(20, "m20", "alice", &["bob"], "", T0 + 20, "new")],
        Vec::new(),
    );
    let err = copy_sqlite_to_postgres(&src.path, &schema.options(), 100, false, &mut |_| {
        ControlFlow::Continue(())
    })
    .expect_err("refused");
    assert!(err.to_string().contains("--restart"), "{err}");
    let report = copy_sqlite_to_postgres(&src.path, &schema.options(), 100, true, &mut |_| {
        ControlFlow::Continue(())
    })
    .expect("restarted");
    assert!(!report.resumed && !report.stopped);
    assert_eq!(report.pass, stopped.pass + 1);
    assert_verified(&src.path, &schema);
}

#[test]
fn identity_sequences_continue_after_the_copied_ids() {
    let src = source();
    fill_first(&src.roles);
    let schema = TestSchema::new();
    copy_all(&src.path, &schema, 100);
    let mut client = schema.client();
    for table in TABLES.iter().filter(|t| t.identity) {
        let max: i64 = client
            .query_one(&format!("SELECT max(id) FROM {}", table.name), &[])
            .expect("max")
            .get(0);
        let next: i64 = client
            .query_one(
                "SELECT nextval(pg_get_serial_sequence($1, 'id'))",
                &[&table.name],
            )
            .expect("nextval")
            .get(0);
        assert_eq!(next, max + 1, "{}", table.name);
    }
    // A user created through SQL after the copy gets the next id.
    let id: i64 = client
        .query_one(
            "INSERT INTO users (username, password_hash, role, corps, scope_userids, \
             scope_departments, created_at_ms, updated_at_ms, password_changed_at_ms) \
             VALUES ('new', 'x', 'admin', '[]', '[]', '[]', 0, 0, 0) RETURNING id",
            &[],
        )
        .expect("insert")
        .get(0);
    assert!(id > 2, "{id}");
}

#[test]
fn a_target_in_use_or_ahead_of_the_source_is_refused() {
    let src = source();
    fill_first(&src.roles);

    // A node holds a lease.
    let schema = TestSchema::new();
    PgStore::open(&schema.options()).expect("open");
    schema
        .client()
        .batch_execute(
            "INSERT INTO corp_leases VALUES ('c', 'node-1', 1, now(), now(), \
             now() + interval '1 hour')",
        )
        .expect("lease");
    let err = copy_sqlite_to_postgres(&src.path, &schema.options(), 10, false, &mut |_| {
        ControlFlow::Continue(())
    })
    .expect_err("refused");
    assert_eq!(err.kind(), StoreErrorKind::PermissionDenied);
    assert!(err.to_string().contains("node-1"), "{err}");

    // The target has records the source lacks.
    let schema = TestSchema::new();
    copy_all(&src.path, &schema, 10);
    schema
        .client()
        .batch_execute(
            "INSERT INTO audit_log VALUES (99, 0, '', '', 'x', '', '', '{}', 'ok', '', '')",
        )
        .expect("extra");
    let err = copy_sqlite_to_postgres(&src.path, &schema.options(), 10, false, &mut |_| {
        ControlFlow::Continue(())
    })
    .expect_err("refused");
    assert!(err.to_string().contains("audit_log"), "{err}");
    let checks = verify(&src.path, &schema.options()).expect("verify");
    let audit = checks
        .iter()
        .find(|c| c.table == "audit_log")
        .expect("audit");
    assert!(!audit.matches());
    assert_eq!((audit.source_rows, audit.target_rows), (3, 4));
}

#[test]
fn every_table_of_both_schemas_is_mapped() {
    let src = source();
    let conn = crate::sqlite::open_source(&src.path).expect("open");
    let sqlite = sqlite_tables(&conn, &src.path).expect("tables");
    assert_eq!(
        compare_schema(&sqlite, SQLITE_ONLY, &[], true),
        Vec::<String>::new()
    );

    let schema = TestSchema::new();
    let store = PgStore::open(&schema.options()).expect("open");
    let pg = store
        .read("test", |tx| Ok(postgres_tables(tx)?))
        .expect("tables");
    assert_eq!(
        compare_schema(&pg, POSTGRES_ONLY, POSTGRES_ONLY_COLUMNS, false),
        Vec::<String>::new()
    );

    // A table or a column added by a later migration and not mapped here is found.
    let mut forgotten = sqlite.clone();
    forgotten.push(("message_tags".to_owned(), vec!["corp_id".to_owned()]));
    forgotten
        .iter_mut()
        .find(|(name, _)| name == "messages")
        .expect("messages")
        .1
        .push("edited_at_ms".to_owned());
    assert_eq!(
        compare_schema(&forgotten, SQLITE_ONLY, &[], true),
        vec![
            "column messages.edited_at_ms is not handled".to_owned(),
            "table message_tags is not handled".to_owned()
        ]
    );
    let mut forgotten = pg;
    forgotten.retain(|(name, _)| name != "sessions");
    forgotten.push(("node_status".to_owned(), vec!["node".to_owned()]));
    assert_eq!(
        compare_schema(&forgotten, POSTGRES_ONLY, POSTGRES_ONLY_COLUMNS, false),
        vec![
            "table node_status is not handled".to_owned(),
            "table sessions is missing".to_owned()
        ]
    );
}

#[test]
fn a_source_table_not_mapped_stops_the_copy() {
    let src = source();
    {
        let conn = rusqlite::Connection::open(&src.path).expect("open");
        conn.execute_batch("CREATE TABLE message_tags (corp_id TEXT NOT NULL) STRICT")
            .expect("create");
    }
    let schema = TestSchema::new();
    let err = copy_sqlite_to_postgres(&src.path, &schema.options(), 10, false, &mut |_| {
        ControlFlow::Continue(())
    })
    .expect_err("refused");
    assert!(
        err.to_string()
            .contains("table message_tags is not handled"),
        "{err}"
    );
}

#[test]
fn canonical_encoding_is_unambiguous() {
    let mut a = Vec::new();
    for v in [Val::Text("ab".into()), Val::Text("c".into())] {
        v.encode(&mut a);
    }
    let mut b = Vec::new();
    for v in [Val::Text("a".into()), Val::Text("bc".into())] {
        v.encode(&mut b);
    }
    assert_ne!(a, b);
    let mut null = Vec::new();
    Val::Null.encode(&mut null);
    let mut empty = Vec::new();
    Val::Text(String::new()).encode(&mut empty);
    let mut blob = Vec::new();
    Val::Blob(Vec::new()).encode(&mut blob);
    assert!(null != empty && empty != blob && null != blob);
}
