//! Media objects referenced by the corpus: their identity (sdkfileid and its parts), their size and
//! md5 as the message states them, and their bytes as a pure function of the spec.
//!
//! Bytes are never stored: [`media_bytes`] regenerates them from `(format, size, content_seed)`, so a
//! 100,000-message corpus costs no media memory. [`media_range`] and [`stored_range`] generate any
//! slice of an object (plain or as stored, AES-128-ECB over PKCS#7) without the rest, so the media
//! endpoint serves a 200 MB object with memory for one chunk.

use aes::Aes128;
use aes::cipher::consts::U16;
use aes::cipher::inout::InOutBuf;
use aes::cipher::{BlockEncrypt, KeyInit};
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
    /// The md5 of the bytes, whether or not the message states it. Streams the object, so a
    /// 200 MB one costs no more memory than a small one.
    pub fn actual_md5(&self) -> String {
        let mut md5 = Md5::new();
        let mut offset = 0u64;
        while offset < self.size {
            let n = (self.size - offset).min(1 << 20) as usize;
            md5.update(media_range(self, offset, n));
            offset += n as u64;
        }
        hex::encode(md5.finalize())
    }

    /// Length of the stored object: the media encrypted with AES-128-ECB after PKCS#7 padding,
    /// so always a multiple of 16 and at least 16 (an empty file is one padding block).
    pub fn stored_len(&self) -> u64 {
        stored_len(self.size)
    }

    /// The AES-128 key of the stored object, read from [`MediaSpec::aeskey`] as the vendor
    /// library does: hex pairs, the first `min(16, n)` bytes into a zeroed key. Parsing stops at
    /// the first pair that is not hex.
    pub fn aes_key(&self) -> [u8; 16] {
        let mut key = [0u8; 16];
        for (slot, pair) in key.iter_mut().zip(self.aeskey.as_bytes().chunks_exact(2)) {
            match std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
            {
                Some(b) => *slot = b,
                None => break,
            }
        }
        key
    }
}

/// Size of the PKCS#7-padded, AES-128-ECB-encrypted form of a `size`-byte object.
pub fn stored_len(size: u64) -> u64 {
    (size / BLOCK).saturating_add(1).saturating_mul(BLOCK)
}

const BLOCK: u64 = 16;

/// The object's bytes: a small valid-looking file of exactly `spec.size` bytes. Materialises the
/// whole object; use [`media_range`] for large ones.
pub fn media_bytes(spec: &MediaSpec) -> Vec<u8> {
    let len = usize::try_from(spec.size).unwrap_or(usize::MAX);
    media_range(spec, 0, len)
}

/// Bytes `offset .. offset + len` of [`media_bytes`], clipped to the object's size, generated
/// without materialising anything else: memory is `len`, whatever the object's size.
pub fn media_range(spec: &MediaSpec, offset: u64, len: usize) -> Vec<u8> {
    let end = offset.saturating_add(len as u64).min(spec.size);
    let mut out = vec![0u8; end.saturating_sub(offset) as usize];
    Layout::new(spec.format, spec.size, spec.content_seed).fill(offset, &mut out);
    out
}

/// Bytes `offset .. offset + len` of the stored object (`AES-128-ECB(key, PKCS7(media_bytes))`),
/// clipped to [`MediaSpec::stored_len`]. Only the blocks covering the range are generated and
/// encrypted (ECB encrypts every block on its own; the padding only touches the last one).
pub fn stored_range(spec: &MediaSpec, offset: u64, len: usize) -> Vec<u8> {
    let total = spec.stored_len();
    let end = offset.saturating_add(len as u64).min(total);
    if offset >= end {
        return Vec::new();
    }
    let first = offset / BLOCK * BLOCK;
    let last = end.div_ceil(BLOCK) * BLOCK;
    let mut buf = vec![0u8; (last - first) as usize];
    // Plaintext, then the padding bytes (value = number of padding bytes) past the object's end.
    let plain_end = spec.size.clamp(first, last);
    let layout = Layout::new(spec.format, spec.size, spec.content_seed);
    let (plain, pad) = buf.split_at_mut((plain_end - first) as usize);
    layout.fill(first, plain);
    pad.fill((total - spec.size) as u8);
    let cipher = Aes128::new(&spec.aes_key().into());
    let (blocks, _) = InOutBuf::from(&mut buf[..]).into_chunks::<U16>();
    cipher.encrypt_blocks_inout(blocks);
    buf.drain(..(offset - first) as usize);
    buf.truncate((end - offset) as usize);
    buf
}

/// The magic numbers a format starts and ends with.
fn magic(format: MediaFormat) -> (&'static [u8], &'static [u8]) {
    match format {
        MediaFormat::Jpeg => (
            b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
            b"\xFF\xD9",
        ),
        MediaFormat::Png => (
            b"\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00",
            b"\x00\x00\x00\x00IEND\xAE\x42\x60\x82",
        ),
        MediaFormat::Gif => (b"GIF89a\x22\x01\x22\x01\xF7\x00\x00", b"\x3B"),
        MediaFormat::Amr => (b"#!AMR\n", b""),
        MediaFormat::Mp4 => (
            b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41\x00\x00\x00\x08free",
            b"",
        ),
        MediaFormat::Pdf => (b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n", b"\n%%EOF\n"),
        MediaFormat::Zip => (
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00",
            b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        ),
        MediaFormat::Text | MediaFormat::Binary => (b"", b""),
    }
}

const BODY_BLOCK: usize = 4096;

/// Where each byte of an object comes from: `head ++ body ++ tail`, where the body repeats one
/// random 4 KiB block with each copy stamped by its index (cheap enough in debug builds — a
/// 100,000-record corpus hashes hundreds of MB of media — and still never periodic). An object
/// too small for head and tail is the first `size` bytes of `head ++ tail`.
struct Layout {
    format: MediaFormat,
    head: &'static [u8],
    tail: &'static [u8],
    size: u64,
    seed: u64,
}

impl Layout {
    fn new(format: MediaFormat, size: u64, seed: u64) -> Layout {
        let (head, tail) = magic(format);
        Layout {
            format,
            head,
            tail,
            size,
            seed,
        }
    }

    fn block(&self) -> [u8; BODY_BLOCK] {
        let mut block = [0u8; BODY_BLOCK];
        ChaCha8Rng::seed_from_u64(self.seed).fill_bytes(&mut block);
        if self.format == MediaFormat::Text {
            // Printable ASCII lines, so the text file really is text.
            for (i, b) in block.iter_mut().enumerate() {
                *b = if i % 64 == 63 {
                    b'\n'
                } else {
                    b' ' + (*b % 95)
                };
            }
        }
        block
    }

    /// Writes bytes `offset .. offset + out.len()` of the object into `out` (the caller keeps
    /// the range inside the object).
    fn fill(&self, offset: u64, out: &mut [u8]) {
        if out.is_empty() {
            return;
        }
        let (h, t) = (self.head.len() as u64, self.tail.len() as u64);
        if h + t >= self.size {
            let magic = self.head.iter().chain(self.tail).skip(offset as usize);
            for (dst, src) in out.iter_mut().zip(magic) {
                *dst = *src;
            }
            return;
        }
        let body_end = self.size - t;
        let block = self.block();
        let stamp = self.format != MediaFormat::Text;
        let mut pos = offset;
        let mut out = out;
        while !out.is_empty() {
            let written = if pos < h {
                let src = &self.head[pos as usize..];
                let n = src.len().min(out.len());
                out[..n].copy_from_slice(&src[..n]);
                n
            } else if pos < body_end {
                let q = pos - h;
                let index = q / BODY_BLOCK as u64;
                let k = (q % BODY_BLOCK as u64) as usize;
                if stamp && k < 8 {
                    out[0] = index.to_le_bytes()[k];
                    1
                } else {
                    let n = (BODY_BLOCK - k)
                        .min(out.len())
                        .min((body_end - pos) as usize);
                    out[..n].copy_from_slice(&block[k..k + n]);
                    n
                }
            } else {
                let src = &self.tail[(pos - body_end) as usize..];
                let n = src.len().min(out.len());
                out[..n].copy_from_slice(&src[..n]);
                n
            };
            pos += written as u64;
            out = &mut std::mem::take(&mut out)[written..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md5_hex(bytes: &[u8]) -> String {
        hex::encode(Md5::digest(bytes))
    }

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

    /// The generator as it was before ranges existed: every corpus md5 depends on these bytes,
    /// so [`media_range`] must reproduce them exactly.
    fn reference_bytes(format: MediaFormat, size: u64, seed: u64) -> Vec<u8> {
        let size = size as usize;
        let (head, tail) = magic(format);
        let mut out = head.to_vec();
        if out.len() + tail.len() >= size {
            out.extend_from_slice(tail);
            out.truncate(size);
            return out;
        }
        let block = Layout::new(format, size as u64, seed).block();
        let body_start = out.len();
        let body_len = size - tail.len() - body_start;
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

    const FORMATS: [MediaFormat; 9] = [
        MediaFormat::Jpeg,
        MediaFormat::Png,
        MediaFormat::Gif,
        MediaFormat::Amr,
        MediaFormat::Mp4,
        MediaFormat::Pdf,
        MediaFormat::Zip,
        MediaFormat::Text,
        MediaFormat::Binary,
    ];

    #[test]
    fn ranges_reproduce_the_whole_object_generator_exactly() {
        for format in FORMATS {
            for size in [0u64, 1, 5, 17, 40, 4095, 4096, 4097, 4133, 12_345, 70_000] {
                let mut s = spec(format, size);
                s.content_seed = size ^ 0xA5;
                let whole = reference_bytes(format, size, s.content_seed);
                assert_eq!(media_bytes(&s), whole, "{format:?} {size}");
                for (offset, len) in [(0, 3), (3, 9), (4090, 20), (size / 2, 5000), (size, 10)] {
                    let lo = (offset as usize).min(whole.len());
                    let hi = (lo + len).min(whole.len());
                    assert_eq!(
                        media_range(&s, offset, len),
                        whole[lo..hi],
                        "{format:?} {size} {offset}+{len}"
                    );
                }
            }
        }
    }

    /// AES-128 of FIPS-197 appendix C.1, so the stored form is real AES and not just
    /// self-consistent.
    #[test]
    fn stored_objects_are_aes_128_ecb_over_pkcs7() {
        let mut s = spec(MediaFormat::Binary, 0);
        s.aeskey = "000102030405060708090a0b0c0d0e0f".into();
        let plain = hex::decode("00112233445566778899aabbccddeeff").expect("hex");
        let cipher = Aes128::new(&s.aes_key().into());
        let mut block = aes::Block::clone_from_slice(&plain);
        cipher.encrypt_block(&mut block);
        assert_eq!(hex::encode(block), "69c4e0d86a7b0430d8cdb78070b4c55a");

        // An empty object is one block of sixteen 0x10 bytes.
        let mut pad = aes::Block::clone_from_slice(&[16u8; 16]);
        cipher.encrypt_block(&mut pad);
        assert_eq!(s.stored_len(), 16);
        assert_eq!(stored_range(&s, 0, 1 << 20), pad.to_vec());

        for size in [1u64, 15, 16, 17, 4096, 10_000] {
            let mut s = spec(MediaFormat::Jpeg, size);
            s.aeskey = "00112233445566778899aabbccddeeff".into();
            let mut padded = media_bytes(&s);
            let n = 16 - padded.len() % 16;
            padded.extend(std::iter::repeat_n(n as u8, n));
            let cipher = Aes128::new(&s.aes_key().into());
            for block in padded.chunks_exact_mut(16) {
                cipher.encrypt_block(aes::Block::from_mut_slice(block));
            }
            assert_eq!(s.stored_len(), padded.len() as u64);
            assert_eq!(stored_range(&s, 0, usize::MAX), padded);
            for (offset, len) in [
                (0usize, 16usize),
                (8, 16),
                (16, 32),
                (5, 3),
                (padded.len() - 16, 99),
            ] {
                let hi = (offset + len).min(padded.len());
                assert_eq!(
                    stored_range(&s, offset as u64, len),
                    padded[offset..hi],
                    "{size} {offset}+{len}"
                );
            }
            assert!(stored_range(&s, padded.len() as u64, 16).is_empty());
        }
    }

    #[test]
    fn aes_keys_are_read_like_the_vendor_library() {
        let mut s = spec(MediaFormat::Binary, 0);
        s.aeskey = "0102".into();
        let mut want = [0u8; 16];
        want[..2].copy_from_slice(&[1, 2]);
        assert_eq!(s.aes_key(), want);
        s.aeskey = "0102zz03".into();
        assert_eq!(s.aes_key(), want, "parsing stops at a pair that is not hex");
        s.aeskey = "ff".repeat(20);
        assert_eq!(s.aes_key(), [0xff; 16], "longer keys are cut to 16 bytes");
        s.aeskey = String::new();
        assert_eq!(s.aes_key(), [0; 16]);
    }

    #[test]
    fn streamed_md5_equals_the_md5_of_the_bytes() {
        for size in [0u64, 100, (1 << 20) + 3] {
            let s = spec(MediaFormat::Pdf, size);
            assert_eq!(s.actual_md5(), md5_hex(&media_bytes(&s)));
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
