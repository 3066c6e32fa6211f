//! The behavioural contract of [`ArchiveStore`], as checks every implementation must pass. Enable
//! the `conformance` feature to run it against another backend:
//! `conformance::run_all(&mut || MyStore::connect(...))`, plus [`run_reopen`] for a durable backend
//! and [`run_atomicity`] with a way to make the backend fail mid-transaction.
//!
//! Checks go through the trait only, so they hold for any backend; backend-specific behaviour (file
//! errors, migrations, pragmas) is tested beside the backend.

use std::collections::BTreeMap;

use wecom_model::{Action, Envelope, parse_envelope};
use wecom_wire::ChatDataItem;

use crate::{
    ArchiveStore, CommitStats, FailedRecord, Failure, IngestedRecord, Outcome, PageCommit,
    ResolveStats, Stats, stage,
};

/// The corp most checks use.
pub const CORP: &str = "wwconformance0001";

/// A check: gets a factory of fresh, empty stores.
pub type Check<S> = fn(&mut dyn FnMut() -> S);

/// Every behavioural check, by name.
pub fn checks<S: ArchiveStore>() -> Vec<(&'static str, Check<S>)> {
    vec![
        ("empty_store_is_empty", empty_store_is_empty::<S>),
        (
            "commit_counts_every_record",
            commit_counts_every_record::<S>,
        ),
        (
            "replaying_a_page_changes_nothing",
            replaying_a_page_changes_nothing::<S>,
        ),
        (
            "conflicting_records_are_left_alone",
            conflicting_records_are_left_alone::<S>,
        ),
        ("duplicates_within_a_page", duplicates_within_a_page::<S>),
        ("cursor_is_set_as_given", cursor_is_set_as_given::<S>),
        (
            "failures_are_listed_oldest_first",
            failures_are_listed_oldest_first::<S>,
        ),
        ("resolving_failures", resolving_failures::<S>),
        (
            "seq_above_i64_max_round_trips",
            seq_above_i64_max_round_trips::<S>,
        ),
        (
            "plaintext_bytes_round_trip_exactly",
            plaintext_bytes_round_trip_exactly::<S>,
        ),
        ("corps_are_isolated", corps_are_isolated::<S>),
        ("any_stage_text_is_stored", any_stage_text_is_stored::<S>),
    ]
}

/// Runs every check, each on a fresh store from `make`. Panics on the first violation; the name of
/// the failing check is printed before it runs.
pub fn run_all<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    for (name, check) in checks::<S>() {
        eprintln!("conformance check: {name}");
        check(make);
    }
}

/// Atomicity: on an error in the middle of a page (or of a resolve batch) nothing of it is stored,
/// the cursor does not move, and the store keeps working.
///
/// `fail_on(store, msgid)` must make every later attempt of `store` to store the decrypted message
/// of `msgid` fail inside the backend, as a full disk or a dropped connection would — in SQL
/// backends, a trigger. The checks then write records before that one in the same transaction.
pub fn run_atomicity<S: ArchiveStore>(
    make: &mut dyn FnMut() -> S,
    fail_on: &mut dyn FnMut(&mut S, &str),
) {
    eprintln!("conformance check: commit_is_all_or_nothing");
    commit_is_all_or_nothing(make(), fail_on);
    eprintln!("conformance check: resolve_is_all_or_nothing");
    resolve_is_all_or_nothing(make(), fail_on);
}

/// Durability: `open` must return a store on the *same* database each call (empty on the first).
/// Everything committed must be there after the store is dropped and opened again.
pub fn run_reopen<S: ArchiveStore>(open: &mut dyn FnMut() -> S) {
    let page = PageCommit {
        records: vec![
            text(7, "m7", 1_700_000_000_007, "hello"),
            unparsed(8, "m8", b"{broken\x01\xff"),
            failed(u64::MAX, "mmax", stage::NO_KEY, 10007),
        ],
        cursor: u64::MAX,
    };
    let (stats, failures) = {
        let mut store = open();
        store.commit_page(CORP, &page).expect("commit");
        (
            store.stats(CORP).expect("stats"),
            store.failed_records(CORP, 10).expect("failed records"),
        )
    };
    let store = open();
    assert_eq!(
        store.cursor(CORP).expect("cursor"),
        u64::MAX,
        "cursor after reopen"
    );
    assert_eq!(
        store.stats(CORP).expect("stats"),
        stats,
        "stats after reopen"
    );
    assert_eq!(store.failed_records(CORP, 10).expect("failed"), failures);
    assert_eq!(
        store.plaintext(CORP, "m7").expect("plaintext"),
        Some(plaintext_of(&page.records[0]).to_vec())
    );
    assert_eq!(
        store.record_ids(CORP).expect("ids"),
        vec![
            (7, "m7".into()),
            (8, "m8".into()),
            (u64::MAX, "mmax".into())
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Checks

fn empty_store_is_empty<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    let store = make();
    store.ping().expect("ping");
    assert_eq!(store.stats(CORP).expect("stats"), Stats::default());
    assert_eq!(store.cursor(CORP).expect("cursor"), 0);
    assert!(store.record_ids(CORP).expect("ids").is_empty());
    assert!(store.failed_records(CORP, 10).expect("failed").is_empty());
    assert_eq!(store.plaintext(CORP, "nope").expect("plaintext"), None);
}

fn commit_counts_every_record<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    let mut store = make();
    let page = mixed_page();
    let got = store.commit_page(CORP, &page).expect("commit");
    assert_eq!(
        got,
        CommitStats {
            inserted: 8,
            duplicates: 0,
            failed: 3
        }
    );
    assert_eq!(
        store.stats(CORP).expect("stats"),
        Stats {
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
        }
    );
    assert_eq!(store.cursor(CORP).expect("cursor"), 108);
    let ids: Vec<(u64, String)> = page
        .records
        .iter()
        .map(|r| (r.item.seq, r.item.msgid.clone()))
        .collect();
    assert_eq!(store.record_ids(CORP).expect("ids"), ids);
}

fn replaying_a_page_changes_nothing<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    let mut store = make();
    let page = mixed_page();
    store.commit_page(CORP, &page).expect("commit");
    let before = store.stats(CORP).expect("stats");
    let failures = store.failed_records(CORP, 100).expect("failed");

    let got = store.commit_page(CORP, &page).expect("replay");
    assert_eq!(
        got,
        CommitStats {
            inserted: 0,
            duplicates: 8,
            failed: 0
        }
    );
    assert_eq!(store.stats(CORP).expect("stats"), before);
    assert_eq!(store.failed_records(CORP, 100).expect("failed"), failures);

    // A replay with a now-successful outcome is still a duplicate: failures are retried through
    // resolve_failures, never by overwriting.
    let mut replay = page.clone();
    for r in &mut replay.records {
        if matches!(r.outcome, Outcome::Failed(_)) {
            *r = text(r.item.seq, &r.item.msgid, 1_700_000_000_999, "late");
        }
    }
    let got = store.commit_page(CORP, &replay).expect("replay");
    assert_eq!(got.duplicates, 8);
    assert_eq!(store.stats(CORP).expect("stats"), before);
    assert_eq!(store.failed_records(CORP, 100).expect("failed"), failures);
}

fn conflicting_records_are_left_alone<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    let mut store = make();
    let original = text(1, "a", 1_700_000_000_001, "original");
    store
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![original.clone()],
                cursor: 1,
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
    };
    let got = store.commit_page(CORP, &page).expect("commit");
    assert_eq!(
        got,
        CommitStats {
            inserted: 0,
            duplicates: 2,
            failed: 0
        }
    );
    assert_eq!(
        store.record_ids(CORP).expect("ids"),
        vec![(1, "a".to_owned())]
    );
    assert_eq!(
        store.plaintext(CORP, "a").expect("plaintext"),
        Some(plaintext_of(&original).to_vec())
    );
    assert_eq!(store.plaintext(CORP, "b").expect("plaintext"), None);
    assert_eq!(store.stats(CORP).expect("stats").decrypted, 1);
}

fn duplicates_within_a_page<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    let mut store = make();
    let page = PageCommit {
        records: vec![
            text(1, "a", 1_700_000_000_001, "first"),
            text(1, "a", 1_700_000_000_001, "first"),
            failed(2, "a", stage::NO_KEY, 10007),
        ],
        cursor: 2,
    };
    let got = store.commit_page(CORP, &page).expect("commit");
    assert_eq!(
        got,
        CommitStats {
            inserted: 1,
            duplicates: 2,
            failed: 0
        }
    );
    let stats = store.stats(CORP).expect("stats");
    assert_eq!((stats.records, stats.decrypted, stats.failed), (1, 1, 0));
}

fn cursor_is_set_as_given<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    let mut store = make();
    let empty = |cursor| PageCommit {
        records: vec![],
        cursor,
    };
    assert_eq!(
        store.commit_page(CORP, &empty(42)).expect("commit"),
        CommitStats::default()
    );
    assert_eq!(store.cursor(CORP).expect("cursor"), 42);
    assert_eq!(store.stats(CORP).expect("stats").records, 0);
    // A smaller cursor rewinds (a deliberate re-pull); it costs only duplicates.
    store.commit_page(CORP, &empty(5)).expect("commit");
    assert_eq!(store.cursor(CORP).expect("cursor"), 5);
    assert_eq!(store.stats(CORP).expect("stats").cursor_seq, 5);
}

fn failures_are_listed_oldest_first<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    let mut store = make();
    let page = PageCommit {
        records: vec![
            failed(30, "c", stage::NO_KEY, 10007),
            text(5, "ok", 1_700_000_000_005, "fine"),
            failed(10, "a", stage::RSA, 10006),
            unparsed(20, "b", b"not json"),
        ],
        cursor: 30,
    };
    store.commit_page(CORP, &page).expect("commit");
    let all = store.failed_records(CORP, 10).expect("failed");
    assert_eq!(
        all,
        vec![
            expected_failed(&page.records[2], 1, FETCHED_AT, FETCHED_AT),
            expected_failed(&page.records[3], 1, FETCHED_AT, FETCHED_AT),
            expected_failed(&page.records[0], 1, FETCHED_AT, FETCHED_AT),
        ]
    );
    assert_eq!(store.failed_records(CORP, 2).expect("failed"), all[..2]);
    assert!(store.failed_records(CORP, 0).expect("failed").is_empty());
}

fn resolving_failures<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    let mut store = make();
    let page = PageCommit {
        records: vec![
            failed(1, "a", stage::NO_KEY, 10007),
            failed(2, "b", stage::RSA, 10006),
            unparsed(3, "c", b"{\"msgid\":"),
            text(4, "d", 1_700_000_000_004, "already fine"),
        ],
        cursor: 4,
    };
    store.commit_page(CORP, &page).expect("commit");

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
        store.plaintext(CORP, "a").expect("plaintext"),
        Some(plaintext_of(&a).to_vec())
    );
    let mut b = expected_failed(&page.records[1], 2, FETCHED_AT, now);
    b.failure = b_again;
    assert_eq!(
        store.failed_records(CORP, 10).expect("failed"),
        vec![
            b,
            expected_failed(&page.records[2], 1, FETCHED_AT, FETCHED_AT)
        ]
    );
    let stats = store.stats(CORP).expect("stats");
    assert_eq!((stats.records, stats.decrypted, stats.failed), (4, 2, 2));
    assert_eq!(stats.failed_by_code, map([(10002, 1), (10008, 1)]));
    assert_eq!(stats.by_msgtype, map([("text".to_owned(), 2)]));
    assert_eq!(stats.first_msgtime, Some(1_700_000_000_001));

    // Resolving again finds nothing: the failure is gone.
    let got = store
        .resolve_failures(CORP, &results[..1], now)
        .expect("resolve");
    assert_eq!(got.not_found, 1);
    assert_eq!(store.stats(CORP).expect("stats"), stats);
}

fn seq_above_i64_max_round_trips<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    let mut store = make();
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
        .commit_page(
            CORP,
            &PageCommit {
                records,
                cursor: u64::MAX - 1,
            },
        )
        .expect("commit");
    let mut sorted = seqs.to_vec();
    sorted.sort_unstable();
    let expected: Vec<(u64, String)> = sorted.iter().map(|s| (*s, format!("m{s}"))).collect();
    assert_eq!(store.record_ids(CORP).expect("ids"), expected);
    assert_eq!(store.cursor(CORP).expect("cursor"), u64::MAX - 1);
    let failed_seqs: Vec<u64> = store
        .failed_records(CORP, 10)
        .expect("failed")
        .iter()
        .map(|f| f.item.seq)
        .collect();
    assert_eq!(failed_seqs, vec![big + 1, u64::MAX - 1, u64::MAX]);
    // The limit applies across the i64 boundary too.
    let first_two: Vec<u64> = store
        .failed_records(CORP, 2)
        .expect("failed")
        .iter()
        .map(|f| f.item.seq)
        .collect();
    assert_eq!(first_two, vec![big + 1, u64::MAX - 1]);
}

fn plaintext_bytes_round_trip_exactly<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    let mut store = make();
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
            envelope,
        },
    );
    let not_json = unparsed(3, "unparsed", &all_bytes);
    let empty = decrypted_with(4, "empty", Vec::new(), "empty");
    store
        .commit_page(
            CORP,
            &PageCommit {
                records: vec![with_control, raw, not_json, empty],
                cursor: 4,
            },
        )
        .expect("commit");

    assert_eq!(
        store.plaintext(CORP, "ctl").expect("ctl"),
        Some(control.to_vec())
    );
    assert_eq!(
        store.plaintext(CORP, "raw").expect("raw"),
        Some(all_bytes.clone())
    );
    assert_eq!(
        store.plaintext(CORP, "unparsed").expect("unparsed"),
        Some(all_bytes.clone())
    );
    assert_eq!(
        store.plaintext(CORP, "empty").expect("empty"),
        Some(Vec::new())
    );
    let failures = store.failed_records(CORP, 10).expect("failed");
    assert_eq!(failures.len(), 1);
    assert_eq!(
        failures[0].failure.plaintext.as_deref(),
        Some(&all_bytes[..])
    );
}

fn corps_are_isolated<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    let mut store = make();
    let other = "wwotherco";
    let page = |body: &str, cursor| PageCommit {
        records: vec![
            text(1, "same", 1_700_000_000_001, body),
            failed(2, "f", stage::NO_KEY, 10007),
        ],
        cursor,
    };
    let mine = page("mine", 2);
    let theirs = page("theirs", 9);
    assert_eq!(store.commit_page(CORP, &mine).expect("mine").inserted, 2);
    assert_eq!(
        store.commit_page(other, &theirs).expect("theirs").inserted,
        2
    );
    assert_eq!(store.cursor(CORP).expect("cursor"), 2);
    assert_eq!(store.cursor(other).expect("cursor"), 9);
    assert_eq!(
        store.plaintext(other, "same").expect("plaintext"),
        Some(plaintext_of(&theirs.records[0]).to_vec())
    );
    assert_eq!(store.stats(CORP).expect("stats").records, 2);
    assert_eq!(store.stats("wwnobody").expect("stats"), Stats::default());

    let got = store
        .resolve_failures(other, &[("f".to_owned(), text(2, "f", 5, "ok").outcome)], 0)
        .expect("resolve");
    assert_eq!(got.resolved, 1);
    assert_eq!(store.stats(CORP).expect("stats").failed, 1);
    assert_eq!(store.stats(other).expect("stats").failed, 0);
}

fn any_stage_text_is_stored<S: ArchiveStore>(make: &mut dyn FnMut() -> S) {
    // Rejecting a label would reject the whole page, encrypted records included.
    let mut store = make();
    let page = PageCommit {
        records: vec![
            failed(1, "a", stage::INTERNAL, 10003),
            failed(2, "b", "a_stage_from_the_future", -1),
            failed(3, "c", "", 0),
        ],
        cursor: 3,
    };
    assert_eq!(store.commit_page(CORP, &page).expect("commit").failed, 3);
    let stages: Vec<String> = store
        .failed_records(CORP, 10)
        .expect("failed")
        .into_iter()
        .map(|f| f.failure.stage)
        .collect();
    assert_eq!(stages, ["internal", "a_stage_from_the_future", ""]);
    assert_eq!(
        store.stats(CORP).expect("stats").failed_by_code,
        map([(-1, 1), (0, 1), (10003, 1)])
    );
}

fn commit_is_all_or_nothing<S: ArchiveStore>(mut store: S, fail_on: &mut dyn FnMut(&mut S, &str)) {
    let first = PageCommit {
        records: vec![text(1, "m1", 1_700_000_000_001, "one")],
        cursor: 1,
    };
    store.commit_page(CORP, &first).expect("commit");
    let before = store.stats(CORP).expect("stats");

    // m4 fails after m2 and m3 were written inside the same transaction.
    fail_on(&mut store, "m4");
    let page = PageCommit {
        records: vec![
            text(2, "m2", 1_700_000_000_002, "two"),
            failed(3, "m3", stage::NO_KEY, 10007),
            text(4, "m4", 1_700_000_000_004, "four"),
        ],
        cursor: 4,
    };
    store
        .commit_page(CORP, &page)
        .expect_err("the backend fails on m4");
    assert_eq!(store.stats(CORP).expect("stats"), before);
    assert_eq!(store.cursor(CORP).expect("cursor"), 1);
    assert_eq!(
        store.record_ids(CORP).expect("ids"),
        vec![(1, "m1".to_owned())]
    );
    assert_eq!(store.plaintext(CORP, "m2").expect("plaintext"), None);
    assert!(store.failed_records(CORP, 10).expect("failed").is_empty());

    // The failed transaction left nothing open: the next page commits.
    let retry = PageCommit {
        records: page.records[..2].to_vec(),
        cursor: 3,
    };
    let got = store.commit_page(CORP, &retry).expect("commit");
    assert_eq!(
        got,
        CommitStats {
            inserted: 2,
            duplicates: 0,
            failed: 1
        }
    );
    assert_eq!(store.cursor(CORP).expect("cursor"), 3);
}

fn resolve_is_all_or_nothing<S: ArchiveStore>(mut store: S, fail_on: &mut dyn FnMut(&mut S, &str)) {
    let page = PageCommit {
        records: vec![
            failed(1, "a", stage::NO_KEY, 10007),
            failed(2, "b", stage::NO_KEY, 10007),
            failed(3, "c", stage::NO_KEY, 10007),
        ],
        cursor: 3,
    };
    store.commit_page(CORP, &page).expect("commit");
    let before = store.failed_records(CORP, 10).expect("failed");

    fail_on(&mut store, "c");
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
        .resolve_failures(CORP, &results, FETCHED_AT + 1)
        .expect_err("the backend fails on c");
    assert_eq!(store.failed_records(CORP, 10).expect("failed"), before);
    assert_eq!(store.plaintext(CORP, "a").expect("plaintext"), None);
    assert_eq!(store.stats(CORP).expect("stats").decrypted, 0);

    let got = store
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
    }
}

fn map<K: Ord, const N: usize>(pairs: [(K, u64); N]) -> BTreeMap<K, u64> {
    pairs.into_iter().collect()
}
