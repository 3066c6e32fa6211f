//! Accounts and the audit log on PostgreSQL: users, sessions under their token's SHA-256, and the
//! hash-chained `audit_log`, whose rows triggers keep from any UPDATE, DELETE or TRUNCATE.
//!
//! Usernames compare as SQLite's `COLLATE NOCASE` has them: folding A–Z only. PostgreSQL's
//! `lower()` folds more than that (U+0130 `İ` and the Kelvin sign `K` fold to `i` and `k`; a
//! Turkish locale can fold `I` to `ı`), so the unique index, the lookups and the audit filter use
//! the `translate` expression of `ascii_fold!` instead, whatever the database's locale.
//!
//! Appends to the audit log take a transaction-scoped advisory lock keyed on the `audit_log` table
//! before reading the head: appends of every node queue on it, so the chain stays linear, while
//! readers (lists, verification) go on. Not `LOCK TABLE … IN EXCLUSIVE MODE`, which would also
//! conflict with the SHARE UPDATE EXCLUSIVE lock of (auto)vacuum and analyze: appends would stall
//! behind them until the deadlock timeout cancels them, and vacuum of the log would rarely finish.
//! Each statement is sent with its parameter types (`query_typed`): one round trip, no statement
//! prepared beforehand.

use postgres::types::{ToSql, Type};
use postgres::{Row, Transaction};

use super::{PgStore, TxError, pg_text};
use crate::StoreError;
use crate::accounts::{
    Accounts, AccountsReader, LockPolicy, LoginFailures, NewSession, NewUser, Scope, Session, User,
    UserUpdate, validate_token_sha256, validate_username,
};
use crate::audit::{
    AuditEntry, AuditFilter, AuditLog, AuditOutcome, AuditReader, AuditRecord, ChainCheck,
    ChainVerifier, GENESIS_HASH, chain_hash, validate_entry,
};

/// The ASCII case fold of a text column, as SQLite's `NOCASE` (A–Z to a–z, every other character
/// as it is). The indexes `users_username` and `audit_log_user` (0001_archive.sql) are on exactly
/// this expression, so queries written with it use them.
macro_rules! ascii_fold {
    ($column:literal) => {
        concat!(
            "translate(",
            $column,
            ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
        )
    };
}

macro_rules! user_columns {
    () => {
        "u.id, u.username, u.password_hash, u.role, u.corps, u.scope_userids, \
         u.scope_departments, u.disabled, u.created_at_ms, u.updated_at_ms, \
         u.password_changed_at_ms, u.failed_logins, u.locked_until_ms"
    };
}

macro_rules! audit_columns {
    () => {
        "seq, at_ms, username, address, action, corp_id, target, detail, outcome, prev_hash, hash"
    };
}

const USER_BY_NAME: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE ",
    ascii_fold!("u.username"),
    " = $1"
);

const USER_BY_NAME_FOR_UPDATE: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u WHERE ",
    ascii_fold!("u.username"),
    " = $1 FOR UPDATE"
);

const USER_BY_ID: &str = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1");

/// By name as SQLite orders its NOCASE column: the folded bytes.
const LIST_USERS: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users u ORDER BY ",
    ascii_fold!("u.username"),
    " COLLATE \"C\", u.id"
);

const SESSION: &str = concat!(
    "SELECT s.token_sha256, s.user_id, s.created_at_ms, s.last_seen_ms, s.expires_at_ms, \
     s.address, s.revoked, ",
    user_columns!(),
    " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = $1"
);

/// Inserts a user unless its folded name is taken (then no row comes back).
const INSERT_USER: &str = concat!(
    "INSERT INTO users AS u (username, password_hash, role, corps, scope_userids, \
     scope_departments, disabled, created_at_ms, updated_at_ms, password_changed_at_ms, \
     failed_logins, locked_until_ms) \
     VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7, $7, $7, 0, NULL) \
     ON CONFLICT ((",
    ascii_fold!("username"),
    ")) DO NOTHING RETURNING ",
    user_columns!()
);

/// Revokes every live session of the user.
const REVOKE_ALL: &str = "UPDATE sessions SET revoked = TRUE WHERE user_id = $1 AND NOT revoked";

/// The first key of the advisory lock appends take ("audt" in ASCII); the second is the OID of
/// this archive's `audit_log`, so archives in other schemas of the database never wait on it.
const AUDIT_LOCK: i32 = 0x6175_6474;

const LOCK_AUDIT_LOG: &str = "SELECT pg_advisory_xact_lock($1, 'audit_log'::regclass::oid::int4)";

const AUDIT_HEAD: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";

const AUDIT_INSERT: &str = concat!(
    "INSERT INTO audit_log (",
    audit_columns!(),
    ") SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], \
     $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])"
);

const AUDIT_ALL: &str = concat!("SELECT ", audit_columns!(), " FROM audit_log ORDER BY seq");

/// How many rows `verify` fetches at a time: the log is never held whole in memory.
const VERIFY_BATCH: i32 = 1000;

/// The key a username is looked up by: hostile text as PostgreSQL can take it (a NUL, which
/// no stored name has, becomes U+2400), folded as the index is.
fn name_key(username: &str) -> String {
    pg_text(username).to_ascii_lowercase()
}

fn to_json(value: impl Into<serde_json::Value>) -> String {
    value.into().to_string()
}

fn not_found(op: &'static str, username: &str) -> StoreError {
    StoreError::NotFound {
        op,
        cause: format!("no user {username:?}"),
    }
}

/// The arrays kept as JSON text (serde's traits without naming serde, which this crate reaches
/// only through serde_json).
trait JsonArray: Sized {
    fn from_json(text: &str) -> serde_json::Result<Self>;
}

impl JsonArray for Vec<String> {
    fn from_json(text: &str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }
}

impl JsonArray for Vec<u64> {
    fn from_json(text: &str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }
}

/// Reads rows into values, naming a stored value this build cannot read as damage.
struct Rows<'a> {
    target: &'a str,
    op: &'static str,
}

impl Rows<'_> {
    fn damaged(&self, row: &Row, i: usize, cause: impl std::fmt::Display) -> TxError {
        let column = row.columns().get(i).map_or("?", |c| c.name());
        TxError::Store(StoreError::Corrupt {
            path: std::path::PathBuf::from(self.target),
            op: self.op,
            cause: format!("column {column} holds a value this build cannot read: {cause}"),
        })
    }

    fn parsed<T: std::str::FromStr>(&self, row: &Row, i: usize) -> Result<T, TxError>
    where
        T::Err: std::fmt::Display,
    {
        let text: String = row.try_get(i)?;
        text.parse().map_err(|e| self.damaged(row, i, e))
    }

    /// A JSON array column (of strings or of integers).
    fn json<T: JsonArray>(&self, row: &Row, i: usize) -> Result<T, TxError> {
        let text: String = row.try_get(i)?;
        T::from_json(&text).map_err(|e| self.damaged(row, i, e))
    }

    /// A user from `user_columns!()` starting at column `at`.
    fn user(&self, row: &Row, at: usize) -> Result<User, TxError> {
        let failed_logins: i64 = row.try_get(at + 11)?;
        Ok(User {
            id: row.try_get(at)?,
            username: row.try_get(at + 1)?,
            password_hash: row.try_get(at + 2)?,
            role: self.parsed(row, at + 3)?,
            corps: self.json(row, at + 4)?,
            scope: Scope {
                userids: self.json(row, at + 5)?,
                departments: self.json(row, at + 6)?,
            },
            disabled: row.try_get(at + 7)?,
            created_at_ms: row.try_get(at + 8)?,
            updated_at_ms: row.try_get(at + 9)?,
            password_changed_at_ms: row.try_get(at + 10)?,
            failed_logins: u32::try_from(failed_logins.max(0)).unwrap_or(u32::MAX),
            locked_until_ms: row.try_get(at + 12)?,
        })
    }

    fn users(&self, rows: &[Row]) -> Result<Vec<User>, TxError> {
        rows.iter().map(|row| self.user(row, 0)).collect()
    }

    /// An audit record from `audit_columns!()`.
    fn audit(&self, row: &Row) -> Result<AuditRecord, TxError> {
        let seq: i64 = row.try_get(0)?;
        Ok(AuditRecord {
            seq: u64::try_from(seq).unwrap_or_default(),
            entry: AuditEntry {
                at_ms: row.try_get(1)?,
                username: row.try_get(2)?,
                address: row.try_get(3)?,
                action: row.try_get(4)?,
                corp_id: row.try_get(5)?,
                target: row.try_get(6)?,
                detail: row.try_get(7)?,
                outcome: self.parsed::<AuditOutcome>(row, 8)?,
            },
            prev_hash: row.try_get(9)?,
            hash: row.try_get(10)?,
        })
    }
}

impl PgStore {
    fn rows(&self, op: &'static str) -> Rows<'_> {
        Rows {
            target: &self.target,
            op,
        }
    }
}

/// The user of that name (any ASCII case), its row locked until the transaction ends when `lock`.
fn select_user(
    rows: &Rows<'_>,
    tx: &mut Transaction<'_>,
    username: &str,
    lock: bool,
) -> Result<Option<User>, TxError> {
    let sql = if lock {
        USER_BY_NAME_FOR_UPDATE
    } else {
        USER_BY_NAME
    };
    let key = name_key(username);
    tx.query_typed_opt(sql, &[(&key, Type::TEXT)])?
        .map(|row| rows.user(&row, 0))
        .transpose()
}

/// Revokes every live session of the user; how many.
fn revoke_all(tx: &mut Transaction<'_>, user_id: i64) -> Result<u64, TxError> {
    Ok(tx.execute_typed(REVOKE_ALL, &[(&user_id, Type::INT8)])?)
}

impl AccountsReader for PgStore {
    fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        const OP: &str = "reading a user";
        let rows = self.rows(OP);
        self.read(OP, |tx| select_user(&rows, tx, username, false))
    }

    fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        const OP: &str = "reading a user";
        let rows = self.rows(OP);
        self.read(OP, |tx| {
            tx.query_typed_opt(USER_BY_ID, &[(&id, Type::INT8)])?
                .map(|row| rows.user(&row, 0))
                .transpose()
        })
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        const OP: &str = "listing users";
        let rows = self.rows(OP);
        self.read(OP, |tx| rows.users(&tx.query_typed(LIST_USERS, &[])?))
    }

    fn session(&self, token_sha256: &str) -> Result<Option<(Session, User)>, StoreError> {
        const OP: &str = "reading a session";
        let rows = self.rows(OP);
        let key = pg_text(token_sha256);
        self.read(OP, |tx| {
            let Some(row) = tx.query_typed_opt(SESSION, &[(&key.as_ref(), Type::TEXT)])? else {
                return Ok(None);
            };
            let session = Session {
                token_sha256: row.try_get(0)?,
                user_id: row.try_get(1)?,
                created_at_ms: row.try_get(2)?,
                last_seen_ms: row.try_get(3)?,
                expires_at_ms: row.try_get(4)?,
                address: row.try_get(5)?,
                revoked: row.try_get(6)?,
            };
            Ok(Some((session, rows.user(&row, 7)?)))
        })
    }
}

impl Accounts for PgStore {
    fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<User, StoreError> {
        const OP: &str = "creating a user";
        validate_username(&user.username)?;
        if user.password_hash.is_empty() {
            return Err(StoreError::InvalidInput {
                op: OP,
                cause: "the password hash is empty".to_owned(),
            });
        }
        let rows = self.rows(OP);
        let password_hash = pg_text(&user.password_hash);
        let corps = to_json(user.corps.clone());
        let userids = to_json(user.scope.userids.clone());
        let departments = to_json(user.scope.departments.clone());
        let created = self.write(OP, |tx| {
            // The name is checked and taken in one statement: of two nodes creating the same
            // name at once, one inserts and the other finds the name taken.
            tx.query_typed_opt(
                INSERT_USER,
                &[
                    (&user.username, Type::TEXT),
                    (&password_hash.as_ref(), Type::TEXT),
                    (&user.role.as_str(), Type::TEXT),
                    (&corps, Type::TEXT),
                    (&userids, Type::TEXT),
                    (&departments, Type::TEXT),
                    (&now_ms, Type::INT8),
                ],
            )?
            .map(|row| rows.user(&row, 0))
            .transpose()
        })?;
        created.ok_or_else(|| StoreError::AlreadyExists {
            op: OP,
            cause: format!(
                "a user named {:?} exists (names ignore case)",
                user.username
            ),
        })
    }

    fn update_user(
        &self,
        username: &str,
        update: &UserUpdate,
        now_ms: i64,
    ) -> Result<User, StoreError> {
        const OP: &str = "updating a user";
        let rows = self.rows(OP);
        self.write(OP, |tx| {
            let Some(mut user) = select_user(&rows, tx, username, true)? else {
                return Err(not_found(OP, username).into());
            };
            if let Some(role) = update.role {
                user.role = role;
            }
            if let Some(corps) = &update.corps {
                user.corps.clone_from(corps);
            }
            if let Some(scope) = &update.scope {
                user.scope.clone_from(scope);
            }
            if let Some(disabled) = update.disabled {
                user.disabled = disabled;
            }
            user.updated_at_ms = now_ms;
            tx.execute_typed(
                "UPDATE users SET role = $2, corps = $3, scope_userids = $4, \
                 scope_departments = $5, disabled = $6, updated_at_ms = $7 WHERE id = $1",
                &[
                    (&user.id, Type::INT8),
                    (&user.role.as_str(), Type::TEXT),
                    (&to_json(user.corps.clone()), Type::TEXT),
                    (&to_json(user.scope.userids.clone()), Type::TEXT),
                    (&to_json(user.scope.departments.clone()), Type::TEXT),
                    (&user.disabled, Type::BOOL),
                    (&now_ms, Type::INT8),
                ],
            )?;
            if user.disabled {
                revoke_all(tx, user.id)?;
            }
            Ok(user)
        })
    }

    fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        const OP: &str = "setting a password";
        if password_hash.is_empty() {
            return Err(StoreError::InvalidInput {
                op: OP,
                cause: "the password hash is empty".to_owned(),
            });
        }
        let rows = self.rows(OP);
        let password_hash = pg_text(password_hash);
        self.write(OP, |tx| {
            let Some(user) = select_user(&rows, tx, username, true)? else {
                return Err(not_found(OP, username).into());
            };
            tx.execute_typed(
                "UPDATE users SET password_hash = $2, password_changed_at_ms = $3, \
                 updated_at_ms = $3, failed_logins = 0, locked_until_ms = NULL WHERE id = $1",
                &[
                    (&user.id, Type::INT8),
                    (&password_hash.as_ref(), Type::TEXT),
                    (&now_ms, Type::INT8),
                ],
            )?;
            revoke_all(tx, user.id)
        })
    }

    fn record_login_failure(
        &self,
        username: &str,
        now_ms: i64,
        policy: &LockPolicy,
    ) -> Result<Option<LoginFailures>, StoreError> {
        const OP: &str = "recording a failed sign-in";
        let rows = self.rows(OP);
        self.write(OP, |tx| {
            // The row stays locked from this read to the commit: concurrent failures count one
            // after the other.
            let Some(user) = select_user(&rows, tx, username, true)? else {
                return Ok(None);
            };
            let failed_logins = user.failed_logins.saturating_add(1);
            let locked_until_ms = if failed_logins >= policy.max_failures {
                Some(now_ms.saturating_add(policy.lock_ms))
            } else {
                user.locked_until_ms
            };
            tx.execute_typed(
                "UPDATE users SET failed_logins = $2, locked_until_ms = $3 WHERE id = $1",
                &[
                    (&user.id, Type::INT8),
                    (&i64::from(failed_logins), Type::INT8),
                    (&locked_until_ms, Type::INT8),
                ],
            )?;
            Ok(Some(LoginFailures {
                failed_logins,
                locked_until_ms,
            }))
        })
    }

    fn record_login_success(&self, user_id: i64, _now_ms: i64) -> Result<(), StoreError> {
        const OP: &str = "recording a sign-in";
        self.write(OP, |tx| {
            tx.execute_typed(
                "UPDATE users SET failed_logins = 0, locked_until_ms = NULL WHERE id = $1",
                &[(&user_id, Type::INT8)],
            )?;
            Ok(())
        })
    }

    fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        const OP: &str = "creating a session";
        validate_token_sha256(&session.token_sha256)?;
        let address = pg_text(&session.address);
        self.write(OP, |tx| {
            // An unknown user (the foreign key) or a key already stored is a Conflict.
            tx.execute_typed(
                "INSERT INTO sessions (token_sha256, user_id, created_at_ms, last_seen_ms, \
                 expires_at_ms, address, revoked) VALUES ($1, $2, $3, $3, $4, $5, FALSE)",
                &[
                    (&session.token_sha256, Type::TEXT),
                    (&session.user_id, Type::INT8),
                    (&session.now_ms, Type::INT8),
                    (&session.expires_at_ms, Type::INT8),
                    (&address.as_ref(), Type::TEXT),
                ],
            )?;
            Ok(())
        })
    }

    fn touch_session(&self, token_sha256: &str, now_ms: i64) -> Result<bool, StoreError> {
        const OP: &str = "touching a session";
        let key = pg_text(token_sha256);
        self.write(OP, |tx| {
            let n = tx.execute_typed(
                "UPDATE sessions SET last_seen_ms = GREATEST(last_seen_ms, $2) \
                 WHERE token_sha256 = $1",
                &[(&key.as_ref(), Type::TEXT), (&now_ms, Type::INT8)],
            )?;
            Ok(n > 0)
        })
    }

    fn revoke_session(&self, token_sha256: &str) -> Result<bool, StoreError> {
        const OP: &str = "revoking a session";
        let key = pg_text(token_sha256);
        self.write(OP, |tx| {
            let n = tx.execute_typed(
                "UPDATE sessions SET revoked = TRUE WHERE token_sha256 = $1",
                &[(&key.as_ref(), Type::TEXT)],
            )?;
            Ok(n > 0)
        })
    }

    fn revoke_user_sessions(&self, user_id: i64) -> Result<u64, StoreError> {
        const OP: &str = "revoking a user's sessions";
        self.write(OP, |tx| revoke_all(tx, user_id))
    }
}

/// An entry as PostgreSQL stores it: a NUL in a text field (which PostgreSQL refuses) becomes
/// U+2400. The chain hashes this form, so what is stored verifies.
fn storable(entry: &AuditEntry) -> AuditEntry {
    let text = |s: &str| pg_text(s).into_owned();
    AuditEntry {
        at_ms: entry.at_ms,
        username: text(&entry.username),
        address: text(&entry.address),
        action: text(&entry.action),
        corp_id: text(&entry.corp_id),
        target: text(&entry.target),
        detail: text(&entry.detail),
        outcome: entry.outcome,
    }
}

impl AuditLog for PgStore {
    fn append(&self, entry: &AuditEntry) -> Result<AuditRecord, StoreError> {
        let mut records = self.append_all(std::slice::from_ref(entry))?;
        records.pop().ok_or_else(|| StoreError::Backend {
            op: "appending to the audit log",
            cause: "no entry was appended".to_owned(),
        })
    }

    fn append_all(&self, entries: &[AuditEntry]) -> Result<Vec<AuditRecord>, StoreError> {
        const OP: &str = "appending to the audit log";
        for entry in entries {
            validate_entry(entry)?;
        }
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let entries: Vec<AuditEntry> = entries.iter().map(storable).collect();
        self.write(OP, |tx| {
            // Appends of every node queue here until the holder commits. Under READ COMMITTED
            // the head is read by the next statement, after the lock is granted, so it is the
            // newest committed head. (Were two appends to read one head, the seq's primary key
            // would refuse the second: the chain cannot fork either way.)
            tx.execute_typed(LOCK_AUDIT_LOG, &[(&AUDIT_LOCK, Type::INT4)])?;
            let head = tx.query_typed_opt(AUDIT_HEAD, &[])?;
            let (mut seq, mut prev_hash) = match head {
                Some(row) => {
                    let seq: i64 = row.try_get(0)?;
                    (u64::try_from(seq).unwrap_or_default(), row.try_get(1)?)
                }
                None => (0, GENESIS_HASH.to_owned()),
            };
            let mut records = Vec::with_capacity(entries.len());
            for entry in &entries {
                seq = seq.saturating_add(1);
                let hash = chain_hash(&prev_hash, seq, entry);
                records.push(AuditRecord {
                    seq,
                    entry: entry.clone(),
                    prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
                    hash,
                });
            }
            let column =
                |f: fn(&AuditRecord) -> &str| -> Vec<&str> { records.iter().map(f).collect() };
            let seqs: Vec<i64> = records
                .iter()
                .map(|r| i64::try_from(r.seq).unwrap_or(i64::MAX))
                .collect();
            let ats: Vec<i64> = records.iter().map(|r| r.entry.at_ms).collect();
            tx.execute_typed(
                AUDIT_INSERT,
                &[
                    (&seqs, Type::INT8_ARRAY),
                    (&ats, Type::INT8_ARRAY),
                    (&column(|r| &r.entry.username), Type::TEXT_ARRAY),
                    (&column(|r| &r.entry.address), Type::TEXT_ARRAY),
                    (&column(|r| &r.entry.action), Type::TEXT_ARRAY),
                    (&column(|r| &r.entry.corp_id), Type::TEXT_ARRAY),
                    (&column(|r| &r.entry.target), Type::TEXT_ARRAY),
                    (&column(|r| &r.entry.detail), Type::TEXT_ARRAY),
                    (&column(|r| r.entry.outcome.as_str()), Type::TEXT_ARRAY),
                    (&column(|r| &r.prev_hash), Type::TEXT_ARRAY),
                    (&column(|r| &r.hash), Type::TEXT_ARRAY),
                ],
            )?;
            Ok(records)
        })
    }
}

/// A query parameter with its type.
type Param = (Box<dyn ToSql + Sync>, Type);

/// The statement and parameters of [`AuditReader::list`] for `filter`: only the conditions it
/// sets, so each shape is planned on its index.
fn list_query(filter: &AuditFilter) -> (String, Vec<Param>) {
    let after = i64::try_from(filter.after_seq).unwrap_or(i64::MAX);
    let mut sql = format!("SELECT {} FROM audit_log WHERE seq > $1", audit_columns!());
    let mut args: Vec<Param> = vec![(Box::new(after), Type::INT8)];
    let mut push = |clause: &str, value: Box<dyn ToSql + Sync>, ty: Type| {
        args.push((value, ty));
        sql.push_str(&format!(" AND {clause} ${}", args.len()));
    };
    if let Some(username) = &filter.username {
        push(
            concat!(ascii_fold!("username"), " ="),
            Box::new(name_key(username)),
            Type::TEXT,
        );
    }
    if let Some(action) = &filter.action {
        push(
            "action =",
            Box::new(pg_text(action).into_owned()),
            Type::TEXT,
        );
    }
    if let Some(since) = filter.since_ms {
        push("at_ms >=", Box::new(since), Type::INT8);
    }
    if let Some(until) = filter.until_ms {
        push("at_ms <", Box::new(until), Type::INT8);
    }
    args.push((
        Box::new(i64::try_from(filter.limit).unwrap_or(i64::MAX)),
        Type::INT8,
    ));
    sql.push_str(&format!(" ORDER BY seq LIMIT ${}", args.len()));
    (sql, args)
}

impl AuditReader for PgStore {
    fn list(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        const OP: &str = "listing the audit log";
        let (sql, args) = list_query(filter);
        let params: Vec<(&(dyn ToSql + Sync), Type)> = args
            .iter()
            .map(|(value, ty)| (value.as_ref(), ty.clone()))
            .collect();
        let rows = self.rows(OP);
        self.read(OP, |tx| {
            tx.query_typed(&sql, &params)?
                .iter()
                .map(|row| rows.audit(row))
                .collect()
        })
    }

    fn verify(&self) -> Result<ChainCheck, StoreError> {
        const OP: &str = "verifying the audit log";
        let rows = self.rows(OP);
        // One snapshot, read through a portal VERIFY_BATCH rows at a time in seq order.
        self.read(OP, |tx| {
            let statement = tx.prepare(AUDIT_ALL)?;
            let portal = tx.bind(&statement, &[])?;
            let mut verifier = ChainVerifier::new();
            loop {
                let batch = tx.query_portal(&portal, VERIFY_BATCH)?;
                for row in &batch {
                    if let Err(broken) = verifier.check(&rows.audit(row)?) {
                        return Ok(ChainCheck::Broken(broken));
                    }
                }
                if batch.len() < VERIFY_BATCH as usize {
                    return Ok(verifier.finish());
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Barrier;

    use super::super::tests::support::TestSchema;
    use super::*;
    use crate::{BreakReason, ChainBreak, Role, SqliteStore, StoreErrorKind};

    const NOW: i64 = 1_700_000_000_000;

    fn open(schema: &TestSchema) -> PgStore {
        PgStore::open(&schema.options()).expect("open the PostgreSQL store")
    }

    fn entry(thread: usize, i: usize) -> AuditEntry {
        AuditEntry {
            at_ms: NOW + i64::try_from(i).expect("small"),
            username: format!("user{thread}"),
            address: "10.0.0.1".to_owned(),
            action: "search".to_owned(),
            corp_id: "wwA".to_owned(),
            target: format!("t{thread}"),
            detail: format!(r#"{{"i":{i}}}"#),
            outcome: AuditOutcome::Ok,
        }
    }

    fn new_user(name: &str) -> NewUser {
        NewUser {
            username: name.to_owned(),
            password_hash: "$argon2id$v=19$x".to_owned(),
            role: Role::Reviewer,
            corps: vec!["wwA".to_owned()],
            scope: Scope::default(),
        }
    }

    fn all(store: &PgStore) -> Vec<AuditRecord> {
        store
            .list(&AuditFilter {
                limit: 100_000,
                ..AuditFilter::default()
            })
            .expect("list")
    }

    /// The server's message of a refused statement.
    fn refusal(error: &postgres::Error) -> String {
        error
            .as_db_error()
            .map_or_else(|| error.to_string(), |db| db.message().to_owned())
    }

    #[test]
    fn appends_from_two_stores_and_four_threads_form_one_chain() {
        const PER_THREAD: usize = 50;
        const BATCH: usize = 5;
        let schema = TestSchema::new();
        let stores = [open(&schema), open(&schema)];
        let start = Barrier::new(4);
        // Threads 0 and 1 append one entry at a time, 2 and 3 in batches; each thread on the
        // store of its parity, so both stores append at once.
        let returned: Vec<Vec<AuditRecord>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    let store = &stores[t % 2];
                    let start = &start;
                    scope.spawn(move || {
                        start.wait();
                        let mut records = Vec::new();
                        if t < 2 {
                            for i in 0..PER_THREAD {
                                records.push(store.append(&entry(t, i)).expect("append"));
                            }
                        } else {
                            for first in (0..PER_THREAD).step_by(BATCH) {
                                let batch: Vec<AuditEntry> =
                                    (first..first + BATCH).map(|i| entry(t, i)).collect();
                                let appended = store.append_all(&batch).expect("append_all");
                                let seqs: Vec<u64> = appended.iter().map(|r| r.seq).collect();
                                let expected: Vec<u64> =
                                    (seqs[0]..seqs[0] + BATCH as u64).collect();
                                assert_eq!(seqs, expected, "a batch takes consecutive seqs");
                                records.extend(appended);
                            }
                        }
                        records
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("appending thread"))
                .collect()
        });

        let log = all(&stores[0]);
        assert_eq!(
            log.iter().map(|r| r.seq).collect::<Vec<_>>(),
            (1..=200).collect::<Vec<u64>>(),
            "one entry per seq, none lost, none doubled"
        );
        let head = log.last().expect("entries").hash.clone();
        for store in &stores {
            assert_eq!(
                store.verify().expect("verify"),
                ChainCheck::Intact {
                    entries: 200,
                    head_hash: head.clone()
                }
            );
        }
        // What each call returned is what is stored, and each thread's entries are in its order.
        let by_seq: HashMap<u64, &AuditRecord> = log.iter().map(|r| (r.seq, r)).collect();
        for (t, records) in returned.iter().enumerate() {
            assert_eq!(records.len(), PER_THREAD);
            for (i, record) in records.iter().enumerate() {
                assert_eq!(
                    by_seq.get(&record.seq),
                    Some(&record),
                    "thread {t} entry {i}"
                );
                assert_eq!(record.entry, entry(t, i));
            }
            assert!(
                records.windows(2).all(|w| w[0].seq < w[1].seq),
                "thread {t}: appended in call order"
            );
        }
    }

    #[test]
    fn the_audit_log_refuses_update_delete_and_truncate() {
        let schema = TestSchema::new();
        let store = open(&schema);
        store.append(&entry(0, 1)).expect("append");
        store.append(&entry(0, 2)).expect("append");
        let mut client = schema.client();
        for sql in [
            "UPDATE audit_log SET detail = '{}' WHERE seq = 1",
            "UPDATE audit_log SET seq = seq + 10",
            "DELETE FROM audit_log WHERE seq = 2",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ] {
            let error = client.batch_execute(sql).expect_err(sql);
            assert!(refusal(&error).contains("append-only"), "{sql}: {error}");
        }
        assert_eq!(all(&store).len(), 2);
        assert!(matches!(
            store.verify().expect("verify"),
            ChainCheck::Intact { entries: 2, .. }
        ));
    }

    #[test]
    fn appends_go_on_while_vacuum_holds_its_lock_on_the_log() {
        let schema = TestSchema::new();
        let mut options = schema.options();
        // A wait would fail the append instead of hanging the test.
        options.url = format!(
            "{}?options=-c%20lock_timeout%3D10000",
            super::super::tests::support::test_url()
        );
        let store = PgStore::open(&options).expect("open");
        store.append(&entry(0, 0)).expect("append");
        let mut client = schema.client();
        let mut vacuum = client.transaction().expect("begin");
        // What VACUUM and ANALYZE hold while they run.
        vacuum
            .batch_execute("LOCK TABLE audit_log IN SHARE UPDATE EXCLUSIVE MODE")
            .expect("lock");
        let record = store.append(&entry(0, 1)).expect("append beside vacuum");
        assert_eq!(record.seq, 2);
        vacuum.rollback().expect("rollback");
        assert!(matches!(
            store.verify().expect("verify"),
            ChainCheck::Intact { entries: 2, .. }
        ));
    }

    #[test]
    fn a_read_only_open_reads_users_and_verifies_beside_a_writer() {
        let schema = TestSchema::new();
        let store = open(&schema);
        store.create_user(&new_user("alice"), NOW).expect("create");
        store.append(&entry(0, 0)).expect("append");
        let reader = PgStore::open_read_only(&schema.options()).expect("read-only");
        store.append(&entry(0, 1)).expect("append beside a reader");
        assert_eq!(
            reader
                .user_by_name("ALICE")
                .expect("read")
                .map(|u| u.username),
            Some("alice".to_owned())
        );
        assert_eq!(reader.list_users().expect("list").len(), 1);
        assert!(matches!(
            reader.verify().expect("verify"),
            ChainCheck::Intact { entries: 2, .. }
        ));
        assert_eq!(
            reader.list(&AuditFilter::default()).expect("list"),
            all(&store)
        );
    }

    #[test]
    fn verify_reads_batch_after_batch_and_names_the_first_broken_link() {
        let schema = TestSchema::new();
        let store = open(&schema);
        let batch = usize::try_from(VERIFY_BATCH).expect("batch");
        let count = 2 * batch + 5;
        let entries: Vec<AuditEntry> = (0..count).map(|i| entry(0, i)).collect();
        let records = store.append_all(&entries).expect("append_all");
        assert_eq!(records.len(), count);
        assert_eq!(
            store.verify().expect("verify"),
            ChainCheck::Intact {
                entries: count as u64,
                head_hash: records[count - 1].hash.clone()
            }
        );

        // Around the triggers (as the table's owner could): an edit in the second batch, and a
        // deletion in the third, after it.
        let edited = batch as u64 + 500;
        let deleted = 2 * batch as u64 + 2;
        schema
            .client()
            .batch_execute(&format!(
                "ALTER TABLE audit_log DISABLE TRIGGER USER;
                 UPDATE audit_log SET detail = '{{\"i\":-1}}' WHERE seq = {edited};
                 DELETE FROM audit_log WHERE seq = {deleted};"
            ))
            .expect("tamper");
        assert_eq!(
            store.verify().expect("verify"),
            ChainCheck::Broken(ChainBreak {
                seq: edited,
                reason: BreakReason::Edited
            })
        );
        schema
            .client()
            .batch_execute(&format!(
                "UPDATE audit_log SET detail = '{{\"i\":{}}}' WHERE seq = {edited}",
                edited - 1
            ))
            .expect("undo the edit");
        assert_eq!(
            store.verify().expect("verify"),
            ChainCheck::Broken(ChainBreak {
                seq: deleted,
                reason: BreakReason::Missing {
                    next_seq: deleted + 1
                }
            })
        );
    }

    #[test]
    fn concurrent_creates_of_one_name_make_one_user() {
        let schema = TestSchema::new();
        let stores = [open(&schema), open(&schema)];
        let start = Barrier::new(4);
        let names = ["alice", "ALICE", "Alice", "aLiCe"];
        let results: Vec<Result<User, StoreError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = names
                .iter()
                .enumerate()
                .map(|(t, name)| {
                    let store = &stores[t % 2];
                    let start = &start;
                    scope.spawn(move || {
                        start.wait();
                        store.create_user(&new_user(name), NOW)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("creating thread"))
                .collect()
        });
        let created: Vec<&User> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(created.len(), 1, "{results:?}");
        for error in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(error.kind(), StoreErrorKind::AlreadyExists, "{error}");
        }
        let listed = stores[1].list_users().expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(&listed[0], created[0]);
    }

    /// The same calls on SQLite and on PostgreSQL give the same answers where case folding
    /// decides: ASCII letters fold, nothing else does.
    #[test]
    fn names_fold_ascii_case_only_as_on_sqlite() {
        let schema = TestSchema::new();
        let pg = open(&schema);
        let lite = SqliteStore::open_in_memory().expect("sqlite");
        let accounts: [&dyn Accounts; 2] = [&pg, &lite];
        let audits: [&dyn AuditLog; 2] = [&pg, &lite];

        let names = ["kate", "Zed", "a_b", "A.b", "a-b", "Bob", "alice", "a@b"];
        let listed: Vec<Vec<String>> = accounts
            .iter()
            .map(|store| {
                for name in names {
                    store.create_user(&new_user(name), NOW).expect("create");
                }
                store
                    .list_users()
                    .expect("list")
                    .into_iter()
                    .map(|u| u.username)
                    .collect()
            })
            .collect();
        assert_eq!(
            listed[0],
            ["a-b", "A.b", "a@b", "a_b", "alice", "Bob", "kate", "Zed"],
            "by name, folded, byte order"
        );
        assert_eq!(listed[0], listed[1]);

        // U+0130 (İ) and the Kelvin sign (K) fold to i and k under lower(), not under NOCASE.
        let lookups = [
            "ALICE",
            "ALİCE",
            "\u{212A}ATE",
            "KATE",
            "al\0ice",
            "bob",
            "a.B",
        ];
        let found: Vec<Vec<Option<String>>> = accounts
            .iter()
            .map(|store| {
                lookups
                    .iter()
                    .map(|name| {
                        store
                            .user_by_name(name)
                            .expect("lookup")
                            .map(|u| u.username)
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            found[0],
            [
                Some("alice".to_owned()),
                None,
                None,
                Some("kate".to_owned()),
                None,
                Some("Bob".to_owned()),
                Some("A.b".to_owned())
            ]
        );
        assert_eq!(found[0], found[1]);
        for store in accounts {
            let policy = LockPolicy {
                max_failures: 3,
                lock_ms: 1,
            };
            assert_eq!(
                store
                    .record_login_failure("ALİCE", NOW, &policy)
                    .expect("failure"),
                None
            );
            let error = store
                .create_user(&new_user("KATE"), NOW)
                .expect_err("taken");
            assert_eq!(error.kind(), StoreErrorKind::AlreadyExists, "{error}");
        }

        let users = ["bob", "BOB", "Ｂob", "böb", "BÖB", "Böb"];
        let filtered: Vec<Vec<Vec<u64>>> = audits
            .iter()
            .map(|store| {
                for (i, user) in users.iter().enumerate() {
                    store
                        .append(&AuditEntry {
                            username: (*user).to_owned(),
                            ..entry(0, i)
                        })
                        .expect("append");
                }
                ["Bob", "böb", "bÖb", "ｂob"]
                    .iter()
                    .map(|user| {
                        store
                            .list(&AuditFilter {
                                username: Some((*user).to_owned()),
                                ..AuditFilter::default()
                            })
                            .expect("list")
                            .into_iter()
                            .map(|r| r.seq)
                            .collect()
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            filtered[0],
            [vec![1, 2], vec![4, 6], vec![5], vec![]],
            "only A-Z fold"
        );
        assert_eq!(filtered[0], filtered[1]);
    }

    #[test]
    fn a_nul_in_an_audit_entry_is_stored_as_a_symbol_and_verifies() {
        let schema = TestSchema::new();
        let store = open(&schema);
        let record = store
            .append(&AuditEntry {
                username: "mal\0lory".to_owned(),
                target: "\0".to_owned(),
                ..entry(0, 1)
            })
            .expect("append");
        assert_eq!(record.entry.username, "mal\u{2400}lory");
        assert_eq!(record.entry.target, "\u{2400}");
        assert_eq!(all(&store), std::slice::from_ref(&record));
        assert_eq!(
            store.verify().expect("verify"),
            ChainCheck::Intact {
                entries: 1,
                head_hash: record.hash
            }
        );
        assert_eq!(store.user_by_name("mal\0lory").expect("lookup"), None);
    }

    #[test]
    fn account_and_audit_queries_use_their_indexes() {
        let schema = TestSchema::new();
        let store = open(&schema);
        store.create_user(&new_user("alice"), NOW).expect("create");
        store.append(&entry(0, 1)).expect("append");
        let mut client = schema.client();
        client
            .batch_execute("SET enable_seqscan = off")
            .expect("no sequential scans");
        let mut plan = |sql: &str, params: &[(&(dyn ToSql + Sync), Type)]| -> String {
            client
                .query_typed(&format!("EXPLAIN {sql}"), params)
                .expect("explain")
                .iter()
                .map(|row| row.get::<_, String>(0))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let name = "ALICE".to_owned();
        let uses = plan(USER_BY_NAME, &[(&name, Type::TEXT)]);
        assert!(uses.contains("users_username"), "{uses}");
        let id = 1_i64;
        let uses = plan(REVOKE_ALL, &[(&id, Type::INT8)]);
        assert!(uses.contains("sessions_user"), "{uses}");
        let token = "00".repeat(32);
        let uses = plan(SESSION, &[(&token, Type::TEXT)]);
        assert!(uses.contains("sessions_pkey"), "{uses}");
        for (filter, index) in [
            (
                AuditFilter {
                    username: Some("Alice".to_owned()),
                    ..AuditFilter::default()
                },
                "audit_log_user",
            ),
            (
                AuditFilter {
                    action: Some("search".to_owned()),
                    ..AuditFilter::default()
                },
                "audit_log_action",
            ),
        ] {
            let (sql, args) = list_query(&filter);
            let params: Vec<(&(dyn ToSql + Sync), Type)> = args
                .iter()
                .map(|(value, ty)| (value.as_ref(), ty.clone()))
                .collect();
            let uses = plan(&sql, &params);
            assert!(uses.contains(index), "{sql}\n{uses}");
            assert!(!uses.contains("Sort"), "{sql}\n{uses}");
        }
    }
}
