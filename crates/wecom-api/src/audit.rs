//! Appending to the access audit log from handlers: off the runtime's threads, and before the
//! answer leaves. An entry that cannot be written fails the request (content is never served
//! unaudited).

use std::sync::Arc;

use serde_json::Value;
use wecom_store::{AuditEntry, AuditLog, AuditOutcome, blocking};
use wecom_wire::clock::now_ms;

use crate::ApiError;

/// Longest text of a field taken from a request (a username tried, a query): longer input is
/// cut, so the log cannot be flooded through one entry.
const MAX_FIELD_CHARS: usize = 1000;

/// What to record.
pub(crate) struct Event<'a> {
    pub username: &'a str,
    pub address: &'a str,
    pub action: &'a str,
    pub corp_id: &'a str,
    pub target: &'a str,
    pub detail: Value,
    pub outcome: AuditOutcome,
}

#[derive(Clone)]
pub(crate) struct Auditor {
    log: Arc<dyn AuditLog>,
}

impl Auditor {
    pub(crate) fn new(log: Arc<dyn AuditLog>) -> Auditor {
        Auditor { log }
    }

    pub(crate) fn log(&self) -> &Arc<dyn AuditLog> {
        &self.log
    }

    /// Appends `event`; an error when the log cannot be written.
    pub(crate) async fn record(&self, event: Event<'_>) -> Result<(), ApiError> {
        let entry = AuditEntry {
            at_ms: now_ms(),
            username: cut(event.username),
            address: cut(event.address),
            action: event.action.to_owned(),
            corp_id: cut(event.corp_id),
            target: cut(event.target),
            detail: event.detail.to_string(),
            outcome: event.outcome,
        };
        let log = self.log.clone();
        blocking(move || log.append(&entry))
            .await
            .map(|_| ())
            .map_err(|e| ApiError::internal("the access audit log could not be written", &e))
    }
}

/// `s` cut to [`MAX_FIELD_CHARS`] characters.
pub(crate) fn cut(s: &str) -> String {
    s.chars().take(MAX_FIELD_CHARS).collect()
}
