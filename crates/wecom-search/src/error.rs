use std::path::PathBuf;

use wecom_store::StoreError;

use crate::query::QueryError;

/// Why search or indexing failed. Every message names the index folder when it is about the index
/// and says how to recover.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("the search index {} does not exist yet: run `wecom-archive index rebuild` (a running daemon builds it by itself)", dir.display())]
    Missing { dir: PathBuf },
    #[error("the search index {} cannot be read ({reason}): run `wecom-archive index rebuild`", dir.display())]
    Corrupt { dir: PathBuf, reason: String },
    #[error("the search index {} was built by another version ({found}; this one writes {expected}): run `wecom-archive index rebuild`", dir.display())]
    Incompatible {
        dir: PathBuf,
        found: String,
        expected: String,
    },
    #[error("the search index {} belongs to corp {found}, not {expected}", dir.display())]
    WrongCorp {
        dir: PathBuf,
        found: String,
        expected: String,
    },
    #[error("the search index {} is being written by another process (a running `wecom-archive run`?): stop it first", dir.display())]
    Busy { dir: PathBuf },
    #[error("the search index {} failed: {reason}", dir.display())]
    Index { dir: PathBuf, reason: String },
    #[error("the pagination cursor is not valid for this search: start again without it")]
    InvalidCursor,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SearchError {
    /// A stable, short code for logs, exit codes and the HTTP API.
    pub fn kind(&self) -> &'static str {
        match self {
            SearchError::Query(_) => "bad_query",
            SearchError::Missing { .. } => "index_missing",
            SearchError::Corrupt { .. } => "index_corrupt",
            SearchError::Incompatible { .. } => "index_incompatible",
            SearchError::WrongCorp { .. } => "index_wrong_corp",
            SearchError::Busy { .. } => "index_busy",
            SearchError::Index { .. } => "index_failed",
            SearchError::InvalidCursor => "bad_cursor",
            SearchError::Store(_) => "store",
        }
    }

    /// The caller's mistake (a usage error), not the system's.
    pub fn is_usage(&self) -> bool {
        matches!(self, SearchError::Query(_) | SearchError::InvalidCursor)
    }
}
