//! Sessions: the cookie, the checks that make a session live, and the Origin check on every
//! state-changing request.
//!
//! A session is live while it is not revoked, before its absolute expiry, used within the idle
//! timeout, its user is enabled and its user's password has not changed since it began. The
//! cookie holds a random token; the archive keeps only its SHA-256.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wecom_accounts::token_sha256;
use wecom_server::Transport;
use wecom_store::{AuditOutcome, blocking};
use wecom_wire::clock::now_ms;

use crate::access::Caller;
use crate::audit::Event;
use crate::extract::client_address;
use crate::{ApiError, ApiState, SESSION_COOKIE};

/// A session's `last_seen` is written at most this often (reads stay reads).
const TOUCH_EVERY_MS: i64 = 60_000;

/// A PHC string of a random password: what an unknown username is verified against.
pub(crate) fn decoy_hash() -> String {
    let token = wecom_accounts::SessionToken::generate();
    // A fixed, valid Argon2id string would do as well; hashing the random token keeps the
    // parameters those of real hashes. On failure, verification of the decoy fails the same way.
    wecom_accounts::hash_password(&token.token).unwrap_or_default()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The `Set-Cookie` value that holds `token` for `max_age_secs`.
pub(crate) fn session_cookie(state: &ApiState, token: &str, max_age_secs: u64) -> String {
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    )
}

impl FromRequestParts<Arc<ApiState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ApiState>,
    ) -> Result<Caller, ApiError> {
        let address = client_address(parts);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthenticated());
        };
        // A well-formed token is 43 URL-safe base64 characters; anything else was never issued.
        let plausible = token.len() <= 128
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let sha = token_sha256(token);
        let accounts = state.accounts.clone();
        let found = if plausible {
            let sha = sha.clone();
            blocking(move || accounts.session(&sha)).await?
        } else {
            None
        };
        let Some((session, user)) = found else {
            // A token this server never issued: forged, or from another archive.
            state
                .audit
                .record(Event {
                    username: "",
                    address: &address,
                    action: "session.invalid",
                    corp_id: "",
                    target: "",
                    detail: json!({"path": parts.uri.path()}),
                    outcome: AuditOutcome::Denied,
                })
                .await?;
            return Err(ApiError::session_expired());
        };
        let now = now_ms();
        let idle_ms = i64::try_from(state.config.idle_timeout.as_millis()).unwrap_or(i64::MAX);
        let live = !session.revoked
            && now < session.expires_at_ms
            && now.saturating_sub(session.last_seen_ms) < idle_ms
            && !user.disabled
            && session.created_at_ms >= user.password_changed_at_ms;
        if !live {
            return Err(ApiError::session_expired());
        }
        if now.saturating_sub(session.last_seen_ms) >= TOUCH_EVERY_MS {
            let accounts = state.accounts.clone();
            blocking(move || accounts.touch_session(&sha, now)).await?;
        }
        Ok(Caller {
            user,
            session,
            address,
        })
    }
}

/// Refuses a state-changing request (anything but GET, HEAD, OPTIONS) whose `Origin` is missing
/// or is neither the server's own (`Host`) nor a configured one; the attempt is audited. A
/// middleware (`axum::middleware::from_fn_with_state`) for every router that takes a POST: the
/// API's and the web app's.
pub async fn guard_origin(
    State(state): State<Arc<ApiState>>,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let origin = origin.as_deref();
    let tls = request
        .extensions()
        .get::<Transport>()
        .is_some_and(|t| t.tls);
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let host = host.as_deref();
    let allowed = origin.is_some_and(|o| {
        let own = host.is_some_and(|h| {
            let scheme = if tls { "https" } else { "http" };
            o.eq_ignore_ascii_case(&format!("{scheme}://{h}"))
        });
        own || state
            .config
            .allowed_origins
            .iter()
            .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(o))
    });
    if allowed {
        return next.run(request).await;
    }
    let (parts, _) = request.into_parts();
    let address = client_address(&parts);
    let recorded = state
        .audit
        .record(Event {
            username: "",
            address: &address,
            action: "request.bad_origin",
            corp_id: "",
            target: parts.uri.path(),
            detail: json!({
                "method": parts.method.as_str(),
                "origin": origin.map(crate::audit::cut),
            }),
            outcome: AuditOutcome::Denied,
        })
        .await;
    if let Err(e) = recorded {
        return e.into_response();
    }
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "bad_origin",
        "a request that changes something must come from this server's own pages (its Origin \
         header is missing or not allowed)",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn finds_the_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; wecom_session=tok; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&h, "a"), Some("1"));
        assert_eq!(cookie(&h, "c"), None);
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("x=1"));
        h.append(
            header::COOKIE,
            HeaderValue::from_static("wecom_session=second"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("second"));
    }
}
