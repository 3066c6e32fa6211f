//! `GET /api/v1/media/{sha256}/playable`: voice decoded to WAV over real HTTP, with the real
//! AMR-NB and SILK v3 samples of `samples/voice/`, kept beside the original in the blob store's
//! renditions area (`renditions/<aa>/<original sha256>.wav`) so that a restarted server serves it
//! without decoding, with the original's visibility and audit.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_RANGE, CONTENT_TYPE, COOKIE, ETAG, IF_NONE_MATCH, ORIGIN, RANGE, SET_COOKIE,
};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wecom_api::{ApiConfig, ApiCorp, ApiState};
use wecom_blob::conformance::upload;
use wecom_blob::{BlobStore, Expectations, FsBlobStore};
use wecom_server::ServerConfig;
use wecom_store::conformance::{CORP, decrypted};
use wecom_store::{
    AuditFilter, AuditRecord, MediaArea, MediaObject, NewUser, PageCommit, Role, Roles, Scope,
    StoreLocation,
};

const PASSWORD: &str = "correct horse battery staple";
const T0: i64 = 1_767_225_600_000;

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/voice")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Served {
    dir: tempfile::TempDir,
    roles: Roles,
    base: String,
    client: reqwest::Client,
    /// msgid → sha256 of its stored object.
    shas: Vec<(String, String)>,
    stop: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Served {
    fn sha(&self, msgid: &str) -> &str {
        self.shas
            .iter()
            .find(|(m, _)| m == msgid)
            .map(|(_, s)| s.as_str())
            .expect("sha")
    }

    async fn sign_in(&self, user: &str) -> String {
        let r = self
            .client
            .post(format!("{}/api/v1/session", self.base))
            .header(ORIGIN, &self.base)
            .json(&json!({"username": user, "password": PASSWORD}))
            .send()
            .await
            .expect("sign in");
        assert_eq!(r.status(), StatusCode::OK);
        r.headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("wecom_session="))
            .map(|v| v.split(';').next().unwrap_or("").to_owned())
            .expect("cookie")
    }

    async fn get(&self, path: &str, session: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, format!("wecom_session={session}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.expect("request")
    }

    fn audit(&self) -> Vec<AuditRecord> {
        self.roles
            .audit
            .list(&AuditFilter {
                limit: 100_000,
                ..AuditFilter::default()
            })
            .expect("audit")
    }

    /// Every file of the blob store's verified area.
    fn stored_objects(&self) -> Vec<PathBuf> {
        self.files_in("objects")
    }

    /// Every file of the blob store's renditions area.
    fn stored_renditions(&self) -> Vec<PathBuf> {
        self.files_in("renditions")
    }

    /// Where the WAV of the original `sha256` is kept.
    fn wav_path(&self, sha256: &str) -> PathBuf {
        self.dir
            .path()
            .join("media/renditions")
            .join(&sha256[..2])
            .join(format!("{sha256}.wav"))
    }

    /// Stops the server and starts another, with a new `ApiState` over the same database and a
    /// newly opened blob store on the same folder: what a restart of the process keeps.
    async fn restart(&mut self) {
        self.stop.cancel();
        let blobs = FsBlobStore::open(self.dir.path().join("media")).expect("media store");
        let (base, stop) = start(&self.roles, Arc::new(blobs)).await;
        self.base = base;
        self.stop = stop;
    }

    /// The files two levels below `<media>/<area>`, sorted.
    fn files_in(&self, area: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let root = self.dir.path().join("media").join(area);
        for fan in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            for f in std::fs::read_dir(fan.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                out.push(f.path());
            }
        }
        out.sort();
        out
    }
}

fn voice(seq: u64, msgid: &str, from: &str, to: &str, bytes: &[u8]) -> wecom_store::IngestedRecord {
    let json = json!({
        "msgid": msgid, "action": "send", "from": from, "tolist": [to], "roomid": "",
        "msgtime": T0 + seq as i64 * 1000, "msgtype": "voice",
        "voice": {"md5sum": "", "voice_size": bytes.len(), "play_length": 3, "sdkfileid": format!("fid-{msgid}")},
    });
    decrypted(seq, msgid, json.to_string().as_bytes())
}

async fn serve() -> Served {
    let dir = tempfile::tempdir().expect("temp dir");
    let roles =
        wecom_store::open(&StoreLocation::Sqlite(dir.path().join("archive.db"))).expect("open");
    let amr = sample("voice-zh.amr");
    let silk = sample("voice-zh.silk");
    let jpeg = {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0];
        b.extend((0..2000u32).map(|i| (i % 251) as u8));
        b
    };
    let broken = b"#!AMR\n".to_vec();
    let objects: Vec<(&str, Vec<u8>)> = vec![
        ("amr1", amr.clone()),
        ("silk1", silk),
        ("broken1", broken),
        ("pic1", jpeg.clone()),
        ("erin-amr", [amr.clone(), vec![0x3c; 32]].concat()),
    ];
    let records = vec![
        voice(1, "amr1", "alice", "bob", &objects[0].1),
        voice(2, "silk1", "alice", "bob", &objects[1].1),
        voice(3, "broken1", "alice", "bob", &objects[2].1),
        decrypted(
            4,
            "pic1",
            json!({"msgid": "pic1", "action": "send", "from": "alice", "tolist": ["bob"], "roomid": "",
                "msgtime": T0 + 4000, "msgtype": "image",
                "image": {"md5sum": "", "filesize": jpeg.len(), "sdkfileid": "fid-pic1"}})
            .to_string()
            .as_bytes(),
        ),
        voice(5, "erin-amr", "erin", "frank", &objects[4].1),
    ];
    roles
        .writer
        .commit_page(
            CORP,
            &PageCommit {
                records,
                quarantined: vec![],
                cursor: 5,
            },
        )
        .expect("commit");
    let blobs = FsBlobStore::open(dir.path().join("media")).expect("media store");
    let jobs = roles
        .media
        .claim_media_jobs(CORP, T0 + 10_000, 0, 10)
        .expect("claim");
    assert_eq!(jobs.len(), 5);
    let mut shas = Vec::new();
    for job in &jobs {
        let bytes = &objects
            .iter()
            .find(|(m, _)| *m == job.msgid)
            .expect("object")
            .1;
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
    for (name, role, scope) in [
        ("root", Role::Admin, vec![]),
        ("rita", Role::Reviewer, vec!["alice".to_owned()]),
    ] {
        roles
            .accounts
            .create_user(
                &NewUser {
                    username: name.to_owned(),
                    password_hash: wecom_accounts::hash_password(PASSWORD).expect("hash"),
                    role,
                    corps: vec![CORP.to_owned()],
                    scope: Scope {
                        userids: scope,
                        departments: vec![],
                    },
                },
                T0,
            )
            .expect("user");
    }
    let (base, stop) = start(&roles, Arc::new(blobs)).await;
    Served {
        dir,
        roles,
        base,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
        shas,
        stop,
    }
}

/// Serves a new `ApiState` over `roles` and `blobs` on a random loopback port; returns its base
/// URL and the token that stops it.
async fn start(roles: &Roles, blobs: Arc<dyn BlobStore>) -> (String, CancellationToken) {
    let state = ApiState::new(
        ApiConfig::default(),
        roles.accounts.clone(),
        roles.audit.clone(),
        vec![ApiCorp {
            corp_id: CORP.to_owned(),
            reader: roles.reader.clone(),
            search: None,
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
    (format!("http://{addr}"), stop)
}

/// The sample rate and data length of a WAV file's header.
fn wav_facts(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.len() > 44, "a WAV file");
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    let rate = u32::from_le_bytes([bytes[24], bytes[25], bytes[26], bytes[27]]);
    let data = u32::from_le_bytes([bytes[40], bytes[41], bytes[42], bytes[43]]);
    (rate, data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_plays_as_wav_with_ranges_and_is_kept() {
    let s = serve().await;
    let rita = s.sign_in("rita").await;
    let amr = s.sha("amr1").to_owned();
    let before = s.stored_objects();

    let r = s
        .get(&format!("/api/v1/media/{amr}/playable"), &rita, &[])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_TYPE], "audio/wav");
    let tag = r.headers()[ETAG].to_str().expect("etag").to_owned();
    assert_eq!(tag, format!("\"{amr}.wav\""));
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap_or("")
            .starts_with("inline")
    );
    let wav = r.bytes().await.expect("body").to_vec();
    let (rate, data) = wav_facts(&wav);
    assert_eq!(rate, 8000);
    assert_eq!(data as usize, wav.len() - 44);
    assert!(
        data > 8000 * 2 / 2,
        "more than half a second of sound: {data}"
    );

    // Kept beside the original, under the original's digest in the renditions area; the
    // content-addressed objects are exactly as before and the original is unchanged.
    let after = s.stored_objects();
    assert_eq!(after, before);
    assert_eq!(s.stored_renditions(), vec![s.wav_path(&amr)]);
    assert_eq!(std::fs::read(s.wav_path(&amr)).expect("read"), wav);
    let original = s.get(&format!("/api/v1/media/{amr}"), &rita, &[]).await;
    assert_eq!(original.status(), StatusCode::OK);
    assert_eq!(original.headers()[CONTENT_TYPE], "audio/amr");
    assert_eq!(
        original.bytes().await.expect("body").to_vec(),
        sample("voice-zh.amr")
    );

    // A range, and the same bytes again (served from the kept copy: nothing new stored).
    let part = s
        .get(
            &format!("/api/v1/media/{amr}/playable"),
            &rita,
            &[(RANGE.as_str(), "bytes=40-139")],
        )
        .await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()[CONTENT_RANGE].to_str().expect("range"),
        format!("bytes 40-139/{}", wav.len())
    );
    assert_eq!(
        part.bytes().await.expect("body").to_vec(),
        wav[40..140].to_vec()
    );
    let outside = s
        .get(
            &format!("/api/v1/media/{amr}/playable"),
            &rita,
            &[(RANGE.as_str(), &format!("bytes={}-", wav.len()))],
        )
        .await;
    assert_eq!(outside.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    let same = s
        .get(
            &format!("/api/v1/media/{amr}/playable"),
            &rita,
            &[(IF_NONE_MATCH.as_str(), &tag)],
        )
        .await;
    assert_eq!(same.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(s.stored_objects(), after);
    assert_eq!(s.stored_renditions(), vec![s.wav_path(&amr)]);
    assert!(
        std::fs::read_dir(s.dir.path().join("media/tmp"))
            .expect("tmp")
            .next()
            .is_none(),
        "no partial file left"
    );

    // Audited like a media access.
    let fetches: Vec<_> = s
        .audit()
        .into_iter()
        .filter(|r| {
            r.entry.action == "media.fetch"
                && r.entry.outcome.as_str() == "ok"
                && r.entry.target == amr
        })
        .collect();
    assert_eq!(
        fetches.len(),
        3,
        "two playable answers with bytes and the original"
    );
    assert_eq!(
        fetches
            .iter()
            .filter(|r| r.entry.detail.contains("\"rendition\":\"wav\""))
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silk_decodes_once_under_concurrent_requests() {
    let s = serve().await;
    let root = s.sign_in("root").await;
    let silk = s.sha("silk1").to_owned();
    let before = s.stored_objects();
    let path = format!("/api/v1/media/{silk}/playable");
    let answers = futures_join(&s, &path, &root, 4).await;
    let first = answers[0].clone();
    let (rate, _) = wav_facts(&first);
    assert_eq!(rate, 24000);
    for a in &answers {
        assert_eq!(a, &first, "every concurrent answer is the whole WAV");
    }
    assert_eq!(
        s.stored_objects(),
        before,
        "originals untouched, no WAV among them"
    );
    assert_eq!(
        s.stored_renditions(),
        vec![s.wav_path(&silk)],
        "one kept WAV"
    );
    assert_eq!(std::fs::read(s.wav_path(&silk)).expect("read"), first);
}

/// A WAV header and `samples` of 16-bit mono PCM at `rate`: recognisably not what the decoder
/// makes of the samples (its rates are 8000 and 24000).
fn marker_wav(rate: u32, samples: u32) -> Vec<u8> {
    let data = samples * 2;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    b.extend((0..data).map(|i| (i % 199) as u8));
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_serves_the_kept_wav_without_decoding() {
    let mut s = serve().await;
    let rita = s.sign_in("rita").await;
    let amr = s.sha("amr1").to_owned();
    let path = format!("/api/v1/media/{amr}/playable");
    let r = s.get(&path, &rita, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let decoded = r.bytes().await.expect("body").to_vec();
    assert_eq!(wav_facts(&decoded).0, 8000);
    assert_eq!(std::fs::read(s.wav_path(&amr)).expect("kept"), decoded);
    let objects = s.stored_objects();

    // Only the kept file can give these bytes: a decode of the original would give 8000 Hz.
    let marker = marker_wav(11_025, 5000);
    std::fs::write(s.wav_path(&amr), &marker).expect("replace the kept wav");
    s.restart().await;
    let rita = s.sign_in("rita").await;
    let r = s.get(&path, &rita, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[ETAG], format!("\"{amr}.wav\"").as_str());
    assert_eq!(r.bytes().await.expect("body").to_vec(), marker);
    let part = s
        .get(&path, &rita, &[(RANGE.as_str(), "bytes=24-27")])
        .await;
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()[CONTENT_RANGE].to_str().expect("range"),
        format!("bytes 24-27/{}", marker.len())
    );
    assert_eq!(
        part.bytes().await.expect("body").to_vec(),
        11_025u32.to_le_bytes().to_vec()
    );

    // Without a kept WAV the next server decodes again, to the same bytes as the first time.
    std::fs::remove_file(s.wav_path(&amr)).expect("remove the kept wav");
    s.restart().await;
    let rita = s.sign_in("rita").await;
    let r = s.get(&path, &rita, &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.expect("body").to_vec(), decoded);
    assert_eq!(std::fs::read(s.wav_path(&amr)).expect("kept"), decoded);

    // The originals were never touched, and every answer was audited as the original's.
    assert_eq!(s.stored_objects(), objects);
    let original = s.get(&format!("/api/v1/media/{amr}"), &rita, &[]).await;
    assert_eq!(
        original.bytes().await.expect("body").to_vec(),
        sample("voice-zh.amr")
    );
    assert_eq!(
        s.audit()
            .iter()
            .filter(|r| r.entry.action == "media.fetch"
                && r.entry.outcome.as_str() == "ok"
                && r.entry.target == amr
                && r.entry.detail.contains("\"rendition\":\"wav\""))
            .count(),
        4
    );
}

async fn futures_join(s: &Served, path: &str, session: &str, n: usize) -> Vec<Vec<u8>> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (client, url, cookie) = (
            s.client.clone(),
            format!("{}{path}", s.base),
            format!("wecom_session={session}"),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .get(url)
                .header(COOKIE, cookie)
                .send()
                .await
                .expect("request");
            assert_eq!(r.status(), StatusCode::OK);
            r.bytes().await.expect("body").to_vec()
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_voice_undecodable_and_out_of_scope_are_refused() {
    let s = serve().await;
    let rita = s.sign_in("rita").await;
    let code = |r: reqwest::Response| async move {
        let status = r.status();
        let body: serde_json::Value = r.json().await.unwrap_or(serde_json::Value::Null);
        (status, body["code"].as_str().unwrap_or("").to_owned())
    };
    let pic = s.sha("pic1").to_owned();
    assert_eq!(
        code(
            s.get(&format!("/api/v1/media/{pic}/playable"), &rita, &[])
                .await
        )
        .await,
        (StatusCode::NOT_FOUND, "not_voice".to_owned())
    );
    let broken = s.sha("broken1").to_owned();
    assert_eq!(
        code(
            s.get(&format!("/api/v1/media/{broken}/playable"), &rita, &[])
                .await
        )
        .await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "voice_undecodable".to_owned()
        )
    );
    // erin's voice is outside rita's scope: like an object that does not exist, and audited.
    let hidden = s.sha("erin-amr").to_owned();
    assert_eq!(
        code(
            s.get(&format!("/api/v1/media/{hidden}/playable"), &rita, &[])
                .await
        )
        .await,
        (StatusCode::NOT_FOUND, "not_found".to_owned())
    );
    assert!(s.audit().iter().any(|r| r.entry.action == "media.fetch"
        && r.entry.outcome.as_str() == "denied"
        && r.entry.target == hidden
        && r.entry.username == "rita"));
    assert_eq!(
        code(s.get("/api/v1/media/nothex/playable", &rita, &[]).await)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    // Nothing was decoded or kept for what was refused.
    let objects = s.stored_objects().len();
    assert_eq!(objects, 5);
    assert_eq!(s.stored_renditions(), Vec::<PathBuf>::new());
}
