//! The native client against the real emulator: token caching, refresh on rejection, proxies, and
//! media downloads (`media.rs`).

mod api;
mod bounds;
mod media;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use wecom_client::{ClientConfig, NativeClient, ProxyConfig, RetryPolicy};
use wecom_crypto::{KeyRing, PrivateKey, decrypt_record};
use wecom_emulator::{CorpusSpec, Emulator, EmulatorConfig, Fault};
use wecom_wire::{ArchiveSource, SourceErrorKind};

const CORP: &str = "wwclienttest00001";
const SECRET: &str = "client-test-secret";

pub(crate) async fn emulator(messages: usize) -> (Emulator, String, PrivateKey, CancellationToken) {
    let key = PrivateKey::generate_rsa2048().expect("keygen");
    let mut config = EmulatorConfig::new(
        CorpusSpec {
            corp_id: CORP.into(),
            ..CorpusSpec::new(3, messages)
        },
        [(1u32, key.public_key())].into_iter().collect(),
    );
    config.corp_id = CORP.into();
    config.secret = SECRET.into();
    let emu = Emulator::new(config).expect("emulator");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let stop = CancellationToken::new();
    tokio::spawn(wecom_emulator::serve(
        emu.clone(),
        listener,
        stop.clone().cancelled_owned(),
    ));
    (emu, base, key, stop)
}

pub(crate) fn client(base: &str, proxy: Option<ProxyConfig>) -> NativeClient {
    let mut c = ClientConfig::new(base, CORP, SECRET);
    c.proxy = proxy;
    c.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(10),
    };
    NativeClient::new(c).expect("client")
}

#[tokio::test]
async fn pages_decrypt_and_the_token_is_fetched_once_then_refreshed_when_rejected() {
    let (emu, base, key, stop) = emulator(250).await;
    let c = client(&base, None);
    let mut ring = KeyRing::new();
    ring.insert(1, key);
    let mut seq = 0;
    let mut seen = 0;
    loop {
        let page = c.fetch_page(seq, 100).await.expect("page");
        if page.items.is_empty() {
            break;
        }
        for item in &page.items {
            decrypt_record(
                &ring,
                item.publickey_ver,
                &item.encrypt_random_key,
                &item.encrypt_chat_msg,
            )
            .expect("decrypts");
            seen += 1;
        }
        seq = page.items.last().map(|i| i.seq).expect("last");
    }
    assert_eq!(seen, 250);
    assert_eq!(
        emu.token_issued_count(),
        1,
        "the token is cached across calls"
    );

    emu.inject(Fault::ExpireTokens, 1);
    let page = c.fetch_page(0, 10).await.expect("page after expiry");
    assert_eq!(page.items.len(), 10);
    assert_eq!(
        emu.token_issued_count(),
        2,
        "an expired token is replaced at once"
    );
    stop.cancel();
}

#[tokio::test]
async fn wrong_secret_is_a_permanent_error_without_retries() {
    let (emu, base, _key, stop) = emulator(5).await;
    let mut cfg = ClientConfig::new(&base, CORP, "wrong");
    cfg.retry = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(10),
    };
    let c = NativeClient::new(cfg).expect("client");
    let e = c.fetch_page(0, 10).await.expect_err("wrong secret");
    assert_eq!(e.kind, SourceErrorKind::Api { errcode: 40001 });
    assert!(!e.retryable);
    assert!(e.message.contains("secret"), "{e}");
    assert_eq!(emu.request_count(), 0, "no getchatdata without a token");
    stop.cancel();
}

/// A minimal SOCKS5 proxy (RFC 1928 CONNECT, RFC 1929 user/password) that counts connections.
async fn socks5_proxy(user: &'static str, pass: &'static str) -> (String, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let url = format!("socks5h://{}", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicU32::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut head = [0u8; 2];
                inbound.read_exact(&mut head).await?;
                let mut methods = vec![0u8; head[1] as usize];
                inbound.read_exact(&mut methods).await?;
                if !methods.contains(&2) {
                    inbound.write_all(&[5, 0xFF]).await?;
                    return Ok::<(), std::io::Error>(());
                }
                inbound.write_all(&[5, 2]).await?;
                let mut ver_ulen = [0u8; 2];
                inbound.read_exact(&mut ver_ulen).await?;
                let mut u = vec![0u8; ver_ulen[1] as usize];
                inbound.read_exact(&mut u).await?;
                let mut plen = [0u8; 1];
                inbound.read_exact(&mut plen).await?;
                let mut p = vec![0u8; plen[0] as usize];
                inbound.read_exact(&mut p).await?;
                if u != user.as_bytes() || p != pass.as_bytes() {
                    inbound.write_all(&[1, 1]).await?;
                    return Ok(());
                }
                inbound.write_all(&[1, 0]).await?;
                let mut req = [0u8; 4];
                inbound.read_exact(&mut req).await?;
                let host = match req[3] {
                    1 => {
                        let mut ip = [0u8; 4];
                        inbound.read_exact(&mut ip).await?;
                        std::net::Ipv4Addr::from(ip).to_string()
                    }
                    3 => {
                        let mut len = [0u8; 1];
                        inbound.read_exact(&mut len).await?;
                        let mut name = vec![0u8; len[0] as usize];
                        inbound.read_exact(&mut name).await?;
                        String::from_utf8_lossy(&name).into_owned()
                    }
                    _ => return Ok(()),
                };
                let mut port = [0u8; 2];
                inbound.read_exact(&mut port).await?;
                let mut outbound =
                    TcpStream::connect((host.as_str(), u16::from_be_bytes(port))).await?;
                counter.fetch_add(1, Ordering::SeqCst);
                inbound.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await?;
                Ok(())
            });
        }
    });
    (url, count)
}

#[tokio::test]
async fn requests_go_through_a_socks5_proxy_with_credentials() {
    let (_emu, base, _key, stop) = emulator(30).await;
    let (proxy_url, used) = socks5_proxy("archiver", "pr0xy-pass").await;
    let c = client(
        &base,
        Some(ProxyConfig {
            url: proxy_url.clone(),
            username: Some("archiver".into()),
            password: Some("pr0xy-pass".into()),
        }),
    );
    let page = c.fetch_page(0, 30).await.expect("page through the proxy");
    assert_eq!(page.items.len(), 30);
    assert!(
        used.load(Ordering::SeqCst) >= 1,
        "the proxy carried the requests"
    );

    let bad = client(
        &base,
        Some(ProxyConfig {
            url: proxy_url,
            username: Some("archiver".into()),
            password: Some("nope".into()),
        }),
    );
    let e = bad
        .fetch_page(0, 30)
        .await
        .expect_err("bad proxy credentials");
    assert!(matches!(e.kind, SourceErrorKind::Network), "{e}");
    assert!(
        !e.message.contains("nope"),
        "proxy password must not leak into messages: {e}"
    );
    stop.cancel();
}
