//! What can stop the daemon, a one-shot sync or the setting up of either: one typed error whose
//! messages carry their cause (so `{e}` and `{e:#}` read the same) and a [`DaemonErrorKind`]
//! callers match on.

use std::path::PathBuf;

use wecom_store::StoreError;
use wecom_sync::{SyncError, SyncReport};
use wecom_wire::SourceError;

use crate::config::ConfigError;

/// What went wrong, in the terms a caller decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DaemonErrorKind {
    /// The configuration (or a setting built from it) is wrong: fix it and start again.
    Config,
    /// The archive source or the vendor library could not be set up.
    Source,
    /// A pull stopped on the source's side; what was committed stays committed.
    Fetch,
    /// The archive could not store records (disk full, locked, damaged, no permission).
    Store,
    /// The server answers only records already archived.
    ReplayOnly,
    /// The naming API could not be asked.
    Names,
    /// The search index could not be opened or updated.
    Search,
    /// The listener or another piece of the process's own plumbing failed.
    Io,
}

/// Why the daemon or a one-shot sync could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The configuration, or a setting derived from it, is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The corp's client settings are invalid.
    #[error("[corp {corp_id}] settings: {cause}")]
    ClientSettings {
        /// The corp concerned.
        corp_id: String,
        /// Why.
        cause: wecom_client::ConfigError,
    },
    /// `source = "sdk"` without a library path.
    #[error(
        "corp {corp_id}: source \"sdk\" needs sdk_library in its [corp] section or --sdk-library"
    )]
    NoSdkLibrary {
        /// The corp concerned.
        corp_id: String,
    },
    /// The vendor library could not be loaded or its workers started.
    #[error("corp {corp_id}: vendor library {}: {cause}", library.display())]
    VendorLibrary {
        /// The corp concerned.
        corp_id: String,
        /// The library path tried.
        library: PathBuf,
        /// Why.
        cause: wecom_sdk::SdkSourceError,
    },
    /// The callback token or key cannot be used.
    #[error("corp {corp_id}: callback settings: {cause}")]
    Callback {
        /// The corp concerned.
        corp_id: String,
        /// Why.
        cause: wecom_callback::CallbackError,
    },
    /// The naming API client cannot be built from the settings.
    #[error("corp {corp_id}: the naming API client: {cause}")]
    NamesClient {
        /// The corp concerned.
        corp_id: String,
        /// Why.
        cause: wecom_client::ConfigError,
    },
    /// A names pass failed (names never fail a sync: callers report it and go on).
    #[error("corp {corp_id}: names: {cause}")]
    Names {
        /// The corp concerned.
        corp_id: String,
        /// Why.
        cause: wecom_names::NameError,
    },
    /// The search index could not be opened or updated (search never fails a sync: callers
    /// report it and go on).
    #[error("corp {corp_id}: search: {cause}")]
    Search {
        /// The corp concerned.
        corp_id: String,
        /// Why; its message names the index folder and the way out.
        cause: wecom_search::SearchError,
    },
    /// Fetching a page failed; everything up to `cursor` is committed.
    #[error(
        "sync stopped: {error}. Everything up to seq {cursor} is committed; run `sync` again to resume from there"
    )]
    Fetch {
        /// What failed.
        error: SourceError,
        /// The cursor: everything up to it is committed.
        cursor: u64,
        /// What the pull did before it stopped.
        partial: Box<SyncReport>,
    },
    /// Committing a page failed; everything up to `cursor` is committed, nothing of the page.
    #[error(
        "sync stopped: the archive could not store a page: {error}{holders}. Everything up to seq {cursor} is committed; fix the cause, then run `sync` again to resume from there"
    )]
    Commit {
        /// What failed.
        error: StoreError,
        /// The cursor: everything up to it is committed.
        cursor: u64,
        /// Who else holds the archive open, when it was locked (see [`crate::holders`]).
        holders: String,
        /// What the pull did before it stopped.
        partial: Box<SyncReport>,
    },
    /// The server keeps sending only records already archived.
    #[error(
        "sync stopped: the server keeps returning only records already archived (seq ≤ {cursor}) after {attempts} requests, so nothing newer can be fetched. Check the corp's archive service with WeCom, and whether the cursor is right (`wecom-archive cursor show --corp {corp_id}`)"
    )]
    ReplayOnly {
        /// The corp concerned.
        corp_id: String,
        /// The cursor: everything up to it is committed.
        cursor: u64,
        /// Requests made before giving up.
        attempts: u32,
        /// What the pull did before it stopped.
        partial: Box<SyncReport>,
    },
    /// Any other way a pull stopped.
    #[error("{0}")]
    Sync(SyncError),
    /// `[server] tls_cert` or `tls_key` cannot be used; the cause names the file and the fix.
    #[error("[server] TLS: {0}")]
    Tls(wecom_server::TlsError),
    /// The listener's address could not be read.
    #[error("the listener: {0}")]
    Listener(std::io::Error),
}

impl DaemonError {
    /// The kind callers decide on.
    pub fn kind(&self) -> DaemonErrorKind {
        match self {
            DaemonError::Config(_) | DaemonError::ClientSettings { .. } => DaemonErrorKind::Config,
            DaemonError::Callback { .. } | DaemonError::Tls(_) => DaemonErrorKind::Config,
            DaemonError::NoSdkLibrary { .. } | DaemonError::VendorLibrary { .. } => {
                DaemonErrorKind::Source
            }
            DaemonError::NamesClient { .. } | DaemonError::Names { .. } => DaemonErrorKind::Names,
            DaemonError::Search { .. } => DaemonErrorKind::Search,
            DaemonError::Fetch { .. } => DaemonErrorKind::Fetch,
            DaemonError::Commit { .. } => DaemonErrorKind::Store,
            DaemonError::Sync(SyncError::Store(_)) => DaemonErrorKind::Store,
            DaemonError::Sync(_) => DaemonErrorKind::Fetch,
            DaemonError::ReplayOnly { .. } => DaemonErrorKind::ReplayOnly,
            DaemonError::Listener(_) => DaemonErrorKind::Io,
        }
    }

    /// What a stopped pull did before it stopped, if this is one.
    pub fn partial(&self) -> Option<&SyncReport> {
        match self {
            DaemonError::Fetch { partial, .. }
            | DaemonError::Commit { partial, .. }
            | DaemonError::ReplayOnly { partial, .. } => Some(partial),
            DaemonError::Sync(
                SyncError::Source { partial, .. }
                | SyncError::Commit { partial, .. }
                | SyncError::ReplayOnly { partial, .. },
            ) => Some(partial),
            _ => None,
        }
    }
}
