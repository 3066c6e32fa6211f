//! The payload of each message type, with the key and field rules of reference §3.3–§3.5:
//! `disagree` under `disagree`, `external_redpacket` under `redpacket`, `docmsg` under `doc`,
//! markdown/news/voiptext/qydiskfile/meeting_notification under `info`, top-level `voiceid`/`voipid`,
//! both shapes of `vote`, JSON-string `content` in chatrecord and mixed items, u64 ids.

use std::borrow::Cow;

use rand::Rng;
use rand::seq::IndexedRandom;

use super::json::Obj;
use super::phrases::*;
use super::{CorpusGenerator, Kind, ids};
use crate::media::{MediaFormat, MediaKind, MediaSpec, Sample};

/// Where the message being built lives.
pub(super) struct Ctx<'a> {
    pub(super) conv: usize,
    pub(super) from: &'a str,
    pub(super) msgtime: i64,
}

/// Control characters the real archive leaves raw inside text (SKIT saw U+0011..U+0014).
const RAW_CONTROLS: &[char] = &['\u{11}', '\u{12}', '\u{13}', '\u{14}'];
const RARE_CONTROLS: &[char] = &['\u{1}', '\u{8}', '\u{c}', '\u{1b}', '\u{1f}'];

fn word(rng: &mut impl Rng, items: &[&'static str]) -> &'static str {
    items[rng.random_range(0..items.len())]
}

fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

impl CorpusGenerator {
    /// Writes the payload fields after `msgtype`; returns the text for plain text messages (what
    /// later messages may quote).
    pub(super) fn write_payload(
        &mut self,
        kind: Kind,
        ctx: &Ctx<'_>,
        o: &mut Obj,
        media: &mut Vec<MediaSpec>,
    ) -> Option<String> {
        let secs = ctx.msgtime / 1000;
        match kind {
            Kind::Text => {
                let (content, quotable) = self.text_content(ctx);
                let mut p = Obj::new();
                p.raw_str("content", &content);
                o.obj("text", p);
                return quotable;
            }
            Kind::Image => {
                let p = self.image_payload(ctx.msgtime, media);
                o.obj("image", p);
            }
            Kind::Voice => {
                let p = self.voice_payload(ctx.msgtime, media);
                o.obj("voice", p);
            }
            Kind::Video => {
                let p = self.video_payload(ctx.msgtime, media);
                o.obj("video", p);
            }
            Kind::Emotion => {
                let p = self.emotion_payload(ctx.msgtime, media);
                o.obj("emotion", p);
            }
            Kind::File => {
                let p = self.file_payload(ctx.msgtime, media);
                o.obj("file", p);
            }
            Kind::Card => {
                let p = self.card_payload();
                o.obj("card", p);
            }
            Kind::Location => {
                let p = self.location_payload();
                o.obj("location", p);
            }
            Kind::Link => {
                let p = self.link_payload();
                o.obj("link", p);
            }
            Kind::Weapp => {
                let (title, desc, username, display) = *pick(&mut self.rng, WEAPPS);
                let mut p = Obj::new();
                p.str("title", title)
                    .str("description", desc)
                    .str("username", username)
                    .str("displayname", display);
                o.obj("weapp", p);
            }
            Kind::ChatRecord => {
                let p = self.chatrecord_payload(ctx, media);
                o.obj("chatrecord", p);
            }
            Kind::Todo => {
                let (title, content) = *pick(&mut self.rng, TODOS);
                let mut p = Obj::new();
                p.str("title", title).str("content", content);
                o.obj("todo", p);
            }
            Kind::VoteNested => {
                let mut p = Obj::new();
                self.vote_fields(ctx, &mut p);
                o.obj("vote", p);
            }
            Kind::VoteTopLevel => {
                // The shape four Go SDKs decode: the vote fields directly on the message.
                self.vote_fields(ctx, o);
            }
            Kind::Collect => {
                let p = self.collect_payload(ctx);
                o.obj("collect", p);
            }
            Kind::RedPacket => {
                let group = self.convs[ctx.conv].is_group();
                let p = self.redpacket_payload(group, &[1, 2, 3]);
                o.obj("redpacket", p);
            }
            Kind::ExternalRedPacket => {
                let group = self.convs[ctx.conv].is_group();
                let p = self.redpacket_payload(group, &[1, 2]);
                o.obj("redpacket", p);
            }
            Kind::Meeting => {
                let p = self.meeting_payload(secs);
                o.obj("meeting", p);
            }
            Kind::MeetingNotification => {
                let id = self.meeting_id();
                let (ty, content) = *pick(
                    &mut self.rng,
                    &[
                        (1, "会议即将开始"),
                        (2, "会议已开始，点击加入"),
                        (3, "主持人已将全体静音"),
                        (4, "会议已结束"),
                    ],
                );
                let mut p = Obj::new();
                p.u64("meeting_id", id)
                    .i64("notification_type", ty)
                    .str("content", content);
                o.obj("info", p);
            }
            Kind::DocMsg => {
                let (title, url) = *pick(&mut self.rng, DOCS);
                let creator = pick(&mut self.rng, &self.convs[ctx.conv].members).clone();
                let mut p = Obj::new();
                p.str("title", title)
                    .str("doc_creator", &creator)
                    .str("link_url", url);
                o.obj("doc", p);
            }
            Kind::Markdown => {
                let mut p = Obj::new();
                p.str("content", word(&mut self.rng, MARKDOWNS));
                o.obj("info", p);
            }
            Kind::News => {
                let n = self.rng.random_range(1..=NEWS.len());
                let items = NEWS[..n]
                    .iter()
                    .map(|(title, desc, url, pic)| {
                        let mut i = Obj::new();
                        i.str("title", title)
                            .str("description", desc)
                            .str("url", url)
                            .str("picurl", pic);
                        i
                    })
                    .collect();
                let mut p = Obj::new();
                p.obj_array("item", items);
                o.obj("info", p);
            }
            Kind::Calendar => {
                let p = self.calendar_payload(ctx);
                o.obj("calendar", p);
            }
            Kind::Mixed => {
                let p = self.mixed_payload(ctx.msgtime, media);
                o.obj("mixed", p);
            }
            Kind::MeetingVoiceCall => {
                let voiceid = ids::call_id(&mut self.rng);
                o.str("voiceid", &voiceid);
                let p = self.meeting_voice_call_payload(ctx, media);
                o.obj("meeting_voice_call", p);
            }
            Kind::VoipDocShare => {
                let voipid = ids::call_id(&mut self.rng);
                o.str("voipid", &voipid);
                let (name, ext) = *pick(&mut self.rng, FILES);
                let size = self.media_size(MediaKind::VoipDocShare);
                let spec = self.media(
                    MediaKind::VoipDocShare,
                    MediaFormat::for_extension(ext),
                    size,
                    ctx.msgtime,
                );
                let (filename, _) = file_name(name, ext, &spec);
                let mut p = Obj::new();
                p.str("filename", &filename)
                    .str("md5sum", &spec.md5)
                    .u64("filesize", spec.size)
                    .str("sdkfileid", &spec.sdkfileid);
                media.push(spec);
                o.obj("voip_doc_share", p);
            }
            Kind::SphFeed => {
                let (name, desc) = *pick(&mut self.rng, SPH);
                let mut p = Obj::new();
                p.i64("feed_type", *pick(&mut self.rng, &[2, 4, 9]))
                    .str("sph_name", name)
                    .str("feed_desc", desc);
                o.obj("sphfeed", p);
            }
            Kind::VoipText => {
                let mut p = Obj::new();
                p.i64("callduration", self.rng.random_range(0..1800))
                    .i64("invitetype", self.rng.random_range(1..=4));
                o.obj("info", p);
            }
            Kind::QyDiskFile => {
                let mut p = Obj::new();
                p.str("filename", word(&mut self.rng, DISK_FILES));
                o.obj("info", p);
            }
            Kind::Agree => {
                let mut p = Obj::new();
                p.str("userid", ctx.from).i64("agree_time", ctx.msgtime);
                o.obj("agree", p);
            }
            Kind::Disagree => {
                let mut p = Obj::new();
                p.str("userid", ctx.from).i64("disagree_time", ctx.msgtime);
                o.obj("disagree", p);
            }
            Kind::Recall | Kind::Switch => {}
        }
        None
    }

    /// A chat line (phrases or composed text, by the corpus's [`super::TextStyle`]), sometimes
    /// decorated, an @mention, a quote of an earlier text of the same conversation, or with a raw
    /// control character. Returns (content, what later messages may quote).
    fn text_content(&mut self, ctx: &Ctx<'_>) -> (String, Option<String>) {
        let mut base = match &self.composer {
            Some(composer) => composer.message(&mut self.rng),
            None => self.phrase_text(),
        };
        if self.rng.random_bool(0.15) {
            base.push_str(word(&mut self.rng, DECORATIONS));
        }
        let conv = &self.convs[ctx.conv];
        if conv.is_group() && self.rng.random_bool(0.1) {
            let others: Vec<&String> = conv.members.iter().filter(|m| *m != ctx.from).collect();
            if let Some(target) = others.choose(&mut self.rng) {
                let name = self.directory.name_of(target).unwrap_or(target);
                base = format!("@{name} {base}");
            }
        }
        if self.rng.random_bool(0.01) {
            let c = if self.rng.random_bool(0.8) {
                *pick(&mut self.rng, RAW_CONTROLS)
            } else {
                *pick(&mut self.rng, RARE_CONTROLS)
            };
            let boundaries: Vec<usize> = base
                .char_indices()
                .map(|(i, _)| i)
                .chain([base.len()])
                .collect();
            let at = *pick(&mut self.rng, &boundaries);
            base.insert(at, c);
        }

        if self.rng.random_bool(0.06) {
            // Quote one of the last five plain texts of this conversation.
            let texts: Vec<usize> = conv
                .history
                .iter()
                .enumerate()
                .rev()
                .filter(|(_, s)| s.text.is_some())
                .take(5)
                .map(|(i, _)| i)
                .collect();
            if !texts.is_empty() {
                let sent = &conv.history[texts[self.rng.random_range(0..texts.len())]];
                let who = sent.from.clone();
                let original = sent.text.clone().unwrap_or_default();
                let name = self.directory.name_of(&who).unwrap_or(&who).to_owned();
                return (self.quote(&name, &original, &base), None);
            }
        }
        (base.clone(), Some(base))
    }

    /// A chat line from the phrase banks ([`super::TextStyle::Phrases`]): usually one or two
    /// phrases, sometimes multi-line, long or English.
    fn phrase_text(&mut self) -> String {
        match self.rng.random_range(0..1000) {
            0..5 => {
                let n = self.rng.random_range(8..30);
                (0..n)
                    .map(|_| word(&mut self.rng, CHAT_LINES))
                    .collect::<Vec<_>>()
                    .join(if self.rng.random_bool(0.5) {
                        "\n"
                    } else {
                        "。"
                    })
            }
            5..80 => pick(&mut self.rng, ENGLISH_LINES).to_string(),
            80..180 => {
                let n = self.rng.random_range(2..=4);
                (0..n)
                    .map(|_| word(&mut self.rng, CHAT_LINES))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            180..400 => format!(
                "{}，{}",
                word(&mut self.rng, CHAT_LINES),
                word(&mut self.rng, CHAT_LINES)
            ),
            _ => word(&mut self.rng, CHAT_LINES).to_string(),
        }
    }

    /// One line of a forwarded chat record or a mixed message.
    fn chat_line(&mut self) -> Cow<'static, str> {
        match &self.composer {
            Some(composer) => Cow::Owned(composer.line(&mut self.rng)),
            None => Cow::Borrowed(word(&mut self.rng, CHAT_LINES)),
        }
    }

    /// A quoted reply in one of the formats clients produce: the archive's own
    /// `这是一条引用/回复消息：` block (or its English version) and WeChat's `「…」` + dashed rule,
    /// with full- or half-width colons and straight or curly quotes.
    fn quote(&mut self, name: &str, original: &str, reply: &str) -> String {
        let colon = if self.rng.random_bool(0.7) {
            "："
        } else {
            ":"
        };
        let (open, close) = if self.rng.random_bool(0.6) {
            ("\"", "\"")
        } else {
            ("\u{201C}", "\u{201D}")
        };
        match self.rng.random_range(0..10) {
            0..5 => format!(
                "这是一条引用/回复消息：\n{open}{name}{colon}\n{original}{close}\n------\n{reply}"
            ),
            5..7 => format!(
                "This is a quote/reply:\n{open}{name}{colon}\n{original}{close}\n------\n{reply}"
            ),
            _ => format!("「{name}{colon}{original}」\n- - - - - - - - - - - - - - -\n{reply}"),
        }
    }

    /// Creates a media object: identity, bytes' md5 (blank for ~3% of messages, as the real
    /// archive sometimes sends), content seed. When the corpus has real media, one object in
    /// [`REAL_SHARE`] (by content seed) is a real [`Sample`] instead of `size` generated bytes
    /// (see [`real_sample`]); edge sizes ([`ForcedSize`]) always stay generated. Either way the
    /// draws are the same, so real media change no other part of the corpus.
    pub(super) fn media(
        &mut self,
        kind: MediaKind,
        format: MediaFormat,
        size: MediaSize,
        msgtime: i64,
    ) -> MediaSpec {
        let identity = ids::media_identity(&mut self.rng, msgtime);
        let content_seed = self.rng.random();
        let blank_md5 = kind == MediaKind::MeetingVoiceCall || self.rng.random_bool(0.03);
        let sample = match size {
            MediaSize::Drawn(_) if self.real_media => real_sample(kind, format, content_seed),
            _ => None,
        };
        let mut spec = match sample {
            Some(sample) => ids::sample_spec(identity, kind, sample, content_seed),
            None => ids::media_spec(identity, kind, format, size.bytes(), content_seed),
        };
        if !blank_md5 {
            spec.md5 = spec.actual_md5();
        }
        spec
    }

    /// Sizes in a realistic spread but small, with an occasional ~1.3 MB object (three 512 KiB
    /// media chunks) and, for files, an occasional empty one. The first fitting objects of a
    /// corpus get the edge sizes of [`ForcedSize`], whatever was drawn (the draws still happen, so
    /// the rest of the corpus does not change).
    fn media_size(&mut self, kind: MediaKind) -> MediaSize {
        let drawn = self.drawn_media_size(kind);
        match self.forced_sizes.iter().position(|f| f.fits(kind)) {
            Some(i) => MediaSize::Forced(self.forced_sizes.remove(i).size()),
            None => MediaSize::Drawn(drawn),
        }
    }

    fn drawn_media_size(&mut self, kind: MediaKind) -> u64 {
        let big = matches!(
            kind,
            MediaKind::Image | MediaKind::Video | MediaKind::File | MediaKind::VoipDocShare
        ) && self.rng.random_bool(0.004);
        if big {
            return 1_300_000 + self.rng.random_range(0..60_000);
        }
        if kind == MediaKind::File && self.rng.random_bool(0.01) {
            return 0;
        }
        // Smaller than real media on purpose: every object is hashed at generation time, and
        // tests run in debug builds.
        let (lo, hi) = match kind {
            MediaKind::Image => (1_500, 40_000),
            MediaKind::Voice | MediaKind::MeetingVoiceCall => (1_000, 40_000),
            MediaKind::Video => (20_000, 200_000),
            MediaKind::Emotion => (1_500, 40_000),
            MediaKind::File => (200, 100_000),
            MediaKind::VoipDocShare => (5_000, 150_000),
        };
        let u: f64 = self.rng.random();
        lo + ((hi - lo) as f64 * u * u) as u64
    }

    fn image_obj(&mut self, msgtime: i64, media: &mut Vec<MediaSpec>) -> Obj {
        let size = self.media_size(MediaKind::Image);
        let spec = self.media(MediaKind::Image, MediaFormat::Jpeg, size, msgtime);
        let mut p = Obj::new();
        p.str("md5sum", &spec.md5)
            .u64("filesize", spec.size)
            .str("sdkfileid", &spec.sdkfileid);
        media.push(spec);
        p
    }

    fn image_payload(&mut self, msgtime: i64, media: &mut Vec<MediaSpec>) -> Obj {
        self.image_obj(msgtime, media)
    }

    fn voice_payload(&mut self, msgtime: i64, media: &mut Vec<MediaSpec>) -> Obj {
        // AMR-NB 12.2 kbit/s is about 1.6 KB per second; most voice messages are short.
        let u: f64 = self.rng.random();
        let play_length = 1 + (59.0 * u * u * u) as u64;
        let size = play_length * 1_600 + self.rng.random_range(6..400);
        let spec = self.media(
            MediaKind::Voice,
            MediaFormat::Amr,
            MediaSize::Drawn(size),
            msgtime,
        );
        let play_length = spec.sample.map_or(play_length, Sample::play_length);
        let mut p = Obj::new();
        p.str("md5sum", &spec.md5)
            .u64("voice_size", spec.size)
            .u64("play_length", play_length)
            .str("sdkfileid", &spec.sdkfileid);
        media.push(spec);
        p
    }

    fn video_payload(&mut self, msgtime: i64, media: &mut Vec<MediaSpec>) -> Obj {
        let size = self.media_size(MediaKind::Video);
        let spec = self.media(MediaKind::Video, MediaFormat::Mp4, size, msgtime);
        let play_length = spec
            .sample
            .map_or((spec.size / 40_000).max(1), Sample::play_length);
        let mut p = Obj::new();
        p.str("md5sum", &spec.md5)
            .u64("filesize", spec.size)
            .u64("play_length", play_length)
            .str("sdkfileid", &spec.sdkfileid);
        media.push(spec);
        p
    }

    fn emotion_obj(&mut self, msgtime: i64, media: &mut Vec<MediaSpec>) -> Obj {
        let gif = self.rng.random_bool(0.6);
        let size = self.media_size(MediaKind::Emotion);
        let format = if gif {
            MediaFormat::Gif
        } else {
            MediaFormat::Png
        };
        let spec = self.media(MediaKind::Emotion, format, size, msgtime);
        let side = self.rng.random_range(120..=300);
        let (width, height) = spec
            .sample
            .and_then(Sample::dimensions)
            .map_or((side, side), |(w, h)| (i64::from(w), i64::from(h)));
        let mut p = Obj::new();
        p.i64("type", if gif { 1 } else { 2 })
            .i64("width", width)
            .i64("height", height)
            .u64("imagesize", spec.size)
            .str("md5sum", &spec.md5)
            .str("sdkfileid", &spec.sdkfileid);
        media.push(spec);
        p
    }

    fn emotion_payload(&mut self, msgtime: i64, media: &mut Vec<MediaSpec>) -> Obj {
        self.emotion_obj(msgtime, media)
    }

    fn file_payload(&mut self, msgtime: i64, media: &mut Vec<MediaSpec>) -> Obj {
        let (name, ext) = *pick(&mut self.rng, FILES);
        let size = self.media_size(MediaKind::File);
        let spec = self.media(
            MediaKind::File,
            MediaFormat::for_extension(ext),
            size,
            msgtime,
        );
        let (filename, ext) = file_name(name, ext, &spec);
        let mut p = Obj::new();
        p.str("md5sum", &spec.md5)
            .str("filename", &filename)
            .str("fileext", ext)
            .u64("filesize", spec.size)
            .str("sdkfileid", &spec.sdkfileid);
        media.push(spec);
        p
    }

    fn card_payload(&mut self) -> Obj {
        let mut p = Obj::new();
        if self.rng.random_bool(0.6) {
            let e = pick(&mut self.rng, &self.directory.employees);
            p.str("corpname", &self.directory.corp_name)
                .str("userid", &e.userid);
        } else {
            let c = pick(&mut self.rng, &self.directory.external_contacts);
            let corpname = if c.corp_name.is_empty() {
                "微信联系人"
            } else {
                &c.corp_name
            };
            p.str("corpname", corpname)
                .str("userid", &c.external_userid);
        }
        p
    }

    fn location_payload(&mut self) -> Obj {
        let (title, address, lon, lat) = *pick(&mut self.rng, PLACES);
        let jitter_lon = self.rng.random_range(-0.0005..0.0005);
        let jitter_lat = self.rng.random_range(-0.0005..0.0005);
        let mut p = Obj::new();
        p.f64("longitude", lon + jitter_lon, 9)
            .f64("latitude", lat + jitter_lat, 9)
            .str("address", address)
            .str("title", title)
            .i64("zoom", self.rng.random_range(14..=17));
        p
    }

    fn link_payload(&mut self) -> Obj {
        let (title, desc, url) = *pick(&mut self.rng, LINKS);
        let img: u32 = self.rng.random();
        let mut p = Obj::new();
        p.str("title", title)
            .str("description", desc)
            .str("link_url", url)
            .str(
                "image_url",
                &format!("https://wework.qpic.cn/wwpic/{img:08x}/0"),
            );
        p
    }

    fn vote_fields(&mut self, ctx: &Ctx<'_>, o: &mut Obj) {
        let (title, options) = *pick(&mut self.rng, VOTES);
        let conv = &self.convs[ctx.conv];
        match conv.last_voteid.clone() {
            Some(voteid) if self.rng.random_bool(0.6) => {
                // 102: a member answers an earlier vote of this room.
                let choice = *pick(&mut self.rng, options);
                o.str("votetitle", title)
                    .str_array("voteitem", &[choice])
                    .i64("votetype", 102)
                    .str("voteid", &voteid);
            }
            _ => {
                let voteid = format!("{}", ctx.msgtime / 1000);
                o.str("votetitle", title)
                    .str_array("voteitem", options)
                    .i64("votetype", 101)
                    .str("voteid", &voteid);
                self.convs[ctx.conv].last_voteid = Some(voteid);
            }
        }
    }

    fn collect_payload(&mut self, ctx: &Ctx<'_>) -> Obj {
        let room = self
            .directory
            .name_of(&self.convs[ctx.conv].roomid)
            .unwrap_or("")
            .to_owned();
        let creator = self
            .directory
            .name_of(ctx.from)
            .unwrap_or(ctx.from)
            .to_owned();
        let n = self.rng.random_range(2..=5);
        // Detail ids are u64 and can exceed i64::MAX (WXJ-T tests 11101571002822706744).
        let big = self.rng.random_bool(0.5);
        let details = (0..n)
            .map(|i| {
                let (ques, ty) = COLLECT_QUESTIONS[i % COLLECT_QUESTIONS.len()];
                let id = if big {
                    self.rng.random_range(i64::MAX as u64 + 1..=u64::MAX)
                } else {
                    i as u64 + 1
                };
                let mut d = Obj::new();
                d.u64("id", id).str("ques", ques).str("type", ty);
                d
            })
            .collect();
        let mut p = Obj::new();
        p.str("room_name", &room)
            .str("creator", &creator)
            .str("create_time", &china_datetime(ctx.msgtime))
            .str("title", word(&mut self.rng, COLLECT_TITLES))
            .obj_array("details", details);
        p
    }

    fn redpacket_payload(&mut self, group: bool, types: &[i64]) -> Obj {
        let ty = if group {
            *pick(&mut self.rng, &types[1..])
        } else {
            1
        };
        let count = if ty == 1 {
            1
        } else {
            self.rng.random_range(2..=10)
        };
        let mut p = Obj::new();
        p.i64("type", ty)
            .str("wish", word(&mut self.rng, WISHES))
            .i64("totalcnt", count)
            .i64("totalamount", self.rng.random_range(1..=200) * 100 * count);
        p
    }

    /// Meeting ids are u64; a third exceed i64::MAX (WXJ-T tests 11101571002822706744).
    fn meeting_id(&mut self) -> u64 {
        if self.rng.random_bool(0.3) {
            self.rng.random_range(i64::MAX as u64 + 1..=u64::MAX)
        } else {
            self.rng.random_range(1_000_000_000..5_000_000_000)
        }
    }

    fn meeting_payload(&mut self, secs: i64) -> Obj {
        let start = (secs + self.rng.random_range(600..259_200)) / 300 * 300;
        let end = start + *pick(&mut self.rng, &[1800, 3600, 5400]);
        let id = self.meeting_id();
        let launch = self.rng.random_bool(0.5);
        let mut p = Obj::new();
        p.str("topic", word(&mut self.rng, MEETING_TOPICS))
            .i64("starttime", start)
            .i64("endtime", end)
            .str(
                "address",
                if self.rng.random_bool(0.5) {
                    ""
                } else {
                    "3楼301会议室"
                },
            )
            .str("remarks", "")
            .i64("meetingtype", if launch { 101 } else { 102 })
            .u64("meetingid", id);
        if !launch {
            p.i64("status", self.rng.random_range(1..=7));
        }
        p
    }

    fn calendar_payload(&mut self, ctx: &Ctx<'_>) -> Obj {
        let secs = ctx.msgtime / 1000;
        let start = (secs + self.rng.random_range(3600..604_800)) / 1800 * 1800;
        let members = self.convs[ctx.conv].members.clone();
        let n = self.rng.random_range(1..=members.len().min(5));
        let attendees: Vec<String> = members
            .choose_multiple(&mut self.rng, n)
            .map(|m| self.directory.name_of(m).unwrap_or(m).to_owned())
            .collect();
        let creator = self
            .directory
            .name_of(ctx.from)
            .unwrap_or(ctx.from)
            .to_owned();
        let mut p = Obj::new();
        p.str(
            "title",
            &format!("{}业绩复盘会", word(&mut self.rng, &["Q3", "Q4", "月度"])),
        )
        .str("creatorname", &creator)
        .str_array("attendeename", &attendees)
        .i64("starttime", start)
        .i64("endtime", start + 3600)
        .str(
            "place",
            word(&mut self.rng, &["", "3楼301会议室", "腾讯会议"]),
        )
        .str("remarks", "");
        p
    }

    /// Items of a mixed message: `content` is the item's payload as a JSON string.
    fn mixed_items(&mut self, msgtime: i64, media: &mut Vec<MediaSpec>) -> Vec<Obj> {
        let n = self.rng.random_range(2..=4);
        (0..n)
            .map(|i| {
                let (ty, content) = match (i, self.rng.random_range(0..10)) {
                    (0, _) | (_, 0..4) => {
                        let mut t = Obj::new();
                        let line = self.chat_line();
                        t.str("content", &format!("{line}\n"));
                        ("text", t)
                    }
                    (_, 4..8) => ("image", self.image_obj(msgtime, media)),
                    _ => ("emotion", self.emotion_obj(msgtime, media)),
                };
                let mut item = Obj::new();
                item.str("type", ty).str("content", &content.finish());
                item
            })
            .collect()
    }

    fn mixed_payload(&mut self, msgtime: i64, media: &mut Vec<MediaSpec>) -> Obj {
        let items = self.mixed_items(msgtime, media);
        let mut p = Obj::new();
        p.obj_array("item", items);
        p
    }

    /// A forwarded conversation. Item `msgtime` is in seconds as in the official example, in ms for
    /// some records (the field table says ms); `content` is a JSON string of the item's payload.
    fn chatrecord_payload(&mut self, ctx: &Ctx<'_>, media: &mut Vec<MediaSpec>) -> Obj {
        let in_ms = self.rng.random_bool(0.15);
        let from_chatroom = self.rng.random_bool(0.5);
        let title = if from_chatroom {
            "群聊".to_owned()
        } else if self.rng.random_bool(0.5) {
            let a = pick(&mut self.rng, &self.directory.employees).name.clone();
            let b = pick(&mut self.rng, &self.directory.employees).name.clone();
            format!("{a}和{b}的聊天记录")
        } else {
            pick(&mut self.rng, CHATRECORD_TITLES).to_string()
        };
        let n = self.rng.random_range(2..=6);
        let mut t = ctx.msgtime - self.rng.random_range(3_600_000..172_800_000);
        let items = (0..n)
            .map(|_| {
                t += self.rng.random_range(5_000..600_000);
                let (ty, content) = match self.rng.random_range(0..100) {
                    0..60 => {
                        let mut c = Obj::new();
                        c.str("content", &self.chat_line());
                        ("ChatRecordText", c)
                    }
                    60..72 => ("ChatRecordImage", self.image_obj(t, media)),
                    72..78 => ("ChatRecordFile", self.file_payload(t, media)),
                    78..82 => ("ChatRecordVideo", self.video_payload(t, media)),
                    82..85 => ("ChatRecordVoice", self.voice_payload(t, media)),
                    85..89 => ("ChatRecordLink", self.link_payload()),
                    89..92 => ("ChatRecordLocation", self.location_payload()),
                    92..96 => ("ChatRecordEmotion", self.emotion_obj(t, media)),
                    _ => ("ChatRecordMixed", self.mixed_payload(t, media)),
                };
                let mut item = Obj::new();
                item.str("type", ty)
                    .i64("msgtime", if in_ms { t } else { t / 1000 })
                    .str("content", &content.finish())
                    .bool("from_chatroom", from_chatroom);
                item
            })
            .collect();
        let mut p = Obj::new();
        p.str("title", &title).obj_array("item", items);
        p
    }

    fn meeting_voice_call_payload(&mut self, ctx: &Ctx<'_>, media: &mut Vec<MediaSpec>) -> Obj {
        let secs = ctx.msgtime / 1000;
        let duration = self.rng.random_range(30..1800);
        // The call ended just before the record was written.
        let end = secs - 2;
        let start = end - duration;
        let size = self.media_size(MediaKind::MeetingVoiceCall);
        let spec = self.media(
            MediaKind::MeetingVoiceCall,
            MediaFormat::Amr,
            size,
            ctx.msgtime,
        );
        let members = self.convs[ctx.conv].members.clone();
        let demos = (0..self.rng.random_range(0..=2))
            .map(|_| {
                let mut key = [0u8; 16];
                self.rng.fill(&mut key);
                let s = self.rng.random_range(start..end);
                let mut d = Obj::new();
                d.str("filename", &format!("{}.docx", hex::encode(key)))
                    .str("demooperator", pick::<String>(&mut self.rng, &members))
                    .i64("starttime", s)
                    .i64("endtime", (s + self.rng.random_range(0..600)).min(end));
                d
            })
            .collect();
        let shares = (0..self.rng.random_range(0..=2))
            .map(|_| {
                let s = self.rng.random_range(start..end);
                let mut d = Obj::new();
                d.str("share", pick::<String>(&mut self.rng, &members))
                    .i64("starttime", s)
                    .i64("endtime", (s + self.rng.random_range(0..600)).min(end));
                d
            })
            .collect();
        let mut p = Obj::new();
        p.i64("endtime", end)
            .str("sdkfileid", &spec.sdkfileid)
            .obj_array("demofiledata", demos)
            .obj_array("sharescreendata", shares);
        media.push(spec);
        p
    }
}

/// The size a media object was asked for: drawn from the spread of its kind, or one of the edge
/// sizes of [`ForcedSize`] (which must stay exactly that size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MediaSize {
    Drawn(u64),
    Forced(u64),
}

impl MediaSize {
    fn bytes(self) -> u64 {
        match self {
            MediaSize::Drawn(n) | MediaSize::Forced(n) => n,
        }
    }
}

/// One media object in this many carries a real sample (see [`real_sample`]).
pub const REAL_SHARE: u64 = 4;

/// The real sample an object of `kind` and `format` carries, decided by its content seed alone
/// (no draw): `None` for three objects in four. The sample always has the format the message
/// implies (reference §3.3: image `.jpg`, voice `.amr`, video `.mp4`, emotion by its `type`), as
/// consumers derive extensions from the msgtype: images are the photo, voice and meeting call
/// audio AMR-NB, video the clip, emotions the GIF or the PNG sticker; files the sample of their
/// extension, else the PDF (and [`file_name`] renames the file to match). The PNG image and the
/// SILK voice appear in the showcase only, labelled.
pub(crate) fn real_sample(kind: MediaKind, format: MediaFormat, seed: u64) -> Option<Sample> {
    if !seed.is_multiple_of(REAL_SHARE) {
        return None;
    }
    Some(match kind {
        MediaKind::Image => Sample::Photo,
        MediaKind::Voice | MediaKind::MeetingVoiceCall => Sample::VoiceAmr,
        MediaKind::Video => Sample::Clip,
        MediaKind::Emotion if format == MediaFormat::Gif => Sample::Thumb,
        MediaKind::Emotion => Sample::Sticker,
        MediaKind::File | MediaKind::VoipDocShare => match format {
            MediaFormat::Jpeg => Sample::Photo,
            MediaFormat::Png => Sample::Chart,
            MediaFormat::Mp4 => Sample::Clip,
            _ => Sample::Report,
        },
    })
}

/// A file message's `filename` and `fileext`: `name.ext` as drawn, unless the object is a real
/// sample of another format, whose extension then replaces the drawn one.
fn file_name(name: &str, ext: &'static str, spec: &MediaSpec) -> (String, &'static str) {
    let ext = match spec.sample {
        Some(sample) if MediaFormat::for_extension(ext) != sample.format() => {
            sample.format().extension()
        }
        _ => ext,
    };
    if ext.is_empty() {
        (name.to_owned(), ext)
    } else {
        (format!("{name}.{ext}"), ext)
    }
}

/// `YYYY-MM-DD HH:MM:SS` in China time (collect.create_time is a string in this format).
/// Edge sizes every corpus contains once it has a few hundred records: an empty file, an object of
/// exactly one 512 KiB media chunk (whose ciphertext needs a second chunk for the padding block) and
/// one of 1,300,000 bytes (three chunks, the reference's example). A file message is forced by the
/// coverage rule within the first ~200 records, and images are common, so all three appear early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ForcedSize {
    Empty,
    OneChunk,
    ThreeChunks,
}

impl ForcedSize {
    pub(super) const ALL: [ForcedSize; 3] = [
        ForcedSize::Empty,
        ForcedSize::OneChunk,
        ForcedSize::ThreeChunks,
    ];

    fn fits(self, kind: MediaKind) -> bool {
        match self {
            ForcedSize::Empty => kind == MediaKind::File,
            ForcedSize::OneChunk | ForcedSize::ThreeChunks => matches!(
                kind,
                MediaKind::Image | MediaKind::Video | MediaKind::File | MediaKind::VoipDocShare
            ),
        }
    }

    fn size(self) -> u64 {
        match self {
            ForcedSize::Empty => 0,
            ForcedSize::OneChunk => 524_288,
            ForcedSize::ThreeChunks => 1_300_000,
        }
    }
}

/// China time (UTC+8) of a millisecond timestamp, as WeCom writes it in payloads.
pub(super) fn china_datetime(ms: i64) -> String {
    wecom_wire::text::datetime(ms.div_euclid(1000) + 8 * 3600)
}

#[cfg(test)]
mod tests {
    use super::china_datetime;

    #[test]
    fn china_time_formatting() {
        assert_eq!(china_datetime(1_576_034_482_344), "2019-12-11 11:21:22");
        assert_eq!(china_datetime(0), "1970-01-01 08:00:00");
        assert_eq!(china_datetime(1_709_222_400_000), "2024-03-01 00:00:00");
    }
}
