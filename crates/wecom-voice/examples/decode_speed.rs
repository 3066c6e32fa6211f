//! Prints how fast this machine decodes the voice samples: seconds of audio per second of CPU.
//!
//! `cargo run -p wecom-voice --example decode_speed` (or `--release`; the C decoders are
//! optimised in both profiles).

use std::time::{Duration, Instant};

const SAMPLES: [(&str, &[u8]); 2] = [
    (
        "AMR-NB",
        include_bytes!("../../../samples/voice/voice-zh.amr"),
    ),
    (
        "SILK v3",
        include_bytes!("../../../samples/voice/voice-zh.silk"),
    ),
];

fn main() -> Result<(), wecom_voice::VoiceError> {
    for (name, file) in SAMPLES {
        let mut decodes = 0u32;
        let mut audio_ms = 0u64;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            audio_ms += wecom_voice::to_wav(file)?.duration_ms;
            decodes += 1;
        }
        let elapsed = start.elapsed().as_secs_f64();
        println!(
            "{name}: {decodes} decodes in {elapsed:.2} s, {:.0} s of audio per second \
             ({:.2} ms per decode of a {:.2} s message)",
            audio_ms as f64 / 1000.0 / elapsed,
            elapsed * 1000.0 / f64::from(decodes),
            audio_ms as f64 / 1000.0 / f64::from(decodes),
        );
    }
    Ok(())
}
