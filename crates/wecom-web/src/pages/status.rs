//! `GET /status`: per corp the sync's lag, the time left before data could be lost, failures,
//! the media queue and how many names are known, as the API's status reports them; "not
//! running" when no sync runs in this process (the archive's own figures only).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use wecom_api::service::browse;
use wecom_api::{ApiState, CorpStatus};

use crate::lang::Lang;
use crate::page::{self, Nav};
use crate::session::Viewer;

/// One corp as shown.
pub struct CorpRow {
    pub s: CorpStatus,
    pub lag: String,
    pub time_to_loss: String,
    /// Less than a day before loss: shown as a warning.
    pub loss_soon: bool,
    pub media_pending: u64,
    pub media_oldest: String,
    pub names_known: u64,
    pub names_total: u64,
    pub failures: u64,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    lang: Lang,
    nav: Nav,
    running: bool,
    corps: Vec<CorpRow>,
}

/// A duration for people: `3 d 4 h`, `5 min`, `12 s` (both languages read these).
pub fn duration(lang: Lang, secs: f64) -> String {
    if !secs.is_finite() {
        return "—".to_owned();
    }
    let s = secs.max(0.0).round() as u64;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    let (du, hu, mu, su) = match lang {
        Lang::Zh => ("天", "小时", "分钟", "秒"),
        Lang::En => (" d", " h", " min", " s"),
    };
    if d > 0 {
        format!("{d}{du} {h}{hu}")
    } else if h > 0 {
        format!("{h}{hu} {m}{mu}")
    } else if m > 0 {
        format!("{m}{mu}")
    } else {
        format!("{s}{su}")
    }
}

/// `GET /status`.
pub async fn page(State(state): State<Arc<ApiState>>, lang: Lang, viewer: Viewer) -> Response {
    let status = match browse::status(&state, &viewer.0).await {
        Ok(s) => s,
        Err(e) => return page::error(lang, &e),
    };
    let corps = status
        .corps
        .into_iter()
        .map(|s| {
            let pending = ["pending", "downloading", "failed_retryable"]
                .iter()
                .filter_map(|k| s.media_by_state.get(*k))
                .sum();
            let names_known = s
                .names
                .iter()
                .filter(|(k, _)| k.ends_with(".named"))
                .map(|(_, v)| *v)
                .sum();
            CorpRow {
                lag: s
                    .lag_seconds
                    .map(|v| duration(lang, v))
                    .unwrap_or_else(|| "—".to_owned()),
                time_to_loss: s
                    .time_to_loss_seconds
                    .map(|v| duration(lang, v))
                    .unwrap_or_else(|| "—".to_owned()),
                loss_soon: s.time_to_loss_seconds.is_some_and(|v| v < 86_400.0),
                media_pending: pending,
                media_oldest: s
                    .media_oldest_pending_age_seconds
                    .map(|v| duration(lang, v))
                    .unwrap_or_else(|| "—".to_owned()),
                names_known,
                names_total: s.names.values().sum(),
                failures: s.failures_by_code.values().sum(),
                s,
            }
        })
        .collect();
    page::render(&StatusPage {
        lang,
        nav: Nav::new(&viewer, "status"),
        running: browse::sync_observed(&state),
        corps,
    })
}
