//! The archive's promises, end to end: exact record sets, crash safety, key rotation, retries.

use std::time::{Duration, Instant};

use wecom_emulator::Fault;

use crate::support::*;

#[test]
fn demo_archives_exactly_the_emulator_records_and_reruns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo_dir = dir.path().join("demo");
    for _ in 0..2 {
        let o = bin()
            .args(["demo", "--no-serve", "--messages", "600", "--dir"])
            .arg(&demo_dir)
            .output()
            .expect("run demo");
        assert!(
            o.status.success(),
            "demo failed: {}\n{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(
            stdout(&o).contains("holds exactly the emulator's 600 records"),
            "{}",
            stdout(&o)
        );
    }
    let s = stats(&demo_dir.join("wecom-archive.toml"));
    assert_eq!(s["records"], 600);
    assert_eq!(s["decrypted"], 600);
    assert_eq!(s["failed"], 0);
    assert_eq!(s["distinct_msgids"], 600);
    assert_eq!(s["cursor_seq"], 600);
    let media = &s["media"];
    assert!(
        media["total"].as_u64().expect("media total") > 50,
        "{media}"
    );
    assert_eq!(
        media["done"], media["total"],
        "every media object downloaded and verified: {media}"
    );
    assert!(
        media["media_dir"]
            .as_str()
            .expect("media_dir")
            .ends_with("media"),
        "{media}"
    );
    let by_type = s["by_msgtype"].as_object().expect("by_msgtype");
    assert!(
        by_type["text"].as_u64().expect("text count") > 300,
        "{by_type:?}"
    );
}

#[test]
fn kill_9_at_any_moment_then_sync_again_loses_and_duplicates_nothing() {
    let emu = TestEmulator::start(11, 3000, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "page_limit = 50\n");
    // Slow pages so the process is surely in the middle of the pipeline when killed.
    emu.emulator
        .inject(Fault::Delay(Duration::from_millis(40)), 1000);
    let db = dir.path().join("archive.db");
    // How many records are archived so far (0 while the archive does not open yet).
    let archived = || {
        wecom_store::SqliteStore::open_read_only(&db)
            .ok()
            .and_then(|s| {
                use wecom_store::ArchiveReader;
                s.record_ids(CORP).ok()
            })
            .map_or(0, |ids| ids.len())
    };
    for extra_ms in [0u64, 60, 150] {
        let before = archived();
        let mut child = bin()
            .arg("--config")
            .arg(&config)
            .arg("sync")
            .spawn()
            .expect("spawn sync");
        // Kill only once this sync has committed a page (a loaded machine may take seconds to
        // get there), then a little later: in the middle of the pipeline, not before it.
        let started = Instant::now();
        while archived() <= before && started.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(extra_ms));
        child.kill().expect("kill -9");
        let _ = child.wait();
    }
    let partial = archived_ids(&dir.path().join("archive.db"));
    assert!(
        !partial.is_empty() && partial.len() < 3000,
        "kills should land mid-sync: {}",
        partial.len()
    );

    let o = run(&config, &["sync"]);
    assert!(o.status.success(), "resume failed: {}", stderr(&o));
    assert_eq!(
        archived_ids(&dir.path().join("archive.db")),
        emu.expected_ids()
    );
    let s = stats(&config);
    assert_eq!(s["records"], 3000);
    assert_eq!(s["decrypted"], 3000);
    assert_eq!(s["distinct_msgids"], 3000);
    assert_eq!(s["cursor_seq"], 3000);
    // Media interrupted by the kills completes too; nothing half-written is published.
    assert_eq!(s["media"]["done"], s["media"]["total"], "{}", s["media"]);
    let parts = walk(&dir.path().join("media/tmp"))
        .into_iter()
        .filter(|p| p.ends_with(".part"))
        .count();
    assert_eq!(parts, 0);
}

#[test]
fn key_rotation_without_the_new_key_fails_safely_until_keys_add_and_redecrypt() {
    let emu = TestEmulator::start(5, 500, Some(300));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let o = run(&config, &["sync"]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "sync stores everything and ends 3 when records failed to decrypt: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("run `redecrypt`"), "{}", stderr(&o));
    let s = stats(&config);
    assert_eq!(s["records"], 500, "every record is stored encrypted");
    assert_eq!(s["decrypted"], 300);
    assert_eq!(s["failed"], 200);
    assert_eq!(s["failed_by_code"]["10007"], 200, "{s}");
    assert_eq!(
        s["cursor_seq"], 500,
        "sync continues past failures without losing them"
    );

    let v2 = dir.path().join("v2-from-backup.pem");
    let (_, key2) = emu.keys.iter().find(|(v, _)| *v == 2).expect("key 2");
    std::fs::write(&v2, key2.to_pkcs8_pem()).expect("write v2");
    let o = run(
        &config,
        &[
            "keys",
            "add",
            "--version",
            "2",
            "--file",
            v2.to_str().expect("utf8"),
        ],
    );
    assert!(o.status.success(), "keys add failed: {}", stderr(&o));
    let o = run(&config, &["keys", "list"]);
    assert!(
        stdout(&o).contains("version 1") && stdout(&o).contains("version 2"),
        "{}",
        stdout(&o)
    );

    let o = run(&config, &["redecrypt"]);
    assert!(
        o.status.success(),
        "redecrypt failed: {}\n{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(stdout(&o).contains("200 now decrypted"), "{}", stdout(&o));
    let s = stats(&config);
    assert_eq!(s["decrypted"], 500);
    assert_eq!(s["failed"], 0);
    assert_eq!(
        archived_ids(&dir.path().join("archive.db")),
        emu.expected_ids()
    );
}

#[test]
fn transient_faults_are_retried_and_a_spent_budget_leaves_the_cursor_in_place() {
    let emu = TestEmulator::start(3, 400, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(
        dir.path(),
        &[1],
        "page_limit = 100\nretry_max_attempts = 4\n",
    );

    emu.emulator.inject(Fault::Http500, 1);
    emu.emulator.inject(Fault::DropConnection, 1);
    emu.emulator.inject(Fault::ErrcodeSystemBusy, 1);
    emu.emulator.inject(Fault::ExpireTokens, 1);
    let o = run(&config, &["sync"]);
    assert!(
        o.status.success(),
        "sync with transient faults failed: {}",
        stderr(&o)
    );
    assert_eq!(stats(&config)["cursor_seq"], 400);

    emu.emulator.append(150);
    emu.emulator.inject(Fault::Http502, 4);
    let started = Instant::now();
    let o = run(&config, &["sync"]);
    assert!(
        !o.status.success(),
        "a spent retry budget must fail the command"
    );
    let err = stderr(&o);
    assert!(err.contains("sync stopped") && err.contains("400"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    let s = stats(&config);
    assert_eq!(s["cursor_seq"], 400, "the cursor stays where it was");
    assert_eq!(s["records"], 400);

    let o = run(&config, &["sync"]);
    assert!(
        o.status.success(),
        "sync after the faults failed: {}",
        stderr(&o)
    );
    assert_eq!(
        archived_ids(&dir.path().join("archive.db")),
        emu.expected_ids()
    );
}

/// Waits until `f` holds, polling; fails the test after `limit`.
fn eventually(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn records_in(config: &std::path::Path) -> u64 {
    let o = run(config, &["stats", "--json"]);
    if !o.status.success() {
        return 0;
    }
    serde_json::from_slice::<serde_json::Value>(&o.stdout)
        .ok()
        .and_then(|v| v["records"].as_u64())
        .unwrap_or(0)
}

#[test]
fn the_standalone_emulator_writes_a_config_that_sync_uses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("client/wecom-archive.toml");
    let mut emulator = bin()
        .args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--messages",
            "250",
            "--seed",
            "4",
            "--rotate-at",
            "200",
            "--write-config",
        ])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn emulator");
    eventually(Duration::from_secs(30), "the emulator's config", || {
        config.exists()
    });
    let o = run(&config, &["sync"]);
    let _ = emulator.kill();
    let _ = emulator.wait();
    assert!(
        o.status.success(),
        "sync against the standalone emulator failed: {}",
        stderr(&o)
    );
    let s = stats(&config);
    assert_eq!(
        (
            s["records"].as_u64(),
            s["decrypted"].as_u64(),
            s["failed"].as_u64()
        ),
        (Some(250), Some(250), Some(0))
    );
}

#[test]
fn follow_mode_picks_up_new_records_and_stops_cleanly_on_ctrl_c() {
    let emu = TestEmulator::start(21, 120, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let mut follower = bin()
        .arg("--config")
        .arg(&config)
        .args(["sync", "--follow", "--interval", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn follower");
    eventually(Duration::from_secs(30), "the first 120 records", || {
        records_in(&config) == 120
    });
    emu.emulator.append(80);
    eventually(Duration::from_secs(30), "the appended records", || {
        records_in(&config) == 200
    });
    let pid = follower.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let status = follower.wait().expect("wait");
    assert_eq!(
        status.code(),
        Some(130),
        "ctrl-c ends --follow cleanly with 128 + SIGINT: {status:?}"
    );
    assert_eq!(
        archived_ids(&dir.path().join("archive.db")),
        emu.expected_ids()
    );
}

#[test]
fn the_vendor_library_source_archives_exactly_what_the_native_client_does() {
    let Some(library) =
        real_sdk("the_vendor_library_source_archives_exactly_what_the_native_client_does")
    else {
        return;
    };
    let emu = TestEmulator::start(41, 1200, Some(900));
    let native_dir = tempfile::tempdir().expect("tempdir");
    let sdk_dir = tempfile::tempdir().expect("tempdir");
    let native = emu.write_config(native_dir.path(), &[1, 2], "page_limit = 300\n");
    let sdk = emu.write_config(sdk_dir.path(), &[1, 2], "page_limit = 300\n");
    let text = std::fs::read_to_string(&sdk).expect("config");
    std::fs::write(
        &sdk,
        text.replacen(
            "timeout_secs = 5\n",
            &format!("timeout_secs = 5\nsdk_proxy = \"{}\"\n", emu.proxy_url),
            1,
        ),
    )
    .expect("write config");

    let o = run(&native, &["sync"]);
    assert!(o.status.success(), "native sync failed: {}", stderr(&o));
    let o = run(
        &sdk,
        &[
            "sync",
            "--source",
            "sdk",
            "--sdk-library",
            library.to_str().expect("utf8"),
        ],
    );
    assert!(
        o.status.success(),
        "sdk sync failed: {}\n{}",
        stdout(&o),
        stderr(&o)
    );

    let expected = emu.expected_ids();
    assert_eq!(
        archived_ids(&native_dir.path().join("archive.db")),
        expected
    );
    assert_eq!(archived_ids(&sdk_dir.path().join("archive.db")), expected);
    let (n, s) = (stats(&native), stats(&sdk));
    assert_eq!(s["decrypted"].as_u64(), Some(1200));
    assert_eq!(n["by_msgtype"], s["by_msgtype"]);

    let o = run(
        &sdk,
        &[
            "sync",
            "--source",
            "sdk",
            "--sdk-library",
            "/nonexistent/libWeWorkFinanceSdk_C.so",
        ],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("/nonexistent/libWeWorkFinanceSdk_C.so"),
        "{}",
        stderr(&o)
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[test]
fn one_corp_failing_does_not_stop_the_others() {
    let emu = TestEmulator::start(51, 150, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let single = write_with_broken_corp(&emu, dir.path());

    let o = run(&single, &["sync"]);
    assert!(!o.status.success(), "a failing corp makes the run fail");
    assert!(stderr(&o).contains(BROKEN_CORP), "{}", stderr(&o));
    assert_eq!(
        archived_ids(&dir.path().join("archive.db")),
        emu.expected_ids(),
        "the good corp is archived in full"
    );
}
