//! Serving a stored media object over HTTP: one byte range (`Range: bytes=…`, for video
//! seeking), `ETag` (the sha256) with `If-None-Match`, the stored content type, and
//! `Content-Disposition` with the original file name.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

/// A byte range asked for, resolved against the object's size: `[start, end]` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteRange {
    pub start: u64,
    pub end: u64,
}

/// What the `Range` header asks of an object of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeAsk {
    /// No usable range (absent, not `bytes`, several ranges): the whole object.
    Whole,
    Part(ByteRange),
    /// A well-formed range outside the object: 416.
    Unsatisfiable,
}

/// Parses `Range` (RFC 9110 §14.1.2) for one range; anything else serves the whole object, as
/// the RFC allows a server to.
pub(crate) fn parse_range(value: Option<&str>, size: u64) -> RangeAsk {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeAsk::Whole;
    };
    if spec.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAsk::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), number(first), number(last)) {
        // `bytes=-N`: the last N bytes.
        (true, _, Some(n)) => {
            if n == 0 || size == 0 {
                RangeAsk::Unsatisfiable
            } else {
                RangeAsk::Part(ByteRange {
                    start: size.saturating_sub(n),
                    end: size - 1,
                })
            }
        }
        (false, Some(start), end) if last.trim().is_empty() || end.is_some() => {
            if start >= size {
                return RangeAsk::Unsatisfiable;
            }
            let end = end.map_or(size - 1, |e| e.min(size - 1));
            if end < start {
                // `bytes=5-3` is invalid: ignored.
                return RangeAsk::Whole;
            }
            RangeAsk::Part(ByteRange { start, end })
        }
        _ => RangeAsk::Whole,
    }
}

/// The strong ETag of an object: its sha256.
pub(crate) fn etag(sha256: &str) -> String {
    format!("\"{sha256}\"")
}

/// Whether `If-None-Match` already names this ETag.
pub(crate) fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// `Content-Disposition` for `file_name`: inline for what browsers show (pictures, sound, video),
/// an attachment otherwise; the name as an ASCII fallback and as UTF-8 (RFC 6266, RFC 8187).
pub(crate) fn disposition(content_type: &str, file_name: &str) -> String {
    let inline = ["image/", "audio/", "video/"]
        .iter()
        .any(|p| content_type.starts_with(p))
        && content_type != "image/svg+xml";
    let kind = if inline { "inline" } else { "attachment" };
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in file_name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The headers common to every answer about an object.
pub(crate) fn object_headers(
    response: &mut Response,
    etag: &str,
    content_type: &str,
    disposition: &str,
) {
    let headers = response.headers_mut();
    let mut set = |name, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    set(header::ETAG, etag);
    set(header::CONTENT_TYPE, content_type);
    set(header::CONTENT_DISPOSITION, disposition);
    set(header::ACCEPT_RANGES, "bytes");
    // Private: only the signed-in browser may keep it, and must ask again (ETag) before reuse.
    set(header::CACHE_CONTROL, "private, no-cache");
}

/// A 416 answer for an object of `size` bytes.
pub(crate) fn unsatisfiable(size: u64) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(start: u64, end: u64) -> RangeAsk {
        RangeAsk::Part(ByteRange { start, end })
    }

    #[test]
    fn ranges_resolve_against_the_size() {
        assert_eq!(parse_range(None, 100), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), part(0, 9));
        assert_eq!(parse_range(Some("bytes=90-"), 100), part(90, 99));
        assert_eq!(parse_range(Some("bytes=90-500"), 100), part(90, 99));
        assert_eq!(parse_range(Some("bytes=-10"), 100), part(90, 99));
        assert_eq!(parse_range(Some("bytes=-500"), 100), part(0, 99));
        assert_eq!(
            parse_range(Some("bytes=100-"), 100),
            RangeAsk::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=-0"), 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), RangeAsk::Unsatisfiable);
        // Not understood: the whole object.
        assert_eq!(parse_range(Some("bytes=5-3"), 100), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), RangeAsk::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=a-b"), 100), RangeAsk::Whole);
        assert_eq!(parse_range(Some("bytes=+1-2"), 100), RangeAsk::Whole);
        assert_eq!(
            parse_range(Some("bytes=99999999999999999999999-"), 100),
            RangeAsk::Whole
        );
    }

    #[test]
    fn names_are_safe_in_the_header() {
        assert_eq!(
            disposition("application/pdf", "合同 v2.pdf"),
            "attachment; filename=\"__ v2.pdf\"; filename*=UTF-8''%E5%90%88%E5%90%8C%20v2.pdf"
        );
        let evil = disposition("image/jpeg", "a\"b\r\nSet-Cookie: x.jpg");
        assert!(
            evil.starts_with("inline; filename=\"a_b__Set-Cookie_ x.jpg\""),
            "{evil}"
        );
        assert!(HeaderValue::from_str(&evil).is_ok());
        assert!(disposition("image/svg+xml", "x.svg").starts_with("attachment"));
    }

    #[test]
    fn if_none_match_names_the_etag() {
        let tag = etag("ab");
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", \"ab\""),
        );
        assert!(not_modified(&h, &tag));
    }
}
