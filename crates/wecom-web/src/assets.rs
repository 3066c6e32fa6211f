//! The static assets (`assets/`: the stylesheet, the scripts, the vendored htmx), embedded in the
//! binary and served under `/assets/`. Names are not fingerprinted, so every answer carries an
//! `ETag` (the file's SHA-256) and `Cache-Control: no-cache`: the browser keeps its copy and
//! revalidates it with one cheap request.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "assets/"]
struct Assets;

/// The content type of an asset, by extension; `None` for a kind this app does not serve (the
/// folder's README, for one).
fn content_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "json" => "application/json",
        _ => return None,
    })
}

/// `GET /assets/{*path}`.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let (Some(file), Some(kind)) = (Assets::get(&path), content_type(&path)) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let etag = format!("\"{}\"", hex_of(&file.metadata.sha256_hash()));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, kind)], file.data.into_owned()).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    response
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_asset_has_a_content_type() {
        let names: Vec<_> = Assets::iter().collect();
        assert!(names.iter().any(|n| n == "htmx.min.js"), "{names:?}");
        assert!(names.iter().any(|n| n == "app.css"), "{names:?}");
        for name in names.iter().filter(|n| !n.ends_with(".md")) {
            assert!(content_type(name).is_some(), "{name}");
        }
    }
}
