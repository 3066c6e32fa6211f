//! The naming/scope/consent APIs over HTTP (reference §4.2–§4.7): every answer's shape checked
//! against the directory, tokens per secret (48002 for the wrong one, the app secret included),
//! every errcode the emulator gives, renames, list paging, injected faults and the rate limit.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use md5::{Digest, Md5};
use serde_json::{Value, json};
use wecom_emulator::{
    ApiFault, ApiFaultRule, ApiRequestLog, CorpusSpec, Directory, EmulatorConfig, ExternalKind,
    Group, OUT_OF_SCOPE_EMPLOYEES, RENAME_EVERY, WECHAT_ROOM_INDICES, generate,
};
use wecom_wire::directory::{
    AgreeInfoList, CustomerGroupList, CustomerGroupResponse, DirectoryApi, ExternalContactResponse,
    InternalGroup, PermitUserList, RobotInfoResponse, User,
};
use wecom_wire::encrypt_sign;

use crate::config;
use crate::server::Server;

/// md5 over a corpus' records and the generated parts of its directory (everything but
/// `from_wechat`, which is derived from indices). Media specs are hashed as their `Debug` was
/// before [`MediaSpec::sample`] existed (a generated object's `sample: None` is left out), so the
/// digests of generated-only corpora stay comparable.
///
/// [`MediaSpec::sample`]: wecom_emulator::MediaSpec::sample
fn corpus_digest(spec: &CorpusSpec) -> String {
    let corpus = generate(spec);
    let mut md5 = Md5::new();
    for r in &corpus.records {
        let media = format!("{:?}", r.media).replace(", sample: None", "");
        md5.update(format!("{}|{}|{}|{media}\n", r.seq, r.msgid, r.plaintext));
    }
    let d = &corpus.directory;
    md5.update(format!(
        "{}|{}|{:?}|{:?}|{:?}\n",
        d.corp_id, d.corp_name, d.employees, d.external_contacts, d.robots
    ));
    for g in &d.groups {
        md5.update(format!(
            "{}|{}|{}|{:?}|{:?}|{}|{}|{}\n",
            g.roomid, g.name, g.owner, g.members, g.robots, g.external, g.create_time, g.notice
        ));
    }
    hex::encode(md5.finalize())
}

fn generated_only(seed: u64, messages: usize) -> CorpusSpec {
    CorpusSpec {
        real_media: false,
        ..CorpusSpec::new(seed, messages)
    }
}

/// Digests taken before the directory APIs existed: serving them must not change a single byte
/// of any corpus. They were taken before real media samples existed too, so they hold for the
/// generated-only corpora; the default corpora (a quarter of the media real) have digests of
/// their own, taken when the samples were added.
#[test]
fn the_corpus_of_a_seed_is_unchanged_by_the_directory_facts() {
    assert_eq!(
        corpus_digest(&generated_only(42, 800)),
        "746b4a8be65572b54e1b756e2594ce6b"
    );
    assert_eq!(
        corpus_digest(&generated_only(20231106, 3000)),
        "29a500580219fef9942dcd3c7d14cdac"
    );
    assert_eq!(
        corpus_digest(&CorpusSpec::new(42, 800)),
        "56a8a4746b47d30d982cad974520dfea"
    );
    assert_eq!(
        corpus_digest(&CorpusSpec::new(20231106, 3000)),
        "80bd13cef50609bfd37b42c8e91fe378"
    );
}

#[test]
fn two_customer_groups_are_started_from_wechat_and_still_have_messages() {
    let corpus = generate(&CorpusSpec::new(42, 3000));
    let external: Vec<&Group> = corpus
        .directory
        .groups
        .iter()
        .filter(|g| g.external)
        .collect();
    let wechat: Vec<usize> = external
        .iter()
        .enumerate()
        .filter(|(_, g)| g.from_wechat)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(wechat, WECHAT_ROOM_INDICES);
    assert!(
        corpus
            .directory
            .groups
            .iter()
            .all(|g| g.external || !g.from_wechat)
    );
    for i in WECHAT_ROOM_INDICES {
        let roomid = &external[i].roomid;
        assert!(
            corpus
                .records
                .iter()
                .any(|r| r.plaintext.contains(roomid.as_str())),
            "room {roomid} appears in messages"
        );
    }
}

/// The server, its directory and a token per secret.
struct Api {
    server: Server,
    archive: String,
    contacts: String,
    customer: String,
    app: String,
}

impl Api {
    async fn start(cfg: EmulatorConfig) -> Api {
        let server = Server::start(cfg).await;
        let em = server.emulator.clone();
        let archive = token_for(&server, em.secret()).await;
        let contacts = token_for(&server, em.contacts_secret().expect("contacts")).await;
        let customer = token_for(&server, em.customer_secret().expect("customer")).await;
        let app = token_for(&server, em.app_secret().expect("app")).await;
        Api {
            server,
            archive,
            contacts,
            customer,
            app,
        }
    }

    fn directory(&self) -> &Directory {
        self.server.emulator.directory()
    }

    /// The token of the secret `api` needs.
    fn token(&self, api: DirectoryApi) -> &str {
        match api.secret() {
            wecom_wire::directory::SecretKind::Archive => &self.archive,
            wecom_wire::directory::SecretKind::Contacts => &self.contacts,
            wecom_wire::directory::SecretKind::CustomerContact => &self.customer,
        }
    }

    /// A POST with this body (or a GET with this query), with the right token; the JSON answer.
    async fn call(&self, api: DirectoryApi, arg: &str) -> Value {
        self.call_with(api, self.token(api), arg).await
    }

    async fn call_with(&self, api: DirectoryApi, token: &str, arg: &str) -> Value {
        let response = self.send(api, token, arg).await.expect("request");
        assert_eq!(response.status(), 200, "{}", api.name());
        response.json().await.expect("json answer")
    }

    async fn send(
        &self,
        api: DirectoryApi,
        token: &str,
        arg: &str,
    ) -> reqwest::Result<reqwest::Response> {
        let http = &self.server.http;
        let base = &self.server.base;
        if api.is_get() {
            let sep = if arg.is_empty() { "" } else { "&" };
            http.get(format!(
                "{base}/{}?access_token={token}{sep}{arg}",
                api.path()
            ))
            .send()
            .await
        } else {
            http.post(format!("{base}/{}?access_token={token}", api.path()))
                .header("content-type", "application/json")
                .body(arg.to_owned())
                .send()
                .await
        }
    }

    /// A request that succeeds for every API (the first known subject).
    fn valid_arg(&self, api: DirectoryApi) -> String {
        let d = self.directory();
        let internal = d.groups.iter().find(|g| !g.external).expect("internal");
        let customer = customer_groups(d)[0];
        let contact = &d.external_contacts[0];
        match api {
            DirectoryApi::PermitUserList => "{}".to_owned(),
            DirectoryApi::CheckSingleAgree => json!({"info": [{
                "userid": contact.owners[0], "exteranalopenid": contact.external_userid}]})
            .to_string(),
            DirectoryApi::CheckRoomAgree => json!({"roomid": customer.roomid}).to_string(),
            DirectoryApi::InternalGroup => json!({"roomid": internal.roomid}).to_string(),
            DirectoryApi::RobotInfo => format!("robot_id={}", d.robots[0].robot_id),
            DirectoryApi::CustomerGroup => {
                json!({"chat_id": customer.roomid, "need_name": 1}).to_string()
            }
            DirectoryApi::CustomerGroupList => r#"{"limit":10}"#.to_owned(),
            DirectoryApi::User => format!("userid={}", d.employees[0].userid),
            DirectoryApi::ExternalContact => format!("external_userid={}", contact.external_userid),
        }
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

async fn token_for(server: &Server, secret: &str) -> String {
    let v = gettoken(server, server.emulator.corp_id(), secret).await;
    assert_eq!(v["errcode"], 0, "{v}");
    v["access_token"].as_str().expect("token").to_owned()
}

async fn gettoken(server: &Server, corp: &str, secret: &str) -> Value {
    let url = format!(
        "{}/cgi-bin/gettoken?corpid={corp}&corpsecret={secret}",
        server.base
    );
    let response = server.http.get(url).send().await.expect("gettoken");
    response.json().await.expect("json")
}

fn errcode(v: &Value) -> i64 {
    v["errcode"]
        .as_i64()
        .unwrap_or_else(|| panic!("no errcode: {v}"))
}

/// The customer groups the customer-contact API serves, in directory order.
fn customer_groups(d: &Directory) -> Vec<&Group> {
    d.groups
        .iter()
        .filter(|g| g.external && !g.from_wechat)
        .collect()
}

fn wechat_groups(d: &Directory) -> Vec<&Group> {
    d.groups.iter().filter(|g| g.from_wechat).collect()
}

fn is_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[tokio::test]
async fn tokens_are_per_secret_and_the_app_secret_is_forbidden_on_the_archive() {
    let api = Api::start(config(101, 30)).await;
    let server = &api.server;
    let corp = server.emulator.corp_id().to_owned();
    assert_eq!(errcode(&gettoken(server, &corp, "nope").await), 40001);
    assert_eq!(
        errcode(&gettoken(server, "wwnope", server.emulator.secret()).await),
        40013
    );

    // Each API accepts only its own secret's token; the app token nowhere.
    for which in DirectoryApi::ALL {
        let arg = api.valid_arg(which);
        let ok = api.call(which, &arg).await;
        assert_eq!(errcode(&ok), 0, "{}: {ok}", which.name());
        for token in [&api.archive, &api.contacts, &api.customer, &api.app] {
            if token == api.token(which) {
                continue;
            }
            let refused = api.call_with(which, token, &arg).await;
            assert_eq!(errcode(&refused), 48002, "{}: {refused}", which.name());
            assert!(
                refused["errmsg"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("api forbidden"))
            );
        }
        assert_eq!(errcode(&api.call_with(which, "", &arg).await), 41001);
        assert_eq!(
            errcode(&api.call_with(which, "not-a-token", &arg).await),
            40014
        );
    }

    // getchatdata and getchatmediadata refuse the app secret too (reference §7 #4), and the
    // other non-archive secrets.
    for token in [&api.app, &api.contacts, &api.customer] {
        let body = format!(
            r#"{{"seq":0,"limit":10,"version":3,"encrypt_sign":"{}"}}"#,
            encrypt_sign(token)
        );
        let v: Value = server
            .http
            .post(format!(
                "{}/cgi-bin/message/getchatdata?access_token={token}",
                server.base
            ))
            .body(body)
            .send()
            .await
            .expect("getchatdata")
            .json()
            .await
            .expect("json");
        assert_eq!(errcode(&v), 48002, "{v}");
        assert!(v.get("chatdata").is_none());
        let v: Value = server
            .http
            .post(format!(
                "{}/cgi-bin/message/getchatmediadata?access_token={token}",
                server.base
            ))
            .body(r#"{"fileid":"x","authkey":"y"}"#)
            .send()
            .await
            .expect("getchatmediadata")
            .json()
            .await
            .expect("json");
        assert_eq!(errcode(&v), 48002, "{v}");
    }
    api.stop().await;
}

#[tokio::test]
async fn unconfigured_secrets_are_unknown_and_tokens_expire_for_every_role() {
    let mut cfg = config(102, 10);
    cfg.contacts_secret = None;
    cfg.app_secret = None;
    cfg.token_ttl = Duration::from_millis(300);
    let server = Server::start(cfg).await;
    let corp = server.emulator.corp_id().to_owned();
    assert_eq!(server.emulator.contacts_secret(), None);
    for secret in ["emulator-contacts-secret", "emulator-app-secret"] {
        assert_eq!(errcode(&gettoken(&server, &corp, secret).await), 40001);
    }
    let customer = token_for(&server, "emulator-customer-secret").await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let contact = &server.emulator.directory().external_contacts[0].external_userid;
    let v: Value = server
        .http
        .get(format!(
            "{}/cgi-bin/externalcontact/get?access_token={customer}&external_userid={contact}",
            server.base
        ))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(errcode(&v), 42001, "{v}");
    server.stop().await;
}

#[tokio::test]
async fn permit_user_list_is_the_archive_scope() {
    let api = Api::start(config(103, 10)).await;
    let d = api.directory();
    let scope: Vec<String> = d.employees[..d.employees.len() - OUT_OF_SCOPE_EMPLOYEES]
        .iter()
        .map(|e| e.userid.clone())
        .collect();
    assert_eq!(scope.len(), 27);
    for body in ["{}", r#"{"type":1}"#, r#"{"type":2}"#, r#"{"type":3}"#] {
        let v = api.call(DirectoryApi::PermitUserList, body).await;
        let list: PermitUserList = serde_json::from_value(v.clone()).expect("shape");
        assert_eq!(list.ids, scope, "{body}");
        assert_eq!(v["errmsg"], "ok");
    }
    assert!(d.in_archive_scope(&scope[0]));
    assert!(!d.in_archive_scope(&d.employees[29].userid));
    for (body, code) in [
        (r#"{"type":0}"#, 40058),
        (r#"{"type":4}"#, 40058),
        ("", 44002),
        ("  \n", 44002),
        ("not json", 47001),
        (r#"{"type":"one"}"#, 47001),
    ] {
        let v = api.call(DirectoryApi::PermitUserList, body).await;
        assert_eq!(errcode(&v), code, "{body}: {v}");
    }
    // A POST API asked with GET and a GET API asked with POST: the 405 fallback.
    let wrong = api
        .server
        .http
        .get(format!(
            "{}/{}?access_token={}",
            api.server.base,
            DirectoryApi::PermitUserList.path(),
            api.archive
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(wrong.status(), 405);
    let wrong = api
        .server
        .http
        .post(format!(
            "{}/{}?access_token={}",
            api.server.base,
            DirectoryApi::User.path(),
            api.contacts
        ))
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(wrong.status(), 405);
    api.stop().await;
}

#[tokio::test]
async fn consent_is_deterministic_per_contact() {
    let api = Api::start(config(104, 10)).await;
    let d = api.directory();
    let mut info: Vec<Value> = d
        .external_contacts
        .iter()
        .map(|c| json!({"userid": c.owners[0], "exteranalopenid": c.external_userid}))
        .collect();
    // Unknown pairs are left out: an unknown employee, an unknown contact.
    info.push(
        json!({"userid": "nobody", "exteranalopenid": d.external_contacts[0].external_userid}),
    );
    info.push(json!({"userid": d.employees[0].userid, "exteranalopenid": "wmunknown"}));
    let body = json!({ "info": info }).to_string();
    let v = api.call(DirectoryApi::CheckSingleAgree, &body).await;
    let list: AgreeInfoList = serde_json::from_value(v.clone()).expect("shape");
    assert_eq!(list.agreeinfo.len(), d.external_contacts.len(), "{v}");
    let mut disagreed = 0;
    for (i, (c, a)) in d.external_contacts.iter().zip(&list.agreeinfo).enumerate() {
        assert_eq!(a.exteranalopenid, c.external_userid);
        assert_eq!(a.userid.as_deref(), Some(c.owners[0].as_str()));
        let want = if i % 7 == 3 { "Disagree" } else { "Agree" };
        assert_eq!(a.agree_status, want, "contact {i}");
        assert_eq!(
            a.status_change_time,
            1_685_577_600 + 3600 * i64::try_from(i).expect("small")
        );
        let consent = d.consent(&c.external_userid).expect("consent");
        assert_eq!(consent.agreed, a.agree_status == "Agree");
        assert_eq!(consent.status_change_time, a.status_change_time);
        disagreed += usize::from(!consent.agreed);
    }
    assert_eq!(disagreed, 6, "one in seven of 40");
    // Determinism: the same question gets the same answer, from another server too.
    let again = api.call(DirectoryApi::CheckSingleAgree, &body).await;
    assert_eq!(again["agreeinfo"], v["agreeinfo"]);
    let other = Api::start(config(104, 10)).await;
    assert_eq!(
        other.call(DirectoryApi::CheckSingleAgree, &body).await["agreeinfo"],
        v["agreeinfo"]
    );
    other.stop().await;

    let too_many: Vec<Value> = (0..101).map(|_| info[0].clone()).collect();
    for body in [
        json!({"info": []}).to_string(),
        json!({"info": too_many}).to_string(),
    ] {
        assert_eq!(
            errcode(&api.call(DirectoryApi::CheckSingleAgree, &body).await),
            40058
        );
    }
    assert_eq!(
        errcode(&api.call(DirectoryApi::CheckSingleAgree, "{}").await),
        47001
    );

    // Rooms: one entry per external member, no userid; internal rooms have none.
    for g in &d.groups {
        let v = api
            .call(
                DirectoryApi::CheckRoomAgree,
                &json!({"roomid": g.roomid}).to_string(),
            )
            .await;
        let list: AgreeInfoList = serde_json::from_value(v.clone()).expect("shape");
        let externals: Vec<&String> = g
            .members
            .iter()
            .filter(|m| d.external_contact(m).is_some())
            .collect();
        assert_eq!(list.agreeinfo.len(), externals.len(), "{v}");
        assert_eq!(g.external, !externals.is_empty());
        for (a, m) in list.agreeinfo.iter().zip(externals) {
            assert_eq!(&a.exteranalopenid, m);
            assert_eq!(a.userid, None);
            assert!(!v.to_string().contains("\"userid\""));
            let consent = d.consent(m).expect("consent");
            assert_eq!(a.agree_status == "Agree", consent.agreed);
        }
    }
    let unknown = api
        .call(DirectoryApi::CheckRoomAgree, r#"{"roomid":"wrnope"}"#)
        .await;
    assert_eq!(errcode(&unknown), 40050);
    api.stop().await;
}

#[tokio::test]
async fn internal_groups_are_served_by_msgaudit_groupchat_get_only() {
    let api = Api::start(config(105, 10)).await;
    let d = api.directory();
    let internal: Vec<&Group> = d.groups.iter().filter(|g| !g.external).collect();
    assert_eq!(internal.len(), 8);
    for g in &internal {
        let v = api
            .call(
                DirectoryApi::InternalGroup,
                &json!({"roomid": g.roomid}).to_string(),
            )
            .await;
        let group: InternalGroup = serde_json::from_value(v.clone()).expect("shape");
        assert_eq!(group.roomname, g.name);
        assert!(is_chinese(&group.roomname));
        assert_eq!(group.creator, g.owner);
        assert_eq!(group.room_create_time, g.create_time);
        assert_eq!(group.notice, g.notice);
        let members: Vec<&str> = group.members.iter().map(|m| m.memberid.as_str()).collect();
        assert_eq!(
            members,
            g.members.iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert!(group.members.iter().all(|m| m.jointime >= g.create_time));
        // Internal answers are about employees, not externals or robots.
        assert!(members.iter().all(|m| d.is_employee(m)));
    }
    let again = api
        .call(
            DirectoryApi::InternalGroup,
            &json!({"roomid": internal[0].roomid}).to_string(),
        )
        .await;
    assert_eq!(
        again,
        api.call(
            DirectoryApi::InternalGroup,
            &json!({"roomid": internal[0].roomid}).to_string()
        )
        .await
    );
    // Customer groups (WeChat-started or not) and unknown rooms: 40050.
    for roomid in d
        .groups
        .iter()
        .filter(|g| g.external)
        .map(|g| g.roomid.as_str())
        .chain(["wrnope", ""])
    {
        let v = api
            .call(
                DirectoryApi::InternalGroup,
                &json!({"roomid": roomid}).to_string(),
            )
            .await;
        assert_eq!(errcode(&v), 40050, "{roomid}: {v}");
        assert!(v.get("roomname").is_none());
    }
    assert_eq!(
        errcode(
            &api.call(DirectoryApi::InternalGroup, r#"{"chat_id":"x"}"#)
                .await
        ),
        47001
    );
    api.stop().await;
}

#[tokio::test]
async fn robots_are_described_and_unknown_ones_refused() {
    let api = Api::start(config(106, 10)).await;
    let d = api.directory();
    for robot in &d.robots {
        let v = api
            .call(
                DirectoryApi::RobotInfo,
                &format!("robot_id={}", robot.robot_id),
            )
            .await;
        let info: RobotInfoResponse = serde_json::from_value(v.clone()).expect("shape");
        assert_eq!(info.data.robot_id, robot.robot_id);
        assert_eq!(info.data.name, robot.name);
        assert!(is_chinese(&info.data.name));
        assert_eq!(info.data.creator_userid, robot.creator_userid);
        assert!(d.is_employee(&info.data.creator_userid));
    }
    for arg in ["robot_id=wbnope", "robot_id=", ""] {
        assert_eq!(
            errcode(&api.call(DirectoryApi::RobotInfo, arg).await),
            40058,
            "{arg}"
        );
    }
    api.stop().await;
}

#[tokio::test]
async fn customer_groups_are_served_by_externalcontact_groupchat_get_only() {
    let api = Api::start(config(107, 10)).await;
    let d = api.directory();
    let groups = customer_groups(d);
    assert_eq!(groups.len(), 8);
    let mut scenes = BTreeSet::new();
    let mut nicknames = 0;
    for g in &groups {
        let with_names = api
            .call(
                DirectoryApi::CustomerGroup,
                &json!({"chat_id": g.roomid, "need_name": 1}).to_string(),
            )
            .await;
        let chat = serde_json::from_value::<CustomerGroupResponse>(with_names.clone())
            .expect("shape")
            .group_chat;
        assert_eq!(chat.chat_id, g.roomid);
        assert_eq!(chat.name, g.name);
        assert_eq!(chat.owner, g.owner);
        assert_eq!(chat.create_time, g.create_time);
        assert_eq!(chat.notice, g.notice);
        assert_eq!(chat.member_version.len(), 32);
        assert!(chat.member_version.bytes().all(|b| b.is_ascii_hexdigit()));
        let staff: Vec<&String> = g.members.iter().filter(|m| d.is_employee(m)).collect();
        let admins: Vec<&str> = chat.admin_list.iter().map(|a| a.userid.as_str()).collect();
        assert_eq!(
            admins,
            staff
                .get(1)
                .map(|s| s.as_str())
                .into_iter()
                .collect::<Vec<_>>()
        );
        assert_eq!(chat.member_list.len(), g.members.len());
        for (i, (m, id)) in chat.member_list.iter().zip(&g.members).enumerate() {
            assert_eq!(&m.userid, id);
            let contact = d.external_contact(id);
            assert_eq!(m.member_type, if contact.is_some() { 2 } else { 1 });
            assert_eq!(
                m.unionid.is_some(),
                contact.is_some_and(|c| c.kind == ExternalKind::WeChat),
                "unionid only for WeChat externals"
            );
            assert!(m.join_time >= g.create_time);
            assert!((1..=3).contains(&m.join_scene));
            scenes.insert(m.join_scene);
            let invited = i != 0 && m.join_scene == 1;
            assert_eq!(
                m.invitor.as_ref().map(|u| u.userid.as_str()),
                invited.then_some(g.owner.as_str())
            );
            assert_eq!(Some(m.name.as_str()), d.name_of(id));
            if !m.group_nickname.is_empty() {
                nicknames += 1;
                assert!(is_chinese(&m.group_nickname));
            }
        }
        // Without need_name (0 or absent), no member names; the rest is identical.
        for body in [
            json!({"chat_id": g.roomid, "need_name": 0}).to_string(),
            json!({"chat_id": g.roomid}).to_string(),
        ] {
            let v = api.call(DirectoryApi::CustomerGroup, &body).await;
            assert_eq!(errcode(&v), 0, "{v}");
            let members = v["group_chat"]["member_list"].as_array().expect("members");
            assert!(members.iter().all(|m| m.get("name").is_none()), "{v}");
            assert_eq!(
                v["group_chat"]["member_version"],
                with_names["group_chat"]["member_version"]
            );
        }
    }
    assert_eq!(scenes.len(), 3, "every join scene appears");
    assert!(nicknames > 0);
    // Internal groups, WeChat-started rooms and unknown ids: 40050 (reference §7 #14).
    let refused: Vec<&str> = d
        .groups
        .iter()
        .filter(|g| !g.external || g.from_wechat)
        .map(|g| g.roomid.as_str())
        .chain(["wrnope"])
        .collect();
    assert_eq!(refused.len(), 8 + 2 + 1);
    for chat_id in refused {
        let v = api
            .call(
                DirectoryApi::CustomerGroup,
                &json!({"chat_id": chat_id, "need_name": 1}).to_string(),
            )
            .await;
        assert_eq!(errcode(&v), 40050, "{chat_id}: {v}");
    }
    // WeChat-started rooms: neither groupchat API, but check_room_agree knows them.
    for g in wechat_groups(d) {
        let v = api
            .call(
                DirectoryApi::InternalGroup,
                &json!({"roomid": g.roomid}).to_string(),
            )
            .await;
        assert_eq!(errcode(&v), 40050);
        let v = api
            .call(
                DirectoryApi::CheckRoomAgree,
                &json!({"roomid": g.roomid}).to_string(),
            )
            .await;
        assert_eq!(errcode(&v), 0);
    }
    api.stop().await;
}

#[tokio::test]
async fn customer_group_list_pages_and_filters() {
    let api = Api::start(config(108, 10)).await;
    let d = api.directory();
    let mut all: Vec<String> = customer_groups(d)
        .iter()
        .map(|g| g.roomid.clone())
        .collect();
    all.sort();

    let mut listed = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let body = json!({"status_filter": 0, "cursor": cursor, "limit": 3}).to_string();
        let v = api.call(DirectoryApi::CustomerGroupList, &body).await;
        let page: CustomerGroupList = serde_json::from_value(v.clone()).expect("shape");
        assert!(page.group_chat_list.len() <= 3, "{v}");
        assert!(page.group_chat_list.iter().all(|e| e.status == 0));
        listed.extend(page.group_chat_list.into_iter().map(|e| e.chat_id));
        pages += 1;
        if page.next_cursor.is_empty() {
            break;
        }
        cursor = page.next_cursor;
    }
    assert_eq!(listed, all);
    assert_eq!(pages, 3);

    // One page holds all; the cursor of the last page is empty.
    let v = api
        .call(DirectoryApi::CustomerGroupList, r#"{"limit":1000}"#)
        .await;
    assert_eq!(v["group_chat_list"].as_array().map(Vec::len), Some(8));
    assert_eq!(v["next_cursor"], "");

    // Owner filter.
    let owner = &customer_groups(d)[0].owner;
    let mut owned: Vec<String> = customer_groups(d)
        .iter()
        .filter(|g| &g.owner == owner)
        .map(|g| g.roomid.clone())
        .collect();
    owned.sort();
    let body = json!({"owner_filter": {"userid_list": [owner]}, "limit": 100}).to_string();
    let page: CustomerGroupList =
        serde_json::from_value(api.call(DirectoryApi::CustomerGroupList, &body).await)
            .expect("shape");
    let ids: Vec<String> = page
        .group_chat_list
        .into_iter()
        .map(|e| e.chat_id)
        .collect();
    assert_eq!(ids, owned);
    let body = json!({"owner_filter": {"userid_list": ["nobody"]}, "limit": 100}).to_string();
    let v = api.call(DirectoryApi::CustomerGroupList, &body).await;
    assert_eq!(v["group_chat_list"], json!([]));

    // Every owner is active, so the 离职 filters list nothing.
    for status in 1..=3 {
        let body = json!({"status_filter": status, "limit": 100}).to_string();
        let v = api.call(DirectoryApi::CustomerGroupList, &body).await;
        assert_eq!(errcode(&v), 0);
        assert_eq!(v["group_chat_list"], json!([]), "{v}");
        assert_eq!(v["next_cursor"], "");
    }
    for body in [
        r#"{"limit":0}"#,
        r#"{"limit":1001}"#,
        r#"{"status_filter":4,"limit":10}"#,
        r#"{"cursor":"not-a-cursor","limit":10}"#,
        r#"{"cursor":"%%%","limit":10}"#,
    ] {
        let v = api.call(DirectoryApi::CustomerGroupList, body).await;
        assert_eq!(errcode(&v), 40058, "{body}: {v}");
    }
    assert_eq!(
        errcode(&api.call(DirectoryApi::CustomerGroupList, "{}").await),
        47001,
        "limit is required"
    );
    api.stop().await;
}

#[tokio::test]
async fn users_and_external_contacts_are_named() {
    let api = Api::start(config(109, 10)).await;
    let d = api.directory();
    let mut departments = HashSet::new();
    for e in &d.employees {
        let v = api
            .call(DirectoryApi::User, &format!("userid={}", e.userid))
            .await;
        let user: User = serde_json::from_value(v.clone()).expect("shape");
        assert_eq!(user.userid, e.userid);
        assert_eq!(user.name, e.name);
        assert!(is_chinese(&user.name));
        assert_eq!(user.position, e.position);
        assert_eq!(user.status, 1);
        assert_eq!(user.department, vec![e.department_id()]);
        assert_eq!(user.main_department, Some(e.department_id()));
        assert!(e.department_id() >= 2);
        departments.insert((e.department.clone(), e.department_id()));
    }
    let ids: HashSet<i64> = departments.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), departments.len(), "one id per department name");
    for (arg, code) in [("userid=nobody", 60111), ("userid=", 41009), ("", 41009)] {
        assert_eq!(
            errcode(&api.call(DirectoryApi::User, arg).await),
            code,
            "{arg}"
        );
    }

    for c in &d.external_contacts {
        let v = api
            .call(
                DirectoryApi::ExternalContact,
                &format!("external_userid={}", c.external_userid),
            )
            .await;
        let answer: ExternalContactResponse = serde_json::from_value(v.clone()).expect("shape");
        let contact = &answer.external_contact;
        assert_eq!(contact.external_userid, c.external_userid);
        assert_eq!(contact.name, c.name);
        assert!(contact.gender <= 2);
        match c.kind {
            ExternalKind::WeChat => {
                assert_eq!(contact.contact_type, 1);
                assert!(
                    contact
                        .unionid
                        .as_ref()
                        .is_some_and(|u| u.starts_with("oz"))
                );
                assert!(contact.corp_name.is_empty() && contact.corp_full_name.is_empty());
            }
            ExternalKind::WeCom => {
                assert_eq!(contact.contact_type, 2);
                assert_eq!(contact.unionid, None);
                assert_eq!(contact.corp_full_name, c.corp_name);
                assert!(!contact.corp_name.is_empty());
                assert!(c.corp_name.starts_with(&contact.corp_name));
            }
        }
        let follow: Vec<&str> = answer
            .follow_user
            .iter()
            .map(|f| f.userid.as_str())
            .collect();
        assert_eq!(
            follow,
            c.owners.iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert!(
            answer
                .follow_user
                .iter()
                .all(|f| f.remark == format!("{}-客户", c.name))
        );
    }
    // The same unionid on both APIs.
    let g = customer_groups(d)
        .into_iter()
        .find(|g| {
            g.members.iter().any(|m| {
                d.external_contact(m)
                    .is_some_and(|c| c.kind == ExternalKind::WeChat)
            })
        })
        .expect("a group with a WeChat customer");
    let v = api
        .call(
            DirectoryApi::CustomerGroup,
            &json!({"chat_id": g.roomid}).to_string(),
        )
        .await;
    let chat = serde_json::from_value::<CustomerGroupResponse>(v)
        .expect("shape")
        .group_chat;
    let member = chat
        .member_list
        .iter()
        .find(|m| m.unionid.is_some())
        .expect("a WeChat member");
    let v = api
        .call(
            DirectoryApi::ExternalContact,
            &format!("external_userid={}", member.userid),
        )
        .await;
    assert_eq!(
        v["external_contact"]["unionid"].as_str(),
        member.unionid.as_deref()
    );

    for (arg, code) in [
        ("external_userid=wmnope", 84061),
        (
            &*format!("external_userid={}", d.employees[0].userid),
            84061,
        ),
        ("external_userid=", 40058),
    ] {
        assert_eq!(
            errcode(&api.call(DirectoryApi::ExternalContact, arg).await),
            code,
            "{arg}"
        );
    }
    api.stop().await;
}

#[tokio::test]
async fn renames_are_served_by_both_groupchat_apis() {
    let api = Api::start(config(110, 10)).await;
    let em = api.server.emulator.clone();
    let d = api.directory();
    let internal = d.groups.iter().find(|g| !g.external).expect("internal");
    let customer = customer_groups(d)[0];
    assert_eq!(
        em.room_name(&internal.roomid).as_deref(),
        Some(internal.name.as_str())
    );
    assert!(em.rename_room(&internal.roomid, "新名字·内部"));
    assert!(em.rename_room(&customer.roomid, "新名字·客户"));
    assert!(!em.rename_room("wrnope", "x"));
    assert_eq!(em.room_name("wrnope"), None);

    let v = api
        .call(
            DirectoryApi::InternalGroup,
            &json!({"roomid": internal.roomid}).to_string(),
        )
        .await;
    assert_eq!(v["roomname"], "新名字·内部");
    let v = api
        .call(
            DirectoryApi::CustomerGroup,
            &json!({"chat_id": customer.roomid}).to_string(),
        )
        .await;
    assert_eq!(v["group_chat"]["name"], "新名字·客户");
    // The corpus' directory keeps the original names.
    assert_ne!(
        em.directory()
            .group(&internal.roomid)
            .map(|g| g.name.as_str()),
        Some("新名字·内部")
    );

    // Appends rename one resolvable room every RENAME_EVERY records, cycling in directory order.
    let resolvable: Vec<&Group> = d.resolvable_rooms().collect();
    assert_eq!(resolvable.len(), 16);
    em.append(usize::try_from(RENAME_EVERY).expect("small") - 1);
    assert_eq!(
        em.room_name(&resolvable[0].roomid).as_deref(),
        Some("新名字·内部")
    );
    // 199 + 202 = 401 records: two renames.
    em.append(usize::try_from(RENAME_EVERY).expect("small") + 2);
    let first = format!("{}（第2期）", resolvable[0].name);
    let second = format!("{}（第2期）", resolvable[1].name);
    assert_eq!(em.room_name(&resolvable[0].roomid), Some(first.clone()));
    assert_eq!(em.room_name(&resolvable[1].roomid), Some(second));
    assert_eq!(
        em.room_name(&resolvable[2].roomid).as_deref(),
        Some(resolvable[2].name.as_str())
    );
    let v = api
        .call(
            DirectoryApi::InternalGroup,
            &json!({"roomid": resolvable[0].roomid}).to_string(),
        )
        .await;
    assert_eq!(v["roomname"].as_str(), Some(first.as_str()));
    for g in wechat_groups(d) {
        assert_eq!(em.room_name(&g.roomid).as_deref(), Some(g.name.as_str()));
    }
    api.stop().await;
}

#[tokio::test]
async fn live_mode_renames_rooms_while_serving() {
    let mut cfg = config(111, 10);
    cfg.live = Some(wecom_emulator::LiveConfig {
        messages_per_second: 4000.0,
    });
    let api = Api::start(cfg).await;
    let em = api.server.emulator.clone();
    let first = em
        .directory()
        .resolvable_rooms()
        .next()
        .expect("room")
        .clone();
    let renamed = format!("{}（第2期）", first.name);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while em.room_name(&first.roomid).as_deref() != Some(renamed.as_str()) {
        assert!(
            std::time::Instant::now() < deadline,
            "no rename after {} records",
            em.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(em.len() >= 10 + 200);
    let v = api
        .call(
            DirectoryApi::InternalGroup,
            &json!({"roomid": first.roomid}).to_string(),
        )
        .await;
    assert_eq!(v["roomname"].as_str(), Some(renamed.as_str()));
    api.stop().await;
}

#[tokio::test]
async fn injected_faults_hit_the_next_requests_of_their_api() {
    let api = Api::start(config(112, 10)).await;
    let em = api.server.emulator.clone();
    let group = DirectoryApi::InternalGroup;
    let arg = api.valid_arg(group);

    em.inject_api(ApiFaultRule::new(ApiFault::Errcode(45009), 2).for_api(group));
    // Another API is not hit.
    assert_eq!(
        errcode(
            &api.call(DirectoryApi::User, &api.valid_arg(DirectoryApi::User))
                .await
        ),
        0
    );
    assert_eq!(errcode(&api.call(group, &arg).await), 45009);
    assert_eq!(errcode(&api.call(group, &arg).await), 45009);
    assert_eq!(errcode(&api.call(group, &arg).await), 0);

    em.inject_api(ApiFaultRule::new(ApiFault::Errcode(-1), 1));
    let busy = api.call(DirectoryApi::PermitUserList, "{}").await;
    assert_eq!(errcode(&busy), -1);
    assert_eq!(busy["errmsg"], "system busy", "no hint below 40000");

    em.inject_api(ApiFaultRule::new(ApiFault::Http500, 1));
    let response = api
        .send(group, api.token(group), &arg)
        .await
        .expect("answer");
    assert_eq!(response.status(), 500);

    em.inject_api(ApiFaultRule::new(ApiFault::DropConnection, 1));
    assert!(
        api.send(group, api.token(group), &arg).await.is_err(),
        "no response at all"
    );

    em.inject_api(ApiFaultRule::new(ApiFault::MalformedJson, 1));
    let response = api
        .send(group, api.token(group), &arg)
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.expect("body");
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());

    em.inject_api(ApiFaultRule::new(ApiFault::WrongShape, 1));
    let v = api.call(group, &arg).await;
    assert_eq!(v, json!({"errcode": 0, "errmsg": "ok"}));
    assert!(serde_json::from_value::<InternalGroup>(v).is_err());

    em.inject_api(ApiFaultRule::new(
        ApiFault::Delay(Duration::from_millis(200)),
        1,
    ));
    let started = std::time::Instant::now();
    assert_eq!(errcode(&api.call(group, &arg).await), 0);
    assert!(started.elapsed() >= Duration::from_millis(200));

    em.inject_api(ApiFaultRule::new(ApiFault::Errcode(48002), 5));
    em.clear_api_faults();
    assert_eq!(errcode(&api.call(group, &arg).await), 0);

    // Expired tokens: 42001 on every role's API until a new token is fetched.
    em.inject_api(ApiFaultRule::new(ApiFault::ExpireTokens, 3));
    assert_eq!(errcode(&api.call(group, &arg).await), 42001);
    assert_eq!(
        errcode(
            &api.call(DirectoryApi::User, &api.valid_arg(DirectoryApi::User))
                .await
        ),
        42001
    );
    let fresh = token_for(&api.server, em.secret()).await;
    assert_eq!(
        errcode(&api.call_with(group, &fresh, &arg).await),
        0,
        "applies once"
    );

    // The log: every request, its subject, its errcode and fault.
    let log = em.api_requests();
    assert_eq!(
        u64::try_from(log.len()).expect("small"),
        em.api_request_count()
    );
    let roomid = &d_internal(&api).roomid;
    let internal: Vec<&ApiRequestLog> = log.iter().filter(|l| l.api == group).collect();
    assert!(internal.iter().all(|l| &l.subject == roomid));
    let codes: Vec<(i64, Option<ApiFault>)> =
        internal.iter().map(|l| (l.errcode, l.fault)).collect();
    assert_eq!(
        codes,
        vec![
            (45009, Some(ApiFault::Errcode(45009))),
            (45009, Some(ApiFault::Errcode(45009))),
            (0, None),
            (ApiRequestLog::NO_ERRCODE, Some(ApiFault::Http500)),
            (ApiRequestLog::NO_ERRCODE, Some(ApiFault::DropConnection)),
            (ApiRequestLog::NO_ERRCODE, Some(ApiFault::MalformedJson)),
            (0, Some(ApiFault::WrongShape)),
            (0, Some(ApiFault::Delay(Duration::from_millis(200)))),
            (0, None),
            (42001, Some(ApiFault::ExpireTokens)),
            (0, None),
        ]
    );
    assert_eq!(log[0].api, DirectoryApi::User);
    assert_eq!(log[0].subject, api.directory().employees[0].userid);
    api.stop().await;
}

fn d_internal(api: &Api) -> &Group {
    api.directory()
        .groups
        .iter()
        .find(|g| !g.external)
        .expect("internal")
}

#[tokio::test]
async fn the_built_in_rate_limit_answers_45009() {
    let mut cfg = config(113, 10);
    cfg.api_rate_limit_per_minute = Some(3);
    let api = Api::start(cfg).await;
    for _ in 0..3 {
        assert_eq!(
            errcode(&api.call(DirectoryApi::PermitUserList, "{}").await),
            0
        );
    }
    // Every directory API shares the corp's budget.
    let limited = api
        .call(DirectoryApi::User, &api.valid_arg(DirectoryApi::User))
        .await;
    assert_eq!(errcode(&limited), 45009, "{limited}");
    assert_eq!(
        errcode(&api.call(DirectoryApi::PermitUserList, "{}").await),
        45009
    );
    // getchatdata is not a directory API: not limited.
    let token = &api.archive;
    let body = format!(
        r#"{{"seq":0,"limit":10,"version":3,"encrypt_sign":"{}"}}"#,
        encrypt_sign(token)
    );
    let v: Value = api
        .server
        .http
        .post(format!(
            "{}/cgi-bin/message/getchatdata?access_token={token}",
            api.server.base
        ))
        .body(body)
        .send()
        .await
        .expect("getchatdata")
        .json()
        .await
        .expect("json");
    assert_eq!(errcode(&v), 0);
    api.stop().await;
}
