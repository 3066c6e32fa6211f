//! Accounts and the audit log on SQLite (0008_accounts.sql): users, sessions under their token's
//! SHA-256, and the hash-chained `audit_log`, whose rows triggers keep from any UPDATE or DELETE.
//! Writes go through the writer connection, reads through the reader pool, as for every role.

use rusqlite::types::{Type, Value};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::{SqliteReader, SqliteStore, count, err, snapshot, sql_int};
use crate::StoreError;
use crate::accounts::{
    Accounts, AccountsReader, LockPolicy, LoginFailures, NewSession, NewUser, Scope, Session, User,
    UserUpdate, validate_token_sha256, validate_username,
};
use crate::audit::{
    AuditEntry, AuditFilter, AuditLog, AuditOutcome, AuditReader, AuditRecord, ChainCheck,
    ChainVerifier, GENESIS_HASH, chain_hash, validate_entry,
};

const USER_COLUMNS: &str = "u.id, u.username, u.password_hash, u.role, u.corps, u.scope_userids, \
     u.scope_departments, u.disabled, u.created_at_ms, u.updated_at_ms, u.password_changed_at_ms, \
     u.failed_logins, u.locked_until_ms";

const AUDIT_COLUMNS: &str = "seq, at_ms, username, address, action, corp_id, target, detail, \
     outcome, prev_hash, hash";

/// A text column parsed with `FromStr`; a value this build cannot read is damage.
fn parsed<T: std::str::FromStr>(row: &Row<'_>, i: usize) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(i)?;
    text.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

/// A JSON array column (of strings or of integers).
fn json<T>(row: &Row<'_>, i: usize) -> rusqlite::Result<Vec<T>>
where
    Vec<T>: for<'de> FromJson<'de>,
{
    let text: String = row.get(i)?;
    <Vec<T>>::from_json(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

/// The arrays kept as JSON text (serde's traits without naming serde).
trait FromJson<'de>: Sized {
    fn from_json(text: &'de str) -> serde_json::Result<Self>;
}

impl<'de> FromJson<'de> for Vec<String> {
    fn from_json(text: &'de str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }
}

impl<'de> FromJson<'de> for Vec<u64> {
    fn from_json(text: &'de str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }
}

fn to_json(value: impl Into<serde_json::Value>) -> String {
    value.into().to_string()
}

/// A user from `USER_COLUMNS` starting at column `at`.
fn user_from_row(row: &Row<'_>, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(at)?,
        username: row.get(at + 1)?,
        password_hash: row.get(at + 2)?,
        role: parsed(row, at + 3)?,
        corps: json(row, at + 4)?,
        scope: Scope {
            userids: json(row, at + 5)?,
            departments: json(row, at + 6)?,
        },
        disabled: row.get(at + 7)?,
        created_at_ms: row.get(at + 8)?,
        updated_at_ms: row.get(at + 9)?,
        password_changed_at_ms: row.get(at + 10)?,
        failed_logins: u32::try_from(row.get::<_, i64>(at + 11)?).unwrap_or(u32::MAX),
        locked_until_ms: row.get(at + 12)?,
    })
}

fn audit_from_row(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        seq: count(row.get(0)?),
        entry: AuditEntry {
            at_ms: row.get(1)?,
            username: row.get(2)?,
            address: row.get(3)?,
            action: row.get(4)?,
            corp_id: row.get(5)?,
            target: row.get(6)?,
            detail: row.get(7)?,
            outcome: parsed::<AuditOutcome>(row, 8)?,
        },
        prev_hash: row.get(9)?,
        hash: row.get(10)?,
    })
}

fn select_user(conn: &Connection, username: &str) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.username = ?1"
    ))?
    .query_row([username], |row| user_from_row(row, 0))
    .optional()
}

fn not_found(op: &'static str, username: &str) -> StoreError {
    StoreError::NotFound {
        op,
        cause: format!("no user {username:?}"),
    }
}

impl SqliteStore {
    /// Runs `f` in one immediate transaction on the writer connection and commits it.
    fn write_tx<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err(&self.path, op))?;
        let out = f(&tx)?;
        tx.commit().map_err(err(&self.path, op))?;
        Ok(out)
    }
}

impl AccountsReader for SqliteReader {
    fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        let conn = self.read_conn()?;
        select_user(&conn, username).map_err(err(&self.path, "reading a user"))
    }

    fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        let conn = self.read_conn()?;
        conn.prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1"
        ))
        .and_then(|mut s| s.query_row([id], |row| user_from_row(row, 0)).optional())
        .map_err(err(&self.path, "reading a user"))
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        const OP: &str = "listing users";
        let conn = self.read_conn()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM users u ORDER BY u.username, u.id"
            ))
            .map_err(err(&self.path, OP))?;
        stmt.query_map([], |row| user_from_row(row, 0))
            .and_then(|rows| rows.collect())
            .map_err(err(&self.path, OP))
    }

    fn session(&self, token_sha256: &str) -> Result<Option<(Session, User)>, StoreError> {
        const OP: &str = "reading a session";
        let conn = self.read_conn()?;
        conn.prepare_cached(&format!(
            "SELECT s.token_sha256, s.user_id, s.created_at_ms, s.last_seen_ms, s.expires_at_ms, \
             s.address, s.revoked, {USER_COLUMNS} \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = ?1"
        ))
        .and_then(|mut s| {
            s.query_row([token_sha256], |row| {
                let session = Session {
                    token_sha256: row.get(0)?,
                    user_id: row.get(1)?,
                    created_at_ms: row.get(2)?,
                    last_seen_ms: row.get(3)?,
                    expires_at_ms: row.get(4)?,
                    address: row.get(5)?,
                    revoked: row.get(6)?,
                };
                Ok((session, user_from_row(row, 7)?))
            })
            .optional()
        })
        .map_err(err(&self.path, OP))
    }
}

impl AccountsReader for SqliteStore {
    fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.reader.user_by_name(username)
    }

    fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        self.reader.user_by_id(id)
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.reader.list_users()
    }

    fn session(&self, token_sha256: &str) -> Result<Option<(Session, User)>, StoreError> {
        self.reader.session(token_sha256)
    }
}

impl Accounts for SqliteStore {
    fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<User, StoreError> {
        const OP: &str = "creating a user";
        validate_username(&user.username)?;
        if user.password_hash.is_empty() {
            return Err(StoreError::InvalidInput {
                op: OP,
                cause: "the password hash is empty".to_owned(),
            });
        }
        let path = &self.path;
        self.write_tx(OP, |tx| {
            if select_user(tx, &user.username)
                .map_err(err(path, OP))?
                .is_some()
            {
                return Err(StoreError::AlreadyExists {
                    op: OP,
                    cause: format!(
                        "a user named {:?} exists (names ignore case)",
                        user.username
                    ),
                });
            }
            tx.prepare_cached(
                "INSERT INTO users (username, password_hash, role, corps, scope_userids, \
                 scope_departments, disabled, created_at_ms, updated_at_ms, \
                 password_changed_at_ms, failed_logins, locked_until_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?7, ?7, 0, NULL)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    user.username,
                    user.password_hash,
                    user.role.as_str(),
                    to_json(user.corps.clone()),
                    to_json(user.scope.userids.clone()),
                    to_json(user.scope.departments.clone()),
                    now_ms,
                ])
            })
            .map_err(err(path, OP))?;
            select_user(tx, &user.username)
                .map_err(err(path, OP))?
                .ok_or_else(|| not_found(OP, &user.username))
        })
    }

    fn update_user(
        &self,
        username: &str,
        update: &UserUpdate,
        now_ms: i64,
    ) -> Result<User, StoreError> {
        const OP: &str = "updating a user";
        let path = &self.path;
        self.write_tx(OP, |tx| {
            let Some(mut user) = select_user(tx, username).map_err(err(path, OP))? else {
                return Err(not_found(OP, username));
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
            tx.prepare_cached(
                "UPDATE users SET role = ?2, corps = ?3, scope_userids = ?4, \
                 scope_departments = ?5, disabled = ?6, updated_at_ms = ?7 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    user.id,
                    user.role.as_str(),
                    to_json(user.corps.clone()),
                    to_json(user.scope.userids.clone()),
                    to_json(user.scope.departments.clone()),
                    user.disabled,
                    now_ms,
                ])
            })
            .map_err(err(path, OP))?;
            if user.disabled {
                revoke_all(tx, user.id).map_err(err(path, OP))?;
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
        let path = &self.path;
        self.write_tx(OP, |tx| {
            let Some(user) = select_user(tx, username).map_err(err(path, OP))? else {
                return Err(not_found(OP, username));
            };
            tx.prepare_cached(
                "UPDATE users SET password_hash = ?2, password_changed_at_ms = ?3, \
                 updated_at_ms = ?3, failed_logins = 0, locked_until_ms = NULL WHERE id = ?1",
            )
            .and_then(|mut s| s.execute(params![user.id, password_hash, now_ms]))
            .map_err(err(path, OP))?;
            revoke_all(tx, user.id).map_err(err(path, OP))
        })
    }

    fn record_login_failure(
        &self,
        username: &str,
        now_ms: i64,
        policy: &LockPolicy,
    ) -> Result<Option<LoginFailures>, StoreError> {
        const OP: &str = "recording a failed sign-in";
        let path = &self.path;
        self.write_tx(OP, |tx| {
            let Some(user) = select_user(tx, username).map_err(err(path, OP))? else {
                return Ok(None);
            };
            let failed_logins = user.failed_logins.saturating_add(1);
            let locked_until_ms = if failed_logins >= policy.max_failures {
                Some(now_ms.saturating_add(policy.lock_ms))
            } else {
                user.locked_until_ms
            };
            tx.prepare_cached(
                "UPDATE users SET failed_logins = ?2, locked_until_ms = ?3 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![user.id, i64::from(failed_logins), locked_until_ms])
            })
            .map_err(err(path, OP))?;
            Ok(Some(LoginFailures {
                failed_logins,
                locked_until_ms,
            }))
        })
    }

    fn record_login_success(&self, user_id: i64, _now_ms: i64) -> Result<(), StoreError> {
        const OP: &str = "recording a sign-in";
        let path = &self.path;
        self.write_tx(OP, |tx| {
            tx.prepare_cached(
                "UPDATE users SET failed_logins = 0, locked_until_ms = NULL WHERE id = ?1",
            )
            .and_then(|mut s| s.execute([user_id]))
            .map_err(err(path, OP))?;
            Ok(())
        })
    }

    fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        const OP: &str = "creating a session";
        validate_token_sha256(&session.token_sha256)?;
        let path = &self.path;
        self.write_tx(OP, |tx| {
            tx.prepare_cached(
                "INSERT INTO sessions (token_sha256, user_id, created_at_ms, last_seen_ms, \
                 expires_at_ms, address, revoked) VALUES (?1, ?2, ?3, ?3, ?4, ?5, 0)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    session.token_sha256,
                    session.user_id,
                    session.now_ms,
                    session.expires_at_ms,
                    session.address,
                ])
            })
            .map_err(err(path, OP))?;
            Ok(())
        })
    }

    fn touch_session(&self, token_sha256: &str, now_ms: i64) -> Result<bool, StoreError> {
        const OP: &str = "touching a session";
        let path = &self.path;
        self.write_tx(OP, |tx| {
            tx.prepare_cached(
                "UPDATE sessions SET last_seen_ms = max(last_seen_ms, ?2) WHERE token_sha256 = ?1",
            )
            .and_then(|mut s| s.execute(params![token_sha256, now_ms]))
            .map(|n| n > 0)
            .map_err(err(path, OP))
        })
    }

    fn revoke_session(&self, token_sha256: &str) -> Result<bool, StoreError> {
        const OP: &str = "revoking a session";
        let path = &self.path;
        self.write_tx(OP, |tx| {
            tx.prepare_cached("UPDATE sessions SET revoked = 1 WHERE token_sha256 = ?1")
                .and_then(|mut s| s.execute([token_sha256]))
                .map(|n| n > 0)
                .map_err(err(path, OP))
        })
    }

    fn revoke_user_sessions(&self, user_id: i64) -> Result<u64, StoreError> {
        const OP: &str = "revoking a user's sessions";
        let path = &self.path;
        self.write_tx(OP, |tx| revoke_all(tx, user_id).map_err(err(path, OP)))
    }
}

/// Revokes every live session of the user; how many.
fn revoke_all(tx: &Transaction<'_>, user_id: i64) -> rusqlite::Result<u64> {
    tx.prepare_cached("UPDATE sessions SET revoked = 1 WHERE user_id = ?1 AND revoked = 0")?
        .execute([user_id])
        .map(|n| n as u64)
}

impl AuditLog for SqliteStore {
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
        let path = &self.path;
        // The head is read in the same immediate transaction as the inserts: appends are ordered
        // by the write lock, so the chain never forks.
        self.write_tx(OP, |tx| {
            let head: Option<(i64, String)> = tx
                .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
                .map_err(err(path, OP))?;
            let (mut seq, mut prev_hash) = match head {
                Some((seq, hash)) => (count(seq), hash),
                None => (0, GENESIS_HASH.to_owned()),
            };
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO audit_log ({AUDIT_COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ))
                .map_err(err(path, OP))?;
            let mut records = Vec::with_capacity(entries.len());
            for entry in entries {
                seq = seq.saturating_add(1);
                let hash = chain_hash(&prev_hash, seq, entry);
                insert
                    .execute(params![
                        i64::try_from(seq).unwrap_or(i64::MAX),
                        entry.at_ms,
                        entry.username,
                        entry.address,
                        entry.action,
                        entry.corp_id,
                        entry.target,
                        entry.detail,
                        entry.outcome.as_str(),
                        prev_hash,
                        hash,
                    ])
                    .map_err(err(path, OP))?;
                records.push(AuditRecord {
                    seq,
                    entry: entry.clone(),
                    prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
                    hash,
                });
            }
            Ok(records)
        })
    }
}

impl AuditReader for SqliteReader {
    fn list(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        const OP: &str = "listing the audit log";
        let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > ?1");
        let mut args: Vec<Value> = vec![Value::Integer(
            i64::try_from(filter.after_seq).unwrap_or(i64::MAX),
        )];
        let mut push = |clause: &str, value: Value| {
            args.push(value);
            sql.push_str(&format!(" AND {clause} ?{}", args.len()));
        };
        if let Some(username) = &filter.username {
            push("username COLLATE NOCASE =", Value::Text(username.clone()));
        }
        if let Some(action) = &filter.action {
            push("action =", Value::Text(action.clone()));
        }
        if let Some(since) = filter.since_ms {
            push("at_ms >=", Value::Integer(since));
        }
        if let Some(until) = filter.until_ms {
            push("at_ms <", Value::Integer(until));
        }
        args.push(Value::Integer(sql_int(filter.limit)));
        sql.push_str(&format!(" ORDER BY seq LIMIT ?{}", args.len()));
        let conn = self.read_conn()?;
        let mut stmt = conn.prepare_cached(&sql).map_err(err(&self.path, OP))?;
        stmt.query_map(rusqlite::params_from_iter(args), audit_from_row)
            .and_then(|rows| rows.collect())
            .map_err(err(&self.path, OP))
    }

    fn verify(&self) -> Result<ChainCheck, StoreError> {
        const OP: &str = "verifying the audit log";
        let conn = self.read_conn()?;
        let tx = snapshot(&conn, &self.path, OP)?;
        let mut stmt = tx
            .prepare(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq"
            ))
            .map_err(err(&self.path, OP))?;
        let mut rows = stmt.query([]).map_err(err(&self.path, OP))?;
        let mut verifier = ChainVerifier::new();
        while let Some(row) = rows.next().map_err(err(&self.path, OP))? {
            let record = audit_from_row(row).map_err(err(&self.path, OP))?;
            if let Err(broken) = verifier.check(&record) {
                return Ok(ChainCheck::Broken(broken));
            }
        }
        Ok(verifier.finish())
    }
}

impl AuditReader for SqliteStore {
    fn list(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        self.reader.list(filter)
    }

    fn verify(&self) -> Result<ChainCheck, StoreError> {
        self.reader.verify()
    }
}
