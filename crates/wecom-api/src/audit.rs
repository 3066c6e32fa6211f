//! Appending to the access audit log from handlers: off the runtime's threads, and before the
//! answer leaves. An entry that cannot be written fails the request (content is never served
//! unaudited).
//!
//! Appends are group-committed: one writer thread takes every entry waiting when it is free and
//! appends them in one transaction (one disk sync for many requests), then answers each request.
//! The thread ends when the state that owns the queue is dropped.

use std::sync::Arc;
use std::sync::mpsc;

use serde_json::Value;
use tokio::sync::oneshot;
use wecom_store::{AuditEntry, AuditLog, AuditOutcome, validate_entry};
use wecom_wire::clock::now_ms;

use crate::ApiError;

/// Entries appended in one transaction at most.
const MAX_BATCH: usize = 1024;

/// An entry waiting for the writer, and who to tell.
struct Pending {
    entry: AuditEntry,
    done: oneshot::Sender<Result<(), String>>,
}

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

pub(crate) struct Auditor {
    log: Arc<dyn AuditLog>,
    queue: mpsc::Sender<Pending>,
}

impl Auditor {
    /// The auditor of `log`, with its writer thread.
    pub(crate) fn new(log: Arc<dyn AuditLog>) -> Auditor {
        let (queue, pending) = mpsc::channel::<Pending>();
        let writer = log.clone();
        let spawned = std::thread::Builder::new()
            .name("audit-writer".to_owned())
            .spawn(move || write_batches(writer.as_ref(), &pending));
        if let Err(e) = spawned {
            // Without its thread every request fails to audit (and so is refused): loud, not lossy.
            tracing::error!(error = %e, "cannot start the audit log writer");
        }
        Auditor { log, queue }
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
        validate_entry(&entry).map_err(|e| ApiError::internal("an audit entry was refused", &e))?;
        let (done, written) = oneshot::channel();
        self.queue.send(Pending { entry, done }).map_err(|_| {
            ApiError::internal(
                "the access audit log could not be written",
                &"its writer has stopped",
            )
        })?;
        match written.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(cause)) => Err(ApiError::internal(
                "the access audit log could not be written",
                &cause,
            )),
            Err(_) => Err(ApiError::internal(
                "the access audit log could not be written",
                &"its writer has stopped",
            )),
        }
    }
}

/// The writer thread: appends whatever is waiting, in batches, until every sender is gone.
fn write_batches(log: &dyn AuditLog, pending: &mpsc::Receiver<Pending>) {
    while let Ok(first) = pending.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match pending.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let entries: Vec<AuditEntry> = batch.iter().map(|p| p.entry.clone()).collect();
        let result = log
            .append_all(&entries)
            .map(|_| ())
            .map_err(|e| e.to_string());
        for p in batch {
            // A request that stopped waiting (its client went away) needs no answer.
            let _ = p.done.send(result.clone());
        }
    }
}

/// `s` cut to [`MAX_FIELD_CHARS`] characters.
pub(crate) fn cut(s: &str) -> String {
    s.chars().take(MAX_FIELD_CHARS).collect()
}
