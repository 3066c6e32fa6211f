//! Hostile getchatdata answers against the real binary: an unreadable item, a seq of 2^64−1, a
//! server that only replays, more items than asked for, and the cursor recovered by hand.

use std::path::Path;

use wecom_emulator::Fault;

use crate::support::{TestEmulator, archived_ids, run, run_guarded, stats, stderr, stdout};

const SYNC: &[&str] = &["sync", "--no-media", "--no-names", "--limit", "10"];

fn cursor_json(config: &Path) -> serde_json::Value {
    let o = run(config, &["cursor", "show", "--json"]);
    assert!(o.status.success(), "cursor show: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("cursor json")
}

#[test]
fn an_unreadable_item_is_quarantined_and_everything_after_it_archived() {
    let emu = TestEmulator::start(31, 45, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    emu.emulator.inject(Fault::UnreadableItem, 1);
    let o = run_guarded(&config, SYNC);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("1 item(s) kept raw in quarantine"),
        "{}",
        stdout(&o)
    );

    // Seq 1 came with an invalid UTF-8 byte: kept raw; every record after it is archived.
    let expected: Vec<(u64, String)> = emu.expected_ids().into_iter().skip(1).collect();
    assert_eq!(archived_ids(&dir.path().join("archive.db")), expected);
    let s = stats(&config);
    assert_eq!(s["quarantined"], 1, "{s}");
    assert_eq!(s["quarantined_by_kind"]["unparseable"], 1, "{s}");
    assert_eq!(s["cursor_seq"], 45);
    let o = run(&config, &["stats"]);
    assert!(
        stdout(&o).contains("quarantined items (raw)     1"),
        "{}",
        stdout(&o)
    );

    let c = cursor_json(&config);
    assert_eq!(c["quarantined_items"][0]["seq"], 1, "{c}");
    assert_eq!(c["quarantined_items"][0]["kind"], "unparseable", "{c}");

    // doctor reports it (a warning: nothing is blocked).
    let o = run(&config, &["doctor"]);
    let out = stdout(&o);
    assert!(
        out.contains("warn  quarantine") && out.contains("1 item(s) the server sent were kept raw"),
        "{out}"
    );
}

#[test]
fn a_seq_of_2_64_minus_1_does_not_move_the_cursor_and_later_records_arrive() {
    let emu = TestEmulator::start(32, 30, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    // The first page's last item is answered with seq 2^64−1.
    emu.emulator.inject(Fault::ItemWithSeq { seq: u64::MAX }, 1);
    let o = run_guarded(&config, SYNC);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert_eq!(
        archived_ids(&dir.path().join("archive.db")),
        emu.expected_ids()
    );
    let c = cursor_json(&config);
    assert_eq!(c["cursor"], 30, "{c}");
    assert_eq!(c["quarantined_items"][0]["seq"], u64::MAX, "{c}");
    assert_eq!(c["quarantined_items"][0]["kind"], "implausible_seq", "{c}");

    // Later records still arrive.
    emu.emulator.append(7);
    let o = run_guarded(&config, SYNC);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(cursor_json(&config)["cursor"], 37);
    assert_eq!(
        archived_ids(&dir.path().join("archive.db")),
        emu.expected_ids()
    );
    let s = stats(&config);
    assert_eq!(s["quarantined_by_kind"]["implausible_seq"], 1, "{s}");
}

#[test]
fn a_replay_only_server_ends_sync_non_zero_with_a_clear_error() {
    let emu = TestEmulator::start(33, 25, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let o = run_guarded(&config, SYNC);
    assert!(o.status.success(), "{}", stderr(&o));
    emu.emulator.append(5);
    emu.emulator.inject(Fault::ReplayFirstPage, 100_000);
    let before = emu.emulator.request_count();
    let o = run_guarded(&config, SYNC);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("the server keeps returning only records already archived (seq ≤ 25)"),
        "{err}"
    );
    assert!(
        emu.emulator.request_count() - before <= 10,
        "a few retries, not a loop"
    );
    // The replays were counted as replays, not as new records.
    let out = stdout(&o);
    assert!(
        out.contains("synced 0 records") && out.contains("40 records already archived (replays"),
        "{out}"
    );
    assert_eq!(cursor_json(&config)["cursor"], 25);
    emu.emulator.clear_faults();
    let o = run_guarded(&config, SYNC);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(cursor_json(&config)["cursor"], 30);
}

#[test]
fn more_items_than_the_limit_are_refused_as_a_protocol_error() {
    let emu = TestEmulator::start(34, 40, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "retry_max_attempts = 3\n");
    emu.emulator.inject(Fault::ExtraItems(20), 3);
    let o = run_guarded(&config, SYNC);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("the server answered 30 items for a limit of 10")
            && err.contains("gave up after 3 attempts"),
        "{err}"
    );
    let s = stats(&config);
    assert_eq!(
        (s["records"].as_u64(), s["cursor_seq"].as_u64()),
        (Some(0), Some(0)),
        "{s}"
    );
    let o = run_guarded(&config, SYNC);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        archived_ids(&dir.path().join("archive.db")),
        emu.expected_ids()
    );
}

#[test]
fn cursor_show_and_set_with_the_force_refusal() {
    let emu = TestEmulator::start(35, 30, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let o = run(&config, &["cursor", "show"]);
    assert!(!o.status.success(), "no archive yet");
    assert!(
        stderr(&o).contains("run `wecom-archive sync` first"),
        "{}",
        stderr(&o)
    );
    let o = run_guarded(&config, SYNC);
    assert!(o.status.success(), "{}", stderr(&o));

    let o = run(&config, &["cursor", "show"]);
    let out = stdout(&o);
    assert!(
        out.contains("cursor                30") && out.contains("largest archived seq  30"),
        "{out}"
    );

    // Backwards past archived records: refused without --force, nothing changes.
    let o = run(&config, &["cursor", "set", "--seq", "10"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("refused")
            && err.contains("passes 20 archived record(s)")
            && err.contains("--force"),
        "{err}"
    );
    assert_eq!(cursor_json(&config)["cursor"], 30);

    let o = run(&config, &["cursor", "set", "--seq", "10", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("moved back from 30 to 10"),
        "{}",
        stdout(&o)
    );
    assert_eq!(cursor_json(&config)["cursor"], 10);
    // The next sync fetches them again (above the cursor, so not replays), and nothing is
    // archived twice.
    let o = run_guarded(&config, SYNC);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("(0 new, 20 already archived"),
        "{}",
        stdout(&o)
    );
    assert_eq!(cursor_json(&config)["cursor"], 30);
    assert_eq!(
        archived_ids(&dir.path().join("archive.db")),
        emu.expected_ids()
    );

    // Forward past nothing archived: allowed, and what is skipped is said.
    let o = run(&config, &["cursor", "set", "--seq", "1000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("moved forward from 30 to 1000")
            && out.contains("31..=1000")
            && out.contains("will not be fetched"),
        "{out}"
    );
    assert_eq!(cursor_json(&config)["cursor"], 1000);
    // An implausible cursor (as one hostile answer left it before this was fixed): doctor fails
    // and names the fix.
    let o = run(&config, &["cursor", "set", "--seq", "18446744073709551615"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&config, &["doctor"]);
    let out = stdout(&o);
    assert!(
        !o.status.success() && out.contains("FAIL  cursor") && out.contains("--seq 30 --force"),
        "{out}"
    );
}

#[test]
fn through_the_vendor_library_an_unreadable_item_is_quarantined_too() {
    let Some(library) = crate::support::real_sdk(
        "through_the_vendor_library_an_unreadable_item_is_quarantined_too",
    ) else {
        return;
    };
    let emu = TestEmulator::start(36, 25, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replacen(
            "timeout_secs = 5\n",
            &format!("timeout_secs = 5\nsdk_proxy = \"{}\"\n", emu.proxy_url),
            1,
        ),
    )
    .expect("write config");
    emu.emulator.inject(Fault::UnreadableItem, 1);
    let mut args = SYNC.to_vec();
    let library = library.to_str().expect("utf8").to_owned();
    args.extend(["--source", "sdk", "--sdk-library", &library]);
    let o = run_guarded(&config, &args);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let expected: Vec<(u64, String)> = emu.expected_ids().into_iter().skip(1).collect();
    assert_eq!(archived_ids(&dir.path().join("archive.db")), expected);
    let s = stats(&config);
    assert_eq!(s["quarantined_by_kind"]["unparseable"], 1, "{s}");
}
