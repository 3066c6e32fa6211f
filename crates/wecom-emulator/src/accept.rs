//! The one accept loop of the emulator's servers (the HTTP server, the CONNECT/SOCKS proxy, the
//! TLS endpoint): a task per connection, accept errors that never end it, and a graceful drain on
//! shutdown — connections are told to stop, given [`SHUTDOWN_GRACE`], then cut.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long in-flight requests may run after shutdown before their connections are cut.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Tells the tasks of one server to stop, and joins them.
pub(crate) struct Tasks {
    stop_tx: watch::Sender<bool>,
    stop_rx: watch::Receiver<bool>,
    set: JoinSet<()>,
}

impl Tasks {
    pub(crate) fn new() -> Tasks {
        let (stop_tx, stop_rx) = watch::channel(false);
        Tasks {
            stop_tx,
            stop_rx,
            set: JoinSet::new(),
        }
    }

    /// A receiver that turns `true` when the server shuts down.
    pub(crate) fn stop(&self) -> watch::Receiver<bool> {
        self.stop_rx.clone()
    }

    /// Starts a task the server owns beside its connections (live appends, callbacks).
    pub(crate) fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.set.spawn(task);
    }

    /// Accepts connections on `listener`, each served by `handle` in its own task, until
    /// `shutdown` resolves; then stops and joins every task (connections and the ones
    /// [`Tasks::spawn`] started). `server` names the server in log lines.
    pub(crate) async fn accept_until<F, Fut>(
        mut self,
        server: &'static str,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        handle: F,
    ) where
        F: Fn(TcpStream, SocketAddr, watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        self.set.spawn(handle(stream, peer, self.stop_rx.clone()));
                    }
                    Err(error) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(%error, server, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(joined) = self.set.join_next(), if !self.set.is_empty() => {
                    if let Err(error) = joined {
                        tracing::warn!(%error, server, "emulator task failed");
                    }
                }
            }
        }
        drop(listener);
        let _ = self.stop_tx.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
            while self.set.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            self.set.abort_all();
            while self.set.join_next().await.is_some() {}
        }
    }
}
