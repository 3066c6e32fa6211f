//! The archive in the browser: server-rendered HTML pages for the people an archive exists for,
//! over the same access rules, sessions and audit log as the JSON API (`wecom-api`, whose
//! `service` module both call).
//!
//! [`router`] returns an axum `Router` the daemon mounts beside the API; its state is the API's
//! own `ApiState`, so a page and the API answer the same caller the same way.

pub mod lang;
pub mod message;
pub mod transcript;

use std::sync::Arc;

use axum::Router;
use wecom_api::ApiState;

/// The web app's routes (everything outside `/api/`).
pub fn router(api: Arc<ApiState>) -> Router {
    Router::new().merge(transcript::routes()).with_state(api)
}
