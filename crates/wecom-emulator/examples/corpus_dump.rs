//! Prints a generated corpus as `seq<TAB>plaintext` lines, for eyeballing and diffing:
//! `cargo run -p wecom-emulator --example corpus_dump -- SEED COUNT`. Plaintexts are written as
//! served, raw control characters included (no plaintext contains a raw newline).

use std::io::Write;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let messages = args.next().and_then(|s| s.parse().ok()).unwrap_or(50);
    let corpus = wecom_emulator::generate(&wecom_emulator::CorpusSpec::new(seed, messages));
    let mut out = std::io::stdout().lock();
    for r in &corpus.records {
        writeln!(out, "{}\t{}", r.seq, r.plaintext)?;
    }
    Ok(())
}
