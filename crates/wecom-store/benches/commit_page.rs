//! Ingest throughput of the SQLite store: one on-disk commit per page of 1000 records, the shape the
//! sync engine writes (mostly decrypted texts, a few failures).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use wecom_model::parse_envelope;
use wecom_store::{ArchiveStore, Failure, IngestedRecord, Outcome, PageCommit, SqliteStore, stage};
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
                Outcome::Decrypted { plaintext, envelope }
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
    }
}

fn commit_page(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = SqliteStore::open(&dir.path().join("bench.db")).expect("open");
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
    group.finish();
}

criterion_group!(benches, commit_page);
criterion_main!(benches);
