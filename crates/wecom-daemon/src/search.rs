//! The search index of a corp: opened for writing (created when missing, recreated when another
//! version built it: it is derived data), and one indexing pass. Search never fails a sync or
//! the daemon: callers report a problem and go on without it.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::warn;
use wecom_search::{IndexReport, Indexer, IndexerOptions, SearchError, SearchIndex};
use wecom_store::ArchiveReader;

use crate::DaemonError;
use crate::config::{Config, CorpConfig};

/// Opens the index in `dir` for writing: created when missing, recreated (with a warning) when
/// another version built it. A damaged index, another corp's, or one another process writes is
/// an error whose message says what to do. Blocking.
fn open_indexer(
    dir: PathBuf,
    corp_id: &str,
    archive: Arc<dyn ArchiveReader>,
    options: IndexerOptions,
) -> Result<Indexer, SearchError> {
    let index = match SearchIndex::open_or_create(&dir, corp_id) {
        Err(e @ SearchError::Incompatible { .. }) => {
            warn!(%corp_id, error = %e, "recreating the search index: another version built it; it fills again from the archive");
            SearchIndex::recreate(&dir, corp_id)?
        }
        other => other?,
    };
    Indexer::open(index, archive, options)
}

/// The corp's indexer, opened on a blocking thread; `Ok(None)` when search is off in the
/// configuration.
pub async fn indexer(
    config: &Config,
    corp: &CorpConfig,
    archive: Arc<dyn ArchiveReader>,
) -> Result<Option<Indexer>, DaemonError> {
    if !config.search.enabled {
        return Ok(None);
    }
    let dir = config.search_index_dir(corp);
    let options = config.indexer_options();
    let corp_id = corp.corp_id.clone();
    let opened =
        tokio::task::spawn_blocking(move || open_indexer(dir, &corp_id, archive, options)).await;
    let failed = |cause| DaemonError::Search {
        corp_id: corp.corp_id.clone(),
        cause,
    };
    match opened {
        Ok(result) => result.map(Some).map_err(failed),
        Err(e) => Err(failed(SearchError::Index {
            dir: config.search_index_dir(corp),
            reason: e.to_string(),
        })),
    }
}

/// One indexing pass for a corp until caught up (or cancelled): `Ok(None)` when search is off.
/// Callers report an error and go on: search never fails a sync.
pub async fn index_once(
    config: &Config,
    corp: &CorpConfig,
    archive: Arc<dyn ArchiveReader>,
    cancel: &CancellationToken,
) -> Result<Option<IndexReport>, DaemonError> {
    let Some(indexer) = indexer(config, corp, archive).await? else {
        return Ok(None);
    };
    let report = indexer.pass(cancel).await;
    // Dropping the index writer joins its threads: off the runtime's threads.
    let _ = tokio::task::spawn_blocking(move || drop(indexer)).await;
    report.map(Some).map_err(|cause| DaemonError::Search {
        corp_id: corp.corp_id.clone(),
        cause,
    })
}
