//! The behavioural contract of the store's roles ([`crate::ArchiveWriter`],
//! [`crate::ArchiveReader`], [`crate::MediaQueue`], [`crate::Directory`], [`crate::Accounts`],
//! [`crate::AuditLog`]), as checks every
//! implementation must pass. Enable the `conformance` feature and invoke
//! [`conformance_suite!`](crate::conformance_suite) once in a test module of the backend: it
//! generates one `#[test]` per check.
//!
//! Checks go through the traits only, so they hold for any backend; backend-specific behaviour
//! (file errors, migrations, pragmas) is tested beside the backend.

mod accounts;
mod media;
mod names;
mod read_side;

use std::collections::BTreeMap;

pub use accounts::{
    a_password_change_signs_out_everywhere, audit_appends_form_a_hash_chain,
    audit_lists_filter_by_user_action_and_time, duplicate_usernames_are_refused_in_any_case,
    failed_sign_ins_lock_and_success_resets, sessions_round_trip,
    users_are_created_listed_and_updated,
};
pub use media::image as media_image;
pub use media::{
    claims_take_due_jobs_oldest_message_first, claims_take_jobs_at_risk_first,
    expiry_only_on_wecom_word_and_retries, interrupted_jobs_are_queued_again,
    jobs_are_all_or_nothing, jobs_are_created_with_their_messages, media_queues_are_per_corp,
    queue_survives_a_reopen, resolved_failures_get_their_jobs,
    results_are_recorded_against_their_claim,
};
pub use names::{
    a_roomid_is_never_a_person, consent_statuses_are_replaced_per_subject,
    consent_subjects_are_due_in_order, discover_step, discovery_finds_rooms_and_people,
    discovery_works_in_batches, display_names_take_the_best_source,
    due_entries_never_checked_first, name_stats_count_every_state, names_are_per_corp,
    rechecking_makes_entries_due_now, recorded_person_checks_follow_the_state_rules,
    recorded_room_checks_follow_the_state_rules, rooms_and_people_are_listed_by_name,
    the_permit_list_is_kept_with_its_history,
};

pub use read_side::{
    EXT, ROBOT, conversations_are_filtered_by_participant_room_and_activity,
    media_is_found_by_content_and_by_message, members_are_found_by_department,
    paging_backwards_through_a_conversation, participants_and_the_external_flag_follow_every_page,
    who_a_conversation_involves,
};

use wecom_model::{Action, Envelope, parse_envelope};
use wecom_wire::ChatDataItem;

use crate::{
    CommitStats, ConversationSummary, Derived, FailedRecord, Failure, IngestedRecord, Outcome,
    PageCommit, QUOTE_WINDOW_MS, ResolveStats, Roles, Stats, StoredMessage, stage,
};

/// The corp most checks use.
pub const CORP: &str = "wwconformance0001";

/// A fresh, empty archive by role.
pub type Make<'a> = &'a mut dyn FnMut() -> Fixture;

/// An archive with a way to make it fail: `fail_on(msgid)` must make every later attempt to store
/// the decrypted message of `msgid` fail inside the backend, as a full disk or a dropped
/// connection would — in SQL backends, a trigger.
pub type Faulty = (Fixture, Box<dyn Fn(&str)>);

/// An archive under test: its roles, and whatever must live as long as they do (a temporary
/// folder holding its files).
pub struct Fixture {
    roles: Roles,
    _keep: Option<Box<dyn std::any::Any>>,
}

impl Fixture {
    /// `roles`, keeping `keep` alive until the fixture is dropped.
    pub fn keeping(roles: Roles, keep: impl std::any::Any) -> Fixture {
        Fixture {
            roles,
            _keep: Some(Box::new(keep)),
        }
    }
}

impl From<Roles> for Fixture {
    fn from(roles: Roles) -> Fixture {
        Fixture { roles, _keep: None }
    }
}

impl std::ops::Deref for Fixture {
    type Target = Roles;
    fn deref(&self) -> &Roles {
        &self.roles
    }
}

/// Generates the whole conformance suite for a backend: one `#[test]` per check, named after it,
/// so a failure names its check.
///
/// ```ignore
/// wecom_store::conformance_suite! {
///     // A fresh, empty archive by role, for each check.
///     fresh: || my_backend_roles(),
///     // A fresh archive with a fault injector (see [`Faulty`]).
///     faulty: || my_backend_with_fault_injection(),
///     // The same database on each call (empty on the first): durability across reopen.
///     reopen: |n: u32| my_backend_on("one-db"),
/// }
/// ```
/// Each closure returns [`Roles`] or a [`Fixture`]. `reopen` receives the number of the reopen
/// test (so each test can use its own database) and is called again for every reopen within it
/// with the same number.
#[macro_export]
macro_rules! conformance_suite {
    (fresh: $fresh:expr, faulty: $faulty:expr, reopen: $reopen:expr $(,)?) => {
        $crate::conformance_suite!(@checks ($fresh) [
            empty_store_is_empty,
            the_change_feed_follows_storage_order,
            quarantined_items_are_kept_with_their_page,
            setting_the_cursor_by_hand,
            gaps_cover_the_whole_u64_range,
            completeness_reports_gaps_and_days,
            commit_counts_every_record,
            replaying_a_page_changes_nothing,
            conflicting_records_are_left_alone,
            duplicates_within_a_page,
            cursor_is_set_as_given,
            failures_are_listed_oldest_first,
            resolving_failures,
            seq_above_i64_max_round_trips,
            plaintext_bytes_round_trip_exactly,
            corps_are_isolated,
            any_stage_text_is_stored,
            derived_columns_round_trip,
            conversations_are_listed_by_recent_activity,
            paging_through_a_conversation,
            recalls_mark_the_recalled_message,
            quoted_replies_link_to_the_quoted_message,
            resolved_failures_are_linked,
            replaying_linked_pages_changes_nothing,
            jobs_are_created_with_their_messages,
            resolved_failures_get_their_jobs,
            claims_take_due_jobs_oldest_message_first,
            results_are_recorded_against_their_claim,
            interrupted_jobs_are_queued_again,
            expiry_only_on_wecom_word_and_retries,
            claims_take_jobs_at_risk_first,
            media_queues_are_per_corp,
            discovery_finds_rooms_and_people,
            discovery_works_in_batches,
            a_roomid_is_never_a_person,
            due_entries_never_checked_first,
            recorded_room_checks_follow_the_state_rules,
            recorded_person_checks_follow_the_state_rules,
            rooms_and_people_are_listed_by_name,
            name_stats_count_every_state,
            display_names_take_the_best_source,
            the_permit_list_is_kept_with_its_history,
            consent_subjects_are_due_in_order,
            consent_statuses_are_replaced_per_subject,
            names_are_per_corp,
            rechecking_makes_entries_due_now,
            users_are_created_listed_and_updated,
            duplicate_usernames_are_refused_in_any_case,
            sessions_round_trip,
            a_password_change_signs_out_everywhere,
            failed_sign_ins_lock_and_success_resets,
            audit_appends_form_a_hash_chain,
            audit_lists_filter_by_user_action_and_time,
            conversations_are_filtered_by_participant_room_and_activity,
            participants_and_the_external_flag_follow_every_page,
            paging_backwards_through_a_conversation,
            who_a_conversation_involves,
            media_is_found_by_content_and_by_message,
            members_are_found_by_department
        ]);
        #[test]
        fn commit_is_all_or_nothing() {
            $crate::conformance::commit_is_all_or_nothing(($faulty)());
        }
        #[test]
        fn resolve_is_all_or_nothing() {
            $crate::conformance::resolve_is_all_or_nothing(($faulty)());
        }
        #[test]
        fn media_jobs_are_all_or_nothing() {
            $crate::conformance::jobs_are_all_or_nothing(($faulty)());
        }
        #[test]
        fn everything_survives_a_reopen() {
            $crate::conformance::everything_survives_a_reopen(&mut || ($reopen)(1).into());
        }
        #[test]
        fn media_queue_survives_a_reopen() {
            $crate::conformance::queue_survives_a_reopen(&mut || ($reopen)(2).into());
        }
    };
    (@checks ($fresh:expr) [$($check:ident),* $(,)?]) => {
        $(
            #[test]
            fn $check() {
                $crate::conformance::$check(&mut || ($fresh)().into());
            }
        )*
    };
}

/// Durability: `open` must return a store on the *same* database each call (empty on the first).
/// Everything committed must be there after the store is dropped and opened again.
pub fn everything_survives_a_reopen(open: Make<'_>) {
    let page = PageCommit {
        records: vec![
            text(7, "m7", 1_700_000_000_007, "hello"),
            unparsed(8, "m8", b"{broken\x01\xff"),
            failed(u64::MAX, "mmax", stage::NO_KEY, 10007),
        ],
        cursor: u64::MAX,
        quarantined: Vec::new(),
    };
    let (stats, failures, conversations, message) = {
        let store = open();
        store.writer.commit_page(CORP, &page).expect("commit");
        (
            store.reader.stats(CORP).expect("stats"),
            store
                .writer
                .failed_records(CORP, 10)
                .expect("failed records"),
            store
                .reader
                .conversations(CORP, 10, 0)
                .expect("conversations"),
            store.reader.message(CORP, "m7").expect("message"),
        )
    };
    let store = open();
    assert_eq!(
        store.reader.cursor(CORP).expect("cursor"),
        u64::MAX,
        "cursor after reopen"
    );
    assert_eq!(
        store.reader.stats(CORP).expect("stats"),
        stats,
        "stats after reopen"
    );
    assert_eq!(
        store.writer.failed_records(CORP, 10).expect("failed"),
        failures
    );
    assert_eq!(
        store
            .reader
            .conversations(CORP, 10, 0)
            .expect("conversations"),
        conversations
    );
    assert!(message.is_some());
    assert_eq!(store.reader.message(CORP, "m7").expect("message"), message);
    assert_eq!(
        store.reader.plaintext(CORP, "m7").expect("plaintext"),
        Some(plaintext_of(&page.records[0]).to_vec())
    );
    assert_eq!(
        store.reader.record_ids(CORP).expect("ids"),
        vec![
            (7, "m7".into()),
            (8, "m8".into()),
            (u64::MAX, "mmax".into())
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Checks

#[doc(hidden)]
pub fn empty_store_is_empty(make: Make<'_>) {
    let store = make();
    store.reader.ping().expect("ping");
    assert_eq!(store.reader.stats(CORP).expect("stats"), Stats::default());
    assert_eq!(store.reader.cursor(CORP).expect("cursor"), 0);
    assert!(store.reader.record_ids(CORP).expect("ids").is_empty());
    assert!(
        store
            .writer
            .failed_records(CORP, 10)
            .expect("failed")
            .is_empty()
    );
    assert_eq!(
        store.reader.plaintext(CORP, "nope").expect("plaintext"),
        None
    );
}

#[doc(hidden)]
pub fn commit_counts_every_record(make: Make<'_>) {
    let store = make();
    let page = mixed_page();
    let got = store.writer.commit_page(CORP, &page).expect("commit");
    assert_eq!(
        got,
        CommitStats {
            quarantined: 0,
            inserted: 8,
            duplicates: 0,
            failed: 3
        }
    );
    assert_eq!(
        store.reader.stats(CORP).expect("stats"),
        Stats {
            quarantined_by_kind: BTreeMap::new(),
            records: 8,
            decrypted: 5,
            failed: 3,
            failed_by_code: map([(10002, 1), (10006, 1), (10007, 1)]),
            distinct_msgids: 8,
            cursor_seq: 108,
            by_msgtype: map([
                ("image".to_owned(), 1),
                ("revoke".to_owned(), 1),
                ("switch".to_owned(), 1),
                ("text".to_owned(), 2),
            ]),
            by_action: map([
                ("recall".to_owned(), 1),
                ("send".to_owned(), 3),
                ("switch".to_owned(), 1),
            ]),
            first_msgtime: Some(1_700_000_000_101),
            last_msgtime: Some(1_700_000_000_105),
            // pair:XuJinSheng|icefog, room:wrRoom, pair:a|b (image and recall), switch:a.
            conversations: 4,
            // t1, by r1.
            recalled: 1,
            with_warnings: 0,
        }
    );
    assert_eq!(store.reader.cursor(CORP).expect("cursor"), 108);
    let ids: Vec<(u64, String)> = page
        .records
        .iter()
        .map(|r| (r.item.seq, r.item.msgid.clone()))
        .collect();
    assert_eq!(store.reader.record_ids(CORP).expect("ids"), ids);
}

#[doc(hidden)]
pub fn replaying_a_page_changes_nothing(make: Make<'_>) {
    let store = make();
    let page = mixed_page();
    store.writer.commit_page(CORP, &page).expect("commit");
    let before = store.reader.stats(CORP).expect("stats");
    let failures = store.writer.failed_records(CORP, 100).expect("failed");

    let got = store.writer.commit_page(CORP, &page).expect("replay");
    assert_eq!(
        got,
        CommitStats {
            quarantined: 0,
            inserted: 0,
            duplicates: 8,
            failed: 0
        }
    );
    assert_eq!(store.reader.stats(CORP).expect("stats"), before);
    assert_eq!(
        store.writer.failed_records(CORP, 100).expect("failed"),
        failures
    );

    // A replay with a now-successful outcome is still a duplicate: failures are retried through
    // resolve_failures, never by overwriting.
    let mut replay = page.clone();
    for r in &mut replay.records {
        if matches!(r.outcome, Outcome::Failed(_)) {
            *r = text(r.item.seq, &r.item.msgid, 1_700_000_000_999, "late");
        }
    }
    let got = store.writer.commit_page(CORP, &replay).expect("replay");
    assert_eq!(got.duplicates, 8);
    assert_eq!(store.reader.stats(CORP).expect("stats"), before);
    assert_eq!(
        store.writer.failed_records(CORP, 100).expect("failed"),
        failures
    );
}

#[doc(hidden)]
pub fn conflicting_records_are_left_alone(make: Make<'_>) {
    let store = make();
    let original = text(1, "a", 1_700_000_000_001, "original");
    store
        .writer
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![original.clone()],
                cursor: 1,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    // Same seq with another msgid, and the same msgid at another seq: both duplicates.
    let page = PageCommit {
        records: vec![
            text(1, "b", 1_700_000_000_002, "other msgid"),
            text(2, "a", 1_700_000_000_003, "other seq"),
        ],
        cursor: 2,
        quarantined: Vec::new(),
    };
    let got = store.writer.commit_page(CORP, &page).expect("commit");
    assert_eq!(
        got,
        CommitStats {
            quarantined: 0,
            inserted: 0,
            duplicates: 2,
            failed: 0
        }
    );
    assert_eq!(
        store.reader.record_ids(CORP).expect("ids"),
        vec![(1, "a".to_owned())]
    );
    assert_eq!(
        store.reader.plaintext(CORP, "a").expect("plaintext"),
        Some(plaintext_of(&original).to_vec())
    );
    assert_eq!(store.reader.plaintext(CORP, "b").expect("plaintext"), None);
    assert_eq!(store.reader.stats(CORP).expect("stats").decrypted, 1);
}

#[doc(hidden)]
pub fn duplicates_within_a_page(make: Make<'_>) {
    let store = make();
    let page = PageCommit {
        records: vec![
            text(1, "a", 1_700_000_000_001, "first"),
            text(1, "a", 1_700_000_000_001, "first"),
            failed(2, "a", stage::NO_KEY, 10007),
        ],
        cursor: 2,
        quarantined: Vec::new(),
    };
    let got = store.writer.commit_page(CORP, &page).expect("commit");
    assert_eq!(
        got,
        CommitStats {
            quarantined: 0,
            inserted: 1,
            duplicates: 2,
            failed: 0
        }
    );
    let stats = store.reader.stats(CORP).expect("stats");
    assert_eq!((stats.records, stats.decrypted, stats.failed), (1, 1, 0));
}

#[doc(hidden)]
pub fn cursor_is_set_as_given(make: Make<'_>) {
    let store = make();
    let empty = |cursor| PageCommit {
        records: vec![],
        cursor,
        quarantined: Vec::new(),
    };
    assert_eq!(
        store.writer.commit_page(CORP, &empty(42)).expect("commit"),
        CommitStats::default()
    );
    assert_eq!(store.reader.cursor(CORP).expect("cursor"), 42);
    assert_eq!(store.reader.stats(CORP).expect("stats").records, 0);
    // A smaller cursor rewinds (a deliberate re-pull); it costs only duplicates.
    store.writer.commit_page(CORP, &empty(5)).expect("commit");
    assert_eq!(store.reader.cursor(CORP).expect("cursor"), 5);
    assert_eq!(store.reader.stats(CORP).expect("stats").cursor_seq, 5);
}

#[doc(hidden)]
pub fn failures_are_listed_oldest_first(make: Make<'_>) {
    let store = make();
    let page = PageCommit {
        records: vec![
            failed(30, "c", stage::NO_KEY, 10007),
            text(5, "ok", 1_700_000_000_005, "fine"),
            failed(10, "a", stage::RSA, 10006),
            unparsed(20, "b", b"not json"),
        ],
        cursor: 30,
        quarantined: Vec::new(),
    };
    store.writer.commit_page(CORP, &page).expect("commit");
    let all = store.writer.failed_records(CORP, 10).expect("failed");
    assert_eq!(
        all,
        vec![
            expected_failed(&page.records[2], 1, FETCHED_AT, FETCHED_AT),
            expected_failed(&page.records[3], 1, FETCHED_AT, FETCHED_AT),
            expected_failed(&page.records[0], 1, FETCHED_AT, FETCHED_AT),
        ]
    );
    assert_eq!(
        store.writer.failed_records(CORP, 2).expect("failed"),
        all[..2]
    );
    assert!(
        store
            .writer
            .failed_records(CORP, 0)
            .expect("failed")
            .is_empty()
    );
}

/// The change feed: positions per corp, strictly increasing in storage order, assigned once; a
/// replay adds nothing; a redecrypted record enters when its message first exists; a follower's
/// position only moves forward.
#[doc(hidden)]
pub fn the_change_feed_follows_storage_order(make: Make<'_>) {
    let store = make();
    assert_eq!(store.reader.feed_head(CORP).expect("head"), 0);
    assert!(store.reader.feed(CORP, 0, 10).expect("feed").is_empty());
    let page = PageCommit {
        records: vec![
            text(10, "m1", 1_700_000_000_001, "one"),
            failed(11, "m2", stage::NO_KEY, 10007),
            text(12, "m3", 1_700_000_000_003, "three"),
        ],
        cursor: 12,
        quarantined: Vec::new(),
    };
    store.writer.commit_page(CORP, &page).expect("commit");
    store.writer.commit_page(CORP, &page).expect("replay");
    let feed = |after| -> Vec<(u64, String)> {
        store
            .reader
            .feed(CORP, after, 10)
            .expect("feed")
            .into_iter()
            .map(|m| (m.feed_pos, m.msgid))
            .collect()
    };
    assert_eq!(feed(0), vec![(1, "m1".into()), (2, "m3".into())]);
    // The redecrypted record comes after everything stored before it, whatever its seq.
    let later = text(11, "m2", 1_700_000_000_002, "two").outcome;
    store
        .writer
        .resolve_failures(CORP, &[("m2".to_owned(), later)], FETCHED_AT)
        .expect("resolve");
    store
        .writer
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![text(13, "m4", 1_700_000_000_004, "four")],
                cursor: 13,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    assert_eq!(
        feed(0),
        vec![
            (1, "m1".into()),
            (2, "m3".into()),
            (3, "m2".into()),
            (4, "m4".into())
        ]
    );
    assert_eq!(feed(2), vec![(3, "m2".into()), (4, "m4".into())]);
    assert_eq!(store.reader.feed(CORP, 1, 1).expect("feed").len(), 1);
    assert_eq!(store.reader.feed_head(CORP).expect("head"), 4);
    assert_eq!(
        store
            .reader
            .message(CORP, "m3")
            .expect("message")
            .map(|m| m.feed_pos),
        Some(2)
    );
    // Per corp.
    store
        .writer
        .commit_page(
            "wwother",
            &PageCommit {
                records: vec![text(1, "o1", 1_700_000_000_001, "other")],
                cursor: 1,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    assert_eq!(store.reader.feed_head("wwother").expect("head"), 1);
    assert_eq!(store.reader.feed_head(CORP).expect("head"), 4);

    // A follower's position moves forward only, with its output.
    assert_eq!(
        store.reader.follower_position(CORP, "names").expect("pos"),
        0
    );
    let found =
        crate::names::Discovery::from_messages(&store.reader.feed(CORP, 0, 3).expect("feed"));
    store
        .directory
        .record_discovered(CORP, &found, 3, FETCHED_AT)
        .expect("record");
    assert_eq!(
        store.reader.follower_position(CORP, "names").expect("pos"),
        3
    );
    store
        .directory
        .record_discovered(CORP, &crate::names::Discovery::default(), 1, FETCHED_AT)
        .expect("record a stale pass");
    assert_eq!(
        store.reader.follower_position(CORP, "names").expect("pos"),
        3
    );
    assert_eq!(
        store
            .reader
            .follower_position("wwother", "names")
            .expect("pos"),
        0
    );
}

#[doc(hidden)]
pub fn resolving_failures(make: Make<'_>) {
    let store = make();
    let page = PageCommit {
        records: vec![
            failed(1, "a", stage::NO_KEY, 10007),
            failed(2, "b", stage::RSA, 10006),
            unparsed(3, "c", b"{\"msgid\":"),
            text(4, "d", 1_700_000_000_004, "already fine"),
        ],
        cursor: 4,
        quarantined: Vec::new(),
    };
    store.writer.commit_page(CORP, &page).expect("commit");

    let now = FETCHED_AT + 60_000;
    let a = text(1, "a", 1_700_000_000_001, "decrypted at last");
    let b_again = Failure {
        stage: stage::DECRYPT_DATA.to_owned(),
        code: 10008,
        reason: "encrypt_key could not be parsed".to_owned(),
        plaintext: None,
    };
    let results = vec![
        ("a".to_owned(), a.outcome.clone()),
        ("b".to_owned(), Outcome::Failed(b_again.clone())),
        // Never failed / unknown: nothing happens.
        ("d".to_owned(), text(4, "d", 1, "x").outcome),
        ("zzz".to_owned(), Outcome::Failed(b_again.clone())),
    ];
    let got = store
        .writer
        .resolve_failures(CORP, &results, now)
        .expect("resolve");
    assert_eq!(
        got,
        ResolveStats {
            resolved: 1,
            still_failed: 1,
            not_found: 2
        }
    );

    assert_eq!(
        store.reader.plaintext(CORP, "a").expect("plaintext"),
        Some(plaintext_of(&a).to_vec())
    );
    let mut b = expected_failed(&page.records[1], 2, FETCHED_AT, now);
    b.failure = b_again;
    assert_eq!(
        store.writer.failed_records(CORP, 10).expect("failed"),
        vec![
            b,
            expected_failed(&page.records[2], 1, FETCHED_AT, FETCHED_AT)
        ]
    );
    let stats = store.reader.stats(CORP).expect("stats");
    assert_eq!((stats.records, stats.decrypted, stats.failed), (4, 2, 2));
    assert_eq!(stats.failed_by_code, map([(10002, 1), (10008, 1)]));
    assert_eq!(stats.by_msgtype, map([("text".to_owned(), 2)]));
    assert_eq!(stats.first_msgtime, Some(1_700_000_000_001));

    // Resolving again finds nothing: the failure is gone.
    let got = store
        .writer
        .resolve_failures(CORP, &results[..1], now)
        .expect("resolve");
    assert_eq!(got.not_found, 1);
    assert_eq!(store.reader.stats(CORP).expect("stats"), stats);
}

#[doc(hidden)]
pub fn seq_above_i64_max_round_trips(make: Make<'_>) {
    let store = make();
    let big = i64::MAX as u64;
    let seqs = [u64::MAX, 1, big + 1, big, u64::MAX - 1, 0];
    let records = seqs
        .iter()
        .enumerate()
        .map(|(i, &seq)| {
            if i % 2 == 0 {
                failed(seq, &format!("m{seq}"), stage::NO_KEY, 10007)
            } else {
                text(seq, &format!("m{seq}"), 1_700_000_000_000, "big")
            }
        })
        .collect();
    store
        .writer
        .commit_page(
            CORP,
            &PageCommit {
                records,
                cursor: u64::MAX - 1,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    let mut sorted = seqs.to_vec();
    sorted.sort_unstable();
    let expected: Vec<(u64, String)> = sorted.iter().map(|s| (*s, format!("m{s}"))).collect();
    assert_eq!(store.reader.record_ids(CORP).expect("ids"), expected);
    assert_eq!(store.reader.cursor(CORP).expect("cursor"), u64::MAX - 1);
    let failed_seqs: Vec<u64> = store
        .writer
        .failed_records(CORP, 10)
        .expect("failed")
        .iter()
        .map(|f| f.item.seq)
        .collect();
    assert_eq!(failed_seqs, vec![big + 1, u64::MAX - 1, u64::MAX]);
    // The limit applies across the i64 boundary too.
    let first_two: Vec<u64> = store
        .writer
        .failed_records(CORP, 2)
        .expect("failed")
        .iter()
        .map(|f| f.item.seq)
        .collect();
    assert_eq!(first_two, vec![big + 1, u64::MAX - 1]);
}

#[doc(hidden)]
pub fn plaintext_bytes_round_trip_exactly(make: Make<'_>) {
    let store = make();
    // Raw control characters inside a JSON string: the envelope escapes them, the bytes must not.
    let control = b"{\"msgid\":\"ctl\",\"action\":\"send\",\"from\":\"a\",\"tolist\":[\"b\"],\"roomid\":\"\",\
\"msgtime\":1700000000001,\"msgtype\":\"text\",\"text\":{\"content\":\"x\x00\x01\x12\x1f\ty\"}}";
    let with_control = decrypted(1, "ctl", control);
    // Every byte value, not UTF-8: the store must not care what the bytes are.
    let all_bytes: Vec<u8> = (0..=255u8).rev().chain(0..=255u8).collect();
    let envelope = Envelope {
        msgid: "raw".into(),
        action: Action::Send,
        from: "a".into(),
        tolist: vec![],
        roomid: String::new(),
        msgtime: 1_700_000_000_002,
        msgtype: Some("text".into()),
        json: "{}".into(),
    };
    let raw = record(
        2,
        "raw",
        Outcome::Decrypted {
            plaintext: all_bytes.clone(),
            derived: Derived::from_envelope(&envelope),
            envelope,
        },
    );
    let not_json = unparsed(3, "unparsed", &all_bytes);
    let empty = decrypted_with(4, "empty", Vec::new(), "empty");
    store
        .writer
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![with_control, raw, not_json, empty],
                cursor: 4,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");

    assert_eq!(
        store.reader.plaintext(CORP, "ctl").expect("ctl"),
        Some(control.to_vec())
    );
    assert_eq!(
        store.reader.plaintext(CORP, "raw").expect("raw"),
        Some(all_bytes.clone())
    );
    assert_eq!(
        store.reader.plaintext(CORP, "unparsed").expect("unparsed"),
        Some(all_bytes.clone())
    );
    assert_eq!(
        store.reader.plaintext(CORP, "empty").expect("empty"),
        Some(Vec::new())
    );
    let failures = store.writer.failed_records(CORP, 10).expect("failed");
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0].failure.plaintext.as_deref(),
        Some(&all_bytes[..])
    );
}

#[doc(hidden)]
pub fn corps_are_isolated(make: Make<'_>) {
    let store = make();
    let other = "wwotherco";
    let page = |body: &str, cursor| PageCommit {
        records: vec![
            text(1, "same", 1_700_000_000_001, body),
            failed(2, "f", stage::NO_KEY, 10007),
        ],
        cursor,
        quarantined: Vec::new(),
    };
    let mine = page("mine", 2);
    let theirs = page("theirs", 9);
    assert_eq!(
        store
            .writer
            .commit_page(CORP, &mine)
            .expect("mine")
            .inserted,
        2
    );
    assert_eq!(
        store
            .writer
            .commit_page(other, &theirs)
            .expect("theirs")
            .inserted,
        2
    );
    assert_eq!(store.reader.cursor(CORP).expect("cursor"), 2);
    assert_eq!(store.reader.cursor(other).expect("cursor"), 9);
    assert_eq!(
        store.reader.plaintext(other, "same").expect("plaintext"),
        Some(plaintext_of(&theirs.records[0]).to_vec())
    );
    assert_eq!(store.reader.stats(CORP).expect("stats").records, 2);
    assert_eq!(
        store.reader.stats("wwnobody").expect("stats"),
        Stats::default()
    );

    let got = store
        .writer
        .resolve_failures(other, &[("f".to_owned(), text(2, "f", 5, "ok").outcome)], 0)
        .expect("resolve");
    assert_eq!(got.resolved, 1);
    assert_eq!(store.reader.stats(CORP).expect("stats").failed, 1);
    assert_eq!(store.reader.stats(other).expect("stats").failed, 0);
}

#[doc(hidden)]
pub fn any_stage_text_is_stored(make: Make<'_>) {
    // Rejecting a label would reject the whole page, encrypted records included.
    let store = make();
    let page = PageCommit {
        records: vec![
            failed(1, "a", stage::INTERNAL, 10003),
            failed(2, "b", "a_stage_from_the_future", -1),
            failed(3, "c", "", 0),
        ],
        cursor: 3,
        quarantined: Vec::new(),
    };
    assert_eq!(
        store
            .writer
            .commit_page(CORP, &page)
            .expect("commit")
            .failed,
        3
    );
    let stages: Vec<String> = store
        .writer
        .failed_records(CORP, 10)
        .expect("failed")
        .into_iter()
        .map(|f| f.failure.stage)
        .collect();
    assert_eq!(stages, ["internal", "a_stage_from_the_future", ""]);
    assert_eq!(
        store.reader.stats(CORP).expect("stats").failed_by_code,
        map([(-1, 1), (0, 1), (10003, 1)])
    );
}

#[doc(hidden)]
pub fn derived_columns_round_trip(make: Make<'_>) {
    let store = make();
    let unknown = serde_json::json!({
        "msgid": "future", "action": "send", "from": "alice", "tolist": ["bob"], "roomid": "",
        "msgtime": T0 + 4, "msgtype": "future_type", "future_type": {"title": "从未见过"},
    });
    let page = PageCommit {
        records: vec![
            chat(1, "plain", "alice", &["bob"], "", T0 + 1, "你好 hello"),
            chat(
                2,
                "m_external",
                "wmexternal0000000000000000000001",
                &["alice"],
                "",
                T0 + 2,
                "客户来信",
            ),
            chat(
                3,
                "m_updown_stream",
                "carol",
                &["alice", "bob"],
                "wrRoom1",
                T0 + 3,
                "群里说话",
            ),
            decrypted(4, "future", unknown.to_string().as_bytes()),
            recall(5, "rec", "alice", &["bob"], "", T0 + 5, "plain"),
            chat(
                6,
                "quote",
                "bob",
                &["alice"],
                "",
                T0 + 6,
                &archive_quote("Alice", "你好 hello", "收到"),
            ),
        ],
        cursor: 6,
        quarantined: Vec::new(),
    };
    store.writer.commit_page(CORP, &page).expect("commit");

    for r in &page.records {
        let Outcome::Decrypted {
            envelope, derived, ..
        } = &r.outcome
        else {
            panic!("fixture {} is not decrypted", r.item.msgid);
        };
        let got = stored(&store, &r.item.msgid);
        assert_eq!(got.seq, r.item.seq);
        assert_eq!(got.action, envelope.action.as_str());
        assert_eq!(got.from, envelope.from);
        assert_eq!(got.tolist, envelope.tolist);
        assert_eq!(got.roomid, envelope.roomid);
        assert_eq!(got.msgtime, envelope.msgtime);
        assert_eq!(got.msgtype, envelope.msgtype);
        assert_eq!(got.json, envelope.json);
        assert_eq!(got.conversation, derived.conversation, "{}", r.item.msgid);
        assert_eq!(got.text, derived.text, "{}", r.item.msgid);
        assert_eq!(got.external, derived.external, "{}", r.item.msgid);
        assert_eq!(got.updown_stream, derived.updown_stream, "{}", r.item.msgid);
        assert_eq!(got.recall_of, derived.recall_of, "{}", r.item.msgid);
        assert_eq!(got.warnings, derived.warnings, "{}", r.item.msgid);
    }

    // The derived values themselves, so the round trip above is not of empty values.
    let plain = stored(&store, "plain");
    assert_eq!(plain.conversation, "pair:alice|bob");
    assert_eq!(plain.text, "你好 hello");
    assert!(!plain.external && !plain.updown_stream && plain.warnings.is_empty());
    assert_eq!(
        (
            plain.recalled_by.as_deref(),
            plain.recalled_by_user.as_deref(),
            plain.recalled_at
        ),
        (Some("rec"), Some("alice"), Some(T0 + 5))
    );
    let external = stored(&store, "m_external");
    assert!(external.external && !external.updown_stream);
    let updown = stored(&store, "m_updown_stream");
    assert!(updown.updown_stream && !updown.external);
    assert_eq!(updown.conversation, "room:wrRoom1");
    let future = stored(&store, "future");
    assert!(!future.warnings.is_empty(), "an unknown msgtype warns");
    assert!(future.text.contains("从未见过"), "{:?}", future.text);
    assert_eq!(stored(&store, "rec").recall_of.as_deref(), Some("plain"));
    let quote = stored(&store, "quote");
    assert_eq!(quote.quote_of.as_deref(), Some("plain"));
    assert_eq!(quote.text, "Alice\n你好 hello\n收到");

    // Only decrypted messages are messages.
    store
        .writer
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![failed(7, "broken", stage::NO_KEY, 10007)],
                cursor: 7,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    assert_eq!(store.reader.message(CORP, "broken").expect("message"), None);
    assert_eq!(store.reader.message(CORP, "nope").expect("message"), None);
    assert_eq!(
        store.reader.message("wwother", "plain").expect("message"),
        None
    );

    let stats = store.reader.stats(CORP).expect("stats");
    assert_eq!(
        (stats.conversations, stats.recalled, stats.with_warnings),
        (3, 1, 1)
    );
}

#[doc(hidden)]
pub fn conversations_are_listed_by_recent_activity(make: Make<'_>) {
    let store = make();
    let mut records = vec![
        chat(1, "p1", "alice", &["bob"], "", T0 + 10, "a"),
        chat(2, "p2", "bob", &["alice"], "", T0 + 20, "b"),
        chat(3, "p3", "alice", &["bob"], "", T0 + 30, "c"),
        chat(4, "g1", "dave", &["carol", "erin"], "wrA", T0 + 5, "d"),
        chat(5, "g2", "carol", &["dave", "erin"], "wrA", T0 + 15, "e"),
        chat(6, "g3", "erin", &["carol", "dave"], "wrA", T0 + 25, "f"),
        chat(7, "g4", "carol", &["dave", "erin"], "wrA", T0 + 40, "g"),
        chat(8, "c1", "carol", &["alice"], "", T0 + 35, "h"),
        chat(
            9,
            "m1",
            "bob",
            &["alice", "carol"],
            "",
            T0 + 3,
            "roomless group",
        ),
        decrypted(
            10,
            "s1",
            format!(
                r#"{{"msgid":"s1","action":"switch","time":{},"user":"alice"}}"#,
                T0 + 1
            )
            .as_bytes(),
        ),
    ];
    // A busy room: 25 senders, one of them much more active than the others.
    for i in 0..25u64 {
        let from = format!("user{i:02}");
        records.push(chat(
            100 + i,
            &format!("b{i}"),
            &from,
            &["x"],
            "wrBusy",
            T0 + 50 + i as i64,
            "hi",
        ));
    }
    for i in 0..3u64 {
        records.push(chat(
            200 + i,
            &format!("bz{i}"),
            "user24",
            &["x"],
            "wrBusy",
            T0 + 45,
            "again",
        ));
    }
    store
        .writer
        .commit_page(
            CORP,
            &PageCommit {
                records,
                cursor: 202,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");

    let summary = |key: &str, is_group, roomid: &str, messages, first, last, senders: &[&str]| {
        ConversationSummary {
            key: key.to_owned(),
            is_group,
            roomid: roomid.to_owned(),
            messages,
            first_msgtime: T0 + first,
            last_msgtime: T0 + last,
            senders: senders.iter().map(|s| (*s).to_owned()).collect(),
            external: false,
            participants: Vec::new(),
            participant_count: 0,
        }
    };
    let with = |mut c: ConversationSummary, participants: &[&str]| {
        c.participants = participants.iter().map(|s| (*s).to_owned()).collect();
        c.participant_count = participants.len() as u64;
        c
    };
    let busy_senders: Vec<String> = std::iter::once("user24".to_owned())
        .chain((0..19).map(|i| format!("user{i:02}")))
        .collect();
    let busy_senders: Vec<&str> = busy_senders.iter().map(String::as_str).collect();
    let busy_participants: Vec<String> = (0..25)
        .map(|i| format!("user{i:02}"))
        .chain(std::iter::once("x".to_owned()))
        .collect();
    let busy_participants: Vec<&str> = busy_participants.iter().map(String::as_str).collect();
    let expected = vec![
        with(
            summary("room:wrBusy", true, "wrBusy", 28, 45, 74, &busy_senders),
            &busy_participants,
        ),
        with(
            summary(
                "room:wrA",
                true,
                "wrA",
                4,
                5,
                40,
                &["carol", "dave", "erin"],
            ),
            &["carol", "dave", "erin"],
        ),
        with(
            summary("pair:alice|carol", false, "", 1, 35, 35, &["carol"]),
            &["alice", "carol"],
        ),
        with(
            summary("pair:alice|bob", false, "", 3, 10, 30, &["alice", "bob"]),
            &["alice", "bob"],
        ),
        with(
            summary("members:alice|bob|carol", true, "", 1, 3, 3, &["bob"]),
            &["alice", "bob", "carol"],
        ),
        with(
            summary("switch:alice", false, "", 1, 1, 1, &["alice"]),
            &["alice"],
        ),
    ];
    assert_eq!(
        store.reader.conversations(CORP, 100, 0).expect("list"),
        expected
    );
    assert_eq!(
        store.reader.conversations(CORP, 2, 1).expect("list"),
        expected[1..3]
    );
    assert!(
        store
            .reader
            .conversations(CORP, 10, 6)
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .reader
            .conversations(CORP, 0, 0)
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .reader
            .conversations("wwother", 10, 0)
            .expect("list")
            .is_empty()
    );
    assert_eq!(store.reader.stats(CORP).expect("stats").conversations, 6);
}

#[doc(hidden)]
pub fn paging_through_a_conversation(make: Make<'_>) {
    let store = make();
    let key = "pair:alice|bob";
    let m = |seq, t| chat(seq, &format!("m{seq}"), "alice", &["bob"], "", T0 + t, "x");
    // Out of time order across two pages, with equal msgtimes, and another conversation between.
    let first = PageCommit {
        records: vec![
            m(1, 100),
            m(2, 100),
            chat(3, "other", "alice", &["carol"], "", T0 + 100, "y"),
            m(4, 200),
        ],
        cursor: 4,
        quarantined: Vec::new(),
    };
    let second = PageCommit {
        records: vec![m(5, 50), m(6, 100), m(7, 200)],
        cursor: 7,
        quarantined: Vec::new(),
    };
    store.writer.commit_page(CORP, &first).expect("commit");
    store.writer.commit_page(CORP, &second).expect("commit");

    let order: Vec<(i64, u64)> = [(50, 5), (100, 1), (100, 2), (100, 6), (200, 4), (200, 7)]
        .iter()
        .map(|&(t, seq)| (T0 + t, seq))
        .collect();
    let page = |after, limit| -> Vec<(i64, u64)> {
        store
            .reader
            .conversation_messages(CORP, key, after, limit)
            .expect("page")
            .iter()
            .map(|m| (m.msgtime, m.seq))
            .collect()
    };
    assert_eq!(page(None, 100), order);
    // Two at a time, each page starting strictly after the last message of the previous one.
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let got = page(after, 2);
        if got.is_empty() {
            break;
        }
        assert!(got.len() <= 2);
        after = got.last().copied();
        walked.extend(got);
    }
    assert_eq!(walked, order);
    // A cursor between stored messages (same msgtime, a seq in between).
    assert_eq!(page(Some((T0 + 100, 3)), 100), order[3..]);
    assert_eq!(page(Some((T0 + 200, 7)), 100), vec![]);
    assert!(page(None, 0).is_empty());
    assert!(
        store
            .reader
            .conversation_messages(CORP, "pair:nobody|else", None, 10)
            .expect("page")
            .is_empty()
    );
    assert!(
        store
            .reader
            .conversation_messages("wwother", key, None, 10)
            .expect("page")
            .is_empty()
    );
    let full = store
        .reader
        .conversation_messages(CORP, key, None, 1)
        .expect("page");
    assert_eq!(full, vec![stored(&store, "m5")]);
}

#[doc(hidden)]
pub fn recalls_mark_the_recalled_message(make: Make<'_>) {
    let store = make();
    let other = "wwotherco";
    // The same msgid in another corp must not be marked by this corp's recall.
    store
        .writer
        .commit_page(
            other,
            &PageCommit {
                records: vec![chat(1, "t1", "alice", &["bob"], "", T0, "theirs")],
                cursor: 1,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    let pages = [
        // In order, in one page.
        PageCommit {
            records: vec![
                chat(1, "t1", "alice", &["bob"], "", T0, "hello"),
                recall(2, "r1", "alice", &["bob"], "", T0 + 5_000, "t1"),
            ],
            cursor: 2,
            quarantined: Vec::new(),
        },
        // A recall before its original (out-of-order pages), and one of a msgid never seen.
        PageCommit {
            records: vec![
                recall(3, "r3", "bob", &["alice"], "", T0 + 9_000, "t3"),
                recall(4, "r9", "bob", &["alice"], "", T0 + 9_500, "ghost"),
            ],
            cursor: 4,
            quarantined: Vec::new(),
        },
        PageCommit {
            records: vec![
                chat(5, "t3", "bob", &["alice"], "", T0 + 8_000, "oops"),
                chat(6, "t2", "alice", &["bob"], "", T0 + 8_500, "kept"),
                // In order, across pages.
                chat(7, "t4", "bob", &["alice"], "", T0 + 10_000, "typo"),
            ],
            cursor: 7,
            quarantined: Vec::new(),
        },
        PageCommit {
            records: vec![
                recall(8, "r4", "bob", &["alice"], "", T0 + 11_000, "t4"),
                // A second recall of t1: the first mark stays.
                recall(9, "r1b", "bob", &["alice"], "", T0 + 12_000, "t1"),
            ],
            cursor: 9,
            quarantined: Vec::new(),
        },
    ];
    for page in &pages {
        store.writer.commit_page(CORP, page).expect("commit");
    }

    let mark = |msgid: &str| {
        let m = stored(&store, msgid);
        (m.recalled_by, m.recalled_by_user, m.recalled_at)
    };
    let by = |r: &str, u: &str, t: i64| (Some(r.to_owned()), Some(u.to_owned()), Some(T0 + t));
    assert_eq!(mark("t1"), by("r1", "alice", 5_000));
    assert_eq!(mark("t3"), by("r3", "bob", 9_000));
    assert_eq!(mark("t4"), by("r4", "bob", 11_000));
    assert_eq!(mark("t2"), (None, None, None));
    // Recall records are messages too, with what they recall; the originals are all kept.
    assert_eq!(stored(&store, "r9").recall_of.as_deref(), Some("ghost"));
    assert_eq!(store.reader.message(CORP, "ghost").expect("message"), None);
    assert_eq!(stored(&store, "t1").text, "hello");
    let stats = store.reader.stats(CORP).expect("stats");
    assert_eq!((stats.decrypted, stats.recalled), (9, 3));
    assert_eq!(stats.by_action.get("recall"), Some(&5));
    assert_eq!(stored_in(&store, other, "t1").recalled_by, None);
    assert_eq!(store.reader.stats(other).expect("stats").recalled, 0);
}

#[doc(hidden)]
pub fn quoted_replies_link_to_the_quoted_message(make: Make<'_>) {
    let store = make();
    let hour = 3_600_000;
    let meeting = "明天下午三点开会";
    let first = PageCommit {
        records: vec![
            chat(
                1,
                "old",
                "bob",
                &["alice"],
                "",
                T0 - QUOTE_WINDOW_MS - hour,
                "旧的消息 old text",
            ),
            chat(2, "a1", "bob", &["alice"], "", T0 - 2 * hour, meeting),
            chat(
                3,
                "elsewhere",
                "bob",
                &["carol"],
                "",
                T0 - hour,
                "只在别处说过",
            ),
        ],
        cursor: 3,
        quarantined: Vec::new(),
    };
    let file = serde_json::json!({
        "msgid": "file", "action": "send", "from": "bob", "tolist": ["alice"], "roomid": "",
        "msgtime": T0 - 1, "msgtype": "file",
        "file": {"md5sum": "m", "filename": format!("{meeting}.pdf"), "fileext": "pdf",
                 "filesize": 1, "sdkfileid": "f"},
    });
    let second = PageCommit {
        records: vec![
            // The newest matching text wins, and it may be earlier in the same page.
            chat(4, "a2", "bob", &["alice"], "", T0 - hour, meeting),
            // Not a text message: never a candidate, although its text matches.
            decrypted(5, "file", file.to_string().as_bytes()),
            chat(
                6,
                "reply1",
                "alice",
                &["bob"],
                "",
                T0,
                &archive_quote("Bob", meeting, "好的，我会准时到"),
            ),
            chat(
                7,
                "too_old",
                "alice",
                &["bob"],
                "",
                T0 + 1,
                &archive_quote("Bob", "旧的消息 old text", "?"),
            ),
            chat(
                8,
                "other_conv",
                "alice",
                &["bob"],
                "",
                T0 + 2,
                &archive_quote("Bob", "只在别处说过", "?"),
            ),
            // A quote of a quoted reply matches its reply only...
            chat(
                9,
                "reply2",
                "bob",
                &["alice"],
                "",
                T0 + 3,
                &wechat_quote("Alice", "好的，我会准时到", "收到"),
            ),
        ],
        cursor: 9,
        quarantined: Vec::new(),
    };
    let third = PageCommit {
        records: vec![
            // ...so quoting the original again skips reply1, whose quoted part also holds it.
            chat(
                10,
                "reply3",
                "alice",
                &["bob"],
                "",
                T0 + 4,
                &wechat_quote("Bob", meeting, "再确认一下"),
            ),
            chat(
                11,
                "degenerate",
                "alice",
                &["bob"],
                "",
                T0 + 5,
                "这是一条引用/回复消息：\"\n------\n@nick777",
            ),
            chat(12, "no_quote", "alice", &["bob"], "", T0 + 6, meeting),
        ],
        cursor: 12,
        quarantined: Vec::new(),
    };
    for page in [&first, &second, &third] {
        store.writer.commit_page(CORP, page).expect("commit");
    }
    let quote_of = |msgid: &str| stored(&store, msgid).quote_of;
    assert_eq!(quote_of("reply1").as_deref(), Some("a2"));
    assert_eq!(quote_of("too_old"), None);
    assert_eq!(quote_of("other_conv"), None);
    assert_eq!(quote_of("reply2").as_deref(), Some("reply1"));
    assert_eq!(quote_of("reply3").as_deref(), Some("a2"));
    assert_eq!(quote_of("degenerate"), None);
    assert_eq!(quote_of("no_quote"), None);
    assert_eq!(quote_of("a2"), None);
}

#[doc(hidden)]
pub fn resolved_failures_are_linked(make: Make<'_>) {
    let store = make();
    let page = PageCommit {
        records: vec![
            failed(1, "t1", stage::NO_KEY, 10007),
            recall(2, "r1", "alice", &["bob"], "", T0 + 10, "t1"),
            chat(3, "t2", "bob", &["alice"], "", T0 + 20, "晚点再说"),
            failed(4, "r2", stage::NO_KEY, 10007),
            failed(5, "q", stage::NO_KEY, 10007),
        ],
        cursor: 5,
        quarantined: Vec::new(),
    };
    store.writer.commit_page(CORP, &page).expect("commit");
    let results = vec![
        (
            "t1".to_owned(),
            chat(1, "t1", "alice", &["bob"], "", T0, "说错了").outcome,
        ),
        (
            "r2".to_owned(),
            recall(4, "r2", "bob", &["alice"], "", T0 + 30, "t2").outcome,
        ),
        (
            "q".to_owned(),
            chat(
                5,
                "q",
                "alice",
                &["bob"],
                "",
                T0 + 40,
                &archive_quote("Bob", "晚点再说", "好"),
            )
            .outcome,
        ),
    ];
    let got = store
        .writer
        .resolve_failures(CORP, &results, FETCHED_AT + 1)
        .expect("resolve");
    assert_eq!(got.resolved, 3);
    assert_eq!(stored(&store, "t1").recalled_by.as_deref(), Some("r1"));
    let t2 = stored(&store, "t2");
    assert_eq!(
        (t2.recalled_by.as_deref(), t2.recalled_at),
        (Some("r2"), Some(T0 + 30))
    );
    assert_eq!(stored(&store, "q").quote_of.as_deref(), Some("t2"));
    assert_eq!(stored(&store, "q").conversation, "pair:alice|bob");
    let stats = store.reader.stats(CORP).expect("stats");
    assert_eq!((stats.recalled, stats.conversations), (2, 1));
}

#[doc(hidden)]
pub fn replaying_linked_pages_changes_nothing(make: Make<'_>) {
    let store = make();
    let page = PageCommit {
        records: vec![
            chat(1, "t1", "alice", &["bob"], "", T0, "原话"),
            recall(2, "r1", "alice", &["bob"], "", T0 + 1, "t1"),
            chat(3, "t2", "bob", &["alice"], "", T0 + 2, "再说一遍"),
            chat(
                4,
                "q",
                "alice",
                &["bob"],
                "",
                T0 + 3,
                &archive_quote("Bob", "再说一遍", "好"),
            ),
            chat(5, "g", "carol", &["alice", "bob"], "wrG", T0 + 4, "群"),
        ],
        cursor: 5,
        quarantined: Vec::new(),
    };
    store.writer.commit_page(CORP, &page).expect("commit");
    let snapshot = |store: &Roles| {
        (
            store.reader.stats(CORP).expect("stats"),
            store.reader.conversations(CORP, 100, 0).expect("list"),
            store
                .reader
                .conversation_messages(CORP, "pair:alice|bob", None, 100)
                .expect("page"),
        )
    };
    let before = snapshot(&store);
    assert_eq!(before.2.len(), 4);
    // Replayed as is, and with other outcomes for the same records: duplicates either way.
    store.writer.commit_page(CORP, &page).expect("replay");
    let mut changed = page.clone();
    changed.records[1] = recall(2, "r1", "bob", &["alice"], "", T0 + 9, "t2");
    changed.records[3] = chat(4, "q", "alice", &["bob"], "", T0 + 3, "不再是引用");
    assert_eq!(
        store
            .writer
            .commit_page(CORP, &changed)
            .expect("replay")
            .duplicates,
        5
    );
    assert_eq!(snapshot(&store), before);
}

#[doc(hidden)]
pub fn commit_is_all_or_nothing((store, fail_on): Faulty) {
    let first = PageCommit {
        records: vec![text(1, "m1", 1_700_000_000_001, "one")],
        cursor: 1,
        quarantined: Vec::new(),
    };
    store.writer.commit_page(CORP, &first).expect("commit");
    let before = store.reader.stats(CORP).expect("stats");

    // m4 fails after m2 and m3 were written inside the same transaction.
    fail_on("m4");
    let page = PageCommit {
        records: vec![
            text(2, "m2", 1_700_000_000_002, "two"),
            failed(3, "m3", stage::NO_KEY, 10007),
            text(4, "m4", 1_700_000_000_004, "four"),
        ],
        cursor: 4,
        quarantined: Vec::new(),
    };
    store
        .writer
        .commit_page(CORP, &page)
        .expect_err("the backend fails on m4");
    assert_eq!(store.reader.stats(CORP).expect("stats"), before);
    assert_eq!(store.reader.cursor(CORP).expect("cursor"), 1);
    assert_eq!(
        store.reader.record_ids(CORP).expect("ids"),
        vec![(1, "m1".to_owned())]
    );
    assert_eq!(store.reader.plaintext(CORP, "m2").expect("plaintext"), None);
    assert!(
        store
            .writer
            .failed_records(CORP, 10)
            .expect("failed")
            .is_empty()
    );

    // The failed transaction left nothing open: the next page commits.
    let retry = PageCommit {
        records: page.records[..2].to_vec(),
        cursor: 3,
        quarantined: Vec::new(),
    };
    let got = store.writer.commit_page(CORP, &retry).expect("commit");
    assert_eq!(
        got,
        CommitStats {
            quarantined: 0,
            inserted: 2,
            duplicates: 0,
            failed: 1
        }
    );
    assert_eq!(store.reader.cursor(CORP).expect("cursor"), 3);
}

#[doc(hidden)]
pub fn resolve_is_all_or_nothing((store, fail_on): Faulty) {
    let page = PageCommit {
        records: vec![
            failed(1, "a", stage::NO_KEY, 10007),
            failed(2, "b", stage::NO_KEY, 10007),
            failed(3, "c", stage::NO_KEY, 10007),
        ],
        cursor: 3,
        quarantined: Vec::new(),
    };
    store.writer.commit_page(CORP, &page).expect("commit");
    let before = store.writer.failed_records(CORP, 10).expect("failed");

    fail_on("c");
    let again = Failure {
        stage: stage::RSA.to_owned(),
        code: 10006,
        reason: "still wrong".to_owned(),
        plaintext: None,
    };
    let results = [
        (
            "a".to_owned(),
            text(1, "a", 1_700_000_000_001, "ok").outcome,
        ),
        ("b".to_owned(), Outcome::Failed(again)),
        (
            "c".to_owned(),
            text(3, "c", 1_700_000_000_003, "ok").outcome,
        ),
    ];
    store
        .writer
        .resolve_failures(CORP, &results, FETCHED_AT + 1)
        .expect_err("the backend fails on c");
    assert_eq!(
        store.writer.failed_records(CORP, 10).expect("failed"),
        before
    );
    assert_eq!(store.reader.plaintext(CORP, "a").expect("plaintext"), None);
    assert_eq!(store.reader.stats(CORP).expect("stats").decrypted, 0);

    let got = store
        .writer
        .resolve_failures(CORP, &results[..2], FETCHED_AT + 2)
        .expect("resolve");
    assert_eq!((got.resolved, got.still_failed), (1, 1));
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// `fetched_at_ms` of every fixture record.
pub const FETCHED_AT: i64 = 1_700_000_100_000;

fn item(seq: u64, msgid: &str) -> ChatDataItem {
    ChatDataItem {
        seq,
        msgid: msgid.to_owned(),
        publickey_ver: 3,
        encrypt_random_key: format!("rk/{msgid}+=="),
        encrypt_chat_msg: format!("cm/{msgid}/{seq}"),
    }
}

/// A record with the given outcome.
pub fn record(seq: u64, msgid: &str, outcome: Outcome) -> IngestedRecord {
    IngestedRecord {
        item: item(seq, msgid),
        fetched_at_ms: FETCHED_AT,
        outcome,
    }
}

/// A record that decrypted to `plaintext`, which must parse as an envelope.
pub fn decrypted(seq: u64, msgid: &str, plaintext: &[u8]) -> IngestedRecord {
    let envelope = parse_envelope(plaintext).expect("fixture plaintext parses");
    record(
        seq,
        msgid,
        Outcome::Decrypted {
            plaintext: plaintext.to_vec(),
            derived: Derived::from_envelope(&envelope),
            envelope,
        },
    )
}

/// A decrypted record whose plaintext is `plaintext` verbatim, with a text envelope beside it.
fn decrypted_with(seq: u64, msgid: &str, plaintext: Vec<u8>, content: &str) -> IngestedRecord {
    let envelope = parse_envelope(text_json(msgid, 1_700_000_000_000, content).as_bytes())
        .expect("fixture parses");
    record(
        seq,
        msgid,
        Outcome::Decrypted {
            plaintext,
            derived: Derived::from_envelope(&envelope),
            envelope,
        },
    )
}

fn text_json(msgid: &str, msgtime: i64, content: &str) -> String {
    format!(
        r#"{{"msgid":"{msgid}","action":"send","from":"XuJinSheng","tolist":["icefog"],"roomid":"","msgtime":{msgtime},"msgtype":"text","text":{{"content":"{content}"}}}}"#
    )
}

/// A decrypted 1:1 text message.
pub fn text(seq: u64, msgid: &str, msgtime: i64, content: &str) -> IngestedRecord {
    decrypted(seq, msgid, text_json(msgid, msgtime, content).as_bytes())
}

#[doc(hidden)]
pub fn completeness_reports_gaps_and_days(make: Make<'_>) {
    let store = make();
    assert_eq!(store.reader.seq_gaps("c", 10).expect("gaps"), vec![]);
    assert_eq!(store.reader.daily_counts("c").expect("days"), vec![]);
    // 2023-11-14 22:13 UTC is 2023-11-15 06:13 in China; one day later is the 16th.
    let records = vec![
        chat(1, "m1", "a", &["b"], "", T0, "x"),
        chat(2, "m2", "a", &["b"], "", T0 + 1, "x"),
        chat(5, "m5", "a", &["b"], "", T0 + 2, "x"),
        chat(9, "m9", "a", &["b"], "", T0 + 86_400_000, "x"),
    ];
    store
        .writer
        .commit_page(
            "c",
            &PageCommit {
                records,
                cursor: 9,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    assert_eq!(
        store.reader.seq_gaps("c", 10).expect("gaps"),
        vec![(3, 4), (6, 8)]
    );
    assert_eq!(store.reader.seq_gaps("c", 1).expect("gaps"), vec![(3, 4)]);
    assert_eq!(
        store.reader.daily_counts("c").expect("days"),
        vec![("2023-11-15".to_owned(), 3), ("2023-11-16".to_owned(), 1)]
    );
    assert_eq!(store.reader.seq_gaps("other", 10).expect("gaps"), vec![]);
}

#[doc(hidden)]
pub fn quarantined_items_are_kept_with_their_page(make: Make<'_>) {
    use wecom_wire::{QuarantineReason, QuarantinedItem};
    let store = make();
    let bad = QuarantinedItem {
        seq: Some(2),
        raw: b"{\"seq\":2,\"msgid\":\"\xff\"}".to_vec(),
        reason: QuarantineReason::Unparseable("invalid unicode".to_owned()),
    };
    let jump = QuarantinedItem::from_item(&item(u64::MAX, "far"), QuarantineReason::ImplausibleSeq);
    let nameless = QuarantinedItem {
        seq: None,
        raw: b"5".to_vec(),
        reason: QuarantineReason::Unparseable("not an object".to_owned()),
    };
    let page = PageCommit {
        records: vec![
            chat(1, "m1", "a", &["b"], "", T0, "x"),
            chat(3, "m3", "a", &["b"], "", T0, "x"),
        ],
        cursor: 3,
        quarantined: vec![jump.clone(), bad.clone(), nameless.clone()],
    };
    let stats = store.writer.commit_page(CORP, &page).expect("commit");
    assert_eq!((stats.inserted, stats.quarantined), (2, 3));
    // Replaying the page keeps one copy of each and counts the sightings.
    let stats = store.writer.commit_page(CORP, &page).expect("replay");
    assert_eq!((stats.duplicates, stats.quarantined), (2, 0));
    let kept = store.reader.quarantined_items(CORP, 10).expect("list");
    let listed: Vec<(Option<u64>, &str, u64)> = kept
        .iter()
        .map(|q| (q.seq, q.kind.as_str(), q.times_seen))
        .collect();
    assert_eq!(
        listed,
        [
            (Some(2), "unparseable", 2),
            (Some(u64::MAX), "implausible_seq", 2),
            (None, "unparseable", 2),
        ],
        "u64 order, items without a seq last"
    );
    assert_eq!(kept[0].raw_len, bad.raw.len() as u64);
    assert_eq!(kept[0].cursor_seq, 3);
    assert!(kept[0].reason.contains("invalid unicode"));
    assert_eq!(
        store.reader.quarantined_items(CORP, 1).expect("list").len(),
        1
    );
    let stats = store.reader.stats(CORP).expect("stats");
    assert_eq!(
        stats.quarantined_by_kind,
        BTreeMap::from([
            ("implausible_seq".to_owned(), 1),
            ("unparseable".to_owned(), 2)
        ])
    );
    assert_eq!(stats.records, 2);
    assert!(
        store
            .reader
            .quarantined_items("other", 10)
            .expect("list")
            .is_empty()
    );
}

#[doc(hidden)]
pub fn setting_the_cursor_by_hand(make: Make<'_>) {
    use wecom_wire::{QuarantineReason, QuarantinedItem};
    let store = make();
    assert_eq!(store.reader.max_record_seq(CORP).expect("max"), None);
    let page = PageCommit {
        records: vec![
            chat(10, "m10", "a", &["b"], "", T0, "x"),
            chat(20, "m20", "a", &["b"], "", T0, "x"),
        ],
        cursor: 20,
        quarantined: vec![
            QuarantinedItem::from_item(
                &item(1 << 40, "j"),
                QuarantineReason::SeqJump {
                    from: 20,
                    max_jump: 100,
                },
            ),
            QuarantinedItem::from_item(&item(u64::MAX, "m"), QuarantineReason::ImplausibleSeq),
        ],
    };
    store.writer.commit_page(CORP, &page).expect("commit");
    assert_eq!(store.reader.max_record_seq(CORP).expect("max"), Some(20));

    // Backwards past archived records: refused, nothing written.
    let refused = store.writer.set_cursor(CORP, 5, false).expect("set");
    assert!(!refused.moved);
    assert_eq!(
        (refused.previous, refused.now, refused.records_passed),
        (20, 20, 2)
    );
    assert_eq!(store.reader.cursor(CORP).expect("cursor"), 20);
    // Backwards past nothing archived is fine.
    let fine = store.writer.set_cursor(CORP, 15, false).expect("set");
    assert_eq!((fine.moved, fine.records_passed, fine.now), (false, 1, 20));
    let fine = store.writer.set_cursor(CORP, 20, false).expect("set");
    assert!(fine.moved);
    // Forced.
    let forced = store.writer.set_cursor(CORP, 5, true).expect("set");
    assert_eq!(
        (forced.moved, forced.now, forced.records_passed),
        (true, 5, 2)
    );
    assert_eq!(store.reader.cursor(CORP).expect("cursor"), 5);
    // Forward past quarantined items (across 2^63): counted.
    let ahead = store.writer.set_cursor(CORP, u64::MAX, false).expect("set");
    assert_eq!((ahead.moved, ahead.quarantined_skipped), (true, 2));
    let ahead = store.writer.set_cursor(CORP, 1 << 41, true).expect("set");
    assert_eq!(ahead.records_passed, 0);
    assert_eq!(store.reader.cursor(CORP).expect("cursor"), 1 << 41);
    assert_eq!(store.reader.cursor("other").expect("cursor"), 0);
}

#[doc(hidden)]
pub fn gaps_cover_the_whole_u64_range(make: Make<'_>) {
    let store = make();
    let half = 1u64 << 63;
    let records = vec![
        chat(1, "m1", "a", &["b"], "", T0, "x"),
        chat(3, "m3", "a", &["b"], "", T0, "x"),
        chat(half + 2, "mh", "a", &["b"], "", T0, "x"),
        chat(u64::MAX, "mm", "a", &["b"], "", T0, "x"),
    ];
    store
        .writer
        .commit_page(
            "c",
            &PageCommit {
                records,
                cursor: 3,
                quarantined: Vec::new(),
            },
        )
        .expect("commit");
    assert_eq!(
        store.reader.seq_gaps("c", 10).expect("gaps"),
        vec![(2, 2), (4, half + 1), (half + 3, u64::MAX - 1)]
    );
    assert_eq!(
        store.reader.seq_gaps("c", 2).expect("gaps"),
        vec![(2, 2), (4, half + 1)]
    );
    assert_eq!(
        store.reader.max_record_seq("c").expect("max"),
        Some(u64::MAX)
    );
}

/// The time most link fixtures are placed around (ms).
pub const T0: i64 = 1_700_000_000_000;

/// A decrypted text message; a `roomid` makes it a group message.
pub fn chat(
    seq: u64,
    msgid: &str,
    from: &str,
    tolist: &[&str],
    roomid: &str,
    msgtime: i64,
    content: &str,
) -> IngestedRecord {
    let json = serde_json::json!({
        "msgid": msgid, "action": "send", "from": from, "tolist": tolist, "roomid": roomid,
        "msgtime": msgtime, "msgtype": "text", "text": {"content": content},
    });
    decrypted(seq, msgid, json.to_string().as_bytes())
}

/// A decrypted recall record of `pre_msgid`.
pub fn recall(
    seq: u64,
    msgid: &str,
    from: &str,
    tolist: &[&str],
    roomid: &str,
    msgtime: i64,
    pre_msgid: &str,
) -> IngestedRecord {
    let json = serde_json::json!({
        "msgid": msgid, "action": "recall", "from": from, "tolist": tolist, "roomid": roomid,
        "msgtime": msgtime, "msgtype": "revoke", "revoke": {"pre_msgid": pre_msgid},
    });
    decrypted(seq, msgid, json.to_string().as_bytes())
}

/// A quoted reply in the archive's own format.
pub fn archive_quote(user: &str, quoted: &str, reply: &str) -> String {
    format!("这是一条引用/回复消息：\n\"{user}：\n{quoted}\"\n------\n{reply}")
}

/// A quoted reply in WeChat's format.
pub fn wechat_quote(user: &str, quoted: &str, reply: &str) -> String {
    format!("「{user}：{quoted}」\n- - - - - - - - - - - - - - -\n{reply}")
}

fn stored(store: &Roles, msgid: &str) -> StoredMessage {
    stored_in(store, CORP, msgid)
}

fn stored_in(store: &Roles, corp_id: &str, msgid: &str) -> StoredMessage {
    store
        .reader
        .message(corp_id, msgid)
        .expect("message")
        .unwrap_or_else(|| panic!("message {msgid} is stored"))
}

/// A record that failed at `stage` before anything decrypted.
pub fn failed(seq: u64, msgid: &str, stage: &str, code: i32) -> IngestedRecord {
    failure(seq, msgid, stage, code, None)
}

/// A record that decrypted to `plaintext` but did not parse (stage json, code 10002).
pub fn unparsed(seq: u64, msgid: &str, plaintext: &[u8]) -> IngestedRecord {
    failure(seq, msgid, stage::JSON, 10002, Some(plaintext.to_vec()))
}

fn failure(
    seq: u64,
    msgid: &str,
    stage: &str,
    code: i32,
    plaintext: Option<Vec<u8>>,
) -> IngestedRecord {
    record(
        seq,
        msgid,
        Outcome::Failed(Failure {
            stage: stage.to_owned(),
            code,
            reason: format!("{stage} failed for {msgid}"),
            plaintext,
        }),
    )
}

fn plaintext_of(r: &IngestedRecord) -> &[u8] {
    match &r.outcome {
        Outcome::Decrypted { plaintext, .. } => plaintext,
        Outcome::Failed(f) => f.plaintext.as_deref().unwrap_or_default(),
    }
}

fn expected_failed(r: &IngestedRecord, attempts: u32, first: i64, last: i64) -> FailedRecord {
    let Outcome::Failed(failure) = &r.outcome else {
        panic!("fixture {} is not a failure", r.item.msgid);
    };
    FailedRecord {
        item: r.item.clone(),
        failure: failure.clone(),
        attempts,
        first_failed_at_ms: first,
        last_failed_at_ms: last,
    }
}

/// One page with every kind of record: texts (1:1 and group), an image, a recall, a switch, and a
/// failure at each of three stages. Seqs 101..=108.
fn mixed_page() -> PageCommit {
    let records = vec![
        text(101, "t1", 1_700_000_000_101, "hi"),
        decrypted(
            102,
            "g1",
            br#"{"msgid":"g1","action":"send","from":"a","tolist":["b","c"],"roomid":"wrRoom","msgtime":1700000000102,"msgtype":"text","text":{"content":"group"}}"#,
        ),
        decrypted(
            103,
            "i1",
            br#"{"msgid":"i1","action":"send","from":"a","tolist":["b"],"roomid":"","msgtime":1700000000103,"msgtype":"image","image":{"sdkfileid":"x","md5sum":"y","filesize":1}}"#,
        ),
        failed(104, "f1", stage::NO_KEY, 10007),
        decrypted(
            105,
            "r1",
            br#"{"msgid":"r1","action":"recall","from":"a","tolist":["b"],"roomid":"","msgtime":1700000000105,"msgtype":"revoke","revoke":{"pre_msgid":"t1"}}"#,
        ),
        decrypted(
            106,
            "s1",
            br#"{"msgid":"s1","action":"switch","time":1700000000104,"user":"a"}"#,
        ),
        failed(107, "f2", stage::RSA, 10006),
        unparsed(108, "f3", b"{\"msgid\":\"f3\","),
    ];
    PageCommit {
        records,
        cursor: 108,
        quarantined: Vec::new(),
    }
}

fn map<K: Ord, const N: usize>(pairs: [(K, u64); N]) -> BTreeMap<K, u64> {
    pairs.into_iter().collect()
}
