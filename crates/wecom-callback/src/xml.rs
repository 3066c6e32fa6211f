//! The XML around callbacks: the encrypted envelope WeCom POSTs, and the event inside it.

use quick_xml::Reader;
use quick_xml::events::Event as XmlEvent;

use crate::CallbackError;

/// A decrypted callback event. Unknown elements are ignored; missing ones are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    pub to_user: String,
    pub from_user: String,
    pub create_time: i64,
    pub msg_type: String,
    pub event: String,
    pub agent_id: String,
}

impl Event {
    /// `msgaudit_notify`: new archive data is ready.
    pub fn is_msgaudit_notify(&self) -> bool {
        self.msg_type == "event" && self.event == "msgaudit_notify"
    }
}

/// The text of each direct child of the root element (CDATA or plain text).
fn children(xml: &[u8]) -> Result<Vec<(String, String)>, CallbackError> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<String> = None;
    let mut text = String::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(XmlEvent::Start(e)) => {
                depth += 1;
                if depth == 2 {
                    current = Some(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                    text.clear();
                }
            }
            Ok(XmlEvent::End(_)) => {
                if depth == 2
                    && let Some(name) = current.take()
                {
                    out.push((name, std::mem::take(&mut text)));
                }
                depth = depth.saturating_sub(1);
            }
            Ok(XmlEvent::Text(t)) if depth == 2 => {
                let raw = String::from_utf8_lossy(t.as_ref()).into_owned();
                let unescaped = quick_xml::escape::unescape(&raw)
                    .map(|c| c.into_owned())
                    .unwrap_or(raw);
                text.push_str(&unescaped);
            }
            Ok(XmlEvent::CData(t)) if depth == 2 => {
                text.push_str(&String::from_utf8_lossy(t.as_ref()))
            }
            Ok(XmlEvent::Eof) => break,
            Ok(_) => {}
            Err(_) => return Err(CallbackError::Malformed("invalid xml")),
        }
        buf.clear();
    }
    if depth != 0 {
        return Err(CallbackError::Malformed("unterminated xml"));
    }
    Ok(out)
}

/// The `Encrypt` value of a POSTed callback body.
pub fn parse_encrypted_envelope(body: &[u8]) -> Result<String, CallbackError> {
    children(body)?
        .into_iter()
        .find(|(k, _)| k == "Encrypt")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(CallbackError::Malformed("no Encrypt element"))
}

/// Parses a decrypted event.
pub fn parse_event(xml: &[u8]) -> Result<Event, CallbackError> {
    let mut e = Event::default();
    for (k, v) in children(xml)? {
        match k.as_str() {
            "ToUserName" => e.to_user = v,
            "FromUserName" => e.from_user = v,
            "CreateTime" => {
                e.create_time = v
                    .trim()
                    .parse()
                    .map_err(|_| CallbackError::Malformed("CreateTime is not a number"))?
            }
            "MsgType" => e.msg_type = v,
            "Event" => e.event = v,
            "AgentID" => e.agent_id = v,
            _ => {}
        }
    }
    Ok(e)
}

/// The body WeCom POSTs for an event: `<xml><ToUserName/><AgentID/><Encrypt/></xml>`.
pub fn encrypted_envelope(to_user: &str, agent_id: &str, encrypted: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{to_user}]]></ToUserName><AgentID><![CDATA[{agent_id}]]></AgentID><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_event() {
        let e = parse_event(b"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1629101687</CreateTime><MsgType><![CDATA[event]]></MsgType><AgentID>2000004</AgentID><Event><![CDATA[msgaudit_notify]]></Event></xml>").expect("parse");
        assert!(e.is_msgaudit_notify());
        assert_eq!(e.create_time, 1629101687);
        assert_eq!(e.agent_id, "2000004");
    }

    #[test]
    fn envelope_round_trip_and_bad_xml() {
        let body = encrypted_envelope("ww1", "2000004", "abc+/=");
        assert_eq!(
            parse_encrypted_envelope(body.as_bytes()).expect("parse"),
            "abc+/="
        );
        assert!(parse_encrypted_envelope(b"<xml><Other>1</Other></xml>").is_err());
        assert!(parse_encrypted_envelope(b"<xml><Encrypt>abc").is_err());
        assert!(parse_encrypted_envelope(b"\xff\xfe garbage").is_err());
        assert!(parse_event(b"<xml><CreateTime>soon</CreateTime></xml>").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_encrypted_envelope(&bytes);
            let _ = parse_event(&bytes);
        }
    }
}
