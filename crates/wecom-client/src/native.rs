//! The native client proper: token cache, the getchatdata exchange, and the retry loop around it.

use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};
use tokio::sync::Mutex;
use tracing::{debug, warn};
use wecom_wire::{
    ArchiveSource, ChatDataRequest, ChatDataResponse, ChatPage, MAX_LIMIT, PROTOCOL_VERSION,
    SourceError, SourceErrorKind, TokenResponse, encrypt_sign, errcode,
};

use crate::RetryPolicy;
use crate::config::{ClientConfig, ConfigError, is_loopback, validate_base_url};

/// Tokens are refreshed this long before WeCom says they expire (the vendor library uses no margin
/// and so races the expiry).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Token lifetime assumed when the server does not say.
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(7200);
/// How many times one call may fetch a fresh token because the server rejected the cached one.
const MAX_TOKEN_REFRESHES: u32 = 2;

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

/// A WeCom archive client that needs no vendor library.
pub struct NativeClient {
    pub(crate) http: reqwest::Client,
    base: Url,
    corp_id: String,
    secret: String,
    pub(crate) retry: RetryPolicy,
    token: Mutex<Option<CachedToken>>,
}

/// The outcome of one attempt, before the retry policy is applied.
enum AttemptError {
    /// The server rejected the token (40001/40014/42001): fetch a new one and try again at once.
    TokenRejected,
    Failed(SourceError),
}

impl From<SourceError> for AttemptError {
    fn from(e: SourceError) -> Self {
        AttemptError::Failed(e)
    }
}

impl NativeClient {
    pub fn new(config: ClientConfig) -> Result<NativeClient, ConfigError> {
        if config.corp_id.trim().is_empty() || config.secret.trim().is_empty() {
            return Err(ConfigError::MissingCredentials);
        }
        let base = validate_base_url(&config.base_url)?;
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("wecom-archive/", env!("CARGO_PKG_VERSION")));
        match &config.proxy {
            Some(p) => {
                let mut proxy = reqwest::Proxy::all(&p.url).map_err(|e| {
                    ConfigError::InvalidProxy(redact_proxy(&p.url), e.without_url().to_string())
                })?;
                if let Some(user) = &p.username {
                    proxy = proxy.basic_auth(user, p.password.as_deref().unwrap_or(""));
                }
                builder = builder.proxy(proxy);
            }
            // A loopback emulator must never be reached through an environment proxy.
            None if is_loopback(&base) => builder = builder.no_proxy(),
            None => {}
        }
        let http = builder
            .build()
            .map_err(|e| ConfigError::Http(e.without_url().to_string()))?;
        Ok(NativeClient {
            http,
            base,
            corp_id: config.corp_id,
            secret: config.secret,
            retry: RetryPolicy {
                max_attempts: config.retry.max_attempts.max(1),
                ..config.retry
            },
            token: Mutex::new(None),
        })
    }

    /// Drops the cached token so the next call fetches a new one.
    pub async fn invalidate_token(&self) {
        *self.token.lock().await = None;
    }

    /// A valid access token, fetched when missing or close to expiry.
    pub(crate) async fn token(&self) -> Result<String, SourceError> {
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(t.value.clone());
        }
        let fresh = self.fetch_token().await?;
        let value = fresh.value.clone();
        *guard = Some(fresh);
        Ok(value)
    }

    async fn fetch_token(&self) -> Result<CachedToken, SourceError> {
        let mut url = self.endpoint("cgi-bin/gettoken")?;
        url.query_pairs_mut()
            .append_pair("corpid", &self.corp_id)
            .append_pair("corpsecret", &self.secret);
        let started = Instant::now();
        let resp = self.http.get(url).send().await.map_err(transport_error)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(transport_error)?;
        if !status.is_success() {
            return Err(status_error(status, "gettoken"));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            SourceError::new(
                SourceErrorKind::InvalidResponse,
                true,
                format!("gettoken reply: {e}"),
            )
        })?;
        if parsed.errcode != 0 {
            return Err(api_error(parsed.errcode, &parsed.errmsg, "gettoken"));
        }
        let value = parsed
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                SourceError::new(
                    SourceErrorKind::InvalidResponse,
                    true,
                    "gettoken reply has no access_token",
                )
            })?;
        let ttl = parsed
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TOKEN_TTL);
        // Refresh early: by the margin, or at half-life for short-lived tokens.
        let lead = REFRESH_MARGIN.min(ttl / 2);
        debug!(ttl_secs = ttl.as_secs(), "access token fetched");
        Ok(CachedToken {
            value,
            refresh_at: started + ttl - lead,
        })
    }

    pub(crate) fn endpoint(&self, path: &str) -> Result<Url, SourceError> {
        self.base.join(path).map_err(|e| {
            SourceError::new(
                SourceErrorKind::InvalidArgument,
                false,
                format!("bad endpoint {path}: {e}"),
            )
        })
    }

    async fn try_fetch(&self, after_seq: u64, limit: u32) -> Result<ChatPage, AttemptError> {
        let token = self.token().await?;
        let mut url = self.endpoint("cgi-bin/message/getchatdata")?;
        url.query_pairs_mut().append_pair("access_token", &token);
        let request = ChatDataRequest {
            seq: after_seq,
            limit,
            version: PROTOCOL_VERSION,
            encrypt_sign: encrypt_sign(&token),
        };
        let body = serde_json::to_vec(&request).map_err(|e| {
            SourceError::new(
                SourceErrorKind::InvalidArgument,
                false,
                format!("request: {e}"),
            )
        })?;
        let resp = self
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(transport_error)?;
        if !status.is_success() {
            return Err(status_error(status, "getchatdata").into());
        }
        let parsed: ChatDataResponse = serde_json::from_slice(&bytes).map_err(|e| {
            SourceError::new(
                SourceErrorKind::InvalidResponse,
                true,
                format!("getchatdata reply: {e}"),
            )
        })?;
        if parsed.errcode != 0 {
            if errcode::token_must_refresh(parsed.errcode) {
                return Err(AttemptError::TokenRejected);
            }
            return Err(api_error(parsed.errcode, &parsed.errmsg, "getchatdata").into());
        }
        let mut items = parsed.chatdata;
        items.sort_by_key(|i| i.seq);
        Ok(ChatPage { items })
    }
}

impl ArchiveSource for NativeClient {
    async fn fetch_page(&self, after_seq: u64, limit: u32) -> Result<ChatPage, SourceError> {
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(SourceError::new(
                SourceErrorKind::InvalidArgument,
                false,
                format!("limit {limit} is outside 1..={MAX_LIMIT}"),
            ));
        }
        let mut attempt = 0u32;
        let mut refreshes = 0u32;
        loop {
            attempt += 1;
            match self.try_fetch(after_seq, limit).await {
                Ok(page) => return Ok(page),
                Err(AttemptError::TokenRejected) if refreshes < MAX_TOKEN_REFRESHES => {
                    refreshes += 1;
                    attempt -= 1;
                    debug!("access token rejected by the server; fetching a new one");
                    self.invalidate_token().await;
                }
                Err(AttemptError::TokenRejected) => {
                    return Err(SourceError::new(
                        SourceErrorKind::Api {
                            errcode: errcode::INVALID_ACCESS_TOKEN,
                        },
                        false,
                        "the server keeps rejecting fresh access tokens",
                    ));
                }
                Err(AttemptError::Failed(e))
                    if e.retryable && attempt < self.retry.max_attempts =>
                {
                    let delay = self.retry.delay(attempt);
                    warn!(error = %e, attempt, delay_ms = delay.as_millis() as u64, after_seq, "getchatdata failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(AttemptError::Failed(mut e)) => {
                    if e.retryable {
                        e.message = format!("{} (gave up after {attempt} attempts)", e.message);
                    }
                    return Err(e);
                }
            }
        }
    }
}

fn transport_error(e: reqwest::Error) -> SourceError {
    let kind = if e.is_timeout() {
        SourceErrorKind::Timeout
    } else {
        SourceErrorKind::Network
    };
    // `without_url` keeps the access token and secret (query parameters) out of messages and logs.
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    SourceError::new(kind, true, message)
}

fn status_error(status: StatusCode, what: &str) -> SourceError {
    let retryable = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    SourceError::new(
        SourceErrorKind::HttpStatus(status.as_u16()),
        retryable,
        format!("{what} answered {status}"),
    )
}

fn api_error(code: i64, errmsg: &str, what: &str) -> SourceError {
    // -1 system busy and 45009 frequency limit pass with time; everything else needs a person.
    let retryable = matches!(code, errcode::SYSTEM_BUSY | errcode::RATE_LIMITED);
    let hint = match code {
        errcode::INVALID_CREDENTIAL => " (check the corp id and the 会话内容存档 secret)",
        errcode::API_FORBIDDEN => " (use the 会话内容存档 secret, not an app secret)",
        40013 => " (invalid corp id)",
        _ => "",
    };
    SourceError::new(
        SourceErrorKind::Api { errcode: code },
        retryable,
        format!("{what}: {}{hint}", errmsg.trim()),
    )
}

fn redact_proxy(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "<unparseable proxy url>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configs_are_refused_before_any_io() {
        let ok = ClientConfig::new("http://127.0.0.1:1", "ww1", "s");
        assert!(NativeClient::new(ok).is_ok());
        let no_secret = ClientConfig::new("http://127.0.0.1:1", "ww1", " ");
        assert!(matches!(
            NativeClient::new(no_secret),
            Err(ConfigError::MissingCredentials)
        ));
        let mut bad_proxy = ClientConfig::new("https://qyapi.weixin.qq.com", "ww1", "s");
        bad_proxy.proxy = Some(ProxyConfigTest::make("::not a proxy::"));
        assert!(matches!(
            NativeClient::new(bad_proxy),
            Err(ConfigError::InvalidProxy(..))
        ));
    }

    struct ProxyConfigTest;
    impl ProxyConfigTest {
        fn make(url: &str) -> crate::ProxyConfig {
            crate::ProxyConfig {
                url: url.into(),
                username: None,
                password: None,
            }
        }
    }

    #[tokio::test]
    async fn limit_out_of_range_is_refused_without_io() {
        let c =
            NativeClient::new(ClientConfig::new("http://127.0.0.1:1", "ww1", "s")).expect("client");
        let e = c.fetch_page(0, 0).await.expect_err("limit 0");
        assert_eq!(e.kind, SourceErrorKind::InvalidArgument);
        let e = c.fetch_page(0, 1001).await.expect_err("limit 1001");
        assert_eq!(e.kind, SourceErrorKind::InvalidArgument);
    }

    #[test]
    fn proxy_passwords_are_redacted() {
        assert_eq!(
            redact_proxy("socks5h://u:secret@127.0.0.1:1080"),
            "socks5h://u:***@127.0.0.1:1080"
        );
    }
}
