//! One message, and its decrypted JSON exactly as archived.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use wecom_views::MessageDetail;

use crate::access::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::service::read;
use crate::{ApiError, ApiState, ErrorBody};

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CorpQuery {
    /// The corp (needed when you may use several).
    pub corp: Option<String>,
}

/// One message with its payload, names, media and links.
#[utoipa::path(get, path = "/api/v1/messages/{msgid}", tag = "messages",
    params(("msgid" = String, Path, description = "The message's msgid"), CorpQuery),
    responses(
        (status = 200, body = MessageDetail),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn message(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(msgid): ApiPath<String>,
    ApiQuery(q): ApiQuery<CorpQuery>,
) -> Result<Json<MessageDetail>, ApiError> {
    Ok(Json(
        read::message(&state, &caller, q.corp.as_deref(), &msgid).await?,
    ))
}

/// The decrypted JSON of a message exactly as archived (auditors and admins).
#[utoipa::path(get, path = "/api/v1/messages/{msgid}/raw", tag = "messages",
    params(("msgid" = String, Path, description = "The message's msgid"), CorpQuery),
    responses(
        (status = 200, description = "The decrypted bytes, as WeCom sent them", content_type = "application/json", body = Object),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn raw(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(msgid): ApiPath<String>,
    ApiQuery(q): ApiQuery<CorpQuery>,
) -> Result<Response, ApiError> {
    let bytes = read::raw(&state, &caller, q.corp.as_deref(), &msgid).await?;
    let mut response = bytes.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
