//! The storage seam in our own terms: what the sync engine hands the store and what it can ask back.
//! Backend-neutral on purpose — nothing here names SQL or a driver type.

use std::collections::BTreeMap;

use wecom_model::Envelope;
use wecom_wire::ChatDataItem;

use crate::StoreError;

/// The stages at which decrypting or parsing a record can fail ([`Failure::stage`]).
///
/// Stores accept any stage text: a label must never make a page unstorable, because the encrypted
/// records of a rejected page would not be stored either.
pub mod stage {
    /// No private key for the record's `publickey_ver` (SDK code 10007).
    pub const NO_KEY: &str = "no_key";
    /// RSA decryption of `encrypt_random_key` failed (SDK code 10006).
    pub const RSA: &str = "rsa";
    /// `DecryptData` on `encrypt_chat_msg` failed (SDK codes 10005, 10008, ...).
    pub const DECRYPT_DATA: &str = "decrypt_data";
    /// The plaintext decrypted but is not a readable envelope (SDK-style code 10002).
    pub const JSON: &str = "json";
    /// The decryptor itself failed (a bug, e.g. a panicked worker); retrying may succeed.
    pub const INTERNAL: &str = "internal";
}

/// One fetched record and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestedRecord {
    /// The encrypted record as the source returned it; stored verbatim.
    pub item: ChatDataItem,
    /// When it was fetched, Unix milliseconds.
    pub fetched_at_ms: i64,
    pub outcome: Outcome,
}

/// The result of decrypting and parsing one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `plaintext` is exactly what decryption produced; `envelope` was parsed from it. The message
    /// is stored under the record's msgid (`item.msgid`), which in practice equals `envelope.msgid`;
    /// the envelope's own value stays in its JSON.
    Decrypted {
        plaintext: Vec<u8>,
        envelope: Envelope,
    },
    Failed(Failure),
}

/// Why a record could not be decrypted or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Where it failed; see [`stage`] for the values in use.
    pub stage: String,
    /// SDK-style code (10007, 10006, 10005, 10008, 10002, ...).
    pub code: i32,
    pub reason: String,
    /// Bytes that decrypted but did not parse, kept so no content is lost while the parser catches up.
    pub plaintext: Option<Vec<u8>>,
}

/// One page of fetched records, committed in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct PageCommit {
    pub records: Vec<IngestedRecord>,
    /// The cursor after this page: the page's largest seq, or the previous cursor for an empty page.
    pub cursor: u64,
}

/// What [`ArchiveStore::commit_page`] did. `inserted + duplicates` is the number of records in the
/// page; `failed` counts the newly inserted records whose outcome was a failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    pub inserted: u64,
    pub duplicates: u64,
    pub failed: u64,
}

/// What [`ArchiveStore::resolve_failures`] did, one count per input pair.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResolveStats {
    /// Decrypted now: the message was stored and the failure removed.
    pub resolved: u64,
    /// Failed again: the failure was updated.
    pub still_failed: u64,
    /// No failure is stored under that msgid (never failed, or already resolved); nothing changed.
    pub not_found: u64,
}

/// A stored failure with the encrypted record it belongs to, so it can be decrypted again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecord {
    pub item: ChatDataItem,
    /// The latest failure.
    pub failure: Failure,
    /// How many times the record failed: 1 at ingest, +1 per failed retry.
    pub attempts: u32,
    pub first_failed_at_ms: i64,
    pub last_failed_at_ms: i64,
}

/// Counts over one corp's archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Encrypted records stored.
    pub records: u64,
    /// Records stored as decrypted messages.
    pub decrypted: u64,
    /// Records with a pending failure.
    pub failed: u64,
    pub failed_by_code: BTreeMap<i32, u64>,
    /// Distinct msgids among the encrypted records (equal to `records`: msgids are unique per corp).
    pub distinct_msgids: u64,
    /// The stored cursor (0 if none).
    pub cursor_seq: u64,
    /// Decrypted messages per msgtype; switch records count under `"switch"`, any other record
    /// without a msgtype under `"(none)"`.
    pub by_msgtype: BTreeMap<String, u64>,
    /// Decrypted messages per action.
    pub by_action: BTreeMap<String, u64>,
    /// Smallest and largest message time (ms) among decrypted messages, ignoring 0 (the envelope's
    /// value for an absent time).
    pub first_msgtime: Option<i64>,
    pub last_msgtime: Option<i64>,
}

/// The archive store. Blocking: async callers run it on a blocking thread.
///
/// Every method is scoped to one `corp_id`; corps never see each other's data.
pub trait ArchiveStore: Send {
    /// The stored cursor of `corp_id`, 0 if it never committed a page.
    fn cursor(&self, corp_id: &str) -> Result<u64, StoreError>;

    /// One transaction: insert the encrypted records, their decrypted messages or failures, and set
    /// the cursor to `page.cursor` (as given: a smaller value than the stored one rewinds it, which
    /// only causes records to be fetched again as duplicates).
    ///
    /// Idempotent: a record whose msgid or whose seq is already stored is a duplicate and is left
    /// alone — never overwritten, its outcome ignored, even if the stored record has another seq or
    /// msgid. Replaying a page therefore changes nothing but the cursor and counts duplicates. A
    /// stored failure is retried through [`ArchiveStore::resolve_failures`], not by replaying.
    ///
    /// On error nothing of the page is stored and the cursor does not move.
    fn commit_page(&mut self, corp_id: &str, page: &PageCommit) -> Result<CommitStats, StoreError>;

    /// Up to `limit` stored failures with their encrypted records, oldest seq first.
    fn failed_records(&self, corp_id: &str, limit: usize) -> Result<Vec<FailedRecord>, StoreError>;

    /// One transaction: for each `(msgid, outcome)` with a stored failure, `Decrypted` stores the
    /// message and deletes the failure; `Failed` replaces the failure's stage, code, reason and
    /// plaintext, adds one attempt and sets `last_failed_at_ms = now_ms`. Msgids without a stored
    /// failure are counted as `not_found` and change nothing.
    fn resolve_failures(
        &mut self,
        corp_id: &str,
        results: &[(String, Outcome)],
        now_ms: i64,
    ) -> Result<ResolveStats, StoreError>;

    /// Counts over the corp's archive, read from one consistent snapshot.
    fn stats(&self, corp_id: &str) -> Result<Stats, StoreError>;

    /// `(seq, msgid)` of every encrypted record, ascending seq (as u64) — for verification against a
    /// source.
    fn record_ids(&self, corp_id: &str) -> Result<Vec<(u64, String)>, StoreError>;

    /// The exact decrypted bytes of a record: a message's plaintext, or the plaintext kept with a
    /// failure that decrypted but did not parse. `None` if neither exists.
    fn plaintext(&self, corp_id: &str, msgid: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Readiness probe: the database answers a query.
    fn ping(&self) -> Result<(), StoreError>;
}
