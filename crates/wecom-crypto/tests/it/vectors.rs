//! The 10 reference vectors the real library decrypts byte for byte.

use aws_lc_rs::digest::{SHA256, digest};
use wecom_crypto::{SdkKeyInfo, decrypt_data, decrypt_key_info};

use crate::support::vectors;

#[test]
fn all_reference_vectors_decrypt_byte_for_byte() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 10);
    for v in &vectors {
        assert_eq!(v.real_lib_rc, 0, "{}", v.name);
        let plain = decrypt_data(v.encrypt_key.as_bytes(), v.encrypt_msg.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(plain, v.plaintext.as_bytes(), "{}", v.name);
        assert_eq!(plain.len(), v.plaintext_len, "{}", v.name);
        assert_eq!(
            hex::encode(digest(&SHA256, &plain)),
            v.plaintext_sha256,
            "{}",
            v.name
        );
    }
}

#[test]
fn inner_fields_match_what_the_reference_recorded() {
    for v in &vectors() {
        let info = decrypt_key_info(v.encrypt_key.as_bytes(), v.encrypt_msg.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let expected = SdkKeyInfo {
            k1: v.inner.k1.as_bytes().to_vec(),
            pre_len: v.inner.pre_len,
            end_len: v.inner.end_len,
            s_len: v.inner.s_len,
        };
        assert_eq!(info, expected, "{}", v.name);
        assert_eq!(
            &v.encrypt_msg[13..45],
            v.inner.outer_aes_key_msg_13_45,
            "{}",
            v.name
        );
        // Our encoding of the key info is the service's, byte for byte.
        let recorded = hex::decode(&v.inner.sdk_key_info_hex).expect("hex");
        assert_eq!(
            SdkKeyInfo::parse(&recorded).as_ref(),
            Some(&expected),
            "{}",
            v.name
        );
        assert_eq!(
            hex::encode(expected.encode_to_vec()),
            v.inner.sdk_key_info_hex,
            "{}",
            v.name
        );
    }
}
