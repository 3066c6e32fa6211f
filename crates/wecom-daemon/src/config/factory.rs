//! What the configuration builds: the corp a command works on, and the settings of the native
//! client, the naming API client, the name resolver, the vendor library, the media store, the
//! media workers, the search indexer and the HTTP server's TLS.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wecom_client::{ApiConfig, ClientConfig, ProxyConfig, RetryPolicy};

use super::ConfigError;
use super::schema::{Config, CorpConfig};

impl Config {
    /// The corp a command works on: the one named, or the only one configured.
    pub fn corp(&self, selected: Option<&str>) -> Result<&CorpConfig, ConfigError> {
        match selected {
            Some(id) => self.corps.iter().find(|c| c.corp_id == id).ok_or_else(|| {
                ConfigError::UnknownCorp {
                    corp_id: id.to_owned(),
                    configured: self.corp_list(),
                }
            }),
            None => match self.corps.as_slice() {
                [only] => Ok(only),
                _ => Err(ConfigError::SeveralCorps {
                    configured: self.corp_list(),
                }),
            },
        }
    }

    fn corp_list(&self) -> String {
        self.corps
            .iter()
            .map(|c| c.corp_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The corps a command works on: the one named, or all.
    pub fn selected(&self, selected: Option<&str>) -> Result<Vec<&CorpConfig>, ConfigError> {
        match selected {
            Some(_) => Ok(vec![self.corp(selected)?]),
            None => Ok(self.corps.iter().collect()),
        }
    }

    /// The retry policy of the archive's requests (`[sync] retry_*`).
    fn retry(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.sync.retry_max_attempts,
            base_delay: Duration::from_millis(self.sync.retry_base_delay_ms),
            max_delay: Duration::from_millis(self.sync.retry_max_delay_ms),
        }
    }

    /// The native client's settings for a corp; its secret must be present by now.
    pub fn client_config(&self, corp: &CorpConfig) -> Result<ClientConfig, ConfigError> {
        require_secret(corp)?;
        let mut c = ClientConfig::new(&corp.base_url, &corp.corp_id, &corp.secret);
        c.timeout = Duration::from_secs(corp.timeout_secs);
        c.retry = self.retry();
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
    pub fn api_config(&self, corp: &CorpConfig) -> Result<ApiConfig, ConfigError> {
        let client = self.client_config(corp)?;
        let mut c = ApiConfig::new(&corp.base_url, &corp.corp_id, &corp.secret);
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

    /// The vendor-library source's settings for a corp, its workers started as this program's
    /// `sdk-worker` command.
    pub fn sdk_config(
        &self,
        corp: &CorpConfig,
        library: &Path,
    ) -> Result<wecom_sdk::SdkConfig, ConfigError> {
        require_secret(corp)?;
        let worker = wecom_sdk::WorkerCommand::current_exe(["sdk-worker"])
            .map_err(ConfigError::WorkerPath)?;
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
        c.limits.max_rss_bytes = self.sdk.max_rss_mb.saturating_mul(1024 * 1024);
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
        c.retry = self.retry();
        Ok(c)
    }

    /// The media store all corps share (objects are content-addressed).
    pub fn open_blobs(&self) -> Result<Arc<dyn wecom_blob::BlobStore>, ConfigError> {
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
            let store = wecom_blob::S3BlobStore::new(&c).map_err(ConfigError::S3)?;
            return Ok(Arc::new(store));
        }
        let store =
            wecom_blob::FsBlobStore::open(&m.dir).map_err(|source| ConfigError::MediaDir {
                dir: m.dir.clone(),
                source,
            })?;
        Ok(Arc::new(store))
    }

    /// The media workers' settings for a corp.
    pub fn media_options(&self, corp: &CorpConfig) -> wecom_media::MediaOptions {
        let mut o = wecom_media::MediaOptions::new(&corp.corp_id);
        o.concurrency = self.media.concurrency.max(1);
        o.max_md5_attempts = self.media.max_md5_attempts.max(1);
        o.max_attempts = self.media.max_attempts.max(1);
        o.retention = Duration::from_secs(self.sync.retention_days.saturating_mul(86_400));
        o
    }

    /// The folder of a corp's search index.
    pub fn search_index_dir(&self, corp: &CorpConfig) -> PathBuf {
        wecom_search::corp_index_dir(&self.search.dir, &corp.corp_id)
    }

    /// The search indexer's settings.
    pub fn indexer_options(&self) -> wecom_search::IndexerOptions {
        wecom_search::IndexerOptions {
            heap_bytes: usize::try_from(self.search.heap_mb.saturating_mul(1 << 20))
                .unwrap_or(usize::MAX),
            ..wecom_search::IndexerOptions::default()
        }
    }

    /// The HTTP server's TLS identity from `[server] tls_cert` and `tls_key` (read now), or
    /// `None` for plain HTTP.
    pub fn tls_settings(
        &self,
    ) -> Result<Option<wecom_server::TlsSettings>, wecom_server::TlsError> {
        match (&self.server.tls_cert, &self.server.tls_key) {
            (Some(cert), Some(key)) => {
                wecom_server::TlsSettings::from_pem_files(cert, key).map(Some)
            }
            // Validation leaves both set or neither.
            _ => Ok(None),
        }
    }

    /// `[sync] max_response_mb` in bytes.
    pub fn max_response_bytes(&self) -> u64 {
        self.sync.max_response_mb.saturating_mul(1 << 20)
    }

    /// `[sync] decrypt_threads`, with 0 meaning two per core.
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

/// The archive secret is present (not blank).
fn require_secret(corp: &CorpConfig) -> Result<(), ConfigError> {
    if corp.secret.trim().is_empty() {
        return Err(ConfigError::NoSecret {
            corp_id: corp.corp_id.clone(),
        });
    }
    Ok(())
}
