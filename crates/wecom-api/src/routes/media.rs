//! A stored media object, for callers who may see a message that carries it, and the playable
//! rendition of a voice object ([`crate::service::read`] does the work).

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::access::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::messages::CorpQuery;
use crate::service::read;
use crate::{ApiError, ApiState, ErrorBody};

/// A media object by its sha256, with its stored content type and original file name; one
/// byte range at a time on request (video seeking). Only for callers who may see a message
/// that carries it; every fetch is audited.
#[utoipa::path(get, path = "/api/v1/media/{sha256}", tag = "media",
    params(("sha256" = String, Path, description = "The object's SHA-256, 64 hex digits"), CorpQuery,
        ("Range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1023`"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of a copy kept")),
    responses(
        (status = 200, description = "The whole object", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 304, description = "Unchanged (`If-None-Match`)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 416, description = "The range is outside the object"),
        (status = 503, body = ErrorBody),
    ))]
pub(crate) async fn media(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(sha256): ApiPath<String>,
    ApiQuery(q): ApiQuery<CorpQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    read::media(&state, &caller, q.corp.as_deref(), &sha256, &headers).await
}

/// A voice object (AMR-NB or SILK v3, recognised by its first bytes) decoded to WAV, which
/// browsers play; `Range` and `ETag` as for the original. The WAV is made on first request and
/// kept beside the original in the media store; the original is unchanged and stays at
/// `/api/v1/media/{sha256}`. Same visibility as the original; every fetch is audited
/// (`media.fetch` with `"rendition": "wav"`).
#[utoipa::path(get, path = "/api/v1/media/{sha256}/playable", tag = "media",
    params(("sha256" = String, Path, description = "The voice object's SHA-256, 64 hex digits"), CorpQuery,
        ("Range" = Option<String>, Header, description = "One byte range, e.g. `bytes=0-1023`"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of a copy kept")),
    responses(
        (status = 200, description = "The whole WAV (16-bit PCM, mono)", content_type = "audio/wav", body = Vec<u8>),
        (status = 206, description = "The range asked for", content_type = "audio/wav", body = Vec<u8>),
        (status = 304, description = "Unchanged (`If-None-Match`)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "No such object, not one you may see, or not voice (`not_voice`)", body = ErrorBody),
        (status = 416, description = "The range is outside the WAV"),
        (status = 422, description = "The voice does not decode (`voice_undecodable`)", body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub(crate) async fn playable(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(sha256): ApiPath<String>,
    ApiQuery(q): ApiQuery<CorpQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    read::playable(&state, &caller, q.corp.as_deref(), &sha256, &headers).await
}
