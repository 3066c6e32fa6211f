//! Decodes WeCom voice messages to WAV, because no browser plays the codecs they arrive in.
//!
//! A voice message's media object is one of two formats, told apart by its first bytes (never by
//! the message type, which says nothing about the codec):
//!
//! | Format | Magic | Decoder | Output |
//! |---|---|---|---|
//! | AMR-NB, RFC 4867 storage format | `#!AMR\n` | Debian's opencore-amrnb, linked statically | 8 kHz |
//! | SILK v3, as Tencent's clients write it | `\x02#!SILK_V3` or `#!SILK_V3` | the Skype SILK SDK vendored by `silk-rs` | 24 kHz |
//!
//! [`to_wav`] sniffs, decodes and wraps the samples in a WAV file (RIFF, PCM, signed 16-bit
//! little-endian, mono) that `<audio>` plays. The original object stays the record; the WAV is
//! a rendition that can always be made again (decoding is deterministic).
//!
//! Both formats are sequences of 20 ms frames. Decoding works on the frames that are intact:
//! - a truncated or damaged tail (a frame cut short, an AMR frame type reserved for future use, a
//!   SILK length past the end of the input or longer than any packet) ends the audio at the last
//!   intact frame, since a download cut short is the usual damage and its start is still worth
//!   hearing; input with no intact frame at all is [`VoiceError::Corrupt`];
//! - a SILK packet the SDK cannot decode fails the whole input with [`VoiceError::Corrupt`]
//!   (`silk-rs` returns all or nothing); a SILK `0xFFFF` end marker ends the audio; empty SILK
//!   packets, which carry no audio and which the SDK refuses, are skipped;
//! - SILK packets holding more than one 20 ms frame (which Tencent's clients do not write) keep
//!   only their first frame;
//! - input longer than [`MAX_DURATION_MS`] is refused with [`VoiceError::TooLong`] before any
//!   decoding, so hostile input cannot make the output exhaust memory (the cap bounds a WAV to
//!   about 29 MB at 8 kHz and 86 MB at 24 kHz; real voice messages last at most 60 s).
//!
//! Decoding is blocking CPU work, about 60 ms of CPU for a minute of AMR-NB and 150 ms for a
//! minute of SILK on the machine this was written on (the `decode_speed` example measures it):
//! async callers run it on a blocking thread (`tokio::task::spawn_blocking`), never on the
//! runtime's own threads, and cache the result (the original object stays what is hashed and
//! kept).
//!
//! When this was written, the samples' decodes were compared with independent decoders (the
//! `to_wav` example writes them): the AMR-NB WAV correlates at 0.9999 with ffmpeg 5.1's own
//! `amrnb` decoder, and the SILK WAV is identical, sample for sample, to PyPI pilk's.
//!
//! This is a binding crate: `unsafe` is allowed here, only for opencore-amrnb's C interface
//! (`amr.rs`). Building it needs `pkg-config`, `libopencore-amrnb-dev` (the static library) and
//! `libclang-dev` (bindgen, for `silk-rs`); `.ci/run` installs them. Its tests decode the samples
//! in `samples/voice/` and feed it garbage:
//!
//! ```text
//! cargo test -p wecom-voice
//! cargo run -p wecom-voice --example decode_speed      # seconds of audio decoded per second
//! ```

mod amr;
mod silk;
mod wav;

/// The longest audio [`to_wav`] produces: 30 minutes. WeCom voice messages last at most 60 s.
pub const MAX_DURATION_MS: u64 = 30 * 60 * 1000;

/// Every frame of both codecs is 20 ms of audio.
const FRAME_MS: u64 = 20;

/// The most frames [`to_wav`] decodes.
const MAX_FRAMES: usize = (MAX_DURATION_MS / FRAME_MS) as usize;

/// A voice codec, as told by a file's magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VoiceCodec {
    /// AMR narrowband in the RFC 4867 storage format (`#!AMR\n`), decoded at 8 kHz.
    AmrNb,
    /// SILK v3 (`#!SILK_V3`, with or without Tencent's leading `0x02`), decoded at 24 kHz.
    SilkV3,
}

impl VoiceCodec {
    /// The sample rate [`to_wav`] decodes this codec at.
    pub fn sample_rate(self) -> u32 {
        match self {
            VoiceCodec::AmrNb => amr::SAMPLE_RATE,
            VoiceCodec::SilkV3 => silk::SAMPLE_RATE,
        }
    }
}

/// A decoded voice message: a complete WAV file and what a player shows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wav {
    /// The WAV file: a 44-byte RIFF header, then PCM, signed 16-bit little-endian, mono.
    pub bytes: Vec<u8>,
    /// Samples per second: 8000 for AMR-NB, 24000 for SILK v3.
    pub sample_rate: u32,
    /// The audio's length in milliseconds (rounded down).
    pub duration_ms: u64,
}

/// Why a voice object could not be decoded. Messages never quote the input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum VoiceError {
    /// The bytes start with neither an AMR-NB nor a SILK v3 magic.
    #[error("not a voice file (neither AMR-NB nor SILK v3)")]
    NotVoice,
    /// The format was recognised but holds no decodable audio.
    /// The string says, in words, which format and what was wrong.
    #[error("corrupt voice file: {0}")]
    Corrupt(String),
    /// The audio would last longer than [`MAX_DURATION_MS`]; nothing was decoded.
    #[error("voice file lasts {duration_ms} ms, more than the {limit_ms} ms limit")]
    TooLong {
        /// How long the input's frames would last.
        duration_ms: u64,
        /// [`MAX_DURATION_MS`].
        limit_ms: u64,
    },
    /// The AMR-NB decoder could not be set up (it could not allocate its state).
    #[error("the AMR-NB decoder could not be initialised")]
    DecoderInit,
}

/// Which codec `bytes` hold, by their magic bytes only; `None` for anything else (including
/// AMR-WB, `#!AMR-WB\n`, which WeCom does not send).
pub fn sniff(bytes: &[u8]) -> Option<VoiceCodec> {
    if bytes.starts_with(amr::MAGIC) {
        Some(VoiceCodec::AmrNb)
    } else if silk::payload(bytes).is_some() {
        Some(VoiceCodec::SilkV3)
    } else {
        None
    }
}

/// Sniffs, decodes and wraps a voice object in a WAV file (mono, 16-bit PCM).
///
/// Blocking CPU work: run it on a blocking thread. See the crate documentation for what happens
/// to damaged input; it never panics on any input.
pub fn to_wav(bytes: &[u8]) -> Result<Wav, VoiceError> {
    let codec = sniff(bytes).ok_or(VoiceError::NotVoice)?;
    let samples = match codec {
        VoiceCodec::AmrNb => amr::decode(bytes)?,
        VoiceCodec::SilkV3 => silk::decode(bytes)?,
    };
    let sample_rate = codec.sample_rate();
    Ok(Wav {
        duration_ms: samples.len() as u64 * 1000 / u64::from(sample_rate),
        bytes: wav::encode(&samples, sample_rate),
        sample_rate,
    })
}

/// Refuses `frames` frames of audio when they exceed [`MAX_FRAMES`].
fn check_length(frames: usize) -> Result<(), VoiceError> {
    if frames > MAX_FRAMES {
        return Err(VoiceError::TooLong {
            duration_ms: frames as u64 * FRAME_MS,
            limit_ms: MAX_DURATION_MS,
        });
    }
    Ok(())
}
