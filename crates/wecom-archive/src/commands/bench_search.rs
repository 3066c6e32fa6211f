//! `bench search`: search latency over a large archive against `LIKE '%q%'` scans of the same
//! rows in the same run, zero false negatives checked against a plain substring scan for every
//! query, indexing throughput and size, and the ingest rate with the indexer running beside it.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;
use wecom_search::normalize::normalize;
use wecom_search::{Filters, Indexer, IndexerOptions, SearchIndex, SearchRequest, Searcher, Sort};
use wecom_store::{ArchiveReader, SqliteStore, StoreLocation};

use super::bench_corpus::build_plain_archive;
use super::thousands;

const CORP: &str = "wwbench0000000002";

/// The fixed query set: (what it stands for, query). Single terms are also scanned with `LIKE`
/// and checked against a substring scan.
const TERMS: &[(&str, &str)] = &[
    ("1 char, high", "的"),
    ("1 char, medium", "保"),
    ("1 char, low", "骗"),
    ("2 chars, high", "客户"),
    ("2 chars, medium", "退款"),
    ("2 chars, low", "返佣"),
    ("3 chars, medium", "银行卡"),
    ("3 chars, low", "冷静期"),
    ("4 chars, medium", "加我微信"),
    ("4 chars, low", "私人账户"),
    ("4 chars, rare", "刚性兑付"),
    ("English, medium", "account"),
    ("English, low", "idempotent"),
    ("Latin substring", "blem"),
    ("mixed", "VIP客户"),
    ("full-width folded", "iphone"),
    ("digits and symbol", "3.5%"),
];

/// Queries with several terms or filters (not scanned).
const COMBINED: &[(&str, &str)] = &[
    ("two terms", "理财 收益"),
    ("term and exclusion", "合同 -退款"),
    ("phrase with a space", "\"ok thanks\""),
    ("term, type filter", "退款 type:text"),
    ("term, date filter", "合同 after:2023-11-20"),
];

const REPEAT: usize = 15;

struct Row {
    label: &'static str,
    query: String,
    hits: u64,
    index_ms: Vec<f64>,
    scan_ms: Option<f64>,
}

pub fn search(
    messages: usize,
    ingest_messages: usize,
    rsa_seconds: f64,
) -> anyhow::Result<ExitCode> {
    if messages == 0 {
        bail!("--messages must be at least 1");
    }
    let dir = TempFolder::new()?;
    let path = dir.path().join("archive.db");

    println!(
        "building an archive of {} realistic messages (no RSA) …",
        thousands(messages as u64)
    );
    let built = build_plain_archive(&path, CORP, messages, 7, &mut |done, total| {
        if done % 100_000 == 0 || done == total {
            eprint!("\r  {} / {}", thousands(done), thousands(total));
        }
    })?;
    eprintln!();

    let reader: Arc<dyn ArchiveReader> =
        wecom_store::open_reader(&StoreLocation::Sqlite(path.clone()))?;
    let index_dir = dir.path().join("search").join(CORP);
    let index = SearchIndex::open_or_create(&index_dir, CORP)?;
    let options = IndexerOptions::default();
    let threads = options.threads;
    let indexer = Indexer::open(index.clone(), reader.clone(), options)?;
    println!("indexing …");
    let started = Instant::now();
    let report = indexer.catch_up(&CancellationToken::new(), &mut |p| {
        if p.indexed % 100_000 < 2000 {
            eprint!("\r  {} / {}", thousands(p.position), thousands(p.head));
        }
    })?;
    let index_secs = started.elapsed().as_secs_f64();
    eprintln!();
    indexer.finish()?;
    if report.indexed != messages as u64 {
        bail!("indexed {} of {messages} messages", report.indexed);
    }
    let size = index.size_bytes();

    let searcher = Searcher::open(index, reader.clone())?;
    let scanner = SqliteStore::open_read_only(&path)?;
    let first = reader.feed(CORP, 0, 1)?;
    let sender = first
        .first()
        .map(|m| m.from.clone())
        .context("empty archive")?;

    println!("searching ({REPEAT} runs of each query, top 50 by relevance) and scanning …");
    let mut rows = Vec::new();
    let mut run =
        |label: &'static str, query: String, filters: Filters, scan: bool| -> anyhow::Result<()> {
            let request = SearchRequest {
                query: query.clone(),
                filters,
                sort: Sort::Relevance,
                limit: 50,
                cursor: None,
            };
            let mut hits = searcher.search(&request)?.total; // warm-up
            let mut index_ms = Vec::with_capacity(REPEAT);
            for _ in 0..REPEAT {
                let t = Instant::now();
                hits = searcher.search(&request)?.total;
                index_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            let scan_ms = if scan {
                let t = Instant::now();
                scanner.like_scan(CORP, &query)?;
                Some(t.elapsed().as_secs_f64() * 1000.0)
            } else {
                None
            };
            rows.push(Row {
                label,
                query,
                hits,
                index_ms,
                scan_ms,
            });
            Ok(())
        };
    for &(label, q) in TERMS {
        run(label, q.to_owned(), Filters::default(), true)?;
    }
    for &(label, q) in COMBINED {
        run(label, q.to_owned(), Filters::default(), false)?;
    }
    run(
        "term, sender filter",
        "客户".to_owned(),
        Filters {
            from: Some(sender),
            ..Filters::default()
        },
        false,
    )?;

    println!("checking every single-term query against a plain substring scan …");
    let needles: Vec<String> = TERMS.iter().map(|(_, q)| normalize(q)).collect();
    let mut expected: Vec<Vec<u64>> = vec![Vec::new(); TERMS.len()];
    scanner.scan_texts(CORP, &mut |pos, text| {
        let folded = normalize(text);
        for (i, n) in needles.iter().enumerate() {
            if folded.contains(n.as_str()) {
                expected[i].push(pos);
            }
        }
    })?;
    let mut missed = 0usize;
    let mut extra = 0usize;
    let mut like_missed = 0usize;
    for (i, &(_, q)) in TERMS.iter().enumerate() {
        let found = searcher.matching_positions(q, &Filters::default())?;
        let found_set: BTreeSet<u64> = found.iter().copied().collect();
        let want: BTreeSet<u64> = expected[i].iter().copied().collect();
        missed += want.difference(&found_set).count();
        extra += found_set.difference(&want).count();
        like_missed += scanner
            .like_scan(CORP, q)?
            .iter()
            .filter(|p| !found_set.contains(p))
            .count();
    }

    let mut all: Vec<f64> = rows
        .iter()
        .flat_map(|r| r.index_ms.iter().copied())
        .collect();
    let pct = |v: &mut Vec<f64>, p: f64| -> f64 {
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!();
    println!(
        "{:<22} {:<14} {:>9} {:>10} {:>10} {:>9}",
        "query", "", "hits", "index p50", "LIKE scan", "speed-up"
    );
    let mut ratios = Vec::new();
    for r in &mut rows {
        let p50 = pct(&mut r.index_ms, 0.5);
        let (scan, ratio) = match r.scan_ms {
            Some(s) => {
                ratios.push(s / p50.max(1e-6));
                (format!("{s:.1} ms"), format!("{:.0}×", s / p50.max(1e-6)))
            }
            None => ("-".to_owned(), "-".to_owned()),
        };
        println!(
            "{:<22} {:<14} {:>9} {:>7.2} ms {:>10} {:>9}",
            r.label,
            r.query,
            thousands(r.hits),
            p50,
            scan,
            ratio
        );
    }
    let mut scan_all: Vec<f64> = rows.iter().filter_map(|r| r.scan_ms).collect();
    let mut index_simple: Vec<f64> = rows
        .iter()
        .filter(|r| r.scan_ms.is_some())
        .flat_map(|r| r.index_ms.iter().copied())
        .collect();
    let median_ratio = pct(&mut scan_all, 0.5) / pct(&mut index_simple, 0.5).max(1e-6);
    let per_query_median = pct(&mut ratios, 0.5);
    let indexed_per_sec = messages as f64 / index_secs.max(1e-9);

    println!();
    println!(
        "archive: {} messages built in {:.1}s (generation {:.1}s, commits {:.1}s)",
        thousands(built.records),
        built.total_secs,
        built.generate_secs,
        built.commit_secs
    );
    println!(
        "search latency, top 50, all {} runs of {} queries: p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms (target p95 ≤ 10 ms)",
        all.len(),
        rows.len(),
        pct(&mut all, 0.5),
        pct(&mut all, 0.95),
        pct(&mut all, 0.99)
    );
    println!(
        "LIKE scan vs index at the median: {median_ratio:.0}× faster (median of per-query speed-ups {per_query_median:.0}×; target ≥ 50×)"
    );
    println!(
        "false negatives against a substring scan: {missed} (and {extra} false positives); LIKE hits the index missed: {like_missed}"
    );
    println!(
        "indexing: {} messages in {index_secs:.1}s = {indexed_per_sec:.0} messages/s on {threads} thread (target ≥ 30,000/s); index size {:.1} MB ({:.0} bytes/message)",
        thousands(messages as u64),
        size as f64 / 1e6,
        size as f64 / messages as f64
    );

    if ingest_messages > 0 {
        println!();
        println!(
            "ingesting {} RSA-encrypted messages with the indexer following …",
            thousands(ingest_messages as u64)
        );
        let i = super::bench::ingest_beside_search(ingest_messages, rsa_seconds)?;
        println!(
            "ingest alone:                   {:.0} messages/s, ratio to the RSA limit {:.2}",
            i.alone.0, i.alone.1
        );
        println!(
            "ingest with indexing beside it: {:.0} messages/s, ratio to the RSA limit {:.2} (target ≥ 0.70); indexed {} of {} when the sync ended, {} after",
            i.beside.0,
            i.beside.1,
            thousands(i.indexed_at_end),
            thousands(i.records),
            thousands(i.indexed)
        );
    }
    if missed > 0 || extra > 0 || like_missed > 0 {
        bail!(
            "the index missed {missed} substring hits and {like_missed} LIKE hits, and found {extra} that are none"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A folder of this run, removed when the run ends.
struct TempFolder(std::path::PathBuf);

impl TempFolder {
    fn new() -> anyhow::Result<TempFolder> {
        let dir =
            std::env::temp_dir().join(format!("wecom-archive-bench-search-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(TempFolder(dir))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
