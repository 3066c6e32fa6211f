//! The naming API client against the real emulator: every endpoint, the token per secret, and the
//! errors the issue lists (40050 rooms, 48002 wrong secret, 40001, 42001 refresh, 45009 retry,
//! 60111, 84061, malformed answers).

use std::time::Duration;

use wecom_client::{ApiClient, ApiConfig, ApiErrorKind, RetryPolicy};
use wecom_emulator::{ApiFault, ApiFaultRule, Emulator};
use wecom_wire::directory::{CustomerGroupListRequest, DirectoryApi, OwnerFilter, SecretKind};

use crate::{CORP, SECRET, emulator};

fn config(base: &str, emu: &Emulator) -> ApiConfig {
    let mut c = ApiConfig::new(base, CORP, SECRET);
    c.contacts_secret = emu.contacts_secret().map(str::to_owned);
    c.customer_secret = emu.customer_secret().map(str::to_owned);
    c.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(2),
        max_delay: Duration::from_millis(5),
    };
    c.max_calls_per_second = 10_000.0;
    c
}

#[tokio::test]
async fn every_endpoint_answers_from_the_directory() {
    let (emu, base, _key, stop) = emulator(10).await;
    let api = ApiClient::new(config(&base, &emu)).expect("client");
    let dir = emu.directory().clone();

    let ids = api.permit_user_list(None).await.expect("permit list");
    assert_eq!(ids.len(), dir.employees.len() - 3);
    assert!(ids.iter().all(|id| dir.is_employee(id)));

    let internal = dir
        .groups
        .iter()
        .find(|g| !g.external)
        .expect("internal group");
    let g = api
        .internal_group(&internal.roomid)
        .await
        .expect("internal group");
    assert_eq!(g.roomname, internal.name);
    assert_eq!(g.creator, internal.owner);
    assert_eq!(g.members.len(), internal.members.len());

    let customer = dir
        .groups
        .iter()
        .find(|g| g.external && !g.from_wechat)
        .expect("customer group");
    let c = api
        .customer_group(&customer.roomid)
        .await
        .expect("customer group");
    assert_eq!(c.name, customer.name);
    assert!(c.member_list.iter().any(|m| m.member_type == 2));
    assert!(
        c.member_list.iter().all(|m| !m.name.is_empty()),
        "need_name=1 gives names"
    );

    // Each groupchat API answers 40050 for the other kind of room.
    let e = api
        .internal_group(&customer.roomid)
        .await
        .expect_err("not internal");
    assert_eq!(e.errcode(), Some(40050));
    assert!(!e.retryable);
    let e = api
        .customer_group(&internal.roomid)
        .await
        .expect_err("not a customer group");
    assert_eq!(e.errcode(), Some(40050));
    // A room created from WeChat: neither.
    let wechat = dir
        .groups
        .iter()
        .find(|g| g.from_wechat)
        .expect("wechat room");
    assert_eq!(
        api.internal_group(&wechat.roomid)
            .await
            .expect_err("wechat")
            .errcode(),
        Some(40050)
    );
    assert_eq!(
        api.customer_group(&wechat.roomid)
            .await
            .expect_err("wechat")
            .errcode(),
        Some(40050)
    );

    let all = api.all_customer_groups(10).await.expect("list");
    let expected = dir
        .groups
        .iter()
        .filter(|g| g.external && !g.from_wechat)
        .count();
    assert_eq!(all.len(), expected);
    assert!(!all.contains(&wechat.roomid));
    let page = api
        .customer_group_list(&CustomerGroupListRequest {
            status_filter: 0,
            owner_filter: Some(OwnerFilter {
                userid_list: vec![customer.owner.clone()],
            }),
            cursor: String::new(),
            limit: 1,
        })
        .await
        .expect("filtered list");
    assert_eq!(page.group_chat_list.len(), 1);

    let robot = &dir.robots[0];
    let r = api.robot_info(&robot.robot_id).await.expect("robot");
    assert_eq!(r.name, robot.name);
    assert_eq!(r.creator_userid, robot.creator_userid);

    let employee = &dir.employees[0];
    let u = api.user(&employee.userid).await.expect("user");
    assert_eq!(u.name, employee.name);
    let e = api.user("nobody-here").await.expect_err("unknown user");
    assert_eq!(e.errcode(), Some(60111));

    let contact = &dir.external_contacts[0];
    let x = api
        .external_contact(&contact.external_userid)
        .await
        .expect("external contact");
    assert_eq!(x.external_contact.name, contact.name);
    assert!(!x.follow_user.is_empty());
    let e = api
        .external_contact("wmAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await
        .expect_err("unknown contact");
    assert_eq!(e.errcode(), Some(84061));

    let owner = &contact.owners[0];
    let agree = api
        .check_single_agree(&[(owner.clone(), contact.external_userid.clone())])
        .await
        .expect("single agree");
    assert_eq!(agree.len(), 1);
    assert_eq!(agree[0].userid.as_deref(), Some(owner.as_str()));
    let room_agree = api
        .check_room_agree(&customer.roomid)
        .await
        .expect("room agree");
    let externals = customer
        .members
        .iter()
        .filter(|m| dir.external_contact(m).is_some())
        .count();
    assert_eq!(room_agree.len(), externals);
    stop.cancel();
}

#[tokio::test]
async fn tokens_are_per_secret_and_wrong_secrets_are_told_apart() {
    let (emu, base, _key, stop) = emulator(10).await;
    let dir = emu.directory().clone();
    // The archive secret's token on an externalcontact API: 48002 (the emulator checks roles).
    let mut c = config(&base, &emu);
    c.customer_secret = Some(SECRET.to_owned());
    let api = ApiClient::new(c).expect("client");
    let e = api
        .external_contact(&dir.external_contacts[0].external_userid)
        .await
        .expect_err("wrong role");
    assert_eq!(e.errcode(), Some(48002));
    assert!(!e.retryable);
    assert!(e.message.contains("客户联系"), "{e}");

    // An app secret on msgaudit: 48002.
    let mut c = config(&base, &emu);
    c.archive_secret = emu.app_secret().expect("app secret").to_owned();
    let api = ApiClient::new(c).expect("client");
    let e = api.permit_user_list(None).await.expect_err("app secret");
    assert_eq!(e.errcode(), Some(48002));

    // A secret the corp does not have: 40001 at gettoken, not retried forever.
    let mut c = config(&base, &emu);
    c.contacts_secret = Some("wrong".into());
    let api = ApiClient::new(c).expect("client");
    let e = api
        .user(&dir.employees[0].userid)
        .await
        .expect_err("wrong secret");
    assert_eq!(e.errcode(), Some(40001));
    assert_eq!(e.api, DirectoryApi::User);
    assert!(api.has_secret(SecretKind::Contacts));
    stop.cancel();
}

#[tokio::test]
async fn transient_failures_are_retried_and_tokens_refreshed() {
    let (emu, base, _key, stop) = emulator(10).await;
    let dir = emu.directory().clone();
    let api = ApiClient::new(config(&base, &emu)).expect("client");
    let roomid = dir
        .groups
        .iter()
        .find(|g| !g.external)
        .expect("internal")
        .roomid
        .clone();

    emu.inject_api(ApiFaultRule::new(ApiFault::Errcode(45009), 1));
    emu.inject_api(ApiFaultRule::new(ApiFault::Errcode(-1), 1));
    api.internal_group(&roomid)
        .await
        .expect("retried past 45009 and -1");

    emu.inject_api(ApiFaultRule::new(ApiFault::Http500, 1));
    emu.inject_api(ApiFaultRule::new(ApiFault::DropConnection, 1));
    api.internal_group(&roomid)
        .await
        .expect("retried past 500 and a dropped connection");

    let issued = emu.token_issued_count();
    emu.inject_api(ApiFaultRule::new(ApiFault::ExpireTokens, 1));
    api.internal_group(&roomid)
        .await
        .expect("refreshed after 42001");
    assert_eq!(emu.token_issued_count(), issued + 1);

    // A budget of three attempts ends with the last error, marked retryable.
    emu.inject_api(ApiFaultRule::new(ApiFault::Errcode(45009), 3));
    let e = api.internal_group(&roomid).await.expect_err("gave up");
    assert_eq!(e.errcode(), Some(45009));
    assert!(e.retryable);
    assert!(e.message.contains("gave up after 3 attempts"), "{e}");
    stop.cancel();
}

#[tokio::test]
async fn malformed_answers_are_typed_errors() {
    let (emu, base, _key, stop) = emulator(10).await;
    let dir = emu.directory().clone();
    let api = ApiClient::new(config(&base, &emu)).expect("client");
    let roomid = dir
        .groups
        .iter()
        .find(|g| !g.external)
        .expect("internal")
        .roomid
        .clone();
    emu.inject_api(ApiFaultRule::new(ApiFault::MalformedJson, 1));
    let e = api.internal_group(&roomid).await.expect_err("not json");
    assert_eq!(e.kind, ApiErrorKind::InvalidResponse);
    emu.inject_api(ApiFaultRule::new(ApiFault::WrongShape, 1));
    let e = api.internal_group(&roomid).await.expect_err("wrong shape");
    assert_eq!(e.kind, ApiErrorKind::InvalidResponse);
    // The next call is fine again.
    api.internal_group(&roomid).await.expect("recovered");
    stop.cancel();
}
