//! The words a person would search a message by: the human-written text of every payload (nested
//! items included), never ids, urls or md5s.

use std::borrow::Cow;

use serde_json::Value;

use crate::payload::Payload;
use crate::quote::parse_quote;

impl Payload {
    /// Searchable text, one part per line, empty parts left out. A quoted reply contributes its
    /// quoted user, quoted text and reply rather than the header and rule around them.
    pub fn search_text(&self) -> String {
        let mut parts: Vec<Cow<'_, str>> = Vec::new();
        collect(self, &mut parts);
        let mut out = String::new();
        for p in parts {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(p);
        }
        out
    }
}

fn collect<'a>(payload: &'a Payload, out: &mut Vec<Cow<'a, str>>) {
    let mut push = |parts: &[&'a str]| out.extend(parts.iter().map(|p| Cow::Borrowed(*p)));
    match payload {
        Payload::Text(t) => text_parts(&t.content, out),
        Payload::File(f) => push(&[&f.filename]),
        Payload::Link(l) => push(&[&l.title, &l.description]),
        Payload::Weapp(w) => push(&[&w.title, &w.description, &w.displayname]),
        Payload::Card(c) => push(&[&c.corpname]),
        Payload::Location(l) => push(&[&l.title, &l.address]),
        Payload::ChatRecord(c) => {
            push(&[&c.title]);
            for item in &c.items {
                collect(&item.content, out);
            }
        }
        Payload::Mixed(m) => {
            for item in &m.items {
                collect(&item.content, out);
            }
        }
        Payload::Meeting(m) => push(&[&m.topic, &m.address, &m.remarks]),
        Payload::Calendar(c) => {
            push(&[&c.title, &c.place, &c.remarks, &c.creatorname]);
            out.extend(c.attendeename.iter().map(|a| Cow::Borrowed(a.as_str())));
        }
        Payload::Todo(t) => push(&[&t.title, &t.content]),
        Payload::Vote(v) => {
            push(&[&v.votetitle]);
            out.extend(v.voteitem.iter().map(|i| Cow::Borrowed(i.as_str())));
        }
        Payload::Collect(c) => {
            push(&[&c.title, &c.room_name, &c.creator]);
            out.extend(c.details.iter().map(|d| Cow::Borrowed(d.ques.as_str())));
        }
        Payload::DocMsg(d) => push(&[&d.title]),
        Payload::Markdown(m) => push(&[&m.content]),
        Payload::News(n) => {
            for item in &n.items {
                out.extend([&item.title, &item.description].map(|s| Cow::Borrowed(s.as_str())));
            }
        }
        Payload::RedPacket(r) | Payload::ExternalRedPacket(r) => push(&[&r.wish]),
        Payload::SphFeed(s) => push(&[&s.sph_name, &s.feed_desc]),
        Payload::QyDiskFile(q) => push(&[&q.filename]),
        Payload::VoipDocShare(v) => push(&[&v.filename]),
        Payload::MeetingVoiceCall(m) => {
            out.extend(
                m.demofiledata
                    .iter()
                    .map(|d| Cow::Borrowed(d.filename.as_str())),
            );
        }
        Payload::MeetingNotification(m) => push(&[&m.content]),
        Payload::Emotion(e) => push(&[&e.title]),
        // Nothing was lost, so nothing should be unfindable: index the strings of what we do not
        // understand.
        Payload::Unknown(u) => strings(&u.raw, out, 0),
        Payload::Image(_)
        | Payload::Voice(_)
        | Payload::Video(_)
        | Payload::Revoke(_)
        | Payload::Agree(_)
        | Payload::Disagree(_)
        | Payload::VoipText(_)
        | Payload::Switch(_) => {}
    }
}

fn text_parts<'a>(content: &'a str, out: &mut Vec<Cow<'a, str>>) {
    match parse_quote(content) {
        Some(q) => out.extend([q.quoted_user, q.quoted_text, q.reply].map(Cow::Owned)),
        None => out.push(Cow::Borrowed(content)),
    }
}

/// Leaf strings of an unknown value (depth-limited like everything recursive here).
fn strings<'a>(v: &'a Value, out: &mut Vec<Cow<'a, str>>, depth: usize) {
    if depth > 32 {
        return;
    }
    match v {
        Value::String(s) => out.push(Cow::Borrowed(s)),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out, depth + 1)),
        Value::Object(m) => m.values().for_each(|i| strings(i, out, depth + 1)),
        _ => {}
    }
}
