//! ArchiveReader on PostgreSQL.

#![allow(unused)]

use super::PgStore;
use crate::names::*;
use crate::*;
use wecom_wire::ChatDataItem;

impl ArchiveReader for PgStore {
    fn cursor(&self, corp_id: &str) -> Result<u64, StoreError> {
        todo!("postgres: ArchiveReader::cursor")
    }

    fn feed(
        &self,
        corp_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        todo!("postgres: ArchiveReader::feed")
    }

    fn feed_head(&self, corp_id: &str) -> Result<u64, StoreError> {
        todo!("postgres: ArchiveReader::feed_head")
    }

    fn follower_position(&self, corp_id: &str, follower: &str) -> Result<u64, StoreError> {
        todo!("postgres: ArchiveReader::follower_position")
    }

    fn stats(&self, corp_id: &str) -> Result<Stats, StoreError> {
        todo!("postgres: ArchiveReader::stats")
    }

    fn quarantined_items(
        &self,
        corp_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredQuarantine>, StoreError> {
        todo!("postgres: ArchiveReader::quarantined_items")
    }

    fn max_record_seq(&self, corp_id: &str) -> Result<Option<u64>, StoreError> {
        todo!("postgres: ArchiveReader::max_record_seq")
    }

    fn sample_records(
        &self,
        corp_id: &str,
        newest: usize,
    ) -> Result<Vec<ChatDataItem>, StoreError> {
        todo!("postgres: ArchiveReader::sample_records")
    }

    fn record_ids(&self, corp_id: &str) -> Result<Vec<(u64, String)>, StoreError> {
        todo!("postgres: ArchiveReader::record_ids")
    }

    fn plaintext(&self, corp_id: &str, msgid: &str) -> Result<Option<Vec<u8>>, StoreError> {
        todo!("postgres: ArchiveReader::plaintext")
    }

    fn conversations(
        &self,
        corp_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        todo!("postgres: ArchiveReader::conversations")
    }

    fn conversation_list(
        &self,
        corp_id: &str,
        filter: &ConversationFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        todo!("postgres: ArchiveReader::conversation_list")
    }

    fn conversation_messages_before(
        &self,
        corp_id: &str,
        key: &str,
        before: (i64, u64),
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        todo!("postgres: ArchiveReader::conversation_messages_before")
    }

    fn conversation_involves(
        &self,
        corp_id: &str,
        key: &str,
        ids: &[String],
    ) -> Result<bool, StoreError> {
        todo!("postgres: ArchiveReader::conversation_involves")
    }

    fn conversations_involving(
        &self,
        corp_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        todo!("postgres: ArchiveReader::conversations_involving")
    }

    fn media_by_sha256(
        &self,
        corp_id: &str,
        sha256: &str,
    ) -> Result<Vec<MessageMedia>, StoreError> {
        super::media::media_by_sha256(self, corp_id, sha256)
    }

    fn messages_media(
        &self,
        corp_id: &str,
        msgids: &[String],
    ) -> Result<Vec<MessageMedia>, StoreError> {
        super::media::messages_media(self, corp_id, msgids)
    }

    fn department_members(
        &self,
        corp_id: &str,
        departments: &[u64],
    ) -> Result<Vec<String>, StoreError> {
        super::names::department_members(self, corp_id, departments)
    }

    fn conversation_messages(
        &self,
        corp_id: &str,
        key: &str,
        after: Option<(i64, u64)>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        todo!("postgres: ArchiveReader::conversation_messages")
    }

    fn message(&self, corp_id: &str, msgid: &str) -> Result<Option<StoredMessage>, StoreError> {
        todo!("postgres: ArchiveReader::message")
    }

    fn ping(&self) -> Result<(), StoreError> {
        todo!("postgres: ArchiveReader::ping")
    }

    fn seq_gaps(&self, corp_id: &str, limit: usize) -> Result<Vec<(u64, u64)>, StoreError> {
        todo!("postgres: ArchiveReader::seq_gaps")
    }

    fn daily_counts(&self, corp_id: &str) -> Result<Vec<(String, u64)>, StoreError> {
        todo!("postgres: ArchiveReader::daily_counts")
    }

    fn media_stats(&self, corp_id: &str) -> Result<MediaStats, StoreError> {
        super::media::media_stats(self, corp_id)
    }

    fn media_jobs(
        &self,
        corp_id: &str,
        state: Option<MediaJobState>,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<MediaJob>, StoreError> {
        super::media::media_jobs(self, corp_id, state, after_id, limit)
    }

    fn message_media(&self, corp_id: &str, msgid: &str) -> Result<Vec<MessageMedia>, StoreError> {
        super::media::message_media(self, corp_id, msgid)
    }

    fn rooms(
        &self,
        corp_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<RoomEntry>, StoreError> {
        super::names::rooms(self, corp_id, limit, offset)
    }

    fn room(&self, corp_id: &str, roomid: &str) -> Result<Option<RoomDetail>, StoreError> {
        super::names::room(self, corp_id, roomid)
    }

    fn people(
        &self,
        corp_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<PersonEntry>, StoreError> {
        super::names::people(self, corp_id, limit, offset)
    }

    fn person(&self, corp_id: &str, id: &str) -> Result<Option<PersonEntry>, StoreError> {
        super::names::person(self, corp_id, id)
    }

    fn name_stats(&self, corp_id: &str) -> Result<NameStats, StoreError> {
        super::names::name_stats(self, corp_id)
    }

    fn display_names(
        &self,
        corp_id: &str,
        ids: &[String],
        roomid: Option<&str>,
    ) -> Result<Vec<DisplayName>, StoreError> {
        super::names::display_names(self, corp_id, ids, roomid)
    }

    fn permit_users(&self, corp_id: &str) -> Result<Vec<PermitUser>, StoreError> {
        super::names::permit_users(self, corp_id)
    }

    fn permit_checked_at(&self, corp_id: &str) -> Result<Option<i64>, StoreError> {
        super::names::permit_checked_at(self, corp_id)
    }

    fn consents(&self, corp_id: &str, id: &str) -> Result<Vec<Consent>, StoreError> {
        super::names::consents(self, corp_id, id)
    }
}
