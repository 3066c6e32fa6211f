//! Per corp: the sync cursor and lag, the time to loss, failures, the media queue and names, as
//! the running daemon last computed them (no request waits on the archive for them).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use wecom_server::CorpSnapshot;
use wecom_store::blocking;

use crate::access::{Caller, corps_of};
use crate::{ApiError, ApiState, CorpStatus, ErrorBody, StatusPage};

/// The status of every corp the caller may use.
#[utoipa::path(get, path = "/api/v1/status", tag = "status",
    responses((status = 200, body = StatusPage), (status = 401, body = ErrorBody)))]
pub(crate) async fn status(
    State(state): State<Arc<ApiState>>,
    caller: Caller,
) -> Result<Json<StatusPage>, ApiError> {
    let mine: Vec<_> = corps_of(&state, &caller).into_iter().cloned().collect();
    let snapshots = state
        .status
        .as_ref()
        .map(|o| o.snapshot())
        .unwrap_or_default();
    let mut corps = Vec::new();
    for corp in mine {
        if let Some(s) = snapshots.iter().find(|s| s.corp_id == corp.corp_id) {
            corps.push(from_snapshot(s));
            continue;
        }
        // Not run by a daemon here: what the archive itself says.
        let (reader, corp_id) = (corp.reader.clone(), corp.corp_id.clone());
        let stats = blocking(move || reader.stats(&corp_id)).await?;
        corps.push(CorpStatus {
            corp_id: corp.corp_id.clone(),
            cursor: stats.cursor_seq,
            lag_seconds: None,
            lag_records: 0,
            time_to_loss_seconds: None,
            records_total: stats.records,
            failures_by_code: stats
                .failed_by_code
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            syncs_ok: 0,
            syncs_failed: 0,
            media_by_state: Default::default(),
            media_oldest_pending_age_seconds: None,
            names: Default::default(),
            not_ready: Some("no sync runs for this corp in this process".to_owned()),
            figures_age_seconds: None,
        });
    }
    Ok(Json(StatusPage { corps }))
}

fn from_snapshot(s: &CorpSnapshot) -> CorpStatus {
    CorpStatus {
        corp_id: s.corp_id.clone(),
        cursor: s.last_seq,
        lag_seconds: s.lag_seconds,
        lag_records: s.lag_records,
        time_to_loss_seconds: s.time_to_loss_seconds,
        records_total: s.records_total,
        failures_by_code: s
            .decrypt_failures_by_code
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        syncs_ok: s.syncs_ok,
        syncs_failed: s.syncs_failed,
        media_by_state: s.media_by_state.clone(),
        media_oldest_pending_age_seconds: s.media_oldest_pending_age_seconds,
        names: s
            .names
            .iter()
            .map(|((kind, state), n)| (format!("{kind}.{state}"), *n))
            .collect(),
        not_ready: s.not_ready.clone(),
        figures_age_seconds: s.figures_age_seconds,
    }
}
