//! End-to-end media benchmark: the emulator on loopback → the native client → the media workers →
//! an on-disk archive and a file-system blob store, all in this process.
//!
//! `cargo run --release -p wecom-media --example media_bench [-- BIG_MB SMALL_COUNT CONCURRENCY]`
//! (defaults 200, 10000, 4) prints, for one large object, throughput and peak RSS (`VmHWM`, the
//! whole process including the emulator), then objects per second for many small images at the
//! configured concurrency and at 1, for comparison.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;
use wecom_blob::FsBlobStore;
use wecom_client::{ClientConfig, NativeClient};
use wecom_crypto::PrivateKey;
use wecom_emulator::{CorpusSpec, Emulator, EmulatorConfig, MediaKind, MediaSpec};
use wecom_media::{MediaOptions, MediaReport, SharedStore, drain_media};
use wecom_model::parse_envelope;
use wecom_store::{ArchiveWriter, Derived, IngestedRecord, Outcome, PageCommit, SqliteStore};
use wecom_wire::ChatDataItem;

const CORP: &str = "wwmediabench00001";
const SECRET: &str = "media-bench-secret";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let big_mb = args.first().copied().unwrap_or(200);
    let small = args.get(1).copied().unwrap_or(10_000) as usize;
    let concurrency = args.get(2).copied().unwrap_or(4) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(big_mb, small, concurrency))
}

async fn run(
    big_mb: u64,
    small: usize,
    concurrency: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let key = PrivateKey::generate_rsa2048()?;
    let mut config = EmulatorConfig::new(
        CorpusSpec {
            corp_id: CORP.into(),
            ..CorpusSpec::new(5, 0)
        },
        [(1u32, key.public_key())].into_iter().collect(),
    );
    config.corp_id = CORP.into();
    config.secret = SECRET.into();
    let emulator = Emulator::new(config)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let stop = CancellationToken::new();
    let server = tokio::spawn(wecom_emulator::serve(
        emulator.clone(),
        listener,
        stop.clone().cancelled_owned(),
    ));
    let client = Arc::new(NativeClient::new(ClientConfig::new(&base, CORP, SECRET))?);

    // One large object.
    let size = big_mb * 1_000_000;
    let spec = emulator.add_media(size, MediaKind::Video);
    let before = vm_hwm_kib();
    let (report, elapsed) = round(&client, std::slice::from_ref(&spec), 1).await?;
    assert_eq!(report.done, 1, "{report:?}");
    println!(
        "large object: {big_mb} MB in {:.2} s = {:.1} MB/s; peak RSS (VmHWM) {:.1} MiB \
         (before the download {:.1} MiB; emulator in-process)",
        elapsed.as_secs_f64(),
        size as f64 / 1e6 / elapsed.as_secs_f64(),
        vm_hwm_kib() as f64 / 1024.0,
        before as f64 / 1024.0,
    );

    // Many small images, 8–40 KB.
    let specs: Vec<MediaSpec> = (0..small)
        .map(|i| emulator.add_media(8_000 + (i as u64 * 7919) % 32_000, MediaKind::Image))
        .collect();
    let mut rates = Vec::new();
    for c in [concurrency, 1] {
        let (report, elapsed) = round(&client, &specs, c).await?;
        assert_eq!(report.done as usize, small, "{report:?}");
        let rate = small as f64 / elapsed.as_secs_f64();
        println!(
            "small images: {small} objects ({:.1} MB) at concurrency {c} in {:.2} s = {rate:.0} objects/s",
            report.bytes as f64 / 1e6,
            elapsed.as_secs_f64(),
        );
        rates.push(rate);
    }
    if let [fast, slow] = rates[..] {
        println!("concurrency {concurrency} vs 1: {:.2}x", fast / slow);
    }
    println!(
        "peak RSS of the whole run (VmHWM): {:.1} MiB",
        vm_hwm_kib() as f64 / 1024.0
    );
    stop.cancel();
    server.await??;
    Ok(())
}

/// Posts one message per object into a fresh archive and blob store, then drains.
async fn round(
    client: &Arc<NativeClient>,
    specs: &[MediaSpec],
    concurrency: usize,
) -> Result<(MediaReport, Duration), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let sqlite = SqliteStore::open(&dir.path().join("archive.db"))?;
    let now = now_ms();
    let records = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| message(i as u64 + 1, spec, now))
        .collect::<Result<Vec<_>, _>>()?;
    for (n, page) in records.chunks(1000).enumerate() {
        sqlite.commit_page(
            CORP,
            &PageCommit {
                records: page.to_vec(),
                cursor: (n as u64 + 1) * 1000,
                quarantined: Vec::new(),
            },
        )?;
    }
    let store: SharedStore = Arc::new(sqlite);
    let blobs = Arc::new(FsBlobStore::open(dir.path().join("media"))?);
    let mut opts = MediaOptions::new(CORP);
    opts.concurrency = concurrency;
    let started = Instant::now();
    let report = drain_media(
        store,
        client.clone(),
        blobs,
        opts,
        &CancellationToken::new(),
    )
    .await?;
    Ok((report, started.elapsed()))
}

fn message(
    seq: u64,
    spec: &MediaSpec,
    now: i64,
) -> Result<IngestedRecord, Box<dyn std::error::Error>> {
    let msgid = format!("bench{seq}");
    let json = serde_json::json!({
        "msgid": msgid, "action": "send", "from": "zhangsan", "tolist": ["lisi"], "roomid": "",
        "msgtime": now - 60_000, "msgtype": "image",
        "image": {"md5sum": spec.md5, "filesize": spec.size, "sdkfileid": spec.sdkfileid},
    })
    .to_string();
    let envelope = parse_envelope(json.as_bytes())?;
    Ok(IngestedRecord {
        item: ChatDataItem {
            seq,
            msgid,
            publickey_ver: 1,
            encrypt_random_key: String::new(),
            encrypt_chat_msg: String::new(),
        },
        fetched_at_ms: now,
        outcome: Outcome::Decrypted {
            plaintext: json.into_bytes(),
            derived: Derived::from_envelope(&envelope),
            envelope,
        },
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Peak resident set size of this process, from `/proc/self/status` (0 where there is none).
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
