//! What every WeCom exchange shares: the HTTP client (proxy, timeouts, no environment proxy towards
//! a loopback emulator), the access-token cache, and the mapping of failures to [`SourceError`].

use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};
use tokio::sync::Mutex;
use tracing::debug;
use wecom_wire::text::redact_url;
use wecom_wire::{SourceError, SourceErrorKind, TokenResponse, errcode};

use crate::ProxyConfig;
use crate::config::{ConfigError, is_loopback};

/// The default cap on one response body (`[sync] max_response_mb`): 64 MiB. A getchatdata page of
/// 1,000 records is a few MB (each record is its encrypted key, ~350 bytes, plus the encrypted
/// message as base64, a few hundred bytes to a few KB for long texts and rich messages); even
/// 1,000 records of 40 KB each stay below it. Token and naming answers are far smaller.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 << 20;

/// Tokens are refreshed this long before WeCom says they expire (the vendor library uses no margin
/// and so races the expiry).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);
/// Token lifetime assumed when the server does not say.
const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(7200);

/// Builds the reqwest client every exchange with `base` uses.
pub(crate) fn build_http(
    base: &Url,
    proxy: Option<&ProxyConfig>,
    timeout: Duration,
) -> Result<reqwest::Client, ConfigError> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("wecom-archive/", env!("CARGO_PKG_VERSION")));
    match proxy {
        Some(p) => {
            let mut proxy = reqwest::Proxy::all(&p.url).map_err(|e| {
                ConfigError::InvalidProxy(redact_url(&p.url), e.without_url().to_string())
            })?;
            if let Some(user) = &p.username {
                proxy = proxy.basic_auth(user, p.password.as_deref().unwrap_or(""));
            }
            builder = builder.proxy(proxy);
        }
        // A loopback emulator must never be reached through an environment proxy.
        None if is_loopback(base) => builder = builder.no_proxy(),
        None => {}
    }
    builder
        .build()
        .map_err(|e| ConfigError::Http(e.without_url().to_string()))
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

/// The access token of one (corp, secret): fetched when missing or close to expiry, dropped when
/// the server rejects it. Tokens are per secret (reference §4.1), so each secret has its own cache.
pub(crate) struct TokenCache {
    gettoken: Result<Url, String>,
    corp_id: String,
    secret: String,
    max_body: u64,
    slot: Mutex<Option<CachedToken>>,
}

impl TokenCache {
    pub(crate) fn new(base: &Url, corp_id: String, secret: String, max_body: u64) -> TokenCache {
        TokenCache {
            gettoken: base
                .join("cgi-bin/gettoken")
                .map_err(|e| format!("bad endpoint cgi-bin/gettoken: {e}")),
            corp_id,
            secret,
            max_body,
            slot: Mutex::new(None),
        }
    }

    pub(crate) async fn invalidate(&self) {
        *self.slot.lock().await = None;
    }

    /// A valid token. Concurrent callers wait for one fetch instead of each fetching.
    pub(crate) async fn get(&self, http: &reqwest::Client) -> Result<String, SourceError> {
        let mut guard = self.slot.lock().await;
        if let Some(t) = guard.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(t.value.clone());
        }
        let fresh = self.fetch(http).await?;
        let value = fresh.value.clone();
        *guard = Some(fresh);
        Ok(value)
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<CachedToken, SourceError> {
        let mut url = self.gettoken.clone().map_err(|message| {
            SourceError::new(SourceErrorKind::InvalidArgument, false, message)
        })?;
        url.query_pairs_mut()
            .append_pair("corpid", &self.corp_id)
            .append_pair("corpsecret", &self.secret);
        let started = Instant::now();
        let resp = http.get(url).send().await.map_err(transport_error)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(status_error(status, "gettoken"));
        }
        let body = read_body(resp, self.max_body, "gettoken").await?;
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            SourceError::new(
                SourceErrorKind::InvalidResponse,
                true,
                format!("gettoken reply: {e}"),
            )
        })?;
        if parsed.errcode != 0 {
            let what = format!("gettoken (errcode {})", parsed.errcode);
            return Err(api_error(parsed.errcode, &parsed.errmsg, &what));
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
}

/// Reads a response body of at most `limit` bytes as it arrives: an announced Content-Length
/// above the cap is refused before the first byte is read, and the reading stops as soon as the
/// bytes received pass it (the connection is then dropped, not drained). Memory stays at the cap
/// whatever the server sends.
pub(crate) async fn read_body(
    mut resp: reqwest::Response,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>, SourceError> {
    if let Some(announced) = resp.content_length().filter(|&n| n > limit) {
        return Err(too_large(what, limit, Some(announced)));
    }
    let expected = resp.content_length().unwrap_or(0).min(limit);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).min(1 << 20));
    while let Some(part) = resp.chunk().await.map_err(transport_error)? {
        if (body.len() as u64).saturating_add(part.len() as u64) > limit {
            return Err(too_large(what, limit, None));
        }
        body.extend_from_slice(&part);
    }
    Ok(body)
}

/// `n` bytes as people read them: `64 MiB`, `1.5 MiB`, `900 bytes`.
pub(crate) fn human_bytes(n: u64) -> String {
    const MIB: u64 = 1 << 20;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// The answer passed the cap: a protocol error, not retried (the same server sends the same
/// answer), naming the cap and the setting that moves it.
pub(crate) fn too_large(what: &str, limit: u64, announced: Option<u64>) -> SourceError {
    let size = match announced {
        Some(n) => format!("announces {} ({n} bytes)", human_bytes(n)),
        None => "grew past it".to_owned(),
    };
    SourceError::new(
        SourceErrorKind::TooLarge { limit_bytes: limit },
        false,
        format!(
            "the {what} answer {size}, more than the cap of {} per response ([sync] max_response_mb); \
             it was not read further and nothing of it was used. No real WeCom answer comes near \
             the cap: check base_url and any proxy in between, or raise [sync] max_response_mb",
            human_bytes(limit)
        ),
    )
}

/// Whether a transport error is a timeout, and its whole cause chain as one line. `without_url`
/// keeps the access token and secrets (query parameters) out of messages and logs.
pub(crate) fn describe_transport(e: reqwest::Error) -> (bool, String) {
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    (timeout, message)
}

pub(crate) fn transport_error(e: reqwest::Error) -> SourceError {
    let (timeout, message) = describe_transport(e);
    let kind = if timeout {
        SourceErrorKind::Timeout
    } else {
        SourceErrorKind::Network
    };
    SourceError::new(kind, true, message)
}

pub(crate) fn status_error(status: StatusCode, what: &str) -> SourceError {
    let retryable = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    SourceError::new(
        SourceErrorKind::HttpStatus(status.as_u16()),
        retryable,
        format!("{what} answered {status}"),
    )
}

/// Whether an errcode passes with time: -1 system busy, 45009 frequency limit, 45033
/// concurrency limit. Everything else needs a person (or a different request).
pub(crate) fn errcode_is_transient(code: i64) -> bool {
    matches!(
        code,
        errcode::SYSTEM_BUSY
            | errcode::RATE_LIMITED
            | wecom_wire::directory::api_errcode::CONCURRENCY_LIMITED
    )
}

/// WeCom's errmsg without the hint it appends to client errors (`, hint: [...], from ip: ...,
/// more info at ...`): the code says what happened, the hint only helps WeCom's support.
pub(crate) fn clean_errmsg(errmsg: &str) -> &str {
    errmsg
        .split_once(", hint: [")
        .map_or(errmsg, |(head, _)| head)
        .trim()
}

pub(crate) fn api_error(code: i64, errmsg: &str, what: &str) -> SourceError {
    let hint = match code {
        errcode::INVALID_CREDENTIAL => " (check the corp id and the secret)",
        errcode::API_FORBIDDEN => {
            " (this secret may not call this API: use the 会话内容存档 secret for msgaudit and the archive, the 客户联系 secret for externalcontact, the 通讯录 secret for user/get)"
        }
        40013 => " (invalid corp id)",
        _ => "",
    };
    SourceError::new(
        SourceErrorKind::Api { errcode: code },
        errcode_is_transient(code),
        format!("{what}: {}{hint}", clean_errmsg(errmsg)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes(3 << 19), "1.5 MiB");
        assert_eq!(human_bytes(900), "900 bytes");
        assert_eq!(human_bytes(512 << 10), "512 KiB");
        let e = too_large("getchatdata", 1 << 20, Some(200 << 20));
        assert_eq!(
            e.kind,
            SourceErrorKind::TooLarge {
                limit_bytes: 1 << 20
            }
        );
        assert!(!e.retryable);
        assert!(
            e.message.contains("announces 200 MiB") && e.message.contains("[sync] max_response_mb"),
            "{e}"
        );
    }

    #[test]
    fn hints_are_cut_from_errmsgs() {
        assert_eq!(
            clean_errmsg(
                "invalid chatid, hint: [1795987253], from ip: 127.0.0.1, more info at https://x"
            ),
            "invalid chatid"
        );
        assert_eq!(clean_errmsg(" ok "), "ok");
    }

    #[test]
    fn transient_errcodes() {
        assert!(errcode_is_transient(-1));
        assert!(errcode_is_transient(45009));
        assert!(errcode_is_transient(45033));
        assert!(!errcode_is_transient(48002));
        assert!(!errcode_is_transient(40050));
    }
}
