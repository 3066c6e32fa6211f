//! Where an archive lives, and opening it by role.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::{
    Accounts, AccountsReader, ArchiveReader, ArchiveWriter, AuditLog, AuditReader, Directory,
    MediaQueue, PgOptions, PgStore, SqliteStore, StoreError,
};

/// Where an archive is kept: an SQLite file, or a PostgreSQL database (schema).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite database file (created, with its folders, when opened for writing).
    Sqlite(PathBuf),
    /// A PostgreSQL database (its schema created and migrated when opened for writing), which
    /// several nodes may share.
    Postgres(PgOptions),
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "{}", path.display()),
            StoreLocation::Postgres(options) => write!(f, "{options}"),
        }
    }
}

/// One open archive by role. Every field is cheap to clone and `Send + Sync`; all share
/// the backend's connections.
#[derive(Clone)]
pub struct Roles {
    pub writer: Arc<dyn ArchiveWriter>,
    pub reader: Arc<dyn ArchiveReader>,
    pub media: Arc<dyn MediaQueue>,
    pub directory: Arc<dyn Directory>,
    pub accounts: Arc<dyn Accounts>,
    pub audit: Arc<dyn AuditLog>,
    /// Leases and wake-ups between the nodes sharing the archive; `None` for a backend with one
    /// writer (SQLite).
    pub cluster: Option<Arc<dyn crate::Cluster>>,
}

impl fmt::Debug for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Roles").finish_non_exhaustive()
    }
}

/// Opens the archive at `location` for every role, creating and migrating it as needed. The
/// caller holds the archive's [`crate::WriterLock`] first.
pub fn open(location: &StoreLocation) -> Result<Roles, StoreError> {
    match location {
        StoreLocation::Sqlite(path) => Ok(Arc::new(SqliteStore::open(path)?).roles()),
        StoreLocation::Postgres(options) => Ok(Arc::new(PgStore::open(options)?).roles()),
    }
}

/// Opens the existing archive at `location` for reading only, beside any writer.
pub fn open_reader(location: &StoreLocation) -> Result<Arc<dyn ArchiveReader>, StoreError> {
    match location {
        StoreLocation::Sqlite(path) => Ok(Arc::new(SqliteStore::open_read_only(path)?)),
        StoreLocation::Postgres(options) => Ok(Arc::new(PgStore::open_read_only(options)?)),
    }
}

/// Opens the existing archive at `location` to read its users and sessions only, beside any
/// writer (as [`open_reader`]).
pub fn open_accounts_reader(
    location: &StoreLocation,
) -> Result<Arc<dyn AccountsReader>, StoreError> {
    match location {
        StoreLocation::Sqlite(path) => Ok(Arc::new(SqliteStore::open_read_only(path)?)),
        StoreLocation::Postgres(options) => Ok(Arc::new(PgStore::open_read_only(options)?)),
    }
}

/// Opens the existing archive at `location` to read and verify its audit log only, beside any
/// writer (as [`open_reader`]).
pub fn open_audit_reader(location: &StoreLocation) -> Result<Arc<dyn AuditReader>, StoreError> {
    match location {
        StoreLocation::Sqlite(path) => Ok(Arc::new(SqliteStore::open_read_only(path)?)),
        StoreLocation::Postgres(options) => Ok(Arc::new(PgStore::open_read_only(options)?)),
    }
}
