//! Who may see what, decided in one place.
//!
//! - An **admin** sees every corp the API serves, and manages users and the audit log.
//! - An **auditor** sees every conversation of the corps it is bound to, and raw JSON.
//! - A **reviewer** sees, in the corps it is bound to, only the conversations with at least one
//!   participant among the employees of its scope: its userids, and the members of its
//!   departments as the names data records them (user/get's `department`).
//!
//! A corp, conversation, message, media object or search hit the caller may not see is answered
//! like one that does not exist. A reviewer's resolved scope (ids, and the conversations they
//! take part in) is cached for [`SCOPE_TTL`] and recomputed at once when the user changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use wecom_store::{ArchiveReader, Role, Session, StoreError, User, blocking};

use crate::{ApiCorp, ApiError, ApiState};

/// How long a reviewer's resolved scope is reused.
pub const SCOPE_TTL: Duration = Duration::from_secs(30);

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub session: Session,
    /// The client's address.
    pub address: String,
}

impl Caller {
    pub fn role(&self) -> Role {
        self.user.role
    }

    /// Admins only.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.user.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden("only an admin may do this"))
        }
    }

    /// Admins and auditors.
    pub fn require_auditor(&self) -> Result<(), ApiError> {
        if matches!(self.user.role, Role::Admin | Role::Auditor) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "only an auditor or an admin may do this",
            ))
        }
    }

    /// Whether the caller may use `corp_id` at all.
    pub fn bound_to(&self, corp_id: &str) -> bool {
        self.user.role == Role::Admin || self.user.corps.iter().any(|c| c == corp_id)
    }
}

/// The corps `caller` may use, in order.
pub(crate) fn corps_of<'s>(state: &'s ApiState, caller: &Caller) -> Vec<&'s ApiCorp> {
    state
        .corps
        .values()
        .filter(|c| caller.bound_to(&c.corp_id))
        .collect()
}

/// The corp a request is about: `corp` when given (404 when the caller may not use it), else the
/// caller's only corp (400 `corp_required` when it has several).
pub(crate) fn corp<'s>(
    state: &'s ApiState,
    caller: &Caller,
    corp: Option<&str>,
) -> Result<&'s ApiCorp, ApiError> {
    match corp {
        Some(id) => state
            .corps
            .get(id)
            .filter(|c| caller.bound_to(&c.corp_id))
            .ok_or_else(|| ApiError::not_found("corp")),
        None => {
            let mine = corps_of(state, caller);
            match mine.as_slice() {
                [one] => Ok(one),
                [] => Err(ApiError::not_found("corp")),
                _ => Err(ApiError::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    "corp_required",
                    "you may use several corps: say which with `corp=<corp id>`",
                )),
            }
        }
    }
}

/// What the caller may see of one corp.
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Every conversation.
    All,
    /// Only conversations with one of these participants.
    Within(Arc<ResolvedScope>),
}

/// A reviewer's scope in one corp, resolved.
#[derive(Debug)]
pub struct ResolvedScope {
    /// Its userids and the members of its departments, ascending, distinct.
    pub ids: Vec<String>,
    /// Every conversation with one of `ids`, computed when first needed (search).
    conversations: OnceLock<Arc<Vec<String>>>,
}

impl ResolvedScope {
    pub fn new(ids: Vec<String>) -> ResolvedScope {
        ResolvedScope {
            ids,
            conversations: OnceLock::new(),
        }
    }
}

impl Visibility {
    /// Whether the caller may see conversation `key` (blocking).
    pub fn sees_conversation(
        &self,
        reader: &dyn ArchiveReader,
        corp_id: &str,
        key: &str,
    ) -> Result<bool, StoreError> {
        match self {
            Visibility::All => Ok(true),
            Visibility::Within(scope) => reader.conversation_involves(corp_id, key, &scope.ids),
        }
    }

    /// The conversations the caller may see, `None` for all (blocking).
    pub fn conversations(
        &self,
        reader: &dyn ArchiveReader,
        corp_id: &str,
    ) -> Result<Option<Arc<Vec<String>>>, StoreError> {
        match self {
            Visibility::All => Ok(None),
            Visibility::Within(scope) => {
                if let Some(c) = scope.conversations.get() {
                    return Ok(Some(c.clone()));
                }
                let list = Arc::new(reader.conversations_involving(corp_id, &scope.ids)?);
                Ok(Some(scope.conversations.get_or_init(|| list).clone()))
            }
        }
    }

    /// The participant filter of a conversation listing: `None` for all.
    pub fn participants(&self) -> Option<Vec<String>> {
        match self {
            Visibility::All => None,
            Visibility::Within(scope) => Some(scope.ids.clone()),
        }
    }
}

/// Reviewers' resolved scopes, per user and corp.
#[derive(Default)]
pub struct ScopeCache {
    entries: Mutex<HashMap<(i64, String), CachedScope>>,
}

struct CachedScope {
    at: Instant,
    /// The user's `updated_at_ms` it was resolved for: any change of the user resolves again.
    user_version: i64,
    scope: Arc<ResolvedScope>,
}

/// What `caller` may see of `corp`.
pub(crate) async fn visibility(
    state: &ApiState,
    caller: &Caller,
    corp: &ApiCorp,
) -> Result<Visibility, ApiError> {
    if caller.user.role != Role::Reviewer {
        return Ok(Visibility::All);
    }
    let key = (caller.user.id, corp.corp_id.clone());
    {
        let entries = state
            .scopes
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = entries.get(&key)
            && c.at.elapsed() < SCOPE_TTL
            && c.user_version == caller.user.updated_at_ms
        {
            return Ok(Visibility::Within(c.scope.clone()));
        }
    }
    let (reader, corp_id, scope) = (
        corp.reader.clone(),
        corp.corp_id.clone(),
        caller.user.scope.clone(),
    );
    let ids = blocking(move || {
        let mut ids = scope.userids.clone();
        if !scope.departments.is_empty() {
            ids.extend(reader.department_members(&corp_id, &scope.departments)?);
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    })
    .await?;
    let scope = Arc::new(ResolvedScope::new(ids));
    let mut entries = state
        .scopes
        .entries
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if entries.len() > 10_000 {
        entries.retain(|_, c| c.at.elapsed() < SCOPE_TTL);
    }
    entries.insert(
        key,
        CachedScope {
            at: Instant::now(),
            user_version: caller.user.updated_at_ms,
            scope: scope.clone(),
        },
    );
    Ok(Visibility::Within(scope))
}
