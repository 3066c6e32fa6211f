//! The HTTP face of the emulator (sdk-wire-protocol.md §2–§4): gettoken, getchatdata,
//! getchatmediadata and the naming/scope/consent APIs (`server/directory.rs`) with WeCom's error
//! conventions (errcode inside a 200 body), plus injected transport faults.
//!
//! Connections are accepted by our own loop instead of `axum::serve` so that a handler can take a
//! connection over: close it without writing a single response byte (a fault), or write a response
//! hyper cannot produce — the media endpoint's upper-case `CONTENT-RANGE` header, which the vendor
//! library looks for case-sensitively while hyper lower-cases every header name.

mod directory;
mod media;

pub use media::MEDIA_CHUNK;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http_body::{Body as _, Frame};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use wecom_wire::directory::SecretKind;
use wecom_wire::{ChatDataItem, ChatDataRequest, ChatDataResponse, MAX_LIMIT, encrypt_sign};

use crate::accept::Tasks;
use crate::emulator::{Emulator, Fault, LiveConfig, TokenCheck};

/// Largest request body accepted; larger ones get 413.
pub const MAX_BODY: usize = 1 << 20;

/// Oversized bodies are read and discarded up to this size before answering 413; beyond it the
/// connection is simply closed.
const DRAIN_LIMIT: usize = 64 << 20;

/// WeCom errcodes the emulator answers with. 40058 is WeCom's generic "invalid parameter"; what the
/// real server says for a bad `limit` or `encrypt_sign` is unknown.
mod code {
    pub const SYSTEM_BUSY: i64 = -1;
    pub const UNKNOWN_FILEID: i64 = 301_010;
    pub const IP_NOT_ALLOWED: i64 = 301_042;
    pub const DATA_EXPIRED: i64 = 301_048;
    pub const INVALID_CREDENTIAL: i64 = 40001;
    pub const INVALID_CORPID: i64 = 40013;
    pub const INVALID_ACCESS_TOKEN: i64 = 40014;
    pub const INVALID_PARAMETER: i64 = 40058;
    pub const MISSING_ACCESS_TOKEN: i64 = 41001;
    pub const MISSING_CORPID: i64 = 41002;
    pub const MISSING_SECRET: i64 = 41004;
    pub const ACCESS_TOKEN_EXPIRED: i64 = 42001;
    pub const EMPTY_POST_DATA: i64 = 44002;
    pub const API_FORBIDDEN: i64 = 48002;
    pub const RATE_LIMITED: i64 = 45009;
    pub const MISSING_USERID: i64 = 41009;
    pub const DATA_FORMAT_ERROR: i64 = 47001;
    pub const NOT_FOUND: i64 = 404;
}

/// Per-connection handle given to handlers: lets them take the connection over.
#[derive(Clone)]
struct ConnControl {
    takeover: Arc<TakeoverSlot>,
    peer: SocketAddr,
}

/// What the connection task does instead of letting hyper answer.
enum Takeover {
    /// Close the connection with nothing (more) written.
    Drop,
    /// Write these bytes — a whole HTTP response, head included — then close the connection.
    Reply(Vec<u8>),
}

struct TakeoverSlot {
    action: std::sync::Mutex<Option<Takeover>>,
    notify: Notify,
}

impl ConnControl {
    /// Hands the connection to its task; the handler must then never return (the task drops it
    /// with the hyper connection).
    async fn take_over(&self, action: Takeover) -> ! {
        *self
            .takeover
            .action
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(action);
        self.takeover.notify.notify_one();
        std::future::pending().await
    }
}

/// The connection's stream (TCP, or TLS behind the proxy), shared so that it outlives the hyper
/// connection when a handler takes over. The lock is only held inside single poll calls, never
/// across an await.
struct SharedStream<S>(Arc<std::sync::Mutex<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> SharedStream<S> {
    fn with<R>(&self, f: impl FnOnce(Pin<&mut S>) -> R) -> R {
        let mut stream = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(Pin::new(&mut *stream))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for SharedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.with(|s| s.poll_read(cx, buf))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for SharedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.with(|s| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.with(|s| s.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.with(|s| s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.with(|s| s.poll_shutdown(cx))
    }
}

/// Serves the emulator on `listener` until `shutdown` resolves. Owns every task it starts (one per
/// connection, plus the live-append task when configured) and joins them before returning.
pub async fn serve(
    emulator: Emulator,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router(emulator.clone());
    let mut tasks = Tasks::new();
    if let Some(live) = emulator.live() {
        tasks.spawn(live_appender(emulator.clone(), live, tasks.stop()));
    }
    if let Some(callback) = emulator.callback_config() {
        tasks.spawn(crate::callback::sender(
            emulator.clone(),
            callback,
            tasks.stop(),
        ));
    }
    tasks
        .accept_until("emulator", listener, shutdown, move |stream, peer, stop| {
            serve_connection(stream, peer, router.clone(), stop)
        })
        .await;
    Ok(())
}

/// Serves HTTP/1 on one accepted connection (plain TCP here, TLS from `proxy.rs`) until it
/// closes or `stop` fires; a handler may take the connection over (see [`Takeover`]).
pub(crate) async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    router: Router,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let takeover = Arc::new(TakeoverSlot {
        action: std::sync::Mutex::new(None),
        notify: Notify::new(),
    });
    let control = ConnControl {
        takeover: takeover.clone(),
        peer,
    };
    let stream = Arc::new(std::sync::Mutex::new(stream));
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(control.clone());
            let mut router = router.clone();
            async move {
                let response: Result<Response, Infallible> =
                    tower_service::Service::call(&mut router, req.map(Body::new)).await;
                response
            }
        });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(SharedStream(stream.clone())), service);
    let mut conn = Box::pin(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        }
        () = takeover.notify.notified() => {
            // Dropping hyper's side (and the handler with it) leaves us the only stream owner.
            drop(conn);
            let action = takeover
                .action
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            let Ok(stream) = Arc::try_unwrap(stream) else { return };
            let mut stream = stream.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
            match action {
                Some(Takeover::Reply(bytes)) => {
                    use tokio::io::AsyncWriteExt as _;
                    tokio::select! {
                        written = stream.write_all(&bytes) => {
                            if written.is_ok() {
                                let _ = stream.shutdown().await;
                            }
                        }
                        () = stopped(&mut stop) => {}
                    }
                }
                // Closing the socket with nothing written.
                Some(Takeover::Drop) | None => {
                    tracing::debug!(%peer, "connection dropped (injected fault)");
                }
            }
        }
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Resolves once shutdown is signalled (or the signal is gone). Never holds the watch guard
/// across an await.
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

async fn live_appender(emulator: Emulator, live: LiveConfig, mut stop: watch::Receiver<bool>) {
    let rate = live.messages_per_second;
    if !rate.is_finite() || rate <= 0.0 {
        return;
    }
    // Slow rates tick once per record; fast ones append a batch every 100 ms.
    let tick = Duration::from_secs_f64((1.0 / rate).clamp(0.1, 3600.0));
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    let mut owed = 0.0;
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            _ = interval.tick() => {}
        }
        owed += rate * tick.as_secs_f64();
        let n = owed.floor();
        owed -= n;
        if n >= 1.0 {
            let em = emulator.clone();
            // Encryption is CPU work: keep it off the async workers.
            if let Err(error) = tokio::task::spawn_blocking(move || em.append(n as usize)).await {
                tracing::error!(%error, "live append task failed");
            }
        }
    }
}

/// The routes, with the emulator as state.
pub fn router(emulator: Emulator) -> Router {
    let routes = Router::new()
        .route("/cgi-bin/gettoken", get(gettoken))
        .route("/cgi-bin/message/getchatdata", post(getchatdata))
        .route(
            "/cgi-bin/message/getchatmediadata",
            post(media::getchatmediadata),
        );
    directory::routes(routes)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(emulator)
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

/// An API error the way WeCom sends it: HTTP 200, errcode and errmsg in the body. Client errors
/// carry WeCom's hint suffix so clients are pushed to match on errcode, never on errmsg.
fn api_error(errcode: i64, errmsg: &str, peer: Option<SocketAddr>) -> Response {
    let errmsg = if errcode >= 40000 {
        let hint: u64 = rand::random::<u64>() % 10_000_000_000_000;
        let ip = peer.map_or_else(|| "127.0.0.1".to_owned(), |p| p.ip().to_string());
        format!(
            "{errmsg}, hint: [{}{hint:013}], from ip: {ip}, more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        )
    } else {
        errmsg.to_owned()
    };
    let body = serde_json::json!({ "errcode": errcode, "errmsg": errmsg });
    json_response(StatusCode::OK, body.to_string().into_bytes())
}

/// The token checks every API shares, in WeCom's order: unknown (40014), expired (42001), then a
/// valid token of another secret (48002 `api forbidden`, what an app secret gets on the archive).
/// `None` when the token may call the API.
fn token_problem(
    emulator: &Emulator,
    token: &str,
    kind: SecretKind,
) -> Option<(i64, &'static str)> {
    match emulator.check_token(token, kind) {
        TokenCheck::Valid => None,
        TokenCheck::Unknown => Some((code::INVALID_ACCESS_TOKEN, "invalid access_token")),
        TokenCheck::Expired => Some((code::ACCESS_TOKEN_EXPIRED, "access_token expired")),
        TokenCheck::Forbidden => Some((code::API_FORBIDDEN, "api forbidden")),
    }
}

/// [`token_problem`] as the answer to send.
fn token_refusal(
    emulator: &Emulator,
    token: &str,
    kind: SecretKind,
    peer: Option<SocketAddr>,
) -> Option<Response> {
    token_problem(emulator, token, kind).map(|(errcode, errmsg)| api_error(errcode, errmsg, peer))
}

fn peer_of(req: &Request) -> Option<SocketAddr> {
    req.extensions().get::<ConnControl>().map(|c| c.peer)
}

/// Query parameters, tolerating anything: a malformed query is treated as an empty one.
fn query_params(req: &Request) -> HashMap<String, String> {
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(req.uri())
        .map(|q| q.0)
        .unwrap_or_default()
}

async fn gettoken(State(emulator): State<Emulator>, req: Request) -> Response {
    let peer = peer_of(&req);
    let params = query_params(&req);
    let corp_id = params.get("corpid").filter(|s| !s.is_empty());
    let secret = params.get("corpsecret").filter(|s| !s.is_empty());
    let Some(corp_id) = corp_id else {
        return api_error(code::MISSING_CORPID, "corpid missing", peer);
    };
    let Some(secret) = secret else {
        return api_error(code::MISSING_SECRET, "corpsecret missing", peer);
    };
    match emulator.credentials_match(corp_id, secret) {
        (false, _) => api_error(code::INVALID_CORPID, "invalid corpid", peer),
        (true, roles) if roles.is_empty() => {
            api_error(code::INVALID_CREDENTIAL, "invalid credential", peer)
        }
        (true, roles) => {
            let (token, expires_in) = emulator.issue_token(roles);
            let body = serde_json::json!({
                "errcode": 0,
                "errmsg": "ok",
                "access_token": token,
                "expires_in": expires_in,
            });
            json_response(StatusCode::OK, body.to_string().into_bytes())
        }
    }
}

async fn getchatdata(State(emulator): State<Emulator>, req: Request) -> Response {
    emulator.count_request();
    let peer = peer_of(&req);
    let mut truncate = false;
    let mut hostile = None;
    match emulator.take_fault() {
        None => {}
        Some(Fault::Http500) => {
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error",
            );
        }
        Some(Fault::Http502) => return html(StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
        Some(Fault::DropConnection) => {
            if let Some(control) = req.extensions().get::<ConnControl>() {
                control.take_over(Takeover::Drop).await;
            }
            // Served through `router` without our accept loop: the closest thing is a cut body.
            truncate = true;
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::ErrcodeSystemBusy) => {
            return api_error(code::SYSTEM_BUSY, "system busy", peer);
        }
        Some(Fault::ExpireTokens) => emulator.expire_tokens(),
        Some(Fault::TruncatedBody) => truncate = true,
        Some(
            fault @ (Fault::UnreadableItem
            | Fault::ItemWithoutMsgid
            | Fault::ItemWithSeq { .. }
            | Fault::ReplayFirstPage
            | Fault::ExtraItems(_)),
        ) => hostile = Some(fault),
        Some(Fault::Errcode { errcode, errmsg }) => return api_error(errcode, errmsg, peer),
    }

    let params = query_params(&req);
    let body = match read_body(req.into_body()).await {
        BodyRead::Complete(body) => body,
        BodyRead::TooLarge => return too_large(),
        // The client went away mid-request; nobody reads this answer.
        BodyRead::Failed => return html(StatusCode::BAD_REQUEST, "400 Bad Request"),
    };

    let token = match params.get("access_token").filter(|t| !t.is_empty()) {
        None => return api_error(code::MISSING_ACCESS_TOKEN, "access_token missing", peer),
        Some(token) => token,
    };
    if let Some(refused) = token_refusal(&emulator, token, SecretKind::Archive, peer) {
        return refused;
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return api_error(code::EMPTY_POST_DATA, "empty post data", peer);
    }
    // The vendor library labels its JSON body application/x-www-form-urlencoded: ignore the type.
    let request: ChatDataRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => return api_error(code::DATA_FORMAT_ERROR, "data format error", peer),
    };
    if request.limit == 0 || request.limit > MAX_LIMIT {
        return api_error(code::INVALID_PARAMETER, "invalid limit", peer);
    }
    if emulator.check_encrypt_sign() && request.encrypt_sign != encrypt_sign(token) {
        return api_error(code::INVALID_PARAMETER, "invalid encrypt_sign", peer);
    }

    let chatdata = match hostile {
        Some(Fault::ReplayFirstPage) => emulator.page(0, request.limit as usize),
        Some(Fault::ExtraItems(n)) => {
            emulator.page(request.seq, request.limit as usize + n as usize)
        }
        _ => emulator.page(request.seq, request.limit as usize),
    };
    if let Some(
        fault @ (Fault::UnreadableItem | Fault::ItemWithoutMsgid | Fault::ItemWithSeq { .. }),
    ) = hostile
        && !chatdata.is_empty()
    {
        return json_response(StatusCode::OK, hostile_body(fault, chatdata));
    }
    let body = if chatdata.is_empty() {
        // Real WeCom may leave `chatdata` out when there is nothing new; we always do.
        br#"{"errcode":0,"errmsg":"ok"}"#.to_vec()
    } else {
        let page = ChatDataResponse {
            errcode: 0,
            errmsg: "ok".to_owned(),
            chatdata,
        };
        match serde_json::to_vec(&page) {
            Ok(body) => body,
            Err(_) => return api_error(code::SYSTEM_BUSY, "system busy", peer),
        }
    };
    if truncate {
        truncated(body)
    } else {
        json_response(StatusCode::OK, body)
    }
}

/// A getchatdata body with one hostile item, written by hand: serde would not write invalid
/// UTF-8 or leave a field out.
fn hostile_body(fault: Fault, mut chatdata: Vec<ChatDataItem>) -> Vec<u8> {
    if let (Fault::ItemWithSeq { seq }, Some(last)) = (fault, chatdata.last_mut()) {
        last.seq = seq;
        last.msgid = format!("hostile-{seq}");
    }
    let mut body = br#"{"errcode":0,"errmsg":"ok","chatdata":["#.to_vec();
    for (i, item) in chatdata.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        let mut value = serde_json::to_value(item).unwrap_or_default();
        if i == 0
            && fault == Fault::ItemWithoutMsgid
            && let Some(map) = value.as_object_mut()
        {
            map.remove("msgid");
        }
        let mut bytes = serde_json::to_vec(&value).unwrap_or_default();
        if i == 0 && fault == Fault::UnreadableItem {
            let marker = br#""msgid":""#;
            if let Some(at) = bytes.windows(marker.len()).position(|w| w == marker) {
                bytes.insert(at + marker.len(), 0xFF);
            }
        }
        body.extend_from_slice(&bytes);
    }
    body.extend_from_slice(b"]}");
    body
}

enum BodyRead {
    Complete(Vec<u8>),
    TooLarge,
    Failed,
}

/// Reads up to [`MAX_BODY`] bytes. A larger body is still drained (up to [`DRAIN_LIMIT`]) before
/// the 413, so the client finishes sending and sees the answer instead of a reset connection.
async fn read_body(mut body: Body) -> BodyRead {
    let mut out = Vec::new();
    let mut seen = 0usize;
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        match frame {
            None => break,
            Some(Err(_)) => return BodyRead::Failed,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    seen = seen.saturating_add(data.len());
                    if seen <= MAX_BODY {
                        out.extend_from_slice(&data);
                    } else if seen > DRAIN_LIMIT {
                        return BodyRead::TooLarge;
                    }
                }
            }
        }
    }
    if seen > MAX_BODY {
        BodyRead::TooLarge
    } else {
        BodyRead::Complete(out)
    }
}

fn html(status: StatusCode, title: &str) -> Response {
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

fn too_large() -> Response {
    let body = serde_json::json!({ "errcode": 413, "errmsg": "request entity too large" });
    json_response(StatusCode::PAYLOAD_TOO_LARGE, body.to_string().into_bytes())
}

async fn not_found(req: Request) -> Response {
    let body = serde_json::json!({
        "errcode": code::NOT_FOUND,
        "errmsg": format!("not found: {}", req.uri().path()),
    });
    json_response(StatusCode::NOT_FOUND, body.to_string().into_bytes())
}

async fn method_not_allowed(req: Request) -> Response {
    let body = serde_json::json!({
        "errcode": 405,
        "errmsg": format!("method {} not allowed", req.method()),
    });
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        body.to_string().into_bytes(),
    )
}

/// A response that declares the full Content-Length but sends only the first half of the body,
/// then fails, which makes hyper close the connection mid-body.
fn truncated(body: Vec<u8>) -> Response {
    let full = body.len();
    cut(body, full)
}

/// A response announcing `announced` bytes that carries the first half of them (at most all of
/// `body`) and fails.
pub(crate) fn cut(body: Vec<u8>, announced: usize) -> Response {
    let mut head = body;
    head.truncate(announced / 2);
    let mut response = Response::new(Body::new(CutBody {
        head: Some(Bytes::from(head)),
        pause: None,
    }));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(announced));
    response
}

/// Yields one data frame, waits a moment so hyper flushes it, then errors.
struct CutBody {
    head: Option<Bytes>,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for CutBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(head) = self.head.take() {
            self.pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(20))));
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if let Some(pause) = self.pause.as_mut()
            && pause.as_mut().poll(cx).is_pending()
        {
            return Poll::Pending;
        }
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "injected truncated body",
        ))))
    }
}
