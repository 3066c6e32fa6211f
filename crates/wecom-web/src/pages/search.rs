//! `GET /search`: the search language of `wecom-archive search` (`q`) with its filters as form
//! controls, a help text for the syntax, and hits with their matched text in `<mark>` (escaped
//! first, marked after), each linking to the transcript around the message.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use wecom_api::ApiState;
use wecom_api::service::browse::{self, SearchQuery};
use wecom_search::{Hit, Snippet};

use crate::lang::Lang;
use crate::page::{self, Nav, china_day_start, conversation_href, path_segment, query_string};
use crate::pages::conversations::{colour_class, initial};
use crate::session::Viewer;

/// Hits per page.
const PAGE: usize = 20;

/// The page's query string.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub corp: String,
    /// Sent or received by this id.
    #[serde(default)]
    pub participant: String,
    /// Sent by this id.
    #[serde(default)]
    pub sender: String,
    #[serde(default)]
    pub room: String,
    #[serde(default, rename = "type")]
    pub msgtype: String,
    /// `""`, `external` or `internal`.
    #[serde(default)]
    pub scope: String,
    /// `""`, `yes` or `no`.
    #[serde(default)]
    pub media: String,
    /// `""`, `yes` or `no`.
    #[serde(default)]
    pub recalled: String,
    /// China-time dates.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// `""` (relevance) or `time`.
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub cursor: String,
}

impl SearchParams {
    fn any(&self) -> bool {
        [
            &self.q,
            &self.participant,
            &self.sender,
            &self.room,
            &self.msgtype,
            &self.scope,
            &self.media,
            &self.recalled,
            &self.from,
            &self.to,
        ]
        .iter()
        .any(|s| !s.trim().is_empty())
    }

    fn with_cursor(&self, cursor: &str) -> String {
        let q = query_string([
            ("q", self.q.as_str()),
            ("corp", &self.corp),
            ("participant", &self.participant),
            ("sender", &self.sender),
            ("room", &self.room),
            ("type", &self.msgtype),
            ("scope", &self.scope),
            ("media", &self.media),
            ("recalled", &self.recalled),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", &self.sort),
            ("cursor", cursor),
        ]);
        format!("/search?{q}")
    }
}

/// One hit as shown.
pub struct HitRow {
    pub href: String,
    pub msgid: String,
    pub conversation: String,
    pub sender: String,
    pub initial: String,
    pub colour: String,
    pub time: String,
    pub msgtype: String,
    pub recalled: bool,
    pub external: bool,
    /// The snippet in pieces; `true` pieces matched.
    pub parts: Vec<(String, bool)>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    lang: Lang,
    nav: Nav,
    p: SearchParams,
    /// The corps to choose from (shown when there are several), the current one marked.
    corps: Vec<(String, bool)>,
    /// The message types, the chosen one marked.
    types: Vec<(&'static str, bool)>,
    searched: bool,
    total: u64,
    hits: Vec<HitRow>,
    next_href: Option<String>,
    error: Option<String>,
}

/// `GET /search`.
pub async fn page(
    State(state): State<Arc<ApiState>>,
    lang: Lang,
    viewer: Viewer,
    q: Result<Query<SearchParams>, QueryRejection>,
) -> Response {
    let p = q.map(|q| q.0).unwrap_or_default();
    let corps: Vec<String> = browse::corps(&state, &viewer.0)
        .into_iter()
        .map(|c| c.corp_id)
        .collect();
    let corp = if p.corp.is_empty() {
        corps.first().cloned().unwrap_or_default()
    } else {
        p.corp.clone()
    };
    let mut view = SearchPage {
        lang,
        nav: Nav::new(&viewer, "search"),
        corps: corps
            .into_iter()
            .map(|c| {
                let chosen = c == corp;
                (c, chosen)
            })
            .collect(),
        types: wecom_search::query::known_types()
            .map(|t| (t, t == p.msgtype))
            .collect(),
        searched: false,
        total: 0,
        hits: Vec::new(),
        next_href: None,
        error: None,
        p,
    };
    if !view.p.any() {
        return page::render(&view);
    }
    let request = match request(&view.p, corp) {
        Ok(r) => r,
        Err(message) => {
            view.error = Some(message);
            return page::render_status(StatusCode::BAD_REQUEST, &view);
        }
    };
    match browse::search(&state, &viewer.0, &request).await {
        Ok(found) => {
            view.searched = true;
            view.total = found.total;
            view.hits = found.hits.iter().map(hit_row).collect();
            view.next_href = found.next_cursor.as_deref().map(|c| view.p.with_cursor(c));
            page::render(&view)
        }
        Err(e)
            if matches!(
                e.code,
                "invalid_query" | "bad_request" | "search_unavailable"
            ) =>
        {
            let status = e.status;
            view.error = Some(e.message);
            page::render_status(status, &view)
        }
        Err(e) => page::error(lang, &e),
    }
}

fn yes_no(s: &str) -> Option<bool> {
    match s {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

fn request(p: &SearchParams, corp: String) -> Result<SearchQuery, String> {
    let date = |d: &str| -> Result<Option<i64>, String> {
        if d.trim().is_empty() {
            return Ok(None);
        }
        china_day_start(d)
            .map(Some)
            .ok_or_else(|| format!("`{d}` is not a date (YYYY-MM-DD)"))
    };
    Ok(SearchQuery {
        corp: Some(corp).filter(|c| !c.is_empty()),
        q: p.q.clone(),
        conversation: None,
        participant: non_empty(&p.participant),
        from: non_empty(&p.sender),
        room: non_empty(&p.room),
        msgtype: non_empty(&p.msgtype),
        external: match p.scope.as_str() {
            "external" => Some(true),
            "internal" => Some(false),
            _ => None,
        },
        has_media: yes_no(&p.media),
        recalled: yes_no(&p.recalled),
        since: date(&p.from)?,
        until: date(&p.to)?.map(|d| d.saturating_add(86_400_000)),
        sort: (p.sort == "time").then(|| "time".to_owned()),
        limit: Some(PAGE),
        cursor: non_empty(&p.cursor),
    })
}

/// A snippet in pieces, each matched or not (byte ranges that are not character boundaries are
/// left unmarked rather than split).
pub fn pieces(s: &Snippet) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut at = 0;
    for &[start, end] in &s.highlights {
        if start < at || end < start {
            continue;
        }
        let (Some(before), Some(hit)) = (s.text.get(at..start), s.text.get(start..end)) else {
            continue;
        };
        if !before.is_empty() {
            out.push((before.to_owned(), false));
        }
        if !hit.is_empty() {
            out.push((hit.to_owned(), true));
        }
        at = end;
    }
    if let Some(rest) = s.text.get(at..)
        && !rest.is_empty()
    {
        out.push((rest.to_owned(), false));
    }
    out
}

fn hit_row(h: &Hit) -> HitRow {
    let m = &h.message;
    let sender = m.from_name.clone().unwrap_or_else(|| m.from.clone());
    HitRow {
        href: format!(
            "{}?around={}#m-{}",
            conversation_href(&m.conversation),
            path_segment(&m.msgid),
            m.msgid
        ),
        msgid: m.msgid.clone(),
        conversation: h
            .conversation_name
            .clone()
            .unwrap_or_else(|| m.conversation.clone()),
        initial: initial(&sender),
        colour: colour_class(&m.from),
        sender,
        time: page::china_time(m.msgtime).chars().take(16).collect(),
        msgtype: m.msgtype.clone().unwrap_or_default(),
        recalled: h.recalled,
        external: m.external,
        parts: pieces(&h.snippet),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_split_at_highlights_only_on_boundaries() {
        let s = Snippet {
            text: "请把合同发我".to_owned(),
            highlights: vec![[6, 12]],
        };
        assert_eq!(
            pieces(&s),
            vec![
                ("请把".to_owned(), false),
                ("合同".to_owned(), true),
                ("发我".to_owned(), false)
            ]
        );
        let bad = Snippet {
            text: "合同".to_owned(),
            highlights: vec![[1, 4], [0, 99]],
        };
        assert_eq!(pieces(&bad), vec![("合同".to_owned(), false)]);
    }
}
