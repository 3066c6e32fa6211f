//! Media objects referenced by the corpus: their identity (sdkfileid and its parts), their size and
//! md5 as the message states them, and their bytes as a pure function of the spec.
//!
//! Bytes are never stored: [`media_bytes`] regenerates them from `(format, size, content_seed)`, so a
//! 100,000-message corpus costs no media memory and a later media endpoint can serve any object.

use md5::{Digest, Md5};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Which message field carries the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Image,
    Voice,
    Video,
    Emotion,
    File,
    VoipDocShare,
    MeetingVoiceCall,
}

/// The byte format of an object: decides the magic numbers [`media_bytes`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaFormat {
    Jpeg,
    Png,
    Gif,
    Amr,
    Mp4,
    Pdf,
    /// docx/xlsx/pptx/zip: a ZIP local-file header and end-of-central-directory record.
    Zip,
    Text,
    Binary,
}

impl MediaFormat {
    /// The extension a downloader would use, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            MediaFormat::Jpeg => "jpg",
            MediaFormat::Png => "png",
            MediaFormat::Gif => "gif",
            MediaFormat::Amr => "amr",
            MediaFormat::Mp4 => "mp4",
            MediaFormat::Pdf => "pdf",
            MediaFormat::Zip => "zip",
            MediaFormat::Text => "txt",
            MediaFormat::Binary => "bin",
        }
    }

    /// The format a file message with this extension gets.
    pub(crate) fn for_extension(ext: &str) -> MediaFormat {
        match ext {
            "pdf" => MediaFormat::Pdf,
            "docx" | "xlsx" | "pptx" | "zip" => MediaFormat::Zip,
            "txt" => MediaFormat::Text,
            "jpg" | "jpeg" => MediaFormat::Jpeg,
            "png" => MediaFormat::Png,
            "mp4" => MediaFormat::Mp4,
            _ => MediaFormat::Binary,
        }
    }
}

/// One media object as a message references it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSpec {
    /// `base64(protobuf{fileid, authkey, aeskey})`, exactly as in the message.
    pub sdkfileid: String,
    /// The parts of `sdkfileid`, kept so a media server never has to decode it.
    pub fileid: String,
    pub authkey: String,
    /// 32 hex characters; the first 16 bytes are the AES-128-ECB key of the stored object.
    pub aeskey: String,
    pub kind: MediaKind,
    pub format: MediaFormat,
    /// Length of [`media_bytes`]; equals the size field of the message (when it has one).
    pub size: u64,
    /// Hex md5 of [`media_bytes`] as the message states it; `""` where the message has an empty
    /// `md5sum` (the real archive does that) and for `meeting_voice_call`, which has none.
    pub md5: String,
    pub content_seed: u64,
}

impl MediaSpec {
    /// The md5 of the bytes, whether or not the message states it.
    pub fn actual_md5(&self) -> String {
        md5_hex(&media_bytes(self))
    }
}

/// The object's bytes: a small valid-looking file of exactly `spec.size` bytes.
pub fn media_bytes(spec: &MediaSpec) -> Vec<u8> {
    format_bytes(spec.format, spec.size, spec.content_seed)
}

pub(crate) fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

fn format_bytes(format: MediaFormat, size: u64, seed: u64) -> Vec<u8> {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let (head, tail): (Vec<u8>, &[u8]) = match format {
        MediaFormat::Jpeg => (
            b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00".to_vec(),
            b"\xFF\xD9",
        ),
        MediaFormat::Png => (
            b"\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00"
                .to_vec(),
            b"\x00\x00\x00\x00IEND\xAE\x42\x60\x82",
        ),
        MediaFormat::Gif => (b"GIF89a\x22\x01\x22\x01\xF7\x00\x00".to_vec(), b"\x3B"),
        MediaFormat::Amr => (b"#!AMR\n".to_vec(), b""),
        MediaFormat::Mp4 => (
            b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41\x00\x00\x00\x08free".to_vec(),
            b"",
        ),
        MediaFormat::Pdf => (b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec(), b"\n%%EOF\n"),
        MediaFormat::Zip => (
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00".to_vec(),
            b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        ),
        MediaFormat::Text | MediaFormat::Binary => (Vec::new(), b""),
    };
    let mut out = head;
    if out.len() + tail.len() >= size {
        out.extend_from_slice(tail);
        out.truncate(size);
        return out;
    }
    // One random 4 KiB block, repeated with each copy stamped by its index: cheap enough in debug
    // builds (a 100,000-record corpus hashes hundreds of MB of media) and still never periodic.
    let mut block = [0u8; 4096];
    ChaCha8Rng::seed_from_u64(seed).fill_bytes(&mut block);
    if format == MediaFormat::Text {
        // Printable ASCII lines, so the text file really is text.
        for (i, b) in block.iter_mut().enumerate() {
            *b = if i % 64 == 63 {
                b'\n'
            } else {
                b' ' + (*b % 95)
            };
        }
    }
    let body_start = out.len();
    let body_len = size - tail.len() - body_start;
    out.reserve_exact(body_len + tail.len());
    let mut index = 0u64;
    while out.len() < body_start + body_len {
        let n = (body_start + body_len - out.len()).min(block.len());
        let at = out.len();
        out.extend_from_slice(&block[..n]);
        if format != MediaFormat::Text {
            let stamp = index.to_le_bytes();
            let k = n.min(stamp.len());
            out[at..at + k].copy_from_slice(&stamp[..k]);
        }
        index += 1;
    }
    out.extend_from_slice(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(format: MediaFormat, size: u64) -> MediaSpec {
        MediaSpec {
            sdkfileid: String::new(),
            fileid: String::new(),
            authkey: String::new(),
            aeskey: String::new(),
            kind: MediaKind::File,
            format,
            size,
            md5: String::new(),
            content_seed: 7,
        }
    }

    #[test]
    fn bytes_have_the_exact_size_and_the_format_magic() {
        for (format, magic, tail) in [
            (MediaFormat::Jpeg, &b"\xFF\xD8"[..], &b"\xFF\xD9"[..]),
            (MediaFormat::Png, b"\x89PNG", b"IEND\xAE\x42\x60\x82"),
            (MediaFormat::Gif, b"GIF89a", b"\x3B"),
            (MediaFormat::Amr, b"#!AMR\n", b""),
            (MediaFormat::Mp4, b"\x00\x00\x00\x20ftyp", b""),
            (MediaFormat::Pdf, b"%PDF-", b"%%EOF\n"),
            (MediaFormat::Zip, b"PK\x03\x04", b""),
        ] {
            let bytes = media_bytes(&spec(format, 4096));
            assert_eq!(bytes.len(), 4096);
            assert!(bytes.starts_with(magic), "{format:?}");
            assert!(bytes.ends_with(tail), "{format:?}");
        }
        for size in [0, 1, 5, 17] {
            assert_eq!(
                media_bytes(&spec(MediaFormat::Png, size)).len() as u64,
                size
            );
        }
    }

    #[test]
    fn bytes_are_a_function_of_the_spec() {
        let a = spec(MediaFormat::Binary, 1000);
        let mut b = a.clone();
        assert_eq!(media_bytes(&a), media_bytes(&b));
        b.content_seed = 8;
        assert_ne!(media_bytes(&a), media_bytes(&b));
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
