//! Ingest throughput of the SQLite store: one on-disk commit per page of 1000 records, the shape the
//! sync engine writes (mostly decrypted texts, a few failures), and the same with the recalls and
//! quoted replies a real archive has, which the store links while committing, and a page of room
//! messages whose tolists name whole rooms (what conversation participants are gathered from).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use wecom_model::parse_envelope;
use wecom_store::{
    ArchiveWriter, Derived, Failure, IngestedRecord, Outcome, PageCommit, SqliteStore, stage,
};
use wecom_wire::ChatDataItem;

const PAGE: u64 = 1000;

fn page(first_seq: u64) -> PageCommit {
    let records = (first_seq..first_seq + PAGE)
        .map(|seq| {
            let msgid = format!("{seq}_1700000000");
            let outcome = if seq % 100 == 0 {
                Outcome::Failed(Failure {
                    stage: stage::NO_KEY.to_owned(),
                    code: 10007,
                    reason: "no private key for publickey_ver 3".to_owned(),
                    plaintext: None,
                })
            } else {
                let plaintext = format!(
                    r#"{{"msgid":"{msgid}","action":"send","from":"XuJinSheng","tolist":["icefog"],"roomid":"","msgtime":{},"msgtype":"text","text":{{"content":"message number {seq}, long enough to look like a real chat line"}}}}"#,
                    1_700_000_000_000 + seq
                )
                .into_bytes();
                let envelope = parse_envelope(&plaintext).expect("bench plaintext parses");
                let derived = Derived::from_envelope(&envelope);
                Outcome::Decrypted {
                    plaintext,
                    envelope,
                    derived,
                }
            };
            IngestedRecord {
                item: ChatDataItem {
                    seq,
                    msgid,
                    publickey_ver: 3,
                    encrypt_random_key: "k".repeat(344),
                    encrypt_chat_msg: "c".repeat(600),
                },
                fetched_at_ms: 1_700_000_100_000,
                outcome,
            }
        })
        .collect();
    PageCommit {
        records,
        cursor: first_seq + PAGE - 1,
        quarantined: Vec::new(),
    }
}

/// A page in 40 conversations: 4% recalls of earlier messages, 4% quoted replies of earlier plain
/// texts of their conversation, 1% failures, the rest texts.
fn linked_page(first_seq: u64) -> PageCommit {
    let records = (first_seq..first_seq + PAGE)
        .map(|seq| {
            let msgid = format!("{seq}_1700000000");
            let (a, b) = (format!("user{}", seq % 40), format!("peer{}", seq % 40));
            let msgtime = 1_700_000_000_000 + seq as i64 * 1000;
            // The message sent in the same conversation two rounds (80 seqs) earlier.
            let earlier = seq.saturating_sub(80).max(1);
            let json = match seq % 100 {
                0 => None,
                n if n % 25 == 3 => Some(format!(
                    r#"{{"msgid":"{msgid}","action":"recall","from":"{a}","tolist":["{b}"],"roomid":"","msgtime":{msgtime},"msgtype":"revoke","revoke":{{"pre_msgid":"{earlier}_1700000000"}}}}"#
                )),
                n if n % 25 == 9 => Some(format!(
                    r#"{{"msgid":"{msgid}","action":"send","from":"{a}","tolist":["{b}"],"roomid":"","msgtime":{msgtime},"msgtype":"text","text":{{"content":"这是一条引用/回复消息：\n\"{b}：\nmessage number {earlier}, long enough to look like a real chat line\"\n------\n收到 {seq}"}}}}"#
                )),
                _ => Some(format!(
                    r#"{{"msgid":"{msgid}","action":"send","from":"{a}","tolist":["{b}"],"roomid":"","msgtime":{msgtime},"msgtype":"text","text":{{"content":"message number {seq}, long enough to look like a real chat line"}}}}"#
                )),
            };
            let outcome = match json {
                None => Outcome::Failed(Failure {
                    stage: stage::NO_KEY.to_owned(),
                    code: 10007,
                    reason: "no private key for publickey_ver 3".to_owned(),
                    plaintext: None,
                }),
                Some(json) => {
                    let plaintext = json.into_bytes();
                    let envelope = parse_envelope(&plaintext).expect("bench plaintext parses");
                    let derived = Derived::from_envelope(&envelope);
                    Outcome::Decrypted {
                        plaintext,
                        envelope,
                        derived,
                    }
                }
            };
            IngestedRecord {
                item: ChatDataItem {
                    seq,
                    msgid,
                    publickey_ver: 3,
                    encrypt_random_key: "k".repeat(344),
                    encrypt_chat_msg: "c".repeat(600),
                },
                fetched_at_ms: 1_700_000_100_000,
                outcome,
            }
        })
        .collect();
    PageCommit {
        records,
        cursor: first_seq + PAGE - 1,
        quarantined: Vec::new(),
    }
}

/// A page of room chatter: 10 rooms of 200 members each (a quarter of them external contacts),
/// every message naming the whole room in its tolist, as WeCom's archive does.
fn room_page(first_seq: u64) -> PageCommit {
    let records = (first_seq..first_seq + PAGE)
        .map(|seq| {
            let msgid = format!("{seq}_1700000000");
            let room = seq % 10;
            let members: Vec<String> = (0..200)
                .map(|i| {
                    if i % 4 == 0 {
                        format!("wmRoom{room:02}Member{i:03}AAAAAAAAAAAAAAAAAA")
                    } else {
                        format!("user{room:02}_{i:03}")
                    }
                })
                .collect();
            let from = &members[(seq % 200) as usize];
            let plaintext = serde_json::json!({
                "msgid": msgid, "action": "send", "from": from, "tolist": members,
                "roomid": format!("wrBenchRoom{room:02}AAAAAAAAAAAA"),
                "msgtime": 1_700_000_000_000_i64 + seq as i64, "msgtype": "text",
                "text": {"content": format!("message number {seq}, long enough to look like a real chat line")},
            })
            .to_string()
            .into_bytes();
            let envelope = parse_envelope(&plaintext).expect("bench plaintext parses");
            let derived = Derived::from_envelope(&envelope);
            IngestedRecord {
                item: ChatDataItem {
                    seq,
                    msgid,
                    publickey_ver: 3,
                    encrypt_random_key: "k".repeat(344),
                    encrypt_chat_msg: "c".repeat(600),
                },
                fetched_at_ms: 1_700_000_100_000,
                outcome: Outcome::Decrypted {
                    plaintext,
                    envelope,
                    derived,
                },
            }
        })
        .collect();
    PageCommit {
        records,
        cursor: first_seq + PAGE - 1,
        quarantined: Vec::new(),
    }
}

fn commit_page(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("bench.db")).expect("open");
    let mut next = 1;
    let mut group = c.benchmark_group("sqlite");
    group.throughput(Throughput::Elements(PAGE));
    group.sample_size(20);
    group.bench_function("commit_page_1000_on_disk", |b| {
        b.iter_batched(
            || {
                let p = page(next);
                next += PAGE;
                p
            },
            |p| store.commit_page("wwbench", &p).expect("commit"),
            BatchSize::LargeInput,
        );
    });
    let store = SqliteStore::open(&dir.path().join("bench-linked.db")).expect("open");
    let mut next = 1;
    group.bench_function("commit_page_1000_linked_on_disk", |b| {
        b.iter_batched(
            || {
                let p = linked_page(next);
                next += PAGE;
                p
            },
            |p| store.commit_page("wwbench", &p).expect("commit"),
            BatchSize::LargeInput,
        );
    });
    let store = SqliteStore::open(&dir.path().join("bench-rooms.db")).expect("open");
    let mut next = 1;
    group.bench_function("commit_page_1000_rooms_of_200_on_disk", |b| {
        b.iter_batched(
            || {
                let p = room_page(next);
                next += PAGE;
                p
            },
            |p| store.commit_page("wwbench", &p).expect("commit"),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, commit_page);
criterion_main!(benches);
