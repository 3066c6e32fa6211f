//! Media download benchmark: an in-process emulator serves one object created on demand (200 MB by
//! default) and the native client streams it through a hashing sink; prints throughput and peak
//! RSS (`VmHWM` of /proc/self/status — emulator and client share the process, so it bounds both).
//!
//! `cargo run --release -p wecom-client --example media_download -- [MEGABYTES]`

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wecom_client::{ClientConfig, FnSink, NativeClient};
use wecom_crypto::PrivateKey;
use wecom_emulator::{CorpusSpec, Emulator, EmulatorConfig, MediaKind};

/// `VmHWM` and `VmRSS` in KiB (zero where /proc is unavailable).
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let megabytes: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 200,
    };
    let size = megabytes * 1_000_000;

    let key = PrivateKey::generate_rsa2048()?;
    let config = EmulatorConfig::new(
        CorpusSpec::new(1, 10),
        BTreeMap::from([(1, key.public_key())]),
    );
    let emulator = Emulator::new(config)?;
    let started = Instant::now();
    let spec = emulator.add_media(size, MediaKind::Video);
    println!(
        "object: {size} bytes, {} ciphertext bytes, md5 {} (emulator hashed it in {:.2} s)",
        spec.stored_len(),
        spec.md5,
        started.elapsed().as_secs_f64()
    );

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let stop = CancellationToken::new();
    let server = tokio::spawn(wecom_emulator::serve(
        emulator.clone(),
        listener,
        stop.clone().cancelled_owned(),
    ));
    let mut client_config = ClientConfig::new(&base, emulator.corp_id(), emulator.secret());
    client_config.timeout = Duration::from_secs(30);
    let client = NativeClient::new(client_config)?;

    let (hwm_before, _) = memory_kib();
    let mut sink_md5 = Md5::new();
    let mut sink = FnSink(|plain: &[u8]| {
        sink_md5.update(plain);
        Ok(())
    });
    let started = Instant::now();
    let done = client.download_media(&spec.sdkfileid, &mut sink).await?;
    let secs = started.elapsed().as_secs_f64();
    let (hwm_after, rss) = memory_kib();
    stop.cancel();
    server.await??;

    done.verify(&spec.md5, Some(spec.size))?;
    assert_eq!(hex::encode(sink_md5.finalize()), spec.md5);
    println!(
        "downloaded {} bytes in {} chunks ({} retries) in {secs:.2} s: {:.1} MB/s",
        done.plaintext_len,
        done.chunks,
        done.retries,
        done.plaintext_len as f64 / 1e6 / secs
    );
    println!(
        "peak RSS (VmHWM): {:.1} MiB before the download, {:.1} MiB after; VmRSS now {:.1} MiB",
        hwm_before as f64 / 1024.0,
        hwm_after as f64 / 1024.0,
        rss as f64 / 1024.0
    );
    Ok(())
}
