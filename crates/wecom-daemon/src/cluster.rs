//! Several nodes on one archive (PostgreSQL): per corp, a task keeps this node's lease (taking it
//! when free, renewing it every third of its length, giving it up on shutdown) and opens or closes
//! the corp's gate — the runner and the name resolver work only while the lease is held; and one
//! task listens for wake-ups, so a callback that reached any node wakes the node holding the corp.
//! Media workers and the search indexer run on every node (media jobs are claimed across nodes;
//! each node keeps its own index).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use wecom_store::{Cluster, Follower, Wake, blocking};
use wecom_sync::RunnerHandle;

/// Keeps `corp_id`'s lease for this node until `cancel`, publishing whether it is held on `held`;
/// a newly taken lease triggers the runner at once. A renewal that fails (the database is
/// unreachable) keeps the gate open only until the lease would have lapsed.
pub(crate) async fn keep_lease(
    cluster: Arc<dyn Cluster>,
    corp_id: String,
    ttl: Duration,
    held: watch::Sender<bool>,
    handle: Arc<RunnerHandle>,
    cancel: CancellationToken,
) {
    let every = ttl / 3;
    let mut last_renewed: Option<Instant> = None;
    loop {
        let started = Instant::now();
        let result = {
            let (cluster, corp_id) = (Arc::clone(&cluster), corp_id.clone());
            blocking(move || cluster.acquire_lease(&corp_id, ttl)).await
        };
        match result {
            Ok(Some(lease)) => {
                last_renewed = Some(started);
                if !*held.borrow() {
                    info!(corp_id = %corp_id, token = lease.token, node = cluster.node(), "took the corp's lease: syncing it");
                    held.send_replace(true);
                    handle.trigger();
                }
            }
            Ok(None) => {
                last_renewed = None;
                if *held.borrow() {
                    warn!(corp_id = %corp_id, "another node holds the corp's lease: standing by");
                } else if started.elapsed() < every {
                    // Quiet: standing by is the normal state of most nodes.
                }
                held.send_replace(false);
            }
            Err(e) => {
                let lapsed = last_renewed.is_none_or(|at| at.elapsed() >= ttl);
                warn!(corp_id = %corp_id, error = %e, "cannot renew the corp's lease; will retry");
                if lapsed && *held.borrow() {
                    warn!(corp_id = %corp_id, "the corp's lease lapsed: standing by");
                    held.send_replace(false);
                }
            }
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
    }
    held.send_replace(false);
    let released = {
        let (cluster, corp_id) = (Arc::clone(&cluster), corp_id.clone());
        blocking(move || cluster.release_lease(&corp_id)).await
    };
    if let Err(e) = released {
        warn!(corp_id = %corp_id, error = %e, "could not give the corp's lease up; it lapses by itself");
    }
}

/// Tells every node (through the database) that `corp_id` has new data, each time `asked` is
/// notified (a callback reached this node), until `cancel`.
pub(crate) async fn forward_wakes(
    cluster: Arc<dyn Cluster>,
    corp_id: String,
    asked: Arc<Notify>,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = asked.notified() => {}
        }
        let result = {
            let (cluster, corp_id) = (Arc::clone(&cluster), corp_id.clone());
            blocking(move || cluster.wake(&corp_id)).await
        };
        if let Err(e) = result {
            warn!(corp_id = %corp_id, error = %e, "cannot pass the callback on to the other nodes");
        }
    }
}

/// Listens for wake-ups until `cancel` and triggers the runner of the corp named (every runner
/// after a reconnect, as wake-ups may have been missed). Runs on a blocking thread; it notices
/// `cancel` within a second.
pub(crate) async fn listen_wakes(
    cluster: Arc<dyn Cluster>,
    handles: HashMap<String, Arc<RunnerHandle>>,
    cancel: CancellationToken,
) {
    let listening = tokio::task::spawn_blocking(move || {
        let mut wakes = None;
        let mut failing = false;
        while !cancel.is_cancelled() {
            if wakes.is_none() {
                match cluster.wakes() {
                    Ok(w) => wakes = Some(w),
                    Err(e) => {
                        if !failing {
                            warn!(error = %e, "cannot listen for wake-ups from other nodes; retrying");
                        }
                        failing = true;
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                }
            }
            let Some(w) = wakes.as_mut() else { continue };
            match w.next(Duration::from_secs(1)) {
                Ok(Some(Wake::Corp(corp))) => {
                    if let Some(handle) = handles.get(&corp) {
                        handle.trigger();
                    }
                }
                Ok(Some(Wake::Resumed)) => {
                    if failing {
                        info!("listening for wake-ups from other nodes again");
                    }
                    failing = false;
                    handles.values().for_each(|h| h.trigger());
                }
                Ok(None) => {}
                Err(e) => {
                    if !failing {
                        warn!(error = %e, "lost the wake-up connection; reconnecting");
                    }
                    failing = true;
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    });
    let _ = listening.await;
}

/// Runs `follower` only while `gate` is open (this node holds the corp): started when it opens,
/// cancelled when it closes, until `cancel`.
pub(crate) async fn gated<F: Follower>(
    follower: &F,
    mut gate: watch::Receiver<bool>,
    cancel: &CancellationToken,
) {
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            gone = async { gate.wait_for(|held| *held).await.is_err() } => {
                if gone {
                    return;
                }
            }
        }
        let inner = cancel.child_token();
        let run = follower.run(&inner);
        tokio::pin!(run);
        tokio::select! {
            () = &mut run => {}
            closed = async { gate.wait_for(|held| !*held).await.is_err() } => {
                inner.cancel();
                run.await;
                if closed {
                    return;
                }
            }
        }
        if cancel.is_cancelled() {
            return;
        }
    }
}
