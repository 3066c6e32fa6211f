//! Search, scoped to what the caller may see.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use wecom_search::{Filters, SearchPage, SearchRequest, Sort};
use wecom_store::AuditOutcome;

use crate::access::{Caller, corp, visibility};
use crate::audit::Event;
use crate::extract::ApiQuery;
use crate::routes::page_limit;
use crate::{ApiError, ApiState, ErrorBody};

/// A search: the query language of `wecom-archive search` and its filters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// The corp (needed when you may use several).
    pub corp: Option<String>,
    /// Words that must all occur (exact substrings), "quoted phrases", -exclusions, and the
    /// filters from:ID room:ID type:T after:YYYY-MM-DD before:YYYY-MM-DD (China time).
    #[serde(default)]
    pub q: String,
    /// Only this conversation (its key).
    pub conversation: Option<String>,
    /// Only messages this id sent or received.
    pub participant: Option<String>,
    /// Only messages this id sent.
    pub from: Option<String>,
    /// Only this room's messages (roomid).
    pub room: Option<String>,
    /// Only messages of this type (text, image, file, ...).
    #[serde(rename = "type")]
    pub msgtype: Option<String>,
    /// `true`: only external messages; `false`: only internal ones.
    pub external: Option<bool>,
    /// Only messages with (`true`) or without media.
    pub has_media: Option<bool>,
    /// Only recalled (`true`) or not recalled messages.
    pub recalled: Option<bool>,
    /// Only messages at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Only messages before this time (Unix ms).
    pub until: Option<i64>,
    /// `relevance` (default) or `time` (newest first).
    pub sort: Option<String>,
    /// 1 to 100 (default 20).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

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
    let corp = corp(&state, &caller, q.corp.as_deref())?;
    let limit = page_limit(q.limit, 20, 100)?;
    let sort = match q.sort.as_deref() {
        None | Some("relevance") => Sort::Relevance,
        Some("time") => Sort::Time,
        Some(_) => return Err(ApiError::bad_request("`sort` is `relevance` or `time`")),
    };
    if let Some(t) = &q.msgtype {
        wecom_search::query::check_type(t)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string()))?;
    }
    let Some(searcher) = corp.search.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "search_unavailable",
            "search is off for this corp (`[search] enabled`), or its index could not be opened",
        ));
    };
    let visible = visibility(&state, &caller, corp).await?;
    let mut filters = Filters {
        conversation: q.conversation.clone(),
        participant: q.participant.clone(),
        from: q.from.clone(),
        room: q.room.clone(),
        external: q.external,
        msgtypes: q.msgtype.iter().cloned().collect(),
        has_media: q.has_media,
        recalled: q.recalled,
        since_ms: q.since,
        until_ms: q.until,
        within: None,
        conversations: None,
    };
    let request_query = q.q.clone();
    let cursor = q.cursor.clone();
    let (reader, corp_id) = (corp.reader.clone(), corp.corp_id.clone());
    let result = tokio::task::spawn_blocking(move || {
        filters.conversations = visible
            .conversations(reader.as_ref(), &corp_id)?
            .map(|c| c.as_ref().clone());
        searcher.search(&SearchRequest {
            query: request_query,
            filters,
            sort,
            limit,
            cursor,
        })
    })
    .await
    .map_err(|e| ApiError::internal("search failed", &e))?;
    let outcome = match &result {
        Ok(_) => AuditOutcome::Ok,
        Err(e) if e.is_usage() => AuditOutcome::Failed,
        Err(_) => AuditOutcome::Failed,
    };
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "search",
            corp_id: &corp.corp_id,
            target: "",
            detail: json!({
                "query": crate::audit::cut(&q.q),
                "conversation": q.conversation, "participant": q.participant, "from": q.from,
                "room": q.room, "type": q.msgtype, "external": q.external,
                "has_media": q.has_media, "recalled": q.recalled,
                "since": q.since, "until": q.until, "page": q.cursor.is_some(),
                "hits": result.as_ref().ok().map(|p| p.total),
            }),
            outcome,
        })
        .await?;
    Ok(Json(result?))
}
