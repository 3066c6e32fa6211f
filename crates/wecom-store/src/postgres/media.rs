//! MediaQueue on PostgreSQL, and the media reads of ArchiveReader.

#![allow(unused)]

use super::PgStore;
use crate::*;

impl MediaQueue for PgStore {
    fn claim_media_jobs(
        &self,
        corp_id: &str,
        now_ms: i64,
        retention_edge_ms: i64,
        limit: usize,
    ) -> Result<Vec<MediaJob>, StoreError> {
        todo!("postgres: MediaQueue::claim_media_jobs")
    }

    fn record_media_results(
        &self,
        corp_id: &str,
        results: &[MediaJobResult],
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        todo!("postgres: MediaQueue::record_media_results")
    }

    fn requeue_interrupted_media_jobs(
        &self,
        corp_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        todo!("postgres: MediaQueue::requeue_interrupted_media_jobs")
    }

    fn retry_media_jobs(
        &self,
        corp_id: &str,
        include_permanent: bool,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        todo!("postgres: MediaQueue::retry_media_jobs")
    }
}

pub(super) fn media_by_sha256(
    store: &PgStore,
    corp_id: &str,
    sha256: &str,
) -> Result<Vec<MessageMedia>, StoreError> {
    todo!("postgres: media_by_sha256")
}

pub(super) fn messages_media(
    store: &PgStore,
    corp_id: &str,
    msgids: &[String],
) -> Result<Vec<MessageMedia>, StoreError> {
    todo!("postgres: messages_media")
}

pub(super) fn media_stats(store: &PgStore, corp_id: &str) -> Result<MediaStats, StoreError> {
    todo!("postgres: media_stats")
}

pub(super) fn media_jobs(
    store: &PgStore,
    corp_id: &str,
    state: Option<MediaJobState>,
    after_id: i64,
    limit: usize,
) -> Result<Vec<MediaJob>, StoreError> {
    todo!("postgres: media_jobs")
}

pub(super) fn message_media(
    store: &PgStore,
    corp_id: &str,
    msgid: &str,
) -> Result<Vec<MessageMedia>, StoreError> {
    todo!("postgres: message_media")
}
