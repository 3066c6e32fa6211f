//! The archive over HTTP: a JSON API under `/api/v1/` for the people an archive exists for
//! (compliance officers, auditors, team managers), and its OpenAPI 3 document at
//! `/api/openapi.json`. [`router`] returns an axum `Router` the server mounts beside its own routes
//! (`/callback`, `/metrics`, `/healthz`, `/readyz`).
//!
//! Invariants:
//! - every route needs a live session (a cookie naming a server-side session) except signing in
//!   and the OpenAPI document; every state-changing request must come from an allowed `Origin`
//!   (with `SameSite=Strict` cookies, the CSRF defence);
//! - what a caller may see is decided in one place ([`access`]): admins and auditors every
//!   conversation of their corps, reviewers only conversations with at least one employee of their
//!   scope; anything outside is answered exactly like an id that does not exist (404), and the
//!   attempt is audited;
//! - every access to chat content (a conversation's messages, a message, its raw JSON, a media
//!   object, a search, the conversation list) and every security event (sign-in, sign-out,
//!   forged sessions, users changed, denied access) is appended to the hash-chained audit log
//!   before the answer leaves; when the log cannot be written, the content is not served;
//! - blocking work (the archive, Argon2, search, voice decoding) runs on blocking threads, never
//!   on the runtime's;
//! - media objects are served as stored; a voice object (AMR-NB, SILK v3) is also served as a
//!   WAV browsers play (`/api/v1/media/{sha256}/playable`), made once and kept beside the original
//!   in the blob store, with the original's visibility and audit;
//! - errors have one shape (`{code, message}`, [`ErrorBody`]) and never carry SQL, paths or
//!   internal causes.

pub mod access;
mod audit;
mod auth;
mod error;
mod extract;
mod limit;
mod media;
mod openapi;
mod playable;
mod routes;
pub mod service;
mod types;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use wecom_blob::BlobStore;
use wecom_search::Searcher;
use wecom_server::Observer;
use wecom_store::{Accounts, ArchiveReader, AuditLog, LockPolicy};

pub use auth::guard_origin;
pub use error::{ApiError, ErrorBody};
pub use extract::{API_CSP, ClientAddress, client_address, set_security_headers};
pub use openapi::openapi;
pub use types::*;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "wecom_session";

/// How the API behaves: timeouts, lockout, rate limits, origins.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// A session unused for this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, however used.
    pub absolute_timeout: Duration,
    /// Consecutive failed sign-ins that lock a user, and for how long.
    pub lock: LockPolicy,
    /// Sign-in attempts accepted per client address within `login_window`.
    pub login_attempts_per_address: u32,
    pub login_window: Duration,
    /// Origins (`scheme://host[:port]`) accepted on state-changing requests besides the server's
    /// own (the request's `Host`).
    pub allowed_origins: Vec<String>,
    /// Largest request body accepted.
    pub max_body: usize,
    /// Served over TLS: cookies get `Secure`.
    pub secure_cookies: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            lock: LockPolicy {
                max_failures: 5,
                lock_ms: 15 * 60 * 1000,
            },
            login_attempts_per_address: 20,
            login_window: Duration::from_secs(5 * 60),
            allowed_origins: Vec::new(),
            max_body: 64 * 1024,
            secure_cookies: false,
        }
    }
}

/// One corp the API serves.
#[derive(Clone)]
pub struct ApiCorp {
    pub corp_id: String,
    /// Its archive's read side.
    pub reader: Arc<dyn ArchiveReader>,
    /// Its search index, when search is on and the index opened.
    pub search: Option<Arc<Searcher>>,
    /// Where its media objects are, when media are downloaded.
    pub blobs: Option<Arc<dyn BlobStore>>,
}

/// Everything the handlers share.
pub struct ApiState {
    pub(crate) config: ApiConfig,
    pub(crate) accounts: Arc<dyn Accounts>,
    pub(crate) audit: audit::Auditor,
    pub(crate) corps: BTreeMap<String, ApiCorp>,
    pub(crate) status: Option<Arc<dyn Observer>>,
    pub(crate) limiter: limit::Limiter,
    pub(crate) scopes: access::ScopeCache,
    /// One lock per voice being decoded to WAV (the WAVs themselves are kept in the blob stores).
    pub(crate) renditions: playable::Renditions,
    /// A PHC string verified against when the user is unknown, so an unknown name costs what a
    /// wrong password costs (made on first use, on a blocking thread).
    pub(crate) decoy_hash: std::sync::OnceLock<String>,
}

impl ApiState {
    /// The API over `corps`, with users and sessions in `accounts` and the access log in
    /// `audit` (both in one archive, shared by every corp); `status` gives the live sync
    /// figures `/api/v1/status` shows (the daemon's; `None` outside it).
    pub fn new(
        config: ApiConfig,
        accounts: Arc<dyn Accounts>,
        audit: Arc<dyn AuditLog>,
        corps: Vec<ApiCorp>,
        status: Option<Arc<dyn Observer>>,
    ) -> Arc<ApiState> {
        let limiter = limit::Limiter::new(config.login_attempts_per_address, config.login_window);
        Arc::new(ApiState {
            config,
            accounts,
            audit: audit::Auditor::new(audit),
            corps: corps.into_iter().map(|c| (c.corp_id.clone(), c)).collect(),
            status,
            limiter,
            scopes: access::ScopeCache::default(),
            renditions: playable::Renditions::default(),
            decoy_hash: std::sync::OnceLock::new(),
        })
    }
}

/// The API's routes: `/api/v1/...` and `/api/openapi.json`, with JSON errors for unknown routes
/// and methods under `/api/`.
pub fn router(state: Arc<ApiState>) -> Router {
    use routes::*;
    let max_body = state.config.max_body;
    let v1 = Router::new()
        .route("/session", post(session::sign_in).delete(session::sign_out))
        .route("/me", get(session::me))
        .route("/corps", get(directory::corps))
        .route("/conversations", get(conversations::list))
        .route(
            "/conversations/{key}/messages",
            get(conversations::messages),
        )
        .route("/messages/{msgid}", get(messages::message))
        .route("/messages/{msgid}/raw", get(messages::raw))
        .route("/media/{sha256}", get(media::media))
        .route("/media/{sha256}/playable", get(media::playable))
        .route("/search", get(search::search))
        .route("/rooms", get(directory::rooms))
        .route("/people", get(directory::people))
        .route("/status", get(status::status))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{username}", axum::routing::patch(users::update))
        .route("/audit", get(audit_log::list))
        .route("/audit/verify", get(audit_log::verify))
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed);
    Router::new()
        .nest("/api/v1", v1)
        .route("/api/openapi.json", get(openapi::document))
        .route("/api/{*rest}", axum::routing::any(fallback::not_found))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::guard_origin,
        ))
        .layer(middleware::from_fn(extract::security_headers))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}
