//! `run`: the daemon. Per corp a runner (sync on callback, on a timer, with backoff); one HTTP server
//! for the callbacks, `/metrics`, `/healthz` and `/readyz`; a completeness watch that warns before the
//! retention window closes. SIGTERM/SIGINT stop it within a bounded time without half-commits.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use wecom_callback::CallbackCrypto;
use wecom_crypto::KeyRing;
use wecom_media::MediaWorkers;
use wecom_server::{CallbackEndpoint, CorpSnapshot, Observer, ServerConfig, router, serve};
use wecom_sync::{RunnerHandle, RunnerOptions, SharedStore, SyncOptions, run_corp};
use wecom_wire::MediaSource;

use super::source::{Source, SourceOverrides};
use super::{Writers, runtime};
use crate::cli::RunArgs;
use crate::config::{Config, CorpConfig};
use crate::keys::load_key_ring;

/// How long shutdown waits for runners to finish their page before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

struct Corp {
    config: CorpConfig,
    store: SharedStore,
    keys: Arc<KeyRing>,
    client: Arc<Source>,
    handle: Arc<RunnerHandle>,
}

/// Reads the archive and the runners at scrape time.
struct DaemonObserver {
    corps: Vec<(String, SharedStore, Arc<RunnerHandle>, Arc<Source>)>,
    retention: Duration,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl DaemonObserver {
    fn corp_snapshot(
        &self,
        corp_id: &str,
        store: &SharedStore,
        handle: &RunnerHandle,
    ) -> CorpSnapshot {
        let status = handle.status();
        let now = now_ms();
        let mut snap = CorpSnapshot {
            corp_id: corp_id.to_owned(),
            lag_records: status.last_backlog,
            syncs_ok: status.syncs_ok,
            syncs_failed: status.syncs_failed,
            lag_seconds: status
                .last_caught_up_ms
                .map(|t| (now - t).max(0) as f64 / 1000.0),
            ..CorpSnapshot::default()
        };
        let stats = store
            .lock()
            .map_err(|_| "archive lock poisoned".to_owned())
            .and_then(|s| {
                s.ping().map_err(|e| e.to_string())?;
                Ok((
                    s.stats(corp_id).map_err(|e| e.to_string())?,
                    s.media_stats(corp_id).map_err(|e| e.to_string())?,
                    s.name_stats(corp_id).map_err(|e| e.to_string())?,
                ))
            });
        match stats {
            Ok((stats, media, names)) => {
                snap.names = [
                    ("room", "named", names.rooms_named),
                    ("room", "unresolvable", names.rooms_unresolvable),
                    ("room", "unchecked", names.rooms_unchecked),
                    ("person", "named", names.people_named),
                    ("person", "unresolvable", names.people_unresolvable),
                    ("person", "unchecked", names.people_unchecked),
                ]
                .into_iter()
                .map(|(k, st, n)| ((k.to_owned(), st.to_owned()), n))
                .collect();
                snap.media_by_state = [
                    ("pending", media.pending),
                    ("downloading", media.downloading),
                    ("done", media.done),
                    ("failed_retryable", media.failed_retryable),
                    ("failed_permanent", media.failed_permanent),
                    ("expired", media.expired),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
                let oldest_media = media.oldest_pending_msgtime_ms;
                snap.media_oldest_pending_age_seconds =
                    oldest_media.map(|t| (now - t).max(0) as f64 / 1000.0);
                snap.last_seq = stats.cursor_seq;
                snap.records_total = stats.records;
                snap.records_by_type = stats.by_msgtype;
                snap.decrypt_failures_by_code = stats.failed_by_code;
                // Everything older than the last catch-up is archived; what is not fetched yet is
                // at most as old as that moment (or, before any catch-up, the newest archived message).
                // A pending media object is at risk from its message's time on.
                let safe_until = match (
                    status.last_caught_up_ms.or(stats.last_msgtime),
                    oldest_media,
                ) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                snap.time_to_loss_seconds = safe_until
                    .map(|t| self.retention.as_secs_f64() - (now - t).max(0) as f64 / 1000.0);
            }
            Err(e) => snap.not_ready = Some(format!("archive unreachable: {e}")),
        }
        if snap.not_ready.is_none() {
            if status.consecutive_failures >= 3 {
                snap.not_ready = Some(format!(
                    "{} syncs failed in a row: {}",
                    status.consecutive_failures,
                    status.last_error.as_deref().unwrap_or("unknown error")
                ));
            } else if status.last_caught_up_ms.is_none() {
                snap.not_ready = Some("not caught up yet".to_owned());
            }
        }
        snap
    }
}

impl Observer for DaemonObserver {
    fn snapshot(&self) -> Vec<CorpSnapshot> {
        self.corps
            .iter()
            .map(|(id, store, handle, source)| {
                let mut snap = self.corp_snapshot(id, store, handle);
                snap.worker_restarts = source.worker_restarts();
                snap
            })
            .collect()
    }
}

pub fn run(config: &Config, selected: Option<&str>, args: &RunArgs) -> anyhow::Result<ExitCode> {
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
            corps: corps.iter().map(|c| (c.config.corp_id.clone(), c.store.clone(), c.handle.clone(), c.client.clone())).collect(),
            retention,
        });
        let app = router(endpoints, observer.clone(), ServerConfig::default());

        let mut tasks = JoinSet::new();
        let server_stop = cancel.clone().cancelled_owned();
        tasks.spawn(async move {
            if let Err(e) = serve(listener, app, server_stop).await {
                error!(error = %e, "http server failed");
            }
        });
        let blobs = if config.media.enabled { Some(config.open_blobs()?) } else { None };
        for c in &corps {
            let (client, store, keys, handle, cancel) =
                (c.client.clone(), c.store.clone(), c.keys.clone(), c.handle.clone(), cancel.clone());
            let mut opts = SyncOptions::new(&c.config.corp_id);
            opts.page_limit = config.sync.page_limit;
            opts.decrypt_threads = config.decrypt_threads();
            let mut pacing = RunnerOptions { poll_interval: poll, ..RunnerOptions::default() };
            if let Some(blobs) = &blobs {
                let source: Arc<dyn MediaSource> = c.client.clone();
                let workers = MediaWorkers::new(c.store.clone(), source, blobs.clone(), config.media_options(&c.config));
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
            match super::names::resolver(config, &c.config, c.store.clone()) {
                Ok(Some(resolver)) => {
                    pacing.after_sync.push(resolver.waker());
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
        let o = observer.clone();
        let Ok(snaps) = tokio::task::spawn_blocking(move || o.snapshot()).await else {
            continue;
        };
        for s in snaps {
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
