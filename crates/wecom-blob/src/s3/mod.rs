//! The S3-compatible object-storage backend, on `object_store`'s S3 client (`client.rs`).
//!
//! An object of at most one part (8 MiB by default) is buffered, hashed, and sent with one
//! `PutObject` straight to its final key `<prefix>/objects/<aa>/<sha256>` — PUT is atomic, so
//! readers see all of it or nothing. A larger object is a multipart upload (object_store's
//! `put_multipart`) to a temporary key `<prefix>/tmp/<random>` (its SHA-256, and so its key, is
//! known only at the end), one part in memory at a time; once verified it is completed, copied
//! server-side to its final key with `CopyObject`, checked by size, and the temporary object
//! deleted. A failed upload is aborted.
//!
//! A derived rendition (`<prefix>/renditions/<aa>/<original sha256>.<ext>`, small by nature) is
//! always one `PutObject` to its final key, so it too is seen whole or not at all.
//!
//! Every request body carries a CRC64-NVME checksum (`x-amz-checksum-crc64nvme`, computed by
//! object_store and covered by the SigV4 signature) that the server verifies, so it rejects bytes
//! damaged on the way; the writer checks size, MD5 and SHA-256 itself. Reads from an offset are
//! ranged GETs. Transient failures (connection errors, 5xx, throttling) are retried by
//! object_store with exponential backoff, `max_attempts` in all.
//!
//! Limits: `CopyObject` copies at most 5 GiB, so larger objects are refused up front (WeCom media
//! are far smaller; `UploadPartCopy` would lift it). Nothing under `<prefix>/tmp/` is needed after
//! an upload ends: a lifecycle rule expiring it after a day, and aborting incomplete multipart
//! uploads, cleans up after crashes.

mod client;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, MultipartUpload, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload,
};

use self::client::Client;
use crate::digest::{self, Digester, Digests};
use crate::store::BoxFuture;
use crate::{
    Area, BackendInfo, BlobError, BlobErrorKind, BlobReader, BlobStore, BlobWriter, Expectations,
    OnMismatch, Rendition, Sha256Hex, StoredObject,
};

/// The smallest part S3 accepts (except the last).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// The largest object the backend stores: the limit of one `CopyObject`.
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// S3's limit of parts per multipart upload.
const MAX_PARTS: usize = 10_000;
/// Leftovers waiting for cleanup are capped so that a long outage cannot grow memory.
const MAX_LEFTOVERS: usize = 1024;

/// Where and how to reach the bucket. `Debug` redacts the secret key and session token.
#[derive(Clone)]
pub struct S3Config {
    /// `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`, …
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    /// A key prefix for everything this store writes (may be empty).
    pub prefix: String,
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
    /// `endpoint/bucket/key` (MinIO and most self-hosted servers) rather than
    /// `bucket.endpoint/key`.
    pub path_style: bool,
    /// Bytes per multipart part, and the largest object sent with a single PUT; at least
    /// [`MIN_PART_SIZE`]. One part per upload is held in memory.
    pub part_size: usize,
    /// Attempts per request on transient failures (connection errors, 5xx, throttling), with
    /// object_store's exponential backoff; a request is not retried after 3 minutes.
    pub max_attempts: u32,
    pub connect_timeout: Duration,
    /// Longest wait for any read from the server.
    pub read_timeout: Duration,
}

impl S3Config {
    /// A configuration with the defaults: path style, 8 MiB parts, 3 attempts, 10 s to connect,
    /// 60 s per read.
    pub fn new(
        endpoint: impl Into<String>,
        region: impl Into<String>,
        bucket: impl Into<String>,
        access_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> S3Config {
        S3Config {
            endpoint: endpoint.into(),
            region: region.into(),
            bucket: bucket.into(),
            prefix: String::new(),
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            session_token: None,
            path_style: true,
            part_size: 8 * 1024 * 1024,
            max_attempts: 3,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
        }
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("path_style", &self.path_style)
            .field("part_size", &self.part_size)
            .field("max_attempts", &self.max_attempts)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .finish()
    }
}

/// Content-addressed storage in an S3-compatible bucket.
#[derive(Clone)]
pub struct S3BlobStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    /// Empty, or ending with `/`.
    prefix: String,
    part_size: usize,
    /// Uploads and temporary objects that could not be cleaned up when they failed (the server
    /// was down, or a writer was dropped); retried at the next [`BlobStore::begin`].
    leftovers: Mutex<Vec<Leftover>>,
}

enum Leftover {
    /// A multipart upload to abort (object_store's handle knows its upload id).
    Upload {
        key: String,
        upload: Box<dyn MultipartUpload>,
    },
    Object {
        key: String,
    },
}

impl fmt::Debug for Leftover {
    /// Only the key: the upload handle's own `Debug` shows the client's configuration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Leftover::Upload { key, .. } => f.debug_struct("Upload").field("key", key).finish(),
            Leftover::Object { key } => f.debug_struct("Object").field("key", key).finish(),
        }
    }
}

impl fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("location", &self.describe().location)
            .finish_non_exhaustive()
    }
}

impl S3BlobStore {
    /// Checks the configuration; does not contact the server.
    pub fn new(config: &S3Config) -> Result<S3BlobStore, BlobError> {
        if config.part_size < MIN_PART_SIZE {
            return Err(BlobError::Config {
                cause: format!(
                    "s3 part size {} is below the minimum of {MIN_PART_SIZE} bytes",
                    config.part_size
                ),
            });
        }
        let client = Client::new(config)?;
        let prefix = config.prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            if let Err(error) = Path::parse(prefix) {
                return Err(BlobError::Config {
                    cause: format!(
                        "s3 prefix {prefix:?} is not a valid key prefix ({error}); use \
                         '/'-separated names without empty, '.' or '..' segments"
                    ),
                });
            }
            format!("{prefix}/")
        };
        Ok(S3BlobStore {
            inner: Arc::new(Inner {
                client,
                prefix,
                part_size: config.part_size,
                leftovers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// How many failed uploads or temporary objects still wait for cleanup.
    pub fn pending_cleanups(&self) -> usize {
        self.inner.leftovers().len()
    }

    /// Retries the cleanup of failed uploads now (it also runs at every `begin`).
    pub async fn clean_up(&self) {
        self.inner.clean_up().await;
    }
}

/// The object_store path of a key this store made (our keys are always valid paths: the prefix
/// is checked at construction, the rest is hex, `/` and an extension).
fn path(key: &str) -> Path {
    Path::from(key)
}

impl Inner {
    fn leftovers(&self) -> std::sync::MutexGuard<'_, Vec<Leftover>> {
        // A panic elsewhere while holding the lock leaves a plain Vec, still usable.
        self.leftovers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remember(&self, leftover: Leftover) {
        let mut leftovers = self.leftovers();
        if leftovers.len() < MAX_LEFTOVERS {
            leftovers.push(leftover);
        } else {
            tracing::warn!(?leftover, "too many pending s3 cleanups; leaving this one");
        }
    }

    /// Retries the pending cleanups, stopping at the first failure (the server is likely still
    /// away, and `begin` should not wait for every one of them to fail).
    async fn clean_up(&self) {
        let mut pending = std::mem::take(&mut *self.leftovers()).into_iter();
        while let Some(mut leftover) = pending.next() {
            let result = match &mut leftover {
                Leftover::Upload { key, upload } => self.abort_upload(key, upload.as_mut()).await,
                Leftover::Object { key } => self.delete(key).await,
            };
            if let Err(error) = result {
                tracing::debug!(%error, "s3 cleanup failed; will retry");
                self.remember(leftover);
                for rest in pending {
                    self.remember(rest);
                }
                return;
            }
        }
    }

    fn key(&self, area: Area, sha256: &Sha256Hex) -> String {
        format!("{}{}", self.prefix, area.relative_key(sha256))
    }

    async fn head(&self, key: &str) -> Result<Option<u64>, BlobError> {
        match self.client.store.head(&path(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.client.error("reading metadata of", key, &e)),
        }
    }

    /// Streams the object at `key` from byte `offset` on, with a ranged GET.
    async fn get(&self, key: &str, offset: u64) -> Result<BlobReader, BlobError> {
        let options = GetOptions {
            range: (offset > 0).then_some(GetRange::Offset(offset)),
            ..GetOptions::default()
        };
        let result = match self.client.store.get_opts(&path(key), options).await {
            Ok(result) => result,
            Err(error) => {
                let error = self.client.error("reading", key, &error);
                // A range starting at or past the end is refused (416): there is nothing left.
                if offset > 0
                    && error.kind() != BlobErrorKind::NotFound
                    && self.head(key).await?.is_some_and(|size| size <= offset)
                {
                    return Ok(BlobReader::new(0, tokio::io::empty()));
                }
                return Err(error);
            }
        };
        let size = result.range.end.saturating_sub(result.range.start);
        // object_store's stream resumes an interrupted body with a ranged GET of the rest.
        let body = tokio_util::io::StreamReader::new(result.into_stream());
        Ok(BlobReader::new(size, body))
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self.client.store.delete(&path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.client.error("deleting temporary object", key, &e)),
        }
    }

    async fn abort_upload(
        &self,
        key: &str,
        upload: &mut dyn MultipartUpload,
    ) -> Result<(), BlobError> {
        match upload.abort().await {
            // NoSuchUpload: already completed or aborted, nothing left to abort.
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.client.error("aborting multipart upload", key, &e)),
        }
    }

    /// One PUT of a whole object (or rendition) to its final key.
    async fn put(
        &self,
        op: &'static str,
        key: &str,
        content_type: &'static str,
        body: Bytes,
    ) -> Result<(), BlobError> {
        let options = PutOptions {
            attributes: content_type_attribute(content_type),
            ..PutOptions::default()
        };
        self.client
            .store
            .put_opts(&path(key), PutPayload::from(body), options)
            .await
            .map_err(|e| self.client.error(op, key, &e))?;
        Ok(())
    }

    /// Publishes a small object with one PUT (after the dedup check).
    async fn put_object(
        &self,
        area: Area,
        digests: &Digests,
        body: Bytes,
    ) -> Result<StoredObject, BlobError> {
        let key = self.key(area, &digests.sha256);
        if self.head(&key).await? == Some(digests.size) {
            return Ok(stored(area, key, digests, true));
        }
        self.put("uploading", &key, digests.content_type, body)
            .await?;
        Ok(stored(area, key, digests, false))
    }

    /// Publishes a completed temporary object under its final key. Content addressing makes a
    /// concurrent publish of the same key harmless — both write the same bytes — but a server
    /// that writes a copy in place (some S3-compatible stores) can show a short object while the
    /// other copy runs; so a wrong size after the copy is looked at again and the copy repeated
    /// before anything is called corrupt.
    async fn publish_copy(
        &self,
        area: Area,
        digests: &Digests,
        tmp_key: &str,
    ) -> Result<StoredObject, BlobError> {
        const ATTEMPTS: u32 = 4;
        let key = self.key(area, &digests.sha256);
        if self.head(&key).await? == Some(digests.size) {
            return Ok(stored(area, key, digests, true));
        }
        let mut found = None;
        for attempt in 1..=ATTEMPTS {
            self.client
                .store
                .copy(&path(tmp_key), &path(&key))
                .await
                .map_err(|e| self.client.error("copying to its final key", &key, &e))?;
            found = self.head(&key).await?;
            if found == Some(digests.size) {
                return Ok(stored(area, key, digests, false));
            }
            tracing::debug!(key = %key, ?found, size = digests.size, attempt,
                "object of the wrong size after the copy (a concurrent publish?); copying again");
            tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
            // Another publisher may have finished meanwhile.
            found = self.head(&key).await?;
            if found == Some(digests.size) {
                return Ok(stored(area, key, digests, true));
            }
        }
        Err(BlobError::Corrupt {
            key: self.client.target(&key),
            cause: format!(
                "after {ATTEMPTS} copies it holds {found:?} bytes instead of {}",
                digests.size
            ),
        })
    }
}

fn content_type_attribute(content_type: &'static str) -> Attributes {
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, content_type.into());
    attributes
}

fn stored(area: Area, key: String, digests: &Digests, deduplicated: bool) -> StoredObject {
    StoredObject {
        sha256: digests.sha256.clone(),
        size: digests.size,
        md5: digests.md5_hex(),
        content_type: digests.content_type,
        area,
        key,
        deduplicated,
    }
}

impl BlobStore for S3BlobStore {
    fn begin(&self) -> BoxFuture<'_, Result<Box<dyn BlobWriter>, BlobError>> {
        Box::pin(async move {
            if self.pending_cleanups() > 0 {
                self.inner.clean_up().await;
            }
            Ok(Box::new(S3Writer {
                inner: Arc::clone(&self.inner),
                buf: Vec::new(),
                digester: Some(Digester::default()),
                upload: None,
                failed: None,
            }) as Box<dyn BlobWriter>)
        })
    }

    fn size<'a>(
        &'a self,
        area: Area,
        sha256: &'a Sha256Hex,
    ) -> BoxFuture<'a, Result<Option<u64>, BlobError>> {
        Box::pin(async move { self.inner.head(&self.inner.key(area, sha256)).await })
    }

    fn open<'a>(
        &'a self,
        area: Area,
        sha256: &'a Sha256Hex,
    ) -> BoxFuture<'a, Result<BlobReader, BlobError>> {
        Box::pin(async move { self.inner.get(&self.inner.key(area, sha256), 0).await })
    }

    fn open_at<'a>(
        &'a self,
        area: Area,
        sha256: &'a Sha256Hex,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobReader, BlobError>> {
        Box::pin(async move { self.inner.get(&self.inner.key(area, sha256), offset).await })
    }

    fn key(&self, area: Area, sha256: &Sha256Hex) -> String {
        self.inner.key(area, sha256)
    }

    fn put_rendition<'a>(
        &'a self,
        rendition: &'a Rendition,
        bytes: Bytes,
    ) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            let key = self.rendition_key(rendition);
            // One PUT: S3 makes the object visible whole or not at all, and a concurrent PUT of
            // the same key leaves one of the two complete bodies.
            self.inner
                .put(
                    "uploading rendition",
                    &key,
                    rendition.kind.content_type(),
                    bytes,
                )
                .await
        })
    }

    fn rendition_size<'a>(
        &'a self,
        rendition: &'a Rendition,
    ) -> BoxFuture<'a, Result<Option<u64>, BlobError>> {
        Box::pin(async move { self.inner.head(&self.rendition_key(rendition)).await })
    }

    fn open_rendition_at<'a>(
        &'a self,
        rendition: &'a Rendition,
        offset: u64,
    ) -> BoxFuture<'a, Result<BlobReader, BlobError>> {
        Box::pin(async move { self.inner.get(&self.rendition_key(rendition), offset).await })
    }

    fn rendition_key(&self, rendition: &Rendition) -> String {
        format!("{}{}", self.inner.prefix, rendition.relative_key())
    }

    fn describe(&self) -> BackendInfo {
        BackendInfo {
            kind: "s3",
            location: format!(
                "s3://{}/{}",
                self.inner.client.bucket(),
                self.inner.prefix.trim_end_matches('/')
            ),
        }
    }
}

/// A multipart upload in progress.
struct Upload {
    key: String,
    /// Parts sent so far.
    parts: usize,
    upload: Box<dyn MultipartUpload>,
}

struct S3Writer {
    inner: Arc<Inner>,
    /// The part being filled; never longer than `part_size`.
    buf: Vec<u8>,
    /// `None` only while a part is being hashed on a blocking thread.
    digester: Option<Digester>,
    upload: Option<Upload>,
    failed: Option<BlobError>,
}

impl S3Writer {
    fn check(&self) -> Result<(), BlobError> {
        match &self.failed {
            Some(failed) => Err(failed.again()),
            None => Ok(()),
        }
    }

    /// Hashes `data` into the running digests on a blocking thread.
    async fn hash(&mut self, data: Bytes) -> Result<(), BlobError> {
        let mut digester = self
            .digester
            .take()
            .ok_or_else(|| BlobError::AlreadyFailed {
                kind: BlobErrorKind::Io,
                cause: "an earlier hashing task was lost".into(),
            })?;
        let result = tokio::task::spawn_blocking(move || {
            digester.update(&data);
            digester
        })
        .await;
        match result {
            Ok(digester) => {
                self.digester = Some(digester);
                Ok(())
            }
            Err(join) => Err(BlobError::Io {
                location: self.inner.client.target(""),
                op: "hashing",
                cause: join.to_string(),
            }),
        }
    }

    /// Uploads the full buffer as the next part, starting the multipart upload if needed.
    async fn flush_part(&mut self) -> Result<(), BlobError> {
        let data = Bytes::from(std::mem::take(&mut self.buf));
        self.hash(data.clone()).await?;
        if self.upload.is_none() {
            let content_type = self
                .digester
                .as_ref()
                .map_or("application/octet-stream", Digester::content_type);
            let key = format!("{}tmp/{:032x}", self.inner.prefix, rand::random::<u128>());
            let options = PutMultipartOptions {
                attributes: content_type_attribute(content_type),
                ..PutMultipartOptions::default()
            };
            let upload = self
                .inner
                .client
                .store
                .put_multipart_opts(&path(&key), options)
                .await
                .map_err(|e| {
                    self.inner
                        .client
                        .error("starting multipart upload", &key, &e)
                })?;
            self.upload = Some(Upload {
                key,
                parts: 0,
                upload,
            });
        }
        let Some(upload) = self.upload.as_mut() else {
            return Ok(());
        };
        if upload.parts >= MAX_PARTS {
            return Err(BlobError::Rejected {
                target: self.inner.client.target(&upload.key),
                op: "uploading part",
                cause: format!("more than {MAX_PARTS} parts; raise the part size"),
            });
        }
        upload.parts += 1;
        upload
            .upload
            .put_part(PutPayload::from(data))
            .await
            .map_err(|e| self.inner.client.error("uploading part", &upload.key, &e))
    }

    async fn write(&mut self, mut bytes: &[u8]) -> Result<(), BlobError> {
        let part_size = self.inner.part_size;
        let total = self.digester.as_ref().map_or(0, Digester::size) + self.buf.len() as u64;
        if total + bytes.len() as u64 > MAX_OBJECT_SIZE {
            return Err(BlobError::Rejected {
                target: self
                    .inner
                    .client
                    .target(&format!("{}tmp/", self.inner.prefix)),
                op: "uploading",
                cause: format!("objects over {MAX_OBJECT_SIZE} bytes are not supported"),
            });
        }
        while !bytes.is_empty() {
            // A full buffer is sent only when more bytes come, so that an object of exactly one
            // part still goes out as a single PUT.
            if self.buf.len() == part_size {
                self.flush_part().await?;
            }
            let take = (part_size - self.buf.len()).min(bytes.len());
            reserve_bounded(&mut self.buf, take, part_size);
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        Ok(())
    }

    async fn finish_inner(&mut self, expect: &Expectations) -> Result<StoredObject, BlobError> {
        if self.upload.is_none() {
            let body = Bytes::from(std::mem::take(&mut self.buf));
            self.hash(body.clone()).await?;
            let digests = self.take_digests()?;
            let area = verified_area(&digests, expect)?;
            return self.inner.put_object(area, &digests, body).await;
        }
        self.flush_part().await?;
        let digests = self.take_digests()?;
        let area = verified_area(&digests, expect)?;
        let Some(upload) = self.upload.as_mut() else {
            return Err(BlobError::AlreadyFailed {
                kind: BlobErrorKind::Io,
                cause: "the upload vanished".into(),
            });
        };
        if let Err(error) = upload.upload.complete().await {
            // The upload may have completed all the same (a lost reply): its object must go too.
            self.inner.remember(Leftover::Object {
                key: upload.key.clone(),
            });
            return Err(self.inner.client.error(
                "completing multipart upload",
                &upload.key,
                &error,
            ));
        }
        // From here the temporary key holds a complete object rather than an upload.
        let Some(upload) = self.upload.take() else {
            return Err(BlobError::AlreadyFailed {
                kind: BlobErrorKind::Io,
                cause: "the upload vanished".into(),
            });
        };
        let published = self.inner.publish_copy(area, &digests, &upload.key).await;
        if let Err(error) = self.inner.delete(&upload.key).await {
            tracing::warn!(%error, "could not delete temporary s3 object; will retry");
            self.inner.remember(Leftover::Object { key: upload.key });
        }
        published
    }

    fn take_digests(&mut self) -> Result<Digests, BlobError> {
        self.digester
            .take()
            .map(Digester::finish)
            .ok_or_else(|| BlobError::AlreadyFailed {
                kind: BlobErrorKind::Io,
                cause: "the upload was already finished".into(),
            })
    }

    /// Aborts the multipart upload, if any; what cannot be aborted now is remembered.
    async fn discard(&mut self) -> Result<(), BlobError> {
        self.buf = Vec::new();
        match self.upload.take() {
            Some(mut upload) => {
                let result = self
                    .inner
                    .abort_upload(&upload.key, upload.upload.as_mut())
                    .await;
                if result.is_err() {
                    self.inner.remember(Leftover::Upload {
                        key: upload.key,
                        upload: upload.upload,
                    });
                }
                result
            }
            None => Ok(()),
        }
    }

    /// Records `error` as the writer's failure after cleaning up, and returns it.
    async fn fail(&mut self, error: BlobError) -> BlobError {
        if let Err(cleanup) = self.discard().await {
            tracing::warn!(%cleanup, %error, "could not abort failed s3 upload; will retry");
        }
        self.failed = Some(error.again());
        error
    }
}

/// The area to publish in, or the mismatch to fail with.
fn verified_area(digests: &Digests, expect: &Expectations) -> Result<Area, BlobError> {
    match digest::verify(digests, expect) {
        Ok(()) => Ok(Area::Objects),
        Err(_) if expect.on_mismatch == OnMismatch::Quarantine => Ok(Area::Quarantine),
        Err(mismatch) => Err(mismatch),
    }
}

/// Grows `buf` for `more` bytes without letting its capacity pass `cap`, as `Vec`'s doubling
/// would (a 5 MiB buffer doubling to 10 MiB for an 8 MiB part).
fn reserve_bounded(buf: &mut Vec<u8>, more: usize, cap: usize) {
    let needed = buf.len() + more;
    if needed > buf.capacity() {
        let target = (buf.capacity() * 2).max(needed).min(cap.max(needed));
        buf.reserve_exact(target - buf.len());
    }
}

impl BlobWriter for S3Writer {
    fn write_chunk<'a>(&'a mut self, bytes: &'a [u8]) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            self.check()?;
            match self.write(bytes).await {
                Ok(()) => Ok(()),
                Err(error) => Err(self.fail(error).await),
            }
        })
    }

    fn finish(
        mut self: Box<Self>,
        expect: Expectations,
    ) -> BoxFuture<'static, Result<StoredObject, BlobError>> {
        Box::pin(async move {
            self.check()?;
            match self.finish_inner(&expect).await {
                Ok(stored) => Ok(stored),
                Err(error) => Err(self.fail(error).await),
            }
        })
    }

    fn abort(mut self: Box<Self>) -> BoxFuture<'static, Result<(), BlobError>> {
        Box::pin(async move { self.discard().await })
    }
}

impl Drop for S3Writer {
    /// A writer dropped mid-upload (a cancelled task) cannot abort without blocking; its upload
    /// is remembered and aborted at the store's next `begin`.
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take() {
            self.inner.remember(Leftover::Upload {
                key: upload.key,
                upload: upload.upload,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_never_outgrows_a_part() {
        let cap = 8 * 1024 * 1024;
        let mut buf = Vec::new();
        for _ in 0..16 {
            reserve_bounded(&mut buf, 512 * 1024, cap);
            buf.extend_from_slice(&[0; 512 * 1024]);
            assert!(buf.capacity() <= cap, "{}", buf.capacity());
        }
        assert_eq!(buf.len(), cap);
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut config = S3Config::new("http://127.0.0.1:1", "r", "b", "AKID", "s3cr3t");
        config.session_token = Some("t0k3n".into());
        let text = format!("{config:?}");
        assert!(
            !text.contains("s3cr3t") && !text.contains("t0k3n"),
            "{text}"
        );
        assert!(text.contains("AKID"));
    }

    #[test]
    fn invalid_configuration_is_explained() {
        let check = |config: S3Config, needle: &str| {
            let error = S3BlobStore::new(&config).expect_err("invalid");
            assert_eq!(error.kind(), BlobErrorKind::Config);
            assert!(error.to_string().contains(needle), "{error}");
        };
        let ok = || S3Config::new("http://127.0.0.1:9000", "us-east-1", "b", "a", "s");
        check(
            S3Config {
                endpoint: "ftp://x".into(),
                ..ok()
            },
            "http or https",
        );
        check(
            S3Config {
                endpoint: "not a url".into(),
                ..ok()
            },
            "s3 endpoint",
        );
        check(
            S3Config {
                endpoint: "http://user:pw@host".into(),
                ..ok()
            },
            "must not carry credentials",
        );
        check(
            S3Config {
                part_size: 1024,
                ..ok()
            },
            "part size",
        );
        check(
            S3Config {
                bucket: String::new(),
                ..ok()
            },
            "bucket",
        );
        for prefix in ["archive//media", "archive/../media"] {
            check(
                S3Config {
                    prefix: prefix.into(),
                    ..ok()
                },
                "s3 prefix",
            );
        }
    }
}
