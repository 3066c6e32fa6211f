//! `POST /cgi-bin/message/getchatmediadata` (sdk-wire-protocol.md §4): one range of a stored media
//! object per request, answered with WeCom's upper-case `CONTENT-RANGE: BYTES a-b/total` header.
//!
//! Decisions where the reference says nothing about the real server:
//! - checks, in order: injected fault, body size, token (41001/40014/42001/48002, as
//!   getchatdata), body (44002 empty, 47001 not `{"fileid":"…","authkey":"…",…}`), Range syntax, fileid (301010
//!   unknown), authkey (301010 too, so a wrong authkey does not reveal that the fileid exists),
//!   range against the object;
//! - `Range` is read leniently: `bytes=A-B` with any case and spaces, `bytes=A-` meaning one chunk;
//!   no header means the first chunk `0-524287`. Malformed, `B < A`, `(B - A + 1) % 16 != 0` (the
//!   vendor library refuses such ranges itself) or `A >= total` → errcode 40058;
//! - at most 512 KiB per answer: `B' = min(B, total - 1, A + 524287)`, and CONTENT-RANGE says so;
//! - any start is served as the bytes of the stored object, block-aligned or not;
//! - every successful answer closes its connection (`Connection: close`), as the vendor library
//!   opens one per request anyway.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use wecom_wire::directory::SecretKind;

use super::{
    BodyRead, ConnControl, Takeover, api_error, code, cut, html, peer_of, query_params, read_body,
    token_refusal, too_large,
};
use crate::emulator::{Emulator, MediaFault};
use crate::media::stored_range;

/// Bytes of ciphertext per answer: what the vendor library asks for.
pub const MEDIA_CHUNK: u64 = 512 * 1024;

/// The request body. Unknown fields (`version`) are ignored.
#[derive(Deserialize)]
struct MediaBody {
    fileid: String,
    authkey: String,
}

/// How the Content-Range header of an answer is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeHeader {
    /// `CONTENT-RANGE: BYTES a-b/total`, what WeCom sends and the vendor library needs.
    Wecom,
    /// `Content-Range: bytes a-b/total` (RFC 9110).
    Standard,
    Missing,
}

pub(super) async fn getchatmediadata(State(emulator): State<Emulator>, req: Request) -> Response {
    let peer = peer_of(&req);
    let control = req.extensions().get::<ConnControl>().cloned();
    let params = query_params(&req);
    let range = parse_range(req.headers());
    let body = match read_body(req.into_body()).await {
        BodyRead::Complete(body) => body,
        BodyRead::TooLarge => return too_large(),
        BodyRead::Failed => return html(StatusCode::BAD_REQUEST, "400 Bad Request"),
    };
    let parsed: Option<MediaBody> = serde_json::from_slice(&body).ok();
    let requested = match range {
        Ok(Some(range)) => Some(range),
        Ok(None) => Some((0, MEDIA_CHUNK - 1)),
        Err(()) => None,
    };
    let fault = emulator.media_request(parsed.as_ref().map(|b| b.fileid.as_str()), requested);

    match fault {
        Some(MediaFault::Http500) => {
            return html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error",
            );
        }
        Some(MediaFault::DropConnection) => {
            if let Some(control) = &control {
                control.take_over(Takeover::Drop).await;
            }
            return cut(Vec::new(), 64);
        }
        Some(MediaFault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(MediaFault::SystemBusy) => return api_error(code::SYSTEM_BUSY, "system busy", peer),
        Some(MediaFault::Errcode(errcode)) => {
            return api_error(errcode, "injected error", peer);
        }
        Some(MediaFault::Expired) => return api_error(code::DATA_EXPIRED, "data expired", peer),
        Some(MediaFault::IpNotAllowed) => {
            return api_error(code::IP_NOT_ALLOWED, "ip not allowed", peer);
        }
        Some(MediaFault::ExpireTokens) => emulator.expire_tokens(),
        Some(MediaFault::NotJson) => return html(StatusCode::OK, "system error"),
        _ => {}
    }

    let token = match params.get("access_token").filter(|t| !t.is_empty()) {
        None => return api_error(code::MISSING_ACCESS_TOKEN, "access_token missing", peer),
        Some(token) => token,
    };
    if let Some(refused) = token_refusal(&emulator, token, SecretKind::Archive, peer) {
        return refused;
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return api_error(code::EMPTY_POST_DATA, "empty post data", peer);
    }
    let Some(request) = parsed else {
        return api_error(code::DATA_FORMAT_ERROR, "data format error", peer);
    };
    let Some((start, end)) = requested else {
        return api_error(code::INVALID_PARAMETER, "invalid Range header", peer);
    };
    // `(end - start) % 16 == 15` is `(B - A + 1) % 16 == 0` without overflowing at u64::MAX.
    if end < start || (end - start) % 16 != 15 {
        return api_error(code::INVALID_PARAMETER, "invalid Range", peer);
    }
    let spec = match emulator.media(&request.fileid) {
        Some(spec) if spec.authkey == request.authkey => spec,
        _ => return api_error(code::UNKNOWN_FILEID, "invalid fileid", peer),
    };
    let total = spec.stored_len();
    if start >= total {
        return api_error(
            code::INVALID_PARAMETER,
            "Range starts beyond the object",
            peer,
        );
    }
    let end = end
        .min(total - 1)
        .min(start.saturating_add(MEDIA_CHUNK - 1));

    let mut content = stored_range(&spec, start, (end - start + 1) as usize);
    let mut shown = (start, end);
    let mut range_header = RangeHeader::Wecom;
    match fault {
        Some(MediaFault::CorruptChunk) => {
            if let Some(first) = content.first_mut() {
                *first ^= 0xFF;
            }
        }
        Some(MediaFault::ShortContent) => content.truncate(content.len().saturating_sub(16)),
        Some(MediaFault::StandardContentRange) => range_header = RangeHeader::Standard,
        Some(MediaFault::MissingContentRange) => range_header = RangeHeader::Missing,
        Some(MediaFault::WrongContentRange) => {
            shown = (start.saturating_add(16), end.saturating_add(16));
        }
        _ => {}
    }
    let mut json = String::with_capacity(content.len().div_ceil(3) * 4 + 64);
    json.push_str(r#"{"errcode":0,"errmsg":"ok","content":""#);
    if fault == Some(MediaFault::AbortingContent) {
        json.push('=');
    } else {
        STANDARD.encode_string(&content, &mut json);
    }
    json.push_str(r#""}"#);
    drop(content);
    let json = json.into_bytes();

    let range_line = match range_header {
        RangeHeader::Wecom => Some((
            "CONTENT-RANGE",
            format!("BYTES {}-{}/{total}", shown.0, shown.1),
        )),
        RangeHeader::Standard => Some((
            "Content-Range",
            format!("bytes {}-{}/{total}", shown.0, shown.1),
        )),
        RangeHeader::Missing => None,
    };
    let truncate = fault == Some(MediaFault::TruncatedBody);
    match control {
        Some(control) => {
            let reply = raw_reply(range_line, json, truncate);
            control.take_over(Takeover::Reply(reply)).await
        }
        // Served through `router` alone: hyper lower-cases the header name.
        None => {
            let mut response = if truncate {
                let full = json.len();
                cut(json, full)
            } else {
                super::json_response(StatusCode::OK, json)
            };
            if let Some((name, value)) = range_line
                && let (Ok(name), Ok(value)) = (
                    header::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(&value),
                )
            {
                response.headers_mut().insert(name, value);
            }
            response
        }
    }
}

/// The requested range: `Ok(None)` without a Range header, `Err(())` when it is malformed.
fn parse_range(headers: &HeaderMap) -> Result<Option<(u64, u64)>, ()> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ())?.trim();
    let (unit, spec) = text.split_once('=').ok_or(())?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Err(());
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let number = |s: &str| -> Result<u64, ()> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(());
        }
        s.parse().map_err(|_| ())
    };
    let start = number(a)?;
    let end = if b.trim().is_empty() {
        start.saturating_add(MEDIA_CHUNK - 1)
    } else {
        number(b)?
    };
    Ok(Some((start, end)))
}

/// A whole HTTP response written by hand, so the header name keeps its case. With `truncate`, it
/// announces the full Content-Length but carries half of the body (the connection then closes).
fn raw_reply(range_line: Option<(&str, String)>, json: Vec<u8>, truncate: bool) -> Vec<u8> {
    let mut head = String::from(
        "HTTP/1.1 200 OK\r\nServer: wecom-emulator\r\nContent-Type: application/json; charset=UTF-8\r\n",
    );
    if let Some((name, value)) = range_line {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        json.len()
    ));
    let body = if truncate {
        &json[..json.len() / 2]
    } else {
        &json[..]
    };
    let mut reply = Vec::with_capacity(head.len() + body.len());
    reply.extend_from_slice(head.as_bytes());
    reply.extend_from_slice(body);
    reply
}
