//! The HTTP surface on a real socket: callback verification and events with the reference vector,
//! every rejection path, replays, metrics (with and without a token), readiness, and connection
//! limits (`limits`); the peer's address, the transport and TLS (`tls`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;
use wecom_callback::{CallbackCrypto, encrypted_envelope};
use wecom_server::{CallbackEndpoint, CorpSnapshot, Observer, ServerConfig, router, serve};

mod limits;
mod tls;

const TOKEN: &str = "QDG6eK";
const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "wx5823bf96d3bd56c7";
const ECHOSTR: &str =
    "sKqRbbiSUnDhFHOvPjtUMWzf2R8PrpMiTTPaicBgqZlYW/WsF6SiFd2z9CriX2YpWYzF1yrNNQ0SomM3ovdnfA==";
const NOTIFY: &str = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1629101687</CreateTime><MsgType><![CDATA[event]]></MsgType><AgentID>2000004</AgentID><Event><![CDATA[msgaudit_notify]]></Event></xml>";

struct FixedObserver {
    ready: bool,
}

impl Observer for FixedObserver {
    fn snapshot(&self) -> Vec<CorpSnapshot> {
        vec![CorpSnapshot {
            corp_id: CORP.into(),
            last_seq: 4321,
            lag_seconds: Some(2.5),
            records_total: 4321,
            records_by_type: [("text".to_owned(), 4000), ("image".to_owned(), 321)]
                .into_iter()
                .collect(),
            decrypt_failures_by_code: [(10007, 3)].into_iter().collect(),
            time_to_loss_seconds: Some(400_000.0),
            not_ready: (!self.ready).then(|| "last sync failed: network error".to_owned()),
            ..CorpSnapshot::default()
        }]
    }
}

struct Server {
    base: String,
    notified: Arc<AtomicU32>,
    stop: CancellationToken,
    http: reqwest::Client,
}

async fn start(ready: bool, max_skew: Duration) -> Server {
    start_with(
        ready,
        ServerConfig {
            max_skew,
            max_body: 4096,
            ..ServerConfig::default()
        },
    )
    .await
}

async fn start_with(ready: bool, config: ServerConfig) -> Server {
    let notified = Arc::new(AtomicU32::new(0));
    let n = notified.clone();
    let endpoint = CallbackEndpoint {
        corp_id: CORP.into(),
        crypto: CallbackCrypto::new(TOKEN, AES_KEY, CORP).expect("crypto"),
        on_notify: Arc::new(move || {
            n.fetch_add(1, Ordering::SeqCst);
        }),
    };
    let app = router(
        vec![endpoint],
        Arc::new(FixedObserver { ready }),
        config.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let stop = CancellationToken::new();
    let shutdown = stop.clone().cancelled_owned();
    tokio::spawn(async move { serve(listener, app, &config, shutdown).await });
    Server {
        base,
        notified,
        stop,
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
    }
}

fn now() -> String {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        .to_string()
}

fn crypto() -> CallbackCrypto {
    CallbackCrypto::new(TOKEN, AES_KEY, CORP).expect("crypto")
}

#[tokio::test]
async fn url_verification_answers_the_plaintext_exactly() {
    // The reference vector is dated 2021: allow any skew for it.
    let s = start(true, Duration::from_secs(u32::MAX as u64)).await;
    let url = format!(
        "{}/callback/{CORP}?msg_signature=e02d2debc9823db03775ae92798ca50a0a18deaf&timestamp=1629101687&nonce=1372623149&echostr={}",
        s.base,
        ECHOSTR
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    );
    let r = s.http.get(&url).send().await.expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.bytes().await.expect("body").as_ref(),
        b"1616140317555161061"
    );

    let bad = url.replace("e02d2deb", "e02d2dec");
    assert_eq!(s.http.get(&bad).send().await.expect("get").status(), 403);
    s.stop.cancel();
}

#[tokio::test]
async fn events_wake_the_sync_and_bad_ones_get_4xx() {
    let s = start(true, Duration::from_secs(300)).await;
    let c = crypto();
    let post = |ts: String, nonce: &str, encrypted: &str, sig: Option<String>| {
        let sig = sig.unwrap_or_else(|| c.signature(&ts, nonce, encrypted));
        let body = encrypted_envelope(CORP, "2000004", encrypted);
        let url = format!(
            "{}/callback/{CORP}?msg_signature={sig}&timestamp={ts}&nonce={nonce}",
            s.base
        );
        s.http.post(url).body(body).send()
    };
    let encrypted = c.encrypt(NOTIFY.as_bytes(), *b"0123456789abcdef");
    let ts = now();
    let r = post(ts.clone(), "1", &encrypted, None).await.expect("post");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("body").len(), 0);
    // The same signed callback again (same signature, timestamp and nonce) is a replay: answered
    // 200 like the first, and not acted on again.
    let r = post(ts.clone(), "1", &encrypted, None).await.expect("post");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("body").len(), 0);
    assert_eq!(
        s.notified.load(Ordering::SeqCst),
        1,
        "a replayed callback woke the sync again"
    );
    // A new callback (another nonce) is acted on.
    assert_eq!(
        post(ts, "11", &encrypted, None)
            .await
            .expect("post")
            .status(),
        200
    );
    assert_eq!(s.notified.load(Ordering::SeqCst), 2);

    assert_eq!(
        post(now(), "1", &encrypted, Some("0".repeat(40)))
            .await
            .expect("post")
            .status(),
        403
    );
    assert_eq!(
        post("1000".into(), "1", &encrypted, None)
            .await
            .expect("post")
            .status(),
        403,
        "stale timestamp"
    );
    let other_event = c.encrypt(
        b"<xml><MsgType>event</MsgType><Event>change_external_contact</Event></xml>",
        [7; 16],
    );
    assert_eq!(
        post(now(), "2", &other_event, None)
            .await
            .expect("post")
            .status(),
        200
    );
    let for_someone_else = CallbackCrypto::new(TOKEN, AES_KEY, "wwother")
        .expect("crypto")
        .encrypt(NOTIFY.as_bytes(), [1; 16]);
    assert_eq!(
        post(now(), "3", &for_someone_else, None)
            .await
            .expect("post")
            .status(),
        400
    );
    assert_eq!(
        s.notified.load(Ordering::SeqCst),
        2,
        "rejected and other events never wake the sync"
    );

    let ts = now();
    let url = format!(
        "{}/callback/{CORP}?msg_signature=x&timestamp={ts}&nonce=1",
        s.base
    );
    assert_eq!(
        s.http
            .post(&url)
            .body("<xml><Encrypt>")
            .send()
            .await
            .expect("post")
            .status(),
        400
    );
    assert_eq!(
        s.http
            .post(&url)
            .body(vec![b'a'; 10_000])
            .send()
            .await
            .expect("post")
            .status(),
        413
    );
    assert_eq!(
        s.http
            .post(format!("{}/callback/{CORP}", s.base))
            .body("x")
            .send()
            .await
            .expect("post")
            .status(),
        400
    );
    assert_eq!(
        s.http
            .post(format!(
                "{}/callback/wwnobody?msg_signature=x&timestamp={ts}&nonce=1",
                s.base
            ))
            .send()
            .await
            .expect("post")
            .status(),
        404
    );

    let metrics = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains(&format!("wecom_archive_callback_requests_total{{corp_id=\"{CORP}\",outcome=\"msgaudit_notify\"}} 2")), "{metrics}");
    assert!(
        metrics.contains("outcome=\"bad_signature\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("outcome=\"replayed\"} 1"), "{metrics}");
    assert!(
        metrics.contains("outcome=\"stale_timestamp\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("corp_id=\"unknown\",outcome=\"unknown_corp\"} 1"),
        "{metrics}"
    );
    s.stop.cancel();
}

#[tokio::test]
async fn metrics_health_and_readiness() {
    let s = start(true, Duration::from_secs(300)).await;
    let m = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in [
        format!("wecom_archive_last_seq{{corp_id=\"{CORP}\"}} 4321"),
        format!("wecom_archive_sync_lag_seconds{{corp_id=\"{CORP}\"}} 2.5"),
        format!("wecom_archive_records_by_type{{corp_id=\"{CORP}\",msgtype=\"image\"}} 321"),
        format!("wecom_archive_decrypt_failures{{corp_id=\"{CORP}\",code=\"10007\"}} 3"),
        format!("wecom_archive_time_to_loss_seconds{{corp_id=\"{CORP}\"}} 400000"),
    ] {
        assert!(m.contains(&line), "missing {line} in\n{m}");
    }
    assert_eq!(
        s.http
            .get(format!("{}/healthz", s.base))
            .send()
            .await
            .expect("healthz")
            .status(),
        200
    );
    assert_eq!(
        s.http
            .get(format!("{}/readyz", s.base))
            .send()
            .await
            .expect("readyz")
            .status(),
        200
    );
    s.stop.cancel();

    let s = start(false, Duration::from_secs(300)).await;
    let r = s
        .http
        .get(format!("{}/readyz", s.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(r.status(), 503);
    assert!(r.text().await.expect("text").contains("network error"));
    s.stop.cancel();
}

#[tokio::test]
async fn metrics_need_the_bearer_token_when_one_is_set() {
    let s = start_with(
        true,
        ServerConfig {
            metrics_token: Some("s3cret-token".into()),
            ..ServerConfig::default()
        },
    )
    .await;
    let url = format!("{}/metrics", s.base);
    let r = s.http.get(&url).send().await.expect("metrics");
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    let wrong = s
        .http
        .get(&url)
        .bearer_auth("s3cret-tokem")
        .send()
        .await
        .expect("metrics");
    assert_eq!(wrong.status(), 401);
    let shorter = s
        .http
        .get(&url)
        .bearer_auth("s3cret")
        .send()
        .await
        .expect("metrics");
    assert_eq!(shorter.status(), 401);
    let r = s
        .http
        .get(&url)
        .bearer_auth("s3cret-token")
        .send()
        .await
        .expect("metrics");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("text").contains(&format!(
        "wecom_archive_last_seq{{corp_id=\"{CORP}\"}} 4321"
    )));
    // Health and readiness stay open to probes.
    for path in ["/healthz", "/readyz"] {
        let r = s
            .http
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .expect("probe");
        assert_eq!(r.status(), 200, "{path}");
    }
    s.stop.cancel();
}
