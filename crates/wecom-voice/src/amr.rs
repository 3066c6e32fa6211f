//! AMR-NB: frames the RFC 4867 storage format and decodes it with opencore-amrnb's C interface.

use std::ffi::{c_int, c_void};
use std::ptr::NonNull;

use crate::{VoiceError, check_length};

/// The storage format's magic, which [`crate::sniff`] looks for.
pub(crate) const MAGIC: &[u8] = b"#!AMR\n";

pub(crate) const SAMPLE_RATE: u32 = 8_000;

/// Samples in one 20 ms frame at 8 kHz.
const FRAME_SAMPLES: usize = 160;

/// The size of a stored frame, its table-of-contents byte included, by frame type (bits 6..3 of
/// that byte). Types 0–7 are the eight bit rates, 8 is comfort noise (SID), 15 is "no data";
/// 9–14 are reserved (`None`): a frame of such a type cannot be framed, so it ends the audio.
const FRAME_SIZES: [Option<usize>; 16] = [
    Some(13),
    Some(14),
    Some(16),
    Some(18),
    Some(20),
    Some(21),
    Some(27),
    Some(32),
    Some(6),
    None,
    None,
    None,
    None,
    None,
    None,
    Some(1),
];

/// Larger than any frame: the decoder reads from a zero-padded copy, never from the input.
const FRAME_BUFFER: usize = 64;

// opencore-amrnb's `interf_dec.h` (0.1.5 and later), linked statically by build.rs.
unsafe extern "C" {
    fn Decoder_Interface_init() -> *mut c_void;
    fn Decoder_Interface_exit(state: *mut c_void);
    fn Decoder_Interface_Decode(state: *mut c_void, input: *const u8, output: *mut i16, bfi: c_int);
}

/// Decodes a whole `#!AMR\n` file into 8 kHz samples.
pub(crate) fn decode(bytes: &[u8]) -> Result<Vec<i16>, VoiceError> {
    let payload = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| VoiceError::Corrupt("no AMR-NB header".into()))?;
    // Counting first refuses over-long input before anything is allocated for it.
    let count = Frames(payload).count();
    check_length(count)?;
    if count == 0 {
        return Err(VoiceError::Corrupt(
            "AMR-NB file has no intact frame".into(),
        ));
    }

    let mut decoder = Decoder::new()?;
    let mut samples = Vec::with_capacity(count * FRAME_SAMPLES);
    let mut pcm = [0i16; FRAME_SAMPLES];
    for frame in Frames(payload) {
        decoder.decode(frame, &mut pcm);
        samples.extend_from_slice(&pcm);
    }
    Ok(samples)
}

/// The intact frames of a storage-format payload, in order; stops at the first frame that is cut
/// short or has a reserved type.
struct Frames<'a>(&'a [u8]);

impl<'a> Iterator for Frames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let toc = *self.0.first()?;
        let size = FRAME_SIZES[usize::from((toc >> 3) & 0x0f)];
        match size.and_then(|size| self.0.split_at_checked(size)) {
            Some((frame, rest)) => {
                self.0 = rest;
                Some(frame)
            }
            None => {
                self.0 = &[];
                None
            }
        }
    }
}

/// One opencore decoder state, freed on drop.
struct Decoder(NonNull<c_void>);

impl Decoder {
    fn new() -> Result<Self, VoiceError> {
        // SAFETY: takes no arguments; returns a fresh state or null when it cannot allocate.
        let state = unsafe { Decoder_Interface_init() };
        NonNull::new(state)
            .map(Decoder)
            .ok_or(VoiceError::DecoderInit)
    }

    /// Decodes one framed frame (its TOC byte first, at most [`FRAME_BUFFER`] bytes) into 160
    /// samples.
    fn decode(&mut self, frame: &[u8], pcm: &mut [i16; FRAME_SAMPLES]) {
        let mut input = [0u8; FRAME_BUFFER];
        let len = frame.len().min(FRAME_BUFFER);
        input[..len].copy_from_slice(&frame[..len]);
        // The TOC's Q bit clear marks a damaged frame; the decoder then conceals it.
        let bad_frame = c_int::from(frame.first().is_some_and(|toc| toc & 0x04 == 0));
        // SAFETY: `self.0` is a live state from `Decoder_Interface_init`, used by one thread
        // at a time (`&mut self`). The decoder reads the TOC byte and then at most the 31 bytes
        // its frame type calls for, all inside the 64-byte `input`; it writes exactly 160
        // samples, which `pcm` holds.
        unsafe {
            Decoder_Interface_Decode(self.0.as_ptr(), input.as_ptr(), pcm.as_mut_ptr(), bad_frame)
        };
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `Decoder_Interface_init` and is freed exactly once, here.
        unsafe { Decoder_Interface_exit(self.0.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_stop_at_a_cut_or_reserved_frame() {
        // A 12.2 kbit/s frame (type 7, 32 bytes), a no-data frame, then one cut short.
        let mut payload = vec![0x3c];
        payload.extend([0u8; 31]);
        payload.push(0x7c);
        payload.extend([0x3c, 1, 2, 3]);
        let sizes: Vec<usize> = Frames(&payload).map(<[u8]>::len).collect();
        assert_eq!(sizes, [32, 1]);

        // A reserved type (9) ends the frames although bytes follow.
        let payload = [0x7c, 9 << 3, 0x7c, 0x7c];
        assert_eq!(Frames(&payload).count(), 1);
    }
}
