//! The web app served over real HTTP on loopback, with the API beside it: sign-in and its
//! errors, redirects to the sign-in page, every page for an admin and a reviewer, the admin pages
//! hidden from others, scoping, search links, security headers, the Origin guard, escaping.

mod support;

use reqwest::{Method, StatusCode};
use support::{CORP, HOSTILE_NAME, PASSWORD, serve, session_of};
use wecom_api::ApiConfig;
use wecom_store::LockPolicy;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
    media-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

fn assert_security_headers(p: &support::Page, what: &str) {
    assert_eq!(p.header("content-security-policy"), CSP, "{what}");
    assert_eq!(p.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(p.header("x-frame-options"), "DENY", "{what}");
    assert_eq!(p.header("referrer-policy"), "same-origin", "{what}");
}

/// No inline script, style or handler in a page: every tag is checked (escaped text holds no
/// `<`, so what looks like a handler inside it is text).
fn assert_no_inline(p: &support::Page, what: &str) {
    let body = p.body.to_lowercase();
    for tag in body.split('<').skip(1).filter_map(|t| t.split('>').next()) {
        if tag.starts_with("script") {
            assert!(tag.contains(" src="), "{what}: inline script <{tag}>");
        }
        assert!(!tag.starts_with("style"), "{what}: a style element");
        assert!(
            !tag.contains(" style="),
            "{what}: a style attribute <{tag}>"
        );
        let attrs = tag.split_whitespace().skip(1);
        for a in attrs {
            assert!(
                !(a.starts_with("on") && a.contains('=')),
                "{what}: a handler <{tag}>"
            );
        }
    }
}

/// `s` as askama escapes it.
fn escaped(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_success_failure_and_lockout() {
    let s = serve(ApiConfig {
        lock: LockPolicy {
            max_failures: 3,
            lock_ms: 10 * 60 * 1000,
        },
        ..ApiConfig::default()
    })
    .await;
    let form = s.get("/login", None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.data_page(), "login");
    assert!(
        form.body
            .contains(r#"<form id="login" method="post" action="/login">"#)
    );
    assert!(form.body.contains(r#"name="username""#));
    assert!(form.body.contains(r#"name="password""#));
    assert!(form.body.contains(r#"<button type="submit""#));
    assert_security_headers(&form, "login");
    assert_no_inline(&form, "login");

    // Success: the session cookie and a 303 to `next`.
    let ok = s.try_sign_in("root", PASSWORD, "/search?q=a").await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.header("location"), "/search?q=a");
    let token = session_of(&ok.headers).expect("cookie");
    let cookie = ok.header("set-cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let page = s.get("/conversations", Some(&token)).await;
    assert_eq!(page.data_page(), "conversations");

    // Failure: the form again, with the error.
    let bad = s.try_sign_in("rita", "wrong password!", "").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.data_page(), "login");
    assert!(
        bad.body.contains(r#"class="alert" role="alert""#),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("用户名或密码错误"), "{}", bad.body);
    assert!(bad.body.contains(r#"value="rita""#), "the name is kept");

    // Lockout: the third failure locks; the message says until when.
    s.try_sign_in("rita", "wrong password!", "").await;
    let locked = s.try_sign_in("rita", "wrong password!", "").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.body.contains("账户已锁定至"), "{}", locked.body);
    assert!(locked.body.contains("北京时间"), "{}", locked.body);
    // Even the right password is refused while locked; in English on request.
    let still = s
        .request(
            Method::POST,
            "/login?lang=en",
            None,
            &[],
            Some(support::form(&[
                ("username", "rita"),
                ("password", PASSWORD),
            ])),
            true,
        )
        .await;
    assert_eq!(still.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(still.body.contains("locked until"), "{}", still.body);
    assert!(session_of(&still.headers).is_none());
    // Every attempt is audited.
    let denied = s
        .audit()
        .into_iter()
        .filter(|r| r.entry.action == "session.create" && r.entry.outcome.as_str() == "denied")
        .count();
    assert!(denied >= 4, "{denied}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_pages_go_to_sign_in_and_next_stays_local() {
    let s = serve(ApiConfig::default()).await;
    let p = s.get("/search?q=%E5%90%88%E5%90%8C", None).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(
        p.header("location"),
        "/login?next=%2Fsearch%3Fq%3D%25E5%2590%2588%25E5%2590%258C"
    );
    let root = s.get("/", None).await;
    assert_eq!(root.header("location"), "/conversations");
    let htmx = s
        .request(
            Method::GET,
            "/conversations?name=a",
            None,
            &[("HX-Request", "true")],
            None,
            false,
        )
        .await;
    assert_eq!(htmx.status, StatusCode::UNAUTHORIZED);
    assert_eq!(htmx.header("hx-redirect"), "/login");
    // The sign-in form carries `next` on, but only a local path.
    let form = s.get("/login?next=/status", None).await;
    assert!(
        form.body.contains(r#"name="next" value="/status""#),
        "{}",
        form.body
    );
    for evil in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let p = s.try_sign_in("root", PASSWORD, evil).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{evil}");
        assert_eq!(p.header("location"), "/conversations", "{evil}");
        let f = s
            .get(
                &format!(
                    "/login?next={}",
                    support::form(&[("x", evil)]).trim_start_matches("x=")
                ),
                None,
            )
            .await;
        assert!(
            f.body.contains(r#"name="next" value="/conversations""#),
            "{evil}: {}",
            f.body
        );
    }
    // A session that ended sends to sign-in too.
    let token = s.sign_in("root").await;
    let out = s.post("/logout", Some(&token), &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.header("location"), "/login");
    let after = s.get("/conversations", Some(&token)).await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.header("location").starts_with("/login?next="));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_for_an_admin() {
    let s = serve(ApiConfig::default()).await;
    let root = s.sign_in("root").await;
    let conv = s.get("/conversations", Some(&root)).await;
    assert_eq!(conv.status, StatusCode::OK);
    assert_eq!(conv.data_page(), "conversations");
    assert_eq!(conv.header("vary"), "HX-Request");
    assert_security_headers(&conv, "conversations");
    assert_eq!(conv.header("cache-control"), "no-store");
    assert_no_inline(&conv, "conversations");
    for key in [
        "pair:alice|bob",
        "room:wr1",
        "pair:erin|frank",
        "pair:gail|henry",
    ] {
        let href = format!(
            r#"<a class="conv" data-key="{}" href="/conversations/{}">"#,
            key,
            support_enc(key)
        );
        assert!(conv.body.contains(&href), "{href} in {}", conv.body);
    }
    assert!(conv.body.contains("Erin 艾琳"), "names shown");
    assert!(conv.body.contains(r#"class="avatar av-"#), "avatars");
    assert!(conv.body.contains("请把合同发我邮箱"), "last message");
    // Nav: admins see the admin links, and the sign-out form.
    for link in [
        "/conversations",
        "/search",
        "/status",
        "/admin/users",
        "/admin/audit",
    ] {
        assert!(conv.body.contains(&format!(r#"href="{link}""#)), "{link}");
    }
    assert!(
        conv.body
            .contains(r#"<form id="logout" method="post" action="/logout">"#)
    );

    // Filters; the name filter's htmx fragment.
    let ext = s.get("/conversations?scope=external", Some(&root)).await;
    assert!(
        ext.body.contains("data-key=\"pair:alice|wmEXT"),
        "{}",
        ext.body
    );
    assert!(!ext.body.contains("data-key=\"room:wr1\""));
    let person = s.get("/conversations?person=erin", Some(&root)).await;
    assert!(person.body.contains("data-key=\"pair:erin|frank\""));
    assert!(!person.body.contains("data-key=\"pair:alice|bob\""));
    let frag = s
        .request(
            Method::GET,
            "/conversations?name=%E8%89%BE%E7%90%B3",
            Some(&root),
            &[("HX-Request", "true")],
            None,
            false,
        )
        .await;
    assert_eq!(frag.status, StatusCode::OK);
    assert!(!frag.body.contains("<html"), "a fragment, not a page");
    assert!(
        frag.body.contains("data-key=\"pair:erin|frank\""),
        "{}",
        frag.body
    );
    assert!(!frag.body.contains("data-key=\"pair:alice|bob\""));
    assert_eq!(frag.header("vary"), "HX-Request");

    let status = s.get("/status", Some(&root)).await;
    assert_eq!(status.data_page(), "status");
    assert!(status.body.contains(CORP));
    assert!(status.body.contains("同步未运行"), "no daemon here");

    let users = s.get("/admin/users", Some(&root)).await;
    assert_eq!(users.data_page(), "users");
    for u in ["root", "rita", "dora"] {
        assert!(
            users.body.contains(&format!(r#"data-username="{u}""#)),
            "{u}"
        );
    }
    let audit = s.get("/admin/audit", Some(&root)).await;
    assert_eq!(audit.data_page(), "audit");
    assert!(
        audit.body.contains(r#"data-intact="true""#),
        "{}",
        audit.body
    );
    assert!(audit.body.contains("session.create"));
    let filtered = s
        .get("/admin/audit?action=conversation.list", Some(&root))
        .await;
    assert!(filtered.body.contains(r#"data-action="conversation.list""#));
    assert!(!filtered.body.contains(r#"data-action="session.create""#));

    let en = s.get("/conversations?lang=en", Some(&root)).await;
    assert!(en.body.contains("<html lang=\"en\">"));
    assert!(en.body.contains(">Conversations<"));
    assert!(en.header("set-cookie").contains("wecom_lang=en"));
}

fn support_enc(s: &str) -> String {
    wecom_web::page::path_segment(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_changes_users_through_forms() {
    let s = serve(ApiConfig::default()).await;
    let root = s.sign_in("root").await;
    let added = s
        .post(
            "/admin/users",
            Some(&root),
            &[
                ("username", "newbie"),
                ("password", "a long enough password"),
                ("role", "reviewer"),
                ("corps", ""),
                ("userids", "erin, frank"),
                ("departments", ""),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.header("location"), "/admin/users?done=added");
    let signed = s.try_sign_in("newbie", "a long enough password", "").await;
    let newbie = session_of(&signed.headers).expect("newbie signs in");
    let list = s.get("/conversations", Some(&newbie)).await;
    assert!(list.body.contains("data-key=\"pair:erin|frank\""));
    assert!(!list.body.contains("data-key=\"pair:alice|bob\""));
    // A reviewer without a scope is refused with the API's reason.
    let bad = s
        .post(
            "/admin/users",
            Some(&root),
            &[
                ("username", "noscope"),
                ("password", "a long enough password"),
                ("role", "reviewer"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("role=\"alert\""), "{}", bad.body);
    // Disable ends the user's sessions.
    let off = s
        .post("/admin/users/newbie", Some(&root), &[("action", "disable")])
        .await;
    assert_eq!(off.header("location"), "/admin/users?done=disabled");
    let gone = s.get("/conversations", Some(&newbie)).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let on = s
        .post("/admin/users/newbie", Some(&root), &[("action", "enable")])
        .await;
    assert_eq!(on.header("location"), "/admin/users?done=enabled");
    let pw = s
        .post(
            "/admin/users/newbie",
            Some(&root),
            &[
                ("action", "password"),
                ("password", "another long password"),
            ],
        )
        .await;
    assert_eq!(pw.header("location"), "/admin/users?done=password");
    let old = s.try_sign_in("newbie", "a long enough password", "").await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let role = s
        .post(
            "/admin/users/newbie",
            Some(&root),
            &[("action", "update"), ("role", "auditor"), ("corps", CORP)],
        )
        .await;
    assert_eq!(
        role.header("location"),
        "/admin/users?done=updated",
        "{}",
        role.body
    );
    let actions: Vec<String> = s
        .audit()
        .into_iter()
        .filter(|r| r.entry.action.starts_with("user.") && r.entry.username == "root")
        .map(|r| format!("{} {}", r.entry.action, r.entry.outcome.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            "user.add ok",
            "user.update ok",
            "user.update ok",
            "user.passwd ok",
            "user.update ok"
        ],
        "the failed add is refused before the archive, as the API does"
    );
    // Unknown users are not found.
    let none = s
        .post("/admin/users/nobody", Some(&root), &[("action", "disable")])
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert_eq!(none.data_page(), "not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_see_their_scope_only_and_no_admin_pages() {
    let s = serve(ApiConfig::default()).await;
    let rita = s.sign_in("rita").await;
    let conv = s.get("/conversations", Some(&rita)).await;
    assert_eq!(conv.data_page(), "conversations");
    assert!(conv.body.contains("data-key=\"pair:alice|bob\""));
    assert!(conv.body.contains("data-key=\"room:wr1\""));
    assert!(!conv.body.contains("data-key=\"pair:erin|frank\""));
    assert!(!conv.body.contains("data-key=\"pair:gail|henry\""));
    assert!(
        !conv.body.contains("href=\"/admin/users\""),
        "no admin links"
    );
    for path in ["/admin/users", "/admin/audit", "/admin/nothing"] {
        let p = s.get(path, Some(&rita)).await;
        assert_eq!(p.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(p.data_page(), "not-found", "{path}");
    }
    let post = s
        .post(
            "/admin/users/rita",
            Some(&rita),
            &[("action", "update"), ("role", "admin")],
        )
        .await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
    // A conversation outside the scope: the same 404 page as one that does not exist.
    let outside = s
        .get(
            &format!("/conversations/{}", support_enc("pair:erin|frank")),
            Some(&rita),
        )
        .await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND);
    assert_eq!(outside.data_page(), "not-found");
    // Search only finds what the reviewer may see.
    let search = s.get("/search?q=%E5%90%88%E5%90%8C", Some(&rita)).await;
    assert_eq!(search.data_page(), "search");
    assert!(search.body.contains("data-msgid=\"m1\""), "{}", search.body);
    assert!(!search.body.contains("data-msgid=\"m4\""));
    let status = s.get("/status", Some(&rita)).await;
    assert_eq!(status.data_page(), "status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_hits_link_to_the_message_with_marks() {
    let s = serve(ApiConfig::default()).await;
    let root = s.sign_in("root").await;
    let empty = s.get("/search", Some(&root)).await;
    assert_eq!(empty.data_page(), "search");
    assert!(empty.body.contains(r#"<form id="search""#));
    assert!(empty.body.contains(r#"name="q""#));
    assert!(empty.body.contains("from:ID"), "the syntax help");
    let found = s
        .get("/search?q=%E5%90%88%E5%90%8C%E5%8F%91", Some(&root))
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(
        found
            .body
            .contains(r#"<a class="hit" href="/conversations/pair%3Aalice%7Cbob?around=m1#m-m1""#),
        "{}",
        found.body
    );
    assert!(found.body.contains("<mark>合同发</mark>"), "{}", found.body);
    // The hostile message is escaped before it is marked.
    let hostile = s
        .get("/search?q=%E5%90%88%E5%90%8C&sender=gail", Some(&root))
        .await;
    assert!(
        hostile.body.contains("data-msgid=\"m8\""),
        "{}",
        hostile.body
    );
    assert!(
        hostile.body.contains(&format!(
            "{}<mark>合同</mark>",
            escaped("onerror=alert(2)> ")
        )),
        "the snippet escaped, then marked: {}",
        hostile.body
    );
    assert!(hostile.body.contains(&escaped(HOSTILE_NAME)), "the sender");
    assert_no_inline(&hostile, "search with markup");
    assert!(!hostile.body.contains("<script>alert"));
    assert!(!hostile.body.contains("<img src=x"));
    // Bad input is shown, not a server error.
    let bad = s.get("/search?q=after%3Anot-a-date", Some(&root)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("role=\"alert\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_names_and_messages_renders_as_text() {
    let s = serve(ApiConfig::default()).await;
    let root = s.sign_in("root").await;
    let conv = s.get("/conversations", Some(&root)).await;
    assert!(
        !conv.body.contains(HOSTILE_NAME),
        "the raw name never appears"
    );
    assert!(conv.body.contains(&escaped(HOSTILE_NAME)), "{}", conv.body);
    assert!(
        conv.body.contains(&escaped(
            "<script>alert(1)</script><img src=x onerror=alert(2)>"
        )),
        "the last message, escaped"
    );
    assert!(!conv.body.contains("<img src=x"));
    assert_no_inline(&conv, "conversations with markup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_and_headers_and_the_origin_guard() {
    let s = serve(ApiConfig::default()).await;
    for (path, kind) in [
        ("/assets/app.css", "text/css"),
        ("/assets/app.js", "text/javascript"),
        ("/assets/htmx.min.js", "text/javascript"),
    ] {
        let a = s.get(path, None).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        assert!(a.header("content-type").starts_with(kind), "{path}");
        assert_eq!(a.header("cache-control"), "no-cache", "{path}");
        assert_security_headers(&a, path);
        let etag = a.header("etag").to_owned();
        assert!(etag.len() > 10, "{path}");
        let again = s
            .request(
                Method::GET,
                path,
                None,
                &[("If-None-Match", &etag)],
                None,
                false,
            )
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
    }
    let missing = s.get("/assets/nope.js", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let readme = s.get("/assets/README.md", None).await;
    assert_eq!(readme.status, StatusCode::NOT_FOUND);

    // POST without Origin (or from elsewhere) is refused, and audited.
    let body = support::form(&[("username", "root"), ("password", PASSWORD)]);
    let no_origin = s
        .request(Method::POST, "/login", None, &[], Some(body.clone()), false)
        .await;
    assert_eq!(no_origin.status, StatusCode::FORBIDDEN);
    assert!(session_of(&no_origin.headers).is_none());
    let elsewhere = s
        .request(
            Method::POST,
            "/login",
            None,
            &[("Origin", "http://evil.example")],
            Some(body),
            false,
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    let root = s.sign_in("root").await;
    let logout = s
        .request(Method::POST, "/logout", Some(&root), &[], None, false)
        .await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
    assert!(
        s.audit()
            .iter()
            .filter(|r| r.entry.action == "request.bad_origin")
            .count()
            >= 3
    );
    // The session still works: the refused sign-out did nothing.
    let still = s.get("/status", Some(&root)).await;
    assert_eq!(still.status, StatusCode::OK);

    // Unknown pages: the not-found page with the headers.
    let nf = s.get("/no/such/page", Some(&root)).await;
    assert_eq!(nf.status, StatusCode::NOT_FOUND);
    assert_eq!(nf.data_page(), "not-found");
    assert_security_headers(&nf, "not found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_corps_get_a_corp_selector() {
    let s = support::serve_corps(ApiConfig::default(), true).await;
    let root = s.sign_in("root").await;
    let first = s.get("/conversations", Some(&root)).await;
    assert!(
        first.body.contains(r#"<select id="f-corp" name="corp">"#),
        "{}",
        first.body
    );
    assert!(
        first
            .body
            .contains(&format!(r#"<option value="{CORP}" selected>"#))
    );
    assert!(
        first
            .body
            .contains(&format!(r#"<option value="{}">"#, support::OTHER_CORP))
    );
    assert!(first.body.contains("data-key=\"pair:alice|bob\""));
    let other = s
        .get(
            &format!("/conversations?corp={}", support::OTHER_CORP),
            Some(&root),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK);
    assert!(other.body.contains(&format!(
        r#"<option value="{}" selected>"#,
        support::OTHER_CORP
    )));
    assert!(
        !other.body.contains("class=\"conv\""),
        "no conversation there"
    );
    let search = s.get("/search", Some(&root)).await;
    assert!(search.body.contains(r#"<select id="s-corp" name="corp">"#));
    let status = s.get("/status", Some(&root)).await;
    assert!(status.body.contains(CORP) && status.body.contains(support::OTHER_CORP));
    // A reviewer bound to one corp gets no selector, and the other corp does not exist for it.
    let rita = s.sign_in("rita").await;
    let mine = s.get("/conversations", Some(&rita)).await;
    assert!(!mine.body.contains(r#"name="corp""#));
    let theirs = s
        .get(
            &format!("/conversations?corp={}", support::OTHER_CORP),
            Some(&rita),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.data_page(), "not-found");
}
