//! Repair after a crash: an indexer killed with SIGKILL between (and during) commits leaves an
//! index whose documents are exactly the feed up to its committed position; the next pass indexes
//! the rest. No gap, no duplicate.

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{Archive, CORP, catch_up};
use tokio_util::sync::CancellationToken;
use wecom_search::{Filters, Indexer, IndexerOptions, SearchIndex};
use wecom_store::conformance::chat;

const CHILD: &str = "WECOM_SEARCH_CRASH_CHILD";
/// 80 batches: far more than the runs are killed after, even if a loaded machine lets a child run
/// on before the kill lands.
const MESSAGES: u64 = 24_000;

fn options() -> IndexerOptions {
    IndexerOptions {
        batch: 300,
        commit_docs: 300,
        commit_interval: Duration::from_secs(3600),
        ..IndexerOptions::default()
    }
}

/// The child: indexes the archive in `dir`, printing its position after every batch, until killed.
fn child(dir: &Path) {
    let reader =
        wecom_store::open_reader(&wecom_store::StoreLocation::Sqlite(dir.join("archive.db")))
            .expect("reader");
    let index = SearchIndex::open_or_create(&dir.join("search").join(CORP), CORP).expect("index");
    let indexer = Indexer::open(index, reader, options()).expect("indexer");
    indexer
        .catch_up(&CancellationToken::new(), &mut |p| {
            println!("position {}", p.position)
        })
        .expect("indexing");
    println!("done");
}

#[test]
fn a_killed_indexer_resumes_to_an_exact_index() {
    if let Some(dir) = std::env::var_os(CHILD) {
        child(Path::new(&dir));
        return;
    }
    let mut a = Archive::new();
    for page in 0..MESSAGES / 1000 {
        a.commit(
            (1..=1000)
                .map(|i| {
                    let n = page * 1000 + i;
                    chat(
                        n,
                        &format!("m{n}"),
                        "alice",
                        &["bob"],
                        "",
                        1_700_000_000_000 + n as i64,
                        &format!("第{n}条 理财 消息"),
                    )
                })
                .collect(),
        );
    }
    let dir = a.dir.path().to_path_buf();
    let index_dir = a.index_dir();
    let mut last_position = 0;
    // Kill it after a few batches, three times, each run resuming from the last commit.
    for batches in [4, 9, 7] {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "a_killed_indexer_resumes_to_an_exact_index",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("child");
        let stdout = child.stdout.take().expect("stdout");
        let mut seen = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("line");
            if line.starts_with("position ") {
                seen += 1;
                if seen == batches {
                    break;
                }
            }
            assert_ne!(line, "done", "the child finished before it was killed");
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");

        let index = SearchIndex::open(&index_dir, CORP).expect("the index opens after a kill");
        let position = index.position().expect("position");
        assert!(
            position >= last_position,
            "the committed position never goes back"
        );
        assert!(
            position > 0 && position < MESSAGES,
            "killed mid-way: {position}"
        );
        // Exactly the feed up to the committed position (feed positions here are 1..=MESSAGES).
        assert_eq!(index.documents().expect("documents"), position);
        last_position = position;
    }
    assert!(last_position > 0);
    // A normal pass completes it.
    let report = catch_up(&a.indexer(IndexerOptions::default()));
    assert_eq!(report.indexed, MESSAGES - last_position);
    let searcher = a.searcher();
    let all = searcher
        .matching_msgids("-不存在", &Filters::default())
        .expect("search");
    assert_eq!(all.len() as u64, MESSAGES);
    assert_eq!(
        all.iter().collect::<HashSet<_>>().len() as u64,
        MESSAGES,
        "no duplicate"
    );
    assert_eq!(searcher.index().documents().expect("documents"), MESSAGES);
}
