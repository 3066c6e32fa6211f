//! Content-addressed media storage: the [`BlobStore`] trait the media workers write through, and
//! its two backends, [`FsBlobStore`] (the default, a local directory) and [`S3BlobStore`]
//! (S3-compatible object storage).
//!
//! An upload streams chunk by chunk into a [`BlobWriter`], which computes SHA-256, MD5, size and
//! content type on the way; [`BlobWriter::finish`] verifies them against what the message announced
//! and publishes the object under its SHA-256, once however many messages carry it.
//!
//! Beside the content-addressed objects, a store keeps derived *renditions* (a voice message
//! decoded to WAV): [`BlobStore::put_rendition`] publishes one under the SHA-256 of the original
//! it was made from, `renditions/<aa>/<original sha256>.<ext>` ([`Rendition`]), so it is found
//! again without remaking it, also by another process. Renditions never touch `objects/` or
//! `quarantine/`: the originals are the archive's record and are never modified.
//!
//! Invariants:
//! - nothing is published before it is complete, synced (fs) or acknowledged (S3), and verified;
//!   every failure — a full disk, an unreachable server, a mismatch, an abort, a dropped writer —
//!   publishes nothing and removes its temporary data (or, for S3 when the server is gone, retries
//!   the removal later);
//! - an address holds exactly the bytes whose SHA-256 it is; nothing is ever overwritten except a
//!   stored file whose size proves it is not those bytes (a rendition, which can always be made
//!   again from its original, may be replaced — atomically, never seen in part);
//! - no code path holds a whole object: the file system backend holds one chunk per upload, the
//!   S3 backend one part (8 MiB by default);
//! - this crate knows nothing of messages, the database or WeCom: it stores bytes;
//! - no input panics: errors are [`BlobError`]s with a [`BlobErrorKind`] and `is_retryable`.
//!
//! # The S3 client: `object_store`
//!
//! The S3 backend talks to the bucket through `object_store` (Apache Arrow's, as DataFusion and
//! delta-rs use it) with its `aws` feature: SigV4 signing, multipart uploads, CopyObject, ranged
//! GETs, retries with backoff, and checksums are maintained there; this crate keeps the
//! content-addressed protocol (`s3/mod.rs`) and the mapping of failures to [`BlobError`]s
//! (`s3/client.rs`). object_store 0.14 sends with reqwest 0.13, the workspace's own, through a
//! connector that builds the reqwest client here (no proxy from the environment, no redirects).
//! Its errors carry the HTTP status and S3's error code only in their text for most statuses, so
//! `s3/client.rs` reads them from there; the tests check that mapping against a live server.
//!
//! The tests run every S3 request against `s3s-fs`, an independent S3 server implementation that
//! verifies signatures, on loopback (a dev-dependency only).

mod digest;
mod error;
mod fs;
mod s3;
mod store;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

pub use error::{BlobError, BlobErrorKind};
pub use fs::FsBlobStore;
pub use s3::{MAX_OBJECT_SIZE, MIN_PART_SIZE, S3BlobStore, S3Config};
pub use store::{
    Area, BackendInfo, BlobReader, BlobStore, BlobWriter, BoxFuture, Expectations, InvalidSha256,
    OnMismatch, RENDITIONS_DIR, Rendition, RenditionKind, Sha256Hex, StoredObject,
};
