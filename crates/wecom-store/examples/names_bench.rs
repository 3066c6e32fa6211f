//! What naming costs the archive: an on-disk archive of N messages (default 200,000) in 300 rooms
//! and one-to-one chats among 2,000 employees and 5,000 external contacts, then the store's side of
//! a first naming pass — discovering every id, handing out the due entries, recording an answer
//! for each, the consent subjects, display names — printed next to the time the same messages took
//! to commit (the baseline measured in the same run).
//!
//! `cargo run --release -p wecom-store --example names_bench [-- MESSAGES]`

use std::time::Instant;

use wecom_model::parse_envelope;
use wecom_store::names::{Discovery, PersonInfo, Resolution, RoomInfo, RoomKind};
use wecom_store::{
    ArchiveReader, ArchiveWriter, Derived, Directory, IngestedRecord, Outcome, PageCommit,
    SqliteStore,
};
use wecom_wire::ChatDataItem;

const CORP: &str = "wwnamesbench00001";
const PAGE: u64 = 1000;
const ROOMS: u64 = 300;
const EMPLOYEES: u64 = 2000;
const EXTERNALS: u64 = 5000;

fn external(i: u64) -> String {
    format!("wmBenchContact{:018}", i % EXTERNALS)
}

fn employee(i: u64) -> String {
    format!("employee{:05}", i % EMPLOYEES)
}

fn room(i: u64) -> String {
    format!("wrBenchRoom{:021}", i % ROOMS)
}

fn record(seq: u64) -> IngestedRecord {
    let msgid = format!("{seq}_1700000000");
    let from = employee(seq * 7);
    // Half the messages in rooms, half one-to-one with an external contact.
    let (tolist, roomid) = if seq.is_multiple_of(2) {
        (
            format!(
                r#"["{}","{}","{}"]"#,
                employee(seq * 3),
                employee(seq * 5),
                external(seq)
            ),
            room(seq / 2),
        )
    } else {
        (format!(r#"["{}"]"#, external(seq * 11)), String::new())
    };
    let plaintext = format!(
        r#"{{"msgid":"{msgid}","action":"send","from":"{from}","tolist":{tolist},"roomid":"{roomid}","msgtime":{},"msgtype":"text","text":{{"content":"message {seq}"}}}}"#,
        1_700_000_000_000 + seq
    )
    .into_bytes();
    let envelope = parse_envelope(&plaintext).expect("bench plaintext parses");
    let derived = Derived::from_envelope(&envelope);
    IngestedRecord {
        item: ChatDataItem {
            seq,
            msgid,
            publickey_ver: 1,
            encrypt_random_key: "k".repeat(344),
            encrypt_chat_msg: "c".repeat(300),
        },
        fetched_at_ms: 1_700_000_100_000,
        outcome: Outcome::Decrypted {
            plaintext,
            envelope,
            derived,
        },
    }
}

fn main() {
    let messages: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("archive.db")).expect("archive");
    let reader = store.reader();

    let started = Instant::now();
    let mut seq = 1;
    while seq <= messages {
        let last = (seq + PAGE - 1).min(messages);
        let records = (seq..=last).map(record).collect();
        store
            .commit_page(
                CORP,
                &PageCommit {
                    records,
                    cursor: last,
                    quarantined: Vec::new(),
                },
            )
            .expect("commit");
        seq = last + 1;
    }
    let commit = started.elapsed();

    let now = 1_800_000_000_000;
    let started = Instant::now();
    let (mut rooms, mut people) = (0, 0);
    loop {
        // One discovery step as the name resolver takes it (`wecom-names`).
        let after = reader.follower_position(CORP, "names").expect("position");
        let messages = reader.feed(CORP, after, 5000).expect("feed");
        let Some(last) = messages.last() else { break };
        let found = Discovery::from_messages(&messages);
        let found = store
            .record_discovered(CORP, &found, last.feed_pos, now)
            .expect("discover");
        rooms += found.rooms_new;
        people += found.people_new;
    }
    let discover = started.elapsed();

    let started = Instant::now();
    let mut recorded = 0u64;
    loop {
        let due = store.due_rooms(CORP, now, 100).expect("due rooms");
        if due.is_empty() {
            break;
        }
        for r in due {
            let info = Resolution::Named(RoomInfo {
                kind: RoomKind::Internal,
                name: format!("群 {}", r.roomid),
                owner: employee(1),
                created_at: Some(1_600_000_000),
                notice: String::new(),
                members: Vec::new(),
            });
            store
                .record_room(CORP, &r.roomid, &info, now, now + 86_400_000)
                .expect("record room");
            recorded += 1;
        }
    }
    loop {
        let due = store.due_people(CORP, now, 100).expect("due people");
        if due.is_empty() {
            break;
        }
        for p in due {
            let info = Resolution::Named(PersonInfo {
                name: format!("姓名 {}", p.id),
                ..PersonInfo::default()
            });
            store
                .record_person(CORP, &p.id, &info, now, now + 86_400_000)
                .expect("record person");
            recorded += 1;
        }
    }
    let record = started.elapsed();

    let started = Instant::now();
    let consent = store
        .due_consent_checks(CORP, now, usize::MAX)
        .expect("consent subjects");
    let consent_time = started.elapsed();

    let ids: Vec<String> = (0..1000).map(|i| employee(i * 13)).collect();
    let started = Instant::now();
    let shown = reader
        .display_names(CORP, &ids, Some(&room(0)))
        .expect("display names");
    let display = started.elapsed();
    assert_eq!(shown.len(), ids.len());

    let secs = |d: std::time::Duration| d.as_secs_f64();
    println!("names_bench: {messages} messages, {rooms} rooms, {people} people discovered");
    println!(
        "  commit of the messages (baseline)       {:>8.2} s",
        secs(commit)
    );
    println!(
        "  discovery of every id                   {:>8.2} s  ({:.1}% of the commit time)",
        secs(discover),
        100.0 * secs(discover) / secs(commit)
    );
    println!(
        "  {recorded} answers recorded, one transaction each {:>6.2} s  ({:.0} per second)",
        secs(record),
        recorded as f64 / secs(record)
    );
    println!(
        "  consent subjects ({}) found             {:>8.3} s",
        consent.subjects.len(),
        secs(consent_time)
    );
    println!(
        "  display names of 1,000 ids               {:>8.4} s",
        secs(display)
    );
}
