//! The local file-system backend: `<root>/tmp/<random>.part` while writing, then an atomic rename to
//! `<root>/objects/<aa>/<sha256>` (or `<root>/quarantine/<aa>/<sha256>`). Derived renditions take
//! the same way to `<root>/renditions/<aa>/<original sha256>.<ext>`.
//!
//! All file I/O and hashing runs on tokio's blocking threads, one chunk per call, so the async
//! workers never block and at most one chunk per upload is in memory.
//!
//! The order of a publish is: write every chunk, `fsync` the `.part`, verify, `rename`, `fsync` the
//! fan-out directory. A crash at any point leaves either no object or a complete one; a `.part`
//! left by a crash is removed by the next [`FsBlobStore::open`].
//!
//! Several processes may share one root (corps with different archives share the media folder).
//! Each open store is an *owner*: it holds an OS file lock on `<root>/owners/<owner>.owner` for its
//! life and names its uploads `<owner>.<random>.part`. [`FsBlobStore::open`] removes only the
//! `.part` files whose owner's lock is free — their process ended, however it ended (the kernel
//! drops the lock of a killed process) — and never those of a live one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::digest::{self, Digester, Digests};
use crate::store::BoxFuture;
use crate::{
    Area, BackendInfo, BlobError, BlobReader, BlobStore, BlobWriter, Expectations, OnMismatch,
    Rendition, Sha256Hex, StoredObject,
};

/// Content-addressed storage in a local directory. The file name of every object is its SHA-256
/// in hex.
///
/// Any number of stores, in any processes, may share a root: [`open`](FsBlobStore::open) removes
/// only the `.part` files of owners that are gone.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    layout: Arc<Layout>,
}

#[derive(Debug)]
struct Layout {
    root: PathBuf,
    tmp: PathBuf,
    owner: Owner,
}

impl Layout {
    fn path(&self, area: Area, sha256: &Sha256Hex) -> PathBuf {
        self.root.join(area.relative_key(sha256))
    }
}

/// The folder of the `.owner` files, beside `tmp`.
const OWNERS_DIR: &str = "owners";

/// This store's identity: `<pid>-<random>`, and the locked `<root>/owners/<owner>.owner` file that
/// proves it alive.
#[derive(Debug)]
struct Owner {
    token: String,
    path: PathBuf,
    /// Locked exclusively for the life of the store; closing it releases the lock.
    _file: File,
}

impl Owner {
    /// Creates and locks `<owners>/<token>.owner`. The file is locked under a temporary name
    /// first, so no sweep can ever see it unlocked.
    fn create(owners: &Path) -> Result<Owner, BlobError> {
        let token = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
        let fresh = owners.join(format!("{token}.owner-new"));
        let path = owners.join(format!("{token}.{OWNER_EXT}"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&fresh)
            .map_err(|e| BlobError::io("creating", &fresh, &e))?;
        file.try_lock().map_err(|e| BlobError::Io {
            location: fresh.display().to_string(),
            op: "locking",
            cause: e.to_string(),
        })?;
        fs::rename(&fresh, &path).map_err(|e| BlobError::io("renaming", &fresh, &e))?;
        Ok(Owner {
            token,
            path,
            _file: file,
        })
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        // Its uploads are gone by now (each removes its `.part` when dropped); the file only
        // marked them as owned. A sweep that finds it first sees its lock free and removes it too.
        let _ = fs::remove_file(&self.path);
    }
}

const OWNER_EXT: &str = "owner";

/// Whether the owner `token` of a `.part` is alive: its `.owner` file exists and is locked.
/// Missing or unlocked means its process ended without cleaning up.
fn owner_alive(owners: &Path, token: &str) -> bool {
    let Ok(file) = File::open(owners.join(format!("{token}.{OWNER_EXT}"))) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(std::fs::TryLockError::WouldBlock) => true,
        // Cannot tell: keep its files.
        Err(std::fs::TryLockError::Error(_)) => true,
    }
}

/// Removes the `.part` files in `tmp` whose owner is gone (`.part` files of older builds, which
/// name no owner, count as gone), then the `.owner` files of gone owners. Returns how many `.part`
/// files it removed.
fn sweep(tmp: &Path, owners: &Path, own: &str) -> Result<u64, BlobError> {
    let mut alive = std::collections::HashMap::<String, bool>::new();
    let mut is_alive = |owner: &str| {
        *alive
            .entry(owner.to_owned())
            .or_insert_with(|| owner == own || owner_alive(owners, owner))
    };
    let mut removed = 0u64;
    for (dir, ext) in [(tmp, "part"), (owners, OWNER_EXT)] {
        let entries = fs::read_dir(dir).map_err(|e| BlobError::io("listing", dir, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| BlobError::io("listing", dir, &e))?;
            let path = entry.path();
            let Some(stem) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(ext))
                .and_then(|n| n.strip_suffix('.'))
            else {
                continue;
            };
            let owner = if ext == OWNER_EXT {
                Some(stem)
            } else {
                stem.split_once('.').map(|(owner, _)| owner)
            };
            if owner.is_some_and(&mut is_alive) {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) if ext == "part" => removed += 1,
                Ok(()) => {}
                // Another process's sweep got there first.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(BlobError::io("removing stale", &path, &e)),
            }
        }
    }
    Ok(removed)
}

impl FsBlobStore {
    /// Opens (creating if needed) a store rooted at `root`, and removes `.part` files that an ended
    /// process left in `<root>/tmp` — never those of a live one. Blocking: call it at startup, or
    /// from a blocking thread.
    pub fn open(root: impl Into<PathBuf>) -> Result<FsBlobStore, BlobError> {
        let root = root.into();
        let tmp = root.join("tmp");
        let owners = root.join(OWNERS_DIR);
        for dir in [
            tmp.clone(),
            owners.clone(),
            root.join(Area::Objects.dir()),
            root.join(Area::Quarantine.dir()),
        ] {
            fs::create_dir_all(&dir).map_err(|e| BlobError::io("creating", &dir, &e))?;
        }
        let owner = Owner::create(&owners)?;
        let removed = sweep(&tmp, &owners, &owner.token)?;
        if removed > 0 {
            tracing::info!(removed, dir = %tmp.display(), "removed partial uploads of ended processes");
        }
        Ok(FsBlobStore {
            layout: Arc::new(Layout { root, tmp, owner }),
        })
    }

    pub fn root(&self) -> &Path {
        &self.layout.root
    }

    /// The path of an object's file.
    pub fn path(&self, area: Area, sha256: &Sha256Hex) -> PathBuf {
        self.layout.path(area, sha256)
    }

    /// The path of a rendition's file: `<root>/renditions/<aa>/<original sha256>.<ext>`.
    pub fn rendition_path(&self, rendition: &Rendition) -> PathBuf {
        self.layout.root.join(rendition.relative_key())
    }
}

/// Opens `path` and seeks to `offset` (clamped to the end); the reader yields the rest.
async fn open_file_at(path: PathBuf, offset: u64) -> Result<BlobReader, BlobError> {
    use tokio::io::AsyncSeekExt;
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(BlobError::NotFound {
                key: path.display().to_string(),
            });
        }
        Err(e) => return Err(BlobError::io("opening", &path, &e)),
    };
    let size = file
        .metadata()
        .await
        .map_err(|e| BlobError::io("reading metadata of", &path, &e))?
        .len();
    let at = offset.min(size);
    file.seek(io::SeekFrom::Start(at))
        .await
        .map_err(|e| BlobError::io("seeking in", &path, &e))?;
    Ok(BlobReader::new(
        size - at,
        tokio::io::AsyncReadExt::take(file, size - at),
    ))
}

/// Writes `bytes` to an owned `.part` in `tmp/` (so a crash leaves it to the next sweep), syncs
/// it, renames it over `target` and syncs the directories: `target` is absent, the old file, or
/// the whole new one, never part of it. Blocking.
fn publish_rendition(layout: &Layout, target: &Path, bytes: &[u8]) -> Result<(), BlobError> {
    let part_path = layout.tmp.join(format!(
        "{}.{:032x}.part",
        layout.owner.token,
        rand::random::<u128>()
    ));
    let result = (|| {
        let mut part = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part_path)
            .map_err(|e| BlobError::io("creating", &part_path, &e))?;
        part.write_all(bytes)
            .and_then(|()| part.sync_all())
            .map_err(|e| BlobError::io("writing", &part_path, &e))?;
        drop(part);
        let fan_out = target.parent().unwrap_or(&layout.root);
        let area_dir = fan_out.parent().unwrap_or(&layout.root);
        let created_area = match fs::create_dir(area_dir) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(BlobError::io("creating", area_dir, &e)),
        };
        let created = match fs::create_dir(fan_out) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(BlobError::io("creating", fan_out, &e)),
        };
        fs::rename(&part_path, target).map_err(|e| BlobError::io("publishing", target, &e))?;
        sync_dir(fan_out)?;
        if created {
            sync_dir(area_dir)?;
        }
        if created_area {
            sync_dir(&layout.root)?;
        }
        Ok(())
    })();
    if result.is_err()
        && let Err(error) = fs::remove_file(&part_path)
        && error.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(%error, path = %part_path.display(), "could not remove partial rendition");
    }
    result
}

/// Runs blocking file work off the async workers. A lost blocking task (the runtime shutting down)
/// is reported as an I/O error about `path`.
async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> Result<T, BlobError> + Send + 'static,
) -> Result<T, BlobError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(join) => Err(BlobError::Io {
            location: path.display().to_string(),
            op: "running blocking file i/o",
            cause: join.to_string(),
        }),
    }
}

impl BlobStore for FsBlobStore {
    fn begin(&self) -> BoxFuture<'_, Result<Box<dyn BlobWriter>, BlobError>> {
        let layout = Arc::clone(&self.layout);
        Box::pin(async move {
            let path = layout.tmp.join(format!(
                "{}.{:032x}.part",
                layout.owner.token,
                rand::random::<u128>()
            ));
            let part = blocking(&path.clone(), move || {
                PartFile::create(layout, path.clone())
            })
            .await?;
            Ok(Box::new(FsWriter {
                path: part.path.clone(),
                slot: Arc::new(std::sync::Mutex::new(Some(part))),
                failed: None,
            }) as Box<dyn BlobWriter>)
        })
    }

    fn size<'a>(
        &'a self,
        area: Area,
        sha256: &'a Sha256Hex,
    ) -> BoxFuture<'a, Result<Option<u64>, BlobError>> {
        Box::pin(async move {
            let path = self.layout.path(area, sha256);
            match tokio::fs::metadata(&path).await {
                Ok(meta) => Ok(Some(meta.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(BlobError::io("reading metadata of", &path, &e)),
            }
        })
    }

    fn open<'a>(
        &'a self,
        area: Area,
        sha256: &'a Sha256Hex,
    ) -> BoxFuture<'a, Result<BlobReader, BlobError>> {
        Box::pin(async move {
            let path = self.layout.path(area, sha256);
            let file = match tokio::fs::File::open(&path).await {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(BlobError::NotFound {
                        key: path.display().to_string(),
                    });
                }
                Err(e) => return Err(BlobError::io("opening", &path, &e)),
            };
            let meta = file
                .metadata()
                .await
                .map_err(|e| BlobError::io("reading metadata of", &path, &e))?;
            Ok(BlobReader::new(meta.len(), file))
        })
    }

    fn open_at<'a>(
        &'a self,
        area: Area,
        sha256: &'a Sha256Hex,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobReader, BlobError>> {
        Box::pin(open_file_at(self.layout.path(area, sha256), offset))
    }

    fn key(&self, area: Area, sha256: &Sha256Hex) -> String {
        area.relative_key(sha256)
    }

    fn put_rendition<'a>(
        &'a self,
        rendition: &'a Rendition,
        bytes: bytes::Bytes,
    ) -> BoxFuture<'a, Result<(), BlobError>> {
        let layout = Arc::clone(&self.layout);
        let target = self.rendition_path(rendition);
        Box::pin(async move {
            blocking(&target.clone(), move || {
                publish_rendition(&layout, &target, &bytes)
            })
            .await
        })
    }

    fn rendition_size<'a>(
        &'a self,
        rendition: &'a Rendition,
    ) -> BoxFuture<'a, Result<Option<u64>, BlobError>> {
        Box::pin(async move {
            let path = self.rendition_path(rendition);
            match tokio::fs::metadata(&path).await {
                Ok(meta) => Ok(Some(meta.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(BlobError::io("reading metadata of", &path, &e)),
            }
        })
    }

    fn open_rendition_at<'a>(
        &'a self,
        rendition: &'a Rendition,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobReader, BlobError>> {
        Box::pin(open_file_at(self.rendition_path(rendition), offset))
    }

    fn rendition_key(&self, rendition: &Rendition) -> String {
        rendition.relative_key()
    }

    fn describe(&self) -> BackendInfo {
        BackendInfo {
            kind: "fs",
            location: self.layout.root.display().to_string(),
        }
    }
}

/// An upload: the `.part` file is removed when this is dropped unpublished — on an error, an
/// abort, a dropped writer or a cancelled task alike.
struct PartFile {
    layout: Arc<Layout>,
    path: PathBuf,
    file: File,
    digester: Digester,
    published: bool,
}

impl PartFile {
    fn create(layout: Arc<Layout>, path: PathBuf) -> Result<PartFile, BlobError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| BlobError::io("creating", &path, &e))?;
        Ok(PartFile {
            layout,
            path,
            file,
            digester: Digester::default(),
            published: false,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        self.file
            .write_all(bytes)
            .map_err(|e| BlobError::io("writing", &self.path, &e))?;
        self.digester.update(bytes);
        Ok(())
    }

    fn finish(mut self, expect: &Expectations) -> Result<StoredObject, BlobError> {
        self.file
            .sync_all()
            .map_err(|e| BlobError::io("syncing", &self.path, &e))?;
        let digests = std::mem::take(&mut self.digester).finish();
        let area = match digest::verify(&digests, expect) {
            Ok(()) => Area::Objects,
            Err(_) if expect.on_mismatch == OnMismatch::Quarantine => Area::Quarantine,
            Err(mismatch) => return Err(mismatch),
        };
        self.publish(area, digests)
    }

    fn publish(&mut self, area: Area, digests: Digests) -> Result<StoredObject, BlobError> {
        let target = self.layout.path(area, &digests.sha256);
        let object = |deduplicated| StoredObject {
            key: area.relative_key(&digests.sha256),
            md5: digests.md5_hex(),
            sha256: digests.sha256.clone(),
            size: digests.size,
            content_type: digests.content_type,
            area,
            deduplicated,
        };
        match fs::metadata(&target) {
            Ok(meta) if meta.len() == digests.size => return Ok(object(true)),
            Ok(meta) => tracing::warn!(
                path = %target.display(),
                found = meta.len(),
                size = digests.size,
                "stored object has the wrong size; replacing it with verified bytes"
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(BlobError::io("reading metadata of", &target, &e)),
        }
        let fan_out = target.parent().unwrap_or(&self.layout.root);
        let created = match fs::create_dir(fan_out) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(BlobError::io("creating", fan_out, &e)),
        };
        fs::rename(&self.path, &target).map_err(|e| BlobError::io("publishing", &target, &e))?;
        self.published = true;
        // The rename is durable only once the directory holding the new name is synced.
        sync_dir(fan_out)?;
        if created && let Some(area_dir) = fan_out.parent() {
            sync_dir(area_dir)?;
        }
        Ok(object(false))
    }
}

fn sync_dir(dir: &Path) -> Result<(), BlobError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BlobError::io("syncing directory", dir, &e))
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.published
            && let Err(error) = fs::remove_file(&self.path)
            && error.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(%error, path = %self.path.display(), "could not remove partial upload");
        }
    }
}

/// The upload lives behind a lock shared with the blocking thread writing a chunk, so an abort
/// (or a drop) that races an in-flight write waits for it and removes the `.part` before it
/// returns: a cancelled download never leaves its file behind for later.
struct FsWriter {
    /// `None` once the upload failed (see `failed`), finished or aborted.
    slot: Arc<std::sync::Mutex<Option<PartFile>>>,
    path: PathBuf,
    failed: Option<BlobError>,
}

/// The upload in `slot`, or why there is none.
fn take_part(slot: &std::sync::Mutex<Option<PartFile>>) -> Result<Option<PartFile>, BlobError> {
    slot.lock()
        .map(|mut g| g.take())
        .map_err(|_| BlobError::AlreadyFailed {
            kind: crate::BlobErrorKind::Io,
            cause: "an earlier write panicked".into(),
        })
}

impl FsWriter {
    fn gone(&self) -> BlobError {
        match &self.failed {
            Some(failed) => failed.again(),
            None => BlobError::AlreadyFailed {
                kind: crate::BlobErrorKind::Io,
                cause: "the writer was used after it had finished".into(),
            },
        }
    }
}

impl BlobWriter for FsWriter {
    fn write_chunk<'a>(&'a mut self, bytes: &'a [u8]) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            if self.failed.is_some() {
                return Err(self.gone());
            }
            let slot = Arc::clone(&self.slot);
            let chunk = bytes.to_vec();
            let result = blocking(&self.path, move || {
                let mut guard = slot.lock().map_err(|_| BlobError::AlreadyFailed {
                    kind: crate::BlobErrorKind::Io,
                    cause: "an earlier write panicked".into(),
                })?;
                let Some(part) = guard.as_mut() else {
                    return Ok(false);
                };
                match part.write(&chunk) {
                    Ok(()) => Ok(true),
                    Err(e) => {
                        // Dropped here, on the blocking thread, removing the `.part`.
                        guard.take();
                        Err(e)
                    }
                }
            })
            .await;
            match result {
                Ok(true) => Ok(()),
                Ok(false) => Err(self.gone()),
                Err(error) => {
                    self.failed = Some(error.again());
                    Err(error)
                }
            }
        })
    }

    fn finish(
        self: Box<Self>,
        expect: Expectations,
    ) -> BoxFuture<'static, Result<StoredObject, BlobError>> {
        Box::pin(async move {
            let slot = Arc::clone(&self.slot);
            let path = self.path.clone();
            let gone = self.gone();
            blocking(&path, move || match take_part(&slot)? {
                Some(part) => part.finish(&expect),
                None => Err(gone),
            })
            .await
        })
    }

    fn abort(self: Box<Self>) -> BoxFuture<'static, Result<(), BlobError>> {
        Box::pin(async move {
            let slot = Arc::clone(&self.slot);
            let path = self.path.clone();
            // Waits for a write still running on its blocking thread, then removes the `.part`.
            blocking(&path, move || {
                drop(take_part(&slot)?);
                Ok(())
            })
            .await
        })
    }
}
