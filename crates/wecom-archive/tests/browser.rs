//! The web app in a real Chromium, driven over WebDriver (fantoccini → Debian's `chromedriver`),
//! against the binary itself: `wecom-archive demo` builds an emulator archive with the showcase
//! conversation (every message type, real media) and serves the app with its two demo logins.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them). The waits below are hang guards (a minute or
//! more), never timing assertions.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long any one wait may last before the test gives up (a hang guard).
const PATIENCE: Duration = Duration::from_secs(120);

/// The demo, serving: its URL and logins. Stopped (SIGTERM, then waited for) on drop.
struct Demo {
    child: Child,
    url: String,
    admin: (String, String),
    reviewer: (String, String),
    _dir: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_wecom-archive"))
            .args([
                "demo",
                "--messages",
                "400",
                "--listen",
                "127.0.0.1:0",
                "--dir",
            ])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start wecom-archive demo");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut url = None;
        let mut logins = Vec::new();
        let started = Instant::now();
        // Corpus, sync, media, names and search run first in a debug build: be patient.
        while url.is_none() || logins.len() < 2 {
            let left = Duration::from_secs(900).saturating_sub(started.elapsed());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(e) => {
                    let _ = child.kill();
                    panic!("the demo did not print its URL and logins: {e}");
                }
            };
            if let Some(rest) = line.strip_prefix("the web app: ") {
                url = rest
                    .split_whitespace()
                    .next()
                    .map(|u| u.trim_end_matches('/').to_owned());
            } else if url.is_some() {
                let words: Vec<&str> = line.split_whitespace().collect();
                if let [name, "password", password, ..] = words[..] {
                    logins.push((name.to_owned(), password.to_owned()));
                }
            }
        }
        let admin = logins
            .iter()
            .find(|l| l.0 == "demo-admin")
            .cloned()
            .expect("admin login");
        let reviewer = logins
            .iter()
            .find(|l| l.0 == "demo-reviewer")
            .cloned()
            .expect("reviewer login");
        Demo {
            child,
            url: url.expect("url"),
            admin,
            reviewer,
            _dir: dir,
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver on a free loopback port; killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: install Debian's `chromium` and `chromium-driver` (.ci/run does)"
            );
        }
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session (its own empty profile).
async fn browser(driver: &Driver, profile: &Path) -> Client {
    let args = json!([
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--mute-audio",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1366,900",
        format!("--user-data-dir={}", profile.display()),
    ]);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({"binary": CHROMIUM, "args": args}),
    );
    let started = Instant::now();
    loop {
        let attempt = ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await;
        match attempt {
            Ok(c) => return c,
            // chromedriver may not be listening yet.
            Err(e) if started.elapsed() < PATIENCE => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start a Chromium session: {e}"),
        }
    }
}

/// Polls `script` (a function body returning a value) until it returns something truthy.
async fn until(c: &Client, what: &str, script: &str) -> Value {
    let started = Instant::now();
    loop {
        let v = c.execute(script, vec![]).await.unwrap_or(Value::Null);
        let truthy = match &v {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::String(s) => !s.is_empty(),
            _ => true,
        };
        if truthy {
            return v;
        }
        assert!(started.elapsed() < PATIENCE, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn page(c: &Client) -> String {
    c.execute(
        "return document.body ? document.body.dataset.page : ''",
        vec![],
    )
    .await
    .expect("script")
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

async fn wait_page(c: &Client, name: &str) {
    until(
        c,
        &format!("page {name}"),
        &format!(
            "return document.readyState === 'complete' && document.body && document.body.dataset.page === '{name}'"
        ),
    )
    .await;
}

async fn sign_in(c: &Client, base: &str, login: &(String, String)) {
    submit_login(c, base, login).await;
    wait_page(c, "conversations").await;
}

async fn submit_login(c: &Client, base: &str, (name, password): &(String, String)) {
    c.goto(&format!("{base}/login")).await.expect("goto login");
    wait_page(c, "login").await;
    c.find(Locator::Css("#login input[name=username]"))
        .await
        .expect("username field")
        .send_keys(name)
        .await
        .expect("type");
    c.find(Locator::Css("#login input[name=password]"))
        .await
        .expect("password field")
        .send_keys(password)
        .await
        .expect("type");
    c.find(Locator::Css("#login button[type=submit]"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
}

async fn sign_out(c: &Client) {
    c.find(Locator::Css("#logout button, #logout [type=submit]"))
        .await
        .expect("sign-out button")
        .click()
        .await
        .expect("click");
    wait_page(c, "login").await;
}

/// Every conversation key the signed-in user may list (through the API, with the page's cookie).
async fn conversation_keys(c: &Client) -> Vec<String> {
    let v = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            (async () => {
              const keys = []; let offset = 0;
              for (;;) {
                const r = await fetch('/api/v1/conversations?limit=200&offset=' + offset);
                if (!r.ok) { done({error: r.status}); return; }
                const page = await r.json();
                for (const c of page.conversations) keys.push(c.key);
                if (page.next_offset == null) break;
                offset = page.next_offset;
              }
              done(keys);
            })().catch(e => done({error: String(e)}));"#,
            vec![],
        )
        .await
        .expect("fetch conversations");
    serde_json::from_value(v.clone()).unwrap_or_else(|_| panic!("conversation keys: {v}"))
}

/// A conversation key as one URL path segment.
fn segment(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Saves a screenshot of the page under the test's temp folder, and under `docs/screenshots/`
/// when `UPDATE_SCREENSHOTS=1`.
async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join(format!("{name}.png")), &png).expect("write");
    if std::env::var("UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&docs).expect("mkdir docs");
        std::fs::write(docs.join(format!("{name}.png")), &png).expect("write");
    }
}

/// The message types the showcase room holds: every message type the reference documents (switch
/// records are the user's own conversation, `switch:<user>`), and one no version knows.
const SHOWCASE_TYPES: &[&str] = &[
    "text",
    "image",
    "revoke",
    "agree",
    "disagree",
    "voice",
    "video",
    "card",
    "location",
    "emotion",
    "file",
    "link",
    "weapp",
    "chatrecord",
    "mixed",
    "todo",
    "vote",
    "collect",
    "redpacket",
    "external_redpacket",
    "meeting",
    "docmsg",
    "markdown",
    "news",
    "calendar",
    "qydiskfile",
    "sphfeed",
    "voiptext",
    "meeting_voice_call",
    "voip_doc_share",
    "switch",
    wecom_emulator::SHOWCASE_UNKNOWN_MSGTYPE,
];

/// The showcase conversation: every message type renders, none known as raw JSON; an image
/// loads; a voice message plays; a video seeks; script in a message stays text.
async fn showcase(c: &Client, base: &str) {
    let key = format!("room:{}", wecom_emulator::SHOWCASE_ROOM);
    c.goto(&format!("{base}/conversations/{}", segment(&key)))
        .await
        .expect("goto showcase");
    wait_page(c, "transcript").await;
    // Every message of the showcase room, as the API lists it, is on the page; only the type no
    // version knows is shown as raw JSON.
    let listed = api_messages(c, &key).await;
    assert!(
        listed.len() >= 30,
        "the showcase room holds {} messages",
        listed.len()
    );
    check_rendered(c, &listed).await;

    // Every message type of the reference (some live outside the room: consent in the pair,
    // calls without a room, switch records under their user) is rendered where it lives.
    let mut all = Vec::new();
    for k in conversation_keys(c).await {
        for (t, id) in api_messages(c, &k).await {
            all.push((k.clone(), t, id));
        }
    }
    for expected in SHOWCASE_TYPES {
        let Some((k, t, id)) = all.iter().find(|(_, t, _)| t == expected) else {
            panic!("the demo archive has no {expected} message");
        };
        if *k == key {
            continue;
        }
        c.goto(&format!(
            "{base}/conversations/{}?around={}",
            segment(k),
            segment(id)
        ))
        .await
        .expect("goto");
        wait_page(c, "transcript").await;
        check_rendered(c, &[(t.clone(), id.clone())]).await;
    }
    c.goto(&format!("{base}/conversations/{}", segment(&key)))
        .await
        .expect("goto showcase");
    wait_page(c, "transcript").await;

    // An image has loaded (scrolled into view first: images load lazily).
    let loaded = until(
        c,
        "an image to load",
        "const i = document.querySelector('img.msg-image'); if (!i) return false; \
         i.scrollIntoView({block: 'center'}); return i.complete && i.naturalWidth > 0 ? i.naturalWidth : false;",
    )
    .await;
    assert!(loaded.as_f64().unwrap_or(0.0) > 0.0);
    screenshot(c, "transcript").await;

    // A voice message plays: its WAV rendition has a duration and reaches `playing`.
    let voice = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            const a = document.querySelector('audio.msg-voice');
            if (!a) { done({error: 'no audio.msg-voice'}); return; }
            a.scrollIntoView({block: 'center'});
            a.muted = true;
            a.addEventListener('playing', () => done({playing: true, duration: a.duration}), {once: true});
            a.addEventListener('error', () => done({error: 'media error ' + (a.error && a.error.code)}), {once: true});
            a.play().catch(e => done({error: String(e)}));"#,
            vec![],
        )
        .await
        .expect("play voice");
    assert_eq!(voice["playing"], json!(true), "voice: {voice}");
    assert!(
        voice["duration"].as_f64().unwrap_or(0.0) > 0.0,
        "voice: {voice}"
    );

    // A video seeks.
    let video = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            const v = document.querySelector('video.msg-video');
            if (!v) { done({error: 'no video.msg-video'}); return; }
            v.scrollIntoView({block: 'center'});
            v.muted = true;
            v.addEventListener('error', () => done({error: 'media error ' + (v.error && v.error.code)}), {once: true});
            const seek = () => {
              const to = Math.min(2, v.duration / 2);
              v.addEventListener('seeked', () => done({at: v.currentTime, to: to, duration: v.duration}), {once: true});
              v.currentTime = to;
            };
            if (v.readyState >= 1) seek(); else { v.addEventListener('loadedmetadata', seek, {once: true}); v.load(); }"#,
            vec![],
        )
        .await
        .expect("seek video");
    let (at, to) = (
        video["at"].as_f64().unwrap_or(-1.0),
        video["to"].as_f64().unwrap_or(-2.0),
    );
    assert!(to > 0.0 && (at - to).abs() < 0.5, "video: {video}");

    // Script in a message is text: it is shown, it never ran, and no dialog opened.
    let shown = c
        .execute(
            "return Array.from(document.querySelectorAll('article.msg')).some(a => \
             a.textContent.includes('<script>alert(1)</script>')) && \
             Array.from(document.querySelectorAll('article.msg')).some(a => \
             a.textContent.includes('onerror=alert(1)'))",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(shown, json!(true), "the script messages are shown as text");
    assert!(
        c.get_alert_text().await.is_err(),
        "a dialog opened: a message's script ran"
    );
    let injected = c
        .execute(
            "return document.querySelectorAll('article.msg script, article.msg img[onerror]').length",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(injected, json!(0));
}

/// `(msgtype, msgid)` of every message of conversation `key`, as the API lists them
/// (`switch` for switch records).
async fn api_messages(c: &Client, key: &str) -> Vec<(String, String)> {
    let v = c
        .execute_async(
            &format!(
                r#"const done = arguments[arguments.length - 1];
                (async () => {{
                  const out = []; let q = 'from=start';
                  for (;;) {{
                    const r = await fetch('/api/v1/conversations/{}/messages?limit=200&' + q);
                    if (!r.ok) {{ done({{error: r.status}}); return; }}
                    const w = await r.json();
                    for (const m of w.messages) out.push([m.msgtype || 'switch', m.msgid]);
                    if (w.after == null || w.messages.length === 0) break;
                    q = 'after=' + encodeURIComponent(w.after);
                  }}
                  done(out);
                }})().catch(e => done({{error: String(e)}}));"#,
                segment(key)
            ),
            vec![],
        )
        .await
        .expect("list messages");
    serde_json::from_value(v.clone()).unwrap_or_else(|_| panic!("messages of {key}: {v}"))
}

/// Each of `messages` is on the page as an `article.msg` of its type; only the type no version
/// knows shows raw JSON.
async fn check_rendered(c: &Client, messages: &[(String, String)]) {
    let rendered = c
        .execute(
            "return Array.from(document.querySelectorAll('article.msg')).map(a => \
             [a.dataset.type, a.dataset.msgid, a.querySelector('pre.raw-json') !== null])",
            vec![],
        )
        .await
        .expect("messages");
    let rendered: Vec<(String, String, bool)> =
        serde_json::from_value(rendered).expect("message list");
    for (msgtype, msgid) in messages {
        let Some((shown_type, _, raw)) = rendered.iter().find(|(_, id, _)| id == msgid) else {
            panic!("message {msgid} ({msgtype}) is not on the page");
        };
        assert_eq!(shown_type, msgtype, "{msgid}");
        let known = msgtype != wecom_emulator::SHOWCASE_UNKNOWN_MSGTYPE;
        assert_eq!(
            *raw, !known,
            "{msgtype} ({msgid}): raw JSON shown = {raw}, but the type is known = {known}"
        );
    }
}

/// Search a two-character Chinese word, open a hit: the transcript shows the message highlighted
/// and in view.
async fn search(c: &Client, base: &str) {
    c.goto(&format!("{base}/search"))
        .await
        .expect("goto search");
    wait_page(c, "search").await;
    let q = c
        .find(Locator::Css("#search input[name=q]"))
        .await
        .expect("query field");
    q.send_keys("合同").await.expect("type");
    q.send_keys("\u{E007}").await.expect("enter");
    until(
        c,
        "search hits",
        "return document.querySelectorAll('a.hit').length",
    )
    .await;
    let marked = c
        .execute(
            "return Array.from(document.querySelectorAll('mark')).some(m => m.textContent.includes('合同'))",
            vec![],
        )
        .await
        .expect("marks");
    assert_eq!(marked, json!(true), "the hits mark the word");
    screenshot(c, "search").await;
    c.find(Locator::Css("a.hit"))
        .await
        .expect("a hit")
        .click()
        .await
        .expect("click");
    wait_page(c, "transcript").await;
    let landed = until(
        c,
        "the highlighted message in view",
        "const m = document.querySelector('article.msg.highlight'); if (!m) return false; \
         const r = m.getBoundingClientRect(); \
         return r.bottom > 0 && r.top < window.innerHeight ? m.textContent : false;",
    )
    .await;
    assert!(
        landed.as_str().unwrap_or_default().contains("合同"),
        "the highlighted message holds the word: {landed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_in_chromium() {
    let demo = Demo::start();
    let driver = Driver::start();
    let profile = tempfile::tempdir().expect("profile");
    let c = browser(&driver, profile.path()).await;
    let base = demo.url.clone();

    // Signing in: a wrong password is refused with a message, the right one lands on the list.
    c.goto(&format!("{base}/conversations"))
        .await
        .expect("goto");
    wait_page(&c, "login").await;
    screenshot(&c, "login").await;
    submit_login(
        &c,
        &base,
        &(demo.admin.0.clone(), "not the password".to_owned()),
    )
    .await;
    until(
        &c,
        "the sign-in error",
        "return document.body.dataset.page === 'login' && document.querySelector('.alert[role=alert]') !== null",
    )
    .await;
    sign_in(&c, &base, &demo.admin).await;
    screenshot(&c, "conversations").await;
    let admin_keys = conversation_keys(&c).await;
    assert!(!admin_keys.is_empty());

    showcase(&c, &base).await;
    search(&c, &base).await;

    c.goto(&format!("{base}/status")).await.expect("status");
    wait_page(&c, "status").await;
    screenshot(&c, "status").await;
    c.goto(&format!("{base}/admin/users")).await.expect("users");
    wait_page(&c, "users").await;
    screenshot(&c, "users").await;
    sign_out(&c).await;

    // A reviewer: a conversation outside its scope is a 404 page, and the audit log shows it.
    sign_in(&c, &base, &demo.reviewer).await;
    let reviewer_keys = conversation_keys(&c).await;
    assert!(
        !reviewer_keys.is_empty(),
        "the reviewer's department has conversations"
    );
    let outside = admin_keys
        .iter()
        .find(|k| !reviewer_keys.contains(k))
        .expect("a conversation outside the reviewer's scope");
    c.goto(&format!("{base}/conversations/{}", segment(outside)))
        .await
        .expect("goto outside");
    wait_page(&c, "not-found").await;
    assert_eq!(page(&c).await, "not-found");
    c.goto(&format!("{base}/admin/users"))
        .await
        .expect("admin page");
    wait_page(&c, "not-found").await;
    sign_out(&c).await;

    sign_in(&c, &base, &demo.admin).await;
    c.goto(&format!(
        "{base}/admin/audit?user=demo-reviewer&action=conversation.open"
    ))
    .await
    .expect("audit");
    wait_page(&c, "audit").await;
    let text = c
        .execute("return document.body.innerText", vec![])
        .await
        .expect("text");
    let text = text.as_str().unwrap_or_default();
    assert!(
        text.lines()
            .any(|l| l.contains("demo-reviewer") && l.contains(outside.as_str())),
        "the audit page lists the reviewer's attempt on {outside}:\n{text}"
    );
    screenshot(&c, "audit").await;
    c.close().await.expect("close");
}
