//! Crash safety: a process killed (SIGKILL) in the middle of a download publishes nothing; after a
//! restart the job is queued again, the object completes, and no object exists without its job.
//!
//! The child is this test binary running [`child_drains_media`] with the paths in its environment;
//! run by the harness without them, that test does nothing.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wecom_blob::FsBlobStore;
use wecom_emulator::{MediaFault, MediaFaultRule, MediaKind};
use wecom_media::drain_media;
use wecom_store::{ArchiveReader, MediaJobState, SqliteStore};

use crate::{CORP, client, files_below, open_store, options, setup};

const CHILD_ENV: &str = "WECOM_MEDIA_CRASH_CHILD";

/// The child's side: drain the archive's media until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_drains_media() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.split('\n');
    let (Some(base), Some(db), Some(blobs)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("bad {CHILD_ENV}");
    };
    let store = open_store(Path::new(db));
    let blobs = Arc::new(FsBlobStore::open(blobs).expect("blobs"));
    let report = drain_media(
        store.media,
        Arc::new(client(base)),
        blobs,
        options(),
        &CancellationToken::new(),
    )
    .await;
    panic!("the child should have been killed mid-download, but it finished: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_killed_midway_completes_after_restart_without_orphans() {
    let s = setup(0).await;
    let spec = s.emulator.add_media(30_000_000, MediaKind::Video);
    s.post_spec("big", &spec);
    // About 57 chunks, each held back a little, so the kill lands mid-object.
    s.emulator.inject_media(
        MediaFaultRule::new(MediaFault::Delay(Duration::from_millis(40)), 10_000)
            .for_fileid(&spec.fileid),
    );
    let db = s.dir.path().join("archive.db");
    let root = s.blob_root();

    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "crash::child_drains_media",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD_ENV,
            format!("{}\n{}\n{}", s.base, db.display(), root.display()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("child");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while s.emulator.media_request_count() < 10 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the child never started downloading"
        );
        assert!(
            child.try_wait().expect("child").is_none(),
            "the child exited early"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    // The crash left the job claimed and a partial upload, but published nothing.
    assert_eq!(s.job("big").state, MediaJobState::Downloading);
    assert_eq!(
        files_below(&root, &root.join("objects")),
        Vec::<String>::new()
    );
    assert_eq!(
        files_below(&root, &root.join("tmp")).len(),
        1,
        "a .part was being written"
    );

    // Restart: reopen everything, as the binary would.
    s.emulator.clear_media_faults();
    let store = open_store(&db);
    let blobs = Arc::new(FsBlobStore::open(&root).expect("reopen blobs"));
    assert_eq!(
        files_below(&root, &root.join("tmp")),
        Vec::<String>::new(),
        "stale .part removed"
    );
    let report = drain_media(
        store.media.clone(),
        s.client.clone(),
        blobs,
        options(),
        &CancellationToken::new(),
    )
    .await
    .expect("drain");
    assert_eq!((report.requeued, report.done), (1, 1), "{report:?}");

    let concrete = SqliteStore::open(&db).expect("reopen").reader();
    let jobs = concrete.media_jobs(CORP, None, 0, 100).expect("jobs");
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.state, MediaJobState::Done);
    assert_eq!(
        job.attempts, 1,
        "the killed attempt never recorded a result"
    );
    let media = concrete.message_media(CORP, "big").expect("media");
    let object = media[0].object.clone().expect("object");
    assert_eq!(object.md5, spec.actual_md5());
    assert_eq!(object.size, spec.size);
    // No orphan: the only object is the done job's, and nothing partial is left.
    assert_eq!(
        files_below(&root, &root.join("objects")),
        std::slice::from_ref(&object.key)
    );
    assert_eq!(files_below(&root, &root.join("tmp")), Vec::<String>::new());
    s.shutdown().await;
}
