//! Users (admins only): list, add, change (role, corps, scope, disabled, password).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::access::Caller;
use crate::extract::{ApiJson, ApiPath};
use crate::service::browse;
use crate::{ApiError, ApiState, ErrorBody, NewUserBody, UserPatch, UserView};

/// Every user, by name.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<UserView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<Vec<UserView>>, ApiError> {
    Ok(Json(browse::users(&state, &caller).await?))
}

/// Adds a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "users",
    request_body = NewUserBody,
    responses((status = 201, body = UserView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let user = browse::create_user(&state, &caller, body).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Changes a user: role, corps, scope, disabled, password (which ends every session of the
/// user). The last enabled admin cannot be disabled or demoted.
#[utoipa::path(patch, path = "/api/v1/users/{username}", tag = "users",
    params(("username" = String, Path, description = "The user's name")),
    request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub(crate) async fn update(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(username): ApiPath<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(
        browse::update_user(&state, &caller, &username, patch).await?,
    ))
}
