//! Secrets and terminal safety end to end: proxy passwords never printed, server text shown
//! escaped, corp ids with stray characters refused at load.

use wecom_emulator::Fault;

use crate::support::{SECRET, TestEmulator, run, stderr, stdout};

/// What the server says, with an ANSI colour, a carriage return (which would overwrite the line)
/// and a newline (which would forge the next one).
const HOSTILE_ERRMSG: &str = "bad\x1b[31m red\rforged\nerror: all good";

fn assert_no_raw_controls(text: &str) {
    assert!(
        !text.contains('\x1b') && !text.contains('\r'),
        "raw control characters reached the terminal: {text:?}"
    );
}

#[test]
fn an_errmsg_with_ansi_escapes_is_shown_escaped_by_sync_and_doctor() {
    let emu = TestEmulator::start(61, 5, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let fault = Fault::Errcode {
        errcode: 40013,
        errmsg: HOSTILE_ERRMSG,
    };

    emu.emulator.inject(fault, 1);
    let o = run(&config, &["sync", "--no-media"]);
    assert!(!o.status.success(), "a refused getchatdata fails the sync");
    let err = stderr(&o);
    assert_no_raw_controls(&err);
    assert_no_raw_controls(&stdout(&o));
    assert!(
        err.contains("bad\\x1b[31m red\\rforged\\nerror: all good"),
        "{err}"
    );
    assert!(
        !err.lines().any(|l| l.starts_with("error: all good")),
        "the errmsg forged a line: {err}"
    );

    emu.emulator.inject(fault, 1);
    let o = run(&config, &["doctor"]);
    let out = stdout(&o);
    assert_no_raw_controls(&out);
    assert_no_raw_controls(&stderr(&o));
    assert!(out.contains("bad\\x1b[31m red\\rforged"), "{out}");
    assert!(!o.status.success(), "{out}");
}

#[test]
fn a_proxy_password_never_appears_in_doctor_output_or_logs() {
    let emu = TestEmulator::start(62, 5, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let text = std::fs::read_to_string(&config).expect("config");
    for proxy in [
        // Malformed: doctor used to print it whole.
        "http://operator:hunter2-secret@127.0.0.1:1:bad",
        // Well formed, nobody listening.
        "http://operator:hunter2-secret@127.0.0.1:9/",
        "socks5h://operator:hunter2-secret@[::1",
    ] {
        let with_proxy = text.replacen(
            "timeout_secs = 5\n",
            &format!("timeout_secs = 5\nproxy = \"{proxy}\"\n"),
            1,
        );
        std::fs::write(&config, with_proxy).expect("write config");
        let doctor = run(&config, &["--log", "debug", "doctor"]);
        let sync = crate::support::bin()
            .arg("--config")
            .arg(&config)
            .args(["sync", "--no-media"])
            .env("RUST_LOG", "debug")
            .output()
            .expect("run sync");
        for (what, o) in [("doctor", &doctor), ("sync", &sync)] {
            let all = format!("{}{}", stdout(o), stderr(o));
            assert!(!o.status.success(), "{what} with {proxy}: {all}");
            assert!(
                !all.contains("hunter2"),
                "{what} printed the proxy password ({proxy}): {all}"
            );
        }
        let out = stdout(&doctor);
        assert!(out.contains("FAIL"), "{out}");
    }
}

#[test]
fn corp_ids_with_control_characters_or_spaces_are_refused_at_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("wecom-archive.toml");
    for (toml_id, shown) in [
        ("ww\\u001b[2J", "ww\\x1b[2J"),
        ("ww 1", "ww 1"),
        ("ww1\\r\\n", "ww1\\r\\n"),
    ] {
        std::fs::write(
            &config,
            format!("[corp]\ncorp_id = \"{toml_id}\"\nsecret = \"s\"\n"),
        )
        .expect("write config");
        for command in [&["stats"][..], &["doctor"][..]] {
            let o = run(&config, command);
            assert!(!o.status.success(), "{toml_id}: {command:?} accepted it");
            let err = stderr(&o);
            assert_no_raw_controls(&err);
            assert!(
                err.contains(&format!("corp_id `{shown}`")),
                "{toml_id}: {err}"
            );
        }
    }
}

#[test]
fn names_from_the_server_are_kept_exactly_and_listed_escaped() {
    let emu = TestEmulator::start(63, 200, None);
    let dir = tempfile::tempdir().expect("tempdir");
    // No pacing: this test is about what is shown, not about rate limits.
    let config = emu.write_config(dir.path(), &[1], "\n[names]\nmax_calls_per_second = 1000\n");
    let text = std::fs::read_to_string(&config).expect("config");
    let secrets = format!(
        "secret = \"{SECRET}\"\ncontacts_secret = \"{}\"\ncustomer_secret = \"{}\"\n",
        emu.emulator.contacts_secret().expect("contacts secret"),
        emu.emulator.customer_secret().expect("customer secret"),
    );
    std::fs::write(
        &config,
        text.replacen(&format!("secret = \"{SECRET}\"\n"), &secrets, 1),
    )
    .expect("write config");
    let o = run(&config, &["sync", "--no-media"]);
    assert!(o.status.success(), "{}", stderr(&o));

    let rooms = run(&config, &["rooms", "list", "--json"]);
    let rooms: serde_json::Value = serde_json::from_slice(&rooms.stdout).expect("json");
    let roomid = rooms
        .as_array()
        .expect("array")
        .iter()
        .find(|r| r["state"] == "named")
        .and_then(|r| r["roomid"].as_str())
        .expect("a named room")
        .to_owned();
    let hostile = "evil\x1b[2J\rname\u{202e}";
    assert!(emu.emulator.rename_room(&roomid, hostile));
    let o = run(&config, &["names", "refresh", "--all"]);
    assert!(o.status.success(), "{}", stderr(&o));

    // The archive keeps the name exactly (JSON escapes it by its own rules)…
    let shown = run(&config, &["rooms", "show", &roomid, "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["room"]["name"].as_str(), Some(hostile));
    // …and every listing shows it escaped.
    let escaped = "evil\\x1b[2J\\rname\\u{202e}";
    for args in [
        &["rooms", "list"][..],
        &["rooms", "show", &roomid][..],
        &["conversations", "list", "--limit", "1000"][..],
    ] {
        let o = run(&config, args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let out = stdout(&o);
        assert_no_raw_controls(&out);
        assert!(!out.contains('\u{202e}'), "{args:?}: {out:?}");
        assert!(out.contains(escaped), "{args:?}: {out}");
    }
}
