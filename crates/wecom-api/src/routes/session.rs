//! Signing in and out, and who is signed in.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::access::Caller;
use crate::auth::cookie;
use crate::extract::{ApiJson, ClientAddress};
use crate::service::browse;
use crate::{ApiError, ApiState, ErrorBody, Me, SESSION_COOKIE, SignIn};

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
    let signed_in = browse::sign_in(&state, &address, &body.username, body.password).await?;
    let mut response = Json(signed_in.me).into_response();
    if let Ok(v) = HeaderValue::from_str(&signed_in.set_cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
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
    let clear = browse::sign_out(&state, &caller).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if cookie(&headers, SESSION_COOKIE).is_some()
        && let Ok(v) = HeaderValue::from_str(&clear)
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
    Json(browse::me(&state, &caller))
}
