//! The OpenAPI 3 document, generated from the handlers' annotations and the types they
//! exchange; a test keeps `docs/openapi.json` and the router in step with it.

use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::access::Caller;
use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "wecom-archive API",
        description = "The WeCom chat archive over HTTP: conversations, messages, media, search, \
            status, users and the access audit log. Every route but sign-in needs the session \
            cookie; state-changing requests need an allowed Origin. Errors are `{code, message}`.",
    ),
    paths(
        routes::session::sign_in, routes::session::sign_out, routes::session::me,
        routes::directory::corps, routes::conversations::list, routes::conversations::messages,
        routes::messages::message, routes::messages::raw, routes::media::media,
        routes::media::playable,
        routes::search::search, routes::directory::rooms, routes::directory::people,
        routes::status::status, routes::users::list, routes::users::create,
        routes::users::update, routes::audit_log::list, routes::audit_log::verify,
        document,
    ),
    modifiers(&SessionCookie),
    security(("session" = [])),
    tags(
        (name = "session", description = "Signing in and out"),
        (name = "conversations", description = "Conversations and their messages"),
        (name = "messages", description = "One message"),
        (name = "media", description = "Media objects"),
        (name = "search", description = "Exact full-text search"),
        (name = "directory", description = "Corps, rooms, people"),
        (name = "status", description = "Sync status"),
        (name = "users", description = "Accounts (admins)"),
        (name = "audit", description = "The access audit log (admins)"),
    ),
)]
struct ApiDoc;

struct SessionCookie;

impl Modify for SessionCookie {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::SESSION_COOKIE))),
        );
    }
}

/// The API's OpenAPI 3 document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "session",
    responses((status = 200, description = "The OpenAPI 3 document", body = Object),
        (status = 401, body = crate::ErrorBody)))]
pub(crate) async fn document(_caller: Caller) -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}
