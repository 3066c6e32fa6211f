//! A stored media object, for callers who may see a message that carries it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;
use wecom_blob::{Area, Sha256Hex};
use wecom_store::{AuditOutcome, Role, blocking};

use crate::access::{Caller, corp, visibility};
use crate::audit::Event;
use crate::extract::{ApiPath, ApiQuery};
use crate::media::{
    RangeAsk, disposition, etag, not_modified, object_headers, parse_range, unsatisfiable,
};
use crate::routes::denied;
use crate::routes::messages::CorpQuery;
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
    let corp = corp(&state, &caller, q.corp.as_deref())?;
    let Ok(sha) = sha256.parse::<Sha256Hex>() else {
        return Err(ApiError::bad_request(
            "a media object is named by its SHA-256: 64 hex digits",
        ));
    };
    let visible = visibility(&state, &caller, corp).await?;
    let (reader, corp_id, key) = (
        corp.reader.clone(),
        corp.corp_id.clone(),
        sha.as_str().to_owned(),
    );
    let found = blocking(move || {
        let Some(object) = wecom_views::media_object(reader.as_ref(), &corp_id, &key)? else {
            return Ok(None);
        };
        // The first message the caller may see that carries it.
        let mut seen_in = String::new();
        for msgid in &object.msgids {
            if let Some(m) = reader.message(&corp_id, msgid)?
                && visible.sees_conversation(reader.as_ref(), &corp_id, &m.conversation)?
            {
                seen_in = msgid.clone();
                break;
            }
        }
        Ok(Some((object, seen_in)))
    })
    .await?;
    let (object, msgid) = match found {
        Some((object, msgid)) if !msgid.is_empty() => (object, msgid),
        Some(_) => {
            return Err(denied(&state, &caller, "media.fetch", &corp.corp_id, sha.as_str()).await?);
        }
        None if caller.role() == Role::Reviewer => {
            return Err(denied(&state, &caller, "media.fetch", &corp.corp_id, sha.as_str()).await?);
        }
        None => return Err(ApiError::not_found("media object")),
    };
    let Some(blobs) = corp.blobs.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "media_unavailable",
            "media objects are not served by this server (media downloads are off)",
        ));
    };
    let tag = etag(sha.as_str());
    let name = object
        .file_name
        .clone()
        .unwrap_or_else(|| default_name(sha.as_str(), &object.content_type));
    let shown = disposition(&object.content_type, &name);
    if not_modified(&headers, &tag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        object_headers(&mut response, &tag, &object.content_type, &shown);
        return Ok(response);
    }
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let ask = parse_range(range_header, object.size);
    let (status, start, len) = match ask {
        RangeAsk::Whole => (StatusCode::OK, 0, object.size),
        RangeAsk::Part(r) => (StatusCode::PARTIAL_CONTENT, r.start, r.end - r.start + 1),
        RangeAsk::Unsatisfiable => return Ok(unsatisfiable(object.size)),
    };
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "media.fetch",
            corp_id: &corp.corp_id,
            target: sha.as_str(),
            detail: json!({"msgid": msgid, "range": range_header.map(crate::audit::cut)}),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    let reader = blobs
        .open_at(Area::Objects, &sha, start)
        .await
        .map_err(|e| match e.kind() {
            wecom_blob::BlobErrorKind::NotFound => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "media_unavailable",
                "the archive lists this object but the media store does not have it; an \
                 operator should look at `wecom-archive media status`",
            ),
            _ => ApiError::internal("opening a media object failed", &e),
        })?;
    let body = Body::from_stream(ReaderStream::new(reader.take(len)));
    let mut response = Response::new(body);
    *response.status_mut() = status;
    object_headers(&mut response, &tag, &object.content_type, &shown);
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!(
            "bytes {start}-{}/{}",
            start + len - 1,
            object.size
        ))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(response)
}

/// A file name for an object its message does not name: its sha256 prefix and the extension
/// its content type implies.
fn default_name(sha256: &str, content_type: &str) -> String {
    let ext = match content_type {
        "image/jpeg" => ".jpg",
        "image/png" => ".png",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "audio/amr" => ".amr",
        "audio/silk" => ".silk",
        "video/mp4" => ".mp4",
        "application/pdf" => ".pdf",
        "application/zip" => ".zip",
        _ => "",
    };
    format!("{}{ext}", &sha256[..16.min(sha256.len())])
}
