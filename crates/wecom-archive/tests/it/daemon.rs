//! The daemon (`run`) end to end: callbacks wake a corp, metrics and readiness, SIGTERM, and kill -9
//! at random moments during live appending.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use wecom_callback::{CallbackCrypto, encrypted_envelope};

use crate::support::*;

const CB_TOKEN: &str = "QDG6eK";
const CB_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

/// A raw HTTP/1.0 exchange (the test needs no HTTP client crate).
pub(crate) fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    http_with(addr, method, path, "", body)
}

/// Like `http`, with extra header lines (each ending in `\r\n`).
fn http_with(addr: &str, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    // A hang guard, not a speed assertion.
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Starts `run` and returns the child with the address it listens on.
pub(crate) fn start_daemon(config: &std::path::Path, poll: u64) -> (Child, String) {
    start_daemon_on(config, poll, "127.0.0.1:0")
}

fn start_daemon_on(config: &std::path::Path, poll: u64, listen: &str) -> (Child, String) {
    let mut cmd = bin();
    cmd.arg("--config").arg(config).args([
        "run",
        "--listen",
        listen,
        "--poll-interval",
        &poll.to_string(),
    ]);
    spawn_daemon(cmd)
}

/// Starts `run` through `sh` with the open-file limit (soft and hard) lowered to `limit`.
fn start_daemon_with_fd_limit(config: &std::path::Path, poll: u64, limit: u32) -> (Child, String) {
    let mut cmd = std::process::Command::new("sh");
    for (k, _) in std::env::vars() {
        if k.starts_with("WECOM_ARCHIVE_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.arg("-c")
        .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_wecom-archive"))
        .arg("--config")
        .arg(config)
        .args([
            "run",
            "--listen",
            "127.0.0.1:0",
            "--poll-interval",
            &poll.to_string(),
        ]);
    spawn_daemon(cmd)
}

fn spawn_daemon(mut cmd: std::process::Command) -> (Child, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn daemon");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let addr = line.rsplit(' ').next().expect("address").trim().to_owned();
    assert!(
        addr.starts_with("127.0.0.1:"),
        "unexpected first line {line:?}"
    );
    (child, addr)
}

pub(crate) fn wait(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn records(db: &std::path::Path) -> usize {
    if !db.exists() {
        return 0;
    }
    archived_ids(db).len()
}

fn with_callback(config: &std::path::Path) {
    let text = std::fs::read_to_string(config).expect("config");
    let text = text.replacen(
        "timeout_secs = 5\n",
        &format!(
            "timeout_secs = 5\ncallback_token = \"{CB_TOKEN}\"\ncallback_aes_key = \"{CB_KEY}\"\n"
        ),
        1,
    );
    std::fs::write(config, text).expect("write config");
}

#[test]
fn the_live_emulator_calls_back_drops_some_and_the_daemon_ends_caught_up() {
    // A free port for the daemon, known before the emulator (which calls it) starts.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut cb = wecom_emulator::CallbackConfig::new(
        format!("http://{listen}/callback/{CORP}"),
        CB_TOKEN,
        CB_KEY,
    );
    cb.min_interval = Duration::from_millis(250);
    cb.drop_probability = 0.5;
    let emu = Arc::new(TestEmulator::start_with(33, 100, None, Some(cb)));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    with_callback(&config);
    let db = dir.path().join("archive.db");
    // Polling every 4 s: a dropped callback costs seconds, not data.
    let (mut daemon, addr) = start_daemon_on(&config, 4, &listen);
    wait(Duration::from_secs(30), "the initial sync", || {
        records(&db) == 100
    });
    for _ in 0..30 {
        emu.emulator.append(5);
        std::thread::sleep(Duration::from_millis(100));
    }
    let total = emu.emulator.len();
    wait(
        Duration::from_secs(30),
        "catching up with the live emulator",
        || records(&db) == total,
    );
    let (sent, dropped) = emu.emulator.callback_counts();
    assert!(sent >= 2 && dropped >= 1, "sent {sent}, dropped {dropped}");
    let (_, metrics) = http(&addr, "GET", "/metrics", "");
    assert!(metrics.contains(&format!("wecom_archive_callback_requests_total{{corp_id=\"{CORP}\",outcome=\"msgaudit_notify\"}}")), "{metrics}");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    assert!(daemon.wait().expect("wait").success());
    assert_eq!(archived_ids(&db), emu.expected_ids());
}

#[test]
fn a_callback_wakes_the_daemon_and_metrics_tell_the_state() {
    let emu = TestEmulator::start(31, 200, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text.replacen(
        "timeout_secs = 5\n",
        &format!(
            "timeout_secs = 5\ncallback_token = \"{CB_TOKEN}\"\ncallback_aes_key = \"{CB_KEY}\"\n"
        ),
        1,
    );
    std::fs::write(&config, text).expect("write config");
    let db = dir.path().join("archive.db");

    let (mut daemon, addr) = start_daemon(&config, 600);
    wait(Duration::from_secs(30), "the initial sync", || {
        records(&db) == 200
    });
    // Ready once the runner has seen the empty page that ends its catch-up.
    wait(Duration::from_secs(30), "readiness", || {
        http(&addr, "GET", "/readyz", "").0 == 200
    });

    // With the poll 10 minutes away, only the callback can bring these in.
    emu.emulator.append(30);
    let crypto = CallbackCrypto::new(CB_TOKEN, CB_KEY, CORP).expect("crypto");
    let event = format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><AgentID>2000004</AgentID><Event><![CDATA[msgaudit_notify]]></Event></xml>"
    );
    let encrypted = crypto.encrypt(event.as_bytes(), [9; 16]);
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        .to_string();
    let sig = crypto.signature(&ts, "42", &encrypted);
    let (status, _) = http(
        &addr,
        "POST",
        &format!("/callback/{CORP}?msg_signature={sig}&timestamp={ts}&nonce=42"),
        &encrypted_envelope(CORP, "2000004", &encrypted),
    );
    assert_eq!(status, 200);
    wait(
        Duration::from_secs(10),
        "the callback-triggered sync",
        || records(&db) == 230,
    );

    let (status, bad) = http(
        &addr,
        "POST",
        &format!("/callback/{CORP}?msg_signature=00&timestamp={ts}&nonce=42"),
        &encrypted_envelope(CORP, "1", &encrypted),
    );
    assert_eq!(status, 403, "{bad}");

    // The archive figures are refreshed off the request path after the sync (at most once a
    // second): wait for them, then check everything in one scrape.
    let records_line = format!("wecom_archive_records{{corp_id=\"{CORP}\"}} 230");
    wait(
        Duration::from_secs(30),
        "the figures after the sync",
        || http(&addr, "GET", "/metrics", "").1.contains(&records_line),
    );
    let (status, metrics) = http(&addr, "GET", "/metrics", "");
    assert_eq!(status, 200);
    for needle in [
        format!("wecom_archive_last_seq{{corp_id=\"{CORP}\"}} 230"),
        format!("wecom_archive_records{{corp_id=\"{CORP}\"}} 230"),
        format!(
            "wecom_archive_callback_requests_total{{corp_id=\"{CORP}\",outcome=\"msgaudit_notify\"}} 1"
        ),
        format!(
            "wecom_archive_callback_requests_total{{corp_id=\"{CORP}\",outcome=\"bad_signature\"}} 1"
        ),
        format!("wecom_archive_ready{{corp_id=\"{CORP}\"}} 1"),
        "wecom_archive_time_to_loss_seconds".to_owned(),
        format!("wecom_archive_media_jobs{{corp_id=\"{CORP}\",state=\"done\"}}"),
        "wecom_archive_records_by_type{".to_owned(),
        format!("wecom_archive_names{{corp_id=\"{CORP}\",kind=\"room\",state=\"unresolvable\"}}"),
        format!("wecom_archive_names{{corp_id=\"{CORP}\",kind=\"person\",state=\"named\"}}"),
    ] {
        assert!(metrics.contains(&needle), "missing {needle} in\n{metrics}");
    }

    let pid = daemon.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let started = Instant::now();
    let status = daemon.wait().expect("wait");
    assert!(
        status.success(),
        "SIGTERM must end the daemon cleanly: {status:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(archived_ids(&db), emu.expected_ids());
}

#[test]
fn kill_9_twenty_times_during_live_appending_loses_and_duplicates_nothing() {
    let emu = Arc::new(TestEmulator::start(32, 300, None));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "page_limit = 40\n");
    let db = dir.path().join("archive.db");
    let appending = Arc::new(AtomicBool::new(true));
    let appender = {
        let (emu, appending) = (emu.clone(), appending.clone());
        std::thread::spawn(move || {
            while appending.load(Ordering::SeqCst) {
                emu.emulator.append(7);
                std::thread::sleep(Duration::from_millis(60));
            }
        })
    };
    let mut rng = rand::rng();
    for _ in 0..20 {
        let (mut daemon, _) = start_daemon(&config, 1);
        std::thread::sleep(Duration::from_millis(rng.random_range(80..400)));
        daemon.kill().expect("kill -9");
        let _ = daemon.wait();
    }
    appending.store(false, Ordering::SeqCst);
    appender.join().expect("appender");
    assert!(records(&db) > 0);

    let (mut daemon, _) = start_daemon(&config, 1);
    let total = emu.emulator.len();
    wait(
        Duration::from_secs(60),
        "catching up after the kills",
        || records(&db) == total,
    );
    let pid = daemon.id().to_string();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    let _ = daemon.wait();
    assert_eq!(archived_ids(&db), emu.expected_ids());
    let s = stats(&config);
    assert_eq!(s["decrypted"].as_u64(), Some(total as u64));
    assert_eq!(s["distinct_msgids"].as_u64(), Some(total as u64));
}

#[test]
fn run_with_one_corp_down_keeps_the_other_in_sync_and_says_which_is_not_ready() {
    let emu = TestEmulator::start(52, 200, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_with_broken_corp(&emu, dir.path());
    let db = dir.path().join("archive.db");
    let (mut daemon, addr) = start_daemon(&config, 1);
    wait(
        Duration::from_secs(60),
        "the good corp archived in full",
        || db.exists() && archived_ids(&db) == emu.expected_ids(),
    );
    // The good corp is ready, the broken one is not, and /readyz says which.
    wait(Duration::from_secs(30), "the good corp ready", || {
        let (_, metrics) = http(&addr, "GET", "/metrics", "");
        metrics.contains(&format!("wecom_archive_ready{{corp_id=\"{CORP}\"}} 1"))
    });
    let (_, metrics) = http(&addr, "GET", "/metrics", "");
    assert!(
        metrics.contains(&format!(
            "wecom_archive_ready{{corp_id=\"{BROKEN_CORP}\"}} 0"
        )),
        "{metrics}"
    );
    let (status, body) = http(&addr, "GET", "/readyz", "");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(BROKEN_CORP), "{body}");
    // New records still reach the good corp while the other keeps failing.
    emu.emulator.append(25);
    wait(Duration::from_secs(30), "the appended records", || {
        archived_ids(&db) == emu.expected_ids()
    });
    let _ = daemon.kill();
    let _ = daemon.wait();
}

/// Appends a `[server]` section to the test configuration.
fn with_server(config: &std::path::Path, section: &str) {
    let text = std::fs::read_to_string(config).expect("config");
    std::fs::write(config, format!("{text}\n[server]\n{section}\n")).expect("write config");
}

#[test]
fn metrics_need_the_token_and_follow_every_sync_without_touching_the_archive_per_scrape() {
    let emu = TestEmulator::start(34, 120, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    // The timer refresh is an hour away: only the refresh after each sync can move the figures.
    with_server(
        &config,
        "metrics_token = \"metrics-s3cret\"\nmetrics_refresh_secs = 3600",
    );
    let db = dir.path().join("archive.db");
    let (mut daemon, addr) = start_daemon(&config, 1);
    let auth = "Authorization: Bearer metrics-s3cret\r\n";
    // Gauges are floats: `120.0`.
    let records_line = |n: usize| format!("wecom_archive_records{{corp_id=\"{CORP}\"}} {n}.0\n");
    wait(
        Duration::from_secs(60),
        "120 records in the metrics",
        || {
            let (status, m) = http_with(&addr, "GET", "/metrics", auth, "");
            assert_eq!(status, 200, "{m}");
            m.contains(&records_line(120))
        },
    );
    let (status, body) = http(&addr, "GET", "/metrics", "");
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("wecom_archive_records"), "{body}");
    let (status, _) = http_with(
        &addr,
        "GET",
        "/metrics",
        "Authorization: Bearer metrics-s3cre\r\n",
        "",
    );
    assert_eq!(status, 401);

    emu.emulator.append(30);
    let mut m = String::new();
    wait(
        Duration::from_secs(60),
        "150 records in the metrics",
        || {
            m = http_with(&addr, "GET", "/metrics", auth, "").1;
            m.contains(&records_line(150))
        },
    );
    assert_eq!(records(&db), 150);
    let last_seq = emu
        .expected_ids()
        .last()
        .map(|(seq, _)| *seq)
        .expect("records");
    assert!(
        m.contains(&format!(
            "wecom_archive_last_seq{{corp_id=\"{CORP}\"}} {last_seq}.0\n"
        )),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            "wecom_archive_figures_age_seconds{{corp_id=\"{CORP}\"}}"
        )),
        "{m}"
    );
    // Media downloads end after the sync: the workers' recorded results refresh the figures
    // (the timer is an hour away).
    let media_total = stats(&config)["media"]["total"]
        .as_u64()
        .expect("media total");
    assert!(media_total > 0);
    let done_line =
        format!("wecom_archive_media_jobs{{corp_id=\"{CORP}\",state=\"done\"}} {media_total}.0\n");
    wait(
        Duration::from_secs(60),
        "every media job done in the metrics",
        || {
            http_with(&addr, "GET", "/metrics", auth, "")
                .1
                .contains(&done_line)
        },
    );
    // Readiness needs no token, and says nothing about files.
    let (status, body) = http(&addr, "GET", "/readyz", "");
    assert_eq!(status, 200, "{body}");
    let _ = daemon.kill();
    let _ = daemon.wait();
}

#[test]
fn under_a_low_descriptor_limit_idle_connections_neither_silence_healthz_nor_stop_the_sync() {
    let emu = TestEmulator::start(35, 100, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    // Timeouts far away: only the connection cap can keep descriptors for the archive.
    with_server(
        &config,
        "header_timeout_secs = 600\nbody_timeout_secs = 600\nidle_timeout_secs = 600",
    );
    let db = dir.path().join("archive.db");
    let (mut daemon, addr) = start_daemon_with_fd_limit(&config, 1, 256);
    wait(Duration::from_secs(60), "the initial sync", || {
        records(&db) == 100
    });

    // More idle connections than the daemon has descriptors.
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    let (status, body) = http(&addr, "GET", "/healthz", "");
    assert_eq!((status, body.as_str()), (200, "ok"));

    // The sync keeps going: records and their media still reach the archive.
    emu.emulator.append(40);
    let total = emu.emulator.len();
    wait(Duration::from_secs(60), "the appended records", || {
        records(&db) == total
    });
    let (status, _) = http(&addr, "GET", "/healthz", "");
    assert_eq!(status, 200);
    drop(idle);
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert_eq!(archived_ids(&db), emu.expected_ids());
}

#[test]
fn run_serves_the_api_to_a_user_added_by_the_command_line() {
    let emu = TestEmulator::start(35, 80, None);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = emu.write_config(dir.path(), &[1], "");
    let mut add = bin();
    add.arg("--config")
        .arg(&config)
        .args([
            "user",
            "add",
            "olga",
            "--role",
            "auditor",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = add.spawn().expect("user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"an auditor's long password\n")
        .expect("password");
    assert!(child.wait().expect("user add").success());
    let (mut daemon, addr) = start_daemon(&config, 1);
    // Everything under /api/ needs a session; health does not.
    let (status, body) = http(&addr, "GET", "/api/v1/conversations", "");
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("\"unauthenticated\""), "{body}");
    assert_eq!(http(&addr, "GET", "/healthz", "").0, 200);
    // Sign in (with the server's own Origin), then read.
    let origin = format!("Origin: http://{addr}\r\nContent-Type: application/json\r\n");
    let mut s = TcpStream::connect(&addr).expect("connect");
    let body = r#"{"username":"olga","password":"an auditor's long password"}"#;
    write!(
        s,
        "POST /api/v1/session HTTP/1.0\r\nHost: {addr}\r\n{origin}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("read");
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    let token = answer
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: wecom_session="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned();
    let cookie = format!("Cookie: wecom_session={token}\r\n");
    wait(Duration::from_secs(60), "80 messages over the API", || {
        let (status, body) = http_with(&addr, "GET", "/api/v1/status", &cookie, "");
        assert_eq!(status, 200, "{body}");
        body.contains("\"records_total\":80")
    });
    let (status, body) = http_with(&addr, "GET", "/api/v1/conversations?limit=5", &cookie, "");
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("json");
    let first = list["conversations"][0]["key"]
        .as_str()
        .expect("a conversation");
    assert!(
        list["conversations"][0]["last_message"]["msgid"].is_string(),
        "{body}"
    );
    let key: String = first
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let (status, body) = http_with(
        &addr,
        "GET",
        &format!("/api/v1/conversations/{key}/messages?limit=3"),
        &cookie,
        "",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"messages\""), "{body}");
    // The look was audited, and the command line sees it.
    let out = run(&config, &["audit", "list", "--user", "olga", "--json"]);
    let log = stdout(&out);
    assert!(
        log.contains("session.create") && log.contains("conversation.open"),
        "{log}"
    );
    daemon.kill().expect("kill");
    daemon.wait().expect("wait");
}
