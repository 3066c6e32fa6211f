//! The file-system backend: the conformance suite, the on-disk layout, `.part` cleanup, and a real
//! full disk (a 1 MiB tmpfs).

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;
use wecom_blob::conformance::{self, CHUNK, Fixture, Generated, Probe};
use wecom_blob::{Area, BlobErrorKind, BlobStore, Expectations, FsBlobStore};

use crate::files_below;

struct FsProbe {
    dir: TempDir,
}

impl Probe for FsProbe {
    fn published(&self) -> Vec<String> {
        let root = self.dir.path();
        let mut keys = files_below(root, &root.join("objects"));
        keys.extend(files_below(root, &root.join("quarantine")));
        keys
    }

    fn leftovers(&self) -> Vec<String> {
        files_below(self.dir.path(), &self.dir.path().join("tmp"))
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsBlobStore::open(dir.path()).expect("open");
    Fixture {
        store: Box::new(store),
        probe: Box::new(FsProbe { dir }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_fs() {
    conformance::run_all(&mut fixture).await;
}

#[tokio::test]
async fn file_name_is_the_sha256_hex() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsBlobStore::open(dir.path()).expect("open");
    let bytes = b"%PDF-1.4 a document".to_vec();
    let stored = conformance::upload(&store, [bytes.clone()], Expectations::default())
        .await
        .expect("upload");
    let sha = stored.sha256.as_str();
    assert_eq!(stored.key, format!("objects/{}/{sha}", &sha[..2]));
    assert_eq!(stored.content_type, "application/pdf");
    let path = dir.path().join(&stored.key);
    assert_eq!(path, store.path(Area::Objects, &stored.sha256));
    assert_eq!(path.file_name().and_then(|n| n.to_str()), Some(sha));
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
    let info = store.describe();
    assert_eq!(
        (info.kind, info.location),
        ("fs", dir.path().display().to_string())
    );
}

#[tokio::test]
async fn open_removes_stale_part_files_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(FsBlobStore::open(dir.path()).expect("open"));
    let tmp = dir.path().join("tmp");
    std::fs::write(tmp.join("0123.part"), b"left by a crash").expect("write");
    std::fs::write(tmp.join("notes.txt"), b"not ours").expect("write");
    let store = FsBlobStore::open(dir.path()).expect("reopen");
    assert_eq!(
        files_below(dir.path(), &tmp),
        vec!["tmp/notes.txt".to_string()]
    );
    assert!(store.root().ends_with(dir.path()));
}

#[tokio::test]
async fn a_file_of_the_wrong_size_at_an_address_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsBlobStore::open(dir.path()).expect("open");
    let data = Generated::new(40, 100_000);
    let (sha, _) = data.digests();
    let path = store.path(Area::Objects, &sha);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, b"truncated").expect("write");
    let stored = conformance::upload(&store, data.chunks(CHUNK), Expectations::default())
        .await
        .expect("upload");
    assert!(!stored.deduplicated);
    conformance::assert_stored(&store, Area::Objects, &sha, data).await;
}

#[tokio::test]
async fn a_root_that_is_a_file_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").expect("write");
    let error = FsBlobStore::open(&file).expect_err("not a directory");
    assert_eq!(error.kind(), BlobErrorKind::Io);
    assert!(
        error.to_string().contains(&file.display().to_string()),
        "{error}"
    );
}

/// A tmpfs mounted for one test and unmounted when dropped, even if the test fails.
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

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[tokio::test]
async fn disk_full_is_explained_cleaned_up_and_retryable() {
    let tmpfs = Tmpfs::mount("1m");
    let store = FsBlobStore::open(tmpfs.path()).expect("open");
    let too_big = Generated::new(41, 3 * 1024 * 1024);
    let mut writer = store.begin().await.expect("begin");
    let mut failure = None;
    for chunk in too_big.chunks(CHUNK) {
        if let Err(error) = writer.write_chunk(&chunk).await {
            failure = Some(error);
            break;
        }
    }
    let error = failure.expect("a 3 MiB upload cannot fit in 1 MiB");
    assert_eq!(error.kind(), BlobErrorKind::DiskFull, "{error}");
    assert!(error.is_retryable());
    let message = error.to_string();
    assert!(message.starts_with("disk full while writing "), "{message}");
    assert!(message.contains(".part"), "{message}");
    // The writer cleaned up: the `.part` is gone and later calls say why.
    assert_eq!(
        files_below(tmpfs.path(), &tmpfs.path().join("tmp")),
        Vec::<String>::new()
    );
    let again = writer
        .write_chunk(b"more")
        .await
        .expect_err("already failed");
    assert_eq!(again.kind(), BlobErrorKind::DiskFull);
    let finish = writer
        .finish(Expectations::default())
        .await
        .expect_err("already failed");
    assert_eq!(finish.kind(), BlobErrorKind::DiskFull);
    let (sha, _) = too_big.digests();
    assert!(!store.exists(Area::Objects, &sha).await.expect("exists"));

    // The space came back with the `.part`: a later upload that fits succeeds.
    let small = Generated::new(42, 200_000);
    let stored = conformance::upload(&store, small.chunks(CHUNK), Expectations::default())
        .await
        .expect("upload after cleanup");
    conformance::assert_stored(&store, Area::Objects, &stored.sha256, small).await;
    assert_eq!(stored.sha256, small.digests().0);
}
