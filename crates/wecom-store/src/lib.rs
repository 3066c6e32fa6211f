//! The archive store by role — [`ArchiveWriter`] (the sync engine and `redecrypt`),
//! [`ArchiveReader`] (views, followers, checks; `Send + Sync`, never waiting for a commit),
//! [`MediaQueue`] (the media workers), [`Directory`] (the name resolver), [`Accounts`] (users
//! and sessions of the HTTP API) and [`AuditLog`] (the hash-chained access log) — and
//! [`SqliteStore`], their embedded SQLite implementation, opened from a [`StoreLocation`] by
//! [`open`] (every role) or [`open_reader`] (reads only).
//! [`transfer`] copies a SQLite archive into a PostgreSQL one ([`PgStore`]) and verifies the copy.
//!
//! Invariants:
//! - only this crate knows SQL; the traits and their types carry no backend type, so a PostgreSQL
//!   store can implement the same traits and pass the same [`conformance`] suite; rules of the
//!   archive that are not SQL (recall and quote linking, deriving a message's facts, the ids a
//!   message names) live outside the backend module ([`Derived`], the `rules` module,
//!   [`names::Discovery`]) so every backend applies them alike;
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
//! - every stored message gets a per-corp change-feed position in the transaction that stores it:
//!   strictly increasing in storage order, never reused or reordered; followers read after their
//!   position and keep it with their output ([`ArchiveReader::feed`]);
//! - names (rooms, people, scope, consent) are never written by `commit_page`: discovery follows
//!   the change feed afterwards, so syncing pays nothing for them and a message stored late is
//!   still found; a failed check never unnames.
//! - the audit log is append-only (no method edits or deletes an entry) and hash-chained by
//!   [`chain_hash`], a rule outside the backend; the store keeps password hashes and token
//!   hashes, never a password or a session token.

mod accounts;
mod audit;
mod blocking;
mod cluster;
mod error;
mod follow;
mod location;
mod lock;
mod media;
pub mod names;
mod postgres;
mod rules;
mod sqlite;
mod store;
pub mod transfer;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use accounts::{
    Accounts, AccountsReader, LockPolicy, LoginFailures, MAX_USERNAME_CHARS, NewSession, NewUser,
    Role, Scope, Session, UnknownRole, User, UserUpdate, validate_token_sha256, validate_username,
};
pub use audit::{
    AuditEntry, AuditFilter, AuditLog, AuditOutcome, AuditReader, AuditRecord, BreakReason,
    ChainBreak, ChainCheck, ChainVerifier, GENESIS_HASH, UnknownAuditOutcome, chain_hash,
    validate_entry,
};
pub use blocking::blocking;
pub use cluster::{Cluster, Wake, Wakes};
pub use error::{StoreError, StoreErrorKind};
pub use follow::{Follower, FollowerWaker};
pub use location::{
    Roles, StoreLocation, open, open_accounts_reader, open_audit_reader, open_reader,
};
pub use lock::{LockError, LockErrorKind, LockHolder, WriterLock, lock_holder, lock_path};
pub use media::{
    MediaArea, MediaJob, MediaJobError, MediaJobOutcome, MediaJobResult, MediaJobState,
    MediaObject, MediaStats, MessageMedia, UnknownMediaJobState,
};
pub use postgres::{Lease, LeaseHolder, PgOptions, PgStore, default_node_name};
pub use sqlite::{SqliteReader, SqliteStore};
pub use store::{
    ArchiveReader, ArchiveWriter, CommitStats, ConversationFilter, ConversationSummary,
    CursorChange, Derived, Directory, FailedRecord, Failure, IngestedRecord,
    MAX_LISTED_PARTICIPANTS, MediaQueue, Outcome, PageCommit, QUOTE_WINDOW_MS, QuoteParts,
    ResolveStats, Stats, StoredMessage, StoredQuarantine, stage,
};
