//! JSON shapes of the token and chat-data exchanges (sdk-wire-protocol.md §2–§3).

use serde::{Deserialize, Deserializer, Serialize};

/// WeCom API `errcode` values the archive reacts to.
pub mod errcode {
    /// Invalid credential / secret (`corpsecret` wrong, or token invalid).
    pub const INVALID_CREDENTIAL: i64 = 40001;
    /// Invalid access token.
    pub const INVALID_ACCESS_TOKEN: i64 = 40014;
    /// Access token expired.
    pub const ACCESS_TOKEN_EXPIRED: i64 = 42001;
    /// API forbidden (e.g. an app secret used instead of the archive secret).
    pub const API_FORBIDDEN: i64 = 48002;
    /// API frequency limit.
    pub const RATE_LIMITED: i64 = 45009;
    /// System busy.
    pub const SYSTEM_BUSY: i64 = -1;

    /// Whether the errcode says the access token must be fetched again.
    pub fn token_must_refresh(code: i64) -> bool {
        matches!(
            code,
            INVALID_CREDENTIAL | INVALID_ACCESS_TOKEN | ACCESS_TOKEN_EXPIRED
        )
    }
}

/// Body of `POST /cgi-bin/message/getchatdata`; field order is the one the vendor library sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatDataRequest {
    pub seq: u64,
    pub limit: u32,
    pub version: u32,
    pub encrypt_sign: String,
}

/// One encrypted record of a chat-data page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatDataItem {
    pub seq: u64,
    pub msgid: String,
    pub publickey_ver: u32,
    pub encrypt_random_key: String,
    pub encrypt_chat_msg: String,
}

/// The getchatdata reply; `chatdata` may be absent when there is nothing new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatDataResponse {
    #[serde(default)]
    pub errcode: i64,
    #[serde(default)]
    pub errmsg: String,
    #[serde(default)]
    pub chatdata: Vec<ChatDataItem>,
}

/// The gettoken reply; `expires_in` may be a number or a numeric string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    #[serde(default)]
    pub errcode: i64,
    #[serde(default)]
    pub errmsg: String,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default, deserialize_with = "number_or_string")]
    pub expires_in: Option<u64>,
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        Num(u64),
        Str(String),
    }
    match Option::<NumOrStr>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrStr::Num(n)) => Ok(Some(n)),
        Some(NumOrStr::Str(s)) => s.trim().parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// The `encrypt_sign` the vendor library derives from the access token: a wrapping 64-bit
/// `h = h * 1313 + b` over the token's bytes taken as signed chars, folded to 32 bits.
pub fn encrypt_sign(access_token: &str) -> String {
    let h = access_token.bytes().fold(0u64, |h, b| {
        h.wrapping_mul(1313).wrapping_add(b as i8 as i64 as u64)
    });
    ((h & 0xFFFF_FFFF) ^ (h >> 32)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypt_sign_matches_the_captured_examples() {
        assert_eq!(encrypt_sign("a+b/c=d&e"), "4028578111");
        assert_eq!(encrypt_sign("tök€n"), "248935113");
        assert_eq!(encrypt_sign(""), "0");
    }

    #[test]
    fn request_serialises_in_the_vendor_field_order() {
        let req = ChatDataRequest {
            seq: 0,
            limit: 10,
            version: 3,
            encrypt_sign: "1395920681".into(),
        };
        assert_eq!(
            serde_json::to_string(&req).expect("serialise"),
            r#"{"seq":0,"limit":10,"version":3,"encrypt_sign":"1395920681"}"#
        );
    }

    #[test]
    fn response_without_chatdata_is_an_empty_page() {
        let r: ChatDataResponse =
            serde_json::from_str(r#"{"errcode":0,"errmsg":"ok"}"#).expect("parse");
        assert!(r.chatdata.is_empty());
        let r: ChatDataResponse = serde_json::from_str(
            r#"{"errcode":0,"errmsg":"ok","chatdata":[{"seq":18446744073709551615,"msgid":"m","publickey_ver":2,"encrypt_random_key":"k","encrypt_chat_msg":"c"}]}"#,
        )
        .expect("parse");
        assert_eq!(r.chatdata[0].seq, u64::MAX);
    }

    #[test]
    fn token_expiry_accepts_number_or_string() {
        let t: TokenResponse =
            serde_json::from_str(r#"{"access_token":"x","expires_in":"7200"}"#).expect("parse");
        assert_eq!(t.expires_in, Some(7200));
        let t: TokenResponse =
            serde_json::from_str(r#"{"errcode":0,"access_token":"x","expires_in":7200}"#)
                .expect("parse");
        assert_eq!(t.expires_in, Some(7200));
        let t: TokenResponse =
            serde_json::from_str(r#"{"errcode":40001,"errmsg":"bad"}"#).expect("parse");
        assert_eq!(t.access_token, None);
    }
}
