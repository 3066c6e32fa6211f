//! The archive in the browser: server-rendered HTML pages for the people an archive exists for,
//! over the same access rules, sessions and audit log as the JSON API (`wecom-api`, whose
//! `service` module both call).
//!
//! [`router`] returns an axum `Router` the daemon mounts beside the API; its state is the API's
//! own `ApiState`, so a page and the API answer the same caller the same way.
//!
//! Invariants:
//! - every page but sign-in needs a live session ([`session::Viewer`]); a page for something that
//!   does not exist or that the caller may not see is the same `404` page;
//! - every POST passes the API's Origin guard (with `SameSite=Strict` cookies, the CSRF defence);
//! - every answer carries a strict Content-Security-Policy ([`PAGE_CSP`]): no inline script or
//!   style anywhere, every script and stylesheet from `/assets/`, which is embedded in the binary
//!   (no CDN; works offline);
//! - everything shown from the archive or from users is escaped by the templates (never `|safe`
//!   on data), or, for the transcript's messages, by the message renderer's writer
//!   ([`message::html`]), which writes markup from literals only and escapes every value.

pub mod assets;
pub mod lang;
pub mod message;
pub mod page;
pub mod pages;
pub mod session;
pub mod transcript;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use wecom_api::ApiState;

use crate::lang::{LANG_COOKIE, Lang};

/// The Content-Security-Policy of every page and asset.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self'; media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// Largest form body accepted.
const MAX_FORM_BODY: usize = 64 * 1024;

/// The web app's routes (everything outside `/api/`).
pub fn router(api: Arc<ApiState>) -> Router {
    use pages::*;
    Router::new()
        .route("/", get(|| async { Redirect::to("/conversations") }))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::sign_out))
        .route("/conversations", get(conversations::page))
        .route("/search", get(search::page))
        .route("/status", get(status::page))
        .route("/admin/users", get(users::page).post(users::create))
        .route("/admin/users/{username}", post(users::update))
        .route("/admin/audit", get(audit::page))
        .merge(transcript::routes())
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(
            api.clone(),
            wecom_api::guard_origin,
        ))
        .layer(DefaultBodyLimit::max(MAX_FORM_BODY))
        .route("/assets/{*path}", get(assets::asset))
        .layer(middleware::from_fn(page_headers))
        .with_state(api)
}

async fn fallback(lang: Lang) -> Response {
    page::not_found(lang)
}

/// Every answer: the security headers, and the language cookie when `?lang=` chose one.
async fn page_headers(request: Request, next: Next) -> Response {
    let chosen = request.uri().query().and_then(|q| {
        q.split('&').find_map(|kv| match kv {
            "lang=en" => Some("en"),
            "lang=zh" => Some("zh"),
            _ => None,
        })
    });
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    wecom_api::set_security_headers(headers, PAGE_CSP, "same-origin");
    if let Some(lang) = chosen
        && let Ok(v) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={lang}; Path=/; SameSite=Lax; Max-Age=31536000"
        ))
    {
        headers.append(header::SET_COOKIE, v);
    }
    response
}
