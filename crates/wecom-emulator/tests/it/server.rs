//! The real server on 127.0.0.1:0, driven over HTTP like a client would: token flow and expiry,
//! paging, decryption of every served record, key rotation, encrypt_sign, fault injection, live mode.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use wecom_crypto::{KeyRing, decrypt_record};
use wecom_emulator::{Emulator, EmulatorConfig, EmulatorError, Fault, LiveConfig, serve};
use wecom_wire::{ChatDataItem, ChatDataResponse, encrypt_sign};

use crate::{config, keys, ring};

pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) addr: std::net::SocketAddr,
    pub(crate) emulator: Emulator,
    pub(crate) http: reqwest::Client,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub(crate) async fn start(config: EmulatorConfig) -> Server {
        let emulator = Emulator::new(config).expect("emulator");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(emulator.clone(), listener, async {
            let _ = stopped.await;
        }));
        // A new connection per request, as the vendor library does.
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        Server {
            base: format!("http://{addr}"),
            addr,
            emulator,
            http,
            stop,
            task,
        }
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("serve task").expect("serve result");
    }

    async fn gettoken(&self, query: &str) -> Value {
        let url = format!("{}/cgi-bin/gettoken?{query}", self.base);
        let response = self.http.get(url).send().await.expect("gettoken");
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    pub(crate) async fn token(&self) -> String {
        let query = format!(
            "corpid={}&corpsecret={}",
            self.emulator.corp_id(),
            self.emulator.secret()
        );
        let v = self.gettoken(&query).await;
        assert_eq!(v["errcode"], 0, "{v}");
        v["access_token"].as_str().expect("token").to_owned()
    }

    async fn post(
        &self,
        token: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!(
                "{}/cgi-bin/message/getchatdata?access_token={token}",
                self.base
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
    }

    /// One getchatdata call with a correct encrypt_sign; the raw JSON answer.
    async fn fetch(&self, token: &str, seq: u64, limit: u32) -> Value {
        let body = format!(
            r#"{{"seq":{seq},"limit":{limit},"version":3,"encrypt_sign":"{}"}}"#,
            encrypt_sign(token)
        );
        let response = self.post(token, body).await.expect("getchatdata");
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    async fn page(&self, token: &str, seq: u64, limit: u32) -> Vec<ChatDataItem> {
        let v = self.fetch(token, seq, limit).await;
        let page: ChatDataResponse = serde_json::from_value(v.clone()).expect("page shape");
        assert_eq!(page.errcode, 0, "{v}");
        page.chatdata
    }

    async fn all_items(&self, token: &str, limit: u32) -> Vec<ChatDataItem> {
        let mut seq = 0;
        let mut out: Vec<ChatDataItem> = Vec::new();
        loop {
            let page = self.page(token, seq, limit).await;
            let Some(last) = page.last() else { break };
            assert!(page.len() <= limit as usize);
            seq = last.seq;
            out.extend(page);
        }
        out
    }
}

fn errcode(v: &Value) -> i64 {
    v["errcode"].as_i64().expect("errcode")
}

fn decrypt(ring: &KeyRing, item: &ChatDataItem) -> Vec<u8> {
    decrypt_record(
        ring,
        item.publickey_ver,
        &item.encrypt_random_key,
        &item.encrypt_chat_msg,
    )
    .unwrap_or_else(|e| panic!("seq {}: {e}", item.seq))
}

#[tokio::test]
async fn gettoken_issues_tokens_and_rejects_bad_credentials() {
    let server = Server::start(config(1, 20)).await;
    let corp = server.emulator.corp_id().to_owned();
    let secret = server.emulator.secret().to_owned();

    let ok = server
        .gettoken(&format!("corpid={corp}&corpsecret={secret}"))
        .await;
    assert_eq!(ok["errcode"], 0);
    assert_eq!(ok["errmsg"], "ok");
    assert_eq!(ok["expires_in"], 7200);
    let token = ok["access_token"].as_str().expect("token");
    assert!(
        token.len() >= 32
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );

    for (query, code, msg) in [
        (
            format!("corpid=wwnope&corpsecret={secret}"),
            40013,
            "invalid corpid",
        ),
        (
            format!("corpid={corp}&corpsecret=nope"),
            40001,
            "invalid credential",
        ),
        (format!("corpsecret={secret}"), 41002, "corpid missing"),
        (format!("corpid={corp}"), 41004, "corpsecret missing"),
        (
            format!("corpid={corp}&corpsecret="),
            41004,
            "corpsecret missing",
        ),
        ("%zz=%".to_owned(), 41002, "corpid missing"),
    ] {
        let v = server.gettoken(&query).await;
        assert_eq!(errcode(&v), code, "{query}: {v}");
        assert!(
            v["errmsg"].as_str().is_some_and(|m| m.starts_with(msg)),
            "{v}"
        );
        assert!(v.get("access_token").is_none());
    }
    assert_eq!(server.emulator.token_issued_count(), 1);
    server.stop().await;
}

#[tokio::test]
async fn getchatdata_needs_a_live_token() {
    let mut cfg = config(2, 20);
    cfg.token_ttl = Duration::from_millis(300);
    let server = Server::start(cfg).await;
    let corp = server.emulator.corp_id().to_owned();
    let secret = server.emulator.secret().to_owned();
    let v = server
        .gettoken(&format!("corpid={corp}&corpsecret={secret}"))
        .await;
    assert_eq!(v["expires_in"], 1, "sub-second ttl rounds up");
    let token = v["access_token"].as_str().expect("token").to_owned();

    // No "works before expiry" check here: on a loaded machine 300 ms can pass before the first
    // request. Other tests cover valid tokens.
    assert_eq!(errcode(&server.fetch("", 0, 5).await), 41001);
    assert_eq!(errcode(&server.fetch("not-a-token", 0, 5).await), 40014);
    let no_param = server
        .http
        .post(format!("{}/cgi-bin/message/getchatdata", server.base))
        .body(r#"{"seq":0,"limit":1,"version":3,"encrypt_sign":"0"}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(errcode(&no_param.json().await.expect("json")), 41001);

    tokio::time::sleep(Duration::from_millis(350)).await;
    let expired = server.fetch(&token, 0, 5).await;
    assert_eq!(errcode(&expired), 42001, "{expired}");
    assert!(expired.get("chatdata").is_none());
    let fresh = server.token().await;
    assert_eq!(server.page(&fresh, 0, 5).await.len(), 5);
    server.stop().await;
}

#[tokio::test]
async fn every_served_record_decrypts_to_the_ground_truth_byte_for_byte() {
    let server = Server::start(config(3, 1200)).await;
    let token = server.token().await;
    let truth = server.emulator.records();

    let first = server.page(&token, 0, 1000).await;
    assert_eq!(first.len(), 1000, "limit 1000 is honoured");
    let items = server.all_items(&token, 137).await;
    assert_eq!(items.len(), truth.len());
    assert_eq!(&items[..1000], &first[..]);
    let ring = ring();
    for (item, record) in items.iter().zip(&truth) {
        assert_eq!(item.seq, record.seq);
        assert_eq!(item.msgid, record.msgid, "outer msgid equals the inner one");
        assert_eq!(item.publickey_ver, 1);
        assert_eq!(
            decrypt(&ring, item),
            record.plaintext.as_bytes(),
            "seq {}",
            item.seq
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn paging_boundaries() {
    let server = Server::start(config(4, 60)).await;
    let token = server.token().await;
    let last = server.emulator.last_seq();
    assert_eq!(last, 60);

    let one = server.page(&token, 0, 1).await;
    assert_eq!(one.iter().map(|i| i.seq).collect::<Vec<_>>(), [1]);
    let mid = server.page(&token, 10, 5).await;
    assert_eq!(
        mid.iter().map(|i| i.seq).collect::<Vec<_>>(),
        [11, 12, 13, 14, 15]
    );
    let tail = server.page(&token, last - 2, 1000).await;
    assert_eq!(tail.iter().map(|i| i.seq).collect::<Vec<_>>(), [59, 60]);

    for seq in [last, last + 1, u64::MAX] {
        let empty = server.fetch(&token, seq, 10).await;
        assert_eq!(
            empty,
            serde_json::json!({"errcode": 0, "errmsg": "ok"}),
            "no chatdata key when nothing is new"
        );
    }
    for limit in [0, 1001, 5000] {
        let v = server.fetch(&token, 0, limit).await;
        assert_eq!(errcode(&v), 40058, "limit {limit}: {v}");
    }
    server.stop().await;
}

#[tokio::test]
async fn rotated_records_need_key_version_two() {
    let mut cfg = config(5, 90);
    cfg.rotate_to_v2_after_seq = Some(40);
    let server = Server::start(cfg).await;
    let token = server.token().await;
    let items = server.all_items(&token, 1000).await;
    let truth = server.emulator.records();
    assert_eq!(items.len(), 90);

    let (one, two) = keys();
    let mut only_one_as_v2 = KeyRing::new();
    only_one_as_v2.insert_shared(2, one.clone());
    let mut only_two_as_v1 = KeyRing::new();
    only_two_as_v1.insert_shared(1, two.clone());
    let ring = ring();
    for (item, record) in items.iter().zip(&truth) {
        let expected = if item.seq > 40 { 2 } else { 1 };
        assert_eq!(item.publickey_ver, expected, "seq {}", item.seq);
        assert_eq!(decrypt(&ring, item), record.plaintext.as_bytes());
        let wrong = if expected == 2 {
            &only_one_as_v2
        } else {
            &only_two_as_v1
        };
        assert!(
            decrypt_record(
                wrong,
                item.publickey_ver,
                &item.encrypt_random_key,
                &item.encrypt_chat_msg
            )
            .is_err(),
            "seq {} must not decrypt with the other key",
            item.seq
        );
    }
    server.stop().await;

    let mut missing = config(5, 10);
    missing.rotate_to_v2_after_seq = Some(4);
    missing.public_keys.remove(&2);
    assert_eq!(
        Emulator::new(missing).err(),
        Some(EmulatorError::MissingPublicKey { version: 2 })
    );
}

#[tokio::test]
async fn encrypt_sign_is_checked_unless_disabled() {
    let server = Server::start(config(6, 10)).await;
    let token = server.token().await;
    let bad = format!(
        r#"{{"seq":0,"limit":5,"version":3,"encrypt_sign":"{}"}}"#,
        "12345"
    );
    let v: Value = server
        .post(&token, bad.clone())
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(errcode(&v), 40058, "{v}");
    server.stop().await;

    let mut cfg = config(6, 10);
    cfg.check_encrypt_sign = false;
    let lenient = Server::start(cfg).await;
    let token = lenient.token().await;
    let v: Value = lenient
        .post(&token, bad)
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(errcode(&v), 0, "{v}");
    assert_eq!(v["chatdata"].as_array().map(Vec::len), Some(5));
    lenient.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_wecom_style_answers() {
    let server = Server::start(config(7, 10)).await;
    let token = server.token().await;
    let post = |body: &'static str| server.post(&token, body);

    let v: Value = post("not json")
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(errcode(&v), 47001);
    let v: Value = post("").await.expect("post").json().await.expect("json");
    assert_eq!(errcode(&v), 44002);
    let v: Value = post(r#"{"seq":-1,"limit":1,"version":3,"encrypt_sign":"x"}"#)
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(errcode(&v), 47001);

    // Any content type: the body is JSON whatever the header says.
    let body = format!(
        r#"{{"seq":0,"limit":2,"version":3,"encrypt_sign":"{}"}}"#,
        encrypt_sign(&token)
    );
    for content_type in ["application/json", "text/plain", "application/octet-stream"] {
        let response = server
            .http
            .post(format!(
                "{}/cgi-bin/message/getchatdata?access_token={token}",
                server.base
            ))
            .header("content-type", content_type)
            .body(body.clone())
            .send()
            .await
            .expect("post");
        let v: Value = response.json().await.expect("json");
        assert_eq!(
            v["chatdata"].as_array().map(Vec::len),
            Some(2),
            "{content_type}"
        );
    }

    // Broken percent-escapes decode leniently; the token is then simply unknown.
    for token in ["%FF%", "%zz&x=%FF"] {
        let v: Value = server
            .post(token, body.clone())
            .await
            .expect("post")
            .json()
            .await
            .expect("json");
        assert_eq!(errcode(&v), 40014, "{token}");
    }

    let big = vec![b' '; wecom_emulator::MAX_BODY + 100];
    let response = server.post(&token, big).await.expect("post");
    assert_eq!(response.status(), 413);

    let response = server
        .http
        .get(format!("{}/cgi-bin/nope", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 404);
    let v: Value = response.json().await.expect("json");
    assert_eq!(errcode(&v), 404);
    let response = server
        .http
        .get(format!("{}/cgi-bin/message/getchatdata", server.base))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 405);
    server.stop().await;
}

#[tokio::test]
async fn injected_http_errors_system_busy_and_delay_apply_to_the_next_requests() {
    let server = Server::start(config(8, 10)).await;
    let token = server.token().await;
    let body = format!(
        r#"{{"seq":0,"limit":3,"version":3,"encrypt_sign":"{}"}}"#,
        encrypt_sign(&token)
    );

    server.emulator.inject(Fault::Http500, 2);
    server.emulator.inject(Fault::Http502, 1);
    server.emulator.inject(Fault::ErrcodeSystemBusy, 1);
    server
        .emulator
        .inject(Fault::Delay(Duration::from_millis(300)), 1);
    for expected in [500, 500, 502] {
        let response = server.post(&token, body.clone()).await.expect("post");
        assert_eq!(response.status(), expected);
    }
    let busy = server.fetch(&token, 0, 3).await;
    assert_eq!(
        busy,
        serde_json::json!({"errcode": -1, "errmsg": "system busy"})
    );
    let started = Instant::now();
    assert_eq!(server.page(&token, 0, 3).await.len(), 3);
    assert!(started.elapsed() >= Duration::from_millis(300), "delayed");
    assert_eq!(
        server.page(&token, 0, 3).await.len(),
        3,
        "faults are used up"
    );
    assert_eq!(server.emulator.request_count(), 6);

    server.emulator.inject(Fault::Http500, 5);
    server.emulator.clear_faults();
    assert_eq!(server.page(&token, 0, 3).await.len(), 3);
    server.stop().await;
}

#[tokio::test]
async fn dropped_connections_and_truncated_bodies_are_network_errors() {
    let server = Server::start(config(9, 200)).await;
    let token = server.token().await;
    let body = format!(
        r#"{{"seq":0,"limit":100,"version":3,"encrypt_sign":"{}"}}"#,
        encrypt_sign(&token)
    );

    server.emulator.inject(Fault::DropConnection, 1);
    let dropped = server.post(&token, body.clone()).await;
    assert!(dropped.is_err(), "no response at all: {dropped:?}");

    server.emulator.inject(Fault::TruncatedBody, 1);
    let response = server
        .post(&token, body.clone())
        .await
        .expect("headers arrive");
    assert_eq!(response.status(), 200);
    let declared = response.content_length().expect("content-length");
    assert!(declared > 1000);
    assert!(response.bytes().await.is_err(), "body is cut short");

    // Raw socket view of the drop: the connection closes with zero bytes.
    server.emulator.inject(Fault::DropConnection, 1);
    let raw = raw_request(server.addr, &format!(
        "POST /cgi-bin/message/getchatdata?access_token={token} HTTP/1.0\r\nHost: qyapi.weixin.qq.com\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
    .await;
    assert!(raw.is_empty(), "got {} bytes", raw.len());

    assert_eq!(
        server.page(&token, 0, 100).await.len(),
        100,
        "healthy again"
    );
    server.stop().await;
}

#[tokio::test]
async fn expire_tokens_fault_forces_a_token_refresh() {
    let server = Server::start(config(10, 10)).await;
    let token = server.token().await;
    server.emulator.inject(Fault::ExpireTokens, 3);
    assert_eq!(errcode(&server.fetch(&token, 0, 1).await), 42001);
    assert_eq!(
        errcode(&server.fetch(&token, 0, 1).await),
        42001,
        "the old token stays dead"
    );
    let fresh = server.token().await;
    assert_eq!(server.page(&fresh, 0, 1).await.len(), 1, "applies once");
    assert_eq!(server.emulator.token_issued_count(), 2);
    server.stop().await;
}

pub(crate) async fn raw_request(addr: std::net::SocketAddr, request: &str) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    // A reset is also "no response"; keep whatever arrived.
    let _ = stream.read_to_end(&mut out).await;
    out
}

#[tokio::test]
async fn the_vendor_librarys_http_1_0_requests_are_served() {
    let server = Server::start(config(11, 30)).await;
    let token_answer = raw_request(server.addr, &format!(
        "GET /cgi-bin/gettoken?corpid={}&corpsecret={} HTTP/1.0\r\nHost: qyapi.weixin.qq.com\r\nAccept: */*\r\n\r\n",
        server.emulator.corp_id(),
        server.emulator.secret()
    ))
    .await;
    let text = String::from_utf8(token_answer).expect("utf8");
    assert!(text.starts_with("HTTP/1.0 200"), "{text}");
    let (_, json) = text.split_once("\r\n\r\n").expect("body");
    let v: Value = serde_json::from_str(json).expect("json");
    let token = v["access_token"].as_str().expect("token");

    let body = format!(
        r#"{{"seq":0,"limit":10,"version":3,"encrypt_sign":"{}"}}"#,
        encrypt_sign(token)
    );
    let answer = raw_request(server.addr, &format!(
        "POST /cgi-bin/message/getchatdata?access_token={token} HTTP/1.0\r\nHost: qyapi.weixin.qq.com\r\nAccept: */*\r\nContent-Length: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n{body}",
        body.len()
    ))
    .await;
    let text = String::from_utf8(answer).expect("utf8");
    assert!(text.starts_with("HTTP/1.0 200"), "{text}");
    let (_, json) = text.split_once("\r\n\r\n").expect("body");
    let page: ChatDataResponse = serde_json::from_str(json).expect("page");
    assert_eq!(page.chatdata.len(), 10);
    let ring = ring();
    let truth = server.emulator.records();
    assert_eq!(
        decrypt(&ring, &page.chatdata[9]),
        truth[9].plaintext.as_bytes()
    );
    server.stop().await;
}

#[tokio::test]
async fn live_mode_appends_while_serving_and_stops_on_shutdown() {
    let mut cfg = config(12, 50);
    cfg.live = Some(LiveConfig {
        messages_per_second: 100.0,
    });
    let server = Server::start(cfg).await;
    let token = server.token().await;
    let emulator = server.emulator.clone();

    let deadline = Instant::now() + Duration::from_secs(10);
    while emulator.len() < 80 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        emulator.len() >= 80,
        "live records appear ({})",
        emulator.len()
    );
    let items = server.all_items(&token, 1000).await;
    assert!(items.len() >= 80);
    assert!(items.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    let truth = emulator.records();
    let ring = ring();
    let last = items.last().expect("items");
    let record = truth
        .iter()
        .find(|r| r.seq == last.seq)
        .expect("ground truth");
    assert_eq!(decrypt(&ring, last), record.plaintext.as_bytes());
    // Live records continue the corpus: later msgtime, same generator stream.
    let times: Vec<i64> = truth
        .iter()
        .map(|r| {
            wecom_model::parse_envelope(r.plaintext.as_bytes())
                .expect("parse")
                .msgtime
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]));

    server.stop().await;
    let after_stop = emulator.len();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        emulator.len(),
        after_stop,
        "the live task ended with the server"
    );
}

#[tokio::test]
async fn appended_records_are_served_after_the_existing_ones() {
    let server = Server::start(config(13, 25)).await;
    let token = server.token().await;
    assert!(server.page(&token, 25, 10).await.is_empty());
    server.emulator.append(7);
    assert_eq!(server.emulator.last_seq(), 32);
    let page = server.page(&token, 25, 10).await;
    assert_eq!(
        page.iter().map(|i| i.seq).collect::<Vec<_>>(),
        (26..=32).collect::<Vec<_>>()
    );
    let same_seed = wecom_emulator::generate(&wecom_emulator::CorpusSpec::new(13, 32));
    assert_eq!(
        server.emulator.records(),
        same_seed.records,
        "append continues the seed stream"
    );
    server.stop().await;
}
