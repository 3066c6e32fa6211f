//! Users (admins only): list, add, change (role, corps, scope, disabled, password).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;
use wecom_accounts::hash_password;
use wecom_store::{
    AuditOutcome, NewUser, Role, Scope, StoreErrorKind, UserUpdate, blocking, validate_username,
};
use wecom_wire::clock::now_ms;

use crate::access::Caller;
use crate::audit::Event;
use crate::extract::{ApiJson, ApiPath};
use crate::{ApiError, ApiState, ErrorBody, NewUserBody, ScopeBody, UserPatch, UserView};

/// Every user, by name.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = Vec<UserView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<Vec<UserView>>, ApiError> {
    caller.require_admin()?;
    let accounts = state.accounts.clone();
    let users = blocking(move || accounts.list_users()).await?;
    Ok(Json(users.iter().map(UserView::from).collect()))
}

fn role(s: &str) -> Result<Role, ApiError> {
    s.parse::<Role>()
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Checks corps and scope against what the API serves and the role.
fn check_binding(
    state: &ApiState,
    role: Role,
    corps: &[String],
    scope: &ScopeBody,
) -> Result<(), ApiError> {
    if corps.is_empty() {
        return Err(ApiError::bad_request(
            "a user is bound to at least one corp",
        ));
    }
    if let Some(unknown) = corps.iter().find(|c| !state.corps.contains_key(*c)) {
        return Err(ApiError::bad_request(format!(
            "corp {:?} is not served here",
            crate::audit::cut(unknown)
        )));
    }
    let has_scope = !scope.userids.is_empty() || !scope.departments.is_empty();
    match role {
        Role::Reviewer if !has_scope => Err(ApiError::bad_request(
            "a reviewer needs a scope: `scope.userids` and/or `scope.departments`",
        )),
        Role::Admin | Role::Auditor if has_scope => Err(ApiError::bad_request(
            "only reviewers have a scope (admins and auditors see every conversation of their corps)",
        )),
        _ => Ok(()),
    }
    .and_then(|()| {
        if scope.userids.iter().any(|u| u.trim().is_empty() || u.len() > 256) {
            Err(ApiError::bad_request("a scope userid is 1 to 256 characters"))
        } else {
            Ok(())
        }
    })
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
    caller.require_admin()?;
    validate_username(&body.username).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let role = role(&body.role)?;
    let corps = body
        .corps
        .clone()
        .unwrap_or_else(|| state.corps.keys().cloned().collect());
    let scope = body.scope.clone().unwrap_or_default();
    check_binding(&state, role, &corps, &scope)?;
    let password = body.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::internal("hashing a password failed", &e))?
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let new = NewUser {
        username: body.username.clone(),
        password_hash: hash,
        role,
        corps: corps.clone(),
        scope: Scope {
            userids: scope.userids.clone(),
            departments: scope.departments.clone(),
        },
    };
    let accounts = state.accounts.clone();
    let created = blocking(move || accounts.create_user(&new, now_ms())).await;
    let outcome = match &created {
        Ok(_) => AuditOutcome::Ok,
        Err(_) => AuditOutcome::Failed,
    };
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "user.add",
            corp_id: "",
            target: &body.username,
            detail: json!({"role": role.as_str(), "corps": corps, "scope": scope}),
            outcome,
        })
        .await?;
    match created {
        Ok(user) => Ok((StatusCode::CREATED, Json(UserView::from(&user)))),
        Err(e) if e.kind() == StoreErrorKind::AlreadyExists => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "a user of that name already exists",
        )),
        Err(e) if e.kind() == StoreErrorKind::InvalidInput => {
            Err(ApiError::bad_request(e.to_string()))
        }
        Err(e) => Err(e.into()),
    }
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
    caller.require_admin()?;
    let accounts = state.accounts.clone();
    let name = username.clone();
    let (current, users) = blocking(move || {
        let current = accounts.user_by_name(&name)?;
        Ok((current, accounts.list_users()?))
    })
    .await?;
    let Some(current) = current else {
        return Err(ApiError::not_found("user"));
    };
    let new_role = patch.role.as_deref().map(role).transpose()?;
    let role_after = new_role.unwrap_or(current.role);
    let corps_after = patch.corps.clone().unwrap_or_else(|| current.corps.clone());
    let scope_after = patch.scope.clone().unwrap_or_else(|| ScopeBody {
        // Scopes are dropped when a reviewer becomes an admin or auditor.
        userids: if role_after == Role::Reviewer {
            current.scope.userids.clone()
        } else {
            Vec::new()
        },
        departments: if role_after == Role::Reviewer {
            current.scope.departments.clone()
        } else {
            Vec::new()
        },
    });
    check_binding(&state, role_after, &corps_after, &scope_after)?;
    let disabled_after = patch.disabled.unwrap_or(current.disabled);
    let admin_after = role_after == Role::Admin && !disabled_after;
    let other_admins = users
        .iter()
        .filter(|u| u.id != current.id && u.role == Role::Admin && !u.disabled)
        .count();
    if current.role == Role::Admin && !current.disabled && !admin_after && other_admins == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "this is the last enabled admin: add another admin first",
        ));
    }
    let hash = match patch.password.clone() {
        Some(p) => Some(
            tokio::task::spawn_blocking(move || hash_password(&p))
                .await
                .map_err(|e| ApiError::internal("hashing a password failed", &e))?
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
        None => None,
    };
    let update = UserUpdate {
        role: new_role,
        corps: patch.corps.clone(),
        scope: (patch.scope.is_some() || new_role.is_some()).then(|| Scope {
            userids: scope_after.userids.clone(),
            departments: scope_after.departments.clone(),
        }),
        disabled: patch.disabled,
    };
    let changes_fields = update != UserUpdate::default();
    let accounts = state.accounts.clone();
    let name = current.username.clone();
    let has_password = hash.is_some();
    let result = blocking(move || {
        let now = now_ms();
        let mut revoked = 0;
        if changes_fields {
            accounts.update_user(&name, &update, now)?;
        }
        if let Some(hash) = hash {
            revoked = accounts.set_password(&name, &hash, now)?;
        }
        let user = accounts.user_by_name(&name)?;
        Ok((user, revoked))
    })
    .await;
    let outcome = if result.is_ok() {
        AuditOutcome::Ok
    } else {
        AuditOutcome::Failed
    };
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: if has_password && !changes_fields {
                "user.passwd"
            } else {
                "user.update"
            },
            corp_id: "",
            target: &current.username,
            detail: json!({
                "role": patch.role, "corps": patch.corps, "scope": patch.scope,
                "disabled": patch.disabled, "password_changed": has_password,
                "sessions_ended": result.as_ref().ok().map(|(_, n)| *n),
            }),
            outcome,
        })
        .await?;
    match result? {
        (Some(user), _) => Ok(Json(UserView::from(&user))),
        (None, _) => Err(ApiError::not_found("user")),
    }
}
