//! `bench web`: how fast the web app's pages paint in a real browser on a large archive — the
//! transcript around a random message and a search result page, each loaded 20 times (by default)
//! in headless Chromium driven over WebDriver, timed by the browser's own Navigation Timing and
//! Paint Timing — against the sign-in page (no archive read) measured the same way in the same run.

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use wecom_api::{ApiConfig, ApiCorp, ApiState};
use wecom_search::{Indexer, IndexerOptions, SearchIndex, Searcher};
use wecom_server::ServerConfig;
use wecom_store::{NewUser, Role, Scope, StoreLocation};
use wecom_wire::clock::now_ms;

use super::bench_corpus::build_plain_archive;
use super::{runtime, thousands};

const CORP: &str = "wwbench0000000005";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The target for the p95 of the first paint of a transcript and of a search page.
const TARGET_P95_MS: f64 = 300.0;
/// Two-character words the corpus uses, searched in turn.
const WORDS: &[&str] = &[
    "合同", "客户", "项目", "会议", "报价", "发票", "方案", "付款",
];

pub struct WebBenchOptions {
    pub messages: usize,
    pub loads: usize,
}

/// One page load as the browser timed it (ms from navigation start).
#[derive(Debug, Clone, Copy)]
struct Load {
    /// The first byte of the answer.
    response_start: f64,
    /// The first contentful paint.
    first_paint: f64,
    /// `DOMContentLoaded` handlers done.
    dom_content_loaded: f64,
    /// The `load` event done (images and scripts included).
    load: f64,
}

pub fn web(options: WebBenchOptions) -> anyhow::Result<ExitCode> {
    if options.messages == 0 || options.loads == 0 {
        bail!("--messages and --loads must each be at least 1");
    }
    for tool in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(tool).exists() {
            bail!(
                "{tool} is missing: install Debian's `chromium` and `chromium-driver` (apt-get install chromium chromium-driver)"
            );
        }
    }
    let dir = tempfile::tempdir().context("cannot make a temporary folder")?;
    let path = dir.path().join("archive.db");
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
    let index = SearchIndex::open_or_create(&dir.path().join("search").join(CORP), CORP)?;
    let indexer = Indexer::open(
        index.clone(),
        roles.reader.clone(),
        IndexerOptions::default(),
    )?;
    indexer.catch_up(&CancellationToken::new(), &mut |_| {})?;
    indexer.finish()?;
    let searcher = Arc::new(Searcher::open(index, roles.reader.clone())?);

    // Random messages to open the transcript around.
    let head = roles.reader.feed_head(CORP)?;
    let mut rng = StdRng::seed_from_u64(15);
    let mut around = Vec::new();
    while around.len() < options.loads {
        let after = rng.random_range(0..head.max(1));
        match roles.reader.feed(CORP, after, 1)?.into_iter().next() {
            Some(m) => around.push((m.conversation, m.msgid)),
            None if head == 0 => bail!("the archive has no message"),
            None => {}
        }
    }
    let password = wecom_accounts::SessionToken::generate().token;
    roles.accounts.create_user(
        &NewUser {
            username: "bench-admin".to_owned(),
            password_hash: wecom_accounts::hash_password(&password)?,
            role: Role::Admin,
            corps: vec![CORP.to_owned()],
            scope: Scope::default(),
        },
        now_ms(),
    )?;

    runtime()?.block_on(async {
        let state = ApiState::new(
            ApiConfig::default(),
            roles.accounts.clone(),
            roles.audit.clone(),
            vec![ApiCorp {
                corp_id: CORP.to_owned(),
                reader: roles.reader.clone(),
                search: Some(searcher),
                blobs: None,
            }],
            None,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let stop = CancellationToken::new();
        let server = {
            let router = wecom_api::router(state.clone()).merge(wecom_web::router(state));
            let shutdown = stop.clone().cancelled_owned();
            let config = ServerConfig::default();
            tokio::spawn(async move { wecom_server::serve(listener, router, &config, shutdown).await })
        };
        let driver = Chromedriver::start()?;
        let profile = tempfile::tempdir().context("cannot make a browser profile folder")?;
        let outcome = measure(&driver, profile.path(), &base, &password, &around, &options).await;
        stop.cancel();
        server
            .await
            .context("the server task failed")?
            .context("the server failed")?;
        let (login, transcript, search) = outcome?;
        println!();
        println!(
            "archive: {} messages built in {:.1}s; headless Chromium {} on loopback, {} loads of each page, one after another, release build",
            thousands(built.records),
            built.total_secs,
            chromium_version(),
            options.loads
        );
        println!();
        println!("| page | first paint p50 / p95 | load event p50 / p95 | first byte p95 | p95 paint vs sign-in page |");
        println!("|---|---|---|---|---|");
        let base_p95 = percentile(&login, |l| l.first_paint, 95.0);
        for (name, loads) in [
            ("sign-in page (no archive read; the baseline)", &login),
            ("transcript around a random message", &transcript),
            ("search results (two-character word)", &search),
        ] {
            let p95 = percentile(loads, |l| l.first_paint, 95.0);
            println!(
                "| {name} | {:.0} / {:.0} ms | {:.0} / {:.0} ms | {:.0} ms | {:.2} |",
                percentile(loads, |l| l.first_paint, 50.0),
                p95,
                percentile(loads, |l| l.load, 50.0),
                percentile(loads, |l| l.load, 95.0),
                percentile(loads, |l| l.response_start, 95.0),
                p95 / base_p95.max(0.001),
            );
        }
        let dcl = percentile(&transcript, |l| l.dom_content_loaded, 95.0);
        println!();
        println!("transcript DOMContentLoaded p95: {dcl:.0} ms");
        for (name, loads) in [("transcript", &transcript), ("search", &search)] {
            let p95 = percentile(loads, |l| l.first_paint, 95.0);
            println!(
                "target {name} first paint p95 ≤ {TARGET_P95_MS:.0} ms: {}",
                if p95 <= TARGET_P95_MS { "met" } else { "MISSED" }
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

type Measured = (Vec<Load>, Vec<Load>, Vec<Load>);

async fn measure(
    driver: &Chromedriver,
    profile: &Path,
    base: &str,
    password: &str,
    around: &[(String, String)],
    options: &WebBenchOptions,
) -> anyhow::Result<Measured> {
    let c = driver.session(profile).await?;
    let result = async {
        println!("signing in …");
        c.goto(&format!("{base}/login")).await?;
        c.find(Locator::Css("#login input[name=username]"))
            .await?
            .send_keys("bench-admin")
            .await?;
        c.find(Locator::Css("#login input[name=password]"))
            .await?
            .send_keys(password)
            .await?;
        c.find(Locator::Css("#login button[type=submit]"))
            .await?
            .click()
            .await?;
        wait_for_page(&c, "conversations").await?;
        // One load of each page first, so the figures are of a warm server and browser.
        timed(&c, &format!("{base}/login?warm=1"), "login").await?;
        let (k, m) = &around[0];
        timed(&c, &transcript_url(base, k, m), "transcript").await?;
        timed(&c, &format!("{base}/search?q={}", enc(WORDS[0])), "search").await?;
        println!("loading each page {} times …", options.loads);
        let mut login = Vec::new();
        let mut transcript = Vec::new();
        let mut search = Vec::new();
        for i in 0..options.loads {
            let (key, msgid) = &around[i % around.len()];
            transcript.push(timed(&c, &transcript_url(base, key, msgid), "transcript").await?);
            let word = WORDS[i % WORDS.len()];
            search.push(timed(&c, &format!("{base}/search?q={}", enc(word)), "search").await?);
        }
        // The sign-in page is what a signed-out browser sees: sign out first.
        c.goto(&format!("{base}/conversations")).await?;
        c.find(Locator::Css("#logout button, #logout [type=submit]"))
            .await?
            .click()
            .await?;
        wait_for_page(&c, "login").await?;
        for i in 0..options.loads {
            login.push(timed(&c, &format!("{base}/login?n={i}"), "login").await?);
        }
        anyhow::Ok((login, transcript, search))
    }
    .await;
    let _ = c.close().await;
    result
}

fn transcript_url(base: &str, key: &str, msgid: &str) -> String {
    format!("{base}/conversations/{}?around={}", enc(key), enc(msgid))
}

/// Loads `url`, waits for the page to be `page` and loaded, and reads the browser's timings.
async fn timed(c: &Client, url: &str, page: &str) -> anyhow::Result<Load> {
    c.goto(url).await?;
    wait_for_page(c, page).await?;
    let started = Instant::now();
    loop {
        let v = c
            .execute(
                "const n = performance.getEntriesByType('navigation')[0]; \
                 const p = performance.getEntriesByName('first-contentful-paint')[0]; \
                 if (!n || !p || n.loadEventEnd === 0) return null; \
                 return {rs: n.responseStart, fcp: p.startTime, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd};",
                vec![],
            )
            .await?;
        if let Value::Object(o) = &v {
            let f = |k: &str| o.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
            return Ok(Load {
                response_start: f("rs"),
                first_paint: f("fcp"),
                dom_content_loaded: f("dcl"),
                load: f("load"),
            });
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("{url}: the browser gave no navigation or paint timing");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_page(c: &Client, page: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let v = c
            .execute(
                "return document.readyState === 'complete' && document.body ? document.body.dataset.page : ''",
                vec![],
            )
            .await?;
        if v.as_str() == Some(page) {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the browser did not show the {page} page (it shows {v})");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Nearest-rank percentile of `f` over `loads`.
fn percentile(loads: &[Load], f: impl Fn(&Load) -> f64, p: f64) -> f64 {
    let mut v: Vec<f64> = loads.iter().map(f).collect();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn chromium_version() -> String {
    Command::new(CHROMIUM)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "(version unknown)".to_owned())
}

/// chromedriver on a free loopback port, killed when dropped.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    fn start() -> anyhow::Result<Chromedriver> {
        let port = StdListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start chromedriver")?;
        Ok(Chromedriver { child, port })
    }

    /// A headless Chromium with an empty profile in `profile`.
    async fn session(&self, profile: &Path) -> anyhow::Result<Client> {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--window-size=1366,900", format!("--user-data-dir={}", profile.display()),
            ]}),
        );
        let started = Instant::now();
        loop {
            let attempt = ClientBuilder::rustls()
                .context("cannot set up the WebDriver client")?
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{}", self.port))
                .await;
            match attempt {
                Ok(c) => return Ok(c),
                Err(_) if started.elapsed() < Duration::from_secs(60) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e).context("cannot start a Chromium session"),
            }
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(fcp: f64) -> Load {
        Load {
            response_start: 0.0,
            first_paint: fcp,
            dom_content_loaded: 0.0,
            load: 0.0,
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let loads: Vec<Load> = (1..=20).map(|i| load(f64::from(i))).collect();
        assert_eq!(percentile(&loads, |l| l.first_paint, 95.0), 19.0);
        assert_eq!(percentile(&loads, |l| l.first_paint, 50.0), 10.0);
        assert!(percentile(&[], |l| l.first_paint, 95.0).is_nan());
    }

    #[test]
    fn urls_encode_keys_and_words() {
        assert_eq!(enc("pair:a|b"), "pair%3Aa%7Cb");
        assert_eq!(enc("合"), "%E5%90%88");
    }
}
