//! Builds the typed [`Payload`] of a record: finds the payload object (reference §3.3's keys and
//! the disputed shapes of §3.4), reads it field by field, and descends into chatrecord and mixed
//! items, whose `content` is a JSON string (§3.5), up to [`MAX_DEPTH`] levels.

use serde_json::{Map, Value};

use crate::envelope::Action;
use crate::fields::Fields;
use crate::payload::*;
use crate::sanitize::{escape_control_chars, repair_json_escapes};
use crate::warning::ParseWarning;

/// How many JSON-string `content` hops are followed. Real forwards nest a mixed message inside a
/// chatrecord (two hops); the limit only bounds the work a hostile record can ask for.
pub const MAX_DEPTH: usize = 16;

/// The common envelope fields (reference §3.1); everything else of a record belongs to its payload.
const ENVELOPE_KEYS: &[&str] = &[
    "msgid", "action", "from", "tolist", "roomid", "msgtime", "msgtype",
];

/// Every msgtype with a typed payload, as WeCom spells it (reference §3.3, plus `revoke`, which
/// recalls carry): the one list of message types. `switch` records have no msgtype of their own
/// and any other msgtype is kept as [`Payload::Unknown`](crate::Payload::Unknown).
pub const MSGTYPES: &[&str] = &[
    "text",
    "image",
    "revoke",
    "agree",
    "disagree",
    "voice",
    "video",
    "card",
    "location",
    "emotion",
    "file",
    "link",
    "weapp",
    "chatrecord",
    "todo",
    "vote",
    "collect",
    "redpacket",
    "external_redpacket",
    "meeting",
    "meeting_notification",
    "docmsg",
    "markdown",
    "news",
    "calendar",
    "mixed",
    "meeting_voice_call",
    "voip_doc_share",
    "sphfeed",
    "voiptext",
    "qydiskfile",
];

pub(crate) fn is_known(msgtype: &str) -> bool {
    MSGTYPES.contains(&msgtype)
}

/// Where a record's payload object may live: keys accepted silently (documented shapes), then keys
/// accepted with a warning (what a careless re-serialiser would write).
fn payload_keys(msgtype: &str) -> (Vec<&str>, Vec<&str>) {
    match msgtype {
        // SKIT's model declares `external_redpacket` beside the documented `redpacket`.
        "external_redpacket" => (vec!["redpacket", "external_redpacket"], vec![]),
        // NX decodes `voiptext` under its own key; SKIT and PW use `info`.
        "voiptext" => (vec!["info", "voiptext"], vec![]),
        "meeting_notification" | "markdown" | "news" | "qydiskfile" => {
            (vec!["info"], vec![msgtype])
        }
        "docmsg" => (vec!["doc"], vec!["docmsg"]),
        // Four Go SDKs decode `disagree` with the `agree` struct and key.
        "disagree" => (vec!["disagree"], vec!["agree"]),
        _ => (vec![msgtype], vec![]),
    }
}

/// The record's fields other than the common envelope ones.
fn non_envelope(record: &Map<String, Value>) -> Value {
    Value::Object(
        record
            .iter()
            .filter(|(k, _)| !ENVELOPE_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Reads the payload of a whole record.
pub(crate) fn read_record(
    record: &Map<String, Value>,
    action: &Action,
    warnings: &mut Vec<ParseWarning>,
) -> Payload {
    if let Action::Other(action) = action {
        warnings.push(ParseWarning::UnknownAction {
            action: action.clone(),
        });
    }
    // Switch records have their own shape and no msgtype (reference §3.2: dispatch on action
    // first).
    if *action == Action::Switch {
        let mut f = Fields::new(Some(record), String::new(), warnings, 0);
        f.get("msgid");
        f.get("action");
        return Payload::Switch(Switch {
            user: f.str("user"),
            time: f.i64("time"),
            extra: f.extra(),
        });
    }
    let msgtype = match record.get("msgtype") {
        Some(Value::String(s)) => s.as_str(),
        _ => {
            warnings.push(ParseWarning::MissingMsgType);
            return Payload::Unknown(Unknown {
                msgtype: String::new(),
                raw: non_envelope(record),
            });
        }
    };
    if !is_known(msgtype) {
        warnings.push(ParseWarning::UnknownMsgType {
            msgtype: msgtype.to_owned(),
        });
        return Payload::Unknown(Unknown {
            msgtype: msgtype.to_owned(),
            raw: non_envelope(record),
        });
    }

    if msgtype == "vote" && !matches!(record.get("vote"), Some(Value::Object(_))) {
        const VOTE_FIELDS: [&str; 4] = ["votetitle", "voteitem", "votetype", "voteid"];
        if VOTE_FIELDS.iter().any(|k| record.contains_key(*k)) {
            let mut f = Fields::new(Some(record), String::new(), warnings, 0);
            return Payload::Vote(Vote {
                votetitle: f.str("votetitle"),
                voteitem: f.strings("voteitem"),
                votetype: f.i64("votetype"),
                voteid: f.str("voteid"),
                shape: VoteShape::TopLevel,
                // The neighbours of top-level vote fields are the record's own fields.
                extra: Map::new(),
            });
        }
    }

    let located = locate(record, msgtype, warnings);
    let (map, key) = match &located {
        Located::Borrowed(m, key) => (Some(*m), key.clone()),
        Located::Owned(m, key) => (Some(m), key.clone()),
        Located::Missing(key) => (None, key.clone()),
    };
    let mut f = Fields::new(map, key, warnings, 0);
    let mut payload = read_object(msgtype, &mut f);

    // `voiceid` / `voipid` live on the record itself, beside the payload object.
    let mut top = Fields::new(Some(record), String::new(), warnings, 0);
    match &mut payload {
        Payload::MeetingVoiceCall(m) if top.has("voiceid") => m.voiceid = top.str("voiceid"),
        Payload::VoipDocShare(v) if top.has("voipid") => v.voipid = top.str("voipid"),
        _ => {}
    }
    payload
}

enum Located<'v> {
    Borrowed(&'v Map<String, Value>, String),
    /// A payload sent as a JSON string holding the object.
    Owned(Map<String, Value>, String),
    Missing(String),
}

fn locate<'v>(
    record: &'v Map<String, Value>,
    msgtype: &str,
    warnings: &mut Vec<ParseWarning>,
) -> Located<'v> {
    let (accepted, fallback) = payload_keys(msgtype);
    let primary = accepted.first().copied().unwrap_or(msgtype).to_owned();
    let mut not_object: Option<&str> = None;
    for key in &accepted {
        match record.get(*key) {
            Some(Value::Object(m)) => return Located::Borrowed(m, (*key).to_owned()),
            Some(Value::Null) | None => {}
            Some(_) => {
                not_object.get_or_insert(key);
            }
        }
    }
    for key in &fallback {
        if let Some(Value::Object(m)) = record.get(*key) {
            warnings.push(ParseWarning::PayloadElsewhere {
                expected: primary,
                found: (*key).to_owned(),
            });
            return Located::Borrowed(m, (*key).to_owned());
        }
    }
    match not_object {
        Some(key) => {
            warnings.push(ParseWarning::PayloadNotObject {
                key: key.to_owned(),
            });
            // Some re-serialisers send the payload object as JSON text.
            if let Some(Value::String(s)) = record.get(key)
                && let Ok(Value::Object(m)) = parse_json_text(s)
            {
                return Located::Owned(m, key.to_owned());
            }
            Located::Missing(key.to_owned())
        }
        None => {
            warnings.push(ParseWarning::PayloadMissing {
                key: primary.clone(),
            });
            Located::Missing(primary)
        }
    }
}

/// Parses JSON text found inside a record (item `content`): raw control characters are escaped and
/// invalid escapes repaired first, as for the record itself. The first error is reported.
pub(crate) fn parse_json_text(text: &str) -> Result<Value, serde_json::Error> {
    let escaped = escape_control_chars(text.as_bytes());
    match serde_json::from_slice(&escaped) {
        Ok(v) => Ok(v),
        Err(first) => {
            let Ok(escaped) = std::str::from_utf8(&escaped) else {
                return Err(first);
            };
            let repaired = repair_json_escapes(escaped);
            if matches!(repaired, std::borrow::Cow::Borrowed(_)) {
                return Err(first);
            }
            serde_json::from_str(&repaired).map_err(|_| first)
        }
    }
}

/// Reads a payload object of a known msgtype.
fn read_object(msgtype: &str, f: &mut Fields<'_, '_>) -> Payload {
    match msgtype {
        "text" => Payload::Text(Text {
            content: f.str("content"),
            extra: f.extra(),
        }),
        "image" => {
            let p = Image {
                sdkfileid: f.str("sdkfileid"),
                md5sum: f.str("md5sum"),
                filesize: f.u64("filesize"),
                extra: f.extra(),
            };
            check_media_id(f, &p.sdkfileid);
            Payload::Image(p)
        }
        "revoke" => Payload::Revoke(Revoke {
            pre_msgid: f.str("pre_msgid"),
            extra: f.extra(),
        }),
        "agree" => Payload::Agree(Agree {
            userid: f.str("userid"),
            agree_time: f.i64("agree_time"),
            extra: f.extra(),
        }),
        "disagree" => {
            let userid = f.str("userid");
            // Under the `agree` fallback key the time is called `agree_time`.
            let disagree_time = if f.has("disagree_time") {
                f.i64("disagree_time")
            } else {
                f.i64("agree_time")
            };
            Payload::Disagree(Disagree {
                userid,
                disagree_time,
                extra: f.extra(),
            })
        }
        "voice" => {
            let p = Voice {
                sdkfileid: f.str("sdkfileid"),
                md5sum: f.str("md5sum"),
                voice_size: f.u64("voice_size"),
                play_length: f.i64("play_length"),
                extra: f.extra(),
            };
            check_media_id(f, &p.sdkfileid);
            Payload::Voice(p)
        }
        "video" => {
            let p = Video {
                sdkfileid: f.str("sdkfileid"),
                md5sum: f.str("md5sum"),
                filesize: f.u64("filesize"),
                play_length: f.i64("play_length"),
                extra: f.extra(),
            };
            check_media_id(f, &p.sdkfileid);
            Payload::Video(p)
        }
        "card" => Payload::Card(Card {
            corpname: f.str("corpname"),
            userid: f.str("userid"),
            extra: f.extra(),
        }),
        "location" => Payload::Location(Location {
            longitude: f.f64("longitude"),
            latitude: f.f64("latitude"),
            address: f.str("address"),
            title: f.str("title"),
            zoom: f.i64("zoom"),
            extra: f.extra(),
        }),
        "emotion" => {
            let p = Emotion {
                kind: f.i64("type"),
                width: f.i64("width"),
                height: f.i64("height"),
                imagesize: f.u64("imagesize"),
                md5sum: f.str("md5sum"),
                sdkfileid: f.str("sdkfileid"),
                title: f.str("title"),
                extra: f.extra(),
            };
            check_media_id(f, &p.sdkfileid);
            Payload::Emotion(p)
        }
        "file" => {
            let p = File {
                md5sum: f.str("md5sum"),
                filename: f.str("filename"),
                fileext: f.str("fileext"),
                filesize: f.u64("filesize"),
                sdkfileid: f.str("sdkfileid"),
                extra: f.extra(),
            };
            check_media_id(f, &p.sdkfileid);
            Payload::File(p)
        }
        "link" => Payload::Link(Link {
            title: f.str("title"),
            description: f.str("description"),
            link_url: f.str("link_url"),
            image_url: f.str("image_url"),
            extra: f.extra(),
        }),
        "weapp" => Payload::Weapp(Weapp {
            title: f.str("title"),
            description: f.str("description"),
            username: f.str("username"),
            displayname: f.str("displayname"),
            extra: f.extra(),
        }),
        "chatrecord" => {
            let title = f.str("title");
            let mut items = Vec::new();
            for (i, v) in f.values("item").into_iter().enumerate() {
                items.push(read_chatrecord_item(f, i, v));
            }
            Payload::ChatRecord(ChatRecord {
                title,
                items,
                extra: f.extra(),
            })
        }
        "todo" => Payload::Todo(Todo {
            title: f.str("title"),
            content: f.str("content"),
            extra: f.extra(),
        }),
        "vote" => Payload::Vote(read_vote(f)),
        "collect" => {
            let room_name = f.str("room_name");
            let creator = f.str("creator");
            let create_time = f.str("create_time");
            let title = f.str("title");
            let mut details = Vec::new();
            for (i, m) in f.objects("details") {
                let path = format!("{}[{i}]", f.child_path("details"));
                let mut d = Fields::new(Some(m), path, f.warnings, f.depth);
                details.push(CollectDetail {
                    id: d.u64("id"),
                    ques: d.str("ques"),
                    kind: d.str("type"),
                    extra: d.extra(),
                });
            }
            Payload::Collect(Collect {
                room_name,
                creator,
                create_time,
                title,
                details,
                extra: f.extra(),
            })
        }
        "redpacket" => Payload::RedPacket(read_redpacket(f)),
        "external_redpacket" => Payload::ExternalRedPacket(read_redpacket(f)),
        "meeting" => Payload::Meeting(Meeting {
            topic: f.str("topic"),
            starttime: f.i64("starttime"),
            endtime: f.i64("endtime"),
            address: f.str("address"),
            remarks: f.str("remarks"),
            meetingtype: f.i64("meetingtype"),
            meetingid: f.u64("meetingid"),
            status: f.has("status").then(|| f.i64("status")),
            extra: f.extra(),
        }),
        "meeting_notification" => Payload::MeetingNotification(MeetingNotification {
            meeting_id: f.u64("meeting_id"),
            notification_type: f.i64("notification_type"),
            content: f.str("content"),
            extra: f.extra(),
        }),
        "docmsg" => Payload::DocMsg(DocMsg {
            title: f.str("title"),
            link_url: f.str("link_url"),
            doc_creator: f.str("doc_creator"),
            extra: f.extra(),
        }),
        "markdown" => Payload::Markdown(Markdown {
            content: f.str("content"),
            extra: f.extra(),
        }),
        "news" => {
            let mut items = Vec::new();
            for (i, m) in f.objects("item") {
                let path = format!("{}[{i}]", f.child_path("item"));
                let mut n = Fields::new(Some(m), path, f.warnings, f.depth);
                items.push(NewsItem {
                    title: n.str("title"),
                    description: n.str("description"),
                    url: n.str("url"),
                    picurl: n.str("picurl"),
                    extra: n.extra(),
                });
            }
            Payload::News(News {
                items,
                extra: f.extra(),
            })
        }
        "calendar" => Payload::Calendar(Calendar {
            title: f.str("title"),
            creatorname: f.str("creatorname"),
            attendeename: f.strings("attendeename"),
            starttime: f.i64("starttime"),
            endtime: f.i64("endtime"),
            place: f.str("place"),
            remarks: f.str("remarks"),
            extra: f.extra(),
        }),
        "mixed" => Payload::Mixed(read_mixed(f)),
        "meeting_voice_call" => {
            // `voiceid` belongs on the record; read here too in case a re-serialiser moved it.
            let voiceid = f.str("voiceid");
            let endtime = f.i64("endtime");
            let sdkfileid = f.str("sdkfileid");
            let mut demofiledata = Vec::new();
            for (i, m) in f.objects("demofiledata") {
                let path = format!("{}[{i}]", f.child_path("demofiledata"));
                let mut d = Fields::new(Some(m), path, f.warnings, f.depth);
                demofiledata.push(DemoFile {
                    filename: d.str("filename"),
                    demooperator: d.str("demooperator"),
                    starttime: d.i64("starttime"),
                    endtime: d.i64("endtime"),
                    extra: d.extra(),
                });
            }
            let mut sharescreendata = Vec::new();
            for (i, m) in f.objects("sharescreendata") {
                let path = format!("{}[{i}]", f.child_path("sharescreendata"));
                let mut d = Fields::new(Some(m), path, f.warnings, f.depth);
                sharescreendata.push(ShareScreen {
                    share: d.str("share"),
                    starttime: d.i64("starttime"),
                    endtime: d.i64("endtime"),
                    extra: d.extra(),
                });
            }
            check_media_id(f, &sdkfileid);
            Payload::MeetingVoiceCall(MeetingVoiceCall {
                voiceid,
                endtime,
                sdkfileid,
                demofiledata,
                sharescreendata,
                extra: f.extra(),
            })
        }
        "voip_doc_share" => {
            let p = VoipDocShare {
                voipid: f.str("voipid"),
                filename: f.str("filename"),
                md5sum: f.str("md5sum"),
                filesize: f.u64("filesize"),
                sdkfileid: f.str("sdkfileid"),
                extra: f.extra(),
            };
            check_media_id(f, &p.sdkfileid);
            Payload::VoipDocShare(p)
        }
        "sphfeed" => Payload::SphFeed(SphFeed {
            feed_type: f.i64("feed_type"),
            sph_name: f.str("sph_name"),
            feed_desc: f.str("feed_desc"),
            extra: f.extra(),
        }),
        "voiptext" => Payload::VoipText(VoipText {
            callduration: f.i64("callduration"),
            invitetype: f.i64("invitetype"),
            extra: f.extra(),
        }),
        "qydiskfile" => Payload::QyDiskFile(QyDiskFile {
            filename: f.str("filename"),
            extra: f.extra(),
        }),
        other => {
            // Callers check `is_known` first; an unknown type here still loses nothing.
            Payload::Unknown(Unknown {
                msgtype: other.to_owned(),
                raw: Value::Object(f.extra()),
            })
        }
    }
}

fn check_media_id(f: &mut Fields<'_, '_>, sdkfileid: &str) {
    // A missing payload object is warned about once, as such.
    if sdkfileid.is_empty() && f.is_present() {
        let path = f.path().to_owned();
        f.warnings.push(ParseWarning::MediaWithoutId { path });
    }
}

fn read_vote(f: &mut Fields<'_, '_>) -> Vote {
    Vote {
        votetitle: f.str("votetitle"),
        voteitem: f.strings("voteitem"),
        votetype: f.i64("votetype"),
        voteid: f.str("voteid"),
        shape: VoteShape::Nested,
        extra: f.extra(),
    }
}

fn read_redpacket(f: &mut Fields<'_, '_>) -> RedPacket {
    RedPacket {
        kind: f.i64("type"),
        wish: f.str("wish"),
        totalcnt: f.i64("totalcnt"),
        totalamount: f.i64("totalamount"),
        extra: f.extra(),
    }
}

fn read_mixed(f: &mut Fields<'_, '_>) -> Mixed {
    let mut items = Vec::new();
    for (i, v) in f.values("item").into_iter().enumerate() {
        let path = format!("{}[{i}]", f.child_path("item"));
        let Value::Object(m) = v else {
            // Kept as a placeholder so item indexes (and media paths) stay those of the JSON.
            f.warnings.push(ParseWarning::WrongType {
                path,
                expected: "object",
            });
            items.push(MixedItem {
                msgtype: String::new(),
                content: Payload::Unknown(Unknown {
                    msgtype: String::new(),
                    raw: v.clone(),
                }),
                extra: Map::new(),
            });
            continue;
        };
        let mut g = Fields::new(Some(m), path, f.warnings, f.depth);
        let msgtype = item_msgtype(&g.str("type"));
        let content = read_content(&mut g, &msgtype);
        items.push(MixedItem {
            msgtype,
            content,
            extra: g.extra(),
        });
    }
    Mixed {
        items,
        extra: f.extra(),
    }
}

fn read_chatrecord_item(
    parent: &mut Fields<'_, '_>,
    index: usize,
    value: &Value,
) -> ChatRecordItem {
    let path = format!("{}[{index}]", parent.child_path("item"));
    let Value::Object(map) = value else {
        // Kept as a placeholder so item indexes (and media paths) stay those of the JSON.
        parent.warnings.push(ParseWarning::WrongType {
            path,
            expected: "object",
        });
        return ChatRecordItem {
            item_type: String::new(),
            msgtype: String::new(),
            msgtime: 0,
            msgtime_ms: 0,
            from_chatroom: false,
            content: Payload::Unknown(Unknown {
                msgtype: String::new(),
                raw: value.clone(),
            }),
            extra: Map::new(),
        };
    };
    let mut f = Fields::new(Some(map), path, parent.warnings, parent.depth);
    let item_type = f.str("type");
    let msgtype = item_msgtype(&item_type);
    let msgtime = f.i64("msgtime");
    let from_chatroom = f.bool("from_chatroom");
    let content = read_content(&mut f, &msgtype);
    ChatRecordItem {
        item_type,
        msgtype,
        msgtime,
        msgtime_ms: item_time_ms(msgtime),
        from_chatroom,
        content,
        extra: f.extra(),
    }
}

/// Chatrecord item times are seconds in the official example and ms per the field table; no ms
/// time since 1973 is below 10^11, and no seconds time before year 5138 is above it.
pub fn item_time_ms(msgtime: i64) -> i64 {
    if msgtime < 100_000_000_000 {
        msgtime.saturating_mul(1000)
    } else {
        msgtime
    }
}

/// The msgtype an item `type` stands for: `ChatRecordText` → `text`, `ChatRecordVoipDocShare` →
/// `voip_doc_share`, plain msgtypes (mixed items) as they are.
pub fn item_msgtype(item_type: &str) -> String {
    let t = item_type.trim();
    if t.is_empty() {
        return String::new();
    }
    let rest = t.strip_prefix("ChatRecord").unwrap_or(t);
    if rest.is_empty() {
        // The bare `ChatRecord` type: a forwarded forward.
        return "chatrecord".to_owned();
    }
    if is_known(rest) {
        return rest.to_owned();
    }
    let lower = rest.to_ascii_lowercase();
    if is_known(&lower) {
        return lower;
    }
    let mut snake = String::with_capacity(rest.len() + 4);
    for (i, c) in rest.char_indices() {
        if c.is_ascii_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.push(c.to_ascii_lowercase());
    }
    if is_known(&snake) { snake } else { lower }
}

/// Reads an item's `content` (a JSON string holding the payload of `msgtype`).
fn read_content(f: &mut Fields<'_, '_>, msgtype: &str) -> Payload {
    let path = f.path().to_owned();
    let depth = f.depth + 1;
    let unknown = |raw: Value| {
        Payload::Unknown(Unknown {
            msgtype: msgtype.to_owned(),
            raw,
        })
    };
    let too_deep = depth > MAX_DEPTH;
    match f.get("content") {
        None => {
            f.warnings.push(ParseWarning::PayloadMissing {
                key: f.child_path("content"),
            });
            read_nested(msgtype, None, path, f.warnings, depth)
        }
        Some(Value::String(text)) => {
            if too_deep {
                f.warnings.push(ParseWarning::TooDeep {
                    path,
                    limit: MAX_DEPTH,
                });
                return unknown(Value::String(text.clone()));
            }
            match parse_json_text(text) {
                Ok(Value::Object(m)) => read_nested(msgtype, Some(&m), path, f.warnings, depth),
                Ok(other) => {
                    f.warnings.push(ParseWarning::BadContent {
                        path,
                        error: "not a JSON object".to_owned(),
                    });
                    unknown(other)
                }
                Err(e) => {
                    f.warnings.push(ParseWarning::BadContent {
                        path,
                        error: e.to_string(),
                    });
                    unknown(Value::String(text.clone()))
                }
            }
        }
        // Already decoded by whoever re-serialised the record: read it as it is.
        Some(Value::Object(m)) => {
            if too_deep {
                f.warnings.push(ParseWarning::TooDeep {
                    path,
                    limit: MAX_DEPTH,
                });
                return unknown(Value::Object(m.clone()));
            }
            read_nested(msgtype, Some(m), path, f.warnings, depth)
        }
        Some(other) => {
            f.warnings.push(ParseWarning::WrongType {
                path: f.child_path("content"),
                expected: "JSON text",
            });
            unknown(other.clone())
        }
    }
}

fn read_nested(
    msgtype: &str,
    map: Option<&Map<String, Value>>,
    path: String,
    warnings: &mut Vec<ParseWarning>,
    depth: usize,
) -> Payload {
    if !is_known(msgtype) {
        warnings.push(ParseWarning::UnknownMsgType {
            msgtype: msgtype.to_owned(),
        });
        return Payload::Unknown(Unknown {
            msgtype: msgtype.to_owned(),
            raw: map.map_or(Value::Null, |m| Value::Object(m.clone())),
        });
    }
    let mut f = Fields::new(map, path, warnings, depth);
    read_object(msgtype, &mut f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_types_map_to_msgtypes() {
        let cases = [
            ("ChatRecordText", "text"),
            ("ChatRecordMixed", "mixed"),
            ("ChatRecordWeapp", "weapp"),
            ("ChatRecordVoipDocShare", "voip_doc_share"),
            ("ChatRecordMeetingVoiceCall", "meeting_voice_call"),
            ("ChatRecord", "chatrecord"),
            ("image", "image"),
            ("ChatRecordSomethingNew", "somethingnew"),
            ("", ""),
        ];
        for (t, want) in cases {
            assert_eq!(item_msgtype(t), want, "{t}");
        }
    }

    #[test]
    fn item_times_become_milliseconds() {
        assert_eq!(item_time_ms(1_603_875_610), 1_603_875_610_000);
        assert_eq!(item_time_ms(1_603_875_610_123), 1_603_875_610_123);
        assert_eq!(item_time_ms(i64::MIN), i64::MIN);
        assert_eq!(item_time_ms(0), 0);
    }
}
