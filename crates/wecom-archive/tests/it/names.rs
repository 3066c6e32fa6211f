//! Names end to end: `sync` names every room and person through the emulator's APIs, `rooms` and
//! `people` list them, `stats --json` counts them; an API that is down or a missing secret never
//! fails a sync, and the names fill in later (`names refresh`, or the daemon).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use wecom_emulator::{ApiFault, ApiFaultRule};

use crate::support::*;

/// A configuration with the contacts and customer-contact secrets as well.
fn config_with_secrets(emu: &TestEmulator, dir: &Path) -> PathBuf {
    let path = emu.write_config(dir, &[1], "");
    let text = std::fs::read_to_string(&path).expect("config");
    let secrets = format!(
        "secret = \"{SECRET}\"\ncontacts_secret = \"{}\"\ncustomer_secret = \"{}\"\n",
        emu.emulator.contacts_secret().expect("contacts secret"),
        emu.emulator.customer_secret().expect("customer secret"),
    );
    std::fs::write(
        &path,
        text.replacen(&format!("secret = \"{SECRET}\"\n"), &secrets, 1),
    )
    .expect("write config");
    path
}

fn json(config: &Path, args: &[&str]) -> serde_json::Value {
    let o = run(config, args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("json")
}

fn count(v: &serde_json::Value, key: &str) -> u64 {
    v["names"][key].as_u64().unwrap_or(u64::MAX)
}

#[test]
fn sync_names_every_room_and_person_and_the_commands_show_them() {
    let emu = TestEmulator::start(21, 800, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with_secrets(&emu, dir.path());
    let o = run(&config, &["sync", "--no-media"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("names:"), "{}", stdout(&o));

    let directory = emu.emulator.directory().clone();
    let rooms = json(&config, &["rooms", "list", "--json"]);
    let rooms = rooms.as_array().expect("array");
    assert!(!rooms.is_empty());
    let mut unresolvable = 0;
    for r in rooms {
        let roomid = r["roomid"].as_str().expect("roomid");
        let group = directory.group(roomid).expect("a room of the corpus");
        if group.from_wechat {
            unresolvable += 1;
            assert_eq!(r["state"], "unresolvable", "{r}");
            assert_eq!(r["errcode"], 40050);
        } else {
            assert_eq!(r["state"], "named", "{r}");
            assert_eq!(r["name"].as_str(), Some(group.name.as_str()));
            assert!(r["members"].as_u64().unwrap_or(0) > 0);
        }
    }
    let people = json(&config, &["people", "list", "--json", "--limit", "1000"]);
    let people = people.as_array().expect("array");
    assert!(!people.is_empty());
    for p in people {
        let id = p["id"].as_str().expect("id");
        assert_eq!(p["state"], "named", "{p}");
        assert_eq!(p["name"].as_str(), directory.name_of(id), "{p}");
    }

    let stats = stats(&config);
    assert_eq!(count(&stats, "rooms_total"), rooms.len() as u64);
    assert_eq!(count(&stats, "rooms_unresolvable"), unresolvable);
    assert_eq!(
        count(&stats, "rooms_named"),
        rooms.len() as u64 - unresolvable
    );
    assert_eq!(count(&stats, "people_total"), people.len() as u64);
    assert_eq!(count(&stats, "people_named"), people.len() as u64);
    let text = stdout(&run(&config, &["stats"]));
    assert!(text.contains("names:"), "{text}");

    // One room in detail: members with display names, its name history.
    let named = rooms
        .iter()
        .find(|r| r["state"] == "named" && r["kind"] == "customer")
        .expect("a named customer room");
    let roomid = named["roomid"].as_str().expect("roomid");
    let detail = json(&config, &["rooms", "show", roomid, "--json"]);
    let members = detail["members"].as_array().expect("members");
    assert!(members.iter().any(|m| m["kind"] == "external"));
    for m in members {
        let id = m["id"].as_str().expect("id");
        assert_eq!(m["display_name"].as_str(), directory.name_of(id), "{m}");
    }
    assert_eq!(detail["name_history"].as_array().map(Vec::len), Some(1));
    assert!(!detail["consent"].as_array().expect("consent").is_empty());

    // Conversations show names instead of ids.
    let conversations = json(
        &config,
        &["conversations", "list", "--json", "--limit", "1000"],
    );
    let conversations = conversations.as_array().expect("array");
    let room_conv = conversations
        .iter()
        .find(|c| c["roomid"] == roomid)
        .expect("the room's conversation");
    assert_eq!(room_conv["room_name"], named["name"]);
    for (id, shown) in room_conv["senders"]
        .as_array()
        .expect("senders")
        .iter()
        .zip(room_conv["sender_names"].as_array().expect("names"))
    {
        assert_eq!(shown.as_str(), directory.name_of(id.as_str().expect("id")));
    }
    let key = room_conv["key"].as_str().expect("key");
    let messages = json(
        &config,
        &["conversations", "show", key, "--json", "--limit", "20"],
    );
    for m in messages.as_array().expect("messages") {
        let from = m["from"].as_str().expect("from");
        assert_eq!(m["from_name"].as_str(), directory.name_of(from), "{m}");
    }
    let text = stdout(&run(&config, &["conversations", "list"]));
    assert!(
        text.contains(named["name"].as_str().expect("name")),
        "{text}"
    );

    // A rename shows after `names refresh --all`, with the old name kept.
    assert!(emu.emulator.rename_room(roomid, "新名字的客户群"));
    let o = run(&config, &["names", "refresh", "--all"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let detail = json(&config, &["rooms", "show", roomid, "--json"]);
    assert_eq!(detail["room"]["name"], "新名字的客户群");
    let history: Vec<&str> = detail["name_history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["name"].as_str())
        .collect();
    assert_eq!(
        history,
        vec![named["name"].as_str().expect("name"), "新名字的客户群"]
    );

    // A person: scope and consent explain a one-sided conversation.
    let outside = directory
        .employees
        .iter()
        .find(|e| !directory.in_archive_scope(&e.userid))
        .expect("an employee outside the scope");
    if people.iter().any(|p| p["id"] == outside.userid.as_str()) {
        let shown = json(&config, &["people", "show", &outside.userid, "--json"]);
        assert_eq!(shown["in_archive_scope"], serde_json::Value::Null);
        let text = stdout(&run(&config, &["people", "show", &outside.userid]));
        assert!(text.contains("not in the archive scope"), "{text}");
    }
    let unknown = run(&config, &["rooms", "show", "wrnotaroom"]);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("not in the archive"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn a_naming_api_that_is_down_never_fails_sync_and_names_fill_in_later() {
    let emu = TestEmulator::start(22, 500, None);
    emu.emulator
        .inject_api(ApiFaultRule::new(ApiFault::Http500, 1_000_000));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with_secrets(&emu, dir.path());
    let o = run(&config, &["sync", "--no-media"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        archived_ids(&dir.path().join("archive.db")),
        emu.expected_ids()
    );
    let s = stats(&config);
    assert_eq!(count(&s, "rooms_named") + count(&s, "people_named"), 0);
    assert!(count(&s, "rooms_unchecked") > 0);
    assert_eq!(count(&s, "rooms_unchecked"), count(&s, "rooms_total"));

    emu.emulator.clear_api_faults();
    let o = run(&config, &["names", "refresh"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stats(&config);
    assert_eq!(
        count(&s, "rooms_unchecked") + count(&s, "people_unchecked"),
        0,
        "{s}"
    );
    assert_eq!(
        count(&s, "rooms_named") + count(&s, "rooms_unresolvable"),
        count(&s, "rooms_total")
    );
}

#[test]
fn missing_optional_secrets_degrade_with_one_log_line_each() {
    let emu = TestEmulator::start(23, 500, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let o = run(&config, &["--log", "info", "sync", "--no-media"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    for api in [
        "user_get",
        "externalcontact_get",
        "externalcontact_groupchat_get",
    ] {
        let lines = err
            .lines()
            .filter(|l| l.contains("no secret configured") && l.contains(api))
            .count();
        assert_eq!(lines, 1, "{api}: {err}");
    }
    let s = stats(&config);
    // Internal rooms and robots are named with the archive secret alone.
    assert!(count(&s, "rooms_named") > 0, "{s}");
    assert!(count(&s, "people_named") > 0, "{s}");
    assert!(count(&s, "people_unresolvable") > 0, "{s}");
    assert_eq!(
        count(&s, "rooms_unchecked") + count(&s, "people_unchecked"),
        0
    );
}

#[test]
fn the_daemon_names_rooms_and_people_in_the_background() {
    let emu = TestEmulator::start(24, 400, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with_secrets(&emu, dir.path());
    let mut child = bin()
        .arg("--config")
        .arg(&config)
        .args(["run", "--listen", "127.0.0.1:0", "--poll-interval", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    let started = Instant::now();
    let done = loop {
        if started.elapsed() > Duration::from_secs(60) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(200));
        if !dir.path().join("archive.db").exists() {
            continue;
        }
        let o = run(&config, &["stats", "--json"]);
        if !o.status.success() {
            continue;
        }
        let Ok(s) = serde_json::from_slice::<serde_json::Value>(&o.stdout) else {
            continue;
        };
        if count(&s, "rooms_total") > 0
            && count(&s, "rooms_unchecked") == 0
            && count(&s, "people_unchecked") == 0
            && count(&s, "people_total") == count(&s, "people_named")
        {
            break true;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(done, "the daemon did not name everything within 60 s");
}

#[test]
fn doctor_checks_each_naming_secret() {
    let emu = TestEmulator::start(25, 30, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with_secrets(&emu, dir.path());
    let o = run(&config, &["doctor"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    for line in [
        "ok    names: archive secret",
        "ok    names: contacts secret",
        "ok    names: customer secret",
    ] {
        assert!(out.contains(line), "{line}: {out}");
    }

    // A wrong optional secret fails with WeCom's errcode and a fix.
    let o = bin()
        .arg("--config")
        .arg(&config)
        .arg("doctor")
        .env("WECOM_ARCHIVE_CUSTOMER_SECRET", "not-the-customer-secret")
        .output()
        .expect("doctor");
    assert!(!o.status.success());
    let out = stdout(&o);
    assert!(
        out.contains("FAIL  names: customer secret")
            && out.contains("40001")
            && out.contains("fix:"),
        "{out}"
    );

    // Missing optional secrets are warnings, not failures.
    let plain = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(plain.path(), &[1], "");
    let o = run(&config, &["doctor"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("warn  names: contacts secret"), "{out}");
    assert!(out.contains("warn  names: customer secret"), "{out}");
}

/// The name resolver is a follower: killed with -9 at any point of a pass (discovery from the
/// change feed, room and person checks), the next pass resumes and ends exactly where a clean run
/// ends — every room and person of the corpus once, named alike, nothing lost or doubled.
#[test]
fn names_killed_mid_pass_resume_to_exactly_the_clean_result() {
    let emu = TestEmulator::start(23, 2500, None);
    let project = |v: &serde_json::Value, id: &str| -> Vec<String> {
        let mut rows: Vec<String> = v
            .as_array()
            .expect("array")
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {} {}",
                    r[id], r["name"], r["state"], r["kind"], r["members"]
                )
            })
            .collect();
        let len = rows.len();
        rows.sort();
        rows.dedup();
        assert_eq!(rows.len(), len, "an id listed twice");
        rows
    };
    let lists = |config: &Path| {
        (
            project(
                &json(config, &["rooms", "list", "--json", "--limit", "100000"]),
                "roomid",
            ),
            project(
                &json(config, &["people", "list", "--json", "--limit", "100000"]),
                "id",
            ),
        )
    };

    let clean_dir = tempfile::tempdir().expect("tempdir");
    let clean = config_with_secrets(&emu, clean_dir.path());
    let o = run(&clean, &["sync", "--no-media"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (want_rooms, want_people) = lists(&clean);
    assert!(!want_rooms.is_empty() && !want_people.is_empty());

    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_with_secrets(&emu, dir.path());
    let o = run(&config, &["sync", "--no-media", "--no-names"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Kills early (during discovery) and later (during the checks); where each lands does not
    // matter: the result must be exact whatever was cut.
    for delay_ms in [20, 60, 150, 300, 600] {
        let mut child = bin()
            .arg("--config")
            .arg(&config)
            .args(["names", "refresh", "--all"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("kill -9");
        let _ = child.wait();
    }
    let o = run(&config, &["names", "refresh"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (rooms, people) = lists(&config);
    assert_eq!(rooms, want_rooms);
    assert_eq!(people, want_people);
}
