//! A served API over a small archive on disk, for the API tests: a real HTTP server on a random
//! loopback port, real SQLite, a real search index and real media objects.
//!
//! The corpus (corp [`CORP`]):
//! - `pair:alice|bob`: m1 (text), m5 (image with a stored object [`Served::alice_jpeg`]);
//! - `room:wr1` (carol, dave, alice): m2, m3;
//! - `pair:erin|frank`: m4 (text), m6 (image with a stored object [`Served::erin_jpeg`]);
//! - `pair:alice|wmEXT…`: m7 from an external contact;
//! - `pair:gail|henry`: m8, whose text is hostile markup.
//!
//! Users: `root` (admin), `audra` (auditor), `rita` (reviewer of alice), `dora` (reviewer of
//! department 7, whose only member is erin), `dis` (disabled reviewer). Every password is
//! [`PASSWORD`].
#![allow(dead_code)] // each test crate uses its part

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{COOKIE, HeaderMap, HeaderValue, ORIGIN, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wecom_api::{ApiConfig, ApiCorp, ApiState};
use wecom_blob::conformance::upload;
use wecom_blob::{BlobStore, Expectations, FsBlobStore};
use wecom_search::{IndexerOptions, SearchIndex, Searcher};
use wecom_server::ServerConfig;
use wecom_store::conformance::{chat, decrypted};
use wecom_store::names::{PersonInfo, PersonResolution};
use wecom_store::{
    AuditFilter, AuditRecord, MediaArea, MediaObject, NewUser, PageCommit, Role, Roles, Scope,
    StoreLocation, UserUpdate,
};

pub const CORP: &str = wecom_store::conformance::CORP;
pub const PASSWORD: &str = "correct horse battery staple";
pub const EXT: &str = "wmEXTabcdefghijklmnopqrstuvwx12";
pub const T0: i64 = 1_767_225_600_000;

pub struct Served {
    pub dir: TempDir,
    pub roles: Roles,
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub alice_jpeg: String,
    pub erin_jpeg: String,
    /// The bytes of alice's image.
    pub jpeg_bytes: Vec<u8>,
    stop: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn image(
    seq: u64,
    msgid: &str,
    from: &str,
    to: &str,
    msgtime: i64,
    bytes: &[u8],
) -> wecom_store::IngestedRecord {
    let md5 = format!("{:x}", md5_of(bytes));
    let json = json!({
        "msgid": msgid, "action": "send", "from": from, "tolist": [to], "roomid": "",
        "msgtime": msgtime, "msgtype": "image",
        "image": {"md5sum": md5, "filesize": bytes.len(), "sdkfileid": format!("fileid-of-{msgid}")},
    });
    decrypted(seq, msgid, json.to_string().as_bytes())
}

fn md5_of(bytes: &[u8]) -> u128 {
    use md5::{Digest, Md5};
    u128::from_be_bytes(Md5::digest(bytes).into())
}

/// A JPEG-looking object of `len` bytes whose content depends on `seed`.
pub fn jpeg(seed: u8, len: usize) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    b.extend(
        (0..len.saturating_sub(b.len())).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)),
    );
    b
}

pub async fn serve(config: ApiConfig) -> Served {
    let dir = tempfile::tempdir().expect("temp dir");
    let roles = wecom_store::open(&StoreLocation::Sqlite(dir.path().join("archive.db")))
        .expect("open archive");
    let alice_bytes = jpeg(1, 40_000);
    let erin_bytes = jpeg(2, 30_000);
    let records = vec![
        chat(1, "m1", "alice", &["bob"], "", T0, "请把合同发我邮箱"),
        chat(
            2,
            "m2",
            "carol",
            &["alice", "carol", "dave"],
            "wr1",
            T0 + 1000,
            "合同已经签好了",
        ),
        chat(
            3,
            "m3",
            "dave",
            &["alice", "carol", "dave"],
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
        image(5, "m5", "alice", "bob", T0 + 4000, &alice_bytes),
        image(6, "m6", "erin", "frank", T0 + 5000, &erin_bytes),
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
            "<script>alert(1)</script><img src=x onerror=alert(2)> ' OR 1=1; DROP TABLE messages; --",
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
    // Media: both images downloaded and stored.
    let blobs = FsBlobStore::open(dir.path().join("media")).expect("media store");
    let jobs = roles
        .media
        .claim_media_jobs(CORP, T0 + 10_000, 0, 10)
        .expect("claim");
    assert_eq!(jobs.len(), 2, "one job per image");
    let mut shas = Vec::new();
    for job in &jobs {
        let bytes = if job.msgid == "m5" {
            &alice_bytes
        } else {
            &erin_bytes
        };
        let stored = upload(&blobs, [bytes.clone()], Expectations::default())
            .await
            .expect("upload");
        let object = MediaObject {
            sha256: stored.sha256.to_string(),
            size: stored.size,
            md5: stored.md5.clone(),
            content_type: stored.content_type.to_owned(),
            backend: "fs".to_owned(),
            key: stored.key.clone(),
            area: MediaArea::Objects,
        };
        assert!(
            roles
                .media
                .complete_media_job(CORP, job.id, &object, T0 + 11_000)
                .expect("done")
        );
        shas.push((job.msgid.clone(), stored.sha256.to_string()));
    }
    let sha_of = |m: &str| {
        shas.iter()
            .find(|(id, _)| id == m)
            .map(|(_, s)| s.clone())
            .expect("sha")
    };
    // Names: erin is in department 7.
    roles
        .directory
        .record_person(
            CORP,
            "erin",
            &PersonResolution::Named(PersonInfo {
                name: "Erin 艾琳".to_owned(),
                departments: vec![7],
                ..PersonInfo::default()
            }),
            T0,
            T0 + 86_400_000,
        )
        .expect("record erin");
    // Search.
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
    // Users.
    add_user(&roles, "root", Role::Admin, Scope::default());
    add_user(&roles, "audra", Role::Auditor, Scope::default());
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
    add_user(
        &roles,
        "dis",
        Role::Reviewer,
        Scope {
            userids: vec!["alice".into()],
            departments: vec![],
        },
    );
    roles
        .accounts
        .update_user(
            "dis",
            &UserUpdate {
                disabled: Some(true),
                ..UserUpdate::default()
            },
            T0,
        )
        .expect("disable");

    let blobs: Arc<dyn BlobStore> = Arc::new(blobs);
    let state = ApiState::new(
        config,
        roles.accounts.clone(),
        roles.audit.clone(),
        vec![ApiCorp {
            corp_id: CORP.to_owned(),
            reader: roles.reader.clone(),
            search: Some(Arc::new(searcher)),
            blobs: Some(blobs),
        }],
        None,
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = CancellationToken::new();
    let router = wecom_api::router(state);
    let shutdown = stop.clone().cancelled_owned();
    tokio::spawn(async move {
        wecom_server::serve(listener, router, &ServerConfig::default(), shutdown)
            .await
            .expect("serve");
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    Served {
        base: format!("http://{addr}"),
        addr,
        client,
        alice_jpeg: sha_of("m5"),
        erin_jpeg: sha_of("m6"),
        jpeg_bytes: alice_bytes,
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

/// An answer: status, headers and body (JSON when it parses).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The error code of an error answer.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_owned()
    }
}

impl Served {
    pub fn origin(&self) -> String {
        self.base.clone()
    }

    /// A request with optional session cookie, with this server's Origin on every method but GET.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        session: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(s) = session {
            req = req.header(COOKIE, format!("wecom_session={s}"));
        }
        if method != Method::GET {
            req = req.header(ORIGIN, self.origin());
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, session: &str) -> Answer {
        self.call(Method::GET, path, Some(session), None).await
    }

    /// Signs in; the session token.
    pub async fn sign_in(&self, user: &str) -> String {
        let a = self.try_sign_in(user, PASSWORD).await;
        assert_eq!(
            a.status,
            StatusCode::OK,
            "sign in {user}: {}",
            String::from_utf8_lossy(&a.bytes)
        );
        session_of(&a.headers).expect("session cookie")
    }

    pub async fn try_sign_in(&self, user: &str, password: &str) -> Answer {
        self.call(
            Method::POST,
            "/api/v1/session",
            None,
            Some(json!({"username": user, "password": password})),
        )
        .await
    }

    /// The audit log's entries, oldest first.
    pub fn audit(&self) -> Vec<AuditRecord> {
        self.roles
            .audit
            .list(&AuditFilter {
                limit: 100_000,
                ..AuditFilter::default()
            })
            .expect("audit list")
    }

    /// Entries of `action` with `outcome`.
    pub fn audited(&self, action: &str, outcome: &str) -> Vec<AuditRecord> {
        self.audit()
            .into_iter()
            .filter(|r| r.entry.action == action && r.entry.outcome.as_str() == outcome)
            .collect()
    }
}

pub async fn answer(r: reqwest::Response) -> Answer {
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.expect("body").to_vec();
    Answer {
        status,
        headers,
        bytes,
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

/// A URL path segment with everything but unreserved characters percent-encoded.
pub fn enc(s: &str) -> String {
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
