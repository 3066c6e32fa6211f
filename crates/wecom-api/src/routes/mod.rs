//! The handlers, one module per resource.

pub(crate) mod audit_log;
pub(crate) mod conversations;
pub(crate) mod directory;
pub(crate) mod fallback;
pub(crate) mod media;
pub(crate) mod messages;
pub(crate) mod search;
pub(crate) mod session;
pub(crate) mod status;
pub(crate) mod users;

use serde_json::json;
use wecom_store::AuditOutcome;

use crate::access::Caller;
use crate::audit::Event;
use crate::{ApiError, ApiState};

/// A page size: `default` when not given, 1 to `max`.
pub(crate) fn page_limit(
    limit: Option<usize>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(format!("`limit` is 1 to {max}"))),
    }
}

/// Audits an attempt to reach something outside the caller's scope and answers it like an id
/// that does not exist.
pub(crate) async fn denied(
    state: &ApiState,
    caller: &Caller,
    action: &str,
    corp_id: &str,
    target: &str,
) -> Result<ApiError, ApiError> {
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action,
            corp_id,
            target,
            detail: json!({"reason": "outside_scope"}),
            outcome: AuditOutcome::Denied,
        })
        .await?;
    Ok(ApiError::not_found(match action {
        "conversation.open" => "conversation",
        "media.fetch" => "media object",
        _ => "message",
    }))
}
