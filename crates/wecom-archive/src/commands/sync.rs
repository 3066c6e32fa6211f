//! `sync` and `redecrypt`: the pull loop with a progress line, and the retry of stored failures.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wecom_blob::BlobStore;
use wecom_crypto::KeyRing;
use wecom_media::MediaWorkers;
use wecom_sync::{
    Progress, SharedStore, SyncError, SyncOptions, SyncReport, redecrypt as redecrypt_all,
    sync_until_caught_up,
};
use wecom_wire::MediaSource;

use super::source::{Source, SourceOverrides};
use super::{open_store, runtime, thousands};
use crate::cli::SyncArgs;
use crate::config::{Config, CorpConfig};
use crate::keys::load_key_ring;

pub fn run(config: &Config, selected: Option<&str>, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    struct Target<'a> {
        corp: &'a CorpConfig,
        keys: Arc<KeyRing>,
        store: SharedStore,
    }
    let mut targets = Vec::new();
    for corp in config.selected(selected)? {
        let keys = Arc::new(load_key_ring(&corp.keys_dir)?);
        if keys.is_empty() {
            tracing::warn!(corp_id = %corp.corp_id, dir = %corp.keys_dir.display(), "no private keys: records are stored encrypted and reported as failures until a key is added");
        }
        let store = open_store(&corp.archive_path)?;
        targets.push(Target { corp, keys, store });
    }
    let limit = args.limit.unwrap_or(config.sync.page_limit);
    let blobs = if config.media.enabled && !args.no_media {
        Some(config.open_blobs()?)
    } else {
        None
    };
    let overrides = SourceOverrides {
        source: args.source.source,
        sdk_library: args.source.sdk_library.clone(),
    };
    let interval = Duration::from_secs(
        args.interval
            .unwrap_or(config.sync.follow_interval_secs)
            .max(1),
    );
    let rt = runtime()?;
    let failed = rt.block_on(async {
        let cancel = CancellationToken::new();
        let ctrl_c = {
            let cancel = cancel.clone();
            async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!("interrupted: finishing the pages in flight");
                    cancel.cancel();
                }
            }
        };
        let work = async {
            loop {
                let mut failed = 0usize;
                // One corp failing never stops the others.
                for t in &targets {
                    match sync_once(
                        config,
                        t.corp,
                        &overrides,
                        t.store.clone(),
                        t.keys.clone(),
                        limit,
                        &cancel,
                        true,
                        blobs.as_ref(),
                        !args.no_names,
                    )
                    .await
                    {
                        Ok(report) => print_report(&t.corp.corp_id, &report),
                        Err(e) => {
                            failed += 1;
                            eprintln!("error: corp {}: {e:#}", t.corp.corp_id);
                        }
                    }
                }
                if !args.follow || cancel.is_cancelled() {
                    return failed;
                }
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = cancel.cancelled() => return 0,
                }
            }
        };
        tokio::select! {
            failed = work => failed,
            () = ctrl_c => 0,
        }
    });
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One pull until caught up, printing a progress line every two seconds when `progress` is set.
#[allow(clippy::too_many_arguments)]
pub async fn sync_once(
    config: &Config,
    corp: &CorpConfig,
    overrides: &SourceOverrides,
    store: SharedStore,
    keys: Arc<KeyRing>,
    limit: u32,
    cancel: &CancellationToken,
    progress: bool,
    media: Option<&Arc<dyn BlobStore>>,
    names: bool,
) -> anyhow::Result<SyncReport> {
    let client = Arc::new(Source::open(config, corp, overrides).await?);
    let mut opts = SyncOptions::new(&corp.corp_id);
    opts.page_limit = limit;
    opts.decrypt_threads = config.decrypt_threads();
    let last = Mutex::new(Instant::now());
    let printer = |p: &Progress| {
        if !progress {
            return;
        }
        let Ok(mut last) = last.lock() else { return };
        if last.elapsed() >= Duration::from_secs(2) {
            *last = Instant::now();
            let rate = p.records as f64 / p.elapsed.as_secs_f64().max(1e-9);
            eprintln!(
                "synced {} records ({:.0}/s), {} failed, cursor {}",
                thousands(p.records),
                rate,
                thousands(p.failed),
                p.cursor
            );
        }
    };
    let result = sync_until_caught_up(
        client.as_ref(),
        store.clone(),
        keys,
        &opts,
        cancel,
        &printer,
    )
    .await;
    // Media of everything committed so far, also when the pull stopped early: it expires on
    // WeCom's side, so it is fetched whenever it can be.
    let media_result = match media {
        Some(blobs) if !cancel.is_cancelled() => {
            let source: Arc<dyn MediaSource> = client.clone();
            let workers = MediaWorkers::new(
                store.clone(),
                source,
                blobs.clone(),
                config.media_options(corp),
            );
            Some(workers.drain(cancel).await)
        }
        _ => None,
    };
    client.shutdown().await;
    match media_result {
        Some(Ok(m)) if m.started > 0 || m.failed > 0 || m.expired > 0 => println!(
            "corp {}: media {} downloaded ({} already stored, {} bytes), {} to retry later, {} failed, {} expired",
            corp.corp_id,
            thousands(m.done),
            thousands(m.deduplicated),
            thousands(m.bytes),
            thousands(m.retry_later),
            thousands(m.failed),
            thousands(m.expired)
        ),
        Some(Ok(_)) | None => {}
        Some(Err(e)) => eprintln!("error: corp {}: media: {e}", corp.corp_id),
    }
    // Names of the rooms and people seen so far; an API that is down only delays them.
    if names && !cancel.is_cancelled() {
        super::names::resolve_once(config, corp, store, cancel).await;
    }
    match result {
        Ok(report) => Ok(report),
        Err(SyncError::Source {
            error,
            cursor,
            partial,
        }) => {
            if partial.records > 0 {
                print_report(&corp.corp_id, &partial);
            }
            Err(anyhow::anyhow!(
                "sync stopped: {error}. Everything up to seq {cursor} is committed; run `sync` again to resume from there"
            ))
        }
        Err(e) => Err(e.into()),
    }
}

fn print_report(corp_id: &str, r: &SyncReport) {
    println!(
        "corp {corp_id}: synced {} records in {} pages ({} new, {} already archived, {} failed to decrypt); cursor {} → {} in {:.1}s",
        thousands(r.records),
        r.pages,
        thousands(r.inserted),
        thousands(r.duplicates),
        thousands(r.failed),
        r.cursor_before,
        r.cursor_after,
        r.elapsed.as_secs_f64()
    );
}

pub fn redecrypt(corp: &CorpConfig) -> anyhow::Result<ExitCode> {
    let keys = Arc::new(load_key_ring(&corp.keys_dir)?);
    let store = open_store(&corp.archive_path)?;
    let report = runtime()?.block_on(redecrypt_all(store, keys, &corp.corp_id))?;
    println!(
        "redecrypt: {} failed records retried, {} now decrypted, {} still failing",
        thousands(report.attempted),
        thousands(report.fixed),
        thousands(report.still_failing)
    );
    for (code, n) in &report.still_failing_by_code {
        println!("  code {code}: {}", thousands(*n));
    }
    Ok(if report.still_failing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
