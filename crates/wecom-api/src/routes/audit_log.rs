//! The access audit log (admins only): entries by user, action and time, and the chain check.
//! Nothing here, or anywhere, edits or deletes an entry.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use crate::access::Caller;
use crate::extract::ApiQuery;
use crate::service::browse::{self, AuditQuery};
use crate::{ApiError, ApiState, AuditPage, ChainStatus, ErrorBody};

/// Audit log entries, oldest first. Looking is itself audited.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    Ok(Json(browse::audit_log(&state, &caller, &q).await?))
}

/// Checks the whole hash chain and names the first broken link.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = ChainStatus), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(crate) async fn verify(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<ChainStatus>, ApiError> {
    Ok(Json(browse::verify_audit_log(&state, &caller).await?))
}
