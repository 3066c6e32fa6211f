//! `user` and `audit`: accounts of the HTTP API created and changed on the command line, every
//! change in the hash-chained audit log, and `audit verify` naming an entry edited behind the
//! triggers' back.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::support::{CORP, bin, stderr, stdout};

/// A configuration with one corp whose API is never called, in `dir`.
fn config(dir: &Path) -> PathBuf {
    let path = dir.join("wecom-archive.toml");
    std::fs::write(
        &path,
        format!(
            "[archive]\npath = \"archive.db\"\n\n[corp]\ncorp_id = \"{CORP}\"\nsecret = \"s\"\n\
             base_url = \"http://127.0.0.1:9\"\n"
        ),
    )
    .expect("write config");
    path
}

/// Runs the binary as OS user `tester` with `input` on stdin.
fn run_in(config: &Path, args: &[&str], input: &str) -> Output {
    let mut child = bin()
        .arg("--config")
        .arg(config)
        .args(args)
        .env("USER", "tester")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // A command that refuses its arguments exits without reading stdin: the pipe may then be
    // closed before (or while) the input is written, which is not the test's failure.
    let written = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    child.wait_with_output().expect("wait")
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(o),
        stderr(o)
    );
    stdout(o)
}

fn users(config: &Path) -> Vec<serde_json::Value> {
    ok(&run_in(config, &["user", "list", "--json"], ""))
        .lines()
        .map(|l| serde_json::from_str(l).expect("user json"))
        .collect()
}

fn audit(config: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["audit", "list", "--json"];
    all.extend_from_slice(args);
    ok(&run_in(config, &all, ""))
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit json"))
        .collect()
}

fn stored_hash(db: &Path, name: &str) -> String {
    rusqlite::Connection::open(db)
        .expect("open")
        .query_row(
            "SELECT password_hash FROM users WHERE username = ?1",
            [name],
            |r| r.get(0),
        )
        .expect("hash")
}

const PASSWORD: &str = "a long enough password";
const NEW_PASSWORD: &str = "another long password";

#[test]
fn users_are_added_listed_disabled_and_given_new_passwords() {
    let dir = tempfile::tempdir().expect("dir");
    let config = config(dir.path());
    let db = dir.path().join("archive.db");

    let out = ok(&run_in(
        &config,
        &[
            "user",
            "add",
            "alice",
            "--role",
            "admin",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    ));
    assert!(out.contains("user alice added"), "{out}");
    ok(&run_in(
        &config,
        &[
            "user",
            "add",
            "rita",
            "--role",
            "reviewer",
            "--scope-user",
            "zhangsan",
            "--scope-department",
            "7",
            "--password-stdin",
        ],
        PASSWORD,
    ));

    let listed = users(&config);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["username"], "alice");
    assert_eq!(listed[0]["role"], "admin");
    assert_eq!(listed[0]["corps"], serde_json::json!([CORP]));
    assert_eq!(listed[0]["disabled"], false);
    assert_eq!(listed[1]["username"], "rita");
    assert_eq!(listed[1]["scope_users"], serde_json::json!(["zhangsan"]));
    assert_eq!(listed[1]["scope_departments"], serde_json::json!([7]));
    let text = ok(&run_in(&config, &["user", "list"], ""));
    assert!(text.contains("alice") && text.contains("enabled"), "{text}");
    for shown in [text, ok(&run_in(&config, &["user", "list", "--json"], ""))] {
        assert!(
            !shown.contains("argon2") && !shown.contains(PASSWORD),
            "{shown}"
        );
    }

    // The trailing newline is not part of the password.
    let first = stored_hash(&db, "alice");
    assert!(wecom_accounts::verify_password(PASSWORD, &first).expect("verify"));

    ok(&run_in(&config, &["user", "disable", "ALICE"], ""));
    assert_eq!(users(&config)[0]["disabled"], true);
    assert!(ok(&run_in(&config, &["user", "list"], "")).contains("disabled"));
    ok(&run_in(&config, &["user", "enable", "alice"], ""));
    assert_eq!(users(&config)[0]["disabled"], false);

    // A live session of alice's ends with the password change.
    {
        use wecom_store::{Accounts as _, AccountsReader as _};
        let store = wecom_store::SqliteStore::open(&db).expect("open");
        let alice = store.user_by_name("alice").expect("read").expect("alice");
        let token = wecom_accounts::SessionToken::generate();
        store
            .create_session(&wecom_store::NewSession {
                token_sha256: token.sha256.clone(),
                user_id: alice.id,
                now_ms: 1,
                expires_at_ms: i64::MAX,
                address: "127.0.0.1".to_owned(),
            })
            .expect("session");
    }
    let out = ok(&run_in(
        &config,
        &["user", "passwd", "alice", "--password-stdin"],
        NEW_PASSWORD,
    ));
    assert!(out.contains("1 session(s) ended"), "{out}");
    let second = stored_hash(&db, "alice");
    assert!(wecom_accounts::verify_password(NEW_PASSWORD, &second).expect("verify"));
    assert!(!wecom_accounts::verify_password(PASSWORD, &second).expect("verify"));
    let revoked: bool = rusqlite::Connection::open(&db)
        .expect("open")
        .query_row("SELECT revoked FROM sessions", [], |r| r.get(0))
        .expect("session");
    assert!(revoked);

    let entries = audit(&config, &[]);
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        [
            "user.add",
            "user.add",
            "user.disable",
            "user.enable",
            "user.passwd"
        ]
    );
    for e in &entries {
        assert_eq!(e["username"], "cli:tester");
        assert_eq!(e["outcome"], "ok");
    }
    assert_eq!(entries[0]["target"], "alice");
    assert_eq!(
        entries[1]["detail"]["scope_users"],
        serde_json::json!(["zhangsan"])
    );
    assert_eq!(entries[4]["detail"]["sessions_revoked"], 1);
    let only = audit(&config, &["--action", "user.add", "--user", "CLI:TESTER"]);
    assert_eq!(only.len(), 2);
    assert!(audit(&config, &["--since", "2999-01-01"]).is_empty());
    let log = ok(&run_in(&config, &["audit", "list"], ""));
    assert!(
        !log.contains("argon2") && !log.contains(NEW_PASSWORD),
        "{log}"
    );
}

#[test]
fn a_taken_name_a_weak_password_and_bad_scopes_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let config = config(dir.path());
    ok(&run_in(
        &config,
        &[
            "user",
            "add",
            "alice",
            "--role",
            "auditor",
            "--password-stdin",
        ],
        PASSWORD,
    ));

    let dup = run_in(
        &config,
        &[
            "user",
            "add",
            "ALICE",
            "--role",
            "admin",
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert_eq!(dup.status.code(), Some(1), "{}", stderr(&dup));
    assert!(stderr(&dup).contains("already exists"), "{}", stderr(&dup));

    let weak = run_in(
        &config,
        &["user", "add", "bob", "--role", "admin", "--password-stdin"],
        "short-pw",
    );
    assert_eq!(weak.status.code(), Some(2), "{}", stderr(&weak));
    assert!(stderr(&weak).contains("at least 12"), "{}", stderr(&weak));
    assert!(!stderr(&weak).contains("short-pw"));
    let weak = run_in(
        &config,
        &["user", "passwd", "alice", "--password-stdin"],
        "",
    );
    assert_eq!(weak.status.code(), Some(2), "{}", stderr(&weak));

    for args in [
        // A reviewer needs a scope; others take none.
        &[
            "user",
            "add",
            "rita",
            "--role",
            "reviewer",
            "--password-stdin",
        ][..],
        &[
            "user",
            "add",
            "bob",
            "--role",
            "admin",
            "--scope-user",
            "x",
            "--password-stdin",
        ],
        &[
            "user",
            "add",
            "bob",
            "--role",
            "admin",
            "--corp-id",
            "wwnotconfigured",
            "--password-stdin",
        ],
        &[
            "user",
            "add",
            "bad name",
            "--role",
            "admin",
            "--password-stdin",
        ],
        // No password argument, and no default one.
        &["user", "add", "bob", "--role", "admin"],
    ] {
        let o = run_in(&config, args, PASSWORD);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    let missing = run_in(&config, &["user", "disable", "nobody"], "");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no user named"),
        "{}",
        stderr(&missing)
    );

    let names: Vec<String> = users(&config)
        .iter()
        .map(|u| u["username"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names, ["alice"]);
    let outcomes: Vec<(String, String)> = audit(&config, &[])
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action").to_owned(),
                e["outcome"].as_str().expect("outcome").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("user.add".to_owned(), "ok".to_owned()),
            ("user.add".to_owned(), "failed".to_owned()),
            ("user.disable".to_owned(), "failed".to_owned()),
        ]
    );
}

#[test]
fn audit_verify_holds_after_commands_and_names_an_edited_entry() {
    let dir = tempfile::tempdir().expect("dir");
    let config = config(dir.path());
    let db = dir.path().join("archive.db");
    ok(&run_in(
        &config,
        &[
            "user",
            "add",
            "alice",
            "--role",
            "admin",
            "--password-stdin",
        ],
        PASSWORD,
    ));
    ok(&run_in(&config, &["user", "disable", "alice"], ""));
    ok(&run_in(&config, &["user", "enable", "alice"], ""));
    let out = ok(&run_in(&config, &["audit", "verify"], ""));
    assert!(out.contains("intact: 3 entries"), "{out}");

    let conn = rusqlite::Connection::open(&db).expect("open");
    let refused = conn.execute("UPDATE audit_log SET target = 'mallory' WHERE seq = 2", []);
    assert!(refused.is_err(), "the trigger refuses edits");
    conn.execute_batch(
        "DROP TRIGGER audit_log_no_update; \
         UPDATE audit_log SET target = 'mallory' WHERE seq = 2",
    )
    .expect("edit behind the trigger's back");
    drop(conn);

    let broken = run_in(&config, &["audit", "verify"], "");
    assert_eq!(broken.status.code(), Some(5), "{}", stderr(&broken));
    assert!(
        stdout(&broken).contains("BROKEN at entry 2"),
        "{}",
        stdout(&broken)
    );
    assert!(
        stderr(&broken).contains("entry 2 was edited"),
        "{}",
        stderr(&broken)
    );
    let json = run_in(&config, &["audit", "verify", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v["intact"], false);
    assert_eq!(v["broken_seq"], 2);
}
