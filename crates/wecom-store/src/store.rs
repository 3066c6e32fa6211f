//! The storage seam in our own terms: what the sync engine hands the store and what it can ask back.
//! Backend-neutral on purpose — nothing here names SQL or a driver type.

use std::collections::BTreeMap;

use wecom_model::{Envelope, MediaRef, Quote, QuoteFormat};
use wecom_wire::{ChatDataItem, QuarantinedItem};

use crate::StoreError;
use crate::media::{
    MediaJob, MediaJobOutcome, MediaJobResult, MediaJobState, MediaObject, MediaStats, MessageMedia,
};
use crate::names::{
    Consent, ConsentDue, ConsentSubject, DiscoverStats, Discovery, DisplayName, NameStats,
    PermitChange, PermitUser, PersonEntry, PersonResolution, RoomDetail, RoomEntry, RoomResolution,
};

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

/// How far back a quoted reply looks for the message it quotes: 7 days before its own msgtime.
pub const QUOTE_WINDOW_MS: i64 = 7 * 24 * 60 * 60 * 1000;

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
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every record decrypts, so boxing the large variant would only add an \
              allocation per record"
)]
pub enum Outcome {
    /// `plaintext` is exactly what decryption produced; `envelope` was parsed from it and
    /// `derived` from the envelope ([`Derived::from_envelope`], computed by the caller so the
    /// store's single writer never parses JSON). The message is stored under the record's msgid
    /// (`item.msgid`), which in practice equals `envelope.msgid`; the envelope's own value stays
    /// in its JSON.
    Decrypted {
        plaintext: Vec<u8>,
        envelope: Envelope,
        derived: Derived,
    },
    Failed(Failure),
}

/// What the archive stores about a message beyond its envelope: the facts
/// [`wecom_model::understand`] derives, in storable form. Always recomputable from the stored
/// JSON, which is how archives written before these facts existed are upgraded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The conversation key's stable string form (`room:…`, `pair:a|b`, `members:…`, `solo:…`,
    /// `switch:…`; see [`wecom_model::ConversationKey`]).
    pub conversation: String,
    /// Rooms and roomless multi-party conversations.
    pub is_group: bool,
    /// The msgid ends with `_external`.
    pub external: bool,
    /// The msgid ends with `_updown_stream`.
    pub updown_stream: bool,
    /// For recalls: the msgid of the recalled message, which stays in the archive, only marked.
    pub recall_of: Option<String>,
    /// For quoted replies: the quote taken apart, used to find the quoted message.
    pub quote: Option<QuoteParts>,
    /// Searchable text (empty for messages without human-written text).
    pub text: String,
    /// What did not match the documented shapes, as readable sentences; empty for well-formed
    /// records.
    pub warnings: Vec<String>,
    /// Every downloadable media object, nested ones included. Carried for the media stage; the
    /// store keeps no columns for it (the JSON has it all).
    pub media: Vec<MediaRef>,
}

/// A quoted reply's parts (see [`wecom_model::Quote`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteParts {
    /// As written: usually a display name, sometimes an id.
    pub user: String,
    pub text: String,
    pub reply: String,
}

impl Derived {
    /// Derives the facts of a record. Never fails: what does not match the documented shapes
    /// becomes a warning.
    pub fn from_envelope(envelope: &Envelope) -> Derived {
        let message = wecom_model::understand(envelope);
        Derived {
            conversation: message.conversation.to_string(),
            is_group: message.conversation.is_group(),
            external: message.flags.external,
            updown_stream: message.flags.updown_stream,
            recall_of: message.recall_of,
            quote: message.quote.map(|q| QuoteParts {
                user: q.quoted_user,
                text: q.quoted_text,
                reply: q.reply,
            }),
            text: message.text,
            warnings: message.warnings.iter().map(ToString::to_string).collect(),
            media: message.media,
        }
    }
}

impl QuoteParts {
    /// The parts as a [`Quote`] for [`wecom_model::quote_matches`], which judges by user and
    /// text only: the format is not kept, so any value serves.
    pub(crate) fn to_quote(&self) -> Quote {
        Quote {
            quoted_user: self.user.clone(),
            quoted_text: self.text.clone(),
            reply: self.reply.clone(),
            format: QuoteFormat::Archive,
        }
    }
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
    /// Items of the page that could not be archived as records (unreadable, or an implausible
    /// seq), kept raw in the same transaction; they never move the cursor.
    pub quarantined: Vec<QuarantinedItem>,
    /// The cursor after this page: the page's largest seq, or the previous cursor for an empty page.
    pub cursor: u64,
}

/// What [`ArchiveWriter::commit_page`] did. `inserted + duplicates` is the number of records in the
/// page; `failed` counts the newly inserted records whose outcome was a failure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    pub inserted: u64,
    pub duplicates: u64,
    pub failed: u64,
    /// Quarantined items of the page seen for the first time.
    pub quarantined: u64,
}

/// An item kept raw in quarantine ([`ArchiveReader::quarantined_items`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredQuarantine {
    pub seq: Option<u64>,
    /// `unparseable`, `implausible_seq` or `seq_jump` ([`wecom_wire::QuarantineReason::kind`]).
    pub kind: String,
    pub reason: String,
    /// Size of the kept bytes.
    pub raw_len: u64,
    /// The cursor when the item was first seen.
    pub cursor_seq: u64,
    pub first_seen_at_ms: i64,
    pub last_seen_at_ms: i64,
    /// How many pages brought it (a quarantined item above the cursor comes again on every sync).
    pub times_seen: u64,
}

/// What [`ArchiveWriter::set_cursor`] found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CursorChange {
    pub previous: u64,
    /// The cursor now (`previous` when the move was refused).
    pub now: u64,
    /// Archived records with a seq in `(new, previous]`: a move backwards past them fetches them
    /// again (as duplicates), so it is refused unless forced.
    pub records_passed: u64,
    /// Quarantined items with a seq in `(previous, new]`: a move forward skips them.
    pub quarantined_skipped: u64,
    /// Whether the cursor was written.
    pub moved: bool,
}

/// What [`ArchiveWriter::resolve_failures`] did, one count per input pair.
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
    /// Items kept raw in quarantine (unreadable, or an implausible seq), by kind.
    pub quarantined_by_kind: BTreeMap<String, u64>,
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
    /// Distinct conversations among decrypted messages (switch records count per user, as
    /// `switch:<user>`).
    pub conversations: u64,
    /// Messages marked recalled by a stored recall record.
    pub recalled: u64,
    /// Messages stored with at least one parse warning.
    pub with_warnings: u64,
}

/// One conversation of an archive ([`ArchiveReader::conversations`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationSummary {
    /// The conversation key's string form ([`Derived::conversation`]).
    pub key: String,
    pub is_group: bool,
    /// The group's roomid; empty for conversations without one.
    pub roomid: String,
    /// Decrypted records in the conversation, recall records included.
    pub messages: u64,
    pub first_msgtime: i64,
    pub last_msgtime: i64,
    /// Distinct senders (`from`), at most 20, most active first (ties by id).
    pub senders: Vec<String>,
    /// A message of it has the `_external` msgid flag, or a participant is an external contact
    /// or a robot by shape ([`wecom_model::classify_id`]).
    pub external: bool,
    /// Participants (the union over its messages of `from` and every `tolist` id, empty ids
    /// skipped), ascending, at most [`MAX_LISTED_PARTICIPANTS`].
    pub participants: Vec<String>,
    /// All participants, also those beyond the ones listed.
    pub participant_count: u64,
}

/// How many participants a [`ConversationSummary`] lists.
pub const MAX_LISTED_PARTICIPANTS: usize = 50;

/// Filters of [`ArchiveReader::conversation_list`]. All set filters must hold (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationFilter {
    /// Only conversations with at least one of these participants (a reviewer's scope).
    /// `Some(vec![])` = none.
    pub any_participant: Option<Vec<String>>,
    /// Only conversations this person took part in.
    pub person: Option<String>,
    /// Only this room's conversation.
    pub roomid: Option<String>,
    /// Only external (true) / only internal (false) conversations.
    pub external: Option<bool>,
    /// Only conversations with activity in `[since, until)` (Unix ms): `last_msgtime >= since`
    /// and `first_msgtime < until`.
    pub active_since_ms: Option<i64>,
    pub active_until_ms: Option<i64>,
}

/// A decrypted message as stored, with its derived columns and links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    pub seq: u64,
    pub msgid: String,
    pub action: String,
    pub from: String,
    pub tolist: Vec<String>,
    pub roomid: String,
    pub msgtime: i64,
    /// `None` for switch records.
    pub msgtype: Option<String>,
    pub conversation: String,
    pub text: String,
    pub external: bool,
    pub updown_stream: bool,
    /// For recall records: the msgid they recall.
    pub recall_of: Option<String>,
    /// The msgid of the recall record that recalled this message; the message itself is kept.
    pub recalled_by: Option<String>,
    /// Who sent that recall record.
    pub recalled_by_user: Option<String>,
    /// When (the recall record's msgtime, ms).
    pub recalled_at: Option<i64>,
    /// The msgid of the message this quoted reply quotes, when it was found.
    pub quote_of: Option<String>,
    pub warnings: Vec<String>,
    /// The envelope's JSON text.
    pub json: String,
    /// The message's place in the corp's change feed ([`ArchiveReader::feed`]).
    pub feed_pos: u64,
}

/// The archive writer: what the sync engine and `redecrypt` write. One writer per archive
/// (the caller holds [`crate::WriterLock`]); the store serialises its own write transactions.
/// Blocking: async callers run it with [`crate::blocking`].
///
/// Every method is scoped to one `corp_id`; corps never see each other's data.
pub trait ArchiveWriter: Send + Sync {
    /// The stored cursor of `corp_id`, 0 if it never committed a page.
    fn cursor(&self, corp_id: &str) -> Result<u64, StoreError>;

    /// One transaction: insert the encrypted records, their decrypted messages or failures, and set
    /// the cursor to `page.cursor` (as given: a smaller value than the stored one rewinds it, which
    /// only causes records to be fetched again as duplicates).
    ///
    /// Idempotent: a record whose msgid or whose seq is already stored is a duplicate and is left
    /// alone — never overwritten, its outcome ignored, even if the stored record has another seq or
    /// msgid. Replaying a page therefore changes nothing but the cursor and counts duplicates. A
    /// stored failure is retried through [`Self::resolve_failures`], not by replaying.
    ///
    /// Decrypted messages are stored with their [`Derived`] facts and linked, the links seeing
    /// every message stored before and every earlier record of the same page:
    /// - a recall record marks the message it recalls (`recalled_by`, `recalled_at`), whether that
    ///   message was stored before the recall or arrives after it; the recalled message is kept.
    ///   A message recalled twice keeps its first mark; a recall of a msgid never stored only
    ///   waits for it;
    /// - a quoted reply links (`quote_of`) to the newest text message of the same conversation,
    ///   sent at most [`QUOTE_WINDOW_MS`] before it, that [`wecom_model::quote_matches`]; against
    ///   a candidate that is itself a quoted reply, only its reply counts. A reply stored before
    ///   the message it quotes stays unlinked.
    ///
    /// On error nothing of the page is stored and the cursor does not move. On a store several
    /// nodes share ([`crate::Cluster`]), once this store took a lease, a page of a corp whose
    /// lease another node took over fails with [`crate::StoreErrorKind::LeaseLost`].
    fn commit_page(&self, corp_id: &str, page: &PageCommit) -> Result<CommitStats, StoreError>;

    /// Sets the cursor by hand, in one transaction with the checks: a move backwards past archived
    /// records is refused (nothing written, `moved` false) unless `force`. Counts what the move
    /// passes (records behind, quarantined items skipped ahead).
    fn set_cursor(&self, corp_id: &str, seq: u64, force: bool) -> Result<CursorChange, StoreError>;

    /// Up to `limit` stored failures with their encrypted records, oldest seq first.
    fn failed_records(&self, corp_id: &str, limit: usize) -> Result<Vec<FailedRecord>, StoreError>;

    /// One transaction: for each `(msgid, outcome)` with a stored failure, `Decrypted` stores the
    /// message (derived facts and links as in [`Self::commit_page`]) and deletes the
    /// failure; `Failed` replaces the failure's stage, code, reason and
    /// plaintext, adds one attempt and sets `last_failed_at_ms = now_ms`. Msgids without a stored
    /// failure are counted as `not_found` and change nothing.
    fn resolve_failures(
        &self,
        corp_id: &str,
        results: &[(String, Outcome)],
        now_ms: i64,
    ) -> Result<ResolveStats, StoreError>;
}

/// The archive reader: every read a view, a follower or a check needs. `Send + Sync`: one
/// reader serves many threads at once, each read on a read-only connection of its own beside the
/// writer (never waiting for a page commit), from one consistent snapshot per call.
/// Blocking: async callers run it with [`crate::blocking`].
///
/// Every method is scoped to one `corp_id`; corps never see each other's data.
pub trait ArchiveReader: Send + Sync {
    /// The stored cursor of `corp_id`, 0 if it never committed a page.
    fn cursor(&self, corp_id: &str) -> Result<u64, StoreError>;

    /// The change feed: up to `limit` decrypted messages with a feed position above `after`, in
    /// position order. Positions are per corp, strictly increasing in the order messages were
    /// stored, assigned in the transaction that stores the message and never reused or
    /// reordered (a replay stores nothing; a redecrypted record enters the feed when its message
    /// first exists, after everything stored before). A read sees a gapless prefix of the feed.
    fn feed(
        &self,
        corp_id: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError>;

    /// The last feed position handed out for the corp; 0 if none.
    fn feed_head(&self, corp_id: &str) -> Result<u64, StoreError>;

    /// The stored position of a follower whose output is kept in the archive (`names`); 0 if
    /// it never stored one.
    fn follower_position(&self, corp_id: &str, follower: &str) -> Result<u64, StoreError>;

    /// Counts over the corp's archive, read from one consistent snapshot.
    fn stats(&self, corp_id: &str) -> Result<Stats, StoreError>;

    /// Quarantined items, by seq (items without a readable seq last), at most `limit`.
    fn quarantined_items(
        &self,
        corp_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredQuarantine>, StoreError>;

    /// The largest archived seq (in u64 order), if any record is stored.
    fn max_record_seq(&self, corp_id: &str) -> Result<Option<u64>, StoreError>;

    /// A sample of the stored encrypted records to check the keys against (`doctor`): the
    /// `newest` most recently stored, plus the most recent of each `publickey_ver` among the last
    /// 10,000 stored; newest first, each record once.
    fn sample_records(&self, corp_id: &str, newest: usize)
    -> Result<Vec<ChatDataItem>, StoreError>;

    /// `(seq, msgid)` of every encrypted record, ascending seq (as u64) — for verification against a
    /// source.
    fn record_ids(&self, corp_id: &str) -> Result<Vec<(u64, String)>, StoreError>;

    /// The exact decrypted bytes of a record: a message's plaintext, or the plaintext kept with a
    /// failure that decrypted but did not parse. `None` if neither exists.
    fn plaintext(&self, corp_id: &str, msgid: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// Up to `limit` conversations after skipping `offset`, most recent activity (last msgtime)
    /// first, ties by key. Every key among the decrypted records is one, `switch:<user>` (the
    /// switch records of a user) included.
    fn conversations(
        &self,
        corp_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError>;

    /// Up to `limit` conversations that pass `filter` after skipping `offset`, in the order of
    /// [`Self::conversations`] (last msgtime descending, ties by key). A filter of no
    /// participants (`any_participant: Some(vec![])`) passes none.
    fn conversation_list(
        &self,
        corp_id: &str,
        filter: &ConversationFilter,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError>;

    /// Up to `limit` messages of conversation `key` strictly before the `(msgtime, seq)`
    /// cursor `before` — the ones immediately before it — in ascending `(msgtime, seq)` order.
    /// `(i64::MAX, i64::MAX as u64)` is past every message (the newest ones).
    fn conversation_messages_before(
        &self,
        corp_id: &str,
        key: &str,
        before: (i64, u64),
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError>;

    /// Whether any participant of conversation `key` is in `ids` (false for an empty list or
    /// an unknown key).
    fn conversation_involves(
        &self,
        corp_id: &str,
        key: &str,
        ids: &[String],
    ) -> Result<bool, StoreError>;

    /// Every conversation key with a participant in `ids`, ascending, each once.
    fn conversations_involving(
        &self,
        corp_id: &str,
        ids: &[String],
    ) -> Result<Vec<String>, StoreError>;

    /// Every media job (any state, ascending id) whose stored object has this sha256, each with
    /// its object (as [`Self::message_media`]).
    fn media_by_sha256(&self, corp_id: &str, sha256: &str)
    -> Result<Vec<MessageMedia>, StoreError>;

    /// The media jobs of several messages at once (as [`Self::message_media`]), ascending job
    /// id; msgids without jobs or not stored add nothing.
    fn messages_media(
        &self,
        corp_id: &str,
        msgids: &[String],
    ) -> Result<Vec<MessageMedia>, StoreError>;

    /// The userids whose recorded department list contains any of `departments`, ascending,
    /// each once.
    fn department_members(
        &self,
        corp_id: &str,
        departments: &[u64],
    ) -> Result<Vec<String>, StoreError>;

    /// Up to `limit` messages of conversation `key` in ascending `(msgtime, seq)` order, strictly
    /// after the `(msgtime, seq)` cursor `after` (the last message of the previous page).
    ///
    /// Seqs above `i64::MAX` (never seen in practice) may order differently from u64 order among
    /// messages of the same msgtime; paging still returns each message exactly once.
    fn conversation_messages(
        &self,
        corp_id: &str,
        key: &str,
        after: Option<(i64, u64)>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError>;

    /// One decrypted message by msgid; `None` if none is stored (a failure is not a message).
    fn message(&self, corp_id: &str, msgid: &str) -> Result<Option<StoredMessage>, StoreError>;

    /// Readiness probe: the database answers a query.
    fn ping(&self) -> Result<(), StoreError>;

    /// Completeness: the holes in the archived seq sequence, as inclusive `(first, last)` missing
    /// ranges between the lowest and the highest archived seq, at most `limit` of them. WeCom's seq
    /// is enterprise-wide, so holes are normal (records of members outside the archive scope); a
    /// hole that grows while others do not is worth a look.
    fn seq_gaps(&self, corp_id: &str, limit: usize) -> Result<Vec<(u64, u64)>, StoreError>;

    /// Completeness: decrypted messages per day (China time, `YYYY-MM-DD`), oldest first.
    fn daily_counts(&self, corp_id: &str) -> Result<Vec<(String, u64)>, StoreError>;

    /// Counts over the corp's queue and stored objects, from one consistent snapshot.
    fn media_stats(&self, corp_id: &str) -> Result<MediaStats, StoreError>;

    /// Up to `limit` jobs with an id above `after_id`, ascending id, in `state` or any.
    fn media_jobs(
        &self,
        corp_id: &str,
        state: Option<MediaJobState>,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<MediaJob>, StoreError>;

    /// The jobs of one message, by id, each with the object it stored (in `objects` when done, in
    /// `quarantine` after a final mismatch).
    fn message_media(&self, corp_id: &str, msgid: &str) -> Result<Vec<MessageMedia>, StoreError>;

    /// Up to `limit` rooms after skipping `offset`: named ones by name, then the others, ties by
    /// roomid.
    fn rooms(
        &self,
        corp_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<RoomEntry>, StoreError>;

    /// One room with its members and name history; `None` if the archive does not know it.
    fn room(&self, corp_id: &str, roomid: &str) -> Result<Option<RoomDetail>, StoreError>;

    /// Up to `limit` people after skipping `offset`, ordered as [`Self::rooms`].
    fn people(
        &self,
        corp_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<PersonEntry>, StoreError>;

    /// One person; `None` if the archive does not know them.
    fn person(&self, corp_id: &str, id: &str) -> Result<Option<PersonEntry>, StoreError>;

    /// Counts over names, scope and consent, from one consistent snapshot.
    fn name_stats(&self, corp_id: &str) -> Result<NameStats, StoreError>;

    /// How each id is shown, in input order: the person's name (or for a roomid, the room's);
    /// else, with `roomid`, the member's nickname in that room, then the member name the room API
    /// reported; else [`crate::names::fallback_label`].
    fn display_names(
        &self,
        corp_id: &str,
        ids: &[String],
        roomid: Option<&str>,
    ) -> Result<Vec<DisplayName>, StoreError>;

    /// Every userid ever in scope, ascending.
    fn permit_users(&self, corp_id: &str) -> Result<Vec<PermitUser>, StoreError>;

    /// When the permit list was last recorded; `None` if never.
    fn permit_checked_at(&self, corp_id: &str) -> Result<Option<i64>, StoreError>;

    /// The stored consent statuses that involve `id` (an external contact, an employee of a pair,
    /// or a roomid), ordered by subject then contact.
    fn consents(&self, corp_id: &str, id: &str) -> Result<Vec<Consent>, StoreError>;
}

/// The media download queue. Jobs are created by [`ArchiveWriter::commit_page`] and
/// [`ArchiveWriter::resolve_failures`] with their messages (one per `Derived::media` reference,
/// keyed by msgid and path); the methods below move them through their states. Times are Unix
/// milliseconds passed in by the caller. Blocking.
pub trait MediaQueue: Send + Sync {
    /// One transaction: marks up to `limit` due jobs (`pending`, or `failed_retryable` with
    /// `next_attempt_at_ms <= now_ms`) `downloading` and returns them at risk first: jobs whose
    /// message time is at or after `retention_edge_ms` (still inside the retention window)
    /// oldest first, then the older ones (past the window as configured, which is only a guess:
    /// WeCom may still hold them) newest first — each side nearest to the edge first, then by id.
    /// `i64::MIN` as the edge is plain oldest-first. A claimed job is not handed out again until
    /// its result is recorded or it is requeued — on a store several nodes share (PostgreSQL),
    /// until its claim lapses: the claim's deadline passes, or its node's heartbeat lapses (the
    /// node died), and another node may then claim it. No job is ever given up here: only
    /// WeCom's answer (recorded as `Expired`) expires one.
    fn claim_media_jobs(
        &self,
        corp_id: &str,
        now_ms: i64,
        retention_edge_ms: i64,
        limit: usize,
    ) -> Result<Vec<MediaJob>, StoreError>;

    /// One transaction: records the results of claimed jobs and the objects they stored; returns
    /// how many jobs changed. `Done` completes any job not done yet (verified bytes are the
    /// truth, even from a claim that was requeued meanwhile); every other outcome applies only to
    /// a job still `downloading`, so a stale result never overwrites a newer one. Every outcome
    /// but `Released` and `Deferred` counts an attempt; `md5_mismatches` are added to the job's.
    /// Unknown ids and other corps' jobs change nothing.
    fn record_media_results(
        &self,
        corp_id: &str,
        results: &[MediaJobResult],
        now_ms: i64,
    ) -> Result<u64, StoreError>;

    /// Completes one claimed job ([`Self::record_media_results`] with `Done`).
    fn complete_media_job(
        &self,
        corp_id: &str,
        job_id: i64,
        object: &MediaObject,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let result = MediaJobResult {
            job_id,
            outcome: MediaJobOutcome::Done(object.clone()),
            md5_mismatches: 0,
        };
        Ok(self.record_media_results(corp_id, &[result], now_ms)? > 0)
    }

    /// Gives one claimed job back unattempted (a cancelled download): `pending`, no attempt
    /// counted.
    fn release_media_job(
        &self,
        corp_id: &str,
        job_id: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let result = MediaJobResult {
            job_id,
            outcome: MediaJobOutcome::Released,
            md5_mismatches: 0,
        };
        Ok(self.record_media_results(corp_id, &[result], now_ms)? > 0)
    }

    /// Puts every job of the corp left `downloading` back to `pending` (no attempt counted):
    /// what a crash or a kill left claimed (on a shared store: this node's claims, lapsed claims
    /// and unclaimed jobs, never a live claim of another node); and the jobs earlier versions expired by the clock
    /// (`expired` with code `retention_window`, never asked for), due at once. Call it when the corp's workers start, not on every
    /// open, so a second process (a `stats` command) never steals a running download.
    fn requeue_interrupted_media_jobs(&self, corp_id: &str, now_ms: i64)
    -> Result<u64, StoreError>;

    /// Makes every `failed_retryable` job due now; with `include_permanent`, `failed_permanent`
    /// jobs too, with a fresh budget (attempts and md5 mismatches reset). Expired jobs stay
    /// expired. Returns how many jobs were queued again.
    fn retry_media_jobs(
        &self,
        corp_id: &str,
        include_permanent: bool,
        now_ms: i64,
    ) -> Result<u64, StoreError>;
}

/// The directory: names for rooms and people, the archive scope and consent (see
/// `crate::names`), written by the name resolver. Times are Unix milliseconds passed in by the
/// caller. Blocking.
pub trait Directory: Send + Sync {
    /// One transaction: adds a `pending` room entry for every roomid of `found` not known yet
    /// (marking the rooms of `found.rooms_with_external`) and a `pending` person entry for every
    /// new person id (an id known as a room is not a person), due at `now_ms`; and sets the
    /// `names` follower position to `through` (never backwards), so discovery resumes after the
    /// last feed position it stored the ids of. `scanned` echoes `found.messages`.
    fn record_discovered(
        &self,
        corp_id: &str,
        found: &Discovery,
        through: u64,
        now_ms: i64,
    ) -> Result<DiscoverStats, StoreError>;

    /// Up to `limit` rooms whose `next_check_ms <= now_ms`, never-checked ones first, then by
    /// `next_check_ms`, then roomid.
    fn due_rooms(
        &self,
        corp_id: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<RoomEntry>, StoreError>;

    /// One transaction: records what checking a room found and when it is due again. An unknown
    /// roomid is added first (with `first_seen_ms = now_ms`).
    /// - `Named`: state `named`, every field replaced, members replaced (admins flagged), errors
    ///   and attempts cleared; when the name differs from the newest name of the history (or
    ///   there is none), `(name, now_ms)` is appended to the history.
    /// - `Unresolvable`: state `unresolvable`, errcode and reason kept, attempts + 1; a known name,
    ///   members and history are kept.
    /// - `Failed`: attempts + 1, errcode and reason kept; state `failed` unless the room was named
    ///   or unresolvable before, which it stays (a passing failure does not unname a room).
    fn record_room(
        &self,
        corp_id: &str,
        roomid: &str,
        resolution: &RoomResolution,
        now_ms: i64,
        next_check_ms: i64,
    ) -> Result<(), StoreError>;

    /// Up to `limit` people whose `next_check_ms <= now_ms`, ordered as [`Self::due_rooms`].
    fn due_people(
        &self,
        corp_id: &str,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<PersonEntry>, StoreError>;

    /// One transaction: records what checking a person found, with the same state rules as
    /// [`Self::record_room`] (no history). An unknown id is added first, its kind by
    /// shape; an empty id is an error.
    fn record_person(
        &self,
        corp_id: &str,
        id: &str,
        resolution: &PersonResolution,
        now_ms: i64,
        next_check_ms: i64,
    ) -> Result<(), StoreError>;

    /// One transaction: makes rooms and people due at `now_ms` (those due later): only the ones
    /// not named (`unresolvable` and `failed`) unless `include_named`. For an operator who added a
    /// secret, or wants renames now. Returns how many entries changed.
    fn recheck_names(
        &self,
        corp_id: &str,
        include_named: bool,
        now_ms: i64,
    ) -> Result<u64, StoreError>;

    /// One transaction: `ids` is the complete current permit list. Userids in it are in scope
    /// (`first_seen_ms` set when new or back, `last_seen_ms = now_ms`); userids on record but not
    /// in it are marked out of scope (kept, with their times). Duplicates in `ids` count once.
    fn record_permit_users(
        &self,
        corp_id: &str,
        ids: &[String],
        now_ms: i64,
    ) -> Result<PermitChange, StoreError>;

    /// When the permit list was last recorded; `None` if never.
    fn permit_checked_at(&self, corp_id: &str) -> Result<Option<i64>, StoreError>;

    /// Up to `limit` consent subjects never checked or last checked before `checked_before_ms`:
    /// every pair conversation (`pair:a|b`) between an internal id and an external id, and every
    /// room with an external member (an external sender or recipient in its messages, or an
    /// external member on record). Never-checked first, then oldest check, ties by subject.
    fn due_consent_checks(
        &self,
        corp_id: &str,
        checked_before_ms: i64,
        limit: usize,
    ) -> Result<ConsentDue, StoreError>;

    /// One transaction: marks every subject of `checked` checked at `now_ms` and stores each
    /// status of `statuses` (replacing the stored status of the same subject and contact). A
    /// subject of `checked` loses the statuses of contacts not in `statuses` for it.
    fn record_consent(
        &self,
        corp_id: &str,
        checked: &[ConsentSubject],
        statuses: &[Consent],
        now_ms: i64,
    ) -> Result<(), StoreError>;
}
