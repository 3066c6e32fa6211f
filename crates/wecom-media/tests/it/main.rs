//! The media workers against a real emulator on a loopback port, a real SQLite archive and a real
//! blob store: a synced corpus downloaded and verified, every fault the issue lists, storage
//! failures, the retention window, concurrency, cancellation and a killed process.

mod corpus;
mod crash;
mod faults;
mod queue;
mod storage;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use wecom_blob::{BlobStore, FsBlobStore};
use wecom_client::{ClientConfig, NativeClient, RetryPolicy};
use wecom_crypto::{KeyRing, PrivateKey};
use wecom_emulator::{CorpusSpec, Emulator, EmulatorConfig, MediaSpec};
use wecom_media::{MediaOptions, MediaReport, drain_media};
use wecom_model::parse_envelope;
use wecom_store::{
    Derived, IngestedRecord, MediaJob, MediaJobState, Outcome, PageCommit, Roles, SqliteStore,
};
use wecom_wire::{
    BoxFuture, ChatDataItem, MediaChunkSink, MediaFetchError, MediaFetched, MediaSource,
};

pub const CORP: &str = "wwmediatest000001";
pub const SECRET: &str = "media-test-secret";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .expect("clock")
}

/// An emulator serving on loopback, a client, an archive on disk and a blob store, all in one
/// temporary directory.
pub struct Setup {
    pub emulator: Emulator,
    pub base: String,
    pub client: Arc<NativeClient>,
    pub keys: Arc<KeyRing>,
    pub dir: TempDir,
    pub store: Roles,
    pub blobs: Arc<FsBlobStore>,
    stop: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A corpus of `messages` records that starts a day ago, so its media are inside the retention
/// window.
pub async fn setup(messages: usize) -> Setup {
    let key = PrivateKey::generate_rsa2048().expect("keygen");
    let mut config = EmulatorConfig::new(
        CorpusSpec {
            corp_id: CORP.into(),
            start_ms: now_ms() - DAY_MS,
            ..CorpusSpec::new(11, messages)
        },
        [(1u32, key.public_key())].into_iter().collect(),
    );
    config.corp_id = CORP.into();
    config.secret = SECRET.into();
    let emulator = Emulator::new(config).expect("emulator");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let stop = CancellationToken::new();
    let server = tokio::spawn(wecom_emulator::serve(
        emulator.clone(),
        listener,
        stop.clone().cancelled_owned(),
    ));
    let mut ring = KeyRing::new();
    ring.insert(1, key);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(&dir.path().join("archive.db"));
    let blobs = Arc::new(FsBlobStore::open(dir.path().join("media")).expect("blobs"));
    Setup {
        client: Arc::new(client(&base)),
        emulator,
        base,
        keys: Arc::new(ring),
        dir,
        store,
        blobs,
        stop,
        server,
    }
}

pub fn client(base: &str) -> NativeClient {
    let mut c = ClientConfig::new(base, CORP, SECRET);
    c.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    };
    NativeClient::new(c).expect("client")
}

pub fn open_store(path: &Path) -> Roles {
    Arc::new(SqliteStore::open(path).expect("archive")).roles()
}

/// Defaults, except that a transiently failed job is not due again within a test.
pub fn options() -> MediaOptions {
    let mut o = MediaOptions::new(CORP);
    o.retry_base = Duration::from_secs(3600);
    o.retry_max = Duration::from_secs(3600);
    o
}

impl Setup {
    pub async fn sync(&self) -> wecom_sync::SyncReport {
        wecom_sync::sync_until_caught_up(
            self.client.as_ref(),
            self.store.writer.clone(),
            self.keys.clone(),
            &wecom_sync::SyncOptions::new(CORP),
            &CancellationToken::new(),
            &|_| {},
        )
        .await
        .expect("sync")
    }

    pub async fn drain(&self, opts: MediaOptions) -> MediaReport {
        self.drain_with(self.client.clone(), self.blobs.clone(), opts)
            .await
    }

    pub async fn drain_with(
        &self,
        source: Arc<dyn MediaSource>,
        blobs: Arc<dyn BlobStore>,
        opts: MediaOptions,
    ) -> MediaReport {
        drain_media(
            self.store.media.clone(),
            source,
            blobs,
            opts,
            &CancellationToken::new(),
        )
        .await
        .expect("drain")
    }

    pub fn jobs(&self) -> Vec<MediaJob> {
        self.store
            .reader
            .media_jobs(CORP, None, 0, 1_000_000)
            .expect("jobs")
    }

    /// The one job of `msgid`.
    pub fn job(&self, msgid: &str) -> MediaJob {
        let media = self
            .store
            .reader
            .message_media(CORP, msgid)
            .expect("message media");
        assert_eq!(media.len(), 1, "{msgid}: {media:?}");
        media.into_iter().next().expect("one").job
    }

    pub fn blob_root(&self) -> PathBuf {
        self.blobs.root().to_owned()
    }

    /// Stores a decrypted file message referencing `sdkfileid` (as the sync engine would), so its
    /// job is created with it.
    pub fn post_file(&self, msgid: &str, msgtime: i64, sdkfileid: &str, md5: &str, size: u64) {
        post_file(&self.store, msgid, msgtime, sdkfileid, md5, size);
    }

    /// A message for an object the emulator serves, with the md5 and size it states.
    pub fn post_spec(&self, msgid: &str, spec: &MediaSpec) {
        self.post_file(
            msgid,
            now_ms() - 60_000,
            &spec.sdkfileid,
            &spec.md5,
            spec.size,
        );
    }

    pub async fn shutdown(self) {
        self.stop.cancel();
        self.server.await.expect("join").expect("server");
    }
}

static NEXT_SEQ: AtomicUsize = AtomicUsize::new(10_000_000);

pub fn post_file(store: &Roles, msgid: &str, msgtime: i64, sdkfileid: &str, md5: &str, size: u64) {
    let json = serde_json::json!({
        "msgid": msgid, "action": "send", "from": "zhangsan", "tolist": ["lisi"], "roomid": "",
        "msgtime": msgtime, "msgtype": "file",
        "file": {"md5sum": md5, "filename": "report.bin", "fileext": "bin", "filesize": size,
                 "sdkfileid": sdkfileid},
    })
    .to_string();
    let envelope = parse_envelope(json.as_bytes()).expect("fixture parses");
    let derived = Derived::from_envelope(&envelope);
    assert_eq!(derived.media.len(), 1, "{derived:?}");
    let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed) as u64;
    let store = &store.writer;
    let cursor = store.cursor(CORP).expect("cursor");
    let page = PageCommit {
        records: vec![IngestedRecord {
            item: ChatDataItem {
                seq,
                msgid: msgid.to_owned(),
                publickey_ver: 1,
                encrypt_random_key: "k".into(),
                encrypt_chat_msg: "m".into(),
            },
            fetched_at_ms: now_ms(),
            outcome: Outcome::Decrypted {
                plaintext: json.into_bytes(),
                envelope,
                derived,
            },
        }],
        cursor,
        quarantined: Vec::new(),
    };
    let stats = store.commit_page(CORP, &page).expect("commit");
    assert_eq!(stats.inserted, 1);
}

/// Every file below `dir`, as paths relative to `root`, sorted — without the blob store's
/// `owners/` folder, which holds the open store's lock file, not data.
pub fn files_below(root: &Path, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "owners") {
                    continue;
                }
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .expect("below root")
                        .display()
                        .to_string(),
                );
            }
        }
    }
    out.sort();
    out
}

/// A source that counts downloads in flight and remembers the order they started in.
pub struct Counting {
    pub inner: Arc<dyn MediaSource>,
    pub now: AtomicUsize,
    pub max: AtomicUsize,
    pub started: Mutex<Vec<String>>,
}

impl Counting {
    pub fn new(inner: Arc<dyn MediaSource>) -> Arc<Counting> {
        Arc::new(Counting {
            inner,
            now: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
            started: Mutex::new(Vec::new()),
        })
    }
}

impl MediaSource for Counting {
    fn download<'a>(
        &'a self,
        sdkfileid: &'a str,
        sink: &'a mut dyn MediaChunkSink,
    ) -> BoxFuture<'a, Result<MediaFetched, MediaFetchError>> {
        Box::pin(async move {
            self.started
                .lock()
                .expect("lock")
                .push(sdkfileid.to_owned());
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(n, Ordering::SeqCst);
            let r = self.inner.download(sdkfileid, sink).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
            r
        })
    }
}

pub fn count(jobs: &[MediaJob], state: MediaJobState) -> usize {
    jobs.iter().filter(|j| j.state == state).count()
}
