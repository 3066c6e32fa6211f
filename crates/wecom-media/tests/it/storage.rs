//! Storage failures: a full disk and an unreachable S3 endpoint fail the job for a later attempt
//! with a clear error, leave no partial object, and the job completes once storage is back.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use tempfile::TempDir;
use wecom_blob::{FsBlobStore, S3BlobStore, S3Config};
use wecom_emulator::MediaKind;
use wecom_media::code;
use wecom_store::MediaJobState;

use crate::{CORP, files_below, now_ms, options, setup};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_job_for_later_and_it_completes_once_space_is_back() {
    let s = setup(0).await;
    let tmpfs = Tmpfs::mount("1m");
    let blobs = Arc::new(FsBlobStore::open(tmpfs.path()).expect("blobs on tmpfs"));
    let spec = s.emulator.add_media(3_000_000, MediaKind::Video);
    s.post_spec("big", &spec);

    let report = s
        .drain_with(s.client.clone(), blobs.clone(), options())
        .await;
    assert_eq!(report.retry_later, 1, "{report:?}");
    let job = s.job("big");
    assert_eq!(job.state, MediaJobState::FailedRetryable);
    assert_eq!(job.error_code.as_deref(), Some(code::DISK_FULL));
    let error = job.last_error.expect("explained");
    assert!(error.starts_with("disk full while writing "), "{error}");
    assert!(error.contains("free space, then retry"), "{error}");
    assert!(job.next_attempt_at_ms > now_ms());
    // The `.part` was removed; nothing was published.
    assert_eq!(
        files_below(tmpfs.path(), tmpfs.path()),
        Vec::<String>::new()
    );

    tmpfs.resize("16m");
    s.store
        .lock()
        .expect("lock")
        .retry_media_jobs(CORP, false, now_ms())
        .expect("retry");
    let report = s
        .drain_with(s.client.clone(), blobs.clone(), options())
        .await;
    assert_eq!(report.done, 1, "{report:?}");
    let job = s.job("big");
    assert_eq!((job.state, job.attempts), (MediaJobState::Done, 2));
    let sha = job.sha256.expect("stored");
    let bytes =
        std::fs::read(blobs.root().join(format!("objects/{}/{sha}", &sha[..2]))).expect("object");
    assert_eq!(bytes.len() as u64, spec.size);
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
