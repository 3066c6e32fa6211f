//! Playable renditions of voice messages: WeCom's AMR-NB and SILK v3 decoded to WAV, which every
//! browser plays.
//!
//! The WAV is made on the first request and kept in the corp's blob store beside the original, in
//! the store's renditions area, keyed by the ORIGINAL's SHA-256:
//! `renditions/<aa>/<original sha256>.wav` ([`wecom_blob::Rendition`]). Every request looks there
//! first, so a voice is decoded once per store, not once per process: after a restart the kept
//! WAV is served without decoding. The store publishes it atomically (a `.part` renamed into
//! place, or one S3 PUT), so a crash or a concurrent request never sees part of one; within a
//! process one lock per original ([`Renditions`]) makes concurrent first requests decode once.
//!
//! The original is never changed (renditions never touch `objects/` or `quarantine/`) and stays
//! served at `/api/v1/media/{sha256}`; the archive's records never list a rendition, so it is
//! reachable only through its original's access check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::StatusCode;
use tokio::io::AsyncReadExt;
use wecom_blob::{Area, BlobStore, Rendition, RenditionKind, Sha256Hex};

use crate::ApiError;

/// Largest voice object decoded (WeCom voice messages are at most 60 s: tens of KB).
const MAX_VOICE_BYTES: u64 = 16 * 1024 * 1024;

/// A kept WAV rendition, ready to serve with [`BlobStore::open_rendition_at`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Playable {
    pub rendition: Rendition,
    pub size: u64,
}

/// One lock per original being decoded, so that concurrent first requests for the same voice
/// decode it once. Which WAV belongs to which original is not remembered here: the blob store's
/// renditions area is that record, and it outlives the process.
#[derive(Default)]
pub(crate) struct Renditions {
    making: Mutex<HashMap<Sha256Hex, Arc<tokio::sync::Mutex<()>>>>,
}

impl Renditions {
    fn lock_of(&self, original: &Sha256Hex) -> Arc<tokio::sync::Mutex<()>> {
        let mut making = self.making.lock().unwrap_or_else(PoisonError::into_inner);
        // Locks no request holds any more are dropped, so the map holds only decodes under way.
        making.retain(|_, l| Arc::strong_count(l) > 1);
        making.entry(original.clone()).or_default().clone()
    }
}

/// The WAV rendition of the voice object `original`: the kept one if the store has it, else
/// decoded now and kept.
pub(crate) async fn wav_of(
    renditions: &Renditions,
    blobs: &dyn BlobStore,
    original: &Sha256Hex,
) -> Result<Playable, ApiError> {
    let rendition = Rendition::new(original.clone(), RenditionKind::Wav);
    if let Some(found) = kept(blobs, &rendition).await? {
        return Ok(found);
    }
    let lock = renditions.lock_of(original);
    let _decoding = lock.lock().await;
    // A concurrent request may have kept it while this one waited.
    if let Some(found) = kept(blobs, &rendition).await? {
        return Ok(found);
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
    let size = wav.bytes.len() as u64;
    blobs
        .put_rendition(&rendition, wav.bytes.into())
        .await
        .map_err(|e| ApiError::internal("storing a voice rendition failed", &e))?;
    Ok(Playable { rendition, size })
}

/// The rendition the store keeps, if any.
async fn kept(blobs: &dyn BlobStore, rendition: &Rendition) -> Result<Option<Playable>, ApiError> {
    match blobs.rendition_size(rendition).await {
        Ok(Some(size)) => Ok(Some(Playable {
            rendition: rendition.clone(),
            size,
        })),
        Ok(None) => Ok(None),
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

fn not_voice() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_voice",
        "this media object is not a voice message (AMR-NB or SILK v3): fetch it at \
         /api/v1/media/{sha256}",
    )
}
