//! `run`: the daemon ([`wecom_daemon::run`]). Here only what belongs to the process: the
//! archives' writer locks and keys, the open-file limit, the listener, the first line naming the
//! address, and SIGTERM/SIGINT as the shutdown signal.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tracing::{info, warn};
use wecom_daemon::config::Config;
use wecom_daemon::{DaemonCorp, RunPlan, SourceOverrides};

use super::{Writers, runtime};
use crate::cli::RunArgs;
use crate::keys::load_key_ring;

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

pub fn run(config: &Config, selected: Option<&str>, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let fd_limit = raise_descriptor_limit();
    let rt = runtime()?;
    let mut corps = Vec::new();
    // Held for the life of the daemon: one writer per archive.
    let mut writers = Writers::default();
    for c in config.selected(selected)? {
        let keys = Arc::new(load_key_ring(&c.keys_dir)?);
        if keys.is_empty() {
            warn!(corp_id = %c.corp_id, dir = %c.keys_dir.display(), "no private keys: records are stored encrypted until a key is added");
        }
        let store = writers.open(&c.store)?;
        corps.push(DaemonCorp {
            config: c.clone(),
            store,
            keys,
        });
    }
    let listen = args
        .listen
        .clone()
        .unwrap_or_else(|| config.server.listen.clone());
    let poll_interval = Duration::from_secs(
        args.poll_interval
            .unwrap_or(config.sync.poll_interval_secs)
            .max(1),
    );
    let count = corps.len();
    let scheme = if config.server.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let plan = RunPlan {
        config,
        corps,
        overrides: SourceOverrides {
            source: args.source.source,
            sdk_library: args.source.sdk_library.clone(),
        },
        poll_interval,
        fd_limit,
        // The first line on stdout names the address: scripts and tests read it.
        on_started: Some(Box::new(move |addr| {
            println!("wecom-archive running {count} corp(s); {scheme} on {addr}");
        })),
    };
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        wecom_daemon::run(plan, listener, wait_for_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Completes at the first SIGTERM or SIGINT.
pub(super) async fn wait_for_signal() {
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
