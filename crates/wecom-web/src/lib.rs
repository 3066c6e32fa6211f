//! The archive in the browser: server-rendered HTML pages for the people an archive exists for,
//! over the same access rules, sessions and audit log as the JSON API (`wecom-api`).
//!
//! [`router`] returns an axum `Router` the daemon mounts beside the API.

pub mod message;

use std::sync::Arc;

use axum::Router;
use wecom_api::ApiState;

/// The web app's routes (everything outside `/api/`).
pub fn router(_api: Arc<ApiState>) -> Router {
    Router::new()
}
