//! The archive's figures (`stats`), the media queue and the cursor status.

use wecom_store::conformance::{self, CORP, T0};
use wecom_store::stage;
use wecom_views::{archive_stats, cursor_status, media_status};
use wecom_wire::{QuarantineReason, QuarantinedItem};

use crate::{archive, chats, commit, fields, sorted};

/// A quarantined item whose kept bytes name its seq (items are kept once per content).
fn quarantined(seq: Option<u64>, reason: QuarantineReason) -> QuarantinedItem {
    QuarantinedItem {
        seq,
        raw: format!("{{\"seq\":{seq:?}").into_bytes(),
        reason,
    }
}

#[test]
fn the_stats_document_counts_everything_under_the_cli_names() {
    let store = archive();
    commit(
        &store,
        vec![
            conformance::chat(1, "m1", "alice", &["bob"], "", T0, "a"),
            conformance::chat(2, "m2", "alice", &["bob"], "", T0 + 1, "b"),
            conformance::media_image(5, "img", T0 + 86_400_000, "sdkfileid-1"),
            conformance::failed(6, "f6", stage::NO_KEY, 10007),
        ],
        vec![quarantined(
            None,
            QuarantineReason::Unparseable("no msgid".to_owned()),
        )],
    );
    let s = archive_stats(&*store.reader, CORP, "/srv/media").expect("stats");
    let c = &s.counts;
    assert_eq!(c.corp_id, CORP);
    assert_eq!((c.records, c.decrypted, c.failed), (4, 3, 1));
    assert_eq!(c.failed_by_code.get(&10007), Some(&1));
    assert_eq!((c.cursor_seq, c.quarantined), (6, 1));
    assert_eq!(c.by_msgtype.get("image"), Some(&1));
    assert_eq!(
        (c.first_msgtime, c.last_msgtime),
        (Some(T0), Some(T0 + 86_400_000))
    );
    assert_eq!(
        (s.media.total, s.media.pending, s.media.media_dir.as_str()),
        (1, 1, "/srv/media")
    );
    assert_eq!(s.media.oldest_pending_msgtime, Some(T0 + 86_400_000));
    // seqs 3 and 4 were never archived.
    assert_eq!((s.seq_gaps.count, s.seq_gaps.missing_seqs), (1, 2));
    assert_eq!(s.seq_gaps.ranges, vec![(3, 4)]);
    // China time: T0 is 2023-11-15 06:13.
    let days: Vec<(&str, u64)> = s.per_day.iter().map(|(d, n)| (d.as_str(), *n)).collect();
    assert_eq!(days, vec![("2023-11-15", 2), ("2023-11-16", 1)]);
    assert_eq!(s.names.rooms_total, 0);

    let json = serde_json::to_value(&s).expect("json");
    assert_eq!(
        fields(&s),
        sorted(&[
            "corp_id",
            "records",
            "decrypted",
            "failed",
            "failed_by_code",
            "distinct_msgids",
            "cursor_seq",
            "by_msgtype",
            "by_action",
            "first_msgtime",
            "last_msgtime",
            "quarantined",
            "quarantined_by_kind",
            "media",
            "names",
            "seq_gaps",
            "per_day",
            "search",
        ])
    );
    // The search index's figures are the caller's to fill in (views do not read the index).
    assert!(json["search"].is_null());
    let with_index = wecom_views::ArchiveStats {
        search: Some(wecom_views::SearchFigures { indexed: 3, lag: 0 }),
        ..s.clone()
    };
    assert_eq!(
        serde_json::to_value(&with_index).expect("json")["search"],
        serde_json::json!({"indexed": 3, "lag": 0})
    );
    assert_eq!(json["failed_by_code"], serde_json::json!({"10007": 1}));
    assert_eq!(
        json["quarantined_by_kind"],
        serde_json::json!({"unparseable": 1})
    );
    assert_eq!(
        json["seq_gaps"],
        serde_json::json!({"count": 1, "missing_seqs": 2, "ranges": [[3, 4]]})
    );
    assert_eq!(json["per_day"]["2023-11-16"], 1);
    assert_eq!(
        fields(&s.media),
        sorted(&[
            "total",
            "done",
            "pending",
            "downloading",
            "failed",
            "failed_retryable",
            "failed_permanent",
            "expired",
            "failed_by_code",
            "objects",
            "bytes",
            "quarantined_objects",
            "oldest_pending_msgtime",
            "media_dir",
        ])
    );
    assert_eq!(
        fields(&s.names),
        sorted(&[
            "rooms_total",
            "rooms_named",
            "rooms_unresolvable",
            "rooms_unchecked",
            "people_total",
            "people_named",
            "people_unresolvable",
            "people_unchecked",
            "permit_users",
            "consent_agree",
            "consent_disagree",
        ])
    );
}

#[test]
fn names_are_counted_in_the_stats() {
    let store = chats();
    let s = archive_stats(&*store.reader, CORP, "media").expect("stats");
    assert_eq!((s.names.rooms_total, s.names.rooms_named), (1, 1));
    assert_eq!(s.names.people_named, 1);
    assert_eq!(s.counts.decrypted, 6);
}

#[test]
fn the_media_status_ages_the_oldest_pending_job() {
    let store = archive();
    let msgtime = T0;
    commit(
        &store,
        vec![conformance::media_image(1, "img", msgtime, "sdkfileid-1")],
        Vec::new(),
    );
    let status = media_status(
        &*store.reader,
        CORP,
        "s3://bucket/media",
        msgtime + 7_200_500,
    )
    .expect("status");
    assert_eq!(status.oldest_pending_age_seconds, Some(7200));
    assert_eq!((status.media.total, status.media.pending), (1, 1));
    // The media figures flat beside the age, as `media status --json` printed them.
    let json = serde_json::to_value(&status).expect("json");
    assert_eq!(json["media_dir"], "s3://bucket/media");
    assert_eq!(json["oldest_pending_age_seconds"], 7200);
    assert_eq!(json["total"], 1);
    // A clock behind the message never gives a negative age.
    let status = media_status(&*store.reader, CORP, "m", msgtime - 5_000).expect("status");
    assert_eq!(status.oldest_pending_age_seconds, Some(0));

    let empty = media_status(&*archive().reader, CORP, "m", msgtime).expect("status");
    assert_eq!(empty.oldest_pending_age_seconds, None);
}

#[test]
fn the_cursor_status_counts_what_lies_above_it() {
    let store = archive();
    commit(
        &store,
        vec![
            conformance::chat(1, "m1", "alice", &["bob"], "", T0, "a"),
            conformance::chat(6, "m6", "alice", &["bob"], "", T0 + 1, "b"),
        ],
        vec![
            quarantined(Some(3), QuarantineReason::Unparseable("bad".to_owned())),
            quarantined(
                Some(1_000_006),
                QuarantineReason::SeqJump {
                    from: 6,
                    max_jump: 1000,
                },
            ),
            quarantined(None, QuarantineReason::Unparseable("no seq".to_owned())),
        ],
    );
    let status = cursor_status(&*store.reader, CORP).expect("status");
    assert_eq!(
        (status.cursor, status.max_archived_seq, status.quarantined),
        (6, Some(6), 3)
    );
    // The jump and the item without a seq lie above the cursor; seq 3 lies behind it.
    assert_eq!(status.quarantined_above_cursor, 2);
    let listed: Vec<(Option<u64>, &str)> = status
        .quarantined_items
        .iter()
        .map(|q| (q.seq, q.kind.as_str()))
        .collect();
    assert_eq!(
        listed,
        vec![
            (Some(3), "unparseable"),
            (Some(1_000_006), "seq_jump"),
            (None, "unparseable")
        ]
    );
    assert_eq!(
        status.quarantined_items[0].bytes,
        "{\"seq\":Some(3)".len() as u64
    );
    assert_eq!(status.quarantined_items[0].cursor_when_seen, 6);
    assert_eq!(status.quarantined_items[0].times_seen, 1);

    assert_eq!(
        fields(&status),
        sorted(&[
            "corp_id",
            "cursor",
            "max_archived_seq",
            "quarantined",
            "quarantined_above_cursor",
            "quarantined_items",
        ])
    );
    assert_eq!(
        fields(&status.quarantined_items[0]),
        sorted(&[
            "seq",
            "kind",
            "reason",
            "bytes",
            "cursor_when_seen",
            "times_seen",
            "first_seen_ms",
            "last_seen_ms",
        ])
    );

    let empty = cursor_status(&*archive().reader, CORP).expect("status");
    assert_eq!(
        (empty.cursor, empty.max_archived_seq, empty.quarantined),
        (0, None, 0)
    );
}
