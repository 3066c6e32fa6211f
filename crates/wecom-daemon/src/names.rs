//! Naming rooms and people: the resolver a corp gets from the configuration, and one pass of it.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use wecom_client::ApiClient;
use wecom_names::{NameReport, NameResolver};
use wecom_store::Roles;

use crate::DaemonError;
use crate::config::{Config, CorpConfig};

/// The resolver for a corp, or `None` when names are off in the configuration.
pub fn resolver(
    config: &Config,
    corp: &CorpConfig,
    store: &Roles,
) -> Result<Option<NameResolver>, DaemonError> {
    if !config.names.enabled {
        return Ok(None);
    }
    let api =
        ApiClient::new(config.api_config(corp)?).map_err(|cause| DaemonError::NamesClient {
            corp_id: corp.corp_id.clone(),
            cause,
        })?;
    Ok(Some(NameResolver::new(
        store.directory.clone(),
        store.reader.clone(),
        Arc::new(api),
        config.name_options(corp),
    )))
}

/// One resolution pass for a corp: `Ok(None)` when names are off. Callers report an error and go
/// on: names never fail a sync.
pub async fn resolve_once(
    config: &Config,
    corp: &CorpConfig,
    store: &Roles,
    cancel: &CancellationToken,
) -> Result<Option<NameReport>, DaemonError> {
    let Some(resolver) = resolver(config, corp, store)? else {
        return Ok(None);
    };
    resolver
        .pass(cancel)
        .await
        .map(Some)
        .map_err(|cause| DaemonError::Names {
            corp_id: corp.corp_id.clone(),
            cause,
        })
}
