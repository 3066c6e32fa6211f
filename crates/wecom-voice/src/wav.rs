//! The WAV container: a canonical 44-byte RIFF header before mono 16-bit PCM.

/// `samples` (mono) as a WAV file at `sample_rate`.
pub(crate) fn encode(samples: &[i16], sample_rate: u32) -> Vec<u8> {
    const HEADER: usize = 44;
    const CHANNELS: u16 = 1;
    const BITS: u16 = 16;
    let block_align = CHANNELS * BITS / 8;
    // The duration cap keeps the data far below 4 GiB; saturating keeps the header well-formed.
    let data_len = u32::try_from(samples.len() * 2).unwrap_or(u32::MAX - HEADER as u32);

    let mut out = Vec::with_capacity(HEADER + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(data_len + HEADER as u32 - 8).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&CHANNELS.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * u32::from(block_align)).to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&BITS.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for sample in samples {
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}
