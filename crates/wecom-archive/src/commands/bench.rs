//! `bench ingest`: end-to-end ingest rate against this machine's RSA private-key rate, measured in
//! the same run. `bench read`: read latencies (a conversation page, the conversation list) while
//! pages commit, against the same reads on the idle archive, measured in the same run.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;
use wecom_client::{ClientConfig, NativeClient};
use wecom_crypto::KeyRing;
use wecom_emulator::Emulator;
use wecom_store::{ArchiveReader, Roles, SqliteStore};
use wecom_sync::{SyncOptions, SyncReport, sync_until_caught_up};

use super::emulator::{emulator_config, generate_keys};
use super::{runtime, thousands};

const CORP: &str = "wwbench0000000001";
const SECRET: &str = "bench-secret";

/// An emulator corpus, a fresh archive in a temporary folder, the keys and the RSA baseline.
struct Bench {
    emulator: Emulator,
    ring: Arc<KeyRing>,
    dir: std::path::PathBuf,
    store: Roles,
    cores: usize,
    rsa_per_core: f64,
    prep_secs: f64,
}

impl Bench {
    fn prepare(messages: usize, rsa_seconds: f64) -> anyhow::Result<Bench> {
        if messages == 0 {
            bail!("--messages must be at least 1");
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let keys = generate_keys(false)?;
        let (_, key) = keys.first().context("no key generated")?;
        println!(
            "measuring RSA-2048 PKCS#1 v1.5 private-key decryption on one core for {rsa_seconds:.1}s …"
        );
        let rsa_per_core = wecom_crypto::rsa_private_ops_per_second(
            key,
            Duration::from_secs_f64(rsa_seconds.max(0.2)),
        );
        println!(
            "preparing an emulator corpus of {} encrypted messages …",
            thousands(messages as u64)
        );
        let prep = Instant::now();
        let emulator = Emulator::new(emulator_config(
            CORP, SECRET, 42, messages, &keys, None, None,
        ))?;
        let prep_secs = prep.elapsed().as_secs_f64();
        let mut ring = KeyRing::new();
        for (v, k) in &keys {
            ring.insert(
                *v,
                wecom_crypto::PrivateKey::from_pkcs8_der(k.to_pkcs8_der())?,
            );
        }
        let dir = std::env::temp_dir().join(format!("wecom-archive-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let store = Arc::new(SqliteStore::open(&dir.join("archive.db"))?).roles();
        Ok(Bench {
            emulator,
            ring: Arc::new(ring),
            dir,
            store,
            cores,
            rsa_per_core,
            prep_secs,
        })
    }

    /// Serves the corpus on loopback and syncs it (up to `max_pages` pages), timing the sync.
    fn sync(
        &self,
        max_pages: Option<u64>,
        decrypt_threads: Option<usize>,
    ) -> anyhow::Result<(SyncReport, Duration)> {
        self.sync_into(&self.store, max_pages, decrypt_threads)
    }

    /// [`Bench::sync`] into `store`.
    fn sync_into(
        &self,
        store: &Roles,
        max_pages: Option<u64>,
        decrypt_threads: Option<usize>,
    ) -> anyhow::Result<(SyncReport, Duration)> {
        runtime()?.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let base = format!("http://{}", listener.local_addr()?);
            let stop = CancellationToken::new();
            let server = tokio::spawn(wecom_emulator::serve(
                self.emulator.clone(),
                listener,
                stop.clone().cancelled_owned(),
            ));
            let client = NativeClient::new(ClientConfig::new(base, CORP, SECRET))?;
            let mut opts = SyncOptions::new(CORP);
            opts.max_pages = max_pages;
            if let Some(t) = decrypt_threads {
                opts.decrypt_threads = t.max(1);
            }
            let started = Instant::now();
            let report = sync_until_caught_up(
                &client,
                store.writer.clone(),
                self.ring.clone(),
                &opts,
                &CancellationToken::new(),
                &|_| {},
            )
            .await;
            let elapsed = started.elapsed();
            stop.cancel();
            server.await??;
            let report = report?;
            if report.failed != 0 {
                bail!("bench run incomplete: {} records failed", report.failed);
            }
            Ok::<_, anyhow::Error>((report, elapsed))
        })
    }

    /// Messages/s of a timed sync, and its ratio to the RSA limit of all cores.
    fn rate(&self, records: u64, elapsed: Duration) -> (f64, f64) {
        let rate = records as f64 / elapsed.as_secs_f64().max(1e-9);
        (rate, rate / (self.cores as f64 * self.rsa_per_core))
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn ingest(
    messages: usize,
    rsa_seconds: f64,
    decrypt_threads: Option<usize>,
    postgres: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let bench = Bench::prepare(messages, rsa_seconds)?;
    // PostgreSQL, when asked, in a schema of its own (dropped afterwards), beside SQLite.
    let pg = match postgres {
        Some(url) => {
            let mut options = wecom_store::PgOptions::new(url);
            options.schema = Some(format!("wecom_bench_{}", std::process::id()));
            options.password = ["WECOM_ARCHIVE_DB_PASSWORD", "PGPASSWORD"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
            let roles = wecom_store::open(&wecom_store::StoreLocation::Postgres(options.clone()))
                .with_context(|| format!("cannot open {options}"))?;
            Some((options, roles))
        }
        None => None,
    };
    let mut runs = vec![("SQLite", bench.store.clone())];
    if let Some((_, roles)) = &pg {
        runs.push(("PostgreSQL", roles.clone()));
    }
    let mut results = Vec::new();
    for (name, store) in &runs {
        println!("syncing into {name} …");
        let (report, elapsed) = bench.sync_into(store, None, decrypt_threads)?;
        if report.records != messages as u64 {
            bail!("bench run incomplete in {name}: {} records", report.records);
        }
        let stats = store.reader.stats(CORP)?;
        if stats.decrypted != messages as u64 {
            bail!(
                "{name} holds {} decrypted messages, expected {messages}",
                stats.decrypted
            );
        }
        results.push((*name, bench.rate(report.records, elapsed), elapsed));
    }
    drop(runs);
    if let Some((options, roles)) = pg {
        drop(roles);
        if let Err(e) = wecom_store::PgStore::drop_schema(&options) {
            eprintln!("could not drop the bench schema: {e}");
        }
    }
    println!();
    println!(
        "corpus preparation (emulator, not measured): {:.1}s",
        bench.prep_secs
    );
    println!("cores:                                  {}", bench.cores);
    println!(
        "RSA-2048 private ops per second, 1 core: {:.0}",
        bench.rsa_per_core
    );
    for (name, (rate, ratio), elapsed) in &results {
        println!(
            "ingest into {name}: {} messages in {:.2}s = {rate:.0} messages/s; \
             ratio to (cores × RSA ops per core) = {ratio:.2}",
            thousands(messages as u64),
            elapsed.as_secs_f64()
        );
    }
    println!("targets: SQLite ≥ 0.70, PostgreSQL ≥ 0.60 of the RSA limit");
    Ok(ExitCode::SUCCESS)
}

/// Latencies of the two reads, in microseconds.
#[derive(Default)]
struct Latencies {
    page: Vec<u64>,
    list: Vec<u64>,
}

impl Latencies {
    fn percentile(values: &mut [u64], p: f64) -> f64 {
        if values.is_empty() {
            return 0.0;
        }
        values.sort_unstable();
        let rank = ((values.len() as f64 - 1.0) * p).round() as usize;
        values[rank.min(values.len() - 1)] as f64 / 1000.0
    }
}

/// Reads like a reviewer paging through the archive, one read every `pace`, until `stop`: a page
/// of 50 messages of one of `keys` (in turn), then the first 50 conversations.
fn read_until(
    reader: &dyn ArchiveReader,
    keys: &[String],
    pace: Duration,
    stop: &AtomicBool,
    at_least: usize,
) -> anyhow::Result<Latencies> {
    let mut out = Latencies::default();
    let mut i = 0usize;
    while !stop.load(Ordering::Relaxed) || out.page.len() < at_least {
        let key = &keys[i % keys.len()];
        let t = Instant::now();
        reader.conversation_messages(CORP, key, None, 50)?;
        out.page.push(t.elapsed().as_micros() as u64);
        let t = Instant::now();
        reader.conversations(CORP, 50, 0)?;
        out.list.push(t.elapsed().as_micros() as u64);
        i += 1;
        std::thread::sleep(pace);
    }
    Ok(out)
}

pub fn read(
    messages: usize,
    rsa_seconds: f64,
    decrypt_threads: Option<usize>,
) -> anyhow::Result<ExitCode> {
    let bench = Bench::prepare(messages, rsa_seconds)?;
    // Half the corpus first: the idle reads run on it, the rest is ingested beside the reads.
    let half_pages = (messages as u64 / 2).div_ceil(1000).max(1);
    println!("ingesting the first half …");
    let (first, _) = bench.sync(Some(half_pages), decrypt_threads)?;
    let keys: Vec<String> = bench
        .store
        .reader
        .conversations(CORP, 1000, 0)?
        .into_iter()
        .map(|c| c.key)
        .collect();
    if keys.is_empty() {
        bail!("the archive has no conversation to read");
    }
    let pace = Duration::from_millis(5);
    const IDLE_READS: usize = 400;

    println!("reading the idle archive …");
    let idle_stop = AtomicBool::new(true);
    let mut idle = read_until(&*bench.store.reader, &keys, pace, &idle_stop, IDLE_READS)?;

    println!("ingesting the second half while reading …");
    let stop = Arc::new(AtomicBool::new(false));
    let reader_thread = {
        let reader = bench.store.reader.clone();
        let keys = keys.clone();
        let stop = stop.clone();
        std::thread::spawn(move || read_until(&*reader, &keys, pace, &stop, 1))
    };
    let ingest = bench.sync(None, decrypt_threads);
    stop.store(true, Ordering::Relaxed);
    let busy = reader_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))?;
    let (second, elapsed) = ingest?;
    let mut busy = busy?;
    let total = first.records + second.records;
    if total != messages as u64 {
        bail!("bench run incomplete: {total} of {messages} records");
    }
    let (rate, ratio) = bench.rate(second.records, elapsed);

    let p = |v: &mut Vec<u64>, q| Latencies::percentile(v, q);
    let (idle_page50, idle_page99) = (p(&mut idle.page, 0.5), p(&mut idle.page, 0.99));
    let (idle_list50, idle_list99) = (p(&mut idle.list, 0.5), p(&mut idle.list, 0.99));
    let (busy_page50, busy_page99) = (p(&mut busy.page, 0.5), p(&mut busy.page, 0.99));
    let (busy_list50, busy_list99) = (p(&mut busy.list, 0.5), p(&mut busy.list, 0.99));
    println!();
    println!(
        "archive: {} messages ({} at the idle reads), {} conversations read in turn",
        thousands(total),
        thousands(first.records),
        keys.len()
    );
    println!(
        "reads: one conversation page (50 messages) and the conversation list (first 50) every {} ms",
        pace.as_millis()
    );
    println!(
        "conversation page  idle  p50 {idle_page50:>7.2} ms  p99 {idle_page99:>7.2} ms  ({} reads)",
        idle.page.len()
    );
    println!(
        "conversation page  busy  p50 {busy_page50:>7.2} ms  p99 {busy_page99:>7.2} ms  ({} reads)  p99 ratio {:.2} (target ≤ 2, ≤ 10 ms)",
        busy.page.len(),
        busy_page99 / idle_page99.max(1e-9)
    );
    println!("conversation list  idle  p50 {idle_list50:>7.2} ms  p99 {idle_list99:>7.2} ms");
    println!(
        "conversation list  busy  p50 {busy_list50:>7.2} ms  p99 {busy_list99:>7.2} ms  p99 ratio {:.2} (target ≤ 2, ≤ 10 ms)",
        busy_list99 / idle_list99.max(1e-9)
    );
    println!(
        "ingest beside the reads: {} messages in {:.2}s = {rate:.0} messages/s, ratio to the RSA limit {ratio:.2} (target ≥ 0.70)",
        thousands(second.records),
        elapsed.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// What `ingest_beside_search` measured.
pub(super) struct IngestBesideSearch {
    pub records: u64,
    /// The sync alone: messages/s and the ratio to the RSA limit.
    pub alone: (f64, f64),
    /// The same sync with the indexer following beside it.
    pub beside: (f64, f64),
    /// Documents the index held when that sync ended, and after its last pass.
    pub indexed_at_end: u64,
    pub indexed: u64,
}

/// Ingests an emulator corpus of `messages` twice in the same run, into two fresh archives: alone,
/// then with the search indexer following the archive beside the sync as the daemon's follower
/// does under a constant stream of syncs (a pass, then the next one its `min_pass_interval` later).
pub(super) fn ingest_beside_search(
    messages: usize,
    rsa_seconds: f64,
) -> anyhow::Result<IngestBesideSearch> {
    let alone = {
        let bench = Bench::prepare(messages, rsa_seconds)?;
        let (report, elapsed) = bench.sync(None, None)?;
        if report.records != messages as u64 {
            bail!("bench run incomplete: {} records", report.records);
        }
        bench.rate(report.records, elapsed)
    };
    let bench = Bench::prepare(messages, rsa_seconds)?;
    let index_dir = bench.dir.join("search").join(CORP);
    let index = wecom_search::SearchIndex::open_or_create(&index_dir, CORP)?;
    let options = wecom_search::IndexerOptions::default();
    let pace = options.min_pass_interval;
    let indexer = Arc::new(wecom_search::Indexer::open(
        index,
        bench.store.reader.clone(),
        options,
    )?);
    let stop = CancellationToken::new();
    let follower = {
        let indexer = indexer.clone();
        let stop = stop.clone();
        std::thread::spawn(move || -> anyhow::Result<()> {
            while !stop.is_cancelled() {
                indexer.catch_up(&CancellationToken::new(), &mut |_| {})?;
                std::thread::sleep(pace);
            }
            Ok(())
        })
    };
    let ingest = bench.sync(None, None);
    let indexed_at_end = indexer.index().documents()?;
    stop.cancel();
    follower
        .join()
        .map_err(|_| anyhow::anyhow!("the indexing thread panicked"))??;
    let (report, elapsed) = ingest?;
    if report.records != messages as u64 {
        bail!("bench run incomplete: {} records", report.records);
    }
    indexer.catch_up(&CancellationToken::new(), &mut |_| {})?;
    let indexed = indexer.index().documents()?;
    if let Ok(indexer) = Arc::try_unwrap(indexer) {
        indexer.finish()?;
    }
    Ok(IngestBesideSearch {
        records: report.records,
        alone,
        beside: bench.rate(report.records, elapsed),
        indexed_at_end,
        indexed,
    })
}
