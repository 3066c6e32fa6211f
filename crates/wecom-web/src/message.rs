//! One archived message as HTML: every message type rendered the way the chat app showed it.
//!
//! [`render`] turns a [`MessageDetail`] (the API's view of a message) into one
//! `<article class="msg …" id="m-MSGID" data-msgid data-type>`, the contract of the web app's
//! DOM (`left`/`right`/`system`, `img.msg-image`, `audio.msg-voice`, `video.msg-video`,
//! `a.msg-file`, `.media-state`, `recalled`, `pre.raw-json` for unknown types only).
//!
//! The payload is read again with `wecom-model` (the same tolerant reader the archive uses, so the
//! disputed shapes of the reference are accepted here too) and each type has its own rendering
//! in [`kinds`]. Every value is escaped on the way out ([`html::Out`]): markup is only ever written
//! from literals, so a message holding `<script>` shows as that text.

pub mod html;
mod kinds;

use wecom_model::{Action, Envelope, Payload};
use wecom_views::{MediaRefView, MessageDetail};

use crate::lang::Lang;
use html::{ChinaTime, Out, url_part};

pub use html::{china_day_start_ms, url_part as encode_segment};

/// Which side of the transcript a message is shown on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Someone else.
    Left,
    /// The person the transcript is read as.
    Right,
    /// Not a chat message: switch records, consent changes, recall records (centred lines).
    System,
}

impl Side {
    pub fn class(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
            Side::System => "system",
        }
    }
}

/// Who is shown on the right.
///
/// - with `person` (the list's `?person=` filter): that person;
/// - else, in a one-to-one chat (`pair:a|b`): the internal employee facing an external contact;
///   when both are internal (or both external), the first id of the key;
/// - else (rooms): nobody, as for a reader who is not in the room: every message left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SideRule {
    right: Option<String>,
}

impl SideRule {
    pub fn new(conversation_key: &str, person: Option<&str>) -> SideRule {
        if let Some(p) = person.filter(|p| !p.is_empty()) {
            return SideRule {
                right: Some(p.to_owned()),
            };
        }
        let right = conversation_key
            .strip_prefix("pair:")
            .and_then(|pair| pair.split_once('|'))
            .map(|(a, b)| match (is_external_id(a), is_external_id(b)) {
                (true, false) => b.to_owned(),
                _ => a.to_owned(),
            });
        SideRule { right }
    }

    /// The side of a message.
    pub fn side(&self, detail: &MessageDetail) -> Side {
        if is_system(detail) {
            Side::System
        } else if self.right.as_deref() == Some(detail.view.from.as_str()) {
            Side::Right
        } else {
            Side::Left
        }
    }

    /// The id shown on the right, if any.
    pub fn right(&self) -> Option<&str> {
        self.right.as_deref()
    }
}

/// An external contact's id (`wo…`, `wm…`) — robots (`wb…`) are external too.
pub fn is_external_id(id: &str) -> bool {
    ["wo", "wm", "wb"].iter().any(|p| id.starts_with(p)) && id.len() > 20
}

/// A robot's id (`wb…`).
pub fn is_robot_id(id: &str) -> bool {
    id.starts_with("wb") && id.len() > 20
}

fn is_system(detail: &MessageDetail) -> bool {
    detail.view.action == "switch"
        || detail.view.action == "recall"
        || matches!(
            detail.view.msgtype.as_deref(),
            Some("agree" | "disagree" | "revoke")
        )
}

/// What [`render`] needs besides the message.
#[derive(Debug, Clone)]
pub struct RenderContext {
    pub lang: Lang,
    /// Who is on the right.
    pub sides: SideRule,
    /// The caller may see raw JSON (auditors and admins): each message gets a button for it.
    pub raw_button: bool,
    /// The corp, when the caller uses several (added to every link).
    pub corp: Option<String>,
    /// The message to mark `.highlight`.
    pub highlight: Option<String>,
}

impl RenderContext {
    pub fn new(lang: Lang, conversation_key: &str) -> RenderContext {
        RenderContext {
            lang,
            sides: SideRule::new(conversation_key, None),
            raw_button: false,
            corp: None,
            highlight: None,
        }
    }

    /// `?corp=…` (or `&corp=…` after a query) when a corp is set.
    fn corp_query(&self, first: bool) -> String {
        match &self.corp {
            Some(c) => format!("{}corp={}", if first { "?" } else { "&" }, url_part(c)),
            None => String::new(),
        }
    }

    /// The API address of a media object.
    fn media_url(&self, sha256: &str) -> String {
        format!(
            "/api/v1/media/{}{}",
            url_part(sha256),
            self.corp_query(true)
        )
    }

    /// The playable (WAV) address of a voice object.
    fn playable_url(&self, sha256: &str) -> String {
        format!(
            "/api/v1/media/{}/playable{}",
            url_part(sha256),
            self.corp_query(true)
        )
    }
}

/// The typed payload of a message, read again from its view and payload object.
pub fn payload_of(detail: &MessageDetail) -> Payload {
    let v = &detail.view;
    let msgtype = v.msgtype.clone();
    let mut record = serde_json::Map::new();
    record.insert("msgid".into(), v.msgid.clone().into());
    record.insert("action".into(), v.action.clone().into());
    if v.action == "switch" {
        record.insert("time".into(), v.msgtime.into());
        record.insert("user".into(), v.from.clone().into());
    } else {
        record.insert("from".into(), v.from.clone().into());
        record.insert("tolist".into(), v.tolist.clone().into());
        record.insert("roomid".into(), v.roomid.clone().into());
        record.insert("msgtime".into(), v.msgtime.into());
    }
    if let Some(t) = &msgtype {
        record.insert("msgtype".into(), t.clone().into());
        match payload_key(t) {
            Some(key) => {
                record.insert(key.into(), detail.payload.clone());
            }
            // Unknown types: the payload is the record's own fields.
            None => {
                if let serde_json::Value::Object(fields) = &detail.payload {
                    for (k, val) in fields {
                        record.entry(k.clone()).or_insert_with(|| val.clone());
                    }
                }
            }
        }
    }
    let json = serde_json::Value::Object(record).to_string();
    let message = wecom_model::understand(&Envelope {
        msgid: v.msgid.clone(),
        action: Action::parse(&v.action),
        from: v.from.clone(),
        tolist: v.tolist.clone(),
        roomid: v.roomid.clone(),
        msgtime: v.msgtime,
        msgtype,
        json,
    });
    message.payload
}

/// The payload key of a known msgtype (reference §3.3).
fn payload_key(msgtype: &str) -> Option<&str> {
    if !wecom_model::MSGTYPES.contains(&msgtype) {
        return None;
    }
    Some(match msgtype {
        "external_redpacket" => "redpacket",
        "docmsg" => "doc",
        "meeting_notification" | "markdown" | "news" | "voiptext" | "qydiskfile" => "info",
        other => other,
    })
}

/// The `data-type` of a message: its msgtype, `switch` for switch records.
pub fn data_type(detail: &MessageDetail) -> &str {
    if detail.view.action == "switch" {
        "switch"
    } else {
        detail.view.msgtype.as_deref().unwrap_or("unknown")
    }
}

/// One message as an `<article>`.
pub fn render(detail: &MessageDetail, ctx: &RenderContext) -> String {
    let v = &detail.view;
    let side = ctx.sides.side(detail);
    let payload = payload_of(detail);
    let mut o = Out::new();
    o.open("article").attr(
        "class",
        &format!(
            "msg {}{}{}",
            side.class(),
            if v.recalled_at.is_some() {
                " recalled"
            } else {
                ""
            },
            if ctx.highlight.as_deref() == Some(v.msgid.as_str()) {
                " highlight"
            } else {
                ""
            }
        ),
    );
    o.attr("id", &format!("m-{}", v.msgid))
        .attr("data-msgid", &v.msgid)
        .attr("data-type", data_type(detail))
        .attr("data-time", &v.msgtime.to_string())
        .close();
    let t = ChinaTime::of_ms(v.msgtime);
    if side == Side::System {
        o.tag("p", "system-line");
        kinds::system_line(&mut o, detail, &payload, ctx);
        o.raw(" ")
            .open("time")
            .attr("datetime", &t.full())
            .close()
            .text(&t.hm())
            .end("time");
        o.end("p");
        raw_button(&mut o, detail, ctx);
        o.end("article");
        return o.finish();
    }
    // Sender: name, the id on hover, badges.
    o.tag("header", "msg-head");
    let shown = v.from_name.as_deref().filter(|n| !n.is_empty());
    o.open("span")
        .attr("class", "sender")
        .attr("title", &v.from)
        .close()
        .text(shown.unwrap_or(&v.from))
        .end("span");
    if is_robot_id(&v.from) {
        o.el("span", "badge robot", ctx.lang.t("机器人", "Robot"));
    } else if v.external || is_external_id(&v.from) {
        o.el("span", "badge external", ctx.lang.t("外部", "External"));
    }
    if v.updown_stream {
        o.el("span", "badge updown", ctx.lang.t("上下游", "Supply chain"));
    }
    o.raw(" ")
        .open("time")
        .attr("datetime", &t.full())
        .attr("title", &t.full())
        .close()
        .text(&t.hm())
        .end("time");
    raw_button(&mut o, detail, ctx);
    o.end("header");
    o.tag("div", "bubble");
    kinds::body(&mut o, detail, &payload, ctx);
    o.end("div");
    if let Some(at) = v.recalled_at {
        let when = ChinaTime::of_ms(at).full();
        o.open("p").attr("class", "recall-note").close();
        o.text(ctx.lang.t("已撤回", "Recalled")).raw(" ");
        o.open("time")
            .attr("datetime", &when)
            .close()
            .text(&when)
            .end("time");
        o.end("p");
    }
    o.end("article");
    o.finish()
}

fn raw_button(o: &mut Out, detail: &MessageDetail, ctx: &RenderContext) {
    if !ctx.raw_button {
        return;
    }
    let url = format!(
        "/messages/{}/raw{}",
        url_part(&detail.view.msgid),
        ctx.corp_query(true)
    );
    o.open("button")
        .attr("type", "button")
        .attr("class", "raw-button")
        .attr("hx-get", &url)
        .attr("hx-target", "#raw-panel")
        .attr("hx-swap", "innerHTML")
        .close()
        .text(ctx.lang.t("原始 JSON", "Raw JSON"))
        .end("button");
}

/// The media reference of a message at `path` (`image`, `chatrecord.item[2]`, …).
fn media_at<'d>(detail: &'d MessageDetail, path: &str) -> Option<&'d MediaRefView> {
    detail.media.iter().find(|m| m.path == path)
}

/// A size in bytes for people.
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{size:.1} {}", UNITS[unit])
    }
}
