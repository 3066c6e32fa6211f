//! `bench ingest`: end-to-end ingest rate against this machine's RSA private-key rate, measured in
//! the same run.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;
use wecom_client::{ClientConfig, NativeClient};
use wecom_crypto::KeyRing;
use wecom_emulator::Emulator;
use wecom_store::SqliteStore;
use wecom_sync::{SyncOptions, sync_until_caught_up};

use super::emulator::{emulator_config, generate_keys};
use super::{runtime, thousands};

pub fn ingest(
    messages: usize,
    rsa_seconds: f64,
    decrypt_threads: Option<usize>,
) -> anyhow::Result<ExitCode> {
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
    let config = emulator_config(
        "wwbench0000000001",
        "bench-secret",
        42,
        messages,
        &keys,
        None,
        None,
    );
    let emulator = Emulator::new(config)?;
    let prep_secs = prep.elapsed().as_secs_f64();

    let dir = std::env::temp_dir().join(format!("wecom-archive-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let db = dir.join("archive.db");
    let result = (|| {
        let store = Arc::new(SqliteStore::open(&db)?).roles();
        let mut ring = KeyRing::new();
        for (v, k) in &keys {
            ring.insert(
                *v,
                wecom_crypto::PrivateKey::from_pkcs8_der(k.to_pkcs8_der())?,
            );
        }
        let ring = Arc::new(ring);
        let rt = runtime()?;
        let elapsed = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let base = format!("http://{}", listener.local_addr()?);
            let stop = CancellationToken::new();
            let server = tokio::spawn(wecom_emulator::serve(
                emulator,
                listener,
                stop.clone().cancelled_owned(),
            ));
            let client =
                NativeClient::new(ClientConfig::new(base, "wwbench0000000001", "bench-secret"))?;
            let mut opts = SyncOptions::new("wwbench0000000001");
            if let Some(t) = decrypt_threads {
                opts.decrypt_threads = t.max(1);
            }
            let started = Instant::now();
            let report = sync_until_caught_up(
                &client,
                store.writer.clone(),
                ring,
                &opts,
                &CancellationToken::new(),
                &|_| {},
            )
            .await;
            let elapsed = started.elapsed();
            stop.cancel();
            server.await??;
            let report = report?;
            if report.records != messages as u64 || report.failed != 0 {
                bail!(
                    "bench run incomplete: {} records, {} failed",
                    report.records,
                    report.failed
                );
            }
            Ok::<_, anyhow::Error>(elapsed)
        })?;
        let stats = store.reader.stats("wwbench0000000001")?;
        if stats.decrypted != messages as u64 {
            bail!(
                "archive holds {} decrypted messages, expected {messages}",
                stats.decrypted
            );
        }
        Ok::<_, anyhow::Error>(elapsed)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let elapsed = result?;

    let rate = messages as f64 / elapsed.as_secs_f64();
    let ratio = rate / (cores as f64 * rsa_per_core);
    println!();
    println!("corpus preparation (emulator, not measured): {prep_secs:.1}s");
    println!("cores:                                  {cores}");
    println!("RSA-2048 private ops per second, 1 core: {rsa_per_core:.0}");
    println!(
        "ingest: {} messages in {:.2}s = {rate:.0} messages/s",
        thousands(messages as u64),
        elapsed.as_secs_f64()
    );
    println!("ratio ingest / (cores × RSA ops per core) = {ratio:.2} (target ≥ 0.70)");
    Ok(ExitCode::SUCCESS)
}
