//! The name resolver against a real emulator on a loopback port and a real SQLite archive synced
//! from it: every room and person named or marked, renames kept, unresolvable rooms left alone,
//! and every failure the issue lists (missing secrets, 48002, API down, 45009, malformed answers,
//! expired tokens).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use wecom_client::{ApiClient, ApiConfig, ClientConfig, NativeClient, RetryPolicy};
use wecom_crypto::{KeyRing, PrivateKey};
use wecom_emulator::{ApiFault, ApiFaultRule, CorpusSpec, Emulator, EmulatorConfig};
use wecom_names::{NameOptions, NameReport, NameResolver};
use wecom_store::names::{ConsentStatus, ConsentSubject, NameState, PartyKind, RoomKind};
use wecom_store::{ArchiveReader, Roles, SqliteStore};
use wecom_sync::{SyncOptions, sync_until_caught_up};
use wecom_wire::directory::DirectoryApi;

const CORP: &str = "wwnamestest000001";

struct Setup {
    emulator: Emulator,
    base: String,
    store: Roles,
    _dir: TempDir,
    stop: CancellationToken,
}

impl Drop for Setup {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// An emulator with a synced archive of `messages` records.
async fn setup(messages: usize, tweak: impl FnOnce(&mut EmulatorConfig)) -> Setup {
    let key = PrivateKey::generate_rsa2048().expect("keygen");
    let mut config = EmulatorConfig::new(
        CorpusSpec {
            corp_id: CORP.into(),
            ..CorpusSpec::new(7, messages)
        },
        [(1u32, key.public_key())].into_iter().collect(),
    );
    config.corp_id = CORP.into();
    tweak(&mut config);
    let emulator = Emulator::new(config).expect("emulator");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let stop = CancellationToken::new();
    tokio::spawn(wecom_emulator::serve(
        emulator.clone(),
        listener,
        stop.clone().cancelled_owned(),
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Arc::new(SqliteStore::open(&dir.path().join("archive.db")).expect("archive")).roles();
    let mut ring = KeyRing::new();
    ring.insert(1, key);
    let client =
        NativeClient::new(ClientConfig::new(&base, CORP, emulator.secret())).expect("client");
    sync_until_caught_up(
        &client,
        store.writer.clone(),
        Arc::new(ring),
        &SyncOptions::new(CORP),
        &CancellationToken::new(),
        &|_| {},
    )
    .await
    .expect("sync");
    Setup {
        emulator,
        base,
        store,
        _dir: dir,
        stop,
    }
}

impl Setup {
    /// An API client with every secret, fast retries and no pacing.
    fn api(&self) -> ApiConfig {
        let mut c = ApiConfig::new(&self.base, CORP, self.emulator.secret());
        c.contacts_secret = self.emulator.contacts_secret().map(str::to_owned);
        c.customer_secret = self.emulator.customer_secret().map(str::to_owned);
        c.retry = RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(5),
        };
        c.max_calls_per_second = 10_000.0;
        c
    }

    fn resolver(&self, api: ApiConfig, tweak: impl FnOnce(&mut NameOptions)) -> NameResolver {
        let mut opts = NameOptions::new(CORP);
        opts.retry_base = Duration::from_millis(1);
        opts.max_backoff = Duration::from_millis(2);
        tweak(&mut opts);
        NameResolver::new(
            self.store.directory.clone(),
            self.store.reader.clone(),
            Arc::new(ApiClient::new(api).expect("api client")),
            opts,
        )
    }

    fn with_store<T>(&self, f: impl FnOnce(&dyn ArchiveReader) -> T) -> T {
        f(&*self.store.reader)
    }

    /// The roomids and the people ids of the synced records.
    fn ids(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let mut rooms = BTreeSet::new();
        let mut people = BTreeSet::new();
        for r in self.emulator.records() {
            let clean = wecom_model::escape_control_chars(r.plaintext.as_bytes());
            let v: serde_json::Value = serde_json::from_slice(&clean).expect("json");
            if let Some(room) = v["roomid"].as_str().filter(|s| !s.is_empty()) {
                rooms.insert(room.to_owned());
            }
            for id in std::iter::once(&v["from"])
                .chain(v["tolist"].as_array().into_iter().flatten())
                .filter_map(|x| x.as_str())
                .filter(|s| !s.is_empty())
            {
                people.insert(id.to_owned());
            }
            // Switch records name their user in `user`.
            if let Some(user) = v["user"].as_str().filter(|s| !s.is_empty()) {
                people.insert(user.to_owned());
            }
        }
        for room in &rooms {
            people.remove(room);
        }
        (rooms, people)
    }
}

async fn pass(r: &NameResolver) -> NameReport {
    r.pass(&CancellationToken::new()).await.expect("pass")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_room_and_person_is_named_or_marked_unresolvable() {
    let s = setup(1500, |_| {}).await;
    let resolver = s.resolver(s.api(), |_| {});
    let report = pass(&resolver).await;
    assert!(!report.rate_limited);
    assert!(report.disabled.is_empty(), "{:?}", report.disabled);
    let (rooms, people) = s.ids();
    let dir = s.emulator.directory().clone();
    let wechat: BTreeSet<&str> = dir
        .groups
        .iter()
        .filter(|g| g.from_wechat)
        .map(|g| g.roomid.as_str())
        .collect();
    let stats = s.with_store(|st| st.name_stats(CORP)).expect("stats");
    assert_eq!(stats.rooms_total, rooms.len() as u64);
    let expected_unresolvable = rooms.iter().filter(|r| wechat.contains(r.as_str())).count() as u64;
    assert!(
        expected_unresolvable > 0,
        "the corpus has WeChat-initiated rooms in use"
    );
    assert_eq!(stats.rooms_unresolvable, expected_unresolvable);
    assert_eq!(
        stats.rooms_named,
        rooms.len() as u64 - expected_unresolvable
    );
    assert_eq!(stats.rooms_unchecked, 0);
    assert_eq!(stats.people_total, people.len() as u64);
    assert_eq!(stats.people_named, people.len() as u64, "{stats:?}");
    assert_eq!(stats.people_unchecked, 0);

    for roomid in &rooms {
        let detail = s
            .with_store(|st| st.room(CORP, roomid))
            .expect("room")
            .expect("known room");
        let group = dir
            .groups
            .iter()
            .find(|g| &g.roomid == roomid)
            .expect("room of the directory");
        if group.from_wechat {
            assert_eq!(detail.entry.state, NameState::Unresolvable);
            assert_eq!(detail.entry.errcode, Some(40050));
            assert!(detail.entry.name.is_none());
            continue;
        }
        assert_eq!(detail.entry.state, NameState::Named);
        assert_eq!(detail.entry.name.as_deref(), Some(group.name.as_str()));
        assert_eq!(
            detail.entry.kind,
            Some(if group.external {
                RoomKind::Customer
            } else {
                RoomKind::Internal
            })
        );
        let members: BTreeSet<&str> = detail.members.iter().map(|m| m.id.as_str()).collect();
        let expected: BTreeSet<&str> = group.members.iter().map(String::as_str).collect();
        assert_eq!(members, expected, "members of {}", group.name);
        assert_eq!(detail.history.len(), 1);
    }
    for id in &people {
        let p = s
            .with_store(|st| st.person(CORP, id))
            .expect("person")
            .expect("known person");
        assert_eq!(p.state, NameState::Named, "{id}");
        assert_eq!(p.name.as_deref(), dir.name_of(id), "{id}");
        assert_eq!(Some(p.kind), PartyKind::of(id));
        // Employees get the department user/get reports; nobody else has one.
        match dir.employee(id) {
            Some(e) => assert_eq!(
                p.departments,
                vec![u64::try_from(e.department_id()).expect("a department id")],
                "{id}"
            ),
            None => assert!(p.departments.is_empty(), "{id}"),
        }
    }

    // The customer-group list told which rooms are customer groups: none was asked about as an
    // internal group first.
    let customer: BTreeSet<&str> = dir
        .groups
        .iter()
        .filter(|g| g.external && !g.from_wechat)
        .map(|g| g.roomid.as_str())
        .collect();
    let requests = s.emulator.api_requests();
    assert!(
        requests
            .iter()
            .any(|r| r.api == DirectoryApi::CustomerGroupList)
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.api == DirectoryApi::InternalGroup && customer.contains(r.subject.as_str())),
        "customer rooms go straight to the customer-group API"
    );

    // Scope: everyone but the directory's last three employees.
    let permit = s.with_store(|st| st.permit_users(CORP)).expect("permit");
    assert_eq!(permit.len(), dir.employees.len() - 3);
    assert!(permit.iter().all(|u| u.in_scope));
    assert_eq!(stats.permit_users, permit.len() as u64);

    // Consent: one status per checked pair, matching the emulator's rule.
    assert!(report.consent_subjects_checked > 0);
    assert!(stats.consent_agree > 0);
    for contact in &dir.external_contacts {
        for c in s
            .with_store(|st| st.consents(CORP, &contact.external_userid))
            .expect("consents")
        {
            assert_eq!(c.external_userid, contact.external_userid);
            let idx = dir
                .external_contacts
                .iter()
                .position(|x| x.external_userid == contact.external_userid)
                .expect("index");
            let expected = if idx % 7 == 3 {
                ConsentStatus::Disagree
            } else {
                ConsentStatus::Agree
            };
            assert_eq!(c.status, expected, "{}", contact.name);
            assert!(matches!(
                c.subject,
                ConsentSubject::Pair { .. } | ConsentSubject::Room { .. }
            ));
        }
    }

    // Display names: the person's own name first.
    let some_external = people
        .iter()
        .find(|id| PartyKind::of(id) == Some(PartyKind::External))
        .expect("an external id")
        .clone();
    let shown = s
        .with_store(|st| st.display_names(CORP, std::slice::from_ref(&some_external), None))
        .expect("display");
    assert_eq!(Some(shown[0].text.as_str()), dir.name_of(&some_external));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_pass_asks_nothing_and_unresolvable_rooms_are_not_hammered() {
    let s = setup(800, |_| {}).await;
    let resolver = s.resolver(s.api(), |_| {});
    pass(&resolver).await;
    let before = s.emulator.api_request_count();
    let again = pass(&resolver).await;
    assert_eq!(
        s.emulator.api_request_count(),
        before,
        "nothing is due: {again:?}"
    );
    assert_eq!(again.rooms_named + again.rooms_unresolvable, 0);
    // The unresolvable rooms were asked about exactly once per API.
    let wechat: BTreeSet<String> = s
        .emulator
        .directory()
        .groups
        .iter()
        .filter(|g| g.from_wechat)
        .map(|g| g.roomid.clone())
        .collect();
    let mut asked: BTreeMap<(DirectoryApi, String), usize> = BTreeMap::new();
    for r in s.emulator.api_requests() {
        if wechat.contains(&r.subject) {
            *asked.entry((r.api, r.subject.clone())).or_default() += 1;
        }
    }
    assert!(!asked.is_empty());
    for ((api, _), n) in asked {
        assert!(
            matches!(
                api,
                DirectoryApi::InternalGroup
                    | DirectoryApi::CustomerGroup
                    | DirectoryApi::CheckRoomAgree
            ),
            "{api:?}"
        );
        assert_eq!(n, 1, "{api:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renames_are_recorded_as_history_on_refresh() {
    let s = setup(800, |_| {}).await;
    // Named entries are due again at once, as if the refresh interval had passed.
    let resolver = s.resolver(s.api(), |o| o.refresh_named = Duration::ZERO);
    pass(&resolver).await;
    let (rooms, _) = s.ids();
    let dir = s.emulator.directory().clone();
    let internal = dir
        .groups
        .iter()
        .find(|g| !g.external && rooms.contains(&g.roomid))
        .expect("an internal room in use");
    let customer = dir
        .groups
        .iter()
        .find(|g| g.external && !g.from_wechat && rooms.contains(&g.roomid))
        .expect("a customer room in use");
    assert!(s.emulator.rename_room(&internal.roomid, "改名后的内部群"));
    assert!(s.emulator.rename_room(&customer.roomid, "改名后的客户群"));
    tokio::time::sleep(Duration::from_millis(5)).await;
    pass(&resolver).await;
    for (group, new) in [(internal, "改名后的内部群"), (customer, "改名后的客户群")] {
        let detail = s
            .with_store(|st| st.room(CORP, &group.roomid))
            .expect("room")
            .expect("known");
        assert_eq!(detail.entry.name.as_deref(), Some(new));
        let names: Vec<&str> = detail.history.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, vec![group.name.as_str(), new]);
    }
    // An unchanged refresh adds no history.
    tokio::time::sleep(Duration::from_millis(5)).await;
    pass(&resolver).await;
    let detail = s
        .with_store(|st| st.room(CORP, &internal.roomid))
        .expect("room")
        .expect("known");
    assert_eq!(detail.history.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_optional_secrets_degrade_to_what_the_archive_secret_can_name() {
    let s = setup(800, |_| {}).await;
    let mut api = s.api();
    api.contacts_secret = None;
    api.customer_secret = None;
    let resolver = s.resolver(api, |_| {});
    let report = pass(&resolver).await;
    assert!(!report.rate_limited);
    let dir = s.emulator.directory().clone();
    let (rooms, people) = s.ids();
    for roomid in &rooms {
        let room = s
            .with_store(|st| st.room(CORP, roomid))
            .expect("room")
            .expect("known")
            .entry;
        let group = dir
            .groups
            .iter()
            .find(|g| &g.roomid == roomid)
            .expect("group");
        if group.external {
            assert_eq!(room.state, NameState::Unresolvable, "{}", group.name);
            assert!(room.name.is_none());
        } else {
            assert_eq!(room.state, NameState::Named);
            assert_eq!(room.name.as_deref(), Some(group.name.as_str()));
        }
    }
    for id in &people {
        let p = s
            .with_store(|st| st.person(CORP, id))
            .expect("person")
            .expect("known");
        if p.kind == PartyKind::Robot {
            assert_eq!(
                p.state,
                NameState::Named,
                "robots need only the archive secret"
            );
        } else {
            assert_eq!(p.state, NameState::Unresolvable, "{id}");
            assert!(p.error.is_some());
        }
    }
    // No API was called without its secret.
    for r in s.emulator.api_requests() {
        assert_eq!(
            r.api.secret(),
            wecom_wire::directory::SecretKind::Archive,
            "{r:?}"
        );
    }
    // Scope and consent need only the archive secret.
    let stats = s.with_store(|st| st.name_stats(CORP)).expect("stats");
    assert!(stats.permit_users > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_secret_is_refused_with_48002_and_the_api_is_switched_off() {
    let s = setup(600, |_| {}).await;
    let mut api = s.api();
    api.archive_secret = s.emulator.app_secret().expect("app secret").to_owned();
    let resolver = s.resolver(api, |_| {});
    let report = pass(&resolver).await;
    assert!(
        report
            .disabled
            .contains(&DirectoryApi::InternalGroup.name()),
        "{report:?}"
    );
    // One 48002 per archive-secret API, then no more calls to it.
    let forbidden: Vec<_> = s
        .emulator
        .api_requests()
        .into_iter()
        .filter(|r| r.errcode == 48002)
        .collect();
    let mut per_api: BTreeMap<DirectoryApi, usize> = BTreeMap::new();
    for r in &forbidden {
        *per_api.entry(r.api).or_default() += 1;
    }
    assert!(per_api.values().all(|n| *n == 1), "{per_api:?}");
    // Customer groups and people are still named with their own secrets.
    let stats = s.with_store(|st| st.name_stats(CORP)).expect("stats");
    assert!(stats.rooms_named > 0);
    assert!(stats.people_named > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_down_leaves_names_for_later_and_they_fill_in() {
    let s = setup(600, |_| {}).await;
    // Every directory request fails with HTTP 500 for a while.
    s.emulator
        .inject_api(ApiFaultRule::new(ApiFault::Http500, 100_000));
    let resolver = s.resolver(s.api(), |_| {});
    let report = pass(&resolver).await;
    // The customer-group list fails (2 attempts), three rooms fail in a row on the server (2
    // attempts each), then the pass stops instead of trying every id.
    assert!(report.unreachable, "{report:?}");
    assert_eq!(report.rooms_failed, 3, "{report:?}");
    assert_eq!(
        report.people_failed + report.rooms_named + report.people_named,
        0
    );
    assert!(
        s.emulator.api_request_count() <= 8,
        "1 list + 3 ids, 2 attempts each at most, got {}",
        s.emulator.api_request_count()
    );
    let stats = s.with_store(|st| st.name_stats(CORP)).expect("stats");
    assert_eq!(stats.rooms_named, 0);
    assert_eq!(stats.rooms_unchecked, stats.rooms_total);
    let failed: Vec<_> = s
        .with_store(|st| st.rooms(CORP, 1000, 0))
        .expect("rooms")
        .into_iter()
        .filter(|r| r.state == NameState::Failed)
        .collect();
    assert_eq!(failed.len(), 3);
    assert!(failed.iter().all(|r| r.attempts == 1 && r.error.is_some()));

    s.emulator.clear_api_faults();
    tokio::time::sleep(Duration::from_millis(10)).await;
    pass(&resolver).await;
    let stats = s.with_store(|st| st.name_stats(CORP)).expect("stats");
    assert_eq!(stats.rooms_unchecked, 0, "{stats:?}");
    assert_eq!(stats.people_unchecked, 0, "{stats:?}");
    assert!(stats.rooms_named > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_ends_the_pass_and_the_rest_follows() {
    let s = setup(600, |_| {}).await;
    s.emulator
        .inject_api(ApiFaultRule::new(ApiFault::Errcode(45009), 1000));
    let resolver = s.resolver(s.api(), |_| {});
    let report = pass(&resolver).await;
    assert!(report.rate_limited);
    // The client retries once (2 attempts), then the pass stops: nothing is hammered.
    assert!(
        s.emulator.api_request_count() <= 4,
        "{}",
        s.emulator.api_request_count()
    );
    s.emulator.clear_api_faults();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let report = pass(&resolver).await;
    assert!(!report.rate_limited);
    let stats = s.with_store(|st| st.name_stats(CORP)).expect("stats");
    assert_eq!(
        stats.rooms_unchecked + stats.people_unchecked,
        0,
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_rate_limit_is_respected_over_passes() {
    let s = setup(600, |c| c.api_rate_limit_per_minute = Some(20)).await;
    let resolver = s.resolver(s.api(), |_| {});
    let report = pass(&resolver).await;
    assert!(report.rate_limited, "{report:?}");
    let stats = s.with_store(|st| st.name_stats(CORP)).expect("stats");
    assert!(stats.rooms_named + stats.people_named > 0);
    assert!(stats.rooms_unchecked + stats.people_unchecked > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_answers_store_nothing() {
    let s = setup(600, |_| {}).await;
    s.emulator.inject_api(
        ApiFaultRule::new(ApiFault::MalformedJson, 100_000).for_api(DirectoryApi::InternalGroup),
    );
    s.emulator.inject_api(
        ApiFaultRule::new(ApiFault::WrongShape, 100_000).for_api(DirectoryApi::CustomerGroup),
    );
    let resolver = s.resolver(s.api(), |_| {});
    let report = pass(&resolver).await;
    assert_eq!(report.rooms_named, 0, "{report:?}");
    let rooms = s.with_store(|st| st.rooms(CORP, 1000, 0)).expect("rooms");
    assert!(!rooms.is_empty());
    for r in rooms {
        assert_eq!(r.state, NameState::Failed, "{r:?}");
        assert!(r.name.is_none());
        assert_eq!(r.member_count, 0);
        assert!(
            r.error.as_deref().is_some_and(|e| e.contains("shape")),
            "{r:?}"
        );
    }
    // People are unaffected.
    let stats = s.with_store(|st| st.name_stats(CORP)).expect("stats");
    assert!(stats.people_named > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refreshed_without_losing_a_name() {
    let s = setup(600, |_| {}).await;
    let resolver = s.resolver(s.api(), |_| {});
    s.emulator
        .inject_api(ApiFaultRule::new(ApiFault::ExpireTokens, 3));
    pass(&resolver).await;
    let stats = s.with_store(|st| st.name_stats(CORP)).expect("stats");
    assert_eq!(
        stats.rooms_unchecked + stats.people_unchecked,
        0,
        "{stats:?}"
    );
    assert!(stats.rooms_named > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_archive_secret_names_nothing_and_says_so() {
    let s = setup(600, |_| {}).await;
    let mut api = s.api();
    api.archive_secret = "not-the-secret".into();
    let resolver = s.resolver(api, |_| {});
    let report = pass(&resolver).await;
    assert!(
        report
            .disabled
            .contains(&DirectoryApi::InternalGroup.name()),
        "{report:?}"
    );
    // Customer groups still resolve with their own (right) secret.
    let stats = s.with_store(|st| st.name_stats(CORP)).expect("stats");
    assert!(stats.rooms_named > 0);
    assert_eq!(stats.permit_users, 0);
}
