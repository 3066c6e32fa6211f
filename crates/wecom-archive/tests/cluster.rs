//! Three `run` nodes on one PostgreSQL archive, the emulator appending live and calling one node
//! back: the node holding the corp is killed (-9) ten times at random moments, one holder is paused
//! (SIGSTOP) past its lease and resumed, and PostgreSQL is restarted once. The archive must end
//! equal to the emulator's records — no hole, no duplicate, a gapless change feed, every media job
//! settled once — and the takeover times are printed.
//!
//! A test binary of its own: restarting PostgreSQL must not break other tests that use it at the
//! same time. It needs the machine's PostgreSQL (`WECOM_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/test`), which `.ci/run` starts; the restart uses
//! `pg_ctlcluster` (root, as CI runs).

#[path = "it/support.rs"]
#[allow(dead_code)]
mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;
use support::{CORP, TestEmulator, bin};

const CB_TOKEN: &str = "QDG6eK";
const CB_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const LEASE_SECS: u64 = 3;

fn test_url() -> String {
    std::env::var("WECOM_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn client() -> postgres::Client {
    postgres::Client::connect(&test_url(), postgres::NoTls).expect("connect to PostgreSQL")
}

/// A query that survives the database restart: retried until it answers.
fn query_retrying<T>(
    what: &str,
    mut f: impl FnMut(&mut postgres::Client) -> Result<T, postgres::Error>,
) -> T {
    let started = Instant::now();
    loop {
        let result =
            postgres::Client::connect(&test_url(), postgres::NoTls).and_then(|mut c| f(&mut c));
        match result {
            Ok(v) => return v,
            Err(e) => {
                assert!(started.elapsed() < Duration::from_secs(60), "{what}: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

/// The test's schema, dropped at the end.
struct Schema(String);

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&test_url(), postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.0));
        }
    }
}

/// One `run` process: its folder (configuration, keys, search index), its address and stderr log.
struct Node {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Node {
    fn start(config: &Path, listen: &str, log: PathBuf) -> Node {
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut child = bin()
            .arg("--config")
            .arg(config)
            .args(["run", "--listen", listen, "--poll-interval", "2"])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn run");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let addr = line.rsplit(' ').next().expect("address").trim().to_owned();
        assert!(
            addr.starts_with("127.0.0.1:"),
            "unexpected first line {line:?}: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        Node { child, addr, log }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn signal(&self, sig: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{sig}");
    }
}

/// The node holding the corp's lease now (unexpired), as (holder name, token).
fn holder(schema: &str) -> Option<(String, i64)> {
    query_retrying("reading the lease", |c| {
        let row = c.query_opt(
            &format!(
                "SELECT holder, token FROM \"{schema}\".corp_leases \
                 WHERE corp_id = $1 AND expires_at > now()"
            ),
            &[&CORP],
        )?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    })
}

fn wait(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

fn records(schema: &str) -> i64 {
    query_retrying("counting records", |c| {
        c.query_one(
            &format!("SELECT count(*) FROM \"{schema}\".records WHERE corp_id = $1"),
            &[&CORP],
        )
        .map(|r| r.get(0))
    })
}

/// Which node a holder name (`<host>-<pid>`) is.
fn node_of(nodes: &[Node], holder: &str) -> Option<usize> {
    nodes
        .iter()
        .position(|n| holder.ends_with(&format!("-{}", n.pid())))
}

#[test]
fn three_nodes_keep_one_archive_exact_through_kills_a_pause_and_a_database_restart() {
    let schema = Schema(format!(
        "t_cluster_{}_{}",
        std::process::id(),
        support::now_ms()
    ));
    // Node 0 answers the callbacks; its port is known before the emulator (which calls it) starts.
    let ports: Vec<u16> = (0..3)
        .map(|_| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("port")
                .port()
        })
        .collect();
    let mut cb = wecom_emulator::CallbackConfig::new(
        format!("http://127.0.0.1:{}/callback/{CORP}", ports[0]),
        CB_TOKEN,
        CB_KEY,
    );
    cb.min_interval = Duration::from_millis(250);
    let emu = Arc::new(TestEmulator::start_with(61, 300, None, Some(cb)));
    let top = tempfile::tempdir().expect("tempdir");
    let media = top.path().join("media");
    // One folder per node (its own search index), every node on the same archive and media.
    let configs: Vec<PathBuf> = (0..3)
        .map(|i| {
            let dir = top.path().join(format!("node{i}"));
            std::fs::create_dir_all(&dir).expect("node dir");
            let config = emu.write_config(&dir, &[1], "page_limit = 40\n");
            let text = std::fs::read_to_string(&config).expect("config");
            let text = text
                .replacen(
                    "[archive]\npath = \"archive.db\"\n",
                    &format!(
                        "[archive]\nurl = \"{}\"\nschema = \"{}\"\nlease_secs = {LEASE_SECS}\n",
                        test_url(),
                        schema.0
                    ),
                    1,
                )
                .replacen(
                    "[media]\ndir = \"media\"\n",
                    &format!("[media]\ndir = \"{}\"\n", media.display()),
                    1,
                )
                .replacen(
                    "timeout_secs = 5\n",
                    &format!(
                        "timeout_secs = 5\ncallback_token = \"{CB_TOKEN}\"\ncallback_aes_key = \"{CB_KEY}\"\n"
                    ),
                    1,
                );
            std::fs::write(&config, text).expect("write config");
            config
        })
        .collect();
    let start = |i: usize, generation: usize| {
        Node::start(
            &configs[i],
            &format!("127.0.0.1:{}", ports[i]),
            top.path().join(format!("node{i}.{generation}.log")),
        )
    };
    let mut nodes: Vec<Node> = (0..3).map(|i| start(i, 0)).collect();
    let appending = Arc::new(AtomicBool::new(true));
    let appender = {
        let (emu, appending) = (emu.clone(), appending.clone());
        std::thread::spawn(move || {
            while appending.load(Ordering::SeqCst) {
                emu.emulator.append(7);
                std::thread::sleep(Duration::from_millis(80));
            }
        })
    };
    let mut rng = rand::rng();
    let mut takeovers = Vec::new();
    let limit = Duration::from_secs(60);
    for round in 0..10 {
        let mut current = None;
        wait(limit, "a node holding the corp", || {
            current = holder(&schema.0).and_then(|(h, t)| node_of(&nodes, &h).map(|i| (i, t)));
            current.is_some()
        });
        let (victim, token) = current.expect("holder");
        std::thread::sleep(Duration::from_millis(rng.random_range(100..1500)));
        nodes[victim].child.kill().expect("kill -9");
        let _ = nodes[victim].child.wait();
        let taken = wait(limit, "another node taking the corp over", || {
            holder(&schema.0)
                .is_some_and(|(h, t)| t > token && node_of(&nodes, &h).is_some_and(|i| i != victim))
        });
        takeovers.push(taken);
        nodes[victim] = start(victim, round + 1);
        if round == 4 {
            // PostgreSQL restarts once, mid-run.
            let version = std::fs::read_dir("/etc/postgresql")
                .expect("/etc/postgresql")
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .next()
                .expect("a PostgreSQL cluster");
            let status = std::process::Command::new("pg_ctlcluster")
                .args(["--skip-systemctl-redirect", &version, "main", "restart"])
                .status()
                .expect("pg_ctlcluster");
            assert!(status.success(), "restarting PostgreSQL");
        }
    }

    // Pause the holder past its lease; another node takes over; the paused one, resumed, must not
    // commit (its fencing token is stale) and stands by.
    let mut current = None;
    wait(limit, "a node holding the corp", || {
        current = holder(&schema.0).and_then(|(h, t)| node_of(&nodes, &h).map(|i| (i, t)));
        current.is_some()
    });
    let (paused, token) = current.expect("holder");
    let before = records(&schema.0);
    nodes[paused].signal("STOP");
    let taken = wait(limit, "a takeover from the paused node", || {
        holder(&schema.0)
            .is_some_and(|(h, t)| t > token && node_of(&nodes, &h).is_some_and(|i| i != paused))
    });
    takeovers.push(taken);
    wait(limit, "the new holder committing", || {
        records(&schema.0) > before
    });
    nodes[paused].signal("CONT");
    wait(limit, "the resumed node standing by", || {
        std::fs::read_to_string(&nodes[paused].log).is_ok_and(|log| log.contains("standing by"))
    });

    appending.store(false, Ordering::SeqCst);
    appender.join().expect("appender");
    let total = emu.emulator.len() as i64;
    wait(Duration::from_secs(120), "catching up", || {
        records(&schema.0) == total
    });
    let settling = Instant::now();
    loop {
        let states: Vec<(String, Option<String>, i64)> = query_retrying("media jobs", |c| {
            c.query(
                &format!(
                    "SELECT state, claimed_by, count(*) FROM \"{}\".media_jobs \
                     GROUP BY state, claimed_by ORDER BY 1, 2",
                    schema.0
                ),
                &[],
            )
            .map(|rows| {
                rows.iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2)))
                    .collect()
            })
        });
        let unsettled = states.iter().any(|(state, _, _)| {
            matches!(
                state.as_str(),
                "pending" | "downloading" | "failed_retryable"
            )
        });
        if !unsettled {
            break;
        }
        assert!(
            settling.elapsed() < Duration::from_secs(120),
            "media jobs not settled: {states:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // /readyz and /metrics say which node holds the corp: exactly one.
    wait(limit, "exactly one node saying it holds the corp", || {
        let holding = nodes
            .iter()
            .filter(|n| get(&n.addr, "/readyz").contains(&format!("{CORP}: holds the lease")))
            .count();
        let standing = nodes
            .iter()
            .filter(|n| get(&n.addr, "/readyz").contains(&format!("{CORP}: stands by")))
            .count();
        holding == 1 && standing == 2
    });
    let gauges: Vec<bool> = nodes
        .iter()
        .map(|n| {
            get(&n.addr, "/metrics")
                .contains(&format!("wecom_archive_lease_held{{corp_id=\"{CORP}\"}} 1"))
        })
        .collect();
    assert_eq!(gauges.iter().filter(|held| **held).count(), 1, "{gauges:?}");
    for node in &mut nodes {
        node.signal("TERM");
    }
    for node in &mut nodes {
        let _ = node.child.wait();
    }

    let mut c = client();
    let archived: Vec<(u64, String)> = c
        .query(
            &format!(
                "SELECT seq, msgid FROM \"{}\".records WHERE corp_id = $1 ORDER BY seq",
                schema.0
            ),
            &[&CORP],
        )
        .expect("records")
        .iter()
        .map(|r| (r.get::<_, i64>(0) as u64, r.get(1)))
        .collect();
    assert_eq!(
        archived,
        emu.expected_ids(),
        "the archive equals the emulator's records"
    );
    let feed = c
        .query_one(
            &format!(
                "SELECT count(*), coalesce(min(feed_pos), 0), coalesce(max(feed_pos), 0), \
                 count(DISTINCT msgid) FROM \"{}\".messages WHERE corp_id = $1",
                schema.0
            ),
            &[&CORP],
        )
        .expect("feed");
    let (messages, first, last, distinct): (i64, i64, i64, i64) =
        (feed.get(0), feed.get(1), feed.get(2), feed.get(3));
    assert_eq!(messages, distinct, "no message twice");
    assert_eq!((first, last), (1, messages), "the change feed is gapless");
    let objects = c
        .query_one(
            &format!(
                "SELECT count(*) FROM \"{0}\".media_jobs j WHERE j.state = 'done' AND NOT EXISTS \
                 (SELECT 1 FROM \"{0}\".media_objects o WHERE o.corp_id = j.corp_id \
                  AND o.area = 'objects' AND o.sha256 = j.sha256)",
                schema.0
            ),
            &[],
        )
        .expect("objects")
        .get::<_, i64>(0);
    assert_eq!(objects, 0, "every downloaded object is indexed");
    let files = walk(&media.join("objects"));
    let indexed: i64 = c
        .query_one(
            &format!(
                "SELECT count(*) FROM \"{}\".media_objects WHERE area = 'objects'",
                schema.0
            ),
            &[],
        )
        .expect("indexed")
        .get(0);
    assert_eq!(files as i64, indexed, "every media object stored once");
    takeovers.sort();
    println!(
        "takeover after a kill -9 or a pause (lease {LEASE_SECS} s): median {:.2} s, max {:.2} s over {} takeovers",
        takeovers[takeovers.len() / 2].as_secs_f64(),
        takeovers.last().map_or(0.0, Duration::as_secs_f64),
        takeovers.len()
    );
}

/// The body of `GET path` from the node at `addr` (empty when it cannot be had).
fn get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

/// Files under `dir`, recursively (`.part` files excluded).
fn walk(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else if path.extension().is_some_and(|x| x == "part") {
                0
            } else {
                1
            }
        })
        .sum()
}
