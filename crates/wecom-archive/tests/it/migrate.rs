//! `migrate` end to end: a synced archive copied to PostgreSQL (a schema of its own on the test
//! server, `WECOM_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/test`), verified,
//! copied again with nothing to write, and refusals.

use crate::support::*;

fn test_url() -> String {
    std::env::var("WECOM_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema name of its own, dropped with everything in it at the end.
struct Schema(String);

impl Schema {
    fn new() -> Schema {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        Schema(format!("t_migrate_{}_{nanos}", std::process::id()))
    }

    fn client(&self) -> postgres::Client {
        let mut client = postgres::Client::connect(&test_url(), postgres::NoTls)
            .expect("connect to the test PostgreSQL");
        client
            .batch_execute(&format!("SET search_path TO \"{}\"", self.0))
            .expect("search_path");
        client
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&test_url(), postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.0));
        }
    }
}

#[test]
fn migrate_copies_a_synced_archive_exactly_and_a_second_run_copies_nothing() {
    let emu = TestEmulator::start(41, 300, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let o = run(&config, &["sync"]);
    assert!(o.status.success(), "sync: {}", stderr(&o));
    let schema = Schema::new();
    let url = test_url();
    let args = [
        "migrate",
        "--to",
        url.as_str(),
        "--schema",
        schema.0.as_str(),
        "--batch-rows",
        "100",
    ];

    let first = run(&config, &args);
    let out = stdout(&first);
    assert!(first.status.success(), "{out}\n{}", stderr(&first));
    assert!(
        out.contains("verified: every table holds the same rows"),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("records "))
        .unwrap_or_else(|| panic!("a verification line for records: {out}"));
    assert!(line.contains(" 300 ") && line.ends_with("ok"), "{line}");
    assert!(
        out.lines().any(|l| l.starts_with("audit_log ")),
        "every table is in the verification: {out}"
    );
    assert!(
        stderr(&first).contains("messages") && stderr(&first).contains("rows/s"),
        "progress lines: {}",
        stderr(&first)
    );
    let mut client = schema.client();
    let messages: i64 = client
        .query_one("SELECT count(*) FROM messages", &[])
        .expect("count")
        .get(0);
    let jobs: i64 = client
        .query_one("SELECT count(*) FROM media_jobs WHERE state = 'done'", &[])
        .expect("count")
        .get(0);
    assert_eq!(messages, 300);
    assert!(jobs > 0, "the synced media jobs are copied");

    let second = run(&config, &args);
    let out = stdout(&second);
    assert!(second.status.success(), "{out}\n{}", stderr(&second));
    assert!(out.contains(" 0 rows written"), "{out}");
    assert!(out.contains("verified"), "{out}");

    // The same configuration pointed at PostgreSQL (in a folder of its own, so its search index
    // is its own) answers `stats --json` and searches exactly as the SQLite archive does.
    let pg_dir = dir.path().join("pg");
    std::fs::create_dir_all(&pg_dir).expect("pg dir");
    let pg_config = pg_dir.join("wecom-archive.toml");
    let text = std::fs::read_to_string(&config)
        .expect("config")
        .replacen(
            "[archive]\npath = \"archive.db\"\n",
            &format!("[archive]\nurl = \"{url}\"\nschema = \"{}\"\n", schema.0),
            1,
        )
        .replacen(
            "dir = \"keys\"",
            &format!("dir = \"{}\"", dir.path().join("keys").display()),
            1,
        )
        .replacen(
            "dir = \"media\"",
            &format!("dir = \"{}\"", dir.path().join("media").display()),
            1,
        );
    assert!(text.contains("url = "), "{text}");
    std::fs::write(&pg_config, text).expect("write pg config");
    for c in [&config, &pg_config] {
        let o = run(c, &["index", "rebuild"]);
        assert!(o.status.success(), "index rebuild: {}", stderr(&o));
    }
    assert_eq!(
        stats(&pg_config),
        stats(&config),
        "stats --json on both archives"
    );
    for query in ["合同", "的", "会议"] {
        let args = ["search", query, "--json", "--all"];
        let (a, b) = (run(&config, &args), run(&pg_config, &args));
        assert_eq!(a.status.code(), b.status.code(), "{query}: {}", stderr(&b));
        assert_eq!(stdout(&a), stdout(&b), "search {query:?} on both archives");
        if query == "的" {
            assert!(
                stdout(&a).lines().count() > 10,
                "hits to compare: {}",
                stdout(&a)
            );
        }
    }

    // A target holding rows the source lacks is refused, naming the table; exit non-zero.
    client
        .batch_execute(
            "INSERT INTO audit_log VALUES (9999, 0, '', '', 'x', '', '', '{}', 'ok', '', '')",
        )
        .expect("extra row");
    let refused = run(&config, &args);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("audit_log"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn migrate_refuses_a_password_on_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = bin()
        .args([
            "migrate",
            "--to",
            "postgres://postgres:hunter2secret@127.0.0.1:5432/test",
            "--from",
        ])
        .arg(dir.path().join("archive.db"))
        .output()
        .expect("run");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("WECOM_ARCHIVE_DB_PASSWORD"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("hunter2secret") && !stdout(&o).contains("hunter2secret"));
}
