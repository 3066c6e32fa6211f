//! The archive store: the [`ArchiveStore`] trait the sync engine writes through, and
//! [`SqliteStore`], its embedded SQLite implementation.
//!
//! Invariants:
//! - only this crate knows SQL; the trait and its types carry no backend type, so a PostgreSQL
//!   store can implement the same trait and pass the same [`conformance`] suite;
//! - the encrypted envelope of a record is stored in the same transaction as, and never after, its
//!   decryption result, so a missing or wrong key never loses a record;
//! - nothing stored is ever overwritten by a later page: a replayed record is a duplicate;
//! - what is derived from a message ([`Derived`]: conversation, flags, text, warnings) is a function
//!   of its kept JSON, so it can always be derived again — archives written before a column
//!   existed are upgraded that way; links between messages (recalls, quotes) only ever add marks,
//!   a recalled message is kept;
//! - every media reference of a stored message has a download job ([`MediaJob`]), created in the
//!   same transaction as the message (or, for archives written before the queue, on the first
//!   open after the upgrade); a job's result only ever applies to the claim it belongs to.
//! - names (rooms, people, scope, consent) are never written by `commit_page`: discovery reads the
//!   stored messages afterwards, in storage order from a per-corp watermark, so syncing pays
//!   nothing for them and a message stored late is still found; a failed check never unnames.

mod error;
mod lock;
mod media;
pub mod names;
mod sqlite;
mod store;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use error::{StoreError, StoreErrorKind};
pub use lock::{LockError, LockErrorKind, LockHolder, WriterLock, lock_holder, lock_path};
pub use media::{
    MediaArea, MediaJob, MediaJobError, MediaJobOutcome, MediaJobResult, MediaJobState,
    MediaObject, MediaStats, MessageMedia, UnknownMediaJobState,
};
pub use sqlite::SqliteStore;
pub use store::{
    ArchiveStore, CommitStats, ConversationSummary, CursorChange, Derived, FailedRecord, Failure,
    IngestedRecord, Outcome, PageCommit, QUOTE_WINDOW_MS, QuoteParts, ResolveStats, Stats,
    StoredMessage, StoredQuarantine, stage,
};
