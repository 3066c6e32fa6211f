//! Searching an indexed archive: filters, exclusions, names, recalls, order, pages, snippets and
//! the errors a caller can get.

mod support;

use std::collections::HashSet;

use support::{Archive, CORP, catch_up, request, sorted};
use tokio_util::sync::CancellationToken;
use wecom_search::{
    Filters, IndexerOptions, SearchError, SearchIndex, SearchRequest, Searcher, Sort,
};
use wecom_store::conformance::{chat, decrypted, recall};
use wecom_store::names::{PersonInfo, Resolution, RoomInfo, RoomKind};

const T0: i64 = 1_767_225_600_000; // 2026-01-01 08:00 China time
const DAY: i64 = 86_400_000;

fn image(seq: u64, msgid: &str, msgtime: i64) -> wecom_store::IngestedRecord {
    let json = serde_json::json!({
        "msgid": msgid, "action": "send", "from": "alice", "tolist": ["bob"], "roomid": "",
        "msgtime": msgtime, "msgtype": "image",
        "image": {"md5sum": "368b6c18c82e6441bfd89b343e9d2429", "filesize": 13177,
                  "sdkfileid": "fileid-of-m5"},
    });
    decrypted(seq, msgid, json.to_string().as_bytes())
}

/// Six messages: a pair chat, a room, an image, an external contact.
fn corpus() -> Archive {
    let mut a = Archive::new();
    a.commit(vec![
        chat(1, "m1", "alice", &["bob"], "", T0, "请把合同发我邮箱"),
        chat(
            2,
            "m2",
            "carol",
            &["alice", "carol", "dave"],
            "wr1",
            T0 + 1000,
            "合同已经签好了",
        ),
        chat(
            3,
            "m3",
            "dave",
            &["alice", "carol", "dave"],
            "wr1",
            T0 + 2000,
            "明天开会讨论合同条款",
        ),
        chat(4, "m4", "alice", &["bob"], "", T0 + 2 * DAY, "私人账户转账"),
        image(5, "m5", T0 + 3000),
        chat(
            6,
            "m6_external",
            "wmEXT",
            &["alice"],
            "",
            T0 + 3 * DAY,
            "合同什么时候寄",
        ),
    ]);
    a
}

fn ids(searcher: &Searcher, query: &str, filters: &Filters) -> Vec<String> {
    sorted(searcher.matching_msgids(query, filters).expect("search"))
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn filters_narrow_the_hits() {
    let a = corpus();
    catch_up(&a.indexer(IndexerOptions::default()));
    let s = a.searcher();
    let none = Filters::default();
    assert_eq!(
        ids(&s, "合同", &none),
        v(&["m1", "m2", "m3", "m6_external"])
    );
    let room = Filters {
        room: Some("wr1".into()),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "合同", &room), v(&["m2", "m3"]));
    assert_eq!(ids(&s, "合同 room:wr1", &none), v(&["m2", "m3"]));
    assert_eq!(ids(&s, "合同 from:carol", &none), v(&["m2"]));
    assert_eq!(
        ids(&s, "合同 from:carol from:alice", &none),
        v(&["m1", "m2"])
    );
    let from = Filters {
        from: Some("dave".into()),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "合同", &from), v(&["m3"]));
    let participant = Filters {
        participant: Some("bob".into()),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "", &participant), v(&["m1", "m4", "m5"]));
    let conversation = Filters {
        conversation: Some("room:wr1".into()),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "", &conversation), v(&["m2", "m3"]));
    // A set of conversations (what a reviewer may see): any of them, and none for an empty set.
    let pair = Filters {
        conversations: Some(v(&["pair:alice|bob", "room:wr1"])),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "", &pair), v(&["m1", "m2", "m3", "m4", "m5"]));
    let rooms = Filters {
        conversations: Some(v(&["room:wr1", "room:unknown"])),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "合同", &rooms), v(&["m2", "m3"]));
    let no_conversation = Filters {
        conversations: Some(vec![]),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "", &no_conversation), Vec::<String>::new());
    let external = Filters {
        external: Some(true),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "合同", &external), v(&["m6_external"]));
    let internal = Filters {
        external: Some(false),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "合同", &internal), v(&["m1", "m2", "m3"]));
    // Types, media, in the query or as filters; a filter alone is a search.
    assert_eq!(ids(&s, "type:image", &none), v(&["m5"]));
    let media = Filters {
        has_media: Some(true),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "", &media), v(&["m5"]));
    let texts = Filters {
        msgtypes: vec!["text".into()],
        ..Filters::default()
    };
    assert_eq!(ids(&s, "", &texts).len(), 5);
    // Time: the query's dates are China days; the filters are ms, `until` exclusive.
    assert_eq!(
        ids(&s, "合同 before:2026-01-02", &none),
        v(&["m1", "m2", "m3"])
    );
    assert_eq!(
        ids(&s, "after:2026-01-02", &none),
        v(&["m4", "m6_external"])
    );
    let window = Filters {
        since_ms: Some(T0 + 1000),
        until_ms: Some(T0 + 2000),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "合同", &window), v(&["m2"]));
    // Exclusions, of words and phrases.
    assert_eq!(
        ids(&s, "合同 -签好", &none),
        v(&["m1", "m3", "m6_external"])
    );
    assert_eq!(
        ids(&s, "合同 -\"开会讨论\" -邮箱", &none),
        v(&["m2", "m6_external"])
    );
    assert_eq!(ids(&s, "-合同", &none), v(&["m4", "m5"]));
    // A reviewer's scope: messages with one of these participants.
    let scope = Filters {
        within: Some(v(&["dave"])),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "合同", &scope), v(&["m2", "m3"]));
    let nobody = Filters {
        within: Some(vec![]),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "合同", &nobody), Vec::<String>::new());
}

#[test]
fn recalled_messages_are_found_and_marked() {
    let mut a = corpus();
    let indexer = a.indexer(IndexerOptions::default());
    catch_up(&indexer);
    // The recall arrives after the message was indexed: its document is replaced.
    a.commit(vec![recall(
        7,
        "r1",
        "dave",
        &["alice", "carol", "dave"],
        "wr1",
        T0 + 5000,
        "m3",
    )]);
    let report = catch_up(&indexer);
    assert_eq!((report.indexed, report.updated), (1, 1));
    let s = a.searcher();
    let recalled = Filters {
        recalled: Some(true),
        ..Filters::default()
    };
    assert_eq!(ids(&s, "", &recalled), v(&["m3"]));
    let page = s.search(&request("开会")).expect("search");
    assert_eq!(page.hits.len(), 1);
    let hit = &page.hits[0];
    assert!(hit.recalled);
    assert_eq!(hit.message.recalled_at, Some(T0 + 5000));
    // Replaced, not duplicated.
    assert_eq!(page.total, 1);
    assert_eq!(a.searcher().index().documents().expect("docs"), 7);
}

#[test]
fn a_recall_stored_before_its_message_marks_it_when_indexed() {
    let mut a = Archive::new();
    a.commit(vec![recall(2, "r1", "alice", &["bob"], "", T0 + 10, "m1")]);
    a.commit(vec![chat(1, "m1", "alice", &["bob"], "", T0, "撤回的消息")]);
    let report = catch_up(&a.indexer(IndexerOptions::default()));
    assert_eq!((report.indexed, report.updated), (2, 0));
    let recalled = Filters {
        recalled: Some(true),
        ..Filters::default()
    };
    assert_eq!(ids(&a.searcher(), "撤回", &recalled), v(&["m1"]));
}

#[test]
fn names_of_senders_and_rooms_are_searched_too() {
    let a = corpus();
    let person = PersonInfo {
        name: "王小明".into(),
        corp_name: String::new(),
        position: String::new(),
        external_type: None,
        creator: String::new(),
        departments: Vec::new(),
    };
    a.roles
        .directory
        .record_person(CORP, "carol", &Resolution::Named(person), T0, T0 + DAY)
        .expect("person");
    let room = RoomInfo {
        kind: RoomKind::Internal,
        name: "理财VIP群".into(),
        owner: "dave".into(),
        created_at: None,
        notice: String::new(),
        members: vec![],
    };
    a.roles
        .directory
        .record_room(CORP, "wr1", &Resolution::Named(room), T0, T0 + DAY)
        .expect("room");
    catch_up(&a.indexer(IndexerOptions::default()));
    let s = a.searcher();
    assert_eq!(ids(&s, "小明", &Filters::default()), v(&["m2"]));
    assert_eq!(ids(&s, "vip群", &Filters::default()), v(&["m2", "m3"]));
    assert_eq!(ids(&s, "vip 条款", &Filters::default()), v(&["m3"]));
    let page = s.search(&request("合同 from:carol")).expect("search");
    let hit = &page.hits[0];
    assert_eq!(hit.message.from_name.as_deref(), Some("王小明"));
    assert_eq!(hit.conversation_name.as_deref(), Some("理财VIP群"));
    assert_eq!(hit.snippet.marked("[", "]"), "[合同]已经签好了");
}

#[test]
fn relevance_ranks_denser_matches_first_then_newer() {
    let mut a = Archive::new();
    a.commit(vec![
        chat(
            1,
            "once",
            "a",
            &["b"],
            "",
            T0,
            "关于退款的事情我们下周再找时间详细沟通一下吧，谢谢您的耐心",
        ),
        chat(2, "thrice", "a", &["b"], "", T0 - DAY, "退款退款退款"),
        chat(3, "same-old", "a", &["b"], "", T0 - 2 * DAY, "申请退款"),
        chat(4, "same-new", "a", &["b"], "", T0 + DAY, "申请退款"),
    ]);
    catch_up(&a.indexer(IndexerOptions::default()));
    let page = a.searcher().search(&request("退款")).expect("search");
    let order: Vec<&str> = page.hits.iter().map(|h| h.message.msgid.as_str()).collect();
    assert_eq!(order[0], "thrice");
    let new = order.iter().position(|m| *m == "same-new").expect("hit");
    let old = order.iter().position(|m| *m == "same-old").expect("hit");
    assert_eq!(new + 1, old, "equal scores: the newer first ({order:?})");
    assert!(page.hits.iter().all(|h| h.score.is_some()));
}

fn all_pages(s: &Searcher, mut req: SearchRequest) -> (Vec<String>, Vec<i64>, u64) {
    let mut seen = Vec::new();
    let mut times = Vec::new();
    let mut total = None;
    loop {
        let page = s.search(&req).expect("page");
        assert!(page.hits.len() <= req.limit);
        assert_eq!(
            *total.get_or_insert(page.total),
            page.total,
            "the total stays"
        );
        seen.extend(page.hits.iter().map(|h| h.message.msgid.clone()));
        times.extend(page.hits.iter().map(|h| h.message.msgtime));
        match page.next_cursor {
            Some(c) => req.cursor = Some(c),
            None => return (seen, times, total.unwrap_or(0)),
        }
    }
}

#[test]
fn pages_cover_every_hit_once_in_order_even_while_indexing() {
    let mut a = Archive::new();
    // 31 hits, several sharing a time (the tie-break is the feed position).
    a.commit(
        (1..=31)
            .map(|n| {
                chat(
                    n,
                    &format!("m{n:02}"),
                    "a",
                    &["b"],
                    "",
                    T0 + (n as i64 / 3) * 1000,
                    &format!("第{n}笔理财"),
                )
            })
            .collect(),
    );
    let indexer = a.indexer(IndexerOptions::default());
    catch_up(&indexer);
    let s = a.searcher();
    for (late, sort) in [Sort::Time, Sort::Relevance].into_iter().enumerate() {
        let expected = 31 + late as u64;
        let req = SearchRequest {
            limit: 7,
            sort,
            ..request("理财")
        };
        let first = s.search(&req).expect("first page");
        assert_eq!(first.total, expected);
        // A message indexed between pages does not enter this search's later pages.
        let n = 100 + sort as u64;
        a_commit_one(&a, n, &format!("late{n}"));
        catch_up(&indexer);
        let mut seen: Vec<String> = first.hits.iter().map(|h| h.message.msgid.clone()).collect();
        let mut times: Vec<i64> = first.hits.iter().map(|h| h.message.msgtime).collect();
        let rest = SearchRequest {
            cursor: first.next_cursor.clone(),
            ..req
        };
        let (more, more_times, total) = all_pages(&s, rest);
        seen.extend(more);
        times.extend(more_times);
        assert_eq!(total, expected);
        assert_eq!(seen.len() as u64, expected, "{sort:?}");
        let distinct = seen.iter().collect::<HashSet<_>>().len() as u64;
        assert_eq!(distinct, expected, "no hit twice ({sort:?})");
        assert_eq!(seen.iter().filter(|m| m.starts_with("late")).count(), late);
        if sort == Sort::Time {
            assert!(
                times.windows(2).all(|w| w[0] >= w[1]),
                "newest first: {times:?}"
            );
        }
    }
    // A new search sees the late messages.
    assert_eq!(s.search(&request("理财")).expect("search").total, 33);
}

fn a_commit_one(a: &Archive, seq: u64, msgid: &str) {
    a.roles
        .writer
        .commit_page(
            CORP,
            &wecom_store::PageCommit {
                records: vec![chat(seq, msgid, "a", &["b"], "", T0 + 99_000, "迟到的理财")],
                quarantined: vec![],
                cursor: seq,
            },
        )
        .expect("commit");
}

#[test]
fn bad_requests_are_usage_errors() {
    let a = corpus();
    catch_up(&a.indexer(IndexerOptions::default()));
    let s = a.searcher();
    for q in ["", "   ", "-", "\"合同", "type:nope", "after:2026-13-01"] {
        let e = s.search(&request(q)).expect_err(q);
        assert!(e.is_usage(), "{q}: {e}");
        assert_eq!(e.kind(), "bad_query");
    }
    let e = s
        .search(&request(&"合".repeat(10_000)))
        .expect_err("too long");
    assert!(e.to_string().contains("at most 1000"), "{e}");
    let bad_type = SearchRequest {
        filters: Filters {
            msgtypes: vec!["nope".into()],
            ..Filters::default()
        },
        ..request("合同")
    };
    assert!(s.search(&bad_type).expect_err("type").is_usage());
    for cursor in ["", "garbage", "r1-0-0000", "t999-5-ffffffffffffffff"] {
        let req = SearchRequest {
            cursor: Some(cursor.into()),
            ..request("合同")
        };
        assert!(
            matches!(s.search(&req), Err(SearchError::InvalidCursor)),
            "{cursor}"
        );
    }
    // Metacharacters are characters: nothing matches, nothing breaks.
    for q in [
        "'; DROP TABLE messages; --",
        ".*",
        "%",
        "_",
        "\\",
        "[a-z]+",
        "(",
        "*",
    ] {
        let page = s.search(&request(q)).expect(q);
        assert_eq!(page.total, 0, "{q}");
    }
}

#[test]
fn a_missing_damaged_or_foreign_index_says_how_to_recover() {
    let a = corpus();
    let e = SearchIndex::open(&a.index_dir(), CORP).expect_err("missing");
    assert_eq!(e.kind(), "index_missing");
    assert!(e.to_string().contains("wecom-archive index rebuild"), "{e}");
    catch_up(&a.indexer(IndexerOptions::default()));
    let e = SearchIndex::open(&a.index_dir(), "wwsomeoneelse").expect_err("foreign");
    assert_eq!(e.kind(), "index_wrong_corp");
    std::fs::write(a.index_dir().join("meta.json"), b"{ not json").expect("damage");
    let e = SearchIndex::open(&a.index_dir(), CORP).expect_err("corrupt");
    assert_eq!(e.kind(), "index_corrupt");
    assert!(e.to_string().contains("wecom-archive index rebuild"), "{e}");
    // Recreated, then rebuilt: every message again.
    let index = SearchIndex::recreate(&a.index_dir(), CORP).expect("recreate");
    let indexer =
        wecom_search::Indexer::open(index, a.reader(), IndexerOptions::default()).expect("indexer");
    let report = indexer
        .rebuild(&CancellationToken::new(), &mut |_| {})
        .expect("rebuild");
    assert_eq!(report.indexed, 6);
    assert_eq!(ids(&a.searcher(), "合同", &Filters::default()).len(), 4);
}

#[test]
fn one_writer_per_index() {
    let a = corpus();
    let first = a.indexer(IndexerOptions::default());
    let index = SearchIndex::open_or_create(&a.index_dir(), CORP).expect("index");
    let e = wecom_search::Indexer::open(index, a.reader(), IndexerOptions::default())
        .err()
        .expect("busy");
    assert_eq!(e.kind(), "index_busy");
    drop(first);
}

#[test]
fn rebuilding_gives_the_same_index() {
    let a = corpus();
    let indexer = a.indexer(IndexerOptions::default());
    catch_up(&indexer);
    let before = ids(&a.searcher(), "-不存在的词", &Filters::default());
    let mut seen = Vec::new();
    let report = indexer
        .rebuild(&CancellationToken::new(), &mut |p| seen.push(p.position))
        .expect("rebuild");
    assert_eq!((report.indexed, report.position), (6, 6));
    assert_eq!(seen.last(), Some(&6));
    assert_eq!(
        ids(&a.searcher(), "-不存在的词", &Filters::default()),
        before
    );
    assert_eq!(a.searcher().index().documents().expect("docs"), 6);
}

#[test]
fn a_hit_the_archive_no_longer_holds_never_ends_the_pages_early() {
    let mut indexed = Archive::new();
    indexed.commit(
        (1..=10)
            .map(|n| {
                chat(
                    n,
                    &format!("m{n:02}"),
                    "a",
                    &["b"],
                    "",
                    T0 + n as i64 * 1000,
                    "理财",
                )
            })
            .collect(),
    );
    catch_up(&indexed.indexer(IndexerOptions::default()));
    // The same index over an archive holding only the five oldest messages (as if the archive had
    // been replaced under the index): the five newest hits cannot be read back.
    let mut partial = Archive::new();
    partial.commit(
        (1..=5)
            .map(|n| {
                chat(
                    n,
                    &format!("m{n:02}"),
                    "a",
                    &["b"],
                    "",
                    T0 + n as i64 * 1000,
                    "理财",
                )
            })
            .collect(),
    );
    let index = SearchIndex::open(&indexed.index_dir(), CORP).expect("index");
    let s = Searcher::open(index, partial.reader()).expect("searcher");
    let req = SearchRequest {
        limit: 3,
        sort: Sort::Time,
        ..request("理财")
    };
    let (seen, _, total) = all_pages(&s, req);
    assert_eq!(total, 10);
    assert_eq!(seen, v(&["m05", "m04", "m03", "m02", "m01"]));
}
