//! The deterministic chat corpus: a corp directory and a stream of decrypted records (the JSON the
//! archive would serve), generated from a seed with no crypto and no I/O.
//!
//! Everything is drawn from one `ChaCha8Rng` stream in record order, so `generate(n + m)` equals
//! `generate(n)` followed by `next_records(m)` on the same generator — live mode relies on that.

mod directory;
mod ids;
mod json;
mod payload;
mod phrases;
mod text;
mod vocabulary;

use std::collections::VecDeque;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use directory::{
    Consent, Directory, Employee, ExternalContact, ExternalKind, Group, OUT_OF_SCOPE_EMPLOYEES,
    Robot, WECHAT_ROOM_INDICES,
};
pub(crate) use ids::{media_identity, media_spec};
pub use text::TextStyle;

use crate::media::MediaSpec;
use json::Obj;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusSpec {
    pub seed: u64,
    /// Number of records (every record — send, recall, switch — takes one seq).
    pub messages: usize,
    /// `msgtime` of the first record, ms since the epoch (UTC). Times then follow China working
    /// hours (UTC+8), so start on a weekday morning for a natural-looking corpus.
    pub start_ms: i64,
    pub corp_id: String,
    /// Leave occasional holes in `seq` (about 2% of records skip 1–5 seqs), as WeCom does: seqs are
    /// enterprise-wide, and records of members outside the archive scope never reach us. Off by
    /// default (seq then starts at 1 and increases by 1). The gaps come from their own random
    /// stream, so switching them on changes only the seqs.
    pub seq_gaps: bool,
    /// What chat messages say: the phrase banks by default (every existing seed's corpus), or
    /// realistic text for search benchmarks.
    pub text: TextStyle,
}

impl CorpusSpec {
    pub fn new(seed: u64, messages: usize) -> CorpusSpec {
        CorpusSpec {
            seed,
            messages,
            ..CorpusSpec::default()
        }
    }
}

impl Default for CorpusSpec {
    fn default() -> CorpusSpec {
        CorpusSpec {
            seed: 1,
            messages: 1000,
            // Monday 2023-11-06 09:00 China time.
            start_ms: 1_699_232_400_000,
            corp_id: "ww4b3c2d1e0f9a8b7c".to_owned(),
            seq_gaps: false,
            text: TextStyle::Phrases,
        }
    }
}

/// One record as the archive stores it before encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainRecord {
    pub seq: u64,
    pub msgid: String,
    /// The decrypted JSON exactly as served. May hold raw control characters inside strings.
    pub plaintext: String,
    /// `None` for `switch` records; `"revoke"` for recalls.
    pub msgtype: Option<String>,
    /// `send`, `recall` or `switch`.
    pub action: String,
    /// Every media object the record references, including those inside chatrecord/mixed items.
    pub media: Vec<MediaSpec>,
}

/// A generated corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corpus {
    pub directory: Directory,
    pub records: Vec<PlainRecord>,
}

/// Generates `spec.messages` records.
pub fn generate(spec: &CorpusSpec) -> Corpus {
    let mut generator = CorpusGenerator::new(spec);
    let records = generator.next_records(spec.messages);
    Corpus {
        directory: generator.directory().clone(),
        records,
    }
}

/// Every record kind, including the two shapes of `vote`. Each appears in any corpus of a few
/// thousand records (see [`CorpusGenerator::next_record`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Image,
    Voice,
    Video,
    Card,
    Location,
    Emotion,
    File,
    Link,
    Weapp,
    ChatRecord,
    Todo,
    VoteNested,
    VoteTopLevel,
    Collect,
    RedPacket,
    Meeting,
    MeetingNotification,
    DocMsg,
    Markdown,
    News,
    Calendar,
    Mixed,
    MeetingVoiceCall,
    VoipDocShare,
    ExternalRedPacket,
    SphFeed,
    VoipText,
    QyDiskFile,
    Agree,
    Disagree,
    Recall,
    Switch,
}

/// Relative frequencies (per 10,000 records), roughly what a sales team's archive looks like.
const WEIGHTS: &[(Kind, u32)] = &[
    (Kind::Text, 6900),
    (Kind::Image, 700),
    (Kind::Voice, 300),
    (Kind::Video, 80),
    (Kind::Emotion, 280),
    (Kind::File, 170),
    (Kind::Link, 120),
    (Kind::Weapp, 40),
    (Kind::Card, 50),
    (Kind::Location, 50),
    (Kind::ChatRecord, 60),
    (Kind::Mixed, 90),
    (Kind::Agree, 60),
    (Kind::Disagree, 15),
    (Kind::Todo, 20),
    (Kind::VoteNested, 10),
    (Kind::VoteTopLevel, 10),
    (Kind::Collect, 15),
    (Kind::RedPacket, 30),
    (Kind::ExternalRedPacket, 20),
    (Kind::Meeting, 30),
    (Kind::MeetingNotification, 10),
    (Kind::DocMsg, 50),
    (Kind::Markdown, 40),
    (Kind::News, 20),
    (Kind::Calendar, 30),
    (Kind::MeetingVoiceCall, 15),
    (Kind::VoipDocShare, 10),
    (Kind::SphFeed, 20),
    (Kind::VoipText, 40),
    (Kind::QyDiskFile, 15),
    (Kind::Recall, 150),
    (Kind::Switch, 30),
];

/// Every this-many records, a kind not seen yet is forced, so rare kinds appear early.
const COVERAGE_PERIOD: u64 = 37;

const HISTORY: usize = 30;

/// A record of a conversation's past that later records may quote or recall.
#[derive(Debug, Clone)]
struct Sent {
    msgid: String,
    from: String,
    /// The text content for plain (non-quoting) text messages.
    text: Option<String>,
    recallable: bool,
}

#[derive(Debug, Clone)]
struct Conversation {
    /// `""` for one-to-one chats.
    roomid: String,
    /// Humans; in one-to-one chats with a customer, the employee first.
    members: Vec<String>,
    robots: Vec<String>,
    /// Has an external participant.
    external: bool,
    /// `""`, `"_external"` or `"_updown_stream"`: appended to every msgid here.
    suffix: &'static str,
    weight: u32,
    history: VecDeque<Sent>,
    last_sender: Option<String>,
    last_voteid: Option<String>,
}

impl Conversation {
    fn is_group(&self) -> bool {
        !self.roomid.is_empty()
    }

    fn accepts(&self, kind: Kind) -> bool {
        match kind {
            Kind::Agree | Kind::Disagree | Kind::SphFeed => !self.is_group() && self.external,
            // These carry no roomid at all (official examples), so only one-to-one chats fit.
            Kind::MeetingVoiceCall | Kind::VoipDocShare => !self.is_group(),
            Kind::ExternalRedPacket => self.external,
            Kind::VoteNested | Kind::VoteTopLevel | Kind::Collect | Kind::MeetingNotification => {
                self.is_group()
            }
            Kind::Markdown | Kind::News => self.is_group() && !self.robots.is_empty(),
            Kind::Recall => self.history.iter().any(|s| s.recallable),
            _ => true,
        }
    }
}

struct Burst {
    conv: usize,
    remaining: u32,
}

/// Produces records one after another; keeps the state (clock, seq, conversation histories) that
/// lets live mode continue a corpus.
pub struct CorpusGenerator {
    rng: ChaCha8Rng,
    gap_rng: ChaCha8Rng,
    seq_gaps: bool,
    directory: Directory,
    convs: Vec<Conversation>,
    next_seq: u64,
    clock_ms: i64,
    burst: Option<Burst>,
    unseen: Vec<Kind>,
    produced: u64,
    /// Sizes still owed to the next fitting media objects (see `payload::ForcedSize`).
    forced_sizes: Vec<payload::ForcedSize>,
    /// Composes chat text for [`TextStyle::Realistic`]; `None` for the phrase banks.
    composer: Option<text::Composer>,
}

impl CorpusGenerator {
    pub fn new(spec: &CorpusSpec) -> CorpusGenerator {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let directory = directory::generate(&mut rng, &spec.corp_id);
        let convs = conversations(&mut rng, &directory);
        CorpusGenerator {
            rng,
            gap_rng: ChaCha8Rng::seed_from_u64(spec.seed ^ 0x5E9_6A95),
            seq_gaps: spec.seq_gaps,
            directory,
            convs,
            next_seq: 1,
            clock_ms: spec.start_ms - 1,
            burst: None,
            unseen: WEIGHTS.iter().map(|(k, _)| *k).collect(),
            produced: 0,
            forced_sizes: payload::ForcedSize::ALL.to_vec(),
            composer: match spec.text {
                TextStyle::Phrases => None,
                TextStyle::Realistic => Some(text::Composer::new()),
            },
        }
    }

    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The seq of the last record produced (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    pub fn next_records(&mut self, n: usize) -> Vec<PlainRecord> {
        (0..n).map(|_| self.next_record()).collect()
    }

    pub fn next_record(&mut self) -> PlainRecord {
        let mut kind = self.pick_kind();
        if self.produced % COVERAGE_PERIOD == COVERAGE_PERIOD / 2
            && let Some(forced) = self
                .unseen
                .iter()
                .copied()
                .find(|k| *k == Kind::Switch || self.convs.iter().any(|c| c.accepts(*k)))
        {
            kind = forced;
        }
        if kind != Kind::Switch && !self.convs.iter().any(|c| c.accepts(kind)) {
            // Only a recall can lack a target (nothing recallable yet).
            kind = Kind::Text;
        }
        self.unseen.retain(|k| *k != kind);
        self.produced += 1;

        if self.seq_gaps && self.next_seq > 1 && self.gap_rng.random_bool(0.02) {
            self.next_seq += self.gap_rng.random_range(1..=5);
        }
        let seq = self.next_seq;
        self.next_seq += 1;

        // The first record lands exactly at start_ms (the clock starts 1 ms before it).
        let first = self.produced == 1;
        if kind == Kind::Switch {
            self.clock_ms += if first {
                1
            } else {
                self.rng.random_range(1_000..60_000)
            };
            return self.switch_record(seq);
        }
        let (conv, same_burst) = self.pick_conversation(kind);
        if first {
            self.clock_ms += 1;
        } else {
            self.advance_clock(same_burst);
        }
        self.message_record(seq, kind, conv)
    }

    fn pick_kind(&mut self) -> Kind {
        let total: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.random_range(0..total);
        for (kind, w) in WEIGHTS {
            if x < *w {
                return *kind;
            }
            x -= w;
        }
        Kind::Text
    }

    /// Continues the current burst when the kind fits it, otherwise starts a burst in a fitting
    /// conversation chosen by activity weight.
    fn pick_conversation(&mut self, kind: Kind) -> (usize, bool) {
        if let Some(burst) = &mut self.burst
            && burst.remaining > 0
            && self.convs[burst.conv].accepts(kind)
        {
            burst.remaining -= 1;
            return (burst.conv, true);
        }
        let fitting: u32 = self
            .convs
            .iter()
            .filter(|c| c.accepts(kind))
            .map(|c| c.weight)
            .sum();
        let mut x = self.rng.random_range(0..fitting.max(1));
        let mut chosen = 0;
        for (i, c) in self.convs.iter().enumerate() {
            if !c.accepts(kind) {
                continue;
            }
            chosen = i;
            if x < c.weight {
                break;
            }
            x -= c.weight;
        }
        let remaining = self.rng.random_range(0..12);
        self.burst = Some(Burst {
            conv: chosen,
            remaining,
        });
        (chosen, false)
    }

    /// Moves the clock forward: seconds within a burst, minutes between bursts, nights and most
    /// weekends skipped (China time), always at least 1 ms so msgtime strictly increases.
    fn advance_clock(&mut self, same_burst: bool) {
        const TZ: i64 = 8 * 3_600_000;
        const DAY: i64 = 86_400_000;
        const OPEN: i64 = 8 * 3_600_000 + 30 * 60_000;
        const CLOSE: i64 = 21 * 3_600_000 + 30 * 60_000;
        let u: f64 = self.rng.random();
        // Squaring skews towards short gaps.
        let gap = if same_burst {
            2_000 + (88_000.0 * u * u) as i64
        } else {
            20_000 + (1_180_000.0 * u * u) as i64
        };
        // Evenings are quieter: gaps triple after 18:30.
        let evening = (self.clock_ms + TZ).rem_euclid(DAY) > 18 * 3_600_000 + 30 * 60_000;
        let gap = if evening { gap * 3 } else { gap };
        let mut t = self.clock_ms + gap + self.rng.random_range(0..1000);
        let local = t + TZ;
        let day = local.div_euclid(DAY);
        let in_day = local.rem_euclid(DAY);
        if !(OPEN..=CLOSE).contains(&in_day) && !self.rng.random_bool(0.03) {
            let next_day = if in_day > CLOSE { day + 1 } else { day };
            t = next_day * DAY + OPEN + self.rng.random_range(0..5_400_000) - TZ;
        }
        let local = t + TZ;
        let day = local.div_euclid(DAY);
        // 1970-01-01 was a Thursday: (day + 3) % 7 == 0 on Mondays.
        let weekday = (day + 3).rem_euclid(7);
        if weekday >= 5 && self.rng.random_bool(0.75) {
            t = (day + 7 - weekday) * DAY + OPEN + self.rng.random_range(0..5_400_000) - TZ;
        }
        self.clock_ms = t.max(self.clock_ms + 1);
    }

    fn switch_record(&mut self, seq: u64) -> PlainRecord {
        let msgid = ids::switch_msgid(&mut self.rng);
        let idx = self.rng.random_range(0..self.directory.employees.len());
        let user = self.directory.employees[idx].userid.clone();
        let mut o = Obj::new();
        o.str("msgid", &msgid)
            .str("action", "switch")
            .i64("time", self.clock_ms)
            .str("user", &user);
        PlainRecord {
            seq,
            msgid,
            plaintext: o.finish(),
            msgtype: None,
            action: "switch".to_owned(),
            media: Vec::new(),
        }
    }

    fn message_record(&mut self, seq: u64, kind: Kind, conv: usize) -> PlainRecord {
        let msgtime = self.clock_ms;
        let mut recalled = None;
        let from = match kind {
            Kind::Recall => {
                let candidates: Vec<usize> = self.convs[conv]
                    .history
                    .iter()
                    .enumerate()
                    .rev()
                    .filter(|(_, s)| s.recallable)
                    .take(5)
                    .map(|(i, _)| i)
                    .collect();
                let pick = candidates[self.rng.random_range(0..candidates.len())];
                let target = &mut self.convs[conv].history[pick];
                target.recallable = false;
                recalled = Some(target.msgid.clone());
                target.from.clone()
            }
            _ => self.pick_sender(conv, kind),
        };
        let c = &self.convs[conv];
        // One-to-one: the other party; group: every other human member (robots are not listed).
        let tolist: Vec<String> = c.members.iter().filter(|m| **m != from).cloned().collect();
        let roomid = c.roomid.clone();
        let suffix = c.suffix;
        let msgid = format!("{}{suffix}", ids::msgid(&mut self.rng, msgtime));
        let (msgtype, action) = match kind {
            Kind::Recall => ("revoke", "recall"),
            _ => (msgtype_of(kind), "send"),
        };
        // The official meeting_voice_call / voip_doc_share examples have no roomid at all.
        let omit_roomid = matches!(kind, Kind::MeetingVoiceCall | Kind::VoipDocShare);

        let mut o = Obj::new();
        o.str("msgid", &msgid)
            .str("action", action)
            .str("from", &from)
            .str_array("tolist", &tolist);
        if !omit_roomid {
            o.str("roomid", &roomid);
        }
        o.i64("msgtime", msgtime).str("msgtype", msgtype);

        let mut media = Vec::new();
        let mut text = None;
        match recalled {
            Some(pre_msgid) => {
                let mut revoke = Obj::new();
                revoke.str("pre_msgid", &pre_msgid);
                o.obj("revoke", revoke);
            }
            None => {
                let ctx = payload::Ctx {
                    conv,
                    from: &from,
                    msgtime,
                };
                text = self.write_payload(kind, &ctx, &mut o, &mut media);
            }
        }

        let robot = self.convs[conv].robots.contains(&from);
        let sent = Sent {
            msgid: msgid.clone(),
            from: from.clone(),
            text,
            recallable: !robot
                && !matches!(
                    kind,
                    Kind::Recall | Kind::Agree | Kind::Disagree | Kind::MeetingVoiceCall
                ),
        };
        let c = &mut self.convs[conv];
        c.last_sender = Some(from);
        c.history.push_back(sent);
        if c.history.len() > HISTORY {
            c.history.pop_front();
        }
        PlainRecord {
            seq,
            msgid,
            plaintext: o.finish(),
            msgtype: Some(msgtype.to_owned()),
            action: action.to_owned(),
            media,
        }
    }

    fn pick_sender(&mut self, conv: usize, kind: Kind) -> String {
        let c = &self.convs[conv];
        match kind {
            Kind::Markdown | Kind::News => {
                return c.robots[self.rng.random_range(0..c.robots.len())].clone();
            }
            Kind::Agree | Kind::Disagree => {
                // Consent comes from the customer.
                if let Some(ext) = c.members.iter().find(|m| !self.directory.is_employee(m)) {
                    return ext.clone();
                }
            }
            _ => {}
        }
        if !c.is_group() {
            // One-to-one chats mostly alternate.
            let other = c
                .last_sender
                .as_ref()
                .and_then(|last| c.members.iter().find(|m| *m != last).cloned());
            if let Some(other) = other
                && self.rng.random_bool(0.7)
            {
                return other;
            }
            return c.members[self.rng.random_range(0..c.members.len())].clone();
        }
        // In groups, staff talk more than customers.
        let weights: Vec<u32> = c
            .members
            .iter()
            .map(|m| if self.directory.is_employee(m) { 3 } else { 1 })
            .collect();
        let total: u32 = weights.iter().sum();
        let mut x = self.rng.random_range(0..total);
        for (m, w) in c.members.iter().zip(&weights) {
            if x < *w {
                return m.clone();
            }
            x -= w;
        }
        c.members[0].clone()
    }
}

fn msgtype_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "text",
        Kind::Image => "image",
        Kind::Voice => "voice",
        Kind::Video => "video",
        Kind::Card => "card",
        Kind::Location => "location",
        Kind::Emotion => "emotion",
        Kind::File => "file",
        Kind::Link => "link",
        Kind::Weapp => "weapp",
        Kind::ChatRecord => "chatrecord",
        Kind::Todo => "todo",
        Kind::VoteNested | Kind::VoteTopLevel => "vote",
        Kind::Collect => "collect",
        Kind::RedPacket => "redpacket",
        Kind::Meeting => "meeting",
        Kind::MeetingNotification => "meeting_notification",
        Kind::DocMsg => "docmsg",
        Kind::Markdown => "markdown",
        Kind::News => "news",
        Kind::Calendar => "calendar",
        Kind::Mixed => "mixed",
        Kind::MeetingVoiceCall => "meeting_voice_call",
        Kind::VoipDocShare => "voip_doc_share",
        Kind::ExternalRedPacket => "external_redpacket",
        Kind::SphFeed => "sphfeed",
        Kind::VoipText => "voiptext",
        Kind::QyDiskFile => "qydiskfile",
        Kind::Agree => "agree",
        Kind::Disagree => "disagree",
        Kind::Recall => "revoke",
        Kind::Switch => "switch",
    }
}

/// The conversations of the directory: every group, every (employee, customer) pair and a set of
/// internal one-to-one pairs, each with an activity weight.
fn conversations(rng: &mut ChaCha8Rng, dir: &Directory) -> Vec<Conversation> {
    let new = |roomid: String,
               members: Vec<String>,
               robots: Vec<String>,
               external: bool,
               suffix: &'static str,
               weight: u32| Conversation {
        roomid,
        members,
        robots,
        external,
        suffix,
        weight,
        history: VecDeque::new(),
        last_sender: None,
        last_voteid: None,
    };
    let mut convs = Vec::new();
    for g in &dir.groups {
        let weight = rng.random_range(4..=15);
        // Newer archives mark messages from rooms with customers as external.
        let suffix = if g.external && rng.random_bool(0.4) {
            "_external"
        } else {
            ""
        };
        convs.push(new(
            g.roomid.clone(),
            g.members.clone(),
            g.robots.clone(),
            g.external,
            suffix,
            weight,
        ));
    }
    for c in &dir.external_contacts {
        for owner in &c.owners {
            let suffix = if c.updown_stream {
                "_updown_stream"
            } else if rng.random_bool(0.4) {
                "_external"
            } else {
                ""
            };
            // Partner trade is a small share of the traffic.
            let weight = if c.updown_stream {
                1
            } else {
                rng.random_range(1..=10)
            };
            convs.push(new(
                String::new(),
                vec![owner.clone(), c.external_userid.clone()],
                Vec::new(),
                true,
                suffix,
                weight,
            ));
        }
    }
    let n = dir.employees.len();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    while pairs.len() < 25 && n >= 2 {
        let a = rng.random_range(0..n);
        let b = rng.random_range(0..n);
        if a == b || pairs.contains(&(a, b)) || pairs.contains(&(b, a)) {
            continue;
        }
        pairs.push((a, b));
        let weight = rng.random_range(1..=6);
        convs.push(new(
            String::new(),
            vec![
                dir.employees[a].userid.clone(),
                dir.employees[b].userid.clone(),
            ],
            Vec::new(),
            false,
            "",
            weight,
        ));
    }
    convs
}
