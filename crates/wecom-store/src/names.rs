//! Names for rooms and people, the archive scope and consent, in our own terms. Backend-neutral,
//! like the rest of the trait.
//!
//! The ids come from the archived messages (`from`, `tolist`, `roomid`), read from the change feed
//! ([`Discovery::from_messages`], recorded with [`crate::Directory::record_discovered`]); the store keeps one entry per id with a [`NameState`] and
//! the time it is next due to be (re)checked. What the resolver learned is recorded per id, in one
//! transaction each; a room's earlier names are kept as its history.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use crate::StoredMessage;

/// The ids found in a run of messages of the change feed, for
/// [`crate::Directory::record_discovered`]. A rule of the archive, not of a backend: every store
/// records what this finds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    /// How many messages it was made from.
    pub messages: u64,
    /// Every non-empty roomid.
    pub rooms: BTreeSet<String>,
    /// The rooms among them with an external sender or recipient.
    pub rooms_with_external: BTreeSet<String>,
    /// Every non-empty id in `from` and `tolist`, with its kind by shape.
    pub people: BTreeMap<String, PartyKind>,
}

impl Discovery {
    /// The ids of `messages`.
    pub fn from_messages(messages: &[StoredMessage]) -> Discovery {
        let mut found = Discovery {
            messages: messages.len() as u64,
            ..Discovery::default()
        };
        for m in messages {
            let ids = std::iter::once(m.from.as_str()).chain(m.tolist.iter().map(String::as_str));
            let mut external = false;
            for id in ids {
                if let Some(kind) = PartyKind::of(id) {
                    external |= kind == PartyKind::External;
                    found.people.entry(id.to_owned()).or_insert(kind);
                }
            }
            if PartyKind::of(&m.roomid).is_some() {
                found.rooms.insert(m.roomid.clone());
                if external {
                    found.rooms_with_external.insert(m.roomid.clone());
                }
            }
        }
        found
    }
}

/// Who an id belongs to (by its shape: reference §3.1, [`wecom_model::classify_id`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PartyKind {
    /// A userid of the archiving corp.
    Internal,
    /// An external_userid (`wm…`/`wo…`): a WeChat user or a member of another corp.
    External,
    /// A group robot (`wb…`).
    Robot,
}

impl PartyKind {
    pub const ALL: [PartyKind; 3] = [PartyKind::Internal, PartyKind::External, PartyKind::Robot];

    /// The kind of a non-empty id; `None` for an empty one.
    pub fn of(id: &str) -> Option<PartyKind> {
        match wecom_model::classify_id(id) {
            wecom_model::IdKind::Internal => Some(PartyKind::Internal),
            wecom_model::IdKind::External => Some(PartyKind::External),
            wecom_model::IdKind::Robot => Some(PartyKind::Robot),
            wecom_model::IdKind::Empty => None,
        }
    }

    /// A stable lowercase name, for storage and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            PartyKind::Internal => "internal",
            PartyKind::External => "external",
            PartyKind::Robot => "robot",
        }
    }
}

/// What a room is, once an API answered for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoomKind {
    /// An internal group (`msgaudit/groupchat/get`).
    Internal,
    /// A customer group (`externalcontact/groupchat/get`).
    Customer,
}

impl RoomKind {
    pub const ALL: [RoomKind; 2] = [RoomKind::Internal, RoomKind::Customer];

    pub fn as_str(self) -> &'static str {
        match self {
            RoomKind::Internal => "internal",
            RoomKind::Customer => "customer",
        }
    }
}

/// Where the naming of one id stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NameState {
    /// Discovered, never checked.
    Pending,
    /// An API named it; refreshed when due.
    Named,
    /// The APIs answered that they cannot name it (a room created from WeChat, a contact nobody
    /// has any more, a secret that is not configured); checked again rarely.
    Unresolvable,
    /// Checking failed for a passing reason (network, rate limit, busy) before it was ever named;
    /// due again soon.
    Failed,
}

impl NameState {
    pub const ALL: [NameState; 4] = [
        NameState::Pending,
        NameState::Named,
        NameState::Unresolvable,
        NameState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NameState::Pending => "pending",
            NameState::Named => "named",
            NameState::Unresolvable => "unresolvable",
            NameState::Failed => "failed",
        }
    }
}

macro_rules! text_enum {
    ($ty:ident, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName {
                        what: $what,
                        value: s.chars().take(40).collect(),
                    })
            }
        }
    };
}

text_enum!(PartyKind, "party kind");
text_enum!(RoomKind, "room kind");
text_enum!(NameState, "name state");

/// A stored label that is not one of the enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
}

/// One room of the archive and what is known about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEntry {
    pub roomid: String,
    pub state: NameState,
    /// Set once an API answered for the room.
    pub kind: Option<RoomKind>,
    /// The current name; kept when a later check fails or finds the room unresolvable.
    pub name: Option<String>,
    /// Owner (customer groups) or creator (internal groups).
    pub owner: String,
    /// Creation time, UTC seconds.
    pub created_at: Option<i64>,
    pub notice: String,
    pub member_count: u64,
    /// The errcode of the last failed or unresolvable check (`None` when it was not an API error).
    pub errcode: Option<i64>,
    /// Why the last check did not name the room.
    pub error: Option<String>,
    /// Consecutive checks that did not name the room (0 after a success).
    pub attempts: u32,
    pub first_seen_ms: i64,
    pub checked_at_ms: Option<i64>,
    pub next_check_ms: i64,
    /// Decrypted messages with this roomid.
    pub messages: u64,
}

/// A member of a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomMember {
    pub id: String,
    pub kind: PartyKind,
    /// UTC seconds.
    pub join_time: Option<i64>,
    /// Customer groups: 1 invited directly, 2 invited by link, 3 scanned the QR code.
    pub join_scene: Option<u8>,
    pub inviter: Option<String>,
    /// The member's nickname in this room (customer groups).
    pub group_nickname: String,
    /// The member's name as the room API reported it (customer groups, `need_name`).
    pub name: String,
    pub is_admin: bool,
}

/// What an API said about a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomInfo {
    pub kind: RoomKind,
    pub name: String,
    pub owner: String,
    pub created_at: Option<i64>,
    pub notice: String,
    pub members: Vec<RoomMember>,
}

/// The outcome of checking one id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution<T> {
    Named(T),
    /// The APIs cannot name it (see [`NameState::Unresolvable`]).
    Unresolvable {
        errcode: Option<i64>,
        reason: String,
    },
    /// A passing failure (see [`NameState::Failed`]).
    Failed {
        errcode: Option<i64>,
        reason: String,
    },
}

pub type RoomResolution = Resolution<RoomInfo>;
pub type PersonResolution = Resolution<PersonInfo>;

/// One name a room had, and when the archive first saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomNameChange {
    pub name: String,
    pub observed_at_ms: i64,
}

/// A room with its members and name history (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomDetail {
    pub entry: RoomEntry,
    pub members: Vec<RoomMember>,
    pub history: Vec<RoomNameChange>,
}

/// One person (or robot) of the archive and what is known about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonEntry {
    pub id: String,
    pub kind: PartyKind,
    pub state: NameState,
    pub name: Option<String>,
    /// External contacts of another corp: that corp's name.
    pub corp_name: String,
    pub position: String,
    /// External contacts: 1 WeChat user, 2 WeCom user.
    pub external_type: Option<u8>,
    /// Robots: who created it.
    pub creator: String,
    pub errcode: Option<i64>,
    pub error: Option<String>,
    pub attempts: u32,
    pub first_seen_ms: i64,
    pub checked_at_ms: Option<i64>,
    pub next_check_ms: i64,
    /// Employees: the departments the directory last reported, ascending; empty when unknown
    /// (never named, not an employee, or none reported).
    pub departments: Vec<u64>,
}

/// What an API said about a person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonInfo {
    pub name: String,
    pub corp_name: String,
    pub position: String,
    pub external_type: Option<u8>,
    pub creator: String,
    /// Employees: their department ids (`user/get`'s `department`). Recorded as given (sorted,
    /// each once), replacing the earlier list whenever the person is named.
    pub departments: Vec<u64>,
}

/// Counts over the corp's names, from one consistent snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NameStats {
    pub rooms_total: u64,
    pub rooms_named: u64,
    pub rooms_unresolvable: u64,
    /// Pending or failed.
    pub rooms_unchecked: u64,
    pub people_total: u64,
    pub people_named: u64,
    pub people_unresolvable: u64,
    /// Pending or failed.
    pub people_unchecked: u64,
    /// Userids currently in the archive scope (the last permit list).
    pub permit_users: u64,
    /// Consent statuses on record, by status.
    pub consent_agree: u64,
    pub consent_disagree: u64,
}

/// What one [`crate::Directory::record_discovered`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiscoverStats {
    /// Messages looked at ([`Discovery::messages`]).
    pub scanned: u64,
    pub rooms_new: u64,
    pub people_new: u64,
}

/// A userid and its place in the archive scope (`msgaudit/get_permit_user_list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermitUser {
    pub userid: String,
    /// In the latest list.
    pub in_scope: bool,
    /// First list that had them.
    pub first_seen_ms: i64,
    /// Latest list that had them.
    pub last_seen_ms: i64,
}

/// What [`crate::Directory::record_permit_users`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PermitChange {
    /// Userids new to the scope (or back in it).
    pub added: u64,
    /// Userids no longer in the scope.
    pub removed: u64,
}

/// Whether an external contact agreed to be archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConsentStatus {
    Agree,
    Disagree,
}

impl ConsentStatus {
    pub const ALL: [ConsentStatus; 2] = [ConsentStatus::Agree, ConsentStatus::Disagree];

    /// WeCom's spelling (`agree_status`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::Agree => "Agree",
            ConsentStatus::Disagree => "Disagree",
        }
    }
}

text_enum!(ConsentStatus, "consent status");

/// What a consent check is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConsentSubject {
    /// A one-to-one conversation of an employee with an external contact (`check_single_agree`).
    Pair {
        userid: String,
        external_userid: String,
    },
    /// A room with external members (`check_room_agree`).
    Room { roomid: String },
}

/// One consent status as WeCom reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub subject: ConsentSubject,
    /// The contact who agreed or not (for a pair, its `external_userid`).
    pub external_userid: String,
    pub status: ConsentStatus,
    /// When the status last changed, UTC seconds.
    pub status_change_time: i64,
    /// When the archive asked.
    pub checked_at_ms: i64,
}

/// Consent subjects due for a check ([`crate::Directory::due_consent_checks`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentDue {
    pub subjects: Vec<ConsentSubject>,
}

/// How an id is shown to a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName {
    pub id: String,
    pub text: String,
    pub source: DisplaySource,
}

/// Where a [`DisplayName`] came from, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DisplaySource {
    /// The person's (or room's) own name from an API.
    Directory,
    /// The member's nickname in the room the message was sent in.
    RoomNickname,
    /// The member's name as a room API reported it.
    RoomMemberName,
    /// Nothing known: the id with its kind, e.g. `wmEAlECw… (external)` — see
    /// [`fallback_label`].
    Id,
}

/// The last-resort label of an id: its kind and the id itself.
pub fn fallback_label(id: &str) -> String {
    match PartyKind::of(id) {
        Some(PartyKind::Internal) => format!("{id} (internal)"),
        Some(PartyKind::External) => format!("{id} (external)"),
        Some(PartyKind::Robot) => format!("{id} (robot)"),
        None => "(empty id)".to_owned(),
    }
}
