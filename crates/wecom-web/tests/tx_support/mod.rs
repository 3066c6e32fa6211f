//! An archive on disk for the transcript tests: the reference's example records (one per
//! message type) or an emulator corpus, in real SQLite, optionally served over HTTP on a random
//! loopback port with the API and the web app's transcript routes.
#![allow(dead_code)] // each test uses its part

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use serde_json::json;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wecom_api::{ApiConfig, ApiCorp, ApiState};
use wecom_server::ServerConfig;
use wecom_store::conformance::decrypted;
use wecom_store::{
    AuditFilter, AuditRecord, MediaArea, MediaObject, NewUser, PageCommit, Role, Roles, Scope,
    StoreLocation,
};
use wecom_views::MessageDetail;

pub const PASSWORD: &str = "correct horse battery staple";

/// An archive of `records` (plaintexts, seq from 1) in corp `corp`.
pub struct Archive {
    pub dir: TempDir,
    pub roles: Roles,
    pub corp: String,
}

impl Archive {
    pub fn of(corp: &str, records: &[(String, String)]) -> Archive {
        let dir = tempfile::tempdir().expect("temp dir");
        let roles = wecom_store::open(&StoreLocation::Sqlite(dir.path().join("archive.db")))
            .expect("open archive");
        let ingested: Vec<_> = records
            .iter()
            .enumerate()
            .map(|(i, (msgid, text))| decrypted(i as u64 + 1, msgid, text.as_bytes()))
            .collect();
        for (n, page) in ingested.chunks(500).enumerate() {
            roles
                .writer
                .commit_page(
                    corp,
                    &PageCommit {
                        records: page.to_vec(),
                        quarantined: vec![],
                        cursor: ((n + 1) * 500).min(ingested.len()) as u64,
                    },
                )
                .expect("commit");
        }
        Archive {
            dir,
            roles,
            corp: corp.to_owned(),
        }
    }

    /// Marks every media job of `msgid` done with a made-up object of `content_type`.
    pub fn complete_media(&self, content_type: &str) -> Vec<(String, String, String)> {
        let jobs = self
            .roles
            .media
            .claim_media_jobs(&self.corp, 1, 0, 100_000)
            .expect("claim");
        let mut done = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            let sha = format!("{:064x}", i + 1);
            let object = MediaObject {
                sha256: sha.clone(),
                size: 1000 + i as u64,
                md5: String::new(),
                content_type: content_type.to_owned(),
                backend: "fs".to_owned(),
                key: format!("objects/{}/{sha}", &sha[..2]),
                area: MediaArea::Objects,
            };
            assert!(
                self.roles
                    .media
                    .complete_media_job(&self.corp, job.id, &object, 2)
                    .expect("complete")
            );
            done.push((job.msgid.clone(), job.path.clone(), sha));
        }
        done
    }

    /// The API's view of one message.
    pub fn detail(&self, msgid: &str) -> MessageDetail {
        wecom_views::message_detail(self.roles.reader.as_ref(), &self.corp, msgid)
            .expect("read")
            .unwrap_or_else(|| panic!("no message {msgid}"))
    }

    pub fn add_user(&self, name: &str, role: Role, scope: Scope) {
        self.roles
            .accounts
            .create_user(
                &NewUser {
                    username: name.to_owned(),
                    password_hash: wecom_accounts::hash_password(PASSWORD).expect("hash"),
                    role,
                    corps: vec![self.corp.clone()],
                    scope,
                },
                1,
            )
            .expect("create user");
    }

    /// The audit log, oldest first.
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

/// An archive served over HTTP: the API and the web app.
pub struct Served {
    pub archive: Archive,
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    stop: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub async fn serve(archive: Archive) -> Served {
    let state = ApiState::new(
        ApiConfig::default(),
        archive.roles.accounts.clone(),
        archive.roles.audit.clone(),
        vec![ApiCorp {
            corp_id: archive.corp.clone(),
            reader: archive.roles.reader.clone(),
            search: None,
            blobs: None,
        }],
        None,
    );
    let router = wecom_api::router(state.clone()).merge(wecom_web::router(state));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
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
        archive,
        base: format!("http://{addr}"),
        addr,
        client,
        stop,
    }
}

/// An answer.
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Served {
    /// Signs in through the API; the session token.
    pub async fn sign_in(&self, user: &str) -> String {
        let r = self
            .client
            .post(format!("{}/api/v1/session", self.base))
            .header(ORIGIN, &self.base)
            .json(&json!({"username": user, "password": PASSWORD}))
            .send()
            .await
            .expect("sign in");
        assert_eq!(r.status(), StatusCode::OK, "sign in {user}");
        r.headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("wecom_session="))
            .map(|v| v.split(';').next().unwrap_or("").to_owned())
            .expect("session cookie")
    }

    /// GET `path` with the session; `htmx` adds `HX-Request: true`.
    pub async fn get(&self, path: &str, session: &str, htmx: bool) -> Page {
        let mut req = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, format!("wecom_session={session}"));
        if htmx {
            req = req.header("HX-Request", "true");
        }
        let r = req.send().await.expect("request");
        Page {
            status: r.status(),
            headers: r.headers().clone(),
            body: r.text().await.expect("body"),
        }
    }
}

/// Percent-encodes one URL path segment or query value.
pub fn enc(s: &str) -> String {
    wecom_web::message::encode_segment(s)
}

/// The `data-msgid`s of the articles in `html`, in order.
pub fn msgids(html: &str) -> Vec<String> {
    html.split("data-msgid=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(unescape)
        .collect()
}

/// The value of the first `attr="…"` after `marker` in `html`.
pub fn attr_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let at = html.find(marker)?;
    let rest = &html[at..];
    let needle = format!("{attr}=\"");
    let start = rest.find(&needle)? + needle.len();
    let end = rest[start..].find('"')?;
    Some(unescape(&rest[start..start + end]))
}

pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
