//! Who may read what the archive writes: the process umask that makes every file and folder it
//! creates private (0600/0700, or 0640/0750 with `[archive] group_readable`), the checks of
//! existing files that `doctor` fails on and `sync` warns about, and the writability probe.

use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use rustix::fs::Mode;

/// Makes everything this process creates from now on private: files 0600 and folders 0700 (with
/// `group_readable`, 0640 and 0750). SQLite gives the `-wal` and `-shm` files the database
/// file's mode, so they follow.
pub fn restrict_umask(group_readable: bool) {
    let mask = if group_readable { 0o027 } else { 0o077 };
    rustix::process::umask(Mode::from_raw_mode(mask));
}

/// The permission bits a private file must not have: any for others and, unless the group may
/// read, any for the group; a group that may read must still not write.
fn forbidden_bits(group_readable: bool) -> u32 {
    if group_readable { 0o027 } else { 0o077 }
}

/// The mode `chmod` should set on a file.
fn private_file_mode(group_readable: bool) -> &'static str {
    if group_readable { "640" } else { "600" }
}

/// A file that others can read (or write) although it must be private.
pub struct OpenFile {
    pub path: PathBuf,
    pub mode: u32,
    /// The command that fixes it.
    pub fix: String,
}

impl std::fmt::Display for OpenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} has mode {:04o}: other users can read it",
            self.path.display(),
            self.mode & 0o7777
        )
    }
}

/// The files among `paths` (those that exist) with more permissions than a private file may
/// have. `group_readable` allows the group to read.
pub fn too_open(paths: &[PathBuf], group_readable: bool) -> Vec<OpenFile> {
    paths
        .iter()
        .filter_map(|path| {
            let mode = std::fs::metadata(path).ok()?.permissions().mode();
            (mode & forbidden_bits(group_readable) != 0).then(|| OpenFile {
                path: path.clone(),
                mode,
                fix: format!(
                    "chmod {} {}",
                    private_file_mode(group_readable),
                    path.display()
                ),
            })
        })
        .collect()
}

/// The archive's own files: the database, SQLite's `-wal` and `-shm`, and the writer lock file.
pub fn archive_files(archive: &Path) -> Vec<PathBuf> {
    let with = |suffix: &str| {
        let mut name = archive.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    vec![
        archive.to_owned(),
        with("-wal"),
        with("-shm"),
        wecom_store::lock_path(archive),
    ]
}

/// Whether this process can create files in `dir` (or, while it does not exist yet, in its
/// nearest existing ancestor, where it would be created): a file is created and removed, so
/// permissions, ACLs, a read-only mount and root's privileges all count as they will for a write.
pub fn check_writable(dir: &Path) -> Result<(), String> {
    let mut at = dir;
    while !at.exists() {
        match at.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => at = parent,
            _ => {
                at = Path::new(".");
                break;
            }
        }
    }
    let probe = at.join(format!(".wecom-archive-write-test-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if at == dir => Err(format!("{} is not writable: {e}", dir.display())),
        Err(e) => Err(format!(
            "{} does not exist and cannot be created: {} is not writable: {e}",
            dir.display(),
            at.display()
        )),
    }
}

/// Writes a file that holds secrets with mode 0600, also when it already exists with a wider
/// mode.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_and_world_bits_are_found_by_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let set = |name: &str, mode: u32| {
            let p = dir.path().join(name);
            std::fs::write(&p, b"x").expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
            p
        };
        let files = vec![
            set("private", 0o600),
            set("group", 0o640),
            set("world", 0o604),
            dir.path().join("missing"),
        ];
        let open: Vec<String> = too_open(&files, false)
            .iter()
            .map(|f| f.fix.clone())
            .collect();
        assert_eq!(
            open,
            vec![
                format!("chmod 600 {}", dir.path().join("group").display()),
                format!("chmod 600 {}", dir.path().join("world").display()),
            ]
        );
        let open: Vec<String> = too_open(&files, true)
            .iter()
            .map(|f| f.fix.clone())
            .collect();
        assert_eq!(
            open,
            vec![format!("chmod 640 {}", dir.path().join("world").display())]
        );
    }

    #[test]
    fn secrets_are_written_private_even_over_a_wider_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("config.toml");
        std::fs::write(&p, b"old").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_private(&p, "secret = \"s\"\n").expect("write private");
        let meta = std::fs::metadata(&p).expect("stat");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::read_to_string(&p).expect("read"),
            "secret = \"s\"\n"
        );
    }
}
