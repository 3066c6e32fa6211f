//! The body of each message type (reference §3.4), and the centred lines of records that are not
//! chat messages.

use wecom_model::Payload;
use wecom_model::payload::*;
use wecom_views::{MediaRefView, MessageDetail};

use super::html::{ChinaTime, Out, url_part};
use super::{RenderContext, human_size, media_at};

/// How deep nested forwards are drawn (the model reads up to its own bound; past this, a
/// nested item shows as a line saying so).
const MAX_NESTING: usize = 8;

/// The line of a switch record, a consent change or a recall record.
pub(super) fn system_line(
    o: &mut Out,
    detail: &MessageDetail,
    payload: &Payload,
    ctx: &RenderContext,
) {
    let l = ctx.lang;
    let v = &detail.view;
    let who = |o: &mut Out, id: &str, name: Option<&str>| {
        o.open("span")
            .attr("class", "sys-who")
            .attr("title", id)
            .close()
            .text(name.filter(|n| !n.is_empty()).unwrap_or(id))
            .end("span");
    };
    match payload {
        Payload::Switch(s) => {
            let user = if s.user.is_empty() { &v.from } else { &s.user };
            who(o, user, v.from_name.as_deref());
            o.text(l.t(" 切换了企业", " switched to another company"));
        }
        Payload::Agree(a) => {
            let user = if a.userid.is_empty() {
                &v.from
            } else {
                &a.userid
            };
            who(
                o,
                user,
                (user == &v.from).then_some(()).and(v.from_name.as_deref()),
            );
            o.text(l.t(" 同意存档会话内容", " agreed to the chat being archived"));
            consent_time(o, a.agree_time);
        }
        Payload::Disagree(d) => {
            let user = if d.userid.is_empty() {
                &v.from
            } else {
                &d.userid
            };
            who(
                o,
                user,
                (user == &v.from).then_some(()).and(v.from_name.as_deref()),
            );
            o.text(l.t(" 拒绝存档会话内容", " declined the chat being archived"));
            consent_time(o, d.disagree_time);
        }
        Payload::Revoke(r) => {
            who(o, &v.from, v.from_name.as_deref());
            o.text(l.t(" 撤回了", " recalled "));
            let target = v.recall_of.as_deref().unwrap_or(&r.pre_msgid);
            if target.is_empty() {
                o.text(l.t("一条消息", "a message"));
            } else {
                o.open("a")
                    .attr("class", "recall-target")
                    .attr("href", &format!("#m-{target}"))
                    .attr("title", target)
                    .close()
                    .text(l.t("一条消息", "a message"))
                    .end("a");
            }
        }
        other => {
            who(o, &v.from, v.from_name.as_deref());
            o.raw(" ").text(other.msgtype());
        }
    }
}

fn consent_time(o: &mut Out, ms: i64) {
    if ms > 0 {
        o.raw(" · ").text(&ChinaTime::of_ms(ms).full());
    }
}

/// The body of a chat message.
pub(super) fn body(o: &mut Out, detail: &MessageDetail, payload: &Payload, ctx: &RenderContext) {
    let root = match payload {
        Payload::Unknown(_) => String::new(),
        known => known.payload_key().to_owned(),
    };
    content(o, detail, payload, ctx, &root, 0);
}

/// One payload (a message's, or a forwarded/mixed item's) at media path `path`.
fn content(
    o: &mut Out,
    detail: &MessageDetail,
    payload: &Payload,
    ctx: &RenderContext,
    path: &str,
    depth: usize,
) {
    let l = ctx.lang;
    match payload {
        Payload::Text(t) => text(o, detail, t, ctx, depth),
        Payload::Image(_) => {
            image(
                o,
                media_at(detail, path),
                ctx,
                "msg-image",
                l.t("图片", "Picture"),
            );
        }
        Payload::Voice(v) => voice(o, media_at(detail, path), v, ctx),
        Payload::Video(v) => video(o, media_at(detail, path), v, ctx),
        Payload::Emotion(e) => {
            let title = if e.title.is_empty() {
                l.t("表情", "Sticker")
            } else {
                &e.title
            };
            image(o, media_at(detail, path), ctx, "msg-emotion", title);
        }
        Payload::File(f) => file(o, media_at(detail, path), &f.filename, f.filesize, ctx),
        Payload::Card(c) => card(o, "card", l.t("个人名片", "Contact card"), |o| {
            field(o, l.t("用户", "User"), &c.userid);
            field(o, l.t("企业", "Company"), &c.corpname);
        }),
        Payload::Location(p) => card(o, "location", l.t("位置", "Location"), |o| {
            o.el("strong", "card-title", &p.title);
            o.el("p", "card-text", &p.address);
            field(
                o,
                l.t("坐标", "Coordinates"),
                &format!("{:.6}, {:.6}", p.latitude, p.longitude),
            );
        }),
        Payload::Link(k) => card(o, "link", l.t("链接", "Link"), |o| {
            link_title(o, &k.title, &k.link_url);
            o.el("p", "card-text", &k.description);
            if !k.link_url.is_empty() {
                o.tag("p", "card-url").linked_text(&k.link_url).end("p");
            }
        }),
        Payload::Weapp(w) => card(o, "weapp", l.t("小程序", "Mini program"), |o| {
            o.el("strong", "card-title", &w.title);
            o.el("p", "card-text", &w.description);
            field(o, l.t("小程序", "Mini program"), &w.displayname);
            field(o, l.t("标识", "Id"), &w.username);
        }),
        Payload::ChatRecord(c) => {
            o.tag("details", "msg-chatrecord");
            o.tag("summary", "card-title")
                .text(if c.title.is_empty() {
                    l.t("聊天记录", "Chat history")
                } else {
                    &c.title
                })
                .text(&format!(" · {} ", c.items.len()))
                .text(l.t("条", "items"))
                .end("summary");
            o.tag("ol", "nested-items");
            for (i, item) in c.items.iter().enumerate() {
                o.tag("li", "nested-item");
                if item.msgtime_ms > 0 {
                    o.el(
                        "time",
                        "nested-time",
                        &ChinaTime::of_ms(item.msgtime_ms).full(),
                    );
                }
                nested(
                    o,
                    detail,
                    &item.content,
                    ctx,
                    &format!("{path}.item[{i}]"),
                    depth,
                );
                o.end("li");
            }
            o.end("ol").end("details");
        }
        Payload::Mixed(m) => {
            o.tag("div", "msg-mixed");
            for (i, item) in m.items.iter().enumerate() {
                o.tag("div", "mixed-item");
                nested(
                    o,
                    detail,
                    &item.content,
                    ctx,
                    &format!("{path}.item[{i}]"),
                    depth,
                );
                o.end("div");
            }
            o.end("div");
        }
        Payload::Todo(t) => card(o, "todo", l.t("待办", "To-do"), |o| {
            o.el("strong", "card-title", &t.title);
            o.tag("p", "card-text").linked_text(&t.content).end("p");
        }),
        Payload::Vote(v) => card(o, "vote", l.t("投票", "Vote"), |o| {
            o.el("strong", "card-title", &v.votetitle);
            o.el(
                "p",
                "card-sub",
                match v.votetype {
                    101 => l.t("发起投票", "Started a vote"),
                    102 => l.t("参与投票", "Voted"),
                    _ => "",
                },
            );
            if !v.voteitem.is_empty() {
                o.tag("ul", "vote-items");
                for item in &v.voteitem {
                    o.el("li", "vote-item", item);
                }
                o.end("ul");
            }
            field(o, l.t("投票编号", "Vote id"), &v.voteid);
        }),
        Payload::Collect(c) => card(o, "collect", l.t("填表", "Form"), |o| {
            o.el("strong", "card-title", &c.title);
            field(o, l.t("群", "Room"), &c.room_name);
            field(o, l.t("创建者", "Creator"), &c.creator);
            field(o, l.t("创建时间", "Created"), &c.create_time);
            if !c.details.is_empty() {
                o.tag("ol", "collect-items");
                for d in &c.details {
                    o.tag("li", "collect-item")
                        .text(&d.ques)
                        .raw(" ")
                        .el("span", "collect-kind", &d.kind)
                        .end("li");
                }
                o.end("ol");
            }
        }),
        Payload::RedPacket(r) => red_packet(o, r, ctx, false),
        Payload::ExternalRedPacket(r) => red_packet(o, r, ctx, true),
        Payload::Meeting(m) => card(o, "meeting", l.t("会议", "Meeting"), |o| {
            o.el("strong", "card-title", &m.topic);
            o.el(
                "p",
                "card-sub",
                match m.meetingtype {
                    101 => l.t("发起会议邀请", "Meeting invitation"),
                    102 => l.t("处理会议邀请", "Reply to an invitation"),
                    _ => "",
                },
            );
            span_of_secs(o, l.t("时间", "Time"), m.starttime, m.endtime);
            field(o, l.t("地点", "Place"), &m.address);
            field(o, l.t("备注", "Remarks"), &m.remarks);
            if let Some(status) = m.status {
                field(o, l.t("状态", "Status"), meeting_status(status, ctx));
            }
            if let Some(id) = m.meetingid {
                field(o, l.t("会议号", "Meeting id"), &id.to_string());
            }
        }),
        Payload::MeetingNotification(n) => {
            card(
                o,
                "meeting-notification",
                l.t("会议通知", "Meeting notice"),
                |o| {
                    o.tag("p", "card-text").linked_text(&n.content).end("p");
                    if let Some(id) = n.meeting_id {
                        field(o, l.t("会议号", "Meeting id"), &id.to_string());
                    }
                    field(o, l.t("类型", "Kind"), &n.notification_type.to_string());
                },
            );
        }
        Payload::DocMsg(d) => card(o, "docmsg", l.t("在线文档", "Online document"), |o| {
            link_title(o, &d.title, &d.link_url);
            field(o, l.t("创建者", "Creator"), &d.doc_creator);
            if !d.link_url.is_empty() {
                o.tag("p", "card-url").linked_text(&d.link_url).end("p");
            }
        }),
        Payload::Markdown(m) => {
            // Shown as the text it is, never as HTML.
            o.tag("div", "msg-text msg-markdown")
                .linked_text(&m.content)
                .end("div");
        }
        Payload::News(n) => card(o, "news", l.t("图文", "Article"), |o| {
            for item in &n.items {
                o.tag("div", "news-item");
                link_title(o, &item.title, &item.url);
                o.el("p", "card-text", &item.description);
                if !item.url.is_empty() {
                    o.tag("p", "card-url").linked_text(&item.url).end("p");
                }
                o.end("div");
            }
        }),
        Payload::Calendar(c) => card(o, "calendar", l.t("日程", "Event"), |o| {
            o.el("strong", "card-title", &c.title);
            span_of_secs(o, l.t("时间", "Time"), c.starttime, c.endtime);
            field(o, l.t("地点", "Place"), &c.place);
            field(o, l.t("组织者", "Organiser"), &c.creatorname);
            field(o, l.t("参与者", "Attendees"), &c.attendeename.join("、"));
            field(o, l.t("备注", "Remarks"), &c.remarks);
        }),
        Payload::MeetingVoiceCall(m) => {
            card(
                o,
                "meeting-voice-call",
                l.t("音频存档", "Call recording"),
                |o| {
                    if m.endtime > 0 {
                        field(
                            o,
                            l.t("结束时间", "Ended"),
                            &ChinaTime::of_ms(m.endtime.saturating_mul(1000)).full(),
                        );
                    }
                    call_audio(o, media_at(detail, path), ctx);
                    for d in &m.demofiledata {
                        o.tag("p", "call-share")
                            .text(l.t("共享文档 ", "Shared document "))
                            .text(&d.filename)
                            .text(" · ")
                            .text(&d.demooperator)
                            .text(&format!(" · {}", secs_span(d.starttime, d.endtime)))
                            .end("p");
                    }
                    for s in &m.sharescreendata {
                        o.tag("p", "call-share")
                            .text(l.t("共享屏幕 ", "Shared screen "))
                            .text(&s.share)
                            .text(&format!(" · {}", secs_span(s.starttime, s.endtime)))
                            .end("p");
                    }
                },
            );
        }
        Payload::VoipDocShare(d) => {
            card(
                o,
                "voip-doc-share",
                l.t("通话中共享的文档", "Document shared in a call"),
                |o| {
                    file(o, media_at(detail, path), &d.filename, d.filesize, ctx);
                },
            );
        }
        Payload::SphFeed(s) => card(o, "sphfeed", l.t("视频号", "Channels post"), |o| {
            o.el("strong", "card-title", &s.sph_name);
            o.tag("p", "card-text").linked_text(&s.feed_desc).end("p");
            field(
                o,
                l.t("类型", "Kind"),
                match s.feed_type {
                    2 => l.t("图片", "Pictures"),
                    4 => l.t("视频", "Video"),
                    9 => l.t("直播", "Live"),
                    _ => "",
                },
            );
        }),
        Payload::VoipText(v) => card(o, "voiptext", l.t("音视频通话", "Call"), |o| {
            o.el(
                "strong",
                "card-title",
                match v.invitetype {
                    1 => l.t("单人视频通话", "Video call"),
                    2 => l.t("单人语音通话", "Voice call"),
                    3 => l.t("多人视频通话", "Group video call"),
                    4 => l.t("多人语音通话", "Group voice call"),
                    _ => l.t("通话", "Call"),
                },
            );
            field(o, l.t("通话时长", "Duration"), &duration(v.callduration));
        }),
        Payload::QyDiskFile(f) => card(o, "qydiskfile", l.t("微盘文件", "WeDrive file"), |o| {
            o.el("strong", "card-title", &f.filename);
            o.el(
                "p",
                "card-sub",
                l.t("文件本身不在存档中", "The file itself is not archived"),
            );
        }),
        // Records that are not chat messages, should one reach a bubble (inside a forward).
        Payload::Revoke(_) | Payload::Agree(_) | Payload::Disagree(_) | Payload::Switch(_) => {
            o.el("p", "msg-text", payload.msgtype());
        }
        Payload::Unknown(u) => {
            // `pre.raw-json` is for message types this version does not know (the DOM contract);
            // a known type whose content could not be read, and an unknown item inside a
            // forward, show their JSON under another class.
            let message_type = detail.view.msgtype.as_deref().unwrap_or("");
            let unknown_message = depth == 0 && !wecom_model::MSGTYPES.contains(&message_type);
            let (label, class) = if unknown_message {
                (l.t("未知消息类型", "Unknown message type"), "raw-json")
            } else if depth == 0 {
                (
                    l.t("无法解析的内容", "Content that could not be read"),
                    "unread-json",
                )
            } else {
                (
                    l.t("未知类型的内容", "Content of an unknown type"),
                    "unread-json",
                )
            };
            o.el("p", "unknown-type", &format!("{label} {}", u.msgtype));
            let pretty = serde_json::to_string_pretty(&u.raw).unwrap_or_default();
            o.el("pre", class, &pretty);
        }
    }
}

/// A forwarded or mixed item.
fn nested(
    o: &mut Out,
    detail: &MessageDetail,
    payload: &Payload,
    ctx: &RenderContext,
    path: &str,
    depth: usize,
) {
    if depth >= MAX_NESTING {
        o.el(
            "p",
            "nested-too-deep",
            ctx.lang
                .t("（嵌套过深，未显示）", "(nested too deep to show)"),
        );
        return;
    }
    content(o, detail, payload, ctx, path, depth + 1);
}

fn text(o: &mut Out, detail: &MessageDetail, t: &Text, ctx: &RenderContext, depth: usize) {
    // A quoted reply (top level only: the view's link is about the message itself).
    if depth == 0
        && let Some(q) = wecom_model::parse_quote(&t.content)
    {
        o.tag("blockquote", "msg-quote");
        match &detail.view.quote_of {
            Some(msgid) => {
                let href = format!(
                    "/conversations/{}?around={}{}#m-{}",
                    url_part(&detail.view.conversation),
                    url_part(msgid),
                    ctx.corp_query(false),
                    msgid
                );
                o.open("a")
                    .attr("class", "quote-link")
                    .attr("href", &href)
                    .close();
                o.el("span", "quote-user", &q.quoted_user);
                o.el("span", "quote-text", &q.quoted_text);
                o.end("a");
            }
            None => {
                o.el("span", "quote-user", &q.quoted_user);
                o.el("span", "quote-text", &q.quoted_text);
            }
        }
        o.end("blockquote");
        o.tag("div", "msg-text").linked_text(&q.reply).end("div");
        return;
    }
    o.tag("div", "msg-text").linked_text(&t.content).end("div");
}

/// A card: a typed box with a heading.
fn card(o: &mut Out, kind: &'static str, label: &str, fill: impl FnOnce(&mut Out)) {
    o.open("div")
        .attr("class", &format!("msg-card card-{kind}"))
        .close();
    o.el("span", "card-kind", label);
    fill(o);
    o.end("div");
}

/// `label: value` when there is a value.
fn field(o: &mut Out, label: &str, value: &str) {
    if value.trim().is_empty() {
        return;
    }
    o.tag("p", "field")
        .el("span", "field-label", label)
        .raw(" ")
        .el("span", "field-value", value)
        .end("p");
}

/// A title, linked when it has an `http(s)` address.
fn link_title(o: &mut Out, title: &str, url: &str) {
    let shown = if title.is_empty() { url } else { title };
    if url.starts_with("https://") || url.starts_with("http://") {
        o.open("a")
            .attr("class", "card-title")
            .attr("href", url)
            .attr("rel", "noopener noreferrer nofollow")
            .attr("target", "_blank")
            .close()
            .text(shown)
            .end("a");
    } else {
        o.el("strong", "card-title", shown);
    }
}

fn red_packet(o: &mut Out, r: &RedPacket, ctx: &RenderContext, external: bool) {
    let l = ctx.lang;
    let label = if external {
        l.t("互通红包", "Red packet (external)")
    } else {
        l.t("红包", "Red packet")
    };
    card(o, "redpacket", label, |o| {
        o.el("strong", "card-title", &r.wish);
        o.el(
            "p",
            "card-sub",
            match r.kind {
                1 => l.t("普通红包", "Plain"),
                2 => l.t("拼手气红包", "Lucky draw"),
                3 => l.t("激励群红包", "Incentive"),
                _ => "",
            },
        );
        field(
            o,
            l.t("金额", "Amount"),
            &format!(
                "¥{}.{:02}",
                r.totalamount / 100,
                (r.totalamount % 100).abs()
            ),
        );
        field(o, l.t("个数", "Count"), &r.totalcnt.to_string());
    });
}

fn meeting_status(status: i64, ctx: &RenderContext) -> &'static str {
    let l = ctx.lang;
    match status {
        1 => l.t("参加会议", "Attending"),
        2 => l.t("拒绝会议", "Declined"),
        3 => l.t("待定", "Tentative"),
        4 => l.t("未被邀请", "Not invited"),
        5 => l.t("会议已取消", "Cancelled"),
        6 => l.t("会议已过期", "Expired"),
        7 => l.t("不在房间内", "Not in the room"),
        _ => "",
    }
}

/// A start–end span given in Unix seconds.
fn span_of_secs(o: &mut Out, label: &str, start: i64, end: i64) {
    if start > 0 {
        field(o, label, &secs_span(start, end));
    }
}

fn secs_span(start: i64, end: i64) -> String {
    let s = ChinaTime::of_ms(start.saturating_mul(1000));
    if end > 0 {
        let e = ChinaTime::of_ms(end.saturating_mul(1000));
        if e.date() == s.date() {
            format!("{} – {}", s.full(), e.hm())
        } else {
            format!("{} – {}", s.full(), e.full())
        }
    } else {
        s.full()
    }
}

/// Seconds as `1:05` or `1:02:03`.
fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

/// The state of a media object not (yet) available.
fn media_state(o: &mut Out, media: Option<&MediaRefView>, what: &str, ctx: &RenderContext) {
    let l = ctx.lang;
    let (state, text) = match media {
        None => ("none", l.t("未下载", "not downloaded")),
        Some(m) => (
            m.state.as_str(),
            match m.state.as_str() {
                "pending" => l.t("等待下载", "waiting to be downloaded"),
                "downloading" => l.t("下载中", "downloading"),
                "failed_retryable" => l.t("下载失败，将重试", "download failed, will retry"),
                "failed_permanent" => l.t("下载失败", "download failed"),
                "expired" => l.t("已过期，无法下载", "expired, cannot be downloaded"),
                "done" => l.t("已下载", "downloaded"),
                _ => l.t("状态未知", "unknown state"),
            },
        ),
    };
    o.open("span")
        .attr("class", "media-state")
        .attr("data-state", state)
        .close()
        .text(what)
        .text(" · ")
        .text(text);
    if let Some(code) = media.and_then(|m| m.error_code.as_deref()) {
        o.text(&format!(" ({code})"));
    }
    o.end("span");
}

/// The stored object's sha256, when the download is done.
fn stored(media: Option<&MediaRefView>) -> Option<&str> {
    media
        .filter(|m| m.state == "done")
        .and_then(|m| m.sha256.as_deref())
}

fn image(
    o: &mut Out,
    media: Option<&MediaRefView>,
    ctx: &RenderContext,
    class: &'static str,
    alt: &str,
) {
    let Some(sha) = stored(media) else {
        media_state(o, media, alt, ctx);
        return;
    };
    let url = ctx.media_url(sha);
    o.open("a")
        .attr("class", "image-link")
        .attr("href", &url)
        .attr("target", "_blank")
        .attr("rel", "noopener")
        .close();
    o.open("img")
        .attr("class", class)
        .attr("src", &url)
        .attr("alt", alt)
        .attr("loading", "lazy")
        .close();
    o.end("a");
}

fn voice(o: &mut Out, media: Option<&MediaRefView>, v: &Voice, ctx: &RenderContext) {
    let l = ctx.lang;
    o.tag("div", "msg-voice-box");
    match stored(media) {
        Some(sha) => {
            o.open("audio")
                .attr("class", "msg-voice")
                .attr("controls", "")
                .attr("preload", "metadata")
                .attr("src", &ctx.playable_url(sha))
                .close()
                .end("audio");
            o.open("a")
                .attr("class", "msg-download")
                .attr("href", &ctx.media_url(sha))
                .attr("download", "")
                .close()
                .text(l.t("下载原始语音", "Download the original"))
                .end("a");
        }
        None => media_state(o, media, l.t("语音", "Voice"), ctx),
    }
    if v.play_length > 0 {
        o.el("span", "play-length", &format!("{}″", v.play_length));
    }
    o.end("div");
}

fn video(o: &mut Out, media: Option<&MediaRefView>, v: &Video, ctx: &RenderContext) {
    let l = ctx.lang;
    o.tag("div", "msg-video-box");
    match stored(media) {
        Some(sha) => {
            o.open("video")
                .attr("class", "msg-video")
                .attr("controls", "")
                .attr("preload", "metadata")
                .attr("src", &ctx.media_url(sha))
                .close()
                .end("video");
        }
        None => media_state(o, media, l.t("视频", "Video"), ctx),
    }
    let mut facts = Vec::new();
    if v.play_length > 0 {
        facts.push(duration(v.play_length));
    }
    if let Some(size) = v.filesize.or(media.and_then(|m| m.size)) {
        facts.push(human_size(size));
    }
    if !facts.is_empty() {
        o.el("span", "video-facts", &facts.join(" · "));
    }
    o.end("div");
}

fn file(
    o: &mut Out,
    media: Option<&MediaRefView>,
    name: &str,
    size: Option<u64>,
    ctx: &RenderContext,
) {
    let l = ctx.lang;
    let name = if name.is_empty() {
        l.t("文件", "File")
    } else {
        name
    };
    let size = size.or(media.and_then(|m| m.size)).map(human_size);
    o.tag("div", "msg-file-box");
    match stored(media) {
        Some(sha) => {
            o.open("a")
                .attr("class", "msg-file")
                .attr("href", &ctx.media_url(sha))
                .attr("download", name)
                .close();
            o.el("span", "file-name", name);
            if let Some(s) = &size {
                o.el("span", "file-size", s);
            }
            o.end("a");
        }
        None => {
            o.el("span", "file-name", name);
            if let Some(s) = &size {
                o.el("span", "file-size", s);
            }
            media_state(o, media, l.t("文件", "File"), ctx);
        }
    }
    o.end("div");
}

/// A call recording: playable when it is AMR or SILK, else a download.
fn call_audio(o: &mut Out, media: Option<&MediaRefView>, ctx: &RenderContext) {
    let l = ctx.lang;
    let Some(sha) = stored(media) else {
        media_state(o, media, l.t("录音", "Recording"), ctx);
        return;
    };
    let content_type = media.and_then(|m| m.content_type.as_deref()).unwrap_or("");
    if matches!(content_type, "audio/amr" | "audio/silk") {
        o.open("audio")
            .attr("class", "msg-voice msg-call-audio")
            .attr("controls", "")
            .attr("preload", "metadata")
            .attr("src", &ctx.playable_url(sha))
            .close()
            .end("audio");
    } else if content_type.starts_with("audio/") {
        o.open("audio")
            .attr("class", "msg-call-audio")
            .attr("controls", "")
            .attr("preload", "metadata")
            .attr("src", &ctx.media_url(sha))
            .close()
            .end("audio");
    }
    o.open("a")
        .attr("class", "msg-download")
        .attr("href", &ctx.media_url(sha))
        .attr("download", "")
        .close()
        .text(l.t("下载录音", "Download the recording"));
    if let Some(size) = media.and_then(|m| m.size) {
        o.text(&format!(" ({})", human_size(size)));
    }
    o.end("a");
}
