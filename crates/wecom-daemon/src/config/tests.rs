//! The configuration's behaviour as the binary relies on it: loading, overrides, validation
//! messages and the settings built from it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

/// The error with its causes, as the binary prints it (`{:#}` of an anyhow chain).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("c.toml");
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn paths_resolve_against_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut corp = CorpSection::new("ww1");
    corp.secret = "s\"x".to_owned();
    corp.base_url = "http://127.0.0.1:9".to_owned();
    let text = ConfigFile::new(corp).render_template().expect("renders");
    let p = write(dir.path(), &text);
    let c = Config::load(&p, &HashMap::new()).expect("load");
    let corp = c.corp(None).expect("one corp");
    assert_eq!(corp.secret, "s\"x");
    assert_eq!(corp.archive_path, dir.path().join("archive.db"));
    assert_eq!(corp.keys_dir, dir.path().join("keys"));
    assert_eq!(c.media.dir, dir.path().join("media"));
}

#[test]
fn server_limits_default_sensibly_and_the_metrics_token_comes_from_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "[corp]\ncorp_id = \"ww1\"\nsecret = \"s\"\n");
    let c = Config::load(&p, &HashMap::new()).expect("load");
    assert_eq!(c.server.max_connections, 512);
    assert_eq!(c.server.header_timeout_secs, 10);
    assert_eq!(c.server.body_timeout_secs, 10);
    assert_eq!(c.server.idle_timeout_secs, 60);
    assert_eq!(c.server.metrics_refresh_secs, 30);
    assert_eq!(c.server.metrics_token, None);

    let p = write(
        dir.path(),
        "[corp]\ncorp_id = \"ww1\"\nsecret = \"s\"\n[server]\nmetrics_token = \"from-file\"\nmax_connections = 20\n",
    );
    let c = Config::load(&p, &HashMap::new()).expect("load");
    assert_eq!(c.server.metrics_token.as_deref(), Some("from-file"));
    assert_eq!(c.server.max_connections, 20);
    let env = HashMap::from([(
        "WECOM_ARCHIVE_METRICS_TOKEN".to_owned(),
        "from-env".to_owned(),
    )]);
    let c = Config::load(&p, &env).expect("load");
    assert_eq!(c.server.metrics_token.as_deref(), Some("from-env"));

    let p = write(
        dir.path(),
        "[corp]\ncorp_id = \"ww1\"\nsecret = \"s\"\n[server]\nheader_timeout_secs = 0\n",
    );
    let e = chain(&Config::load(&p, &HashMap::new()).expect_err("zero timeout"));
    assert!(e.contains("header_timeout_secs"), "{e}");
}

#[test]
fn env_overrides_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "[corp]\ncorp_id = \"ww1\"\n");
    let env = HashMap::from([("WECOM_ARCHIVE_SECRET".to_owned(), "from-env".to_owned())]);
    let c = Config::load(&p, &env).expect("load");
    assert_eq!(c.corp(None).expect("corp").secret, "from-env");
    let c = Config::load(&p, &HashMap::new()).expect("load");
    let e = c
        .client_config(c.corp(None).expect("corp"))
        .expect_err("no secret");
    assert_eq!(e.kind(), ConfigErrorKind::MissingSecret);
    assert!(chain(&e).contains("WECOM_ARCHIVE_SECRET"), "{}", chain(&e));
}

#[test]
fn naming_secrets_come_from_the_file_or_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "[corp]\ncorp_id = \"ww1\"\nsecret = \"a\"\ncontacts_secret = \"c-file\"\ncustomer_secret = \"  \"\n",
    );
    let c = Config::load(&p, &HashMap::new()).expect("load");
    let corp = c.corp(None).expect("corp");
    assert_eq!(corp.contacts_secret.as_deref(), Some("c-file"));
    assert_eq!(corp.customer_secret, None, "a blank secret is no secret");
    let api = c.api_config(corp).expect("api config");
    assert_eq!(api.archive_secret, "a");
    assert_eq!(api.contacts_secret.as_deref(), Some("c-file"));
    assert!(c.names.enabled);
    let opts = c.name_options(corp);
    assert_eq!(opts.refresh_named, Duration::from_secs(24 * 3600));
    assert_eq!(
        opts.recheck_unresolvable,
        Duration::from_secs(7 * 24 * 3600)
    );

    let env = HashMap::from([
        (
            "WECOM_ARCHIVE_CONTACTS_SECRET".to_owned(),
            "c-env".to_owned(),
        ),
        (
            "WECOM_ARCHIVE_CUSTOMER_SECRET".to_owned(),
            "k-env".to_owned(),
        ),
    ]);
    let c = Config::load(&p, &env).expect("load");
    let corp = c.corp(None).expect("corp");
    assert_eq!(corp.contacts_secret.as_deref(), Some("c-env"));
    assert_eq!(corp.customer_secret.as_deref(), Some("k-env"));

    // With several corps, per-corp variables.
    let p = write(
        dir.path(),
        "[[corp]]\ncorp_id = \"wwA\"\n\n[[corp]]\ncorp_id = \"wwB\"\n",
    );
    let env = HashMap::from([(
        "WECOM_ARCHIVE_CUSTOMER_SECRET_WWB".to_owned(),
        "b-customer".to_owned(),
    )]);
    let c = Config::load(&p, &env).expect("load");
    assert_eq!(c.corp(Some("wwA")).expect("A").customer_secret, None);
    assert_eq!(
        c.corp(Some("wwB")).expect("B").customer_secret.as_deref(),
        Some("b-customer")
    );
}

#[test]
fn bad_names_settings_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in [
        "[names]\nrefresh_hours = 0\n",
        "[names]\nmax_calls_per_second = 0\n",
        "[names]\nmax_calls_per_second = -1.5\n",
        "[names]\nunknown = 1\n",
    ] {
        let p = write(dir.path(), &format!("[corp]\ncorp_id = \"ww1\"\n\n{bad}"));
        let e = Config::load(&p, &HashMap::new()).expect_err(bad);
        assert!(
            chain(&e).contains("names") || chain(&e).contains("unknown"),
            "{bad}: {e:#}"
        );
    }
    let p = write(
        dir.path(),
        "[corp]\ncorp_id = \"ww1\"\n\n[names]\nenabled = false\n",
    );
    assert!(
        !Config::load(&p, &HashMap::new())
            .expect("load")
            .names
            .enabled
    );
}

#[test]
fn errors_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.toml");
    let err = Config::load(&missing, &HashMap::new()).expect_err("missing");
    assert_eq!(err.kind(), ConfigErrorKind::Unreadable);
    let e = chain(&err);
    assert!(
        e.contains("nope.toml") && e.contains("wecom-archive init"),
        "{e}"
    );
    let p = write(dir.path(), "[corp]\ncorp_id = \"ww1\"\nsurprise = 1\n");
    let err = Config::load(&p, &HashMap::new()).expect_err("unknown key");
    assert_eq!(err.kind(), ConfigErrorKind::Invalid);
    let e = chain(&err);
    assert!(e.contains("c.toml") && e.contains("surprise"), "{e}");
    let p = write(dir.path(), "[corp\n");
    let e = chain(&Config::load(&p, &HashMap::new()).expect_err("garbled"));
    assert!(e.contains("c.toml"), "{e}");
    let p = write(
        dir.path(),
        "[corp]\ncorp_id = \"ww1\"\n[sync]\npage_limit = 5000\n",
    );
    let err = Config::load(&p, &HashMap::new()).expect_err("limit");
    assert_eq!(err.kind(), ConfigErrorKind::Invalid);
    let e = chain(&err);
    assert!(
        e.starts_with(&format!(
            "configuration file {}: [sync] page_limit 5000",
            p.display()
        )),
        "{e}"
    );
}

#[test]
fn half_a_callback_configuration_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "[corp]\ncorp_id = \"ww1\"\ncallback_token = \"t\"\n",
    );
    let e = chain(&Config::load(&p, &HashMap::new()).expect_err("half callback"));
    assert!(e.contains("callback_aes_key"), "{e}");
    let p = write(
        dir.path(),
        "[corp]\ncorp_id = \"ww1\"\ncallback_token = \"t\"\ncallback_aes_key = \"short\"\n",
    );
    let e = chain(&Config::load(&p, &HashMap::new()).expect_err("bad aes key"));
    assert!(e.contains("c.toml") && e.contains("EncodingAESKey"), "{e}");
}

#[test]
fn several_corps_get_their_own_keys_secrets_and_selection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "[[corp]]\ncorp_id = \"wwA\"\nsecret = \"a\"\n\n[[corp]]\ncorp_id = \"wwB\"\narchive_path = \"b.db\"\ncallback_token = \"QDG6eK\"\ncallback_aes_key = \"jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C\"\n",
    );
    let env = HashMap::from([(
        "WECOM_ARCHIVE_SECRET_WWB".to_owned(),
        "b-from-env".to_owned(),
    )]);
    let c = Config::load(&p, &env).expect("load");
    assert_eq!(c.corps.len(), 2);
    let a = c.corp(Some("wwA")).expect("A");
    let b = c.corp(Some("wwB")).expect("B");
    assert_eq!(a.keys_dir, dir.path().join("keys/wwA"));
    assert_eq!(b.keys_dir, dir.path().join("keys/wwB"));
    assert_eq!(a.archive_path, dir.path().join("archive.db"));
    assert_eq!(b.archive_path, dir.path().join("b.db"));
    assert_eq!(b.secret, "b-from-env");
    assert!(b.callback.is_some() && a.callback.is_none());
    let ambiguous = c.corp(None).expect_err("ambiguous");
    assert_eq!(ambiguous.kind(), ConfigErrorKind::Selection);
    assert!(chain(&ambiguous).contains("--corp"));
    assert!(c.corp(Some("wwC")).is_err());
    assert_eq!(c.selected(None).expect("all").len(), 2);
    let p = write(
        dir.path(),
        "[[corp]]\ncorp_id = \"wwA\"\n[[corp]]\ncorp_id = \"wwA\"\n",
    );
    assert!(chain(&Config::load(&p, &HashMap::new()).expect_err("dup")).contains("twice"));
    let p = write(dir.path(), "[[corp]]\ncorp_id = \"wwA\"\nbogus = 1\n");
    assert!(chain(&Config::load(&p, &HashMap::new()).expect_err("unknown")).contains("bogus"));
}

fn load(text: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("c.toml");
    std::fs::write(&p, text).expect("write");
    Config::load(&p, &HashMap::new())
}

#[test]
fn corp_ids_outside_wecoms_alphabet_are_refused_naming_the_key() {
    for (id, what) in [
        ("ww\\u001b[2J", "control character \\x1b"),
        ("ww 1", "a space"),
        ("ww1\\r", "control character \\r"),
        ("ww1;rm", "`;`"),
    ] {
        let e = chain(&load(&format!("[corp]\ncorp_id = \"{id}\"\n")).expect_err(id));
        assert!(e.contains("corp_id") && e.contains(what), "{e}");
        assert!(!e.contains('\x1b') && !e.contains('\r'), "{e:?}");
    }
    let long = "w".repeat(65);
    assert!(load(&format!("[corp]\ncorp_id = \"{long}\"\n")).is_err());
    for ok in [
        "ww4b3c2d1e0f9a8b7c",
        "wx5823bf96d3bd56c7",
        "ww_REPLACE_WITH_YOUR_CORP_ID",
        "ww1",
    ] {
        load(&format!("[corp]\ncorp_id = \"{ok}\"\n")).expect(ok);
    }
    // The environment override is checked as well.
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("c.toml");
    std::fs::write(&p, "[corp]\ncorp_id = \"ww1\"\n").expect("write");
    let env = HashMap::from([("WECOM_ARCHIVE_CORP_ID".to_owned(), "ww\t1".to_owned())]);
    let e = chain(&Config::load(&p, &env).expect_err("tab"));
    assert!(e.contains("corp_id `ww\\t1`"), "{e}");
}

#[test]
fn the_response_cap_reaches_every_client() {
    let c = load("[corp]\ncorp_id = \"ww1\"\nsecret = \"s\"\n").expect("defaults");
    let corp = c.corp(None).expect("corp");
    assert_eq!(c.sync.max_response_mb, 64);
    assert_eq!(
        c.client_config(corp).expect("client").max_response_bytes,
        64 << 20
    );
    let c = load("[corp]\ncorp_id = \"ww1\"\nsecret = \"s\"\n[sync]\nmax_response_mb = 3\n")
        .expect("set");
    let corp = c.corp(None).expect("corp");
    assert_eq!(
        c.client_config(corp).expect("client").max_response_bytes,
        3 << 20
    );
    assert_eq!(c.api_config(corp).expect("api").max_response_bytes, 3 << 20);
    let sdk = c.sdk_config(corp, Path::new("/l.so")).expect("sdk");
    assert_eq!(sdk.limits.max_frame_bytes, (6 << 20) + (1 << 20));
    for bad in ["0", "1025"] {
        let e = chain(
            &load(&format!(
                "[corp]\ncorp_id = \"ww1\"\n[sync]\nmax_response_mb = {bad}\n"
            ))
            .expect_err(bad),
        );
        assert!(e.contains("max_response_mb"), "{e}");
    }
}

#[test]
fn the_search_index_lives_beside_the_archive_unless_configured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "[archive]\npath = \"data/main.db\"\n[corp]\ncorp_id = \"ww1\"\n",
    );
    let c = Config::load(&p, &HashMap::new()).expect("load");
    assert!(c.search.enabled);
    assert_eq!(c.search.dir, dir.path().join("data/main.search"));
    assert_eq!(c.search.heap_mb, DEFAULT_SEARCH_HEAP_MB);
    let corp = c.corp(None).expect("corp");
    assert_eq!(
        c.search_index_dir(corp),
        dir.path().join("data/main.search/ww1")
    );
    assert_eq!(
        c.indexer_options().heap_bytes,
        (DEFAULT_SEARCH_HEAP_MB as usize) << 20
    );
    // The archive's override moves the default index with it.
    let env = HashMap::from([("WECOM_ARCHIVE_DB".to_owned(), "/srv/w/a.db".to_owned())]);
    let c = Config::load(&p, &env).expect("load");
    assert_eq!(c.search.dir, PathBuf::from("/srv/w/a.search"));

    let p = write(
        dir.path(),
        "[corp]\ncorp_id = \"ww1\"\n[search]\nenabled = false\ndir = \"idx\"\nheap_mb = 32\n",
    );
    let c = Config::load(&p, &HashMap::new()).expect("load");
    assert!(!c.search.enabled);
    assert_eq!(c.search.dir, dir.path().join("idx"));
    assert_eq!(c.indexer_options().heap_bytes, 32 << 20);
    let p = write(
        dir.path(),
        "[corp]\ncorp_id = \"ww1\"\n[search]\ndir = \"/var/idx\"\n",
    );
    let c = Config::load(&p, &HashMap::new()).expect("load");
    assert_eq!(c.search.dir, PathBuf::from("/var/idx"));
}

#[test]
fn bad_search_settings_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (bad, says) in [
        ("heap_mb = 0", "heap_mb 0"),
        ("heap_mb = 15", "heap_mb 15"),
        ("heap_mb = 4001", "heap_mb 4001"),
        ("heap_mb = -1", "heap_mb"),
        ("enabled = \"yes\"", "enabled"),
        ("surprise = 1", "surprise"),
    ] {
        let p = write(
            dir.path(),
            &format!("[corp]\ncorp_id = \"ww1\"\n[search]\n{bad}\n"),
        );
        let err = Config::load(&p, &HashMap::new()).expect_err(bad);
        assert_eq!(err.kind(), ConfigErrorKind::Invalid, "{bad}");
        let e = chain(&err);
        assert!(e.contains("c.toml") && e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn tls_needs_both_files_resolved_against_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(dir.path(), "[corp]\ncorp_id = \"ww1\"\n");
    let c = Config::load(&p, &HashMap::new()).expect("load");
    assert_eq!(c.server.listen, "127.0.0.1:8780");
    assert_eq!(
        (c.server.tls_cert.as_ref(), c.server.tls_key.as_ref()),
        (None, None)
    );
    assert!(c.tls_settings().expect("plain HTTP").is_none());

    let p = write(
        dir.path(),
        "[corp]\ncorp_id = \"ww1\"\n[server]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"/etc/k.pem\"\n",
    );
    let c = Config::load(&p, &HashMap::new()).expect("load");
    assert_eq!(c.server.tls_cert, Some(dir.path().join("tls/cert.pem")));
    assert_eq!(c.server.tls_key, Some(PathBuf::from("/etc/k.pem")));
    // The files are read when the settings are built, and the error names the resolved file.
    let e = c.tls_settings().expect_err("no such files");
    assert!(
        matches!(&e, wecom_server::TlsError::Read { path, .. } if *path == dir.path().join("tls/cert.pem")),
        "{e:?}"
    );

    for (text, set, missing) in [
        ("tls_cert = \"c.pem\"", "tls_cert", "tls_key"),
        ("tls_key = \"k.pem\"", "tls_key", "tls_cert"),
    ] {
        let p = write(
            dir.path(),
            &format!("[corp]\ncorp_id = \"ww1\"\n[server]\n{text}\n"),
        );
        let err = Config::load(&p, &HashMap::new()).expect_err(text);
        assert_eq!(err.kind(), ConfigErrorKind::Invalid);
        let e = chain(&err);
        assert!(
            e.contains("c.toml")
                && e.contains(&format!("[server] {set} is set but {missing} is not")),
            "{e}"
        );
    }
}

#[test]
fn api_settings_default_and_come_from_the_file() {
    let c = load("[corp]\ncorp_id = \"ww1\"\n").expect("defaults");
    assert_eq!(c.api, ApiSection::default());
    assert!(c.api.enabled);
    assert_eq!(
        (
            c.api.session_idle_minutes,
            c.api.session_absolute_hours,
            c.api.login_max_failures,
            c.api.lockout_minutes,
            c.api.login_attempts_per_address,
            c.api.login_window_minutes,
            c.api.max_body_kib,
        ),
        (30, 12, 5, 15, 20, 5, 64)
    );
    assert!(c.api.allowed_origins.is_empty());

    let c = load(
        "[corp]\ncorp_id = \"ww1\"\n[api]\nenabled = false\nsession_idle_minutes = 1440\nsession_absolute_hours = 720\nlogin_max_failures = 100\nlockout_minutes = 1\nlogin_attempts_per_address = 3\nlogin_window_minutes = 60\nmax_body_kib = 10240\nallowed_origins = [\"HTTPS://Archive.Example.com:443\", \"http://127.0.0.1:8080\", \"https://[::1]:8443\"]\n",
    )
    .expect("set");
    assert_eq!(
        c.api,
        ApiSection {
            enabled: false,
            session_idle_minutes: 1440,
            session_absolute_hours: 720,
            login_max_failures: 100,
            lockout_minutes: 1,
            login_attempts_per_address: 3,
            login_window_minutes: 60,
            // As browsers send them: lower case, the default port left out.
            allowed_origins: vec![
                "https://archive.example.com".to_owned(),
                "http://127.0.0.1:8080".to_owned(),
                "https://[::1]:8443".to_owned(),
            ],
            max_body_kib: 10240,
        }
    );
}

#[test]
fn bad_api_settings_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (bad, says) in [
        (
            "session_idle_minutes = 0",
            "session_idle_minutes 0 is outside 1..=1440",
        ),
        ("session_idle_minutes = 1441", "session_idle_minutes 1441"),
        ("session_absolute_hours = 0", "session_absolute_hours 0"),
        (
            "session_absolute_hours = 721",
            "session_absolute_hours 721 is outside 1..=720",
        ),
        ("login_max_failures = 0", "login_max_failures 0"),
        (
            "login_max_failures = 101",
            "login_max_failures 101 is outside 1..=100 (default 5)",
        ),
        ("lockout_minutes = 0", "lockout_minutes 0"),
        ("lockout_minutes = 1441", "lockout_minutes 1441"),
        (
            "login_attempts_per_address = 0",
            "login_attempts_per_address 0",
        ),
        ("login_window_minutes = 0", "login_window_minutes 0"),
        ("max_body_kib = 0", "max_body_kib 0"),
        (
            "max_body_kib = 10241",
            "max_body_kib 10241 is outside 1..=10240",
        ),
        ("login_max_failures = -1", "login_max_failures"),
        ("enabled = \"yes\"", "enabled"),
        ("allowed_origins = \"https://a.example\"", "allowed_origins"),
        ("surprise = 1", "surprise"),
        (
            "allowed_origins = [\"archive.example.com\"]",
            "`archive.example.com` has no scheme://",
        ),
        (
            "allowed_origins = [\"https://a.example/\"]",
            "`https://a.example/` has a path",
        ),
        (
            "allowed_origins = [\"https://a.example/app\"]",
            "has a path",
        ),
        (
            "allowed_origins = [\"https://a.example?x=1\"]",
            "has a path, query",
        ),
        (
            "allowed_origins = [\"ftp://a.example\"]",
            "neither http:// nor https://",
        ),
        ("allowed_origins = [\"https://\"]", "`https://`"),
        ("allowed_origins = [\"https://u:p@a.example\"]", "user name"),
        (
            "allowed_origins = [\"https://a.example:99999\"]",
            "not a valid URL",
        ),
        ("allowed_origins = [\"*\"]", "`*` has no scheme://"),
        ("allowed_origins = [\"https://a.example \"]", "space"),
        (
            "allowed_origins = [\"https://a\\u001b[2J.example\"]",
            "control character",
        ),
    ] {
        let p = write(
            dir.path(),
            &format!("[corp]\ncorp_id = \"ww1\"\n[api]\n{bad}\n"),
        );
        let err = Config::load(&p, &HashMap::new()).expect_err(bad);
        assert_eq!(err.kind(), ConfigErrorKind::Invalid, "{bad}");
        let e = chain(&err);
        assert!(e.contains("c.toml") && e.contains(says), "{bad}: {e}");
        assert!(!e.contains('\x1b'), "{e:?}");
    }
}

#[test]
fn the_database_ca_file_resolves_against_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let head = "[corp]\ncorp_id = \"ww1\"\nsecret = \"s\"\n[archive]\n\
                url = \"postgres://u@db.example:5432/a?sslmode=require\"\n";
    let p = write(dir.path(), &format!("{head}ca_file = \"tls/db-ca.pem\"\n"));
    let c = Config::load(&p, &HashMap::new()).expect("load");
    let options = c.postgres.expect("PostgreSQL options");
    assert_eq!(options.ca_file, Some(dir.path().join("tls/db-ca.pem")));

    let p = write(
        dir.path(),
        &format!("{head}ca_file = \"/etc/ssl/db.pem\"\n"),
    );
    let c = Config::load(&p, &HashMap::new()).expect("load");
    let options = c.postgres.expect("PostgreSQL options");
    assert_eq!(options.ca_file, Some(PathBuf::from("/etc/ssl/db.pem")));

    let p = write(dir.path(), head);
    let c = Config::load(&p, &HashMap::new()).expect("load");
    assert_eq!(c.postgres.expect("PostgreSQL options").ca_file, None);
}
