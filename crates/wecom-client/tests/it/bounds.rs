//! Bounded reading: a server that sends 200 MB (generated while it is written, never held in
//! memory) gets a clear error naming the cap, and the client stops reading early. The server
//! counts the bytes the connection accepted, so "stopped early" is checked without measuring RSS.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use wecom_client::{ApiClient, ApiConfig, ApiErrorKind, ClientConfig, NativeClient, RetryPolicy};
use wecom_crypto::SdkFileId;
use wecom_wire::{ArchiveSource, SourceErrorKind};

const HUGE: u64 = 200 << 20;
const CAP: u64 = 1 << 20;

/// How the big answer is framed.
#[derive(Clone, Copy)]
enum Framing {
    /// `Content-Length: 209715200`, then the bytes.
    Announced,
    /// No length: the body runs until the connection closes.
    UntilClose,
}

/// The huge-answer server: gettoken is answered normally, every other request with `HUGE` bytes.
struct HugeServer {
    base: String,
    /// Body bytes the client's connection accepted, over all connections.
    written: Arc<AtomicU64>,
    /// Whether a huge answer's writer has stopped (all written, or the client went away).
    finished: Arc<AtomicBool>,
    stop: CancellationToken,
}

impl HugeServer {
    async fn start(framing: Framing) -> HugeServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let written = Arc::new(AtomicU64::new(0));
        let finished = Arc::new(AtomicBool::new(false));
        let stop = CancellationToken::new();
        let (w, f, s) = (written.clone(), finished.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let conn = tokio::select! {
                    _ = s.cancelled() => return,
                    conn = listener.accept() => conn,
                };
                let Ok((conn, _)) = conn else { return };
                let (w, f, s) = (w.clone(), f.clone(), s.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        _ = s.cancelled() => {}
                        _ = answer(conn, framing, w, f.clone()) => {}
                    }
                });
            }
        });
        HugeServer {
            base,
            written,
            finished,
            stop,
        }
    }

    /// Waits (hang guard: 60 s) until the huge answer's writer stopped, and returns the bytes it
    /// got out.
    async fn bytes_accepted(&self) -> u64 {
        tokio::time::timeout(Duration::from_secs(60), async {
            while !self.finished.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the server's writer never stopped: the client kept the connection open");
        self.written.load(Ordering::SeqCst)
    }
}

impl Drop for HugeServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn answer(
    mut conn: TcpStream,
    framing: Framing,
    written: Arc<AtomicU64>,
    finished: Arc<AtomicBool>,
) {
    // The request head; its small body (if any) stays unread.
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    if head.starts_with(b"GET /cgi-bin/gettoken") {
        let body =
            br#"{"errcode":0,"errmsg":"ok","access_token":"huge-test-token","expires_in":7200}"#;
        let reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = conn.write_all(reply.as_bytes()).await;
        let _ = conn.write_all(body).await;
        return;
    }
    let length = match framing {
        Framing::Announced => format!("Content-Length: {HUGE}\r\n"),
        Framing::UntilClose => String::new(),
    };
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n"
    );
    if conn.write_all(reply.as_bytes()).await.is_ok() {
        // Valid-looking JSON filler, generated block by block.
        let block = vec![b' '; 64 << 10];
        let mut sent = 0u64;
        if conn.write_all(b"{\"errcode\":0,\"x\":\"").await.is_ok() {
            while sent < HUGE {
                if conn.write_all(&block).await.is_err() {
                    break;
                }
                sent += block.len() as u64;
                written.fetch_add(block.len() as u64, Ordering::SeqCst);
            }
        }
    }
    finished.store(true, Ordering::SeqCst);
}

fn native(base: &str) -> NativeClient {
    let mut c = ClientConfig::new(base, "wwbounds000000001", "bounds-secret");
    c.max_response_bytes = CAP;
    c.timeout = Duration::from_secs(60);
    c.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(10),
    };
    NativeClient::new(c).expect("client")
}

/// Far below the 200 MB the server would send, whatever the loopback socket buffers hold.
const STOPPED_EARLY: u64 = 48 << 20;

#[tokio::test]
async fn a_streamed_200_mb_page_is_refused_at_the_cap_and_reading_stops_early() {
    let server = HugeServer::start(Framing::UntilClose).await;
    let client = native(&server.base);
    let e = tokio::time::timeout(Duration::from_secs(60), client.fetch_page(0, 1000))
        .await
        .expect("hang guard")
        .expect_err("a 200 MB page must be refused");
    assert_eq!(e.kind, SourceErrorKind::TooLarge { limit_bytes: CAP });
    assert!(!e.retryable, "the same server sends the same answer: {e}");
    let text = e.to_string();
    assert!(
        text.contains("grew past")
            && text.contains("1 MiB")
            && text.contains("[sync] max_response_mb"),
        "{text}"
    );
    drop(client);
    let accepted = server.bytes_accepted().await;
    assert!(
        accepted < STOPPED_EARLY,
        "the client read on: {accepted} of {HUGE} bytes left the server"
    );
}

#[tokio::test]
async fn a_huge_announced_content_length_is_refused_before_reading() {
    let server = HugeServer::start(Framing::Announced).await;
    let client = native(&server.base);
    let e = tokio::time::timeout(Duration::from_secs(60), client.fetch_page(0, 1000))
        .await
        .expect("hang guard")
        .expect_err("a 200 MB page must be refused");
    assert_eq!(e.kind, SourceErrorKind::TooLarge { limit_bytes: CAP });
    let text = e.to_string();
    assert!(
        text.contains("announces 200 MiB (209715200 bytes)")
            && text.contains("[sync] max_response_mb"),
        "{text}"
    );
    drop(client);
    let accepted = server.bytes_accepted().await;
    assert!(accepted < STOPPED_EARLY, "{accepted} bytes left the server");
}

#[tokio::test]
async fn naming_api_answers_are_capped_too() {
    let server = HugeServer::start(Framing::UntilClose).await;
    let mut config = ApiConfig::new(&server.base, "wwbounds000000001", "bounds-secret");
    config.max_response_bytes = CAP;
    config.timeout = Duration::from_secs(60);
    config.max_calls_per_second = 1000.0;
    let api = ApiClient::new(config).expect("api client");
    let e = tokio::time::timeout(Duration::from_secs(60), api.permit_user_list(None))
        .await
        .expect("hang guard")
        .expect_err("refused");
    assert_eq!(e.kind, ApiErrorKind::InvalidResponse);
    assert!(!e.retryable);
    assert!(e.message.contains("[sync] max_response_mb"), "{e}");
    drop(api);
    let accepted = server.bytes_accepted().await;
    assert!(accepted < STOPPED_EARLY, "{accepted} bytes left the server");
}

#[tokio::test]
async fn a_media_chunk_far_larger_than_asked_for_is_refused() {
    let server = HugeServer::start(Framing::UntilClose).await;
    let client = native(&server.base);
    let id = SdkFileId {
        fileid: "bounds-file".into(),
        authkey: "bounds-auth".into(),
        aeskey: "00112233445566778899aabbccddeeff".into(),
    }
    .encode();
    let mut sink = Vec::new();
    let e = tokio::time::timeout(
        Duration::from_secs(60),
        client.download_media(&id, &mut sink),
    )
    .await
    .expect("hang guard")
    .expect_err("refused");
    assert_eq!(e.kind(), &wecom_client::MediaErrorKind::BadResponse);
    assert!(
        e.to_string()
            .contains("larger than 2 MiB for a chunk of 512 KiB"),
        "{e}"
    );
    assert!(sink.is_empty());
    drop(client);
    let accepted = server.bytes_accepted().await;
    assert!(accepted < STOPPED_EARLY, "{accepted} bytes left the server");
}
