//! The accounts and audit-log contract: users (unique names in any case, updates, disabling),
//! password changes signing out everywhere, sessions as recorded, lockout counters, and the
//! hash-chained audit log (appends link, filters, verification).

use super::Make;
use crate::{
    AuditEntry, AuditFilter, AuditOutcome, ChainCheck, GENESIS_HASH, LockPolicy, LoginFailures,
    NewSession, NewUser, Role, Roles, Scope, StoreErrorKind, UserUpdate, chain_hash,
};

const NOW: i64 = 1_700_000_000_000;

fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.to_owned(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash-of-{name}"),
        role,
        corps: vec!["wwA".to_owned(), "wwB".to_owned()],
        scope: Scope {
            userids: vec!["zhangsan".to_owned()],
            departments: vec![2, 7],
        },
    }
}

fn token(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

fn session_for(store: &Roles, user_id: i64, n: u8) {
    store
        .accounts
        .create_session(&NewSession {
            token_sha256: token(n),
            user_id,
            now_ms: NOW,
            expires_at_ms: NOW + 3_600_000,
            address: "127.0.0.1".to_owned(),
        })
        .expect("create session");
}

pub fn users_are_created_listed_and_updated(make: Make<'_>) {
    let store = make();
    let created = store
        .accounts
        .create_user(&new_user("Alice", Role::Reviewer), NOW)
        .expect("create");
    assert_eq!(created.username, "Alice");
    assert_eq!(created.role, Role::Reviewer);
    assert_eq!(created.corps, ["wwA", "wwB"]);
    assert_eq!(created.scope.userids, ["zhangsan"]);
    assert_eq!(created.scope.departments, [2, 7]);
    assert!(!created.disabled);
    assert_eq!(created.created_at_ms, NOW);
    assert_eq!(created.password_changed_at_ms, NOW);
    assert_eq!(created.failed_logins, 0);
    assert_eq!(created.locked_until_ms, None);
    assert!(
        !format!("{created:?}").contains("argon2id"),
        "Debug shows no hash"
    );

    store
        .accounts
        .create_user(&new_user("bob", Role::Admin), NOW)
        .expect("create bob");
    let by_name = store
        .accounts
        .user_by_name("ALICE")
        .expect("by name")
        .expect("found in any case");
    assert_eq!(by_name, created);
    assert_eq!(
        store.accounts.user_by_id(created.id).expect("by id"),
        Some(created.clone())
    );
    assert_eq!(store.accounts.user_by_name("carol").expect("none"), None);
    let names: Vec<String> = store
        .accounts
        .list_users()
        .expect("list")
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["Alice", "bob"]);

    let updated = store
        .accounts
        .update_user(
            "alice",
            &UserUpdate {
                role: Some(Role::Auditor),
                corps: Some(vec!["wwC".to_owned()]),
                scope: Some(Scope::default()),
                disabled: Some(true),
            },
            NOW + 5,
        )
        .expect("update");
    assert_eq!(updated.role, Role::Auditor);
    assert_eq!(updated.corps, ["wwC"]);
    assert_eq!(updated.scope, Scope::default());
    assert!(updated.disabled);
    assert_eq!(updated.updated_at_ms, NOW + 5);
    assert_eq!(
        store.accounts.user_by_name("Alice").expect("reread"),
        Some(updated.clone())
    );
    let enabled = store
        .accounts
        .update_user(
            "Alice",
            &UserUpdate {
                disabled: Some(false),
                ..UserUpdate::default()
            },
            NOW + 6,
        )
        .expect("enable");
    assert!(!enabled.disabled);
    assert_eq!(enabled.role, Role::Auditor, "unset fields are kept");

    let missing = store
        .accounts
        .update_user("carol", &UserUpdate::default(), NOW)
        .expect_err("unknown user");
    assert_eq!(missing.kind(), StoreErrorKind::NotFound, "{missing}");
}

pub fn duplicate_usernames_are_refused_in_any_case(make: Make<'_>) {
    let store = make();
    store
        .accounts
        .create_user(&new_user("alice", Role::Admin), NOW)
        .expect("create");
    for name in ["alice", "ALICE", "aLiCe"] {
        let error = store
            .accounts
            .create_user(&new_user(name, Role::Reviewer), NOW)
            .expect_err("duplicate");
        assert_eq!(
            error.kind(),
            StoreErrorKind::AlreadyExists,
            "{name}: {error}"
        );
    }
    for bad in ["", "has space", "semi;colon", &"x".repeat(65)] {
        let error = store
            .accounts
            .create_user(&new_user(bad, Role::Admin), NOW)
            .expect_err("bad name");
        assert_eq!(
            error.kind(),
            StoreErrorKind::InvalidInput,
            "{bad:?}: {error}"
        );
    }
    assert_eq!(store.accounts.list_users().expect("list").len(), 1);
}

pub fn sessions_round_trip(make: Make<'_>) {
    let store = make();
    let user = store
        .accounts
        .create_user(&new_user("alice", Role::Auditor), NOW)
        .expect("create");
    session_for(&store, user.id, 1);
    let (session, owner) = store
        .accounts
        .session(&token(1))
        .expect("session")
        .expect("found");
    assert_eq!(session.token_sha256, token(1));
    assert_eq!(session.user_id, user.id);
    assert_eq!(session.created_at_ms, NOW);
    assert_eq!(session.last_seen_ms, NOW);
    assert_eq!(session.expires_at_ms, NOW + 3_600_000);
    assert_eq!(session.address, "127.0.0.1");
    assert!(!session.revoked);
    assert_eq!(owner, user);

    assert!(
        store
            .accounts
            .touch_session(&token(1), NOW + 10)
            .expect("touch")
    );
    assert!(
        store
            .accounts
            .touch_session(&token(1), NOW + 5)
            .expect("touch")
    );
    let (session, _) = store
        .accounts
        .session(&token(1))
        .expect("s")
        .expect("found");
    assert_eq!(session.last_seen_ms, NOW + 10, "last_seen never moves back");
    assert!(!store.accounts.touch_session(&token(9), NOW).expect("touch"));
    assert_eq!(store.accounts.session(&token(9)).expect("none"), None);

    assert!(store.accounts.revoke_session(&token(1)).expect("revoke"));
    let (session, _) = store.accounts.session(&token(1)).expect("s").expect("kept");
    assert!(session.revoked, "revoked sessions are still found, marked");
    assert!(!store.accounts.revoke_session(&token(9)).expect("revoke"));

    let raw = store
        .accounts
        .create_session(&NewSession {
            token_sha256: "not-a-hash-but-a-token".to_owned(),
            user_id: user.id,
            now_ms: NOW,
            expires_at_ms: NOW + 1,
            address: String::new(),
        })
        .expect_err("a token is not stored");
    assert_eq!(raw.kind(), StoreErrorKind::InvalidInput, "{raw}");
    let orphan = store
        .accounts
        .create_session(&NewSession {
            token_sha256: token(3),
            user_id: user.id + 1000,
            now_ms: NOW,
            expires_at_ms: NOW + 1,
            address: String::new(),
        })
        .expect_err("unknown user");
    assert_eq!(orphan.kind(), StoreErrorKind::Conflict, "{orphan}");
}

pub fn a_password_change_signs_out_everywhere(make: Make<'_>) {
    let store = make();
    let alice = store
        .accounts
        .create_user(&new_user("alice", Role::Admin), NOW)
        .expect("alice");
    let bob = store
        .accounts
        .create_user(&new_user("bob", Role::Admin), NOW)
        .expect("bob");
    session_for(&store, alice.id, 1);
    session_for(&store, alice.id, 2);
    session_for(&store, bob.id, 3);
    let revoked = store
        .accounts
        .set_password("ALICE", "$argon2id$new", NOW + 100)
        .expect("set password");
    assert_eq!(revoked, 2);
    for n in [1, 2] {
        let (s, user) = store.accounts.session(&token(n)).expect("s").expect("kept");
        assert!(s.revoked, "alice's session {n} revoked");
        assert_eq!(user.password_hash, "$argon2id$new");
        assert_eq!(user.password_changed_at_ms, NOW + 100);
    }
    let (s, _) = store.accounts.session(&token(3)).expect("s").expect("kept");
    assert!(!s.revoked, "bob's session untouched");

    // Disabling revokes too; revoke_user_sessions counts only live ones.
    session_for(&store, alice.id, 4);
    assert_eq!(
        store
            .accounts
            .revoke_user_sessions(alice.id)
            .expect("revoke"),
        1
    );
    assert_eq!(
        store
            .accounts
            .revoke_user_sessions(alice.id)
            .expect("revoke"),
        0
    );
    store
        .accounts
        .update_user(
            "bob",
            &UserUpdate {
                disabled: Some(true),
                ..UserUpdate::default()
            },
            NOW,
        )
        .expect("disable");
    let (s, _) = store.accounts.session(&token(3)).expect("s").expect("kept");
    assert!(s.revoked, "disabling bob revoked his session");

    let missing = store
        .accounts
        .set_password("carol", "$argon2id$x", NOW)
        .expect_err("unknown");
    assert_eq!(missing.kind(), StoreErrorKind::NotFound, "{missing}");
}

pub fn failed_sign_ins_lock_and_success_resets(make: Make<'_>) {
    let store = make();
    let user = store
        .accounts
        .create_user(&new_user("alice", Role::Reviewer), NOW)
        .expect("create");
    let policy = LockPolicy {
        max_failures: 3,
        lock_ms: 60_000,
    };
    let fail = |now: i64| {
        store
            .accounts
            .record_login_failure("Alice", now, &policy)
            .expect("record")
    };
    assert_eq!(
        fail(NOW),
        Some(LoginFailures {
            failed_logins: 1,
            locked_until_ms: None
        })
    );
    assert_eq!(fail(NOW + 1).map(|f| f.failed_logins), Some(2));
    assert_eq!(
        fail(NOW + 2),
        Some(LoginFailures {
            failed_logins: 3,
            locked_until_ms: Some(NOW + 2 + 60_000)
        })
    );
    let locked = store
        .accounts
        .user_by_name("alice")
        .expect("read")
        .expect("found");
    assert_eq!(locked.failed_logins, 3);
    assert!(locked.is_locked(NOW + 3));
    assert!(!locked.is_locked(NOW + 2 + 60_000));
    assert_eq!(
        fail(NOW + 10).map(|f| f.locked_until_ms),
        Some(Some(NOW + 10 + 60_000)),
        "each failure from the limit on locks again"
    );
    assert_eq!(
        store
            .accounts
            .record_login_failure("nobody", NOW, &policy)
            .expect("unknown"),
        None
    );

    store
        .accounts
        .record_login_success(user.id, NOW + 100_000)
        .expect("success");
    let reset = store
        .accounts
        .user_by_id(user.id)
        .expect("read")
        .expect("found");
    assert_eq!(reset.failed_logins, 0);
    assert_eq!(reset.locked_until_ms, None);
}

fn entry(at: i64, user: &str, action: &str, outcome: AuditOutcome) -> AuditEntry {
    AuditEntry {
        at_ms: at,
        username: user.to_owned(),
        address: "10.0.0.1".to_owned(),
        action: action.to_owned(),
        corp_id: "wwA".to_owned(),
        target: "room:wr1".to_owned(),
        detail: r#"{"query":"退款 \"x\""}"#.to_owned(),
        outcome,
    }
}

pub fn audit_appends_form_a_hash_chain(make: Make<'_>) {
    let store = make();
    assert_eq!(
        store.audit.verify().expect("verify empty"),
        ChainCheck::Intact {
            entries: 0,
            head_hash: GENESIS_HASH.to_owned()
        }
    );
    let mut prev = GENESIS_HASH.to_owned();
    let mut appended = Vec::new();
    for i in 0..5_i64 {
        let e = entry(NOW + i, "alice", "search", AuditOutcome::Ok);
        let record = store.audit.append(&e).expect("append");
        assert_eq!(record.seq, u64::try_from(i + 1).expect("seq"));
        assert_eq!(record.prev_hash, prev, "each entry links to the one before");
        assert_eq!(record.hash, chain_hash(&prev, record.seq, &e));
        assert_eq!(record.entry, e);
        prev.clone_from(&record.hash);
        appended.push(record);
    }
    assert_eq!(
        store.audit.list(&AuditFilter::default()).expect("list"),
        appended
    );
    assert_eq!(
        store.audit.verify().expect("verify"),
        ChainCheck::Intact {
            entries: 5,
            head_hash: prev.clone()
        }
    );

    let bad = store
        .audit
        .append(&AuditEntry {
            detail: "not json".to_owned(),
            ..entry(NOW, "alice", "search", AuditOutcome::Ok)
        })
        .expect_err("detail must be JSON");
    assert_eq!(bad.kind(), StoreErrorKind::InvalidInput, "{bad}");
    assert_eq!(
        store
            .audit
            .list(&AuditFilter::default())
            .expect("list")
            .len(),
        5,
        "nothing appended"
    );

    // A batch continues the chain in order, in one go; a batch with one bad entry appends none.
    let batch: Vec<AuditEntry> = (0..3_i64)
        .map(|i| entry(NOW + 10 + i, "bob", "conversation.open", AuditOutcome::Ok))
        .collect();
    let records = store.audit.append_all(&batch).expect("append a batch");
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [6, 7, 8]);
    assert_eq!(records[0].prev_hash, prev);
    for (r, e) in records.iter().zip(&batch) {
        assert_eq!(&r.entry, e);
        assert_eq!(r.hash, chain_hash(&r.prev_hash, r.seq, e));
    }
    assert_eq!(records[1].prev_hash, records[0].hash);
    let mut with_bad = batch.clone();
    with_bad[1].action = String::new();
    let bad = store
        .audit
        .append_all(&with_bad)
        .expect_err("an empty action");
    assert_eq!(bad.kind(), StoreErrorKind::InvalidInput, "{bad}");
    assert!(matches!(
        store.audit.verify().expect("verify"),
        ChainCheck::Intact { entries: 8, .. }
    ));
}

pub fn audit_lists_filter_by_user_action_and_time(make: Make<'_>) {
    let store = make();
    let entries = [
        entry(NOW, "alice", "session.create", AuditOutcome::Ok),
        entry(NOW + 10, "", "session.create", AuditOutcome::Denied),
        entry(NOW + 20, "Bob", "message.raw", AuditOutcome::Ok),
        entry(NOW + 30, "alice", "message.raw", AuditOutcome::Failed),
        entry(NOW + 40, "bob", "search", AuditOutcome::Ok),
    ];
    for e in &entries {
        store.audit.append(e).expect("append");
    }
    let seqs = |filter: AuditFilter| -> Vec<u64> {
        store
            .audit
            .list(&filter)
            .expect("list")
            .into_iter()
            .map(|r| r.seq)
            .collect()
    };
    assert_eq!(
        seqs(AuditFilter {
            username: Some("BOB".to_owned()),
            ..AuditFilter::default()
        }),
        [3, 5],
        "user in any case"
    );
    assert_eq!(
        seqs(AuditFilter {
            action: Some("message.raw".to_owned()),
            ..AuditFilter::default()
        }),
        [3, 4]
    );
    assert_eq!(
        seqs(AuditFilter {
            since_ms: Some(NOW + 10),
            until_ms: Some(NOW + 30),
            ..AuditFilter::default()
        }),
        [2, 3],
        "since inclusive, until exclusive"
    );
    assert_eq!(
        seqs(AuditFilter {
            after_seq: 2,
            limit: 2,
            ..AuditFilter::default()
        }),
        [3, 4]
    );
    assert_eq!(
        seqs(AuditFilter {
            username: Some("alice".to_owned()),
            action: Some("message.raw".to_owned()),
            ..AuditFilter::default()
        }),
        [4]
    );
    let listed = store.audit.list(&AuditFilter::default()).expect("list");
    let back: Vec<AuditEntry> = listed.into_iter().map(|r| r.entry).collect();
    assert_eq!(back, entries, "every field round-trips");
    assert!(matches!(
        store.audit.verify().expect("verify"),
        ChainCheck::Intact { entries: 5, .. }
    ));
}
