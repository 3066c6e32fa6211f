//! The access audit log (admins only): entries by user, action and time, and the chain check.
//! Nothing here, or anywhere, edits or deletes an entry.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use wecom_store::{AuditFilter, AuditOutcome, blocking};

use crate::access::Caller;
use crate::audit::Event;
use crate::extract::ApiQuery;
use crate::routes::page_limit;
use crate::{ApiError, ApiState, AuditEntryView, AuditPage, ChainStatus, ErrorBody};

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditQuery {
    /// Only this account.
    pub user: Option<String>,
    /// Only this action (`session.create`, `conversation.open`, `search`, ...).
    pub action: Option<String>,
    /// Only entries at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Only entries before this time (Unix ms).
    pub until: Option<i64>,
    /// Only entries after this seq (the previous page's `next_after`).
    pub after: Option<u64>,
    /// 1 to 1000 (default 100).
    pub limit: Option<usize>,
}

/// Audit log entries, oldest first. Looking is itself audited.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require_admin()?;
    let limit = page_limit(q.limit, 100, 1000)?;
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "audit.view",
            corp_id: "",
            target: "",
            detail: json!({"user": q.user, "action": q.action, "since": q.since, "until": q.until, "after": q.after}),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    let filter = AuditFilter {
        username: q.user.clone(),
        action: q.action.clone(),
        since_ms: q.since,
        until_ms: q.until,
        after_seq: q.after.unwrap_or(0),
        limit: limit + 1,
    };
    let log = state.audit.log().clone();
    let mut records = blocking(move || log.list(&filter)).await?;
    let more = records.len() > limit;
    records.truncate(limit);
    let next_after = more.then(|| records.last().map(|r| r.seq)).flatten();
    Ok(Json(AuditPage {
        entries: records.into_iter().map(AuditEntryView::from).collect(),
        next_after,
    }))
}

/// Checks the whole hash chain and names the first broken link.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = ChainStatus), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub(crate) async fn verify(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<ChainStatus>, ApiError> {
    caller.require_admin()?;
    let log = state.audit.log().clone();
    let check = blocking(move || log.verify()).await?;
    Ok(Json(ChainStatus::from(check)))
}
