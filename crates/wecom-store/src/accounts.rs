//! Accounts of the HTTP API in our own terms: users with a role, the corps they are bound to and
//! (reviewers) the employees in their scope; server-side sessions; login-failure counters for
//! lockout. Backend-neutral, like the rest of the traits.
//!
//! The store never sees a password or a session token: it keeps the PHC string a caller made
//! (Argon2id, in `wecom-accounts`) and the SHA-256 (hex) of each token.

use std::fmt;
use std::str::FromStr;

use crate::StoreError;

/// What a user may do (the API decides what each role allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Everything, users and the audit log included.
    Admin,
    /// Every conversation of its corps, raw JSON, exports.
    Auditor,
    /// Only conversations with at least one employee of its [`Scope`].
    Reviewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Auditor, Role::Reviewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Reviewer => "reviewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of the [`Role`] names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: admin, auditor or reviewer")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.chars().take(40).collect()))
    }
}

/// The employees a reviewer may see conversations of: userids and departments (resolved to
/// userids through the names data by the API). Empty for admins and auditors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub userids: Vec<String>,
    pub departments: Vec<u64>,
}

/// A user to create.
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Unique regardless of ASCII case ([`validate_username`]).
    pub username: String,
    /// A PHC string (`$argon2id$...`); never a password.
    pub password_hash: String,
    pub role: Role,
    /// The corps the user is bound to.
    pub corps: Vec<String>,
    pub scope: Scope,
}

/// A stored user.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    /// As created (lookups ignore ASCII case).
    pub username: String,
    /// The PHC string; not shown by `Debug`.
    pub password_hash: String,
    pub role: Role,
    pub corps: Vec<String>,
    pub scope: Scope,
    /// A disabled user cannot sign in, and has no live session.
    pub disabled: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub password_changed_at_ms: i64,
    /// Failed sign-ins since the last successful one.
    pub failed_logins: u32,
    /// Sign-in is refused until then (Unix ms), when set.
    pub locked_until_ms: Option<i64>,
}

impl User {
    /// Whether sign-in is refused at `now_ms` by a lockout.
    pub fn is_locked(&self, now_ms: i64) -> bool {
        self.locked_until_ms.is_some_and(|until| now_ms < until)
    }
}

/// Debug without the password hash: users end up in logs and panic messages.
impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("corps", &self.corps)
            .field("scope", &self.scope)
            .field("disabled", &self.disabled)
            .field("created_at_ms", &self.created_at_ms)
            .field("updated_at_ms", &self.updated_at_ms)
            .field("password_changed_at_ms", &self.password_changed_at_ms)
            .field("failed_logins", &self.failed_logins)
            .field("locked_until_ms", &self.locked_until_ms)
            .finish()
    }
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("corps", &self.corps)
            .field("scope", &self.scope)
            .finish()
    }
}

/// What [`Accounts::update_user`] changes: each field set replaces the stored one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    pub role: Option<Role>,
    pub corps: Option<Vec<String>>,
    pub scope: Option<Scope>,
    pub disabled: Option<bool>,
}

/// A session to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The SHA-256 (64 lowercase hex digits) of the token the client holds; never the token.
    pub token_sha256: String,
    pub user_id: i64,
    pub now_ms: i64,
    /// It ends then whatever its use (the absolute timeout).
    pub expires_at_ms: i64,
    /// Where it signed in from.
    pub address: String,
}

/// A stored session. The store records; the caller decides what is live (not revoked, before
/// `expires_at_ms`, seen within its idle timeout, its user enabled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_sha256: String,
    pub user_id: i64,
    pub created_at_ms: i64,
    pub last_seen_ms: i64,
    pub expires_at_ms: i64,
    pub address: String,
    pub revoked: bool,
}

/// When repeated failed sign-ins lock a user out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    /// From this many consecutive failures on, each failure locks the user.
    pub max_failures: u32,
    /// For this long after that failure.
    pub lock_ms: i64,
}

/// A user's failure counters after [`Accounts::record_login_failure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailures {
    pub failed_logins: u32,
    pub locked_until_ms: Option<i64>,
}

/// Longest username accepted.
pub const MAX_USERNAME_CHARS: usize = 64;

/// Checks a username: 1 to [`MAX_USERNAME_CHARS`] characters, ASCII letters, digits and
/// `.`, `_`, `-`, `@`, so it is safe to show anywhere and ASCII case-folding makes it unique.
pub fn validate_username(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_USERNAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidInput {
            op: "checking a username",
            cause: format!(
                "a username is 1 to {MAX_USERNAME_CHARS} ASCII letters, digits, '.', '_', '-' \
                 or '@'"
            ),
        })
    }
}

/// Checks that `hash` is the hex form of a SHA-256 (64 lowercase hex digits): a token itself
/// must never be stored.
pub fn validate_token_sha256(hash: &str) -> Result<(), StoreError> {
    if hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(StoreError::InvalidInput {
            op: "checking a session key",
            cause: "a session is stored under the SHA-256 of its token (64 lowercase hex digits)"
                .to_owned(),
        })
    }
}

/// Reading users and sessions: what a read-only open of the archive can do too
/// ([`crate::open_accounts_reader`]). `Send + Sync`.
pub trait AccountsReader: Send + Sync {
    /// The user of that name, in any ASCII case.
    fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError>;

    fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError>;

    /// Every user, by name.
    fn list_users(&self) -> Result<Vec<User>, StoreError>;

    /// The session stored under `token_sha256` with its user, whatever its state (revoked and
    /// expired ones included: the caller decides).
    fn session(&self, token_sha256: &str) -> Result<Option<(Session, User)>, StoreError>;
}

/// Users and sessions: the reads of [`AccountsReader`] and every change, each one transaction.
/// `Send + Sync`.
pub trait Accounts: AccountsReader {
    /// Creates a user. A name already taken, in any ASCII case, is
    /// [`StoreErrorKind::AlreadyExists`](crate::StoreErrorKind::AlreadyExists); a name that
    /// fails [`validate_username`] or an empty hash is `InvalidInput`.
    fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<User, StoreError>;

    /// Changes what `update` sets; disabling also revokes every session of the user, in the same
    /// transaction. An unknown name is `NotFound`.
    fn update_user(
        &self,
        username: &str,
        update: &UserUpdate,
        now_ms: i64,
    ) -> Result<User, StoreError>;

    /// Replaces the password hash and revokes every session of the user in the same transaction
    /// (sign-out everywhere on a password change); clears the failure counters. Returns how many
    /// sessions it revoked. An unknown name is `NotFound`.
    fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError>;

    /// Counts a failed sign-in of `username` and, from `policy.max_failures` on, locks the user
    /// until `now_ms + policy.lock_ms`. `None` for an unknown name (nothing is recorded).
    fn record_login_failure(
        &self,
        username: &str,
        now_ms: i64,
        policy: &LockPolicy,
    ) -> Result<Option<LoginFailures>, StoreError>;

    /// A successful sign-in: the failure counter and any lock are cleared.
    fn record_login_success(&self, user_id: i64, now_ms: i64) -> Result<(), StoreError>;

    /// Records a session. A key that is not a SHA-256 hex is `InvalidInput`, an unknown user or
    /// a key already stored `Conflict`.
    fn create_session(&self, session: &NewSession) -> Result<(), StoreError>;

    /// Moves the session's `last_seen_ms` to `now_ms` (never back). False if no such session.
    fn touch_session(&self, token_sha256: &str, now_ms: i64) -> Result<bool, StoreError>;

    /// Revokes one session (sign-out). False if no such session.
    fn revoke_session(&self, token_sha256: &str) -> Result<bool, StoreError>;

    /// Revokes every live session of the user; returns how many.
    fn revoke_user_sessions(&self, user_id: i64) -> Result<u64, StoreError>;
}
