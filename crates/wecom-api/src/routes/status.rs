//! Per corp: the sync cursor and lag, the time to loss, failures, the media queue and names, as
//! the running daemon last computed them (no request waits on the archive for them).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use crate::access::Caller;
use crate::service::browse;
use crate::{ApiError, ApiState, ErrorBody, StatusPage};

/// The status of every corp the caller may use.
#[utoipa::path(get, path = "/api/v1/status", tag = "status",
    responses((status = 200, body = StatusPage), (status = 401, body = ErrorBody)))]
pub(crate) async fn status(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<StatusPage>, ApiError> {
    Ok(Json(browse::status(&state, &caller).await?))
}
