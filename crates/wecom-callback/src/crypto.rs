//! The message crypto and signature of WeCom callbacks.

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use subtle::ConstantTimeEq;

/// WeCom pads callback plaintexts to a multiple of 32 bytes (not AES's 16).
const PAD_BLOCK: usize = 32;

/// Why a callback was rejected. Messages never include the token or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("EncodingAESKey must be 43 characters of [A-Za-z0-9] decoding to 32 bytes")]
    InvalidAesKey,
    #[error("msg_signature does not match")]
    BadSignature,
    #[error("encrypted text is not valid base64")]
    Base64,
    #[error("encrypted text has an invalid length or padding")]
    Padding,
    #[error("decrypted message is malformed: {0}")]
    Malformed(&'static str),
    #[error("receive id does not match this corp")]
    WrongReceiver,
}

/// The callback secrets of one corp: Token, EncodingAESKey, and the receive id (the corp id).
#[derive(Clone)]
pub struct CallbackCrypto {
    token: String,
    key: [u8; 32],
    receive_id: String,
}

impl std::fmt::Debug for CallbackCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackCrypto")
            .field("receive_id", &self.receive_id)
            .finish_non_exhaustive()
    }
}

impl CallbackCrypto {
    pub fn new(
        token: &str,
        encoding_aes_key: &str,
        receive_id: &str,
    ) -> Result<CallbackCrypto, CallbackError> {
        if encoding_aes_key.len() != 43
            || !encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(CallbackError::InvalidAesKey);
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(format!("{encoding_aes_key}="))
            .or_else(|_| {
                // The 43rd character may carry non-zero trailing bits; WeCom's reference code ignores them.
                base64::engine::GeneralPurpose::new(
                    &base64::alphabet::STANDARD,
                    base64::engine::GeneralPurposeConfig::new()
                        .with_decode_allow_trailing_bits(true),
                )
                .decode(format!("{encoding_aes_key}="))
            })
            .map_err(|_| CallbackError::InvalidAesKey)?;
        let key: [u8; 32] = raw.try_into().map_err(|_| CallbackError::InvalidAesKey)?;
        Ok(CallbackCrypto {
            token: token.to_owned(),
            key,
            receive_id: receive_id.to_owned(),
        })
    }

    /// `hex(sha1(concat(sort([token, timestamp, nonce, encrypted]))))`.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypted: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypted];
        parts.sort_unstable();
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY);
        for p in parts {
            ctx.update(p.as_bytes());
        }
        ctx.finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Checks `msg_signature` in constant time.
    pub fn verify(
        &self,
        signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypted: &str,
    ) -> Result<(), CallbackError> {
        let expected = self.signature(timestamp, nonce, encrypted);
        let given = signature.trim().to_ascii_lowercase();
        if expected.as_bytes().ct_eq(given.as_bytes()).into() {
            Ok(())
        } else {
            Err(CallbackError::BadSignature)
        }
    }

    /// Decrypts `encrypted` and checks the trailing receive id; returns the message bytes.
    pub fn decrypt(&self, encrypted: &str) -> Result<Vec<u8>, CallbackError> {
        let mut buf = STANDARD
            .decode(encrypted.trim())
            .map_err(|_| CallbackError::Base64)?;
        if buf.is_empty() || buf.len() % 16 != 0 {
            return Err(CallbackError::Padding);
        }
        let iv: [u8; 16] = self.key[..16]
            .try_into()
            .map_err(|_| CallbackError::Padding)?;
        let plain = cbc::Decryptor::<Aes256>::new(&self.key.into(), &iv.into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| CallbackError::Padding)?;
        let pad = usize::from(*plain.last().ok_or(CallbackError::Padding)?);
        if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
            return Err(CallbackError::Padding);
        }
        let body = &plain[..plain.len() - pad];
        let len_bytes: [u8; 4] = body
            .get(16..20)
            .and_then(|s| s.try_into().ok())
            .ok_or(CallbackError::Malformed("shorter than its header"))?;
        let msg_len = u32::from_be_bytes(len_bytes) as usize;
        let msg = body
            .get(20..20 + msg_len)
            .ok_or(CallbackError::Malformed("length field exceeds the message"))?;
        let receiver = &body[20 + msg_len..];
        if receiver != self.receive_id.as_bytes() {
            return Err(CallbackError::WrongReceiver);
        }
        Ok(msg.to_vec())
    }

    /// Encrypts `msg` for this receiver with the given 16-byte random prefix (what WeCom sends).
    pub fn encrypt(&self, msg: &[u8], random: [u8; 16]) -> String {
        let mut plain = Vec::with_capacity(msg.len() + self.receive_id.len() + 20 + PAD_BLOCK);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg);
        plain.extend_from_slice(self.receive_id.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let iv: [u8; 16] = self.key[..16].try_into().unwrap_or([0; 16]);
        let len = plain.len();
        let ct = cbc::Encryptor::<Aes256>::new(&self.key.into(), &iv.into())
            .encrypt_padded_mut::<NoPadding>(&mut plain, len)
            .map(|c| c.to_vec())
            .unwrap_or_default();
        STANDARD.encode(ct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "QDG6eK";
    const AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    const RECEIVER: &str = "wx5823bf96d3bd56c7";
    const ECHOSTR: &str =
        "sKqRbbiSUnDhFHOvPjtUMWzf2R8PrpMiTTPaicBgqZlYW/WsF6SiFd2z9CriX2YpWYzF1yrNNQ0SomM3ovdnfA==";
    const EVENT: &str = "sKqRbbiSUnDhFHOvPjtUMWdfGnSuoKs7/AY9/MxklA7noFDFRhSM9pc04f0Nte9IL+V3WiYdwhlrYbjjScjCck+Z+NjtbSBcLCwQoXNzHjZqiYhufIwlj5nc293+9oG1w1KhaWCgmpSQ0b8B/yxXrtR//deQp8nwv/qgCSO0sx0Kom+VUVN3REZLHm+kfPejkSjFlCOTXvAp3KwYvm8MfLnbdivxaOPaV8EmtXY6hmZadCfE3UZ/aieXw/ay4cZc77v0OwxqpuTrPBWQbRg0Yrv3hMrQTWG2V+wZDc4k8cGxCQ6+bgkBBEFFYS4ydsJdsMMRKP/LWGAyyzkTo8mbLxG0gIrLfNhnrA29o5c8wJchuQetwa3Hvty6E9NoWod6";
    const EVENT_PLAIN: &str = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1629101687</CreateTime><MsgType><![CDATA[event]]></MsgType><AgentID>2000004</AgentID><Event><![CDATA[msgaudit_notify]]></Event></xml>";

    fn crypto() -> CallbackCrypto {
        CallbackCrypto::new(TOKEN, AES_KEY, RECEIVER).expect("reference key")
    }

    #[test]
    fn reference_vector_url_verification() {
        let c = crypto();
        assert_eq!(
            c.signature("1629101687", "1372623149", ECHOSTR),
            "e02d2debc9823db03775ae92798ca50a0a18deaf"
        );
        c.verify(
            "e02d2debc9823db03775ae92798ca50a0a18deaf",
            "1629101687",
            "1372623149",
            ECHOSTR,
        )
        .expect("valid");
        assert_eq!(c.decrypt(ECHOSTR).expect("decrypt"), b"1616140317555161061");
    }

    #[test]
    fn reference_vector_event() {
        let c = crypto();
        c.verify(
            "f9425f51e408a36b37d3daf1c9957be2044b97b8",
            "1629101687",
            "1372623149",
            EVENT,
        )
        .expect("valid");
        assert_eq!(c.decrypt(EVENT).expect("decrypt"), EVENT_PLAIN.as_bytes());
        // Our encoder reproduces the reference ciphertext from its fixed random prefix.
        assert_eq!(
            c.encrypt(EVENT_PLAIN.as_bytes(), *b"0123456789abcdef"),
            EVENT
        );
        assert_eq!(
            c.encrypt(b"1616140317555161061", *b"0123456789abcdef"),
            ECHOSTR
        );
    }

    #[test]
    fn tampering_is_rejected() {
        let c = crypto();
        assert_eq!(
            c.verify(
                "e02d2debc9823db03775ae92798ca50a0a18deaf",
                "1629101688",
                "1372623149",
                ECHOSTR
            ),
            Err(CallbackError::BadSignature)
        );
        assert_eq!(
            c.verify("", "1629101687", "1372623149", ECHOSTR),
            Err(CallbackError::BadSignature)
        );
        let other = CallbackCrypto::new(TOKEN, AES_KEY, "wwsomeoneelse").expect("key");
        assert_eq!(other.decrypt(ECHOSTR), Err(CallbackError::WrongReceiver));
        assert_eq!(c.decrypt("not base64!"), Err(CallbackError::Base64));
        assert_eq!(c.decrypt("AAAA"), Err(CallbackError::Padding));
        assert!(CallbackCrypto::new(TOKEN, "short", RECEIVER).is_err());
        assert!(CallbackCrypto::new(TOKEN, &"-".repeat(43), RECEIVER).is_err());
    }

    proptest::proptest! {
        #[test]
        fn round_trips_and_never_panics(msg in proptest::collection::vec(proptest::num::u8::ANY, 0..600), random in proptest::array::uniform16(proptest::num::u8::ANY), junk in "\\PC{0,200}") {
            let c = crypto();
            let enc = c.encrypt(&msg, random);
            proptest::prop_assert_eq!(c.decrypt(&enc).expect("round trip"), msg);
            let _ = c.decrypt(&junk);
        }
    }
}
