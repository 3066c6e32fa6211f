//! Extractors that answer bad input in the API's error shape, the client's address, and the
//! headers every API answer carries.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// `axum::extract::Query` with bad query strings (non-UTF-8, wrong types) answered as
/// `400 bad_request`.
pub(crate) struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if let Some(query) = parts.uri.query()
            && !decodes_to_utf8(query)
        {
            return Err(ApiError::bad_request(
                "the query string is not UTF-8 once percent-decoded",
            ));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(ApiError::from)
    }
}

/// Whether every name and value of a query string is UTF-8 once percent-decoded (the form
/// decoder would otherwise replace bad bytes silently, changing what was asked).
fn decodes_to_utf8(query: &str) -> bool {
    query.split('&').all(|pair| {
        let bytes = pair.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = |b: u8| char::from(b).to_digit(16);
            match bytes[i] {
                b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(u8::try_from(h * 16 + l).unwrap_or(0));
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                },
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        std::str::from_utf8(&out).is_ok()
    })
}

/// `axum::extract::Path` answered in the API's error shape.
pub(crate) struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(ApiError::from)
    }
}

/// `axum::Json` answered in the API's error shape (415, 413, 400).
pub(crate) struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|j| ApiJson(j.0))
            .map_err(ApiError::from)
    }
}

/// The client's address as the server saw it (`unknown` when served without one, as in tests
/// that call the router directly).
pub fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The client's address, as an extractor.
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(parts)))
    }
}

/// The API's Content-Security-Policy: its answers are data, never a document to run.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// Every API answer: never cached by browsers or proxies, never sniffed, never framed.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    set_security_headers(response.headers_mut(), API_CSP, "no-referrer");
    response
}

/// The headers every answer of this server carries, with the given Content-Security-Policy and
/// Referrer-Policy: `Cache-Control: no-store` unless the handler chose its own, `nosniff`, and no
/// framing. The API uses [`API_CSP`]; the web app its pages' own policy.
pub fn set_security_headers(
    headers: &mut HeaderMap,
    csp: &'static str,
    referrer_policy: &'static str,
) {
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(referrer_policy),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
}

#[cfg(test)]
mod tests {
    use super::decodes_to_utf8;

    #[test]
    fn query_strings_must_decode_to_utf8() {
        assert!(decodes_to_utf8("q=%E5%90%88%E5%90%8C&limit=5"));
        assert!(decodes_to_utf8("q=a+b&x=%"));
        assert!(decodes_to_utf8("q=100%25"));
        assert!(!decodes_to_utf8("q=%ff%fe"));
        assert!(!decodes_to_utf8("%C3=1"));
        assert!(!decodes_to_utf8("q=%E5%90"));
    }
}
