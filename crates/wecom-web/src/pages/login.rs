//! Signing in and out: `GET /login` (the form), `POST /login` (the API's sign-in, then a `303` to
//! `next` when it is a local path), `POST /logout`.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wecom_api::service::browse;
use wecom_api::{ApiError, ApiState, ClientAddress};
use wecom_wire::clock::now_ms;

use crate::lang::Lang;
use crate::page::{self, Nav, render_status};
use crate::session::{Viewer, local_next};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    lang: Lang,
    nav: Nav,
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

/// `GET /login`.
pub async fn form(lang: Lang, q: Result<Query<LoginQuery>, QueryRejection>) -> Response {
    let next = q.ok().and_then(|q| q.0.next).unwrap_or_default();
    page::render(&LoginPage {
        lang,
        nav: Nav::anonymous(),
        next: local_next(Some(&next)),
        username: String::new(),
        error: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`.
pub async fn submit(
    State(state): State<Arc<ApiState>>,
    lang: Lang,
    ClientAddress(address): ClientAddress,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return render_status(
            StatusCode::BAD_REQUEST,
            &LoginPage {
                lang,
                nav: Nav::anonymous(),
                next: local_next(None),
                username: String::new(),
                error: Some(
                    lang.t("请填写用户名和密码。", "Enter a username and a password.")
                        .to_owned(),
                ),
            },
        );
    };
    let next = local_next(Some(&form.next));
    match browse::sign_in(&state, &address, &form.username, form.password).await {
        Ok(signed_in) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            let h = r.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&next) {
                h.insert(header::LOCATION, v);
            }
            if let Ok(v) = HeaderValue::from_str(&signed_in.set_cookie) {
                h.insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => {
            let mut r = render_status(
                e.status,
                &LoginPage {
                    lang,
                    nav: Nav::anonymous(),
                    next,
                    username: form.username,
                    error: Some(sign_in_error(lang, &e)),
                },
            );
            if let Some(secs) = e.retry_after
                && let Ok(v) = HeaderValue::from_str(&secs.to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
    }
}

/// What a failed sign-in tells the person.
fn sign_in_error(lang: Lang, e: &ApiError) -> String {
    let wait = e.retry_after.unwrap_or(1);
    match e.code {
        "invalid_credentials" => lang
            .t("用户名或密码错误。", "Wrong username or password.")
            .to_owned(),
        "account_locked" => {
            let until_ms = now_ms().saturating_add(i64::try_from(wait).unwrap_or(0) * 1000);
            let until = page::china_time(until_ms);
            match lang {
                Lang::Zh => format!(
                    "登录失败次数过多，账户已锁定至 {until}（北京时间）。请届时再试，或请管理员重置密码。"
                ),
                Lang::En => format!(
                    "Too many failed sign-ins: this account is locked until {until} (China time). \
                     Try again then, or ask an admin to reset the password."
                ),
            }
        }
        "rate_limited" => match lang {
            Lang::Zh => format!("登录尝试过于频繁，请在 {wait} 秒后再试。"),
            Lang::En => format!("Too many sign-in attempts; try again in {wait} seconds."),
        },
        "account_disabled" => lang
            .t(
                "此账户已停用，请联系管理员。",
                "This account is disabled; ask an admin.",
            )
            .to_owned(),
        _ => e.message.clone(),
    }
}

/// `POST /logout`: ends the session and returns to the sign-in page.
pub async fn sign_out(State(state): State<Arc<ApiState>>, lang: Lang, viewer: Viewer) -> Response {
    match browse::sign_out(&state, &viewer.0).await {
        Ok(clear) => {
            let mut r = StatusCode::SEE_OTHER.into_response();
            let h = r.headers_mut();
            h.insert(header::LOCATION, HeaderValue::from_static("/login"));
            if let Ok(v) = HeaderValue::from_str(&clear) {
                h.insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => page::error(lang, &e),
    }
}
