//! What an id says about its owner, and what a msgid suffix says about its message (reference
//! §3.1). There is no official prefix table: these are the observed shapes.

/// The kind of party an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// A userid of the archiving corp (free-form: `XuJinSheng`, `18002520162`, `zhang.wei`).
    Internal,
    /// An external_userid (`wo…`/`wm…`): a WeChat user or a member of another corp. Which of the
    /// two cannot be told from the id (use `externalcontact/get`).
    External,
    /// A group robot: an external_userid starting `wb`.
    Robot,
    Empty,
}

/// Classifies an id by shape. A prefix alone would misfile userids such as `wobbly` or `wmeng`,
/// so the id must also look generated: 20–64 characters of `[A-Za-z0-9_-]`; real external ids
/// are 32 (`wmGAgeDQAAvQeaTqWwkMTxGMkvI7OOuQ`).
pub fn classify_id(id: &str) -> IdKind {
    let id = id.trim();
    if id.is_empty() {
        return IdKind::Empty;
    }
    let generated = (20..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !generated {
        return IdKind::Internal;
    }
    match id.get(..2) {
        Some("wb") => IdKind::Robot,
        Some("wo" | "wm") => IdKind::External,
        _ => IdKind::Internal,
    }
}

/// What the msgid says about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MessageFlags {
    /// msgid ends with `_external`: an external message (with a customer or another corp).
    pub external: bool,
    /// msgid ends with `_updown_stream`: a 上下游 (upstream/downstream network) message.
    pub updown_stream: bool,
}

impl MessageFlags {
    pub fn from_msgid(msgid: &str) -> MessageFlags {
        MessageFlags {
            external: msgid.ends_with("_external"),
            updown_stream: msgid.ends_with("_updown_stream"),
        }
    }
}
