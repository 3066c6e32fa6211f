//! Corps, rooms and people. A reviewer sees the rooms whose conversation it may see and the
//! people of its scope.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use crate::access::Caller;
use crate::extract::ApiQuery;
use crate::service::browse;
use crate::{ApiError, ApiState, CorpView, ErrorBody, ListParams, PeopleList, RoomList};

/// The corps the caller may use.
#[utoipa::path(get, path = "/api/v1/corps", tag = "directory",
    responses((status = 200, body = Vec<CorpView>), (status = 401, body = ErrorBody)))]
pub(crate) async fn corps(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Json<Vec<CorpView>> {
    Json(browse::corps(&state, &caller))
}

/// Rooms: named ones by name, then the others.
#[utoipa::path(get, path = "/api/v1/rooms", tag = "directory",
    params(ListParams),
    responses((status = 200, body = RoomList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn rooms(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Json<RoomList>, ApiError> {
    Ok(Json(browse::rooms(&state, &caller, &q).await?))
}

/// People (employees, external contacts, robots): named ones by name, then the others.
#[utoipa::path(get, path = "/api/v1/people", tag = "directory",
    params(ListParams),
    responses((status = 200, body = PeopleList), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn people(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<Json<PeopleList>, ApiError> {
    Ok(Json(browse::people(&state, &caller, &q).await?))
}
