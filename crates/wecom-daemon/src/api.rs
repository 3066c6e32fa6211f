//! The HTTP API beside the daemon's own routes: its settings from `[api]` and `[server]`, and per
//! corp what it reads (the archive, a searcher over the index the daemon keeps, the media store).
//! Users, sessions and the audit log live in the first configured corp's archive (corps usually
//! share one), as the `user` and `audit` commands expect.

use std::sync::Arc;
use std::time::Duration;

use tracing::warn;
use wecom_api::{ApiConfig, ApiCorp};
use wecom_search::{SearchIndex, Searcher};
use wecom_store::{ArchiveReader, LockPolicy};

use crate::config::{Config, CorpConfig};

/// The API's behaviour as configured.
pub fn api_config(config: &Config) -> ApiConfig {
    let a = &config.api;
    ApiConfig {
        idle_timeout: Duration::from_secs(a.session_idle_minutes * 60),
        absolute_timeout: Duration::from_secs(a.session_absolute_hours * 3600),
        lock: LockPolicy {
            max_failures: a.login_max_failures,
            lock_ms: i64::try_from(a.lockout_minutes)
                .unwrap_or(i64::MAX / 60_000)
                .saturating_mul(60_000),
        },
        login_attempts_per_address: a.login_attempts_per_address,
        login_window: Duration::from_secs(a.login_window_minutes * 60),
        allowed_origins: a.allowed_origins.clone(),
        max_body: usize::try_from(a.max_body_kib).unwrap_or(usize::MAX / 1024) * 1024,
        secure_cookies: config.server.tls_cert.is_some(),
    }
}

/// A read-only searcher over the corp's index, when search is on and the index opens; the API
/// answers `search_unavailable` otherwise. Blocking.
fn open_searcher(
    config: &Config,
    corp: &CorpConfig,
    reader: Arc<dyn ArchiveReader>,
) -> Option<Arc<Searcher>> {
    if !config.search.enabled {
        return None;
    }
    let dir = config.search_index_dir(corp);
    match SearchIndex::open(&dir, &corp.corp_id).and_then(|index| Searcher::open(index, reader)) {
        Ok(searcher) => Some(Arc::new(searcher)),
        Err(e) => {
            warn!(corp_id = %corp.corp_id, error = %e, "the API cannot search this corp");
            None
        }
    }
}

/// What the API serves of one corp, opened on a blocking thread.
pub async fn api_corp(
    config: &Config,
    corp: &CorpConfig,
    reader: Arc<dyn ArchiveReader>,
    blobs: Option<Arc<dyn wecom_blob::BlobStore>>,
) -> ApiCorp {
    let (c, k) = (config.clone(), corp.clone());
    let r = reader.clone();
    let search = tokio::task::spawn_blocking(move || open_searcher(&c, &k, r))
        .await
        .unwrap_or(None);
    ApiCorp {
        corp_id: corp.corp_id.clone(),
        reader,
        search,
        blobs,
    }
}
