//! The configuration file: one typed TOML document (unknown keys are errors), environment
//! overrides passed in as data, and paths resolved against the file's folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use wecom_client::{ClientConfig, ProxyConfig, RetryPolicy, WECOM_BASE_URL};

/// The file as written: `[corp]` for one corp, or `[[corp]]` once per corp.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    archive: ArchiveSection,
    corp: OneOrMany<CorpSection>,
    #[serde(default)]
    keys: KeysSection,
    #[serde(default)]
    sync: SyncSection,
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    sdk: SdkSection,
    #[serde(default)]
    media: MediaSection,
    #[serde(default)]
    names: NamesSection,
}

#[derive(Debug, Clone)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

/// A table or an array of tables, keeping the inner error messages (an untagged enum would
/// replace "unknown field `x`" with "did not match any variant").
impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a [corp] table or [[corp]] tables")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(OneOrMany::One)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Self::Value, A::Error> {
                Vec::<T>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(OneOrMany::Many)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The configuration after overrides, with every corp's paths and secrets resolved.
#[derive(Debug, Clone)]
pub struct Config {
    pub corps: Vec<CorpConfig>,
    pub sync: SyncSection,
    pub server: ServerSection,
    pub sdk: SdkSection,
    pub media: MediaSection,
    pub names: NamesSection,
    /// `[archive] group_readable`: let the owner's group read the archive and media (modes
    /// 0640/0750 instead of 0600/0700).
    pub group_readable: bool,
}

/// Naming rooms and people through WeCom's HTTP APIs (after each `sync`, continuously in `run`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamesSection {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Named rooms and people are asked about again after this many hours (renames show then).
    #[serde(default = "default_names_refresh")]
    pub refresh_hours: u64,
    /// Rooms and people the APIs cannot name are asked about again after this many days.
    #[serde(default = "default_names_recheck")]
    pub recheck_unresolvable_days: u64,
    /// Hours between fetches of the archive scope (get_permit_user_list).
    #[serde(default = "default_permit_hours")]
    pub permit_hours: u64,
    /// Hours between consent checks of each conversation (check_single_agree/check_room_agree).
    #[serde(default = "default_names_refresh")]
    pub consent_hours: u64,
    /// API calls per second per corp at most.
    #[serde(default = "default_names_rate")]
    pub max_calls_per_second: f64,
}

impl Default for NamesSection {
    fn default() -> Self {
        NamesSection {
            enabled: true,
            refresh_hours: default_names_refresh(),
            recheck_unresolvable_days: default_names_recheck(),
            permit_hours: default_permit_hours(),
            consent_hours: default_names_refresh(),
            max_calls_per_second: default_names_rate(),
        }
    }
}

fn default_names_refresh() -> u64 {
    24
}
fn default_names_recheck() -> u64 {
    7
}
fn default_permit_hours() -> u64 {
    6
}
fn default_names_rate() -> f64 {
    10.0
}

/// Where and how media objects are downloaded and kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSection {
    /// Download media after every sync (`sync --no-media` skips it for one run).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `fs` (a folder, default) or `s3` (S3-compatible object storage).
    #[serde(default = "default_backend")]
    pub backend: String,
    /// `fs`: the folder; objects are stored as objects/<aa>/<sha256>.
    #[serde(default = "default_media_dir")]
    pub dir: PathBuf,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Whole-object downloads on md5 mismatch before the bytes go to quarantine.
    #[serde(default = "default_md5_attempts")]
    pub max_md5_attempts: u32,
    /// Attempts for transient failures before a job fails for good.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    #[serde(default)]
    pub s3_endpoint: Option<String>,
    #[serde(default)]
    pub s3_region: Option<String>,
    #[serde(default)]
    pub s3_bucket: Option<String>,
    #[serde(default)]
    pub s3_prefix: Option<String>,
    #[serde(default)]
    pub s3_access_key: Option<String>,
    /// Prefer the WECOM_ARCHIVE_S3_SECRET_KEY environment variable.
    #[serde(default)]
    pub s3_secret_key: Option<String>,
}

impl Default for MediaSection {
    fn default() -> Self {
        MediaSection {
            enabled: true,
            backend: default_backend(),
            dir: default_media_dir(),
            concurrency: default_concurrency(),
            max_md5_attempts: default_md5_attempts(),
            max_attempts: default_attempts(),
            s3_endpoint: None,
            s3_region: None,
            s3_bucket: None,
            s3_prefix: None,
            s3_access_key: None,
            s3_secret_key: None,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_backend() -> String {
    "fs".to_owned()
}
fn default_media_dir() -> PathBuf {
    PathBuf::from("media")
}
fn default_concurrency() -> usize {
    4
}
fn default_md5_attempts() -> u32 {
    5
}

/// Supervision limits of the vendor-library workers (`source = "sdk"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdkSection {
    /// Recycle a worker after this many calls.
    #[serde(default = "default_sdk_max_calls")]
    pub max_calls: u64,
    /// Recycle a worker whose resident memory grows past this (the library leaks on failures).
    #[serde(default = "default_sdk_max_rss_mb")]
    pub max_rss_mb: u64,
    /// Recycle a worker holding more open descriptors than this.
    #[serde(default = "default_sdk_max_fds")]
    pub max_fds: u64,
    /// Recycle a worker after this many network failures (each non-2xx reply leaks in the library).
    #[serde(default = "default_sdk_max_net")]
    pub max_network_failures: u32,
    /// Kill a worker whose call takes longer than this (0 = twice the timeout plus 10 s).
    #[serde(default)]
    pub call_deadline_secs: u64,
    /// Stop restarting after this many crashes within `crash_window_secs`.
    #[serde(default = "default_sdk_crash_limit")]
    pub crash_limit: u32,
    #[serde(default = "default_sdk_crash_window")]
    pub crash_window_secs: u64,
}

impl Default for SdkSection {
    fn default() -> Self {
        SdkSection {
            max_calls: default_sdk_max_calls(),
            max_rss_mb: default_sdk_max_rss_mb(),
            max_fds: default_sdk_max_fds(),
            max_network_failures: default_sdk_max_net(),
            call_deadline_secs: 0,
            crash_limit: default_sdk_crash_limit(),
            crash_window_secs: default_sdk_crash_window(),
        }
    }
}

fn default_sdk_max_calls() -> u64 {
    10_000
}
fn default_sdk_max_rss_mb() -> u64 {
    512
}
fn default_sdk_max_fds() -> u64 {
    256
}
fn default_sdk_max_net() -> u32 {
    50
}
fn default_sdk_crash_limit() -> u32 {
    5
}
fn default_sdk_crash_window() -> u64 {
    600
}

/// One corp, fully resolved.
#[derive(Debug, Clone)]
pub struct CorpConfig {
    pub corp_id: String,
    pub secret: String,
    /// The 通讯录 secret, for employees' names (`user/get`).
    pub contacts_secret: Option<String>,
    /// The 客户联系 secret, for customer groups and external contacts (`externalcontact/*`).
    pub customer_secret: Option<String>,
    pub source: SourceKind,
    pub base_url: String,
    pub proxy: Option<String>,
    pub proxy_username: Option<String>,
    pub proxy_password: Option<String>,
    pub timeout_secs: u64,
    /// Private keys of this corp, `v<N>.pem`.
    pub keys_dir: PathBuf,
    /// The SQLite archive holding this corp (several corps may share one file).
    pub archive_path: PathBuf,
    /// Token and EncodingAESKey of the 会话内容存档 callback, when configured.
    pub callback: Option<CallbackSettings>,
    /// `source = "sdk"`: the vendor library.
    pub sdk_library: Option<PathBuf>,
    /// `source = "sdk"`: the proxy handed to the vendor library (default: `proxy`).
    pub sdk_proxy: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CallbackSettings {
    pub token: String,
    pub encoding_aes_key: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSection {
    /// The SQLite archive file.
    #[serde(default = "default_db")]
    pub path: PathBuf,
    /// Whether the owner's group may read what the archive writes (0640 files, 0750 folders);
    /// by default only the owner may (0600, 0700).
    #[serde(default)]
    pub group_readable: bool,
}

impl Default for ArchiveSection {
    fn default() -> Self {
        ArchiveSection {
            path: default_db(),
            group_readable: false,
        }
    }
}

fn default_db() -> PathBuf {
    PathBuf::from("archive.db")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpSection {
    corp_id: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    contacts_secret: Option<String>,
    #[serde(default)]
    customer_secret: Option<String>,
    #[serde(default = "default_source")]
    source: SourceKind,
    #[serde(default = "default_base_url")]
    base_url: String,
    #[serde(default)]
    proxy: Option<String>,
    #[serde(default)]
    proxy_username: Option<String>,
    #[serde(default)]
    proxy_password: Option<String>,
    #[serde(default = "default_timeout")]
    timeout_secs: u64,
    #[serde(default)]
    keys_dir: Option<PathBuf>,
    #[serde(default)]
    archive_path: Option<PathBuf>,
    #[serde(default)]
    callback_token: Option<String>,
    #[serde(default)]
    callback_aes_key: Option<String>,
    /// `source = "sdk"`: path of `libWeWorkFinanceSdk_C.so`.
    #[serde(default)]
    sdk_library: Option<PathBuf>,
    /// `source = "sdk"`: the proxy handed to the vendor library (default: `proxy`).
    #[serde(default)]
    sdk_proxy: Option<String>,
}

fn default_source() -> SourceKind {
    SourceKind::Native
}
fn default_base_url() -> String {
    WECOM_BASE_URL.to_owned()
}
fn default_timeout() -> u64 {
    10
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysSection {
    /// Folder of private keys named `v<version>.pem` (with several corps: one sub-folder per corp id).
    #[serde(default = "default_keys_dir")]
    dir: PathBuf,
}

impl Default for KeysSection {
    fn default() -> Self {
        KeysSection {
            dir: default_keys_dir(),
        }
    }
}

fn default_keys_dir() -> PathBuf {
    PathBuf::from("keys")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    #[serde(default = "default_limit")]
    pub page_limit: u32,
    #[serde(default = "default_interval")]
    pub follow_interval_secs: u64,
    /// 0 = two per core.
    #[serde(default)]
    pub decrypt_threads: usize,
    #[serde(default = "default_attempts")]
    pub retry_max_attempts: u32,
    #[serde(default = "default_base_delay")]
    pub retry_base_delay_ms: u64,
    #[serde(default = "default_max_delay")]
    pub retry_max_delay_ms: u64,
    /// `run`: seconds between reconciliation polls per corp (callbacks wake it earlier).
    #[serde(default = "default_poll")]
    pub poll_interval_secs: u64,
    /// How long WeCom is assumed to keep archive data; time-to-loss is measured against it and
    /// media jobs nearest to this edge go first. It never expires a media job (only WeCom's
    /// 301048 does).
    #[serde(default = "default_retention")]
    pub retention_days: u64,
    /// `run` logs a warning when less than this remains before data could be lost...
    #[serde(default = "default_warn_hours")]
    pub warn_remaining_hours: u64,
    /// ...and an error below this.
    #[serde(default = "default_error_hours")]
    pub error_remaining_hours: u64,
    /// The largest plausible step of seq past a non-zero cursor or between consecutive records of
    /// a page; records further away are quarantined and never move the cursor.
    #[serde(default = "default_max_seq_jump")]
    pub max_seq_jump: u64,
    /// Largest HTTP response body read from WeCom (pages, tokens, naming APIs), in MiB; a larger
    /// one is refused unread. The vendor-library workers' reply frames are capped accordingly.
    #[serde(default = "default_max_response_mb")]
    pub max_response_mb: u64,
}

impl Default for SyncSection {
    fn default() -> Self {
        SyncSection {
            page_limit: default_limit(),
            follow_interval_secs: default_interval(),
            decrypt_threads: 0,
            retry_max_attempts: default_attempts(),
            retry_base_delay_ms: default_base_delay(),
            retry_max_delay_ms: default_max_delay(),
            poll_interval_secs: default_poll(),
            retention_days: default_retention(),
            warn_remaining_hours: default_warn_hours(),
            error_remaining_hours: default_error_hours(),
            max_seq_jump: default_max_seq_jump(),
            max_response_mb: default_max_response_mb(),
        }
    }
}

fn default_max_seq_jump() -> u64 {
    wecom_sync::DEFAULT_MAX_SEQ_JUMP
}

fn default_limit() -> u32 {
    1000
}
fn default_interval() -> u64 {
    10
}
fn default_attempts() -> u32 {
    8
}
fn default_base_delay() -> u64 {
    500
}
fn default_max_delay() -> u64 {
    30_000
}
fn default_poll() -> u64 {
    180
}
fn default_retention() -> u64 {
    5
}
fn default_warn_hours() -> u64 {
    72
}
fn default_error_hours() -> u64 {
    24
}
fn default_max_response_mb() -> u64 {
    wecom_client::DEFAULT_MAX_RESPONSE_BYTES >> 20
}

/// Most MiB `[sync] max_response_mb` may be (the vendor-library frames carry a body as base64).
const MAX_RESPONSE_MB_LIMIT: u64 = 1024;

/// Whether a corp id is made of what WeCom's corp ids are made of (`ww`/`wx` + letters and digits;
/// placeholders use `_` and `-`), at most 64 characters. Anything else — a space, a control
/// character, an ANSI escape — is a typo or a paste accident, and would reach every log line,
/// file name and request.
fn corp_id_problem(id: &str) -> Option<String> {
    let shown = wecom_wire::text::escape_controls(id);
    if id.len() > 64 {
        return Some(format!(
            "corp_id `{shown}` is {} characters long; WeCom's corp ids are about 18 (ww + letters and digits)",
            id.chars().count()
        ));
    }
    let bad: Vec<String> = id
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        .map(|c| match c {
            ' ' => "a space".to_owned(),
            c if wecom_wire::text::is_unsafe_char(c) => {
                format!(
                    "the control character {}",
                    wecom_wire::text::escape_controls(&c.to_string())
                )
            }
            c => format!("`{c}`"),
        })
        .collect();
    if bad.is_empty() {
        return None;
    }
    Some(format!(
        "corp_id `{shown}` contains {}: a corp id has only letters and digits (企业ID, e.g. ww4b3c2d1e0f9a8b7c, from 管理后台 → 我的企业 → 企业信息); check the file and WECOM_ARCHIVE_CORP_ID for stray characters",
        bad.join(", ")
    ))
}

/// The daemon's HTTP server (`run`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Open HTTP connections at most; lowered at start to fit the descriptor limit with room
    /// kept for the archive, media downloads and the vendor library's workers.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Seconds a client has to send a request's head (start line and headers).
    #[serde(default = "default_http_timeout")]
    pub header_timeout_secs: u64,
    /// Seconds a client has to send a request's body.
    #[serde(default = "default_http_timeout")]
    pub body_timeout_secs: u64,
    /// Seconds a connection may stay without any traffic (keep-alive included) before it is closed.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: u64,
    /// When set, `/metrics` needs `Authorization: Bearer <token>`. Prefer the
    /// WECOM_ARCHIVE_METRICS_TOKEN environment variable.
    #[serde(default)]
    pub metrics_token: Option<String>,
    /// Seconds between refreshes of the archive figures `/metrics` and `/readyz` show (they are
    /// also refreshed after every sync that stored records).
    #[serde(default = "default_metrics_refresh")]
    pub metrics_refresh_secs: u64,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: default_listen(),
            max_connections: default_max_connections(),
            header_timeout_secs: default_http_timeout(),
            body_timeout_secs: default_http_timeout(),
            idle_timeout_secs: default_idle_timeout(),
            metrics_token: None,
            metrics_refresh_secs: default_metrics_refresh(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8780".to_owned()
}
fn default_max_connections() -> usize {
    512
}
fn default_http_timeout() -> u64 {
    10
}
fn default_idle_timeout() -> u64 {
    60
}
fn default_metrics_refresh() -> u64 {
    30
}

/// Environment variables that override the file (secrets belong in the environment). With several
/// corps, `WECOM_ARCHIVE_SECRET_<CORPID>` (corp id upper-cased) sets one corp's secret, and
/// `WECOM_ARCHIVE_CONTACTS_SECRET_<CORPID>` / `WECOM_ARCHIVE_CUSTOMER_SECRET_<CORPID>` its others.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("WECOM_ARCHIVE_CORP_ID", "corp.corp_id (one corp only)"),
    ("WECOM_ARCHIVE_SECRET", "corp.secret (one corp only)"),
    (
        "WECOM_ARCHIVE_CONTACTS_SECRET",
        "corp.contacts_secret (one corp only)",
    ),
    (
        "WECOM_ARCHIVE_CUSTOMER_SECRET",
        "corp.customer_secret (one corp only)",
    ),
    ("WECOM_ARCHIVE_BASE_URL", "corp.base_url"),
    ("WECOM_ARCHIVE_PROXY", "corp.proxy"),
    ("WECOM_ARCHIVE_PROXY_PASSWORD", "corp.proxy_password"),
    ("WECOM_ARCHIVE_DB", "archive.path"),
    ("WECOM_ARCHIVE_KEYS_DIR", "keys.dir"),
    ("WECOM_ARCHIVE_SDK_LIBRARY", "corp.sdk_library"),
    ("WECOM_ARCHIVE_S3_SECRET_KEY", "media.s3_secret_key"),
    ("WECOM_ARCHIVE_METRICS_TOKEN", "server.metrics_token"),
];

impl Config {
    /// Reads, parses, applies overrides and validates; every error names the file.
    pub fn load(path: &Path, env: &HashMap<String, String>) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read configuration file {} (create one with `wecom-archive init`, or pass --config)",
                path.display()
            )
        })?;
        let raw: RawConfig = toml::from_str(&text)
            .with_context(|| format!("configuration file {} is not valid", path.display()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Config::resolve(raw, &base, env)
            .with_context(|| format!("configuration file {}", path.display()))
    }

    fn resolve(
        raw: RawConfig,
        base: &Path,
        env: &HashMap<String, String>,
    ) -> anyhow::Result<Config> {
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        let mut sections = match raw.corp {
            OneOrMany::One(c) => vec![c],
            OneOrMany::Many(v) => v,
        };
        if sections.is_empty() {
            bail!("no [corp] configured");
        }
        let single = sections.len() == 1;
        if let (true, Some(first)) = (single, sections.first_mut()) {
            if let Some(v) = get("WECOM_ARCHIVE_CORP_ID") {
                first.corp_id = v;
            }
            if let Some(v) = get("WECOM_ARCHIVE_SECRET") {
                first.secret = v;
            }
            if let Some(v) = get("WECOM_ARCHIVE_CONTACTS_SECRET") {
                first.contacts_secret = Some(v);
            }
            if let Some(v) = get("WECOM_ARCHIVE_CUSTOMER_SECRET") {
                first.customer_secret = Some(v);
            }
        }
        let archive = get("WECOM_ARCHIVE_DB")
            .map(PathBuf::from)
            .unwrap_or(raw.archive.path.clone());
        let keys = get("WECOM_ARCHIVE_KEYS_DIR")
            .map(PathBuf::from)
            .unwrap_or(raw.keys.dir);
        let mut corps = Vec::with_capacity(sections.len());
        for c in sections {
            if c.corp_id.trim().is_empty() {
                bail!(
                    "[corp] corp_id is empty: set it to the corp id (企业ID) from the admin console"
                );
            }
            if let Some(problem) = corp_id_problem(&c.corp_id) {
                bail!("[corp] {problem}");
            }
            if corps.iter().any(|o: &CorpConfig| o.corp_id == c.corp_id) {
                bail!("corp {} is configured twice", c.corp_id);
            }
            if c.timeout_secs == 0 {
                bail!("[corp {}] timeout_secs must be at least 1", c.corp_id);
            }
            let secret = get(&format!(
                "WECOM_ARCHIVE_SECRET_{}",
                c.corp_id.to_ascii_uppercase()
            ))
            .unwrap_or(c.secret);
            let upper = c.corp_id.to_ascii_uppercase();
            let optional = |env_key: String, file: Option<String>| {
                get(&env_key)
                    .or(file)
                    .filter(|s: &String| !s.trim().is_empty())
            };
            let contacts_secret = optional(
                format!("WECOM_ARCHIVE_CONTACTS_SECRET_{upper}"),
                c.contacts_secret,
            );
            let customer_secret = optional(
                format!("WECOM_ARCHIVE_CUSTOMER_SECRET_{upper}"),
                c.customer_secret,
            );
            let keys_dir = match c.keys_dir {
                Some(d) => d,
                None if single => keys.clone(),
                None => keys.join(&c.corp_id),
            };
            let callback = match (c.callback_token, c.callback_aes_key) {
                (Some(token), Some(encoding_aes_key)) => {
                    wecom_callback::CallbackCrypto::new(&token, &encoding_aes_key, &c.corp_id)
                        .with_context(|| format!("[corp {}] callback_aes_key", c.corp_id))?;
                    Some(CallbackSettings {
                        token,
                        encoding_aes_key,
                    })
                }
                (None, None) => None,
                _ => bail!(
                    "[corp {}] set both callback_token and callback_aes_key, or neither",
                    c.corp_id
                ),
            };
            corps.push(CorpConfig {
                corp_id: c.corp_id,
                secret,
                contacts_secret,
                customer_secret,
                source: c.source,
                base_url: get("WECOM_ARCHIVE_BASE_URL").unwrap_or(c.base_url),
                proxy: get("WECOM_ARCHIVE_PROXY").or(c.proxy),
                proxy_username: c.proxy_username,
                proxy_password: get("WECOM_ARCHIVE_PROXY_PASSWORD").or(c.proxy_password),
                timeout_secs: c.timeout_secs,
                keys_dir: resolve(base, &keys_dir),
                archive_path: resolve(base, c.archive_path.as_deref().unwrap_or(&archive)),
                callback,
                sdk_library: get("WECOM_ARCHIVE_SDK_LIBRARY")
                    .map(PathBuf::from)
                    .or(c.sdk_library)
                    .map(|p| resolve(base, &p)),
                sdk_proxy: c.sdk_proxy,
            });
        }
        if !(1..=wecom_wire::MAX_LIMIT).contains(&raw.sync.page_limit) {
            bail!(
                "[sync] page_limit {} is outside 1..=1000",
                raw.sync.page_limit
            );
        }
        if raw.sync.poll_interval_secs == 0 || raw.sync.retention_days == 0 {
            bail!("[sync] poll_interval_secs and retention_days must be at least 1");
        }
        if raw.sync.retry_max_attempts == 0 {
            bail!("[sync] retry_max_attempts must be at least 1");
        }
        if raw.sync.max_seq_jump == 0 {
            bail!(
                "[sync] max_seq_jump must be at least 1 (default {}): it is the largest step of seq \
                 accepted past the cursor",
                wecom_sync::DEFAULT_MAX_SEQ_JUMP
            );
        }
        if !(1..=MAX_RESPONSE_MB_LIMIT).contains(&raw.sync.max_response_mb) {
            bail!(
                "[sync] max_response_mb {} is outside 1..={MAX_RESPONSE_MB_LIMIT} (default {}: a page of 1,000 records is a few MB)",
                raw.sync.max_response_mb,
                default_max_response_mb()
            );
        }
        let mut media = raw.media;
        media.dir = resolve(base, &media.dir);
        if let Some(v) = get("WECOM_ARCHIVE_S3_SECRET_KEY") {
            media.s3_secret_key = Some(v);
        }
        match media.backend.as_str() {
            "fs" => {}
            "s3" => {
                if media.s3_endpoint.is_none()
                    || media.s3_bucket.is_none()
                    || media.s3_access_key.is_none()
                {
                    bail!("[media] backend \"s3\" needs s3_endpoint, s3_bucket and s3_access_key");
                }
            }
            other => bail!("[media] backend `{other}` is not fs or s3"),
        }
        let mut server = raw.server;
        if let Some(v) = get("WECOM_ARCHIVE_METRICS_TOKEN") {
            server.metrics_token = Some(v);
        }
        server.metrics_token = server
            .metrics_token
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        if server.max_connections == 0 {
            bail!("[server] max_connections must be at least 1");
        }
        if server.header_timeout_secs == 0
            || server.body_timeout_secs == 0
            || server.idle_timeout_secs == 0
            || server.metrics_refresh_secs == 0
        {
            bail!(
                "[server] header_timeout_secs, body_timeout_secs, idle_timeout_secs and metrics_refresh_secs must be at least 1"
            );
        }
        let names = raw.names;
        if names.refresh_hours == 0
            || names.recheck_unresolvable_days == 0
            || names.permit_hours == 0
            || names.consent_hours == 0
        {
            bail!(
                "[names] refresh_hours, recheck_unresolvable_days, permit_hours and consent_hours must be at least 1"
            );
        }
        if !(names.max_calls_per_second.is_finite() && names.max_calls_per_second > 0.0) {
            bail!("[names] max_calls_per_second must be a positive number");
        }
        Ok(Config {
            corps,
            sync: raw.sync,
            server,
            sdk: raw.sdk,
            media,
            names,
            group_readable: raw.archive.group_readable,
        })
    }

    /// The corp a command works on: the one named, or the only one configured.
    pub fn corp(&self, selected: Option<&str>) -> anyhow::Result<&CorpConfig> {
        match selected {
            Some(id) => self.corps.iter().find(|c| c.corp_id == id).ok_or_else(|| {
                anyhow::anyhow!(
                    "corp {id} is not configured (configured: {})",
                    self.corps
                        .iter()
                        .map(|c| c.corp_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }),
            None => match self.corps.as_slice() {
                [only] => Ok(only),
                _ => bail!(
                    "several corps are configured ({}); choose one with --corp",
                    self.corps
                        .iter()
                        .map(|c| c.corp_id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        }
    }

    /// The corps a command works on: the one named, or all.
    pub fn selected(&self, selected: Option<&str>) -> anyhow::Result<Vec<&CorpConfig>> {
        match selected {
            Some(_) => Ok(vec![self.corp(selected)?]),
            None => Ok(self.corps.iter().collect()),
        }
    }

    /// The native client's settings for a corp; its secret must be present by now.
    pub fn client_config(&self, corp: &CorpConfig) -> anyhow::Result<ClientConfig> {
        if corp.secret.trim().is_empty() {
            bail!(
                "no archive secret for corp {}: set secret in its [corp] section or the WECOM_ARCHIVE_SECRET environment variable",
                corp.corp_id
            );
        }
        let mut c = ClientConfig::new(&corp.base_url, &corp.corp_id, &corp.secret);
        c.timeout = Duration::from_secs(corp.timeout_secs);
        c.retry = RetryPolicy {
            max_attempts: self.sync.retry_max_attempts,
            base_delay: Duration::from_millis(self.sync.retry_base_delay_ms),
            max_delay: Duration::from_millis(self.sync.retry_max_delay_ms),
        };
        c.max_response_bytes = self.max_response_bytes();
        c.proxy = corp
            .proxy
            .as_ref()
            .filter(|p| !p.is_empty())
            .map(|url| ProxyConfig {
                url: url.clone(),
                username: corp.proxy_username.clone(),
                password: corp.proxy_password.clone(),
            });
        Ok(c)
    }

    /// The naming API client's settings for a corp (same endpoint, proxy and timeout as the
    /// archive; retries are kept short because a failed name is simply asked again later).
    pub fn api_config(&self, corp: &CorpConfig) -> anyhow::Result<wecom_client::ApiConfig> {
        let client = self.client_config(corp)?;
        let mut c = wecom_client::ApiConfig::new(&corp.base_url, &corp.corp_id, &corp.secret);
        c.contacts_secret = corp.contacts_secret.clone();
        c.customer_secret = corp.customer_secret.clone();
        c.proxy = client.proxy;
        c.timeout = client.timeout;
        c.retry = RetryPolicy {
            max_attempts: self.sync.retry_max_attempts.min(3),
            ..client.retry
        };
        c.max_calls_per_second = self.names.max_calls_per_second;
        c.max_response_bytes = client.max_response_bytes;
        Ok(c)
    }

    /// The name resolver's schedule for a corp.
    pub fn name_options(&self, corp: &CorpConfig) -> wecom_names::NameOptions {
        let hours = |h: u64| Duration::from_secs(h.saturating_mul(3600));
        let mut o = wecom_names::NameOptions::new(&corp.corp_id);
        o.refresh_named = hours(self.names.refresh_hours);
        o.recheck_unresolvable = hours(self.names.recheck_unresolvable_days.saturating_mul(24));
        o.permit_every = hours(self.names.permit_hours);
        o.consent_every = hours(self.names.consent_hours);
        o
    }

    /// The vendor-library source's settings for a corp.
    pub fn sdk_config(
        &self,
        corp: &CorpConfig,
        library: &Path,
    ) -> anyhow::Result<wecom_sdk::SdkConfig> {
        if corp.secret.trim().is_empty() {
            bail!("no archive secret for corp {}", corp.corp_id);
        }
        let worker = wecom_sdk::WorkerCommand::current_exe(["sdk-worker"])
            .context("cannot find this program's own path to start the vendor-library worker")?;
        let mut c = wecom_sdk::SdkConfig::new(
            library,
            &corp.corp_id,
            &corp.secret,
            wecom_sdk::WorkerMode::Process(worker),
        );
        c.net.proxy = corp
            .sdk_proxy
            .clone()
            .or_else(|| corp.proxy.clone())
            .unwrap_or_default();
        c.net.passwd = match (&corp.proxy_username, &corp.proxy_password) {
            (Some(u), p) => format!("{u}:{}", p.as_deref().unwrap_or("")),
            (None, _) => String::new(),
        };
        c.net.timeout = Duration::from_secs(corp.timeout_secs);
        c.limits.max_calls = self.sdk.max_calls;
        c.limits.max_rss_bytes = self.sdk.max_rss_mb * 1024 * 1024;
        c.limits.max_fds = self.sdk.max_fds;
        c.limits.max_network_failures = self.sdk.max_network_failures;
        c.limits.call_deadline = (self.sdk.call_deadline_secs > 0)
            .then(|| Duration::from_secs(self.sdk.call_deadline_secs));
        c.limits.crash_limit = self.sdk.crash_limit;
        c.limits.crash_window = Duration::from_secs(self.sdk.crash_window_secs);
        // A reply frame carries the body as base64 (4/3) inside JSON; twice the cap plus 1 MiB
        // leaves room for DecryptData batches too.
        c.limits.max_frame_bytes = usize::try_from(
            self.max_response_bytes()
                .saturating_mul(2)
                .saturating_add(1 << 20),
        )
        .unwrap_or(usize::MAX)
        .min(wecom_sdk::MAX_FRAME);
        c.retry = RetryPolicy {
            max_attempts: self.sync.retry_max_attempts,
            base_delay: Duration::from_millis(self.sync.retry_base_delay_ms),
            max_delay: Duration::from_millis(self.sync.retry_max_delay_ms),
        };
        Ok(c)
    }

    /// The media store all corps share (objects are content-addressed).
    pub fn open_blobs(&self) -> anyhow::Result<std::sync::Arc<dyn wecom_blob::BlobStore>> {
        let m = &self.media;
        if m.backend == "s3" {
            let mut c = wecom_blob::S3Config::new(
                m.s3_endpoint.clone().unwrap_or_default(),
                m.s3_region
                    .clone()
                    .unwrap_or_else(|| "us-east-1".to_owned()),
                m.s3_bucket.clone().unwrap_or_default(),
                m.s3_access_key.clone().unwrap_or_default(),
                m.s3_secret_key.clone().unwrap_or_default(),
            );
            c.prefix = m.s3_prefix.clone().unwrap_or_default();
            let store = wecom_blob::S3BlobStore::new(&c).context("[media] s3 settings")?;
            return Ok(std::sync::Arc::new(store));
        }
        let store = wecom_blob::FsBlobStore::open(&m.dir)
            .with_context(|| format!("cannot open the media folder {}", m.dir.display()))?;
        Ok(std::sync::Arc::new(store))
    }

    /// The media workers' settings for a corp.
    pub fn media_options(&self, corp: &CorpConfig) -> wecom_media::MediaOptions {
        let mut o = wecom_media::MediaOptions::new(&corp.corp_id);
        o.concurrency = self.media.concurrency.max(1);
        o.max_md5_attempts = self.media.max_md5_attempts.max(1);
        o.max_attempts = self.media.max_attempts.max(1);
        o.retention = Duration::from_secs(self.sync.retention_days * 86_400);
        o
    }

    /// `[sync] max_response_mb` in bytes.
    pub fn max_response_bytes(&self) -> u64 {
        self.sync.max_response_mb.saturating_mul(1 << 20)
    }

    pub fn decrypt_threads(&self) -> usize {
        match self.sync.decrypt_threads {
            0 => {
                2 * std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1)
            }
            n => n,
        }
    }
}

fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// A commented configuration, as `init`, `emulator --write-config` and `demo` write it.
pub struct ConfigTemplate<'a> {
    pub corp_id: &'a str,
    pub secret: &'a str,
    /// Written out when given, else left as a commented example.
    pub contacts_secret: Option<&'a str>,
    pub customer_secret: Option<&'a str>,
    pub base_url: &'a str,
    pub archive_path: &'a str,
    pub keys_dir: &'a str,
    pub retry_base_delay_ms: u64,
}

impl ConfigTemplate<'_> {
    pub fn render(&self) -> String {
        format!(
            r#"# wecom-archive configuration. Every key is optional unless marked required.
# Environment overrides: {env}

[archive]
# The SQLite archive (relative paths are relative to this file).
path = {archive}
# Everything the archive writes (database, its -wal/-shm, the writer lock file, media files and
# folders) is readable by its owner only: files 0600, folders 0700. true lets the owner's group
# read them too (0640/0750). `doctor` fails, and `sync` warns, on archive files or private keys
# other users can read.
group_readable = false

[corp]
# Required. 企业ID, from 管理后台 → 我的企业 → 企业信息.
corp_id = {corp}
# The 会话内容存档 Secret (管理工具 → 会话内容存档), not an app secret. Prefer the
# WECOM_ARCHIVE_SECRET environment variable over writing it here.
secret = {secret}
# Optional, for names: the 通讯录 (contacts) secret lets `user/get` name employees; the 客户联系
# (customer contact) secret names customer groups and external contacts. Without them those stay
# shown by id (WECOM_ARCHIVE_CONTACTS_SECRET / WECOM_ARCHIVE_CUSTOMER_SECRET work too).
{contacts}
{customer}
# Where the archive API lives. Plain http:// is accepted only for loopback (the emulator).
base_url = {base}
# Optional proxy for every request: http://host:port, socks5h://host:port (credentials below).
# proxy = "socks5h://127.0.0.1:1080"
# proxy_username = "user"
# proxy_password = "set WECOM_ARCHIVE_PROXY_PASSWORD instead"
# Seconds per HTTP request.
timeout_secs = 10
# The 会话内容存档 callback (接收事件服务器): Token and EncodingAESKey from the console, used by `run`.
# callback_token = "..."
# callback_aes_key = "...43 characters..."
# With several corps, repeat this section as [[corp]]; each may set keys_dir and archive_path.
# Where records come from: "native" (our Rust client, default) or "sdk" (WeCom's vendor library,
# run in supervised worker processes; set sdk_library to libWeWorkFinanceSdk_C.so).
source = "native"
# sdk_library = "/opt/wecom/libWeWorkFinanceSdk_C.so"
# The proxy handed to the vendor library (default: proxy below); http://host:port or socks5h://host:port.
# sdk_proxy = "http://127.0.0.1:3128"

[keys]
# Private keys, one file per key version: v1.pem, v2.pem, ... (PKCS#1 or PKCS#8 PEM).
# Keep every old key: records encrypted with it can never be decrypted without it.
dir = {keys}

[server]
# Where `run` serves the callback endpoints (/callback/<corp_id>), /metrics, /healthz and /readyz.
listen = "127.0.0.1:8780"
# Open connections at most (lowered at start to fit `ulimit -n`, keeping descriptors for the
# archive, media and the vendor library). At the cap the connection idle longest is closed.
max_connections = 512
# Seconds a client has to send a request's headers, its body; seconds a silent connection stays.
header_timeout_secs = 10
body_timeout_secs = 10
idle_timeout_secs = 60
# Require `Authorization: Bearer <token>` on /metrics (prefer WECOM_ARCHIVE_METRICS_TOKEN).
# metrics_token = "..."
# Seconds between refreshes of the archive figures in /metrics and /readyz (also after each sync).
metrics_refresh_secs = 30

[media]
# Images, voice, video, files, emotions and meeting recordings are downloaded after each sync,
# verified (md5 and size from the message), and stored under their SHA-256.
enabled = true
# "fs": a folder (objects/<aa>/<sha256>); "s3": S3-compatible storage (s3_* keys below).
backend = "fs"
dir = "media"
concurrency = 4
# Whole-object downloads on md5 mismatch before the bytes are kept in quarantine for inspection.
max_md5_attempts = 5
# Attempts for transient failures before a job fails for good (`media retry --failed` revives it).
max_attempts = 8
# s3_endpoint = "https://s3.example.com"
# s3_region = "us-east-1"
# s3_bucket = "wecom-archive"
# s3_prefix = "corp-a"
# s3_access_key = "..."
# s3_secret_key: set WECOM_ARCHIVE_S3_SECRET_KEY instead

[sdk]
# Supervision of the vendor-library workers (source = "sdk"): a worker is recycled after max_calls
# calls, above max_rss_mb of memory or max_fds descriptors, or after max_network_failures failed
# requests (the library leaks on each); a call over call_deadline_secs (0 = 2 x timeout + 10 s) kills
# its worker; more than crash_limit crashes within crash_window_secs stop the restarts.
max_calls = 10000
max_rss_mb = 512
max_fds = 256
max_network_failures = 50
call_deadline_secs = 0
crash_limit = 5
crash_window_secs = 600

[sync]
# Records per request (1..=1000).
page_limit = 1000
# Seconds between polls with `sync --follow`.
follow_interval_secs = 10
# Threads decrypting a page (0 = two per core, which balances best beside the commit).
decrypt_threads = 0
# Transient failures (network, 5xx, busy) are retried with capped exponential backoff and jitter.
retry_max_attempts = 8
retry_base_delay_ms = {delay}
retry_max_delay_ms = 30000
# Largest answer read from WeCom, in MiB (1..=1024): a larger one is refused unread, whatever
# the server or a proxy sends. A page of 1,000 records is a few MB.
max_response_mb = 64
# `run`: seconds between reconciliation polls per corp; the callback wakes a corp earlier.
poll_interval_secs = 180
# The largest plausible step of seq: past a non-zero cursor, and between consecutive records of
# a page. A record further away (and any seq of 2^63 or more) is kept raw in quarantine and never
# moves the cursor; `wecom-archive cursor set` moves it by hand if the jump is real. A corp
# archiving ten million messages a day needs 100 days - longer than WeCom keeps any record - to
# move one billion. A first sync (cursor 0) accepts whatever seq the server starts at.
max_seq_jump = 1000000000
# How long WeCom is assumed to keep archive data and media: 5 days by default, a guess the
# reference itself calls unconfirmed (数据与智能专区 data lives 90 days). It only orders the media
# work (jobs nearest to this edge first) and drives time-to-loss: `run` logs a warning / an error
# when less than these many hours remain. No media job is ever given up because of it: every job
# is attempted, and only WeCom's own answer (errcode 301048, vendor SDK 10010) marks one expired.
retention_days = 5
warn_remaining_hours = 72
error_remaining_hours = 24

[names]
# Rooms and people are named through WeCom's HTTP APIs, in the background: internal groups with
# the archive secret, customer groups and external contacts with customer_secret, employees with
# contacts_secret; the archive scope and consent are fetched too.
enabled = true
# Hours before a named room or person is asked about again (renames are recorded then).
refresh_hours = 24
# Days before a room or person the APIs cannot name (e.g. a room created from WeChat) is asked again.
recheck_unresolvable_days = 7
# Hours between fetches of who is archived, and between consent checks of each conversation.
permit_hours = 6
consent_hours = 24
# API calls per second per corp at most (WeCom answers 45009 to more).
max_calls_per_second = 10
"#,
            env = ENV_OVERRIDES
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", "),
            archive = toml_str(self.archive_path),
            corp = toml_str(self.corp_id),
            secret = toml_str(self.secret),
            contacts = optional_key("contacts_secret", self.contacts_secret),
            customer = optional_key("customer_secret", self.customer_secret),
            base = toml_str(self.base_url),
            keys = toml_str(self.keys_dir),
            delay = self.retry_base_delay_ms,
        )
    }
}

/// `key = "value"`, or a commented example when there is no value.
fn optional_key(key: &str, value: Option<&str>) -> String {
    match value {
        Some(v) => format!("{key} = {}", toml_str(v)),
        None => format!("# {key} = \"...\""),
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("c.toml");
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn template_round_trips_and_paths_resolve_against_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = ConfigTemplate {
            corp_id: "ww1",
            secret: "s\"x",
            contacts_secret: None,
            customer_secret: None,
            base_url: "http://127.0.0.1:9",
            archive_path: "archive.db",
            keys_dir: "keys",
            retry_base_delay_ms: 500,
        }
        .render();
        let p = write(dir.path(), &text);
        let c = Config::load(&p, &HashMap::new()).expect("load");
        let corp = c.corp(None).expect("one corp");
        assert_eq!(corp.secret, "s\"x");
        assert_eq!(corp.archive_path, dir.path().join("archive.db"));
        assert_eq!(corp.keys_dir, dir.path().join("keys"));
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
        let e = format!(
            "{:#}",
            Config::load(&p, &HashMap::new()).expect_err("zero timeout")
        );
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
        assert!(c.client_config(c.corp(None).expect("corp")).is_err());
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
                format!("{e:#}").contains("names") || format!("{e:#}").contains("unknown"),
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
        let e = format!(
            "{:#}",
            Config::load(&missing, &HashMap::new()).expect_err("missing")
        );
        assert!(e.contains("nope.toml"), "{e}");
        let p = write(dir.path(), "[corp]\ncorp_id = \"ww1\"\nsurprise = 1\n");
        let e = format!(
            "{:#}",
            Config::load(&p, &HashMap::new()).expect_err("unknown key")
        );
        assert!(e.contains("c.toml") && e.contains("surprise"), "{e}");
        let p = write(dir.path(), "[corp\n");
        let e = format!(
            "{:#}",
            Config::load(&p, &HashMap::new()).expect_err("garbled")
        );
        assert!(e.contains("c.toml"), "{e}");
        let p = write(
            dir.path(),
            "[corp]\ncorp_id = \"ww1\"\n[sync]\npage_limit = 5000\n",
        );
        let e = format!(
            "{:#}",
            Config::load(&p, &HashMap::new()).expect_err("limit")
        );
        assert!(e.contains("page_limit"), "{e}");
    }
}

#[cfg(test)]
mod corps {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("c.toml");
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn half_a_callback_configuration_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(
            dir.path(),
            "[corp]\ncorp_id = \"ww1\"\ncallback_token = \"t\"\n",
        );
        let e = format!(
            "{:#}",
            Config::load(&p, &HashMap::new()).expect_err("half callback")
        );
        assert!(e.contains("callback_aes_key"), "{e}");
        let p = write(
            dir.path(),
            "[corp]\ncorp_id = \"ww1\"\ncallback_token = \"t\"\ncallback_aes_key = \"short\"\n",
        );
        let e = format!(
            "{:#}",
            Config::load(&p, &HashMap::new()).expect_err("bad aes key")
        );
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
        assert!(format!("{:#}", c.corp(None).expect_err("ambiguous")).contains("--corp"));
        assert!(c.corp(Some("wwC")).is_err());
        assert_eq!(c.selected(None).expect("all").len(), 2);
        let p = write(
            dir.path(),
            "[[corp]]\ncorp_id = \"wwA\"\n[[corp]]\ncorp_id = \"wwA\"\n",
        );
        assert!(
            format!("{:#}", Config::load(&p, &HashMap::new()).expect_err("dup")).contains("twice")
        );
        let p = write(dir.path(), "[[corp]]\ncorp_id = \"wwA\"\nbogus = 1\n");
        assert!(
            format!(
                "{:#}",
                Config::load(&p, &HashMap::new()).expect_err("unknown")
            )
            .contains("bogus")
        );
    }
}

#[cfg(test)]
mod example {
    use super::*;

    #[test]
    fn the_example_configuration_is_valid_and_matches_init() {
        let text = include_str!("../../../config.example.toml");
        let raw: RawConfig = toml::from_str(text).expect("config.example.toml parses");
        let parsed = Config::resolve(raw, Path::new("/srv"), &HashMap::new()).expect("resolves");
        assert_eq!(parsed.corp(None).expect("corp").base_url, WECOM_BASE_URL);
        let rendered = ConfigTemplate {
            corp_id: "ww_REPLACE_WITH_YOUR_CORP_ID",
            secret: "",
            contacts_secret: None,
            customer_secret: None,
            base_url: WECOM_BASE_URL,
            archive_path: "archive.db",
            keys_dir: "keys",
            retry_base_delay_ms: 500,
        }
        .render();
        assert_eq!(
            text, rendered,
            "regenerate config.example.toml with `wecom-archive init`"
        );
    }
}

#[cfg(test)]
mod bounds_tests {
    use super::*;

    fn load(text: &str) -> anyhow::Result<Config> {
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
            let e = format!(
                "{:#}",
                load(&format!("[corp]\ncorp_id = \"{id}\"\n")).expect_err(id)
            );
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
        let e = format!("{:#}", Config::load(&p, &env).expect_err("tab"));
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
            let e = format!(
                "{:#}",
                load(&format!(
                    "[corp]\ncorp_id = \"ww1\"\n[sync]\nmax_response_mb = {bad}\n"
                ))
                .expect_err(bad)
            );
            assert!(e.contains("max_response_mb"), "{e}");
        }
    }
}
