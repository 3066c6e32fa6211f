//! Throughput of the copy to PostgreSQL: fills a SQLite archive with N text messages (default
//! 100,000), copies it into a fresh schema of the PostgreSQL at `WECOM_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`), prints rows/s of the copy, of a second pass (nothing
//! changed) and of the verification, then drops the schema.
//!
//! ```text
//! cargo run --release -p wecom-store --features conformance --example transfer_throughput -- 1000000
//! ```

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use wecom_store::conformance::chat;
use wecom_store::transfer::{copy_sqlite_to_postgres, verify};
use wecom_store::{ArchiveWriter, PageCommit, PgOptions, SqliteStore};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let messages: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let url = std::env::var("WECOM_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("archive.db");
    let store = Arc::new(SqliteStore::open(&path)?);
    let started = Instant::now();
    let people = ["alice", "bob", "carol", "dave", "erin", "frank"];
    let mut seq = 0u64;
    while seq < messages {
        let page: Vec<_> = (0..1000.min(messages - seq))
            .map(|n| {
                let s = seq + n + 1;
                let from = people[(s % 6) as usize];
                let to = people[((s / 6) % 6) as usize];
                let room = if s.is_multiple_of(3) {
                    "wrRoomBench000000000001"
                } else {
                    ""
                };
                chat(
                    s,
                    &format!("msg{s:09}"),
                    from,
                    &[to],
                    room,
                    1_750_000_000_000 + s as i64 * 1000,
                    &format!(
                        "message number {s}, some words to search for: 会话内容存档 {}",
                        s * 7
                    ),
                )
            })
            .collect();
        seq += page.len() as u64;
        store.commit_page(
            "wwbench",
            &PageCommit {
                records: page,
                quarantined: Vec::new(),
                cursor: seq,
            },
        )?;
    }
    drop(store);
    println!(
        "filled {messages} messages in {:.1} s ({} bytes)",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&path)?.len()
    );

    let schema = format!("bench_transfer_{}", std::process::id());
    let options = PgOptions {
        schema: Some(schema.clone()),
        pool_size: 2,
        ..PgOptions::new(url.clone())
    };
    let mut per_table = Vec::new();
    let started = Instant::now();
    let report = copy_sqlite_to_postgres(&path, &options, 5000, false, &mut |p| {
        if p.done {
            per_table.push((p.table, p.rows_read, p.rows_per_second));
        }
        ControlFlow::Continue(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let rows: u64 = report.tables.iter().map(|t| t.rows_read).sum();
    for (table, n, rate) in &per_table {
        if *n > 0 {
            println!("  {table:<26} {n:>10} rows {rate:>10.0} rows/s");
        }
    }
    println!(
        "first pass: {rows} rows in {seconds:.1} s = {:.0} rows/s ({:.0} messages/s)",
        rows as f64 / seconds,
        messages as f64 / seconds
    );
    let started = Instant::now();
    let again = copy_sqlite_to_postgres(&path, &options, 5000, false, &mut |_| {
        ControlFlow::Continue(())
    })?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "second pass (nothing changed): {} rows written, {rows} rows compared in {seconds:.1} s = {:.0} rows/s",
        again.rows_written(),
        rows as f64 / seconds
    );
    let started = Instant::now();
    let checks = verify(&path, &options)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "verify: {} tables, all equal: {}, {rows} rows per side in {seconds:.1} s = {:.0} rows/s",
        checks.len(),
        checks.iter().all(|c| c.matches()),
        rows as f64 / seconds
    );
    let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
    client.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))?;
    Ok(())
}
