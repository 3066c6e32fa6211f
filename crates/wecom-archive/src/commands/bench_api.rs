//! `bench api`: latencies of the HTTP API as its users see them — the conversation list, a page of
//! 50 messages, a search, a media Range request — with many concurrent signed-in clients on
//! loopback, through the real server, in two phases of the same run: on a quiet archive, then while
//! `sync` commits pages of RSA-encrypted records into the same archive.
//!
//! Invariants:
//! - every request goes through `wecom_server::serve` and the API's router, with its own session
//!   per client (sign-in, cookie), exactly as a browser's would; every answer is read whole;
//! - any failed request (transport error, a status other than the one expected, a short body) ends
//!   the bench with an error: figures are only printed for runs in which every request succeeded;
//! - the ingest writes into the same SQLite archive (and through the same store handle) the API
//!   reads and audits into, under a corp id of its own, so the served corp's seqs never clash;
//! - a request counts for the "during ingest" figures only when it started while the sync ran;
//! - the run leaves nothing behind: its archive, index and media live in a folder removed at the
//!   end.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN, RANGE, SET_COOKIE};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wecom_api::{ApiConfig, ApiCorp, ApiState};
use wecom_blob::{BlobStore, Expectations, FsBlobStore};
use wecom_client::{ClientConfig, NativeClient};
use wecom_crypto::KeyRing;
use wecom_emulator::Emulator;
use wecom_search::{Indexer, IndexerOptions, SearchIndex, Searcher};
use wecom_server::ServerConfig;
use wecom_store::{MediaArea, MediaObject, NewUser, Role, Roles, Scope, StoreLocation};
use wecom_sync::{SyncOptions, sync_until_caught_up};
use wecom_wire::clock::now_ms;

use super::bench_corpus::build_plain_archive;
use super::emulator::{emulator_config, generate_keys};
use super::{runtime, thousands};

/// The corp the API serves (the plain corpus).
const CORP: &str = "wwbench0000000003";
/// The corp the ingest writes into, in the same archive.
const INGEST_CORP: &str = "wwbench0000000004";
const INGEST_SECRET: &str = "bench-secret";

/// Media objects stored (at most: the corpus may have fewer media messages).
const MEDIA_OBJECTS: usize = 300;
/// Random messages sampled as `around=` targets.
const AROUND_SAMPLES: usize = 2000;
/// The longest Range asked for.
const MAX_RANGE: u64 = 256 * 1024;
/// The target for pages and lists during ingest.
const TARGET_P95_MS: f64 = 50.0;

/// Two-character words of the realistic corpus (as `bench search` uses), searched in turn.
const WORDS: &[&str] = &["客户", "退款", "返佣", "合同", "理财", "收益"];

/// What `bench api` is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct ApiBenchOptions {
    /// Messages of the served archive.
    pub messages: usize,
    /// Concurrent clients, each with its own session.
    pub clients: usize,
    /// Requests per client per phase (the during-ingest phase also ends with the ingest).
    pub requests: usize,
    /// RSA-encrypted messages ingested during the second phase.
    pub ingest_messages: usize,
}

/// The four kinds of request, in the order the table shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Page,
    Search,
    Media,
}

const KINDS: [Kind; 4] = [Kind::List, Kind::Page, Kind::Search, Kind::Media];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::List => "conversation list (50)",
            Kind::Page => "page of 50 messages",
            Kind::Search => "search (2-char word)",
            Kind::Media => "media Range request",
        }
    }

    /// Whether the p95 ≤ 50 ms target applies during ingest.
    fn has_target(self) -> bool {
        matches!(self, Kind::List | Kind::Page)
    }

    fn index(self) -> usize {
        match self {
            Kind::List => 0,
            Kind::Page => 1,
            Kind::Search => 2,
            Kind::Media => 3,
        }
    }
}

/// One stored media object.
#[derive(Debug, Clone)]
struct Media {
    sha256: String,
    size: u64,
}

/// What every client picks its requests from.
struct Corpus {
    base: String,
    /// `(conversation key, msgid)` of random messages.
    around: Vec<(String, String)>,
    media: Vec<Media>,
}

/// Latencies of one phase in microseconds, per kind ([`Kind::index`]).
#[derive(Debug, Default)]
struct Samples {
    micros: [Vec<u64>; 4],
}

impl Samples {
    fn merge(&mut self, other: Samples) {
        for (mine, theirs) in self.micros.iter_mut().zip(other.micros) {
            mine.extend(theirs);
        }
    }

    /// The `p` quantile (nearest rank) in ms, `None` without samples.
    fn percentile(&mut self, kind: Kind, p: f64) -> Option<f64> {
        let v = &mut self.micros[kind.index()];
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let rank = ((v.len() as f64 - 1.0) * p).round() as usize;
        Some(v[rank.min(v.len() - 1)] as f64 / 1000.0)
    }

    fn count(&self) -> usize {
        self.micros.iter().map(Vec::len).sum()
    }
}

/// A folder of this run, removed when the run ends.
struct TempFolder(std::path::PathBuf);

impl TempFolder {
    fn new() -> anyhow::Result<TempFolder> {
        let dir =
            std::env::temp_dir().join(format!("wecom-archive-bench-api-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(TempFolder(dir))
    }
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Builds the served archive (plain corpus, search index, media objects, an admin and an
/// auditor), serves the API on loopback, runs both phases and prints the table.
pub fn api(options: ApiBenchOptions) -> anyhow::Result<ExitCode> {
    if options.messages == 0 || options.clients == 0 || options.requests == 0 {
        bail!("--messages, --clients and --requests must each be at least 1");
    }
    if options.ingest_messages == 0 {
        bail!("--ingest-messages must be at least 1");
    }
    let dir = TempFolder::new()?;
    let path = dir.0.join("archive.db");
    println!(
        "building an archive of {} realistic messages (no RSA) …",
        thousands(options.messages as u64)
    );
    let built = build_plain_archive(&path, CORP, options.messages, 7, &mut |done, total| {
        if done % 100_000 == 0 || done == total {
            eprint!("\r  {} / {}", thousands(done), thousands(total));
        }
    })?;
    eprintln!();
    let roles = wecom_store::open(&StoreLocation::Sqlite(path.clone()))
        .with_context(|| format!("cannot open archive {}", path.display()))?;

    println!("indexing …");
    let index_dir = dir.0.join("search").join(CORP);
    let index = SearchIndex::open_or_create(&index_dir, CORP)?;
    let indexer = Indexer::open(
        index.clone(),
        roles.reader.clone(),
        IndexerOptions::default(),
    )?;
    indexer.catch_up(&CancellationToken::new(), &mut |_| {})?;
    indexer.finish()?;
    let searcher = Arc::new(Searcher::open(index, roles.reader.clone())?);

    let around = sample_messages(&roles)?;
    let password = wecom_accounts::SessionToken::generate().token;
    for (name, role) in [
        ("bench-admin", Role::Admin),
        ("bench-auditor", Role::Auditor),
    ] {
        roles.accounts.create_user(
            &NewUser {
                username: name.to_owned(),
                password_hash: wecom_accounts::hash_password(&password)?,
                role,
                corps: vec![CORP.to_owned()],
                scope: Scope::default(),
            },
            now_ms(),
        )?;
    }

    println!(
        "preparing an emulator corpus of {} encrypted messages to ingest …",
        thousands(options.ingest_messages as u64)
    );
    let keys = generate_keys(false)?;
    let emulator = Emulator::new(emulator_config(
        INGEST_CORP,
        INGEST_SECRET,
        42,
        options.ingest_messages,
        &keys,
        None,
        None,
    ))?;
    let mut ring = KeyRing::new();
    for (v, k) in &keys {
        ring.insert(
            *v,
            wecom_crypto::PrivateKey::from_pkcs8_der(k.to_pkcs8_der())?,
        );
    }
    let ring = Arc::new(ring);

    runtime()?.block_on(async {
        let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(dir.0.join("media"))?);
        println!("storing media objects …");
        let media = store_media(&roles, blobs.as_ref()).await?;
        if media.is_empty() {
            bail!("the corpus has no media message to store an object for");
        }

        let api_config = ApiConfig {
            login_attempts_per_address: u32::try_from(options.clients)
                .unwrap_or(u32::MAX)
                .saturating_add(10),
            ..ApiConfig::default()
        };
        let state = ApiState::new(
            api_config,
            roles.accounts.clone(),
            roles.audit.clone(),
            vec![ApiCorp {
                corp_id: CORP.to_owned(),
                reader: roles.reader.clone(),
                search: Some(searcher),
                blobs: Some(blobs),
            }],
            None,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let server_config = ServerConfig {
            max_connections: (options.clients * 2).max(512),
            ..ServerConfig::default()
        };
        let server = {
            let router = wecom_api::router(state);
            let shutdown = stop.clone().cancelled_owned();
            tokio::spawn(async move {
                wecom_server::serve(listener, router, &server_config, shutdown).await
            })
        };
        let corpus = Arc::new(Corpus {
            base: format!("http://{addr}"),
            around,
            media,
        });
        let outcome = phases(&corpus, &options, &roles, &emulator, ring, &password).await;
        stop.cancel();
        server
            .await
            .context("the API server task failed")?
            .context("the API server failed")?;
        let (mut quiet, mut busy, ingest) = outcome?;
        print_table(&built, &corpus, &options, &mut quiet, &mut busy, &ingest);
        Ok(ExitCode::SUCCESS)
    })
}

/// What the ingest of the second phase did.
struct Ingest {
    records: u64,
    elapsed: Duration,
    /// From the ingest's start to the last request that started during it.
    reads_for: Duration,
}

/// Signs the clients in, then runs the quiet phase and the phase during ingest.
async fn phases(
    corpus: &Arc<Corpus>,
    options: &ApiBenchOptions,
    roles: &Roles,
    emulator: &Emulator,
    ring: Arc<KeyRing>,
    password: &str,
) -> anyhow::Result<(Phase, Phase, Ingest)> {
    println!("signing in {} clients …", options.clients);
    let mut sessions = JoinSet::new();
    for i in 0..options.clients {
        let corpus = corpus.clone();
        let password = password.to_owned();
        let user = if i % 2 == 0 {
            "bench-admin"
        } else {
            "bench-auditor"
        };
        sessions.spawn(async move { Client::sign_in(i, corpus, user, &password).await });
    }
    let mut clients = Vec::with_capacity(options.clients);
    while let Some(joined) = sessions.join_next().await {
        clients.push(joined.context("a sign-in task failed")??);
    }
    // Warm-up, unmeasured: one request of each kind per client.
    for client in &mut clients {
        for kind in KINDS {
            client.request(kind).await?;
        }
    }

    println!(
        "quiet: {} clients × {} requests …",
        options.clients, options.requests
    );
    let always = Arc::new(AtomicBool::new(true));
    let (clients, quiet) = run_clients(clients, options.requests, always).await?;

    println!(
        "during ingest: {} clients × up to {} requests while {} messages are synced into the same archive …",
        options.clients,
        options.requests,
        thousands(options.ingest_messages as u64)
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let emulator_base = format!("http://{}", listener.local_addr()?);
    let emulator_stop = CancellationToken::new();
    let emulator_server = tokio::spawn(wecom_emulator::serve(
        emulator.clone(),
        listener,
        emulator_stop.clone().cancelled_owned(),
    ));
    let source = NativeClient::new(ClientConfig::new(emulator_base, INGEST_CORP, INGEST_SECRET))?;
    let ingesting = Arc::new(AtomicBool::new(true));
    let started = Instant::now();
    let readers = tokio::spawn(run_clients(clients, options.requests, ingesting.clone()));
    let report = sync_until_caught_up(
        &source,
        roles.writer.clone(),
        ring,
        &SyncOptions::new(INGEST_CORP),
        &CancellationToken::new(),
        &|_| {},
    )
    .await;
    let elapsed = started.elapsed();
    ingesting.store(false, Ordering::SeqCst);
    let read = readers.await.context("the clients' task failed")?;
    emulator_stop.cancel();
    emulator_server
        .await
        .context("the emulator task failed")?
        .context("the emulator failed")?;
    let report = report.context("the ingest failed")?;
    let (_, busy) = read?;
    if report.failed != 0 || report.records != options.ingest_messages as u64 {
        bail!(
            "the ingest is incomplete: {} of {} records, {} failed",
            report.records,
            options.ingest_messages,
            report.failed
        );
    }
    let reads_for = busy.last_start.unwrap_or_default().min(elapsed);
    Ok((
        quiet,
        busy,
        Ingest {
            records: report.records,
            elapsed,
            reads_for,
        },
    ))
}

/// A phase's samples, when (from its start) its last counted request began, and how long it
/// took until every client was done.
struct Phase {
    samples: Samples,
    last_start: Option<Duration>,
    wall: Duration,
}

impl Phase {
    /// Requests answered per second over the phase.
    fn rate(&self) -> f64 {
        self.samples.count() as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Runs every client for up to `requests` requests each, stopping each when `go` turns false;
/// only requests started while `go` held are counted.
async fn run_clients(
    clients: Vec<Client>,
    requests: usize,
    go: Arc<AtomicBool>,
) -> anyhow::Result<(Vec<Client>, Phase)> {
    let phase_start = Instant::now();
    let mut tasks = JoinSet::new();
    for mut client in clients {
        let go = go.clone();
        tasks.spawn(async move {
            let mut samples = Samples::default();
            let mut last_start = None;
            for n in 0..requests {
                if !go.load(Ordering::SeqCst) {
                    break;
                }
                let kind = KINDS[(client.id + n) % KINDS.len()];
                let began = phase_start.elapsed();
                let micros = client.request(kind).await?;
                samples.micros[kind.index()].push(micros);
                last_start = Some(began);
            }
            Ok::<_, anyhow::Error>((client, samples, last_start))
        });
    }
    let mut clients = Vec::new();
    let mut phase = Phase {
        samples: Samples::default(),
        last_start: None,
        wall: Duration::ZERO,
    };
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined.context("a client task failed") {
            Ok(Ok((client, samples, last))) => {
                clients.push(client);
                phase.samples.merge(samples);
                phase.last_start = phase.last_start.max(last);
            }
            Ok(Err(e)) | Err(e) => {
                // Stop the others at once: the bench fails anyway.
                go.store(false, Ordering::SeqCst);
                first_error.get_or_insert(e);
            }
        }
    }
    phase.wall = phase_start.elapsed();
    match first_error {
        Some(e) => Err(e),
        None => Ok((clients, phase)),
    }
}

/// Where a client stands in the conversation it pages through.
#[derive(Debug, Clone)]
struct Position {
    key: String,
    before: Option<String>,
    after: Option<String>,
}

/// One signed-in client: its own connection pool and session.
struct Client {
    id: usize,
    http: reqwest::Client,
    corpus: Arc<Corpus>,
    cookie: String,
    rng: StdRng,
    at: Option<Position>,
    search_turn: usize,
}

impl Client {
    async fn sign_in(
        id: usize,
        corpus: Arc<Corpus>,
        user: &str,
        password: &str,
    ) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()?;
        let response = http
            .post(format!("{}/api/v1/session", corpus.base))
            .header(ORIGIN, &corpus.base)
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .context("sign-in request failed")?;
        let status = response.status();
        let token = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(&format!("{}=", wecom_api::SESSION_COOKIE)))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let body = response.bytes().await.context("sign-in answer")?;
        let Some(token) = token.filter(|t| !t.is_empty() && status == StatusCode::OK) else {
            bail!(
                "signing in as {user} failed: {status} {}",
                error_code(&body)
            );
        };
        Ok(Client {
            id,
            http,
            corpus,
            cookie: format!("{}={token}", wecom_api::SESSION_COOKIE),
            rng: StdRng::seed_from_u64(id as u64),
            at: None,
            search_turn: id,
        })
    }

    /// Makes one request of `kind`; its latency in microseconds (until the whole answer is read).
    async fn request(&mut self, kind: Kind) -> anyhow::Result<u64> {
        let corpus = self.corpus.clone();
        let base = &corpus.base;
        let (url, range, expected) = match kind {
            Kind::List => (
                format!("{base}/api/v1/conversations?limit=50"),
                None,
                StatusCode::OK,
            ),
            Kind::Page => (format!("{base}{}", self.next_page()), None, StatusCode::OK),
            Kind::Search => {
                let word = WORDS[self.search_turn % WORDS.len()];
                self.search_turn += 1;
                (
                    format!("{base}/api/v1/search?q={}", enc(word)),
                    None,
                    StatusCode::OK,
                )
            }
            Kind::Media => {
                let m = &self.corpus.media[self.rng.random_range(0..self.corpus.media.len())];
                let start = self.rng.random_range(0..m.size);
                let len = self.rng.random_range(1..=MAX_RANGE).min(m.size - start);
                (
                    format!("{base}/api/v1/media/{}", m.sha256),
                    Some((start, start + len - 1)),
                    StatusCode::PARTIAL_CONTENT,
                )
            }
        };
        let mut req = self.http.get(&url).header(COOKIE, &self.cookie);
        if let Some((a, b)) = range {
            req = req.header(RANGE, format!("bytes={a}-{b}"));
        }
        let shown = url.strip_prefix(base.as_str()).unwrap_or(&url).to_owned();
        let t = Instant::now();
        let response = req
            .send()
            .await
            .with_context(|| format!("GET {shown} failed"))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("reading the answer to GET {shown} failed"))?;
        let micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
        if status != expected {
            bail!(
                "GET {shown} answered {status} {} (expected {expected})",
                error_code(&body)
            );
        }
        match kind {
            Kind::Media => {
                let (a, b) = range.unwrap_or_default();
                if body.len() as u64 != b - a + 1 {
                    bail!(
                        "GET {shown} with Range bytes={a}-{b} returned {} bytes",
                        body.len()
                    );
                }
            }
            Kind::Page => {
                let window: Value = serde_json::from_slice(&body)
                    .with_context(|| format!("GET {shown}: the answer is not JSON"))?;
                self.moved_to(&window, &shown)?;
            }
            Kind::List | Kind::Search => {
                let answer: Value = serde_json::from_slice(&body)
                    .with_context(|| format!("GET {shown}: the answer is not JSON"))?;
                let field = if kind == Kind::List {
                    "conversations"
                } else {
                    "hits"
                };
                if !answer.get(field).is_some_and(Value::is_array) {
                    bail!("GET {shown}: the answer has no `{field}` list");
                }
            }
        }
        Ok(micros)
    }

    /// The next page to read: half the time a new random position (`around=` a random msgid),
    /// otherwise the page before or after the last one read (by its cursors).
    fn next_page(&mut self) -> String {
        let go_on = self.rng.random_bool(0.5);
        if go_on && let Some(at) = &self.at {
            let older = self.rng.random_bool(0.5);
            let cursor = match (&at.before, &at.after) {
                (Some(b), Some(a)) => Some(if older { ("before", b) } else { ("after", a) }),
                (Some(b), None) => Some(("before", b)),
                (None, Some(a)) => Some(("after", a)),
                (None, None) => None,
            };
            if let Some((dir, cursor)) = cursor {
                return format!(
                    "/api/v1/conversations/{}/messages?limit=50&{dir}={}",
                    enc(&at.key),
                    enc(cursor)
                );
            }
        }
        let (key, msgid) = &self.corpus.around[self.rng.random_range(0..self.corpus.around.len())];
        self.at = Some(Position {
            key: key.clone(),
            before: None,
            after: None,
        });
        format!(
            "/api/v1/conversations/{}/messages?limit=50&around={}",
            enc(key),
            enc(msgid)
        )
    }

    /// Keeps the cursors of a page just read.
    fn moved_to(&mut self, window: &Value, shown: &str) -> anyhow::Result<()> {
        let Some(messages) = window.get("messages").and_then(Value::as_array) else {
            bail!("GET {shown}: the answer has no `messages` list");
        };
        if messages.is_empty() {
            bail!("GET {shown}: an empty page");
        }
        // `MSGTIME:SEQ`, as the page gives it and the next request takes it.
        let cursor = |name: &str| window.get(name)?.as_str().map(str::to_owned);
        if let Some(at) = &mut self.at {
            at.before = cursor("before");
            at.after = cursor("after");
        }
        Ok(())
    }
}

/// The `code` of an error answer, or its first bytes.
fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned())
}

/// `s` percent-encoded for a URL path segment or query value (all but unreserved characters).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `(conversation, msgid)` of messages at random feed positions.
fn sample_messages(roles: &Roles) -> anyhow::Result<Vec<(String, String)>> {
    let head = roles.reader.feed_head(CORP)?;
    let mut rng = StdRng::seed_from_u64(11);
    let mut out = Vec::with_capacity(AROUND_SAMPLES);
    for _ in 0..AROUND_SAMPLES {
        let after = rng.random_range(0..head.max(1));
        if let Some(m) = roles.reader.feed(CORP, after, 1)?.into_iter().next() {
            out.push((m.conversation, m.msgid));
        }
    }
    if out.is_empty() {
        bail!("the archive has no message to page around");
    }
    Ok(out)
}

/// Stores an object for up to [`MEDIA_OBJECTS`] media jobs of the corpus and completes them.
async fn store_media(roles: &Roles, blobs: &dyn BlobStore) -> anyhow::Result<Vec<Media>> {
    let media = roles.media.clone();
    let jobs = wecom_store::blocking(move || {
        media.claim_media_jobs(CORP, now_ms(), i64::MIN, MEDIA_OBJECTS)
    })
    .await?;
    let mut rng = StdRng::seed_from_u64(5);
    let mut out = Vec::with_capacity(jobs.len());
    for job in jobs {
        let size = rng.random_range(64 * 1024..=2 * 1024 * 1024usize);
        let bytes = object_bytes(job.id, size);
        let mut writer = blobs.begin().await?;
        for chunk in bytes.chunks(512 * 1024) {
            writer.write_chunk(chunk).await?;
        }
        let stored = writer.finish(Expectations::default()).await?;
        let object = MediaObject {
            sha256: stored.sha256.to_string(),
            size: stored.size,
            md5: stored.md5.clone(),
            content_type: stored.content_type.to_owned(),
            backend: blobs.describe().kind.to_owned(),
            key: stored.key.clone(),
            area: MediaArea::Objects,
        };
        let queue = roles.media.clone();
        let done = wecom_store::blocking(move || {
            queue.complete_media_job(CORP, job.id, &object, now_ms())
        })
        .await?;
        if !done {
            bail!("media job {} could not be completed", job.id);
        }
        out.push(Media {
            sha256: stored.sha256.to_string(),
            size: stored.size,
        });
    }
    Ok(out)
}

/// A JPEG-looking object of `size` bytes, distinct for each `seed`.
fn object_bytes(seed: i64, size: usize) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    b.extend_from_slice(&seed.to_le_bytes());
    let mut x = seed as u64 ^ 0x9E37_79B9_7F4A_7C15;
    while b.len() < size {
        // xorshift: cheap bytes that do not compress to nothing.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.extend_from_slice(&x.to_le_bytes());
    }
    b.truncate(size);
    b
}

fn print_table(
    built: &super::bench_corpus::PlainArchive,
    corpus: &Corpus,
    options: &ApiBenchOptions,
    quiet_phase: &mut Phase,
    busy_phase: &mut Phase,
    ingest: &Ingest,
) {
    let (quiet_rate, busy_rate) = (quiet_phase.rate(), busy_phase.rate());
    let (quiet, busy) = (&mut quiet_phase.samples, &mut busy_phase.samples);
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2} ms"));
    println!();
    println!(
        "archive: {} messages built in {:.1}s; {} media objects; {} clients on loopback, each signed in, through the real server",
        thousands(built.records),
        built.total_secs,
        corpus.media.len(),
        options.clients
    );
    println!(
        "requests: quiet {} ({quiet_rate:.0}/s), during ingest {} ({busy_rate:.0}/s); each client cycles list, page, search, Range, up to {} per phase",
        thousands(quiet.count() as u64),
        thousands(busy.count() as u64),
        options.requests
    );
    println!();
    println!(
        "{:<24} {:>11} {:>11} {:>12} {:>12} {:>10}  target",
        "request", "quiet p50", "quiet p95", "ingest p50", "ingest p95", "p95 ratio"
    );
    for kind in KINDS {
        let (q50, q95) = (quiet.percentile(kind, 0.5), quiet.percentile(kind, 0.95));
        let (b50, b95) = (busy.percentile(kind, 0.5), busy.percentile(kind, 0.95));
        let ratio = match (b95, q95) {
            (Some(b), Some(q)) => format!("{:.2}", b / q.max(1e-3)),
            _ => "-".to_owned(),
        };
        let target = if kind.has_target() {
            match b95 {
                Some(b) if b <= TARGET_P95_MS => {
                    format!("p95 ≤ {TARGET_P95_MS:.0} ms during ingest: met")
                }
                Some(_) => format!("p95 ≤ {TARGET_P95_MS:.0} ms during ingest: MISSED"),
                None => format!("p95 ≤ {TARGET_P95_MS:.0} ms during ingest: no sample"),
            }
        } else {
            String::new()
        };
        println!(
            "{:<24} {:>11} {:>11} {:>12} {:>12} {:>10}  {target}",
            kind.label(),
            ms(q50),
            ms(q95),
            ms(b50),
            ms(b95),
            ratio
        );
    }
    println!();
    println!(
        "ingest beside the reads (same archive, corp {INGEST_CORP}): {} messages in {:.2}s = {:.0} messages/s; requests started during the first {:.2}s of it",
        thousands(ingest.records),
        ingest.elapsed.as_secs_f64(),
        ingest.records as f64 / ingest.elapsed.as_secs_f64().max(1e-9),
        ingest.reads_for.as_secs_f64()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_in_ms() {
        let mut s = Samples::default();
        s.micros[Kind::Page.index()] = (1..=100).rev().map(|v| v * 1000).collect();
        assert_eq!(s.percentile(Kind::Page, 0.5), Some(51.0));
        assert_eq!(s.percentile(Kind::Page, 0.95), Some(95.0));
        assert_eq!(s.percentile(Kind::List, 0.5), None);
    }

    #[test]
    fn encodes_keys_and_words_for_urls() {
        assert_eq!(enc("pair:alice|bob"), "pair%3Aalice%7Cbob");
        assert_eq!(enc("客户"), "%E5%AE%A2%E6%88%B7");
        assert_eq!(enc("1700000000000:42"), "1700000000000%3A42");
    }

    #[test]
    fn objects_have_the_size_asked_and_differ_by_seed() {
        let a = object_bytes(1, 100_000);
        let b = object_bytes(2, 100_000);
        assert_eq!(a.len(), 100_000);
        assert_ne!(a, b);
        assert_eq!(&a[..3], &[0xFF, 0xD8, 0xFF]);
    }
}
