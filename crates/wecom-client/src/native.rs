//! The native client proper: token cache, the getchatdata exchange, and the retry loop around it.

use reqwest::Url;
use tracing::{debug, warn};
use wecom_wire::{
    ArchiveSource, ChatDataRequest, ChatPage, MAX_LIMIT, PROTOCOL_VERSION, SourceError,
    SourceErrorKind, encrypt_sign, errcode, parse_chat_data_reply,
};

use crate::RetryPolicy;
use crate::config::{ClientConfig, ConfigError, validate_base_url};
use crate::http::{TokenCache, api_error, build_http, read_body, status_error, transport_error};

/// How many times one call may fetch a fresh token because the server rejected the cached one.
pub(crate) const MAX_TOKEN_REFRESHES: u32 = 2;

/// A WeCom archive client that needs no vendor library.
pub struct NativeClient {
    pub(crate) http: reqwest::Client,
    base: Url,
    pub(crate) retry: RetryPolicy,
    token: TokenCache,
    /// Cap on a getchatdata or gettoken body.
    max_body: u64,
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
        let http = build_http(&base, config.proxy.as_ref(), config.timeout)?;
        let max_body = config.max_response_bytes.max(1);
        Ok(NativeClient {
            http,
            token: TokenCache::new(&base, config.corp_id, config.secret, max_body),
            max_body,
            base,
            retry: RetryPolicy {
                max_attempts: config.retry.max_attempts.max(1),
                ..config.retry
            },
        })
    }

    /// Drops the cached token so the next call fetches a new one.
    pub async fn invalidate_token(&self) {
        self.token.invalidate().await;
    }

    /// A valid access token, fetched when missing or close to expiry.
    pub(crate) async fn token(&self) -> Result<String, SourceError> {
        self.token.get(&self.http).await
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
        if !status.is_success() {
            return Err(status_error(status, "getchatdata").into());
        }
        let bytes = read_body(resp, self.max_body, "getchatdata").await?;
        // Item by item: one unreadable item is quarantined instead of failing the page.
        let parsed = parse_chat_data_reply(&bytes).map_err(|e| {
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
        Ok(ChatPage::checked(parsed, limit)?)
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
}
