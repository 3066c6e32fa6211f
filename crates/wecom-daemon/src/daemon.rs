//! The daemon: per corp a runner (sync on callback, on a timer, with backoff), its media workers,
//! its name resolver and its search indexer; one HTTP server for the callbacks, `/metrics`,
//! `/healthz` and `/readyz`; the figures those show, refreshed off the request path; a
//! completeness watch that warns before the retention window closes. [`run`] owns every task it
//! starts: when the shutdown future completes it cancels them all and waits for them (within a
//! bounded grace for a page in flight), so nothing outlives it and nothing is half-committed.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use wecom_callback::CallbackCrypto;
use wecom_crypto::KeyRing;
use wecom_media::MediaWorkers;
use wecom_search::Indexer;
use wecom_server::{CallbackEndpoint, Observer, ServerConfig, router, serve};
use wecom_store::{Follower, Roles};
use wecom_sync::{RunnerHandle, RunnerOptions, SyncOptions, run_corp};
use wecom_wire::MediaSource;

use crate::DaemonError;
use crate::config::{Config, CorpConfig};
use crate::figures::{CorpView, DaemonObserver, refresh_figures};
use crate::rules::{LossAlarm, loss_alarm};
use crate::source::{Source, SourceOverrides};

/// How long shutdown waits for runners to finish their page before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// How often the completeness watch looks at the time to loss.
const COMPLETENESS_EVERY: Duration = Duration::from_secs(60);

/// One corp the daemon runs, its archive already open for writing (the caller holds the writer
/// lock for as long as [`run`] runs).
pub struct DaemonCorp {
    /// The corp's settings.
    pub config: CorpConfig,
    /// Its archive, by role.
    pub store: Roles,
    /// The private keys its records are decrypted with.
    pub keys: Arc<KeyRing>,
}

/// Everything [`run`] needs besides the listener and the shutdown signal.
pub struct RunPlan<'a> {
    /// The whole configuration.
    pub config: &'a Config,
    /// The corps to run.
    pub corps: Vec<DaemonCorp>,
    /// `--source` and `--sdk-library`.
    pub overrides: SourceOverrides,
    /// How often a runner syncs without a callback.
    pub poll_interval: Duration,
    /// The process's open-file limit, when known: the HTTP connection cap is lowered to fit it.
    pub fd_limit: Option<u64>,
    /// Called once every task is started, with the address the server answers on.
    pub on_started: Option<Box<dyn FnOnce(SocketAddr) + Send + 'a>>,
}

struct Corp {
    config: CorpConfig,
    store: Roles,
    keys: Arc<KeyRing>,
    client: Arc<Source>,
    handle: Arc<RunnerHandle>,
    /// Its search indexer until [`start`] runs it; `None` when search is off or unavailable.
    search: Option<Indexer>,
    /// Several nodes: whether this node holds the corp's lease (`None` with one node).
    lease: Option<(watch::Sender<bool>, watch::Receiver<bool>)>,
}

/// Runs the daemon on `listener` until `shutdown` completes, then stops every task it started
/// and returns. Errors are the ones that keep it from starting (a source or a setting that
/// cannot be used); once started, failures are logged, retried and shown in `/readyz`.
pub async fn run(
    plan: RunPlan<'_>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let RunPlan {
        config,
        corps: opened,
        overrides,
        poll_interval,
        fd_limit,
        on_started,
    } = plan;
    let addr = listener.local_addr().map_err(DaemonError::Listener)?;
    let mut corps: Vec<Corp> = Vec::new();
    for c in opened {
        let lease = c.store.cluster.as_ref().map(|_| watch::channel(false));
        match Source::open(config, &c.config, &overrides).await {
            Ok(client) => corps.push(Corp {
                config: c.config,
                store: c.store,
                keys: c.keys,
                client: Arc::new(client),
                handle: RunnerHandle::new(),
                search: None,
                lease,
            }),
            Err(e) => {
                shut_sources(&corps).await;
                return Err(e);
            }
        }
    }
    for c in &mut corps {
        c.search = open_search(config, c).await;
    }
    let blobs = if config.media.enabled {
        match config.open_blobs() {
            Ok(blobs) => Some(blobs),
            Err(e) => {
                shut_sources(&corps).await;
                return Err(e.into());
            }
        }
    } else {
        None
    };
    // The API reads each corp's archive, index and media; it starts with the server.
    let mut api_corps = Vec::new();
    if config.api.enabled {
        for c in &corps {
            api_corps.push(
                crate::api::api_corp(config, &c.config, c.store.reader.clone(), blobs.clone())
                    .await,
            );
        }
    }
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let started = start(
        config,
        &mut corps,
        Served {
            listener,
            blobs,
            api_corps,
        },
        poll_interval,
        fd_limit,
        &cancel,
        &mut tasks,
    );
    if let Err(e) = started {
        cancel.cancel();
        tasks.shutdown().await;
        shut_sources(&corps).await;
        return Err(e);
    }
    if let Some(on_started) = on_started {
        on_started(addr);
    }

    shutdown.await;
    cancel.cancel();
    info!("shutting down: finishing pages in flight");
    // Every task ends on the token; runners get a bounded grace to finish their page.
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                error!(error = %e, "task failed during shutdown");
            }
        }
    })
    .await;
    if drained.is_err() {
        warn!("shutdown grace elapsed; abandoning work in flight (nothing half-committed)");
    }
    tasks.shutdown().await;
    shut_sources(&corps).await;
    Ok(())
}

async fn shut_sources(corps: &[Corp]) {
    for c in corps {
        c.client.shutdown().await;
    }
}

/// A corp's search indexer for the daemon's life. An index another version built is recreated;
/// a damaged one, or one another process writes, leaves the corp without search (logged with
/// the way out): search never keeps the archive from running.
async fn open_search(config: &Config, c: &Corp) -> Option<Indexer> {
    match crate::search::indexer(config, &c.config, c.store.reader.clone()).await {
        Ok(indexer) => indexer,
        Err(e) => {
            error!(corp_id = %c.config.corp_id, error = %e, "search is off for this corp until the index is fixed");
            None
        }
    }
}

/// What the HTTP server serves besides the daemon's own routes, and where.
struct Served {
    listener: TcpListener,
    /// The media store, when media are downloaded.
    blobs: Option<Arc<dyn wecom_blob::BlobStore>>,
    /// What the API serves of each corp; empty when the API is off.
    api_corps: Vec<wecom_api::ApiCorp>,
}

/// Starts every task into `tasks`: the server (with the API), the figures refresh, per corp its
/// media workers, name resolver, search indexer and runner, and the completeness watch.
#[allow(clippy::too_many_arguments)]
fn start(
    config: &Config,
    corps: &mut [Corp],
    served: Served,
    poll: Duration,
    fd_limit: Option<u64>,
    cancel: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> Result<(), DaemonError> {
    let mut endpoints = Vec::new();
    for c in corps.iter() {
        if let Some(cb) = &c.config.callback {
            let handle = c.handle.clone();
            // Several nodes: the callback may reach a node that does not hold the corp, so it is
            // passed on through the database to whichever does.
            let forward = c.store.cluster.clone().map(|cluster| {
                let asked = Arc::new(Notify::new());
                let (corp_id, cancel) = (c.config.corp_id.clone(), cancel.clone());
                let a = asked.clone();
                tasks.spawn(async move {
                    crate::cluster::forward_wakes(cluster, corp_id, a, cancel).await;
                });
                asked
            });
            let crypto = CallbackCrypto::new(&cb.token, &cb.encoding_aes_key, &c.config.corp_id)
                .map_err(|cause| DaemonError::Callback {
                    corp_id: c.config.corp_id.clone(),
                    cause,
                })?;
            endpoints.push(CallbackEndpoint {
                corp_id: c.config.corp_id.clone(),
                crypto,
                on_notify: Arc::new(move || {
                    handle.trigger();
                    if let Some(forward) = &forward {
                        forward.notify_one();
                    }
                }),
            });
        } else {
            info!(corp_id = %c.config.corp_id, "no callback configured: polling every {}s only", poll.as_secs());
        }
    }
    let observer = Arc::new(DaemonObserver {
        corps: corps.iter().map(|c| corp_view(config, c)).collect(),
        retention: Duration::from_secs(config.sync.retention_days * 86_400),
    });
    let server_config = ServerConfig {
        max_connections: connection_cap(
            config.server.max_connections,
            fd_limit,
            reserved_descriptors(corps.len(), config.media.concurrency),
        ),
        header_timeout: Duration::from_secs(config.server.header_timeout_secs),
        body_timeout: Duration::from_secs(config.server.body_timeout_secs),
        idle_timeout: Duration::from_secs(config.server.idle_timeout_secs),
        metrics_token: config.server.metrics_token.clone(),
        tls: config.tls_settings().map_err(DaemonError::Tls)?,
        ..ServerConfig::default()
    };
    let Served {
        listener,
        blobs,
        api_corps,
    } = served;
    let mut app = router(endpoints, observer.clone(), server_config.clone());
    if let Some(first) = corps.first()
        && !api_corps.is_empty()
    {
        let state = wecom_api::ApiState::new(
            crate::api::api_config(config),
            first.store.accounts.clone(),
            first.store.audit.clone(),
            api_corps,
            Some(observer.clone() as Arc<dyn Observer>),
        );
        // The web app shares the API's state: one set of sessions, access rules and audit log.
        app = app
            .merge(wecom_api::router(state.clone()))
            .merge(wecom_web::router(state));
    }
    let server_stop = cancel.clone().cancelled_owned();
    tasks.spawn(async move {
        if let Err(e) = serve(listener, app, &server_config, server_stop).await {
            error!(error = %e, "http server failed");
        }
    });
    // The figures /metrics and /readyz show: computed here, off the request path.
    let refresh = Arc::new(Notify::new());
    {
        let (observer, refresh, cancel) = (observer.clone(), refresh.clone(), cancel.clone());
        let every = Duration::from_secs(config.server.metrics_refresh_secs);
        tasks.spawn(async move { refresh_figures(observer, refresh, every, cancel).await });
    }
    for c in corps.iter_mut() {
        let (client, store, keys, handle, cancel) = (
            c.client.clone(),
            c.store.writer.clone(),
            c.keys.clone(),
            c.handle.clone(),
            cancel.clone(),
        );
        let mut opts = SyncOptions::new(&c.config.corp_id);
        opts.page_limit = config.sync.page_limit;
        opts.decrypt_threads = config.decrypt_threads();
        opts.max_seq_jump = config.sync.max_seq_jump;
        let mut pacing = RunnerOptions {
            poll_interval: poll,
            lease: c.lease.as_ref().map(|(_, held)| held.clone()),
            ..RunnerOptions::default()
        };
        if let (Some(cluster), Some((held, _))) = (c.store.cluster.clone(), c.lease.as_ref()) {
            let (corp_id, held, handle, cancel) = (
                c.config.corp_id.clone(),
                held.clone(),
                c.handle.clone(),
                cancel.clone(),
            );
            let ttl = Duration::from_secs(config.lease_secs);
            tasks.spawn(async move {
                crate::cluster::keep_lease(cluster, corp_id, ttl, held, handle, cancel).await;
            });
        }
        pacing.after_sync.push(refresh.clone());
        if let Some(blobs) = &blobs {
            let source: Arc<dyn MediaSource> = c.client.clone();
            let mut media = config.media_options(&c.config);
            // Media progress shows in /metrics without waiting for the refresh timer.
            media.after_record.push(refresh.clone());
            let workers = MediaWorkers::new(c.store.media.clone(), source, blobs.clone(), media);
            follow(tasks, &mut pacing, workers, &cancel);
        }
        // Names follow new records too; a naming API that is down only delays them.
        match crate::names::resolver(config, &c.config, &c.store) {
            Ok(Some(mut resolver)) => {
                resolver.notify_after_pass(refresh.clone());
                // Several nodes: only the node holding the corp names it.
                let gate = c.lease.as_ref().map(|(_, held)| held.clone());
                follow_gated(tasks, &mut pacing, resolver, gate, &cancel);
            }
            Ok(None) => {}
            Err(e) => warn!(corp_id = %c.config.corp_id, error = %e, "names are not resolved"),
        }
        // The search index follows new messages too.
        if let Some(indexer) = c.search.take() {
            follow(tasks, &mut pacing, indexer, &cancel);
        }
        tasks.spawn(async move {
            run_corp(
                client.as_ref(),
                store,
                keys,
                &opts,
                &pacing,
                &handle,
                &cancel,
            )
            .await;
        });
    }
    // Several nodes: one listener wakes this node's runners for callbacks other nodes received.
    if let Some(cluster) = corps.iter().find_map(|c| c.store.cluster.clone()) {
        let handles = corps
            .iter()
            .map(|c| (c.config.corp_id.clone(), c.handle.clone()))
            .collect();
        let cancel = cancel.clone();
        tasks.spawn(async move { crate::cluster::listen_wakes(cluster, handles, cancel).await });
    }
    let warn_below = Duration::from_secs(config.sync.warn_remaining_hours * 3600);
    let error_below = Duration::from_secs(config.sync.error_remaining_hours * 3600);
    let cancel = cancel.clone();
    tasks.spawn(async move { watch_completeness(observer, warn_below, error_below, cancel).await });
    Ok(())
}

/// Keeps a follower running until `cancel`, owned by `tasks`; every sync that stores records
/// wakes it at once instead of at its next poll.
fn follow<F: Follower + 'static>(
    tasks: &mut JoinSet<()>,
    pacing: &mut RunnerOptions,
    follower: F,
    cancel: &CancellationToken,
) {
    pacing.after_sync.push(follower.waker().notify());
    let cancel = cancel.clone();
    tasks.spawn(async move {
        follower.run(&cancel).await;
        // Dropping a follower may join threads (the search index's writer): off the runtime's
        // threads.
        let _ = tokio::task::spawn_blocking(move || drop(follower)).await;
    });
}

/// [`follow`], but only while `gate` (this node holds the corp's lease) is open; `None`: always.
fn follow_gated<F: Follower + 'static>(
    tasks: &mut JoinSet<()>,
    pacing: &mut RunnerOptions,
    follower: F,
    gate: Option<watch::Receiver<bool>>,
    cancel: &CancellationToken,
) {
    let Some(gate) = gate else {
        return follow(tasks, pacing, follower, cancel);
    };
    pacing.after_sync.push(follower.waker().notify());
    let cancel = cancel.clone();
    tasks.spawn(async move {
        crate::cluster::gated(&follower, gate, &cancel).await;
        let _ = tokio::task::spawn_blocking(move || drop(follower)).await;
    });
}

/// The observer's view of one corp: its archive, runner and the paths its errors may quote.
fn corp_view(config: &Config, c: &Corp) -> CorpView {
    let client = c.client.clone();
    let mut paths = vec![
        (c.config.archive_path.clone(), "the archive"),
        (c.config.keys_dir.clone(), "the keys folder"),
        (config.media.dir.clone(), "the media folder"),
    ];
    if let Some(folder) = c.config.archive_path.parent() {
        paths.push((folder.to_path_buf(), "the archive's folder"));
    }
    if let Some(lib) = &c.config.sdk_library {
        paths.push((lib.clone(), "the vendor library"));
    }
    let mut view = CorpView::new(
        c.config.corp_id.clone(),
        c.store.reader.clone(),
        c.handle.clone(),
        Box::new(move || client.worker_restarts()),
        paths,
    );
    view.lease = c.lease.as_ref().map(|(_, held)| held.clone());
    view
}

/// Descriptors kept out of the HTTP server's reach: the process itself, and per corp its archive,
/// its HTTP clients, the vendor library's workers and every concurrent media download.
fn reserved_descriptors(corps: usize, media_concurrency: usize) -> u64 {
    64 + corps as u64 * (48 + 4 * media_concurrency as u64)
}

/// The connection cap: the configured one, lowered to fit the descriptor limit after the reserve.
fn connection_cap(configured: usize, fd_limit: Option<u64>, reserved: u64) -> usize {
    const FLOOR: usize = 8;
    let Some(limit) = fd_limit else {
        return configured;
    };
    let room = usize::try_from(limit.saturating_sub(reserved)).unwrap_or(usize::MAX);
    if room < configured {
        if room < FLOOR {
            warn!(
                limit,
                reserved,
                max_connections = FLOOR,
                "the open-file limit (ulimit -n) is too low for the archive's needs: raise it"
            );
            return FLOOR;
        }
        info!(
            limit,
            reserved,
            max_connections = room,
            "http connections capped to fit the open-file limit"
        );
        return room;
    }
    configured
}

/// Logs once a minute when a corp is close to losing data.
async fn watch_completeness(
    observer: Arc<DaemonObserver>,
    warn_below: Duration,
    error_below: Duration,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(COMPLETENESS_EVERY) => {}
        }
        for s in observer.snapshot() {
            let Some(ttl) = s.time_to_loss_seconds else {
                continue;
            };
            match loss_alarm(Some(ttl), warn_below, error_below) {
                Some(LossAlarm::Error) => {
                    error!(corp_id = %s.corp_id, time_to_loss_hours = ttl / 3600.0, "archive data will leave WeCom's retention window soon: catch up now");
                }
                Some(LossAlarm::Warn) => {
                    warn!(corp_id = %s.corp_id, time_to_loss_hours = ttl / 3600.0, "archive is falling behind the retention window");
                }
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_fits_the_descriptor_limit() {
        let reserved = reserved_descriptors(1, 4);
        assert_eq!(reserved, 64 + 48 + 16);
        assert_eq!(connection_cap(1000, None, reserved), 1000);
        assert_eq!(connection_cap(1000, Some(1_000_000), reserved), 1000);
        assert_eq!(connection_cap(1000, Some(reserved + 500), reserved), 500);
        assert_eq!(connection_cap(1000, Some(reserved + 3), reserved), 8);
        assert_eq!(connection_cap(1000, Some(10), reserved), 8);
    }
}
