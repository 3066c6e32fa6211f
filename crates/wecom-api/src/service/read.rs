//! A conversation's messages, a message and its raw JSON, media objects and playable renditions.
//!
//! Each function takes the state, the signed-in caller and typed parameters, decides visibility
//! with [`crate::access`], reads on a blocking thread, and appends its audit entry before it
//! returns what the caller may see. Something the caller may not see is answered like something
//! that does not exist (404), and the attempt is audited (`outcome: denied`).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;
use wecom_blob::{Area, BlobStore, Sha256Hex};
use wecom_store::{AuditOutcome, Role, blocking};
use wecom_views::{MediaObjectView, MessageDetail, MessageWindow, PageAt};

use crate::access::{Caller, corp, visibility};
use crate::audit::Event;
use crate::media::{
    RangeAsk, disposition, etag, not_modified, object_headers, parse_range, unsatisfiable,
};
use crate::routes::denied;
use crate::{ApiCorp, ApiError, ApiState};

/// Up to `limit` messages of conversation `key` placed by `at` (audited as
/// `conversation.open`). 404 when the conversation does not exist or the caller may not see it.
pub async fn conversation_window(
    state: &ApiState,
    caller: &Caller,
    corp_id: Option<&str>,
    key: &str,
    at: PageAt,
    limit: usize,
) -> Result<MessageWindow, ApiError> {
    let corp = corp(state, caller, corp_id)?;
    let (after, before, around) = match &at {
        PageAt::After(c) => (Some(c.to_string()), None, None),
        PageAt::Before(c) => (None, Some(c.to_string()), None),
        PageAt::Around(m) => (None, None, Some(m.clone())),
        PageAt::Start | PageAt::End => (None, None, None),
    };
    let visible = visibility(state, caller, corp).await?;
    let (reader, cid, k) = (corp.reader.clone(), corp.corp_id.clone(), key.to_owned());
    let window = blocking(move || {
        if !visible.sees_conversation(reader.as_ref(), &cid, &k)? {
            return Ok(Err(()));
        }
        Ok(Ok(wecom_views::message_window(
            reader.as_ref(),
            &cid,
            &k,
            at,
            limit,
        )?))
    })
    .await?;
    let window = match window {
        Ok(w) => w,
        Err(()) => {
            return Err(denied(state, caller, "conversation.open", &corp.corp_id, key).await?);
        }
    };
    let Some(window) = window else {
        return Err(ApiError::not_found("conversation"));
    };
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "conversation.open",
            corp_id: &corp.corp_id,
            target: key,
            detail: json!({
                "after": after, "before": before, "around": around,
                "messages": window.messages.len(),
            }),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    Ok(window)
}

/// What a lookup found, before auditing.
enum Found<T> {
    Yes(T),
    /// No such message.
    Missing,
    /// A message outside the caller's scope.
    Hidden,
}

/// The current name of room `roomid` (`None` while unnamed or unknown), for the heading of a
/// conversation the caller has just been shown by [`conversation_window`] (which checked and
/// audited the access). A name is not chat content: nothing is audited here.
pub async fn room_name(
    state: &ApiState,
    caller: &Caller,
    corp_id: Option<&str>,
    roomid: &str,
) -> Result<Option<String>, ApiError> {
    let corp = corp(state, caller, corp_id)?;
    let (reader, corp_id, roomid) = (corp.reader.clone(), corp.corp_id.clone(), roomid.to_owned());
    let room = blocking(move || reader.room(&corp_id, &roomid)).await?;
    Ok(room.and_then(|r| r.entry.name).filter(|n| !n.is_empty()))
}

/// One message in full (audited as `message.view`).
pub async fn message(
    state: &ApiState,
    caller: &Caller,
    corp_id: Option<&str>,
    msgid: &str,
) -> Result<MessageDetail, ApiError> {
    let corp = corp(state, caller, corp_id)?;
    let visible = visibility(state, caller, corp).await?;
    let (reader, cid, id) = (corp.reader.clone(), corp.corp_id.clone(), msgid.to_owned());
    let found = blocking(move || {
        let Some(detail) = wecom_views::message_detail(reader.as_ref(), &cid, &id)? else {
            return Ok(Found::Missing);
        };
        if visible.sees_conversation(reader.as_ref(), &cid, &detail.view.conversation)? {
            Ok(Found::Yes(detail))
        } else {
            Ok(Found::Hidden)
        }
    })
    .await?;
    let detail = match found {
        Found::Yes(d) => d,
        Found::Hidden => {
            return Err(denied(state, caller, "message.view", &corp.corp_id, msgid).await?);
        }
        Found::Missing if caller.role() == Role::Reviewer => {
            // A reviewer guessing ids is audited whether or not the id exists.
            return Err(denied(state, caller, "message.view", &corp.corp_id, msgid).await?);
        }
        Found::Missing => return Err(ApiError::not_found("message")),
    };
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "message.view",
            corp_id: &corp.corp_id,
            target: msgid,
            detail: json!({"conversation": &detail.view.conversation}),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    Ok(detail)
}

/// The decrypted bytes of a message exactly as archived (auditors and admins; audited as
/// `message.raw`, a reviewer's attempt as denied).
pub async fn raw(
    state: &ApiState,
    caller: &Caller,
    corp_id: Option<&str>,
    msgid: &str,
) -> Result<Vec<u8>, ApiError> {
    if let Err(e) = caller.require_auditor() {
        state
            .audit
            .record(Event {
                username: &caller.user.username,
                address: &caller.address,
                action: "message.raw",
                corp_id: corp_id.unwrap_or(""),
                target: msgid,
                detail: json!({"reason": "role"}),
                outcome: AuditOutcome::Denied,
            })
            .await?;
        return Err(e);
    }
    let corp = corp(state, caller, corp_id)?;
    let (reader, cid, id) = (corp.reader.clone(), corp.corp_id.clone(), msgid.to_owned());
    let bytes = blocking(move || {
        if reader.message(&cid, &id)?.is_none() {
            return Ok(None);
        }
        reader.plaintext(&cid, &id)
    })
    .await?;
    let Some(bytes) = bytes else {
        return Err(ApiError::not_found("message"));
    };
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "message.raw",
            corp_id: &corp.corp_id,
            target: msgid,
            detail: json!({"bytes": bytes.len()}),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    Ok(bytes)
}

/// A media object the caller may fetch: its record, the first visible message carrying it, and
/// the corp's blob store. Denials are audited as `media.fetch`.
struct Fetchable<'s> {
    corp: &'s ApiCorp,
    sha: Sha256Hex,
    object: MediaObjectView,
    msgid: String,
    blobs: std::sync::Arc<dyn BlobStore>,
}

async fn fetchable<'s>(
    state: &'s ApiState,
    caller: &Caller,
    corp_id: Option<&str>,
    sha256: &str,
) -> Result<Fetchable<'s>, ApiError> {
    let corp = corp(state, caller, corp_id)?;
    let Ok(sha) = sha256.parse::<Sha256Hex>() else {
        return Err(ApiError::bad_request(
            "a media object is named by its SHA-256: 64 hex digits",
        ));
    };
    let visible = visibility(state, caller, corp).await?;
    let (reader, cid, key) = (
        corp.reader.clone(),
        corp.corp_id.clone(),
        sha.as_str().to_owned(),
    );
    let found = blocking(move || {
        let Some(object) = wecom_views::media_object(reader.as_ref(), &cid, &key)? else {
            return Ok(None);
        };
        // The first message the caller may see that carries it.
        let mut seen_in = String::new();
        for msgid in &object.msgids {
            if let Some(m) = reader.message(&cid, msgid)?
                && visible.sees_conversation(reader.as_ref(), &cid, &m.conversation)?
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
            return Err(denied(state, caller, "media.fetch", &corp.corp_id, sha.as_str()).await?);
        }
        None if caller.role() == Role::Reviewer => {
            return Err(denied(state, caller, "media.fetch", &corp.corp_id, sha.as_str()).await?);
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
    Ok(Fetchable {
        corp,
        sha,
        object,
        msgid,
        blobs,
    })
}

fn missing_from_store(e: &wecom_blob::BlobError) -> ApiError {
    match e.kind() {
        wecom_blob::BlobErrorKind::NotFound => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "media_unavailable",
            "the archive lists this object but the media store does not have it; an operator \
             should look at `wecom-archive media status`",
        ),
        _ => ApiError::internal("opening a media object failed", e),
    }
}

/// A media object by its sha256, for a caller who may see a message that carries it: the whole
/// object or the one byte range `headers` ask for (`Range`), 304 for a matching
/// `If-None-Match`. Audited as `media.fetch`.
pub async fn media(
    state: &ApiState,
    caller: &Caller,
    corp_id: Option<&str>,
    sha256: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let f = fetchable(state, caller, corp_id, sha256).await?;
    let tag = etag(f.sha.as_str());
    let name = f
        .object
        .file_name
        .clone()
        .unwrap_or_else(|| default_name(f.sha.as_str(), &f.object.content_type));
    let shown = disposition(&f.object.content_type, &name);
    if not_modified(headers, &tag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        object_headers(&mut response, &tag, &f.object.content_type, &shown);
        return Ok(response);
    }
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let ask = parse_range(range_header, f.object.size);
    if ask == RangeAsk::Unsatisfiable {
        return Ok(unsatisfiable(f.object.size));
    }
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "media.fetch",
            corp_id: &f.corp.corp_id,
            target: f.sha.as_str(),
            detail: json!({"msgid": f.msgid, "range": range_header.map(crate::audit::cut)}),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    let (status, start, len) = span(ask, f.object.size);
    let reader = f
        .blobs
        .open_at(Area::Objects, &f.sha, start)
        .await
        .map_err(|e| missing_from_store(&e))?;
    let body = Body::from_stream(ReaderStream::new(reader.take(len)));
    let mut response = Response::new(body);
    *response.status_mut() = status;
    object_headers(&mut response, &tag, &f.object.content_type, &shown);
    length_headers(&mut response, status, start, len, f.object.size);
    Ok(response)
}

/// A voice object (AMR-NB or SILK v3, sniffed from its first bytes) as a WAV a browser plays,
/// with `Range` and `ETag` like the original. The WAV is made once and kept in the corp's blob
/// store beside the original (see [`crate::playable`]); the original is never changed. Audited as
/// `media.fetch` with `"rendition": "wav"`. 404 `not_voice` for other objects, 422
/// `voice_undecodable` for voice that does not decode.
pub async fn playable(
    state: &ApiState,
    caller: &Caller,
    corp_id: Option<&str>,
    sha256: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let f = fetchable(state, caller, corp_id, sha256).await?;
    // The rendition's tag: the original's digest and the rendition, known before decoding.
    let tag = format!("\"{}.wav\"", f.sha.as_str());
    let stem = f
        .object
        .file_name
        .clone()
        .unwrap_or_else(|| default_name(f.sha.as_str(), &f.object.content_type));
    let stem = stem.rsplit_once('.').map_or(stem.as_str(), |(s, _)| s);
    let shown = disposition("audio/wav", &format!("{stem}.wav"));
    if not_modified(headers, &tag) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        object_headers(&mut response, &tag, "audio/wav", &shown);
        return Ok(response);
    }
    let rendition = crate::playable::wav_of(&state.renditions, f.blobs.as_ref(), &f.sha).await?;
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let ask = parse_range(range_header, rendition.size);
    if ask == RangeAsk::Unsatisfiable {
        return Ok(unsatisfiable(rendition.size));
    }
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "media.fetch",
            corp_id: &f.corp.corp_id,
            target: f.sha.as_str(),
            detail: json!({
                "msgid": f.msgid, "range": range_header.map(crate::audit::cut),
                "rendition": "wav",
            }),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    let (status, start, len) = span(ask, rendition.size);
    let reader = f
        .blobs
        .open_rendition_at(&rendition.rendition, start)
        .await
        .map_err(|e| missing_from_store(&e))?;
    let body = Body::from_stream(ReaderStream::new(reader.take(len)));
    let mut response = Response::new(body);
    *response.status_mut() = status;
    object_headers(&mut response, &tag, "audio/wav", &shown);
    length_headers(&mut response, status, start, len, rendition.size);
    Ok(response)
}

/// Status, first byte and length of what a range ask serves.
fn span(ask: RangeAsk, size: u64) -> (StatusCode, u64, u64) {
    match ask {
        RangeAsk::Part(r) => (StatusCode::PARTIAL_CONTENT, r.start, r.end - r.start + 1),
        RangeAsk::Whole | RangeAsk::Unsatisfiable => (StatusCode::OK, 0, size),
    }
}

fn length_headers(response: &mut Response, status: StatusCode, start: u64, len: u64, size: u64) {
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + len - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
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
