//! Who else has an archive open: read from `/proc` (Linux), so a "database is locked" error can
//! name the process holding the lock instead of leaving the operator to guess.

use std::path::{Path, PathBuf};

/// Another process with a file open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    /// Its command line, control characters escaped, cut to a readable length.
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} ({})", self.pid, self.command)
    }
}

/// Processes other than this one that have the SQLite database at `db` (or its `-wal`/`-shm`)
/// open. Empty where `/proc` cannot be read (another OS, another user's processes).
pub fn open_by_others(db: &Path) -> Vec<Holder> {
    let Ok(db) = db.canonicalize() else {
        return Vec::new();
    };
    let mut names: Vec<PathBuf> = vec![db.clone()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = db.clone().into_os_string();
        p.push(suffix);
        names.push(PathBuf::from(p));
    }
    let me = std::process::id();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut holders = Vec::new();
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let holds = fds
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .any(|target| names.contains(&target));
        if holds {
            holders.push(Holder {
                pid,
                command: command_line(&entry.path()),
            });
        }
    }
    holders.sort_by_key(|h| h.pid);
    holders
}

fn command_line(proc_dir: &Path) -> String {
    const MAX: usize = 120;
    let raw = std::fs::read(proc_dir.join("cmdline")).unwrap_or_default();
    let text: String = String::from_utf8_lossy(&raw)
        .split('\0')
        .filter(|a| !a.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .flat_map(char::escape_debug)
        .collect();
    if text.is_empty() {
        return "command unknown".to_owned();
    }
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// " — held by pid 123 (sqlite3 archive.db)" for an error message, or "" when nobody is seen.
pub fn describe(db: &Path) -> String {
    let holders = open_by_others(db);
    if holders.is_empty() {
        return String::new();
    }
    let list: Vec<String> = holders.iter().map(ToString::to_string).collect();
    format!(
        "; the archive is open in {}: end or wait for that process",
        list.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_holding_the_file_is_named_and_this_process_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("archive.db");
        std::fs::write(&db, b"x").expect("write");
        let _mine = std::fs::File::open(&db).expect("open");
        assert!(open_by_others(&db).is_empty(), "this process is not listed");
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg("exec 3<\"$1\"; exec sleep 30")
            .arg("sh")
            .arg(&db)
            .spawn()
            .expect("spawn");
        // The shell opens the file, then becomes `sleep`: poll until /proc shows that state.
        let started = std::time::Instant::now();
        let holders = loop {
            let holders = open_by_others(&db);
            if holders.iter().any(|h| h.command.starts_with("sleep 30"))
                || started.elapsed() > std::time::Duration::from_secs(30)
            {
                break holders;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(holders.len(), 1, "{holders:?}");
        assert_eq!(holders[0].pid, child.id());
        assert!(holders[0].command.starts_with("sleep 30"), "{holders:?}");
        assert!(describe(&dir.path().join("missing.db")).is_empty());
    }
}
