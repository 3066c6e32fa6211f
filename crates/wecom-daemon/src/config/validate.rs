//! Loading and validation: the file is read, parsed, overridden by the environment, checked, and
//! its relative paths resolved against the file's folder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::ConfigError;
use super::schema::{
    ApiSection, CallbackSettings, Config, ConfigFile, CorpConfig, SearchConfig, ServerSection,
};

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
        let postgres = postgres_options(&self.archive, base)?;
        if postgres.is_some()
            && let Some(c) = self.corp.iter().find(|c| c.archive_path.is_some())
        {
            return Err(ConfigError::ArchiveUrl(format!(
                "url is set, so every corp lives in PostgreSQL: remove archive_path from corp {}",
                c.corp_id
            )));
        }
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
                store: match &postgres {
                    Some(options) => wecom_store::StoreLocation::Postgres(options.clone()),
                    None => wecom_store::StoreLocation::Sqlite(resolve(
                        base,
                        c.archive_path.as_deref().unwrap_or(&self.archive.path),
                    )),
                },
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
        check_tls(&mut server, base)?;
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
        let api = check_api(self.api)?;
        Ok(Config {
            corps,
            sync: self.sync,
            server,
            sdk: self.sdk,
            media,
            names,
            search,
            api,
            group_readable: self.archive.group_readable,
            lease_secs: self.archive.lease_secs,
            postgres,
        })
    }
}

/// `[archive] url` and its companions as the store's options; `None` without a URL.
fn postgres_options(
    archive: &super::schema::ArchiveSection,
    base: &Path,
) -> Result<Option<wecom_store::PgOptions>, ConfigError> {
    let Some(url) = archive
        .url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    else {
        return Ok(None);
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(ConfigError::ArchiveUrl(
            "url must be a PostgreSQL URL: postgres://user@host:5432/database (the password \
             belongs in WECOM_ARCHIVE_DB_PASSWORD)"
                .to_owned(),
        ));
    }
    if archive.lease_secs < 3 {
        return Err(ConfigError::ArchiveUrl(format!(
            "lease_secs {} is too short: at least 3 (default 15), as a node renews its leases \
             three times per lease",
            archive.lease_secs
        )));
    }
    if archive.pool_size < 2 {
        return Err(ConfigError::ArchiveUrl(
            "pool_size must be at least 2 (default 8)".to_owned(),
        ));
    }
    let mut options = wecom_store::PgOptions::new(url);
    options.password = archive.password.clone().filter(|p| !p.is_empty());
    options.schema = archive.schema.clone().filter(|s| !s.trim().is_empty());
    if let Some(node) = archive
        .node
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        options.node = node.to_owned();
    }
    options.pool_size = archive.pool_size;
    options.ca_file = archive.ca_file.as_deref().map(|p| resolve(base, p));
    Ok(Some(options))
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

/// `tls_cert` and `tls_key`: both (resolved against `base`) or neither.
fn check_tls(server: &mut ServerSection, base: &Path) -> Result<(), ConfigError> {
    match (&server.tls_cert, &server.tls_key) {
        (Some(cert), Some(key)) => {
            server.tls_cert = Some(resolve(base, cert));
            server.tls_key = Some(resolve(base, key));
            Ok(())
        }
        (None, None) => Ok(()),
        (Some(_), None) => Err(ConfigError::HalfTls {
            set: "tls_cert",
            missing: "tls_key",
        }),
        (None, Some(_)) => Err(ConfigError::HalfTls {
            set: "tls_key",
            missing: "tls_cert",
        }),
    }
}

/// `[api]`: every number within its range, every origin an origin (kept in the form browsers
/// send it: lower case, default port left out).
fn check_api(mut api: ApiSection) -> Result<ApiSection, ConfigError> {
    let d = ApiSection::default();
    let ranges: [(&'static str, u64, u64, u64); 7] = [
        (
            "session_idle_minutes",
            api.session_idle_minutes,
            1440,
            d.session_idle_minutes,
        ),
        (
            "session_absolute_hours",
            api.session_absolute_hours,
            720,
            d.session_absolute_hours,
        ),
        (
            "login_max_failures",
            api.login_max_failures.into(),
            100,
            d.login_max_failures.into(),
        ),
        (
            "lockout_minutes",
            api.lockout_minutes,
            1440,
            d.lockout_minutes,
        ),
        (
            "login_attempts_per_address",
            api.login_attempts_per_address.into(),
            10_000,
            d.login_attempts_per_address.into(),
        ),
        (
            "login_window_minutes",
            api.login_window_minutes,
            1440,
            d.login_window_minutes,
        ),
        ("max_body_kib", api.max_body_kib, 10_240, d.max_body_kib),
    ];
    for (key, value, max, default) in ranges {
        if !(1..=max).contains(&value) {
            return Err(ConfigError::ApiRange {
                key,
                value,
                max,
                default,
            });
        }
    }
    api.allowed_origins = api
        .allowed_origins
        .iter()
        .map(|o| origin(o))
        .collect::<Result<_, _>>()?;
    Ok(api)
}

/// `raw` as a web origin (`scheme://host[:port]`, http or https, nothing more), serialised as a
/// browser's `Origin` header would carry it.
fn origin(raw: &str) -> Result<String, ConfigError> {
    let bad = |reason: &'static str| ConfigError::ApiOrigin {
        shown: wecom_wire::text::escape_controls(raw).into_owned(),
        reason,
    };
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains a space or a control character"));
    }
    let Some((scheme, rest)) = raw.split_once("://") else {
        return Err(bad("has no scheme://"));
    };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return Err(bad("is neither http:// nor https://"));
    }
    if rest.contains(['/', '?', '#']) {
        return Err(bad("has a path, query or fragment (even a trailing /)"));
    }
    if rest.contains('@') {
        return Err(bad("has a user name"));
    }
    let url = url::Url::parse(raw).map_err(|_| bad("is not a valid URL"))?;
    match url.origin() {
        origin @ url::Origin::Tuple(..) if url.host().is_some() => Ok(origin.ascii_serialization()),
        _ => Err(bad("has no host")),
    }
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
