//! The WeCom HTTP APIs around the archive (reference §4): who is archived, who agreed, what rooms
//! and people are called. One [`ApiClient`] per corp holds a token cache per secret, spaces its
//! calls by a per-corp rate limit, retries transient failures with backoff and refreshes a token
//! the server rejects. Every failure is an [`ApiError`] carrying the API and, for WeCom's own
//! refusals, the errcode and errmsg.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use reqwest::Url;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use tracing::{debug, warn};
use wecom_wire::directory::{
    AgreeInfo, AgreeInfoList, AgreePair, ApiStatus, CheckRoomAgreeRequest, CheckSingleAgreeRequest,
    CustomerGroup, CustomerGroupList, CustomerGroupListRequest, CustomerGroupRequest,
    CustomerGroupResponse, DirectoryApi, ExternalContactResponse, InternalGroup, PermitUserList,
    PermitUserListRequest, RobotInfo, RobotInfoResponse, RoomIdRequest, SecretKind, User,
};
use wecom_wire::text::{Escaped, escape_controls};
use wecom_wire::{SourceError, SourceErrorKind, errcode};

use crate::config::{ConfigError, validate_base_url};
use crate::http::{TokenCache, api_error, build_http, read_body, status_error, transport_error};
use crate::retry::{self, Attempt, RetryError, RetryHooks};
use crate::{ProxyConfig, RetryPolicy};

/// Most pairs one `check_single_agree` request carries; callers split longer lists.
pub const MAX_AGREE_PAIRS: usize = 100;

/// Everything the API client needs for one corp.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `https://…`; plain `http://` only towards a loopback address (a local emulator).
    pub base_url: String,
    pub corp_id: String,
    /// The 会话内容存档 secret: `msgaudit/*`.
    pub archive_secret: String,
    /// The 通讯录 secret (or an app secret that sees the users): `user/get`.
    pub contacts_secret: Option<String>,
    /// The 客户联系 secret: `externalcontact/*`.
    pub customer_secret: Option<String>,
    pub proxy: Option<ProxyConfig>,
    /// Per HTTP request.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// At most this many calls per second for the corp, all APIs together (WeCom limits each
    /// API's frequency per corp; 45009 answers the excess).
    pub max_calls_per_second: f64,
    /// Largest response body read; a larger one is an [`ApiErrorKind::InvalidResponse`] naming
    /// the cap.
    pub max_response_bytes: u64,
}

impl ApiConfig {
    /// Defaults: no optional secrets, 10 s timeout, 3 attempts, 10 calls per second.
    pub fn new(
        base_url: impl Into<String>,
        corp_id: impl Into<String>,
        archive_secret: impl Into<String>,
    ) -> ApiConfig {
        ApiConfig {
            base_url: base_url.into(),
            corp_id: corp_id.into(),
            archive_secret: archive_secret.into(),
            contacts_secret: None,
            customer_secret: None,
            proxy: None,
            timeout: Duration::from_secs(10),
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(10),
            },
            max_calls_per_second: 10.0,
            max_response_bytes: crate::http::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// What went wrong with one API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// The secret this API needs is not configured.
    NoSecret(SecretKind),
    /// WeCom refused: an errcode other than 0.
    Api {
        errcode: i64,
    },
    /// An HTTP status other than 2xx.
    HttpStatus(u16),
    Network,
    Timeout,
    /// The body is not the documented shape (not JSON, or errcode 0 with fields missing or of the
    /// wrong type). Nothing of it is used.
    InvalidResponse,
    /// The request could not be made (e.g. an empty id).
    InvalidArgument,
}

/// A failed API call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", api.name(), Escaped(message))]
pub struct ApiError {
    pub api: DirectoryApi,
    pub kind: ApiErrorKind,
    /// Whether the same call may succeed later without anyone changing anything.
    pub retryable: bool,
    /// Readable, with WeCom's errmsg for API errors; never holds a token or a secret.
    pub message: String,
}

impl ApiError {
    /// WeCom's errcode, for refusals.
    pub fn errcode(&self) -> Option<i64> {
        match self.kind {
            ApiErrorKind::Api { errcode } => Some(errcode),
            _ => None,
        }
    }

    fn new(
        api: DirectoryApi,
        kind: ApiErrorKind,
        retryable: bool,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            api,
            kind,
            retryable,
            // The message quotes WeCom's errmsg; it is logged and stored with the name's state.
            message: escape_controls(&message.into()).into_owned(),
        }
    }

    fn from_source(api: DirectoryApi, e: SourceError) -> ApiError {
        let kind = match e.kind {
            SourceErrorKind::Api { errcode } => ApiErrorKind::Api { errcode },
            SourceErrorKind::HttpStatus(s) => ApiErrorKind::HttpStatus(s),
            SourceErrorKind::Network => ApiErrorKind::Network,
            SourceErrorKind::Timeout => ApiErrorKind::Timeout,
            SourceErrorKind::InvalidResponse | SourceErrorKind::TooLarge { .. } => {
                ApiErrorKind::InvalidResponse
            }
            _ => ApiErrorKind::InvalidArgument,
        };
        ApiError::new(api, kind, e.retryable, e.message)
    }
}

/// Spaces calls at least `interval` apart: each call reserves the next free slot and waits for it.
struct Pacer {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    fn new(per_second: f64) -> Pacer {
        let interval = if per_second.is_finite() && per_second > 0.0 {
            Duration::from_secs_f64((1.0 / per_second).min(3600.0))
        } else {
            Duration::ZERO
        };
        Pacer {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    async fn wait(&self) {
        if self.interval.is_zero() {
            return;
        }
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }

    /// After a rate-limit answer: no call before `pause` from now.
    async fn hold(&self, pause: Duration) {
        let mut next = self.next.lock().await;
        *next = (*next).max(Instant::now() + pause);
    }
}

/// Calls the naming, scope and consent APIs of one corp.
pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    corp_id: String,
    tokens: BTreeMap<SecretKind, TokenCache>,
    retry: RetryPolicy,
    pacer: Pacer,
    max_body: u64,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Secrets and tokens stay out of debug output.
        f.debug_struct("ApiClient")
            .field("base", &self.base.as_str())
            .field("corp_id", &self.corp_id)
            .field("secrets", &self.tokens.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ApiClient {
    pub fn new(config: ApiConfig) -> Result<ApiClient, ConfigError> {
        if config.corp_id.trim().is_empty() || config.archive_secret.trim().is_empty() {
            return Err(ConfigError::MissingCredentials);
        }
        let base = validate_base_url(&config.base_url)?;
        let http = build_http(&base, config.proxy.as_ref(), config.timeout)?;
        let max_body = config.max_response_bytes.max(1);
        let mut tokens = BTreeMap::new();
        let secrets = [
            (SecretKind::Archive, Some(config.archive_secret)),
            (SecretKind::Contacts, config.contacts_secret),
            (SecretKind::CustomerContact, config.customer_secret),
        ];
        for (kind, secret) in secrets {
            if let Some(secret) = secret.filter(|s| !s.trim().is_empty()) {
                tokens.insert(
                    kind,
                    TokenCache::new(&base, config.corp_id.clone(), secret, max_body),
                );
            }
        }
        Ok(ApiClient {
            http,
            base,
            corp_id: config.corp_id,
            tokens,
            retry: config.retry.at_least_once(),
            pacer: Pacer::new(config.max_calls_per_second),
            max_body,
        })
    }

    pub fn corp_id(&self) -> &str {
        &self.corp_id
    }

    /// Whether the secret `kind` is configured.
    pub fn has_secret(&self, kind: SecretKind) -> bool {
        self.tokens.contains_key(&kind)
    }

    /// Whether `api` can be called at all (its secret is configured).
    pub fn can_call(&self, api: DirectoryApi) -> bool {
        self.has_secret(api.secret())
    }

    /// `msgaudit/get_permit_user_list`: the userids whose chats are archived (`edition`: 1 办公版,
    /// 2 服务版, 3 企业版; `None` for all).
    pub async fn permit_user_list(&self, edition: Option<u8>) -> Result<Vec<String>, ApiError> {
        let list: PermitUserList = self
            .post(
                DirectoryApi::PermitUserList,
                &PermitUserListRequest { edition },
            )
            .await?;
        Ok(list.ids)
    }

    /// `msgaudit/check_single_agree` for at most [`MAX_AGREE_PAIRS`] `(userid, external_userid)`
    /// pairs. Pairs WeCom knows nothing about are absent from the answer.
    pub async fn check_single_agree(
        &self,
        pairs: &[(String, String)],
    ) -> Result<Vec<AgreeInfo>, ApiError> {
        let api = DirectoryApi::CheckSingleAgree;
        if pairs.is_empty() || pairs.len() > MAX_AGREE_PAIRS {
            return Err(ApiError::new(
                api,
                ApiErrorKind::InvalidArgument,
                false,
                format!("{} pairs; 1..={MAX_AGREE_PAIRS} per request", pairs.len()),
            ));
        }
        let request = CheckSingleAgreeRequest {
            info: pairs
                .iter()
                .map(|(userid, external)| AgreePair {
                    userid: userid.clone(),
                    exteranalopenid: external.clone(),
                })
                .collect(),
        };
        let list: AgreeInfoList = self.post(api, &request).await?;
        Ok(list.agreeinfo)
    }

    /// `msgaudit/check_room_agree`: the consent of the room's external members.
    pub async fn check_room_agree(&self, roomid: &str) -> Result<Vec<AgreeInfo>, ApiError> {
        let api = DirectoryApi::CheckRoomAgree;
        non_empty(api, roomid)?;
        let list: AgreeInfoList = self
            .post(
                api,
                &CheckRoomAgreeRequest {
                    roomid: roomid.to_owned(),
                },
            )
            .await?;
        Ok(list.agreeinfo)
    }

    /// `msgaudit/groupchat/get`: an internal group (customer groups answer 40050).
    pub async fn internal_group(&self, roomid: &str) -> Result<InternalGroup, ApiError> {
        let api = DirectoryApi::InternalGroup;
        non_empty(api, roomid)?;
        self.post(
            api,
            &RoomIdRequest {
                roomid: roomid.to_owned(),
            },
        )
        .await
    }

    /// `msgaudit/get_robot_info`.
    pub async fn robot_info(&self, robot_id: &str) -> Result<RobotInfo, ApiError> {
        let api = DirectoryApi::RobotInfo;
        non_empty(api, robot_id)?;
        let answer: RobotInfoResponse = self.get(api, "robot_id", robot_id).await?;
        Ok(answer.data)
    }

    /// `externalcontact/groupchat/get` with member names: a customer group.
    pub async fn customer_group(&self, chat_id: &str) -> Result<CustomerGroup, ApiError> {
        let api = DirectoryApi::CustomerGroup;
        non_empty(api, chat_id)?;
        let answer: CustomerGroupResponse = self
            .post(
                api,
                &CustomerGroupRequest {
                    chat_id: chat_id.to_owned(),
                    need_name: 1,
                },
            )
            .await?;
        Ok(answer.group_chat)
    }

    /// `externalcontact/groupchat/list`: one page of customer groups.
    pub async fn customer_group_list(
        &self,
        request: &CustomerGroupListRequest,
    ) -> Result<CustomerGroupList, ApiError> {
        self.post(DirectoryApi::CustomerGroupList, request).await
    }

    /// Every customer group id, following `next_cursor` (at most `max_pages` pages of 1000).
    pub async fn all_customer_groups(&self, max_pages: usize) -> Result<Vec<String>, ApiError> {
        let mut out = Vec::new();
        let mut cursor = String::new();
        for _ in 0..max_pages {
            let page = self
                .customer_group_list(&CustomerGroupListRequest {
                    status_filter: 0,
                    owner_filter: None,
                    cursor: cursor.clone(),
                    limit: 1000,
                })
                .await?;
            out.extend(page.group_chat_list.into_iter().map(|g| g.chat_id));
            if page.next_cursor.is_empty() || page.next_cursor == cursor {
                return Ok(out);
            }
            cursor = page.next_cursor;
        }
        Ok(out)
    }

    /// `user/get`: an employee.
    pub async fn user(&self, userid: &str) -> Result<User, ApiError> {
        let api = DirectoryApi::User;
        non_empty(api, userid)?;
        self.get(api, "userid", userid).await
    }

    /// `externalcontact/get`: an external contact and the employees who have them.
    pub async fn external_contact(
        &self,
        external_userid: &str,
    ) -> Result<ExternalContactResponse, ApiError> {
        let api = DirectoryApi::ExternalContact;
        non_empty(api, external_userid)?;
        self.get(api, "external_userid", external_userid).await
    }

    async fn post<Q: Serialize, T: DeserializeOwned>(
        &self,
        api: DirectoryApi,
        body: &Q,
    ) -> Result<T, ApiError> {
        let body = serde_json::to_vec(body).map_err(|e| {
            ApiError::new(
                api,
                ApiErrorKind::InvalidArgument,
                false,
                format!("request: {e}"),
            )
        })?;
        self.call(api, Some(body), None).await
    }

    async fn get<T: DeserializeOwned>(
        &self,
        api: DirectoryApi,
        param: &str,
        value: &str,
    ) -> Result<T, ApiError> {
        self.call(api, None, Some((param, value))).await
    }

    /// One API call with the retry loop: transient failures are retried with backoff, a rejected
    /// token is fetched again (at most `MAX_TOKEN_REFRESHES` times), a rate limit also slows
    /// every later call of the corp.
    async fn call<T: DeserializeOwned>(
        &self,
        api: DirectoryApi,
        body: Option<Vec<u8>>,
        query: Option<(&str, &str)>,
    ) -> Result<T, ApiError> {
        let Some(tokens) = self.tokens.get(&api.secret()) else {
            return Err(ApiError::new(
                api,
                ApiErrorKind::NoSecret(api.secret()),
                false,
                format!("no {} secret is configured", api.secret().label()),
            ));
        };
        let body = body.as_deref();
        retry::with_retries(
            &self.retry,
            tokens,
            move || async move {
                self.pacer.wait().await;
                self.attempt(api, tokens, body, query).await
            },
            ApiRetry {
                api,
                pacer: &self.pacer,
            },
        )
        .await
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        api: DirectoryApi,
        tokens: &TokenCache,
        body: Option<&[u8]>,
        query: Option<(&str, &str)>,
    ) -> Result<T, Attempt<ApiError>> {
        let failed = |e: SourceError| Attempt::Failed(ApiError::from_source(api, e));
        let token = tokens.get(&self.http).await.map_err(failed)?;
        let mut url = self.base.join(api.path()).map_err(|e| {
            Attempt::Failed(ApiError::new(
                api,
                ApiErrorKind::InvalidArgument,
                false,
                format!("bad endpoint: {e}"),
            ))
        })?;
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("access_token", &token);
            if let Some((name, value)) = query {
                pairs.append_pair(name, value);
            }
        }
        let request = match body {
            Some(body) => self
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec()),
            None => self.http.get(url),
        };
        let resp = request
            .send()
            .await
            .map_err(|e| failed(transport_error(e)))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(failed(status_error(status, api.name())));
        }
        let bytes = read_body(resp, self.max_body, api.name())
            .await
            .map_err(failed)?;
        let invalid = |e: serde_json::Error| {
            Attempt::Failed(ApiError::new(
                api,
                ApiErrorKind::InvalidResponse,
                false,
                format!("answer is not the documented shape: {e}"),
            ))
        };
        let status: ApiStatus = serde_json::from_slice(&bytes).map_err(invalid)?;
        if status.errcode != 0 {
            if errcode::token_must_refresh(status.errcode) {
                return Err(Attempt::TokenRejected);
            }
            let what = format!("errcode {}", status.errcode);
            return Err(failed(api_error(status.errcode, &status.errmsg, &what)));
        }
        serde_json::from_slice(&bytes).map_err(invalid)
    }
}

/// What the directory APIs add to the retry loop: the API's name in logs, and a rate limit that
/// also slows every later call of the corp.
struct ApiRetry<'a> {
    api: DirectoryApi,
    pacer: &'a Pacer,
}

impl RetryError for ApiError {
    fn is_retryable(&self) -> bool {
        self.retryable
    }

    fn gave_up(mut self, attempts: u32) -> Self {
        retry::note_gave_up(self.retryable, &mut self.message, attempts);
        self
    }
}

impl RetryHooks<ApiError> for ApiRetry<'_> {
    fn tokens_rejected(&self) -> ApiError {
        ApiError::new(
            self.api,
            ApiErrorKind::Api {
                errcode: errcode::INVALID_ACCESS_TOKEN,
            },
            false,
            "the server keeps rejecting fresh access tokens",
        )
    }

    async fn before_retry(&mut self, error: &ApiError, attempt: u32, delay: Duration) {
        if error.errcode() == Some(errcode::RATE_LIMITED) {
            self.pacer.hold(delay).await;
        }
        warn!(api = self.api.name(), %error, attempt, delay_ms = delay.as_millis() as u64, "API call failed; retrying");
    }

    fn token_rejected(&self) {
        debug!(
            api = self.api.name(),
            "access token rejected; fetching a new one"
        );
    }
}

fn non_empty(api: DirectoryApi, id: &str) -> Result<(), ApiError> {
    if id.trim().is_empty() {
        return Err(ApiError::new(
            api,
            ApiErrorKind::InvalidArgument,
            false,
            "empty id",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_configs_are_refused() {
        assert!(ApiClient::new(ApiConfig::new("http://127.0.0.1:1", "ww1", "s")).is_ok());
        assert!(matches!(
            ApiClient::new(ApiConfig::new("http://127.0.0.1:1", "ww1", "")),
            Err(ConfigError::MissingCredentials)
        ));
        assert!(matches!(
            ApiClient::new(ApiConfig::new("http://10.1.1.1", "ww1", "s")),
            Err(ConfigError::InsecureHttp(_))
        ));
    }

    #[tokio::test]
    async fn missing_secret_and_bad_arguments_fail_without_io() {
        let mut config = ApiConfig::new("http://127.0.0.1:1", "ww1", "s");
        config.customer_secret = Some("  ".into());
        let client = ApiClient::new(config).expect("client");
        assert!(!client.has_secret(SecretKind::CustomerContact));
        assert!(client.can_call(DirectoryApi::InternalGroup));
        let e = client.customer_group("wr1").await.expect_err("no secret");
        assert_eq!(e.kind, ApiErrorKind::NoSecret(SecretKind::CustomerContact));
        assert!(!e.retryable);
        let e = client.user("zhangsan").await.expect_err("no secret");
        assert_eq!(e.kind, ApiErrorKind::NoSecret(SecretKind::Contacts));
        let e = client.internal_group(" ").await.expect_err("empty");
        assert_eq!(e.kind, ApiErrorKind::InvalidArgument);
        let e = client.check_single_agree(&[]).await.expect_err("empty");
        assert_eq!(e.kind, ApiErrorKind::InvalidArgument);
        let many = vec![("a".to_owned(), "b".to_owned()); MAX_AGREE_PAIRS + 1];
        let e = client
            .check_single_agree(&many)
            .await
            .expect_err("too many");
        assert_eq!(e.kind, ApiErrorKind::InvalidArgument);
    }

    #[test]
    fn debug_output_has_no_secrets() {
        let mut config = ApiConfig::new("http://127.0.0.1:1", "ww1", "topsecret-archive");
        config.contacts_secret = Some("topsecret-contacts".into());
        let client = ApiClient::new(config).expect("client");
        let text = format!("{client:?}");
        assert!(!text.contains("topsecret"), "{text}");
    }

    #[tokio::test]
    async fn pacer_spaces_calls() {
        let pacer = Pacer::new(50.0);
        let started = Instant::now();
        for _ in 0..5 {
            pacer.wait().await;
        }
        // Four intervals of 20 ms between five calls.
        assert!(
            started.elapsed() >= Duration::from_millis(75),
            "{:?}",
            started.elapsed()
        );
    }
}
