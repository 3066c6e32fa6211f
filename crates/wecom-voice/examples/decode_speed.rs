//! Prints how fast this machine decodes the voice samples, in seconds of audio per second.
//!
//! `cargo run -p wecom-voice --example decode_speed` (the C decoders are optimised in the dev
//! profile too). On Linux it also prints the rate per second of this thread's CPU time, which a
//! busy machine does not distort.

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

/// Nanoseconds this thread has spent on a CPU (Linux's schedstat), if the kernel says.
fn cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn main() -> Result<(), wecom_voice::VoiceError> {
    for (name, file) in SAMPLES {
        let mut decodes = 0u32;
        let mut audio_ms = 0u64;
        let cpu_start = cpu_ns();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            audio_ms += wecom_voice::to_wav(file)?.duration_ms;
            decodes += 1;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let audio_s = audio_ms as f64 / 1000.0;
        print!(
            "{name}: {decodes} decodes of {:.2} s in {elapsed:.2} s: {:.0} s of audio per second",
            audio_s / f64::from(decodes),
            audio_s / elapsed,
        );
        match cpu_start.zip(cpu_ns()) {
            Some((before, after)) if after > before => {
                let cpu = (after - before) as f64 / 1e9;
                println!(", {:.0} per CPU second", audio_s / cpu);
            }
            _ => println!(),
        }
    }
    Ok(())
}
