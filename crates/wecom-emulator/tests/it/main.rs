//! The emulator's integration tests, one binary: corpus properties, the proxy that serves the vendor
//! library, and the real server on 127.0.0.1:0 driven by a plain HTTP client, its records decrypted
//! with the private keys and its media objects with their AES keys.

mod corpus;
mod directory;
mod media;
mod proxy;
mod server;
mod showcase;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use wecom_crypto::{KeyRing, PrivateKey};
use wecom_emulator::{Corpus, CorpusSpec, EmulatorConfig};

/// Two RSA-2048 key pairs (versions 1 and 2), generated once per test run.
pub fn keys() -> &'static (Arc<PrivateKey>, Arc<PrivateKey>) {
    static KEYS: OnceLock<(Arc<PrivateKey>, Arc<PrivateKey>)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let one = PrivateKey::generate_rsa2048().expect("generate key 1");
        let two = PrivateKey::generate_rsa2048().expect("generate key 2");
        (Arc::new(one), Arc::new(two))
    })
}

/// Private keys by version, as a client would hold them.
pub fn ring() -> KeyRing {
    let (one, two) = keys();
    let mut ring = KeyRing::new();
    ring.insert_shared(1, one.clone());
    ring.insert_shared(2, two.clone());
    ring
}

/// An emulator config over `messages` records with both public keys registered.
pub fn config(seed: u64, messages: usize) -> EmulatorConfig {
    let (one, two) = keys();
    let public_keys = BTreeMap::from([(1, one.public_key()), (2, two.public_key())]);
    EmulatorConfig::new(CorpusSpec::new(seed, messages), public_keys)
}

/// The 5,000-record corpus most corpus tests inspect, generated once.
pub fn corpus_5000() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| wecom_emulator::generate(&CorpusSpec::new(20231106, 5000)))
}
