//! The daemon's HTTP surface, as a library: WeCom callback endpoints per corp (URL verification and
//! encrypted event delivery), Prometheus `/metrics`, `/healthz` and `/readyz`. It knows HTTP shapes and
//! nothing about syncing: a callback only calls the corp's `on_notify`, and metrics come from an
//! [`Observer`] that the binary implements.

mod callback;
mod metrics;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

pub use callback::CallbackEndpoint;
pub use metrics::{CorpSnapshot, Observer};

/// Limits of the HTTP surface.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Callbacks whose `timestamp` is further than this from now are refused (replays, bad clocks).
    pub max_skew: Duration,
    /// Larger callback bodies are refused with 413.
    pub max_body: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_skew: Duration::from_secs(300),
            max_body: 64 * 1024,
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

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
