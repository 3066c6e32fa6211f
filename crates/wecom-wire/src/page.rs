//! A getchatdata reply taken apart item by item, so one unreadable item is set aside (quarantined,
//! with its bytes and the reason) instead of failing the page — and with it every page after it.
//!
//! serde_json rejects a whole body for one invalid UTF-8 byte, so the body is first split by a
//! small scanner that only follows strings and brackets (it never decodes text), and each item is
//! then parsed on its own.

use std::ops::Range;

use crate::ChatDataItem;

/// Why an item of a page was set aside instead of being archived as a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuarantineReason {
    /// The item is not a record of the documented shape (invalid UTF-8, no `msgid`, wrong types);
    /// the text is the parser's complaint.
    Unparseable(String),
    /// `seq` ≥ 2^63: no real archive gets there, and moving the cursor there would stop archiving.
    ImplausibleSeq,
    /// `seq` lies more than `max_jump` past `from` (the cursor or the previous item of the page).
    SeqJump { from: u64, max_jump: u64 },
}

impl QuarantineReason {
    /// A stable short name, stored beside the reason and used in reports.
    pub fn kind(&self) -> &'static str {
        match self {
            QuarantineReason::Unparseable(_) => "unparseable",
            QuarantineReason::ImplausibleSeq => "implausible_seq",
            QuarantineReason::SeqJump { .. } => "seq_jump",
        }
    }

    /// The reason in plain words.
    pub fn describe(&self) -> String {
        match self {
            QuarantineReason::Unparseable(why) => format!("unparseable item: {why}"),
            QuarantineReason::ImplausibleSeq => {
                "seq is 2^63 or more, beyond any real archive".to_owned()
            }
            QuarantineReason::SeqJump { from, max_jump } => {
                format!("seq jumps more than {max_jump} past {from} ([sync] max_seq_jump)")
            }
        }
    }
}

/// An item of a page kept raw instead of archived as a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedItem {
    /// The item's `seq` when one could be read.
    pub seq: Option<u64>,
    /// The item exactly as the server sent it (for items set aside after parsing, its JSON).
    pub raw: Vec<u8>,
    pub reason: QuarantineReason,
}

impl QuarantinedItem {
    /// A parsed item set aside for `reason` (its JSON is kept as its bytes).
    pub fn from_item(item: &ChatDataItem, reason: QuarantineReason) -> QuarantinedItem {
        QuarantinedItem {
            seq: Some(item.seq),
            raw: serde_json::to_vec(item).unwrap_or_default(),
            reason,
        }
    }
}

/// A getchatdata reply split into readable items and quarantined ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatDataReply {
    pub errcode: i64,
    pub errmsg: String,
    /// Readable items, in ascending `seq` order.
    pub items: Vec<ChatDataItem>,
    /// Items that could not be read, in the order the server sent them.
    pub quarantined: Vec<QuarantinedItem>,
}

impl ChatDataReply {
    /// All items the server sent, readable or not.
    pub fn len(&self) -> usize {
        self.items.len() + self.quarantined.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The body is not even a JSON object with a `chatdata` array that can be split into items.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("getchatdata reply is not a JSON object of the documented shape: {what} at byte {at}")]
pub struct ReplyParseError {
    pub what: &'static str,
    pub at: usize,
}

/// Splits a getchatdata body into its items, each parsed on its own; an item that does not parse
/// is returned in [`ChatDataReply::quarantined`] with its bytes, its seq when readable and why.
pub fn parse_chat_data_reply(body: &[u8]) -> Result<ChatDataReply, ReplyParseError> {
    let mut reply = ChatDataReply::default();
    let mut scan = Scanner::new(body);
    let mut chatdata = None;
    let mut errcode = None;
    let mut errmsg = None;
    scan.object_members(|key, value| {
        match key {
            b"errcode" => errcode = Some(value),
            b"errmsg" => errmsg = Some(value),
            b"chatdata" => chatdata = Some(value),
            _ => {}
        }
        Ok(())
    })?;
    scan.skip_ws();
    if scan.pos != body.len() {
        return Err(scan.error("trailing bytes after the object"));
    }
    if let Some(range) = errcode {
        reply.errcode =
            serde_json::from_slice(&body[range.clone()]).map_err(|_| ReplyParseError {
                what: "errcode is not an integer",
                at: range.start,
            })?;
    }
    if let Some(range) = errmsg {
        let raw = &body[range];
        reply.errmsg = serde_json::from_slice(raw)
            .or_else(|_| serde_json::from_str(&String::from_utf8_lossy(raw)))
            .unwrap_or_default();
    }
    let Some(range) = chatdata else {
        return Ok(reply);
    };
    let raw = &body[range.clone()];
    if raw == b"null" {
        return Ok(reply);
    }
    let mut scan = Scanner::new(raw);
    let elements = scan.array_elements().map_err(|e| ReplyParseError {
        what: e.what,
        at: range.start + e.at,
    })?;
    for element in elements {
        let raw = &raw[element];
        match parse_item(raw) {
            Ok(item) => reply.items.push(item),
            Err(why) => reply.quarantined.push(QuarantinedItem {
                seq: lenient_seq(raw),
                raw: raw.to_vec(),
                reason: QuarantineReason::Unparseable(why),
            }),
        }
    }
    reply.items.sort_by_key(|i| i.seq);
    Ok(reply)
}

/// Longest parser complaint kept (serde quotes offending strings, which can be long).
const MAX_REASON_CHARS: usize = 200;

fn parse_item(raw: &[u8]) -> Result<ChatDataItem, String> {
    let item: ChatDataItem = serde_json::from_slice(raw).map_err(|e| {
        let text = e.to_string();
        match text.char_indices().nth(MAX_REASON_CHARS) {
            Some((at, _)) => format!("{}…", &text[..at]),
            None => text,
        }
    })?;
    // msgid is the record's identity in the archive: an empty one would make every later empty
    // one a "duplicate" and drop it.
    if item.msgid.is_empty() {
        return Err("empty msgid".to_owned());
    }
    Ok(item)
}

/// The `seq` of an item that did not parse as a whole, when its `seq` member is a u64.
fn lenient_seq(raw: &[u8]) -> Option<u64> {
    let mut seq = None;
    Scanner::new(raw)
        .object_members(|key, value| {
            if key == b"seq" {
                seq = serde_json::from_slice::<u64>(&raw[value]).ok();
            }
            Ok(())
        })
        .ok()?;
    seq
}

/// Follows JSON strings and brackets over bytes, without decoding text.
struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(b: &'a [u8]) -> Scanner<'a> {
        Scanner { b, pos: 0 }
    }

    fn error(&self, what: &'static str) -> ReplyParseError {
        ReplyParseError { what, at: self.pos }
    }

    fn skip_ws(&mut self) {
        while self
            .b
            .get(self.pos)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: u8, what: &'static str) -> Result<(), ReplyParseError> {
        self.skip_ws();
        if self.b.get(self.pos) == Some(&c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// At a `"`: moves past the closing quote.
    fn skip_string(&mut self) -> Result<(), ReplyParseError> {
        self.pos += 1;
        while let Some(&c) = self.b.get(self.pos) {
            self.pos += 1;
            match c {
                b'\\' => self.pos += 1,
                b'"' => return Ok(()),
                _ => {}
            }
        }
        Err(self.error("unterminated string"))
    }

    /// Moves past one value; returns its byte range.
    fn skip_value(&mut self) -> Result<Range<usize>, ReplyParseError> {
        self.skip_ws();
        let start = self.pos;
        match self.b.get(self.pos) {
            None => return Err(self.error("missing value")),
            Some(b'"') => self.skip_string()?,
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                loop {
                    match self.b.get(self.pos) {
                        None => return Err(self.error("unterminated object or array")),
                        Some(b'"') => self.skip_string()?,
                        Some(b'{' | b'[') => {
                            depth += 1;
                            self.pos += 1;
                        }
                        Some(b'}' | b']') => {
                            depth -= 1;
                            self.pos += 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Some(_) => self.pos += 1,
                    }
                }
            }
            Some(_) => {
                while self.b.get(self.pos).is_some_and(|c| {
                    !matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n')
                }) {
                    self.pos += 1;
                }
                if self.pos == start {
                    return Err(self.error("missing value"));
                }
            }
        }
        Ok(start..self.pos)
    }

    /// At an object: calls `f(key, value range)` for each member (the key's raw bytes).
    fn object_members(
        &mut self,
        mut f: impl FnMut(&[u8], Range<usize>) -> Result<(), ReplyParseError>,
    ) -> Result<(), ReplyParseError> {
        self.expect(b'{', "expected an object")?;
        self.skip_ws();
        if self.b.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            if self.b.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a member name"));
            }
            let key_start = self.pos + 1;
            self.skip_string()?;
            let key = &self.b[key_start..self.pos - 1];
            self.expect(b':', "expected ':'")?;
            let value = self.skip_value()?;
            f(key, value)?;
            self.skip_ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    /// At an array: the byte range of each element.
    fn array_elements(&mut self) -> Result<Vec<Range<usize>>, ReplyParseError> {
        self.expect(b'[', "chatdata is not an array")?;
        let mut out = Vec::new();
        self.skip_ws();
        if self.b.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(out);
        }
        loop {
            out.push(self.skip_value()?);
            self.skip_ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(seq: u64, msgid: &str) -> String {
        format!(
            r#"{{"seq":{seq},"msgid":"{msgid}","publickey_ver":1,"encrypt_random_key":"k\"}}[","encrypt_chat_msg":"c"}}"#
        )
    }

    #[test]
    fn well_formed_pages_parse_as_before() {
        let body = format!(
            r#"{{"errcode":0,"errmsg":"ok","chatdata":[{},{}]}}"#,
            item(7, "b"),
            item(3, "a")
        );
        let reply = parse_chat_data_reply(body.as_bytes()).expect("parse");
        assert_eq!(reply.items.len(), 2);
        assert_eq!(reply.items[0].seq, 3, "sorted by seq");
        assert_eq!(reply.items[1].encrypt_random_key, "k\"}[");
        assert!(reply.quarantined.is_empty());
        let empty = parse_chat_data_reply(br#" {"errcode":0,"errmsg":"ok"} "#).expect("parse");
        assert!(empty.is_empty());
        let null = parse_chat_data_reply(br#"{"chatdata":null,"errcode":0}"#).expect("parse");
        assert!(null.is_empty());
        let api =
            parse_chat_data_reply(br#"{"errcode":48002,"errmsg":"api forbidden"}"#).expect("parse");
        assert_eq!((api.errcode, api.errmsg.as_str()), (48002, "api forbidden"));
    }

    #[test]
    fn an_unreadable_item_is_quarantined_and_the_others_are_kept() {
        let mut body = br#"{"errcode":0,"errmsg":"ok","chatdata":["#.to_vec();
        body.extend_from_slice(item(1, "a").as_bytes());
        body.push(b',');
        let bad = br#"{"seq":2,"msgid":"b"#;
        let mut bad = bad.to_vec();
        bad.extend_from_slice(&[0xFF, 0xFE]);
        bad.extend_from_slice(
            br#"","publickey_ver":1,"encrypt_random_key":"k","encrypt_chat_msg":"c"}"#,
        );
        body.extend_from_slice(&bad);
        body.extend_from_slice(b",");
        body.extend_from_slice(
            br#"{"seq":3,"publickey_ver":1,"encrypt_random_key":"k","encrypt_chat_msg":"c"}"#,
        );
        body.extend_from_slice(b",");
        body.extend_from_slice(br#"{"seq":"4","msgid":"d"}"#);
        body.extend_from_slice(b",");
        body.extend_from_slice(item(5, "").as_bytes());
        body.extend_from_slice(b",");
        body.extend_from_slice(item(6, "f").as_bytes());
        body.extend_from_slice(b"]}");
        assert!(serde_json::from_slice::<crate::ChatDataResponse>(&body).is_err());

        let reply = parse_chat_data_reply(&body).expect("the page splits");
        let seqs: Vec<u64> = reply.items.iter().map(|i| i.seq).collect();
        assert_eq!(seqs, [1, 6]);
        let quarantined: Vec<(Option<u64>, &str)> = reply
            .quarantined
            .iter()
            .map(|q| (q.seq, q.reason.kind()))
            .collect();
        assert_eq!(
            quarantined,
            [
                (Some(2), "unparseable"),
                (Some(3), "unparseable"),
                (None, "unparseable"),
                (Some(5), "unparseable"),
            ]
        );
        assert_eq!(reply.quarantined[0].raw, bad, "the bytes as sent");
        let why = reply.quarantined[1].reason.describe();
        assert!(why.contains("msgid"), "{why}");
        assert_eq!(reply.len(), 6);
    }

    #[test]
    fn bodies_that_cannot_be_split_are_errors() {
        for body in [
            &b""[..],
            b"<html>502</html>",
            br#"{"errcode":0,"chatdata":[{"seq":1"#,
            br#"{"errcode":0,"chatdata":{"seq":1}}"#,
            br#"{"errcode":"x"}"#,
            br#"{"errcode":0}{"errcode":0}"#,
            br#"{"errcode":0,"chatdata":[1 2]}"#,
        ] {
            assert!(
                parse_chat_data_reply(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn scalars_and_nesting_inside_items_do_not_confuse_the_scanner() {
        let body = br#"{"chatdata":[ {"seq":18446744073709551615,"msgid":"m","publickey_ver":2,"encrypt_random_key":"\\","encrypt_chat_msg":"]}","x":[{"y":[1,true,null]}]} , 5 ],"errcode":0}"#;
        let reply = parse_chat_data_reply(body).expect("parse");
        assert_eq!(reply.items.len(), 1);
        assert_eq!(reply.items[0].seq, u64::MAX);
        assert_eq!(reply.items[0].encrypt_random_key, "\\");
        assert_eq!(reply.quarantined.len(), 1);
        assert_eq!(reply.quarantined[0].raw, b"5");
    }
}
