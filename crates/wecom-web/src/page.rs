//! What every page shares: the navigation bar's data ([`Nav`]), rendering a template into an
//! answer, the not-found and error pages, and query-string helpers.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use wecom_api::ApiError;
use wecom_store::Role;

use crate::lang::Lang;
use crate::session::Viewer;

/// The navigation bar: who is signed in, and which link is the current page.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    /// The signed-in user's name; empty on pages shown before sign-in.
    pub username: String,
    /// `admin`, `auditor` or `reviewer`; empty before sign-in.
    pub role: String,
    /// Admins see the users and audit log links.
    pub admin: bool,
    /// The current section: `conversations`, `search`, `status`, `users`, `audit` (or empty).
    pub active: &'static str,
}

impl Nav {
    /// The bar of a signed-in page in section `active`.
    pub fn new(viewer: &Viewer, active: &'static str) -> Nav {
        let user = &viewer.0.user;
        Nav {
            username: user.username.clone(),
            role: user.role.as_str().to_owned(),
            admin: user.role == Role::Admin,
            active,
        }
    }

    /// The bar of a page shown to anyone (sign-in, not found): no links.
    pub fn anonymous() -> Nav {
        Nav::default()
    }

    pub fn signed_in(&self) -> bool {
        !self.username.is_empty()
    }

    /// `aria-current="page"` on the current section's link.
    pub fn current(&self, section: &str) -> &'static str {
        if self.active == section {
            "page"
        } else {
            "false"
        }
    }

    /// The role in the interface language.
    pub fn role_label(&self, lang: &Lang) -> &'static str {
        role_label(&self.role, lang)
    }
}

/// A role's name in the interface language.
pub fn role_label(role: &str, lang: &Lang) -> &'static str {
    match role {
        "admin" => lang.t("管理员", "Admin"),
        "auditor" => lang.t("审计员", "Auditor"),
        "reviewer" => lang.t("审阅人", "Reviewer"),
        _ => "",
    }
}

/// `template` rendered as a `200` page.
pub fn render(template: &impl Template) -> Response {
    render_status(StatusCode::OK, template)
}

/// `template` rendered with `status`; a template that fails to render is logged and answered
/// with a plain `500`.
pub fn render_status(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    lang: Lang,
    nav: Nav,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    lang: Lang,
    nav: Nav,
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// The `404` page (`data-page="not-found"`): what does not exist and what the caller may not
/// see look the same.
pub fn not_found(lang: Lang) -> Response {
    render_status(
        StatusCode::NOT_FOUND,
        &NotFoundPage {
            lang,
            nav: Nav::anonymous(),
        },
    )
}

/// The `404` page with the navigation bar of a signed-in viewer.
pub fn not_found_for(lang: Lang, viewer: &Viewer) -> Response {
    render_status(
        StatusCode::NOT_FOUND,
        &NotFoundPage {
            lang,
            nav: Nav::new(viewer, ""),
        },
    )
}

/// An API error as a page with the error's status (`404`s as [`not_found`]).
pub fn error(lang: Lang, e: &ApiError) -> Response {
    if e.status == StatusCode::NOT_FOUND {
        return not_found(lang);
    }
    let title = match e.code {
        "forbidden" | "bad_origin" => lang.t("无权访问", "Not allowed"),
        "bad_request" | "invalid_query" | "corp_required" => {
            lang.t("请求有误", "The request is not valid")
        }
        "unavailable" | "search_unavailable" | "media_unavailable" => {
            lang.t("暂时不可用", "Not available right now")
        }
        "unauthenticated" | "session_expired" => lang.t("请重新登录", "Please sign in again"),
        "rate_limited" | "account_locked" => lang.t("请稍后再试", "Please try again later"),
        "conflict" => lang.t("操作冲突", "Conflict"),
        _ => lang.t("服务器出错", "Server error"),
    };
    let mut r = render_status(
        e.status,
        &ErrorPage {
            lang,
            nav: Nav::anonymous(),
            status: e.status.as_u16(),
            title,
            message: &e.message,
        },
    );
    if let Some(secs) = e.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// `YYYY-MM-DD HH:MM:SS` in China time (UTC+8), the time zone WeCom's users read.
pub fn china_time(ms: i64) -> String {
    wecom_wire::text::datetime(ms.div_euclid(1000).saturating_add(8 * 3600))
}

/// `YYYY-MM-DD` in China time.
pub fn china_date(ms: i64) -> String {
    china_time(ms).chars().take(10).collect()
}

/// The first millisecond of China-time day `YYYY-MM-DD`, `None` for anything else.
pub fn china_day_start(date: &str) -> Option<i64> {
    wecom_search::query::china_midnight_ms(date.trim())
}

/// `s` encoded as one query-string value (`application/x-www-form-urlencoded`).
pub fn query_value(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A query string (without `?`) of the pairs whose value is not empty.
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            out.append_pair(k, v);
        }
    }
    out.finish()
}

/// `s` encoded as one URL path segment (`/` and every reserved character escaped).
pub fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The href of a conversation's transcript.
pub fn conversation_href(key: &str) -> String {
    format!("/conversations/{}", path_segment(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_keys_as_one_segment() {
        assert_eq!(
            conversation_href("pair:alice|bob"),
            "/conversations/pair%3Aalice%7Cbob"
        );
        assert_eq!(conversation_href("a/b c"), "/conversations/a%2Fb%20c");
        assert_eq!(
            query_string([("q", "合同 a&b"), ("x", "")]),
            "q=%E5%90%88%E5%90%8C+a%26b"
        );
    }
}
