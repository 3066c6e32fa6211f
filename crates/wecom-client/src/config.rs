//! Client settings and their validation (base URL policy, proxy URLs).

use std::net::IpAddr;
use std::time::Duration;

use url::{Host, Url};
use wecom_wire::text::redact_url;

use crate::RetryPolicy;

/// The public WeCom endpoint the vendor library talks to.
pub const WECOM_BASE_URL: &str = "https://qyapi.weixin.qq.com";

/// A proxy for every request: `http://`, `https://`, `socks5://` or `socks5h://`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Everything the native client needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://…`; plain `http://` only towards a loopback address (a local emulator).
    pub base_url: String,
    pub corp_id: String,
    /// The 会话内容存档 secret.
    pub secret: String,
    pub proxy: Option<ProxyConfig>,
    /// Per HTTP request.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Largest response body read (gettoken, getchatdata); a larger one is refused with
    /// [`SourceErrorKind::TooLarge`](wecom_wire::SourceErrorKind::TooLarge).
    pub max_response_bytes: u64,
}

impl ClientConfig {
    pub fn new(
        base_url: impl Into<String>,
        corp_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            corp_id: corp_id.into(),
            secret: secret.into(),
            proxy: None,
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            max_response_bytes: crate::http::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("base url `{0}` is not a valid url")]
    InvalidBaseUrl(String),
    #[error(
        "base url `{0}` uses plain http, which is allowed only for loopback addresses; use https"
    )]
    InsecureHttp(String),
    #[error("base url `{0}` must use https (or http for a loopback emulator)")]
    UnsupportedScheme(String),
    #[error("proxy `{0}` is not usable: {1}")]
    InvalidProxy(String, String),
    #[error("corp id and secret must not be empty")]
    MissingCredentials,
    #[error("http client could not be built: {0}")]
    Http(String),
}

/// Parses the base URL and applies the policy: https anywhere, http only on loopback. Errors show
/// the URL with any credentials redacted.
pub(crate) fn validate_base_url(raw: &str) -> Result<Url, ConfigError> {
    let shown = || redact_url(raw);
    let mut url = Url::parse(raw).map_err(|_| ConfigError::InvalidBaseUrl(shown()))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            if !is_loopback(&url) {
                return Err(ConfigError::InsecureHttp(shown()));
            }
        }
        _ => return Err(ConfigError::UnsupportedScheme(shown())),
    }
    if url.host().is_none() {
        return Err(ConfigError::InvalidBaseUrl(shown()));
    }
    // Paths are joined below the base; make sure it ends with a slash.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_on_loopback() {
        assert!(validate_base_url("https://qyapi.weixin.qq.com").is_ok());
        assert!(validate_base_url("http://127.0.0.1:8080").is_ok());
        assert!(validate_base_url("http://127.3.4.5:1/").is_ok());
        assert!(validate_base_url("http://[::1]:80").is_ok());
        assert!(validate_base_url("http://localhost:9").is_ok());
        assert_eq!(
            validate_base_url("http://qyapi.weixin.qq.com"),
            Err(ConfigError::InsecureHttp(
                "http://qyapi.weixin.qq.com".into()
            ))
        );
        assert!(matches!(
            validate_base_url("http://10.0.0.1"),
            Err(ConfigError::InsecureHttp(_))
        ));
        assert!(matches!(
            validate_base_url("ftp://127.0.0.1"),
            Err(ConfigError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            validate_base_url("not a url"),
            Err(ConfigError::InvalidBaseUrl(_))
        ));
    }

    #[test]
    fn base_url_errors_never_show_a_password() {
        for raw in [
            "http://user:hunter2@10.0.0.1/",
            "ftp://user:hunter2@127.0.0.1",
            "https://user:hunter2@[::1",
            "http://user:hunter2@",
        ] {
            let e = validate_base_url(raw).expect_err(raw).to_string();
            assert!(!e.contains("hunter2") && e.contains("user:***"), "{e}");
        }
    }

    #[test]
    fn base_path_is_kept_for_joining() {
        let u = validate_base_url("https://proxy.example/wecom").expect("valid");
        assert_eq!(
            u.join("cgi-bin/gettoken").expect("join").as_str(),
            "https://proxy.example/wecom/cgi-bin/gettoken"
        );
    }
}
