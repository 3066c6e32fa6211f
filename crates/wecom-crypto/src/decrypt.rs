//! DecryptData exactly: `encrypt_key` + `encrypt_chat_msg` → plaintext, with the vendor library's codes.

use wecom_wire::SdkCode;

use crate::b64::{self, B64Failure};
use crate::cipher;
use crate::proto::{self, Value};

/// Offset of the 32-character outer key in `encrypt_msg`; the characters before it are ignored.
pub const OUTER_KEY_OFFSET: usize = 13;
/// Length of the outer key in `encrypt_msg`.
pub const OUTER_KEY_LEN: usize = 32;
/// Where the prefix filler starts: `OUTER_KEY_OFFSET + OUTER_KEY_LEN`.
pub const BODY_OFFSET: usize = OUTER_KEY_OFFSET + OUTER_KEY_LEN;

/// The inner key block carried (encrypted) in `encrypt_key`: proto2
/// `SdkKeyInfo { bytes k1 = 1; int32 pre_len = 2; int32 end_len = 3; int32 s_len = 4; }`.
///
/// Absent fields read as empty / 0, as in proto2.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdkKeyInfo {
    /// The inner AES key: arbitrary bytes, truncated or zero-padded to 32.
    pub k1: Vec<u8>,
    /// Filler characters between the outer key and the body.
    pub pre_len: i32,
    /// Filler characters at the end of the message.
    pub end_len: i32,
    /// Where the middle filler sits in the body, and how long it is.
    pub s_len: i32,
}

/// The wire form of [`SdkKeyInfo`], for encoding: every field present, like the real service sends.
#[derive(Clone, PartialEq, prost::Message)]
struct SdkKeyInfoProto {
    #[prost(bytes = "vec", optional, tag = "1")]
    k1: Option<Vec<u8>>,
    #[prost(int32, optional, tag = "2")]
    pre_len: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    end_len: Option<i32>,
    #[prost(int32, optional, tag = "4")]
    s_len: Option<i32>,
}

impl SdkKeyInfo {
    /// Parses the protobuf bytes the way the vendor library's C++ protobuf runtime does: unknown
    /// fields and known fields of another wire type are skipped, the last occurrence of a field wins,
    /// `int32` keeps the low 32 bits of the varint. `None` = a parse failure (code 10005).
    pub fn parse(bytes: &[u8]) -> Option<SdkKeyInfo> {
        let mut info = SdkKeyInfo::default();
        proto::for_each_field(bytes, |field, value| match (field, value) {
            (1, Value::Len(k1)) => info.k1 = k1.to_vec(),
            (2, Value::Varint(v)) => info.pre_len = proto::int32(v),
            (3, Value::Varint(v)) => info.end_len = proto::int32(v),
            (4, Value::Varint(v)) => info.s_len = proto::int32(v),
            _ => {}
        })?;
        Some(info)
    }

    /// The protobuf encoding, with all four fields present.
    pub fn encode_to_vec(&self) -> Vec<u8> {
        prost::Message::encode_to_vec(&SdkKeyInfoProto {
            k1: Some(self.k1.clone()),
            pre_len: Some(self.pre_len),
            end_len: Some(self.end_len),
            s_len: Some(self.s_len),
        })
    }
}

/// The step of DecryptData at which an input was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecryptStep {
    /// Step 1: an input is NULL.
    NullInput,
    /// Step 2: `encrypt_msg` is shorter than 13 characters.
    MessageTooShort,
    /// Step 3: `encrypt_key` is not decodable by the vendor base64 decoder.
    OuterKeyBase64,
    /// Step 3: decoded `encrypt_key` shorter than 32 bytes or not a multiple of 16.
    OuterKeyLength,
    /// Step 3: AES-256-CBC of `encrypt_key` with the outer key failed.
    OuterKeyAes,
    /// Step 4: the decrypted `encrypt_key` is not a protobuf `SdkKeyInfo`.
    KeyInfoProtobuf,
    /// Step 5: `s_len <= 0` or `2 * s_len >= len(encrypt_msg)`.
    FillerLength,
    /// Step 5: `45 + pre_len` outside `encrypt_msg`.
    PrefixLength,
    /// Step 7: `s_len` beyond what remains after the prefix cut.
    FillerOutOfRange,
    /// Step 8: `end_len` negative or longer than what remains.
    SuffixLength,
    /// Step 9: the body is not decodable by the vendor base64 decoder.
    BodyBase64,
    /// Step 9: AES-256-CBC of the body with `k1` failed.
    BodyAes,
}

impl DecryptStep {
    /// A short lowercase name, e.g. `outer key aes`.
    pub fn name(&self) -> &'static str {
        match self {
            DecryptStep::NullInput => "null input",
            DecryptStep::MessageTooShort => "message too short",
            DecryptStep::OuterKeyBase64 => "outer key base64",
            DecryptStep::OuterKeyLength => "outer key length",
            DecryptStep::OuterKeyAes => "outer key aes",
            DecryptStep::KeyInfoProtobuf => "key info protobuf",
            DecryptStep::FillerLength => "filler length",
            DecryptStep::PrefixLength => "prefix length",
            DecryptStep::FillerOutOfRange => "filler out of range",
            DecryptStep::SuffixLength => "suffix length",
            DecryptStep::BodyBase64 => "body base64",
            DecryptStep::BodyAes => "body aes",
        }
    }

    /// Plain words naming the exact step and its usual cause.
    pub fn describe(&self) -> &'static str {
        match self {
            DecryptStep::NullInput => "encrypt_key or encrypt_msg is null",
            DecryptStep::MessageTooShort => {
                "encrypt_msg is shorter than 13 characters, so it has no outer key"
            }
            DecryptStep::OuterKeyBase64 => {
                "base64 of encrypt_key (more '=' than the data allows, or a non-ascii byte)"
            }
            DecryptStep::OuterKeyLength => {
                "length of the decoded encrypt_key (under 32 bytes or not a multiple of 16)"
            }
            DecryptStep::OuterKeyAes => {
                "outer AES-256-CBC of encrypt_key (wrong key or wrong key version)"
            }
            DecryptStep::KeyInfoProtobuf => {
                "protobuf key info inside encrypt_key (wrong key or wrong key version)"
            }
            DecryptStep::FillerLength => {
                "s_len out of range (s_len <= 0 or 2*s_len >= message length)"
            }
            DecryptStep::PrefixLength => "pre_len out of range (45 + pre_len outside the message)",
            DecryptStep::FillerOutOfRange => {
                "s_len longer than what remains after the prefix cut (message truncated?)"
            }
            DecryptStep::SuffixLength => {
                "end_len out of range (negative or longer than what remains; message truncated?)"
            }
            DecryptStep::BodyBase64 => {
                "base64 of the message body (more '=' than the data allows, or a non-ascii byte)"
            }
            DecryptStep::BodyAes => {
                "inner AES-256-CBC of the message body with k1 (truncated or corrupted message, or wrong k1)"
            }
        }
    }
}

/// Why DecryptData refused an input, with the vendor library's return code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} at step `{}`: {}{}",
    .code.code(),
    .step.name(),
    .step.describe(),
    crash_note(*.real_library_crashes)
)]
pub struct DecryptDataError {
    /// 10000 ([`SdkCode::InvalidArgument`]), 10005 ([`SdkCode::FileId`]), 10006 ([`SdkCode::Decrypt`])
    /// or 10008 ([`SdkCode::EncryptKey`]).
    pub code: SdkCode,
    /// Where it failed.
    pub step: DecryptStep,
    /// The real library aborts the process (SIGABRT) on this input instead of returning a code;
    /// `code` is the one we chose for it.
    pub real_library_crashes: bool,
}

fn crash_note(crashes: bool) -> &'static str {
    if crashes {
        " (the vendor library would abort the process on this input)"
    } else {
        ""
    }
}

impl DecryptDataError {
    fn new(code: SdkCode, step: DecryptStep) -> Self {
        DecryptDataError {
            code,
            step,
            real_library_crashes: false,
        }
    }

    fn crash(code: SdkCode, step: DecryptStep) -> Self {
        DecryptDataError {
            code,
            step,
            real_library_crashes: true,
        }
    }

    fn b64(failure: B64Failure, code: SdkCode, step: DecryptStep) -> Self {
        match failure {
            B64Failure::NegativeLength => Self::crash(code, step),
            B64Failure::NonAscii => Self::new(code, step),
        }
    }
}

/// DecryptData exactly. `Ok(plaintext)` is return code 0.
///
/// Both inputs are C strings to the vendor library, so each is read up to its first NUL byte.
/// Where the vendor library aborts the process, this returns an error with
/// `real_library_crashes = true`: `encrypt_msg` under 13 characters (10008, like the 13..44 range),
/// a base64 text with more `=` than data (10008 for `encrypt_key`, 10006 for the body), and `s_len`
/// beyond the text left after the prefix cut (10005). Bytes >= 0x80 read by the base64 decoder are
/// undefined behaviour in the vendor library; they are refused with the code of that step.
/// Never panics.
pub fn decrypt_data(encrypt_key: &[u8], encrypt_msg: &[u8]) -> Result<Vec<u8>, DecryptDataError> {
    decrypt_data_nullable(Some(encrypt_key), Some(encrypt_msg))
}

/// [`decrypt_data`] with NULL modelled as `None` (code 10000).
pub fn decrypt_data_nullable(
    encrypt_key: Option<&[u8]>,
    encrypt_msg: Option<&[u8]>,
) -> Result<Vec<u8>, DecryptDataError> {
    let (info, msg) = key_info(encrypt_key, encrypt_msg)?;
    decrypt_body(&info, msg)
}

/// Steps 1–4 only: the [`SdkKeyInfo`] that `encrypt_key` carries for this `encrypt_msg` (the outer key
/// sits in the message). For diagnostics and tests.
pub fn decrypt_key_info(
    encrypt_key: &[u8],
    encrypt_msg: &[u8],
) -> Result<SdkKeyInfo, DecryptDataError> {
    key_info(Some(encrypt_key), Some(encrypt_msg)).map(|(info, _)| info)
}

/// A C string: the bytes up to the first NUL.
fn c_str(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(nul) => bytes.get(..nul).unwrap_or(bytes),
        None => bytes,
    }
}

fn key_info<'m>(
    encrypt_key: Option<&[u8]>,
    encrypt_msg: Option<&'m [u8]>,
) -> Result<(SdkKeyInfo, &'m [u8]), DecryptDataError> {
    use DecryptStep as S;
    use SdkCode::{EncryptKey, FileId, InvalidArgument};

    // Step 1.
    let (Some(key), Some(msg)) = (encrypt_key, encrypt_msg) else {
        return Err(DecryptDataError::new(InvalidArgument, S::NullInput));
    };
    let (key, msg) = (c_str(key), c_str(msg));

    // Step 2: `substr(13, 32)`, which throws (and aborts the process) only when 13 > len.
    let outer_key = msg
        .get(OUTER_KEY_OFFSET..)
        .ok_or(DecryptDataError::crash(EncryptKey, S::MessageTooShort))?;
    let outer_key = outer_key.get(..OUTER_KEY_LEN).unwrap_or(outer_key);

    // Step 3.
    let blob =
        b64::decode(key).map_err(|f| DecryptDataError::b64(f, EncryptKey, S::OuterKeyBase64))?;
    if blob.len() < 32 || !blob.len().is_multiple_of(16) {
        return Err(DecryptDataError::new(EncryptKey, S::OuterKeyLength));
    }
    let info_bytes = cipher::decrypt(outer_key, blob)
        .ok_or(DecryptDataError::new(EncryptKey, S::OuterKeyAes))?;

    // Step 4.
    let info =
        SdkKeyInfo::parse(&info_bytes).ok_or(DecryptDataError::new(FileId, S::KeyInfoProtobuf))?;
    Ok((info, msg))
}

fn decrypt_body(info: &SdkKeyInfo, msg: &[u8]) -> Result<Vec<u8>, DecryptDataError> {
    use DecryptStep as S;
    use SdkCode::{Decrypt, FileId};

    // All bound arithmetic in i64: the operands are i32 and lengths, so nothing overflows.
    let msg_len = msg.len() as i64;
    let s_len = i64::from(info.s_len);
    let pre_len = i64::from(info.pre_len);
    let end_len = i64::from(info.end_len);

    // Step 5, against the original length of the message.
    if s_len <= 0 || 2 * s_len >= msg_len {
        return Err(DecryptDataError::new(FileId, S::FillerLength));
    }
    let start = BODY_OFFSET as i64 + pre_len;
    if start < 0 || start > msg_len {
        return Err(DecryptDataError::new(FileId, S::PrefixLength));
    }

    // Step 6.
    let tail = usize::try_from(start)
        .ok()
        .and_then(|start| msg.get(start..))
        .ok_or(DecryptDataError::new(FileId, S::PrefixLength))?;

    // Step 7: `erase(s_len, s_len)`, which throws only when s_len > len(T) and clamps the count.
    let s = usize::try_from(s_len).unwrap_or(usize::MAX);
    let head = tail
        .get(..s)
        .ok_or(DecryptDataError::crash(FileId, S::FillerOutOfRange))?;
    let rest = tail.get(s.saturating_mul(2)..).unwrap_or(&[]);

    // Step 8.
    let remaining = head.len() + rest.len();
    let end = usize::try_from(end_len)
        .ok()
        .filter(|&end| end <= remaining)
        .ok_or(DecryptDataError::new(FileId, S::SuffixLength))?;
    let keep = remaining - end;
    let mut body = Vec::with_capacity(keep);
    body.extend_from_slice(head.get(..keep.min(head.len())).unwrap_or(head));
    body.extend_from_slice(rest.get(..keep - body.len()).unwrap_or(&[]));

    // Step 9.
    let blob = b64::decode(&body).map_err(|f| DecryptDataError::b64(f, Decrypt, S::BodyBase64))?;
    cipher::decrypt(&info.k1, blob).ok_or(DecryptDataError::new(Decrypt, S::BodyAes))
}
