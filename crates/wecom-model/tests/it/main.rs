//! The crate's one integration-test binary: typed payloads from the reference's official examples,
//! the emulator corpus as a property source, quotes, media, conversations, identities, bad input.

mod bad_input;
mod conversation;
mod corpus;
mod fixtures;
mod media;
mod quote;

use std::fmt::Write as _;

use wecom_model::{Message, parse_envelope, understand};

/// The text of `tests/fixtures/<name>.json`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Envelope parse (which must succeed) and understanding of a record's text.
pub fn read(json: &str) -> Message {
    let envelope = parse_envelope(json.as_bytes()).expect("envelope");
    understand(&envelope)
}

/// Everything a message says, one fact per line, for snapshot tests.
pub fn render(m: &Message) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "payload: {:#?}", m.payload);
    for media in &m.media {
        let _ = writeln!(
            out,
            "media: {} {:?} .{} size={:?} md5={:?} id={}",
            media.path,
            media.kind,
            media.extension,
            media.size,
            media.md5sum,
            short(&media.sdkfileid)
        );
    }
    if let Some(r) = &m.recall_of {
        let _ = writeln!(out, "recall_of: {r}");
    }
    if let Some(q) = &m.quote {
        let _ = writeln!(out, "quote: {q:?}");
    }
    let _ = writeln!(
        out,
        "flags: external={} updown_stream={}",
        m.flags.external, m.flags.updown_stream
    );
    let _ = writeln!(out, "conversation: {}", m.conversation);
    let _ = writeln!(out, "text: {:?}", m.text);
    for w in &m.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// Long sdkfileids shortened for snapshots.
fn short(id: &str) -> String {
    if id.chars().count() <= 16 {
        id.to_owned()
    } else {
        format!("{}…", id.chars().take(12).collect::<String>())
    }
}

/// Shortens string literals longer than 100 characters in rendered output (sdkfileids, long texts)
/// so snapshots stay readable.
pub fn shorten(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len());
    let mut chars = rendered.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        let mut lit = String::new();
        let mut escaped = false;
        for d in chars.by_ref() {
            if escaped {
                escaped = false;
            } else if d == '\\' {
                escaped = true;
            } else if d == '"' {
                break;
            }
            lit.push(d);
        }
        if lit.chars().count() > 100 {
            let head: String = lit.chars().take(24).collect();
            let _ = write!(out, "\"{head}…\"");
        } else {
            let _ = write!(out, "\"{lit}\"");
        }
    }
    out
}
