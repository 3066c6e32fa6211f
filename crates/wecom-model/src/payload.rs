//! Typed views of every payload of reference §3.3–§3.5: one struct per msgtype, every field
//! defaulted, JSON `type` fields named `kind`. These are read-only views derived from the record's
//! JSON; the JSON itself stays the source of truth (see [`crate::Message`]), which is why they
//! carry no serde derives. Each struct's `extra` holds the fields of its object this version does
//! not know, so nothing is hidden from a consumer of the view either.

use serde_json::{Map, Value};

/// Fields this model does not know, exactly as sent.
pub type Extra = Map<String, Value>;

/// The payload of a record, one variant per msgtype (plus `switch` records and unknown types).
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Text(Text),
    Image(Image),
    /// `msgtype: "revoke"`, carried by `action: "recall"` records.
    Revoke(Revoke),
    Agree(Agree),
    Disagree(Disagree),
    Voice(Voice),
    Video(Video),
    Card(Card),
    Location(Location),
    Emotion(Emotion),
    File(File),
    Link(Link),
    Weapp(Weapp),
    ChatRecord(ChatRecord),
    Todo(Todo),
    Vote(Vote),
    Collect(Collect),
    RedPacket(RedPacket),
    /// Payload key `redpacket`, same fields as [`Payload::RedPacket`].
    ExternalRedPacket(RedPacket),
    Meeting(Meeting),
    /// Payload key `info`.
    MeetingNotification(MeetingNotification),
    /// Payload key `doc`.
    DocMsg(DocMsg),
    /// Payload key `info`.
    Markdown(Markdown),
    /// Payload key `info`.
    News(News),
    Calendar(Calendar),
    Mixed(Mixed),
    MeetingVoiceCall(MeetingVoiceCall),
    VoipDocShare(VoipDocShare),
    SphFeed(SphFeed),
    /// Payload key `info` (`voiptext` accepted too).
    VoipText(VoipText),
    /// Payload key `info`.
    QyDiskFile(QyDiskFile),
    /// An `action: "switch"` record: not a message (reference §3.2).
    Switch(Switch),
    /// A msgtype this version does not know, or content that could not be read.
    Unknown(Unknown),
}

impl Payload {
    /// The msgtype this payload stands for (`"switch"` for switch records, the sent msgtype for
    /// unknown ones).
    pub fn msgtype(&self) -> &str {
        match self {
            Payload::Text(_) => "text",
            Payload::Image(_) => "image",
            Payload::Revoke(_) => "revoke",
            Payload::Agree(_) => "agree",
            Payload::Disagree(_) => "disagree",
            Payload::Voice(_) => "voice",
            Payload::Video(_) => "video",
            Payload::Card(_) => "card",
            Payload::Location(_) => "location",
            Payload::Emotion(_) => "emotion",
            Payload::File(_) => "file",
            Payload::Link(_) => "link",
            Payload::Weapp(_) => "weapp",
            Payload::ChatRecord(_) => "chatrecord",
            Payload::Todo(_) => "todo",
            Payload::Vote(_) => "vote",
            Payload::Collect(_) => "collect",
            Payload::RedPacket(_) => "redpacket",
            Payload::ExternalRedPacket(_) => "external_redpacket",
            Payload::Meeting(_) => "meeting",
            Payload::MeetingNotification(_) => "meeting_notification",
            Payload::DocMsg(_) => "docmsg",
            Payload::Markdown(_) => "markdown",
            Payload::News(_) => "news",
            Payload::Calendar(_) => "calendar",
            Payload::Mixed(_) => "mixed",
            Payload::MeetingVoiceCall(_) => "meeting_voice_call",
            Payload::VoipDocShare(_) => "voip_doc_share",
            Payload::SphFeed(_) => "sphfeed",
            Payload::VoipText(_) => "voiptext",
            Payload::QyDiskFile(_) => "qydiskfile",
            Payload::Switch(_) => "switch",
            Payload::Unknown(u) => &u.msgtype,
        }
    }

    /// The key the payload object lives under in a record (reference §3.3), e.g. `doc` for
    /// `docmsg`; `""` where there is none (switch records, top-level votes are not told apart here).
    pub fn payload_key(&self) -> &str {
        match self {
            Payload::ExternalRedPacket(_) => "redpacket",
            Payload::DocMsg(_) => "doc",
            Payload::MeetingNotification(_)
            | Payload::Markdown(_)
            | Payload::News(_)
            | Payload::VoipText(_)
            | Payload::QyDiskFile(_) => "info",
            Payload::Switch(_) => "",
            other => other.msgtype(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Text {
    pub content: String,
    pub extra: Extra,
}

/// Media, saved as `.jpg`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Image {
    pub sdkfileid: String,
    /// Hex md5 of the media; may be empty.
    pub md5sum: String,
    pub filesize: Option<u64>,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Revoke {
    /// msgid of the recalled message.
    pub pre_msgid: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Agree {
    pub userid: String,
    /// ms since the epoch.
    pub agree_time: i64,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Disagree {
    pub userid: String,
    /// ms since the epoch.
    pub disagree_time: i64,
    pub extra: Extra,
}

/// Media, saved as `.amr`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Voice {
    pub sdkfileid: String,
    pub md5sum: String,
    pub voice_size: Option<u64>,
    /// Seconds.
    pub play_length: i64,
    pub extra: Extra,
}

/// Media, saved as `.mp4`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Video {
    pub sdkfileid: String,
    pub md5sum: String,
    pub filesize: Option<u64>,
    /// Seconds.
    pub play_length: i64,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Card {
    pub corpname: String,
    pub userid: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Location {
    pub longitude: f64,
    pub latitude: f64,
    pub address: String,
    pub title: String,
    pub zoom: i64,
    pub extra: Extra,
}

/// Media, saved as `.gif` (kind 1) or `.png` (kind 2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Emotion {
    /// JSON `type`: 1 gif, 2 png.
    pub kind: i64,
    pub width: i64,
    pub height: i64,
    pub imagesize: Option<u64>,
    pub md5sum: String,
    pub sdkfileid: String,
    /// Declared by WxJava, absent from the official example.
    pub title: String,
    pub extra: Extra,
}

/// Media, saved with `fileext`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    pub md5sum: String,
    pub filename: String,
    /// Without the dot; empty for extensionless files.
    pub fileext: String,
    pub filesize: Option<u64>,
    pub sdkfileid: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Link {
    pub title: String,
    pub description: String,
    pub link_url: String,
    pub image_url: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Weapp {
    pub title: String,
    pub description: String,
    pub username: String,
    pub displayname: String,
    pub extra: Extra,
}

/// A forwarded conversation; its items' payloads are parsed recursively.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRecord {
    pub title: String,
    pub items: Vec<ChatRecordItem>,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatRecordItem {
    /// JSON `type` as sent, e.g. `ChatRecordText`.
    pub item_type: String,
    /// The msgtype it stands for, e.g. `text` (`ChatRecordMixed` → `mixed`).
    pub msgtype: String,
    /// `msgtime` as sent: seconds in the official example, ms per the field table.
    pub msgtime: i64,
    /// `msgtime` in ms (values below 10^11 are taken as seconds).
    pub msgtime_ms: i64,
    pub from_chatroom: bool,
    /// The item's JSON-string `content`, parsed as the payload of `msgtype`.
    pub content: Payload,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Todo {
    pub title: String,
    pub content: String,
    pub extra: Extra,
}

/// Where the vote fields were found (reference §3.4: disputed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoteShape {
    /// `"vote": {…}`, like every other payload.
    #[default]
    Nested,
    /// `votetitle`/`voteitem`/`votetype`/`voteid` directly on the record (four Go SDKs).
    TopLevel,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Vote {
    pub votetitle: String,
    pub voteitem: Vec<String>,
    /// 101 launch, 102 answer.
    pub votetype: i64,
    /// Links an answer (102) to its launch (101).
    pub voteid: String,
    pub shape: VoteShape,
    /// Unknown fields of the `vote` object (always empty for top-level votes, whose neighbours are
    /// the record's own fields).
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Collect {
    pub room_name: String,
    pub creator: String,
    /// `YYYY-MM-DD HH:MM:SS`, as sent.
    pub create_time: String,
    pub title: String,
    pub details: Vec<CollectDetail>,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CollectDetail {
    /// Can exceed `i64::MAX`.
    pub id: Option<u64>,
    pub ques: String,
    /// JSON `type`: `Text`, `Number`, `Date`, `Time`.
    pub kind: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RedPacket {
    /// JSON `type`: 1 普通, 2 拼手气, 3 激励.
    pub kind: i64,
    pub wish: String,
    pub totalcnt: i64,
    /// In fen (cents).
    pub totalamount: i64,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Meeting {
    pub topic: String,
    /// Seconds since the epoch.
    pub starttime: i64,
    pub endtime: i64,
    pub address: String,
    pub remarks: String,
    /// 101 invitation, 102 answer.
    pub meetingtype: i64,
    /// Can exceed `i64::MAX`.
    pub meetingid: Option<u64>,
    /// Present on answers (102).
    pub status: Option<i64>,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeetingNotification {
    pub meeting_id: Option<u64>,
    pub notification_type: i64,
    pub content: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DocMsg {
    pub title: String,
    pub link_url: String,
    pub doc_creator: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Markdown {
    pub content: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct News {
    pub items: Vec<NewsItem>,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewsItem {
    pub title: String,
    pub description: String,
    pub url: String,
    pub picurl: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Calendar {
    pub title: String,
    pub creatorname: String,
    pub attendeename: Vec<String>,
    /// Seconds since the epoch.
    pub starttime: i64,
    pub endtime: i64,
    pub place: String,
    pub remarks: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mixed {
    pub items: Vec<MixedItem>,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MixedItem {
    /// JSON `type`: a plain msgtype.
    pub msgtype: String,
    /// The item's JSON-string `content`, parsed as the payload of `msgtype`.
    pub content: Payload,
    pub extra: Extra,
}

/// Media (the call audio); no size or md5 in the official shape.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeetingVoiceCall {
    /// Top-level `voiceid` of the record.
    pub voiceid: String,
    /// Seconds since the epoch.
    pub endtime: i64,
    pub sdkfileid: String,
    pub demofiledata: Vec<DemoFile>,
    pub sharescreendata: Vec<ShareScreen>,
    pub extra: Extra,
}

/// A document shown during a call (not archived media).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DemoFile {
    pub filename: String,
    pub demooperator: String,
    pub starttime: i64,
    pub endtime: i64,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShareScreen {
    pub share: String,
    pub starttime: i64,
    pub endtime: i64,
    pub extra: Extra,
}

/// Media, saved with the extension of `filename`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VoipDocShare {
    /// Top-level `voipid` of the record.
    pub voipid: String,
    pub filename: String,
    pub md5sum: String,
    /// u64 ("Uint64类型").
    pub filesize: Option<u64>,
    pub sdkfileid: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SphFeed {
    /// 2 image, 4 video, 9 live.
    pub feed_type: i64,
    pub sph_name: String,
    pub feed_desc: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct VoipText {
    /// Seconds.
    pub callduration: i64,
    /// 1 single video, 2 single voice, 3 multi video, 4 multi voice.
    pub invitetype: i64,
    pub extra: Extra,
}

/// The file itself is not archived (no sdkfileid).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QyDiskFile {
    pub filename: String,
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Switch {
    /// The member who switched enterprise.
    pub user: String,
    /// ms since the epoch.
    pub time: i64,
    /// The record's fields other than `msgid`, `action`, `user`, `time`.
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Unknown {
    /// As sent (`""` when the record had none).
    pub msgtype: String,
    /// For a record: its fields other than the common envelope ones (wherever the payload lives).
    /// For an item: its parsed content, or the content text when it was not readable JSON.
    pub raw: Value,
}
