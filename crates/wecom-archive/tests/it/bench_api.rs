//! `bench api` end to end on a small archive: the served API, signed-in clients, both phases and
//! the ingest into the same archive; every row of the table is printed (the figures themselves are
//! not checked: they depend on the machine).

use crate::support::*;

#[test]
fn bench_api_prints_every_row_for_both_phases_and_the_ingest_rate() {
    let o = bin()
        .args([
            "bench",
            "api",
            "--messages",
            "3000",
            "--clients",
            "4",
            "--requests",
            "10",
            "--ingest-messages",
            "500",
        ])
        .output()
        .expect("run bench");
    let out = stdout(&o);
    assert!(o.status.success(), "{}{out}", stderr(&o));
    for line in [
        "archive: 3,000 messages",
        "4 clients on loopback",
        "requests: quiet 40 (",
        "quiet p50",
        "ingest p95",
        "conversation list (50)",
        "page of 50 messages",
        "search (2-char word)",
        "media Range request",
        "p95 ≤ 50 ms during ingest",
        "ingest beside the reads (same archive, corp wwbench0000000004): 500 messages in",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    // One row per kind, each with both phases' columns.
    let rows: Vec<&str> = out
        .lines()
        .filter(|l| {
            ["conversation list", "page of 50", "search (", "media Range"]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .collect();
    assert_eq!(rows.len(), 4, "{out}");
    for row in rows {
        assert!(
            row.matches(" ms").count() >= 2,
            "no quiet figures in {row:?}"
        );
    }
}
