//! The conversation list and a conversation's messages.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use wecom_views::{MessageWindow, PageAt, PageCursor};

use crate::access::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::page_limit;
use crate::service::browse::{self, ListQuery};
use crate::service::read;
use crate::{ApiError, ApiState, ConversationList, ErrorBody};

/// Conversations, most recent activity first, with names, participants and the last message.
#[utoipa::path(get, path = "/api/v1/conversations", tag = "conversations",
    params(ListQuery),
    responses(
        (status = 200, body = ConversationList),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ConversationList>, ApiError> {
    Ok(Json(browse::conversations(&state, &caller, &q).await?))
}

/// Where a page of messages starts.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct MessagesQuery {
    /// The corp (needed when you may use several).
    pub corp: Option<String>,
    /// Newer messages: strictly after this cursor (`MSGTIME:SEQ`, a page's `after`).
    pub after: Option<String>,
    /// Older messages: strictly before this cursor (`MSGTIME:SEQ`, a page's `before`).
    pub before: Option<String>,
    /// The messages around this msgid (it included).
    pub around: Option<String>,
    /// `start` for the oldest messages; the newest otherwise.
    pub from: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<usize>,
}

/// A page of a conversation's messages, oldest first, each with its payload, names, media and
/// links. Opening a conversation is audited.
#[utoipa::path(get, path = "/api/v1/conversations/{key}/messages", tag = "conversations",
    params(("key" = String, Path, description = "The conversation key (`room:…`, `pair:a|b`, …), URL-encoded"), MessagesQuery),
    responses(
        (status = 200, body = MessageWindow),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn messages(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiPath(key): ApiPath<String>,
    ApiQuery(q): ApiQuery<MessagesQuery>,
) -> Result<Json<MessageWindow>, ApiError> {
    let limit = page_limit(q.limit, 50, 200)?;
    let cursor = |s: &str| {
        s.parse::<PageCursor>()
            .map_err(|e| ApiError::bad_request(e.to_string()))
    };
    let at = match (&q.after, &q.before, &q.around, q.from.as_deref()) {
        (Some(a), None, None, None) => PageAt::After(cursor(a)?),
        (None, Some(b), None, None) => PageAt::Before(cursor(b)?),
        (None, None, Some(m), None) => PageAt::Around(m.clone()),
        (None, None, None, Some("start")) => PageAt::Start,
        (None, None, None, None | Some("end")) => PageAt::End,
        (None, None, None, Some(_)) => {
            return Err(ApiError::bad_request("`from` is `start` or `end`"));
        }
        _ => {
            return Err(ApiError::bad_request(
                "give at most one of `after`, `before`, `around` and `from`",
            ));
        }
    };
    Ok(Json(
        read::conversation_window(&state, &caller, q.corp.as_deref(), &key, at, limit).await?,
    ))
}
