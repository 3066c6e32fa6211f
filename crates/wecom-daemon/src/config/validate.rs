//! Loading and validation: the file is read, parsed, overridden by the environment, checked, and
//! its relative paths resolved against the file's folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::ConfigError;
use super::schema::{CallbackSettings, Config, ConfigFile, CorpConfig, SearchConfig};

/// Most MiB `[sync] max_response_mb` may be (the vendor-library frames carry a body as base64).
pub const MAX_RESPONSE_MB_LIMIT: u64 = 1024;

/// The range of `[search] heap_mb`: the index writer needs at least 15 MB per thread and
/// accepts less than 4 GB.
pub const MIN_SEARCH_HEAP_MB: u64 = 16;
pub const MAX_SEARCH_HEAP_MB: u64 = 4000;

impl Config {
    /// Reads, parses, applies the environment's overrides and validates; every error names the
    /// file.
    pub fn load(path: &Path, env: &HashMap<String, String>) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file: ConfigFile = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        file.resolve(&base, env)
            .map_err(|source| ConfigError::InFile {
                path: path.to_path_buf(),
                source: Box::new(source),
            })
    }
}

impl ConfigFile {
    /// The configuration this file means: the environment's overrides applied, every setting
    /// checked, relative paths resolved against `base` (the file's folder).
    pub fn resolve(
        mut self,
        base: &Path,
        env: &HashMap<String, String>,
    ) -> Result<Config, ConfigError> {
        super::overrides::apply(&mut self, env);
        if self.corp.is_empty() {
            return Err(ConfigError::NoCorp);
        }
        let single = self.corp.len() == 1;
        let mut corps: Vec<CorpConfig> = Vec::with_capacity(self.corp.len());
        for c in self.corp {
            check_corp_id(&c.corp_id)?;
            if corps.iter().any(|o| o.corp_id == c.corp_id) {
                return Err(ConfigError::DuplicateCorp { corp_id: c.corp_id });
            }
            if c.timeout_secs == 0 {
                return Err(ConfigError::ZeroTimeout { corp_id: c.corp_id });
            }
            let keys_dir = match c.keys_dir {
                Some(d) => d,
                None if single => self.keys.dir.clone(),
                None => self.keys.dir.join(&c.corp_id),
            };
            let callback = match (c.callback_token, c.callback_aes_key) {
                (Some(token), Some(encoding_aes_key)) => {
                    if let Err(source) =
                        wecom_callback::CallbackCrypto::new(&token, &encoding_aes_key, &c.corp_id)
                    {
                        return Err(ConfigError::CallbackAesKey {
                            corp_id: c.corp_id,
                            source,
                        });
                    }
                    Some(CallbackSettings {
                        token,
                        encoding_aes_key,
                    })
                }
                (None, None) => None,
                _ => return Err(ConfigError::HalfCallback { corp_id: c.corp_id }),
            };
            let present = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
            corps.push(CorpConfig {
                secret: c.secret,
                contacts_secret: present(c.contacts_secret),
                customer_secret: present(c.customer_secret),
                source: c.source,
                base_url: c.base_url,
                proxy: c.proxy,
                proxy_username: c.proxy_username,
                proxy_password: c.proxy_password,
                timeout_secs: c.timeout_secs,
                keys_dir: resolve(base, &keys_dir),
                archive_path: resolve(
                    base,
                    c.archive_path.as_deref().unwrap_or(&self.archive.path),
                ),
                callback,
                sdk_library: c.sdk_library.map(|p| resolve(base, &p)),
                sdk_proxy: c.sdk_proxy,
                corp_id: c.corp_id,
            });
        }
        check_sync(&self.sync)?;
        let mut media = self.media;
        media.dir = resolve(base, &media.dir);
        match media.backend.as_str() {
            "fs" => {}
            "s3" => {
                if media.s3_endpoint.is_none()
                    || media.s3_bucket.is_none()
                    || media.s3_access_key.is_none()
                {
                    return Err(ConfigError::S3Incomplete);
                }
            }
            other => return Err(ConfigError::UnknownBackend(other.to_owned())),
        }
        let mut server = self.server;
        server.metrics_token = server
            .metrics_token
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        if server.max_connections == 0 {
            return Err(ConfigError::Zero {
                section: "server",
                keys: "max_connections",
            });
        }
        if server.header_timeout_secs == 0
            || server.body_timeout_secs == 0
            || server.idle_timeout_secs == 0
            || server.metrics_refresh_secs == 0
        {
            return Err(ConfigError::Zero {
                section: "server",
                keys: "header_timeout_secs, body_timeout_secs, idle_timeout_secs and metrics_refresh_secs",
            });
        }
        let names = self.names;
        if names.refresh_hours == 0
            || names.recheck_unresolvable_days == 0
            || names.permit_hours == 0
            || names.consent_hours == 0
        {
            return Err(ConfigError::Zero {
                section: "names",
                keys: "refresh_hours, recheck_unresolvable_days, permit_hours and consent_hours",
            });
        }
        if !(names.max_calls_per_second.is_finite() && names.max_calls_per_second > 0.0) {
            return Err(ConfigError::NamesRate);
        }
        if !(MIN_SEARCH_HEAP_MB..=MAX_SEARCH_HEAP_MB).contains(&self.search.heap_mb) {
            return Err(ConfigError::SearchHeap(self.search.heap_mb));
        }
        let search = SearchConfig {
            enabled: self.search.enabled,
            dir: match &self.search.dir {
                Some(dir) => resolve(base, dir),
                // `corps` holds at least one corp here.
                None => corps
                    .first()
                    .map(|c| default_search_dir(&c.archive_path))
                    .unwrap_or_else(|| base.join("archive.search")),
            },
            heap_mb: self.search.heap_mb,
        };
        Ok(Config {
            corps,
            sync: self.sync,
            server,
            sdk: self.sdk,
            media,
            names,
            search,
            group_readable: self.archive.group_readable,
        })
    }
}

fn check_sync(sync: &super::SyncSection) -> Result<(), ConfigError> {
    if !(1..=wecom_wire::MAX_LIMIT).contains(&sync.page_limit) {
        return Err(ConfigError::PageLimit(sync.page_limit));
    }
    if sync.poll_interval_secs == 0 || sync.retention_days == 0 {
        return Err(ConfigError::Zero {
            section: "sync",
            keys: "poll_interval_secs and retention_days",
        });
    }
    if sync.retry_max_attempts == 0 {
        return Err(ConfigError::Zero {
            section: "sync",
            keys: "retry_max_attempts",
        });
    }
    if sync.max_seq_jump == 0 {
        return Err(ConfigError::ZeroSeqJump);
    }
    if !(1..=MAX_RESPONSE_MB_LIMIT).contains(&sync.max_response_mb) {
        return Err(ConfigError::MaxResponseMb(sync.max_response_mb));
    }
    Ok(())
}

/// Whether a corp id is made of what WeCom's corp ids are made of (`ww`/`wx` + letters and digits;
/// placeholders use `_` and `-`), at most 64 characters. Anything else — a space, a control
/// character, an ANSI escape — is a typo or a paste accident, and would reach every log line,
/// file name and request.
fn check_corp_id(id: &str) -> Result<(), ConfigError> {
    if id.trim().is_empty() {
        return Err(ConfigError::EmptyCorpId);
    }
    let shown = wecom_wire::text::escape_controls(id).into_owned();
    if id.len() > 64 {
        return Err(ConfigError::CorpIdTooLong {
            shown,
            chars: id.chars().count(),
        });
    }
    let bad: Vec<String> = id
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        .map(|c| match c {
            ' ' => "a space".to_owned(),
            c if wecom_wire::text::is_unsafe_char(c) => format!(
                "the control character {}",
                wecom_wire::text::escape_controls(&c.to_string())
            ),
            c => format!("`{c}`"),
        })
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    Err(ConfigError::CorpIdCharacters {
        shown,
        found: bad.join(", "),
    })
}

/// `<stem>.search` beside the archive file (`/srv/archive.db` → `/srv/archive.search`).
fn default_search_dir(archive: &Path) -> PathBuf {
    let stem = archive
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "archive".to_owned());
    archive.with_file_name(format!("{stem}.search"))
}

/// `p` as is when absolute, else relative to `base` (the configuration file's folder).
fn resolve(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}
