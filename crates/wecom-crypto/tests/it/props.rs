//! Properties: encodings round-trip for any parameters, and no input makes DecryptData panic.

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use wecom_crypto::{
    EncodeParams, SdkFileId, SdkKeyInfo, body_len, decrypt_data, decrypt_key_info,
    encode_encrypt_key, encode_message, encode_message_with, lenient_b64_decode,
};

use crate::support::vectors;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// Every failure carries one of the four codes DecryptData can return.
fn assert_reachable_code(key: &[u8], msg: &[u8]) -> Result<(), TestCaseError> {
    if let Err(e) = decrypt_data(key, msg) {
        prop_assert!(
            matches!(e.code.code(), 10000 | 10005 | 10006 | 10008),
            "{e}"
        );
        prop_assert!(!e.to_string().is_empty());
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, u8),
    Remove(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1..64usize).prop_map(|(i, n)| Mutation::Remove(i, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match *m {
        Mutation::Truncate(i) => bytes.truncate(i % (len + 1)),
        Mutation::Flip(i, x) if len > 0 => bytes[i % len] ^= x,
        Mutation::Flip(..) => {}
        Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
        Mutation::Remove(i, n) if len > 0 => {
            let start = i % len;
            bytes.drain(start..(start + n).min(len));
        }
        Mutation::Remove(..) => {}
    }
}

/// The vendor base64 rules, written independently of the crate: a bit-string model.
fn reference_b64(input: &[u8]) -> Option<Vec<u8>> {
    let groups = input.len() / 4;
    let equals = input.iter().rev().take_while(|&&b| b == b'=').count() as i64;
    let out_len = 3 * groups as i64 - equals;
    if out_len < 0 || input[..groups * 4].iter().any(|&b| b >= 0x80) {
        return None;
    }
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = Vec::new();
    for &b in &input[..groups * 4] {
        let v = alphabet.iter().position(|&a| a == b).unwrap_or(0);
        for k in (0..6).rev() {
            bits.push((v >> k) & 1 == 1);
        }
    }
    let bytes: Vec<u8> = bits
        .chunks(8)
        .map(|c| c.iter().fold(0u8, |acc, &bit| (acc << 1) | u8::from(bit)))
        .collect();
    Some(bytes[..out_len as usize].to_vec())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn encodings_round_trip_for_any_parameters(
        plaintext in proptest::collection::vec(any::<u8>(), 0..5000),
        k1 in proptest::collection::vec(any::<u8>(), 0..48),
        pre_len in 0..600usize,
        end_len in 0..600usize,
        s_frac in 0.0..=1.0f64,
        seed in any::<u64>(),
    ) {
        let body = body_len(plaintext.len());
        let s_len = ((body as f64 * s_frac) as usize).clamp(1, body);
        let params = EncodeParams { k1: k1.clone(), pre_len, s_len: Some(s_len), end_len, head: None, outer_key: None };
        let mut rng = StdRng::seed_from_u64(seed);
        let enc = encode_message_with(&plaintext, &params, &mut rng).expect("valid params");
        prop_assert_eq!(
            decrypt_data(enc.encrypt_key.as_bytes(), enc.encrypt_msg.as_bytes()).expect("decrypts"),
            plaintext
        );
        let info = decrypt_key_info(enc.encrypt_key.as_bytes(), enc.encrypt_msg.as_bytes()).expect("key info");
        prop_assert_eq!(info, SdkKeyInfo { k1, pre_len: pre_len as i32, end_len: end_len as i32, s_len: s_len as i32 });
    }

    #[test]
    fn default_encodings_round_trip(
        plaintext in proptest::collection::vec(any::<u8>(), 0..5000),
        seed in any::<u64>(),
    ) {
        let enc = encode_message(&plaintext, &mut StdRng::seed_from_u64(seed));
        prop_assert_eq!(enc.encrypt_key.len(), 88);
        prop_assert!(enc.encrypt_msg.is_ascii());
        prop_assert_eq!(decrypt_data(enc.encrypt_key.as_bytes(), enc.encrypt_msg.as_bytes()).expect("decrypts"), plaintext);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        key in proptest::collection::vec(any::<u8>(), 0..200),
        msg in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        assert_reachable_code(&key, &msg)?;
    }

    #[test]
    fn mutated_vectors_never_panic(
        which in 0..10usize,
        key_mutations in proptest::collection::vec(mutation(), 0..4),
        msg_mutations in proptest::collection::vec(mutation(), 0..4),
    ) {
        let v = &vectors()[which];
        let (mut key, mut msg) = (v.encrypt_key.clone().into_bytes(), v.encrypt_msg.clone().into_bytes());
        for m in &key_mutations { apply(&mut key, m); }
        for m in &msg_mutations { apply(&mut msg, m); }
        assert_reachable_code(&key, &msg)?;
        if key_mutations.is_empty() && msg_mutations.is_empty() {
            prop_assert_eq!(decrypt_data(&key, &msg).expect("unmutated"), v.plaintext.as_bytes());
        }
    }

    /// Arbitrary key-info values (negative, huge, boundary) behind a valid outer key reach every
    /// later step; none may panic.
    #[test]
    fn arbitrary_key_info_never_panics(
        k1 in proptest::collection::vec(any::<u8>(), 0..40),
        pre_len in prop_oneof![any::<i32>(), -50..700i32],
        end_len in prop_oneof![any::<i32>(), -5..700i32],
        s_len in prop_oneof![any::<i32>(), -5..700i32],
        msg_tail in proptest::collection::vec(prop_oneof![Just(b'='), Just(b'A'), any::<u8>()], 0..700),
        seed in any::<u64>(),
    ) {
        let outer_key = *b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef";
        let info = SdkKeyInfo { k1, pre_len, end_len, s_len };
        let key = encode_encrypt_key(&outer_key, &info.encode_to_vec(), &mut StdRng::seed_from_u64(seed));
        let mut msg = b"0123456789abc".to_vec();
        msg.extend_from_slice(&outer_key);
        msg.extend_from_slice(&msg_tail);
        prop_assert_eq!(decrypt_key_info(key.as_bytes(), &msg).expect("key info"), info);
        assert_reachable_code(key.as_bytes(), &msg)?;
    }

    /// Arbitrary protobuf bytes behind a valid outer key: the parser never panics.
    #[test]
    fn arbitrary_key_info_bytes_never_panic(
        info in proptest::collection::vec(any::<u8>(), 0..80),
        msg_tail in proptest::collection::vec(any::<u8>(), 0..200),
        seed in any::<u64>(),
    ) {
        let outer_key = *b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef";
        let key = encode_encrypt_key(&outer_key, &info, &mut StdRng::seed_from_u64(seed));
        let mut msg = b"0123456789abc".to_vec();
        msg.extend_from_slice(&outer_key);
        msg.extend_from_slice(&msg_tail);
        assert_reachable_code(key.as_bytes(), &msg)?;
    }

    #[test]
    fn lenient_base64_matches_an_independent_model(
        input in proptest::collection::vec(prop_oneof![
            Just(b'='), Just(b'A'), Just(b'/'), Just(b'\n'), 0x20..0x7fu8, any::<u8>()
        ], 0..64),
    ) {
        prop_assert_eq!(lenient_b64_decode(&input), reference_b64(&input));
    }

    #[test]
    fn sdkfileid_round_trips(fileid in ".*", authkey in ".*", aeskey in "[0-9a-f]{0,40}") {
        let id = SdkFileId { fileid, authkey, aeskey };
        prop_assert_eq!(SdkFileId::decode(&id.encode()).expect("decodes"), id);
    }

    #[test]
    fn sdkfileid_decode_never_panics(text in ".*") {
        let _ = SdkFileId::decode(&text);
    }
}
