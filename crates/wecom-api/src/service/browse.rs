//! The conversation list, search, directory, status, users, the audit log and sessions: each a
//! function of the state, the caller and typed parameters, doing the access checks and writing
//! the audit entries; the JSON routes and the web pages only translate HTTP to and from them.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;
use wecom_accounts::{SessionToken, hash_password, verify_password};
use wecom_search::{Filters, SearchPage, SearchRequest, Sort};
use wecom_server::CorpSnapshot;
use wecom_store::{
    AuditFilter, AuditOutcome, ConversationFilter, NewSession, NewUser, Role, Scope,
    StoreErrorKind, User, UserUpdate, blocking, validate_username,
};
use wecom_views::{PersonView, RoomView};
use wecom_wire::clock::now_ms;

use crate::access::{Caller, Visibility, corp, corps_of, visibility};
use crate::audit::{Event, cut};
use crate::auth::{decoy_hash, session_cookie};
use crate::routes::page_limit;
use crate::{
    ApiError, ApiState, AuditEntryView, AuditPage, ChainStatus, ConversationList, CorpStatus,
    CorpView, ListParams, Me, NewUserBody, PeopleList, RoomList, ScopeBody, StatusPage, UserPatch,
    UserView,
};

/// Rooms read per batch while filtering them for a reviewer.
const ROOM_BATCH: usize = 500;

// ---------------------------------------------------------------------------------------------
// Sessions

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub me: Me,
    /// The `Set-Cookie` value that holds the new session.
    pub set_cookie: String,
}

/// Signs `username` in from `address`: rate limits (per address, then per name), lockout, the
/// password (an unknown name costs what a wrong password costs), a disabled account; every
/// attempt is audited (`session.create`).
pub async fn sign_in(
    state: &ApiState,
    address: &str,
    username: &str,
    password: String,
) -> Result<SignedIn, ApiError> {
    let name = cut(username.trim());
    let audit = |outcome: AuditOutcome, username: String, reason: &'static str| SignInEvent {
        username,
        address: address.to_owned(),
        tried: name.clone(),
        reason,
        outcome,
    };
    // Rate limits first: per address, then per username, before any password is checked.
    let limited = state
        .limiter
        .attempt(&format!("addr:{address}"))
        .and_then(|()| {
            state
                .limiter
                .attempt(&format!("user:{}", name.to_ascii_lowercase()))
        });
    if let Err(wait) = limited {
        state
            .audit
            .record(audit(AuditOutcome::Denied, String::new(), "rate_limited").event())
            .await?;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many sign-in attempts; try again in {} seconds",
                wait.as_secs().max(1)
            ),
        )
        .with_retry_after(wait.as_secs()));
    }
    let now = now_ms();
    let user = {
        let (accounts, name) = (state.accounts.clone(), name.clone());
        blocking(move || accounts.user_by_name(&name)).await?
    };
    if let Some(u) = &user
        && u.is_locked(now)
    {
        state
            .audit
            .record(audit(AuditOutcome::Denied, u.username.clone(), "locked").event())
            .await?;
        return Err(locked(u, now));
    }
    // Verify off the runtime; an unknown name is verified against a decoy, so it costs the same.
    let phc = match &user {
        Some(u) => u.password_hash.clone(),
        None => match state.decoy_hash.get() {
            Some(h) => h.clone(),
            None => {
                let made = tokio::task::spawn_blocking(decoy_hash)
                    .await
                    .map_err(|e| ApiError::internal("password check failed", &e))?;
                state.decoy_hash.get_or_init(|| made).clone()
            }
        },
    };
    let password_ok =
        tokio::task::spawn_blocking(move || verify_password(&password, &phc).unwrap_or(false))
            .await
            .map_err(|e| ApiError::internal("password check failed", &e))?;
    let Some(user) = user.filter(|_| password_ok) else {
        return Err(failed_sign_in(state, &name, address, now).await?);
    };
    if user.disabled {
        state
            .audit
            .record(audit(AuditOutcome::Denied, user.username.clone(), "disabled").event())
            .await?;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "this account is disabled; ask an admin",
        ));
    }
    let token = SessionToken::generate();
    let abs_ms = i64::try_from(state.config.absolute_timeout.as_millis()).unwrap_or(i64::MAX);
    let session = NewSession {
        token_sha256: token.sha256.clone(),
        user_id: user.id,
        now_ms: now,
        expires_at_ms: now.saturating_add(abs_ms),
        address: address.to_owned(),
    };
    {
        let accounts = state.accounts.clone();
        let user_id = user.id;
        blocking(move || {
            accounts.record_login_success(user_id, now)?;
            accounts.create_session(&session)
        })
        .await?;
    }
    state
        .audit
        .record(audit(AuditOutcome::Ok, user.username.clone(), "signed_in").event())
        .await?;
    Ok(SignedIn {
        me: me_of(state, &user, now.saturating_add(abs_ms)),
        set_cookie: session_cookie(state, &token.token, state.config.absolute_timeout.as_secs()),
    })
}

/// A sign-in attempt, for the audit log.
struct SignInEvent {
    username: String,
    address: String,
    /// The name as typed.
    tried: String,
    reason: &'static str,
    outcome: AuditOutcome,
}

impl SignInEvent {
    fn event(&self) -> Event<'_> {
        Event {
            username: &self.username,
            address: &self.address,
            action: "session.create",
            corp_id: "",
            target: "",
            detail: json!({"username": &self.tried, "reason": self.reason}),
            outcome: self.outcome,
        }
    }
}

/// Counts a failed sign-in (locking the user once it has failed too often) and the answer.
async fn failed_sign_in(
    state: &ApiState,
    name: &str,
    address: &str,
    now: i64,
) -> Result<ApiError, ApiError> {
    let counted = {
        let (accounts, name, policy) = (state.accounts.clone(), name.to_owned(), state.config.lock);
        blocking(move || {
            if name.is_empty() {
                return Ok(None);
            }
            let failures = accounts.record_login_failure(&name, now, &policy)?;
            let user = accounts.user_by_name(&name)?;
            Ok(failures.zip(user))
        })
        .await?
    };
    let known = counted
        .as_ref()
        .map(|(_, u)| u.username.as_str())
        .unwrap_or("");
    state
        .audit
        .record(Event {
            username: known,
            address,
            action: "session.create",
            corp_id: "",
            target: "",
            detail: json!({"username": name, "reason": "invalid_credentials"}),
            outcome: AuditOutcome::Denied,
        })
        .await?;
    Ok(match counted {
        Some((f, user)) if f.locked_until_ms.is_some_and(|t| t > now) => locked(&user, now),
        _ => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong username or password",
        ),
    })
}

fn locked(user: &User, now: i64) -> ApiError {
    let wait_secs = user
        .locked_until_ms
        .map(|t| u64::try_from(t.saturating_sub(now) / 1000 + 1).unwrap_or(1))
        .unwrap_or(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "account_locked",
        format!(
            "too many failed sign-ins: this account is locked for {} more minute(s); try again \
             later or ask an admin to reset the password",
            wait_secs.div_ceil(60)
        ),
    )
    .with_retry_after(wait_secs)
}

fn me_of(state: &ApiState, user: &User, expires_at_ms: i64) -> Me {
    let corps = state
        .corps
        .keys()
        .filter(|c| user.role == Role::Admin || user.corps.contains(c))
        .cloned()
        .collect();
    Me {
        user: UserView::from(user),
        corps,
        session_expires_at_ms: expires_at_ms,
        idle_timeout_secs: state.config.idle_timeout.as_secs(),
    }
}

/// Ends the caller's session (audited `session.delete`); the `Set-Cookie` value that clears the
/// cookie.
pub async fn sign_out(state: &ApiState, caller: &Caller) -> Result<String, ApiError> {
    let sha = caller.session.token_sha256.clone();
    let accounts = state.accounts.clone();
    blocking(move || accounts.revoke_session(&sha)).await?;
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "session.delete",
            corp_id: "",
            target: "",
            detail: json!({}),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    Ok(session_cookie(state, "", 0))
}

/// The signed-in user, its corps and its session.
pub fn me(state: &ApiState, caller: &Caller) -> Me {
    let mut me = me_of(state, &caller.user, caller.session.expires_at_ms);
    me.corps = corps_of(state, caller)
        .into_iter()
        .map(|c| c.corp_id.clone())
        .collect();
    me
}

// ---------------------------------------------------------------------------------------------
// Conversations

/// Filters of the conversation list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The corp (needed when you may use several).
    pub corp: Option<String>,
    /// Only conversations this person (userid or external id) took part in.
    pub person: Option<String>,
    /// Only this room's conversation (roomid).
    pub room: Option<String>,
    /// `true`: only conversations with external contacts; `false`: only internal ones.
    pub external: Option<bool>,
    /// Only conversations active at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Only conversations active before this time (Unix ms).
    pub until: Option<i64>,
    /// 1 to 200 (default 50).
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

/// Conversations the caller may see, most recent activity first (audited
/// `conversation.list`).
pub async fn conversations(
    state: &ApiState,
    caller: &Caller,
    q: &ListQuery,
) -> Result<ConversationList, ApiError> {
    let corp = corp(state, caller, q.corp.as_deref())?;
    let visible = visibility(state, caller, corp).await?;
    let limit = page_limit(q.limit, 50, 200)?;
    let offset = q.offset.unwrap_or(0);
    let filter = ConversationFilter {
        any_participant: visible.participants(),
        person: q.person.clone(),
        roomid: q.room.clone(),
        external: q.external,
        active_since_ms: q.since,
        active_until_ms: q.until,
    };
    let (reader, corp_id) = (corp.reader.clone(), corp.corp_id.clone());
    let mut conversations = blocking(move || {
        wecom_views::conversation_list(reader.as_ref(), &corp_id, &filter, limit + 1, offset)
    })
    .await?;
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "conversation.list",
            corp_id: &corp.corp_id,
            target: "",
            detail: json!({
                "person": q.person, "room": q.room, "external": q.external,
                "since": q.since, "until": q.until, "offset": offset,
            }),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    let more = conversations.len() > limit;
    conversations.truncate(limit);
    Ok(ConversationList {
        next_offset: more.then(|| (offset + limit) as u64),
        conversations,
    })
}

// ---------------------------------------------------------------------------------------------
// Search

/// A search: the query language of `wecom-archive search` and its filters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The corp (needed when you may use several).
    pub corp: Option<String>,
    /// Words that must all occur (exact substrings), "quoted phrases", -exclusions, and the
    /// filters from:ID room:ID type:T after:YYYY-MM-DD before:YYYY-MM-DD (China time).
    #[serde(default)]
    pub q: String,
    /// Only this conversation (its key).
    pub conversation: Option<String>,
    /// Only messages this id sent or received.
    pub participant: Option<String>,
    /// Only messages this id sent.
    pub from: Option<String>,
    /// Only this room's messages (roomid).
    pub room: Option<String>,
    /// Only messages of this type (text, image, file, ...).
    #[serde(rename = "type")]
    pub msgtype: Option<String>,
    /// `true`: only external messages; `false`: only internal ones.
    pub external: Option<bool>,
    /// Only messages with (`true`) or without media.
    pub has_media: Option<bool>,
    /// Only recalled (`true`) or not recalled messages.
    pub recalled: Option<bool>,
    /// Only messages at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Only messages before this time (Unix ms).
    pub until: Option<i64>,
    /// `relevance` (default) or `time` (newest first).
    pub sort: Option<String>,
    /// 1 to 100 (default 20).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Exact search over what the caller may see (audited `search`, with its query).
pub async fn search(
    state: &ApiState,
    caller: &Caller,
    q: &SearchQuery,
) -> Result<SearchPage, ApiError> {
    let corp = corp(state, caller, q.corp.as_deref())?;
    let limit = page_limit(q.limit, 20, 100)?;
    let sort = match q.sort.as_deref() {
        None | Some("relevance") => Sort::Relevance,
        Some("time") => Sort::Time,
        Some(_) => return Err(ApiError::bad_request("`sort` is `relevance` or `time`")),
    };
    if let Some(t) = &q.msgtype {
        wecom_search::query::check_type(t)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string()))?;
    }
    let Some(searcher) = corp.search.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "search_unavailable",
            "search is off for this corp (`[search] enabled`), or its index could not be opened",
        ));
    };
    let visible = visibility(state, caller, corp).await?;
    let mut filters = Filters {
        conversation: q.conversation.clone(),
        participant: q.participant.clone(),
        from: q.from.clone(),
        room: q.room.clone(),
        external: q.external,
        msgtypes: q.msgtype.iter().cloned().collect(),
        has_media: q.has_media,
        recalled: q.recalled,
        since_ms: q.since,
        until_ms: q.until,
        within: None,
        conversations: None,
    };
    let request_query = q.q.clone();
    let cursor = q.cursor.clone();
    let (reader, corp_id) = (corp.reader.clone(), corp.corp_id.clone());
    let result = tokio::task::spawn_blocking(move || {
        filters.conversations = visible
            .conversations(reader.as_ref(), &corp_id)?
            .map(|c| c.as_ref().clone());
        searcher.search(&SearchRequest {
            query: request_query,
            filters,
            sort,
            limit,
            cursor,
        })
    })
    .await
    .map_err(|e| ApiError::internal("search failed", &e))?;
    let outcome = match &result {
        Ok(_) => AuditOutcome::Ok,
        Err(_) => AuditOutcome::Failed,
    };
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "search",
            corp_id: &corp.corp_id,
            target: "",
            detail: json!({
                "query": cut(&q.q),
                "conversation": q.conversation, "participant": q.participant, "from": q.from,
                "room": q.room, "type": q.msgtype, "external": q.external,
                "has_media": q.has_media, "recalled": q.recalled,
                "since": q.since, "until": q.until, "page": q.cursor.is_some(),
                "hits": result.as_ref().ok().map(|p| p.total),
            }),
            outcome,
        })
        .await?;
    Ok(result?)
}

// ---------------------------------------------------------------------------------------------
// Directory

/// The corps the caller may use, in order.
pub fn corps(state: &ApiState, caller: &Caller) -> Vec<CorpView> {
    corps_of(state, caller)
        .into_iter()
        .map(|c| CorpView {
            corp_id: c.corp_id.clone(),
            search: c.search.is_some(),
            media: c.blobs.is_some(),
        })
        .collect()
}

/// Rooms whose conversation the caller may see: named ones by name, then the others.
pub async fn rooms(
    state: &ApiState,
    caller: &Caller,
    q: &ListParams,
) -> Result<RoomList, ApiError> {
    let corp = corp(state, caller, q.corp.as_deref())?;
    let limit = page_limit(q.limit, 50, 200)?;
    let offset = q.offset.unwrap_or(0);
    let visible = visibility(state, caller, corp).await?;
    let (reader, corp_id) = (corp.reader.clone(), corp.corp_id.clone());
    let mut rooms = blocking(move || match &visible {
        Visibility::All => wecom_views::rooms(reader.as_ref(), &corp_id, limit + 1, offset),
        Visibility::Within(_) => {
            let keys: HashSet<String> = visible
                .conversations(reader.as_ref(), &corp_id)?
                .map(|c| {
                    c.iter()
                        .filter(|k| k.starts_with("room:"))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let mut seen = 0usize;
            let mut out: Vec<RoomView> = Vec::new();
            let mut at = 0usize;
            loop {
                let batch = wecom_views::rooms(reader.as_ref(), &corp_id, ROOM_BATCH, at)?;
                let n = batch.len();
                for room in batch {
                    if keys.contains(&format!("room:{}", room.roomid)) {
                        if seen >= offset && out.len() <= limit {
                            out.push(room);
                        }
                        seen += 1;
                    }
                }
                if n < ROOM_BATCH || out.len() > limit {
                    break;
                }
                at += ROOM_BATCH;
            }
            Ok(out)
        }
    })
    .await?;
    let more = rooms.len() > limit;
    rooms.truncate(limit);
    Ok(RoomList {
        rooms,
        next_offset: more.then(|| (offset + limit) as u64),
    })
}

/// People the caller may see (a reviewer: those of its scope): named ones by name, then the
/// others.
pub async fn people(
    state: &ApiState,
    caller: &Caller,
    q: &ListParams,
) -> Result<PeopleList, ApiError> {
    let corp = corp(state, caller, q.corp.as_deref())?;
    let limit = page_limit(q.limit, 50, 200)?;
    let offset = q.offset.unwrap_or(0);
    let visible = visibility(state, caller, corp).await?;
    let (reader, corp_id) = (corp.reader.clone(), corp.corp_id.clone());
    let mut people = blocking(move || match &visible {
        Visibility::All => wecom_views::people(reader.as_ref(), &corp_id, limit + 1, offset),
        Visibility::Within(scope) => {
            let mut out = Vec::new();
            for id in scope.ids.iter().skip(offset).take(limit + 1) {
                if let Some(p) = reader.person(&corp_id, id)? {
                    out.push(PersonView::from(&p));
                }
            }
            Ok(out)
        }
    })
    .await?;
    let more = people.len() > limit;
    people.truncate(limit);
    Ok(PeopleList {
        people,
        next_offset: more.then(|| (offset + limit) as u64),
    })
}

// ---------------------------------------------------------------------------------------------
// Status

/// The status of every corp the caller may use: the running daemon's figures, or, where no
/// sync runs in this process, what the archive itself says (with `not_ready` saying so).
pub async fn status(state: &ApiState, caller: &Caller) -> Result<StatusPage, ApiError> {
    let mine: Vec<_> = corps_of(state, caller).into_iter().cloned().collect();
    let snapshots = state
        .status
        .as_ref()
        .map(|o| o.snapshot())
        .unwrap_or_default();
    let mut corps = Vec::new();
    for corp in mine {
        if let Some(s) = snapshots.iter().find(|s| s.corp_id == corp.corp_id) {
            corps.push(from_snapshot(s));
            continue;
        }
        // Not run by a daemon here: what the archive itself says.
        let (reader, corp_id) = (corp.reader.clone(), corp.corp_id.clone());
        let stats = blocking(move || reader.stats(&corp_id)).await?;
        corps.push(CorpStatus {
            corp_id: corp.corp_id.clone(),
            cursor: stats.cursor_seq,
            lag_seconds: None,
            lag_records: 0,
            time_to_loss_seconds: None,
            records_total: stats.records,
            failures_by_code: stats
                .failed_by_code
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            syncs_ok: 0,
            syncs_failed: 0,
            media_by_state: Default::default(),
            media_oldest_pending_age_seconds: None,
            names: Default::default(),
            not_ready: Some("no sync runs for this corp in this process".to_owned()),
            figures_age_seconds: None,
        });
    }
    Ok(StatusPage { corps })
}

fn from_snapshot(s: &CorpSnapshot) -> CorpStatus {
    CorpStatus {
        corp_id: s.corp_id.clone(),
        cursor: s.last_seq,
        lag_seconds: s.lag_seconds,
        lag_records: s.lag_records,
        time_to_loss_seconds: s.time_to_loss_seconds,
        records_total: s.records_total,
        failures_by_code: s
            .decrypt_failures_by_code
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        syncs_ok: s.syncs_ok,
        syncs_failed: s.syncs_failed,
        media_by_state: s.media_by_state.clone(),
        media_oldest_pending_age_seconds: s.media_oldest_pending_age_seconds,
        names: s
            .names
            .iter()
            .map(|((kind, state), n)| (format!("{kind}.{state}"), *n))
            .collect(),
        not_ready: s.not_ready.clone(),
        figures_age_seconds: s.figures_age_seconds,
    }
}

/// Whether the sync runs in this process (a daemon's observer is attached): without it,
/// [`status`] has only what the archive itself records.
pub fn sync_observed(state: &ApiState) -> bool {
    state.status.is_some()
}

// ---------------------------------------------------------------------------------------------
// Users

/// Every user, by name (admins only).
pub async fn users(state: &ApiState, caller: &Caller) -> Result<Vec<UserView>, ApiError> {
    caller.require_admin()?;
    let accounts = state.accounts.clone();
    let users = blocking(move || accounts.list_users()).await?;
    Ok(users.iter().map(UserView::from).collect())
}

fn role(s: &str) -> Result<Role, ApiError> {
    s.parse::<Role>()
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Checks corps and scope against what the API serves and the role.
fn check_binding(
    state: &ApiState,
    role: Role,
    corps: &[String],
    scope: &ScopeBody,
) -> Result<(), ApiError> {
    if corps.is_empty() {
        return Err(ApiError::bad_request(
            "a user is bound to at least one corp",
        ));
    }
    if let Some(unknown) = corps.iter().find(|c| !state.corps.contains_key(*c)) {
        return Err(ApiError::bad_request(format!(
            "corp {:?} is not served here",
            cut(unknown)
        )));
    }
    let has_scope = !scope.userids.is_empty() || !scope.departments.is_empty();
    match role {
        Role::Reviewer if !has_scope => Err(ApiError::bad_request(
            "a reviewer needs a scope: `scope.userids` and/or `scope.departments`",
        )),
        Role::Admin | Role::Auditor if has_scope => Err(ApiError::bad_request(
            "only reviewers have a scope (admins and auditors see every conversation of their corps)",
        )),
        _ => Ok(()),
    }
    .and_then(|()| {
        if scope.userids.iter().any(|u| u.trim().is_empty() || u.len() > 256) {
            Err(ApiError::bad_request("a scope userid is 1 to 256 characters"))
        } else {
            Ok(())
        }
    })
}

/// Adds a user (admins only; audited `user.add`).
pub async fn create_user(
    state: &ApiState,
    caller: &Caller,
    body: NewUserBody,
) -> Result<UserView, ApiError> {
    caller.require_admin()?;
    validate_username(&body.username).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let role = role(&body.role)?;
    let corps = body
        .corps
        .clone()
        .unwrap_or_else(|| state.corps.keys().cloned().collect());
    let scope = body.scope.clone().unwrap_or_default();
    check_binding(state, role, &corps, &scope)?;
    let password = body.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::internal("hashing a password failed", &e))?
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let new = NewUser {
        username: body.username.clone(),
        password_hash: hash,
        role,
        corps: corps.clone(),
        scope: Scope {
            userids: scope.userids.clone(),
            departments: scope.departments.clone(),
        },
    };
    let accounts = state.accounts.clone();
    let created = blocking(move || accounts.create_user(&new, now_ms())).await;
    let outcome = match &created {
        Ok(_) => AuditOutcome::Ok,
        Err(_) => AuditOutcome::Failed,
    };
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "user.add",
            corp_id: "",
            target: &body.username,
            detail: json!({"role": role.as_str(), "corps": corps, "scope": scope}),
            outcome,
        })
        .await?;
    match created {
        Ok(user) => Ok(UserView::from(&user)),
        Err(e) if e.kind() == StoreErrorKind::AlreadyExists => Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "a user of that name already exists",
        )),
        Err(e) if e.kind() == StoreErrorKind::InvalidInput => {
            Err(ApiError::bad_request(e.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Changes user `username`: role, corps, scope, disabled, password (which ends every session of
/// the user). The last enabled admin cannot be disabled or demoted. Admins only; audited
/// `user.update` (`user.passwd` for a password change alone).
pub async fn update_user(
    state: &ApiState,
    caller: &Caller,
    username: &str,
    patch: UserPatch,
) -> Result<UserView, ApiError> {
    caller.require_admin()?;
    let accounts = state.accounts.clone();
    let name = username.to_owned();
    let (current, users) = blocking(move || {
        let current = accounts.user_by_name(&name)?;
        Ok((current, accounts.list_users()?))
    })
    .await?;
    let Some(current) = current else {
        return Err(ApiError::not_found("user"));
    };
    let new_role = patch.role.as_deref().map(role).transpose()?;
    let role_after = new_role.unwrap_or(current.role);
    let corps_after = patch.corps.clone().unwrap_or_else(|| current.corps.clone());
    let scope_after = patch.scope.clone().unwrap_or_else(|| ScopeBody {
        // Scopes are dropped when a reviewer becomes an admin or auditor.
        userids: if role_after == Role::Reviewer {
            current.scope.userids.clone()
        } else {
            Vec::new()
        },
        departments: if role_after == Role::Reviewer {
            current.scope.departments.clone()
        } else {
            Vec::new()
        },
    });
    check_binding(state, role_after, &corps_after, &scope_after)?;
    let disabled_after = patch.disabled.unwrap_or(current.disabled);
    let admin_after = role_after == Role::Admin && !disabled_after;
    let other_admins = users
        .iter()
        .filter(|u| u.id != current.id && u.role == Role::Admin && !u.disabled)
        .count();
    if current.role == Role::Admin && !current.disabled && !admin_after && other_admins == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "this is the last enabled admin: add another admin first",
        ));
    }
    let hash = match patch.password.clone() {
        Some(p) => Some(
            tokio::task::spawn_blocking(move || hash_password(&p))
                .await
                .map_err(|e| ApiError::internal("hashing a password failed", &e))?
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        ),
        None => None,
    };
    let update = UserUpdate {
        role: new_role,
        corps: patch.corps.clone(),
        scope: (patch.scope.is_some() || new_role.is_some()).then(|| Scope {
            userids: scope_after.userids.clone(),
            departments: scope_after.departments.clone(),
        }),
        disabled: patch.disabled,
    };
    let changes_fields = update != UserUpdate::default();
    let accounts = state.accounts.clone();
    let name = current.username.clone();
    let has_password = hash.is_some();
    let result = blocking(move || {
        let now = now_ms();
        let mut revoked = 0;
        if changes_fields {
            accounts.update_user(&name, &update, now)?;
        }
        if let Some(hash) = hash {
            revoked = accounts.set_password(&name, &hash, now)?;
        }
        let user = accounts.user_by_name(&name)?;
        Ok((user, revoked))
    })
    .await;
    let outcome = if result.is_ok() {
        AuditOutcome::Ok
    } else {
        AuditOutcome::Failed
    };
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: if has_password && !changes_fields {
                "user.passwd"
            } else {
                "user.update"
            },
            corp_id: "",
            target: &current.username,
            detail: json!({
                "role": patch.role, "corps": patch.corps, "scope": patch.scope,
                "disabled": patch.disabled, "password_changed": has_password,
                "sessions_ended": result.as_ref().ok().map(|(_, n)| *n),
            }),
            outcome,
        })
        .await?;
    match result? {
        (Some(user), _) => Ok(UserView::from(&user)),
        (None, _) => Err(ApiError::not_found("user")),
    }
}

// ---------------------------------------------------------------------------------------------
// The audit log

/// Filters of the audit log.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this account.
    pub user: Option<String>,
    /// Only this action (`session.create`, `conversation.open`, `search`, ...).
    pub action: Option<String>,
    /// Only entries at or after this time (Unix ms).
    pub since: Option<i64>,
    /// Only entries before this time (Unix ms).
    pub until: Option<i64>,
    /// Only entries after this seq (the previous page's `next_after`).
    pub after: Option<u64>,
    /// 1 to 1000 (default 100).
    pub limit: Option<usize>,
}

/// Audit log entries, oldest first (admins only). Looking is itself audited (`audit.view`).
pub async fn audit_log(
    state: &ApiState,
    caller: &Caller,
    q: &AuditQuery,
) -> Result<AuditPage, ApiError> {
    caller.require_admin()?;
    let limit = page_limit(q.limit, 100, 1000)?;
    state
        .audit
        .record(Event {
            username: &caller.user.username,
            address: &caller.address,
            action: "audit.view",
            corp_id: "",
            target: "",
            detail: json!({"user": q.user, "action": q.action, "since": q.since, "until": q.until, "after": q.after}),
            outcome: AuditOutcome::Ok,
        })
        .await?;
    let filter = AuditFilter {
        username: q.user.clone(),
        action: q.action.clone(),
        since_ms: q.since,
        until_ms: q.until,
        after_seq: q.after.unwrap_or(0),
        limit: limit + 1,
    };
    let log = state.audit.log().clone();
    let mut records = blocking(move || log.list(&filter)).await?;
    let more = records.len() > limit;
    records.truncate(limit);
    let next_after = more.then(|| records.last().map(|r| r.seq)).flatten();
    Ok(AuditPage {
        entries: records.into_iter().map(AuditEntryView::from).collect(),
        next_after,
    })
}

/// Checks the whole hash chain and names the first broken link (admins only).
pub async fn verify_audit_log(state: &ApiState, caller: &Caller) -> Result<ChainStatus, ApiError> {
    caller.require_admin()?;
    let log = state.audit.log().clone();
    let check = blocking(move || log.verify()).await?;
    Ok(ChainStatus::from(check))
}
