//! The conversation list and a conversation's messages.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use wecom_store::{AuditOutcome, ConversationFilter, blocking};
use wecom_views::{MessageWindow, PageAt, PageCursor};

use crate::access::{Caller, corp, visibility};
use crate::audit::Event;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::page_limit;
use crate::service::read;
use crate::{ApiError, ApiState, ConversationList, ErrorBody};

/// Filters of the conversation list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// The corp (needed when you may use several).
    pub corp: Option<String>,
    /// Only conversations this person (userid or external id) took part in.
    pub person: Option<String>,
    /// Only this room's conversation (roomid).
    pub room: Option<String>,
    /// `true`: only conversations with external contacts; `false`: only internal ones.
    pub external: Option<bool>,
    /// Only conversations active at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Only conversations active before this time (Unix ms).
    pub until: Option<i64>,
    /// 1 to 200 (default 50).
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

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
    let corp = corp(&state, &caller, q.corp.as_deref())?;
    let visible = visibility(&state, &caller, corp).await?;
    let limit = page_limit(q.limit, 50, 200)?;
    let offset = q.offset.unwrap_or(0);
    let filter = ConversationFilter {
        any_participant: visible.participants(),
        person: q.person.clone(),
        roomid: q.room.clone(),
        external: q.external,
        active_since_ms: q.since,
        active_until_ms: q.until,
    };
    let (reader, corp_id) = (corp.reader.clone(), corp.corp_id.clone());
    let conversations = blocking(move || {
        wecom_views::conversation_list(reader.as_ref(), &corp_id, &filter, limit + 1, offset)
    })
    .await?;
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "conversation.list",
            corp_id: &corp.corp_id,
            target: "",
            detail: json!({
                "person": q.person, "room": q.room, "external": q.external,
                "since": q.since, "until": q.until, "offset": offset,
            }),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    let mut conversations = conversations;
    let more = conversations.len() > limit;
    conversations.truncate(limit);
    Ok(Json(ConversationList {
        next_offset: more.then(|| (offset + limit) as u64),
        conversations,
    }))
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
