//! Shared fixtures: the reference vectors and a deterministic RNG.

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Deserialize;

/// One entry of `decrypt-vectors.json` (copied from the shared reference into `tests/data`).
#[derive(Debug, Deserialize)]
pub struct Vector {
    pub name: String,
    pub encrypt_key: String,
    pub encrypt_msg: String,
    pub plaintext: String,
    pub plaintext_len: usize,
    pub plaintext_sha256: String,
    pub real_lib_rc: i32,
    pub inner: Inner,
}

/// The inner fields the reference recorded for a vector.
#[derive(Debug, Deserialize)]
pub struct Inner {
    pub outer_aes_key_msg_13_45: String,
    pub sdk_key_info_hex: String,
    pub k1: String,
    pub pre_len: i32,
    pub end_len: i32,
    pub s_len: i32,
}

pub fn vectors() -> Vec<Vector> {
    serde_json::from_str(include_str!("../data/decrypt-vectors.json")).expect("vectors parse")
}

/// The first reference vector (ASCII text), the base of most mutation tests.
pub fn ascii_vector() -> Vector {
    vectors()
        .into_iter()
        .find(|v| v.name == "ascii_text")
        .expect("ascii_text vector")
}

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}
