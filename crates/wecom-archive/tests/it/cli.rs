//! Commands on their own: init, bad configuration and keys, the decrypt diagnosis tool.

use crate::support::*;

#[test]
fn init_writes_a_private_key_and_a_commented_config_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = bin()
        .args(["init", "--corp-id", "ww123", "--dir"])
        .arg(dir.path())
        .output()
        .expect("init");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("-----BEGIN PUBLIC KEY-----"),
        "{}",
        stdout(&o)
    );
    let key = dir.path().join("keys/v1.pem");
    let pem = std::fs::read_to_string(&key).expect("key written");
    assert!(
        wecom_crypto::PrivateKey::from_pem(&pem)
            .expect("parses")
            .bits()
            == 2048
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).expect("meta").permissions().mode() & 0o777,
            0o600
        );
    }
    let config = dir.path().join("wecom-archive.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    assert!(
        text.contains("corp_id = \"ww123\"") && text.contains("# "),
        "{text}"
    );
    let o = run(&config, &["keys", "list"]);
    assert!(
        stdout(&o).contains("version 1") && stdout(&o).contains("RSA-2048"),
        "{}",
        stdout(&o)
    );

    let again = bin()
        .args(["init", "--dir"])
        .arg(dir.path())
        .output()
        .expect("init again");
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn bad_configuration_and_keys_get_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.toml");
    let o = run(&missing, &["stats"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("missing.toml"), "{}", stderr(&o));

    let garbled = dir.path().join("garbled.toml");
    std::fs::write(&garbled, "[corp\ncorp_id = 1").expect("write");
    let o = run(&garbled, &["sync"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("garbled.toml"), "{}", stderr(&o));

    let config = dir.path().join("wecom-archive.toml");
    std::fs::write(
        &config,
        "[corp]\ncorp_id = \"ww1\"\nsecret = \"s\"\nbase_url = \"http://127.0.0.1:9\"\n",
    )
    .expect("write");
    std::fs::create_dir_all(dir.path().join("keys")).expect("keys");
    std::fs::write(
        dir.path().join("keys/v1.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    let o = run(&config, &["sync"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("v1.pem"), "{}", stderr(&o));

    let o = run(
        &config,
        &[
            "keys",
            "add",
            "--version",
            "3",
            "--file",
            "/nonexistent/key.pem",
        ],
    );
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("/nonexistent/key.pem"),
        "{}",
        stderr(&o)
    );

    std::fs::write(
        &config,
        "[corp]\ncorp_id = \"ww1\"\nsecret = \"s\"\nbase_url = \"http://example.com\"\n",
    )
    .expect("write");
    std::fs::remove_file(dir.path().join("keys/v1.pem")).expect("rm");
    let o = run(&config, &["sync"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("only for loopback"), "{}", stderr(&o));
}

#[test]
fn decrypt_diagnoses_the_failing_step() {
    let vectors: serde_json::Value = serde_json::from_str(include_str!(
        "../../../wecom-crypto/tests/data/decrypt-vectors.json"
    ))
    .expect("vectors");
    let v = &vectors[0];
    let key = v["encrypt_key"].as_str().expect("key");
    let msg = v["encrypt_msg"].as_str().expect("msg");
    let o = bin()
        .args(["decrypt", "--encrypt-key", key, "--encrypt-msg", msg])
        .output()
        .expect("decrypt");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim_end(),
        v["plaintext"].as_str().expect("plaintext")
    );

    let o = bin()
        .args(["decrypt", "--encrypt-key", &key[4..], "--encrypt-msg", msg])
        .output()
        .expect("decrypt");
    assert!(!o.status.success());
    assert!(stdout(&o).contains("10008"), "{}", stdout(&o));
}

#[test]
fn decrypt_chatdata_names_the_key_version_tried() {
    let emu = TestEmulator::start(9, 20, Some(10));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let o = run(&config, &["sync"]);
    // Exit 3: everything is archived, but records of this run failed to decrypt.
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // Fetch a version-2 record as the wire shows it and ask for a diagnosis without key 2.
    let item = wecom_store::SqliteStore::open(&dir.path().join("archive.db"))
        .and_then(|s| {
            use wecom_store::ArchiveWriter;
            s.failed_records(CORP, 1)
        })
        .expect("failed records")
        .into_iter()
        .next()
        .expect("one failure");
    let file = dir.path().join("item.json");
    std::fs::write(&file, serde_json::to_string(&item.item).expect("json")).expect("write");
    let o = run(
        &config,
        &["decrypt", "--chatdata", file.to_str().expect("utf8")],
    );
    assert!(!o.status.success());
    assert!(
        stdout(&o).contains("no private key for version 2"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn doctor_passes_on_a_good_setup_and_explains_a_wrong_secret() {
    let emu = TestEmulator::start(12, 30, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let o = run(&config, &["doctor"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("all checks passed"), "{}", stdout(&o));

    let o = bin()
        .arg("--config")
        .arg(&config)
        .arg("doctor")
        .env("WECOM_ARCHIVE_SECRET", "not-the-archive-secret")
        .output()
        .expect("doctor");
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("FAIL") && out.contains("40001") && out.contains("fix:"),
        "{out}"
    );
}

/// `bench read` runs end to end on a small corpus and prints both sets of figures side by side.
#[test]
fn bench_read_prints_idle_and_busy_latencies_and_the_ingest_ratio() {
    let o = bin()
        .args([
            "bench",
            "read",
            "--messages",
            "3000",
            "--rsa-seconds",
            "0.2",
        ])
        .output()
        .expect("run bench");
    let out = stdout(&o);
    assert!(o.status.success(), "{}{out}", stderr(&o));
    for line in [
        "archive: 3,000 messages",
        "conversation page  idle",
        "conversation page  busy",
        "conversation list  idle",
        "conversation list  busy",
        "ratio to the RSA limit",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}

/// `bench search` runs end to end on a small archive: every figure is printed, and the index
/// agrees with the substring scan on every query (the command fails otherwise).
#[test]
fn bench_search_prints_its_figures_and_finds_no_false_negative() {
    let o = bin()
        .args([
            "bench",
            "search",
            "--messages",
            "3000",
            "--ingest-messages",
            "500",
            "--rsa-seconds",
            "0.2",
        ])
        .output()
        .expect("run bench");
    let out = stdout(&o);
    assert!(o.status.success(), "{}{out}", stderr(&o));
    for line in [
        "archive: 3,000 messages",
        "search latency, top 50, all 345 runs of 23 queries: p50",
        "LIKE scan vs index at the median",
        "false negatives against a substring scan: 0 (and 0 false positives); LIKE hits the index missed: 0",
        "indexing: 3,000 messages in",
        "ingest alone:",
        "ingest with indexing beside it:",
        "of 500 when the sync ended, 500 after",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
}
