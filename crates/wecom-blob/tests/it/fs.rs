//! The file-system backend: the conformance suite, the on-disk layout, `.part` cleanup, and a real
//! full disk (a 1 MiB tmpfs).

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;
use wecom_blob::conformance::{self, CHUNK, Fixture, Generated, Probe};
use wecom_blob::{
    Area, BlobErrorKind, BlobStore, Expectations, FsBlobStore, Rendition, RenditionKind, Sha256Hex,
};

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
async fn a_rendition_is_a_file_beside_the_originals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsBlobStore::open(dir.path()).expect("open");
    let original = Sha256Hex::of(b"#!AMR\n an original");
    let rendition = Rendition::new(original.clone(), RenditionKind::Wav);
    let key = format!("renditions/{}/{original}.wav", original.fan_out());
    assert_eq!(store.rendition_key(&rendition), key);
    assert_eq!(store.rendition_path(&rendition), dir.path().join(&key));
    store
        .put_rendition(&rendition, b"RIFF one".to_vec().into())
        .await
        .expect("put");
    assert_eq!(
        std::fs::read(dir.path().join(&key)).expect("read"),
        b"RIFF one"
    );
    assert_eq!(
        files_below(dir.path(), &dir.path().join("objects")),
        Vec::<String>::new()
    );
    assert_eq!(
        files_below(dir.path(), &dir.path().join("tmp")),
        Vec::<String>::new()
    );

    // A put that cannot publish (its fan-out folder is a file) fails, leaves the old state and
    // no partial file.
    let other = Rendition::new(Sha256Hex::of(b"another"), RenditionKind::Wav);
    let fan_out = store.rendition_path(&other);
    let fan_out = fan_out.parent().expect("fan-out");
    assert!(
        !fan_out.exists(),
        "another fan-out than the first rendition's"
    );
    std::fs::write(fan_out, b"in the way").expect("write");
    let error = store
        .put_rendition(&other, b"RIFF two".to_vec().into())
        .await
        .expect_err("blocked");
    assert_eq!(error.kind(), BlobErrorKind::Io, "{error}");
    std::fs::remove_file(fan_out).expect("unblock");
    assert_eq!(store.rendition_size(&other).await.expect("size"), None);
    assert_eq!(
        files_below(dir.path(), &dir.path().join("tmp")),
        Vec::<String>::new()
    );
    assert_eq!(
        store.rendition_size(&rendition).await.expect("size"),
        Some(8)
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

/// Another store on the same root — another process sharing the media folder — keeps a live
/// owner's upload, and removes what an ended owner (its `.owner` lock released, as the kernel does
/// for a killed process) and older builds left.
#[tokio::test]
async fn open_removes_only_part_files_whose_owner_is_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmp = dir.path().join("tmp");
    let live = FsBlobStore::open(dir.path()).expect("open");
    let mut writer = live.begin().await.expect("begin");
    writer.write_chunk(b"in flight").await.expect("write");
    let parts = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".part"))
            .collect();
        names.sort();
        names
    };
    let in_flight = parts(&tmp);
    assert_eq!(in_flight.len(), 1, "{in_flight:?}");

    // What a process killed with -9 leaves: its `.owner` file, unlocked, and its `.part`.
    let dead = "999999-00000000deadbeef";
    std::fs::write(dir.path().join(format!("owners/{dead}.owner")), b"").expect("owner");
    std::fs::write(tmp.join(format!("{dead}.0123.part")), b"left by a kill").expect("part");
    // An owner that left no `.owner` file at all, and an older build's `.part`.
    std::fs::write(tmp.join("4242-0000000000000001.0456.part"), b"x").expect("part");
    std::fs::write(tmp.join("0123456789abcdef0123456789abcdef.part"), b"old").expect("part");

    let other = FsBlobStore::open(dir.path()).expect("a second store on the same root");
    assert_eq!(
        parts(&tmp),
        in_flight,
        "only the live owner's upload is left"
    );
    assert!(!dir.path().join(format!("owners/{dead}.owner")).exists());

    // The live upload was not disturbed: it publishes.
    let stored = writer
        .finish(Expectations::default())
        .await
        .expect("the live upload completes");
    assert_eq!(
        std::fs::read(live.path(Area::Objects, &stored.sha256)).expect("read"),
        b"in flight"
    );
    // Each open store holds its own owner file while it lives, and removes it when dropped.
    assert_eq!(
        std::fs::read_dir(dir.path().join("owners"))
            .expect("list")
            .count(),
        2
    );
    drop(other);
    drop(live);
    assert_eq!(
        std::fs::read_dir(dir.path().join("owners"))
            .expect("list")
            .count(),
        0
    );
}
