//! Media download (`getchatmediadata`, sdk-wire-protocol.md §4): an object is fetched in 512 KiB
//! ranges, each decrypted (AES-128-ECB) as it arrives and handed to a sink, so memory stays at one
//! chunk whatever the object's size.
//!
//! Differences from the vendor library, all on the side of caution:
//! - the sdkfileid and its aeskey are checked before any request (the vendor library fetches a
//!   token first and only notices a missing key when decryption fails);
//! - every chunk's CONTENT-RANGE is checked (start as asked, end inside the range, same total,
//!   content length equal to it); the vendor library takes a missing header for the last chunk;
//!   the header name is matched case-insensitively, so a standard `Content-Range` works too;
//! - the whole padding is checked, not only its last byte;
//! - 40001/40014/42001 fetch a fresh token (the vendor library returns 10002);
//! - a transient failure retries the same range, never the object: network errors, timeouts,
//!   5xx/408/429, errcode -1/45009, and answers that break the protocol (10003 for the vendor
//!   library, which documents 10003 as retryable); 301042/301048/other errcodes and decryption
//!   failures are final. After `max_attempts` for one chunk the download fails.
//!
//! The request carries `Range: bytes=A-B` (hyper writes a space after the colon, where the
//! vendor library writes `Range:bytes=A-B`; both are the same header to any HTTP server).

mod chunk;
mod error;
mod sink;
mod source;

use std::time::Duration;

use md5::{Digest, Md5};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, RANGE};
use serde::Serialize;
use tracing::{debug, warn};
use wecom_crypto::SdkFileId;
use wecom_wire::{MediaChunkSink, MediaFetched, PROTOCOL_VERSION, SdkCode, errcode, file_hint};

pub use chunk::CHUNK as MEDIA_CHUNK;
pub use error::{MediaError, MediaErrorKind};
pub use sink::{FnSink, WriteSink};

use crate::NativeClient;
use crate::retry::{Attempt, RetryError, RetryHooks};
use chunk::{ContentRange, MAX_RESPONSE, MediaReply};

const IP_NOT_ALLOWED: i64 = 301_042;
const DATA_EXPIRED: i64 = 301_048;

/// A finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDownload {
    /// Bytes handed to the sink: the object's size.
    pub plaintext_len: u64,
    /// Size of the stored (encrypted, padded) object, from CONTENT-RANGE.
    pub ciphertext_len: u64,
    /// Lowercase hex md5 of the plaintext, to compare with the message's `md5sum`.
    pub md5: String,
    /// Chunks received.
    pub chunks: u32,
    /// Chunk requests that failed and were repeated.
    pub retries: u32,
}

/// The seam's view of a finished download (the ciphertext size stays behind).
impl From<MediaDownload> for MediaFetched {
    fn from(done: MediaDownload) -> MediaFetched {
        MediaFetched {
            plaintext_len: done.plaintext_len,
            md5: done.md5,
            chunks: done.chunks,
            retries: done.retries,
        }
    }
}

/// The downloaded bytes are not what the message describes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaMismatch {
    #[error("md5 {actual} differs from the message's md5sum {expected}")]
    Md5 { expected: String, actual: String },
    #[error("{actual} bytes downloaded but the message says {expected}")]
    Size { expected: u64, actual: u64 },
}

impl MediaDownload {
    /// Compares with the message: its `md5sum` (skipped when empty, as the archive sometimes sends
    /// it) and its size field (`filesize`, `voice_size`, `imagesize`) when there is one. WeCom's
    /// md5sum does not always match the bytes; the usual answer is to download the whole object
    /// again once or twice before recording the mismatch.
    pub fn verify(&self, md5sum: &str, size: Option<u64>) -> Result<(), MediaMismatch> {
        if let Some(expected) = size
            && expected != self.plaintext_len
        {
            return Err(MediaMismatch::Size {
                expected,
                actual: self.plaintext_len,
            });
        }
        let expected = md5sum.trim();
        if !expected.is_empty() && !expected.eq_ignore_ascii_case(&self.md5) {
            return Err(MediaMismatch::Md5 {
                expected: expected.to_owned(),
                actual: self.md5.clone(),
            });
        }
        Ok(())
    }
}

/// The request body, fields in the vendor library's order.
#[derive(Serialize)]
struct MediaRequestBody<'a> {
    fileid: &'a str,
    authkey: &'a str,
    version: u32,
}

/// A validated chunk: ciphertext bytes `range.start ..= range.end`.
struct Chunk {
    range: ContentRange,
    data: Vec<u8>,
}

/// What a media chunk adds to the retry loop: the object's hint and the offset in logs, and a
/// count of the retries.
struct ChunkRetry<'a> {
    hint: &'a str,
    offset: u64,
    retries: &'a mut u32,
}

impl RetryError for MediaError {
    fn is_retryable(&self) -> bool {
        MediaError::is_retryable(self)
    }

    fn gave_up(self, attempts: u32) -> Self {
        MediaError::gave_up(self, attempts)
    }
}

impl RetryHooks<MediaError> for ChunkRetry<'_> {
    fn tokens_rejected(&self) -> MediaError {
        MediaError::new(
            MediaErrorKind::Api {
                errcode: errcode::INVALID_ACCESS_TOKEN,
            },
            "the server keeps rejecting fresh access tokens",
        )
        .with_retryable(false)
    }

    async fn before_retry(&mut self, error: &MediaError, attempt: u32, delay: Duration) {
        *self.retries += 1;
        warn!(%error, file = %self.hint, offset = self.offset, attempt, delay_ms = delay.as_millis() as u64, "media chunk failed; retrying");
    }
}

impl NativeClient {
    /// Downloads one media object, chunk by chunk (512 KiB ranges), each chunk decrypted with
    /// AES-128-ECB as it arrives and handed to `sink` in order; PKCS#7 padding is removed from the
    /// final chunk only. Transient failures retry the same range with the client's capped
    /// exponential backoff and jitter (at most `max_attempts` per chunk); the object is never
    /// restarted. Memory: one chunk.
    ///
    /// On error the sink may hold a prefix of the object: discard it. Compare the result with the
    /// message using [`MediaDownload::verify`].
    pub async fn download_media(
        &self,
        sdkfileid: &str,
        sink: &mut dyn MediaChunkSink,
    ) -> Result<MediaDownload, MediaError> {
        let hint = file_hint(sdkfileid);
        let id = SdkFileId::decode(sdkfileid).map_err(|e| {
            MediaError::new(MediaErrorKind::InvalidFileId, e.to_string())
                .with_code(e.code())
                .at(&hint, 0)
        })?;
        if id.fileid.is_empty() {
            return Err(MediaError::new(
                MediaErrorKind::InvalidFileId,
                "the sdkfileid has no fileid",
            )
            .at(&hint, 0));
        }
        let key = chunk::aes_key(&id.aeskey).map_err(|m| {
            MediaError::new(MediaErrorKind::InvalidFileId, m)
                .with_code(SdkCode::Decrypt)
                .at(&hint, 0)
        })?;
        let body = serde_json::to_vec(&MediaRequestBody {
            fileid: &id.fileid,
            authkey: &id.authkey,
            version: PROTOCOL_VERSION,
        })
        .map_err(|e| MediaError::new(MediaErrorKind::InvalidFileId, e.to_string()).at(&hint, 0))?;

        let mut md5 = Md5::new();
        let mut plaintext_len = 0u64;
        let mut chunks = 0u32;
        let mut retries = 0u32;
        let mut next = 0u64;
        let mut total: Option<u64> = None;
        loop {
            let last = next.saturating_add(chunk::CHUNK - 1);
            let end = total.map_or(last, |t| last.min(t - 1));
            let Chunk { range, data } = self
                .chunk_with_retries(&body, next, end, total, &hint, &mut retries)
                .await
                .map_err(|e| e.at(&hint, next))?;
            chunks += 1;
            let is_final = range.end + 1 == range.total;
            // AES and md5 over half a megabyte: keep them off the async workers.
            let work = tokio::task::spawn_blocking(move || {
                let mut data = data;
                chunk::decrypt_in_place(&key, &mut data);
                let keep = if is_final {
                    chunk::unpadded_len(&data)
                } else {
                    Some(data.len())
                };
                if let Some(keep) = keep {
                    data.truncate(keep);
                    md5.update(&data);
                }
                (keep.map(|_| data), md5)
            })
            .await;
            let (plain, hasher) = work.map_err(|e| {
                MediaError::new(MediaErrorKind::Decrypt, format!("decryption task: {e}"))
                    .at(&hint, next)
            })?;
            md5 = hasher;
            let plain = plain.ok_or_else(|| {
                MediaError::new(
                    MediaErrorKind::Decrypt,
                    "bad PKCS#7 padding on the last block (wrong aeskey or corrupt object)",
                )
                .at(&hint, next)
            })?;
            if !plain.is_empty() {
                sink.write(&plain)
                    .await
                    .map_err(|e| MediaError::sink(e).at(&hint, next))?;
            }
            plaintext_len += plain.len() as u64;
            if is_final {
                debug!(file = %hint, plaintext_len, chunks, retries, "media downloaded");
                return Ok(MediaDownload {
                    plaintext_len,
                    ciphertext_len: range.total,
                    md5: hex::encode(md5.finalize()),
                    chunks,
                    retries,
                });
            }
            next = range.end + 1;
            total = Some(range.total);
        }
    }

    async fn chunk_with_retries(
        &self,
        body: &[u8],
        start: u64,
        end: u64,
        total: Option<u64>,
        hint: &str,
        retries: &mut u32,
    ) -> Result<Chunk, MediaError> {
        self.with_retries(
            || self.try_chunk(body, start, end, total),
            ChunkRetry {
                hint,
                offset: start,
                retries,
            },
        )
        .await
    }

    /// One request for ciphertext bytes `start..=end`, checked against what was asked.
    async fn try_chunk(
        &self,
        body: &[u8],
        start: u64,
        end: u64,
        total: Option<u64>,
    ) -> Result<Chunk, Attempt<MediaError>> {
        let token = self.token().await.map_err(MediaError::from_source)?;
        let mut url = self
            .endpoint("cgi-bin/message/getchatmediadata")
            .map_err(MediaError::from_source)?;
        url.query_pairs_mut().append_pair("access_token", &token);
        let mut resp = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(RANGE, format!("bytes={start}-{end}"))
            .body(body.to_vec())
            .send()
            .await
            .map_err(transport_error)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(MediaError::new(
                MediaErrorKind::HttpStatus(status.as_u16()),
                format!("getchatmediadata answered {status}"),
            )
            .into());
        }
        let range = resp
            .headers()
            .get("content-range")
            .and_then(|v| chunk::parse_content_range(v.as_bytes()));
        if resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .is_some_and(|n| n > MAX_RESPONSE as u64)
        {
            return Err(too_large().into());
        }
        let mut bytes = Vec::new();
        while let Some(part) = resp.chunk().await.map_err(transport_error)? {
            if bytes.len() + part.len() > MAX_RESPONSE {
                return Err(too_large().into());
            }
            bytes.extend_from_slice(&part);
        }
        let reply: MediaReply<'_> = serde_json::from_slice(&bytes).map_err(|e| {
            MediaError::new(
                MediaErrorKind::BadResponse,
                format!("getchatmediadata reply is not the expected JSON: {e}"),
            )
        })?;
        if reply.errcode != 0 {
            if errcode::token_must_refresh(reply.errcode) {
                return Err(Attempt::TokenRejected);
            }
            let kind = match reply.errcode {
                IP_NOT_ALLOWED => MediaErrorKind::IpNotAllowed,
                DATA_EXPIRED => MediaErrorKind::Expired,
                errcode => MediaErrorKind::Api { errcode },
            };
            let errmsg = crate::http::clean_errmsg(&reply.errmsg);
            let message = match &kind {
                MediaErrorKind::IpNotAllowed => format!(
                    "{errmsg} (add this machine's IP to the archive's trusted IPs in the admin console)",
                ),
                _ => errmsg.to_owned(),
            };
            return Err(MediaError::new(kind, message).into());
        }
        let content = reply.content.ok_or_else(|| {
            MediaError::new(
                MediaErrorKind::BadResponse,
                "getchatmediadata reply has no content",
            )
        })?;
        let range = chunk::check_range(range, start, end, total)?;
        let data = chunk::decode_content(&content, range)?;
        Ok(Chunk { range, data })
    }
}

fn too_large() -> MediaError {
    MediaError::new(
        MediaErrorKind::BadResponse,
        format!(
            "getchatmediadata answer is larger than {} for a chunk of {} (not the range asked for); it was not read further",
            crate::http::human_bytes(MAX_RESPONSE as u64),
            crate::http::human_bytes(chunk::CHUNK),
        ),
    )
}

fn transport_error(e: reqwest::Error) -> MediaError {
    let (timeout, message) = crate::http::describe_transport(e);
    let kind = if timeout {
        MediaErrorKind::Timeout
    } else {
        MediaErrorKind::Network
    };
    MediaError::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientConfig;

    #[test]
    fn verify_compares_md5_case_insensitively_and_skips_an_empty_one() {
        let d = MediaDownload {
            plaintext_len: 3,
            ciphertext_len: 16,
            md5: "900150983cd24fb0d6963f7d28e17f72".into(),
            chunks: 1,
            retries: 0,
        };
        assert_eq!(d.verify("", None), Ok(()));
        assert_eq!(
            d.verify("900150983CD24FB0D6963F7D28E17F72", Some(3)),
            Ok(())
        );
        assert!(matches!(
            d.verify("00", Some(3)),
            Err(MediaMismatch::Md5 { .. })
        ));
        assert_eq!(
            d.verify("", Some(4)),
            Err(MediaMismatch::Size {
                expected: 4,
                actual: 3
            })
        );
    }

    #[tokio::test]
    async fn bad_sdkfileids_are_refused_without_io() {
        let c =
            NativeClient::new(ClientConfig::new("http://127.0.0.1:1", "ww1", "s")).expect("client");
        let no_key = SdkFileId {
            fileid: "f".into(),
            authkey: "a".into(),
            aeskey: String::new(),
        }
        .encode();
        let odd_key = SdkFileId {
            fileid: "f".into(),
            authkey: "a".into(),
            aeskey: "abc".into(),
        }
        .encode();
        let no_fileid = SdkFileId {
            fileid: String::new(),
            authkey: "a".into(),
            aeskey: "00".repeat(16),
        }
        .encode();
        for (id, code) in [
            ("", SdkCode::InvalidArgument),
            ("=", SdkCode::FileId),
            ("A=", SdkCode::FileId),
            ("////", SdkCode::FileId),
            (no_key.as_str(), SdkCode::Decrypt),
            (odd_key.as_str(), SdkCode::Decrypt),
            (no_fileid.as_str(), SdkCode::FileId),
        ] {
            let mut sink = Vec::new();
            let e = c.download_media(id, &mut sink).await.expect_err(id);
            assert_eq!(e.kind(), &MediaErrorKind::InvalidFileId, "{id}: {e}");
            assert_eq!(e.sdk_code(), code, "{id}: {e}");
            assert!(!e.is_retryable());
            assert!(sink.is_empty());
        }
    }
}
