//! One corp's index folder: opening it (refusing a damaged, foreign or older one with the way
//! out), its committed change-feed position and its figures.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tantivy::Index;
use tantivy::directory::MmapDirectory;
use wecom_store::ArchiveReader;

use crate::error::SearchError;
use crate::normalize::NORMALIZER_VERSION;
use crate::schema::{Fields, schema};
use crate::tokenizer::{BIGRAMS, CharGrams, UNIGRAMS};

/// The layout of documents; an index of another format is rebuilt.
pub(crate) const FORMAT: u32 = 1;

/// What each commit records beside its documents, in the same atomic commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Payload {
    pub format: u32,
    pub normalizer: u32,
    pub corp_id: String,
    /// Every message of the corp's change feed up to here is indexed.
    pub position: u64,
}

impl Payload {
    pub(crate) fn new(corp_id: &str, position: u64) -> Payload {
        Payload {
            format: FORMAT,
            normalizer: NORMALIZER_VERSION,
            corp_id: corp_id.to_owned(),
            position,
        }
    }
}

/// The folder of `corp_id`'s index under the configured search folder.
pub fn corp_index_dir(base: &Path, corp_id: &str) -> PathBuf {
    base.join(corp_id)
}

/// One corp's search index. Cheap to clone.
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    corp_id: String,
    index: Index,
    fields: Fields,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.inner.dir)
            .field("corp_id", &self.inner.corp_id)
            .finish()
    }
}

/// An index's figures (`index status`, `stats --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexStatus {
    pub corp_id: String,
    pub path: String,
    /// Documents (messages) in the index.
    pub documents: u64,
    /// The change-feed position everything up to which is indexed.
    pub position: u64,
    /// The archive's last feed position.
    pub head: u64,
    /// Messages stored but not yet indexed.
    pub lag: u64,
    pub size_bytes: u64,
}

impl SearchIndex {
    /// Opens an existing index; refuses a missing, damaged, foreign or incompatible one with the
    /// way out in the error.
    pub fn open(dir: &Path, corp_id: &str) -> Result<SearchIndex, SearchError> {
        if !dir.join("meta.json").is_file() {
            return Err(SearchError::Missing {
                dir: dir.to_path_buf(),
            });
        }
        let corrupt = |e: &dyn std::fmt::Display| SearchError::Corrupt {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        };
        let index = Index::open_in_dir(dir).map_err(|e| corrupt(&e))?;
        let (expected, fields) = schema();
        if index.schema() != expected {
            return Err(SearchError::Incompatible {
                dir: dir.to_path_buf(),
                found: "another document layout".into(),
                expected: format!("format {FORMAT}"),
            });
        }
        let this = SearchIndex::new(dir, corp_id, index, fields);
        // Checks the payload (format, normalizer, corp).
        this.position()?;
        Ok(this)
    }

    /// Creates an empty index in `dir` (created if needed, and which must hold no index yet).
    pub fn create(dir: &Path, corp_id: &str) -> Result<SearchIndex, SearchError> {
        let failed = |e: &dyn std::fmt::Display| SearchError::Index {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| failed(&e))?;
        let directory = MmapDirectory::open(dir).map_err(|e| failed(&e))?;
        let (schema, fields) = schema();
        let index = Index::create(directory, schema, tantivy::IndexSettings::default())
            .map_err(|e| failed(&e))?;
        Ok(SearchIndex::new(dir, corp_id, index, fields))
    }

    /// Opens the index, creating it when it does not exist yet.
    pub fn open_or_create(dir: &Path, corp_id: &str) -> Result<SearchIndex, SearchError> {
        match SearchIndex::open(dir, corp_id) {
            Err(SearchError::Missing { .. }) => SearchIndex::create(dir, corp_id),
            other => other,
        }
    }

    /// Removes whatever is in `dir` (a damaged or incompatible index) and creates an empty index.
    /// The caller makes sure nothing writes it (`index rebuild` holds the archive's writer lock or
    /// runs inside the daemon).
    pub fn recreate(dir: &Path, corp_id: &str) -> Result<SearchIndex, SearchError> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| SearchError::Index {
                dir: dir.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
        SearchIndex::create(dir, corp_id)
    }

    fn new(dir: &Path, corp_id: &str, index: Index, fields: Fields) -> SearchIndex {
        index.tokenizers().register(UNIGRAMS, CharGrams::unigrams());
        index.tokenizers().register(BIGRAMS, CharGrams::bigrams());
        SearchIndex {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                corp_id: corp_id.to_owned(),
                index,
                fields,
            }),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn corp_id(&self) -> &str {
        &self.inner.corp_id
    }

    pub(crate) fn tantivy(&self) -> &Index {
        &self.inner.index
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.inner.fields
    }

    pub(crate) fn error(&self, e: impl std::fmt::Display) -> SearchError {
        SearchError::Index {
            dir: self.inner.dir.clone(),
            reason: e.to_string(),
        }
    }

    /// The committed change-feed position (0 for an index never committed).
    pub fn position(&self) -> Result<u64, SearchError> {
        let metas = self
            .inner
            .index
            .load_metas()
            .map_err(|e| SearchError::Corrupt {
                dir: self.inner.dir.clone(),
                reason: e.to_string(),
            })?;
        let Some(text) = metas.payload else {
            return Ok(0);
        };
        let payload: Payload = serde_json::from_str(&text).map_err(|e| SearchError::Corrupt {
            dir: self.inner.dir.clone(),
            reason: format!("its commit record is unreadable: {e}"),
        })?;
        if payload.format != FORMAT || payload.normalizer != NORMALIZER_VERSION {
            return Err(SearchError::Incompatible {
                dir: self.inner.dir.clone(),
                found: format!(
                    "format {}, normalizer {}",
                    payload.format, payload.normalizer
                ),
                expected: format!("format {FORMAT}, normalizer {NORMALIZER_VERSION}"),
            });
        }
        if payload.corp_id != self.inner.corp_id {
            return Err(SearchError::WrongCorp {
                dir: self.inner.dir.clone(),
                found: payload.corp_id,
                expected: self.inner.corp_id.clone(),
            });
        }
        Ok(payload.position)
    }

    /// Documents in the last committed state.
    pub fn documents(&self) -> Result<u64, SearchError> {
        let reader = self.inner.index.reader().map_err(|e| self.error(e))?;
        Ok(reader.searcher().num_docs())
    }

    /// Bytes the index folder takes on disk.
    pub fn size_bytes(&self) -> u64 {
        std::fs::read_dir(&self.inner.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// The index's figures against the archive's feed. Blocking.
    pub fn status(&self, archive: &dyn ArchiveReader) -> Result<IndexStatus, SearchError> {
        let position = self.position()?;
        let head = archive.feed_head(&self.inner.corp_id)?;
        Ok(IndexStatus {
            corp_id: self.inner.corp_id.clone(),
            path: self.inner.dir.display().to_string(),
            documents: self.documents()?,
            position,
            head,
            lag: head.saturating_sub(position),
            size_bytes: self.size_bytes(),
        })
    }
}
