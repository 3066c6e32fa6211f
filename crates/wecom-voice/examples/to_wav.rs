//! Converts one voice file to WAV, to listen to it or compare it with another decoder:
//! `cargo run -p wecom-voice --example to_wav -- voice.amr voice.wav`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: to_wav <voice file> <wav file>");
        return ExitCode::FAILURE;
    };
    let result = std::fs::read(input)
        .map_err(|error| format!("reading {input}: {error}"))
        .and_then(|bytes| wecom_voice::to_wav(&bytes).map_err(|error| error.to_string()))
        .and_then(|wav| {
            std::fs::write(output, &wav.bytes)
                .map(|()| wav)
                .map_err(|error| format!("writing {output}: {error}"))
        });
    match result {
        Ok(wav) => {
            println!("{output}: {} ms at {} Hz", wav.duration_ms, wav.sample_rate);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("to_wav: {error}");
            ExitCode::FAILURE
        }
    }
}
