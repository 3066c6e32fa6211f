//! The API served over real HTTP on loopback: every route, every role's permission in and out of
//! scope, sessions, sign-in defences, media ranges, search scoping, the audit log, and bad input.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_NONE_MATCH, ORIGIN, RANGE};
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{CORP, EXT, PASSWORD, answer, enc, serve, session_of};
use wecom_api::ApiConfig;
use wecom_store::LockPolicy;

fn keys(a: &support::Answer) -> BTreeSet<String> {
    a.json()["conversations"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|c| c["key"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn hit_ids(a: &support::Answer) -> BTreeSet<String> {
    a.json()["hits"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|h| h["msgid"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_route_scope_table() {
    let s = serve(ApiConfig::default()).await;
    let pair_ab = enc("pair:alice|bob");
    let pair_ef = enc("pair:erin|frank");
    let alice_jpeg = s.alice_jpeg.clone();
    let erin_jpeg = s.erin_jpeg.clone();
    // (path, admin, auditor, rita (reviewer of alice), dora (reviewer of department 7: erin))
    let table: Vec<(String, [u16; 4])> = vec![
        ("/api/v1/me".into(), [200, 200, 200, 200]),
        ("/api/v1/corps".into(), [200, 200, 200, 200]),
        ("/api/v1/conversations".into(), [200, 200, 200, 200]),
        (
            format!("/api/v1/conversations/{pair_ab}/messages"),
            [200, 200, 200, 404],
        ),
        (
            format!("/api/v1/conversations/{pair_ef}/messages"),
            [200, 200, 404, 200],
        ),
        (
            format!("/api/v1/conversations/{}/messages", enc("room:wr1")),
            [200, 200, 200, 404],
        ),
        (
            format!("/api/v1/conversations/{}/messages", enc("pair:no|body")),
            [404, 404, 404, 404],
        ),
        ("/api/v1/messages/m1".into(), [200, 200, 200, 404]),
        ("/api/v1/messages/m4".into(), [200, 200, 404, 200]),
        ("/api/v1/messages/nope".into(), [404, 404, 404, 404]),
        ("/api/v1/messages/m1/raw".into(), [200, 200, 403, 403]),
        (format!("/api/v1/media/{alice_jpeg}"), [200, 200, 200, 404]),
        (format!("/api/v1/media/{erin_jpeg}"), [200, 200, 404, 200]),
        (
            format!("/api/v1/media/{}", "ab".repeat(32)),
            [404, 404, 404, 404],
        ),
        (
            format!("/api/v1/search?q={}", enc("合同")),
            [200, 200, 200, 200],
        ),
        ("/api/v1/rooms".into(), [200, 200, 200, 200]),
        ("/api/v1/people".into(), [200, 200, 200, 200]),
        ("/api/v1/status".into(), [200, 200, 200, 200]),
        ("/api/v1/users".into(), [200, 403, 403, 403]),
        ("/api/v1/audit".into(), [200, 403, 403, 403]),
        ("/api/v1/audit/verify".into(), [200, 403, 403, 403]),
        ("/api/openapi.json".into(), [200, 200, 200, 200]),
    ];
    let users = ["root", "audra", "rita", "dora"];
    let mut sessions = Vec::new();
    for u in users {
        sessions.push(s.sign_in(u).await);
    }
    for (path, expected) in &table {
        for (i, user) in users.iter().enumerate() {
            let a = s.get(path, &sessions[i]).await;
            assert_eq!(
                a.status.as_u16(),
                expected[i],
                "{user} GET {path}: {}",
                String::from_utf8_lossy(&a.bytes)
            );
            if a.status == StatusCode::NOT_FOUND {
                assert_eq!(a.code(), "not_found", "{user} GET {path}");
            }
            if a.status == StatusCode::FORBIDDEN {
                assert_eq!(a.code(), "forbidden", "{user} GET {path}");
            }
        }
    }
    // State-changing admin routes.
    for (i, user) in users.iter().enumerate() {
        let a = s
            .call(
                Method::POST,
                "/api/v1/users",
                Some(&sessions[i]),
                Some(
                    json!({"username": format!("new-{user}"), "password": PASSWORD,
                    "role": "auditor", "corps": [CORP]}),
                ),
            )
            .await;
        let want = if *user == "root" { 201 } else { 403 };
        assert_eq!(a.status.as_u16(), want, "{user} POST /users");
        let a = s
            .call(
                Method::PATCH,
                "/api/v1/users/audra",
                Some(&sessions[i]),
                Some(json!({"corps": [CORP]})),
            )
            .await;
        let want = if *user == "root" { 200 } else { 403 };
        assert_eq!(a.status.as_u16(), want, "{user} PATCH /users/audra");
    }
    // Every reviewer 404 on an id outside its scope was audited as denied, naming the target.
    let denied = s.audit();
    let denied: Vec<_> = denied
        .iter()
        .filter(|r| r.entry.outcome.as_str() == "denied")
        .map(|r| {
            (
                r.entry.username.as_str(),
                r.entry.action.as_str(),
                r.entry.target.as_str(),
            )
        })
        .collect();
    for want in [
        ("rita", "conversation.open", "pair:erin|frank"),
        ("dora", "conversation.open", "pair:alice|bob"),
        ("rita", "message.view", "m4"),
        ("dora", "message.view", "m1"),
        ("rita", "media.fetch", erin_jpeg.as_str()),
        ("dora", "media.fetch", alice_jpeg.as_str()),
        ("rita", "message.raw", "m1"),
    ] {
        assert!(
            denied.contains(&want),
            "{want:?} not audited as denied: {denied:?}"
        );
    }
    // Reviewers list only their conversations; admins and auditors all of them.
    let all = set(&[
        "pair:alice|bob",
        "room:wr1",
        "pair:erin|frank",
        &format!("pair:alice|{EXT}"),
        "pair:gail|henry",
    ]);
    assert_eq!(
        keys(&s.get("/api/v1/conversations", &sessions[0]).await),
        all
    );
    assert_eq!(
        keys(&s.get("/api/v1/conversations", &sessions[1]).await),
        all
    );
    assert_eq!(
        keys(&s.get("/api/v1/conversations", &sessions[2]).await),
        set(&["pair:alice|bob", "room:wr1", &format!("pair:alice|{EXT}")])
    );
    assert_eq!(
        keys(&s.get("/api/v1/conversations", &sessions[3]).await),
        set(&["pair:erin|frank"])
    );
    // Search hits are scoped the same way.
    let q = format!("/api/v1/search?q={}", enc("合同"));
    assert_eq!(
        hit_ids(&s.get(&q, &sessions[0]).await),
        set(&["m1", "m2", "m3", "m4", "m7_external"])
    );
    assert_eq!(
        hit_ids(&s.get(&q, &sessions[2]).await),
        set(&["m1", "m2", "m3", "m7_external"])
    );
    assert_eq!(hit_ids(&s.get(&q, &sessions[3]).await), set(&["m4"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_defences_and_sessions() {
    let config = ApiConfig {
        lock: LockPolicy {
            max_failures: 3,
            lock_ms: 60_000,
        },
        ..ApiConfig::default()
    };
    let s = serve(config).await;
    // No cookie, a forged one.
    let a = s.call(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(
        (a.status.as_u16(), a.code().as_str()),
        (401, "unauthenticated")
    );
    let a = s.get("/api/v1/me", "forged-token-0123456789").await;
    assert_eq!(
        (a.status.as_u16(), a.code().as_str()),
        (401, "session_expired")
    );
    assert_eq!(s.audited("session.invalid", "denied").len(), 1);
    // Wrong password, unknown user: the same answer, both audited.
    let a = s.try_sign_in("rita", "not the password at all").await;
    assert_eq!(
        (a.status.as_u16(), a.code().as_str()),
        (401, "invalid_credentials")
    );
    let a = s.try_sign_in("nobody", PASSWORD).await;
    assert_eq!(
        (a.status.as_u16(), a.code().as_str()),
        (401, "invalid_credentials")
    );
    assert_eq!(s.audited("session.create", "denied").len(), 2);
    // A disabled user, with the right password.
    let a = s.try_sign_in("dis", PASSWORD).await;
    assert_eq!(
        (a.status.as_u16(), a.code().as_str()),
        (403, "account_disabled")
    );
    // Lockout: the third consecutive failure locks; then even the right password is refused.
    for _ in 0..2 {
        let a = s.try_sign_in("rita", "still not the password").await;
        assert!(a.status == 401 || a.status == 429, "{}", a.status);
    }
    let a = s.try_sign_in("rita", PASSWORD).await;
    assert_eq!(
        (a.status.as_u16(), a.code().as_str()),
        (429, "account_locked")
    );
    assert!(
        a.json()["message"]
            .as_str()
            .unwrap_or("")
            .contains("locked")
    );
    assert!(a.headers.get("retry-after").is_some());
    // A good sign-in: cookie flags, then sign-out ends the session.
    let a = s.try_sign_in("root", PASSWORD).await;
    assert_eq!(a.status, 200);
    let cookie = a
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP: no Secure flag: {cookie}"
    );
    let token = session_of(&a.headers).expect("token");
    assert_eq!(
        s.get("/api/v1/me", &token).await.json()["user"]["username"],
        "root"
    );
    let a = s
        .call(Method::DELETE, "/api/v1/session", Some(&token), None)
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(s.get("/api/v1/me", &token).await.code(), "session_expired");
    // A password change ends every session of the user.
    let admin = s.sign_in("root").await;
    let audra1 = s.sign_in("audra").await;
    let audra2 = s.sign_in("audra").await;
    let a = s
        .call(
            Method::PATCH,
            "/api/v1/users/audra",
            Some(&admin),
            Some(json!({"password": "a brand new password 42"})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.bytes));
    for t in [&audra1, &audra2] {
        assert_eq!(s.get("/api/v1/me", t).await.code(), "session_expired");
    }
    assert_eq!(s.try_sign_in("audra", PASSWORD).await.status, 401);
    assert_eq!(
        s.try_sign_in("audra", "a brand new password 42")
            .await
            .status,
        200
    );
    assert_eq!(s.audited("user.passwd", "ok").len(), 1);
    // Every sign-in, failure and sign-out is in the audit log, and the chain holds.
    assert!(s.audited("session.create", "ok").len() >= 4);
    assert_eq!(s.audited("session.delete", "ok").len(), 1);
    let v = s.get("/api/v1/audit/verify", &admin).await.json();
    assert_eq!(v["intact"], true, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_per_address() {
    let config = ApiConfig {
        login_attempts_per_address: 4,
        login_window: Duration::from_secs(3600),
        ..ApiConfig::default()
    };
    let s = serve(config).await;
    for i in 0..4 {
        let a = s
            .try_sign_in(&format!("user{i}"), "wrong password here")
            .await;
        assert_eq!(a.status, 401);
    }
    // The fifth attempt from this address is refused before any password check, even a good one.
    let a = s.try_sign_in("root", PASSWORD).await;
    assert_eq!(
        (a.status.as_u16(), a.code().as_str()),
        (429, "rate_limited")
    );
    assert!(a.headers.get("retry-after").is_some());
    let limited = s.audited("session.create", "denied");
    assert!(
        limited
            .iter()
            .any(|r| r.entry.detail.contains("rate_limited"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_absolute_timeouts_end_sessions() {
    let s = serve(ApiConfig {
        idle_timeout: Duration::from_millis(300),
        ..ApiConfig::default()
    })
    .await;
    let t = s.sign_in("root").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(s.get("/api/v1/me", &t).await.code(), "session_expired");
    let s = serve(ApiConfig {
        absolute_timeout: Duration::from_millis(300),
        ..ApiConfig::default()
    })
    .await;
    let t = s.sign_in("root").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(s.get("/api/v1/me", &t).await.code(), "session_expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_need_an_allowed_origin() {
    let s = serve(ApiConfig {
        allowed_origins: vec!["https://archive.example.com".into()],
        ..ApiConfig::default()
    })
    .await;
    let body = json!({"username": "root", "password": PASSWORD});
    let url = format!("{}/api/v1/session", s.base);
    // Missing, foreign.
    let a = answer(s.client.post(&url).json(&body).send().await.expect("post")).await;
    assert_eq!((a.status.as_u16(), a.code().as_str()), (403, "bad_origin"));
    let a = answer(
        s.client
            .post(&url)
            .header(ORIGIN, "https://evil.example")
            .json(&body)
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!((a.status.as_u16(), a.code().as_str()), (403, "bad_origin"));
    assert_eq!(s.audited("request.bad_origin", "denied").len(), 2);
    // A configured one, and the server's own.
    let a = answer(
        s.client
            .post(&url)
            .header(ORIGIN, "https://archive.example.com")
            .json(&body)
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(a.status, 200);
    let t = s.sign_in("root").await;
    // A PATCH without Origin, even signed in.
    let a = answer(
        s.client
            .patch(format!("{}/api/v1/users/audra", s.base))
            .header("cookie", format!("wecom_session={t}"))
            .json(&json!({"disabled": true}))
            .send()
            .await
            .expect("patch"),
    )
    .await;
    assert_eq!(a.code(), "bad_origin");
    assert_eq!(
        s.try_sign_in("audra", PASSWORD).await.status,
        200,
        "not disabled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_ranges_etags_and_names() {
    let s = serve(ApiConfig::default()).await;
    let t = s.sign_in("rita").await;
    let url = format!("{}/api/v1/media/{}", s.base, s.alice_jpeg);
    let get = |range: Option<&str>, etag: Option<&str>| {
        let mut r = s
            .client
            .get(&url)
            .header("cookie", format!("wecom_session={t}"));
        if let Some(v) = range {
            r = r.header(RANGE, v);
        }
        if let Some(v) = etag {
            r = r.header(IF_NONE_MATCH, v);
        }
        r
    };
    let whole = answer(get(None, None).send().await.expect("get")).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.bytes, s.jpeg_bytes);
    assert_eq!(whole.headers[CONTENT_TYPE], "image/jpeg");
    assert!(
        whole.headers["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("inline; filename=")
    );
    assert_eq!(whole.headers["accept-ranges"], "bytes");
    let etag = whole.headers[ETAG].to_str().expect("etag").to_owned();
    assert_eq!(etag, format!("\"{}\"", s.alice_jpeg));
    let part = answer(get(Some("bytes=100-199"), None).send().await.expect("get")).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.bytes, s.jpeg_bytes[100..200]);
    assert_eq!(
        part.headers[CONTENT_RANGE],
        format!("bytes 100-199/{}", s.jpeg_bytes.len()).as_str()
    );
    let tail = answer(get(Some("bytes=-10"), None).send().await.expect("get")).await;
    assert_eq!(tail.bytes, s.jpeg_bytes[s.jpeg_bytes.len() - 10..]);
    let past = answer(get(Some("bytes=999999-"), None).send().await.expect("get")).await;
    assert_eq!(past.status, 416);
    assert_eq!(
        past.headers[CONTENT_RANGE],
        format!("bytes */{}", s.jpeg_bytes.len()).as_str()
    );
    let cached = answer(get(None, Some(&etag)).send().await.expect("get")).await;
    assert_eq!(cached.status, 304);
    assert!(cached.bytes.is_empty());
    // Every fetch of content is audited (the 304 and 416 sent none).
    assert_eq!(s.audited("media.fetch", "ok").len(), 3);
    // Not hex, and traversal attempts.
    for bad in ["zz", "..%2F..%2Fetc%2Fpasswd", "%2e%2e"] {
        let a = s.get(&format!("/api/v1/media/{bad}"), &t).await;
        assert!(a.status == 400 || a.status == 404, "{bad}: {}", a.status);
        let message = a.json()["message"].as_str().unwrap_or("").to_owned();
        assert!(
            !message.contains("/etc") && !message.contains("/tmp"),
            "{bad}: leaks a path"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_pages_raw_and_search_are_content_and_audited() {
    let s = serve(ApiConfig::default()).await;
    let t = s.sign_in("audra").await;
    // A message: payload without sdkfileids, media references, names.
    let m5 = s.get("/api/v1/messages/m5", &t).await.json();
    assert_eq!(m5["msgtype"], "image");
    assert!(!m5.to_string().contains("fileid-of-m5"), "{m5}");
    assert_eq!(m5["media"][0]["sha256"], s.alice_jpeg.as_str());
    assert_eq!(m5["media"][0]["state"], "done");
    // Raw: the bytes exactly as archived.
    let raw = s.get("/api/v1/messages/m8/raw", &t).await;
    assert_eq!(raw.headers[CONTENT_TYPE], "application/json");
    let stored = s
        .roles
        .reader
        .plaintext(CORP, "m8")
        .expect("plaintext")
        .expect("stored");
    assert_eq!(raw.bytes, stored);
    // Pages both ways and around a message.
    let key = enc("room:wr1");
    let first = s
        .get(
            &format!("/api/v1/conversations/{key}/messages?from=start&limit=1"),
            &t,
        )
        .await
        .json();
    assert_eq!(first["messages"][0]["msgid"], "m2");
    let after = first["after"].as_str().expect("more after").to_owned();
    let next = s
        .get(
            &format!(
                "/api/v1/conversations/{key}/messages?after={}&limit=1",
                enc(&after)
            ),
            &t,
        )
        .await
        .json();
    assert_eq!(next["messages"][0]["msgid"], "m3");
    let before = next["before"].as_str().expect("more before").to_owned();
    let back = s
        .get(
            &format!(
                "/api/v1/conversations/{key}/messages?before={}&limit=5",
                enc(&before)
            ),
            &t,
        )
        .await
        .json();
    assert_eq!(back["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(back["messages"][0]["msgid"], "m2");
    let around = s
        .get(
            &format!("/api/v1/conversations/{key}/messages?around=m3"),
            &t,
        )
        .await
        .json();
    let ids: Vec<_> = around["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["msgid"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(ids, ["m2", "m3"]);
    for bad in [
        "after=x",
        "before=1",
        "after=1:1&before=1:2",
        "limit=0",
        "limit=999",
        "from=middle",
    ] {
        let a = s
            .get(&format!("/api/v1/conversations/{key}/messages?{bad}"), &t)
            .await;
        assert_eq!(
            (a.status.as_u16(), a.code().as_str()),
            (400, "bad_request"),
            "{bad}"
        );
    }
    // Search: hostile text comes back as data; the query is in the audit log.
    let q = "<script>alert(1)</script>";
    let a = s.get(&format!("/api/v1/search?q={}", enc(q)), &t).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers[CONTENT_TYPE], "application/json");
    assert_eq!(hit_ids(&a), set(&["m8"]));
    let sql = s
        .get(
            &format!(
                "/api/v1/search?q={}",
                enc("\"' OR 1=1; DROP TABLE messages;\"")
            ),
            &t,
        )
        .await;
    assert_eq!(hit_ids(&sql), set(&["m8"]));
    let searches = s.audited("search", "ok");
    assert!(searches.iter().any(|r| r.entry.detail.contains("alert(1)")));
    let bad = s.get("/api/v1/search?q=type:nosuchtype", &t).await;
    assert_eq!(
        (bad.status.as_u16(), bad.code().as_str()),
        (400, "invalid_query")
    );
    // Opening conversations and messages was audited.
    assert!(s.audited("conversation.open", "ok").len() >= 4);
    assert_eq!(s.audited("message.raw", "ok").len(), 1);
    assert_eq!(s.audited("message.view", "ok").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors_and_nothing_leaks() {
    let s = serve(ApiConfig::default()).await;
    let t = s.sign_in("root").await;
    // A 10 MB body.
    let big = vec![b'a'; 10 * 1024 * 1024];
    let r = s
        .client
        .post(format!("{}/api/v1/session", s.base))
        .header(ORIGIN, s.origin())
        .header(CONTENT_TYPE, "application/json")
        .body(big)
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), 413);
    }
    // Not JSON, wrong content type, unknown fields.
    let a = answer(
        s.client
            .post(format!("{}/api/v1/session", s.base))
            .header(ORIGIN, s.origin())
            .header(CONTENT_TYPE, "text/plain")
            .body("x")
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(
        (a.status.as_u16(), a.code().as_str()),
        (415, "unsupported_media_type")
    );
    let a = s
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&t),
            Some(
                json!({"username": "x", "password": PASSWORD, "role": "auditor", "is_admin": true}),
            ),
        )
        .await;
    assert_eq!(a.code(), "bad_request");
    // Weak password, bad names, unknown role, duplicate, reviewer without scope.
    for (body, code) in [
        (
            json!({"username": "shorty", "password": "short", "role": "auditor"}),
            "bad_request",
        ),
        (
            json!({"username": "../etc", "password": PASSWORD, "role": "auditor"}),
            "bad_request",
        ),
        (
            json!({"username": "x", "password": PASSWORD, "role": "king"}),
            "bad_request",
        ),
        (
            json!({"username": "AUDRA", "password": PASSWORD, "role": "auditor"}),
            "conflict",
        ),
        (
            json!({"username": "r2", "password": PASSWORD, "role": "reviewer"}),
            "bad_request",
        ),
    ] {
        let a = s
            .call(Method::POST, "/api/v1/users", Some(&t), Some(body.clone()))
            .await;
        assert_eq!(a.code(), code, "{body}");
    }
    // The last admin cannot be disabled.
    let a = s
        .call(
            Method::PATCH,
            "/api/v1/users/root",
            Some(&t),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!((a.status.as_u16(), a.code().as_str()), (409, "conflict"));
    // Paths: traversal, unknown routes, methods; non-UTF-8 query strings.
    for path in [
        "/api/v1/../v1/me",
        "/api/v1/%2e%2e/%2e%2e/etc/passwd",
        "/api/v1/nothing",
        "/api/v2/me",
        "/api/v1/messages/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/conversations/..%2F/messages",
    ] {
        let a = s.get(path, &t).await;
        // The client resolves dot segments (`%2e%2e` too), so some of these leave `/api/`.
        assert!(a.status == 404 || a.status == 200, "{path}: {}", a.status);
        if a.status == 404 && !a.bytes.is_empty() {
            assert_eq!(a.code(), "not_found", "{path}");
        }
    }
    let a = s.call(Method::PUT, "/api/v1/me", Some(&t), None).await;
    assert_eq!(
        (a.status.as_u16(), a.code().as_str()),
        (405, "method_not_allowed")
    );
    let a = s.get("/api/v1/search?q=%ff%fe", &t).await;
    assert_eq!((a.status.as_u16(), a.code().as_str()), (400, "bad_request"));
    let a = s.get("/api/v1/conversations?external=maybe", &t).await;
    assert_eq!((a.status.as_u16(), a.code().as_str()), (400, "bad_request"));
    let a = s.get("/api/v1/conversations?corp=other", &t).await;
    assert_eq!((a.status.as_u16(), a.code().as_str()), (404, "not_found"));
    // Errors never carry internals.
    for a in [
        s.get("/api/v1/search?q=%ff", &t).await,
        s.get("/api/v1/nothing", &t).await,
    ] {
        let text = String::from_utf8_lossy(&a.bytes).to_string();
        for leak in ["sqlite", "SELECT", "/tmp", "panicked", "src/"] {
            assert!(!text.contains(leak), "{text}");
        }
        assert_eq!(a.headers["cache-control"], "no-store");
        assert_eq!(a.headers["x-content-type-options"], "nosniff");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_routes_filter_and_find_a_broken_chain() {
    let s = serve(ApiConfig::default()).await;
    let admin = s.sign_in("root").await;
    let rita = s.sign_in("rita").await;
    s.get(&format!("/api/v1/search?q={}", enc("合同")), &rita)
        .await;
    let page = s
        .get("/api/v1/audit?user=rita&action=search", &admin)
        .await
        .json();
    let entries = page["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{page}");
    assert_eq!(entries[0]["detail"]["query"], "合同");
    assert_eq!(entries[0]["address"], "127.0.0.1");
    let paged = s.get("/api/v1/audit?limit=1", &admin).await.json();
    assert_eq!(paged["entries"].as_array().map(Vec::len), Some(1));
    assert!(paged["next_after"].as_u64().is_some());
    assert_eq!(
        s.get("/api/v1/audit/verify", &admin).await.json()["intact"],
        true
    );
    // Edit an entry behind the API's back: the chain names it.
    let db = rusqlite::Connection::open(s.dir.path().join("archive.db")).expect("open");
    db.execute_batch(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = '{}' WHERE seq = 2",
    )
    .expect("tamper");
    let v = s.get("/api/v1/audit/verify", &admin).await.json();
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["broken_seq"], 2, "{v}");
}
