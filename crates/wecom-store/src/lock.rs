//! One writer per archive: [`WriterLock`], an OS file lock on `<archive>.lock` that records who
//! holds it (pid, command line, start time), so a second writer — or an error about a database
//! that stayed locked — can name the holder.
//!
//! The lock is `flock`-style (std's [`File::try_lock`]): the kernel releases it when its holder
//! exits, also on `kill -9`, so a stale lock file never blocks anyone; what it records is only
//! believed while the lock is actually held. The file itself is never removed (removing it would
//! let two processes lock two different files of the same name).

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Who holds (or last held) an archive's writer lock, as recorded in its lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: u32,
    /// The holder's command line, control characters escaped.
    pub command: String,
    /// When the holder took the lock.
    pub since: SystemTime,
}

impl LockHolder {
    /// This process, now.
    fn current() -> LockHolder {
        let command = std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        LockHolder {
            pid: std::process::id(),
            command: escape_controls(&command),
            // Whole seconds, as recorded.
            since: UNIX_EPOCH
                + Duration::from_secs(
                    SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs()),
                ),
        }
    }

    fn render(&self) -> String {
        let secs = self
            .since
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("pid={}\nsince={secs}\ncommand={}\n", self.pid, self.command)
    }

    /// Parses what [`render`](LockHolder::render) wrote; `None` for an empty or foreign file.
    fn parse(text: &str) -> Option<LockHolder> {
        let mut pid = None;
        let mut since = None;
        let mut command = None;
        for line in text.lines() {
            match line.split_once('=') {
                Some(("pid", v)) => pid = v.trim().parse::<u32>().ok(),
                Some(("since", v)) => {
                    since = v
                        .trim()
                        .parse::<u64>()
                        .ok()
                        .map(|s| UNIX_EPOCH + Duration::from_secs(s));
                }
                Some(("command", v)) => command = Some(escape_controls(v)),
                _ => {}
            }
        }
        Some(LockHolder {
            pid: pid?,
            command: command.unwrap_or_default(),
            since: since?,
        })
    }
}

impl fmt::Display for LockHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {}, `{}`, since {}",
            self.pid,
            self.command,
            utc(self.since)
        )
    }
}

/// What kind of failure a [`LockError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LockErrorKind {
    /// Another process holds the archive's writer lock.
    Held,
    /// The lock file cannot be created or opened for lack of permission (or a read-only mount).
    PermissionDenied,
    /// Any other file-system failure.
    Io,
}

/// Why the writer lock could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    #[error(
        "archive {} is being written by another process ({}): only one process may write an archive \
         at a time; wait for that process to finish or stop it, then try again (readers such as \
         `stats` work beside it)",
        archive.display(),
        holder.as_ref().map_or_else(|| "which did not record who it is".to_owned(), ToString::to_string)
    )]
    Held {
        archive: PathBuf,
        holder: Option<LockHolder>,
    },
    #[error(
        "no permission to create or open the archive's lock file {}: check the owner and mode of \
         the archive's folder, and that the file system is not mounted read-only ({cause})",
        path.display()
    )]
    PermissionDenied { path: PathBuf, cause: String },
    #[error("cannot take the archive's writer lock {}: {cause}", path.display())]
    Io { path: PathBuf, cause: String },
}

impl LockError {
    pub fn kind(&self) -> LockErrorKind {
        match self {
            LockError::Held { .. } => LockErrorKind::Held,
            LockError::PermissionDenied { .. } => LockErrorKind::PermissionDenied,
            LockError::Io { .. } => LockErrorKind::Io,
        }
    }

    fn io(path: &Path, e: &io::Error) -> LockError {
        let path = path.to_owned();
        let cause = e.to_string();
        if is_permission(e) {
            LockError::PermissionDenied { path, cause }
        } else {
            LockError::Io { path, cause }
        }
    }
}

/// True for the errors a missing permission or a read-only file system give.
pub(crate) fn is_permission(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
    )
}

/// The lock file of the archive at `archive`: `<archive>.lock`.
pub fn lock_path(archive: &Path) -> PathBuf {
    let mut name = archive.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The writer lock of one archive, held until dropped (or until the process ends, however it ends).
#[derive(Debug)]
pub struct WriterLock {
    file: File,
    path: PathBuf,
    holder: LockHolder,
}

impl WriterLock {
    /// Takes the writer lock of the archive at `archive` without waiting, creating the lock file
    /// (and the archive's folder) if needed, and records this process as its holder. Another
    /// holder is [`LockError::Held`], naming it.
    pub fn acquire(archive: &Path) -> Result<WriterLock, LockError> {
        let path = lock_path(archive);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| LockError::io(parent, &e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| LockError::io(&path, &e))?;
        // A reader asking who holds the lock takes a shared lock for an instant (see
        // `lock_holder`); a few quick retries ride over that.
        let mut tries = 0;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) if tries < 5 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(TryLockError::WouldBlock) => {
                    let mut text = String::new();
                    let holder = file
                        .read_to_string(&mut text)
                        .ok()
                        .and_then(|_| LockHolder::parse(&text));
                    return Err(LockError::Held {
                        archive: archive.to_owned(),
                        holder,
                    });
                }
                Err(TryLockError::Error(e)) => return Err(LockError::io(&path, &e)),
            }
        }
        let holder = LockHolder::current();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(holder.render().as_bytes()))
            .and_then(|()| file.flush())
            .map_err(|e| LockError::io(&path, &e))?;
        Ok(WriterLock { file, path, holder })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This process, as recorded in the lock file.
    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // Emptied before the lock goes (on close), so nobody reads a finished holder as current.
        let _ = self.file.set_len(0);
    }
}

/// Who holds the writer lock of the archive at `archive`, if anyone does right now — for errors
/// about a database that stayed locked. Never waits; `None` when nobody holds it or it cannot be
/// told.
pub fn lock_holder(archive: &Path) -> Option<LockHolder> {
    let mut file = File::open(lock_path(archive)).ok()?;
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    let holder = LockHolder::parse(&text)?;
    // The record outlives a holder killed with -9: believe it only while the lock is held.
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            None
        }
        Err(TryLockError::WouldBlock) => Some(holder),
        Err(TryLockError::Error(_)) => Some(holder),
    }
}

/// Control characters as `\u{..}` escapes, so a hostile command line cannot drive a terminal.
fn escape_controls(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_unicode().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// `2026-12-06 00:21:26 UTC`.
fn utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!(
        "{} UTC",
        wecom_wire::text::datetime(i64::try_from(secs).unwrap_or(i64::MAX))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_told_who_holds_the_archive() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("sub/archive.db");
        assert_eq!(lock_holder(&archive), None);
        let first = WriterLock::acquire(&archive).expect("first lock");
        assert_eq!(first.path(), dir.path().join("sub/archive.db.lock"));
        let held = lock_holder(&archive).expect("the holder is named");
        assert_eq!(held.pid, std::process::id());
        assert_eq!(&held, first.holder());
        match WriterLock::acquire(&archive) {
            Err(e @ LockError::Held { .. }) => {
                assert_eq!(e.kind(), LockErrorKind::Held);
                let text = e.to_string();
                assert!(
                    text.contains(&format!("pid {}", std::process::id())),
                    "{text}"
                );
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        assert_eq!(lock_holder(&archive), None, "a released lock names nobody");
        let again = WriterLock::acquire(&archive).expect("free again after release");
        drop(again);
    }

    #[test]
    fn a_stale_record_without_a_lock_names_nobody() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path().join("archive.db");
        // What a holder killed with -9 leaves: its record, but no lock.
        std::fs::write(
            lock_path(&archive),
            "pid=4242\nsince=1700000000\ncommand=wecom-archive run\n",
        )
        .expect("write");
        assert_eq!(lock_holder(&archive), None);
        let lock = WriterLock::acquire(&archive).expect("a dead holder's lock is free");
        assert_eq!(lock.holder().pid, std::process::id());
    }

    #[test]
    fn holders_render_and_parse() {
        let h = LockHolder {
            pid: 7,
            command: "wecom-archive sync".to_owned(),
            since: UNIX_EPOCH + Duration::from_secs(1_733_444_486),
        };
        assert_eq!(LockHolder::parse(&h.render()), Some(h.clone()));
        assert_eq!(
            h.to_string(),
            "pid 7, `wecom-archive sync`, since 2024-12-06 00:21:26 UTC"
        );
        assert_eq!(LockHolder::parse(""), None);
        assert_eq!(escape_controls("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
    }
}
