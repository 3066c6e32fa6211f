//! PostgreSQL-specific tests: the conformance suite, each check in a schema of its own on the
//! machine's PostgreSQL (`WECOM_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/test`),
//! plus what only this backend has.

use std::sync::Arc;

use super::{PgOptions, PgStore};
use crate::conformance;
use crate::{Roles, StoreErrorKind};

pub(crate) mod support {
    use super::*;

    /// The server the tests use.
    pub(crate) fn test_url() -> String {
        std::env::var("WECOM_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    /// A schema of its own, dropped (with everything in it) when the guard is dropped.
    pub(crate) struct TestSchema {
        pub(crate) name: String,
    }

    impl TestSchema {
        pub(crate) fn new() -> TestSchema {
            use std::sync::atomic::{AtomicU64, Ordering};
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let name = format!(
                "t_store_{}_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0)
            );
            TestSchema { name }
        }

        pub(crate) fn options(&self) -> PgOptions {
            PgOptions {
                schema: Some(self.name.clone()),
                pool_size: 4,
                ..PgOptions::new(test_url())
            }
        }

        /// A plain connection to the test database, outside any pool.
        pub(crate) fn client(&self) -> postgres::Client {
            let mut client = postgres::Client::connect(&test_url(), postgres::NoTls)
                .expect("connect to the test PostgreSQL (is it running? see README: Tests)");
            client
                .batch_execute(&format!("SET search_path TO \"{}\"", self.name))
                .expect("set search_path");
            client
        }
    }

    impl Drop for TestSchema {
        fn drop(&mut self) {
            if let Ok(mut client) = postgres::Client::connect(&test_url(), postgres::NoTls) {
                let _ = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
            }
        }
    }

    /// A fresh archive in a schema of its own.
    pub(crate) fn fresh() -> conformance::Fixture {
        let schema = TestSchema::new();
        let store = Arc::new(PgStore::open(&schema.options()).expect("open the PostgreSQL store"));
        conformance::Fixture::keeping(store.roles(), schema)
    }

    /// A fresh archive whose database refuses the message of `msgid` once asked (a trigger).
    pub(crate) fn faulty() -> conformance::Faulty {
        let schema = TestSchema::new();
        let store = Arc::new(PgStore::open(&schema.options()).expect("open the PostgreSQL store"));
        let name = schema.name.clone();
        let fail_on = move |msgid: &str| {
            let mut client =
                postgres::Client::connect(&test_url(), postgres::NoTls).expect("connect");
            let msgid = msgid.replace('\'', "''");
            client
                .batch_execute(&format!(
                    "SET search_path TO \"{name}\";
                     CREATE OR REPLACE FUNCTION fail_on_message() RETURNS trigger
                     LANGUAGE plpgsql AS $$
                     BEGIN
                         IF NEW.msgid IN (SELECT msgid FROM failing_msgids) THEN
                             RAISE EXCEPTION 'injected failure';
                         END IF;
                         RETURN NEW;
                     END $$;
                     CREATE TABLE IF NOT EXISTS failing_msgids (msgid TEXT PRIMARY KEY);
                     INSERT INTO failing_msgids VALUES ('{msgid}') ON CONFLICT DO NOTHING;
                     DROP TRIGGER IF EXISTS fail_on_message ON messages;
                     CREATE TRIGGER fail_on_message BEFORE INSERT ON messages
                         FOR EACH ROW EXECUTE FUNCTION fail_on_message();"
                ))
                .expect("install the failing trigger");
        };
        (
            conformance::Fixture::keeping(store.roles(), schema),
            Box::new(fail_on),
        )
    }

    /// The same schema for every call with the same `n` in this process (empty on the first).
    pub(crate) fn reopened(n: u32) -> conformance::Fixture {
        use std::collections::HashMap;
        use std::sync::{Mutex, OnceLock};
        static SCHEMAS: OnceLock<Mutex<HashMap<u32, Arc<TestSchema>>>> = OnceLock::new();
        let schema = {
            let mut map = SCHEMAS
                .get_or_init(Default::default)
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            Arc::clone(map.entry(n).or_insert_with(|| Arc::new(TestSchema::new())))
        };
        let store =
            Arc::new(PgStore::open(&schema.options()).expect("reopen the PostgreSQL store"));
        conformance::Fixture::keeping(store.roles(), schema)
    }
}

/// The whole conformance suite, one test per check, each in a schema of its own.
mod conformance_on_postgres {
    use super::support;

    crate::conformance_suite! {
        fresh: support::fresh,
        faulty: support::faulty,
        reopen: support::reopened,
    }
}

#[test]
fn a_second_open_finds_the_schema_migrated() {
    let schema = support::TestSchema::new();
    let first = PgStore::open(&schema.options()).expect("open");
    drop(first);
    let again = PgStore::open(&schema.options()).expect("reopen");
    let reader = PgStore::open_read_only(&schema.options()).expect("read-only");
    drop((again, reader));
    let mut client = schema.client();
    let versions: Vec<i64> = client
        .query(
            "SELECT version FROM wecom_archive_schema ORDER BY version",
            &[],
        )
        .expect("versions")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, (1..=super::latest_version()).collect::<Vec<_>>());
}

#[test]
fn another_applications_schema_is_refused_untouched() {
    let schema = support::TestSchema::new();
    let mut client =
        postgres::Client::connect(&support::test_url(), postgres::NoTls).expect("connect");
    client
        .batch_execute(&format!(
            "CREATE SCHEMA \"{0}\"; CREATE TABLE \"{0}\".invoices (id int)",
            schema.name
        ))
        .expect("foreign table");
    let error = PgStore::open(&schema.options()).expect_err("foreign");
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{error}");
    assert!(error.to_string().contains("invoices"), "{error}");
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
            &[&schema.name],
        )
        .expect("count")
        .get(0);
    assert_eq!(tables, 1, "nothing was created beside the foreign table");
}

#[test]
fn a_schema_newer_than_the_build_is_refused() {
    let schema = support::TestSchema::new();
    drop(PgStore::open(&schema.options()).expect("open"));
    schema
        .client()
        .batch_execute("INSERT INTO wecom_archive_schema (version, name) VALUES (999, 'future')")
        .expect("future version");
    let error = PgStore::open(&schema.options()).expect_err("too new");
    assert_eq!(error.kind(), StoreErrorKind::SchemaTooNew, "{error}");
    assert!(error.to_string().contains("999"), "{error}");
    let error = PgStore::open_read_only(&schema.options()).expect_err("too new");
    assert_eq!(error.kind(), StoreErrorKind::SchemaTooNew, "{error}");
}

#[test]
fn an_unreachable_server_and_a_wrong_database_are_named() {
    // A port nothing listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let options = PgOptions::new(format!("postgres://postgres@127.0.0.1:{port}/test"));
    let error = PgStore::open(&options).expect_err("unreachable");
    assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error}");
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );

    let options = PgOptions::new("postgres://postgres@127.0.0.1:5432/no_such_database_here");
    let options = PgOptions {
        url: support::test_url().replace("/test", "/no_such_database_here"),
        ..options
    };
    let error = PgStore::open(&options).expect_err("no database");
    assert_eq!(error.kind(), StoreErrorKind::PermissionDenied, "{error}");
    assert!(error.to_string().contains("createdb"), "{error}");

    let error = PgStore::open(&PgOptions::new("mysql://nope")).expect_err("not a URL");
    assert_eq!(error.kind(), StoreErrorKind::InvalidInput, "{error}");
}

#[test]
fn a_read_only_server_is_refused_before_any_change() {
    let schema = support::TestSchema::new();
    let mut options = schema.options();
    // A session that may not write stands in for a replica.
    options.url = format!(
        "{}?options=-c%20default_transaction_read_only%3Don",
        support::test_url()
    );
    let error = PgStore::open(&options).expect_err("read-only");
    assert_eq!(error.kind(), StoreErrorKind::PermissionDenied, "{error}");
    assert!(error.to_string().contains("primary"), "{error}");
    let exists: bool = schema
        .client()
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM information_schema.schemata WHERE schema_name = $1)",
            &[&schema.name],
        )
        .expect("query")
        .get(0);
    assert!(!exists, "nothing was created");
    let _unused: Option<Roles> = None;
}

/// `url` with one more query parameter.
fn with_param(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}

/// The test server's self-signed certificate (Debian's snakeoil), issued to a host name, not to
/// 127.0.0.1.
const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

#[test]
fn tls_required_without_a_trusted_ca_is_refused_naming_ca_file() {
    let schema = support::TestSchema::new();
    let mut options = schema.options();
    options.url = with_param(&support::test_url(), "sslmode=require");
    let error = PgStore::open(&options).expect_err("an untrusted certificate");
    assert_eq!(error.kind(), StoreErrorKind::PermissionDenied, "{error}");
    assert!(error.to_string().contains("[archive] ca_file"), "{error}");
    assert!(error.to_string().contains("certificate"), "{error}");
}

#[test]
fn tls_required_with_the_ca_but_another_host_name_is_refused() {
    let schema = support::TestSchema::new();
    let mut options = schema.options();
    options.url = with_param(&support::test_url(), "sslmode=require");
    options.ca_file = Some(SNAKEOIL.into());
    let error = PgStore::open(&options).expect_err("a certificate for another name");
    assert_eq!(error.kind(), StoreErrorKind::PermissionDenied, "{error}");
    assert!(error.to_string().contains("[archive] ca_file"), "{error}");
    assert!(error.to_string().contains("host name"), "{error}");
    assert!(error.to_string().contains("not valid for name"), "{error}");
}

#[test]
fn tls_disabled_or_unset_speaks_plain_and_explicit_prefer_verifies() {
    for url in [
        support::test_url(),
        with_param(&support::test_url(), "sslmode=disable"),
    ] {
        let schema = support::TestSchema::new();
        let mut options = schema.options();
        options.url = url.clone();
        let store = PgStore::open(&options).unwrap_or_else(|e| panic!("{url}: {e}"));
        let mut conn = store.conn("checking TLS").expect("a connection");
        let ssl: bool = conn
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .expect("pg_stat_ssl")
            .get(0);
        assert!(!ssl, "{url}: plain expected");
    }
    // An explicit `prefer` asks for TLS, and the server offers it: its certificate is verified.
    let schema = support::TestSchema::new();
    let mut options = schema.options();
    options.url = with_param(&support::test_url(), "sslmode=prefer");
    let error = PgStore::open(&options).expect_err("prefer verifies");
    assert_eq!(error.kind(), StoreErrorKind::PermissionDenied, "{error}");
}

#[test]
fn an_unreadable_or_empty_ca_file_is_invalid_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-ca.pem");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificate here\n").expect("write");
    for path in [missing, empty] {
        let mut options = PgOptions::new(with_param(&support::test_url(), "sslmode=require"));
        options.ca_file = Some(path.clone());
        let error = PgStore::open(&options).expect_err("a bad CA file");
        assert_eq!(error.kind(), StoreErrorKind::InvalidInput, "{error}");
        assert!(
            error.to_string().contains(&path.display().to_string()),
            "{error}"
        );
        assert!(error.to_string().contains("[archive] ca_file"), "{error}");
    }
}
