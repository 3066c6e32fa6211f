//! Prints how long parsing and understanding a corpus record takes (per record, one core).

use std::time::Instant;

fn main() {
    let corpus = wecom_emulator::corpus::generate(&wecom_emulator::CorpusSpec::new(7, 20_000));
    let plain: Vec<&[u8]> = corpus
        .records
        .iter()
        .map(|r| r.plaintext.as_bytes())
        .collect();
    let t = Instant::now();
    let envelopes: Vec<_> = plain
        .iter()
        .filter_map(|p| wecom_model::parse_envelope(p).ok())
        .collect();
    let parse = t.elapsed();
    let t = Instant::now();
    let mut n = 0usize;
    for e in &envelopes {
        n += wecom_model::understand(e).text.len();
    }
    let understand = t.elapsed();
    println!(
        "{} records: parse_envelope {:.1} µs/record, understand {:.1} µs/record ({n})",
        envelopes.len(),
        parse.as_secs_f64() * 1e6 / envelopes.len() as f64,
        understand.as_secs_f64() * 1e6 / envelopes.len() as f64
    );
}
