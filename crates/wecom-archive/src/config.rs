//! The configuration file: one typed TOML document (unknown keys are errors), environment
//! overrides passed in as data, and paths resolved against the file's folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;
use wecom_client::{ClientConfig, ProxyConfig, RetryPolicy, WECOM_BASE_URL};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub archive: ArchiveSection,
    pub corp: CorpSection,
    #[serde(default)]
    pub keys: KeysSection,
    #[serde(default)]
    pub sync: SyncSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSection {
    /// The SQLite archive file.
    #[serde(default = "default_db")]
    pub path: PathBuf,
}

impl Default for ArchiveSection {
    fn default() -> Self {
        ArchiveSection { path: default_db() }
    }
}

fn default_db() -> PathBuf {
    PathBuf::from("archive.db")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Native,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpSection {
    pub corp_id: String,
    #[serde(default)]
    pub secret: String,
    #[serde(default = "default_source")]
    pub source: SourceKind,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    #[serde(default)]
    pub proxy: Option<String>,
    #[serde(default)]
    pub proxy_username: Option<String>,
    #[serde(default)]
    pub proxy_password: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
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
pub struct KeysSection {
    /// Folder of private keys named `v<version>.pem`.
    #[serde(default = "default_keys_dir")]
    pub dir: PathBuf,
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
    /// 0 = one per core.
    #[serde(default)]
    pub decrypt_threads: usize,
    #[serde(default = "default_attempts")]
    pub retry_max_attempts: u32,
    #[serde(default = "default_base_delay")]
    pub retry_base_delay_ms: u64,
    #[serde(default = "default_max_delay")]
    pub retry_max_delay_ms: u64,
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
        }
    }
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

/// Environment variables that override the file (secrets belong in the environment).
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("WECOM_ARCHIVE_CORP_ID", "corp.corp_id"),
    ("WECOM_ARCHIVE_SECRET", "corp.secret"),
    ("WECOM_ARCHIVE_BASE_URL", "corp.base_url"),
    ("WECOM_ARCHIVE_PROXY", "corp.proxy"),
    ("WECOM_ARCHIVE_PROXY_PASSWORD", "corp.proxy_password"),
    ("WECOM_ARCHIVE_DB", "archive.path"),
    ("WECOM_ARCHIVE_KEYS_DIR", "keys.dir"),
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
        let mut config: Config = toml::from_str(&text)
            .with_context(|| format!("configuration file {} is not valid", path.display()))?;
        config.apply_env(env);
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.archive.path = resolve(&base, &config.archive.path);
        config.keys.dir = resolve(&base, &config.keys.dir);
        config
            .validate()
            .with_context(|| format!("configuration file {}", path.display()))?;
        Ok(config)
    }

    fn apply_env(&mut self, env: &HashMap<String, String>) {
        let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
        if let Some(v) = get("WECOM_ARCHIVE_CORP_ID") {
            self.corp.corp_id = v;
        }
        if let Some(v) = get("WECOM_ARCHIVE_SECRET") {
            self.corp.secret = v;
        }
        if let Some(v) = get("WECOM_ARCHIVE_BASE_URL") {
            self.corp.base_url = v;
        }
        if let Some(v) = get("WECOM_ARCHIVE_PROXY") {
            self.corp.proxy = Some(v);
        }
        if let Some(v) = get("WECOM_ARCHIVE_PROXY_PASSWORD") {
            self.corp.proxy_password = Some(v);
        }
        if let Some(v) = get("WECOM_ARCHIVE_DB") {
            self.archive.path = PathBuf::from(v);
        }
        if let Some(v) = get("WECOM_ARCHIVE_KEYS_DIR") {
            self.keys.dir = PathBuf::from(v);
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.corp.corp_id.trim().is_empty() {
            bail!("[corp] corp_id is empty: set it to the corp id (企业ID) from the admin console");
        }
        if !(1..=wecom_wire::MAX_LIMIT).contains(&self.sync.page_limit) {
            bail!(
                "[sync] page_limit {} is outside 1..=1000",
                self.sync.page_limit
            );
        }
        if self.sync.retry_max_attempts == 0 {
            bail!("[sync] retry_max_attempts must be at least 1");
        }
        if self.corp.timeout_secs == 0 {
            bail!("[corp] timeout_secs must be at least 1");
        }
        Ok(())
    }

    /// The native client's settings; the secret must be present by now.
    pub fn client_config(&self) -> anyhow::Result<ClientConfig> {
        if self.corp.secret.trim().is_empty() {
            bail!(
                "no archive secret: set [corp] secret or the WECOM_ARCHIVE_SECRET environment variable"
            );
        }
        let mut c = ClientConfig::new(&self.corp.base_url, &self.corp.corp_id, &self.corp.secret);
        c.timeout = Duration::from_secs(self.corp.timeout_secs);
        c.retry = RetryPolicy {
            max_attempts: self.sync.retry_max_attempts,
            base_delay: Duration::from_millis(self.sync.retry_base_delay_ms),
            max_delay: Duration::from_millis(self.sync.retry_max_delay_ms),
        };
        c.proxy = self
            .corp
            .proxy
            .as_ref()
            .filter(|p| !p.is_empty())
            .map(|url| ProxyConfig {
                url: url.clone(),
                username: self.corp.proxy_username.clone(),
                password: self.corp.proxy_password.clone(),
            });
        Ok(c)
    }

    pub fn decrypt_threads(&self) -> usize {
        match self.sync.decrypt_threads {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
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

[corp]
# Required. 企业ID, from 管理后台 → 我的企业 → 企业信息.
corp_id = {corp}
# The 会话内容存档 Secret (管理工具 → 会话内容存档), not an app secret. Prefer the
# WECOM_ARCHIVE_SECRET environment variable over writing it here.
secret = {secret}
# Where the archive API lives. Plain http:// is accepted only for loopback (the emulator).
base_url = {base}
# Optional proxy for every request: http://host:port, socks5h://host:port (credentials below).
# proxy = "socks5h://127.0.0.1:1080"
# proxy_username = "user"
# proxy_password = "set WECOM_ARCHIVE_PROXY_PASSWORD instead"
# Seconds per HTTP request.
timeout_secs = 10

[keys]
# Private keys, one file per key version: v1.pem, v2.pem, ... (PKCS#1 or PKCS#8 PEM).
# Keep every old key: records encrypted with it can never be decrypted without it.
dir = {keys}

[sync]
# Records per request (1..=1000).
page_limit = 1000
# Seconds between polls with `sync --follow`.
follow_interval_secs = 10
# Threads decrypting a page (0 = one per core).
decrypt_threads = 0
# Transient failures (network, 5xx, busy) are retried with capped exponential backoff and jitter.
retry_max_attempts = 8
retry_base_delay_ms = {delay}
retry_max_delay_ms = 30000
"#,
            env = ENV_OVERRIDES
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", "),
            archive = toml_str(self.archive_path),
            corp = toml_str(self.corp_id),
            secret = toml_str(self.secret),
            base = toml_str(self.base_url),
            keys = toml_str(self.keys_dir),
            delay = self.retry_base_delay_ms,
        )
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
            base_url: "http://127.0.0.1:9",
            archive_path: "archive.db",
            keys_dir: "keys",
            retry_base_delay_ms: 500,
        }
        .render();
        let p = write(dir.path(), &text);
        let c = Config::load(&p, &HashMap::new()).expect("load");
        assert_eq!(c.corp.secret, "s\"x");
        assert_eq!(c.archive.path, dir.path().join("archive.db"));
        assert_eq!(c.keys.dir, dir.path().join("keys"));
    }

    #[test]
    fn env_overrides_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = write(dir.path(), "[corp]\ncorp_id = \"ww1\"\n");
        let env = HashMap::from([("WECOM_ARCHIVE_SECRET".to_owned(), "from-env".to_owned())]);
        let c = Config::load(&p, &env).expect("load");
        assert_eq!(c.corp.secret, "from-env");
        assert!(
            Config::load(&p, &HashMap::new())
                .expect("load")
                .client_config()
                .is_err()
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
mod example {
    use super::*;

    #[test]
    fn the_example_configuration_is_valid_and_matches_init() {
        let text = include_str!("../../../config.example.toml");
        let parsed: Config = toml::from_str(text).expect("config.example.toml parses");
        assert_eq!(parsed.corp.base_url, WECOM_BASE_URL);
        let rendered = ConfigTemplate {
            corp_id: "ww_REPLACE_WITH_YOUR_CORP_ID",
            secret: "",
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
