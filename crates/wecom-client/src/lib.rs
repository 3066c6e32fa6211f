//! The native archive source: speaks WeCom's archive protocol (gettoken, getchatdata,
//! getchatmediadata) over HTTPS without the vendor library — with token refresh on the errcodes the
//! vendor library ignores, bounded retries with capped exponential backoff and jitter, streamed
//! media decryption, proxies, and verified TLS — and the HTTP APIs around the archive that name
//! rooms and people and explain its scope ([`ApiClient`]), with a token cache per secret.

mod api;
mod config;
mod http;
mod media;
mod native;
mod retry;

pub use api::{ApiClient, ApiConfig, ApiError, ApiErrorKind, MAX_AGREE_PAIRS};

pub use config::{ClientConfig, ConfigError, ProxyConfig, WECOM_BASE_URL};
pub use http::DEFAULT_MAX_RESPONSE_BYTES;
pub use media::{
    FnSink, MEDIA_CHUNK, MediaDownload, MediaError, MediaErrorKind, MediaMismatch, WriteSink,
};
pub use native::NativeClient;
pub use retry::RetryPolicy;
