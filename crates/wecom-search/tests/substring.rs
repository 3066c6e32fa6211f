//! Zero false negatives (and no false positives): on generated corpora, every query finds exactly
//! the messages whose folded text contains the folded query, as a plain substring scan does —
//! 1- and 2-character queries, Latin case, full-width forms, text across line breaks; and pairs of
//! queries, both required or one excluded.

mod support;

use proptest::prelude::*;
use support::{Archive, catch_up, sorted};
use wecom_search::normalize::normalize;
use wecom_search::{Filters, IndexerOptions};
use wecom_store::conformance::chat;

/// Characters the corpora are made of: few, so that short queries hit often.
const ALPHABET: &[char] = &[
    '退', '款', '保', '本', '私', '人', '账', '户', '微', '信', '转', '加', '我', 'a', 'b', 'A',
    'B', 'ａ', 'Ｂ', '1', '２', ' ', '\n', '，', ',', '.', '-', '%', '_',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..40)
        .prop_map(|chars| chars.into_iter().collect())
}

/// A query: a piece of one of the texts, or letters of the alphabet.
fn queries(texts: Vec<String>) -> impl Strategy<Value = Vec<String>> {
    let piece = (0..texts.len().max(1), 0usize..40, 1usize..6).prop_map(move |(t, at, n)| {
        let chars: Vec<char> = texts
            .get(t)
            .map(|s| s.chars().collect())
            .unwrap_or_default();
        let start = at.min(chars.len());
        chars[start..(start + n).min(chars.len())]
            .iter()
            .collect::<String>()
    });
    let random = prop::collection::vec(prop::sample::select(ALPHABET), 1..4)
        .prop_map(|c| c.into_iter().collect::<String>());
    prop::collection::vec(prop_oneof![piece, random], 1..25)
}

fn corpus_and_queries() -> impl Strategy<Value = (Vec<String>, Vec<String>)> {
    prop::collection::vec(text(), 1..40).prop_flat_map(|texts| {
        let q = queries(texts.clone());
        (Just(texts), q)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_index_finds_exactly_what_a_scan_finds((texts, queries) in corpus_and_queries()) {
        let mut archive = Archive::new();
        let records = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let n = i as u64 + 1;
                chat(n, &format!("m{n}"), "alice", &["bob"], "", 1_700_000_000_000 + n as i64, t)
            })
            .collect();
        archive.commit(records);
        let indexer = archive.indexer(IndexerOptions::default());
        catch_up(&indexer);
        let searcher = archive.searcher();
        let stored = archive.texts();
        let usable: Vec<String> = queries
            .iter()
            .filter(|q| !normalize(q).trim().is_empty() && !q.contains('"'))
            .cloned()
            .collect();
        let contains = |text: &str, q: &str| normalize(text).contains(&normalize(q));
        // Pairs: both required, and one required with the other excluded.
        for pair in usable.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let both: Vec<String> = stored
                .iter()
                .filter(|(_, t)| contains(t, a) && contains(t, b))
                .map(|(id, _)| id.clone())
                .collect();
            let found = searcher
                .matching_msgids(&format!("\"{a}\" \"{b}\""), &Filters::default())
                .expect("search");
            prop_assert_eq!(sorted(found), sorted(both), "{:?} AND {:?}", a, b);
            let without: Vec<String> = stored
                .iter()
                .filter(|(_, t)| contains(t, a) && !contains(t, b))
                .map(|(id, _)| id.clone())
                .collect();
            let found = searcher
                .matching_msgids(&format!("\"{a}\" -\"{b}\""), &Filters::default())
                .expect("search");
            prop_assert_eq!(sorted(found), sorted(without), "{:?} NOT {:?}", a, b);
        }
        for q in queries {
            let folded = normalize(&q);
            if folded.trim().is_empty() || q.contains('"') {
                continue;
            }
            // A quoted phrase: one substring, spaces and all.
            let query = format!("\"{q}\"");
            let expected: Vec<String> = stored
                .iter()
                .filter(|(_, text)| normalize(text).contains(&folded))
                .map(|(id, _)| id.clone())
                .collect();
            let found = searcher.matching_msgids(&query, &Filters::default()).expect("search");
            prop_assert_eq!(sorted(found), sorted(expected.clone()), "query {:?}", q);
            // The same hits read from the index alone, as feed positions (here: m<position>).
            let positions: Vec<String> = searcher
                .matching_positions(&query, &Filters::default())
                .expect("search")
                .into_iter()
                .map(|p| format!("m{p}"))
                .collect();
            prop_assert_eq!(sorted(positions), sorted(expected), "positions of {:?}", q);
            // Unquoted, a term without spaces is the same substring.
            if !folded.contains(' ') && !q.starts_with('-') && !q.contains(':') {
                let found = searcher.matching_msgids(&q, &Filters::default()).expect("search");
                let expected: Vec<String> = stored
                    .iter()
                    .filter(|(_, text)| normalize(text).contains(&folded))
                    .map(|(id, _)| id.clone())
                    .collect();
                prop_assert_eq!(sorted(found), sorted(expected), "unquoted query {:?}", q);
            }
        }
    }
}
