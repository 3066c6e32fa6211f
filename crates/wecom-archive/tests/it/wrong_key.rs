//! A wrong private key (issue 11, item 10): `sync` stores every record and ends with exit code 3,
//! `doctor` fails naming the key version, and the right key plus `redecrypt` heal the archive.

use wecom_crypto::PrivateKey;

use crate::support::{
    BROKEN_CORP, CORP, TestEmulator, archived_ids, run, stats, stderr, stdout,
    write_with_broken_corp,
};

/// Replaces `keys/v1.pem` with a key the emulator did not encrypt for.
fn write_wrong_key(keys_dir: &std::path::Path) {
    let wrong = PrivateKey::generate_rsa2048().expect("keygen");
    std::fs::write(keys_dir.join("v1.pem"), wrong.to_pkcs8_pem()).expect("write key");
}

#[test]
fn a_wrong_key_ends_sync_with_3_after_storing_everything_and_doctor_names_the_version() {
    let emu = TestEmulator::start(41, 60, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let good = std::fs::read(dir.path().join("keys/v1.pem")).expect("key");
    write_wrong_key(&dir.path().join("keys"));

    let o = run(&config, &["sync", "--no-media"]);
    assert_eq!(o.status.code(), Some(3), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("fix the keys, then run `redecrypt`"),
        "{}",
        stderr(&o)
    );
    // Stored all the same, as failures.
    assert_eq!(
        archived_ids(&dir.path().join("archive.db")),
        emu.expected_ids()
    );
    let s = stats(&config);
    assert_eq!(s["failed"], emu.expected_ids().len() as u64, "{s}");

    let o = run(&config, &["doctor"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{}", stderr(&o));
    let line = out
        .lines()
        .find(|l| l.starts_with("FAIL  stored records"))
        .unwrap_or_else(|| panic!("no stored-records failure:\n{out}"));
    assert!(line.contains("key v1"), "{line}");
    assert!(line.contains("v1.pem"), "{line}");
    assert!(
        out.contains("put the right key there, then run `redecrypt`"),
        "{out}"
    );

    // The right key: redecrypt heals, doctor's check passes, the next sync ends 0.
    std::fs::write(dir.path().join("keys/v1.pem"), good).expect("key");
    let o = run(&config, &["redecrypt"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let o = run(&config, &["doctor"]);
    let out = stdout(&o);
    assert!(out.contains("ok    stored records"), "{out}");
    assert!(!out.contains("FAIL  stored records"), "{out}");
    let o = run(&config, &["sync", "--no-media"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
}

/// A corp whose sync failed (1) outranks records that failed to decrypt (3).
#[test]
fn a_failed_corp_outranks_decrypt_failures_in_the_exit_code() {
    let emu = TestEmulator::start(42, 20, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_with_broken_corp(&emu, dir.path());
    write_wrong_key(&dir.path().join(format!("keys-all/{CORP}")));
    let o = run(&config, &["sync", "--no-media", "--no-names"]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains(BROKEN_CORP), "{}", stderr(&o));
}
