//! Media through the real binary (issue 11, item 15): media are given up only on WeCom's word, and
//! a full media disk is reported once, costs no attempt and heals by itself.

use wecom_store::{ArchiveReader, MediaJobState, SqliteStore};

use crate::support::{CORP, TestEmulator, Tmpfs, now_ms, run, stats, stderr, stdout};

const DAY_MS: i64 = 86_400_000;

/// A corpus whose messages are months old gets every object on the first sync with the default
/// configuration (`retention_days = 5`): the window orders the work, it never skips a job.
#[test]
fn a_months_old_corpus_gets_all_its_media_on_the_first_sync_with_the_default_config() {
    let emu = TestEmulator::start_from(31, 80, None, None, now_ms() - 150 * DAY_MS);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    // The default window.
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, text.replacen("retention_days = 365\n", "", 1)).expect("config");
    let total: usize = emu.emulator.records().iter().map(|r| r.media.len()).sum();
    assert!(total > 5, "the corpus has media: {total}");

    let o = run(&config, &["sync"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let media = &stats(&config)["media"];
    assert_eq!(media["done"], total as u64, "{media}");
    assert_eq!(media["expired"], 0, "{media}");
    assert!(emu.emulator.media_request_count() >= total as u64);
}

/// A full media disk: one summary line for the sync (not one warning per job), no attempt charged
/// to any job, the jobs waiting to retry said on the way out, and everything stored by the next
/// sync once space is back.
#[test]
fn a_full_media_disk_is_one_summary_line_charges_no_attempt_and_heals_after_space_is_freed() {
    let emu = TestEmulator::start(32, 120, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let tmpfs = Tmpfs::mount("64k");
    let config = emu.write_config(dir.path(), &[1], "");
    let text = std::fs::read_to_string(&config).expect("config");
    let media_dir = tmpfs.path().display().to_string();
    std::fs::write(
        &config,
        text.replacen("dir = \"media\"", &format!("dir = \"{media_dir}\""), 1),
    )
    .expect("config");
    let total: usize = emu.emulator.records().iter().map(|r| r.media.len()).sum();
    assert!(total > 10, "the corpus has media: {total}");

    let o = run(&config, &["sync"]);
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(o.status.success(), "{out}\n{err}");
    let summaries: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("media storage is full"))
        .collect();
    assert_eq!(summaries.len(), 1, "one summary line:\n{err}");
    assert!(
        summaries[0].contains("free space there"),
        "{}",
        summaries[0]
    );
    assert!(
        summaries[0].contains(&media_dir),
        "names the folder: {}",
        summaries[0]
    );
    assert!(
        !err.contains("media download failed"),
        "no warning per job:\n{err}"
    );
    assert!(out.contains("jobs waiting to retry"), "{out}");

    let db = dir.path().join("archive.db");
    let jobs = SqliteStore::open_read_only(&db)
        .expect("archive")
        .media_jobs(CORP, None, 0, 100_000)
        .expect("jobs");
    assert_eq!(jobs.len(), total);
    let not_done: Vec<_> = jobs
        .iter()
        .filter(|j| j.state != MediaJobState::Done)
        .collect();
    assert!(!not_done.is_empty(), "the disk filled up");
    for j in &not_done {
        assert_eq!(j.attempts, 0, "no attempt charged: {j:?}");
        assert!(
            matches!(
                j.state,
                MediaJobState::Pending | MediaJobState::FailedRetryable
            ),
            "{j:?}"
        );
    }

    tmpfs.remount("size=256m");
    let o = run(&config, &["sync"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    assert!(
        !stderr(&o).contains("media storage is full"),
        "{}",
        stderr(&o)
    );
    let media = &stats(&config)["media"];
    assert_eq!(media["done"], total as u64, "{media}");
    let jobs = SqliteStore::open_read_only(&db)
        .expect("archive")
        .media_jobs(CORP, None, 0, 100_000)
        .expect("jobs");
    assert!(jobs.iter().all(|j| j.attempts == 1), "one attempt each");
}
