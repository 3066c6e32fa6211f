//! One message, and its decrypted JSON exactly as archived.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use wecom_store::{AuditOutcome, Role, blocking};
use wecom_views::MessageDetail;

use crate::access::{Caller, corp, visibility};
use crate::audit::Event;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::denied;
use crate::{ApiError, ApiState, ErrorBody};

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CorpQuery {
    /// The corp (needed when you may use several).
    pub corp: Option<String>,
}

/// What a lookup found, before auditing.
enum Found<T> {
    Yes(T),
    /// No such message.
    Missing,
    /// A message outside the caller's scope.
    Hidden,
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
    let corp = corp(&state, &caller, q.corp.as_deref())?;
    let visible = visibility(&state, &caller, corp).await?;
    let (reader, corp_id, id) = (corp.reader.clone(), corp.corp_id.clone(), msgid.clone());
    let found = blocking(move || {
        let Some(detail) = wecom_views::message_detail(reader.as_ref(), &corp_id, &id)? else {
            return Ok(Found::Missing);
        };
        if visible.sees_conversation(reader.as_ref(), &corp_id, &detail.view.conversation)? {
            Ok(Found::Yes(detail))
        } else {
            Ok(Found::Hidden)
        }
    })
    .await?;
    let detail = match found {
        Found::Yes(d) => d,
        Found::Hidden => {
            return Err(denied(&state, &caller, "message.view", &corp.corp_id, &msgid).await?);
        }
        Found::Missing if caller.role() == Role::Reviewer => {
            // A reviewer guessing ids is audited whether or not the id exists.
            return Err(denied(&state, &caller, "message.view", &corp.corp_id, &msgid).await?);
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
            target: &msgid,
            detail: json!({"conversation": &detail.view.conversation}),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    Ok(Json(detail))
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
    if let Err(e) = caller.require_auditor() {
        state
            .audit
            .record(Event {
                username: &caller.user.username,
                address: &caller.address,
                action: "message.raw",
                corp_id: q.corp.as_deref().unwrap_or(""),
                target: &msgid,
                detail: json!({"reason": "role"}),
                outcome: AuditOutcome::Denied,
            })
            .await?;
        return Err(e);
    }
    let corp = corp(&state, &caller, q.corp.as_deref())?;
    let (reader, corp_id, id) = (corp.reader.clone(), corp.corp_id.clone(), msgid.clone());
    let bytes = blocking(move || {
        if reader.message(&corp_id, &id)?.is_none() {
            return Ok(None);
        }
        reader.plaintext(&corp_id, &id)
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
            target: &msgid,
            detail: json!({"bytes": bytes.len()}),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    let mut response = bytes.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
