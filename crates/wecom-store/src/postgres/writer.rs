//! ArchiveWriter on PostgreSQL.

#![allow(unused)]

use super::PgStore;
use crate::*;

impl ArchiveWriter for PgStore {
    fn cursor(&self, corp_id: &str) -> Result<u64, StoreError> {
        todo!("postgres: ArchiveWriter::cursor")
    }

    fn commit_page(&self, corp_id: &str, page: &PageCommit) -> Result<CommitStats, StoreError> {
        todo!("postgres: ArchiveWriter::commit_page")
    }

    fn set_cursor(&self, corp_id: &str, seq: u64, force: bool) -> Result<CursorChange, StoreError> {
        todo!("postgres: ArchiveWriter::set_cursor")
    }

    fn failed_records(&self, corp_id: &str, limit: usize) -> Result<Vec<FailedRecord>, StoreError> {
        todo!("postgres: ArchiveWriter::failed_records")
    }

    fn resolve_failures(
        &self,
        corp_id: &str,
        results: &[(String, Outcome)],
        now_ms: i64,
    ) -> Result<ResolveStats, StoreError> {
        todo!("postgres: ArchiveWriter::resolve_failures")
    }
}
