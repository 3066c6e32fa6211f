//! The S3 client: an `object_store` [`AmazonS3`] built from an [`S3Config`], on our own reqwest
//! client, and the mapping of its failures to [`BlobError`]s that name the endpoint and key (never
//! a credential).

use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::client::{HttpClient, HttpConnector, HttpError};
use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use reqwest::{StatusCode, Url};

use super::S3Config;
use crate::BlobError;

/// The name `object_store` errors are reported under when our connector fails.
const STORE: &str = "S3";

/// How long one request may keep being retried, whatever `max_attempts` says.
const RETRY_TIMEOUT: Duration = Duration::from_secs(3 * 60);

pub(crate) struct Client {
    pub store: AmazonS3,
    /// The endpoint without credentials, for messages.
    endpoint: Url,
    bucket: String,
}

impl Client {
    /// Checks the configuration and builds the store; does not contact the server.
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
        if config.region.is_empty() {
            return Err(invalid("s3 region must not be empty".into()));
        }
        let store_endpoint = if config.path_style {
            endpoint.as_str().trim_end_matches('/').to_string()
        } else {
            // object_store takes a virtual-hosted endpoint with the bucket already in the host.
            let host = endpoint.host_str().unwrap_or_default();
            if host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok() {
                return Err(invalid(format!(
                    "s3 endpoint {endpoint} is an ip address, which cannot carry the bucket as a \
                     subdomain: set path_style"
                )));
            }
            let mut hosted = endpoint.clone();
            let host = format!("{}.{host}", config.bucket);
            hosted
                .set_host(Some(&host))
                .map_err(|e| invalid(format!("s3 virtual-hosted name {host:?}: {e}")))?;
            hosted.as_str().trim_end_matches('/').to_string()
        };
        let attempts = usize::try_from(config.max_attempts.max(1)).unwrap_or(usize::MAX);
        let retry = RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: attempts - 1,
            retry_timeout: RETRY_TIMEOUT,
        };
        let allow_http = endpoint.scheme() == "http";
        let mut builder = AmazonS3Builder::new()
            .with_endpoint(store_endpoint)
            .with_region(&config.region)
            .with_bucket_name(&config.bucket)
            .with_access_key_id(&config.access_key)
            .with_secret_access_key(&config.secret_key)
            .with_virtual_hosted_style_request(!config.path_style)
            .with_allow_http(allow_http)
            .with_retry(retry)
            // Every body carries a CRC64-NVME checksum the server verifies (signed as a header),
            // and the payload itself is not hashed again for the signature: object_store computes
            // both on the calling thread, and a CRC of a part takes far less than its SHA-256.
            .with_checksum_algorithm(Checksum::CRC64NVME)
            .with_unsigned_payload(true)
            // One plain DeleteObject per temporary object: every S3-compatible server has it,
            // not all have the bulk DeleteObjects.
            .with_disable_bulk_delete(true)
            // The connector below builds the HTTP client with these same values; object_store
            // is told them too, for what it decides itself.
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(allow_http)
                    .with_connect_timeout(config.connect_timeout)
                    .with_read_timeout(config.read_timeout)
                    .with_timeout_disabled(),
            )
            .with_http_connector(Connector {
                connect_timeout: config.connect_timeout,
                read_timeout: config.read_timeout,
                allow_http,
            });
        if let Some(token) = &config.session_token {
            builder = builder.with_token(token);
        }
        let store = builder
            .build()
            .map_err(|e| invalid(format!("s3 client: {}", chain(&e))))?;
        Ok(Client {
            store,
            endpoint,
            bucket: config.bucket.clone(),
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// How errors name an object: `s3://bucket/key at http://endpoint/`.
    pub fn target(&self, key: &str) -> String {
        format!("s3://{}/{key} at {}", self.bucket, self.endpoint)
    }

    /// The [`BlobError`] of a failed `op` on `key`.
    pub fn error(&self, op: &'static str, key: &str, error: &object_store::Error) -> BlobError {
        classify(self.target(key), op, error)
    }
}

/// Builds the HTTP client object_store sends with: reqwest as the rest of the workspace, with the
/// timeouts of the configuration, no redirects, and no proxy taken from the environment (the
/// environment is configuration, and configuration is passed in). `ClientOptions` would build a
/// reqwest client that reads `HTTP(S)_PROXY` and follows redirects.
#[derive(Debug)]
struct Connector {
    connect_timeout: Duration,
    read_timeout: Duration,
    allow_http: bool,
}

impl HttpConnector for Connector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .https_only(!self.allow_http)
            .build()
            .map_err(|e| object_store::Error::Generic {
                store: STORE,
                source: Box::new(e),
            })?;
        Ok(HttpClient::new(client))
    }
}

/// Maps an `object_store` error. Its HTTP failures keep the status and S3's XML error body in
/// their text only (the type holding them is private), so the status comes from the variant
/// where object_store has one for it and from the text otherwise; the S3 `<Code>` from the body.
pub(crate) fn classify(target: String, op: &'static str, error: &object_store::Error) -> BlobError {
    use object_store::Error as E;
    let text = chain(error);
    if let Some(http) = find_source::<HttpError>(error) {
        // The request never got an answer: refused, reset, timed out.
        return BlobError::Unavailable {
            target,
            op,
            cause: chain(http),
        };
    }
    let status = match error {
        E::NotFound { .. } => Some(StatusCode::NOT_FOUND),
        E::PermissionDenied { .. } => Some(StatusCode::FORBIDDEN),
        E::Unauthenticated { .. } => Some(StatusCode::UNAUTHORIZED),
        E::Precondition { .. } => Some(StatusCode::PRECONDITION_FAILED),
        E::AlreadyExists { .. } => Some(StatusCode::CONFLICT),
        E::NotModified { .. } => Some(StatusCode::NOT_MODIFIED),
        _ => status_in(&text),
    };
    let code = xml_text(&text, "Code").unwrap_or_default();
    let message = xml_text(&text, "Message").unwrap_or_default();
    match (status, error) {
        (Some(status), _) => status_error(target, op, status, &code, &message),
        (None, E::InvalidPath { .. } | E::UnknownConfigurationKey { .. }) => BlobError::Config {
            cause: format!("{target}: {text}"),
        },
        (None, E::NotSupported { .. } | E::NotImplemented { .. }) => BlobError::Rejected {
            target,
            op,
            cause: text,
        },
        // An answer that could not be understood (a malformed XML reply, missing headers).
        (None, _) => BlobError::Corrupt {
            key: target,
            cause: format!("while {op}: {text}"),
        },
    }
}

/// The status of a failed request in object_store's text: `... status code: 503 Service ...`,
/// or 200 for `Server returned error response` (an S3 error inside a success).
fn status_in(text: &str) -> Option<StatusCode> {
    const MARK: &str = "status code: ";
    if let Some(at) = text.find(MARK) {
        let digits = text.get(at + MARK.len()..at + MARK.len() + 3)?;
        return digits
            .parse::<u16>()
            .ok()
            .and_then(|n| StatusCode::from_u16(n).ok());
    }
    text.contains("Server returned error response")
        .then_some(StatusCode::OK)
}

/// The first error of type `T` in the source chain of `error`.
fn find_source<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        current = error.source();
    }
    None
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
        _ if status == StatusCode::FORBIDDEN || status == StatusCode::UNAUTHORIZED => {
            "; check the credentials"
        }
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
/// is several levels down).
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
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

/// The text of the first `<tag>…</tag>` in `xml`, unescaped.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{tag}>"))?;
    Some(xml_unescape(&xml[start..end]))
}

fn xml_unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_virtual_hosted_endpoints() {
        let mut config = S3Config::new("https://s3.example.com/base/", "r", "bkt", "a", "s");
        let client = Client::new(&config).expect("client");
        assert_eq!(
            client.target("p/k"),
            "s3://bkt/p/k at https://s3.example.com/base/"
        );
        config.path_style = false;
        config.endpoint = "http://minio.local:9000".into();
        Client::new(&config).expect("a host name takes the bucket as a subdomain");
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
    fn finds_status_and_code_in_object_store_text() {
        let text = "Generic S3 error: Error performing PUT http://h/b/k in 2ms - Server returned \
                    non-2xx status code: 507 Insufficient Storage: <?xml version=\"1.0\"?>\
                    <Error><Code>XMinioStorageFull</Code><Message>a &lt;b&gt;</Message></Error>";
        assert_eq!(status_in(text), Some(StatusCode::INSUFFICIENT_STORAGE));
        assert_eq!(xml_text(text, "Code").as_deref(), Some("XMinioStorageFull"));
        assert_eq!(xml_text(text, "Message").as_deref(), Some("a <b>"));
        assert_eq!(
            status_in("Server returned error response: <Error>InternalError</Error>"),
            Some(StatusCode::OK)
        );
        for broken in ["", "status code: ", "status code: 5x", "<Code>open"] {
            assert_eq!(status_in(broken), None, "{broken:?}");
            assert_eq!(xml_text(broken, "Code"), None, "{broken:?}");
        }
    }
}
