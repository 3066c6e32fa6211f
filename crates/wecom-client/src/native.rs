//! The native client proper: token cache, the getchatdata exchange, run in the client's retry loop.

use std::future::Future;
use std::time::Duration;

use reqwest::Url;
use tracing::warn;
use wecom_wire::{
    ArchiveSource, ChatDataRequest, ChatPage, MAX_LIMIT, PROTOCOL_VERSION, SourceError,
    SourceErrorKind, encrypt_sign, errcode, parse_chat_data_reply,
};

use crate::RetryPolicy;
use crate::config::{ClientConfig, ConfigError, validate_base_url};
use crate::http::{TokenCache, api_error, build_http, read_body, status_error, transport_error};
use crate::retry::{self, Attempt, RetryError, RetryHooks};

/// A WeCom archive client that needs no vendor library.
pub struct NativeClient {
    pub(crate) http: reqwest::Client,
    base: Url,
    pub(crate) retry: RetryPolicy,
    token: TokenCache,
    /// Cap on a getchatdata or gettoken body.
    max_body: u64,
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
            retry: config.retry.at_least_once(),
        })
    }

    /// Drops the cached token so the next call fetches a new one.
    pub async fn invalidate_token(&self) {
        self.token.invalidate().await;
    }

    /// Runs `attempt` in the client's retry loop with its token cache.
    pub(crate) async fn with_retries<T, E, Fut>(
        &self,
        attempt: impl FnMut() -> Fut,
        hooks: impl RetryHooks<E>,
    ) -> Result<T, E>
    where
        E: RetryError,
        Fut: Future<Output = Result<T, Attempt<E>>>,
    {
        retry::with_retries(&self.retry, &self.token, attempt, hooks).await
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

    async fn try_fetch(
        &self,
        after_seq: u64,
        limit: u32,
    ) -> Result<ChatPage, Attempt<SourceError>> {
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
                return Err(Attempt::TokenRejected);
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
        self.with_retries(|| self.try_fetch(after_seq, limit), PageRetry { after_seq })
            .await
    }
}

/// What getchatdata adds to the retry loop.
struct PageRetry {
    after_seq: u64,
}

impl RetryHooks<SourceError> for PageRetry {
    fn tokens_rejected(&self) -> SourceError {
        SourceError::new(
            SourceErrorKind::Api {
                errcode: errcode::INVALID_ACCESS_TOKEN,
            },
            false,
            "the server keeps rejecting fresh access tokens",
        )
    }

    async fn before_retry(&mut self, error: &SourceError, attempt: u32, delay: Duration) {
        let after_seq = self.after_seq;
        warn!(%error, attempt, delay_ms = delay.as_millis() as u64, after_seq, "getchatdata failed; retrying");
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
