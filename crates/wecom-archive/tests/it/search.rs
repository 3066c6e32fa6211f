//! Search end to end: `sync` builds the index; `search` finds exactly the messages holding a word
//! (checked against a scan of the archive), its filters narrow as the archive says, `--all` pages
//! through every hit once; bad input exits 2 with the reason and never panics; `index rebuild` and
//! `index status`, `stats --json` and the daemon keep and show the index.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use wecom_store::{ArchiveReader, StoredMessage};

use crate::daemon::{start_daemon, wait};
use crate::support::*;

/// A word of the emulator's corpus (in contract and insurance phrases), in no name.
const WORD: &str = "合同";
const DAY_MS: i64 = 86_400_000;
const CHINA_MS: i64 = 8 * 3_600_000;

/// The corpora's first message: 2025-11-25 00:00 China time (fixed, so the days they span are
/// too).
const START_MS: i64 = 1_764_000_000_000;

/// An emulator corpus synced (without media and names, so a word can only match a message's
/// text), with its index built by the sync.
fn synced(seed: u64, messages: usize) -> (TestEmulator, tempfile::TempDir, PathBuf) {
    let emu = TestEmulator::start_from(seed, messages, None, None, START_MS);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let o = run(&config, &["sync", "--no-media", "--no-names"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line = format!("corp {CORP}: search index: {messages} messages indexed, up to date");
    // Counts are printed with thousands separators.
    let line = line.replace("1200", "1,200");
    assert!(stdout(&o).contains(&line), "{}", stdout(&o));
    (emu, dir, config)
}

/// Every message of the archive, read from the change feed.
fn messages(dir: &Path) -> Vec<StoredMessage> {
    let store = wecom_store::SqliteStore::open_read_only(&dir.join("archive.db")).expect("open");
    let mut all: Vec<StoredMessage> = Vec::new();
    loop {
        let after = all.last().map_or(0, |m| m.feed_pos);
        let page = store.feed(CORP, after, 1000).expect("feed");
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

fn holds(m: &StoredMessage, word: &str) -> bool {
    wecom_search::normalize::normalize(&m.text).contains(&wecom_search::normalize::normalize(word))
}

/// Every hit of a search (`--json --all`), checked to carry the fields scripts rely on.
fn hits(config: &Path, args: &[&str]) -> Vec<Value> {
    let o = run(
        config,
        &[&["search"][..], args, &["--json", "--all"][..]].concat(),
    );
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    let hits: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    for h in &hits {
        for field in ["msgid", "conversation", "msgtime", "from", "snippet"] {
            assert!(!h[field].is_null(), "{field} missing in {h}");
        }
        // Null for the records without a type (switch).
        assert!(h.get("msgtype").is_some(), "msgtype missing in {h}");
        assert!(h["snippet"]["text"].is_string() && h["snippet"]["highlights"].is_array());
    }
    hits
}

fn msgids(hits: &[Value]) -> HashSet<String> {
    let ids: HashSet<String> = hits
        .iter()
        .map(|h| h["msgid"].as_str().expect("msgid").to_owned())
        .collect();
    assert_eq!(ids.len(), hits.len(), "a msgid shown twice");
    ids
}

fn expected(all: &[StoredMessage], keep: impl Fn(&StoredMessage) -> bool) -> HashSet<String> {
    all.iter()
        .filter(|m| keep(m))
        .map(|m| m.msgid.clone())
        .collect()
}

fn day_of(msgtime: i64) -> i64 {
    (msgtime + CHINA_MS).div_euclid(DAY_MS)
}

fn date(day: i64) -> String {
    wecom_wire::text::datetime(day * 86_400)[..10].to_owned()
}

#[test]
fn search_finds_exactly_the_messages_holding_a_word_and_filters_narrow_as_the_archive_says() {
    let (_emu, dir, config) = synced(41, 1200);
    let all = messages(dir.path());
    assert_eq!(all.len(), 1200);

    // Every message holding the word, and nothing else: no false negatives against a scan.
    let want = expected(&all, |m| holds(m, WORD));
    assert!(want.len() >= 3, "the corpus should use {WORD}");
    let found = hits(&config, &[WORD]);
    assert_eq!(msgids(&found), want);
    for h in &found {
        let text = h["text"].as_str().expect("text");
        assert!(text.contains(WORD), "{h}");
        let snippet = h["snippet"]["text"].as_str().expect("snippet");
        let [start, end] =
            [0, 1].map(|i| h["snippet"]["highlights"][0][i].as_u64().expect("range"));
        assert_eq!(&snippet[start as usize..end as usize], WORD, "{h}");
    }

    // Human output: the hit marked, the total, the way to more.
    let o = run(&config, &["search", WORD, "--limit", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.matches(&format!("【{WORD}】")).count() >= 2, "{text}");
    let last = text.lines().last().expect("a last line");
    assert!(
        last.starts_with(&format!(
            "2 of {} hits shown; the next page: --cursor ",
            want.len()
        )),
        "{text}"
    );
    // The printed cursor continues the search where the page ended.
    let cursor = last
        .split("--cursor ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("cursor");
    let o = run(
        &config,
        &["search", WORD, "--limit", "2", "--cursor", cursor, "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2.min(want.len() - 2));

    // `--all` in small pages: exactly `total` hits, none twice.
    let paged = hits(&config, &[WORD, "--limit", "3", "--sort", "time"]);
    assert_eq!(msgids(&paged), want);
    let times: Vec<i64> = paged
        .iter()
        .map(|h| h["msgtime"].as_i64().expect("msgtime"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");

    // Filters narrow exactly as the archive says.
    let text_only = hits(&config, &[WORD, "--type", "text"]);
    assert_eq!(
        msgids(&text_only),
        expected(&all, |m| holds(m, WORD)
            && m.msgtype.as_deref() == Some("text"))
    );
    let sender = all
        .iter()
        .find(|m| holds(m, WORD))
        .map(|m| m.from.clone())
        .expect("a sender");
    assert_eq!(
        msgids(&hits(&config, &[WORD, "--from", &sender])),
        expected(&all, |m| holds(m, WORD) && m.from == sender)
    );
    // Filters alone (an empty query) list every message they keep.
    assert_eq!(
        msgids(&hits(&config, &["", "--from", &sender, "--type", "text"])),
        expected(&all, |m| m.from == sender
            && m.msgtype.as_deref() == Some("text"))
    );
    let conversation = all[0].conversation.clone();
    assert_eq!(
        msgids(&hits(&config, &["", "--conversation", &conversation])),
        expected(&all, |m| m.conversation == conversation)
    );
    // `--since D1 --until D2`: from D1's China midnight to the end of D2, both days included.
    let mut days: Vec<i64> = all.iter().map(|m| day_of(m.msgtime)).collect();
    days.sort_unstable();
    days.dedup();
    assert!(days.len() >= 3, "the corpus spans days: {days:?}");
    for (first, last) in [(days[0], days[1]), (days[1], days[1]), (days[1], days[2])] {
        let window = hits(
            &config,
            &["", "--since", &date(first), "--until", &date(last)],
        );
        let in_window = expected(&all, |m| (first..=last).contains(&day_of(m.msgtime)));
        assert!(!in_window.is_empty() && in_window.len() < all.len());
        assert_eq!(
            msgids(&window),
            in_window,
            "{} to {}",
            date(first),
            date(last)
        );
    }
}

#[test]
fn bad_input_exits_2_with_the_reason_and_hostile_queries_are_only_text() {
    let (_emu, dir, config) = synced(42, 150);
    let long = "合".repeat(10_000);
    for (args, says) in [
        (vec![""], "empty"),
        (vec!["   "], "empty"),
        (vec!["-"], "`-` must be followed"),
        (vec!["\"合同"], "quote"),
        (vec![long.as_str()], "10000 characters"),
        (vec!["合同", "--since", "2026-13-01"], "not a date"),
        (vec!["合同", "--until", "yesterday"], "not a date"),
        (vec!["合同", "--type", "telegram"], "unknown message type"),
        (vec!["type:telegram"], "unknown message type"),
        (vec!["合同", "--cursor", "not-a-cursor"], "cursor"),
        (vec!["合同", "--limit", "0"], "limit"),
    ] {
        let o = run(&config, &[&["search"][..], args.as_slice()].concat());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        // Said once: the reason is not repeated by its own cause.
        assert_eq!(err.matches(says).count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // SQL and regex syntax are searched for as text: nothing breaks, nothing matches by accident.
    let before = messages(dir.path()).len();
    for q in ["'; DROP TABLE messages; --", ".*", "%", "\\", "合同 OR 1=1"] {
        let o = run(&config, &["search", q, "--json"]);
        assert!(o.status.success(), "{q}: {}", stderr(&o));
        for line in stdout(&o).lines() {
            let hit: Value = serde_json::from_str(line).expect("json");
            let text = wecom_search::normalize::normalize(hit["text"].as_str().unwrap_or(""));
            let first = q.split_whitespace().next().unwrap_or(q);
            assert!(
                text.contains(&wecom_search::normalize::normalize(first)),
                "{q}: {hit}"
            );
        }
    }
    assert_eq!(messages(dir.path()).len(), before);
}

#[test]
fn the_index_is_rebuilt_shown_and_its_absence_says_how_to_rebuild_it() {
    let (_emu, dir, config) = synced(43, 200);
    let index_dir = dir.path().join("archive.search");
    let count = messages(dir.path()).len() as u64;
    let s = stats(&config);
    assert_eq!(s["search"]["indexed"], count, "{}", s["search"]);
    assert_eq!(s["search"]["lag"], 0);

    // Searching works beside a writer: it takes no lock.
    let lock = wecom_store::WriterLock::acquire(&dir.path().join("archive.db")).expect("lock");
    assert!(run(&config, &["search", WORD]).status.success());
    // A rebuild writes, and waits its turn like every writer.
    let o = run(&config, &["index", "rebuild"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    drop(lock);

    std::fs::remove_dir_all(&index_dir).expect("remove the index");
    for args in [vec!["search", WORD], vec!["index", "status"]] {
        let o = run(&config, &args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains("does not exist yet") && err.contains("wecom-archive index rebuild"),
            "{err}"
        );
    }
    assert!(stats(&config)["search"].is_null());
    let text = stdout(&run(&config, &["stats"]));
    assert!(text.contains("search index: none"), "{text}");

    let o = run(&config, &["index", "rebuild"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("search index rebuilt: {count} messages indexed")),
        "{}",
        stdout(&o)
    );
    let status = index_status(&config);
    assert_eq!(status["documents"], count);
    assert_eq!(status["lag"], 0);
    assert_eq!(status["position"], status["head"]);
    assert!(status["size_bytes"].as_u64().unwrap_or(0) > 0);
    assert_eq!(stats(&config)["search"]["indexed"], count);

    // A damaged index is refused with the way out, and the rebuild recreates it.
    std::fs::write(index_dir.join(CORP).join("meta.json"), "{ not json").expect("damage");
    let o = run(&config, &["search", WORD]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("index rebuild"), "{}", stderr(&o));
    let o = run(&config, &["index", "rebuild"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("recreating it"), "{}", stderr(&o));
    assert_eq!(index_status(&config)["documents"], count);
    assert!(!hits(&config, &[WORD]).is_empty());
}

fn index_status(config: &Path) -> Value {
    let o = run(config, &["index", "status", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("json")
}

#[test]
fn the_daemon_keeps_the_index_current_and_search_runs_beside_it() {
    let emu = TestEmulator::start(44, 100, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let (mut daemon, _addr) = start_daemon(&config, 1);
    let indexed = |n: u64| {
        let o = run(&config, &["index", "status", "--json"]);
        o.status.success()
            && serde_json::from_slice::<Value>(&o.stdout)
                .is_ok_and(|s| s["documents"] == n && s["lag"] == 0)
    };
    wait(
        Duration::from_secs(60),
        "the first messages indexed",
        || indexed(100),
    );
    emu.emulator.append(50);
    wait(Duration::from_secs(60), "the new messages indexed", || {
        indexed(150)
    });
    let all = messages(dir.path());
    assert_eq!(
        msgids(&hits(&config, &[WORD])),
        expected(&all, |m| holds(m, WORD))
    );
    let o = run(&config, &["index", "rebuild"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    assert!(daemon.wait().expect("wait").success());
}

#[test]
fn an_index_of_another_version_is_rebuilt_by_sync_and_a_damaged_one_never_stops_the_daemon() {
    let (emu, dir, config) = synced(45, 120);
    let meta = dir
        .path()
        .join("archive.search")
        .join(CORP)
        .join("meta.json");
    let text = std::fs::read_to_string(&meta).expect("meta.json");
    let older = text.replace("\\\"normalizer\\\":1,", "\\\"normalizer\\\":0,");
    assert_ne!(
        older, text,
        "the commit record names its normalizer: {text}"
    );
    std::fs::write(&meta, older).expect("write meta.json");
    let o = run(&config, &["search", WORD]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("built by another version") && err.contains("index rebuild"),
        "{err}"
    );
    // Derived data: the next sync recreates it and indexes everything again.
    let o = run(&config, &["sync", "--no-media", "--no-names"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("search index: 120 messages indexed, up to date"),
        "{}",
        stdout(&o)
    );
    assert_eq!(index_status(&config)["documents"], 120);

    // A damaged index: the daemon archives all the same, without search for the corp.
    std::fs::write(&meta, "{ not json").expect("damage");
    let (mut daemon, _addr) = start_daemon(&config, 1);
    emu.emulator.append(30);
    wait(Duration::from_secs(60), "the new records archived", || {
        messages(dir.path()).len() == 150
    });
    let o = run(&config, &["index", "status"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot be read"), "{}", stderr(&o));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    assert!(daemon.wait().expect("wait").success());
    // The way out the message gives.
    assert!(run(&config, &["index", "rebuild"]).status.success());
    assert_eq!(index_status(&config)["documents"], 150);
}

#[test]
fn a_lagging_index_says_so_and_the_next_sync_catches_it_up() {
    let (emu, _dir, config) = synced(46, 100);
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, format!("{text}\n[search]\nenabled = false\n")).expect("config");
    emu.emulator.append(20);
    let o = run(&config, &["sync", "--no-media", "--no-names"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stdout(&o).contains("search index"), "{}", stdout(&o));
    let o = run(&config, &["search", WORD]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("[search] enabled = false"),
        "{}",
        stderr(&o)
    );

    std::fs::write(&config, &text).expect("config");
    let status = index_status(&config);
    assert_eq!(
        (status["documents"].as_u64(), status["lag"].as_u64()),
        (Some(100), Some(20))
    );
    assert_eq!(stats(&config)["search"]["lag"], 20);
    let o = run(&config, &["search", WORD]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("20 messages are not indexed yet"),
        "{}",
        stderr(&o)
    );
    let o = run(&config, &["sync", "--no-media", "--no-names"]);
    // (A recall among the new records re-indexes the message it recalls, and says so.)
    let line = stdout(&o)
        .lines()
        .find(|l| l.contains("search index: "))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        line.contains("search index: 20 messages indexed") && line.ends_with(", up to date"),
        "{}",
        stdout(&o)
    );
    assert_eq!(index_status(&config)["lag"], 0);
}
