//! SILK v3: frames Tencent's packet stream and decodes it with the SILK SDK in `silk-rs`.

use crate::{VoiceError, check_length};

pub(crate) const SAMPLE_RATE: u32 = 24_000;

const MAGIC: &[u8] = b"#!SILK_V3";

/// The byte Tencent's clients write before [`MAGIC`].
const TENCENT_PREFIX: u8 = 0x02;

/// The length that marks the end of the stream (when a writer adds one).
const END_MARKER: u16 = 0xffff;

/// The longest packet `silk-rs` accepts at 24 kHz (40 bytes per kHz; it refuses the whole input
/// otherwise). The SDK's own limit is 1024 bytes; a 20 ms packet is well under 100.
const MAX_PACKET: usize = 40 * (SAMPLE_RATE as usize / 1000);

/// The packets after the magic, or `None` when `bytes` do not start with a SILK v3 magic.
pub(crate) fn payload(bytes: &[u8]) -> Option<&[u8]> {
    let bytes = bytes.strip_prefix(&[TENCENT_PREFIX]).unwrap_or(bytes);
    bytes.strip_prefix(MAGIC)
}

/// Decodes a whole SILK v3 file into 24 kHz samples.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<i16>, VoiceError> {
    let payload = payload(bytes).ok_or_else(|| VoiceError::Corrupt("no SILK v3 header".into()))?;
    let count = Packets(payload).count();
    check_length(count)?;
    if count == 0 {
        return Err(VoiceError::Corrupt(
            "SILK v3 file has no intact packet".into(),
        ));
    }

    // `silk-rs` refuses a stream whose last packet is cut short, or that has an end marker, with
    // no audio at all; it is given the intact packets only, framed again.
    let mut clean = Vec::with_capacity(MAGIC.len() + payload.len());
    clean.extend_from_slice(MAGIC);
    for packet in Packets(payload) {
        let len = u16::try_from(packet.len()).unwrap_or(u16::MAX);
        clean.extend_from_slice(&len.to_le_bytes());
        clean.extend_from_slice(packet);
    }
    let pcm = silk_rs::decode_silk(&clean, SAMPLE_RATE as i32)
        .map_err(|error| VoiceError::Corrupt(format!("SILK v3 decoder: {error}")))?;
    // `silk-rs` returns the SDK's samples as bytes in the machine's byte order.
    Ok(pcm
        .chunks_exact(2)
        .map(|pair| i16::from_ne_bytes([pair[0], pair[1]]))
        .collect())
}

/// The intact packets of a SILK v3 stream: each a u16 little-endian length and that many bytes.
/// Empty packets (which carry no audio and which the SDK refuses) are skipped. Stops at the end
/// marker, at a packet cut short and at one longer than [`MAX_PACKET`].
struct Packets<'a>(&'a [u8]);

impl<'a> Iterator for Packets<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let (len, rest) = self.0.split_first_chunk::<2>()?;
            let len = u16::from_le_bytes(*len);
            let packet = (len != END_MARKER && usize::from(len) <= MAX_PACKET)
                .then(|| rest.split_at_checked(usize::from(len)))
                .flatten();
            let Some((packet, rest)) = packet else {
                self.0 = &[];
                return None;
            };
            self.0 = rest;
            if !packet.is_empty() {
                return Some(packet);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_stop_at_the_end_marker_a_cut_or_an_oversized_length() {
        let stream = [2, 0, 0xaa, 0xbb, 0, 0, 1, 0, 0xcc, 0xff, 0xff, 1, 0, 0xdd];
        let packets: Vec<&[u8]> = Packets(&stream).collect();
        assert_eq!(packets, [&[0xaa, 0xbb][..], &[0xcc][..]]);

        assert_eq!(Packets(&[1, 0, 0xaa, 3, 0, 1, 2]).count(), 1);
        assert_eq!(Packets(&[1, 0, 0xaa, 1]).count(), 1);
        let oversized = (MAX_PACKET as u16 + 1).to_le_bytes();
        let mut stream = vec![oversized[0], oversized[1]];
        stream.extend(vec![0; MAX_PACKET + 1]);
        assert_eq!(Packets(&stream).count(), 0);
    }

    #[test]
    fn payload_needs_a_magic() {
        assert_eq!(payload(b"\x02#!SILK_V3\x01\x00"), Some(&[1, 0][..]));
        assert_eq!(payload(b"#!SILK_V3"), Some(&[][..]));
        assert_eq!(payload(b"\x02#!SILK_V2"), None);
        assert_eq!(payload(b"\x03#!SILK_V3"), None);
    }
}
