//! wecom-voice's tests: the samples in `samples/voice/` decode to the WAV they should, and no
//! input, however damaged, makes decoding panic.

mod damaged;
mod samples;

/// AMR-NB storage format, 5.68 s of Mandarin speech (see samples/voice/README.md).
pub const AMR: &[u8] = include_bytes!("../../../../samples/voice/voice-zh.amr");
/// SILK v3 with Tencent's `0x02` prefix, 24 kHz, 5.66 s of the same speech.
pub const SILK: &[u8] = include_bytes!("../../../../samples/voice/voice-zh.silk");

/// The fields of a canonical 44-byte WAV header, read back independently of the crate.
#[derive(Debug, PartialEq, Eq)]
pub struct WavHeader {
    pub riff_len: u32,
    pub format: u16,
    pub channels: u16,
    pub sample_rate: u32,
    pub byte_rate: u32,
    pub block_align: u16,
    pub bits: u16,
    pub data_len: u32,
}

pub fn parse_header(wav: &[u8]) -> WavHeader {
    assert!(wav.len() >= 44, "a WAV file has a 44-byte header");
    assert_eq!(&wav[0..4], b"RIFF");
    assert_eq!(&wav[8..12], b"WAVE");
    assert_eq!(&wav[12..16], b"fmt ");
    assert_eq!(u32_at(wav, 16), 16, "PCM's fmt chunk is 16 bytes");
    assert_eq!(&wav[36..40], b"data");
    WavHeader {
        riff_len: u32_at(wav, 4),
        format: u16_at(wav, 20),
        channels: u16_at(wav, 22),
        sample_rate: u32_at(wav, 24),
        byte_rate: u32_at(wav, 28),
        block_align: u16_at(wav, 32),
        bits: u16_at(wav, 34),
        data_len: u32_at(wav, 40),
    }
}

/// The PCM samples after the header.
pub fn samples(wav: &[u8]) -> Vec<i16> {
    wav[44..]
        .chunks_exact(2)
        .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
        .collect()
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}
