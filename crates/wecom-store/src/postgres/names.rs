//! Directory on PostgreSQL, and the name reads of ArchiveReader.

#![allow(unused)]

use super::PgStore;
use crate::names::*;
use crate::*;

impl Directory for PgStore {
    fn record_discovered(
        &self,
        corp_id: &str,
        found: &Discovery,
        through: u64,
        now_ms: i64,
    ) -> Result<DiscoverStats, StoreError> {
        todo!("postgres: Directory::record_discovered")
    }

    fn due_rooms(
        &self,
        corp_id: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<RoomEntry>, StoreError> {
        todo!("postgres: Directory::due_rooms")
    }

    fn record_room(
        &self,
        corp_id: &str,
        roomid: &str,
        resolution: &RoomResolution,
        now_ms: i64,
        next_check_ms: i64,
    ) -> Result<(), StoreError> {
        todo!("postgres: Directory::record_room")
    }

    fn due_people(
        &self,
        corp_id: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<PersonEntry>, StoreError> {
        todo!("postgres: Directory::due_people")
    }

    fn record_person(
        &self,
        corp_id: &str,
        id: &str,
        resolution: &PersonResolution,
        now_ms: i64,
        next_check_ms: i64,
    ) -> Result<(), StoreError> {
        todo!("postgres: Directory::record_person")
    }

    fn recheck_names(
        &self,
        corp_id: &str,
        include_named: bool,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        todo!("postgres: Directory::recheck_names")
    }

    fn record_permit_users(
        &self,
        corp_id: &str,
        ids: &[String],
        now_ms: i64,
    ) -> Result<PermitChange, StoreError> {
        todo!("postgres: Directory::record_permit_users")
    }

    fn permit_checked_at(&self, corp_id: &str) -> Result<Option<i64>, StoreError> {
        todo!("postgres: Directory::permit_checked_at")
    }

    fn due_consent_checks(
        &self,
        corp_id: &str,
        checked_before_ms: i64,
        limit: usize,
    ) -> Result<ConsentDue, StoreError> {
        todo!("postgres: Directory::due_consent_checks")
    }

    fn record_consent(
        &self,
        corp_id: &str,
        checked: &[ConsentSubject],
        statuses: &[Consent],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        todo!("postgres: Directory::record_consent")
    }
}

pub(super) fn department_members(
    store: &PgStore,
    corp_id: &str,
    departments: &[u64],
) -> Result<Vec<String>, StoreError> {
    todo!("postgres: department_members")
}

pub(super) fn rooms(
    store: &PgStore,
    corp_id: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<RoomEntry>, StoreError> {
    todo!("postgres: rooms")
}

pub(super) fn room(
    store: &PgStore,
    corp_id: &str,
    roomid: &str,
) -> Result<Option<RoomDetail>, StoreError> {
    todo!("postgres: room")
}

pub(super) fn people(
    store: &PgStore,
    corp_id: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<PersonEntry>, StoreError> {
    todo!("postgres: people")
}

pub(super) fn person(
    store: &PgStore,
    corp_id: &str,
    id: &str,
) -> Result<Option<PersonEntry>, StoreError> {
    todo!("postgres: person")
}

pub(super) fn name_stats(store: &PgStore, corp_id: &str) -> Result<NameStats, StoreError> {
    todo!("postgres: name_stats")
}

pub(super) fn display_names(
    store: &PgStore,
    corp_id: &str,
    ids: &[String],
    roomid: Option<&str>,
) -> Result<Vec<DisplayName>, StoreError> {
    todo!("postgres: display_names")
}

pub(super) fn permit_users(store: &PgStore, corp_id: &str) -> Result<Vec<PermitUser>, StoreError> {
    todo!("postgres: permit_users")
}

pub(super) fn permit_checked_at(store: &PgStore, corp_id: &str) -> Result<Option<i64>, StoreError> {
    todo!("postgres: permit_checked_at")
}

pub(super) fn consents(
    store: &PgStore,
    corp_id: &str,
    id: &str,
) -> Result<Vec<Consent>, StoreError> {
    todo!("postgres: consents")
}
