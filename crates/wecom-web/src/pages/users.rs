//! `/admin/users` (admins only; anyone else gets the not-found page): every user, and forms to
//! add one, disable or enable, reset a password, and change role, corps and scope. Each change
//! goes through the API's own service (the same checks, the same audit entries) and answers with
//! a `303` back to the list.

use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wecom_api::service::browse;
use wecom_api::{ApiError, ApiState, NewUserBody, ScopeBody, UserPatch, UserView};

use crate::lang::Lang;
use crate::page::{self, Nav, china_time, path_segment, role_label};
use crate::session::Viewer;

/// One user as shown.
pub struct UserRow {
    pub u: UserView,
    pub action: String,
    pub role_label: &'static str,
    pub corps: String,
    pub userids: String,
    pub departments: String,
    pub locked_until: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    lang: Lang,
    nav: Nav,
    users: Vec<UserRow>,
    corps: Vec<String>,
    notice: Option<&'static str>,
    error: Option<String>,
    /// What was typed into the add form, kept after an error.
    draft: UserForm,
}

#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    #[serde(default)]
    done: String,
}

/// The add and change forms.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UserForm {
    /// `update`, `disable`, `enable` or `password` (change forms).
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub role: String,
    /// Corp ids, separated by commas or spaces.
    #[serde(default)]
    pub corps: String,
    #[serde(default)]
    pub userids: String,
    /// Department ids (numbers).
    #[serde(default)]
    pub departments: String,
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c == '，' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn departments(lang: Lang, s: &str) -> Result<Vec<u64>, ApiError> {
    words(s)
        .iter()
        .map(|w| w.parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::bad_request(lang.t("部门 ID 必须是数字。", "Department ids are numbers."))
        })
}

impl UserForm {
    fn scope(&self, lang: Lang) -> Result<ScopeBody, ApiError> {
        Ok(ScopeBody {
            userids: words(&self.userids),
            departments: departments(lang, &self.departments)?,
        })
    }
}

fn row(lang: Lang, u: UserView) -> UserRow {
    let now = wecom_wire::clock::now_ms();
    UserRow {
        action: format!("/admin/users/{}", path_segment(&u.username)),
        role_label: role_label(&u.role, &lang),
        corps: u.corps.join(", "),
        userids: u.scope.userids.join(", "),
        departments: u
            .scope
            .departments
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        locked_until: u.locked_until_ms.filter(|t| *t > now).map(china_time),
        u,
    }
}

async fn show(
    state: &ApiState,
    lang: Lang,
    viewer: &Viewer,
    status: StatusCode,
    notice: Option<&'static str>,
    error: Option<String>,
    draft: UserForm,
) -> Response {
    let users = match browse::users(state, &viewer.0).await {
        Ok(u) => u,
        Err(e) => return page::error(lang, &e),
    };
    page::render_status(
        status,
        &UsersPage {
            lang,
            nav: Nav::new(viewer, "users"),
            users: users.into_iter().map(|u| row(lang, u)).collect(),
            corps: browse::corps(state, &viewer.0)
                .into_iter()
                .map(|c| c.corp_id)
                .collect(),
            notice,
            error,
            draft,
        },
    )
}

/// `GET /admin/users`.
pub async fn page(
    State(state): State<Arc<ApiState>>,
    lang: Lang,
    viewer: Viewer,
    q: Result<Query<UsersQuery>, QueryRejection>,
) -> Response {
    if !viewer.is_admin() {
        return page::not_found_for(lang, &viewer);
    }
    let notice = q.ok().and_then(|q| match q.0.done.as_str() {
        "added" => Some(lang.t("已添加用户。", "User added.")),
        "updated" => Some(lang.t("已保存更改。", "Changes saved.")),
        "disabled" => Some(lang.t(
            "已停用用户，其会话已失效。",
            "User disabled; their sessions no longer work.",
        )),
        "enabled" => Some(lang.t("已启用用户。", "User enabled.")),
        "password" => Some(lang.t(
            "已重置密码，该用户的所有会话已结束。",
            "Password reset; every session of the user has ended.",
        )),
        _ => None,
    });
    show(
        &state,
        lang,
        &viewer,
        StatusCode::OK,
        notice,
        None,
        UserForm::default(),
    )
    .await
}

fn back(done: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/admin/users?done={done}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// `POST /admin/users`: adds a user.
pub async fn create(
    State(state): State<Arc<ApiState>>,
    lang: Lang,
    viewer: Viewer,
    form: Result<Form<UserForm>, FormRejection>,
) -> Response {
    if !viewer.is_admin() {
        return page::not_found_for(lang, &viewer);
    }
    let Ok(Form(form)) = form else {
        let e = ApiError::bad_request(lang.t("表单无效。", "The form is not valid."));
        return show(
            &state,
            lang,
            &viewer,
            e.status,
            None,
            Some(e.message),
            UserForm::default(),
        )
        .await;
    };
    let result = async {
        let reviewer = form.role == "reviewer";
        let body = NewUserBody {
            username: form.username.trim().to_owned(),
            password: form.password.clone(),
            role: form.role.clone(),
            corps: Some(words(&form.corps)).filter(|c| !c.is_empty()),
            scope: if reviewer {
                Some(form.scope(lang)?)
            } else {
                None
            },
        };
        browse::create_user(&state, &viewer.0, body).await
    }
    .await;
    match result {
        Ok(_) => back("added"),
        Err(e) => {
            let draft = UserForm {
                password: String::new(),
                ..form
            };
            show(
                &state,
                lang,
                &viewer,
                e.status,
                None,
                Some(e.message),
                draft,
            )
            .await
        }
    }
}

/// `POST /admin/users/{username}`: one change (`action`).
pub async fn update(
    State(state): State<Arc<ApiState>>,
    lang: Lang,
    viewer: Viewer,
    Path(username): Path<String>,
    form: Result<Form<UserForm>, FormRejection>,
) -> Response {
    if !viewer.is_admin() {
        return page::not_found_for(lang, &viewer);
    }
    let Ok(Form(form)) = form else {
        let e = ApiError::bad_request(lang.t("表单无效。", "The form is not valid."));
        return show(
            &state,
            lang,
            &viewer,
            e.status,
            None,
            Some(e.message),
            UserForm::default(),
        )
        .await;
    };
    let (patch, done) = match form.action.as_str() {
        "disable" => (
            UserPatch {
                disabled: Some(true),
                ..UserPatch::default()
            },
            "disabled",
        ),
        "enable" => (
            UserPatch {
                disabled: Some(false),
                ..UserPatch::default()
            },
            "enabled",
        ),
        "password" => (
            UserPatch {
                password: Some(form.password.clone()),
                ..UserPatch::default()
            },
            "password",
        ),
        "update" => {
            let scope = if form.role == "reviewer" {
                match form.scope(lang) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        return show(
                            &state,
                            lang,
                            &viewer,
                            e.status,
                            None,
                            Some(e.message),
                            UserForm::default(),
                        )
                        .await;
                    }
                }
            } else {
                None
            };
            (
                UserPatch {
                    role: Some(form.role.clone()),
                    corps: Some(words(&form.corps)).filter(|c| !c.is_empty()),
                    scope,
                    ..UserPatch::default()
                },
                "updated",
            )
        }
        _ => {
            let e = ApiError::bad_request(lang.t("未知的操作。", "Unknown action."));
            return show(
                &state,
                lang,
                &viewer,
                e.status,
                None,
                Some(e.message),
                UserForm::default(),
            )
            .await;
        }
    };
    match browse::update_user(&state, &viewer.0, &username, patch).await {
        Ok(_) => back(done),
        Err(e) if e.status == StatusCode::NOT_FOUND => page::not_found_for(lang, &viewer),
        Err(e) => {
            show(
                &state,
                lang,
                &viewer,
                e.status,
                None,
                Some(e.message),
                UserForm::default(),
            )
            .await
        }
    }
}
