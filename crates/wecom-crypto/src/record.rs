//! The whole per-record pipeline: `encrypt_random_key` → RSA with the right key → DecryptData.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use wecom_wire::SdkCode;

use crate::decrypt::{DecryptDataError, decrypt_data};
use crate::keys::{KeyRing, PublicKey, RsaError};

/// Why one archive record could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// No private key for the record's `publickey_ver` (code 10007).
    #[error("10007: no private key for publickey_ver {version}")]
    NoKey {
        /// The record's `publickey_ver`.
        version: u32,
    },
    /// `encrypt_random_key` is not standard base64 (code 10006).
    #[error("10006: encrypt_random_key is not valid base64")]
    RandomKeyBase64,
    /// RSA decryption of `encrypt_random_key` failed (code 10006).
    #[error(
        "10006: rsa decryption of encrypt_random_key with the key for publickey_ver {version} failed (wrong key or wrong key version)"
    )]
    Rsa {
        /// The record's `publickey_ver`.
        version: u32,
    },
    /// DecryptData refused the message.
    #[error("{0}")]
    DecryptData(#[from] DecryptDataError),
}

impl RecordError {
    /// The SDK code the vendor pipeline reports for this failure.
    pub fn code(&self) -> SdkCode {
        match self {
            RecordError::NoKey { .. } => SdkCode::NoPrivateKey,
            RecordError::RandomKeyBase64 | RecordError::Rsa { .. } => SdkCode::Decrypt,
            RecordError::DecryptData(e) => e.code,
        }
    }

    /// The stage that failed: `"no_key"`, `"rsa"` or `"decrypt_data"`.
    pub fn stage(&self) -> &'static str {
        match self {
            RecordError::NoKey { .. } => "no_key",
            RecordError::RandomKeyBase64 | RecordError::Rsa { .. } => "rsa",
            RecordError::DecryptData(_) => "decrypt_data",
        }
    }
}

/// `encrypt_random_key` for the emulator: standard base64 of RSA-PKCS#1-v1.5(public, encrypt_key).
pub fn encrypt_random_key(public: &PublicKey, encrypt_key: &str) -> Result<String, RsaError> {
    Ok(STANDARD.encode(public.encrypt_pkcs1(encrypt_key.as_bytes())?))
}

/// Decrypts one archive record: standard base64 of `encrypt_random_key` → RSA PKCS#1 v1.5 with the
/// private key for `publickey_ver` → [`decrypt_data`] with `encrypt_chat_msg`.
///
/// A wrong key usually fails at the RSA step; with a backend that does "implicit rejection" it yields
/// a wrong `encrypt_key` instead and DecryptData fails with 10008. Both mean wrong key or version.
pub fn decrypt_record(
    ring: &KeyRing,
    publickey_ver: u32,
    encrypt_random_key: &str,
    encrypt_chat_msg: &str,
) -> Result<Vec<u8>, RecordError> {
    let key = ring.get(publickey_ver).ok_or(RecordError::NoKey {
        version: publickey_ver,
    })?;
    let ciphertext = STANDARD
        .decode(encrypt_random_key.trim())
        .map_err(|_| RecordError::RandomKeyBase64)?;
    let encrypt_key = key
        .decrypt_pkcs1(&ciphertext)
        .map_err(|_| RecordError::Rsa {
            version: publickey_ver,
        })?;
    Ok(decrypt_data(&encrypt_key, encrypt_chat_msg.as_bytes())?)
}
