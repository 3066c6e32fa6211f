//! Every media object a message references (an `sdkfileid` to download with GetMediaData),
//! including those inside chatrecord and mixed items, with the size and md5 to verify it against
//! and the file extension to save it with (reference §3.3's table).

use serde_json::Value;

use crate::fields::as_u64;
use crate::payload::{ChatRecordItem, MixedItem, Payload};

/// Which payload type carries the object (decides the extension rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Image,
    Voice,
    Video,
    Emotion,
    File,
    MeetingVoiceCall,
    VoipDocShare,
    /// An `sdkfileid` inside a payload of a type this version does not know: still downloaded
    /// (media expire with the archive's retention), saved without a known format.
    Unknown,
}

impl MediaKind {
    /// A stable lowercase name (the msgtype), for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Voice => "voice",
            MediaKind::Video => "video",
            MediaKind::Emotion => "emotion",
            MediaKind::File => "file",
            MediaKind::MeetingVoiceCall => "meeting_voice_call",
            MediaKind::VoipDocShare => "voip_doc_share",
            MediaKind::Unknown => "unknown",
        }
    }
}

/// One media object referenced by a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaRef {
    pub sdkfileid: String,
    /// Hex md5 as the message states it; empty when the message has none (skip the check).
    pub md5sum: String,
    /// Size in bytes as the message states it (`filesize`, `voice_size` or `imagesize`).
    pub size: Option<u64>,
    pub kind: MediaKind,
    /// Without the dot; may be empty (extensionless files, meeting_voice_call). Only ASCII letters
    /// and digits, so it is safe in a file name.
    pub extension: String,
    /// Where in the message: the payload key, then `.item[i]` per chatrecord/mixed level, e.g.
    /// `chatrecord.item[2]` or `chatrecord.item[5].item[1]` (a mixed message inside a forward).
    pub path: String,
}

impl Payload {
    /// Every media object of this payload, nested ones included, in document order. References
    /// without an `sdkfileid` are left out (they cannot be downloaded; parsing warns about them).
    pub fn media(&self) -> Vec<MediaRef> {
        let mut out = Vec::new();
        // An unknown record payload is the record's own non-envelope fields, so its paths start
        // at the record.
        let root = match self {
            Payload::Unknown(_) => String::new(),
            known => known.payload_key().to_owned(),
        };
        collect(self, root, &mut out);
        out
    }
}

fn collect(payload: &Payload, path: String, out: &mut Vec<MediaRef>) {
    let mut push = |sdkfileid: &str, md5sum: &str, size, kind, extension: String| {
        if !sdkfileid.is_empty() {
            out.push(MediaRef {
                sdkfileid: sdkfileid.to_owned(),
                md5sum: md5sum.to_owned(),
                size,
                kind,
                extension,
                path: path.clone(),
            });
        }
    };
    match payload {
        Payload::Image(p) => push(
            &p.sdkfileid,
            &p.md5sum,
            p.filesize,
            MediaKind::Image,
            "jpg".into(),
        ),
        Payload::Voice(p) => push(
            &p.sdkfileid,
            &p.md5sum,
            p.voice_size,
            MediaKind::Voice,
            "amr".into(),
        ),
        Payload::Video(p) => push(
            &p.sdkfileid,
            &p.md5sum,
            p.filesize,
            MediaKind::Video,
            "mp4".into(),
        ),
        Payload::Emotion(p) => {
            let ext = match p.kind {
                1 => "gif",
                2 => "png",
                _ => "",
            };
            push(
                &p.sdkfileid,
                &p.md5sum,
                p.imagesize,
                MediaKind::Emotion,
                ext.into(),
            );
        }
        Payload::File(p) => push(
            &p.sdkfileid,
            &p.md5sum,
            p.filesize,
            MediaKind::File,
            safe_extension(p.fileext.trim().trim_start_matches('.')),
        ),
        // No source documents the recording's format (reference §3.3: GW leaves it empty, WxJava
        // borrows a shared document's name); a wrong guess would mislabel every file, so the
        // extension stays empty and a downloader can sniff the bytes.
        Payload::MeetingVoiceCall(p) => push(
            &p.sdkfileid,
            "",
            None,
            MediaKind::MeetingVoiceCall,
            String::new(),
        ),
        Payload::VoipDocShare(p) => push(
            &p.sdkfileid,
            &p.md5sum,
            p.filesize,
            MediaKind::VoipDocShare,
            safe_extension(extension_of(&p.filename)),
        ),
        Payload::ChatRecord(c) => {
            for (i, ChatRecordItem { content, .. }) in c.items.iter().enumerate() {
                collect(content, format!("{path}.item[{i}]"), out);
            }
        }
        Payload::Mixed(m) => {
            for (i, MixedItem { content, .. }) in m.items.iter().enumerate() {
                collect(content, format!("{path}.item[{i}]"), out);
            }
        }
        Payload::Unknown(u) => scan_unknown(&u.raw, &path, out, 0),
        _ => {}
    }
}

/// Finds objects with an `sdkfileid` anywhere in an unknown payload, reading size, md5 and
/// extension from the field names the known types use.
fn scan_unknown(v: &Value, path: &str, out: &mut Vec<MediaRef>, depth: usize) {
    if depth > 32 {
        return;
    }
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match v {
        Value::Object(m) => {
            if let Some(Value::String(id)) = m.get("sdkfileid")
                && !id.is_empty()
            {
                let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("");
                let size = ["filesize", "voice_size", "imagesize", "size"]
                    .iter()
                    .find_map(|k| m.get(*k).and_then(as_u64));
                let ext = match text("fileext") {
                    "" => extension_of(text("filename")),
                    ext => ext,
                };
                out.push(MediaRef {
                    sdkfileid: id.clone(),
                    md5sum: text("md5sum").to_owned(),
                    size,
                    kind: MediaKind::Unknown,
                    extension: safe_extension(ext.trim_start_matches('.')),
                    path: path.to_owned(),
                });
            }
            for (k, child) in m {
                scan_unknown(child, &join(k), out, depth + 1);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                scan_unknown(child, &format!("{path}[{i}]"), out, depth + 1);
            }
        }
        _ => {}
    }
}

/// What follows the last dot of a file name (`欢迎使用微盘.pdf.pdf` → `pdf`), `""` if none.
fn extension_of(filename: &str) -> &str {
    match filename.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext,
        _ => "",
    }
}

/// The extension if it is 1–16 ASCII letters or digits, else `""`: it ends up in a path, so
/// separators, dots and control characters must never pass.
fn safe_extension(ext: &str) -> String {
    if !ext.is_empty() && ext.len() <= 16 && ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
        ext.to_owned()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_safe_and_from_the_last_dot() {
        assert_eq!(extension_of("欢迎使用微盘.pdf.pdf"), "pdf");
        assert_eq!(extension_of("README"), "");
        assert_eq!(extension_of(".sys"), "");
        assert_eq!(extension_of("a."), "");
        assert_eq!(safe_extension("docx"), "docx");
        assert_eq!(safe_extension("../x"), "");
        assert_eq!(safe_extension("tar.gz"), "");
        assert_eq!(safe_extension("a\u{0}"), "");
    }
}
