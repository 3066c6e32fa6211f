//! What is computed while bytes stream past: SHA-256, MD5, size, and the first bytes for sniffing
//! the content type — plus the check of all that against the caller's expectations.

use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::{BlobError, Expectations, Sha256Hex};

/// How many leading bytes content sniffing looks at.
const HEAD_LEN: usize = 64;

/// Running digests of one upload.
#[derive(Clone, Default)]
pub(crate) struct Digester {
    sha256: Sha256,
    md5: Md5,
    size: u64,
    head: Vec<u8>,
}

/// The digests of a complete upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digests {
    pub sha256: Sha256Hex,
    pub md5: [u8; 16],
    pub size: u64,
    pub content_type: &'static str,
}

impl Digests {
    pub fn md5_hex(&self) -> String {
        hex::encode(self.md5)
    }
}

impl Digester {
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.md5.update(bytes);
        self.size += bytes.len() as u64;
        if self.head.len() < HEAD_LEN {
            let take = (HEAD_LEN - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The content type as far as the bytes so far tell.
    pub fn content_type(&self) -> &'static str {
        sniff(&self.head)
    }

    pub fn finish(self) -> Digests {
        let content_type = sniff(&self.head);
        Digests {
            sha256: Sha256Hex::from_digest(&self.sha256.finalize().into()),
            md5: self.md5.finalize().into(),
            size: self.size,
            content_type,
        }
    }
}

/// Checks `digests` against `expect`: the size first (a short download also fails its MD5, and
/// the size says more), then the MD5 unless none or an empty one was announced.
pub(crate) fn verify(digests: &Digests, expect: &Expectations) -> Result<(), BlobError> {
    if let Some(expected) = expect.size
        && expected != digests.size
    {
        return Err(BlobError::SizeMismatch {
            expected,
            actual: digests.size,
        });
    }
    if let Some(expected) = expect.md5.as_deref()
        && !expected.is_empty()
    {
        let computed = digests.md5_hex();
        if !expected.eq_ignore_ascii_case(&computed) {
            return Err(BlobError::Md5Mismatch {
                expected: expected.chars().take(64).collect(),
                computed,
                sha256: digests.sha256.to_string(),
            });
        }
    }
    Ok(())
}

/// The MIME type of media by its magic bytes, for the kinds WeCom archives carry; anything else is
/// `application/octet-stream`. Office files are zips (docx, xlsx) or OLE containers (doc, xls).
pub(crate) fn sniff(head: &[u8]) -> &'static str {
    const OCTET: &str = "application/octet-stream";
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"\xFF\xD8\xFF") {
        "image/jpeg"
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "image/gif"
    } else if starts(b"#!AMR-WB\n") {
        "audio/amr-wb"
    } else if starts(b"#!AMR\n") {
        "audio/amr"
    } else if starts(b"#!SILK_V3") || starts(b"\x02#!SILK_V3") {
        "audio/silk"
    } else if starts(b"%PDF-") {
        "application/pdf"
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        "application/zip"
    } else if starts(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        "application/x-ole-storage"
    } else if starts(b"Rar!\x1A\x07") {
        "application/vnd.rar"
    } else if starts(b"7z\xBC\xAF\x27\x1C") {
        "application/x-7z-compressed"
    } else if starts(b"\x1F\x8B") {
        "application/gzip"
    } else if starts(b"ID3") || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0) {
        "audio/mpeg"
    } else if starts(b"OggS") {
        "audio/ogg"
    } else if starts(b"RIFF") && head.len() >= 12 {
        match &head[8..12] {
            b"WEBP" => "image/webp",
            b"WAVE" => "audio/wav",
            b"AVI " => "video/x-msvideo",
            _ => OCTET,
        }
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        match &head[8..12] {
            b"qt  " => "video/quicktime",
            b"M4A " => "audio/mp4",
            b"heic" | b"heix" | b"mif1" | b"msf1" => "image/heic",
            b"3gp4" | b"3gp5" | b"3gp6" | b"3g2a" => "video/3gpp",
            _ => "video/mp4",
        }
    } else if starts(b"BM") && head.len() >= 14 && head[6..10] == [0, 0, 0, 0] {
        "image/bmp"
    } else {
        OCTET
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_what_wecom_sends() {
        let cases: &[(&[u8], &str)] = &[
            (b"\xFF\xD8\xFF\xE0\0\x10JFIF", "image/jpeg"),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "image/png"),
            (b"GIF89a\x01\0", "image/gif"),
            (b"#!AMR\n\x3c", "audio/amr"),
            (b"#!AMR-WB\n", "audio/amr-wb"),
            (b"\x02#!SILK_V3\x0c", "audio/silk"),
            (b"\0\0\0\x20ftypisom\0\0\x02\0", "video/mp4"),
            (b"\0\0\0\x14ftypqt  \0\0\0\0", "video/quicktime"),
            (b"\0\0\0\x18ftypheic\0\0\0\0", "image/heic"),
            (b"%PDF-1.7\n", "application/pdf"),
            (b"PK\x03\x04\x14\0", "application/zip"),
            (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
            (b"RIFF\0\0\0\0WAVEfmt ", "audio/wav"),
            (b"ID3\x04\0", "audio/mpeg"),
            (b"BM\x36\0\x0c\0\0\0\0\0\x36\0\0\0", "image/bmp"),
            (b"", "application/octet-stream"),
            (b"\xFF", "application/octet-stream"),
            (b"RIFF", "application/octet-stream"),
            (b"hello world", "application/octet-stream"),
        ];
        for (head, expected) in cases {
            assert_eq!(sniff(head), *expected, "{head:?}");
        }
    }

    #[test]
    fn digests_of_the_empty_object() {
        let d = Digester::default().finish();
        assert_eq!(
            d.sha256.as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(d.md5_hex(), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(d.size, 0);
    }

    #[test]
    fn empty_expected_md5_is_no_check_and_case_is_ignored() {
        let mut dg = Digester::default();
        dg.update(b"abc");
        let d = dg.finish();
        let expect = |md5: Option<&str>, size| Expectations {
            size,
            md5: md5.map(str::to_string),
            ..Expectations::default()
        };
        assert!(verify(&d, &expect(Some(""), None)).is_ok());
        assert!(
            verify(
                &d,
                &expect(Some("900150983CD24FB0D6963F7D28E17F72"), Some(3))
            )
            .is_ok()
        );
        let err = verify(&d, &expect(Some("00"), None)).expect_err("mismatch");
        assert!(matches!(err, BlobError::Md5Mismatch { ref computed, .. }
            if computed == "900150983cd24fb0d6963f7d28e17f72"));
        let err = verify(&d, &expect(Some("00"), Some(4))).expect_err("mismatch");
        assert!(matches!(
            err,
            BlobError::SizeMismatch {
                expected: 4,
                actual: 3
            }
        ));
    }
}
