//! `wecom_daemon::run` as a library: started on a listener bound to port 0 beside a source that
//! refuses connections, it answers health and readiness, and when the shutdown future completes
//! it stops every task it started and returns.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use wecom_crypto::KeyRing;
use wecom_daemon::config::Config;
use wecom_daemon::{DaemonCorp, RunPlan, SourceOverrides};
use wecom_store::StoreLocation;

/// A configuration whose only corp's source is a loopback port nothing listens on.
async fn unreachable_corp(dir: &std::path::Path) -> Config {
    let nobody = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", nobody.local_addr().expect("addr"));
    drop(nobody);
    let path = dir.join("c.toml");
    std::fs::write(
        &path,
        format!(
            "[corp]\ncorp_id = \"wwlib\"\nsecret = \"s\"\nbase_url = \"{base_url}\"\n[names]\nenabled = false\n"
        ),
    )
    .expect("write config");
    Config::load(&path, &HashMap::new()).expect("load config")
}

/// A plan for the one corp of `config`, its archive opened here.
fn plan<'a>(
    config: &'a Config,
    overrides: SourceOverrides,
    on_started: Box<dyn FnOnce(std::net::SocketAddr) + Send + 'a>,
) -> RunPlan<'a> {
    let corp = config.corp(None).expect("corp").clone();
    let store =
        wecom_store::open(&StoreLocation::Sqlite(corp.archive_path.clone())).expect("archive");
    RunPlan {
        config,
        corps: vec![DaemonCorp {
            config: corp,
            store,
            keys: Arc::new(KeyRing::default()),
        }],
        overrides,
        poll_interval: Duration::from_secs(3600),
        fd_limit: None,
        on_started: Some(on_started),
    }
}

/// One HTTP/1.1 request with `Connection: close`: the status and the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .await
        .expect("read answer");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_on_the_given_listener_and_returns_after_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = unreachable_corp(dir.path()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (started_tx, started_rx) = oneshot::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let plan = plan(
        &config,
        SourceOverrides::default(),
        Box::new(move |addr| {
            let _ = started_tx.send(addr);
        }),
    );
    let client = async {
        let addr = started_rx.await.expect("the daemon started");
        let health = get(addr, "/healthz").await;
        // Never caught up (its source refuses connections): alive but not ready.
        let ready = get(addr, "/readyz").await;
        let _ = stop_tx.send(());
        (health, ready)
    };
    let shutdown = async {
        let _ = stop_rx.await;
    };
    let (ran, (health, ready)) = tokio::join!(wecom_daemon::run(plan, listener, shutdown), client);
    ran.expect("the daemon ran and stopped cleanly");
    assert_eq!((health.0, health.1.as_str()), (200, "ok"));
    assert_eq!(ready.0, 503, "{ready:?}");
    assert!(ready.1.contains("wwlib"), "{ready:?}");
}

#[tokio::test]
async fn a_corp_whose_source_cannot_be_set_up_keeps_the_daemon_from_starting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = unreachable_corp(dir.path()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    // The vendor library without a path to it.
    let overrides = SourceOverrides {
        source: Some(wecom_daemon::config::SourceKind::Sdk),
        sdk_library: None,
    };
    let plan = plan(&config, overrides, Box::new(|_| panic!("must not start")));
    let e = wecom_daemon::run(plan, listener, std::future::pending())
        .await
        .expect_err("no library, no daemon");
    assert_eq!(e.kind(), wecom_daemon::DaemonErrorKind::Source);
    assert!(e.to_string().contains("needs sdk_library"), "{e}");
}
