//! Storage failures: a full disk defers the jobs without charging an attempt, an unreachable S3
//! endpoint fails the job for a later attempt with a clear error; neither leaves a partial object,
//! and the jobs complete once storage is back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use tempfile::TempDir;
use wecom_blob::{FsBlobStore, S3BlobStore, S3Config};
use wecom_emulator::MediaKind;
use wecom_media::code;
use wecom_store::MediaJobState;

use crate::{files_below, now_ms, options, setup};

/// A tmpfs mounted for one test and unmounted when dropped, even if the test fails (needs root,
/// as the blob store's own disk-full test does).
struct Tmpfs {
    path: PathBuf,
    _dir: TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mnt");
        std::fs::create_dir(&path).expect("mkdir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "mounting a tmpfs needs root (CAP_SYS_ADMIN), as on the project's machines: {status:?}"
        );
        Tmpfs { path, _dir: dir }
    }

    fn resize(&self, size: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.path)
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "remount: {status:?}"
        );
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Issue 11 item 15: a full media disk defers the jobs without charging an attempt (a long
/// outage must not use up their budget), stops the pass, and the jobs complete once space is
/// back — due at once, without an operator's retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_defers_the_jobs_uncharged_and_they_complete_once_space_is_back() {
    let s = setup(0).await;
    let tmpfs = Tmpfs::mount("1m");
    let blobs = Arc::new(FsBlobStore::open(tmpfs.path()).expect("blobs on tmpfs"));
    let mut specs = Vec::new();
    for i in 0..6 {
        let spec = s.emulator.add_media(3_000_000, MediaKind::Video);
        s.post_spec(&format!("big{i}"), &spec);
        specs.push(spec);
    }
    let mut opts = options();
    opts.concurrency = 2;
    let report = s
        .drain_with(s.client.clone(), blobs.clone(), opts.clone())
        .await;
    // The two downloads running when the disk filled are deferred, the jobs claimed ahead given
    // back; the pass starts nothing more (not one doomed download per job).
    assert_eq!(report.started, 2, "{report:?}");
    assert!(report.deferred >= 2, "{report:?}");
    assert_eq!(
        (report.retry_later, report.failed, report.done),
        (0, 0, 0),
        "{report:?}"
    );
    let reason = report.storage_blocked.expect("the cause is reported");
    assert!(reason.starts_with("disk full while writing "), "{reason}");
    assert!(reason.contains("free space, then retry"), "{reason}");
    for job in s.jobs() {
        assert_eq!(job.attempts, 0, "no attempt charged: {job:?}");
        assert!(
            job.next_attempt_at_ms <= now_ms(),
            "due again at once: {job:?}"
        );
        assert!(
            matches!(
                job.state,
                MediaJobState::Pending | MediaJobState::FailedRetryable
            ),
            "{job:?}"
        );
        if job.state == MediaJobState::FailedRetryable {
            assert_eq!(job.error_code.as_deref(), Some(code::DISK_FULL));
        }
    }
    // The `.part`s were removed; nothing was published.
    assert_eq!(
        files_below(tmpfs.path(), tmpfs.path()),
        Vec::<String>::new()
    );

    tmpfs.resize("64m");
    let report = s.drain_with(s.client.clone(), blobs.clone(), opts).await;
    assert_eq!((report.done, report.deferred), (6, 0), "{report:?}");
    for (i, spec) in specs.iter().enumerate() {
        let job = s.job(&format!("big{i}"));
        assert_eq!((job.state, job.attempts), (MediaJobState::Done, 1));
        let sha = job.sha256.expect("stored");
        let bytes = std::fs::read(blobs.root().join(format!("objects/{}/{sha}", &sha[..2])))
            .expect("object");
        assert_eq!(bytes.len() as u64, spec.size);
    }
    assert_eq!(
        files_below(tmpfs.path(), &tmpfs.path().join("tmp")),
        Vec::<String>::new()
    );
    drop(blobs);
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_s3_endpoint_fails_the_job_for_later_with_the_reason() {
    let s = setup(0).await;
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut config = S3Config::new(
        format!("http://127.0.0.1:{port}"),
        "us-east-1",
        "media",
        "AKIDTEST",
        "secret-not-for-production",
    );
    config.max_attempts = 2;
    let blobs = Arc::new(S3BlobStore::new(&config).expect("s3 store"));
    let spec = s.emulator.add_media(100_000, MediaKind::Image);
    s.post_spec("s3", &spec);
    let report = s.drain_with(s.client.clone(), blobs, options()).await;
    assert_eq!(report.retry_later, 1, "{report:?}");
    let job = s.job("s3");
    assert_eq!(job.state, MediaJobState::FailedRetryable);
    assert_eq!(job.error_code.as_deref(), Some(code::STORAGE_UNAVAILABLE));
    let error = job.last_error.expect("explained");
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(!error.contains("secret-not-for-production"), "{error}");
    s.shutdown().await;
}
