//! SQLite-specific tests: the conformance suite on both storage modes, plus what only a file-backed
//! SQLite store has (opening foreign files, migrations, pragmas, mid-commit failures).

use std::path::Path;

use rusqlite::Connection;
use tempfile::TempDir;

use super::SqliteStore;
use super::migrate::{MIGRATIONS, latest_version};
use crate::conformance::{self, CORP, failed, text, unparsed};
use crate::{ArchiveStore, PageCommit, StoreErrorKind, stage};

fn temp_dir() -> TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path).expect("open store")
}

#[test]
fn in_memory_store_conforms() {
    conformance::run_all(&mut || SqliteStore::open_in_memory().expect("in-memory store"));
}

#[test]
fn on_disk_store_conforms() {
    let dir = temp_dir();
    let mut n = 0;
    conformance::run_all(&mut || {
        n += 1;
        open(&dir.path().join(format!("archive-{n}.db")))
    });
}

/// Makes the database itself fail when the message of `msgid` is inserted, as a full disk or an I/O
/// error would; a temporary trigger lives only on this connection.
fn fail_on(store: &mut SqliteStore, msgid: &str) {
    store
        .conn
        .execute_batch(&format!(
            "CREATE TEMP TRIGGER fail_on_{msgid} BEFORE INSERT ON main.messages \
             WHEN NEW.msgid = '{msgid}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        ))
        .expect("install failing trigger");
}

#[test]
fn in_memory_store_is_atomic() {
    conformance::run_atomicity(
        &mut || SqliteStore::open_in_memory().expect("in-memory store"),
        &mut fail_on,
    );
}

#[test]
fn on_disk_store_is_atomic() {
    let dir = temp_dir();
    let mut n = 0;
    conformance::run_atomicity(
        &mut || {
            n += 1;
            open(&dir.path().join(format!("archive-{n}.db")))
        },
        &mut fail_on,
    );
}

#[test]
fn on_disk_store_keeps_everything_across_reopen() {
    let dir = temp_dir();
    let path = dir.path().join("archive.db");
    conformance::run_reopen(&mut || open(&path));
}

#[test]
fn open_creates_missing_parent_directories() {
    let dir = temp_dir();
    let path = dir.path().join("a/b/archive.db");
    open(&path).ping().expect("ping");
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
            .conn
            .pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0))
            .map(|v| format!("{v:?}"))
            .expect("pragma")
    };
    assert_eq!(pragma("journal_mode"), r#"Text("wal")"#);
    assert_eq!(pragma("synchronous"), "Integer(2)"); // FULL
    assert_eq!(pragma("foreign_keys"), "Integer(1)");
    assert_eq!(
        pragma("application_id"),
        format!("Integer({})", super::migrate::APPLICATION_ID)
    );
}

#[test]
fn seq_is_stored_as_its_bit_pattern() {
    let mut store = SqliteStore::open_in_memory().expect("store");
    let page = PageCommit {
        records: vec![
            failed(196, "small", stage::NO_KEY, 10007),
            failed(u64::MAX, "max", stage::NO_KEY, 10007),
        ],
        cursor: u64::MAX,
    };
    store.commit_page(CORP, &page).expect("commit");
    let raw: Vec<i64> = store
        .conn
        .prepare("SELECT seq FROM records ORDER BY msgid")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("raw seqs");
    // Readable as-is in SQL for every seq below 2^63; u64::MAX is -1.
    assert_eq!(raw, vec![-1, 196]);
}

#[test]
fn errors_name_what_was_being_done() {
    let mut store = SqliteStore::open_in_memory().expect("store");
    store
        .conn
        .execute_batch("DROP TABLE cursors")
        .expect("break the schema");
    let error = store
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![],
                cursor: 1,
            },
        )
        .expect_err("no cursors table");
    assert_eq!(error.kind(), StoreErrorKind::Backend, "{error}");
    assert!(error.to_string().contains("moving the cursor"), "{error}");
}

#[test]
fn a_damaged_value_is_reported_as_corrupt() {
    let mut store = SqliteStore::open_in_memory().expect("store");
    store
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![unparsed(1, "m1", b"x")],
                cursor: 1,
            },
        )
        .expect("commit");
    // A code no i32 can hold cannot have come from this store.
    store
        .conn
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
        let mut store = SqliteStore::open_in_memory().expect("store");
        let records = seqs
            .iter()
            .map(|&seq| unparsed(seq, &format!("m{seq}"), &bytes))
            .collect();
        let cursor = seqs.iter().copied().max().unwrap_or_default();
        store.commit_page(CORP, &PageCommit { records, cursor }).expect("commit");
        let ids: Vec<u64> = store.record_ids(CORP).expect("ids").into_iter().map(|(s, _)| s).collect();
        proptest::prop_assert_eq!(ids, seqs.iter().copied().collect::<Vec<_>>());
        proptest::prop_assert_eq!(store.cursor(CORP).expect("cursor"), cursor);
        for seq in &seqs {
            let stored = store.plaintext(CORP, &format!("m{seq}")).expect("plaintext");
            proptest::prop_assert_eq!(stored.as_deref(), Some(&bytes[..]));
        }
        let outcome = text(0, "m", 1, "x").outcome;
        let first = format!("m{}", seqs.iter().next().copied().unwrap_or_default());
        let resolved = store.resolve_failures(CORP, &[(first, outcome)], 1).expect("resolve");
        proptest::prop_assert_eq!(resolved.resolved, 1);
    }
}
