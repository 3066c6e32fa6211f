//! The storage seam: the [`BlobStore`] and [`BlobWriter`] traits and the types they speak in.
//!
//! The traits return boxed futures rather than using `async fn` so that they stay dyn-compatible:
//! the binary picks a backend from its configuration and hands the media workers one
//! `Arc<dyn BlobStore>`. The cost is one allocation per call, negligible next to the I/O behind it.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use crate::BlobError;

/// A boxed, sendable future, as the traits return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A SHA-256 digest as 64 lowercase hex digits: the address of a stored object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256Hex {
        use sha2::Digest;
        Sha256Hex(hex::encode(sha2::Sha256::digest(bytes)))
    }

    pub(crate) fn from_digest(digest: &[u8; 32]) -> Sha256Hex {
        Sha256Hex(hex::encode(digest))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The fan-out directory of the object: its first two hex digits.
    pub fn fan_out(&self) -> &str {
        &self.0[..2]
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a sha-256 hex digest (64 hex digits): {0:?}")]
pub struct InvalidSha256(pub String);

impl FromStr for Sha256Hex {
    type Err = InvalidSha256;

    /// Accepts either case; stores lowercase.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256Hex(s.to_ascii_lowercase()))
        } else {
            Err(InvalidSha256(s.chars().take(80).collect()))
        }
    }
}

/// Where an object is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// Verified objects, addressed by their SHA-256: `objects/<aa>/<sha256>`.
    Objects,
    /// Objects kept for inspection although they failed verification (an MD5 or size different
    /// from what WeCom announced): `quarantine/<aa>/<sha256>`. Never read as archived media.
    Quarantine,
}

impl Area {
    pub fn dir(self) -> &'static str {
        match self {
            Area::Objects => "objects",
            Area::Quarantine => "quarantine",
        }
    }

    /// The backend-relative key of an object: `objects/<aa>/<sha256>` or
    /// `quarantine/<aa>/<sha256>`. Backends may prepend their own prefix.
    pub fn relative_key(self, sha256: &Sha256Hex) -> String {
        format!("{}/{}/{}", self.dir(), sha256.fan_out(), sha256)
    }
}

/// The folder of derived renditions, beside `objects/` and `quarantine/`.
pub const RENDITIONS_DIR: &str = "renditions";

/// A kind of derived rendition: a form of an original made for convenience (a voice message
/// decoded to WAV so browsers play it). Each kind is its file extension in the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RenditionKind {
    /// A RIFF/WAVE file (`audio/wav`).
    Wav,
}

impl RenditionKind {
    /// The extension of its key, without the dot.
    pub fn ext(self) -> &'static str {
        match self {
            RenditionKind::Wav => "wav",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            RenditionKind::Wav => "audio/wav",
        }
    }
}

/// The address of a derived rendition: the SHA-256 of the ORIGINAL it was made from plus its kind,
/// so it is found without remaking it: `renditions/<aa>/<original sha256>.<ext>`.
///
/// Renditions live in their own area and never in `objects/` or `quarantine/`: the originals are
/// the archive's record and are never modified. A rendition can always be made again from its
/// original, so the store may replace it (atomically), whereas objects are write-once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rendition {
    pub original: Sha256Hex,
    pub kind: RenditionKind,
}

impl Rendition {
    pub fn new(original: Sha256Hex, kind: RenditionKind) -> Rendition {
        Rendition { original, kind }
    }

    /// The backend-relative key: `renditions/<aa>/<original sha256>.<ext>`. Backends may prepend
    /// their own prefix.
    pub fn relative_key(&self) -> String {
        format!(
            "{RENDITIONS_DIR}/{}/{}.{}",
            self.original.fan_out(),
            self.original,
            self.kind.ext()
        )
    }
}

/// What to do with bytes that fail the caller's expectations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnMismatch {
    /// Publish nothing and return [`BlobErrorKind::SizeMismatch`](crate::BlobErrorKind) or
    /// [`BlobErrorKind::Md5Mismatch`](crate::BlobErrorKind). For every attempt but the last.
    #[default]
    Reject,
    /// Publish the bytes under [`Area::Quarantine`] and return them with
    /// [`StoredObject::area`] set to it, so the last attempt keeps the bytes for inspection.
    Quarantine,
}

/// What the caller knows of the object in advance (from the message that announced it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// The announced size in bytes.
    pub size: Option<u64>,
    /// The announced MD5 as hex, either case; `None` or an empty string means no check.
    pub md5: Option<String>,
    pub on_mismatch: OnMismatch,
}

/// A published object, as the archive records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub sha256: Sha256Hex,
    pub size: u64,
    /// The MD5 of the bytes, lowercase hex, as computed here (the caller has the one WeCom sent).
    pub md5: String,
    /// Sniffed from the first bytes: `image/jpeg`, `audio/amr`, … or `application/octet-stream`.
    pub content_type: &'static str,
    /// [`Area::Quarantine`] only when [`OnMismatch::Quarantine`] was asked for and the bytes failed
    /// verification.
    pub area: Area,
    /// The backend's key: the path below the root directory, or the S3 object key.
    pub key: String,
    /// The object was already stored (by an earlier message or a concurrent upload); these bytes
    /// were discarded.
    pub deduplicated: bool,
}

/// Which backend a store is, and where it keeps objects, for the archive's records and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendInfo {
    /// `"fs"` or `"s3"`.
    pub kind: &'static str,
    /// The root directory, or `s3://bucket/prefix`.
    pub location: String,
}

/// Content-addressed, write-once storage of media objects.
///
/// Invariants every implementation keeps (checked by the `conformance` suite):
/// - an object is visible under its address only complete and verified; a failed, aborted or
///   abandoned upload publishes nothing;
/// - an address, once published, holds the bytes whose SHA-256 it is; publishing the same bytes
///   again (even concurrently) succeeds and leaves one object;
/// - nothing is ever deleted through this trait: archived media are kept forever;
/// - a derived rendition lives in its own area, keyed by its original's SHA-256, and is seen
///   whole or not at all; writing one never touches `objects/` or `quarantine/`;
/// - memory does not grow with object size.
pub trait BlobStore: Send + Sync {
    /// Starts a new upload; chunks are then appended in order.
    fn begin(&self) -> BoxFuture<'_, Result<Box<dyn BlobWriter>, BlobError>>;

    /// The size of a published object, or `None` if there is none at that address.
    fn size<'a>(
        &'a self,
        area: Area,
        sha256: &'a Sha256Hex,
    ) -> BoxFuture<'a, Result<Option<u64>, BlobError>>;

    /// Streams a published object; [`BlobErrorKind::NotFound`](crate::BlobErrorKind) if absent.
    fn open<'a>(
        &'a self,
        area: Area,
        sha256: &'a Sha256Hex,
    ) -> BoxFuture<'a, Result<BlobReader, BlobError>>;

    /// Streams a published object from byte `offset` on (HTTP Range requests); the reader's
    /// size is what is left. An offset at or past the end yields nothing. The default reads and
    /// discards the bytes before `offset`; backends that can seek do.
    fn open_at<'a>(
        &'a self,
        area: Area,
        sha256: &'a Sha256Hex,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobReader, BlobError>> {
        Box::pin(async move {
            let reader = self.open(area, sha256).await?;
            skip_to(reader, offset, || self.key(area, sha256)).await
        })
    }

    /// Whether an object is published at that address.
    fn exists<'a>(
        &'a self,
        area: Area,
        sha256: &'a Sha256Hex,
    ) -> BoxFuture<'a, Result<bool, BlobError>> {
        Box::pin(async move { Ok(self.size(area, sha256).await?.is_some()) })
    }

    /// The backend's key of an address, as [`StoredObject::key`] reports it.
    fn key(&self, area: Area, sha256: &Sha256Hex) -> String;

    /// Publishes a derived rendition atomically: readers see the previous rendition (or none)
    /// until the whole of `bytes` is durable under the final key, and a crash or a failure leaves
    /// no partial file there (the file system writes a `.part` in `tmp/` and renames it; S3 sends
    /// one PUT). A rendition already there is replaced: renditions are remade from their original
    /// and the same original gives the same bytes. Never touches `objects/` or `quarantine/`.
    ///
    /// The bytes are held whole: renditions are small (a 60 s voice message decodes to a few MB).
    fn put_rendition<'a>(
        &'a self,
        rendition: &'a Rendition,
        bytes: bytes::Bytes,
    ) -> BoxFuture<'a, Result<(), BlobError>>;

    /// The size of a published rendition, or `None` if there is none.
    fn rendition_size<'a>(
        &'a self,
        rendition: &'a Rendition,
    ) -> BoxFuture<'a, Result<Option<u64>, BlobError>>;

    /// Streams a published rendition from byte `offset` on (as [`open_at`](BlobStore::open_at));
    /// [`BlobErrorKind::NotFound`](crate::BlobErrorKind) if absent.
    fn open_rendition_at<'a>(
        &'a self,
        rendition: &'a Rendition,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobReader, BlobError>>;

    /// The backend's key of a rendition: the path below the root directory, or the S3 object key.
    fn rendition_key(&self, rendition: &Rendition) -> String;

    fn describe(&self) -> BackendInfo;
}

/// One upload in progress. Finish it with [`finish`](BlobWriter::finish) or discard it with
/// [`abort`](BlobWriter::abort). A writer dropped instead (a cancelled task) publishes nothing
/// either: the file-system backend removes its `.part` at once (one `unlink` on the dropping
/// thread), the S3 backend aborts its multipart upload at the store's next `begin`.
///
/// After an operation fails, the writer has already cleaned up; later calls return
/// [`BlobError::AlreadyFailed`].
pub trait BlobWriter: Send {
    /// Appends the next chunk. Chunks of any size are accepted; the downloader's are ≤ 512 KiB.
    fn write_chunk<'a>(&'a mut self, bytes: &'a [u8]) -> BoxFuture<'a, Result<(), BlobError>>;

    /// Verifies the bytes against `expect` and publishes them under their SHA-256 (or under
    /// [`Area::Quarantine`], see [`OnMismatch`]).
    fn finish(
        self: Box<Self>,
        expect: Expectations,
    ) -> BoxFuture<'static, Result<StoredObject, BlobError>>;

    /// Discards the upload: nothing is published and temporary data is removed.
    fn abort(self: Box<Self>) -> BoxFuture<'static, Result<(), BlobError>>;
}

/// A published object being read, as an [`AsyncRead`] with its size known up front.
pub struct BlobReader {
    size: u64,
    inner: Pin<Box<dyn AsyncRead + Send>>,
}

impl BlobReader {
    /// For implementations: `inner` yields exactly `size` bytes.
    pub fn new(size: u64, inner: impl AsyncRead + Send + 'static) -> BlobReader {
        BlobReader {
            size,
            inner: Box::pin(inner),
        }
    }

    /// The object's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobReader")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for BlobReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.inner.as_mut().poll_read(cx, buf)
    }
}

/// Reads and discards the first `offset` bytes of `reader` (for backends that cannot seek); the
/// result's size is what is left. `location` names the object in an error.
pub(crate) async fn skip_to(
    mut reader: BlobReader,
    offset: u64,
    location: impl FnOnce() -> String,
) -> Result<BlobReader, BlobError> {
    use tokio::io::AsyncReadExt;
    let size = reader.size();
    let skip = offset.min(size);
    let skipped = tokio::io::copy(&mut (&mut reader).take(skip), &mut tokio::io::sink())
        .await
        .map_err(|e| BlobError::Io {
            location: location(),
            op: "skipping to the requested range of",
            cause: e.to_string(),
        })?;
    Ok(BlobReader::new(size - skipped, reader))
}
