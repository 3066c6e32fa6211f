//! What can be wrong with a configuration, each message naming the file, key or environment
//! variable and the fix.

use std::path::PathBuf;

/// What kind of problem a [`ConfigError`] is, for callers that act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file cannot be read.
    Unreadable,
    /// The file is not valid TOML of this schema, or a setting in it (or in the environment)
    /// is wrong.
    Invalid,
    /// The corp asked for is not configured, or none was asked for among several.
    Selection,
    /// A secret a command needs is missing.
    MissingSecret,
    /// A runtime object could not be built (the media store, the worker's path, rendering).
    Setup,
}

/// A configuration that cannot be read, parsed, validated or turned into runtime settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error(
        "cannot read configuration file {} (create one with `wecom-archive init`, or pass --config)",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML, or not this schema (an unknown key, a wrong type).
    #[error("configuration file {} is not valid", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's words, naming the key.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// The file parses but a setting is wrong; the source says which.
    #[error("configuration file {}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// The problem.
        #[source]
        source: Box<ConfigError>,
    },
    /// No corp at all.
    #[error("no [corp] configured")]
    NoCorp,
    /// A blank corp id.
    #[error("[corp] corp_id is empty: set it to the corp id (企业ID) from the admin console")]
    EmptyCorpId,
    /// A corp id far longer than WeCom's.
    #[error(
        "[corp] corp_id `{shown}` is {chars} characters long; WeCom's corp ids are about 18 (ww + letters and digits)"
    )]
    CorpIdTooLong {
        /// The id, control characters escaped.
        shown: String,
        /// Its length in characters.
        chars: usize,
    },
    /// A corp id with characters WeCom's never have.
    #[error(
        "[corp] corp_id `{shown}` contains {found}: a corp id has only letters and digits (企业ID, e.g. ww4b3c2d1e0f9a8b7c, from 管理后台 → 我的企业 → 企业信息); check the file and WECOM_ARCHIVE_CORP_ID for stray characters"
    )]
    CorpIdCharacters {
        /// The id, control characters escaped.
        shown: String,
        /// The offending characters, described.
        found: String,
    },
    /// Two sections for one corp.
    #[error("corp {corp_id} is configured twice")]
    DuplicateCorp {
        /// The corp.
        corp_id: String,
    },
    /// `timeout_secs = 0`.
    #[error("[corp {corp_id}] timeout_secs must be at least 1")]
    ZeroTimeout {
        /// The corp.
        corp_id: String,
    },
    /// Only one of the callback's two keys.
    #[error("[corp {corp_id}] set both callback_token and callback_aes_key, or neither")]
    HalfCallback {
        /// The corp.
        corp_id: String,
    },
    /// A callback key that is no EncodingAESKey.
    #[error("[corp {corp_id}] callback_aes_key")]
    CallbackAesKey {
        /// The corp.
        corp_id: String,
        /// What is wrong with it.
        #[source]
        source: wecom_callback::CallbackError,
    },
    /// `[sync] page_limit` outside WeCom's range.
    #[error("[sync] page_limit {0} is outside 1..=1000")]
    PageLimit(u32),
    /// `[sync] max_seq_jump = 0`.
    #[error(
        "[sync] max_seq_jump must be at least 1 (default {}): it is the largest step of seq accepted past the cursor",
        wecom_sync::DEFAULT_MAX_SEQ_JUMP
    )]
    ZeroSeqJump,
    /// `[sync] max_response_mb` outside its range.
    #[error(
        "[sync] max_response_mb {0} is outside 1..={MAX_RESPONSE_MB_LIMIT} (default {DEFAULT_MAX_RESPONSE_MB}: a page of 1,000 records is a few MB)",
        MAX_RESPONSE_MB_LIMIT = super::MAX_RESPONSE_MB_LIMIT,
        DEFAULT_MAX_RESPONSE_MB = super::DEFAULT_MAX_RESPONSE_MB
    )]
    MaxResponseMb(u64),
    /// `[archive] url` that is not a PostgreSQL URL, or combined with what only SQLite has.
    #[error("[archive] {0}")]
    ArchiveUrl(String),
    /// Counts and durations that must not be zero.
    #[error("[{section}] {keys} must be at least 1")]
    Zero {
        /// The section.
        section: &'static str,
        /// The keys concerned, in words.
        keys: &'static str,
    },
    /// `[search] heap_mb` outside its range.
    #[error(
        "[search] heap_mb {0} is outside {MIN}..={MAX} (default {DEFAULT}): the index writer needs at least 16 MiB",
        MIN = super::MIN_SEARCH_HEAP_MB,
        MAX = super::MAX_SEARCH_HEAP_MB,
        DEFAULT = super::DEFAULT_SEARCH_HEAP_MB
    )]
    SearchHeap(u64),
    /// `[names] max_calls_per_second` not a positive number.
    #[error("[names] max_calls_per_second must be a positive number")]
    NamesRate,
    /// Only one of `[server] tls_cert` and `tls_key`.
    #[error(
        "[server] {set} is set but {missing} is not: set both (the PEM certificate chain and its private key) to serve HTTPS, or neither for plain HTTP"
    )]
    HalfTls {
        /// The key that is set.
        set: &'static str,
        /// The key that is missing.
        missing: &'static str,
    },
    /// An `[api]` number outside its range.
    #[error("[api] {key} {value} is outside 1..={max} (default {default})")]
    ApiRange {
        /// The key.
        key: &'static str,
        /// Its value.
        value: u64,
        /// Its largest value.
        max: u64,
        /// Its default.
        default: u64,
    },
    /// An `[api] allowed_origins` entry that is no origin.
    #[error(
        "[api] allowed_origins entry `{shown}` {reason}: write each origin as scheme://host[:port] with nothing after it, e.g. \"https://archive.example.com\""
    )]
    ApiOrigin {
        /// The entry, control characters escaped.
        shown: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `backend = "s3"` without its settings.
    #[error("[media] backend \"s3\" needs s3_endpoint, s3_bucket and s3_access_key")]
    S3Incomplete,
    /// A media backend that does not exist.
    #[error("[media] backend `{0}` is not fs or s3")]
    UnknownBackend(String),
    /// A command needs the archive secret and there is none.
    #[error(
        "no archive secret for corp {corp_id}: set secret in its [corp] section or the WECOM_ARCHIVE_SECRET environment variable"
    )]
    NoSecret {
        /// The corp.
        corp_id: String,
    },
    /// `--corp` names a corp the file does not have.
    #[error("corp {corp_id} is not configured (configured: {configured})")]
    UnknownCorp {
        /// The corp asked for.
        corp_id: String,
        /// The corps configured, comma-separated.
        configured: String,
    },
    /// Several corps and no `--corp`.
    #[error("several corps are configured ({configured}); choose one with --corp")]
    SeveralCorps {
        /// The corps configured, comma-separated.
        configured: String,
    },
    /// This program's own path, needed to start vendor-library workers, is unknown.
    #[error("cannot find this program's own path to start the vendor-library worker")]
    WorkerPath(#[source] std::io::Error),
    /// The S3 settings are refused by the S3 client.
    #[error("[media] s3 settings")]
    S3(#[source] wecom_blob::BlobError),
    /// The media folder cannot be opened.
    #[error("cannot open the media folder {}", dir.display())]
    MediaDir {
        /// The folder.
        dir: PathBuf,
        /// Why.
        #[source]
        source: wecom_blob::BlobError,
    },
    /// A value that cannot be written as TOML (not expected of this schema).
    #[error("cannot write the configuration as TOML")]
    Template(#[source] toml::ser::Error),
}

impl ConfigError {
    /// The kind of problem (for a validation error wrapped with its file, the inner one's).
    pub fn kind(&self) -> ConfigErrorKind {
        match self {
            ConfigError::Read { .. } => ConfigErrorKind::Unreadable,
            ConfigError::InFile { source, .. } => source.kind(),
            ConfigError::UnknownCorp { .. } | ConfigError::SeveralCorps { .. } => {
                ConfigErrorKind::Selection
            }
            ConfigError::NoSecret { .. } => ConfigErrorKind::MissingSecret,
            ConfigError::WorkerPath(_)
            | ConfigError::S3(_)
            | ConfigError::MediaDir { .. }
            | ConfigError::Template(_) => ConfigErrorKind::Setup,
            ConfigError::Parse { .. }
            | ConfigError::NoCorp
            | ConfigError::EmptyCorpId
            | ConfigError::CorpIdTooLong { .. }
            | ConfigError::CorpIdCharacters { .. }
            | ConfigError::DuplicateCorp { .. }
            | ConfigError::ZeroTimeout { .. }
            | ConfigError::HalfCallback { .. }
            | ConfigError::CallbackAesKey { .. }
            | ConfigError::PageLimit(_)
            | ConfigError::ZeroSeqJump
            | ConfigError::MaxResponseMb(_)
            | ConfigError::Zero { .. }
            | ConfigError::ArchiveUrl(_)
            | ConfigError::NamesRate
            | ConfigError::SearchHeap(_)
            | ConfigError::HalfTls { .. }
            | ConfigError::ApiRange { .. }
            | ConfigError::ApiOrigin { .. }
            | ConfigError::S3Incomplete
            | ConfigError::UnknownBackend(_) => ConfigErrorKind::Invalid,
        }
    }
}
