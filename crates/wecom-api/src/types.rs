//! The API's own request and response bodies (the archive's read models come from
//! `wecom-views` and `wecom-search` as they are).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use wecom_store::{AuditRecord, ChainCheck, User};
use wecom_views::{ConversationItem, PersonView, RoomView};

/// Sign-in.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub username: String,
    pub password: String,
}

/// A reviewer's scope: employees by userid and by department.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeBody {
    #[serde(default)]
    pub userids: Vec<String>,
    #[serde(default)]
    pub departments: Vec<u64>,
}

/// A user as the API shows it (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UserView {
    pub username: String,
    /// `admin`, `auditor` or `reviewer`.
    pub role: String,
    pub corps: Vec<String>,
    pub scope: ScopeBody,
    pub disabled: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub password_changed_at_ms: i64,
    pub failed_logins: u32,
    /// Sign-in is refused until then (Unix ms), when set and in the future.
    pub locked_until_ms: Option<i64>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> UserView {
        UserView {
            username: u.username.clone(),
            role: u.role.as_str().to_owned(),
            corps: u.corps.clone(),
            scope: ScopeBody {
                userids: u.scope.userids.clone(),
                departments: u.scope.departments.clone(),
            },
            disabled: u.disabled,
            created_at_ms: u.created_at_ms,
            updated_at_ms: u.updated_at_ms,
            password_changed_at_ms: u.password_changed_at_ms,
            failed_logins: u.failed_logins,
            locked_until_ms: u.locked_until_ms,
        }
    }
}

/// The signed-in user and its session.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Me {
    pub user: UserView,
    /// The corps this user may use.
    pub corps: Vec<String>,
    /// The session ends then at the latest (Unix ms).
    pub session_expires_at_ms: i64,
    /// And after this long unused.
    pub idle_timeout_secs: u64,
}

/// A corp the caller may use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorpView {
    pub corp_id: String,
    /// Search is available.
    pub search: bool,
    /// Media objects are served.
    pub media: bool,
}

/// A page of the conversation list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConversationList {
    pub conversations: Vec<ConversationItem>,
    /// The `offset` of the next page; `None` on the last.
    pub next_offset: Option<u64>,
}

/// A page of rooms.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoomList {
    pub rooms: Vec<RoomView>,
    pub next_offset: Option<u64>,
}

/// A page of people.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeopleList {
    pub people: Vec<PersonView>,
    pub next_offset: Option<u64>,
}

/// A new user.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    pub username: String,
    /// At least 12 characters.
    pub password: String,
    /// `admin`, `auditor` or `reviewer`.
    pub role: String,
    /// The corps the user is bound to (default: every corp the API serves).
    #[serde(default)]
    pub corps: Option<Vec<String>>,
    /// Reviewers: the employees whose conversations they may see.
    #[serde(default)]
    pub scope: Option<ScopeBody>,
}

/// A change to a user: each field given replaces the stored one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub role: Option<String>,
    pub corps: Option<Vec<String>>,
    pub scope: Option<ScopeBody>,
    pub disabled: Option<bool>,
    /// A new password: every session of the user ends.
    pub password: Option<String>,
}

/// One audit log entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub seq: u64,
    pub at_ms: i64,
    pub username: String,
    pub address: String,
    pub action: String,
    pub corp_id: String,
    pub target: String,
    /// What else was recorded (a search's query, what changed).
    pub detail: Value,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<AuditRecord> for AuditEntryView {
    fn from(r: AuditRecord) -> AuditEntryView {
        AuditEntryView {
            seq: r.seq,
            at_ms: r.entry.at_ms,
            detail: serde_json::from_str(&r.entry.detail).unwrap_or(Value::String(r.entry.detail)),
            username: r.entry.username,
            address: r.entry.address,
            action: r.entry.action,
            corp_id: r.entry.corp_id,
            target: r.entry.target,
            outcome: r.entry.outcome.as_str().to_owned(),
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// A page of the audit log, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    /// The `after` of the next page; `None` on the last.
    pub next_after: Option<u64>,
}

/// What checking the audit chain found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainStatus {
    pub intact: bool,
    /// Entries checked (intact chains).
    pub entries: Option<u64>,
    /// The last entry's hash (intact chains): keep it elsewhere to detect a cut-off tail.
    pub head_hash: Option<String>,
    /// The first broken link (broken chains).
    pub broken_seq: Option<u64>,
    pub reason: Option<String>,
}

impl From<ChainCheck> for ChainStatus {
    fn from(c: ChainCheck) -> ChainStatus {
        match c {
            ChainCheck::Intact { entries, head_hash } => ChainStatus {
                intact: true,
                entries: Some(entries),
                head_hash: Some(head_hash),
                broken_seq: None,
                reason: None,
            },
            ChainCheck::Broken(b) => ChainStatus {
                intact: false,
                entries: None,
                head_hash: None,
                broken_seq: Some(b.seq),
                reason: Some(b.to_string()),
            },
        }
    }
}

/// One corp's sync, media and names, as the running daemon sees them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CorpStatus {
    pub corp_id: String,
    /// The last seq committed.
    pub cursor: u64,
    /// Seconds since the corp was last caught up (`None` before the first catch-up).
    pub lag_seconds: Option<f64>,
    /// Records the last sync had to pull.
    pub lag_records: u64,
    /// Seconds until the oldest item not yet safe falls out of WeCom's retention window.
    pub time_to_loss_seconds: Option<f64>,
    pub records_total: u64,
    /// Records that could not be decrypted yet, by SDK-style code.
    pub failures_by_code: std::collections::BTreeMap<String, u64>,
    pub syncs_ok: u64,
    pub syncs_failed: u64,
    /// Media jobs by state.
    pub media_by_state: std::collections::BTreeMap<String, u64>,
    pub media_oldest_pending_age_seconds: Option<f64>,
    /// Rooms and people by naming state, keyed `room.named`, `person.unchecked`, ...
    pub names: std::collections::BTreeMap<String, u64>,
    /// Why the corp is not ready, if it is not.
    pub not_ready: Option<String>,
    /// Age of the figures above.
    pub figures_age_seconds: Option<f64>,
}

/// Every corp's status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusPage {
    pub corps: Vec<CorpStatus>,
}

/// Paging of lists.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The corp (needed when you may use several).
    pub corp: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}
