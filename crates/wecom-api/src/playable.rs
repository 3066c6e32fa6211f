//! Playable renditions of voice messages: WeCom's AMR-NB and SILK v3 decoded to WAV, which every
//! browser plays.
//!
//! The WAV is made on first request and published in the corp's blob store like any object
//! (content-addressed, through the store's writer, so a concurrent request or a crash never sees
//! a partial file: an object is visible only complete). Which WAV belongs to which original is
//! remembered per process ([`Renditions`]); after a restart the first request decodes again and
//! the store keeps one copy (publishing the same bytes again deduplicates). The original is never
//! changed and stays served at `/api/v1/media/{sha256}`; the archive's records never list a
//! rendition, so it is reachable only through its original's access check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::StatusCode;
use tokio::io::AsyncReadExt;
use wecom_blob::{Area, BlobStore, Expectations, Sha256Hex};

use crate::ApiError;

/// Largest voice object decoded (WeCom voice messages are at most 60 s: tens of KB).
const MAX_VOICE_BYTES: u64 = 16 * 1024 * 1024;

/// Remembered renditions kept at most (then the map starts over; a miss only costs a decode).
const MAX_REMEMBERED: usize = 100_000;

/// A published WAV rendition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendition {
    pub sha256: Sha256Hex,
    pub size: u64,
}

/// Originals' renditions, and one lock per original being decoded (two requests for the same
/// voice decode it once).
#[derive(Default)]
pub(crate) struct Renditions {
    made: Mutex<HashMap<Sha256Hex, Rendition>>,
    making: Mutex<HashMap<Sha256Hex, Arc<tokio::sync::Mutex<()>>>>,
}

impl Renditions {
    fn known(&self, original: &Sha256Hex) -> Option<Rendition> {
        self.made
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(original)
            .cloned()
    }

    fn remember(&self, original: &Sha256Hex, rendition: &Rendition) {
        let mut made = self.made.lock().unwrap_or_else(PoisonError::into_inner);
        if made.len() >= MAX_REMEMBERED {
            made.clear();
        }
        made.insert(original.clone(), rendition.clone());
    }

    fn lock_of(&self, original: &Sha256Hex) -> Arc<tokio::sync::Mutex<()>> {
        let mut making = self.making.lock().unwrap_or_else(PoisonError::into_inner);
        making.retain(|_, l| Arc::strong_count(l) > 1);
        making.entry(original.clone()).or_default().clone()
    }
}

/// The WAV rendition of the voice object `original`, made and published if need be.
pub(crate) async fn wav_of(
    renditions: &Renditions,
    blobs: &dyn BlobStore,
    original: &Sha256Hex,
) -> Result<Rendition, ApiError> {
    if let Some(r) = present(renditions, blobs, original).await? {
        return Ok(r);
    }
    let lock = renditions.lock_of(original);
    let _decoding = lock.lock().await;
    if let Some(r) = present(renditions, blobs, original).await? {
        return Ok(r);
    }
    let bytes = read_original(blobs, original).await?;
    if wecom_voice::sniff(&bytes).is_none() {
        return Err(not_voice());
    }
    let wav = tokio::task::spawn_blocking(move || wecom_voice::to_wav(&bytes))
        .await
        .map_err(|e| ApiError::internal("decoding a voice message stopped", &e))?
        .map_err(|cause| {
            tracing::warn!(original = %original, %cause, "a voice object does not decode");
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "voice_undecodable",
                "this voice message does not decode (damaged or an unknown variant); download \
                 the original instead",
            )
        })?;
    let rendition = publish(blobs, &wav.bytes).await?;
    renditions.remember(original, &rendition);
    Ok(rendition)
}

/// The remembered rendition, when the store still has it.
async fn present(
    renditions: &Renditions,
    blobs: &dyn BlobStore,
    original: &Sha256Hex,
) -> Result<Option<Rendition>, ApiError> {
    let Some(r) = renditions.known(original) else {
        return Ok(None);
    };
    match blobs.size(Area::Objects, &r.sha256).await {
        Ok(Some(size)) if size == r.size => Ok(Some(r)),
        Ok(_) => Ok(None),
        Err(e) => Err(ApiError::internal("reading the media store failed", &e)),
    }
}

async fn read_original(blobs: &dyn BlobStore, original: &Sha256Hex) -> Result<Vec<u8>, ApiError> {
    let reader = blobs
        .open(Area::Objects, original)
        .await
        .map_err(|e| match e.kind() {
            wecom_blob::BlobErrorKind::NotFound => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "media_unavailable",
                "the archive lists this object but the media store does not have it; an \
                 operator should look at `wecom-archive media status`",
            ),
            _ => ApiError::internal("opening a media object failed", &e),
        })?;
    if reader.size() > MAX_VOICE_BYTES {
        return Err(not_voice());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(reader.size()).unwrap_or(0));
    reader
        .take(MAX_VOICE_BYTES)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| ApiError::internal("reading a media object failed", &e))?;
    Ok(bytes)
}

/// Publishes `wav` through the store's writer (atomic: complete or absent).
async fn publish(blobs: &dyn BlobStore, wav: &[u8]) -> Result<Rendition, ApiError> {
    let failed =
        |e: wecom_blob::BlobError| ApiError::internal("storing a voice rendition failed", &e);
    let mut writer = blobs.begin().await.map_err(failed)?;
    for chunk in wav.chunks(512 * 1024) {
        writer.write_chunk(chunk).await.map_err(failed)?;
    }
    let stored = writer
        .finish(Expectations {
            size: Some(wav.len() as u64),
            ..Expectations::default()
        })
        .await
        .map_err(failed)?;
    Ok(Rendition {
        sha256: stored.sha256,
        size: stored.size,
    })
}

fn not_voice() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_voice",
        "this media object is not a voice message (AMR-NB or SILK v3): fetch it at \
         /api/v1/media/{sha256}",
    )
}
