//! Identifier shapes: msgids in both observed styles, switch ids, call ids and media identities.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;

use crate::media::{MediaFormat, MediaKind, MediaSpec, Sample};

/// A msgid in one of the two styles seen in real archives: `15775510700152506326_1603875615`
/// (a u64 and the send time in seconds, sometimes ms) or `CAQQluDa4QUY0On2rYSAgAMgzPrShAE=`
/// (base64 of a small protobuf; 23 bytes give 32 characters with one `=`).
pub(crate) fn msgid(rng: &mut ChaCha8Rng, msgtime_ms: i64) -> String {
    if rng.random_bool(0.55) {
        let id: u64 = rng.random();
        let time = if rng.random_bool(0.8) {
            msgtime_ms / 1000
        } else {
            msgtime_ms
        };
        format!("{id}_{time}")
    } else {
        let mut bytes = [0u8; 23];
        bytes[..3].copy_from_slice(&[0x08, 0x04, 0x10]);
        rng.fill_bytes(&mut bytes[3..]);
        STANDARD.encode(bytes)
    }
}

/// `switch` records carry a bare decimal id such as `125289002219525886280`.
pub(crate) fn switch_msgid(rng: &mut ChaCha8Rng) -> String {
    format!("{}{:02}", rng.random::<u64>(), rng.random_range(0..100))
}

/// `voiceid` / `voipid`: `gr` and 32 hex characters.
pub(crate) fn call_id(rng: &mut ChaCha8Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    format!("gr{}", hex::encode(bytes))
}

/// The three parts of an sdkfileid, shaped like the official examples: a long hex `fileid`, an
/// `authkey` that is base64 of `47_<16 digits>_<10 digits>_<seconds>`, a 32-hex-char `aeskey`.
pub(crate) fn media_identity(rng: &mut ChaCha8Rng, msgtime_ms: i64) -> (String, String, String) {
    let mut body = vec![0u8; rng.random_range(40..60)];
    rng.fill_bytes(&mut body);
    let fileid = format!("3069020102046230600201000204{}", hex::encode(body));
    let authkey = STANDARD.encode(format!(
        "47_{:016}_{:010}_{}",
        rng.random_range(0..10_000_000_000_000_000u64),
        rng.random_range(0..10_000_000_000u64),
        msgtime_ms / 1000
    ));
    let mut key = [0u8; 16];
    rng.fill_bytes(&mut key);
    (fileid, authkey, hex::encode(key))
}

/// A media object named by `identity` (from [`media_identity`]), its md5 not stated yet.
pub(crate) fn media_spec(
    (fileid, authkey, aeskey): (String, String, String),
    kind: MediaKind,
    format: MediaFormat,
    size: u64,
    content_seed: u64,
) -> MediaSpec {
    MediaSpec {
        sdkfileid: sdkfileid(&fileid, &authkey, &aeskey),
        fileid,
        authkey,
        aeskey,
        kind,
        format,
        size,
        md5: String::new(),
        content_seed,
        sample: None,
    }
}

/// A media object named by `identity` whose bytes are the real `sample`, its md5 not stated yet.
pub(crate) fn sample_spec(
    identity: (String, String, String),
    kind: MediaKind,
    sample: Sample,
    content_seed: u64,
) -> MediaSpec {
    MediaSpec {
        sample: Some(sample),
        ..media_spec(identity, kind, sample.format(), sample.size(), content_seed)
    }
}

pub(crate) fn sdkfileid(fileid: &str, authkey: &str, aeskey: &str) -> String {
    wecom_crypto::SdkFileId {
        fileid: fileid.to_owned(),
        authkey: authkey.to_owned(),
        aeskey: aeskey.to_owned(),
    }
    .encode()
}
