//! Serving the genuine vendor library (sdk-wire-protocol.md §6): an HTTP CONNECT and SOCKS5h
//! proxy on loopback whose tunnels end in an in-process TLS endpoint presenting a self-signed
//! certificate for `qyapi.weixin.qq.com`, generated at start, behind which the emulator's usual
//! router answers (gettoken, getchatdata, getchatmediadata with its hand-written upper-case
//! `CONTENT-RANGE` answers).
//!
//! The library verifies the host name but not the chain, so any certificate naming
//! `qyapi.weixin.qq.com` is accepted. Point it here with the `proxy` argument of GetChatData /
//! GetMediaData: `http://127.0.0.1:PORT` (CONNECT) or `socks5h://127.0.0.1:PORT`. With a `passwd`
//! of `user:pass` it sends `Proxy-Authorization: Basic …` (SOCKS: RFC 1929); credentials are
//! accepted whatever they are, unless [`ProxyOptions::credentials`] requires particular ones.
//!
//! Decisions: only `qyapi.weixin.qq.com` may be tunnelled to (403 / SOCKS reply 2 otherwise,
//! since nothing else is emulated); requests other than CONNECT get 405; a tunnel's TLS
//! handshake must finish within [`HANDSHAKE_TIMEOUT`]. The proxy serves connections only: live
//! appends and callbacks are started by [`crate::serve`], which may run beside it on the same
//! [`Emulator`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use crate::accept::Tasks;
use crate::emulator::Emulator;
use crate::server::{router, serve_connection};

/// The only host the tunnels lead to.
pub const WECOM_HOST: &str = "qyapi.weixin.qq.com";

/// How long a client may take to send its proxy request and finish the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest CONNECT request head read.
const MAX_HEAD: usize = 16 * 1024;

/// How the proxy behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyOptions {
    /// Require these proxy credentials (`user`, `password`): HTTP 407 / SOCKS auth failure
    /// otherwise. `None` accepts requests with or without credentials.
    pub credentials: Option<(String, String)>,
}

/// The TLS identity the tunnels present: a fresh self-signed certificate for
/// `qyapi.weixin.qq.com`.
#[derive(Clone)]
pub struct TlsIdentity {
    acceptor: TlsAcceptor,
    certificate_der: Arc<Vec<u8>>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Generates a key pair and a self-signed certificate whose SAN is `qyapi.weixin.qq.com`.
    pub fn generate() -> std::io::Result<TlsIdentity> {
        let certified = rcgen::generate_simple_self_signed(vec![WECOM_HOST.to_owned()])
            .map_err(std::io::Error::other)?;
        let certificate = certified.cert.der().clone();
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(std::io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(vec![certificate.clone()], key)
            .map_err(std::io::Error::other)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            certificate_der: Arc::new(certificate.to_vec()),
        })
    }

    /// The certificate (DER), for a client that wants to trust it.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }
}

/// Serves the proxy on `listener` with a fresh certificate and no required credentials until
/// `shutdown` resolves; see the module docs.
pub async fn serve_proxy(
    emulator: Emulator,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let identity = TlsIdentity::generate()?;
    serve_proxy_with(
        emulator,
        listener,
        identity,
        ProxyOptions::default(),
        shutdown,
    )
    .await
}

/// [`serve_proxy`] with a given certificate and options. Owns every connection task and joins
/// them before returning.
pub async fn serve_proxy_with(
    emulator: Emulator,
    listener: TcpListener,
    identity: TlsIdentity,
    options: ProxyOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router(emulator);
    Tasks::new()
        .accept_until("proxy", listener, shutdown, move |stream, peer, stop| {
            tunnel(
                stream,
                peer,
                router.clone(),
                identity.clone(),
                options.clone(),
                stop,
            )
        })
        .await;
    Ok(())
}

/// Serves HTTPS directly on `listener` (no proxy), presenting `identity`: for a library routed
/// by a hosts-file entry for `qyapi.weixin.qq.com` in a private mount namespace, and for clients
/// that trust [`TlsIdentity::certificate_der`].
pub async fn serve_tls(
    emulator: Emulator,
    listener: TcpListener,
    identity: TlsIdentity,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router(emulator);
    Tasks::new()
        .accept_until("tls", listener, shutdown, move |stream, peer, stop| {
            serve_tls_stream(stream, peer, router.clone(), identity.clone(), stop)
        })
        .await;
    Ok(())
}

/// One proxy connection: the CONNECT (or SOCKS5) exchange, then TLS and the router.
async fn tunnel(
    mut stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    identity: TlsIdentity,
    options: ProxyOptions,
    stop: watch::Receiver<bool>,
) {
    let opened = tokio::time::timeout(HANDSHAKE_TIMEOUT, open_tunnel(&mut stream, &options)).await;
    match opened {
        Ok(Ok(())) => serve_tls_stream(stream, peer, router, identity, stop).await,
        Ok(Err(error)) => tracing::debug!(%error, %peer, "proxy request refused"),
        Err(_) => tracing::debug!(%peer, "proxy request timed out"),
    }
}

async fn serve_tls_stream(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    identity: TlsIdentity,
    stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, identity.acceptor.accept(stream)).await {
        Ok(Ok(tls)) => serve_connection(tls, peer, router, stop).await,
        Ok(Err(error)) => tracing::debug!(%error, %peer, "tls handshake failed"),
        Err(_) => tracing::debug!(%peer, "tls handshake timed out"),
    }
}

/// Reads the proxy request and answers it; `Ok` means the tunnel is open.
async fn open_tunnel(stream: &mut TcpStream, options: &ProxyOptions) -> std::io::Result<()> {
    let first = stream.read_u8().await?;
    if first == 5 {
        socks5(stream, options).await
    } else {
        http_connect(stream, first, options).await
    }
}

fn refused(what: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::PermissionDenied, what.into())
}

async fn http_connect(
    stream: &mut TcpStream,
    first: u8,
    options: &ProxyOptions,
) -> std::io::Result<()> {
    // Byte by byte, so that nothing after the head (the TLS ClientHello) is consumed here.
    let mut head = vec![first];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            answer(stream, "431 Request Header Fields Too Large", "").await?;
            return Err(refused("request head too large"));
        }
        head.push(stream.read_u8().await?);
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !method.eq_ignore_ascii_case("CONNECT") {
        answer(stream, "405 Method Not Allowed", "").await?;
        return Err(refused(format!("method {method} is not CONNECT")));
    }
    let host = target.rsplit_once(':').map_or(target, |(host, _)| host);
    if !host.eq_ignore_ascii_case(WECOM_HOST) {
        answer(stream, "403 Forbidden", "").await?;
        return Err(refused(format!("tunnel to {target} refused")));
    }
    if let Some((user, password)) = &options.credentials {
        let expected = format!("Basic {}", STANDARD.encode(format!("{user}:{password}")));
        let given = lines.find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("proxy-authorization")
                .then(|| value.trim().to_owned())
        });
        if given.as_deref() != Some(expected.as_str()) {
            answer(
                stream,
                "407 Proxy Authentication Required",
                "Proxy-Authenticate: Basic realm=\"wecom-emulator\"\r\n",
            )
            .await?;
            return Err(refused("proxy credentials missing or wrong"));
        }
    }
    answer(stream, "200 Connection established", "").await
}

async fn answer(stream: &mut TcpStream, status: &str, headers: &str) -> std::io::Result<()> {
    let reply = format!("HTTP/1.1 {status}\r\n{headers}Content-Length: 0\r\n\r\n");
    stream.write_all(reply.as_bytes()).await?;
    stream.flush().await
}

/// SOCKS5 (RFC 1928) with optional username/password (RFC 1929), CONNECT to a domain name only.
async fn socks5(stream: &mut TcpStream, options: &ProxyOptions) -> std::io::Result<()> {
    let n = stream.read_u8().await?;
    let mut methods = vec![0u8; usize::from(n)];
    stream.read_exact(&mut methods).await?;
    let method = if options.credentials.is_some() {
        methods.contains(&2).then_some(2u8)
    } else if methods.contains(&0) {
        Some(0)
    } else {
        methods.contains(&2).then_some(2u8)
    };
    let Some(method) = method else {
        stream.write_all(&[5, 0xFF]).await?;
        return Err(refused("no acceptable SOCKS authentication method"));
    };
    stream.write_all(&[5, method]).await?;
    if method == 2 {
        let _version = stream.read_u8().await?;
        let user = read_socks_string(stream).await?;
        let password = read_socks_string(stream).await?;
        let ok = options
            .credentials
            .as_ref()
            .is_none_or(|(u, p)| u.as_bytes() == user && p.as_bytes() == password);
        stream.write_all(&[1, if ok { 0 } else { 1 }]).await?;
        if !ok {
            return Err(refused("SOCKS credentials wrong"));
        }
    }
    let mut request = [0u8; 4];
    stream.read_exact(&mut request).await?;
    let [_, command, _, address_type] = request;
    let host = match address_type {
        3 => read_socks_string(stream).await?,
        1 => {
            let mut rest = [0u8; 4];
            stream.read_exact(&mut rest).await?;
            Vec::new()
        }
        4 => {
            let mut rest = [0u8; 16];
            stream.read_exact(&mut rest).await?;
            Vec::new()
        }
        _ => return Err(refused("unknown SOCKS address type")),
    };
    let _port = stream.read_u16().await?;
    let reply = |code: u8| [5, code, 0, 1, 0, 0, 0, 0, 0, 0];
    if command != 1 {
        stream.write_all(&reply(7)).await?;
        return Err(refused("only SOCKS CONNECT is served"));
    }
    if !host.eq_ignore_ascii_case(WECOM_HOST.as_bytes()) {
        // An address instead of a name: `socks5://` (which resolves locally) or another host.
        stream.write_all(&reply(2)).await?;
        return Err(refused("SOCKS tunnel to another host refused"));
    }
    stream.write_all(&reply(0)).await?;
    stream.flush().await
}

async fn read_socks_string(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let len = stream.read_u8().await?;
    let mut bytes = vec![0u8; usize::from(len)];
    stream.read_exact(&mut bytes).await?;
    Ok(bytes)
}
