//! The API's one error shape, `{code, message}`, with stable codes. Internals (SQL, paths, stack
//! traces) never reach a response: a failure of the archive is logged and answered with a sentence
//! that tells the caller what to do.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracing::error;
use utoipa::ToSchema;
use wecom_search::SearchError;
use wecom_store::{StoreError, StoreErrorKind};

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable, machine-readable: `unauthenticated`, `session_expired`, `invalid_credentials`,
    /// `account_locked`, `account_disabled`, `rate_limited`, `forbidden`, `bad_origin`,
    /// `not_found`, `bad_request`, `invalid_query`, `corp_required`, `conflict`,
    /// `payload_too_large`, `unsupported_media_type`, `method_not_allowed`,
    /// `range_not_satisfiable`, `search_unavailable`, `media_unavailable`, `not_voice`,
    /// `voice_undecodable`, `unavailable`,
    /// `internal`.
    pub code: String,
    /// A sentence for people: what went wrong and what to do.
    pub message: String,
}

/// An error answer: a status, a stable code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to send as `Retry-After` (rate limits and lockouts).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Ids are never confirmed: whatever does not exist and whatever the caller may not see
    /// get the same answer.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what} (or not one you may see)"),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in first: POST /api/v1/session with your username and password",
        )
    }

    pub fn session_expired() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "your session has ended (signed out, timed out, or the password changed); sign in again",
        )
    }

    pub fn with_retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// A failure inside the server: logged with its cause, answered without it.
    pub fn internal(context: &str, cause: &dyn std::fmt::Display) -> ApiError {
        error!(error = %cause, "{context}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server could not complete this request; it has been logged, try again later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e.kind() {
            StoreErrorKind::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the archive is busy; try again in a moment",
            )
            .with_retry_after(1),
            _ => ApiError::internal("archive request failed", &e),
        }
    }
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> ApiError {
        if e.is_usage() {
            // Usage errors (query syntax, a cursor of another search) say what to write; they
            // quote only the caller's own input.
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.to_string())
        } else {
            match e {
                SearchError::Missing { .. }
                | SearchError::Corrupt { .. }
                | SearchError::Incompatible { .. }
                | SearchError::WrongCorp { .. } => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "search_unavailable",
                    "search is not available for this corp until its index is rebuilt \
                     (`wecom-archive index rebuild`)",
                ),
                other => ApiError::internal("search failed", &other),
            }
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> ApiError {
        ApiError::bad_request(format!("bad query string: {}", e.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> ApiError {
        ApiError::bad_request(format!("bad path: {}", e.body_text()))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> ApiError {
        match e {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send a JSON body with `Content-Type: application/json`",
            ),
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is larger than this API accepts",
                )
            }
            other => ApiError::bad_request(format!("bad JSON body: {}", other.body_text())),
        }
    }
}
