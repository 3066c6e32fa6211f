//! The daemon's HTTP surface, as a library: WeCom callback endpoints per corp (URL verification and
//! encrypted event delivery), Prometheus `/metrics`, `/healthz` and `/readyz`. It knows HTTP shapes and
//! nothing about syncing: a callback only calls the corp's `on_notify`, and metrics come from an
//! [`Observer`] that the binary implements (and keeps cheap: scrapes never wait on the archive).
//!
//! [`serve`] runs any router (these routes and others mounted beside them) over plain HTTP/1.1 or,
//! with [`ServerConfig::tls`], over TLS. Every request a router sees carries the peer's address as
//! [`axum::extract::ConnectInfo`]`<SocketAddr>` and a [`Transport`] extension saying whether it
//! came over TLS, whatever the listener.

mod callback;
mod conn;
mod metrics;
mod replay;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

pub use callback::CallbackEndpoint;
pub use metrics::{CorpSnapshot, Observer};
pub use tls::{TlsError, TlsSettings};

/// How a request reached the server, as an extension of every request [`serve`] hands to the
/// router (extract it with `axum::Extension<Transport>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transport {
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// Limits of the HTTP surface.
#[derive(Clone)]
pub struct ServerConfig {
    /// Callbacks whose `timestamp` is further than this from now are refused (replays, bad clocks).
    pub max_skew: Duration,
    /// Larger callback bodies are refused with 413.
    pub max_body: usize,
    /// Open connections at most. At the cap the connection idle longest is closed to make room;
    /// when every connection has a request in flight, new ones are closed at once.
    pub max_connections: usize,
    /// A request head (start line and headers) must arrive within this.
    pub header_timeout: Duration,
    /// A request body must arrive within this (408 otherwise).
    pub body_timeout: Duration,
    /// A connection on which no byte moved for this long is closed (keep-alive included).
    pub idle_timeout: Duration,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>` (401 else).
    pub metrics_token: Option<String>,
    /// Callbacks remembered to recognise replays (the oldest is forgotten beyond this).
    pub replay_capacity: usize,
    /// When set, [`serve`] speaks only TLS (HTTP/1.1 inside); the handshake must complete within
    /// `header_timeout`.
    pub tls: Option<TlsSettings>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("max_skew", &self.max_skew)
            .field("max_body", &self.max_body)
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<redacted>"),
            )
            .field("replay_capacity", &self.replay_capacity)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_skew: Duration::from_secs(300),
            max_body: 64 * 1024,
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            metrics_token: None,
            replay_capacity: 10_000,
            tls: None,
        }
    }
}

/// Builds the router: `/callback/{corp_id}` (GET and POST), `/metrics`, `/healthz`, `/readyz`.
pub fn router(
    endpoints: Vec<CallbackEndpoint>,
    observer: Arc<dyn Observer>,
    config: ServerConfig,
) -> Router {
    let state = Arc::new(metrics::State::new(endpoints, observer, config));
    Router::new()
        .route(
            "/callback/{corp_id}",
            get(callback::verify_url).post(callback::event),
        )
        .route("/metrics", get(metrics::metrics))
        .route("/healthz", get(metrics::healthz))
        .route("/readyz", get(metrics::readyz))
        .with_state(state)
}

/// Serves `router` on `listener` with `config`'s connection limits until `shutdown` completes,
/// then lets requests in flight finish (for a few seconds at most). With `config.tls` every
/// connection is TLS; a failed handshake closes that connection only. Accept errors (such as
/// running out of descriptors) never end it; the result is an error only for a listener that
/// cannot be used.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    conn::serve(listener, router, config, shutdown).await
}
