//! Which conversation a record belongs to, as a key that is stored and indexed: its string form
//! (`Display`) is stable and [`ConversationKey::parse`] reads it back.
//!
//! | records | key | string |
//! |---|---|---|
//! | `roomid` non-empty (group chats) | `Room` | `room:<roomid>` |
//! | no roomid, one other party (one-to-one) | `Pair` | `pair:<a>\|<b>` (sorted, so both directions meet) |
//! | no roomid, a message to oneself | `Pair` | `pair:<a>\|<a>` |
//! | no roomid, several receivers (roomless group calls) | `Members` | `members:<a>\|<b>\|…` (sender and receivers, sorted, distinct: the same for every sender) |
//! | no roomid, empty tolist | `Solo` | `solo:<from>` |
//! | `switch` records (not messages) | `Switch` | `switch:<user>` |
//!
//! Ids are written with `%` as `%25` and `|` as `%7C` so the form stays unambiguous whatever an id
//! holds; real ids contain neither, so real keys read as plain ids.

use std::fmt;

use crate::envelope::{Action, Envelope};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConversationKey {
    Room(String),
    /// The two parties, sorted.
    Pair(String, String),
    /// Three or more parties, sorted and distinct.
    Members(Vec<String>),
    Solo(String),
    Switch(String),
}

impl ConversationKey {
    pub fn of(envelope: &Envelope) -> ConversationKey {
        if envelope.action == Action::Switch {
            return ConversationKey::Switch(envelope.from.clone());
        }
        if !envelope.roomid.is_empty() {
            return ConversationKey::Room(envelope.roomid.clone());
        }
        let receivers: Vec<&String> = envelope.tolist.iter().filter(|t| !t.is_empty()).collect();
        if receivers.is_empty() {
            return ConversationKey::Solo(envelope.from.clone());
        }
        let mut parties: Vec<String> = receivers.into_iter().cloned().collect();
        if !envelope.from.is_empty() {
            parties.push(envelope.from.clone());
        }
        parties.sort();
        parties.dedup();
        match parties.as_slice() {
            [only] => ConversationKey::Pair(only.clone(), only.clone()),
            [a, b] => ConversationKey::Pair(a.clone(), b.clone()),
            _ => ConversationKey::Members(parties),
        }
    }

    /// Group conversations: rooms and roomless multi-party ones.
    pub fn is_group(&self) -> bool {
        matches!(self, ConversationKey::Room(_) | ConversationKey::Members(_))
    }

    /// Reads the string form back; `None` if `s` is not one.
    pub fn parse(s: &str) -> Option<ConversationKey> {
        let (kind, rest) = s.split_once(':')?;
        let ids = || {
            rest.split('|')
                .map(unescape)
                .collect::<Option<Vec<String>>>()
        };
        match kind {
            "room" => Some(ConversationKey::Room(unescape(rest)?)),
            "solo" => Some(ConversationKey::Solo(unescape(rest)?)),
            "switch" => Some(ConversationKey::Switch(unescape(rest)?)),
            "pair" => match ids()?.as_slice() {
                [a, b] if a <= b => Some(ConversationKey::Pair(a.clone(), b.clone())),
                _ => None,
            },
            "members" => {
                let v = ids()?;
                (v.len() >= 3 && v.windows(2).all(|w| w[0] < w[1]))
                    .then_some(ConversationKey::Members(v))
            }
            _ => None,
        }
    }
}

impl fmt::Display for ConversationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConversationKey::Room(id) => write!(f, "room:{}", escape(id)),
            ConversationKey::Pair(a, b) => write!(f, "pair:{}|{}", escape(a), escape(b)),
            ConversationKey::Members(ids) => {
                f.write_str("members:")?;
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        f.write_str("|")?;
                    }
                    f.write_str(&escape(id))?;
                }
                Ok(())
            }
            ConversationKey::Solo(id) => write!(f, "solo:{}", escape(id)),
            ConversationKey::Switch(id) => write!(f, "switch:{}", escape(id)),
        }
    }
}

fn escape(id: &str) -> String {
    if !id.contains(['%', '|']) {
        return id.to_owned();
    }
    id.replace('%', "%25").replace('|', "%7C")
}

fn unescape(s: &str) -> Option<String> {
    if s.contains('|') {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 3)?;
        out.push(match code {
            "25" => '%',
            "7C" => '|',
            _ => return None,
        });
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Some(out)
}
