//! Measures how long `Emulator::new` takes (corpus generation + encryption of every record):
//! `cargo run --release -p wecom-emulator --example prepare_time -- 5000 100000`.

use std::collections::BTreeMap;
use std::time::Instant;

use wecom_crypto::PrivateKey;
use wecom_emulator::{CorpusSpec, Emulator, EmulatorConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = PrivateKey::generate_rsa2048()?;
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    for messages in if sizes.is_empty() { vec![5000] } else { sizes } {
        let spec = CorpusSpec::new(1, messages);
        let started = Instant::now();
        let corpus = wecom_emulator::generate(&spec);
        let generated = started.elapsed();
        let media: usize = corpus.records.iter().map(|r| r.media.len()).sum();
        let bytes: usize = corpus.records.iter().map(|r| r.plaintext.len()).sum();
        drop(corpus);

        let config = EmulatorConfig::new(spec, BTreeMap::from([(1, key.public_key())]));
        let started = Instant::now();
        let emulator = Emulator::new(config)?;
        let total = started.elapsed();
        println!(
            "{messages} records ({media} media, {} KiB of plaintext): generate {:.2?}, Emulator::new {:.2?} ({} threads)",
            bytes / 1024,
            generated,
            total,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        );
        assert_eq!(emulator.len(), messages);
    }
    Ok(())
}
