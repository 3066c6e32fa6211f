//! Prints a generated corpus as `seq<TAB>plaintext` lines, for eyeballing and diffing:
//! `cargo run -p wecom-emulator --example corpus_dump -- SEED COUNT [--showcase]`. Plaintexts are
//! written as served, raw control characters included (no plaintext contains a raw newline).
//! With `--showcase` the corpus starts with the showcase records, each line then followed by a
//! TAB and the feature it shows.

use std::io::Write;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let showcase = args.iter().any(|a| a == "--showcase");
    let mut numbers = args.iter().filter(|a| *a != "--showcase");
    let seed = numbers.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let messages = numbers.next().and_then(|s| s.parse().ok()).unwrap_or(50);
    let corpus = wecom_emulator::generate(&wecom_emulator::CorpusSpec {
        showcase,
        ..wecom_emulator::CorpusSpec::new(seed, messages)
    });
    let mut out = std::io::stdout().lock();
    for r in &corpus.records {
        match corpus.showcase.iter().find(|m| m.seq == r.seq) {
            Some(m) => writeln!(out, "{}\t{}\t{}", r.seq, r.plaintext, m.feature)?,
            None => writeln!(out, "{}\t{}", r.seq, r.plaintext)?,
        }
    }
    Ok(())
}
