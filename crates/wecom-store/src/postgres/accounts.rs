//! Accounts and the audit log on PostgreSQL.

#![allow(unused)]

use super::PgStore;
use crate::*;

impl AccountsReader for PgStore {
    fn user_by_name(&self, username: &str) -> Result<Option<User>, StoreError> {
        todo!("postgres: AccountsReader::user_by_name")
    }

    fn user_by_id(&self, id: i64) -> Result<Option<User>, StoreError> {
        todo!("postgres: AccountsReader::user_by_id")
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        todo!("postgres: AccountsReader::list_users")
    }

    fn session(&self, token_sha256: &str) -> Result<Option<(Session, User)>, StoreError> {
        todo!("postgres: AccountsReader::session")
    }
}

impl Accounts for PgStore {
    fn create_user(&self, user: &NewUser, now_ms: i64) -> Result<User, StoreError> {
        todo!("postgres: Accounts::create_user")
    }

    fn update_user(
        &self,
        username: &str,
        update: &UserUpdate,
        now_ms: i64,
    ) -> Result<User, StoreError> {
        todo!("postgres: Accounts::update_user")
    }

    fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        todo!("postgres: Accounts::set_password")
    }

    fn record_login_failure(
        &self,
        username: &str,
        now_ms: i64,
        policy: &LockPolicy,
    ) -> Result<Option<LoginFailures>, StoreError> {
        todo!("postgres: Accounts::record_login_failure")
    }

    fn record_login_success(&self, user_id: i64, now_ms: i64) -> Result<(), StoreError> {
        todo!("postgres: Accounts::record_login_success")
    }

    fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        todo!("postgres: Accounts::create_session")
    }

    fn touch_session(&self, token_sha256: &str, now_ms: i64) -> Result<bool, StoreError> {
        todo!("postgres: Accounts::touch_session")
    }

    fn revoke_session(&self, token_sha256: &str) -> Result<bool, StoreError> {
        todo!("postgres: Accounts::revoke_session")
    }

    fn revoke_user_sessions(&self, user_id: i64) -> Result<u64, StoreError> {
        todo!("postgres: Accounts::revoke_user_sessions")
    }
}

impl AuditReader for PgStore {
    fn list(&self, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
        todo!("postgres: AuditReader::list")
    }

    fn verify(&self) -> Result<ChainCheck, StoreError> {
        todo!("postgres: AuditReader::verify")
    }
}

impl AuditLog for PgStore {
    fn append(&self, entry: &AuditEntry) -> Result<AuditRecord, StoreError> {
        todo!("postgres: AuditLog::append")
    }
}
