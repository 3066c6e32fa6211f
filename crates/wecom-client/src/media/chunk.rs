//! One chunk of a media object on the wire: the request's Range, the answer's CONTENT-RANGE and
//! JSON, the checks our client makes (stricter than the vendor library's), and AES-128-ECB.
//! Pure functions, no I/O.

use std::borrow::Cow;

use aes::Aes128;
use aes::cipher::consts::U16;
use aes::cipher::inout::InOutBuf;
use aes::cipher::{BlockDecrypt, KeyInit};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;

use super::{MediaError, MediaErrorKind};

/// Ciphertext bytes asked for per request, as the vendor library does.
pub const CHUNK: u64 = 512 * 1024;

/// Largest answer body read for one chunk: the 512 KiB asked for are 683 KiB as base64 (about
/// 700 KB of JSON); a server escaping every `/` as `\/` stays below 1.4 MiB. Anything above 2 MiB
/// is not the chunk asked for and is refused before (announced) or while (streamed) it is read.
pub(crate) const MAX_RESPONSE: usize = 2 << 20;

const BLOCK: u64 = 16;

/// Standard alphabet; padding optional (the content is one whole chunk, so a server dropping `=`
/// is still unambiguous).
const CONTENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The AES-128 key of an sdkfileid's hex `aeskey`: the first `min(16, n)` bytes into a zeroed
/// key, as the vendor library does, but refusing what it would silently misread (no key, odd
/// length, non-hex characters).
pub(crate) fn aes_key(aeskey: &str) -> Result<[u8; 16], &'static str> {
    if aeskey.is_empty() {
        return Err("the sdkfileid has no aeskey");
    }
    let bytes = hex::decode(aeskey).map_err(|_| "the aeskey is not hex")?;
    let mut key = [0u8; 16];
    for (slot, b) in key.iter_mut().zip(bytes) {
        *slot = b;
    }
    Ok(key)
}

/// `a-b/total` of a CONTENT-RANGE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentRange {
    pub start: u64,
    pub end: u64,
    pub total: u64,
}

/// Reads `BYTES a-b/total` in any case (WeCom sends upper case, RFC 9110 lower case).
pub(crate) fn parse_content_range(value: &[u8]) -> Option<ContentRange> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let (unit, rest) = text.split_once(' ')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    let (range, total) = rest.trim_start().split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let number = |s: &str| {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<u64>().ok()
    };
    Some(ContentRange {
        start: number(start)?,
        end: number(end)?,
        total: number(total)?,
    })
}

/// The JSON answer. `content` must be a string when present; it is borrowed from the body unless
/// it holds escapes (some servers write `\/`).
#[derive(Debug, Deserialize)]
pub(crate) struct MediaReply<'a> {
    #[serde(default)]
    pub errcode: i64,
    #[serde(default)]
    pub errmsg: String,
    #[serde(default, borrow)]
    pub content: Option<Cow<'a, str>>,
}

fn bad(message: impl Into<String>) -> MediaError {
    MediaError::new(MediaErrorKind::BadResponse, message)
}

/// Checks a chunk's CONTENT-RANGE against what was asked: the requested start, an end inside the
/// requested range, a total that is a positive multiple of 16 and the same for every chunk, and a
/// whole number of AES blocks.
pub(crate) fn check_range(
    range: Option<ContentRange>,
    start: u64,
    end: u64,
    known_total: Option<u64>,
) -> Result<ContentRange, MediaError> {
    let Some(r) = range else {
        return Err(bad(
            "no usable CONTENT-RANGE header (expected `CONTENT-RANGE: BYTES a-b/total`)",
        ));
    };
    if r.total == 0 || !r.total.is_multiple_of(BLOCK) {
        return Err(MediaError::new(
            MediaErrorKind::Decrypt,
            format!(
                "the object is {} bytes of ciphertext, not a positive multiple of 16",
                r.total
            ),
        ));
    }
    if let Some(total) = known_total
        && total != r.total
    {
        return Err(bad(format!(
            "CONTENT-RANGE total changed from {total} to {} between chunks",
            r.total
        )));
    }
    if r.start != start {
        return Err(bad(format!(
            "CONTENT-RANGE starts at {} but bytes from {start} were asked for",
            r.start
        )));
    }
    if r.end < r.start || r.end > end || r.end >= r.total {
        return Err(bad(format!(
            "CONTENT-RANGE {}-{}/{} is not within the requested {start}-{end}",
            r.start, r.end, r.total
        )));
    }
    if !(r.end - r.start + 1).is_multiple_of(BLOCK) {
        return Err(bad(format!(
            "CONTENT-RANGE {}-{} is not a whole number of 16-byte blocks",
            r.start, r.end
        )));
    }
    Ok(r)
}

/// Decodes `content` (standard base64; ASCII whitespace ignored, padding optional) and checks its
/// length against the CONTENT-RANGE.
pub(crate) fn decode_content(content: &str, range: ContentRange) -> Result<Vec<u8>, MediaError> {
    let decoded = if content.bytes().any(|b| b.is_ascii_whitespace()) {
        let compact: String = content
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        CONTENT_B64.decode(compact)
    } else {
        CONTENT_B64.decode(content)
    };
    let data = decoded.map_err(|e| bad(format!("content is not base64: {e}")))?;
    let want = range.end - range.start + 1;
    if data.len() as u64 != want {
        return Err(bad(format!(
            "content holds {} bytes but CONTENT-RANGE {}-{} says {want}",
            data.len(),
            range.start,
            range.end
        )));
    }
    Ok(data)
}

/// Decrypts whole 16-byte blocks in place (AES-128-ECB); a partial tail is left as is.
pub(crate) fn decrypt_in_place(key: &[u8; 16], data: &mut [u8]) {
    let cipher = Aes128::new(key.into());
    let (blocks, _) = InOutBuf::from(data).into_chunks::<U16>();
    cipher.decrypt_blocks_inout(blocks);
}

/// Length of `plain` without its PKCS#7 padding; `None` when the padding is not `n` bytes of
/// value `n` with `1 <= n <= 16` (the vendor library only looks at the last byte).
pub(crate) fn unpadded_len(plain: &[u8]) -> Option<usize> {
    let n = usize::from(*plain.last()?);
    if n == 0 || n > BLOCK as usize || n > plain.len() {
        return None;
    }
    let (rest, pad) = plain.split_at(plain.len() - n);
    pad.iter()
        .all(|&b| usize::from(b) == n)
        .then_some(rest.len())
}

#[cfg(test)]
mod tests {
    use aes::cipher::BlockEncrypt;
    use base64::engine::general_purpose;

    use super::*;

    fn range(start: u64, end: u64, total: u64) -> Option<ContentRange> {
        Some(ContentRange { start, end, total })
    }

    #[test]
    fn content_range_is_read_in_any_case_and_nothing_else() {
        let r = range(0, 524_287, 1_300_016);
        assert_eq!(parse_content_range(b"BYTES 0-524287/1300016"), r);
        assert_eq!(parse_content_range(b" bytes 0-524287/1300016 "), r);
        assert_eq!(parse_content_range(b"Bytes  0-524287/1300016"), r);
        for bad in [
            &b"BYTES 0-524287/*"[..],
            b"BYTES 0-/100",
            b"BYTES -5/100",
            b"items 0-15/16",
            b"BYTES0-15/16",
            b"BYTES +0-15/16",
            b"BYTES 0-15/99999999999999999999999",
            b"BYTES 0-15/16, 0-15/16",
            b"\xff",
        ] {
            assert_eq!(parse_content_range(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ranges_must_be_what_was_asked() {
        let ok = |r, s, e, t| {
            check_range(r, s, e, t)
                .map(|_| ())
                .map_err(|e| e.kind().clone())
        };
        assert_eq!(ok(range(0, 524_287, 1_300_016), 0, 524_287, None), Ok(()));
        // a short middle chunk of whole blocks is fine
        assert_eq!(ok(range(0, 15, 32), 0, 524_287, None), Ok(()));
        assert_eq!(
            ok(range(0, 15, 32), 0, 524_287, Some(48)),
            Err(MediaErrorKind::BadResponse)
        );
        assert_eq!(
            ok(range(16, 31, 32), 0, 524_287, None),
            Err(MediaErrorKind::BadResponse)
        );
        assert_eq!(
            ok(range(0, 524_303, 600_000), 0, 524_287, None),
            Err(MediaErrorKind::BadResponse)
        );
        assert_eq!(
            ok(range(0, 31, 32), 0, 524_287, None),
            Ok(()),
            "final chunk"
        );
        assert_eq!(
            ok(range(0, 32, 48), 0, 524_287, None),
            Err(MediaErrorKind::BadResponse),
            "not whole blocks"
        );
        assert_eq!(
            ok(range(0, 47, 32), 0, 524_287, None),
            Err(MediaErrorKind::BadResponse),
            "past the end"
        );
        assert_eq!(
            ok(range(0, 14, 15), 0, 524_287, None),
            Err(MediaErrorKind::Decrypt)
        );
        assert_eq!(
            ok(range(0, 0, 0), 0, 524_287, None),
            Err(MediaErrorKind::Decrypt)
        );
        assert_eq!(ok(None, 0, 524_287, None), Err(MediaErrorKind::BadResponse));
    }

    #[test]
    fn content_length_must_match_the_range() {
        let r = ContentRange {
            start: 0,
            end: 31,
            total: 32,
        };
        let b64 = general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(decode_content(&b64, r).expect("decodes"), vec![7u8; 32]);
        assert_eq!(
            decode_content(b64.trim_end_matches('='), r).expect("no padding"),
            vec![7u8; 32]
        );
        let wrapped = format!("{}\r\n{}", &b64[..20], &b64[20..]);
        assert_eq!(
            decode_content(&wrapped, r).expect("whitespace"),
            vec![7u8; 32]
        );
        let short = general_purpose::STANDARD.encode([7u8; 16]);
        assert_eq!(
            decode_content(&short, r).map_err(|e| e.kind().clone()),
            Err(MediaErrorKind::BadResponse)
        );
        for garbage in ["=", "A=", "====", "*&^%", "QUJD-_"] {
            assert!(decode_content(garbage, r).is_err(), "{garbage}");
        }
    }

    #[test]
    fn replies_parse_with_or_without_escapes() {
        let r: MediaReply<'_> =
            serde_json::from_str(r#"{"errcode":0,"errmsg":"ok","content":"ab\/+w=="}"#)
                .expect("json");
        assert_eq!(r.content.as_deref(), Some("ab/+w=="));
        let r: MediaReply<'_> =
            serde_json::from_str(r#"{"errcode":301010,"errmsg":"x"}"#).expect("json");
        assert_eq!((r.errcode, r.content), (301_010, None));
        assert!(serde_json::from_str::<MediaReply<'_>>(r#"{"content":5}"#).is_err());
        assert!(serde_json::from_str::<MediaReply<'_>>(r#""ok""#).is_err());
        // serde reads a struct from an array too; without content it is still refused later.
        let r: MediaReply<'_> = serde_json::from_str("[]").expect("json");
        assert_eq!((r.errcode, r.content), (0, None));
    }

    #[test]
    fn keys_are_read_strictly() {
        let mut want = [0u8; 16];
        want[..2].copy_from_slice(&[0xab, 0x01]);
        assert_eq!(aes_key("ab01"), Ok(want));
        assert_eq!(aes_key(&"ff".repeat(20)), Ok([0xff; 16]));
        assert!(aes_key("").is_err());
        assert!(aes_key("abc").is_err());
        assert!(aes_key("zz").is_err());
    }

    #[test]
    fn ecb_round_trip_and_padding() {
        // FIPS-197 appendix C.1.
        let key: [u8; 16] = hex::decode("000102030405060708090a0b0c0d0e0f")
            .expect("hex")
            .try_into()
            .expect("16");
        let mut block = hex::decode("69c4e0d86a7b0430d8cdb78070b4c55a").expect("hex");
        decrypt_in_place(&key, &mut block);
        assert_eq!(hex::encode(&block), "00112233445566778899aabbccddeeff");

        let cipher = Aes128::new(&key.into());
        let mut data = [3u8; 32];
        data[29..].copy_from_slice(&[3, 3, 3]);
        let plain = data;
        for b in data.chunks_exact_mut(16) {
            cipher.encrypt_block(aes::Block::from_mut_slice(b));
        }
        decrypt_in_place(&key, &mut data);
        assert_eq!(data, plain);
        assert_eq!(unpadded_len(&data), Some(29));

        assert_eq!(unpadded_len(&[16u8; 16]), Some(0));
        assert_eq!(unpadded_len(&[0u8; 16]), None);
        assert_eq!(unpadded_len(&[17u8; 16]), None);
        let mut mixed = [2u8; 16];
        mixed[15] = 3;
        assert_eq!(unpadded_len(&mixed), None);
        assert_eq!(unpadded_len(&[]), None);
    }
}
