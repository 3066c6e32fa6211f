//! The archive's files: one writer per archive (exit 4 naming the holder), readers beside it,
//! private modes of everything written, `doctor` on readable keys and unwritable folders, and
//! reading an archive on a read-only mount.

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{TestEmulator, Tmpfs, bin, run, stats, stderr, stdout};

/// Polls `f` until it holds; a generous hang guard, never a speed assertion.
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGTERM and reaps the child.
fn terminate(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn spawn(config: &Path, args: &[&str]) -> Child {
    bin()
        .arg("--config")
        .arg(config)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

/// Waits until `child` holds the archive's writer lock (and has committed `records`).
fn wait_until_writing(child: &mut Child, db: &Path, config: &Path, records: u64) {
    let pid = child.id();
    wait_for("the first writer to hold the lock", || {
        assert!(
            child.try_wait().expect("child").is_none(),
            "the writer exited early"
        );
        wecom_store::lock_holder(db).is_some_and(|h| h.pid == pid)
    });
    wait_for("the first writer to catch up", || {
        // Until the writer has created the schema, a reader is told there is nothing to read.
        let o = run(config, &["stats", "--json"]);
        o.status.success()
            && serde_json::from_slice::<serde_json::Value>(&o.stdout)
                .is_ok_and(|s| s["records"].as_u64() == Some(records))
    });
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

#[test]
fn a_second_sync_exits_4_naming_the_first_and_readers_are_unaffected() {
    let emu = TestEmulator::start(81, 300, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let db = dir.path().join("archive.db");
    let mut first = spawn(
        &config,
        &["sync", "--follow", "--interval", "3600", "--no-media"],
    );
    wait_until_writing(&mut first, &db, &config, 300);

    let second = run(&config, &["sync", "--no-media"]);
    assert_eq!(second.status.code(), Some(4), "{}", stderr(&second));
    let message = stderr(&second);
    assert!(
        message.contains(&format!("pid {}", first.id())),
        "{message}"
    );
    assert!(message.contains("sync --follow"), "{message}");
    assert!(message.contains("since "), "{message}");
    // Every writing command is refused the same way, before it changes anything.
    for args in [
        &["redecrypt"][..],
        &["media", "retry"],
        &["names", "refresh"],
    ] {
        let o = run(&config, args);
        assert_eq!(o.status.code(), Some(4), "{args:?}: {}", stderr(&o));
    }
    // Readers take no lock.
    for args in [
        &["stats"][..],
        &["conversations", "list"],
        &["rooms", "list"],
        &["people", "list"],
        &["media", "status"],
    ] {
        let o = run(&config, args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }

    terminate(first);
    assert_eq!(wecom_store::lock_holder(&db), None);
    let again = run(&config, &["sync", "--no-media"]);
    assert!(again.status.success(), "{}", stderr(&again));
}

#[test]
fn stats_works_beside_a_running_daemon_and_sync_is_refused() {
    let emu = TestEmulator::start(82, 200, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let db = dir.path().join("archive.db");
    let mut daemon = bin()
        .arg("--config")
        .arg(&config)
        .args(["run", "--listen", "127.0.0.1:0", "--poll-interval", "3600"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    // The first line says where it listens: from then on it is up.
    let mut line = String::new();
    BufReader::new(daemon.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    wait_until_writing(&mut daemon, &db, &config, 200);

    let s = stats(&config);
    assert_eq!(s["records"], 200);
    let sync = run(&config, &["sync"]);
    assert_eq!(sync.status.code(), Some(4), "{}", stderr(&sync));
    assert!(
        stderr(&sync).contains(&format!("pid {}", daemon.id())),
        "{}",
        stderr(&sync)
    );
    terminate(daemon);
}

#[test]
fn everything_a_sync_writes_is_private_unless_the_group_may_read() {
    let emu = TestEmulator::start(83, 300, None);
    for (group_readable, file_mode, dir_mode) in [(false, 0o600, 0o700), (true, 0o640, 0o750)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = emu.write_config(dir.path(), &[1], "");
        if group_readable {
            let text = std::fs::read_to_string(&config).expect("config");
            let text = text.replacen("[archive]\n", "[archive]\ngroup_readable = true\n", 1);
            std::fs::write(&config, text).expect("config");
        }
        let o = run(&config, &["sync"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let s = stats(&config);
        assert!(s["media"]["done"].as_u64() > Some(0), "{}", s["media"]);

        let db = dir.path().join("archive.db");
        assert_eq!(mode(&db), file_mode, "archive.db");
        assert_eq!(mode(&wecom_store::lock_path(&db)), file_mode, "lock file");
        // The -wal and -shm live while a connection is open: open one as a writer would.
        let store = wecom_store::SqliteStore::open(&db).expect("open");
        for suffix in ["-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", db.display()));
            assert_eq!(mode(&p), file_mode, "{suffix}");
        }
        drop(store);
        let mut files = 0;
        let mut stack = vec![dir.path().join("media")];
        assert_eq!(mode(&stack[0]), dir_mode, "media folder");
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("list") {
                let p = entry.expect("entry").path();
                if p.is_dir() {
                    assert_eq!(mode(&p), dir_mode, "{}", p.display());
                    stack.push(p);
                } else {
                    assert_eq!(mode(&p), file_mode, "{}", p.display());
                    files += 1;
                }
            }
        }
        assert!(files > 0, "media files were written");
    }
}

#[test]
fn the_emulator_writes_its_client_configuration_and_keys_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("client.toml");
    // An older, readable file is replaced by a private one.
    std::fs::write(&config, "old").expect("write");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut child = bin()
        .args(["emulator", "--listen", "127.0.0.1:0", "--messages", "20"])
        .arg("--write-config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn emulator");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    assert!(line.starts_with("wrote client configuration"), "{line}");
    terminate(child);
    assert_eq!(mode(&config), 0o600);
    assert!(
        std::fs::read_to_string(&config)
            .expect("read")
            .contains("secret = ")
    );
    assert_eq!(mode(&dir.path().join("keys")), 0o700);
    assert_eq!(mode(&dir.path().join("keys/v1.pem")), 0o600);
}

#[test]
fn doctor_fails_on_a_readable_private_key_naming_the_file_and_the_fix() {
    let emu = TestEmulator::start(84, 20, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let key = dir.path().join("keys/v1.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let ok = run(&config, &["doctor"]);
    assert!(ok.status.success(), "{}", stdout(&ok));

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let o = run(&config, &["doctor"]);
    assert!(!o.status.success(), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!("{} has mode 0644", key.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!("chmod 600 {}", key.display())),
        "{out}"
    );
    // `sync` warns about it, and still archives.
    let sync = run(&config, &["sync", "--no-media"]);
    assert!(sync.status.success(), "{}", stderr(&sync));
    assert!(
        stderr(&sync).contains(&format!("chmod 600 {}", key.display())),
        "{}",
        stderr(&sync)
    );
    // A readable archive is named too.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let db = dir.path().join("archive.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let o = run(&config, &["doctor"]);
    assert!(!o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).contains(&format!("chmod 600 {}", db.display())),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_read_only_mount_is_readable_refused_for_writing_and_doctor_says_why() {
    let emu = TestEmulator::start(85, 200, None);
    let mount = Tmpfs::mount("64m");
    let config = emu.write_config(mount.path(), &[1], "");
    std::fs::set_permissions(
        mount.path().join("keys/v1.pem"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");

    // Before the first sync: the folder where the archive would be created takes no files.
    mount.remount("ro");
    let o = run(&config, &["doctor"]);
    assert!(!o.status.success(), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("archive folder"), "{out}");
    assert!(out.contains("not writable"), "{out}");
    assert!(out.contains("Read-only file system"), "{out}");

    mount.remount("rw");
    let o = run(&config, &["sync", "--no-media"]);
    assert!(o.status.success(), "{}", stderr(&o));
    mount.remount("ro");

    // Readers work on the read-only mount.
    let s = stats(&config);
    assert_eq!(s["records"], 200);
    let o = run(&config, &["conversations", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A writer names the permission problem and its fix; it is not "another process".
    let o = run(&config, &["sync", "--no-media"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let message = stderr(&o);
    assert!(message.contains("no permission"), "{message}");
    assert!(message.contains("read-only"), "{message}");
    mount.remount("rw");
}
