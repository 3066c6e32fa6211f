//! Fuzz target: DecryptData must never panic, and must only answer the codes the vendor library can.
//!
//! Input: `[mode][k_len lo][k_len hi][rest]`. Mode even: `rest` is split into `encrypt_key` and
//! `encrypt_msg` as is (the fuzzer rarely gets past the outer AES this way). Mode odd: the first
//! `k_len` bytes of `rest` are a raw key-info protobuf, sealed under a valid outer key so every later
//! step (protobuf, bounds, filler cuts, body base64 and AES) is reached; the remainder is the message
//! after the outer key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;
use wecom_crypto::{decrypt_data, encode_encrypt_key};

const OUTER_KEY: [u8; 32] = *b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef";

fuzz_target!(|data: &[u8]| {
    let [mode, lo, hi, rest @ ..] = data else {
        return;
    };
    let split = usize::from(u16::from_le_bytes([*lo, *hi])) % (rest.len() + 1);
    let (first, second) = rest.split_at(split);
    let result = if mode % 2 == 0 {
        decrypt_data(first, second)
    } else {
        let key = encode_encrypt_key(&OUTER_KEY, first, &mut StdRng::seed_from_u64(0));
        let mut msg = b"0123456789abc".to_vec();
        msg.extend_from_slice(&OUTER_KEY);
        msg.extend_from_slice(second);
        decrypt_data(key.as_bytes(), &msg)
    };
    if let Err(e) = result {
        assert!(
            matches!(e.code.code(), 10000 | 10005 | 10006 | 10008),
            "{e}"
        );
    }
});
