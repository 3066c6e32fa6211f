//! The transcript page (built on the `webtx` branch; this stub only keeps the router whole).

use std::sync::Arc;

/// The transcript's routes, merged into [`crate::router`].
pub fn routes() -> axum::Router<Arc<wecom_api::ApiState>> {
    axum::Router::new()
}
