//! The few S3 requests the backend needs, signed with SigV4 and sent with the workspace's reqwest:
//! retries of transient failures, and the mapping of every failure to a [`BlobError`] that names
//! the endpoint and key (never a credential).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::{Method, Response, StatusCode};
use tokio::io::{AsyncRead, ReadBuf};
use url::Url;

use super::S3Config;
use super::sigv4::{self, Canonical, EMPTY_SHA256};
use crate::BlobError;

/// How much of an error body is read to find its `<Code>` and `<Message>`.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub(crate) struct Client {
    http: reqwest::Client,
    /// The endpoint without credentials, for messages.
    endpoint: Url,
    bucket: String,
    region: String,
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
    path_style: bool,
    max_attempts: u32,
}

/// One request, described before it is signed (it is signed again on every attempt).
pub(crate) struct Call<'a> {
    pub op: &'static str,
    pub method: Method,
    pub key: &'a str,
    pub query: Vec<(&'static str, String)>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
    /// The SHA-256 of `body` in hex; `None` for an empty body.
    pub body_sha256: Option<String>,
}

impl<'a> Call<'a> {
    pub fn new(op: &'static str, method: Method, key: &'a str) -> Call<'a> {
        Call {
            op,
            method,
            key,
            query: Vec::new(),
            headers: Vec::new(),
            body: Bytes::new(),
            body_sha256: None,
        }
    }

    pub fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Bytes, sha256: String) -> Self {
        self.body = body;
        self.body_sha256 = Some(sha256);
        self
    }
}

impl Client {
    pub fn new(config: &S3Config) -> Result<Client, BlobError> {
        let invalid = |cause: String| BlobError::Config { cause };
        let endpoint = Url::parse(&config.endpoint)
            .map_err(|e| invalid(format!("s3 endpoint {:?}: {e}", config.endpoint)))?;
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.host_str().is_none() {
            return Err(invalid(format!(
                "s3 endpoint {:?} must be an http or https url with a host",
                config.endpoint
            )));
        }
        if !endpoint.username().is_empty() || endpoint.password().is_some() {
            return Err(invalid(
                "s3 endpoint must not carry credentials; set the access and secret key instead"
                    .into(),
            ));
        }
        if endpoint.query().is_some() || endpoint.fragment().is_some() {
            return Err(invalid(format!(
                "s3 endpoint {endpoint} must not have a query or fragment"
            )));
        }
        if config.bucket.is_empty() || config.bucket.contains('/') {
            return Err(invalid(format!(
                "s3 bucket {:?} must be a non-empty name without '/'",
                config.bucket
            )));
        }
        if !config.path_style && !matches!(endpoint.host(), Some(url::Host::Domain(_))) {
            return Err(invalid(format!(
                "s3 endpoint {endpoint} is an ip address, which cannot carry the bucket as a \
                 subdomain: set path_style"
            )));
        }
        if config.region.is_empty() {
            return Err(invalid("s3 region must not be empty".into()));
        }
        // No system proxy: the environment is configuration, and configuration is passed in.
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .build()
            .map_err(|e| invalid(format!("s3 http client: {}", chain(&e))))?;
        Ok(Client {
            http,
            endpoint,
            bucket: config.bucket.clone(),
            region: config.region.clone(),
            access_key: config.access_key.clone(),
            secret_key: config.secret_key.clone(),
            session_token: config.session_token.clone(),
            path_style: config.path_style,
            max_attempts: config.max_attempts.max(1),
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// How errors name an object: `s3://bucket/key at http://endpoint/`.
    pub fn target(&self, key: &str) -> String {
        format!("s3://{}/{key} at {}", self.bucket, self.endpoint)
    }

    /// The URL of `key` and the `Host` it is signed for.
    fn url(&self, key: &str, query: &[(&'static str, String)]) -> Result<(Url, String), BlobError> {
        let mut url = self.endpoint.clone();
        let base = self.endpoint.path().trim_end_matches('/');
        let path = if self.path_style {
            format!(
                "{base}/{}/{}",
                sigv4::encode_path(&self.bucket),
                sigv4::encode_path(key)
            )
        } else {
            let host = format!("{}.{}", self.bucket, self.endpoint.host_str().unwrap_or(""));
            url.set_host(Some(&host)).map_err(|e| BlobError::Config {
                cause: format!("s3 virtual-hosted name {host:?}: {e}"),
            })?;
            format!("{base}/{}", sigv4::encode_path(key))
        };
        url.set_path(&path);
        let query = sigv4::canonical_query(query);
        url.set_query((!query.is_empty()).then_some(query.as_str()));
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => String::new(),
        };
        Ok((url, host))
    }

    /// Sends `call`, retrying transient failures; returns the response only if it is a success.
    pub async fn send(&self, call: &Call<'_>) -> Result<Response, BlobError> {
        let mut attempt = 1;
        loop {
            match self.send_once(call).await {
                Err(error) if error.is_transient() && attempt < self.max_attempts => {
                    let delay = Duration::from_millis(100 << attempt.min(6));
                    tracing::debug!(%error, op = call.op, attempt, "s3 request failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(error) => return Err(error.into_blob_error(self, call)),
                Ok(response) => return Ok(response),
            }
        }
    }

    async fn send_once(&self, call: &Call<'_>) -> Result<Response, Failure> {
        let (url, host) = self.url(call.key, &call.query).map_err(Failure::Blob)?;
        let amz_date = sigv4::amz_date(SystemTime::now());
        let payload = call.body_sha256.as_deref().unwrap_or(EMPTY_SHA256);
        let mut headers: Vec<(&str, String)> = vec![
            ("host", host),
            ("x-amz-content-sha256", payload.to_string()),
            ("x-amz-date", amz_date.clone()),
        ];
        if let Some(token) = &self.session_token {
            headers.push(("x-amz-security-token", token.clone()));
        }
        headers.extend(call.headers.iter().map(|(n, v)| (*n, v.clone())));
        let authorization = sigv4::authorization(
            &self.access_key,
            &self.secret_key,
            &self.region,
            &amz_date,
            &Canonical {
                method: call.method.as_str(),
                path: url.path(),
                query: &call.query,
                headers: &headers,
                payload_sha256: payload,
            },
        );
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .header("authorization", authorization);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        // Every request that may carry a body says how long it is (POST included: some servers
        // answer 411 to a POST without Content-Length).
        if !matches!(call.method, Method::GET | Method::HEAD | Method::DELETE) {
            request = request
                .header("content-length", call.body.len())
                .body(call.body.clone());
        }
        let response = request.send().await.map_err(Failure::Transport)?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = if call.method == Method::HEAD {
            String::new()
        } else {
            read_error_body(response).await
        };
        Err(Failure::Status {
            status,
            code: xml_text(&body, "Code").unwrap_or_default(),
            message: xml_text(&body, "Message").unwrap_or_default(),
        })
    }

    /// Reads a success response's XML body (bounded) and fails if it is an `<Error>`: S3 reports
    /// some failures of CompleteMultipartUpload and CopyObject with status 200.
    pub async fn xml_body(&self, call: &Call<'_>, response: Response) -> Result<String, BlobError> {
        let body = read_body(response, MAX_ERROR_BODY)
            .await
            .map_err(|e| Failure::Transport(e).into_blob_error(self, call))?;
        if xml_root(&body) == Some("Error") {
            let failure = Failure::Status {
                status: StatusCode::OK,
                code: xml_text(&body, "Code").unwrap_or_default(),
                message: xml_text(&body, "Message").unwrap_or_default(),
            };
            return Err(failure.into_blob_error(self, call));
        }
        Ok(body)
    }
}

/// Why one attempt failed, before it is turned into a [`BlobError`].
enum Failure {
    Transport(reqwest::Error),
    Status {
        status: StatusCode,
        code: String,
        message: String,
    },
    Blob(BlobError),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Transport(error) => f.write_str(&chain(error)),
            Failure::Status { status, code, .. } => write!(f, "http {} {code}", status.as_u16()),
            Failure::Blob(error) => write!(f, "{error}"),
        }
    }
}

impl Failure {
    fn is_transient(&self) -> bool {
        match self {
            Failure::Transport(_) => true,
            Failure::Status { status, code, .. } => transient_status(*status, code),
            Failure::Blob(_) => false,
        }
    }

    fn into_blob_error(self, client: &Client, call: &Call<'_>) -> BlobError {
        let target = client.target(call.key);
        let op = call.op;
        let (status, code, message) = match self {
            Failure::Blob(error) => return error,
            Failure::Transport(error) => {
                let cause = chain(&error);
                return BlobError::Unavailable { target, op, cause };
            }
            Failure::Status {
                status,
                code,
                message,
            } => (status, code, message),
        };
        status_error(target, op, status, &code, &message)
    }
}

/// The error of a request the server answered with `status` and an S3 error `code`.
pub(crate) fn status_error(
    target: String,
    op: &'static str,
    status: StatusCode,
    code: &str,
    message: &str,
) -> BlobError {
    let mut cause = format!("http {}", status.as_u16());
    if !code.is_empty() {
        cause.push_str(&format!(" {code}"));
    }
    if !message.is_empty() {
        cause.push_str(&format!(": {message}"));
    }
    let hint = match code {
        "SignatureDoesNotMatch" => "; check the secret key and region",
        "InvalidAccessKeyId" => "; check the access key",
        "AccessDenied" => "; check the credentials and the bucket policy",
        "NoSuchBucket" => "; create the bucket or fix its name",
        "PermanentRedirect" | "AuthorizationHeaderMalformed" => "; check the region",
        _ if status == StatusCode::FORBIDDEN => "; check the credentials",
        _ => "",
    };
    cause.push_str(hint);
    match (status, code) {
        (_, "NoSuchKey") | (StatusCode::NOT_FOUND, "") => BlobError::NotFound { key: target },
        (StatusCode::INSUFFICIENT_STORAGE, _) | (_, "XMinioStorageFull") => BlobError::DiskFull {
            location: target,
            op,
            cause,
        },
        // The server received other bytes than were sent: damaged in transfer.
        (_, "BadDigest" | "XAmzContentSHA256Mismatch" | "IncompleteBody") => BlobError::Io {
            location: target,
            op,
            cause,
        },
        // The upload vanished (a lifecycle rule, an operator): starting again will work.
        (_, "NoSuchUpload") => BlobError::Unavailable { target, op, cause },
        (status, code) if transient_status(status, code) => {
            BlobError::Unavailable { target, op, cause }
        }
        _ => BlobError::Rejected { target, op, cause },
    }
}

/// Server errors, throttling and timeouts pass; a request sent again may succeed.
fn transient_status(status: StatusCode, code: &str) -> bool {
    status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || matches!(
            code,
            "SlowDown" | "InternalError" | "RequestTimeout" | "BadDigest"
        )
}

/// An error with its sources, which reqwest keeps out of its own message ("connection refused"
/// is two levels down).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

async fn read_error_body(response: Response) -> String {
    read_body(response, MAX_ERROR_BODY)
        .await
        .unwrap_or_default()
}

/// Reads at most `limit` bytes of a body, as lossy UTF-8.
async fn read_body(mut response: Response, limit: usize) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await? {
            Some(chunk) => body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]),
            None => break,
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The text of the first `<tag>…</tag>` of a small XML document, unescaped.
pub(crate) fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(xml_unescape(&xml[start..end]))
}

/// The name of the root element, skipping the declaration, comments and whitespace.
pub(crate) fn xml_root(xml: &str) -> Option<&str> {
    let mut rest = xml.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after.split_once("?>")?.1.trim_start();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->")?.1.trim_start();
        } else {
            let name = rest.strip_prefix('<')?;
            let end = name
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .unwrap_or(name.len());
            return Some(&name[..end]);
        }
    }
}

fn xml_unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}

pub(crate) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

type ChunkFuture = Pin<Box<dyn Future<Output = (Response, reqwest::Result<Option<Bytes>>)> + Send>>;

/// A response body as an [`AsyncRead`], one network chunk at a time.
pub(crate) struct BodyReader {
    pending: Bytes,
    state: ReadState,
}

enum ReadState {
    Idle(Box<Response>),
    Reading(ChunkFuture),
    Done,
}

impl BodyReader {
    pub fn new(response: Response) -> BodyReader {
        BodyReader {
            pending: Bytes::new(),
            state: ReadState::Idle(Box::new(response)),
        }
    }
}

impl AsyncRead for BodyReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(buf.remaining());
                let chunk = self.pending.split_to(n);
                buf.put_slice(&chunk);
                return Poll::Ready(Ok(()));
            }
            match std::mem::replace(&mut self.state, ReadState::Done) {
                ReadState::Done => return Poll::Ready(Ok(())),
                ReadState::Idle(mut response) => {
                    self.state = ReadState::Reading(Box::pin(async move {
                        let chunk = response.chunk().await;
                        (*response, chunk)
                    }));
                }
                ReadState::Reading(mut future) => match future.as_mut().poll(cx) {
                    Poll::Pending => {
                        self.state = ReadState::Reading(future);
                        return Poll::Pending;
                    }
                    Poll::Ready((response, result)) => match result {
                        Ok(Some(chunk)) => {
                            self.pending = chunk;
                            self.state = ReadState::Idle(Box::new(response));
                        }
                        Ok(None) => return Poll::Ready(Ok(())),
                        Err(error) => return Poll::Ready(Err(io::Error::other(chain(&error)))),
                    },
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_virtual_hosted_urls() {
        let mut config = S3Config::new("https://s3.example.com/base/", "r", "bkt", "a", "s");
        let client = Client::new(&config).expect("client");
        let query = [("uploadId", "a b".to_string())];
        let (url, host) = client.url("p/objects/ab/c d", &query).expect("url");
        assert_eq!(
            url.as_str(),
            "https://s3.example.com/base/bkt/p/objects/ab/c%20d?uploadId=a%20b"
        );
        assert_eq!(host, "s3.example.com");
        config.path_style = false;
        config.endpoint = "http://minio.local:9000".into();
        let client = Client::new(&config).expect("client");
        let (url, host) = client.url("k", &[]).expect("url");
        assert_eq!(url.as_str(), "http://bkt.minio.local:9000/k");
        assert_eq!(host, "bkt.minio.local:9000");
        config.endpoint = "http://127.0.0.1:9000".into();
        let error = Client::new(&config)
            .err()
            .expect("an ip cannot take a bucket subdomain");
        assert!(error.to_string().contains("path_style"), "{error}");
    }

    #[test]
    fn classifies_s3_errors() {
        use crate::BlobErrorKind::*;
        let cases = [
            (
                403,
                "SignatureDoesNotMatch",
                Rejected,
                "check the secret key",
            ),
            (403, "InvalidAccessKeyId", Rejected, "check the access key"),
            (403, "", Rejected, "check the credentials"),
            (404, "NoSuchBucket", Rejected, "create the bucket"),
            (404, "NoSuchKey", NotFound, "no object"),
            (404, "", NotFound, "no object"),
            (404, "NoSuchUpload", Unavailable, "NoSuchUpload"),
            (400, "BadDigest", Io, "BadDigest"),
            (400, "EntityTooSmall", Rejected, "EntityTooSmall"),
            (500, "InternalError", Unavailable, "http 500"),
            (501, "NotImplemented", Rejected, "http 501"),
            (503, "SlowDown", Unavailable, "SlowDown"),
            (429, "", Unavailable, "http 429"),
            (507, "", DiskFull, "disk full"),
            (200, "InternalError", Unavailable, "InternalError"),
        ];
        for (status, code, kind, needle) in cases {
            let status = StatusCode::from_u16(status).expect("status");
            let error = status_error("s3://b/k".into(), "uploading", status, code, "msg");
            assert_eq!(error.kind(), kind, "{status} {code}: {error}");
            assert!(
                error.to_string().contains(needle),
                "{status} {code}: {error}"
            );
        }
    }

    #[test]
    fn reads_the_xml_s3_sends() {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
                    <Message>The key &lt;a&amp;b&gt; does not exist</Message></Error>";
        assert_eq!(xml_root(body), Some("Error"));
        assert_eq!(xml_text(body, "Code").as_deref(), Some("NoSuchKey"));
        assert_eq!(
            xml_text(body, "Message").as_deref(),
            Some("The key <a&b> does not exist")
        );
        let ok = "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                  <Bucket>b</Bucket><UploadId>abc-1</UploadId></InitiateMultipartUploadResult>";
        assert_eq!(xml_root(ok), Some("InitiateMultipartUploadResult"));
        assert_eq!(xml_text(ok, "UploadId").as_deref(), Some("abc-1"));
        for broken in ["", "<", "<?xml", "<!-- x", "plain text", "<a><b>"] {
            let _ = xml_root(broken);
            assert_eq!(xml_text(broken, "b"), None, "{broken:?}");
        }
        assert_eq!(xml_escape("\"e&t<>\""), "&quot;e&amp;t&lt;&gt;&quot;");
    }
}
