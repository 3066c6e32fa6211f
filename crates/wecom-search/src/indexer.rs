//! The indexer: a follower of one corp's change feed. It reads the feed after the position its
//! index last committed, adds each message's document, re-adds a message a later recall marked,
//! and commits the documents with the new position in **one** tantivy commit — so a crash at any
//! point loses only uncommitted work, which the next pass reads again from the committed
//! position: never a gap, never a duplicate.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use tantivy::{IndexWriter, TantivyDocument, Term};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};
use wecom_store::{ArchiveReader, Follower, FollowerWaker, StoredMessage};

use crate::error::SearchError;
use crate::index::{Payload, SearchIndex};

/// How the indexer works.
#[derive(Debug, Clone)]
pub struct IndexerOptions {
    /// Feed messages read per step.
    pub batch: usize,
    /// Commit after this many documents …
    pub commit_docs: u64,
    /// … or after this long, whichever comes first (and when caught up).
    pub commit_interval: Duration,
    /// `run` looks at the feed this often when nothing wakes it.
    pub poll_interval: Duration,
    /// `run` starts a pass at most this soon after the last one ended, however often it is woken:
    /// wakes coalesce, so a constant stream of syncs costs one commit (fsyncs, a new segment) per
    /// interval, not one per sync. A search sees a message at most about this long after it is
    /// archived.
    pub min_pass_interval: Duration,
    /// The writer's memory budget, bytes (tantivy needs at least 15 MB per thread).
    pub heap_bytes: usize,
    /// Indexing threads.
    pub threads: usize,
}

impl Default for IndexerOptions {
    fn default() -> IndexerOptions {
        IndexerOptions {
            batch: 2000,
            commit_docs: 200_000,
            commit_interval: Duration::from_secs(2),
            poll_interval: Duration::from_secs(30),
            min_pass_interval: Duration::from_secs(1),
            heap_bytes: 128 << 20,
            threads: 2,
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IndexReport {
    /// Messages added.
    pub indexed: u64,
    /// Messages indexed before whose document was replaced (a later recall marked them).
    pub updated: u64,
    /// The committed position at the end.
    pub position: u64,
    /// The archive's feed head when the pass ended.
    pub head: u64,
    pub commits: u64,
    /// The pass stopped because it was cancelled.
    pub cancelled: bool,
}

/// Where a pass is, for progress lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexProgress {
    pub position: u64,
    pub head: u64,
    pub indexed: u64,
}

/// One corp's indexer. Holds the index's writer lock for its life.
pub struct Indexer {
    shared: Arc<Shared>,
    waker: FollowerWaker,
}

struct Shared {
    index: SearchIndex,
    archive: Arc<dyn ArchiveReader>,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    options: IndexerOptions,
}

/// The name the indexer logs and reports under.
pub const FOLLOWER: &str = "search";

impl Indexer {
    /// Takes the index's writer; [`SearchError::Busy`] when another process holds it.
    pub fn open(
        index: SearchIndex,
        archive: Arc<dyn ArchiveReader>,
        options: IndexerOptions,
    ) -> Result<Indexer, SearchError> {
        let writer = index
            .tantivy()
            .writer_with_num_threads(options.threads.max(1), options.heap_bytes.max(16 << 20))
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => SearchError::Busy {
                    dir: index.dir().to_path_buf(),
                },
                e => index.error(e),
            })?;
        Ok(Indexer {
            shared: Arc::new(Shared {
                index,
                archive,
                writer: Mutex::new(writer),
                options,
            }),
            waker: FollowerWaker::new(),
        })
    }

    pub fn index(&self) -> &SearchIndex {
        &self.shared.index
    }

    /// Gives the writer up after the merges it started have finished (a compact index for
    /// `index rebuild` and benchmarks). Dropping an indexer instead abandons merges in flight,
    /// which is safe: a merge replaces segments only when it completes. Blocking.
    pub fn finish(self) -> Result<(), SearchError> {
        let index = self.shared.index.clone();
        let Ok(shared) = Arc::try_unwrap(self.shared) else {
            // A pass still runs on another thread; it ends with the indexer.
            return Ok(());
        };
        let writer = shared
            .writer
            .into_inner()
            .map_err(|_| index.error("an earlier indexing pass panicked"))?;
        writer.wait_merging_threads().map_err(|e| index.error(e))
    }

    /// Indexes the feed until caught up (or cancelled). Blocking.
    pub fn catch_up(
        &self,
        cancel: &CancellationToken,
        progress: &mut dyn FnMut(&IndexProgress),
    ) -> Result<IndexReport, SearchError> {
        self.shared.catch_up(cancel, progress)
    }

    /// Empties the index and indexes the whole feed again, committing as it goes (a rebuild
    /// stopped anywhere is an index that lags, which the next pass completes). Blocking.
    pub fn rebuild(
        &self,
        cancel: &CancellationToken,
        progress: &mut dyn FnMut(&IndexProgress),
    ) -> Result<IndexReport, SearchError> {
        {
            let mut writer = self.shared.writer()?;
            let s = &self.shared;
            let reset = (|| {
                writer.delete_all_documents()?;
                let mut prepared = writer.prepare_commit()?;
                prepared.set_payload(&payload_text(&Payload::new(s.index.corp_id(), 0)));
                prepared.commit()
            })();
            if let Err(e) = reset {
                let _ = writer.rollback();
                return Err(s.index.error(e));
            }
        }
        self.shared.catch_up(cancel, progress)
    }

    /// A pass on a blocking thread.
    pub async fn pass(&self, cancel: &CancellationToken) -> Result<IndexReport, SearchError> {
        let shared = Arc::clone(&self.shared);
        let cancel = cancel.clone();
        tokio::task::spawn_blocking(move || shared.catch_up(&cancel, &mut |_| {}))
            .await
            .map_err(|e| self.shared.index.error(e))?
    }

    /// Passes until cancelled: at once, then whenever woken or the poll interval passes.
    pub async fn run(&self, cancel: &CancellationToken) {
        let corp_id = self.shared.index.corp_id().to_owned();
        loop {
            match self.pass(cancel).await {
                Ok(r) if r.indexed > 0 || r.updated > 0 => {
                    info!(%corp_id, indexed = r.indexed, updated = r.updated, position = r.position, "search index updated");
                }
                Ok(_) => {}
                Err(e) => error!(%corp_id, error = %e, "search indexing failed; retrying"),
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(self.shared.options.min_pass_interval) => {}
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.waker.woken() => {}
                () = tokio::time::sleep(self.shared.options.poll_interval) => {}
            }
        }
    }
}

impl Follower for Indexer {
    type Report = IndexReport;
    type Error = SearchError;

    fn name(&self) -> &'static str {
        FOLLOWER
    }

    async fn pass(&self, cancel: &CancellationToken) -> Result<IndexReport, SearchError> {
        Indexer::pass(self, cancel).await
    }

    async fn run(&self, cancel: &CancellationToken) {
        Indexer::run(self, cancel).await;
    }

    fn waker(&self) -> FollowerWaker {
        self.waker.clone()
    }
}

fn payload_text(p: &Payload) -> String {
    // A struct of strings and numbers always serializes.
    serde_json::to_string(p).unwrap_or_default()
}

impl Shared {
    fn writer(&self) -> Result<MutexGuard<'_, IndexWriter<TantivyDocument>>, SearchError> {
        self.writer
            .lock()
            .map_err(|_| self.index.error("an earlier indexing pass panicked"))
    }

    fn catch_up(
        &self,
        cancel: &CancellationToken,
        progress: &mut dyn FnMut(&IndexProgress),
    ) -> Result<IndexReport, SearchError> {
        let mut writer = self.writer()?;
        let result = self.catch_up_with(&mut writer, cancel, progress);
        if result.is_err() {
            // Documents added since the last commit would be added again from the committed
            // position: drop them.
            let _ = writer.rollback();
        }
        result
    }

    fn catch_up_with(
        &self,
        writer: &mut IndexWriter<TantivyDocument>,
        cancel: &CancellationToken,
        progress: &mut dyn FnMut(&IndexProgress),
    ) -> Result<IndexReport, SearchError> {
        let corp_id = self.index.corp_id();
        let fields = *self.index.fields();
        let mut position = self.index.position()?;
        let mut report = IndexReport {
            position,
            ..IndexReport::default()
        };
        let mut head = self.archive.feed_head(corp_id)?;
        let mut pending = 0_u64;
        let mut last_commit = Instant::now();
        let commit = |writer: &mut IndexWriter<TantivyDocument>,
                      position: u64,
                      report: &mut IndexReport|
         -> Result<(), SearchError> {
            let mut prepared = writer.prepare_commit().map_err(|e| self.index.error(e))?;
            prepared.set_payload(&payload_text(&Payload::new(corp_id, position)));
            prepared.commit().map_err(|e| self.index.error(e))?;
            report.position = position;
            report.commits += 1;
            Ok(())
        };
        loop {
            if cancel.is_cancelled() {
                report.cancelled = true;
                break;
            }
            let batch = self
                .archive
                .feed(corp_id, position, self.options.batch.max(1))?;
            let Some(last) = batch.last() else {
                break;
            };
            let first = batch[0].feed_pos;
            let last = last.feed_pos;
            let here: HashSet<&str> = batch.iter().map(|m| m.msgid.as_str()).collect();
            for m in &batch {
                writer
                    .add_document(fields.document(m))
                    .map_err(|e| self.index.error(e))?;
                report.indexed += 1;
                if let Some(target) = m.recall_of.as_deref().filter(|t| !here.contains(t)) {
                    report.updated += self.remark(writer, target, first)?;
                }
            }
            pending += batch.len() as u64;
            position = last;
            head = head.max(last);
            if pending >= self.options.commit_docs
                || last_commit.elapsed() >= self.options.commit_interval
            {
                commit(writer, position, &mut report)?;
                pending = 0;
                last_commit = Instant::now();
            }
            progress(&IndexProgress {
                position,
                head,
                indexed: report.indexed,
            });
        }
        if position != report.position {
            commit(writer, position, &mut report)?;
        }
        report.head = self.archive.feed_head(corp_id)?.max(head);
        Ok(report)
    }

    /// Replaces the document of a message a recall record marked, when it was indexed before
    /// this batch (one stored after the recall is indexed with its mark when the feed reaches it).
    fn remark(
        &self,
        writer: &mut IndexWriter<TantivyDocument>,
        msgid: &str,
        batch_start: u64,
    ) -> Result<u64, SearchError> {
        let fields = self.index.fields();
        let Some(target): Option<StoredMessage> =
            self.archive.message(self.index.corp_id(), msgid)?
        else {
            return Ok(0);
        };
        if target.feed_pos >= batch_start {
            return Ok(0);
        }
        writer.delete_term(Term::from_field_text(fields.msgid, msgid));
        writer
            .add_document(fields.document(&target))
            .map_err(|e| self.index.error(e))?;
        Ok(1)
    }
}
