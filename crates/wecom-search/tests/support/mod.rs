//! An archive on disk with an index beside it, for the search tests.
#![allow(dead_code)] // each test crate uses its part

use std::path::PathBuf;
use std::sync::Arc;

use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use wecom_search::{
    Filters, IndexReport, Indexer, IndexerOptions, SearchIndex, SearchRequest, Searcher, Sort,
};
use wecom_store::{ArchiveReader, IngestedRecord, PageCommit, Roles, StoreLocation};

pub const CORP: &str = wecom_store::conformance::CORP;

pub struct Archive {
    pub dir: TempDir,
    pub roles: Roles,
    pub cursor: u64,
}

impl Archive {
    pub fn new() -> Archive {
        let dir = tempfile::tempdir().expect("temp dir");
        let roles = wecom_store::open(&StoreLocation::Sqlite(dir.path().join("archive.db")))
            .expect("open archive");
        Archive {
            dir,
            roles,
            cursor: 0,
        }
    }

    pub fn index_dir(&self) -> PathBuf {
        self.dir.path().join("search").join(CORP)
    }

    pub fn reader(&self) -> Arc<dyn ArchiveReader> {
        self.roles.reader.clone()
    }

    pub fn commit(&mut self, records: Vec<IngestedRecord>) {
        let cursor = records
            .iter()
            .map(|r| r.item.seq)
            .max()
            .unwrap_or(self.cursor)
            .max(self.cursor);
        self.roles
            .writer
            .commit_page(
                CORP,
                &PageCommit {
                    records,
                    quarantined: vec![],
                    cursor,
                },
            )
            .expect("commit");
        self.cursor = cursor;
    }

    pub fn indexer(&self, options: IndexerOptions) -> Indexer {
        let index = SearchIndex::open_or_create(&self.index_dir(), CORP).expect("index");
        Indexer::open(index, self.reader(), options).expect("indexer")
    }

    pub fn searcher(&self) -> Searcher {
        let index = SearchIndex::open(&self.index_dir(), CORP).expect("index");
        Searcher::open(index, self.reader()).expect("searcher")
    }

    /// Every message's msgid and searchable text.
    pub fn texts(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = self.roles.reader.feed(CORP, after, 1000).expect("feed");
            let Some(last) = page.last() else {
                return out;
            };
            after = last.feed_pos;
            out.extend(page.into_iter().map(|m| (m.msgid, m.text)));
        }
    }
}

pub fn catch_up(indexer: &Indexer) -> IndexReport {
    indexer
        .catch_up(&CancellationToken::new(), &mut |_| {})
        .expect("indexing")
}

pub fn request(query: &str) -> SearchRequest {
    SearchRequest {
        query: query.to_owned(),
        filters: Filters::default(),
        sort: Sort::Relevance,
        limit: 50,
        cursor: None,
    }
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
