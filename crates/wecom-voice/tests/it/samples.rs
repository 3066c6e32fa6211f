//! The real samples decode to well-formed WAV files of the right rate and length, with speech.

use wecom_voice::{VoiceCodec, sniff, to_wav};

use crate::{AMR, SILK, WavHeader, parse_header, samples};

/// Frames in an AMR-NB storage file, counted from its TOC bytes (20 ms each).
fn amr_frames(file: &[u8]) -> usize {
    const SIZES: [usize; 16] = [13, 14, 16, 18, 20, 21, 27, 32, 6, 1, 1, 1, 1, 1, 1, 1];
    let mut at = 6;
    let mut frames = 0;
    while at < file.len() {
        at += SIZES[usize::from((file[at] >> 3) & 0x0f)];
        frames += 1;
    }
    assert_eq!(at, file.len(), "the sample ends on a frame boundary");
    frames
}

/// Packets in a SILK v3 file with Tencent's prefix (20 ms each in Tencent's files).
fn silk_packets(file: &[u8]) -> usize {
    let mut at = 10;
    let mut packets = 0;
    while at + 2 <= file.len() {
        let len = u16::from_le_bytes([file[at], file[at + 1]]);
        if len == 0xffff {
            break;
        }
        at += 2 + usize::from(len);
        packets += 1;
    }
    assert_eq!(at, file.len(), "the sample ends on a packet boundary");
    packets
}

fn rms(pcm: &[i16]) -> f64 {
    let sum: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / pcm.len() as f64).sqrt()
}

/// Decodes `file` and checks it against what its frames say it holds.
fn check_sample(file: &[u8], codec: VoiceCodec, sample_rate: u32, frames: usize) -> Vec<i16> {
    assert_eq!(sniff(file), Some(codec));
    let wav = to_wav(file).expect("the sample decodes");
    let header = parse_header(&wav.bytes);
    let data_len = (wav.bytes.len() - 44) as u32;
    assert_eq!(
        header,
        WavHeader {
            riff_len: data_len + 36,
            format: 1,
            channels: 1,
            sample_rate,
            byte_rate: sample_rate * 2,
            block_align: 2,
            bits: 16,
            data_len,
        }
    );
    assert_eq!(wav.sample_rate, sample_rate);

    let expected_ms = frames as f64 * 20.0;
    let pcm = samples(&wav.bytes);
    let decoded_ms = pcm.len() as f64 * 1000.0 / f64::from(sample_rate);
    for ms in [wav.duration_ms as f64, decoded_ms] {
        assert!(
            (ms - expected_ms).abs() <= expected_ms * 0.2,
            "{ms} ms decoded from {frames} frames of 20 ms"
        );
    }
    assert!((wav.duration_ms as f64 - decoded_ms).abs() < 1.0);

    // Speech, not silence: the whole is well above the noise floor, and so is its loudest 100 ms.
    let loudest = pcm
        .chunks(sample_rate as usize / 10)
        .map(rms)
        .fold(0.0, f64::max);
    let whole = rms(&pcm);
    println!(
        "{codec:?}: {} ms, RMS {whole:.0}, loudest 100 ms RMS {loudest:.0}",
        wav.duration_ms
    );
    assert!(whole > 300.0, "RMS {whole} is near silence");
    assert!(loudest > 1000.0, "the loudest 100 ms have RMS {loudest}");
    pcm
}

#[test]
fn amr_sample_decodes_to_8_khz_speech() {
    let frames = amr_frames(AMR);
    assert_eq!(
        frames, 284,
        "the sample as samples/voice/README.md describes it"
    );
    check_sample(AMR, VoiceCodec::AmrNb, 8_000, frames);
}

#[test]
fn silk_sample_decodes_to_24_khz_speech() {
    let frames = silk_packets(SILK);
    assert_eq!(
        frames, 283,
        "the sample as samples/voice/README.md describes it"
    );
    check_sample(SILK, VoiceCodec::SilkV3, 24_000, frames);
}

#[test]
fn silk_without_tencent_prefix_or_with_an_end_marker_decodes_the_same() {
    let reference = to_wav(SILK).expect("the sample decodes");
    let bare = &SILK[1..];
    assert_eq!(sniff(bare), Some(VoiceCodec::SilkV3));
    assert_eq!(to_wav(bare).expect("decodes without the prefix"), reference);

    let mut marked = SILK.to_vec();
    marked.extend_from_slice(&[0xff, 0xff]);
    marked.extend_from_slice(b"anything after the end marker is ignored");
    assert_eq!(
        to_wav(&marked).expect("decodes with an end marker"),
        reference
    );
}

/// Pearson correlation of two series over their common length.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mean = |x: &[f64]| x.iter().sum::<f64>() / n as f64;
    let (ma, mb) = (mean(a), mean(b));
    let covariance: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let spread = |x: &[f64], m: f64| x.iter().map(|v| (v - m) * (v - m)).sum::<f64>().sqrt();
    covariance / (spread(a, ma) * spread(b, mb))
}

#[test]
fn both_decoders_give_the_same_speech() {
    // The samples are two encodings of one recording, so their loudness over time (RMS per
    // 20 ms) must follow the same course; noise, silence or misaligned frames would not.
    let envelope = |file: &[u8]| -> Vec<f64> {
        let wav = to_wav(file).expect("the sample decodes");
        let frame = wav.sample_rate as usize / 50;
        samples(&wav.bytes).chunks_exact(frame).map(rms).collect()
    };
    let amr = envelope(AMR);
    let silk = envelope(SILK);
    assert!(amr.len().abs_diff(silk.len()) <= 2);
    let same = correlation(&amr, &silk);
    println!("loudness correlation: {same:.3}");
    assert!(
        same > 0.9,
        "the two decodes' loudness correlates only {same}"
    );
    // The measure tells speech apart: the same loudness reversed in time does not match.
    let reversed: Vec<f64> = silk.iter().rev().copied().collect();
    assert!(correlation(&amr, &reversed) < 0.5);
}

#[test]
fn sniff_tells_formats_by_magic_only() {
    assert_eq!(sniff(b"#!AMR\n"), Some(VoiceCodec::AmrNb));
    assert_eq!(sniff(b"#!SILK_V3"), Some(VoiceCodec::SilkV3));
    assert_eq!(sniff(b"\x02#!SILK_V3"), Some(VoiceCodec::SilkV3));
    for other in [
        &b""[..],
        b"#!AMR",
        b"#!AMR-WB\n",
        b"#!AMR_MC1.0\n",
        b"\n#!AMR\n",
        b"#!SILK_V2",
        b"\x01#!SILK_V3",
        b"\x02\x02#!SILK_V3",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"\xff\xd8\xff\xe0 a JPEG",
        b"OggS",
    ] {
        assert_eq!(sniff(other), None, "{other:?}");
    }
    assert_eq!(VoiceCodec::AmrNb.sample_rate(), 8_000);
    assert_eq!(VoiceCodec::SilkV3.sample_rate(), 24_000);
}
