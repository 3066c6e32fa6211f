//! Who is looking: the [`Viewer`] extractor, the signed-in caller of a page request, over the
//! API's own sessions (the `wecom_session` cookie and its liveness checks).
//!
//! A request without a live session is sent to the sign-in page: `303` to
//! `/login?next=<path and query>`, or, for an htmx request (which cannot follow a redirect into a
//! fragment), `401` with `HX-Redirect: /login`.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use wecom_api::ApiState;
use wecom_api::access::Caller;

use crate::lang::Lang;
use crate::page;

/// The signed-in user of a page request.
#[derive(Debug, Clone)]
pub struct Viewer(pub Caller);

impl Viewer {
    /// Whether the viewer is an admin.
    pub fn is_admin(&self) -> bool {
        self.0.role() == wecom_store::Role::Admin
    }
}

/// Whether the request was made by htmx (a fragment is wanted, not a page).
pub fn is_htmx(parts_headers: &axum::http::HeaderMap) -> bool {
    parts_headers.contains_key("hx-request")
}

impl FromRequestParts<Arc<ApiState>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Viewer, Response> {
        match Caller::from_request_parts(parts, state).await {
            Ok(caller) => Ok(Viewer(caller)),
            Err(e) if e.status == StatusCode::UNAUTHORIZED => Err(to_sign_in(parts)),
            Err(e) => {
                let lang = lang_of(parts).await;
                Err(page::error(lang, &e))
            }
        }
    }
}

async fn lang_of(parts: &mut Parts) -> Lang {
    match Lang::from_request_parts(parts, &()).await {
        Ok(l) => l,
        Err(never) => match never {},
    }
}

/// The answer that sends an unauthenticated request to the sign-in page.
fn to_sign_in(parts: &Parts) -> Response {
    if is_htmx(&parts.headers) {
        let mut r = StatusCode::UNAUTHORIZED.into_response();
        r.headers_mut()
            .insert("hx-redirect", HeaderValue::from_static("/login"));
        return r;
    }
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let location = format!("/login?next={}", page::query_value(next));
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// `next` when it is a path on this server (`/x`, never `//host` or `/\host`, nor the sign-in and
/// sign-out pages themselves), else `/conversations`.
pub fn local_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\')
                && !n.starts_with("/login")
                && !n.starts_with("/logout") =>
        {
            n.to_owned()
        }
        _ => "/conversations".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::local_next;

    #[test]
    fn next_is_a_local_path_only() {
        assert_eq!(local_next(Some("/search?q=a")), "/search?q=a");
        assert_eq!(local_next(Some("//evil.example/x")), "/conversations");
        assert_eq!(local_next(Some("/\\evil.example")), "/conversations");
        assert_eq!(local_next(Some("https://evil.example")), "/conversations");
        assert_eq!(local_next(Some("/a\\b")), "/conversations");
        assert_eq!(local_next(Some("/x\ny")), "/conversations");
        assert_eq!(local_next(Some("/login?next=/x")), "/conversations");
        assert_eq!(local_next(Some("/logout")), "/conversations");
        assert_eq!(local_next(None), "/conversations");
    }
}
