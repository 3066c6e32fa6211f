//! Search, scoped to what the caller may see.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use wecom_search::SearchPage;

use crate::access::Caller;
use crate::extract::ApiQuery;
use crate::service::browse::{self, SearchQuery};
use crate::{ApiError, ApiState, ErrorBody};

/// Exact search (Chinese included) over what the caller may see, with highlighted snippets.
/// Every search is audited with its query.
#[utoipa::path(get, path = "/api/v1/search", tag = "search",
    params(SearchQuery),
    responses(
        (status = 200, body = SearchPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub(crate) async fn search(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<SearchPage>, ApiError> {
    Ok(Json(browse::search(&state, &caller, &q).await?))
}
