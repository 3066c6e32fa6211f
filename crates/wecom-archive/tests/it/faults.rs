//! Storage faults end to end: a full disk (a real small tmpfs) and a database locked by another
//! process end `sync` at once with the cause and the fix instead of hanging; `run` counts the
//! failure, says why on `/readyz`, and recovers by itself once the fault is gone.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// A configuration whose archive lives at `db` (media and names off: this is about the archive).
fn config_with_archive(emu: &TestEmulator, dir: &Path, db: &Path) -> PathBuf {
    let config = emu.write_config(dir, &[1], "");
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text
        .replacen(
            "path = \"archive.db\"",
            &format!("path = \"{}\"", db.display()),
            1,
        )
        .replacen("[media]\n", "[media]\nenabled = false\n", 1);
    std::fs::write(&config, text).expect("write config");
    config
}

#[test]
fn a_full_disk_ends_sync_naming_the_cause_and_the_next_sync_completes() {
    let emu = TestEmulator::start(41, 2000, None);
    let dir = tempfile::tempdir().expect("tempdir");
    // 2,000 records take about 6.5 MB: a 3 MiB disk fills up in the first page.
    let disk = Tmpfs::mount("3m");
    let db = disk.path().join("archive.db");
    let config = config_with_archive(&emu, dir.path(), &db);

    let out = run_guarded(&config, &["sync", "--no-names"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains("disk full at"), "{err}");
    assert!(err.contains("free space"), "{err}");
    assert!(err.contains("run `sync` again"), "{err}");

    disk.remount("size=64m");
    let out = run_guarded(&config, &["sync", "--no-names"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(archived_ids(&db), emu.expected_ids());
}

#[test]
fn a_lock_held_by_another_process_is_waited_for_then_reported_with_its_holder() {
    let emu = TestEmulator::start(42, 300, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("archive.db");
    let config = config_with_archive(&emu, dir.path(), &db);
    // An archive exists (and is in WAL mode) before someone else locks it.
    let out = run_guarded(&config, &["sync", "--no-names", "--limit", "100"]);
    assert!(out.status.success(), "{}", stderr(&out));
    emu.emulator.append(200);

    // Like `sqlite3 archive.db "BEGIN IMMEDIATE;" ".shell sleep 60"`: another program (Python's
    // sqlite3 module, on every machine of this kind) holds the write lock in its own process.
    let mut holder = Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3, sys, time\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             c.execute('BEGIN IMMEDIATE')\n\
             print('r', flush=True)\n\
             time.sleep(60)\n",
        )
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs (it holds the lock like the sqlite3 shell would)");
    let mut ready = [0u8; 1];
    holder
        .stdout
        .as_mut()
        .expect("stdout")
        .read_exact(&mut ready)
        .expect("the holder took the lock");

    let out = run_guarded(&config, &["sync", "--no-names"]);
    let _ = holder.kill();
    let _ = holder.wait();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains("stayed locked"), "{err}");
    assert!(
        err.contains(&format!("pid {}", holder.id())),
        "the holder is named: {err}"
    );

    let out = run_guarded(&config, &["sync", "--no-names"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(archived_ids(&db), emu.expected_ids());
}

#[test]
fn the_daemon_counts_a_full_disk_says_why_and_recovers_by_itself() {
    use crate::daemon::{http, start_daemon, wait};
    let emu = TestEmulator::start(43, 2000, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = Tmpfs::mount("3m");
    let db = disk.path().join("archive.db");
    let config = config_with_archive(&emu, dir.path(), &db);
    let (mut daemon, addr) = start_daemon(&config, 1);

    let failed_syncs = |metrics: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.contains("syncs") && l.contains("state=\"failed\""))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    wait(Duration::from_secs(120), "a failed sync counted", || {
        failed_syncs(&http(&addr, "GET", "/metrics", "").1) >= 1.0
    });
    let (status, why) = http(&addr, "GET", "/readyz", "");
    assert_eq!(status, 503, "{why}");
    assert!(why.contains("disk full"), "/readyz says why: {why}");

    disk.remount("size=64m");
    wait(
        Duration::from_secs(120),
        "recovery without a restart",
        || http(&addr, "GET", "/readyz", "").0 == 200,
    );
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let status = daemon.wait().expect("daemon ends");
    assert!(status.success(), "{status:?}");
    assert_eq!(archived_ids(&db), emu.expected_ids());
}

/// Sends `signal` to `child` once `ready` holds, and returns its output (with a hang guard).
fn signal_when(
    child: std::process::Child,
    signal: &str,
    ready: impl Fn() -> bool,
) -> (Output, Duration) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the sync never got to the point to interrupt"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let signalled = Instant::now();
    let out = child.wait_with_output().expect("output");
    (out, signalled.elapsed())
}

fn spawn_sync(config: &Path, args: &[&str]) -> std::process::Child {
    bin()
        .arg("--config")
        .arg(config)
        .arg("sync")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sync")
}

#[test]
fn sigterm_and_sigint_finish_the_page_in_flight_and_end_143_and_130() {
    let emu = TestEmulator::start(44, 3000, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("archive.db");
    let config = config_with_archive(&emu, dir.path(), &db);
    // Slow pages, so the signal lands while pages are in flight.
    emu.emulator.inject(
        wecom_emulator::Fault::Delay(Duration::from_millis(100)),
        10_000,
    );

    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let before = emu.emulator.request_count();
        let child = spawn_sync(&config, &["--no-names", "--limit", "50"]);
        let (out, _) = signal_when(child, signal, || {
            emu.emulator.request_count() >= before + 10
        });
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {err}");
        assert!(err.contains(&format!("SIG{signal}")), "{err}");
        // What was committed is exactly a prefix of the corpus, and the cursor stands after it.
        let ids = archived_ids(&db);
        assert!(!ids.is_empty() && ids.len() < 3000, "{}", ids.len());
        assert_eq!(ids[..], emu.expected_ids()[..ids.len()]);
    }
    emu.emulator.clear_faults();
    let out = run_guarded(&config, &["sync", "--no-names"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(archived_ids(&db), emu.expected_ids());
}

#[test]
fn a_signal_during_media_downloads_gives_the_jobs_back_and_logs_no_failure() {
    use wecom_emulator::{MediaFault, MediaFaultRule};
    let emu = TestEmulator::start(45, 300, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    // Every media chunk is slow: the signal lands while downloads are in flight.
    emu.emulator.inject_media(MediaFaultRule::new(
        MediaFault::Delay(Duration::from_millis(1500)),
        10_000,
    ));
    for (signal, code) in [("TERM", 143), ("INT", 130)] {
        let before = emu.emulator.media_request_count();
        let child = spawn_sync(&config, &["--no-names"]);
        let (out, _) = signal_when(child, signal, || {
            emu.emulator.media_request_count() >= before + 2
        });
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {err}");
        assert!(!err.contains("failed for good"), "{err}");
        assert!(!err.contains("10006"), "{err}");
        let parts: Vec<String> = walk_files(&dir.path().join("media"))
            .into_iter()
            .filter(|p| p.ends_with(".part"))
            .collect();
        assert!(parts.is_empty(), "own .part files removed: {parts:?}");
        let media = &stats(&config)["media"];
        assert_eq!(media["downloading"], 0, "claimed jobs given back: {media}");
        assert_eq!(media["failed_retryable"], 0, "{media}");
        assert_eq!(media["failed_permanent"], 0, "{media}");
    }
    emu.emulator.clear_media_faults();
    let out = run_guarded(&config, &["sync", "--no-names"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let media = &stats(&config)["media"];
    assert_eq!(media["done"], media["total"], "{media}");
}

fn walk_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[test]
fn a_damaged_archive_ends_sync_with_what_to_do() {
    let emu = TestEmulator::start(46, 1500, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("archive.db");
    let config = config_with_archive(&emu, dir.path(), &db);
    let out = run_guarded(&config, &["sync", "--no-names"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Everything after the first 8 pages is overwritten: the tables' pages are garbage.
    let mut bytes = std::fs::read(&db).expect("read archive");
    let len = bytes.len();
    assert!(len > 64 * 1024, "{len}");
    for (i, b) in bytes[32 * 1024..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(151) ^ 0x5a;
    }
    std::fs::write(&db, bytes).expect("damage archive");
    emu.emulator.append(100);

    let out = run_guarded(&config, &["sync", "--no-names"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(err.contains("not a usable archive database"), "{err}");
    assert!(err.contains("restore it from a backup"), "{err}");
}
