//! Damaged, hostile and foreign input: an error or a shorter decode, never a panic.

use proptest::prelude::*;
use wecom_voice::{MAX_DURATION_MS, VoiceError, sniff, to_wav};

use crate::{AMR, SILK, parse_header};

fn is_corrupt(result: &Result<wecom_voice::Wav, VoiceError>) -> bool {
    matches!(result, Err(VoiceError::Corrupt(_)))
}

#[test]
fn empty_and_foreign_input_is_not_voice() {
    assert_eq!(to_wav(b""), Err(VoiceError::NotVoice));
    assert_eq!(to_wav(b"#!AMR-WB\n\x3c"), Err(VoiceError::NotVoice));
    assert_eq!(to_wav(b"hello"), Err(VoiceError::NotVoice));
}

#[test]
fn a_header_alone_is_corrupt() {
    for header in [
        &b"#!AMR\n"[..],
        b"#!SILK_V3",
        b"\x02#!SILK_V3",
        b"\x02#!SILK_V3\xff\xff",
    ] {
        let result = to_wav(header);
        assert!(is_corrupt(&result), "{header:?}: {result:?}");
    }
}

/// How much audio the first `len` bytes of a sample hold in whole frames, in ms: the AMR sample's
/// frames are all 32 bytes; the SILK sample's packets are walked by their lengths.
fn intact_ms(file: &[u8], len: usize) -> u64 {
    if file == AMR {
        return (len.saturating_sub(6) / 32) as u64 * 20;
    }
    let mut at = 10;
    let mut packets = 0;
    while at + 2 <= len {
        let end = at + 2 + usize::from(u16::from_le_bytes([file[at], file[at + 1]]));
        if end > len {
            break;
        }
        at = end;
        packets += 1;
    }
    packets * 20
}

#[test]
fn a_cut_file_decodes_exactly_its_intact_frames() {
    for file in [AMR, SILK] {
        let full = to_wav(file).expect("the sample decodes");
        assert_eq!(full.duration_ms, intact_ms(file, file.len()));
        // Cut in the header and first frames, across the file (a prime step lands inside frames
        // as well as on their boundaries) and in the last frames.
        let lengths = (0..48)
            .chain((48..file.len()).step_by(211))
            .chain(file.len() - 40..file.len());
        for len in lengths {
            let expected = intact_ms(file, len);
            match to_wav(&file[..len]) {
                Ok(wav) => {
                    assert_eq!(wav.duration_ms, expected, "cut at {len}");
                    assert!(wav.duration_ms < full.duration_ms, "cut at {len}");
                    assert_eq!(parse_header(&wav.bytes).sample_rate, full.sample_rate);
                }
                Err(VoiceError::Corrupt(_)) if expected == 0 => {}
                Err(VoiceError::NotVoice) if sniff(&file[..len]).is_none() => {}
                Err(other) => panic!("cut at {len} ({expected} ms intact): {other}"),
            }
        }
    }
}

#[test]
fn a_reserved_amr_frame_type_ends_the_audio() {
    let full = to_wav(AMR).expect("the AMR sample decodes");
    // The 101st frame (12.2 kbit/s frames of 32 bytes after the 6-byte header) gets type 9.
    let mut damaged = AMR.to_vec();
    let at = 6 + 100 * 32;
    assert_eq!(
        damaged[at] & 0x78,
        7 << 3,
        "the sample's frames are all 12.2 kbit/s"
    );
    damaged[at] = 9 << 3;
    let wav = to_wav(&damaged).expect("the first 100 frames decode");
    assert_eq!(wav.duration_ms, 100 * 20);
    assert!(wav.duration_ms < full.duration_ms);
}

#[test]
fn over_long_input_is_refused_before_decoding() {
    let frames = (MAX_DURATION_MS / 20) as usize + 1;

    // AMR-NB "no data" frames are one byte each.
    let mut amr = b"#!AMR\n".to_vec();
    amr.resize(amr.len() + frames, 0x7c);
    assert_eq!(
        to_wav(&amr),
        Err(VoiceError::TooLong {
            duration_ms: frames as u64 * 20,
            limit_ms: MAX_DURATION_MS
        })
    );

    let mut silk = b"\x02#!SILK_V3".to_vec();
    for _ in 0..frames {
        silk.extend_from_slice(&[1, 0, 0x55]);
    }
    assert!(matches!(to_wav(&silk), Err(VoiceError::TooLong { .. })));
}

#[test]
fn an_oversized_silk_length_ends_the_audio() {
    // After 50 packets, a length larger than any SILK packet: the 50 packets still decode.
    let mut at = 10;
    for _ in 0..50 {
        at += 2 + usize::from(u16::from_le_bytes([SILK[at], SILK[at + 1]]));
    }
    let mut damaged = SILK[..at].to_vec();
    damaged.extend_from_slice(&0x0ff0u16.to_le_bytes());
    damaged.extend_from_slice(&SILK[at..]);
    let wav = to_wav(&damaged).expect("the first 50 packets decode");
    assert_eq!(wav.duration_ms, 50 * 20);
    assert_eq!(to_wav(&SILK[..at]), Ok(wav));
}

/// Runs `to_wav` and checks that a success is a well-formed WAV within the cap.
fn decode_anything(bytes: &[u8]) {
    match to_wav(bytes) {
        Ok(wav) => {
            assert!(sniff(bytes).is_some());
            let header = parse_header(&wav.bytes);
            assert_eq!(header.data_len as usize, wav.bytes.len() - 44);
            assert!(wav.duration_ms <= MAX_DURATION_MS);
        }
        Err(VoiceError::NotVoice) => assert_eq!(sniff(bytes), None),
        Err(VoiceError::Corrupt(reason)) => assert!(!reason.is_empty()),
        Err(other) => panic!("{other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        decode_anything(&bytes);
    }

    #[test]
    fn random_frames_after_a_magic_never_panic(
        magic in prop_oneof![Just(&b"#!AMR\n"[..]), Just(&b"\x02#!SILK_V3"[..]), Just(&b"#!SILK_V3"[..])],
        body in proptest::collection::vec(any::<u8>(), 0..2000),
    ) {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&body);
        decode_anything(&bytes);
    }

    #[test]
    fn damaged_samples_never_panic(
        silk in any::<bool>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..40),
    ) {
        // Overwrite bytes of a real file after its magic: well-framed but wrong payloads reach
        // the C decoders.
        let mut bytes = if silk { SILK.to_vec() } else { AMR.to_vec() };
        let body = if silk { 10 } else { 6 };
        for (index, value) in flips {
            let at = body + index.index(bytes.len() - body);
            bytes[at] = value;
        }
        decode_anything(&bytes);
    }
}
