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
//! # Why a hand-written S3 client
//!
//! The S3 backend signs requests itself (SigV4, `s3/sigv4.rs`, checked against AWS's published
//! example) and sends them with the workspace's reqwest. It needs nine requests: Put, Head, Get and
//! Delete Object, CopyObject, and Create/UploadPart/Complete/Abort of a multipart upload. Measured
//! against the workspace's `Cargo.lock`:
//! - hand-written: adds `sha2` and `hmac` (RustCrypto, same `digest` 0.10 as the `md-5` we have);
//! - `object_store` 0.14 (aws): reqwest 0.13 as ours, but +41 packages (chrono, quick-xml,
//!   crc-fast, nix, parking_lot, a second `digest`/`md-5` generation, async-trait…), ~80 s more
//!   CPU to build on this machine, and its errors hide the HTTP status we classify on;
//! - `rust-s3` 0.37: +60 packages including a second reqwest, attohttpc and sysinfo;
//! - `aws-sdk-s3` + `aws-config`: +62 packages (the smithy runtime, a second `digest`, two
//!   checksum stacks) and by far the longest build.
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
