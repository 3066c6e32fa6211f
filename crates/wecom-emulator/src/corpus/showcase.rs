//! The showcase: an opt-in ([`super::CorpusSpec::showcase`]) set of records at the head of a
//! corpus that holds one message of every msgtype of reference §3 and the cases a viewer must
//! handle (a recall, a quoted reply, a URL, HTML that must not run, a search keyword, an unknown
//! type, robot, employee and customer senders), with a real sample behind every media object.
//!
//! It lives in its own customer group, [`SHOWCASE_ROOM`] named [`SHOWCASE_ROOM_NAME`] (added to
//! the directory, so the naming APIs resolve it), and in the one-to-one chat of that group's
//! owner with its customer, which carries the types that only exist between two people (consent,
//! calls, channel posts). Its ids come from a stream of their own, so the records after the
//! showcase are the corpus the seed always had, only with seqs (and times) after the showcase's.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::directory::{Directory, Group};
use super::ids;
use super::json::Obj;
use super::payload::china_datetime;
use super::{CorpusSpec, PlainRecord};
use crate::media::{MediaKind, MediaSpec, Sample};

/// The roomid of the showcase group.
pub const SHOWCASE_ROOM: &str = "wrShowCsAAQuanLeiXingYanShiQun01";

/// The showcase group's name, as the naming APIs give it.
pub const SHOWCASE_ROOM_NAME: &str = "全类型演示群";

/// Salt of the showcase's own random stream (msgids, media identities, call ids).
const SALT: u64 = 0x5_40C_A5E;

/// Seconds between two showcase records.
const STEP_MS: i64 = 45_000;

/// One record of the showcase: what it demonstrates, to find it in tests and demos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowcaseMessage {
    pub seq: u64,
    pub msgid: String,
    /// `None` for the `switch` record.
    pub msgtype: Option<String>,
    /// What the record shows, unique within the showcase: the msgtype for the plain case of a
    /// type (`"image"`, `"chatrecord"`), else a name such as `"voice-silk"`, `"recalled"`,
    /// `"quote"`, `"url"`, `"xss-script"`, `"xss-img"`, `"keyword"`, `"unknown-type"` (see
    /// [`SHOWCASE_FEATURES`]).
    pub feature: &'static str,
}

/// Every feature of the showcase, in record order.
pub const SHOWCASE_FEATURES: &[&str] = &[
    "agree",
    "text-one-to-one",
    "text",
    "text-from-customer",
    "keyword",
    "quote",
    "url",
    "xss-script",
    "xss-img",
    "recalled",
    "revoke",
    "image",
    "image-png",
    "voice",
    "voice-silk",
    "video",
    "emotion",
    "emotion-png",
    "file",
    "card",
    "location",
    "link",
    "weapp",
    "chatrecord",
    "mixed",
    "todo",
    "vote",
    "vote-answer",
    "collect",
    "redpacket",
    "external_redpacket",
    "meeting",
    "meeting_notification",
    "docmsg",
    "markdown",
    "news",
    "calendar",
    "qydiskfile",
    "sphfeed",
    "voiptext",
    "meeting_voice_call",
    "voip_doc_share",
    "disagree",
    "unknown-type",
    "switch",
];

/// The text of the `keyword` record (it contains the two-character word 合同).
pub const SHOWCASE_KEYWORD_TEXT: &str = "请查收本季度的合同草案";
/// The text of the `url` record.
pub const SHOWCASE_URL_TEXT: &str = "合同在线版：https://example.com/合同?id=1 请在周五前确认";
/// The texts of the `xss-script` and `xss-img` records: viewers must show them, not run them.
pub const SHOWCASE_XSS_TEXTS: [&str; 2] =
    ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"];
/// The msgtype of the `unknown-type` record, which no version of this project knows.
pub const SHOWCASE_UNKNOWN_MSGTYPE: &str = "future_type_x";

/// What [`build`] adds to a corpus.
pub(crate) struct Showcase {
    pub(crate) group: Group,
    pub(crate) records: Vec<PlainRecord>,
    pub(crate) index: Vec<ShowcaseMessage>,
    /// The time of the last record, ms.
    pub(crate) last_ms: i64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chat {
    Group,
    /// The owner and the customer, one to one.
    Pair,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    /// The group owner, an employee who has the customer.
    Owner,
    /// A second employee.
    Colleague,
    Customer,
    Robot,
}

struct Builder<'a> {
    rng: ChaCha8Rng,
    dir: &'a Directory,
    owner: String,
    colleague: String,
    customer: String,
    robot: String,
    seq: u64,
    time_ms: i64,
    records: Vec<PlainRecord>,
    index: Vec<ShowcaseMessage>,
}

/// Builds the showcase for a corpus whose directory is `dir`, or `None` when the directory has
/// no customer with an owner, no second employee or no robot (every generated one has them).
pub(crate) fn build(spec: &CorpusSpec, dir: &Directory) -> Option<Showcase> {
    let contact = dir
        .external_contacts
        .iter()
        .find(|c| !c.updown_stream && !c.owners.is_empty())?;
    let owner = contact.owners.first()?.clone();
    let colleague = dir
        .employees
        .iter()
        .find(|e| e.userid != owner)?
        .userid
        .clone();
    let robot = dir.robots.first()?.robot_id.clone();
    let group = Group {
        roomid: SHOWCASE_ROOM.to_owned(),
        name: SHOWCASE_ROOM_NAME.to_owned(),
        owner: owner.clone(),
        members: vec![
            owner.clone(),
            colleague.clone(),
            contact.external_userid.clone(),
        ],
        robots: vec![robot.clone()],
        external: true,
        // 2023-06-01T00:00:00Z, like every room, before the corpus.
        create_time: 1_685_577_600,
        notice: "本群演示会话存档的全部消息类型，消息内容均为虚构。".to_owned(),
        from_wechat: false,
    };
    let mut b = Builder {
        rng: ChaCha8Rng::seed_from_u64(spec.seed ^ SALT),
        dir,
        owner,
        colleague,
        customer: contact.external_userid.clone(),
        robot,
        seq: 0,
        time_ms: spec.start_ms,
        records: Vec::new(),
        index: Vec::new(),
    };
    b.all();
    Some(Showcase {
        group,
        records: b.records,
        index: b.index,
        last_ms: b.time_ms - STEP_MS,
    })
}

impl Builder<'_> {
    fn id(&self, who: Who) -> &str {
        match who {
            Who::Owner => &self.owner,
            Who::Colleague => &self.colleague,
            Who::Customer => &self.customer,
            Who::Robot => &self.robot,
        }
    }

    fn name(&self, who: Who) -> String {
        let id = self.id(who);
        self.dir.name_of(id).unwrap_or(id).to_owned()
    }

    fn members(&self, chat: Chat) -> Vec<String> {
        match chat {
            Chat::Group => vec![
                self.owner.clone(),
                self.colleague.clone(),
                self.customer.clone(),
            ],
            Chat::Pair => vec![self.owner.clone(), self.customer.clone()],
        }
    }

    /// Adds one sent (or recalled) message; `payload` writes the fields after `msgtype`.
    fn message(
        &mut self,
        feature: &'static str,
        chat: Chat,
        who: Who,
        msgtype: &str,
        media: Vec<MediaSpec>,
        payload: impl FnOnce(&mut Obj),
    ) -> String {
        let (seq, msgtime) = self.next_slot();
        let from = self.id(who).to_owned();
        let tolist: Vec<String> = self
            .members(chat)
            .into_iter()
            .filter(|m| *m != from)
            .collect();
        // The one-to-one chat with the customer is an external chat (reference §3.1); the group
        // keeps plain msgids, as most customer groups of the corpus do.
        let suffix = if chat == Chat::Pair { "_external" } else { "" };
        let msgid = format!("{}{suffix}", ids::msgid(&mut self.rng, msgtime));
        let action = if msgtype == "revoke" {
            "recall"
        } else {
            "send"
        };
        let mut o = Obj::new();
        o.str("msgid", &msgid)
            .str("action", action)
            .str("from", &from)
            .str_array("tolist", &tolist);
        // The official meeting_voice_call / voip_doc_share examples carry no roomid at all.
        if !matches!(msgtype, "meeting_voice_call" | "voip_doc_share") {
            o.str(
                "roomid",
                if chat == Chat::Group {
                    SHOWCASE_ROOM
                } else {
                    ""
                },
            );
        }
        o.i64("msgtime", msgtime).str("msgtype", msgtype);
        payload(&mut o);
        self.push(
            feature,
            PlainRecord {
                seq,
                msgid: msgid.clone(),
                plaintext: o.finish(),
                msgtype: Some(msgtype.to_owned()),
                action: action.to_owned(),
                media,
            },
        );
        msgid
    }

    fn next_slot(&mut self) -> (u64, i64) {
        self.seq += 1;
        let t = self.time_ms;
        self.time_ms += STEP_MS;
        (self.seq, t)
    }

    fn push(&mut self, feature: &'static str, record: PlainRecord) {
        self.index.push(ShowcaseMessage {
            seq: record.seq,
            msgid: record.msgid.clone(),
            msgtype: record.msgtype.clone(),
            feature,
        });
        self.records.push(record);
    }

    /// A media object of the showcase: always a real sample, its md5 stated (but for the
    /// meeting call audio, whose message has no md5 field).
    fn media(&mut self, kind: MediaKind, sample: Sample) -> MediaSpec {
        let identity = ids::media_identity(&mut self.rng, self.time_ms);
        let mut spec = ids::sample_spec(identity, kind, sample, self.rng.next_u64());
        if kind != MediaKind::MeetingVoiceCall {
            spec.md5 = spec.actual_md5();
        }
        spec
    }

    fn text(&mut self, feature: &'static str, chat: Chat, who: Who, content: &str) -> String {
        self.message(feature, chat, who, "text", Vec::new(), |o| {
            let mut p = Obj::new();
            p.str("content", content);
            o.obj("text", p);
        })
    }

    fn all(&mut self) {
        use Chat::{Group, Pair};
        use Who::{Colleague, Customer, Owner, Robot};

        // Consent first, then the conversation.
        let customer = self.customer.clone();
        let t = self.time_ms;
        self.message("agree", Pair, Customer, "agree", Vec::new(), |o| {
            let mut p = Obj::new();
            p.str("userid", &customer).i64("agree_time", t);
            o.obj("agree", p);
        });
        self.text(
            "text-one-to-one",
            Pair,
            Owner,
            "您好，我是您的客户经理，合同相关的问题都可以在这里找我。",
        );
        self.text(
            "text",
            Group,
            Owner,
            "大家好，这个群用来演示会话存档支持的全部消息类型。",
        );
        self.text("text-from-customer", Group, Customer, "收到，谢谢！");
        self.text("keyword", Group, Colleague, SHOWCASE_KEYWORD_TEXT);
        let quoted = format!(
            "这是一条引用/回复消息：\n\"{}：\n{SHOWCASE_KEYWORD_TEXT}\"\n------\n好的，我今天下班前看完",
            self.name(Colleague)
        );
        self.text("quote", Group, Owner, &quoted);
        self.text("url", Group, Colleague, SHOWCASE_URL_TEXT);
        self.text("xss-script", Group, Customer, SHOWCASE_XSS_TEXTS[0]);
        self.text("xss-img", Group, Customer, SHOWCASE_XSS_TEXTS[1]);
        let recalled = self.text("recalled", Group, Owner, "这条消息发错了，马上撤回");
        self.message("revoke", Group, Owner, "revoke", Vec::new(), |o| {
            let mut p = Obj::new();
            p.str("pre_msgid", &recalled);
            o.obj("revoke", p);
        });

        let photo = self.media(MediaKind::Image, Sample::Photo);
        self.image("image", Owner, photo);
        let chart = self.media(MediaKind::Image, Sample::Chart);
        self.image("image-png", Colleague, chart);
        let amr = self.media(MediaKind::Voice, Sample::VoiceAmr);
        self.voice("voice", Customer, amr);
        let silk = self.media(MediaKind::Voice, Sample::VoiceSilk);
        self.voice("voice-silk", Owner, silk);
        let clip = self.media(MediaKind::Video, Sample::Clip);
        let p = video_obj(&clip);
        self.message("video", Group, Colleague, "video", vec![clip], |o| {
            o.obj("video", p);
        });
        let gif = self.media(MediaKind::Emotion, Sample::Thumb);
        let p = emotion_obj(&gif);
        self.message("emotion", Group, Customer, "emotion", vec![gif], |o| {
            o.obj("emotion", p);
        });
        let png = self.media(MediaKind::Emotion, Sample::Sticker);
        let p = emotion_obj(&png);
        self.message("emotion-png", Group, Owner, "emotion", vec![png], |o| {
            o.obj("emotion", p);
        });
        let report = self.media(MediaKind::File, Sample::Report);
        let p = file_obj(&report, "本季度合同执行情况报告");
        self.message("file", Group, Owner, "file", vec![report], |o| {
            o.obj("file", p);
        });

        let (corpname, card_user) = (self.dir.corp_name.clone(), self.colleague.clone());
        self.message("card", Group, Owner, "card", Vec::new(), |o| {
            let mut p = Obj::new();
            p.str("corpname", &corpname).str("userid", &card_user);
            o.obj("card", p);
        });
        self.message("location", Group, Customer, "location", Vec::new(), |o| {
            let mut p = Obj::new();
            p.f64("longitude", 121.505_393_1, 9)
                .f64("latitude", 31.233_486_2, 9)
                .str("address", "上海市浦东新区银城中路501号")
                .str("title", "上海中心大厦")
                .i64("zoom", 15);
            o.obj("location", p);
        });
        self.message("link", Group, Colleague, "link", Vec::new(), |o| {
            o.obj("link", link_obj());
        });
        self.message("weapp", Group, Owner, "weapp", Vec::new(), |o| {
            let mut p = Obj::new();
            p.str("title", "电子合同签署")
                .str("description", "在线查看并签署本季度合同")
                .str("username", "gh_5e1f0c2d3b4a@app")
                .str("displayname", "合同助手");
            o.obj("weapp", p);
        });
        self.chatrecord();
        self.mixed();

        self.message("todo", Group, Owner, "todo", Vec::new(), |o| {
            let mut p = Obj::new();
            p.str("title", "合同审核")
                .str("content", "周五前完成本季度合同草案的审核");
            o.obj("todo", p);
        });
        let voteid = format!("{}", self.time_ms / 1000);
        let options = ["三亚", "丽江", "本地酒店"];
        let v = voteid.clone();
        self.message("vote", Group, Colleague, "vote", Vec::new(), |o| {
            let mut p = Obj::new();
            p.str("votetitle", "年会地点投票")
                .str_array("voteitem", &options)
                .i64("votetype", 101)
                .str("voteid", &v);
            o.obj("vote", p);
        });
        // The other documented shape: the vote fields on the message itself.
        self.message("vote-answer", Group, Customer, "vote", Vec::new(), |o| {
            o.str("votetitle", "年会地点投票")
                .str_array("voteitem", &["丽江"])
                .i64("votetype", 102)
                .str("voteid", &voteid);
        });
        let (creator, created) = (self.name(Owner), china_datetime(self.time_ms));
        self.message("collect", Group, Owner, "collect", Vec::new(), |o| {
            let details = [
                (1u64, "姓名", "Text"),
                (2, "联系电话", "Number"),
                // Detail ids are u64 and may exceed i64::MAX.
                (11_101_571_002_822_706_744, "到达日期", "Date"),
            ]
            .into_iter()
            .map(|(id, ques, ty)| {
                let mut d = Obj::new();
                d.u64("id", id).str("ques", ques).str("type", ty);
                d
            })
            .collect();
            let mut p = Obj::new();
            p.str("room_name", SHOWCASE_ROOM_NAME)
                .str("creator", &creator)
                .str("create_time", &created)
                .str("title", "年会报名表")
                .obj_array("details", details);
            o.obj("collect", p);
        });
        self.message("redpacket", Group, Owner, "redpacket", Vec::new(), |o| {
            o.obj("redpacket", redpacket_obj(2, "恭喜发财，大吉大利", 5, 5000));
        });
        self.message(
            "external_redpacket",
            Group,
            Customer,
            "external_redpacket",
            Vec::new(),
            |o| {
                o.obj("redpacket", redpacket_obj(2, "合作愉快", 3, 3000));
            },
        );
        let start = (self.time_ms / 1000 + 86_400) / 1800 * 1800;
        self.message("meeting", Group, Owner, "meeting", Vec::new(), |o| {
            let mut p = Obj::new();
            p.str("topic", "合同评审会")
                .i64("starttime", start)
                .i64("endtime", start + 3600)
                .str("address", "3楼301会议室")
                .str("remarks", "请提前阅读合同草案")
                .i64("meetingtype", 101)
                // Meeting ids are u64; this one exceeds i64::MAX.
                .u64("meetingid", 11_101_571_002_822_706_744);
            o.obj("meeting", p);
        });
        self.message(
            "meeting_notification",
            Group,
            Owner,
            "meeting_notification",
            Vec::new(),
            |o| {
                let mut p = Obj::new();
                p.u64("meeting_id", 11_101_571_002_822_706_744)
                    .i64("notification_type", 1)
                    .str("content", "会议即将开始");
                o.obj("info", p);
            },
        );
        let doc_creator = self.owner.clone();
        self.message("docmsg", Group, Colleague, "docmsg", Vec::new(), |o| {
            let mut p = Obj::new();
            p.str("title", "本季度合同草案（在线文档）")
                .str("doc_creator", &doc_creator)
                .str(
                    "link_url",
                    "https://doc.weixin.qq.com/doc/w3_showcase_contract",
                );
            o.obj("doc", p);
        });
        self.message("markdown", Group, Robot, "markdown", Vec::new(), |o| {
            let mut p = Obj::new();
            p.str(
                "content",
                "**本周合同提醒**\n> 待签署：<font color=\"warning\">3 份</font>\n> 即将到期：2 份\n请相关同事及时跟进。",
            );
            o.obj("info", p);
        });
        self.message("news", Group, Robot, "news", Vec::new(), |o| {
            let items = [
                (
                    "第四季度合同签约情况",
                    "签约额 640 万元，环比增长 18%",
                    "https://example.com/news/q4",
                    "https://example.com/news/q4.jpg",
                ),
                (
                    "合同模板更新通知",
                    "新模板已由法务审核发布",
                    "https://example.com/news/template",
                    "https://example.com/news/template.jpg",
                ),
            ]
            .into_iter()
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
        });
        let attendees = [self.name(Owner), self.name(Colleague), self.name(Customer)];
        let creator = self.name(Owner);
        let start = (self.time_ms / 1000 + 2 * 86_400) / 1800 * 1800;
        self.message("calendar", Group, Owner, "calendar", Vec::new(), |o| {
            let mut p = Obj::new();
            p.str("title", "合同签署仪式")
                .str("creatorname", &creator)
                .str_array("attendeename", &attendees)
                .i64("starttime", start)
                .i64("endtime", start + 3600)
                .str("place", "腾讯会议")
                .str("remarks", "");
            o.obj("calendar", p);
        });
        self.message(
            "qydiskfile",
            Group,
            Colleague,
            "qydiskfile",
            Vec::new(),
            |o| {
                let mut p = Obj::new();
                p.str("filename", "合同模板2023.docx");
                o.obj("info", p);
            },
        );

        // Types that exist only between two people.
        self.message("sphfeed", Pair, Customer, "sphfeed", Vec::new(), |o| {
            let mut p = Obj::new();
            p.i64("feed_type", 4)
                .str("sph_name", "云游天地旅行家")
                .str("feed_desc", "签完合同，出发去旅行～\n\n#旅行#风景");
            o.obj("sphfeed", p);
        });
        self.message("voiptext", Pair, Owner, "voiptext", Vec::new(), |o| {
            let mut p = Obj::new();
            p.i64("callduration", 125).i64("invitetype", 2);
            o.obj("info", p);
        });
        self.meeting_voice_call();
        let shared = self.media(MediaKind::VoipDocShare, Sample::Report);
        let voipid = ids::call_id(&mut self.rng);
        let (name, size, md5, sdkfileid) = (
            format!("本季度合同执行情况报告.{}", shared.format.extension()),
            shared.size,
            shared.md5.clone(),
            shared.sdkfileid.clone(),
        );
        self.message(
            "voip_doc_share",
            Pair,
            Owner,
            "voip_doc_share",
            vec![shared],
            |o| {
                o.str("voipid", &voipid);
                let mut p = Obj::new();
                p.str("filename", &name)
                    .str("md5sum", &md5)
                    .u64("filesize", size)
                    .str("sdkfileid", &sdkfileid);
                o.obj("voip_doc_share", p);
            },
        );
        let t = self.time_ms;
        self.message("disagree", Pair, Customer, "disagree", Vec::new(), |o| {
            let mut p = Obj::new();
            p.str("userid", &customer).i64("disagree_time", t);
            o.obj("disagree", p);
        });
        self.message(
            "unknown-type",
            Group,
            Colleague,
            SHOWCASE_UNKNOWN_MSGTYPE,
            Vec::new(),
            |o| {
                let mut p = Obj::new();
                p.str("title", "一种将来才有的消息类型")
                    .i64("level", 3)
                    .bool("pinned", true)
                    .str_array("tags", &["演示", "未知类型"]);
                o.obj(SHOWCASE_UNKNOWN_MSGTYPE, p);
            },
        );

        // A switch record (no msgtype, no sender or room).
        let (seq, time) = self.next_slot();
        let msgid = ids::switch_msgid(&mut self.rng);
        let mut o = Obj::new();
        o.str("msgid", &msgid)
            .str("action", "switch")
            .i64("time", time)
            .str("user", &self.owner);
        self.push(
            "switch",
            PlainRecord {
                seq,
                msgid,
                plaintext: o.finish(),
                msgtype: None,
                action: "switch".to_owned(),
                media: Vec::new(),
            },
        );
    }

    fn image(&mut self, feature: &'static str, who: Who, spec: MediaSpec) {
        let p = image_obj(&spec);
        self.message(feature, Chat::Group, who, "image", vec![spec], |o| {
            o.obj("image", p);
        });
    }

    fn voice(&mut self, feature: &'static str, who: Who, spec: MediaSpec) {
        let p = voice_obj(&spec);
        self.message(feature, Chat::Group, who, "voice", vec![spec], |o| {
            o.obj("voice", p);
        });
    }

    /// A forwarded conversation whose items carry real media: text, image, voice, video, file,
    /// emotion, link, location.
    fn chatrecord(&mut self) {
        let mut media = Vec::new();
        let mut t = self.time_ms - 3_600_000;
        let mut items = Vec::new();
        let add = |items: &mut Vec<Obj>, t: &mut i64, ty: &str, content: Obj| {
            *t += 60_000;
            let mut item = Obj::new();
            item.str("type", ty)
                .i64("msgtime", *t / 1000)
                .str("content", &content.finish())
                .bool("from_chatroom", true);
            items.push(item);
        };
        let mut text = Obj::new();
        text.str("content", "这是上周和客户确认合同条款的记录");
        add(&mut items, &mut t, "ChatRecordText", text);
        let photo = self.media(MediaKind::Image, Sample::Photo);
        add(&mut items, &mut t, "ChatRecordImage", image_obj(&photo));
        media.push(photo);
        let voice = self.media(MediaKind::Voice, Sample::VoiceAmr);
        add(&mut items, &mut t, "ChatRecordVoice", voice_obj(&voice));
        media.push(voice);
        let clip = self.media(MediaKind::Video, Sample::Clip);
        add(&mut items, &mut t, "ChatRecordVideo", video_obj(&clip));
        media.push(clip);
        let report = self.media(MediaKind::File, Sample::Report);
        add(
            &mut items,
            &mut t,
            "ChatRecordFile",
            file_obj(&report, "合同条款确认稿"),
        );
        media.push(report);
        let gif = self.media(MediaKind::Emotion, Sample::Thumb);
        add(&mut items, &mut t, "ChatRecordEmotion", emotion_obj(&gif));
        media.push(gif);
        add(&mut items, &mut t, "ChatRecordLink", link_obj());
        let title = format!(
            "{}和{}的聊天记录",
            self.name(Who::Owner),
            self.name(Who::Customer)
        );
        self.message(
            "chatrecord",
            Chat::Group,
            Who::Colleague,
            "chatrecord",
            media,
            |o| {
                let mut p = Obj::new();
                p.str("title", &title).obj_array("item", items);
                o.obj("chatrecord", p);
            },
        );
    }

    /// A mixed message: text, a real image, a real sticker, text.
    fn mixed(&mut self) {
        let photo = self.media(MediaKind::Image, Sample::Photo);
        let sticker = self.media(MediaKind::Emotion, Sample::Sticker);
        let item = |ty: &str, content: Obj| {
            let mut i = Obj::new();
            i.str("type", ty).str("content", &content.finish());
            i
        };
        let text = |s: &str| {
            let mut c = Obj::new();
            c.str("content", s);
            c
        };
        let items = vec![
            item("text", text("今天拜访客户的照片[微笑]\n")),
            item("image", image_obj(&photo)),
            item("emotion", emotion_obj(&sticker)),
            item("text", text("合同已经当面签好了\n")),
        ];
        self.message(
            "mixed",
            Chat::Group,
            Who::Customer,
            "mixed",
            vec![photo, sticker],
            |o| {
                let mut p = Obj::new();
                p.obj_array("item", items);
                o.obj("mixed", p);
            },
        );
    }

    fn meeting_voice_call(&mut self) {
        let audio = self.media(MediaKind::MeetingVoiceCall, Sample::VoiceAmr);
        let voiceid = ids::call_id(&mut self.rng);
        let end = self.time_ms / 1000 - 2;
        let start = end - 300;
        let mut key = [0u8; 16];
        self.rng.fill(&mut key);
        let (owner, customer, sdkfileid) = (
            self.owner.clone(),
            self.customer.clone(),
            audio.sdkfileid.clone(),
        );
        self.message(
            "meeting_voice_call",
            Chat::Pair,
            Who::Owner,
            "meeting_voice_call",
            vec![audio],
            |o| {
                o.str("voiceid", &voiceid);
                let mut demo = Obj::new();
                demo.str("filename", &format!("{}.docx", hex::encode(key)))
                    .str("demooperator", &owner)
                    .i64("starttime", start + 20)
                    .i64("endtime", start + 140);
                let mut share = Obj::new();
                share
                    .str("share", &customer)
                    .i64("starttime", start + 150)
                    .i64("endtime", start + 200);
                let mut p = Obj::new();
                p.i64("endtime", end)
                    .str("sdkfileid", &sdkfileid)
                    .obj_array("demofiledata", vec![demo])
                    .obj_array("sharescreendata", vec![share]);
                o.obj("meeting_voice_call", p);
            },
        );
    }
}

fn image_obj(spec: &MediaSpec) -> Obj {
    let mut p = Obj::new();
    p.str("md5sum", &spec.md5)
        .u64("filesize", spec.size)
        .str("sdkfileid", &spec.sdkfileid);
    p
}

fn voice_obj(spec: &MediaSpec) -> Obj {
    let mut p = Obj::new();
    p.str("md5sum", &spec.md5)
        .u64("voice_size", spec.size)
        .u64("play_length", spec.sample.map_or(1, Sample::play_length))
        .str("sdkfileid", &spec.sdkfileid);
    p
}

fn video_obj(spec: &MediaSpec) -> Obj {
    let mut p = Obj::new();
    p.str("md5sum", &spec.md5)
        .u64("filesize", spec.size)
        .u64("play_length", spec.sample.map_or(1, Sample::play_length))
        .str("sdkfileid", &spec.sdkfileid);
    p
}

fn emotion_obj(spec: &MediaSpec) -> Obj {
    let (w, h) = spec.sample.and_then(Sample::dimensions).unwrap_or((0, 0));
    let gif = spec.sample == Some(Sample::Thumb);
    let mut p = Obj::new();
    p.i64("type", if gif { 1 } else { 2 })
        .i64("width", i64::from(w))
        .i64("height", i64::from(h))
        .u64("imagesize", spec.size)
        .str("md5sum", &spec.md5)
        .str("sdkfileid", &spec.sdkfileid);
    p
}

fn file_obj(spec: &MediaSpec, stem: &str) -> Obj {
    let ext = spec.format.extension();
    let mut p = Obj::new();
    p.str("md5sum", &spec.md5)
        .str("filename", &format!("{stem}.{ext}"))
        .str("fileext", ext)
        .u64("filesize", spec.size)
        .str("sdkfileid", &spec.sdkfileid);
    p
}

fn link_obj() -> Obj {
    let mut p = Obj::new();
    p.str("title", "企业微信会话内容存档说明")
        .str("description", "了解会话存档支持哪些消息类型")
        .str("link_url", "https://example.com/docs/archive?from=showcase")
        .str("image_url", "https://example.com/docs/cover.png");
    p
}

fn redpacket_obj(ty: i64, wish: &str, count: i64, amount: i64) -> Obj {
    let mut p = Obj::new();
    p.i64("type", ty)
        .str("wish", wish)
        .i64("totalcnt", count)
        .i64("totalamount", amount);
    p
}
