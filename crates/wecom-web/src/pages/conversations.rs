//! `GET /conversations`: the conversations the viewer may see, most recent first, with names,
//! avatars by initials, the last message and counts; filters (person, room, internal/external,
//! time range) as a GET form; a name filter that htmx applies as you type (the results alone are
//! sent back for an htmx request); paging.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;
use wecom_api::service::browse::{self, ListQuery};
use wecom_api::{ApiError, ApiState, ListParams};
use wecom_views::ConversationItem;

use crate::lang::Lang;
use crate::page::{self, Nav, china_day_start, conversation_href, query_string};
use crate::session::{Viewer, is_htmx};

/// Conversations per page.
const PAGE: usize = 50;
/// With a name filter: conversations read per batch, and batches read per request at most.
const NAME_BATCH: usize = 200;
const NAME_BATCHES: usize = 5;
/// People and rooms offered in the filters' suggestion lists.
const SUGGESTIONS: usize = 200;

/// The page's query string.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConvParams {
    #[serde(default)]
    pub corp: String,
    #[serde(default)]
    pub person: String,
    #[serde(default)]
    pub room: String,
    /// `""` (all), `external` or `internal`.
    #[serde(default)]
    pub scope: String,
    /// China-time dates `YYYY-MM-DD`.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// Part of a name (room, participant) or id.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub offset: usize,
}

impl ConvParams {
    /// The query string of these filters at `offset`.
    fn at(&self, offset: usize) -> String {
        let offset = offset.to_string();
        let q = query_string([
            ("corp", self.corp.as_str()),
            ("person", &self.person),
            ("room", &self.room),
            ("scope", &self.scope),
            ("from", &self.from),
            ("to", &self.to),
            ("name", &self.name),
            ("offset", if offset == "0" { "" } else { &offset }),
        ]);
        format!("/conversations?{q}")
    }
}

/// One row of the list.
pub struct Row {
    pub key: String,
    pub href: String,
    pub name: String,
    pub initial: String,
    /// `av-0` … `av-7`.
    pub colour: String,
    pub group: bool,
    pub external: bool,
    pub participants: u64,
    pub messages: u64,
    pub last_time: String,
    pub last_sender: String,
    pub preview: String,
}

/// What the results part of the page shows.
pub struct Results {
    pub rows: Vec<Row>,
    pub prev_href: Option<String>,
    pub next_href: Option<String>,
    /// The name filter stopped reading before the end: more may match further on.
    pub truncated: bool,
}

#[derive(Template)]
#[template(path = "conversations.html")]
struct ConversationsPage {
    lang: Lang,
    nav: Nav,
    p: ConvParams,
    /// The corps to choose from (shown when there are several), the current one marked.
    corps: Vec<(String, bool)>,
    people: Vec<(String, String)>,
    rooms: Vec<(String, String)>,
    r: Results,
}

#[derive(Template)]
#[template(path = "conversations_results.html")]
struct ResultsFragment {
    lang: Lang,
    r: Results,
}

/// `GET /conversations`.
pub async fn page(
    State(state): State<Arc<ApiState>>,
    lang: Lang,
    viewer: Viewer,
    headers: HeaderMap,
    q: Result<Query<ConvParams>, QueryRejection>,
) -> Response {
    let p = q.map(|q| q.0).unwrap_or_default();
    let fragment = is_htmx(&headers);
    let mut response = match build(&state, &viewer, &p, fragment).await {
        Ok((r, _)) if fragment => page::render(&ResultsFragment { lang, r }),
        Ok((r, extras)) => page::render(&ConversationsPage {
            lang,
            nav: Nav::new(&viewer, "conversations"),
            corps: extras
                .corps
                .into_iter()
                .map(|c| {
                    let chosen = c == extras.corp;
                    (c, chosen)
                })
                .collect(),
            people: extras.people,
            rooms: extras.rooms,
            p,
            r,
        }),
        Err(e) => page::error(lang, &e),
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("HX-Request"));
    response
}

#[derive(Default)]
struct Extras {
    corps: Vec<String>,
    corp: String,
    people: Vec<(String, String)>,
    rooms: Vec<(String, String)>,
}

async fn build(
    state: &ApiState,
    viewer: &Viewer,
    p: &ConvParams,
    fragment: bool,
) -> Result<(Results, Extras), ApiError> {
    let caller = &viewer.0;
    let corps: Vec<String> = browse::corps(state, caller)
        .into_iter()
        .map(|c| c.corp_id)
        .collect();
    // Several corps and none chosen: the first.
    let corp = if p.corp.is_empty() {
        corps.first().cloned().unwrap_or_default()
    } else {
        p.corp.clone()
    };
    let since = china_day_start(&p.from);
    let until = china_day_start(&p.to).map(|d| d.saturating_add(86_400_000));
    let query = |limit: usize, offset: usize| ListQuery {
        corp: Some(corp.clone()),
        person: Some(p.person.trim().to_owned()).filter(|s| !s.is_empty()),
        room: Some(p.room.trim().to_owned()).filter(|s| !s.is_empty()),
        external: match p.scope.as_str() {
            "external" => Some(true),
            "internal" => Some(false),
            _ => None,
        },
        since,
        until,
        limit: Some(limit),
        offset: Some(offset),
    };
    let needle = p.name.trim().to_lowercase();
    let results = if needle.is_empty() {
        let list = browse::conversations(state, caller, &query(PAGE, p.offset)).await?;
        Results {
            rows: list.conversations.iter().map(row).collect(),
            prev_href: (p.offset > 0).then(|| p.at(p.offset.saturating_sub(PAGE))),
            next_href: list
                .next_offset
                .map(|n| p.at(usize::try_from(n).unwrap_or(usize::MAX))),
            truncated: false,
        }
    } else {
        // Names are not indexed: read batches and keep the conversations whose names match.
        let mut rows = Vec::new();
        let mut at = p.offset;
        let mut next = None;
        for _ in 0..NAME_BATCHES {
            let list = browse::conversations(state, caller, &query(NAME_BATCH, at)).await?;
            rows.extend(
                list.conversations
                    .iter()
                    .filter(|c| matches_name(c, &needle))
                    .map(row),
            );
            next = list.next_offset;
            at = at.saturating_add(NAME_BATCH);
            if next.is_none() || rows.len() >= PAGE {
                break;
            }
        }
        Results {
            rows,
            prev_href: None,
            next_href: next.map(|n| p.at(usize::try_from(n).unwrap_or(usize::MAX))),
            truncated: next.is_some(),
        }
    };
    if fragment {
        return Ok((results, Extras::default()));
    }
    let list = ListParams {
        corp: Some(corp.clone()),
        limit: Some(SUGGESTIONS),
        offset: None,
    };
    let people = browse::people(state, caller, &list)
        .await?
        .people
        .into_iter()
        .map(|pv| {
            let label = pv.name.clone().unwrap_or_default();
            (pv.id, label)
        })
        .collect();
    let rooms = browse::rooms(state, caller, &list)
        .await?
        .rooms
        .into_iter()
        .map(|r| {
            let label = r.name.clone().unwrap_or_default();
            (r.roomid, label)
        })
        .collect();
    Ok((
        results,
        Extras {
            corps,
            corp,
            people,
            rooms,
        },
    ))
}

fn matches_name(c: &ConversationItem, needle: &str) -> bool {
    let hit = |s: &str| s.to_lowercase().contains(needle);
    c.room_name.as_deref().is_some_and(hit)
        || hit(&c.roomid)
        || c.participant_names.iter().any(|n| hit(n))
        || c.participants.iter().any(|n| hit(n))
}

/// How a conversation is named: its room's name, else its participants'.
pub fn display_name(c: &ConversationItem) -> String {
    if let Some(n) = c.room_name.as_deref().filter(|n| !n.trim().is_empty()) {
        return n.to_owned();
    }
    let names: Vec<&str> = c
        .participant_names
        .iter()
        .take(4)
        .map(String::as_str)
        .collect();
    let mut s = names.join("、");
    if c.participant_count > names.len() as u64 {
        s.push_str(" …");
    }
    if s.is_empty() { c.roomid.clone() } else { s }
}

/// The first character of a name, upper-cased (an avatar's letter).
pub fn initial(name: &str) -> String {
    name.chars()
        .find(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".to_owned())
}

/// The avatar colour class of an id: one of eight, stable per id (FNV-1a).
pub fn colour_class(id: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    format!("av-{}", h % 8)
}

/// A short text of a message for the list: its text, or its kind.
pub fn preview(m: &wecom_views::MessageView) -> String {
    let text: String = m.text.split_whitespace().collect::<Vec<_>>().join(" ");
    if !text.is_empty() {
        let mut short: String = text.chars().take(60).collect();
        if text.chars().count() > 60 {
            short.push('…');
        }
        return short;
    }
    let kind = m.msgtype.as_deref().unwrap_or("switch");
    let zh = match kind {
        "image" => "图片",
        "voice" => "语音",
        "video" => "视频",
        "file" => "文件",
        "emotion" => "表情",
        "link" => "链接",
        "weapp" => "小程序",
        "card" => "名片",
        "location" => "位置",
        "chatrecord" => "聊天记录",
        "meeting_voice_call" | "voip_doc_share" | "meeting" => "会议",
        "redpacket" | "external_redpacket" => "红包",
        "switch" => "切换企业",
        _ => "",
    };
    if zh.is_empty() {
        format!("[{kind}]")
    } else {
        format!("[{zh}]")
    }
}

fn row(c: &ConversationItem) -> Row {
    let name = display_name(c);
    Row {
        href: conversation_href(&c.key),
        initial: initial(&name),
        colour: colour_class(&c.key),
        group: c.is_group,
        external: c.external,
        participants: c.participant_count,
        messages: c.messages,
        last_time: page::china_time(c.last_msgtime).chars().take(16).collect(),
        last_sender: c
            .last_message
            .as_ref()
            .map(|m| m.from_name.clone().unwrap_or_else(|| m.from.clone()))
            .unwrap_or_default(),
        preview: c.last_message.as_ref().map(preview).unwrap_or_default(),
        key: c.key.clone(),
        name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_and_colours() {
        assert_eq!(initial("艾琳"), "艾");
        assert_eq!(initial(" bob"), "B");
        assert_eq!(initial(""), "?");
        assert_eq!(colour_class("pair:a|b"), colour_class("pair:a|b"));
        let classes: std::collections::BTreeSet<_> =
            (0..64).map(|i| colour_class(&format!("k{i}"))).collect();
        assert!(classes.len() > 4, "{classes:?}");
    }
}
