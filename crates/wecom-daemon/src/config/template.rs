//! The commented configuration file, generated from the schema: a [`ConfigFile`] value is
//! serialized, and each key is written under its comment from one table ([`KEY_DOCS`]); an
//! optional key without a value is shown commented out with an example. `init`,
//! `emulator --write-config` and `demo` build the value they want and render it.

use std::fmt::Write as _;

use super::ConfigError;
use super::overrides::ENV_OVERRIDES;
use super::schema::ConfigFile;

/// What a section is for, written under its header.
pub struct SectionDoc {
    /// The section's name (`archive`, `corp`, ...), in the order the file lists them.
    pub section: &'static str,
    /// The comment under the header (lines separated by `\n`; may be empty).
    pub doc: &'static str,
}

/// What a key means, written above it.
pub struct KeyDoc {
    /// The section it belongs to.
    pub section: &'static str,
    /// The key.
    pub key: &'static str,
    /// The comment (lines separated by `\n`).
    pub doc: &'static str,
    /// For a key with no default: the value shown in the commented-out example line.
    pub example: Option<&'static str>,
}

/// The sections, in the file's order.
pub const SECTION_DOCS: &[SectionDoc] = &[
    SectionDoc {
        section: "archive",
        doc: "",
    },
    SectionDoc {
        section: "corp",
        doc: "One corp. With several corps, repeat this section as [[corp]]; each may set keys_dir and\narchive_path.",
    },
    SectionDoc {
        section: "keys",
        doc: "",
    },
    SectionDoc {
        section: "server",
        doc: "",
    },
    SectionDoc {
        section: "api",
        doc: "The JSON API under /api/v1 (served by `run` beside the callbacks, on [server] listen): signing in\nwith the accounts of `wecom-archive user add`. Serve it over TLS (tls_cert and tls_key above, or\na reverse proxy) whenever it is reachable from other machines.",
    },
    SectionDoc {
        section: "media",
        doc: "Images, voice, video, files, emotions and meeting recordings are downloaded after each sync,\nverified (md5 and size from the message), and stored under their SHA-256.",
    },
    SectionDoc {
        section: "sdk",
        doc: "Supervision of the vendor-library workers (source = \"sdk\"): the library leaks on failures, so\nits workers are recycled, killed on hangs and restarted after crashes.",
    },
    SectionDoc {
        section: "sync",
        doc: "",
    },
    SectionDoc {
        section: "names",
        doc: "Rooms and people are named through WeCom's HTTP APIs, in the background: internal groups with\nthe archive secret, customer groups and external contacts with customer_secret, employees with\ncontacts_secret; the archive scope and consent are fetched too.",
    },
    SectionDoc {
        section: "search",
        doc: "Full-text search (`wecom-archive search`): an index of every message, kept current after each\nsync and continuously by `run`. It is derived data: `wecom-archive index rebuild` recreates it.",
    },
];

const fn key(section: &'static str, key: &'static str, doc: &'static str) -> KeyDoc {
    KeyDoc {
        section,
        key,
        doc,
        example: None,
    }
}

const fn optional(
    section: &'static str,
    key: &'static str,
    doc: &'static str,
    example: &'static str,
) -> KeyDoc {
    KeyDoc {
        section,
        key,
        doc,
        example: Some(example),
    }
}

/// Every key of the file with its comment, in the order the file lists them within a section.
pub const KEY_DOCS: &[KeyDoc] = &[
    key(
        "archive",
        "path",
        "The SQLite archive (relative paths are relative to this file).",
    ),
    optional(
        "archive",
        "url",
        "Keep the archive in PostgreSQL instead of an SQLite file (several nodes may then run `run`\nwith the same configuration and share the work): postgres://user@host:5432/database. Put the\npassword in WECOM_ARCHIVE_DB_PASSWORD (or PGPASSWORD), not here.",
        "\"postgres://archive@db.internal:5432/wecom\"",
    ),
    optional(
        "archive",
        "password",
        "The PostgreSQL password (prefer WECOM_ARCHIVE_DB_PASSWORD).",
        "\"set WECOM_ARCHIVE_DB_PASSWORD instead\"",
    ),
    optional(
        "archive",
        "schema",
        "The PostgreSQL schema holding the archive (default: the user's default schema, public).",
        "\"wecom\"",
    ),
    optional(
        "archive",
        "node",
        "This node's name among the nodes sharing a PostgreSQL archive (default: host name and\nprocess id); unique per running node.",
        "\"archive-1\"",
    ),
    key(
        "archive",
        "lease_secs",
        "PostgreSQL: seconds a node holds a corp without renewing; a dead node's corps are taken over\nwithin this time (renewed every third of it).",
    ),
    key(
        "archive",
        "pool_size",
        "PostgreSQL: connections at most per node.",
    ),
    optional(
        "archive",
        "ca_file",
        "PostgreSQL: a PEM file of the CA certificate(s) that signed the server's certificate,\ntrusted besides the system's roots (relative to this file). TLS follows sslmode in url:\nrequire verifies the certificate and the host name; without sslmode the connection is plain.",
        "\"/etc/ssl/certs/db-ca.pem\"",
    ),
    key(
        "archive",
        "group_readable",
        "Everything the archive writes (database, its -wal/-shm, the writer lock file, media files and\nfolders) is readable by its owner only: files 0600, folders 0700. true lets the owner's group\nread them too (0640/0750). `doctor` fails, and `sync` warns, on archive files or private keys\nother users can read.",
    ),
    key(
        "corp",
        "corp_id",
        "Required. 企业ID, from 管理后台 → 我的企业 → 企业信息.",
    ),
    key(
        "corp",
        "secret",
        "The 会话内容存档 Secret (管理工具 → 会话内容存档), not an app secret. Prefer the\nWECOM_ARCHIVE_SECRET environment variable over writing it here.",
    ),
    optional(
        "corp",
        "contacts_secret",
        "Optional, for names: the 通讯录 (contacts) secret lets `user/get` name employees; without it\nthey stay shown by id (WECOM_ARCHIVE_CONTACTS_SECRET works too).",
        "\"...\"",
    ),
    optional(
        "corp",
        "customer_secret",
        "Optional, for names: the 客户联系 (customer contact) secret names customer groups and external\ncontacts; without it they stay shown by id (WECOM_ARCHIVE_CUSTOMER_SECRET works too).",
        "\"...\"",
    ),
    key(
        "corp",
        "base_url",
        "Where the archive API lives. Plain http:// is accepted only for loopback (the emulator).",
    ),
    optional(
        "corp",
        "proxy",
        "Optional proxy for every request: http://host:port, socks5h://host:port (credentials below).",
        "\"socks5h://127.0.0.1:1080\"",
    ),
    optional(
        "corp",
        "proxy_username",
        "The proxy's user name.",
        "\"user\"",
    ),
    optional(
        "corp",
        "proxy_password",
        "The proxy's password.",
        "\"set WECOM_ARCHIVE_PROXY_PASSWORD instead\"",
    ),
    key("corp", "timeout_secs", "Seconds per HTTP request."),
    optional(
        "corp",
        "callback_token",
        "The 会话内容存档 callback (接收事件服务器), used by `run`: the Token from the console...",
        "\"...\"",
    ),
    optional(
        "corp",
        "callback_aes_key",
        "...and the EncodingAESKey.",
        "\"...43 characters...\"",
    ),
    key(
        "corp",
        "source",
        "Where records come from: \"native\" (our Rust client, default) or \"sdk\" (WeCom's vendor library,\nrun in supervised worker processes; set sdk_library to libWeWorkFinanceSdk_C.so).",
    ),
    optional(
        "corp",
        "sdk_library",
        "source = \"sdk\": the vendor library (WECOM_ARCHIVE_SDK_LIBRARY works too).",
        "\"/opt/wecom/libWeWorkFinanceSdk_C.so\"",
    ),
    optional(
        "corp",
        "sdk_proxy",
        "The proxy handed to the vendor library (default: proxy); http://host:port or socks5h://host:port.",
        "\"http://127.0.0.1:3128\"",
    ),
    optional(
        "corp",
        "keys_dir",
        "This corp's private keys (default: [keys] dir, or its <corp_id> sub-folder with several corps).",
        "\"keys\"",
    ),
    optional(
        "corp",
        "archive_path",
        "This corp's archive (default: [archive] path; several corps may share one file).",
        "\"archive.db\"",
    ),
    key(
        "keys",
        "dir",
        "Private keys, one file per key version: v1.pem, v2.pem, ... (PKCS#1 or PKCS#8 PEM).\nKeep every old key: records encrypted with it can never be decrypted without it.",
    ),
    key(
        "server",
        "listen",
        "Where `run` serves the callback endpoints (/callback/<corp_id>), /metrics, /healthz and /readyz.",
    ),
    key(
        "server",
        "max_connections",
        "Open connections at most (lowered at start to fit `ulimit -n`, keeping descriptors for the\narchive, media and the vendor library). At the cap the connection idle longest is closed.",
    ),
    key(
        "server",
        "header_timeout_secs",
        "Seconds a client has to send a request's headers.",
    ),
    key(
        "server",
        "body_timeout_secs",
        "Seconds a client has to send a request's body.",
    ),
    key(
        "server",
        "idle_timeout_secs",
        "Seconds a silent connection (keep-alive included) stays open.",
    ),
    optional(
        "server",
        "metrics_token",
        "Require `Authorization: Bearer <token>` on /metrics (prefer WECOM_ARCHIVE_METRICS_TOKEN).",
        "\"...\"",
    ),
    key(
        "server",
        "metrics_refresh_secs",
        "Seconds between refreshes of the archive figures in /metrics and /readyz (also after each sync).",
    ),
    optional(
        "server",
        "tls_cert",
        "Serve HTTPS instead of HTTP: the certificate chain (PEM, the server's certificate first; relative\npaths are relative to this file)...",
        "\"tls/fullchain.pem\"",
    ),
    optional(
        "server",
        "tls_key",
        "...and its private key (PEM, unencrypted PKCS#8, PKCS#1 or SEC1; readable by this user only).\nSet both or neither.",
        "\"tls/privkey.pem\"",
    ),
    key("api", "enabled", "Whether the API is served at all."),
    key(
        "api",
        "session_idle_minutes",
        "A session ends after this many minutes without a request (1..=1440)...",
    ),
    key(
        "api",
        "session_absolute_hours",
        "...and this many hours after its login however busy it is (1..=720).",
    ),
    key(
        "api",
        "login_max_failures",
        "Consecutive failed logins of one user before each further failure locks that user (1..=100)...",
    ),
    key(
        "api",
        "lockout_minutes",
        "...for this many minutes (1..=1440).",
    ),
    key(
        "api",
        "login_attempts_per_address",
        "Login attempts one client address may make (1..=10000)...",
    ),
    key(
        "api",
        "login_window_minutes",
        "...per this many minutes (1..=1440).",
    ),
    key(
        "api",
        "allowed_origins",
        "Origins besides the server's own accepted on requests that change something (CSRF defence),\neach scheme://host[:port] with no path, e.g. [\"https://archive.example.com\"].",
    ),
    key(
        "api",
        "max_body_kib",
        "Largest API request body, in KiB (1..=10240).",
    ),
    key(
        "media",
        "enabled",
        "Download media after every sync (`sync --no-media` skips it for one run).",
    ),
    key(
        "media",
        "backend",
        "\"fs\": a folder (objects/<aa>/<sha256>); \"s3\": S3-compatible storage (s3_* keys below).",
    ),
    key("media", "dir", "backend = \"fs\": the folder."),
    key("media", "concurrency", "Downloads at once per corp."),
    key(
        "media",
        "max_md5_attempts",
        "Whole-object downloads on md5 mismatch before the bytes are kept in quarantine for inspection.",
    ),
    key(
        "media",
        "max_attempts",
        "Attempts for transient failures before a job fails for good (`media retry --failed` revives it).",
    ),
    optional(
        "media",
        "s3_endpoint",
        "backend = \"s3\": the endpoint (required),",
        "\"https://s3.example.com\"",
    ),
    optional(
        "media",
        "s3_region",
        "the region (default us-east-1),",
        "\"us-east-1\"",
    ),
    optional(
        "media",
        "s3_bucket",
        "the bucket (required),",
        "\"wecom-archive\"",
    ),
    optional(
        "media",
        "s3_prefix",
        "a prefix for every object's key,",
        "\"corp-a\"",
    ),
    optional(
        "media",
        "s3_access_key",
        "the access key id (required)",
        "\"...\"",
    ),
    optional(
        "media",
        "s3_secret_key",
        "and the secret key (prefer WECOM_ARCHIVE_S3_SECRET_KEY).",
        "\"set WECOM_ARCHIVE_S3_SECRET_KEY instead\"",
    ),
    key(
        "sdk",
        "max_calls",
        "A worker is recycled after this many calls,",
    ),
    key("sdk", "max_rss_mb", "above this many MiB of memory,"),
    key("sdk", "max_fds", "above this many open descriptors,"),
    key(
        "sdk",
        "max_network_failures",
        "or after this many failed requests (the library leaks on each).",
    ),
    key(
        "sdk",
        "call_deadline_secs",
        "A call taking longer than this kills its worker (0 = 2 x timeout_secs + 10 s).",
    ),
    key(
        "sdk",
        "crash_limit",
        "More than this many crashes within crash_window_secs seconds stop the restarts.",
    ),
    key(
        "sdk",
        "crash_window_secs",
        "The window crash_limit counts crashes in, in seconds.",
    ),
    key("sync", "page_limit", "Records per request (1..=1000)."),
    key(
        "sync",
        "follow_interval_secs",
        "Seconds between polls with `sync --follow`.",
    ),
    key(
        "sync",
        "decrypt_threads",
        "Threads decrypting a page (0 = two per core, which balances best beside the commit).",
    ),
    key(
        "sync",
        "retry_max_attempts",
        "Transient failures (network, 5xx, busy) are retried with capped exponential backoff and\njitter: attempts in all,",
    ),
    key(
        "sync",
        "retry_base_delay_ms",
        "the first delay in milliseconds,",
    ),
    key(
        "sync",
        "retry_max_delay_ms",
        "and the longest delay in milliseconds.",
    ),
    key(
        "sync",
        "max_response_mb",
        "Largest answer read from WeCom, in MiB (1..=1024): a larger one is refused unread, whatever\nthe server or a proxy sends. A page of 1,000 records is a few MB.",
    ),
    key(
        "sync",
        "poll_interval_secs",
        "`run`: seconds between reconciliation polls per corp; the callback wakes a corp earlier.",
    ),
    key(
        "sync",
        "max_seq_jump",
        "The largest plausible step of seq: past a non-zero cursor, and between consecutive records of\na page. A record further away (and any seq of 2^63 or more) is kept raw in quarantine and never\nmoves the cursor; `wecom-archive cursor set` moves it by hand if the jump is real. A corp\narchiving ten million messages a day needs 100 days - longer than WeCom keeps any record - to\nmove one billion. A first sync (cursor 0) accepts whatever seq the server starts at.",
    ),
    key(
        "sync",
        "retention_days",
        "How long WeCom is assumed to keep archive data and media: 5 days by default, a guess the\nreference itself calls unconfirmed (数据与智能专区 data lives 90 days). It only orders the media\nwork (jobs nearest to this edge first) and drives time-to-loss (below). No media job is ever\ngiven up because of it: every job is attempted, and only WeCom's own answer (errcode 301048,\nvendor SDK 10010) marks one expired.",
    ),
    key(
        "sync",
        "warn_remaining_hours",
        "`run` logs a warning when less than these many hours remain before data could be lost...",
    ),
    key(
        "sync",
        "error_remaining_hours",
        "...and an error below these many.",
    ),
    key(
        "names",
        "enabled",
        "Whether rooms and people are named at all.",
    ),
    key(
        "names",
        "refresh_hours",
        "Hours before a named room or person is asked about again (renames are recorded then).",
    ),
    key(
        "names",
        "recheck_unresolvable_days",
        "Days before a room or person the APIs cannot name (e.g. a room created from WeChat) is asked again.",
    ),
    key(
        "names",
        "permit_hours",
        "Hours between fetches of who is archived (the archive scope).",
    ),
    key(
        "names",
        "consent_hours",
        "Hours between consent checks of each conversation.",
    ),
    key(
        "names",
        "max_calls_per_second",
        "API calls per second per corp at most (WeCom answers 45009 to more).",
    ),
    key(
        "search",
        "enabled",
        "Whether messages are indexed for `search` at all.",
    ),
    optional(
        "search",
        "dir",
        "The indexes' folder, one sub-folder per corp (default: <archive file stem>.search beside the\nfirst corp's archive, e.g. archive.search).",
        "\"archive.search\"",
    ),
    key(
        "search",
        "heap_mb",
        "The index writer's memory budget in MiB (16..=4000); more makes a rebuild of a large archive faster.",
    ),
];

impl ConfigFile {
    /// This configuration as a commented TOML file: every section in [`SECTION_DOCS`] order,
    /// every key under its comment from [`KEY_DOCS`], optional keys without a value shown
    /// commented out. Loading the text back gives this configuration.
    pub fn render_template(&self) -> Result<String, ConfigError> {
        let value = toml::Value::try_from(self).map_err(ConfigError::Template)?;
        let mut out = String::from(
            "# wecom-archive configuration. Every key is optional unless marked required.\n",
        );
        let names: Vec<&str> = ENV_OVERRIDES.iter().map(|(k, _)| *k).collect();
        let _ = writeln!(out, "# Environment overrides: {}", names.join(", "));
        for section in SECTION_DOCS {
            match value.get(section.section) {
                Some(toml::Value::Table(table)) => {
                    render_table(&mut out, &format!("[{}]", section.section), section, table);
                }
                Some(toml::Value::Array(tables)) if tables.len() == 1 => {
                    if let Some(toml::Value::Table(table)) = tables.first() {
                        render_table(&mut out, &format!("[{}]", section.section), section, table);
                    }
                }
                Some(toml::Value::Array(tables)) => {
                    for table in tables.iter().filter_map(toml::Value::as_table) {
                        render_table(
                            &mut out,
                            &format!("[[{}]]", section.section),
                            section,
                            table,
                        );
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

/// One section: its header and comment, its documented keys in order (set, or commented out),
/// then any key without a comment.
fn render_table(out: &mut String, header: &str, section: &SectionDoc, table: &toml::Table) {
    let _ = writeln!(out, "\n{header}");
    if !section.doc.is_empty() {
        comment(out, section.doc);
        out.push('\n');
    }
    let docs = KEY_DOCS.iter().filter(|d| d.section == section.section);
    for doc in docs.clone() {
        comment(out, doc.doc);
        match table.get(doc.key) {
            Some(v) => {
                let _ = writeln!(out, "{} = {v}", doc.key);
            }
            None => {
                let _ = writeln!(out, "# {} = {}", doc.key, doc.example.unwrap_or("\"...\""));
            }
        }
    }
    for (k, v) in table {
        if !docs.clone().any(|d| d.key == k) {
            let _ = writeln!(out, "{k} = {v}");
        }
    }
}

fn comment(out: &mut String, doc: &str) {
    for line in doc.lines() {
        let _ = writeln!(out, "# {line}");
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};
    use std::path::PathBuf;

    use super::*;
    use crate::config::schema::*;

    /// A file with every key set, so serializing it names every key the schema has. The
    /// struct literals list every field: a new field cannot be added without appearing here.
    fn every_key_set() -> ConfigFile {
        let corp = CorpSection {
            corp_id: "wwA".to_owned(),
            secret: "s\"x\\y".to_owned(),
            contacts_secret: Some("c".to_owned()),
            customer_secret: Some("k".to_owned()),
            source: SourceKind::Sdk,
            base_url: "http://127.0.0.1:9".to_owned(),
            proxy: Some("socks5h://127.0.0.1:1080".to_owned()),
            proxy_username: Some("u".to_owned()),
            proxy_password: Some("p".to_owned()),
            timeout_secs: 3,
            keys_dir: Some(PathBuf::from("/abs/keys")),
            archive_path: Some(PathBuf::from("a.db")),
            callback_token: Some("QDG6eK".to_owned()),
            callback_aes_key: Some("jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C".to_owned()),
            sdk_library: Some(PathBuf::from("lib/libWeWorkFinanceSdk_C.so")),
            sdk_proxy: Some("http://127.0.0.1:3128".to_owned()),
        };
        ConfigFile {
            archive: ArchiveSection {
                path: PathBuf::from("db/archive.db"),
                group_readable: true,
                ..ArchiveSection::default()
            },
            corp: vec![corp],
            keys: KeysSection {
                dir: PathBuf::from("k"),
            },
            server: ServerSection {
                listen: "127.0.0.1:0".to_owned(),
                max_connections: 7,
                header_timeout_secs: 1,
                body_timeout_secs: 2,
                idle_timeout_secs: 3,
                metrics_token: Some("t".to_owned()),
                metrics_refresh_secs: 4,
                tls_cert: Some(PathBuf::from("tls/cert.pem")),
                tls_key: Some(PathBuf::from("/etc/tls/key.pem")),
            },
            media: MediaSection {
                enabled: false,
                backend: "s3".to_owned(),
                dir: PathBuf::from("m"),
                concurrency: 2,
                max_md5_attempts: 3,
                max_attempts: 4,
                s3_endpoint: Some("https://s3.example.com".to_owned()),
                s3_region: Some("eu".to_owned()),
                s3_bucket: Some("b".to_owned()),
                s3_prefix: Some("p".to_owned()),
                s3_access_key: Some("ak".to_owned()),
                s3_secret_key: Some("sk".to_owned()),
            },
            sdk: SdkSection {
                max_calls: 1,
                max_rss_mb: 2,
                max_fds: 3,
                max_network_failures: 4,
                call_deadline_secs: 5,
                crash_limit: 6,
                crash_window_secs: 7,
            },
            sync: SyncSection {
                page_limit: 10,
                follow_interval_secs: 11,
                decrypt_threads: 12,
                retry_max_attempts: 13,
                retry_base_delay_ms: 14,
                retry_max_delay_ms: 15,
                poll_interval_secs: 16,
                retention_days: 17,
                warn_remaining_hours: 18,
                error_remaining_hours: 19,
                max_seq_jump: 20,
                max_response_mb: 21,
            },
            names: NamesSection {
                enabled: false,
                refresh_hours: 1,
                recheck_unresolvable_days: 2,
                permit_hours: 3,
                consent_hours: 4,
                max_calls_per_second: 2.5,
            },
            search: SearchSection {
                enabled: false,
                dir: Some(PathBuf::from("idx")),
                heap_mb: 64,
            },
            api: ApiSection {
                enabled: false,
                session_idle_minutes: 1,
                session_absolute_hours: 2,
                login_max_failures: 3,
                lockout_minutes: 4,
                login_attempts_per_address: 5,
                login_window_minutes: 6,
                allowed_origins: vec!["https://archive.example.com".to_owned()],
                max_body_kib: 7,
            },
        }
    }

    fn serialized_keys(file: &ConfigFile) -> BTreeSet<(String, String)> {
        let value = toml::Value::try_from(file).expect("serializes");
        let mut keys = BTreeSet::new();
        for (section, v) in value.as_table().expect("a table") {
            let tables: Vec<&toml::Table> = match v {
                toml::Value::Table(t) => vec![t],
                toml::Value::Array(a) => a.iter().filter_map(toml::Value::as_table).collect(),
                other => panic!("{section} is not a section: {other}"),
            };
            for t in tables {
                keys.extend(t.keys().map(|k| (section.clone(), k.clone())));
            }
        }
        keys
    }

    /// [`every_key_set`] on PostgreSQL: the archive keys only a PostgreSQL archive has set (a corp
    /// of such an archive has no `archive_path`).
    fn every_postgres_key_set() -> ConfigFile {
        let mut file = every_key_set();
        file.archive.url = Some("postgres://archive@db:5432/wecom".to_owned());
        file.archive.password = Some("pw".to_owned());
        file.archive.schema = Some("wecom".to_owned());
        file.archive.node = Some("n1".to_owned());
        file.archive.ca_file = Some(PathBuf::from("/etc/ssl/certs/db-ca.pem"));
        for c in &mut file.corp {
            c.archive_path = None;
        }
        file
    }

    #[test]
    fn every_key_the_schema_writes_has_a_doc_and_every_doc_names_a_key() {
        let mut written = serialized_keys(&every_key_set());
        written.extend(serialized_keys(&every_postgres_key_set()));
        let documented: BTreeSet<(String, String)> = KEY_DOCS
            .iter()
            .map(|d| (d.section.to_owned(), d.key.to_owned()))
            .collect();
        assert_eq!(documented.len(), KEY_DOCS.len(), "a key documented twice");
        let undocumented: Vec<_> = written.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&written).collect();
        assert!(
            undocumented.is_empty(),
            "keys without a doc: {undocumented:?}"
        );
        assert!(unknown.is_empty(), "docs naming no key: {unknown:?}");
        assert!(KEY_DOCS.iter().all(|d| !d.doc.trim().is_empty()));
        let sections: BTreeSet<&str> = SECTION_DOCS.iter().map(|s| s.section).collect();
        let written_sections: BTreeSet<&str> = written.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(sections, written_sections);
        // A key the defaults leave unset is one with an example to show.
        let defaults = serialized_keys(&ConfigFile::new(CorpSection::new("ww1")));
        for d in KEY_DOCS {
            let unset = !defaults.contains(&(d.section.to_owned(), d.key.to_owned()));
            assert_eq!(unset, d.example.is_some(), "{}.{}", d.section, d.key);
        }
    }

    /// Renders `file` into a folder, loads it back, and compares with what the value means.
    fn round_trip(file: &ConfigFile) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = file.render_template().expect("renders");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, &text).expect("write");
        let loaded = Config::load(&path, &HashMap::new()).expect("the rendered file loads");
        let meant = file
            .clone()
            .resolve(dir.path(), &HashMap::new())
            .expect("resolves");
        assert_eq!(loaded, meant, "{text}");
        text
    }

    #[test]
    fn rendered_templates_load_back_to_the_same_configuration() {
        let text = round_trip(&ConfigFile::new(CorpSection::new("ww1")));
        // Optional keys are shown, commented out, under their comment.
        assert!(
            text.contains("# Optional proxy for every request: http://host:port, socks5h://host:port (credentials below).\n# proxy = \"socks5h://127.0.0.1:1080\"\n"),
            "{text}"
        );
        assert!(text.contains("\n[corp]\n"), "{text}");

        let text = round_trip(&every_postgres_key_set());
        assert!(
            text.contains("url = \"postgres://archive@db:5432/wecom\"\n"),
            "{text}"
        );

        let full = every_key_set();
        let text = round_trip(&full);
        // Written as a literal string, which needs no escapes.
        assert!(text.contains("secret = 's\"x\\y'\n"), "{text}");
        assert!(text.contains("callback_token = \"QDG6eK\"\n"), "{text}");
        assert!(!text.contains("# proxy = "), "{text}");

        let mut two = full;
        let mut b = CorpSection::new("wwB");
        b.secret = "b".to_owned();
        two.corp.push(b);
        let text = round_trip(&two);
        assert_eq!(text.matches("\n[[corp]]\n").count(), 2, "{text}");
    }

    #[test]
    fn the_example_configuration_is_the_rendered_init_template() {
        let text = include_str!("../../../../config.example.toml");
        let file: ConfigFile = toml::from_str(text).expect("config.example.toml parses");
        let init = ConfigFile::new(CorpSection::new("ww_REPLACE_WITH_YOUR_CORP_ID"));
        assert_eq!(file, init);
        let parsed = file
            .resolve(std::path::Path::new("/srv"), &HashMap::new())
            .expect("resolves");
        assert_eq!(
            parsed.corp(None).expect("corp").base_url,
            wecom_client::WECOM_BASE_URL
        );
        assert_eq!(
            text,
            init.render_template().expect("renders"),
            "regenerate config.example.toml with `wecom-archive init`"
        );
    }
}
