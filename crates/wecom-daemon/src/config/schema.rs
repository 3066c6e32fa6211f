//! The configuration's types: the file as written ([`ConfigFile`] and its sections, with their
//! defaults) and the configuration after overrides and validation ([`Config`], [`CorpConfig`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The file as written: `[corp]` for one corp, or `[[corp]]` once per corp. Unknown keys are
/// errors; every section but `[corp]` may be left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[archive]`: the SQLite archive and the modes of what it writes.
    #[serde(default)]
    pub archive: ArchiveSection,
    /// `[corp]` or `[[corp]]`: the corps archived (at least one).
    #[serde(deserialize_with = "one_or_many")]
    pub corp: Vec<CorpSection>,
    /// `[keys]`: where the private keys live.
    #[serde(default)]
    pub keys: KeysSection,
    /// `[server]`: the daemon's HTTP server.
    #[serde(default)]
    pub server: ServerSection,
    /// `[media]`: media downloads and their storage.
    #[serde(default)]
    pub media: MediaSection,
    /// `[sdk]`: supervision of the vendor-library workers.
    #[serde(default)]
    pub sdk: SdkSection,
    /// `[sync]`: pulling and decrypting records.
    #[serde(default)]
    pub sync: SyncSection,
    /// `[names]`: naming rooms and people.
    #[serde(default)]
    pub names: NamesSection,
    /// `[search]`: the full-text search index.
    #[serde(default)]
    pub search: SearchSection,
    /// `[api]`: the JSON HTTP API (sessions, logins, origins, body sizes).
    #[serde(default)]
    pub api: ApiSection,
}

impl ConfigFile {
    /// A file for one corp with every other section at its defaults.
    pub fn new(corp: CorpSection) -> ConfigFile {
        ConfigFile {
            archive: ArchiveSection::default(),
            corp: vec![corp],
            keys: KeysSection::default(),
            server: ServerSection::default(),
            media: MediaSection::default(),
            sdk: SdkSection::default(),
            sync: SyncSection::default(),
            names: NamesSection::default(),
            search: SearchSection::default(),
            api: ApiSection::default(),
        }
    }
}

/// A table or an array of tables, keeping the inner error messages (an untagged enum would
/// replace "unknown field `x`" with "did not match any variant").
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a [corp] table or [[corp]] tables")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|t| vec![t])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::<T>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

/// `[archive]`: where the archive lives (an SQLite file, or a PostgreSQL database several nodes
/// share) and who may read what it writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArchiveSection {
    /// The SQLite archive file (relative to the configuration file); a corp's `archive_path`
    /// wins over it. Unused when `url` is set.
    pub path: PathBuf,
    /// Whether the owner's group may read what the archive writes (0640 files, 0750 folders);
    /// by default only the owner may (0600, 0700).
    pub group_readable: bool,
    /// `postgres://user@host:5432/database`: keep every corp's archive in PostgreSQL instead of
    /// SQLite files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The PostgreSQL password (prefer `WECOM_ARCHIVE_DB_PASSWORD`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The PostgreSQL schema holding the archive (default: the user's default, `public`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// This node's name among the nodes sharing a PostgreSQL archive (default: host name and
    /// process id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Seconds a node holds a corp's lease without renewing it: a dead node's corps are taken
    /// over within this time.
    pub lease_secs: u64,
    /// PostgreSQL connections at most per node.
    pub pool_size: u32,
    /// A PEM file of the CA certificate(s) that signed the PostgreSQL server's certificate
    /// (relative to the configuration file), trusted besides the system's roots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl Default for ArchiveSection {
    fn default() -> Self {
        ArchiveSection {
            path: PathBuf::from("archive.db"),
            group_readable: false,
            url: None,
            password: None,
            schema: None,
            node: None,
            lease_secs: 15,
            pool_size: 8,
            ca_file: None,
        }
    }
}

/// One `[corp]` (or `[[corp]]`) section as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpSection {
    /// Required: the corp id (企业ID).
    pub corp_id: String,
    /// The 会话内容存档 secret (better set through the environment).
    #[serde(default)]
    pub secret: String,
    /// The 通讯录 secret, for employees' names (`user/get`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts_secret: Option<String>,
    /// The 客户联系 secret, for customer groups and external contacts (`externalcontact/*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_secret: Option<String>,
    /// Where records come from.
    #[serde(default = "default_source")]
    pub source: SourceKind,
    /// Where WeCom's APIs live (the emulator's address in tests and demos).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// A proxy for every request: `http://host:port` or `socks5h://host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// The proxy's user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_username: Option<String>,
    /// The proxy's password (better set through the environment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_password: Option<String>,
    /// Seconds per HTTP request.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// This corp's private keys (default: `[keys] dir`, or its `<corp_id>` sub-folder with
    /// several corps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys_dir: Option<PathBuf>,
    /// This corp's archive (default: `[archive] path`; several corps may share one file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_path: Option<PathBuf>,
    /// The Token of the 会话内容存档 callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_token: Option<String>,
    /// The EncodingAESKey of the 会话内容存档 callback (43 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_aes_key: Option<String>,
    /// `source = "sdk"`: path of `libWeWorkFinanceSdk_C.so`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk_library: Option<PathBuf>,
    /// `source = "sdk"`: the proxy handed to the vendor library (default: `proxy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk_proxy: Option<String>,
}

impl CorpSection {
    /// A corp with no secret and every optional key unset, against WeCom itself.
    pub fn new(corp_id: &str) -> CorpSection {
        CorpSection {
            corp_id: corp_id.to_owned(),
            secret: String::new(),
            contacts_secret: None,
            customer_secret: None,
            source: default_source(),
            base_url: default_base_url(),
            proxy: None,
            proxy_username: None,
            proxy_password: None,
            timeout_secs: default_timeout(),
            keys_dir: None,
            archive_path: None,
            callback_token: None,
            callback_aes_key: None,
            sdk_library: None,
            sdk_proxy: None,
        }
    }
}

fn default_source() -> SourceKind {
    SourceKind::Native
}
fn default_base_url() -> String {
    wecom_client::WECOM_BASE_URL.to_owned()
}
fn default_timeout() -> u64 {
    10
}

/// Where a corp's records come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Our own Rust client for WeCom's archive protocol (default).
    Native,
    /// WeCom's vendor library `libWeWorkFinanceSdk_C.so`, in supervised worker processes.
    Sdk,
}

impl std::str::FromStr for SourceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "native" => Ok(SourceKind::Native),
            "sdk" => Ok(SourceKind::Sdk),
            other => Err(format!("unknown source `{other}` (native or sdk)")),
        }
    }
}

/// `[keys]`: the private keys' folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysSection {
    /// Folder of private keys named `v<version>.pem` (with several corps: one sub-folder per
    /// corp id).
    pub dir: PathBuf,
}

impl Default for KeysSection {
    fn default() -> Self {
        KeysSection {
            dir: PathBuf::from("keys"),
        }
    }
}

/// `[server]`: the daemon's HTTP server (`run`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// The address `run` listens on.
    pub listen: String,
    /// Open HTTP connections at most; lowered at start to fit the descriptor limit with room
    /// kept for the archive, media downloads and the vendor library's workers.
    pub max_connections: usize,
    /// Seconds a client has to send a request's head (start line and headers).
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's body.
    pub body_timeout_secs: u64,
    /// Seconds a connection may stay without any traffic (keep-alive included) before it is closed.
    pub idle_timeout_secs: u64,
    /// When set, `/metrics` needs `Authorization: Bearer <token>`. Prefer the
    /// WECOM_ARCHIVE_METRICS_TOKEN environment variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_token: Option<String>,
    /// Seconds between refreshes of the archive figures `/metrics` and `/readyz` show (they are
    /// also refreshed after every sync that stored records).
    pub metrics_refresh_secs: u64,
    /// The PEM certificate chain to serve HTTPS with (relative to the configuration file); set
    /// with `tls_key`, or neither for plain HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert` (relative to the configuration file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: "127.0.0.1:8780".to_owned(),
            max_connections: 512,
            header_timeout_secs: 10,
            body_timeout_secs: 10,
            idle_timeout_secs: 60,
            metrics_token: None,
            metrics_refresh_secs: 30,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// `[media]`: where and how media objects are downloaded and kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaSection {
    /// Download media after every sync (`sync --no-media` skips it for one run).
    pub enabled: bool,
    /// `fs` (a folder, default) or `s3` (S3-compatible object storage).
    pub backend: String,
    /// `fs`: the folder; objects are stored as objects/<aa>/<sha256>.
    pub dir: PathBuf,
    /// Downloads at once per corp.
    pub concurrency: usize,
    /// Whole-object downloads on md5 mismatch before the bytes go to quarantine.
    pub max_md5_attempts: u32,
    /// Attempts for transient failures before a job fails for good.
    pub max_attempts: u32,
    /// `s3`: the endpoint URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_endpoint: Option<String>,
    /// `s3`: the region (default us-east-1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_region: Option<String>,
    /// `s3`: the bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    /// `s3`: a prefix for every key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_prefix: Option<String>,
    /// `s3`: the access key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_access_key: Option<String>,
    /// `s3`: the secret key. Prefer the WECOM_ARCHIVE_S3_SECRET_KEY environment variable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_secret_key: Option<String>,
}

impl Default for MediaSection {
    fn default() -> Self {
        MediaSection {
            enabled: true,
            backend: "fs".to_owned(),
            dir: PathBuf::from("media"),
            concurrency: 4,
            max_md5_attempts: 5,
            max_attempts: 8,
            s3_endpoint: None,
            s3_region: None,
            s3_bucket: None,
            s3_prefix: None,
            s3_access_key: None,
            s3_secret_key: None,
        }
    }
}

/// `[sdk]`: supervision limits of the vendor-library workers (`source = "sdk"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SdkSection {
    /// Recycle a worker after this many calls.
    pub max_calls: u64,
    /// Recycle a worker whose resident memory grows past this (the library leaks on failures).
    pub max_rss_mb: u64,
    /// Recycle a worker holding more open descriptors than this.
    pub max_fds: u64,
    /// Recycle a worker after this many network failures (each non-2xx reply leaks in the library).
    pub max_network_failures: u32,
    /// Kill a worker whose call takes longer than this (0 = twice the timeout plus 10 s).
    pub call_deadline_secs: u64,
    /// Stop restarting after this many crashes within `crash_window_secs`.
    pub crash_limit: u32,
    /// The window `crash_limit` counts crashes in, in seconds.
    pub crash_window_secs: u64,
}

impl Default for SdkSection {
    fn default() -> Self {
        SdkSection {
            max_calls: 10_000,
            max_rss_mb: 512,
            max_fds: 256,
            max_network_failures: 50,
            call_deadline_secs: 0,
            crash_limit: 5,
            crash_window_secs: 600,
        }
    }
}

/// `[sync]`: pulling, decrypting and the time-to-loss figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSection {
    /// Records per request (1..=1000).
    pub page_limit: u32,
    /// Seconds between polls with `sync --follow`.
    pub follow_interval_secs: u64,
    /// Threads decrypting a page; 0 = two per core.
    pub decrypt_threads: usize,
    /// Attempts of a transient failure (network, 5xx, busy) before it counts.
    pub retry_max_attempts: u32,
    /// First backoff delay of those retries, in milliseconds.
    pub retry_base_delay_ms: u64,
    /// Longest backoff delay of those retries, in milliseconds.
    pub retry_max_delay_ms: u64,
    /// `run`: seconds between reconciliation polls per corp (callbacks wake it earlier).
    pub poll_interval_secs: u64,
    /// How long WeCom is assumed to keep archive data; time-to-loss is measured against it and
    /// media jobs nearest to this edge go first. It never expires a media job (only WeCom's
    /// 301048 does).
    pub retention_days: u64,
    /// `run` logs a warning when less than this remains before data could be lost...
    pub warn_remaining_hours: u64,
    /// ...and an error below this.
    pub error_remaining_hours: u64,
    /// The largest plausible step of seq past a non-zero cursor or between consecutive records of
    /// a page; records further away are quarantined and never move the cursor.
    pub max_seq_jump: u64,
    /// Largest HTTP response body read from WeCom (pages, tokens, naming APIs), in MiB; a larger
    /// one is refused unread. The vendor-library workers' reply frames are capped accordingly.
    pub max_response_mb: u64,
}

impl Default for SyncSection {
    fn default() -> Self {
        SyncSection {
            page_limit: 1000,
            follow_interval_secs: 10,
            decrypt_threads: 0,
            retry_max_attempts: 8,
            retry_base_delay_ms: 500,
            retry_max_delay_ms: 30_000,
            poll_interval_secs: 180,
            retention_days: 5,
            warn_remaining_hours: 72,
            error_remaining_hours: 24,
            max_seq_jump: wecom_sync::DEFAULT_MAX_SEQ_JUMP,
            max_response_mb: DEFAULT_MAX_RESPONSE_MB,
        }
    }
}

/// `[sync] max_response_mb` when not set: the native client's own cap.
pub const DEFAULT_MAX_RESPONSE_MB: u64 = wecom_client::DEFAULT_MAX_RESPONSE_BYTES >> 20;

/// `[names]`: naming rooms and people through WeCom's HTTP APIs (after each `sync`,
/// continuously in `run`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NamesSection {
    /// Whether rooms and people are named at all.
    pub enabled: bool,
    /// Named rooms and people are asked about again after this many hours (renames show then).
    pub refresh_hours: u64,
    /// Rooms and people the APIs cannot name are asked about again after this many days.
    pub recheck_unresolvable_days: u64,
    /// Hours between fetches of the archive scope (get_permit_user_list).
    pub permit_hours: u64,
    /// Hours between consent checks of each conversation (check_single_agree/check_room_agree).
    pub consent_hours: u64,
    /// API calls per second per corp at most.
    pub max_calls_per_second: f64,
}

impl Default for NamesSection {
    fn default() -> Self {
        NamesSection {
            enabled: true,
            refresh_hours: 24,
            recheck_unresolvable_days: 7,
            permit_hours: 6,
            consent_hours: 24,
            max_calls_per_second: 10.0,
        }
    }
}

/// `[search]`: the full-text search index, one folder per corp, kept current after each `sync`
/// and continuously in `run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchSection {
    /// Whether messages are indexed at all (and `search` answers).
    pub enabled: bool,
    /// The folder of the indexes (one sub-folder per corp id); default: `<archive file stem>.search`
    /// beside the first corp's archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// The index writer's memory budget, in MiB (16..=4000).
    pub heap_mb: u64,
}

impl Default for SearchSection {
    fn default() -> Self {
        SearchSection {
            enabled: true,
            dir: None,
            heap_mb: DEFAULT_SEARCH_HEAP_MB,
        }
    }
}

/// `[search] heap_mb` when not set.
pub const DEFAULT_SEARCH_HEAP_MB: u64 = 128;

/// `[api]`: the JSON HTTP API served beside the callbacks: its sessions, its defences against
/// password guessing, the origins it trusts and the size of what it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSection {
    /// Whether the API is served at all.
    pub enabled: bool,
    /// Minutes a session lives without a request (1..=1440).
    pub session_idle_minutes: u64,
    /// Hours a session lives at most, however busy (1..=720).
    pub session_absolute_hours: u64,
    /// Consecutive failed logins of one user after which each further failure locks the user
    /// (1..=100).
    pub login_max_failures: u32,
    /// Minutes such a lock lasts (1..=1440).
    pub lockout_minutes: u64,
    /// Login attempts one client address may make per `login_window_minutes` (1..=10000).
    pub login_attempts_per_address: u32,
    /// The window of `login_attempts_per_address`, in minutes (1..=1440).
    pub login_window_minutes: u64,
    /// Origins (`scheme://host[:port]`) accepted on state-changing requests besides the server's
    /// own. After validation each is in the form browsers send (lower case, default port left out).
    pub allowed_origins: Vec<String>,
    /// Largest API request body, in KiB (1..=10240).
    pub max_body_kib: u64,
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            enabled: true,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            login_max_failures: 5,
            lockout_minutes: 15,
            login_attempts_per_address: 20,
            login_window_minutes: 5,
            allowed_origins: Vec::new(),
            max_body_kib: 64,
        }
    }
}

/// `[search]` after validation, its folder resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchConfig {
    /// Whether messages are indexed (and `search` answers).
    pub enabled: bool,
    /// The folder holding one index folder per corp.
    pub dir: PathBuf,
    /// The index writer's memory budget, in MiB.
    pub heap_mb: u64,
}

/// The configuration after overrides, with every corp's paths and secrets resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The corps, in the file's order (at least one).
    pub corps: Vec<CorpConfig>,
    /// `[sync]`, validated.
    pub sync: SyncSection,
    /// `[server]`, validated, the metrics token trimmed (`None` when blank), `tls_cert` and
    /// `tls_key` both set (resolved against the file's folder) or both unset.
    pub server: ServerSection,
    /// `[sdk]` as written.
    pub sdk: SdkSection,
    /// `[media]`, validated, its folder resolved against the file's.
    pub media: MediaSection,
    /// `[names]`, validated.
    pub names: NamesSection,
    /// `[search]`, validated, its folder resolved (against the file's, or beside the first
    /// corp's archive).
    pub search: SearchConfig,
    /// `[api]`, validated, its origins normalised.
    pub api: ApiSection,
    /// `[archive] group_readable`: let the owner's group read the archive and media (modes
    /// 0640/0750 instead of 0600/0700).
    pub group_readable: bool,
    /// `[archive] url` and its companions: the PostgreSQL archive every corp lives in, when set
    /// (then each corp's `store` is it).
    pub postgres: Option<wecom_store::PgOptions>,
    /// `[archive] lease_secs`: how long a node holds a corp without renewing.
    pub lease_secs: u64,
}

/// One corp, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpConfig {
    /// The corp id (企业ID), checked against WeCom's alphabet.
    pub corp_id: String,
    /// The archive secret; may be empty until a command needs it.
    pub secret: String,
    /// The 通讯录 secret, for employees' names (`user/get`).
    pub contacts_secret: Option<String>,
    /// The 客户联系 secret, for customer groups and external contacts (`externalcontact/*`).
    pub customer_secret: Option<String>,
    /// Where records come from.
    pub source: SourceKind,
    /// Where WeCom's APIs live.
    pub base_url: String,
    /// A proxy for every request.
    pub proxy: Option<String>,
    /// The proxy's user name.
    pub proxy_username: Option<String>,
    /// The proxy's password.
    pub proxy_password: Option<String>,
    /// Seconds per HTTP request (at least 1).
    pub timeout_secs: u64,
    /// Private keys of this corp, `v<N>.pem`.
    pub keys_dir: PathBuf,
    /// The SQLite archive holding this corp (several corps may share one file); unused when the
    /// archive is in PostgreSQL.
    pub archive_path: PathBuf,
    /// Where this corp's archive lives: its SQLite file, or the PostgreSQL archive.
    pub store: wecom_store::StoreLocation,
    /// Token and EncodingAESKey of the 会话内容存档 callback, when configured.
    pub callback: Option<CallbackSettings>,
    /// `source = "sdk"`: the vendor library.
    pub sdk_library: Option<PathBuf>,
    /// `source = "sdk"`: the proxy handed to the vendor library (default: `proxy`).
    pub sdk_proxy: Option<String>,
}

/// The 会话内容存档 callback's secrets, checked to form a valid key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackSettings {
    /// The Token from the console.
    pub token: String,
    /// The EncodingAESKey from the console (43 characters).
    pub encoding_aes_key: String,
}
