//! The archive store: the [`ArchiveStore`] trait the sync engine writes through, and
//! [`SqliteStore`], its embedded SQLite implementation.
//!
//! Invariants:
//! - only this crate knows SQL; the trait and its types carry no backend type, so a PostgreSQL
//!   store can implement the same trait and pass the same [`conformance`] suite;
//! - the encrypted envelope of a record is stored in the same transaction as, and never after, its
//!   decryption result, so a missing or wrong key never loses a record;
//! - nothing stored is ever overwritten by a later page: a replayed record is a duplicate.

mod error;
mod sqlite;
mod store;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use error::{StoreError, StoreErrorKind};
pub use sqlite::SqliteStore;
pub use store::{
    ArchiveStore, CommitStats, FailedRecord, Failure, IngestedRecord, Outcome, PageCommit,
    ResolveStats, Stats, stage,
};
