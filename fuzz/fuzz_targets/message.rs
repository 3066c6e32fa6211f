//! Fuzz target: understanding a record never panics, stays lossless, and its derived facts are
//! consistent.
//!
//! The input is a decrypted record as bytes. Whatever `parse_envelope` accepts must be understood
//! into a message that serialises back to the parsed record, whose conversation key reads back
//! from its string form, and whose media all carry an sdkfileid and a safe extension. The same
//! bytes, as (lossy) text of a hand-built envelope, must not panic either. Valid JSON never needs
//! an escape repaired, and the quote parser sees the raw text too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wecom_model::{
    Action, ConversationKey, Envelope, parse_envelope, parse_quote, quote_matches,
    repair_json_escapes, understand,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(envelope) = parse_envelope(data) {
        let m = understand(&envelope);
        let parsed: serde_json::Value =
            serde_json::from_str(&envelope.json).expect("parse_envelope keeps valid JSON");
        assert_eq!(m.to_value(), parsed);
        assert!(
            matches!(
                repair_json_escapes(&envelope.json),
                std::borrow::Cow::Borrowed(_)
            ),
            "valid JSON was repaired"
        );
        let key = m.conversation.to_string();
        assert_eq!(ConversationKey::parse(&key).as_ref(), Some(&m.conversation), "{key}");
        for media in &m.media {
            assert!(!media.sdkfileid.is_empty());
            assert!(media.extension.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }

    let text = String::from_utf8_lossy(data);
    let envelope = Envelope {
        msgid: String::new(),
        action: Action::Send,
        from: String::new(),
        tolist: Vec::new(),
        roomid: String::new(),
        msgtime: 0,
        msgtype: None,
        json: text.clone().into_owned(),
    };
    let _ = understand(&envelope);
    if let Some(q) = parse_quote(&text) {
        let _ = quote_matches(&q, "", &text);
    }
});
