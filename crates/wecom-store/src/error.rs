//! Store errors: one enum for every backend, with a [`StoreErrorKind`] callers can match on.
//!
//! Backend errors are kept as text (`cause`) rather than as driver types, so the trait stays
//! backend-neutral; the message includes the cause because callers log errors with `%error`, which
//! prints only this message.

use std::path::PathBuf;

/// What kind of failure a [`StoreError`] is, for callers that decide what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The file or disk failed: cannot create or open, I/O error.
    Io,
    /// The disk (or the file system's quota) holding the database is full; freeing space and
    /// retrying succeeds.
    DiskFull,
    /// The process may not open or write the database file or its folder (permissions, a
    /// read-only mount).
    PermissionDenied,
    /// The file is not an archive database, or it is damaged, or it holds a value this build
    /// cannot read.
    Corrupt,
    /// The database was migrated by a newer build; this one must not write to it.
    SchemaTooNew,
    /// The database was written by an older build and opened read-only, so it cannot be upgraded.
    SchemaTooOld,
    /// A write broke a constraint of what is already stored.
    Conflict,
    /// Another writer held the database longer than the busy timeout; retrying may succeed.
    Busy,
    /// The caller passed a value the store cannot record (an empty id); retrying the same call
    /// fails the same way.
    InvalidInput,
    /// What the call would create is already stored (a user of that name); retrying the same
    /// call fails the same way.
    AlreadyExists,
    /// What the call names is not stored (a user of that name).
    NotFound,
    /// The database server cannot be reached, or the connection to it broke; retrying later may
    /// succeed (nothing of the failed call was committed, unless the connection broke during the
    /// commit itself, which every write tolerates being repeated after).
    Unavailable,
    /// This node no longer holds the lease of the corp it wrote for: another node took the corp
    /// over. Nothing was written; the node must stop syncing the corp.
    LeaseLost,
    /// Any other backend failure.
    Backend,
}

/// An error of a store operation (any role: [`crate::ArchiveWriter`], [`crate::ArchiveReader`], [`crate::MediaQueue`], [`crate::Directory`], [`crate::Accounts`], [`crate::AuditLog`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("i/o error on database {} while {op}: {cause}", path.display())]
    Io {
        path: PathBuf,
        op: &'static str,
        cause: String,
    },
    #[error(
        "disk full at {}: nothing of this {op} was written; free space, then try again ({cause})",
        path.display()
    )]
    DiskFull {
        path: PathBuf,
        op: &'static str,
        cause: String,
    },
    #[error(
        "no permission to write {} (while {op}): check the owner and mode of the file and its \
         folder, and that the file system is not mounted read-only ({cause})",
        path.display()
    )]
    PermissionDenied {
        path: PathBuf,
        op: &'static str,
        cause: String,
    },
    #[error(
        "{} is not a usable archive database (while {op}): {cause}; stop every process using \
         it, keep a copy, then restore it from a backup (or move it aside: a new archive \
         re-fetches only what WeCom still keeps)",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        op: &'static str,
        cause: String,
    },
    #[error(
        "database {} has schema version {found}, newer than {known}, the newest this build knows: \
         upgrade wecom-archive",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "database {} has schema version {found}, older than {known}, the version this build reads: \
         run a writing command (`wecom-archive sync`) once to upgrade it",
        path.display()
    )]
    SchemaTooOld {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("conflict with stored data while {op}: {cause}")]
    Conflict { op: &'static str, cause: String },
    #[error("database {} stayed locked while {op}: {cause}", path.display())]
    Busy {
        path: PathBuf,
        op: &'static str,
        cause: String,
    },
    #[error("invalid input while {op}: {cause}")]
    InvalidInput { op: &'static str, cause: String },
    #[error("already exists while {op}: {cause}")]
    AlreadyExists { op: &'static str, cause: String },
    #[error("not found while {op}: {cause}")]
    NotFound { op: &'static str, cause: String },
    #[error("database error while {op}: {cause}")]
    Backend { op: &'static str, cause: String },
    #[error(
        "cannot reach the archive database {target} while {op}: {cause}; check that the server \
         runs and is reachable at that address, then try again"
    )]
    Unavailable {
        target: String,
        op: &'static str,
        cause: String,
    },
    #[error("the archive database {target} refused {op}: {cause}; {fix}")]
    Refused {
        target: String,
        op: &'static str,
        cause: String,
        fix: &'static str,
    },
    #[error(
        "{target} is not a wecom-archive archive: {cause}; point [archive] url at an empty \
         database (or set [archive] schema to an empty or new schema), or at the one \
         wecom-archive created"
    )]
    Foreign { target: String, cause: String },
    #[error(
        "this node no longer holds the lease of corp {corp_id} (while {op}): another node took \
         it over; nothing was written"
    )]
    LeaseLost { corp_id: String, op: &'static str },
}

impl StoreError {
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            StoreError::Io { .. } => StoreErrorKind::Io,
            StoreError::DiskFull { .. } => StoreErrorKind::DiskFull,
            StoreError::PermissionDenied { .. } => StoreErrorKind::PermissionDenied,
            StoreError::Corrupt { .. } => StoreErrorKind::Corrupt,
            StoreError::SchemaTooNew { .. } => StoreErrorKind::SchemaTooNew,
            StoreError::SchemaTooOld { .. } => StoreErrorKind::SchemaTooOld,
            StoreError::Conflict { .. } => StoreErrorKind::Conflict,
            StoreError::Busy { .. } => StoreErrorKind::Busy,
            StoreError::InvalidInput { .. } => StoreErrorKind::InvalidInput,
            StoreError::AlreadyExists { .. } => StoreErrorKind::AlreadyExists,
            StoreError::NotFound { .. } => StoreErrorKind::NotFound,
            StoreError::Backend { .. } => StoreErrorKind::Backend,
            StoreError::Unavailable { .. } => StoreErrorKind::Unavailable,
            StoreError::Refused { .. } => StoreErrorKind::PermissionDenied,
            StoreError::Foreign { .. } => StoreErrorKind::Corrupt,
            StoreError::LeaseLost { .. } => StoreErrorKind::LeaseLost,
        }
    }
}
