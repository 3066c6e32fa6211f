//! What the router learns about each request (the peer's address and the transport), and TLS on a
//! real socket: a self-signed certificate from PEM files, https with that certificate trusted,
//! plain HTTP or silence on the TLS port closing only that connection, the connection cap applying
//! to handshakes alike, and the typed errors of files that cannot be used.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::{Extension, Router};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use wecom_server::{ServerConfig, TlsError, TlsSettings, Transport, router, serve};

use crate::FixedObserver;

/// A hang guard, not a speed assertion: every wait below ends in milliseconds to seconds.
const GUARD: Duration = Duration::from_secs(60);

/// Answers `<peer address> tls=<bool>` from the request's extensions.
async fn whoami(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(transport): Extension<Transport>,
) -> String {
    format!("{peer} tls={}", transport.tls)
}

/// The server's own routes with `/whoami` mounted beside them, served with `config`; the base
/// address and the stop token.
async fn start(config: ServerConfig) -> (SocketAddr, CancellationToken) {
    let app = router(
        Vec::new(),
        Arc::new(FixedObserver { ready: true }),
        config.clone(),
    )
    .merge(Router::new().route("/whoami", get(whoami)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    let shutdown = stop.clone().cancelled_owned();
    tokio::spawn(async move { serve(listener, app, &config, shutdown).await });
    (addr, stop)
}

/// A self-signed certificate for 127.0.0.1 and localhost: (certificate PEM, PKCS#8 key PEM).
fn self_signed() -> (String, String) {
    let c =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("certificate");
    (
        pem("CERTIFICATE", c.cert.der()),
        pem("PRIVATE KEY", &c.signing_key.serialize_der()),
    )
}

/// DER as PEM (rcgen's own PEM output is a feature the workspace leaves off).
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// Reads until the server closes the connection; returns what it sent.
async fn until_closed(mut s: TcpStream) -> Vec<u8> {
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
    out
}

#[tokio::test]
async fn plain_requests_carry_the_peer_address_and_say_they_are_not_tls() {
    let (addr, stop) = start(ServerConfig::default()).await;
    let mut c = TcpStream::connect(addr).await.expect("connect");
    let me = c.local_addr().expect("local addr");
    c.write_all(b"GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let answer = String::from_utf8(until_closed(c).await).expect("utf-8");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.ends_with(&format!("\r\n\r\n{me} tls=false")),
        "{answer}"
    );
    stop.cancel();
}

#[tokio::test]
async fn https_with_pem_files_and_plain_http_on_the_tls_port_closes_only_that_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert_pem, key_pem) = self_signed();
    let cert = write(dir.path(), "cert.pem", &cert_pem);
    let key = write(dir.path(), "key.pem", &key_pem);
    let tls = TlsSettings::from_pem_files(&cert, &key).expect("tls settings");
    let (addr, stop) = start(ServerConfig {
        tls: Some(tls),
        ..ServerConfig::default()
    })
    .await;
    let https = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("cert")])
        .build()
        .expect("client");
    let base = format!("https://{addr}");
    let r = https
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("https");
    assert_eq!(r.status(), 200);
    let r = https
        .get(format!("{base}/whoami"))
        .send()
        .await
        .expect("https");
    assert_eq!(r.status(), 200);
    let who = r.text().await.expect("body");
    let (peer, transport) = who.split_once(' ').expect("two words");
    let peer: SocketAddr = peer.parse().expect("a socket address");
    assert!(peer.ip().is_loopback() && peer.port() != 0, "{who}");
    assert_eq!(transport, "tls=true");

    // Plain HTTP on the TLS port fails, and only that connection ends.
    let plain = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let refused = plain.get(format!("http://{addr}/healthz")).send().await;
    assert!(refused.is_err(), "{refused:?}");
    let mut c = TcpStream::connect(addr).await.expect("connect");
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = until_closed(c).await;
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");

    // A fresh client (new connection, new handshake) still gets in.
    let again = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("cert")])
        .build()
        .expect("client");
    let r = again
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("https after a failed handshake");
    assert_eq!(r.status(), 200);
    stop.cancel();
}

#[tokio::test]
async fn a_silent_tls_connection_is_closed_after_the_header_timeout_and_counts_against_the_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert_pem, key_pem) = self_signed();
    let cert = write(dir.path(), "cert.pem", &cert_pem);
    let key = write(dir.path(), "key.pem", &key_pem);
    let (addr, stop) = start(ServerConfig {
        tls: Some(TlsSettings::from_pem_files(&cert, &key).expect("tls settings")),
        max_connections: 2,
        header_timeout: Duration::from_secs(1),
        // Only the handshake's deadline can close a silent connection here.
        idle_timeout: Duration::from_secs(3600),
        ..ServerConfig::default()
    })
    .await;
    // Silent connections, more than the cap: each newcomer closes the oldest one (none has a
    // request in flight), and the last one is closed by the handshake's deadline.
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(addr).await.expect("connect"));
    }
    for c in silent {
        assert!(until_closed(c).await.is_empty());
    }
    let https = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("cert")])
        .build()
        .expect("client");
    let r = https
        .get(format!("https://{addr}/healthz"))
        .send()
        .await
        .expect("https");
    assert_eq!(r.status(), 200);
    stop.cancel();
}

#[test]
fn unusable_files_give_typed_errors_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert_pem, key_pem) = self_signed();
    let (_, other_key_pem) = self_signed();
    let cert = write(dir.path(), "cert.pem", &cert_pem);
    let key = write(dir.path(), "key.pem", &key_pem);
    let other_key = write(dir.path(), "other-key.pem", &other_key_pem);
    TlsSettings::from_pem_files(&cert, &key).expect("the matching pair");

    let e = TlsSettings::from_pem_files(&cert, &other_key).expect_err("mismatch");
    assert!(matches!(e, TlsError::KeyMismatch { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("other-key.pem") && text.contains("cert.pem") && text.contains("tls_key"),
        "{text}"
    );
    // Nothing of the key reaches the error.
    let body = other_key_pem.lines().nth(1).expect("a base64 line");
    assert!(!format!("{e:?}").contains(body) && !text.contains(body));

    let missing = dir.path().join("nope.pem");
    let e = TlsSettings::from_pem_files(&missing, &key).expect_err("missing cert");
    assert!(
        matches!(&e, TlsError::Read { path, .. } if *path == missing),
        "{e:?}"
    );
    assert!(e.to_string().contains("nope.pem"), "{e}");
    let e = TlsSettings::from_pem_files(&cert, &missing).expect_err("missing key");
    assert!(
        matches!(&e, TlsError::Read { path, .. } if *path == missing),
        "{e:?}"
    );

    // The files swapped: no certificate in the first, no key in the second.
    let e = TlsSettings::from_pem_files(&key, &key).expect_err("a key as the certificate");
    assert!(
        matches!(&e, TlsError::NoCertificate { path, .. } if *path == key),
        "{e:?}"
    );
    assert!(e.to_string().contains("tls_cert"), "{e}");
    let e = TlsSettings::from_pem_files(&cert, &cert).expect_err("a certificate as the key");
    assert!(
        matches!(&e, TlsError::NoKey { path, .. } if *path == cert),
        "{e:?}"
    );
    assert!(e.to_string().contains("tls_key"), "{e}");
}
