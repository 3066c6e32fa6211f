//! The web app served over a small archive on disk, for the page tests: the API's and the web
//! app's routers on one real HTTP server on a random loopback port, real SQLite and a real search
//! index (adapted from the API's own test support).
//!
//! The corpus (corp [`CORP`]):
//! - `pair:alice|bob`: m1 (text);
//! - `room:wr1` (carol, dave, alice): m2, m3;
//! - `pair:erin|frank`: m4 (text);
//! - `pair:alice|wmEXT…`: m7 from an external contact;
//! - `pair:gail|henry`: m8, whose text is hostile markup; gail's recorded name is markup too.
//!
//! Users: `root` (admin), `rita` (reviewer of alice), `dora` (reviewer of department 7, whose
//! only member is erin). Every password is [`PASSWORD`].
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderMap, HeaderValue, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wecom_api::{ApiConfig, ApiCorp, ApiState};
use wecom_search::{IndexerOptions, SearchIndex, Searcher};
use wecom_server::ServerConfig;
use wecom_store::conformance::chat;
use wecom_store::names::{PersonInfo, PersonResolution};
use wecom_store::{
    AuditFilter, AuditRecord, NewUser, PageCommit, Role, Roles, Scope, StoreLocation,
};

pub const CORP: &str = wecom_store::conformance::CORP;
pub const PASSWORD: &str = "correct horse battery staple";
pub const EXT: &str = "wmEXTabcdefghijklmnopqrstuvwx12";
pub const T0: i64 = 1_767_225_600_000;
/// gail's recorded name.
pub const HOSTILE_NAME: &str = "<script>alert('name')</script>Gail";

pub struct Served {
    pub dir: TempDir,
    pub roles: Roles,
    pub base: String,
    pub client: reqwest::Client,
    stop: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A second corp the API serves (over the same archive, where it has no messages): only admins
/// may use it, as no user is bound to it.
pub const OTHER_CORP: &str = "wwothercorp0002";

pub async fn serve(config: ApiConfig) -> Served {
    serve_corps(config, false).await
}

/// [`serve`], with [`OTHER_CORP`] served too when `two_corps`.
pub async fn serve_corps(config: ApiConfig, two_corps: bool) -> Served {
    let dir = tempfile::tempdir().expect("temp dir");
    let roles = wecom_store::open(&StoreLocation::Sqlite(dir.path().join("archive.db")))
        .expect("open archive");
    let room = ["alice", "carol", "dave"];
    let records = vec![
        chat(1, "m1", "alice", &["bob"], "", T0, "请把合同发我邮箱"),
        chat(2, "m2", "carol", &room, "wr1", T0 + 1000, "合同已经签好了"),
        chat(
            3,
            "m3",
            "dave",
            &room,
            "wr1",
            T0 + 2000,
            "明天开会讨论合同条款",
        ),
        chat(
            4,
            "m4",
            "erin",
            &["frank"],
            "",
            T0 + 3000,
            "私人账户转账 合同",
        ),
        chat(
            7,
            "m7_external",
            EXT,
            &["alice"],
            "",
            T0 + 6000,
            "合同什么时候寄",
        ),
        chat(
            8,
            "m8",
            "gail",
            &["henry"],
            "",
            T0 + 7000,
            "<script>alert(1)</script><img src=x onerror=alert(2)> 合同",
        ),
    ];
    roles
        .writer
        .commit_page(
            CORP,
            &PageCommit {
                records,
                quarantined: vec![],
                cursor: 8,
            },
        )
        .expect("commit");
    for (id, name, departments) in [
        ("erin", "Erin 艾琳", vec![7]),
        ("gail", HOSTILE_NAME, vec![]),
    ] {
        roles
            .directory
            .record_person(
                CORP,
                id,
                &PersonResolution::Named(PersonInfo {
                    name: name.to_owned(),
                    departments,
                    ..PersonInfo::default()
                }),
                T0,
                T0 + 86_400_000,
            )
            .expect("record person");
    }
    let index_dir = dir.path().join("search").join(CORP);
    let index = SearchIndex::open_or_create(&index_dir, CORP).expect("index");
    let indexer =
        wecom_search::Indexer::open(index, roles.reader.clone(), IndexerOptions::default())
            .expect("indexer");
    indexer
        .catch_up(&CancellationToken::new(), &mut |_| {})
        .expect("indexing");
    drop(indexer);
    let searcher = Searcher::open(
        SearchIndex::open(&index_dir, CORP).expect("index"),
        roles.reader.clone(),
    )
    .expect("searcher");
    add_user(&roles, "root", Role::Admin, Scope::default());
    add_user(
        &roles,
        "rita",
        Role::Reviewer,
        Scope {
            userids: vec!["alice".into()],
            departments: vec![],
        },
    );
    add_user(
        &roles,
        "dora",
        Role::Reviewer,
        Scope {
            userids: vec![],
            departments: vec![7],
        },
    );
    let mut corps = vec![ApiCorp {
        corp_id: CORP.to_owned(),
        reader: roles.reader.clone(),
        search: Some(Arc::new(searcher)),
        blobs: None,
    }];
    if two_corps {
        corps.push(ApiCorp {
            corp_id: OTHER_CORP.to_owned(),
            reader: roles.reader.clone(),
            search: None,
            blobs: None,
        });
    }
    let state = ApiState::new(
        config,
        roles.accounts.clone(),
        roles.audit.clone(),
        corps,
        None,
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    let router = wecom_api::router(state.clone()).merge(wecom_web::router(state));
    let shutdown = stop.clone().cancelled_owned();
    tokio::spawn(async move {
        wecom_server::serve(listener, router, &ServerConfig::default(), shutdown)
            .await
            .expect("serve");
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    Served {
        base: format!("http://{addr}"),
        client,
        dir,
        roles,
        stop,
    }
}

fn add_user(roles: &Roles, name: &str, role: Role, scope: Scope) {
    roles
        .accounts
        .create_user(
            &NewUser {
                username: name.to_owned(),
                password_hash: wecom_accounts::hash_password(PASSWORD).expect("hash"),
                role,
                corps: vec![CORP.to_owned()],
                scope,
            },
            T0,
        )
        .expect("create user");
}

/// An answer: status, headers and body.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `data-page` of the body.
    pub fn data_page(&self) -> &str {
        self.body
            .split_once("<body data-page=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(name, _)| name)
            .unwrap_or("")
    }
}

/// A form body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        f.append_pair(k, v);
    }
    f.finish()
}

impl Served {
    /// A request; `origin` adds this server's own `Origin`; `body` is sent form-encoded.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<String>,
        origin: bool,
    ) -> Page {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(s) = session {
            req = req.header(COOKIE, format!("wecom_session={s}"));
        }
        if origin {
            req = req.header(ORIGIN, self.base.clone());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(b);
        }
        let r = req.send().await.expect("request");
        Page {
            status: r.status(),
            headers: r.headers().clone(),
            body: r.text().await.expect("body"),
        }
    }

    pub async fn get(&self, path: &str, session: Option<&str>) -> Page {
        self.request(Method::GET, path, session, &[], None, false)
            .await
    }

    pub async fn post(&self, path: &str, session: Option<&str>, pairs: &[(&str, &str)]) -> Page {
        self.request(Method::POST, path, session, &[], Some(form(pairs)), true)
            .await
    }

    pub async fn try_sign_in(&self, user: &str, password: &str, next: &str) -> Page {
        self.post(
            "/login",
            None,
            &[("username", user), ("password", password), ("next", next)],
        )
        .await
    }

    /// Signs in through the sign-in form; the session token.
    pub async fn sign_in(&self, user: &str) -> String {
        let p = self.try_sign_in(user, PASSWORD, "").await;
        assert_eq!(
            p.status,
            StatusCode::SEE_OTHER,
            "sign in {user}: {}",
            p.body
        );
        session_of(&p.headers).expect("session cookie")
    }

    pub fn audit(&self) -> Vec<AuditRecord> {
        self.roles
            .audit
            .list(&AuditFilter {
                limit: 100_000,
                ..AuditFilter::default()
            })
            .expect("audit list")
    }
}

/// The session token a `Set-Cookie` header sets.
pub fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v: &HeaderValue| v.to_str().ok())
        .find_map(|v| v.strip_prefix("wecom_session="))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
        .filter(|t| !t.is_empty())
}
