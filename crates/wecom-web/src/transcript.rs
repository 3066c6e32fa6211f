//! The transcript: one conversation the way the chat app showed it.
//!
//! - `GET /conversations/{key}`: the page, at the newest messages; `?around=MSGID` centred on a
//!   message (marked `.highlight`, scrolled to by `assets/transcript.js`); `?date=YYYY-MM-DD` at
//!   the first message of that China-time day; `?person=ID` shows that person on the right (see
//!   [`SideRule`]); `?corp=` for callers of several corps.
//! - `?before=CURSOR` / `?after=CURSOR` with `HX-Request`: a fragment of older / newer messages
//!   with the next sentinel, which htmx loads when it scrolls into view (`hx-trigger="revealed"`),
//!   so the transcript scrolls endlessly both ways. Without `HX-Request` the same addresses answer
//!   a whole page. Every answer carries `Vary: HX-Request`.
//! - `GET /messages/{msgid}/raw`: the raw JSON side panel's content (auditors and admins).
//!
//! Everything is read through `wecom_api::service::read`, so the page is exactly as visible and
//! as audited as the API: a conversation the caller may not see is the 404 page, and the attempt
//! is in the audit log.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use wecom_api::service::read;
use wecom_api::{ApiError, ApiState};
use wecom_store::Role;
use wecom_views::{MessageDetail, MessageWindow, PageAt, PageCursor};

use crate::lang::Lang;
use crate::message::html::{ChinaTime, Out, url_part};
use crate::message::{RenderContext, SideRule, china_day_start_ms, render};
use crate::page::{Nav, error as error_page, not_found};
use crate::session::Viewer;

/// Messages per page and per fragment.
pub const PAGE_SIZE: usize = 50;

/// A gap after which a time line is shown even on the same day.
const GAP_MS: i64 = 30 * 60 * 1000;

/// The transcript's routes, merged into [`crate::router`].
pub fn routes() -> Router<Arc<ApiState>> {
    Router::new()
        .route("/conversations/{key}", get(page))
        .route("/messages/{msgid}/raw", get(raw_panel))
}

/// The transcript's query.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TranscriptQuery {
    pub corp: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub around: Option<String>,
    pub date: Option<String>,
    pub person: Option<String>,
}

#[derive(Template)]
#[template(path = "transcript.html")]
struct TranscriptPage<'a> {
    lang: Lang,
    nav: Nav,
    key: &'a str,
    title: String,
    subtitle: String,
    /// The jump form's target and hidden fields.
    action: String,
    person: &'a str,
    corp: &'a str,
    date: String,
    /// The messages with their sentinels (escaped by the renderer).
    body: String,
    raw_panel: bool,
    empty: bool,
    declined: Vec<String>,
}

async fn page(
    State(state): State<Arc<ApiState>>,
    viewer: Viewer,
    lang: Lang,
    Path(key): Path<String>,
    query: Result<Query<TranscriptQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let Ok(Query(q)) = query else {
        return vary(error_page(
            lang,
            &ApiError::bad_request("the address's query is not understood"),
        ));
    };
    let fragment = crate::session::is_htmx(&headers);
    let at = match place(&q) {
        Ok(at) => at,
        Err(e) => return vary(error_page(lang, &e)),
    };
    let caller = &viewer.0;
    let window = match read::conversation_window(
        &state,
        caller,
        q.corp.as_deref(),
        &key,
        at.clone(),
        PAGE_SIZE,
    )
    .await
    {
        Ok(w) => w,
        Err(e) if e.status == StatusCode::NOT_FOUND => return vary(not_found(lang)),
        Err(e) => return vary(error_page(lang, &e)),
    };
    let ctx = RenderContext {
        lang,
        sides: SideRule::new(&key, q.person.as_deref()),
        raw_button: matches!(caller.role(), Role::Admin | Role::Auditor),
        corp: q.corp.clone(),
        highlight: q.around.clone(),
    };
    // The message before a page of newer ones: its time decides the first time line.
    let previous = match &at {
        PageAt::After(c) if q.date.is_none() => Some(c.msgtime),
        _ => None,
    };
    let links = Links::new(&key, &q);
    if fragment && (q.before.is_some() || q.after.is_some()) {
        let html = if q.before.is_some() {
            older_fragment(&window, &ctx, &links)
        } else {
            newer_fragment(&window, &ctx, &links, previous)
        };
        return vary(no_store(Html(html).into_response()));
    }
    let mut body = String::new();
    body.push_str(&older_sentinel(&window, &ctx, &links));
    body.push_str(&messages(&window.messages, &ctx, previous));
    body.push_str(&newer_sentinel(&window, &ctx, &links));
    let (mut title, subtitle) = titles(&key, &window, lang);
    if let Some(room) = key.strip_prefix("room:") {
        // A failure to read the name leaves the generic heading: the messages are what matter.
        if let Ok(Some(name)) = read::room_name(&state, caller, q.corp.as_deref(), room).await {
            title = name;
        }
    }
    let template = TranscriptPage {
        lang,
        nav: Nav::new(&viewer, "conversations"),
        key: &key,
        title,
        subtitle,
        action: format!("/conversations/{}", url_part(&key)),
        person: q.person.as_deref().unwrap_or(""),
        corp: q.corp.as_deref().unwrap_or(""),
        date: q.date.clone().unwrap_or_default(),
        body,
        raw_panel: ctx.raw_button,
        empty: window.messages.is_empty(),
        declined: window.declined.iter().map(|d| d.userid.clone()).collect(),
    };
    vary(no_store(match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the transcript template failed to render");
            error_page(lang, &ApiError::internal("rendering the page failed", &e))
        }
    }))
}

/// Where the page opens.
fn place(q: &TranscriptQuery) -> Result<PageAt, ApiError> {
    let cursor = |s: &str| {
        s.parse::<PageCursor>()
            .map_err(|e| ApiError::bad_request(e.to_string()))
    };
    let given = [
        q.before.is_some(),
        q.after.is_some(),
        q.around.is_some(),
        q.date.as_deref().is_some_and(|d| !d.is_empty()),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(ApiError::bad_request(
            "give at most one of `before`, `after`, `around` and `date`",
        ));
    }
    if let Some(b) = &q.before {
        return Ok(PageAt::Before(cursor(b)?));
    }
    if let Some(a) = &q.after {
        return Ok(PageAt::After(cursor(a)?));
    }
    if let Some(m) = &q.around {
        return Ok(PageAt::Around(m.clone()));
    }
    match q.date.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => {
            let start = china_day_start_ms(d)
                .ok_or_else(|| ApiError::bad_request("a date is YYYY-MM-DD, e.g. 2026-01-31"))?;
            // Strictly after the last possible message of the day before.
            Ok(PageAt::After(PageCursor {
                msgtime: start - 1,
                seq: i64::MAX as u64,
            }))
        }
        None => Ok(PageAt::End),
    }
}

/// The addresses of the fragments.
struct Links {
    base: String,
    /// `&person=…&corp=…`
    carry: String,
}

impl Links {
    fn new(key: &str, q: &TranscriptQuery) -> Links {
        let mut carry = String::new();
        if let Some(p) = q.person.as_deref().filter(|p| !p.is_empty()) {
            carry.push_str("&person=");
            carry.push_str(&url_part(p));
        }
        if let Some(c) = q.corp.as_deref().filter(|c| !c.is_empty()) {
            carry.push_str("&corp=");
            carry.push_str(&url_part(c));
        }
        Links {
            base: format!("/conversations/{}", url_part(key)),
            carry,
        }
    }

    fn before(&self, c: &PageCursor) -> String {
        format!(
            "{}?before={}{}",
            self.base,
            url_part(&c.to_string()),
            self.carry
        )
    }

    fn after(&self, c: &PageCursor) -> String {
        format!(
            "{}?after={}{}",
            self.base,
            url_part(&c.to_string()),
            self.carry
        )
    }
}

/// The sentinel that loads older messages, or the start of the conversation.
fn older_sentinel(window: &MessageWindow, ctx: &RenderContext, links: &Links) -> String {
    let l = ctx.lang;
    let mut o = Out::new();
    match &window.before {
        Some(c) => {
            o.open("div")
                .attr("class", "sentinel older")
                .attr("hx-get", &links.before(c))
                .attr("hx-trigger", "revealed")
                .attr("hx-swap", "outerHTML")
                .close();
            o.open("a")
                .attr("href", &links.before(c))
                .close()
                .text(l.t("更早的消息…", "Older messages…"))
                .end("a")
                .end("div");
        }
        None => {
            o.el(
                "div",
                "edge start",
                l.t("会话开始", "Start of the conversation"),
            );
        }
    }
    o.finish()
}

/// The sentinel that loads newer messages, or the end (for now).
fn newer_sentinel(window: &MessageWindow, ctx: &RenderContext, links: &Links) -> String {
    let l = ctx.lang;
    let mut o = Out::new();
    match &window.after {
        Some(c) => {
            o.open("div")
                .attr("class", "sentinel newer")
                .attr("hx-get", &links.after(c))
                .attr("hx-trigger", "revealed")
                .attr("hx-swap", "outerHTML")
                .close();
            o.open("a")
                .attr("href", &links.after(c))
                .close()
                .text(l.t("更新的消息…", "Newer messages…"))
                .end("a")
                .end("div");
        }
        None => {
            o.el("div", "edge end", l.t("已是最新消息", "Latest message"));
        }
    }
    o.finish()
}

/// Older messages: they replace the older sentinel, so they bring the next one first.
fn older_fragment(window: &MessageWindow, ctx: &RenderContext, links: &Links) -> String {
    let mut html = older_sentinel(window, ctx, links);
    html.push_str(&messages(&window.messages, ctx, None));
    html
}

/// Newer messages: they replace the newer sentinel, so they end with the next one.
fn newer_fragment(
    window: &MessageWindow,
    ctx: &RenderContext,
    links: &Links,
    previous: Option<i64>,
) -> String {
    let mut html = messages(&window.messages, ctx, previous);
    html.push_str(&newer_sentinel(window, ctx, links));
    html
}

/// Messages with a time line before the first, at each new China day and after a long gap.
fn messages(list: &[MessageDetail], ctx: &RenderContext, previous: Option<i64>) -> String {
    let mut html = String::new();
    let mut last = previous;
    for detail in list {
        let t = detail.view.msgtime;
        let line = match last {
            None => true,
            Some(p) => ChinaTime::day_of_ms(p) != ChinaTime::day_of_ms(t) || t - p >= GAP_MS,
        };
        if line {
            html.push_str(&time_line(t, ctx));
        }
        html.push_str(&render(detail, ctx));
        last = Some(t);
    }
    html
}

fn time_line(ms: i64, ctx: &RenderContext) -> String {
    let t = ChinaTime::of_ms(ms);
    let mut o = Out::new();
    o.open("div")
        .attr("class", "time-line")
        .attr("role", "separator")
        .attr("data-date", &t.date())
        .close();
    o.open("time")
        .attr("datetime", &t.full())
        .close()
        .text(&t.date())
        .text(" ")
        .text(&t.hm())
        .end("time");
    o.text(ctx.lang.t(" (北京时间)", " (China time)"));
    o.end("div");
    o.finish()
}

/// The page's heading: the people of a one-to-one chat, the room of a group chat.
fn titles(key: &str, window: &MessageWindow, lang: Lang) -> (String, String) {
    let name_of = |id: &str| {
        window
            .messages
            .iter()
            .find(|m| m.view.from == id)
            .and_then(|m| m.view.from_name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| id.to_owned())
    };
    if let Some((a, b)) = key.strip_prefix("pair:").and_then(|p| p.split_once('|')) {
        (
            format!("{} ↔ {}", name_of(a), name_of(b)),
            lang.t("单聊", "One-to-one chat").to_owned(),
        )
    } else if let Some(room) = key.strip_prefix("room:") {
        (lang.t("群聊", "Group chat").to_owned(), room.to_owned())
    } else {
        (key.to_owned(), String::new())
    }
}

/// `GET /messages/{msgid}/raw`: the decrypted JSON of a message for the side panel.
async fn raw_panel(
    State(state): State<Arc<ApiState>>,
    viewer: Viewer,
    lang: Lang,
    Path(msgid): Path<String>,
    Query(q): Query<TranscriptQuery>,
) -> Response {
    let bytes = match read::raw(&state, &viewer.0, q.corp.as_deref(), &msgid).await {
        Ok(b) => b,
        Err(e) => {
            let mut o = Out::new();
            o.open("p")
                .attr("class", "alert")
                .attr("role", "alert")
                .close()
                .text(&e.message)
                .end("p");
            return vary(no_store((e.status, Html(o.finish())).into_response()));
        }
    };
    let pretty = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    let mut o = Out::new();
    o.tag("div", "raw-head");
    o.el("strong", "raw-title", lang.t("原始 JSON", "Raw JSON"));
    o.raw(" ").el("code", "raw-msgid", &msgid);
    o.open("button")
        .attr("type", "button")
        .attr("class", "raw-close")
        .close()
        .text(lang.t("关闭", "Close"))
        .end("button");
    o.end("div");
    o.el("pre", "raw-source", &pretty);
    vary(no_store(Html(o.finish()).into_response()))
}

fn vary(mut r: Response) -> Response {
    r.headers_mut()
        .append(header::VARY, HeaderValue::from_static("HX-Request"));
    r
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
