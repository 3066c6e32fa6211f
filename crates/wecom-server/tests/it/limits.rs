//! Connection limits on a real socket: idle and slow clients are closed after their timeouts, and
//! more of them than the cap never make `/healthz` unreachable.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wecom_server::ServerConfig;

use crate::{CORP, start_with};

/// A hang guard, not a speed assertion: every wait below ends in milliseconds to seconds.
const GUARD: Duration = Duration::from_secs(60);

fn limited() -> ServerConfig {
    ServerConfig {
        max_connections: 8,
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
        ..ServerConfig::default()
    }
}

/// Reads until the server closes the connection; returns what it sent.
async fn until_closed(mut s: TcpStream) -> String {
    let mut out = Vec::new();
    let read = tokio::time::timeout(GUARD, async {
        let mut buf = [0u8; 1024];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open");
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes one byte every 100 ms until the server closes the connection, so the connection is
/// never idle: only the head or body timeout can end it.
fn trickle(mut s: TcpStream, first: Vec<u8>) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut out = Vec::new();
        let done = tokio::time::timeout(GUARD, async {
            if s.write_all(&first).await.is_err() {
                return;
            }
            let mut buf = [0u8; 1024];
            loop {
                tokio::select! {
                    r = s.read(&mut buf) => match r {
                        Ok(0) | Err(_) => return,
                        Ok(n) => out.extend_from_slice(&buf[..n]),
                    },
                    () = tokio::time::sleep(Duration::from_millis(100)) => {
                        if s.write_all(b"a").await.is_err() {
                            return;
                        }
                    }
                }
            }
        })
        .await;
        assert!(done.is_ok(), "the server kept a trickling connection open");
        String::from_utf8_lossy(&out).into_owned()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_are_closed_and_never_block_healthz() {
    let s = start_with(true, limited()).await;
    let addr = s.base.trim_start_matches("http://").to_owned();

    // A head that never ends, sent one byte at a time (never idle): the header timeout closes it.
    let slow_head = trickle(
        TcpStream::connect(&addr).await.expect("connect"),
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".to_vec(),
    );
    // A body that never ends: the body timeout answers 408 and closes it.
    let slow_body = trickle(
        TcpStream::connect(&addr).await.expect("connect"),
        format!(
            "POST /callback/{CORP}?msg_signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nab"
        )
        .into_bytes(),
    );
    let head_answer = slow_head.await.expect("slow head task");
    assert!(!head_answer.contains("200 OK"), "{head_answer}");
    let body_answer = slow_body.await.expect("slow body task");
    assert!(
        body_answer.starts_with("HTTP/1.1 408"),
        "the slow body got {body_answer:?}"
    );

    // Three times the cap of connections that send nothing at all.
    let mut idle = Vec::new();
    for _ in 0..24 {
        idle.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    // However many of them are open, /healthz answers (on new connections each time).
    for _ in 0..5 {
        let r = tokio::time::timeout(GUARD, async {
            let mut c = TcpStream::connect(&addr).await.expect("connect");
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .expect("write");
            until_closed(c).await
        })
        .await
        .expect("healthz hung");
        assert!(r.starts_with("HTTP/1.1 200"), "healthz answered {r:?}");
        assert!(r.ends_with("ok"), "{r}");
    }
    // Every idle connection is closed by the server (to make room, or after the idle timeout).
    for c in idle {
        assert_eq!(
            until_closed(c).await,
            "",
            "an idle connection got an answer"
        );
    }

    // A keep-alive connection that goes quiet after a request is closed after the idle timeout.
    let mut kept = TcpStream::connect(&addr).await.expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = until_closed(kept).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    s.stop.cancel();
}
