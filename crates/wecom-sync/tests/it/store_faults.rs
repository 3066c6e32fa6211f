//! A store that cannot commit (here: another process holding SQLite's write lock past the busy
//! timeout) ends the sync with an error at once — every stage stops, nothing hangs on a full
//! channel — and the next sync resumes from the last committed page when the fault is gone.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wecom_store::{ArchiveReader, SqliteReader, SqliteStore, StoreErrorKind};
use wecom_sync::{RunnerOptions, SharedStore, SyncError, SyncOptions, sync_until_caught_up};

use super::{CORP, Runner, setup, wait_for};

/// Another connection holding the write lock, as `sqlite3 archive.db "BEGIN IMMEDIATE;"` would.
struct HeldLock(rusqlite::Connection);

impl HeldLock {
    fn take(path: &Path) -> HeldLock {
        let conn = rusqlite::Connection::open(path).expect("second connection");
        conn.execute_batch("BEGIN IMMEDIATE;")
            .expect("take the write lock");
        HeldLock(conn)
    }

    fn release(self) {
        self.0
            .execute_batch("ROLLBACK;")
            .expect("release the write lock");
    }
}

fn page_limit_10() -> SyncOptions {
    let mut opts = SyncOptions::new(CORP);
    opts.page_limit = 10;
    opts
}

fn file_store(dir: &Path) -> (SharedStore, Arc<SqliteReader>) {
    let s = Arc::new(SqliteStore::open(&dir.join("archive.db")).expect("store"));
    (s.clone(), s.reader())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_fails_ends_every_stage_and_the_next_sync_resumes() {
    let s = setup(600, None).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (shared, concrete) = file_store(dir.path());
    let mut opts = SyncOptions::new(CORP);
    // Many small pages: the fetch and decrypt stages fill their channels while the first commit
    // waits for the lock, which is where the sync used to hang forever.
    opts.page_limit = 20;
    let held = HeldLock::take(&dir.path().join("archive.db"));
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        sync_until_caught_up(
            &s.client,
            shared.clone(),
            s.ring(&[1]),
            &opts,
            &CancellationToken::new(),
            &|_| {},
        ),
    )
    .await
    .expect("the sync ends instead of hanging");
    match result {
        Err(SyncError::Commit {
            error,
            cursor,
            partial,
        }) => {
            assert_eq!(error.kind(), StoreErrorKind::Busy, "{error}");
            assert!(error.to_string().contains("locked"), "{error}");
            assert_eq!((cursor, partial.records), (0, 0));
        }
        other => panic!("expected a commit failure, got {other:?}"),
    }
    held.release();
    assert_eq!(concrete.cursor(CORP).expect("cursor"), 0);

    let r = sync_until_caught_up(
        &s.client,
        shared,
        s.ring(&[1]),
        &opts,
        &CancellationToken::new(),
        &|_| {},
    )
    .await
    .expect("resumes once the lock is gone");
    assert_eq!((r.cursor_before, r.cursor_after, r.inserted), (0, 600, 600));
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_counts_a_store_that_cannot_commit_and_recovers_when_it_can() {
    let s = Arc::new(setup(120, None).await);
    let dir = tempfile::tempdir().expect("tempdir");
    let (shared, _concrete) = file_store(dir.path());
    let held = HeldLock::take(&dir.path().join("archive.db"));
    let pacing = RunnerOptions {
        poll_interval: Duration::from_millis(300),
        min_gap: Duration::from_millis(10),
        max_backoff: Duration::from_millis(200),
        ..RunnerOptions::default()
    };
    let runner = Runner::spawn(&s, shared.clone(), page_limit_10(), pacing);
    let handle = &runner.handle;
    wait_for("a counted failure", Duration::from_secs(60), || {
        handle.status().syncs_failed >= 1
    })
    .await;
    let status = handle.status();
    assert_eq!(status.cursor, 0);
    let error = status.last_error.expect("the failure is kept for /readyz");
    assert!(error.contains("locked"), "{error}");

    held.release();
    wait_for("recovery", Duration::from_secs(60), || {
        handle.status().cursor == 120
    })
    .await;
    let status = handle.status();
    assert_eq!(status.consecutive_failures, 0);
    assert!(status.last_error.is_none());
    runner.stop(s, Duration::from_secs(30)).await;
}
