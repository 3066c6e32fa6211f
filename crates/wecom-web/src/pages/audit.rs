//! `/admin/audit` (admins only; anyone else gets the not-found page): the access audit log with
//! filters (user, action, time) and whether its hash chain is intact. Looking is itself audited
//! (by the API's service).

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use wecom_api::service::browse::{self, AuditQuery};
use wecom_api::{ApiState, AuditEntryView, ChainStatus};

use crate::lang::Lang;
use crate::page::{self, Nav, china_day_start, china_time, query_string};
use crate::session::Viewer;

/// Entries per page.
const PAGE: usize = 100;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditParams {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub action: String,
    /// China-time dates.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub after: Option<u64>,
}

pub struct EntryRow {
    pub e: AuditEntryView,
    pub time: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    lang: Lang,
    nav: Nav,
    p: AuditParams,
    chain: ChainStatus,
    entries: Vec<EntryRow>,
    next_href: Option<String>,
    actions: &'static [&'static str],
}

/// The actions the API records, offered in the filter.
const ACTIONS: &[&str] = &[
    "session.create",
    "session.delete",
    "session.invalid",
    "conversation.list",
    "conversation.open",
    "message.view",
    "message.raw",
    "media.fetch",
    "search",
    "user.add",
    "user.update",
    "user.passwd",
    "audit.view",
    "request.bad_origin",
];

/// `GET /admin/audit`.
pub async fn page(
    State(state): State<Arc<ApiState>>,
    lang: Lang,
    viewer: Viewer,
    q: Result<Query<AuditParams>, QueryRejection>,
) -> Response {
    if !viewer.is_admin() {
        return page::not_found_for(lang, &viewer);
    }
    let p = q.map(|q| q.0).unwrap_or_default();
    let query = AuditQuery {
        user: Some(p.user.trim().to_owned()).filter(|s| !s.is_empty()),
        action: Some(p.action.trim().to_owned()).filter(|s| !s.is_empty()),
        since: china_day_start(&p.from),
        until: china_day_start(&p.to).map(|d| d.saturating_add(86_400_000)),
        after: p.after,
        limit: Some(PAGE),
    };
    let log = match browse::audit_log(&state, &viewer.0, &query).await {
        Ok(l) => l,
        Err(e) => return page::error(lang, &e),
    };
    // Checked after the listing, so the count includes this very look.
    let chain = match browse::verify_audit_log(&state, &viewer.0).await {
        Ok(c) => c,
        Err(e) => return page::error(lang, &e),
    };
    let next_href = log.next_after.map(|n| {
        let n = n.to_string();
        format!(
            "/admin/audit?{}",
            query_string([
                ("user", p.user.as_str()),
                ("action", &p.action),
                ("from", &p.from),
                ("to", &p.to),
                ("after", &n),
            ])
        )
    });
    let entries = log
        .entries
        .into_iter()
        .map(|e| {
            // Only what was given: a filter left empty is recorded as null.
            let shown = match &e.detail {
                serde_json::Value::Object(m) => serde_json::Value::Object(
                    m.iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                other => other.clone(),
            };
            let mut detail = shown.to_string();
            if detail == "{}" || detail == "null" {
                detail.clear();
            }
            if detail.chars().count() > 300 {
                detail = detail.chars().take(300).collect::<String>() + "…";
            }
            EntryRow {
                time: china_time(e.at_ms),
                detail,
                e,
            }
        })
        .collect();
    page::render(&AuditPage {
        lang,
        nav: Nav::new(&viewer, "audit"),
        p,
        chain,
        entries,
        next_href,
        actions: ACTIONS,
    })
}
