//! SQLite-specific tests: the conformance suite on both storage modes, plus what only a file-backed
//! SQLite store has (opening foreign files, migrations, pragmas, mid-commit failures).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use rusqlite::Connection;
use tempfile::TempDir;

use super::SqliteStore;
use super::migrate::{MIGRATIONS, latest_version};
use crate::conformance::{
    self, CORP, T0, archive_quote, chat, failed, recall, record, text, unparsed, wechat_quote,
};
use crate::{
    ArchiveReader, ArchiveWriter, Derived, IngestedRecord, Outcome, PageCommit, Roles,
    StoreErrorKind, stage,
};

fn temp_dir() -> TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path).expect("open store")
}

/// An in-memory archive with a fault injector (see [`conformance::Faulty`]).
fn faulty_in_memory() -> conformance::Faulty {
    faulty(
        Arc::new(SqliteStore::open_in_memory().expect("in-memory store")),
        None,
    )
}

/// A file archive in a folder of its own with a fault injector.
fn faulty_on_disk() -> conformance::Faulty {
    let dir = temp_dir();
    let store = Arc::new(open(&dir.path().join("archive.db")));
    faulty(store, Some(dir))
}

/// Makes the database itself fail when the message of `msgid` is inserted, as a full disk or an I/O
/// error would; a temporary trigger lives only on the writer connection.
fn faulty(store: Arc<SqliteStore>, dir: Option<TempDir>) -> conformance::Faulty {
    let writer = Arc::clone(&store);
    let fail_on = move |msgid: &str| {
        writer
            .conn()
            .execute_batch(&format!(
                "CREATE TEMP TRIGGER fail_on_{msgid} BEFORE INSERT ON main.messages \
                 WHEN NEW.msgid = '{msgid}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
            ))
            .expect("install failing trigger");
    };
    let roles = store.roles();
    let fixture = match dir {
        Some(dir) => conformance::Fixture::keeping(roles, dir),
        None => roles.into(),
    };
    (fixture, Box::new(fail_on))
}

/// A file archive in a folder of its own, removed with the fixture.
fn fresh_on_disk() -> conformance::Fixture {
    let dir = temp_dir();
    let roles = Arc::new(open(&dir.path().join("archive.db"))).roles();
    conformance::Fixture::keeping(roles, dir)
}

/// The same file on every call with the same `n`, in one folder for the whole test process.
fn reopened(n: u32) -> Roles {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(temp_dir);
    Arc::new(open(&dir.path().join(format!("reopen-{n}.db")))).roles()
}

/// The whole conformance suite, one test per check, on an in-memory archive.
mod in_memory {
    use super::*;

    const REOPEN: fn(u32) -> Roles = |n| reopened(n);

    crate::conformance_suite! {
        fresh: || Arc::new(SqliteStore::open_in_memory().expect("in-memory store")).roles(),
        faulty: faulty_in_memory,
        reopen: REOPEN,
    }
}

/// The whole conformance suite, one test per check, on archive files (readers on their own
/// read-only connections).
mod on_disk {
    use super::*;

    const REOPEN: fn(u32) -> Roles = |n| reopened(n + 100);

    crate::conformance_suite! {
        fresh: fresh_on_disk,
        faulty: faulty_on_disk,
        reopen: REOPEN,
    }
}

#[test]
fn open_creates_missing_parent_directories() {
    let dir = temp_dir();
    let path = dir.path().join("a/b/archive.db");
    open(&path).reader().ping().expect("ping");
    assert!(path.is_file());
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_by_name() {
    let dir = temp_dir();
    let path = dir.path().join("notes.db");
    std::fs::write(&path, "these are notes, not a database\n".repeat(200)).expect("write");
    let error = SqliteStore::open(&path).expect_err("not sqlite");
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{error}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("not a database"), "{message}");
    // Refusing must not have touched the file.
    let content = std::fs::read_to_string(&path).expect("read");
    assert!(content.starts_with("these are notes"));
}

#[test]
fn another_applications_database_is_refused() {
    let dir = temp_dir();
    let with_tables = dir.path().join("other.db");
    Connection::open(&with_tables)
        .and_then(|c| c.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY)"))
        .expect("other db");
    let error = SqliteStore::open(&with_tables).expect_err("foreign tables");
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{error}");
    assert!(
        error.to_string().contains("no schema_migrations"),
        "{error}"
    );

    let with_app_id = dir.path().join("other-app.db");
    Connection::open(&with_app_id)
        .and_then(|c| c.pragma_update(None, "application_id", 42))
        .expect("other db");
    let error = SqliteStore::open(&with_app_id).expect_err("foreign application id");
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{error}");
    assert!(error.to_string().contains("application_id 0x2a"), "{error}");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = temp_dir();
    let path = dir.path().join("archive.db");
    drop(open(&path));
    Connection::open(&path)
        .and_then(|c| {
            c.execute(
                "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (999, 'future', 0)",
                [],
            )
        })
        .expect("add a future migration");
    let error = SqliteStore::open(&path).expect_err("schema too new");
    assert_eq!(error.kind(), StoreErrorKind::SchemaTooNew, "{error}");
    let message = error.to_string();
    assert!(message.contains("999"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn migrations_are_numbered_from_one_and_applied_once() {
    for (i, m) in MIGRATIONS.iter().enumerate() {
        assert_eq!(
            m.version,
            i as i64 + 1,
            "migration {} is out of order",
            m.name
        );
    }
    let dir = temp_dir();
    let path = dir.path().join("archive.db");
    drop(open(&path));
    drop(open(&path));
    let conn = Connection::open(&path).expect("raw open");
    let versions: Vec<i64> = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("versions");
    assert_eq!(versions, (1..=latest_version()).collect::<Vec<_>>());
}

#[test]
fn durability_pragmas_are_set() {
    let dir = temp_dir();
    let store = open(&dir.path().join("archive.db"));
    let pragma = |name: &str| -> String {
        store
            .conn()
            .pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| format!("{v:?}"))
            .expect("pragma")
    };
    assert_eq!(pragma("journal_mode"), r#"Text("wal")"#);
    assert_eq!(pragma("synchronous"), "Integer(2)"); // FULL
    assert_eq!(pragma("foreign_keys"), "Integer(1)");
    assert_eq!(pragma("cache_size"), "Integer(-65536)");
    assert_eq!(
        pragma("application_id"),
        format!("Integer({})", super::migrate::APPLICATION_ID)
    );
}

#[test]
fn seq_is_stored_as_its_bit_pattern() {
    let store = SqliteStore::open_in_memory().expect("store");
    let page = PageCommit {
        records: vec![
            failed(196, "small", stage::NO_KEY, 10007),
            failed(u64::MAX, "max", stage::NO_KEY, 10007),
        ],
        cursor: u64::MAX,
        quarantined: Vec::new(),
    };
    store.commit_page(CORP, &page).expect("commit");
    let raw: Vec<i64> = store
        .conn()
        .prepare("SELECT seq FROM records ORDER BY msgid")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("raw seqs");
    // Readable as-is in SQL for every seq below 2^63; u64::MAX is -1.
    assert_eq!(raw, vec![-1, 196]);
}

#[test]
fn errors_name_what_was_being_done() {
    let store = SqliteStore::open_in_memory().expect("store");
    store
        .conn()
        .execute_batch("DROP TABLE cursors")
        .expect("break the schema");
    let error = store
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![],
                cursor: 1,
                quarantined: Vec::new(),
            },
        )
        .expect_err("no cursors table");
    assert_eq!(error.kind(), StoreErrorKind::Backend, "{error}");
    assert!(error.to_string().contains("moving the cursor"), "{error}");
}

#[test]
fn a_damaged_value_is_reported_as_corrupt() {
    let store = SqliteStore::open_in_memory().expect("store");
    store
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![unparsed(1, "m1", b"x")],
                cursor: 1,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    // A code no i32 can hold cannot have come from this store.
    store
        .conn()
        .execute("UPDATE failures SET code = 1 << 40", [])
        .expect("damage");
    let error = store.failed_records(CORP, 10).expect_err("out of range");
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{error}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Any bytes and any seqs come back exactly.
    #[test]
    fn any_plaintext_and_seq_round_trip(
        seqs in proptest::collection::btree_set(proptest::num::u64::ANY, 1..20),
        bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
    ) {
        let store = SqliteStore::open_in_memory().expect("store");
        let records = seqs
            .iter()
            .map(|&seq| unparsed(seq, &format!("m{seq}"), &bytes))
            .collect();
        let cursor = seqs.iter().copied().max().unwrap_or_default();
        store.commit_page(CORP, &PageCommit { records, cursor, quarantined: Vec::new()  }).expect("commit");
        let ids: Vec<u64> = store.reader().record_ids(CORP).expect("ids").into_iter().map(|(s, _)| s).collect();
        proptest::prop_assert_eq!(ids, seqs.iter().copied().collect::<Vec<_>>());
        proptest::prop_assert_eq!(store.reader().cursor(CORP).expect("cursor"), cursor);
        for seq in &seqs {
            let stored = store.reader().plaintext(CORP, &format!("m{seq}")).expect("plaintext");
            proptest::prop_assert_eq!(stored.as_deref(), Some(&bytes[..]));
        }
        let outcome = text(0, "m", 1, "x").outcome;
        let first = format!("m{}", seqs.iter().next().copied().unwrap_or_default());
        let resolved = store.resolve_failures(CORP, &[(first, outcome)], 1).expect("resolve");
        proptest::prop_assert_eq!(resolved.resolved, 1);
    }
}

// ---------------------------------------------------------------------------------------------
// Upgrading schema-1 archives

/// Writes records as schema 1 stored them (no derived columns), with SQL of that schema.
fn insert_v1(conn: &Connection, corp_id: &str, records: &[IngestedRecord]) {
    for r in records {
        let item = &r.item;
        conn.execute(
            "INSERT INTO records (corp_id, seq, msgid, publickey_ver, encrypt_random_key, \
             encrypt_chat_msg, fetched_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                corp_id,
                item.seq as i64,
                item.msgid,
                item.publickey_ver,
                item.encrypt_random_key,
                item.encrypt_chat_msg,
                r.fetched_at_ms
            ],
        )
        .expect("v1 record");
        match &r.outcome {
            Outcome::Decrypted {
                plaintext,
                envelope,
                ..
            } => conn
                .execute(
                    "INSERT INTO messages (corp_id, msgid, seq, action, from_id, tolist, roomid, \
                     msgtime, msgtype, json, plaintext) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    rusqlite::params![
                        corp_id,
                        item.msgid,
                        item.seq as i64,
                        envelope.action.as_str(),
                        envelope.from,
                        serde_json::Value::from(envelope.tolist.clone()).to_string(),
                        envelope.roomid,
                        envelope.msgtime,
                        envelope.msgtype,
                        envelope.json,
                        plaintext
                    ],
                )
                .expect("v1 message"),
            Outcome::Failed(f) => conn
                .execute(
                    "INSERT INTO failures (corp_id, msgid, seq, stage, code, reason, attempts, \
                     first_failed_at_ms, last_failed_at_ms, plaintext) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7, ?8)",
                    rusqlite::params![
                        corp_id,
                        item.msgid,
                        item.seq as i64,
                        f.stage,
                        f.code,
                        f.reason,
                        r.fetched_at_ms,
                        f.plaintext
                    ],
                )
                .expect("v1 failure"),
        };
    }
    let cursor = records.iter().map(|r| r.item.seq).max().unwrap_or_default();
    conn.execute(
        "INSERT INTO cursors (corp_id, seq, updated_at_ms) VALUES (?1, ?2, 0)",
        rusqlite::params![corp_id, cursor as i64],
    )
    .expect("v1 cursor");
}

/// Three batches' worth of chat in a few conversations, in time order, with recalls (one stored
/// before its original, one of a msgid never stored), quotes in both formats, and failures.
fn v1_corpus() -> Vec<IngestedRecord> {
    let convs: [(&str, &[&str], &str); 4] = [
        ("alice", &["bob"], ""),
        ("bob", &["alice"], ""),
        ("carol", &["alice", "dave"], "wrUpgrade"),
        ("dave", &["carol", "alice"], "wrUpgrade"),
    ];
    let mut records = Vec::new();
    let mut seq = 0;
    for i in 0..1300u64 {
        seq += 1;
        let t = T0 + i as i64 * 1_000;
        let (from, to, room) = convs[i as usize % 4];
        let r = match i % 50 {
            // Recalls of the message two rounds earlier in the same conversation.
            7 => recall(
                seq,
                &format!("r{i}"),
                from,
                to,
                room,
                t,
                &format!("m{}", i - 4),
            ),
            // Quotes of the previous message of the same conversation, both formats.
            13 => {
                let (prev_from, _, _) = convs[(i as usize - 4) % 4];
                chat(
                    seq,
                    &format!("m{i}"),
                    from,
                    to,
                    room,
                    t,
                    &archive_quote(prev_from, &format!("line {}", i - 4), "好的"),
                )
            }
            29 => {
                let (prev_from, _, _) = convs[(i as usize - 4) % 4];
                chat(
                    seq,
                    &format!("m{i}"),
                    from,
                    to,
                    room,
                    t,
                    &wechat_quote(prev_from, &format!("line {}", i - 4), "收到"),
                )
            }
            41 => failed(seq, &format!("m{i}"), stage::NO_KEY, 10007),
            _ => chat(
                seq,
                &format!("m{i}"),
                from,
                to,
                room,
                t,
                &format!("line {i}"),
            ),
        };
        records.push(r);
    }
    // A recall whose msgtime is earlier than its original's (clocks differ between devices), and
    // a recall of a msgid never stored.
    records.push(recall(
        seq + 1,
        "r_early",
        "bob",
        &["alice"],
        "",
        T0 + 5_000_000,
        "m_late",
    ));
    records.push(chat(
        seq + 2,
        "m_late",
        "bob",
        &["alice"],
        "",
        T0 + 5_000_001,
        "迟到的消息",
    ));
    records.push(recall(
        seq + 3,
        "r_ghost",
        "bob",
        &["alice"],
        "",
        T0 + 5_000_002,
        "ghost",
    ));
    records
}

fn count_sql(store: &SqliteStore, sql: &str) -> i64 {
    store
        .conn()
        .query_row(sql, [], |r| r.get(0))
        .expect("count")
}

/// Everything readable through the trait about `corp_id`, for comparing two stores.
fn everything(
    store: &SqliteStore,
    corp_id: &str,
    records: &[IngestedRecord],
) -> (
    crate::Stats,
    Vec<crate::ConversationSummary>,
    Vec<Option<crate::StoredMessage>>,
) {
    (
        store.reader().stats(corp_id).expect("stats"),
        store
            .reader()
            .conversations(corp_id, 1000, 0)
            .expect("conversations"),
        records
            .iter()
            .map(|r| {
                store
                    .reader()
                    .message(corp_id, &r.item.msgid)
                    .expect("message")
            })
            .collect(),
    )
}

#[test]
fn a_schema_1_archive_is_upgraded_by_deriving_every_message_again() {
    let dir = temp_dir();
    let path = dir.path().join("v1.db");
    let records = v1_corpus();
    // A message of a hand-built envelope whose JSON is not an envelope: derived from its columns.
    let hand_built = wecom_model::Envelope {
        msgid: "hand".into(),
        action: wecom_model::Action::Send,
        from: "erin".into(),
        tolist: vec!["frank".into()],
        roomid: String::new(),
        msgtime: T0,
        msgtype: Some("text".into()),
        json: "{}".into(),
    };
    let hand = record(
        9_999,
        "hand",
        Outcome::Decrypted {
            plaintext: b"{}".to_vec(),
            derived: Derived::from_envelope(&hand_built),
            envelope: hand_built,
        },
    );
    {
        let store = SqliteStore::open_with_max_migration(&path, 1).expect("v1 archive");
        insert_v1(&store.conn(), CORP, &records);
        insert_v1(
            &store.conn(),
            "wwother",
            &[records[0].clone(), hand.clone()],
        );
        assert_eq!(
            count_sql(&store, "SELECT max(version) FROM schema_migrations"),
            1
        );
    }

    let upgraded = open(&path);
    assert_eq!(
        count_sql(&upgraded, "SELECT max(version) FROM schema_migrations"),
        latest_version()
    );
    assert_eq!(
        count_sql(
            &upgraded,
            "SELECT count(*) FROM messages WHERE conversation IS NULL"
        ),
        0
    );

    // Exactly what a store of this build holds after committing the same records.
    let fresh = SqliteStore::open_in_memory().expect("store");
    let page = PageCommit {
        cursor: records.iter().map(|r| r.item.seq).max().unwrap_or_default(),
        records: records.clone(),
        quarantined: Vec::new(),
    };
    fresh.commit_page(CORP, &page).expect("commit");
    let expected = everything(&fresh, CORP, &records);
    let got = everything(&upgraded, CORP, &records);
    assert_eq!(got.0, expected.0);
    assert_eq!(got.1, expected.1);
    for (g, e) in got.2.iter().zip(&expected.2) {
        assert_eq!(g, e);
    }

    // And it is not an empty agreement: recalls are marked, quotes linked.
    let stats = &got.0;
    assert_eq!(
        stats.recalled, 27,
        "26 in time order, one before its original"
    );
    assert_eq!(stats.conversations, 2);
    let m = |id: &str| {
        upgraded
            .reader()
            .message(CORP, id)
            .expect("message")
            .expect(id)
    };
    assert_eq!(m("m3").recalled_by.as_deref(), Some("r7"));
    assert_eq!(m("m_late").recalled_by.as_deref(), Some("r_early"));
    assert_eq!(m("m13").quote_of.as_deref(), Some("m9"));
    assert_eq!(m("m29").quote_of.as_deref(), Some("m25"));
    assert_eq!(m("r_ghost").recall_of.as_deref(), Some("ghost"));
    assert_eq!(
        upgraded.failed_records(CORP, 100).expect("failed").len(),
        26
    );

    let hand = upgraded
        .reader()
        .message("wwother", "hand")
        .expect("message")
        .expect("hand");
    assert_eq!(hand.conversation, "pair:erin|frank");
    assert!(
        hand.warnings[0].starts_with("stored json is not readable as an envelope"),
        "{:?}",
        hand.warnings
    );
    assert_eq!(
        upgraded
            .reader()
            .stats("wwother")
            .expect("stats")
            .conversations,
        2
    );

    // The upgraded archive keeps working, links included.
    let upgraded = upgraded;
    upgraded
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![recall(
                    5_000,
                    "r_new",
                    "alice",
                    &["bob"],
                    "",
                    T0 + 6_000_000,
                    "m0",
                )],
                cursor: 5_000,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    assert_eq!(m_of(&upgraded, "m0").recalled_by.as_deref(), Some("r_new"));
}

fn m_of(store: &SqliteStore, msgid: &str) -> crate::StoredMessage {
    store
        .reader()
        .message(CORP, msgid)
        .expect("message")
        .expect(msgid)
}

#[test]
fn an_interrupted_upgrade_resumes_on_the_next_open() {
    let dir = temp_dir();
    let path = dir.path().join("v1.db");
    let records = v1_corpus();
    {
        let store = SqliteStore::open_with_max_migration(&path, 1).expect("v1 archive");
        insert_v1(&store.conn(), CORP, &records);
        // The upgrade fails when it reaches a message of the second batch, as a crash or a full
        // disk would stop it.
        store
            .conn()
            .execute_batch(
                "CREATE TRIGGER interrupt AFTER UPDATE OF conversation ON messages WHEN NEW.msgid = 'm700' \
                 BEGIN SELECT RAISE(ABORT, 'interrupted'); END",
            )
            .expect("trigger");
    }
    let error = SqliteStore::open(&path).expect_err("interrupted");
    assert!(
        error.to_string().contains("deriving stored messages"),
        "{error}"
    );
    {
        let conn = Connection::open(&path).expect("raw open");
        let pending: i64 = conn
            .query_row(
                "SELECT count(*) FROM messages WHERE conversation IS NULL",
                [],
                |r| r.get(0),
            )
            .expect("count");
        let total: i64 = conn
            .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
            .expect("count");
        assert!(
            0 < pending && pending < total,
            "{pending} of {total} pending"
        );
        conn.execute_batch("DROP TRIGGER interrupt").expect("drop");
    }

    let upgraded = open(&path);
    let fresh = SqliteStore::open_in_memory().expect("store");
    fresh
        .commit_page(
            CORP,
            &PageCommit {
                cursor: records.iter().map(|r| r.item.seq).max().unwrap_or_default(),
                records: records.clone(),
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    assert_eq!(
        everything(&upgraded, CORP, &records),
        everything(&fresh, CORP, &records)
    );
}

#[test]
fn hot_queries_use_their_indexes() {
    use super::{derive, links, read};
    let store = SqliteStore::open_in_memory().expect("store");
    let plan = |sql: &str| -> String {
        let conn = store.conn();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let nulls = vec![rusqlite::types::Value::Null; stmt.parameter_count()];
        let rows: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get(3))
            .and_then(|rows| rows.collect())
            .expect("plan");
        rows.join("; ")
    };
    let list = read::list_sql(&crate::ConversationFilter::default());
    let expect = [
        (derive::SELECT_UNDERIVED, "INDEX messages_underived"),
        (derive::SELECT_ANY_UNDERIVED, "INDEX messages_underived"),
        (links::SELECT_RECALL_OF, "INDEX messages_recall_of"),
        (
            links::SELECT_QUOTE_CANDIDATES,
            "INDEX messages_conversation",
        ),
        (list.as_str(), "INDEX conversations_recent"),
        (read::SELECT_SENDERS, "INDEX conversation_senders_top"),
        (read::SELECT_PAGE, "INDEX messages_conversation"),
        (read::SELECT_PAGE_AFTER, "INDEX messages_conversation"),
        (
            "SELECT count(*) FROM messages WHERE corp_id = ?1 AND recalled_by IS NOT NULL",
            "COVERING INDEX messages_recalled",
        ),
        (
            "SELECT count(*) FROM messages INDEXED BY messages_with_warnings WHERE corp_id = ?1 AND warnings IS NOT NULL",
            "INDEX messages_with_warnings",
        ),
    ];
    for (sql, index) in expect {
        let plan = plan(sql);
        assert!(plan.contains(index), "{sql}\n  uses: {plan}");
        assert!(
            !plan.contains("TEMP B-TREE FOR ORDER BY") || sql.contains("GROUP BY"),
            "{sql}\n  sorts: {plan}"
        );
    }
}

#[test]
fn read_side_queries_use_their_indexes() {
    use super::{media, read, summary};
    let store = SqliteStore::open_in_memory().expect("store");
    let plan = |sql: &str| -> String {
        let conn = store.conn();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let nulls = vec![rusqlite::types::Value::Null; stmt.parameter_count()];
        let rows: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get(3))
            .and_then(|rows| rows.collect())
            .expect("plan");
        rows.join("; ")
    };
    const PARTICIPANTS_PK: &str = "INDEX sqlite_autoindex_conversation_participants_1";
    const BY_PARTICIPANT: &str = "INDEX conversation_participants_by_participant";
    let filtered = read::select_filtered_conversations();
    let scoped = read::select_scoped_conversations();
    // (query, an index it must use, whether it may sort)
    let expect: [(&str, &str, bool); 13] = [
        (&scoped, BY_PARTICIPANT, true),
        (&filtered, BY_PARTICIPANT, false),
        (&filtered, "INDEX", false),
        (read::SELECT_PARTICIPANTS, PARTICIPANTS_PK, false),
        (read::COUNT_PARTICIPANTS, PARTICIPANTS_PK, false),
        (
            read::SELECT_PAGE_BEFORE,
            "INDEX messages_conversation",
            false,
        ),
        (read::SELECT_INVOLVES, BY_PARTICIPANT, false),
        (read::SELECT_INVOLVING, BY_PARTICIPANT, true),
        (
            read::SELECT_DEPARTMENT_MEMBERS,
            "INDEX sqlite_autoindex_person_departments_1",
            true,
        ),
        (
            media::SELECT_MESSAGES_MEDIA,
            "INDEX sqlite_autoindex_media_jobs_1",
            true,
        ),
        (
            media::SELECT_MEDIA_BY_SHA256,
            "INDEX media_jobs_sha256",
            true,
        ),
        (summary::MARK_EXTERNAL_OF_PARTICIPANT, BY_PARTICIPANT, false),
        (
            summary::MARK_EXTERNAL,
            "INDEX sqlite_autoindex_conversations_1",
            false,
        ),
    ];
    for (sql, index, may_sort) in expect {
        let plan = plan(sql);
        assert!(plan.contains(index), "{sql}\n  uses: {plan}");
        // Only the id list itself (`json_each`) is scanned.
        assert!(
            plan.split("; ")
                .all(|step| !step.starts_with("SCAN") || step.contains("json_each")),
            "{sql}\n  scans: {plan}"
        );
        assert!(
            may_sort || !plan.contains("TEMP B-TREE FOR ORDER BY"),
            "{sql}\n  sorts: {plan}"
        );
    }
    // The filtered list walks the recent-activity index or the participant's conversations.
    let plan = plan(&filtered);
    assert!(
        plan.contains("conversations_recent") || plan.contains("sqlite_autoindex_conversations_1"),
        "{plan}"
    );
}

#[test]
fn hot_media_queries_use_their_indexes() {
    use super::media;
    let store = SqliteStore::open_in_memory().expect("store");
    let plan = |sql: &str| -> String {
        let conn = store.conn();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let nulls = vec![rusqlite::types::Value::Null; stmt.parameter_count()];
        let rows: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get(3))
            .and_then(|rows| rows.collect())
            .expect("plan");
        rows.join("; ")
    };
    for (sql, index) in [
        (media::SELECT_DUE_INSIDE, "INDEX media_jobs_due"),
        (media::SELECT_DUE_PAST, "INDEX media_jobs_due"),
        (media::REQUEUE, "INDEX media_jobs_state"),
        (media::REQUEUE_CLOCK_EXPIRED, "INDEX media_jobs_state"),
        (media::STATE_COUNTS, "COVERING INDEX media_jobs_state"),
    ] {
        let plan = plan(sql);
        assert!(plan.contains(index), "{sql}\n  uses: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{sql}\n  sorts: {plan}");
    }
}

/// An archive written before the media queue gets a job for every media reference of its
/// messages on the first open after the upgrade — the same jobs a commit of this build creates —
/// and an interrupted backfill resumes without creating any twice.
#[test]
fn an_archive_written_before_the_queue_gets_the_jobs_of_its_messages() {
    let dir = temp_dir();
    let path = dir.path().join("v1.db");
    let records: Vec<IngestedRecord> = vec![
        conformance::media_image(1, "img", T0, "f1"),
        text(2, "txt", T0 + 1, "no media"),
        conformance::media_image(3, "img2", T0 + 2, "f2"),
    ];
    {
        let store = SqliteStore::open_with_max_migration(&path, 1).expect("v1 archive");
        insert_v1(&store.conn(), CORP, &records);
    }
    let jobs = |store: &SqliteStore| -> Vec<(String, String, String, i64, crate::MediaJobState)> {
        store
            .reader()
            .media_jobs(CORP, None, 0, 100)
            .expect("jobs")
            .into_iter()
            .map(|j| (j.msgid, j.path, j.sdkfileid, j.msgtime_ms, j.state))
            .collect()
    };
    let upgraded = open(&path);
    let fresh = SqliteStore::open_in_memory().expect("store");
    fresh
        .commit_page(
            CORP,
            &PageCommit {
                cursor: 3,
                records,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    assert_eq!(jobs(&upgraded).len(), 2);
    assert_eq!(jobs(&upgraded), jobs(&fresh));
    assert_eq!(
        count_sql(&upgraded, "SELECT count(*) FROM media_backfill"),
        0
    );

    // As if the backfill had stopped before recording its progress: it runs again, adds nothing.
    upgraded
        .conn()
        .execute(
            "INSERT INTO media_backfill (id, after_rowid) VALUES (1, 0)",
            [],
        )
        .expect("rewind");
    drop(upgraded);
    let again = open(&path);
    assert_eq!(jobs(&again), jobs(&fresh));
    assert_eq!(count_sql(&again, "SELECT count(*) FROM media_backfill"), 0);
}

#[test]
fn names_queries_use_their_indexes() {
    use super::names;
    let store = SqliteStore::open_in_memory().expect("store");
    let plan = |sql: &str| -> String {
        let conn = store.conn();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let nulls = vec![rusqlite::types::Value::Null; stmt.parameter_count()];
        let rows: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get(3))
            .and_then(|rows| rows.collect())
            .expect("plan");
        rows.join("; ")
    };
    let listing = |table: &str, id: &str| {
        format!(
            "SELECT {id}, name FROM {table} WHERE corp_id = ?1 {} LIMIT ?2 OFFSET ?3",
            names::listing_order(id)
        )
    };
    for (sql, index) in [
        // Followers read only the messages after their feed position.
        (
            super::read::SELECT_FEED.to_owned(),
            "INDEX messages_feed (corp_id=? AND feed_pos>?)",
        ),
        (
            names::SELECT_PAIRS.to_owned(),
            "COVERING INDEX messages_conversation",
        ),
        (
            names::due_sql("rooms", "roomid", "roomid", false),
            "INDEX rooms_due_new",
        ),
        (
            names::due_sql("rooms", "roomid", "roomid", true),
            "INDEX rooms_due_checked",
        ),
        (
            names::due_sql("people", "id", "id", false),
            "INDEX people_due_new",
        ),
        (
            names::due_sql("people", "id", "id", true),
            "INDEX people_due_checked",
        ),
        (listing("rooms", "roomid"), "INDEX rooms_listing"),
        (listing("people", "id"), "INDEX people_listing"),
        (
            format!(
                "SELECT {} FROM rooms WHERE corp_id = ?1",
                names::room_columns()
            ),
            "COVERING INDEX messages_conversation",
        ),
    ] {
        let plan = plan(&sql);
        assert!(plan.contains(index), "{sql}\n  uses: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{sql}\n  sorts: {plan}");
    }
    let plan = plan(names::SELECT_CONSENTS);
    for index in [
        "INDEX consents_subject_id",
        "INDEX consents_subject_external",
        "INDEX consents_contact",
    ] {
        assert!(plan.contains(index), "consents use {plan}");
    }
}

/// An archive written before 0009 (schema 8: messages, conversation summaries) gets the
/// participants and external flags of its conversations on the next open — the same a commit of
/// this build records, the external-id shape judged in Rust — and keeps them current after.
#[test]
fn an_archive_written_before_the_read_side_gets_its_participants() {
    use conformance::{EXT, ROBOT};
    let dir = temp_dir();
    let path = dir.path().join("v8.db");
    let records = vec![
        chat(1, "p1", "alice", &["bob"], "", T0 + 10, "a"),
        chat(2, "p2", "bob", &["alice", ""], "", T0 + 20, "b"),
        chat(3, "r1", "carol", &["dave"], "wrA", T0 + 30, "c"),
        chat(4, "r2", "dave", &["carol", EXT], "wrA", T0 + 40, "d"),
        chat(5, "x1_external", "erin", &["frank"], "", T0 + 50, "e"),
        chat(6, "b1", "carol", &[ROBOT], "wrBot", T0 + 60, "f"),
        // Looks external by prefix but is too short to be a generated id: an employee.
        chat(7, "w1", "wmeng", &["alice"], "", T0 + 70, "g"),
    ];
    let page = PageCommit {
        records: records.clone(),
        cursor: 7,
        quarantined: Vec::new(),
    };
    {
        // Written by this build, then taken back to what schema 8 had.
        let store = open(&path);
        store.commit_page(CORP, &page).expect("commit");
        store
            .conn()
            .execute_batch(
                "DROP TABLE conversation_participants; DROP TABLE external_backfill;
                 DROP TABLE person_departments; DROP INDEX media_jobs_sha256;
                 ALTER TABLE conversations DROP COLUMN external;
                 ALTER TABLE people DROP COLUMN departments;
                 DELETE FROM schema_migrations WHERE version = 9;",
            )
            .expect("back to schema 8");
    }
    let upgraded = open(&path);
    assert_eq!(
        count_sql(&upgraded, "SELECT count(*) FROM external_backfill"),
        0,
        "the Rust pass finished"
    );
    let fresh = SqliteStore::open_in_memory().expect("store");
    fresh.commit_page(CORP, &page).expect("commit");
    let list = |store: &SqliteStore| {
        store
            .reader()
            .conversation_list(CORP, &crate::ConversationFilter::default(), 100, 0)
            .expect("list")
    };
    let expected = list(&fresh);
    assert_eq!(list(&upgraded), expected);
    let external: Vec<(&str, bool)> = expected
        .iter()
        .map(|c| (c.key.as_str(), c.external))
        .collect();
    assert_eq!(
        external,
        [
            ("pair:alice|wmeng", false),
            ("room:wrBot", true),
            ("pair:erin|frank", true),
            ("room:wrA", true),
            ("pair:alice|bob", false),
        ]
    );
    assert_eq!(
        expected[4].participants,
        ["alice".to_owned(), "bob".to_owned()],
        "empty ids are no participants"
    );
    // Later pages keep them current.
    upgraded
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![chat(8, "p3", "alice", &["bob", EXT], "", T0 + 80, "h")],
                cursor: 8,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    let now = list(&upgraded);
    assert_eq!(now[0].key, format!("members:alice|bob|{EXT}"));
    assert!(now[0].external);
    assert_eq!(
        upgraded
            .reader()
            .conversations_involving(CORP, &[EXT.to_owned()])
            .expect("involving"),
        [format!("members:alice|bob|{EXT}"), "room:wrA".to_owned()]
    );
}

/// An archive written before names existed gets the new tables on the next open, and the first
/// discovery finds every message stored before, late ones included.
#[test]
fn an_archive_written_before_names_discovers_its_old_messages() {
    let dir = temp_dir();
    let path = dir.path().join("v3.db");
    {
        let store = SqliteStore::open_with_max_migration(&path, 3).expect("v3 archive");
        // Written as that build wrote it (this build's commit writes today's schema).
        insert_v1(
            &store.conn(),
            CORP,
            &[
                chat(1, "m1", "alice", &["bob"], "", T0, "x"),
                failed(2, "m2", stage::NO_KEY, 10007),
                chat(
                    3,
                    "m3",
                    "bob",
                    &["alice", "carol"],
                    "wrOldRoom",
                    T0 + 2,
                    "x",
                ),
            ],
        );
        assert_eq!(
            count_sql(
                &store,
                "SELECT count(*) FROM sqlite_schema WHERE name IN ('rooms', 'people')"
            ),
            0
        );
    }
    let store = open(&path);
    assert_eq!(
        count_sql(&store, "SELECT max(version) FROM schema_migrations"),
        latest_version()
    );
    let found = conformance::discover_step(&*store.reader(), &store, CORP, T0, 100);
    assert_eq!(
        (found.scanned, found.rooms_new, found.people_new),
        (2, 1, 3)
    );
    let room = store
        .reader()
        .room(CORP, "wrOldRoom")
        .expect("room")
        .expect("known");
    assert_eq!(room.entry.messages, 1);

    // The failure decrypts after the upgrade: found by the next discovery despite its low seq.
    let late = chat(2, "m2", "dave", &["alice"], "", T0 + 1, "late").outcome;
    store
        .resolve_failures(CORP, &[("m2".to_owned(), late)], T0)
        .expect("resolve");
    let found = conformance::discover_step(&*store.reader(), &store, CORP, T0 + 1, 100);
    assert_eq!(
        (found.scanned, found.rooms_new, found.people_new),
        (1, 0, 1)
    );
    assert!(
        store
            .reader()
            .person(CORP, "dave")
            .expect("person")
            .is_some()
    );
}

#[test]
fn a_read_only_store_reads_beside_a_writer_and_never_writes() {
    let dir = temp_dir();
    let path = dir.path().join("archive.db");
    let writer = open(&path);
    let page = PageCommit {
        records: vec![text(1, "m1", T0, "hello")],
        quarantined: Vec::new(),
        cursor: 1,
    };
    writer.commit_page(CORP, &page).expect("commit");
    // The writer holds a write transaction while the reader opens and reads.
    writer
        .conn()
        .execute_batch("BEGIN IMMEDIATE")
        .expect("hold the write lock");
    let reader = SqliteStore::open_read_only(&path).expect("read-only open beside a writer");
    assert_eq!(reader.cursor(CORP).expect("cursor"), 1);
    assert_eq!(reader.stats(CORP).expect("stats").records, 1);
    writer.conn().execute_batch("COMMIT").expect("release");
    // A reader has no write methods; below the trait, its connections refuse writes too.
    let error = reader
        .read_conn()
        .expect("a reader connection")
        .execute("DELETE FROM cursors", [])
        .expect_err("a read-only connection cannot write");
    assert!(error.to_string().contains("readonly"), "{error}");
    assert_eq!(writer.reader().cursor(CORP).expect("cursor"), 1);
}

/// A reader is never blocked by a write transaction: while a page commit holds the writer (its
/// transaction open, rows written but not committed), reads on other threads complete and see
/// the last committed state.
#[test]
fn readers_are_not_blocked_by_a_long_write_transaction() {
    let dir = temp_dir();
    let store = Arc::new(open(&dir.path().join("archive.db")));
    store
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![text(1, "m1", T0, "hello")],
                quarantined: Vec::new(),
                cursor: 1,
            },
        )
        .expect("commit");
    let roles = Arc::clone(&store).roles();
    // The "long" write: the writer's connection is held with an open write transaction.
    let writer = store.conn();
    writer
        .execute_batch(
            "BEGIN IMMEDIATE; \
             UPDATE cursors SET seq = 99; \
             INSERT INTO records (corp_id, seq, msgid, publickey_ver, encrypt_random_key, \
               encrypt_chat_msg, fetched_at_ms) VALUES ('wwconformance0001', 2, 'm2', 1, '', '', 0);",
        )
        .expect("an open write transaction");
    let (done, finished) = std::sync::mpsc::channel();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let reader = Arc::clone(&roles.reader);
            let done = done.clone();
            std::thread::spawn(move || {
                let seen = (
                    reader.cursor(CORP).expect("cursor"),
                    reader.stats(CORP).expect("stats").records,
                    reader
                        .conversations(CORP, 10, 0)
                        .expect("conversations")
                        .len(),
                );
                done.send(seen).expect("report");
            })
        })
        .collect();
    // Generous: this detects a reader that waits for the writer (it would wait forever, since
    // the write transaction stays open until every reader reported), not a speed.
    for _ in 0..4 {
        let seen = finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("a reader finished while the write transaction was open");
        assert_eq!(seen.0, 1, "the reader sees the committed cursor");
        assert_eq!(seen.1, 1, "the reader sees only committed records");
        assert_eq!(seen.2, 1, "the reader lists the committed conversation");
    }
    writer.execute_batch("ROLLBACK").expect("rollback");
    drop(writer);
    for reader in readers {
        reader.join().expect("reader thread");
    }
}

#[test]
fn a_read_only_open_creates_and_upgrades_nothing() {
    let dir = temp_dir();
    let missing = dir.path().join("missing.db");
    let error = SqliteStore::open_read_only(&missing).expect_err("missing file");
    assert_eq!(error.kind(), StoreErrorKind::Io, "{error}");
    assert!(error.to_string().contains("missing.db"), "{error}");
    assert!(!missing.exists(), "a reader must not create the archive");

    let old = dir.path().join("old.db");
    drop(SqliteStore::open_with_max_migration(&old, latest_version() - 1).expect("old archive"));
    let error = SqliteStore::open_read_only(&old).expect_err("an old schema is not upgraded");
    assert_eq!(error.kind(), StoreErrorKind::SchemaTooOld, "{error}");
    assert!(error.to_string().contains("wecom-archive sync"), "{error}");
}

#[test]
fn a_read_only_open_of_a_folder_without_shm_reads_the_file_as_it_is() {
    // What a read-only mount looks like to SQLite: no `-shm` and no way to create one. An
    // immutable open is forced here through the URI helper, then compared with a normal read.
    let dir = temp_dir();
    let path = dir.path().join("we ird?#%.db");
    let writer = open(&path);
    let page = PageCommit {
        records: vec![text(1, "m1", T0, "hello")],
        quarantined: Vec::new(),
        cursor: 1,
    };
    writer.commit_page(CORP, &page).expect("commit");
    drop(writer);
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(super::uri(&path, true), flags).expect("immutable open");
    let seq: i64 = conn
        .query_row("SELECT seq FROM cursors", [], |r| r.get(0))
        .expect("read through the escaped URI");
    assert_eq!(seq, 1);
}

/// Readers close before the writer, so the writer checkpoints the write-ahead log into the file
/// when the store is dropped: nothing of a run is left only in the log.
#[test]
fn dropping_the_store_checkpoints_the_log_after_reads() {
    let dir = temp_dir();
    let path = dir.path().join("archive.db");
    let roles = Arc::new(open(&path)).roles();
    roles
        .writer
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![text(1, "m1", T0, "hello")],
                quarantined: Vec::new(),
                cursor: 1,
            },
        )
        .expect("commit");
    assert_eq!(roles.reader.stats(CORP).expect("stats").records, 1);
    drop(roles);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let left = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(left, 0, "the log was not checkpointed");
}

#[test]
fn the_like_scan_takes_its_needle_literally() {
    let dir = temp_dir();
    let path = dir.path().join("a.db");
    let store = open(&path);
    let texts = ["100%保本", "100 保本", "a_b", "axb", "C:\\dir", "保本理财"];
    let records = texts
        .iter()
        .enumerate()
        .map(|(i, t)| conformance::text(i as u64 + 1, &format!("m{i}"), 1_700_000_000_000, t))
        .collect();
    let page = crate::PageCommit {
        records,
        quarantined: vec![],
        cursor: texts.len() as u64,
    };
    crate::ArchiveWriter::commit_page(&store, "c", &page).expect("commit");
    let reader = SqliteStore::open_read_only(&path).expect("reader");
    let hits = |needle: &str| reader.like_scan("c", needle).expect("scan");
    assert_eq!(hits("%保本"), vec![1]);
    assert_eq!(hits("a_b"), vec![3]);
    assert_eq!(hits("\\dir"), vec![5]);
    assert_eq!(hits("保本"), vec![1, 2, 6]);
    assert_eq!(hits("A_B"), vec![3], "ASCII case-insensitive");
    let mut all = Vec::new();
    reader
        .scan_texts("c", &mut |pos, text| all.push((pos, text.to_owned())))
        .expect("scan");
    assert_eq!(all.len(), texts.len());
    assert_eq!(all[4], (5, "C:\\dir".to_owned()));
}

fn audit_entry(i: i64) -> crate::AuditEntry {
    crate::AuditEntry {
        at_ms: T0 + i,
        username: "alice".to_owned(),
        address: "127.0.0.1".to_owned(),
        action: "search".to_owned(),
        corp_id: CORP.to_owned(),
        target: String::new(),
        detail: format!(r#"{{"query":"q{i}"}}"#),
        outcome: crate::AuditOutcome::Ok,
    }
}

/// An archive file with five audit entries, and the broken link `verify` reports after `tamper`
/// runs its SQL on a plain connection.
fn audit_after(tamper: &str) -> crate::ChainCheck {
    use crate::{AuditLog, AuditReader};
    let dir = temp_dir();
    let path = dir.path().join("archive.db");
    let store = open(&path);
    for i in 1..=5 {
        store.append(&audit_entry(i)).expect("append");
    }
    Connection::open(&path)
        .and_then(|c| c.execute_batch(tamper))
        .expect("tamper");
    store.verify().expect("verify")
}

#[test]
fn the_audit_log_refuses_updates_and_deletes() {
    use crate::{AuditLog, AuditReader};
    let dir = temp_dir();
    let path = dir.path().join("archive.db");
    let store = open(&path);
    store.append(&audit_entry(1)).expect("append");
    store.append(&audit_entry(2)).expect("append");
    let conn = Connection::open(&path).expect("raw open");
    for sql in [
        "UPDATE audit_log SET detail = '{}' WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 2",
        "DELETE FROM audit_log",
    ] {
        let error = conn.execute_batch(sql).expect_err(sql);
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    assert!(matches!(
        store.verify().expect("verify"),
        crate::ChainCheck::Intact { entries: 2, .. }
    ));
}

#[test]
fn verify_names_an_edited_entry() {
    let check = audit_after(
        "DROP TRIGGER audit_log_no_update; \
         UPDATE audit_log SET detail = '{\"query\":\"other\"}' WHERE seq = 3",
    );
    assert_eq!(
        check,
        crate::ChainCheck::Broken(crate::ChainBreak {
            seq: 3,
            reason: crate::BreakReason::Edited
        })
    );
}

#[test]
fn verify_names_a_deleted_entry() {
    let check =
        audit_after("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 2");
    assert_eq!(
        check,
        crate::ChainCheck::Broken(crate::ChainBreak {
            seq: 2,
            reason: crate::BreakReason::Missing { next_seq: 3 }
        })
    );
}

#[test]
fn verify_names_an_entry_rehashed_after_an_edit_and_a_renumbering() {
    // An edit whose hash is recomputed still breaks the next link.
    let edited = crate::chain_hash(
        "0000000000000000000000000000000000000000000000000000000000000000",
        1,
        &crate::AuditEntry {
            username: "mallory".to_owned(),
            ..audit_entry(1)
        },
    );
    let check = audit_after(&format!(
        "DROP TRIGGER audit_log_no_update; \
         UPDATE audit_log SET username = 'mallory', hash = '{edited}' WHERE seq = 1"
    ));
    assert_eq!(
        check,
        crate::ChainCheck::Broken(crate::ChainBreak {
            seq: 2,
            reason: crate::BreakReason::Unlinked
        })
    );
    // Deleting an entry and renumbering the ones after it: their hashes cover their seq.
    let check = audit_after(
        "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; \
         DELETE FROM audit_log WHERE seq = 2; UPDATE audit_log SET seq = seq - 1 WHERE seq > 2",
    );
    assert_eq!(
        check,
        crate::ChainCheck::Broken(crate::ChainBreak {
            seq: 2,
            reason: crate::BreakReason::Edited
        })
    );
}

#[test]
fn a_read_only_open_lists_users_and_verifies_the_audit_log_beside_the_writer() {
    use crate::{Accounts, AuditLog, StoreLocation};
    let dir = temp_dir();
    let path = dir.path().join("archive.db");
    let store = open(&path);
    store.append(&audit_entry(1)).expect("append");
    store
        .create_user(
            &crate::NewUser {
                username: "alice".to_owned(),
                password_hash: "$argon2id$x".to_owned(),
                role: crate::Role::Admin,
                corps: vec![CORP.to_owned()],
                scope: crate::Scope::default(),
            },
            T0,
        )
        .expect("create");
    let location = StoreLocation::Sqlite(path.clone());
    let audit = crate::open_audit_reader(&location).expect("audit reader");
    let accounts = crate::open_accounts_reader(&location).expect("accounts reader");
    store
        .append(&audit_entry(2))
        .expect("append while a reader is open");
    assert!(matches!(
        audit.verify().expect("verify"),
        crate::ChainCheck::Intact { entries: 2, .. }
    ));
    assert_eq!(
        accounts
            .user_by_name("ALICE")
            .expect("read")
            .map(|u| u.username),
        Some("alice".to_owned())
    );
}

#[test]
fn account_and_audit_queries_use_their_indexes() {
    let store = SqliteStore::open_in_memory().expect("store");
    let plan = |sql: &str| -> String {
        let conn = store.conn();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let nulls = vec![rusqlite::types::Value::Null; stmt.parameter_count()];
        let rows: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get(3))
            .and_then(|rows| rows.collect())
            .expect("plan");
        rows.join("; ")
    };
    for (sql, index) in [
        (
            "SELECT * FROM users WHERE username = ?1",
            "INDEX sqlite_autoindex_users_1",
        ),
        (
            "SELECT * FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = ?1",
            "INDEX sqlite_autoindex_sessions_1",
        ),
        (
            "UPDATE sessions SET revoked = 1 WHERE user_id = ?1 AND revoked = 0",
            "INDEX sessions_user",
        ),
        (
            "SELECT * FROM audit_log WHERE seq > ?1 AND username COLLATE NOCASE = ?2 \
             ORDER BY seq LIMIT ?3",
            "INDEX audit_log_user",
        ),
        (
            "SELECT * FROM audit_log WHERE seq > ?1 AND action = ?2 ORDER BY seq LIMIT ?3",
            "INDEX audit_log_action",
        ),
    ] {
        let plan = plan(sql);
        assert!(plan.contains(index), "{sql}\n  uses: {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{sql}\n  sorts: {plan}");
    }
}
