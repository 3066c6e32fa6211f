//! `AES(key, blob)` of decrypt-data.md: AES-256-CBC with the IV in front, PKCS#7 with OpenSSL EVP rules.

use aes::Aes256;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};

const BLOCK: usize = 16;

/// The key as the vendor library uses it: truncated or zero-padded to 32 bytes.
pub(crate) fn key32(key: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let n = key.len().min(32);
    if let (Some(dst), Some(src)) = (out.get_mut(..n), key.get(..n)) {
        dst.copy_from_slice(src);
    }
    out
}

/// Decrypts `blob = IV || ciphertext` and strips PKCS#7 padding.
///
/// Fails like OpenSSL's EVP decrypt: no full IV, a ciphertext that is empty or not a multiple of 16
/// bytes, or padding that is not `n` bytes of value `n` with `1 <= n <= 16`.
pub(crate) fn decrypt(key: &[u8], mut blob: Vec<u8>) -> Option<Vec<u8>> {
    let iv: [u8; BLOCK] = blob.get(..BLOCK)?.try_into().ok()?;
    let body_len = blob.len() - BLOCK;
    if body_len == 0 || !body_len.is_multiple_of(BLOCK) {
        return None;
    }
    let cipher = cbc::Decryptor::<Aes256>::new(&key32(key).into(), &iv.into());
    let plain_len = cipher
        .decrypt_padded_mut::<Pkcs7>(blob.get_mut(BLOCK..)?)
        .ok()?
        .len();
    // Drop the IV in place: the plaintext sits at [16 .. 16 + plain_len].
    blob.truncate(BLOCK + plain_len);
    blob.drain(..BLOCK);
    Some(blob)
}

/// Encrypts `plaintext` with a fresh `iv`; returns `IV || AES-256-CBC(PKCS7(plaintext))`.
pub(crate) fn encrypt(key: &[u8], iv: [u8; BLOCK], plaintext: &[u8]) -> Vec<u8> {
    let cipher = cbc::Encryptor::<Aes256>::new(&key32(key).into(), &iv.into());
    let mut out = Vec::with_capacity(BLOCK + plaintext.len() + BLOCK);
    out.extend_from_slice(&iv);
    out.extend_from_slice(&cipher.encrypt_padded_vec_mut::<Pkcs7>(plaintext));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_what_openssl_rejects() {
        let iv = [7u8; 16];
        for len in [0usize, 1, 15, 16, 17, 100] {
            let plain = vec![0xa5u8; len];
            let blob = encrypt(b"short key", iv, &plain);
            assert_eq!(blob.len(), 16 + (len / 16 + 1) * 16);
            assert_eq!(decrypt(b"short key", blob.clone()), Some(plain));
            // wrong length
            assert_eq!(decrypt(b"short key", blob[..blob.len() - 1].to_vec()), None);
        }
        // IV only, or less
        assert_eq!(decrypt(b"k", vec![0; 16]), None);
        assert_eq!(decrypt(b"k", vec![0; 3]), None);
        assert_eq!(decrypt(b"k", Vec::new()), None);
    }

    #[test]
    fn keys_are_zero_padded_or_truncated() {
        let mut padded = [0u8; 32];
        padded[..3].copy_from_slice(b"abc");
        assert_eq!(key32(b"abc"), padded);
        let long: Vec<u8> = (0..40).collect();
        assert_eq!(key32(&long)[..], long[..32]);
    }
}
