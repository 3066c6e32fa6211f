//! One pull of one corp until caught up, then its media, names and search index: what `sync` runs
//! per corp and per round. Described by one [`SyncPlan`]; what happened comes back as a
//! [`SyncOutcome`] for the caller to report (this library prints nothing).

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use wecom_blob::BlobStore;
use wecom_crypto::KeyRing;
use wecom_media::{MediaReport, MediaWorkerError, MediaWorkers};
use wecom_names::NameReport;
use wecom_search::IndexReport;
use wecom_store::{Follower, MediaStats, Roles, StoreError, StoreErrorKind};
use wecom_sync::{Progress, SyncError, SyncOptions, SyncReport, sync_until_caught_up};
use wecom_wire::MediaSource;

use crate::DaemonError;
use crate::config::{Config, CorpConfig};
use crate::source::{Source, SourceOverrides};

/// Everything one [`sync_once`] needs.
pub struct SyncPlan<'a> {
    /// The whole configuration (sync, media and names settings).
    pub config: &'a Config,
    /// The corp to pull.
    pub corp: &'a CorpConfig,
    /// `--source` and `--sdk-library`.
    pub overrides: &'a SourceOverrides,
    /// The corp's archive, opened for writing (its writer lock held by the caller).
    pub store: Roles,
    /// The private keys records are decrypted with.
    pub keys: Arc<KeyRing>,
    /// Records asked for per page.
    pub limit: u32,
    /// Called after every committed page, when set.
    pub progress: Option<&'a (dyn Fn(&Progress) + Sync)>,
    /// Where media go; `None` skips media.
    pub media: Option<Arc<dyn BlobStore>>,
    /// Whether to run a names pass after the pull.
    pub names: bool,
    /// Whether to bring the search index up to date after the pull (when `[search]` is on).
    pub search: bool,
}

/// What one [`sync_once`] did: the pull, then (each only when asked for and not cancelled) the
/// media drain, the names pass and the search pass.
#[derive(Debug)]
pub struct SyncOutcome {
    /// The pull's report, or why it stopped (with what it did before, see
    /// [`DaemonError::partial`]).
    pub pull: Result<SyncReport, DaemonError>,
    /// The media drain of everything committed so far, also after a pull that stopped early.
    pub media: Option<Result<MediaReport, MediaWorkerError>>,
    /// The media queue's figures after the drain (what waits to retry, and when).
    pub media_waiting: Option<MediaStats>,
    /// The names pass: `Ok(None)` when names are off in the configuration.
    pub names: Option<Result<Option<NameReport>, DaemonError>>,
    /// The search pass: `Ok(None)` when search is off in the configuration.
    pub search: Option<Result<Option<IndexReport>, DaemonError>>,
}

/// Pulls `plan.corp` until caught up, then drains its media, runs a names pass and brings its
/// search index up to date.
///
/// An error is returned only when the pull could not start (the source cannot be set up); a pull
/// that stopped is [`SyncOutcome::pull`], so media, names and search still ran for what was
/// committed.
pub async fn sync_once(
    plan: SyncPlan<'_>,
    cancel: &CancellationToken,
) -> Result<SyncOutcome, DaemonError> {
    let SyncPlan {
        config,
        corp,
        overrides,
        store,
        keys,
        limit,
        progress,
        media,
        names,
        search,
    } = plan;
    let client = Arc::new(Source::open(config, corp, overrides).await?);
    let mut opts = SyncOptions::new(&corp.corp_id);
    opts.page_limit = limit;
    opts.decrypt_threads = config.decrypt_threads();
    opts.max_seq_jump = config.sync.max_seq_jump;
    let silent = |_: &Progress| {};
    let result = sync_until_caught_up(
        client.as_ref(),
        store.writer.clone(),
        keys,
        &opts,
        cancel,
        progress.unwrap_or(&silent),
    )
    .await;
    // Media of everything committed so far, also when the pull stopped early: it expires on
    // WeCom's side, so it is fetched whenever it can be.
    let media = match media {
        Some(blobs) if !cancel.is_cancelled() => {
            let source: Arc<dyn MediaSource> = client.clone();
            let workers = MediaWorkers::new(
                store.media.clone(),
                source,
                blobs,
                config.media_options(corp),
            );
            Some(Follower::pass(&workers, cancel).await)
        }
        _ => None,
    };
    client.shutdown().await;
    let media_waiting = match &media {
        Some(Ok(_)) => {
            let (reader, corp_id) = (store.reader.clone(), corp.corp_id.clone());
            wecom_store::blocking(move || reader.media_stats(&corp_id))
                .await
                .ok()
        }
        _ => None,
    };
    // Names of the rooms and people seen so far; an API that is down only delays them.
    let names = if names && !cancel.is_cancelled() {
        Some(crate::names::resolve_once(config, corp, &store, cancel).await)
    } else {
        None
    };
    // The index of everything committed so far; a damaged index only leaves search behind.
    let search = if search && !cancel.is_cancelled() {
        Some(crate::search::index_once(config, corp, store.reader.clone(), cancel).await)
    } else {
        None
    };
    let pull = match result {
        Ok(report) => Ok(report),
        Err(e) => Err(stopped(e, corp).await),
    };
    Ok(SyncOutcome {
        pull,
        media,
        media_waiting,
        names,
        search,
    })
}

/// A stopped pull in the terms of what to do next.
async fn stopped(e: SyncError, corp: &CorpConfig) -> DaemonError {
    match e {
        SyncError::Source {
            error,
            cursor,
            partial,
        } => DaemonError::Fetch {
            error,
            cursor,
            partial,
        },
        SyncError::Commit {
            error,
            cursor,
            partial,
        } => DaemonError::Commit {
            holders: holders_if_busy(&error, corp).await,
            error,
            cursor,
            partial,
        },
        SyncError::ReplayOnly {
            cursor,
            attempts,
            partial,
        } => DaemonError::ReplayOnly {
            corp_id: corp.corp_id.clone(),
            cursor,
            attempts,
            partial,
        },
        other => DaemonError::Sync(other),
    }
}

/// Who holds the archive open, for a "locked" error (empty otherwise). Reading `/proc` is
/// blocking file I/O: off the runtime's threads.
async fn holders_if_busy(error: &StoreError, corp: &CorpConfig) -> String {
    if error.kind() != StoreErrorKind::Busy {
        return String::new();
    }
    let path = corp.archive_path.clone();
    tokio::task::spawn_blocking(move || crate::holders::describe(&path))
        .await
        .unwrap_or_default()
}
