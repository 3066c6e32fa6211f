//! The emulator's corpus as a property source: every record it writes (every msgtype, both vote
//! shapes, nested chatrecord/mixed, quotes, recalls, raw control characters, u64 ids) must be
//! understood without a warning, serialise back to exactly its JSON, and yield the media,
//! recalls, quotes, identities and conversations the generator put in.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use serde_json::Value;
use wecom_emulator::{Corpus, CorpusSpec, MediaKind as EmuKind, generate};
use wecom_model::{
    ConversationKey, IdKind, MediaKind, Message, Payload, classify_id, escape_control_chars,
    parse_envelope, quote_matches, understand,
};

const SEEDS: [u64; 3] = [1, 42, 20231106];
const RECORDS: usize = 3000;

struct Read {
    corpus: Corpus,
    /// Per record: the original JSON value and the understood message.
    messages: Vec<(Value, Message)>,
}

fn corpora() -> &'static [Read] {
    static READ: OnceLock<Vec<Read>> = OnceLock::new();
    READ.get_or_init(|| {
        SEEDS
            .iter()
            .map(|&seed| {
                let corpus = generate(&CorpusSpec::new(seed, RECORDS));
                let messages = corpus
                    .records
                    .iter()
                    .map(|r| {
                        let original: Value =
                            serde_json::from_slice(&escape_control_chars(r.plaintext.as_bytes()))
                                .expect("emulator JSON");
                        let envelope = parse_envelope(r.plaintext.as_bytes()).expect("envelope");
                        (original, understand(&envelope))
                    })
                    .collect();
                Read { corpus, messages }
            })
            .collect()
    })
}

#[test]
fn every_record_serialises_back_to_its_json() {
    for read in corpora() {
        for (original, m) in &read.messages {
            assert_eq!(&m.to_value(), original);
            assert_eq!(&serde_json::to_value(m).expect("serialise"), original);
        }
    }
}

#[test]
fn every_record_is_understood_without_warnings() {
    for read in corpora() {
        for ((_, m), r) in read.messages.iter().zip(&read.corpus.records) {
            assert!(
                m.warnings.is_empty(),
                "{}: {:?}\n{}",
                r.msgid,
                m.warnings,
                r.plaintext
            );
            assert!(!matches!(m.payload, Payload::Unknown(_)), "{}", r.plaintext);
            let want = r.msgtype.as_deref().unwrap_or("switch");
            assert_eq!(m.payload.msgtype(), want);
        }
    }
}

#[test]
fn every_payload_type_and_both_vote_shapes_appear() {
    let mut seen = BTreeSet::new();
    let mut vote_shapes = BTreeSet::new();
    for read in corpora() {
        for (_, m) in &read.messages {
            seen.insert(m.payload.msgtype().to_owned());
            if let Payload::Vote(v) = &m.payload {
                vote_shapes.insert(format!("{:?}", v.shape));
            }
        }
    }
    assert_eq!(seen.len(), 32, "{seen:?}");
    assert_eq!(vote_shapes.len(), 2);
}

fn kind_of(k: EmuKind) -> MediaKind {
    match k {
        EmuKind::Image => MediaKind::Image,
        EmuKind::Voice => MediaKind::Voice,
        EmuKind::Video => MediaKind::Video,
        EmuKind::Emotion => MediaKind::Emotion,
        EmuKind::File => MediaKind::File,
        EmuKind::VoipDocShare => MediaKind::VoipDocShare,
        EmuKind::MeetingVoiceCall => MediaKind::MeetingVoiceCall,
    }
}

#[test]
fn media_are_exactly_what_the_generator_referenced() {
    let mut nested = 0;
    for read in corpora() {
        for ((_, m), r) in read.messages.iter().zip(&read.corpus.records) {
            assert_eq!(m.media.len(), r.media.len(), "{}", r.plaintext);
            for (got, spec) in m.media.iter().zip(&r.media) {
                assert_eq!(got.sdkfileid, spec.sdkfileid);
                assert_eq!(got.md5sum, spec.md5);
                assert_eq!(got.kind, kind_of(spec.kind));
                if spec.kind == EmuKind::MeetingVoiceCall {
                    assert_eq!(got.size, None);
                    assert_eq!(got.extension, "");
                } else {
                    assert_eq!(got.size, Some(spec.size));
                }
                if matches!(
                    spec.kind,
                    EmuKind::Image | EmuKind::Voice | EmuKind::Video | EmuKind::Emotion
                ) {
                    assert_eq!(got.extension, spec.format.extension());
                }
                if got.path.contains(".item[") {
                    nested += 1;
                }
            }
        }
    }
    assert!(nested > 20, "nested media: {nested}");
}

#[test]
fn recalls_point_at_an_earlier_message_of_the_same_conversation() {
    let mut recalls = 0;
    for read in corpora() {
        let mut where_sent: HashMap<&str, &ConversationKey> = HashMap::new();
        for ((_, m), r) in read.messages.iter().zip(&read.corpus.records) {
            if r.action == "recall" {
                let target = m.recall_of.as_deref().expect("recall_of");
                assert_eq!(where_sent.get(target), Some(&&m.conversation), "{target}");
                recalls += 1;
            } else {
                assert_eq!(m.recall_of, None);
            }
            where_sent.insert(&r.msgid, &m.conversation);
        }
    }
    assert!(recalls > 50);
}

#[test]
fn quotes_are_found_and_link_to_an_earlier_text_of_their_conversation() {
    let mut quotes = 0;
    for read in corpora() {
        let mut texts: HashMap<&ConversationKey, Vec<(&str, &str)>> = HashMap::new();
        for (original, m) in &read.messages {
            let Payload::Text(t) = &m.payload else {
                continue;
            };
            let marked = t.content.contains("这是一条引用/回复消息")
                || t.content.contains("This is a quote/reply")
                || t.content.starts_with('「');
            assert_eq!(m.quote.is_some(), marked, "{:?}", t.content);
            let history = texts.entry(&m.conversation).or_default();
            if let Some(q) = &m.quote {
                quotes += 1;
                assert!(!q.quoted_user.is_empty() && !q.reply.is_empty(), "{q:?}");
                assert!(
                    history
                        .iter()
                        .rev()
                        .take(200)
                        .any(|(from, text)| quote_matches(q, from, text)),
                    "no original for {q:?}"
                );
                assert!(m.text.contains(q.reply.trim()));
            }
            history.push((original["from"].as_str().unwrap_or(""), &t.content));
        }
    }
    assert!(quotes > 50, "quotes: {quotes}");
}

#[test]
fn ids_classify_as_the_directory_says() {
    for read in corpora() {
        let d = &read.corpus.directory;
        for e in &d.employees {
            assert_eq!(classify_id(&e.userid), IdKind::Internal, "{}", e.userid);
        }
        for c in &d.external_contacts {
            assert_eq!(classify_id(&c.external_userid), IdKind::External);
        }
        for r in &d.robots {
            assert_eq!(classify_id(&r.robot_id), IdKind::Robot);
        }
    }
}

#[test]
fn flags_conversations_and_item_times() {
    let (mut external, mut updown, mut ms_items) = (0, 0, 0);
    for read in corpora() {
        for ((original, m), r) in read.messages.iter().zip(&read.corpus.records) {
            external += usize::from(m.flags.external);
            updown += usize::from(m.flags.updown_stream);
            let key = m.conversation.to_string();
            match r.action.as_str() {
                "switch" => assert!(key.starts_with("switch:")),
                _ if original["roomid"].as_str().is_some_and(|s| !s.is_empty()) => {
                    assert!(key.starts_with("room:"))
                }
                _ => assert!(key.starts_with("pair:"), "{key}"),
            }
            if let Payload::ChatRecord(c) = &m.payload {
                let msgtime = original["msgtime"].as_i64().expect("msgtime");
                for item in &c.items {
                    assert!(
                        item.msgtime_ms <= msgtime && item.msgtime_ms > msgtime - 3 * 86_400_000
                    );
                    ms_items += usize::from(item.msgtime == item.msgtime_ms);
                }
            }
        }
    }
    assert!(external > 100 && updown > 0 && ms_items > 0);
}
