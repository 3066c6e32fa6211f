//! Signing in and out, and who is signed in.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wecom_accounts::{SessionToken, verify_password};
use wecom_store::{AuditOutcome, NewSession, User, blocking};
use wecom_wire::clock::now_ms;

use crate::access::{Caller, corps_of};
use crate::audit::{Event, cut};
use crate::auth::{cookie, decoy_hash, session_cookie};
use crate::extract::{ApiJson, ClientAddress};
use crate::{ApiError, ApiState, ErrorBody, Me, SESSION_COOKIE, SignIn, UserView};

/// Sign in with a username and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session",
    request_body = SignIn,
    security(()),
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = Me),
        (status = 400, description = "The body is not the JSON asked for", body = ErrorBody),
        (status = 401, description = "Wrong username or password", body = ErrorBody),
        (status = 403, description = "Disabled account or bad Origin", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many attempts, or the account is locked", body = ErrorBody),
    ))]
pub(crate) async fn sign_in(
    State(state): State<Arc<ApiState>>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let name = cut(body.username.trim());
    let audit = |outcome: AuditOutcome, username: String, reason: &'static str| SignInEvent {
        username,
        address: address.clone(),
        tried: name.clone(),
        reason,
        outcome,
    };
    // Rate limits first: per address, then per username, before any password is checked.
    let limited = state
        .limiter
        .attempt(&format!("addr:{address}"))
        .and_then(|()| {
            state
                .limiter
                .attempt(&format!("user:{}", name.to_ascii_lowercase()))
        });
    if let Err(wait) = limited {
        state
            .audit
            .record(audit(AuditOutcome::Denied, String::new(), "rate_limited").event())
            .await?;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many sign-in attempts; try again in {} seconds",
                wait.as_secs().max(1)
            ),
        )
        .with_retry_after(wait.as_secs()));
    }
    let now = now_ms();
    let user = {
        let (accounts, name) = (state.accounts.clone(), name.clone());
        blocking(move || accounts.user_by_name(&name)).await?
    };
    if let Some(u) = &user
        && u.is_locked(now)
    {
        state
            .audit
            .record(audit(AuditOutcome::Denied, u.username.clone(), "locked").event())
            .await?;
        return Err(locked(u, now));
    }
    // Verify off the runtime; an unknown name is verified against a decoy, so it costs the same.
    let password_ok = {
        let state2 = state.clone();
        let phc = user.as_ref().map(|u| u.password_hash.clone());
        let password = body.password;
        tokio::task::spawn_blocking(move || {
            let phc = phc.unwrap_or_else(|| state2.decoy_hash.get_or_init(decoy_hash).clone());
            verify_password(&password, &phc).unwrap_or(false)
        })
        .await
        .map_err(|e| ApiError::internal("password check failed", &e))?
    };
    let Some(user) = user.filter(|_| password_ok) else {
        return Err(failed_sign_in(&state, &name, &address, now).await?);
    };
    if user.disabled {
        state
            .audit
            .record(audit(AuditOutcome::Denied, user.username.clone(), "disabled").event())
            .await?;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "this account is disabled; ask an admin",
        ));
    }
    let token = SessionToken::generate();
    let abs_ms = i64::try_from(state.config.absolute_timeout.as_millis()).unwrap_or(i64::MAX);
    let session = NewSession {
        token_sha256: token.sha256.clone(),
        user_id: user.id,
        now_ms: now,
        expires_at_ms: now.saturating_add(abs_ms),
        address: address.clone(),
    };
    {
        let accounts = state.accounts.clone();
        let user_id = user.id;
        blocking(move || {
            accounts.record_login_success(user_id, now)?;
            accounts.create_session(&session)
        })
        .await?;
    }
    state
        .audit
        .record(audit(AuditOutcome::Ok, user.username.clone(), "signed_in").event())
        .await?;
    let me = me_of(&state, &user, now.saturating_add(abs_ms));
    let mut response = Json(me).into_response();
    let cookie = session_cookie(
        &state,
        &token.token,
        state.config.absolute_timeout.as_secs(),
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// A sign-in attempt, for the audit log.
struct SignInEvent {
    username: String,
    address: String,
    /// The name as typed.
    tried: String,
    reason: &'static str,
    outcome: AuditOutcome,
}

impl SignInEvent {
    fn event(&self) -> Event<'_> {
        Event {
            username: &self.username,
            address: &self.address,
            action: "session.create",
            corp_id: "",
            target: "",
            detail: json!({"username": &self.tried, "reason": self.reason}),
            outcome: self.outcome,
        }
    }
}

/// Counts a failed sign-in (locking the user once it has failed too often) and the answer.
async fn failed_sign_in(
    state: &Arc<ApiState>,
    name: &str,
    address: &str,
    now: i64,
) -> Result<ApiError, ApiError> {
    let counted = {
        let (accounts, name, policy) = (state.accounts.clone(), name.to_owned(), state.config.lock);
        blocking(move || {
            if name.is_empty() {
                return Ok(None);
            }
            let failures = accounts.record_login_failure(&name, now, &policy)?;
            let user = accounts.user_by_name(&name)?;
            Ok(failures.zip(user))
        })
        .await?
    };
    let known = counted
        .as_ref()
        .map(|(_, u)| u.username.as_str())
        .unwrap_or("");
    state
        .audit
        .record(Event {
            username: known,
            address,
            action: "session.create",
            corp_id: "",
            target: "",
            detail: json!({"username": name, "reason": "invalid_credentials"}),
            outcome: AuditOutcome::Denied,
        })
        .await?;
    Ok(match counted {
        Some((f, user)) if f.locked_until_ms.is_some_and(|t| t > now) => locked(&user, now),
        _ => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong username or password",
        ),
    })
}

fn locked(user: &User, now: i64) -> ApiError {
    let wait_secs = user
        .locked_until_ms
        .map(|t| u64::try_from(t.saturating_sub(now) / 1000 + 1).unwrap_or(1))
        .unwrap_or(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "account_locked",
        format!(
            "too many failed sign-ins: this account is locked for {} more minute(s); try again \
             later or ask an admin to reset the password",
            wait_secs.div_ceil(60)
        ),
    )
    .with_retry_after(wait_secs)
}

fn me_of(state: &ApiState, user: &User, expires_at_ms: i64) -> Me {
    let corps = state
        .corps
        .keys()
        .filter(|c| user.role == wecom_store::Role::Admin || user.corps.contains(c))
        .cloned()
        .collect();
    Me {
        user: UserView::from(user),
        corps,
        session_expires_at_ms: expires_at_ms,
        idle_timeout_secs: state.config.idle_timeout.as_secs(),
    }
}

/// Sign out: the session ends here and now; the cookie is cleared.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "Not signed in", body = ErrorBody),
    ))]
pub(crate) async fn sign_out(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let sha = caller.session.token_sha256.clone();
    let accounts = state.accounts.clone();
    blocking(move || accounts.revoke_session(&sha)).await?;
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "session.delete",
            corp_id: "",
            target: "",
            detail: json!({}),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if cookie(&headers, SESSION_COOKIE).is_some()
        && let Ok(v) = HeaderValue::from_str(&session_cookie(&state, "", 0))
    {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "session",
    responses(
        (status = 200, body = Me),
        (status = 401, body = ErrorBody),
    ))]
pub(crate) async fn me(State(state): State<Arc<ApiState>>, caller: Caller) -> Json<Me> {
    let mut me = me_of(&state, &caller.user, caller.session.expires_at_ms);
    me.corps = corps_of(&state, &caller)
        .into_iter()
        .map(|c| c.corp_id.clone())
        .collect();
    Json(me)
}
