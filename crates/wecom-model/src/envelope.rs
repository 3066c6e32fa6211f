//! The common envelope of a decrypted record (reference §3.1–§3.2), parsed leniently but losslessly:
//! the full JSON text is kept beside the extracted columns.

use std::fmt;

use serde_json::Value;

use crate::sanitize::escape_control_chars;

/// The record's `action`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    Send,
    Recall,
    Switch,
    /// An action this version does not know; kept as sent.
    Other(String),
}

impl Action {
    pub fn parse(s: &str) -> Action {
        match s {
            "send" => Action::Send,
            "recall" => Action::Recall,
            "switch" => Action::Switch,
            other => Action::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Action::Send => "send",
            Action::Recall => "recall",
            Action::Switch => "switch",
            Action::Other(s) => s,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What every record has in common. For `switch` records `from` is the `user` who switched and
/// `msgtime` is their `time`; `msgtype` is `None` there.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub msgid: String,
    pub action: Action,
    pub from: String,
    pub tolist: Vec<String>,
    pub roomid: String,
    /// Milliseconds since the Unix epoch (UTC).
    pub msgtime: i64,
    pub msgtype: Option<String>,
    /// The record as valid JSON text: the decrypted bytes with raw control characters escaped.
    pub json: String,
}

/// Why a decrypted record could not be read as an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("record is not valid UTF-8 (first bad byte at offset {offset})")]
    InvalidUtf8 { offset: usize },
    #[error("record is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("record is not a JSON object")]
    NotAnObject,
    #[error("record has no `{0}` field")]
    MissingField(&'static str),
    #[error("record field `{0}` has the wrong type")]
    WrongType(&'static str),
}

/// Parses a decrypted record. The input bytes are never modified; the envelope's `json` is the
/// escaped text that was parsed.
pub fn parse_envelope(plaintext: &[u8]) -> Result<Envelope, ParseError> {
    let escaped = escape_control_chars(plaintext);
    let text = std::str::from_utf8(&escaped).map_err(|e| ParseError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    // Invalid escapes (e.g. a lone surrogate from an emoji cut in half) are made literal text and
    // parsed again; the exact decrypted bytes are kept by the caller either way.
    let (text, value): (std::borrow::Cow<'_, str>, Value) = match serde_json::from_str(text) {
        Ok(v) => (std::borrow::Cow::Borrowed(text), v),
        Err(first) => {
            let repaired = crate::sanitize::repair_json_escapes(text);
            if matches!(repaired, std::borrow::Cow::Borrowed(_)) {
                return Err(ParseError::InvalidJson(first.to_string()));
            }
            match serde_json::from_str(&repaired) {
                Ok(v) => (std::borrow::Cow::Owned(repaired.into_owned()), v),
                Err(_) => return Err(ParseError::InvalidJson(first.to_string())),
            }
        }
    };
    let obj = value.as_object().ok_or(ParseError::NotAnObject)?;

    let msgid = match obj.get("msgid") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(ParseError::WrongType("msgid")),
        None => return Err(ParseError::MissingField("msgid")),
    };
    let action = match obj.get("action") {
        Some(Value::String(s)) => Action::parse(s),
        Some(_) => return Err(ParseError::WrongType("action")),
        None => return Err(ParseError::MissingField("action")),
    };

    let (from, msgtime, msgtype) = if action == Action::Switch {
        (
            opt_string(obj.get("user"), "user")?,
            opt_time(obj.get("time"), "time")?,
            None,
        )
    } else {
        let msgtype = match obj.get("msgtype") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(_) => return Err(ParseError::WrongType("msgtype")),
        };
        (
            opt_string(obj.get("from"), "from")?,
            opt_time(obj.get("msgtime"), "msgtime")?,
            msgtype,
        )
    };
    let tolist = match obj.get("tolist") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(ParseError::WrongType("tolist")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Null) | None => Vec::new(),
        Some(_) => return Err(ParseError::WrongType("tolist")),
    };
    let roomid = opt_string(obj.get("roomid"), "roomid")?;

    Ok(Envelope {
        msgid,
        action,
        from,
        tolist,
        roomid,
        msgtime,
        msgtype,
        json: text.into_owned(),
    })
}

fn opt_string(v: Option<&Value>, field: &'static str) -> Result<String, ParseError> {
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Null) | None => Ok(String::new()),
        Some(_) => Err(ParseError::WrongType(field)),
    }
}

fn opt_time(v: Option<&Value>, field: &'static str) -> Result<i64, ParseError> {
    match v {
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .ok_or(ParseError::WrongType(field)),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| ParseError::WrongType(field)),
        Some(Value::Null) | None => Ok(0),
        Some(_) => Err(ParseError::WrongType(field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_text_message() {
        let e = parse_envelope(br#"{"msgid":"CAQQluDa4QUY0On2rYSAgAMgzPrShAE=","action":"send","from":"XuJinSheng","tolist":["icefog"],"roomid":"","msgtime":1547087894783,"msgtype":"text","text":{"content":"test"}}"#).expect("parse");
        assert_eq!(e.msgid, "CAQQluDa4QUY0On2rYSAgAMgzPrShAE=");
        assert_eq!(e.action, Action::Send);
        assert_eq!(e.from, "XuJinSheng");
        assert_eq!(e.tolist, vec!["icefog"]);
        assert_eq!(e.msgtime, 1547087894783);
        assert_eq!(e.msgtype.as_deref(), Some("text"));
    }

    #[test]
    fn switch_has_its_own_shape() {
        let e = parse_envelope(br#"{"msgid":"125289002219525886280","action":"switch","time":1554119421840,"user":"XuJinSheng"}"#).expect("parse");
        assert_eq!(e.action, Action::Switch);
        assert_eq!(e.from, "XuJinSheng");
        assert_eq!(e.msgtime, 1554119421840);
        assert_eq!(e.msgtype, None);
    }

    #[test]
    fn missing_roomid_is_empty_and_control_chars_survive() {
        let e = parse_envelope(b"{\"msgid\":\"m\",\"action\":\"send\",\"from\":\"a\",\"tolist\":[\"b\"],\"msgtime\":1,\"msgtype\":\"text\",\"text\":{\"content\":\"x\x12y\"}}").expect("parse");
        assert_eq!(e.roomid, "");
        let v: Value = serde_json::from_str(&e.json).expect("json");
        assert_eq!(v["text"]["content"], "x\u{12}y");
    }

    #[test]
    fn bad_records_are_errors_not_panics() {
        assert!(matches!(
            parse_envelope(b"not json"),
            Err(ParseError::InvalidJson(_))
        ));
        assert!(matches!(
            parse_envelope(b"[1]"),
            Err(ParseError::NotAnObject)
        ));
        assert!(matches!(
            parse_envelope(br#"{"action":"send"}"#),
            Err(ParseError::MissingField("msgid"))
        ));
        assert!(matches!(
            parse_envelope(b"{\"msgid\":\"\xff\"}"),
            Err(ParseError::InvalidUtf8 { .. })
        ));
        assert!(matches!(
            parse_envelope(br#"{"msgid":"m","action":"send","tolist":"x"}"#),
            Err(ParseError::WrongType("tolist"))
        ));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = parse_envelope(&bytes);
        }
    }
}

#[cfg(test)]
mod repair_tests {
    use super::*;

    #[test]
    fn a_lone_surrogate_escape_is_kept_as_text_instead_of_failing_the_record() {
        let raw = br#"{"msgid":"m1","action":"send","from":"a","tolist":["b"],"roomid":"","msgtime":1,"msgtype":"text","text":{"content":"cut \ud83d here"}}"#;
        let e = parse_envelope(raw).expect("repaired");
        assert_eq!(e.msgid, "m1");
        let v: Value = serde_json::from_str(&e.json).expect("valid json");
        assert!(
            v["text"]["content"]
                .as_str()
                .expect("text")
                .contains("ud83d")
        );
    }
}
