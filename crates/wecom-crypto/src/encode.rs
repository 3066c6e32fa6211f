//! The inverse of DecryptData, for the emulator: fresh random encodings the real library decrypts.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::{Rng, RngCore};

use crate::cipher;
use crate::decrypt::{BODY_OFFSET, OUTER_KEY_LEN, OUTER_KEY_OFFSET, SdkKeyInfo};

const B64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Length of the ignored head of `encrypt_msg`.
pub const HEAD_LEN: usize = OUTER_KEY_OFFSET;

/// One encoded message: what `GetChatData` carries (before RSA-wrapping `encrypt_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedMessage {
    /// The text the caller RSA-encrypts into `encrypt_random_key`.
    pub encrypt_key: String,
    /// `encrypt_chat_msg`.
    pub encrypt_msg: String,
}

/// Every choice of an encoding; [`encode_message`] draws them at random.
///
/// The message is laid out as
/// `[head][outer_key][pre_len filler][body[..s_len]][s_len filler][body[s_len..]][end_len filler]`
/// with `body = base64(IV || AES-256-CBC_k1(PKCS7(plaintext)))`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeParams {
    /// The inner AES key, any bytes (the library truncates or zero-pads it to 32).
    pub k1: Vec<u8>,
    /// Filler characters after the outer key.
    pub pre_len: usize,
    /// Position and length of the middle filler; `None` draws one in `1..=len(body)`. Must be in
    /// `1..=len(body)` where `len(body) = 4 * ceil((16 + 16 * (len(plaintext) / 16 + 1)) / 3)`.
    pub s_len: Option<usize>,
    /// Filler characters at the end.
    pub end_len: usize,
    /// The 13 ignored characters at the start (ASCII, no NUL); `None` = random base64 characters.
    pub head: Option<[u8; HEAD_LEN]>,
    /// The 32-character outer key (ASCII, no NUL); `None` = random base64 characters.
    pub outer_key: Option<[u8; OUTER_KEY_LEN]>,
}

/// Why [`encode_message_with`] refused its parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// `s_len` outside `1..=len(body)`.
    #[error("s_len {s_len} must be between 1 and the body length {body_len}")]
    SLenOutOfRange {
        /// The requested `s_len`.
        s_len: usize,
        /// Length of the base64 body.
        body_len: usize,
    },
    /// A length does not fit the `int32` fields of the key info, or the message would be too long
    /// for the library's bounds.
    #[error("{field} = {value} is too large for the int32 fields of the key info")]
    TooLarge {
        /// `pre_len`, `end_len`, `s_len` or `message length`.
        field: &'static str,
        /// The offending value.
        value: usize,
    },
    /// `head` or `outer_key` contains NUL or a non-ASCII byte (the message must be an ASCII C string).
    #[error("{field} must be ascii without nul bytes")]
    NotAscii {
        /// `head` or `outer_key`.
        field: &'static str,
    },
}

/// Random characters from the base64 alphabet (never `=`, never NUL).
fn b64_chars<R: RngCore + ?Sized>(rng: &mut R, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| B64_ALPHABET[usize::from(rng.random::<u8>() & 63)])
        .collect()
}

fn iv<R: RngCore + ?Sized>(rng: &mut R) -> [u8; 16] {
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    iv
}

/// Length of the base64 body for a plaintext of `len` bytes.
pub fn body_len(plaintext_len: usize) -> usize {
    let blob = 16 + 16 * (plaintext_len / 16 + 1);
    blob.div_ceil(3) * 4
}

/// A fresh random encoding of `plaintext` that the real library decrypts: 32 base64 characters of
/// `k1` (like the service's), a random outer key and head, 0..32 characters of prefix and suffix
/// filler, and a random valid `s_len`.
///
/// A plaintext over about 800 MB does not fit the format's 32-bit bounds; it yields empty strings
/// (which decrypt to an error) instead of panicking. Use [`encode_message_with`] to see the error.
pub fn encode_message<R: RngCore + ?Sized>(plaintext: &[u8], rng: &mut R) -> EncodedMessage {
    let params = EncodeParams {
        k1: b64_chars(rng, 32),
        pre_len: rng.random_range(0..32),
        s_len: None,
        end_len: rng.random_range(0..32),
        head: None,
        outer_key: None,
    };
    // Every parameter above is in range, so this cannot fail; fall back to the minimal layout anyway
    // rather than panic.
    encode_message_with(plaintext, &params, rng).unwrap_or_else(|_| EncodedMessage {
        encrypt_key: String::new(),
        encrypt_msg: String::new(),
    })
}

/// An encoding of `plaintext` with the given parameters; the random parts (IVs, filler, and whatever
/// `params` leaves as `None`) come from `rng`.
pub fn encode_message_with<R: RngCore + ?Sized>(
    plaintext: &[u8],
    params: &EncodeParams,
    rng: &mut R,
) -> Result<EncodedMessage, EncodeError> {
    let head = match params.head {
        Some(head) => checked_ascii(head.to_vec(), "head")?,
        None => b64_chars(rng, HEAD_LEN),
    };
    let outer_key = match params.outer_key {
        Some(key) => checked_ascii(key.to_vec(), "outer_key")?,
        None => b64_chars(rng, OUTER_KEY_LEN),
    };

    let body = STANDARD.encode(cipher::encrypt(&params.k1, iv(rng), plaintext));
    let body = body.as_bytes();
    let s_len = match params.s_len {
        Some(s_len) if s_len == 0 || s_len > body.len() => {
            return Err(EncodeError::SLenOutOfRange {
                s_len,
                body_len: body.len(),
            });
        }
        Some(s_len) => s_len,
        None => rng.random_range(1..=body.len()),
    };

    let info = SdkKeyInfo {
        k1: params.k1.clone(),
        pre_len: int32("pre_len", params.pre_len)?,
        end_len: int32("end_len", params.end_len)?,
        s_len: int32("s_len", s_len)?,
    };
    // Each term is below 2^30 now, so the sum cannot overflow; the library compares `2 * s_len` and
    // `45 + pre_len` in 32-bit arithmetic, so the whole message must stay below that too.
    let total = BODY_OFFSET + params.pre_len + body.len() + s_len + params.end_len;
    int32("message length", total)?;

    let (body_head, body_tail) = body.split_at(s_len);
    let mut msg = Vec::with_capacity(total);
    msg.extend_from_slice(&head);
    msg.extend_from_slice(&outer_key);
    msg.extend(b64_chars(rng, params.pre_len));
    msg.extend_from_slice(body_head);
    msg.extend(b64_chars(rng, s_len));
    msg.extend_from_slice(body_tail);
    msg.extend(b64_chars(rng, params.end_len));

    let outer_key: [u8; OUTER_KEY_LEN] = outer_key.try_into().unwrap_or([b'A'; OUTER_KEY_LEN]);
    Ok(EncodedMessage {
        encrypt_key: encode_encrypt_key(&outer_key, &info.encode_to_vec(), rng),
        encrypt_msg: String::from_utf8_lossy(&msg).into_owned(),
    })
}

/// An `encrypt_key` wrapping arbitrary key-info bytes (valid or not) under `outer_key`:
/// `base64(IV || AES-256-CBC_outer_key(PKCS7(key_info)))`. For negative tests and fuzzing; a valid
/// key info is [`SdkKeyInfo::encode_to_vec`].
pub fn encode_encrypt_key<R: RngCore + ?Sized>(
    outer_key: &[u8; OUTER_KEY_LEN],
    key_info: &[u8],
    rng: &mut R,
) -> String {
    STANDARD.encode(cipher::encrypt(outer_key, iv(rng), key_info))
}

fn checked_ascii(bytes: Vec<u8>, field: &'static str) -> Result<Vec<u8>, EncodeError> {
    if bytes.iter().all(|&b| b != 0 && b.is_ascii()) {
        Ok(bytes)
    } else {
        Err(EncodeError::NotAscii { field })
    }
}

fn int32(field: &'static str, value: usize) -> Result<i32, EncodeError> {
    i32::try_from(value)
        .ok()
        .filter(|v| v.checked_mul(2).is_some() && v.checked_add(BODY_OFFSET as i32).is_some())
        .ok_or(EncodeError::TooLarge { field, value })
}
