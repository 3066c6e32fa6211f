//! Where an archive lives, and opening it by role.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{ArchiveReader, ArchiveWriter, Directory, MediaQueue, SqliteStore, StoreError};

/// Where an archive is kept. Today an SQLite file; a server URL comes with a second backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite database file (created, with its folders, when opened for writing).
    Sqlite(PathBuf),
}

impl StoreLocation {
    /// The location a configuration value names: `sqlite:<path>` or a plain path.
    pub fn parse(value: &str) -> StoreLocation {
        let path = value.strip_prefix("sqlite:").unwrap_or(value);
        StoreLocation::Sqlite(PathBuf::from(path))
    }

    /// The file, for a location that is one (lock files and file checks live beside it).
    pub fn path(&self) -> Option<&Path> {
        match self {
            StoreLocation::Sqlite(path) => Some(path),
        }
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One open archive by role. Every field is cheap to clone and `Send + Sync`; all four share
/// the backend's connections.
#[derive(Clone)]
pub struct Roles {
    pub writer: Arc<dyn ArchiveWriter>,
    pub reader: Arc<dyn ArchiveReader>,
    pub media: Arc<dyn MediaQueue>,
    pub directory: Arc<dyn Directory>,
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
    }
}

/// Opens the existing archive at `location` for reading only, beside any writer.
pub fn open_reader(location: &StoreLocation) -> Result<Arc<dyn ArchiveReader>, StoreError> {
    match location {
        StoreLocation::Sqlite(path) => Ok(Arc::new(SqliteStore::open_read_only(path)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_a_path_with_or_without_its_scheme() {
        assert_eq!(
            StoreLocation::parse("sqlite:/a/b.db"),
            StoreLocation::Sqlite("/a/b.db".into())
        );
        assert_eq!(
            StoreLocation::parse("data/archive.db"),
            StoreLocation::Sqlite("data/archive.db".into())
        );
        assert_eq!(
            StoreLocation::parse("/a/b.db").path(),
            Some(Path::new("/a/b.db"))
        );
    }
}
