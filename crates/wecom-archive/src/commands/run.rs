//! `run`: the daemon. Per corp a runner (sync on callback, on a timer, with backoff); one HTTP server
//! for the callbacks, `/metrics`, `/healthz` and `/readyz`; a completeness watch that warns before the
//! retention window closes. SIGTERM/SIGINT stop it within a bounded time without half-commits.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use wecom_callback::CallbackCrypto;
use wecom_crypto::KeyRing;
use wecom_daemon::config::{Config, CorpConfig};
use wecom_media::MediaWorkers;
use wecom_server::{CallbackEndpoint, Observer, ServerConfig, router, serve};
use wecom_store::Roles;
use wecom_sync::{RunnerHandle, RunnerOptions, SyncOptions, run_corp};
use wecom_wire::MediaSource;

use super::figures::{CorpView, DaemonObserver, refresh_figures};
use super::source::{Source, SourceOverrides};
use super::{Writers, runtime};
use crate::cli::RunArgs;
use crate::keys::load_key_ring;

/// How long shutdown waits for runners to finish their page before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

struct Corp {
    config: CorpConfig,
    store: Roles,
    keys: Arc<KeyRing>,
    client: Arc<Source>,
    handle: Arc<RunnerHandle>,
}

/// Raises the soft descriptor limit to the hard one (idle HTTP clients must not starve the archive
/// of descriptors) and returns the soft limit in force.
fn raise_descriptor_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let (Some(current), Some(maximum)) = (limit.current, limit.maximum) else {
        return limit.current;
    };
    if current < maximum {
        let raised = rustix::process::Rlimit {
            current: Some(maximum),
            maximum: Some(maximum),
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => {
                info!(from = current, to = maximum, "raised the open-file limit");
                return Some(maximum);
            }
            Err(e) => {
                warn!(error = %e, limit = current, "cannot raise the open-file limit; keeping it");
                return Some(current);
            }
        }
    }
    limit.current
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

pub fn run(config: &Config, selected: Option<&str>, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let fd_limit = raise_descriptor_limit();
    let rt = runtime()?;
    let overrides = SourceOverrides {
        source: args.source.source,
        sdk_library: args.source.sdk_library.clone(),
    };
    let mut corps = Vec::new();
    // Held for the life of the daemon: one writer per archive.
    let mut writers = Writers::default();
    for c in config.selected(selected)? {
        let keys = Arc::new(load_key_ring(&c.keys_dir)?);
        if keys.is_empty() {
            warn!(corp_id = %c.corp_id, dir = %c.keys_dir.display(), "no private keys: records are stored encrypted until a key is added");
        }
        let store = writers.open(&c.archive_path)?;
        let client = rt.block_on(Source::open(config, c, &overrides))?;
        corps.push(Corp {
            config: c.clone(),
            store,
            keys,
            client: Arc::new(client),
            handle: RunnerHandle::new(),
        });
    }
    let listen = args
        .listen
        .clone()
        .unwrap_or_else(|| config.server.listen.clone());
    let poll = Duration::from_secs(
        args.poll_interval
            .unwrap_or(config.sync.poll_interval_secs)
            .max(1),
    );
    let retention = Duration::from_secs(config.sync.retention_days * 86_400);
    let warn_below = Duration::from_secs(config.sync.warn_remaining_hours * 3600);
    let error_below = Duration::from_secs(config.sync.error_remaining_hours * 3600);

    rt.block_on(async {
        let cancel = CancellationToken::new();
        let listener = tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;

        let mut endpoints = Vec::new();
        for c in &corps {
            if let Some(cb) = &c.config.callback {
                let handle = c.handle.clone();
                endpoints.push(CallbackEndpoint {
                    corp_id: c.config.corp_id.clone(),
                    crypto: CallbackCrypto::new(&cb.token, &cb.encoding_aes_key, &c.config.corp_id)?,
                    on_notify: Arc::new(move || handle.trigger()),
                });
            } else {
                info!(corp_id = %c.config.corp_id, "no callback configured: polling every {}s only", poll.as_secs());
            }
        }
        let observer = Arc::new(DaemonObserver {
            corps: corps
                .iter()
                .map(|c| {
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
                    CorpView::new(
                        c.config.corp_id.clone(),
                        c.store.reader.clone(),
                        c.handle.clone(),
                        Box::new(move || client.worker_restarts()),
                        paths,
                    )
                })
                .collect(),
            retention,
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
            ..ServerConfig::default()
        };
        let app = router(endpoints, observer.clone(), server_config.clone());

        let mut tasks = JoinSet::new();
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
        let blobs = if config.media.enabled { Some(config.open_blobs()?) } else { None };
        for c in &corps {
            let (client, store, keys, handle, cancel) =
                (c.client.clone(), c.store.writer.clone(), c.keys.clone(), c.handle.clone(), cancel.clone());
            let mut opts = SyncOptions::new(&c.config.corp_id);
            opts.page_limit = config.sync.page_limit;
            opts.decrypt_threads = config.decrypt_threads();
            opts.max_seq_jump = config.sync.max_seq_jump;
            let mut pacing = RunnerOptions { poll_interval: poll, ..RunnerOptions::default() };
            pacing.after_sync.push(refresh.clone());
            if let Some(blobs) = &blobs {
                let source: Arc<dyn MediaSource> = c.client.clone();
                let mut media = config.media_options(&c.config);
                // Media progress shows in /metrics without waiting for the refresh timer.
                media.after_record.push(refresh.clone());
                let workers = MediaWorkers::new(c.store.media.clone(), source, blobs.clone(), media);
                // New records wake the media workers at once instead of at their next poll.
                pacing.after_sync.push(workers.waker().notify());
                let cancel = cancel.clone();
                let corp_id = c.config.corp_id.clone();
                tasks.spawn(async move {
                    if let Err(e) = workers.run(&cancel).await {
                        error!(corp_id = %corp_id, error = %e, "media workers stopped");
                    }
                });
            }
            // Names follow new records too; a naming API that is down only delays them.
            match super::names::resolver(config, &c.config, &c.store) {
                Ok(Some(mut resolver)) => {
                    resolver.notify_after_pass(refresh.clone());
                    pacing.after_sync.push(resolver.waker().notify());
                    let cancel = cancel.clone();
                    tasks.spawn(async move { resolver.run(&cancel).await });
                }
                Ok(None) => {}
                Err(e) => warn!(corp_id = %c.config.corp_id, error = %format!("{e:#}"), "names are not resolved"),
            }
            tasks.spawn(async move {
                run_corp(client.as_ref(), store, keys, &opts, &pacing, &handle, &cancel).await;
            });
        }
        {
            let observer = observer.clone();
            let cancel = cancel.clone();
            tasks.spawn(async move { watch_completeness(observer, warn_below, error_below, cancel).await });
        }
        println!("wecom-archive running {} corp(s); http on {addr}", corps.len());

        wait_for_signal(&cancel).await;
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
        for c in &corps {
            c.client.shutdown().await;
        }
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_signal(cancel: &CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    cancel.cancel();
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
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
        for s in observer.snapshot() {
            let Some(ttl) = s.time_to_loss_seconds else {
                continue;
            };
            if ttl < error_below.as_secs_f64() {
                error!(corp_id = %s.corp_id, time_to_loss_hours = ttl / 3600.0, "archive data will leave WeCom's retention window soon: catch up now");
            } else if ttl < warn_below.as_secs_f64() {
                warn!(corp_id = %s.corp_id, time_to_loss_hours = ttl / 3600.0, "archive is falling behind the retention window");
            }
        }
    }
}
