//! The accept loop and each connection's limits: a cap on open connections (at the cap the
//! connection idle longest makes room, or the newcomer is closed at once when every connection
//! has a request in flight), a timeout for the request head, one for the body, and an idle limit
//! (no byte moved either way). An accept error (EMFILE when descriptors run out) never ends the
//! server: it is logged once per burst and accepting resumes after a short pause.
//!
//! With TLS the handshake comes first and must complete within the head timeout; a failed or late
//! handshake (plain HTTP on the TLS port, a scanner) closes that connection only, logged at debug.
//! A connection counts against the cap from its accept, handshake included. Every request handed
//! to the router carries the peer's address ([`ConnectInfo`]) and its [`Transport`].

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower_service::Service;
use tracing::{debug, info, warn};

use crate::{ServerConfig, Transport};

/// Request bodies above this are refused before any handler sees them (the callback endpoint
/// applies its own, smaller limit).
const MAX_REQUEST_BODY: usize = 1024 * 1024;
/// Request heads (start line and headers) above this are refused with 431.
const MAX_HEAD: usize = 64 * 1024;
/// How long shutdown lets requests in flight finish.
const DRAIN: Duration = Duration::from_secs(5);
/// Longest pause after accept errors (doubling from 10 ms).
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct Limits {
    max_connections: usize,
    header_timeout: Duration,
    body_timeout: Duration,
    idle_timeout: Duration,
}

impl Limits {
    fn new(c: &ServerConfig) -> Limits {
        Limits {
            max_connections: c.max_connections.max(1),
            header_timeout: c.header_timeout.max(Duration::from_millis(1)),
            body_timeout: c.body_timeout.max(Duration::from_millis(1)),
            idle_timeout: c.idle_timeout.max(Duration::from_millis(1)),
        }
    }
}

/// One open connection, as the accept loop sees it.
struct Conn {
    id: u64,
    /// Requests being answered on it; a connection with none may be closed to make room.
    in_flight: AtomicUsize,
    /// Cancelled to close it at once.
    close: CancellationToken,
}

/// The open connections, oldest first.
#[derive(Default)]
struct Registry {
    conns: Mutex<VecDeque<Arc<Conn>>>,
    next_id: AtomicU64,
}

enum Admission {
    Admitted(Arc<Conn>),
    /// Admitted after closing the oldest connection without a request in flight.
    AdmittedEvicting(Arc<Conn>),
    /// Every connection is answering a request: the newcomer is closed at once.
    Full,
}

impl Registry {
    fn admit(&self, max: usize) -> Admission {
        let mut conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            in_flight: AtomicUsize::new(0),
            close: CancellationToken::new(),
        });
        if conns.len() < max {
            conns.push_back(conn.clone());
            return Admission::Admitted(conn);
        }
        let idle = conns
            .iter()
            .position(|c| c.in_flight.load(Ordering::SeqCst) == 0);
        match idle.and_then(|i| conns.remove(i)) {
            Some(oldest) => {
                oldest.close.cancel();
                conns.push_back(conn.clone());
                Admission::AdmittedEvicting(conn)
            }
            None => Admission::Full,
        }
    }

    fn remove(&self, id: u64) {
        let mut conns = self.conns.lock().unwrap_or_else(PoisonError::into_inner);
        conns.retain(|c| c.id != id);
    }
}

/// Removes its connection from the registry however the connection task ends (even aborted).
struct Registered {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

/// Counts a request in flight for as long as it lives.
struct InFlight(Arc<Conn>);

impl InFlight {
    fn new(conn: &Arc<Conn>) -> InFlight {
        conn.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(conn.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// When a byte last moved on a connection, in milliseconds after `base`.
struct Activity {
    base: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            base: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.base + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// The socket, noting every byte read or written.
struct ActivityIo {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for ActivityIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl AsyncWrite for ActivityIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A response that also closes the connection.
fn closing(status: StatusCode, text: &'static str) -> Response {
    let mut r = (status, text).into_response();
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Where a request came from: the peer and whether the connection is TLS.
#[derive(Debug, Clone, Copy)]
struct Peer {
    addr: SocketAddr,
    transport: Transport,
}

/// Reads the whole body within the body timeout, then hands the request to the router with the
/// peer's address and the transport as extensions.
async fn handle(
    mut router: Router,
    req: Request<Incoming>,
    body_timeout: Duration,
    peer: Peer,
) -> Result<Response, Infallible> {
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(ConnectInfo(peer.addr));
    parts.extensions.insert(peer.transport);
    let read = axum::body::to_bytes(Body::new(body), MAX_REQUEST_BODY);
    let bytes = match tokio::time::timeout(body_timeout, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            let too_large = parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok())
                .is_some_and(|n| n > MAX_REQUEST_BODY);
            return Ok(if too_large {
                closing(StatusCode::PAYLOAD_TOO_LARGE, "request body too large")
            } else {
                closing(StatusCode::BAD_REQUEST, "request body could not be read")
            });
        }
        Err(_) => {
            debug!("request body not received within the body timeout");
            return Ok(closing(
                StatusCode::REQUEST_TIMEOUT,
                "request body not received in time",
            ));
        }
    };
    router
        .call(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// One accepted connection, as its task receives it.
struct Accepted {
    stream: TcpStream,
    peer: SocketAddr,
    conn: Arc<Conn>,
    registered: Registered,
}

/// Serves one connection (after its TLS handshake, with TLS) until it ends, is closed to make
/// room, sits idle too long, or shutdown lets its request in flight finish.
async fn connection(
    accepted: Accepted,
    router: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    stop: CancellationToken,
) {
    let Accepted {
        stream,
        peer,
        conn,
        registered: _registered,
    } = accepted;
    let activity = Arc::new(Activity::new());
    activity.touch();
    let io = ActivityIo {
        inner: stream,
        activity: activity.clone(),
    };
    let Some(acceptor) = tls else {
        let via = Peer {
            addr: peer,
            transport: Transport { tls: false },
        };
        return http(io, via, &conn, &activity, router, limits, stop).await;
    };
    let handshake = tokio::time::timeout(limits.header_timeout, acceptor.accept(io));
    let io = tokio::select! {
        done = handshake => match done {
            Ok(Ok(io)) => io,
            Ok(Err(e)) => {
                debug!(%peer, error = %e, "TLS handshake failed: connection closed");
                return;
            }
            Err(_) => {
                debug!(%peer, "TLS handshake not completed within the header timeout: connection closed");
                return;
            }
        },
        () = conn.close.cancelled() => {
            debug!("closing a connection in its TLS handshake to make room for a new one");
            return;
        }
        () = stop.cancelled() => return,
    };
    let via = Peer {
        addr: peer,
        transport: Transport { tls: true },
    };
    http(io, via, &conn, &activity, router, limits, stop).await;
}

/// HTTP/1.1 on an established connection (plain or TLS), with the connection's limits.
async fn http<I>(
    io: I,
    peer: Peer,
    conn: &Arc<Conn>,
    activity: &Activity,
    router: Router,
    limits: Limits,
    stop: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let svc = {
        let conn = conn.clone();
        service_fn(move |req: Request<Incoming>| {
            let guard = InFlight::new(&conn);
            let router = router.clone();
            async move {
                let response = handle(router, req, limits.body_timeout, peer).await;
                drop(guard);
                response
            }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD)
        .keep_alive(true);
    let served = builder.serve_connection(io, svc);
    tokio::pin!(served);
    let mut draining = false;
    loop {
        let idle_until = activity.last() + limits.idle_timeout;
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = conn.close.cancelled() => {
                debug!("closing an idle connection to make room for a new one");
                return;
            }
            () = stop.cancelled(), if !draining => {
                draining = true;
                served.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(idle_until) => {
                if activity.last() + limits.idle_timeout <= Instant::now() {
                    debug!("closing a connection idle longer than the idle timeout");
                    return;
                }
            }
        }
    }
}

/// The accept loop behind [`crate::serve`].
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = Limits::new(config);
    let tls = config.tls.as_ref().map(crate::TlsSettings::acceptor);
    let registry = Arc::new(Registry::default());
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut accept_errors: u32 = 0;
    let mut refused: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if accept_errors > 0 {
                        info!(errors = accept_errors, "accepting connections again");
                        accept_errors = 0;
                    }
                    let conn = match registry.admit(limits.max_connections) {
                        Admission::Admitted(c) => c,
                        Admission::AdmittedEvicting(c) => {
                            debug!(max_connections = limits.max_connections, "connection cap reached: closed the oldest idle connection");
                            c
                        }
                        Admission::Full => {
                            refused += 1;
                            if refused == 1 {
                                warn!(max_connections = limits.max_connections, "connection cap reached with a request in flight on every connection: closing new connections until one ends (raise [server] max_connections if this is legitimate load)");
                            }
                            drop(stream);
                            continue;
                        }
                    };
                    if refused > 0 {
                        info!(refused, "connections accepted again after the cap was reached");
                        refused = 0;
                    }
                    let _ = stream.set_nodelay(true);
                    let registered = Registered { registry: registry.clone(), id: conn.id };
                    let accepted = Accepted { stream, peer, conn, registered };
                    tasks.spawn(connection(accepted, router.clone(), limits, tls.clone(), stop.clone()));
                }
                Err(e) => {
                    accept_errors = accept_errors.saturating_add(1);
                    if accept_errors == 1 {
                        warn!(error = %e, "cannot accept connections (out of file descriptors? raise `ulimit -n` or lower [server] max_connections); retrying");
                    }
                    let pause = Duration::from_millis(10)
                        .saturating_mul(1 << accept_errors.min(7))
                        .min(MAX_ACCEPT_BACKOFF);
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
    }
    drop(listener);
    stop.cancel();
    // Requests in flight finish; idle connections close at once.
    let _ = tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    tasks.shutdown().await;
    Ok(())
}
