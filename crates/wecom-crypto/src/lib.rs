//! WeCom message decryption in safe Rust, without the vendor library: DecryptData exactly, its inverse
//! for the emulator, RSA keys and the per-record pipeline, and `sdkfileid`. No I/O: callers pass PEM
//! text and bytes.
//!
//! The algorithm and every code are those of `decrypt-data.md`; where the vendor library would abort
//! the process, an error says so (`real_library_crashes`) instead of panicking.

mod b64;
mod cipher;
mod decrypt;
mod encode;
mod fileid;
mod keys;
mod pem;
mod proto;
mod record;

pub use b64::lenient_b64_decode;
pub use decrypt::{
    BODY_OFFSET, DecryptDataError, DecryptStep, OUTER_KEY_LEN, OUTER_KEY_OFFSET, SdkKeyInfo,
    decrypt_data, decrypt_data_nullable, decrypt_key_info,
};
pub use encode::{
    EncodeError, EncodeParams, EncodedMessage, HEAD_LEN, body_len, encode_encrypt_key,
    encode_message, encode_message_with,
};
pub use fileid::{SdkFileId, SdkFileIdError};
pub use keys::{KeyError, KeyRing, PrivateKey, PublicKey, RsaError, rsa_private_ops_per_second};
pub use record::{RecordError, decrypt_record, encrypt_random_key};
